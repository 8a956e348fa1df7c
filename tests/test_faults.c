/* Fault schedules: pure functions, checked without running anything. The
 * value grammar (signals, sizes, times) is tested in tests/test_value.c,
 * the options of `chaos run` in tests/test_cli.c. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/faults.h"

static struct chaos_fault every(uint32_t interval, uint32_t jitter, uint32_t count, uint64_t seed)
{
	struct chaos_fault f;

	memset(&f, 0, sizeof(f));
	f.kind = CHAOS_FAULT_EVERY;
	f.signo = SIGKILL;
	f.interval_ms = interval;
	f.jitter_ms = jitter;
	f.count = count;
	f.seed = seed;
	return f;
}

static void test_splitmix_reference(void **state)
{
	/* Reference values of splitmix64 seeded with 0 (Vigna's generator). */
	uint64_t s = 0;

	(void)state;
	assert_true(chaos_splitmix64(&s) == 0xe220a8397b1dcdafULL);
	assert_true(chaos_splitmix64(&s) == 0x6e789e6aa1b965f4ULL);
}

static void test_every_same_seed_same_schedule(void **state)
{
	struct chaos_fault f = every(200, 50, 20, 7);
	struct chaos_timed a[32], b[32], c[32];
	size_t na, nb, nc, i;
	int differs = 0;

	(void)state;
	assert_int_equal(chaos_every_schedule(&f, 0, 100000, a, 32, &na), 0);
	assert_int_equal(chaos_every_schedule(&f, 0, 100000, b, 32, &nb), 0);
	assert_int_equal(na, 20);
	assert_int_equal(nb, na);
	for (i = 0; i < na; i++) {
		assert_true(a[i].t_ms == b[i].t_ms);
		assert_true(a[i].pick == b[i].pick);
	}
	f.seed = 8;
	assert_int_equal(chaos_every_schedule(&f, 0, 100000, c, 32, &nc), 0);
	for (i = 0; i < nc; i++)
		differs |= c[i].t_ms != a[i].t_ms || c[i].pick != a[i].pick;
	assert_true(differs);
}

static void test_every_jitter_bounds(void **state)
{
	struct chaos_fault f = every(100, 30, 0, 42);
	struct chaos_timed v[2000];
	size_t n, i;
	uint64_t prev = 0, minstep = UINT64_MAX, maxstep = 0;

	(void)state;
	assert_int_equal(chaos_every_schedule(&f, 0, 1000000, v, 2000, &n), 0);
	assert_int_equal(n, 2000); /* bounded by max, count 0 = unbounded */
	for (i = 0; i < n; i++) {
		uint64_t step = v[i].t_ms - prev;

		assert_true(step >= 100 && step <= 130);
		if (step < minstep)
			minstep = step;
		if (step > maxstep)
			maxstep = step;
		assert_int_equal(v[i].seq, i);
		prev = v[i].t_ms;
	}
	/* Over 2000 draws the jitter covers its range. */
	assert_true(minstep <= 102);
	assert_true(maxstep >= 128);
}

static void test_every_no_jitter_horizon_and_count(void **state)
{
	struct chaos_fault f = every(250, 0, 0, 1);
	struct chaos_timed v[64];
	size_t n, i;

	(void)state;
	f.delay_ms = 100;
	assert_int_equal(chaos_every_schedule(&f, 0, 1100, v, 64, &n), 0);
	assert_int_equal(n, 4); /* 350, 600, 850, 1100 */
	for (i = 0; i < n; i++)
		assert_int_equal(v[i].t_ms, 100 + 250 * (i + 1));
	f.count = 2;
	assert_int_equal(chaos_every_schedule(&f, 0, 1100, v, 64, &n), 0);
	assert_int_equal(n, 2);
	f.interval_ms = 0;
	assert_int_equal(chaos_every_schedule(&f, 0, 1100, v, 64, &n), -EINVAL);
}

static void test_every_scenario_seed_fallback(void **state)
{
	struct chaos_fault f = every(10, 10, 5, 0);
	struct chaos_timed a[8], b[8];
	size_t na, nb, i;

	(void)state;
	assert_int_equal(chaos_every_schedule(&f, 99, 100000, a, 8, &na), 0);
	f.seed = 99;
	assert_int_equal(chaos_every_schedule(&f, 0, 100000, b, 8, &nb), 0);
	assert_int_equal(na, nb);
	for (i = 0; i < na; i++)
		assert_true(a[i].t_ms == b[i].t_ms);
}

static void test_plan_sorted_and_bounded(void **state)
{
	struct chaos_scenario sc;
	struct chaos_fault fs[4];
	struct chaos_timed *p = NULL;
	size_t n, i;

	(void)state;
	memset(&sc, 0, sizeof(sc));
	memset(fs, 0, sizeof(fs));
	fs[0].kind = CHAOS_FAULT_ALL_AT;
	fs[0].delay_ms = 500;
	fs[1].kind = CHAOS_FAULT_ON_START; /* not timed */
	fs[2] = every(100, 0, 3, 5);
	fs[3].kind = CHAOS_FAULT_AT_TIME;
	fs[3].delay_ms = 50000; /* after the deadline: never fires */
	sc.faults = fs;
	sc.nfaults = 4;
	sc.deadline_ms = 1000;
	assert_int_equal(chaos_fault_plan(&sc, &p, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(p[0].t_ms, 100);
	assert_int_equal(p[0].fault, 2);
	assert_int_equal(p[2].t_ms, 300);
	assert_int_equal(p[3].t_ms, 500);
	assert_int_equal(p[3].fault, 0);
	for (i = 1; i < n; i++)
		assert_true(p[i - 1].t_ms <= p[i].t_ms);
	free(p);

	/* An unbounded every-1ms over an hour is capped. */
	fs[2] = every(1, 0, 0, 5);
	sc.deadline_ms = 3600000;
	assert_int_equal(chaos_fault_plan(&sc, &p, &n), 0);
	assert_true(n <= CHAOS_SCHED_MAX);
	free(p);
}

static void test_on_start_matches(void **state)
{
	struct chaos_fault f;

	(void)state;
	memset(&f, 0, sizeof(f));
	f.kind = CHAOS_FAULT_ON_START;
	f.task = 3;
	f.attempt = 1;
	assert_true(chaos_on_start_matches(&f, 3, 1));
	assert_false(chaos_on_start_matches(&f, 3, 2));
	assert_false(chaos_on_start_matches(&f, 2, 1));
	f.attempt = 0;
	assert_true(chaos_on_start_matches(&f, 3, 7));
	assert_int_equal(chaos_pick_index(10, 3), 1);
	assert_int_equal(chaos_pick_index(10, 0), 0);
}

/* Each plan entry keeps its fault's anchor; times stay relative to it, so
 * the same scenario gives the same plan whichever anchor a fault has, and
 * computing it twice gives the same plan. */
static void test_plan_anchors(void **state)
{
	struct chaos_fault fs[4];
	struct chaos_scenario sc;
	struct chaos_timed *a = NULL, *b = NULL;
	size_t na = 0, nb = 0, i;

	(void)state;
	memset(&sc, 0, sizeof(sc));
	memset(fs, 0, sizeof(fs));
	fs[0].kind = CHAOS_FAULT_AT_TIME;
	fs[0].delay_ms = 300;
	fs[0].from = CHAOS_FROM_SPAWN;
	fs[1].kind = CHAOS_FAULT_ALL_AT;
	fs[1].delay_ms = 100; /* first-start: the default */
	fs[2] = every(100, 0, 2, 3);
	fs[2].from = CHAOS_FROM_SPAWN;
	fs[3].kind = CHAOS_FAULT_AFTER_STARTS; /* triggered: not in the plan */
	fs[3].starts = 2;
	sc.faults = fs;
	sc.nfaults = 4;
	sc.deadline_ms = 10000;
	assert_int_equal(chaos_fault_plan(&sc, &a, &na), 0);
	assert_int_equal(chaos_fault_plan(&sc, &b, &nb), 0);
	assert_int_equal(na, 4);
	assert_int_equal(nb, na);
	for (i = 0; i < na; i++) {
		assert_true(a[i].t_ms == b[i].t_ms && a[i].from == b[i].from);
		assert_true(a[i].fault == b[i].fault && a[i].seq == b[i].seq);
		assert_true(a[i].pick == b[i].pick);
	}
	/* Sorted by time from the anchor, stable on ties (fault order). */
	assert_int_equal(a[0].fault, 1);
	assert_int_equal(a[0].t_ms, 100);
	assert_int_equal(a[0].from, CHAOS_FROM_FIRST_START);
	assert_int_equal(a[1].fault, 2);
	assert_int_equal(a[1].t_ms, 100);
	assert_int_equal(a[1].from, CHAOS_FROM_SPAWN);
	assert_int_equal(a[2].fault, 2);
	assert_int_equal(a[2].t_ms, 200);
	assert_int_equal(a[3].fault, 0);
	assert_int_equal(a[3].from, CHAOS_FROM_SPAWN);
	for (i = 0; i < na; i++)
		assert_true(a[i].fault != 3);
	free(a);
	free(b);
}

/* The task triggers and the history names of anchors and victims. */
static void test_triggers_and_names(void **state)
{
	struct chaos_fault f;

	(void)state;
	memset(&f, 0, sizeof(f));
	f.kind = CHAOS_FAULT_AFTER_STARTS;
	f.starts = 3;
	assert_false(chaos_after_starts_matches(&f, 2));
	assert_true(chaos_after_starts_matches(&f, 3));
	assert_false(chaos_after_starts_matches(&f, 4));
	assert_false(chaos_on_end_matches(&f, 0, 1));
	assert_false(chaos_fault_is_timed(&f));
	assert_string_equal(chaos_fault_anchor_name(&f), "starts");
	f.kind = CHAOS_FAULT_ON_END;
	f.task = 5;
	f.attempt = 2;
	assert_true(chaos_on_end_matches(&f, 5, 2));
	assert_false(chaos_on_end_matches(&f, 5, 1));
	assert_false(chaos_on_end_matches(&f, 4, 2));
	assert_false(chaos_on_start_matches(&f, 5, 2));
	f.attempt = 0;
	assert_true(chaos_on_end_matches(&f, 5, 7));
	assert_string_equal(chaos_fault_anchor_name(&f), "end");
	f.kind = CHAOS_FAULT_ON_START;
	assert_string_equal(chaos_fault_anchor_name(&f), "start");
	f.kind = CHAOS_FAULT_EVERY;
	assert_true(chaos_fault_is_timed(&f));
	assert_string_equal(chaos_fault_anchor_name(&f), "first-start");
	f.from = CHAOS_FROM_SPAWN;
	assert_string_equal(chaos_fault_anchor_name(&f), "spawn");
	assert_string_equal(chaos_victim_name(CHAOS_VICTIM_WORKER), "worker");
	assert_string_equal(chaos_victim_name(CHAOS_VICTIM_MAIN), "main");
	assert_string_equal(chaos_victim_name(CHAOS_VICTIM_ANY), "any");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_splitmix_reference),
		cmocka_unit_test(test_every_same_seed_same_schedule),
		cmocka_unit_test(test_every_jitter_bounds),
		cmocka_unit_test(test_every_no_jitter_horizon_and_count),
		cmocka_unit_test(test_every_scenario_seed_fallback),
		cmocka_unit_test(test_plan_sorted_and_bounded),
		cmocka_unit_test(test_on_start_matches),
		cmocka_unit_test(test_plan_anchors),
		cmocka_unit_test(test_triggers_and_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
