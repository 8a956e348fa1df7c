/* The `chaos` CLI (chaos/cli/): the `chaos run` option parser
 * (chaos/cli/cliopts.c) on every value it accepts and every bad value it
 * names, its parity with scenario files (the same value gives the same
 * verdict and the same words on both paths), and the built binary as a user
 * meets it (chaos/cli/main.c): exit codes and messages against the
 * documented ones (0 pass, 1 failed or hung, 2 usage, 3 skipped, 4
 * internal, 128+N interrupted). The runs are real: a kill-on-start scenario
 * on the reference pool in a real memory cgroup, a target that hangs past
 * its deadline, a run interrupted by SIGINT, a shipped target whose runtime
 * is missing, and `chaos check` re-deciding a recorded history, one cut
 * short by a dead controller and one of a skipped run. */
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
#include "check/scenario.h"
#include "cli/cliopts.h"
#include "util/testutil.h"

static char chaos_bin[PATH_MAX];
static char src_root[PATH_MAX];
static char tmpdir[] = "/tmp/test_cli.XXXXXX";
static int have_cg;

/* ---- option parsing ---------------------------------------------------------- */

/* Parse args (NULL-terminated); on failure the message goes to err. */
static int parse(char **args, struct chaos_scenario *sc, int *cmd, const char **out, char *err,
		 size_t errlen)
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
		"--retries: bad number 'x' (expected a whole number)");
	refused((char *[]){"--seed", "12z", "--", "true", NULL},
		"--seed: bad number '12z' (expected a whole number)");
	refused((char *[]){"--signal", "BOGUS", "--", "true", NULL},
		"a signal name or number, like KILL or SIGSTOP");
	refused((char *[]){"--tasks", "0", "--", "true", NULL},
		"--tasks: 0 is out of range (1 to 100000)");

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
		"--kill-at: worker index 5 out of range (expected 0 to 1 for workers = 2)");

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
	int cmd = -1;

	(void)state;
	/* The size spellings 64MB, 2Gb, 512KiB and the refused 64MX are in
	 * tests/test_value.c, with the grammar they belong to. */
	assert_int_equal(
	    parse((char *[]){"--policy", "retry", "--retries", "3", "--signal", "SIGTERM",
			     "--kill-on-start", "1+20ms", "--kill-at", "1@300ms", "--mem-limit",
			     "64MB", "--out", "somewhere", "--", "pool", "arg", NULL},
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

/* The trigger options, --victim and the spawn anchor of timed faults. */
static void test_trigger_options(void **state)
{
	struct chaos_scenario sc;
	const char *out = NULL;
	char err[512];
	int cmd = -1;

	(void)state;
	assert_int_equal(parse((char *[]){"--kill-after-starts", "3+40ms", "--kill-on-end", "2",
					  "--kill-all-at", "1s", "--pressure", "16M@1s+1s",
					  "--victim", "any", "--", "pool", NULL},
			       &sc, &cmd, &out, err, sizeof(err)),
			 0);
	assert_int_equal(sc.nfaults, 4);
	assert_int_equal(sc.faults[0].kind, CHAOS_FAULT_AFTER_STARTS);
	assert_int_equal(sc.faults[0].starts, 3);
	assert_int_equal(sc.faults[0].delay_ms, 40);
	assert_int_equal(sc.faults[1].kind, CHAOS_FAULT_ON_END);
	assert_int_equal(sc.faults[1].task, 2);
	assert_int_equal(sc.faults[1].attempt, 1);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(sc.faults[i].victim, CHAOS_VICTIM_ANY);
	/* Pressure has no victim; timed faults count from the spawn. */
	assert_int_equal(sc.faults[3].victim, CHAOS_VICTIM_WORKER);
	assert_int_equal(sc.faults[2].from, CHAOS_FROM_SPAWN);
	assert_int_equal(sc.faults[3].from, CHAOS_FROM_SPAWN);
	chaos_scenario_free(&sc);
	assert_int_equal(parse((char *[]){"--kill-after-starts", "0", "--", "pool", NULL}, &sc,
			       &cmd, &out, err, sizeof(err)),
			 -EINVAL);
	tu_assert_contains(err, "--kill-after-starts: bad value '0'");
	assert_int_equal(parse((char *[]){"--kill-on-end", "9", "--tasks", "4", "--", "pool", NULL},
			       &sc, &cmd, &out, err, sizeof(err)),
			 -EINVAL);
	tu_assert_contains(err, "--kill-on-end: task id 9 out of range");
	assert_int_equal(parse((char *[]){"--victim", "boss", "--kill-at", "0@1s", "--", "pool",
					  NULL},
			       &sc, &cmd, &out, err, sizeof(err)),
			 -EINVAL);
	tu_assert_contains(err, "--victim: ");
	assert_int_equal(parse((char *[]){"--victim", "main", "--kill-at", "1@1s", "--", "pool",
					  NULL},
			       &sc, &cmd, &out, err, sizeof(err)),
			 -EINVAL);
	tu_assert_contains(err, "--kill-at: worker only applies to victim = worker or any");
}

static void test_cli_scenario(void **state)
{
	char *argv[] = {"--workers",
			"3",
			"--tasks",
			"6",
			"--mem-per-worker",
			"64M",
			"--kill-on-start",
			"2+50ms",
			"--kill-at",
			"1@500ms",
			"--kill-every",
			"200ms,jitter=50ms,count=4",
			"--seed",
			"7",
			"--kill-all-at",
			"3s",
			"--stop-on-start",
			"4",
			"--cont-after",
			"100ms",
			"--pressure",
			"256M@1s+5s",
			"--deadline",
			"10s",
			"-v",
			"--out",
			"/tmp/x",
			"--",
			"python3",
			"pool.py",
			NULL};
	int argc = (int)(sizeof(argv) / sizeof(argv[0])) - 1;
	struct chaos_scenario sc;
	const char *out = NULL;
	char err[256];
	int cmd = -1, verbose = 0;

	(void)state;
	assert_int_equal(
	    chaos_cli_scenario(argc, argv, &sc, &cmd, &out, &verbose, err, sizeof(err)), 0);
	assert_string_equal(argv[cmd], "python3");
	assert_string_equal(out, "/tmp/x");
	assert_int_equal(verbose, 1);
	assert_int_equal(sc.workers, 3);
	assert_int_equal(sc.ntasks, 6);
	assert_int_equal(sc.mem_mode, CHAOS_MEM_PER_WORKER);
	assert_true(sc.mem_limit == 64ULL << 20);
	assert_int_equal(sc.deadline_ms, 10000);
	assert_true(sc.seed == 7);
	assert_int_equal(sc.nfaults, 6);
	assert_int_equal(sc.faults[0].kind, CHAOS_FAULT_ON_START);
	assert_int_equal(sc.faults[0].task, 2);
	assert_int_equal(sc.faults[0].delay_ms, 50);
	assert_int_equal(sc.faults[1].kind, CHAOS_FAULT_AT_TIME);
	assert_int_equal(sc.faults[1].worker, 1);
	assert_int_equal(sc.faults[1].delay_ms, 500);
	assert_int_equal(sc.faults[2].interval_ms, 200);
	assert_int_equal(sc.faults[2].jitter_ms, 50);
	assert_int_equal(sc.faults[2].count, 4);
	assert_true(sc.faults[2].seed == 7);
	assert_int_equal(sc.faults[3].kind, CHAOS_FAULT_ALL_AT);
	assert_int_equal(sc.faults[4].signo, SIGSTOP);
	assert_int_equal(sc.faults[4].cont_after_ms, 100);
	assert_int_equal(sc.faults[5].kind, CHAOS_FAULT_PRESSURE);
	assert_true(sc.faults[5].bytes == 256ULL << 20);
	assert_int_equal(sc.faults[5].duration_ms, 5000);
	chaos_scenario_free(&sc);
}

/* Each bad input is rejected with a message naming the option and value. */
static void test_cli_errors(void **state)
{
	static const char *cases[][3] = {
	    {"--workers", "0", "--workers"},
	    {"--deadline", "30", "unit"},
	    {"--mem-per-worker", "lots", "64M"},
	    {"--kill-at", "0500ms", "WORKER@TIME"},
	    {"--kill-every", "200ms,jit=5ms", "jitter"},
	    {"--policy", "maybe", "skip, abort or retry"},
	    {"--pressure", "256M@1s", "BYTES@TIME+DURATION"},
	    {"--bogus", "1", "unknown option"},
	    {"--kill-on-start", "99", "--kill-on-start: task id 99 out of range"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *argv[] = {(char *)cases[i][0], (char *)cases[i][1], "--", "true", NULL};
		struct chaos_scenario sc;
		const char *out = NULL;
		char err[256] = "";
		int cmd, verbose = 0;

		assert_int_equal(
		    chaos_cli_scenario(4, argv, &sc, &cmd, &out, &verbose, err, sizeof(err)),
		    -EINVAL);
		if (!strstr(err, cases[i][2]))
			fail_msg("case %zu: '%s' does not mention '%s'", i, err, cases[i][2]);
	}
	{
		char *argv[] = {"--mem-limit", "1G", "--mem-per-worker", "1G", "--", "x", NULL};
		struct chaos_scenario sc;
		const char *out = NULL;
		char err[256] = "";
		int cmd, verbose = 0;

		assert_int_equal(
		    chaos_cli_scenario(6, argv, &sc, &cmd, &out, &verbose, err, sizeof(err)),
		    -EINVAL);
		assert_non_null(strstr(err, "only one of"));
	}
	{
		char *argv[] = {"--workers", "2", NULL};
		struct chaos_scenario sc;
		const char *out = NULL;
		char err[256] = "";
		int cmd, verbose = 0;

		assert_int_equal(
		    chaos_cli_scenario(2, argv, &sc, &cmd, &out, &verbose, err, sizeof(err)),
		    -EINVAL);
		assert_non_null(strstr(err, "no target command"));
	}
}

/* ---- parity with scenario files ------------------------------------------------ */

/* Load a scenario file holding text; on refusal, err gets the message
 * without its "file:line: " prefix. Returns the load's answer. */
static int load_text(const char *text, struct chaos_scenario *sc, char *err, size_t errlen)
{
	char path[] = "/tmp/test_cli_parity.XXXXXX", full[1024];
	const char *msg;
	FILE *f;
	int fd, r;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
	r = chaos_scenario_load(sc, path, full, sizeof(full));
	assert_int_equal(unlink(path), 0);
	msg = full;
	if (r) {
		/* "path:LINE: " */
		assert_int_equal(strncmp(full, path, strlen(path)), 0);
		msg = strchr(full + strlen(path) + 1, ':');
		assert_non_null(msg);
		msg += 2;
	}
	snprintf(err, errlen, "%s", r ? msg : "");
	return r;
}

/* Each value refused by the file and by the option that sets the same key. */
static const struct {
	const char *file;    /* a whole scenario file */
	const char *args[6]; /* the last option given holds the bad value */
	int piece;	     /* 1: a piece of a fault option's value */
} value_cases[] = {
    /* The cases. */
    {"[scenario]\ntasks = 200000\n", {"--tasks", "200000"}, 0},
    {"[scenario]\n[memory]\nmode = per-worker\nlimit = 1\n", {"--mem-per-worker", "1"}, 0},
    {"[scenario]\n[memory]\nmode = whole-run\nlimit = 1\n", {"--mem-limit", "1"}, 0},
    {"[scenario]\n[fault]\nkind = kill-on-start\nsignal = SIGSTOP\ntask = x\n",
     {"--stop-on-start", "x"},
     1},
    /* Every [scenario] key with an option. */
    {"[scenario]\ntasks = 0\n", {"--tasks", "0"}, 0},
    {"[scenario]\nworkers = 0\n", {"--workers", "0"}, 0},
    {"[scenario]\nworkers = 1025\n", {"--workers", "1025"}, 0},
    {"[scenario]\nworkers = four\n", {"--workers", "four"}, 0},
    {"[scenario]\npolicy = retry\nretries = 1001\n", {"--policy", "retry", "--retries", "1001"}, 0},
    {"[scenario]\npolicy = maybe\n", {"--policy", "maybe"}, 0},
    {"[scenario]\ndeadline = 20\n", {"--deadline", "20"}, 0},
    {"[scenario]\ndeadline = 3601s\n", {"--deadline", "3601s"}, 0},
    {"[scenario]\ndeadline = 0\n", {"--deadline", "0"}, 0},
    {"[scenario]\nseed = 12z\n", {"--seed", "12z"}, 0},
    {"[scenario]\nseed = 18446744073709551616\n", {"--seed", "18446744073709551616"}, 0},
    {"[scenario]\n[memory]\nmode = per-worker\nlimit = 64X\n", {"--mem-per-worker", "64X"}, 0},
    {"[scenario]\n[fault]\nkind = kill-all-at\nat = 1s\nsignal = SIGFOO\n",
     {"--signal", "SIGFOO"},
     0},
    {"[scenario]\n[fault]\nkind = kill-on-start\ntask = 0\nsignal = SIGSTOP\n"
     "cont-after = 5x\n",
     {"--cont-after", "5x"},
     0},
    /* Every piece of a fault option. */
    {"[scenario]\n[fault]\nkind = kill-on-start\ntask = x\n", {"--kill-on-start", "x"}, 1},
    {"[scenario]\n[fault]\nkind = kill-on-start\ntask = 3\ndelay = 5\n",
     {"--kill-on-start", "3+5"},
     1},
    {"[scenario]\n[fault]\nkind = kill-at\nworker = w\nat = 1s\n", {"--kill-at", "w@1s"}, 1},
    {"[scenario]\n[fault]\nkind = kill-at\nat = 1x\n", {"--kill-at", "0@1x"}, 1},
    {"[scenario]\n[fault]\nkind = kill-every\ninterval = 0ms\ncount = 1\n",
     {"--kill-every", "0ms"},
     1},
    {"[scenario]\n[fault]\nkind = kill-every\ninterval = 1s\njitter = x\ncount = 1\n",
     {"--kill-every", "1s,jitter=x"},
     1},
    {"[scenario]\n[fault]\nkind = kill-every\ninterval = 1s\ncount = 0\n",
     {"--kill-every", "1s,count=0"},
     1},
    {"[scenario]\n[fault]\nkind = kill-all-at\nat = 5000000s\n", {"--kill-all-at", "5000000s"}, 1},
    {"[scenario]\n[fault]\nkind = pressure\nbytes = 0\nduration = 1s\nat = 1s\n",
     {"--pressure", "0@1s+1s"},
     1},
    {"[scenario]\n[fault]\nkind = pressure\nbytes = 64M\nduration = 0s\nat = 1s\n",
     {"--pressure", "64M@1s+0s"},
     1},
};

/* The same value refused on both paths with the same words: the file's
 * message (after "file:line: ") without its "key: " is the CLI's after
 * "--option: " for a scalar option, and the end of it for a fault option,
 * whose message shows the whole value first. */
static void test_parity_errors(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(value_cases) / sizeof(value_cases[0]); i++) {
		struct chaos_scenario sc;
		char ferr[512], cerr[512], want[600], *args[10];
		const char *body, *opt = NULL, *out = NULL;
		size_t n = 0, cl, fl;
		int cmd;

		for (; value_cases[i].args[n]; n++) {
			args[n] = (char *)value_cases[i].args[n];
			if (n % 2 == 0)
				opt = args[n];
		}
		args[n++] = "--";
		args[n++] = "true";
		args[n] = NULL;
		assert_int_equal(load_text(value_cases[i].file, &sc, ferr, sizeof(ferr)), -EINVAL);
		assert_int_equal(parse(args, &sc, &cmd, &out, cerr, sizeof(cerr)), -EINVAL);
		/* The file's message is "key: body". */
		body = strstr(ferr, ": ");
		assert_non_null(body);
		body += 2;
		cl = strlen(cerr);
		fl = strlen(ferr);
		if (value_cases[i].piece) {
			/* "--opt: bad value 'V' (expected FORM): key: body" */
			snprintf(want, sizeof(want), "%s: bad value '%s' (expected ", opt,
				 args[n - 3]);
			if (strncmp(cerr, want, strlen(want)) || cl < fl + 2 ||
			    strcmp(cerr + cl - fl, ferr) || strncmp(cerr + cl - fl - 2, ": ", 2))
				fail_msg("case %zu: file '%s', cli '%s'", i, ferr, cerr);
		} else {
			snprintf(want, sizeof(want), "%s: %s", opt, body);
			if (strcmp(cerr, want))
				fail_msg("case %zu: file '%s', cli '%s', want '%s'", i, ferr, cerr,
					 want);
		}
	}
}

/* Settings that contradict each other: the file's and the CLI's model go
 * through the same validation, and its message follows the option blamed. */
static void test_parity_checks(void **state)
{
	static const struct {
		const char *file;
		const char *args[6];
		const char *opt; /* the option the message names */
	} cases[] = {
	    {"[scenario]\nretries = 3\n", {"--retries", "3"}, "--retries"},
	    {"[scenario]\npolicy = abort\nretries = 3\n",
	     {"--retries", "3", "--policy", "abort"},
	     "--retries"},
	    {"[scenario]\npolicy = retry\nretries = 0\n",
	     {"--policy", "retry", "--retries", "0"},
	     "--retries"},
	    {"[scenario]\ntasks = 10\n[fault]\nkind = kill-on-start\ntask = 12\n",
	     {"--kill-on-start", "12"},
	     "--kill-on-start"},
	    {"[scenario]\nworkers = 2\n[fault]\nkind = kill-at\nworker = 5\nat = 1s\n",
	     {"--workers", "2", "--kill-at", "5@1s"},
	     "--kill-at"},
	    {"[scenario]\n[fault]\nkind = kill-at\nat = 40s\n",
	     {"--kill-at", "0@40s"},
	     "--kill-at"},
	    {"[scenario]\ndeadline = 1s\n[fault]\nkind = pressure\nbytes = 1M\nduration = 1s\n"
	     "at = 1s\n",
	     {"--deadline", "1s", "--pressure", "1M@1s+1s"},
	     "--pressure"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct chaos_scenario sc;
		char ferr[512], cerr[512], want[600], *args[10];
		const char *out = NULL;
		size_t n;
		int cmd;

		for (n = 0; cases[i].args[n]; n++)
			args[n] = (char *)cases[i].args[n];
		args[n++] = "--";
		args[n++] = "true";
		args[n] = NULL;
		assert_int_equal(load_text(cases[i].file, &sc, ferr, sizeof(ferr)), -EINVAL);
		assert_int_equal(parse(args, &sc, &cmd, &out, cerr, sizeof(cerr)), -EINVAL);
		snprintf(want, sizeof(want), "%s: %s", cases[i].opt, ferr);
		if (strcmp(cerr, want))
			fail_msg("case %zu: cli '%s', want '%s'", i, cerr, want);
	}
}

/* The same settings build the same model on both paths: defaults (among
 * them the retries of `--policy retry` without `--retries`), and every
 * fault kind with every value it takes. */
static void test_parity_models(void **state)
{
	static const char file[] =
	    "[scenario]\n"
	    "workers = 3\n"
	    "tasks = 6\n"
	    "deadline = 10s\n"
	    "seed = 7\n"
	    "[memory]\n"
	    "mode = per-worker\n"
	    "limit = 64M\n"
	    "[fault]\nkind = kill-on-start\ntask = 2\ndelay = 50ms\nsignal = TERM\n"
	    /* The command line's timed faults count from the spawn. */
	    "[fault]\nkind = kill-at\nworker = 1\nat = 500ms\nsignal = TERM\nfrom = spawn\n"
	    "[fault]\nkind = kill-every\ninterval = 200ms\njitter = 50ms\n"
	    "count = 4\nsignal = TERM\nfrom = spawn\n"
	    "[fault]\nkind = kill-all-at\nat = 3s\nsignal = TERM\nfrom = spawn\n"
	    "[fault]\nkind = kill-on-start\ntask = 4\nsignal = STOP\n"
	    "cont-after = 100ms\n"
	    "[fault]\nkind = pressure\nbytes = 256M\nat = 1s\nduration = 5s\n"
	    "where = inside\nfrom = spawn\n";
	char *args[] = {"--workers",
			"3",
			"--tasks",
			"6",
			"--deadline",
			"10s",
			"--kill-on-start",
			"2+50ms",
			"--kill-at",
			"1@500ms",
			"--kill-every",
			"200ms,jitter=50ms,count=4",
			"--kill-all-at",
			"3s",
			"--stop-on-start",
			"4",
			"--cont-after",
			"100ms",
			"--pressure",
			"256M@1s+5s",
			"--mem-per-worker",
			"64M",
			"--seed",
			"7",
			"--signal",
			"TERM",
			"--",
			"true",
			NULL};
	struct chaos_scenario fs, cs;
	const char *out = NULL;
	char err[512];
	size_t i;
	int cmd;

	(void)state;
	/* Defaults, and --policy retry without --retries. */
	assert_int_equal(load_text("[scenario]\npolicy = retry\n", &fs, err, sizeof(err)), 0);
	assert_int_equal(parse((char *[]){"--policy", "retry", "--", "true", NULL}, &cs, &cmd, &out,
			       err, sizeof(err)),
			 0);
	assert_int_equal(cs.retries, fs.retries);
	assert_int_equal(cs.retries, CHAOS_DEFAULT_RETRIES);
	assert_int_equal(cs.workers, fs.workers);
	assert_int_equal(cs.ntasks, fs.ntasks);
	assert_int_equal(cs.deadline_ms, fs.deadline_ms);
	assert_int_equal(cs.abort_within_ms, fs.abort_within_ms);
	assert_int_equal(cs.expect, fs.expect);
	assert_string_equal(cs.policy, fs.policy);
	for (i = 0; i < cs.ntasks; i++)
		assert_memory_equal(&cs.tasks[i], &fs.tasks[i], sizeof(cs.tasks[i]));
	chaos_scenario_free(&fs);
	chaos_scenario_free(&cs);

	assert_int_equal(load_text(file, &fs, err, sizeof(err)), 0);
	assert_int_equal(parse(args, &cs, &cmd, &out, err, sizeof(err)), 0);
	assert_int_equal(cs.workers, fs.workers);
	assert_int_equal(cs.ntasks, fs.ntasks);
	assert_int_equal(cs.deadline_ms, fs.deadline_ms);
	assert_true(cs.seed == fs.seed);
	assert_int_equal(cs.mem_mode, fs.mem_mode);
	assert_true(cs.mem_limit == fs.mem_limit);
	assert_int_equal(cs.nfaults, fs.nfaults);
	for (i = 0; i < cs.nfaults; i++) {
		struct chaos_fault c = cs.faults[i], f = fs.faults[i];

		assert_int_equal(c.line, 0); /* the one field only a file has */
		c.line = f.line;
		if (memcmp(&c, &f, sizeof(c)))
			fail_msg("fault %zu differs: kind %d/%d signo %d/%d seed %llu/%llu", i,
				 c.kind, f.kind, c.signo, f.signo, (unsigned long long)c.seed,
				 (unsigned long long)f.seed);
	}
	chaos_scenario_free(&fs);
	chaos_scenario_free(&cs);
}

/* ---- the CLI binary ------------------------------------------------------------ */

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

/* Run the CLI with PATH set to path when not NULL; at most 60 s. */
static void run_cli_path(struct tu_cli *r, const char *path, char **args)
{
	tu_run_cli(&cli_env, r, path, 60000, -1, args);
}

#define SKIP_WITHOUT_CG() TU_SKIP_UNLESS(have_cg, "skipped: no writable memory cgroup\n")

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

	run_cli(r,
		(char *[]){"run", "scenarios/seed/baseline.ini", "--target", "no-such-pool", NULL});
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

	run_cli(r,
		(char *[]){"check", "scenarios/seed/baseline.ini", "/nonexistent/h.jsonl", NULL});
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
	run_cli_sig(
	    r, 30000, 700,
	    (char *[]){"run", "--deadline", "20s", "--out", out, "--", "sleep", "30", NULL});
	assert_int_equal(r->code, 128 + SIGINT);
	tu_assert_contains(r->out, "INTERRUPTED");
	free(r);
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
	run_cli_path(r, "/nonexistent-cov-cli",
		     (char *[]){"run", "scenarios/seed/baseline.ini", "--target", "gnu-parallel",
				"--out", out, NULL});
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
	run_cli_path(r, NULL,
		     (char *[]){"run", "scenarios/seed/baseline.ini", "--target", "safepool",
				"--out", out, NULL});
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
	run_cli_path(r, NULL, (char *[]){"check", "scenarios/seed/baseline.ini", cut, NULL});
	assert_int_equal(r->code, 1);
	tu_assert_contains(r->out, "baseline on recorded: FAIL");
	tu_assert_contains(r->out, "note: history cut short after line");

	run_cli_path(r, NULL, (char *[]){"check", "scenarios/seed/baseline.ini", hist, NULL});
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
	run_cli_path(r, NULL, (char *[]){"check", "scenarios/seed/baseline.ini", path, NULL});
	assert_int_equal(r->code, 3);
	tu_assert_contains(r->out, "baseline on recorded: SKIP");
	tu_assert_contains(r->out, "note: scenario needs memory limits");
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
	    cmocka_unit_test(test_option_errors),   cmocka_unit_test(test_option_values),
	    cmocka_unit_test(test_trigger_options),
	    cmocka_unit_test(test_cli_scenario),    cmocka_unit_test(test_cli_errors),
	    cmocka_unit_test(test_parity_errors),   cmocka_unit_test(test_parity_checks),
	    cmocka_unit_test(test_parity_models),   cmocka_unit_test(test_usage),
	    cmocka_unit_test(test_run_then_check),  cmocka_unit_test(test_command_hang_and_missing),
	    cmocka_unit_test(test_interrupted),	    cmocka_unit_test(test_target_unavailable),
	    cmocka_unit_test(test_check_truncated), cmocka_unit_test(test_check_skipped),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
