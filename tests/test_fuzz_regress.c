/* Regression tests for the fuzz harnesses: every seed in fuzz/corpus/<name>/
 * and every input the fuzzers found in tests/data/fuzz/<name>/ is replayed
 * through the same entry point the fuzzer ran (fuzz/fuzz_<name>.c, built
 * here with the normal compiler and without libFuzzer). An input passes
 * when every property the harness checks holds; `make sanitize` adds the
 * memory checks the fuzzer had.
 *
 * Inputs in tests/data/fuzz/<name>/open/ reproduce findings that are not
 * fixed yet. They are replayed too and reported as skipped while they still
 * fail; once one passes, the test says so, and the file belongs one level up
 * where it guards the fix.
 */
#include <glob.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#define FUZZ_REGRESS 1
#include "../fuzz/fuzz_scenario.c"
#include "../fuzz/fuzz_outcome.c"
#include "../fuzz/fuzz_outcome_checker.c"
#include "../fuzz/fuzz_events.c"
#include "../fuzz/fuzz_wire.c"
#include "../fuzz/fuzz_taskspec.c"

/* Fuzz inputs are small: libFuzzer's -max_len is at most 8 KiB here. */
#define REGRESS_MAX_INPUT (1u << 20)

typedef int (*fuzz_entry)(const uint8_t *data, size_t size);

static const struct {
	const char *name;
	fuzz_entry entry;
} harnesses[] = {
    {"scenario", fuzz_one_scenario},
    {"outcome", fuzz_one_outcome},
    {"outcome_checker", fuzz_one_outcome_checker},
    {"events", fuzz_one_events},
    {"wire", fuzz_one_wire},
    {"taskspec", fuzz_one_taskspec},
};

/* The inputs live in the source tree; find it from wherever the program was
 * started (make check runs it from the top directory). */
static int chdir_to_tree(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < 5; i++) {
		if (access("fuzz/fuzz.h", F_OK) == 0)
			return 0;
		if (chdir("..") != 0)
			return -1;
	}
	return -1;
}

static uint8_t *read_input(const char *path, size_t *size)
{
	FILE *f = fopen(path, "re");
	uint8_t *buf;

	if (!f)
		return NULL;
	buf = malloc(REGRESS_MAX_INPUT);
	if (buf)
		*size = fread(buf, 1, REGRESS_MAX_INPUT, f);
	fclose(f);
	return buf;
}

/* Replay every regular file matching pattern; returns how many broke a
 * property and writes how many were replayed to *count. */
static unsigned replay(fuzz_entry entry, const char *pattern, size_t *count, int quiet)
{
	unsigned broken = 0;
	glob_t g;
	size_t i;

	*count = 0;
	if (glob(pattern, 0, NULL, &g) != 0)
		return 0;
	for (i = 0; i < g.gl_pathc; i++) {
		struct stat st;
		uint8_t *buf;
		size_t size = 0;

		if (stat(g.gl_pathv[i], &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		buf = read_input(g.gl_pathv[i], &size);
		assert_non_null(buf);
		fuzz_failures = 0;
		entry(buf, size);
		free(buf);
		(*count)++;
		if (fuzz_failures) {
			broken++;
			if (!quiet)
				print_message("  %s: %u propert%s broken\n", g.gl_pathv[i],
					      fuzz_failures, fuzz_failures > 1 ? "ies" : "y");
		} else if (quiet) {
			print_message("  %s: now passes\n", g.gl_pathv[i]);
		}
	}
	globfree(&g);
	return broken;
}

/* Seeds and fixed findings: every property must hold. */
static void test_replay_fixed(void **state)
{
	unsigned total_broken = 0;
	size_t h, n, seeds = 0;
	char pat[256];

	(void)state;
	for (h = 0; h < sizeof(harnesses) / sizeof(harnesses[0]); h++) {
		snprintf(pat, sizeof(pat), "fuzz/corpus/%s/*", harnesses[h].name);
		total_broken += replay(harnesses[h].entry, pat, &n, 0);
		/* Each harness ships seeds: an empty corpus means a broken tree. */
		assert_true(n > 0);
		seeds += n;
		snprintf(pat, sizeof(pat), "tests/data/fuzz/%s/*", harnesses[h].name);
		total_broken += replay(harnesses[h].entry, pat, &n, 0);
		seeds += n;
	}
	print_message("  replayed %zu inputs\n", seeds);
	assert_int_equal(total_broken, 0);
}

/* Open findings: still broken is expected (skip), fixed is news. */
static void test_replay_open(void **state)
{
	unsigned still = 0, fixed = 0, b;
	size_t h, n, total = 0;
	char pat[256];

	(void)state;
	for (h = 0; h < sizeof(harnesses) / sizeof(harnesses[0]); h++) {
		snprintf(pat, sizeof(pat), "tests/data/fuzz/%s/open/*", harnesses[h].name);
		b = replay(harnesses[h].entry, pat, &n, 1);
		still += b;
		fixed += (unsigned)n - b;
		total += n;
	}
	if (fixed)
		print_message("  %u open finding%s now pass: move %s out of open/\n", fixed,
			      fixed > 1 ? "s" : "", fixed > 1 ? "them" : "it");
	if (still) {
		print_message(
		    "  %u of %zu open findings still reproduce (see tests/data/fuzz/README.md)\n",
		    still, total);
		skip();
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_replay_fixed),
	    cmocka_unit_test(test_replay_open),
	};

	return cmocka_run_group_tests(tests, chdir_to_tree, NULL);
}
