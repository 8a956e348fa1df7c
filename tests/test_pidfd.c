/* sys/pidfd: opening, signalling and asking a pidfd about a real child,
 * before and after it is reaped. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "sys/io.h"
#include "sys/pidfd.h"

static void test_open_signal_reap(void **state)
{
	struct pollfd p;
	pid_t child, seen;
	int fd, status;

	(void)state;
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		pause();
		_exit(0);
	}
	fd = chaos_pidfd_open(child);
	assert_true(fd >= 0);
	assert_int_equal(chaos_pidfd_pid(fd, &seen), 0);
	assert_int_equal(seen, child);
	assert_int_equal(chaos_pidfd_signal(fd, 0), 0);
	assert_int_equal(chaos_pidfd_signal(fd, SIGKILL), 0);
	/* The pidfd becomes readable when the child has exited. */
	p.fd = fd;
	p.events = POLLIN;
	assert_int_equal(chaos_poll_ms(&p, 1, 10000), 1);
	assert_int_equal(chaos_waitpid(child, &status, 0), child);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	/* Reaped: the pidfd names no process any more, and signals fail with
	 * ESRCH instead of reaching whoever reuses the PID. */
	assert_int_equal(chaos_pidfd_pid(fd, &seen), 0);
	assert_int_equal(seen, -1);
	assert_int_equal(chaos_pidfd_signal(fd, SIGKILL), -ESRCH);
	close(fd);
	assert_int_equal(chaos_pidfd_open(child), -ESRCH);
	assert_int_equal(chaos_pidfd_signal(-1, SIGKILL), -EBADF);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_signal_reap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
