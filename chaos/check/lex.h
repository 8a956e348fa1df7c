/* Tokens of the line protocols (kit event lines, outcome lines). Internal
 * to the controller (double prefix). Pure functions. */
#ifndef CHAOS_LEX_H
#define CHAOS_LEX_H

#include <stddef.h>
#include <stdint.h>

/* A decimal uint32 that fills the n bytes at s exactly. 0 or -EINVAL. */
int chaos__lex_u32(const char *s, size_t n, uint32_t *v);

/* A signed 64-bit decimal integer that fills the n bytes exactly. 0 or -EINVAL. */
int chaos__lex_i64(const char *s, size_t n, int64_t *v);

/* Skip blanks from *p, set *tok to the next blank-separated token before
 * end and advance *p past it. Returns the token's length (0 at the end). */
size_t chaos__lex_token(const char **p, const char *end, const char **tok);

/* -EINVAL (with the offset in err) when line holds NUL or another control
 * byte other than tab; 0 otherwise. */
int chaos__lex_check_bytes(const char *line, size_t len, char *err, size_t errlen);

/* Is the n-byte token exactly word? 1 or 0. */
int chaos__lex_match(const char *tok, size_t n, const char *word);

#endif
