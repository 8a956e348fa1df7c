/* cgroup v2 backend: one unified hierarchy, memory.max/memory.swap.max for
 * limits, memory.events for OOM counts and notification, cgroup.kill to
 * kill a whole tree. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "cgroup/backend.h"
#include "cgroup/common.h"
#include "sys/file.h"

/* Does a space-separated controller list hold the word ctl? */
static int has_word(const char *list, const char *ctl)
{
	size_t n = strlen(ctl);
	const char *p = list;

	while ((p = strstr(p, ctl))) {
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\n' || p[n] == '\0'))
			return 1;
		p += n;
	}
	return 0;
}

/* Make sure dir delegates the memory controller to its children (writes
 * "+memory" to cgroup.subtree_control unless it is there already). */
static int enable_memory(const char *dir)
{
	char text[1024];
	int ret;

	ret = cg__read_knob(dir, "cgroup.subtree_control", text, sizeof(text));
	if (ret >= 0 && !has_word(text, "memory"))
		ret = cg__write_knob(dir, "cgroup.subtree_control", "+memory");
	return ret < 0 ? ret : 0;
}

static int v2_detect(struct chaos_cg_env *env, const char *proc_cgroup)
{
	char rel[4096], mount[4096], path[4096 + 64], text[1024];
	int ret;

	ret = cg__find_cgroup_path(proc_cgroup, "", rel, sizeof(rel));
	if (ret < 0) {
		cg__why(env, "no 0:: line in /proc/self/cgroup");
		return -ENOENT;
	}
	ret = cg__find_mount(NULL, mount, sizeof(mount));
	if (ret < 0) {
		cg__why(env, "cgroup2 is not mounted");
		return -ENODEV;
	}
	if ((size_t)snprintf(env->mem_dir, sizeof(env->mem_dir), "%s%s", mount,
			     strcmp(rel, "/") ? rel : "") >= sizeof(env->mem_dir)) {
		cg__why(env, "%s%s: path too long", mount, rel);
		return -ENAMETOOLONG;
	}
	snprintf(path, sizeof(path), "%s/cgroup.controllers", env->mem_dir);
	ret = (int)chaos_read_small(path, text, sizeof(text));
	if (ret < 0 || !has_word(text, "memory")) {
		cg__why(env, "%s: %s", path, ret < 0 ? strerror(-ret) : "no memory controller");
		return ret < 0 ? ret : -ENODEV;
	}
	if (access(env->mem_dir, W_OK) != 0) {
		ret = -errno;
		cg__why(env, "%s: not writable: %s", env->mem_dir, strerror(errno));
		return ret;
	}
	/* Our run cgroups need the memory controller, so our own cgroup must
	 * delegate it. A non-root cgroup that holds processes (us) cannot
	 * (no internal processes rule: EBUSY); moving the caller somewhere
	 * else behind its back would surprise it, so report instead. */
	snprintf(path, sizeof(path), "%s/cgroup.subtree_control", env->mem_dir);
	ret = enable_memory(env->mem_dir);
	if (ret < 0) {
		if (ret == -EBUSY)
			cg__why(env,
				"%s: cannot enable +memory: our own cgroup holds processes "
				"(run the controller in a cgroup of its own, one level up)",
				path);
		else
			cg__why(env, "%s: cannot enable +memory: %s", path, strerror(-ret));
		return ret;
	}
	/* The root has no memory.swap.max; a child would show whether the
	 * kernel has swap accounting, so check for swap support here. */
	snprintf(path, sizeof(path), "%s/memory.swap.max", env->mem_dir);
	env->has_swap_max = access(path, F_OK) == 0 || access("/proc/swaps", F_OK) == 0;
	env->version = CHAOS_CG_V2;
	return 0;
}

static int v2_run_create(const struct chaos_cg_env *env, struct chaos_cg *run)
{
	char name[4096 + 8], path[4096 + 64];
	unsigned removed = 0;
	int ret;

	(void)env;
	ret = cg__lcg_create("memory", run->name, run->dir);
	if (ret < 0)
		return ret;
	if ((size_t)snprintf(run->main_dir, sizeof(run->main_dir), "%s/main", run->dir) >=
	    sizeof(run->main_dir)) {
		ret = cg__fail(ENAMETOOLONG, "%s/main: path too long", run->dir);
		goto out;
	}
	snprintf(name, sizeof(name), "%s/main", run->name);
	/* The target's own processes live in the leaf "main": the run itself
	 * delegates memory to its children and so may hold no process. */
	ret = cg__lcg_create("memory", name, run->main_dir);
	if (ret < 0)
		goto out;
	/* libcgroup 2.0.2 enables the controller in the parent's
	 * subtree_control when creating the child; make sure, as the
	 * per-worker limits depend on it. */
	ret = enable_memory(run->dir);
	if (ret < 0)
		goto out;
	snprintf(path, sizeof(path), "%s/memory.swap.max", run->dir);
	run->has_swap_max = access(path, F_OK) == 0;
out:
	if (ret < 0)
		cg__remove_tree("memory", run->mount, run->dir, &removed);
	return ret;
}

static int v2_child_create(struct chaos_cg *child)
{
	/* memory.oom.group stays 0: an OOM kill takes one worker, which is
	 * exactly the event the pool under test must survive. */
	return cg__lcg_create("memory", child->name, child->dir);
}

static int v2_set_limit(struct chaos_cg *cg, uint64_t limit)
{
	char val[32], path[4096 + 64];
	int ret;

	cg__limit_text(limit, "max", val, sizeof(val));
	ret = cg__write_knob(cg->dir, "memory.max", val);
	if (ret < 0)
		return ret;
	snprintf(path, sizeof(path), "%s/memory.swap.max", cg->dir);
	if (access(path, F_OK) == 0)
		ret = cg__write_knob(cg->dir, "memory.swap.max", limit ? "0" : "max");
	return ret;
}

static int v2_attach(struct chaos_cg *cg, pid_t pid)
{
	char name[4096 + 8];
	int ret;

	snprintf(name, sizeof(name), "%s%s", cg->name, cg->is_run ? "/main" : "");
	ret = cg__lcg_attach("memory", name, pid);
	if (ret == 0)
		return 0;
	/* libcgroup 2.0.2 builds the v2 cgroup.procs path from its mount
	 * table, which misses a cgroup2 mounted after cgroup_init() or at a
	 * non-standard place; the kernel interface is one write. */
	return cg__write_pid(cg->is_run ? cg->main_dir : cg->dir, pid);
}

static int v2_oom_kills(struct chaos_cg *cg, uint64_t *count)
{
	char text[1024];
	const char *p;
	int ret;

	ret = cg__read_knob(cg->dir, "memory.events", text, sizeof(text));
	if (ret < 0)
		return ret;
	/* "oom_kill N" is a whole line; "oom_group_kill" must not match. */
	for (p = text; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (!strncmp(p, "oom_kill ", 9)) {
			*count = strtoull(p + 9, NULL, 10);
			return 0;
		}
	}
	return cg__fail(ENOENT, "%s/memory.events: no oom_kill counter (kernel too old)", cg->dir);
}

static int v2_oom_fd(struct chaos_cg *cg)
{
	char path[4096 + 64];
	int fd, ret;

	fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (fd < 0)
		return cg__fail(errno, "inotify_init1: %s", strerror(errno));
	snprintf(path, sizeof(path), "%s/memory.events", cg->dir);
	/* The kernel signals a change of memory.events as IN_MODIFY. */
	if (inotify_add_watch(fd, path, IN_MODIFY) < 0) {
		ret = cg__fail(errno, "%s: inotify_add_watch: %s", path, strerror(errno));
		close(fd);
		return ret;
	}
	cg->oom_fd = fd;
	return fd;
}

static void v2_oom_ack(struct chaos_cg *cg)
{
	char buf[4096];
	int i;

	/* Drain the queued events, bounded; the fd is non-blocking. */
	for (i = 0; i < 64; i++) {
		ssize_t r = read(cg->oom_fd, buf, sizeof(buf));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
	}
}

static int v2_kill_all(struct chaos_cg *cg, unsigned *killed)
{
	char path[4096 + 64];
	pid_t pids[1024];
	size_t n = 0;
	int ret;

	snprintf(path, sizeof(path), "%s/cgroup.kill", cg->dir);
	if (access(path, F_OK) != 0)
		return cg__kill_tree(cg, "", NULL, killed); /* before Linux 5.14 */
	/* Count first (for the report), then kill atomically: cgroup.kill
	 * also catches processes forked after the count. */
	ret = cg__collect_pids(cg->dir, pids, 1024, &n);
	if (ret < 0 && ret != -ENOBUFS)
		return ret;
	if (n == 0)
		return 0;
	ret = chaos_write_small(path, "1");
	if (ret == -ENOENT)
		return 0;
	if (ret < 0)
		return cg__fail(ret, "%s: cannot write 1: %s", path, strerror(-ret));
	*killed += (unsigned)n;
	return cg__wait_empty(cg, cg__now_ms() + CG__EMPTY_WAIT_MS);
}

static int v2_remove(struct chaos_cg *cg, unsigned *removed)
{
	/* Deepest first: libcgroup 2.0.2 cannot delete a v2 cgroup that
	 * still has children. */
	return cg__remove_tree("memory", cg->mount, cg->dir, removed);
}

const struct cg__ops cg__v2_ops = {
    .proc_ctl = "",
    .mount_ctl = NULL,
    .mount_what = "cgroup2",
    .detect = v2_detect,
    .run_create = v2_run_create,
    .run_adopt = NULL,
    .child_create = v2_child_create,
    .set_limit = v2_set_limit,
    .attach = v2_attach,
    .oom_kills = v2_oom_kills,
    .oom_fd = v2_oom_fd,
    .oom_ack = v2_oom_ack,
    .kill_all = v2_kill_all,
    .remove = v2_remove,
    .sweep_extra = NULL,
};
