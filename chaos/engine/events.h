/* Kit event lines on the event socket (docs/protocol.md section 2), and
 * the bounded line buffer the controller reads both the socket and the
 * target's stdout with, so that a flooding or hostile peer cannot grow
 * memory. The outcome-line grammar is check/outcome.h. */
#ifndef CHAOS_EVENTS_H
#define CHAOS_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "check/outcome.h"

/* Longest kit line, without the newline (docs/protocol.md). */
#define CHAOS_EVLINE_MAX 256

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
