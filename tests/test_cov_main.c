/* The chaos CLI (chaos/cli/main.c) as a user meets it: the built binary is run
 * with real arguments, and its exit codes and messages are checked against
 * the documented ones (0 pass, 1 failed or hung, 2 usage, 4 internal,
 * 128+N interrupted). The runs are real: a kill-on-start scenario on the
 * reference pool, a target that hangs past its deadline, a run interrupted
 * by SIGINT, and `chaos check` re-deciding a recorded history. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cgroup/cgroup.h"
#include "util/testutil.h"

static char chaos_bin[PATH_MAX];
static char src_root[PATH_MAX];
static char tmpdir[] = "/tmp/test_cov_main.XXXXXX";
static int have_cg;

/* The CLI runs from the source tree; its output goes to tmpdir. */
static const struct tu_cli_env cli_env = {chaos_bin, src_root, tmpdir};

/* Run chaos with argv (NULL-terminated, without argv[0]) and wait at most
 * limit_ms; when sig_after_ms >= 0, send sig_after_ms later a SIGINT to it.
 * A program still running at the limit is killed and the test fails. */
static void run_cli_sig(struct tu_cli *r, int limit_ms, int sig_after_ms, char *const *args)
{
	tu_run_cli(&cli_env, r, NULL, limit_ms, sig_after_ms, args);
}

static void run_cli(struct tu_cli *r, char *const *args)
{
	run_cli_sig(r, 60000, -1, args);
}

#define SKIP_WITHOUT_CG() TU_SKIP_UNLESS(have_cg, "skipped: no writable memory cgroup\n")

/* ---- tests ----------------------------------------------------------------- */

/* Help, version and the usage errors each give their documented code. */
static void test_usage(void **state)
{
	struct tu_cli *r = malloc(sizeof(*r));

	(void)state;
	assert_non_null(r);
	run_cli(r, (char *[]){NULL});
	assert_int_equal(r->code, 2);
	tu_assert_contains(r->err, "no command given");

	run_cli(r, (char *[]){"--help", NULL});
	assert_int_equal(r->code, 0);
	tu_assert_contains(r->out, "usage: chaos run SCENARIO.ini");

	run_cli(r, (char *[]){"--version", NULL});
	assert_int_equal(r->code, 0);
	tu_assert_contains(r->out, "chaos ");

	run_cli(r, (char *[]){"frobnicate", NULL});
	assert_int_equal(r->code, 2);
	tu_assert_contains(r->err, "unknown command 'frobnicate'");

	run_cli(r, (char *[]){"run", NULL});
	assert_int_equal(r->code, 2);
	tu_assert_contains(r->err, "no scenario file");

	run_cli(r, (char *[]){"run", "scenarios/seed/baseline.ini", NULL});
	assert_int_equal(r->code, 2);
	tu_assert_contains(r->err, "--target");

	run_cli(r, (char *[]){"run", "scenarios/seed/baseline.ini", "--bogus", NULL});
	assert_int_equal(r->code, 2);
	tu_assert_contains(r->err, "unexpected argument '--bogus'");

	run_cli(r, (char *[]){"run", "no/such/scenario.ini", "--target", "safepool", NULL});
	assert_int_equal(r->code, 2);
	assert_true(r->err[0] != '\0');

	run_cli(r, (char *[]){"run", "scenarios/seed/baseline.ini", "--target", "no-such-pool", NULL});
	assert_int_equal(r->code, 2);
	tu_assert_contains(r->err, "target 'no-such-pool'");

	run_cli(r, (char *[]){"run", "--workers", "zero", "--", "true", NULL});
	assert_int_equal(r->code, 2);
	tu_assert_contains(r->err, "chaos: run:");

	run_cli(r, (char *[]){"check", "scenarios/seed/baseline.ini", NULL});
	assert_int_equal(r->code, 2);
	tu_assert_contains(r->err, "check: expected SCENARIO.ini HISTORY.jsonl");

	run_cli(r, (char *[]){"check", "no/such/scenario.ini", "h.jsonl", NULL});
	assert_int_equal(r->code, 2);

	run_cli(r, (char *[]){"check", "scenarios/seed/baseline.ini", "/nonexistent/h.jsonl", NULL});
	assert_int_equal(r->code, 4);
	tu_assert_contains(r->err, "cannot read /nonexistent/h.jsonl");
	free(r);
}

/* A real kill-on-start run on the reference pool passes with every check
 * printed, and `chaos check` decides the recorded history the same way. */
static void test_run_then_check(void **state)
{
	struct tu_cli *r = malloc(sizeof(*r));
	char out[PATH_MAX], hist[PATH_MAX + 32];

	(void)state;
	assert_non_null(r);
	SKIP_WITHOUT_CG();
	snprintf(out, sizeof(out), "%s/kill-one-skip", tmpdir);
	run_cli(r, (char *[]){"run", "scenarios/seed/kill-one-skip.ini", "--target", "safepool",
			      "--out", out, "-v", NULL});
	assert_int_equal(r->code, 0);
	tu_assert_contains(r->out, "kill-one-skip on safepool: PASS");
	tu_assert_contains(r->out, "ok   killed-tasks");
	/* -v reports the run's numbers on stderr. */
	tu_assert_contains(r->err, "chaos: run done in");

	snprintf(hist, sizeof(hist), "%s/history.jsonl", out);
	run_cli(r, (char *[]){"check", "scenarios/seed/kill-one-skip.ini", hist, NULL});
	assert_int_equal(r->code, 0);
	tu_assert_contains(r->out, "kill-one-skip on recorded: PASS");

	/* The same history judged against another scenario's expectations:
	 * oom-skip requires the kill to be an OOM kill confirmed by the
	 * counter, and this one was a plain SIGKILL. */
	run_cli(r, (char *[]){"check", "scenarios/seed/oom-skip.ini", hist, NULL});
	assert_int_equal(r->code, 1);
	tu_assert_contains(r->out, "oom-skip on recorded: FAIL(oom)");
	tu_assert_contains(r->out, "FAIL oom");
	free(r);
}

/* A command target that never prints `done` runs into the deadline: the
 * verdict is HANG, exit code 1, and the run leaves nothing behind. A
 * missing command is a usage error. */
static void test_command_hang_and_missing(void **state)
{
	struct tu_cli *r = malloc(sizeof(*r));
	char out[PATH_MAX];

	(void)state;
	assert_non_null(r);
	SKIP_WITHOUT_CG();
	snprintf(out, sizeof(out), "%s/hang", tmpdir);
	run_cli(r, (char *[]){"run", "--tasks", "2", "--deadline", "500ms", "--out", out, "--",
			      "sleep", "30", NULL});
	assert_int_equal(r->code, 1);
	tu_assert_contains(r->out, "HANG");

	snprintf(out, sizeof(out), "%s/missing", tmpdir);
	run_cli(r, (char *[]){"run", "--out", out, "--", "/nonexistent/pool", NULL});
	assert_int_equal(r->code, 2);
	tu_assert_contains(r->err, "chaos: run failed");
	free(r);
}

/* SIGINT during a run: the controller tears the run down, prints
 * INTERRUPTED instead of a verdict, and exits 128 + SIGINT. */
static void test_interrupted(void **state)
{
	struct tu_cli *r = malloc(sizeof(*r));
	char out[PATH_MAX];

	(void)state;
	assert_non_null(r);
	SKIP_WITHOUT_CG();
	snprintf(out, sizeof(out), "%s/interrupted", tmpdir);
	run_cli_sig(r, 30000, 700,
		    (char *[]){"run", "--deadline", "20s", "--out", out, "--", "sleep", "30",
			       NULL});
	assert_int_equal(r->code, 128 + SIGINT);
	tu_assert_contains(r->out, "INTERRUPTED");
	free(r);
}

/* ---- setup ----------------------------------------------------------------- */

static int setup(void **state)
{
	struct chaos_cg_env env;

	(void)state;
	/* The source tree is the nearest ancestor holding the seed suite. */
	if (tu_cli_setup(chaos_bin, sizeof(chaos_bin), src_root, sizeof(src_root),
			 "scenarios/seed/kill-one-skip.ini", tmpdir))
		return -1;
	have_cg = chaos_cg_detect(&env) == 0 && env.version != CHAOS_CG_NONE;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return tu_rm_rf(tmpdir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_usage),
	    cmocka_unit_test(test_run_then_check),
	    cmocka_unit_test(test_command_hang_and_missing),
	    cmocka_unit_test(test_interrupted),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
