/* The adapter contract's outcome lines: the one grammar both the
 * controller and the checker read them with. Pure functions. */
#include "check/outcome.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check/lex.h"

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
		if (chaos__lex_u32(s + i, j - i, &o->killed[o->nkilled])) {
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
	if (chaos__lex_check_bytes(line, len, err, errlen))
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
	if (chaos__lex_match(kw, n, "done")) {
		o->kind = CHAOS_OUT_DONE;
		if (p < end) {
			snprintf(err, errlen, p + 1 == end ? "trailing blank after 'done'"
							   : "trailing text after done");
			return -EINVAL;
		}
		return 0;
	}
	if (chaos__lex_match(kw, n, "aborted") || chaos__lex_match(kw, n, "unsupported")) {
		o->kind = chaos__lex_match(kw, n, "aborted") ? CHAOS_OUT_ABORTED : CHAOS_OUT_UNSUPPORTED;
		return rest_text(p, end, o->kind == CHAOS_OUT_ABORTED ? "'aborted'" : "'unsupported'",
				 o, err, errlen);
	}
	if (chaos__lex_match(kw, n, "killed-tasks")) {
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
	if (chaos__lex_match(kw, n, "result"))
		o->kind = CHAOS_OUT_RESULT;
	else if (chaos__lex_match(kw, n, "lost"))
		o->kind = CHAOS_OUT_LOST;
	else if (chaos__lex_match(kw, n, "error"))
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
	if (chaos__lex_u32(tok, n, &o->task)) {
		snprintf(err, errlen, "bad task id '%.*s'", (int)(n > 32 ? 32 : n), tok ? tok : "");
		return -EINVAL;
	}
	switch (o->kind) {
	case CHAOS_OUT_RESULT:
		if (next_field(&p, end, "the task id", &tok, &n, err, errlen))
			return -EINVAL;
		if (chaos__lex_i64(tok, n, &o->value) || p < end) {
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
