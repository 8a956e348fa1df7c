/* The small pool shared by the broken pools of tests/broken/ (minipool.h).
 * It is a correct pool on its own: the broken behaviours are the death hooks
 * of the programs that use it. It handles no task timeout
 * (CHAOS_TASK_TIMEOUT_MS is ignored) and aborts only on a worker's death.
 */
#include "minipool.h"

#include "../../scenarios/kit/chaos_task.h"
#include "../util/testutil.h"
#include "check/value.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* One message on a result pipe: task id (4), kit return code (4), value (8),
 * in host byte order (both ends are the same program). 16 bytes, far below
 * PIPE_BUF, so a write is whole or nothing. */
#define MP_MSG_LEN 16

/* A count from the environment, in the controller's grammar of values;
 * def when it is unset. 0 or -EINVAL (said on stderr). */
static int env_u32(const char *pool, const char *name, uint32_t def, uint32_t *out)
{
	const char *s = getenv(name);
	char msg[CHAOS_VALUE_MSG_MAX];
	uint64_t v = def;

	if (s && *s && chaos_value_number(s, 0, 1000000, &v, msg, sizeof(msg)) < 0) {
		fprintf(stderr, "%s: %s: %s\n", pool, name, msg);
		return -EINVAL;
	}
	*out = (uint32_t)v;
	return 0;
}

/* ---- the worker ----------------------------------------------------------- */

/* A worker: run every task id the parent sends, answer each with one
 * message. EOF on the command pipe (the map is over, or the parent died)
 * ends it, so no worker outlives its pool for long. */
static void worker_loop(int cmd_fd, int res_fd) __attribute__((noreturn));

static void worker_loop(int cmd_fd, int res_fd)
{
	unsigned char msg[MP_MSG_LEN];
	uint32_t id;
	int64_t value;
	int32_t rc;
	ssize_t n;

	for (;;) {
		n = read(cmd_fd, &id, sizeof(id));
		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(id))
			tu_child_exit(0);
		value = 0;
		rc = chaos_task_run(id, &value);
		memcpy(msg, &id, 4);
		memcpy(msg + 4, &rc, 4);
		memcpy(msg + 8, &value, 8);
		do
			n = write(res_fd, msg, sizeof(msg));
		while (n < 0 && errno == EINTR);
		if (n != (ssize_t)sizeof(msg))
			tu_child_exit(1);
	}
}

/* Fork the worker of slot i with its two pipes. 0 or -errno. */
static int spawn_worker(struct mp *p, uint32_t i)
{
	int cmd[2] = {-1, -1}, res[2] = {-1, -1}, err;
	struct mp_worker *w = &p->w[i];
	pid_t pid;

	if (pipe2(cmd, O_CLOEXEC) < 0 || pipe2(res, O_CLOEXEC) < 0)
		goto fail;
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		goto fail;
	if (pid == 0) {
		/* Another worker holding this one's pipe ends would hide
		 * its EOFs: keep only our own. */
		for (uint32_t j = 0; j < p->nworkers; j++) {
			if (p->w[j].pid > 0) {
				close(p->w[j].cmd_fd);
				close(p->w[j].res_fd);
			}
		}
		close(cmd[1]);
		close(res[0]);
		worker_loop(cmd[0], res[1]);
	}
	close(cmd[0]);
	close(res[1]);
	w->pid = pid;
	w->cmd_fd = cmd[1];
	w->res_fd = res[0];
	w->task = -1;
	return 0;
fail:
	err = -errno;
	for (int k = 0; k < 2; k++) {
		if (cmd[k] >= 0)
			close(cmd[k]);
		if (res[k] >= 0)
			close(res[k]);
	}
	return err;
}

/* ---- the queue and the policies ------------------------------------------- */

static void set_abort(struct mp *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_abort(struct mp *p, const char *fmt, ...)
{
	va_list ap;

	if (p->aborted)
		return;
	p->aborted = 1;
	va_start(ap, fmt);
	vsnprintf(p->abort_why, sizeof(p->abort_why), fmt, ap);
	va_end(ap);
}

void mp_requeue(struct mp *p, uint32_t id)
{
	if (p->qhead + p->qlen == p->qcap && p->qhead > 0) {
		memmove(p->queue, p->queue + p->qhead, p->qlen * sizeof(*p->queue));
		p->qhead = 0;
	}
	if (p->qlen == p->qcap) {
		size_t nc = p->qcap ? p->qcap * 2 : 16;
		uint32_t *nq = realloc(p->queue, nc * sizeof(*nq));

		if (!nq) {
			set_abort(p, "out of memory for the task queue");
			return;
		}
		p->queue = nq;
		p->qcap = nc;
	}
	p->queue[p->qhead + p->qlen++] = id;
}

void mp_death(struct mp *p, uint32_t id, int sig, int code)
{
	struct mp_task *t = &p->t[id];

	if (sig)
		t->killed = 1;
	switch (p->policy) {
	case MP_ABORT:
		if (sig)
			set_abort(p, "task %u: its worker was killed by %s", id,
				  chaos_signal_name(sig));
		else
			set_abort(p, "task %u: its worker exited with code %d", id, code);
		return;
	case MP_RETRY:
		if (t->attempts <= p->retries) {
			mp_requeue(p, id);
			return;
		}
		break;
	case MP_SKIP:
		break;
	}
	if (sig) {
		t->out = MP_OUT_LOST;
	} else {
		t->out = MP_OUT_ERROR;
		snprintf(t->why, sizeof(t->why), "worker exited with code %d", code);
	}
}

/* ---- the parent's loop ---------------------------------------------------- */

/* Send queued tasks to idle workers. A worker that died idle fails the
 * write (EPIPE: SIGPIPE is ignored); its task goes back to the head of the
 * queue and the death is seen by poll. */
static void dispatch(struct mp *p)
{
	for (uint32_t i = 0; i < p->nworkers && p->qlen; i++) {
		struct mp_worker *w = &p->w[i];
		uint32_t id;
		ssize_t n;

		if (w->pid <= 0 || w->task >= 0)
			continue;
		id = p->queue[p->qhead];
		do
			n = write(w->cmd_fd, &id, sizeof(id));
		while (n < 0 && errno == EINTR);
		if (n != (ssize_t)sizeof(id))
			continue;
		p->qhead++;
		p->qlen--;
		w->task = id;
		p->t[id].attempts++;
	}
}

/* Worker i's pipe reached EOF: reap it, let the hook judge its task, and
 * start its replacement. */
static void worker_died(struct mp *p, uint32_t i, mp_death_fn death)
{
	struct mp_worker *w = &p->w[i];
	int64_t task = w->task;
	int status = 0, r;

	close(w->cmd_fd);
	close(w->res_fd);
	/* EOF means the process has exited (its descriptors are closed), so
	 * this wait ends at once. */
	while (waitpid(w->pid, &status, 0) < 0 && errno == EINTR)
		;
	w->pid = 0;
	w->task = -1;
	if (task >= 0) {
		p->deaths++;
		death(p, (uint32_t)task, WIFSIGNALED(status) ? WTERMSIG(status) : 0,
		      WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	}
	if (p->aborted)
		return;
	r = spawn_worker(p, i);
	if (r < 0)
		set_abort(p, "cannot start a worker: %s", strerror(-r));
}

/* Worker i's result pipe is readable: a result, or its death. */
static void worker_ready(struct mp *p, uint32_t i, mp_death_fn death)
{
	struct mp_worker *w = &p->w[i];
	unsigned char msg[MP_MSG_LEN];
	struct mp_task *t;
	uint32_t id;
	int32_t rc;
	ssize_t n;

	do
		n = read(w->res_fd, msg, sizeof(msg));
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(msg)) {
		worker_died(p, i, death);
		return;
	}
	memcpy(&id, msg, 4);
	memcpy(&rc, msg + 4, 4);
	if (id >= p->ntasks || (int64_t)id != w->task) {
		set_abort(p, "worker %d answered for task %u, not %" PRId64, (int)w->pid, id,
			  w->task);
		return;
	}
	w->task = -1;
	t = &p->t[id];
	/* A task run again after it had returned keeps its first outcome. */
	if (t->out != MP_OUT_NONE)
		return;
	if (rc == 0) {
		t->out = MP_OUT_RESULT;
		memcpy(&t->value, msg + 8, 8);
	} else {
		t->out = MP_OUT_ERROR;
		snprintf(t->why, sizeof(t->why), "task returned %d", (int)rc);
	}
}

static int busy(const struct mp *p)
{
	for (uint32_t i = 0; i < p->nworkers; i++)
		if (p->w[i].pid > 0 && p->w[i].task >= 0)
			return 1;
	return 0;
}

/* Until no task is queued or running, or the map is aborted. 0 or
 * -ENOMEM. */
static int run_map(struct mp *p, mp_death_fn death)
{
	struct pollfd *pfd = calloc(p->nworkers, sizeof(*pfd));
	uint32_t *slot = calloc(p->nworkers, sizeof(*slot));
	int r = -ENOMEM;

	if (!pfd || !slot)
		goto out;
	r = 0;
	while (!p->aborted && (p->qlen || busy(p))) {
		nfds_t n = 0;

		dispatch(p);
		for (uint32_t i = 0; i < p->nworkers; i++) {
			if (p->w[i].pid <= 0)
				continue;
			pfd[n].fd = p->w[i].res_fd;
			pfd[n].events = POLLIN;
			pfd[n].revents = 0;
			slot[n++] = i;
		}
		if (!n) {
			set_abort(p, "no worker left");
			break;
		}
		/* No timeout: a pool waits for its workers, and a hang is
		 * what the controller's deadline is there to find. */
		if (poll(pfd, n, -1) < 0) {
			if (errno != EINTR)
				set_abort(p, "poll: %s", strerror(errno));
			continue;
		}
		for (nfds_t k = 0; k < n && !p->aborted; k++)
			if (pfd[k].revents)
				worker_ready(p, slot[k], death);
	}
out:
	free(pfd);
	free(slot);
	return r;
}

/* End every worker and reap it: closing the command pipe ends an idle one;
 * after an abort they are SIGKILLed (a child not yet reaped keeps its PID,
 * so the bare PID is safe here). */
static void stop_workers(struct mp *p)
{
	for (uint32_t i = 0; p->w && i < p->nworkers; i++) {
		if (p->w[i].pid <= 0)
			continue;
		if (p->aborted)
			kill(p->w[i].pid, SIGKILL);
		close(p->w[i].cmd_fd);
	}
	for (uint32_t i = 0; p->w && i < p->nworkers; i++) {
		if (p->w[i].pid <= 0)
			continue;
		while (waitpid(p->w[i].pid, NULL, 0) < 0 && errno == EINTR)
			;
		close(p->w[i].res_fd);
		p->w[i].pid = 0;
	}
}

static void print_outcomes(const struct mp *p)
{
	char list[4096] = "";
	size_t used = 0;

	for (uint32_t id = 0; id < p->ntasks; id++) {
		const struct mp_task *t = &p->t[id];

		if (t->out == MP_OUT_RESULT)
			printf("result %u %" PRId64 "\n", id, t->value);
		else if (t->out == MP_OUT_LOST)
			printf("lost %u\n", id);
		else if (t->out == MP_OUT_ERROR)
			printf("error %u %s\n", id, t->why);
		if (t->killed && used + 12 < sizeof(list))
			used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%u",
						 used ? "," : "", id);
	}
	printf("killed-tasks %s\n", list);
	if (p->aborted)
		printf("aborted %s\n", p->abort_why);
	printf("done\n");
}

/* The environment into p, and the queue of every task. 0 or -errno. */
static int mp_init(struct mp *p, const char *name)
{
	/* The order of enum mp_policy. */
	static const char *const policies[] = {"skip", "abort", "retry"};
	const char *policy = getenv("CHAOS_POLICY");
	char msg[CHAOS_VALUE_MSG_MAX];
	int idx = MP_SKIP;

	if (env_u32(name, "CHAOS_WORKERS", 2, &p->nworkers) < 0 ||
	    env_u32(name, "CHAOS_NTASKS", 10, &p->ntasks) < 0 ||
	    env_u32(name, "CHAOS_RETRIES", 0, &p->retries) < 0)
		return -EINVAL;
	if (!p->nworkers)
		p->nworkers = 1;
	if (policy && *policy &&
	    chaos_value_word(policy, policies, 3, "policy", &idx, msg, sizeof(msg)) < 0) {
		fprintf(stderr, "%s: CHAOS_POLICY: %s\n", name, msg);
		return -EINVAL;
	}
	p->policy = (enum mp_policy)idx;
	p->t = calloc(p->ntasks ? p->ntasks : 1, sizeof(*p->t));
	p->w = calloc(p->nworkers, sizeof(*p->w));
	if (!p->t || !p->w)
		return -ENOMEM;
	for (uint32_t id = 0; id < p->ntasks; id++)
		mp_requeue(p, id);
	return p->aborted ? -ENOMEM : 0;
}

int mp_main(const char *name, mp_death_fn death)
{
	struct mp p;
	int r, rc = 1;

	memset(&p, 0, sizeof(p));
	if (!death)
		death = mp_death;
	r = mp_init(&p, name);
	if (r < 0)
		goto out;
	/* Parse the task spec once, before the fork: every worker inherits
	 * it and a bad spec is reported once, here. */
	r = chaos_task_init();
	if (r < 0)
		goto out;
	/* A write to a worker that died idle must fail, not kill the pool.
	 * Outcome lines go out whole as they are printed: the controller
	 * reads them as they come. */
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (uint32_t i = 0; i < p.nworkers; i++) {
		r = spawn_worker(&p, i);
		if (r < 0) {
			fprintf(stderr, "%s: cannot start a worker: %s\n", name, strerror(-r));
			goto out;
		}
	}
	r = run_map(&p, death);
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", name, strerror(-r));
		goto out;
	}
	/* Every worker is gone before `done`: nothing of the pool outlives
	 * its last line. */
	stop_workers(&p);
	print_outcomes(&p);
	rc = 0;
out:
	stop_workers(&p);
	free(p.t);
	free(p.w);
	free(p.queue);
	return rc;
}
