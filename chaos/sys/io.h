/* Blocking calls that survive signals: every wait here retries EINTR and,
 * when it has a deadline, recomputes what is left of it from the monotonic
 * clock, so a handler installed without SA_RESTART (the CLI's, or one of a
 * library user) can neither shorten a wait nor turn it into a timeout. */
#ifndef CHAOS_IO_H
#define CHAOS_IO_H

#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/types.h>
#include <sys/wait.h>

/* CLOCK_MONOTONIC in milliseconds: the clock of every deadline below. */
int64_t chaos_clock_ms(void);

/* The absolute deadline timeout_ms from now; a negative timeout means no
 * deadline and gives -1, which the functions below read as "wait for ever". */
int64_t chaos_deadline_ms(int timeout_ms);

/* poll() until an event or the absolute deadline (chaos_clock_ms() time;
 * -1: none). Returns the number of ready descriptors, 0 when the deadline
 * passed first, or -errno (never -EINTR). */
int chaos_poll_until(struct pollfd *fds, nfds_t nfds, int64_t deadline_ms);

/* chaos_poll_until() with a deadline timeout_ms from now (-1: none). */
int chaos_poll_ms(struct pollfd *fds, nfds_t nfds, int timeout_ms);

/* epoll_wait() until an event or the absolute deadline (-1: none). Returns
 * the number of events, 0 at the deadline, or -errno (never -EINTR). */
int chaos_epoll_until(int epfd, struct epoll_event *evs, int maxevents, int64_t deadline_ms);

/* chaos_epoll_until() with a deadline timeout_ms from now (-1: none). */
int chaos_epoll_ms(int epfd, struct epoll_event *evs, int maxevents, int timeout_ms);

/* waitpid() retrying EINTR. Only for a child that is known to end soon
 * (it was killed, or its pidfd is readable) or with WNOHANG: the wait
 * itself has no deadline. status may be NULL. Returns the PID, 0 (WNOHANG,
 * still running) or -errno. */
pid_t chaos_waitpid(pid_t pid, int *status, int options);

/* waitid() retrying EINTR, under the same rule as chaos_waitpid(). si may
 * be NULL. Returns 0 or -errno. */
int chaos_waitid(idtype_t idtype, id_t id, siginfo_t *si, int options);

/* Sleep the whole of us microseconds against an absolute monotonic
 * deadline: signals neither shorten nor stretch it. */
void chaos_sleep_us(uint64_t us);

/* Write all len bytes, retrying EINTR and short writes (blocking fds).
 * Returns 0 or -errno (-EAGAIN from a non-blocking fd that is full). */
int chaos_write_all(int fd, const void *buf, size_t len);

/* send() retrying EINTR; one call's worth (a short send is returned as
 * is). Returns the bytes sent or -errno. */
ssize_t chaos_send(int fd, const void *buf, size_t len, int flags);

/* accept4() retrying EINTR. Returns the descriptor or -errno. */
int chaos_accept(int lfd, int flags);

#endif
