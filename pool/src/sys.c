/* Blocking calls of libsafepool that must survive a caller's signal
 * handlers: a program may install one without SA_RESTART, and then every
 * blocking call returns EINTR early. The library cannot use the
 * controller's helpers (it depends on nothing of chaos/), hence these. */
#include <errno.h>
#include <sys/wait.h>
#include <time.h>

#include "internal.h"

int sp__reap_pidfd(int pidfd)
{
	siginfo_t si;

	/* Its own siginfo: on ECHILD the kernel still writes zeros into it,
	 * which must not erase a status a caller learned before. */
	for (;;) {
		if (waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED) == 0)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}

int sp__reap_pid(pid_t pid)
{
	for (;;) {
		if (waitpid(pid, NULL, 0) >= 0)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}

void sp__sleep_ns(int64_t ns)
{
	struct timespec until;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += (time_t)(ns / 1000000000);
	until.tv_nsec += (long)(ns % 1000000000);
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	/* clock_nanosleep returns the error instead of setting errno. */
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR)
		;
}
