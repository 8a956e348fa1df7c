/* The `chaos run` option parser (chaos/cliopts.c) on every bad value it
 * names, and the CLI's skip and check paths that tests/test_cov_main.c
 * leaves out: a shipped target whose runtime is missing (exit 3, SKIP with
 * the reason), `chaos check` on a history cut short by a dead controller
 * (FAIL with a note saying so) and on a history of a skipped run (exit 3).
 * The runs are real: the built CLI runs the reference pool in a real
 * memory cgroup, and its history is then cut and checked again. */
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
#include "cli/cliopts.h"
#include "util/testutil.h"

static char chaos_bin[PATH_MAX];
static char src_root[PATH_MAX];
static char tmpdir[] = "/tmp/test_cov_cli.XXXXXX";
static int have_cg;

/* ---- option parsing ---------------------------------------------------------- */

/* Parse args (NULL-terminated); on failure the message goes to err. */
static int parse(char **args, struct chaos_scenario *sc, int *cmd, const char **out,
		 char *err, size_t errlen)
{
	int argc = 0, verbose = 0;

	while (args[argc])
		argc++;
	memset(sc, 0, sizeof(*sc));
	err[0] = '\0';
	return chaos_cli_scenario(argc, args, sc, cmd, out, &verbose, err, errlen);
}

/* args must be refused with a message holding want. */
static void refused(char **args, const char *want)
{
	struct chaos_scenario sc;
	const char *out = NULL;
	char err[512];
	int cmd;

	if (parse(args, &sc, &cmd, &out, err, sizeof(err)) != -EINVAL)
		fail_msg("'%s %s' was accepted", args[0], args[1] ? args[1] : "");
	if (!strstr(err, want))
		fail_msg("'%s %s': expected '%s' in '%s'", args[0], args[1] ? args[1] : "", want,
			 err);
}

static void test_option_errors(void **state)
{
	char long64[80], long128[140], long96[100];

	(void)state;
	memset(long64, '1', sizeof(long64) - 1);
	long64[sizeof(long64) - 1] = '\0';
	memset(long128, '1', sizeof(long128) - 1);
	long128[sizeof(long128) - 1] = '\0';
	memset(long96, '1', sizeof(long96) - 1);
	long96[sizeof(long96) - 1] = '\0';

	refused((char *[]){"stray", "--", "true", NULL},
		"unexpected argument 'stray' (the command goes after --)");
	refused((char *[]){"--workers", NULL}, "option --workers needs a value");
	refused((char *[]){"--retries", "x", "--", "true", NULL},
		"option --retries: bad value 'x' (expected a non-negative integer)");
	refused((char *[]){"--seed", "12z", "--", "true", NULL}, "a non-negative integer");
	refused((char *[]){"--signal", "BOGUS", "--", "true", NULL},
		"a signal name or number, like KILL or SIGSTOP");
	refused((char *[]){"--tasks", "0", "--", "true", NULL},
		"cannot set up the scenario: Invalid argument");

	/* TASK[+DELAY] */
	refused((char *[]){"--stop-on-start", "x", "--", "true", NULL},
		"TASK or TASK+DELAY, like 3 or 3+50ms");
	refused((char *[]){"--kill-on-start", long64, "--", "true", NULL}, "TASK or TASK+DELAY");
	refused((char *[]){"--kill-on-start", "3+5", "--", "true", NULL}, "TASK or TASK+DELAY");

	/* WORKER@TIME */
	refused((char *[]){"--kill-at", "0", "--", "true", NULL}, "WORKER@TIME, like 0@500ms");
	refused((char *[]){"--kill-at", long64, "--", "true", NULL}, "WORKER@TIME");
	refused((char *[]){"--kill-at", "w@1s", "--", "true", NULL}, "WORKER@TIME");
	refused((char *[]){"--workers", "2", "--kill-at", "5@1s", "--", "true", NULL},
		"--kill-at: worker 5 does not exist (--workers 2)");

	/* INTERVAL[,jitter=T][,count=N] */
	refused((char *[]){"--kill-every", long128, "--", "true", NULL},
		"INTERVAL[,jitter=T][,count=N]");
	refused((char *[]){"--kill-every", "0ms", "--", "true", NULL}, "INTERVAL[,jitter=T]");
	refused((char *[]){"--kill-every", "100ms,jitter=x", "--", "true", NULL},
		"INTERVAL[,jitter=T]");
	refused((char *[]){"--kill-every", "100ms,count=x", "--", "true", NULL},
		"INTERVAL[,jitter=T]");
	refused((char *[]){"--kill-every", "100ms,bogus=1", "--", "true", NULL},
		"INTERVAL[,jitter=T]");

	/* BYTES@TIME+DURATION */
	refused((char *[]){"--pressure", long96, "--", "true", NULL},
		"BYTES@TIME+DURATION, like 256M@1s+5s");
	refused((char *[]){"--pressure", "64M", "--", "true", NULL}, "BYTES@TIME+DURATION");
	refused((char *[]){"--pressure", "64M@1s", "--", "true", NULL}, "BYTES@TIME+DURATION");
	refused((char *[]){"--pressure", "0@1s+1s", "--", "true", NULL}, "BYTES@TIME+DURATION");
	refused((char *[]){"--pressure", "64M@x+1s", "--", "true", NULL}, "BYTES@TIME+DURATION");
	refused((char *[]){"--pressure", "64M@1s+0s", "--", "true", NULL}, "BYTES@TIME+DURATION");
}

/* The accepted spellings end up in the scenario. */
static void test_option_values(void **state)
{
	struct chaos_scenario sc;
	const char *out = NULL;
	char err[512];
	uint64_t bytes = 0;
	int cmd = -1;

	(void)state;
	assert_int_equal(chaos_parse_size("64MB", &bytes), 0);
	assert_int_equal(bytes, 64ULL << 20);
	assert_int_equal(chaos_parse_size("2Gb", &bytes), 0);
	assert_int_equal(bytes, 2ULL << 30);
	assert_int_equal(chaos_parse_size("512KiB", &bytes), 0);
	assert_int_equal(bytes, 512ULL << 10);
	assert_int_equal(chaos_parse_size("64MX", &bytes), -EINVAL);

	assert_int_equal(parse((char *[]){"--policy", "retry", "--retries", "3", "--signal",
					  "SIGTERM", "--kill-on-start", "1+20ms", "--kill-at",
					  "1@300ms", "--mem-limit", "64MB", "--out", "somewhere",
					  "--", "pool", "arg", NULL},
			       &sc, &cmd, &out, err, sizeof(err)),
			 0);
	assert_int_equal(cmd, 15);
	assert_string_equal(out, "somewhere");
	assert_string_equal(sc.policy, "retry");
	assert_int_equal(sc.retries, 3);
	assert_int_equal(sc.mem_mode, CHAOS_MEM_WHOLE_RUN);
	assert_int_equal(sc.mem_limit, 64ULL << 20);
	assert_int_equal(sc.nfaults, 2);
	/* --signal applies to every kill fault. */
	assert_int_equal(sc.faults[0].signo, SIGTERM);
	assert_int_equal(sc.faults[0].task, 1);
	assert_int_equal(sc.faults[0].delay_ms, 20);
	assert_int_equal(sc.faults[1].signo, SIGTERM);
	assert_int_equal(sc.faults[1].worker, 1);
	chaos_scenario_free(&sc);
}

/* ---- the CLI ------------------------------------------------------------------- */

/* The CLI runs from the source tree; its output goes to tmpdir. */
static const struct tu_cli_env cli_env = {chaos_bin, src_root, tmpdir};

/* Run the CLI from the source tree with args (NULL-terminated, without
 * argv[0]), with PATH set to path when not NULL; at most 60 s. */
static void run_cli(struct tu_cli *r, const char *path, char **args)
{
	tu_run_cli(&cli_env, r, path, 60000, -1, args);
}

/* A shipped target whose tool is not installed is a SKIP with the reason,
 * exit code 3, and nothing runs. */
static void test_target_unavailable(void **state)
{
	struct tu_cli *r = malloc(sizeof(*r));
	char out[PATH_MAX], hist[PATH_MAX + 32];

	(void)state;
	assert_non_null(r);
	snprintf(out, sizeof(out), "%s/unavailable", tmpdir);
	run_cli(r, "/nonexistent-cov-cli",
		(char *[]){"run", "scenarios/seed/baseline.ini", "--target", "gnu-parallel", "--out",
			   out, NULL});
	assert_int_equal(r->code, 3);
	tu_assert_contains(r->out, "baseline on gnu-parallel: SKIP (");
	tu_assert_contains(r->out, "parallel not installed");
	snprintf(hist, sizeof(hist), "%s/history.jsonl", out);
	assert_int_equal(access(hist, F_OK), -1);
	free(r);
}

/* Copy the first len bytes of from into to. */
static void copy_prefix(const char *from, const char *to, off_t len)
{
	char *buf = malloc((size_t)len);
	int in = open(from, O_RDONLY | O_CLOEXEC), o;

	assert_non_null(buf);
	assert_true(in >= 0);
	assert_int_equal(read(in, buf, (size_t)len), len);
	close(in);
	o = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(o >= 0);
	assert_int_equal(write(o, buf, (size_t)len), len);
	close(o);
	free(buf);
}

/* A real history cut in the middle of a line, as a controller killed while
 * writing leaves it: `chaos check` fails the run and says the history was
 * cut short; the complete history still passes. */
static void test_check_truncated(void **state)
{
	struct tu_cli *r = malloc(sizeof(*r));
	char out[PATH_MAX], hist[PATH_MAX + 32], cut[PATH_MAX + 32];
	struct stat st;

	(void)state;
	assert_non_null(r);
	if (!have_cg) {
		free(r);
		print_message("skipped: no writable memory cgroup\n");
		skip();
	}
	snprintf(out, sizeof(out), "%s/baseline", tmpdir);
	run_cli(r, NULL,
		(char *[]){"run", "scenarios/seed/baseline.ini", "--target", "safepool", "--out", out,
			   NULL});
	assert_int_equal(r->code, 0);
	tu_assert_contains(r->out, "baseline on safepool: PASS");

	snprintf(hist, sizeof(hist), "%s/history.jsonl", out);
	snprintf(cut, sizeof(cut), "%s/cut.jsonl", tmpdir);
	assert_int_equal(stat(hist, &st), 0);
	/* Past the middle, and not on a line boundary: 7 bytes into a line. */
	{
		char *buf = malloc((size_t)st.st_size + 1);
		int fd = open(hist, O_RDONLY | O_CLOEXEC);
		off_t at;

		assert_non_null(buf);
		assert_true(fd >= 0);
		assert_int_equal(read(fd, buf, (size_t)st.st_size), st.st_size);
		close(fd);
		buf[st.st_size] = '\0';
		at = strchr(buf + st.st_size / 2, '\n') - buf + 8;
		free(buf);
		copy_prefix(hist, cut, at);
	}
	run_cli(r, NULL, (char *[]){"check", "scenarios/seed/baseline.ini", cut, NULL});
	assert_int_equal(r->code, 1);
	tu_assert_contains(r->out, "baseline on recorded: FAIL");
	tu_assert_contains(r->out, "note: history cut short after line");

	run_cli(r, NULL, (char *[]){"check", "scenarios/seed/baseline.ini", hist, NULL});
	assert_int_equal(r->code, 0);
	free(r);
}

/* The history of a run the environment could not host checks as SKIP. */
static void test_check_skipped(void **state)
{
	struct tu_cli *r = malloc(sizeof(*r));
	char path[PATH_MAX + 32];
	static const char text[] =
	    "{\"t\":0.0,\"ev\":\"run\",\"version\":1,\"name\":\"baseline\",\"target\":\"x\","
	    "\"argv\":[\"x\"],\"backend\":\"none\",\"cgroup\":null,\"mem_mode\":\"per-worker\","
	    "\"mem_limit\":67108864,\"deadline_ms\":20000,\"seed\":1,\"workers\":4,\"ntasks\":10,"
	    "\"policy\":\"skip\",\"retries\":0}\n"
	    "{\"t\":0.001,\"ev\":\"teardown\",\"killed\":0,\"cgroups_removed\":0,\"ok\":true,"
	    "\"error\":null}\n"
	    "{\"t\":0.002,\"ev\":\"end_run\",\"verdict\":\"skipped\",\"reason\":\"scenario needs "
	    "memory limits, but no usable memory cgroup\",\"elapsed_ms\":2.0}\n";
	int fd;

	(void)state;
	assert_non_null(r);
	snprintf(path, sizeof(path), "%s/skipped.jsonl", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
	close(fd);
	run_cli(r, NULL, (char *[]){"check", "scenarios/seed/baseline.ini", path, NULL});
	assert_int_equal(r->code, 3);
	tu_assert_contains(r->out, "baseline on recorded: SKIP");
	tu_assert_contains(r->out, "note: scenario needs memory limits");
	free(r);
}

/* ---- setup ----------------------------------------------------------------------- */

static int setup(void **state)
{
	struct chaos_cg_env env;

	(void)state;
	if (tu_cli_setup(chaos_bin, sizeof(chaos_bin), src_root, sizeof(src_root),
			 "scenarios/seed/baseline.ini", tmpdir))
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
	    cmocka_unit_test(test_option_errors),
	    cmocka_unit_test(test_option_values),
	    cmocka_unit_test(test_target_unavailable),
	    cmocka_unit_test(test_check_truncated),
	    cmocka_unit_test(test_check_skipped),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
