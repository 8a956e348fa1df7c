/* The scenario model: what a scenario file says, after parsing.
 *
 * Shared by the parser (chaos/check/scenario.c), the controller (chaos/), the
 * task-spec writer and the checker (chaos/check/checker.c). `chaos run -- CMD`
 * with command-line faults fills in the same structure without a file.
 */
#ifndef CHAOS_SCENARIO_H
#define CHAOS_SCENARIO_H

#include <stddef.h>
#include <stdint.h>

enum chaos_action {
	CHAOS_ACT_OK = 0,
	CHAOS_ACT_EXIT,
	CHAOS_ACT_FAIL,
	CHAOS_ACT_HANG,
	CHAOS_ACT_SELFKILL,
	CHAOS_ACT_SEGV,
};

/* What one task does; see docs/protocol.md section 1. */
struct chaos_task_spec {
	uint32_t sleep_ms;
	uint64_t alloc_bytes;
	enum chaos_action action;
	int exit_code;
	uint32_t times; /* misbehaviour on attempts 1..times; 0 = every attempt */
	int64_t result; /* the correct result */
};

enum chaos_fault_kind {
	CHAOS_FAULT_ON_START = 0, /* signal the worker running task K when it starts */
	CHAOS_FAULT_AT_TIME,      /* signal worker number i at time t */
	CHAOS_FAULT_EVERY,        /* a random worker every interval (+jitter), seeded */
	CHAOS_FAULT_ALL_AT,       /* every worker at time t */
	CHAOS_FAULT_PRESSURE,     /* stress-ng memory pressure for a duration */
};

struct chaos_fault {
	enum chaos_fault_kind kind;
	int signo;              /* SIGKILL, SIGSTOP, SIGTERM, SIGSEGV, SIGCONT */
	uint32_t task;          /* ON_START: task id */
	uint32_t attempt;       /* ON_START: attempt to hit (default 1; 0 = every) */
	uint32_t delay_ms;      /* ON_START: after the start; others: from run start */
	uint32_t worker;        /* AT_TIME: worker index (order of first start) */
	uint32_t interval_ms;   /* EVERY */
	uint32_t jitter_ms;     /* EVERY: uniform in [0, jitter] added to interval */
	uint32_t count;         /* EVERY: how many signals at most */
	uint64_t seed;          /* EVERY: same seed, same schedule */
	uint32_t duration_ms;   /* PRESSURE */
	uint64_t bytes;         /* PRESSURE: memory stress-ng holds */
	int pressure_inside;    /* PRESSURE: 1 = in the run cgroup, 0 = beside it */
	uint32_t cont_after_ms; /* SIGSTOP: send SIGCONT after this; 0 = never */
	int line;               /* line in the scenario file, 0 from the CLI */
};

enum chaos_mem_mode {
	CHAOS_MEM_NONE = 0,
	CHAOS_MEM_PER_WORKER, /* each worker in its own child cgroup with the limit */
	CHAOS_MEM_WHOLE_RUN,  /* one limit on the whole run cgroup */
};

/* Expectations: bits of chaos_scenario.expect. */
enum {
	CHAOS_EXPECT_HANG_FREE = 1u << 0,
	CHAOS_EXPECT_SKIP = 1u << 1,
	CHAOS_EXPECT_ABORT = 1u << 2,
	CHAOS_EXPECT_RETRY = 1u << 3,
	CHAOS_EXPECT_KILLED_REPORT = 1u << 4,
	CHAOS_EXPECT_OOM = 1u << 5,
	CHAOS_EXPECT_NO_LEFTOVERS = 1u << 6,
};

#define CHAOS_NAME_MAX 64

struct chaos_scenario {
	char name[CHAOS_NAME_MAX];
	char path[4096]; /* file it came from, "" from the CLI */
	char description[256];
	uint32_t workers;
	uint32_t ntasks;
	char policy[8];  /* "skip", "abort", "retry" */
	uint32_t retries;
	uint32_t task_timeout_ms; /* 0 = none; passed as CHAOS_TASK_TIMEOUT_MS */
	struct chaos_task_spec *tasks; /* ntasks entries, defaults applied */
	struct chaos_fault *faults;
	size_t nfaults;
	enum chaos_mem_mode mem_mode;
	uint64_t mem_limit; /* bytes */
	uint32_t deadline_ms;
	uint64_t seed;
	uint32_t expect;          /* CHAOS_EXPECT_* bits */
	uint32_t abort_within_ms; /* bound for the abort expectation */
};

/* Fill in the defaults (no faults, 2 workers, 10 tasks, skip, deadline 30 s,
 * expect hang-free and no leftovers). Allocates the task array. */
int chaos_scenario_init(struct chaos_scenario *sc, uint32_t ntasks);

/* Parse a scenario file. On error returns -EINVAL (or -errno for I/O) and
 * writes "file:line: what was wrong (what was expected)" into err. */
int chaos_scenario_load(struct chaos_scenario *sc, const char *path, char *err,
			size_t errlen);

/* Write the task spec file (docs/protocol.md section 1). */
int chaos_scenario_write_tasks(const struct chaos_scenario *sc, const char *path);

void chaos_scenario_free(struct chaos_scenario *sc);

const char *chaos_action_name(enum chaos_action a);

#endif
