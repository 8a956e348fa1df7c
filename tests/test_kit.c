/* Tests of the C task kit: spec parsing, the times rule, silent mode, the
 * event-socket protocol against a small in-test controller, and the
 * behaviours that end the process (really killed, never simulated). */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "../scenarios/kit/chaos_task.h"

#include "util/testutil.h"

static char tmpdir[] = "/tmp/test_kit.XXXXXX";
static char spec_path[128];
static char sock_path[128];

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* Point the kit at a fresh spec with this text (NULL: no CHAOS_TASKS). */
static void use_spec(const char *text)
{
	chaos_task_reset();
	if (text) {
		write_file(spec_path, text);
		setenv("CHAOS_TASKS", spec_path, 1);
	} else {
		unsetenv("CHAOS_TASKS");
	}
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(spec_path, sizeof(spec_path), "%s/tasks", tmpdir);
	snprintf(sock_path, sizeof(sock_path), "%s/events.sock", tmpdir);
	unsetenv("CHAOS_EVENTS");
	unsetenv("CHAOS_TASKS");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(spec_path);
	unlink(sock_path);
	rmdir(tmpdir);
	chaos_task_reset();
	return 0;
}

/* Wait for the child until a deadline; on timeout kill and reap it so no
 * process outlives the test, and fail. Returns the wait status. */
static int wait_child(pid_t pid, int timeout_ms, struct rusage *ru)
{
	int64_t deadline = tu_now_ms() + timeout_ms;
	int status = 0;

	for (;;) {
		pid_t w = wait4(pid, &status, WNOHANG, ru);

		if (w == pid)
			return status;
		assert_true(w == 0 || (w < 0 && errno == EINTR));
		if (tu_now_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			fail_msg("child %d did not finish within %d ms", (int)pid, timeout_ms);
		}
		usleep(5000);
	}
}

/* Run chaos_task_run(id) in a child; the child exits 0 when the result is
 * expect, 1 for CHAOS_TASK_FAILED, 2 for a wrong result, 3 for an error. */
static pid_t fork_task(uint32_t id, int64_t expect)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		int64_t res = 0;
		int r = chaos_task_run(id, &res);

		if (r == CHAOS_TASK_FAILED)
			tu_child_exit(1);
		if (r < 0)
			tu_child_exit(3);
		tu_child_exit(res == expect ? 0 : 2);
	}
	return pid;
}

/* --- a tiny controller: one listening socket, one connection --------- */

static int listen_events(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	unlink(sock_path);
	strcpy(sa.sun_path, sock_path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 4), 0);
	setenv("CHAOS_EVENTS", sock_path, 1);
	return fd;
}

static int accept_within(int lfd, int timeout_ms)
{
	struct pollfd p = {.fd = lfd, .events = POLLIN};

	assert_int_equal(poll(&p, 1, timeout_ms), 1);
	return accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
}

/* Read one line (without the newline) within the deadline; "" on EOF. */
static void read_line(int fd, char *buf, size_t len, int timeout_ms)
{
	size_t have = 0;
	int64_t deadline = tu_now_ms() + timeout_ms;

	buf[0] = '\0';
	while (have + 1 < len) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int64_t left = deadline - tu_now_ms();
		ssize_t rd;

		assert_true(left > 0);
		assert_int_equal(poll(&p, 1, (int)left), 1);
		rd = read(fd, buf + have, 1);
		assert_true(rd >= 0);
		if (rd == 0)
			break;
		if (buf[have] == '\n')
			break;
		have++;
	}
	buf[have] = '\0';
}

static void send_str(int fd, const char *s)
{
	assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

/* --- spec parsing ------------------------------------------------------ */

static void test_parse_valid(void **state)
{
	struct chaos_task_def *d = NULL;
	uint32_t n = 0;
	char err[256] = "";

	(void)state;
	write_file(spec_path, "chaos-tasks 1 4\n"
			      "0 sleep=0 alloc=0 action=ok code=0 times=1 result=0\n"
			      "1 sleep=50 alloc=268435456 action=exit code=3 times=0 result=-7\n"
			      "2 action=selfkill\n"
			      "3 action=segv times=2\n");
	assert_int_equal(chaos_task_parse_file(spec_path, &d, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 4);
	assert_int_equal(d[1].sleep_ms, 50);
	assert_int_equal(d[1].alloc_bytes, 268435456ULL);
	assert_int_equal(d[1].action, CHAOS_TASK_EXIT);
	assert_int_equal(d[1].exit_code, 3);
	assert_int_equal(d[1].times, 0);
	assert_int_equal(d[1].result, -7);
	/* Missing keys take the documented defaults. */
	assert_int_equal(d[2].action, CHAOS_TASK_SELFKILL);
	assert_int_equal(d[2].times, 1);
	assert_int_equal(d[2].result, 4);
	assert_int_equal(d[3].result, 9);
	assert_int_equal(d[3].times, 2);
	assert_int_equal(d[3].hold, 0);
	free(d);
	d = NULL;
	write_file(spec_path, "chaos-tasks 2 2\n0 hold=1 result=5\n1\n");
	assert_int_equal(chaos_task_parse_file(spec_path, &d, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_int_equal(d[0].hold, 1);
	assert_int_equal(d[0].result, 5);
	assert_int_equal(d[1].hold, 0);
	free(d);
}

static void expect_bad(const char *text, const char *where, const char *needle)
{
	struct chaos_task_def *d = NULL;
	uint32_t n = 0;
	char err[512] = "";
	char loc[200];

	write_file(spec_path, text);
	assert_int_equal(chaos_task_parse_file(spec_path, &d, &n, err, sizeof(err)), -EINVAL);
	assert_null(d);
	snprintf(loc, sizeof(loc), "%s:%s: ", spec_path, where);
	if (strncmp(err, loc, strlen(loc)) != 0 || !strstr(err, needle))
		fail_msg("message '%s' lacks '%s' or '%s'", err, loc, needle);
}

static void test_parse_bad(void **state)
{
	(void)state;
	expect_bad("", "0", "empty file");
	expect_bad("tasks 1 2\n", "1", "expected header");
	expect_bad("chaos-tasks 3 1\n0\n", "1", "version 3");
	/* hold arrived with version 2: a version 1 file cannot have it. */
	expect_bad("chaos-tasks 1 1\n0 hold=1\n", "2", "unknown key 'hold'");
	expect_bad("chaos-tasks 2 1\n0 hold=2\n", "2", "bad value '2' for hold");
	expect_bad("chaos-tasks 1 2\n0 result=0\n", "2", "1 task lines, header says 2");
	expect_bad("chaos-tasks 1 1\n0\n1\n", "3", "more task lines");
	expect_bad("chaos-tasks 1 2\n0\n2\n", "3", "out of order");
	expect_bad("chaos-tasks 1 1\n0 colour=red\n", "2", "unknown key 'colour'");
	expect_bad("chaos-tasks 1 1\n0 action=explode\n", "2", "bad value 'explode' for action");
	expect_bad("chaos-tasks 1 1\n0 sleep=-1\n", "2", "bad value '-1' for sleep");
	expect_bad("chaos-tasks 1 1\n0 result=12x\n", "2", "bad value '12x' for result");
	expect_bad("chaos-tasks 1 1\n0 code=256\n", "2", "bad value '256' for code");
	expect_bad("chaos-tasks 1 1\n0 sleep\n", "2", "expected key=value");
	expect_bad("chaos-tasks 1 1\nx\n", "2", "expected a task id");
}

static void test_bad_spec_is_an_error(void **state)
{
	int64_t res = 0;

	(void)state;
	use_spec("chaos-tasks 1 1\n0 colour=red\n");
	assert_int_equal(chaos_task_init(), -EINVAL);
	assert_int_equal(chaos_task_run(0, &res), -EINVAL);
	use_spec(NULL);
	setenv("CHAOS_TASKS", "/nonexistent/tasks", 1);
	assert_int_equal(chaos_task_run(0, &res), -ENOENT);
	use_spec(NULL);
}

/* --- silent mode ------------------------------------------------------- */

static void test_silent_defaults(void **state)
{
	int64_t res = -1;

	(void)state;
	unsetenv("CHAOS_EVENTS");
	use_spec(NULL);
	for (uint32_t id = 0; id < 20; id++) {
		assert_int_equal(chaos_task_run(id, &res), 0);
		assert_int_equal(res, (int64_t)id * id);
	}
	assert_int_equal(chaos_task_run(100000, &res), 0);
	assert_int_equal(res, 10000000000LL);
}

static void test_silent_spec(void **state)
{
	int64_t res = 0;
	int64_t t0;

	(void)state;
	unsetenv("CHAOS_EVENTS");
	use_spec("chaos-tasks 1 3\n"
		 "0 result=-5\n"
		 "1 sleep=100 alloc=1048576 result=77\n"
		 "2 action=fail\n");
	assert_int_equal(chaos_task_run(0, &res), 0);
	assert_int_equal(res, -5);
	t0 = tu_now_ms();
	assert_int_equal(chaos_task_run(1, &res), 0);
	assert_true(tu_now_ms() - t0 >= 100);
	assert_int_equal(res, 77);
	/* Without a controller the kit runs attempt 1, which misbehaves. */
	assert_int_equal(chaos_task_run(2, &res), CHAOS_TASK_FAILED);
	assert_int_equal(chaos_task_run(3, &res), -ERANGE);
	use_spec(NULL);
}

/* --- protocol ---------------------------------------------------------- */

/* One attempt of task id against the in-test controller, which answers
 * "go attempt". Checks the start line and returns the closing line (end or
 * fail, or "" when the task died) and the child's wait status. */
static int talk(uint32_t id, uint32_t attempt, int64_t expect, char *last, size_t lastlen)
{
	char line[CHAOS_TASK_LINE_MAX + 1], want[64], go[32];
	int lfd = listen_events();
	pid_t pid = fork_task(id, expect);
	int cfd = accept_within(lfd, 5000);

	assert_true(cfd >= 0);
	read_line(cfd, line, sizeof(line), 5000);
	snprintf(want, sizeof(want), "start %" PRIu32, id);
	assert_string_equal(line, want);
	snprintf(go, sizeof(go), "go %" PRIu32 "\n", attempt);
	send_str(cfd, go);
	read_line(cfd, last, lastlen, 5000);
	/* The kit closes after its closing line: the next read is EOF. */
	if (last[0]) {
		read_line(cfd, line, sizeof(line), 5000);
		assert_string_equal(line, "");
	}
	close(cfd);
	close(lfd);
	unsetenv("CHAOS_EVENTS");
	return wait_child(pid, 10000, NULL);
}

static void test_protocol_end(void **state)
{
	char last[CHAOS_TASK_LINE_MAX + 1];
	int st;

	(void)state;
	use_spec("chaos-tasks 1 4\n0\n1\n2\n3 sleep=20 result=9\n");
	st = talk(3, 2, 9, last, sizeof(last));
	assert_string_equal(last, "end 3 9");
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	use_spec(NULL);
}

static void test_protocol_times(void **state)
{
	char last[CHAOS_TASK_LINE_MAX + 1];
	int st;

	(void)state;
	use_spec("chaos-tasks 1 2\n0 action=fail times=2 result=3\n1 action=fail times=0\n");
	/* Attempts 1..times misbehave ... */
	st = talk(0, 2, 3, last, sizeof(last));
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 1);
	assert_string_equal(last, "fail 0 task 0 failed on purpose (attempt 2)");
	/* ... later attempts return the result ... */
	st = talk(0, 3, 3, last, sizeof(last));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_string_equal(last, "end 0 3");
	/* ... and times=0 misbehaves on every attempt. */
	st = talk(1, 50, 1, last, sizeof(last));
	assert_int_equal(WEXITSTATUS(st), 1);
	assert_int_equal(strncmp(last, "fail 1 ", 7), 0);
	use_spec(NULL);
}

static void test_protocol_exit_code(void **state)
{
	char last[CHAOS_TASK_LINE_MAX + 1];
	int st;

	(void)state;
	use_spec("chaos-tasks 1 1\n0 action=exit code=42\n");
	st = talk(0, 1, 0, last, sizeof(last));
	assert_string_equal(last, "");
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 42);
	use_spec(NULL);
}

static void test_protocol_selfkill(void **state)
{
	char last[CHAOS_TASK_LINE_MAX + 1];
	int st;

	(void)state;
	use_spec("chaos-tasks 1 1\n0 action=selfkill\n");
	st = talk(0, 1, 0, last, sizeof(last));
	assert_string_equal(last, "");
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGKILL);
	/* The second attempt (times=1) returns normally. */
	st = talk(0, 2, 0, last, sizeof(last));
	assert_string_equal(last, "end 0 0");
	assert_int_equal(WEXITSTATUS(st), 0);
	use_spec(NULL);
}

static void test_segv_despite_handler(void **state)
{
	struct sigaction sa = {.sa_handler = SIG_IGN};
	sigset_t set;
	pid_t pid;
	int st;

	(void)state;
	unsetenv("CHAOS_EVENTS");
	use_spec("chaos-tasks 1 1\n0 action=segv\n");
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int64_t res;

		/* A worker that ignores and blocks SIGSEGV must still die by it. */
		sigaction(SIGSEGV, &sa, NULL);
		sigemptyset(&set);
		sigaddset(&set, SIGSEGV);
		sigprocmask(SIG_BLOCK, &set, NULL);
		chaos_task_run(0, &res);
		tu_child_exit(99);
	}
	st = wait_child(pid, 10000, NULL);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGSEGV);
	use_spec(NULL);
}

static void test_alloc_touches_pages(void **state)
{
	struct rusage ru;
	pid_t pid;
	int st;

	(void)state;
	unsetenv("CHAOS_EVENTS");
	use_spec("chaos-tasks 1 1\n0 alloc=67108864 result=1\n");
	pid = fork_task(0, 1);
	st = wait_child(pid, 10000, &ru);
	assert_int_equal(WEXITSTATUS(st), 0);
	/* ru_maxrss is in KiB: the 64 MiB must have been really resident. */
	assert_true(ru.ru_maxrss >= 64 * 1024);
	use_spec(NULL);
}

static void test_hang_until_killed(void **state)
{
	pid_t pid;
	int st;

	(void)state;
	unsetenv("CHAOS_EVENTS");
	use_spec("chaos-tasks 1 1\n0 action=hang\n");
	pid = fork_task(0, 0);
	usleep(300 * 1000);
	/* Still running: waitpid sees nothing yet. */
	assert_int_equal(waitpid(pid, &st, WNOHANG), 0);
	/* A caught signal ends one pause() but not the hang. */
	kill(pid, SIGCHLD);
	usleep(100 * 1000);
	assert_int_equal(waitpid(pid, &st, WNOHANG), 0);
	kill(pid, SIGKILL);
	st = wait_child(pid, 5000, NULL);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGKILL);
	use_spec(NULL);
}

/* A held end (hold=1): the kit sends `end` and returns the result only
 * after the controller's reply. reply NULL: never answer; "": close the
 * connection. Returns the child's wait status. */
static int held_end(const char *reply)
{
	char line[CHAOS_TASK_LINE_MAX + 1];
	int lfd, cfd, st;
	pid_t pid;

	use_spec("chaos-tasks 2 2\n0\n1 hold=1 result=7\n");
	setenv("CHAOS_GO_TIMEOUT_MS", "300", 1);
	lfd = listen_events();
	pid = fork_task(1, 7);
	cfd = accept_within(lfd, 5000);
	assert_true(cfd >= 0);
	read_line(cfd, line, sizeof(line), 5000);
	assert_string_equal(line, "start 1");
	send_str(cfd, "go 2\n");
	read_line(cfd, line, sizeof(line), 5000);
	assert_string_equal(line, "end 1 7");
	if (reply && reply[0])
		send_str(cfd, reply);
	if (reply && !reply[0]) {
		close(cfd);
		cfd = -1;
	}
	st = wait_child(pid, 10000, NULL);
	if (cfd >= 0)
		close(cfd);
	close(lfd);
	unsetenv("CHAOS_GO_TIMEOUT_MS");
	unsetenv("CHAOS_EVENTS");
	use_spec(NULL);
	return st;
}

static void test_held_end(void **state)
{
	int st;

	(void)state;
	/* The ack of its attempt lets the result through. */
	st = held_end("ack 2\n");
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	/* Without an answer the kit waits, bounded, and leaves with 70: a
	 * kit that did not hold would have returned the result (exit 0). */
	st = held_end(NULL);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), CHAOS_TASK_EXIT_NO_GO);
	/* The ack of another attempt is a controller bug as well. */
	st = held_end("ack 1\n");
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), CHAOS_TASK_EXIT_NO_GO);
	/* A controller that closes the connection is gone: the result stands. */
	st = held_end("");
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* A held end whose worker the controller kills before it answers: the
 * task dies by the signal, and the result never reaches the caller. */
static void test_held_end_killed(void **state)
{
	char line[CHAOS_TASK_LINE_MAX + 1];
	int lfd, cfd, st;
	pid_t pid;

	(void)state;
	use_spec("chaos-tasks 2 1\n0 hold=1 result=3\n");
	lfd = listen_events();
	pid = fork_task(0, 3);
	cfd = accept_within(lfd, 5000);
	assert_true(cfd >= 0);
	read_line(cfd, line, sizeof(line), 5000);
	send_str(cfd, "go 1\n");
	read_line(cfd, line, sizeof(line), 5000);
	assert_string_equal(line, "end 0 3");
	assert_int_equal(kill(pid, SIGKILL), 0);
	st = wait_child(pid, 10000, NULL);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGKILL);
	close(cfd);
	close(lfd);
	unsetenv("CHAOS_EVENTS");
	use_spec(NULL);
}

static void test_go_timeout_exits_70(void **state)
{
	char line[CHAOS_TASK_LINE_MAX + 1];
	int lfd, cfd, st;
	int64_t t0;
	pid_t pid;

	(void)state;
	use_spec("chaos-tasks 1 1\n0\n");
	setenv("CHAOS_GO_TIMEOUT_MS", "300", 1);
	lfd = listen_events();
	t0 = tu_now_ms();
	pid = fork_task(0, 0);
	cfd = accept_within(lfd, 5000);
	assert_true(cfd >= 0);
	read_line(cfd, line, sizeof(line), 5000);
	assert_string_equal(line, "start 0");
	/* Never answer: the kit must give up on its own. */
	st = wait_child(pid, 10000, NULL);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), CHAOS_TASK_EXIT_NO_GO);
	assert_true(tu_now_ms() - t0 >= 300);
	close(cfd);
	close(lfd);
	unsetenv("CHAOS_GO_TIMEOUT_MS");
	unsetenv("CHAOS_EVENTS");
	use_spec(NULL);
}

static void test_malformed_go_exits_70(void **state)
{
	char line[CHAOS_TASK_LINE_MAX + 1];
	int lfd, cfd, st;
	pid_t pid;

	(void)state;
	use_spec(NULL);
	lfd = listen_events();
	pid = fork_task(5, 25);
	cfd = accept_within(lfd, 5000);
	read_line(cfd, line, sizeof(line), 5000);
	assert_string_equal(line, "start 5");
	send_str(cfd, "go zero\n");
	st = wait_child(pid, 10000, NULL);
	assert_int_equal(WEXITSTATUS(st), CHAOS_TASK_EXIT_NO_GO);
	close(cfd);
	close(lfd);
	unsetenv("CHAOS_EVENTS");
}

static void test_no_controller_is_an_error(void **state)
{
	int64_t res;

	(void)state;
	use_spec(NULL);
	setenv("CHAOS_EVENTS", sock_path, 1);
	unlink(sock_path);
	assert_int_equal(chaos_task_run(0, &res), -ENOENT);
	unsetenv("CHAOS_EVENTS");
}

/* The Python kit and the adapters are tested by tests/kit/run; run it from
 * here so that `make check` covers them. It needs chaos-task and the
 * compiled targets of this build, found next to this test binary. */
static void test_python_kit_and_adapters(void **state)
{
	char exe[4096], build[4096], bin[4200];
	ssize_t len;
	char *slash;
	pid_t pid;
	int st;

	(void)state;
	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(len > 0);
	exe[len] = '\0';
	/* exe is <build>/tests/test_kit: strip two components. */
	snprintf(build, sizeof(build), "%s", exe);
	for (int i = 0; i < 2; i++) {
		slash = strrchr(build, '/');
		assert_non_null(slash);
		*slash = '\0';
	}
	snprintf(bin, sizeof(bin), "%s/chaos-task", build);
	if (access("tests/kit/run", X_OK) != 0 || access(bin, X_OK) != 0 ||
	    access("/usr/bin/python3", X_OK) != 0) {
		printf("skip: tests/kit/run (run from the source root), %s or /usr/bin/python3 "
		       "missing\n",
		       bin);
		skip();
	}
	fflush(stdout);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		setenv("CHAOS_BUILD", build, 1);
		unsetenv("CHAOS_EVENTS");
		unsetenv("CHAOS_TASKS");
		execl("tests/kit/run", "tests/kit/run", (char *)NULL);
		tu_child_exit(127);
	}
	st = wait_child(pid, 300 * 1000, NULL);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_valid),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_bad_spec_is_an_error),
		cmocka_unit_test(test_silent_defaults),
		cmocka_unit_test(test_silent_spec),
		cmocka_unit_test(test_protocol_end),
		cmocka_unit_test(test_protocol_times),
		cmocka_unit_test(test_protocol_exit_code),
		cmocka_unit_test(test_protocol_selfkill),
		cmocka_unit_test(test_segv_despite_handler),
		cmocka_unit_test(test_alloc_touches_pages),
		cmocka_unit_test(test_hang_until_killed),
		cmocka_unit_test(test_held_end),
		cmocka_unit_test(test_held_end_killed),
		cmocka_unit_test(test_go_timeout_exits_70),
		cmocka_unit_test(test_malformed_go_exits_70),
		cmocka_unit_test(test_no_controller_is_an_error),
		cmocka_unit_test(test_python_kit_and_adapters),
	};

	return cmocka_run_group_tests_name("kit", tests, setup, teardown);
}
