/* The chaos CLI (chaos/main.c) as a user meets it: the built binary is run
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

#include "../chaos/cgroup.h"

#ifdef SP_COVERAGE
void __gcov_dump(void);
#endif

static char chaos_bin[PATH_MAX];
static char src_root[PATH_MAX];
static char tmpdir[] = "/tmp/test_cov_main.XXXXXX";
static int have_cg;

/* What one CLI invocation did. */
struct cli {
	int code;        /* exit status, or 128+N when killed by signal N */
	char out[16384]; /* stdout */
	char err[16384]; /* stderr */
};

static void child_exit(int code)
{
#ifdef SP_COVERAGE
	__gcov_dump();
#endif
	_exit(code);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void slurp(const char *path, char *buf, size_t len)
{
	ssize_t n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	buf[0] = '\0';
	if (fd < 0)
		return;
	n = read(fd, buf, len - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
}

/* Run chaos with argv (NULL-terminated, without argv[0]) and wait at most
 * limit_ms; when sig_after_ms >= 0, send sig_after_ms later a SIGINT to it.
 * A program still running at the limit is killed and the test fails. */
static void run_cli_sig(struct cli *r, int limit_ms, int sig_after_ms, char *const *args)
{
	char *argv[32], outp[PATH_MAX], errp[PATH_MAX];
	int64_t deadline = now_ms() + limit_ms, sig_at = -1;
	int pidfd, status = 0, n = 0;
	struct pollfd pfd;
	pid_t pid;

	argv[n++] = chaos_bin;
	while (args[n - 1] && n < 31) {
		argv[n] = args[n - 1];
		n++;
	}
	argv[n] = NULL;
	snprintf(outp, sizeof(outp), "%s/stdout", tmpdir);
	snprintf(errp, sizeof(errp), "%s/stderr", tmpdir);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int o = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int e = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
			child_exit(126);
		/* From the source tree, as a user runs it; the scenario
		 * paths below are relative to it. */
		if (chdir(src_root) < 0)
			child_exit(126);
		execv(chaos_bin, argv);
		child_exit(127);
	}
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	assert_true(pidfd >= 0);
	if (sig_after_ms >= 0)
		sig_at = now_ms() + sig_after_ms;
	pfd.fd = pidfd;
	pfd.events = POLLIN;
	for (;;) {
		int64_t now = now_ms(), wait = deadline - now;

		if (sig_at >= 0 && now >= sig_at) {
			syscall(SYS_pidfd_send_signal, pidfd, SIGINT, NULL, 0);
			sig_at = -1;
		}
		if (sig_at >= 0 && sig_at - now < wait)
			wait = sig_at - now;
		if (wait <= 0 && now >= deadline)
			break;
		if (poll(&pfd, 1, (int)(wait > 0 ? wait : 0)) > 0)
			break;
	}
	if (waitpid(pid, &status, WNOHANG) != pid) {
		syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
		waitpid(pid, &status, 0);
		close(pidfd);
		fail_msg("chaos %s did not finish within %d ms", args[0] ? args[0] : "", limit_ms);
	}
	close(pidfd);
	r->code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	slurp(outp, r->out, sizeof(r->out));
	slurp(errp, r->err, sizeof(r->err));
}

static void run_cli(struct cli *r, char *const *args)
{
	run_cli_sig(r, 60000, -1, args);
}

static void assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("expected '%s' in:\n%s", needle, hay);
}

#define SKIP_WITHOUT_CG()                                                                  \
	do {                                                                               \
		if (!have_cg) {                                                            \
			print_message("skipped: no writable memory cgroup\n");            \
			skip();                                                            \
		}                                                                          \
	} while (0)

/* ---- tests ----------------------------------------------------------------- */

/* Help, version and the usage errors each give their documented code. */
static void test_usage(void **state)
{
	struct cli *r = malloc(sizeof(*r));

	(void)state;
	assert_non_null(r);
	run_cli(r, (char *[]){NULL});
	assert_int_equal(r->code, 2);
	assert_contains(r->err, "no command given");

	run_cli(r, (char *[]){"--help", NULL});
	assert_int_equal(r->code, 0);
	assert_contains(r->out, "usage: chaos run SCENARIO.ini");

	run_cli(r, (char *[]){"--version", NULL});
	assert_int_equal(r->code, 0);
	assert_contains(r->out, "chaos ");

	run_cli(r, (char *[]){"frobnicate", NULL});
	assert_int_equal(r->code, 2);
	assert_contains(r->err, "unknown command 'frobnicate'");

	run_cli(r, (char *[]){"run", NULL});
	assert_int_equal(r->code, 2);
	assert_contains(r->err, "no scenario file");

	run_cli(r, (char *[]){"run", "scenarios/seed/baseline.ini", NULL});
	assert_int_equal(r->code, 2);
	assert_contains(r->err, "--target");

	run_cli(r, (char *[]){"run", "scenarios/seed/baseline.ini", "--bogus", NULL});
	assert_int_equal(r->code, 2);
	assert_contains(r->err, "unexpected argument '--bogus'");

	run_cli(r, (char *[]){"run", "no/such/scenario.ini", "--target", "safepool", NULL});
	assert_int_equal(r->code, 2);
	assert_true(r->err[0] != '\0');

	run_cli(r, (char *[]){"run", "scenarios/seed/baseline.ini", "--target", "no-such-pool", NULL});
	assert_int_equal(r->code, 2);
	assert_contains(r->err, "target 'no-such-pool'");

	run_cli(r, (char *[]){"run", "--workers", "zero", "--", "true", NULL});
	assert_int_equal(r->code, 2);
	assert_contains(r->err, "chaos: run:");

	run_cli(r, (char *[]){"check", "scenarios/seed/baseline.ini", NULL});
	assert_int_equal(r->code, 2);
	assert_contains(r->err, "check: expected SCENARIO.ini HISTORY.jsonl");

	run_cli(r, (char *[]){"check", "no/such/scenario.ini", "h.jsonl", NULL});
	assert_int_equal(r->code, 2);

	run_cli(r, (char *[]){"check", "scenarios/seed/baseline.ini", "/nonexistent/h.jsonl", NULL});
	assert_int_equal(r->code, 4);
	assert_contains(r->err, "cannot read /nonexistent/h.jsonl");
	free(r);
}

/* A real kill-on-start run on the reference pool passes with every check
 * printed, and `chaos check` decides the recorded history the same way. */
static void test_run_then_check(void **state)
{
	struct cli *r = malloc(sizeof(*r));
	char out[PATH_MAX], hist[PATH_MAX + 32];

	(void)state;
	assert_non_null(r);
	SKIP_WITHOUT_CG();
	snprintf(out, sizeof(out), "%s/kill-one-skip", tmpdir);
	run_cli(r, (char *[]){"run", "scenarios/seed/kill-one-skip.ini", "--target", "safepool",
			      "--out", out, "-v", NULL});
	assert_int_equal(r->code, 0);
	assert_contains(r->out, "kill-one-skip on safepool: PASS");
	assert_contains(r->out, "ok   killed-tasks");
	/* -v reports the run's numbers on stderr. */
	assert_contains(r->err, "chaos: run done in");

	snprintf(hist, sizeof(hist), "%s/history.jsonl", out);
	run_cli(r, (char *[]){"check", "scenarios/seed/kill-one-skip.ini", hist, NULL});
	assert_int_equal(r->code, 0);
	assert_contains(r->out, "kill-one-skip on recorded: PASS");

	/* The same history judged against another scenario's expectations:
	 * oom-skip requires the kill to be an OOM kill confirmed by the
	 * counter, and this one was a plain SIGKILL. */
	run_cli(r, (char *[]){"check", "scenarios/seed/oom-skip.ini", hist, NULL});
	assert_int_equal(r->code, 1);
	assert_contains(r->out, "oom-skip on recorded: FAIL(oom)");
	assert_contains(r->out, "FAIL oom");
	free(r);
}

/* A command target that never prints `done` runs into the deadline: the
 * verdict is HANG, exit code 1, and the run leaves nothing behind. A
 * missing command is a usage error. */
static void test_command_hang_and_missing(void **state)
{
	struct cli *r = malloc(sizeof(*r));
	char out[PATH_MAX];

	(void)state;
	assert_non_null(r);
	SKIP_WITHOUT_CG();
	snprintf(out, sizeof(out), "%s/hang", tmpdir);
	run_cli(r, (char *[]){"run", "--tasks", "2", "--deadline", "500ms", "--out", out, "--",
			      "sleep", "30", NULL});
	assert_int_equal(r->code, 1);
	assert_contains(r->out, "HANG");

	snprintf(out, sizeof(out), "%s/missing", tmpdir);
	run_cli(r, (char *[]){"run", "--out", out, "--", "/nonexistent/pool", NULL});
	assert_int_equal(r->code, 2);
	assert_contains(r->err, "chaos: run failed");
	free(r);
}

/* SIGINT during a run: the controller tears the run down, prints
 * INTERRUPTED instead of a verdict, and exits 128 + SIGINT. */
static void test_interrupted(void **state)
{
	struct cli *r = malloc(sizeof(*r));
	char out[PATH_MAX];

	(void)state;
	assert_non_null(r);
	SKIP_WITHOUT_CG();
	snprintf(out, sizeof(out), "%s/interrupted", tmpdir);
	run_cli_sig(r, 30000, 700,
		    (char *[]){"run", "--deadline", "20s", "--out", out, "--", "sleep", "30",
			       NULL});
	assert_int_equal(r->code, 128 + SIGINT);
	assert_contains(r->out, "INTERRUPTED");
	free(r);
}

/* ---- setup ----------------------------------------------------------------- */

static int has_seed(const char *dir)
{
	char p[PATH_MAX + 64];
	struct stat st;

	snprintf(p, sizeof(p), "%s/scenarios/seed/kill-one-skip.ini", dir);
	return stat(p, &st) == 0;
}

static int setup(void **state)
{
	struct chaos_cg_env env;
	char exe[PATH_MAX], dir[PATH_MAX], *slash;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	(void)state;
	if (n <= 0)
		return -1;
	exe[n] = '\0';
	/* The test program is <build>/tests/test_cov_main; the CLI is
	 * <build>/chaos. */
	slash = strrchr(exe, '/');
	*slash = '\0';
	slash = strrchr(exe, '/');
	*slash = '\0';
	snprintf(chaos_bin, sizeof(chaos_bin), "%.*s/chaos", PATH_MAX - 16, exe);
	if (access(chaos_bin, X_OK) < 0) {
		fprintf(stderr, "test_cov_main: %s: %s\n", chaos_bin, strerror(errno));
		return -1;
	}
	/* The source tree is the nearest ancestor holding the seed suite. */
	snprintf(dir, sizeof(dir), "%s", exe);
	while (!has_seed(dir)) {
		slash = strrchr(dir, '/');
		if (!slash || slash == dir) {
			fprintf(stderr, "test_cov_main: no source tree above %s\n", exe);
			return -1;
		}
		*slash = '\0';
	}
	snprintf(src_root, sizeof(src_root), "%s", dir);
	if (!mkdtemp(tmpdir))
		return -1;
	have_cg = chaos_cg_detect(&env) == 0 && env.version != CHAOS_CG_NONE;
	return 0;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
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
