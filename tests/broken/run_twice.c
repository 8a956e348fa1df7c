/* Pool `run_twice`: on a worker's death it restarts the map from its
 * checkpoint, the beginning: every task already sent to a worker is queued
 * again behind the others, including tasks that have already returned. It
 * keeps the first result of each, so the output looks right; the tasks ran
 * twice (a side effect done twice, the at-least-once bug).
 *
 * Caught by: retry ("task 0 ran 2 times but was never killed"), e.g. on
 * seed/kill-one-retry.
 */
#include "minipool.h"

static void restart_from_checkpoint(struct mp *p, uint32_t id, int sig, int code)
{
	mp_death(p, id, sig, code);
	for (uint32_t i = 0; i < p->ntasks; i++)
		if (i != id && p->t[i].attempts > 0)
			mp_requeue(p, i);
}

int main(void)
{
	return mp_main("run_twice", restart_from_checkpoint);
}
