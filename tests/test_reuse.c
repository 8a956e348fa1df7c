/* PID reuse: a timed fault aimed at a worker that already exited never
 * signals the process that now has its PID.
 *
 * To make reuse certain rather than lucky, the controller runs in a new PID
 * namespace whose pid_max is 310 (per-namespace pid_max, Linux >= 6.14):
 * after the first wrap the kernel hands out only PIDs 300..309. The target
 * (tests/helpers/ctl_reuse) lets its worker finish task 0, forks until the
 * worker's PID comes back, and keeps that innocent process, which is in the
 * run cgroup too, so the membership check alone would not protect it,
 * asleep past the fault on worker 0. The fault must be recorded as not
 * sent and the innocent must survive.
 *
 * The namespaced controller lives in a private sub-cgroup ("ctl2-pidns.*")
 * of ours: its run cgroups are named after PIDs of its namespace, which a
 * stale sweep outside it would misread, and vice versa. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "cgroup/cgroup.h"
#include "engine/run.h"
#include "util/testutil.h"

#define NS_PID_MAX "310"
#define EXIT_NS_SKIP 77

static char helper[PATH_MAX];
static char outdir[1024];
static struct chaos_cg_env cgenv;
static int have_cg;

static int write_str(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* PID 1 of the new namespace: its own /proc, a small pid_max, its own
 * sub-cgroups, PIDs burnt up to the wrap, then one controlled run. */
static void ns_init(const char *memsub, const char *frzsub)
{
	struct chaos_scenario sc;
	struct chaos_run_result r;
	char *argv[] = {helper, NULL};
	struct chaos_run_opts o = {.sc = &sc, .target_name = "ctl_reuse", .argv = argv,
				   .outdir = outdir};
	char path[4300];
	int i, st;

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL))
		tu_child_exit(EXIT_NS_SKIP);
	if (write_str("/proc/sys/kernel/pid_max", NS_PID_MAX))
		tu_child_exit(EXIT_NS_SKIP); /* no per-namespace pid_max (< 6.14) */
	snprintf(path, sizeof(path), "%s/cgroup.procs", memsub);
	if (write_str(path, "0"))
		tu_child_exit(3);
	if (frzsub[0]) {
		snprintf(path, sizeof(path), "%s/cgroup.procs", frzsub);
		if (write_str(path, "0"))
			tu_child_exit(3);
	}
	/* Burn PIDs until they wrap, so that every later PID is one of the
	 * ten in 300..309 (bounded: pid_max forks at most). */
	for (i = 0; i < 400; i++) {
		pid_t p = fork();

		if (p < 0)
			tu_child_exit(3);
		if (p == 0)
			tu_child_exit(0);
		waitpid(p, &st, 0);
		if (p >= 300 && i > 300)
			break;
	}
	if (chaos_scenario_init(&sc, 1))
		tu_child_exit(3);
	sc.workers = 1;
	sc.deadline_ms = 15000;
	sc.faults = calloc(1, sizeof(*sc.faults));
	if (!sc.faults)
		tu_child_exit(3);
	sc.nfaults = 1;
	sc.faults[0].kind = CHAOS_FAULT_AT_TIME;
	sc.faults[0].signo = SIGKILL;
	sc.faults[0].worker = 0;
	sc.faults[0].delay_ms = 1500;
	setenv("CTL_INNOCENT_MS", "3000", 1);
	tu_child_exit(chaos_run(&o, &r) == 0 ? 0 : 4);
}

static void test_fault_after_pid_reuse(void **state)
{
	char memsub[4200], frzsub[4200] = "", path[1200], err[512] = "";
	struct tu_hist h;
	json_t *f, *w, *end;
	int status, pidfd, reused = -1;
	struct pollfd p;
	pid_t c;
	FILE *fh;

	(void)state;
	if (!have_cg || geteuid() != 0) {
		print_message("skipped: needs root and a writable memory cgroup: %s\n", cgenv.why);
		skip();
	}
	snprintf(memsub, sizeof(memsub), "%s/ctl2-pidns.%d", cgenv.mem_dir, (int)getpid());
	assert_int_equal(mkdir(memsub, 0755), 0);
	if (cgenv.freezer_dir[0]) {
		snprintf(frzsub, sizeof(frzsub), "%s/ctl2-pidns.%d", cgenv.freezer_dir,
			 (int)getpid());
		assert_int_equal(mkdir(frzsub, 0755), 0);
	}
	c = fork();
	assert_true(c >= 0);
	if (c == 0) {
		pid_t g;

		if (unshare(CLONE_NEWPID | CLONE_NEWNS))
			tu_child_exit(EXIT_NS_SKIP);
		g = fork();
		if (g < 0)
			tu_child_exit(3);
		if (g == 0)
			ns_init(memsub, frzsub);
		while (waitpid(g, &status, 0) < 0 && errno == EINTR)
			;
		tu_child_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 5);
	}
	/* The namespaced run ends within its deadline (15 s); allow 30. */
	pidfd = (int)syscall(SYS_pidfd_open, c, 0);
	assert_true(pidfd >= 0);
	p.fd = pidfd;
	p.events = POLLIN;
	if (poll(&p, 1, 30000) != 1)
		kill(c, SIGKILL); /* its namespace dies with its PID 1 */
	close(pidfd);
	assert_int_equal(waitpid(c, &status, 0), c);
	/* Both sub-cgroups must be empty and removable now. */
	assert_int_equal(rmdir(memsub), 0);
	if (frzsub[0])
		assert_int_equal(rmdir(frzsub), 0);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == EXIT_NS_SKIP) {
		print_message("skipped: no PID namespace with its own pid_max here\n");
		skip();
	}
	assert_int_equal(WEXITSTATUS(status), 0);

	snprintf(path, sizeof(path), "%s/stderr.txt", outdir);
	fh = fopen(path, "r");
	assert_non_null(fh);
	while (fgets(err, sizeof(err), fh)) {
		print_message("target: %s", err);
		if (sscanf(err, "reused pid %d", &reused) == 1)
			continue;
	}
	fclose(fh);
	assert_true(reused > 0);

	snprintf(path, sizeof(path), "%s/history.jsonl", outdir);
	tu_hist_load(path, &h);
	w = tu_hist_find(&h, "worker", NULL, NULL, 0);
	f = tu_hist_find(&h, "fault", NULL, NULL, 0);
	end = tu_hist_find(&h, "end_run", NULL, NULL, 0);
	assert_non_null(w);
	assert_non_null(f);
	assert_non_null(end);
	/* The fault was aimed at the PID now held by the innocent process... */
	assert_int_equal(json_integer_value(json_object_get(w, "pid")), reused);
	assert_int_equal(json_integer_value(json_object_get(f, "pid")), reused);
	/* ...and was recorded as not sent, */
	assert_true(json_is_false(json_object_get(f, "ok")));
	assert_string_equal(tu_sval(f, "error"), "target exited");
	/* and the innocent survived: the target printed done. */
	assert_string_equal(tu_sval(end, "verdict"), "done");
	tu_hist_free(&h);
}

static int setup(void **state)
{
	int ret;

	(void)state;
	ret = tu_helper_setup("ctl_reuse", helper, sizeof(helper), "test_reuse.out", outdir,
			      sizeof(outdir));
	have_cg = chaos_cg_detect(&cgenv) == 0 && cgenv.version != CHAOS_CG_NONE;
	setenv("CHAOS_GO_TIMEOUT_MS", "5000", 1);
	return ret;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fault_after_pid_reuse),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
