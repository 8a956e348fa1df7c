/* libsafepool: a real OOM kill in a memory-limited child cgroup of the
 * test's own memory cgroup is reported as killed with OOM = yes. Only the
 * workers join the limited cgroup (worker_init), so the OOM killer cannot
 * pick the test process. Skips with a reason when no memory cgroup is
 * writable. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "safepool.h"
#include "util/testutil.h"

static char cg_dir[600];
static int cg_v2;

static int join_cgroup(void *data)
{
	char pid[32];

	(void)data;
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	return tu_write_file(cg_dir, "cgroup.procs", pid) < 0;
}

/* Allocate and touch 256 MiB: far over the 32 MiB limit. */
static int hog(const struct sp_task_ctx *ctx, const void *arg, size_t len, void **res,
	       size_t *res_len)
{
	size_t size = 256u << 20;
	volatile char *p;

	(void)arg;
	(void)len;
	(void)res;
	(void)res_len;
	if (ctx->index != 1)
		return 0;
	p = malloc(size);
	if (!p)
		return 12;
	for (size_t i = 0; i < size; i += 4096)
		p[i] = 1;
	return 0;
}

static int setup(void **state)
{
	char base[512];
	int r;

	(void)state;
	if (tu_own_memcg(base, sizeof(base), &cg_v2) < 0)
		return 0;
	snprintf(cg_dir, sizeof(cg_dir), "%s/sp_oom_test_%d", base, (int)getpid());
	if (mkdir(cg_dir, 0755) < 0) {
		cg_dir[0] = '\0';
		return 0;
	}
	if (cg_v2) {
		r = tu_write_file(cg_dir, "memory.max", "33554432");
		tu_write_file(cg_dir, "memory.swap.max", "0");
	} else {
		r = tu_write_file(cg_dir, "memory.limit_in_bytes", "33554432");
		tu_write_file(cg_dir, "memory.memsw.limit_in_bytes", "33554432");
	}
	if (r < 0) {
		rmdir(cg_dir);
		cg_dir[0] = '\0';
	}
	return 0;
}

/* Remove the cgroup even when the test failed; bounded retries because the
 * last worker may still be leaving. */
static int teardown(void **state)
{
	(void)state;
	if (!cg_dir[0])
		return 0;
	for (int i = 0; i < 100 && rmdir(cg_dir) < 0 && errno == EBUSY; i++)
		usleep(20000);
	if (access(cg_dir, F_OK) == 0) {
		fprintf(stderr, "could not remove %s\n", cg_dir);
		return -1;
	}
	return 0;
}

static void test_real_oom(void **state)
{
	struct sp_options o;
	sp_pool *p = NULL;
	const void *args[4] = {"", "", "", ""};
	size_t lens[4] = {0, 0, 0, 0};
	struct sp_result res[4];
	const struct sp_killed *k;
	size_t nk = 0;

	(void)state;
	if (!cg_dir[0]) {
		printf("skipped: no writable memory cgroup below our own\n");
		skip();
	}
	sp_options_init(&o);
	o.workers = 2;
	o.worker_init = join_cgroup;
	assert_int_equal(sp_pool_create(&p, &o), 0);
	assert_int_equal(sp_map(p, hog, args, lens, 4, res, NULL), 0);
	assert_int_equal(res[1].outcome, SP_KILLED);
	assert_int_equal(res[1].signal, SIGKILL);
	assert_int_equal(res[1].oom, SP_OOM_YES);
	assert_int_equal(res[0].outcome, SP_OK);
	assert_int_equal(res[2].outcome, SP_OK);
	assert_int_equal(res[3].outcome, SP_OK);
	assert_int_equal(sp_killed_tasks(p, &k, &nk), 0);
	assert_int_equal(nk, 1);
	assert_int_equal(k[0].oom, SP_OOM_YES);
	sp_results_free(res, 4);
	/* Another SIGKILL in the same cgroup afterwards is not an OOM kill. */
	sp_pool_destroy(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_real_oom, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
