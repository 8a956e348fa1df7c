/* Common cgroup code: detection, own-cgroup lookup, handles, the libcgroup
 * glue, directory removal, pid collection, killing by pidfd and the stale
 * sweep. The version-specific steps live in cgroup_v1.c and cgroup_v2.c. */
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

#include "cgroup/internal.h"
#include "sys/file.h"
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

void cg__sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int cg__read_file(const char *path, char *buf, size_t bufsz)
{
	ssize_t n = chaos_read_small(path, buf, bufsz);

	return n < 0 ? (int)n : 0;
}

int cg__write_file(const char *path, const char *val)
{
	return chaos_write_small(path, val);
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
	int ret;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	ret = cg__read_file(path, text, sizeof(text));
	if (ret < 0)
		return ret;
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

int cg__proc_starttime(pid_t pid, unsigned long long *starttime)
{
	struct chaos_proc_stat st;
	int ret = chaos_proc_stat(pid, &st);

	*starttime = 0;
	if (ret)
		return ret == -EIO ? -EINVAL : ret;
	*starttime = st.starttime;
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

int cg__lcg_create(const char *controller, const char *name, const char *dir)
{
	struct cgroup *cg = NULL;
	int ret, r;

	ret = cg__lcg_init();
	if (ret < 0)
		return ret;
	cg = cgroup_new_cgroup(lcg_name(name));
	if (!cg) {
		ret = cg__fail(ENOMEM, "%s: cgroup_new_cgroup failed", dir);
		goto out;
	}
	if (!cgroup_add_controller(cg, controller)) {
		ret = cg__fail(ENOMEM, "%s: cgroup_add_controller(%s) failed", dir, controller);
		goto out;
	}
	r = cgroup_create_cgroup(cg, 0);
	if (r) {
		ret = cg__lcg_errno(r);
		cg__fail(ret, "%s: cannot create cgroup: %s (libcgroup %d)", dir, strerror(-ret),
			 r);
		/* libcgroup 2.0.2 leaves the directory behind when a later
		 * step of the create (a control file write) fails. */
		(void)rmdir(dir); /* The message names the first failure. */
		goto out;
	}
	ret = 0;
out:
	if (cg)
		cgroup_free(&cg);
	return ret;
}

int cg__lcg_attach(const char *controller, const char *name, pid_t pid)
{
	struct cgroup *cg = NULL;
	int ret, r;

	ret = cg__lcg_init();
	if (ret < 0)
		return ret;
	cg = cgroup_new_cgroup(lcg_name(name));
	if (!cg || !cgroup_add_controller(cg, controller)) {
		ret = cg__fail(ENOMEM, "%s: cannot build libcgroup handle", name);
		goto out;
	}
	r = cgroup_attach_task_pid(cg, pid);
	if (r) {
		ret = cg__lcg_errno(r);
		cg__fail(ret, "%s (%s): cannot attach pid %d: %s (libcgroup %d)", name, controller,
			 (int)pid, strerror(-ret), r);
		goto out;
	}
	ret = 0;
out:
	if (cg)
		cgroup_free(&cg);
	return ret;
}

int cg__remove_dir(const char *controller, const char *mount, const char *dir)
{
	struct cgroup *cg = NULL;
	size_t ml = strlen(mount);
	int ret = 0, tries;

	/* First ask libcgroup, on the relative name. EMPTY_ONLY: it must
	 * never move leftover processes to the parent (they are ours to kill,
	 * and on v2 the parent may not hold processes). */
	if (cg__lcg_init() == 0 && strncmp(dir, mount, ml) == 0) {
		cg = cgroup_new_cgroup(lcg_name(dir + ml));
		if (cg && cgroup_add_controller(cg, controller))
			(void)cgroup_delete_cgroup_ext(cg, CGFLAG_DELETE_EMPTY_ONLY);
		if (cg)
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
		if (errno != EBUSY && errno != EAGAIN)
			break;
		cg__sleep_ms(10);
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
	int ret;

	if (depth > CG__MAX_DEPTH)
		return cg__fail(ELOOP, "%s: cgroup tree deeper than %d", dir, CG__MAX_DEPTH);
	if ((size_t)snprintf(path, sizeof(path), "%s/cgroup.procs", dir) >= sizeof(path))
		return cg__fail(ENAMETOOLONG, "%s: path too long", dir);
	buf = malloc(1 << 20);
	if (!buf)
		return cg__fail(ENOMEM, "%s: out of memory", dir);
	ret = cg__read_file(path, buf, 1 << 20);
	if (ret == -ENOENT) {
		/* The cgroup went away meanwhile: nothing in it. */
		ret = 0;
		goto out;
	}
	if (ret < 0) {
		cg__fail(ret, "%s: read: %s", path, strerror(-ret));
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

static int sys_pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static int sys_pidfd_send_signal(int pidfd, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

int cg__kill_member(pid_t pid, const char *want, const char *rel)
{
	char cur[4096];
	int fd, ret;

	fd = sys_pidfd_open(pid);
	if (fd < 0)
		return errno == ESRCH
			   ? 0
			   : cg__fail(errno, "pidfd_open(%d): %s", (int)pid, strerror(errno));
	/* The pidfd pins this exact process; if the PID was reused between
	 * reading cgroup.procs and opening it, the new process is not in our
	 * cgroup and must not be touched. */
	ret = cg__proc_cgroup_path(pid, want, cur, sizeof(cur));
	if (ret < 0 || !cg__path_under(cur, rel)) {
		ret = 0;
		goto out;
	}
	if (sys_pidfd_send_signal(fd, SIGKILL) < 0) {
		ret = errno == ESRCH
			  ? 0
			  : cg__fail(errno, "pidfd_send_signal(%d): %s", (int)pid, strerror(errno));
		goto out;
	}
	ret = 1;
out:
	close(fd);
	return ret;
}

int chaos_cg_detect(struct chaos_cg_env *env)
{
	char text[8192];
	int ret, r1;

	memset(env, 0, sizeof(*env));
	env->version = CHAOS_CG_NONE;
	ret = cg__read_file("/proc/self/cgroup", text, sizeof(text));
	if (ret < 0) {
		cg__why(env, "/proc/self/cgroup: %s", strerror(-ret));
		return cg__fail(ret, "%s", env->why);
	}
	r1 = cg__v1_detect(env, text);
	if (r1 == 0)
		return 0;
	/* A v1 memory hierarchy that exists but is unusable is the reason to
	 * report, unless v2 works instead; v2 starts from a clean env so that
	 * nothing of the v1 attempt (why, paths) leaks into its result. */
	memset(env, 0, sizeof(*env));
	if (cg__v2_detect(env, text) == 0)
		return 0;
	if (r1 != -ENOENT) {
		char why[sizeof(env->why)];

		/* Keep v1's reason: it is the hierarchy that exists here. */
		cg__v1_detect(env, text);
		memcpy(why, env->why, sizeof(why));
		memset(env, 0, sizeof(*env));
		memcpy(env->why, why, sizeof(why));
		ret = r1;
	} else {
		ret = -ENODEV;
	}
	env->version = CHAOS_CG_NONE;
	return cg__fail(ret, "%s", env->why);
}

static unsigned long run_seq;
static pthread_mutex_t seq_lock = PTHREAD_MUTEX_INITIALIZER;

static struct chaos_cg *cg_alloc(void)
{
	struct chaos_cg *cg = calloc(1, sizeof(*cg));

	if (cg) {
		cg->oom_fd = -1;
		cg->ctl_fd = -1;
	}
	return cg;
}

static void cg_free(struct chaos_cg *cg)
{
	if (cg->oom_fd >= 0)
		close(cg->oom_fd);
	if (cg->ctl_fd >= 0)
		close(cg->ctl_fd);
	free(cg);
}

static const char *mem_rel(const struct chaos_cg_env *env, const char *mount, char *buf,
			   size_t bufsz)
{
	size_t ml = strlen(mount);

	/* mem_dir is mount + relative path; the root cgroup is "/". */
	snprintf(buf, bufsz, "%s", env->mem_dir[ml] ? env->mem_dir + ml : "/");
	return buf;
}

/* Fill the identity (name, dir, mount, flags) of a run handle named leaf. */
static int run_identity(const struct chaos_cg_env *env, struct chaos_cg *run, const char *leaf)
{
	char rel[4096];
	int ret;

	run->version = env->version;
	run->is_run = 1;
	run->has_memsw = env->has_memsw;
	run->has_swap_max = env->has_swap_max;
	ret = cg__find_mount(env->version == CHAOS_CG_V1 ? "memory" : NULL, run->mount,
			     sizeof(run->mount));
	if (ret < 0)
		return cg__fail(ret, "no %s mount found in /proc/self/mounts",
				env->version == CHAOS_CG_V1 ? "memory cgroup" : "cgroup2");
	if (strncmp(env->mem_dir, run->mount, strlen(run->mount)) != 0)
		return cg__fail(EINVAL, "%s is not below %s", env->mem_dir, run->mount);
	mem_rel(env, run->mount, rel, sizeof(rel));
	if ((size_t)snprintf(run->name, sizeof(run->name), "%s%s%s", rel,
			     strcmp(rel, "/") ? "/" : "", leaf) >= sizeof(run->name) ||
	    (size_t)snprintf(run->dir, sizeof(run->dir), "%s/%s", env->mem_dir, leaf) >=
		sizeof(run->dir))
		return cg__fail(ENAMETOOLONG, "%s/%s: path too long", env->mem_dir, leaf);
	return 0;
}

int chaos_cg_run_create(const struct chaos_cg_env *env, struct chaos_cg **out)
{
	unsigned long long st;
	struct chaos_cg *run = NULL;
	unsigned long seq;
	char leaf[128];
	int ret;

	*out = NULL;
	if (env->version == CHAOS_CG_NONE)
		return cg__fail(ENODEV, "no usable cgroup: %s", env->why);
	ret = cg__proc_starttime(getpid(), &st);
	if (ret < 0)
		return cg__fail(ret, "/proc/self/stat: cannot read starttime: %s", strerror(-ret));
	pthread_mutex_lock(&seq_lock);
	seq = run_seq++;
	pthread_mutex_unlock(&seq_lock);
	snprintf(leaf, sizeof(leaf), "chaos.%d.%llu.%lu", (int)getpid(), st, seq);
	run = cg_alloc();
	if (!run)
		return cg__fail(ENOMEM, "out of memory");
	ret = run_identity(env, run, leaf);
	if (ret < 0)
		goto out;
	ret =
	    env->version == CHAOS_CG_V1 ? cg__v1_run_create(env, run) : cg__v2_run_create(env, run);
out:
	if (ret < 0)
		cg_free(run);
	else
		*out = run;
	return ret;
}

int chaos_cg_child_create(struct chaos_cg *run, const char *name, uint64_t limit,
			  struct chaos_cg **out)
{
	struct chaos_cg *child = NULL;
	unsigned removed = 0;
	int ret;

	*out = NULL;
	if (!run->is_run)
		return cg__fail(EINVAL, "%s: children can only be created below a run", run->dir);
	if (!name[0] || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..") ||
	    !strcmp(name, "main"))
		return cg__fail(EINVAL, "%s: invalid child name '%s'", run->dir, name);
	child = cg_alloc();
	if (!child)
		return cg__fail(ENOMEM, "out of memory");
	child->version = run->version;
	child->run = run;
	child->has_memsw = run->has_memsw;
	child->has_swap_max = run->has_swap_max;
	strcpy(child->mount, run->mount);
	if ((size_t)snprintf(child->name, sizeof(child->name), "%s/%s", run->name, name) >=
		sizeof(child->name) ||
	    (size_t)snprintf(child->dir, sizeof(child->dir), "%s/%s", run->dir, name) >=
		sizeof(child->dir)) {
		ret = cg__fail(ENAMETOOLONG, "%s/%s: path too long", run->dir, name);
		goto out;
	}
	ret =
	    child->version == CHAOS_CG_V1 ? cg__v1_child_create(child) : cg__v2_child_create(child);
	if (ret < 0)
		goto out;
	if (limit) {
		ret = chaos_cg_set_limit(child, limit);
		if (ret < 0) {
			/* Do not leave a half-configured cgroup behind. */
			cg__remove_tree("memory", child->mount, child->dir, &removed);
			goto out;
		}
	}
	child->next = run->kids;
	run->kids = child;
out:
	if (ret < 0)
		cg_free(child);
	else
		*out = child;
	return ret;
}

int chaos_cg_set_limit(struct chaos_cg *cg, uint64_t limit)
{
	return cg->version == CHAOS_CG_V1 ? cg__v1_set_limit(cg, limit)
					  : cg__v2_set_limit(cg, limit);
}

int chaos_cg_attach(struct chaos_cg *cg, pid_t pid)
{
	return cg->version == CHAOS_CG_V1 ? cg__v1_attach(cg, pid) : cg__v2_attach(cg, pid);
}

int chaos_cg_contains(struct chaos_cg *cg, pid_t pid)
{
	char cur[4096];
	int ret;

	ret =
	    cg__proc_cgroup_path(pid, cg->version == CHAOS_CG_V1 ? "memory" : "", cur, sizeof(cur));
	if (ret == -ENOENT || ret == -ESRCH)
		return 0;
	if (ret < 0)
		return cg__fail(ret, "/proc/%d/cgroup: %s", (int)pid, strerror(-ret));
	return cg__path_under(cur, cg->name);
}

int chaos_cg_pids(struct chaos_cg *cg, pid_t *pids, size_t max, size_t *n)
{
	*n = 0;
	return cg__collect_pids(cg->dir, pids, max, n);
}

int chaos_cg_oom_kills(struct chaos_cg *cg, uint64_t *count)
{
	return cg->version == CHAOS_CG_V1 ? cg__v1_oom_kills(cg, count)
					  : cg__v2_oom_kills(cg, count);
}

int chaos_cg_oom_fd(struct chaos_cg *cg)
{
	if (cg->oom_fd >= 0)
		return cg->oom_fd;
	return cg->version == CHAOS_CG_V1 ? cg__v1_oom_fd(cg) : cg__v2_oom_fd(cg);
}

void chaos_cg_oom_ack(struct chaos_cg *cg)
{
	if (cg->oom_fd < 0)
		return;
	if (cg->version == CHAOS_CG_V1)
		cg__v1_oom_ack(cg);
	else
		cg__v2_oom_ack(cg);
}

int chaos_cg_kill_all(struct chaos_cg *cg, unsigned *killed)
{
	*killed = 0;
	return cg->version == CHAOS_CG_V1 ? cg__v1_kill_all(cg, killed)
					  : cg__v2_kill_all(cg, killed);
}

int chaos_cg_destroy(struct chaos_cg *cg, unsigned *removed)
{
	unsigned killed = 0;
	int ret, r;

	*removed = 0;
	if (!cg)
		return 0;
	ret = chaos_cg_kill_all(cg, &killed);
	/* Close the OOM descriptors before the rmdir: an eventfd registered
	 * on a v1 cgroup is released by the kernel on removal anyway, but an
	 * inotify watch on a v2 file is not needed past this point. */
	if (cg->oom_fd >= 0) {
		close(cg->oom_fd);
		cg->oom_fd = -1;
	}
	if (cg->ctl_fd >= 0) {
		close(cg->ctl_fd);
		cg->ctl_fd = -1;
	}
	r = cg->version == CHAOS_CG_V1 ? cg__v1_remove(cg, removed) : cg__v2_remove(cg, removed);
	if (r < 0 && ret == 0)
		ret = r;
	if (cg->is_run) {
		/* The children's directories went with the run's tree; their
		 * handles go with it too. */
		while (cg->kids) {
			struct chaos_cg *k = cg->kids;

			cg->kids = k->next;
			cg_free(k);
		}
	} else if (cg->run) {
		struct chaos_cg **pp = &cg->run->kids;

		while (*pp && *pp != cg)
			pp = &(*pp)->next;
		if (*pp)
			*pp = cg->next;
	}
	cg_free(cg);
	return ret;
}

const char *chaos_cg_name(const struct chaos_cg *cg)
{
	return cg->name;
}

const char *chaos_cg_dir(const struct chaos_cg *cg)
{
	return cg->dir;
}

/* Is the owner of run cgroup leaf still alive (same pid, same starttime)?
 * 1 alive, 0 dead, -EINVAL if leaf is not a run name. */
static int owner_alive(const char *leaf)
{
	unsigned long long st, cur;
	unsigned long seq;
	pid_t pid;
	int ret;

	ret = cg__parse_run_name(leaf, &pid, &st, &seq);
	if (ret < 0)
		return ret;
	ret = cg__proc_starttime(pid, &cur);
	if (ret < 0)
		return 0;
	return cur == st;
}

/* Kill and remove a freezer cgroup whose memory twin is already gone. */
static int sweep_freezer_only(const struct chaos_cg_env *env, const char *leaf)
{
	struct chaos_cg *h;
	unsigned n = 0;
	int ret;

	h = cg_alloc();
	if (!h)
		return cg__fail(ENOMEM, "out of memory");
	h->version = CHAOS_CG_V1;
	h->is_run = 1;
	/* An empty memory dir tells the v1 code to work on the freezer only. */
	ret = cg__v1_freezer_for(env, h, leaf, 1);
	if (ret == 0 && h->frz_dir[0])
		ret = chaos_cg_destroy(h, &n);
	else
		cg_free(h);
	return ret;
}

int chaos_cg_sweep_stale(const struct chaos_cg_env *env, unsigned *removed)
{
	struct dirent *de;
	DIR *d = NULL;
	int ret = 0, r;

	*removed = 0;
	if (env->version == CHAOS_CG_NONE)
		return cg__fail(ENODEV, "no usable cgroup: %s", env->why);
	d = opendir(env->mem_dir);
	if (!d)
		return cg__fail(errno, "%s: opendir: %s", env->mem_dir, strerror(errno));
	while ((de = readdir(d))) {
		struct chaos_cg *run;
		unsigned n = 0;

		if (de->d_type != DT_DIR || owner_alive(de->d_name) != 0)
			continue;
		run = cg_alloc();
		if (!run) {
			ret = cg__fail(ENOMEM, "out of memory");
			break;
		}
		r = run_identity(env, run, de->d_name);
		if (r == 0 && env->version == CHAOS_CG_V1)
			r = cg__v1_freezer_for(env, run, de->d_name, 1);
		if (r == 0)
			r = chaos_cg_destroy(run, &n);
		else
			cg_free(run);
		if (r == 0)
			(*removed)++;
		else if (ret == 0)
			ret = r;
	}
	closedir(d);
	d = NULL;
	/* A freezer cgroup can outlive its memory twin if the owner died
	 * between removing the two. */
	if (env->version == CHAOS_CG_V1 && env->freezer_dir[0]) {
		d = opendir(env->freezer_dir);
		if (!d)
			goto out;
		while ((de = readdir(d))) {
			if (de->d_type != DT_DIR || owner_alive(de->d_name) != 0)
				continue;
			r = sweep_freezer_only(env, de->d_name);
			if (r < 0 && ret == 0)
				ret = r;
		}
		closedir(d);
	}
out:
	return ret;
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

int cg__wait_empty(struct chaos_cg *cg, unsigned ms)
{
	int64_t deadline = cg__now_ms() + ms;
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
			return cg__fail(
			    EBUSY, "%s: still holds %zu process(es) (first %d) after %u ms",
			    cg->dir[0] ? cg->dir : cg->frz_dir, n, n ? (int)pids[0] : 0, ms);
		cg__sleep_ms(5);
	}
}

int cg__kill_tree(struct chaos_cg *cg, unsigned *killed)
{
	const char *mem_want = cg->version == CHAOS_CG_V1 ? "memory" : "";
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
		if (cg->frz_dir[0]) {
			ret = cg__v1_freeze(cg, 1);
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
				    : cg__kill_member(pids[i], mem_want, cg->name);
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
			ret = cg__v1_freeze(cg, 0);
			frozen = 0;
			if (ret < 0)
				goto out;
		}
		/* With a freezer everything was signalled, so only give the
		 * kernel time to finish the exits; without one, check back
		 * soon for processes forked meanwhile. */
		ret = cg__wait_empty(cg, cg->frz_dir[0] ? CG__EMPTY_WAIT_MS / 5 : 20);
		if (ret == 0)
			goto out;
	}
	ret = cg__wait_empty(cg, CG__EMPTY_WAIT_MS);
out:
	if (frozen)
		cg__v1_freeze(cg, 0);
	*killed += (unsigned)ndone;
	free(pids);
	free(done);
	free(from);
	return ret;
}
