/* engine/events: kit event lines and the bounded line buffer, fed valid,
 * malformed, overlong and NUL-carrying input. Outcome lines are
 * tests/test_outcome.c. */
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
		cmocka_unit_test(test_linebuf_split_and_join),
		cmocka_unit_test(test_linebuf_flood),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
