/* What a pidfd says about its process (see sys/proc.h for /proc). */
#ifndef CHAOS_PIDFD_H
#define CHAOS_PIDFD_H

#include <sys/types.h>

/* pidfd_open(2) for pid (close-on-exec, as every pidfd is). Returns the
 * descriptor or -errno (-ESRCH: no such process). */
int chaos_pidfd_open(pid_t pid);

/* Send sig to the process behind pidfd (pidfd_send_signal(2)): the one
 * way the controller signals a process, so a reused PID is never hit.
 * Returns 0 or -errno (-ESRCH: it has exited). */
int chaos_pidfd_signal(int pidfd, int sig);

/* The exit status (a wait status) of the process behind pidfd, from the
 * kernel's PIDFD_GET_INFO with PIDFD_INFO_EXIT (Linux >= 6.15). It works
 * after the process was reaped by its parent, which is the usual case for
 * a pool's worker. Returns 0, or -errno (-ENOTTY/-EINVAL on older kernels,
 * -EAGAIN when the process has not exited). */
int chaos_pidfd_exit_status(int pidfd, int *status);

/* The PID a pidfd refers to per /proc/self/fdinfo: -1 once the process
 * has been reaped (kernel >= 5.x prints -1 then). 0 or -errno. */
int chaos_pidfd_pid(int pidfd, pid_t *pid);

#endif
