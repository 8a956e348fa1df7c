/* The task kit, C side: spec parsing, the event-socket protocol and the
 * scripted behaviours (see chaos_task.h and docs/protocol.md 1-2). */
#include "chaos_task.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#ifdef SP_COVERAGE
void __gcov_dump(void);
#endif

/* A spec line is a handful of short tokens; anything longer is malformed. */
#define SPEC_LINE_MAX 1024
/* The task count is bounded so that a corrupt header cannot make us allocate
 * gigabytes before the first task line is even read. */
#define SPEC_TASKS_MAX 1000000u
#define GO_TIMEOUT_MS_DEFAULT 30000

static struct {
	int loaded;
	int status;
	int have_spec;
	struct chaos_task_def *defs;
	uint32_t n;
} cache;

/* Leave the process now, flushing coverage counters first in coverage
 * builds because _exit skips the atexit hook that would write them. */
static void kit_exit(int code)
{
#ifdef SP_COVERAGE
	__gcov_dump();
#endif
	_exit(code);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleep ms milliseconds against an absolute deadline, so that signals
 * interrupting the sleep do not stretch or shorten it. */
static void sleep_ms(uint32_t ms)
{
	struct timespec until;

	if (ms == 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR)
		;
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_i64(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (!*s)
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_action(const char *s, enum chaos_task_action *a)
{
	static const char *const names[] = {"ok", "exit", "fail", "hang", "selfkill", "segv"};

	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s, names[i]) == 0) {
			*a = (enum chaos_task_action)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* Parse one task line "ID key=value ..." into def. On failure writes the
 * reason (without location) into why. */
static int parse_task_line(char *line, uint32_t expect_id, unsigned version,
			   struct chaos_task_def *def, char *why, size_t whylen)
{
	char *save = NULL, *tok;
	uint64_t u = 0;
	int64_t i = 0;

	tok = strtok_r(line, " \t", &save);
	if (!tok || parse_u64(tok, UINT32_MAX, &u) < 0) {
		snprintf(why, whylen, "expected a task id at the start of the line");
		return -EINVAL;
	}
	if (u != expect_id) {
		snprintf(why, whylen, "task id %" PRIu64 " out of order (expected %" PRIu32 ")",
			 u, expect_id);
		return -EINVAL;
	}
	def->sleep_ms = 0;
	def->alloc_bytes = 0;
	def->action = CHAOS_TASK_OK;
	def->exit_code = 0;
	def->times = 1;
	def->result = (int64_t)expect_id * (int64_t)expect_id;
	def->hold = 0;

	while ((tok = strtok_r(NULL, " \t", &save))) {
		char *eq = strchr(tok, '=');
		const char *key = tok, *val;
		int r = 0;

		if (!eq || eq == tok) {
			snprintf(why, whylen, "expected key=value, got '%.64s'", tok);
			return -EINVAL;
		}
		*eq = '\0';
		val = eq + 1;
		if (strcmp(key, "sleep") == 0) {
			r = parse_u64(val, UINT32_MAX, &u);
			def->sleep_ms = (uint32_t)u;
		} else if (strcmp(key, "alloc") == 0) {
			r = parse_u64(val, UINT64_MAX, &u);
			def->alloc_bytes = u;
		} else if (strcmp(key, "action") == 0) {
			r = parse_action(val, &def->action);
		} else if (strcmp(key, "code") == 0) {
			r = parse_u64(val, 255, &u);
			def->exit_code = (int)u;
		} else if (strcmp(key, "times") == 0) {
			r = parse_u64(val, UINT32_MAX, &u);
			def->times = (uint32_t)u;
		} else if (strcmp(key, "result") == 0) {
			r = parse_i64(val, &i);
			def->result = i;
		} else if (strcmp(key, "hold") == 0 && version >= 2) {
			r = parse_u64(val, 1, &u);
			def->hold = (int)u;
		} else {
			snprintf(why, whylen,
				 "unknown key '%.32s' (expected sleep, alloc, action, code, times, "
				 "result%s)",
				 key, version >= 2 ? ", hold" : "");
			return -EINVAL;
		}
		if (r < 0) {
			snprintf(why, whylen, "bad value '%.64s' for %s", val, key);
			return -EINVAL;
		}
	}
	return 0;
}

int chaos_task_parse_file(const char *path, struct chaos_task_def **defs, uint32_t *n,
			  char *err, unsigned errlen)
{
	FILE *f = NULL;
	char line[SPEC_LINE_MAX + 2];
	char why[192];
	struct chaos_task_def *d = NULL;
	uint64_t ntasks = 0;
	unsigned lineno = 0, version = 0;
	uint32_t have = 0;
	int r = 0;

	why[0] = '\0';
	f = fopen(path, "re");
	if (!f) {
		r = -errno;
		snprintf(err, errlen, "%s: cannot open task spec: %s", path, strerror(-r));
		goto out;
	}
	while (fgets(line, sizeof(line), f)) {
		size_t len = strlen(line);

		lineno++;
		if (len > SPEC_LINE_MAX) {
			snprintf(why, sizeof(why), "line longer than %d bytes", SPEC_LINE_MAX);
			r = -EINVAL;
			goto out;
		}
		if (len && line[len - 1] == '\n')
			line[--len] = '\0';
		if (lineno == 1) {
			char magic[16], extra;
			unsigned long long cnt;

			if (sscanf(line, "%15s %u %llu %c", magic, &version, &cnt, &extra) != 3 ||
			    strcmp(magic, "chaos-tasks") != 0) {
				snprintf(why, sizeof(why),
					 "expected header 'chaos-tasks 1 <ntasks>'");
				r = -EINVAL;
				goto out;
			}
			if (version < 1 || version > CHAOS_TASK_SPEC_VERSION) {
				snprintf(why, sizeof(why),
					 "task spec version %u is not supported (expected 1 to %d)",
					 version, CHAOS_TASK_SPEC_VERSION);
				r = -EINVAL;
				goto out;
			}
			if (cnt > SPEC_TASKS_MAX) {
				snprintf(why, sizeof(why), "%llu tasks is more than the limit %u",
					 cnt, SPEC_TASKS_MAX);
				r = -EINVAL;
				goto out;
			}
			ntasks = cnt;
			d = calloc(ntasks ? ntasks : 1, sizeof(*d));
			if (!d) {
				r = -ENOMEM;
				snprintf(why, sizeof(why), "out of memory");
				goto out;
			}
			continue;
		}
		if (have >= ntasks) {
			snprintf(why, sizeof(why), "more task lines than the header's %" PRIu64,
				 ntasks);
			r = -EINVAL;
			goto out;
		}
		r = parse_task_line(line, have, version, &d[have], why, sizeof(why));
		if (r < 0)
			goto out;
		have++;
	}
	if (ferror(f)) {
		r = -EIO;
		snprintf(why, sizeof(why), "read error");
		goto out;
	}
	if (lineno == 0) {
		snprintf(why, sizeof(why), "empty file (expected header 'chaos-tasks 1 <ntasks>')");
		r = -EINVAL;
		goto out;
	}
	if (have != ntasks) {
		snprintf(why, sizeof(why), "%" PRIu32 " task lines, header says %" PRIu64, have,
			 ntasks);
		r = -EINVAL;
		goto out;
	}
	*defs = d;
	*n = have;
	d = NULL;
out:
	if (r < 0 && why[0])
		snprintf(err, errlen, "%s:%u: %s", path, lineno, why);
	free(d);
	if (f)
		fclose(f);
	return r;
}

int chaos_task_init(void)
{
	const char *path;
	char err[512];

	if (cache.loaded)
		return cache.status;
	cache.loaded = 1;
	cache.status = 0;
	path = getenv("CHAOS_TASKS");
	if (!path || !*path)
		return 0;
	cache.status = chaos_task_parse_file(path, &cache.defs, &cache.n, err, sizeof(err));
	if (cache.status < 0)
		fprintf(stderr, "chaos-task: %s\n", err);
	else
		cache.have_spec = 1;
	return cache.status;
}

void chaos_task_reset(void)
{
	free(cache.defs);
	memset(&cache, 0, sizeof(cache));
}

int chaos_task_get(uint32_t id, struct chaos_task_def *def)
{
	int r = chaos_task_init();

	if (r < 0)
		return r;
	if (!cache.have_spec) {
		memset(def, 0, sizeof(*def));
		def->action = CHAOS_TASK_OK;
		def->times = 1;
		def->result = (int64_t)id * (int64_t)id;
		return 0;
	}
	if (id >= cache.n)
		return -ERANGE;
	*def = cache.defs[id];
	return 0;
}

/* Write a whole line. MSG_NOSIGNAL: a controller that went away must show up
 * as an error here, not as a SIGPIPE that would look like a killed worker. */
static int send_line(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t w = send(fd, buf, len, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

static int go_timeout_ms(void)
{
	const char *s = getenv("CHAOS_GO_TIMEOUT_MS");
	uint64_t v;

	if (s && parse_u64(s, INT_MAX, &v) == 0)
		return (int)v;
	return GO_TIMEOUT_MS_DEFAULT;
}

/* Wait for "<word> <attempt>\n" (word is "go" or "ack") until the
 * deadline. Returns the attempt (>= 1), or a negative value for timeout
 * (-ETIMEDOUT), EOF (-ECONNRESET) or a malformed line (-EPROTO). */
static int64_t wait_reply(int fd, const char *word)
{
	size_t wlen = strlen(word);
	char buf[CHAOS_TASK_LINE_MAX + 1];
	size_t have = 0;
	int64_t deadline = now_ms() + go_timeout_ms();

	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int64_t left = deadline - now_ms();
		char *nl;
		ssize_t rd;
		int pr;

		if (left <= 0)
			return -ETIMEDOUT;
		pr = poll(&p, 1, (int)left);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0)
			return -errno;
		if (pr == 0)
			return -ETIMEDOUT;
		rd = recv(fd, buf + have, sizeof(buf) - 1 - have, 0);
		if (rd < 0 && errno == EINTR)
			continue;
		if (rd < 0)
			return -errno;
		if (rd == 0)
			return -ECONNRESET;
		have += (size_t)rd;
		buf[have] = '\0';
		nl = strchr(buf, '\n');
		if (nl) {
			uint64_t attempt;

			*nl = '\0';
			if (strncmp(buf, word, wlen) != 0 || buf[wlen] != ' ' ||
			    parse_u64(buf + wlen + 1, INT32_MAX, &attempt) < 0 || attempt == 0)
				return -EPROTO;
			return (int64_t)attempt;
		}
		if (have >= sizeof(buf) - 1)
			return -EPROTO;
	}
}

/* Open the per-attempt connection and say `start`. Returns the socket or
 * -errno. */
static int connect_events(const char *path, uint32_t id)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char line[64];
	int fd = -1, r;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "chaos-task: event socket path too long: %s\n", path);
		r = -ENAMETOOLONG;
		goto out;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	/* A full backlog makes connect() sleep, and a pool's handler without
	 * SA_RESTART then ends it with EINTR. On a Unix socket that sleep
	 * has not connected anything yet, so asking again is safe. */
	do
		r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		r = -errno;
		fprintf(stderr, "chaos-task: connect %s: %s\n", path, strerror(-r));
		goto out;
	}
	snprintf(line, sizeof(line), "start %" PRIu32 "\n", id);
	r = send_line(fd, line, strlen(line));
	if (r < 0) {
		fprintf(stderr, "chaos-task: send start to %s: %s\n", path, strerror(-r));
		goto out;
	}
	r = fd;
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	return r;
}

/* Report the end; for a held task (hold=1), wait for the controller's
 * `ack <attempt>` before the result goes back to the pool, so that a
 * kill-on-end fault hits the worker between the two. */
static void send_end(int fd, uint32_t id, const struct chaos_task_def *def, int64_t attempt)
{
	char line[CHAOS_TASK_LINE_MAX];
	int64_t ack;
	int r;

	snprintf(line, sizeof(line), "end %" PRIu32 " %" PRId64 "\n", id, def->result);
	r = send_line(fd, line, strlen(line));
	/* The result is real even if the controller missed it; the history
	 * will show the missing end, so do not fail the task. */
	if (r < 0) {
		fprintf(stderr, "chaos-task: task %" PRIu32 ": send end: %s\n", id, strerror(-r));
		return;
	}
	if (!def->hold)
		return;
	ack = wait_reply(fd, "ack");
	if (ack == -ETIMEDOUT || ack == -EPROTO || (ack > 0 && ack != attempt)) {
		/* Same rule as for `go`: a controller that does not answer
		 * is a controller bug, not something to wait out. */
		fprintf(stderr, "chaos-task: task %" PRIu32 ": no 'ack %" PRId64 "' for end (%s)\n",
			id, attempt, ack > 0 ? "wrong attempt" : strerror((int)-ack));
		kit_exit(CHAOS_TASK_EXIT_NO_GO);
	}
	/* EOF: the controller is gone (teardown); the result stands. */
}

/* Touch every page so the memory is really charged to the cgroup: an
 * untouched malloc() only reserves address space and would never OOM. */
static int alloc_touch(uint64_t bytes, char **out)
{
	long page = sysconf(_SC_PAGESIZE);
	volatile char *p;

	*out = NULL;
	if (bytes == 0)
		return 0;
	if (bytes > SIZE_MAX)
		return -ENOMEM;
	p = malloc((size_t)bytes);
	if (!p)
		return -ENOMEM;
	if (page <= 0)
		page = 4096;
	for (uint64_t off = 0; off < bytes; off += (uint64_t)page)
		p[off] = 1;
	p[bytes - 1] = 1;
	*out = (char *)p;
	return 0;
}

/* Never returns: the non-returning actions. */
static void misbehave(const struct chaos_task_def *def)
{
	sigset_t set;

	switch (def->action) {
	case CHAOS_TASK_EXIT:
		kit_exit(def->exit_code);
		break;
	case CHAOS_TASK_HANG:
		/* Each pause() ends at the next caught signal; looping keeps the
		 * task hung until something kills it, as the spec asks. */
		for (;;)
			pause();
		break;
	case CHAOS_TASK_SELFKILL:
#ifdef SP_COVERAGE
		__gcov_dump();
#endif
		raise(SIGKILL);
		break;
	case CHAOS_TASK_SEGV:
#ifdef SP_COVERAGE
		__gcov_dump();
#endif
		/* A pool may catch or block SIGSEGV in its workers; the task must
		 * die by the signal all the same. */
		signal(SIGSEGV, SIG_DFL);
		sigemptyset(&set);
		sigaddset(&set, SIGSEGV);
		pthread_sigmask(SIG_UNBLOCK, &set, NULL);
		raise(SIGSEGV);
		break;
	default:
		break;
	}
	/* Not reached unless a signal could not be delivered. */
	kit_exit(71);
}

int chaos_task_run(uint32_t id, int64_t *result)
{
	struct chaos_task_def def;
	const char *events = getenv("CHAOS_EVENTS");
	char line[CHAOS_TASK_LINE_MAX];
	char *mem = NULL;
	int64_t attempt = 1;
	int fd = -1, r, bad;

	r = chaos_task_get(id, &def);
	if (r == -ERANGE)
		fprintf(stderr, "chaos-task: task %" PRIu32 " is not in the spec (%" PRIu32
				" tasks)\n",
			id, cache.n);
	if (r < 0)
		goto out;

	if (events && *events) {
		fd = connect_events(events, id);
		if (fd < 0) {
			r = fd;
			goto out;
		}
		attempt = wait_reply(fd, "go");
		if (attempt < 0) {
			/* The controller owns the attempt count; without it the
			 * task cannot know what to do, and the spec says so. */
			fprintf(stderr, "chaos-task: task %" PRIu32 ": no 'go' from %s (%s)\n", id,
				events, strerror((int)-attempt));
			kit_exit(CHAOS_TASK_EXIT_NO_GO);
		}
	}

	bad = def.times == 0 || (uint64_t)attempt <= def.times;
	sleep_ms(def.sleep_ms);
	if (bad) {
		r = alloc_touch(def.alloc_bytes, &mem);
		if (r < 0) {
			fprintf(stderr, "chaos-task: task %" PRIu32 ": cannot allocate %" PRIu64
					" bytes\n",
				id, def.alloc_bytes);
			goto out;
		}
	}
	if (bad && def.action == CHAOS_TASK_FAIL) {
		snprintf(line, sizeof(line),
			 "fail %" PRIu32 " task %" PRIu32 " failed on purpose (attempt %" PRId64
			 ")\n",
			 id, id, attempt);
		if (fd >= 0)
			send_line(fd, line, strlen(line));
		r = CHAOS_TASK_FAILED;
		goto out;
	}
	if (bad && def.action != CHAOS_TASK_OK)
		misbehave(&def);

	if (fd >= 0)
		send_end(fd, id, &def, attempt);
	*result = def.result;
	r = 0;
out:
	free(mem);
	if (fd >= 0)
		close(fd);
	return r;
}
