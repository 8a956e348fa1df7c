/* Pool `slow_abort`: under abort it notices a worker's death only 3 s later
 * (a housekeeping timer, like billiard's lost_worker_timeout), then aborts
 * the map correctly. Meanwhile it sends no task.
 *
 * Caught by: abort ("aborted 3001 ms after the first death, bound 2000 ms")
 * on seed/abort-on-kill.
 */
#include "minipool.h"

#include "../util/testutil.h"

static void notice_late(struct mp *p, uint32_t id, int sig, int code)
{
	if (p->policy == MP_ABORT && !p->aborted)
		tu_sleep_ms(3000);
	mp_death(p, id, sig, code);
}

int main(void)
{
	return mp_main("slow_abort", notice_late);
}
