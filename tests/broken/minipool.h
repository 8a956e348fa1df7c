/* A small process pool that speaks the adapter contract (scenarios/README.md
 * "Writing an adapter"), shared by the deliberately broken pools of
 * tests/broken/ and their correct control. Each of those programs is one
 * mp_main() call with one hook: the hook is where the broken behaviour lives,
 * so that the pool around it is the same, correct one in every program.
 *
 * The pool: CHAOS_WORKERS forked workers, each with its own command pipe (task
 * ids from the parent) and result pipe (one fixed-size message per task). A
 * worker runs the C task kit's chaos_task_run(id) for every id it is sent.
 * EOF on a result pipe means the worker died; the parent reaps it, calls the
 * death hook for the task it was running and forks a replacement. When no
 * task is queued or running, the parent prints one outcome line per task, the
 * killed-tasks line, `aborted` if the map was aborted, and `done`.
 */
#ifndef MINIPOOL_H
#define MINIPOOL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum mp_policy {
	MP_SKIP = 0,
	MP_ABORT,
	MP_RETRY,
};

enum mp_out {
	MP_OUT_NONE = 0, /* nothing is printed for the task */
	MP_OUT_RESULT,
	MP_OUT_LOST,
	MP_OUT_ERROR,
};

struct mp_task {
	uint32_t attempts; /* times it was sent to a worker */
	enum mp_out out;
	int64_t value; /* for MP_OUT_RESULT */
	char why[64];  /* for MP_OUT_ERROR */
	int killed;    /* named in the killed-tasks line */
};

struct mp_worker {
	pid_t pid;    /* 0: no process in this slot */
	int cmd_fd;   /* parent's write end of the worker's command pipe */
	int res_fd;   /* parent's read end of the worker's result pipe */
	int64_t task; /* the task it is running, -1 when idle */
};

struct mp {
	enum mp_policy policy;
	uint32_t nworkers, ntasks, retries;
	struct mp_task *t;
	struct mp_worker *w;
	uint32_t *queue; /* FIFO of task ids to send, a ring of qcap slots */
	size_t qhead, qlen, qcap;
	unsigned deaths; /* workers that died running a task */
	int aborted;
	char abort_why[128];
};

/* Called when a worker died while running task id: by signal sig (> 0), or
 * by exiting with code (sig == 0). mp_death() is the correct handling. */
typedef void (*mp_death_fn)(struct mp *p, uint32_t id, int sig, int code);

/* The correct handling of a death: the task is listed as killed when a
 * signal ended its worker; skip reports it lost (killed) or error (exited);
 * retry sends it again while it has had at most `retries` attempts, then
 * reports it as skip does; abort aborts the map. */
void mp_death(struct mp *p, uint32_t id, int sig, int code);

/* Queue task id to be sent to a worker again (at the end of the queue). */
void mp_requeue(struct mp *p, uint32_t id);

/* The whole adapter: read the environment, run the map with death as the
 * death hook (NULL: mp_death), print the outcome lines. Returns the exit
 * code for main(): 0 once `done` is printed, 1 when the pool could not run
 * (the reason is on stderr). */
int mp_main(const char *name, mp_death_fn death);

#endif
