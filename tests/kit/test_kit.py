"""Tests of the Python task kit (same protocol and semantics as the C kit)
and of every target adapter, run by hand without a controller.

Run through tests/kit/run, which sets CHAOS_ROOT and CHAOS_BUILD. Every
child process runs under a timeout; a check that times out fails.
"""

import os
import pickle
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.environ.get("CHAOS_ROOT") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("CHAOS_BUILD") or os.path.join(ROOT, "build")
KIT = os.path.join(ROOT, "scenarios", "kit")
TARGETS = os.path.join(ROOT, "scenarios", "targets")
PYTHON = "/usr/bin/python3"
sys.path.insert(0, KIT)

import chaos_task  # noqa: E402

PY_ADAPTERS = ["mp-pool-map", "mp-pool-imap", "mp-pool-apply", "cf-process", "loky",
               "billiard", "pebble", "mp-pool-spawn", "mp-pool-forkserver", "multiprocess",
               "cf-process-mtpc", "dask-distributed"]
# Adapters in other languages, and what each needs (skipped with the reason
# when it is missing; ci/install-deps installs every one).
NODE_MODULES = os.path.join(TARGETS, "node", "node_modules")
OTHER_ADAPTERS = {
    "jest-worker": os.path.join(NODE_MODULES, "jest-worker", "package.json"),
    "workerpool": os.path.join(NODE_MODULES, "workerpool", "package.json"),
    "tinypool": os.path.join(NODE_MODULES, "tinypool", "package.json"),
    "ruby-parallel": ["/usr/bin/ruby", "-e", "require 'parallel'"],
    "perl-forkmanager": ["/usr/bin/perl", "-e", "use Parallel::ForkManager;"],
}
PY_NEEDS = {"multiprocess": "multiprocess", "dask-distributed": "distributed"}
SH_ADAPTERS = ["gnu-parallel", "xargs"]
C_ADAPTERS = ["safepool"]
# Policies each adapter reports as unsupported.
UNSUPPORTED = {
    "mp-pool-map": ["abort", "retry"], "mp-pool-imap": ["abort", "retry"],
    "mp-pool-apply": ["abort", "retry"], "cf-process": ["retry"], "loky": ["retry"],
    "billiard": ["retry"], "pebble": [], "gnu-parallel": [], "xargs": ["abort", "retry"],
    "safepool": [],
    "mp-pool-spawn": ["abort", "retry"], "mp-pool-forkserver": ["abort", "retry"],
    "multiprocess": ["abort", "retry"], "cf-process-mtpc": ["retry"], "dask-distributed": [],
    "jest-worker": [], "workerpool": ["retry"], "tinypool": ["retry"], "ruby-parallel": ["retry"],
    "perl-forkmanager": ["retry"],
}
OUTCOME = re.compile(r"^(result \d+ -?\d+|lost \d+|error \d+ \S.*|killed-tasks (\d+(,\d+)*)?"
                     r"|aborted \S.*|unsupported \S.*|done)$")

passed = 0
failed = 0
tmpdir = tempfile.mkdtemp(prefix="test_kit_py.")


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print("ok   %s" % name)
    else:
        failed += 1
        print("FAIL %s %s" % (name, detail))
    sys.stdout.flush()


def write_spec(text, name="tasks"):
    path = os.path.join(tmpdir, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def env_with(**kw):
    env = dict(os.environ)
    for k in ("CHAOS_EVENTS", "CHAOS_TASKS", "CHAOS_GO_TIMEOUT_MS", "CHAOS_POLICY",
              "CHAOS_RETRIES", "CHAOS_TASK_TIMEOUT_MS", "CHAOS_MP_START"):
        env.pop(k, None)
    env["PYTHONPATH"] = KIT
    env["PATH"] = BUILD + os.pathsep + env.get("PATH", "")
    for k, v in kw.items():
        env[k] = str(v)
    return env


# ---- spec parsing ------------------------------------------------------

def test_parse():
    p = write_spec("chaos-tasks 1 3\n0 sleep=5 alloc=10 action=exit code=3 times=0 result=-7\n"
                   "1 action=selfkill\n2\n")
    d = chaos_task.parse_spec(p)
    check("parse valid", len(d) == 3 and d[0] == {"sleep": 5, "alloc": 10, "action": "exit",
                                                 "code": 3, "times": 0, "result": -7,
                                                 "hold": 0}
          and d[1]["action"] == "selfkill" and d[1]["times"] == 1 and d[2]["result"] == 4, d)
    d = chaos_task.parse_spec(write_spec("chaos-tasks 2 2\n0 hold=1\n1\n", "v2"))
    check("parse version 2 hold", d[0]["hold"] == 1 and d[1]["hold"] == 0, d)
    bad = [
        ("", "0", "empty file"),
        ("tasks 1 2\n", "1", "expected header"),
        ("chaos-tasks 3 1\n0\n", "1", "version 3"),
        ("chaos-tasks 1 1\n0 hold=1\n", "2", "unknown key 'hold'"),
        ("chaos-tasks 2 1\n0 hold=2\n", "2", "bad value '2' for hold"),
        ("chaos-tasks 1 2\n0\n", "2", "1 task lines, header says 2"),
        ("chaos-tasks 1 1\n0\n1\n", "3", "more task lines"),
        ("chaos-tasks 1 2\n0\n2\n", "3", "out of order"),
        ("chaos-tasks 1 1\n0 colour=red\n", "2", "unknown key 'colour'"),
        ("chaos-tasks 1 1\n0 action=explode\n", "2", "bad value 'explode' for action"),
        ("chaos-tasks 1 1\n0 sleep=-1\n", "2", "bad value '-1' for sleep"),
        ("chaos-tasks 1 1\n0 result=12x\n", "2", "bad value '12x' for result"),
        ("chaos-tasks 1 1\n0 code=256\n", "2", "bad value '256' for code"),
        ("chaos-tasks 1 1\nx\n", "2", "expected a task id"),
    ]
    for text, line, needle in bad:
        p = write_spec(text)
        try:
            chaos_task.parse_spec(p)
            msg = None
        except chaos_task.SpecError as e:
            msg = str(e)
        check("parse bad %r" % needle, msg is not None and msg.startswith("%s:%s: " % (p, line))
              and needle in msg, msg)


# ---- silent mode -------------------------------------------------------

def test_silent():
    os.environ.pop("CHAOS_EVENTS", None)
    os.environ.pop("CHAOS_TASKS", None)
    check("silent defaults id*id", [chaos_task.run(i) for i in range(6)] == [0, 1, 4, 9, 16, 25])
    os.environ["CHAOS_TASKS"] = write_spec("chaos-tasks 1 3\n0 result=-5\n1 sleep=100 "
                                           "alloc=1048576 result=77\n2 action=fail\n", "silent")
    t0 = time.monotonic()
    check("silent spec result", chaos_task.run(0) == -5 and chaos_task.run(1) == 77
          and time.monotonic() - t0 >= 0.1)
    try:
        chaos_task.run(2)
        err = None
    except chaos_task.TaskError as e:
        err = e
    check("silent fail raises TaskError", err is not None and err.task_id == 2
          and "failed on purpose" in str(err), err)
    again = pickle.loads(pickle.dumps(err))
    check("TaskError pickles", isinstance(again, chaos_task.TaskError) and again.task_id == 2
          and str(again) == str(err))
    try:
        chaos_task.run(3)
        ok = False
    except chaos_task.SpecError:
        ok = True
    check("silent id out of range", ok)
    del os.environ["CHAOS_TASKS"]


# ---- protocol against a tiny controller --------------------------------

class Controller:
    """Accepts one connection, records lines, answers start with go and,
    when ack is set, end with ack."""

    def __init__(self, attempt, ack=False):
        self.path = os.path.join(tmpdir, "ev%d.sock" % id(self))
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(4)
        self.sock.settimeout(10)
        self.attempt = attempt
        self.ack = ack
        self.lines = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        conn.settimeout(10)
        buf = b""
        try:
            while True:
                chunk = conn.recv(256)
                if not chunk:
                    break
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    self.lines.append(line.decode())
                    if line.startswith(b"start ") and self.attempt is not None:
                        conn.sendall(b"go %d\n" % self.attempt)
                    if line.startswith(b"end ") and self.ack:
                        conn.sendall(b"ack %d\n" % self.attempt)
        except OSError:
            pass
        conn.close()

    def close(self):
        self.thread.join(15)
        self.sock.close()
        os.unlink(self.path)


# Each kit's one-line driver: run task %d, print the result, exit 1 on the
# kit's task error (2 on any other error). The protocol tests below run every
# kit through the same assertions, so the kits behave alike.
KIT_DRIVERS = {
    "python": [PYTHON, "-c", "import sys, chaos_task\n"
               "try:\n    print(chaos_task.run(%d))\n"
               "except chaos_task.TaskError:\n    sys.exit(1)\n"],
    "node": ["node", "-e", "const k = require('chaos-task'); k.run(%d).then("
             "(v) => console.log(v), (e) => { process.exitCode = "
             "e instanceof k.TaskError ? 1 : 2; })"],
    "ruby": ["ruby", "-e", "require 'chaos_task'\n"
             "begin\n puts ChaosTask.run(%d)\nrescue ChaosTask::TaskError\n exit 1\nend"],
    "perl": ["perl", "-e", "use ChaosTask; my $r = eval { ChaosTask::run(%d) };"
             " if (!defined $r) { exit(ref $@ && $@->isa('ChaosTask::TaskError') ? 1 : 2) }"
             " print \"$r\\n\""],
}


def kit_env(**kw):
    """The environment the controller gives a target: every kit on its
    runtime's search path."""
    env = env_with(**kw)
    env["NODE_PATH"] = os.path.join(KIT, "node")
    env["RUBYLIB"] = KIT
    env["PERL5LIB"] = KIT
    return env


def run_child(task_id, attempt, spec, go_timeout=None, kit="python", ack=False):
    """Run the kit's run(task_id) in a fresh process against a controller
    answering go <attempt> (None: never answers). Returns (returncode,
    lines, maxrss_kib)."""
    ctl = Controller(attempt, ack)
    kw = {"CHAOS_EVENTS": ctl.path, "CHAOS_TASKS": write_spec(spec, "p%d" % task_id)}
    if go_timeout is not None:
        kw["CHAOS_GO_TIMEOUT_MS"] = go_timeout
    argv = list(KIT_DRIVERS[kit])
    argv[-1] = argv[-1] % task_id
    p = subprocess.Popen(argv, env=kit_env(**kw), stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    status = rss = None
    while time.monotonic() < deadline:
        pid, st, ru = os.wait4(p.pid, os.WNOHANG)
        if pid == p.pid:
            status, rss = st, ru.ru_maxrss
            break
        time.sleep(0.01)
    if status is None:
        p.kill()
        p.wait()
        ctl.close()
        return None, ctl.lines, 0
    p.returncode = os.waitstatus_to_exitcode(status)
    p.stdout.close()
    ctl.close()
    return p.returncode, ctl.lines, rss


def test_protocol(kit="python"):
    def name(n):
        return n if kit == "python" else "%s kit: %s" % (kit, n)

    def run(*a, **kw):
        return run_child(*a, kit=kit, **kw)

    rc, lines, _ = run(3, 2, "chaos-tasks 1 4\n0\n1\n2\n3 sleep=20 result=9\n")
    check(name("protocol start/go/end"), rc == 0 and lines == ["start 3", "end 3 9"],
          (rc, lines))
    spec = "chaos-tasks 1 2\n0 action=fail times=2 result=3\n1 action=fail times=0\n"
    rc, lines, _ = run(0, 2, spec)
    check(name("times: attempt 2 of times=2 fails"), rc == 1 and lines ==
          ["start 0", "fail 0 task 0 failed on purpose (attempt 2)"], (rc, lines))
    rc, lines, _ = run(0, 3, spec)
    check(name("times: attempt 3 of times=2 returns"), rc == 0
          and lines == ["start 0", "end 0 3"], (rc, lines))
    rc, lines, _ = run(1, 50, spec)
    check(name("times=0 misbehaves on every attempt"), rc == 1
          and lines[-1].startswith("fail 1 "), (rc, lines))
    rc, lines, _ = run(0, 1, "chaos-tasks 1 1\n0 action=exit code=42\n")
    check(name("exit code"), rc == 42 and lines == ["start 0"], (rc, lines))
    rc, lines, _ = run(0, 1, "chaos-tasks 1 1\n0 action=selfkill\n")
    check(name("selfkill dies by SIGKILL"), rc == -signal.SIGKILL, rc)
    rc, lines, _ = run(0, 2, "chaos-tasks 1 1\n0 action=selfkill\n")
    check(name("selfkill times=1, attempt 2 returns"), rc == 0
          and lines == ["start 0", "end 0 0"], (rc, lines))
    rc, lines, _ = run(0, 1, "chaos-tasks 1 1\n0 action=segv\n")
    check(name("segv dies by SIGSEGV"), rc == -signal.SIGSEGV, rc)
    rc, lines, rss = run(0, 1, "chaos-tasks 1 1\n0 alloc=67108864 result=1\n")
    check(name("alloc touches every page"), rc == 0 and rss >= 64 * 1024, (rc, rss))
    rc, lines, _ = run(0, 1, "chaos-tasks 1 1\n0 result=-9223372036854775808\n")
    check(name("64-bit result"), rc == 0 and lines == ["start 0", "end 0 -9223372036854775808"],
          (rc, lines))
    t0 = time.monotonic()
    rc, lines, _ = run(0, None, "chaos-tasks 1 1\n0\n", go_timeout=300)
    el = time.monotonic() - t0
    check(name("no go -> exit 70"), rc == chaos_task.EXIT_NO_GO and lines == ["start 0"]
          and 0.3 <= el < 10, (rc, lines, el))


def test_held_end():
    spec = "chaos-tasks 2 1\n0 hold=1 result=4\n"
    rc, lines, _ = run_child(0, 2, spec, ack=True)
    check("held end returns after ack", rc == 0 and lines == ["start 0", "end 0 4"], (rc, lines))
    # Unanswered, the kit gives up (bounded): one that did not hold exits 0.
    rc, lines, _ = run_child(0, 2, spec, go_timeout=300)
    check("held end without ack -> exit 70", rc == chaos_task.EXIT_NO_GO
          and lines == ["start 0", "end 0 4"], (rc, lines))


def test_hang(kit="python"):
    spec = write_spec("chaos-tasks 1 1\n0 action=hang\n", "hang")
    argv = list(KIT_DRIVERS[kit])
    argv[-1] = argv[-1] % 0
    p = subprocess.Popen(argv, env=kit_env(CHAOS_TASKS=spec))
    time.sleep(0.5)
    alive = p.poll() is None
    p.send_signal(signal.SIGKILL)
    try:
        rc = p.wait(10)
    except subprocess.TimeoutExpired:
        rc = None
    check("hang until killed" if kit == "python" else "%s kit: hang until killed" % kit,
          alive and rc == -signal.SIGKILL, (alive, rc))


# ---- the Node.js, Ruby and Perl kits ------------------------------------

# Each kit's own tests, in its own language's runner.
KIT_UNIT_TESTS = {
    "node": ["node", "--test", "--test-timeout=60000", os.path.join(KIT, "node", "chaos-task",
                                                                    "test")],
    "ruby": ["ruby", os.path.join(ROOT, "tests", "kit", "test_chaos_task.rb")],
    "perl": ["prove", os.path.join(ROOT, "tests", "kit", "chaos_task.t")],
}


def test_other_kits():
    for kit, unit in KIT_UNIT_TESTS.items():
        runtime = KIT_DRIVERS[kit][0]
        if not shutil.which(runtime) or not shutil.which(unit[0]):
            print("skip %s kit: %s or %s not installed (ci/install-deps installs them)"
                  % (kit, runtime, unit[0]))
            continue
        try:
            p = subprocess.run(unit, env=kit_env(), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, timeout=120)
            rc, out = p.returncode, p.stdout
        except subprocess.TimeoutExpired as e:
            rc, out = None, str(e.stdout)
        check("%s kit: its own tests (%s)" % (kit, unit[0]), rc == 0, (rc, out[-2000:]))
        test_protocol(kit)
        test_hang(kit)


# ---- adapters ----------------------------------------------------------

def adapter_path(name):
    if name in C_ADAPTERS:
        return os.path.join(BUILD, "targets", name)
    return os.path.join(TARGETS, name)


def adapter_missing(name):
    """Why the pool of a shipped adapter is not installed, or None."""
    need = OTHER_ADAPTERS.get(name)
    if name in PY_NEEDS:
        need = [PYTHON, "-c", "import " + PY_NEEDS[name]]
    if isinstance(need, str):
        return None if os.path.exists(need) else need + " missing"
    if need:
        try:
            ok = subprocess.run(need, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                timeout=30).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            ok = False
        return None if ok else "'%s' fails" % " ".join(need)
    return None


def run_adapter(name, timeout, **kw):
    """Run an adapter in its own session; on timeout, or when it leaves
    workers behind, kill the whole process group so nothing outlives it.
    Returns (returncode or None on timeout, stdout lines, stderr)."""
    p = subprocess.Popen([adapter_path(name)], env=kit_env(**kw), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
        rc = p.returncode
    except subprocess.TimeoutExpired:
        rc = None
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    if rc is None:
        out, err = p.communicate(timeout=30)
    return rc, out.splitlines(), err


def test_adapters():
    n = 8
    spec = write_spec("chaos-tasks 1 %d\n" % n + "".join(
        "%d sleep=%d result=%d\n" % (i, 50 if i == 3 else 0, 1000 + i) for i in range(n)), "ok")
    want = sorted("result %d %d" % (i, 1000 + i) for i in range(n))
    for name in PY_ADAPTERS + SH_ADAPTERS + C_ADAPTERS + list(OTHER_ADAPTERS):
        why = adapter_missing(name)
        if why:
            print("skip %s: %s (ci/install-deps installs it)" % (name, why))
            continue
        if not os.access(adapter_path(name), os.X_OK):
            check("adapter %s exists" % name, False, adapter_path(name))
            continue
        rc, lines, err = run_adapter(name, 60, CHAOS_WORKERS=2, CHAOS_NTASKS=n, CHAOS_TASKS=spec,
                                     CHAOS_POLICY="skip")
        got = sorted(x for x in lines if x.startswith("result "))
        check("%s: all results, done, exit 0" % name, rc == 0 and got == want
              and lines[-1:] == ["done"] and not any(x.startswith(("lost", "error", "aborted"))
                                                      for x in lines), (rc, lines, err[-300:]))
        bad = [x for x in lines if not OUTCOME.match(x)]
        check("%s: only outcome lines" % name, not bad, bad)
        for policy in UNSUPPORTED[name]:
            rc, lines, err = run_adapter(name, 30, CHAOS_WORKERS=2, CHAOS_NTASKS=n,
                                         CHAOS_TASKS=spec, CHAOS_POLICY=policy)
            check("%s: %s unsupported" % (name, policy), rc == 0 and len(lines) == 2
                  and lines[0].startswith("unsupported ") and lines[1] == "done", (rc, lines))
    # The spawn start method re-imports the kit in each worker.
    rc, lines, err = run_adapter("mp-pool-map", 60, CHAOS_WORKERS=2, CHAOS_NTASKS=n,
                                 CHAOS_TASKS=spec, CHAOS_MP_START="spawn")
    check("mp-pool-map with spawn", rc == 0 and sorted(lines[:-1]) == want, (rc, lines, err))
    # Retry through pebble's and safepool's own loops, in silent mode every
    # attempt is attempt 1, so a times=1 selfkill dies every time: the task
    # must come out lost after 1 + retries runs, never hang.
    kspec = write_spec("chaos-tasks 1 4\n0\n1\n2\n3 action=selfkill\n", "k")
    for name in ("pebble", "safepool"):
        rc, lines, err = run_adapter(name, 30, CHAOS_WORKERS=2, CHAOS_NTASKS=4,
                                     CHAOS_TASKS=kspec, CHAOS_POLICY="retry", CHAOS_RETRIES=2)
        check("%s retry: killed task lost, others done" % name, rc == 0 and "lost 3" in lines
              and "result 2 4" in lines and lines[-1:] == ["done"], (rc, lines))


def survey():
    """What each pool does when task 3 self-kills (informational)."""
    spec = write_spec("chaos-tasks 1 8\n" + "".join(
        "%d sleep=200%s\n" % (i, " action=selfkill" if i == 3 else "") for i in range(8)), "sv")
    print("\nsurvey: 8 tasks, 2 workers, task 3 self-kills (SIGKILL), timeout 20 s")
    for policy in ("skip", "abort", "retry"):
        for name in PY_ADAPTERS + SH_ADAPTERS + C_ADAPTERS + list(OTHER_ADAPTERS):
            t0 = time.monotonic()
            rc, lines, _ = run_adapter(name, 20, CHAOS_WORKERS=2, CHAOS_NTASKS=8,
                                       CHAOS_TASKS=spec, CHAOS_POLICY=policy, CHAOS_RETRIES=2)
            el = time.monotonic() - t0
            state = "HANG" if rc is None else "rc=%d" % rc
            short = [x[:60] for x in lines if not x.startswith("result ")]
            nres = sum(1 for x in lines if x.startswith("result "))
            print("  %-5s %-13s %-7s %5.1fs results=%d %s" % (policy, name, state, el, nres,
                                                              "; ".join(short)))
            sys.stdout.flush()


def main():
    test_parse()
    test_silent()
    test_protocol()
    test_held_end()
    test_hang()
    test_other_kits()
    test_adapters()
    if "--survey" in sys.argv[1:]:
        survey()
    subprocess.run(["rm", "-rf", tmpdir])
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
