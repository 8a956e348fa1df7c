/* One run of a target under the controller: spawn, events, faults, deadline,
 * teardown, history. Used by `chaos run` and by the matrix. */
#ifndef CHAOS_RUN_H
#define CHAOS_RUN_H

#include "check/scenario.h"

enum chaos_run_verdict {
	CHAOS_RUN_DONE = 0,  /* the target printed `done` and exited */
	CHAOS_RUN_ABORTED,   /* the target printed `aborted ...` and exited */
	CHAOS_RUN_HANG,      /* the deadline passed */
	CHAOS_RUN_CRASHED,   /* the target exited without `done`/`aborted` */
	CHAOS_RUN_SKIPPED,   /* the environment cannot run this scenario */
	CHAOS_RUN_INTERRUPTED, /* chaos_run_interrupt() was called (SIGINT...) */
};

struct chaos_run_opts {
	const struct chaos_scenario *sc;
	const char *target_name;  /* for the history and reports */
	char *const *argv;        /* target command, NULL-terminated */
	const char *outdir;       /* created if missing; gets history.jsonl,
	                             tasks.txt, stdout.txt, stderr.txt */
	int verbose;              /* progress lines on stderr */
};

struct chaos_run_result {
	enum chaos_run_verdict verdict;
	char reason[512];         /* why SKIPPED / CRASHED, or "" */
	char history[4096];       /* path of history.jsonl */
	unsigned leftovers;       /* processes found after the target exited */
	unsigned oom_kills;       /* confirmed by counters */
	unsigned deaths;          /* worker deaths seen */
	double elapsed_ms;
};

/* Run the target once. Returns 0 when the run happened (whatever its
 * verdict) or was skipped, -errno on an internal error (message in
 * chaos_run_last_error()). Never leaves a process or cgroup behind. */
int chaos_run(const struct chaos_run_opts *o, struct chaos_run_result *r);

const char *chaos_run_verdict_name(enum chaos_run_verdict v);

/* Ask the current and every later chaos_run() of this process to stop:
 * the run ends at once with verdict CHAOS_RUN_INTERRUPTED, after the usual
 * teardown (every process and cgroup of the run removed). Async-signal-safe:
 * it only sets a flag and writes to an eventfd the event loop watches, so
 * a SIGINT/SIGTERM/SIGHUP handler may call it. The request is sticky: the
 * caller is expected to exit after the run returns. */
void chaos_run_interrupt(void);

/* Has chaos_run_interrupt() been called? (For a caller's loop over runs.) */
int chaos_run_interrupted(void);
const char *chaos_run_last_error(void);

#endif
