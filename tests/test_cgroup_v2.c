/* Tests of what only the cgroup v2 backend (chaos/cgroup/v2.c) does: a
 * run's processes live in its leaf "main" (no internal processes rule)
 * while the run delegates memory to its children, a whole run is killed
 * through cgroup.kill, and limits go to memory.max and memory.swap.max.
 * Everything is real and below this process's own cgroup, and removed
 * again whatever the outcome. It runs in the check-v2 VM; on a v1 host
 * every test skips with the reason. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "cgroup/cgroup.h"

#include "util/testutil.h"

static struct chaos_cg_env env;
static struct chaos_cg *run;
static pid_t sleeper_pid;

/* Skip, saying why, unless the machine's backend is v2. */
#define NEED_V2()                                                                                  \
	TU_SKIP_UNLESS(env.version == CHAOS_CG_V2,                                                 \
		       "skipped: needs a writable cgroup v2 memory controller: %s\n",              \
		       env.version == CHAOS_CG_V1 ? "this host has cgroup v1" : env.why)

/* Whatever a test left: its sleeper and its run. */
static int cleanup(void **state)
{
	unsigned n = 0;
	int status;

	(void)state;
	if (sleeper_pid > 0) {
		kill(sleeper_pid, SIGKILL);
		(void)tu_wait_status(sleeper_pid, 5000, &status);
		sleeper_pid = 0;
	}
	if (run)
		chaos_cg_destroy(run, &n);
	run = NULL;
	return 0;
}

/* dir/file, read whole ("" when unreadable). */
static void read_knob(const char *dir, const char *file, char *buf, size_t len)
{
	char path[sizeof(env.mem_dir) + 256];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	tu_slurp(path, buf, len);
}

/* A process attached to a run goes into its "main" leaf; the run itself
 * delegates memory and holds no process; kill_all kills the whole run
 * (cgroup.kill) and destroy removes the run and its leaf. */
static void test_main_leaf_and_kill(void **state)
{
	char dir[sizeof(env.mem_dir) + 128], main_dir[sizeof(dir) + 8], text[256];
	unsigned killed = 0, removed = 0;
	struct stat st;
	int status = 0;

	(void)state;
	NEED_V2();
	assert_int_equal(chaos_cg_run_create(&env, &run), 0);
	snprintf(dir, sizeof(dir), "%s", chaos_cg_dir(run));
	snprintf(main_dir, sizeof(main_dir), "%s/main", dir);
	assert_int_equal(stat(main_dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	read_knob(dir, "cgroup.subtree_control", text, sizeof(text));
	assert_non_null(strstr(text, "memory"));

	sleeper_pid = fork();
	assert_true(sleeper_pid >= 0);
	if (sleeper_pid == 0) {
		sleep(60);
		tu_child_exit(0);
	}
	assert_int_equal(chaos_cg_attach(run, sleeper_pid), 0);
	read_knob(main_dir, "cgroup.procs", text, sizeof(text));
	assert_int_equal(strtol(text, NULL, 10), sleeper_pid);
	read_knob(dir, "cgroup.procs", text, sizeof(text));
	assert_string_equal(text, "");
	assert_int_equal(chaos_cg_contains(run, sleeper_pid), 1);

	assert_int_equal(chaos_cg_kill_all(run, &killed), 0);
	assert_int_equal(killed, 1);
	assert_int_equal(tu_wait_status(sleeper_pid, 5000, &status), 0);
	sleeper_pid = 0;
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);

	assert_int_equal(chaos_cg_destroy(run, &removed), 0);
	run = NULL;
	assert_int_equal(removed, 2);
	assert_int_equal(stat(dir, &st), -1);
	assert_int_equal(errno, ENOENT);
}

/* A child's limit is memory.max with no swap on top (memory.swap.max 0
 * where the kernel has it); limit 0 sets both back to "max". */
static void test_limit_files(void **state)
{
	struct chaos_cg *w = NULL;
	char text[64], path[sizeof(env.mem_dir) + 160];
	int has_swap;

	(void)state;
	NEED_V2();
	assert_int_equal(chaos_cg_run_create(&env, &run), 0);
	assert_int_equal(chaos_cg_child_create(run, "w0", 32u << 20, &w), 0);
	read_knob(chaos_cg_dir(w), "memory.max", text, sizeof(text));
	assert_int_equal(strtoull(text, NULL, 10), 32u << 20);
	snprintf(path, sizeof(path), "%s/memory.swap.max", chaos_cg_dir(w));
	has_swap = access(path, F_OK) == 0;
	if (has_swap) {
		read_knob(chaos_cg_dir(w), "memory.swap.max", text, sizeof(text));
		assert_string_equal(text, "0\n");
	}
	assert_int_equal(chaos_cg_set_limit(w, 0), 0);
	read_knob(chaos_cg_dir(w), "memory.max", text, sizeof(text));
	assert_string_equal(text, "max\n");
	if (has_swap) {
		read_knob(chaos_cg_dir(w), "memory.swap.max", text, sizeof(text));
		assert_string_equal(text, "max\n");
	} else {
		print_message("no memory.swap.max here: the swap half is not checked\n");
	}
}

/* Detection fails on the other version's host; NEED_V2() then skips with
 * env.why or the version found. */
static int setup(void **state)
{
	(void)state;
	(void)chaos_cg_detect(&env);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_main_leaf_and_kill, cleanup),
	    cmocka_unit_test_teardown(test_limit_files, cleanup),
	};

	return cmocka_run_group_tests_name("cgroup_v2", tests, setup, cleanup);
}
