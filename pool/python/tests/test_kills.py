"""Real kills: an external SIGKILL of a busy worker, two kills with and
without retry, abort latency, reuse of a pool after kills, and workers that
die with the process that owns the pool."""
import os
import select
import signal
import subprocess
import sys
import time

import pytest

import safepool
import tasks
from safepool import SafePool

HERE = os.path.dirname(os.path.abspath(__file__))


class PidPipe:
	"""A pipe made before the pool, so every worker inherits its write end;
	tasks write their PID on it, one per line."""

	def __init__(self):
		self.r, self.w = os.pipe()
		self.buf = b""

	def read_pid(self, timeout=20):
		deadline = time.monotonic() + timeout
		while b"\n" not in self.buf:
			ready, _, _ = select.select([self.r], [], [], max(0, deadline - time.monotonic()))
			assert ready, "no task announced its PID within %d s" % timeout
			self.buf += os.read(self.r, 64)
		line, self.buf = self.buf.split(b"\n", 1)
		return int(line)


@pytest.fixture
def pid_pipe():
	p = PidPipe()
	tasks.PID_FD = p.w
	yield p
	tasks.PID_FD = None
	os.close(p.r)
	os.close(p.w)


def test_external_sigkill_of_busy_worker(pid_pipe):
	pool = SafePool(processes=2)
	res = pool.map_async(tasks.announce_and_sleep, [0, 1, -1, 2, 3])
	victim = pid_pipe.read_pid()
	assert victim in pool.worker_pids()
	os.kill(victim, signal.SIGKILL)
	assert res.get(timeout=20) == [0, 1, None, 2, 3]
	k = pool.killed_tasks()
	assert [(r.index, r.signal, r.pid) for r in k] == [(2, signal.SIGKILL, victim)]
	assert pool.get_killed_tasks() == [(tasks.announce_and_sleep, (-1,))]
	assert victim not in pool.worker_pids()
	pool.terminate()


@pytest.mark.parametrize("retry", [False, True])
def test_two_kills(pid_pipe, retry):
	pool = SafePool(processes=2, retry_killed_tasks=retry, max_retries=1,
			retry_backoff=(0.001, 0.01))
	res = pool.map_async(tasks.announce_and_sleep, [-1, -2, 5, 6])
	victims = set()
	# Two kills: both sleepers, on their first attempt; with retry the
	# reruns announce again and are killed too (the cap is 1 rerun).
	for _ in range(4 if retry else 2):
		v = pid_pipe.read_pid()
		victims.add(v)
		os.kill(v, signal.SIGKILL)
	assert res.get(timeout=20) == [None, None, 5, 6]
	k = pool.killed_tasks()
	assert sorted(r.index for r in k) == ([0, 0, 1, 1] if retry else [0, 1])
	assert all(r.signal == signal.SIGKILL for r in k)
	assert {r.pid for r in k} == victims
	stats = pool.task_stats()
	assert [s.attempts for s in stats[:2]] == ([2, 2] if retry else [1, 1])
	assert [s.outcome for s in stats] == ["killed", "killed", "ok", "ok"]
	pool.terminate()


def test_abort_latency(pid_pipe):
	pool = SafePool(processes=2, abort_when_killed=True)
	res = pool.starmap_async(tasks.announce_and_sleep, [(-1, 30), (7, 0)])
	victim = pid_pipe.read_pid()
	t0 = time.monotonic()
	os.kill(victim, signal.SIGKILL)
	with pytest.raises(safepool.SubProcessKilledException) as info:
		res.get(timeout=20)
	latency = time.monotonic() - t0
	print("kill -> abort raised: %.2f ms" % (latency * 1e3))
	assert (info.value.task, info.value.pid, info.value.signal) == (0, victim, signal.SIGKILL)
	# Long before the 30 s sleeper it replaced could have finished.
	assert latency < 20
	pool.terminate()


def test_pool_reused_after_kills():
	pool = SafePool(processes=2, abort_when_killed=True)
	for _ in range(3):
		with pytest.raises(safepool.SubProcessKilledException):
			pool.map(tasks.kill_at_3, range(6))
		assert pool.map(tasks.square, range(6)) == [0, 1, 4, 9, 16, 25]
	pool.close()
	pool.join()
	pool = SafePool(processes=2)
	for _ in range(3):
		assert pool.map(tasks.kill_at_3, range(6)) == [0, 1, 4, None, 16, 25]
		assert len(pool.get_killed_tasks()) == 1  # reset by each map
	assert pool.apply(tasks.square, (5,)) == 25
	pool.terminate()


def test_workers_die_with_the_parent():
	script = ("import sys, time; sys.path[:0] = %r\n"
		  "import safepool, tasks\n"
		  "p = safepool.SafePool(processes=2)\n"
		  "r = p.starmap_async(tasks.sleep_then, [(0, 30), (1, 30)])\n"
		  "print(' '.join(map(str, p.worker_pids())), flush=True)\n"
		  "time.sleep(60)\n" % (sys.path[:3],))
	child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
	try:
		ready, _, _ = select.select([child.stdout], [], [], 20)
		assert ready, "the child pool did not start"
		workers = [int(p) for p in child.stdout.readline().split()]
		assert len(workers) == 2
		child.kill()
		child.wait(timeout=20)
	finally:
		child.kill()
		child.wait(timeout=20)
		child.stdout.close()
	deadline = time.monotonic() + 20
	alive = workers
	while alive and time.monotonic() < deadline:
		alive = [w for w in alive if _alive(w)]
		time.sleep(0.01)
	assert alive == [], "workers outlived the process that owned the pool"


def _alive(pid):
	try:
		with open("/proc/%d/stat" % pid) as f:
			return f.read().rsplit(")", 1)[1].split()[0] != "Z"
	except OSError:
		return False
