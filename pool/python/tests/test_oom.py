"""A real OOM kill: a worker moved into a memory-limited child cgroup of
this process's own memory cgroup (cgroup v1) allocates past the limit; the
kernel's OOM killer ends it, and the pool reports the task killed with oom
True. Skipped, with the reason, where there is no writable v1 memory
cgroup."""
import errno
import os
import signal
import time

import pytest

import tasks
from safepool import SafePool

LIMIT = 48 << 20


def own_memory_cgroup():
	"""The v1 memory cgroup directory of this process, or None."""
	try:
		with open("/proc/self/cgroup") as f:
			for line in f:
				_, ctrl, path = line.rstrip("\n").split(":", 2)
				if "memory" in ctrl.split(","):
					d = "/sys/fs/cgroup/memory" + path
					return d if os.path.isdir(d) else None
	except OSError:
		pass
	return None


def write(path, text):
	with open(path, "w") as f:
		f.write(text)


@pytest.fixture
def limited_cgroup():
	parent = own_memory_cgroup()
	if parent is None:
		pytest.skip("no cgroup v1 memory controller for this process")
	path = os.path.join(parent, "safepool-pytest-%d" % os.getpid())
	try:
		os.mkdir(path)
	except OSError as e:
		pytest.skip("cannot create a memory cgroup under %s: %s" % (parent, e))
	try:
		write(os.path.join(path, "memory.limit_in_bytes"), str(LIMIT))
		memsw = os.path.join(path, "memory.memsw.limit_in_bytes")
		if os.path.exists(memsw):  # without swap accounting there is none
			write(memsw, str(LIMIT))
		yield path
	finally:
		# The pool is gone by now (the test joins it); a cgroup whose
		# last task just exited may still be busy for a moment.
		for _ in range(200):
			try:
				os.rmdir(path)
				break
			except OSError as e:
				if e.errno != errno.EBUSY:
					raise
				time.sleep(0.01)
		assert not os.path.exists(path), "could not remove " + path


def join_cgroup(path):
	"""Initializer: move this worker into the limited cgroup."""
	write(os.path.join(path, "cgroup.procs"), str(os.getpid()))


def test_real_oom_kill(limited_cgroup):
	pool = SafePool(processes=2, initializer=join_cgroup, initargs=(limited_cgroup,))
	try:
		pids = pool.map(tasks.getpid, range(4))
		with open(os.path.join(limited_cgroup, "cgroup.procs")) as f:
			members = {int(x) for x in f.read().split()}
		assert set(pids) <= members  # the workers really are in it
		out = pool.map(tasks.hog, [1, 512, 1])
		assert out == [1, None, 1]
		k = pool.killed_tasks()
		assert [(r.index, r.signal, r.oom) for r in k] == [(1, signal.SIGKILL, True)]
		assert pool.task_stats()[1].oom is True
	finally:
		pool.close()
		pool.join()
