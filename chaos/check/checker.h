/* The checker: decides each expectation of a scenario from a run's history
 * (which includes the target's outcome lines). Pure function of its inputs:
 * no processes, no cgroups, so it is tested on recorded histories. */
#ifndef CHAOS_CHECKER_H
#define CHAOS_CHECKER_H

#include "check/scenario.h"

enum chaos_cell {
	CHAOS_CELL_PASS = 0,
	CHAOS_CELL_FAIL,        /* a guarantee failed; see the first failed check */
	CHAOS_CELL_HANG,        /* the run hit its deadline */
	CHAOS_CELL_UNSUPPORTED, /* the target said `unsupported` */
	CHAOS_CELL_SKIP,        /* the environment could not run it */
	CHAOS_CELL_UNEXERCISED, /* every expectation held, but the scenario's faults
	                           did not do what they claim: the run proves nothing */
	CHAOS_CELL_ERROR,       /* the adapter or the environment failed, not the pool */
	CHAOS_CELL_SLOW,        /* the deadline passed while the pool still made progress */
};

#define CHAOS_CHECK_MAX 8

struct chaos_check {
	unsigned expect;        /* one CHAOS_EXPECT_* bit */
	const char *name;       /* "hang-free", "skip", "abort", "retry",
	                           "killed-tasks", "oom", "no-leftovers", "no-orphans" */
	int ok;
	int definitive;         /* failed for a reason more time could not undo (a
	                           result printed, a cap passed): it wins over HANG */
	char evidence[512];     /* why it failed, one line; "" when ok */
};

struct chaos_verdict {
	enum chaos_cell cell;
	char cell_text[64];     /* "PASS", "FAIL(skip)", "HANG", "SLOW", ...: the kind
	                           only, so baselines compare it; the reason of an
	                           UNEXERCISED, ERROR, SLOW or HANG cell opens note */
	struct chaos_check checks[CHAOS_CHECK_MAX];
	unsigned nchecks;
	char note[512];         /* the cell's reason (unsupported, skip, unexercised,
	                           error, slow, hang), then protocol errors */
};

/* Decide every expectation of sc from the history file. Returns 0, or
 * -errno when the history cannot be read at all (a truncated history is
 * read up to its last complete line). */
int chaos_check_history(const struct chaos_scenario *sc, const char *history,
			struct chaos_verdict *v);

const char *chaos_cell_name(enum chaos_cell c);

#endif
