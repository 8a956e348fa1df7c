/* Internal structures of libsafepool shared by its source files. */
#ifndef SP_INTERNAL_H
#define SP_INTERNAL_H

#include <stdint.h>
#include <sys/types.h>

#include "safepool.h"

#define SP__PATH 512
#define SP__CGROUPS 16 /* distinct memory cgroups tracked for OOM attribution */

/* Task states. Every change goes through sp__task_next(). */
enum sp__tstate {
	SP__T_PENDING = 0, /* waiting for a worker */
	SP__T_QUEUED,      /* sent to a worker (running or waiting behind others) */
	SP__T_BACKOFF,     /* killed, waiting to be retried */
	SP__T_DONE,        /* has its final outcome */
	SP__T_NSTATES,
};

enum sp__tevent {
	SP__TE_DISPATCH = 0, /* written to a worker's pipe */
	SP__TE_COMPLETE,     /* a result or a task error came back */
	SP__TE_REQUEUE,      /* its worker died before starting it */
	SP__TE_KILLED,       /* its worker died running it; final (skip) */
	SP__TE_RETRY,        /* its worker died running it; run again later */
	SP__TE_READY,        /* the retry delay passed, memory is there */
	SP__TE_GIVE_UP,      /* retry cap or memory wait ran out */
	SP__TE_TIMEOUT,      /* ran too long, its worker was killed */
	SP__TE_EXITED,       /* its worker exited with a code while running it */
	SP__TE_CANCEL,       /* the map was aborted */
	SP__TE_NEVENTS,
};

/* Worker states. Every change goes through sp__worker_next(). */
enum sp__wstate {
	SP__W_NONE = 0, /* slot empty */
	SP__W_STARTING, /* forked, no HELLO yet */
	SP__W_READY,    /* HELLO received */
	SP__W_DEAD,     /* death seen, not reaped yet */
	SP__W_NSTATES,
};

enum sp__wevent {
	SP__WE_SPAWN = 0,
	SP__WE_HELLO,
	SP__WE_DIE,
	SP__WE_REAP,
	SP__WE_NEVENTS,
};

/* Return the next state, or -1 when the event is not allowed in state. */
int sp__task_next(int state, int event);
int sp__worker_next(int state, int event);

/* Per-worker word pair in shared memory: the task the worker runs right now.
 * Only the worker writes it; the pool reads it for timeouts and after a
 * death to name the running task exactly. Nothing waits on it. */
struct sp__slot {
	uint64_t cur_seq; /* 0 when idle */
	int64_t cur_start_ns;
	char pad[48];
};

int64_t sp__now_ns(void);

/* Blocking calls that retry EINTR (sys.c), for a caller whose signal
 * handlers lack SA_RESTART. The reaps are only for a process that is
 * known to be dead or killed; 0 or -errno. The sleep lasts the whole ns
 * against an absolute monotonic deadline. */
int sp__reap_pidfd(int pidfd);
int sp__reap_pid(pid_t pid);
void sp__sleep_ns(int64_t ns);

/* Memory cgroup helpers (oom.c). pid 0 means the calling process. Only
 * open/read/close, so the worker may call them right after fork. */
int sp__oom_file(pid_t pid, char *file, size_t cap);
int sp__oom_count(const char *file, uint64_t *count);
int sp__mem_free(const char *oom_file, uint64_t *free_bytes);

/* The worker's side (worker.c); never returns. */
struct sp__worker_args {
	int in_fd;
	int out_fd;
	pid_t parent;
	struct sp__slot *slot;
	uint64_t max_msg;
	unsigned batch;
	sp_worker_init_fn init;
	void *userdata;
};
__attribute__((noreturn)) void sp__worker_main(const struct sp__worker_args *a);
__attribute__((noreturn)) void sp__child_exit(int code);

#endif
