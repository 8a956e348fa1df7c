/* What a pidfd says about its process: the PID behind it (or that it was
 * reaped) and its exit status on kernels that keep one. */
#include "sys/pidfd.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sys/file.h"

int chaos_pidfd_open(pid_t pid)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);

	return fd < 0 ? -errno : fd;
}

int chaos_pidfd_signal(int pidfd, int sig)
{
	return syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0 ? -errno : 0;
}

int chaos_pidfd_pid(int pidfd, pid_t *pid)
{
	char path[64], buf[1024];
	char *p;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	n = chaos_read_small(path, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	p = strstr(buf, "\nPid:");
	if (!p)
		return -ENOTSUP;
	*pid = (pid_t)strtol(p + 5, NULL, 10);
	return 0;
}

/* The first version of the kernel's struct pidfd_info (64 bytes, Linux
 * 6.15); later kernels extend it and accept this size. Spelled out here
 * because the distribution's headers predate it. */
struct pidfd_info_v0 {
	uint64_t mask;
	uint64_t cgroupid;
	uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
	int32_t exit_code;
};
#define CHAOS_PIDFD_GET_INFO _IOWR(0xFF, 11, struct pidfd_info_v0)
#define CHAOS_PIDFD_INFO_EXIT (1ULL << 3)

int chaos_pidfd_exit_status(int pidfd, int *status)
{
	struct pidfd_info_v0 info;

	memset(&info, 0, sizeof(info));
	info.mask = CHAOS_PIDFD_INFO_EXIT;
	if (ioctl(pidfd, CHAOS_PIDFD_GET_INFO, &info) < 0)
		return -errno;
	if (!(info.mask & CHAOS_PIDFD_INFO_EXIT))
		return -EAGAIN;
	*status = info.exit_code;
	return 0;
}
