/* Target safepool: the reference pool, libsafepool, mapping ids 0..N-1 with
 * sp_map(); each task calls the C task kit's chaos_task_run(id).
 *
 * Known behaviour on a killed worker: the pool sees the death at once (pidfd),
 * ends the task the worker was running as SP_KILLED, records it in its
 * killed-task list, starts a replacement worker and never hangs.
 *
 * Policies map one to one: skip -> SP_POLICY_SKIP (killed tasks are `lost`);
 * abort -> SP_POLICY_ABORT (`aborted` names the killed task and signal from
 * sp_abort_cause(); cancelled tasks print nothing); retry -> SP_POLICY_RETRY
 * with max_retries = CHAOS_RETRIES, a short backoff (5 ms doubling to 100 ms)
 * and skip once the cap is reached. Failed (action=fail, exit) and timed-out
 * tasks are `error`. CHAOS_TASK_TIMEOUT_MS is the pool's task timeout.
 * `killed-tasks` is always printed: the distinct task ids of the pool's
 * killed-task list in increasing order, comma-separated, and an empty list
 * as "killed-tasks " (keyword, one space, nothing after it).
 */
#include "safepool.h"
#include "../kit/chaos_task.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* One outcome line, flushed at once so the controller sees it even if
 * something later goes wrong. */
static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

static int env_uint(const char *name, unsigned def, unsigned *out)
{
	const char *s = getenv(name);
	unsigned long v;
	char *end;

	*out = def;
	if (!s || !*s)
		return 0;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || s[0] == '-' || v > 1000000000UL) {
		fprintf(stderr, "safepool: %s=%s is not a valid count\n", name, s);
		return -EINVAL;
	}
	*out = (unsigned)v;
	return 0;
}

/* The task function: runs in a worker. The argument is the task id. */
static int run_task(const struct sp_task_ctx *ctx, const void *arg, size_t arg_len,
		    void **result, size_t *result_len)
{
	uint32_t id;
	int64_t value = 0, *out;
	int r;

	(void)ctx;
	if (arg_len != sizeof(id))
		return -EINVAL;
	memcpy(&id, arg, sizeof(id));
	r = chaos_task_run(id, &value);
	if (r != 0)
		return r;
	out = malloc(sizeof(*out));
	if (!out)
		return -ENOMEM;
	*out = value;
	*result = out;
	*result_len = sizeof(*out);
	return 0;
}

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

static void print_killed(const sp_pool *pool)
{
	const struct sp_killed *list = NULL;
	size_t n = 0, *ids = NULL, m = 0;
	char buf[4096];
	size_t used = 0;

	buf[0] = '\0';
	if (sp_killed_tasks(pool, &list, &n) == 0 && n) {
		ids = calloc(n, sizeof(*ids));
		if (ids) {
			for (size_t i = 0; i < n; i++)
				ids[i] = list[i].index;
			qsort(ids, n, sizeof(*ids), cmp_size);
			for (size_t i = 0; i < n; i++) {
				int w;

				/* A task killed on several attempts is listed once. */
				if (i && ids[i] == ids[i - 1])
					continue;
				w = snprintf(buf + used, sizeof(buf) - used, "%s%zu", m ? "," : "",
					     ids[i]);
				if (w < 0 || (size_t)w >= sizeof(buf) - used)
					break;
				used += (size_t)w;
				m++;
			}
		}
	}
	say("killed-tasks %s", buf);
	free(ids);
}

int main(void)
{
	struct sp_options opts;
	struct sp_map_options mopts;
	struct sp_result *res = NULL;
	struct sp_killed cause;
	const void **args = NULL;
	size_t *lens = NULL;
	uint32_t *ids = NULL;
	unsigned workers, ntasks, retries, timeout_ms;
	const char *policy = getenv("CHAOS_POLICY");
	sp_pool *pool = NULL;
	int r, rc = 1;

	if (env_uint("CHAOS_WORKERS", 2, &workers) < 0 || env_uint("CHAOS_NTASKS", 10, &ntasks) < 0 ||
	    env_uint("CHAOS_RETRIES", 0, &retries) < 0 ||
	    env_uint("CHAOS_TASK_TIMEOUT_MS", 0, &timeout_ms) < 0)
		goto out;
	sp_options_init(&opts);
	opts.workers = workers ? workers : 1;
	if (!policy || !*policy || strcmp(policy, "skip") == 0) {
		opts.policy = SP_POLICY_SKIP;
	} else if (strcmp(policy, "abort") == 0) {
		opts.policy = SP_POLICY_ABORT;
	} else if (strcmp(policy, "retry") == 0) {
		opts.policy = SP_POLICY_RETRY;
		opts.max_retries = retries;
		opts.backoff_initial_ms = 5;
		opts.backoff_max_ms = 100;
		opts.retry_fallback = SP_POLICY_SKIP;
	} else {
		fprintf(stderr, "safepool: unknown CHAOS_POLICY=%s\n", policy);
		goto out;
	}
	opts.task_timeout_ms = timeout_ms;

	/* Parse the task spec once, before the fork: every worker inherits it
	 * and a bad spec is reported once, here. */
	r = chaos_task_init();
	if (r < 0)
		goto out;

	ids = calloc(ntasks ? ntasks : 1, sizeof(*ids));
	args = calloc(ntasks ? ntasks : 1, sizeof(*args));
	lens = calloc(ntasks ? ntasks : 1, sizeof(*lens));
	res = calloc(ntasks ? ntasks : 1, sizeof(*res));
	if (!ids || !args || !lens || !res) {
		fprintf(stderr, "safepool: out of memory\n");
		goto out;
	}
	for (unsigned i = 0; i < ntasks; i++) {
		ids[i] = i;
		args[i] = &ids[i];
		lens[i] = sizeof(ids[i]);
	}

	r = sp_pool_create(&pool, &opts);
	if (r < 0) {
		fprintf(stderr, "safepool: sp_pool_create: %s\n", sp_strerror(r));
		goto out;
	}
	sp_map_options_init(&mopts);
	r = sp_map(pool, run_task, args, lens, ntasks, res, &mopts);
	if (r < 0 && r != SP_EABORTED && r != SP_ERESTARTS && r != SP_ESTART && r != -ETIMEDOUT) {
		fprintf(stderr, "safepool: sp_map: %s\n", sp_strerror(r));
		goto out;
	}
	for (unsigned i = 0; i < ntasks; i++) {
		const struct sp_result *t = &res[i];
		int64_t v;

		switch (t->outcome) {
		case SP_OK:
			if (t->len != sizeof(v) || !t->data) {
				say("error %u result of %zu bytes", i, t->len);
				break;
			}
			memcpy(&v, t->data, sizeof(v));
			say("result %u %" PRId64, i, v);
			break;
		case SP_KILLED:
			say("lost %u", i);
			break;
		case SP_FAILED:
			if (t->exit_code >= 0)
				say("error %u worker exited with code %d", i, t->exit_code);
			else
				say("error %u task returned %d", i, t->code);
			break;
		case SP_TIMEDOUT:
			say("error %u timed out (worker killed by %s)", i, strsignal(t->signal));
			break;
		case SP_CANCELLED:
			/* Cancelled by an abort: the aborted line covers it. */
			break;
		}
	}
	print_killed(pool);
	if (r == SP_EABORTED || r == SP_ERESTARTS) {
		if (sp_abort_cause(pool, &cause) == 0)
			say("aborted %s: task %zu attempt %u killed by SIG%s (pid %d)",
			    r == SP_EABORTED ? "abort policy" : "restart intensity exceeded",
			    cause.index, cause.attempts,
			    sigabbrev_np(cause.signal) ? sigabbrev_np(cause.signal) : "?",
			    (int)cause.pid);
		else
			say("aborted %s", sp_strerror(r));
	} else if (r == SP_ESTART) {
		say("aborted workers keep dying at start: %s", sp_strerror(r));
	} else if (r == -ETIMEDOUT) {
		say("aborted map deadline passed");
	}
	say("done");
	rc = 0;
out:
	sp_results_free(res, res ? ntasks : 0);
	sp_pool_destroy(pool);
	free(res);
	free(lens);
	free(args);
	free(ids);
	return rc;
}
