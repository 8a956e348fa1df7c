"""The task kit, Python side: what a Python pool under test runs per task.

``run(id)`` behaves exactly like the C kit's ``chaos_task_run()`` (see
docs/protocol.md sections 1 and 2): it reads the task spec named by
CHAOS_TASKS, reports ``start <id>`` on the socket named by CHAOS_EVENTS,
waits at most 30 s for ``go <attempt>`` (CHAOS_GO_TIMEOUT_MS overrides this
for tests) and then sleeps, allocates and touches memory, and returns the
result, raises TaskError, exits, hangs or kills itself as the spec says.
Without CHAOS_EVENTS it runs silently as attempt 1; without CHAOS_TASKS every
task returns id*id at once.

Standard library only, so that it imports in any worker. The parsed spec is
cached per process: a forked worker inherits it, a spawned worker parses the
file again on its first task.
"""

import os
import signal
import socket
import time

__all__ = ["run", "run_tagged", "TaskError", "SpecError", "parse_spec", "EXIT_NO_GO"]

EXIT_NO_GO = 70
LINE_MAX = 256
_GO_TIMEOUT_MS = 30000
_SPEC_LINE_MAX = 1024
_SPEC_TASKS_MAX = 1000000
_ACTIONS = ("ok", "exit", "fail", "hang", "selfkill", "segv")
# Newest task spec version this kit reads; 2 added hold=1 (docs/protocol.md).
SPEC_VERSION = 2


class TaskError(Exception):
    """Raised by run() for action=fail. Picklable, so a pool can carry it
    back from a worker; task_id names the task for pools that do not."""

    def __init__(self, task_id, text):
        super().__init__(task_id, text)
        self.task_id = task_id
        self.text = text

    def __str__(self):
        return self.text


class SpecError(Exception):
    """The task spec file is malformed; the message names file and line."""


def _default(task_id):
    return {"sleep": 0, "alloc": 0, "action": "ok", "code": 0, "times": 1,
            "result": task_id * task_id, "hold": 0}


def _uint(val, maximum):
    if not val.isdigit() or not val.isascii():
        raise ValueError(val)
    v = int(val)
    if v > maximum:
        raise ValueError(val)
    return v


def _parse_task_line(line, expect_id, version=1):
    toks = line.split()
    if not toks or not toks[0].isdigit():
        raise ValueError("expected a task id at the start of the line")
    if int(toks[0]) != expect_id:
        raise ValueError("task id %s out of order (expected %d)" % (toks[0], expect_id))
    d = _default(expect_id)
    for tok in toks[1:]:
        key, eq, val = tok.partition("=")
        if not eq or not key:
            raise ValueError("expected key=value, got '%s'" % tok[:64])
        try:
            if key == "sleep":
                d["sleep"] = _uint(val, 2**32 - 1)
            elif key == "alloc":
                d["alloc"] = _uint(val, 2**64 - 1)
            elif key == "action":
                if val not in _ACTIONS:
                    raise ValueError(val)
                d["action"] = val
            elif key == "code":
                d["code"] = _uint(val, 255)
            elif key == "times":
                d["times"] = _uint(val, 2**32 - 1)
            elif key == "result":
                v = int(val, 10)
                if not -2**63 <= v < 2**63 or val.strip() != val or "_" in val:
                    raise ValueError(val)
                d["result"] = v
            elif key == "hold" and version >= 2:
                d["hold"] = _uint(val, 1)
            else:
                raise KeyError(key)
        except KeyError:
            raise ValueError("unknown key '%s' (expected sleep, alloc, action, code, "
                             "times, result%s)" % (key[:32], ", hold" if version >= 2 else "")) \
                from None
        except ValueError:
            raise ValueError("bad value '%s' for %s" % (val[:64], key)) from None
    return d


def parse_spec(path):
    """Parse a task spec file into a list of dicts; raise SpecError with
    'path:line: why' for a malformed file, OSError when it cannot be read."""
    defs = []
    ntasks = None
    version = 1
    lineno = 0
    with open(path, "r", encoding="ascii", errors="replace") as f:
        for raw in f:
            lineno += 1
            if len(raw) > _SPEC_LINE_MAX:
                raise SpecError("%s:%d: line longer than %d bytes" % (path, lineno, _SPEC_LINE_MAX))
            line = raw.rstrip("\n")
            if lineno == 1:
                parts = line.split()
                if len(parts) != 3 or parts[0] != "chaos-tasks" or not parts[1].isdigit() \
                        or not parts[2].isdigit():
                    raise SpecError("%s:1: expected header 'chaos-tasks 1 <ntasks>'" % path)
                version = int(parts[1])
                if not 1 <= version <= SPEC_VERSION:
                    raise SpecError("%s:1: task spec version %s is not supported (expected 1 to %d)"
                                    % (path, parts[1], SPEC_VERSION))
                ntasks = int(parts[2])
                if ntasks > _SPEC_TASKS_MAX:
                    raise SpecError("%s:1: %d tasks is more than the limit %d"
                                    % (path, ntasks, _SPEC_TASKS_MAX))
                continue
            if len(defs) >= ntasks:
                raise SpecError("%s:%d: more task lines than the header's %d"
                                % (path, lineno, ntasks))
            try:
                defs.append(_parse_task_line(line, len(defs), version))
            except ValueError as e:
                raise SpecError("%s:%d: %s" % (path, lineno, e)) from None
    if ntasks is None:
        raise SpecError("%s:0: empty file (expected header 'chaos-tasks 1 <ntasks>')" % path)
    if len(defs) != ntasks:
        raise SpecError("%s:%d: %d task lines, header says %d"
                        % (path, lineno, len(defs), ntasks))
    return defs


# Cache: (path it was read from, list of defs or None). Keyed by the path so
# that a test changing CHAOS_TASKS gets the new file.
_cache = {"path": None, "defs": None}


def _spec_for(task_id):
    path = os.environ.get("CHAOS_TASKS")
    if not path:
        return _default(task_id)
    if _cache["path"] != path:
        _cache["defs"] = parse_spec(path)
        _cache["path"] = path
    defs = _cache["defs"]
    if task_id >= len(defs):
        raise SpecError("%s: task %d is not in the spec (%d tasks)" % (path, task_id, len(defs)))
    return defs[task_id]


def _exit_now(code):
    # Flush what the worker printed: os._exit skips every Python cleanup.
    try:
        import sys
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:
        pass
    os._exit(code)


def _go_timeout_s():
    v = os.environ.get("CHAOS_GO_TIMEOUT_MS", "")
    if v.isdigit():
        return int(v) / 1000.0
    return _GO_TIMEOUT_MS / 1000.0


def _wait_go(sock, word=b"go"):
    """Return the attempt from '<word> <attempt>' (word: go or ack), or None
    on timeout or a malformed line, 0 on EOF. Every recv is bounded by what
    is left of the deadline."""
    deadline = time.monotonic() + _go_timeout_s()
    buf = b""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        sock.settimeout(left)
        try:
            chunk = sock.recv(LINE_MAX + 1 - len(buf))
        except socket.timeout:
            return None
        except InterruptedError:
            continue
        except OSError:
            return 0
        if not chunk:
            return 0
        buf += chunk
        if b"\n" in buf:
            line = buf.split(b"\n", 1)[0]
            n = len(word) + 1
            if line.startswith(word + b" ") and line[n:].isdigit() and int(line[n:]) >= 1:
                return int(line[n:])
            return None
        if len(buf) >= LINE_MAX:
            return None


def _touch(nbytes):
    """Allocate nbytes and write one byte per page: the kernel charges only
    touched pages, and bytearray's zeroed pages are not touched yet."""
    if nbytes <= 0:
        return None
    buf = bytearray(nbytes)
    page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
    count = len(range(0, nbytes, page))
    buf[::page] = b"\x01" * count
    buf[-1] = 1
    return buf


def _misbehave(d):
    action = d["action"]
    if action == "exit":
        _exit_now(d["code"])
    elif action == "hang":
        # Each sleep is bounded; the loop keeps the task hung until killed.
        while True:
            time.sleep(60)
    elif action == "selfkill":
        os.kill(os.getpid(), signal.SIGKILL)
    elif action == "segv":
        # Python or the pool may have a handler or a mask for SIGSEGV; the
        # task must die by the signal all the same.
        signal.signal(signal.SIGSEGV, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGSEGV])
        signal.raise_signal(signal.SIGSEGV)
    _exit_now(71)


def _send_end(sock, task_id, d, attempt):
    """Report the end; for a held task (hold=1) wait for 'ack <attempt>'
    before the result goes back to the pool, so that a kill-on-end fault
    hits the worker in between. EOF means the controller is gone: the
    result stands. No answer in time is a controller bug: exit 70."""
    try:
        sock.sendall(b"end %d %d\n" % (task_id, d["result"]))
    except OSError as e:
        # The result is real even if the controller missed it.
        os.write(2, b"chaos_task: task %d: send end: %s\n" % (task_id, str(e).encode()))
        return
    if not d["hold"]:
        return
    ack = _wait_go(sock, b"ack")
    if ack == 0:
        return
    if ack != attempt:
        os.write(2, b"chaos_task: task %d: no 'ack %d' for end\n" % (task_id, attempt))
        _exit_now(EXIT_NO_GO)


def run(task_id):
    """Run task task_id as the spec says and return its result (an int).
    Raises TaskError for action=fail, SpecError for a bad spec, OSError when
    the event socket cannot be used. Does not return for action=exit, hang,
    selfkill and segv, nor when 'go' does not arrive in time (exit 70)."""
    task_id = int(task_id)
    d = _spec_for(task_id)
    events = os.environ.get("CHAOS_EVENTS")
    sock = None
    mem = None
    try:
        attempt = 1
        if events:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)  # CLOEXEC by default
            sock.connect(events)
            sock.sendall(b"start %d\n" % task_id)
            attempt = _wait_go(sock)
            if not attempt:
                os.write(2, b"chaos_task: task %d: no 'go' from %s\n"
                         % (task_id, events.encode()))
                _exit_now(EXIT_NO_GO)
            sock.settimeout(None)
        bad = d["times"] == 0 or attempt <= d["times"]
        if d["sleep"]:
            time.sleep(d["sleep"] / 1000.0)
        if bad:
            mem = _touch(d["alloc"])
        if bad and d["action"] == "fail":
            text = "task %d failed on purpose (attempt %d)" % (task_id, attempt)
            if sock is not None:
                try:
                    sock.sendall(b"fail %d %s\n" % (task_id, text.encode()))
                except OSError:
                    pass
            raise TaskError(task_id, text)
        if bad and d["action"] != "ok":
            _misbehave(d)
        if sock is not None:
            _send_end(sock, task_id, d, attempt)
        return d["result"]
    finally:
        del mem
        if sock is not None:
            sock.close()


def run_tagged(task_id):
    """run(), returning (task_id, result): for pools such as imap_unordered
    that do not say which task a result belongs to."""
    return (int(task_id), run(task_id))
