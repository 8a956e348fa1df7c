/* Pool `hang_second`: survives the first worker that dies running a task
 * (handled correctly) and blocks on the second, as a pool whose recovery
 * state is used up by one death. The block lasts 120 s, forever as far as
 * any scenario's deadline is concerned; it is bounded only so that a leaked
 * pool still goes away.
 *
 * Caught by: HANG on a two-kill scenario (seed/kill-two-skip), while
 * seed/kill-one-skip passes.
 */
#include "minipool.h"

#include "../util/testutil.h"

static void block_on_second(struct mp *p, uint32_t id, int sig, int code)
{
	if (p->deaths >= 2)
		tu_sleep_ms(120000);
	mp_death(p, id, sig, code);
}

int main(void)
{
	return mp_main("hang_second", block_on_second);
}
