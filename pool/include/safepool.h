/* libsafepool: a process pool that never hangs when a worker is killed.
 *
 * A pool owns N forked workers. Each worker talks to the pool over its own
 * pair of pipes (no shared queue, no lock a dying worker could hold), so a
 * worker killed by the OOM killer, a signal or a crash is noticed the moment
 * it dies (pidfd + epoll) and the task it was running ends in a definite
 * outcome. The pool installs no signal handlers, never waits for or signals
 * a process it did not create, and leaves no zombie.
 *
 * Threading: a pool is driven by the thread that calls into it; all work
 * (dispatch, death handling, retries, timeouts) happens inside sp_map(),
 * sp_submit() and sp_wait(). Use one pool from one thread at a time.
 *
 * Workers are fork()ed copies of the calling process (no exec), so a task
 * function pointer, its user data and any memory set up before the pool was
 * created are valid inside the worker. In a multi-threaded process a lock
 * that another thread holds at the fork stays held in the worker: glibc's
 * malloc is fork-safe, but an allocator or library that is not (GCC 12's
 * AddressSanitizer allocator, for one) can leave a worker stuck; set
 * task_timeout_ms or a map deadline if that can happen.
 *
 * Return values: 0 on success or a negative number: -errno, or one of the
 * SP_E* codes below. sp_strerror() names every one of them.
 */
#ifndef SAFEPOOL_H
#define SAFEPOOL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SP_API __attribute__((visibility("default")))

#define SP_VERSION_MAJOR 0
#define SP_VERSION_MINOR 1

/* Error codes of the library's own, all below -4095 so they never collide
 * with a -errno value. */
enum {
	SP_EABORTED = -5001,  /* abort policy: a worker was killed; the map ended */
	SP_ERESTARTS = -5002, /* restart intensity exceeded: too many deaths too fast */
	SP_ESTART = -5003,    /* SP_START_FAILS_MAX workers in a row died before
			       * serving a task (worker_init failing, or killed
			       * at once); the map ended */
};

/* Workers that die before they are ready to serve tasks (worker_init
 * returned non-zero, or they were killed or reaped by someone else during
 * start-up) count toward this cap; a worker that comes up resets the count.
 * The cap is always on, independent of restart_max, so a worker_init that
 * always fails cannot make the pool fork forever. Each sp_map() and each
 * series of sp_submit() calls starts from zero. */
#define SP_START_FAILS_MAX 16

/* What happens to a task whose worker was killed (died by a signal the pool
 * did not send). */
enum sp_policy {
	SP_POLICY_SKIP = 0, /* report the task as killed, go on with the rest */
	SP_POLICY_ABORT,    /* end the map at once, cancel every unfinished task */
	SP_POLICY_RETRY,    /* run the task again (capped), then skip or abort */
	SP_POLICY_DEFAULT,  /* in struct sp_map_options only: use the pool's */
};

/* The one outcome every task ends in. */
enum sp_outcome {
	SP_OK = 0,    /* the task function returned 0; the result is there */
	SP_KILLED,    /* the worker died by a signal while running the task (or
		       * died and its status could not be learned: signal 0) */
	SP_FAILED,    /* the worker exited with a code, or the task function
		       * returned non-zero, or the result was too large */
	SP_TIMEDOUT,  /* the task ran longer than the task timeout; the pool
		       * killed its worker */
	SP_CANCELLED, /* never finished because the map was aborted */
};

/* Was a kill the OOM killer's work?
 * SP_OOM_YES: the oom_kill counter of the worker's memory cgroup (cgroup v1
 *   memory.oom_control, v2 memory.events) rose across the worker's death by a
 *   kill not yet attributed to another worker of this pool. (A kill of a
 *   process outside the pool in the same cgroup at the same moment would
 *   also count.)
 * SP_OOM_NO: the counter was read before and after the death and did not
 *   rise, or the worker died by a signal other than SIGKILL.
 * SP_OOM_UNKNOWN: the counter could not be read (no memory controller, no
 *   permission, the cgroup was removed, the dead worker visibly belongs to
 *   another cgroup than the one it started in), the worker was reaped by
 *   someone else and the counter did not rise (see "Reaping"), its status
 *   could not be learned at all, or the task did not end by a kill.
 * The cgroup is the one the worker is in after sp_options.worker_init ran
 * (the worker reads the baseline itself before serving tasks). Where the
 * kernel still names a zombie's cgroup, that is checked against it; cgroup
 * v1 shows exiting tasks in the root cgroup, so there the pool cannot see
 * whether someone else moved the worker after it started: a rise of the
 * starting cgroup's counter still reads SP_OOM_YES, but no rise reads
 * SP_OOM_UNKNOWN, never SP_OOM_NO. Move workers with worker_init to get
 * exact answers on v2. The kernel log is never read. */
enum sp_oom {
	SP_OOM_UNKNOWN = 0,
	SP_OOM_NO,
	SP_OOM_YES,
};

/* Reaping: the pool learns how a worker died from waitid() on its pidfd.
 * If the caller sets SIGCHLD to SIG_IGN (the kernel then reaps children
 * itself) or reaps the pool's workers with wait(-1)/waitpid(-1), that status
 * is gone; the pool then reads it from the pidfd (PIDFD_GET_INFO with
 * PIDFD_INFO_EXIT, Linux 6.15 and later). When neither works, a task whose
 * worker died under it ends SP_KILLED with signal 0 ("unknown signal") and
 * oom SP_OOM_UNKNOWN, never a guessed signal or SP_OOM_NO. A kill seen only
 * through the pidfd is attributed with the rules of an unverified cgroup
 * (SP_OOM_YES on a rise, else SP_OOM_UNKNOWN): the reaped PID may already
 * name another process. */

/* Context handed to the task function inside the worker. */
struct sp_task_ctx {
	size_t index;     /* index in the map's argument array, or the id
			   * returned by sp_submit() */
	unsigned attempt; /* 1 on the first run, 2 on the first retry, ... */
	void *userdata;   /* sp_options.userdata */
};

/* A task function: runs inside a worker. On success it returns 0 and may set
 * *result to a malloc()ed buffer of *result_len bytes (the library frees it
 * after sending; NULL/0 means an empty result). A non-zero return value marks
 * the task SP_FAILED with that value in sp_result.code; the worker lives on. */
typedef int (*sp_task_fn)(const struct sp_task_ctx *ctx, const void *arg, size_t arg_len,
			  void **result, size_t *result_len);

/* Runs inside every new worker before it serves tasks (e.g. to join a
 * cgroup). Non-zero: the worker exits with code 126 and is replaced; after
 * SP_START_FAILS_MAX such deaths in a row the map ends with SP_ESTART. */
typedef int (*sp_worker_init_fn)(void *userdata);

/* Runs in the parent around every fork of a worker (pool creation,
 * replacements, the first submit after an abort), in the thread that called
 * into the pool, with no lock of the library held and the signal mask the
 * caller had. For a runtime that must prepare for fork() and recover from
 * it in the parent (CPython's PyOS_BeforeFork() and PyOS_AfterFork_Parent(),
 * a lock that must not be held across fork). fork_parent runs once after
 * every fork_prepare, whether the fork happened or failed. The child's
 * counterpart is worker_init: between the fork and worker_init the child
 * runs only the library's own async-signal-safe set-up (signal dispositions
 * reset, parent-death signal, other pools' descriptors closed). */
typedef void (*sp_fork_fn)(void *userdata);

/* Pool options. Always fill with sp_options_init() first, then change
 * fields: new fields get safe defaults that way. */
struct sp_options {
	unsigned workers;            /* default: number of online CPUs */
	enum sp_policy policy;       /* default SP_POLICY_SKIP */
	unsigned max_retries;        /* retry: extra runs of a killed task; default 3 */
	unsigned backoff_initial_ms; /* retry: first delay, doubled each time; default 10 */
	unsigned backoff_max_ms;     /* retry: cap of the delay; default 1000 */
	uint64_t retry_min_free;     /* retry: rerun only once this many bytes are free
				      * (MemAvailable, and the headroom of the dead
				      * worker's memory cgroup when it has a limit);
				      * 0 = do not check (default) */
	unsigned retry_mem_wait_ms;  /* retry: longest wait for that memory; default 5000 */
	enum sp_policy retry_fallback; /* retry: SKIP or ABORT once the cap or the memory
					* wait runs out; default SP_POLICY_SKIP */
	unsigned task_timeout_ms;    /* 0 = none (default) */
	unsigned restart_max;        /* more than this many worker deaths ... */
	unsigned restart_window_ms;  /* ... within this window end the map with
				      * SP_ERESTARTS; defaults 64 and 1000; 0 = off
				      * (SP_START_FAILS_MAX still applies) */
	size_t max_msg;              /* largest argument or result; default 64 MiB */
	unsigned pipeline;           /* tasks in flight per worker; default 16; 1 = no
				      * pipelining */
	unsigned batch;              /* > 1: the worker sends results every `batch` tasks
				      * instead of after each one (fewer system calls).
				      * The task running at a death is still named
				      * exactly; tasks whose results were not sent yet
				      * are run again. Default 1. */
	sp_worker_init_fn worker_init; /* default NULL */
	void *userdata;              /* passed to tasks, worker_init and the fork hooks */
	sp_fork_fn fork_prepare;     /* default NULL; see sp_fork_fn */
	sp_fork_fn fork_parent;      /* default NULL; see sp_fork_fn */
};

/* Per-map overrides; fill with sp_map_options_init(). */
struct sp_map_options {
	enum sp_policy policy; /* default SP_POLICY_DEFAULT: the pool's */
	int timeout_ms;        /* whole-map deadline; -1 = none (default). When it
				* passes, sp_map() returns -ETIMEDOUT after
				* cancelling and killing like an abort. */
};

/* The outcome and statistics of one task. Times are CLOCK_MONOTONIC in
 * nanoseconds; start is taken by the worker right before the (last) attempt
 * ran, end when it returned or when the pool saw the worker's death. */
struct sp_result {
	enum sp_outcome outcome;
	void *data;        /* SP_OK: malloc()ed result (free() it), or NULL */
	size_t len;
	int signal;        /* SP_KILLED / SP_TIMEDOUT: the signal; 0 = unknown
			    * signal (see "Reaping" below) */
	enum sp_oom oom;   /* SP_KILLED: see enum sp_oom */
	int exit_code;     /* SP_FAILED by worker exit: its code, else -1 */
	int code;          /* SP_FAILED by the task function: its return value */
	unsigned attempts; /* runs started (0 when cancelled before any) */
	pid_t pid;         /* worker of the last attempt, 0 if none */
	int64_t start_ns, end_ns;
};

/* One entry per kill (a task killed twice appears twice). Timed-out tasks
 * are not in it: the pool killed them itself. */
struct sp_killed {
	size_t index;      /* map index, or sp_submit() id */
	unsigned attempts; /* attempt number that was killed */
	int signal;
	pid_t pid;
	enum sp_oom oom;
	int64_t start_ns, end_ns;
};

typedef struct sp_pool sp_pool;

/* Fill with defaults. */
SP_API void sp_options_init(struct sp_options *opts);
SP_API void sp_map_options_init(struct sp_map_options *mopts);

/* Create a pool and start its workers. opts may be NULL for the defaults.
 * Returns 0, -EINVAL (bad option: 0 workers, pipeline 0, policy out of
 * range, retry_fallback not SKIP/ABORT), -ENOMEM, SP_ESTART (workers were
 * reaped by someone else before the pool could open their pidfd, see
 * SP_START_FAILS_MAX), or the -errno of a failed pipe/fork/pidfd_open/
 * epoll/mmap.
 * Several pools may live in one process (one thread each): a worker of any
 * pool holds no descriptor of another, so each pool's workers see EOF when
 * their own pool is destroyed. */
SP_API int sp_pool_create(sp_pool **pool, const struct sp_options *opts);

/* Stop the workers (EOF on their pipe: they exit with code 0 on their own;
 * SIGKILL only for one still there after 2 s), reap them, free everything.
 * Unwaited submitted tasks are dropped. NULL is fine. */
SP_API void sp_pool_destroy(sp_pool *pool);

/* Run fn over args[0..n) (args[i] is lens[i] bytes) and wait. results[i]
 * gets each task's outcome (free results[i].data). mopts may be NULL.
 * The killed-task list is reset at the start.
 * Returns:
 *   0             every task ended (see each outcome; killed tasks under
 *                 skip, failed and timed-out tasks do not make it fail)
 *   SP_EABORTED   abort policy (or retry falling back to abort): a worker was
 *                 killed; unfinished tasks are SP_CANCELLED; sp_abort_cause()
 *                 names the kill. All workers were killed and reaped; the
 *                 pool stays usable and starts new workers on the next call.
 *   SP_ERESTARTS  restart intensity exceeded; same state as SP_EABORTED.
 *   SP_ESTART     SP_START_FAILS_MAX workers in a row died before serving a
 *                 task; same state as SP_EABORTED (every task that did not
 *                 finish is SP_CANCELLED; sp_abort_cause() gives -ENOENT).
 *   -ETIMEDOUT    mopts->timeout_ms passed; same state as SP_EABORTED.
 *   -EINVAL       bad arguments; -EMSGSIZE an argument is over max_msg;
 *   -EBUSY        submitted tasks are still unwaited;
 *   -EPIPE        the pool was closed by an earlier failure (see below);
 *   -errno of starting a worker before any task was handed out (fork or
 *                 pipe failed): every task is SP_CANCELLED, the pool stays
 *                 usable;
 *   -ENOMEM, or -errno of a failed system call while tasks were out (the
 *                 pool is then closed: every later call but
 *                 sp_pool_destroy() returns -EPIPE). */
SP_API int sp_map(sp_pool *pool, sp_task_fn fn, const void *const *args, const size_t *lens,
		  size_t n, struct sp_result *results, const struct sp_map_options *mopts);

/* Queue one task; its id (also ctx->index) goes to *id. The argument is
 * copied. Policy: the pool's; an abort cancels every outstanding task.
 * Returns 0, -EINVAL, -EMSGSIZE, -EPIPE (the pool is closed), or:
 *   -ENOMEM / -errno of starting a worker, and SP_ESTART (workers keep dying
 *     at start; outstanding tasks were cancelled and come back from
 *     sp_wait()): the task was not queued and the pool stays usable;
 *   -ENOMEM / -errno of handing the queued task to a worker: the pool is
 *     closed (only sp_pool_destroy() is allowed), because the task may sit
 *     half-written in a worker's pipe. */
SP_API int sp_submit(sp_pool *pool, sp_task_fn fn, const void *arg, size_t len, uint64_t *id);

/* Wait for task id (0: any outstanding task) for at most timeout_ms (-1:
 * no limit; 0: poll). On 0 the result is in *result and the task is
 * forgotten; *id_out (may be NULL) gets its id.
 * An abort (abort policy, restart intensity exceeded, SP_ESTART) cancels
 * every outstanding task: they come back here with outcome SP_CANCELLED, and
 * sp_abort_cause() names the kill; the next sp_submit() starts new workers.
 * Returns 0, -ETIMEDOUT (nothing finished in time; try again), SP_ERESTARTS
 * or SP_ESTART (the operation ended that way and the task is not done),
 * -ENOENT (no such outstanding task / nothing outstanding), -EPIPE (the pool
 * is broken after a failed system call), -errno of a system call (the pool
 * is then broken). */
SP_API int sp_wait(sp_pool *pool, uint64_t id, int timeout_ms, struct sp_result *result,
		   uint64_t *id_out);

/* The killed tasks of the last sp_map() (or of the submitted tasks since the
 * last sp_map()). The array stays valid until the next call into the pool.
 * Returns 0 or -EINVAL. */
SP_API int sp_killed_tasks(const sp_pool *pool, const struct sp_killed **list, size_t *n);

/* Which kill ended the last map with SP_EABORTED or SP_ERESTARTS.
 * Returns 0, or -ENOENT when the last map was not aborted. */
SP_API int sp_abort_cause(const sp_pool *pool, struct sp_killed *cause);

/* PIDs of the live workers (for tests and diagnostics): up to max PIDs into
 * pids, the count into *n. Returns 0 or -EINVAL. */
SP_API int sp_worker_pids(const sp_pool *pool, pid_t *pids, size_t max, size_t *n);

/* Free the data of n results (sets them to NULL). */
SP_API void sp_results_free(struct sp_result *results, size_t n);

/* Text for a return value (0, -errno or SP_E*) of this library. */
SP_API const char *sp_strerror(int err);

/* Names for enum values, for messages ("ok", "killed", ...). */
SP_API const char *sp_outcome_name(enum sp_outcome outcome);
SP_API const char *sp_oom_name(enum sp_oom oom);

#ifdef __cplusplus
}
#endif
#endif
