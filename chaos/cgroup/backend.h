/* The interface between the public cgroup API (cgroup.c) and the two
 * backends: one table of operations per cgroup version, defined in v1.c and
 * v2.c. cgroup.c does what is the same on both versions and calls through
 * the table for the rest; the backends build on common.h and never call
 * back into cgroup.c. Not part of the public API. */
#ifndef CHAOS_CGROUP_BACKEND_H
#define CHAOS_CGROUP_BACKEND_H

#include <stdint.h>
#include <sys/types.h>

#include "cgroup/cgroup.h"
#include "cgroup/common.h"

struct cg__ops {
	/* The hierarchy that holds the memory controller: its name in
	 * /proc/<pid>/cgroup (want of cg__parse_cgroup_line), its controller
	 * for cg__find_mount (NULL: the cgroup2 mount), and how an error text
	 * calls its mount. */
	const char *proc_ctl;
	const char *mount_ctl;
	const char *mount_what;

	/* Fill env from our /proc/self/cgroup text if this version is usable:
	 * 0, or -errno with env->why set (-ENOENT: no such hierarchy here). */
	int (*detect)(struct chaos_cg_env *env, const char *proc_cgroup);
	/* Create the directories of run, whose identity (name, dir, mount)
	 * is filled in; on failure nothing of it is left. */
	int (*run_create)(const struct chaos_cg_env *env, struct chaos_cg *run);
	/* Complete the handle of an existing run cgroup (the stale sweep)
	 * with what the backend keeps beside it. NULL: nothing to add. */
	int (*run_adopt)(const struct chaos_cg_env *env, struct chaos_cg *run);
	/* Create the directory of child (identity filled in, no limit yet). */
	int (*child_create)(struct chaos_cg *child);
	int (*set_limit)(struct chaos_cg *cg, uint64_t limit);
	int (*attach)(struct chaos_cg *cg, pid_t pid);
	int (*oom_kills)(struct chaos_cg *cg, uint64_t *count);
	/* Set up cg->oom_fd (called only while it is -1); returns it. */
	int (*oom_fd)(struct chaos_cg *cg);
	void (*oom_ack)(struct chaos_cg *cg);
	/* Kill everything in cg and below; add the count to *killed. */
	int (*kill_all)(struct chaos_cg *cg, unsigned *killed);
	/* Remove cg's directories (processes already killed); *removed counts
	 * memory cgroups. */
	int (*remove)(struct chaos_cg *cg, unsigned *removed);
	/* Sweep what the backend keeps beside the memory cgroups of dead
	 * controllers, after the memory sweep. NULL: nothing. */
	int (*sweep_extra)(const struct chaos_cg_env *env);
};

extern const struct cg__ops cg__v1_ops;
extern const struct cg__ops cg__v2_ops;

#endif
