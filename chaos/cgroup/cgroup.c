/* The public cgroup API (cgroup.h): what is the same on v1 and v2 (handles,
 * names, child bookkeeping, membership, the stale sweep) is done here, the
 * rest is dispatched through the backend's table of operations (backend.h;
 * v1.c, v2.c). The handle's ops pointer is chosen once, from the detected
 * version, when the handle is made. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "cgroup/backend.h"
#include "cgroup/cgroup.h"
#include "cgroup/common.h"
#include "sys/file.h"
#include "sys/proc.h"

/* The backends by version, in the order detection tries them: on a hybrid
 * host both hierarchies exist, and the memory controller is on v1. */
static const struct cg__ops *const backends[] = {
    [CHAOS_CG_V1] = &cg__v1_ops,
    [CHAOS_CG_V2] = &cg__v2_ops,
};
#define N_BACKENDS (sizeof(backends) / sizeof(backends[0]))

int chaos_cg_detect(struct chaos_cg_env *env)
{
	char text[8192], why[sizeof(env->why)] = "";
	int ret = -ENODEV, r;
	ssize_t n;
	size_t v;

	memset(env, 0, sizeof(*env));
	env->version = CHAOS_CG_NONE;
	n = chaos_read_small("/proc/self/cgroup", text, sizeof(text));
	if (n < 0) {
		cg__why(env, "/proc/self/cgroup: %s", strerror((int)-n));
		return cg__fail((int)n, "%s", env->why);
	}
	for (v = CHAOS_CG_V1; v < N_BACKENDS; v++) {
		/* Each backend starts from a clean env, so that nothing of an
		 * earlier attempt (why, paths) leaks into its result. */
		memset(env, 0, sizeof(*env));
		r = backends[v]->detect(env, text);
		if (r == 0)
			return 0;
		/* A hierarchy that exists here but is unusable (a v1 memory
		 * line) is the reason to report unless a later backend works.
		 * The last backend is the fallback: its failure alone means
		 * no usable cgroup (-ENODEV, with its reason). */
		if (r != -ENOENT && !why[0] && v + 1 < N_BACKENDS) {
			memcpy(why, env->why, sizeof(why));
			ret = r;
		}
	}
	if (why[0]) {
		memset(env, 0, sizeof(*env));
		memcpy(env->why, why, sizeof(why));
	}
	env->version = CHAOS_CG_NONE;
	return cg__fail(ret, "%s", env->why);
}

static unsigned long run_seq;
static pthread_mutex_t seq_lock = PTHREAD_MUTEX_INITIALIZER;

/* Our own memory cgroup relative to its mount, in buf. */
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

	run->ops = backends[env->version];
	run->is_run = 1;
	run->has_memsw = env->has_memsw;
	run->has_swap_max = env->has_swap_max;
	ret = cg__find_mount(run->ops->mount_ctl, run->mount, sizeof(run->mount));
	if (ret < 0)
		return cg__fail(ret, "no %s mount found in /proc/self/mounts", run->ops->mount_what);
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
	struct chaos_proc_stat st;
	struct chaos_cg *run = NULL;
	unsigned long seq;
	char leaf[128];
	int ret;

	*out = NULL;
	if (env->version == CHAOS_CG_NONE)
		return cg__fail(ENODEV, "no usable cgroup: %s", env->why);
	ret = chaos_proc_stat(getpid(), &st);
	if (ret < 0)
		return cg__fail(ret, "/proc/self/stat: cannot read starttime: %s", strerror(-ret));
	pthread_mutex_lock(&seq_lock);
	seq = run_seq++;
	pthread_mutex_unlock(&seq_lock);
	snprintf(leaf, sizeof(leaf), "chaos.%d.%llu.%lu", (int)getpid(), st.starttime, seq);
	run = cg__alloc();
	if (!run)
		return cg__fail(ENOMEM, "out of memory");
	ret = run_identity(env, run, leaf);
	if (ret < 0)
		goto out;
	ret = run->ops->run_create(env, run);
out:
	if (ret < 0)
		cg__free(run);
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
	child = cg__alloc();
	if (!child)
		return cg__fail(ENOMEM, "out of memory");
	child->ops = run->ops;
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
	ret = child->ops->child_create(child);
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
		cg__free(child);
	else
		*out = child;
	return ret;
}

int chaos_cg_set_limit(struct chaos_cg *cg, uint64_t limit)
{
	return cg->ops->set_limit(cg, limit);
}

int chaos_cg_attach(struct chaos_cg *cg, pid_t pid)
{
	return cg->ops->attach(cg, pid);
}

int chaos_cg_contains(struct chaos_cg *cg, pid_t pid)
{
	char cur[4096];
	int ret;

	ret = cg__proc_cgroup_path(pid, cg->ops->proc_ctl, cur, sizeof(cur));
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
	return cg->ops->oom_kills(cg, count);
}

int chaos_cg_oom_fd(struct chaos_cg *cg)
{
	if (cg->oom_fd >= 0)
		return cg->oom_fd;
	return cg->ops->oom_fd(cg);
}

void chaos_cg_oom_ack(struct chaos_cg *cg)
{
	if (cg->oom_fd >= 0)
		cg->ops->oom_ack(cg);
}

int chaos_cg_kill_all(struct chaos_cg *cg, unsigned *killed)
{
	*killed = 0;
	return cg->ops->kill_all(cg, killed);
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
	r = cg->ops->remove(cg, removed);
	if (r < 0 && ret == 0)
		ret = r;
	if (cg->is_run) {
		/* The children's directories went with the run's tree; their
		 * handles go with it too. */
		while (cg->kids) {
			struct chaos_cg *k = cg->kids;

			cg->kids = k->next;
			cg__free(k);
		}
	} else if (cg->run) {
		struct chaos_cg **pp = &cg->run->kids;

		while (*pp && *pp != cg)
			pp = &(*pp)->next;
		if (*pp)
			*pp = cg->next;
	}
	cg__free(cg);
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

/* One pass of the stale sweep over our own memory cgroup. */
struct run_sweep {
	const struct chaos_cg_env *env;
	unsigned removed;
	int ret;
};

/* Kill and remove the run cgroup leaf of a dead controller. */
static void sweep_run(const char *leaf, void *arg)
{
	struct run_sweep *s = arg;
	struct chaos_cg *run;
	unsigned n = 0;
	int r;

	run = cg__alloc();
	if (!run) {
		r = cg__fail(ENOMEM, "out of memory");
		goto out;
	}
	r = run_identity(s->env, run, leaf);
	if (r == 0 && run->ops->run_adopt)
		r = run->ops->run_adopt(s->env, run);
	if (r == 0)
		r = chaos_cg_destroy(run, &n);
	else
		cg__free(run);
	if (r == 0)
		s->removed++;
out:
	if (r < 0 && s->ret == 0)
		s->ret = r;
}

int chaos_cg_sweep_stale(const struct chaos_cg_env *env, unsigned *removed)
{
	struct run_sweep s = {env, 0, 0};
	const struct cg__ops *ops;
	int r;

	*removed = 0;
	if (env->version == CHAOS_CG_NONE)
		return cg__fail(ENODEV, "no usable cgroup: %s", env->why);
	ops = backends[env->version];
	r = cg__each_stale(env->mem_dir, sweep_run, &s);
	if (r < 0)
		return cg__fail(r, "%s: opendir: %s", env->mem_dir, strerror(-r));
	*removed = s.removed;
	if (ops->sweep_extra) {
		r = ops->sweep_extra(env);
		if (r < 0 && s.ret == 0)
			s.ret = r;
	}
	return s.ret;
}
