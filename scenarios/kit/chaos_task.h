/* The task kit, C side: what a pool under test runs for each task id.
 *
 * A target adapter's worker calls chaos_task_run(id). The kit reads the task
 * spec named by CHAOS_TASKS (docs/protocol.md section 1), reports the start
 * to the controller on the socket named by CHAOS_EVENTS (section 2), waits
 * for the controller's `go <attempt>` and then behaves as the spec says:
 * sleeps, allocates and touches memory, and returns, fails, exits, hangs or
 * kills itself. Without CHAOS_EVENTS the kit runs silently as attempt 1;
 * without CHAOS_TASKS every task returns id*id at once.
 *
 * The spec is parsed once and cached; a forked worker inherits the cache.
 * The first call (or chaos_task_init()) must not race with another thread.
 */
#ifndef CHAOS_TASK_H
#define CHAOS_TASK_H

#include <stdint.h>

/* Returned by chaos_task_run() for action=fail: positive, so it can never be
 * confused with a -errno from the kit itself. */
#define CHAOS_TASK_FAILED 1

/* Longest line on the event socket, newline included (protocol section 2). */
#define CHAOS_TASK_LINE_MAX 256

/* Exit code of a task whose controller never answered `start` with `go`,
 * or a held `end` with `ack`. */
#define CHAOS_TASK_EXIT_NO_GO 70

/* Newest task spec version the kit reads (docs/protocol.md section 1). */
#define CHAOS_TASK_SPEC_VERSION 2

enum chaos_task_action {
	CHAOS_TASK_OK = 0,
	CHAOS_TASK_EXIT,
	CHAOS_TASK_FAIL,
	CHAOS_TASK_HANG,
	CHAOS_TASK_SELFKILL,
	CHAOS_TASK_SEGV,
};

/* One line of the task spec file. */
struct chaos_task_def {
	uint32_t sleep_ms;
	uint64_t alloc_bytes;
	enum chaos_task_action action;
	int exit_code;
	uint32_t times; /* misbehave on attempts 1..times; 0 = every attempt */
	int64_t result;
	int hold;       /* spec version 2: after `end`, wait for the controller's `ack` */
};

/* Load and cache the spec named by CHAOS_TASKS (nothing to load when it is
 * unset). Idempotent: later calls return the first call's status.
 * Returns 0; -EINVAL for a malformed file (a "file:line: why" message is
 * printed on stderr once); -errno when the file cannot be read. */
int chaos_task_init(void);

/* Run task id as the spec says and store its result.
 * Returns 0 with *result set; CHAOS_TASK_FAILED for action=fail (after
 * sending `fail` to the controller); -EINVAL for a bad spec; -ERANGE when id
 * is not below the spec's task count; -ENOMEM when the allocation fails;
 * -errno when the event socket cannot be used. Does not return for
 * action=exit, hang, selfkill and segv, nor when `go` (or, for a task with
 * hold=1, the `ack` of its `end`) does not arrive in time (the process exits
 * with CHAOS_TASK_EXIT_NO_GO). Each of these waits is 30 s, or
 * CHAOS_GO_TIMEOUT_MS milliseconds when that is set (for tests). A held
 * `end` whose connection the controller closes returns the result: the
 * controller is gone, the result is still real. */
int chaos_task_run(uint32_t id, int64_t *result);

/* Parse a spec file into a newly allocated array (free() it). Exposed for
 * tests and tools. Returns 0 with *defs and *n set; -EINVAL with a
 * "path:line: why" message in err; -errno when the file cannot be read. */
int chaos_task_parse_file(const char *path, struct chaos_task_def **defs, uint32_t *n,
			  char *err, unsigned errlen);

/* The definition the kit uses for id (defaults when CHAOS_TASKS is unset).
 * Returns 0, -EINVAL for a bad spec, -ERANGE for an id out of range. */
int chaos_task_get(uint32_t id, struct chaos_task_def *def);

/* Forget the cached spec so that the next call reads CHAOS_TASKS again.
 * For tests that change the environment between cases. */
void chaos_task_reset(void);

#endif
