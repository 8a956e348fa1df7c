/* Integration tests of chaos_run(): real cgroups, real OOM kills, real
 * signals, against tests/helpers/ctl_pool. Each test reads the history the
 * run wrote and checks it, then checks that no process and no cgroup of the
 * run is left. Skips with a reason when there is no writable memory cgroup.
 * Also prints the start-to-death latency of a start-triggered SIGKILL (not
 * asserted: timing never decides a test; bench/run measures it properly). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "cgroup/cgroup.h"
#include "cli/cliopts.h"
#include "engine/run.h"
#include "util/testutil.h"

static char helper[PATH_MAX];
static char chaos_bin[PATH_MAX];

static char outroot[1024];
static struct chaos_cg_env cgenv;
static int have_cg;

/* ---- run helpers ----------------------------------------------------------- */

static void make_outdir(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", outroot, name);
}

/* Does the run cgroup named in the history's run event still exist? */
static int run_cgroup_exists(const struct tu_hist *h)
{
	json_t *run = tu_hist_find(h, "run", NULL, NULL, 0);
	const char *name = tu_sval(run, "cgroup");
	char dir[PATH_MAX];
	struct stat st;

	if (!name[0])
		return 0;
	snprintf(dir, sizeof(dir), "%s%s",
		 cgenv.version == CHAOS_CG_V2 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/memory", name);
	return stat(dir, &st) == 0;
}

/* No process named in the history is still running, and the run cgroup is gone. */
static void assert_nothing_left(const struct tu_hist *h)
{
	for (size_t i = 0; i < h->n; i++) {
		json_t *p = json_object_get(h->ev[i], "pid");
		pid_t pid;

		if (!json_is_integer(p) || !strcmp(tu_sval(h->ev[i], "ev"), "death"))
			continue;
		pid = (pid_t)json_integer_value(p);
		/* A PID of the run may have been reused by an unrelated
		 * process; only one still in a run cgroup is ours. */
		if (tu_pid_running(pid) && tu_pid_in_run_cgroup(pid))
			fail_msg("process %d of the run is still alive", (int)pid);
	}
	assert_false(run_cgroup_exists(h));
}

static int run_once(struct chaos_scenario *sc, const char *name, char **argv,
		    struct chaos_run_result *r)
{
	char out[PATH_MAX];
	struct chaos_run_opts o = {.sc = sc, .target_name = "ctl_pool", .argv = argv, .outdir = out};

	make_outdir(out, sizeof(out), name);
	return chaos_run(&o, r);
}

#define SKIP_WITHOUT_CG()                                                                  \
	TU_SKIP_UNLESS(have_cg, "skipped: no writable memory cgroup: %s\n", cgenv.why)

/* ---- tests ------------------------------------------------------------------- */

/* A per-worker limit makes the allocating worker the OOM victim; the
 * counter confirms it and the pool's parent survives to print done. */
static void test_per_worker_oom(void **state)
{
	struct chaos_scenario sc;
	struct chaos_run_result r;
	char *argv[] = {helper, NULL};
	struct tu_hist h;
	json_t *d;
	size_t k;
	int found = 0;

	(void)state;
	SKIP_WITHOUT_CG();
	assert_int_equal(chaos_scenario_init(&sc, 4), 0);
	sc.workers = 2;
	sc.mem_mode = CHAOS_MEM_PER_WORKER;
	sc.mem_limit = 32u << 20;
	sc.deadline_ms = 20000;
	sc.tasks[1].alloc_bytes = 256u << 20;
	assert_int_equal(run_once(&sc, "oom", argv, &r), 0);
	assert_int_equal(r.verdict, CHAOS_RUN_DONE);
	assert_true(r.oom_kills >= 1);
	tu_hist_load(r.history, &h);
	for (k = 0; (d = tu_hist_find(&h, "death", NULL, NULL, k)) != NULL; k++) {
		if (tu_ival(d, "task") != 1 || !json_is_integer(json_object_get(d, "task")))
			continue;
		found = 1;
		assert_true(json_is_true(json_object_get(d, "oom")));
		assert_true(tu_ival(d, "oom_kill") >= 1);
		assert_string_equal(tu_sval(d, "signal"), "SIGKILL");
	}
	assert_true(found);
	assert_non_null(tu_hist_find(&h, "oom", NULL, NULL, 0));
	/* The per-worker cgroup of the victim was reported. */
	assert_true(strstr(tu_sval(tu_hist_find(&h, "worker", NULL, NULL, 0), "cgroup"), "/w0") != NULL);
	assert_int_equal(tu_hist_count(&h, "protocol_error", NULL, NULL), 0);
	assert_nothing_left(&h);
	tu_hist_free(&h);
	chaos_scenario_free(&sc);
}

/* ntasks tasks; SIGKILL on the first start of task 2. */
static void scenario_kill_on_start(struct chaos_scenario *sc, unsigned ntasks)
{
	assert_int_equal(chaos_scenario_init(sc, ntasks), 0);
	sc->faults = calloc(1, sizeof(*sc->faults));
	assert_non_null(sc->faults);
	sc->nfaults = 1;
	sc->faults[0].kind = CHAOS_FAULT_ON_START;
	sc->faults[0].signo = SIGKILL;
	sc->faults[0].task = 2;
	sc->faults[0].attempt = 1;
	sc->deadline_ms = 20000;
}

/* SIGKILL on the start of task 2 hits exactly the PID that started it. */
static void test_kill_on_start(void **state)
{
	struct chaos_scenario sc;
	struct chaos_run_result r;
	char *argv[] = {helper, NULL};
	struct tu_hist h;
	json_t *s = NULL, *f, *d = NULL;
	size_t k;

	(void)state;
	SKIP_WITHOUT_CG();
	scenario_kill_on_start(&sc, 5);
	assert_int_equal(run_once(&sc, "onstart", argv, &r), 0);
	assert_int_equal(r.verdict, CHAOS_RUN_DONE);
	tu_hist_load(r.history, &h);
	for (k = 0; (s = tu_hist_find(&h, "start", NULL, NULL, k)) != NULL; k++)
		if (tu_ival(s, "task") == 2)
			break;
	assert_non_null(s);
	f = tu_hist_find(&h, "fault", NULL, NULL, 0);
	assert_non_null(f);
	assert_true(json_is_true(json_object_get(f, "ok")));
	assert_int_equal(tu_ival(f, "pid"), tu_ival(s, "pid"));
	for (k = 0; (d = tu_hist_find(&h, "death", NULL, NULL, k)) != NULL; k++)
		if (tu_ival(d, "pid") == tu_ival(s, "pid"))
			break;
	assert_non_null(d);
	assert_int_equal(tu_ival(d, "task"), 2);
	assert_string_equal(tu_sval(d, "how"), "signal");
	assert_string_equal(tu_sval(d, "signal"), "SIGKILL");
	assert_true(json_is_false(json_object_get(d, "oom")));
	assert_nothing_left(&h);
	tu_hist_free(&h);
	chaos_scenario_free(&sc);
}

/* A hung task makes the pool hang: the deadline ends the run as HANG,
 * diagnostics name the processes and the unfinished task, and teardown
 * leaves nothing behind. */
static void test_deadline_hang(void **state)
{
	struct chaos_scenario sc;
	struct chaos_run_result r;
	char *argv[] = {helper, NULL};
	struct tu_hist h;
	json_t *d, *td;

	(void)state;
	SKIP_WITHOUT_CG();
	assert_int_equal(chaos_scenario_init(&sc, 2), 0);
	sc.tasks[0].action = CHAOS_ACT_HANG;
	sc.deadline_ms = 1000;
	assert_int_equal(run_once(&sc, "hang", argv, &r), 0);
	assert_int_equal(r.verdict, CHAOS_RUN_HANG);
	tu_hist_load(r.history, &h);
	assert_non_null(tu_hist_find(&h, "deadline", NULL, NULL, 0));
	d = tu_hist_find(&h, "diag", NULL, NULL, 0);
	assert_non_null(d);
	assert_true(tu_hist_count(&h, "diag", NULL, NULL) >= 2); /* the pool and its hung worker */
	assert_int_equal(json_array_size(json_object_get(d, "unfinished")), 1);
	assert_int_equal(json_integer_value(json_array_get(json_object_get(d, "unfinished"), 0)), 0);
	assert_true(tu_sval(d, "comm")[0] != '\0');
	td = tu_hist_find(&h, "teardown", NULL, NULL, 0);
	assert_non_null(td);
	assert_true(json_is_true(json_object_get(td, "ok")));
	assert_true(tu_ival(td, "killed") >= 2);
	assert_string_equal(tu_sval(tu_hist_find(&h, "end_run", NULL, NULL, 0), "verdict"), "hang");
	assert_nothing_left(&h);
	tu_hist_free(&h);
	chaos_scenario_free(&sc);
}

/* A controller SIGKILLed mid-run leaves its cgroup and processes; the next
 * run's sweep removes them. */
static void test_killed_controller_swept(void **state)
{
	struct chaos_scenario sc;
	struct chaos_run_result r;
	char *argv[] = {helper, NULL};
	char out[PATH_MAX], hpath[PATH_MAX + 32];
	struct tu_hist h1, h2;
	pid_t ctl;
	int i, status, have = 0;

	(void)state;
	SKIP_WITHOUT_CG();
	assert_int_equal(chaos_scenario_init(&sc, 2), 0);
	sc.tasks[0].action = CHAOS_ACT_HANG;
	sc.deadline_ms = 60000;
	make_outdir(out, sizeof(out), "killed-ctl");
	snprintf(hpath, sizeof(hpath), "%s/history.jsonl", out);
	unlink(hpath);
	ctl = fork();
	assert_true(ctl >= 0);
	if (ctl == 0) {
		struct chaos_run_result rr;

		run_once(&sc, "killed-ctl", argv, &rr);
		tu_child_exit(0);
	}
	/* Wait (bounded) until the hung task has started, then kill the
	 * controller without any chance to clean up. */
	for (i = 0; i < 100 && !have; i++) {
		struct tu_hist t;

		usleep(50000);
		if (access(hpath, R_OK))
			continue;
		tu_hist_load(hpath, &t);
		have = tu_hist_find(&t, "start", NULL, NULL, 0) != NULL;
		tu_hist_free(&t);
	}
	assert_true(have);
	kill(ctl, SIGKILL);
	assert_int_equal(waitpid(ctl, &status, 0), ctl);
	tu_hist_load(hpath, &h1);
	assert_true(run_cgroup_exists(&h1)); /* left behind, as a killed controller does */
	assert_null(tu_hist_find(&h1, "end_run", NULL, NULL, 0));
	/* The next run sweeps it. */
	sc.tasks[0].action = CHAOS_ACT_OK;
	sc.deadline_ms = 20000;
	assert_int_equal(run_once(&sc, "after-killed-ctl", argv, &r), 0);
	assert_int_equal(r.verdict, CHAOS_RUN_DONE);
	assert_false(run_cgroup_exists(&h1));
	assert_nothing_left(&h1);
	tu_hist_load(r.history, &h2);
	assert_nothing_left(&h2);
	tu_hist_free(&h1);
	tu_hist_free(&h2);
	chaos_scenario_free(&sc);
}

/* Worker 0 has exited long before its timed fault: the fault is recorded as
 * not sent, and nothing is signalled by a (possibly recycled) PID. */
static void test_exited_worker_not_signalled(void **state)
{
	struct chaos_scenario sc;
	struct chaos_run_result r;
	char *argv[] = {helper, NULL};
	struct tu_hist h;
	json_t *f, *w;

	(void)state;
	SKIP_WITHOUT_CG();
	assert_int_equal(chaos_scenario_init(&sc, 4), 0);
	sc.faults = calloc(1, sizeof(*sc.faults));
	assert_non_null(sc.faults);
	sc.nfaults = 1;
	sc.faults[0].kind = CHAOS_FAULT_AT_TIME;
	sc.faults[0].signo = SIGKILL;
	sc.faults[0].worker = 0;
	sc.faults[0].delay_ms = 300;
	/* The last task keeps the run alive past the fault's time. */
	sc.tasks[3].sleep_ms = 800;
	sc.deadline_ms = 20000;
	assert_int_equal(run_once(&sc, "exited", argv, &r), 0);
	assert_int_equal(r.verdict, CHAOS_RUN_DONE);
	tu_hist_load(r.history, &h);
	f = tu_hist_find(&h, "fault", NULL, NULL, 0);
	w = tu_hist_find(&h, "worker", NULL, NULL, 0);
	assert_non_null(f);
	assert_non_null(w);
	assert_true(json_is_false(json_object_get(f, "ok")));
	assert_string_equal(tu_sval(f, "error"), "target exited");
	assert_int_equal(tu_ival(f, "pid"), tu_ival(w, "pid"));
	/* No death was caused by a signal: every worker exited on its own. */
	assert_int_equal(r.deaths, 4);
	{
		char *txt = json_dumps(tu_hist_find(&h, "death", NULL, NULL, 0), 0);

		assert_non_null(txt);
		assert_null(strstr(txt, "SIGKILL"));
		free(txt);
	}
	assert_nothing_left(&h);
	tu_hist_free(&h);
	chaos_scenario_free(&sc);
}

/* A process left running after the target printed done is a leftover: it
 * is reported and killed. */
static void test_leftover(void **state)
{
	struct chaos_scenario sc;
	struct chaos_run_result r;
	char *argv[] = {helper, "leak", NULL};
	struct tu_hist h;

	(void)state;
	SKIP_WITHOUT_CG();
	assert_int_equal(chaos_scenario_init(&sc, 2), 0);
	sc.deadline_ms = 20000;
	assert_int_equal(run_once(&sc, "leftover", argv, &r), 0);
	assert_int_equal(r.verdict, CHAOS_RUN_DONE);
	assert_int_equal(r.leftovers, 1);
	tu_hist_load(r.history, &h);
	assert_non_null(tu_hist_find(&h, "leftover", NULL, NULL, 0));
	assert_true(tu_ival(tu_hist_find(&h, "teardown", NULL, NULL, 0), "killed") >= 1);
	assert_nothing_left(&h);
	tu_hist_free(&h);
	chaos_scenario_free(&sc);
}

/* A target that cannot be executed is an error with a message, and leaves
 * no cgroup. */
static void test_bad_target(void **state)
{
	struct chaos_scenario sc;
	struct chaos_run_result r;
	char *argv[] = {"/nonexistent/chaos-target", NULL};
	struct tu_hist h;

	(void)state;
	assert_int_equal(chaos_scenario_init(&sc, 2), 0);
	assert_int_equal(run_once(&sc, "bad-target", argv, &r), -ENOENT);
	assert_non_null(strstr(chaos_run_last_error(), "/nonexistent/chaos-target"));
	tu_hist_load(r.history, &h);
	assert_string_equal(tu_sval(tu_hist_find(&h, "end_run", NULL, NULL, 0), "verdict"), "crashed");
	assert_nothing_left(&h);
	tu_hist_free(&h);
	chaos_scenario_free(&sc);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Benchmark: time from a task's start event to its worker's death event
 * for a start-triggered SIGKILL (median of several runs). */
static void test_bench_kill_latency(void **state)
{
	double lat[15];
	int i, n = 0;

	(void)state;
	SKIP_WITHOUT_CG();
	for (i = 0; i < 15; i++) {
		struct chaos_scenario sc;
		struct chaos_run_result r;
		char *argv[] = {helper, NULL};
		struct tu_hist h;
		json_t *s, *d;
		size_t k;

		assert_int_equal(chaos_scenario_init(&sc, 1), 0);
		sc.faults = calloc(1, sizeof(*sc.faults));
		sc.nfaults = 1;
		sc.faults[0].kind = CHAOS_FAULT_ON_START;
		sc.faults[0].signo = SIGKILL;
		sc.faults[0].attempt = 1;
		assert_int_equal(run_once(&sc, "bench-latency", argv, &r), 0);
		tu_hist_load(r.history, &h);
		s = tu_hist_find(&h, "start", NULL, NULL, 0);
		for (k = 0; (d = tu_hist_find(&h, "death", NULL, NULL, k)) != NULL; k++)
			if (tu_ival(d, "task") == 0 && json_is_integer(json_object_get(d, "task")))
				break;
		assert_non_null(s);
		assert_non_null(d);
		lat[n++] = (json_real_value(json_object_get(d, "t")) -
			    json_real_value(json_object_get(s, "t"))) *
			   1000.0;
		tu_hist_free(&h);
		chaos_scenario_free(&sc);
	}
	qsort(lat, (size_t)n, sizeof(lat[0]), cmp_double);
	print_message("bench: start -> death of a start-triggered SIGKILL: median %.3f ms, "
		      "min %.3f ms, max %.3f ms (n=%d)\n",
		      lat[n / 2], lat[0], lat[n - 1], n);
	assert_true(lat[n / 2] > 0.0);
}

/* Build a scenario from `chaos run` options, as the CLI does. argv ends
 * with "--" and the command; *cmd gets the command's index. */
static void cli_scenario(struct chaos_scenario *sc, int argc, char **argv, int *cmd)
{
	const char *out = NULL;
	char err[512];
	int verbose = 0;

	memset(sc, 0, sizeof(*sc));
	if (chaos_cli_scenario(argc, argv, sc, cmd, &out, &verbose, err, sizeof(err)))
		fail_msg("chaos_cli_scenario: %s", err);
}

/* A target that does not use the task kit: its workers never announce
 * themselves, so --kill-every falls back to the processes of the run
 * cgroup, never the target's main process (the shell). */
static void test_kill_every_without_kit(void **state)
{
	char *args[] = {"--kill-every", "200ms", "--seed", "7", "--deadline", "5s", "--", "sh",
			"-c", "for i in 1 2; do sleep 30 & done; wait; echo done", NULL};
	struct chaos_scenario sc;
	struct chaos_run_result r;
	char out[PATH_MAX];
	struct chaos_run_opts o = {.sc = &sc, .target_name = "sh", .outdir = out};
	struct tu_hist h;
	json_t *e, *sp;
	size_t k, nkill = 0, nworker = 0;
	int cmd;

	(void)state;
	SKIP_WITHOUT_CG();
	cli_scenario(&sc, 10, args, &cmd);
	o.argv = args + cmd;
	make_outdir(out, sizeof(out), "every-nokit");
	assert_int_equal(chaos_run(&o, &r), 0);
	/* The sleeps died, the shell's wait returned, it printed done. */
	assert_int_equal(r.verdict, CHAOS_RUN_DONE);
	tu_hist_load(r.history, &h);
	sp = tu_hist_find(&h, "spawn", NULL, NULL, 0);
	for (k = 0; (e = tu_hist_find(&h, "worker", NULL, NULL, k)) != NULL; k++) {
		assert_string_equal(tu_sval(e, "source"), "cgroup");
		assert_int_equal(tu_ival(e, "index"), (long long)k);
		assert_true(tu_ival(e, "pid") != tu_ival(sp, "pid"));
		nworker++;
	}
	assert_int_equal(nworker, 2);
	for (k = 0; (e = tu_hist_find(&h, "fault", NULL, NULL, k)) != NULL; k++) {
		if (!json_is_true(json_object_get(e, "ok")))
			continue;
		assert_string_equal(tu_sval(e, "rule"), "cgroup");
		assert_true(tu_ival(e, "pid") != tu_ival(sp, "pid"));
		nkill++;
	}
	assert_int_equal(nkill, 2);
	assert_int_equal(tu_hist_count(&h, "death", NULL, NULL), 2);
	for (k = 0; (e = tu_hist_find(&h, "death", NULL, NULL, k)) != NULL; k++)
		assert_string_equal(tu_sval(e, "signal"), "SIGKILL");
	assert_int_equal(tu_ival(tu_hist_find(&h, "target_exit", NULL, NULL, 0), "code"), 0);
	assert_nothing_left(&h);
	tu_hist_free(&h);
	chaos_scenario_free(&sc);
}

/* A kit target: the fault's rule is kit, and no cgroup scan happens once a
 * worker announced itself (every worker event says source kit). */
static void test_kill_at_kit_rule(void **state)
{
	char *args[] = {"--tasks", "2", "--kill-at", "0@300ms", "--deadline", "20s", "--", helper,
			NULL};
	struct chaos_scenario sc;
	struct chaos_run_result r;
	char out[PATH_MAX];
	struct chaos_run_opts o = {.sc = &sc, .target_name = "ctl_pool", .outdir = out};
	struct tu_hist h;
	json_t *e, *f;
	size_t k;
	int cmd;

	(void)state;
	SKIP_WITHOUT_CG();
	cli_scenario(&sc, 8, args, &cmd);
	/* Both workers are still busy when the fault fires. */
	sc.tasks[0].sleep_ms = 1500;
	sc.tasks[1].sleep_ms = 1500;
	o.argv = args + cmd;
	make_outdir(out, sizeof(out), "killat-kit");
	assert_int_equal(chaos_run(&o, &r), 0);
	assert_int_equal(r.verdict, CHAOS_RUN_DONE);
	tu_hist_load(r.history, &h);
	for (k = 0; (e = tu_hist_find(&h, "worker", NULL, NULL, k)) != NULL; k++)
		assert_string_equal(tu_sval(e, "source"), "kit");
	f = tu_hist_find(&h, "fault", NULL, NULL, 0);
	assert_true(json_is_true(json_object_get(f, "ok")));
	assert_string_equal(tu_sval(f, "rule"), "kit");
	/* Worker 0 is the first to start, and its task is the one killed. */
	e = tu_hist_find(&h, "worker", NULL, NULL, 0);
	assert_int_equal(tu_ival(e, "index"), 0);
	assert_int_equal(tu_ival(f, "pid"), tu_ival(e, "pid"));
	assert_int_equal(tu_ival(f, "task"), tu_ival(tu_hist_find(&h, "start", NULL, NULL, 0), "task"));
	assert_int_equal(r.deaths, 2);
	assert_nothing_left(&h);
	tu_hist_free(&h);
	chaos_scenario_free(&sc);
}

/* SIGSTOP on the start of task 0, SIGCONT 400 ms later: the task is not
 * killed, it just ends late, and the pool finishes. */
static void test_stop_then_cont(void **state)
{
	char *args[] = {"--tasks", "3", "--stop-on-start", "0", "--cont-after", "400ms",
			"--deadline", "20s", "--", helper, NULL};
	struct chaos_scenario sc;
	struct chaos_run_result r;
	char out[PATH_MAX];
	struct chaos_run_opts o = {.sc = &sc, .target_name = "ctl_pool", .outdir = out};
	struct tu_hist h;
	json_t *stop, *cont, *e, *s0 = NULL;
	size_t k;
	int cmd;

	(void)state;
	SKIP_WITHOUT_CG();
	cli_scenario(&sc, 10, args, &cmd);
	o.argv = args + cmd;
	make_outdir(out, sizeof(out), "stopcont");
	assert_int_equal(chaos_run(&o, &r), 0);
	assert_int_equal(r.verdict, CHAOS_RUN_DONE);
	tu_hist_load(r.history, &h);
	stop = tu_hist_find(&h, "fault", NULL, NULL, 0);
	cont = tu_hist_find(&h, "fault", NULL, NULL, 1);
	assert_non_null(stop);
	assert_non_null(cont);
	assert_string_equal(tu_sval(stop, "signal"), "SIGSTOP");
	assert_true(json_is_true(json_object_get(stop, "ok")));
	assert_string_equal(tu_sval(cont, "kind"), "cont");
	assert_string_equal(tu_sval(cont, "signal"), "SIGCONT");
	assert_true(json_is_true(json_object_get(cont, "ok")));
	assert_int_equal(tu_ival(cont, "pid"), tu_ival(stop, "pid"));
	/* SIGCONT came no earlier than asked. */
	assert_true(json_real_value(json_object_get(cont, "t")) -
			    json_real_value(json_object_get(stop, "t")) >=
		    0.399);
	for (k = 0; (e = tu_hist_find(&h, "end", NULL, NULL, k)) != NULL; k++)
		if (tu_ival(e, "task") == 0)
			s0 = e;
	assert_non_null(s0);
	assert_true(json_real_value(json_object_get(s0, "t")) >=
		    json_real_value(json_object_get(cont, "t")));
	assert_int_equal(r.deaths, 3); /* three normal exits, nothing killed */
	/* Nothing was killed. Before Linux 6.15 the status of a worker its
	 * parent already reaped cannot be read, so "unknown" is honest too. */
	for (k = 0; (e = tu_hist_find(&h, "death", NULL, NULL, k)) != NULL; k++)
		assert_true(!strcmp(tu_sval(e, "how"), "exit") || !strcmp(tu_sval(e, "how"), "unknown"));
	assert_nothing_left(&h);
	tu_hist_free(&h);
	chaos_scenario_free(&sc);
}

/* Whole-run memory mode: one limit on the run cgroup; the task allocating
 * far beyond it is OOM-killed, confirmed by the run cgroup's counter. */
static void test_whole_run_oom(void **state)
{
	char *args[] = {"--tasks", "3", "--workers", "1", "--mem-limit", "48M", "--deadline",
			"20s", "--", helper, NULL};
	struct chaos_scenario sc;
	struct chaos_run_result r;
	char out[PATH_MAX];
	struct chaos_run_opts o = {.sc = &sc, .target_name = "ctl_pool", .outdir = out};
	struct tu_hist h;
	json_t *e, *run, *d1 = NULL;
	size_t k;
	int cmd;

	(void)state;
	SKIP_WITHOUT_CG();
	cli_scenario(&sc, 10, args, &cmd);
	sc.tasks[1].alloc_bytes = 256u << 20;
	o.argv = args + cmd;
	make_outdir(out, sizeof(out), "wholerun-oom");
	assert_int_equal(chaos_run(&o, &r), 0);
	assert_int_equal(r.verdict, CHAOS_RUN_DONE);
	assert_true(r.oom_kills >= 1);
	tu_hist_load(r.history, &h);
	run = tu_hist_find(&h, "run", NULL, NULL, 0);
	assert_string_equal(tu_sval(run, "mem_mode"), "whole-run");
	for (k = 0; (e = tu_hist_find(&h, "death", NULL, NULL, k)) != NULL; k++)
		if (json_is_integer(json_object_get(e, "task")) && tu_ival(e, "task") == 1)
			d1 = e;
	assert_non_null(d1);
	assert_true(json_is_true(json_object_get(d1, "oom")));
	assert_true(tu_ival(d1, "oom_kill") >= 1);
	/* The oom event names the run cgroup itself, not a worker cgroup. */
	e = tu_hist_find(&h, "oom", NULL, NULL, 0);
	assert_non_null(e);
	assert_string_equal(tu_sval(e, "cgroup"), tu_sval(run, "cgroup"));
	assert_nothing_left(&h);
	tu_hist_free(&h);
	chaos_scenario_free(&sc);
}

/* stress-ng pressure inside the run (in its own "pressure" cgroup below the
 * run) or beside it: it runs while the target runs, and is killed and its
 * cgroup removed with the run. The target counts the processes of the
 * pressure cgroup from inside the run. */
static void pressure_run(int inside)
{
	char *args[] = {"--pressure", "32M@50ms+10s", "--deadline", "20s", "--", "sh", "-c",
			"sleep 1; d=/sys/fs/cgroup/memory$(grep :memory: /proc/self/cgroup | cut -d: "
			"-f3); n=$(cat $d/pressure/cgroup.procs 2>/dev/null | wc -l); echo \"result 0 "
			"$n\"; echo done",
			NULL};
	struct chaos_scenario sc;
	struct chaos_run_result r;
	char out[PATH_MAX];
	struct chaos_run_opts o = {.sc = &sc, .target_name = "sh", .outdir = out};
	struct tu_hist h;
	json_t *f, *oc, *td;
	int cmd;
	pid_t stress;

	if (access("/usr/bin/stress-ng", X_OK)) {
		print_message("skipped: stress-ng is not installed\n");
		skip();
	}
	cli_scenario(&sc, 7, args, &cmd);
	assert_int_equal(sc.nfaults, 1);
	sc.faults[0].pressure_inside = inside;
	o.argv = args + cmd;
	make_outdir(out, sizeof(out), inside ? "pressure-in" : "pressure-beside");
	assert_int_equal(chaos_run(&o, &r), 0);
	assert_int_equal(r.verdict, CHAOS_RUN_DONE);
	tu_hist_load(r.history, &h);
	f = tu_hist_find(&h, "fault", NULL, NULL, 0);
	assert_string_equal(tu_sval(f, "kind"), "pressure");
	assert_true(json_is_true(json_object_get(f, "ok")));
	stress = (pid_t)tu_ival(f, "pid");
	assert_true(stress > 0);
	/* Killed with the run, though its timeout was 10 s. */
	assert_false(tu_pid_running(stress));
	oc = tu_hist_find(&h, "outcome", NULL, NULL, 0);
	td = tu_hist_find(&h, "teardown", NULL, NULL, 0);
	if (inside) {
		/* stress-ng and its --vm child were in the pressure cgroup. */
		assert_true(strcmp(tu_sval(oc, "line"), "result 0 0") != 0);
		assert_int_equal(tu_ival(td, "cgroups_removed"), 2);
	} else {
		assert_string_equal(tu_sval(oc, "line"), "result 0 0");
		assert_int_equal(tu_ival(td, "cgroups_removed"), 1);
	}
	print_message("pressure %s: target saw '%s'\n", inside ? "inside" : "beside",
		      tu_sval(oc, "line"));
	assert_nothing_left(&h);
	tu_hist_free(&h);
	chaos_scenario_free(&sc);
}

static void test_pressure_inside(void **state)
{
	(void)state;
	SKIP_WITHOUT_CG();
	pressure_run(1);
}

static void test_pressure_beside(void **state)
{
	(void)state;
	SKIP_WITHOUT_CG();
	pressure_run(0);
}

/* SIGINT to `chaos run` of a long-sleeping target: a clean teardown, the
 * verdict interrupted in the history, exit code 130, and no process or
 * cgroup of the run left. */
static void test_sigint_cli(void **state)
{
	char out[PATH_MAX], hpath[PATH_MAX + 32];
	struct tu_hist h;
	struct pollfd p;
	int i, status, have = 0, pidfd;
	pid_t ctl;

	(void)state;
	SKIP_WITHOUT_CG();
	make_outdir(out, sizeof(out), "sigint");
	snprintf(hpath, sizeof(hpath), "%s/history.jsonl", out);
	unlink(hpath);
	ctl = fork();
	assert_true(ctl >= 0);
	if (ctl == 0) {
		int devnull = open("/dev/null", O_WRONLY);

		dup2(devnull, 1);
		execl(chaos_bin, chaos_bin, "run", "--deadline", "60s", "--out", out, "--", "sh",
		      "-c", "sleep 100 & sleep 100; echo done", (char *)NULL);
		tu_child_exit(127);
	}
	pidfd = (int)syscall(SYS_pidfd_open, ctl, 0);
	assert_true(pidfd >= 0);
	/* Wait (bounded) until both sleeps run in the run cgroup. */
	for (i = 0; i < 100 && !have; i++) {
		struct tu_hist t;

		usleep(50000);
		if (access(hpath, R_OK))
			continue;
		tu_hist_load(hpath, &t);
		have = tu_hist_find(&t, "spawn", NULL, NULL, 0) != NULL;
		tu_hist_free(&t);
	}
	assert_true(have);
	usleep(200000);
	kill(ctl, SIGINT);
	p.fd = pidfd;
	p.events = POLLIN;
	if (poll(&p, 1, 10000) != 1) {
		kill(ctl, SIGKILL);
		waitpid(ctl, &status, 0);
		fail_msg("chaos did not exit within 10 s of SIGINT");
	}
	close(pidfd);
	assert_int_equal(waitpid(ctl, &status, 0), ctl);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 130);
	tu_hist_load(hpath, &h);
	assert_string_equal(tu_sval(tu_hist_find(&h, "end_run", NULL, NULL, 0), "verdict"), "interrupted");
	/* The shell and both sleeps were killed by the teardown. */
	assert_int_equal(tu_ival(tu_hist_find(&h, "teardown", NULL, NULL, 0), "killed"), 3);
	assert_true(json_is_true(json_object_get(tu_hist_find(&h, "teardown", NULL, NULL, 0), "ok")));
	assert_int_equal(tu_hist_count(&h, "diag", NULL, NULL), 3);
	assert_nothing_left(&h);
	tu_hist_free(&h);
}

/* A controller SIGKILLed mid-run at random (seeded) moments, 10 times;
 * each history is valid JSON up to the kill, and one more run's stale
 * sweep removes every cgroup and process the killed runs left. The long
 * version (100 runs) is ci/killed-controller. */
/* Processes whose command line has an argument containing needle, after
 * waiting up to ms for them to go (zombies do not count). */
static int procs_with_arg(const char *needle, unsigned ms)
{
	int found = 0;

	for (unsigned waited = 0;; waited += 20) {
		DIR *d = opendir("/proc");
		struct dirent *de;

		found = 0;
		while (d && (de = readdir(d)) != NULL) {
			char path[300], buf[4096], st[600];
			ssize_t n;
			int fd;

			if (de->d_name[0] < '1' || de->d_name[0] > '9')
				continue;
			snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
			st[0] = '\0';
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				continue;
			n = read(fd, st, sizeof(st) - 1);
			close(fd);
			if (n <= 0)
				continue;
			st[n] = '\0';
			if (strstr(st, ") Z "))
				continue;
			snprintf(path, sizeof(path), "/proc/%s/cmdline", de->d_name);
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				continue;
			n = read(fd, buf, sizeof(buf) - 1);
			close(fd);
			for (ssize_t i = 0; n > 0 && i < n; i += (ssize_t)strlen(buf + i) + 1) {
				buf[n] = '\0';
				if (strstr(buf + i, needle)) {
					found++;
					break;
				}
			}
		}
		if (d)
			closedir(d);
		if (!found || waited >= ms)
			return found;
		tu_sleep_ms(20);
	}
}

static void test_killed_controller_random(void **state)
{
	uint64_t seed = 20240607;
	char out[PATH_MAX], hpath[PATH_MAX + 32];
	struct tu_hist hs[10], last;
	struct chaos_scenario sc;
	struct chaos_run_result r;
	char *argv[] = {helper, NULL};
	int k, status, left = 0;

	(void)state;
	SKIP_WITHOUT_CG();
	for (k = 0; k < 10; k++) {
		unsigned delay_ms;
		pid_t ctl;

		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		delay_ms = (unsigned)((seed >> 33) % 400);
		snprintf(out, sizeof(out), "%s/killed-rand-%d", outroot, k);
		ctl = fork();
		assert_true(ctl >= 0);
		if (ctl == 0) {
			int devnull = open("/dev/null", O_WRONLY);

			dup2(devnull, 1);
			dup2(devnull, 2);
			execl(chaos_bin, chaos_bin, "run", "--tasks", "6", "--workers", "2",
			      "--deadline", "10s", "--out", out, "--", "sh", "-c",
			      "for i in 1 2 3; do sleep 2 & done; wait; echo done", (char *)NULL);
			tu_child_exit(127);
		}
		usleep(delay_ms * 1000);
		kill(ctl, SIGKILL);
		assert_int_equal(waitpid(ctl, &status, 0), ctl);
		snprintf(hpath, sizeof(hpath), "%s/history.jsonl", out);
		if (access(hpath, R_OK) == 0) {
			tu_hist_load(hpath, &hs[k]); /* fails on any invalid line */
			if (tu_hist_find(&hs[k], "run", NULL, NULL, 0) && !tu_hist_find(&hs[k], "end_run", NULL, NULL, 0) &&
			    run_cgroup_exists(&hs[k]))
				left++;
		} else {
			memset(&hs[k], 0, sizeof(hs[k]));
		}
	}
	print_message("killed controllers: %d of 10 left a run cgroup behind\n", left);
	/* A target the controller had forked but not yet released (it waits
	 * for the go byte before exec, still named chaos) must end on its
	 * own when the controller dies: it is in no run cgroup yet, so no
	 * sweep would find it. */
	assert_int_equal(procs_with_arg("killed-rand-", 2000), 0);
	assert_int_equal(chaos_scenario_init(&sc, 2), 0);
	sc.deadline_ms = 20000;
	assert_int_equal(run_once(&sc, "after-killed-rand", argv, &r), 0);
	assert_int_equal(r.verdict, CHAOS_RUN_DONE);
	for (k = 0; k < 10; k++) {
		if (hs[k].n && tu_hist_find(&hs[k], "run", NULL, NULL, 0) &&
		    json_is_string(json_object_get(tu_hist_find(&hs[k], "run", NULL, NULL, 0), "cgroup")))
			assert_nothing_left(&hs[k]);
		tu_hist_free(&hs[k]);
	}
	tu_hist_load(r.history, &last);
	assert_nothing_left(&last);
	tu_hist_free(&last);
	chaos_scenario_free(&sc);
}

/* ---- a signal storm during a run ----------------------------------------------- */

/* qsort() order of an array of strings. */
static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The events of a history that say what happened, without what varies
 * from run to run (times, PIDs, line numbers), as sorted compact JSON:
 * two runs that decided the same have equal summaries. */
static size_t run_summary(const struct tu_hist *h, char **out, size_t max)
{
	static const char *const evs[] = {"fault", "death", "end", "outcome", "target_exit"};
	size_t n = 0;

	for (size_t i = 0; i < h->n; i++) {
		const char *ev = tu_sval(h->ev[i], "ev");
		json_t *o;

		for (size_t k = 0; k < sizeof(evs) / sizeof(evs[0]); k++) {
			if (strcmp(ev, evs[k]) != 0)
				continue;
			assert_true(n < max);
			o = json_deep_copy(h->ev[i]);
			assert_non_null(o);
			json_object_del(o, "t");
			json_object_del(o, "pid");
			json_object_del(o, "lineno");
			out[n] = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
			assert_non_null(out[n]);
			json_decref(o);
			n++;
		}
	}
	qsort(out, n, sizeof(*out), str_cmp);
	return n;
}

/* One storm run of test_run_under_signal_storm: the kill-on-start
 * scenario against ctl_pool, summarised. */
static void storm_run(const char *name, struct chaos_run_result *r, char **sum, size_t max,
		      size_t *n)
{
	struct chaos_scenario sc;
	char *argv[] = {helper, NULL};
	struct tu_hist h;

	scenario_kill_on_start(&sc, 6);
	/* Long enough for the storm to hit every wait of the loop. */
	sc.tasks[4].sleep_ms = 300;
	assert_int_equal(run_once(&sc, name, argv, r), 0);
	tu_hist_load(r->history, &h);
	*n = run_summary(&h, sum, max);
	assert_nothing_left(&h);
	tu_hist_free(&h);
	chaos_scenario_free(&sc);
}

static struct tu_storm run_storm = {.pid = -1};

/* A handled SIGUSR1 (no SA_RESTART; the engine does not treat it as an
 * interruption) every 100 us during a run with a real kill on start: the
 * verdict, the faults, the deaths and the results are those of the same
 * run without the storm. */
static void test_run_under_signal_storm(void **state)
{
	enum { MAXEV = 128 };
	char *quiet[MAXEV], *stormy[MAXEV];
	struct chaos_run_result rq, rs;
	size_t nq, ns;

	(void)state;
	SKIP_WITHOUT_CG();
	storm_run("storm-quiet", &rq, quiet, MAXEV, &nq);
	assert_int_equal(rq.verdict, CHAOS_RUN_DONE);
	assert_int_equal(tu_storm_start(&run_storm, SIGUSR1, 100), 0);
	storm_run("storm", &rs, stormy, MAXEV, &ns);
	assert_true(tu_storm_stop(&run_storm) > 0);
	assert_int_equal(rs.verdict, rq.verdict);
	assert_int_equal(rs.deaths, rq.deaths);
	assert_int_equal(rs.oom_kills, rq.oom_kills);
	assert_int_equal(ns, nq);
	for (size_t i = 0; i < nq; i++) {
		if (strcmp(quiet[i], stormy[i]) != 0)
			fail_msg("event differs under the storm: %s vs %s", quiet[i], stormy[i]);
	}
	for (size_t i = 0; i < nq; i++) {
		free(quiet[i]);
		free(stormy[i]);
	}
}

/* ---- discovered workers are ordered by start time -------------------------------- */

/* A target without the kit: the first process it starts is the biggest
 * (200 MiB of address space), a small one starts once the big one has
 * allocated (its PID file appears; the shell's wait for it is bounded),
 * and a timed fault for worker 0 at 1500 ms, when both run, must hit the
 * one that started first. A /proc/<pid>/stat parser that took field 23 (vsize) for
 * starttime would order the small one first and kill it instead. */
static void test_discovered_workers_by_start_time(void **state)
{
	char out[PATH_MAX], pidfile[PATH_MAX + 16], script[4 * PATH_MAX + 512], buf[32];
	char *args[] = {"--kill-at", "0@1500ms", "--deadline", "20s", "--", "sh", "-c", script,
			NULL};
	struct chaos_scenario sc;
	struct chaos_run_result r;
	struct chaos_run_opts o = {.sc = &sc, .target_name = "sh", .outdir = out};
	struct tu_hist h;
	json_t *w0, *w1, *f, *d;
	long long big;
	size_t k;
	int cmd, n;

	(void)state;
	SKIP_WITHOUT_CG();
	TU_SKIP_UNLESS(system("command -v python3 >/dev/null 2>&1") == 0,
		       "skipped: no python3 on PATH\n");
	make_outdir(out, sizeof(out), "start-order");
	assert_true(mkdir(out, 0755) == 0 || errno == EEXIST);
	snprintf(pidfile, sizeof(pidfile), "%s/big.pid", out);
	unlink(pidfile);
	n = snprintf(script, sizeof(script),
		     "python3 -c 'import os, time; x = bytearray(200 << 20); "
		     "open(\"%s.tmp\", \"w\").write(str(os.getpid())); os.rename(\"%s.tmp\", \"%s\"); "
		     "time.sleep(6)' & i=0; while [ ! -s %s ] && [ $i -lt 300 ]; do sleep 0.05; "
		     "i=$((i+1)); done; sleep 0.1; sleep 4 & wait; echo done",
		     pidfile, pidfile, pidfile, pidfile);
	assert_true(n > 0 && (size_t)n < sizeof(script));
	cli_scenario(&sc, 8, args, &cmd);
	o.argv = args + cmd;
	assert_int_equal(chaos_run(&o, &r), 0);
	assert_int_equal(r.verdict, CHAOS_RUN_DONE);
	tu_slurp(pidfile, buf, sizeof(buf));
	big = atoll(buf);
	assert_true(big > 0);
	tu_hist_load(r.history, &h);
	/* Both were found by the scan, the big one first. */
	w0 = tu_hist_find(&h, "worker", NULL, NULL, 0);
	w1 = tu_hist_find(&h, "worker", NULL, NULL, 1);
	assert_non_null(w0);
	assert_non_null(w1);
	assert_string_equal(tu_sval(w0, "source"), "cgroup");
	assert_string_equal(tu_sval(w1, "source"), "cgroup");
	assert_int_equal(tu_ival(w0, "index"), 0);
	assert_int_equal(tu_ival(w0, "pid"), big);
	assert_true(tu_ival(w1, "pid") != big);
	f = tu_hist_find(&h, "fault", NULL, NULL, 0);
	assert_non_null(f);
	assert_true(json_is_true(json_object_get(f, "ok")));
	assert_string_equal(tu_sval(f, "rule"), "cgroup");
	assert_int_equal(tu_ival(f, "pid"), big);
	for (k = 0; (d = tu_hist_find(&h, "death", NULL, NULL, k)) != NULL; k++)
		if (tu_ival(d, "pid") == big)
			break;
	assert_non_null(d);
	assert_string_equal(tu_sval(d, "signal"), "SIGKILL");
	assert_nothing_left(&h);
	tu_hist_free(&h);
	chaos_scenario_free(&sc);
}

static int setup(void **state)
{
	char exe[PATH_MAX];
	int ret;

	(void)state;
	if (tu_exe_dir(exe, sizeof(exe)))
		return -1;
	snprintf(chaos_bin, sizeof(chaos_bin), "%.*s/../chaos", PATH_MAX - 16, exe);
	ret = tu_helper_setup("ctl_pool", helper, sizeof(helper), "test_run.out", outroot,
			      sizeof(outroot));
	have_cg = chaos_cg_detect(&cgenv) == 0 && cgenv.version != CHAOS_CG_NONE;
	/* Tasks that wait for a `go` that never comes must not wait 30 s. */
	setenv("CHAOS_GO_TIMEOUT_MS", "5000", 1);
	return ret;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_per_worker_oom),
		cmocka_unit_test(test_kill_on_start),
		cmocka_unit_test(test_deadline_hang),
		cmocka_unit_test(test_killed_controller_swept),
		cmocka_unit_test(test_exited_worker_not_signalled),
		cmocka_unit_test(test_leftover),
		cmocka_unit_test(test_bad_target),
		cmocka_unit_test(test_kill_every_without_kit),
		cmocka_unit_test(test_kill_at_kit_rule),
		cmocka_unit_test(test_stop_then_cont),
		cmocka_unit_test(test_whole_run_oom),
		cmocka_unit_test(test_pressure_inside),
		cmocka_unit_test(test_pressure_beside),
		cmocka_unit_test(test_sigint_cli),
		cmocka_unit_test(test_killed_controller_random),
		cmocka_unit_test(test_bench_kill_latency),
		cmocka_unit_test_teardown(test_run_under_signal_storm, tu_storm_teardown),
		cmocka_unit_test(test_discovered_workers_by_start_time),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
