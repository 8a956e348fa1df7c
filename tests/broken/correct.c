/* Pool `correct`: the control of the broken pools, the small pool of
 * minipool.c with its correct handling of a worker's death (mp_death).
 *
 * Killed worker: the task it ran is `lost` under skip and named in
 * `killed-tasks`; retry sends it again up to CHAOS_RETRIES more times, then
 * reports it lost; abort SIGKILLs the other workers and prints `aborted`.
 * A worker that exits with a code is `error` and not named as killed. The
 * pool has no task timeout. tests/test_power.c expects PASS from the shipped
 * scenarios it supports, and never FAIL or HANG.
 */
#include "minipool.h"

int main(void)
{
	return mp_main("correct", NULL);
}
