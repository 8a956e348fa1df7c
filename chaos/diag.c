/* /proc readers. Everything here tolerates a process vanishing between two
 * reads: that is the normal case for the processes we look at. */
#include "diag.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define STACK_MAX (64 * 1024)

/* Read a small file into buf (NUL-terminated). Returns bytes or -errno. */
static ssize_t read_small(const char *path, char *buf, size_t len)
{
	ssize_t n = -1;
	size_t off = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while (off + 1 < len) {
		n = read(fd, buf + off, len - 1 - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	if (n < 0) {
		n = -errno;
		close(fd);
		return n;
	}
	close(fd);
	buf[off] = '\0';
	return (ssize_t)off;
}

/* Parse /proc/<pid>/stat: comm is in parentheses and may contain spaces
 * and parentheses, so fields are counted from the last ')'. */
static int read_stat(pid_t pid, char *comm, size_t commlen, char *state, pid_t *ppid,
		     int *exit_code)
{
	char path[64], buf[2048];
	char *l, *r, *p;
	int field;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	n = read_small(path, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	l = strchr(buf, '(');
	r = strrchr(buf, ')');
	if (!l || !r || r < l || r[1] != ' ')
		return -EIO;
	if (comm)
		snprintf(comm, commlen, "%.*s", (int)(r - l - 1), l + 1);
	p = r + 2;
	/* p is at field 3 (state). */
	if (state)
		*state = *p;
	for (field = 3; *p; field++) {
		if (field == 4 && ppid)
			*ppid = (pid_t)strtol(p, NULL, 10);
		if (field == 52 && exit_code) {
			*exit_code = (int)strtol(p, NULL, 10);
			return 0;
		}
		p = strchr(p, ' ');
		if (!p)
			break;
		p++;
	}
	return exit_code ? -EIO : 0;
}

void chaos_proc_comm(pid_t pid, char *buf, size_t len)
{
	if (read_stat(pid, buf, len, NULL, NULL, NULL))
		snprintf(buf, len, "?");
}

int chaos_proc_exit_status(pid_t pid, char *state, int *status)
{
	return read_stat(pid, NULL, 0, state, NULL, status);
}

/* Append every thread's kernel stack; unreadable stacks (no CAP_SYS_ADMIN,
 * or a kernel without CONFIG_STACKTRACE) leave pi->stack NULL. */
static void read_stacks(struct chaos_procinfo *pi)
{
	char path[64], tpath[400], one[4096];
	struct dirent *de;
	size_t used = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pi->pid);
	d = opendir(path);
	if (!d)
		return;
	while ((de = readdir(d)) != NULL) {
		ssize_t n;
		int w;

		if (de->d_name[0] == '.')
			continue;
		snprintf(tpath, sizeof(tpath), "%s/%s/stack", path, de->d_name);
		n = read_small(tpath, one, sizeof(one));
		if (n < 0)
			continue;
		if (!pi->stack) {
			pi->stack = malloc(STACK_MAX);
			if (!pi->stack)
				break;
			pi->stack[0] = '\0';
		}
		w = snprintf(pi->stack + used, STACK_MAX - used, "[tid %s]\n%s", de->d_name, one);
		if (w < 0 || (size_t)w >= STACK_MAX - used)
			break;
		used += (size_t)w;
	}
	closedir(d);
}

int chaos_proc_info(pid_t pid, struct chaos_procinfo *pi)
{
	char path[64];
	int ret;

	memset(pi, 0, sizeof(*pi));
	pi->pid = pid;
	ret = read_stat(pid, pi->comm, sizeof(pi->comm), &pi->state, &pi->ppid, NULL);
	if (ret)
		return ret;
	snprintf(path, sizeof(path), "/proc/%d/wchan", (int)pid);
	if (read_small(path, pi->wchan, sizeof(pi->wchan)) < 0)
		snprintf(pi->wchan, sizeof(pi->wchan), "?");
	read_stacks(pi);
	return 0;
}

void chaos_procinfo_free(struct chaos_procinfo *pi)
{
	free(pi->stack);
	pi->stack = NULL;
}

int chaos_pidfd_pid(int pidfd, pid_t *pid)
{
	char path[64], buf[1024];
	char *p;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	n = read_small(path, buf, sizeof(buf));
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
