/* Fuzz the task kit's reader of the task spec file, chaos_task_parse_file()
 * in scenarios/kit/chaos_task.c (docs/protocol.md section 1). Every worker of
 * every pool under test runs this parser on a file the controller wrote, so
 * it must refuse anything malformed cleanly. Properties: the answer is 0,
 * -EINVAL with a "path:line: why" message, or -ENOMEM; an accepted file has
 * valid actions and exit codes for every task it announced.
 */
#include "fuzz.h"

#include "../scenarios/kit/chaos_task.h"

static struct fuzz_file fuzz_ts_in = FUZZ_FILE_INIT;

FUZZ_TARGET(taskspec)
{
	struct chaos_task_def *defs = NULL;
	char err[512];
	uint32_t n = 0, i;
	int r;

	if (fuzz_file_put(&fuzz_ts_in, "fuzz-taskspec", data, size))
		return 0;
	err[0] = '\0';
	r = chaos_task_parse_file(fuzz_ts_in.path, &defs, &n, err, sizeof(err));
	if (r) {
		FUZZ_CHECK(r == -EINVAL || r == -ENOMEM || r == -EIO);
		FUZZ_CHECK(!strncmp(err, fuzz_ts_in.path, strlen(fuzz_ts_in.path)));
		return 0;
	}
	FUZZ_CHECK(defs != NULL);
	for (i = 0; defs && i < n; i++) {
		FUZZ_CHECK((unsigned)defs[i].action <= CHAOS_TASK_SEGV);
		FUZZ_CHECK(defs[i].exit_code >= 0 && defs[i].exit_code <= 255);
	}
	free(defs);
	return 0;
}
