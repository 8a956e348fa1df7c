/* The history: the writer (one valid JSON object per line, written as it
 * happens, still readable after the writer is SIGKILLed, every event of
 * the schema written by its typed function and matching the schema), the
 * one reader (what it tolerates, what it refuses, its typed access), and
 * the schema against its documentation in docs/protocol.md section 3. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "check/history_read.h"
#include "check/history_schema.h"
#include "engine/history.h"
#include "util/testutil.h"

static char path[256];

/* Lines that are JSON objects with a float `t` and a string `ev`, read by
 * the history reader; *bad counts the others. The events of these tests
 * need not match the schema: only the writer's lines are under test. */
static size_t count_valid_lines(const char *p, int *bad, long long *last_seq)
{
	struct chaos_hread_stats st;
	struct chaos_hread *rd;
	struct chaos_hevent e;
	size_t n = 0;

	*bad = 0;
	assert_int_equal(chaos_hread_open(p, &rd), 0);
	while (chaos_hread_next(rd, &e) == 1) {
		if (!json_is_real(chaos_hev_get(&e, CHAOS_HF_T)) ||
		    !chaos_hev_str(&e, CHAOS_HF_EV, NULL)) {
			(*bad)++;
			continue;
		}
		n++;
		if (last_seq)
			*last_seq = json_integer_value(json_object_get(e.o, "seq"));
	}
	/* A writer SIGKILLed inside write() may leave a torn last line: the
	 * kernel stops a file write between pages on a fatal signal (seen on
	 * 6.18 about once in ten runs). The protocol allows it (valid up to
	 * the last complete line); the reader counts it as truncated, and a
	 * torn line anywhere else as a bad line. */
	chaos_hread_stats(rd, &st);
	*bad += (int)st.bad_lines;
	chaos_hread_close(rd);
	return n;
}

static void test_lines_valid_and_ordered(void **state)
{
	struct chaos_hist *h;
	struct timespec t0;
	char line[512];
	FILE *f;
	json_t *o;
	int bad;

	(void)state;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(chaos_hist_open(path, &t0, &h), 0);
	assert_int_equal(chaos_hist_emit(h, "run", json_pack("{s:i,s:s}", "version", 1, "name",
							     "x\"y\n\\z")),
			 0);
	assert_int_equal(chaos_hist_emit(h, "teardown", NULL), 0);
	/* Readable before close: each line is on disk when emit returns. */
	assert_int_equal(count_valid_lines(path, &bad, NULL), 2);
	assert_int_equal(bad, 0);
	chaos_hist_close(h);

	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	/* "t" and "ev" lead every line. */
	assert_int_equal(strncmp(line, "{\"t\":", 5), 0);
	assert_non_null(strstr(line, ",\"ev\":\"run\","));
	o = json_loads(line, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(o, "name")), "x\"y\n\\z");
	assert_true(json_real_value(json_object_get(o, "t")) >= 0.0);
	json_decref(o);
}

static void test_open_error(void **state)
{
	struct chaos_hist *h = (struct chaos_hist *)1;
	struct timespec t0 = {0, 0};

	(void)state;
	assert_int_equal(chaos_hist_open("/nonexistent-dir/h.jsonl", &t0, &h), -ENOENT);
	assert_null(h);
	assert_int_equal(chaos_hist_emit(NULL, "x", json_object()), -EBADF);
}

/* A writer killed mid-stream leaves only complete, valid lines. */
static void test_survives_sigkill(void **state)
{
	int pfd[2], status, bad = 0;
	long long last = -1;
	size_t n;
	pid_t pid;
	char c;

	(void)state;
	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct chaos_hist *h;
		struct timespec t0;
		long long i;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		/* This child only ends by SIGKILL (or on a setup error, which
		 * the parent sees as a short history). */
		if (chaos_hist_open(path, &t0, &h))
			_exit(1);
		for (i = 0;; i++) {
			chaos_hist_emit(h, "outcome",
					json_pack("{s:I,s:s}", "seq", (json_int_t)i, "line",
						  "result 1 1 padding padding padding padding"));
			if (i == 1000 && write(pfd[1], "r", 1) != 1)
				_exit(1);
		}
	}
	close(pfd[1]);
	/* Kill it while it writes: after at least 1000 lines. */
	assert_int_equal(read(pfd[0], &c, 1), 1);
	close(pfd[0]);
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	n = count_valid_lines(path, &bad, &last);
	assert_true(n > 1000);
	assert_int_equal(bad, 0);
	assert_int_equal(last, (long long)n - 1); /* nothing lost in the middle */
}

/* ---- the schema and its documentation ----------------------------------------- */

/* The documented field rows of section 3: "| `ev` | `field` | type | ..."
 * with the event cell empty for further fields of the same event and
 * "every event" for the fields of all. */
struct doc_row {
	char ev[32], field[32], type[48];
};

static size_t cell(const char *p, char *out, size_t cap)
{
	size_t n = strcspn(p, "|");
	const char *e = p + n;

	while (p < e && *p == ' ')
		p++;
	while (e > p && e[-1] == ' ')
		e--;
	if (e - p >= 2 && *p == '`' && e[-1] == '`') {
		p++;
		e--;
	}
	snprintf(out, cap, "%.*s", (int)(e - p), p);
	return n;
}

static size_t read_doc_rows(struct doc_row *rows, size_t max)
{
	char dir[4096], root[4096], docpath[4200], line[2048], ev[32] = "";
	size_t n = 0;
	int in3 = 0;
	FILE *f;

	assert_int_equal(tu_exe_dir(dir, sizeof(dir)), 0);
	assert_int_equal(tu_find_up(dir, "docs/protocol.md", root, sizeof(root)), 0);
	snprintf(docpath, sizeof(docpath), "%s/docs/protocol.md", root);
	f = fopen(docpath, "re");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		struct doc_row *r = &rows[n];
		const char *p = line + 1;

		if (!strncmp(line, "## ", 3))
			in3 = !strncmp(line, "## 3.", 5);
		if (!in3 || strncmp(line, "| ", 2) || !strstr(line, "| `"))
			continue;
		p += cell(p, r->ev, sizeof(r->ev)) + 1;
		if (!strcmp(r->ev, "ev"))
			continue; /* the header */
		if (r->ev[0])
			snprintf(ev, sizeof(ev), "%s", r->ev);
		snprintf(r->ev, sizeof(r->ev), "%s", ev);
		p += cell(p, r->field, sizeof(r->field)) + 1;
		cell(p, r->type, sizeof(r->type));
		assert_true(++n < max);
	}
	fclose(f);
	return n;
}

/* Does the documentation have this event's field with these types? */
static int documented(const struct doc_row *rows, size_t n, const char *ev,
		      const struct chaos_hfield_spec *fs)
{
	char types[48];

	chaos_htype_text(fs->types, types, sizeof(types));
	for (size_t i = 0; i < n; i++)
		if (!strcmp(rows[i].ev, ev) && !strcmp(rows[i].field, chaos_hf_name(fs->field))) {
			if (strcmp(rows[i].type, types))
				fail_msg("docs: %s.%s is '%s', the schema says '%s'", ev,
					 rows[i].field, rows[i].type, types);
			return 1;
		}
	return 0;
}

/* The schema's field of ev named field, or NULL. */
static const struct chaos_hfield_spec *schema_field(const char *ev, const char *field)
{
	const struct chaos_hev_spec *spec =
	    !strcmp(ev, "every event")
		? &chaos_hist_common
		: &chaos_hist_events[chaos_hev_lookup(ev) % CHAOS_HEV__COUNT];

	if (strcmp(ev, "every event") && chaos_hev_lookup(ev) == CHAOS_HEV__COUNT)
		return NULL;
	for (unsigned i = 0; i < spec->nfields; i++)
		if (!strcmp(chaos_hf_name(spec->fields[i].field), field))
			return &spec->fields[i];
	return NULL;
}

/* Every event and field of the schema is in the table of docs/protocol.md
 * with the same type, in the same order, and the table has nothing else. */
static void test_schema_matches_doc(void **state)
{
	static struct doc_row rows[256];
	size_t n = read_doc_rows(rows, 256), k = 0;

	(void)state;
	for (unsigned i = 0; i < chaos_hist_common.nfields; i++, k++) {
		assert_true(documented(rows, n, "every event", &chaos_hist_common.fields[i]));
		assert_string_equal(rows[k].field,
				    chaos_hf_name(chaos_hist_common.fields[i].field));
	}
	for (unsigned e = 0; e < CHAOS_HEV__COUNT; e++) {
		const struct chaos_hev_spec *spec = &chaos_hist_events[e];

		assert_non_null(spec->name);
		assert_int_equal(chaos_hev_lookup(spec->name), e);
		/* nfields counts exactly the entries the table fills in. */
		for (unsigned i = 0; i < CHAOS_HEV_MAX_FIELDS; i++)
			assert_int_equal(spec->fields[i].types != 0, i < spec->nfields);
		for (unsigned i = 0; i < spec->nfields; i++, k++) {
			if (!documented(rows, n, spec->name, &spec->fields[i]))
				fail_msg("docs/protocol.md lacks %s.%s", spec->name,
					 chaos_hf_name(spec->fields[i].field));
			assert_true(k < n);
			assert_string_equal(rows[k].ev, spec->name);
			assert_string_equal(rows[k].field, chaos_hf_name(spec->fields[i].field));
		}
	}
	for (size_t i = 0; i < n; i++)
		if (!schema_field(rows[i].ev, rows[i].field))
			fail_msg("docs/protocol.md has %s.%s, the schema does not", rows[i].ev,
				 rows[i].field);
	assert_int_equal(k, n);
}

/* ---- the typed writers ---------------------------------------------------------- */

/* Every event of the schema once (some twice, in their other form), each
 * by its typed function. Returns how many were written. */
static unsigned write_every_event(struct chaos_hist *h)
{
	char *argv[] = {"pool", "--x", NULL};
	struct chaos_procinfo pi = {.pid = 12,
				    .ppid = 11,
				    .comm = "w\xff",
				    .state = 'S',
				    .wchan = "do_wait",
				    .stack = NULL};
	json_t *unfinished = json_pack("[i,i]", 3, 4);
	unsigned n = 0;

	n += !chaos_hist_run(h, &(struct chaos_hist_run){.name = "s",
							 .target = NULL,
							 .argv = argv,
							 .backend = "v1",
							 .cgroup = NULL,
							 .mem_mode = "none",
							 .deadline_ms = 1000,
							 .policy = "skip"});
	n += !chaos_hist_spawn(h, 10);
	n += !chaos_hist_worker(h, 12, 0, "/cg/w0", "kit");
	n += !chaos_hist_start(h, 3, 1, 12);
	n += !chaos_hist_end(h, 3, 1, 12, -9);
	n += !chaos_hist_fail(h, 4, 1, 12, "bad\0text", 8);
	n += !chaos_hist_fault(h, &(struct chaos_hist_fault){
				      .kind = "at-time", .error = "no such worker", .task = -1});
	n += !chaos_hist_fault(h, &(struct chaos_hist_fault){.kind = "on-start",
							     .signal = "SIGKILL",
							     .rule = "kit",
							     .pid = 12,
							     .task = 4,
							     .ok = 1});
	n += !chaos_hist_death(h, &(struct chaos_hist_death){.pid = 12,
							     .task = 4,
							     .attempt = 1,
							     .how = "signal",
							     .signal = "SIGKILL",
							     .code = -1,
							     .oom = 1,
							     .oom_kill = 2});
	n += !chaos_hist_death(
	    h, &(struct chaos_hist_death){
		   .pid = 13, .task = -1, .how = "unknown", .code = -1, .oom = -1, .oom_kill = -1});
	n += !chaos_hist_oom(h, "/cg/w0", 2);
	n += !chaos_hist_event_error(h, "oops", 0);
	n += !chaos_hist_outcome(h, "result 3 9", 10, 1);
	n += !chaos_hist_protocol_error(h, 2, "hello", 5, "not an outcome line");
	n += !chaos_hist_target_exit(h, "SIGSEGV", 0);
	n += !chaos_hist_target_exit(h, NULL, 3);
	n += !chaos_hist_deadline(h, 1000);
	n += !chaos_hist_diag(h, &pi, unfinished);
	n += !chaos_hist_diag(h, NULL, unfinished);
	n += !chaos_hist_leftover(h, 14, "sleep");
	n += !chaos_hist_teardown(h, 2, 1, NULL);
	n += !chaos_hist_teardown(h, 0, 0, "rmdir: EBUSY");
	n += !chaos_hist_end_run(h, "hang", "no end", 1000.5);
	json_decref(unfinished);
	return n;
}

/* Each typed function writes its event as the schema has it: read back by
 * the reader, every event is valid, every event of the schema is there,
 * and the fields stand in the schema's order. */
static void test_typed_events_match_schema(void **state)
{
	unsigned seen[CHAOS_HEV__COUNT] = {0}, n, got = 0;
	struct chaos_hread_stats st;
	struct chaos_hread *rd;
	struct chaos_hist *h;
	struct chaos_hevent e;
	struct timespec t0;

	(void)state;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(chaos_hist_open(path, &t0, &h), 0);
	n = write_every_event(h);
	assert_int_equal(n, 23);
	/* A value the schema requires and the caller did not give is refused,
	 * and nothing is written. */
	assert_int_equal(chaos_hist_end_run(h, NULL, NULL, 1.0), -EINVAL);
	assert_int_equal(chaos_hist_spawn(NULL, 1), -EBADF);
	chaos_hist_close(h);

	assert_int_equal(chaos_hread_open(path, &rd), 0);
	while (chaos_hread_next(rd, &e) == 1) {
		const struct chaos_hev_spec *spec;
		const char *key;
		unsigned i = 0;
		json_t *v;

		if (!e.valid)
			fail_msg("%s", chaos_hread_error(rd));
		assert_true(e.ev < CHAOS_HEV__COUNT);
		seen[e.ev]++;
		got++;
		spec = &chaos_hist_events[e.ev];
		json_object_foreach(e.o, key, v)
		{
			(void)v;
			if (i < 2) {
				assert_string_equal(
				    key, chaos_hf_name(chaos_hist_common.fields[i].field));
			} else {
				while (i - 2 < spec->nfields &&
				       strcmp(key, chaos_hf_name(spec->fields[i - 2].field)))
					i++; /* an optional field left out */
				assert_true(i - 2 < spec->nfields);
			}
			i++;
		}
	}
	chaos_hread_stats(rd, &st);
	chaos_hread_close(rd);
	assert_int_equal(got, n);
	assert_int_equal(st.invalid + st.bad_lines + (unsigned)st.truncated, 0);
	for (unsigned k = 0; k < CHAOS_HEV__COUNT; k++)
		if (!seen[k])
			fail_msg("no %s event written", chaos_hist_events[k].name);
}

/* ---- the reader ------------------------------------------------------------------- */

static void write_text(const char *text)
{
	FILE *f = fopen(path, "we");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* What the reader tolerates and reports: a line that is no JSON object, an
 * event that breaks the schema (still returned, marked), an unknown event,
 * and a last line cut off; and its typed access. */
static void test_reader_tolerates(void **state)
{
	struct chaos_hread_stats st;
	struct chaos_hread *rd;
	struct chaos_hevent e;
	size_t len = 0;

	(void)state;
	write_text("{\"t\":0.5,\"ev\":\"outcome\",\"line\":\"a\\u0000b\",\"lineno\":1}\n"
		   "not json\n"
		   "[1]\n"
		   "{\"t\":1,\"ev\":\"death\",\"pid\":7,\"how\":\"exit\"}\n"
		   "{\"t\":2,\"ev\":\"mystery\"}\n"
		   "{\"t\":3,\"ev\":\"teardown\",\"killed\":0,\"cgroups_removed\":0,\"ok\":true,"
		   "\"error\":null}\n"
		   "{\"t\":4,\"ev\":\"end_r");
	assert_int_equal(chaos_hread_open(path, &rd), 0);
	assert_int_equal(chaos_hread_next(rd, &e), 1);
	assert_int_equal(e.ev, CHAOS_HEV_OUTCOME);
	assert_true(e.valid);
	assert_true(e.t == 0.5);
	assert_int_equal(e.lineno, 1);
	assert_non_null(chaos_hev_str(&e, CHAOS_HF_LINE, &len));
	assert_int_equal(len, 3); /* the NUL byte is kept */
	assert_int_equal(chaos_hev_int(&e, CHAOS_HF_LINENO, -1), 1);
	assert_int_equal(chaos_hev_int(&e, CHAOS_HF_PID, -1), -1);
	assert_int_equal(chaos_hev_bool(&e, CHAOS_HF_OK), -1);
	assert_string_equal(chaos_hread_error(rd), "");

	assert_int_equal(chaos_hread_next(rd, &e), 1);
	assert_int_equal(e.ev, CHAOS_HEV_DEATH);
	assert_int_equal(e.lineno, 4);
	assert_false(e.valid);
	assert_int_equal(chaos_hev_int(&e, CHAOS_HF_PID, -1), 7);
	assert_string_equal(chaos_hev_str(&e, CHAOS_HF_HOW, NULL), "exit");
	/* The first problem is kept: line 2 was no JSON object. */
	assert_string_equal(chaos_hread_error(rd), "line 2: not a JSON object");

	assert_int_equal(chaos_hread_next(rd, &e), 1);
	assert_int_equal(e.ev, CHAOS_HEV__COUNT);
	assert_false(e.valid);
	assert_int_equal(chaos_hread_next(rd, &e), 1);
	assert_int_equal(e.ev, CHAOS_HEV_TEARDOWN);
	assert_true(e.valid);
	assert_int_equal(chaos_hev_bool(&e, CHAOS_HF_OK), 1);
	assert_null(chaos_hev_str(&e, CHAOS_HF_ERROR, NULL));
	assert_true(chaos_hev_num(&e, CHAOS_HF_T, -1) == 3.0);
	assert_int_equal(chaos_hread_next(rd, &e), 0);
	chaos_hread_stats(rd, &st);
	assert_int_equal(st.events, 4);
	assert_int_equal(st.bad_lines, 2);
	assert_int_equal(st.invalid, 2);
	assert_true(st.truncated);
	chaos_hread_close(rd);
}

/* The schema's complaint names the event, the field and what it expected. */
static void test_validate_says_what(void **state)
{
	char err[256];
	enum chaos_hev ev;
	json_t *o;

	(void)state;
	o = json_pack("{s:f,s:s,s:i,s:s}", "t", 1.0, "ev", "spawn", "pid", 3, "extra", "x");
	assert_int_equal(chaos_hist_validate(o, &ev, err, sizeof(err)), -EPROTO);
	assert_int_equal(ev, CHAOS_HEV_SPAWN);
	assert_string_equal(err, "spawn: field extra is not in the schema");
	json_decref(o);
	o = json_pack("{s:f,s:s,s:s}", "t", 1.0, "ev", "spawn", "pid", "3");
	assert_int_equal(chaos_hist_validate(o, &ev, err, sizeof(err)), -EPROTO);
	assert_string_equal(err, "spawn: field pid has the wrong type (expected integer)");
	json_decref(o);
	o = json_pack("{s:s,s:i}", "ev", "spawn", "pid", 3);
	assert_int_equal(chaos_hist_validate(o, &ev, err, sizeof(err)), -EPROTO);
	assert_int_equal(ev, CHAOS_HEV_SPAWN);
	assert_string_equal(err, "event: field t is missing (expected number)");
	json_decref(o);
	o = json_pack("{s:f,s:s,s:n}", "t", 1.0, "ev", "event_error", "pid");
	assert_int_equal(chaos_hist_validate(o, &ev, err, sizeof(err)), -EPROTO);
	assert_string_equal(err, "event_error: field text is missing (expected string)");
	json_decref(o);
}

/* A history of a version this reader does not know is refused, with the
 * version in the message, by the reader and by the checker. */
static void test_reader_refuses_version(void **state)
{
	struct chaos_hread *rd;
	struct chaos_hevent e;

	(void)state;
	write_text("{\"t\":0,\"ev\":\"run\",\"version\":2,\"name\":\"x\"}\n"
		   "{\"t\":1,\"ev\":\"spawn\",\"pid\":3}\n");
	assert_int_equal(chaos_hread_open(path, &rd), 0);
	assert_int_equal(chaos_hread_next(rd, &e), -EPROTONOSUPPORT);
	assert_string_equal(chaos_hread_error(rd),
			    "line 1: history version 2 is not supported (this reader knows 1)");
	chaos_hread_close(rd);
	assert_int_equal(chaos_hread_open("/nonexistent-dir/h.jsonl", &rd), -ENOENT);
	assert_null(rd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines_valid_and_ordered),
		cmocka_unit_test(test_open_error),
		cmocka_unit_test(test_survives_sigkill),
		cmocka_unit_test(test_schema_matches_doc),
		cmocka_unit_test(test_typed_events_match_schema),
		cmocka_unit_test(test_reader_tolerates),
		cmocka_unit_test(test_validate_says_what),
		cmocka_unit_test(test_reader_refuses_version),
	};
	int ret;

	snprintf(path, sizeof(path), "/tmp/chaos-test-history.%d.jsonl", (int)getpid());
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	unlink(path);
	return ret;
}
