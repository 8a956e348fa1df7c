/* `chaos matrix`: every scenario of the chosen suites against every chosen
 * target, several runs at once, then the verdict table, the reports
 * (matrix.json, junit.xml, matrix.md), a timeline per run, and the
 * comparison with the expected verdicts.
 *
 * Each run is a forked child that calls chaos_run() and the checker and
 * leaves its verdict as verdict.json in its run directory; the parent only
 * schedules, waits (with a deadline per child) and reports. A child that
 * overruns its deadline is killed, its run cgroup is swept, and its cell is
 * an internal error: the matrix itself never hangs.
 *
 * Exit codes (see chaos_matrix_main in matrix.h):
 *   0  every cell ran; without --regress: every safepool cell is PASS or
 *      SKIP (foreign pools may FAIL or HANG: that is what the matrix shows);
 *      with --regress: every compared cell equals its baseline
 *   1  --regress: a verdict differs from the baseline (either way);
 *      otherwise: a safepool cell is FAIL, HANG or UNSUPPORTED
 *   2  usage error, unknown target, bad scenario or baseline file
 *   3  nothing ran: every selected cell was skipped
 *   4  internal error (a run failed or overran its deadline, a report
 *      could not be written) */
#include "matrix/matrix.h"

#include "matrix/baseline.h"
#include "check/checker.h"
#include "matrix/plan.h"
#include "matrix/report.h"
#include "check/scenario.h"
#include "check/value.h"
#include "engine/targets.h"
#include "engine/targets_internal.h"
#include "matrix/timeline.h"
#include "cgroup/cgroup.h"
#include "engine/run.h"
#include "sys/file.h"
#include "sys/io.h"
#include "sys/pidfd.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifdef SP_COVERAGE
void __gcov_dump(void);
#endif

#define MX_MAX_SUITES 32
#define MX_MAX_TARGETS 64
#define MX_MAX_JOBS 64
/* Time a run may take beyond its scenario deadline: diagnostics capture,
 * teardown, the checker and the timeline. chaos_run bounds each of these
 * itself; this only catches a run process that is stuck anyway. */
#define MX_MARGIN_MS 20000

enum {
	MX_EXIT_OK = 0,
	MX_EXIT_DIFF = 1,
	MX_EXIT_USAGE = 2,
	MX_EXIT_SKIPPED = 3,
	MX_EXIT_INTERNAL = 4
};

struct mx_opts {
	const char *suites[MX_MAX_SUITES];
	size_t nsuites;
	const char *targets[MX_MAX_TARGETS];
	size_t ntargets;
	unsigned jobs;
	unsigned shard_k, shard_n;
	const char *out;
	const char *expected_dir;
	int regress;
	int write_expected;
	int verbose;
	uint32_t max_deadline_ms; /* 0 = the scenarios' own */
	/* --target-deadline NAME=TIME: a target whose pool is known to be
	 * slow but not hung (billiard notices a lost worker after 10 s) gets
	 * this cap instead of max_deadline_ms, never above the scenario's. */
	struct {
		const char *name;
		uint32_t ms;
	} target_deadline[8];
	unsigned ntarget_deadline;
};

struct mx_slot {
	pid_t pid;
	int pidfd;
	size_t cell;
	int64_t deadline_ms;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: chaos matrix [--suite seed,oom,schedules] [--target NAME|NAME=COMMAND]...\n"
		"                    [--jobs N] [--shard K/N] [--out DIR] [--max-deadline TIME]\n"
		"                    [--regress] [--write-expected] [--expected-dir DIR] [-v]\n"
		"Runs every scenario of the suites (names below scenarios/, or directory\n"
		"paths) against every target (default: all shipped targets; one whose\n"
		"runtime is missing is shown as SKIP with the reason).\n"
		"  --jobs N          runs at once (default 2)\n"
		"  --shard K/N       only pairs whose index in (target, suite, scenario) order\n"
		"                    is K-1 modulo N\n"
		"  --out DIR         reports and run directories (default build/matrix)\n"
		"  --max-deadline T  cap every scenario's deadline (e.g. 5s, 800ms)\n"
		"  --target-deadline NAME=T  this target's cap instead (up to 8 times)\n"
		"  --regress         compare each cell with <expected-dir>/<target>\n"
		"  --write-expected  write the observed cells into the expected files\n"
		"  --expected-dir D  default: scenarios/expected of the source tree\n"
		"Exit: 0 as expected, 1 a verdict differs (--regress) or a safepool cell\n"
		"is not PASS, 2 usage, 3 everything skipped, 4 internal error.\n");
}

/* A list option given more often than the matrix holds; always -EINVAL. */
static int too_many(const char *what, int max)
{
	fprintf(stderr, "chaos matrix: too many %s (at most %d)\n", what, max);
	return -EINVAL;
}

/* --suite a,b,c: the names point into a copy kept in suite_buf until the
 * matrix ends. */
static int add_suites(struct mx_opts *o, const char *arg, char **suite_buf)
{
	char *save = NULL, *tok, *copy;
	size_t nb = 0;

	while (suite_buf[nb])
		nb++;
	if (nb == MX_MAX_SUITES)
		return too_many("--suite options", MX_MAX_SUITES);
	copy = strdup(arg);
	if (!copy)
		return -ENOMEM;
	suite_buf[nb] = copy;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (o->nsuites == MX_MAX_SUITES)
			return too_many("suites", MX_MAX_SUITES);
		o->suites[o->nsuites++] = tok;
	}
	return 0;
}

/* A deadline cap (the value grammar's times, 1ms to a day); the message
 * names the option. */
static int parse_cap(const char *opt, const char *arg, uint32_t *ms)
{
	char msg[CHAOS_VALUE_MSG_MAX];

	if (chaos_value_time(arg, 1, 86400u * 1000u, ms, msg, sizeof(msg)) == 0)
		return 0;
	fprintf(stderr, "chaos matrix: %s: %s\n", opt, msg);
	return -EINVAL;
}

/* --target-deadline NAME=TIME, at most 8 times. */
static int add_target_deadline(struct mx_opts *o, char *arg)
{
	char *eq = strchr(arg, '=');

	if (!eq || eq == arg || o->ntarget_deadline == 8) {
		fprintf(stderr,
			"chaos matrix: bad --target-deadline '%s' (expected NAME=TIME, "
			"e.g. billiard=15s, at most 8 times)\n",
			arg);
		return -EINVAL;
	}
	if (parse_cap("--target-deadline", eq + 1, &o->target_deadline[o->ntarget_deadline].ms))
		return -EINVAL;
	*eq = '\0';
	o->target_deadline[o->ntarget_deadline++].name = arg;
	return 0;
}

/* One option of getopt_long's; 1 after --help, 0 or -errno otherwise. */
static int apply_opt(struct mx_opts *o, int c, char *arg, char **suite_buf)
{
	char msg[CHAOS_VALUE_MSG_MAX];
	uint64_t jobs = 0;

	switch (c) {
	case 's':
		return add_suites(o, arg, suite_buf);
	case 't':
		if (o->ntargets == MX_MAX_TARGETS)
			return too_many("targets", MX_MAX_TARGETS);
		o->targets[o->ntargets++] = arg;
		return 0;
	case 'j':
		if (chaos_value_number(arg, 1, MX_MAX_JOBS, &jobs, msg, sizeof(msg))) {
			fprintf(stderr, "chaos matrix: --jobs: %s\n", msg);
			return -EINVAL;
		}
		o->jobs = (unsigned)jobs;
		return 0;
	case 'S':
		if (chaos__plan_parse_shard(arg, &o->shard_k, &o->shard_n) < 0) {
			fprintf(stderr,
				"chaos matrix: bad --shard '%s' (expected K/N with 1 <= K <= N "
				"<= 100000)\n",
				arg);
			return -EINVAL;
		}
		return 0;
	case 'o':
		o->out = arg;
		return 0;
	case 'D':
		return parse_cap("--max-deadline", arg, &o->max_deadline_ms);
	case 'T':
		return add_target_deadline(o, arg);
	case 'r':
		o->regress = 1;
		return 0;
	case 'w':
		o->write_expected = 1;
		return 0;
	case 'e':
		o->expected_dir = arg;
		return 0;
	case 'v':
		o->verbose = 1;
		return 0;
	case 'h':
		usage(stdout);
		return 1;
	default:
		usage(stderr);
		return -EINVAL;
	}
}

static int parse_args(int argc, char **argv, struct mx_opts *o, char **suite_buf)
{
	static const struct option lo[] = {
	    {"suite", required_argument, NULL, 's'},
	    {"target", required_argument, NULL, 't'},
	    {"jobs", required_argument, NULL, 'j'},
	    {"shard", required_argument, NULL, 'S'},
	    {"out", required_argument, NULL, 'o'},
	    {"max-deadline", required_argument, NULL, 'D'},
	    {"target-deadline", required_argument, NULL, 'T'},
	    {"regress", no_argument, NULL, 'r'},
	    {"write-expected", no_argument, NULL, 'w'},
	    {"expected-dir", required_argument, NULL, 'e'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c, r;

	memset(o, 0, sizeof(*o));
	o->jobs = 2;
	o->shard_k = o->shard_n = 1;
	o->out = "build/matrix";
	/* optind = 0 makes glibc's getopt start over: the CLI's main may have
	 * parsed its own options already. */
	optind = 0;
	while ((c = getopt_long(argc, argv, "s:t:j:o:vh", lo, NULL)) != -1) {
		r = apply_opt(o, c, optarg, suite_buf);
		if (r)
			return r;
	}
	if (optind < argc) {
		fprintf(stderr, "chaos matrix: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return -EINVAL;
	}
	if (o->nsuites == 0) {
		o->suites[0] = "seed";
		o->suites[1] = "oom";
		o->suites[2] = "schedules";
		o->nsuites = 3;
	}
	return 0;
}

/* The run itself, in the forked child: run, check, draw, leave the verdict
 * as verdict.json. Never returns. */
static void run_child(struct chaos_mx_cell *c, const struct chaos_target *t,
		      const struct chaos_scenario *sc, int verbose)
{
	struct chaos_run_opts ro = {
	    .sc = sc,
	    .target_name = t->name,
	    .argv = t->argv,
	    .outdir = c->rundir,
	    .verbose = verbose,
	};
	struct chaos_run_result rr;
	char path[PATH_MAX + 32], title[256];
	int rc;

	memset(&rr, 0, sizeof(rr));
	rc = chaos_run(&ro, &rr);
	if (rc < 0) {
		c->internal = 1;
		snprintf(c->error, sizeof(c->error), "chaos_run: %s", chaos_run_last_error());
	} else {
		snprintf(c->run_verdict, sizeof(c->run_verdict), "%s",
			 chaos_run_verdict_name(rr.verdict));
		c->elapsed_ms = rr.elapsed_ms;
		if (rr.verdict == CHAOS_RUN_SKIPPED) {
			chaos__mx_cell_set(c, CHAOS_CELL_SKIP, rr.reason);
		} else {
			rc = chaos_check_history(sc, rr.history, &c->v);
			if (rc < 0) {
				c->internal = 1;
				snprintf(c->error, sizeof(c->error),
					 "checker: cannot read %.300s: %s", rr.history,
					 strerror(-rc));
			}
		}
		if (rr.history[0] && access(rr.history, R_OK) == 0) {
			snprintf(path, sizeof(path), "%s/timeline.svg", c->rundir);
			snprintf(title, sizeof(title), "%s/%s on %s: %s", c->suite, c->scenario,
				 c->target, chaos__mx_cell_text(c));
			chaos_timeline_svg(rr.history, path, title);
		}
	}
	snprintf(path, sizeof(path), "%s/verdict.json", c->rundir);
	rc = chaos__mx_cell_save(c, path);
	fflush(NULL);
#ifdef SP_COVERAGE
	__gcov_dump();
#endif
	_exit(rc < 0 ? 4 : 0);
}

/* The deadline a run of target gets: the scenario's own, capped by
 * --target-deadline for that target or else by --max-deadline. */
static uint32_t capped_deadline(const struct mx_opts *o, const char *target, uint32_t own)
{
	uint32_t cap = o->max_deadline_ms;

	for (unsigned i = 0; i < o->ntarget_deadline; i++) {
		if (strcmp(o->target_deadline[i].name, target) == 0)
			cap = o->target_deadline[i].ms;
	}
	return cap && own > cap ? cap : own;
}

/* Fork one run. Returns 0 with the slot filled, or -errno. */
static int start_run(struct mx_slot *s, size_t ci, struct chaos_mx_cell *c,
		     const struct chaos_target *t, const struct chaos_scenario *sc, int verbose)
{
	static const char *const stale[] = {"history.jsonl", "verdict.json", "timeline.svg",
					    "tasks.txt",     "stdout.txt",   "stderr.txt"};
	sigset_t all, old;
	char path[PATH_MAX + 32];
	pid_t pid;
	int rc;

	rc = chaos_mkdir_p(c->rundir);
	if (rc < 0)
		return rc;
	/* A previous matrix's files must not pass for this run's. */
	for (size_t i = 0; i < sizeof(stale) / sizeof(stale[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", c->rundir, stale[i]);
		unlink(path);
	}
	fflush(NULL);
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	pid = fork();
	if (pid == 0) {
		/* The CLI's interrupt handlers (chaos/cli/main.c) are inherited:
		 * a signal to this child ends its run with a teardown. */
		sigprocmask(SIG_SETMASK, &old, NULL);
		run_child(c, t, sc, verbose);
	}
	rc = pid < 0 ? -errno : 0;
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (rc < 0)
		return rc;
	s->pid = pid;
	s->cell = ci;
	/* A scenario's deadline counts from its first task start, after at most
	 * its startup bound (engine/run.c): the run process may take both. */
	s->deadline_ms = chaos_clock_ms() + (int64_t)sc->startup_ms + (int64_t)sc->deadline_ms +
			 MX_MARGIN_MS;
	s->pidfd = chaos_pidfd_open(pid);
	if (s->pidfd < 0) {
		/* Without a pidfd the deadline cannot be enforced by poll; the
		 * child is ours and unreaped, so its PID is still valid. */
		rc = s->pidfd;
		kill(pid, SIGKILL);
		chaos_waitpid(pid, NULL, 0);
		return rc;
	}
	return 0;
}

/* A run process that overran: kill it, reap it, and remove the run cgroup
 * it can no longer tear down (its owner is dead, so it counts as stale). */
static void kill_overrun(struct mx_slot *s, struct chaos_mx_cell *c)
{
	struct chaos_cg_env env;
	unsigned removed = 0;

	chaos_pidfd_signal(s->pidfd, SIGKILL);
	chaos_waitpid(s->pid, NULL, 0);
	c->internal = 1;
	snprintf(c->error, sizeof(c->error),
		 "the run process overran its bound (startup + deadline + %d ms) and was killed",
		 MX_MARGIN_MS);
	if (chaos_cg_detect(&env) == 0 && env.version != CHAOS_CG_NONE)
		chaos_cg_sweep_stale(&env, &removed);
}

/* Collect a finished (or overrun) run into its cell. */
static void finish_run(struct mx_slot *s, struct chaos_mx_cell *c, int overrun)
{
	struct chaos_mx_cell got;
	char path[PATH_MAX + 32];
	int status = 0;

	if (overrun) {
		kill_overrun(s, c);
	} else {
		chaos_waitpid(s->pid, &status, 0);
		snprintf(path, sizeof(path), "%s/verdict.json", c->rundir);
		if (chaos__mx_cell_load(path, &got) == 0) {
			/* The parent's names and paths are authoritative. */
			c->v = got.v;
			c->internal = got.internal;
			memcpy(c->error, got.error, sizeof(c->error));
			memcpy(c->run_verdict, got.run_verdict, sizeof(c->run_verdict));
			c->elapsed_ms = got.elapsed_ms;
		} else {
			c->internal = 1;
			if (WIFSIGNALED(status))
				snprintf(c->error, sizeof(c->error),
					 "the run process died by signal %d without a verdict",
					 WTERMSIG(status));
			else
				snprintf(c->error, sizeof(c->error),
					 "the run process exited with status %d without a verdict",
					 WEXITSTATUS(status));
		}
	}
	if (c->internal) {
		char hist[PATH_MAX + 32];

		/* Whatever history there is still helps to see what happened. */
		snprintf(hist, sizeof(hist), "%s/history.jsonl", c->rundir);
		snprintf(path, sizeof(path), "%s/timeline.svg", c->rundir);
		if (access(hist, R_OK) == 0)
			chaos_timeline_svg(hist, path, NULL);
	}
	close(s->pidfd);
	s->pidfd = -1;
	s->pid = 0;
}

static void progress(size_t done, size_t total, const struct chaos_mx_cell *c)
{
	fprintf(stderr, "[%zu/%zu] %s %s/%s: %s", done, total, c->target, c->suite, c->scenario,
		chaos__mx_cell_text(c));
	if (c->internal)
		fprintf(stderr, " (%s)", c->error);
	else if (c->v.cell == CHAOS_CELL_SKIP && c->v.note[0])
		fprintf(stderr, " (%s)", c->v.note);
	else
		fprintf(stderr, " (%.1f s)", c->elapsed_ms / 1000.0);
	fputc('\n', stderr);
}

/* Run the pairs, at most jobs at a time. Returns 0 or -errno (fork or
 * pidfd failure: the remaining cells are internal errors). */
static int run_all(struct chaos_mx_cell *cells, size_t n, const struct chaos_mx_pair *pairs,
		   struct chaos_target *targets, struct chaos_scenario *scens,
		   const struct mx_opts *o)
{
	struct mx_slot slots[MX_MAX_JOBS];
	size_t next = 0, done = 0, active = 0;
	int rc = 0, forwarded = 0;

	for (unsigned i = 0; i < o->jobs; i++)
		slots[i].pid = 0, slots[i].pidfd = -1;
	while (done < n) {
		struct pollfd pf[MX_MAX_JOBS];
		unsigned idx[MX_MAX_JOBS], np = 0;
		int64_t now = chaos_clock_ms(), soonest = INT64_MAX;

		/* Interrupted (SIGINT, SIGTERM, SIGHUP: chaos/cli/main.c): start no
		 * more runs, and pass the signal on once to the running ones, so
		 * each tears its run down; a terminal's SIGINT reached them
		 * already, a `kill` of this process alone did not. They are
		 * still waited for under their deadlines. */
		if (chaos_run_interrupted()) {
			for (; next < n; next++) {
				chaos__mx_cell_set(&cells[next], CHAOS_CELL_SKIP,
						   "interrupted before it ran");
				progress(++done, n, &cells[next]);
			}
			for (unsigned k = 0; k < o->jobs && !forwarded; k++) {
				if (slots[k].pid)
					chaos_pidfd_signal(slots[k].pidfd, SIGTERM);
			}
			forwarded = 1;
		}

		/* Fill free slots; unavailable targets need no slot. */
		while (next < n && active < o->jobs) {
			struct chaos_mx_cell *c = &cells[next];
			struct chaos_target *t = &targets[pairs[next].target];
			struct chaos_scenario sc;
			unsigned k;
			int r;

			if (!t->available) {
				chaos__mx_cell_set(c, CHAOS_CELL_SKIP, t->why);
				progress(++done, n, c);
				next++;
				continue;
			}
			for (k = 0; slots[k].pid; k++)
				;
			sc = scens[pairs[next].scen];
			sc.deadline_ms = capped_deadline(o, t->name, sc.deadline_ms);
			r = start_run(&slots[k], next, c, t, &sc, o->verbose);
			if (r < 0) {
				c->internal = 1;
				snprintf(c->error, sizeof(c->error), "cannot start the run: %s",
					 strerror(-r));
				progress(++done, n, c);
				rc = r;
			} else {
				active++;
			}
			next++;
		}
		if (active == 0)
			continue;
		for (unsigned k = 0; k < o->jobs; k++) {
			if (!slots[k].pid)
				continue;
			pf[np].fd = slots[k].pidfd;
			pf[np].events = POLLIN;
			pf[np].revents = 0;
			idx[np++] = k;
			if (slots[k].deadline_ms < soonest)
				soonest = slots[k].deadline_ms;
		}
		if (poll(pf, np, soonest > now ? (int)(soonest - now) : 0) < 0 && errno != EINTR)
			return -errno;
		now = chaos_clock_ms();
		for (unsigned i = 0; i < np; i++) {
			struct mx_slot *s = &slots[idx[i]];
			int overrun = !pf[i].revents && now >= s->deadline_ms;
			size_t ci;

			if (!pf[i].revents && !overrun)
				continue;
			ci = s->cell;

			finish_run(s, &cells[ci], overrun);
			active--;
			progress(++done, n, &cells[ci]);
		}
	}
	return rc;
}

/* Everything a matrix run allocates, freed in one place. */
struct mx_state {
	struct chaos_target *targets;
	size_t nt;
	struct chaos_mx_scen *files;
	size_t ns;
	struct chaos_scenario *scens;
	size_t nloaded;
	const char **names; /* the targets' names, for the plan */
	struct chaos_mx_pair *pairs;
	size_t np;
	struct chaos_mx_cell *cells;
};

/* Targets: the given ones, or every shipped one. Returns an exit code. */
static int load_targets(const struct mx_opts *o, struct mx_state *m)
{
	int r;

	if (o->ntargets == 0) {
		r = chaos_target_list(&m->targets, &m->nt);
		if (r < 0) {
			fprintf(stderr, "chaos matrix: cannot list targets: %s\n", strerror(-r));
			return MX_EXIT_INTERNAL;
		}
		return MX_EXIT_OK;
	}
	m->targets = calloc(o->ntargets, sizeof(*m->targets));
	if (!m->targets)
		return MX_EXIT_INTERNAL;
	for (m->nt = 0; m->nt < o->ntargets; m->nt++) {
		struct chaos_target *t = &m->targets[m->nt];

		r = chaos_target_resolve(o->targets[m->nt], t);
		if (r < 0) {
			fprintf(stderr, "chaos matrix: %s\n", t->why);
			return MX_EXIT_USAGE;
		}
		for (size_t j = 0; j < m->nt; j++) {
			if (strcmp(m->targets[j].name, t->name) == 0) {
				fprintf(stderr, "chaos matrix: target '%s' given twice\n",
					t->name);
				m->nt++;
				return MX_EXIT_USAGE;
			}
		}
	}
	return MX_EXIT_OK;
}

/* One suite: a name below <src>/scenarios/, or a directory path. */
static int load_suite(const char *s, const char *src, struct mx_state *m)
{
	char dir[PATH_MAX], sname[64];
	const char *base = strrchr(s, '/');
	size_t bl;
	int r;

	if (base) {
		size_t dl;

		/* "dir/" names the suite "dir". */
		snprintf(dir, sizeof(dir), "%s", s);
		dl = strlen(dir);
		while (dl > 1 && dir[dl - 1] == '/')
			dir[--dl] = '\0';
		base = strrchr(dir, '/');
		base = base ? base + 1 : dir;
	} else {
		if (!src[0]) {
			fprintf(stderr, "chaos matrix: cannot find the scenarios directory "
					"near the chaos binary (set CHAOS_HOME)\n");
			return MX_EXIT_USAGE;
		}
		snprintf(dir, sizeof(dir), "%.*s/scenarios/%s", PATH_MAX - 128, src, s);
		base = s;
	}
	bl = strcspn(base, "/");
	snprintf(sname, sizeof(sname), "%.*s", (int)(bl < 63 ? bl : 63), base);
	r = chaos__plan_suite(dir, sname, &m->files, &m->ns);
	if (r < 0) {
		fprintf(stderr, "chaos matrix: suite '%s': %s: %s\n", s, dir, strerror(-r));
		return MX_EXIT_USAGE;
	}
	return MX_EXIT_OK;
}

/* Every scenario file of the suites, parsed. Returns an exit code. */
static int load_scenarios(const struct mx_opts *o, const char *src, struct mx_state *m)
{
	int ret;

	for (size_t i = 0; i < o->nsuites; i++) {
		ret = load_suite(o->suites[i], src, m);
		if (ret != MX_EXIT_OK)
			return ret;
	}
	if (m->ns == 0) {
		fprintf(stderr, "chaos matrix: no scenario files (*.ini) in the chosen suites\n");
		return MX_EXIT_USAGE;
	}
	m->scens = calloc(m->ns, sizeof(*m->scens));
	if (!m->scens)
		return MX_EXIT_INTERNAL;
	for (m->nloaded = 0; m->nloaded < m->ns; m->nloaded++) {
		char err[1024] = "";
		int r = chaos_scenario_load(&m->scens[m->nloaded], m->files[m->nloaded].path, err,
					    sizeof(err));

		if (r < 0) {
			fprintf(stderr, "%s\n", err[0] ? err : strerror(-r));
			return MX_EXIT_USAGE;
		}
	}
	return MX_EXIT_OK;
}

/* The pairs in their fixed order, this shard's slice, one cell each. */
static int plan_cells(const struct mx_opts *o, struct mx_state *m)
{
	m->names = calloc(m->nt + 1, sizeof(*m->names));
	if (!m->names)
		return MX_EXIT_INTERNAL;
	for (size_t i = 0; i < m->nt; i++)
		m->names[i] = m->targets[i].name;
	if (chaos__plan_pairs(m->names, m->nt, m->files, m->ns, o->shard_k, o->shard_n,
			      &m->pairs, &m->np) < 0)
		return MX_EXIT_INTERNAL;
	m->cells = calloc(m->np + 1, sizeof(*m->cells));
	if (!m->cells)
		return MX_EXIT_INTERNAL;
	for (size_t i = 0; i < m->np; i++) {
		struct chaos_mx_cell *c = &m->cells[i];
		const struct chaos_mx_scen *f = &m->files[m->pairs[i].scen];

		snprintf(c->target, sizeof(c->target), "%s", m->names[m->pairs[i].target]);
		snprintf(c->suite, sizeof(c->suite), "%s", f->suite);
		snprintf(c->scenario, sizeof(c->scenario), "%s", f->name);
		snprintf(c->rundir, sizeof(c->rundir), "%.3000s/%s/%s/%s", o->out, c->target,
			 c->suite, c->scenario);
	}
	return MX_EXIT_OK;
}

/* matrix.json, junit.xml and matrix.md in the output directory. */
static int write_reports(const struct mx_state *m, const char *out)
{
	static const struct {
		const char *file;
		int (*write)(const struct chaos_mx_cell *cells, size_t n, const char *path);
	} reports[] = {
	    {"matrix.json", chaos__mx_write_json},
	    {"junit.xml", chaos__mx_write_junit},
	    {"matrix.md", chaos__mx_write_markdown},
	};
	char p[PATH_MAX + 32];
	int r = chaos_mkdir_p(out);

	for (size_t i = 0; r == 0 && i < sizeof(reports) / sizeof(reports[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", out, reports[i].file);
		r = reports[i].write(m->cells, m->np, p);
	}
	if (r < 0) {
		fprintf(stderr, "chaos matrix: cannot write the reports in %s: %s\n", out,
			strerror(-r));
		return MX_EXIT_INTERNAL;
	}
	return MX_EXIT_OK;
}

/* --write-expected: the observed cells into each target's expected file,
 * except files that are specifications. */
static int write_expected(const struct mx_state *m, const char *expected_dir)
{
	int ret = MX_EXIT_OK;

	for (size_t i = 0; i < m->nt; i++) {
		char p[PATH_MAX + 80];
		int r;

		snprintf(p, sizeof(p), "%.*s/%s", PATH_MAX - 16, expected_dir, m->names[i]);
		if (chaos__expected_is_spec(p)) {
			printf("kept %s (a specification, not rewritten)\n", p);
			continue;
		}
		r = chaos__expected_write(p, m->names[i], m->cells, m->np);
		if (r < 0) {
			fprintf(stderr, "chaos matrix: cannot write %s: %s\n", p, strerror(-r));
			ret = MX_EXIT_INTERNAL;
		} else {
			printf("wrote %s\n", p);
		}
	}
	return ret;
}

/* The verdicts against what was expected: the baselines with --regress,
 * otherwise the reference pool's cells; ret is the code so far. */
static int judge(const struct mx_opts *o, const struct mx_state *m, const char *expected_dir,
		 int ret)
{
	unsigned ndiff = 0, internal = 0, skipped = 0, bad_safepool = 0;

	for (size_t i = 0; i < m->np; i++) {
		const struct chaos_mx_cell *c = &m->cells[i];

		if (c->internal)
			internal++;
		else if (c->v.cell == CHAOS_CELL_SKIP)
			skipped++;
		if (strcmp(c->target, "safepool") == 0 && !c->internal &&
		    c->v.cell != CHAOS_CELL_PASS && c->v.cell != CHAOS_CELL_SKIP) {
			bad_safepool++;
			printf("safepool %s/%s: %s (the reference pool must pass)\n", c->suite,
			       c->scenario, chaos__mx_cell_text(c));
		}
	}
	if (o->write_expected && write_expected(m, expected_dir) != MX_EXIT_OK)
		ret = MX_EXIT_INTERNAL;
	if (o->regress) {
		if (chaos__expected_compare(m->cells, m->np, expected_dir, stdout, &ndiff) < 0) {
			ret = MX_EXIT_USAGE;
		} else {
			printf("regression: %u difference%s from %s\n", ndiff,
			       ndiff == 1 ? "" : "s", expected_dir);
			if (ndiff && ret == MX_EXIT_OK)
				ret = MX_EXIT_DIFF;
		}
	} else if (bad_safepool && ret == MX_EXIT_OK) {
		ret = MX_EXIT_DIFF;
	}
	if (internal) {
		printf("%u run%s failed internally (cells marked ERROR)\n", internal,
		       internal == 1 ? "" : "s");
		ret = MX_EXIT_INTERNAL;
	}
	if (m->np && skipped == m->np && ret == MX_EXIT_OK)
		ret = MX_EXIT_SKIPPED;
	return ret;
}

int chaos_matrix_main(int argc, char **argv)
{
	struct mx_opts o;
	struct mx_state m;
	char *suite_bufs[MX_MAX_SUITES + 1] = {NULL};
	char expected_dir[PATH_MAX];
	const char *src;
	int ret, r;

	memset(&m, 0, sizeof(m));
	r = parse_args(argc, argv, &o, suite_bufs);
	if (r != 0) {
		ret = r > 0 ? MX_EXIT_OK : MX_EXIT_USAGE;
		goto out;
	}
	src = chaos__targets_src_dir();
	if (o.expected_dir)
		snprintf(expected_dir, sizeof(expected_dir), "%s", o.expected_dir);
	else
		snprintf(expected_dir, sizeof(expected_dir), "%.*s/scenarios/expected",
			 PATH_MAX - 32, src);
	ret = load_targets(&o, &m);
	if (ret == MX_EXIT_OK)
		ret = load_scenarios(&o, src, &m);
	if (ret == MX_EXIT_OK)
		ret = plan_cells(&o, &m);
	if (ret != MX_EXIT_OK)
		goto out;
	fprintf(stderr, "chaos matrix: %zu runs (%zu scenarios x %zu targets%s), %u at a time\n",
		m.np, m.ns, m.nt, o.shard_n > 1 ? ", this shard's slice" : "", o.jobs);
	if (run_all(m.cells, m.np, m.pairs, m.targets, m.scens, &o) < 0)
		ret = MX_EXIT_INTERNAL;
	if (write_reports(&m, o.out) != MX_EXIT_OK)
		ret = MX_EXIT_INTERNAL;
	printf("\n");
	chaos__mx_print_table(m.cells, m.np, stdout);
	printf("\n");
	ret = judge(&o, &m, expected_dir, ret);
	printf("reports: %s/matrix.json %s/junit.xml %s/matrix.md\n", o.out, o.out, o.out);
	printf("timelines: %s/<target>/<suite>/<scenario>/timeline.svg\n", o.out);
out:
	free(m.cells);
	free(m.pairs);
	free(m.names);
	for (size_t i = 0; i < m.nloaded; i++)
		chaos_scenario_free(&m.scens[i]);
	free(m.scens);
	free(m.files);
	for (size_t i = 0; i < m.nt; i++)
		chaos_target_free(&m.targets[i]);
	free(m.targets);
	for (size_t i = 0; suite_bufs[i]; i++)
		free(suite_bufs[i]);
	fflush(stdout);
	return ret;
}
