/* Fault schedules as pure functions of the scenario: the controller fires
 * what these compute, and tests/test_faults.c checks them without running
 * anything. */
#ifndef CHAOS_FAULTS_H
#define CHAOS_FAULTS_H

#include <stddef.h>
#include <stdint.h>

#include "check/scenario.h"
/* chaos_signal_name(), for the callers that name the signals they fire. */
#include "check/value.h"

/* Upper bound on timed entries one run can schedule, so that a scenario
 * like "every 1ms, no count, deadline 1h" cannot exhaust memory. */
#define CHAOS_SCHED_MAX 100000

/* splitmix64: small, seedable, and the same sequence on every platform. */
uint64_t chaos_splitmix64(uint64_t *state);

/* One timed action of a run. */
struct chaos_timed {
	uint64_t t_ms;   /* from the fault's anchor (from) */
	enum chaos_anchor from; /* the spawn, or the run's first task start */
	size_t fault;    /* index into sc->faults */
	uint32_t seq;    /* EVERY: 0-based shot number */
	uint64_t pick;   /* EVERY: random value choosing among live workers */
};

/* Fire times of an EVERY fault: shot k fires at
 * delay + sum_{i<=k}(interval + U[0, jitter]), drawn from the fault's seed
 * (or the scenario seed when the fault's seed is 0), up to count shots
 * (0 = unbounded) and not after horizon_ms. Also draws each shot's pick.
 * Returns 0 or -EINVAL (interval 0). */
int chaos_every_schedule(const struct chaos_fault *f, uint64_t scenario_seed, uint64_t horizon_ms,
			 struct chaos_timed *out, size_t max, size_t *n);

/* All timed actions of a scenario (AT_TIME, ALL_AT, EVERY, PRESSURE; not
 * ON_START, AFTER_STARTS and ON_END, which the tasks trigger), each with
 * its anchor, sorted by time from the anchor, stable on ties, bounded by
 * CHAOS_SCHED_MAX and by the deadline. The controller adds the anchor's
 * time when it is known (for first-start: the run's first task start).
 * *out is malloc'ed. Returns 0, -EINVAL or -ENOMEM. */
int chaos_fault_plan(const struct chaos_scenario *sc, struct chaos_timed **out, size_t *n);

/* Choose among nlive live workers for a shot's pick. */
size_t chaos_pick_index(uint64_t pick, size_t nlive);

/* Does an ON_START fault apply to this task attempt? */
int chaos_on_start_matches(const struct chaos_fault *f, uint32_t task, uint32_t attempt);

/* Does an ON_END fault apply to the end of this task attempt? */
int chaos_on_end_matches(const struct chaos_fault *f, uint32_t task, uint32_t attempt);

/* Does an AFTER_STARTS fault fire at the run's nstarts-th task start
 * (every attempt counts)? */
int chaos_after_starts_matches(const struct chaos_fault *f, uint64_t nstarts);

/* Is the fault started by the clock (timed) rather than by a task? */
int chaos_fault_is_timed(const struct chaos_fault *f);

/* What a fault counts from or is triggered by, as the history's `anchor`:
 * "spawn", "first-start" (timed faults, by from), "start" (ON_START),
 * "starts" (AFTER_STARTS), "end" (ON_END). */
const char *chaos_fault_anchor_name(const struct chaos_fault *f);

/* "worker", "main" or "any", as the history's `victim`. */
const char *chaos_victim_name(enum chaos_victim v);

const char *chaos_fault_kind_name(enum chaos_fault_kind k);

#endif
