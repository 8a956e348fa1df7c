/* What both cgroup backends build on (common.h): handles, error text,
 * /proc/<pid>/cgroup parsing, the libcgroup glue, directory removal, pid
 * collection and killing by pidfd. It calls into no backend: what differs
 * between v1 and v2 comes in as arguments. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <libcgroup.h>

#include "cgroup/common.h"
#include "sys/file.h"
#include "sys/pidfd.h"
#include "sys/proc.h"

/* Thread-local so that two runs in different threads (the matrix) do not
 * overwrite each other's message. */
static _Thread_local char last_error[1024];

int cg__fail(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	return err > 0 ? -err : (err < 0 ? err : -EIO);
}

void cg__why(struct chaos_cg_env *env, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(env->why, sizeof(env->why), fmt, ap);
	va_end(ap);
}

const char *chaos_cg_last_error(void)
{
	return last_error;
}

int64_t cg__now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void cg__sleep_until(unsigned ms, int64_t deadline)
{
	int64_t wake = cg__now_ms() + ms;
	struct timespec ts;

	if (wake > deadline)
		wake = deadline;
	ts.tv_sec = (time_t)(wake / 1000);
	ts.tv_nsec = (long)(wake % 1000) * 1000000L;
	/* An absolute wake-up time: a signal cannot stretch the sleep by
	 * restarting it with the full interval. */
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

int cg__read_knob(const char *dir, const char *knob, char *buf, size_t bufsz)
{
	char path[4096 + 64];
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, knob);
	n = chaos_read_small(path, buf, bufsz);
	if (n < 0)
		return cg__fail((int)n, "%s: %s", path, strerror((int)-n));
	return (int)n;
}

int cg__write_knob(const char *dir, const char *knob, const char *val)
{
	char path[4096 + 64];
	int ret;

	snprintf(path, sizeof(path), "%s/%s", dir, knob);
	ret = chaos_write_small(path, val);
	if (ret < 0)
		cg__fail(ret, "%s: cannot write '%s': %s", path, val, strerror(-ret));
	return ret;
}

void cg__limit_text(uint64_t limit, const char *none, char *buf, size_t bufsz)
{
	if (limit)
		snprintf(buf, bufsz, "%llu", (unsigned long long)limit);
	else
		snprintf(buf, bufsz, "%s", none);
}

int cg__write_pid(const char *dir, pid_t pid)
{
	char path[4096 + 64], val[32];
	int ret;

	snprintf(val, sizeof(val), "%d", (int)pid);
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	ret = chaos_write_small(path, val);
	if (ret < 0)
		cg__fail(ret, "%s: cannot write pid %d: %s", path, (int)pid, strerror(-ret));
	return ret;
}

int cg__path_under(const char *path, const char *base)
{
	size_t n = strlen(base);

	/* The root "/" contains everything. */
	if (n == 1 && base[0] == '/')
		return path[0] == '/';
	if (strncmp(path, base, n) != 0)
		return 0;
	return path[n] == '\0' || path[n] == '/';
}

int cg__parse_cgroup_line(const char *line, const char *want, char *out, size_t outsz)
{
	const char *c1, *c2, *end;
	size_t ctl_len, path_len;

	c1 = strchr(line, ':');
	if (!c1)
		return -EINVAL;
	c2 = strchr(c1 + 1, ':');
	if (!c2)
		return -EINVAL;
	end = strchr(c2 + 1, '\n');
	if (!end)
		end = c2 + 1 + strlen(c2 + 1);
	path_len = (size_t)(end - (c2 + 1));
	if (path_len == 0 || c2[1] != '/')
		return -EINVAL;
	ctl_len = (size_t)(c2 - (c1 + 1));
	if (want[0] == '\0') {
		/* The v2 line is "0::/path": hierarchy 0, no controllers. */
		if (ctl_len != 0 || c1 - line != 1 || line[0] != '0')
			return -ENOENT;
	} else {
		/* v1 lists co-mounted controllers comma-separated
		 * ("4:memory:/x" or "3:cpu,cpuacct:/y"); match a whole item. */
		size_t wl = strlen(want);
		const char *p = c1 + 1;
		int found = 0;

		while (p < c2) {
			const char *q = memchr(p, ',', (size_t)(c2 - p));

			if (!q)
				q = c2;
			if ((size_t)(q - p) == wl && strncmp(p, want, wl) == 0)
				found = 1;
			p = q + 1;
		}
		if (!found)
			return -ENOENT;
	}
	if (path_len + 1 > outsz)
		return -ENAMETOOLONG;
	memcpy(out, c2 + 1, path_len);
	out[path_len] = '\0';
	return 0;
}

int cg__find_cgroup_path(const char *text, const char *want, char *out, size_t outsz)
{
	const char *line = text;

	while (line && *line) {
		int ret = cg__parse_cgroup_line(line, want, out, outsz);

		if (ret != -ENOENT && ret != -EINVAL)
			return ret;
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return -ENOENT;
}

int cg__proc_cgroup_path(pid_t pid, const char *want, char *out, size_t outsz)
{
	char path[64], text[8192];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	n = chaos_read_small(path, text, sizeof(text));
	if (n < 0)
		return (int)n;
	return cg__find_cgroup_path(text, want, out, outsz);
}

/* One decimal field of a run name at *s that ends in term: its value in
 * *v, and *s moved past term. Signs and blanks, which strtoull would
 * silently accept, are refused. */
static int run_name_field(const char **s, char term, unsigned long long *v)
{
	char *end;

	if (**s < '0' || **s > '9')
		return -EINVAL;
	errno = 0;
	*v = strtoull(*s, &end, 10);
	if (errno || *end != term)
		return -EINVAL;
	*s = end + 1;
	return 0;
}

int cg__parse_run_name(const char *name, pid_t *pid, unsigned long long *starttime,
		       unsigned long *seq)
{
	unsigned long long p, st, sq;

	if (strncmp(name, "chaos.", 6) != 0)
		return -EINVAL;
	name += 6;
	if (run_name_field(&name, '.', &p) || p == 0 || p > INT32_MAX ||
	    run_name_field(&name, '.', &st) || run_name_field(&name, '\0', &sq) ||
	    (unsigned long)sq != sq)
		return -EINVAL;
	*pid = (pid_t)p;
	*starttime = st;
	*seq = (unsigned long)sq;
	return 0;
}

int cg__find_mount(const char *ctl, char *out, size_t outsz)
{
	char dev[256], dir[4096], type[64], opts[1024];
	FILE *f;
	int ret = -ENOENT;

	f = fopen("/proc/self/mounts", "re");
	if (!f)
		return -errno;
	while (fscanf(f, "%255s %4095s %63s %1023s %*d %*d", dev, dir, type, opts) == 4) {
		if (!ctl) {
			if (strcmp(type, "cgroup2") != 0)
				continue;
		} else {
			char *tok, *save = NULL;
			int found = 0;

			if (strcmp(type, "cgroup") != 0)
				continue;
			for (tok = strtok_r(opts, ",", &save); tok;
			     tok = strtok_r(NULL, ",", &save))
				if (strcmp(tok, ctl) == 0)
					found = 1;
			if (!found)
				continue;
		}
		if (strlen(dir) + 1 > outsz) {
			ret = -ENAMETOOLONG;
			break;
		}
		strcpy(out, dir);
		ret = 0;
		break;
	}
	fclose(f);
	return ret;
}

/* libcgroup keeps a global mount table; cgroup_init() fills it once. */
static pthread_once_t lcg_once = PTHREAD_ONCE_INIT;
static int lcg_init_ret;

static void lcg_init_once(void)
{
	lcg_init_ret = cgroup_init();
}

int cg__lcg_init(void)
{
	pthread_once(&lcg_once, lcg_init_once);
	if (lcg_init_ret)
		return cg__fail(cg__lcg_errno(lcg_init_ret), "libcgroup: cgroup_init: %s (code %d)",
				cgroup_strerror(lcg_init_ret), lcg_init_ret);
	return 0;
}

int cg__lcg_errno(int ret)
{
	/* libcgroup codes are compared numerically: cgroup_strerror() in
	 * 2.0.2 is off by one from 50022 on, so its text cannot be trusted
	 * for classification. */
	switch (ret) {
	case 0:
		return 0;
	case ECGOTHER: {
		int e = cgroup_get_last_errno();

		return e > 0 ? -e : -EIO;
	}
	case ECGROUPNOTEXIST:
		return -ENOENT;
	case ECGROUPNOTOWNER:
	case ECGROUPNOTALLOWED:
		return -EPERM;
	case ECGROUPNOTMOUNTED:
	case ECGROUPSUBSYSNOTMOUNTED:
		return -ENODEV;
	case ECGNONEMPTY:
		return -EBUSY;
	case ECGINVAL:
		return -EINVAL;
	default:
		return -EIO;
	}
}

/* libcgroup names are relative to the hierarchy root, without a leading
 * slash ("a/b/chaos.1.2.0"); the root itself is "". */
static const char *lcg_name(const char *name)
{
	while (*name == '/')
		name++;
	return name;
}

/* A libcgroup handle of cgroup name with one controller, libcgroup
 * initialised; NULL with *ret and the error text (naming where) set. */
static struct cgroup *lcg_handle(const char *controller, const char *name, const char *where,
				 int *ret)
{
	struct cgroup *cg;

	*ret = cg__lcg_init();
	if (*ret < 0)
		return NULL;
	cg = cgroup_new_cgroup(lcg_name(name));
	if (!cg) {
		*ret = cg__fail(ENOMEM, "%s: cgroup_new_cgroup failed", where);
		return NULL;
	}
	if (!cgroup_add_controller(cg, controller)) {
		*ret = cg__fail(ENOMEM, "%s: cgroup_add_controller(%s) failed", where, controller);
		cgroup_free(&cg);
		return NULL;
	}
	return cg;
}

int cg__lcg_create(const char *controller, const char *name, const char *dir)
{
	struct cgroup *cg;
	int ret, r;

	cg = lcg_handle(controller, name, dir, &ret);
	if (!cg)
		return ret;
	r = cgroup_create_cgroup(cg, 0);
	ret = cg__lcg_errno(r);
	if (r) {
		cg__fail(ret, "%s: cannot create cgroup: %s (libcgroup %d)", dir, strerror(-ret),
			 r);
		/* libcgroup 2.0.2 leaves the directory behind when a later
		 * step of the create (a control file write) fails. */
		(void)rmdir(dir); /* The message names the first failure. */
	}
	cgroup_free(&cg);
	return ret;
}

int cg__lcg_attach(const char *controller, const char *name, pid_t pid)
{
	struct cgroup *cg;
	int ret, r;

	cg = lcg_handle(controller, name, name, &ret);
	if (!cg)
		return ret;
	r = cgroup_attach_task_pid(cg, pid);
	ret = cg__lcg_errno(r);
	if (r)
		cg__fail(ret, "%s (%s): cannot attach pid %d: %s (libcgroup %d)", name, controller,
			 (int)pid, strerror(-ret), r);
	cgroup_free(&cg);
	return ret;
}

int cg__remove_dir(const char *controller, const char *mount, const char *dir)
{
	int64_t deadline = cg__now_ms() + CG__RMDIR_TRIES * 10;
	size_t ml = strlen(mount);
	struct cgroup *cg = NULL;
	int ret = 0, tries;

	/* First ask libcgroup, on the relative name. EMPTY_ONLY: it must
	 * never move leftover processes to the parent (they are ours to kill,
	 * and on v2 the parent may not hold processes). Its failure is not
	 * reported: the rmdir below decides, with its own error text. */
	if (strncmp(dir, mount, ml) == 0)
		cg = lcg_handle(controller, dir + ml, dir, &ret);
	if (cg) {
		(void)cgroup_delete_cgroup_ext(cg, CGFLAG_DELETE_EMPTY_ONLY);
		cgroup_free(&cg);
	}
	/* libcgroup 2.0.2 reports a busy rmdir only as ECGOTHER and does not
	 * retry; a cgroup whose last process was just killed can stay busy
	 * for a moment, so rmdir directly with a bounded retry. */
	for (tries = 0; tries < CG__RMDIR_TRIES; tries++) {
		if (rmdir(dir) == 0 || errno == ENOENT) {
			ret = 0;
			goto out;
		}
		ret = -errno;
		if ((errno != EBUSY && errno != EAGAIN) || cg__now_ms() >= deadline)
			break;
		cg__sleep_until(10, deadline);
	}
	cg__fail(ret, "%s: cannot remove cgroup: %s", dir, strerror(-ret));
out:
	return ret;
}

static int remove_tree_depth(const char *controller, const char *mount, const char *dir,
			     unsigned *removed, int depth)
{
	char sub[4096];
	struct dirent *de;
	DIR *d = NULL;
	int ret = 0, r;

	if (depth > CG__MAX_DEPTH)
		return cg__fail(ELOOP, "%s: cgroup tree deeper than %d", dir, CG__MAX_DEPTH);
	d = opendir(dir);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		return cg__fail(errno, "%s: opendir: %s", dir, strerror(errno));
	}
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name) >= sizeof(sub)) {
			ret = cg__fail(ENAMETOOLONG, "%s/%s: path too long", dir, de->d_name);
			continue;
		}
		r = remove_tree_depth(controller, mount, sub, removed, depth + 1);
		if (r < 0 && ret == 0)
			ret = r;
	}
	closedir(d);
	r = cg__remove_dir(controller, mount, dir);
	if (r == 0)
		(*removed)++;
	else if (ret == 0)
		ret = r;
	return ret;
}

int cg__remove_tree(const char *controller, const char *mount, const char *dir, unsigned *removed)
{
	return remove_tree_depth(controller, mount, dir, removed, 0);
}

static int collect_depth(const char *dir, pid_t *pids, size_t max, size_t *n, int depth)
{
	char path[4096], *buf = NULL, *p, *end;
	struct dirent *de;
	DIR *d = NULL;
	ssize_t got;
	int ret = 0;

	if (depth > CG__MAX_DEPTH)
		return cg__fail(ELOOP, "%s: cgroup tree deeper than %d", dir, CG__MAX_DEPTH);
	if ((size_t)snprintf(path, sizeof(path), "%s/cgroup.procs", dir) >= sizeof(path))
		return cg__fail(ENAMETOOLONG, "%s: path too long", dir);
	buf = malloc(1 << 20);
	if (!buf)
		return cg__fail(ENOMEM, "%s: out of memory", dir);
	got = chaos_read_small(path, buf, 1 << 20);
	if (got == -ENOENT)
		goto out; /* The cgroup went away meanwhile: nothing in it. */
	if (got < 0) {
		ret = cg__fail((int)got, "%s: read: %s", path, strerror((int)-got));
		goto out;
	}
	for (p = buf; *p; p = end) {
		long v = strtol(p, &end, 10);

		if (end == p)
			break;
		if (v > 0 && *n < max)
			pids[(*n)++] = (pid_t)v;
		else if (v > 0) {
			ret = cg__fail(ENOBUFS, "%s: more than %zu processes", dir, max);
			goto out;
		}
	}
	d = opendir(dir);
	if (!d)
		goto out; /* Removed meanwhile; what we read is all there is. */
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= sizeof(path))
			continue;
		ret = collect_depth(path, pids, max, n, depth + 1);
		if (ret < 0)
			goto out;
	}
out:
	if (d)
		closedir(d);
	free(buf);
	return ret;
}

int cg__collect_pids(const char *dir, pid_t *pids, size_t max, size_t *n)
{
	return collect_depth(dir, pids, max, n, 0);
}

int cg__kill_member(pid_t pid, const char *want, const char *rel)
{
	char cur[4096];
	int fd, ret;

	fd = chaos_pidfd_open(pid);
	if (fd < 0)
		return fd == -ESRCH ? 0 : cg__fail(-fd, "pidfd_open(%d): %s", (int)pid, strerror(-fd));
	/* The pidfd pins this exact process; if the PID was reused between
	 * reading cgroup.procs and opening it, the new process is not in our
	 * cgroup and must not be touched. */
	ret = cg__proc_cgroup_path(pid, want, cur, sizeof(cur));
	if (ret < 0 || !cg__path_under(cur, rel)) {
		ret = 0;
		goto out;
	}
	ret = chaos_pidfd_signal(fd, SIGKILL);
	if (ret < 0) {
		ret = ret == -ESRCH ? 0
				    : cg__fail(-ret, "pidfd_send_signal(%d): %s", (int)pid, strerror(-ret));
		goto out;
	}
	ret = 1;
out:
	close(fd);
	return ret;
}

struct chaos_cg *cg__alloc(void)
{
	struct chaos_cg *cg = calloc(1, sizeof(*cg));

	if (cg) {
		cg->oom_fd = -1;
		cg->ctl_fd = -1;
	}
	return cg;
}

void cg__free(struct chaos_cg *cg)
{
	if (cg->oom_fd >= 0)
		close(cg->oom_fd);
	if (cg->ctl_fd >= 0)
		close(cg->ctl_fd);
	free(cg);
}

/* Is the owner of run cgroup leaf still alive (same pid, same starttime)?
 * 1 alive, 0 dead, -EINVAL if leaf is not a run name. */
static int owner_alive(const char *leaf)
{
	struct chaos_proc_stat cur;
	unsigned long long st;
	unsigned long seq;
	pid_t pid;
	int ret;

	ret = cg__parse_run_name(leaf, &pid, &st, &seq);
	if (ret < 0)
		return ret;
	/* Gone, or unreadable: nobody can own the cgroup any more. */
	if (chaos_proc_stat(pid, &cur) < 0)
		return 0;
	return cur.starttime == st;
}

int cg__each_stale(const char *dir, void (*fn)(const char *leaf, void *arg), void *arg)
{
	struct dirent *de;
	DIR *d;

	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d)))
		if (de->d_type == DT_DIR && owner_alive(de->d_name) == 0)
			fn(de->d_name, arg);
	closedir(d);
	return 0;
}

/* Collect the pids of cg's memory tree and, on v1, of its freezer cgroup.
 * from_frz[i] says which hierarchy pid i was found in, so that its
 * membership is checked against the right one. */
static int tree_pids(struct chaos_cg *cg, pid_t *pids, char *from_frz, size_t max, size_t *n)
{
	size_t i, first;
	int ret;

	*n = 0;
	if (cg->dir[0]) {
		ret = cg__collect_pids(cg->dir, pids, max, n);
		if (ret < 0)
			return ret;
	}
	for (i = 0; i < *n; i++)
		from_frz[i] = 0;
	first = *n;
	if (cg->frz_dir[0]) {
		ret = cg__collect_pids(cg->frz_dir, pids, max, n);
		if (ret < 0)
			return ret;
	}
	for (i = first; i < *n; i++)
		from_frz[i] = 1;
	return 0;
}

int cg__wait_empty(struct chaos_cg *cg, int64_t deadline)
{
	int64_t start = cg__now_ms();
	pid_t pids[64];
	char from[64];
	size_t n;
	int ret;

	for (;;) {
		ret = tree_pids(cg, pids, from, 64, &n);
		if (ret < 0 && ret != -ENOBUFS)
			return ret;
		if (ret == 0 && n == 0)
			return 0;
		if (cg__now_ms() >= deadline)
			return cg__fail(EBUSY,
					"%s: still holds %zu process(es) (first %d) after %lld ms",
					cg->dir[0] ? cg->dir : cg->frz_dir, n,
					n ? (int)pids[0] : 0, (long long)(cg__now_ms() - start));
		cg__sleep_until(5, deadline);
	}
}

int cg__kill_tree(struct chaos_cg *cg, const char *want, cg__freeze_fn *freeze, unsigned *killed)
{
	pid_t *pids = NULL, *done = NULL;
	size_t n = 0, ndone = 0, i, j;
	char *from = NULL;
	int ret = 0, round, frozen = 0, r;

	pids = malloc(CG__MAX_PIDS * sizeof(*pids));
	done = malloc(CG__MAX_PIDS * sizeof(*done));
	from = malloc(CG__MAX_PIDS);
	if (!pids || !done || !from) {
		ret = cg__fail(ENOMEM, "out of memory");
		goto out;
	}
	for (round = 0; round < CG__KILL_ROUNDS; round++) {
		/* Frozen processes cannot fork, so one pass over a frozen
		 * cgroup catches everything; without a freezer a forking
		 * process can race us, hence the rounds. */
		if (freeze) {
			ret = freeze(cg, 1);
			if (ret < 0)
				goto out;
			frozen = 1;
		}
		ret = tree_pids(cg, pids, from, CG__MAX_PIDS, &n);
		if (ret < 0)
			goto out;
		for (i = 0; i < n; i++) {
			/* Never kill ourselves, even if a caller attached us. */
			if (pids[i] == getpid())
				continue;
			r = from[i] ? cg__kill_member(pids[i], "freezer", cg->frz_name)
				    : cg__kill_member(pids[i], want, cg->name);
			if (r < 0) {
				ret = r;
				goto out;
			}
			if (r == 0)
				continue;
			for (j = 0; j < ndone && done[j] != pids[i]; j++)
				;
			if (j == ndone && ndone < CG__MAX_PIDS)
				done[ndone++] = pids[i];
		}
		if (frozen) {
			ret = freeze(cg, 0);
			frozen = 0;
			if (ret < 0)
				goto out;
		}
		/* With a freezer everything was signalled, so only give the
		 * kernel time to finish the exits; without one, check back
		 * soon for processes forked meanwhile. */
		ret = cg__wait_empty(cg, cg__now_ms() + (freeze ? CG__EMPTY_WAIT_MS / 5 : 20));
		if (ret == 0)
			goto out;
	}
	ret = cg__wait_empty(cg, cg__now_ms() + CG__EMPTY_WAIT_MS);
out:
	if (frozen)
		freeze(cg, 0); /* Always thaw: the error to report is the first one. */
	*killed += (unsigned)ndone;
	free(pids);
	free(done);
	free(from);
	return ret;
}
