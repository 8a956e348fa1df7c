/* Scenario files: every shipped suite parses, the task spec writer follows
 * docs/protocol.md section 1, and every malformed file in tests/data/bad/
 * fails with -EINVAL and the message its first line announces. */
#include <errno.h>
#include <glob.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "check/scenario.h"

/* The tests read files relative to the source tree; find it from wherever
 * the program was started (make check runs it from the top directory). */
static int chdir_to_tree(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < 5; i++) {
		if (access("chaos/check/scenario.h", F_OK) == 0)
			return 0;
		if (chdir("..") != 0)
			return -1;
	}
	return -1;
}

static size_t load_suite(const char *pattern, size_t min)
{
	struct chaos_scenario sc;
	char err[1024];
	glob_t g;
	size_t i;

	assert_int_equal(glob(pattern, 0, NULL, &g), 0);
	assert_true(g.gl_pathc >= min);
	for (i = 0; i < g.gl_pathc; i++) {
		const char *base = strrchr(g.gl_pathv[i], '/') + 1;
		int r = chaos_scenario_load(&sc, g.gl_pathv[i], err, sizeof(err));

		if (r)
			print_error("%s\n", err);
		assert_int_equal(r, 0);
		/* The name defaults to the file's base name. */
		assert_int_equal(strncmp(sc.name, base, strlen(sc.name)), 0);
		assert_string_equal(base + strlen(sc.name), ".ini");
		/* Each suite stays well under a minute on a fast pool. */
		assert_true(sc.deadline_ms <= 20000);
		assert_true(sc.description[0] != '\0');
		/* A scenario that SIGKILLs the main process (no-orphans) is the
		 * one kind that no pool can end with done. */
		assert_true((sc.expect & CHAOS_EXPECT_HANG_FREE) ||
			    (sc.expect & CHAOS_EXPECT_NO_ORPHANS));
		chaos_scenario_free(&sc);
	}
	i = g.gl_pathc;
	globfree(&g);
	return i;
}

static void test_suites_parse(void **state)
{
	(void)state;
	assert_true(load_suite("scenarios/seed/*.ini", 8) >= 8);
	assert_true(load_suite("scenarios/oom/*.ini", 6) >= 6);
	assert_true(load_suite("scenarios/schedules/*.ini", 5) >= 5);
}

static void test_seed_kill_one_skip(void **state)
{
	struct chaos_scenario sc;
	char err[1024];

	(void)state;
	assert_int_equal(
	    chaos_scenario_load(&sc, "scenarios/seed/kill-one-skip.ini", err, sizeof(err)), 0);
	assert_string_equal(sc.name, "kill-one-skip");
	assert_int_equal(sc.workers, 4);
	assert_int_equal(sc.ntasks, 10);
	assert_string_equal(sc.policy, "skip");
	assert_int_equal(sc.deadline_ms, 20000);
	assert_int_equal(sc.nfaults, 1);
	assert_int_equal(sc.faults[0].kind, CHAOS_FAULT_ON_START);
	assert_int_equal(sc.faults[0].signo, SIGKILL);
	assert_int_equal(sc.faults[0].task, 3);
	assert_int_equal(sc.faults[0].attempt, 1);
	assert_int_equal(sc.faults[0].delay_ms, 20);
	assert_int_equal(sc.faults[0].line, 17);
	assert_int_equal(sc.tasks[0].sleep_ms, 50);
	assert_int_equal(sc.tasks[3].sleep_ms, 300);
	assert_int_equal(sc.tasks[3].result, 9);
	assert_int_equal(sc.tasks[9].result, 81);
	assert_int_equal(sc.expect, CHAOS_EXPECT_HANG_FREE | CHAOS_EXPECT_SKIP |
					CHAOS_EXPECT_KILLED_REPORT | CHAOS_EXPECT_NO_LEFTOVERS);
	chaos_scenario_free(&sc);
}

static void test_seed_oom_and_exit(void **state)
{
	struct chaos_scenario sc;
	char err[1024];

	(void)state;
	assert_int_equal(chaos_scenario_load(&sc, "scenarios/seed/oom-skip.ini", err, sizeof(err)),
			 0);
	assert_int_equal(sc.mem_mode, CHAOS_MEM_PER_WORKER);
	assert_int_equal(sc.mem_limit, 64ull << 20);
	assert_int_equal(sc.tasks[3].alloc_bytes, 256ull << 20);
	assert_int_equal(sc.tasks[2].alloc_bytes, 0);
	assert_true(sc.expect & CHAOS_EXPECT_OOM);
	chaos_scenario_free(&sc);

	assert_int_equal(chaos_scenario_load(&sc, "scenarios/seed/exit-skip.ini", err, sizeof(err)),
			 0);
	assert_int_equal(sc.tasks[5].action, CHAOS_ACT_EXIT);
	assert_int_equal(sc.tasks[5].exit_code, 3);
	assert_int_equal(sc.tasks[4].action, CHAOS_ACT_OK);
	assert_int_equal(sc.nfaults, 0);
	chaos_scenario_free(&sc);

	assert_int_equal(
	    chaos_scenario_load(&sc, "scenarios/seed/abort-on-kill.ini", err, sizeof(err)), 0);
	assert_string_equal(sc.policy, "abort");
	assert_int_equal(sc.abort_within_ms, 2000);
	assert_true(sc.expect & CHAOS_EXPECT_ABORT);
	chaos_scenario_free(&sc);
}

static void test_schedule_faults(void **state)
{
	struct chaos_scenario sc;
	char err[1024];

	(void)state;
	assert_int_equal(
	    chaos_scenario_load(&sc, "scenarios/schedules/kill-every.ini", err, sizeof(err)), 0);
	assert_int_equal(sc.faults[0].kind, CHAOS_FAULT_EVERY);
	assert_int_equal(sc.faults[0].interval_ms, 150);
	assert_int_equal(sc.faults[0].jitter_ms, 50);
	assert_int_equal(sc.faults[0].count, 3);
	assert_int_equal(sc.faults[0].seed, 42);
	assert_int_equal(sc.retries, 3);
	chaos_scenario_free(&sc);

	assert_int_equal(
	    chaos_scenario_load(&sc, "scenarios/schedules/sigstop-cont.ini", err, sizeof(err)), 0);
	assert_int_equal(sc.faults[0].signo, SIGSTOP);
	assert_int_equal(sc.faults[0].cont_after_ms, 300);
	chaos_scenario_free(&sc);

	assert_int_equal(
	    chaos_scenario_load(&sc, "scenarios/schedules/sigstop-timeout.ini", err, sizeof(err)),
	    0);
	assert_int_equal(sc.task_timeout_ms, 1000);
	chaos_scenario_free(&sc);

	assert_int_equal(
	    chaos_scenario_load(&sc, "scenarios/schedules/pressure-inside.ini", err, sizeof(err)),
	    0);
	assert_int_equal(sc.faults[0].kind, CHAOS_FAULT_PRESSURE);
	assert_int_equal(sc.faults[0].pressure_inside, 1);
	assert_int_equal(sc.faults[0].bytes, 256ull << 20);
	assert_int_equal(sc.faults[0].duration_ms, 1000);
	assert_int_equal(sc.mem_mode, CHAOS_MEM_WHOLE_RUN);
	chaos_scenario_free(&sc);

	assert_int_equal(
	    chaos_scenario_load(&sc, "scenarios/schedules/kill-at.ini", err, sizeof(err)), 0);
	assert_int_equal(sc.faults[0].kind, CHAOS_FAULT_AT_TIME);
	assert_int_equal(sc.faults[0].worker, 1);
	assert_int_equal(sc.faults[0].delay_ms, 100);
	chaos_scenario_free(&sc);
}

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

/* Defaults, overrides and the exit code default in one small file. */
static void test_defaults_and_overrides(void **state)
{
	char dir[] = "/tmp/test_scenario.XXXXXX", path[64], err[1024];
	struct chaos_scenario sc;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/my-name.ini", dir);
	assert_int_equal(write_file(path, "[scenario]\n"
					  "tasks = 5\n"
					  "[task default]\n"
					  "action = exit\n"
					  "times = 0\n"
					  "[task 1]\n"
					  "action = ok\n"
					  "result = -7 ; an inline comment\n"
					  "[task 2]\n"
					  "code = 9\n"
					  "[task 4]\n"
					  "sleep = 2s\n"
					  "alloc = 3K\n"),
			 0);
	assert_int_equal(chaos_scenario_load(&sc, path, err, sizeof(err)), 0);
	assert_string_equal(sc.name, "my-name");
	assert_string_equal(sc.path, path);
	assert_int_equal(sc.workers, 2);
	assert_int_equal(sc.ntasks, 5);
	assert_string_equal(sc.policy, "skip");
	assert_int_equal(sc.deadline_ms, 30000);
	assert_int_equal(sc.expect, CHAOS_EXPECT_HANG_FREE | CHAOS_EXPECT_NO_LEFTOVERS);
	assert_int_equal(sc.tasks[0].action, CHAOS_ACT_EXIT);
	assert_int_equal(sc.tasks[0].exit_code, 1);
	assert_int_equal(sc.tasks[0].times, 0);
	assert_int_equal(sc.tasks[1].action, CHAOS_ACT_OK);
	assert_int_equal(sc.tasks[1].result, -7);
	assert_int_equal(sc.tasks[2].exit_code, 9);
	assert_int_equal(sc.tasks[2].result, 4);
	assert_int_equal(sc.tasks[4].sleep_ms, 2000);
	assert_int_equal(sc.tasks[4].alloc_bytes, 3072);
	assert_int_equal(sc.tasks[4].action, CHAOS_ACT_EXIT);
	chaos_scenario_free(&sc);

	/* A missing file is an I/O error, not a format error. */
	snprintf(path, sizeof(path), "%s/absent.ini", dir);
	assert_int_equal(chaos_scenario_load(&sc, path, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "absent.ini"));
	chaos_scenario_free(&sc);

	snprintf(path, sizeof(path), "%s/my-name.ini", dir);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

/* The README's example of each fault kind, in one file. */
static void test_every_fault_kind(void **state)
{
	char dir[] = "/tmp/test_scenario.XXXXXX", path[64], err[1024];
	struct chaos_scenario sc;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/faults.ini", dir);
	assert_int_equal(write_file(path, "[scenario]\n"
					  "workers = 4\n"
					  "tasks = 10\n"
					  "seed = 7\n"
					  "[fault]               ; a comment after the header\n"
					  "kind = kill-on-start\n"
					  "task = 3\n"
					  "attempt = 0\n"
					  "delay = 20ms\n"
					  "[fault]\n"
					  "kind = kill-at\n"
					  "worker = 1\n"
					  "at = 100ms\n"
					  "[fault]\n"
					  "kind = kill-every\n"
					  "interval = 150ms\n"
					  "jitter = 50ms\n"
					  "count = 3\n"
					  "[fault]\n"
					  "kind = kill-all-at\n"
					  "signal = TERM\n"
					  "at = 1s\n"
					  "[fault]\n"
					  "kind = kill-on-start\n"
					  "signal = SIGSTOP\n"
					  "cont-after = 300ms\n"
					  "task = 2\n"
					  "[fault]\n"
					  "kind = pressure\n"
					  "where = inside\n"
					  "bytes = 1G\n"
					  "duration = 1s\n"
					  "at = 50ms\n"),
			 0);
	assert_int_equal(chaos_scenario_load(&sc, path, err, sizeof(err)), 0);
	assert_int_equal(sc.nfaults, 6);
	assert_int_equal(sc.faults[0].kind, CHAOS_FAULT_ON_START);
	assert_int_equal(sc.faults[0].attempt, 0);
	assert_int_equal(sc.faults[0].line, 5);
	assert_int_equal(sc.faults[1].kind, CHAOS_FAULT_AT_TIME);
	assert_int_equal(sc.faults[1].worker, 1);
	assert_int_equal(sc.faults[1].delay_ms, 100);
	assert_int_equal(sc.faults[2].kind, CHAOS_FAULT_EVERY);
	assert_int_equal(sc.faults[2].seed, 7); /* the scenario's seed */
	assert_int_equal(sc.faults[2].signo, SIGKILL);
	assert_int_equal(sc.faults[3].kind, CHAOS_FAULT_ALL_AT);
	assert_int_equal(sc.faults[3].signo, SIGTERM);
	assert_int_equal(sc.faults[3].delay_ms, 1000);
	assert_int_equal(sc.faults[4].signo, SIGSTOP);
	assert_int_equal(sc.faults[4].cont_after_ms, 300);
	assert_int_equal(sc.faults[4].attempt, 1);
	assert_int_equal(sc.faults[5].kind, CHAOS_FAULT_PRESSURE);
	assert_int_equal(sc.faults[5].bytes, 1ull << 30);
	assert_int_equal(sc.faults[5].pressure_inside, 1);
	assert_int_equal(sc.faults[5].delay_ms, 50);
	assert_int_equal(sc.faults[5].line, 28);
	chaos_scenario_free(&sc);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

/* The triggers and anchors that count from the pool's progress, the
 * victim classes, and the no-orphans expectation. */
static void test_triggers_victims_orphans(void **state)
{
	char dir[] = "/tmp/test_scenario.XXXXXX", path[64], err[1024];
	struct chaos_scenario sc;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/triggers.ini", dir);
	assert_int_equal(write_file(path, "[scenario]\n"
					  "workers = 3\n"
					  "tasks = 10\n"
					  "[fault]\n"
					  "kind = kill-after-starts\n"
					  "starts = 4\n"
					  "delay = 5ms\n"
					  "victim = any\n"
					  "[fault]\n"
					  "kind = kill-on-end\n"
					  "task = 2\n"
					  "attempt = 0\n"
					  "[fault]\n"
					  "kind = kill-at\n"
					  "at = 50ms\n"
					  "from = spawn\n"
					  "victim = main\n"
					  "[fault]\n"
					  "kind = kill-every\n"
					  "interval = 10ms\n"
					  "count = 2\n"
					  "[expect]\n"
					  "no-orphans = yes\n"
					  "orphans-within = 500ms\n"),
			 0);
	assert_int_equal(chaos_scenario_load(&sc, path, err, sizeof(err)), 0);
	assert_int_equal(sc.nfaults, 4);
	assert_int_equal(sc.faults[0].kind, CHAOS_FAULT_AFTER_STARTS);
	assert_int_equal(sc.faults[0].starts, 4);
	assert_int_equal(sc.faults[0].delay_ms, 5);
	assert_int_equal(sc.faults[0].victim, CHAOS_VICTIM_ANY);
	assert_int_equal(sc.faults[1].kind, CHAOS_FAULT_ON_END);
	assert_int_equal(sc.faults[1].task, 2);
	assert_int_equal(sc.faults[1].attempt, 0);
	assert_int_equal(sc.faults[1].victim, CHAOS_VICTIM_WORKER);
	assert_int_equal(sc.faults[2].from, CHAOS_FROM_SPAWN);
	assert_int_equal(sc.faults[2].victim, CHAOS_VICTIM_MAIN);
	/* By default time counts from the first task start. */
	assert_int_equal(sc.faults[3].from, CHAOS_FROM_FIRST_START);
	assert_true(sc.expect & CHAOS_EXPECT_NO_ORPHANS);
	assert_int_equal(sc.orphans_within_ms, 500);
	assert_true(sc.expect & CHAOS_EXPECT_HANG_FREE);
	chaos_scenario_free(&sc);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

static void test_init_defaults(void **state)
{
	struct chaos_scenario sc;

	(void)state;
	assert_int_equal(chaos_scenario_init(&sc, 0), -EINVAL);
	assert_int_equal(chaos_scenario_init(&sc, 4), 0);
	assert_int_equal(sc.ntasks, 4);
	assert_int_equal(sc.workers, 2);
	assert_string_equal(sc.policy, "skip");
	assert_int_equal(sc.deadline_ms, 30000);
	assert_int_equal(sc.nfaults, 0);
	assert_int_equal(sc.tasks[3].result, 9);
	assert_int_equal(sc.tasks[3].times, 1);
	assert_int_equal(sc.expect, CHAOS_EXPECT_HANG_FREE | CHAOS_EXPECT_NO_LEFTOVERS);
	chaos_scenario_free(&sc);
	assert_null(sc.tasks);
	assert_string_equal(chaos_action_name(CHAOS_ACT_SELFKILL), "selfkill");
	assert_string_equal(chaos_action_name(CHAOS_ACT_SEGV), "segv");
}

/* Write the task spec, read it back with an independent parser and compare
 * every field; the header and one line are also compared as text. */
static void test_task_spec_round_trip(void **state)
{
	char path[] = "/tmp/test_scenario_tasks.XXXXXX", line[512], err[1024];
	struct chaos_scenario sc;
	unsigned n = 0, ver = 0, id;
	int fd;
	FILE *f;

	(void)state;
	assert_int_equal(chaos_scenario_load(&sc, "scenarios/seed/oom-skip.ini", err, sizeof(err)),
			 0);
	sc.tasks[7].action = CHAOS_ACT_FAIL;
	sc.tasks[7].times = 0;
	sc.tasks[8].result = -123456789012345LL;
	sc.tasks[9].action = CHAOS_ACT_EXIT;
	sc.tasks[9].exit_code = 42;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(chaos_scenario_write_tasks(&sc, path), 0);

	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	assert_string_equal(line, "chaos-tasks 1 10\n");
	assert_int_equal(sscanf(line, "chaos-tasks %u %u", &ver, &n), 2);
	assert_int_equal(ver, 1);
	assert_int_equal(n, sc.ntasks);
	for (id = 0; id < n; id++) {
		unsigned got_id, sleep_ms, times;
		unsigned long long alloc;
		long long result;
		char action[16];
		int code;

		assert_non_null(fgets(line, sizeof(line), f));
		if (id == 3)
			assert_string_equal(
			    line, "3 sleep=50 alloc=268435456 action=ok code=0 times=1 result=9\n");
		assert_int_equal(
		    sscanf(line, "%u sleep=%u alloc=%llu action=%15s code=%d times=%u result=%lld",
			   &got_id, &sleep_ms, &alloc, action, &code, &times, &result),
		    7);
		assert_int_equal(got_id, id);
		assert_int_equal(sleep_ms, sc.tasks[id].sleep_ms);
		assert_int_equal(alloc, sc.tasks[id].alloc_bytes);
		assert_string_equal(action, chaos_action_name(sc.tasks[id].action));
		assert_int_equal(code, sc.tasks[id].exit_code);
		assert_int_equal(times, sc.tasks[id].times);
		assert_true(result == sc.tasks[id].result);
	}
	assert_null(fgets(line, sizeof(line), f));
	fclose(f);
	assert_int_equal(unlink(path), 0);
	/* An unwritable path is reported, not ignored. */
	assert_int_equal(chaos_scenario_write_tasks(&sc, "/nonexistent-dir/tasks.txt"), -ENOENT);
	chaos_scenario_free(&sc);
}

static void test_bad_catalogue(void **state)
{
	glob_t g;
	size_t i;

	(void)state;
	assert_int_equal(glob("tests/data/bad/*.ini", 0, NULL, &g), 0);
	assert_true(g.gl_pathc >= 20);
	for (i = 0; i < g.gl_pathc; i++) {
		struct chaos_scenario sc;
		char first[512], err[1024], *want, *nl;
		FILE *f = fopen(g.gl_pathv[i], "r");
		int r;

		assert_non_null(f);
		assert_non_null(fgets(first, sizeof(first), f));
		fclose(f);
		assert_int_equal(strncmp(first, "; expect: ", 10), 0);
		want = first + 10;
		nl = strchr(want, '\n');
		if (nl)
			*nl = '\0';
		r = chaos_scenario_load(&sc, g.gl_pathv[i], err, sizeof(err));
		if (r != -EINVAL || !strstr(err, want))
			print_error("%s: got %d '%s', want '%s'\n", g.gl_pathv[i], r, err, want);
		assert_int_equal(r, -EINVAL);
		assert_non_null(strstr(err, want));
		/* A failed load leaves nothing to free and frees safely. */
		assert_null(sc.tasks);
		assert_null(sc.faults);
		chaos_scenario_free(&sc);
	}
	globfree(&g);
}

/* Load a scenario from bytes (which may hold NUL) written to a temporary
 * file; returns the load's answer with the message in err. */
static int load_bytes(const char *data, size_t len, char *err, size_t errlen, char *path,
		      size_t pathlen)
{
	struct chaos_scenario sc;
	char tmpl[] = "/tmp/test_scenario.XXXXXX";
	FILE *f;
	int fd, r;

	fd = mkstemp(tmpl);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	r = chaos_scenario_load(&sc, tmpl, err, errlen);
	if (!r)
		chaos_scenario_free(&sc);
	else {
		assert_null(sc.tasks);
		assert_null(sc.faults);
	}
	snprintf(path, pathlen, "%s", tmpl);
	assert_int_equal(unlink(tmpl), 0);
	return r;
}

/* A NUL byte is refused with its own message on the line that holds it,
 * wherever it is: it used to hide the rest of an overlong line from the
 * length check, so the file loaded or the error named a line past its end.
 * The cases are the fuzzer's findings (tests/data/fuzz/scenario/). */
static void test_nul_byte(void **state)
{
	static const struct {
		const char *data;
		size_t len;
		int line;
	} cases[] = {
	    /* Middle of a line, start of a line, last byte without newline. */
	    {"[scenario]\nwor\0kers = 3\n", 24, 2},
	    {"[scenario]\n\0workers = 3\n", 24, 2},
	    {"[scenario]\nworkers = 3\n\0", 24, 3},
	    {"\0", 1, 1},
	};
	char buf[512], err[1024], path[64], want[128];
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(load_bytes(cases[i].data, cases[i].len, err, sizeof(err), path,
					    sizeof(path)),
				 -EINVAL);
		snprintf(want, sizeof(want), "%s:%d: NUL byte (expected text)", path,
			 cases[i].line);
		if (strcmp(err, want))
			print_error("case %zu: '%s', want '%s'\n", i, err, want);
		assert_string_equal(err, want);
	}
	/* [scenario], then NUL + 198 'A' + "workers = 3" on one line: this
	 * loaded with workers = 3. With the newline after it the file has 2
	 * lines; the error was at line 3. */
	for (n = 0; n < 2; n++) {
		size_t len = (size_t)snprintf(buf, sizeof(buf), "[scenario]\n");

		buf[len++] = '\0';
		memset(buf + len, 'A', 198);
		len += 198;
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "workers = 3%s",
					n ? "\n" : "");
		assert_int_equal(load_bytes(buf, len, err, sizeof(err), path, sizeof(path)),
				 -EINVAL);
		snprintf(want, sizeof(want), "%s:2: NUL byte (expected text)", path);
		if (strcmp(err, want))
			print_error("overlong %zu: '%s', want '%s'\n", n, err, want);
		assert_string_equal(err, want);
	}
	/* A NUL byte past libinih's buffer in an overlong line is found too,
	 * and an earlier overlong line is still reported first. */
	n = (size_t)snprintf(buf, sizeof(buf), "[scenario]\ndescription = ");
	memset(buf + n, 'x', 300);
	buf[n + 250] = '\0';
	n += 300;
	buf[n++] = '\n';
	assert_int_equal(load_bytes(buf, n, err, sizeof(err), path, sizeof(path)), -EINVAL);
	snprintf(want, sizeof(want), "%s:2: NUL byte (expected text)", path);
	assert_string_equal(err, want);
	n = (size_t)snprintf(buf, sizeof(buf), "[scenario]\ndescription = ");
	memset(buf + n, 'x', 300);
	n += 300;
	memcpy(buf + n, "\nworkers = \0\n", 13);
	n += 13;
	assert_int_equal(load_bytes(buf, n, err, sizeof(err), path, sizeof(path)), -EINVAL);
	snprintf(want, sizeof(want), "%s:2: line longer than 198 characters", path);
	assert_string_equal(err, want);
}

/* An overlong line is refused at its own line, and line numbers after it
 * still count the file's lines: the rest of it is not a line of its own. */
static void test_overlong_line_numbers(void **state)
{
	char buf[1024], err[1024], path[64], want[128];
	size_t n;

	(void)state;
	/* 198 characters fit; the syntax error on line 3 is what is reported. */
	n = (size_t)snprintf(buf, sizeof(buf), "[scenario]\n");
	memset(buf + n, ';', 198);
	n += 198;
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\nbroken\n");
	assert_int_equal(load_bytes(buf, n, err, sizeof(err), path, sizeof(path)), -EINVAL);
	snprintf(want, sizeof(want), "%s:3: syntax error", path);
	assert_non_null(strstr(err, want));
	/* 199 do not, with or without a newline at the end of the file. */
	n = (size_t)snprintf(buf, sizeof(buf), "[scenario]\n");
	memset(buf + n, ';', 199);
	n += 199;
	assert_int_equal(load_bytes(buf, n, err, sizeof(err), path, sizeof(path)), -EINVAL);
	snprintf(want, sizeof(want), "%s:2: line longer than 198 characters", path);
	assert_string_equal(err, want);
	buf[n++] = '\n';
	assert_int_equal(load_bytes(buf, n, err, sizeof(err), path, sizeof(path)), -EINVAL);
	snprintf(want, sizeof(want), "%s:2: line longer than 198 characters", path);
	assert_string_equal(err, want);
}

/* 65,535 keys (about 600 KB): the duplicate is the last key and names the
 * first one. (Duplicate keys used to be found by comparing every pair, which
 * took seconds; the time is printed, not asserted: timing never decides a
 * test.) */
static void test_many_keys(void **state)
{
	const size_t nkeys = 65535;
	struct timespec t0, t1;
	char err[1024], path[64], want[160];
	size_t cap = nkeys * 16 + 64, n, i;
	char *buf = malloc(cap);
	double ms;

	(void)state;
	assert_non_null(buf);
	n = (size_t)snprintf(buf, cap, "[scenario]\n");
	for (i = 0; i + 1 < nkeys; i++)
		n += (size_t)snprintf(buf + n, cap - n, "k%zu = 1\n", i);
	n += (size_t)snprintf(buf + n, cap - n, "k7 = 2\n");
	assert_true(n > 500000);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(load_bytes(buf, n, err, sizeof(err), path, sizeof(path)), -EINVAL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	snprintf(want, sizeof(want),
		 "%s:65536: duplicate key 'k7' in [scenario] (first set at line 9)", path);
	if (strcmp(err, want))
		print_error("'%s', want '%s'\n", err, want);
	assert_string_equal(err, want);
	print_message("65535 keys refused in %.0f ms\n", ms);
	/* The same keys without the duplicate reach the next check. */
	n -= strlen("k7 = 2\n");
	assert_int_equal(load_bytes(buf, n, err, sizeof(err), path, sizeof(path)), -EINVAL);
	assert_null(strstr(err, "duplicate"));
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_suites_parse),
	    cmocka_unit_test(test_seed_kill_one_skip),
	    cmocka_unit_test(test_seed_oom_and_exit),
	    cmocka_unit_test(test_schedule_faults),
	    cmocka_unit_test(test_defaults_and_overrides),
	    cmocka_unit_test(test_every_fault_kind),
	    cmocka_unit_test(test_init_defaults),
	    cmocka_unit_test(test_task_spec_round_trip),
	    cmocka_unit_test(test_bad_catalogue),
	    cmocka_unit_test(test_nul_byte),
	    cmocka_unit_test(test_overlong_line_numbers),
	    cmocka_unit_test(test_many_keys),
	    cmocka_unit_test(test_triggers_victims_orphans),
	};

	return cmocka_run_group_tests(tests, chdir_to_tree, NULL);
}
