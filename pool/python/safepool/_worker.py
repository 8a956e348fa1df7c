"""The task wire format of the Python binding, both ends.

A payload is ``len(fn) (4 bytes, little endian) + fn + args`` where ``fn`` is
the pickled callable and ``args`` the pickled ``(args, kwds)``. The callable
is pickled once per call of map() and friends, and a worker unpickles it
only when it differs from the one of its previous task.

A reply is one tag byte and a pickle: ``R`` + the result, or ``E`` + the
exception the task raised (wrapped like multiprocessing.Pool's workers do,
so that the parent's exception carries the remote traceback as its
``__cause__``). A result that cannot be pickled becomes the task's
multiprocessing.pool.MaybeEncodingError, as in multiprocessing.
"""

import pickle
import sys
from multiprocessing.pool import ExceptionWithTraceback, MaybeEncodingError

from ._errors import TaskError

_PROTO = pickle.HIGHEST_PROTOCOL
OK = 0x52  # "R"
ERR = 0x45  # "E"

# The last callable this worker unpickled, and its pickle.
_fn_key = None
_fn = None


def header(func):
	"""The callable's part of every payload of one call (in the parent)."""
	fp = pickle.dumps(func, _PROTO)
	return len(fp).to_bytes(4, "little") + fp


def payload(head, args, kwds=None):
	"""One task's payload (in the parent)."""
	return head + pickle.dumps((args, kwds), _PROTO)


def _error_reply(exc):
	"""The reply for a task that raised exc; never raises itself."""
	if not isinstance(exc, Exception):
		# SystemExit, KeyboardInterrupt...: the task's failure, not the
		# parent's: re-raising them there would end the caller.
		exc = TaskError("task raised %s: %s" % (type(exc).__name__, exc))
	try:
		return b"E" + pickle.dumps(ExceptionWithTraceback(exc, exc.__traceback__), _PROTO)
	except Exception as e:
		text = "task raised %r, which cannot be pickled (%s: %s)" % (exc, type(e).__name__, e)
		return b"E" + pickle.dumps(TaskError(text), _PROTO)


def run(data):
	"""Run one task inside a worker: called by _safepool's task function."""
	global _fn_key, _fn
	try:
		mv = memoryview(data)
		n = int.from_bytes(mv[:4], "little")
		key = mv[4:4 + n]
		if _fn_key is None or key != _fn_key:
			_fn = pickle.loads(key)
			_fn_key = bytes(key)
		args, kwds = pickle.loads(mv[4 + n:])
		result = _fn(*args, **kwds) if kwds else _fn(*args)
	except BaseException as e:  # noqa: B902 - every task failure is reported
		return _error_reply(e)
	finally:
		# Workers leave with _exit(): flush what the task printed now.
		_flush()
	try:
		return b"R" + pickle.dumps(result, _PROTO)
	except Exception as e:
		return _error_reply(MaybeEncodingError(e, result))


def _flush():
	for f in (sys.stdout, sys.stderr):
		try:
			if f is not None:
				f.flush()
		except Exception:
			pass


def decode(data):
	"""(ok, value) from a reply (in the parent)."""
	value = pickle.loads(memoryview(data)[1:])
	return data[0] == OK, value
