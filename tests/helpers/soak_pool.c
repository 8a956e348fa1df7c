/* soak_pool: libsafepool under thousands of real SIGKILLs.
 *
 * The program runs map after map with the skip, abort and retry policies on
 * pools of changing shape (workers, pipelining, batching, backoff) while
 * task attempts are SIGKILLed at random, either by the task itself
 * (raise(SIGKILL)) or by a killer thread of this process (pidfd). Every map
 * is checked against the truth recorded in shared memory: the killed-task
 * list, each outcome and result, attempt counts, the return value, and after
 * each map the absence of zombies; descriptors are counted around every pool
 * and around the whole run. A hang is a failure: every map has a deadline in
 * the pool and a watchdog thread that ends the program if the pool ever
 * ignores it.
 *
 * Usage: soak_pool [--kills N] [--seed S] [--policy skip|abort|retry|all]
 *                  [--max-batch N] [--no-killer] [--map-timeout-ms MS]
 *                  [--max-seconds S] [--quiet]
 * Exit codes: 0 every invariant held; 1 a violation (or the kill target was
 * not reached in time); 2 bad usage or setup failure; 3 a map hung and the
 * watchdog ended the run.
 *
 * Self-kill decisions come from the seed alone (map seed, task, attempt),
 * so a run with --no-killer repeats the same kills; the killer thread adds
 * kills whose timing depends on scheduling, but its choices are drawn from
 * the same seed.
 *
 * The truth, and why it is race-free. Each task owns a record in a
 * MAP_SHARED mapping created before any pool, so every worker (a fork of
 * this process) writes the same memory the checker reads. The record's word
 * holds a token unique to the attempt and a state: RUNNING, FINISHED or
 * KILLING. An attempt stores its pid and attempt number and then RUNNING
 * (release). Whoever wants to kill it (the task itself or the killer thread)
 * must first move the word RUNNING -> KILLING by compare-and-swap; the task
 * must move it RUNNING -> FINISHED the same way before it may return. Only
 * one of the two swaps can succeed, so:
 *  - a kill is recorded (and sent) only while the attempt is provably still
 *    inside the task function, and the attempt can then never complete: when
 *    its FINISHED swap fails it waits for the SIGKILL that is on its way;
 *  - a kill that comes too late (the task already FINISHED) is refused and
 *    neither sent nor recorded, so it is never counted against the task.
 * The kill log entry is written before the signal is sent, and the checker
 * reads the log only after sp_map() returned and the killer thread was
 * disarmed under its mutex, so no recorded kill is missing from the log.
 * The killer opens a pidfd for the recorded pid, checks that the process is
 * a child of ours and still alive, and only then swaps the word: a swap that
 * succeeds on the token it read proves that attempt is still running, so
 * the pid it recorded (and the pidfd opened for it) is that process.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "safepool.h"

#include "../util/testutil.h"

#define SOAK_MAX_TASKS 256
#define SOAK_LOG_CAP 8192 /* kills per map: 256 tasks x 21 attempts fit */
#define SOAK_RETRY_CAP 50 /* max_retries of every pool */
/* Retry maps kill no attempt after this one, so the retry cap is never
 * reached and every task of a retry map must end ok. */
#define SOAK_KILL_MAX_ATTEMPT 20
#define SOAK_DEATH_WAIT_MS 10000 /* a claimed kill must arrive within this */
#define SOAK_MAGIC 0x534f414bu
#define SOAK_MAX_REPORTS 6   /* violation messages printed per map */
#define SOAK_MAX_BAD_MAPS 40 /* failing maps reported at all */

enum { ST_IDLE = 0, ST_RUNNING = 1, ST_FINISHED = 2, ST_KILLING = 3 };
enum { POL_SKIP = 0, POL_ABORT = 1, POL_RETRY = 2, POL_N = 3 };

struct soak_cfg {
	unsigned long kills; /* stop once this many kills were recorded */
	uint64_t seed;
	unsigned policies;  /* bit mask of 1 << POL_* */
	unsigned max_batch; /* largest sp_options.batch tried (1 = never batch) */
	int killer;	    /* use the killer thread as well as self-kills */
	unsigned map_timeout_ms;
	unsigned max_seconds; /* give up (as a failure) after this long */
	int quiet;
	int batch_always; /* every pool batches (when max_batch > 1), not one in four */
};

struct soak_stats {
	unsigned long maps, pools, kills, self_kills, killer_kills;
	unsigned long pol_maps[POL_N], pol_kills[POL_N], pol_tasks[POL_N];
	unsigned long aborted_maps, cancelled, retried_ok, batch_maps;
	unsigned long hangs, zombies, violations, bad_maps, oom_yes, killer_refused;
	long fd_delta;
	double wall_s;
};

/* One task's record in shared memory (see the comment at the top). */
struct trec {
	uint64_t word; /* token << 2 | state */
	pid_t pid;
	uint32_t attempt;
	uint32_t starts;
	uint32_t finishes;
};

/* One recorded kill; valid is stored last so a half-written entry (its
 * writer killed by the pool's own abort) is recognisable. */
struct kent {
	uint32_t valid;
	uint32_t index;
	uint32_t attempt;
	pid_t pid;
	uint32_t by_killer;
};

struct shared {
	uint64_t next_token;
	uint32_t nlog;
	struct kent log[SOAK_LOG_CAP];
	struct trec rec[SOAK_MAX_TASKS];
};

/* The argument of every task: what to do and how to build the result. The
 * per-map parameters travel here because workers are forked once per pool
 * and would not see later changes of globals. */
struct targ {
	uint64_t map_seed;
	uint32_t magic;
	uint32_t index;
	uint32_t self_permille;
	uint32_t kill_max_attempt;
	uint32_t work_us_max;
	uint32_t big_permille;
};

static struct shared *sh;

/* ---- deterministic randomness ---- */

static uint64_t mix(uint64_t x)
{
	x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

struct rng {
	uint64_t s;
};

static uint64_t rng_next(struct rng *r)
{
	r->s += UINT64_C(0x9e3779b97f4a7c15);
	return mix(r->s);
}

static uint32_t rng_below(struct rng *r, uint32_t n)
{
	return n ? (uint32_t)(rng_next(r) % n) : 0;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_us(unsigned us)
{
	struct timespec ts = {us / 1000000, (long)(us % 1000000) * 1000};

	while (us && nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- results ---- */

/* Length of task a's result: mostly small, sometimes over the 64 KiB at
 * which the worker writes a result directly instead of buffering it. */
static size_t result_len(const struct targ *a)
{
	uint64_t h = mix(a->map_seed ^ mix((uint64_t)a->index + 1));

	if (h % 1000 < a->big_permille)
		return 65536 + (size_t)((h >> 20) % 40000);
	return (size_t)((h >> 10) % 97);
}

static uint8_t result_byte(const struct targ *a, size_t k)
{
	uint64_t h = mix(a->map_seed ^ ((uint64_t)a->index << 40) ^ (k / 8));

	return (uint8_t)(h >> (8 * (k % 8)));
}

/* ---- the task (runs in the workers) ---- */

/* The attempt's kill was claimed, so the SIGKILL is on its way: returning
 * would turn a recorded kill into a completion. Wait for it, bounded; exit
 * code 99 (an SP_FAILED outcome) reports a kill that never came. */
__attribute__((noreturn)) static void wait_for_death(void)
{
	for (int i = 0; i < SOAK_DEATH_WAIT_MS; i++)
		sleep_us(1000);
	tu_child_exit(99);
	for (;;)
		;
}

static void log_kill(uint32_t index, uint32_t attempt, pid_t pid, int by_killer)
{
	uint32_t k = __atomic_fetch_add(&sh->nlog, 1, __ATOMIC_ACQ_REL);
	struct kent *e;

	if (k >= SOAK_LOG_CAP)
		return; /* the checker sees nlog over the cap and fails the map */
	e = &sh->log[k];
	e->index = index;
	e->attempt = attempt;
	e->pid = pid;
	e->by_killer = (uint32_t)by_killer;
	__atomic_store_n(&e->valid, 1, __ATOMIC_RELEASE);
}

static int soak_task(const struct sp_task_ctx *ctx, const void *arg, size_t len, void **res,
		     size_t *res_len)
{
	struct targ a;
	struct trec *rec;
	uint64_t tok, running, expect, h;
	unsigned work, before;
	int self_kill;
	pid_t self = getpid();
	uint8_t *buf = NULL;
	size_t n;

	/* The argument sits unaligned in the worker's input buffer. */
	if (len != sizeof(a))
		return 1;
	memcpy(&a, arg, sizeof(a));
	if (a.magic != SOAK_MAGIC || a.index != ctx->index || a.index >= SOAK_MAX_TASKS)
		return 2;
	rec = &sh->rec[a.index];
	tok = __atomic_add_fetch(&sh->next_token, 1, __ATOMIC_RELAXED);
	running = tok << 2 | ST_RUNNING;
	h = mix(a.map_seed ^ mix(((uint64_t)a.index << 32) | ctx->attempt));
	self_kill = ctx->attempt <= a.kill_max_attempt && h % 1000 < a.self_permille;
	work = a.work_us_max ? (unsigned)((h >> 16) % (a.work_us_max + 1)) : 0;
	before = self_kill ? (unsigned)((h >> 40) % (work + 1)) : work / 2;

	__atomic_store_n(&rec->pid, self, __ATOMIC_RELAXED);
	__atomic_store_n(&rec->attempt, ctx->attempt, __ATOMIC_RELAXED);
	__atomic_add_fetch(&rec->starts, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&rec->word, running, __ATOMIC_RELEASE);

	sleep_us(before);
	if (self_kill) {
		expect = running;
		if (__atomic_compare_exchange_n(&rec->word, &expect, tok << 2 | ST_KILLING, 0,
						__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
			log_kill(a.index, ctx->attempt, self, 0);
			raise(SIGKILL);
		}
		wait_for_death(); /* the killer thread claimed it first */
	}
	sleep_us(work - before);

	n = result_len(&a);
	if (n) {
		buf = malloc(n);
		if (!buf)
			return 3;
		for (size_t k = 0; k < n; k++)
			buf[k] = result_byte(&a, k);
	}
	expect = running;
	if (!__atomic_compare_exchange_n(&rec->word, &expect, tok << 2 | ST_FINISHED, 0,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		free(buf);
		wait_for_death();
	}
	__atomic_add_fetch(&rec->finishes, 1, __ATOMIC_RELAXED);
	*res = buf;
	*res_len = n;
	return 0;
}

/* ---- process inspection ---- */

/* State letter and parent of pid from /proc/PID/stat; open/read/close only,
 * no stdio buffers, so the killer thread may call it. Returns 0 or -1. */
static int proc_stat(pid_t pid, char *state, pid_t *ppid)
{
	char path[64], buf[512];
	const char *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* The command name may contain spaces and parentheses: the state
	 * follows the last ')'. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %c %d", state, ppid) != 2)
		return -1;
	return 0;
}

static long count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	long n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own descriptor */
}

/* Children of ours in /proc: returns how many, *zombies gets how many of
 * them are in state Z. */
static int scan_children(int *zombies)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	pid_t me = getpid();
	int n = 0;

	*zombies = 0;
	if (!d)
		return -1;
	while ((e = readdir(d))) {
		char state;
		pid_t ppid;

		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		if (proc_stat((pid_t)atoi(e->d_name), &state, &ppid) < 0 || ppid != me)
			continue;
		n++;
		if (state == 'Z')
			(*zombies)++;
	}
	closedir(d);
	return n;
}

/* A zombie child of ours, as waitid sees it without reaping: 0 none, or its
 * pid. */
static pid_t waitable_zombie(void)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
		return 0; /* ECHILD: no children at all */
	return si.si_pid;
}

/* ---- the killer thread ---- */

struct killer {
	pthread_mutex_t mu;
	pthread_t th;
	int stop;  /* all fields below under mu */
	int armed; /* a map is running and the killer may act */
	uint32_t n;
	uint32_t tick_us;
	uint32_t fire_permille;
	uint32_t kill_max_attempt;
	struct rng rng;
	unsigned long kills, refused, send_failed;
};

static int pidfd_open_(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static int pidfd_signal(int pidfd, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

/* Try to kill the attempt whose word was w. Called with mu held. */
static void killer_strike(struct killer *k, uint32_t i, uint64_t w)
{
	struct trec *rec = &sh->rec[i];
	pid_t pid = __atomic_load_n(&rec->pid, __ATOMIC_RELAXED);
	uint32_t attempt = __atomic_load_n(&rec->attempt, __ATOMIC_RELAXED);
	uint64_t expect = w;
	char state;
	pid_t ppid;
	int fd;

	if (attempt > k->kill_max_attempt)
		return;
	fd = pidfd_open_(pid);
	if (fd < 0) {
		k->refused++;
		return;
	}
	/* Only a live child of ours: on a machine shared with others a stale
	 * record must never make us signal a stranger that reused the PID.
	 * The liveness check after the /proc read pins the answer to the
	 * process the pidfd names. */
	if (proc_stat(pid, &state, &ppid) < 0 || ppid != getpid() || pidfd_signal(fd, 0) < 0) {
		k->refused++;
		goto out;
	}
	if (!__atomic_compare_exchange_n(&rec->word, &expect, (w & ~(uint64_t)3) | ST_KILLING, 0,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		k->refused++; /* it finished (or killed itself) meanwhile */
		goto out;
	}
	log_kill(i, attempt, pid, 1);
	if (pidfd_signal(fd, SIGKILL) < 0)
		k->send_failed++;
	else
		k->kills++;
out:
	close(fd);
}

static void *killer_main(void *arg)
{
	struct killer *k = arg;

	for (;;) {
		uint32_t tick = 1000;

		pthread_mutex_lock(&k->mu);
		if (k->stop) {
			pthread_mutex_unlock(&k->mu);
			break;
		}
		if (k->armed) {
			tick = k->tick_us;
			if (rng_below(&k->rng, 1000) < k->fire_permille && k->n) {
				uint32_t start = rng_below(&k->rng, k->n);

				for (uint32_t j = 0; j < k->n; j++) {
					uint32_t i = (start + j) % k->n;
					uint64_t w =
					    __atomic_load_n(&sh->rec[i].word, __ATOMIC_ACQUIRE);

					if ((w & 3) == ST_RUNNING) {
						killer_strike(k, i, w);
						break;
					}
				}
			}
		}
		pthread_mutex_unlock(&k->mu);
		sleep_us(tick);
	}
	return NULL;
}

/* ---- the watchdog thread ---- */

struct watchdog {
	pthread_t th;
	int stop;	     /* atomic */
	int64_t deadline_ns; /* atomic; 0 while no map runs */
	unsigned long map;   /* atomic; the running map's number */
	uint64_t seed;
};

/* A map that outlives the pool's own deadline by far means the pool hangs:
 * report it and end the program (workers die with us: PDEATHSIG). */
static void *watchdog_main(void *arg)
{
	struct watchdog *wd = arg;

	while (!__atomic_load_n(&wd->stop, __ATOMIC_ACQUIRE)) {
		int64_t d = __atomic_load_n(&wd->deadline_ns, __ATOMIC_ACQUIRE);

		if (d && now_ns() > d) {
			fprintf(stderr,
				"soak: HANG: map %lu did not return long after its deadline "
				"(seed %" PRIu64 ")\n",
				__atomic_load_n(&wd->map, __ATOMIC_RELAXED), wd->seed);
			fflush(NULL);
			_exit(3);
		}
		sleep_us(100000);
	}
	return NULL;
}

/* ---- checking one map ---- */

struct kkey {
	uint32_t index, attempt;
	pid_t pid;
};

static int kkey_cmp(const void *x, const void *y)
{
	const struct kkey *a = x, *b = y;

	if (a->index != b->index)
		return a->index < b->index ? -1 : 1;
	if (a->attempt != b->attempt)
		return a->attempt < b->attempt ? -1 : 1;
	return (a->pid > b->pid) - (a->pid < b->pid);
}

struct mapctx {
	const struct soak_cfg *cfg;
	struct soak_stats *st;
	unsigned long map;
	int policy;
	unsigned batch, workers, pipeline;
	size_t n;
	struct targ *args;
	struct sp_result *results;
	int ret;
	unsigned long fails; /* violations of this map */
	int always;	     /* print this violation whatever the caps say */
};

static const char *pol_name(int pol)
{
	static const char *const names[POL_N] = {"skip", "abort", "retry"};

	return names[pol];
}

static void violation(struct mapctx *m, const char *fmt, ...)
{
	va_list ap;

	m->fails++;
	m->st->violations++;
	if (m->fails == 1)
		m->st->bad_maps++;
	if (!m->always && (m->fails > SOAK_MAX_REPORTS || m->st->bad_maps > SOAK_MAX_BAD_MAPS))
		return;
	fprintf(stderr,
		"soak: VIOLATION seed=%" PRIu64 " map=%lu policy=%s n=%zu workers=%u pipeline=%u "
		"batch=%u: ",
		m->cfg->seed, m->map, pol_name(m->policy), m->n, m->workers, m->pipeline, m->batch);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Is task i's result exactly what it must be? */
static int result_exact(const struct mapctx *m, size_t i)
{
	const struct sp_result *r = &m->results[i];
	size_t n = result_len(&m->args[i]);
	const uint8_t *d = r->data;

	if (r->len != n || (n && !d))
		return 0;
	for (size_t k = 0; k < n; k++)
		if (d[k] != result_byte(&m->args[i], k))
			return 0;
	return 1;
}

static void check_ok(struct mapctx *m, size_t i)
{
	const struct sp_result *r = &m->results[i];

	if (r->outcome != SP_OK) {
		violation(m,
			  "task %zu: outcome %s, expected ok (attempts %u, signal %d, exit %d, "
			  "code %d)",
			  i, sp_outcome_name(r->outcome), r->attempts, r->signal, r->exit_code,
			  r->code);
		return;
	}
	if (!result_exact(m, i))
		violation(m, "task %zu: wrong result (%zu bytes, expected %zu)", i, r->len,
			  result_len(&m->args[i]));
}

/* Compare the pool's killed-task list with the truth, as multisets. */
static void check_list_equal(struct mapctx *m, struct kkey *truth, size_t nt,
			     const struct sp_killed *list, size_t nl)
{
	struct kkey *got = calloc(nl ? nl : 1, sizeof(*got));
	size_t k;

	if (!got) {
		violation(m, "out of memory");
		return;
	}
	for (k = 0; k < nl; k++)
		got[k] = (struct kkey){(uint32_t)list[k].index, list[k].attempts, list[k].pid};
	qsort(got, nl, sizeof(*got), kkey_cmp);
	qsort(truth, nt, sizeof(*truth), kkey_cmp);
	for (k = 0; k < nt && k < nl; k++)
		if (kkey_cmp(&truth[k], &got[k]) != 0)
			break;
	if (nt != nl || k < nt)
		violation(m,
			  "killed list has %zu entries, truth %zu; first difference at %zu: "
			  "pool (task %u, attempt %u, pid %d) truth (task %u, attempt %u, pid %d)",
			  nl, nt, k, k < nl ? got[k].index : 0, k < nl ? got[k].attempt : 0,
			  k < nl ? (int)got[k].pid : 0, k < nt ? truth[k].index : 0,
			  k < nt ? truth[k].attempt : 0, k < nt ? (int)truth[k].pid : 0);
	free(got);
}

static void check_map(struct mapctx *m, sp_pool *pool)
{
	uint32_t nlog = __atomic_load_n(&sh->nlog, __ATOMIC_ACQUIRE);
	size_t nt = 0, ninvalid = 0, nl = 0;
	struct kkey *truth = calloc(SOAK_LOG_CAP, sizeof(*truth));
	uint32_t *kills_of = calloc(m->n ? m->n : 1, sizeof(*kills_of));
	const struct sp_killed *list = NULL;
	int aborting;

	if (!truth || !kills_of) {
		violation(m, "out of memory");
		goto out;
	}
	if (nlog > SOAK_LOG_CAP) {
		violation(m, "kill log overflow (%u entries)", nlog);
		nlog = SOAK_LOG_CAP;
	}
	for (uint32_t k = 0; k < nlog; k++) {
		const struct kent *e = &sh->log[k];

		if (!__atomic_load_n(&e->valid, __ATOMIC_ACQUIRE)) {
			ninvalid++;
			continue;
		}
		truth[nt++] = (struct kkey){e->index, e->attempt, e->pid};
		if (e->index < m->n)
			kills_of[e->index]++;
		if (e->by_killer)
			m->st->killer_kills++;
		else
			m->st->self_kills++;
	}
	m->st->kills += nt;
	m->st->pol_kills[m->policy] += nt;
	if (sp_killed_tasks(pool, &list, &nl) < 0) {
		violation(m, "sp_killed_tasks failed");
		goto out;
	}
	for (size_t k = 0; k < nl; k++) {
		if (list[k].signal != SIGKILL)
			violation(m, "killed entry %zu (task %zu): signal %d, expected SIGKILL", k,
				  list[k].index, list[k].signal);
		if (list[k].oom == SP_OOM_YES)
			m->st->oom_yes++;
	}
	for (size_t i = 0; i < m->n; i++)
		if (m->results[i].outcome == SP_FAILED || m->results[i].outcome == SP_TIMEDOUT)
			violation(m, "task %zu: outcome %s (exit %d, code %d)", i,
				  sp_outcome_name(m->results[i].outcome), m->results[i].exit_code,
				  m->results[i].code);

	aborting = m->policy == POL_ABORT && (nt || ninvalid);
	if (ninvalid && !aborting)
		violation(m, "%zu half-written kill records: a worker died without our kill",
			  ninvalid);

	if (!aborting) {
		/* skip, retry, or an abort map in which nobody was killed. */
		if (m->ret != 0)
			violation(m, "sp_map returned %d (%s), expected 0", m->ret,
				  sp_strerror(m->ret));
		check_list_equal(m, truth, nt, list, nl);
		for (size_t i = 0; i < m->n; i++) {
			const struct sp_result *r = &m->results[i];
			const struct trec *rec = &sh->rec[i];

			if (m->policy == POL_SKIP && kills_of[i]) {
				if (r->outcome != SP_KILLED || r->signal != SIGKILL ||
				    r->attempts != 1 || kills_of[i] != 1)
					violation(m,
						  "task %zu: killed %u times, outcome %s signal %d "
						  "attempts %u; expected killed once by SIGKILL",
						  i, kills_of[i], sp_outcome_name(r->outcome),
						  r->signal, r->attempts);
				continue;
			}
			check_ok(m, i);
			if (r->attempts != 1 + kills_of[i])
				violation(m, "task %zu: attempts %u, expected 1 + %u kills", i,
					  r->attempts, kills_of[i]);
			/* Without batching a finished attempt's result is sent before
			 * the worker can be killed, so it finishes exactly once; with
			 * batching an unsent result is legitimately run again. */
			if (m->batch == 1 && (rec->finishes != 1 || rec->starts != r->attempts))
				violation(m,
					  "task %zu: ran %u times, finished %u times, pool says "
					  "%u attempts (duplicate or lost run)",
					  i, rec->starts, rec->finishes, r->attempts);
			if (m->batch > 1 && rec->finishes < 1)
				violation(m, "task %zu: ok without a finished run", i);
			if (m->policy == POL_RETRY && kills_of[i] && r->outcome == SP_OK)
				m->st->retried_ok++;
		}
		goto out;
	}

	/* An abort map with at least one kill. */
	m->st->aborted_maps++;
	if (m->ret != SP_EABORTED) {
		violation(m, "sp_map returned %d (%s) after %zu kills, expected SP_EABORTED",
			  m->ret, sp_strerror(m->ret), nt);
	}
	if (nl != 1) {
		violation(m, "abort: killed list has %zu entries, expected exactly the first kill",
			  nl);
	} else {
		struct sp_killed cause;
		struct kkey key = {(uint32_t)list[0].index, list[0].attempts, list[0].pid};
		int found = 0;

		for (size_t k = 0; k < nt && !found; k++)
			found = kkey_cmp(&truth[k], &key) == 0;
		if (!found)
			violation(m,
				  "abort: the pool names task %u attempt %u pid %d as killed, "
				  "which was never killed",
				  key.index, key.attempt, (int)key.pid);
		if (sp_abort_cause(pool, &cause) < 0 || cause.index != list[0].index ||
		    cause.attempts != list[0].attempts || cause.pid != list[0].pid)
			violation(m, "abort: sp_abort_cause does not name the killed entry");
	}
	for (size_t i = 0; i < m->n; i++) {
		const struct sp_result *r = &m->results[i];

		switch (r->outcome) {
		case SP_OK:
			check_ok(m, i);
			if (kills_of[i])
				violation(m, "abort: task %zu ok although it was killed", i);
			break;
		case SP_KILLED:
			if (nl != 1 || list[0].index != i)
				violation(m, "abort: task %zu killed but not the abort cause", i);
			break;
		case SP_CANCELLED:
			m->st->cancelled++;
			break;
		default:
			break; /* reported above */
		}
	}
out:
	free(truth);
	free(kills_of);
}

/* After every map: no zombie child, and the pool's workers are as the
 * header documents (all alive after a completed map, none after abort). */
static void check_hygiene(struct mapctx *m, sp_pool *pool, long fds_pool)
{
	pid_t z = waitable_zombie(), pids[64];
	size_t npids = 0;
	int zombies = 0, children = scan_children(&zombies);

	if (z || zombies) {
		m->st->zombies += (unsigned long)(zombies ? zombies : 1);
		violation(m, "zombie children after the map (waitid: %d, /proc: %d)", (int)z,
			  zombies);
	}
	if (sp_worker_pids(pool, pids, 64, &npids) < 0)
		violation(m, "sp_worker_pids failed");
	if (m->ret == 0) {
		long fds = count_fds();

		if (npids != m->workers || children != (int)m->workers)
			violation(m, "%zu workers, %d children after the map, expected %u", npids,
				  children, m->workers);
		if (fds != fds_pool)
			violation(m, "%ld descriptors after the map, %ld after the pool started",
				  fds, fds_pool);
	} else if (npids != 0 || children != 0) {
		violation(m, "%zu workers, %d children after an aborted map, expected none", npids,
			  children);
	}
}

/* ---- one map ---- */

static void run_map(struct mapctx *m, sp_pool *pool, struct killer *k, struct watchdog *wd,
		    struct rng *rng, long fds_pool)
{
	static const enum sp_policy pols[POL_N] = {SP_POLICY_SKIP, SP_POLICY_ABORT,
						   SP_POLICY_RETRY};
	const void *argv[SOAK_MAX_TASKS];
	size_t lens[SOAK_MAX_TASKS];
	struct targ args[SOAK_MAX_TASKS];
	struct sp_result results[SOAK_MAX_TASKS];
	struct sp_map_options mo;
	uint64_t map_seed = rng_next(rng);
	uint32_t self_permille, big;
	int killer_on;

	m->n = m->policy == POL_ABORT ? 8 + rng_below(rng, 57) : 16 + rng_below(rng, 241);
	self_permille = m->policy == POL_RETRY	? rng_below(rng, 250)
			: m->policy == POL_SKIP ? rng_below(rng, 120)
						: 5 + rng_below(rng, 60);
	big = rng_below(rng, 4) == 0 ? 20 : 0;
	for (size_t i = 0; i < m->n; i++) {
		args[i] = (struct targ){map_seed,
					SOAK_MAGIC,
					(uint32_t)i,
					self_permille,
					m->policy == POL_RETRY ? SOAK_KILL_MAX_ATTEMPT : 1000,
					rng_below(rng, 4) ? rng_below(rng, 400) : 0,
					big};
		argv[i] = &args[i];
		lens[i] = sizeof(args[i]);
	}
	m->args = args;
	m->results = results;
	memset(results, 0, sizeof(results));
	memset(sh->rec, 0, sizeof(sh->rec));
	memset(sh->log, 0,
	       sizeof(sh->log[0]) * (sh->nlog < SOAK_LOG_CAP ? sh->nlog : SOAK_LOG_CAP));
	__atomic_store_n(&sh->nlog, 0, __ATOMIC_RELEASE);

	killer_on = m->cfg->killer && rng_below(rng, 4) != 0;
	pthread_mutex_lock(&k->mu);
	k->n = (uint32_t)m->n;
	k->tick_us = 50 + rng_below(rng, 500);
	k->fire_permille = 50 + rng_below(rng, 400);
	k->kill_max_attempt = args[0].kill_max_attempt;
	k->armed = killer_on;
	pthread_mutex_unlock(&k->mu);

	sp_map_options_init(&mo);
	mo.policy = pols[m->policy];
	mo.timeout_ms = (int)m->cfg->map_timeout_ms;
	__atomic_store_n(&wd->map, m->map, __ATOMIC_RELAXED);
	__atomic_store_n(&wd->deadline_ns,
			 now_ns() + ((int64_t)m->cfg->map_timeout_ms + 30000) * 1000000,
			 __ATOMIC_RELEASE);
	m->ret = sp_map(pool, soak_task, argv, lens, m->n, results, &mo);
	__atomic_store_n(&wd->deadline_ns, 0, __ATOMIC_RELEASE);

	/* Disarm under the mutex: once we hold it, every kill the thread
	 * claimed is in the log and no new one can start. */
	pthread_mutex_lock(&k->mu);
	k->armed = 0;
	pthread_mutex_unlock(&k->mu);

	m->st->maps++;
	m->st->pol_maps[m->policy]++;
	m->st->pol_tasks[m->policy] += m->n;
	if (m->batch > 1)
		m->st->batch_maps++;
	if (m->ret == -ETIMEDOUT) {
		m->st->hangs++;
		m->always = 1;
		violation(m, "map passed its %u ms deadline", m->cfg->map_timeout_ms);
		m->always = 0;
	}
	check_map(m, pool);
	check_hygiene(m, pool, fds_pool);
	sp_results_free(results, m->n);
}

/* ---- the whole run ---- */

static void pool_options(struct rng *rng, const struct soak_cfg *cfg, struct sp_options *o)
{
	static const unsigned pipelines[4] = {1, 2, 4, 16};

	sp_options_init(o);
	o->workers = 1 + rng_below(rng, 4);
	o->pipeline = pipelines[rng_below(rng, 4)];
	o->batch = 1;
	if (cfg->max_batch > 1 && (cfg->batch_always || rng_below(rng, 4) == 0))
		o->batch = 2 + rng_below(rng, cfg->max_batch - 1);
	o->policy = SP_POLICY_SKIP; /* every map overrides it */
	o->max_retries = SOAK_RETRY_CAP;
	o->retry_fallback = SP_POLICY_SKIP;
	o->backoff_initial_ms = rng_below(rng, 3);
	o->backoff_max_ms = 8;
	/* Deaths here are the point of the test, not a crash loop. */
	o->restart_window_ms = 0;
}

/* Destroy the pool and check that it took every descriptor and child with
 * it. Returns the number of violations. */
static unsigned long pool_end(sp_pool *pool, long fds_before, struct soak_stats *st,
			      const struct soak_cfg *cfg)
{
	int zombies = 0, children;
	long fds;

	sp_pool_destroy(pool);
	fds = count_fds();
	children = scan_children(&zombies);
	if (fds != fds_before || children != 0 || waitable_zombie()) {
		st->violations++;
		st->zombies += (unsigned long)zombies;
		fprintf(stderr,
			"soak: VIOLATION seed=%" PRIu64 " after pool %lu: %ld descriptors (before "
			"it: %ld), %d children left\n",
			cfg->seed, st->pools, fds, fds_before, children);
		return 1;
	}
	return 0;
}

static void progress(const struct soak_cfg *cfg, const struct soak_stats *st, int64_t t0)
{
	if (cfg->quiet)
		return;
	printf("soak: %lu maps, %lu kills (skip %lu, abort %lu, retry %lu), %lu violations, "
	       "%.1f s\n",
	       st->maps, st->kills, st->pol_kills[POL_SKIP], st->pol_kills[POL_ABORT],
	       st->pol_kills[POL_RETRY], st->violations, (double)(now_ns() - t0) / 1e9);
	fflush(stdout);
}

/* Run the soak described by cfg; fills st. Returns 0 when every invariant
 * held, 1 on a violation, -errno when the run could not be set up. */
static int soak_run(const struct soak_cfg *cfg, struct soak_stats *st)
{
	struct killer k;
	struct watchdog wd;
	struct rng rng = {cfg->seed};
	struct sp_options o; /* the current pool's options */
	sp_pool *pool = NULL;
	int64_t t0 = now_ns(), end = t0 + (int64_t)cfg->max_seconds * 1000000000;
	long fds0, fds_before = 0, fds_pool = 0;
	unsigned maps_left = 0, pol = 0;
	unsigned long next_report = 1000;
	int r = 0, threads = 0;

	memset(st, 0, sizeof(*st));
	memset(&k, 0, sizeof(k));
	memset(&wd, 0, sizeof(wd));
	if (!cfg->policies || cfg->policies >= 1u << POL_N || !cfg->map_timeout_ms)
		return -EINVAL;
	/* Created before any pool so every worker inherits the mapping. */
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) {
		sh = NULL;
		return -errno;
	}
	pthread_mutex_init(&k.mu, NULL);
	k.rng.s = cfg->seed ^ UINT64_C(0x6b696c6c6572);
	wd.seed = cfg->seed;
	if ((r = pthread_create(&k.th, NULL, killer_main, &k)) != 0) {
		r = -r;
		goto out;
	}
	threads = 1;
	if ((r = pthread_create(&wd.th, NULL, watchdog_main, &wd)) != 0) {
		r = -r;
		goto out;
	}
	threads = 2;
	fds0 = count_fds();
	if (!cfg->quiet)
		printf("soak: seed %" PRIu64 ", target %lu kills\n", cfg->seed, cfg->kills);

	while (st->kills < cfg->kills) {
		struct mapctx m;

		if (now_ns() > end) {
			st->violations++;
			fprintf(stderr,
				"soak: only %lu of %lu kills after %u s (seed %" PRIu64 ")\n",
				st->kills, cfg->kills, cfg->max_seconds, cfg->seed);
			break;
		}
		if (!maps_left) {
			if (pool)
				pool_end(pool, fds_before, st, cfg);
			pool = NULL;
			pool_options(&rng, cfg, &o);
			fds_before = count_fds();
			r = sp_pool_create(&pool, &o);
			if (r < 0) {
				fprintf(stderr, "soak: sp_pool_create: %s\n", sp_strerror(r));
				goto out;
			}
			fds_pool = count_fds();
			st->pools++;
			maps_left = 1 + rng_below(&rng, 8);
		}
		while (!(cfg->policies & (1u << pol)))
			pol = (pol + 1) % POL_N;
		memset(&m, 0, sizeof(m));
		m.cfg = cfg;
		m.st = st;
		m.map = st->maps + 1;
		m.policy = (int)pol;
		m.batch = o.batch;
		m.workers = o.workers;
		m.pipeline = o.pipeline;
		pol = (pol + 1) % POL_N;
		run_map(&m, pool, &k, &wd, &rng, fds_pool);
		maps_left--;
		if (m.ret != 0 && m.ret != SP_EABORTED && m.ret != -ETIMEDOUT) {
			/* The pool is closed after a failed system call: start over. */
			maps_left = 0;
		}
		if (st->kills >= next_report) {
			progress(cfg, st, t0);
			next_report = (st->kills / 1000 + 1) * 1000;
		}
	}
	if (pool)
		pool_end(pool, fds_before, st, cfg);
	pool = NULL;
	st->fd_delta = count_fds() - fds0;
	if (st->fd_delta)
		st->violations++;
	r = 0;
out:
	if (pool)
		sp_pool_destroy(pool);
	if (threads >= 1) {
		pthread_mutex_lock(&k.mu);
		k.stop = 1;
		pthread_mutex_unlock(&k.mu);
		pthread_join(k.th, NULL);
	}
	if (threads >= 2) {
		__atomic_store_n(&wd.stop, 1, __ATOMIC_RELEASE);
		pthread_join(wd.th, NULL);
	}
	st->killer_refused = k.refused;
	if (k.send_failed)
		fprintf(stderr,
			"soak: note: %lu claimed kills found the worker already gone "
			"(only possible after the pool's own abort)\n",
			k.send_failed);
	pthread_mutex_destroy(&k.mu);
	munmap(sh, sizeof(*sh));
	sh = NULL;
	st->wall_s = (double)(now_ns() - t0) / 1e9;
	if (r < 0)
		return r;
	return st->violations || st->hangs || st->zombies || st->fd_delta ? 1 : 0;
}

static void print_summary(const struct soak_cfg *cfg, const struct soak_stats *st)
{
	printf("soak: seed %" PRIu64 "\n", cfg->seed);
	printf("soak: maps %lu, pools %lu, kills %lu (self %lu, killer thread %lu)\n", st->maps,
	       st->pools, st->kills, st->self_kills, st->killer_kills);
	for (int p = 0; p < POL_N; p++)
		printf("soak:   %-5s maps %lu, tasks %lu, kills %lu\n", pol_name(p),
		       st->pol_maps[p], st->pol_tasks[p], st->pol_kills[p]);
	printf("soak: aborted maps %lu, cancelled tasks %lu, retried tasks ended ok %lu, "
	       "maps with batching %lu, oom=yes %lu, killer refusals %lu\n",
	       st->aborted_maps, st->cancelled, st->retried_ok, st->batch_maps, st->oom_yes,
	       st->killer_refused);
	printf("soak: hangs %lu, fd delta %ld, zombies %lu, violations %lu (in %lu maps), "
	       "wall %.1f s\n",
	       st->hangs, st->fd_delta, st->zombies, st->violations, st->bad_maps, st->wall_s);
}

#ifndef SOAK_NO_MAIN
static void usage(void)
{
	fprintf(stderr, "usage: soak_pool [--kills N] [--seed S] [--policy skip|abort|retry|all] "
			"[--max-batch N] [--no-killer] [--map-timeout-ms MS] [--max-seconds S] "
			"[--quiet]\n");
}

static int parse_ul(const char *s, unsigned long long *v)
{
	char *e;

	errno = 0;
	*v = strtoull(s, &e, 0);
	return errno || !*s || *e ? -1 : 0;
}

int main(int argc, char **argv)
{
	struct soak_cfg cfg = {10000, 0, 7, 4, 1, 60000, 3600, 0, 0};
	struct soak_stats st;
	int seeded = 0, r;

	for (int i = 1; i < argc; i++) {
		unsigned long long v = 0;
		const char *a = argv[i];
		int has_val = i + 1 < argc;

		if (!strcmp(a, "--no-killer")) {
			cfg.killer = 0;
		} else if (!strcmp(a, "--quiet")) {
			cfg.quiet = 1;
		} else if (!strcmp(a, "--policy") && has_val) {
			a = argv[++i];
			if (!strcmp(a, "skip"))
				cfg.policies = 1u << POL_SKIP;
			else if (!strcmp(a, "abort"))
				cfg.policies = 1u << POL_ABORT;
			else if (!strcmp(a, "retry"))
				cfg.policies = 1u << POL_RETRY;
			else if (!strcmp(a, "all"))
				cfg.policies = 7;
			else {
				fprintf(stderr,
					"soak_pool: unknown policy '%s' (expected skip, "
					"abort, retry or all)\n",
					a);
				return 2;
			}
		} else if (has_val && parse_ul(argv[i + 1], &v) == 0 &&
			   (!strcmp(a, "--kills") || !strcmp(a, "--seed") ||
			    !strcmp(a, "--max-batch") || !strcmp(a, "--map-timeout-ms") ||
			    !strcmp(a, "--max-seconds"))) {
			i++;
			if (!strcmp(a, "--kills"))
				cfg.kills = (unsigned long)v;
			else if (!strcmp(a, "--seed"))
				cfg.seed = v, seeded = 1;
			else if (!strcmp(a, "--max-batch") && v >= 1 && v <= 64)
				cfg.max_batch = (unsigned)v;
			else if (!strcmp(a, "--map-timeout-ms") && v >= 1 && v <= 3600000)
				cfg.map_timeout_ms = (unsigned)v;
			else if (!strcmp(a, "--max-seconds") && v >= 1 && v <= 86400)
				cfg.max_seconds = (unsigned)v;
			else if (strcmp(a, "--kills") && strcmp(a, "--seed")) {
				fprintf(stderr, "soak_pool: %s %s: out of range\n", a, argv[i]);
				return 2;
			}
		} else {
			usage();
			return 2;
		}
	}
	if (!seeded && getrandom(&cfg.seed, sizeof(cfg.seed), 0) != sizeof(cfg.seed))
		cfg.seed = (uint64_t)now_ns() ^ (uint64_t)getpid();
	/* Make the output survive a kill of this process by a timeout. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	r = soak_run(&cfg, &st);
	if (r < 0) {
		fprintf(stderr, "soak_pool: setup failed: %s\n", strerror(-r));
		return 2;
	}
	print_summary(&cfg, &st);
	if (r)
		printf("soak: FAILED (reproduce with --seed %" PRIu64 ")\n", cfg.seed);
	else
		printf("soak: OK\n");
	return r ? 1 : 0;
}
#endif
