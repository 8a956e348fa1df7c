/* The history schema: one table of every event and its fields. Changing an
 * entry changes the writer, the readers and the check against
 * docs/protocol.md together. */
#include "check/history_schema.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define I CHAOS_HT_INT
#define N CHAOS_HT_NUMBER
#define S CHAOS_HT_STRING
#define B CHAOS_HT_BOOL
#define A CHAOS_HT_ARRAY
#define NUL CHAOS_HT_NULL
#define OPT CHAOS_HT_ABSENT
#define F(id, types)                                                                               \
	{                                                                                          \
		CHAOS_HF_##id, (types)                                                             \
	}

static const char *const field_names[CHAOS_HF__COUNT] = {
#define CHAOS_HF_NAME(id, name) [CHAOS_HF_##id] = name,
    CHAOS_HIST_FIELDS(CHAOS_HF_NAME)
#undef CHAOS_HF_NAME
};

const struct chaos_hev_spec chaos_hist_common = {"*", 2, {F(T, N), F(EV, S)}};

/* `source` of worker, `rule`, `fault`, `victim`, `anchor` and `role` of
 * fault, and `role` of death may be absent: histories written before they
 * were added (tests/data/histories) lack them. */
const struct chaos_hev_spec chaos_hist_events[CHAOS_HEV__COUNT] = {
    [CHAOS_HEV_RUN] = {"run",
		       14,
		       {F(VERSION, I), F(NAME, S), F(TARGET, S), F(ARGV, A), F(BACKEND, S),
			F(CGROUP, S | NUL), F(MEM_MODE, S), F(MEM_LIMIT, I), F(DEADLINE_MS, I),
			F(SEED, I), F(WORKERS, I), F(NTASKS, I), F(POLICY, S), F(RETRIES, I)}},
    [CHAOS_HEV_SPAWN] = {"spawn", 1, {F(PID, I)}},
    [CHAOS_HEV_WORKER] = {"worker",
			  4,
			  {F(PID, I), F(INDEX, I), F(CGROUP, S | NUL), F(SOURCE, S | OPT)}},
    [CHAOS_HEV_START] = {"start", 3, {F(TASK, I), F(ATTEMPT, I), F(PID, I)}},
    [CHAOS_HEV_END] = {"end", 4, {F(TASK, I), F(ATTEMPT, I), F(PID, I), F(RESULT, I)}},
    [CHAOS_HEV_FAIL] = {"fail", 4, {F(TASK, I), F(ATTEMPT, I), F(PID, I), F(TEXT, S)}},
    [CHAOS_HEV_FAULT] = {"fault",
			 11,
			 {F(KIND, S), F(SIGNAL, S | NUL), F(PID, I | NUL), F(TASK, I | NUL),
			  F(OK, B), F(ERROR, S | NUL), F(RULE, S | NUL | OPT), F(FAULT, I | NUL | OPT),
			  F(VICTIM, S | OPT), F(ANCHOR, S | OPT), F(ROLE, S | NUL | OPT)}},
    [CHAOS_HEV_DEATH] = {"death",
			 9,
			 {F(PID, I), F(TASK, I | NUL), F(ATTEMPT, I | NUL), F(HOW, S),
			  F(SIGNAL, S | NUL), F(CODE, I | NUL), F(OOM, B | NUL),
			  F(OOM_KILL, I | NUL), F(ROLE, S | OPT)}},
    [CHAOS_HEV_OOM] = {"oom", 2, {F(CGROUP, S), F(OOM_KILL, I)}},
    [CHAOS_HEV_EVENT_ERROR] = {"event_error", 2, {F(TEXT, S), F(PID, I | NUL)}},
    [CHAOS_HEV_OUTCOME] = {"outcome", 2, {F(LINE, S), F(LINENO, I)}},
    [CHAOS_HEV_PROTOCOL_ERROR] = {"protocol_error", 3, {F(LINENO, I), F(LINE, S), F(TEXT, S)}},
    [CHAOS_HEV_TARGET_EXIT] = {"target_exit", 3, {F(HOW, S), F(SIGNAL, S | OPT), F(CODE, I | OPT)}},
    [CHAOS_HEV_DEADLINE] = {"deadline", 1, {F(DEADLINE_MS, I)}},
    [CHAOS_HEV_DIAG] = {"diag",
			7,
			{F(PID, I | NUL), F(PPID, I | OPT), F(COMM, S | OPT), F(STATE, S | OPT),
			 F(WCHAN, S | OPT), F(STACK, S | NUL | OPT), F(UNFINISHED, A)}},
    [CHAOS_HEV_LEFTOVER] = {"leftover", 2, {F(PID, I), F(COMM, S)}},
    [CHAOS_HEV_TEARDOWN] = {"teardown",
			    4,
			    {F(KILLED, I), F(CGROUPS_REMOVED, I), F(OK, B), F(ERROR, S | NUL)}},
    [CHAOS_HEV_END_RUN] = {"end_run", 3, {F(VERDICT, S), F(REASON, S | NUL), F(ELAPSED_MS, N)}},
};

const char *chaos_hf_name(enum chaos_hf f)
{
	return (unsigned)f < CHAOS_HF__COUNT ? field_names[f] : "?";
}

enum chaos_hev chaos_hev_lookup(const char *ev)
{
	unsigned i;

	for (i = 0; ev && i < CHAOS_HEV__COUNT; i++)
		if (!strcmp(chaos_hist_events[i].name, ev))
			return (enum chaos_hev)i;
	return CHAOS_HEV__COUNT;
}

/* The spec of a field in spec, or NULL. */
static const struct chaos_hfield_spec *field_of(const struct chaos_hev_spec *spec, const char *key)
{
	unsigned i;

	for (i = 0; i < spec->nfields; i++)
		if (!strcmp(field_names[spec->fields[i].field], key))
			return &spec->fields[i];
	return NULL;
}

unsigned chaos_hev_field_types(enum chaos_hev ev, enum chaos_hf f)
{
	const struct chaos_hfield_spec *fs;

	if ((unsigned)ev >= CHAOS_HEV__COUNT || (unsigned)f >= CHAOS_HF__COUNT)
		return 0;
	fs = field_of(&chaos_hist_events[ev], field_names[f]);
	return fs ? fs->types : 0;
}

int chaos_htype_fits(unsigned types, const json_t *v)
{
	/* The schema's type bit of each JSON type; an object fits no field. */
	static const unsigned bit[] = {
	    [JSON_OBJECT] = 0,		    [JSON_ARRAY] = CHAOS_HT_ARRAY,
	    [JSON_STRING] = CHAOS_HT_STRING, [JSON_INTEGER] = CHAOS_HT_INT,
	    [JSON_REAL] = CHAOS_HT_REAL,	    [JSON_TRUE] = CHAOS_HT_BOOL,
	    [JSON_FALSE] = CHAOS_HT_BOOL,    [JSON_NULL] = CHAOS_HT_NULL,
	};

	if (!v)
		return (types & CHAOS_HT_ABSENT) != 0;
	return (types & bit[json_typeof(v)]) != 0;
}

const char *chaos_htype_text(unsigned types, char *buf, size_t len)
{
	const char *base = (types & CHAOS_HT_NUMBER) == CHAOS_HT_NUMBER ? "number"
			   : types & CHAOS_HT_INT			? "integer"
			   : types & CHAOS_HT_REAL			? "float"
			   : types & CHAOS_HT_STRING			? "string"
			   : types & CHAOS_HT_BOOL			? "bool"
			   : types & CHAOS_HT_ARRAY			? "array"
									: "null";

	snprintf(buf, len, "%s%s%s", base, types & CHAOS_HT_NULL ? " or null" : "",
		 types & CHAOS_HT_ABSENT ? ", optional" : "");
	return buf;
}

/* Check the fields of spec in o; 0 or -EPROTO with err set. */
static int check_fields(const json_t *o, const struct chaos_hev_spec *spec, char *err,
			size_t errlen)
{
	char types[40];
	unsigned i;

	for (i = 0; i < spec->nfields; i++) {
		const char *key = field_names[spec->fields[i].field];
		const json_t *v = json_object_get(o, key);

		if (chaos_htype_fits(spec->fields[i].types, v))
			continue;
		snprintf(err, errlen, "%s: field %s %s (expected %s)",
			 spec == &chaos_hist_common ? "event" : spec->name, key,
			 v ? "has the wrong type" : "is missing",
			 chaos_htype_text(spec->fields[i].types, types, sizeof(types)));
		return -EPROTO;
	}
	return 0;
}

int chaos_hist_validate(const json_t *o, enum chaos_hev *ev, char *err, size_t errlen)
{
	const struct chaos_hev_spec *spec;
	const char *key, *name;
	json_t *v;
	int ret;

	*ev = CHAOS_HEV__COUNT;
	if (!json_is_object(o)) {
		snprintf(err, errlen, "not a JSON object");
		return -EPROTO;
	}
	/* The event is named even when `t` is wrong: readers still use it. */
	name = json_string_value(json_object_get(o, field_names[CHAOS_HF_EV]));
	*ev = chaos_hev_lookup(name);
	ret = check_fields(o, &chaos_hist_common, err, errlen);
	if (ret)
		return ret;
	if (*ev == CHAOS_HEV__COUNT) {
		snprintf(err, errlen, "unknown event '%.64s'", name);
		return -EPROTO;
	}
	spec = &chaos_hist_events[*ev];
	ret = check_fields(o, spec, err, errlen);
	if (ret)
		return ret;
	json_object_foreach((json_t *)o, key, v)
	{
		(void)v;
		if (field_of(&chaos_hist_common, key) || field_of(spec, key))
			continue;
		snprintf(err, errlen, "%s: field %.64s is not in the schema", spec->name, key);
		return -EPROTO;
	}
	return 0;
}
