/* EINTR-safe, deadline-bounded blocking calls of the controller (sys/io.h). */
#include "sys/io.h"

#include <errno.h>
#include <limits.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int64_t chaos_clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t chaos_deadline_ms(int timeout_ms)
{
	return timeout_ms < 0 ? -1 : chaos_clock_ms() + timeout_ms;
}

/* What is left of deadline_ms as a poll/epoll timeout: -1 for no deadline,
 * 0 once it passed. Recomputed before every call, so a retry after EINTR
 * waits only for the rest. */
static int left_ms(int64_t deadline_ms)
{
	int64_t left;

	if (deadline_ms < 0)
		return -1;
	left = deadline_ms - chaos_clock_ms();
	if (left <= 0)
		return 0;
	return left > INT_MAX ? INT_MAX : (int)left;
}

int chaos_poll_until(struct pollfd *fds, nfds_t nfds, int64_t deadline_ms)
{
	/* A zero timeout never sleeps, so the kernel does not report EINTR
	 * for it: the loop ends at the latest with the call after the
	 * deadline. */
	for (;;) {
		int n = poll(fds, nfds, left_ms(deadline_ms));

		if (n >= 0)
			return n;
		if (errno != EINTR)
			return -errno;
	}
}

int chaos_poll_ms(struct pollfd *fds, nfds_t nfds, int timeout_ms)
{
	return chaos_poll_until(fds, nfds, chaos_deadline_ms(timeout_ms));
}

int chaos_epoll_until(int epfd, struct epoll_event *evs, int maxevents, int64_t deadline_ms)
{
	for (;;) {
		int n = epoll_wait(epfd, evs, maxevents, left_ms(deadline_ms));

		if (n >= 0)
			return n;
		if (errno != EINTR)
			return -errno;
	}
}

int chaos_epoll_ms(int epfd, struct epoll_event *evs, int maxevents, int timeout_ms)
{
	return chaos_epoll_until(epfd, evs, maxevents, chaos_deadline_ms(timeout_ms));
}

pid_t chaos_waitpid(pid_t pid, int *status, int options)
{
	for (;;) {
		pid_t r = waitpid(pid, status, options);

		if (r >= 0)
			return r;
		if (errno != EINTR)
			return -errno;
	}
}

int chaos_waitid(idtype_t idtype, id_t id, siginfo_t *si, int options)
{
	siginfo_t scratch;

	for (;;) {
		if (waitid(idtype, id, si ? si : &scratch, options) == 0)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}

void chaos_sleep_us(uint64_t us)
{
	struct timespec until;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += (time_t)(us / 1000000);
	until.tv_nsec += (long)(us % 1000000) * 1000;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	/* clock_nanosleep returns the error instead of setting errno. */
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR)
		;
}

int chaos_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		if (w == 0)
			return -EIO; /* no progress: do not spin */
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

ssize_t chaos_send(int fd, const void *buf, size_t len, int flags)
{
	for (;;) {
		ssize_t n = send(fd, buf, len, flags);

		if (n >= 0)
			return n;
		if (errno != EINTR)
			return -errno;
	}
}

int chaos_accept(int lfd, int flags)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, flags);

		if (fd >= 0)
			return fd;
		if (errno != EINTR)
			return -errno;
	}
}
