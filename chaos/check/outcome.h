/* Outcome lines of the adapter contract (README.md, "The adapter
 * contract"): what a target prints on stdout. One grammar, used by the
 * controller as it reads the target and by the checker as it reads them
 * back from the history. */
#ifndef CHAOS_OUTCOME_H
#define CHAOS_OUTCOME_H

#include <stddef.h>
#include <stdint.h>

/* Longest outcome line the controller keeps, without the newline. */
#define CHAOS_OUTLINE_MAX 4096

enum chaos_outcome_kind {
	CHAOS_OUT_RESULT = 0,
	CHAOS_OUT_LOST,
	CHAOS_OUT_ERROR,
	CHAOS_OUT_KILLED_TASKS,
	CHAOS_OUT_ABORTED,
	CHAOS_OUT_UNSUPPORTED,
	CHAOS_OUT_DONE,
};

/* Most ids one killed-tasks line can name: every id takes at least a digit
 * and a comma of a line no longer than CHAOS_OUTLINE_MAX. */
#define CHAOS_KILLED_MAX (CHAOS_OUTLINE_MAX / 2)

struct chaos_outcome {
	enum chaos_outcome_kind kind;
	uint32_t task;	  /* RESULT, LOST, ERROR */
	int64_t value;	  /* RESULT */
	const char *text; /* ERROR, ABORTED, UNSUPPORTED: points into the
			     parsed line (not NUL-terminated), NULL when the
			     line has no text */
	size_t text_len;
	uint32_t nkilled; /* KILLED_TASKS: ids as printed, repeats kept */
	uint32_t killed[CHAOS_KILLED_MAX];
};

/* Validate one outcome line (len bytes, without its newline, may contain
 * NUL) against the adapter contract, the one grammar both the controller
 * and the checker read outcome lines with:
 *
 *   result <id> <value> | lost <id> | error <id>[ <text>]
 *   killed-tasks[ <id>[,<id>...]] | aborted[ <text>] | unsupported[ <text>]
 *   done
 *
 * Fields are separated by exactly one blank; a line has no leading and no
 * trailing blank, except the documented empty list "killed-tasks ". Ids are
 * decimal uint32, values decimal int64; text is any run of printable bytes
 * or tabs. Lines longer than CHAOS_OUTLINE_MAX are refused. Returns 0, or
 * -EINVAL with the reason in err (a protocol error). */
int chaos_outcome_parse(const char *line, size_t len, struct chaos_outcome *o, char *err,
			size_t errlen);

#endif
