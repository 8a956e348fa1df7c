/* The run history: one JSON object per line (docs/protocol.md section 3). */
#ifndef CHAOS_HISTORY_H
#define CHAOS_HISTORY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "check/history_schema.h"
#include "sys/proc.h"

struct chaos_hist;

/* Create (truncate) the history file at path. Timestamps are seconds since
 * t0 on CLOCK_MONOTONIC. Returns 0 or -errno. */
int chaos_hist_open(const char *path, const struct timespec *t0, struct chaos_hist **h);

/* Append one event: {"t":..., "ev":ev, ...fields}. Takes the reference to
 * fields (which may be NULL). The line is written with a single write() on
 * an O_APPEND descriptor, so a writer killed at any moment leaves only
 * complete lines behind. Returns 0 or -errno (the event is dropped).
 * Not checked against the schema: the controller writes its events with
 * the typed functions below; this one is for them and for tests. */
int chaos_hist_emit(struct chaos_hist *h, const char *ev, json_t *fields);

/* Seconds since t0, as written in "t". */
double chaos_hist_now(const struct chaos_hist *h);

/* Close the file and free the handle. NULL is accepted. */
void chaos_hist_close(struct chaos_hist *h);

/* A JSON string for n bytes of text a target or kit sent: NUL bytes become
 * '?' (readers without JSON_ALLOW_NUL would drop the event), and so do the
 * bytes of invalid UTF-8. Never NULL unless out of memory. */
json_t *chaos_hist_text(const char *s, size_t n);

/* ---- the events of the schema (check/history_schema.h) ----------------------
 *
 * One function per event, its fields as C values. Each builds the event
 * from the schema's table and checks it against the table before it is
 * written: an event that does not match, or lacks a value it requires (a
 * NULL where the schema allows no null), is not written, and -EINVAL is
 * returned (a bug in the caller, caught by the tests). Strings that come
 * from outside (names, texts, command names) go through chaos_hist_text(),
 * so a hostile byte cannot turn an event invalid. A NULL string is written
 * as null where the schema allows it. All return 0 or -errno. */

struct chaos_hist_run {
	const char *name, *target;
	char *const *argv; /* NULL-terminated, may be NULL */
	const char *backend, *cgroup, *mem_mode;
	uint64_t mem_limit, seed;
	unsigned deadline_ms, workers, ntasks, retries;
	const char *policy;
};
int chaos_hist_run(struct chaos_hist *h, const struct chaos_hist_run *r);

int chaos_hist_spawn(struct chaos_hist *h, pid_t pid);
int chaos_hist_worker(struct chaos_hist *h, pid_t pid, unsigned index, const char *cgroup,
		      const char *source);
int chaos_hist_start(struct chaos_hist *h, uint32_t task, uint32_t attempt, pid_t pid);
int chaos_hist_end(struct chaos_hist *h, uint32_t task, uint32_t attempt, pid_t pid,
		   int64_t result);
int chaos_hist_fail(struct chaos_hist *h, uint32_t task, uint32_t attempt, pid_t pid,
		    const char *text, size_t len);

/* pid <= 0 and task < 0 are written as null. victim NULL leaves out
 * fault, victim, anchor and role (the shape of older histories, for tests);
 * otherwise fault < 0 and role NULL are written as null. */
struct chaos_hist_fault {
	const char *kind, *signal, *error, *rule;
	pid_t pid;
	long task;
	int ok;
	long fault;                 /* index into the scenario's faults, or -1 */
	const char *victim, *anchor; /* "worker"/"main"/"any"; "spawn", "first-start", ... */
	const char *role;           /* "worker", "main", "helper", "stress", or NULL */
};
int chaos_hist_fault(struct chaos_hist *h, const struct chaos_hist_fault *f);

/* task < 0 writes task and attempt as null; code, oom and oom_kill < 0
 * are written as null; role NULL is left out (older histories). */
struct chaos_hist_death {
	pid_t pid;
	long task;
	uint32_t attempt;
	const char *how, *signal;
	int code, oom;
	long long oom_kill;
	const char *role; /* "worker", "main" or "helper" */
};
int chaos_hist_death(struct chaos_hist *h, const struct chaos_hist_death *d);

int chaos_hist_oom(struct chaos_hist *h, const char *cgroup, uint64_t oom_kill);
/* pid <= 0 is written as null. */
int chaos_hist_event_error(struct chaos_hist *h, const char *text, pid_t pid);
int chaos_hist_outcome(struct chaos_hist *h, const char *line, size_t len, unsigned lineno);
int chaos_hist_protocol_error(struct chaos_hist *h, unsigned lineno, const char *line,
			      size_t len, const char *text);
/* signal: the name of the signal that killed the target, or NULL when it
 * exited with code. */
int chaos_hist_target_exit(struct chaos_hist *h, const char *signal, int code);
int chaos_hist_deadline(struct chaos_hist *h, unsigned deadline_ms);
/* One process of the run (pi NULL: none left); unfinished is an array of
 * task ids, borrowed. */
int chaos_hist_diag(struct chaos_hist *h, const struct chaos_procinfo *pi, json_t *unfinished);
int chaos_hist_leftover(struct chaos_hist *h, pid_t pid, const char *comm);
/* error NULL: the teardown succeeded. */
int chaos_hist_teardown(struct chaos_hist *h, unsigned killed, unsigned removed,
			const char *error);
int chaos_hist_end_run(struct chaos_hist *h, const char *verdict, const char *reason,
		       double elapsed_ms);

#endif
