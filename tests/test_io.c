/* sys/io: the EINTR-safe, deadline-bounded blocking calls, each under a
 * real signal storm (a child signalling this process every 100 us, caught
 * by a handler without SA_RESTART): a wait must end at its deadline or its
 * event, never early. Every wait is bounded; the program runs under
 * `timeout`. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "sys/io.h"
#include "util/testutil.h"

#define STORM_US 100
#define WAIT_MS 300    /* the deadline the waits under test must reach */
#define LIMIT_MS 10000 /* bound on everything that should end much sooner */

/* The storm of the running test; tu_storm_teardown() stops it even when
 * an assertion ended the test early. */
static struct tu_storm storm = {.pid = -1};

/* Start a storm and prove it works: a raw poll() with a long timeout must
 * come back early with EINTR, which is what the wrappers must hide. */
static void storm_on(struct tu_storm *st)
{
	int64_t t0;
	int r;

	assert_int_equal(tu_storm_start(st, SIGUSR1, STORM_US), 0);
	t0 = chaos_clock_ms();
	r = poll(NULL, 0, LIMIT_MS);
	assert_int_equal(r, -1);
	assert_int_equal(errno, EINTR);
	assert_true(chaos_clock_ms() - t0 < LIMIT_MS);
}

static void storm_off(struct tu_storm *st)
{
	assert_true(tu_storm_stop(st) > 0);
	tu_assert_no_children();
}

/* A child that sleeps ms (resuming after signals), then runs fn(arg) and
 * exits with its value. */
static pid_t later(unsigned ms, int (*fn)(int), int arg)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		tu_sleep_ms(ms);
		tu_child_exit(fn(arg));
	}
	return pid;
}

static int write_x(int fd)
{
	return write(fd, "x", 1) == 1 ? 0 : 1;
}

static int exit_code(int code)
{
	return code;
}

static void test_clock_and_deadline(void **state)
{
	struct pollfd p;
	int fds[2];
	int64_t now;

	(void)state;
	assert_int_equal(chaos_deadline_ms(-1), -1);
	now = chaos_clock_ms();
	assert_true(chaos_deadline_ms(50) >= now + 50);
	assert_int_equal(pipe(fds), 0);
	p.fd = fds[0];
	p.events = POLLIN;
	/* Timeout 0 and a deadline already past: one look, no wait. */
	assert_int_equal(chaos_poll_ms(&p, 1, 0), 0);
	assert_int_equal(chaos_poll_until(&p, 1, now - 1000), 0);
	assert_int_equal(write(fds[1], "x", 1), 1);
	assert_int_equal(chaos_poll_ms(&p, 1, 0), 1);
	assert_true(p.revents & POLLIN);
	/* An invalid descriptor is an error, not a timeout. */
	assert_int_equal(chaos_epoll_ms(-1, NULL, 1, 0), -EBADF);
	close(fds[0]);
	close(fds[1]);
}

static void test_poll_under_storm(void **state)
{
	struct tu_storm *st = &storm;
	struct pollfd p;
	int fds[2];
	int64_t deadline;
	char c;
	pid_t w;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	p.fd = fds[0];
	p.events = POLLIN;
	storm_on(st);
	/* Nothing comes: the wait lasts until the deadline, not less. */
	deadline = chaos_clock_ms() + WAIT_MS;
	assert_int_equal(chaos_poll_until(&p, 1, deadline), 0);
	assert_true(chaos_clock_ms() >= deadline);
	/* A byte comes after WAIT_MS: the wait ends with it. */
	w = later(WAIT_MS, write_x, fds[1]);
	assert_int_equal(chaos_poll_ms(&p, 1, LIMIT_MS), 1);
	assert_true(p.revents & POLLIN);
	assert_int_equal(read(fds[0], &c, 1), 1);
	assert_int_equal(tu_wait_child(w, LIMIT_MS), 0);
	storm_off(st);
	close(fds[0]);
	close(fds[1]);
}

static void test_epoll_under_storm(void **state)
{
	struct epoll_event ev = {.events = EPOLLIN}, out[4];
	struct tu_storm *st = &storm;
	int fds[2], ep;
	int64_t deadline;
	pid_t w;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	ep = epoll_create1(EPOLL_CLOEXEC);
	assert_true(ep >= 0);
	ev.data.u64 = 42;
	assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, fds[0], &ev), 0);
	storm_on(st);
	deadline = chaos_clock_ms() + WAIT_MS;
	assert_int_equal(chaos_epoll_until(ep, out, 4, deadline), 0);
	assert_true(chaos_clock_ms() >= deadline);
	w = later(WAIT_MS, write_x, fds[1]);
	assert_int_equal(chaos_epoll_ms(ep, out, 4, LIMIT_MS), 1);
	assert_int_equal(out[0].data.u64, 42);
	assert_int_equal(tu_wait_child(w, LIMIT_MS), 0);
	storm_off(st);
	close(ep);
	close(fds[0]);
	close(fds[1]);
}

static void test_wait_under_storm(void **state)
{
	struct tu_storm *st = &storm;
	siginfo_t si;
	int status = 0, pidfd;
	pid_t a, b;

	(void)state;
	storm_on(st);
	a = later(WAIT_MS, exit_code, 7);
	/* Still running: WNOHANG says so without waiting. */
	assert_int_equal(chaos_waitpid(a, &status, WNOHANG), 0);
	assert_int_equal(chaos_waitpid(a, &status, 0), a);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 7);
	assert_int_equal(chaos_waitpid(a, NULL, 0), -ECHILD);

	b = later(WAIT_MS, exit_code, 5);
	pidfd = (int)syscall(SYS_pidfd_open, b, 0);
	assert_true(pidfd >= 0);
	memset(&si, 0, sizeof(si));
	assert_int_equal(chaos_waitid((idtype_t)P_PIDFD, (id_t)pidfd, &si, WEXITED), 0);
	assert_int_equal(si.si_pid, b);
	assert_int_equal(si.si_code, CLD_EXITED);
	assert_int_equal(si.si_status, 5);
	assert_int_equal(chaos_waitid((idtype_t)P_PIDFD, (id_t)pidfd, NULL, WEXITED), -ECHILD);
	close(pidfd);
	storm_off(st);
}

static void test_sleep_under_storm(void **state)
{
	struct tu_storm *st = &storm;
	int64_t t0;

	(void)state;
	storm_on(st);
	t0 = chaos_clock_ms();
	chaos_sleep_us((uint64_t)WAIT_MS * 1000);
	assert_true(chaos_clock_ms() - t0 >= WAIT_MS);
	/* Over a second: the whole-seconds part of the deadline. */
	t0 = chaos_clock_ms();
	chaos_sleep_us(1000 * 1000 + 1000);
	assert_true(chaos_clock_ms() - t0 >= 1001);
	storm_off(st);
}

#define BULK (4u << 20)
static int bulk_wr = -1; /* the write end, which the reader must close */

/* The reader side of test_write_all: BULK bytes of the pattern, then EOF. */
static int read_bulk(int fd)
{
	static unsigned char buf[65536];
	size_t got = 0;

	close(bulk_wr); /* or EOF never comes */
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return 2;
		if (n == 0)
			break;
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != (unsigned char)((got + (size_t)i) * 31))
				return 3;
		got += (size_t)n;
	}
	return got == BULK ? 0 : 4;
}

static void test_write_all_under_storm(void **state)
{
	struct tu_storm *st = &storm;
	unsigned char *data = malloc(BULK);
	int fds[2];
	pid_t r;

	(void)state;
	assert_non_null(data);
	for (size_t i = 0; i < BULK; i++)
		data[i] = (unsigned char)(i * 31);
	storm_on(st);
	/* After the storm child is forked, so that it holds no write end. */
	assert_int_equal(pipe(fds), 0);
	bulk_wr = fds[1];
	/* The pipe holds 64 KiB: the writer blocks, is interrupted, and
	 * must go on where the short write left off. */
	r = later(50, read_bulk, fds[0]);
	close(fds[0]);
	assert_int_equal(chaos_write_all(fds[1], data, BULK), 0);
	close(fds[1]);
	assert_int_equal(tu_wait_child(r, LIMIT_MS), 0);
	storm_off(st);
	free(data);
}

/* The listening socket's address, set by the test before the child is
 * forked (abstract: nothing to clean up in the file system). */
static struct sockaddr_un test_addr;
/* Connect to the test's socket and expect "hello". */
static int connect_hello(int unused)
{
	char buf[8] = {0};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	size_t have = 0;

	(void)unused;
	if (fd < 0 || connect(fd, (struct sockaddr *)&test_addr, sizeof(test_addr)) < 0)
		return 1;
	while (have < 5) {
		ssize_t n = read(fd, buf + have, 5 - have);

		if (n <= 0)
			return 2;
		have += (size_t)n;
	}
	return strcmp(buf, "hello") == 0 ? 0 : 3;
}

static void test_accept_send_under_storm(void **state)
{
	struct tu_storm *st = &storm;
	struct pollfd p;
	int lfd, fd;
	pid_t c;

	(void)state;
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	assert_true(lfd >= 0);
	memset(&test_addr, 0, sizeof(test_addr));
	test_addr.sun_family = AF_UNIX;
	snprintf(test_addr.sun_path + 1, sizeof(test_addr.sun_path) - 1, "chaos-test-io-%d",
		 (int)getpid());
	assert_int_equal(bind(lfd, (struct sockaddr *)&test_addr, sizeof(test_addr)), 0);
	assert_int_equal(listen(lfd, 4), 0);
	storm_on(st);
	c = later(WAIT_MS, connect_hello, 0);
	/* Non-blocking listener: the wait is the bounded poll, not accept. */
	p.fd = lfd;
	p.events = POLLIN;
	assert_int_equal(chaos_poll_ms(&p, 1, LIMIT_MS), 1);
	fd = chaos_accept(lfd, SOCK_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(chaos_send(fd, "hello", 5, MSG_NOSIGNAL), 5);
	assert_int_equal(tu_wait_child(c, LIMIT_MS), 0);
	close(fd);
	assert_int_equal(chaos_accept(lfd, 0), -EAGAIN); /* nobody else waits */
	assert_int_equal(chaos_accept(-1, 0), -EBADF);
	storm_off(st);
	close(lfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_clock_and_deadline),
	    cmocka_unit_test_teardown(test_poll_under_storm, tu_storm_teardown),
	    cmocka_unit_test_teardown(test_epoll_under_storm, tu_storm_teardown),
	    cmocka_unit_test_teardown(test_wait_under_storm, tu_storm_teardown),
	    cmocka_unit_test_teardown(test_sleep_under_storm, tu_storm_teardown),
	    cmocka_unit_test_teardown(test_write_all_under_storm, tu_storm_teardown),
	    cmocka_unit_test_teardown(test_accept_send_under_storm, tu_storm_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
