/* Pool `orphan`: a correct map, but after printing `done` it leaves a
 * daemonized process behind: double fork, setsid, stdio on /dev/null, then
 * 60 s of sleep (bounded, so that a leaked one still goes away; the run
 * cgroup's teardown kills it long before). Like a pool whose helper process
 * (a resource tracker, a broker) survives the pool.
 *
 * Caught by: no-leftovers and hang-free ("process N (orphan) was left in the
 * run cgroup"), on every scenario, e.g. seed/baseline.
 */
#include "minipool.h"

#include "../util/testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

static void leave_daemon(void)
{
	pid_t pid = fork();
	int fd;

	if (pid < 0)
		return;
	if (pid > 0) {
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		return;
	}
	if (fork() != 0)
		tu_child_exit(0);
	setsid();
	fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
	}
	tu_sleep_ms(60000);
	tu_child_exit(0);
}

int main(void)
{
	int rc = mp_main("orphan", NULL);

	if (rc == 0)
		leave_daemon();
	return rc;
}
