/* fork+exec of the target and of helpers (stress-ng) with the hygiene the
 * controller needs: signals blocked around fork, a child with a clean mask
 * and default dispositions, and a hold on the child until the parent has
 * put it into its cgroup, so not one instruction of the target runs outside
 * the run. */
#ifndef CHAOS_SPAWN_H
#define CHAOS_SPAWN_H

#include <sys/types.h>

struct chaos_spawn_opts {
	char *const *argv;  /* argv[0] is looked up in PATH of envp */
	char *const *envp;  /* the complete environment */
	int stdout_pipe;    /* 1: stdout is a pipe; its read end is returned */
	int stdout_fd;      /* when !stdout_pipe: this fd, or -1 for /dev/null */
	int stderr_fd;      /* stderr: this fd, or -1 for /dev/null */
	/* Called in the parent after fork and before the child may exec;
	 * a non-zero return cancels the spawn. May be NULL. */
	int (*attach)(void *arg, pid_t pid);
	void *attach_arg;
};

struct chaos_child {
	pid_t pid;
	int pidfd;  /* always valid on success; the child is in its own process group */
	int out_fd; /* read end of stdout (non-blocking, cloexec) or -1 */
};

/* Start the child. Returns 0, or -errno: from fork/pipe/pidfd_open, from
 * attach, or the exec failure of the child (e.g. -ENOENT). On failure no
 * child is left running or unreaped. */
int chaos_spawn(const struct chaos_spawn_opts *o, struct chaos_child *c);

/* Reap a child through its pidfd without blocking. Returns 1 with *status
 * (a wait status) when it had exited, 0 when still running, or -errno. */
int chaos_child_reap(int pidfd, int *status);

#endif
