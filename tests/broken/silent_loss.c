/* Pool `silent_loss`: a task whose worker died is forgotten. It is neither
 * reported lost nor retried nor named in `killed-tasks`: its line is just
 * missing, as with a pool that drops the future of a dead worker.
 *
 * Caught by: skip ("task N was killed and has no outcome") and killed-tasks,
 * e.g. on seed/kill-one-skip.
 */
#include "minipool.h"

static void forget(struct mp *p, uint32_t id, int sig, int code)
{
	(void)p;
	(void)id;
	(void)sig;
	(void)code;
}

int main(void)
{
	return mp_main("silent_loss", forget);
}
