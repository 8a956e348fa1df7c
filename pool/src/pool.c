/* The pool: workers, dispatch, death handling, policies. Single-threaded;
 * everything happens inside the caller's sp_map()/sp_submit()/sp_wait(). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"
#include "wire.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/* PIDFD_GET_INFO (Linux 6.13; the exit status since 6.15) is newer than
 * the system headers this builds against: the first, stable part of the
 * extensible structure is declared here. The kernel dispatches on the
 * ioctl number and takes the size from the command. */
#define SP__PIDFD_INFO_EXIT (1ull << 3)
struct sp__pidfd_info {
	uint64_t mask;
	uint64_t cgroupid;
	uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
	int32_t exit_code;
};
#define SP__PIDFD_GET_INFO _IOWR(0xFF, 11, struct sp__pidfd_info)

#define MS (INT64_C(1000000))
#define DEATH_WAIT_MS 5000 /* bound for a killed worker to become a zombie */
#define STOP_GRACE_MS 2000 /* bound for a worker to leave after EOF */

struct sp__task {
	struct sp__task *next;
	uint64_t id;
	size_t index;
	sp_task_fn fn;
	const void *arg;
	size_t arg_len;
	int state;
	int async;
	int cg;              /* cgroup table entry of the last death, -1 none */
	int64_t ready_ns;    /* retry not before */
	int64_t memwait_end; /* retry memory wait deadline, 0 = not waiting */
	struct sp_result res;
};

struct queue {
	struct sp__task *head, *tail;
};

struct sp__worker {
	int state;
	pid_t pid;
	int pidfd, to_fd, from_fd;
	int out_armed;
	int eof;
	int cg; /* cgroup table entry from HELLO, -1 unknown */
	uint32_t gen; /* spawn count of this slot, tags its epoll events */
	uint64_t kill_seq; /* task the pool killed this worker for (timeout) */
	struct sp__slot *slot;
	struct sp__task **fifo;
	unsigned head, count;
	uint8_t *obuf;
	size_t olen, ooff, ocap;
	uint8_t *ibuf;
	size_t ilen, ioff, icap;
};

struct cgroup_entry {
	char file[SP__PATH];
	uint64_t attributed; /* oom kills already attributed or seen at start */
};

struct sp_pool {
	struct sp_options o;
	int epfd;
	int broken; /* a system call failed mid-way: only destroy is allowed */
	struct sp__worker *w;
	struct sp__slot *slots;
	uint64_t next_id;

	/* The operation in progress (one map, or the submitted tasks). */
	enum sp_policy policy;
	size_t remaining;
	int op_err; /* SP_EABORTED, SP_ERESTARTS, -ETIMEDOUT once ended */
	struct queue pending, backoff, done_async;
	size_t async_out; /* submitted, not yet waited */

	struct sp_killed *killed;
	size_t nkilled, capkilled;
	struct sp_killed cause;
	int has_cause;

	int64_t *deaths; /* ring of the last restart_max+1 death times */
	size_t ndeaths, dpos;

	struct cgroup_entry cgs[SP__CGROUPS];
	size_t ncgs;

	unsigned start_fails; /* workers in a row that died before HELLO */

	/* Link in the registry of live pools (reg_lock). */
	sp_pool *reg_prev, *reg_next;
	int reg_linked;
};

/* The registry of live pools.
 *
 * A worker is a fork of the caller, so it inherits every descriptor the
 * process has, including the parent-side pipe ends of every other pool.
 * If a worker of pool B kept a copy of the pipe that feeds pool A's worker,
 * that worker would never see EOF when A is destroyed, and A would have to
 * wait out its grace period and SIGKILL it. So a new worker closes the
 * parent-side descriptors (pipes, pidfds, epoll) of every live pool, found
 * through this list.
 *
 * The list and every such descriptor are only created, changed or closed
 * with reg_lock held, and fork() happens with it held too. That makes the
 * child's copy of the list exact: no descriptor was half-created (a pipe
 * not yet listed would leak into the child) or closed and its number reused
 * by the caller (the child would close the caller's descriptor). The child
 * then only reads its private copy and calls close(), unlocks its copy of
 * the mutex (the one thread of the child is the one that locked it, as in a
 * pthread_atfork() child handler) and empties the list, because none of
 * those pools exists in the child: a pool the child creates later must not
 * close numbers it may reuse. Spawning workers is rare next to dispatch, so
 * serialising it across the process costs nothing measurable. */
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static sp_pool *reg_head;

/* ---- small helpers ---- */

static void q_push(struct queue *q, struct sp__task *t)
{
	t->next = NULL;
	if (q->tail)
		q->tail->next = t;
	else
		q->head = t;
	q->tail = t;
}

static void q_push_front(struct queue *q, struct sp__task *t)
{
	t->next = q->head;
	q->head = t;
	if (!q->tail)
		q->tail = t;
}

static struct sp__task *q_pop(struct queue *q)
{
	struct sp__task *t = q->head;

	if (t) {
		q->head = t->next;
		if (!q->head)
			q->tail = NULL;
		t->next = NULL;
	}
	return t;
}

static void q_remove(struct queue *q, struct sp__task *t)
{
	struct sp__task *prev = NULL;

	for (struct sp__task *c = q->head; c; prev = c, c = c->next) {
		if (c != t)
			continue;
		if (prev)
			prev->next = c->next;
		else
			q->head = c->next;
		if (q->tail == c)
			q->tail = prev;
		c->next = NULL;
		return;
	}
}

/* Apply a task transition; an impossible one is a library bug. */
static void task_to(struct sp__task *t, int event)
{
	int next = sp__task_next(t->state, event);

	if (next < 0)
		abort();
	t->state = next;
}

static void worker_to(struct sp__worker *w, int event)
{
	int next = sp__worker_next(w->state, event);

	if (next < 0)
		abort();
	w->state = next;
}

static int pidfd_open_(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static int pidfd_kill(int pidfd, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

/* Poll one descriptor until readable or the deadline; EINTR recomputes the
 * remaining time. Returns 1 readable, 0 timed out, -errno. */
static int wait_readable(int fd, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - sp__now_ns();
		struct pollfd pfd = {fd, POLLIN, 0};
		int r;

		if (left < 0)
			left = 0;
		r = poll(&pfd, 1, (int)((left + MS - 1) / MS));
		if (r > 0)
			return 1;
		if (r == 0)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}

static int cg_lookup(sp_pool *p, const char *file, uint64_t baseline)
{
	for (size_t i = 0; i < p->ncgs; i++)
		if (strcmp(p->cgs[i].file, file) == 0)
			return (int)i;
	if (p->ncgs == SP__CGROUPS || baseline == UINT64_MAX || strlen(file) >= SP__PATH)
		return -1;
	strcpy(p->cgs[p->ncgs].file, file);
	p->cgs[p->ncgs].attributed = baseline;
	return (int)p->ncgs++;
}

/* ---- the registry ---- */

static void close_fd_locked(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Create the pool's epoll descriptor and list the pool. Returns 0 or
 * -errno. */
static int reg_add(sp_pool *p)
{
	int r = 0;

	pthread_mutex_lock(&reg_lock);
	p->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (p->epfd < 0) {
		r = -errno;
		goto out;
	}
	p->reg_prev = NULL;
	p->reg_next = reg_head;
	if (reg_head)
		reg_head->reg_prev = p;
	reg_head = p;
	p->reg_linked = 1;
out:
	pthread_mutex_unlock(&reg_lock);
	return r;
}

/* Unlist the pool and close its epoll descriptor. */
static void reg_del(sp_pool *p)
{
	pthread_mutex_lock(&reg_lock);
	if (p->reg_linked) {
		if (p->reg_prev)
			p->reg_prev->reg_next = p->reg_next;
		else
			reg_head = p->reg_next;
		if (p->reg_next)
			p->reg_next->reg_prev = p->reg_prev;
		p->reg_linked = 0;
	}
	close_fd_locked(&p->epfd);
	pthread_mutex_unlock(&reg_lock);
}

/* In a new worker, right after fork() (reg_lock held by the parent's copy):
 * close the parent-side descriptors of every pool, then forget them. */
static void reg_close_all_in_child(void)
{
	for (sp_pool *q = reg_head; q; q = q->reg_next) {
		if (q->epfd >= 0)
			close(q->epfd);
		for (unsigned i = 0; q->w && i < q->o.workers; i++) {
			if (q->w[i].pidfd >= 0)
				close(q->w[i].pidfd);
			if (q->w[i].to_fd >= 0)
				close(q->w[i].to_fd);
			if (q->w[i].from_fd >= 0)
				close(q->w[i].from_fd);
		}
	}
	reg_head = NULL;
	pthread_mutex_unlock(&reg_lock);
}

/* ---- workers ---- */

static void worker_close(sp_pool *p, struct sp__worker *w)
{
	struct sp__worker clean;

	free(w->fifo);
	free(w->obuf);
	free(w->ibuf);
	memset(&clean, 0, sizeof(clean));
	clean.pidfd = clean.to_fd = clean.from_fd = -1;
	clean.cg = -1;
	clean.gen = w->gen;
	/* One locked step: a fork in another thread must never see a closed
	 * number still listed, nor the zeroed fields of a half-reset slot
	 * (it would close descriptor 0). */
	pthread_mutex_lock(&reg_lock);
	close_fd_locked(&w->pidfd);
	close_fd_locked(&w->to_fd);
	close_fd_locked(&w->from_fd);
	*w = clean;
	pthread_mutex_unlock(&reg_lock);
	(void)p;
}

/* Tag an epoll event with slot, generation and kind, so an event of a
 * reaped worker is never applied to its replacement in the same batch. */
static uint64_t ev_data(size_t idx, uint32_t gen, int kind)
{
	return ((uint64_t)gen << 32) | ((uint64_t)idx << 2) | (uint64_t)kind;
}

/* Start the worker in slot idx once. Returns 0, -ESRCH when the child was
 * already reaped by someone else before its pidfd could be opened (the
 * caller ignores SIGCHLD or reaps with wait(-1)), or -errno. */
static int worker_spawn_once(sp_pool *p, size_t idx)
{
	struct sp__worker *w = &p->w[idx];
	int to[2] = {-1, -1}, from[2] = {-1, -1};
	sigset_t all, old;
	pid_t parent = getpid(), pid = -1;
	struct epoll_event ev;
	int r = 0, locked = 0, prepared = 0;

	worker_close(p, w);
	w->gen++;
	w->slot = &p->slots[idx];
	w->fifo = calloc(p->o.pipeline, sizeof(*w->fifo));
	w->icap = 64 * 1024;
	w->ibuf = malloc(w->icap);
	if (!w->fifo || !w->ibuf) {
		r = -ENOMEM;
		goto out;
	}
	memset(&p->slots[idx], 0, sizeof(p->slots[idx]));
	/* The caller's hook runs before any lock of ours is taken: it may
	 * block (CPython takes its GIL there), and taking reg_lock first
	 * would order the two locks differently in different threads. */
	if (p->o.fork_prepare)
		p->o.fork_prepare(p->o.userdata);
	prepared = 1;
	/* From the pipes to the pidfd every new descriptor is created with
	 * the registry locked; see reg_lock. */
	pthread_mutex_lock(&reg_lock);
	locked = 1;
	if (pipe2(to, O_CLOEXEC) < 0 || pipe2(from, O_CLOEXEC) < 0) {
		r = -errno;
		goto out;
	}
	/* Blocked signals keep a handler of the caller from running in the
	 * child before it has reset the dispositions. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = fork();
	if (pid == 0) {
		struct sp__worker_args a = {to[0], from[1], parent, &p->slots[idx],
					    p->o.max_msg, p->o.batch, p->o.worker_init,
					    p->o.userdata};

		/* Drop every parent-side descriptor of every pool (this
		 * slot's are already closed): a copy of another worker's
		 * pipe would hide that worker's EOF. */
		close(to[1]);
		close(from[0]);
		reg_close_all_in_child();
		sp__worker_main(&a);
	}
	r = pid < 0 ? -errno : 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r < 0)
		goto out;
	close(to[0]);
	close(from[1]);
	to[0] = from[1] = -1;
	w->pid = pid;
	w->to_fd = to[1];
	w->from_fd = from[0];
	to[1] = from[0] = -1;
	w->pidfd = pidfd_open_(pid);
	if (w->pidfd < 0) {
		r = -errno;
		goto out;
	}
	pthread_mutex_unlock(&reg_lock);
	locked = 0;
	worker_to(w, SP__WE_SPAWN);
	fcntl(w->to_fd, F_SETFL, O_NONBLOCK);
	fcntl(w->from_fd, F_SETFL, O_NONBLOCK);
	ev.events = EPOLLIN;
	ev.data.u64 = ev_data(idx, w->gen, 0);
	if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, w->from_fd, &ev) < 0)
		r = -errno;
	ev.data.u64 = ev_data(idx, w->gen, 1);
	if (!r && epoll_ctl(p->epfd, EPOLL_CTL_ADD, w->pidfd, &ev) < 0)
		r = -errno;
	ev.events = 0;
	ev.data.u64 = ev_data(idx, w->gen, 2);
	if (!r && epoll_ctl(p->epfd, EPOLL_CTL_ADD, w->to_fd, &ev) < 0)
		r = -errno;
	if (r < 0) {
		pidfd_kill(w->pidfd, SIGKILL);
		sp__reap_pidfd(w->pidfd);
	}
out:
	for (int i = 0; i < 2; i++) {
		if (to[i] >= 0)
			close(to[i]);
		if (from[i] >= 0)
			close(from[i]);
	}
	if (locked)
		pthread_mutex_unlock(&reg_lock);
	if (prepared && p->o.fork_parent)
		p->o.fork_parent(p->o.userdata);
	if (r < 0 && pid > 0 && w->pidfd < 0 && r != -ESRCH) {
		/* pidfd_open() failed for another reason (EMFILE...): the
		 * child is ours and unreaped, so its PID cannot be reused
		 * yet. ESRCH means it was reaped already: then the PID may
		 * name someone else and must not be signalled. */
		kill(pid, SIGKILL);
		sp__reap_pid(pid);
	}
	if (r < 0)
		worker_close(p, w);
	return r;
}

/* Start the worker in slot idx. A child reaped by someone else before the
 * pool could open its pidfd died at start-up: it counts toward
 * SP_START_FAILS_MAX and is replaced, so the retries are bounded. Returns
 * 0, SP_ESTART when the cap is reached, or -errno. */
static int worker_spawn(sp_pool *p, size_t idx)
{
	int r;

	while ((r = worker_spawn_once(p, idx)) == -ESRCH)
		if (++p->start_fails >= SP_START_FAILS_MAX)
			return SP_ESTART;
	return r;
}

/* ---- outcomes ---- */

static void finish(sp_pool *p, struct sp__task *t)
{
	if (t->async)
		q_push(&p->done_async, t);
	p->remaining--;
}

static void add_killed(sp_pool *p, const struct sp__task *t)
{
	if (p->nkilled == p->capkilled) {
		size_t cap = p->capkilled ? 2 * p->capkilled : 16;
		struct sp_killed *k = realloc(p->killed, cap * sizeof(*k));

		if (!k)
			return; /* the outcome itself is still in the result */
		p->killed = k;
		p->capkilled = cap;
	}
	p->killed[p->nkilled++] = (struct sp_killed){t->index, t->res.attempts, t->res.signal,
						      t->res.pid, t->res.oom, t->res.start_ns,
						      t->res.end_ns};
}

static void cancel(sp_pool *p, struct sp__task *t)
{
	task_to(t, SP__TE_CANCEL);
	free(t->res.data);
	t->res.data = NULL;
	t->res.len = 0;
	t->res.outcome = SP_CANCELLED;
	finish(p, t);
}

static int worker_reap_now(sp_pool *p, size_t idx);

/* End the operation: kill every worker, keep results that already came
 * back, cancel the rest. The pool stays usable. */
static void end_op(sp_pool *p, int err)
{
	struct sp__task *t;

	if (p->op_err)
		return;
	p->op_err = err;
	for (size_t i = 0; i < p->o.workers; i++)
		if (p->w[i].state != SP__W_NONE && p->w[i].pidfd >= 0)
			pidfd_kill(p->w[i].pidfd, SIGKILL);
	for (size_t i = 0; i < p->o.workers; i++)
		if (p->w[i].state != SP__W_NONE)
			worker_reap_now(p, i);
	while ((t = q_pop(&p->pending)))
		cancel(p, t);
	while ((t = q_pop(&p->backoff)))
		cancel(p, t);
}

/* Decide the fate of a task whose worker was killed while running it. */
static void on_killed(sp_pool *p, struct sp__task *t)
{
	add_killed(p, t);
	if (p->policy == SP_POLICY_RETRY && t->res.attempts <= p->o.max_retries) {
		unsigned shift = t->res.attempts - 1 < 20 ? t->res.attempts - 1 : 20;
		int64_t delay = (int64_t)p->o.backoff_initial_ms << shift;

		if (delay > p->o.backoff_max_ms)
			delay = p->o.backoff_max_ms;
		task_to(t, SP__TE_RETRY);
		t->ready_ns = sp__now_ns() + delay * MS;
		t->memwait_end = 0;
		q_push(&p->backoff, t);
		return;
	}
	t->res.outcome = SP_KILLED;
	if (p->policy == SP_POLICY_ABORT ||
	    (p->policy == SP_POLICY_RETRY && p->o.retry_fallback == SP_POLICY_ABORT)) {
		task_to(t, SP__TE_KILLED);
		finish(p, t);
		p->cause = p->killed[p->nkilled ? p->nkilled - 1 : 0];
		p->has_cause = p->nkilled > 0;
		end_op(p, SP_EABORTED);
		return;
	}
	task_to(t, SP__TE_KILLED);
	finish(p, t);
}

/* Returns 1 when restart intensity is exceeded by a death now. */
static int note_death(sp_pool *p)
{
	size_t n = (size_t)p->o.restart_max + 1;
	int64_t now = sp__now_ns();

	if (!p->o.restart_max || !p->o.restart_window_ms)
		return 0;
	p->deaths[p->dpos] = now;
	p->dpos = (p->dpos + 1) % n;
	if (p->ndeaths < n)
		p->ndeaths++;
	/* dpos now points at the oldest of the last n deaths. */
	return p->ndeaths == n && now - p->deaths[p->dpos] <= (int64_t)p->o.restart_window_ms * MS;
}

/* ---- frames from workers ---- */

static int handle_frame(sp_pool *p, struct sp__worker *w, const struct sp__frame *f,
			const uint8_t *payload)
{
	struct sp__task *t;

	if (f->type == SP__MSG_HELLO) {
		char file[SP__PATH];

		if (w->state != SP__W_STARTING)
			return -EPROTO;
		worker_to(w, SP__WE_HELLO);
		p->start_fails = 0;
		if (f->len && f->len < sizeof(file) && f->a != UINT64_MAX) {
			memcpy(file, payload, f->len);
			file[f->len] = '\0';
			w->cg = cg_lookup(p, file, f->a);
		}
		return 0;
	}
	if (f->type != SP__MSG_DONE && f->type != SP__MSG_ERR)
		return -EPROTO;
	if (!w->count || w->fifo[w->head]->id != f->seq)
		return -EPROTO;
	t = w->fifo[w->head];
	w->head = (w->head + 1) % p->o.pipeline;
	w->count--;
	t->res.attempts++;
	t->res.signal = 0;
	t->res.oom = SP_OOM_UNKNOWN;
	t->res.start_ns = (int64_t)f->a;
	t->res.end_ns = (int64_t)f->b;
	t->res.pid = w->pid;
	if (f->type == SP__MSG_DONE) {
		t->res.outcome = SP_OK;
		t->res.len = f->len;
		if (f->len) {
			t->res.data = malloc(f->len);
			if (!t->res.data)
				return -ENOMEM;
			memcpy(t->res.data, payload, f->len);
		}
	} else {
		t->res.outcome = SP_FAILED;
		t->res.code = f->code;
	}
	task_to(t, SP__TE_COMPLETE);
	finish(p, t);
	return 0;
}

/* Read what the worker sent and handle every complete frame. Returns 0,
 * 1 on EOF, or -errno / -EPROTO. */
static int worker_read(sp_pool *p, struct sp__worker *w)
{
	for (;;) {
		struct sp__frame f;
		ssize_t n;
		int r;

		while ((r = sp__unpack(w->ibuf + w->ioff, w->ilen - w->ioff, p->o.max_msg, &f)) ==
			       0 &&
		       w->ilen - w->ioff >= SP__HDR + f.len) {
			r = handle_frame(p, w, &f, w->ibuf + w->ioff + SP__HDR);
			if (r < 0)
				return r;
			w->ioff += SP__HDR + f.len;
		}
		if (r == -EPROTO)
			return r;
		if (w->ioff) {
			memmove(w->ibuf, w->ibuf + w->ioff, w->ilen - w->ioff);
			w->ilen -= w->ioff;
			w->ioff = 0;
		}
		if (r == 0 && SP__HDR + f.len > w->icap) {
			uint8_t *b = realloc(w->ibuf, SP__HDR + f.len);

			if (!b)
				return -ENOMEM;
			w->ibuf = b;
			w->icap = SP__HDR + f.len;
		}
		n = read(w->from_fd, w->ibuf + w->ilen, w->icap - w->ilen);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? 0 : -errno;
		if (n == 0)
			return 1;
		w->ilen += (size_t)n;
	}
}

/* ---- writing to workers ---- */

static int worker_flush(sp_pool *p, size_t idx)
{
	struct sp__worker *w = &p->w[idx];
	sigset_t pipe_set, old;
	int epipe = 0;

	/* A write to a dead worker must not raise SIGPIPE in the caller: the
	 * library installs no handler, so block it around the writes and
	 * consume the one we caused (unless the caller had it blocked already,
	 * then it may have been pending before and is left alone). */
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	while (w->ooff < w->olen) {
		ssize_t n = write(w->to_fd, w->obuf + w->ooff, w->olen - w->ooff);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			/* EPIPE: the death shows up on the pidfd; drop the bytes. */
			epipe = errno == EPIPE;
			if (errno != EAGAIN)
				w->ooff = w->olen;
			break;
		}
		w->ooff += (size_t)n;
	}
	if (epipe && !sigismember(&old, SIGPIPE)) {
		struct timespec zero = {0, 0};

		while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
			;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (w->ooff == w->olen)
		w->ooff = w->olen = 0;
	int want = w->olen > 0;
	if (want != w->out_armed) {
		struct epoll_event ev = {want ? EPOLLOUT : 0, {.u64 = ev_data(idx, w->gen, 2)}};

		if (epoll_ctl(p->epfd, EPOLL_CTL_MOD, w->to_fd, &ev) < 0)
			return -errno;
		w->out_armed = want;
	}
	return 0;
}

static int worker_send(sp_pool *p, struct sp__worker *w, struct sp__task *t)
{
	struct sp__frame f = {SP__MSG_TASK, (int32_t)(t->res.attempts + 1), t->id,
			      (uint64_t)(uintptr_t)t->fn, (uint64_t)t->index, t->arg_len};
	size_t need = w->olen + SP__HDR + t->arg_len;

	if (need > w->ocap) {
		size_t cap = w->ocap ? w->ocap : 4096;
		uint8_t *b;

		while (cap < need)
			cap *= 2;
		b = realloc(w->obuf, cap);
		if (!b)
			return -ENOMEM;
		w->obuf = b;
		w->ocap = cap;
	}
	sp__pack(w->obuf + w->olen, &f);
	if (t->arg_len)
		memcpy(w->obuf + w->olen + SP__HDR, t->arg, t->arg_len);
	w->olen = need;
	w->fifo[(w->head + w->count) % p->o.pipeline] = t;
	w->count++;
	task_to(t, SP__TE_DISPATCH);
	return 0;
}

/* Hand pending tasks to workers with room, a round at a time so the load
 * spreads, then write. */
static int dispatch(sp_pool *p)
{
	int more = 1, r;

	while (p->pending.head && more) {
		more = 0;
		for (size_t i = 0; i < p->o.workers && p->pending.head; i++) {
			struct sp__worker *w = &p->w[i];

			if (w->state != SP__W_STARTING && w->state != SP__W_READY)
				continue;
			if (w->count >= p->o.pipeline)
				continue;
			r = worker_send(p, w, q_pop(&p->pending));
			if (r < 0)
				return r;
			more = 1;
		}
	}
	for (size_t i = 0; i < p->o.workers; i++) {
		if (p->w[i].olen > p->w[i].ooff) {
			r = worker_flush(p, i);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* ---- deaths ---- */

static int is_root_counter(const char *file)
{
	return strcmp(file, "/sys/fs/cgroup/memory//memory.oom_control") == 0 ||
	       strcmp(file, "/sys/fs/cgroup//memory.events") == 0 ||
	       strcmp(file, "/sys/fs/cgroup/unified//memory.events") == 0;
}

/* reaped: the status came from the pidfd after someone else reaped the
 * worker; its PID may already name another process, so /proc is not asked
 * and the cgroup counts as unverified. */
static void read_oom(sp_pool *p, struct sp__worker *w, struct sp__task *t, int reaped)
{
	char file[SP__PATH];
	uint64_t now;
	int cg, verified;

	t->res.oom = SP_OOM_UNKNOWN;
	t->cg = w->cg;
	if (w->cg < 0)
		return;
	cg = w->cg;
	/* A zombie may still name its cgroup (then it must be the one it
	 * started in), but cgroup v1 shows exiting tasks in the root: then
	 * the cgroup from the worker's HELLO is the best knowledge there is.
	 * That knowledge is enough to say yes when its counter rose, but not
	 * to say no: someone may have moved the worker into another cgroup
	 * (the chaos controller does), whose kill this counter cannot see. */
	verified = !reaped;
	if (!reaped && sp__oom_file(w->pid, file, sizeof(file)) == 0 &&
	    strcmp(file, p->cgs[cg].file) != 0) {
		if (!is_root_counter(file))
			return;
		verified = 0;
	}
	if (sp__oom_count(p->cgs[cg].file, &now) < 0)
		return;
	if (now > p->cgs[cg].attributed) {
		p->cgs[cg].attributed++;
		t->res.oom = SP_OOM_YES;
	} else if (verified) {
		t->res.oom = SP_OOM_NO;
	}
}

/* The wait status of a dead worker someone else reaped, from its pidfd.
 * The pidfd turns readable as the task exits, a moment before the kernel
 * records the status, so a missing status is asked for again, briefly and
 * a bounded number of times. Fills si like waitid() would. Returns 0, or
 * -errno (ENOTTY/EINVAL: the kernel is older than 6.15). */
static int pidfd_exit_status(int pidfd, siginfo_t *si)
{
	for (int tries = 0; tries < 100; tries++) {
		struct sp__pidfd_info info;
		int st;

		memset(&info, 0, sizeof(info));
		info.mask = SP__PIDFD_INFO_EXIT;
		if (ioctl(pidfd, SP__PIDFD_GET_INFO, &info) < 0)
			return -errno;
		if (!(info.mask & SP__PIDFD_INFO_EXIT)) {
			sp__sleep_ns(MS);
			continue;
		}
		st = info.exit_code;
		memset(si, 0, sizeof(*si));
		if (WIFEXITED(st)) {
			si->si_code = CLD_EXITED;
			si->si_status = WEXITSTATUS(st);
		} else if (WIFSIGNALED(st)) {
			si->si_code = WCOREDUMP(st) ? CLD_DUMPED : CLD_KILLED;
			si->si_status = WTERMSIG(st);
		} else {
			return -EPROTO;
		}
		return 0;
	}
	return -ETIMEDOUT;
}

/* The worker is known to be dead or dying: wait for its exit (bounded),
 * collect the results it sent, decide what it was running, reap it. The
 * caller handles respawning. */
static int worker_reap_now(sp_pool *p, size_t idx)
{
	struct sp__worker *w = &p->w[idx];
	siginfo_t si;
	struct sp__task *running = NULL;
	uint64_t cur;
	int r, hello, known, reaped = 0;

	if (wait_readable(w->pidfd, sp__now_ns() + DEATH_WAIT_MS * MS) <= 0) {
		/* Still alive after its pipe closed (or a stuck exit): force it. */
		pidfd_kill(w->pidfd, SIGKILL);
		wait_readable(w->pidfd, sp__now_ns() + DEATH_WAIT_MS * MS);
	}
	/* Everything it wrote before dying is in the pipe now. */
	r = worker_read(p, w);
	hello = w->state == SP__W_READY;
	worker_to(w, SP__WE_DIE);
	memset(&si, 0, sizeof(si));
	known = waitid(P_PIDFD, (id_t)w->pidfd, &si, WEXITED | WNOWAIT | WNOHANG) == 0 &&
		si.si_pid != 0;
	if (!known) {
		/* ECHILD: the kernel (SIGCHLD ignored) or the caller reaped it. */
		known = pidfd_exit_status(w->pidfd, &si) == 0;
		reaped = known;
		if (!known)
			memset(&si, 0, sizeof(si));
	}
	cur = __atomic_load_n(&w->slot->cur_seq, __ATOMIC_ACQUIRE);
	/* With batch > 1, tasks that finished but whose results were not sent
	 * yet sit ahead of the running one: search the whole queue, take the
	 * running task out, and keep the others in order (they run again). */
	for (unsigned k = 0; r >= 0 && cur && k < w->count; k++) {
		if (w->fifo[(w->head + k) % p->o.pipeline]->id != cur)
			continue;
		running = w->fifo[(w->head + k) % p->o.pipeline];
		for (; k > 0; k--)
			w->fifo[(w->head + k) % p->o.pipeline] =
			    w->fifo[(w->head + k - 1) % p->o.pipeline];
		w->head = (w->head + 1) % p->o.pipeline;
		w->count--;
		break;
	}
	if (running) {
		running->res.attempts++;
		running->res.pid = w->pid;
		running->res.start_ns = __atomic_load_n(&w->slot->cur_start_ns, __ATOMIC_RELAXED);
		running->res.end_ns = sp__now_ns();
		running->res.exit_code = -1;
		running->res.signal = 0; /* stays 0 = unknown without a status */
		running->res.oom = SP_OOM_UNKNOWN;
		if (si.si_code == CLD_KILLED || si.si_code == CLD_DUMPED)
			running->res.signal = si.si_status;
		if (si.si_code == CLD_KILLED && si.si_status == SIGKILL)
			read_oom(p, w, running, reaped); /* before the reap: /proc/PID names it */
		else if (si.si_code == CLD_KILLED || si.si_code == CLD_DUMPED)
			running->res.oom = SP_OOM_NO;
	}
	/* The reap gets its own siginfo: on ECHILD the kernel still writes
	 * (zeros) into it, which would erase the status learned above. */
	sp__reap_pidfd(w->pidfd);
	/* Tasks behind the running one never started: back to the front. */
	while (w->count) {
		struct sp__task *t = w->fifo[(w->head + w->count - 1) % p->o.pipeline];

		w->count--;
		task_to(t, SP__TE_REQUEUE);
		q_push_front(&p->pending, t);
	}
	epoll_ctl(p->epfd, EPOLL_CTL_DEL, w->from_fd, NULL);
	epoll_ctl(p->epfd, EPOLL_CTL_DEL, w->pidfd, NULL);
	epoll_ctl(p->epfd, EPOLL_CTL_DEL, w->to_fd, NULL);
	{
		uint64_t kill_seq = w->kill_seq;

		worker_to(w, SP__WE_REAP);
		worker_close(p, w);
		if (!running)
			return hello;
		if (p->op_err) {
			/* The pool killed it to end the operation. */
			cancel(p, running);
		} else if (kill_seq == running->id) {
			running->res.outcome = SP_TIMEDOUT;
			task_to(running, SP__TE_TIMEOUT);
			finish(p, running);
		} else if (si.si_code == CLD_EXITED) {
			running->res.outcome = SP_FAILED;
			running->res.exit_code = si.si_status;
			task_to(running, SP__TE_EXITED);
			finish(p, running);
		} else {
			/* Killed by a signal, or died with no status to tell. */
			on_killed(p, running);
		}
	}
	return hello;
}

/* Start the worker in slot idx during an operation; reaching the start-up
 * failure cap ends the operation instead of failing it. Returns 0 or
 * -errno. */
static int respawn(sp_pool *p, size_t idx)
{
	int r = worker_spawn(p, idx);

	if (r == SP_ESTART) {
		end_op(p, SP_ESTART);
		r = 0;
	}
	return r;
}

/* A death seen by the event loop: reap, check the start-up failure cap and
 * restart intensity, replace. */
static int worker_died(sp_pool *p, size_t idx)
{
	int hello = worker_reap_now(p, idx);

	if (p->op_err)
		return 0;
	/* A worker that never said HELLO served nothing: in a row, such deaths
	 * mean worker_init fails (or start-up is killed) every time, and
	 * replacing them forever would be a fork loop. */
	if (!hello && ++p->start_fails >= SP_START_FAILS_MAX) {
		end_op(p, SP_ESTART);
		return 0;
	}
	if (note_death(p)) {
		if (p->nkilled) {
			p->cause = p->killed[p->nkilled - 1];
			p->has_cause = 1;
		}
		end_op(p, SP_ERESTARTS);
		return 0;
	}
	return respawn(p, idx);
}

/* ---- timers ---- */

static void run_timers(sp_pool *p, int64_t now, int64_t *next)
{
	struct sp__task *t = p->backoff.head, *nx;

	for (; t && !p->op_err; t = nx) {
		nx = t->next;
		if (t->ready_ns > now) {
			if (t->ready_ns < *next)
				*next = t->ready_ns;
			continue;
		}
		if (p->o.retry_min_free) {
			uint64_t free_b = 0;
			const char *file = t->cg >= 0 ? p->cgs[t->cg].file : NULL;

			if (sp__mem_free(file, &free_b) < 0 || free_b < p->o.retry_min_free) {
				if (!t->memwait_end)
					t->memwait_end = now + (int64_t)p->o.retry_mem_wait_ms * MS;
				if (now < t->memwait_end) {
					t->ready_ns = now + 10 * MS < t->memwait_end ? now + 10 * MS
										    : t->memwait_end;
					if (t->ready_ns < *next)
						*next = t->ready_ns;
					continue;
				}
				q_remove(&p->backoff, t);
				task_to(t, SP__TE_GIVE_UP);
				t->res.outcome = SP_KILLED;
				finish(p, t);
				if (p->o.retry_fallback == SP_POLICY_ABORT) {
					p->cause = (struct sp_killed){t->index, t->res.attempts,
								      t->res.signal, t->res.pid,
								      t->res.oom, t->res.start_ns,
								      t->res.end_ns};
					p->has_cause = 1;
					end_op(p, SP_EABORTED);
					return;
				}
				continue;
			}
		}
		q_remove(&p->backoff, t);
		task_to(t, SP__TE_READY);
		q_push(&p->pending, t);
	}
	if (!p->o.task_timeout_ms)
		return;
	for (size_t i = 0; i < p->o.workers; i++) {
		struct sp__worker *w = &p->w[i];
		uint64_t seq;
		int64_t end;

		if (w->state == SP__W_NONE || !w->count || w->kill_seq)
			continue;
		seq = __atomic_load_n(&w->slot->cur_seq, __ATOMIC_ACQUIRE);
		end = __atomic_load_n(&w->slot->cur_start_ns, __ATOMIC_RELAXED) +
		      (int64_t)p->o.task_timeout_ms * MS;
		if (!seq || seq != __atomic_load_n(&w->slot->cur_seq, __ATOMIC_ACQUIRE))
			end = now + (int64_t)p->o.task_timeout_ms * MS / 8 + MS;
		else if (end <= now) {
			w->kill_seq = seq;
			pidfd_kill(w->pidfd, SIGKILL);
			continue;
		} else if (end > now + (int64_t)p->o.task_timeout_ms * MS / 8 + MS) {
			/* The worker may move to the next task before then. */
			end = now + (int64_t)p->o.task_timeout_ms * MS / 8 + MS;
		}
		if (end < *next)
			*next = end;
	}
}

/* ---- the loop ---- */

/* Run until stop(p, arg) or the deadline (INT64_MAX: none). Returns 0, 1 on
 * deadline, or -errno. */
static int run(sp_pool *p, int64_t deadline, int (*stop)(sp_pool *, void *), void *arg)
{
	struct epoll_event evs[64];
	int r;

	for (;;) {
		int64_t now = sp__now_ns(), next = deadline;
		int n, timeout;

		run_timers(p, now, &next);
		if (!p->op_err) {
			r = dispatch(p);
			if (r < 0)
				return r;
		}
		if (stop(p, arg))
			return 0;
		if (now >= deadline)
			return 1;
		if (next == INT64_MAX)
			timeout = -1;
		else
			timeout = next <= now ? 0 : (int)((next - now + MS - 1) / MS);
		n = epoll_wait(p->epfd, evs, 64, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < n; i++) {
			size_t idx = (size_t)((evs[i].data.u64 & 0xffffffffu) >> 2);
			int kind = (int)(evs[i].data.u64 & 3);
			struct sp__worker *w = &p->w[idx];

			if (w->state == SP__W_NONE || w->gen != (uint32_t)(evs[i].data.u64 >> 32))
				continue; /* reaped earlier in this batch */
			if (kind == 2) {
				r = worker_flush(p, idx);
			} else if (kind == 0) {
				r = worker_read(p, w);
				if (r == -EPROTO) {
					/* A broken stream cannot be resynchronised. */
					pidfd_kill(w->pidfd, SIGKILL);
					r = 0;
				} else if (r == 1) {
					r = worker_died(p, idx);
				}
			} else {
				r = worker_died(p, idx);
			}
			if (r < 0)
				return r;
		}
	}
}

/* ---- public API ---- */

void sp_options_init(struct sp_options *o)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	memset(o, 0, sizeof(*o));
	o->workers = n > 0 ? (unsigned)n : 1;
	o->policy = SP_POLICY_SKIP;
	o->max_retries = 3;
	o->backoff_initial_ms = 10;
	o->backoff_max_ms = 1000;
	o->retry_mem_wait_ms = 5000;
	o->retry_fallback = SP_POLICY_SKIP;
	o->restart_max = 64;
	o->restart_window_ms = 1000;
	o->max_msg = 64u << 20;
	o->pipeline = 16;
	o->batch = 1;
}

void sp_map_options_init(struct sp_map_options *m)
{
	m->policy = SP_POLICY_DEFAULT;
	m->timeout_ms = -1;
}

int sp_pool_create(sp_pool **out, const struct sp_options *opts)
{
	sp_pool *p = NULL;
	int r = 0;

	if (!out)
		return -EINVAL;
	*out = NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->epfd = -1;
	if (opts)
		p->o = *opts;
	else
		sp_options_init(&p->o);
	if (!p->o.workers || p->o.workers > 4096 || !p->o.pipeline || p->o.pipeline > 65536 ||
	    p->o.policy > SP_POLICY_RETRY ||
	    (p->o.retry_fallback != SP_POLICY_SKIP && p->o.retry_fallback != SP_POLICY_ABORT) ||
	    p->o.max_msg > (1ull << 32)) {
		r = -EINVAL;
		goto out;
	}
	if (!p->o.batch)
		p->o.batch = 1;
	p->next_id = 1;
	p->w = calloc(p->o.workers, sizeof(*p->w));
	p->deaths = calloc((size_t)p->o.restart_max + 1, sizeof(*p->deaths));
	if (!p->w || !p->deaths) {
		r = -ENOMEM;
		goto out;
	}
	for (unsigned i = 0; i < p->o.workers; i++) {
		p->w[i].pidfd = p->w[i].to_fd = p->w[i].from_fd = -1;
		p->w[i].cg = -1;
	}
	p->slots = mmap(NULL, p->o.workers * sizeof(*p->slots), PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p->slots == MAP_FAILED) {
		p->slots = NULL;
		r = -errno;
		goto out;
	}
	r = reg_add(p);
	for (unsigned i = 0; i < p->o.workers && !r; i++)
		r = worker_spawn(p, i);
out:
	if (r < 0)
		sp_pool_destroy(p);
	else
		*out = p;
	return r;
}

/* Make sure every worker slot has a live worker (after an abort). Returns
 * 0 (check p->op_err: SP_ESTART ends the operation) or -errno. */
static int ensure_workers(sp_pool *p)
{
	for (unsigned i = 0; i < p->o.workers && !p->op_err; i++) {
		if (p->w[i].state == SP__W_NONE) {
			int r = respawn(p, i);

			if (r < 0)
				return r;
		}
	}
	return 0;
}

void sp_pool_destroy(sp_pool *p)
{
	struct sp__task *t;

	if (!p)
		return;
	/* EOF first so workers leave on their own (and flush coverage data);
	 * SIGKILL only for the ones still there after the grace period. */
	pthread_mutex_lock(&reg_lock);
	for (unsigned i = 0; p->w && i < p->o.workers; i++)
		close_fd_locked(&p->w[i].to_fd);
	pthread_mutex_unlock(&reg_lock);
	int64_t deadline = sp__now_ns() + STOP_GRACE_MS * MS;
	for (unsigned i = 0; p->w && i < p->o.workers; i++) {
		struct sp__worker *w = &p->w[i];

		/* Submitted tasks a worker still holds (running or queued
		 * behind the running one) are dropped too. */
		for (unsigned k = 0; k < w->count; k++) {
			t = w->fifo[(w->head + k) % p->o.pipeline];
			if (t->async) {
				free(t->res.data);
				free(t);
			}
		}
		w->count = 0;
		if (w->pidfd < 0)
			continue;
		if (wait_readable(w->pidfd, deadline) <= 0) {
			pidfd_kill(w->pidfd, SIGKILL);
			wait_readable(w->pidfd, sp__now_ns() + DEATH_WAIT_MS * MS);
		}
		sp__reap_pidfd(w->pidfd);
		worker_close(p, w);
	}
	while ((t = q_pop(&p->done_async))) {
		free(t->res.data);
		free(t);
	}
	while ((t = q_pop(&p->pending)))
		if (t->async)
			free(t);
	while ((t = q_pop(&p->backoff)))
		if (t->async)
			free(t);
	reg_del(p);
	if (p->slots)
		munmap(p->slots, p->o.workers * sizeof(*p->slots));
	free(p->w);
	free(p->deaths);
	free(p->killed);
	free(p);
}

static void op_begin(sp_pool *p, enum sp_policy policy)
{
	p->policy = policy;
	p->op_err = 0;
	p->nkilled = 0;
	p->has_cause = 0;
	p->start_fails = 0;
}

static int map_done(sp_pool *p, void *arg)
{
	(void)arg;
	return p->remaining == 0;
}

int sp_map(sp_pool *p, sp_task_fn fn, const void *const *args, const size_t *lens, size_t n,
	   struct sp_result *results, const struct sp_map_options *mo)
{
	struct sp__task *tasks = NULL;
	enum sp_policy policy;
	int64_t deadline = INT64_MAX;
	int r = 0;

	if (!p || !fn || (n && (!args || !lens || !results)))
		return -EINVAL;
	if (p->broken)
		return -EPIPE;
	if (p->async_out)
		return -EBUSY;
	policy = mo && mo->policy != SP_POLICY_DEFAULT ? mo->policy : p->o.policy;
	if (policy > SP_POLICY_RETRY)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (lens[i] > p->o.max_msg)
			return -EMSGSIZE;
	if (mo && mo->timeout_ms >= 0)
		deadline = sp__now_ns() + (int64_t)mo->timeout_ms * MS;
	tasks = calloc(n ? n : 1, sizeof(*tasks));
	if (!tasks)
		return -ENOMEM;
	op_begin(p, policy);
	r = ensure_workers(p);
	if (r < 0 || p->op_err) {
		/* Nothing was handed out, so nothing can be half-sent: every
		 * task is cancelled and the pool stays usable, as after a
		 * failed sp_submit(). */
		if (r == 0)
			r = p->op_err;
		for (size_t i = 0; i < n; i++) {
			tasks[i].res.outcome = SP_CANCELLED;
			tasks[i].res.exit_code = -1;
		}
		goto out_results;
	}
	for (size_t i = 0; i < n; i++) {
		struct sp__task *t = &tasks[i];

		t->id = p->next_id++;
		t->index = i;
		t->fn = fn;
		t->arg = args[i];
		t->arg_len = lens[i];
		t->cg = -1;
		t->res.exit_code = -1;
		q_push(&p->pending, t);
	}
	p->remaining = n;
	r = run(p, deadline, map_done, NULL);
	if (r == 1) {
		end_op(p, -ETIMEDOUT);
		r = 0;
	}
	if (r == 0)
		r = p->op_err;
	if (r < 0 && r != SP_EABORTED && r != SP_ERESTARTS && r != SP_ESTART && r != -ETIMEDOUT) {
		p->broken = 1; /* tasks may still sit in worker queues */
		for (size_t i = 0; i < n; i++)
			if (tasks[i].state != SP__T_DONE)
				tasks[i].res.outcome = SP_CANCELLED;
	}
out_results:
	for (size_t i = 0; i < n; i++)
		results[i] = tasks[i].res;
	if (p->broken) {
		/* Nothing may keep pointers into tasks[] once it is freed. */
		p->pending.head = p->pending.tail = NULL;
		p->backoff.head = p->backoff.tail = NULL;
		for (unsigned i = 0; i < p->o.workers; i++)
			p->w[i].count = 0;
	}
	p->remaining = 0;
	free(tasks);
	return r;
}

int sp_submit(sp_pool *p, sp_task_fn fn, const void *arg, size_t len, uint64_t *id)
{
	struct sp__task *t;
	int r;

	if (!p || !fn || (len && !arg) || !id)
		return -EINVAL;
	if (p->broken)
		return -EPIPE;
	if (len > p->o.max_msg)
		return -EMSGSIZE;
	if (!p->async_out) {
		op_begin(p, p->o.policy);
		p->remaining = 0;
	}
	if (p->op_err) { /* aborted earlier: start over with fresh workers */
		p->op_err = 0;
		p->start_fails = 0;
	}
	r = ensure_workers(p);
	if (r < 0)
		return r;
	if (p->op_err)
		return p->op_err; /* SP_ESTART: outstanding tasks were cancelled */
	t = calloc(1, sizeof(*t) + len);
	if (!t)
		return -ENOMEM;
	t->id = p->next_id++;
	t->index = (size_t)t->id;
	t->fn = fn;
	t->arg = t + 1;
	t->arg_len = len;
	t->async = 1;
	t->cg = -1;
	t->res.exit_code = -1;
	if (len)
		memcpy(t + 1, arg, len);
	q_push(&p->pending, t);
	p->remaining++;
	p->async_out++;
	*id = t->id;
	r = dispatch(p);
	if (r < 0)
		p->broken = 1;
	return r;
}

static struct sp__task *find_done(sp_pool *p, uint64_t id)
{
	for (struct sp__task *t = p->done_async.head; t; t = t->next)
		if (!id || t->id == id)
			return t;
	return NULL;
}

static int wait_done(sp_pool *p, void *arg)
{
	return find_done(p, *(uint64_t *)arg) != NULL;
}

int sp_wait(sp_pool *p, uint64_t id, int timeout_ms, struct sp_result *res, uint64_t *id_out)
{
	int64_t deadline = timeout_ms < 0 ? INT64_MAX : sp__now_ns() + (int64_t)timeout_ms * MS;
	struct sp__task *t;
	int r;

	if (!p || !res)
		return -EINVAL;
	if (p->broken)
		return -EPIPE;
	if (!p->async_out)
		return -ENOENT;
	if (id && !find_done(p, id)) {
		int known = 0;

		for (struct sp__task *c = p->pending.head; c && !known; c = c->next)
			known = c->id == id;
		for (struct sp__task *c = p->backoff.head; c && !known; c = c->next)
			known = c->id == id;
		for (unsigned i = 0; i < p->o.workers && !known; i++)
			for (unsigned k = 0; k < p->w[i].count && !known; k++)
				known = p->w[i].fifo[(p->w[i].head + k) % p->o.pipeline]->id == id;
		if (!known)
			return -ENOENT;
	}
	r = run(p, deadline, wait_done, &id);
	if (r < 0) {
		p->broken = 1;
		return r;
	}
	t = find_done(p, id);
	if (!t)
		return p->op_err == SP_ERESTARTS || p->op_err == SP_ESTART ? p->op_err : -ETIMEDOUT;
	q_remove(&p->done_async, t);
	*res = t->res;
	if (id_out)
		*id_out = t->id;
	p->async_out--;
	free(t);
	return 0;
}

int sp_killed_tasks(const sp_pool *p, const struct sp_killed **list, size_t *n)
{
	if (!p || !list || !n)
		return -EINVAL;
	*list = p->killed;
	*n = p->nkilled;
	return 0;
}

int sp_abort_cause(const sp_pool *p, struct sp_killed *cause)
{
	if (!p || !cause)
		return -EINVAL;
	if (!p->has_cause)
		return -ENOENT;
	*cause = p->cause;
	return 0;
}

int sp_worker_pids(const sp_pool *p, pid_t *pids, size_t max, size_t *n)
{
	size_t k = 0;

	if (!p || !n || (max && !pids))
		return -EINVAL;
	for (unsigned i = 0; i < p->o.workers; i++)
		if (p->w[i].state != SP__W_NONE && k < max)
			pids[k++] = p->w[i].pid;
	*n = k;
	return 0;
}

void sp_results_free(struct sp_result *results, size_t n)
{
	for (size_t i = 0; results && i < n; i++) {
		free(results[i].data);
		results[i].data = NULL;
	}
}

const char *sp_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
	case SP_EABORTED:
		return "map aborted: a worker was killed (abort policy)";
	case SP_ERESTARTS:
		return "too many worker deaths in the restart window";
	case SP_ESTART:
		return "workers keep dying before serving a task (worker_init failing?)";
	default:
		return err < 0 && err > -4096 ? strerror(-err) : "unknown error";
	}
}

const char *sp_outcome_name(enum sp_outcome o)
{
	switch (o) {
	case SP_OK:
		return "ok";
	case SP_KILLED:
		return "killed";
	case SP_FAILED:
		return "failed";
	case SP_TIMEDOUT:
		return "timed out";
	case SP_CANCELLED:
		return "cancelled";
	}
	return "unknown";
}

const char *sp_oom_name(enum sp_oom o)
{
	switch (o) {
	case SP_OOM_YES:
		return "yes";
	case SP_OOM_NO:
		return "no";
	case SP_OOM_UNKNOWN:
		break;
	}
	return "unknown";
}
