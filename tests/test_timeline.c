/* Tests of the SVG timeline: fixture histories in tests/data/mx/ become
 * SVGs with the expected lanes, bars and marks, text is escaped, a
 * truncated history is drawn up to its last complete line, and the result
 * is self-contained and well-formed. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/targets_internal.h"
#include "matrix/timeline.h"
#include "util/testutil.h"

static char data_dir[PATH_MAX];

/* Find tests/data/mx by walking up from the test binary (build/<x>/tests/),
 * so the test runs from any working directory. */
static int find_data(void **state)
{
	char dir[PATH_MAX];
	ssize_t l = readlink("/proc/self/exe", dir, sizeof(dir) - 1);

	(void)state;
	if (l <= 0)
		return -1;
	dir[l] = '\0';
	for (int depth = 0; depth < 8; depth++) {
		char *slash = strrchr(dir, '/');
		struct stat st;

		if (!slash || slash == dir)
			break;
		*slash = '\0';
		snprintf(data_dir, sizeof(data_dir), "%.*s/tests/data/mx", PATH_MAX - 32, dir);
		if (stat(data_dir, &st) == 0 && S_ISDIR(st.st_mode))
			return 0;
	}
	fprintf(stderr, "tests/data/mx not found above the test binary\n");
	return -1;
}

/* Render a fixture into memory. */
static char *render(const char *fixture, const char *title)
{
	char path[PATH_MAX + 64];
	char *buf = NULL;
	size_t len = 0;
	FILE *in, *out;

	snprintf(path, sizeof(path), "%s/%s", data_dir, fixture);
	in = fopen(path, "re");
	assert_non_null(in);
	out = open_memstream(&buf, &len);
	assert_non_null(out);
	assert_int_equal(chaos_timeline_write(in, out, title), 0);
	fclose(out);
	fclose(in);
	return buf;
}

static void test_kill_skip_elements(void **state)
{
	char *svg = render("kill-skip.jsonl", NULL);

	(void)state;
	/* Lanes: the run lane plus three worker PIDs. */
	assert_int_equal(tu_count(svg, "class=\"lane\""), 4);
	assert_non_null(strstr(svg, "worker 0 (pid 101)"));
	assert_non_null(strstr(svg, "worker 2 (pid 103)"));
	/* Tasks 0 and 1 returned, 2 failed, 3 was killed. */
	assert_int_equal(tu_count(svg, "class=\"bar ok\""), 2);
	assert_int_equal(tu_count(svg, "class=\"bar failed\""), 1);
	assert_int_equal(tu_count(svg, "class=\"bar killed\""), 1);
	assert_int_equal(tu_count(svg, "class=\"bar open\""), 0);
	assert_int_equal(tu_count(svg, "class=\"fault\""), 1);
	assert_non_null(strstr(svg, ">SIGKILL<"));
	assert_int_equal(tu_count(svg, "class=\"death\""), 1);
	assert_int_equal(tu_count(svg, "class=\"death oom\""), 0);
	/* Worker 0 exiting idle with code 0 at shutdown is not a death mark. */
	assert_int_equal(tu_count(svg, "class=\"exit\""), 1);
	assert_int_equal(tu_count(svg, "class=\"finish\""), 1);
	assert_int_equal(tu_count(svg, "class=\"hung\""), 0);
	/* The 2 s deadline is beyond the 0.13 s run: said, not drawn. */
	assert_int_equal(tu_count(svg, "class=\"deadline\""), 0);
	assert_non_null(strstr(svg, "beyond the right edge"));
	assert_true(tu_count(svg, "class=\"tick\"") >= 4);
	assert_non_null(strstr(svg, "kill-one-skip on safepool"));
	free(svg);
}

static void test_oom_hang_elements(void **state)
{
	char *svg = render("oom-hang.jsonl", NULL);

	(void)state;
	assert_int_equal(tu_count(svg, "class=\"lane\""), 3);
	assert_int_equal(tu_count(svg, "class=\"death oom\""), 1);
	assert_int_equal(tu_count(svg, "class=\"death\""), 0);
	assert_int_equal(tu_count(svg, "class=\"exit\""), 0);
	assert_int_equal(tu_count(svg, "class=\"bar killed\""), 1);
	/* Task 2 never ended: the target hung. */
	assert_int_equal(tu_count(svg, "class=\"bar open\""), 1);
	assert_int_equal(tu_count(svg, "class=\"hung\""), 1);
	assert_int_equal(tu_count(svg, "class=\"finish\""), 0);
	assert_int_equal(tu_count(svg, "class=\"deadline\""), 1);
	/* The SIGSTOP was not delivered: a hollow mark. */
	assert_int_equal(tu_count(svg, "class=\"fault\""), 1);
	assert_non_null(strstr(svg, "(not delivered)"));
	assert_non_null(strstr(svg, "verdict: hang"));
	free(svg);
}

static void test_escaping_and_self_contained(void **state)
{
	char *svg = render("oom-hang.jsonl", NULL);
	char *own = render("kill-skip.jsonl", "a <b> & 'c' \"d\"");

	(void)state;
	assert_non_null(
	    strstr(svg, "oom &lt;per-worker&gt; &amp; &quot;hang&quot; on mp-pool-map"));
	assert_null(strstr(svg, "<per-worker>"));
	assert_non_null(strstr(own, "a &lt;b&gt; &amp; &apos;c&apos; &quot;d&quot;"));
	for (int i = 0; i < 2; i++) {
		const char *s = i ? own : svg;

		assert_null(strstr(s, "<script"));
		assert_null(strstr(s, "href"));
		assert_null(strstr(s, "<image"));
		assert_int_equal(tu_count(s, "<svg "), 1);
		assert_int_equal(tu_count(s, "</svg>"), 1);
	}
	free(svg);
	free(own);
}

static void test_empty_and_garbage(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	const char *text =
	    "not json\n{\"t\":0.5,\"ev\":\"start\",\"task\":1,\"attempt\":1,\"pid\":9}\n[1,2]\n";
	FILE *in = fmemopen((void *)text, strlen(text), "r");
	FILE *out = open_memstream(&buf, &len);

	(void)state;
	assert_non_null(in);
	assert_non_null(out);
	assert_int_equal(chaos_timeline_write(in, out, NULL), 0);
	fclose(out);
	fclose(in);
	/* One lane from the start event, its attempt never ended. */
	assert_int_equal(tu_count(buf, "class=\"lane\""), 2);
	assert_int_equal(tu_count(buf, "class=\"bar open\""), 1);
	assert_non_null(strstr(buf, "history cut short"));
	free(buf);
}

/* The written file is well-formed XML (checked with xmllint when present). */
static void test_file_well_formed(void **state)
{
	char hist[PATH_MAX + 64], svg[] = "/tmp/chaos-test-timeline-XXXXXX";
	int fd = mkstemp(svg);
	char *argv[] = {"/usr/bin/xmllint", "--noout", svg, NULL};
	struct stat st;

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	snprintf(hist, sizeof(hist), "%s/oom-hang.jsonl", data_dir);
	assert_int_equal(chaos_timeline_svg(hist, svg, NULL), 0);
	assert_int_equal(stat(svg, &st), 0);
	assert_true(st.st_size > 1000);
	assert_int_equal(chaos_timeline_svg("/nonexistent/history.jsonl", svg, NULL), -ENOENT);
	if (access(argv[0], X_OK) == 0)
		assert_int_equal(chaos__probe(argv, NULL, 0, 20000), 0);
	else
		fprintf(stderr, "xmllint not installed: well-formedness not checked\n");
	unlink(svg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_kill_skip_elements),
	    cmocka_unit_test(test_oom_hang_elements),
	    cmocka_unit_test(test_escaping_and_self_contained),
	    cmocka_unit_test(test_empty_and_garbage),
	    cmocka_unit_test(test_file_well_formed),
	};

	return cmocka_run_group_tests(tests, find_data, NULL);
}
