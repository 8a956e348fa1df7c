/* Parser for kit event lines, and the bounded line buffer. Pure
 * functions: the tests feed them hostile input. */
#include "engine/events.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check/lex.h"

int chaos_evline_parse(const char *line, size_t len, struct chaos_evline *ev, char *err,
		       size_t errlen)
{
	const char *p = line, *end = line + len, *tok;
	size_t n;

	memset(ev, 0, sizeof(*ev));
	if (len > CHAOS_EVLINE_MAX) {
		snprintf(err, errlen, "line of %zu bytes exceeds %d", len, CHAOS_EVLINE_MAX);
		return -EINVAL;
	}
	if (chaos__lex_check_bytes(line, len, err, errlen))
		return -EINVAL;
	n = chaos__lex_token(&p, end, &tok);
	if (chaos__lex_match(tok, n, "start"))
		ev->kind = CHAOS_EVL_START;
	else if (chaos__lex_match(tok, n, "end"))
		ev->kind = CHAOS_EVL_END;
	else if (chaos__lex_match(tok, n, "fail"))
		ev->kind = CHAOS_EVL_FAIL;
	else {
		snprintf(err, errlen, "unknown event '%.*s' (expected start, end, fail)",
			 (int)(n > 32 ? 32 : n), tok);
		return -EINVAL;
	}
	n = chaos__lex_token(&p, end, &tok);
	if (chaos__lex_u32(tok, n, &ev->task)) {
		snprintf(err, errlen, "bad task id '%.*s'", (int)(n > 32 ? 32 : n), tok);
		return -EINVAL;
	}
	switch (ev->kind) {
	case CHAOS_EVL_START:
		n = chaos__lex_token(&p, end, &tok);
		if (n) {
			snprintf(err, errlen, "trailing text after start");
			return -EINVAL;
		}
		break;
	case CHAOS_EVL_END:
		n = chaos__lex_token(&p, end, &tok);
		if (chaos__lex_i64(tok, n, &ev->result)) {
			snprintf(err, errlen, "bad result '%.*s'", (int)(n > 32 ? 32 : n), tok);
			return -EINVAL;
		}
		n = chaos__lex_token(&p, end, &tok);
		if (n) {
			snprintf(err, errlen, "trailing text after end");
			return -EINVAL;
		}
		break;
	case CHAOS_EVL_FAIL:
		while (p < end && *p == ' ')
			p++;
		memcpy(ev->text, p, (size_t)(end - p));
		ev->text[end - p] = '\0';
		break;
	}
	return 0;
}


void chaos_linebuf_init(struct chaos_linebuf *lb, size_t cap)
{
	lb->len = 0;
	lb->skipping = 0;
	lb->cap = cap > CHAOS_OUTLINE_MAX ? CHAOS_OUTLINE_MAX : cap;
}

int chaos_linebuf_feed(struct chaos_linebuf *lb, const char *data, size_t n, size_t *used,
		       const char **line, size_t *len)
{
	const char *nl = memchr(data, '\n', n);
	size_t take = nl ? (size_t)(nl - data) : n;

	*used = nl ? take + 1 : n;
	if (lb->skipping) {
		/* The remainder of an overlong line: drop it, resync after the
		 * newline. The overflow was reported when it started. */
		if (nl)
			lb->skipping = 0;
		return 0;
	}
	if (lb->len + take > lb->cap) {
		lb->len = 0;
		lb->skipping = !nl;
		return -EMSGSIZE;
	}
	memcpy(lb->buf + lb->len, data, take);
	lb->len += take;
	if (!nl)
		return 0;
	lb->buf[lb->len] = '\0';
	*line = lb->buf;
	*len = lb->len;
	lb->len = 0;
	return 1;
}

int chaos_linebuf_tail(struct chaos_linebuf *lb, const char **line, size_t *len)
{
	if (lb->skipping || lb->len == 0)
		return 0;
	lb->buf[lb->len] = '\0';
	*line = lb->buf;
	*len = lb->len;
	lb->len = 0;
	return 1;
}
