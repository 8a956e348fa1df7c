/* The task and worker state machines: every transition of the library is
 * in these two tables, so tests can drive each one. */
#include "internal.h"

#define X -1

static const signed char task_table[SP__T_NSTATES][SP__TE_NEVENTS] = {
	/* DISPATCH  COMPLETE    REQUEUE       KILLED      RETRY          READY
	 * GIVE_UP     TIMEOUT     EXITED      CANCEL */
	[SP__T_PENDING] = {SP__T_QUEUED, X, X, X, X, X, X, X, X, SP__T_DONE},
	[SP__T_QUEUED] = {X, SP__T_DONE, SP__T_PENDING, SP__T_DONE, SP__T_BACKOFF, X, X, SP__T_DONE,
			  SP__T_DONE, SP__T_DONE},
	[SP__T_BACKOFF] = {X, X, X, X, X, SP__T_PENDING, SP__T_DONE, X, X, SP__T_DONE},
	[SP__T_DONE] = {X, X, X, X, X, X, X, X, X, X},
};

static const signed char worker_table[SP__W_NSTATES][SP__WE_NEVENTS] = {
	/* SPAWN          HELLO        DIE         REAP */
	[SP__W_NONE] = {SP__W_STARTING, X, X, X},
	[SP__W_STARTING] = {X, SP__W_READY, SP__W_DEAD, X},
	[SP__W_READY] = {X, X, SP__W_DEAD, X},
	[SP__W_DEAD] = {X, X, X, SP__W_NONE},
};

int sp__task_next(int state, int event)
{
	if (state < 0 || state >= SP__T_NSTATES || event < 0 || event >= SP__TE_NEVENTS)
		return -1;
	return task_table[state][event];
}

int sp__worker_next(int state, int event)
{
	if (state < 0 || state >= SP__W_NSTATES || event < 0 || event >= SP__WE_NEVENTS)
		return -1;
	return worker_table[state][event];
}
