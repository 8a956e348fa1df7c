/* chaos-task ID: the task kit for shell tools (GNU parallel, xargs).
 *
 * Runs task ID through chaos_task_run() and prints its result on stdout.
 * Exit codes: 0 result printed; 1 the task failed (action=fail) or the kit
 * could not run it (reason on stderr); 2 bad usage. The actions exit, hang,
 * selfkill and segv end the process as the task spec says.
 */
#include "chaos_task.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	unsigned long long id;
	int64_t result = 0;
	char *end;
	int r;

	if (argc != 2 || argv[1][0] < '0' || argv[1][0] > '9') {
		fprintf(stderr, "usage: chaos-task ID\n");
		return 2;
	}
	errno = 0;
	id = strtoull(argv[1], &end, 10);
	if (errno || *end || id > UINT32_MAX) {
		fprintf(stderr, "chaos-task: bad task id '%s'\n", argv[1]);
		return 2;
	}
	r = chaos_task_run((uint32_t)id, &result);
	if (r == CHAOS_TASK_FAILED) {
		fprintf(stderr, "chaos-task: task %llu failed on purpose\n", id);
		return 1;
	}
	if (r < 0) {
		fprintf(stderr, "chaos-task: task %llu: %s\n", id, strerror(-r));
		return 1;
	}
	printf("%" PRId64 "\n", result);
	if (fflush(stdout) != 0)
		return 1;
	return 0;
}
