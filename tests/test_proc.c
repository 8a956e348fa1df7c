/* sys/proc: the one parser of /proc/<pid>/stat, on hostile comm values,
 * short and malformed lines, and on live processes. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "sys/proc.h"

/* A stat line whose fields 22 (starttime) and 23 (vsize) differ, so that a
 * parser off by one field is caught; comm holds ") " and blanks. */
static const char *line52 =
	"42 (a) b) c) S 7 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 "
	"987654 1000 100 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 "
	"0 0 0 0 0 0 0 9\n";

static void test_parse_fields(void **state)
{
	struct chaos_proc_stat st;

	(void)state;
	assert_int_equal(chaos_proc_stat_parse(line52, &st), 0);
	assert_int_equal(st.pid, 42);
	assert_string_equal(st.comm, "a) b) c");
	assert_int_equal(st.state, 'S');
	assert_int_equal(st.ppid, 7);
	assert_true(st.starttime == 987654ULL); /* field 22, not vsize (23) */
	assert_int_equal(st.nfields, 52);
	assert_int_equal(st.exit_code, 9);
}

static void test_parse_short_and_malformed(void **state)
{
	struct chaos_proc_stat st;
	/* 22 fields: starttime present, exit_code absent. */
	const char *line22 = "5 (x) R 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 777";

	(void)state;
	assert_int_equal(chaos_proc_stat_parse(line22, &st), 0);
	assert_true(st.starttime == 777ULL);
	assert_int_equal(st.exit_code, -1);
	assert_int_equal(st.nfields, 22);
	assert_int_equal(chaos_proc_stat_parse("42 (x) S 1 2", &st), -EINVAL);
	assert_int_equal(chaos_proc_stat_parse("no paren", &st), -EINVAL);
	assert_int_equal(chaos_proc_stat_parse("1 (x)", &st), -EINVAL);
	assert_int_equal(chaos_proc_stat_parse("", &st), -EINVAL);
	assert_int_equal(chaos_proc_stat_parse("5 (x) R 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 7x7",
					       &st),
			 -EINVAL);
}

/* A live child with a hostile comm: the parser sees it as set, and later
 * children have later start times. */
static void test_live_processes(void **state)
{
	struct chaos_proc_stat me, a, b;
	int pa[2], pb[2], status;
	pid_t ca, cb;
	char c;

	(void)state;
	assert_int_equal(chaos_proc_stat(getpid(), &me), 0);
	assert_int_equal(me.pid, getpid());
	assert_int_equal(me.ppid, getppid());
	assert_int_equal(pipe(pa), 0);
	assert_int_equal(pipe(pb), 0);
	ca = fork();
	assert_true(ca >= 0);
	if (ca == 0) {
		prctl(PR_SET_NAME, "x) (y z", 0, 0, 0);
		close(pa[0]);
		assert_int_equal(write(pa[1], "r", 1), 1);
		pause();
		_exit(0);
	}
	assert_int_equal(read(pa[0], &c, 1), 1);
	/* A clock tick (10 ms at USER_HZ 100) separates the two starts. */
	usleep(30 * 1000);
	cb = fork();
	assert_true(cb >= 0);
	if (cb == 0) {
		close(pb[0]);
		assert_int_equal(write(pb[1], "r", 1), 1);
		pause();
		_exit(0);
	}
	assert_int_equal(read(pb[0], &c, 1), 1);
	assert_int_equal(chaos_proc_stat(ca, &a), 0);
	assert_int_equal(chaos_proc_stat(cb, &b), 0);
	assert_string_equal(a.comm, "x) (y z");
	assert_int_equal(a.ppid, getpid());
	assert_true(me.starttime <= a.starttime);
	assert_true(a.starttime < b.starttime);
	kill(ca, SIGKILL);
	kill(cb, SIGKILL);
	assert_int_equal(waitpid(ca, &status, 0), ca);
	assert_int_equal(waitpid(cb, &status, 0), cb);
	assert_int_equal(chaos_proc_stat(ca, &a), -ENOENT);
	close(pa[0]);
	close(pa[1]);
	close(pb[0]);
	close(pb[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_fields),
		cmocka_unit_test(test_parse_short_and_malformed),
		cmocka_unit_test(test_live_processes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
