/* Start-up cost of libsafepool: a pool of W workers plus one task.
 *
 * Prints one JSON object with the seconds from sp_pool_create() to the
 * result of the first task, the same span bench/pybench.py measures for the
 * Python pools (after the program has started, before teardown). bench/run
 * compiles this file against <build>/libsafepool.a and runs it once per
 * repetition, interleaved with the Python pools.
 *
 * Usage: sp_start [WORKERS]
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "safepool.h"

/* The task does nothing but return its argument, so the time measured is
 * the pool's own: fork, pipes, pidfds, one round trip. */
static int echo_task(const struct sp_task_ctx *ctx, const void *arg, size_t arg_len,
		     void **result, size_t *result_len)
{
	void *copy;

	(void)ctx;
	copy = malloc(arg_len ? arg_len : 1);
	if (!copy)
		return 1;
	memcpy(copy, arg, arg_len);
	*result = copy;
	*result_len = arg_len;
	return 0;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	struct sp_options opts;
	struct sp_result res;
	sp_pool *pool = NULL;
	uint32_t arg = 7, got = 0;
	uint64_t id = 0;
	int64_t t0, t1;
	int err, rc = 1;

	sp_options_init(&opts);
	opts.workers = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 2;
	memset(&res, 0, sizeof(res));

	t0 = now_ns();
	err = sp_pool_create(&pool, &opts);
	if (err < 0) {
		fprintf(stderr, "sp_start: sp_pool_create: %s\n", sp_strerror(err));
		goto out;
	}
	err = sp_submit(pool, echo_task, &arg, sizeof(arg), &id);
	if (err < 0) {
		fprintf(stderr, "sp_start: sp_submit: %s\n", sp_strerror(err));
		goto out;
	}
	/* Bounded: a pool that cannot run one task in 30 s is broken. */
	err = sp_wait(pool, id, 30000, &res, NULL);
	t1 = now_ns();
	if (err < 0) {
		fprintf(stderr, "sp_start: sp_wait: %s\n", sp_strerror(err));
		goto out;
	}
	if (res.outcome != SP_OK || res.len != sizeof(got)) {
		fprintf(stderr, "sp_start: first task ended %s\n", sp_outcome_name(res.outcome));
		goto out;
	}
	memcpy(&got, res.data, sizeof(got));
	if (got != arg) {
		fprintf(stderr, "sp_start: wrong result %u\n", (unsigned)got);
		goto out;
	}
	printf("{\"impl\": \"safepool\", \"mode\": \"start\", \"workers\": %u, \"seconds\": %.9f}\n",
	       opts.workers, (double)(t1 - t0) / 1e9);
	rc = 0;
out:
	sp_results_free(&res, 1);
	sp_pool_destroy(pool);
	return rc;
}
