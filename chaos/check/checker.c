/* The checker: turns one run's history (docs/protocol.md section 3) into a
 * verdict per expectation of the scenario. It reads only the history file,
 * so every rule here is tested on recorded or hand-written histories.
 *
 * The history is read in one pass into a per-task summary (starts, deaths,
 * outcome lines), a per-fault summary (what each scenario fault hit) and
 * the pool's pace (when tasks ended); each check then looks only at that
 * summary, and the cell is decided from the checks and what the faults did.
 */
#include "check/checker.h"

#include "check/history_read.h"
#include "check/outcome.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

/* A history of a run that fits the deadlines of our suites is a few
 * thousand lines; the cap only stops a runaway file from eating memory. */
#define CK_MAX_LINES 2000000u
/* Distinct ids beyond the scenario's tasks kept from killed-tasks lines: a
 * few are enough for the evidence, and each one already fails the check. */
#define CK_MAX_EXTRA_KILLED 64u

enum out_kind {
	OUT_NONE = 0,
	OUT_RESULT,
	OUT_LOST,
	OUT_ERROR,
};

struct task_sum {
	uint32_t starts;	 /* start events */
	uint32_t last_attempt;	 /* highest attempt seen in a start event */
	int killed;		 /* a death event names this task */
	int by_signal;		 /* ... and says the worker died by a signal */
	int maybe_signal;	 /* ... or could not say how it died */
	uint32_t killed_attempt; /* highest attempt a death event names */
	enum out_kind out;	 /* first outcome line for this id */
	int64_t value;		 /* its value, for OUT_RESULT */
	unsigned nout;		 /* outcome lines for this id */
	int64_t dup_value;	 /* value of the second line, when both are results */
	enum out_kind dup_kind;
	int pool_named;		 /* a killed-tasks line names this task */
	int progressed;		 /* an end event or an outcome line names it */
	int in_transit;		 /* its worker died after the task's end, with no task
				    started since: the result may have been lost on
				    its way to the pool */
};

/* What the fault events of one scenario fault say it did. */
struct fault_sum {
	int fired;     /* a signal was delivered (stress-ng started) */
	int hit_task;  /* ... to a process running a task */
	int hit_main;  /* ... to the target's main process */
	pid_t pid;     /* the first victim */
	char why[160]; /* why it did not fire, from its first failed event */
};

/* A process the history names as a worker, and when it died (< 0: no death
 * event), for no-orphans. */
struct worker_sum {
	pid_t pid;
	double death_t;
	long long ended; /* the task it ended last, -1 once it starts another */
};

struct hist {
	const struct chaos_scenario *sc;
	struct task_sum *t;
	unsigned lines;	    /* complete lines read */
	int truncated;	    /* the last line was cut mid-object */
	unsigned bad_lines; /* complete lines that were not JSON objects */

	int have_end_run;
	char verdict[16];
	char end_reason[256];
	int deadline_ms;

	int printed_done;
	int printed_aborted;
	double aborted_t;
	int printed_unsupported;
	char unsupported_text[256];

	int have_killed_line;
	uint64_t *pool_killed; /* distinct ids from killed-tasks lines */
	size_t npool_killed;
	uint64_t pool_extra[CK_MAX_EXTRA_KILLED]; /* ... of which are not task ids */
	size_t npool_extra;
	long long bad_outcome_lineno; /* last outcome line refused here, or 0 */
	struct chaos_outcome oc; /* scratch for the parser: its id list is big */

	pid_t signalled[64]; /* PIDs a fault signal reached (ok: true) */
	unsigned nsignalled;

	double first_death_t; /* < 0: none */
	double first_fail_t;  /* < 0: none */

	/* First instance of each kind of wrong-doing, for the evidence. */
	char invented[200];
	char oom_unconfirmed[200];
	unsigned oom_confirmed;
	char late_start[200];
	char protocol[300];
	unsigned nprotocol;
	char leftover[200];
	int have_teardown;
	int teardown_ok;
	char teardown_error[200];

	pid_t main_pid;	       /* spawn: the target's main process */
	pid_t stress_pid;      /* the pressure fault's stress-ng */
	struct fault_sum *fs;  /* one per fault of the scenario */
	int fired_before_exit; /* a fault reached a process before the target exited */
	int have_target_exit;
	char exit_text[64];	/* "exited with code 1", "was killed by SIGSEGV" */
	double first_start_t;	/* < 0: no task ever started */
	unsigned nprogress;	/* end, fail and outcome events */
	double last_progress_t; /* < 0: none */
	double max_gap;		/* longest quiet time between two of them */
	double deadline_t;	/* < 0: no deadline event */
	unsigned oom_task_hits; /* deaths confirmed as OOM kills of a task's worker */
	unsigned oom_events;	/* oom counter increases */
	double main_kill_t;	/* first SIGKILL a fault sent the main process; < 0: none */
	unsigned idle_deaths;	/* workers that died running no task */
	struct worker_sum *wk;
	size_t nwk, wkcap;
	char early_protocol[300]; /* a line the contract does not know, before any start */
};

/* ---- small helpers ------------------------------------------------------ */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void fmt_set(char *buf, size_t len, const uint64_t *ids, size_t n)
{
	size_t i, off;

	snprintf(buf, len, "{");
	for (i = 0; i < n; i++) {
		off = strlen(buf);
		if (off + 1 >= len)
			break;
		snprintf(buf + off, len - off, "%s%llu", i ? "," : "", (unsigned long long)ids[i]);
	}
	off = strlen(buf);
	if (off + 1 < len)
		snprintf(buf + off, len - off, "}");
}

static void set_once(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_once(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (buf[0])
		return;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

/* Does attempt a of task t misbehave (exit, fail, hang, ...)? */
static int misbehaves(const struct chaos_task_spec *t, uint32_t a)
{
	if (t->action == CHAOS_ACT_OK)
		return 0;
	return t->times == 0 || a <= t->times;
}

/* Was attempt a of task t meant to be OOM-killed? */
static int meant_oom(const struct chaos_scenario *sc, const struct chaos_task_spec *t, uint32_t a)
{
	if (sc->mem_mode == CHAOS_MEM_NONE || t->alloc_bytes < sc->mem_limit)
		return 0;
	return t->times == 0 || a <= t->times;
}

/* Does attempt a of task t kill itself by a signal? */
static int self_kills(const struct chaos_task_spec *t, uint32_t a)
{
	return (t->action == CHAOS_ACT_SELFKILL || t->action == CHAOS_ACT_SEGV) &&
	       misbehaves(t, a);
}

static int was_signalled(const struct hist *h, pid_t pid)
{
	for (unsigned i = 0; i < h->nsignalled; i++) {
		if (h->signalled[i] == pid)
			return 1;
	}
	return 0;
}

/* ---- reading ------------------------------------------------------------ */

/* Is the first word of line one of the outcome grammar's? A line that
 * starts otherwise is not a malformed outcome but something else the
 * adapter wrote to stdout. */
static int contract_word(const char *line)
{
	static const char *const words[] = {"result",  "lost",	      "error", "killed-tasks",
					    "aborted", "unsupported", "done"};
	size_t n = strcspn(line, " ");

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strlen(words[i]) == n && !strncmp(words[i], line, n))
			return 1;
	return 0;
}

static void protocol_error(struct hist *h, long long lineno, const char *line, const char *text)
{
	/* Before any task started the pool has done nothing yet: a line
	 * outside the contract then is the adapter's (a banner, an import's
	 * warning on stdout), and the run says nothing about the pool. */
	if (h->first_start_t < 0 && line && !contract_word(line))
		set_once(h->early_protocol, sizeof(h->early_protocol),
			 "protocol: line %lld '%.80s' before any task started (%s)", lineno, line,
			 text);
	h->nprotocol++;
	set_once(h->protocol, sizeof(h->protocol), "protocol: line %lld '%.80s' (%s)", lineno,
		 line ? line : "", text);
}

/* Remember the ids of a killed-tasks line as a set: a pool may print the
 * list more than once, and a hostile one many times, so the set is bounded
 * by the scenario's tasks plus a few ids that do not exist. */
static int add_pool_killed(struct hist *h, const struct chaos_outcome *o)
{
	uint64_t *nk;
	uint32_t i;

	if (!o->nkilled)
		return 0;
	nk = realloc(h->pool_killed, (h->npool_killed + o->nkilled) * sizeof(*nk));
	if (!nk)
		return -ENOMEM;
	h->pool_killed = nk;
	for (i = 0; i < o->nkilled; i++) {
		uint32_t id = o->killed[i];

		if (id < h->sc->ntasks) {
			if (h->t[id].pool_named)
				continue;
			h->t[id].pool_named = 1;
		} else {
			size_t j;
			int seen = 0;

			for (j = 0; j < h->npool_extra && !seen; j++)
				seen = h->pool_extra[j] == id;
			if (seen || h->npool_extra >= CK_MAX_EXTRA_KILLED)
				continue;
			h->pool_extra[h->npool_extra++] = id;
		}
		nk[h->npool_killed++] = id;
	}
	return 0;
}

static void record_outcome_for(struct hist *h, uint64_t id, enum out_kind k, int64_t value)
{
	struct task_sum *t;

	if (id >= h->sc->ntasks) {
		set_once(h->invented, sizeof(h->invented), "%s for task %llu which does not exist",
			 k == OUT_RESULT ? "result"
			 : k == OUT_LOST ? "lost"
					 : "error",
			 (unsigned long long)id);
		return;
	}
	t = &h->t[id];
	t->progressed = 1;
	t->nout++;
	if (t->nout == 1) {
		t->out = k;
		t->value = value;
	} else if (t->nout == 2) {
		t->dup_kind = k;
		t->dup_value = value;
	}
}

/* Interpret one adapter output line (the `outcome` event) with the parser
 * the controller validated it with, chaos_outcome_parse(): one grammar, so
 * the two cannot disagree on what a correct adapter printed. The line is
 * taken with its length: a NUL byte in it is refused, not a line end. */
static int record_outcome(struct hist *h, const char *line, size_t len, long long lineno,
			  double t)
{
	struct chaos_outcome *o = &h->oc;
	char err[256], shown[128];
	size_t i;

	if (chaos_outcome_parse(line, len, o, err, sizeof(err))) {
		char text[300];

		/* The evidence quotes the line: NUL bytes would end it early. */
		for (i = 0; i < len && i + 1 < sizeof(shown); i++)
			shown[i] = line[i] ? line[i] : '?';
		shown[i] = '\0';
		snprintf(text, sizeof(text), "not an outcome line: %s", err);
		protocol_error(h, lineno, shown, text);
		h->bad_outcome_lineno = lineno;
		return 0;
	}
	switch (o->kind) {
	case CHAOS_OUT_DONE:
		h->printed_done = 1;
		break;
	case CHAOS_OUT_ABORTED:
		if (!h->printed_aborted)
			h->aborted_t = t;
		h->printed_aborted = 1;
		break;
	case CHAOS_OUT_UNSUPPORTED:
		h->printed_unsupported = 1;
		snprintf(h->unsupported_text, sizeof(h->unsupported_text), "%.*s",
			 (int)(o->text_len < sizeof(h->unsupported_text) ? o->text_len
									 : sizeof(h->unsupported_text)),
			 o->text ? o->text : "");
		break;
	case CHAOS_OUT_KILLED_TASKS:
		h->have_killed_line = 1;
		return add_pool_killed(h, o);
	case CHAOS_OUT_RESULT:
		record_outcome_for(h, o->task, OUT_RESULT, o->value);
		break;
	case CHAOS_OUT_LOST:
		record_outcome_for(h, o->task, OUT_LOST, 0);
		break;
	case CHAOS_OUT_ERROR:
		record_outcome_for(h, o->task, OUT_ERROR, 0);
		break;
	}
	return 0;
}

/* An event that shows the pool moving on: a task's end or failure, an
 * outcome line. The longest quiet time between two of them (counted from
 * the first task start) is the pool's own pace in this run. */
static void record_progress(struct hist *h, double t)
{
	double prev = h->last_progress_t >= 0 ? h->last_progress_t : h->first_start_t;

	if (prev >= 0 && t - prev > h->max_gap)
		h->max_gap = t - prev;
	h->last_progress_t = t;
	h->nprogress++;
}

static struct worker_sum *worker_find(struct hist *h, pid_t pid)
{
	for (size_t i = 0; i < h->nwk; i++)
		if (h->wk[i].pid == pid)
			return &h->wk[i];
	return NULL;
}

/* Remember a worker for no-orphans; 0 or -ENOMEM. */
static int worker_add(struct hist *h, pid_t pid)
{
	if (pid <= 0 || pid == h->main_pid || worker_find(h, pid))
		return 0;
	if (h->nwk == h->wkcap) {
		size_t nc = h->wkcap ? h->wkcap * 2 : 16;
		struct worker_sum *n = realloc(h->wk, nc * sizeof(*n));

		if (!n)
			return -ENOMEM;
		h->wk = n;
		h->wkcap = nc;
	}
	h->wk[h->nwk].pid = pid;
	h->wk[h->nwk].death_t = -1;
	h->wk[h->nwk].ended = -1;
	h->nwk++;
	return 0;
}

/* The kit's end of a task: its worker now sends the result. */
static void record_end_of(struct hist *h, const struct chaos_hevent *e, long long task)
{
	pid_t pid = (pid_t)chaos_hev_int(e, CHAOS_HF_PID, -1);
	struct worker_sum *w;

	if (worker_add(h, pid) < 0)
		return;
	w = worker_find(h, pid);
	if (w)
		w->ended = task;
}

static void record_start(struct hist *h, const struct chaos_hevent *e)
{
	long long task = chaos_hev_int(e, CHAOS_HF_TASK, -1);
	long long att = chaos_hev_int(e, CHAOS_HF_ATTEMPT, -1);
	struct worker_sum *w;

	if (task < 0)
		return;
	if (h->first_start_t < 0)
		h->first_start_t = e->t;
	w = worker_find(h, (pid_t)chaos_hev_int(e, CHAOS_HF_PID, -1));
	if (w)
		w->ended = -1;
	if ((unsigned long long)task >= h->sc->ntasks) {
		set_once(h->invented, sizeof(h->invented), "task %lld started but does not exist",
			 task);
		return;
	}
	h->t[task].starts++;
	if (att > (long long)h->t[task].last_attempt)
		h->t[task].last_attempt = (uint32_t)att;
	if (h->printed_aborted && e->t > h->aborted_t)
		set_once(h->late_start, sizeof(h->late_start),
			 "abort: task %lld started %.0f ms after aborted", task,
			 (e->t - h->aborted_t) * 1000.0);
}

static void record_death(struct hist *h, const struct chaos_hevent *e)
{
	int oom = chaos_hev_bool(e, CHAOS_HF_OOM);
	long long att = chaos_hev_int(e, CHAOS_HF_ATTEMPT, -1);
	long long task = chaos_hev_int(e, CHAOS_HF_TASK, -1);
	const char *sig = chaos_hev_str(e, CHAOS_HF_SIGNAL, NULL);
	const char *how = chaos_hev_str(e, CHAOS_HF_HOW, NULL);
	const char *role = chaos_hev_str(e, CHAOS_HF_ROLE, NULL);
	pid_t pid = (pid_t)chaos_hev_int(e, CHAOS_HF_PID, -1);
	struct worker_sum *w;

	if (h->first_death_t < 0)
		h->first_death_t = e->t;
	if (oom == 1)
		h->oom_confirmed++;
	if (oom == 1 && task >= 0)
		h->oom_task_hits++;
	/* Newer controllers name the role; older ones only record deaths of
	 * processes that announced a task, or of the main process. */
	if (!role || !strcmp(role, "worker"))
		(void)worker_add(h, pid);
	w = worker_find(h, pid);
	if (w && w->death_t < 0)
		w->death_t = e->t;
	/* A worker a fault killed running no task: it may have been sending
	 * the result of the task it ended last (neither surely done nor surely
	 * killed, so the pool may call it lost or killed), or holding one the
	 * pool had handed it before the kit announced it. Workers the pool
	 * killed itself do not count: what they held the pool lost. */
	if (task < 0 && w && was_signalled(h, pid)) {
		if (w->ended >= 0 && (unsigned long long)w->ended < h->sc->ntasks)
			h->t[w->ended].in_transit = 1;
		h->idle_deaths++;
	}
	if (task < 0 || (unsigned long long)task >= h->sc->ntasks)
		return;
	h->t[task].killed = 1;
	/* A worker that exited with a code failed; it was not killed. The
	 * killed-tasks report must name the kills the scenario caused (a
	 * fault's signal, a confirmed OOM kill, a task told to kill itself)
	 * and may name other signal deaths (a pool killing its own workers on
	 * abort or timeout) and deaths whose cause the controller could not
	 * read. */
	if (att < 0)
		att = h->t[task].last_attempt ? h->t[task].last_attempt : 1;
	if (how && !strcmp(how, "signal") &&
	    (oom == 1 || was_signalled(h, (pid_t)chaos_hev_int(e, CHAOS_HF_PID, -1)) ||
	     self_kills(&h->sc->tasks[task], (uint32_t)att)))
		h->t[task].by_signal = 1;
	else if (!how || strcmp(how, "exit"))
		h->t[task].maybe_signal = 1;
	if ((uint32_t)att > h->t[task].killed_attempt)
		h->t[task].killed_attempt = (uint32_t)att;
	if (meant_oom(h->sc, &h->sc->tasks[task], (uint32_t)att) && oom != 1)
		set_once(h->oom_unconfirmed, sizeof(h->oom_unconfirmed),
			 "oom: task %lld died (%s) but oom_kill did not confirm it (oom: %s)", task,
			 sig ? sig : how ? how : "?", oom == 0 ? "false" : "null");
}

/* The target's stdout line (`outcome`) and the controller's refusal of one
 * (`protocol_error`). */
static int record_output(struct hist *h, const struct chaos_hevent *e)
{
	long long lineno = chaos_hev_int(e, CHAOS_HF_LINENO, -1);
	const char *s;
	size_t len;

	if (e->ev == CHAOS_HEV_OUTCOME) {
		s = chaos_hev_str(e, CHAOS_HF_LINE, &len);
		if (!s) {
			protocol_error(h, lineno, "", "outcome event without a line");
			return 0;
		}
		return record_outcome(h, s, len, lineno, e->t);
	}
	/* The controller records a line it refused twice: as the outcome,
	 * which the same parser refused here already, and as this event.
	 * Count the line once. */
	if (lineno > 0 && lineno == h->bad_outcome_lineno)
		return 0;
	s = chaos_hev_str(e, CHAOS_HF_TEXT, NULL);
	protocol_error(h, lineno, chaos_hev_str(e, CHAOS_HF_LINE, NULL), s ? s : "protocol error");
	return 0;
}

/* A string field copied into buf, dflt when it is not a string. */
static void copy_str(char *buf, size_t len, const struct chaos_hevent *e, enum chaos_hf f,
		     const char *dflt)
{
	const char *s = chaos_hev_str(e, f, NULL);

	snprintf(buf, len, "%s", s ? s : dflt);
}

/* The events of the run's end: leftovers, teardown, deadline, end_run. */
static void record_end(struct hist *h, const struct chaos_hevent *e)
{
	const char *s;

	switch (e->ev) {
	case CHAOS_HEV_LEFTOVER:
		s = chaos_hev_str(e, CHAOS_HF_COMM, NULL);
		set_once(h->leftover, sizeof(h->leftover),
			 "process %lld (%s) was left in the run cgroup",
			 chaos_hev_int(e, CHAOS_HF_PID, -1), s ? s : "?");
		break;
	case CHAOS_HEV_TEARDOWN:
		h->have_teardown = 1;
		h->teardown_ok = chaos_hev_bool(e, CHAOS_HF_OK) == 1;
		copy_str(h->teardown_error, sizeof(h->teardown_error), e, CHAOS_HF_ERROR,
			 "no reason given");
		break;
	case CHAOS_HEV_DEADLINE:
		h->deadline_ms = (int)chaos_hev_int(e, CHAOS_HF_DEADLINE_MS, -1);
		if (h->deadline_t < 0)
			h->deadline_t = e->t;
		break;
	case CHAOS_HEV_TARGET_EXIT:
		h->have_target_exit = 1;
		s = chaos_hev_str(e, CHAOS_HF_HOW, NULL);
		if (s && !strcmp(s, "signal"))
			snprintf(h->exit_text, sizeof(h->exit_text), "was killed by %.24s",
				 chaos_hev_str(e, CHAOS_HF_SIGNAL, NULL)
				     ? chaos_hev_str(e, CHAOS_HF_SIGNAL, NULL)
				     : "a signal");
		else
			snprintf(h->exit_text, sizeof(h->exit_text), "exited with code %lld",
				 chaos_hev_int(e, CHAOS_HF_CODE, -1));
		break;
	case CHAOS_HEV_OOM:
		h->oom_events++;
		break;
	case CHAOS_HEV_END_RUN:
		h->have_end_run = 1;
		copy_str(h->verdict, sizeof(h->verdict), e, CHAOS_HF_VERDICT, "");
		copy_str(h->end_reason, sizeof(h->end_reason), e, CHAOS_HF_REASON, "");
		break;
	default:
		break;
	}
}

/* The history's name of each scenario fault kind, for histories whose
 * fault events do not carry the scenario's fault index. */
static const struct {
	enum chaos_fault_kind kind;
	const char *file; /* the scenario file's name */
	const char *hist; /* `kind` of the fault event */
} fault_names[] = {
    {CHAOS_FAULT_ON_START, "kill-on-start", "on-start"},
    {CHAOS_FAULT_AT_TIME, "kill-at", "at-time"},
    {CHAOS_FAULT_EVERY, "kill-every", "every"},
    {CHAOS_FAULT_ALL_AT, "kill-all-at", "all-at"},
    {CHAOS_FAULT_PRESSURE, "pressure", "pressure"},
    {CHAOS_FAULT_AFTER_STARTS, "kill-after-starts", "after-starts"},
    {CHAOS_FAULT_ON_END, "kill-on-end", "on-end"},
};

static const char *fault_name(enum chaos_fault_kind k, int hist)
{
	for (size_t i = 0; i < sizeof(fault_names) / sizeof(fault_names[0]); i++)
		if (fault_names[i].kind == k)
			return hist ? fault_names[i].hist : fault_names[i].file;
	return "?";
}

/* May a fault event without a fault index belong to scenario fault f? By
 * its kind, and for faults of one task by the task. */
static int fault_matches(const struct chaos_fault *f, const char *kind, long long task)
{
	if (!kind || strcmp(kind, fault_name(f->kind, 1)))
		return 0;
	if ((f->kind == CHAOS_FAULT_ON_START || f->kind == CHAOS_FAULT_ON_END) && task >= 0)
		return (uint32_t)task == f->task;
	return 1;
}

static void fault_credit(struct fault_sum *fs, const struct chaos_hevent *e, pid_t pid,
			 long long task, int main_hit)
{
	const char *err;

	if (chaos_hev_bool(e, CHAOS_HF_OK) == 1 && pid > 0) {
		if (!fs->fired)
			fs->pid = pid;
		fs->fired = 1;
		fs->hit_task |= task >= 0;
		fs->hit_main |= main_hit;
		return;
	}
	err = chaos_hev_str(e, CHAOS_HF_ERROR, NULL);
	if (err && !strncmp(err, "not fired: ", 11))
		err += 11;
	set_once(fs->why, sizeof(fs->why), "%s", err ? err : "no reason given");
}

/* A fault event: whom it reached, for killed-tasks, no-orphans and what
 * each scenario fault did. */
static void record_fault(struct hist *h, const struct chaos_hevent *e)
{
	pid_t pid = (pid_t)chaos_hev_int(e, CHAOS_HF_PID, -1);
	long long task = chaos_hev_int(e, CHAOS_HF_TASK, -1);
	long long idx = chaos_hev_int(e, CHAOS_HF_FAULT, -1);
	const char *kind = chaos_hev_str(e, CHAOS_HF_KIND, NULL);
	const char *role = chaos_hev_str(e, CHAOS_HF_ROLE, NULL);
	const char *sig = chaos_hev_str(e, CHAOS_HF_SIGNAL, NULL);
	int ok = chaos_hev_bool(e, CHAOS_HF_OK) == 1 && pid > 0;
	/* Older histories have no role: the spawn pid is the main process. */
	int main_hit = ok && (role ? !strcmp(role, "main") : pid == h->main_pid);

	/* Remember whom the scenario's faults reached: their deaths are
	 * kills the pool must report. A full table only loses the "must"
	 * for later victims; they stay "may". */
	if (ok && h->nsignalled < sizeof(h->signalled) / sizeof(h->signalled[0]))
		h->signalled[h->nsignalled++] = pid;
	if (ok && !h->have_target_exit)
		h->fired_before_exit = 1;
	if (ok && kind && !strcmp(kind, "pressure"))
		h->stress_pid = pid;
	if (main_hit && sig && !strcmp(sig, "SIGKILL") && h->main_kill_t < 0)
		h->main_kill_t = e->t;
	if (chaos_hev_get(e, CHAOS_HF_FAULT)) {
		/* null: a SIGCONT the controller sent on its own. */
		if (idx >= 0 && (size_t)idx < h->sc->nfaults)
			fault_credit(&h->fs[idx], e, pid, task, main_hit);
		return;
	}
	for (size_t i = 0; i < h->sc->nfaults; i++)
		if (fault_matches(&h->sc->faults[i], kind, task))
			fault_credit(&h->fs[i], e, pid, task, main_hit);
}

static int record_event(struct hist *h, const struct chaos_hevent *e)
{
	long long task;

	switch (e->ev) {
	case CHAOS_HEV_SPAWN:
		h->main_pid = (pid_t)chaos_hev_int(e, CHAOS_HF_PID, -1);
		break;
	case CHAOS_HEV_WORKER:
		return worker_add(h, (pid_t)chaos_hev_int(e, CHAOS_HF_PID, -1));
	case CHAOS_HEV_START:
		record_start(h, e);
		break;
	case CHAOS_HEV_FAULT:
		record_fault(h, e);
		break;
	case CHAOS_HEV_END:
	case CHAOS_HEV_FAIL:
		if (e->ev == CHAOS_HEV_FAIL && h->first_fail_t < 0)
			h->first_fail_t = e->t;
		task = chaos_hev_int(e, CHAOS_HF_TASK, -1);
		if (task >= 0 && (unsigned long long)task < h->sc->ntasks)
			h->t[task].progressed = 1;
		if (e->ev == CHAOS_HEV_END)
			record_end_of(h, e, task);
		record_progress(h, e->t);
		break;
	case CHAOS_HEV_DEATH:
		record_death(h, e);
		break;
	case CHAOS_HEV_OUTCOME:
		record_progress(h, e->t);
		return record_output(h, e);
	case CHAOS_HEV_PROTOCOL_ERROR:
		return record_output(h, e);
	default:
		record_end(h, e);
		break;
	}
	return 0;
}

/* Read the history with the one history reader. An event that does not
 * match the schema is still taken for what its fields say: the checker
 * judges the pool, and a history from an older controller must keep its
 * verdict. */
static int read_history(struct hist *h, const char *path)
{
	struct chaos_hread *rd = NULL;
	struct chaos_hread_stats st;
	struct chaos_hevent e;
	int r;

	r = chaos_hread_open(path, &rd);
	if (r)
		return r;
	while (h->lines < CK_MAX_LINES && (r = chaos_hread_next(rd, &e)) == 1) {
		h->lines++;
		r = record_event(h, &e);
		if (r)
			break;
	}
	chaos_hread_stats(rd, &st);
	h->truncated = st.truncated;
	h->bad_lines = st.bad_lines;
	chaos_hread_close(rd);
	return r < 0 ? r : 0;
}

/* ---- the checks --------------------------------------------------------- */

static int fail_check(struct chaos_check *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int fail_final(struct chaos_check *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void fail_v(struct chaos_check *c, int definitive, const char *fmt, va_list ap)
{
	c->ok = 0;
	c->definitive = definitive;
	vsnprintf(c->evidence, sizeof(c->evidence), fmt, ap);
}

/* A failure that more time might have cured (an outcome still missing). */
static int fail_check(struct chaos_check *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fail_v(c, 0, fmt, ap);
	va_end(ap);
	return 0;
}

/* A failure no later event can undo (a line printed, a cap passed): it
 * names the guarantee even when the run then hit its deadline. */
static int fail_final(struct chaos_check *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fail_v(c, 1, fmt, ap);
	va_end(ap);
	return 0;
}

static void check_hang_free(const struct hist *h, struct chaos_check *c)
{
	if (!h->have_end_run) {
		fail_check(c,
			   "hang-free: the history ends after %u lines without end_run (cut short)",
			   h->lines);
		return;
	}
	if (!strcmp(h->verdict, "hang")) {
		fail_check(c, "hang-free: the run hit its deadline of %d ms",
			   h->deadline_ms > 0 ? h->deadline_ms : (int)h->sc->deadline_ms);
		return;
	}
	if (strcmp(h->verdict, "done") && strcmp(h->verdict, "aborted")) {
		fail_check(c, "hang-free: the run ended as %s%s%s",
			   h->verdict[0] ? h->verdict : "?", h->end_reason[0] ? ": " : "",
			   h->end_reason);
		return;
	}
	if (!h->printed_done && !h->printed_aborted) {
		fail_check(c, "hang-free: the target never printed done or aborted");
		return;
	}
	if (h->leftover[0])
		fail_check(c, "hang-free: %s", h->leftover);
}

/* Problems that spoil skip and retry alike: protocol errors, results
 * nobody asked for, and ids reported twice. */
static int check_common(const struct hist *h, struct chaos_check *c, const char *name)
{
	uint32_t id;

	if (h->protocol[0])
		return fail_final(c, "%s", h->protocol), 1;
	if (h->invented[0])
		return fail_final(c, "%s: %s", name, h->invented), 1;
	for (id = 0; id < h->sc->ntasks; id++) {
		const struct task_sum *t = &h->t[id];

		if (t->nout < 2)
			continue;
		if (t->out == OUT_RESULT && t->dup_kind == OUT_RESULT && t->value == t->dup_value)
			return fail_final(c, "%s: task %u result %lld appears twice", name, id,
					  (long long)t->value),
			       1;
		return fail_final(c, "%s: task %u has %u outcome lines", name, id, t->nout), 1;
	}
	for (id = 0; id < h->sc->ntasks; id++) {
		if (h->t[id].out == OUT_RESULT && h->t[id].starts == 0)
			return fail_final(c, "%s: result for task %u which never started", name,
					  id),
			       1;
	}
	return 0;
}

static const char *out_name(enum out_kind k)
{
	return k == OUT_LOST ? "lost" : k == OUT_ERROR ? "error" : "result";
}

/* A result for task id whose last attempt a should have had none (it was
 * killed, or meant to misbehave), or the wrong value: the check fails.
 * Skip and retry judge a result alike. Returns 1 when it failed. */
static int result_wrong(const struct hist *h, struct chaos_check *c, const char *name, uint32_t id,
			uint32_t a, int bad)
{
	const struct task_sum *t = &h->t[id];
	const struct chaos_task_spec *spec = &h->sc->tasks[id];

	if (t->killed && t->killed_attempt >= a)
		return fail_final(c,
				  "%s: task %u has result %lld but its last attempt %u was killed",
				  name, id, (long long)t->value, a),
		       1;
	if (bad)
		return fail_final(c, "%s: task %u has result %lld but attempt %u was meant to %s",
				  name, id, (long long)t->value, a,
				  chaos_action_name(spec->action)),
		       1;
	if (t->value != spec->result)
		return fail_final(c, "%s: task %u result %lld, expected %lld", name, id,
				  (long long)t->value, (long long)spec->result),
		       1;
	return 0;
}

static void check_skip(const struct hist *h, struct chaos_check *c)
{
	const struct chaos_scenario *sc = h->sc;
	/* A worker that died running no task may have held one the pool had
	 * handed it and the kit had not announced yet: one such task per idle
	 * death may be reported lost although it never started. */
	unsigned unannounced = h->idle_deaths;
	uint32_t id;

	if (check_common(h, c, "skip"))
		return;
	for (id = 0; id < sc->ntasks; id++) {
		const struct task_sum *t = &h->t[id];
		uint32_t a = t->last_attempt ? t->last_attempt : 1;
		int bad = misbehaves(&sc->tasks[id], a);

		switch (t->out) {
		case OUT_RESULT:
			if (result_wrong(h, c, "skip", id, a, bad))
				return;
			break;
		case OUT_LOST:
		case OUT_ERROR:
			if (!t->killed && !t->in_transit && !bad && !t->starts && unannounced) {
				unannounced--;
				break;
			}
			if (!t->killed && !t->in_transit && !bad) {
				fail_final(c, "skip: task %u reported %s but was never killed", id,
					   out_name(t->out));
				return;
			}
			break;
		case OUT_NONE:
			if (t->killed || bad)
				fail_check(c,
					   "skip: task %u was %s and has no outcome (expected lost "
					   "or error)",
					   id, t->killed ? "killed" : "meant to fail");
			else
				fail_check(c, "skip: task %u has no result and was never killed",
					   id);
			return;
		}
	}
}

/* A task started more often than retry allows: a passed cap, or a re-run
 * of a task that was never killed. Judged over every task before any
 * missing outcome, so that the finding is named even when the run then
 * hits its deadline with an earlier task still open. 1 when it failed. */
static int retry_runs_wrong(const struct hist *h, struct chaos_check *c, uint32_t cap)
{
	for (uint32_t id = 0; id < h->sc->ntasks; id++) {
		const struct task_sum *t = &h->t[id];

		if (t->killed && t->starts > cap)
			return fail_final(c, "retry: task %u started %u times, cap %u", id,
					  t->starts, cap),
			       1;
		if (!t->killed && !t->in_transit && t->starts > 1)
			return fail_final(c, "retry: task %u ran %u times but was never killed",
					  id, t->starts),
			       1;
	}
	return 0;
}

static void check_retry(const struct hist *h, struct chaos_check *c)
{
	const struct chaos_scenario *sc = h->sc;
	uint32_t cap = 1 + sc->retries, id;

	if (check_common(h, c, "retry") || retry_runs_wrong(h, c, cap))
		return;
	for (id = 0; id < sc->ntasks; id++) {
		const struct task_sum *t = &h->t[id];
		uint32_t a = t->last_attempt ? t->last_attempt : 1;
		int bad = misbehaves(&sc->tasks[id], a);

		switch (t->out) {
		case OUT_RESULT:
			if (result_wrong(h, c, "retry", id, a, bad))
				return;
			break;
		case OUT_LOST:
		case OUT_ERROR:
			/* Giving up is right only when the task cannot succeed
			 * or every allowed attempt was used. */
			if (bad || (t->killed && t->starts >= cap))
				break;
			if (t->killed)
				fail_check(
				    c, "retry: task %u reported %s after %u of %u allowed attempts",
				    id, out_name(t->out), t->starts, cap);
			else
				fail_check(c, "retry: task %u reported %s but was never killed", id,
					   out_name(t->out));
			return;
		case OUT_NONE:
			fail_check(c, "retry: task %u has no result%s", id,
				   t->killed ? " after its worker was killed"
					     : " and was never killed");
			return;
		}
	}
}

static void check_abort(const struct hist *h, struct chaos_check *c)
{
	double first = h->first_death_t >= 0 ? h->first_death_t : h->first_fail_t;
	double ms;

	if (!h->printed_aborted) {
		fail_check(c, "abort: the pool never printed aborted");
		return;
	}
	if (first < 0) {
		fail_check(c, "abort: aborted although no worker died and no task failed");
		return;
	}
	ms = (h->aborted_t - first) * 1000.0;
	if (ms > h->sc->abort_within_ms) {
		fail_final(c, "abort: aborted %.0f ms after the first %s, bound %u ms", ms,
			   h->first_death_t >= 0 ? "death" : "failure", h->sc->abort_within_ms);
		return;
	}
	if (h->late_start[0])
		fail_final(c, "%s", h->late_start);
}

static void check_killed(const struct hist *h, struct chaos_check *c)
{
	uint64_t *must, *may, *pool = h->pool_killed;
	size_t nmust = 0, nmay = 0, np = 0, i;
	char a[200], b[200], m[240] = "";
	uint32_t id;
	int bad = 0;

	must = calloc(h->sc->ntasks, sizeof(*must));
	may = calloc(h->sc->ntasks, sizeof(*may));
	if (!must || !may) {
		fail_check(c, "killed-tasks: out of memory");
		goto out;
	}
	/* The pool may name a task twice (two deaths of one task under
	 * retry); it is a set, so duplicates collapse. */
	if (h->npool_killed)
		qsort(pool, h->npool_killed, sizeof(*pool), cmp_u64);
	for (i = 0; i < h->npool_killed; i++) {
		if (np == 0 || pool[np - 1] != pool[i])
			pool[np++] = pool[i];
	}
	/* Must: the kills the scenario caused. May: other signal deaths and
	 * deaths of unknown cause (the pool may know better than /proc). */
	for (id = 0; id < h->sc->ntasks; id++) {
		int named = np && bsearch(&(uint64_t){id}, pool, np, sizeof(*pool), cmp_u64);

		if (h->t[id].by_signal) {
			must[nmust++] = id;
			bad |= !named;
		} else if (h->t[id].maybe_signal || h->t[id].in_transit ||
			   (!h->t[id].starts && h->idle_deaths)) {
			may[nmay++] = id;
		} else {
			bad |= named;
		}
	}
	for (i = 0; i < np; i++)
		bad |= pool[i] >= h->sc->ntasks;
	fmt_set(b, sizeof(b), must, nmust);
	if (nmay) {
		fmt_set(a, sizeof(a), may, nmay);
		snprintf(m, sizeof(m), " (and may name %s)", a);
	}
	if (!h->have_killed_line) {
		fail_check(c, "killed-tasks: the pool printed no killed-tasks line, history says %s%s",
			   b, m);
	} else if (bad) {
		fmt_set(a, sizeof(a), pool, np);
		fail_check(c, "killed-tasks: pool says %s, history says %s%s", a, b, m);
	}
out:
	free(must);
	free(may);
}

static void check_oom(const struct hist *h, struct chaos_check *c)
{
	if (h->oom_unconfirmed[0])
		fail_final(c, "%s", h->oom_unconfirmed);
	else if (!h->oom_confirmed && !h->oom_events)
		fail_check(c, "oom: no death was confirmed as an OOM kill");
	/* The counter rose but no worker's death was the OOM kill: the killer
	 * chose another process (stress-ng). Not the pool's doing; the cell
	 * says UNEXERCISED. */
}

static void check_leftovers(const struct hist *h, struct chaos_check *c)
{
	if (h->leftover[0])
		fail_check(c, "no-leftovers: %s", h->leftover);
	else if (!h->have_teardown)
		fail_check(c, "no-leftovers: the history has no teardown event");
	else if (!h->teardown_ok)
		fail_check(c, "no-leftovers: teardown failed: %s", h->teardown_error);
}

/* After a fault SIGKILLed the main process, every worker alive then must
 * be gone within orphans-within: a death event later than that, a worker
 * still running at the deadline, or a leftover fails. A worker with
 * neither a death event nor a leftover was gone before the leftover scan.
 * Without such a kill there is nothing to judge (the cell says
 * UNEXERCISED). */
static void check_no_orphans(const struct hist *h, struct chaos_check *c)
{
	const struct worker_sum *worst = NULL;
	double bound = h->sc->orphans_within_ms / 1000.0, worst_dt = 0;
	int at_deadline = 0;

	if (h->main_kill_t < 0)
		return;
	for (size_t i = 0; i < h->nwk; i++) {
		const struct worker_sum *w = &h->wk[i];
		double dt;

		if (w->death_t >= 0 && w->death_t < h->main_kill_t)
			continue;
		if (w->death_t >= 0)
			dt = w->death_t - h->main_kill_t;
		else if (h->deadline_t >= 0)
			dt = h->deadline_t - h->main_kill_t;
		else
			continue;
		if (dt > bound && dt > worst_dt) {
			worst = w;
			worst_dt = dt;
			at_deadline = w->death_t < 0;
		}
	}
	if (worst && at_deadline)
		fail_final(c,
			   "no-orphans: worker %d was still running at the deadline, %.1f s "
			   "after the main process was killed (bound %u ms)",
			   (int)worst->pid, worst_dt, h->sc->orphans_within_ms);
	else if (worst)
		fail_final(
		    c, "no-orphans: worker %d outlived the main process by %.1f s (bound %u ms)",
		    (int)worst->pid, worst_dt, h->sc->orphans_within_ms);
	else if (h->leftover[0])
		fail_final(c, "no-orphans: %s after the main process was killed", h->leftover);
}

const char *chaos_cell_name(enum chaos_cell c)
{
	switch (c) {
	case CHAOS_CELL_PASS:
		return "PASS";
	case CHAOS_CELL_FAIL:
		return "FAIL";
	case CHAOS_CELL_HANG:
		return "HANG";
	case CHAOS_CELL_UNSUPPORTED:
		return "UNSUPPORTED";
	case CHAOS_CELL_SKIP:
		return "SKIP";
	case CHAOS_CELL_UNEXERCISED:
		return "UNEXERCISED";
	case CHAOS_CELL_ERROR:
		return "ERROR";
	case CHAOS_CELL_SLOW:
		return "SLOW";
	}
	return "?";
}

static void note_add(struct chaos_verdict *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void note_add(struct chaos_verdict *v, const char *fmt, ...)
{
	size_t off = strlen(v->note);
	va_list ap;

	if (off && off + 2 < sizeof(v->note)) {
		snprintf(v->note + off, sizeof(v->note) - off, "; ");
		off += 2;
	}
	if (off + 1 >= sizeof(v->note))
		return;
	va_start(ap, fmt);
	vsnprintf(v->note + off, sizeof(v->note) - off, fmt, ap);
	va_end(ap);
}

/* ---- what the run proved ------------------------------------------------ */

/* Why scenario fault i did not do what its kind claims, into buf; 0 when
 * it did. A fault on workers must have reached a process running a task
 * (for kill-every and kill-all-at, at least one of its signals), a fault on
 * the main process the main process, pressure inside the run an OOM kill
 * of a task's worker. */
static int fault_unexercised(const struct hist *h, size_t i, char *buf, size_t len)
{
	const struct chaos_fault *f = &h->sc->faults[i];
	const struct fault_sum *fs = &h->fs[i];
	char where[48] = "";

	if (f->line > 0)
		snprintf(where, sizeof(where), " at line %d", f->line);
	if (!fs->fired) {
		snprintf(buf, len, "fault %zu (%s%s) did not fire: %s", i, fault_name(f->kind, 0),
			 where, fs->why[0] ? fs->why : "no fault event");
		return 1;
	}
	if (f->kind == CHAOS_FAULT_PRESSURE) {
		if (!f->pressure_inside || h->oom_task_hits)
			return 0;
		if (h->oom_events)
			snprintf(buf, len,
				 "the OOM killer chose stress-ng (pid %d), no task was hit",
				 (int)h->stress_pid);
		else
			snprintf(buf, len,
				 "fault %zu (pressure%s): no OOM kill happened in the run", i,
				 where);
		return 1;
	}
	if (f->signo == SIGCONT || f->victim == CHAOS_VICTIM_ANY)
		return 0;
	if (f->victim == CHAOS_VICTIM_MAIN && !fs->hit_main) {
		snprintf(buf, len, "fault %zu (%s%s) hit pid %d, not the main process %d", i,
			 fault_name(f->kind, 0), where, (int)fs->pid, (int)h->main_pid);
		return 1;
	}
	if (f->victim == CHAOS_VICTIM_WORKER && !fs->hit_task) {
		snprintf(buf, len, "fault %zu (%s%s) %s pid %d, which was running no task", i,
			 fault_name(f->kind, 0), where, f->signo == SIGSTOP ? "stopped" : "hit",
			 (int)fs->pid);
		return 1;
	}
	return 0;
}

/* Why the run did not exercise what the scenario claims, into buf; 0 when
 * it did. Only a PASS is judged so: a failure is the pool's whatever the
 * faults did. */
static int unexercised(const struct hist *h, char *buf, size_t len)
{
	for (size_t i = 0; i < h->sc->nfaults; i++)
		if (fault_unexercised(h, i, buf, len))
			return 1;
	if ((h->sc->expect & CHAOS_EXPECT_OOM) && !h->oom_task_hits) {
		if (h->stress_pid > 0 && h->oom_events)
			snprintf(buf, len,
				 "the OOM killer chose stress-ng (pid %d), no task was hit",
				 (int)h->stress_pid);
		else
			snprintf(buf, len, "no worker running a task was OOM-killed");
		return 1;
	}
	if ((h->sc->expect & CHAOS_EXPECT_NO_ORPHANS) && h->main_kill_t < 0) {
		snprintf(buf, len, "no-orphans: no fault SIGKILLed the main process");
		return 1;
	}
	return 0;
}

/* Did the adapter or the environment fail, rather than the pool? Three
 * rules: the target exited before any task started, without printing
 * done, aborted or unsupported and without any fault having reached it
 * (nothing of the pool was tested: an import error, a crashed adapter, an
 * exception); a target of a scenario file ran into its startup bound
 * without starting a task and
 * without any fault having reached it (a pool that never came up, or an
 * adapter that never hands it work); or it wrote a line the contract does
 * not know before any task started. The reason goes into buf; 0 when none
 * holds. A pool that never starts a task after a fault hit it during its
 * boot stays HANG: that is the pool's failure. */
static int adapter_error(const struct hist *h, char *buf, size_t len)
{
	if (h->first_start_t < 0 && h->have_target_exit && !h->printed_done &&
	    !h->printed_aborted && !h->printed_unsupported && !h->fired_before_exit) {
		snprintf(buf, len, "the target %s before any task started", h->exit_text);
		return 1;
	}
	/* Only a target that follows the adapter contract (a scenario file)
	 * promises to start tasks; a plain program past its deadline is a
	 * HANG whatever it did. */
	if (h->sc->path[0] && h->first_start_t < 0 && h->have_end_run &&
	    !strcmp(h->verdict, "hang") && !h->fired_before_exit && !h->printed_unsupported) {
		snprintf(buf, len,
			 "no task started within %.1f s and no fault had reached the target: "
			 "the pool never came up (a slow import, an adapter that hands out no "
			 "work?)",
			 h->deadline_t >= 0 ? h->deadline_t : h->sc->startup_ms / 1000.0);
		return 1;
	}
	if (h->early_protocol[0]) {
		snprintf(buf, len, "%s", h->early_protocol);
		return 1;
	}
	return 0;
}

/* At the deadline: SLOW when the pool was still moving at its own pace
 * (the quiet time before the deadline is no longer than the longest gap
 * between two progress events before it), else HANG. The reason goes
 * into v's note. */
static enum chaos_cell deadline_cell(const struct hist *h, struct chaos_verdict *v)
{
	double end = h->deadline_t >= 0	  ? h->deadline_t
		     : h->deadline_ms > 0 ? h->deadline_ms / 1000.0
					  : h->sc->deadline_ms / 1000.0;
	unsigned done = 0;

	for (uint32_t id = 0; id < h->sc->ntasks; id++)
		done += h->t[id].progressed != 0;
	if (h->first_start_t < 0) {
		note_add(v, "no task started in %.1f s", end);
		return CHAOS_CELL_HANG;
	}
	if (!h->nprogress) {
		note_add(v, "no progress for %.1f s: no task ended", end - h->first_start_t);
		return CHAOS_CELL_HANG;
	}
	if (end - h->last_progress_t <= h->max_gap) {
		note_add(v,
			 "%u of %u tasks done, last progress %.1f s before the deadline (longest "
			 "gap %.1f s)",
			 done, h->sc->ntasks, end - h->last_progress_t, h->max_gap);
		return CHAOS_CELL_SLOW;
	}
	note_add(v, "no progress for %.1f s (%u of %u tasks done, longest gap before %.1f s)",
		 end - h->last_progress_t, done, h->sc->ntasks, h->max_gap);
	return CHAOS_CELL_HANG;
}

/* The cell from the run's end, the checks and what the faults did; its
 * reason opens the note. Order: SKIP (the run could not decide), ERROR (the
 * adapter failed), then at the deadline FAIL when a check failed for good,
 * else SLOW or HANG; UNSUPPORTED, FAIL, UNEXERCISED (a PASS that proves
 * nothing), PASS. */
static enum chaos_cell decide_cell(const struct hist *h, struct chaos_verdict *v,
				   const struct chaos_check *failed, int definitive)
{
	char why[400];

	if (h->have_end_run && !strcmp(h->verdict, "skipped")) {
		note_add(v, "%s", h->end_reason[0] ? h->end_reason : "skipped");
		return CHAOS_CELL_SKIP;
	}
	if (h->have_end_run && !strcmp(h->verdict, "interrupted")) {
		/* The user stopped the run: it neither passed nor failed. */
		note_add(v, "interrupted%s%s", h->end_reason[0] ? ": " : "", h->end_reason);
		return CHAOS_CELL_SKIP;
	}
	if (adapter_error(h, why, sizeof(why))) {
		note_add(v, "%s", why);
		return CHAOS_CELL_ERROR;
	}
	if (h->have_end_run && !strcmp(h->verdict, "hang"))
		return definitive ? CHAOS_CELL_FAIL : deadline_cell(h, v);
	if (h->printed_unsupported) {
		note_add(v, "%s", h->unsupported_text);
		return CHAOS_CELL_UNSUPPORTED;
	}
	if (failed)
		return CHAOS_CELL_FAIL;
	if (unexercised(h, why, sizeof(why))) {
		note_add(v, "%s", why);
		return CHAOS_CELL_UNEXERCISED;
	}
	return CHAOS_CELL_PASS;
}

/* "FAIL(a,b)" naming every failed guarantee: "FAIL(killed-tasks)" alone
 * would hide whether the pool kept the other results. */
static void fail_text(struct chaos_verdict *v)
{
	size_t len = (size_t)snprintf(v->cell_text, sizeof(v->cell_text), "FAIL(");

	for (unsigned k = 0; k < v->nchecks; k++) {
		if (v->checks[k].ok || len >= sizeof(v->cell_text))
			continue;
		len += (size_t)snprintf(v->cell_text + len, sizeof(v->cell_text) - len, "%s%s",
					len > 5 ? "," : "", v->checks[k].name);
	}
	if (len < sizeof(v->cell_text))
		snprintf(v->cell_text + len, sizeof(v->cell_text) - len, ")");
}

/* Run every check the scenario expects; the first failed one, or NULL. */
static const struct chaos_check *run_checks(const struct hist *h, struct chaos_verdict *v,
					    int *definitive)
{
	static const struct {
		unsigned bit;
		const char *name;
		void (*fn)(const struct hist *, struct chaos_check *);
	} table[] = {
	    {CHAOS_EXPECT_HANG_FREE, "hang-free", check_hang_free},
	    {CHAOS_EXPECT_SKIP, "skip", check_skip},
	    {CHAOS_EXPECT_ABORT, "abort", check_abort},
	    {CHAOS_EXPECT_RETRY, "retry", check_retry},
	    {CHAOS_EXPECT_KILLED_REPORT, "killed-tasks", check_killed},
	    {CHAOS_EXPECT_OOM, "oom", check_oom},
	    {CHAOS_EXPECT_NO_LEFTOVERS, "no-leftovers", check_leftovers},
	    {CHAOS_EXPECT_NO_ORPHANS, "no-orphans", check_no_orphans},
	};
	const struct chaos_check *failed = NULL;

	*definitive = 0;
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		struct chaos_check *c;

		if (!(h->sc->expect & table[i].bit) || v->nchecks >= CHAOS_CHECK_MAX)
			continue;
		c = &v->checks[v->nchecks++];
		c->expect = table[i].bit;
		c->name = table[i].name;
		c->ok = 1;
		table[i].fn(h, c);
		if (!c->ok && !failed)
			failed = c;
		*definitive |= !c->ok && c->definitive;
	}
	return failed;
}

int chaos_check_history(const struct chaos_scenario *sc, const char *history,
			struct chaos_verdict *v)
{
	struct hist h;
	const struct chaos_check *failed;
	int r, definitive;

	memset(v, 0, sizeof(*v));
	memset(&h, 0, sizeof(h));
	if (!sc || !sc->tasks || sc->ntasks == 0)
		return -EINVAL;
	h.sc = sc;
	h.first_death_t = -1;
	h.first_fail_t = -1;
	h.first_start_t = -1;
	h.last_progress_t = -1;
	h.deadline_t = -1;
	h.main_kill_t = -1;
	h.t = calloc(sc->ntasks, sizeof(*h.t));
	h.fs = calloc(sc->nfaults + 1, sizeof(*h.fs));
	r = -ENOMEM;
	if (!h.t || !h.fs)
		goto out;
	r = read_history(&h, history);
	if (r)
		goto out;

	failed = run_checks(&h, v, &definitive);
	/* The cell's own reason comes first in the note, then what the
	 * reader noticed on the way. */
	v->cell = decide_cell(&h, v, failed, definitive);
	if (h.truncated)
		note_add(v, "history cut short after line %u", h.lines);
	if (h.bad_lines)
		note_add(v, "%u history lines were not JSON objects", h.bad_lines);
	if (h.nprotocol)
		note_add(v, "%u protocol error%s, first %s", h.nprotocol,
			 h.nprotocol > 1 ? "s" : "", h.protocol);
	if (v->cell == CHAOS_CELL_FAIL)
		fail_text(v);
	else
		snprintf(v->cell_text, sizeof(v->cell_text), "%s", chaos_cell_name(v->cell));
out:
	free(h.t);
	free(h.fs);
	free(h.wk);
	free(h.pool_killed);
	return r;
}
