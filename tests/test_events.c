/* Kit event lines, target outcome lines and the bounded line buffer, fed
 * valid, malformed, overlong and NUL-carrying input. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "engine/events.h"

static int ev(const char *s, struct chaos_evline *e)
{
	char err[256];

	return chaos_evline_parse(s, strlen(s), e, err, sizeof(err));
}

static int out(const char *s, struct chaos_outcome *o)
{
	char err[256];

	return chaos_outcome_parse(s, strlen(s), o, err, sizeof(err));
}

static void test_evline_valid(void **state)
{
	struct chaos_evline e;

	(void)state;
	assert_int_equal(ev("start 7", &e), 0);
	assert_int_equal(e.kind, CHAOS_EVL_START);
	assert_int_equal(e.task, 7);
	assert_int_equal(ev("end 3 -9223372036854775808", &e), 0);
	assert_int_equal(e.kind, CHAOS_EVL_END);
	assert_true(e.result == INT64_MIN);
	assert_int_equal(ev("end 4294967295 16", &e), 0);
	assert_true(e.task == 4294967295u);
	assert_int_equal(ev("fail 2 boom: it broke", &e), 0);
	assert_int_equal(e.kind, CHAOS_EVL_FAIL);
	assert_string_equal(e.text, "boom: it broke");
}

static void test_evline_malformed(void **state)
{
	static const char *bad[] = {
		"",           "start",      "start x",      "start -1",          "start 1 2",
		"end 1",      "end 1 1.5",  "end 1 2 3",    "stop 1",            "START 1",
		"start 4294967296",        "end 1 99999999999999999999", "end 1 +",
	};
	struct chaos_evline e;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (chaos_evline_parse(bad[i], strlen(bad[i]), &e, err, sizeof(err)) != -EINVAL)
			fail_msg("accepted '%s'", bad[i]);
		assert_true(err[0] != '\0');
	}
}

static void test_evline_nul_and_overlong(void **state)
{
	char buf[CHAOS_EVLINE_MAX + 10], err[256];
	struct chaos_evline e;

	(void)state;
	memcpy(buf, "start 1\0x", 9);
	assert_int_equal(chaos_evline_parse(buf, 9, &e, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "0x00"));
	memset(buf, 'a', sizeof(buf));
	memcpy(buf, "fail 1 ", 7);
	assert_int_equal(chaos_evline_parse(buf, CHAOS_EVLINE_MAX, &e, err, sizeof(err)), 0);
	assert_int_equal(strlen(e.text), CHAOS_EVLINE_MAX - 7);
	assert_int_equal(chaos_evline_parse(buf, CHAOS_EVLINE_MAX + 1, &e, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "exceeds"));
}

static void test_outcome(void **state)
{
	static const char *good[] = {"result 1 1", "result 0 -5", "lost 3", "error 2 ValueError x",
				     "killed-tasks 1,2,3", "killed-tasks", "aborted pool broken",
				     "unsupported no retry policy", "done", "aborted"};
	static const char *bad[] = {"result 1",      "result x 1",  "result 1 1 1", "lost",
				    "lost 1 2",      "done now",    "killed-tasks 1,,2",
				    "killed-tasks 1,", "Traceback (most recent call last):", "",
				    "result 1 1\r"};
	struct chaos_outcome o;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (out(good[i], &o))
			fail_msg("rejected '%s'", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (out(bad[i], &o) != -EINVAL)
			fail_msg("accepted '%s'", bad[i]);
	assert_int_equal(out("result 4 16", &o), 0);
	assert_int_equal(o.kind, CHAOS_OUT_RESULT);
	assert_int_equal(o.task, 4);
	assert_int_equal(out("done", &o), 0);
	assert_int_equal(o.kind, CHAOS_OUT_DONE);
}

/* One grammar: single blanks between fields, none leading or trailing
 * (except the documented empty list "killed-tasks "), and a reason that
 * names what was wrong. These lines were accepted by the controller and
 * refused by the checker before the two shared this parser. */
static void test_outcome_blanks(void **state)
{
	static const struct {
		const char *line, *why;
	} bad[] = {
	    {" done", "leading blank"},
	    {"done ", "trailing blank"},
	    {"result  1 5", "more than one blank after 'result'"},
	    {"result 1  5", "more than one blank"},
	    {"result 1 5 ", "trailing blank"},
	    {"result 1 ", "trailing blank"},
	    {"error  2 boom", "more than one blank after 'error'"},
	    {"error 2  boom", "more than one blank"},
	    {"error 2 ", "trailing blank"},
	    {"error 2 boom ", "trailing blank after the text"},
	    {"lost 3 ", "trailing blank after the task id"},
	    {"killed-tasks 1 ", "trailing blank"},
	    {"killed-tasks  1", "more than one blank"},
	    {"killed-tasks 1 2", "comma-separated"},
	    {"killed-tasks ,1", "empty id"},
	    {"aborted ", "trailing blank"},
	    {"unsupported no retry ", "trailing blank"},
	    {"", "empty line"},
	};
	static const char *const good[] = {"killed-tasks ", "error 2 a  b\tc", "aborted a\tb",
					   "unsupported  x"};
	struct chaos_outcome o;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (chaos_outcome_parse(bad[i].line, strlen(bad[i].line), &o, err, sizeof(err)) !=
		    -EINVAL)
			fail_msg("accepted '%s'", bad[i].line);
		if (!strstr(err, bad[i].why))
			fail_msg("'%s': reason '%s', expected '%s'", bad[i].line, err, bad[i].why);
	}
	/* "unsupported  x" is refused too: the text starts after one blank. */
	for (i = 0; i < 3; i++)
		if (chaos_outcome_parse(good[i], strlen(good[i]), &o, err, sizeof(err)))
			fail_msg("rejected '%s': %s", good[i], err);
	assert_int_equal(chaos_outcome_parse(good[3], strlen(good[3]), &o, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "more than one blank after 'unsupported'"));
}

/* The parsed fields the checker decides from: value, text, killed ids. */
static void test_outcome_fields(void **state)
{
	static char line[CHAOS_OUTLINE_MAX + 2];
	struct chaos_outcome o;
	char err[256];
	size_t off;
	uint32_t i;

	(void)state;
	assert_int_equal(out("result 4294967295 -9223372036854775808", &o), 0);
	assert_true(o.task == UINT32_MAX && o.value == INT64_MIN);
	assert_int_equal(out("result 1 9223372036854775808", &o), -EINVAL);
	assert_int_equal(out("error 7 ValueError: x", &o), 0);
	assert_int_equal(o.task, 7);
	assert_int_equal(o.text_len, 13);
	assert_memory_equal(o.text, "ValueError: x", 13);
	assert_int_equal(out("error 7", &o), 0);
	assert_null(o.text);
	assert_int_equal(out("unsupported no retry", &o), 0);
	assert_int_equal(o.kind, CHAOS_OUT_UNSUPPORTED);
	assert_memory_equal(o.text, "no retry", 8);
	assert_int_equal(out("killed-tasks 5,0,5,4294967295", &o), 0);
	assert_int_equal(o.nkilled, 4);
	assert_true(o.killed[0] == 5 && o.killed[1] == 0 && o.killed[2] == 5 &&
		    o.killed[3] == UINT32_MAX);
	assert_int_equal(out("killed-tasks ", &o), 0);
	assert_int_equal(o.nkilled, 0);
	/* The longest list a CHAOS_OUTLINE_MAX line can carry is returned
	 * whole; one byte more is refused as an overlong line. */
	off = (size_t)snprintf(line, sizeof(line), "killed-tasks ");
	while (off + 2 <= CHAOS_OUTLINE_MAX) {
		line[off] = (char)('0' + off % 10);
		line[off + 1] = ',';
		off += 2;
	}
	off--; /* the last comma */
	assert_true(off <= CHAOS_OUTLINE_MAX && off + 3 > CHAOS_OUTLINE_MAX);
	assert_int_equal(chaos_outcome_parse(line, off, &o, err, sizeof(err)), 0);
	assert_int_equal(o.nkilled, (off - 13 + 1) / 2);
	assert_true(o.nkilled <= CHAOS_KILLED_MAX);
	for (i = 0; i < o.nkilled; i++)
		assert_true(o.killed[i] == (13 + 2 * i) % 10);
	memset(line, 'x', sizeof(line));
	memcpy(line, "error 1 ", 8);
	assert_int_equal(chaos_outcome_parse(line, CHAOS_OUTLINE_MAX, &o, err, sizeof(err)), 0);
	assert_int_equal(o.text_len, CHAOS_OUTLINE_MAX - 8);
	assert_int_equal(chaos_outcome_parse(line, CHAOS_OUTLINE_MAX + 1, &o, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "exceeds"));
	/* A NUL byte is refused wherever it is, also at the very end. */
	assert_int_equal(chaos_outcome_parse("done\0", 5, &o, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "0x00"));
}

static void test_linebuf_split_and_join(void **state)
{
	struct chaos_linebuf lb;
	const char *line;
	size_t used, len;

	(void)state;
	chaos_linebuf_init(&lb, 16);
	/* A line split across two reads. */
	assert_int_equal(chaos_linebuf_feed(&lb, "sta", 3, &used, &line, &len), 0);
	assert_int_equal(used, 3);
	assert_int_equal(chaos_linebuf_feed(&lb, "rt 1\nend", 8, &used, &line, &len), 1);
	assert_int_equal(used, 5);
	assert_int_equal(len, 7);
	assert_memory_equal(line, "start 1", 7);
	assert_int_equal(chaos_linebuf_feed(&lb, "end", 3, &used, &line, &len), 0);
	/* The tail at EOF. */
	assert_int_equal(chaos_linebuf_tail(&lb, &line, &len), 1);
	assert_int_equal(len, 3);
	assert_int_equal(chaos_linebuf_tail(&lb, &line, &len), 0);
}

/* A flood without newlines is cut at the cap and the rest of that line
 * discarded; the next line is read normally. Memory never grows. */
static void test_linebuf_flood(void **state)
{
	struct chaos_linebuf lb;
	char junk[1000];
	const char *line;
	size_t used, len, i;
	int overflows = 0;

	(void)state;
	memset(junk, 'x', sizeof(junk));
	chaos_linebuf_init(&lb, CHAOS_EVLINE_MAX);
	for (i = 0; i < 1000; i++) {
		int r = chaos_linebuf_feed(&lb, junk, sizeof(junk), &used, &line, &len);

		assert_int_equal(used, sizeof(junk));
		assert_true(r == 0 || r == -EMSGSIZE);
		overflows += r == -EMSGSIZE;
		assert_true(lb.len <= CHAOS_EVLINE_MAX);
	}
	assert_int_equal(overflows, 1);
	assert_int_equal(chaos_linebuf_feed(&lb, "xx\nstart 2\n", 11, &used, &line, &len), 0);
	assert_int_equal(used, 3);
	assert_int_equal(chaos_linebuf_feed(&lb, "start 2\n", 8, &used, &line, &len), 1);
	assert_memory_equal(line, "start 2", 7);
	/* The cap itself is accepted, one more byte is not. */
	chaos_linebuf_init(&lb, 4);
	assert_int_equal(chaos_linebuf_feed(&lb, "abcd\n", 5, &used, &line, &len), 1);
	assert_int_equal(chaos_linebuf_feed(&lb, "abcde\n", 6, &used, &line, &len), -EMSGSIZE);
	assert_int_equal(used, 6);
	assert_int_equal(lb.skipping, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_evline_valid),
		cmocka_unit_test(test_evline_malformed),
		cmocka_unit_test(test_evline_nul_and_overlong),
		cmocka_unit_test(test_outcome),
		cmocka_unit_test(test_outcome_blanks),
		cmocka_unit_test(test_outcome_fields),
		cmocka_unit_test(test_linebuf_split_and_join),
		cmocka_unit_test(test_linebuf_flood),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
