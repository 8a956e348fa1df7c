/* Pool `wrong_killed`: reports a killed task correctly as lost (or retries
 * it), but its killed-task list is off by one: it names the next task id
 * instead of the one whose worker was killed.
 *
 * Caught by: killed-tasks ("pool says {4}, history says {3}"), e.g. on
 * seed/kill-one-skip and seed/kill-one-retry.
 */
#include "minipool.h"

static void off_by_one(struct mp *p, uint32_t id, int sig, int code)
{
	mp_death(p, id, sig, code);
	if (sig && p->ntasks > 1) {
		p->t[id].killed = 0;
		p->t[(id + 1) % p->ntasks].killed = 1;
	}
}

int main(void)
{
	return mp_main("wrong_killed", off_by_one);
}
