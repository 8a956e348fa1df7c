/* check/outcome: the adapter contract's outcome lines, fed valid,
 * malformed, overlong and NUL-carrying input. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "check/outcome.h"

static int out(const char *s, struct chaos_outcome *o)
{
	char err[256];

	return chaos_outcome_parse(s, strlen(s), o, err, sizeof(err));
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_outcome),
		cmocka_unit_test(test_outcome_blanks),
		cmocka_unit_test(test_outcome_fields),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
