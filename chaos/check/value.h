/* The one grammar for values, shared by scenario files (chaos/check/scenario.c),
 * `chaos run` options (chaos/cli/cliopts.c), `chaos matrix` options and the
 * line protocols (chaos/check/lex.c), so that a value means the same and is
 * refused with the same words wherever a user writes it.
 *
 * Every parser returns 0, -EINVAL (the text is not a value of the kind) or
 * -ERANGE (it is one, outside the allowed range), and on error writes a
 * sentence into msg without any prefix: the file parser puts "file:line:
 * key: " before it, the CLI "--option: ". Pure functions.
 *
 *   numbers  decimal digits only: no sign, blank, hex or unit ("10", "0")
 *   signed   an optional '-' and decimal digits, 64 bits
 *   sizes    a number of bytes, or one with K, M or G (binary multiples;
 *            any case, optionally followed by B or iB: 64M, 64MB, 64MiB)
 *   times    a number with ms, s or m; "0" alone is the only time without
 *            a unit, so that "deadline = 20" cannot silently mean 20 ms
 *   booleans yes/no, true/false, on/off, 1/0
 *   signals  a name with or without SIG (any case) or a number 1 to 64
 *   words    one of a fixed list (policies, actions, modes)
 */
#ifndef CHAOS_VALUE_H
#define CHAOS_VALUE_H

#include <stddef.h>
#include <stdint.h>

/* Room for any message of this module. */
#define CHAOS_VALUE_MSG_MAX 160

/* An unsigned 64-bit number that fills the n bytes at s exactly, without
 * a message: the line protocols' tokens. 0, -EINVAL or -ERANGE. */
int chaos_value_u64n(const char *s, size_t n, uint64_t *v);

/* A signed 64-bit number that fills the n bytes at s exactly. */
int chaos_value_i64n(const char *s, size_t n, int64_t *v);

/* A number in [lo, hi]. The range message names the range ("200000 is out
 * of range (1 to 100000)", or "is too small (expected at least 4)" when hi
 * is UINT64_MAX). */
int chaos_value_number(const char *s, uint64_t lo, uint64_t hi, uint64_t *v, char *msg, size_t len);

/* A signed 64-bit number. */
int chaos_value_signed(const char *s, int64_t *v, char *msg, size_t len);

/* A size in bytes in [lo, hi]; the bounds are written as sizes (4M). */
int chaos_value_size(const char *s, uint64_t lo, uint64_t hi, uint64_t *bytes, char *msg,
		     size_t len);

/* A time in milliseconds in [lo, hi] (hi at most UINT32_MAX); the bounds
 * are written as times (1ms, 3600s). */
int chaos_value_time(const char *s, uint32_t lo, uint32_t hi, uint32_t *ms, char *msg, size_t len);

/* A boolean: 1 or 0 in *b. */
int chaos_value_bool(const char *s, int *b, char *msg, size_t len);

/* A signal: "KILL", "sigkill", "SIGKILL" or "9". */
int chaos_value_signal(const char *s, int *signo, char *msg, size_t len);

/* One of the n words; *idx gets its index. what names the kind in the
 * message: "unknown policy 'x' (expected skip, abort or retry)". */
int chaos_value_word(const char *s, const char *const *words, size_t n, const char *what, int *idx,
		     char *msg, size_t len);

/* "SIGKILL" for SIGKILL; "SIG<n>" for an unnamed number (static buffer). */
const char *chaos_signal_name(int signo);

/* A time or size as the parsers read it back: "3600s", "250ms", "4M". */
void chaos_value_format_time(uint64_t ms, char *buf, size_t len);
void chaos_value_format_size(uint64_t bytes, char *buf, size_t len);

#endif
