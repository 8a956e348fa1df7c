/* Process creation for the controller. */
#include "engine/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sys/io.h"
#include "sys/pidfd.h"

#ifdef SP_COVERAGE
void __gcov_dump(void);
void __gcov_reset(void);
#endif

static void child_exit(int code)
{
#ifdef SP_COVERAGE
	__gcov_dump();
#endif
	_exit(code);
}

/* Runs in the forked child: only async-signal-safe calls from here on. */
static void child_main(const struct chaos_spawn_opts *o, const int sync_p[2], const int err_p[2],
		       const int out_p[2])
{
	int sync_rd = sync_p[0], err_wr = err_p[1], out_wr = out_p[1];
	struct sigaction sa;
	sigset_t none;
	char go = 0;
	int sig, devnull, e;
	ssize_t n;

	/* The parent's ends. Above all the write end of the sync pipe: held
	 * here, it would keep the read below from ever seeing EOF, and a
	 * child whose controller was killed before placing it would wait
	 * forever, outside any run cgroup where a sweep could find it. */
	close(sync_p[1]);
	close(err_p[0]);
	if (out_p[0] >= 0)
		close(out_p[0]);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		sigaction(sig, &sa, NULL); /* fails harmlessly for KILL, STOP, RT internals */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Its own process group: without a cgroup, the controller can still
	 * kill the target's tree while the target is unreaped. */
	setpgid(0, 0);

	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0)
		goto fail;
	if (dup2(devnull, 0) < 0)
		goto fail;
	if (dup2(o->stdout_pipe ? out_wr : (o->stdout_fd >= 0 ? o->stdout_fd : devnull), 1) < 0)
		goto fail;
	if (dup2(o->stderr_fd >= 0 ? o->stderr_fd : devnull, 2) < 0)
		goto fail;

	/* Wait until the parent has placed us in the run cgroup. EOF without
	 * the byte means the parent gave up. */
	do
		n = read(sync_rd, &go, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		child_exit(127);
#ifdef SP_COVERAGE
	/* exec discards the counters of the code that ran in this child;
	 * reset them so that a failed exec's exit path is written again. */
	__gcov_dump();
	__gcov_reset();
#endif
	execvpe(o->argv[0], o->argv, o->envp);
fail:
	e = errno;
	n = write(err_wr, &e, sizeof(e));
	(void)n;
	child_exit(127);
}

int chaos_child_reap(int pidfd, int *status)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &si, WEXITED | WNOHANG) < 0)
		return -errno;
	if (si.si_pid == 0)
		return 0;
	if (si.si_code == CLD_EXITED)
		*status = (si.si_status & 0xff) << 8;
	else
		*status = si.si_status & 0x7f; /* killed or dumped: the signal */
	return 1;
}

/* Block until the child exits; used only for a child we have just killed. */
static void reap_blocking(int pidfd)
{
	chaos_waitid((idtype_t)P_PIDFD, (id_t)pidfd, NULL, WEXITED);
}

int chaos_spawn(const struct chaos_spawn_opts *o, struct chaos_child *c)
{
	int sync_p[2] = {-1, -1}, err_p[2] = {-1, -1}, out_p[2] = {-1, -1};
	sigset_t all, old;
	int ret = 0, pidfd = -1, blocked = 0, e = 0;
	pid_t pid = -1;
	struct pollfd pfd;
	ssize_t n;

	c->pid = -1;
	c->pidfd = -1;
	c->out_fd = -1;
	if (pipe2(sync_p, O_CLOEXEC) || pipe2(err_p, O_CLOEXEC) ||
	    (o->stdout_pipe && pipe2(out_p, O_CLOEXEC))) {
		ret = -errno;
		goto out;
	}
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	blocked = 1;
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		goto out;
	}
	if (pid == 0)
		child_main(o, sync_p, err_p, out_p);
	sigprocmask(SIG_SETMASK, &old, NULL);
	blocked = 0;
	close(sync_p[0]);
	sync_p[0] = -1;
	close(err_p[1]);
	err_p[1] = -1;
	if (out_p[1] >= 0) {
		close(out_p[1]);
		out_p[1] = -1;
	}
	/* The child cannot be reaped by anyone but us, so its PID is stable
	 * here and the pidfd names exactly it. */
	pidfd = chaos_pidfd_open(pid);
	if (pidfd < 0) {
		ret = pidfd;
		kill(pid, SIGKILL);
		chaos_waitpid(pid, NULL, 0);
		pid = -1;
		goto out;
	}
	if (o->attach) {
		ret = o->attach(o->attach_arg, pid);
		if (ret)
			goto out;
	}
	do
		n = write(sync_p[1], "g", 1);
	while (n < 0 && errno == EINTR);
	if (n != 1) {
		ret = -EPIPE;
		goto out;
	}
	/* EOF on the error pipe means exec succeeded (close-on-exec); an int
	 * means it failed. The exec is quick, but the wait is bounded anyway. */
	pfd.fd = err_p[0];
	pfd.events = POLLIN;
	if (chaos_poll_ms(&pfd, 1, 10000) <= 0) {
		ret = -ETIMEDOUT;
		goto out;
	}
	do
		n = read(err_p[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)sizeof(e)) {
		ret = -e;
		goto out;
	}
	if (out_p[0] >= 0)
		fcntl(out_p[0], F_SETFL, fcntl(out_p[0], F_GETFL) | O_NONBLOCK);
	c->pid = pid;
	c->pidfd = pidfd;
	c->out_fd = out_p[0];
	out_p[0] = -1;
	pidfd = -1;
out:
	if (blocked)
		sigprocmask(SIG_SETMASK, &old, NULL);
	if (ret && pidfd >= 0) {
		/* A half-started child: kill it through its pidfd and reap it. */
		chaos_pidfd_signal(pidfd, SIGKILL);
		reap_blocking(pidfd);
	}
	if (pidfd >= 0)
		close(pidfd);
	for (int i = 0; i < 2; i++) {
		if (sync_p[i] >= 0)
			close(sync_p[i]);
		if (err_p[i] >= 0)
			close(err_p[i]);
		if (out_p[i] >= 0)
			close(out_p[i]);
	}
	return ret;
}
