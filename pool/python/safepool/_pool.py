"""SafePool: multiprocessing.Pool's API over libsafepool.

One thread per pool (the driver) owns the libsafepool pool: it creates it
(so the workers' parent-death signal is tied to a thread that lives as long
as the pool), submits the tasks that callers queue, waits for results with
the GIL released and hands them to the jobs (AsyncResult, MapResult,
IMapIterator) that callers wait on. libsafepool is driven by one thread at
a time; callers never touch it directly.
"""

import itertools
import math
import os
import sys
import threading
import traceback
import weakref
from multiprocessing import TimeoutError

from . import _safepool as _c
from . import _worker
from ._errors import (KilledTask, PoolAbortedError, PoolTerminatedError, SubProcessKilledException,
		      TaskError, TaskStat, TaskTimeoutError, WorkerExitError, signal_name)

# While tasks are out the driver wakes this often to hand new submissions
# to the pool (libsafepool's wait cannot be woken from another thread); a
# finished or killed task ends the wait at once.
_POLL_MS = 10
# Longest wait for the driver to create the pool (it forks every worker).
_CREATE_TIMEOUT_S = 120

_OUTCOME = {_c.OK: "ok", _c.KILLED: "killed", _c.FAILED: "failed", _c.TIMEDOUT: "timedout",
	    _c.CANCELLED: "cancelled"}
_OOM = {_c.OOM_YES: True, _c.OOM_NO: False}


def _ns(t):
	return t / 1e9 if t else None


def _run_callback(cb, arg):
	"""A user callback runs in the driver thread: its exception is printed,
	never allowed to stop the pool."""
	try:
		cb(arg)
	except Exception:
		traceback.print_exc()


class _Job:
	"""One call (apply_async, map_async, imap...): n tasks, their records,
	and the first failure. Subclasses decide what is delivered when."""

	def __init__(self, pool, func, argsets, return_exceptions):
		self._func = func
		self._argsets = argsets  # per task: (args, kwds)
		self._n = len(argsets)
		self._left = self._n
		self._return_exc = return_exceptions
		self._killed = []
		self._stats = [None] * self._n
		self._error = None  # the exception that ends the call, if any
		self._aborted = False
		self._pool_killed = pool._killed_series

	# -- called in the driver thread --

	def _kill(self, i, k):
		rec = KilledTask(i, k[1], k[2], k[3], _OOM.get(k[4]), _ns(k[5]), _ns(k[6]))
		self._killed.append(rec)
		self._pool_killed.append((self, rec))

	def _done(self, i, r):
		outcome = r[0]
		self._stats[i] = r  # made into a TaskStat only when asked for
		if outcome == _c.OK:
			ok, value = self._decode(i, r[1])
			if not ok:
				self._stats[i] = ("error",) + r[1:]
		elif outcome == _c.KILLED:
			ok, value = True, None  # skip: the task's result is None
		elif outcome == _c.TIMEDOUT:
			ok, value = False, TaskTimeoutError(
				"task %d ran longer than the task timeout; its worker %d was killed"
				% (i, r[7]))
		elif outcome == _c.FAILED:
			what = ("its worker exited with status %d" % r[4] if r[4] >= 0
				else "the task runner failed (code %d)" % r[5])
			ok, value = False, WorkerExitError("task %d failed: %s" % (i, what))
		else:
			return self._finish_one()  # cancelled: the abort already failed the call
		if not ok and self._return_exc:
			ok = True
		self._deliver(i, ok, value)
		return self._finish_one()

	@staticmethod
	def _stat(i, r):
		"""TaskStat from a raw result tuple (outcome may be a name already)."""
		if r is None or isinstance(r, TaskStat):
			return r
		outcome, _, sig, oom, _, _, attempts, pid, start, end = r
		name = outcome if isinstance(outcome, str) else _OUTCOME[outcome]
		return TaskStat(i, name, attempts, sig, pid,
				_OOM.get(oom) if name == "killed" else None, _ns(start), _ns(end))

	def _decode(self, i, data):
		try:
			return _worker.decode(data)
		except Exception as e:
			return False, TaskError("result of task %d cannot be unpickled: %s: %s"
						% (i, type(e).__name__, e))

	def _finish_one(self):
		self._left -= 1
		if self._left == 0 and not self._aborted:
			self._complete()

	def _abort(self, exc):
		"""End the whole call with exc at once (abort policy, terminate)."""
		if self._aborted or self._left == 0:
			return
		self._aborted = True
		self._error = exc
		self._complete()

	def _fail_task(self, i, exc):
		"""A task that never reached a worker (too large, pool broken)."""
		self._stats[i] = TaskStat(i, "failed", 0, 0, 0, None, None, None)
		self._deliver(i, self._return_exc, exc)
		self._finish_one()

	# -- called by users --

	def killed_tasks(self):
		"""Every kill of this call's tasks, as KilledTask records."""
		return list(self._killed)

	def task_stats(self):
		"""One TaskStat per task (None for a task not finished yet)."""
		return [self._stat(i, r) for i, r in enumerate(list(self._stats))]

	def get_killed_tasks(self):
		"""[(function, args), ...] of this call's killed tasks, each once."""
		seen = []
		for rec in self._killed:
			if rec.index not in seen:
				seen.append(rec.index)
		return [(self._func, self._argsets[i][0]) for i in seen]


class ApplyResult(_Job):
	"""multiprocessing.pool.AsyncResult: get(timeout), wait, ready,
	successful; plus killed_tasks(), task_stats(), get_killed_tasks()."""

	def __init__(self, pool, func, argsets, callback, error_callback, single, return_exc):
		super().__init__(pool, func, argsets, return_exc)
		self._event = threading.Event()
		self._values = [None] * self._n
		self._callback = callback
		self._error_callback = error_callback
		self._single = single
		if self._n == 0:
			self._complete()

	def _deliver(self, i, ok, value):
		if ok:
			self._values[i] = value
		elif self._error is None:
			self._error = value  # the first failure, as multiprocessing

	def _complete(self):
		self._event.set()
		if self._error is None and self._callback:
			_run_callback(self._callback, self._values[0] if self._single else self._values)
		elif self._error is not None and self._error_callback:
			_run_callback(self._error_callback, self._error)

	def ready(self):
		return self._event.is_set()

	def wait(self, timeout=None):
		self._event.wait(timeout)

	def successful(self):
		if not self.ready():
			raise ValueError("%r not ready" % self)
		return self._error is None

	def get(self, timeout=None):
		if not self._event.wait(timeout):
			raise TimeoutError
		if self._error is not None:
			raise self._error
		return self._values[0] if self._single else self._values


AsyncResult = ApplyResult
MapResult = ApplyResult


class IMapIterator(_Job):
	"""Results of imap (in order) or imap_unordered (as they finish)."""

	def __init__(self, pool, func, argsets, ordered, return_exc):
		super().__init__(pool, func, argsets, return_exc)
		self._cond = threading.Condition(threading.Lock())
		self._ordered = ordered
		self._items = {} if ordered else []
		self._next = 0  # ordered: index of the next item to yield
		self._yielded = 0
		self._raised = False

	def _deliver(self, i, ok, value):
		with self._cond:
			if self._ordered:
				self._items[i] = (ok, value)
			else:
				self._items.append((ok, value))
			self._cond.notify_all()

	def _complete(self):
		with self._cond:
			self._cond.notify_all()

	def __iter__(self):
		return self

	def _take(self):
		"""The next item if there is one: (True, item), else (False, done)."""
		if self._aborted:
			if self._raised:
				return False, True
			self._raised = True
			return True, (False, self._error)
		if self._yielded == self._n:
			return False, True
		if self._ordered and self._next in self._items:
			item = self._items.pop(self._next)
			self._next += 1
		elif not self._ordered and self._items:
			item = self._items.pop(0)
		else:
			return False, False
		self._yielded += 1
		return True, item

	def next(self, timeout=None):
		with self._cond:
			while True:
				got, item = self._take()
				if got:
					break
				if item:
					raise StopIteration
				if not self._cond.wait(timeout):
					raise TimeoutError
		ok, value = item
		if not ok:
			raise value
		return value

	__next__ = next


class _Driver:
	"""The pool's own thread and the state it shares with callers."""

	def __init__(self, copts, abort_on_kill):
		self._copts = copts
		self._abort_on_kill = abort_on_kill
		self._abort_exc = None  # what the tasks cancelled by the last abort fail with
		self._lock = threading.Lock()
		self._wake = threading.Condition(self._lock)
		self._queue = []  # (job, [task index], [payload]) not yet submitted
		self._calls = []  # (fn, box, event): run in the driver thread
		self._owner = {}  # task id -> (job, index)
		self._stop = None  # None, "close" or "terminate"
		self._ready = threading.Event()
		self._create_error = None
		self.thread = threading.Thread(target=self._main, name="safepool-driver", daemon=True)
		self.thread.start()
		if not self._ready.wait(_CREATE_TIMEOUT_S):
			self.request("terminate")
			raise OSError("safepool: the pool was not created within %d s" % _CREATE_TIMEOUT_S)
		if self._create_error is not None:
			raise self._create_error

	# -- caller side --

	def put(self, job, payloads):
		with self._lock:
			if self._stop:
				raise ValueError("Pool not running")
			self._queue.append((job, payloads))
			self._wake.notify()

	def request(self, what):
		with self._lock:
			if self._stop != "terminate":
				self._stop = what
			self._wake.notify()

	def call(self, fn, timeout=30):
		"""Run fn(cpool) in the driver thread and return its result."""
		box, ev = [], threading.Event()
		with self._lock:
			if not self.thread.is_alive():
				raise ValueError("Pool not running")
			self._calls.append((fn, box, ev))
			self._wake.notify()
		if not ev.wait(timeout):
			raise TimeoutError("the pool's thread did not answer within %s s" % timeout)
		if isinstance(box[0], BaseException):
			raise box[0]
		return box[0]

	# -- the driver thread --

	def _main(self):
		try:
			self.c = _c.Pool(_worker.run, **self._copts)
		except BaseException as e:
			self._create_error = e
			self._ready.set()
			return
		self._ready.set()
		how = "close"
		try:
			how = self._loop()
		except BaseException as e:  # a bug or a broken pool: fail every call
			traceback.print_exc()
			self._fail_all(PoolAbortedError("safepool: the pool's thread failed: %r" % e))
		finally:
			self.c.destroy(how == "terminate")
			self._fail_all(PoolTerminatedError("the pool was terminated"))
			with self._lock:
				self._stop = self._stop or "close"
				calls, self._calls = self._calls, []
			for fn, box, ev in calls:
				box.append(ValueError("Pool not running"))
				ev.set()

	def _loop(self):
		while True:
			with self._lock:
				while not (self._queue or self._calls or self._owner or self._stop):
					self._wake.wait()
				batch, self._queue = self._queue, []
				calls, self._calls = self._calls, []
				stop = self._stop
			for fn, box, ev in calls:
				try:
					box.append(fn(self.c))
				except BaseException as e:
					box.append(e)
				ev.set()
			if stop == "terminate":
				return stop
			for job, payloads in batch:
				self._submit(job, payloads)
			if not self._owner:
				if stop == "close":
					with self._lock:
						if not self._queue:
							return stop
				continue
			self._collect(*self.c.wait(_POLL_MS))

	def _submit(self, job, payloads):
		ids = self.c.submit(payloads)
		for i, tid in enumerate(ids):
			if tid > 0:
				self._owner[tid] = (job, i)
			elif tid == _c.EMSGSIZE:
				job._fail_task(i, TaskError("task %d: arguments larger than the pool's "
							    "message limit" % i))
			else:
				job._fail_task(i, PoolAbortedError("task %d could not be queued: %s"
								   % (i, _c.strerror(tid))))

	def _collect(self, rc, done, killed):
		"""Hand one batch of results to their jobs. Kills come first: a kill
		record names a task whose result may be in the same batch."""
		for k in killed:
			owner = self._owner.get(k[0])
			if owner:
				owner[0]._kill(owner[1], k)
		if rc in (_c.ERESTARTS, _c.ESTART):
			self._abort_exc = self._series_error(rc)
		for tid, r in done:
			job, i = self._owner.pop(tid)
			if r[0] == _c.KILLED and self._abort_on_kill:
				# The abort fails the call before the task is counted,
				# so the call cannot complete with a None in its place.
				self._abort_exc = SubProcessKilledException(
					i, r[2], r[7], _OOM.get(r[3]), r[6], job._func, job._argsets[i][0])
				job._abort(self._abort_exc)
			elif r[0] == _c.CANCELLED:
				job._abort(self._abort_exc or PoolAbortedError("the call was aborted"))
			job._done(i, r)
		if rc not in (0, _c.ETIMEDOUT, _c.ENOENT, _c.ERESTARTS, _c.ESTART):
			raise OSError(-rc if rc > -4096 else 0, _c.strerror(rc))

	def _series_error(self, rc):
		if rc == _c.ESTART:
			return PoolAbortedError("workers keep dying before serving a task "
						"(initializer failing?)")
		cause = self.c.abort_cause()
		last = (" (the last: worker %d, %s)" % (cause[3], signal_name(cause[2]))
			if cause else "")
		return PoolAbortedError("restart intensity exceeded: more than restart_max worker "
					"deaths within restart_window" + last)

	def _fail_all(self, exc):
		jobs = {job for job, _ in self._owner.values()}
		with self._lock:
			jobs |= {job for job, _ in self._queue}
			self._queue = []
		self._owner.clear()
		for job in jobs:
			job._abort(exc)


def _ms(seconds, name):
	"""Seconds (None: the library default) to whole milliseconds, rounded up."""
	if seconds is None:
		return None
	if seconds < 0:
		raise ValueError("%s must be >= 0" % name)
	return int(math.ceil(seconds * 1000))


class SafePool:
	"""A process pool with multiprocessing.Pool's API that survives killed
	workers (see the package documentation)."""

	def __init__(self, processes=None, abort_when_killed=False, retry_killed_tasks=False,
		     max_retries=3, retry_min_free=None, retry_wait=None, task_timeout=None,
		     restart_max=None, initializer=None, initargs=(), *, retry_backoff=None,
		     restart_window=None, return_exceptions=False, max_message=None):
		if processes is None:
			processes = os.cpu_count() or 1
		if processes < 1:
			raise ValueError("Number of processes must be at least 1")
		if initializer is not None and not callable(initializer):
			raise TypeError("initializer must be a callable")
		if max_retries < 0:
			raise ValueError("max_retries must be >= 0")
		if retry_killed_tasks:
			policy = _c.POLICY_RETRY
		else:
			policy = _c.POLICY_ABORT if abort_when_killed else _c.POLICY_SKIP
		copts = {"child_init": _child_init(initializer, tuple(initargs)),
			 "workers": processes, "policy": policy, "max_retries": max_retries,
			 "retry_fallback": _c.POLICY_ABORT if abort_when_killed else _c.POLICY_SKIP,
			 "retry_min_free": int(retry_min_free or 0)}
		opt = {"retry_mem_wait_ms": _ms(retry_wait, "retry_wait"),
		       "task_timeout_ms": _ms(task_timeout, "task_timeout") or None,
		       "restart_max": restart_max,
		       "restart_window_ms": _ms(restart_window, "restart_window"),
		       "max_msg": max_message}
		if retry_backoff is not None:
			opt["backoff_initial_ms"] = _ms(retry_backoff[0], "retry_backoff")
			opt["backoff_max_ms"] = _ms(retry_backoff[1], "retry_backoff")
		copts.update({k: v for k, v in opt.items() if v is not None})
		self._processes = processes
		self._return_exc = return_exceptions
		self._killed_series = []  # (job, KilledTask) since the last map-like call
		self._last = None  # the last map-like call's job
		self._state = "run"
		self._driver = _Driver(copts, bool(abort_when_killed))
		self._finalizer = weakref.finalize(self, self._driver.request, "terminate")

	def __repr__(self):
		return "<%s state=%s processes=%d>" % (type(self).__name__, self._state, self._processes)

	# -- submitting --

	def _start(self, job, head, argsets):
		try:
			payloads = [_worker.payload(head, a, k) for a, k in argsets]
		except Exception as e:
			job._abort(e)  # an argument that cannot be pickled fails the call
			return job
		self._driver.put(job, payloads)
		return job

	def _check_running(self):
		if self._state != "run":
			raise ValueError("Pool not running")

	def _head(self, func):
		self._check_running()
		return _worker.header(func)

	def _map_job(self, cls, func, argsets, *extra):
		try:
			head = self._head(func)
		except ValueError:
			raise
		except Exception as e:  # the callable cannot be pickled
			head, err = None, e
		self._killed_series = []
		job = cls(self, func, argsets, *extra)
		self._last = job
		if head is None:
			job._abort(err)
			return job
		return self._start(job, head, argsets)

	def apply_async(self, func, args=(), kwds={}, callback=None, error_callback=None):
		"""func(*args, **kwds) in a worker; an AsyncResult."""
		head = self._head(func)
		job = ApplyResult(self, func, [(tuple(args), dict(kwds) or None)], callback,
				  error_callback, True, False)
		return self._start(job, head, job._argsets)

	def apply(self, func, args=(), kwds={}):
		return self.apply_async(func, args, kwds).get()

	def map_async(self, func, iterable, chunksize=None, callback=None, error_callback=None):
		"""func over iterable; an AsyncResult whose get() is the list.
		chunksize is accepted for compatibility: every item is a task of
		its own, so a kill loses one item, never a chunk."""
		argsets = [((x,), None) for x in iterable]
		return self._map_job(ApplyResult, func, argsets, callback, error_callback, False,
				     self._return_exc)

	def map(self, func, iterable, chunksize=None):
		return self.map_async(func, iterable, chunksize).get()

	def starmap_async(self, func, iterable, chunksize=None, callback=None, error_callback=None):
		argsets = [(tuple(x), None) for x in iterable]
		return self._map_job(ApplyResult, func, argsets, callback, error_callback, False,
				     self._return_exc)

	def starmap(self, func, iterable, chunksize=None):
		return self.starmap_async(func, iterable, chunksize).get()

	def imap(self, func, iterable, chunksize=1):
		argsets = [((x,), None) for x in iterable]
		return self._map_job(IMapIterator, func, argsets, True, self._return_exc)

	def imap_unordered(self, func, iterable, chunksize=1):
		argsets = [((x,), None) for x in iterable]
		return self._map_job(IMapIterator, func, argsets, False, self._return_exc)

	# -- what was killed --

	def get_killed_tasks(self):
		"""[(function, args), ...] of the tasks killed since the last map-like
		call (map, map_async, starmap, imap...) began, each task once."""
		out, seen = [], set()
		for job, rec in list(self._killed_series):
			if (id(job), rec.index) not in seen:
				seen.add((id(job), rec.index))
				out.append((job._func, job._argsets[rec.index][0]))
		return out

	def killed_tasks(self):
		"""KilledTask records of the kills since the last map-like call
		began (one per kill: a task killed twice is there twice)."""
		return [rec for _, rec in list(self._killed_series)]

	def task_stats(self):
		"""TaskStat records of the last map-like call's tasks."""
		return self._last.task_stats() if self._last else []

	def worker_pids(self):
		"""PIDs of the live workers."""
		return self._driver.call(lambda c: c.worker_pids())

	# -- ending --

	def close(self):
		"""No more tasks; the workers leave once the queued ones are done."""
		if self._state == "run":
			self._state = "close"
			self._driver.request("close")

	def terminate(self):
		"""Kill the workers now; unfinished calls fail with
		PoolTerminatedError."""
		self._state = "terminate"
		self._driver.request("terminate")
		self._driver.thread.join()
		self._finalizer.detach()

	def join(self):
		"""Wait until the pool's thread and every worker are gone (after
		close() or terminate())."""
		if self._state == "run":
			raise ValueError("Pool is still running")
		self._driver.thread.join()
		self._finalizer.detach()

	def __enter__(self):
		self._check_running()
		return self

	def __exit__(self, *exc):
		self.terminate()


def _child_init(initializer, initargs):
	"""What a new worker runs after the interpreter's after-fork handlers."""
	if initializer is None:
		return None

	def init():
		initializer(*initargs)
	return init
