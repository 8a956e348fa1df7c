#!/usr/bin/python3
"""One measurement of one Python process pool, printed as one JSON object.

bench/run starts this script once per measurement, in a session of its own
and under a deadline, so that a pool that hangs or leaves workers behind
cannot disturb the next measurement. Before it exits the script SIGKILLs its
whole process group (itself included): every Python pool here leaves some
worker, manager thread or resource tracker behind on an abnormal path, and
the orchestrator must not find any of them later.

Modes:
  dispatch --impl I --tasks N   tasks/s of N no-op tasks on a warmed pool
  detect   --impl I --trials N  SIGKILL of a busy worker -> pool reports it
  start    --impl I             pool of W workers plus one task, seconds

It runs under /usr/bin/python3 (Debian's), where billiard, pebble and joblib
are installed.
"""

import argparse
import json
import os
import signal
import socket
import sys
import tempfile
import time

WARMUP_TASKS = 200

DISPATCH_IMPLS = ("mp-chunk1", "mp-default", "cf-process", "pebble", "loky", "billiard",
		  "safepool-py")
DETECT_IMPLS = ("pebble", "cf-process", "loky", "billiard", "mp-pool", "safepool-py")
START_IMPLS = ("mp-pool", "cf-process", "pebble", "loky", "billiard")


def noop(x):
	"""The no-op task of the dispatch benchmark: returns its argument so the
	caller can check that every result arrived."""
	return x


def busy(sock_path):
	"""The victim task of the detection benchmark: it tells the parent its
	PID (which is also the "started" marker) and then sleeps until killed."""
	s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
	try:
		s.sendto(str(os.getpid()).encode(), sock_path)
	finally:
		s.close()
	time.sleep(120)
	return -1


# ---------------------------------------------------------------- pools
# make_pool returns (submit, shutdown, pool): submit(fn, arg) returns a waiter
# with .wait(timeout) -> bool (True once the pool reported the task, with a
# result or an error) and .outcome() -> short text. Keeping the four APIs
# behind one shape keeps the measurement loops identical for every pool.


class _FutureWaiter:
	def __init__(self, fut):
		self.fut = fut

	def wait(self, timeout):
		import concurrent.futures as cf

		done, _ = cf.wait([self.fut], timeout=timeout)
		return bool(done)

	def outcome(self):
		exc = self.fut.exception(timeout=0)
		return "result" if exc is None else type(exc).__name__


class _AsyncResultWaiter:
	def __init__(self, res):
		self.res = res

	def wait(self, timeout):
		self.res.wait(timeout)
		return self.res.ready()

	def outcome(self):
		if self.res.successful():
			return "result"
		try:
			self.res.get(timeout=0)
		except Exception as e:  # the pool's own error type is the outcome
			# billiard wraps the error raised in the parent with its traceback.
			return type(getattr(e, "exc", e)).__name__
		return "result"


class _SafePoolWaiter(_AsyncResultWaiter):
	"""safepool's skip policy reports a killed task as done with None; its
	task record says it was killed."""

	def outcome(self):
		return "killed" if self.res.task_stats()[0].outcome == "killed" else "result"


def make_pool(impl, workers):
	"""Create a pool of `workers` processes; returns (submit, shutdown, pool)."""
	if impl == "safepool-py":
		# The Python binding of libsafepool, from the build tree (bench/run
		# puts BUILD/python on PYTHONPATH) or installed.
		import safepool

		pool = safepool.SafePool(workers)
		return (lambda fn, a: _SafePoolWaiter(pool.apply_async(fn, (a,))),
			pool.terminate, pool)
	if impl in ("mp-pool", "mp-chunk1", "mp-default"):
		import multiprocessing as mp

		pool = mp.Pool(workers)
		return (lambda fn, a: _AsyncResultWaiter(pool.apply_async(fn, (a,))),
			pool.terminate, pool)
	if impl == "billiard":
		import billiard

		pool = billiard.Pool(workers)
		return (lambda fn, a: _AsyncResultWaiter(pool.apply_async(fn, (a,))),
			pool.terminate, pool)
	if impl == "cf-process":
		import concurrent.futures as cf

		ex = cf.ProcessPoolExecutor(max_workers=workers)
		return (lambda fn, a: _FutureWaiter(ex.submit(fn, a)),
			lambda: ex.shutdown(wait=False, cancel_futures=True), ex)
	if impl == "pebble":
		import pebble

		pool = pebble.ProcessPool(max_workers=workers)
		return (lambda fn, a: _FutureWaiter(pool.schedule(fn, args=(a,))),
			pool.stop, pool)
	if impl == "loky":
		from joblib.externals import loky

		ex = loky.get_reusable_executor(max_workers=workers, reuse=False)
		return (lambda fn, a: _FutureWaiter(ex.submit(fn, a)),
			lambda: ex.shutdown(wait=False, kill_workers=True), ex)
	raise SystemExit(f"unknown implementation {impl!r}")


# ---------------------------------------------------------------- dispatch


def run_map(impl, pool, n):
	"""Run n no-op tasks through the pool's own bulk API; returns results."""
	if impl == "mp-chunk1":
		return pool.map(noop, range(n), chunksize=1)
	if impl == "mp-default":
		return pool.map(noop, range(n))
	if impl in ("billiard", "safepool-py"):
		return pool.map(noop, range(n), chunksize=1)
	if impl == "cf-process":
		return list(pool.map(noop, range(n), chunksize=1))
	if impl == "pebble":
		# One schedule() per task: pebble's per-task API.
		futs = [pool.schedule(noop, args=(i,)) for i in range(n)]
		return [f.result() for f in futs]
	if impl == "loky":
		# One submit() per task.
		futs = [pool.submit(noop, i) for i in range(n)]
		return [f.result() for f in futs]
	raise SystemExit(f"unknown dispatch implementation {impl!r}")


def dispatch(impl, workers, n):
	if impl not in DISPATCH_IMPLS:
		raise SystemExit(f"dispatch: unknown implementation {impl!r}")
	_, shutdown, pool = make_pool(impl, workers)
	try:
		# Warm up: every worker started and the task function known to it, so
		# pool start-up is not part of the timing.
		run_map(impl, pool, WARMUP_TASKS)
		t0 = time.monotonic_ns()
		res = run_map(impl, pool, n)
		t1 = time.monotonic_ns()
	finally:
		shutdown()
	# A pool that drops or reorders results must not look fast.
	if list(res) != list(range(n)):
		raise SystemExit(f"dispatch {impl}: wrong results")
	sec = (t1 - t0) / 1e9
	return {"impl": impl, "tasks": n, "workers": workers, "seconds": sec,
		"tasks_per_s": n / sec}


# ---------------------------------------------------------------- detection


def detect(impl, workers, trials, cap_s, sock_dir):
	"""SIGKILL the worker running a busy task, time until the pool says so.

	The parent takes CLOCK_MONOTONIC right before pidfd_send_signal and again
	when the pool has reported the task (future done with an exception,
	AsyncResult ready with an error). A trial without a report within cap_s
	ends the measurement: the pool is then reported as not reporting, and
	further trials would only wait on the same stuck pool."""
	if impl not in DETECT_IMPLS:
		raise SystemExit(f"detect: unknown implementation {impl!r}")
	path = os.path.join(sock_dir, "pids.sock")
	rx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
	rx.bind(path)
	lat_ms = []
	outcomes = {}
	failure = None
	submit, shutdown, _ = make_pool(impl, workers)
	try:
		for _ in range(trials):
			w = submit(busy, path)
			rx.settimeout(30)
			try:
				pid = int(rx.recv(64))
			except socket.timeout:
				failure = "victim task never started within 30 s"
				break
			# The pidfd is opened before the clock starts, so the time is the
			# pool's alone, and the signal cannot reach a recycled PID.
			pidfd = os.pidfd_open(pid)
			t0 = time.monotonic_ns()
			signal.pidfd_send_signal(pidfd, signal.SIGKILL)
			reported = w.wait(cap_s)
			t1 = time.monotonic_ns()
			os.close(pidfd)
			if not reported:
				failure = f"no report within {cap_s:g} s"
				break
			lat_ms.append((t1 - t0) / 1e6)
			o = w.outcome()
			outcomes[o] = outcomes.get(o, 0) + 1
			if impl in ("cf-process", "loky") and o != "result":
				# A killed worker breaks the whole executor: every pending
				# future fails and it accepts no more work. A new one is
				# made outside the timed window.
				shutdown()
				submit, shutdown, _ = make_pool(impl, workers)
	finally:
		rx.close()
	out = {"impl": impl, "workers": workers, "trials_asked": trials,
		"trials": len(lat_ms), "cap_s": cap_s, "latency_ms": lat_ms,
		"outcomes": outcomes}
	if failure:
		out["failure"] = failure
	# shutdown() of a pool with a stuck task may block; the process group is
	# killed by the caller of this function instead.
	return out


# ---------------------------------------------------------------- start


def start(impl, workers):
	"""Seconds from creating a pool to the result of its first task."""
	if impl not in START_IMPLS:
		raise SystemExit(f"start: unknown implementation {impl!r}")
	t0 = time.monotonic_ns()
	submit, shutdown, _ = make_pool(impl, workers)
	w = submit(noop, 7)
	if not w.wait(60) or w.outcome() != "result":
		raise SystemExit(f"start {impl}: first task did not return")
	t1 = time.monotonic_ns()
	# No shutdown(): billiard's terminate() sometimes blocks for good right
	# after start-up (about one run in ten here), and teardown is not what
	# is measured. The caller kills the process group, workers included.
	del shutdown
	return {"impl": impl, "workers": workers, "seconds": (t1 - t0) / 1e9}


def main():
	ap = argparse.ArgumentParser(description=__doc__,
				     formatter_class=argparse.RawDescriptionHelpFormatter)
	ap.add_argument("mode", choices=("dispatch", "detect", "start"))
	ap.add_argument("--impl", required=True)
	ap.add_argument("--workers", type=int, default=2)
	ap.add_argument("--tasks", type=int, default=20000)
	ap.add_argument("--trials", type=int, default=20)
	ap.add_argument("--cap", type=float, default=2.0,
			help="seconds to wait for a report of a killed task")
	a = ap.parse_args()
	code = 0
	try:
		if a.mode == "dispatch":
			out = dispatch(a.impl, a.workers, a.tasks)
		elif a.mode == "start":
			out = start(a.impl, a.workers)
		else:
			with tempfile.TemporaryDirectory(prefix="pybench.") as d:
				out = detect(a.impl, a.workers, a.trials, a.cap, d)
		out["mode"] = a.mode
		out["python"] = sys.version.split()[0]
		sys.stdout.write(json.dumps(out) + "\n")
	except SystemExit as e:
		sys.stderr.write(f"pybench: {e}\n")
		code = 1
	except Exception as e:
		sys.stderr.write(f"pybench: {a.mode} {a.impl}: {type(e).__name__}: {e}\n")
		code = 1
	sys.stdout.flush()
	sys.stderr.flush()
	# Only when this process leads its own group (bench/run starts it with
	# a new session) is killing the group safe; run by hand, just exit.
	if os.getpgid(0) == os.getpid():
		os.killpg(0, signal.SIGKILL)
	os._exit(code)


if __name__ == "__main__":
	main()
