/* libsafepool tests for the paths the main pool tests leave out: the
 * submit/wait API in detail, map deadlines, per-map policies, the retry
 * memory check (machine-wide and in a memory-limited cgroup), message size
 * limits, batching and pipelining with kills, worker_init, option checks
 * and the name functions. Kills are real (a task raising SIGKILL on itself,
 * or pidfd_send_signal() to a worker), every wait has a deadline, and every
 * test checks that no child process is left. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "safepool.h"
#include "util/testutil.h"
#include "../pool/src/internal.h"

/* Every wait in this file is bounded by this, so a regression shows up as
 * a failed assertion instead of a hang. */
#define WAIT_MS 10000

enum { OP_SQUARE, OP_KILL_FIRST, OP_KILL_ALWAYS, OP_SLEEP, OP_BIG, OP_INIT_FLAG, OP_FAIL };

struct targ {
	int op;
	int val;
};

/* Shared with every worker (MAP_SHARED survives fork): counters the tasks
 * and worker_init bump so the test can see what happened inside workers. */
struct shared {
	int started;    /* OP_SLEEP tasks that began running */
	int init_calls; /* worker_init calls */
	int init_fails; /* how many of the first calls fail */
};
static struct shared *sh;

/* Set by worker_init in the worker only; the test process keeps 0. */
static int init_flag;

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int task(const struct sp_task_ctx *ctx, const void *arg, size_t len, void **res,
		size_t *rlen)
{
	struct targ a;

	if (len != sizeof(a))
		return 99;
	memcpy(&a, arg, sizeof(a));
	switch (a.op) {
	case OP_SQUARE: {
		int *v = malloc(sizeof(*v));

		if (!v)
			return -ENOMEM;
		*v = a.val * a.val;
		*res = v;
		*rlen = sizeof(*v);
		return 0;
	}
	case OP_KILL_FIRST:
		if (ctx->attempt == 1)
			raise(SIGKILL);
		return 0;
	case OP_KILL_ALWAYS:
		raise(SIGKILL);
		return 0;
	case OP_SLEEP:
		__atomic_fetch_add(&sh->started, 1, __ATOMIC_SEQ_CST);
		sleep_ms((unsigned)a.val);
		return 0;
	case OP_BIG: {
		unsigned char *b = malloc((size_t)a.val);

		if (!b)
			return -ENOMEM;
		for (int i = 0; i < a.val; i++)
			b[i] = (unsigned char)(i * 7 + 3);
		*res = b;
		*rlen = (size_t)a.val;
		return 0;
	}
	case OP_INIT_FLAG: {
		int *v = malloc(sizeof(*v));

		if (!v)
			return -ENOMEM;
		*v = init_flag;
		*res = v;
		*rlen = sizeof(*v);
		return 0;
	}
	case OP_FAIL:
		return a.val;
	}
	return 98;
}

static int init_ok(void *ud)
{
	(void)ud;
	init_flag = 42;
	return 0;
}

/* Fails for the first sh->init_fails calls across all workers. */
static int init_flaky(void *ud)
{
	(void)ud;
	if (__atomic_fetch_add(&sh->init_calls, 1, __ATOMIC_SEQ_CST) < sh->init_fails)
		return 1;
	init_flag = 7;
	return 0;
}

/* The test process must have no child at all: ECHILD from waitid(). */
static void assert_no_children(void)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	assert_int_equal(waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT), -1);
	assert_int_equal(errno, ECHILD);
}

static uint64_t submit(sp_pool *p, int op, int val)
{
	struct targ a = {op, val};
	uint64_t id = 0;

	assert_int_equal(sp_submit(p, task, &a, sizeof(a), &id), 0);
	assert_true(id > 0);
	return id;
}

/* Wait until n OP_SLEEP tasks have started (bounded). */
static void wait_started(int n)
{
	for (int i = 0; i < WAIT_MS / 5 && __atomic_load_n(&sh->started, __ATOMIC_SEQ_CST) < n;
	     i++)
		sleep_ms(5);
	assert_true(__atomic_load_n(&sh->started, __ATOMIC_SEQ_CST) >= n);
}

static struct sp_options opts_base(unsigned workers)
{
	struct sp_options o;

	sp_options_init(&o);
	o.workers = workers;
	o.backoff_initial_ms = 1;
	o.backoff_max_ms = 5;
	return o;
}

static struct sp_map_options bounded(void)
{
	struct sp_map_options m;

	sp_map_options_init(&m);
	m.timeout_ms = WAIT_MS;
	return m;
}

static int setup(void **state)
{
	(void)state;
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	return sh == MAP_FAILED ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	munmap(sh, sizeof(*sh));
	return 0;
}

static void reset_shared(void)
{
	memset(sh, 0, sizeof(*sh));
}

/* ---- names and argument checks ---- */

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(sp_strerror(0), "success");
	assert_non_null(strstr(sp_strerror(SP_EABORTED), "aborted"));
	assert_non_null(strstr(sp_strerror(SP_ERESTARTS), "restart"));
	assert_non_null(strstr(sp_strerror(SP_ESTART), "worker_init"));
	assert_string_equal(sp_strerror(-ENOENT), strerror(ENOENT));
	assert_string_equal(sp_strerror(-5000), "unknown error");
	assert_string_equal(sp_strerror(3), "unknown error");
	assert_string_equal(sp_outcome_name(SP_OK), "ok");
	assert_string_equal(sp_outcome_name(SP_KILLED), "killed");
	assert_string_equal(sp_outcome_name(SP_FAILED), "failed");
	assert_string_equal(sp_outcome_name(SP_TIMEDOUT), "timed out");
	assert_string_equal(sp_outcome_name(SP_CANCELLED), "cancelled");
	assert_string_equal(sp_outcome_name((enum sp_outcome)42), "unknown");
	assert_string_equal(sp_oom_name(SP_OOM_YES), "yes");
	assert_string_equal(sp_oom_name(SP_OOM_NO), "no");
	assert_string_equal(sp_oom_name(SP_OOM_UNKNOWN), "unknown");
	assert_string_equal(sp_oom_name((enum sp_oom)42), "unknown");
	/* NULL data is allowed and must not crash. */
	sp_results_free(NULL, 3);
}

static void test_invalid_options(void **state)
{
	struct sp_options o;
	sp_pool *p = (sp_pool *)&o;

	(void)state;
	assert_int_equal(sp_pool_create(NULL, NULL), -EINVAL);
	o = opts_base(0);
	assert_int_equal(sp_pool_create(&p, &o), -EINVAL);
	assert_null(p);
	o = opts_base(4097);
	assert_int_equal(sp_pool_create(&p, &o), -EINVAL);
	o = opts_base(1);
	o.pipeline = 0;
	assert_int_equal(sp_pool_create(&p, &o), -EINVAL);
	o = opts_base(1);
	o.pipeline = 65537;
	assert_int_equal(sp_pool_create(&p, &o), -EINVAL);
	o = opts_base(1);
	o.policy = SP_POLICY_DEFAULT;
	assert_int_equal(sp_pool_create(&p, &o), -EINVAL);
	o = opts_base(1);
	o.retry_fallback = SP_POLICY_RETRY;
	assert_int_equal(sp_pool_create(&p, &o), -EINVAL);
	o = opts_base(1);
	o.max_msg = (1ull << 32) + 1;
	assert_int_equal(sp_pool_create(&p, &o), -EINVAL);
	assert_null(p);
	assert_no_children();
}

/* NULL options mean the defaults (one worker per CPU); batch 0 means 1. */
static void test_defaults_and_null_args(void **state)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	struct sp_options o = opts_base(1);
	const struct sp_killed *kl = NULL;
	struct sp_killed cause;
	struct sp_result res;
	pid_t pids[8];
	size_t n = 99;
	sp_pool *p = NULL;

	(void)state;
	assert_int_equal(sp_pool_create(&p, NULL), 0);
	assert_int_equal(sp_worker_pids(p, pids, 8, &n), 0);
	assert_int_equal(n, ncpu > 8 ? 8 : ncpu);
	for (size_t i = 0; i < n; i++)
		assert_true(pids[i] > 0 && pids[i] != getpid());
	/* max smaller than the worker count: only max PIDs. */
	assert_int_equal(sp_worker_pids(p, pids, 0, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(sp_worker_pids(NULL, pids, 8, &n), -EINVAL);
	assert_int_equal(sp_worker_pids(p, NULL, 8, &n), -EINVAL);
	assert_int_equal(sp_worker_pids(p, pids, 8, NULL), -EINVAL);
	assert_int_equal(sp_killed_tasks(NULL, &kl, &n), -EINVAL);
	assert_int_equal(sp_killed_tasks(p, NULL, &n), -EINVAL);
	assert_int_equal(sp_killed_tasks(p, &kl, NULL), -EINVAL);
	assert_int_equal(sp_killed_tasks(p, &kl, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(sp_abort_cause(NULL, &cause), -EINVAL);
	assert_int_equal(sp_abort_cause(p, NULL), -EINVAL);
	assert_int_equal(sp_abort_cause(p, &cause), -ENOENT);
	assert_int_equal(sp_wait(NULL, 0, 0, &res, NULL), -EINVAL);
	assert_int_equal(sp_wait(p, 0, 0, NULL, NULL), -EINVAL);
	assert_int_equal(sp_wait(p, 0, 0, &res, NULL), -ENOENT);
	assert_int_equal(sp_map(NULL, task, NULL, NULL, 0, NULL, NULL), -EINVAL);
	assert_int_equal(sp_map(p, NULL, NULL, NULL, 0, NULL, NULL), -EINVAL);
	assert_int_equal(sp_map(p, task, NULL, NULL, 1, &res, NULL), -EINVAL);
	/* An empty map is fine. */
	assert_int_equal(sp_map(p, task, NULL, NULL, 0, NULL, NULL), 0);
	sp_pool_destroy(p);
	sp_pool_destroy(NULL);

	o.batch = 0;
	assert_int_equal(sp_pool_create(&p, &o), 0);
	{
		struct targ a = {OP_SQUARE, 9};
		const void *args[1] = {&a};
		size_t lens[1] = {sizeof(a)};
		struct sp_map_options m = bounded();

		assert_int_equal(sp_map(p, task, args, lens, 1, &res, &m), 0);
		assert_int_equal(res.outcome, SP_OK);
		assert_int_equal(*(int *)res.data, 81);
		sp_results_free(&res, 1);
		assert_null(res.data);
	}
	sp_pool_destroy(p);
	assert_no_children();
}

/* ---- submit / wait ---- */

static void test_submit_args(void **state)
{
	struct sp_options o = opts_base(1);
	struct targ a = {OP_SQUARE, 3};
	char big[2048] = {0};
	uint64_t id;
	sp_pool *p = NULL;

	(void)state;
	o.max_msg = 1024;
	assert_int_equal(sp_pool_create(&p, &o), 0);
	assert_int_equal(sp_submit(NULL, task, &a, sizeof(a), &id), -EINVAL);
	assert_int_equal(sp_submit(p, NULL, &a, sizeof(a), &id), -EINVAL);
	assert_int_equal(sp_submit(p, task, NULL, sizeof(a), &id), -EINVAL);
	assert_int_equal(sp_submit(p, task, &a, sizeof(a), NULL), -EINVAL);
	assert_int_equal(sp_submit(p, task, big, sizeof(big), &id), -EMSGSIZE);
	sp_pool_destroy(p);
	assert_no_children();
}

/* Wait for "any" (id 0), a poll with timeout 0 on a task still queued in
 * the pool, an unknown id, and -EBUSY of a map while tasks are out. */
static void test_wait_any_and_poll(void **state)
{
	struct sp_options o = opts_base(1);
	struct sp_result res;
	uint64_t ids[3], got;
	int seen[3] = {0};
	sp_pool *p = NULL;

	(void)state;
	reset_shared();
	o.pipeline = 1; /* one task in flight: the others stay queued in the pool */
	assert_int_equal(sp_pool_create(&p, &o), 0);
	ids[0] = submit(p, OP_SLEEP, 300);
	ids[1] = submit(p, OP_SQUARE, 5);
	ids[2] = submit(p, OP_SQUARE, 6);
	assert_int_equal(sp_map(p, task, NULL, NULL, 0, NULL, NULL), -EBUSY);
	/* The last task is still queued in the pool (the only worker sleeps):
	 * a poll finds nothing. */
	assert_int_equal(sp_wait(p, ids[2], 0, &res, NULL), -ETIMEDOUT);
	assert_int_equal(sp_wait(p, ids[2] + 100, 0, &res, NULL), -ENOENT);
	for (int k = 0; k < 3; k++) {
		got = 0;
		assert_int_equal(sp_wait(p, 0, WAIT_MS, &res, &got), 0);
		assert_int_equal(res.outcome, SP_OK);
		assert_int_equal(res.attempts, 1);
		for (int i = 0; i < 3; i++) {
			if (got != ids[i])
				continue;
			seen[i]++;
			if (i > 0)
				assert_int_equal(*(int *)res.data, (i + 4) * (i + 4));
		}
		free(res.data);
	}
	assert_int_equal(seen[0] + seen[1] + seen[2], 3);
	assert_true(seen[0] == 1 && seen[1] == 1 && seen[2] == 1);
	/* Nothing outstanding any more. */
	assert_int_equal(sp_wait(p, 0, 0, &res, NULL), -ENOENT);
	assert_int_equal(sp_wait(p, ids[0], 0, &res, NULL), -ENOENT);
	sp_pool_destroy(p);
	assert_no_children();
}

/* A task waiting out its retry delay is known to sp_wait() and comes back
 * after the retry. */
static void test_wait_task_in_backoff(void **state)
{
	struct sp_options o = opts_base(1);
	struct sp_result res;
	const struct sp_killed *kl;
	size_t n;
	uint64_t id;
	sp_pool *p = NULL;

	(void)state;
	o.policy = SP_POLICY_RETRY;
	o.backoff_initial_ms = 400;
	o.backoff_max_ms = 400;
	assert_int_equal(sp_pool_create(&p, &o), 0);
	id = submit(p, OP_KILL_FIRST, 0);
	/* Not done within 100 ms: the retry waits 400 ms after the kill. */
	assert_int_equal(sp_wait(p, id, 100, &res, NULL), -ETIMEDOUT);
	assert_int_equal(sp_wait(p, id, WAIT_MS, &res, NULL), 0);
	assert_int_equal(res.outcome, SP_OK);
	assert_int_equal(res.attempts, 2);
	assert_int_equal(sp_killed_tasks(p, &kl, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(kl[0].index, id);
	assert_int_equal(kl[0].attempts, 1);
	assert_int_equal(kl[0].signal, SIGKILL);
	sp_pool_destroy(p);
	assert_no_children();
}

/* Abort policy under sp_submit(): one kill cancels the other outstanding
 * task; a task submitted before the cancelled one is waited for starts
 * fresh workers and runs. */
static void test_submit_abort(void **state)
{
	struct sp_options o = opts_base(2);
	struct sp_result res;
	struct sp_killed cause;
	uint64_t s, k, e;
	sp_pool *p = NULL;

	(void)state;
	reset_shared();
	o.policy = SP_POLICY_ABORT;
	o.pipeline = 1; /* the second task must go to the idle worker */
	assert_int_equal(sp_pool_create(&p, &o), 0);
	s = submit(p, OP_SLEEP, 5000);
	wait_started(1);
	k = submit(p, OP_KILL_ALWAYS, 0);
	assert_int_equal(sp_wait(p, k, WAIT_MS, &res, NULL), 0);
	assert_int_equal(res.outcome, SP_KILLED);
	assert_int_equal(res.signal, SIGKILL);
	assert_int_equal(sp_abort_cause(p, &cause), 0);
	assert_int_equal(cause.index, k);
	assert_int_equal(cause.signal, SIGKILL);
	/* The sleeping task is still unwaited: this submission restarts the
	 * aborted operation. */
	e = submit(p, OP_SQUARE, 4);
	assert_int_equal(sp_wait(p, s, WAIT_MS, &res, NULL), 0);
	assert_int_equal(res.outcome, SP_CANCELLED);
	assert_null(res.data);
	assert_int_equal(sp_wait(p, e, WAIT_MS, &res, NULL), 0);
	assert_int_equal(res.outcome, SP_OK);
	assert_int_equal(*(int *)res.data, 16);
	free(res.data);
	sp_pool_destroy(p);
	assert_no_children();
}

/* Restart intensity exceeded under sp_submit(): the queued task is
 * cancelled and the cause is the last kill. */
static void test_submit_restarts(void **state)
{
	struct sp_options o = opts_base(1);
	struct sp_result res;
	struct sp_killed cause;
	uint64_t k1, k2, e;
	sp_pool *p = NULL;

	(void)state;
	o.restart_max = 1;
	o.restart_window_ms = 60000;
	o.pipeline = 1;
	assert_int_equal(sp_pool_create(&p, &o), 0);
	k1 = submit(p, OP_KILL_ALWAYS, 0);
	k2 = submit(p, OP_KILL_ALWAYS, 0);
	e = submit(p, OP_SQUARE, 2);
	assert_int_equal(sp_wait(p, e, WAIT_MS, &res, NULL), 0);
	assert_int_equal(res.outcome, SP_CANCELLED);
	assert_int_equal(sp_wait(p, k1, WAIT_MS, &res, NULL), 0);
	assert_int_equal(res.outcome, SP_KILLED);
	assert_int_equal(sp_wait(p, k2, WAIT_MS, &res, NULL), 0);
	assert_int_equal(res.outcome, SP_KILLED);
	assert_int_equal(sp_abort_cause(p, &cause), 0);
	assert_int_equal(cause.index, k2);
	/* The pool stays usable. */
	e = submit(p, OP_SQUARE, 3);
	assert_int_equal(sp_wait(p, e, WAIT_MS, &res, NULL), 0);
	assert_int_equal(res.outcome, SP_OK);
	assert_int_equal(*(int *)res.data, 9);
	free(res.data);
	sp_pool_destroy(p);
	assert_no_children();
}

/* A worker killed from outside (pidfd_send_signal) while running a task. */
static void test_external_kill(void **state)
{
	struct sp_options o = opts_base(1);
	struct sp_result res;
	const struct sp_killed *kl;
	pid_t pid;
	size_t n;
	uint64_t id;
	int pfd;
	sp_pool *p = NULL;

	(void)state;
	reset_shared();
	assert_int_equal(sp_pool_create(&p, &o), 0);
	id = submit(p, OP_SLEEP, 8000);
	wait_started(1);
	assert_int_equal(sp_worker_pids(p, &pid, 1, &n), 0);
	assert_int_equal(n, 1);
	pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	assert_true(pfd >= 0);
	assert_int_equal(syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0), 0);
	close(pfd);
	assert_int_equal(sp_wait(p, id, WAIT_MS, &res, NULL), 0);
	assert_int_equal(res.outcome, SP_KILLED);
	assert_int_equal(res.signal, SIGKILL);
	assert_int_equal(res.pid, pid);
	assert_int_equal(res.attempts, 1);
	assert_int_equal(sp_killed_tasks(p, &kl, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(kl[0].index, id);
	assert_int_equal(kl[0].pid, pid);
	/* A replacement worker serves the next task. */
	id = submit(p, OP_SQUARE, 7);
	assert_int_equal(sp_wait(p, id, WAIT_MS, &res, NULL), 0);
	assert_int_equal(res.outcome, SP_OK);
	assert_true(res.pid != pid);
	free(res.data);
	sp_pool_destroy(p);
	assert_no_children();
}

/* Destroying a pool with unwaited tasks in every state: finished, queued
 * behind a busy worker, and waiting out a retry delay. */
static void test_destroy_with_outstanding(void **state)
{
	struct sp_options o = opts_base(1);
	struct sp_result res;
	uint64_t e1;
	sp_pool *p = NULL;

	(void)state;
	reset_shared();
	o.policy = SP_POLICY_RETRY;
	o.backoff_initial_ms = 5000;
	o.backoff_max_ms = 5000;
	o.pipeline = 1;
	assert_int_equal(sp_pool_create(&p, &o), 0);
	(void)submit(p, OP_SQUARE, 1);       /* finishes, never waited */
	(void)submit(p, OP_KILL_FIRST, 0);   /* killed, then in backoff */
	e1 = submit(p, OP_SQUARE, 2);
	assert_int_equal(sp_wait(p, e1, WAIT_MS, &res, NULL), 0);
	assert_int_equal(res.outcome, SP_OK);
	free(res.data);
	(void)submit(p, OP_SLEEP, 200);      /* busy worker ... */
	(void)submit(p, OP_SQUARE, 3);       /* ... so this one stays queued */
	sp_pool_destroy(p);
	assert_no_children();
}

/* ---- maps ---- */

static void set_args(struct targ *a, const void **args, size_t *lens, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		args[i] = &a[i];
		lens[i] = sizeof(a[i]);
	}
}

/* A map deadline ends the map with -ETIMEDOUT; the pool is usable after. */
static void test_map_timeout(void **state)
{
	struct sp_options o = opts_base(2);
	struct targ a[3] = {{OP_SQUARE, 3}, {OP_SLEEP, 8000}, {OP_SLEEP, 8000}};
	const void *args[3];
	size_t lens[3];
	struct sp_result res[3];
	struct sp_map_options m;
	struct sp_killed cause;
	const struct sp_killed *kl;
	size_t n;
	sp_pool *p = NULL;

	(void)state;
	reset_shared();
	set_args(a, args, lens, 3);
	assert_int_equal(sp_pool_create(&p, &o), 0);
	sp_map_options_init(&m);
	assert_int_equal(m.policy, SP_POLICY_DEFAULT);
	assert_int_equal(m.timeout_ms, -1);
	m.timeout_ms = 300;
	assert_int_equal(sp_map(p, task, args, lens, 3, res, &m), -ETIMEDOUT);
	assert_int_equal(res[0].outcome, SP_OK);
	assert_int_equal(*(int *)res[0].data, 9);
	assert_int_equal(res[1].outcome, SP_CANCELLED);
	assert_int_equal(res[2].outcome, SP_CANCELLED);
	assert_int_equal(sp_abort_cause(p, &cause), -ENOENT);
	/* The pool killed those workers itself: no kill is reported. */
	assert_int_equal(sp_killed_tasks(p, &kl, &n), 0);
	assert_int_equal(n, 0);
	sp_results_free(res, 3);

	a[1].op = OP_SQUARE;
	a[2].op = OP_SQUARE;
	m = bounded();
	assert_int_equal(sp_map(p, task, args, lens, 3, res, &m), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(res[i].outcome, SP_OK);
		assert_int_equal(*(int *)res[i].data, a[i].val * a[i].val);
	}
	sp_results_free(res, 3);
	sp_pool_destroy(p);
	assert_no_children();
}

/* The map's policy overrides the pool's; a bad one is -EINVAL. */
static void test_map_policy_override(void **state)
{
	struct sp_options o = opts_base(2);
	struct targ a[2] = {{OP_SLEEP, 8000}, {OP_KILL_ALWAYS, 0}};
	const void *args[2];
	size_t lens[2];
	struct sp_result res[2];
	struct sp_map_options m = bounded();
	struct sp_killed cause;
	sp_pool *p = NULL;

	(void)state;
	reset_shared();
	set_args(a, args, lens, 2);
	assert_int_equal(sp_pool_create(&p, &o), 0); /* pool policy: skip */
	m.policy = (enum sp_policy)17;
	assert_int_equal(sp_map(p, task, args, lens, 2, res, &m), -EINVAL);

	m.policy = SP_POLICY_ABORT;
	assert_int_equal(sp_map(p, task, args, lens, 2, res, &m), SP_EABORTED);
	assert_int_equal(res[0].outcome, SP_CANCELLED);
	assert_int_equal(res[1].outcome, SP_KILLED);
	assert_int_equal(res[1].signal, SIGKILL);
	assert_int_equal(sp_abort_cause(p, &cause), 0);
	assert_int_equal(cause.index, 1);

	a[0].op = OP_KILL_FIRST;
	a[1].op = OP_KILL_FIRST;
	m.policy = SP_POLICY_RETRY;
	assert_int_equal(sp_map(p, task, args, lens, 2, res, &m), 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(res[i].outcome, SP_OK);
		assert_int_equal(res[i].attempts, 2);
	}
	assert_int_equal(sp_abort_cause(p, &cause), -ENOENT);

	/* Back to the pool's own policy: skip. */
	m.policy = SP_POLICY_DEFAULT;
	assert_int_equal(sp_map(p, task, args, lens, 2, res, &m), 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(res[i].outcome, SP_KILLED);
		assert_int_equal(res[i].attempts, 1);
	}
	sp_pool_destroy(p);
	assert_no_children();
}

/* retry_min_free that the machine satisfies: the retry proceeds. One that
 * it cannot satisfy: after the memory wait the task falls back to skip or
 * abort. */
static void test_retry_min_free(void **state)
{
	struct sp_options o = opts_base(2);
	struct targ a[2] = {{OP_KILL_FIRST, 0}, {OP_SLEEP, 8000}};
	const void *args[2];
	size_t lens[2];
	struct sp_result res[2];
	struct sp_map_options m = bounded();
	struct sp_killed cause;
	sp_pool *p = NULL;

	(void)state;
	reset_shared();
	set_args(a, args, lens, 2);
	o.policy = SP_POLICY_RETRY;
	o.retry_min_free = 1 << 20;
	assert_int_equal(sp_pool_create(&p, &o), 0);
	assert_int_equal(sp_map(p, task, args, lens, 1, res, &m), 0);
	assert_int_equal(res[0].outcome, SP_OK);
	assert_int_equal(res[0].attempts, 2);
	sp_pool_destroy(p);

	/* More memory than any machine has: give up after 50 ms, skip. */
	o.retry_min_free = UINT64_MAX / 2;
	o.retry_mem_wait_ms = 50;
	assert_int_equal(sp_pool_create(&p, &o), 0);
	assert_int_equal(sp_map(p, task, args, lens, 1, res, &m), 0);
	assert_int_equal(res[0].outcome, SP_KILLED);
	assert_int_equal(res[0].attempts, 1);
	assert_int_equal(res[0].signal, SIGKILL);
	sp_pool_destroy(p);

	/* Same with abort as the fallback: the sleeping task is cancelled. */
	o.retry_fallback = SP_POLICY_ABORT;
	assert_int_equal(sp_pool_create(&p, &o), 0);
	assert_int_equal(sp_map(p, task, args, lens, 2, res, &m), SP_EABORTED);
	assert_int_equal(res[0].outcome, SP_KILLED);
	assert_int_equal(res[1].outcome, SP_CANCELLED);
	assert_int_equal(sp_abort_cause(p, &cause), 0);
	assert_int_equal(cause.index, 0);
	assert_int_equal(cause.signal, SIGKILL);
	sp_pool_destroy(p);
	assert_no_children();
}

/* Retry cap reached with abort as the fallback. */
static void test_retry_cap_abort(void **state)
{
	struct sp_options o = opts_base(2);
	struct targ a[2] = {{OP_KILL_ALWAYS, 0}, {OP_SLEEP, 8000}};
	const void *args[2];
	size_t lens[2];
	struct sp_result res[2];
	struct sp_map_options m = bounded();
	const struct sp_killed *kl;
	struct sp_killed cause;
	size_t n;
	sp_pool *p = NULL;

	(void)state;
	reset_shared();
	set_args(a, args, lens, 2);
	o.policy = SP_POLICY_RETRY;
	o.max_retries = 2;
	o.retry_fallback = SP_POLICY_ABORT;
	assert_int_equal(sp_pool_create(&p, &o), 0);
	assert_int_equal(sp_map(p, task, args, lens, 2, res, &m), SP_EABORTED);
	assert_int_equal(res[0].outcome, SP_KILLED);
	assert_int_equal(res[0].attempts, 3);
	assert_int_equal(res[1].outcome, SP_CANCELLED);
	assert_int_equal(sp_killed_tasks(p, &kl, &n), 0);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(kl[i].index, 0);
		assert_int_equal(kl[i].attempts, i + 1);
	}
	assert_int_equal(sp_abort_cause(p, &cause), 0);
	assert_int_equal(cause.attempts, 3);
	sp_pool_destroy(p);
	assert_no_children();
}

/* The retry memory check against a memory-limited cgroup the workers join:
 * its headroom (limit minus usage), not the machine's, decides. */
static char cg_dir[700];

static int write_str_creat(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644), r = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) != (ssize_t)strlen(val))
		r = -EIO;
	close(fd);
	return r;
}

static int join_cg(void *ud)
{
	char path[800], pid[32];

	(void)ud;
	snprintf(path, sizeof(path), "%s/cgroup.procs", cg_dir);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	return tu_write_file(path, NULL, pid) < 0;
}

static void test_retry_cgroup_headroom(void **state)
{
	struct sp_options o = opts_base(1);
	struct targ a[1] = {{OP_KILL_FIRST, 0}};
	const void *args[1];
	size_t lens[1];
	struct sp_result res[1];
	struct sp_map_options m = bounded();
	struct sp_killed cause;
	char base[600], path[800];
	int v2 = 0, r;
	sp_pool *p = NULL;

	(void)state;
	if (tu_own_memcg(base, sizeof(base), &v2) == 0 && !v2)
		snprintf(cg_dir, sizeof(cg_dir), "%s/covpool-%d", base, (int)getpid());
	if (v2 || !cg_dir[0] || mkdir(cg_dir, 0755) < 0) {
		print_message("skipped: no writable cgroup v1 memory hierarchy\n");
		skip();
	}
	snprintf(path, sizeof(path), "%s/memory.limit_in_bytes", cg_dir);
	r = tu_write_file(path, NULL, "268435456");
	if (r == 0) {
		set_args(a, args, lens, 1);
		o.policy = SP_POLICY_RETRY;
		o.worker_init = join_cg;
		/* 1 MiB fits under the 256 MiB limit: the retry runs. */
		o.retry_min_free = 1 << 20;
		r = sp_pool_create(&p, &o);
		if (r == 0)
			r = sp_map(p, task, args, lens, 1, res, &m);
		if (r == 0 && (res[0].outcome != SP_OK || res[0].attempts != 2))
			r = -1000;
		sp_pool_destroy(p);
		p = NULL;
	}
	if (r == 0) {
		/* 512 MiB is free on the machine but not in the cgroup. */
		o.retry_min_free = 512u << 20;
		o.retry_mem_wait_ms = 50;
		o.retry_fallback = SP_POLICY_ABORT;
		r = sp_pool_create(&p, &o);
		if (r == 0 && sp_map(p, task, args, lens, 1, res, &m) != SP_EABORTED)
			r = -1001;
		if (r == 0 && (res[0].outcome != SP_KILLED || res[0].attempts != 1))
			r = -1002;
		if (r == 0 && (sp_abort_cause(p, &cause) != 0 || cause.index != 0))
			r = -1003;
		sp_pool_destroy(p);
	}
	/* The workers are gone (destroy reaps them), but cgroup v1 may
	 * report the cgroup busy for a moment after its last task left. */
	for (int i = 0; i < 200 && rmdir(cg_dir) < 0 && errno == EBUSY; i++)
		sleep_ms(10);
	assert_int_equal(access(cg_dir, F_OK), -1);
	assert_int_equal(r, 0);
	assert_no_children();
}

/* max_msg bounds arguments (refused up front) and results (the task ends
 * SP_FAILED with -EMSGSIZE, the worker lives on). */
static void test_msgsize(void **state)
{
	struct sp_options o = opts_base(1);
	struct targ a[2] = {{OP_BIG, 4096}, {OP_SQUARE, 12}};
	char big[2048] = {0};
	const void *args[2];
	size_t lens[2];
	struct sp_result res[2];
	struct sp_map_options m = bounded();
	sp_pool *p = NULL;

	(void)state;
	set_args(a, args, lens, 2);
	o.max_msg = 1024;
	assert_int_equal(sp_pool_create(&p, &o), 0);
	args[1] = big;
	lens[1] = sizeof(big);
	assert_int_equal(sp_map(p, task, args, lens, 2, res, &m), -EMSGSIZE);
	set_args(a, args, lens, 2);
	assert_int_equal(sp_map(p, task, args, lens, 2, res, &m), 0);
	assert_int_equal(res[0].outcome, SP_FAILED);
	assert_int_equal(res[0].code, -EMSGSIZE);
	assert_int_equal(res[0].exit_code, -1);
	assert_null(res[0].data);
	assert_int_equal(res[1].outcome, SP_OK);
	assert_int_equal(*(int *)res[1].data, 144);
	assert_int_equal(res[1].pid, res[0].pid);
	sp_results_free(res, 2);
	sp_pool_destroy(p);
	assert_no_children();
}

/* Results larger than the worker's send buffer go out directly, after
 * whatever is buffered, and arrive intact. */
static void test_big_results(void **state)
{
	struct sp_options o = opts_base(1);
	struct targ a[6] = {{OP_SQUARE, 2}, {OP_BIG, 300000}, {OP_SQUARE, 3},
			    {OP_BIG, 70000}, {OP_BIG, 40000}, {OP_BIG, 40000}};
	const void *args[6];
	size_t lens[6];
	struct sp_result res[6];
	struct sp_map_options m = bounded();
	sp_pool *p = NULL;

	(void)state;
	set_args(a, args, lens, 6);
	/* Batched: the small results are still buffered when a big one is
	 * sent, and the two 40000-byte ones do not fit the 64 KiB buffer
	 * together. */
	o.batch = 8;
	assert_int_equal(sp_pool_create(&p, &o), 0);
	assert_int_equal(sp_map(p, task, args, lens, 6, res, &m), 0);
	for (int i = 0; i < 6; i++)
		assert_int_equal(res[i].outcome, SP_OK);
	assert_int_equal(*(int *)res[0].data, 4);
	assert_int_equal(*(int *)res[2].data, 9);
	for (int i = 0; i < 6; i++) {
		const unsigned char *b = res[i].data;

		if (a[i].op != OP_BIG)
			continue;
		assert_int_equal(res[i].len, (size_t)a[i].val);
		for (int k = 0; k < a[i].val; k++)
			if (b[k] != (unsigned char)(k * 7 + 3))
				fail_msg("result %d byte %d differs", i, k);
	}
	sp_results_free(res, 6);
	sp_pool_destroy(p);
	assert_no_children();
}

/* A worker that does not leave within the grace period after its pipe is
 * closed (it is still running a long task) is killed by sp_pool_destroy(). */
static void test_destroy_kills_busy_worker(void **state)
{
	struct sp_options o = opts_base(1);
	pid_t pid;
	size_t n;
	sp_pool *p = NULL;

	(void)state;
	reset_shared();
	assert_int_equal(sp_pool_create(&p, &o), 0);
	(void)submit(p, OP_SLEEP, 6000);
	wait_started(1);
	assert_int_equal(sp_worker_pids(p, &pid, 1, &n), 0);
	assert_int_equal(n, 1);
	sp_pool_destroy(p);
	/* Reaped, not only signalled: the PID is gone. */
	assert_int_equal(kill(pid, 0), -1);
	assert_int_equal(errno, ESRCH);
	assert_no_children();
}

/* batch > 1 with a kill: the killed task is named exactly, and the tasks
 * whose results had not been sent yet still end OK. Also pipeline 1. */
static void test_batch_and_pipeline(void **state)
{
	struct sp_options o = opts_base(1);
	struct targ a[12];
	const void *args[12];
	size_t lens[12];
	struct sp_result res[12];
	struct sp_map_options m = bounded();
	const struct sp_killed *kl;
	size_t n;
	sp_pool *p = NULL;

	(void)state;
	for (int i = 0; i < 12; i++)
		a[i] = (struct targ){OP_SQUARE, i};
	a[6].op = OP_KILL_ALWAYS;
	set_args(a, args, lens, 12);
	o.batch = 4;
	assert_int_equal(sp_pool_create(&p, &o), 0);
	assert_int_equal(sp_map(p, task, args, lens, 12, res, &m), 0);
	for (int i = 0; i < 12; i++) {
		if (i == 6) {
			assert_int_equal(res[i].outcome, SP_KILLED);
			assert_int_equal(res[i].signal, SIGKILL);
			continue;
		}
		assert_int_equal(res[i].outcome, SP_OK);
		assert_int_equal(*(int *)res[i].data, i * i);
	}
	assert_int_equal(sp_killed_tasks(p, &kl, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(kl[0].index, 6);
	sp_results_free(res, 12);
	sp_pool_destroy(p);

	o = opts_base(2);
	o.pipeline = 1;
	a[6].op = OP_FAIL;
	a[6].val = 5;
	assert_int_equal(sp_pool_create(&p, &o), 0);
	assert_int_equal(sp_map(p, task, args, lens, 12, res, &m), 0);
	for (int i = 0; i < 12; i++) {
		if (i == 6) {
			assert_int_equal(res[i].outcome, SP_FAILED);
			assert_int_equal(res[i].code, 5);
			continue;
		}
		assert_int_equal(res[i].outcome, SP_OK);
		assert_int_equal(*(int *)res[i].data, i * i);
	}
	sp_results_free(res, 12);
	sp_pool_destroy(p);
	assert_no_children();
}

/* worker_init runs in every worker before its first task (its effect is
 * visible to tasks but not in the caller); one that fails a few times is
 * retried until it succeeds. */
static void test_worker_init(void **state)
{
	struct sp_options o = opts_base(2);
	struct targ a[4] = {{OP_INIT_FLAG, 0}, {OP_INIT_FLAG, 0}, {OP_INIT_FLAG, 0},
			    {OP_INIT_FLAG, 0}};
	const void *args[4];
	size_t lens[4];
	struct sp_result res[4];
	struct sp_map_options m = bounded();
	sp_pool *p = NULL;

	(void)state;
	reset_shared();
	set_args(a, args, lens, 4);
	o.worker_init = init_ok;
	assert_int_equal(sp_pool_create(&p, &o), 0);
	assert_int_equal(sp_map(p, task, args, lens, 4, res, &m), 0);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(res[i].outcome, SP_OK);
		assert_int_equal(*(int *)res[i].data, 42);
	}
	assert_int_equal(init_flag, 0);
	sp_results_free(res, 4);
	sp_pool_destroy(p);

	sh->init_fails = 5;
	o.worker_init = init_flaky;
	assert_int_equal(sp_pool_create(&p, &o), 0);
	assert_int_equal(sp_map(p, task, args, lens, 4, res, &m), 0);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(res[i].outcome, SP_OK);
		assert_int_equal(*(int *)res[i].data, 7);
	}
	/* Five failures and at least one success per worker. */
	assert_true(__atomic_load_n(&sh->init_calls, __ATOMIC_SEQ_CST) >= 7);
	sp_results_free(res, 4);
	sp_pool_destroy(p);
	assert_no_children();
}

/* The cgroup file readers behind OOM attribution and the retry memory
 * check, on counter files written here: malformed and missing values,
 * a v2 "max" limit, a missing usage file. */
static void put(const char *dir, const char *name, const char *text)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(write_str_creat(path, text), 0);
}

static void test_cgroup_files(void **state)
{
	char dir[] = "/tmp/covpool-cg-XXXXXX", file[300], path[300];
	uint64_t v = 0, avail = 0, free_b = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(file, sizeof(file), "%s/memory.events", dir);
	put(dir, "memory.events", "low 0\nhigh 0\nmax 3\noom 2\noom_kill 5\n");
	assert_int_equal(sp__oom_count(file, &v), 0);
	assert_int_equal(v, 5);
	put(dir, "memory.events", "low 0\noom_kill x\n");
	assert_int_equal(sp__oom_count(file, &v), -EINVAL);
	put(dir, "memory.events", "low 0\noom 1");
	assert_int_equal(sp__oom_count(file, &v), -ENOENT);
	snprintf(path, sizeof(path), "%s/none", dir);
	assert_int_equal(sp__oom_count(path, &v), -ENOENT);

	/* No cgroup file: MemAvailable alone. */
	assert_int_equal(sp__mem_free(NULL, &avail), 0);
	assert_true(avail > 0);
	assert_int_equal(sp__mem_free("", &free_b), 0);
	assert_true(free_b > 0);
	assert_int_equal(sp__mem_free("no-slash", &free_b), 0);
	assert_true(free_b > 0);
	/* v2 without a limit ("max"), then without a usage file, then a limit
	 * with 1000 bytes of headroom. */
	put(dir, "memory.max", "max\n");
	assert_int_equal(sp__mem_free(file, &free_b), 0);
	assert_true(free_b > 1000);
	put(dir, "memory.max", "1000000\n");
	assert_int_equal(sp__mem_free(file, &free_b), 0);
	assert_true(free_b > 1000);
	put(dir, "memory.current", "999000\n");
	assert_int_equal(sp__mem_free(file, &free_b), 0);
	assert_int_equal(free_b, 1000);
	put(dir, "memory.current", "2000000\n");
	assert_int_equal(sp__mem_free(file, &free_b), 0);
	assert_int_equal(free_b, 0);

	/* The test process's own counter file can be found and read. */
	if (sp__oom_file(0, path, sizeof(path)) == 0)
		assert_int_equal(sp__oom_count(path, &v), 0);
	assert_int_equal(sp__oom_file(0, path, 8), -ENAMETOOLONG);

	const char *names[] = {"memory.events", "memory.max", "memory.current"};
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		assert_int_equal(unlink(path), 0);
	}
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_invalid_options),
		cmocka_unit_test(test_defaults_and_null_args),
		cmocka_unit_test(test_submit_args),
		cmocka_unit_test(test_wait_any_and_poll),
		cmocka_unit_test(test_wait_task_in_backoff),
		cmocka_unit_test(test_submit_abort),
		cmocka_unit_test(test_submit_restarts),
		cmocka_unit_test(test_external_kill),
		cmocka_unit_test(test_destroy_with_outstanding),
		cmocka_unit_test(test_map_timeout),
		cmocka_unit_test(test_map_policy_override),
		cmocka_unit_test(test_retry_min_free),
		cmocka_unit_test(test_retry_cap_abort),
		cmocka_unit_test(test_retry_cgroup_headroom),
		cmocka_unit_test(test_msgsize),
		cmocka_unit_test(test_big_results),
		cmocka_unit_test(test_destroy_kills_busy_worker),
		cmocka_unit_test(test_batch_and_pipeline),
		cmocka_unit_test(test_worker_init),
		cmocka_unit_test(test_cgroup_files),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
