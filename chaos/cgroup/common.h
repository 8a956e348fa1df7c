/* What the cgroup backends share: the handle, the bounds on every wait, and
 * the helpers of common.c (errors, /proc/<pid>/cgroup parsing, libcgroup
 * glue, tree removal, pid collection, killing by pidfd). common.c knows
 * nothing of either backend; v1.c and v2.c build on it, cgroup.c dispatches
 * to them (see backend.h). Not part of the public API. */
#ifndef CHAOS_CGROUP_COMMON_H
#define CHAOS_CGROUP_COMMON_H

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

struct cg__ops;

struct chaos_cg {
	const struct cg__ops *ops; /* the backend (backend.h); common.c never uses it */
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

/* A zeroed handle with both descriptors at -1, or NULL; and its release
 * (closes the descriptors). */
struct chaos_cg *cg__alloc(void);
void cg__free(struct chaos_cg *cg);

/* Set the module's last error (printf format) and return -err. */
int cg__fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Set env->why (printf format), truncating long paths. */
void cg__why(struct chaos_cg_env *env, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Monotonic milliseconds, the clock of every deadline here. */
int64_t cg__now_ms(void);

/* Sleep ms milliseconds, but never past deadline (cg__now_ms() time);
 * EINTR is retried against the same absolute wake-up time. */
void cg__sleep_until(unsigned ms, int64_t deadline);

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

/* Call fn(leaf, arg) for every subdirectory leaf of dir that is a run
 * cgroup of a dead controller (its pid gone or with another starttime).
 * fn's results are the caller's (keep them in arg). Returns 0, or -errno
 * when dir cannot be opened (no error text set: the caller decides). */
int cg__each_stale(const char *dir, void (*fn)(const char *leaf, void *arg), void *arg);

/* Is path (relative cgroup path) equal to or below base? */
int cg__path_under(const char *path, const char *base);

/* Find the mount point of a v1 hierarchy holding controller ctl, or of the
 * cgroup2 hierarchy when ctl is NULL. */
int cg__find_mount(const char *ctl, char *out, size_t outsz);

/* Read dir/knob (NUL-terminated): the byte count, or -errno with the error
 * text "<path>: <why>" set. */
int cg__read_knob(const char *dir, const char *knob, char *buf, size_t bufsz);

/* Write val to dir/knob: 0, or -errno with the error text naming the path
 * and the value. */
int cg__write_knob(const char *dir, const char *knob, const char *val);

/* The text of a memory limit for a control file into buf: the number, or
 * none (the file's word for "no limit") when limit is 0. */
void cg__limit_text(uint64_t limit, const char *none, char *buf, size_t bufsz);

/* Write pid to dir/cgroup.procs (moves the whole thread group). */
int cg__write_pid(const char *dir, pid_t pid);

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

/* Wait until cg's trees (its memory directory and its v1 freezer twin, if
 * any) hold no process, at most until deadline (cg__now_ms() time). */
int cg__wait_empty(struct chaos_cg *cg, int64_t deadline);

/* Freeze (frozen = 1) or thaw a cgroup's twin hierarchy; see cg__kill_tree. */
typedef int cg__freeze_fn(struct chaos_cg *cg, int frozen);

/* Kill every process of cg's memory tree (membership checked in hierarchy
 * want, see cg__parse_cgroup_line) and of its freezer twin by pidfd, in
 * bounded rounds, until the cgroups are empty. With freeze (not NULL) the
 * tree is frozen around each round, so that nothing can fork meanwhile. */
int cg__kill_tree(struct chaos_cg *cg, const char *want, cg__freeze_fn *freeze, unsigned *killed);

#endif
