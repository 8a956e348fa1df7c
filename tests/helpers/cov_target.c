/* Targets with unusual behaviour for tests/test_run.c, one per mode
 * (argv[1]). Each speaks the adapter contract on stdout and ends on its own
 * within a few seconds, so a run never depends on the deadline to finish.
 *
 *   idle MS     no worker at all: sleep MS milliseconds, print done.
 *   evil        break the event-socket protocol in every way the controller
 *               must survive (garbage, a task out of range, a second start
 *               on one connection, end/fail without start), print done.
 *   late MS     CHAOS_WORKERS forked workers that stay silent for MS
 *               milliseconds before they run their tasks through the kit,
 *               so a timed fault early in the run finds them only by
 *               scanning the run cgroup.
 *   escape      one worker that announces task 0, then moves itself into
 *               the memory cgroup named by COV_ESCAPE_PROCS (a cgroup.procs
 *               file outside the run), stays there for a second and ends
 *               the task; a timed fault meanwhile must refuse to signal it.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../scenarios/kit/chaos_task.h"

#include "../util/testutil.h"

/* A new connection to the controller's event socket, or -1. */
static int ev_connect(void)
{
	const char *path = getenv("CHAOS_EVENTS");
	struct sockaddr_un a;
	int fd;

	if (!path || strlen(path) >= sizeof(a.sun_path))
		return -1;
	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	strcpy(a.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Wait at most 5 s for the controller's answer: 1 for a reply line, 0 when
 * it closed the connection, -1 on timeout or error. */
static int ev_wait(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char buf[256];
	ssize_t n;

	if (poll(&p, 1, 5000) <= 0)
		return -1;
	n = read(fd, buf, sizeof(buf));
	return n > 0 ? 1 : n == 0 ? 0 : -1;
}

static int ev_send(int fd, const char *line)
{
	size_t len = strlen(line);

	return write(fd, line, len) == (ssize_t)len ? 0 : -1;
}

/* Send one line on a new connection and expect the controller to drop the
 * connection without an answer. Returns 0 when it did. */
static int refused(const char *line)
{
	int fd = ev_connect(), ret = -1;

	if (fd < 0)
		return -1;
	if (ev_send(fd, line) == 0 && ev_wait(fd) == 0)
		ret = 0;
	close(fd);
	return ret;
}

static int mode_evil(void)
{
	int fd, bad = 0;

	bad |= refused("hello there\n");
	bad |= refused("start 99999\n");
	bad |= refused("end 1 5\n");

	/* A second start on a connection that already started a task. */
	fd = ev_connect();
	if (fd < 0 || ev_send(fd, "start 0\n") || ev_wait(fd) != 1 || ev_send(fd, "start 1\n") ||
	    ev_wait(fd) != 0)
		bad = 1;
	if (fd >= 0)
		close(fd);

	/* fail is a valid end of a task; an end after it is not. */
	fd = ev_connect();
	if (fd < 0 || ev_send(fd, "start 2\n") || ev_wait(fd) != 1 ||
	    ev_send(fd, "fail 2 deliberately broken\n") || ev_send(fd, "end 2 4\n") ||
	    ev_wait(fd) != 0)
		bad = 1;
	if (fd >= 0)
		close(fd);
	printf("%s\n", bad ? "aborted the controller did not refuse a bad line" : "done");
	return 0;
}

/* Each worker runs the tasks k, k + W, k + 2W, ... after a silent pause. */
static int mode_late(unsigned pause_ms)
{
	const char *w = getenv("CHAOS_WORKERS"), *t = getenv("CHAOS_NTASKS");
	unsigned workers = w ? (unsigned)atoi(w) : 2, ntasks = t ? (unsigned)atoi(t) : 2, k;
	int status;

	if (workers == 0 || workers > 64)
		workers = 2;
	fflush(stdout);
	for (k = 0; k < workers; k++) {
		pid_t pid = fork();

		if (pid < 0)
			return 1;
		if (pid == 0) {
			char line[64];
			unsigned id;

			tu_sleep_ms(pause_ms);
			for (id = k; id < ntasks; id += workers) {
				int64_t result = 0;
				int n;

				if (chaos_task_run(id, &result) == 0)
					n = snprintf(line, sizeof(line), "result %u %" PRId64 "\n",
						     id, result);
				else
					n = snprintf(line, sizeof(line), "error %u task failed\n",
						     id);
				/* One write per line: below PIPE_BUF, so lines of
				 * different workers never interleave. */
				if (write(1, line, (size_t)n) != n)
					tu_child_exit(3);
			}
			tu_child_exit(0);
		}
	}
	while (wait(&status) > 0 || errno == EINTR)
		;
	printf("done\n");
	return 0;
}

static int mode_escape(void)
{
	const char *procs = getenv("COV_ESCAPE_PROCS");
	int status = 0, p[2];
	pid_t pid;

	if (!procs || pipe(p) < 0)
		return 1;
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		char me[32];
		int fd = ev_connect(), cg, ok;

		close(p[0]);
		if (fd < 0 || ev_send(fd, "start 0\n") || ev_wait(fd) != 1)
			tu_child_exit(2);
		snprintf(me, sizeof(me), "%d", (int)getpid());
		cg = open(procs, O_WRONLY | O_CLOEXEC);
		ok = cg >= 0 && write(cg, me, strlen(me)) == (ssize_t)strlen(me);
		if (cg >= 0)
			close(cg);
		/* Tell the pool where it stands, then stay long enough for
		 * the test's timed fault to look at this process. */
		if (write(p[1], ok ? "y" : "n", 1) != 1)
			tu_child_exit(2);
		close(p[1]);
		tu_sleep_ms(1000);
		ev_send(fd, "end 0 0\n");
		close(fd);
		tu_child_exit(ok ? 0 : 4);
	}
	close(p[1]);
	{
		char c = 'n';

		if (read(p[0], &c, 1) != 1 || c != 'y')
			printf("unexpected the worker could not leave the run cgroup\n");
	}
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		printf("result 0 0\n");
	else
		printf("lost 0\n");
	printf("done\n");
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (strcmp(mode, "idle") == 0) {
		tu_sleep_ms(argc > 2 ? (unsigned)atoi(argv[2]) : 300);
		printf("done\n");
		return 0;
	}
	if (strcmp(mode, "evil") == 0)
		return mode_evil();
	if (strcmp(mode, "late") == 0)
		return mode_late(argc > 2 ? (unsigned)atoi(argv[2]) : 300);
	if (strcmp(mode, "escape") == 0)
		return mode_escape();
	fprintf(stderr, "cov_target: unknown mode '%s'\n", mode);
	return 2;
}
