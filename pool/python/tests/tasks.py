"""Task functions for the tests: module-level so that they pickle."""
import os
import signal
import time

PID_FD = None  # write end of a pipe: tasks that announce their PID write here


def square(x):
	return x * x


def kill_at_3(x):
	"""The seed's example: the worker running task 3 is killed, every time."""
	if x == 3:
		os.kill(os.getpid(), signal.SIGKILL)
	return x * x


def kill_at_3_once(x, marker):
	"""Kills its worker on the first attempt only (the marker file says)."""
	if x == 3 and not os.path.exists(marker):
		open(marker, "w").close()
		os.kill(os.getpid(), signal.SIGKILL)
	return x * x


def announce_and_sleep(x, seconds=30):
	"""Tell the test our PID (x < 0) or sleep briefly (x >= 0)."""
	if x < 0:
		os.write(PID_FD, b"%d\n" % os.getpid())
		time.sleep(seconds)
	return x


def sleep_then(x, seconds):
	time.sleep(seconds)
	return x


def raise_at(x, bad):
	if x == bad:
		raise KeyError("bad %d" % x)
	return x


def unpicklable_result(x):
	return lambda: x


def big_echo(b, factor):
	return b * factor


def exit_worker(x):
	os._exit(7)


def hog(megabytes):
	"""Allocate and touch memory until the cgroup's OOM killer ends us."""
	chunks = []
	for _ in range(megabytes):
		chunks.append(bytearray(1 << 20))
	return len(chunks)


def getpid(_):
	return os.getpid()
