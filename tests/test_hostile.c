/* The controller against hostile targets (tests/helpers/hostile_target):
 * garbage on stdout, a grandchild that escapes the process tree, a target
 * that ignores SIGTERM, event connections closed mid-line, and a flood of
 * bytes and connections. Each run must end with the right verdict, record
 * the misbehaviour (protocol_error, event_error or leftover), and leave no
 * process and no cgroup behind. Real cgroups and real signals; skips with
 * a reason without a writable memory cgroup. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "cgroup/cgroup.h"
#include "engine/run.h"
#include "util/testutil.h"

static char helper[PATH_MAX];
static char outroot[1024];
static struct chaos_cg_env cgenv;
static int have_cg;

#define SKIP_WITHOUT_CG()                                                                  \
	TU_SKIP_UNLESS(have_cg, "skipped: no writable memory cgroup: %s\n", cgenv.why)

/* ---- leftovers ---------------------------------------------------------- */

/* Processes anywhere on the machine whose memory cgroup is the run's
 * cgroup or below it. */
static unsigned procs_in_cgroup(const char *cgname)
{
	char path[300], buf[4096], want[1200];
	unsigned found = 0;
	struct dirent *de;
	DIR *d = opendir("/proc");

	assert_non_null(d);
	snprintf(want, sizeof(want), ":memory:%s", cgname);
	while ((de = readdir(d))) {
		FILE *f;
		size_t n;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cgroup", de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		n = fread(buf, 1, sizeof(buf) - 1, f);
		buf[n] = '\0';
		fclose(f);
		if (strstr(buf, want)) {
			print_message("process %s is still in %s\n", de->d_name, cgname);
			found++;
		}
	}
	closedir(d);
	return found;
}

/* Nothing of the run is left: no process in its cgroup, no cgroup of ours
 * under our memory (and freezer) cgroup. */
static void assert_nothing_left(const struct tu_hist *h)
{
	const char *cg = tu_sval(tu_hist_find(h, "run", NULL, NULL, 0), "cgroup");
	json_t *td = tu_hist_find(h, "teardown", NULL, NULL, 0);

	assert_true(cg[0] != '\0');
	assert_int_equal(procs_in_cgroup(cg), 0);
	/* A directory that cannot be read holds none (-1). */
	assert_true(tu_own_run_cgroups(cgenv.mem_dir) <= 0);
	assert_true(tu_own_run_cgroups(cgenv.freezer_dir) <= 0);
	assert_non_null(td);
	assert_true(json_is_true(json_object_get(td, "ok")));
}

static void run_mode(const char *mode, uint32_t deadline_ms, struct chaos_run_result *r,
		     struct tu_hist *h)
{
	struct chaos_scenario sc;
	char out[PATH_MAX];
	char *argv[] = {helper, (char *)mode, NULL};
	struct chaos_run_opts o = {.sc = &sc, .target_name = "hostile", .argv = argv,
				   .outdir = out};

	snprintf(out, sizeof(out), "%s/%s", outroot, mode);
	assert_int_equal(chaos_scenario_init(&sc, 2), 0);
	sc.deadline_ms = deadline_ms;
	assert_int_equal(chaos_run(&o, r), 0);
	chaos_scenario_free(&sc);
	tu_hist_load(r->history, h);
	/* Every run ends with one end_run, whatever the target did. */
	assert_int_equal(tu_hist_count(h, "end_run", NULL, NULL), 1);
}

/* ---- tests -------------------------------------------------------------- */

/* Binary bytes, unknown words and a 20000-byte line on stdout: each is a
 * protocol error with its line number, and `done` still counts. */
static void test_garbage_stdout(void **state)
{
	struct chaos_run_result r;
	struct tu_hist h;
	json_t *pe;

	(void)state;
	SKIP_WITHOUT_CG();
	run_mode("garbage", 10000, &r, &h);
	assert_int_equal(r.verdict, CHAOS_RUN_DONE);
	assert_int_equal(tu_hist_count(&h, "protocol_error", NULL, NULL), 5);
	pe = tu_hist_find(&h, "protocol_error", NULL, NULL, 0);
	assert_int_equal(json_integer_value(json_object_get(pe, "lineno")), 1);
	assert_non_null(strstr(tu_sval(tu_hist_find(&h, "protocol_error", NULL, NULL, 4), "text"), "longer"));
	assert_nothing_left(&h);
	tu_hist_free(&h);
}

/* setsid and a double fork take a grandchild out of the target's tree,
 * but not out of its cgroup: it is reported as a leftover and killed. */
static void test_escaped_grandchild(void **state)
{
	struct chaos_run_result r;
	struct tu_hist h;
	json_t *lo, *td;

	(void)state;
	SKIP_WITHOUT_CG();
	run_mode("escape", 10000, &r, &h);
	assert_int_equal(r.verdict, CHAOS_RUN_DONE);
	assert_int_equal(r.leftovers, 1);
	lo = tu_hist_find(&h, "leftover", NULL, NULL, 0);
	assert_non_null(lo);
	assert_string_equal(tu_sval(lo, "comm"), "hostile_target");
	td = tu_hist_find(&h, "teardown", NULL, NULL, 0);
	assert_true(json_integer_value(json_object_get(td, "killed")) >= 1);
	assert_nothing_left(&h);
	tu_hist_free(&h);
}

/* A target (and its child) that ignore SIGTERM hang until the deadline;
 * teardown uses SIGKILL, which cannot be ignored. */
static void test_ignores_sigterm(void **state)
{
	struct chaos_run_result r;
	struct tu_hist h;
	json_t *td;

	(void)state;
	SKIP_WITHOUT_CG();
	run_mode("ignore-term", 1500, &r, &h);
	assert_int_equal(r.verdict, CHAOS_RUN_HANG);
	assert_non_null(tu_hist_find(&h, "deadline", NULL, NULL, 0));
	td = tu_hist_find(&h, "teardown", NULL, NULL, 0);
	assert_int_equal(json_integer_value(json_object_get(td, "killed")), 2);
	/* Both processes were described before they were killed. */
	assert_int_equal(tu_hist_count(&h, "diag", NULL, NULL), 2);
	assert_nothing_left(&h);
	tu_hist_free(&h);
}

/* Half a line then EOF, and a started task whose connection closes while
 * its process lives on: two event errors and an orphaned-task error. */
static void test_close_mid_message(void **state)
{
	struct chaos_run_result r;
	struct tu_hist h;

	(void)state;
	SKIP_WITHOUT_CG();
	run_mode("close-mid", 10000, &r, &h);
	assert_int_equal(r.verdict, CHAOS_RUN_DONE);
	assert_int_equal(tu_hist_count(&h, "event_error", "text", "in the middle of a line"), 2);
	assert_int_equal(tu_hist_count(&h, "event_error", "text", "connection closed without end"), 1);
	assert_int_equal(tu_hist_count(&h, "start", NULL, NULL), 1);
	assert_nothing_left(&h);
	tu_hist_free(&h);
}

/* Megabytes without a newline and 3000 connections at once: the overlong
 * line is cut off, refusals beyond the connection table are recorded
 * (bounded), and the run still ends as done, well before its deadline. */
static void test_flood(void **state)
{
	struct chaos_run_result r;
	struct tu_hist h;

	(void)state;
	SKIP_WITHOUT_CG();
	run_mode("flood", 20000, &r, &h);
	assert_int_equal(r.verdict, CHAOS_RUN_DONE);
	assert_int_equal(tu_hist_count(&h, "event_error", "text", "longer than 256 bytes"), 1);
	assert_true(tu_hist_count(&h, "event_error", "text", "too many open connections") <= 16);
	assert_true(tu_hist_count(&h, "event_error", "text", "further refusals are not recorded") <= 1);
	/* Bounded history: 3000 connections cannot produce 3000 lines of
	 * refusals; the half lines are one error per accepted connection. */
	assert_true(h.n < 1100 + 40);
	print_message("flood: %zu history lines, run took %.0f ms\n", h.n, r.elapsed_ms);
	assert_nothing_left(&h);
	tu_hist_free(&h);
}

static int setup(void **state)
{
	int ret;

	(void)state;
	ret = tu_helper_setup("hostile_target", helper, sizeof(helper), "test_hostile.out", outroot,
			      sizeof(outroot));
	have_cg = chaos_cg_detect(&cgenv) == 0 && cgenv.version != CHAOS_CG_NONE;
	return ret;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_garbage_stdout),
		cmocka_unit_test(test_escaped_grandchild),
		cmocka_unit_test(test_ignores_sigterm),
		cmocka_unit_test(test_close_mid_message),
		cmocka_unit_test(test_flood),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
