/* Pool `invented`: under skip, a task whose worker was killed gets a result
 * anyway: the zero of a preallocated result slot, printed as `result N 0`.
 * It does list the task as killed.
 *
 * Caught by: skip ("task 3 has result 0 but its last attempt 1 was
 * killed"), e.g. on seed/kill-one-skip.
 */
#include "minipool.h"

static void zero_result(struct mp *p, uint32_t id, int sig, int code)
{
	if (p->policy != MP_SKIP || !sig) {
		mp_death(p, id, sig, code);
		return;
	}
	p->t[id].killed = 1;
	p->t[id].out = MP_OUT_RESULT;
	p->t[id].value = 0;
}

int main(void)
{
	return mp_main("invented", zero_result);
}
