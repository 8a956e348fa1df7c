/* The lexical pieces every line protocol of the controller shares: tokens
 * split on blanks, exact decimal numbers, and the bytes no line may hold. */
#include "check/lex.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parse a decimal task id that fills the token exactly. */
int chaos__lex_u32(const char *s, size_t n, uint32_t *v)
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
int chaos__lex_i64(const char *s, size_t n, int64_t *v)
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
