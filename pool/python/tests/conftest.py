"""Shared guards for the safepool tests: every test is bounded by an alarm
(pytest-timeout is not needed), and leaves no child process and no open
descriptor behind."""
import os
import signal
import weakref

import pytest

import safepool

# Every pool a test makes, so that a failing test's pools are ended in its
# teardown instead of leaving workers to the next test.
_made = []
_init = safepool.SafePool.__init__


def _tracking_init(self, *args, **kwargs):
	_init(self, *args, **kwargs)
	_made.append(weakref.ref(self))


safepool.SafePool.__init__ = _tracking_init

TEST_BOUND_S = 60


def _alarm(signum, frame):
	raise TimeoutError("test exceeded its %d s bound" % TEST_BOUND_S)


def children():
	"""PIDs whose parent is this process (zombies included)."""
	me, out = os.getpid(), []
	for d in os.listdir("/proc"):
		if not d.isdigit():
			continue
		try:
			with open("/proc/%s/stat" % d) as f:
				fields = f.read().rsplit(")", 1)[1].split()
		except OSError:
			continue
		if int(fields[1]) == me:
			out.append(int(d))
	return out


def open_fds():
	return set(os.listdir("/proc/self/fd"))


@pytest.fixture(autouse=True)
def bounded():
	old = signal.signal(signal.SIGALRM, _alarm)
	signal.alarm(TEST_BOUND_S)
	try:
		yield
	finally:
		signal.alarm(0)
		signal.signal(signal.SIGALRM, old)
		left = children()
		for ref in _made:
			if ref() is not None:
				ref().terminate()
		_made.clear()
	assert left == [], "a test left child processes"
