/* A small process pool that speaks the adapter contract, used as the target
 * of tests/test_run.c. Each task runs in its own forked worker through the
 * task kit; at most CHAOS_WORKERS run at once. A worker that dies before it
 * reports its result makes the task `lost`, and the pool carries on, so the
 * parent survives every kill of a worker.
 *
 * Modes (argv[1]): none, or "leak": also leave a sleeping process behind
 * (a deliberate leftover), or "spin": print done after CTL_SPIN_ITERS
 * loop iterations of CPU work (the throughput benchmark's unit of work),
 * or "slow": boot for 300 ms before the first task (a pool with a slow
 * start), or "daemon": leave a daemonized process behind that keeps
 * stdout open after the pool printed done and exited. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../scenarios/kit/chaos_task.h"

#include "../util/testutil.h"

struct slot {
	pid_t pid;
	int fd;
	uint32_t task;
};

static uint32_t env_u32(const char *name, uint32_t def)
{
	const char *v = getenv(name);

	return v && *v ? (uint32_t)strtoul(v, NULL, 10) : def;
}

/* The worker: run one task and write its result to the pipe. */
static void worker(uint32_t id, int fd)
{
	int64_t result = 0;
	char buf[64];
	int n, ret = chaos_task_run(id, &result);

	if (ret == 0)
		n = snprintf(buf, sizeof(buf), "ok %" PRId64 "\n", result);
	else
		n = snprintf(buf, sizeof(buf), "err %d\n", ret);
	if (write(fd, buf, (size_t)n) != n)
		tu_child_exit(3);
	tu_child_exit(0);
}

/* Wait for one worker and print its task's outcome. */
static void collect(struct slot *slots, uint32_t nslots)
{
	char buf[64];
	int status;
	uint32_t i;
	ssize_t n;
	pid_t pid;

	do
		pid = waitpid(-1, &status, 0);
	while (pid < 0 && errno == EINTR);
	for (i = 0; i < nslots; i++) {
		if (slots[i].pid != pid || pid <= 0)
			continue;
		n = read(slots[i].fd, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = '\0';
		if (n > 3 && strncmp(buf, "ok ", 3) == 0)
			printf("result %u %s", slots[i].task, buf + 3);
		else if (n > 4 && strncmp(buf, "err ", 4) == 0)
			printf("error %u task failed\n", slots[i].task);
		else
			printf("lost %u\n", slots[i].task);
		fflush(stdout);
		close(slots[i].fd);
		slots[i].pid = 0;
		return;
	}
}

int main(int argc, char **argv)
{
	uint32_t workers = env_u32("CHAOS_WORKERS", 2), ntasks = env_u32("CHAOS_NTASKS", 4);
	const char *mode = argc > 1 ? argv[1] : "";
	struct slot *slots;
	uint32_t next = 0, running = 0, i;

	if (workers == 0)
		workers = 1;
	slots = calloc(workers, sizeof(*slots));
	if (!slots)
		return 1;
	if (strcmp(mode, "spin") == 0) {
		/* A fixed amount of CPU work, for measuring overhead. */
		volatile uint64_t x = 0;
		uint64_t k, iters = env_u32("CTL_SPIN_ITERS", 100000000);

		for (k = 0; k < iters; k++)
			x += k * k;
		printf("done\n");
		return 0;
	}
	if (strcmp(mode, "slow") == 0)
		tu_sleep_ms(env_u32("CTL_BOOT_MS", 300));
	if (strcmp(mode, "leak") == 0 && fork() == 0) {
		/* Detached from stdout so that the controller sees EOF. */
		close(1);
		sleep(300);
		tu_child_exit(0);
	}
	while (next < ntasks || running > 0) {
		while (next < ntasks && running < workers) {
			int p[2];
			pid_t pid;

			for (i = 0; i < workers && slots[i].pid; i++)
				;
			if (pipe(p) < 0)
				return 1;
			fflush(stdout);
			pid = fork();
			if (pid < 0)
				return 1;
			if (pid == 0) {
				close(p[0]);
				worker(next, p[1]);
			}
			close(p[1]);
			slots[i].pid = pid;
			slots[i].fd = p[0];
			slots[i].task = next++;
			running++;
		}
		collect(slots, workers);
		running--;
	}
	printf("done\n");
	fflush(stdout);
	if (strcmp(mode, "daemon") == 0 && fork() == 0) {
		/* A new session, stdout kept: the controller never sees EOF. */
		setsid();
		sleep(300);
		tu_child_exit(0);
	}
	free(slots);
	return 0;
}
