/* The `chaos` command line: run, matrix, check. Exit codes (also in
 * chaos(1) and --help): 0 all expectations held, 1 an expectation failed,
 * 2 usage or bad scenario, 3 the environment cannot run it (skipped),
 * 4 internal error, 5 unexercised (the faults did not do what the scenario
 * claims), 6 the adapter failed (ERROR), 7 slow (the deadline passed while
 * the pool still made progress), 128+N interrupted by signal N (130 for
 * SIGINT, 143 for SIGTERM, 129 for SIGHUP) after a clean teardown. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check/checker.h"
#include "matrix/matrix.h"
#include "engine/targets.h"
#include "cli/cliopts.h"
#include "engine/run.h"

#define CHAOS_VERSION "0.1.0"

enum {
	EXIT_PASS = 0,
	EXIT_FAILED = 1,
	EXIT_USAGE = 2,
	EXIT_SKIPPED = 3,
	EXIT_INTERNAL = 4,
	EXIT_UNEXERCISED = 5,
	EXIT_ADAPTER = 6,
	EXIT_SLOW = 7,
};

static const char usage_text[] =
	"usage: chaos run SCENARIO.ini --target NAME|NAME=COMMAND [--out DIR] [-v]\n"
	"       chaos run [OPTIONS] -- COMMAND [ARGS...]\n"
	"       chaos check SCENARIO.ini HISTORY.jsonl\n"
	"       chaos matrix [MATRIX OPTIONS]   (see chaos matrix --help)\n"
	"       chaos --help | --version\n"
	"\n"
	"Runs a process pool under test in memory-limited cgroups, provokes real\n"
	"OOM kills or sends signals on a schedule, records a JSON-lines history\n"
	"and checks the scenario's expectations against it.\n"
	"\n"
	"OPTIONS of `chaos run -- COMMAND` (values and ranges as in scenario files;\n"
	"sizes take K/M/G, times ms/s/m):\n"
	"  --workers N             pool workers, 1..1024 (CHAOS_WORKERS, default 2)\n"
	"  --tasks N               task ids 0..N-1, N 1..100000 (CHAOS_NTASKS, default 10)\n"
	"  --policy skip|abort|retry   (CHAOS_POLICY, default skip)\n"
	"  --retries N             retry cap with --policy retry, 1..1000 (default 3)\n"
	"  --deadline TIME         end the run as HANG after TIME, 1ms..3600s (default 30s)\n"
	"  --mem-per-worker SIZE   each worker in its own cgroup with this limit (>= 4M)\n"
	"  --mem-limit SIZE        one limit on the whole run (>= 4M)\n"
	"  --kill-on-start TASK[+DELAY]   signal the worker when TASK starts\n"
	"  --stop-on-start TASK[+DELAY]   SIGSTOP it instead (see --cont-after)\n"
	"  --cont-after TIME       send SIGCONT this long after a SIGSTOP\n"
	"  --kill-at WORKER@TIME   signal worker number WORKER at TIME\n"
	"  --kill-every INTERVAL[,jitter=T][,count=N]   a random worker, seeded\n"
	"  --seed N                seed of --kill-every (same seed, same schedule)\n"
	"  --kill-all-at TIME      signal every worker at TIME\n"
	"  --pressure BYTES@TIME+DURATION   stress-ng memory pressure in the run\n"
	"  --signal NAME|N         signal of the kill options (default SIGKILL)\n"
	"  --out DIR               output directory (default chaos-out)\n"
	"  -v, --verbose           progress on stderr\n"
	"\n"
	"Files in the output directory: history.jsonl, tasks.txt, stdout.txt,\n"
	"stderr.txt (and events.sock while running).\n"
	"\n"
	"Exit codes: 0 all expectations held, 1 an expectation failed (or the\n"
	"target hung), 2 usage or bad scenario, 3 the environment cannot run it\n"
	"(skipped), 4 internal error, 5 unexercised (every expectation held but\n"
	"the faults did not do what the scenario claims), 6 the adapter or its\n"
	"environment failed (ERROR), 7 slow (the deadline passed while the pool\n"
	"still made progress), 128+N interrupted by signal N (130 SIGINT,\n"
	"143 SIGTERM, 129 SIGHUP; the run is torn down and its history ends with\n"
	"verdict interrupted).\n";

/* The signal that interrupted the run, for the exit code. */
static volatile sig_atomic_t caught_signal;

static void on_interrupt(int signo)
{
	caught_signal = signo;
	chaos_run_interrupt();
}

/* SIGINT, SIGTERM and SIGHUP end the run through its normal teardown
 * instead of killing the controller, which would leave the target and its
 * cgroups behind until the next run's stale sweep. No SA_RESTART: a
 * blocking call returns EINTR and the loop sees the request at once.
 * Children start with default dispositions (spawn.c resets them). */
static void install_interrupt_handlers(void)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_interrupt;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaddset(&sa.sa_mask, sigs[i]);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

static int exit_interrupted(void)
{
	int s = caught_signal;

	return s > 0 ? 128 + s : EXIT_INTERNAL;
}

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "chaos: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n(see chaos --help)\n");
	return EXIT_USAGE;
}

static int exit_for_cell(enum chaos_cell c)
{
	switch (c) {
	case CHAOS_CELL_PASS:
		return EXIT_PASS;
	case CHAOS_CELL_SKIP:
		return EXIT_SKIPPED;
	case CHAOS_CELL_FAIL:
	case CHAOS_CELL_HANG:
	case CHAOS_CELL_UNSUPPORTED:
		return EXIT_FAILED;
	case CHAOS_CELL_UNEXERCISED:
		return EXIT_UNEXERCISED;
	case CHAOS_CELL_ERROR:
		return EXIT_ADAPTER;
	case CHAOS_CELL_SLOW:
		return EXIT_SLOW;
	}
	return EXIT_INTERNAL;
}

/* Check a history and print the verdict with its evidence. */
static int check_and_print(const struct chaos_scenario *sc, const char *target,
			   const char *history)
{
	struct chaos_verdict v;
	unsigned i;
	int ret;

	memset(&v, 0, sizeof(v));
	ret = chaos_check_history(sc, history, &v);
	if (ret) {
		fprintf(stderr, "chaos: cannot read %s: %s\n", history, strerror(-ret));
		return EXIT_INTERNAL;
	}
	/* The reason of a cell that is not a check's failure opens the note:
	 * "UNEXERCISED: the OOM killer chose stress-ng (pid 4711), ...". */
	if (v.note[0] && (v.cell == CHAOS_CELL_UNEXERCISED || v.cell == CHAOS_CELL_ERROR ||
			  v.cell == CHAOS_CELL_SLOW || v.cell == CHAOS_CELL_HANG))
		printf("%s on %s: %s: %s\n", sc->name, target, v.cell_text, v.note);
	else
		printf("%s on %s: %s\n", sc->name, target, v.cell_text);
	for (i = 0; i < v.nchecks && i < CHAOS_CHECK_MAX; i++)
		printf("  %-4s %s%s%s\n", v.checks[i].ok ? "ok" : "FAIL", v.checks[i].name,
		       v.checks[i].evidence[0] ? ": " : "", v.checks[i].evidence);
	if (v.note[0])
		printf("  note: %s\n", v.note);
	printf("  history: %s\n", history);
	return exit_for_cell(v.cell);
}

static int do_run(struct chaos_scenario *sc, const char *target_name, char *const *argv,
		  const char *out, int verbose)
{
	struct chaos_run_opts o = {
		.sc = sc,
		.target_name = target_name,
		.argv = argv,
		.outdir = out ? out : "chaos-out",
		.verbose = verbose,
	};
	struct chaos_run_result r;
	int ret;

	ret = chaos_run(&o, &r);
	if (ret) {
		fprintf(stderr, "chaos: run failed: %s\n", chaos_run_last_error());
		return (ret == -ENOENT || ret == -EACCES) ? EXIT_USAGE : EXIT_INTERNAL;
	}
	if (verbose)
		fprintf(stderr, "chaos: run %s in %.0f ms (%u deaths, %u OOM kills, %u leftovers)\n",
			chaos_run_verdict_name(r.verdict), r.elapsed_ms, r.deaths, r.oom_kills,
			r.leftovers);
	if (r.verdict == CHAOS_RUN_SKIPPED) {
		printf("%s on %s: SKIP (%s)\n", sc->name, target_name, r.reason);
		return EXIT_SKIPPED;
	}
	if (r.verdict == CHAOS_RUN_INTERRUPTED) {
		/* A run cut short proves nothing either way: no checker. */
		printf("%s on %s: INTERRUPTED (%s)\n  history: %s\n", sc->name, target_name,
		       r.reason, r.history);
		return exit_interrupted();
	}
	return check_and_print(sc, target_name, r.history);
}

/* chaos run SCENARIO.ini --target SPEC [--out DIR] [-v] */
static int run_scenario_file(int argc, char **argv)
{
	struct chaos_scenario sc;
	struct chaos_target t;
	const char *file = NULL, *spec = NULL, *out = NULL;
	char err[1024];
	int i, verbose = 0, ret;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--target") && i + 1 < argc)
			spec = argv[++i];
		else if (!strcmp(argv[i], "--out") && i + 1 < argc)
			out = argv[++i];
		else if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose"))
			verbose = 1;
		else if (argv[i][0] != '-' && !file)
			file = argv[i];
		else
			return usage_error("run: unexpected argument '%s'", argv[i]);
	}
	if (!file)
		return usage_error("run: no scenario file%s", "");
	if (!spec)
		return usage_error("run: --target NAME or NAME=COMMAND is required%s", "");
	memset(&sc, 0, sizeof(sc));
	ret = chaos_scenario_load(&sc, file, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "%s\n", err[0] ? err : strerror(-ret));
		return EXIT_USAGE;
	}
	memset(&t, 0, sizeof(t));
	ret = chaos_target_resolve(spec, &t);
	if (ret) {
		fprintf(stderr, "chaos: target '%s': %s\n", spec, t.why[0] ? t.why : strerror(-ret));
		chaos_scenario_free(&sc);
		return EXIT_USAGE;
	}
	if (!t.available) {
		printf("%s on %s: SKIP (%s)\n", sc.name, t.name, t.why);
		ret = EXIT_SKIPPED;
	} else {
		ret = do_run(&sc, t.name, t.argv, out, verbose);
	}
	chaos_target_free(&t);
	chaos_scenario_free(&sc);
	return ret;
}

/* chaos run [options] -- CMD ARGS... */
static int run_command(int argc, char **argv)
{
	struct chaos_scenario sc;
	const char *out = NULL;
	char err[512];
	int cmd = -1, verbose = 0, ret;

	memset(&sc, 0, sizeof(sc));
	if (chaos_cli_scenario(argc, argv, &sc, &cmd, &out, &verbose, err, sizeof(err))) {
		fprintf(stderr, "chaos: run: %s\n", err);
		return EXIT_USAGE;
	}
	ret = do_run(&sc, argv[cmd], argv + cmd, out, verbose);
	chaos_scenario_free(&sc);
	return ret;
}

static int cmd_run(int argc, char **argv)
{
	int i;

	for (i = 0; i < argc; i++)
		if (!strcmp(argv[i], "--"))
			return run_command(argc, argv);
	return run_scenario_file(argc, argv);
}

static int cmd_check(int argc, char **argv)
{
	struct chaos_scenario sc;
	char err[1024];
	int ret;

	if (argc != 2)
		return usage_error("check: expected SCENARIO.ini HISTORY.jsonl%s", "");
	memset(&sc, 0, sizeof(sc));
	ret = chaos_scenario_load(&sc, argv[0], err, sizeof(err));
	if (ret) {
		fprintf(stderr, "%s\n", err[0] ? err : strerror(-ret));
		return EXIT_USAGE;
	}
	ret = check_and_print(&sc, "recorded", argv[1]);
	chaos_scenario_free(&sc);
	return ret;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage_error("no command given%s", "");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		fputs(usage_text, stdout);
		return EXIT_PASS;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("chaos %s\n", CHAOS_VERSION);
		return EXIT_PASS;
	}
	/* Verdict lines go to a pipe or file as soon as they are printed. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	install_interrupt_handlers();
	if (!strcmp(argv[1], "run"))
		return cmd_run(argc - 2, argv + 2);
	if (!strcmp(argv[1], "check"))
		return cmd_check(argc - 2, argv + 2);
	if (!strcmp(argv[1], "matrix")) {
		int rc = chaos_matrix_main(argc - 1, argv + 1);

		return chaos_run_interrupted() ? exit_interrupted() : rc;
	}
	return usage_error("unknown command '%s' (expected run, check, matrix)", argv[1]);
}
