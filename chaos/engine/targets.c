/* Target registry: where the shipped adapters live, whether their runtime
 * is present, and user-given NAME=COMMAND targets.
 *
 * Layouts searched, in order, for the directory holding scenarios/targets/
 * and scenarios/kit/chaos_task.py:
 *   1. $CHAOS_HOME (a source tree or an installed share/chaos directory);
 *   2. the ancestors of the chaos binary's directory (at most
 *      TARGETS_SEARCH_DEPTH levels): <src>/build/chaos and
 *      <src>/build/<name>/chaos both find <src>;
 *   3. <ancestor>/share/chaos, the installed layout
 *      $(PREFIX)/bin/chaos -> $(PREFIX)/share/chaos/scenarios/targets.
 * Compiled adapters are looked up in <dir of chaos>/targets/ first (the build
 * tree), then with the scripts. */
#include "engine/targets.h"
#include "engine/targets_internal.h"
#include "sys/io.h"
#include "sys/pidfd.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TARGETS_SEARCH_DEPTH 6
/* An import of a Python package takes well under a second; a probe that
 * takes longer than this is treated as "runtime missing" rather than wait. */
#define PROBE_TIMEOUT_MS 10000

extern char **environ;

/* The shipped targets in display order, and what each needs at run time. */
#define PY "/usr/bin/python3"
#define NODE_MODULES "scenarios/targets/node/node_modules/"
static const struct shipped {
	const char *name;
	const char *interp;   /* an interpreter (absolute path) that must run code, or NULL */
	const char *code;     /* e.g. a Python import statement, run with -c (Python) or -e */
	const char *tool;     /* a program that must be on PATH, or NULL */
	int needs_chaos_task; /* shell adapters run the chaos-task executable */
	const char *file;     /* a file below the source directory that must exist, or NULL */
} shipped[] = {
    {"safepool", NULL, NULL, NULL, 0, NULL},
    {"mp-pool-map", PY, "import multiprocessing", NULL, 0, NULL},
    {"mp-pool-imap", PY, "import multiprocessing", NULL, 0, NULL},
    {"mp-pool-apply", PY, "import multiprocessing", NULL, 0, NULL},
    {"cf-process", PY, "import concurrent.futures", NULL, 0, NULL},
    {"billiard", PY, "import billiard", NULL, 0, NULL},
    {"pebble", PY, "import pebble", NULL, 0, NULL},
    {"loky", PY, "import joblib.externals.loky", NULL, 0, NULL},
    {"safepool-py", PY, "import multiprocessing", NULL, 0, NULL},
    {"gnu-parallel", NULL, NULL, "parallel", 1, NULL},
    {"xargs", NULL, NULL, "xargs", 1, NULL},
    {"mp-pool-spawn", PY, "import multiprocessing", NULL, 0, NULL},
    {"mp-pool-forkserver", PY, "import multiprocessing", NULL, 0, NULL},
    {"multiprocess", PY, "import multiprocess", NULL, 0, NULL},
    /* max_tasks_per_child is new in Python 3.11. */
    {"cf-process-mtpc", PY,
     "import sys, concurrent.futures; sys.exit(sys.version_info < (3, 11))", NULL, 0, NULL},
    {"dask-distributed", PY, "import distributed", NULL, 0, NULL},
    {"jest-worker", "/usr/bin/node", "", NULL, 0, NODE_MODULES "jest-worker/package.json"},
    {"workerpool", "/usr/bin/node", "", NULL, 0, NODE_MODULES "workerpool/package.json"},
    {"tinypool", "/usr/bin/node", "", NULL, 0, NODE_MODULES "tinypool/package.json"},
    {"ruby-parallel", "/usr/bin/ruby", "require 'parallel'", NULL, 0, NULL},
    {"perl-forkmanager", "/usr/bin/perl", "use Parallel::ForkManager;", NULL, 0, NULL},
};
#define NSHIPPED (sizeof(shipped) / sizeof(shipped[0]))

static struct {
	int init;
	char bin[PATH_MAX];    /* directory of the chaos binary */
	char src[PATH_MAX];    /* holds scenarios/targets/, or "" */
	char kit_py[PATH_MAX]; /* <src>/scenarios/kit: Python, Ruby and Perl kits */
	char kit_node[PATH_MAX]; /* <src>/scenarios/kit/node: holds chaos-task/ */
	/* Probe results are cached per shipped target: -1 unknown, 0 / 1. */
	int probed[NSHIPPED];
	char probe_why[NSHIPPED][256];
} reg;

static int is_dir(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_exec(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0;
}

/* Does dir hold scenarios/targets/ and the Python task kit? The kit is
 * the marker because a build directory mirrors the source tree's folders
 * for its object files (<build>/scenarios/targets/ may exist there). */
static int has_targets(const char *dir)
{
	char p[PATH_MAX + 32];
	struct stat st;

	if (snprintf(p, sizeof(p), "%s/scenarios/targets", dir) >= (int)sizeof(p) || !is_dir(p))
		return 0;
	if (snprintf(p, sizeof(p), "%s/scenarios/kit/chaos_task.py", dir) >= (int)sizeof(p))
		return 0;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

void chaos__targets_init(const char *exe)
{
	const char *home = getenv("CHAOS_HOME");
	char dir[PATH_MAX];
	char *slash;

	memset(&reg, 0, sizeof(reg));
	for (size_t i = 0; i < NSHIPPED; i++)
		reg.probed[i] = -1;
	reg.init = 1;
	snprintf(reg.bin, sizeof(reg.bin), "%s", exe ? exe : "");
	slash = strrchr(reg.bin, '/');
	if (slash)
		*slash = '\0';
	else
		snprintf(reg.bin, sizeof(reg.bin), ".");

	if (home && *home && has_targets(home)) {
		snprintf(reg.src, sizeof(reg.src), "%s", home);
	} else {
		snprintf(dir, sizeof(dir), "%s", reg.bin);
		for (int depth = 0; depth <= TARGETS_SEARCH_DEPTH && dir[0]; depth++) {
			char inst[PATH_MAX + 16];

			if (has_targets(dir)) {
				snprintf(reg.src, sizeof(reg.src), "%s", dir);
				break;
			}
			snprintf(inst, sizeof(inst), "%s/share/chaos", dir);
			if (has_targets(inst)) {
				snprintf(reg.src, sizeof(reg.src), "%.*s", (int)sizeof(reg.src) - 1,
					 inst);
				break;
			}
			slash = strrchr(dir, '/');
			if (!slash)
				break;
			if (slash == dir) {
				/* The root itself is the last candidate. */
				if (dir[1] == '\0')
					break;
				dir[1] = '\0';
			} else {
				*slash = '\0';
			}
		}
	}
	if (reg.src[0]) {
		snprintf(reg.kit_py, sizeof(reg.kit_py), "%.*s/scenarios/kit", PATH_MAX - 32,
			 reg.src);
		snprintf(reg.kit_node, sizeof(reg.kit_node), "%.*s/scenarios/kit/node",
			 PATH_MAX - 32, reg.src);
	}
}

static void ensure_init(void)
{
	char exe[PATH_MAX];
	ssize_t l;

	if (reg.init)
		return;
	l = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[l > 0 ? l : 0] = '\0';
	chaos__targets_init(l > 0 ? exe : NULL);
}

const char *chaos_kit_python_dir(void)
{
	ensure_init();
	return reg.kit_py;
}

const char *chaos_kit_node_dir(void)
{
	ensure_init();
	return reg.kit_node;
}

const char *chaos_kit_bin_dir(void)
{
	ensure_init();
	return reg.bin;
}

const char *chaos__targets_src_dir(void)
{
	ensure_init();
	return reg.src;
}

int chaos__probe(char *const argv[], char *out, size_t outlen, int timeout_ms)
{
	posix_spawn_file_actions_t fa;
	int pipefd[2] = {-1, -1}, pidfd = -1, status = 0, rc;
	int64_t deadline = chaos_clock_ms() + timeout_ms;
	size_t used = 0;
	pid_t pid = -1;

	if (out && outlen)
		out[0] = '\0';
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	rc = -posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	if (rc < 0)
		goto out;
	pidfd = chaos_pidfd_open(pid);
	if (pidfd < 0) {
		rc = pidfd;
		kill(pid, SIGKILL); /* our own child, not yet reaped: the PID is ours */
		chaos_waitpid(pid, &status, 0);
		goto out;
	}
	/* Read the output until EOF, then wait for the exit, all bounded by
	 * one deadline: a probe that hangs is killed, not waited for. */
	for (;;) {
		/* While the pipe is open only it is watched (EOF comes when the
		 * probe exits); after that, the pidfd. */
		struct pollfd p = {pipefd[0] >= 0 ? pipefd[0] : pidfd, POLLIN, 0};
		int left = (int)(deadline - chaos_clock_ms());

		if (left <= 0) {
			chaos_pidfd_signal(pidfd, SIGKILL);
			chaos_waitpid(pid, &status, 0);
			rc = -ETIMEDOUT;
			goto out;
		}
		if (poll(&p, 1, left) < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			chaos_pidfd_signal(pidfd, SIGKILL);
			chaos_waitpid(pid, &status, 0);
			goto out;
		}
		if (!p.revents)
			continue;
		if (pipefd[0] < 0)
			break;
		{
			char buf[512];
			ssize_t r = read(pipefd[0], buf, sizeof(buf));

			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				close(pipefd[0]);
				pipefd[0] = -1;
				continue;
			}
			if (out && used + 1 < outlen) {
				size_t take = (size_t)r;

				if (take > outlen - 1 - used)
					take = outlen - 1 - used;
				memcpy(out + used, buf, take);
				used += take;
				out[used] = '\0';
			}
		}
	}
	if (chaos_waitpid(pid, &status, 0) < 0) {
		rc = -errno;
		goto out;
	}
	rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
out:
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pidfd >= 0)
		close(pidfd);
	return rc;
}

/* Find prog on PATH into buf; 0 or -ENOENT. */
static int find_on_path(const char *prog, char *buf, size_t len)
{
	const char *path = getenv("PATH");
	char *copy, *save = NULL, *dir;
	int rc = -ENOENT;

	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	copy = strdup(path);
	if (!copy)
		return -ENOMEM;
	for (dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		snprintf(buf, len, "%s/%s", *dir ? dir : ".", prog);
		if (is_exec(buf)) {
			rc = 0;
			break;
		}
	}
	free(copy);
	return rc;
}

/* Decide once per shipped target whether its runtime is present. */
static int probe_runtime(size_t i, char *why, size_t whylen)
{
	const struct shipped *s = &shipped[i];
	char *why_c = reg.probe_why[i];
	const size_t wl = sizeof(reg.probe_why[i]);

	if (reg.probed[i] >= 0)
		goto out;
	reg.probed[i] = 1;
	why_c[0] = '\0';
	if (s->interp) {
		char *argv[] = {(char *)s->interp, strcmp(s->interp, PY) == 0 ? "-c" : "-e",
				(char *)s->code, NULL};
		int r;

		if (!is_exec(argv[0])) {
			reg.probed[i] = 0;
			snprintf(why_c, wl, "%s not found", s->interp);
			goto out;
		}
		r = chaos__probe(argv, NULL, 0, PROBE_TIMEOUT_MS);
		if (r != 0) {
			reg.probed[i] = 0;
			if (r == -ETIMEDOUT)
				snprintf(why_c, wl, "%s %s '%s' timed out", s->interp, argv[1],
					 s->code);
			else
				snprintf(why_c, wl, "%s cannot '%s'", s->interp, s->code);
			goto out;
		}
	}
	if (s->file) {
		char p[PATH_MAX + 128];
		struct stat st;

		snprintf(p, sizeof(p), "%s/%s", reg.src, s->file);
		if (stat(p, &st) != 0) {
			reg.probed[i] = 0;
			snprintf(why_c, wl, "%.160s missing (ci/install-deps installs it)", p);
			goto out;
		}
	}
	if (s->tool) {
		char path[PATH_MAX];

		if (find_on_path(s->tool, path, sizeof(path)) < 0) {
			reg.probed[i] = 0;
			snprintf(why_c, wl, "%s not installed (not on PATH)", s->tool);
			goto out;
		}
		/* Debian's moreutils also ships a `parallel`; the adapter needs
		 * GNU parallel's options. */
		if (strcmp(s->tool, "parallel") == 0) {
			char *argv[] = {path, "--version", NULL};
			char outbuf[256];

			if (chaos__probe(argv, outbuf, sizeof(outbuf), PROBE_TIMEOUT_MS) != 0 ||
			    !strstr(outbuf, "GNU parallel")) {
				reg.probed[i] = 0;
				snprintf(why_c, wl, "%.200s is not GNU parallel", path);
				goto out;
			}
		}
	}
	if (s->needs_chaos_task) {
		char p[PATH_MAX + 16];

		snprintf(p, sizeof(p), "%s/chaos-task", reg.bin);
		if (!is_exec(p)) {
			reg.probed[i] = 0;
			snprintf(why_c, wl, "%.200s not built", p);
		}
	}
out:
	snprintf(why, whylen, "%s", why_c);
	return reg.probed[i];
}

void chaos_target_free(struct chaos_target *t)
{
	for (size_t i = 0; i < CHAOS_TARGET_ARGV_MAX; i++) {
		free(t->argv[i]);
		t->argv[i] = NULL;
	}
}

/* Split cmd on blanks into t->argv. 0 or -EINVAL (empty, too many words). */
static int split_command(const char *cmd, struct chaos_target *t)
{
	size_t n = 0;
	const char *p = cmd;

	while (*p) {
		const char *start;

		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		start = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		if (n == CHAOS_TARGET_ARGV_MAX)
			return -EINVAL;
		t->argv[n] = strndup(start, (size_t)(p - start));
		if (!t->argv[n])
			return -ENOMEM;
		n++;
	}
	return n ? 0 : -EINVAL;
}

int chaos_target_resolve(const char *spec, struct chaos_target *t)
{
	const char *eq = strchr(spec, '=');
	size_t nl = eq ? (size_t)(eq - spec) : strlen(spec);
	char path[PATH_MAX + 128] = "";
	size_t i;
	int rc = 0;

	memset(t, 0, sizeof(*t));
	ensure_init();
	if (nl == 0 || nl >= sizeof(t->name) || memchr(spec, '/', nl)) {
		snprintf(t->why, sizeof(t->why),
			 "bad target '%.100s' (expected NAME or NAME=COMMAND, NAME without '/')",
			 spec);
		return -EINVAL;
	}
	memcpy(t->name, spec, nl);
	if (eq) {
		rc = split_command(eq + 1, t);
		if (rc < 0) {
			snprintf(t->why, sizeof(t->why), "target '%s': %s", t->name,
				 rc == -ENOMEM
				     ? "out of memory"
				     : "bad COMMAND (expected 1 to 16 blank-separated words)");
			goto out;
		}
		t->available = 1;
		goto out;
	}
	for (i = 0; i < NSHIPPED; i++)
		if (strcmp(shipped[i].name, t->name) == 0)
			break;
	if (i == NSHIPPED) {
		snprintf(t->why, sizeof(t->why),
			 "unknown target '%s' (not a shipped adapter, README.md lists them; or "
			 "NAME=COMMAND)",
			 t->name);
		return -ENOENT;
	}
	snprintf(path, sizeof(path), "%s/targets/%s", reg.bin, t->name);
	if (!is_exec(path)) {
		snprintf(path, sizeof(path), "%s/scenarios/targets/%s", reg.src, t->name);
		if (!reg.src[0] || !is_exec(path)) {
			/* Known but absent (not built, not installed): it can
			 * still be listed and shown as SKIP with the reason. */
			t->argv[0] = strdup(path);
			if (!t->argv[0]) {
				rc = -ENOMEM;
				goto out;
			}
			t->available = 0;
			if (!reg.src[0])
				snprintf(t->why, sizeof(t->why),
					 "adapter '%.60s' not found: no scenarios/targets/ near "
					 "%.100s (set CHAOS_HOME)",
					 t->name, reg.bin);
			else
				snprintf(t->why, sizeof(t->why),
					 "adapter %.200s not found or not executable", path);
			goto out;
		}
	}
	t->argv[0] = strdup(path);
	if (!t->argv[0]) {
		rc = -ENOMEM;
		goto out;
	}
	t->available = probe_runtime(i, t->why, sizeof(t->why));
out:
	if (rc < 0)
		chaos_target_free(t);
	return rc;
}

int chaos_target_list(struct chaos_target **ts, size_t *n)
{
	struct chaos_target *v = calloc(NSHIPPED, sizeof(*v));
	int rc = 0;
	size_t i;

	*ts = NULL;
	*n = 0;
	if (!v)
		return -ENOMEM;
	for (i = 0; i < NSHIPPED; i++) {
		rc = chaos_target_resolve(shipped[i].name, &v[i]);
		if (rc < 0)
			break;
	}
	if (rc < 0) {
		for (size_t j = 0; j < i; j++)
			chaos_target_free(&v[j]);
		free(v);
		return rc;
	}
	*ts = v;
	*n = NSHIPPED;
	return 0;
}
