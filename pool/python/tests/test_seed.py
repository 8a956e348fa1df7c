"""The four examples of the seed's README (../shared/seed/SafePool-README.md),
run as written there, and what they print compared with what it prints.
The worker that runs task 3 is SIGKILLed for real (it kills itself)."""
import os
import signal

import pytest

import safepool
from safepool import SafePool

from tasks import kill_at_3 as f
from tasks import kill_at_3_once

process_nr = 4


def test_basic_usage_skip(capsys):
	pool = SafePool(processes=process_nr)
	res = pool.map(f, range(10))
	print(res)
	pool.close()
	pool.join()
	assert capsys.readouterr().out == "[0, 1, 4, None, 16, 25, 36, 49, 64, 81]\n"


def test_abort_when_killed():
	pool = SafePool(processes=process_nr, abort_when_killed=True)
	res = pool.map_async(f, range(10))
	with pytest.raises(safepool.SubProcessKilledException) as info:
		res.get(timeout=20)
	e = info.value
	assert isinstance(e, safepool.SubProcessKilledError)  # the seed's name and ours
	assert (e.task, e.signal, e.function, e.task_args) == (3, signal.SIGKILL, f, (3,))
	assert e.pid > 0 and e.oom in (None, False)
	assert str(e).startswith("task 3 killed by SIGKILL (attempt 1, worker %d, oom " % e.pid)
	assert res.ready() and not res.successful()
	pool.terminate()


def test_retry_killed_tasks(capsys):
	# Task 3 kills its worker on every attempt: after max_retries reruns
	# it is skipped, which is what the seed's README prints.
	pool = SafePool(processes=process_nr, retry_killed_tasks=True)
	res = pool.map_async(f, range(10))
	print(res.get(timeout=30))
	assert capsys.readouterr().out == "[0, 1, 4, None, 16, 25, 36, 49, 64, 81]\n"
	assert [k.attempts for k in pool.killed_tasks()] == [1, 2, 3, 4]
	assert [(s.outcome, s.attempts) for s in pool.task_stats()][3] == ("killed", 4)
	pool.terminate()


def test_retry_recovers_a_task_killed_once(tmp_path):
	pool = SafePool(processes=process_nr, retry_killed_tasks=True)
	marker = str(tmp_path / "killed-once")
	res = pool.starmap_async(kill_at_3_once, [(x, marker) for x in range(10)])
	assert res.get(timeout=30) == [x * x for x in range(10)]
	assert [(k.index, k.attempts, k.signal) for k in pool.killed_tasks()] == [
		(3, 1, signal.SIGKILL)]
	assert pool.task_stats()[3].attempts == 2
	pool.terminate()


def test_get_killed_tasks(capsys):
	pool = SafePool(processes=process_nr)
	pool.map(f, range(10))
	killed = pool.get_killed_tasks()
	assert killed == [(f, (3,))]
	print(killed)
	assert capsys.readouterr().out == "[(%r, (3,))]\n" % f
	rec = pool.killed_tasks()
	assert len(rec) == 1
	assert (rec[0].index, rec[0].attempts, rec[0].signal) == (3, 1, signal.SIGKILL)
	assert rec[0].pid > 0 and rec[0].pid != os.getpid()
	assert rec[0].start <= rec[0].end
	pool.terminate()
