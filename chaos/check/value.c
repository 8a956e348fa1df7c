/* The value grammar of scenario files, command-line options and line
 * protocols (see value.h): one digit loop, one suffix table per kind, and
 * one way of saying what was wrong. */
#include "check/value.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Write msg when the caller gave room for one; returns r for tail calls. */
static int say(int r, char *msg, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int say(int r, char *msg, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (msg && len) {
		va_start(ap, fmt);
		vsnprintf(msg, len, fmt, ap);
		va_end(ap);
	}
	return r;
}

/* The leading decimal digits of the n bytes at s. *used counts them; *ovf
 * is set when their value does not fit in 64 bits (the digits are still
 * all consumed, so that "99999999999999999999x" is junk, not too large).
 * -EINVAL when s does not start with a digit. */
static int digits(const char *s, size_t n, uint64_t *v, size_t *used, int *ovf)
{
	uint64_t x = 0;
	size_t i;

	*ovf = 0;
	for (i = 0; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (x > (UINT64_MAX - d) / 10)
			*ovf = 1;
		else
			x = x * 10 + d;
	}
	if (i == 0)
		return -EINVAL;
	*v = x;
	*used = i;
	return 0;
}

int chaos_value_u64n(const char *s, size_t n, uint64_t *v)
{
	size_t used;
	int ovf;

	if (digits(s, n, v, &used, &ovf) || used != n)
		return -EINVAL;
	return ovf ? -ERANGE : 0;
}

int chaos_value_i64n(const char *s, size_t n, int64_t *v)
{
	int neg = n > 0 && s[0] == '-';
	uint64_t u;
	int r = chaos_value_u64n(s + neg, n - (size_t)neg, &u);

	if (r)
		return r;
	if (u > (uint64_t)INT64_MAX + (uint64_t)neg)
		return -ERANGE;
	if (neg)
		*v = u == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)u;
	else
		*v = (int64_t)u;
	return 0;
}

void chaos_value_format_time(uint64_t ms, char *buf, size_t len)
{
	if (ms == 0)
		snprintf(buf, len, "0");
	else if (ms % 1000 == 0)
		snprintf(buf, len, "%llus", (unsigned long long)(ms / 1000));
	else
		snprintf(buf, len, "%llums", (unsigned long long)ms);
}

void chaos_value_format_size(uint64_t bytes, char *buf, size_t len)
{
	static const char units[] = "GMK";
	int shift, i;

	for (i = 0, shift = 30; i < 3; i++, shift -= 10) {
		if (bytes && bytes % (1ull << shift) == 0) {
			snprintf(buf, len, "%llu%c", (unsigned long long)(bytes >> shift),
				 units[i]);
			return;
		}
	}
	snprintf(buf, len, "%llu", (unsigned long long)bytes);
}

typedef void (*bound_fmt)(uint64_t v, char *buf, size_t len);

static void format_number(uint64_t v, char *buf, size_t len)
{
	snprintf(buf, len, "%llu", (unsigned long long)v);
}

/* The message for text s whose value (or overflow) lies outside [lo, hi];
 * max is the largest value of the kind, so that a range open upwards reads
 * "too small (expected at least lo)". Always -ERANGE. */
static int out_of_range(const char *s, int too_small, uint64_t lo, uint64_t hi, uint64_t max,
			bound_fmt fmt, char *msg, size_t len)
{
	char a[32], b[32];

	fmt(lo, a, sizeof(a));
	fmt(hi, b, sizeof(b));
	if (hi == max && too_small)
		return say(-ERANGE, msg, len, "%s is too small (expected at least %s)", s, a);
	if (hi == max)
		return say(-ERANGE, msg, len, "%s is too large (expected at most %s)", s, b);
	return say(-ERANGE, msg, len, "%s is out of range (%s to %s)", s, a, b);
}

int chaos_value_number(const char *s, uint64_t lo, uint64_t hi, uint64_t *v, char *msg, size_t len)
{
	uint64_t x = 0;
	int r = chaos_value_u64n(s, strlen(s), &x);

	if (r == -EINVAL)
		return say(r, msg, len, "bad number '%s' (expected a whole number)", s);
	if (r || x < lo || x > hi)
		return out_of_range(s, !r && x < lo, lo, hi, UINT64_MAX, format_number, msg, len);
	*v = x;
	return 0;
}

int chaos_value_signed(const char *s, int64_t *v, char *msg, size_t len)
{
	int r = chaos_value_i64n(s, strlen(s), v);

	if (r == -EINVAL)
		return say(r, msg, len, "bad number '%s' (expected a signed 64-bit integer)", s);
	if (r)
		return say(r, msg, len, "%s is out of range (%lld to %lld)", s,
			   (long long)INT64_MIN, (long long)INT64_MAX);
	return 0;
}

/* The multiplier of a size suffix ("", "K", "mb", "GiB"), or 0. */
static uint64_t size_unit(const char *u)
{
	uint64_t mul;

	switch (*u) {
	case '\0':
		return 1;
	case 'k':
	case 'K':
		mul = 1ull << 10;
		break;
	case 'm':
	case 'M':
		mul = 1ull << 20;
		break;
	case 'g':
	case 'G':
		mul = 1ull << 30;
		break;
	default:
		return 0;
	}
	u++;
	/* The common spellings 64M, 64MB and 64MiB all mean 64 << 20. */
	if (!strcmp(u, "") || !strcmp(u, "B") || !strcmp(u, "b") || !strcmp(u, "iB"))
		return mul;
	return 0;
}

int chaos_value_size(const char *s, uint64_t lo, uint64_t hi, uint64_t *bytes, char *msg,
		     size_t len)
{
	uint64_t v = 0, mul;
	size_t used = 0;
	int ovf = 0;

	if (digits(s, strlen(s), &v, &used, &ovf) || (mul = size_unit(s + used)) == 0)
		return say(-EINVAL, msg, len,
			   "bad size '%s' (expected bytes or a number with K, M or G, e.g. 64M)",
			   s);
	if (ovf || v > UINT64_MAX / mul || v * mul < lo || v * mul > hi)
		return out_of_range(s, !ovf && v <= UINT64_MAX / mul && v * mul < lo, lo, hi,
				    UINT64_MAX, chaos_value_format_size, msg, len);
	*bytes = v * mul;
	return 0;
}

int chaos_value_time(const char *s, uint32_t lo, uint32_t hi, uint32_t *ms, char *msg, size_t len)
{
	uint64_t v = 0, mul;
	size_t used = 0;
	int ovf = 0;
	const char *u;

	if (digits(s, strlen(s), &v, &used, &ovf))
		goto bad;
	u = s + used;
	if (!strcmp(u, "ms"))
		mul = 1;
	else if (!strcmp(u, "s"))
		mul = 1000;
	else if (!strcmp(u, "m"))
		mul = 60000;
	else if (!*u && v == 0 && !ovf)
		mul = 1;
	else
		goto bad;
	if (ovf || v > UINT32_MAX / mul || v * mul < lo || v * mul > hi)
		return out_of_range(s, !ovf && v <= UINT32_MAX / mul && v * mul < lo, lo, hi,
				    UINT32_MAX, chaos_value_format_time, msg, len);
	*ms = (uint32_t)(v * mul);
	return 0;
bad:
	return say(-EINVAL, msg, len,
		   "bad time '%s' (expected a number with a unit, ms, s or m, e.g. 50ms or 2s)", s);
}

int chaos_value_bool(const char *s, int *b, char *msg, size_t len)
{
	static const char *const words[] = {"no", "yes", "false", "true", "off", "on", "0", "1"};
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (!strcmp(s, words[i])) {
			*b = (int)(i % 2);
			return 0;
		}
	}
	return say(-EINVAL, msg, len, "bad value '%s' (expected yes or no)", s);
}

static const struct {
	int signo;
	const char *name;
} signames[] = {
    {SIGKILL, "SIGKILL"}, {SIGTERM, "SIGTERM"}, {SIGSTOP, "SIGSTOP"}, {SIGCONT, "SIGCONT"},
    {SIGSEGV, "SIGSEGV"}, {SIGINT, "SIGINT"},	{SIGHUP, "SIGHUP"},   {SIGQUIT, "SIGQUIT"},
    {SIGABRT, "SIGABRT"}, {SIGBUS, "SIGBUS"},	{SIGFPE, "SIGFPE"},   {SIGILL, "SIGILL"},
    {SIGPIPE, "SIGPIPE"}, {SIGUSR1, "SIGUSR1"}, {SIGUSR2, "SIGUSR2"}, {SIGALRM, "SIGALRM"},
    {SIGTRAP, "SIGTRAP"}, {SIGXCPU, "SIGXCPU"}, {SIGSYS, "SIGSYS"},   {SIGTSTP, "SIGTSTP"},
};
#define N_SIGNAMES (sizeof(signames) / sizeof(signames[0]))

const char *chaos_signal_name(int signo)
{
	static char buf[16];
	size_t i;

	for (i = 0; i < N_SIGNAMES; i++)
		if (signames[i].signo == signo)
			return signames[i].name;
	snprintf(buf, sizeof(buf), "SIG%d", signo);
	return buf;
}

int chaos_value_signal(const char *s, int *signo, char *msg, size_t len)
{
	const char *name = strncasecmp(s, "SIG", 3) ? s : s + 3;
	uint64_t v;
	size_t i;

	/* 64 is SIGRTMAX on Linux; 0 would only probe, never deliver. */
	if (chaos_value_u64n(s, strlen(s), &v) == 0 && v >= 1 && v <= 64) {
		*signo = (int)v;
		return 0;
	}
	for (i = 0; *name && i < N_SIGNAMES; i++) {
		if (!strcasecmp(name, signames[i].name + 3)) {
			*signo = signames[i].signo;
			return 0;
		}
	}
	return say(-EINVAL, msg, len,
		   "unknown signal '%s' (expected a signal name or number, like KILL or SIGSTOP)",
		   s);
}

int chaos_value_word(const char *s, const char *const *words, size_t n, const char *what, int *idx,
		     char *msg, size_t len)
{
	char list[128] = "";
	size_t i, used = 0;

	for (i = 0; i < n; i++) {
		if (!strcmp(s, words[i])) {
			*idx = (int)i;
			return 0;
		}
	}
	for (i = 0; i < n && used < sizeof(list); i++)
		used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s",
					 i == 0	      ? ""
					 : i + 1 == n ? " or "
						      : ", ",
					 words[i]);
	return say(-EINVAL, msg, len, "unknown %s '%s' (expected %s)", what, s, list);
}
