/* Integration tests of chaos_run(): real cgroups, real OOM kills, real
 * signals, against tests/helpers/ctl_pool and tests/helpers/cov_target.
 * Each test reads the history the run wrote and checks it, then checks that
 * no process and no cgroup of the run is left. Skips with a reason when
 * there is no writable memory cgroup. Also prints the start-to-death
 * latency of a start-triggered SIGKILL (not asserted: timing never decides
 * a test; bench/run measures it properly).
 *
 * Besides the main paths, the paths a run rarely takes: every verdict a
 * target can earn, an output directory that cannot be used in each of its
 * files, an interrupted run (while it runs and before it starts), timed
 * faults that find no victim or every victim, start faults with SIGTERM,
 * SIGSEGV and a real-time signal, memory pressure twice at once and without
 * stress-ng, a target that breaks the event protocol, a process outside the
 * run that speaks to its socket, a worker that leaves the run cgroup, and a
 * controller without cgroup rights (an unprivileged user). Runs that change
 * process-wide state (the sticky interrupt, PATH, the user ID) happen in a
 * forked child that reports through its exit status; the parent reads its
 * histories. Those runs write below a private directory in /tmp that the
 * unprivileged user can enter. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "cgroup/cgroup.h"
#include "cli/cliopts.h"
#include "check/checker.h"
#include "engine/run.h"
#include "sys/pidfd.h"
#include "util/testutil.h"

#define NOBODY 65534

static char helper[PATH_MAX];     /* tests/helpers/ctl_pool */
static char cov_helper[PATH_MAX]; /* tests/helpers/cov_target */
static char chaos_bin[PATH_MAX];

static char outroot[1024];
static char tmproot[] = "/tmp/test_run.XXXXXX";
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

/* ---- leftovers ------------------------------------------------------------- */

/* Run cgroups of this process below its own memory cgroup. */
static unsigned own_run_cgroups(void)
{
	int n;

	if (!have_cg)
		return 0;
	n = tu_own_run_cgroups(cgenv.mem_dir);
	assert_true(n >= 0);
	return (unsigned)n;
}

/* No process named by a spawn or worker event still runs in a run cgroup,
 * and no run cgroup of this process is left. */
static void assert_run_gone(const struct tu_hist *h)
{
	for (size_t i = 0; i < h->n; i++) {
		const char *ev = tu_sval(h->ev[i], "ev");
		pid_t pid = (pid_t)tu_ival(h->ev[i], "pid");

		if ((strcmp(ev, "spawn") && strcmp(ev, "worker")) || pid <= 0 || !tu_pid_running(pid))
			continue;
		/* The PID may have been reused by an unrelated process; only
		 * one still in a run cgroup is the run's. */
		if (tu_pid_in_run_cgroup(pid))
			fail_msg("process %d of the run is still alive", (int)pid);
	}
	assert_int_equal(own_run_cgroups(), 0);
}

/* ---- runs ------------------------------------------------------------------- */

static void tmp_outdir(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", tmproot, name);
}

/* A scenario with n tasks that each sleep sleep_ms, w workers, deadline. */
static void scenario(struct chaos_scenario *sc, uint32_t n, uint32_t w, uint32_t sleep_ms,
		     uint32_t deadline_ms)
{
	assert_int_equal(chaos_scenario_init(sc, n), 0);
	sc->workers = w;
	sc->deadline_ms = deadline_ms;
	for (uint32_t i = 0; i < n; i++)
		sc->tasks[i].sleep_ms = sleep_ms;
}

static struct chaos_fault *add_fault(struct chaos_scenario *sc, enum chaos_fault_kind kind,
				     int signo)
{
	struct chaos_fault *f = realloc(sc->faults, (sc->nfaults + 1) * sizeof(*f));

	assert_non_null(f);
	sc->faults = f;
	f = &sc->faults[sc->nfaults++];
	memset(f, 0, sizeof(*f));
	f->kind = kind;
	f->signo = signo;
	f->attempt = 1;
	return f;
}

/* Run to the end and load the history; chaos_run must succeed. */
static void run_ok(struct chaos_scenario *sc, const char *name, char **argv,
		   struct chaos_run_result *r, struct tu_hist *h)
{
	char out[PATH_MAX];
	struct chaos_run_opts o = {.sc = sc, .target_name = "cov", .argv = argv, .outdir = out};

	tmp_outdir(out, sizeof(out), name);
	if (chaos_run(&o, r))
		fail_msg("chaos_run %s: %s", name, chaos_run_last_error());
	tu_hist_load(r->history, h);
	assert_run_gone(h);
}

/* ---- verdicts ----------------------------------------------------------------- */

/* Each way a target can end maps to its verdict and reason. */
static void test_verdicts(void **state)
{
	struct chaos_scenario sc;
	struct chaos_run_result r;
	struct tu_hist h;
	char *aborted[] = {"/bin/sh", "-c", "echo 'aborted the pool gave up'", NULL};
	char *killed[] = {"/bin/sh", "-c", "kill -TERM $$", NULL};
	char *unsupported[] = {"/bin/sh", "-c", "echo 'unsupported no retry here'; exit 3", NULL};
	char *no_newline[] = {"/bin/sh", "-c", "printf done", NULL};

	(void)state;
	SKIP_WITHOUT_CG();
	scenario(&sc, 2, 1, 0, 10000);

	run_ok(&sc, "aborted", aborted, &r, &h);
	assert_int_equal(r.verdict, CHAOS_RUN_ABORTED);
	tu_assert_event(&h, "end_run", "verdict", "aborted");
	tu_hist_free(&h);

	run_ok(&sc, "killed", killed, &r, &h);
	assert_int_equal(r.verdict, CHAOS_RUN_CRASHED);
	assert_string_equal(r.reason, "target killed by SIGTERM without printing done");
	tu_assert_event(&h, "target_exit", "signal", "SIGTERM");
	tu_hist_free(&h);

	run_ok(&sc, "unsupported", unsupported, &r, &h);
	assert_int_equal(r.verdict, CHAOS_RUN_CRASHED);
	assert_non_null(strstr(r.reason, "exited with code 3"));
	assert_non_null(strstr(r.reason, "(it said unsupported)"));
	tu_hist_free(&h);

	/* The last line without its newline still counts. */
	run_ok(&sc, "no-newline", no_newline, &r, &h);
	assert_int_equal(r.verdict, CHAOS_RUN_DONE);
	tu_assert_event(&h, "outcome", "line", "done");
	assert_int_equal(tu_hist_count(&h, "protocol_error", NULL, NULL), 0);
	tu_hist_free(&h);

	assert_string_equal(chaos_run_verdict_name(CHAOS_RUN_SKIPPED), "skipped");
	assert_string_equal(chaos_run_verdict_name((enum chaos_run_verdict)99), "unknown");
	chaos_scenario_free(&sc);
}

/* ---- the output directory --------------------------------------------------- */

static void make_dir(const char *parent, const char *name)
{
	char p[PATH_MAX + 128];

	snprintf(p, sizeof(p), "%s/%s", parent, name);
	assert_int_equal(mkdir(p, 0755), 0);
}

/* Expect chaos_run to fail with err and a message holding text. */
static void run_fails(struct chaos_scenario *sc, const char *out, int err, const char *text)
{
	char *argv[] = {"/bin/sh", "-c", "echo done", NULL};
	struct chaos_run_opts o = {.sc = sc, .target_name = "cov", .argv = argv, .outdir = out};
	struct chaos_run_result r;

	assert_int_equal(chaos_run(&o, &r), err);
	if (!strstr(chaos_run_last_error(), text))
		fail_msg("expected '%s' in '%s'", text, chaos_run_last_error());
	assert_int_equal(own_run_cgroups(), 0);
}

/* Every file of the output directory that cannot be created ends the run
 * with an error that names it, and nothing of the run is left. */
static void test_outdir_errors(void **state)
{
	struct chaos_scenario sc;
	struct chaos_run_result r;
	struct tu_hist h;
	char out[PATH_MAX], *big;
	char *echo_sock[] = {"/bin/sh", "-c", "echo \"$CHAOS_EVENTS\" >&2; echo done", NULL};
	char path[PATH_MAX + 64], text[512] = "";
	int fd;

	(void)state;
	SKIP_WITHOUT_CG();
	scenario(&sc, 1, 1, 0, 10000);

	/* A regular file where a directory is needed. */
	tmp_outdir(out, sizeof(out), "plain");
	fd = open(out, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	close(fd);
	strcat(out, "/sub");
	run_fails(&sc, out, -ENOTDIR, "cannot create");

	big = malloc(5000);
	assert_non_null(big);
	memset(big, 'x', 4999);
	big[0] = '/';
	big[4999] = '\0';
	run_fails(&sc, big, -ENAMETOOLONG, "cannot create");
	free(big);

	tmp_outdir(out, sizeof(out), "hist-is-dir");
	assert_int_equal(mkdir(out, 0755), 0);
	make_dir(out, "history.jsonl");
	run_fails(&sc, out, -EISDIR, "history.jsonl");

	tmp_outdir(out, sizeof(out), "tasks-is-dir");
	assert_int_equal(mkdir(out, 0755), 0);
	make_dir(out, "tasks.txt");
	run_fails(&sc, out, -EISDIR, "tasks.txt");

	/* After the run began: the history says why it ended. */
	tmp_outdir(out, sizeof(out), "stderr-is-dir");
	assert_int_equal(mkdir(out, 0755), 0);
	make_dir(out, "stderr.txt");
	run_fails(&sc, out, -EISDIR, "cannot prepare the target");
	snprintf(path, sizeof(path), "%s/history.jsonl", out);
	tu_hist_load(path, &h);
	tu_assert_event(&h, "end_run", "reason", "internal error: cannot prepare the target");
	tu_assert_event(&h, "teardown", NULL, NULL);
	assert_int_equal(tu_hist_count(&h, "spawn", NULL, NULL), 0);
	tu_hist_free(&h);

	/* The socket's name is taken by a directory that cannot be unlinked. */
	tmp_outdir(out, sizeof(out), "sock-is-dir");
	assert_int_equal(mkdir(out, 0755), 0);
	make_dir(out, "events.sock");
	snprintf(path, sizeof(path), "%s/events.sock", out);
	make_dir(path, "keep");
	run_fails(&sc, out, -EADDRINUSE, "cannot listen on");

	/* Too deep for sun_path: the socket moves to /tmp and is removed. */
	tmp_outdir(out, sizeof(out), "deep");
	for (int i = 0; strlen(out) < 140; i++)
		strcat(out, "/0123456789");
	{
		struct chaos_run_opts o = {.sc = &sc, .target_name = "cov", .argv = echo_sock,
					   .outdir = out};

		assert_int_equal(chaos_run(&o, &r), 0);
	}
	assert_int_equal(r.verdict, CHAOS_RUN_DONE);
	snprintf(path, sizeof(path), "%s/stderr.txt", out);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_true(read(fd, text, sizeof(text) - 1) > 0);
	close(fd);
	assert_memory_equal(text, "/tmp/chaos-", 11);
	*strchr(text, '\n') = '\0';
	assert_int_equal(access(text, F_OK), -1);
	tu_hist_load(r.history, &h);
	assert_run_gone(&h);
	tu_hist_free(&h);
	chaos_scenario_free(&sc);
}

/* ---- interruption ------------------------------------------------------------ */

static void *interrupt_later(void *arg)
{
	(void)arg;
	nanosleep(&(struct timespec){.tv_nsec = 300 * 1000000L}, NULL);
	chaos_run_interrupt();
	return NULL;
}

/* Runs in a forked child: the request is sticky for the whole process. */
static int interrupted_runs(void)
{
	char *argv[] = {cov_helper, "idle", "20000", NULL};
	char out1[PATH_MAX], out2[PATH_MAX];
	struct chaos_scenario sc;
	struct chaos_run_result r;
	struct chaos_run_opts o = {.sc = &sc, .target_name = "cov", .argv = argv};
	pthread_t t;
	int code = 0;

	if (chaos_scenario_init(&sc, 1))
		return 10;
	sc.deadline_ms = 20000;
	tmp_outdir(out1, sizeof(out1), "interrupt-during");
	tmp_outdir(out2, sizeof(out2), "interrupt-before");
	/* From another thread, as the matrix does: the eventfd wakes the loop. */
	if (pthread_create(&t, NULL, interrupt_later, NULL))
		return 11;
	o.outdir = out1;
	if (chaos_run(&o, &r) || r.verdict != CHAOS_RUN_INTERRUPTED)
		code = 12;
	pthread_join(t, NULL);
	if (!chaos_run_interrupted())
		code = 13;
	/* A later run stops before its target starts. */
	o.outdir = out2;
	if (chaos_run(&o, &r) || r.verdict != CHAOS_RUN_INTERRUPTED)
		code = 14;
	chaos_scenario_free(&sc);
	return code;
}

static void test_interrupt(void **state)
{
	char path[PATH_MAX + 64];
	struct tu_hist h;
	pid_t pid;

	(void)state;
	SKIP_WITHOUT_CG();
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		tu_child_exit(interrupted_runs());
	assert_int_equal(tu_wait_child(pid, 30000), 0);

	snprintf(path, sizeof(path), "%s/interrupt-during/history.jsonl", tmproot);
	tu_hist_load(path, &h);
	tu_assert_event(&h, "spawn", NULL, NULL);
	tu_assert_event(&h, "diag", NULL, NULL);
	tu_assert_event(&h, "end_run", "verdict", "interrupted");
	assert_run_gone(&h);
	tu_hist_free(&h);

	snprintf(path, sizeof(path), "%s/interrupt-before/history.jsonl", tmproot);
	tu_hist_load(path, &h);
	assert_int_equal(tu_hist_count(&h, "spawn", NULL, NULL), 0);
	tu_assert_event(&h, "teardown", NULL, NULL);
	tu_assert_event(&h, "end_run", "reason", "interrupted before the run ended");
	assert_run_gone(&h);
	tu_hist_free(&h);
}

/* ---- timed faults ----------------------------------------------------------- */

/* kill-all-at signals every live worker; the pool reports both tasks lost. */
static void test_kill_all_at(void **state)
{
	struct chaos_scenario sc;
	struct chaos_run_result r;
	struct chaos_fault *f;
	struct tu_hist h;
	char *argv[] = {helper, NULL};
	json_t *e;

	(void)state;
	SKIP_WITHOUT_CG();
	scenario(&sc, 2, 2, 5000, 20000);
	f = add_fault(&sc, CHAOS_FAULT_ALL_AT, SIGKILL);
	f->delay_ms = 400;
	run_ok(&sc, "kill-all-at", argv, &r, &h);
	assert_int_equal(r.verdict, CHAOS_RUN_DONE);
	assert_int_equal(tu_hist_count(&h, "fault", "kind", "all-at"), 2);
	for (size_t k = 0; (e = tu_hist_find(&h, "fault", "kind", "all-at", k)) != NULL; k++) {
		assert_true(json_is_true(json_object_get(e, "ok")));
		assert_string_equal(tu_sval(e, "rule"), "kit");
	}
	assert_int_equal(tu_hist_count(&h, "death", "signal", "SIGKILL"), 2);
	tu_assert_event(&h, "outcome", "line", "lost 0");
	tu_assert_event(&h, "outcome", "line", "lost 1");
	tu_hist_free(&h);
	chaos_scenario_free(&sc);
}

/* Workers that have not spoken yet are found in the run cgroup; a fault for
 * a worker number that does not exist hits nobody; when the workers then
 * speak, they are the same workers (no second registration). */
static void test_silent_workers(void **state)
{
	struct chaos_scenario sc;
	struct chaos_run_result r;
	struct chaos_fault *f;
	struct tu_hist h;
	char *argv[] = {cov_helper, "late", "600", NULL};
	json_t *w0, *w1;

	(void)state;
	SKIP_WITHOUT_CG();
	scenario(&sc, 2, 2, 0, 20000);
	f = add_fault(&sc, CHAOS_FAULT_AT_TIME, SIGKILL);
	f->worker = 7;
	f->delay_ms = 200;
	/* A target without the kit announces no task: count from the spawn,
	 * as `chaos run -- CMD` does. */
	f->from = CHAOS_FROM_SPAWN;
	run_ok(&sc, "silent-workers", argv, &r, &h);
	assert_int_equal(r.verdict, CHAOS_RUN_DONE);
	tu_assert_event(&h, "fault", "error", "no such worker");
	assert_int_equal(tu_hist_count(&h, "worker", NULL, NULL), 2);
	w0 = tu_hist_find(&h, "worker", NULL, NULL, 0);
	w1 = tu_hist_find(&h, "worker", NULL, NULL, 1);
	assert_string_equal(tu_sval(w0, "source"), "cgroup");
	assert_string_equal(tu_sval(w1, "source"), "cgroup");
	assert_int_equal(tu_hist_count(&h, "end", NULL, NULL), 2);
	for (size_t k = 0; k < 2; k++) {
		long long pid = tu_ival(tu_hist_find(&h, "start", NULL, NULL, k), "pid");

		assert_true(pid == tu_ival(w0, "pid") || pid == tu_ival(w1, "pid"));
	}
	tu_hist_free(&h);
	chaos_scenario_free(&sc);
}

/* A periodic fault in a run without any worker process. */
static void test_every_without_workers(void **state)
{
	struct chaos_scenario sc;
	struct chaos_run_result r;
	struct chaos_fault *f;
	struct tu_hist h;
	char *argv[] = {cov_helper, "idle", "500", NULL};

	(void)state;
	SKIP_WITHOUT_CG();
	scenario(&sc, 1, 1, 0, 20000);
	f = add_fault(&sc, CHAOS_FAULT_EVERY, SIGKILL);
	f->interval_ms = 100;
	f->count = 1;
	f->seed = 7;
	/* A target without the kit announces no task: count from the spawn,
	 * as `chaos run -- CMD` does. */
	f->from = CHAOS_FROM_SPAWN;
	run_ok(&sc, "every-no-worker", argv, &r, &h);
	assert_int_equal(r.verdict, CHAOS_RUN_DONE);
	tu_assert_event(&h, "fault", "error", "no live worker");
	assert_int_equal(tu_hist_count(&h, "death", NULL, NULL), 0);
	tu_hist_free(&h);
	chaos_scenario_free(&sc);
}

/* Does the kernel keep a process's exit status on its pidfd after the
 * reap (PIDFD_GET_INFO with PIDFD_INFO_EXIT, Linux 6.15)? Probed on a
 * child of this test. */
static int kernel_keeps_exit_status(void)
{
	int pidfd, status = 0, ok = 0;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		tu_child_exit(3);
	pidfd = chaos_pidfd_open(pid);
	assert_int_equal(tu_wait_child(pid, 5000), 3);
	if (pidfd >= 0) {
		ok = chaos_pidfd_exit_status(pidfd, &status) == 0;
		close(pidfd);
	}
	return ok;
}

/* Start faults with other signals than SIGKILL, and a task that fails. */
static void test_start_signals(void **state)
{
	struct chaos_scenario sc;
	struct chaos_run_result r;
	struct chaos_fault *f;
	struct rlimit nocore = {0, 0};
	struct tu_hist h;
	char *argv[] = {helper, NULL};
	json_t *d;

	(void)state;
	SKIP_WITHOUT_CG();
	/* A worker is the pool's child, not ours: once the pool reaps it, only
	 * the pidfd's exit information still names a signal other than the
	 * SIGKILL the controller sent itself. Without it the test would race
	 * the pool's reap. */
	TU_SKIP_UNLESS(kernel_keeps_exit_status(),
		       "skipped: this kernel keeps no exit status on a pidfd (Linux < 6.15)\n");
	/* A SIGSEGV death must not leave a core file behind. */
	assert_int_equal(setrlimit(RLIMIT_CORE, &nocore), 0);
	/* In sanitizer builds the target's own SIGSEGV handler would turn the
	 * signal into an exit with a report; let the signal kill it, as it
	 * does in a normal build. Targets inherit the environment. */
	{
		const char *a = getenv("ASAN_OPTIONS");
		char opts[1024];

		snprintf(opts, sizeof(opts), "%s%shandle_segv=0", a ? a : "", a && *a ? ":" : "");
		setenv("ASAN_OPTIONS", opts, 1);
	}
	scenario(&sc, 4, 2, 0, 20000);
	f = add_fault(&sc, CHAOS_FAULT_ON_START, SIGTERM);
	f->task = 0;
	f = add_fault(&sc, CHAOS_FAULT_ON_START, SIGSEGV);
	f->task = 1;
	f = add_fault(&sc, CHAOS_FAULT_ON_START, SIGRTMIN + 6);
	f->task = 2;
	sc.tasks[3].action = CHAOS_ACT_FAIL;
	run_ok(&sc, "start-signals", argv, &r, &h);
	assert_int_equal(r.verdict, CHAOS_RUN_DONE);
	assert_int_equal(r.deaths, 4); /* three killed, one ended normally */
	d = tu_hist_find(&h, "death", "signal", "SIGTERM", 0);
	assert_non_null(d);
	assert_int_equal(tu_ival(d, "task"), 0);
	d = tu_hist_find(&h, "death", "signal", "SIGSEGV", 0);
	assert_non_null(d);
	assert_int_equal(tu_ival(d, "task"), 1);
	{
		char name[16];

		snprintf(name, sizeof(name), "SIG%d", SIGRTMIN + 6);
		tu_assert_event(&h, "fault", "signal", name);
		d = tu_hist_find(&h, "death", "signal", name, 0);
		assert_non_null(d);
		assert_int_equal(tu_ival(d, "task"), 2);
	}
	tu_assert_event(&h, "fail", "text", "");
	assert_int_equal(tu_ival(tu_hist_find(&h, "fail", NULL, NULL, 0), "task"), 3);
	tu_assert_event(&h, "outcome", "line", "error 3");
	tu_hist_free(&h);
	chaos_scenario_free(&sc);
}

/* ---- memory pressure ------------------------------------------------------ */

static int have_stress_ng(void)
{
	return access("/usr/bin/stress-ng", X_OK) == 0;
}

/* A second pressure fault while the first runs is refused; the first one
 * ends on its own within the run and nothing of it is left. */
static void test_pressure_twice(void **state)
{
	struct chaos_scenario sc;
	struct chaos_run_result r;
	struct chaos_fault *f;
	struct tu_hist h;
	char *argv[] = {cov_helper, "idle", "1800", NULL};
	json_t *e;

	(void)state;
	SKIP_WITHOUT_CG();
	if (!have_stress_ng()) {
		print_message("skipped: stress-ng not installed\n");
		skip();
	}
	scenario(&sc, 1, 1, 0, 20000);
	for (int i = 0; i < 2; i++) {
		f = add_fault(&sc, CHAOS_FAULT_PRESSURE, 0);
		f->bytes = 16 << 20;
		f->delay_ms = 100 + 100 * (uint32_t)i;
		f->duration_ms = 500;
		f->pressure_inside = 1;
		f->from = CHAOS_FROM_SPAWN; /* the target announces no task */
	}
	run_ok(&sc, "pressure-twice", argv, &r, &h);
	assert_int_equal(r.verdict, CHAOS_RUN_DONE);
	assert_int_equal(r.leftovers, 0);
	e = tu_hist_find(&h, "fault", "kind", "pressure", 0);
	assert_non_null(e);
	assert_true(json_is_true(json_object_get(e, "ok")));
	assert_true(tu_ival(e, "pid") > 0);
	e = tu_hist_find(&h, "fault", "kind", "pressure", 1);
	assert_non_null(e);
	assert_string_equal(tu_sval(e, "error"), "pressure already running");
	tu_hist_free(&h);
	chaos_scenario_free(&sc);
}

/* Without stress-ng on PATH the pressure fault fails and says why; the run
 * itself goes on. In a child: PATH is process-wide. */
static void test_pressure_without_stress_ng(void **state)
{
	char path[PATH_MAX + 64];
	struct tu_hist h;
	pid_t pid;

	(void)state;
	SKIP_WITHOUT_CG();
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char *argv[] = {cov_helper, "idle", "400", NULL};
		char out[PATH_MAX];
		struct chaos_scenario sc;
		struct chaos_run_result r;
		struct chaos_run_opts o = {.sc = &sc, .target_name = "cov", .argv = argv,
					   .outdir = out};
		struct chaos_fault *f;

		tmp_outdir(out, sizeof(out), "no-stress-ng");
		if (chaos_scenario_init(&sc, 1))
			tu_child_exit(10);
		sc.faults = calloc(1, sizeof(*sc.faults));
		if (!sc.faults)
			tu_child_exit(10);
		sc.nfaults = 1;
		f = &sc.faults[0];
		f->kind = CHAOS_FAULT_PRESSURE;
		f->bytes = 16 << 20;
		f->delay_ms = 50;
		f->duration_ms = 1000;
		f->pressure_inside = 1;
		f->from = CHAOS_FROM_SPAWN; /* the target announces no task */
		setenv("PATH", "/nonexistent-cov-run", 1);
		tu_child_exit(chaos_run(&o, &r) == 0 && r.verdict == CHAOS_RUN_DONE ? 0 : 12);
	}
	assert_int_equal(tu_wait_child(pid, 30000), 0);
	snprintf(path, sizeof(path), "%s/no-stress-ng/history.jsonl", tmproot);
	tu_hist_load(path, &h);
	tu_assert_event(&h, "fault", "error", "cannot run stress-ng");
	assert_run_gone(&h);
	tu_hist_free(&h);
}

/* ---- the event protocol -------------------------------------------------- */

/* Each protocol violation is recorded and its connection dropped; the run
 * itself is not disturbed. */
static void test_protocol_errors(void **state)
{
	struct chaos_scenario sc;
	struct chaos_run_result r;
	struct tu_hist h;
	char *argv[] = {cov_helper, "evil", NULL};

	(void)state;
	SKIP_WITHOUT_CG();
	scenario(&sc, 3, 1, 0, 20000);
	run_ok(&sc, "evil", argv, &r, &h);
	/* The target checked that every bad line was refused. */
	assert_int_equal(r.verdict, CHAOS_RUN_DONE);
	tu_assert_event(&h, "event_error", "text", "task 99999 out of range");
	tu_assert_event(&h, "event_error", "text", "end for task 1 without its start");
	tu_assert_event(&h, "event_error", "text", "second start on one connection");
	tu_assert_event(&h, "event_error", "text", "end for task 2 without its start");
	tu_assert_event(&h, "fail", "text", "deliberately broken");
	assert_int_equal(tu_hist_count(&h, "event_error", NULL, NULL) >= 5, 1);
	tu_hist_free(&h);
	chaos_scenario_free(&sc);
}

/* A process outside the run that connects to the run's socket is refused. */
static void test_outsider_connection(void **state)
{
	struct chaos_scenario sc;
	struct chaos_run_result r;
	struct tu_hist h;
	char *argv[] = {cov_helper, "idle", "1500", NULL};
	char sock[PATH_MAX + 32];
	pid_t pid;

	(void)state;
	SKIP_WITHOUT_CG();
	snprintf(sock, sizeof(sock), "%s/outsider/events.sock", tmproot);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct sockaddr_un a = {.sun_family = AF_UNIX};
		struct pollfd p;
		char buf[64];
		int fd = -1, i;

		if (strlen(sock) >= sizeof(a.sun_path))
			tu_child_exit(10);
		strcpy(a.sun_path, sock);
		/* The socket appears once the run is set up (bounded: 5 s). */
		for (i = 0; i < 250; i++) {
			fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
			if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
				break;
			if (fd >= 0)
				close(fd);
			fd = -1;
			nanosleep(&(struct timespec){.tv_nsec = 20 * 1000000L}, NULL);
		}
		if (fd < 0)
			tu_child_exit(11);
		if (write(fd, "start 0\n", 8) != 8)
			tu_child_exit(12);
		p.fd = fd;
		p.events = POLLIN;
		/* Refused: the controller closes without `go`. */
		if (poll(&p, 1, 5000) <= 0 || read(fd, buf, sizeof(buf)) != 0)
			tu_child_exit(13);
		tu_child_exit(0);
	}
	scenario(&sc, 1, 1, 0, 20000);
	run_ok(&sc, "outsider", argv, &r, &h);
	assert_int_equal(tu_wait_child(pid, 10000), 0);
	assert_int_equal(r.verdict, CHAOS_RUN_DONE);
	{
		char text[64];

		snprintf(text, sizeof(text), "pid %d is not in the run cgroup", (int)pid);
		tu_assert_event(&h, "event_error", "text", text);
	}
	assert_int_equal(tu_hist_count(&h, "worker", NULL, NULL), 0);
	tu_hist_free(&h);
	chaos_scenario_free(&sc);
}

/* A worker that moved itself out of the run cgroup is not signalled. */
static void test_escaped_worker(void **state)
{
	struct chaos_scenario sc;
	struct chaos_run_result r;
	struct chaos_fault *f;
	struct tu_hist h;
	char *argv[] = {cov_helper, "escape", NULL};
	char procs[sizeof(cgenv.mem_dir) + 16];
	json_t *e;

	(void)state;
	SKIP_WITHOUT_CG();
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", cgenv.mem_dir);
	assert_int_equal(setenv("COV_ESCAPE_PROCS", procs, 1), 0);
	scenario(&sc, 1, 1, 0, 20000);
	f = add_fault(&sc, CHAOS_FAULT_AT_TIME, SIGKILL);
	f->worker = 0;
	f->delay_ms = 500;
	run_ok(&sc, "escape", argv, &r, &h);
	unsetenv("COV_ESCAPE_PROCS");
	assert_int_equal(r.verdict, CHAOS_RUN_DONE);
	e = tu_hist_find(&h, "fault", "kind", "at-time", 0);
	assert_non_null(e);
	assert_false(json_is_true(json_object_get(e, "ok")));
	assert_string_equal(tu_sval(e, "error"), "not in the run cgroup");
	tu_assert_event(&h, "outcome", "line", "result 0 0");
	assert_int_equal(tu_hist_count(&h, "death", "signal", "SIGKILL"), 0);
	tu_hist_free(&h);
	chaos_scenario_free(&sc);
}

/* ---- without cgroup rights ------------------------------------------------- */

/* Runs in a forked child as an unprivileged user (real and effective UID
 * nobody; the saved UID stays root so that the child can write its
 * coverage data at the end). Returns a bit per run that went wrong. */
static int unprivileged_runs(void)
{
	char *pool[] = {helper, NULL};
	char *idle[] = {cov_helper, "idle", "400", NULL};
	char *hang[] = {cov_helper, "idle", "20000", NULL};
	char out[PATH_MAX];
	struct chaos_scenario sc;
	struct chaos_run_result r;
	struct chaos_run_opts o = {.sc = &sc, .target_name = "cov", .outdir = out};
	int bad = 0;

	if (chaos_scenario_init(&sc, 3) || setresuid(NOBODY, NOBODY, 0))
		return 0x80;
	sc.workers = 2;
	sc.tasks[1].sleep_ms = 2000;
	sc.faults = calloc(1, sizeof(*sc.faults));
	if (!sc.faults)
		return 0x80;
	sc.nfaults = 1;
	sc.faults[0].kind = CHAOS_FAULT_ON_START;
	sc.faults[0].signo = SIGKILL;
	sc.faults[0].task = 1;
	sc.faults[0].attempt = 1;

	/* Kill faults work by pidfd alone; -v says what is missing. */
	tmp_outdir(out, sizeof(out), "nocg/kill");
	o.argv = pool;
	o.verbose = 1;
	if (chaos_run(&o, &r) || r.verdict != CHAOS_RUN_DONE || r.deaths != 3)
		bad |= 1;
	o.verbose = 0;

	/* A timed fault for a target without the kit: no cgroup to scan. */
	sc.faults[0].kind = CHAOS_FAULT_AT_TIME;
	sc.faults[0].worker = 0;
	sc.faults[0].delay_ms = 100;
	sc.faults[0].from = CHAOS_FROM_SPAWN;
	tmp_outdir(out, sizeof(out), "nocg/at-time");
	o.argv = idle;
	if (chaos_run(&o, &r) || r.verdict != CHAOS_RUN_DONE)
		bad |= 2;

	/* A hang: diagnostics and teardown through the process group. */
	sc.nfaults = 0;
	sc.deadline_ms = 300;
	tmp_outdir(out, sizeof(out), "nocg/hang");
	o.argv = hang;
	if (chaos_run(&o, &r) || r.verdict != CHAOS_RUN_HANG)
		bad |= 4;

	/* Memory limits cannot be had: the run is skipped with the reason. */
	sc.mem_mode = CHAOS_MEM_PER_WORKER;
	sc.mem_limit = 64 << 20;
	tmp_outdir(out, sizeof(out), "nocg/skip");
	if (chaos_run(&o, &r) || r.verdict != CHAOS_RUN_SKIPPED ||
	    !strstr(r.reason, "scenario needs memory limits"))
		bad |= 8;
	chaos_scenario_free(&sc);
	if (setresuid(0, 0, 0))
		bad |= 0x40;
	return bad;
}

static void test_unprivileged(void **state)
{
	char path[PATH_MAX + 64], errp[PATH_MAX], text[8192];
	struct tu_hist h;
	json_t *e;
	pid_t pid;
	ssize_t n;
	int fd;

	(void)state;
	SKIP_WITHOUT_CG();
	snprintf(path, sizeof(path), "%s/nocg", tmproot);
	assert_int_equal(mkdir(path, 0777), 0);
	assert_int_equal(chmod(path, 0777), 0);
	snprintf(errp, sizeof(errp), "%s/nocg-stderr", tmproot);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int efd = open(errp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		if (efd < 0 || dup2(efd, 2) < 0)
			tu_child_exit(0x80);
		tu_child_exit(unprivileged_runs());
	}
	assert_int_equal(tu_wait_child(pid, 60000), 0);

	fd = open(errp, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	text[n > 0 ? n : 0] = '\0';
	if (!strstr(text, "only kill faults can run"))
		fail_msg("no notice on stderr:\n%s", text);

	snprintf(path, sizeof(path), "%s/nocg/kill/history.jsonl", tmproot);
	tu_hist_load(path, &h);
	tu_assert_event(&h, "run", "backend", "none");
	tu_assert_event(&h, "event_error", "text", "no usable memory cgroup");
	e = tu_hist_find(&h, "death", NULL, NULL, 0);
	assert_non_null(e);
	assert_true(json_is_null(json_object_get(e, "oom")));
	e = tu_hist_find(&h, "fault", "kind", "on-start", 0);
	assert_non_null(e);
	assert_true(json_is_true(json_object_get(e, "ok")));
	tu_assert_event(&h, "outcome", "line", "lost 1");
	assert_run_gone(&h);
	tu_hist_free(&h);

	snprintf(path, sizeof(path), "%s/nocg/at-time/history.jsonl", tmproot);
	tu_hist_load(path, &h);
	tu_assert_event(&h, "fault", "error", "no such worker");
	tu_hist_free(&h);

	snprintf(path, sizeof(path), "%s/nocg/hang/history.jsonl", tmproot);
	tu_hist_load(path, &h);
	e = tu_hist_find(&h, "diag", NULL, NULL, 0);
	assert_non_null(e);
	assert_int_equal(tu_ival(e, "pid"), tu_ival(tu_hist_find(&h, "spawn", NULL, NULL, 0), "pid"));
	e = tu_hist_find(&h, "teardown", NULL, NULL, 0);
	assert_non_null(e);
	assert_true(tu_ival(e, "killed") >= 1);
	assert_false(tu_pid_running((pid_t)tu_ival(tu_hist_find(&h, "spawn", NULL, NULL, 0), "pid")));
	tu_assert_event(&h, "end_run", "verdict", "hang");
	tu_hist_free(&h);

	snprintf(path, sizeof(path), "%s/nocg/skip/history.jsonl", tmproot);
	tu_hist_load(path, &h);
	tu_assert_event(&h, "end_run", "verdict", "skipped");
	assert_int_equal(tu_hist_count(&h, "spawn", NULL, NULL), 0);
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
 * two runs that decided the same have equal summaries. On kernels that
 * keep no exit status on a pidfd (before 6.15) the status of a worker its
 * pool reaped first is read best-effort from /proc (docs/protocol.md:
 * `how` may be `unknown`), so there a death is compared by its task,
 * attempt and OOM flag only. */
static size_t run_summary(const struct tu_hist *h, char **out, size_t max)
{
	static const char *const evs[] = {"fault", "death", "end", "outcome", "target_exit"};
	int status_known = kernel_keeps_exit_status();
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
			if (!status_known && strcmp(ev, "death") == 0) {
				json_object_del(o, "how");
				json_object_del(o, "code");
				json_object_del(o, "signal");
			}
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
	if (ret == 0)
		ret = tu_helper_setup("cov_target", cov_helper, sizeof(cov_helper), NULL, NULL, 0);
	if (ret) {
		fprintf(stderr, "test_run: helpers missing beside %s\n", exe);
		return -1;
	}
	/* The unprivileged runs need an output directory the user nobody can
	 * enter. */
	if (!mkdtemp(tmproot) || chmod(tmproot, 0755))
		return -1;
	have_cg = chaos_cg_detect(&cgenv) == 0 && cgenv.version != CHAOS_CG_NONE;
	/* Tasks that wait for a `go` that never comes must not wait 30 s. */
	setenv("CHAOS_GO_TIMEOUT_MS", "5000", 1);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	return tu_rm_rf(tmproot);
}

/* ---- anchors, triggers, victims --------------------------------------------- */

/* The nth event ev whose integer field key is v, or NULL. */
static json_t *find_int(const struct tu_hist *h, const char *ev, const char *key, long long v,
			size_t nth)
{
	json_t *e;

	for (size_t k = 0; (e = tu_hist_find(h, ev, NULL, NULL, k)) != NULL; k++)
		if (tu_ival(e, key) == v && nth-- == 0)
			return e;
	return NULL;
}

/* The fault event of scenario fault k (the first one). */
static json_t *fault_of(const struct tu_hist *h, long long k)
{
	return find_int(h, "fault", "fault", k, 0);
}

/* A pool that boots for 300 ms: kill-at with at = 0 counted from the
 * first task start hits a worker running a task; counted from the spawn
 * it finds no worker at all, since nothing but the booting pool runs. */
static void test_anchor_first_start(void **state)
{
	static const enum chaos_anchor from[2] = {CHAOS_FROM_FIRST_START, CHAOS_FROM_SPAWN};
	char *argv[] = {helper, "slow", NULL};
	struct chaos_scenario sc;
	struct chaos_run_result r;
	struct chaos_fault *f;
	struct tu_hist h;
	json_t *e, *s;

	(void)state;
	SKIP_WITHOUT_CG();
	for (int i = 0; i < 2; i++) {
		scenario(&sc, 4, 2, 300, 20000);
		f = add_fault(&sc, CHAOS_FAULT_AT_TIME, SIGKILL);
		f->worker = 0;
		f->delay_ms = 0;
		f->from = from[i];
		assert_int_equal(run_once(&sc, i ? "anchor-spawn" : "anchor-first", argv, &r), 0);
		assert_int_equal(r.verdict, CHAOS_RUN_DONE);
		tu_hist_load(r.history, &h);
		e = fault_of(&h, 0);
		assert_non_null(e);
		assert_int_equal(tu_hist_count(&h, "fault", NULL, NULL), 1);
		assert_string_equal(tu_sval(e, "anchor"), i ? "spawn" : "first-start");
		assert_string_equal(tu_sval(e, "victim"), "worker");
		if (i == 0) {
			s = tu_hist_find(&h, "start", NULL, NULL, 0);
			assert_true(json_is_true(json_object_get(e, "ok")));
			assert_int_equal(tu_ival(e, "pid"), tu_ival(s, "pid"));
			assert_int_equal(tu_ival(e, "task"), tu_ival(s, "task"));
			assert_string_equal(tu_sval(e, "role"), "worker");
			e = find_int(&h, "death", "pid", tu_ival(s, "pid"), 0);
			assert_non_null(e);
			assert_int_equal(tu_ival(e, "task"), tu_ival(s, "task"));
			assert_string_equal(tu_sval(e, "role"), "worker");
		} else {
			assert_true(json_is_false(json_object_get(e, "ok")));
			assert_true(json_is_null(json_object_get(e, "task")));
			assert_int_equal(tu_hist_count(&h, "death", "how", "signal"), 0);
		}
		assert_nothing_left(&h);
		tu_hist_free(&h);
		chaos_scenario_free(&sc);
	}
}

/* kill-after-starts hits the worker of the K-th start; kill-on-end hits
 * the worker of task 4 after its end, before the pool has the result:
 * no `end` is recorded for it, its death names the task, the pool
 * reports it lost; the other tasks end normally. */
static void test_after_starts_and_on_end(void **state)
{
	char *argv[] = {helper, NULL};
	struct chaos_scenario sc;
	struct chaos_run_result r;
	struct chaos_fault *f;
	struct tu_hist h;
	json_t *e, *s;
	char spec[PATH_MAX + 16], *text;

	(void)state;
	SKIP_WITHOUT_CG();
	scenario(&sc, 6, 2, 50, 20000);
	f = add_fault(&sc, CHAOS_FAULT_AFTER_STARTS, SIGKILL);
	f->starts = 3;
	f = add_fault(&sc, CHAOS_FAULT_ON_END, SIGKILL);
	f->task = 4;
	assert_int_equal(run_once(&sc, "after-starts-on-end", argv, &r), 0);
	assert_int_equal(r.verdict, CHAOS_RUN_DONE);
	tu_hist_load(r.history, &h);
	/* The third start, whatever its task. */
	s = tu_hist_find(&h, "start", NULL, NULL, 2);
	e = fault_of(&h, 0);
	assert_non_null(e);
	assert_true(json_is_true(json_object_get(e, "ok")));
	assert_string_equal(tu_sval(e, "anchor"), "starts");
	assert_int_equal(tu_ival(e, "pid"), tu_ival(s, "pid"));
	assert_int_equal(tu_ival(e, "task"), tu_ival(s, "task"));
	/* The end of task 4. */
	s = find_int(&h, "start", "task", 4, 0);
	e = fault_of(&h, 1);
	assert_non_null(s);
	assert_non_null(e);
	assert_true(json_is_true(json_object_get(e, "ok")));
	assert_string_equal(tu_sval(e, "kind"), "on-end");
	assert_string_equal(tu_sval(e, "anchor"), "end");
	assert_int_equal(tu_ival(e, "pid"), tu_ival(s, "pid"));
	assert_int_equal(tu_ival(e, "task"), 4);
	assert_null(find_int(&h, "end", "task", 4, 0));
	e = find_int(&h, "death", "pid", tu_ival(s, "pid"), 0);
	assert_non_null(e);
	assert_int_equal(tu_ival(e, "task"), 4);
	assert_string_equal(tu_sval(e, "signal"), "SIGKILL");
	tu_assert_event(&h, "outcome", "line", "lost 4");
	assert_int_equal(tu_hist_count(&h, "end", NULL, NULL), 4);
	/* The kit was told to hold task 4's end, and only that one. */
	snprintf(spec, sizeof(spec), "%s/after-starts-on-end/tasks.txt", outroot);
	text = tu_read_all(spec);
	assert_non_null(text);
	tu_assert_contains(text, "chaos-tasks 2 6\n");
	assert_int_equal(tu_count(text, "hold=1"), 1);
	tu_assert_contains(text, "4 sleep=50 alloc=0 action=ok code=0 times=1 result=16 hold=1\n");
	free(text);
	assert_nothing_left(&h);
	tu_hist_free(&h);
	chaos_scenario_free(&sc);
}

/* victim = main: SIGKILL reaches the target's main process through its
 * pidfd while workers are busy; the fault says so. */
static void test_victim_main(void **state)
{
	char *argv[] = {helper, NULL};
	struct chaos_scenario sc;
	struct chaos_run_result r;
	struct chaos_fault *f;
	struct tu_hist h;
	json_t *e;

	(void)state;
	SKIP_WITHOUT_CG();
	scenario(&sc, 4, 2, 300, 20000);
	f = add_fault(&sc, CHAOS_FAULT_AT_TIME, SIGKILL);
	f->delay_ms = 100;
	f->victim = CHAOS_VICTIM_MAIN;
	assert_int_equal(run_once(&sc, "victim-main", argv, &r), 0);
	assert_int_equal(r.verdict, CHAOS_RUN_CRASHED);
	tu_hist_load(r.history, &h);
	e = fault_of(&h, 0);
	assert_non_null(e);
	assert_true(json_is_true(json_object_get(e, "ok")));
	assert_string_equal(tu_sval(e, "victim"), "main");
	assert_string_equal(tu_sval(e, "role"), "main");
	assert_int_equal(tu_ival(e, "pid"), tu_ival(tu_hist_find(&h, "spawn", NULL, NULL, 0), "pid"));
	e = tu_hist_find(&h, "target_exit", NULL, NULL, 0);
	assert_non_null(e);
	assert_string_equal(tu_sval(e, "signal"), "SIGKILL");
	assert_nothing_left(&h);
	tu_hist_free(&h);
	chaos_scenario_free(&sc);
}

/* Faults that never fire each get one fault event with ok false and the
 * reason: a target that never starts a task. */
static void test_unfired_faults(void **state)
{
	char *argv[] = {cov_helper, "idle", "300", NULL};
	struct chaos_scenario sc;
	struct chaos_run_result r;
	struct chaos_fault *f;
	struct tu_hist h;
	json_t *e;

	(void)state;
	SKIP_WITHOUT_CG();
	scenario(&sc, 4, 1, 0, 20000);
	f = add_fault(&sc, CHAOS_FAULT_AT_TIME, SIGKILL);
	f->delay_ms = 0;
	f = add_fault(&sc, CHAOS_FAULT_ON_START, SIGKILL);
	f->task = 3;
	f = add_fault(&sc, CHAOS_FAULT_ON_END, SIGKILL);
	f->task = 2;
	f = add_fault(&sc, CHAOS_FAULT_AFTER_STARTS, SIGKILL);
	f->starts = 2;
	f = add_fault(&sc, CHAOS_FAULT_ALL_AT, SIGKILL);
	f->delay_ms = 15000;
	f->from = CHAOS_FROM_SPAWN;
	run_ok(&sc, "unfired", argv, &r, &h);
	assert_int_equal(r.verdict, CHAOS_RUN_DONE);
	assert_int_equal(tu_hist_count(&h, "fault", NULL, NULL), 5);
	static const char *const why[] = {
	    "not fired: no task started", "not fired: task 3 never started",
	    "not fired: task 2 never ended", "not fired: 0 task starts, fewer than starts = 2",
	    "not fired: run ended at "};
	for (long long k = 0; k < 5; k++) {
		e = fault_of(&h, k);
		assert_non_null(e);
		assert_true(json_is_false(json_object_get(e, "ok")));
		assert_true(json_is_null(json_object_get(e, "pid")));
		assert_true(json_is_null(json_object_get(e, "role")));
		if (strncmp(tu_sval(e, "error"), why[k], strlen(why[k])))
			fail_msg("fault %lld: error '%s', expected '%s'", k, tu_sval(e, "error"),
				 why[k]);
	}
	tu_hist_free(&h);
	chaos_scenario_free(&sc);
}

/* The run ends with the main process: a daemon that keeps stdout open
 * after `done` is a leftover (not a HANG at the deadline), and the
 * teardown kills it. */
static void test_daemon_holds_stdout(void **state)
{
	char *argv[] = {helper, "daemon", NULL};
	struct chaos_scenario sc;
	struct chaos_run_result r;
	struct tu_hist h;

	(void)state;
	SKIP_WITHOUT_CG();
	scenario(&sc, 2, 2, 0, 20000);
	assert_int_equal(run_once(&sc, "daemon-stdout", argv, &r), 0);
	assert_int_equal(r.verdict, CHAOS_RUN_DONE);
	assert_true(r.leftovers >= 1);
	tu_hist_load(r.history, &h);
	assert_non_null(tu_hist_find(&h, "leftover", NULL, NULL, 0));
	assert_null(tu_hist_find(&h, "deadline", NULL, NULL, 0));
	/* The leftover's pid is checked here: it must be gone. */
	assert_nothing_left(&h);
	tu_hist_free(&h);
	chaos_scenario_free(&sc);
}

/* The startup bound of a scenario file: the deadline counts from the
 * first task start, so a pool that boots for 4 s finishes under a 3 s
 * deadline (its boot is not its work; its 40 ms of work fit the 3 s even
 * under emulation), and a target that never
 * starts a task ends at its startup bound, which the checker calls ERROR
 * (nothing of the pool was tested), not HANG. */
static void test_startup_bound(void **state)
{
	char *slow[] = {helper, "slow", NULL}, *idle[] = {"/bin/sleep", "30", NULL};
	struct chaos_scenario sc;
	struct chaos_run_result r;
	struct chaos_verdict v;

	(void)state;
	SKIP_WITHOUT_CG();
	scenario(&sc, 4, 2, 10, 3000);
	snprintf(sc.path, sizeof(sc.path), "startup-bound.ini");
	sc.startup_ms = 20000;
	assert_int_equal(setenv("CTL_BOOT_MS", "4000", 1), 0);
	assert_int_equal(run_once(&sc, "startup-slow", slow, &r), 0);
	unsetenv("CTL_BOOT_MS");
	assert_int_equal(r.verdict, CHAOS_RUN_DONE);
	assert_int_equal(chaos_check_history(&sc, r.history, &v), 0);
	assert_int_equal(v.cell, CHAOS_CELL_PASS);
	chaos_scenario_free(&sc);

	scenario(&sc, 4, 2, 10, 20000);
	snprintf(sc.path, sizeof(sc.path), "startup-bound.ini");
	sc.startup_ms = 300;
	assert_int_equal(run_once(&sc, "startup-idle", idle, &r), 0);
	assert_int_equal(r.verdict, CHAOS_RUN_HANG);
	assert_non_null(strstr(r.reason, "no task started within the startup bound of 300 ms"));
	/* It ended at the startup bound, not at the 20 s deadline. */
	assert_true(r.elapsed_ms < 15000);
	assert_int_equal(chaos_check_history(&sc, r.history, &v), 0);
	assert_int_equal(v.cell, CHAOS_CELL_ERROR);
	assert_non_null(strstr(v.note, "no task started within"));
	chaos_scenario_free(&sc);
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
		cmocka_unit_test(test_verdicts),
		cmocka_unit_test(test_outdir_errors),
		cmocka_unit_test(test_interrupt),
		cmocka_unit_test(test_kill_all_at),
		cmocka_unit_test(test_silent_workers),
		cmocka_unit_test(test_every_without_workers),
		cmocka_unit_test(test_start_signals),
		cmocka_unit_test(test_pressure_twice),
		cmocka_unit_test(test_pressure_without_stress_ng),
		cmocka_unit_test(test_protocol_errors),
		cmocka_unit_test(test_outsider_connection),
		cmocka_unit_test(test_escaped_worker),
		cmocka_unit_test(test_unprivileged),
		cmocka_unit_test(test_killed_controller_random),
		cmocka_unit_test(test_bench_kill_latency),
		cmocka_unit_test_teardown(test_run_under_signal_storm, tu_storm_teardown),
		cmocka_unit_test(test_discovered_workers_by_start_time),
		cmocka_unit_test(test_anchor_first_start),
		cmocka_unit_test(test_startup_bound),
		cmocka_unit_test(test_after_starts_and_on_end),
		cmocka_unit_test(test_victim_main),
		cmocka_unit_test(test_unfired_faults),
		cmocka_unit_test(test_daemon_holds_stdout),
	};

	return cmocka_run_group_tests(tests, setup, group_teardown);
}
