/* Tests of the matrix's pure parts: suites and shards, baselines (parse,
 * compare both ways, rewrite), the target registry (spec splitting, unknown
 * names, layouts, runtime probes) and the report writers (JSON read back
 * with jansson, JUnit XML counts and escaping, Markdown table).
 *
 * The runs themselves (chaos_run) are not exercised here: they need the
 * controller and the adapters, and are covered by `make demo`. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "matrix/baseline.h"
#include "matrix/plan.h"
#include "matrix/report.h"
#include "engine/targets.h"
#include "engine/targets_internal.h"
#include "util/testutil.h"

static char tmp[] = "/tmp/chaos-test-matrix-XXXXXX";

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "we");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static void mkdirf(const char *fmt, const char *a)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), fmt, tmp, a);
	assert_int_equal(mkdir(p, 0755), 0);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(tmp) ? 0 : -1;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int teardown(void **state)
{
	(void)state;
	return nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void test_suite_listing(void **state)
{
	struct chaos_mx_scen *v = NULL;
	size_t n = 0;
	char p[PATH_MAX];

	(void)state;
	mkdirf("%s/%s", "suiteA");
	snprintf(p, sizeof(p), "%s/suiteA/zeta.ini", tmp);
	write_file(p, "", 0644);
	snprintf(p, sizeof(p), "%s/suiteA/alpha.ini", tmp);
	write_file(p, "", 0644);
	snprintf(p, sizeof(p), "%s/suiteA/notes.txt", tmp);
	write_file(p, "", 0644);
	snprintf(p, sizeof(p), "%s/suiteA", tmp);
	assert_int_equal(chaos__plan_suite(p, "suiteA", &v, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].name, "alpha");
	assert_string_equal(v[1].name, "zeta");
	assert_string_equal(v[1].suite, "suiteA");
	snprintf(p, sizeof(p), "%s/nope", tmp);
	assert_int_equal(chaos__plan_suite(p, "nope", &v, &n), -ENOENT);
	free(v);
}

static void test_shard_parse(void **state)
{
	unsigned k, n;

	(void)state;
	assert_int_equal(chaos__plan_parse_shard("2/5", &k, &n), 0);
	assert_int_equal(k, 2);
	assert_int_equal(n, 5);
	assert_int_equal(chaos__plan_parse_shard("1/1", &k, &n), 0);
	assert_int_equal(chaos__plan_parse_shard("0/3", &k, &n), -EINVAL);
	assert_int_equal(chaos__plan_parse_shard("4/3", &k, &n), -EINVAL);
	assert_int_equal(chaos__plan_parse_shard("3", &k, &n), -EINVAL);
	assert_int_equal(chaos__plan_parse_shard("a/b", &k, &n), -EINVAL);
	assert_int_equal(chaos__plan_parse_shard("1/2x", &k, &n), -EINVAL);
}

static void test_shards_cover_disjoint(void **state)
{
	const char *targets[] = {"pebble", "safepool", "billiard"};
	const char *targets_rev[] = {"billiard", "safepool", "pebble"};
	struct chaos_mx_scen sc[7];
	struct chaos_mx_pair *all = NULL, *again = NULL;
	size_t nall = 0, nagain = 0;
	int seen[3][7];

	(void)state;
	memset(sc, 0, sizeof(sc));
	memset(seen, 0, sizeof(seen));
	for (int i = 0; i < 7; i++) {
		snprintf(sc[i].suite, sizeof(sc[i].suite), "%s", i < 4 ? "seed" : "oom");
		snprintf(sc[i].name, sizeof(sc[i].name), "s%d", 6 - i);
	}
	assert_int_equal(chaos__plan_pairs(targets, 3, sc, 7, 1, 1, &all, &nall), 0);
	assert_int_equal(nall, 21);
	/* Sorted: billiard first, then by suite ("oom" before "seed"). */
	assert_string_equal(targets[all[0].target], "billiard");
	assert_string_equal(sc[all[0].scen].suite, "oom");
	assert_string_equal(targets[all[20].target], "safepool");
	for (unsigned shards = 1; shards <= 5; shards++) {
		size_t total = 0;

		memset(seen, 0, sizeof(seen));
		for (unsigned k = 1; k <= shards; k++) {
			struct chaos_mx_pair *p = NULL, *q = NULL;
			size_t np = 0, nq = 0;

			assert_int_equal(chaos__plan_pairs(targets, 3, sc, 7, k, shards, &p, &np),
					 0);
			/* The same shard from a differently ordered target list
			 * is the same slice: determinism across CI jobs. */
			assert_int_equal(
			    chaos__plan_pairs(targets_rev, 3, sc, 7, k, shards, &q, &nq), 0);
			assert_int_equal(np, nq);
			for (size_t i = 0; i < np; i++) {
				assert_string_equal(targets[p[i].target], targets_rev[q[i].target]);
				assert_int_equal(p[i].scen, q[i].scen);
				seen[p[i].target][p[i].scen]++;
			}
			total += np;
			free(p);
			free(q);
		}
		assert_int_equal(total, 21);
		for (int t = 0; t < 3; t++)
			for (int s = 0; s < 7; s++)
				assert_int_equal(seen[t][s], 1); /* union = all, disjoint */
	}
	assert_int_equal(chaos__plan_pairs(targets, 3, sc, 7, 1, 1, &again, &nagain), 0);
	assert_int_equal(nagain, nall);
	assert_memory_equal(all, again, nall * sizeof(*all));
	free(all);
	free(again);
}

static void make_cell(struct chaos_mx_cell *c, const char *target, const char *suite,
		      const char *scen, enum chaos_cell kind, const char *text)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->target, sizeof(c->target), "%s", target);
	snprintf(c->suite, sizeof(c->suite), "%s", suite);
	snprintf(c->scenario, sizeof(c->scenario), "%s", scen);
	chaos__mx_cell_set(c, kind, NULL);
	if (text)
		snprintf(c->v.cell_text, sizeof(c->v.cell_text), "%s", text);
}

static void test_expected_parse(void **state)
{
	struct chaos_expected ex;
	char p[PATH_MAX], err[512];

	(void)state;
	snprintf(p, sizeof(p), "%s/exp-good", tmp);
	write_file(p,
		   "# header comment\n\n"
		   "seed/kill-one-skip HANG   # bpo-22393\n"
		   "  seed/no-kill PASS\n"
		   "oom/skip FAIL(skip)\n"
		   "oom/retry FAIL\n",
		   0644);
	assert_int_equal(chaos__expected_load(p, &ex, err, sizeof(err)), 0);
	assert_int_equal(ex.n, 4);
	assert_string_equal(chaos__expected_find(&ex, "seed/kill-one-skip"), "HANG");
	assert_string_equal(chaos__expected_find(&ex, "seed/no-kill"), "PASS");
	assert_string_equal(chaos__expected_find(&ex, "oom/skip"), "FAIL(skip)");
	assert_null(chaos__expected_find(&ex, "oom/none"));
	chaos__expected_free(&ex);

	assert_true(chaos__cell_matches("FAIL", "FAIL(retry)"));
	assert_true(chaos__cell_matches("FAIL(skip)", "FAIL(skip)"));
	assert_false(chaos__cell_matches("FAIL(skip)", "FAIL(retry)"));
	assert_false(chaos__cell_matches("PASS", "HANG"));
	assert_false(chaos__cell_matches("FAIL", "PASS"));

	snprintf(p, sizeof(p), "%s/exp-bad", tmp);
	write_file(p, "seed/a PASS\nseed/b MAYBE\n", 0644);
	assert_int_equal(chaos__expected_load(p, &ex, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "exp-bad:2: bad entry"));
	write_file(p, "seed/a PASS\nseed/a HANG\n", 0644);
	assert_int_equal(chaos__expected_load(p, &ex, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, ":2: duplicate entry for seed/a"));
	write_file(p, "seed/a PASS extra\n", 0644);
	assert_int_equal(chaos__expected_load(p, &ex, err, sizeof(err)), -EINVAL);
	write_file(p, "noslash PASS\n", 0644);
	assert_int_equal(chaos__expected_load(p, &ex, err, sizeof(err)), -EINVAL);
	snprintf(p, sizeof(p), "%s/exp-missing", tmp);
	assert_int_equal(chaos__expected_load(p, &ex, err, sizeof(err)), -ENOENT);
}

/* The cells that are not a verdict on the pool parse as baselines, round
 * trip through JSON, and count apart: an internal error never matches a
 * baseline's ERROR. */
static void test_new_cells(void **state)
{
	static const enum chaos_cell kinds[] = {CHAOS_CELL_UNEXERCISED, CHAOS_CELL_ERROR,
						CHAOS_CELL_SLOW};
	static const char *const names[] = {"UNEXERCISED", "ERROR", "SLOW"};
	struct chaos_mx_cell c, back;
	struct chaos_expected ex;
	char p[PATH_MAX], err[512], *out = NULL;
	unsigned ndiff = 99;
	size_t len = 0;
	FILE *f;

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		enum chaos_cell k;
		json_t *o;

		assert_int_equal(chaos__mx_cell_kind_parse(names[i], &k), 0);
		assert_int_equal(k, kinds[i]);
		assert_string_equal(chaos__mx_cell_kind_name(kinds[i]), names[i]);
		make_cell(&c, "t", "seed", "x", kinds[i], NULL);
		snprintf(c.v.note, sizeof(c.v.note), "why %zu", i);
		o = chaos__mx_cell_to_json(&c);
		assert_non_null(o);
		assert_int_equal(chaos__mx_cell_from_json(o, &back), 0);
		json_decref(o);
		assert_int_equal(back.v.cell, kinds[i]);
		assert_string_equal(back.v.cell_text, names[i]);
		assert_string_equal(back.v.note, c.v.note);
	}
	snprintf(p, sizeof(p), "%s/exp-cells", tmp);
	write_file(p, "seed/a UNEXERCISED\nseed/b ERROR\nseed/c SLOW\n", 0644);
	assert_int_equal(chaos__expected_load(p, &ex, err, sizeof(err)), 0);
	assert_int_equal(ex.n, 3);
	chaos__expected_free(&ex);

	mkdirf("%s/%s", "expected-new");
	snprintf(p, sizeof(p), "%s/expected-new/t", tmp);
	write_file(p, "seed/b ERROR\n", 0644);
	make_cell(&c, "t", "seed", "b", CHAOS_CELL_PASS, NULL);
	c.internal = 1;
	snprintf(c.error, sizeof(c.error), "run overran");
	f = open_memstream(&out, &len);
	assert_non_null(f);
	snprintf(p, sizeof(p), "%s/expected-new", tmp);
	assert_int_equal(chaos__expected_compare(&c, 1, p, f, &ndiff), 0);
	fclose(f);
	assert_int_equal(ndiff, 1);
	assert_non_null(strstr(out, "t seed/b: expected ERROR, got ERROR (internal error)"));
	free(out);
	make_cell(&c, "t", "seed", "b", CHAOS_CELL_ERROR, NULL);
	f = fopen("/dev/null", "we");
	assert_int_equal(chaos__expected_compare(&c, 1, p, f, &ndiff), 0);
	fclose(f);
	assert_int_equal(ndiff, 0);
}

static void test_expected_compare_both_ways(void **state)
{
	struct chaos_mx_cell cells[6];
	char p[PATH_MAX], *out = NULL;
	size_t len = 0;
	unsigned ndiff = 99;
	FILE *f;

	(void)state;
	mkdirf("%s/%s", "expected");
	snprintf(p, sizeof(p), "%s/expected/mp-pool-map", tmp);
	write_file(p,
		   "seed/kill HANG # gh-66587\nseed/none PASS\nseed/fail FAIL\nseed/skipme HANG\n",
		   0644);
	snprintf(p, sizeof(p), "%s/expected/safepool", tmp);
	write_file(p, "seed/kill PASS\n", 0644);
	make_cell(&cells[0], "mp-pool-map", "seed", "fail", CHAOS_CELL_FAIL, "FAIL(skip)");
	/* Expected HANG, got PASS: a pool got better, still a difference. */
	make_cell(&cells[1], "mp-pool-map", "seed", "kill", CHAOS_CELL_PASS, NULL);
	/* Expected PASS, got HANG: the regression the mode exists for. */
	make_cell(&cells[2], "mp-pool-map", "seed", "none", CHAOS_CELL_HANG, NULL);
	/* An observed SKIP is not compared. */
	make_cell(&cells[3], "mp-pool-map", "seed", "skipme", CHAOS_CELL_SKIP, NULL);
	make_cell(&cells[4], "safepool", "seed", "kill", CHAOS_CELL_PASS, NULL);
	/* No entry at all is a difference. */
	make_cell(&cells[5], "safepool", "seed", "new", CHAOS_CELL_PASS, NULL);
	f = open_memstream(&out, &len);
	assert_non_null(f);
	snprintf(p, sizeof(p), "%s/expected", tmp);
	assert_int_equal(chaos__expected_compare(cells, 6, p, f, &ndiff), 0);
	fclose(f);
	assert_int_equal(ndiff, 3);
	assert_non_null(strstr(out, "mp-pool-map seed/kill: expected HANG, got PASS\n"));
	assert_non_null(strstr(out, "mp-pool-map seed/none: expected PASS, got HANG\n"));
	assert_non_null(strstr(out, "safepool seed/new: expected nothing"));
	assert_non_null(strstr(out, "seed/skipme: skipped, not compared"));
	assert_null(strstr(out, "seed/fail:"));
	free(out);

	/* All as expected: no difference. */
	make_cell(&cells[1], "mp-pool-map", "seed", "kill", CHAOS_CELL_HANG, NULL);
	make_cell(&cells[2], "mp-pool-map", "seed", "none", CHAOS_CELL_PASS, NULL);
	f = fopen("/dev/null", "we");
	assert_int_equal(chaos__expected_compare(cells, 5, p, f, &ndiff), 0);
	fclose(f);
	assert_int_equal(ndiff, 0);
}

static void test_expected_write(void **state)
{
	struct chaos_mx_cell cells[3];
	struct chaos_expected ex;
	char p[PATH_MAX], err[256], *text;

	(void)state;
	snprintf(p, sizeof(p), "%s/exp-write", tmp);
	write_file(p, "# keep me\nseed/kill HANG  # bpo-22393\nseed/other PASS\n", 0644);
	make_cell(&cells[0], "t", "seed", "kill", CHAOS_CELL_PASS, NULL);
	make_cell(&cells[1], "t", "seed", "new", CHAOS_CELL_FAIL, "FAIL(retry)");
	make_cell(&cells[2], "t", "seed", "skipped", CHAOS_CELL_SKIP, NULL);
	assert_int_equal(chaos__expected_write(p, "t", cells, 3), 0);
	text = tu_read_all(p);
	assert_non_null(strstr(text, "# keep me\n"));
	assert_non_null(strstr(text, "seed/kill PASS  # bpo-22393\n"));
	assert_non_null(strstr(text, "seed/other PASS\n"));
	assert_non_null(strstr(text, "seed/new FAIL(retry)\n"));
	assert_null(strstr(text, "skipped"));
	free(text);
	assert_int_equal(chaos__expected_load(p, &ex, err, sizeof(err)), 0);
	assert_int_equal(ex.n, 3);
	chaos__expected_free(&ex);
	assert_int_equal(chaos__expected_is_spec(p), 0);
	write_file(p, "# x\n# chaos: specification\nseed/kill PASS\n", 0644);
	assert_int_equal(chaos__expected_is_spec(p), 1);
	snprintf(p, sizeof(p), "%s/exp-none", tmp);
	assert_int_equal(chaos__expected_is_spec(p), 0);
	/* A new file gets a header. */
	snprintf(p, sizeof(p), "%s/exp-new", tmp);
	assert_int_equal(chaos__expected_write(p, "t", cells, 3), 0);
	text = tu_read_all(p);
	assert_true(text[0] == '#');
	assert_int_equal(tu_count(text, "\nseed/"), 2);
	free(text);
}

static void test_target_specs(void **state)
{
	struct chaos_target t;
	char exe[PATH_MAX], p[PATH_MAX];

	(void)state;
	/* A fake source tree with a build directory two levels down. */
	mkdirf("%s/%s", "src");
	mkdirf("%s/%s", "src/scenarios");
	mkdirf("%s/%s", "src/scenarios/targets");
	mkdirf("%s/%s", "src/scenarios/kit");
	snprintf(p, sizeof(p), "%s/src/scenarios/kit/chaos_task.py", tmp);
	write_file(p, "", 0644);
	/* A build directory mirroring the tree must not be taken for it. */
	mkdirf("%s/%s", "src/build");
	mkdirf("%s/%s", "src/build/mx");
	mkdirf("%s/%s", "src/build/mx/scenarios");
	mkdirf("%s/%s", "src/build/mx/scenarios/targets");
	snprintf(p, sizeof(p), "%s/src/scenarios/targets/mp-pool-map", tmp);
	write_file(p, "#!/bin/sh\necho done\n", 0755);
	snprintf(p, sizeof(p), "%s/src/scenarios/targets/xargs", tmp);
	write_file(p, "#!/bin/sh\necho done\n", 0755);
	snprintf(exe, sizeof(exe), "%s/src/build/mx/chaos", tmp);
	unsetenv("CHAOS_HOME");
	chaos__targets_init(exe);

	snprintf(p, sizeof(p), "%s/src/scenarios/kit", tmp);
	assert_string_equal(chaos_kit_python_dir(), p);
	snprintf(p, sizeof(p), "%s/src/build/mx", tmp);
	assert_string_equal(chaos_kit_bin_dir(), p);

	assert_int_equal(chaos_target_resolve("my=/usr/bin/python3  -u\tpool.py ", &t), 0);
	assert_string_equal(t.name, "my");
	assert_string_equal(t.argv[0], "/usr/bin/python3");
	assert_string_equal(t.argv[1], "-u");
	assert_string_equal(t.argv[2], "pool.py");
	assert_null(t.argv[3]);
	assert_int_equal(t.available, 1);
	chaos_target_free(&t);

	assert_int_equal(chaos_target_resolve("nosuchpool", &t), -ENOENT);
	assert_non_null(strstr(t.why, "unknown target 'nosuchpool'"));
	assert_int_equal(chaos_target_resolve("=cmd", &t), -EINVAL);
	assert_int_equal(chaos_target_resolve("x=", &t), -EINVAL);
	assert_int_equal(chaos_target_resolve("x=   ", &t), -EINVAL);
	assert_int_equal(chaos_target_resolve("a/b", &t), -EINVAL);
	assert_int_equal(chaos_target_resolve("x=1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17", &t),
			 -EINVAL);
	assert_int_equal(chaos_target_resolve("x=1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16", &t), 0);
	assert_string_equal(t.argv[15], "16");
	assert_null(t.argv[16]);
	chaos_target_free(&t);

	/* A shipped script found in the tree; multiprocessing is stdlib. */
	assert_int_equal(chaos_target_resolve("mp-pool-map", &t), 0);
	snprintf(p, sizeof(p), "%s/src/scenarios/targets/mp-pool-map", tmp);
	assert_string_equal(t.argv[0], p);
	if (access("/usr/bin/python3", X_OK) == 0)
		assert_int_equal(t.available, 1);
	chaos_target_free(&t);

	/* A shell adapter without chaos-task built is unavailable, saying why. */
	assert_int_equal(chaos_target_resolve("xargs", &t), 0);
	assert_int_equal(t.available, 0);
	assert_non_null(strstr(t.why, "chaos-task not built"));
	chaos_target_free(&t);

	/* Known but absent: listed, unavailable, with the path it looked at. */
	assert_int_equal(chaos_target_resolve("safepool", &t), 0);
	assert_int_equal(t.available, 0);
	assert_non_null(strstr(t.why, "not found"));
	chaos_target_free(&t);

	/* The compiled adapter in <build>/targets wins. */
	mkdirf("%s/%s", "src/build/mx/targets");
	snprintf(p, sizeof(p), "%s/src/build/mx/targets/safepool", tmp);
	write_file(p, "#!/bin/sh\n", 0755);
	assert_int_equal(chaos_target_resolve("safepool", &t), 0);
	assert_string_equal(t.argv[0], p);
	assert_int_equal(t.available, 1);
	chaos_target_free(&t);

	/* A module that does not exist makes a target unavailable: checked
	 * through the same probe the registry uses. */
	{
		char *argv[] = {"/usr/bin/python3", "-c", "import no_such_module_xyz", NULL};

		if (access(argv[0], X_OK) == 0)
			assert_true(chaos__probe(argv, NULL, 0, 20000) != 0);
	}
}

static void test_target_list_and_home(void **state)
{
	struct chaos_target *ts = NULL;
	size_t n = 0;
	char exe[PATH_MAX], p[PATH_MAX];

	(void)state;
	/* An installed layout: <prefix>/bin/chaos, <prefix>/share/chaos. */
	mkdirf("%s/%s", "prefix");
	mkdirf("%s/%s", "prefix/bin");
	mkdirf("%s/%s", "prefix/share");
	mkdirf("%s/%s", "prefix/share/chaos");
	mkdirf("%s/%s", "prefix/share/chaos/scenarios");
	mkdirf("%s/%s", "prefix/share/chaos/scenarios/targets");
	mkdirf("%s/%s", "prefix/share/chaos/scenarios/kit");
	snprintf(p, sizeof(p), "%s/prefix/share/chaos/scenarios/kit/chaos_task.py", tmp);
	write_file(p, "", 0644);
	snprintf(exe, sizeof(exe), "%s/prefix/bin/chaos", tmp);
	chaos__targets_init(exe);
	snprintf(p, sizeof(p), "%s/prefix/share/chaos", tmp);
	assert_string_equal(chaos__targets_src_dir(), p);

	/* CHAOS_HOME wins over the binary's location. */
	snprintf(p, sizeof(p), "%s/src", tmp);
	setenv("CHAOS_HOME", p, 1);
	chaos__targets_init(exe);
	assert_string_equal(chaos__targets_src_dir(), p);
	unsetenv("CHAOS_HOME");

	/* Nothing near the binary: no source dir, every target unavailable. */
	chaos__targets_init("/proc/chaos");
	assert_string_equal(chaos__targets_src_dir(), "");
	assert_int_equal(chaos_target_list(&ts, &n), 0);
	assert_int_equal(n, 21); /* the shipped targets, safepool-py included */
	assert_string_equal(ts[0].name, "safepool");
	assert_string_equal(ts[1].name, "mp-pool-map");
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(ts[i].available, 0);
		assert_true(ts[i].why[0] != '\0');
		chaos_target_free(&ts[i]);
	}
	free(ts);
}

static void test_probe_timeout(void **state)
{
	char *sleeper[] = {"/bin/sleep", "30", NULL};
	char *echo[] = {"/bin/echo", "GNU parallel 2022", NULL};
	char out[64];
	struct timespec a, b;

	(void)state;
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(chaos__probe(sleeper, NULL, 0, 300), -ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &b);
	assert_true(b.tv_sec - a.tv_sec < 5);
	assert_int_equal(chaos__probe(echo, out, sizeof(out), 10000), 0);
	assert_string_equal(out, "GNU parallel 2022\n");
	/* Output longer than the buffer is cut, not overflowed. */
	assert_int_equal(chaos__probe(echo, out, 5, 10000), 0);
	assert_string_equal(out, "GNU ");
	{
		char *missing[] = {"/nonexistent/prog", NULL};

		assert_true(chaos__probe(missing, NULL, 0, 1000) != 0);
	}
}

/* Six cells covering every kind, with text that needs escaping. */
static void report_cells(struct chaos_mx_cell *c)
{
	make_cell(&c[0], "mp-pool-map", "seed", "kill-one-skip", CHAOS_CELL_HANG, NULL);
	c[0].v.nchecks = 1;
	c[0].v.checks[0].name = "hang-free";
	snprintf(c[0].v.checks[0].evidence, sizeof(c[0].v.checks[0].evidence),
		 "hang-free: deadline 20000 ms passed");
	snprintf(c[0].rundir, sizeof(c[0].rundir), "%s/out/mp-pool-map/seed/kill-one-skip", tmp);
	make_cell(&c[1], "mp-pool-map", "seed", "no-kill", CHAOS_CELL_PASS, NULL);
	make_cell(&c[2], "mp-pool-map", "seed", "retry", CHAOS_CELL_UNSUPPORTED, NULL);
	snprintf(c[2].v.note, sizeof(c[2].v.note), "no retry <in> multiprocessing & co");
	make_cell(&c[3], "safepool", "seed", "kill-one-skip", CHAOS_CELL_FAIL, "FAIL(skip)");
	c[3].v.nchecks = 2;
	c[3].v.checks[0].name = "hang-free";
	c[3].v.checks[0].ok = 1;
	c[3].v.checks[1].name = "skip";
	snprintf(c[3].v.checks[1].evidence, sizeof(c[3].v.checks[1].evidence),
		 "skip: task 7 <result> \"26\" & 'x' appears twice");
	make_cell(&c[4], "safepool", "seed", "no-kill", CHAOS_CELL_SKIP, NULL);
	snprintf(c[4].v.note, sizeof(c[4].v.note), "no cgroup");
	make_cell(&c[5], "safepool", "seed", "retry", CHAOS_CELL_PASS, NULL);
	c[5].internal = 1;
	snprintf(c[5].error, sizeof(c[5].error), "the run process overran <x>");
}

static void test_report_json(void **state)
{
	struct chaos_mx_cell cells[6], back;
	char p[PATH_MAX];
	json_error_t jerr;
	json_t *root, *arr, *sum;

	(void)state;
	report_cells(cells);
	snprintf(p, sizeof(p), "%s/matrix.json", tmp);
	assert_int_equal(chaos__mx_write_json(cells, 6, p), 0);
	root = json_load_file(p, 0, &jerr);
	assert_non_null(root);
	assert_int_equal(json_integer_value(json_object_get(root, "version")), 1);
	arr = json_object_get(root, "cells");
	assert_int_equal(json_array_size(arr), 6);
	sum = json_object_get(root, "summary");
	assert_int_equal(json_integer_value(json_object_get(sum, "total")), 6);
	assert_int_equal(json_integer_value(json_object_get(sum, "hang")), 1);
	assert_int_equal(json_integer_value(json_object_get(sum, "fail")), 1);
	assert_int_equal(json_integer_value(json_object_get(sum, "pass")), 1);
	assert_int_equal(json_integer_value(json_object_get(sum, "unsupported")), 1);
	assert_int_equal(json_integer_value(json_object_get(sum, "skip")), 1);
	assert_int_equal(json_integer_value(json_object_get(sum, "error")), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 3), "cell_text")),
			    "FAIL(skip)");
	assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 5), "cell_text")),
			    "ERROR");
	/* A cell survives the round trip (it is how a run hands its verdict
	 * to the matrix). */
	assert_int_equal(chaos__mx_cell_from_json(json_array_get(arr, 3), &back), 0);
	assert_string_equal(back.target, "safepool");
	assert_string_equal(chaos__mx_cell_text(&back), "FAIL(skip)");
	assert_int_equal(back.v.cell, CHAOS_CELL_FAIL);
	assert_int_equal(back.v.nchecks, 2);
	assert_string_equal(back.v.checks[1].name, "skip");
	assert_false(back.v.checks[1].ok);
	assert_string_equal(back.v.checks[1].evidence, cells[3].v.checks[1].evidence);
	assert_int_equal(chaos__mx_cell_from_json(json_array_get(arr, 5), &back), 0);
	assert_int_equal(back.internal, 1);
	assert_string_equal(chaos__mx_cell_text(&back), "ERROR");
	json_decref(root);

	snprintf(p, sizeof(p), "%s/verdict.json", tmp);
	assert_int_equal(chaos__mx_cell_save(&cells[0], p), 0);
	assert_int_equal(chaos__mx_cell_load(p, &back), 0);
	assert_string_equal(chaos__mx_cell_text(&back), "HANG");
	assert_string_equal(back.rundir, cells[0].rundir);
	write_file(p, "{\"cell\": \"MAYBE\"}", 0644);
	assert_int_equal(chaos__mx_cell_load(p, &back), -EINVAL);
	snprintf(p, sizeof(p), "%s/none.json", tmp);
	assert_int_equal(chaos__mx_cell_load(p, &back), -ENOENT);
}

static void test_report_junit(void **state)
{
	struct chaos_mx_cell cells[6];
	char p[PATH_MAX], *x;

	(void)state;
	report_cells(cells);
	snprintf(p, sizeof(p), "%s/junit.xml", tmp);
	assert_int_equal(chaos__mx_write_junit(cells, 6, p), 0);
	x = tu_read_all(p);
	assert_int_equal(tu_count(x, "<testsuites "), 1);
	assert_int_equal(tu_count(x, "<testsuite "), 2);
	assert_int_equal(tu_count(x, "<testcase "), 6);
	assert_int_equal(tu_count(x, "</testcase>"), 6);
	assert_int_equal(tu_count(x, "<failure "), 2); /* HANG and FAIL(skip) */
	assert_int_equal(tu_count(x, "<skipped "), 2); /* UNSUPPORTED and SKIP */
	assert_int_equal(tu_count(x, "<error "), 1);
	assert_non_null(strstr(x, "tests=\"6\" failures=\"2\" errors=\"1\" skipped=\"2\""));
	assert_non_null(
	    strstr(x, "skip: task 7 &lt;result&gt; &quot;26&quot; &amp; &apos;x&apos;"));
	assert_non_null(strstr(x, "no retry &lt;in&gt; multiprocessing &amp; co"));
	assert_null(strstr(x, "<result>"));
	assert_null(strstr(x, "<in>"));
	assert_non_null(strstr(x, "history: "));
	/* Every '<' opens a tag the writer made: escaping leaves no stray ones. */
	assert_int_equal(tu_count(x, "<"),
			 tu_count(x, "<?xml") + tu_count(x, "<testsuite") + tu_count(x, "</testsuite") +
			     tu_count(x, "<testcase") + tu_count(x, "</testcase") + tu_count(x, "<failure") +
			     tu_count(x, "</failure") + tu_count(x, "<skipped") + tu_count(x, "<error"));
	free(x);
	{
		char *argv[] = {"/usr/bin/xmllint", "--noout", p, NULL};

		if (access(argv[0], X_OK) == 0)
			assert_int_equal(chaos__probe(argv, NULL, 0, 20000), 0);
	}
}

static void test_report_markdown_and_table(void **state)
{
	struct chaos_mx_cell cells[6];
	char p[PATH_MAX], *md, *tab = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	report_cells(cells);
	mkdirf("%s/%s", "out");
	snprintf(p, sizeof(p), "%s/out/matrix.md", tmp);
	assert_int_equal(chaos__mx_write_markdown(cells, 6, p), 0);
	md = tu_read_all(p);
	assert_non_null(strstr(md, "| scenario | mp-pool-map | safepool |\n|---|---|---|\n"));
	assert_non_null(strstr(md, "| seed/kill-one-skip | HANG | FAIL(skip) |\n"));
	assert_non_null(strstr(md, "| seed/retry | UNSUPPORTED | ERROR |\n"));
	/* Links are relative to the report's directory. */
	assert_non_null(strstr(md, "(mp-pool-map/seed/kill-one-skip/timeline.svg)"));
	free(md);

	unsetenv("COLUMNS"); /* not a terminal: one table, however wide */
	f = open_memstream(&tab, &len);
	assert_non_null(f);
	assert_int_equal(chaos__mx_print_table(cells, 6, f), 0);
	fclose(f);
	assert_int_equal(tu_count(tab, "\n"), 4); /* header + 3 scenarios */
	assert_non_null(strstr(tab, "scenario            mp-pool-map  safepool"));
	assert_non_null(strstr(tab, "seed/no-kill        PASS         SKIP"));
	free(tab);

	/* Narrower than both targets: one band per target, each with the
	 * scenario column, a blank line between them. */
	setenv("COLUMNS", "35", 1);
	f = open_memstream(&tab, &len);
	assert_non_null(f);
	assert_int_equal(chaos__mx_print_table(cells, 6, f), 0);
	fclose(f);
	unsetenv("COLUMNS");
	assert_int_equal(tu_count(tab, "\n"), 9); /* 2 x (header + 3 scenarios) + blank */
	assert_non_null(strstr(tab, "scenario            mp-pool-map\n"));
	assert_non_null(strstr(tab, "\n\nscenario            safepool "));
	assert_non_null(strstr(tab, "seed/no-kill        SKIP"));
	free(tab);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_suite_listing),
	    cmocka_unit_test(test_shard_parse),
	    cmocka_unit_test(test_shards_cover_disjoint),
	    cmocka_unit_test(test_expected_parse),
	    cmocka_unit_test(test_new_cells),
	    cmocka_unit_test(test_expected_compare_both_ways),
	    cmocka_unit_test(test_expected_write),
	    cmocka_unit_test(test_target_specs),
	    cmocka_unit_test(test_target_list_and_home),
	    cmocka_unit_test(test_probe_timeout),
	    cmocka_unit_test(test_report_json),
	    cmocka_unit_test(test_report_junit),
	    cmocka_unit_test(test_report_markdown_and_table),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
