/* The cgroup module's error and edge paths that the main cgroup tests do
 * not reach: libcgroup's error codes mapped to errno values, a child asked
 * of a child, a name that does not fit, more processes than the caller's
 * array holds, a PID that is gone, a process outside the run that must not
 * be killed, and directories removed under our feet. Every cgroup created
 * here is a real one below this process's own memory cgroup and is removed
 * again, also when an assertion fails. */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <libcgroup.h>

#include "cgroup/cgroup.h"
#include "cgroup/internal.h"

#include "util/testutil.h"

static struct chaos_cg_env env;
static int have_cg;

/* Sleepers started by a test, killed and reaped by teardown whatever the
 * test's outcome. */
static pid_t kids[4];
static struct chaos_cg *run;

/* A child that sleeps until killed (bounded: 60 s). */
static pid_t sleeper(void)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		sleep(60);
		tu_child_exit(0);
	}
	for (size_t i = 0; i < sizeof(kids) / sizeof(kids[0]); i++)
		if (kids[i] == 0) {
			kids[i] = pid;
			break;
		}
	return pid;
}

static int cleanup(void **state)
{
	unsigned n = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(kids) / sizeof(kids[0]); i++) {
		if (kids[i] > 0) {
			kill(kids[i], SIGKILL);
			waitpid(kids[i], NULL, 0);
		}
		kids[i] = 0;
	}
	if (run)
		chaos_cg_destroy(run, &n);
	run = NULL;
	return 0;
}

#define SKIP_WITHOUT_CG()                                                                  \
	TU_SKIP_UNLESS(have_cg, "skipped: no writable memory cgroup: %s\n", env.why)

/* libcgroup reports its own codes; callers get -errno values. */
static void test_lcg_errno(void **state)
{
	(void)state;
	assert_int_equal(cg__lcg_errno(0), 0);
	assert_int_equal(cg__lcg_errno(ECGROUPNOTEXIST), -ENOENT);
	assert_int_equal(cg__lcg_errno(ECGROUPNOTOWNER), -EPERM);
	assert_int_equal(cg__lcg_errno(ECGROUPNOTMOUNTED), -ENODEV);
	assert_int_equal(cg__lcg_errno(ECGNONEMPTY), -EBUSY);
	assert_int_equal(cg__lcg_errno(ECGINVAL), -EINVAL);
	assert_int_equal(cg__lcg_errno(ECGFAIL), -EIO);
	/* ECGOTHER carries the errno of the failed system call, if any. */
	assert_true(cg__lcg_errno(ECGOTHER) < 0);
}

/* Children exist only below a run; a name longer than a path can hold
 * is refused with the path in the message, and the run stays usable. */
static void test_child_errors(void **state)
{
	struct chaos_cg *w = NULL, *ww = NULL;
	char name[5000];
	unsigned n = 0;

	(void)state;
	SKIP_WITHOUT_CG();
	assert_int_equal(chaos_cg_run_create(&env, &run), 0);
	assert_int_equal(chaos_cg_child_create(run, "w0", 64 << 20, &w), 0);
	assert_int_equal(chaos_cg_child_create(w, "w1", 0, &ww), -EINVAL);
	assert_non_null(strstr(chaos_cg_last_error(), "only be created below a run"));
	memset(name, 'x', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	assert_int_equal(chaos_cg_child_create(run, name, 0, &ww), -ENAMETOOLONG);
	assert_true(chaos_cg_last_error()[0] != '\0');
	assert_int_equal(chaos_cg_destroy(run, &n), 0);
	run = NULL;
	assert_int_equal(n, 2);
}

/* More members than the caller's array: -ENOBUFS, never an overrun. A PID
 * that has exited is simply not a member. */
static void test_pids_overflow_and_gone(void **state)
{
	pid_t pids[1], a, b, gone;
	size_t n = 0;
	int status;

	(void)state;
	SKIP_WITHOUT_CG();
	assert_int_equal(chaos_cg_run_create(&env, &run), 0);
	a = sleeper();
	b = sleeper();
	assert_int_equal(chaos_cg_attach(run, a), 0);
	assert_int_equal(chaos_cg_attach(run, b), 0);
	assert_int_equal(chaos_cg_pids(run, pids, 1, &n), -ENOBUFS);
	assert_non_null(strstr(chaos_cg_last_error(), "more than 1 processes"));

	gone = fork();
	assert_true(gone >= 0);
	if (gone == 0)
		tu_child_exit(0);
	assert_int_equal(waitpid(gone, &status, 0), gone);
	assert_int_equal(chaos_cg_contains(run, gone), 0);
	assert_int_equal(chaos_cg_contains(run, a), 1);
	assert_int_equal(chaos_cg_contains(run, getpid()), 0);
}

/* cg__kill_member signals only a process inside the named cgroup: one
 * outside it (here: a sleeper in our own cgroup) is left alone (0), a
 * member is killed (1), and a gone PID is not an error (0). */
static void test_kill_member(void **state)
{
	pid_t outside, inside, gone;
	int status;

	(void)state;
	SKIP_WITHOUT_CG();
	assert_int_equal(chaos_cg_run_create(&env, &run), 0);
	outside = sleeper();
	inside = sleeper();
	assert_int_equal(chaos_cg_attach(run, inside), 0);
	assert_int_equal(cg__kill_member(outside, env.version == CHAOS_CG_V1 ? "memory" : "",
					 chaos_cg_name(run)),
			 0);
	assert_int_equal(waitpid(outside, &status, WNOHANG), 0);

	assert_int_equal(cg__kill_member(inside, env.version == CHAOS_CG_V1 ? "memory" : "",
					 chaos_cg_name(run)),
			 1);
	assert_int_equal(waitpid(inside, &status, 0), inside);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	kids[1] = 0;

	gone = fork();
	assert_true(gone >= 0);
	if (gone == 0)
		tu_child_exit(0);
	assert_int_equal(waitpid(gone, &status, 0), gone);
	assert_int_equal(cg__kill_member(gone, "memory", chaos_cg_name(run)), 0);
}

/* A tree or a cgroup.procs that vanished meanwhile is empty, not an error. */
static void test_vanished_dirs(void **state)
{
	char dir[4200];
	unsigned removed = 0;
	pid_t pids[4];
	size_t n = 0;

	(void)state;
	SKIP_WITHOUT_CG();
	snprintf(dir, sizeof(dir), "%s/chaos.test-cov-never-created", env.mem_dir);
	assert_int_equal(cg__remove_tree("memory", env.mem_dir, dir, &removed), 0);
	assert_int_equal(removed, 0);
	assert_int_equal(cg__collect_pids(dir, pids, 4, &n), 0);
	assert_int_equal(n, 0);
}

static int setup(void **state)
{
	(void)state;
	have_cg = chaos_cg_detect(&env) == 0 && env.version != CHAOS_CG_NONE;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lcg_errno),
	    cmocka_unit_test_teardown(test_child_errors, cleanup),
	    cmocka_unit_test_teardown(test_pids_overflow_and_gone, cleanup),
	    cmocka_unit_test_teardown(test_kill_member, cleanup),
	    cmocka_unit_test_teardown(test_vanished_dirs, cleanup),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
