/* Scenario files: parsing (libinih), defaults, validation and the task spec
 * writer. The format is documented in scenarios/README.md.
 *
 * Parsing happens in two passes. The first pass lets libinih split the file
 * into (section, key, value) triples and records each with its line number
 * and the section instance it belongs to; the second pass interprets them in
 * a fixed order ([scenario] first, because it sizes the task array), so the
 * order of sections in a file does not matter and every error can still
 * name the line it comes from. Every value goes through chaos/check/value.c
 * and the settings table below, and the finished model through
 * chaos_scenario_validate(), which `chaos run` options go through too.
 */
#include "check/scenario.h"

#include "check/value.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stddef.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bounds that keep a scenario within what one machine can run. */
#define SC_MAX_FAULTS 256u
#define SC_MAX_SECTIONS 4096u
#define SC_MAX_ENTRIES 65536u

enum sec_kind {
	SEC_UNKNOWN = 0,
	SEC_SCENARIO,
	SEC_TASK_DEFAULT,
	SEC_TASK,
	SEC_FAULT,
	SEC_MEMORY,
	SEC_EXPECT,
};

struct section {
	char name[64];
	int line;
	enum sec_kind kind;
	uint32_t task; /* SEC_TASK: the id */
};

struct entry {
	size_t sec; /* index into sections */
	int line;
	char *name;
	char *value;
};

struct parse {
	const char *path;
	FILE *f;
	int lineno;	   /* lines handed to libinih so far */
	int overlong_line; /* first line longer than libinih's buffer, or 0 */
	int nul_line;	   /* first line holding a NUL byte, or 0 */
	int oom;	   /* an allocation failed while collecting */
	struct section *secs;
	size_t nsecs, secs_cap;
	struct entry *ents;
	size_t nents, ents_cap;
	char *err;
	size_t errlen;
	int failed;
};

/* Record the first error only: later ones are usually consequences. */
static int fail(struct parse *p, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct parse *p, int line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (p->failed)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->err && p->errlen)
		snprintf(p->err, p->errlen, "%s:%d: %s", p->path, line, msg);
	p->failed = 1;
	return -EINVAL;
}

static const char *const action_names[] = {
    [CHAOS_ACT_OK] = "ok",     [CHAOS_ACT_EXIT] = "exit",	  [CHAOS_ACT_FAIL] = "fail",
    [CHAOS_ACT_HANG] = "hang", [CHAOS_ACT_SELFKILL] = "selfkill", [CHAOS_ACT_SEGV] = "segv",
};

const char *chaos_action_name(enum chaos_action a)
{
	if ((unsigned)a < sizeof(action_names) / sizeof(action_names[0]))
		return action_names[a];
	return "?";
}

/* ---- first pass: collect triples with line numbers ---------------------- */

/* libinih's fgets-style reader, wrapped so we know the line number of every
 * key (Debian builds libinih without INI_HANDLER_LINENO) and see section
 * headers even when a section has no keys (an empty [fault] is an error). */
static char *reader(char *str, int num, void *stream)
{
	struct parse *p = stream;
	char *s = str, *q, *end;
	size_t len = 0, cap;
	int c = EOF, nul = 0;

	if (num < 2)
		return NULL;
	cap = (size_t)num - 1;
	/* Byte by byte rather than fgets(): the length must be the number of
	 * bytes read, which strlen() cannot tell once a NUL byte is among
	 * them; and one call must consume exactly one physical line, so that
	 * line numbers count the file's lines. */
	while (len < cap && (c = getc(p->f)) != EOF) {
		str[len++] = (char)c;
		nul |= c == '\0';
		if (c == '\n')
			break;
	}
	if (len == 0)
		return NULL;
	str[len] = '\0';
	p->lineno++;
	if (len == cap && str[len - 1] != '\n') {
		/* libinih would read the rest as a new line: refuse instead,
		 * and skip to the end of this line, still looking for NUL. */
		if (!p->overlong_line)
			p->overlong_line = p->lineno;
		while ((c = getc(p->f)) != EOF && c != '\n')
			nul |= c == '\0';
	}
	if (nul) {
		if (!p->nul_line)
			p->nul_line = p->lineno;
		/* The file is refused; libinih gets an empty line meanwhile,
		 * not a key cut short at the NUL byte. */
		str[0] = '\n';
		str[1] = '\0';
		return s;
	}
	q = s;
	if (p->lineno == 1 && (unsigned char)q[0] == 0xEF && (unsigned char)q[1] == 0xBB &&
	    (unsigned char)q[2] == 0xBF)
		q += 3;
	while (isspace((unsigned char)*q))
		q++;
	if (*q == '[' && (end = strchr(q, ']')) != NULL) {
		struct section *ns;
		size_t n = (size_t)(end - q - 1);

		if (p->nsecs >= SC_MAX_SECTIONS) {
			p->oom = 1;
			return s;
		}
		if (p->nsecs == p->secs_cap) {
			/* Grow geometrically: one realloc per key made a large
			 * file quadratic (and very slow under ASan). */
			size_t ncap = p->secs_cap ? 2 * p->secs_cap : 16;

			ns = realloc(p->secs, ncap * sizeof(*ns));
			if (!ns) {
				p->oom = 1;
				return s;
			}
			p->secs = ns;
			p->secs_cap = ncap;
		}
		ns = p->secs;
		memset(&ns[p->nsecs], 0, sizeof(ns[0]));
		if (n >= sizeof(ns[0].name))
			n = sizeof(ns[0].name) - 1;
		memcpy(ns[p->nsecs].name, q + 1, n);
		ns[p->nsecs].line = p->lineno;
		p->nsecs++;
	}
	return s;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse *p = user;
	struct entry *ne;

	(void)section;
	if (p->nents >= SC_MAX_ENTRIES) {
		p->oom = 1;
		return 1;
	}
	if (p->nents == p->ents_cap) {
		size_t cap = p->ents_cap ? 2 * p->ents_cap : 64;

		ne = realloc(p->ents, cap * sizeof(*ne));
		if (!ne) {
			p->oom = 1;
			return 1;
		}
		p->ents = ne;
		p->ents_cap = cap;
	}
	ne = &p->ents[p->nents];
	/* A key before any section header belongs to the pseudo-section
	 * SIZE_MAX and is reported in the second pass. */
	ne->sec = p->nsecs ? p->nsecs - 1 : SIZE_MAX;
	ne->line = p->lineno;
	ne->name = strdup(name);
	ne->value = strdup(value ? value : "");
	if (!ne->name || !ne->value) {
		free(ne->name);
		free(ne->value);
		p->oom = 1;
		return 1;
	}
	p->nents++;
	return 1;
}

/* ---- values --------------------------------------------------------------- */

/* Every numeric setting with its range, for the file and `chaos run` alike.
 * A u32 field's range never exceeds UINT32_MAX. */
static const struct chaos_setting settings[] = {
    {"workers", CHAOS_SET_NUMBER, 1, 1024},
    {"tasks", CHAOS_SET_NUMBER, 1, CHAOS_TASKS_MAX},
    {"retries", CHAOS_SET_NUMBER, 0, 1000},
    {"task-timeout", CHAOS_SET_TIME, 0, UINT32_MAX},
    {"deadline", CHAOS_SET_TIME, 1, 3600u * 1000u},
    {"startup", CHAOS_SET_TIME, 1, 3600u * 1000u},
    {"seed", CHAOS_SET_NUMBER, 0, UINT64_MAX},
    {"sleep", CHAOS_SET_TIME, 0, UINT32_MAX},
    {"alloc", CHAOS_SET_SIZE, 0, UINT64_MAX},
    {"code", CHAOS_SET_NUMBER, 0, 255},
    {"times", CHAOS_SET_NUMBER, 0, 1000},
    {"task", CHAOS_SET_NUMBER, 0, UINT32_MAX},
    {"attempt", CHAOS_SET_NUMBER, 0, 1000},
    {"delay", CHAOS_SET_TIME, 0, UINT32_MAX},
    {"at", CHAOS_SET_TIME, 0, UINT32_MAX},
    {"worker", CHAOS_SET_NUMBER, 0, UINT32_MAX},
    {"interval", CHAOS_SET_TIME, 1, UINT32_MAX},
    {"jitter", CHAOS_SET_TIME, 0, UINT32_MAX},
    {"count", CHAOS_SET_NUMBER, 1, 100000},
    {"cont-after", CHAOS_SET_TIME, 0, UINT32_MAX},
    {"bytes", CHAOS_SET_SIZE, 1, UINT64_MAX},
    {"duration", CHAOS_SET_TIME, 1, UINT32_MAX},
    /* Below a few MiB the kernel kills the worker before it even runs the
     * task, which tests nothing. */
    {"limit", CHAOS_SET_SIZE, 4ull << 20, UINT64_MAX},
    {"abort-within", CHAOS_SET_TIME, 1, UINT32_MAX},
    {"orphans-within", CHAOS_SET_TIME, 1, UINT32_MAX},
    {"starts", CHAOS_SET_NUMBER, 1, 100000000},
};

const struct chaos_setting *chaos_setting_find(const char *key)
{
	size_t i;

	for (i = 0; i < sizeof(settings) / sizeof(settings[0]); i++) {
		if (!strcmp(settings[i].key, key))
			return &settings[i];
	}
	return NULL;
}

int chaos_setting_parse(const char *key, const char *text, uint64_t *v, char *msg, size_t len)
{
	const struct chaos_setting *st = chaos_setting_find(key);
	uint32_t ms = 0;
	int r;

	if (!st)
		return -EINVAL;
	switch (st->kind) {
	case CHAOS_SET_TIME:
		r = chaos_value_time(text, (uint32_t)st->lo, (uint32_t)st->hi, &ms, msg, len);
		if (!r)
			*v = ms;
		return r;
	case CHAOS_SET_SIZE:
		return chaos_value_size(text, st->lo, st->hi, v, msg, len);
	case CHAOS_SET_NUMBER:
		break;
	}
	return chaos_value_number(text, st->lo, st->hi, v, msg, len);
}

static const char *const policy_names[] = {"skip", "abort", "retry"};

int chaos_policy_parse(struct chaos_scenario *sc, const char *text, char *msg, size_t len)
{
	int k = 0;
	int r = chaos_value_word(text, policy_names, 3, "policy", &k, msg, len);

	if (!r)
		snprintf(sc->policy, sizeof(sc->policy), "%s", policy_names[k]);
	return r;
}

int chaos_action_parse(const char *text, enum chaos_action *a, char *msg, size_t len)
{
	int k = 0;
	int r = chaos_value_word(text, action_names, sizeof(action_names) / sizeof(action_names[0]),
				 "action", &k, msg, len);

	if (!r)
		*a = (enum chaos_action)k;
	return r;
}

/* A value's message, prefixed with its key: "file:line: key: why". */
static int bad_value(struct parse *p, const struct entry *e, const char *msg)
{
	return fail(p, e->line, "%s: %s", e->name, msg);
}

/* The entry's value as the setting of its key. */
static int get(struct parse *p, const struct entry *e, uint64_t *out)
{
	char msg[CHAOS_VALUE_MSG_MAX];

	if (chaos_setting_parse(e->name, e->value, out, msg, sizeof(msg)))
		return bad_value(p, e, msg);
	return 0;
}

/* The same for a 32-bit field: the table bounds its range to fit. */
static int get32(struct parse *p, const struct entry *e, uint32_t *out)
{
	uint64_t v = 0;
	int r = get(p, e, &v);

	if (!r)
		*out = (uint32_t)v;
	return r;
}

/* Look a key up in a NULL-terminated list; "where" completes the message,
 * e.g. "in [scenario]" or "for fault kind kill-at". */
static int match_key(struct parse *p, const struct entry *e, const char *where,
		     const char *const *keys)
{
	char list[512] = "";
	size_t i;

	for (i = 0; keys[i]; i++) {
		if (!strcmp(e->name, keys[i]))
			return (int)i;
	}
	for (i = 0; keys[i]; i++) {
		if (i)
			strncat(list, ", ", sizeof(list) - strlen(list) - 1);
		strncat(list, keys[i], sizeof(list) - strlen(list) - 1);
	}
	fail(p, e->line, "unknown key '%s' %s (expected %s)", e->name, where, list);
	return -1;
}

/* ---- second pass ------------------------------------------------------- */

static int classify_sections(struct parse *p)
{
	size_t i, j;

	for (i = 0; i < p->nsecs; i++) {
		struct section *s = &p->secs[i];

		if (!strcmp(s->name, "scenario")) {
			s->kind = SEC_SCENARIO;
		} else if (!strcmp(s->name, "task default")) {
			s->kind = SEC_TASK_DEFAULT;
		} else if (!strncmp(s->name, "task ", 5)) {
			uint64_t id;

			if (chaos_value_u64n(s->name + 5, strlen(s->name + 5), &id) ||
			    id > UINT32_MAX)
				return fail(p, s->line,
					    "bad task section [%s] (expected [task default] or "
					    "[task N] with N a task id)",
					    s->name);
			s->kind = SEC_TASK;
			s->task = (uint32_t)id;
		} else if (!strcmp(s->name, "fault")) {
			s->kind = SEC_FAULT;
		} else if (!strcmp(s->name, "memory")) {
			s->kind = SEC_MEMORY;
		} else if (!strcmp(s->name, "expect")) {
			s->kind = SEC_EXPECT;
		} else {
			return fail(p, s->line,
				    "unknown section [%s] (expected scenario, task default, task "
				    "N, fault, memory or expect)",
				    s->name);
		}
		/* Only [fault] may repeat: a second [scenario] or [task 3] is
		 * almost always a copy-paste slip that would hide a value. */
		if (s->kind == SEC_FAULT)
			continue;
		for (j = 0; j < i; j++) {
			if (p->secs[j].kind == s->kind &&
			    (s->kind != SEC_TASK || p->secs[j].task == s->task))
				return fail(p, s->line, "duplicate section [%s] (first at line %d)",
					    s->name, p->secs[j].line);
		}
	}
	return 0;
}

/* Order entries by section, then key, then position in the file. */
static int cmp_entry(const void *a, const void *b)
{
	const struct entry *x = *(const struct entry *const *)a;
	const struct entry *y = *(const struct entry *const *)b;
	int c;

	if (x->sec != y->sec)
		return x->sec < y->sec ? -1 : 1;
	c = strcmp(x->name, y->name);
	if (c)
		return c;
	return x < y ? -1 : x > y;
}

/* Keys outside any section and keys set twice in one section instance. The
 * duplicates are found by sorting, not by comparing every pair: a file may
 * hold SC_MAX_ENTRIES keys, and the pairwise loop took seconds on that. The
 * error reported is still the first offending line of the file. */
static int check_entries(struct parse *p)
{
	const struct entry **byname = NULL, *dup = NULL, *first = NULL;
	size_t i, g;
	int r = 0;

	if (p->nents == 0)
		goto out;
	/* Such keys come before every section header, so the first entry
	 * is one when there are any. */
	if (p->ents[0].sec == SIZE_MAX) {
		r = fail(p, p->ents[0].line,
			 "key '%s' outside any section (expected a [section] header first)",
			 p->ents[0].name);
		goto out;
	}
	byname = malloc(p->nents * sizeof(*byname));
	if (!byname) {
		r = -ENOMEM;
		if (p->err && p->errlen)
			snprintf(p->err, p->errlen, "%s: out of memory", p->path);
		goto out;
	}
	for (i = 0; i < p->nents; i++)
		byname[i] = &p->ents[i];
	qsort(byname, p->nents, sizeof(*byname), cmp_entry);
	/* In each run of equal (section, key), every entry after the run's
	 * first is a duplicate of it; report the one earliest in the file. */
	for (g = 0, i = 1; i < p->nents; i++) {
		if (byname[i]->sec != byname[g]->sec || strcmp(byname[i]->name, byname[g]->name)) {
			g = i;
			continue;
		}
		if (!dup || byname[i] < dup) {
			dup = byname[i];
			first = byname[g];
		}
	}
	if (dup)
		r = fail(p, dup->line, "duplicate key '%s' in [%s] (first set at line %d)", dup->name,
			 p->secs[dup->sec].name, first->line);
out:
	free(byname);
	return r;
}

static int valid_name(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++) {
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.')
			return 0;
	}
	return 1;
}

static const char *const scenario_keys[] = {
    "name", "description", "workers", "tasks", "policy", "retries", "task-timeout", "deadline",
    "seed", "startup",	   NULL};

/* One key of [scenario]; given records the keys the validation asks for. */
static int apply_scenario_key(struct parse *p, const struct entry *e, struct chaos_scenario *sc,
			      struct chaos_given *given)
{
	char msg[CHAOS_VALUE_MSG_MAX];

	switch (match_key(p, e, "in [scenario]", scenario_keys)) {
	case 0:
		if (strlen(e->value) >= sizeof(sc->name) || !valid_name(e->value))
			return fail(p, e->line,
				    "bad name '%s' (expected 1 to %zu letters, digits, "
				    "'-', '_' or '.')",
				    e->value, sizeof(sc->name) - 1);
		strcpy(sc->name, e->value);
		return 0;
	case 1:
		if (strlen(e->value) >= sizeof(sc->description))
			return fail(p, e->line, "description is longer than %zu characters",
				    sizeof(sc->description) - 1);
		strcpy(sc->description, e->value);
		return 0;
	case 2:
		return get32(p, e, &sc->workers);
	case 3:
		return get32(p, e, &sc->ntasks);
	case 4:
		if (chaos_policy_parse(sc, e->value, msg, sizeof(msg)))
			return bad_value(p, e, msg);
		return 0;
	case 5:
		given->retries = 1;
		return get32(p, e, &sc->retries);
	case 6:
		return get32(p, e, &sc->task_timeout_ms);
	case 7:
		return get32(p, e, &sc->deadline_ms);
	case 8:
		return get(p, e, &sc->seed);
	case 9:
		return get32(p, e, &sc->startup_ms);
	default:
		return -EINVAL;
	}
}

static int load_scenario_section(struct parse *p, struct chaos_scenario *sc,
				 struct chaos_given *given)
{
	size_t i, s;
	int have = 0, r;

	for (s = 0; s < p->nsecs; s++) {
		if (p->secs[s].kind == SEC_SCENARIO)
			have = 1;
	}
	if (!have)
		return fail(p, 1,
			    "missing [scenario] section (expected at least workers and tasks)");
	for (i = 0; i < p->nents; i++) {
		if (p->secs[p->ents[i].sec].kind != SEC_SCENARIO)
			continue;
		r = apply_scenario_key(p, &p->ents[i], sc, given);
		if (r)
			return r;
	}
	return 0;
}

static const char *const task_keys[] = {"sleep", "alloc",  "action", "code",
					"times", "result", NULL};

/* Apply one [task ...] key to a spec. code_set records an explicit exit code
 * so that action = exit without one can default to 1 (an exit status of 0
 * from a worker would look like a clean shutdown, not a failure). */
static int apply_task_key(struct parse *p, const struct entry *e, const char *secname,
			  struct chaos_task_spec *t, int *code_set)
{
	char where[80], msg[CHAOS_VALUE_MSG_MAX];
	uint32_t code = 0;
	int k, r;

	snprintf(where, sizeof(where), "in [%s]", secname);
	k = match_key(p, e, where, task_keys);

	switch (k) {
	case 0:
		return get32(p, e, &t->sleep_ms);
	case 1:
		return get(p, e, &t->alloc_bytes);
	case 2:
		if (chaos_action_parse(e->value, &t->action, msg, sizeof(msg)))
			return bad_value(p, e, msg);
		return 0;
	case 3:
		r = get32(p, e, &code);
		t->exit_code = (int)code;
		*code_set = 1;
		return r;
	case 4:
		return get32(p, e, &t->times);
	case 5:
		if (chaos_value_signed(e->value, &t->result, msg, sizeof(msg)))
			return bad_value(p, e, msg);
		return 0;
	default:
		return -EINVAL;
	}
}

static int load_tasks(struct parse *p, struct chaos_scenario *sc)
{
	struct chaos_task_spec def = {.times = 1};
	int def_code_set = 0, def_result_set = 0;
	unsigned char *code_set = NULL;
	size_t i;
	uint32_t id;
	int r = 0;

	for (i = 0; i < p->nents; i++) {
		const struct entry *e = &p->ents[i];

		if (p->secs[e->sec].kind != SEC_TASK_DEFAULT)
			continue;
		r = apply_task_key(p, e, "task default", &def, &def_code_set);
		if (r)
			return r;
		if (!strcmp(e->name, "result"))
			def_result_set = 1;
	}
	code_set = calloc(sc->ntasks, 1);
	if (!code_set)
		return -ENOMEM;
	for (id = 0; id < sc->ntasks; id++) {
		sc->tasks[id] = def;
		if (!def_result_set)
			sc->tasks[id].result = (int64_t)id * (int64_t)id;
		code_set[id] = (unsigned char)def_code_set;
	}
	for (i = 0; i < p->nsecs; i++) {
		if (p->secs[i].kind == SEC_TASK && p->secs[i].task >= sc->ntasks) {
			r = fail(p, p->secs[i].line,
				 "task id %u out of range (expected 0 to %u for tasks = %u)",
				 p->secs[i].task, sc->ntasks - 1, sc->ntasks);
			goto out;
		}
	}
	for (i = 0; i < p->nents; i++) {
		const struct entry *e = &p->ents[i];
		const struct section *s = &p->secs[e->sec];
		int cs = 0;

		if (s->kind != SEC_TASK)
			continue;
		r = apply_task_key(p, e, s->name, &sc->tasks[s->task], &cs);
		if (r)
			goto out;
		if (cs)
			code_set[s->task] = 1;
	}
	for (id = 0; id < sc->ntasks; id++) {
		if (sc->tasks[id].action == CHAOS_ACT_EXIT && !code_set[id])
			sc->tasks[id].exit_code = 1;
	}
out:
	free(code_set);
	return r;
}

static const struct {
	const char *name;
	enum chaos_fault_kind kind;
	const char *const keys[13];  /* keys allowed for this kind */
	const char *const needed[4]; /* keys it cannot do without */
} fault_kinds[] = {
    {"kill-on-start",
     CHAOS_FAULT_ON_START,
     {"kind", "signal", "task", "attempt", "delay", "cont-after", "victim", NULL},
     {"task", NULL}},
    {"kill-at",
     CHAOS_FAULT_AT_TIME,
     {"kind", "signal", "worker", "at", "cont-after", "from", "victim", NULL},
     {"at", NULL}},
    {"kill-every",
     CHAOS_FAULT_EVERY,
     {"kind", "signal", "interval", "jitter", "count", "seed", "at", "cont-after", "from",
      "victim", NULL},
     {"interval", "count", NULL}},
    {"kill-all-at",
     CHAOS_FAULT_ALL_AT,
     {"kind", "signal", "at", "cont-after", "from", "victim", NULL},
     {"at", NULL}},
    {"pressure",
     CHAOS_FAULT_PRESSURE,
     {"kind", "bytes", "duration", "where", "at", "from", NULL},
     {"bytes", "duration", NULL}},
    {"kill-after-starts",
     CHAOS_FAULT_AFTER_STARTS,
     {"kind", "signal", "starts", "delay", "cont-after", "victim", NULL},
     {"starts", NULL}},
    {"kill-on-end",
     CHAOS_FAULT_ON_END,
     {"kind", "signal", "task", "attempt", "cont-after", "victim", NULL},
     {"task", NULL}},
};
#define N_FAULT_KINDS (sizeof(fault_kinds) / sizeof(fault_kinds[0]))

static const char *const where_names[] = {"inside", "beside"};
/* In enum chaos_anchor and enum chaos_victim order. */
static const char *const from_names[] = {"first-start", "spawn"};
static const char *const victim_names[] = {"worker", "main", "any"};

#define FAULT_FIELD(m) offsetof(struct chaos_fault, m), sizeof(((struct chaos_fault *)0)->m)

/* The numeric keys of [fault] and the field each sets. */
static const struct {
	const char *key;
	size_t off, size;
} fault_fields[] = {
    {"task", FAULT_FIELD(task)},	   {"attempt", FAULT_FIELD(attempt)},
    {"delay", FAULT_FIELD(delay_ms)},	   {"at", FAULT_FIELD(delay_ms)},
    {"worker", FAULT_FIELD(worker)},	   {"interval", FAULT_FIELD(interval_ms)},
    {"jitter", FAULT_FIELD(jitter_ms)},	   {"count", FAULT_FIELD(count)},
    {"seed", FAULT_FIELD(seed)},	   {"cont-after", FAULT_FIELD(cont_after_ms)},
    {"bytes", FAULT_FIELD(bytes)},	   {"duration", FAULT_FIELD(duration_ms)},
    {"starts", FAULT_FIELD(starts)},
};

/* One key of a [fault] section, already known to belong to its kind. */
static int apply_fault_key(struct parse *p, const struct entry *e, struct chaos_fault *f)
{
	char msg[CHAOS_VALUE_MSG_MAX];
	uint64_t v = 0;
	uint32_t v32;
	size_t i;
	int r = 0, k = 1;

	if (!strcmp(e->name, "signal")) {
		r = chaos_value_signal(e->value, &f->signo, msg, sizeof(msg));
	} else if (!strcmp(e->name, "where")) {
		r = chaos_value_word(e->value, where_names, 2, "place", &k, msg, sizeof(msg));
		f->pressure_inside = k == 0;
	} else if (!strcmp(e->name, "from")) {
		r = chaos_value_word(e->value, from_names, 2, "anchor", &k, msg, sizeof(msg));
		f->from = (enum chaos_anchor)k;
	} else if (!strcmp(e->name, "victim")) {
		r = chaos_value_word(e->value, victim_names, 3, "victim", &k, msg, sizeof(msg));
		f->victim = (enum chaos_victim)k;
	}
	if (r)
		return bad_value(p, e, msg);
	for (i = 0; i < sizeof(fault_fields) / sizeof(fault_fields[0]); i++) {
		char *field = (char *)f + fault_fields[i].off;

		if (strcmp(e->name, fault_fields[i].key))
			continue;
		r = get(p, e, &v);
		/* The settings table bounds a 32-bit field's value to fit. */
		v32 = (uint32_t)v;
		if (!r)
			memcpy(field, fault_fields[i].size == sizeof(v) ? (void *)&v : (void *)&v32,
			       fault_fields[i].size);
		return r;
	}
	return 0;
}

/* The entry of key in section sec, or NULL. */
static const struct entry *find_entry(const struct parse *p, size_t sec, const char *key)
{
	size_t i;

	for (i = 0; i < p->nents; i++) {
		if (p->ents[i].sec == sec && !strcmp(p->ents[i].name, key))
			return &p->ents[i];
	}
	return NULL;
}

/* The index into fault_kinds named by the section's 'kind', or -1. */
static int fault_kind_of(struct parse *p, size_t sec, const struct entry **kind)
{
	size_t i;

	*kind = find_entry(p, sec, "kind");
	if (!*kind)
		return fail(p, p->secs[sec].line,
			    "[fault] without 'kind' (expected kind = kill-on-start, kill-at, "
			    "kill-every, kill-all-at, pressure, kill-after-starts or kill-on-end)");
	for (i = 0; i < N_FAULT_KINDS; i++) {
		if (!strcmp((*kind)->value, fault_kinds[i].name))
			return (int)i;
	}
	return fail(p, (*kind)->line,
		    "unknown fault kind '%s' (expected kill-on-start, kill-at, kill-every, "
		    "kill-all-at, pressure, kill-after-starts, kill-on-end)",
		    (*kind)->value);
}

static int load_one_fault(struct parse *p, struct chaos_scenario *sc, size_t sec,
			  struct chaos_fault *f)
{
	const struct entry *kind = NULL;
	char where[64];
	size_t i, n;
	int k, r;

	k = fault_kind_of(p, sec, &kind);
	if (k < 0)
		return -EINVAL;
	chaos_fault_init(f, fault_kinds[k].kind, sc->seed);
	f->line = p->secs[sec].line;
	for (n = 0; fault_kinds[k].needed[n]; n++) {
		if (!find_entry(p, sec, fault_kinds[k].needed[n]))
			return fail(p, f->line, "fault %s needs '%s'", kind->value,
				    fault_kinds[k].needed[n]);
	}
	snprintf(where, sizeof(where), "for fault kind %s", kind->value);
	for (i = 0; i < p->nents; i++) {
		const struct entry *e = &p->ents[i];

		if (e->sec != sec)
			continue;
		if (match_key(p, e, where, fault_kinds[k].keys) < 0)
			return -EINVAL;
		r = apply_fault_key(p, e, f);
		if (r)
			return r;
	}
	if (f->kind == CHAOS_FAULT_PRESSURE)
		f->signo = 0;
	return 0;
}

static int load_faults(struct parse *p, struct chaos_scenario *sc)
{
	size_t i, n = 0;
	int r;

	for (i = 0; i < p->nsecs; i++) {
		if (p->secs[i].kind == SEC_FAULT)
			n++;
	}
	if (n > SC_MAX_FAULTS)
		return fail(p, 1, "%zu faults (expected at most %u)", n, SC_MAX_FAULTS);
	if (!n)
		return 0;
	sc->faults = calloc(n, sizeof(*sc->faults));
	if (!sc->faults)
		return -ENOMEM;
	for (i = 0; i < p->nsecs; i++) {
		if (p->secs[i].kind != SEC_FAULT)
			continue;
		r = load_one_fault(p, sc, i, &sc->faults[sc->nfaults]);
		if (r)
			return r;
		sc->nfaults++;
	}
	return 0;
}

static const char *const memory_keys[] = {"mode", "limit", NULL};
static const char *const mode_names[] = {"none", "per-worker", "whole-run"};

static int load_memory(struct parse *p, struct chaos_scenario *sc)
{
	char msg[CHAOS_VALUE_MSG_MAX];
	size_t i;
	int mode_set = 0, limit_line = 0, mode = 0, r;

	for (i = 0; i < p->nents; i++) {
		const struct entry *e = &p->ents[i];

		if (p->secs[e->sec].kind != SEC_MEMORY)
			continue;
		switch (match_key(p, e, "in [memory]", memory_keys)) {
		case 0:
			if (chaos_value_word(e->value, mode_names, 3, "memory mode", &mode, msg,
					     sizeof(msg)))
				return bad_value(p, e, msg);
			sc->mem_mode = (enum chaos_mem_mode)mode;
			mode_set = 1;
			break;
		case 1:
			r = get(p, e, &sc->mem_limit);
			if (r)
				return r;
			limit_line = e->line;
			break;
		default:
			return -EINVAL;
		}
	}
	for (i = 0; i < p->nsecs; i++) {
		if (p->secs[i].kind != SEC_MEMORY)
			continue;
		if (!mode_set)
			return fail(
			    p, p->secs[i].line,
			    "[memory] needs 'mode' (expected none, per-worker or whole-run)");
		if (sc->mem_mode != CHAOS_MEM_NONE && !limit_line)
			return fail(p, p->secs[i].line,
				    "[memory] mode %s needs 'limit' (e.g. limit = 64M)",
				    mode_names[sc->mem_mode]);
		if (sc->mem_mode == CHAOS_MEM_NONE && limit_line)
			return fail(
			    p, limit_line,
			    "limit given with mode = none (expected per-worker or whole-run)");
	}
	return 0;
}

/* The key order matches the CHAOS_EXPECT_* bit order. */
static const char *const expect_keys[] = {
    "hang-free",  "skip",	  "abort",	"retry",	  "killed-tasks", "oom",
    "no-leftovers", "no-orphans", "abort-within", "orphans-within", NULL};

static int load_expect(struct parse *p, struct chaos_scenario *sc, struct chaos_given *given)
{
	char msg[CHAOS_VALUE_MSG_MAX];
	size_t i;
	int k, b = 0, r;

	for (i = 0; i < p->nents; i++) {
		const struct entry *e = &p->ents[i];

		if (p->secs[e->sec].kind != SEC_EXPECT)
			continue;
		k = match_key(p, e, "in [expect]", expect_keys);
		if (k < 0)
			return -EINVAL;
		if (k == 8 || k == 9) {
			r = get32(p, e, k == 8 ? &sc->abort_within_ms : &sc->orphans_within_ms);
			if (r)
				return r;
			if (k == 8)
				given->abort_within = 1;
			else
				given->orphans_within = 1;
			continue;
		}
		if (chaos_value_bool(e->value, &b, msg, sizeof(msg)))
			return bad_value(p, e, msg);
		if (b)
			sc->expect |= 1u << k;
		else
			sc->expect &= ~(1u << k);
	}
	return 0;
}

/* The checks on one fault that need the rest of the scenario. */
static int validate_fault(const struct chaos_scenario *sc, size_t i, struct chaos_problem *pb)
{
	const struct chaos_fault *f = &sc->faults[i];

	pb->fault = i;
	pb->key = NULL;
	if ((f->kind == CHAOS_FAULT_ON_START || f->kind == CHAOS_FAULT_ON_END) &&
	    f->task >= sc->ntasks) {
		pb->key = "task";
		snprintf(pb->msg, sizeof(pb->msg),
			 "task id %u out of range (expected 0 to %u for tasks = %u)", f->task,
			 sc->ntasks - 1, sc->ntasks);
	} else if (f->kind == CHAOS_FAULT_AT_TIME && f->worker >= sc->workers) {
		pb->key = "worker";
		snprintf(pb->msg, sizeof(pb->msg),
			 "worker index %u out of range (expected 0 to %u for workers = %u)",
			 f->worker, sc->workers - 1, sc->workers);
	} else if (f->kind == CHAOS_FAULT_AT_TIME && f->worker && f->victim == CHAOS_VICTIM_MAIN) {
		pb->key = "worker";
		snprintf(pb->msg, sizeof(pb->msg), "worker only applies to victim = worker or any");
	} else if (f->cont_after_ms && f->signo != SIGSTOP) {
		pb->key = "cont-after";
		snprintf(pb->msg, sizeof(pb->msg), "cont-after only applies to signal = SIGSTOP");
	} else if (f->delay_ms >= sc->deadline_ms && f->kind != CHAOS_FAULT_ON_START &&
		   f->kind != CHAOS_FAULT_AFTER_STARTS && f->kind != CHAOS_FAULT_ON_END) {
		snprintf(pb->msg, sizeof(pb->msg),
			 "fault fires at %ums, not before the deadline %ums", f->delay_ms,
			 sc->deadline_ms);
	} else {
		return 0;
	}
	return -EINVAL;
}

/* Blame key with a message; always -EINVAL. */
static int problem(struct chaos_problem *pb, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int problem(struct chaos_problem *pb, const char *key, const char *fmt, ...)
{
	va_list ap;

	pb->key = key;
	pb->fault = SIZE_MAX;
	va_start(ap, fmt);
	vsnprintf(pb->msg, sizeof(pb->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* expect oom = yes needs a limit that some task or an inside pressure reaches. */
static int validate_oom(const struct chaos_scenario *sc, struct chaos_problem *pb)
{
	uint32_t id;
	size_t i;

	if (sc->mem_mode == CHAOS_MEM_NONE)
		return problem(pb, "oom",
			       "expect oom = yes without a memory limit (expected a [memory] "
			       "section)");
	for (id = 0; id < sc->ntasks; id++) {
		if (sc->tasks[id].alloc_bytes >= sc->mem_limit)
			return 0;
	}
	for (i = 0; i < sc->nfaults; i++) {
		if (sc->faults[i].kind == CHAOS_FAULT_PRESSURE && sc->faults[i].pressure_inside)
			return 0;
	}
	return problem(pb, "oom",
		       "expect oom = yes but no task allocates the memory limit or more "
		       "(expected alloc >= limit on some task)");
}

/* Does some fault SIGKILL the target's main process? */
static int kills_main(const struct chaos_scenario *sc)
{
	size_t i;

	for (i = 0; i < sc->nfaults; i++) {
		if (sc->faults[i].victim == CHAOS_VICTIM_MAIN && sc->faults[i].signo == SIGKILL &&
		    sc->faults[i].kind != CHAOS_FAULT_PRESSURE)
			return 1;
	}
	return 0;
}

int chaos_scenario_validate(const struct chaos_scenario *sc, const struct chaos_given *given,
			    struct chaos_problem *pb)
{
	/* Each of these expectations belongs to its policy (expect_keys order). */
	static const unsigned needs[] = {CHAOS_EXPECT_SKIP, CHAOS_EXPECT_ABORT, CHAOS_EXPECT_RETRY};
	int retry = !strcmp(sc->policy, "retry");
	size_t i;

	for (i = 0; i < sc->nfaults; i++) {
		if (validate_fault(sc, i, pb))
			return -EINVAL;
	}
	for (i = 0; i < 3; i++) {
		if ((sc->expect & needs[i]) && strcmp(sc->policy, policy_names[i]))
			return problem(
			    pb, expect_keys[i + 1],
			    "expect %s = yes contradicts policy = %s (expected policy = %s)",
			    policy_names[i], sc->policy, policy_names[i]);
	}
	if (given->retries && !retry)
		return problem(pb, "retries",
			       "retries only applies to policy = retry (policy is %s)", sc->policy);
	if (retry && sc->retries == 0)
		return problem(pb, given->retries ? "retries" : "policy",
			       "policy = retry with retries = 0 (expected retries of at least 1)");
	if (given->abort_within && !(sc->expect & CHAOS_EXPECT_ABORT))
		return problem(pb, "abort-within", "abort-within given without abort = yes");
	if (given->orphans_within && !(sc->expect & CHAOS_EXPECT_NO_ORPHANS))
		return problem(pb, "orphans-within", "orphans-within given without no-orphans = yes");
	if ((sc->expect & CHAOS_EXPECT_NO_ORPHANS) && !kills_main(sc))
		return problem(pb, "no-orphans",
			       "expect no-orphans = yes without a fault that kills the main process "
			       "(expected a fault with victim = main and signal = SIGKILL)");
	if (sc->task_timeout_ms && sc->task_timeout_ms >= sc->deadline_ms)
		return problem(pb, "task-timeout",
			       "task-timeout %ums is not shorter than the deadline %ums (a hang "
			       "could never end by the timeout)",
			       sc->task_timeout_ms, sc->deadline_ms);
	if (sc->expect & CHAOS_EXPECT_OOM)
		return validate_oom(sc, pb);
	return 0;
}

/* Report a validation problem at the line of the key it blames: in the
 * fault's own section, else in [scenario] or [expect]; the section's line
 * when the key was not written. */
static int file_problem(struct parse *p, const struct chaos_problem *pb)
{
	size_t i, nth = 0, sec = SIZE_MAX;
	const struct entry *e = NULL;

	for (i = 0; i < p->nsecs; i++) {
		if (pb->fault != SIZE_MAX ? p->secs[i].kind == SEC_FAULT && nth++ == pb->fault
					  : p->secs[i].kind == SEC_SCENARIO)
			sec = i;
	}
	for (i = 0; pb->key && i < p->nents && !e; i++) {
		const struct entry *c = &p->ents[i];
		enum sec_kind k = p->secs[c->sec].kind;

		if (strcmp(c->name, pb->key))
			continue;
		if (pb->fault != SIZE_MAX ? c->sec == sec : k == SEC_SCENARIO || k == SEC_EXPECT)
			e = c;
	}
	return fail(p, e ? e->line : sec != SIZE_MAX ? p->secs[sec].line : 1, "%s", pb->msg);
}

/* ---- public API --------------------------------------------------------- */

/* Allocate the task array and set every other field to its default. */
static int scenario_defaults(struct chaos_scenario *sc, uint32_t ntasks)
{
	uint32_t id;

	memset(sc, 0, sizeof(*sc));
	if (ntasks == 0 || ntasks > CHAOS_TASKS_MAX)
		return -EINVAL;
	sc->tasks = calloc(ntasks, sizeof(*sc->tasks));
	if (!sc->tasks)
		return -ENOMEM;
	for (id = 0; id < ntasks; id++) {
		sc->tasks[id].times = 1;
		sc->tasks[id].result = (int64_t)id * (int64_t)id;
	}
	sc->ntasks = ntasks;
	sc->workers = CHAOS_DEFAULT_WORKERS;
	strcpy(sc->policy, "skip");
	sc->retries = CHAOS_DEFAULT_RETRIES;
	sc->deadline_ms = CHAOS_DEFAULT_DEADLINE_MS;
	sc->startup_ms = CHAOS_DEFAULT_STARTUP_MS;
	sc->abort_within_ms = CHAOS_DEFAULT_ABORT_WITHIN_MS;
	sc->orphans_within_ms = CHAOS_DEFAULT_ORPHANS_WITHIN_MS;
	sc->expect = CHAOS_EXPECT_HANG_FREE | CHAOS_EXPECT_NO_LEFTOVERS;
	return 0;
}

void chaos_fault_init(struct chaos_fault *f, enum chaos_fault_kind kind, uint64_t seed)
{
	memset(f, 0, sizeof(*f));
	f->kind = kind;
	f->signo = SIGKILL;
	f->attempt = 1;
	f->seed = seed;
}

int chaos_scenario_init(struct chaos_scenario *sc, uint32_t ntasks)
{
	return scenario_defaults(sc, ntasks);
}

static void base_name(const char *path, char *out, size_t outlen)
{
	const char *b = strrchr(path, '/');
	size_t n;

	b = b ? b + 1 : path;
	n = strlen(b);
	if (n > 4 && !strcmp(b + n - 4, ".ini"))
		n -= 4;
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, b, n);
	out[n] = '\0';
}

int chaos_scenario_load(struct chaos_scenario *sc, const char *path, char *err, size_t errlen)
{
	struct parse p = {.path = path, .err = err, .errlen = errlen};
	struct chaos_given given;
	struct chaos_problem pb;
	char name[CHAOS_NAME_MAX];
	int r, syntax;
	size_t i;

	memset(sc, 0, sizeof(*sc));
	memset(&given, 0, sizeof(given));
	if (err && errlen)
		err[0] = '\0';
	p.f = fopen(path, "re");
	if (!p.f) {
		r = -errno;
		if (err && errlen)
			snprintf(err, errlen, "%s: cannot open: %s", path, strerror(-r));
		goto out;
	}
	syntax = ini_parse_stream(reader, &p, handler, &p);
	if (p.oom || syntax == -2) {
		r = -ENOMEM;
		if (err && errlen)
			snprintf(err, errlen, "%s: out of memory while parsing", path);
		goto out;
	}
	if (ferror(p.f)) {
		r = -EIO;
		if (err && errlen)
			snprintf(err, errlen, "%s: read error", path);
		goto out;
	}
	/* The first line that is wrong is reported: a NUL byte (the file is
	 * not text), an overlong line, or a syntax error, in that order when
	 * they are on the same line. */
	if (p.nul_line && (!p.overlong_line || p.nul_line <= p.overlong_line) &&
	    (syntax <= 0 || p.nul_line <= syntax)) {
		r = fail(&p, p.nul_line, "NUL byte (expected text)");
		goto out;
	}
	if (p.overlong_line && (syntax <= 0 || p.overlong_line <= syntax)) {
		r = fail(&p, p.overlong_line, "line longer than %d characters", ini_max_line - 2);
		goto out;
	}
	if (syntax > 0) {
		r = fail(&p, syntax,
			 "syntax error (expected '[section]', 'key = value' or a comment)");
		goto out;
	}
	r = classify_sections(&p);
	if (!r)
		r = check_entries(&p);
	if (r)
		goto out;

	/* The defaults hold 10 tasks; the array is sized again once [scenario]
	 * has said how many there are, and load_tasks() fills every entry. */
	r = scenario_defaults(sc, CHAOS_DEFAULT_TASKS);
	if (!r)
		r = load_scenario_section(&p, sc, &given);
	if (r)
		goto out;
	free(sc->tasks);
	sc->tasks = calloc(sc->ntasks, sizeof(*sc->tasks));
	if (!sc->tasks) {
		r = -ENOMEM;
		goto out;
	}
	snprintf(sc->path, sizeof(sc->path), "%s", path);
	if (!sc->name[0]) {
		base_name(path, name, sizeof(name));
		snprintf(sc->name, sizeof(sc->name), "%s", name);
	}
	r = load_tasks(&p, sc);
	if (!r)
		r = load_faults(&p, sc);
	if (!r)
		r = load_memory(&p, sc);
	if (!r)
		r = load_expect(&p, sc, &given);
	if (!r && chaos_scenario_validate(sc, &given, &pb))
		r = file_problem(&p, &pb);
out:
	if (p.f)
		fclose(p.f);
	for (i = 0; i < p.nents; i++) {
		free(p.ents[i].name);
		free(p.ents[i].value);
	}
	free(p.ents);
	free(p.secs);
	if (r) {
		if (r == -ENOMEM && err && errlen && !err[0])
			snprintf(err, errlen, "%s: out of memory", path);
		chaos_scenario_free(sc);
	}
	return r;
}

/* Does a kill-on-end fault wait for the end of task id? */
static int holds_end(const struct chaos_scenario *sc, uint32_t id)
{
	size_t i;

	for (i = 0; i < sc->nfaults; i++)
		if (sc->faults[i].kind == CHAOS_FAULT_ON_END && sc->faults[i].task == id)
			return 1;
	return 0;
}

/* Version 2 only when some task holds its end (hold=1), so that every
 * other scenario's file stays readable by a kit that knows version 1. */
int chaos_scenario_write_tasks(const struct chaos_scenario *sc, const char *path)
{
	FILE *f;
	uint32_t id;
	int r = 0, v2 = 0;

	if (!sc->tasks || sc->ntasks == 0)
		return -EINVAL;
	for (id = 0; id < sc->ntasks && !v2; id++)
		v2 = holds_end(sc, id);
	f = fopen(path, "we");
	if (!f)
		return -errno;
	if (fprintf(f, "chaos-tasks %d %u\n", v2 ? 2 : 1, sc->ntasks) < 0)
		r = -EIO;
	for (id = 0; id < sc->ntasks && !r; id++) {
		const struct chaos_task_spec *t = &sc->tasks[id];

		if (fprintf(f, "%u sleep=%u alloc=%llu action=%s code=%d times=%u result=%lld%s\n",
			    id, t->sleep_ms, (unsigned long long)t->alloc_bytes,
			    chaos_action_name(t->action), t->exit_code, t->times,
			    (long long)t->result, holds_end(sc, id) ? " hold=1" : "") < 0)
			r = -EIO;
	}
	if (fflush(f) != 0 && !r)
		r = -errno;
	if (fclose(f) != 0 && !r)
		r = -errno;
	return r;
}

void chaos_scenario_free(struct chaos_scenario *sc)
{
	if (!sc)
		return;
	free(sc->tasks);
	free(sc->faults);
	sc->tasks = NULL;
	sc->faults = NULL;
	sc->nfaults = 0;
}
