/* Scenario files: parsing (libinih), defaults, validation and the task spec
 * writer. The format is documented in scenarios/README.md.
 *
 * Parsing happens in two passes. The first pass lets libinih split the file
 * into (section, key, value) triples and records each with its line number
 * and the section instance it belongs to; the second pass interprets them in
 * a fixed order ([scenario] first, because task ids and worker indexes are
 * checked against it), so the order of sections in a file does not matter
 * and every error can still name the line it comes from.
 */
#include "check/scenario.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bounds that keep a scenario within what one machine can run. */
#define SC_MAX_WORKERS 1024u
#define SC_MAX_TASKS 100000u
#define SC_MAX_FAULTS 256u
#define SC_MAX_SECTIONS 4096u
#define SC_MAX_ENTRIES 65536u
#define SC_MAX_DEADLINE_MS (3600u * 1000u)
#define SC_DEFAULT_DEADLINE_MS 30000u
#define SC_DEFAULT_ABORT_WITHIN_MS 2000u
#define SC_DEFAULT_RETRIES 3u

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

/* ---- value parsers ------------------------------------------------------ */

/* Digits only: no sign, no blanks, no hex, so "10 tasks" or "-1" are errors. */
static int parse_u64_prefix(const char *s, uint64_t *v, const char **rest)
{
	uint64_t x = 0;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	while (isdigit((unsigned char)*s)) {
		unsigned d = (unsigned)(*s - '0');

		if (x > (UINT64_MAX - d) / 10)
			return -ERANGE;
		x = x * 10 + d;
		s++;
	}
	*v = x;
	*rest = s;
	return 0;
}

static int parse_u64(const char *s, uint64_t *v)
{
	const char *rest;
	int r = parse_u64_prefix(s, v, &rest);

	if (r == 0 && *rest)
		r = -EINVAL;
	return r;
}

static int parse_i64(const char *s, int64_t *v)
{
	uint64_t u;
	int neg = 0;
	int r;

	if (*s == '-') {
		neg = 1;
		s++;
	}
	r = parse_u64(s, &u);
	if (r)
		return r;
	if (neg) {
		if (u > (uint64_t)INT64_MAX + 1)
			return -ERANGE;
		*v = u == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)u;
	} else {
		if (u > (uint64_t)INT64_MAX)
			return -ERANGE;
		*v = (int64_t)u;
	}
	return 0;
}

/* A time needs a unit (ms or s) so that "deadline = 20" cannot silently mean
 * 20 ms; only 0 may go without one. */
static int parse_time_ms(const char *s, uint32_t *ms)
{
	uint64_t v, mul;
	const char *rest;
	int r = parse_u64_prefix(s, &v, &rest);

	if (r)
		return r;
	if (!strcmp(rest, "ms"))
		mul = 1;
	else if (!strcmp(rest, "s"))
		mul = 1000;
	else if (!*rest && v == 0)
		mul = 1;
	else
		return -EINVAL;
	if (v > UINT32_MAX / mul)
		return -ERANGE;
	*ms = (uint32_t)(v * mul);
	return 0;
}

/* Sizes in bytes with an optional binary suffix K, M or G. */
static int parse_size(const char *s, uint64_t *bytes)
{
	uint64_t v, mul;
	const char *rest;
	int r = parse_u64_prefix(s, &v, &rest);

	if (r)
		return r;
	if (!*rest)
		mul = 1;
	else if (!strcmp(rest, "K"))
		mul = 1ull << 10;
	else if (!strcmp(rest, "M"))
		mul = 1ull << 20;
	else if (!strcmp(rest, "G"))
		mul = 1ull << 30;
	else
		return -EINVAL;
	if (v > UINT64_MAX / mul)
		return -ERANGE;
	*bytes = v * mul;
	return 0;
}

static int parse_bool(const char *s, int *b)
{
	if (!strcmp(s, "yes") || !strcmp(s, "true") || !strcmp(s, "on") || !strcmp(s, "1")) {
		*b = 1;
		return 0;
	}
	if (!strcmp(s, "no") || !strcmp(s, "false") || !strcmp(s, "off") || !strcmp(s, "0")) {
		*b = 0;
		return 0;
	}
	return -EINVAL;
}

static const struct {
	const char *name;
	int signo;
} signals[] = {
    {"SIGKILL", SIGKILL}, {"SIGSTOP", SIGSTOP}, {"SIGCONT", SIGCONT},
    {"SIGTERM", SIGTERM}, {"SIGSEGV", SIGSEGV},
};

static int parse_signal(const char *s, int *signo)
{
	size_t i;

	for (i = 0; i < sizeof(signals) / sizeof(signals[0]); i++) {
		if (!strcasecmp(s, signals[i].name) || !strcasecmp(s, signals[i].name + 3)) {
			*signo = signals[i].signo;
			return 0;
		}
	}
	return -EINVAL;
}

/* Helpers that parse one entry and report a uniform message on failure. */
static int get_u32(struct parse *p, const struct entry *e, uint32_t lo, uint32_t hi, uint32_t *out)
{
	uint64_t v;
	int r = parse_u64(e->value, &v);

	if (r == -EINVAL)
		return fail(p, e->line, "bad number '%s' for '%s' (expected a whole number)",
			    e->value, e->name);
	if (r || v < lo || v > hi)
		return fail(p, e->line, "%s = %s is out of range (expected %u to %u)", e->name,
			    e->value, lo, hi);
	*out = (uint32_t)v;
	return 0;
}

static int get_u64(struct parse *p, const struct entry *e, uint64_t *out)
{
	int r = parse_u64(e->value, out);

	if (r == -EINVAL)
		return fail(p, e->line, "bad number '%s' for '%s' (expected a whole number)",
			    e->value, e->name);
	if (r)
		return fail(p, e->line, "%s = %s is too large", e->name, e->value);
	return 0;
}

static int get_time(struct parse *p, const struct entry *e, uint32_t *out)
{
	int r = parse_time_ms(e->value, out);

	if (r == -EINVAL)
		return fail(
		    p, e->line,
		    "bad time '%s' for '%s' (expected a number with ms or s, e.g. 50ms or 2s)",
		    e->value, e->name);
	if (r)
		return fail(p, e->line, "time '%s' for '%s' is too large", e->value, e->name);
	return 0;
}

static int get_size(struct parse *p, const struct entry *e, uint64_t *out)
{
	int r = parse_size(e->value, out);

	if (r == -EINVAL)
		return fail(
		    p, e->line,
		    "bad size '%s' for '%s' (expected bytes or a number with K, M or G, e.g. 64M)",
		    e->value, e->name);
	if (r)
		return fail(p, e->line, "size '%s' for '%s' is too large", e->value, e->name);
	return 0;
}

static int get_bool(struct parse *p, const struct entry *e, int *out)
{
	if (parse_bool(e->value, out))
		return fail(p, e->line, "bad value '%s' for '%s' (expected yes or no)", e->value,
			    e->name);
	return 0;
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

			if (parse_u64(s->name + 5, &id) || id > UINT32_MAX)
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

struct sc_state {
	int retries_set;
	int retries_line;
	int policy_line;
	int abort_within_set;
	int abort_within_line;
	int timeout_line;
	int expect_line[8]; /* line of each expect key, by bit index */
	int mem_line;
};

static const char *const scenario_keys[] = {"name",   "description", "workers",	     "tasks",
					    "policy", "retries",     "task-timeout", "deadline",
					    "seed",   NULL};

static int load_scenario_section(struct parse *p, struct chaos_scenario *sc, struct sc_state *st)
{
	size_t i, s;
	int have = 0;

	for (s = 0; s < p->nsecs; s++) {
		if (p->secs[s].kind == SEC_SCENARIO)
			have = 1;
	}
	if (!have)
		return fail(p, 1,
			    "missing [scenario] section (expected at least workers and tasks)");
	for (i = 0; i < p->nents; i++) {
		const struct entry *e = &p->ents[i];
		int k, r = 0;

		if (p->secs[e->sec].kind != SEC_SCENARIO)
			continue;
		k = match_key(p, e, "in [scenario]", scenario_keys);
		switch (k) {
		case 0:
			if (strlen(e->value) >= sizeof(sc->name) || !valid_name(e->value))
				return fail(p, e->line,
					    "bad name '%s' (expected 1 to %zu letters, digits, "
					    "'-', '_' or '.')",
					    e->value, sizeof(sc->name) - 1);
			strcpy(sc->name, e->value);
			break;
		case 1:
			if (strlen(e->value) >= sizeof(sc->description))
				return fail(p, e->line, "description is longer than %zu characters",
					    sizeof(sc->description) - 1);
			strcpy(sc->description, e->value);
			break;
		case 2:
			r = get_u32(p, e, 0, SC_MAX_WORKERS, &sc->workers);
			if (!r && sc->workers == 0)
				return fail(p, e->line, "workers = 0 (expected at least 1 worker)");
			break;
		case 3:
			r = get_u32(p, e, 0, SC_MAX_TASKS, &sc->ntasks);
			if (!r && sc->ntasks == 0)
				return fail(p, e->line, "tasks = 0 (expected at least 1 task)");
			break;
		case 4:
			if (strcmp(e->value, "skip") && strcmp(e->value, "abort") &&
			    strcmp(e->value, "retry"))
				return fail(p, e->line,
					    "unknown policy '%s' (expected skip, abort or retry)",
					    e->value);
			strcpy(sc->policy, e->value);
			st->policy_line = e->line;
			break;
		case 5:
			r = get_u32(p, e, 0, 1000, &sc->retries);
			st->retries_set = 1;
			st->retries_line = e->line;
			break;
		case 6:
			r = get_time(p, e, &sc->task_timeout_ms);
			st->timeout_line = e->line;
			break;
		case 7:
			r = get_time(p, e, &sc->deadline_ms);
			if (!r && (sc->deadline_ms == 0 || sc->deadline_ms > SC_MAX_DEADLINE_MS))
				return fail(p, e->line,
					    "deadline = %s is out of range (expected 1ms to 3600s)",
					    e->value);
			break;
		case 8:
			r = get_u64(p, e, &sc->seed);
			break;
		default:
			return -EINVAL;
		}
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
	char where[80];
	uint64_t u;
	int64_t v;
	int k;
	size_t a;

	snprintf(where, sizeof(where), "in [%s]", secname);
	k = match_key(p, e, where, task_keys);

	switch (k) {
	case 0:
		return get_time(p, e, &t->sleep_ms);
	case 1:
		return get_size(p, e, &t->alloc_bytes);
	case 2:
		for (a = 0; a < sizeof(action_names) / sizeof(action_names[0]); a++) {
			if (!strcmp(e->value, action_names[a])) {
				t->action = (enum chaos_action)a;
				return 0;
			}
		}
		return fail(p, e->line,
			    "unknown action '%s' (expected ok, exit, fail, hang, selfkill or segv)",
			    e->value);
	case 3:
		if (parse_u64(e->value, &u) || u > 255)
			return fail(p, e->line, "bad exit code '%s' (expected 0 to 255)", e->value);
		t->exit_code = (int)u;
		*code_set = 1;
		return 0;
	case 4:
		return get_u32(p, e, 0, 1000, &t->times);
	case 5:
		if (parse_i64(e->value, &v))
			return fail(p, e->line,
				    "bad result '%s' (expected a signed 64-bit integer)", e->value);
		t->result = v;
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
	const char *const keys[12];  /* keys allowed for this kind */
	const char *const needed[4]; /* keys it cannot do without */
} fault_kinds[] = {
    {"kill-on-start",
     CHAOS_FAULT_ON_START,
     {"kind", "signal", "task", "attempt", "delay", "cont-after", NULL},
     {"task", NULL}},
    {"kill-at",
     CHAOS_FAULT_AT_TIME,
     {"kind", "signal", "worker", "at", "cont-after", NULL},
     {"at", NULL}},
    {"kill-every",
     CHAOS_FAULT_EVERY,
     {"kind", "signal", "interval", "jitter", "count", "seed", "at", "cont-after", NULL},
     {"interval", "count", NULL}},
    {"kill-all-at", CHAOS_FAULT_ALL_AT, {"kind", "signal", "at", "cont-after", NULL}, {"at", NULL}},
    {"pressure",
     CHAOS_FAULT_PRESSURE,
     {"kind", "bytes", "duration", "where", "at", NULL},
     {"bytes", "duration", NULL}},
};
#define N_FAULT_KINDS (sizeof(fault_kinds) / sizeof(fault_kinds[0]))

static int load_one_fault(struct parse *p, struct chaos_scenario *sc, size_t sec,
			  struct chaos_fault *f)
{
	const struct entry *kind = NULL;
	size_t i, k = N_FAULT_KINDS, n;
	int cont_line = 0, r;

	memset(f, 0, sizeof(*f));
	f->line = p->secs[sec].line;
	f->signo = SIGKILL;
	f->attempt = 1;
	f->seed = sc->seed;
	for (i = 0; i < p->nents; i++) {
		if (p->ents[i].sec == sec && !strcmp(p->ents[i].name, "kind"))
			kind = &p->ents[i];
	}
	if (!kind)
		return fail(p, f->line,
			    "[fault] without 'kind' (expected kind = kill-on-start, kill-at, "
			    "kill-every, kill-all-at or pressure)");
	for (i = 0; i < N_FAULT_KINDS; i++) {
		if (!strcmp(kind->value, fault_kinds[i].name))
			k = i;
	}
	if (k == N_FAULT_KINDS)
		return fail(p, kind->line,
			    "unknown fault kind '%s' (expected kill-on-start, kill-at, kill-every, "
			    "kill-all-at, pressure)",
			    kind->value);
	f->kind = fault_kinds[k].kind;
	for (n = 0; fault_kinds[k].needed[n]; n++) {
		int found = 0;

		for (i = 0; i < p->nents; i++) {
			if (p->ents[i].sec == sec &&
			    !strcmp(p->ents[i].name, fault_kinds[k].needed[n]))
				found = 1;
		}
		if (!found)
			return fail(p, f->line, "fault %s needs '%s'", kind->value,
				    fault_kinds[k].needed[n]);
	}
	for (i = 0; i < p->nents; i++) {
		const struct entry *e = &p->ents[i];
		char where[64];

		if (e->sec != sec)
			continue;
		snprintf(where, sizeof(where), "for fault kind %s", kind->value);
		if (match_key(p, e, where, fault_kinds[k].keys) < 0)
			return -EINVAL;
		r = 0;
		if (!strcmp(e->name, "kind")) {
			continue;
		} else if (!strcmp(e->name, "signal")) {
			if (parse_signal(e->value, &f->signo))
				return fail(p, e->line,
					    "unknown signal '%s' (expected SIGKILL, SIGSTOP, "
					    "SIGCONT, SIGTERM or SIGSEGV)",
					    e->value);
		} else if (!strcmp(e->name, "task")) {
			r = get_u32(p, e, 0, UINT32_MAX, &f->task);
			if (!r && f->task >= sc->ntasks)
				return fail(
				    p, e->line,
				    "task id %u out of range (expected 0 to %u for tasks = %u)",
				    f->task, sc->ntasks - 1, sc->ntasks);
		} else if (!strcmp(e->name, "attempt")) {
			r = get_u32(p, e, 0, 1000, &f->attempt);
		} else if (!strcmp(e->name, "delay") || !strcmp(e->name, "at")) {
			r = get_time(p, e, &f->delay_ms);
		} else if (!strcmp(e->name, "worker")) {
			r = get_u32(p, e, 0, UINT32_MAX, &f->worker);
			if (!r && f->worker >= sc->workers)
				return fail(p, e->line,
					    "worker index %u out of range (expected 0 to %u for "
					    "workers = %u)",
					    f->worker, sc->workers - 1, sc->workers);
		} else if (!strcmp(e->name, "interval")) {
			r = get_time(p, e, &f->interval_ms);
			if (!r && f->interval_ms == 0)
				return fail(p, e->line, "interval = 0 (expected at least 1ms)");
		} else if (!strcmp(e->name, "jitter")) {
			r = get_time(p, e, &f->jitter_ms);
		} else if (!strcmp(e->name, "count")) {
			r = get_u32(p, e, 1, 100000, &f->count);
		} else if (!strcmp(e->name, "seed")) {
			r = get_u64(p, e, &f->seed);
		} else if (!strcmp(e->name, "cont-after")) {
			r = get_time(p, e, &f->cont_after_ms);
			cont_line = e->line;
		} else if (!strcmp(e->name, "bytes")) {
			r = get_size(p, e, &f->bytes);
			if (!r && f->bytes == 0)
				return fail(
				    p, e->line,
				    "bytes = 0 (expected the memory stress-ng holds, e.g. 256M)");
		} else if (!strcmp(e->name, "duration")) {
			r = get_time(p, e, &f->duration_ms);
			if (!r && f->duration_ms == 0)
				return fail(p, e->line, "duration = 0 (expected e.g. 500ms)");
		} else if (!strcmp(e->name, "where")) {
			if (!strcmp(e->value, "inside"))
				f->pressure_inside = 1;
			else if (!strcmp(e->value, "beside"))
				f->pressure_inside = 0;
			else
				return fail(p, e->line,
					    "bad where '%s' (expected inside or beside)", e->value);
		}
		if (r)
			return r;
	}
	if (cont_line && f->signo != SIGSTOP)
		return fail(p, cont_line, "cont-after only applies to signal = SIGSTOP");
	if (f->kind == CHAOS_FAULT_PRESSURE)
		f->signo = 0;
	if (f->delay_ms >= sc->deadline_ms && f->kind != CHAOS_FAULT_ON_START)
		return fail(p, f->line, "fault fires at %ums, not before the deadline %ums",
			    f->delay_ms, sc->deadline_ms);
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

static int load_memory(struct parse *p, struct chaos_scenario *sc, struct sc_state *st)
{
	size_t i;
	int mode_set = 0, limit_line = 0, r;

	for (i = 0; i < p->nents; i++) {
		const struct entry *e = &p->ents[i];

		if (p->secs[e->sec].kind != SEC_MEMORY)
			continue;
		st->mem_line = p->secs[e->sec].line;
		switch (match_key(p, e, "in [memory]", memory_keys)) {
		case 0:
			if (!strcmp(e->value, "none"))
				sc->mem_mode = CHAOS_MEM_NONE;
			else if (!strcmp(e->value, "per-worker"))
				sc->mem_mode = CHAOS_MEM_PER_WORKER;
			else if (!strcmp(e->value, "whole-run"))
				sc->mem_mode = CHAOS_MEM_WHOLE_RUN;
			else
				return fail(p, e->line,
					    "unknown memory mode '%s' (expected none, per-worker "
					    "or whole-run)",
					    e->value);
			mode_set = 1;
			break;
		case 1:
			r = get_size(p, e, &sc->mem_limit);
			if (r)
				return r;
			/* Below a few MiB the kernel kills the worker before it
			 * even runs the task, which tests nothing. */
			if (sc->mem_limit < (4ull << 20))
				return fail(p, e->line,
					    "limit = %s is too small (expected at least 4M)",
					    e->value);
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
			return fail(
			    p, p->secs[i].line, "[memory] mode %s needs 'limit' (e.g. limit = 64M)",
			    sc->mem_mode == CHAOS_MEM_PER_WORKER ? "per-worker" : "whole-run");
		if (sc->mem_mode == CHAOS_MEM_NONE && limit_line)
			return fail(
			    p, limit_line,
			    "limit given with mode = none (expected per-worker or whole-run)");
	}
	return 0;
}

static const char *const expect_keys[] = {"hang-free",	  "skip",	  "abort",
					  "retry",	  "killed-tasks", "oom",
					  "no-leftovers", "abort-within", NULL};

static int load_expect(struct parse *p, struct chaos_scenario *sc, struct sc_state *st)
{
	size_t i;
	int k, b = 0, r;

	for (i = 0; i < p->nents; i++) {
		const struct entry *e = &p->ents[i];

		if (p->secs[e->sec].kind != SEC_EXPECT)
			continue;
		k = match_key(p, e, "in [expect]", expect_keys);
		if (k < 0)
			return -EINVAL;
		if (k == 7) {
			r = get_time(p, e, &sc->abort_within_ms);
			if (r)
				return r;
			if (sc->abort_within_ms == 0)
				return fail(p, e->line, "abort-within = 0 (expected e.g. 2000ms)");
			st->abort_within_set = 1;
			st->abort_within_line = e->line;
			continue;
		}
		r = get_bool(p, e, &b);
		if (r)
			return r;
		/* The key order matches the CHAOS_EXPECT_* bit order. */
		if (b)
			sc->expect |= 1u << k;
		else
			sc->expect &= ~(1u << k);
		st->expect_line[k] = e->line;
	}
	return 0;
}

/* Settings that parse one by one but cannot hold together. */
static int cross_check(struct parse *p, struct chaos_scenario *sc, const struct sc_state *st)
{
	static const struct {
		unsigned bit;
		int idx;
		const char *policy;
	} needs[] = {
	    {CHAOS_EXPECT_SKIP, 1, "skip"},
	    {CHAOS_EXPECT_ABORT, 2, "abort"},
	    {CHAOS_EXPECT_RETRY, 3, "retry"},
	};
	size_t i;
	uint32_t id;

	for (i = 0; i < sizeof(needs) / sizeof(needs[0]); i++) {
		if ((sc->expect & needs[i].bit) && strcmp(sc->policy, needs[i].policy))
			return fail(
			    p, st->expect_line[needs[i].idx],
			    "expect %s = yes contradicts policy = %s (expected policy = %s)",
			    needs[i].policy, sc->policy, needs[i].policy);
	}
	if (st->retries_set && strcmp(sc->policy, "retry"))
		return fail(p, st->retries_line,
			    "retries only applies to policy = retry (policy is %s)", sc->policy);
	if (!strcmp(sc->policy, "retry") && sc->retries == 0)
		return fail(p, st->retries_line ? st->retries_line : st->policy_line,
			    "policy = retry with retries = 0 (expected retries of at least 1)");
	if (st->abort_within_set && !(sc->expect & CHAOS_EXPECT_ABORT))
		return fail(p, st->abort_within_line, "abort-within given without abort = yes");
	if (sc->task_timeout_ms && sc->task_timeout_ms >= sc->deadline_ms)
		return fail(p, st->timeout_line,
			    "task-timeout %ums is not shorter than the deadline %ums (a hang could "
			    "never end by the timeout)",
			    sc->task_timeout_ms, sc->deadline_ms);
	if (sc->expect & CHAOS_EXPECT_OOM) {
		int meant = 0;

		if (sc->mem_mode == CHAOS_MEM_NONE)
			return fail(p, st->expect_line[5],
				    "expect oom = yes without a memory limit (expected a [memory] "
				    "section)");
		for (id = 0; id < sc->ntasks; id++) {
			if (sc->tasks[id].alloc_bytes >= sc->mem_limit)
				meant = 1;
		}
		for (i = 0; i < sc->nfaults; i++) {
			if (sc->faults[i].kind == CHAOS_FAULT_PRESSURE &&
			    sc->faults[i].pressure_inside)
				meant = 1;
		}
		if (!meant)
			return fail(p, st->expect_line[5],
				    "expect oom = yes but no task allocates the memory limit or "
				    "more (expected alloc >= limit on some task)");
	}
	return 0;
}

/* ---- public API --------------------------------------------------------- */

/* Allocate the task array and set every other field to its default. */
static int scenario_defaults(struct chaos_scenario *sc, uint32_t ntasks)
{
	uint32_t id;

	memset(sc, 0, sizeof(*sc));
	if (ntasks == 0 || ntasks > SC_MAX_TASKS)
		return -EINVAL;
	sc->tasks = calloc(ntasks, sizeof(*sc->tasks));
	if (!sc->tasks)
		return -ENOMEM;
	for (id = 0; id < ntasks; id++) {
		sc->tasks[id].times = 1;
		sc->tasks[id].result = (int64_t)id * (int64_t)id;
	}
	sc->ntasks = ntasks;
	sc->workers = 2;
	strcpy(sc->policy, "skip");
	sc->retries = SC_DEFAULT_RETRIES;
	sc->deadline_ms = SC_DEFAULT_DEADLINE_MS;
	sc->abort_within_ms = SC_DEFAULT_ABORT_WITHIN_MS;
	sc->expect = CHAOS_EXPECT_HANG_FREE | CHAOS_EXPECT_NO_LEFTOVERS;
	return 0;
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
	struct sc_state st;
	char name[CHAOS_NAME_MAX];
	int r, syntax;
	size_t i;

	memset(sc, 0, sizeof(*sc));
	memset(&st, 0, sizeof(st));
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
	r = scenario_defaults(sc, 10);
	if (!r)
		r = load_scenario_section(&p, sc, &st);
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
		r = load_memory(&p, sc, &st);
	if (!r)
		r = load_expect(&p, sc, &st);
	if (!r)
		r = cross_check(&p, sc, &st);
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

int chaos_scenario_write_tasks(const struct chaos_scenario *sc, const char *path)
{
	FILE *f;
	uint32_t id;
	int r = 0;

	if (!sc->tasks || sc->ntasks == 0)
		return -EINVAL;
	f = fopen(path, "we");
	if (!f)
		return -errno;
	if (fprintf(f, "chaos-tasks 1 %u\n", sc->ntasks) < 0)
		r = -EIO;
	for (id = 0; id < sc->ntasks && !r; id++) {
		const struct chaos_task_spec *t = &sc->tasks[id];

		if (fprintf(f, "%u sleep=%u alloc=%llu action=%s code=%d times=%u result=%lld\n",
			    id, t->sleep_ms, (unsigned long long)t->alloc_bytes,
			    chaos_action_name(t->action), t->exit_code, t->times,
			    (long long)t->result) < 0)
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
