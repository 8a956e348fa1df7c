/* Tests of the cgroup module's common code (chaos/cgroup/common.c) and of
 * its public API (cgroup.c) on whichever backend the machine has: v1 here,
 * v2 in the VM (ci/check-v2). The parsers are tested on strings; everything
 * else creates real cgroups below our own, provokes a real OOM kill and
 * real SIGKILLs, and checks that nothing is left behind. The error and edge
 * paths are here too: libcgroup's codes mapped to errno values, a child
 * asked of a child, a name that does not fit, more processes than the
 * caller's array holds, a PID that is gone, a process outside the run that
 * must not be killed, directories removed under our feet, and a caller
 * without a usable cgroup. What only one version has is in
 * tests/test_cgroup_v1.c. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <libcgroup.h>

#include "cgroup/cgroup.h"
#include "cgroup/common.h"
#include "sys/proc.h"
#include "util/testutil.h"

static struct chaos_cg_env env;
static int have_cg;

/* Sleepers and the run of a test, killed, reaped and destroyed by the
 * teardown whatever the test's outcome. */
static pid_t kids[4];
static struct chaos_cg *cur_run;

/* Skip an integration test, saying why, when there is no usable cgroup. */
#define NEED_CGROUP() TU_SKIP_UNLESS(have_cg, "skip: no writable memory cgroup: %s\n", env.why)

/* ---- helpers ---------------------------------------------------------- */

/* Fork a child that blocks until released (so that it can be attached
 * before it runs fn), then runs fn and exits with its value. */
struct held {
	pid_t pid;
	int go; /* write end of the release pipe */
};

static struct held fork_held(int (*fn)(void))
{
	struct held h = {-1, -1};
	int p[2];
	char c;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	h.pid = fork();
	assert_true(h.pid >= 0);
	if (h.pid == 0) {
		close(p[1]);
		if (read(p[0], &c, 1) != 1)
			tu_child_exit(99);
		tu_child_exit(fn());
	}
	close(p[0]);
	h.go = p[1];
	return h;
}

static void release(struct held *h)
{
	assert_int_equal(write(h->go, "x", 1), 1);
	close(h->go);
	h->go = -1;
}

static int do_sleep(void)
{
	/* Bounded: even if every kill path failed, this ends on its own. */
	sleep(60);
	return 0;
}

static int do_hog(void)
{
	size_t sz = 256u << 20, i;
	char *m = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (m == MAP_FAILED)
		return 2;
	/* Touch every page so the memory is really charged to the cgroup. */
	for (i = 0; i < sz; i += 4096)
		m[i] = (char)i;
	return 0; /* Reaching this means the limit did not hold. */
}

static int do_tree(void)
{
	int i;

	/* Three grandchildren in the same cgroup, then sleep like them. */
	for (i = 0; i < 3; i++) {
		pid_t p = fork();

		if (p == 0)
			tu_child_exit(do_sleep());
	}
	return do_sleep();
}

static int dir_exists(const char *dir)
{
	struct stat st;

	return stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Poll chaos_cg_pids until it reports want processes (bounded). */
static size_t wait_npids(struct chaos_cg *cg, size_t want, unsigned ms)
{
	int64_t deadline = tu_now_ms() + ms;
	pid_t pids[64];
	size_t n = 0;

	do {
		assert_int_equal(chaos_cg_pids(cg, pids, 64, &n), 0);
		if (n == want)
			break;
		usleep(5000);
	} while (tu_now_ms() < deadline);
	return n;
}

/* Count cgroups named chaos.<our pid>.* below dir (ours, leftovers). */
static int count_ours(const char *dir)
{
	char prefix[64];
	struct dirent *de;
	DIR *d;
	int n = 0;

	if (!dir[0])
		return 0;
	snprintf(prefix, sizeof(prefix), "chaos.%d.", (int)getpid());
	d = opendir(dir);
	if (!d)
		return 0;
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, prefix, strlen(prefix)))
			n++;
	closedir(d);
	return n;
}

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

/* ---- unit tests: parsers ------------------------------------------------ */

static void test_parse_cgroup_line(void **state)
{
	char out[256];

	(void)state;
	assert_int_equal(
	    cg__parse_cgroup_line("4:memory:/process_api/abc\n", "memory", out, sizeof(out)), 0);
	assert_string_equal(out, "/process_api/abc");
	/* Co-mounted controllers, and a name that merely contains "memory". */
	assert_int_equal(cg__parse_cgroup_line("3:cpu,memory:/x", "memory", out, sizeof(out)), 0);
	assert_string_equal(out, "/x");
	assert_int_equal(cg__parse_cgroup_line("3:cpu,cpuacct:/y", "cpu", out, sizeof(out)), 0);
	assert_int_equal(cg__parse_cgroup_line("3:cpuacct:/y", "cpu", out, sizeof(out)), -ENOENT);
	assert_int_equal(cg__parse_cgroup_line("9:name=memoryx:/", "memory", out, sizeof(out)),
			 -ENOENT);
	/* v2 line. */
	assert_int_equal(cg__parse_cgroup_line("0::/user.slice/a b\n", "", out, sizeof(out)), 0);
	assert_string_equal(out, "/user.slice/a b");
	assert_int_equal(cg__parse_cgroup_line("0::/", "", out, sizeof(out)), 0);
	assert_string_equal(out, "/");
	assert_int_equal(cg__parse_cgroup_line("4:memory:/a", "", out, sizeof(out)), -ENOENT);
	assert_int_equal(cg__parse_cgroup_line("0::/a", "memory", out, sizeof(out)), -ENOENT);
	/* Malformed and too long. */
	assert_int_equal(cg__parse_cgroup_line("garbage", "memory", out, sizeof(out)), -EINVAL);
	assert_int_equal(cg__parse_cgroup_line("4:memory:", "memory", out, sizeof(out)), -EINVAL);
	assert_int_equal(cg__parse_cgroup_line("4:memory:/abcdef", "memory", out, 4),
			 -ENAMETOOLONG);
}

static void test_find_cgroup_path(void **state)
{
	const char *hybrid = "9:name=systemd:/\n8:pids:/\n4:memory:/process_api/h\n"
			     "6:freezer:/f\n0::/\n";
	const char *unified = "0::/init.scope\n";
	char out[256];

	(void)state;
	assert_int_equal(cg__find_cgroup_path(hybrid, "memory", out, sizeof(out)), 0);
	assert_string_equal(out, "/process_api/h");
	assert_int_equal(cg__find_cgroup_path(hybrid, "freezer", out, sizeof(out)), 0);
	assert_string_equal(out, "/f");
	assert_int_equal(cg__find_cgroup_path(hybrid, "", out, sizeof(out)), 0);
	assert_string_equal(out, "/");
	assert_int_equal(cg__find_cgroup_path(unified, "memory", out, sizeof(out)), -ENOENT);
	assert_int_equal(cg__find_cgroup_path(unified, "", out, sizeof(out)), 0);
	assert_string_equal(out, "/init.scope");
	assert_int_equal(cg__find_cgroup_path("", "", out, sizeof(out)), -ENOENT);
}

static void test_parse_run_name(void **state)
{
	unsigned long long st;
	unsigned long seq;
	pid_t pid;

	(void)state;
	assert_int_equal(cg__parse_run_name("chaos.123.456789.2", &pid, &st, &seq), 0);
	assert_int_equal(pid, 123);
	assert_int_equal(st, 456789);
	assert_int_equal(seq, 2);
	assert_int_equal(cg__parse_run_name("chaos.1.2", &pid, &st, &seq), -EINVAL);
	assert_int_equal(cg__parse_run_name("chaos.1.2.3x", &pid, &st, &seq), -EINVAL);
	assert_int_equal(cg__parse_run_name("chaos.-1.2.3", &pid, &st, &seq), -EINVAL);
	assert_int_equal(cg__parse_run_name("chaos.0.2.3", &pid, &st, &seq), -EINVAL);
	assert_int_equal(cg__parse_run_name("other.1.2.3", &pid, &st, &seq), -EINVAL);
	assert_int_equal(cg__parse_run_name("chaos..2.3", &pid, &st, &seq), -EINVAL);
}

static void test_proc_starttime(void **state)
{
	struct chaos_proc_stat self1, self2;

	(void)state;
	/* Our own starttime is stable (the run cgroup's name relies on it). */
	assert_int_equal(chaos_proc_stat(getpid(), &self1), 0);
	assert_int_equal(chaos_proc_stat(getpid(), &self2), 0);
	assert_true(self1.starttime == self2.starttime);
}

static void test_path_under(void **state)
{
	(void)state;
	assert_true(cg__path_under("/a/b", "/a"));
	assert_true(cg__path_under("/a", "/a"));
	assert_false(cg__path_under("/ab", "/a"));
	assert_true(cg__path_under("/x", "/"));
}

/* ---- integration tests ---------------------------------------------------- */

static void test_detect(void **state)
{
	(void)state;
	NEED_CGROUP();
	assert_true(env.version == CHAOS_CG_V1 || env.version == CHAOS_CG_V2);
	assert_true(dir_exists(env.mem_dir));
	print_message("cgroup backend: v%d at %s (freezer: %s)\n", env.version, env.mem_dir,
		      env.freezer_dir[0] ? env.freezer_dir : "none");
}

static void test_create_attach_contains(void **state)
{
	struct chaos_cg *run = NULL, *child = NULL;
	char run_dir[4096];
	pid_t pids[16];
	size_t n = 0;
	unsigned removed = 0;
	struct held a, b;
	int st;

	(void)state;
	NEED_CGROUP();
	assert_int_equal(chaos_cg_run_create(&env, &run), 0);
	snprintf(run_dir, sizeof(run_dir), "%s", chaos_cg_dir(run));
	assert_true(dir_exists(run_dir));
	assert_non_null(strstr(chaos_cg_name(run), "/chaos."));
	assert_int_equal(chaos_cg_child_create(run, "w0", 64u << 20, &child), 0);
	assert_true(dir_exists(chaos_cg_dir(child)));
	/* A bad name is refused and says where. */
	{
		struct chaos_cg *bad = NULL;

		assert_int_equal(chaos_cg_child_create(run, "../x", 0, &bad), -EINVAL);
		assert_null(bad);
		assert_non_null(strstr(chaos_cg_last_error(), run_dir));
	}

	a = fork_held(do_sleep);
	b = fork_held(do_sleep);
	assert_int_equal(chaos_cg_attach(run, a.pid), 0);
	assert_int_equal(chaos_cg_attach(child, b.pid), 0);
	release(&a);
	release(&b);
	assert_int_equal(chaos_cg_contains(run, a.pid), 1);
	assert_int_equal(chaos_cg_contains(run, b.pid), 1);
	assert_int_equal(chaos_cg_contains(child, b.pid), 1);
	assert_int_equal(chaos_cg_contains(child, a.pid), 0);
	assert_int_equal(chaos_cg_contains(run, getpid()), 0);
	assert_int_equal(chaos_cg_pids(run, pids, 16, &n), 0);
	assert_int_equal(n, 2);
	assert_true((pids[0] == a.pid && pids[1] == b.pid) ||
		    (pids[0] == b.pid && pids[1] == a.pid));
	assert_int_equal(chaos_cg_pids(child, pids, 16, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(pids[0], b.pid);

	/* Destroy kills what is left and removes run and child. */
	assert_int_equal(chaos_cg_destroy(run, &removed), 0);
	assert_true(removed >= 2);
	assert_false(dir_exists(run_dir));
	assert_int_equal(tu_wait_status(a.pid, 5000, &st), 0);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	assert_int_equal(tu_wait_status(b.pid, 5000, &st), 0);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
}

static void test_real_oom_kill(void **state)
{
	struct chaos_cg *run = NULL, *child = NULL;
	uint64_t before = 99, after = 0, run_count = 0;
	unsigned removed = 0;
	struct pollfd p;
	struct held h;
	int fd, st, pr;

	(void)state;
	NEED_CGROUP();
	assert_int_equal(chaos_cg_run_create(&env, &run), 0);
	assert_int_equal(chaos_cg_child_create(run, "w0", 32u << 20, &child), 0);
	assert_int_equal(chaos_cg_oom_kills(child, &before), 0);
	assert_int_equal(before, 0);
	fd = chaos_cg_oom_fd(child);
	assert_true(fd >= 0);
	/* Nothing happened yet: the descriptor is not readable. */
	p = (struct pollfd){.fd = fd, .events = POLLIN | POLLPRI};
	assert_int_equal(poll(&p, 1, 0), 0);

	h = fork_held(do_hog);
	assert_int_equal(chaos_cg_attach(child, h.pid), 0);
	release(&h);
	assert_int_equal(tu_wait_status(h.pid, 30000, &st), 0);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGKILL);

	p = (struct pollfd){.fd = fd, .events = POLLIN | POLLPRI};
	pr = poll(&p, 1, 5000);
	assert_int_equal(pr, 1);
	chaos_cg_oom_ack(child);
	assert_int_equal(chaos_cg_oom_kills(child, &after), 0);
	assert_true(after >= 1);
	/* The run counts its children's OOM kills on both versions. */
	assert_int_equal(chaos_cg_oom_kills(run, &run_count), 0);
	assert_true(run_count >= 1);
	print_message("oom: child counter %llu -> %llu, run %llu\n", (unsigned long long)before,
		      (unsigned long long)after, (unsigned long long)run_count);

	assert_int_equal(chaos_cg_destroy(run, &removed), 0);
	assert_true(removed >= 2);
}

static void test_kill_all_tree(void **state)
{
	struct chaos_cg *run = NULL;
	char run_dir[4096];
	unsigned killed = 0, removed = 0;
	pid_t pids[16];
	size_t n = 0, i;
	struct held h;
	int st;

	(void)state;
	NEED_CGROUP();
	/* Grandchildren get reparented to us, so that we can reap them. */
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	assert_int_equal(chaos_cg_run_create(&env, &run), 0);
	snprintf(run_dir, sizeof(run_dir), "%s", chaos_cg_dir(run));
	h = fork_held(do_tree);
	assert_int_equal(chaos_cg_attach(run, h.pid), 0);
	release(&h);
	assert_int_equal(wait_npids(run, 4, 5000), 4);
	assert_int_equal(chaos_cg_pids(run, pids, 16, &n), 0);
	assert_int_equal(n, 4);

	assert_int_equal(chaos_cg_kill_all(run, &killed), 0);
	assert_int_equal(killed, 4);
	assert_int_equal(chaos_cg_pids(run, pids + 8, 8, &n), 0);
	assert_int_equal(n, 0);
	/* Every process of the tree died of SIGKILL. */
	for (i = 0; i < 4; i++) {
		assert_int_equal(tu_wait_status(pids[i], 5000, &st), 0);
		assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	}
	assert_int_equal(chaos_cg_destroy(run, &removed), 0);
	assert_true(removed >= 1);
	assert_false(dir_exists(run_dir));
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 0), 0);
}

static void test_destroy_run_with_children(void **state)
{
	struct chaos_cg *run = NULL, *w0 = NULL, *w1 = NULL;
	char run_dir[4096], w1_dir[4096];
	unsigned removed = 0;
	struct held a, b, c;
	int st;

	(void)state;
	NEED_CGROUP();
	assert_int_equal(chaos_cg_run_create(&env, &run), 0);
	snprintf(run_dir, sizeof(run_dir), "%s", chaos_cg_dir(run));
	assert_int_equal(chaos_cg_child_create(run, "w0", 64u << 20, &w0), 0);
	assert_int_equal(chaos_cg_child_create(run, "w1", 0, &w1), 0);
	snprintf(w1_dir, sizeof(w1_dir), "%s", chaos_cg_dir(w1));
	/* The whole-run limit goes on the run itself. */
	assert_int_equal(chaos_cg_set_limit(run, 512u << 20), 0);
	a = fork_held(do_sleep);
	b = fork_held(do_sleep);
	c = fork_held(do_sleep);
	assert_int_equal(chaos_cg_attach(run, a.pid), 0);
	assert_int_equal(chaos_cg_attach(w0, b.pid), 0);
	assert_int_equal(chaos_cg_attach(w1, c.pid), 0);
	release(&a);
	release(&b);
	release(&c);
	/* Destroying one child alone removes just that child. */
	assert_int_equal(chaos_cg_destroy(w1, &removed), 0);
	assert_int_equal(removed, 1);
	assert_false(dir_exists(w1_dir));
	assert_int_equal(tu_wait_status(c.pid, 5000, &st), 0);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	assert_true(dir_exists(run_dir));

	assert_int_equal(chaos_cg_destroy(run, &removed), 0);
	/* run and w0, plus the "main" leaf on v2. */
	assert_int_equal(removed, env.version == CHAOS_CG_V2 ? 3 : 2);
	assert_false(dir_exists(run_dir));
	assert_int_equal(tu_wait_status(a.pid, 5000, &st), 0);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	assert_int_equal(tu_wait_status(b.pid, 5000, &st), 0);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
}

static void write_pid(const char *dir, pid_t pid)
{
	char val[32];

	snprintf(val, sizeof(val), "%d", (int)pid);
	assert_int_equal(tu_write_file(dir, "cgroup.procs", val), 0);
}

static void test_sweep_stale(void **state)
{
	char leaf[128], run_dir[4400], w_dir[4500], frz_dir[4400], live_leaf[128];
	char live_dir[4400];
	struct chaos_proc_stat my_st;
	unsigned removed = 0;
	pid_t dead;
	struct held h;
	int st;

	(void)state;
	NEED_CGROUP();
	/* A pid that surely is dead: a child we reaped. */
	dead = fork();
	assert_true(dead >= 0);
	if (dead == 0)
		tu_child_exit(0);
	assert_int_equal(tu_wait_status(dead, 5000, &st), 0);
	snprintf(leaf, sizeof(leaf), "chaos.%d.12345.7", (int)dead);
	snprintf(run_dir, sizeof(run_dir), "%s/%s", env.mem_dir, leaf);
	snprintf(w_dir, sizeof(w_dir), "%s/w0", run_dir);
	assert_int_equal(mkdir(run_dir, 0755), 0);
	assert_int_equal(mkdir(w_dir, 0755), 0);
	frz_dir[0] = '\0';
	if (env.freezer_dir[0]) {
		snprintf(frz_dir, sizeof(frz_dir), "%s/%s", env.freezer_dir, leaf);
		assert_int_equal(mkdir(frz_dir, 0755), 0);
	}
	/* A run of a live owner (us, right starttime) must survive the sweep. */
	assert_int_equal(chaos_proc_stat(getpid(), &my_st), 0);
	snprintf(live_leaf, sizeof(live_leaf), "chaos.%d.%llu.999", (int)getpid(), my_st.starttime);
	snprintf(live_dir, sizeof(live_dir), "%s/%s", env.mem_dir, live_leaf);
	assert_int_equal(mkdir(live_dir, 0755), 0);

	h = fork_held(do_sleep);
	write_pid(w_dir, h.pid);
	if (frz_dir[0])
		write_pid(frz_dir, h.pid);
	release(&h);

	assert_int_equal(chaos_cg_sweep_stale(&env, &removed), 0);
	assert_true(removed >= 1);
	assert_false(dir_exists(run_dir));
	if (frz_dir[0])
		assert_false(dir_exists(frz_dir));
	assert_true(dir_exists(live_dir));
	assert_int_equal(tu_wait_status(h.pid, 5000, &st), 0);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	assert_int_equal(rmdir(live_dir), 0);
}

static void test_none_reason(void **state)
{
	(void)state;
	/* Whatever detection found, a NONE result always carries a reason,
	 * and a successful one leaves why empty. */
	if (env.version == CHAOS_CG_NONE)
		assert_true(env.why[0] != '\0');
	else
		assert_true(env.why[0] == '\0');
}

static void test_no_leftovers(void **state)
{
	(void)state;
	NEED_CGROUP();
	assert_int_equal(count_ours(env.mem_dir), 0);
	assert_int_equal(count_ours(env.freezer_dir), 0);
}

/* ---- error and edge paths ---------------------------------------------------- */

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
	NEED_CGROUP();
	assert_int_equal(chaos_cg_run_create(&env, &cur_run), 0);
	assert_int_equal(chaos_cg_child_create(cur_run, "w0", 64 << 20, &w), 0);
	assert_int_equal(chaos_cg_child_create(w, "w1", 0, &ww), -EINVAL);
	assert_non_null(strstr(chaos_cg_last_error(), "only be created below a run"));
	memset(name, 'x', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	assert_int_equal(chaos_cg_child_create(cur_run, name, 0, &ww), -ENAMETOOLONG);
	assert_true(chaos_cg_last_error()[0] != '\0');
	assert_int_equal(chaos_cg_destroy(cur_run, &n), 0);
	cur_run = NULL;
	/* The run and w0, plus the "main" leaf on v2. */
	assert_int_equal(n, env.version == CHAOS_CG_V2 ? 3 : 2);
}

/* More members than the caller's array: -ENOBUFS, never an overrun. A PID
 * that has exited is simply not a member. */
static void test_pids_overflow_and_gone(void **state)
{
	pid_t pids[1], a, b, gone;
	size_t n = 0;
	int status;

	(void)state;
	NEED_CGROUP();
	assert_int_equal(chaos_cg_run_create(&env, &cur_run), 0);
	a = sleeper();
	b = sleeper();
	assert_int_equal(chaos_cg_attach(cur_run, a), 0);
	assert_int_equal(chaos_cg_attach(cur_run, b), 0);
	assert_int_equal(chaos_cg_pids(cur_run, pids, 1, &n), -ENOBUFS);
	assert_non_null(strstr(chaos_cg_last_error(), "more than 1 processes"));

	gone = fork();
	assert_true(gone >= 0);
	if (gone == 0)
		tu_child_exit(0);
	assert_int_equal(tu_wait_status(gone, 5000, &status), 0);
	assert_int_equal(chaos_cg_contains(cur_run, gone), 0);
	assert_int_equal(chaos_cg_contains(cur_run, a), 1);
	assert_int_equal(chaos_cg_contains(cur_run, getpid()), 0);
}

/* cg__kill_member signals only a process inside the named cgroup: one
 * outside it (here: a sleeper in our own cgroup) is left alone (0), a
 * member is killed (1), and a gone PID is not an error (0). */
static void test_kill_member(void **state)
{
	pid_t outside, inside, gone;
	int status;

	(void)state;
	NEED_CGROUP();
	assert_int_equal(chaos_cg_run_create(&env, &cur_run), 0);
	outside = sleeper();
	inside = sleeper();
	assert_int_equal(chaos_cg_attach(cur_run, inside), 0);
	assert_int_equal(cg__kill_member(outside, env.version == CHAOS_CG_V1 ? "memory" : "",
					 chaos_cg_name(cur_run)),
			 0);
	assert_int_equal(waitpid(outside, &status, WNOHANG), 0);

	assert_int_equal(cg__kill_member(inside, env.version == CHAOS_CG_V1 ? "memory" : "",
					 chaos_cg_name(cur_run)),
			 1);
	assert_int_equal(tu_wait_status(inside, 5000, &status), 0);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	kids[1] = 0;

	gone = fork();
	assert_true(gone >= 0);
	if (gone == 0)
		tu_child_exit(0);
	assert_int_equal(tu_wait_status(gone, 5000, &status), 0);
	assert_int_equal(cg__kill_member(gone, "memory", chaos_cg_name(cur_run)), 0);
}

/* A tree or a cgroup.procs that vanished meanwhile is empty, not an error. */
static void test_vanished_dirs(void **state)
{
	char dir[4200];
	unsigned removed = 0;
	pid_t pids[4];
	size_t n = 0;

	(void)state;
	NEED_CGROUP();
	snprintf(dir, sizeof(dir), "%s/chaos.test-never-created", env.mem_dir);
	assert_int_equal(cg__remove_tree("memory", env.mem_dir, dir, &removed), 0);
	assert_int_equal(removed, 0);
	assert_int_equal(cg__collect_pids(dir, pids, 4, &n), 0);
	assert_int_equal(n, 0);
}

/* Without a usable cgroup nothing is created, and the reason is passed on. */
static void test_no_usable_cgroup(void **state)
{
	struct chaos_cg_env none;
	struct chaos_cg *r = (struct chaos_cg *)&none;
	unsigned removed = 7;

	(void)state;
	memset(&none, 0, sizeof(none));
	none.version = CHAOS_CG_NONE;
	snprintf(none.why, sizeof(none.why), "memory controller not delegated");
	assert_int_equal(chaos_cg_run_create(&none, &r), -ENODEV);
	assert_null(r);
	assert_string_equal(chaos_cg_last_error(), "no usable cgroup: memory controller not delegated");
	assert_int_equal(chaos_cg_sweep_stale(&none, &removed), -ENODEV);
	assert_int_equal(removed, 0);
}

/* Kill the processes in dir and remove it (deepest first). */
static void cleanup_dir(const char *ctl, const char *dir)
{
	char mount[4096];
	pid_t pids[256];
	size_t n = 0, i;
	unsigned removed = 0;

	if (cg__find_mount(ctl, mount, sizeof(mount)) < 0)
		return;
	print_message("cleanup: removing leftover %s\n", dir);
	(void)tu_write_file(dir, "freezer.state", "THAWED");
	(void)cg__collect_pids(dir, pids, 256, &n);
	for (i = 0; i < n; i++)
		if (pids[i] != getpid())
			kill(pids[i], SIGKILL);
	cg__remove_tree(ctl ? ctl : "memory", mount, dir, &removed);
}

/* Kill and reap a test's sleepers, destroy its run, and remove anything of
 * ours a failed test left behind, so that a failing run still leaves no
 * process and no cgroup. */
static int cleanup(void **state)
{
	const char *ctl[2] = {NULL, "freezer"};
	const char *dirs[2] = {env.mem_dir, env.freezer_dir};
	char prefix[64], path[4200];
	struct dirent *de;
	unsigned n = 0;
	size_t i;
	DIR *d;
	int k;

	(void)state;
	for (i = 0; i < sizeof(kids) / sizeof(kids[0]); i++) {
		if (kids[i] > 0) {
			kill(kids[i], SIGKILL);
			(void)tu_wait_status(kids[i], 5000, &k);
		}
		kids[i] = 0;
	}
	if (cur_run)
		chaos_cg_destroy(cur_run, &n);
	cur_run = NULL;
	if (!have_cg)
		return 0;
	ctl[0] = env.version == CHAOS_CG_V1 ? "memory" : NULL;
	snprintf(prefix, sizeof(prefix), "chaos.%d.", (int)getpid());
	for (k = 0; k < 2; k++) {
		if (!dirs[k][0] || (k == 1 && env.version != CHAOS_CG_V1))
			continue;
		d = opendir(dirs[k]);
		if (!d)
			continue;
		while ((de = readdir(d))) {
			if (strncmp(de->d_name, prefix, strlen(prefix)))
				continue;
			snprintf(path, sizeof(path), "%s/%s", dirs[k], de->d_name);
			cleanup_dir(ctl[k], path);
		}
		closedir(d);
	}
	return 0;
}

static int setup(void **state)
{
	(void)state;
	have_cg = chaos_cg_detect(&env) == 0;
	if (!have_cg)
		print_message("cgroup tests will skip: %s\n", env.why);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_cgroup_line),
	    cmocka_unit_test(test_find_cgroup_path),
	    cmocka_unit_test(test_parse_run_name),
	    cmocka_unit_test(test_proc_starttime),
	    cmocka_unit_test(test_path_under),
	    cmocka_unit_test(test_none_reason),
	    cmocka_unit_test(test_detect),
	    cmocka_unit_test_teardown(test_create_attach_contains, cleanup),
	    cmocka_unit_test_teardown(test_real_oom_kill, cleanup),
	    cmocka_unit_test_teardown(test_kill_all_tree, cleanup),
	    cmocka_unit_test_teardown(test_destroy_run_with_children, cleanup),
	    cmocka_unit_test_teardown(test_sweep_stale, cleanup),
	    cmocka_unit_test(test_lcg_errno),
	    cmocka_unit_test(test_no_usable_cgroup),
	    cmocka_unit_test_teardown(test_child_errors, cleanup),
	    cmocka_unit_test_teardown(test_pids_overflow_and_gone, cleanup),
	    cmocka_unit_test_teardown(test_kill_member, cleanup),
	    cmocka_unit_test_teardown(test_vanished_dirs, cleanup),
	    cmocka_unit_test(test_no_leftovers),
	};

	return cmocka_run_group_tests_name("cgroup", tests, setup, NULL);
}
