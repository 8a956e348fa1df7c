/* cgroup backends (v1 and v2) behind one small interface.
 *
 * Everything the controller does with cgroups goes through here; the
 * version-specific code lives in v1.c and v2.c behind one table of
 * operations (backend.h), what both share in common.c, and this API with
 * detection and the stale sweep in cgroup.c. libcgroup is
 * used for creating, attaching and deleting; files it has no API for
 * (memory.events, memory.oom_control, cgroup.event_control, cgroup.kill,
 * freezer.state) are read and written directly.
 *
 * All functions return 0 or -errno and never exit. Errors name the path.
 */
#ifndef CHAOS_CGROUP_H
#define CHAOS_CGROUP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum chaos_cg_version {
	CHAOS_CG_NONE = 0,
	CHAOS_CG_V1,
	CHAOS_CG_V2,
};

/* What detection found. mem_dir is the absolute directory of the process's
 * own memory cgroup (e.g. /sys/fs/cgroup/memory/a/b on v1,
 * /sys/fs/cgroup/a/b on v2), read from /proc/self/cgroup. */
struct chaos_cg_env {
	enum chaos_cg_version version;
	char mem_dir[4096];
	char freezer_dir[4096]; /* v1 only; "" when no usable freezer */
	int has_memsw;          /* v1: memory.memsw.limit_in_bytes exists */
	int has_swap_max;       /* v2: memory.swap.max exists */
	char why[512];          /* when version == NONE: the reason, one line */
};

/* One cgroup this process created (a run, or a worker below a run). */
struct chaos_cg;

/* Find a writable memory controller below our own cgroup. Returns 0 with
 * env->version set, or -errno with env->version == CHAOS_CG_NONE and
 * env->why filled in (not root, no memory controller, not writable, ...). */
int chaos_cg_detect(struct chaos_cg_env *env);

/* Create the run cgroup below our own cgroup, named
 * "chaos.<pid>.<starttime>.<seq>" so a later controller can tell whether its
 * owner is still alive. On v2 it also creates the leaf "main" for the
 * target's own processes (no internal processes rule) and enables the memory
 * controller for its children. */
int chaos_cg_run_create(const struct chaos_cg_env *env, struct chaos_cg **run);

/* Create a child "name" of run with a memory limit (0 = none); swap is
 * limited to 0 where the knob exists (memsw on v1, memory.swap.max on v2). */
int chaos_cg_child_create(struct chaos_cg *run, const char *name, uint64_t limit,
			  struct chaos_cg **child);

/* Set the memory limit of a cgroup (the whole-run mode sets it on the run). */
int chaos_cg_set_limit(struct chaos_cg *cg, uint64_t limit);

/* Move a process into cg. For a run cgroup this means its "main" leaf on v2
 * and also the run's freezer cgroup on v1. */
int chaos_cg_attach(struct chaos_cg *cg, pid_t pid);

/* Is pid a member of cg or of any cgroup below it? 1 yes, 0 no, -errno. */
int chaos_cg_contains(struct chaos_cg *cg, pid_t pid);

/* List the processes in cg and below (at most max; *n gets the count). */
int chaos_cg_pids(struct chaos_cg *cg, pid_t *pids, size_t max, size_t *n);

/* Read the OOM-kill counter: oom_kill in memory.events (v2) or in
 * memory.oom_control (v1). -ENOENT where the kernel has no such counter. */
int chaos_cg_oom_kills(struct chaos_cg *cg, uint64_t *count);

/* A descriptor that becomes readable (poll POLLIN or POLLPRI) when the
 * cgroup's OOM state may have changed: an inotify fd on memory.events (v2),
 * an eventfd registered via cgroup.event_control (v1; it also fires on
 * rmdir, so always confirm with chaos_cg_oom_kills). Owned by cg; call
 * chaos_cg_oom_ack() after it fires. Returns the fd or -errno. */
int chaos_cg_oom_fd(struct chaos_cg *cg);
void chaos_cg_oom_ack(struct chaos_cg *cg);

/* Kill every process in cg and below: cgroup.kill on v2; freeze, SIGKILL
 * each process through a pidfd, thaw on v1. Waits (bounded) until the
 * cgroups are empty. *killed gets the number of processes signalled. */
int chaos_cg_kill_all(struct chaos_cg *cg, unsigned *killed);

/* Kill what is left, remove cg and all cgroups below it (children first,
 * bounded rmdir retries), free the handle. *removed counts directories. */
int chaos_cg_destroy(struct chaos_cg *cg, unsigned *removed);

/* Path of cg relative to the hierarchy root (e.g. "/a/b/chaos.1.2.0/w3"),
 * and its absolute directory. */
const char *chaos_cg_name(const struct chaos_cg *cg);
const char *chaos_cg_dir(const struct chaos_cg *cg);

/* Remove run cgroups below our own cgroup whose owning controller is dead
 * (killing their processes first). *removed counts run cgroups removed. */
int chaos_cg_sweep_stale(const struct chaos_cg_env *env, unsigned *removed);

/* Last error text of this module (what, where, why), for the CLI. */
const char *chaos_cg_last_error(void);

#endif
