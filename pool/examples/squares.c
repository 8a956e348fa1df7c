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

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"workers", required_argument, NULL, 'w'}, {"tasks", required_argument, NULL, 'n'},
		{"policy", required_argument, NULL, 'p'},  {"kill-task", required_argument, NULL, 'k'},
		{"retries", required_argument, NULL, 'r'}, {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}};
	struct sp_options o;
	long workers = 4, ntasks = 10, retries = 3;
	int c, r, rc = 1;
	sp_pool *pool = NULL;
	int64_t *vals = NULL;
	const void **args = NULL;
	size_t *lens = NULL;
	struct sp_result *res = NULL;
	const struct sp_killed *killed;
	size_t nkilled = 0;

	sp_options_init(&o);
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'w':
			if (parse_num(optarg, 1, &workers) || workers > 1024)
				goto bad;
			break;
		case 'n':
			if (parse_num(optarg, 0, &ntasks) || ntasks > 10000000)
				goto bad;
			break;
		case 'k':
			if (parse_num(optarg, 0, &kill_task))
				goto bad;
			break;
		case 'r':
			if (parse_num(optarg, 0, &retries) || retries > 1000)
				goto bad;
			break;
		case 'p':
			if (strcmp(optarg, "skip") == 0)
				o.policy = SP_POLICY_SKIP;
			else if (strcmp(optarg, "abort") == 0)
				o.policy = SP_POLICY_ABORT;
			else if (strcmp(optarg, "retry") == 0)
				o.policy = SP_POLICY_RETRY;
			else
				goto bad;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			goto bad;
		}
	}
	if (optind != argc)
		goto bad;
	o.workers = (unsigned)workers;
	o.max_retries = (unsigned)retries;
	vals = calloc((size_t)ntasks + 1, sizeof(*vals));
	args = calloc((size_t)ntasks + 1, sizeof(*args));
	lens = calloc((size_t)ntasks + 1, sizeof(*lens));
	res = calloc((size_t)ntasks + 1, sizeof(*res));
	if (!vals || !args || !lens || !res) {
		fprintf(stderr, "squares: out of memory\n");
		goto out;
	}
	for (long i = 0; i < ntasks; i++) {
		vals[i] = i;
		args[i] = &vals[i];
		lens[i] = sizeof(vals[i]);
	}
	r = sp_pool_create(&pool, &o);
	if (r < 0) {
		fprintf(stderr, "squares: cannot create the pool: %s\n", sp_strerror(r));
		goto out;
	}
	r = sp_map(pool, square, args, lens, (size_t)ntasks, res, NULL);
	if (r == SP_EABORTED) {
		struct sp_killed k;

		if (sp_abort_cause(pool, &k) == 0)
			printf("aborted: task %zu killed by SIG%s (attempt %u, worker %d, oom %s)\n",
			       k.index, sigabbrev_np(k.signal) ? sigabbrev_np(k.signal) : "?",
			       k.attempts, (int)k.pid, sp_oom_name(k.oom));
		else
			printf("aborted: %s\n", sp_strerror(r));
		rc = 3;
		goto out;
	}
	if (r < 0) {
		fprintf(stderr, "squares: map failed: %s\n", sp_strerror(r));
		goto out;
	}
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
	rc = 0;
out:
	if (res)
		sp_results_free(res, (size_t)ntasks);
	sp_pool_destroy(pool);
	free(vals);
	free(args);
	free(lens);
	free(res);
	return rc;
bad:
	usage(stderr);
	return 2;
}
