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
	CHAOS_FAULT_AFTER_STARTS, /* signal the worker making the K-th task start */
	CHAOS_FAULT_ON_END,       /* signal the worker of task K as it ends, before the
	                             pool has its result */
};

/* What a timed fault's time counts from. */
enum chaos_anchor {
	CHAOS_FROM_FIRST_START = 0, /* the first task start of the run (the default) */
	CHAOS_FROM_SPAWN,           /* the target's start: faults during the pool's boot */
};

/* Which processes a fault may hit. */
enum chaos_victim {
	CHAOS_VICTIM_WORKER = 0, /* a process that announced a task (the default) */
	CHAOS_VICTIM_MAIN,       /* the target's main process */
	CHAOS_VICTIM_ANY,        /* any process of the run */
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
	uint32_t starts;        /* AFTER_STARTS: the K-th task start of the run (1-based) */
	enum chaos_anchor from; /* AT_TIME, EVERY, ALL_AT, PRESSURE */
	enum chaos_victim victim; /* all kinds but PRESSURE */
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
	CHAOS_EXPECT_NO_ORPHANS = 1u << 7,
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
	uint32_t startup_ms;  /* scenario files: the bound before the first task
	                         start; deadline_ms then counts from that start */
	uint64_t seed;
	uint32_t expect;          /* CHAOS_EXPECT_* bits */
	uint32_t abort_within_ms; /* bound for the abort expectation */
	uint32_t orphans_within_ms; /* bound for the no-orphans expectation */
};

/* Defaults of the model, for scenario files and `chaos run` alike. */
#define CHAOS_DEFAULT_WORKERS 2u
#define CHAOS_DEFAULT_TASKS 10u
#define CHAOS_DEFAULT_RETRIES 3u
#define CHAOS_DEFAULT_DEADLINE_MS 30000u
#define CHAOS_DEFAULT_STARTUP_MS 30000u
#define CHAOS_DEFAULT_ABORT_WITHIN_MS 2000u
#define CHAOS_DEFAULT_ORPHANS_WITHIN_MS 2000u
#define CHAOS_TASKS_MAX 100000u

enum chaos_setting_kind {
	CHAOS_SET_NUMBER, /* unsigned decimal */
	CHAOS_SET_TIME,	  /* milliseconds, with a unit */
	CHAOS_SET_SIZE,	  /* bytes, K/M/G */
};

/* A numeric setting and its range. chaos/check/scenario.c holds the one
 * table of them (workers 1 to 1024, tasks 1 to 100000, deadline 1ms to
 * 3600s, limit at least 4M, ...); the file parser and `chaos run` both parse
 * through it, so both refuse a value with the same range and words. */
struct chaos_setting {
	const char *key; /* the scenario file's key: "workers", "limit", ... */
	enum chaos_setting_kind kind;
	uint64_t lo, hi;
};

/* The setting of that key, or NULL. */
const struct chaos_setting *chaos_setting_find(const char *key);

/* Parse text as the value of setting key (which must exist). Returns 0,
 * -EINVAL or -ERANGE with the reason in msg, e.g. "200000 is out of range
 * (1 to 100000)", without a prefix. */
int chaos_setting_parse(const char *key, const char *text, uint64_t *v, char *msg, size_t len);

/* "skip", "abort" or "retry" into sc->policy. 0 or -EINVAL with msg. */
int chaos_policy_parse(struct chaos_scenario *sc, const char *text, char *msg, size_t len);

/* An action name ("ok", "exit", ...). 0 or -EINVAL with msg. */
int chaos_action_parse(const char *text, enum chaos_action *a, char *msg, size_t len);

/* A fault of the kind with the defaults every path applies (SIGKILL, first
 * attempt, the scenario's seed). */
void chaos_fault_init(struct chaos_fault *f, enum chaos_fault_kind kind, uint64_t seed);

/* Which settings were given rather than left at their defaults: some
 * cross-checks only apply to given ones. */
struct chaos_given {
	int retries;
	int abort_within;
	int orphans_within;
};

/* What chaos_scenario_validate() refused: the key to blame (NULL: the
 * fault or scenario as a whole), the fault it is in (SIZE_MAX: none) and
 * why, without a prefix. */
struct chaos_problem {
	const char *key;
	size_t fault;
	char msg[256];
};

/* The checks of a finished model that no single value can make: task ids
 * and worker indexes against tasks and workers, faults before the
 * deadline, cont-after only with SIGSTOP, expectations against the policy,
 * retries only with (and at least 1 for) policy retry, abort-within only
 * with abort, task-timeout below the deadline, oom = yes with a limit some
 * task reaches. Both the file parser and `chaos run` call it. 0, or -EINVAL
 * with *pb filled in. */
int chaos_scenario_validate(const struct chaos_scenario *sc, const struct chaos_given *given,
			    struct chaos_problem *pb);

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
