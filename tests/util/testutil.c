/* Helpers shared by the test and helper programs; see testutil.h. They
 * were copied from test to test before; one copy keeps their checks the
 * same everywhere. */
#include "testutil.h"

#include "check/history_read.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
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

/* ---- processes and time ------------------------------------------------------ */

void tu_child_exit(int code)
{
#ifdef SP_COVERAGE
	__gcov_dump();
#endif
	_exit(code);
}

int64_t tu_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void tu_sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int tu_wait_status(pid_t pid, unsigned ms, int *status)
{
	int64_t deadline = tu_now_ms() + ms;
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	int ret = 0;

	if (fd < 0)
		return -errno;
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int64_t left = deadline - tu_now_ms();

		if (left <= 0) {
			syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0);
			tu_reap(pid, status);
			ret = -ETIMEDOUT;
			break;
		}
		if (poll(&p, 1, (int)left) > 0) {
			tu_reap(pid, status);
			break;
		}
	}
	close(fd);
	return ret;
}

pid_t tu_reap(pid_t pid, int *status)
{
	pid_t r;

	do
		r = waitpid(pid, status, 0);
	while (r < 0 && errno == EINTR);
	return r;
}

int tu_wait_child(pid_t pid, int ms)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0), status = 0;
	struct pollfd p = {.fd = pidfd, .events = POLLIN};

	int64_t deadline = tu_now_ms() + ms;
	int r;

	assert_true(pidfd >= 0);
	/* A test may storm itself with signals: EINTR waits for the rest. */
	do {
		int64_t left = deadline - tu_now_ms();

		r = poll(&p, 1, left > 0 ? (int)left : 0);
	} while (r < 0 && errno == EINTR);
	if (r <= 0) {
		syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
		tu_reap(pid, NULL);
		close(pidfd);
		fail_msg("child %d did not finish within %d ms", (int)pid, ms);
	}
	close(pidfd);
	assert_int_equal(tu_reap(pid, &status), pid);
	if (!WIFEXITED(status))
		fail_msg("child %d ended by signal %d", (int)pid, WTERMSIG(status));
	return WEXITSTATUS(status);
}

int tu_pid_running(pid_t pid)
{
	char path[64], buf[512], *r;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	r = fgets(buf, sizeof(buf), f);
	fclose(f);
	if (!r)
		return 0;
	/* The command name may hold spaces and parentheses: the state
	 * follows the last ')'. */
	r = strrchr(buf, ')');
	return r && r[2] != 'Z' && r[2] != 'X';
}

int tu_pid_in_run_cgroup(pid_t pid)
{
	char path[64], cg[2048] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	f = fopen(path, "re");
	if (f) {
		size_t n = fread(cg, 1, sizeof(cg) - 1, f);

		cg[n] = '\0';
		fclose(f);
	}
	return strstr(cg, "/chaos.") != NULL;
}

int tu_own_run_cgroups(const char *dir)
{
	char prefix[64];
	struct dirent *de;
	int n = 0;
	DIR *d;

	if (!dir[0])
		return 0;
	d = opendir(dir);
	if (!d)
		return -1;
	snprintf(prefix, sizeof(prefix), "chaos.%d.", (int)getpid());
	while ((de = readdir(d)) != NULL)
		n += strncmp(de->d_name, prefix, strlen(prefix)) == 0;
	closedir(d);
	return n;
}

/* ---- histories --------------------------------------------------------------- */

/* Through the controller's one history reader, strictly: every line of a
 * history the controller wrote is a JSON object that matches the schema,
 * so this also checks the writer on every run a test makes. */
void tu_hist_load(const char *path, struct tu_hist *h)
{
	struct chaos_hread *rd = NULL;
	struct chaos_hread_stats st;
	struct chaos_hevent e;
	int r;

	memset(h, 0, sizeof(*h));
	r = chaos_hread_open(path, &rd);
	if (r)
		fail_msg("cannot open %s: %s", path, strerror(-r));
	while ((r = chaos_hread_next(rd, &e)) == 1) {
		if (!e.valid)
			break;
		h->ev = realloc(h->ev, (h->n + 1) * sizeof(*h->ev));
		assert_non_null(h->ev);
		h->ev[h->n++] = json_incref(e.o);
	}
	chaos_hread_stats(rd, &st);
	if (r < 0 || st.invalid || st.bad_lines || st.truncated) {
		char why[400];

		snprintf(why, sizeof(why), "%s", chaos_hread_error(rd));
		chaos_hread_close(rd);
		fail_msg("%s: %s%s%s", path, r < 0 ? strerror(-r) : "",
			 r < 0 && why[0] ? ": " : "",
			 why[0] ? why : "the last line is cut off");
	}
	chaos_hread_close(rd);
}

void tu_hist_free(struct tu_hist *h)
{
	for (size_t i = 0; i < h->n; i++)
		json_decref(h->ev[i]);
	free(h->ev);
	memset(h, 0, sizeof(*h));
}

const char *tu_sval(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

long long tu_ival(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

json_t *tu_hist_find(const struct tu_hist *h, const char *ev, const char *key, const char *text,
		     size_t k)
{
	for (size_t i = 0; i < h->n; i++) {
		if (strcmp(tu_sval(h->ev[i], "ev"), ev))
			continue;
		if (key && !strstr(tu_sval(h->ev[i], key), text))
			continue;
		if (k-- == 0)
			return h->ev[i];
	}
	return NULL;
}

size_t tu_hist_count(const struct tu_hist *h, const char *ev, const char *key, const char *text)
{
	size_t n = 0;

	for (size_t i = 0; i < h->n; i++)
		n += !strcmp(tu_sval(h->ev[i], "ev"), ev) &&
		     (!key || strstr(tu_sval(h->ev[i], key), text) != NULL);
	return n;
}

void tu_assert_event(const struct tu_hist *h, const char *ev, const char *key, const char *text)
{
	if (!tu_hist_find(h, ev, key, text, 0))
		fail_msg("no '%s' event with %s containing '%s'", ev, key ? key : "-",
			 text ? text : "-");
}

/* ---- text and files ----------------------------------------------------------- */

int tu_count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

int tu_write_file(const char *dir, const char *name, const char *val)
{
	char path[4200];
	int fd, r = 0;

	snprintf(path, sizeof(path), "%s%s%s", dir, name ? "/" : "", name ? name : "");
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		r = -errno;
	close(fd);
	return r;
}

int tu_own_memcg(char *out, size_t cap, int *v2)
{
	FILE *f = fopen("/proc/self/cgroup", "re");
	char line[1024];
	int found = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;

		if (!c2)
			continue;
		line[strcspn(line, "\n")] = '\0';
		*c2 = '\0';
		if (strstr(c1 + 1, "memory")) {
			snprintf(out, cap, "/sys/fs/cgroup/memory%s", c2 + 1);
			*v2 = 0;
			found = 0;
			break;
		}
		if (strcmp(line, "0") == 0 && c1[1] == '\0') {
			char probe[4200];

			snprintf(out, cap, "/sys/fs/cgroup%s", c2 + 1);
			snprintf(probe, sizeof(probe), "%s/memory.max", out);
			if (access(probe, F_OK) == 0) {
				*v2 = 1;
				found = 0;
			}
		}
	}
	fclose(f);
	return found;
}

void tu_slurp(const char *path, char *buf, size_t len)
{
	ssize_t n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	buf[0] = '\0';
	if (fd < 0)
		return;
	n = read(fd, buf, len - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
}

char *tu_read_all(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf;
	long len;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)len + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	return buf;
}

void tu_assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("expected '%s' in:\n%s", needle, hay);
}

/* ---- locations ------------------------------------------------------------------ */

int tu_exe_dir(char *buf, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", buf, len - 1);
	char *slash;

	if (n <= 0)
		return n < 0 ? -errno : -ENOENT;
	buf[n] = '\0';
	slash = strrchr(buf, '/');
	if (!slash)
		return -ENOENT;
	*slash = '\0';
	return 0;
}

int tu_find_up(const char *start, const char *rel, char *buf, size_t len)
{
	char dir[PATH_MAX], p[PATH_MAX + 256];
	struct stat st;
	char *slash;

	snprintf(dir, sizeof(dir), "%s", start);
	for (;;) {
		snprintf(p, sizeof(p), "%s/%s", dir, rel);
		if (stat(p, &st) == 0)
			break;
		slash = strrchr(dir, '/');
		if (!slash || slash == dir)
			return -ENOENT;
		*slash = '\0';
	}
	snprintf(buf, len, "%s", dir);
	return 0;
}

int tu_cli_locate(char *bin, size_t binlen, char *root, size_t rootlen, const char *marker)
{
	char dir[PATH_MAX], *slash;

	if (tu_exe_dir(dir, sizeof(dir)))
		return -1;
	/* <build>/tests -> <build>, where the CLI is. */
	slash = strrchr(dir, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	snprintf(bin, binlen, "%.*s/chaos", PATH_MAX - 16, dir);
	if (access(bin, X_OK) < 0) {
		fprintf(stderr, "%s: %s\n", bin, strerror(errno));
		return -1;
	}
	if (tu_find_up(dir, marker, root, rootlen)) {
		fprintf(stderr, "no source tree (holding %s) above %s\n", marker, dir);
		return -1;
	}
	return 0;
}

int tu_cli_setup(char *bin, size_t binlen, char *root, size_t rootlen, const char *marker,
		 char *tmpdir)
{
	if (tu_cli_locate(bin, binlen, root, rootlen, marker) || !mkdtemp(tmpdir))
		return -1;
	return 0;
}

int tu_helper_setup(const char *name, char *helper, size_t hlen, const char *outname,
		    char *outroot, size_t olen)
{
	char dir[PATH_MAX];

	if (tu_exe_dir(dir, sizeof(dir)))
		return -1;
	snprintf(helper, hlen, "%.*s/helpers/%s", PATH_MAX - 64, dir, name);
	if (outname) {
		snprintf(outroot, olen, "%.*s/%s", PATH_MAX - 64, dir, outname);
		mkdir(outroot, 0755);
	}
	return access(helper, X_OK);
}

int tu_rm_rf(const char *dir)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- the CLI -------------------------------------------------------------------- */

void tu_run_cli(const struct tu_cli_env *env, struct tu_cli *r, const char *path, int limit_ms,
		int sigint_after_ms, char *const *args)
{
	char *argv[32], outp[PATH_MAX], errp[PATH_MAX];
	int64_t deadline = tu_now_ms() + limit_ms, sig_at = -1;
	int pidfd, status = 0, n = 0;
	struct pollfd pfd;
	pid_t pid;

	argv[n++] = (char *)env->bin;
	while (args[n - 1] && n < 31) {
		argv[n] = args[n - 1];
		n++;
	}
	argv[n] = NULL;
	snprintf(outp, sizeof(outp), "%s/stdout", env->tmpdir);
	snprintf(errp, sizeof(errp), "%s/stderr", env->tmpdir);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int o = open(outp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		int e = open(errp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		/* From the source tree, as a user runs it: scenario paths in
		 * the tests are relative to it. */
		if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0 || chdir(env->cwd) < 0)
			tu_child_exit(126);
		if (path)
			setenv("PATH", path, 1);
		execv(env->bin, argv);
		tu_child_exit(127);
	}
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	assert_true(pidfd >= 0);
	if (sigint_after_ms >= 0)
		sig_at = tu_now_ms() + sigint_after_ms;
	pfd.fd = pidfd;
	pfd.events = POLLIN;
	for (;;) {
		int64_t now = tu_now_ms(), wait = deadline - now;

		if (sig_at >= 0 && now >= sig_at) {
			syscall(SYS_pidfd_send_signal, pidfd, SIGINT, NULL, 0);
			sig_at = -1;
		}
		if (sig_at >= 0 && sig_at - now < wait)
			wait = sig_at - now;
		if (wait <= 0 && now >= deadline)
			break;
		if (poll(&pfd, 1, (int)(wait > 0 ? wait : 0)) > 0)
			break;
	}
	if (waitpid(pid, &status, WNOHANG) != pid) {
		syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
		waitpid(pid, &status, 0);
		close(pidfd);
		fail_msg("%s %s did not finish within %d ms", env->bin, args[0] ? args[0] : "",
			 limit_ms);
	}
	close(pidfd);
	r->code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	tu_slurp(outp, r->out, sizeof(r->out));
	tu_slurp(errp, r->err, sizeof(r->err));
}

/* ---- signal storms ------------------------------------------------------------ */

static volatile sig_atomic_t storm_hits;
static struct tu_storm *storm_running; /* for tu_storm_teardown() */

static void storm_handler(int sig)
{
	(void)sig;
	storm_hits++;
}

/* The storm child: sig to target every period_us until it is killed, the
 * target is gone, or STORM_MAX_MS passed (so a test that forgets to stop
 * it cannot leave it running for ever). */
#define STORM_MAX_MS 120000
static void storm_child(pid_t target, int sig, unsigned period_us)
{
	int64_t end = tu_now_ms() + STORM_MAX_MS;
	struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)period_us * 1000L};

	while (tu_now_ms() < end && getppid() == target) {
		if (kill(target, sig) < 0)
			break;
		nanosleep(&ts, NULL);
	}
	tu_child_exit(0);
}

int tu_storm_start(struct tu_storm *st, int sig, unsigned period_us)
{
	struct sigaction sa;
	pid_t self = getpid();

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = storm_handler;
	sa.sa_flags = 0; /* no SA_RESTART: every blocking call sees EINTR */
	sigemptyset(&sa.sa_mask);
	st->sig = sig;
	st->pid = -1;
	storm_hits = 0;
	if (sigaction(sig, &sa, &st->old) < 0)
		return -errno;
	fflush(NULL);
	st->pid = fork();
	if (st->pid < 0) {
		int e = -errno;

		sigaction(sig, &st->old, NULL);
		return e;
	}
	if (st->pid == 0)
		storm_child(self, sig, period_us);
	storm_running = st;
	return 0;
}

unsigned long tu_storm_stop(struct tu_storm *st)
{
	struct sigaction ign;
	unsigned long hits;

	storm_running = NULL;
	if (st->pid > 0) {
		kill(st->pid, SIGKILL);
		tu_reap(st->pid, NULL);
		st->pid = -1;
	}
	hits = (unsigned long)storm_hits;
	/* SIG_IGN discards a signal still pending from the storm before the
	 * old disposition (often SIG_DFL, which would end us) comes back. */
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	sigaction(st->sig, &ign, NULL);
	sigaction(st->sig, &st->old, NULL);
	return hits;
}

int tu_storm_teardown(void **state)
{
	(void)state;
	if (storm_running)
		tu_storm_stop(storm_running);
	return 0;
}

unsigned long tu_storm_hits(void)
{
	return (unsigned long)storm_hits;
}

/* ---- leftovers (asserts) ------------------------------------------------------ */

void tu_assert_no_children(void)
{
	int64_t deadline = tu_now_ms() + TU_CHILD_EXIT_MS;
	siginfo_t si;
	int r;

	/* WNOWAIT: a zombie is looked at, never reaped, so it still fails the
	 * test. Only a child that disappears by itself within the bound (one
	 * the kernel reaps because SIGCHLD is ignored) is waited for. */
	for (;;) {
		memset(&si, 0, sizeof(si));
		r = waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == ECHILD)
			return;
		assert_int_equal(r, 0);
		if (si.si_pid != 0 || tu_now_ms() >= deadline)
			break;
		tu_sleep_ms(5);
	}
	if (si.si_pid != 0)
		fail_msg("child %d is a zombie: it ended but nobody reaped it", (int)si.si_pid);
	fail_msg("a child of the test process is still running after %d ms", TU_CHILD_EXIT_MS);
}
