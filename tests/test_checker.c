/* The checker on recorded histories: for each guarantee a history that
 * passes and one that breaks it, and the exact cell and evidence expected.
 * The histories are written by tests/data/histories/make-histories.py. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "check/checker.h"

#define DIR "tests/data/histories/"

static int chdir_to_tree(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < 5; i++) {
		if (access("chaos/check/checker.h", F_OK) == 0)
			return 0;
		if (chdir("..") != 0)
			return -1;
	}
	return -1;
}

struct case_ {
	const char *scenario; /* in DIR */
	const char *history;  /* in DIR */
	const char *cell;     /* expected cell_text */
	const char *evidence; /* substring of the first failed check's evidence, or NULL */
	const char *note;     /* substring of the note, or NULL */
};

static const struct case_ cases[] = {
    /* skip */
    {"skip.ini", "skip-pass.jsonl", "PASS", NULL, NULL},
    {"skip.ini", "skip-invented.jsonl", "FAIL(skip)",
     "skip: result for task 12 which does not exist", NULL},
    {"skip.ini", "skip-duplicate.jsonl", "FAIL(skip)", "skip: task 5 result 25 appears twice",
     NULL},
    {"skip.ini", "skip-wrong-value.jsonl", "FAIL(skip)", "skip: task 5 result 26, expected 25",
     NULL},
    {"skip.ini", "skip-missing.jsonl", "FAIL(skip)",
     "skip: task 7 has no result and was never killed", NULL},
    {"skip.ini", "skip-lost-not-killed.jsonl", "FAIL(skip)",
     "skip: task 6 reported lost but was never killed", NULL},
    {"skip.ini", "skip-killed-no-outcome.jsonl", "FAIL(skip)",
     "skip: task 3 was killed and has no outcome", NULL},
    {"skip.ini", "skip-result-of-killed.jsonl", "FAIL(skip)",
     "skip: task 3 has result 9 but its last attempt 1 was killed", NULL},
    {"skip.ini", "skip-never-started.jsonl", "FAIL(skip)",
     "skip: result for task 4 which never started", NULL},
    {"skip.ini", "skip-protocol.jsonl", "FAIL(skip)", "protocol: line 11 'hello there'",
     "1 protocol error"},
    {"skip.ini", "skip-protocol-outcome.jsonl", "FAIL(skip)",
     "protocol: line 11 'result five 25' (not an outcome line: bad task id 'five')", NULL},
    /* killed-task report */
    {"skip.ini", "killed-wrong.jsonl", "FAIL(killed-tasks)",
     "killed-tasks: pool says {4}, history says {3}", NULL},
    {"skip.ini", "killed-extra.jsonl", "FAIL(killed-tasks)",
     "killed-tasks: pool says {3,4}, history says {3}", NULL},
    {"skip.ini", "killed-missing.jsonl", "FAIL(killed-tasks)",
     "killed-tasks: the pool printed no killed-tasks line, history says {3}", NULL},
    /* hang-free and no-leftovers */
    {"skip.ini", "hang.jsonl", "HANG", "hang-free: the run hit its deadline of 20000 ms",
     "no progress for 19.5 s"},
    {"skip.ini", "crashed.jsonl", "FAIL(hang-free)", "hang-free: the run ended as crashed", NULL},
    {"skip.ini", "interrupted.jsonl", "SKIP", NULL, "interrupted"},
    {"skip.ini", "leftover.jsonl", "FAIL(hang-free,no-leftovers)",
     "hang-free: process 4242 (sleep) was left in the run cgroup", NULL},
    {"skip.ini", "teardown-failed.jsonl", "FAIL(no-leftovers)",
     "no-leftovers: teardown failed: rmdir: EBUSY", NULL},
    {"skip.ini", "truncated-mid-end.jsonl", "FAIL(hang-free)", "without end_run (cut short)",
     "history cut short"},
    {"skip.ini", "truncated-tail.jsonl", "PASS", NULL, "history cut short after line 43"},
    /* cells that are not a verdict on the pool */
    {"skip.ini", "unsupported.jsonl", "UNSUPPORTED", NULL, "this pool cannot skip a killed task"},
    {"skip.ini", "skipped.jsonl", "SKIP", NULL, "no writable memory cgroup"},
    /* retry */
    {"retry.ini", "retry-pass.jsonl", "PASS", NULL, NULL},
    {"retry.ini", "retry-exhausted.jsonl", "PASS", NULL, NULL},
    {"retry.ini", "retry-too-many.jsonl", "FAIL(retry)", "retry: task 3 started 5 times, cap 3",
     NULL},
    {"retry.ini", "retry-rerun.jsonl", "FAIL(retry)",
     "retry: task 2 ran 2 times but was never killed", NULL},
    {"retry.ini", "retry-gave-up.jsonl", "FAIL(retry)",
     "retry: task 3 reported lost after 1 of 3 allowed attempts", NULL},
    /* abort */
    {"abort.ini", "abort-pass.jsonl", "PASS", NULL, NULL},
    {"abort.ini", "abort-late.jsonl", "FAIL(abort)", "after the first death, bound 2000 ms", NULL},
    {"abort.ini", "abort-start-after.jsonl", "FAIL(abort)",
     "abort: task 8 started 100 ms after aborted", NULL},
    {"abort.ini", "abort-missing.jsonl", "FAIL(abort)", "abort: the pool never printed aborted",
     NULL},
    /* oom */
    {"oom.ini", "oom-pass.jsonl", "PASS", NULL, NULL},
    {"oom.ini", "oom-unconfirmed.jsonl", "FAIL(oom)",
     "oom: task 3 died (SIGKILL) but oom_kill did not confirm it (oom: false)", NULL},
    /* a task that exits on purpose */
    {"exit.ini", "exit-pass.jsonl", "PASS", NULL, NULL},
    {"exit.ini", "exit-lost.jsonl", "PASS", NULL, NULL},
    /* a pool killing its own worker: may be named, need not be */
    {"skip.ini", "killed-own-unnamed.jsonl", "PASS", NULL, NULL},
    {"skip.ini", "killed-own-named.jsonl", "PASS", NULL, NULL},
    {"skip.ini", "killed-own-only.jsonl", "FAIL(killed-tasks)",
     "killed-tasks: pool says {5}, history says {3}", NULL},
    {"exit.ini", "exit-named-killed.jsonl", "FAIL(killed-tasks)",
     "killed-tasks: pool says {5}, history says {}", NULL},
    {"exit.ini", "unknown-named.jsonl", "PASS", NULL, NULL},
    {"exit.ini", "unknown-unnamed.jsonl", "PASS", NULL, NULL},
    {"exit.ini", "exit-result.jsonl", "FAIL(skip)",
     "skip: task 5 has result 25 but its last attempt 1 was killed", NULL},
    /* faults that did not do what they claim: every expectation held, and
     * the run proves nothing (with and without the optional fields) */
    {"kill-at.ini", "unexercised-idle.jsonl", "UNEXERCISED", NULL,
     "fault 0 (kill-at at line 12) hit pid 1001, which was running no task"},
    {"kill-at.ini", "unexercised-idle-new.jsonl", "UNEXERCISED", NULL,
     "fault 0 (kill-at at line 12) hit pid 1001, which was running no task"},
    {"kill-at.ini", "unexercised-not-fired.jsonl", "UNEXERCISED", NULL,
     "fault 0 (kill-at at line 12) did not fire: the target exited before its time"},
    {"kill-at.ini", "unexercised-no-victim.jsonl", "UNEXERCISED", NULL,
     "did not fire: no live worker"},
    {"stop-at.ini", "unexercised-stop-idle.jsonl", "UNEXERCISED", NULL,
     "fault 0 (kill-at at line 12) stopped pid 1002, which was running no task"},
    {"pressure.ini", "unexercised-stress-chosen.jsonl", "UNEXERCISED", NULL,
     "the OOM killer chose stress-ng (pid 2000), no task was hit"},
    {"pressure.ini", "unexercised-stress-chosen-new.jsonl", "UNEXERCISED", NULL,
     "the OOM killer chose stress-ng (pid 2000), no task was hit"},
    {"pressure.ini", "pressure-hit.jsonl", "PASS", NULL, NULL},
    {"main.ini", "orphans-missed-main.jsonl", "UNEXERCISED", NULL,
     "fault 0 (kill-at at line 13) hit pid 1001, not the main process 1000"},
    /* a failure stays a failure whatever the faults did */
    {"kill-at.ini", "killed-missing.jsonl", "FAIL(killed-tasks)",
     "killed-tasks: the pool printed no killed-tasks line", NULL},
    /* the adapter failed, not the pool */
    {"skip.ini", "error-exit-before-start.jsonl", "ERROR", NULL,
     "the target exited with code 1 before any task started"},
    {"skip.ini", "error-crash-before-start.jsonl", "ERROR", NULL,
     "the target was killed by SIGSEGV before any task started"},
    {"skip.ini", "error-banner.jsonl", "ERROR", NULL,
     "protocol: line 1 'Loading model weights' before any task started"},
    /* the deadline: a pool still at its pace, one that stopped, and one
     * whose retry cap had already failed */
    {"skip.ini", "slow.jsonl", "SLOW", "hang-free: the run hit its deadline",
     "9 of 10 tasks done, last progress 1.5 s before the deadline (longest gap 4.0 s)"},
    {"retry.ini", "retry-unbounded-hang.jsonl", "FAIL(hang-free,retry,killed-tasks)",
     "hang-free: the run hit its deadline", NULL},
    /* a worker killed between tasks may have held one the kit had not
     * announced: one lost task per such death is accepted (the checks
     * hold; this fault kind is not the scenario's, so nothing was
     * exercised), two are not */
    {"skip.ini", "idle-death-unannounced.jsonl", "UNEXERCISED", NULL,
     "fault 0 (kill-on-start at line 11) did not fire: no fault event"},
    {"skip.ini", "idle-death-two-lost.jsonl", "FAIL(skip)",
     "skip: task 7 reported lost but was never killed", NULL},
    /* no-orphans, with and without the optional fields */
    {"main.ini", "orphans-pass.jsonl", "PASS", NULL, NULL},
    {"main.ini", "orphans-pass-old.jsonl", "PASS", NULL, NULL},
    {"main.ini", "orphans-late.jsonl", "FAIL(no-orphans)",
     "no-orphans: worker 1004 outlived the main process by 3.2 s (bound 2000 ms)", NULL},
    {"main.ini", "orphans-late-old.jsonl", "FAIL(no-orphans)",
     "no-orphans: worker 1004 outlived the main process by 3.2 s (bound 2000 ms)", NULL},
    {"main.ini", "orphans-leftover.jsonl", "FAIL(no-leftovers,no-orphans)",
     "no-leftovers: process 1004 (python3) was left in the run cgroup", NULL},
};

static const struct chaos_check *first_failed(const struct chaos_verdict *v)
{
	unsigned i;

	for (i = 0; i < v->nchecks; i++) {
		if (!v->checks[i].ok)
			return &v->checks[i];
	}
	return NULL;
}

static void run_case(const struct case_ *c)
{
	char sp[256], hp[256], err[1024];
	struct chaos_scenario sc;
	struct chaos_verdict v;
	const struct chaos_check *f;
	int r;

	snprintf(sp, sizeof(sp), DIR "%s", c->scenario);
	snprintf(hp, sizeof(hp), DIR "%s", c->history);
	r = chaos_scenario_load(&sc, sp, err, sizeof(err));
	if (r)
		print_error("%s\n", err);
	assert_int_equal(r, 0);
	assert_int_equal(chaos_check_history(&sc, hp, &v), 0);
	f = first_failed(&v);
	if (strcmp(v.cell_text, c->cell) ||
	    (c->evidence && (!f || !strstr(f->evidence, c->evidence))) ||
	    (c->note && !strstr(v.note, c->note)))
		print_error("%s: cell %s evidence '%s' note '%s'\n", c->history, v.cell_text,
			    f ? f->evidence : "", v.note);
	assert_string_equal(v.cell_text, c->cell);
	if (c->evidence) {
		assert_non_null(f);
		assert_non_null(strstr(f->evidence, c->evidence));
	}
	if (!strcmp(c->cell, "PASS")) {
		assert_null(f);
		assert_int_equal(v.cell, CHAOS_CELL_PASS);
	}
	if (c->note)
		assert_non_null(strstr(v.note, c->note));
	/* Every expectation of the scenario got a check, and only those. */
	{
		unsigned bits = 0, i;

		for (i = 0; i < v.nchecks; i++) {
			assert_int_equal(bits & v.checks[i].expect, 0);
			bits |= v.checks[i].expect;
			if (v.checks[i].ok)
				assert_string_equal(v.checks[i].evidence, "");
		}
		assert_int_equal(bits, sc.expect);
	}
	chaos_scenario_free(&sc);
}

static void test_cases(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&cases[i]);
}

/* The same history judged against two scenarios: with and without the
 * killed-tasks expectation, only the first may fail on it. */
static void test_expectations_select_checks(void **state)
{
	struct chaos_scenario sc;
	struct chaos_verdict v;
	char err[256];

	(void)state;
	assert_int_equal(chaos_scenario_load(&sc, DIR "skip.ini", err, sizeof(err)), 0);
	sc.expect &= ~CHAOS_EXPECT_KILLED_REPORT;
	assert_int_equal(chaos_check_history(&sc, DIR "killed-wrong.jsonl", &v), 0);
	assert_string_equal(v.cell_text, "PASS");
	assert_int_equal(v.nchecks, 3);
	assert_string_equal(v.checks[0].name, "hang-free");
	assert_string_equal(v.checks[1].name, "skip");
	assert_string_equal(v.checks[2].name, "no-leftovers");
	chaos_scenario_free(&sc);
}

static void test_missing_history(void **state)
{
	struct chaos_scenario sc;
	struct chaos_verdict v;

	(void)state;
	assert_int_equal(chaos_scenario_init(&sc, 10), 0);
	assert_int_equal(chaos_check_history(&sc, DIR "no-such-history.jsonl", &v), -ENOENT);
	chaos_scenario_free(&sc);
	assert_string_equal(chaos_cell_name(CHAOS_CELL_UNSUPPORTED), "UNSUPPORTED");
	assert_string_equal(chaos_cell_name(CHAOS_CELL_HANG), "HANG");
}

/* An empty history (the controller died before writing anything) is read,
 * and judged as cut short. */
static void test_empty_history(void **state)
{
	char path[] = "/tmp/test_checker.XXXXXX";
	struct chaos_scenario sc;
	struct chaos_verdict v;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(chaos_scenario_init(&sc, 10), 0);
	assert_int_equal(chaos_check_history(&sc, path, &v), 0);
	assert_string_equal(v.cell_text, "FAIL(hang-free,no-leftovers)");
	assert_non_null(strstr(v.checks[0].evidence, "ends after 0 lines without end_run"));
	chaos_scenario_free(&sc);
	assert_int_equal(unlink(path), 0);
}

/* Judge skip.ini on killed-wrong.jsonl with every history line that
 * contains find replaced by repl (one or more complete lines). */
static void judge_edited(const char *find, const char *repl, struct chaos_verdict *v)
{
	char path[] = "/tmp/test_checker.XXXXXX", line[4096], err[256];
	struct chaos_scenario sc;
	FILE *in, *out;
	int fd, found = 0;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	out = fdopen(fd, "w");
	assert_non_null(out);
	in = fopen(DIR "killed-wrong.jsonl", "re");
	assert_non_null(in);
	while (fgets(line, sizeof(line), in)) {
		if (strstr(line, find)) {
			fputs(repl, out);
			found = 1;
		} else {
			fputs(line, out);
		}
	}
	fclose(in);
	assert_int_equal(fclose(out), 0);
	assert_true(found);
	assert_int_equal(chaos_scenario_load(&sc, DIR "skip.ini", err, sizeof(err)), 0);
	assert_int_equal(chaos_check_history(&sc, path, v), 0);
	chaos_scenario_free(&sc);
	assert_int_equal(unlink(path), 0);
}

#define KILLED_LINE "\"line\": \"killed-tasks 4\""
#define DONE_LINE "\"line\": \"done\""

/* A killed-tasks list longer than any fixed buffer the checker used to copy
 * lines into is read to its end: the id that breaks the check is the last. */
static void test_long_killed_list(void **state)
{
	char repl[4200];
	struct chaos_verdict v;
	size_t off;
	int i;

	(void)state;
	off = (size_t)snprintf(repl, sizeof(repl),
			       "{\"t\": 0.53, \"ev\": \"outcome\", \"lineno\": 11, \"line\": "
			       "\"killed-tasks ");
	for (i = 0; i < 1000; i++)
		off += (size_t)snprintf(repl + off, sizeof(repl) - off, "3,");
	snprintf(repl + off, sizeof(repl) - off, "3\"}\n");
	judge_edited(KILLED_LINE, repl, &v);
	if (strcmp(v.cell_text, "PASS"))
		print_error("cell %s note '%s'\n", v.cell_text, v.note);
	assert_string_equal(v.cell_text, "PASS");
	snprintf(repl + off, sizeof(repl) - off, "4\"}\n");
	judge_edited(KILLED_LINE, repl, &v);
	assert_string_equal(v.cell_text, "FAIL(killed-tasks)");
	assert_non_null(strstr(v.checks[2].evidence, "pool says {3,4}, history says {3}"));
	assert_null(strstr(v.note, "protocol"));
}

/* The lines the controller accepts are read by the same grammar here: the
 * documented empty list, and free text with blanks inside. */
static void test_outcome_forms_accepted(void **state)
{
	struct chaos_verdict v;

	(void)state;
	judge_edited(KILLED_LINE,
		     "{\"t\": 0.53, \"ev\": \"outcome\", \"lineno\": 11, \"line\": \"killed-tasks "
		     "\"}\n",
		     &v);
	assert_string_equal(v.cell_text, "FAIL(killed-tasks)");
	assert_non_null(strstr(v.checks[2].evidence, "pool says {}, history says {3}"));
	assert_string_equal(v.note, "");
	judge_edited("\"line\": \"lost 3\"",
		     "{\"t\": 0.195, \"ev\": \"outcome\", \"lineno\": 4, \"line\": \"error 3 "
		     "BrokenProcessPool: a  child\\tdied\"}\n",
		     &v);
	assert_string_equal(v.cell_text, "FAIL(killed-tasks)");
	assert_string_equal(v.note, "");
}

/* A line the controller refused is recorded twice (the outcome and the
 * protocol_error event): it is one protocol error, and the reason is the
 * parser's, so "trailing blank" reaches the verdict. */
static void test_outcome_refused_once(void **state)
{
	static const char *const lines[] = {"killed-tasks 3 ", " killed-tasks 3",
					    "killed-tasks  3", "killed-tasks 3,,4"};
	static const char *const why[] = {"trailing blank", "leading blank",
					  "more than one blank", "empty id"};
	char repl[512];
	struct chaos_verdict v;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		snprintf(repl, sizeof(repl),
			 "{\"t\": 0.53, \"ev\": \"outcome\", \"lineno\": 11, \"line\": \"%s\"}\n"
			 "{\"t\": 0.53, \"ev\": \"protocol_error\", \"lineno\": 11, \"line\": "
			 "\"%s\", \"text\": \"whatever the controller said\"}\n",
			 lines[i], lines[i]);
		judge_edited(KILLED_LINE, repl, &v);
		if (!strstr(v.note, "1 protocol error,") || !strstr(v.note, why[i]))
			print_error("'%s': cell %s note '%s'\n", lines[i], v.cell_text, v.note);
		assert_string_equal(v.cell_text, "FAIL(skip,killed-tasks)");
		assert_non_null(strstr(v.checks[1].evidence, why[i]));
		assert_non_null(strstr(v.note, "1 protocol error,"));
		assert_non_null(strstr(v.checks[2].evidence, "printed no killed-tasks line"));
	}
}

/* "done" followed by a NUL byte: older controllers recorded it as
 * "done\u0000", current ones as "done?". Either way the events are read (no
 * line is dropped as not JSON), the line is not taken for done, and the
 * protocol error is in the verdict. */
static void test_outcome_nul(void **state)
{
	static const char *const recorded[] = {"done\\u0000", "done?"};
	char repl[512];
	struct chaos_verdict v;
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		snprintf(repl, sizeof(repl),
			 "{\"t\": 0.53, \"ev\": \"outcome\", \"lineno\": 12, \"line\": \"%s\"}\n"
			 "{\"t\": 0.53, \"ev\": \"protocol_error\", \"lineno\": 12, \"line\": "
			 "\"%s\", \"text\": \"control byte 0x00 at offset 4\"}\n",
			 recorded[i], recorded[i]);
		judge_edited(DONE_LINE, repl, &v);
		if (!strstr(v.note, "1 protocol error"))
			print_error("%s: cell %s note '%s'\n", recorded[i], v.cell_text, v.note);
		assert_null(strstr(v.note, "not JSON"));
		assert_non_null(strstr(v.note, "1 protocol error"));
		assert_non_null(strstr(v.note, "'done?'"));
		assert_non_null(strstr(v.checks[0].evidence, "never printed done"));
		assert_non_null(strstr(v.checks[1].evidence, "protocol: line 12"));
	}
}

/* The evidence of a check other than the first failed one. */
static const char *evidence_of(const struct chaos_verdict *v, const char *name)
{
	for (unsigned i = 0; i < v->nchecks; i++)
		if (!strcmp(v->checks[i].name, name))
			return v->checks[i].evidence;
	return NULL;
}

static void judge(const char *scenario, const char *history, struct chaos_verdict *v)
{
	struct chaos_scenario sc;
	char err[256];

	assert_int_equal(chaos_scenario_load(&sc, scenario, err, sizeof(err)), 0);
	assert_int_equal(chaos_check_history(&sc, history, v), 0);
	chaos_scenario_free(&sc);
}

/* The guarantee the deadline would hide is named with its evidence, and
 * no-orphans names a worker left behind. */
static void test_evidence_beyond_first(void **state)
{
	struct chaos_verdict v;
	const char *e;

	(void)state;
	judge(DIR "retry.ini", DIR "retry-unbounded-hang.jsonl", &v);
	e = evidence_of(&v, "retry");
	assert_non_null(e);
	assert_string_equal(e, "retry: task 3 started 5 times, cap 3");
	judge(DIR "main.ini", DIR "orphans-leftover.jsonl", &v);
	e = evidence_of(&v, "no-orphans");
	assert_non_null(e);
	assert_string_equal(e, "no-orphans: process 1004 (python3) was left in the run cgroup "
			       "after the main process was killed");
}

/* The same run judged with no-orphans against a scenario whose main-kill
 * fault missed: the guarantee has nothing to judge, so the check holds and
 * the cell is UNEXERCISED, never PASS; and a SLOW or HANG run is never
 * UNEXERCISED. */
static void test_unexercised_only_from_pass(void **state)
{
	struct chaos_verdict v;

	(void)state;
	judge(DIR "main.ini", DIR "orphans-missed-main.jsonl", &v);
	assert_int_equal(v.cell, CHAOS_CELL_UNEXERCISED);
	assert_non_null(evidence_of(&v, "no-orphans"));
	assert_string_equal(evidence_of(&v, "no-orphans"), "");
	judge(DIR "kill-at.ini", DIR "hang.jsonl", &v);
	assert_int_equal(v.cell, CHAOS_CELL_HANG);
	judge(DIR "kill-at.ini", DIR "slow.jsonl", &v);
	assert_int_equal(v.cell, CHAOS_CELL_SLOW);
	assert_string_equal(chaos_cell_name(CHAOS_CELL_UNEXERCISED), "UNEXERCISED");
	assert_string_equal(chaos_cell_name(CHAOS_CELL_ERROR), "ERROR");
	assert_string_equal(chaos_cell_name(CHAOS_CELL_SLOW), "SLOW");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cases),
	    cmocka_unit_test(test_expectations_select_checks),
	    cmocka_unit_test(test_missing_history),
	    cmocka_unit_test(test_empty_history),
	    cmocka_unit_test(test_long_killed_list),
	    cmocka_unit_test(test_outcome_forms_accepted),
	    cmocka_unit_test(test_outcome_refused_once),
	    cmocka_unit_test(test_outcome_nul),
	    cmocka_unit_test(test_evidence_beyond_first),
	    cmocka_unit_test(test_unexercised_only_from_pass),
	};

	return cmocka_run_group_tests(tests, chdir_to_tree, NULL);
}
