"""Shared plumbing for the Python target adapters: the contract's
environment (docs/protocol.md, README adapter contract) and its outcome
lines. Standard library only."""

import os
import sys

POLICIES = ("skip", "abort", "retry")


class Config:
    """The adapter contract's environment, validated once."""

    def __init__(self):
        self.workers = _env_int("CHAOS_WORKERS", 2, 1)
        self.ntasks = _env_int("CHAOS_NTASKS", 10, 0)
        self.policy = os.environ.get("CHAOS_POLICY", "skip") or "skip"
        if self.policy not in POLICIES:
            die("CHAOS_POLICY=%s is not one of %s" % (self.policy, ", ".join(POLICIES)))
        self.retries = _env_int("CHAOS_RETRIES", 0, 0)
        ms = os.environ.get("CHAOS_TASK_TIMEOUT_MS", "")
        self.timeout_s = int(ms) / 1000.0 if ms.isdigit() and int(ms) > 0 else None


def _env_int(name, default, minimum):
    val = os.environ.get(name, "")
    if val == "":
        return default
    if not val.isdigit() or int(val) < minimum:
        die("%s=%s is not an integer >= %d" % (name, val, minimum))
    return int(val)


def one_line(text):
    """Outcome lines are single lines: fold newlines and cap the length."""
    return " ".join(str(text).split())[:200] or "(no text)"


def emit(*parts):
    """Print one outcome line and flush it, so the controller sees each
    outcome the moment it happens, even if the adapter hangs afterwards."""
    sys.stdout.write(" ".join(str(p) for p in parts) + "\n")
    sys.stdout.flush()


def result(task_id, value):
    emit("result", task_id, value)


def lost(task_id):
    emit("lost", task_id)


def error(task_id, exc):
    emit("error", task_id, one_line("%s: %s" % (type(exc).__name__, exc)))


def aborted(text):
    emit("aborted", one_line(text))


def unsupported(text):
    emit("unsupported", one_line(text))
    emit("done")


def done():
    emit("done")


def diag(text):
    sys.stderr.write("%s: %s\n" % (os.path.basename(sys.argv[0]), text))
    sys.stderr.flush()


def die(text):
    diag(text)
    sys.exit(2)


def futures_map(submit, ntasks, policy, shutdown, as_completed=None):
    """Map ids through a concurrent.futures-style executor.

    skip: every future is reported in id order (result or error).
    abort: outcomes are reported as they complete; the first exception
    prints `aborted` and shutdown(True) cancels what has not started.
    Returns nothing; the caller prints `done`. `retry` is not handled here:
    these executors have no retry. as_completed: the pool's own, for
    futures that are not concurrent.futures.Future (dask's)."""
    import concurrent.futures as cf

    as_completed = as_completed or cf.as_completed

    futs = [submit(i) for i in range(ntasks)]
    if policy == "skip":
        for i, f in enumerate(futs):
            try:
                v = f.result()
            except Exception as e:  # the pool's own exception types vary
                error(i, e)
            else:
                result(i, v)
        shutdown(False)
        return
    ids = {f: i for i, f in enumerate(futs)}
    for f in as_completed(futs):
        i = ids[f]
        try:
            v = f.result()
        except Exception as e:
            aborted("task %d: %s: %s" % (i, type(e).__name__, e))
            # Cancel here too: not every executor's shutdown() can.
            for other in futs:
                other.cancel()
            shutdown(True)
            return
        result(i, v)
    shutdown(False)


def map_all_or_nothing(call, what):
    """Report a pool's map() that returns every result or raises: the
    results in id order, or `aborted` with the exception (no partial
    results exist). Returns nothing; the caller prints `done`."""
    try:
        values = call()
    except Exception as e:  # the pool's own exception types vary
        aborted("%s raised %s: %s (no partial results)" % (what, type(e).__name__, e))
    else:
        for i, v in enumerate(values):
            result(i, v)
