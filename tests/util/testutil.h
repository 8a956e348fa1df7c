/* Helpers shared by the test programs (tests/test_<name>.c) and the helper
 * programs they run (tests/helpers/<name>.c): leaving a forked child without
 * losing coverage data, bounded waits, reading histories, checking that a
 * run left nothing behind, and running the built CLI. Built into
 * $(B)/libtestutil.a, which every test and helper program links.
 *
 * Functions that assert use cmocka and may only be called from a test (or
 * its setup); the others are marked "no asserts" and suit helpers and
 * forked children too. */
#ifndef CHAOS_TESTUTIL_H
#define CHAOS_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

#include <cmocka.h>
#include <jansson.h>

/* Skip the running test with a message (printf-style) unless cond holds. */
#define TU_SKIP_UNLESS(cond, ...)                                                          \
	do {                                                                               \
		if (!(cond)) {                                                             \
			print_message(__VA_ARGS__);                                        \
			skip();                                                            \
		}                                                                          \
	} while (0)

/* ---- processes and time (no asserts unless said) ---------------------------- */

/* Leave a forked child (or a helper program) at once with code, writing
 * its coverage counters first in coverage builds: _exit skips the atexit
 * hook that would write them. */
void tu_child_exit(int code) __attribute__((noreturn));

/* CLOCK_MONOTONIC in milliseconds. */
int64_t tu_now_ms(void);

/* Sleep ms milliseconds, resuming after signals. */
void tu_sleep_ms(unsigned ms);

/* Wait at most ms for the forked child pid. On time: 0 and its wait
 * status in *status; too late: the child is SIGKILLed and reaped (so no
 * test leaks it) and -ETIMEDOUT returned; -errno when it cannot be
 * watched. */
int tu_wait_status(pid_t pid, unsigned ms, int *status);

/* waitpid(pid, status, 0) retrying EINTR; for a child that ends soon. */
pid_t tu_reap(pid_t pid, int *status);

/* Asserts: wait at most ms for the forked child pid and return its exit
 * code; the test fails when it is late (it is killed) or ends by a
 * signal. */
int tu_wait_child(pid_t pid, int ms);

/* Is pid alive and not a zombie? */
int tu_pid_running(pid_t pid);

/* Is pid (still) in a run cgroup, i.e. a cgroup whose path holds
 * "/chaos."? A PID of a finished run may have been reused by an unrelated
 * process; only one still in a run cgroup is the run's. */
int tu_pid_in_run_cgroup(pid_t pid);

/* Run cgroups of this process (chaos.<our pid>.*) directly below dir: the
 * count, 0 for an empty dir name, -1 when dir cannot be read. */
int tu_own_run_cgroups(const char *dir);

/* ---- histories (asserts) ------------------------------------------------------ */

/* A history file: one JSON object per line. */
struct tu_hist {
	json_t **ev;
	size_t n;
};

/* Load path with the history reader (check/history_read.h); the test
 * fails when it cannot be opened, a line is not a JSON object, the last
 * line is cut off, or an event does not match the history schema. */
void tu_hist_load(const char *path, struct tu_hist *h);
void tu_hist_free(struct tu_hist *h);

/* Field k of o as a string ("" when absent) or an integer (0). */
const char *tu_sval(json_t *o, const char *k);
long long tu_ival(json_t *o, const char *k);

/* The k-th (0-based) event named ev whose field key, when key is not NULL,
 * contains text; NULL when there is none. */
json_t *tu_hist_find(const struct tu_hist *h, const char *ev, const char *key, const char *text,
		     size_t k);
size_t tu_hist_count(const struct tu_hist *h, const char *ev, const char *key, const char *text);

/* The test fails unless such an event exists. */
void tu_assert_event(const struct tu_hist *h, const char *ev, const char *key, const char *text);

/* ---- text and files ----------------------------------------------------------- */

/* Non-overlapping occurrences of needle in hay. */
int tu_count(const char *hay, const char *needle);

/* No asserts: read at most len - 1 bytes of path into buf, terminated;
 * "" when it cannot be read. */
void tu_slurp(const char *path, char *buf, size_t len);

/* No asserts: write val to dir/name (name may be NULL: dir is the file).
 * 0 or -errno. */
int tu_write_file(const char *dir, const char *name, const char *val);

/* No asserts: the directory of this process's memory cgroup (the v1 memory
 * hierarchy first, else cgroup2 when it has memory.max) into out; *v2 says
 * which. 0, or -ENOENT when there is none. */
int tu_own_memcg(char *out, size_t cap, int *v2);

/* Asserts: the whole of path, terminated, in a malloc'ed buffer. */
char *tu_read_all(const char *path);

/* Asserts: needle is in hay (the message shows hay). */
void tu_assert_contains(const char *hay, const char *needle);

/* ---- locations ------------------------------------------------------------------ */

/* No asserts: the directory of this program (its <build>/tests or
 * <build>/tests/helpers), or -errno. */
int tu_exe_dir(char *buf, size_t len);

/* No asserts: the nearest ancestor of start holding the file rel (a path
 * relative to it), or -ENOENT. */
int tu_find_up(const char *start, const char *rel, char *buf, size_t len);

/* No asserts: for a test that runs the helper program name: helper gets
 * <dir>/helpers/<name> and, when outname is not NULL, outroot gets
 * <dir>/<outname>, created if missing (dir: this program's directory).
 * 0, or -1 when the helper is not executable. */
int tu_helper_setup(const char *name, char *helper, size_t hlen, const char *outname,
		    char *outroot, size_t olen);

/* No asserts: remove dir and everything below it; 0 or -1. */
int tu_rm_rf(const char *dir);

/* No asserts: for a test of the built CLI, this program being
 * <build>/tests/NAME: bin gets <build>/chaos (which must be executable)
 * and root the source tree, the nearest ancestor holding marker (a path
 * relative to it). 0, or -1 with the reason on stderr. */
int tu_cli_locate(char *bin, size_t binlen, char *root, size_t rootlen, const char *marker);

/* tu_cli_locate, then create tmpdir (a mkdtemp template) for the CLI's
 * output files; 0 or -1. */
int tu_cli_setup(char *bin, size_t binlen, char *root, size_t rootlen, const char *marker,
		 char *tmpdir);

/* ---- the CLI (asserts) ---------------------------------------------------------- */

/* Where the CLI runs: the binary, its working directory and the directory
 * that receives its stdout and stderr files. */
struct tu_cli_env {
	const char *bin;
	const char *cwd;
	const char *tmpdir;
};

/* What one CLI invocation did. */
struct tu_cli {
	int code;        /* exit status, or 128+N when killed by signal N */
	char out[16384]; /* stdout */
	char err[16384]; /* stderr */
};

/* Run env->bin with args (NULL-terminated, without argv[0]) in env->cwd,
 * with PATH set to path when it is not NULL, and wait at most limit_ms;
 * when sigint_after_ms >= 0, send it SIGINT that much later. A program
 * still running at the limit is killed and the test fails. */
void tu_run_cli(const struct tu_cli_env *env, struct tu_cli *r, const char *path, int limit_ms,
		int sigint_after_ms, char *const *args);

/* ---- signal storms (no asserts) ------------------------------------------------ */

/* A child that sends sig to this process every period_us microseconds,
 * caught by a no-op handler installed without SA_RESTART, so that every
 * blocking call of this process keeps seeing EINTR. */
struct tu_storm {
	pid_t pid;
	int sig;
	struct sigaction old;
};

/* Install the handler and start the storm child. 0 or -errno. */
int tu_storm_start(struct tu_storm *st, int sig, unsigned period_us);

/* Signals caught so far in this storm. */
unsigned long tu_storm_hits(void);

/* Kill and reap the storm child, drop a pending signal, restore the old
 * disposition. Returns how many signals the handler caught. */
unsigned long tu_storm_stop(struct tu_storm *st);

/* A cmocka teardown: stops the storm still running when an assertion
 * ended the test before its tu_storm_stop(). */
int tu_storm_teardown(void **state);

/* ---- leftovers (asserts) -------------------------------------------------------- */

/* How long tu_assert_no_children() waits for a child that is exiting. */
#define TU_CHILD_EXIT_MS 2000

/* The test fails when this process has any child, alive or a zombie,
 * after waiting at most TU_CHILD_EXIT_MS for children that are exiting
 * and vanish by themselves. Zombies are not reaped by the check. */
void tu_assert_no_children(void);

#endif
