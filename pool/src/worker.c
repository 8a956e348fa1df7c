/* The worker's side: read task frames from the pool, run them, send results.
 * Runs in a forked child and leaves only through sp__child_exit(). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "internal.h"
#include "wire.h"

#ifdef SP_COVERAGE
void __gcov_dump(void);
#endif

void sp__child_exit(int code)
{
#ifdef SP_COVERAGE
	__gcov_dump();
#endif
	_exit(code);
}

/* Write all of iov; a short write is continued, EINTR retried. Returns 0
 * or -errno (EPIPE when the pool is gone). */
static int write_all(int fd, struct iovec *iov, int cnt)
{
	while (cnt > 0) {
		ssize_t w = writev(fd, iov, cnt);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		while (cnt > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			cnt--;
		}
		if (cnt > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

struct wbuf {
	uint8_t *p;
	size_t len, cap;
};

static int wbuf_flush(int fd, struct wbuf *b)
{
	struct iovec iov = {b->p, b->len};
	int r = b->len ? write_all(fd, &iov, 1) : 0;

	b->len = 0;
	return r;
}

/* Queue one reply; large payloads go out directly to skip a copy. */
static int reply(int fd, struct wbuf *b, const struct sp__frame *f, const void *payload)
{
	uint8_t hdr[SP__HDR];
	int r;

	sp__pack(hdr, f);
	if (f->len > 65536) {
		struct iovec iov[2] = {{hdr, SP__HDR}, {(void *)payload, f->len}};

		r = wbuf_flush(fd, b);
		return r ? r : write_all(fd, iov, 2);
	}
	if (b->len + SP__HDR + f->len > b->cap) {
		r = wbuf_flush(fd, b);
		if (r)
			return r;
	}
	memcpy(b->p + b->len, hdr, SP__HDR);
	if (f->len)
		memcpy(b->p + b->len + SP__HDR, payload, f->len);
	b->len += SP__HDR + f->len;
	return 0;
}

/* Put the child in a clean state: default dispositions, empty mask, die
 * with the pool, none of the pool's other descriptors. */
static void child_setup(const struct sp__worker_args *a)
{
	struct sigaction sa;
	sigset_t none;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &sa, NULL); /* EINVAL for reserved ones is fine */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		sp__child_exit(125);
	/* The pool may have died between fork and prctl: then nobody would
	 * deliver the death signal, so check by hand. */
	if (getppid() != a->parent)
		sp__child_exit(125);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

void sp__worker_main(const struct sp__worker_args *a)
{
	struct wbuf out = {0};
	uint8_t *in = NULL;
	size_t icap = 256 * 1024, ilen = 0, ioff = 0;
	unsigned since_flush = 0;
	char file[SP__PATH];
	uint64_t count = UINT64_MAX;
	struct sp__frame f;

	child_setup(a);
	if (a->init && a->init(a->userdata) != 0)
		sp__child_exit(126);
	out.cap = 64 * 1024;
	out.p = malloc(out.cap);
	in = malloc(icap);
	if (!out.p || !in)
		sp__child_exit(124);
	/* The baseline is read here, after init may have moved the worker to
	 * another cgroup and before any task could have been OOM-killed. */
	if (sp__oom_file(0, file, sizeof(file)) < 0 || sp__oom_count(file, &count) < 0) {
		file[0] = '\0';
		count = UINT64_MAX;
	}
	memset(&f, 0, sizeof(f));
	f.type = SP__MSG_HELLO;
	f.a = count;
	f.len = strlen(file);
	if (reply(a->out_fd, &out, &f, file) || wbuf_flush(a->out_fd, &out))
		sp__child_exit(0);

	for (;;) {
		int r = sp__unpack(in + ioff, ilen - ioff, a->max_msg, &f);

		if (r == 0 && ilen - ioff < SP__HDR + f.len)
			r = -EAGAIN;
		if (r == -EPROTO || (r == 0 && f.type != SP__MSG_TASK))
			sp__child_exit(123);
		if (r == -EAGAIN) {
			ssize_t n;

			/* Only block on input after every result is out. */
			if (wbuf_flush(a->out_fd, &out))
				sp__child_exit(0);
			since_flush = 0;
			if (ioff > 0) {
				memmove(in, in + ioff, ilen - ioff);
				ilen -= ioff;
				ioff = 0;
			}
			if (ilen >= SP__HDR && sp__unpack(in, ilen, a->max_msg, &f) == 0 &&
			    SP__HDR + f.len > icap) {
				uint8_t *bigger = realloc(in, SP__HDR + f.len);

				if (!bigger)
					sp__child_exit(124);
				in = bigger;
				icap = SP__HDR + f.len;
			}
			n = read(a->in_fd, in + ilen, icap - ilen);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				sp__child_exit(0); /* EOF: the pool closed us or died */
			ilen += (size_t)n;
			continue;
		}

		struct sp_task_ctx ctx = {(size_t)f.b, (unsigned)f.code, a->userdata};
		sp_task_fn fn = (sp_task_fn)(uintptr_t)f.a;
		void *res = NULL;
		size_t rlen = 0;
		struct sp__frame rf = {0};

		rf.seq = f.seq;
		rf.a = (uint64_t)sp__now_ns();
		__atomic_store_n(&a->slot->cur_start_ns, (int64_t)rf.a, __ATOMIC_RELAXED);
		__atomic_store_n(&a->slot->cur_seq, f.seq, __ATOMIC_RELEASE);
		r = fn(&ctx, in + ioff + SP__HDR, (size_t)f.len, &res, &rlen);
		rf.b = (uint64_t)sp__now_ns();
		ioff += SP__HDR + f.len;
		if (r == 0 && rlen > a->max_msg)
			r = -EMSGSIZE;
		rf.type = r == 0 ? SP__MSG_DONE : SP__MSG_ERR;
		rf.code = r;
		rf.len = r == 0 ? rlen : 0;
		if (a->batch > 1) {
			/* An unsent result is run again after a death, so the
			 * slot must stop naming this task now. */
			__atomic_store_n(&a->slot->cur_seq, 0, __ATOMIC_RELEASE);
		}
		if (reply(a->out_fd, &out, &rf, res))
			sp__child_exit(0);
		free(res);
		if (++since_flush >= a->batch) {
			if (wbuf_flush(a->out_fd, &out))
				sp__child_exit(0);
			since_flush = 0;
		}
		__atomic_store_n(&a->slot->cur_seq, 0, __ATOMIC_RELEASE);
	}
}
