/* safepool._safepool: the thin C layer of the Python binding over libsafepool.
 *
 * One object, Pool, owns one sp_pool. It knows nothing about pickling: a
 * task is a bytes payload, and inside the worker the pool calls the Python
 * callable `runner(payload) -> bytes` given at creation (safepool/_worker.py
 * unpickles, calls and pickles there). Everything else (jobs, AsyncResult,
 * policies seen from Python) is pure Python in safepool/_pool.py.
 *
 * Threads and the GIL. libsafepool is driven by one thread at a time, so the
 * Python layer calls a Pool only from its own driver thread; a second
 * concurrent call raises RuntimeError instead of corrupting the pool. Every
 * call that can block (create, submit, wait, destroy) releases the GIL. The
 * pool forks inside those calls, so the fork hooks take the GIL back
 * (PyGILState_Ensure) and run PyOS_BeforeFork() before the fork and
 * PyOS_AfterFork_Parent() after it; the child, which was forked while its
 * thread held the GIL, runs PyOS_AfterFork_Child() first thing in
 * worker_init. A worker keeps the GIL for its whole life: it has one thread.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "safepool.h"

/* Results drained per wait() call at most: bounds the C array and how long
 * the GIL-free stretch runs before Python sees a batch. */
#define WAIT_BATCH 4096

typedef struct {
	PyObject ob_base; /* PyObject_HEAD, spelled out for clang-format */
	sp_pool *pool;
	PyObject *runner;     /* runner(payload: bytes) -> bytes, in the worker */
	PyObject *child_init; /* child_init() in every new worker, or None */
	PyGILState_STATE gil; /* held between fork_prepare and fork_parent */
	int busy;	      /* a call is inside libsafepool (GIL released) */
	size_t outstanding;   /* submitted, not yet returned by wait() */
	size_t killed_seen;   /* entries of sp_killed_tasks() already returned */
} PoolObject;

/* ---- inside the worker ---- */

static void fork_prepare(void *ud)
{
	PoolObject *self = ud;

	self->gil = PyGILState_Ensure();
	PyOS_BeforeFork();
}

static void fork_parent(void *ud)
{
	PoolObject *self = ud;

	PyOS_AfterFork_Parent();
	PyGILState_Release(self->gil);
}

/* First code of a new worker after the library's own set-up: make the
 * interpreter sound again, then the caller's initializer. Non-zero makes
 * the worker exit with 126 (libsafepool counts it as a failed start). */
static int worker_init(void *ud)
{
	PoolObject *self = ud;
	PyObject *r;

	PyOS_AfterFork_Child();
	if (self->child_init == Py_None)
		return 0;
	r = PyObject_CallNoArgs(self->child_init);
	if (!r) {
		PyErr_Print();
		return 1;
	}
	Py_DECREF(r);
	return 0;
}

/* The task function: payload in, the runner's bytes out. The runner turns
 * every task exception into a result of its own; reaching the error path
 * here means the runner itself failed (out of memory, a bug), which is the
 * task's failure with code 1. */
static int run_task(const struct sp_task_ctx *ctx, const void *arg, size_t len, void **result,
		    size_t *result_len)
{
	PoolObject *self = ctx->userdata;
	PyObject *payload, *out = NULL;
	char *buf;
	Py_ssize_t n;
	int rc = 1;

	payload = PyBytes_FromStringAndSize(arg, (Py_ssize_t)len);
	if (!payload)
		goto out;
	out = PyObject_CallOneArg(self->runner, payload);
	Py_DECREF(payload);
	if (!out || PyBytes_AsStringAndSize(out, &buf, &n) < 0)
		goto out;
	*result = malloc(n ? (size_t)n : 1);
	if (!*result)
		goto out;
	memcpy(*result, buf, (size_t)n);
	*result_len = (size_t)n;
	rc = 0;
out:
	if (rc)
		PyErr_Print();
	Py_XDECREF(out);
	return rc;
}

/* ---- helpers ---- */

/* An int argument (PyLong_AsInt is 3.13 and later). */
static int as_int(PyObject *o, int *out)
{
	long v = PyLong_AsLong(o);

	if (v == -1 && PyErr_Occurred())
		return -1;
	if (v < INT_MIN || v > INT_MAX) {
		PyErr_SetString(PyExc_OverflowError, "value out of int range");
		return -1;
	}
	*out = (int)v;
	return 0;
}

/* Raise OSError for a libsafepool return value. */
static PyObject *sp_error(int err)
{
	PyObject *args = Py_BuildValue("(is)", err < -4095 ? 0 : -err, sp_strerror(err));

	if (args) {
		PyErr_SetObject(PyExc_OSError, args);
		Py_DECREF(args);
	}
	return NULL;
}

/* Mark the pool busy for a GIL-free call; one thread at a time. */
static int enter(PoolObject *self)
{
	if (!self->pool) {
		PyErr_SetString(PyExc_ValueError, "pool is closed");
		return -1;
	}
	if (self->busy) {
		PyErr_SetString(PyExc_RuntimeError, "pool used from two threads at once");
		return -1;
	}
	self->busy = 1;
	return 0;
}

/* (outcome, data, signal, oom, exit_code, code, attempts, pid, start_ns,
 * end_ns); takes over res->data. */
static PyObject *result_tuple(struct sp_result *res)
{
	PyObject *data;

	if (res->data)
		data = PyBytes_FromStringAndSize(res->data, (Py_ssize_t)res->len);
	else
		data =
		    res->outcome == SP_OK ? PyBytes_FromStringAndSize("", 0) : Py_NewRef(Py_None);
	free(res->data);
	res->data = NULL;
	if (!data)
		return NULL;
	return Py_BuildValue("(iNiiiiIiLL)", (int)res->outcome, data, res->signal, (int)res->oom,
			     res->exit_code, res->code, res->attempts, (int)res->pid,
			     (long long)res->start_ns, (long long)res->end_ns);
}

static PyObject *killed_tuple(const struct sp_killed *k)
{
	return Py_BuildValue("(nIiiiLL)", (Py_ssize_t)k->index, k->attempts, k->signal, (int)k->pid,
			     (int)k->oom, (long long)k->start_ns, (long long)k->end_ns);
}

/* ---- the Pool type ---- */

static void Pool_dealloc(PoolObject *self)
{
	/* The pool's thread destroys it; this is the last resort when the
	 * object goes away without that (the workers see EOF and leave). */
	if (self->pool && !self->busy) {
		PyThreadState *save = PyEval_SaveThread();
		sp_pool_destroy(self->pool);
		PyEval_RestoreThread(save);
	}
	self->pool = NULL;
	Py_XDECREF(self->runner);
	Py_XDECREF(self->child_init);
	Py_TYPE(self)->tp_free((PyObject *)self);
}

static int Pool_init(PoolObject *self, PyObject *args, PyObject *kw)
{
	static char *names[] = {"runner",
				"child_init",
				"workers",
				"policy",
				"max_retries",
				"backoff_initial_ms",
				"backoff_max_ms",
				"retry_min_free",
				"retry_mem_wait_ms",
				"retry_fallback",
				"task_timeout_ms",
				"restart_max",
				"restart_window_ms",
				"max_msg",
				NULL};
	struct sp_options o;
	PyObject *runner, *child_init;
	unsigned long long min_free = 0, max_msg = 0;
	int policy = SP_POLICY_SKIP, fallback = SP_POLICY_SKIP, r;

	if (self->pool) {
		PyErr_SetString(PyExc_RuntimeError, "Pool.__init__ called twice");
		return -1;
	}
	sp_options_init(&o);
	if (!PyArg_ParseTupleAndKeywords(args, kw, "OO|IiIIIKIiIIIK", names, &runner, &child_init,
					 &o.workers, &policy, &o.max_retries, &o.backoff_initial_ms,
					 &o.backoff_max_ms, &min_free, &o.retry_mem_wait_ms,
					 &fallback, &o.task_timeout_ms, &o.restart_max,
					 &o.restart_window_ms, &max_msg))
		return -1;
	if (!PyCallable_Check(runner) || (child_init != Py_None && !PyCallable_Check(child_init))) {
		PyErr_SetString(PyExc_TypeError, "runner and child_init must be callable");
		return -1;
	}
	o.policy = (enum sp_policy)policy;
	o.retry_fallback = (enum sp_policy)fallback;
	o.retry_min_free = min_free;
	if (max_msg)
		o.max_msg = (size_t)max_msg;
	o.worker_init = worker_init;
	o.fork_prepare = fork_prepare;
	o.fork_parent = fork_parent;
	o.userdata = self;
	self->runner = Py_NewRef(runner);
	self->child_init = Py_NewRef(child_init);
	self->busy = 1;
	PyThreadState *save = PyEval_SaveThread();
	r = sp_pool_create(&self->pool, &o);
	PyEval_RestoreThread(save);
	self->busy = 0;
	if (r < 0) {
		self->pool = NULL;
		sp_error(r);
		return -1;
	}
	return 0;
}

/* submit(payloads) -> list: per payload its task id (> 0) or a negative
 * libsafepool error. After an error that is not about that one payload
 * (-EMSGSIZE) nothing more is queued: the rest get the same error, so a
 * pool whose workers cannot start does not retry the start per task. */
static PyObject *Pool_submit(PoolObject *self, PyObject *seq_in)
{
	PyObject *seq, *out = NULL;
	Py_ssize_t n;
	const char **bufs = NULL;
	Py_ssize_t *lens = NULL;
	long long *ids = NULL;

	seq = PySequence_Fast(seq_in, "submit() takes a sequence of bytes");
	if (!seq)
		return NULL;
	n = PySequence_Fast_GET_SIZE(seq);
	bufs = PyMem_Calloc((size_t)n + 1, sizeof(*bufs));
	lens = PyMem_Calloc((size_t)n + 1, sizeof(*lens));
	ids = PyMem_Calloc((size_t)n + 1, sizeof(*ids));
	if (!bufs || !lens || !ids) {
		PyErr_NoMemory();
		goto out;
	}
	for (Py_ssize_t i = 0; i < n; i++) {
		PyObject *b = PySequence_Fast_GET_ITEM(seq, i);

		if (PyBytes_AsStringAndSize(b, (char **)&bufs[i], &lens[i]) < 0)
			goto out;
	}
	if (enter(self) < 0)
		goto out;
	if (self->outstanding == 0)
		self->killed_seen = 0; /* a new series: libsafepool resets its list */
	PyThreadState *save = PyEval_SaveThread();
	int stop = 0;

	for (Py_ssize_t i = 0; i < n; i++) {
		uint64_t id = 0;
		int r =
		    stop ? stop : sp_submit(self->pool, run_task, bufs[i], (size_t)lens[i], &id);

		if (r == 0) {
			ids[i] = (long long)id;
			self->outstanding++;
		} else {
			ids[i] = r;
			if (r != -EMSGSIZE)
				stop = r;
		}
	}
	PyEval_RestoreThread(save);
	self->busy = 0;
	out = PyList_New(n);
	for (Py_ssize_t i = 0; out && i < n; i++) {
		PyObject *v = PyLong_FromLongLong(ids[i]);

		if (!v)
			Py_CLEAR(out);
		else
			PyList_SET_ITEM(out, i, v);
	}
out:
	PyMem_Free(bufs);
	PyMem_Free(lens);
	PyMem_Free(ids);
	Py_DECREF(seq);
	return out;
}

/* Build wait()'s answer: (rc, [(id, result), ...], [new kill, ...]). */
static PyObject *wait_answer(PoolObject *self, int rc, struct sp_result *res, uint64_t *ids,
			     size_t got)
{
	const struct sp_killed *list = NULL;
	size_t nk = 0;
	PyObject *done = PyList_New((Py_ssize_t)got), *killed = PyList_New(0);

	for (size_t i = 0; i < got; i++) {
		PyObject *t = done ? result_tuple(&res[i]) : NULL;
		PyObject *pair = t ? Py_BuildValue("(KN)", (unsigned long long)ids[i], t) : NULL;

		if (!pair) {
			Py_CLEAR(done);
			continue;
		}
		PyList_SET_ITEM(done, (Py_ssize_t)i, pair);
	}
	if (sp_killed_tasks(self->pool, &list, &nk) == 0) {
		for (size_t i = self->killed_seen; killed && i < nk; i++) {
			PyObject *k = killed_tuple(&list[i]);

			if (!k || PyList_Append(killed, k) < 0)
				Py_CLEAR(killed);
			Py_XDECREF(k);
		}
		self->killed_seen = nk;
	}
	if (!done || !killed) {
		Py_XDECREF(done);
		Py_XDECREF(killed);
		return NULL;
	}
	return Py_BuildValue("(iNN)", rc, done, killed);
}

/* wait(timeout_ms) -> (rc, done, killed): waits up to timeout_ms (-1: no
 * limit) for one finished task, then takes every other finished one
 * without blocking. rc is 0, -ETIMEDOUT, -ENOENT (nothing outstanding),
 * SP_ERESTARTS or SP_ESTART (the series ended that way; its tasks come
 * back cancelled) or another negative error (the pool is broken). */
static PyObject *Pool_wait(PoolObject *self, PyObject *arg)
{
	int timeout_ms, rc = 0;
	struct sp_result *res;
	uint64_t *ids;
	size_t got = 0;
	PyObject *out;

	if (as_int(arg, &timeout_ms) < 0 || enter(self) < 0)
		return NULL;
	res = PyMem_Calloc(WAIT_BATCH, sizeof(*res));
	ids = PyMem_Calloc(WAIT_BATCH, sizeof(*ids));
	if (!res || !ids) {
		self->busy = 0;
		PyMem_Free(res);
		PyMem_Free(ids);
		return PyErr_NoMemory();
	}
	PyThreadState *save = PyEval_SaveThread();
	while (got < WAIT_BATCH) {
		int r = sp_wait(self->pool, 0, got ? 0 : timeout_ms, &res[got], &ids[got]);

		if (r == 0) {
			got++;
			self->outstanding--;
			continue;
		}
		if ((r == SP_ERESTARTS || r == SP_ESTART) && !rc) {
			rc = r; /* the cancelled tasks follow: keep draining */
			continue;
		}
		if (!got || (r != -ETIMEDOUT && r != -ENOENT))
			rc = rc ? rc : r;
		break;
	}
	PyEval_RestoreThread(save);
	self->busy = 0;
	out = wait_answer(self, rc, res, ids, got);
	sp_results_free(res, got);
	PyMem_Free(res);
	PyMem_Free(ids);
	return out;
}

/* abort_cause() -> the kill that ended the series, or None. */
static PyObject *Pool_abort_cause(PoolObject *self, PyObject *unused)
{
	struct sp_killed k;

	(void)unused;
	if (self->busy) {
		PyErr_SetString(PyExc_RuntimeError, "pool used from two threads at once");
		return NULL;
	}
	if (!self->pool || sp_abort_cause(self->pool, &k) < 0)
		Py_RETURN_NONE;
	return killed_tuple(&k);
}

/* worker_pids() -> list of the live workers' PIDs. */
static PyObject *Pool_worker_pids(PoolObject *self, PyObject *unused)
{
	pid_t pids[4096];
	size_t n = 0;
	PyObject *out;

	(void)unused;
	if (self->busy) {
		PyErr_SetString(PyExc_RuntimeError, "pool used from two threads at once");
		return NULL;
	}
	if (!self->pool || sp_worker_pids(self->pool, pids, 4096, &n) < 0)
		return PyList_New(0);
	out = PyList_New((Py_ssize_t)n);
	for (size_t i = 0; out && i < n; i++) {
		PyObject *v = PyLong_FromLong(pids[i]);

		if (!v)
			Py_CLEAR(out);
		else
			PyList_SET_ITEM(out, (Py_ssize_t)i, v);
	}
	return out;
}

/* destroy(kill=False): stop the workers and free the pool. With kill, the
 * live workers are SIGKILLed first (terminate()): they are our unreaped
 * children, so their PIDs cannot name anyone else yet. */
static PyObject *Pool_destroy(PoolObject *self, PyObject *args)
{
	int kill_first = 0;
	sp_pool *pool;

	if (!PyArg_ParseTuple(args, "|p", &kill_first))
		return NULL;
	if (!self->pool)
		Py_RETURN_NONE;
	if (enter(self) < 0)
		return NULL;
	pool = self->pool;
	PyThreadState *save = PyEval_SaveThread();
	if (kill_first) {
		pid_t pids[4096];
		size_t n = 0;

		if (sp_worker_pids(pool, pids, 4096, &n) == 0)
			for (size_t i = 0; i < n; i++)
				kill(pids[i], SIGKILL);
	}
	sp_pool_destroy(pool);
	PyEval_RestoreThread(save);
	self->pool = NULL;
	self->busy = 0;
	self->outstanding = 0;
	Py_RETURN_NONE;
}

static PyMethodDef Pool_methods[] = {
    {"submit", (PyCFunction)Pool_submit, METH_O, "submit(payloads) -> [id or -errno, ...]"},
    {"wait", (PyCFunction)Pool_wait, METH_O, "wait(timeout_ms) -> (rc, done, killed)"},
    {"abort_cause", (PyCFunction)Pool_abort_cause, METH_NOARGS, "the kill that aborted"},
    {"worker_pids", (PyCFunction)Pool_worker_pids, METH_NOARGS, "PIDs of live workers"},
    {"destroy", (PyCFunction)Pool_destroy, METH_VARARGS, "destroy(kill=False)"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject PoolType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "safepool._safepool.Pool",
    .tp_basicsize = sizeof(PoolObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "One libsafepool pool; driven from one thread (see safepool._pool).",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Pool_init,
    .tp_dealloc = (destructor)Pool_dealloc,
    .tp_methods = Pool_methods,
};

/* strerror(err) -> libsafepool's text for a return value. */
static PyObject *mod_strerror(PyObject *mod, PyObject *arg)
{
	int err;

	(void)mod;
	if (as_int(arg, &err) < 0)
		return NULL;
	return PyUnicode_FromString(sp_strerror(err));
}

static PyMethodDef mod_methods[] = {
    {"strerror", mod_strerror, METH_O, "libsafepool's text for a return value"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef moddef = {
    PyModuleDef_HEAD_INIT,
    "safepool._safepool",
    "C layer of safepool over libsafepool.",
    -1,
    mod_methods,
    NULL,
    NULL,
    NULL,
    NULL,
};

PyMODINIT_FUNC PyInit__safepool(void)
{
	PyObject *m;

	if (PyType_Ready(&PoolType) < 0)
		return NULL;
	m = PyModule_Create(&moddef);
	if (!m)
		return NULL;
	if (PyModule_AddObjectRef(m, "Pool", (PyObject *)&PoolType) < 0 ||
	    PyModule_AddIntConstant(m, "OK", SP_OK) < 0 ||
	    PyModule_AddIntConstant(m, "KILLED", SP_KILLED) < 0 ||
	    PyModule_AddIntConstant(m, "FAILED", SP_FAILED) < 0 ||
	    PyModule_AddIntConstant(m, "TIMEDOUT", SP_TIMEDOUT) < 0 ||
	    PyModule_AddIntConstant(m, "CANCELLED", SP_CANCELLED) < 0 ||
	    PyModule_AddIntConstant(m, "OOM_UNKNOWN", SP_OOM_UNKNOWN) < 0 ||
	    PyModule_AddIntConstant(m, "OOM_NO", SP_OOM_NO) < 0 ||
	    PyModule_AddIntConstant(m, "OOM_YES", SP_OOM_YES) < 0 ||
	    PyModule_AddIntConstant(m, "POLICY_SKIP", SP_POLICY_SKIP) < 0 ||
	    PyModule_AddIntConstant(m, "POLICY_ABORT", SP_POLICY_ABORT) < 0 ||
	    PyModule_AddIntConstant(m, "POLICY_RETRY", SP_POLICY_RETRY) < 0 ||
	    PyModule_AddIntConstant(m, "EABORTED", SP_EABORTED) < 0 ||
	    PyModule_AddIntConstant(m, "ERESTARTS", SP_ERESTARTS) < 0 ||
	    PyModule_AddIntConstant(m, "ESTART", SP_ESTART) < 0 ||
	    PyModule_AddIntConstant(m, "ETIMEDOUT", -ETIMEDOUT) < 0 ||
	    PyModule_AddIntConstant(m, "ENOENT", -ENOENT) < 0 ||
	    PyModule_AddIntConstant(m, "EMSGSIZE", -EMSGSIZE) < 0) {
		Py_DECREF(m);
		return NULL;
	}
	return m;
}
