/* Tests of the cgroup backends (chaos/cgroup*.c) on the machine's real
 * cgroups: v1 here, v2 in the VM (ci/check-v2). The parsers are tested on
 * strings; everything else creates real cgroups below our own, provokes a
 * real OOM kill and real SIGKILLs, and checks that nothing is left behind. */
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

#include "cgroup/cgroup.h"
#include "cgroup/internal.h"
#include "util/testutil.h"


static struct chaos_cg_env env;
static int have_cg;

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
	unsigned long long self1, self2;

	(void)state;
	/* Our own starttime is stable (the run cgroup's name relies on it). */
	assert_int_equal(cg__proc_starttime(getpid(), &self1), 0);
	assert_int_equal(cg__proc_starttime(getpid(), &self2), 0);
	assert_true(self1 == self2);
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
	char path[4600], val[32];

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	snprintf(val, sizeof(val), "%d", (int)pid);
	assert_int_equal(cg__write_file(path, val), 0);
}

static void test_sweep_stale(void **state)
{
	char leaf[128], run_dir[4400], w_dir[4500], frz_dir[4400], live_leaf[128];
	char live_dir[4400];
	unsigned long long my_st;
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
	assert_int_equal(cg__proc_starttime(getpid(), &my_st), 0);
	snprintf(live_leaf, sizeof(live_leaf), "chaos.%d.%llu.999", (int)getpid(), my_st);
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

/* Kill the processes in dir and remove it (deepest first). */
static void cleanup_dir(const char *ctl, const char *dir)
{
	char mount[4096], path[4400];
	pid_t pids[256];
	size_t n = 0, i;
	unsigned removed = 0;

	if (cg__find_mount(ctl, mount, sizeof(mount)) < 0)
		return;
	print_message("cleanup: removing leftover %s\n", dir);
	snprintf(path, sizeof(path), "%s/freezer.state", dir);
	(void)cg__write_file(path, "THAWED");
	(void)cg__collect_pids(dir, pids, 256, &n);
	for (i = 0; i < n; i++)
		if (pids[i] != getpid())
			kill(pids[i], SIGKILL);
	cg__remove_tree(ctl ? ctl : "memory", mount, dir, &removed);
}

/* Remove anything of ours a failed test left behind, so that a failing run
 * still leaves no cgroup. */
static int cleanup(void **state)
{
	const char *ctl[2] = {NULL, "freezer"};
	const char *dirs[2] = {env.mem_dir, env.freezer_dir};
	char prefix[64], path[4200];
	struct dirent *de;
	DIR *d;
	int k;

	(void)state;
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
	    cmocka_unit_test(test_no_leftovers),
	};

	return cmocka_run_group_tests_name("cgroup", tests, setup, NULL);
}
