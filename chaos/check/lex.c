/* The lexical pieces every line protocol of the controller shares: tokens
 * split on blanks, exact decimal numbers, and the bytes no line may hold. */
#include "check/lex.h"

#include "check/value.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Decimal tokens use the value grammar's digit loop (check/value.c). */
int chaos__lex_u32(const char *s, size_t n, uint32_t *v)
{
	uint64_t x;

	if (chaos_value_u64n(s, n, &x) || x > UINT32_MAX)
		return -EINVAL;
	*v = (uint32_t)x;
	return 0;
}

int chaos__lex_i64(const char *s, size_t n, int64_t *v)
{
	return chaos_value_i64n(s, n, v) ? -EINVAL : 0;
}

/* Split off the next space-separated token; returns its length. */
size_t chaos__lex_token(const char **p, const char *end, const char **tok)
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
int chaos__lex_check_bytes(const char *line, size_t len, char *err, size_t errlen)
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

int chaos__lex_match(const char *tok, size_t n, const char *word)
{
	return n == strlen(word) && memcmp(tok, word, n) == 0;
}
