/* squares: map x -> x*x over 0..N-1 on a libsafepool pool, optionally
 * SIGKILLing the worker that runs one chosen task on its first attempt.
 * Exit codes: 0 done, 2 bad usage, 3 aborted, 1 any other error. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "safepool.h"

static long kill_task = -1;

/* Square the 64-bit argument; the chosen task kills its own worker once. */
static int square(const struct sp_task_ctx *ctx, const void *arg, size_t len, void **res,
		  size_t *res_len)
{
	int64_t x, *out;

	if (len != sizeof(x))
		return -EINVAL;
	if ((long)ctx->index == kill_task && ctx->attempt == 1)
		raise(SIGKILL);
	memcpy(&x, arg, sizeof(x));
	out = malloc(sizeof(*out));
	if (!out)
		return -ENOMEM;
	*out = x * x;
	*res = out;
	*res_len = sizeof(*out);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: squares [--workers W] [--tasks N] [--policy skip|abort|retry]\n"
		   "               [--kill-task K] [--retries R]\n");
}

static int parse_num(const char *s, long min, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min)
		return -1;
	*out = v;
	return 0;
}

/* What the command line asks for. */
struct args {
	long workers, ntasks, retries;
	struct sp_options o;
};

/* Parse argv into a. Returns 0, 1 after --help (printed), or -1 for bad
 * usage. */
static int parse_args(int argc, char **argv, struct args *a)
{
	static const struct option longopts[] = {
		{"workers", required_argument, NULL, 'w'}, {"tasks", required_argument, NULL, 'n'},
		{"policy", required_argument, NULL, 'p'},  {"kill-task", required_argument, NULL, 'k'},
		{"retries", required_argument, NULL, 'r'}, {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}};
	int c;

	a->workers = 4;
	a->ntasks = 10;
	a->retries = 3;
	sp_options_init(&a->o);
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'w':
			if (parse_num(optarg, 1, &a->workers) || a->workers > 1024)
				return -1;
			break;
		case 'n':
			if (parse_num(optarg, 0, &a->ntasks) || a->ntasks > 10000000)
				return -1;
			break;
		case 'k':
			if (parse_num(optarg, 0, &kill_task))
				return -1;
			break;
		case 'r':
			if (parse_num(optarg, 0, &a->retries) || a->retries > 1000)
				return -1;
			break;
		case 'p':
			if (strcmp(optarg, "skip") == 0)
				a->o.policy = SP_POLICY_SKIP;
			else if (strcmp(optarg, "abort") == 0)
				a->o.policy = SP_POLICY_ABORT;
			else if (strcmp(optarg, "retry") == 0)
				a->o.policy = SP_POLICY_RETRY;
			else
				return -1;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			return -1;
		}
	}
	if (optind != argc)
		return -1;
	a->o.workers = (unsigned)a->workers;
	a->o.max_retries = (unsigned)a->retries;
	return 0;
}

/* Print the results as a list (None for a task without a result), then
 * the tasks that were killed. */
static void print_results(sp_pool *pool, const struct sp_result *res, long ntasks)
{
	const struct sp_killed *killed;
	size_t nkilled = 0;

	printf("[");
	for (long i = 0; i < ntasks; i++) {
		int64_t v;

		if (res[i].outcome == SP_OK && res[i].len == sizeof(v)) {
			memcpy(&v, res[i].data, sizeof(v));
			printf("%s%lld", i ? ", " : "", (long long)v);
		} else {
			printf("%sNone", i ? ", " : "");
		}
	}
	printf("]\nkilled: [");
	sp_killed_tasks(pool, &killed, &nkilled);
	/* A task killed on several attempts is listed once, in index order. */
	for (long i = 0, first = 1; i < ntasks; i++) {
		for (size_t k = 0; k < nkilled; k++) {
			if (killed[k].index == (size_t)i) {
				printf("%s%ld", first ? "" : ", ", i);
				first = 0;
				break;
			}
		}
	}
	printf("]\n");
}

/* Say why the map was aborted. */
static void print_abort(sp_pool *pool, int r)
{
	struct sp_killed k;

	if (sp_abort_cause(pool, &k) == 0)
		printf("aborted: task %zu killed by SIG%s (attempt %u, worker %d, oom %s)\n",
		       k.index, sigabbrev_np(k.signal) ? sigabbrev_np(k.signal) : "?", k.attempts,
		       (int)k.pid, sp_oom_name(k.oom));
	else
		printf("aborted: %s\n", sp_strerror(r));
}

int main(int argc, char **argv)
{
	struct args a;
	int r, rc = 1;
	sp_pool *pool = NULL;
	int64_t *vals = NULL;
	const void **args = NULL;
	size_t *lens = NULL;
	struct sp_result *res = NULL;

	r = parse_args(argc, argv, &a);
	if (r < 0) {
		usage(stderr);
		return 2;
	}
	if (r > 0)
		return 0;
	vals = calloc((size_t)a.ntasks + 1, sizeof(*vals));
	args = calloc((size_t)a.ntasks + 1, sizeof(*args));
	lens = calloc((size_t)a.ntasks + 1, sizeof(*lens));
	res = calloc((size_t)a.ntasks + 1, sizeof(*res));
	if (!vals || !args || !lens || !res) {
		fprintf(stderr, "squares: out of memory\n");
		goto out;
	}
	for (long i = 0; i < a.ntasks; i++) {
		vals[i] = i;
		args[i] = &vals[i];
		lens[i] = sizeof(vals[i]);
	}
	r = sp_pool_create(&pool, &a.o);
	if (r < 0) {
		fprintf(stderr, "squares: cannot create the pool: %s\n", sp_strerror(r));
		goto out;
	}
	r = sp_map(pool, square, args, lens, (size_t)a.ntasks, res, NULL);
	if (r == SP_EABORTED) {
		print_abort(pool, r);
		rc = 3;
		goto out;
	}
	if (r < 0) {
		fprintf(stderr, "squares: map failed: %s\n", sp_strerror(r));
		goto out;
	}
	print_results(pool, res, a.ntasks);
	rc = 0;
out:
	if (res)
		sp_results_free(res, (size_t)a.ntasks);
	sp_pool_destroy(pool);
	free(vals);
	free(args);
	free(lens);
	free(res);
	return rc;
}
