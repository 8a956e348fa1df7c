/* The value grammar (chaos/check/value.c): every kind, its boundaries,
 * overflow, junk, and the exact message of each refusal. Pure functions. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "check/lex.h"
#include "check/scenario.h"
#include "check/value.h"

static char msg[CHAOS_VALUE_MSG_MAX];

/* The last call refused with code r and exactly this message. */
static void refused(int got, int r, const char *want)
{
	assert_int_equal(got, r);
	if (strcmp(msg, want))
		fail_msg("message '%s', want '%s'", msg, want);
}

static uint64_t size_of(const char *s)
{
	uint64_t v = 0;

	msg[0] = '\0';
	if (chaos_value_size(s, 0, UINT64_MAX, &v, msg, sizeof(msg)))
		fail_msg("'%s' refused: %s", s, msg);
	return v;
}

static uint32_t time_of(const char *s)
{
	uint32_t v = 0;

	msg[0] = '\0';
	if (chaos_value_time(s, 0, UINT32_MAX, &v, msg, sizeof(msg)))
		fail_msg("'%s' refused: %s", s, msg);
	return v;
}

static void test_numbers(void **state)
{
	uint64_t v = 0;

	(void)state;
	assert_int_equal(chaos_value_number("0", 0, 10, &v, msg, sizeof(msg)), 0);
	assert_true(v == 0);
	assert_int_equal(chaos_value_number("1", 1, 100000, &v, msg, sizeof(msg)), 0);
	assert_true(v == 1);
	assert_int_equal(chaos_value_number("100000", 1, 100000, &v, msg, sizeof(msg)), 0);
	assert_true(v == 100000);
	assert_int_equal(
	    chaos_value_number("18446744073709551615", 0, UINT64_MAX, &v, msg, sizeof(msg)), 0);
	assert_true(v == UINT64_MAX);
	/* Leading zeros are digits like any other. */
	assert_int_equal(chaos_value_number("007", 0, 10, &v, msg, sizeof(msg)), 0);
	assert_true(v == 7);

	refused(chaos_value_number("200000", 1, 100000, &v, msg, sizeof(msg)), -ERANGE,
		"200000 is out of range (1 to 100000)");
	refused(chaos_value_number("0", 1, 100000, &v, msg, sizeof(msg)), -ERANGE,
		"0 is out of range (1 to 100000)");
	refused(chaos_value_number("100001", 1, 100000, &v, msg, sizeof(msg)), -ERANGE,
		"100001 is out of range (1 to 100000)");
	refused(chaos_value_number("3", 4, UINT64_MAX, &v, msg, sizeof(msg)), -ERANGE,
		"3 is too small (expected at least 4)");
	refused(chaos_value_number("18446744073709551616", 0, UINT64_MAX, &v, msg, sizeof(msg)),
		-ERANGE,
		"18446744073709551616 is too large (expected at most 18446744073709551615)");
	refused(chaos_value_number("99999999999999999999", 0, 1000, &v, msg, sizeof(msg)), -ERANGE,
		"99999999999999999999 is out of range (0 to 1000)");
	refused(chaos_value_number("four", 0, 10, &v, msg, sizeof(msg)), -EINVAL,
		"bad number 'four' (expected a whole number)");
	refused(chaos_value_number("-1", 0, 10, &v, msg, sizeof(msg)), -EINVAL,
		"bad number '-1' (expected a whole number)");
	refused(chaos_value_number("", 0, 10, &v, msg, sizeof(msg)), -EINVAL,
		"bad number '' (expected a whole number)");
	refused(chaos_value_number("10 tasks", 0, 100, &v, msg, sizeof(msg)), -EINVAL,
		"bad number '10 tasks' (expected a whole number)");
	refused(chaos_value_number("0x10", 0, 100, &v, msg, sizeof(msg)), -EINVAL,
		"bad number '0x10' (expected a whole number)");
	refused(chaos_value_number(" 1", 0, 100, &v, msg, sizeof(msg)), -EINVAL,
		"bad number ' 1' (expected a whole number)");
	/* Junk after digits too many for 64 bits is junk, not a range. */
	refused(chaos_value_number("99999999999999999999x", 0, 10, &v, msg, sizeof(msg)), -EINVAL,
		"bad number '99999999999999999999x' (expected a whole number)");
	/* No room for a message is allowed. */
	assert_int_equal(chaos_value_number("x", 0, 1, &v, NULL, 0), -EINVAL);
	assert_true(v == 7); /* untouched by the refusals */
}

static void test_signed(void **state)
{
	int64_t v = 0;

	(void)state;
	assert_int_equal(chaos_value_signed("-7", &v, msg, sizeof(msg)), 0);
	assert_true(v == -7);
	assert_int_equal(chaos_value_signed("9223372036854775807", &v, msg, sizeof(msg)), 0);
	assert_true(v == INT64_MAX);
	assert_int_equal(chaos_value_signed("-9223372036854775808", &v, msg, sizeof(msg)), 0);
	assert_true(v == INT64_MIN);
	assert_int_equal(chaos_value_signed("0", &v, msg, sizeof(msg)), 0);
	assert_true(v == 0);
	refused(chaos_value_signed("9223372036854775808", &v, msg, sizeof(msg)), -ERANGE,
		"9223372036854775808 is out of range (-9223372036854775808 to "
		"9223372036854775807)");
	refused(chaos_value_signed("-9223372036854775809", &v, msg, sizeof(msg)), -ERANGE,
		"-9223372036854775809 is out of range (-9223372036854775808 to "
		"9223372036854775807)");
	refused(chaos_value_signed("-", &v, msg, sizeof(msg)), -EINVAL,
		"bad number '-' (expected a signed 64-bit integer)");
	refused(chaos_value_signed("+1", &v, msg, sizeof(msg)), -EINVAL,
		"bad number '+1' (expected a signed 64-bit integer)");
	refused(chaos_value_signed("--1", &v, msg, sizeof(msg)), -EINVAL,
		"bad number '--1' (expected a signed 64-bit integer)");
	refused(chaos_value_signed("1e3", &v, msg, sizeof(msg)), -EINVAL,
		"bad number '1e3' (expected a signed 64-bit integer)");
}

/* The counted forms the line protocols use, and lex.c built on them. */
static void test_counted_tokens(void **state)
{
	uint64_t u = 0;
	int64_t i = 0;
	uint32_t t = 0;

	(void)state;
	assert_int_equal(chaos_value_u64n("123 rest", 3, &u), 0);
	assert_true(u == 123);
	assert_int_equal(chaos_value_u64n("123", 0, &u), -EINVAL);
	assert_int_equal(chaos_value_u64n("12a", 3, &u), -EINVAL);
	assert_int_equal(chaos_value_u64n("18446744073709551616", 20, &u), -ERANGE);
	assert_int_equal(chaos_value_i64n("-5x", 2, &i), 0);
	assert_true(i == -5);
	assert_int_equal(chaos_value_i64n("-", 1, &i), -EINVAL);
	assert_int_equal(chaos__lex_u32("4294967295", 10, &t), 0);
	assert_true(t == UINT32_MAX);
	assert_int_equal(chaos__lex_u32("4294967296", 10, &t), -EINVAL);
	assert_int_equal(chaos__lex_u32("", 0, &t), -EINVAL);
	assert_int_equal(chaos__lex_i64("-9223372036854775808", 20, &i), 0);
	assert_true(i == INT64_MIN);
	assert_int_equal(chaos__lex_i64("9223372036854775808", 19, &i), -EINVAL);
}

static void test_sizes(void **state)
{
	uint64_t v = 0;

	(void)state;
	assert_true(size_of("64M") == 64ULL << 20);
	assert_true(size_of("1G") == 1ULL << 30);
	assert_true(size_of("512k") == 512ULL << 10);
	assert_true(size_of("512K") == 512ULL << 10);
	assert_true(size_of("100MiB") == 100ULL << 20);
	assert_true(size_of("64MB") == 64ULL << 20);
	assert_true(size_of("2Gb") == 2ULL << 30);
	assert_true(size_of("512KiB") == 512ULL << 10);
	assert_true(size_of("100m") == 100ULL << 20);
	assert_true(size_of("4096") == 4096);
	assert_true(size_of("0") == 0);
	assert_true(size_of("15G") == 15ULL << 30);
	assert_true(size_of("18446744073709551615") == UINT64_MAX);
	assert_true(size_of("17179869183G") == 17179869183ULL << 30);

	refused(chaos_value_size("", 0, UINT64_MAX, &v, msg, sizeof(msg)), -EINVAL,
		"bad size '' (expected bytes or a number with K, M or G, e.g. 64M)");
	refused(chaos_value_size("64X", 0, UINT64_MAX, &v, msg, sizeof(msg)), -EINVAL,
		"bad size '64X' (expected bytes or a number with K, M or G, e.g. 64M)");
	assert_int_equal(chaos_value_size("M", 0, UINT64_MAX, &v, msg, sizeof(msg)), -EINVAL);
	assert_int_equal(chaos_value_size("-1M", 0, UINT64_MAX, &v, msg, sizeof(msg)), -EINVAL);
	assert_int_equal(chaos_value_size("64MM", 0, UINT64_MAX, &v, msg, sizeof(msg)), -EINVAL);
	assert_int_equal(chaos_value_size("64MX", 0, UINT64_MAX, &v, msg, sizeof(msg)), -EINVAL);
	assert_int_equal(chaos_value_size("64 M", 0, UINT64_MAX, &v, msg, sizeof(msg)), -EINVAL);
	assert_int_equal(chaos_value_size("64Mib", 0, UINT64_MAX, &v, msg, sizeof(msg)), -EINVAL);
	assert_int_equal(chaos_value_size("1.5G", 0, UINT64_MAX, &v, msg, sizeof(msg)), -EINVAL);
	/* Overflow, of the digits or of the multiple, is refused. */
	refused(chaos_value_size("99999999999999999999", 0, UINT64_MAX, &v, msg, sizeof(msg)),
		-ERANGE,
		"99999999999999999999 is too large (expected at most 18446744073709551615)");
	refused(chaos_value_size("99999999999G", 0, UINT64_MAX, &v, msg, sizeof(msg)), -ERANGE,
		"99999999999G is too large (expected at most 18446744073709551615)");
	refused(chaos_value_size("17179869184G", 0, UINT64_MAX, &v, msg, sizeof(msg)), -ERANGE,
		"17179869184G is too large (expected at most 18446744073709551615)");
	/* A minimum, written as a size. */
	refused(chaos_value_size("1M", 4ULL << 20, UINT64_MAX, &v, msg, sizeof(msg)), -ERANGE,
		"1M is too small (expected at least 4M)");
	refused(chaos_value_size("4194303", 4ULL << 20, UINT64_MAX, &v, msg, sizeof(msg)), -ERANGE,
		"4194303 is too small (expected at least 4M)");
	assert_int_equal(chaos_value_size("4194304", 4ULL << 20, UINT64_MAX, &v, msg, sizeof(msg)),
			 0);
	assert_true(v == 4ULL << 20);
	refused(chaos_value_size("2G", 1, 1ULL << 30, &v, msg, sizeof(msg)), -ERANGE,
		"2G is out of range (1 to 1G)");
}

static void test_times(void **state)
{
	uint32_t v = 0;

	(void)state;
	assert_int_equal(time_of("200ms"), 200);
	assert_int_equal(time_of("30s"), 30000);
	assert_int_equal(time_of("2m"), 120000);
	assert_int_equal(time_of("0"), 0);
	assert_int_equal(time_of("0ms"), 0);
	assert_int_equal(time_of("4294967295ms"), UINT32_MAX);
	assert_int_equal(time_of("4294967s"), 4294967000u);
	assert_int_equal(time_of("71582m"), 71582u * 60000u);

	refused(chaos_value_time("30", 0, UINT32_MAX, &v, msg, sizeof(msg)), -EINVAL,
		"bad time '30' (expected a number with a unit, ms, s or m, e.g. 50ms or 2s)");
	assert_int_equal(chaos_value_time("1.5s", 0, UINT32_MAX, &v, msg, sizeof(msg)), -EINVAL);
	assert_int_equal(chaos_value_time("s", 0, UINT32_MAX, &v, msg, sizeof(msg)), -EINVAL);
	assert_int_equal(chaos_value_time("50min", 0, UINT32_MAX, &v, msg, sizeof(msg)), -EINVAL);
	assert_int_equal(chaos_value_time("5 s", 0, UINT32_MAX, &v, msg, sizeof(msg)), -EINVAL);
	assert_int_equal(chaos_value_time("5S", 0, UINT32_MAX, &v, msg, sizeof(msg)), -EINVAL);
	assert_int_equal(chaos_value_time("-1s", 0, UINT32_MAX, &v, msg, sizeof(msg)), -EINVAL);
	assert_int_equal(chaos_value_time("00", 0, UINT32_MAX, &v, msg, sizeof(msg)), 0);
	/* Overflow of 32-bit milliseconds is refused. */
	refused(chaos_value_time("5000000s", 0, UINT32_MAX, &v, msg, sizeof(msg)), -ERANGE,
		"5000000s is too large (expected at most 4294967295ms)");
	refused(chaos_value_time("4294967296ms", 0, UINT32_MAX, &v, msg, sizeof(msg)), -ERANGE,
		"4294967296ms is too large (expected at most 4294967295ms)");
	refused(chaos_value_time("71583m", 0, UINT32_MAX, &v, msg, sizeof(msg)), -ERANGE,
		"71583m is too large (expected at most 4294967295ms)");
	refused(chaos_value_time("99999999999999999999s", 0, UINT32_MAX, &v, msg, sizeof(msg)),
		-ERANGE, "99999999999999999999s is too large (expected at most 4294967295ms)");
	/* Ranges written as times. */
	refused(chaos_value_time("3601s", 1, 3600000, &v, msg, sizeof(msg)), -ERANGE,
		"3601s is out of range (1ms to 3600s)");
	refused(chaos_value_time("0", 1, 3600000, &v, msg, sizeof(msg)), -ERANGE,
		"0 is out of range (1ms to 3600s)");
	refused(chaos_value_time("0ms", 1, UINT32_MAX, &v, msg, sizeof(msg)), -ERANGE,
		"0ms is too small (expected at least 1ms)");
	assert_int_equal(chaos_value_time("3600s", 1, 3600000, &v, msg, sizeof(msg)), 0);
	assert_int_equal(v, 3600000);
	assert_int_equal(chaos_value_time("60m", 1, 3600000, &v, msg, sizeof(msg)), 0);
	assert_int_equal(v, 3600000);
}

static void test_bools_and_words(void **state)
{
	static const char *const words[] = {"skip", "abort", "retry"};
	int b = -1, k = -1;

	(void)state;
	assert_int_equal(chaos_value_bool("yes", &b, msg, sizeof(msg)), 0);
	assert_int_equal(b, 1);
	assert_int_equal(chaos_value_bool("off", &b, msg, sizeof(msg)), 0);
	assert_int_equal(b, 0);
	assert_int_equal(chaos_value_bool("true", &b, msg, sizeof(msg)), 0);
	assert_int_equal(b, 1);
	assert_int_equal(chaos_value_bool("0", &b, msg, sizeof(msg)), 0);
	assert_int_equal(b, 0);
	refused(chaos_value_bool("maybe", &b, msg, sizeof(msg)), -EINVAL,
		"bad value 'maybe' (expected yes or no)");
	refused(chaos_value_bool("Yes", &b, msg, sizeof(msg)), -EINVAL,
		"bad value 'Yes' (expected yes or no)");
	assert_int_equal(chaos_value_word("retry", words, 3, "policy", &k, msg, sizeof(msg)), 0);
	assert_int_equal(k, 2);
	refused(chaos_value_word("skipp", words, 3, "policy", &k, msg, sizeof(msg)), -EINVAL,
		"unknown policy 'skipp' (expected skip, abort or retry)");
	refused(chaos_value_word("x", words, 2, "thing", &k, msg, sizeof(msg)), -EINVAL,
		"unknown thing 'x' (expected skip or abort)");
	refused(chaos_value_word("x", words, 1, "thing", &k, msg, sizeof(msg)), -EINVAL,
		"unknown thing 'x' (expected skip)");
}

static void test_signals(void **state)
{
	int s = 0;

	(void)state;
	assert_int_equal(chaos_value_signal("KILL", &s, msg, sizeof(msg)), 0);
	assert_int_equal(s, SIGKILL);
	assert_int_equal(chaos_value_signal("sigstop", &s, msg, sizeof(msg)), 0);
	assert_int_equal(s, SIGSTOP);
	assert_int_equal(chaos_value_signal("SIGTERM", &s, msg, sizeof(msg)), 0);
	assert_int_equal(s, SIGTERM);
	assert_int_equal(chaos_value_signal("15", &s, msg, sizeof(msg)), 0);
	assert_int_equal(s, SIGTERM);
	assert_int_equal(chaos_value_signal("9", &s, msg, sizeof(msg)), 0);
	assert_int_equal(s, SIGKILL);
	assert_int_equal(chaos_value_signal("1", &s, msg, sizeof(msg)), 0);
	assert_int_equal(s, 1);
	assert_int_equal(chaos_value_signal("64", &s, msg, sizeof(msg)), 0);
	assert_int_equal(s, 64);
	assert_int_equal(chaos_value_signal("usr1", &s, msg, sizeof(msg)), 0);
	assert_int_equal(s, SIGUSR1);
	refused(chaos_value_signal("KILLL", &s, msg, sizeof(msg)), -EINVAL,
		"unknown signal 'KILLL' (expected a signal name or number, like KILL or SIGSTOP)");
	assert_int_equal(chaos_value_signal("0", &s, msg, sizeof(msg)), -EINVAL);
	assert_int_equal(chaos_value_signal("65", &s, msg, sizeof(msg)), -EINVAL);
	assert_int_equal(chaos_value_signal("", &s, msg, sizeof(msg)), -EINVAL);
	assert_int_equal(chaos_value_signal("SIG", &s, msg, sizeof(msg)), -EINVAL);
	assert_int_equal(chaos_value_signal("SIG9", &s, msg, sizeof(msg)), -EINVAL);
	assert_int_equal(chaos_value_signal("-9", &s, msg, sizeof(msg)), -EINVAL);
	assert_string_equal(chaos_signal_name(SIGKILL), "SIGKILL");
	assert_string_equal(chaos_signal_name(SIGCONT), "SIGCONT");
	assert_string_equal(chaos_signal_name(40), "SIG40");
}

/* Bounds print as the grammar reads them back. */
static void test_format(void **state)
{
	char b[32];
	uint64_t v = 0;
	uint32_t ms = 0;

	(void)state;
	chaos_value_format_size(4ULL << 20, b, sizeof(b));
	assert_string_equal(b, "4M");
	chaos_value_format_size(3ULL << 30, b, sizeof(b));
	assert_string_equal(b, "3G");
	chaos_value_format_size(1536, b, sizeof(b));
	assert_string_equal(b, "1536");
	chaos_value_format_size(2048, b, sizeof(b));
	assert_string_equal(b, "2K");
	chaos_value_format_size(0, b, sizeof(b));
	assert_string_equal(b, "0");
	assert_int_equal(chaos_value_size("2K", 0, UINT64_MAX, &v, msg, sizeof(msg)), 0);
	assert_true(v == 2048);
	chaos_value_format_time(3600000, b, sizeof(b));
	assert_string_equal(b, "3600s");
	chaos_value_format_time(250, b, sizeof(b));
	assert_string_equal(b, "250ms");
	chaos_value_format_time(0, b, sizeof(b));
	assert_string_equal(b, "0");
	assert_int_equal(chaos_value_time("3600s", 0, UINT32_MAX, &ms, msg, sizeof(msg)), 0);
	assert_int_equal(ms, 3600000);
}

/* The settings table: each key's range as the parser applies it. */
static void test_settings(void **state)
{
	static const struct {
		const char *key, *ok, *bad, *why;
	} cases[] = {
	    {"workers", "1024", "1025", "1025 is out of range (1 to 1024)"},
	    {"tasks", "100000", "200000", "200000 is out of range (1 to 100000)"},
	    {"tasks", "1", "0", "0 is out of range (1 to 100000)"},
	    {"retries", "1000", "1001", "1001 is out of range (0 to 1000)"},
	    {"deadline", "3600s", "3601s", "3601s is out of range (1ms to 3600s)"},
	    {"deadline", "1ms", "0", "0 is out of range (1ms to 3600s)"},
	    {"limit", "4M", "1", "1 is too small (expected at least 4M)"},
	    {"code", "255", "256", "256 is out of range (0 to 255)"},
	    {"count", "100000", "0", "0 is out of range (1 to 100000)"},
	    {"interval", "1ms", "0", "0 is too small (expected at least 1ms)"},
	    {"bytes", "1", "0", "0 is too small (expected at least 1)"},
	    {"duration", "1ms", "0s", "0s is too small (expected at least 1ms)"},
	    {"abort-within", "1ms", "0", "0 is too small (expected at least 1ms)"},
	    {"attempt", "1000", "1001", "1001 is out of range (0 to 1000)"},
	    {"times", "0", "1001", "1001 is out of range (0 to 1000)"},
	    {"seed", "18446744073709551615", "18446744073709551616",
	     "18446744073709551616 is too large (expected at most 18446744073709551615)"},
	};
	uint64_t v = 0;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_non_null(chaos_setting_find(cases[i].key));
		if (chaos_setting_parse(cases[i].key, cases[i].ok, &v, msg, sizeof(msg)))
			fail_msg("%s = %s refused: %s", cases[i].key, cases[i].ok, msg);
		assert_int_equal(
		    chaos_setting_parse(cases[i].key, cases[i].bad, &v, msg, sizeof(msg)), -ERANGE);
		if (strcmp(msg, cases[i].why))
			fail_msg("%s = %s: '%s', want '%s'", cases[i].key, cases[i].bad, msg,
				 cases[i].why);
	}
	assert_null(chaos_setting_find("no-such-key"));
	assert_int_equal(chaos_setting_parse("no-such-key", "1", &v, msg, sizeof(msg)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_numbers),	   cmocka_unit_test(test_signed),
	    cmocka_unit_test(test_counted_tokens), cmocka_unit_test(test_sizes),
	    cmocka_unit_test(test_times),	   cmocka_unit_test(test_bools_and_words),
	    cmocka_unit_test(test_signals),	   cmocka_unit_test(test_format),
	    cmocka_unit_test(test_settings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
