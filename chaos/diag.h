/* What /proc says about a process: for deadline diagnostics, leftover
 * reports and the exit status of a worker that is not our child. */
#ifndef CHAOS_DIAG_H
#define CHAOS_DIAG_H

#include <stddef.h>
#include <sys/types.h>

struct chaos_procinfo {
	pid_t pid;
	pid_t ppid;
	char comm[64];
	char state;
	char wchan[64];
	char *stack; /* per-thread kernel stacks, malloc'ed, or NULL when unreadable */
};

/* Fill pi from /proc/<pid>/{stat,wchan,task/<tid>/stack}. The stack text is
 * bounded (64 KiB). Returns 0 or -errno (-ENOENT: gone). */
int chaos_proc_info(pid_t pid, struct chaos_procinfo *pi);
void chaos_procinfo_free(struct chaos_procinfo *pi);

/* comm of pid ("?" when gone). */
void chaos_proc_comm(pid_t pid, char *buf, size_t len);

/* Read state and exit_code (field 52, a wait status) of pid from
 * /proc/<pid>/stat. Only meaningful while pid is a zombie. 0 or -errno. */
int chaos_proc_exit_status(pid_t pid, char *state, int *status);

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
