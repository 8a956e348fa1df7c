/* A target for tests/test_reuse.c: its one worker runs task 0 through the
 * task kit and exits; then the target forks until the kernel hands out the
 * worker's PID again (likely in a PID namespace with a small pid_max) and
 * keeps that innocent process sleeping past the controller's timed fault
 * on worker 0. It prints `done` only if the innocent survived.
 *
 * stderr gets "reused pid P after N forks" (the test reads it); exit 3 when
 * the PID did not come back within the fork cap, 4 when the innocent was
 * killed. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../scenarios/kit/chaos_task.h"

#include "../util/testutil.h"

#define FORK_CAP 20000

static int wait_for(pid_t pid, int *st)
{
	pid_t r;

	do
		r = waitpid(pid, st, 0);
	while (r < 0 && errno == EINTR);
	return r == pid ? 0 : -1;
}

int main(void)
{
	unsigned innocent_ms = (unsigned)atoi(getenv("CTL_INNOCENT_MS") ? getenv("CTL_INNOCENT_MS")
									 : "3000");
	int64_t result = 0;
	pid_t worker, innocent = -1;
	int st, n;

	setvbuf(stdout, NULL, _IOLBF, 0);
	worker = fork();
	if (worker < 0)
		return 1;
	if (worker == 0)
		tu_child_exit(chaos_task_run(0, &result) == 0 ? 0 : 1);
	if (wait_for(worker, &st) || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return 1;
	printf("result 0 %" PRId64 "\n", (int64_t)0);
	/* Cycle through PIDs until the worker's comes back. */
	for (n = 1; n <= FORK_CAP; n++) {
		pid_t p = fork();

		if (p < 0)
			return 1;
		if (p == 0) {
			if (getpid() == worker) {
				struct timespec ts = {.tv_sec = innocent_ms / 1000,
						      .tv_nsec = (long)(innocent_ms % 1000) * 1000000L};

				while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
					;
			}
			tu_child_exit(0);
		}
		if (p == worker) {
			innocent = p;
			break;
		}
		if (wait_for(p, &st))
			return 1;
	}
	if (innocent < 0) {
		fprintf(stderr, "no reuse of pid %d after %d forks\n", (int)worker, FORK_CAP);
		return 3;
	}
	fprintf(stderr, "reused pid %d after %d forks\n", (int)worker, n);
	if (wait_for(innocent, &st))
		return 1;
	if (WIFSIGNALED(st)) {
		fprintf(stderr, "innocent pid %d killed by signal %d\n", (int)innocent,
			WTERMSIG(st));
		return 4;
	}
	fprintf(stderr, "innocent pid %d survived\n", (int)innocent);
	printf("done\n");
	return 0;
}
