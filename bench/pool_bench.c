/* pool_bench: libsafepool dispatch rate and kill-to-reported latency.
 * Prints one JSON object on stdout. Usage: pool_bench [--tasks N] [--trials N]
 * Timing is informative only; nothing here decides a test. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "safepool.h"

static int pid_pipe[2] = {-1, -1};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int noop(const struct sp_task_ctx *ctx, const void *arg, size_t len, void **res,
		size_t *res_len)
{
	(void)ctx;
	(void)arg;
	(void)len;
	(void)res;
	(void)res_len;
	return 0;
}

/* Announce the worker's PID, then wait to be killed. */
static int victim(const struct sp_task_ctx *ctx, const void *arg, size_t len, void **res,
		  size_t *res_len)
{
	pid_t self = getpid();

	(void)ctx;
	(void)arg;
	(void)len;
	(void)res;
	(void)res_len;
	if (write(pid_pipe[1], &self, sizeof(self)) != sizeof(self))
		return 1;
	for (;;)
		pause();
}

/* Tasks per second for n no-op tasks on 2 workers, after a warm-up map. */
static double dispatch_rate(size_t n, unsigned batch, unsigned pipeline)
{
	struct sp_options o;
	sp_pool *p = NULL;
	const void **args = calloc(n, sizeof(*args));
	size_t *lens = calloc(n, sizeof(*lens));
	struct sp_result *res = calloc(n, sizeof(*res));
	double t0, rate = -1;

	sp_options_init(&o);
	o.workers = 2;
	o.batch = batch;
	o.pipeline = pipeline;
	if (!args || !lens || !res || sp_pool_create(&p, &o) < 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		args[i] = "";
	if (sp_map(p, noop, args, lens, n < 1000 ? n : 1000, res, NULL) < 0)
		goto out;
	t0 = now_s();
	if (sp_map(p, noop, args, lens, n, res, NULL) < 0)
		goto out;
	rate = (double)n / (now_s() - t0);
	for (size_t i = 0; i < n; i++)
		if (res[i].outcome != SP_OK)
			rate = -1;
out:
	sp_pool_destroy(p);
	free(args);
	free(lens);
	free(res);
	return rate;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Kill a busy worker by pidfd and time until sp_wait() reports the task.
 * On success *samples gets the sorted latencies (caller frees). */
static int kill_latency(int trials, double *median_ms, double *p99_ms, double **samples)
{
	struct sp_options o;
	sp_pool *p = NULL;
	double *lat = calloc((size_t)trials, sizeof(*lat));
	int r = -1, done = 0;

	sp_options_init(&o);
	o.workers = 2;
	o.restart_max = 0; /* every trial kills a worker on purpose */
	if (!lat || sp_pool_create(&p, &o) < 0)
		goto out;
	for (; done < trials; done++) {
		struct pollfd pfd = {pid_pipe[0], POLLIN, 0};
		struct sp_result res;
		uint64_t id;
		pid_t pid;
		int pidfd;
		double t0;

		if (sp_submit(p, victim, "", 0, &id) < 0)
			goto out;
		/* The submit wrote the task; its worker answers with its PID. */
		if (poll(&pfd, 1, 5000) != 1 || read(pid_pipe[0], &pid, sizeof(pid)) != sizeof(pid))
			goto out;
		pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
		if (pidfd < 0)
			goto out;
		t0 = now_s();
		syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
		close(pidfd);
		if (sp_wait(p, id, 5000, &res, NULL) < 0 || res.outcome != SP_KILLED)
			goto out;
		lat[done] = (now_s() - t0) * 1e3;
	}
	qsort(lat, (size_t)trials, sizeof(*lat), cmp_double);
	*median_ms = lat[trials / 2];
	*p99_ms = lat[(trials * 99 + 99) / 100 - 1];
	*samples = lat;
	lat = NULL;
	r = 0;
out:
	sp_pool_destroy(p);
	free(lat);
	return r;
}

int main(int argc, char **argv)
{
	long tasks = 20000, trials = 200;
	double per_task, batched, med = -1, p99 = -1, *samples = NULL;

	for (int i = 1; i < argc; i++) {
		if (i + 1 < argc && strcmp(argv[i], "--tasks") == 0)
			tasks = strtol(argv[++i], NULL, 10);
		else if (i + 1 < argc && strcmp(argv[i], "--trials") == 0)
			trials = strtol(argv[++i], NULL, 10);
		else {
			fprintf(stderr, "usage: pool_bench [--tasks N] [--trials N]\n");
			return 2;
		}
	}
	if (tasks < 1 || trials < 1) {
		fprintf(stderr, "pool_bench: --tasks and --trials must be positive\n");
		return 2;
	}
	if (pipe2(pid_pipe, O_CLOEXEC) < 0)
		return 1;
	per_task = dispatch_rate((size_t)tasks, 1, 16);
	batched = dispatch_rate((size_t)tasks, 64, 256);
	if (kill_latency((int)trials, &med, &p99, &samples) < 0)
		fprintf(stderr, "pool_bench: kill latency measurement failed\n");
	printf("{\"workers\": 2, \"tasks\": %ld, \"per_task_tasks_per_s\": %.0f, "
	       "\"batched_tasks_per_s\": %.0f, \"batch\": 64, \"kill_trials\": %ld, "
	       "\"kill_to_reported_median_ms\": %.3f, \"kill_to_reported_p99_ms\": %.3f, "
	       "\"kill_samples_ms\": [",
	       tasks, per_task, batched, trials, med, p99);
	for (long i = 0; samples && i < trials; i++)
		printf("%s%.4f", i ? ", " : "", samples[i]);
	printf("]}\n");
	free(samples);
	return per_task < 0 || batched < 0 || med < 0 ? 1 : 0;
}
