"""Where no worker dies SafePool behaves like multiprocessing.Pool; task
exceptions, timeouts, large and unpicklable data, threads in the caller,
and no descriptor or child left behind."""
import multiprocessing
import multiprocessing.pool
import os
import threading
import time

import pytest

import safepool
import tasks
from conftest import children, open_fds
from safepool import SafePool

FORK_FLAG = []
os.register_at_fork(after_in_child=lambda: FORK_FLAG.append("child"))


def fork_flag(_):
	return list(FORK_FLAG)


def test_same_results_as_multiprocessing():
	calls = [("map", (tasks.square, range(20))), ("starmap", (pow, [(2, 5), (3, 3)])),
		 ("apply", (divmod, (17, 5)))]
	with multiprocessing.get_context("fork").Pool(2) as mp, SafePool(processes=2) as sp:
		for name, args in calls:
			assert getattr(sp, name)(*args) == getattr(mp, name)(*args)
		assert list(sp.imap(tasks.square, range(7))) == list(mp.imap(tasks.square, range(7)))
		assert sorted(sp.imap_unordered(tasks.square, range(7), chunksize=3)) == sorted(
			mp.imap_unordered(tasks.square, range(7), chunksize=3))
		assert sp.map(tasks.square, range(9), chunksize=4) == mp.map(
			tasks.square, range(9), chunksize=4)
		assert sp.map(tasks.square, []) == mp.map(tasks.square, []) == []
		r = sp.apply_async(tasks.square, (4,))
		r.wait(timeout=20)
		assert r.ready() and r.successful() and r.get(timeout=1) == 16


def test_task_exception_is_reraised_and_never_stops_the_pool():
	with multiprocessing.get_context("fork").Pool(2) as mp, SafePool(processes=2) as sp:
		for pool in (mp, sp):
			with pytest.raises(KeyError) as info:
				pool.starmap(tasks.raise_at, [(x, 3) for x in range(6)])
			assert "bad 3" in str(info.value)
			assert isinstance(info.value.__cause__, multiprocessing.pool.RemoteTraceback)
			assert "raise_at" in str(info.value.__cause__)
		assert sp.map(tasks.square, range(4)) == [0, 1, 4, 9]
		errors = []
		r = sp.apply_async(tasks.raise_at, (1, 1), error_callback=errors.append)
		with pytest.raises(KeyError):
			r.get(timeout=20)
		assert not r.successful() and isinstance(errors[0], KeyError)
		it = sp.imap(tasks.square, ["x", 3])
		with pytest.raises(TypeError):
			it.next(timeout=20)
		assert it.next(timeout=20) == 9


def test_return_exceptions_in_place():
	with SafePool(processes=2, return_exceptions=True) as sp:
		out = sp.starmap(tasks.raise_at, [(x, 2) for x in range(4)])
		assert out[:2] == [0, 1] and out[3] == 3
		assert isinstance(out[2], KeyError)
		assert [s.outcome for s in sp.task_stats()] == ["ok", "ok", "error", "ok"]


def test_task_timeout():
	with SafePool(processes=2, task_timeout=0.3) as sp:
		r = sp.starmap_async(tasks.sleep_then, [(0, 0), (1, 30), (2, 0)])
		with pytest.raises(safepool.TaskTimeoutError):
			r.get(timeout=20)
		st = sp.task_stats()
		assert [s.outcome for s in st] == ["ok", "timedout", "ok"]
		assert sp.killed_tasks() == []  # the pool killed it itself: not a kill
		assert sp.map(tasks.square, [3]) == [9]


def test_get_timeout_and_worker_exit():
	with SafePool(processes=1) as sp:
		r = sp.apply_async(tasks.sleep_then, (1, 0.5))
		with pytest.raises(multiprocessing.TimeoutError):
			r.get(timeout=0.01)
		assert r.get(timeout=20) == 1
		with pytest.raises(safepool.WorkerExitError, match="exited with status 7"):
			sp.apply(tasks.exit_worker, (0,))
		assert sp.apply(tasks.square, (3,)) == 9


def test_large_arguments_and_results():
	blob = os.urandom(1 << 20)  # far above a pipe buffer (64 KiB)
	with SafePool(processes=2) as sp:
		out = sp.starmap(tasks.big_echo, [(blob, 4), (b"x", 1 << 22)])
		assert out == [blob * 4, b"x" * (1 << 22)]


def test_unpicklable_result_and_argument():
	with SafePool(processes=2, return_exceptions=True) as sp:
		out = sp.map(tasks.unpicklable_result, [1, 2])
		assert all(isinstance(e, multiprocessing.pool.MaybeEncodingError) for e in out)
		assert "Error sending result" in str(out[0]) and "Reason" in str(out[0])
		with pytest.raises(Exception):
			sp.map(tasks.square, [lambda: 1])
		with pytest.raises(Exception):
			sp.map(lambda x: x, [1])
		assert sp.map(tasks.square, [2]) == [4]


def test_fork_hooks_and_gil_released():
	counter = [0]
	stop = threading.Event()

	def spin():
		while not stop.is_set():
			counter[0] += 1
	t = threading.Thread(target=spin)
	t.start()
	try:
		with SafePool(processes=2) as sp:
			before = counter[0]
			assert sp.starmap(tasks.sleep_then, [(0, 0.3), (1, 0.3)]) == [0, 1]
			# The spinning thread ran while map() waited.
			assert counter[0] > before
			# os.register_at_fork's child handlers ran in the worker.
			assert sp.map(fork_flag, [0])[0][-1:] == ["child"]
	finally:
		stop.set()
		t.join(timeout=20)


def test_initializer():
	with SafePool(processes=2, initializer=FORK_FLAG.append, initargs=("init",)) as sp:
		assert sp.map(fork_flag, [0, 1])[0][-2:] == ["child", "init"]


def test_state_errors_like_multiprocessing():
	sp = SafePool(processes=1)
	with pytest.raises(ValueError):
		sp.join()
	sp.close()
	with pytest.raises(ValueError):
		sp.map(tasks.square, [1])
	sp.join()
	with pytest.raises(ValueError):
		SafePool(processes=0)


def test_terminate_fails_unfinished_calls():
	sp = SafePool(processes=1)
	r = sp.starmap_async(tasks.sleep_then, [(0, 30)])
	time.sleep(0.1)
	sp.terminate()
	with pytest.raises(safepool.PoolTerminatedError):
		r.get(timeout=20)


def test_no_fd_or_child_left():
	before = open_fds()
	for kw in ({}, {"abort_when_killed": True}, {"retry_killed_tasks": True}):
		sp = SafePool(processes=3, **kw)
		try:
			sp.map(tasks.kill_at_3, range(8))
		except safepool.SubProcessKilledException:
			pass  # an abort kills every worker; the next call starts new ones
		assert sp.map(tasks.square, [1, 2, 3]) == [1, 4, 9]
		assert len(sp.worker_pids()) == 3
		sp.close()
		sp.join()
		assert children() == []
	assert open_fds() == before
