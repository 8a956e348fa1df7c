/* Internal pieces shared by cgroup.c, cgroup_v1.c and cgroup_v2.c, and the
 * small parsers the tests drive directly. Not part of the public API. */
#ifndef CHAOS_CGROUP_INTERNAL_H
#define CHAOS_CGROUP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgroup/cgroup.h"

/* Bounds on every loop that waits for the kernel. */
#define CG__RMDIR_TRIES 200	/* 200 x 10 ms = 2 s per directory */
#define CG__FREEZE_WAIT_MS 2000 /* freezer.state must read FROZEN by then */
#define CG__EMPTY_WAIT_MS 5000	/* a killed cgroup must be empty by then */
#define CG__KILL_ROUNDS 50	/* read-procs/kill rounds without freezer */
#define CG__MAX_DEPTH 16	/* nesting we are willing to walk */
#define CG__MAX_PIDS 65536	/* processes we look at in one cgroup tree */

struct chaos_cg {
	enum chaos_cg_version version;
	int is_run;
	char name[4096];     /* relative to the memory hierarchy root */
	char dir[4096];	     /* absolute directory */
	char frz_name[4096]; /* v1 run: freezer cgroup relative path, or "" */
	char frz_dir[4096];  /* v1 run: freezer cgroup directory, or "" */
	char main_dir[4096]; /* v2 run: the "main" leaf directory */
	char mount[4096];    /* memory hierarchy mount point */
	int has_memsw;
	int has_swap_max;
	int oom_fd;	       /* eventfd (v1) or inotify fd (v2), -1 if none */
	int ctl_fd;	       /* v1: memory.oom_control kept open for the eventfd */
	struct chaos_cg *run;  /* for a child: its run; NULL for a run */
	struct chaos_cg *kids; /* for a run: its child handles */
	struct chaos_cg *next; /* sibling in run->kids */
};

/* Set the module's last error (printf format) and return -err. */
int cg__fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Set env->why (printf format), truncating long paths. */
void cg__why(struct chaos_cg_env *env, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parse one line of /proc/<pid>/cgroup. For want == "memory" a v1 line
 * "N:ctl,ctl:/path" whose controller list holds "memory" matches; for
 * want == "" the v2 line "0::/path" matches. Copies the path into out.
 * Returns 0 on a match, -ENOENT if the line is of another hierarchy,
 * -EINVAL if it is malformed, -ENAMETOOLONG if out is too small. */
int cg__parse_cgroup_line(const char *line, const char *want, char *out, size_t outsz);

/* Find the path for want (see above) in a whole /proc/<pid>/cgroup text. */
int cg__find_cgroup_path(const char *text, const char *want, char *out, size_t outsz);

/* Read /proc/<pid>/cgroup and find the path for want. */
int cg__proc_cgroup_path(pid_t pid, const char *want, char *out, size_t outsz);

/* Parse a run cgroup name "chaos.<pid>.<starttime>.<seq>". 0 or -EINVAL. */
int cg__parse_run_name(const char *name, pid_t *pid, unsigned long long *starttime,
		       unsigned long *seq);

/* Starttime of a live process: 0, -ENOENT if it does not exist. */
int cg__proc_starttime(pid_t pid, unsigned long long *starttime);

/* Small file helpers: whole-file read (NUL-terminated) and write. */
int cg__read_file(const char *path, char *buf, size_t bufsz);
int cg__write_file(const char *path, const char *val);

/* Is path (relative cgroup path) equal to or below base? */
int cg__path_under(const char *path, const char *base);

/* libcgroup glue: init once, map a libcgroup return code to -errno. */
int cg__lcg_init(void);
int cg__lcg_errno(int ret);

/* Create a cgroup directory through libcgroup for one controller, at name
 * (relative to that controller's hierarchy root); dir is the absolute
 * directory, only used to clean up after a failed create. */
int cg__lcg_create(const char *controller, const char *name, const char *dir);

/* Move pid into a cgroup through libcgroup. */
int cg__lcg_attach(const char *controller, const char *name, pid_t pid);

/* Remove one empty cgroup directory: libcgroup first, rmdir as fallback,
 * retried a bounded number of times while the kernel still reports busy. */
int cg__remove_dir(const char *controller, const char *mount, const char *dir);

/* Remove dir and everything below it, deepest first. *removed counts
 * directories removed. */
int cg__remove_tree(const char *controller, const char *mount, const char *dir, unsigned *removed);

/* Collect the pids in dir/cgroup.procs and all subdirectories, appending to
 * pids[*n..max). */
int cg__collect_pids(const char *dir, pid_t *pids, size_t max, size_t *n);

/* Signal pid with SIGKILL through a pidfd, but only if it is still a member
 * of cgroup path rel in hierarchy want (see cg__parse_cgroup_line), checked
 * after the pidfd is open. Returns 1 if signalled, 0 if gone or no longer a
 * member, -errno on error. */
int cg__kill_member(pid_t pid, const char *want, const char *rel);

/* Sleep ms milliseconds (EINTR-safe). */
void cg__sleep_ms(unsigned ms);
int64_t cg__now_ms(void);

/* Version-specific operations. */
int cg__v1_run_create(const struct chaos_cg_env *env, struct chaos_cg *run);
int cg__v1_child_create(struct chaos_cg *child);
int cg__v1_set_limit(struct chaos_cg *cg, uint64_t limit);
int cg__v1_attach(struct chaos_cg *cg, pid_t pid);
int cg__v1_oom_kills(struct chaos_cg *cg, uint64_t *count);
int cg__v1_oom_fd(struct chaos_cg *cg);
void cg__v1_oom_ack(struct chaos_cg *cg);
int cg__v1_kill_all(struct chaos_cg *cg, unsigned *killed);
int cg__v1_remove(struct chaos_cg *cg, unsigned *removed);

int cg__v2_run_create(const struct chaos_cg_env *env, struct chaos_cg *run);
int cg__v2_child_create(struct chaos_cg *child);
int cg__v2_set_limit(struct chaos_cg *cg, uint64_t limit);
int cg__v2_attach(struct chaos_cg *cg, pid_t pid);
int cg__v2_oom_kills(struct chaos_cg *cg, uint64_t *count);
int cg__v2_oom_fd(struct chaos_cg *cg);
void cg__v2_oom_ack(struct chaos_cg *cg);
int cg__v2_kill_all(struct chaos_cg *cg, unsigned *killed);
int cg__v2_remove(struct chaos_cg *cg, unsigned *removed);

/* v1: fill run->frz_dir/frz_name for run leaf below our own freezer
 * cgroup (nothing if env has no usable freezer). With must_exist, leave them
 * empty when that directory does not exist. */
int cg__v1_freezer_for(const struct chaos_cg_env *env, struct chaos_cg *run, const char *leaf,
		       int must_exist);

/* v1: freeze (frozen=1, waits bounded for FROZEN) or thaw cg's freezer
 * cgroup; a no-op without one. */
int cg__v1_freeze(struct chaos_cg *cg, int frozen);

/* Kill every process of cg's memory tree (and of its v1 freezer cgroup) by
 * pidfd in bounded rounds, freezing around each round when a freezer is
 * there, until the cgroups are empty. */
int cg__kill_tree(struct chaos_cg *cg, unsigned *killed);

/* Wait (bounded by CG__EMPTY_WAIT_MS) until cg's trees hold no process. */
int cg__wait_empty(struct chaos_cg *cg, unsigned ms);

/* Detection helpers for each version (fill env on success). */
int cg__v1_detect(struct chaos_cg_env *env, const char *proc_cgroup);
int cg__v2_detect(struct chaos_cg_env *env, const char *proc_cgroup);

/* Find the mount point of a v1 hierarchy holding controller ctl, or of the
 * cgroup2 hierarchy when ctl is NULL. */
int cg__find_mount(const char *ctl, char *out, size_t outsz);

#endif
