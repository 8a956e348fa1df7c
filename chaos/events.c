/* Parsers for kit event lines and target outcome lines, and the bounded
 * line buffer. Pure functions: the tests feed them hostile input. */
#include "events.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parse a decimal task id that fills the token exactly. */
static int parse_u32(const char *s, size_t n, uint32_t *v)
{
	uint64_t x = 0;
	size_t i;

	if (n == 0 || n > 10)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		x = x * 10 + (uint64_t)(s[i] - '0');
	}
	if (x > UINT32_MAX)
		return -EINVAL;
	*v = (uint32_t)x;
	return 0;
}

/* Parse a signed 64-bit decimal integer that fills the token exactly. */
static int parse_i64(const char *s, size_t n, int64_t *v)
{
	char tmp[24];
	char *end = NULL;
	long long x;

	if (n == 0 || n >= sizeof(tmp))
		return -EINVAL;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (!(tmp[0] == '-' || (tmp[0] >= '0' && tmp[0] <= '9')))
		return -EINVAL;
	errno = 0;
	x = strtoll(tmp, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*v = x;
	return 0;
}

/* Split off the next space-separated token; returns its length. */
static size_t token(const char **p, const char *end, const char **tok)
{
	const char *s = *p;

	while (s < end && *s == ' ')
		s++;
	*tok = s;
	while (s < end && *s != ' ')
		s++;
	*p = s;
	return (size_t)(s - *tok);
}

/* Reject bytes no line of ours may contain: NUL and other controls. */
static int check_bytes(const char *line, size_t len, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];

		if (c == '\0' || (c < 0x20 && c != '\t') || c == 0x7f) {
			snprintf(err, errlen, "control byte 0x%02x at offset %zu", c, i);
			return -EINVAL;
		}
	}
	return 0;
}

static int match(const char *tok, size_t n, const char *word)
{
	return n == strlen(word) && memcmp(tok, word, n) == 0;
}

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
	if (check_bytes(line, len, err, errlen))
		return -EINVAL;
	n = token(&p, end, &tok);
	if (match(tok, n, "start"))
		ev->kind = CHAOS_EVL_START;
	else if (match(tok, n, "end"))
		ev->kind = CHAOS_EVL_END;
	else if (match(tok, n, "fail"))
		ev->kind = CHAOS_EVL_FAIL;
	else {
		snprintf(err, errlen, "unknown event '%.*s' (expected start, end, fail)",
			 (int)(n > 32 ? 32 : n), tok);
		return -EINVAL;
	}
	n = token(&p, end, &tok);
	if (parse_u32(tok, n, &ev->task)) {
		snprintf(err, errlen, "bad task id '%.*s'", (int)(n > 32 ? 32 : n), tok);
		return -EINVAL;
	}
	switch (ev->kind) {
	case CHAOS_EVL_START:
		n = token(&p, end, &tok);
		if (n) {
			snprintf(err, errlen, "trailing text after start");
			return -EINVAL;
		}
		break;
	case CHAOS_EVL_END:
		n = token(&p, end, &tok);
		if (parse_i64(tok, n, &ev->result)) {
			snprintf(err, errlen, "bad result '%.*s'", (int)(n > 32 ? 32 : n), tok);
			return -EINVAL;
		}
		n = token(&p, end, &tok);
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

/* A comma-separated list of task ids; empty means no task was killed. */
static int parse_idlist(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t j = i;
		uint32_t v;

		while (j < n && s[j] != ',')
			j++;
		if (parse_u32(s + i, j - i, &v))
			return -EINVAL;
		i = j + 1;
		if (j < n && i == n)
			return -EINVAL; /* a trailing comma */
	}
	return 0;
}

int chaos_outcome_parse(const char *line, size_t len, struct chaos_outcome *o, char *err,
			size_t errlen)
{
	const char *p = line, *end = line + len, *tok;
	size_t n;
	int64_t v;

	memset(o, 0, sizeof(*o));
	if (check_bytes(line, len, err, errlen))
		return -EINVAL;
	n = token(&p, end, &tok);
	if (match(tok, n, "done")) {
		o->kind = CHAOS_OUT_DONE;
		if (token(&p, end, &tok)) {
			snprintf(err, errlen, "trailing text after done");
			return -EINVAL;
		}
		return 0;
	}
	if (match(tok, n, "aborted") || match(tok, n, "unsupported")) {
		o->kind = match(tok, n, "aborted") ? CHAOS_OUT_ABORTED : CHAOS_OUT_UNSUPPORTED;
		return 0;
	}
	if (match(tok, n, "killed-tasks")) {
		o->kind = CHAOS_OUT_KILLED_TASKS;
		n = token(&p, end, &tok);
		if (parse_idlist(tok, n) || token(&p, end, &tok)) {
			snprintf(err, errlen, "killed-tasks expects a comma-separated id list");
			return -EINVAL;
		}
		return 0;
	}
	if (match(tok, n, "result"))
		o->kind = CHAOS_OUT_RESULT;
	else if (match(tok, n, "lost"))
		o->kind = CHAOS_OUT_LOST;
	else if (match(tok, n, "error"))
		o->kind = CHAOS_OUT_ERROR;
	else {
		snprintf(err, errlen,
			 "unknown outcome '%.*s' (expected result, lost, error, killed-tasks, "
			 "aborted, unsupported, done)",
			 (int)(n > 32 ? 32 : n), tok);
		return -EINVAL;
	}
	n = token(&p, end, &tok);
	if (parse_u32(tok, n, &o->task)) {
		snprintf(err, errlen, "bad task id '%.*s'", (int)(n > 32 ? 32 : n), tok);
		return -EINVAL;
	}
	n = token(&p, end, &tok);
	if (o->kind == CHAOS_OUT_RESULT) {
		if (parse_i64(tok, n, &v) || token(&p, end, &tok)) {
			snprintf(err, errlen, "result expects one integer value");
			return -EINVAL;
		}
	} else if (o->kind == CHAOS_OUT_LOST && n) {
		snprintf(err, errlen, "trailing text after lost");
		return -EINVAL;
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
