/* Memory cgroup lookups for OOM attribution and the retry memory check.
 * Only open/read/close and hand-written string code, because the worker
 * calls these between fork and its task loop. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

int64_t sp__now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Read a small file into buf (NUL-terminated). Returns bytes or -errno. */
static ssize_t read_small(const char *path, char *buf, size_t cap)
{
	size_t len = 0;
	ssize_t r = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while (len + 1 < cap) {
		r = read(fd, buf + len, cap - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	if (r < 0)
		r = -errno;
	close(fd);
	buf[len] = '\0';
	return r < 0 ? r : (ssize_t)len;
}

static size_t append(char *dst, size_t pos, size_t cap, const char *src, size_t n)
{
	if (pos + n + 1 > cap)
		return cap; /* marks overflow */
	memcpy(dst + pos, src, n);
	dst[pos + n] = '\0';
	return pos + n;
}

static size_t u64_to_str(uint64_t v, char *out)
{
	char tmp[24];
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	out[n] = '\0';
	return n;
}

/* Does the comma-separated controller list [s, e) contain "memory"? */
static int has_memory(const char *s, const char *e)
{
	while (s < e) {
		const char *c = memchr(s, ',', (size_t)(e - s));

		if (!c)
			c = e;
		if (c - s == 6 && memcmp(s, "memory", 6) == 0)
			return 1;
		s = c + 1;
	}
	return 0;
}

/* Find the OOM counter file of pid's memory cgroup: the v1 memory
 * hierarchy's memory.oom_control if mounted, else the v2 memory.events
 * (at /sys/fs/cgroup or, on hybrid systems, /sys/fs/cgroup/unified).
 * Returns 0, -ENOENT (no memory cgroup found), -ENAMETOOLONG, or -errno. */
int sp__oom_file(pid_t pid, char *file, size_t cap)
{
	char path[64], buf[4096];
	const char *v2 = NULL, *v2e = NULL;
	size_t pos = 0;
	ssize_t len;
	char *line;

	pos = append(path, 0, sizeof(path), "/proc/", 6);
	if (pid > 0)
		pos += u64_to_str((uint64_t)pid, path + pos);
	else
		pos = append(path, pos, sizeof(path), "self", 4);
	append(path, pos, sizeof(path), "/cgroup", 7);
	len = read_small(path, buf, sizeof(buf));
	if (len < 0)
		return (int)len;
	line = buf;
	while (*line) {
		char *nl = strchr(line, '\n');
		char *c1 = strchr(line, ':');
		char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;

		if (!nl)
			nl = line + strlen(line);
		if (c2 && c2 < nl) {
			if (has_memory(c1 + 1, c2)) {
				pos = append(file, 0, cap, "/sys/fs/cgroup/memory", 21);
				pos = append(file, pos, cap, c2 + 1, (size_t)(nl - c2 - 1));
				pos = append(file, pos, cap, "/memory.oom_control", 19);
				return pos >= cap ? -ENAMETOOLONG : 0;
			}
			if (c1 == line + 1 && line[0] == '0' && c2 == c1 + 1) {
				v2 = c2 + 1;
				v2e = nl;
			}
		}
		line = *nl ? nl + 1 : nl;
	}
	if (!v2)
		return -ENOENT;
	static const char *const roots[] = {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"};
	for (size_t i = 0; i < 2; i++) {
		pos = append(file, 0, cap, roots[i], strlen(roots[i]));
		pos = append(file, pos, cap, v2, (size_t)(v2e - v2));
		pos = append(file, pos, cap, "/memory.events", 14);
		if (pos >= cap)
			return -ENAMETOOLONG;
		if (access(file, R_OK) == 0)
			return 0;
	}
	return -ENOENT;
}

/* Value of "key N" in a flat keyed file's text. */
static int keyed(const char *buf, const char *key, uint64_t *val)
{
	size_t klen = strlen(key);
	const char *p = buf;

	while (*p) {
		if (strncmp(p, key, klen) == 0 && p[klen] == ' ') {
			uint64_t v = 0;

			p += klen + 1;
			if (*p < '0' || *p > '9')
				return -EINVAL;
			while (*p >= '0' && *p <= '9')
				v = v * 10 + (uint64_t)(*p++ - '0');
			*val = v;
			return 0;
		}
		p = strchr(p, '\n');
		if (!p)
			break;
		p++;
	}
	return -ENOENT;
}

/* Read the oom_kill counter from a memory.oom_control or memory.events. */
int sp__oom_count(const char *file, uint64_t *count)
{
	char buf[1024];
	ssize_t len = read_small(file, buf, sizeof(buf));

	if (len < 0)
		return (int)len;
	return keyed(buf, "oom_kill", count);
}

static int read_u64_file(const char *path, uint64_t *v)
{
	char buf[64];
	ssize_t len = read_small(path, buf, sizeof(buf));
	uint64_t x = 0;

	if (len < 0)
		return (int)len;
	if (buf[0] < '0' || buf[0] > '9')
		return -ERANGE; /* "max" on v2: no limit */
	for (const char *p = buf; *p >= '0' && *p <= '9'; p++)
		x = x * 10 + (uint64_t)(*p - '0');
	*v = x;
	return 0;
}

/* Bytes that can be used now: MemAvailable, and when oom_file names a
 * memory cgroup with a limit, no more than the limit minus the usage.
 * Returns 0 or -errno when MemAvailable cannot be read. */
int sp__mem_free(const char *oom_file, uint64_t *free_bytes)
{
	char buf[4096], dir[SP__PATH], path[SP__PATH + 32];
	uint64_t avail, limit, usage;
	int v1, r;
	ssize_t len = read_small("/proc/meminfo", buf, sizeof(buf));
	const char *slash;

	if (len < 0)
		return (int)len;
	{
		const char *p = strstr(buf, "MemAvailable:");

		if (!p)
			return -ENOENT;
		p += 13;
		while (*p == ' ')
			p++;
		avail = 0;
		while (*p >= '0' && *p <= '9')
			avail = avail * 10 + (uint64_t)(*p++ - '0');
		avail *= 1024;
	}
	*free_bytes = avail;
	if (!oom_file || !oom_file[0])
		return 0;
	slash = strrchr(oom_file, '/');
	if (!slash || (size_t)(slash - oom_file) >= sizeof(dir))
		return 0;
	memcpy(dir, oom_file, (size_t)(slash - oom_file));
	dir[slash - oom_file] = '\0';
	v1 = strstr(slash, "oom_control") != NULL;
	strcpy(path, dir);
	strcat(path, v1 ? "/memory.limit_in_bytes" : "/memory.max");
	r = read_u64_file(path, &limit);
	if (r < 0)
		return 0;
	strcpy(path, dir);
	strcat(path, v1 ? "/memory.usage_in_bytes" : "/memory.current");
	if (read_u64_file(path, &usage) < 0)
		return 0;
	if (limit < avail + usage) /* the cgroup, not the machine, is the bound */
		*free_bytes = limit > usage ? limit - usage : 0;
	return 0;
}
