"""safepool: a process pool for Python that survives killed workers.

``SafePool`` has multiprocessing.Pool's API (map, map_async, imap,
imap_unordered, starmap, apply, apply_async, close, join, terminate, use as
a context manager) and behaves like it wherever no worker dies. It runs on
libsafepool (a C process pool): a worker killed by the OOM killer or a
signal is seen the moment it dies, and the task it was running ends in a
definite outcome, chosen by the pool's policy:

- skip (default): that task's result is None, every other result is there;
- abort (``abort_when_killed=True``): the call raises
  SubProcessKilledException at once, naming the task, signal, worker PID and
  whether the OOM killer did it;
- retry (``retry_killed_tasks=True``): the task runs again, at most
  ``max_retries`` times, after an exponential backoff, optionally only once
  ``retry_min_free`` bytes are free (waiting at most ``retry_wait`` s); then
  skip (or abort, with both options set).

``get_killed_tasks()`` gives ``[(function, args), ...]``; ``killed_tasks()``
and ``task_stats()`` give records with index, attempts, signal, pid, oom,
start and end. An exception raised by a task is that task's failure: map()
re-raises the first one like multiprocessing.Pool, or, with
``return_exceptions=True``, returns it in the task's place; it never stops
the pool. ``task_timeout`` (seconds) kills a task's worker and fails the task
with TaskTimeoutError.

Workers are forked (no exec) by the pool's own thread, with CPython's
before- and after-fork hooks run around every fork, so the worker's
interpreter is sound and os.register_at_fork() handlers run. Tasks and
results are pickled; sizes up to 64 MiB by default (``max_message``).

Threads in the calling process: other Python threads keep running while the
pool waits (the GIL is released) and may use the pool. A fork copies only
the forking thread, so what other threads hold at that moment stays held in
the worker: Python-level locks (threading.Lock, a queue's mutex) and C
library locks (OpenBLAS, a database client). CPython's own locks (the GIL,
the import lock) and those of modules that register fork handlers (logging,
random) are safe. A task that needs a lock another thread may hold at fork
time can hang: set task_timeout, or create the pool before starting threads
(workers that replace killed ones are forked later, though).
"""

from ._errors import (KilledTask, PoolAbortedError, PoolTerminatedError, SafePoolError,
		      SubProcessKilledException, TaskError, TaskStat, TaskTimeoutError,
		      WorkerExitError)
from ._pool import ApplyResult, AsyncResult, IMapIterator, MapResult, SafePool
from multiprocessing import TimeoutError

# The seed's name, and a PEP 8 spelling of it.
SubProcessKilledError = SubProcessKilledException
Pool = SafePool

__all__ = ["SafePool", "Pool", "SubProcessKilledException", "SubProcessKilledError",
	   "SafePoolError", "PoolAbortedError", "PoolTerminatedError", "TaskError",
	   "TaskTimeoutError", "WorkerExitError", "KilledTask", "TaskStat", "ApplyResult",
	   "AsyncResult", "MapResult", "IMapIterator", "TimeoutError"]
