/* Tests of what only the cgroup v1 backend (chaos/cgroup/v1.c) does: a
 * memory limit raised above the swap limit (the kernel wants memsw >= limit
 * at every moment, so the order of the two writes flips) and removed
 * again, the freezer twin of a run (created beside it, holding the same
 * processes, frozen while they are killed, removed with it), and the stale
 * sweep of a freezer twin whose memory cgroup is already gone, with a live
 * process inside. Everything is real and below this process's own cgroups,
 * and removed again whatever the outcome. On a v2 host every test skips
 * with the reason. */
#include <errno.h>
#include <fcntl.h>
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
static char stale_dir[sizeof(env.freezer_dir) + 64];

/* Skip, saying why, unless the machine's backend is v1 (with a freezer). */
#define NEED_V1()                                                                                  \
	TU_SKIP_UNLESS(env.version == CHAOS_CG_V1,                                                 \
		       "skipped: needs a writable cgroup v1 memory hierarchy: %s\n",               \
		       env.version == CHAOS_CG_V2 ? "this host has cgroup v2" : env.why)
#define NEED_FREEZER()                                                                             \
	TU_SKIP_UNLESS(env.freezer_dir[0], "skipped: needs a writable v1 freezer hierarchy\n")

/* Whatever a test left: its sleeper, its run, its stale directory. */
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
	if (stale_dir[0])
		rmdir(stale_dir);
	stale_dir[0] = '\0';
	return 0;
}

static uint64_t read_u64(const char *dir, const char *file)
{
	char path[sizeof(env.mem_dir) + 128], buf[64] = "";
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n > 0);
	buf[n] = '\0';
	return strtoull(buf, NULL, 10);
}

/* Raising a limit above the current swap limit, then removing it. */
static void test_limit_up_and_off(void **state)
{
	const char *dir;

	(void)state;
	NEED_V1();
	TU_SKIP_UNLESS(env.has_memsw,
		       "skipped: no memory.memsw.limit_in_bytes (swap accounting off)\n");
	assert_int_equal(chaos_cg_run_create(&env, &run), 0);
	dir = chaos_cg_dir(run);
	assert_int_equal(chaos_cg_set_limit(run, 32 << 20), 0);
	assert_int_equal(read_u64(dir, "memory.limit_in_bytes"), 32 << 20);
	assert_int_equal(read_u64(dir, "memory.memsw.limit_in_bytes"), 32 << 20);
	/* Up: memsw must go first, or the kernel refuses the limit. */
	assert_int_equal(chaos_cg_set_limit(run, 256 << 20), 0);
	assert_int_equal(read_u64(dir, "memory.limit_in_bytes"), 256 << 20);
	assert_int_equal(read_u64(dir, "memory.memsw.limit_in_bytes"), 256 << 20);
	/* 0 means no limit: both read back as the kernel's maximum. */
	assert_int_equal(chaos_cg_set_limit(run, 0), 0);
	assert_true(read_u64(dir, "memory.limit_in_bytes") > (1ULL << 40));
	assert_true(read_u64(dir, "memory.memsw.limit_in_bytes") > (1ULL << 40));
}

/* A run on v1 with a freezer has a twin of the same leaf name below our
 * own freezer cgroup; attach puts the process into both, kill_all kills it
 * (frozen around the kill) and destroy removes the twin too. */
static void test_freezer_twin(void **state)
{
	char twin[sizeof(env.freezer_dir) + 160], path[sizeof(twin) + 16], text[256];
	unsigned killed = 0, removed = 0;
	struct stat st;
	int status = 0;

	(void)state;
	NEED_V1();
	NEED_FREEZER();
	assert_int_equal(chaos_cg_run_create(&env, &run), 0);
	snprintf(twin, sizeof(twin), "%s/%s", env.freezer_dir, strrchr(chaos_cg_dir(run), '/') + 1);
	assert_int_equal(stat(twin, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	sleeper_pid = fork();
	assert_true(sleeper_pid >= 0);
	if (sleeper_pid == 0) {
		sleep(60);
		tu_child_exit(0);
	}
	assert_int_equal(chaos_cg_attach(run, sleeper_pid), 0);
	snprintf(path, sizeof(path), "%s/cgroup.procs", twin);
	tu_slurp(path, text, sizeof(text));
	assert_int_equal(strtol(text, NULL, 10), sleeper_pid);

	assert_int_equal(chaos_cg_kill_all(run, &killed), 0);
	assert_int_equal(killed, 1);
	assert_int_equal(tu_wait_status(sleeper_pid, 5000, &status), 0);
	sleeper_pid = 0;
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
	/* Thawed again after the kill: nothing of ours stays frozen. */
	snprintf(path, sizeof(path), "%s/freezer.state", twin);
	tu_slurp(path, text, sizeof(text));
	assert_int_equal(strncmp(text, "THAWED", 6), 0);

	assert_int_equal(chaos_cg_destroy(run, &removed), 0);
	run = NULL;
	/* Only memory cgroups are counted; the twin is gone all the same. */
	assert_int_equal(removed, 1);
	assert_int_equal(stat(twin, &st), -1);
	assert_int_equal(errno, ENOENT);
}

/* A freezer cgroup of a dead controller whose memory cgroup is already gone
 * is swept too: its process is killed and the directory removed. */
static void test_sweep_freezer_only(void **state)
{
	char path[sizeof(stale_dir) + 32], me[32];
	unsigned removed = 9;
	struct stat st;
	int fd, status = 0;

	(void)state;
	NEED_V1();
	NEED_FREEZER();
	/* Our PID with a start time that is not ours: a dead owner, the
	 * way a reused PID looks. */
	snprintf(stale_dir, sizeof(stale_dir), "%s/chaos.%d.1.%d", env.freezer_dir, (int)getpid(),
		 4242);
	assert_int_equal(mkdir(stale_dir, 0755), 0);
	fflush(NULL);
	sleeper_pid = fork();
	assert_true(sleeper_pid >= 0);
	if (sleeper_pid == 0) {
		sleep(60);
		tu_child_exit(0);
	}
	snprintf(path, sizeof(path), "%s/cgroup.procs", stale_dir);
	snprintf(me, sizeof(me), "%d", (int)sleeper_pid);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, me, strlen(me)), (ssize_t)strlen(me));
	close(fd);

	assert_int_equal(chaos_cg_sweep_stale(&env, &removed), 0);
	/* Only memory run cgroups are counted; this one had none. */
	assert_int_equal(removed, 0);
	assert_int_equal(stat(stale_dir, &st), -1);
	assert_int_equal(errno, ENOENT);
	stale_dir[0] = '\0';
	assert_int_equal(tu_wait_status(sleeper_pid, 5000, &status), 0);
	sleeper_pid = 0;
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
}

/* Detection fails on the other version's host; NEED_V1() then skips with
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
	    cmocka_unit_test_teardown(test_limit_up_and_off, cleanup),
	    cmocka_unit_test_teardown(test_freezer_twin, cleanup),
	    cmocka_unit_test_teardown(test_sweep_freezer_only, cleanup),
	};

	return cmocka_run_group_tests_name("cgroup_v1", tests, setup, cleanup);
}
