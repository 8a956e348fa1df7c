/* Pool `unbounded_retry`: under retry it sends a task whose worker died
 * again, 10 ms later, every time, ignoring CHAOS_RETRIES. A task that kills
 * its worker on every attempt is retried until the controller's deadline
 * (celery's acks_late redelivering a poison message forever).
 *
 * Caught by: retry ("task 3 started 4 times, cap 3") on seed/retry-cap,
 * named even though the run then hits its deadline.
 */
#include "minipool.h"

#include "../util/testutil.h"

static void retry_forever(struct mp *p, uint32_t id, int sig, int code)
{
	if (p->policy != MP_RETRY) {
		mp_death(p, id, sig, code);
		return;
	}
	if (sig)
		p->t[id].killed = 1;
	tu_sleep_ms(10);
	mp_requeue(p, id);
}

int main(void)
{
	return mp_main("unbounded_retry", retry_forever);
}
