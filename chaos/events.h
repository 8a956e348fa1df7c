/* Wire formats the controller reads: kit event lines on the event socket
 * (docs/protocol.md section 2) and the target's outcome lines on stdout
 * (the adapter contract in DESIGN.md), plus the bounded line buffer both
 * readers use so that a flooding or hostile peer cannot grow memory. */
#ifndef CHAOS_EVENTS_H
#define CHAOS_EVENTS_H

#include <stddef.h>
#include <stdint.h>

/* Longest kit line, without the newline (docs/protocol.md). */
#define CHAOS_EVLINE_MAX 256
/* Longest outcome line the controller keeps, without the newline. */
#define CHAOS_OUTLINE_MAX 4096

enum chaos_evline_kind {
	CHAOS_EVL_START = 0,
	CHAOS_EVL_END,
	CHAOS_EVL_FAIL,
};

struct chaos_evline {
	enum chaos_evline_kind kind;
	uint32_t task;
	int64_t result;                   /* END */
	char text[CHAOS_EVLINE_MAX + 1]; /* FAIL */
};

/* Parse one kit line (without its newline; len bytes, may contain NUL).
 * Returns 0, or -EINVAL with the reason in err. */
int chaos_evline_parse(const char *line, size_t len, struct chaos_evline *ev, char *err,
		       size_t errlen);

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

/* A bounded line assembler. cap is at most CHAOS_OUTLINE_MAX. */
struct chaos_linebuf {
	char buf[CHAOS_OUTLINE_MAX + 1];
	size_t len;
	size_t cap;   /* longest accepted line */
	int skipping; /* an overlong line is being discarded up to its newline */
};

void chaos_linebuf_init(struct chaos_linebuf *lb, size_t cap);

/* Feed up to n bytes from data; *used gets how many were consumed. Returns
 * 1 when a complete line is ready (*line and *len point into lb, valid until the
 * next call), 0 when all input was consumed without completing a line, and
 * -EMSGSIZE when a line exceeded cap (the rest of it is discarded). */
int chaos_linebuf_feed(struct chaos_linebuf *lb, const char *data, size_t n, size_t *used,
		       const char **line, size_t *len);

/* The partial line left at EOF (no newline), or 0 when there is none. */
int chaos_linebuf_tail(struct chaos_linebuf *lb, const char **line, size_t *len);

#endif
