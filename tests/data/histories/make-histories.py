#!/usr/bin/python3
"""Writes the hand-made histories the checker tests read.

Each history is a plausible run (docs/protocol.md section 3) built from a
small timeline, then changed in one place to break exactly one guarantee.
Run it from this directory after changing it; the .jsonl files are kept in
the tree so the tests need no Python.
"""
import json


class Run:
    def __init__(self, name, policy, retries=0, mem_mode="none", mem_limit=0):
        self.ev = []
        self.t = 0.0
        self.lineno = 0
        self.next_pid = 1001
        self.next_index = 0
        self.add("run", version=1, name=name, target="safepool",
                 argv=["build/targets/safepool"], backend="v1",
                 cgroup="/sys/fs/cgroup/memory/test/chaos.1.2.0",
                 mem_mode=mem_mode, mem_limit=mem_limit, deadline_ms=20000,
                 seed=1, workers=4, ntasks=10, policy=policy, retries=retries)
        self.add("spawn", pid=1000)
        self.workers = []
        for i in range(4):
            self.workers.append(self.new_worker())

    def add(self, ev, **kw):
        d = {"t": round(self.t, 4), "ev": ev}
        d.update(kw)
        self.ev.append(d)

    def tick(self, dt=0.005):
        self.t += dt

    def new_worker(self):
        pid = self.next_pid
        self.next_pid += 1
        self.add("worker", pid=pid, index=self.next_index, cgroup=None)
        self.next_index += 1
        return pid

    def out(self, line):
        self.lineno += 1
        self.add("outcome", line=line, lineno=self.lineno)

    def ok(self, task, attempt=1, value=None, w=0):
        pid = self.workers[w]
        self.add("start", task=task, attempt=attempt, pid=pid)
        self.tick(0.05)
        v = task * task if value is None else value
        self.add("end", task=task, attempt=attempt, pid=pid, result=v)
        self.out("result %d %d" % (task, v))
        self.tick()

    def killed(self, task, attempt=1, w=0, oom=False, signal="SIGKILL",
               how="signal", code=None, report="lost", fault=True):
        pid = self.workers[w]
        self.add("start", task=task, attempt=attempt, pid=pid)
        if how == "signal" and not oom and fault:
            self.tick(0.02)
            self.add("fault", kind="on-start", signal=signal, pid=pid,
                     task=task, ok=True, error=None)
        self.tick(0.01)
        self.add("death", pid=pid, task=task, attempt=attempt, how=how,
                 signal=signal if how == "signal" else None, code=code,
                 oom=oom, oom_kill=1 if oom else 0)
        if oom:
            self.add("oom", cgroup="/sys/fs/cgroup/memory/test/chaos.1.2.0/w0",
                     oom_kill=1)
        self.workers[w] = self.new_worker()
        if report:
            self.out(report)
        self.tick()

    def finish(self, last="done", verdict="done", leftovers=(), teardown_ok=True):
        if last:
            self.out(last)
        self.tick()
        self.add("target_exit", how="exit", code=0)
        for pid, comm in leftovers:
            self.add("leftover", pid=pid, comm=comm)
        self.add("teardown", killed=len(leftovers), cgroups_removed=1,
                 ok=teardown_ok, error=None if teardown_ok else "rmdir: EBUSY")
        self.add("end_run", verdict=verdict, reason=None,
                 elapsed_ms=round(self.t * 1000))

    def write(self, path, cut=None):
        text = "".join(json.dumps(e) + "\n" for e in self.ev)
        if cut:
            text = text[:cut(text)]
        with open(path, "w") as f:
            f.write(text)


def skip_run(name="skip", outcomes=None, killed_line="killed-tasks 3",
             **finish):
    """Task 3 killed, the other nine return id*id; outcomes may edit."""
    r = Run(name, "skip")
    for i in range(10):
        if i == 3:
            r.killed(3, report="lost 3")
        else:
            r.ok(i)
    if outcomes:
        outcomes(r)
    if killed_line:
        r.out(killed_line)
    r.finish(**finish)
    return r


skip_run().write("skip-pass.jsonl")
skip_run(outcomes=lambda r: r.out("result 12 144")).write("skip-invented.jsonl")
skip_run(outcomes=lambda r: r.out("result 5 25")).write("skip-duplicate.jsonl")
def protocol_error(r):
    r.lineno += 1
    r.add("protocol_error", lineno=r.lineno, line="hello there",
          text="not an outcome line")


skip_run(outcomes=protocol_error).write("skip-protocol.jsonl")
skip_run(outcomes=lambda r: r.out("result five 25")).write("skip-protocol-outcome.jsonl")
skip_run(killed_line="killed-tasks 4").write("killed-wrong.jsonl")
skip_run(killed_line="killed-tasks 3,4").write("killed-extra.jsonl")
skip_run(killed_line=None).write("killed-missing.jsonl")


def own_kill_run(killed_line):
    """Task 3's worker is killed by the scenario's fault; task 5's worker is
    killed by the pool itself (no fault reached it): the pool must name 3
    and may name 5."""
    r = Run("skip", "skip")
    for i in range(10):
        if i == 3:
            r.killed(3, report="lost 3")
        elif i == 5:
            r.killed(5, w=1, signal="SIGTERM", report="lost 5", fault=False)
        else:
            r.ok(i)
    r.out(killed_line)
    r.finish()
    return r


own_kill_run("killed-tasks 3").write("killed-own-unnamed.jsonl")
own_kill_run("killed-tasks 3,5").write("killed-own-named.jsonl")
own_kill_run("killed-tasks 5").write("killed-own-only.jsonl")
skip_run(leftovers=[(4242, "sleep")]).write("leftover.jsonl")
skip_run(teardown_ok=False).write("teardown-failed.jsonl")
skip_run(last=None, verdict="crashed").write("crashed.jsonl")
skip_run(last=None, verdict="interrupted").write("interrupted.jsonl")

# A pool that returns a wrong value, forgets a task, or calls a healthy
# task lost.
r = Run("skip", "skip")
for i in range(10):
    if i == 3:
        r.killed(3, report="lost 3")
    elif i == 5:
        r.ok(5, value=26)
    else:
        r.ok(i)
r.out("killed-tasks 3"); r.finish(); r.write("skip-wrong-value.jsonl")

r = Run("skip", "skip")
for i in range(10):
    if i == 3:
        r.killed(3, report="lost 3")
    elif i == 7:
        r.add("start", task=7, attempt=1, pid=r.workers[0])
        r.tick(0.05)
        r.add("end", task=7, attempt=1, pid=r.workers[0], result=49)
    else:
        r.ok(i)
r.out("killed-tasks 3"); r.finish(); r.write("skip-missing.jsonl")

r = Run("skip", "skip")
for i in range(10):
    if i == 3:
        r.killed(3, report="lost 3")
    elif i == 6:
        r.add("start", task=6, attempt=1, pid=r.workers[0])
        r.out("lost 6")
    else:
        r.ok(i)
r.out("killed-tasks 3"); r.finish(); r.write("skip-lost-not-killed.jsonl")

r = Run("skip", "skip")
for i in range(10):
    if i == 3:
        r.killed(3, report=None)
    else:
        r.ok(i)
r.out("killed-tasks 3"); r.finish(); r.write("skip-killed-no-outcome.jsonl")

# A result for task 3 although its only attempt was killed: made up.
r = Run("skip", "skip")
for i in range(10):
    if i == 3:
        r.killed(3, report="result 3 9")
    else:
        r.ok(i)
r.out("killed-tasks 3"); r.finish(); r.write("skip-result-of-killed.jsonl")

# A result for task 4 that never started.
r = Run("skip", "skip")
for i in range(10):
    if i == 3:
        r.killed(3, report="lost 3")
    elif i == 4:
        r.out("result 4 16")
    else:
        r.ok(i)
r.out("killed-tasks 3"); r.finish(); r.write("skip-never-started.jsonl")

# The deadline passes: the pool hangs waiting for task 3.
r = Run("skip", "skip")
for i in range(10):
    if i == 3:
        r.killed(3, report=None)
    else:
        r.ok(i)
r.t = 20.0
r.add("deadline", deadline_ms=20000)
r.add("diag", pid=1000, ppid=1, comm="python3", state="S", wchan="do_select",
      stack=None, unfinished=[3])
r.add("teardown", killed=4, cgroups_removed=1, ok=True, error=None)
r.add("end_run", verdict="hang", reason="deadline 20000 ms passed",
      elapsed_ms=20000)
r.write("hang.jsonl")

# A pool without the policy.
r = Run("skip", "skip")
r.out("unsupported this pool cannot skip a killed task")
r.finish()
r.write("unsupported.jsonl")

# The environment could not run the scenario.
r = Run("skip", "skip")
r.ev = r.ev[:1]
r.add("end_run", verdict="skipped", reason="no writable memory cgroup",
      elapsed_ms=0)
r.write("skipped.jsonl")

# Truncated: the controller died while writing end_run, or after it.
skip_run().write("truncated-mid-end.jsonl",
                 cut=lambda text: len(text) - 25)
r = skip_run()
r.write("truncated-tail.jsonl")
with open("truncated-tail.jsonl", "a") as f:
    f.write('{"t": 1.5, "ev": "diag", "pid": 10')

# Retry.
def retry_run(name, fn, killed_line="killed-tasks 3"):
    r = Run("retry", "retry", retries=2)
    fn(r)
    if killed_line:
        r.out(killed_line)
    r.finish()
    r.write(name)


def retry_pass(r):
    for i in range(10):
        if i == 3:
            r.killed(3, report=None)
            r.ok(3, attempt=2)
        else:
            r.ok(i)


def retry_too_many(r):
    for i in range(10):
        if i == 3:
            for a in range(1, 5):
                r.killed(3, attempt=a, report=None)
            r.ok(3, attempt=5)
        else:
            r.ok(i)


def retry_rerun(r):
    for i in range(10):
        if i == 3:
            r.killed(3, report=None)
            r.ok(3, attempt=2)
        elif i == 2:
            r.add("start", task=2, attempt=1, pid=r.workers[1])
            r.ok(2, attempt=2)
        else:
            r.ok(i)


def retry_gave_up(r):
    for i in range(10):
        if i == 3:
            r.killed(3, report="lost 3")
        else:
            r.ok(i)


def retry_exhausted(r):
    for i in range(10):
        if i == 3:
            for a in range(1, 4):
                r.killed(3, attempt=a, report="lost 3" if a == 3 else None)
        else:
            r.ok(i)


retry_run("retry-pass.jsonl", retry_pass)
retry_run("retry-too-many.jsonl", retry_too_many)
retry_run("retry-rerun.jsonl", retry_rerun)
retry_run("retry-gave-up.jsonl", retry_gave_up)
retry_run("retry-exhausted.jsonl", retry_exhausted)

# Abort.
def abort_run(name, aborted_after=0.05, start_after=False, aborted=True):
    r = Run("abort", "abort")
    for i in range(3):
        r.ok(i)
    r.killed(3, report=None)
    r.tick(aborted_after)
    if aborted:
        r.out("aborted worker running task 3 died")
    if start_after:
        r.tick(0.1)
        r.add("start", task=8, attempt=1, pid=r.workers[2])
    r.finish(last=None if aborted else "done",
             verdict="aborted" if aborted else "done")
    r.write(name)


abort_run("abort-pass.jsonl")
abort_run("abort-late.jsonl", aborted_after=2.8)
abort_run("abort-start-after.jsonl", start_after=True)
abort_run("abort-missing.jsonl", aborted=False)

# OOM.
def oom_run(name, confirmed=True):
    r = Run("oom", "skip", mem_mode="per-worker", mem_limit=64 << 20)
    for i in range(10):
        if i == 3:
            r.killed(3, oom=True, report="lost 3")
            if not confirmed:
                d = [e for e in r.ev if e["ev"] == "death"][-1]
                d["oom"] = False
                d["oom_kill"] = 0
                r.ev = [e for e in r.ev if e["ev"] != "oom"]
        else:
            r.ok(i)
    r.out("killed-tasks 3")
    r.finish()
    r.write(name)


oom_run("oom-pass.jsonl")
oom_run("oom-unconfirmed.jsonl", confirmed=False)

# Exit: task 5 calls _exit(3); the pool reports an error for it.
def exit_run(name, report, killed_line="killed-tasks ", how="exit"):
    r = Run("exit", "skip")
    for i in range(10):
        if i == 5:
            r.killed(5, how=how, code=3 if how == "exit" else None, report=report)
        else:
            r.ok(i)
    r.out(killed_line)
    r.finish()
    r.write(name)


# A worker that exits with a code failed: it was not killed, so the pool's
# killed-tasks list must not name it; a death of unknown cause may be named.
exit_run("exit-pass.jsonl", "error 5 worker exited with code 3")
exit_run("exit-lost.jsonl", "lost 5")
exit_run("exit-result.jsonl", "result 5 25")
exit_run("exit-named-killed.jsonl", "error 5 worker exited with code 3", killed_line="killed-tasks 5")
exit_run("unknown-named.jsonl", "lost 5", killed_line="killed-tasks 5", how="unknown")
exit_run("unknown-unnamed.jsonl", "lost 5", how="unknown")


# ---- what the faults did: UNEXERCISED ---------------------------------------
# new=True writes the optional fields of newer controllers (fault, victim,
# anchor, role); new=False leaves them out, as older controllers did.

def fault_fields(new, index, victim="worker", anchor="first-start", role="worker"):
    return dict(fault=index, victim=victim, anchor=anchor, role=role) if new else {}


def idle_kill_run(name, new):
    """kill-at.ini: worker 0 is killed between two tasks: the fault hit no
    task, every task still returns, so every expectation holds."""
    r = Run("kill-at", "skip")
    for i in range(10):
        if i == 2:
            pid = r.workers[0]
            r.add("fault", kind="at-time", signal="SIGKILL", pid=pid, task=None,
                  ok=True, error=None, **fault_fields(new, 0))
            r.tick(0.01)
            d = dict(pid=pid, task=None, attempt=None, how="signal",
                     signal="SIGKILL", code=None, oom=False, oom_kill=0)
            if new:
                d["role"] = "worker"
            r.add("death", **d)
            r.workers[0] = r.new_worker()
        r.ok(i)
    r.out("killed-tasks ")
    r.finish()
    r.write(name)


idle_kill_run("unexercised-idle.jsonl", new=False)
idle_kill_run("unexercised-idle-new.jsonl", new=True)

# The fault never fired: the engine says so with ok false and its index.
r = Run("kill-at", "skip")
for i in range(10):
    r.ok(i)
r.add("fault", kind="at-time", signal="SIGKILL", pid=None, task=None, ok=False,
      error="not fired: the target exited before its time", fault=0,
      victim="worker", anchor="first-start", role=None)
r.out("killed-tasks ")
r.finish()
r.write("unexercised-not-fired.jsonl")

# An older history: the timed fault found no live worker.
r = Run("kill-at", "skip")
for i in range(10):
    r.ok(i)
r.add("fault", kind="at-time", signal="SIGKILL", pid=None, task=None, ok=False,
      error="no live worker")
r.out("killed-tasks ")
r.finish()
r.write("unexercised-no-victim.jsonl")

# stop-at.ini: the stopped worker was idle.
r = Run("stop-at", "skip")
for i in range(10):
    if i == 2:
        r.add("fault", kind="at-time", signal="SIGSTOP", pid=r.workers[1], task=None,
              ok=True, error=None)
        r.tick(0.3)
        r.add("fault", kind="cont", signal="SIGCONT", pid=r.workers[1], task=None,
              ok=True, error=None)
    r.ok(i)
r.finish()
r.write("unexercised-stop-idle.jsonl")


def pressure_run(name, hit_task, new=False):
    """pressure.ini: stress-ng (pid 2000) runs inside the run; the OOM
    killer chooses stress-ng, or task 3's worker."""
    r = Run("pressure", "skip", mem_mode="whole-run", mem_limit=160 << 20)
    r.add("fault", kind="pressure", signal=None, pid=2000, task=None, ok=True,
          error=None, **(dict(fault=0, anchor="first-start", role="stress") if new else {}))
    for i in range(10):
        if i == 3 and hit_task:
            r.killed(3, oom=True, report="lost 3")
        else:
            if i == 3:
                r.add("oom", cgroup="/sys/fs/cgroup/memory/test/chaos.1.2.0",
                      oom_kill=1)
            r.ok(i)
    r.finish()
    r.write(name)


pressure_run("unexercised-stress-chosen.jsonl", hit_task=False)
pressure_run("unexercised-stress-chosen-new.jsonl", hit_task=False, new=True)
pressure_run("pressure-hit.jsonl", hit_task=True)


# ---- ERROR: the adapter failed -------------------------------------------------

r = Run("skip", "skip")
r.tick(0.3)
r.add("target_exit", how="exit", code=1)
r.add("teardown", killed=0, cgroups_removed=1, ok=True, error=None)
r.add("end_run", verdict="crashed",
      reason="target exited with code 1 without printing done", elapsed_ms=300)
r.write("error-exit-before-start.jsonl")

r = Run("skip", "skip")
r.tick(0.2)
r.add("target_exit", how="signal", signal="SIGSEGV")
r.add("teardown", killed=0, cgroups_removed=1, ok=True, error=None)
r.add("end_run", verdict="crashed",
      reason="target killed by SIGSEGV without printing done", elapsed_ms=200)
r.write("error-crash-before-start.jsonl")


def banner(r):
    r.lineno += 1
    r.add("outcome", line="Loading model weights", lineno=r.lineno)
    r.add("protocol_error", lineno=r.lineno, line="Loading model weights",
          text="not an outcome line: unknown keyword 'Loading'")


r = Run("skip", "skip")
banner(r)
for i in range(10):
    if i == 3:
        r.killed(3, report="lost 3")
    else:
        r.ok(i)
r.out("killed-tasks 3")
r.finish()
r.write("error-banner.jsonl")


# ---- at the deadline: SLOW or HANG -------------------------------------------

# A slow pool: a task ends every 2 s; the deadline cuts it 1.5 s after the
# eighth result, well within its pace.
r = Run("skip", "skip")
for i in range(10):
    if i == 3:
        r.killed(3, report="lost 3")
        continue
    if i == 9:
        r.add("start", task=9, attempt=1, pid=r.workers[0])
        break
    r.add("start", task=i, attempt=1, pid=r.workers[0])
    r.t = 2.0 * (i + 1)
    r.add("end", task=i, attempt=1, pid=r.workers[0], result=i * i)
    r.out("result %d %d" % (i, i * i))
r.t = 19.5
r.add("deadline", deadline_ms=20000)
r.add("diag", pid=1000, ppid=1, comm="python3", state="S", wchan="do_select",
      stack=None, unfinished=[9])
r.add("teardown", killed=4, cgroups_removed=1, ok=True, error=None)
r.add("end_run", verdict="hang", reason="deadline 20000 ms passed",
      elapsed_ms=20000)
r.write("slow.jsonl")

# A retry without a cap, cut by the deadline: the cap already failed.
r = Run("retry", "retry", retries=2)
for i in range(10):
    if i == 3:
        for a in range(1, 6):
            r.killed(3, attempt=a, report=None)
    else:
        r.ok(i)
r.t = 20.0
r.add("deadline", deadline_ms=20000)
r.add("diag", pid=None, unfinished=[3])
r.add("teardown", killed=4, cgroups_removed=1, ok=True, error=None)
r.add("end_run", verdict="hang", reason="deadline 20000 ms passed",
      elapsed_ms=20000)
r.write("retry-unbounded-hang.jsonl")


# ---- no-orphans ----------------------------------------------------------------

def main_kill_run(name, new=True, late=None, leftover=False, victim_pid=1000):
    """main.ini: the main process (1000) is SIGKILLed 200 ms after the first
    start; its four workers die 0.1 s later unless late/leftover say
    otherwise."""
    r = Run("main", "skip")
    for w in range(4):
        r.add("start", task=w, attempt=1, pid=r.workers[w])
    r.tick(0.2)
    role = "main" if victim_pid == 1000 else "worker"
    r.add("fault", kind="at-time", signal="SIGKILL", pid=victim_pid,
          task=None if victim_pid == 1000 else 0, ok=True, error=None,
          **fault_fields(new, 0, victim="main", role=role))
    kill_t = r.t
    r.tick(0.01)
    if victim_pid == 1000:
        r.add("target_exit", how="signal", signal="SIGKILL")
    for w in range(4):
        pid = r.workers[w]
        if leftover and w == 3:
            continue
        r.t = kill_t + (late if late and w == 3 else 0.1)
        d = dict(pid=pid, task=w, attempt=1, how="signal", signal="SIGKILL",
                 code=None, oom=False, oom_kill=0)
        if new:
            d["role"] = "worker"
        r.add("death", **d)
    if victim_pid != 1000:
        r.add("target_exit", how="signal", signal="SIGKILL")
    if leftover:
        r.add("leftover", pid=r.workers[3], comm="python3")
    r.add("teardown", killed=1 if leftover else 0, cgroups_removed=1, ok=True,
          error=None)
    r.add("end_run", verdict="crashed",
          reason="target killed by SIGKILL without printing done",
          elapsed_ms=round(r.t * 1000))
    r.write(name)


main_kill_run("orphans-pass.jsonl")
main_kill_run("orphans-pass-old.jsonl", new=False)
main_kill_run("orphans-late.jsonl", late=3.2)
main_kill_run("orphans-late-old.jsonl", new=False, late=3.2)
main_kill_run("orphans-leftover.jsonl", leftover=True)
main_kill_run("orphans-missed-main.jsonl", victim_pid=1001)


# ---- kills between tasks -------------------------------------------------------

def unannounced_run(name, lost):
    """skip.ini, the kill-storm case: task 3's worker is killed between two
    tasks (fault task null), holding tasks the pool had handed it before
    the kit announced them. One idle death accounts for one such task."""
    r = Run("skip", "skip")
    for i in range(10):
        if i == 3:
            pid = r.workers[0]
            r.add("fault", kind="every", signal="SIGKILL", pid=pid, task=None,
                  ok=True, error=None)
            r.tick(0.01)
            r.add("death", pid=pid, task=None, attempt=None, how="signal",
                  signal="SIGKILL", code=None, oom=False, oom_kill=0)
            r.workers[0] = r.new_worker()
            continue
        if i in lost:
            continue
        r.ok(i)
    for i in lost:
        r.out("lost %d" % i)
    r.out("killed-tasks " + ",".join(str(i) for i in lost))
    r.finish()
    r.write(name)


unannounced_run("idle-death-unannounced.jsonl", lost=[3])
unannounced_run("idle-death-two-lost.jsonl", lost=[3, 7])
