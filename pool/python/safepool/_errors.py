"""The exceptions of safepool and the records it reports."""

import collections
import signal as _signal

# One record per kill (a task killed on two attempts has two). Times are
# CLOCK_MONOTONIC seconds, comparable with time.monotonic(). oom is True
# (the memory cgroup's OOM counter rose across the death), False (it did not,
# or the signal was not SIGKILL) or None (unknown).
KilledTask = collections.namedtuple(
	"KilledTask", "index attempts signal pid oom start end")

# One record per task: its outcome ("ok", "error", "killed", "timedout",
# "failed", "cancelled"), the runs started, the signal and worker of the
# last attempt, oom as in KilledTask, start and end of the last attempt.
TaskStat = collections.namedtuple(
	"TaskStat", "index outcome attempts signal pid oom start end")


def signal_name(sig):
	if not sig:
		return "an unknown signal"
	try:
		return _signal.Signals(sig).name
	except ValueError:
		return "signal %d" % sig


def oom_text(oom):
	return {True: "oom yes", False: "oom no"}.get(oom, "oom unknown")


class SafePoolError(Exception):
	"""Base of safepool's own exceptions."""


class SubProcessKilledException(SafePoolError):
	"""A worker died by a signal while it ran a task, under the abort policy
	(abort_when_killed=True, or retry falling back to abort).

	Attributes: task (index of the task in its call), signal, pid, oom
	(True/False/None), attempts, function and task_args (the killed task)."""

	def __init__(self, task, signal, pid, oom, attempts=1, function=None, args=None):
		self.task = task
		self.signal = signal
		self.pid = pid
		self.oom = oom
		self.attempts = attempts
		self.function = function
		self.task_args = args
		super().__init__(task, signal, pid, oom, attempts)

	def __reduce__(self):
		return (type(self), (self.task, self.signal, self.pid, self.oom, self.attempts))

	def __str__(self):
		return "task %s killed by %s (attempt %d, worker %d, %s)" % (
			self.task, signal_name(self.signal), self.attempts, self.pid,
			oom_text(self.oom))


class PoolAbortedError(SafePoolError):
	"""The call ended without a kill to blame on a task: more worker deaths
	than restart_max within restart_window (an OOM storm), or workers that
	keep dying before serving a task (an initializer that fails)."""


class TaskTimeoutError(SafePoolError):
	"""The task ran longer than task_timeout; the pool killed its worker."""


class WorkerExitError(SafePoolError):
	"""The worker process exited (os._exit() in the task, or the like)
	while it ran the task."""


class TaskError(SafePoolError):
	"""A task failed in a way that has no exception of its own to carry:
	it raised SystemExit or KeyboardInterrupt, its exception cannot be
	pickled, or the task's arguments are too large."""


class PoolTerminatedError(SafePoolError):
	"""terminate() ended the pool before the task finished."""
