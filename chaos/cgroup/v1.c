/* cgroup v1 backend: memory hierarchy for limits and OOM counters, an
 * optional freezer hierarchy for killing a whole run without races. A run's
 * freezer cgroup is its "twin": same leaf name below our own freezer
 * cgroup, created, attached, swept and removed together with it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "cgroup/backend.h"
#include "cgroup/common.h"
#include "sys/file.h"

static int v1_detect(struct chaos_cg_env *env, const char *proc_cgroup)
{
	char rel[4096], mount[4096], frel[4096], fmount[4096], path[4096 + 64];
	int ret;

	ret = cg__find_cgroup_path(proc_cgroup, "memory", rel, sizeof(rel));
	if (ret < 0) {
		cg__why(env, "no v1 memory line in /proc/self/cgroup");
		return -ENOENT;
	}
	ret = cg__find_mount("memory", mount, sizeof(mount));
	if (ret < 0) {
		cg__why(env, "v1 memory cgroup %s is not mounted (no cgroup mount with memory)",
			rel);
		return -ENODEV;
	}
	if ((size_t)snprintf(env->mem_dir, sizeof(env->mem_dir), "%s%s", mount,
			     strcmp(rel, "/") ? rel : "") >= sizeof(env->mem_dir)) {
		cg__why(env, "%s%s: path too long", mount, rel);
		return -ENAMETOOLONG;
	}
	if (access(env->mem_dir, W_OK) != 0) {
		ret = -errno;
		cg__why(env, "%s: not writable: %s", env->mem_dir, strerror(errno));
		return ret;
	}
	snprintf(path, sizeof(path), "%s/memory.memsw.limit_in_bytes", env->mem_dir);
	env->has_memsw = access(path, F_OK) == 0;
	/* The freezer is optional: without it kill_all falls back to rounds
	 * of read-procs/kill. */
	env->freezer_dir[0] = '\0';
	if (cg__find_cgroup_path(proc_cgroup, "freezer", frel, sizeof(frel)) == 0 &&
	    cg__find_mount("freezer", fmount, sizeof(fmount)) == 0 &&
	    (size_t)snprintf(path, sizeof(path), "%s%s", fmount, strcmp(frel, "/") ? frel : "") <
		sizeof(env->freezer_dir) &&
	    access(path, W_OK) == 0)
		strcpy(env->freezer_dir, path);
	env->version = CHAOS_CG_V1;
	return 0;
}

/* Fill run->frz_dir/frz_name for run leaf below our own freezer cgroup
 * (nothing if env has no usable freezer). With must_exist, leave them empty
 * when that directory does not exist. */
static int freezer_for(const struct chaos_cg_env *env, struct chaos_cg *run, const char *leaf,
		       int must_exist)
{
	char fmount[4096];
	size_t ml;
	int ret;

	run->frz_dir[0] = run->frz_name[0] = '\0';
	if (!env->freezer_dir[0])
		return 0;
	ret = cg__find_mount("freezer", fmount, sizeof(fmount));
	if (ret < 0)
		return 0;
	ml = strlen(fmount);
	if (strncmp(env->freezer_dir, fmount, ml) != 0)
		return cg__fail(EINVAL, "%s is not below %s", env->freezer_dir, fmount);
	if ((size_t)snprintf(run->frz_dir, sizeof(run->frz_dir), "%s/%s", env->freezer_dir, leaf) >=
		sizeof(run->frz_dir) ||
	    (size_t)snprintf(run->frz_name, sizeof(run->frz_name), "%s/%s", env->freezer_dir + ml,
			     leaf) >= sizeof(run->frz_name)) {
		run->frz_dir[0] = run->frz_name[0] = '\0';
		return cg__fail(ENAMETOOLONG, "%s/%s: path too long", env->freezer_dir, leaf);
	}
	if (must_exist && access(run->frz_dir, F_OK) != 0)
		run->frz_dir[0] = run->frz_name[0] = '\0';
	return 0;
}

static int v1_run_create(const struct chaos_cg_env *env, struct chaos_cg *run)
{
	const char *leaf = strrchr(run->dir, '/') + 1;
	char fmount[4096];
	unsigned removed = 0;
	int ret;

	ret = cg__lcg_create("memory", run->name, run->dir);
	if (ret < 0)
		return ret;
	ret = freezer_for(env, run, leaf, 0);
	if (ret < 0 || !run->frz_dir[0])
		goto out;
	ret = cg__lcg_create("freezer", run->frz_name, run->frz_dir);
out:
	if (ret < 0) {
		cg__remove_tree("memory", run->mount, run->dir, &removed);
		if (run->frz_dir[0] && cg__find_mount("freezer", fmount, sizeof(fmount)) == 0)
			cg__remove_tree("freezer", fmount, run->frz_dir, &removed);
	}
	return ret;
}

/* The existing twin of a run found by the stale sweep. */
static int v1_run_adopt(const struct chaos_cg_env *env, struct chaos_cg *run)
{
	return freezer_for(env, run, strrchr(run->dir, '/') + 1, 1);
}

static int v1_child_create(struct chaos_cg *child)
{
	return cg__lcg_create("memory", child->name, child->dir);
}

static int v1_set_limit(struct chaos_cg *cg, uint64_t limit)
{
	char val[32];
	int ret;

	/* The limit is written directly rather than through libcgroup's
	 * cgroup_modify_cgroup(): the kernel insists on memsw >= limit at
	 * every moment, so the order of the two writes depends on whether the
	 * limit goes up or down, and we want the errno of the exact file. */
	cg__limit_text(limit, "-1", val, sizeof(val));
	ret = cg__write_knob(cg->dir, "memory.limit_in_bytes", val);
	if (ret == -EINVAL && cg->has_memsw) {
		/* Raising the limit above the current memsw: raise memsw
		 * first, then retry. */
		ret = cg__write_knob(cg->dir, "memory.memsw.limit_in_bytes", val);
		if (ret == 0)
			ret = cg__write_knob(cg->dir, "memory.limit_in_bytes", val);
	}
	if (ret < 0)
		return ret;
	/* memsw == limit: no swap on top of the limit. */
	if (cg->has_memsw)
		ret = cg__write_knob(cg->dir, "memory.memsw.limit_in_bytes", val);
	return ret;
}

static int v1_attach(struct chaos_cg *cg, pid_t pid)
{
	int ret;

	/* libcgroup 2.0.2 attaches through the v1 "tasks" file, which moves
	 * only the one thread; cgroup.procs moves the whole thread group. */
	ret = cg__lcg_attach("memory", cg->name, pid);
	if (ret == 0)
		ret = cg__write_pid(cg->dir, pid);
	if (ret == 0 && cg->frz_dir[0]) {
		ret = cg__lcg_attach("freezer", cg->frz_name, pid);
		if (ret == 0)
			ret = cg__write_pid(cg->frz_dir, pid);
	}
	return ret;
}

/* Parse the oom_kill counter out of a memory.oom_control text. */
static int parse_oom_kill(const char *text, uint64_t *count)
{
	const char *p = strstr(text, "oom_kill ");

	/* "oom_kill_disable" shares the prefix; the counter is the line that
	 * is exactly "oom_kill N". */
	while (p && p != text && p[-1] != '\n')
		p = strstr(p + 1, "oom_kill ");
	if (!p)
		return -ENOENT;
	*count = strtoull(p + 9, NULL, 10);
	return 0;
}

static int oom_sum(const char *dir, uint64_t *count, int depth)
{
	char path[4096 + 64], text[512];
	struct dirent *de;
	uint64_t v = 0;
	DIR *d;
	int ret;

	if (depth > CG__MAX_DEPTH)
		return cg__fail(ELOOP, "%s: cgroup tree deeper than %d", dir, CG__MAX_DEPTH);
	ret = cg__read_knob(dir, "memory.oom_control", text, sizeof(text));
	if (ret < 0)
		return ret;
	ret = parse_oom_kill(text, &v);
	if (ret < 0)
		return cg__fail(ret, "%s/memory.oom_control: no oom_kill counter (kernel too old)",
				dir);
	*count += v;
	d = opendir(dir);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		ret = oom_sum(path, count, depth + 1);
		if (ret < 0)
			break;
	}
	closedir(d);
	return ret;
}

static int v1_oom_kills(struct chaos_cg *cg, uint64_t *count)
{
	/* v1 counts an OOM kill only in the cgroup whose limit was hit (no
	 * propagation to ancestors, unlike v2's memory.events), so sum the
	 * tree to give a run the same meaning on both versions. */
	*count = 0;
	return oom_sum(cg->dir, count, 0);
}

static int v1_oom_fd(struct chaos_cg *cg)
{
	char path[4096 + 64], val[64];
	int efd = -1, cfd = -1, ret;

	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (efd < 0) {
		ret = cg__fail(errno, "eventfd: %s", strerror(errno));
		goto out;
	}
	snprintf(path, sizeof(path), "%s/memory.oom_control", cg->dir);
	cfd = open(path, O_RDONLY | O_CLOEXEC);
	if (cfd < 0) {
		ret = cg__fail(errno, "%s: %s", path, strerror(errno));
		goto out;
	}
	snprintf(val, sizeof(val), "%d %d", efd, cfd);
	snprintf(path, sizeof(path), "%s/cgroup.event_control", cg->dir);
	ret = chaos_write_small(path, val);
	if (ret < 0) {
		cg__fail(ret, "%s: cannot register '%s': %s", path, val, strerror(-ret));
		goto out;
	}
	cg->oom_fd = efd;
	cg->ctl_fd = cfd;
	efd = cfd = -1;
	ret = cg->oom_fd;
out:
	if (efd >= 0)
		close(efd);
	if (cfd >= 0)
		close(cfd);
	return ret;
}

static void v1_oom_ack(struct chaos_cg *cg)
{
	uint64_t v;
	int i;

	/* Non-blocking eventfd: one read resets the counter. EINTR retries
	 * are capped like every other loop here. */
	for (i = 0; i < 64; i++)
		if (read(cg->oom_fd, &v, sizeof(v)) >= 0 || errno != EINTR)
			break;
}

/* Freeze (frozen = 1; waits bounded for FROZEN) or thaw cg's freezer twin. */
static int freeze(struct chaos_cg *cg, int frozen)
{
	char path[4096 + 64], state[64];
	int64_t deadline;
	int ret;

	snprintf(path, sizeof(path), "%s/freezer.state", cg->frz_dir);
	ret = chaos_write_small(path, frozen ? "FROZEN" : "THAWED");
	if (ret == -ENOENT)
		return 0; /* Removed meanwhile: nothing left to freeze. */
	if (ret < 0)
		return cg__fail(ret, "%s: cannot write %s: %s", path, frozen ? "FROZEN" : "THAWED",
				strerror(-ret));
	if (!frozen)
		return 0;
	/* FREEZING turns into FROZEN once every task has stopped; a task in
	 * an uninterruptible sleep can delay that, so wait bounded and carry
	 * on anyway: SIGKILL still reaches a freezing task. */
	deadline = cg__now_ms() + CG__FREEZE_WAIT_MS;
	do {
		if (chaos_read_small(path, state, sizeof(state)) < 0 ||
		    !strncmp(state, "FROZEN", 6))
			return 0;
		cg__sleep_until(2, deadline);
	} while (cg__now_ms() < deadline);
	return 0;
}

static int v1_kill_all(struct chaos_cg *cg, unsigned *killed)
{
	/* Without a freezer twin, rounds of read-procs/kill instead. */
	return cg__kill_tree(cg, "memory", cg->frz_dir[0] ? freeze : NULL, killed);
}

static int v1_remove(struct chaos_cg *cg, unsigned *removed)
{
	char fmount[4096];
	unsigned fr = 0;
	int ret = 0, r;

	if (cg->dir[0])
		ret = cg__remove_tree("memory", cg->mount, cg->dir, removed);
	/* The freezer twin is not counted: *removed counts memory cgroups, so
	 * that the number means the same on v1 and v2. */
	if (cg->frz_dir[0]) {
		r = cg__find_mount("freezer", fmount, sizeof(fmount));
		if (r == 0)
			r = cg__remove_tree("freezer", fmount, cg->frz_dir, &fr);
		if (r < 0 && ret == 0)
			ret = r;
	}
	return ret;
}

/* The stale sweep's second pass: a freezer twin can outlive its memory
 * cgroup if the owner died between removing the two. */
struct twin_sweep {
	const struct chaos_cg_env *env;
	int ret;
};

static void sweep_twin(const char *leaf, void *arg)
{
	struct twin_sweep *s = arg;
	struct chaos_cg *h;
	unsigned n = 0;
	int ret, r;

	h = cg__alloc();
	if (!h) {
		ret = cg__fail(ENOMEM, "out of memory");
		goto out;
	}
	h->ops = &cg__v1_ops;
	h->is_run = 1;
	/* An empty memory dir makes kill and remove work on the twin only. */
	ret = freezer_for(s->env, h, leaf, 1);
	if (ret == 0 && h->frz_dir[0]) {
		ret = v1_kill_all(h, &n);
		r = v1_remove(h, &n);
		if (r < 0 && ret == 0)
			ret = r;
	}
	cg__free(h);
out:
	if (ret < 0 && s->ret == 0)
		s->ret = ret;
}

static int v1_sweep_extra(const struct chaos_cg_env *env)
{
	struct twin_sweep s = {env, 0};

	/* An unreadable freezer directory leaves nothing to sweep. */
	if (env->freezer_dir[0])
		(void)cg__each_stale(env->freezer_dir, sweep_twin, &s);
	return s.ret;
}

const struct cg__ops cg__v1_ops = {
    .proc_ctl = "memory",
    .mount_ctl = "memory",
    .mount_what = "memory cgroup",
    .detect = v1_detect,
    .run_create = v1_run_create,
    .run_adopt = v1_run_adopt,
    .child_create = v1_child_create,
    .set_limit = v1_set_limit,
    .attach = v1_attach,
    .oom_kills = v1_oom_kills,
    .oom_fd = v1_oom_fd,
    .oom_ack = v1_oom_ack,
    .kill_all = v1_kill_all,
    .remove = v1_remove,
    .sweep_extra = v1_sweep_extra,
};
