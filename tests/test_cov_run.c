/* chaos_run() on the paths the main run tests leave out: every verdict a
 * target can earn, an output directory that cannot be used in each of its
 * files, an interrupted run (while it runs and before it starts), timed
 * faults that find no victim or every victim, start faults with SIGTERM,
 * SIGSEGV and a real-time signal, memory pressure twice at once and without
 * stress-ng, a target that breaks the event protocol, a process outside the
 * run that speaks to its socket, a worker that leaves the run cgroup, and a
 * controller without cgroup rights (an unprivileged user).
 *
 * Every run is real: real processes, real signals, real cgroups below this
 * process's own memory cgroup. Each test reads the history the run wrote,
 * checks the events that prove the path was taken, and checks that no
 * process and no cgroup of the run is left. Runs that change process-wide
 * state (the sticky interrupt, PATH, the user ID) happen in a forked child
 * that reports through its exit status; the parent reads its histories. */
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
#include "engine/run.h"
#include "util/testutil.h"

#define NOBODY 65534

static char helper[PATH_MAX];   /* tests/helpers/cov_target */
static char ctl_pool[PATH_MAX]; /* tests/helpers/ctl_pool */
static char outroot[] = "/tmp/test_cov_run.XXXXXX";
static struct chaos_cg_env cgenv;
static int have_cg;

#define SKIP_WITHOUT_CG()                                                                  \
	TU_SKIP_UNLESS(have_cg, "skipped: no writable memory cgroup (%s)\n", cgenv.why)

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
static void assert_nothing_left(const struct tu_hist *h)
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

static void outdir(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", outroot, name);
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

	outdir(out, sizeof(out), name);
	if (chaos_run(&o, r))
		fail_msg("chaos_run %s: %s", name, chaos_run_last_error());
	tu_hist_load(r->history, h);
	assert_nothing_left(h);
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
	outdir(out, sizeof(out), "plain");
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

	outdir(out, sizeof(out), "hist-is-dir");
	assert_int_equal(mkdir(out, 0755), 0);
	make_dir(out, "history.jsonl");
	run_fails(&sc, out, -EISDIR, "history.jsonl");

	outdir(out, sizeof(out), "tasks-is-dir");
	assert_int_equal(mkdir(out, 0755), 0);
	make_dir(out, "tasks.txt");
	run_fails(&sc, out, -EISDIR, "tasks.txt");

	/* After the run began: the history says why it ended. */
	outdir(out, sizeof(out), "stderr-is-dir");
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
	outdir(out, sizeof(out), "sock-is-dir");
	assert_int_equal(mkdir(out, 0755), 0);
	make_dir(out, "events.sock");
	snprintf(path, sizeof(path), "%s/events.sock", out);
	make_dir(path, "keep");
	run_fails(&sc, out, -EADDRINUSE, "cannot listen on");

	/* Too deep for sun_path: the socket moves to /tmp and is removed. */
	outdir(out, sizeof(out), "deep");
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
	assert_nothing_left(&h);
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
	char *argv[] = {helper, "idle", "20000", NULL};
	char out1[PATH_MAX], out2[PATH_MAX];
	struct chaos_scenario sc;
	struct chaos_run_result r;
	struct chaos_run_opts o = {.sc = &sc, .target_name = "cov", .argv = argv};
	pthread_t t;
	int code = 0;

	if (chaos_scenario_init(&sc, 1))
		return 10;
	sc.deadline_ms = 20000;
	outdir(out1, sizeof(out1), "interrupt-during");
	outdir(out2, sizeof(out2), "interrupt-before");
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

	snprintf(path, sizeof(path), "%s/interrupt-during/history.jsonl", outroot);
	tu_hist_load(path, &h);
	tu_assert_event(&h, "spawn", NULL, NULL);
	tu_assert_event(&h, "diag", NULL, NULL);
	tu_assert_event(&h, "end_run", "verdict", "interrupted");
	assert_nothing_left(&h);
	tu_hist_free(&h);

	snprintf(path, sizeof(path), "%s/interrupt-before/history.jsonl", outroot);
	tu_hist_load(path, &h);
	assert_int_equal(tu_hist_count(&h, "spawn", NULL, NULL), 0);
	tu_assert_event(&h, "teardown", NULL, NULL);
	tu_assert_event(&h, "end_run", "reason", "interrupted before the run ended");
	assert_nothing_left(&h);
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
	char *argv[] = {ctl_pool, NULL};
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
	char *argv[] = {helper, "late", "600", NULL};
	json_t *w0, *w1;

	(void)state;
	SKIP_WITHOUT_CG();
	scenario(&sc, 2, 2, 0, 20000);
	f = add_fault(&sc, CHAOS_FAULT_AT_TIME, SIGKILL);
	f->worker = 7;
	f->delay_ms = 200;
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
	char *argv[] = {helper, "idle", "500", NULL};

	(void)state;
	SKIP_WITHOUT_CG();
	scenario(&sc, 1, 1, 0, 20000);
	f = add_fault(&sc, CHAOS_FAULT_EVERY, SIGKILL);
	f->interval_ms = 100;
	f->count = 1;
	f->seed = 7;
	run_ok(&sc, "every-no-worker", argv, &r, &h);
	assert_int_equal(r.verdict, CHAOS_RUN_DONE);
	tu_assert_event(&h, "fault", "error", "no live worker");
	assert_int_equal(tu_hist_count(&h, "death", NULL, NULL), 0);
	tu_hist_free(&h);
	chaos_scenario_free(&sc);
}

/* Start faults with other signals than SIGKILL, and a task that fails. */
static void test_start_signals(void **state)
{
	struct chaos_scenario sc;
	struct chaos_run_result r;
	struct chaos_fault *f;
	struct rlimit nocore = {0, 0};
	struct tu_hist h;
	char *argv[] = {ctl_pool, NULL};
	json_t *d;

	(void)state;
	SKIP_WITHOUT_CG();
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
	char *argv[] = {helper, "idle", "1800", NULL};
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
		char *argv[] = {helper, "idle", "400", NULL};
		char out[PATH_MAX];
		struct chaos_scenario sc;
		struct chaos_run_result r;
		struct chaos_run_opts o = {.sc = &sc, .target_name = "cov", .argv = argv,
					   .outdir = out};
		struct chaos_fault *f;

		outdir(out, sizeof(out), "no-stress-ng");
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
		setenv("PATH", "/nonexistent-cov-run", 1);
		tu_child_exit(chaos_run(&o, &r) == 0 && r.verdict == CHAOS_RUN_DONE ? 0 : 12);
	}
	assert_int_equal(tu_wait_child(pid, 30000), 0);
	snprintf(path, sizeof(path), "%s/no-stress-ng/history.jsonl", outroot);
	tu_hist_load(path, &h);
	tu_assert_event(&h, "fault", "error", "cannot run stress-ng");
	assert_nothing_left(&h);
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
	char *argv[] = {helper, "evil", NULL};

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
	char *argv[] = {helper, "idle", "1500", NULL};
	char sock[PATH_MAX + 32];
	pid_t pid;

	(void)state;
	SKIP_WITHOUT_CG();
	snprintf(sock, sizeof(sock), "%s/outsider/events.sock", outroot);
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
	char *argv[] = {helper, "escape", NULL};
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
	char *pool[] = {ctl_pool, NULL};
	char *idle[] = {helper, "idle", "400", NULL};
	char *hang[] = {helper, "idle", "20000", NULL};
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
	outdir(out, sizeof(out), "nocg/kill");
	o.argv = pool;
	o.verbose = 1;
	if (chaos_run(&o, &r) || r.verdict != CHAOS_RUN_DONE || r.deaths != 3)
		bad |= 1;
	o.verbose = 0;

	/* A timed fault for a target without the kit: no cgroup to scan. */
	sc.faults[0].kind = CHAOS_FAULT_AT_TIME;
	sc.faults[0].worker = 0;
	sc.faults[0].delay_ms = 100;
	outdir(out, sizeof(out), "nocg/at-time");
	o.argv = idle;
	if (chaos_run(&o, &r) || r.verdict != CHAOS_RUN_DONE)
		bad |= 2;

	/* A hang: diagnostics and teardown through the process group. */
	sc.nfaults = 0;
	sc.deadline_ms = 300;
	outdir(out, sizeof(out), "nocg/hang");
	o.argv = hang;
	if (chaos_run(&o, &r) || r.verdict != CHAOS_RUN_HANG)
		bad |= 4;

	/* Memory limits cannot be had: the run is skipped with the reason. */
	sc.mem_mode = CHAOS_MEM_PER_WORKER;
	sc.mem_limit = 64 << 20;
	outdir(out, sizeof(out), "nocg/skip");
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
	snprintf(path, sizeof(path), "%s/nocg", outroot);
	assert_int_equal(mkdir(path, 0777), 0);
	assert_int_equal(chmod(path, 0777), 0);
	snprintf(errp, sizeof(errp), "%s/nocg-stderr", outroot);
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

	snprintf(path, sizeof(path), "%s/nocg/kill/history.jsonl", outroot);
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
	assert_nothing_left(&h);
	tu_hist_free(&h);

	snprintf(path, sizeof(path), "%s/nocg/at-time/history.jsonl", outroot);
	tu_hist_load(path, &h);
	tu_assert_event(&h, "fault", "error", "no such worker");
	tu_hist_free(&h);

	snprintf(path, sizeof(path), "%s/nocg/hang/history.jsonl", outroot);
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

	snprintf(path, sizeof(path), "%s/nocg/skip/history.jsonl", outroot);
	tu_hist_load(path, &h);
	tu_assert_event(&h, "end_run", "verdict", "skipped");
	assert_int_equal(tu_hist_count(&h, "spawn", NULL, NULL), 0);
	tu_hist_free(&h);
}

/* ---- setup ------------------------------------------------------------------- */

static int setup(void **state)
{
	char exe[PATH_MAX];

	(void)state;
	/* This program is <build>/tests/test_cov_run; helpers are beside it. */
	if (tu_exe_dir(exe, sizeof(exe)))
		return -1;
	snprintf(helper, sizeof(helper), "%.*s/helpers/cov_target", PATH_MAX - 32, exe);
	snprintf(ctl_pool, sizeof(ctl_pool), "%.*s/helpers/ctl_pool", PATH_MAX - 32, exe);
	if (access(helper, X_OK) || access(ctl_pool, X_OK)) {
		fprintf(stderr, "test_cov_run: helpers missing beside %s\n", exe);
		return -1;
	}
	if (!mkdtemp(outroot) || chmod(outroot, 0755))
		return -1;
	have_cg = chaos_cg_detect(&cgenv) == 0 && cgenv.version != CHAOS_CG_NONE;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return tu_rm_rf(outroot);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
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
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
