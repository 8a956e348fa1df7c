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

/* The next field of an outcome line. *p is the end of the previous field:
 * the end of the line (no field: returns 0 with *tok == NULL) or the blank
 * before the next field, which must be the only blank there and must be
 * followed by something. Returns -EINVAL with the reason in err. */
static int next_field(const char **p, const char *end, const char *after, const char **tok,
		      size_t *n, char *err, size_t errlen)
{
	const char *s = *p;

	*tok = NULL;
	*n = 0;
	if (s == end)
		return 0;
	/* Fields end at a blank or at the end of the line, so s is a blank. */
	s++;
	if (s == end) {
		snprintf(err, errlen, "trailing blank after %s", after);
		return -EINVAL;
	}
	if (*s == ' ') {
		snprintf(err, errlen, "more than one blank after %s", after);
		return -EINVAL;
	}
	*tok = s;
	while (s < end && *s != ' ')
		s++;
	*n = (size_t)(s - *tok);
	*p = s;
	return 0;
}

/* The free text that ends error, aborted and unsupported lines: the rest of
 * the line after one blank. Blanks inside it are kept; a blank at its end is
 * refused like any trailing blank, so that no two lines differing only in
 * blanks mean different things. */
static int rest_text(const char *p, const char *end, const char *after, struct chaos_outcome *o,
		     char *err, size_t errlen)
{
	if (p == end)
		return 0;
	if (p + 1 == end) {
		snprintf(err, errlen, "trailing blank after %s", after);
		return -EINVAL;
	}
	if (end[-1] == ' ') {
		snprintf(err, errlen, "trailing blank after the text");
		return -EINVAL;
	}
	if (p[1] == ' ') {
		snprintf(err, errlen, "more than one blank after %s", after);
		return -EINVAL;
	}
	o->text = p + 1;
	o->text_len = (size_t)(end - p - 1);
	return 0;
}

/* A comma-separated list of task ids (one comma between ids, none at either
 * end); an empty list means the pool knows of no killed task. */
static int parse_idlist(const char *s, size_t n, struct chaos_outcome *o, char *err,
			size_t errlen)
{
	size_t i = 0;

	while (i < n) {
		size_t j = i;

		while (j < n && s[j] != ',')
			j++;
		if (j == i || (j < n && j + 1 == n)) {
			snprintf(err, errlen, "killed-tasks: empty id in the list (ids are separated "
					      "by single commas)");
			return -EINVAL;
		}
		/* The line bound makes this unreachable; the array bound is
		 * checked anyway rather than assumed. */
		if (o->nkilled >= CHAOS_KILLED_MAX) {
			snprintf(err, errlen, "killed-tasks: more than %d ids", CHAOS_KILLED_MAX);
			return -EINVAL;
		}
		if (parse_u32(s + i, j - i, &o->killed[o->nkilled])) {
			snprintf(err, errlen, "killed-tasks: bad task id '%.*s'",
				 (int)(j - i > 32 ? 32 : j - i), s + i);
			return -EINVAL;
		}
		o->nkilled++;
		i = j + 1;
	}
	return 0;
}

int chaos_outcome_parse(const char *line, size_t len, struct chaos_outcome *o, char *err,
			size_t errlen)
{
	const char *p = line, *end = line + len, *tok, *kw;
	size_t n;

	/* The id array is large and rewritten by parse_idlist: clear only the
	 * scalar fields. */
	o->kind = CHAOS_OUT_DONE;
	o->task = 0;
	o->value = 0;
	o->text = NULL;
	o->text_len = 0;
	o->nkilled = 0;
	if (len > CHAOS_OUTLINE_MAX) {
		snprintf(err, errlen, "line of %zu bytes exceeds %d", len, CHAOS_OUTLINE_MAX);
		return -EINVAL;
	}
	if (check_bytes(line, len, err, errlen))
		return -EINVAL;
	if (len == 0) {
		snprintf(err, errlen, "empty line (expected result, lost, error, killed-tasks, "
				      "aborted, unsupported, done)");
		return -EINVAL;
	}
	if (line[0] == ' ') {
		snprintf(err, errlen, "leading blank");
		return -EINVAL;
	}
	kw = line;
	while (p < end && *p != ' ')
		p++;
	n = (size_t)(p - kw);
	if (match(kw, n, "done")) {
		o->kind = CHAOS_OUT_DONE;
		if (p < end) {
			snprintf(err, errlen, p + 1 == end ? "trailing blank after 'done'"
							   : "trailing text after done");
			return -EINVAL;
		}
		return 0;
	}
	if (match(kw, n, "aborted") || match(kw, n, "unsupported")) {
		o->kind = match(kw, n, "aborted") ? CHAOS_OUT_ABORTED : CHAOS_OUT_UNSUPPORTED;
		return rest_text(p, end, o->kind == CHAOS_OUT_ABORTED ? "'aborted'" : "'unsupported'",
				 o, err, errlen);
	}
	if (match(kw, n, "killed-tasks")) {
		o->kind = CHAOS_OUT_KILLED_TASKS;
		/* "killed-tasks " (keyword, one blank, nothing) is the
		 * documented form of the empty list; bare "killed-tasks" is
		 * read the same way. */
		if (p == end || p + 1 == end)
			return 0;
		if (next_field(&p, end, "'killed-tasks'", &tok, &n, err, errlen))
			return -EINVAL;
		if (parse_idlist(tok, n, o, err, errlen))
			return -EINVAL;
		if (p < end) {
			snprintf(err, errlen,
				 p + 1 == end ? "trailing blank after the killed-tasks list"
					      : "killed-tasks expects one comma-separated id list, "
						"without blanks");
			return -EINVAL;
		}
		return 0;
	}
	if (match(kw, n, "result"))
		o->kind = CHAOS_OUT_RESULT;
	else if (match(kw, n, "lost"))
		o->kind = CHAOS_OUT_LOST;
	else if (match(kw, n, "error"))
		o->kind = CHAOS_OUT_ERROR;
	else {
		snprintf(err, errlen,
			 "unknown outcome '%.*s' (expected result, lost, error, killed-tasks, "
			 "aborted, unsupported, done)",
			 (int)(n > 32 ? 32 : n), kw);
		return -EINVAL;
	}
	if (next_field(&p, end, o->kind == CHAOS_OUT_RESULT ? "'result'"
			       : o->kind == CHAOS_OUT_LOST  ? "'lost'"
							    : "'error'",
		       &tok, &n, err, errlen))
		return -EINVAL;
	if (parse_u32(tok, n, &o->task)) {
		snprintf(err, errlen, "bad task id '%.*s'", (int)(n > 32 ? 32 : n), tok ? tok : "");
		return -EINVAL;
	}
	switch (o->kind) {
	case CHAOS_OUT_RESULT:
		if (next_field(&p, end, "the task id", &tok, &n, err, errlen))
			return -EINVAL;
		if (parse_i64(tok, n, &o->value) || p < end) {
			if (p + 1 == end)
				snprintf(err, errlen, "trailing blank after the result value");
			else
				snprintf(err, errlen, "result expects one integer value");
			return -EINVAL;
		}
		return 0;
	case CHAOS_OUT_LOST:
		if (p < end) {
			snprintf(err, errlen, p + 1 == end ? "trailing blank after the task id"
							   : "trailing text after lost");
			return -EINVAL;
		}
		return 0;
	default:
		return rest_text(p, end, "the task id", o, err, errlen);
	}
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
