/* Targets that misbehave on purpose, for tests/test_hostile.c. Each mode
 * attacks one thing the controller must survive; the controller must end
 * the run with the right verdict, report the misbehaviour in the history
 * and leave nothing behind.
 *
 * Modes (argv[1]):
 *   garbage      binary bytes, unknown words and an overlong line on stdout,
 *                then `done`
 *   escape       a grandchild that leaves the process tree (setsid and a
 *                double fork) and outlives the target, which prints `done`
 *   ignore-term  ignores SIGTERM (and so does its child) and never ends
 *   close-mid    event connections closed in the middle of a line and after
 *                `start` without `end`, then `done`
 *   flood        megabytes without a newline on one connection, then
 *                thousands of connections, then `done`
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../util/testutil.h"

/* Write all of buf (a hostile peer is not excused from partial writes). */
static int write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* A blocking connection to the controller's event socket, or -1. */
static int connect_events(int nonblock)
{
	const char *path = getenv("CHAOS_EVENTS");
	struct sockaddr_un a;
	int fd;

	if (!path || strlen(path) >= sizeof(a.sun_path))
		return -1;
	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	memcpy(a.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int mode_garbage(void)
{
	static const unsigned char bin[] = {0x00, 0xff, 0xfe, 0x1b, '[', '3', '1', 'm', 0x80,
					    '\n'};
	char *big;

	printf("hello there\n");
	printf("result notanumber 7\n");
	printf("result 0\n");
	fflush(stdout);
	write_all(1, bin, sizeof(bin));
	/* A line longer than the controller keeps (4096 bytes). */
	big = malloc(20000);
	if (!big)
		return 1;
	memset(big, 'x', 19999);
	big[19999] = '\n';
	write_all(1, big, 20000);
	free(big);
	printf("done\n");
	return 0;
}

static int mode_escape(void)
{
	pid_t child = fork();
	int st;

	if (child < 0)
		return 1;
	if (child == 0) {
		/* A new session, then a second fork: the grandchild has no
		 * parent in the target's tree and no controlling terminal. */
		setsid();
		if (fork() == 0) {
			signal(SIGTERM, SIG_IGN);
			signal(SIGHUP, SIG_IGN);
			close(1); /* else the controller would wait for its EOF */
			tu_sleep_ms(300000);
			tu_child_exit(0);
		}
		tu_child_exit(0);
	}
	while (waitpid(child, &st, 0) < 0 && errno == EINTR)
		;
	printf("done\n");
	return 0;
}

static void mode_ignore_term(void) __attribute__((noreturn));
static void mode_ignore_term(void)
{
	signal(SIGTERM, SIG_IGN);
	if (fork() == 0) {
		tu_sleep_ms(300000);
		tu_child_exit(0);
	}
	for (;;)
		pause();
}

static int mode_close_mid(void)
{
	char buf[64];
	struct pollfd p;
	int fd;

	/* Half a line, then EOF. */
	fd = connect_events(0);
	if (fd < 0)
		return 2;
	write_all(fd, "sta", 3);
	close(fd);
	/* A start, its go, half an end, then EOF while still alive. */
	fd = connect_events(0);
	if (fd < 0)
		return 2;
	write_all(fd, "start 0\n", 8);
	p.fd = fd;
	p.events = POLLIN;
	if (poll(&p, 1, 5000) == 1 && read(fd, buf, sizeof(buf)) > 0)
		write_all(fd, "end 0 ", 6);
	close(fd);
	/* Live long enough for the controller to notice the orphaned task. */
	tu_sleep_ms(1500);
	printf("done\n");
	return 0;
}

static int mode_flood(void)
{
	struct rlimit rl;
	char *junk;
	int fd, i, opened = 0, refused = 0;
	int *fds;
	size_t sent = 0;

	/* Megabytes without a newline: the controller must cut it off. */
	fd = connect_events(0);
	if (fd < 0)
		return 2;
	junk = malloc(65536);
	if (!junk)
		return 1;
	memset(junk, 'A', 65536);
	signal(SIGPIPE, SIG_IGN);
	while (sent < (8u << 20)) {
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		ssize_t w;

		/* The controller closes the connection after the limit; a
		 * bounded poll keeps this side from blocking forever. */
		if (poll(&p, 1, 2000) != 1 || (p.revents & (POLLERR | POLLHUP)))
			break;
		w = send(fd, junk, 65536, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (w <= 0)
			break;
		sent += (size_t)w;
	}
	close(fd);
	free(junk);
	fprintf(stderr, "flood: sent %zu bytes without a newline\n", sent);

	/* Thousands of connections, kept open at once. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	fds = calloc(3000, sizeof(*fds));
	if (!fds)
		return 1;
	for (i = 0; i < 3000; i++) {
		fds[i] = connect_events(1);
		if (fds[i] >= 0) {
			opened++;
			/* Half of them also send half a line. */
			if (i % 2)
				(void)!send(fds[i], "start", 5, MSG_NOSIGNAL | MSG_DONTWAIT);
		} else {
			refused++;
		}
	}
	fprintf(stderr, "flood: %d connections open, %d refused\n", opened, refused);
	tu_sleep_ms(500);
	for (i = 0; i < 3000; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(fds);
	printf("done\n");
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(mode, "garbage"))
		return mode_garbage();
	if (!strcmp(mode, "escape"))
		return mode_escape();
	if (!strcmp(mode, "ignore-term"))
		mode_ignore_term();
	if (!strcmp(mode, "close-mid"))
		return mode_close_mid();
	if (!strcmp(mode, "flood"))
		return mode_flood();
	fprintf(stderr, "hostile_target: unknown mode '%s'\n", mode);
	return 2;
}
