/* The run history's schema (docs/protocol.md section 3): every event, every
 * field, its JSON type and whether it may be null or absent, defined once.
 * The writer (engine/history.c) builds its events from this table and
 * checks them against it; the reader (check/history_read.c) validates what
 * it reads against it; tests/test_history.c compares it with the table in
 * docs/protocol.md, so the three cannot drift apart. */
#ifndef CHAOS_HISTORY_SCHEMA_H
#define CHAOS_HISTORY_SCHEMA_H

#include <jansson.h>
#include <stddef.h>

/* The `version` of the `run` event this code writes and reads. */
#define CHAOS_HIST_VERSION 1

/* Every field name of every event, once: X(constant suffix, JSON name). */
#define CHAOS_HIST_FIELDS(X)                                                                       \
	X(T, "t")                                                                                  \
	X(EV, "ev")                                                                                \
	X(VERSION, "version")                                                                      \
	X(NAME, "name")                                                                            \
	X(TARGET, "target")                                                                        \
	X(ARGV, "argv")                                                                            \
	X(BACKEND, "backend")                                                                      \
	X(CGROUP, "cgroup")                                                                        \
	X(MEM_MODE, "mem_mode")                                                                    \
	X(MEM_LIMIT, "mem_limit")                                                                  \
	X(DEADLINE_MS, "deadline_ms")                                                              \
	X(SEED, "seed")                                                                            \
	X(WORKERS, "workers")                                                                      \
	X(NTASKS, "ntasks")                                                                        \
	X(POLICY, "policy")                                                                        \
	X(RETRIES, "retries")                                                                      \
	X(PID, "pid")                                                                              \
	X(INDEX, "index")                                                                          \
	X(SOURCE, "source")                                                                        \
	X(TASK, "task")                                                                            \
	X(ATTEMPT, "attempt")                                                                      \
	X(RESULT, "result")                                                                        \
	X(TEXT, "text")                                                                            \
	X(KIND, "kind")                                                                            \
	X(SIGNAL, "signal")                                                                        \
	X(OK, "ok")                                                                                \
	X(ERROR, "error")                                                                          \
	X(RULE, "rule")                                                                            \
	X(HOW, "how")                                                                              \
	X(CODE, "code")                                                                            \
	X(OOM, "oom")                                                                              \
	X(OOM_KILL, "oom_kill")                                                                    \
	X(LINE, "line")                                                                            \
	X(LINENO, "lineno")                                                                        \
	X(PPID, "ppid")                                                                            \
	X(COMM, "comm")                                                                            \
	X(STATE, "state")                                                                          \
	X(WCHAN, "wchan")                                                                          \
	X(STACK, "stack")                                                                          \
	X(UNFINISHED, "unfinished")                                                                \
	X(KILLED, "killed")                                                                        \
	X(CGROUPS_REMOVED, "cgroups_removed")                                                      \
	X(VERDICT, "verdict")                                                                      \
	X(REASON, "reason")                                                                        \
	X(ELAPSED_MS, "elapsed_ms")                                                                \
	X(FAULT, "fault")                                                                          \
	X(VICTIM, "victim")                                                                        \
	X(ANCHOR, "anchor")                                                                        \
	X(ROLE, "role")

enum chaos_hf {
#define CHAOS_HF_ENUM(id, name) CHAOS_HF_##id,
	CHAOS_HIST_FIELDS(CHAOS_HF_ENUM)
#undef CHAOS_HF_ENUM
	    CHAOS_HF__COUNT
};

/* Every event; the names are in the table (history_schema.c). */
enum chaos_hev {
	CHAOS_HEV_RUN = 0,
	CHAOS_HEV_SPAWN,
	CHAOS_HEV_WORKER,
	CHAOS_HEV_START,
	CHAOS_HEV_END,
	CHAOS_HEV_FAIL,
	CHAOS_HEV_FAULT,
	CHAOS_HEV_DEATH,
	CHAOS_HEV_OOM,
	CHAOS_HEV_EVENT_ERROR,
	CHAOS_HEV_OUTCOME,
	CHAOS_HEV_PROTOCOL_ERROR,
	CHAOS_HEV_TARGET_EXIT,
	CHAOS_HEV_DEADLINE,
	CHAOS_HEV_DIAG,
	CHAOS_HEV_LEFTOVER,
	CHAOS_HEV_TEARDOWN,
	CHAOS_HEV_END_RUN,
	CHAOS_HEV__COUNT /* also: an `ev` this schema does not know */
};

/* JSON types a field may have (a set of bits). */
enum {
	CHAOS_HT_INT = 1u << 0,
	CHAOS_HT_REAL = 1u << 1,
	CHAOS_HT_NUMBER = CHAOS_HT_INT | CHAOS_HT_REAL,
	CHAOS_HT_STRING = 1u << 2,
	CHAOS_HT_BOOL = 1u << 3,
	CHAOS_HT_ARRAY = 1u << 4,
	CHAOS_HT_NULL = 1u << 5,   /* may be null */
	CHAOS_HT_ABSENT = 1u << 6, /* may be missing from the object */
};

#define CHAOS_HEV_MAX_FIELDS 16

struct chaos_hfield_spec {
	enum chaos_hf field;
	unsigned types; /* CHAOS_HT_* */
};

/* One event: its `ev` and its fields (after `t` and `ev`) in the order the
 * writer puts them. */
struct chaos_hev_spec {
	const char *name;
	unsigned nfields;
	struct chaos_hfield_spec fields[CHAOS_HEV_MAX_FIELDS];
};

/* The fields every event has, in front of its own: `t` and `ev`. */
extern const struct chaos_hev_spec chaos_hist_common;

/* The table, indexed by enum chaos_hev. */
extern const struct chaos_hev_spec chaos_hist_events[CHAOS_HEV__COUNT];

/* The JSON name of a field. */
const char *chaos_hf_name(enum chaos_hf f);

/* The event named ev, or CHAOS_HEV__COUNT when the schema has none. */
enum chaos_hev chaos_hev_lookup(const char *ev);

/* The types a field of event ev may have, 0 when ev has no such field. */
unsigned chaos_hev_field_types(enum chaos_hev ev, enum chaos_hf f);

/* Does value v (NULL: absent) fit the types? */
int chaos_htype_fits(unsigned types, const json_t *v);

/* The types as docs/protocol.md writes them: "integer", "string or null",
 * "bool, optional", ... Returns buf. */
const char *chaos_htype_text(unsigned types, char *buf, size_t len);

/* Check a whole history object against the schema: `t` and `ev` present,
 * every field of the event present (unless it may be absent) with one of
 * its types, and no field the event does not have. *ev gets the event
 * (CHAOS_HEV__COUNT when `ev` is missing or unknown). Returns 0, or
 * -EPROTO with what is wrong in err. */
int chaos_hist_validate(const json_t *o, enum chaos_hev *ev, char *err, size_t errlen);

#endif
