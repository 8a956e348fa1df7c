/* The run engine: one target, one event loop, one history.
 *
 * Everything happens on one thread around one epoll set: the event socket
 * and its connections, the pidfd of every worker and of the target, the
 * target's stdout, the OOM notification descriptors of the cgroups, and the
 * timeouts of scheduled faults and of the deadline. Every wait is bounded by
 * the run's deadline; teardown always runs and removes every process and
 * cgroup of the run. */
#include "engine/run.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine/targets.h"
#include "cgroup/cgroup.h"
#include "sys/file.h"
#include "sys/pidfd.h"
#include "sys/proc.h"
#include "sys/io.h"
#include "engine/events.h"
#include "engine/faults.h"
#include "engine/history.h"
#include "engine/spawn.h"

extern char **environ;

#define MAX_CONNS 1024
#define MAX_WORKERS 4096
#define MAX_TIMERS 4096
#define MAX_PIDS 4096
/* How long a connection closed without `end` waits for its worker to die
 * before it is reported as a protocol problem of the kit. */
#define ORPHAN_WAIT_MS 1000
/* Bound on the final drain of events after the target exited. */
#define DRAIN_MS 200
/* Refused connections recorded one by one before a single summary. */
#define REFUSED_LOGGED 16
/* How long processes may outlive the target before they are leftovers. */
#define LEFTOVER_GRACE_MS 1000
/* How long stdout is still read after the target's main process exited:
 * a daemonized grandchild may hold it open for ever, and the run ends with
 * the main process, not with the last writer. */
#define OUT_GRACE_MS 500
/* oom_score_adj given to workers of runs that provoke the OOM killer, so
 * that it prefers them to stress-ng and to the pool's main process. */
#define WORKER_OOM_SCORE_ADJ "1000"
/* The victim index that means the target's main process. */
#define VICTIM_MAIN SIZE_MAX

/* epoll data: the kind in the top byte, an index below it. */
enum {
	K_LISTEN = 1,
	K_CONN,
	K_WORKER,
	K_TARGET,
	K_TARGET_OUT,
	K_OOM_RUN,
	K_OOM_WORKER,
	K_STRESS,
	K_INTR,
};
#define EP(kind, idx) (((uint64_t)(kind) << 56) | (uint64_t)(idx))
#define EP_KIND(u) ((int)((u) >> 56))
#define EP_IDX(u) ((size_t)((u) & ((1ULL << 56) - 1)))

/* How the controller learned of a worker, recorded as the `rule` of every
 * fault aimed at it. */
enum worker_source {
	SRC_KIT = 0, /* announced itself with `start` on the event socket */
	SRC_CGROUP,  /* found in the run cgroup when no worker had announced itself */
};

struct worker {
	pid_t pid;
	int pidfd;
	unsigned index;
	enum worker_source source;
	unsigned long long starttime; /* SRC_CGROUP: for ordering a scan */
	struct chaos_cg *cg;   /* per-worker cgroup, or NULL */
	uint64_t oom_seen;     /* per-worker cgroup: kills already attributed */
	uint64_t oom_last;     /* per-worker cgroup: last value reported as `oom` */
	int dead;
	int sent_signal;       /* last signal this controller delivered, or 0 */
	int orphan;            /* a connection closed without `end` */
	uint32_t orphan_task, orphan_attempt;
	uint64_t orphan_until;
};

struct conn {
	int fd;
	pid_t pid;
	long worker; /* index into workers, or -1 before `start` */
	int started, ended;
	uint32_t task, attempt;
	struct chaos_linebuf lb;
};

enum timer_kind {
	T_DELAYED, /* a task-triggered fault with a delay (ON_START, AFTER_STARTS) */
	T_CONT,
};

struct timer {
	uint64_t t_ms;
	enum timer_kind kind;
	size_t fault;
	size_t worker; /* index into workers, or VICTIM_MAIN */
	uint32_t task;
};

/* One fault as the history names it: which scenario fault (-1: the
 * controller's own `cont`), its kind, its victim class and its anchor. */
struct shot {
	long fault;
	const char *kind;
	enum chaos_victim victim;
	const char *anchor;
};

struct run {
	const struct chaos_run_opts *o;
	const struct chaos_scenario *sc;
	struct chaos_run_result *r;
	struct timespec t0;
	struct chaos_hist *h;
	struct chaos_cg_env env;
	struct chaos_cg *cg;          /* run cgroup, or NULL */
	struct chaos_cg *pressure_cg; /* stress-ng inside the run, or NULL */
	uint64_t run_oom_seen, run_oom_last;
	int ep;
	int lfd;
	char sock_path[108];
	struct chaos_child target;
	int target_exited, out_eof;
	int out_file;
	int out_file_err;
	struct chaos_linebuf outlb;
	unsigned lineno;
	int saw_done, saw_aborted, saw_unsupported;
	int target_status;
	struct chaos_child stress;
	int stress_reaped;
	struct conn *conns[MAX_CONNS];
	struct worker *workers;
	size_t nworkers;
	size_t nannounced;    /* workers that announced themselves (SRC_KIT) */
	uint32_t *attempts;   /* per task: starts so far */
	unsigned char *open_; /* per task: latest attempt started and not ended */
	struct chaos_timed *plan;	 /* timed faults counted from the spawn */
	size_t nplan, plan_next;
	struct chaos_timed *plan_first; /* timed faults counted from the first start */
	size_t nfirst, first_next;
	int64_t first_start_ms;		/* -1 until the first task start */
	uint64_t nstarts;		/* task starts so far, every attempt */
	unsigned char *fault_seen;	/* per scenario fault: a fault event was written */
	int kit_only;			/* victims of victim = worker only announced workers */
	int raise_oom_adj;		/* the run provokes the OOM killer */
	unsigned long long target_starttime;
	int main_signal;		/* last signal delivered to the main process */
	uint64_t exit_ms;		/* when the main process exited */
	struct timer timers[MAX_TIMERS];
	size_t ntimers;
	int hang;
	int interrupted;
	unsigned long refused; /* connections refused (table full) */
};

static char last_error[512];

/* The interrupt request: a flag for the loop's checks and an eventfd that
 * wakes epoll_wait. Both are process-wide, since a signal handler has no
 * run to address; the eventfd is created once and kept (close-on-exec). */
static volatile sig_atomic_t intr_flag;
static volatile sig_atomic_t intr_fd = -1;

void chaos_run_interrupt(void)
{
	int saved = errno;
	uint64_t one = 1;
	int fd = intr_fd;

	intr_flag = 1;
	if (fd >= 0) {
		ssize_t n = write(fd, &one, sizeof(one));

		(void)n; /* a full counter still wakes the loop */
	}
	errno = saved;
}

int chaos_run_interrupted(void)
{
	return intr_flag != 0;
}

/* Create the interrupt eventfd on first use. The handler reads intr_fd
 * only after this store, and the loop checks intr_flag before each wait,
 * so a signal that lands here is still seen. */
static int intr_setup(void)
{
	int fd;

	if (intr_fd >= 0)
		return intr_fd;
	fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0)
		return -errno;
	intr_fd = fd;
	return fd;
}

static void set_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void set_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
}

const char *chaos_run_last_error(void)
{
	return last_error;
}

const char *chaos_run_verdict_name(enum chaos_run_verdict v)
{
	switch (v) {
	case CHAOS_RUN_DONE:
		return "done";
	case CHAOS_RUN_ABORTED:
		return "aborted";
	case CHAOS_RUN_HANG:
		return "hang";
	case CHAOS_RUN_CRASHED:
		return "crashed";
	case CHAOS_RUN_SKIPPED:
		return "skipped";
	case CHAOS_RUN_INTERRUPTED:
		return "interrupted";
	}
	return "unknown";
}

static uint64_t now_ms(const struct run *R)
{
	struct timespec n;

	clock_gettime(CLOCK_MONOTONIC, &n);
	return (uint64_t)(((int64_t)(n.tv_sec - R->t0.tv_sec) * 1000000000 +
			   (n.tv_nsec - R->t0.tv_nsec)) /
			  1000000);
}

static void vlog(const struct run *R, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void vlog(const struct run *R, const char *fmt, ...)
{
	va_list ap;

	if (!R->o->verbose)
		return;
	va_start(ap, fmt);
	fprintf(stderr, "chaos: [%8.3f] ", chaos_hist_now(R->h));
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static int ep_add(struct run *R, int fd, uint64_t data)
{
	struct epoll_event e = {.events = EPOLLIN, .data.u64 = data};

	return epoll_ctl(R->ep, EPOLL_CTL_ADD, fd, &e) ? -errno : 0;
}

static void ep_del(struct run *R, int fd)
{
	epoll_ctl(R->ep, EPOLL_CTL_DEL, fd, NULL);
}

static int pidfd_alive(int pidfd)
{
	struct pollfd p = {.fd = pidfd, .events = POLLIN};

	return chaos_poll_ms(&p, 1, 0) == 0;
}

/* ---- history helpers ---------------------------------------------------- */

static void event_error(struct run *R, pid_t pid, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void event_error(struct run *R, pid_t pid, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	vlog(R, "event error: %s", buf);
	chaos_hist_event_error(R->h, buf, pid);
}

/* The shot of scenario fault k. */
static struct shot shot_of(const struct run *R, size_t k)
{
	const struct chaos_fault *f = &R->sc->faults[k];

	return (struct shot){.fault = (long)k,
			     .kind = chaos_fault_kind_name(f->kind),
			     .victim = f->victim,
			     .anchor = chaos_fault_anchor_name(f)};
}

/* rule: how the victim was chosen ("kit", "cgroup", "spawn"), role: what
 * it was ("worker", "main", "helper", "stress"); both NULL for none. */
static void emit_fault(struct run *R, const struct shot *s, int signo, pid_t pid, long task,
		       int ok, const char *error, const char *rule, const char *role)
{
	if (s->fault >= 0 && (size_t)s->fault < R->sc->nfaults)
		R->fault_seen[s->fault] = 1;
	vlog(R, "fault %s %s pid %d (%s): %s", s->kind, signo ? chaos_signal_name(signo) : "-",
	     (int)pid, role ? role : "-", ok ? "sent" : error);
	chaos_hist_fault(R->h, &(struct chaos_hist_fault){.kind = s->kind,
							.signal = signo ? chaos_signal_name(signo)
									: NULL,
							.error = error,
							.rule = rule,
							.pid = pid,
							.task = task,
							.ok = ok,
							.fault = s->fault,
							.victim = chaos_victim_name(s->victim),
							.anchor = s->anchor,
							.role = role});
}

static const char *source_name(enum worker_source s)
{
	return s == SRC_CGROUP ? "cgroup" : "kit";
}

/* A process that announced a task is a worker; one a cgroup scan found is
 * some other process of the run until it does. */
static const char *role_name(const struct worker *w)
{
	return w->source == SRC_KIT ? "worker" : "helper";
}

/* ---- timers ------------------------------------------------------------- */

static void add_timer(struct run *R, const struct timer *t)
{
	if (R->ntimers >= MAX_TIMERS) {
		event_error(R, 0, "timer table full: a delayed fault was dropped");
		return;
	}
	R->timers[R->ntimers++] = *t;
}

/* ---- OOM accounting ----------------------------------------------------- */

/* Check one cgroup's counter and emit `oom` when it went up. */
static void oom_check(struct run *R, struct chaos_cg *cg, uint64_t *last)
{
	uint64_t v;

	if (!cg || chaos_cg_oom_kills(cg, &v))
		return;
	if (v > *last) {
		*last = v;
		vlog(R, "oom kill in %s (counter %" PRIu64 ")", chaos_cg_name(cg), v);
		chaos_hist_oom(R->h, chaos_cg_name(cg), v);
	}
}

/* ---- signalling workers ------------------------------------------------- */

/* Deliver signo to victim wi (a worker, or VICTIM_MAIN) through its
 * pidfd, after checking it still lives and still belongs to the run.
 * Never falls back to kill(pid). Returns 0 when the signal was sent. */
static int signal_victim(struct run *R, const struct shot *s, size_t wi, int signo, long task)
{
	struct worker *w = wi == VICTIM_MAIN ? NULL : &R->workers[wi];
	pid_t pid = w ? w->pid : R->target.pid;
	int pidfd = w ? w->pidfd : R->target.pidfd;
	const char *err = NULL;
	char buf[128];
	int c, rc;

	if ((w ? w->dead : R->target_exited) || pidfd < 0 || !pidfd_alive(pidfd)) {
		err = "target exited";
		goto out;
	}
	if (R->cg) {
		c = chaos_cg_contains(R->cg, pid);
		if (c == 0) {
			err = "not in the run cgroup";
			goto out;
		}
		if (c < 0) {
			/* The process vanished between the checks. */
			err = "target exited";
			goto out;
		}
	}
	rc = chaos_pidfd_signal(pidfd, signo);
	if (rc < 0) {
		if (rc == -ESRCH) {
			err = "target exited";
		} else {
			snprintf(buf, sizeof(buf), "pidfd_send_signal: %s", strerror(-rc));
			err = buf;
		}
		goto out;
	}
	if (w)
		w->sent_signal = signo;
	else
		R->main_signal = signo;
out:
	emit_fault(R, s, signo, pid, task, err == NULL, err, w ? source_name(w->source) : "spawn",
		   w ? role_name(w) : "main");
	return err ? -ESRCH : 0;
}

/* Send scenario fault k's signal to victim wi, and schedule its SIGCONT.
 * Returns 0 when the signal was sent. */
static int fire_at(struct run *R, size_t k, size_t wi, long task)
{
	const struct chaos_fault *f = &R->sc->faults[k];
	struct shot s = shot_of(R, k);
	int ret = signal_victim(R, &s, wi, f->signo, task);

	if (ret == 0 && f->signo == SIGSTOP && f->cont_after_ms) {
		struct timer t = {.t_ms = now_ms(R) + f->cont_after_ms, .kind = T_CONT,
				  .fault = k, .worker = wi, .task = (uint32_t)task};

		add_timer(R, &t);
	}
	return ret;
}

/* The task a live worker is running, from its open connection (-1 for
 * none, and for the main process). */
static long worker_task(const struct run *R, size_t wi)
{
	size_t i;

	if (wi == VICTIM_MAIN)
		return -1;
	for (i = 0; i < MAX_CONNS; i++) {
		const struct conn *c = R->conns[i];

		if (c && c->worker == (long)wi && c->started && !c->ended)
			return c->task;
	}
	return -1;
}

/* ---- stress-ng ---------------------------------------------------------- */

static int attach_pressure(void *arg, pid_t pid)
{
	struct run *R = arg;

	return R->pressure_cg ? chaos_cg_attach(R->pressure_cg, pid) : 0;
}

static void start_pressure(struct run *R, const struct shot *s, const struct chaos_fault *f)
{
	char bytes[32], timeout[32];
	char *argv[] = {"stress-ng", "--vm",   "1",     "--vm-bytes", bytes,
			"--vm-keep", "--timeout", timeout, "--quiet",    NULL};
	struct chaos_spawn_opts so = {0};
	char err[160];
	int ret;

	if (R->stress.pidfd >= 0) {
		emit_fault(R, s, 0, 0, -1, 0, "pressure already running", NULL, NULL);
		return;
	}
	snprintf(bytes, sizeof(bytes), "%" PRIu64, f->bytes);
	snprintf(timeout, sizeof(timeout), "%us", (f->duration_ms + 999) / 1000);
	if (f->pressure_inside && R->cg && !R->pressure_cg) {
		ret = chaos_cg_child_create(R->cg, "pressure", 0, &R->pressure_cg);
		if (ret) {
			snprintf(err, sizeof(err), "pressure cgroup: %s", chaos_cg_last_error());
			emit_fault(R, s, 0, 0, -1, 0, err, NULL, NULL);
			return;
		}
	}
	so.argv = argv;
	so.envp = environ;
	so.stdout_fd = -1;
	so.stderr_fd = -1;
	so.attach = attach_pressure;
	so.attach_arg = R;
	ret = chaos_spawn(&so, &R->stress);
	if (ret) {
		snprintf(err, sizeof(err), "cannot run stress-ng: %s", strerror(-ret));
		emit_fault(R, s, 0, 0, -1, 0, err, NULL, NULL);
		R->stress.pidfd = -1;
		return;
	}
	R->stress_reaped = 0;
	ep_add(R, R->stress.pidfd, EP(K_STRESS, 0));
	emit_fault(R, s, 0, R->stress.pid, -1, 1, NULL, NULL, "stress");
}

/* Kill stress-ng and its children. Its process group is safe to signal
 * while the leader is unreaped: the group ID cannot be reused until then. */
static void stop_pressure(struct run *R)
{
	if (R->stress.pidfd < 0)
		return;
	if (!R->stress_reaped) {
		int st;

		kill(-R->stress.pid, SIGKILL);
		struct pollfd p = {.fd = R->stress.pidfd, .events = POLLIN};

		chaos_poll_ms(&p, 1, 2000);
		chaos_child_reap(R->stress.pidfd, &st);
		R->stress_reaped = 1;
	}
	ep_del(R, R->stress.pidfd);
	close(R->stress.pidfd);
	R->stress.pidfd = -1;
}

/* ---- worker registration -------------------------------------------------- */

static unsigned long long proc_starttime(pid_t pid);

/* Make an announced worker the OOM killer's first choice in a run that
 * provokes it: raising oom_score_adj needs no privilege (lowering it
 * would). stress-ng and the pool's main process keep theirs. */
static void raise_oom_score(struct run *R, const struct worker *w)
{
	char path[64];
	int ret;

	if (!R->raise_oom_adj)
		return;
	snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", (int)w->pid);
	ret = chaos_write_small(path, WORKER_OOM_SCORE_ADJ);
	if (ret && ret != -ENOENT && ret != -ESRCH)
		event_error(R, w->pid, "cannot raise oom_score_adj of worker %u: %s", w->index,
			    strerror(-ret));
}

/* Register a process the controller holds a verified pidfd for (takes
 * pidfd). Kit workers get their per-worker cgroup here; a process found by
 * a cgroup scan is left where the target put it. Returns the worker's
 * index into R->workers, or -1 (pidfd closed). */
static long add_worker(struct run *R, pid_t pid, int pidfd, enum worker_source src,
		       unsigned long long starttime)
{
	struct worker *w;
	char name[32], err[256];
	int ret;

	if (R->nworkers >= MAX_WORKERS) {
		event_error(R, pid, "more than %d workers", MAX_WORKERS);
		close(pidfd);
		return -1;
	}
	if (R->nworkers % 64 == 0) {
		struct worker *nw = realloc(R->workers, (R->nworkers + 64) * sizeof(*nw));

		if (!nw) {
			close(pidfd);
			return -1;
		}
		R->workers = nw;
	}
	w = &R->workers[R->nworkers];
	memset(w, 0, sizeof(*w));
	w->pid = pid;
	w->pidfd = pidfd;
	w->index = (unsigned)R->nworkers;
	w->source = src;
	w->starttime = starttime ? starttime : proc_starttime(pid);
	if (src == SRC_KIT)
		R->nannounced++;
	if (src == SRC_KIT && R->cg && R->sc->mem_mode == CHAOS_MEM_PER_WORKER) {
		snprintf(name, sizeof(name), "w%u", w->index);
		ret = chaos_cg_child_create(R->cg, name, R->sc->mem_limit, &w->cg);
		if (ret == 0) {
			ret = chaos_cg_attach(w->cg, pid);
			if (ret)
				snprintf(err, sizeof(err), "%s", chaos_cg_last_error());
		} else {
			snprintf(err, sizeof(err), "%s", chaos_cg_last_error());
			w->cg = NULL;
		}
		if (ret)
			event_error(R, pid, "per-worker cgroup for worker %u: %s", w->index, err);
		if (w->cg) {
			int fd;

			chaos_cg_oom_kills(w->cg, &w->oom_seen);
			w->oom_last = w->oom_seen;
			fd = chaos_cg_oom_fd(w->cg);
			if (fd >= 0)
				ep_add(R, fd, EP(K_OOM_WORKER, R->nworkers));
		}
	}
	if (src == SRC_KIT)
		raise_oom_score(R, w);
	R->nworkers++;
	ep_add(R, pidfd, EP(K_WORKER, R->nworkers - 1));
	vlog(R, "worker %u is pid %d (%s)", w->index, (int)pid, source_name(src));
	chaos_hist_worker(R->h, pid, w->index, w->cg ? chaos_cg_name(w->cg) : NULL,
			  source_name(src));
	return (long)(R->nworkers - 1);
}

/* starttime (field 22 of /proc/<pid>/stat, clock ticks after boot), or 0
 * when the process is gone. */
static unsigned long long proc_starttime(pid_t pid)
{
	struct chaos_proc_stat st;

	return chaos_proc_stat(pid, &st) ? 0 : st.starttime;
}

struct found {
	pid_t pid;
	int pidfd;
	unsigned long long starttime;
};

static int found_cmp(const void *a, const void *b)
{
	const struct found *x = a, *y = b;

	if (x->starttime != y->starttime)
		return x->starttime < y->starttime ? -1 : 1;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

/* A target that does not use the task kit never announces a worker, so a
 * timed fault would find no victim. Fall back to the processes of the run
 * cgroup other than the target's main process (the pool's parent) and
 * stress-ng: each is pinned with a pidfd, then its membership is checked
 * (a PID read from cgroup.procs may have been reused in between), and new
 * ones are registered in the order they started. Processes already known
 * keep their index, so "worker N" means the N-th process first seen. */
static void discover_workers(struct run *R)
{
	pid_t *pids = NULL;
	struct found *f = NULL;
	size_t n = 0, nf = 0, i, k;

	if (!R->cg)
		return;
	pids = malloc(MAX_PIDS * sizeof(*pids));
	f = malloc(MAX_PIDS * sizeof(*f));
	if (!pids || !f || chaos_cg_pids(R->cg, pids, MAX_PIDS, &n))
		goto out;
	for (i = 0; i < n; i++) {
		pid_t pid = pids[i];
		int known = 0, pidfd;

		if (pid <= 0 || pid == R->target.pid ||
		    (R->stress.pidfd >= 0 && pid == R->stress.pid))
			continue;
		if (R->pressure_cg && chaos_cg_contains(R->pressure_cg, pid) == 1)
			continue;
		for (k = 0; k < R->nworkers; k++)
			if (R->workers[k].pid == pid && !R->workers[k].dead &&
			    pidfd_alive(R->workers[k].pidfd))
				known = 1;
		if (known)
			continue;
		pidfd = chaos_pidfd_open(pid);
		if (pidfd < 0)
			continue; /* gone since the listing */
		/* The pidfd pins the process: only now does the check hold. */
		if (chaos_cg_contains(R->cg, pid) != 1 ||
		    (R->pressure_cg && chaos_cg_contains(R->pressure_cg, pid) == 1)) {
			close(pidfd);
			continue;
		}
		f[nf].pid = pid;
		f[nf].pidfd = pidfd;
		f[nf].starttime = proc_starttime(pid);
		nf++;
	}
	qsort(f, nf, sizeof(*f), found_cmp);
	for (i = 0; i < nf; i++)
		add_worker(R, f[i].pid, f[i].pidfd, SRC_CGROUP, f[i].starttime);
out:
	free(pids);
	free(f);
}

/* ---- timed faults ------------------------------------------------------- */

/* Candidates of victim class any, in start order: the main process
 * (while it runs) and every live process of the run cgroup but stress-ng,
 * each pinned by a pidfd (processes not seen before are registered by the
 * scan, so their deaths are recorded too). */
static size_t any_victims(struct run *R, size_t *idx, size_t max)
{
	size_t n = 0, i, j;

	discover_workers(R);
	if (!R->target_exited && n < max)
		idx[n++] = VICTIM_MAIN;
	for (i = 0; i < R->nworkers && n < max; i++)
		if (!R->workers[i].dead)
			idx[n++] = i;
	/* Insertion sort by start time: a handful of processes. */
	for (i = 1; i < n; i++) {
		size_t x = idx[i];
		unsigned long long tx =
			x == VICTIM_MAIN ? R->target_starttime : R->workers[x].starttime;

		for (j = i; j > 0; j--) {
			size_t y = idx[j - 1];
			unsigned long long ty =
				y == VICTIM_MAIN ? R->target_starttime : R->workers[y].starttime;

			if (ty <= tx)
				break;
			idx[j] = y;
		}
		idx[j] = x;
	}
	return n;
}

/* The victims fault f may hit now, into idx (at most max): the main
 * process; for class any, any_victims(); for class worker, the workers
 * that announced a task (with_dead: dead ones too, so that an index means
 * the same worker all run long). A model that does not come from a
 * scenario file (`chaos run -- CMD`) may run a target without the kit:
 * while no worker announced itself, its workers come from a cgroup scan. */
static size_t fault_victims(struct run *R, const struct chaos_fault *f, int with_dead, size_t *idx,
			    size_t max)
{
	size_t i, n = 0;
	int scan;

	if (f->victim == CHAOS_VICTIM_MAIN) {
		idx[0] = VICTIM_MAIN;
		return 1;
	}
	if (f->victim == CHAOS_VICTIM_ANY)
		return any_victims(R, idx, max);
	scan = !R->kit_only && R->nannounced == 0;
	if (scan)
		discover_workers(R);
	for (i = 0; i < R->nworkers && n < max; i++) {
		const struct worker *w = &R->workers[i];

		if ((scan || w->source == SRC_KIT) && (with_dead || !w->dead))
			idx[n++] = i;
	}
	return n;
}

static void fire_planned(struct run *R, const struct chaos_timed *t)
{
	const struct chaos_fault *f = &R->sc->faults[t->fault];
	struct shot s = shot_of(R, t->fault);
	size_t *v = NULL, n, i, max = MAX_WORKERS + 1;

	if (f->kind == CHAOS_FAULT_PRESSURE) {
		start_pressure(R, &s, f);
		return;
	}
	if (!chaos_fault_is_timed(f))
		return; /* triggered by the tasks, not by the clock */
	v = malloc(max * sizeof(*v));
	if (!v) {
		emit_fault(R, &s, f->signo, 0, -1, 0, "out of memory", NULL, NULL);
		return;
	}
	n = fault_victims(R, f, f->kind == CHAOS_FAULT_AT_TIME, v, max);
	if (f->kind == CHAOS_FAULT_AT_TIME) {
		i = f->victim == CHAOS_VICTIM_MAIN ? 0 : f->worker;
		if (i >= n)
			emit_fault(R, &s, f->signo, 0, -1, 0, "no such worker", NULL, NULL);
		else
			fire_at(R, t->fault, v[i], worker_task(R, v[i]));
	} else if (n == 0) {
		emit_fault(R, &s, f->signo, 0, -1, 0, "no live worker", NULL, NULL);
	} else if (f->kind == CHAOS_FAULT_EVERY) {
		i = v[chaos_pick_index(t->pick, n)];
		fire_at(R, t->fault, i, worker_task(R, i));
	} else {
		/* ALL_AT: the main process last, so that its death does not
		 * race the signals to its children. */
		for (i = 0; i < n; i++)
			if (v[i] != VICTIM_MAIN)
				fire_at(R, t->fault, v[i], worker_task(R, v[i]));
		for (i = 0; i < n; i++)
			if (v[i] == VICTIM_MAIN)
				fire_at(R, t->fault, v[i], -1);
	}
	free(v);
}

static void fire_timer(struct run *R, const struct timer *t)
{
	if (t->kind == T_CONT) {
		const struct chaos_fault *f = &R->sc->faults[t->fault];
		struct shot s = {.fault = -1, .kind = "cont", .victim = f->victim,
				 .anchor = chaos_fault_anchor_name(f)};

		signal_victim(R, &s, t->worker, SIGCONT, t->task);
		return;
	}
	fire_at(R, t->fault, t->worker, t->task);
}

/* Fire the entries of one plan due by now (at its anchor's time base);
 * returns the absolute time of its next entry, or UINT64_MAX. */
static uint64_t run_plan(struct run *R, const struct chaos_timed *plan, size_t n, size_t *next,
			 uint64_t base, uint64_t now)
{
	while (*next < n && base + plan[*next].t_ms <= now)
		fire_planned(R, &plan[(*next)++]);
	return *next < n ? base + plan[*next].t_ms : UINT64_MAX;
}

/* Fire everything due by now; returns ms until the next timed action. */
static uint64_t run_due(struct run *R, uint64_t now)
{
	uint64_t next, tf;
	size_t i;

	next = run_plan(R, R->plan, R->nplan, &R->plan_next, 0, now);
	if (R->first_start_ms >= 0) {
		tf = run_plan(R, R->plan_first, R->nfirst, &R->first_next,
			      (uint64_t)R->first_start_ms, now);
		if (tf < next)
			next = tf;
	}
	for (i = 0; i < R->ntimers;) {
		if (R->timers[i].t_ms <= now) {
			struct timer t = R->timers[i];

			R->timers[i] = R->timers[--R->ntimers];
			fire_timer(R, &t);
			continue;
		}
		if (R->timers[i].t_ms < next)
			next = R->timers[i].t_ms;
		i++;
	}
	for (i = 0; i < R->nworkers; i++) {
		struct worker *w = &R->workers[i];

		if (!w->orphan || w->dead)
			continue;
		if (w->orphan_until <= now) {
			event_error(R, w->pid,
				    "task %u attempt %u: connection closed without end, worker %d "
				    "still alive",
				    w->orphan_task, w->orphan_attempt, (int)w->pid);
			w->orphan = 0;
		} else if (w->orphan_until < next) {
			next = w->orphan_until;
		}
	}
	return next;
}

/* ---- workers ------------------------------------------------------------ */

static void conn_close(struct run *R, size_t ci);
static void conn_read(struct run *R, size_t ci);

/* Decode how a worker ended: from the pidfd's exit information (Linux >=
 * 6.15, works after the reap), else from its zombie's /proc/<pid>/stat
 * while the pidfd shows it unreaped, else from a signal this controller
 * sent. */
static void death_status(struct worker *w, struct chaos_hist_death *d)
{
	pid_t still = 0;
	char state = 0;
	int status = 0, found = 0;

	/* A worker is not our child: its status lives in its zombie's
	 * /proc/PID/stat until its parent reaps it, and after that (Linux
	 * 6.15+) in the pidfd's exit info, which the kernel fills in at the
	 * reap. Between the two reads the parent may reap it, so try both
	 * again: the reap usually completes within microseconds (the death's
	 * timestamp waits for this), but a slow parent (sanitizers, a loaded
	 * machine) may take milliseconds. */
	for (int tries = 0; tries < 30 && !found; tries++) {
		/* 50 us doubling up to 2 ms: under 60 ms in all. */
		if (tries)
			chaos_sleep_us(tries < 6 ? 50u << (tries - 1) : 2000u);
		found = chaos_pidfd_exit_status(w->pidfd, &status) == 0 ||
			(chaos_proc_exit_status(w->pid, &state, &status) == 0 && state == 'Z' &&
			 chaos_pidfd_pid(w->pidfd, &still) == 0 && still == w->pid);
	}
	d->signal = NULL;
	d->code = -1;
	if (found && WIFSIGNALED(status)) {
		d->how = "signal";
		d->signal = chaos_signal_name(WTERMSIG(status));
	} else if (found) {
		d->how = "exit";
		d->code = WEXITSTATUS(status);
	} else if (w->sent_signal == SIGKILL) {
		d->how = "signal";
		d->signal = "SIGKILL";
	} else {
		d->how = "unknown";
	}
}

static void worker_died(struct run *R, size_t wi)
{
	struct worker *w = &R->workers[wi];
	struct chaos_hist_death d = {.pid = w->pid, .task = -1, .oom = -1, .oom_kill = -1,
				     .role = role_name(w)};
	uint64_t v, *seen;
	struct chaos_cg *cg;
	size_t i;

	if (w->dead)
		return;
	/* Read what the worker wrote before it died: an `end` already in the
	 * socket means the task finished before the death. */
	for (i = 0; i < MAX_CONNS; i++)
		if (R->conns[i] && R->conns[i]->worker == (long)wi)
			conn_read(R, i);
	w->dead = 1;
	for (i = 0; i < MAX_CONNS; i++) {
		struct conn *c = R->conns[i];

		if (c && c->worker == (long)wi && c->started && !c->ended) {
			d.task = c->task;
			d.attempt = c->attempt;
			c->ended = 1; /* its EOF must not report it again */
		}
	}
	if (d.task < 0 && w->orphan) {
		d.task = w->orphan_task;
		d.attempt = w->orphan_attempt;
	}
	w->orphan = 0;
	death_status(w, &d);
	cg = w->cg ? w->cg : R->cg;
	seen = w->cg ? &w->oom_seen : &R->run_oom_seen;
	if (cg && chaos_cg_oom_kills(cg, &v) == 0) {
		/* Each increment of the counter is attributed to one death,
		 * and only to a death by SIGKILL (or of unknown cause): in
		 * whole-run mode the OOM killer may take some other process of
		 * the run while a worker exits normally. */
		int oom = v > *seen && (!strcmp(d.how, "unknown") ||
					(d.signal && !strcmp(d.signal, "SIGKILL")));

		if (oom) {
			(*seen)++;
			R->r->oom_kills++;
			/* In its own cgroup the worker is the only candidate, and
			 * the OOM killer sends SIGKILL: that settles a status the
			 * kernel no longer had (before Linux 6.15, once reaped). */
			if (w->cg && !strcmp(d.how, "unknown")) {
				d.how = "signal";
				d.signal = "SIGKILL";
			}
		}
		d.oom = oom;
		d.oom_kill = (long long)v;
		if (w->cg)
			oom_check(R, w->cg, &w->oom_last);
		else
			oom_check(R, R->cg, &R->run_oom_last);
	}
	if (d.task >= 0 && (uint32_t)d.task < R->sc->ntasks)
		R->open_[d.task] = 0;
	R->r->deaths++;
	vlog(R, "worker %u pid %d died (task %ld)", w->index, (int)w->pid, d.task);
	chaos_hist_death(R->h, &d);
	ep_del(R, w->pidfd);
}

/* Find or register the worker of pid; -1 when it cannot be trusted. */
static long worker_for(struct run *R, pid_t pid)
{
	struct worker *w;
	size_t i;
	int pidfd, c;

	for (i = 0; i < R->nworkers; i++) {
		w = &R->workers[i];
		if (w->dead || w->pid != pid)
			continue;
		/* A dead worker whose pidfd we have not handled yet may have
		 * had its PID reused by this new process. */
		if (!pidfd_alive(w->pidfd)) {
			worker_died(R, i);
			continue;
		}
		if (w->source != SRC_KIT) {
			/* Found by a scan before it spoke: from now on it is a
			 * kit worker, and cgroup scans stop. */
			w->source = SRC_KIT;
			R->nannounced++;
			raise_oom_score(R, w);
		}
		return (long)i;
	}
	pidfd = chaos_pidfd_open(pid);
	if (pidfd < 0) {
		event_error(R, pid, "pidfd_open(%d): %s", (int)pid, strerror(-pidfd));
		return -1;
	}
	if (R->cg) {
		c = chaos_cg_contains(R->cg, pid);
		if (c != 1) {
			event_error(R, pid, "pid %d is not in the run cgroup", (int)pid);
			close(pidfd);
			return -1;
		}
	}
	return add_worker(R, pid, pidfd, SRC_KIT, 0);
}

/* ---- event connections -------------------------------------------------- */

static void on_start(struct run *R, size_t ci, uint32_t task)
{
	struct conn *c = R->conns[ci];
	long wi;
	size_t k;
	char go[32];
	int n;

	wi = worker_for(R, c->pid);
	if (wi < 0) {
		conn_close(R, ci);
		return;
	}
	c->worker = wi;
	c->started = 1;
	c->task = task;
	c->attempt = ++R->attempts[task];
	R->open_[task] = 1;
	R->nstarts++;
	if (R->first_start_ms < 0)
		R->first_start_ms = (int64_t)now_ms(R);
	vlog(R, "start task %u attempt %u pid %d", task, c->attempt, (int)c->pid);
	chaos_hist_start(R->h, task, c->attempt, c->pid);
	for (k = 0; k < R->sc->nfaults; k++) {
		const struct chaos_fault *f = &R->sc->faults[k];
		/* The worker that announced the start, unless the fault
		 * names the main process (class any hits the worker too). */
		size_t v = f->victim == CHAOS_VICTIM_MAIN ? VICTIM_MAIN : (size_t)wi;

		if (!chaos_on_start_matches(f, task, c->attempt) &&
		    !chaos_after_starts_matches(f, R->nstarts))
			continue;
		if (f->delay_ms == 0) {
			fire_at(R, k, v, task);
		} else {
			struct timer t = {.t_ms = now_ms(R) + f->delay_ms, .kind = T_DELAYED,
					  .fault = k, .worker = v, .task = task};

			add_timer(R, &t);
		}
	}
	n = snprintf(go, sizeof(go), "go %u\n", c->attempt);
	/* The kit reads this at once; a full buffer or a dead peer is not
	 * our problem to wait for: its death is seen through the pidfd. */
	if (send(c->fd, go, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 && errno != EPIPE &&
	    errno != ECONNRESET)
		event_error(R, c->pid, "reply to task %u: %s", task, strerror(errno));
}

/* Does a kill-on-end fault hold the end of task (its kit waits for ack)? */
static int holds_end(const struct run *R, uint32_t task)
{
	size_t k;

	for (k = 0; k < R->sc->nfaults; k++)
		if (R->sc->faults[k].kind == CHAOS_FAULT_ON_END && R->sc->faults[k].task == task)
			return 1;
	return 0;
}

/* The `end` of a held task: the kit waits for `ack` before the pool gets
 * the result. The matching kill-on-end faults fire first; a worker they
 * SIGKILLed gets no answer and no `end` in the history (the pool never
 * had that result: its death names the task). Returns 1 when the end
 * stands (record it), 0 when the worker was killed at it. */
static int held_end(struct run *R, size_t ci, uint32_t task)
{
	struct conn *c = R->conns[ci];
	char ack[32];
	size_t k;
	int n, killed = 0;

	for (k = 0; k < R->sc->nfaults; k++) {
		const struct chaos_fault *f = &R->sc->faults[k];
		size_t v = f->victim == CHAOS_VICTIM_MAIN ? VICTIM_MAIN : (size_t)c->worker;

		if (!chaos_on_end_matches(f, task, c->attempt))
			continue;
		if (fire_at(R, k, v, task) == 0 && v != VICTIM_MAIN && f->signo == SIGKILL)
			killed = 1;
	}
	if (killed)
		return 0;
	n = snprintf(ack, sizeof(ack), "ack %u\n", c->attempt);
	/* As for `go`: a dead peer is seen through the pidfd. */
	if (send(c->fd, ack, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 && errno != EPIPE &&
	    errno != ECONNRESET)
		event_error(R, c->pid, "ack of task %u: %s", task, strerror(errno));
	return 1;
}

static void conn_line(struct run *R, size_t ci, const char *line, size_t len)
{
	struct conn *c = R->conns[ci];
	struct chaos_evline ev;
	char err[256];

	if (chaos_evline_parse(line, len, &ev, err, sizeof(err))) {
		event_error(R, c->pid, "%s", err);
		conn_close(R, ci);
		return;
	}
	if (ev.task >= R->sc->ntasks) {
		event_error(R, c->pid, "task %u out of range (ntasks %u)", ev.task, R->sc->ntasks);
		conn_close(R, ci);
		return;
	}
	if (ev.kind == CHAOS_EVL_START) {
		if (c->started) {
			event_error(R, c->pid, "second start on one connection");
			conn_close(R, ci);
			return;
		}
		on_start(R, ci, ev.task);
		return;
	}
	if (!c->started || c->ended || ev.task != c->task) {
		event_error(R, c->pid, "%s for task %u without its start",
			    ev.kind == CHAOS_EVL_END ? "end" : "fail", ev.task);
		conn_close(R, ci);
		return;
	}
	if (ev.kind == CHAOS_EVL_END && c->worker >= 0 && holds_end(R, ev.task) &&
	    !held_end(R, ci, ev.task))
		return;
	c->ended = 1;
	if (R->attempts[ev.task] == c->attempt)
		R->open_[ev.task] = 0;
	if (ev.kind == CHAOS_EVL_END)
		chaos_hist_end(R->h, ev.task, c->attempt, c->pid, ev.result);
	else
		chaos_hist_fail(R->h, ev.task, c->attempt, c->pid, ev.text, strlen(ev.text));
}

static void conn_close(struct run *R, size_t ci)
{
	struct conn *c = R->conns[ci];

	if (!c)
		return;
	if (c->started && !c->ended && c->worker >= 0) {
		struct worker *w = &R->workers[c->worker];

		/* The task was interrupted: normally its worker is dying and
		 * the pidfd will tell; give it a bounded moment to. */
		if (!w->dead) {
			w->orphan = 1;
			w->orphan_task = c->task;
			w->orphan_attempt = c->attempt;
			w->orphan_until = now_ms(R) + ORPHAN_WAIT_MS;
		}
	}
	ep_del(R, c->fd);
	close(c->fd);
	free(c);
	R->conns[ci] = NULL;
}

/* Read what is available on a connection (bounded per call, so one peer
 * cannot starve the loop) and handle complete lines. */
static void conn_read(struct run *R, size_t ci)
{
	char buf[4096];
	int rounds;

	for (rounds = 0; rounds < 16 && R->conns[ci]; rounds++) {
		struct conn *c = R->conns[ci];
		ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
		size_t off = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			/* A peer that dies mid-line is a worker killed while
			 * writing, or a broken kit: either way worth a line. */
			if (n == 0 && (c->lb.len > 0 || c->lb.skipping))
				event_error(R, c->pid,
					    "connection closed in the middle of a line (%zu bytes)",
					    c->lb.len);
			conn_close(R, ci);
			return;
		}
		while (off < (size_t)n && R->conns[ci]) {
			const char *line;
			size_t used, len;
			int got = chaos_linebuf_feed(&c->lb, buf + off, (size_t)n - off, &used,
						     &line, &len);

			off += used;
			if (got == -EMSGSIZE) {
				event_error(R, c->pid, "event line longer than %d bytes",
					    CHAOS_EVLINE_MAX);
				conn_close(R, ci);
				return;
			}
			if (got == 1)
				conn_line(R, ci, line, len);
		}
	}
}

static void on_accept(struct run *R)
{
	int i;

	for (i = 0; i < 64; i++) {
		struct ucred cred;
		socklen_t cl = sizeof(cred);
		struct conn *c;
		size_t ci;
		int fd = accept4(R->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return;
		for (ci = 0; ci < MAX_CONNS && R->conns[ci]; ci++)
			;
		if (ci == MAX_CONNS ||
		    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0) {
			/* A flooding peer must not flood the history too: the
			 * first refusals are recorded, then one summary line. */
			R->refused++;
			if (R->refused <= REFUSED_LOGGED)
				event_error(R, 0, "%s",
					    ci == MAX_CONNS ? "too many open connections"
							    : "SO_PEERCRED failed");
			else if (R->refused == REFUSED_LOGGED + 1)
				event_error(R, 0,
					    "more connections refused; further refusals are not "
					    "recorded");
			close(fd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->pid = cred.pid;
		c->worker = -1;
		chaos_linebuf_init(&c->lb, CHAOS_EVLINE_MAX);
		R->conns[ci] = c;
		ep_add(R, fd, EP(K_CONN, ci));
	}
}

/* ---- the target --------------------------------------------------------- */

static void out_line(struct run *R, const char *line, size_t len)
{
	struct chaos_outcome oc;
	char err[256];

	R->lineno++;
	chaos_hist_outcome(R->h, line, len, R->lineno);
	if (chaos_outcome_parse(line, len, &oc, err, sizeof(err))) {
		vlog(R, "protocol error on stdout line %u: %s", R->lineno, err);
		chaos_hist_protocol_error(R->h, R->lineno, line, len, err);
		return;
	}
	if (oc.kind == CHAOS_OUT_DONE)
		R->saw_done = 1;
	else if (oc.kind == CHAOS_OUT_ABORTED)
		R->saw_aborted = 1;
	else if (oc.kind == CHAOS_OUT_UNSUPPORTED)
		R->saw_unsupported = 1;
}

static void target_read(struct run *R)
{
	char buf[16384];
	int rounds;

	for (rounds = 0; rounds < 16 && !R->out_eof; rounds++) {
		ssize_t n = read(R->target.out_fd, buf, sizeof(buf));
		size_t off = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			const char *line;
			size_t len;

			if (chaos_linebuf_tail(&R->outlb, &line, &len))
				out_line(R, line, len);
			R->out_eof = 1;
			ep_del(R, R->target.out_fd);
			return;
		}
		/* stdout.txt is a convenience copy; the history has every line,
		 * so a failed write here loses nothing. */
		if (R->out_file >= 0 && chaos_write_all(R->out_file, buf, (size_t)n) < 0)
			R->out_file_err = errno;
		while (off < (size_t)n) {
			const char *line;
			size_t used, len;
			int got = chaos_linebuf_feed(&R->outlb, buf + off, (size_t)n - off, &used,
						     &line, &len);

			off += used;
			if (got == -EMSGSIZE) {
				R->lineno++;
				chaos_hist_protocol_error(R->h, R->lineno, "", 0,
							  "line longer than 4096 bytes");
			} else if (got == 1) {
				out_line(R, line, len);
			}
		}
	}
}

static void target_exit(struct run *R)
{
	int st = 0;

	if (R->target_exited || chaos_child_reap(R->target.pidfd, &st) != 1)
		return;
	R->target_exited = 1;
	R->target_status = st;
	R->exit_ms = now_ms(R);
	ep_del(R, R->target.pidfd);
	if (WIFSIGNALED(st)) {
		vlog(R, "target killed by %s", chaos_signal_name(WTERMSIG(st)));
		chaos_hist_target_exit(R->h, chaos_signal_name(WTERMSIG(st)), 0);
	} else {
		vlog(R, "target exited with code %d", WEXITSTATUS(st));
		chaos_hist_target_exit(R->h, NULL, WEXITSTATUS(st));
	}
}

static int attach_target(void *arg, pid_t pid)
{
	struct run *R = arg;
	int ret;

	if (!R->cg)
		return 0;
	ret = chaos_cg_attach(R->cg, pid);
	if (ret)
		set_error("cannot move the target into %s: %s", chaos_cg_name(R->cg),
			  chaos_cg_last_error());
	return ret;
}

/* The contract environment, on top of ours with our own CHAOS_* removed. */
static char **build_env(const struct run *R, const char *tasks_path)
{
	const struct chaos_scenario *sc = R->sc;
	const char *py = chaos_kit_python_dir(), *bin = chaos_kit_bin_dir();
	const char *opp = getenv("PYTHONPATH"), *opath = getenv("PATH");
	const char *node = chaos_kit_node_dir(), *onp = getenv("NODE_PATH");
	const char *orl = getenv("RUBYLIB"), *op5 = getenv("PERL5LIB");
	size_t n = 0, i, k = 0;
	char **env;

	while (environ[n])
		n++;
	env = calloc(n + 16, sizeof(*env));
	if (!env)
		return NULL;
	for (i = 0; i < n; i++) {
		const char *e = environ[i];

		if (strncmp(e, "CHAOS_", 6) == 0 || strncmp(e, "PYTHONPATH=", 11) == 0 ||
		    strncmp(e, "PATH=", 5) == 0 || strncmp(e, "NODE_PATH=", 10) == 0 ||
		    strncmp(e, "RUBYLIB=", 8) == 0 || strncmp(e, "PERL5LIB=", 9) == 0)
			continue;
		env[k++] = strdup(e);
	}
	if (asprintf(&env[k++], "CHAOS_WORKERS=%u", sc->workers) < 0 ||
	    asprintf(&env[k++], "CHAOS_NTASKS=%u", sc->ntasks) < 0 ||
	    asprintf(&env[k++], "CHAOS_POLICY=%s", sc->policy) < 0 ||
	    asprintf(&env[k++], "CHAOS_RETRIES=%u", sc->retries) < 0 ||
	    asprintf(&env[k++], "CHAOS_TASKS=%s", tasks_path) < 0 ||
	    asprintf(&env[k++], "CHAOS_EVENTS=%s", R->sock_path) < 0)
		goto fail;
	if (sc->task_timeout_ms &&
	    asprintf(&env[k++], "CHAOS_TASK_TIMEOUT_MS=%u", sc->task_timeout_ms) < 0)
		goto fail;
	if (asprintf(&env[k++], "PYTHONPATH=%s%s%s", py ? py : "", opp && *opp ? ":" : "",
		     opp ? opp : "") < 0)
		goto fail;
	/* The Ruby and Perl kits sit beside the Python one; the Node.js kit is
	 * the package chaos-task below its own directory. */
	if (asprintf(&env[k++], "NODE_PATH=%s%s%s", node ? node : "", onp && *onp ? ":" : "",
		     onp ? onp : "") < 0 ||
	    asprintf(&env[k++], "RUBYLIB=%s%s%s", py ? py : "", orl && *orl ? ":" : "",
		     orl ? orl : "") < 0 ||
	    asprintf(&env[k++], "PERL5LIB=%s%s%s", py ? py : "", op5 && *op5 ? ":" : "",
		     op5 ? op5 : "") < 0)
		goto fail;
	if (asprintf(&env[k++], "PATH=%s%s%s", bin ? bin : "", bin ? ":" : "",
		     opath ? opath : "/usr/local/bin:/usr/bin:/bin") < 0)
		goto fail;
	for (i = 0; i < k; i++)
		if (!env[i])
			goto fail;
	return env;
fail:
	for (i = 0; i < n + 16; i++)
		free(env[i]);
	free(env);
	return NULL;
}

static void free_env(char **env)
{
	size_t i;

	for (i = 0; env && env[i]; i++)
		free(env[i]);
	free(env);
}

/* ---- setup helpers ------------------------------------------------------ */

/* Bind the event socket. sun_path holds at most 107 bytes, so a deep
 * outdir falls back to a short path in /tmp. */
static int bind_events(struct run *R)
{
	static unsigned seq;
	struct sockaddr_un a;
	int ret = 0, fd;

	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	if ((size_t)snprintf(R->sock_path, sizeof(R->sock_path), "%s/events.sock", R->o->outdir) >=
	    sizeof(R->sock_path))
		snprintf(R->sock_path, sizeof(R->sock_path), "/tmp/chaos-%d-%u.sock", (int)getpid(),
			 seq++);
	memcpy(a.sun_path, R->sock_path, strlen(R->sock_path) + 1);
	unlink(R->sock_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 256) < 0) {
		ret = -errno;
		set_error("cannot listen on %s: %s", R->sock_path, strerror(errno));
		close(fd);
		R->sock_path[0] = '\0';
		return ret;
	}
	R->lfd = fd;
	return 0;
}

static const char *mem_mode_name(enum chaos_mem_mode m)
{
	return m == CHAOS_MEM_PER_WORKER ? "per-worker" : m == CHAOS_MEM_WHOLE_RUN ? "whole-run" : "none";
}

static int needs_memcg(const struct chaos_scenario *sc)
{
	size_t i;

	if (sc->mem_mode != CHAOS_MEM_NONE || (sc->expect & CHAOS_EXPECT_OOM))
		return 1;
	for (i = 0; i < sc->nfaults; i++)
		if (sc->faults[i].kind == CHAOS_FAULT_PRESSURE)
			return 1;
	return 0;
}

/* ---- deadline and the end of a run -------------------------------------- */

static size_t run_pids(struct run *R, pid_t *pids, size_t max)
{
	size_t n = 0, i;

	if (R->cg) {
		if (chaos_cg_pids(R->cg, pids, max, &n))
			n = 0;
		return n;
	}
	if (!R->target_exited && n < max)
		pids[n++] = R->target.pid;
	for (i = 0; i < R->nworkers && n < max; i++)
		if (!R->workers[i].dead && pidfd_alive(R->workers[i].pidfd))
			pids[n++] = R->workers[i].pid;
	return n;
}

static void capture_diag(struct run *R)
{
	pid_t *pids = malloc(MAX_PIDS * sizeof(*pids));
	json_t *unfinished = json_array();
	size_t n, i;
	uint32_t t;

	for (t = 0; t < R->sc->ntasks; t++)
		if (R->open_[t])
			json_array_append_new(unfinished, json_integer(t));
	n = pids ? run_pids(R, pids, MAX_PIDS) : 0;
	for (i = 0; i < n; i++) {
		struct chaos_procinfo pi;

		if (chaos_proc_info(pids[i], &pi))
			continue;
		chaos_hist_diag(R->h, &pi, unfinished);
		chaos_procinfo_free(&pi);
	}
	if (n == 0)
		chaos_hist_diag(R->h, NULL, unfinished);
	json_decref(unfinished);
	free(pids);
}

/* Processes of the run still alive after the target exited. */
static size_t live_pids(struct run *R, pid_t *pids, size_t max)
{
	size_t n = run_pids(R, pids, max), kept = 0;

	for (size_t i = 0; i < n; i++) {
		char state = 0;
		int status;

		if (R->pressure_cg && chaos_cg_contains(R->pressure_cg, pids[i]) == 1)
			continue;
		/* A dead process waiting for its parent is no leftover; its
		 * parent, if it is one, is reported. */
		if (chaos_proc_exit_status(pids[i], &state, &status) == 0 &&
		    (state == 'Z' || state == 'X'))
			continue;
		pids[kept++] = pids[i];
	}
	return kept;
}

/* Processes of the run still alive LEFTOVER_GRACE_MS after the target
 * exited. The grace is for helpers that end on their own once their parent
 * is gone (loky's resource tracker notices the closed pipe a few hundred ms
 * later); what outlives it is a leftover. */
static void report_leftovers(struct run *R)
{
	pid_t *pids = malloc(MAX_PIDS * sizeof(*pids));
	uint64_t until = now_ms(R) + LEFTOVER_GRACE_MS;
	size_t n = 0, i;

	if (!pids)
		return;
	/* stress-ng inside the run is the controller's own: end it first.
	 * Left running, it respawns its OOM-killed workers, and a worker that
	 * is listed here and gone a moment later can no longer be told apart
	 * from a leftover of the target. kill_all waits until it is empty. */
	if (R->pressure_cg) {
		unsigned killed = 0;

		chaos_cg_kill_all(R->pressure_cg, &killed);
	}
	for (;;) {
		n = live_pids(R, pids, MAX_PIDS);
		if (n == 0 || now_ms(R) >= until)
			break;
		chaos_sleep_us(20 * 1000);
	}
	for (i = 0; i < n; i++) {
		char comm[64];

		chaos_proc_comm(pids[i], comm, sizeof(comm));
		R->r->leftovers++;
		vlog(R, "leftover process %d (%s)", (int)pids[i], comm);
		chaos_hist_leftover(R->h, pids[i], comm);
	}
	free(pids);
}

/* Kill and remove everything of the run. */
static void teardown(struct run *R)
{
	unsigned killed = 0, removed = 0;
	char err[600] = "";
	int ret, st;
	size_t i;

	stop_pressure(R);
	if (R->cg) {
		ret = chaos_cg_kill_all(R->cg, &killed);
		if (ret)
			snprintf(err, sizeof(err), "kill: %s", chaos_cg_last_error());
	} else {
		/* No cgroup: the target's process group (safe while the target
		 * is unreaped) and every worker we hold a pidfd for. */
		if (R->target.pidfd >= 0 && !R->target_exited && kill(-R->target.pid, SIGKILL) == 0)
			killed++;
		for (i = 0; i < R->nworkers; i++)
			if (pidfd_alive(R->workers[i].pidfd) &&
			    chaos_pidfd_signal(R->workers[i].pidfd, SIGKILL) == 0)
				killed++;
	}
	if (R->target.pidfd >= 0 && !R->target_exited) {
		struct pollfd p = {.fd = R->target.pidfd, .events = POLLIN};

		chaos_pidfd_signal(R->target.pidfd, SIGKILL);
		chaos_poll_ms(&p, 1, 5000);
		if (chaos_child_reap(R->target.pidfd, &st) == 1)
			R->target_exited = 1;
	}
	if (R->cg) {
		ret = chaos_cg_destroy(R->cg, &removed);
		if (ret && !err[0])
			snprintf(err, sizeof(err), "destroy: %s", chaos_cg_last_error());
		R->cg = NULL;
		R->pressure_cg = NULL;
		for (i = 0; i < R->nworkers; i++)
			R->workers[i].cg = NULL; /* freed with the run */
	}
	if (R->lfd >= 0) {
		close(R->lfd);
		R->lfd = -1;
	}
	if (R->sock_path[0])
		unlink(R->sock_path);
	vlog(R, "teardown: %u killed, %u cgroups removed%s%s", killed, removed, err[0] ? ", " : "",
	     err);
	chaos_hist_teardown(R->h, killed, removed, err[0] ? err : NULL);
}

static void dispatch(struct run *R, uint64_t u)
{
	size_t idx = EP_IDX(u);

	switch (EP_KIND(u)) {
	case K_LISTEN:
		on_accept(R);
		break;
	case K_CONN:
		if (idx < MAX_CONNS && R->conns[idx])
			conn_read(R, idx);
		break;
	case K_WORKER:
		if (idx < R->nworkers)
			worker_died(R, idx);
		break;
	case K_TARGET:
		target_exit(R);
		break;
	case K_TARGET_OUT:
		target_read(R);
		break;
	case K_OOM_RUN:
		chaos_cg_oom_ack(R->cg);
		oom_check(R, R->cg, &R->run_oom_last);
		break;
	case K_OOM_WORKER:
		if (idx < R->nworkers && R->workers[idx].cg) {
			chaos_cg_oom_ack(R->workers[idx].cg);
			oom_check(R, R->workers[idx].cg, &R->workers[idx].oom_last);
		}
		break;
	case K_INTR: {
		uint64_t v;
		ssize_t n = read(intr_fd, &v, sizeof(v));

		/* The flag is what counts; the read only quiets the fd. */
		(void)n;
		break;
	}
	case K_STRESS: {
		int st;

		if (chaos_child_reap(R->stress.pidfd, &st) == 1) {
			R->stress_reaped = 1;
			ep_del(R, R->stress.pidfd);
		}
		break;
	}
	}
}

/* One bounded round of the loop: fire what is due, wait at most until the
 * next timed action or limit_ms, handle what arrived. */
static void loop_once(struct run *R, uint64_t limit_ms)
{
	struct epoll_event evs[64];
	uint64_t now = now_ms(R), next;
	int n, i, timeout;

	next = run_due(R, now);
	if (next > limit_ms)
		next = limit_ms;
	now = now_ms(R);
	timeout = next > now ? (int)(next - now) : 0;
	n = chaos_epoll_ms(R->ep, evs, 64, timeout);
	for (i = 0; i < n; i++)
		dispatch(R, evs[i].data.u64);
}

/* When the run hits its deadline, in ms since the run began. A target
 * that follows the adapter contract (a scenario file) gets the deadline
 * from its first task start and the startup bound before it: how long a
 * pool takes to boot (an import, a loaded machine) then cannot make a
 * working pool look hung, and a pool that never starts a task is told
 * apart from one that stopped. Other targets count from the spawn. */
static uint64_t run_deadline(const struct run *R)
{
	if (!R->kit_only)
		return R->sc->deadline_ms;
	if (R->first_start_ms < 0)
		return R->sc->startup_ms;
	return (uint64_t)R->first_start_ms + R->sc->deadline_ms;
}

/* Runs until the target's main process exited and its stdout is at EOF
 * or OUT_GRACE_MS after the exit, whichever is first: the end of the run
 * is the main process's exit, and a daemon that holds stdout is then a
 * leftover, not a hang. */
static void event_loop(struct run *R)
{
	uint64_t deadline, limit;

	while (!(R->target_exited && R->out_eof)) {
		deadline = run_deadline(R);
		if (intr_flag) {
			R->interrupted = 1;
			return;
		}
		if (now_ms(R) >= deadline) {
			R->hang = 1;
			return;
		}
		limit = deadline;
		if (R->target_exited) {
			if (now_ms(R) >= R->exit_ms + OUT_GRACE_MS) {
				vlog(R, "stdout still open %d ms after the target exited",
				     OUT_GRACE_MS);
				break;
			}
			if (R->exit_ms + OUT_GRACE_MS < limit)
				limit = R->exit_ms + OUT_GRACE_MS;
		}
		loop_once(R, limit);
	}
	/* The target is gone: take in what is already queued (deaths of
	 * workers killed just before it exited, last events), bounded. */
	deadline = now_ms(R) + DRAIN_MS;
	while (now_ms(R) < deadline) {
		struct epoll_event e;

		run_due(R, now_ms(R));
		if (chaos_epoll_ms(R->ep, &e, 1, 0) <= 0)
			break;
		dispatch(R, e.data.u64);
	}
}

static void free_run(struct run *R)
{
	size_t i;

	for (i = 0; i < MAX_CONNS; i++) {
		if (R->conns[i]) {
			close(R->conns[i]->fd);
			free(R->conns[i]);
		}
	}
	for (i = 0; i < R->nworkers; i++)
		if (R->workers[i].pidfd >= 0)
			close(R->workers[i].pidfd);
	free(R->workers);
	free(R->attempts);
	free(R->open_);
	free(R->plan);
	free(R->plan_first);
	free(R->fault_seen);
	if (R->target.pidfd >= 0)
		close(R->target.pidfd);
	if (R->target.out_fd >= 0)
		close(R->target.out_fd);
	if (R->out_file >= 0)
		close(R->out_file);
	if (R->ep >= 0)
		close(R->ep);
	chaos_hist_close(R->h);
}

static void finish(struct run *R, enum chaos_run_verdict v, const char *reason)
{
	struct chaos_run_result *r = R->r;

	r->verdict = v;
	if (reason && reason != r->reason)
		snprintf(r->reason, sizeof(r->reason), "%s", reason);
	r->elapsed_ms = chaos_hist_now(R->h) * 1000.0;
	vlog(R, "end of run: %s%s%s", chaos_run_verdict_name(v), r->reason[0] ? ": " : "",
	     r->reason);
	chaos_hist_end_run(R->h, chaos_run_verdict_name(v), r->reason[0] ? r->reason : NULL,
			   r->elapsed_ms);
}

/* A run with every descriptor closed, or NULL without memory. */
static struct run *run_new(const struct chaos_run_opts *o, struct chaos_run_result *r)
{
	struct run *R = calloc(1, sizeof(*R));

	if (!R)
		return NULL;
	R->o = o;
	R->sc = o->sc;
	R->r = r;
	R->ep = R->lfd = R->out_file = -1;
	R->target.pidfd = R->target.out_fd = -1;
	R->stress.pidfd = -1;
	R->first_start_ms = -1;
	/* A scenario file is run with the adapter contract: its workers are
	 * the processes that announce tasks, never a cgroup scan's guess. */
	R->kit_only = R->sc->path[0] != '\0';
	clock_gettime(CLOCK_MONOTONIC, &R->t0);
	return R;
}

/* The output directory, the history and the run's tables. Nothing of the
 * run exists yet when this fails, so there is nothing to tear down. */
static int run_open(struct run *R)
{
	const struct chaos_run_opts *o = R->o;
	struct chaos_run_result *r = R->r;
	int ret;

	ret = chaos_mkdir_p(o->outdir);
	if (ret) {
		set_error("cannot create %s: %s", o->outdir, strerror(-ret));
		return ret;
	}
	snprintf(r->history, sizeof(r->history), "%s/history.jsonl", o->outdir);
	ret = chaos_hist_open(r->history, &R->t0, &R->h);
	if (ret) {
		set_error("cannot write %s: %s", r->history, strerror(-ret));
		return ret;
	}
	R->attempts = calloc(R->sc->ntasks + 1, sizeof(*R->attempts));
	R->open_ = calloc(R->sc->ntasks + 1, 1);
	R->fault_seen = calloc(R->sc->nfaults + 1, 1);
	R->ep = epoll_create1(EPOLL_CLOEXEC);
	if (!R->attempts || !R->open_ || !R->fault_seen || R->ep < 0) {
		ret = R->ep < 0 ? -errno : -ENOMEM;
		set_error("cannot set up the run: %s", strerror(-ret));
	}
	return ret;
}

/* The environment: stale runs of a killed controller go first, then the
 * task spec file and the run cgroup; the `run` event says what was found. */
static int run_environment(struct run *R)
{
	const struct chaos_scenario *sc = R->sc;
	char path[4200];
	unsigned swept = 0;
	int ret;

	if (chaos_cg_detect(&R->env) == 0 && R->env.version != CHAOS_CG_NONE) {
		if (chaos_cg_sweep_stale(&R->env, &swept) == 0 && swept)
			vlog(R, "removed %u stale run cgroup(s)", swept);
	} else {
		R->env.version = CHAOS_CG_NONE;
	}
	snprintf(path, sizeof(path), "%s/tasks.txt", R->o->outdir);
	ret = chaos_scenario_write_tasks(sc, path);
	if (ret) {
		set_error("cannot write %s: %s", path, strerror(-ret));
		return ret;
	}
	if (R->env.version != CHAOS_CG_NONE) {
		ret = chaos_cg_run_create(&R->env, &R->cg);
		if (ret) {
			/* Detection said yes but creation failed: treat as no
			 * rights, with the reason. */
			snprintf(R->env.why, sizeof(R->env.why), "cannot create the run cgroup: %s",
				 chaos_cg_last_error());
			R->env.version = CHAOS_CG_NONE;
			R->cg = NULL;
		}
	}
	chaos_hist_run(R->h, &(struct chaos_hist_run){
				     .name = sc->name,
				     .target = R->o->target_name,
				     .argv = R->o->argv,
				     .backend = R->env.version == CHAOS_CG_V2   ? "v2"
						: R->env.version == CHAOS_CG_V1 ? "v1"
										: "none",
				     .cgroup = R->cg ? chaos_cg_name(R->cg) : NULL,
				     .mem_mode = mem_mode_name(sc->mem_mode),
				     .mem_limit = sc->mem_limit,
				     .seed = sc->seed,
				     .deadline_ms = sc->deadline_ms,
				     .workers = sc->workers,
				     .ntasks = sc->ntasks,
				     .retries = sc->retries,
				     .policy = sc->policy,
			     });
	return 0;
}

/* Without a memory cgroup only kill faults can run: say so, and skip a
 * scenario that needs memory limits. Returns 1 when the run was skipped
 * (and is over), 0 when it goes on. */
static int skip_without_memcg(struct run *R)
{
	char msg[400];

	snprintf(msg, sizeof(msg), "no usable memory cgroup: %.300s",
		 R->env.why[0] ? R->env.why : "unknown reason");
	if (R->o->verbose)
		fprintf(stderr, "chaos: %s; only kill faults can run\n", msg);
	event_error(R, 0, "%s", msg);
	if (!needs_memcg(R->sc))
		return 0;
	snprintf(R->r->reason, sizeof(R->r->reason), "scenario needs memory limits, but %s", msg);
	teardown(R);
	finish(R, CHAOS_RUN_SKIPPED, R->r->reason);
	return 1;
}

/* Move the entries counted from the first task start out of R->plan into
 * R->plan_first; both stay sorted. */
static int split_plan(struct run *R)
{
	size_t i, ns = 0;

	R->plan_first = malloc((R->nplan + 1) * sizeof(*R->plan_first));
	if (!R->plan_first) {
		set_error("cannot compute the fault schedule: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	for (i = 0; i < R->nplan; i++) {
		if (R->plan[i].from == CHAOS_FROM_FIRST_START)
			R->plan_first[R->nfirst++] = R->plan[i];
		else
			R->plan[ns++] = R->plan[i];
	}
	R->nplan = ns;
	return 0;
}

static int pressure_inside(const struct chaos_scenario *sc)
{
	size_t i;

	for (i = 0; i < sc->nfaults; i++)
		if (sc->faults[i].kind == CHAOS_FAULT_PRESSURE && sc->faults[i].pressure_inside)
			return 1;
	return 0;
}

/* The run's limits, OOM notifications, event socket, interrupt eventfd
 * and fault schedule. */
static int run_prepare(struct run *R)
{
	int ret, fd;

	if (R->cg && R->sc->mem_mode == CHAOS_MEM_WHOLE_RUN) {
		ret = chaos_cg_set_limit(R->cg, R->sc->mem_limit);
		if (ret) {
			set_error("cannot set the run memory limit: %s", chaos_cg_last_error());
			return ret;
		}
	}
	if (R->cg) {
		chaos_cg_oom_kills(R->cg, &R->run_oom_seen);
		R->run_oom_last = R->run_oom_seen;
		fd = chaos_cg_oom_fd(R->cg);
		if (fd >= 0)
			ep_add(R, fd, EP(K_OOM_RUN, 0));
	}
	ret = bind_events(R);
	if (ret)
		return ret;
	ep_add(R, R->lfd, EP(K_LISTEN, 0));
	fd = intr_setup();
	if (fd < 0) {
		set_error("cannot create the interrupt eventfd: %s", strerror(-fd));
		return fd;
	}
	ep_add(R, fd, EP(K_INTR, 0));
	ret = chaos_fault_plan(R->sc, &R->plan, &R->nplan);
	if (ret)
		set_error("cannot compute the fault schedule: %s", strerror(-ret));
	else
		ret = split_plan(R);
	R->raise_oom_adj = R->sc->mem_mode != CHAOS_MEM_NONE || pressure_inside(R->sc);
	return ret;
}

/* Start the target in the run cgroup, its stdout on a pipe, its stderr in
 * stderr.txt. The environment and stderr.txt are the child's once it is
 * spawned, so they are released here. */
static int run_spawn(struct run *R)
{
	const struct chaos_run_opts *o = R->o;
	struct chaos_spawn_opts so = {0};
	char path[4200], **env;
	int ret = 0, errfd;

	snprintf(path, sizeof(path), "%s/tasks.txt", o->outdir);
	env = build_env(R, path);
	snprintf(path, sizeof(path), "%s/stderr.txt", o->outdir);
	errfd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	snprintf(path, sizeof(path), "%s/stdout.txt", o->outdir);
	R->out_file = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (!env || errfd < 0) {
		ret = env ? -errno : -ENOMEM;
		set_error("cannot prepare the target: %s", strerror(-ret));
		goto out;
	}
	chaos_linebuf_init(&R->outlb, CHAOS_OUTLINE_MAX);
	so.argv = o->argv;
	so.envp = env;
	so.stdout_pipe = 1;
	so.stderr_fd = errfd;
	so.attach = attach_target;
	so.attach_arg = R;
	ret = chaos_spawn(&so, &R->target);
	if (ret) {
		if (!last_error[0])
			set_error("cannot run %s: %s", o->argv[0], strerror(-ret));
		R->target.pidfd = -1;
		goto out;
	}
	R->target_starttime = proc_starttime(R->target.pid);
	vlog(R, "target %s is pid %d", o->argv[0], (int)R->target.pid);
	chaos_hist_spawn(R->h, R->target.pid);
	ep_add(R, R->target.pidfd, EP(K_TARGET, 0));
	ep_add(R, R->target.out_fd, EP(K_TARGET_OUT, 0));
out:
	free_env(env);
	if (errfd >= 0)
		close(errfd);
	return ret;
}

/* The end of an interrupted run, started or not: diagnostics first, then
 * everything is removed. */
static void end_interrupted(struct run *R)
{
	vlog(R, "interrupted: tearing the run down");
	capture_diag(R);
	teardown(R);
	snprintf(R->r->reason, sizeof(R->r->reason), "interrupted before the run ended");
	finish(R, CHAOS_RUN_INTERRUPTED, R->r->reason);
}

/* Why scenario fault f never fired, into buf. */
static void unfired_reason(const struct run *R, const struct chaos_fault *f, char *buf,
			   size_t len)
{
	double end_s = (double)now_ms(R) / 1000.0;
	uint32_t attempt = f->attempt;

	switch (f->kind) {
	case CHAOS_FAULT_ON_START:
		if (R->attempts[f->task] < (attempt ? attempt : 1)) {
			if (attempt > 1)
				snprintf(buf, len, "not fired: task %u attempt %u never started",
					 f->task, attempt);
			else
				snprintf(buf, len, "not fired: task %u never started", f->task);
			return;
		}
		break;
	case CHAOS_FAULT_AFTER_STARTS:
		if (R->nstarts < f->starts) {
			snprintf(buf, len, "not fired: %llu task starts, fewer than starts = %u",
				 (unsigned long long)R->nstarts, f->starts);
			return;
		}
		break;
	case CHAOS_FAULT_ON_END:
		if (attempt > 1)
			snprintf(buf, len, "not fired: task %u attempt %u never ended", f->task,
				 attempt);
		else
			snprintf(buf, len, "not fired: task %u never ended", f->task);
		return;
	default:
		if (f->from == CHAOS_FROM_FIRST_START && R->first_start_ms < 0) {
			snprintf(buf, len, "not fired: no task started");
			return;
		}
		break;
	}
	snprintf(buf, len, "not fired: run ended at %.1f s", end_s);
}

/* One `fault` event with ok false for every scenario fault that wrote
 * none, so that the checker can tell a fault that did nothing from one
 * that did what it should. */
static void report_unfired(struct run *R)
{
	char why[128];
	size_t k;

	for (k = 0; k < R->sc->nfaults; k++) {
		const struct chaos_fault *f = &R->sc->faults[k];
		struct shot s = shot_of(R, k);
		long task = f->kind == CHAOS_FAULT_ON_START || f->kind == CHAOS_FAULT_ON_END
				    ? (long)f->task
				    : -1;

		if (R->fault_seen[k])
			continue;
		unfired_reason(R, f, why, sizeof(why));
		emit_fault(R, &s, f->signo, 0, task, 0, why, NULL, NULL);
	}
}

/* After the loop: the verdict of the run from how it ended. */
static void end_run(struct run *R)
{
	struct chaos_run_result *r = R->r;

	report_unfired(R);
	if (R->interrupted) {
		end_interrupted(R);
		return;
	}
	if (R->hang) {
		vlog(R, "deadline of %u ms passed", R->sc->deadline_ms);
		chaos_hist_deadline(R->h, R->sc->deadline_ms);
		capture_diag(R);
		teardown(R);
		if (R->kit_only && R->first_start_ms < 0)
			snprintf(r->reason, sizeof(r->reason),
				 "no task started within the startup bound of %u ms",
				 R->sc->startup_ms);
		else
			snprintf(r->reason, sizeof(r->reason),
				 "no end within the deadline of %u ms%s", R->sc->deadline_ms,
				 R->kit_only ? " after the first task start" : "");
		finish(R, CHAOS_RUN_HANG, r->reason);
		return;
	}
	report_leftovers(R);
	teardown(R);
	if (R->saw_done) {
		finish(R, CHAOS_RUN_DONE, NULL);
	} else if (R->saw_aborted) {
		finish(R, CHAOS_RUN_ABORTED, NULL);
	} else {
		if (WIFSIGNALED(R->target_status))
			snprintf(r->reason, sizeof(r->reason),
				 "target killed by %s without printing done",
				 chaos_signal_name(WTERMSIG(R->target_status)));
		else
			snprintf(r->reason, sizeof(r->reason),
				 "target exited with code %d without printing done%s",
				 WEXITSTATUS(R->target_status),
				 R->saw_unsupported ? " (it said unsupported)" : "");
		finish(R, CHAOS_RUN_CRASHED, r->reason);
	}
}

/* An internal error after the run began: still leave nothing behind, and
 * say so at the end of the history. */
static void end_failed(struct run *R)
{
	teardown(R);
	snprintf(R->r->reason, sizeof(R->r->reason), "internal error: %.480s", last_error);
	finish(R, CHAOS_RUN_CRASHED, R->r->reason);
}

int chaos_run(const struct chaos_run_opts *o, struct chaos_run_result *r)
{
	struct run *R;
	int ret;

	memset(r, 0, sizeof(*r));
	last_error[0] = '\0';
	R = run_new(o, r);
	if (!R) {
		set_error("out of memory");
		return -ENOMEM;
	}
	ret = run_open(R);
	if (ret == 0)
		ret = run_environment(R);
	if (ret || (!R->cg && skip_without_memcg(R)))
		goto out;
	ret = run_prepare(R);
	/* The target is not started at all if the run was interrupted while
	 * it was being set up. */
	if (ret == 0 && intr_flag) {
		R->interrupted = 1;
		end_interrupted(R);
		goto out;
	}
	if (ret == 0)
		ret = run_spawn(R);
	if (ret) {
		end_failed(R);
		goto out;
	}
	event_loop(R);
	end_run(R);
out:
	if (ret && R->cg)
		teardown(R);
	free_run(R);
	free(R);
	return ret;
}
