/* sys/file: the one small-file reader and writer, and mkdir -p, on real
 * files in a private temporary directory. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "sys/file.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_file.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_read_write(void **state)
{
	char path[128], buf[8];
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "%s/f", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(chaos_write_small(path, "hello world"), 0);
	/* A longer file is cut at len-1 bytes and NUL-terminated. */
	assert_int_equal(chaos_read_small(path, buf, sizeof(buf)), 7);
	assert_string_equal(buf, "hello w");
	assert_int_equal(chaos_read_small(path, buf, 1), 0);
	assert_string_equal(buf, "");
	/* Missing files: -ENOENT, and the buffer is empty. */
	snprintf(path, sizeof(path), "%s/missing", dir);
	assert_int_equal(chaos_read_small(path, buf, sizeof(buf)), -ENOENT);
	assert_string_equal(buf, "");
	assert_int_equal(chaos_write_small(path, "x"), -ENOENT);
	/* A directory cannot be read as a file. */
	assert_int_equal(chaos_read_small(dir, buf, sizeof(buf)), -EISDIR);
}

static void test_mkdir_p(void **state)
{
	char path[4200];
	struct stat st;

	(void)state;
	snprintf(path, sizeof(path), "%s/a/b/c", dir);
	assert_int_equal(chaos_mkdir_p(path), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	/* Again, and with a trailing slash: an existing directory is fine. */
	assert_int_equal(chaos_mkdir_p(path), 0);
	strcat(path, "/");
	assert_int_equal(chaos_mkdir_p(path), 0);
	/* A file in the way is the error of the mkdir that failed. */
	snprintf(path, sizeof(path), "%s/a/file", dir);
	assert_int_equal(close(open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644)), 0);
	strcat(path, "/sub");
	assert_int_equal(chaos_mkdir_p(path), -ENOTDIR);
	assert_int_equal(chaos_mkdir_p(""), -ENAMETOOLONG);
	memset(path, 'x', 4150);
	path[0] = '/';
	path[4150] = '\0';
	assert_int_equal(chaos_mkdir_p(path), -ENAMETOOLONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_write),
		cmocka_unit_test(test_mkdir_p),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
