/* Preloaded into the test programs that `make valgrind` runs: valgrind
 * (3.19 in Debian 12, and still 3.24) has no wrapper for
 * pidfd_send_signal(2), so the call fails with ENOSYS under memcheck and a
 * pool that kills by pidfd cannot kill at all. This shim intercepts libc's
 * syscall() for that one number and sends the signal with kill(2) to the PID
 * the kernel reports for the pidfd in /proc/self/fdinfo. Every other
 * syscall() goes to libc unchanged.
 *
 * Why this is acceptable under valgrind only: the PID is read and signalled
 * in two steps, so a reused PID could in theory be hit; the tests only
 * signal their own unreaped children, whose PIDs cannot be reused. The real
 * builds never load this. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

typedef long (*syscall_fn)(long, ...);

/* The PID behind a pidfd, from the "Pid:" line of its fdinfo (Linux 5.3). */
static pid_t pidfd_pid(int pidfd)
{
	char path[64], buf[1024], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	p = strstr(buf, "\nPid:");
	if (!p)
		return -1;
	return (pid_t)strtol(p + 5, NULL, 10);
}

long syscall(long number, ...)
{
	static syscall_fn real;
	long a[6];
	va_list ap;
	int i;

	va_start(ap, number);
	for (i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);

	if (number == SYS_pidfd_send_signal && a[2] == 0 && a[3] == 0) {
		pid_t pid = pidfd_pid((int)a[0]);

		if (pid == 0) {
			/* fdinfo says 0 once the process has been reaped. */
			errno = ESRCH;
			return -1;
		}
		if (pid < 0) {
			errno = EBADF;
			return -1;
		}
		return kill(pid, (int)a[1]);
	}
	if (!real)
		real = (syscall_fn)dlsym(RTLD_NEXT, "syscall");
	return real(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}
