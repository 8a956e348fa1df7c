/* The harness's power (issue 11, item 6): the shipped scenarios, run by the
 * built `chaos matrix`, against the deliberately broken pools of
 * tests/broken/. Each broken pool must get a failing cell that names the
 * guarantee its defect breaks (or HANG where the defect is a hang), and
 * passes where its defect is not touched (so the failure is the defect's,
 * not the pool's plumbing). The correct control must pass every shipped
 * scenario it is run on. The table of every cell is printed at the end.
 *
 * Each pool is one matrix over a suite directory of links to the shipped
 * scenario files, so cells keep their shipped names (seed/kill-one-skip).
 * Every run is capped at 5 s (--max-deadline), the matrix bounds each run,
 * and each matrix has a hard limit here.
 */
#include "util/testutil.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* One cell the test expects. expect: "PASS", "HANG", or "FAIL(a|b)": a
 * FAIL cell that names guarantee a or b (among others). */
struct power_row {
	const char *pool;
	const char *scenario; /* <shipped suite>/<scenario> */
	const char *expect;
};

static struct power_row rows[] = {
    /* The control: a correct pool with every policy and no task timeout.
     * Not run: schedules/sigstop-timeout (needs a task timeout),
     * pressure-* (stress-ng; inside, the OOM killer's choice) and
     * oom/whole-run-* (the killer may choose the pool's main process). */
    {"correct", "seed/abort-on-kill", "PASS"},
    {"correct", "seed/baseline", "PASS"},
    {"correct", "seed/exit-skip", "PASS"},
    {"correct", "seed/kill-one-retry", "PASS"},
    {"correct", "seed/kill-one-skip", "PASS"},
    {"correct", "seed/kill-two-retry", "PASS"},
    {"correct", "seed/kill-two-skip", "PASS"},
    {"correct", "seed/oom-skip", "PASS"},
    {"correct", "seed/retry-cap", "PASS"},
    {"correct", "oom/per-worker-abort", "PASS"},
    {"correct", "oom/per-worker-queued", "PASS"},
    {"correct", "oom/per-worker-retry", "PASS"},
    {"correct", "oom/per-worker-skip", "PASS"},
    {"correct", "schedules/kill-all-at", "PASS"},
    {"correct", "schedules/kill-all-skip", "PASS"},
    {"correct", "schedules/kill-at", "PASS"},
    {"correct", "schedules/kill-every", "PASS"},
    {"correct", "schedules/kill-on-start", "PASS"},
    {"correct", "schedules/kill-storm", "PASS"},
    {"correct", "schedules/sigsegv", "PASS"},
    {"correct", "schedules/sigstop-cont", "PASS"},
    {"correct", "schedules/sigterm", "PASS"},

    {"silent_loss", "seed/baseline", "PASS"},
    {"silent_loss", "seed/kill-one-skip", "FAIL(skip|killed-tasks)"},
    {"silent_loss", "seed/kill-two-skip", "FAIL(skip|killed-tasks)"},

    {"wrong_killed", "seed/baseline", "PASS"},
    {"wrong_killed", "seed/kill-one-skip", "FAIL(killed-tasks)"},
    {"wrong_killed", "seed/kill-one-retry", "FAIL(killed-tasks)"},

    {"run_twice", "seed/baseline", "PASS"},
    {"run_twice", "seed/kill-one-retry", "FAIL(retry|skip)"},
    {"run_twice", "seed/kill-two-retry", "FAIL(retry|skip)"},

    {"invented", "seed/baseline", "PASS"},
    {"invented", "seed/kill-one-skip", "FAIL(skip)"},
    {"invented", "seed/kill-two-skip", "FAIL(skip)"},

    {"unbounded_retry", "seed/baseline", "PASS"},
    {"unbounded_retry", "seed/kill-one-retry", "PASS"},
    {"unbounded_retry", "seed/retry-cap", "FAIL(retry)"},

    {"orphan", "seed/baseline", "FAIL(no-leftovers|hang-free)"},
    {"orphan", "seed/kill-one-skip", "FAIL(no-leftovers|hang-free)"},

    {"slow_abort", "seed/baseline", "PASS"},
    {"slow_abort", "seed/abort-on-kill", "FAIL(abort)"},

    {"hang_second", "seed/baseline", "PASS"},
    {"hang_second", "seed/kill-one-skip", "PASS"},
    {"hang_second", "seed/kill-two-skip", "HANG"},
};

#define NROWS (sizeof(rows) / sizeof(rows[0]))

/* What each row got (cell_text; empty: not run) and whether it met its
 * expectation. */
static char got[NROWS][96];
static int met[NROWS];

/* A whole matrix of one pool: at most 22 runs of at most 5 s, two at a
 * time, plus teardown; far below this unless something hangs. */
#define POWER_MATRIX_LIMIT_MS 180000

static char chaos_bin[PATH_MAX], src_root[PATH_MAX];
static char tmpdir[] = "/tmp/chaos-power.XXXXXX";
static int have_cli;

/* Does text ("FAIL(a,b)") name guarantee g as one of its items? */
static int names_check(const char *text, const char *g, size_t glen)
{
	const char *p = strchr(text, '(');

	while (p) {
		p++;
		if (!strncmp(p, g, glen) && (p[glen] == ',' || p[glen] == ')'))
			return 1;
		p = strchr(p, ',');
	}
	return 0;
}

/* Does the cell meet the row's expectation? */
static int cell_meets(const char *expect, const char *cell, const char *text)
{
	const char *g;

	if (strncmp(expect, "FAIL(", 5))
		return !strcmp(expect, cell);
	if (strcmp(cell, "FAIL"))
		return 0;
	for (g = expect + 5; *g && *g != ')';) {
		size_t n = strcspn(g, "|)");

		if (names_check(text, g, n))
			return 1;
		g += n + (g[n] == '|');
	}
	return 0;
}

/* The suite directories of pool's rows below dir: <dir>/<suite>/ holding
 * links to the shipped scenario files; their paths, comma-separated, into
 * suites. */
static void make_suites(const char *pool, const char *dir, char *suites, size_t len)
{
	char sdir[PATH_MAX * 2], link[PATH_MAX * 3], target[PATH_MAX * 2];

	suites[0] = '\0';
	assert_int_equal(mkdir(dir, 0755), 0);
	for (size_t i = 0; i < NROWS; i++) {
		const char *slash = strchr(rows[i].scenario, '/');
		int suite_len = (int)(slash - rows[i].scenario);

		if (strcmp(rows[i].pool, pool))
			continue;
		snprintf(sdir, sizeof(sdir), "%s/%.*s", dir, suite_len, rows[i].scenario);
		if (mkdir(sdir, 0755) == 0) {
			size_t used = strlen(suites);

			snprintf(suites + used, len - used, "%s%s", used ? "," : "", sdir);
		}
		snprintf(link, sizeof(link), "%s/%s.ini", sdir, slash + 1);
		snprintf(target, sizeof(target), "%s/scenarios/%s.ini", src_root, rows[i].scenario);
		assert_int_equal(access(target, R_OK), 0);
		assert_int_equal(symlink(target, link), 0);
	}
	assert_true(suites[0] != '\0');
}

/* No process a run left behind (the orphan's daemon, above all) may still
 * be in a run cgroup once the matrix is over. */
static void assert_leftovers_gone(const char *rundir)
{
	char path[PATH_MAX];
	struct tu_hist h;
	json_t *e;

	snprintf(path, sizeof(path), "%s/history.jsonl", rundir);
	tu_hist_load(path, &h);
	for (size_t k = 0; (e = tu_hist_find(&h, "leftover", NULL, NULL, k)); k++)
		assert_false(tu_pid_in_run_cgroup((pid_t)tu_ival(e, "pid")));
	tu_hist_free(&h);
}

/* Fill in what each of pool's rows got from matrix.json; returns how many
 * missed their expectation. The test is skipped when a cell is SKIP (the
 * environment could not decide, e.g. no memory cgroup). */
static int read_cells(const char *pool, const char *out)
{
	char path[PATH_MAX * 2];
	json_error_t jerr;
	json_t *root, *cells;
	int missed = 0;

	snprintf(path, sizeof(path), "%s/matrix.json", out);
	root = json_load_file(path, 0, &jerr);
	assert_non_null(root);
	cells = json_object_get(root, "cells");
	assert_true(json_is_array(cells));
	for (size_t i = 0; i < NROWS; i++) {
		const struct power_row *r = &rows[i];
		json_t *c = NULL;
		size_t k;

		if (strcmp(r->pool, pool))
			continue;
		json_array_foreach(cells, k, c)
		{
			if (!strcmp(tu_sval(c, "key"), r->scenario))
				break;
		}
		assert_true(k < json_array_size(cells));
		assert_false(json_is_true(json_object_get(c, "internal")));
		snprintf(got[i], sizeof(got[i]), "%s", tu_sval(c, "cell_text"));
		TU_SKIP_UNLESS(strcmp(tu_sval(c, "cell"), "SKIP"), "%s %s: SKIP: %s\n", pool,
			       r->scenario, tu_sval(c, "note"));
		met[i] = cell_meets(r->expect, tu_sval(c, "cell"), got[i]);
		if (!met[i]) {
			print_message("%s %s: expected %s, got %s (%s)\n", pool, r->scenario,
				      r->expect, got[i], tu_sval(c, "note"));
			missed++;
		}
		assert_leftovers_gone(tu_sval(c, "rundir"));
	}
	json_decref(root);
	return missed;
}

static void run_pool(const char *pool)
{
	char dir[PATH_MAX], suites[PATH_MAX * 4], out[PATH_MAX + 8], path[PATH_MAX + 64];
	char target[PATH_MAX * 2];
	const char *slash = strrchr(chaos_bin, '/');
	struct tu_cli_env env = {chaos_bin, src_root, tmpdir};
	struct tu_cli *r;

	TU_SKIP_UNLESS(have_cli, "no built chaos CLI\n");
	/* <build>/chaos -> <build>/tests/broken/<pool> */
	snprintf(path, sizeof(path), "%.*s/tests/broken/%s", slash ? (int)(slash - chaos_bin) : 0,
		 chaos_bin, pool);
	assert_int_equal(access(path, X_OK), 0);
	snprintf(target, sizeof(target), "%s=%s", pool, path);
	snprintf(dir, sizeof(dir), "%s/%s", tmpdir, pool);
	make_suites(pool, dir, suites, sizeof(suites));
	snprintf(out, sizeof(out), "%s/out", dir);
	r = calloc(1, sizeof(*r));
	assert_non_null(r);
	tu_run_cli(&env, r, NULL, POWER_MATRIX_LIMIT_MS, -1,
		   (char *[]){"matrix", "--suite", suites, "--target", target, "--jobs", "2",
			      "--max-deadline", "5s", "--out", out, NULL});
	/* 0 or 1: no usage error, no internal error, not everything skipped. */
	if (r->code != 0 && r->code != 1)
		fail_msg("chaos matrix exited %d:\n%s\n%s", r->code, r->out, r->err);
	free(r);
	assert_int_equal(read_cells(pool, out), 0);
}

/* One test per pool; its name is the state. */
static void test_pool(void **state)
{
	run_pool(*state);
}

static int setup(void **state)
{
	(void)state;
	have_cli = tu_cli_setup(chaos_bin, sizeof(chaos_bin), src_root, sizeof(src_root),
				"scenarios/seed/baseline.ini", tmpdir) == 0;
	return 0;
}

/* The table: pool, scenario, what was expected, what the matrix said. */
static int teardown(void **state)
{
	(void)state;
	printf("\n%-16s %-26s %-30s %s\n", "pool", "scenario", "expected", "got");
	for (size_t i = 0; i < NROWS; i++)
		printf("%-16s %-26s %-30s %s%s\n", rows[i].pool, rows[i].scenario, rows[i].expect,
		       got[i][0] ? got[i] : "(not run)",
		       got[i][0] && !met[i] ? "   <-- wrong" : "");
	fflush(stdout);
	if (have_cli)
		tu_rm_rf(tmpdir);
	return 0;
}

/* A test named after its pool, which it gets as its state. */
#define POOL_TEST(name)                                                                            \
	{                                                                                          \
		name, test_pool, NULL, NULL, (void *)name                                          \
	}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    POOL_TEST("correct"),   POOL_TEST("silent_loss"), POOL_TEST("wrong_killed"),
	    POOL_TEST("run_twice"), POOL_TEST("invented"),    POOL_TEST("unbounded_retry"),
	    POOL_TEST("orphan"),    POOL_TEST("slow_abort"),  POOL_TEST("hang_second"),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
