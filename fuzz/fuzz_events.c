/* Fuzz the controller's reader of the event socket: the bounded line
 * assembler (chaos_linebuf_feed/tail) and the kit line parser
 * (chaos_evline_parse) in chaos/events.c, wired as chaos/run.c wires them.
 *
 * The first input byte chooses how the rest is cut into reads (a peer can
 * split its writes anywhere); the rest is what the kit side sent. Properties:
 * - the assembler yields exactly the lines a plain split on '\n' yields,
 *   reports each line longer than the cap once, and never more;
 * - an accepted kit line contains no control byte and formats back to a line
 *   that parses to the same event (start, end), or carries text without
 *   control bytes (fail).
 */
#include "fuzz.h"

#include <inttypes.h>

#include "engine/events.h"

/* One line or one overflow that the assembler should report, in order. */
struct fuzz_ev_expect {
	const char *line; /* NULL for an overflow */
	size_t len;
};

static void fuzz_ev_check_line(const char *line, size_t len)
{
	struct chaos_evline ev, again;
	char err[256], canon[64];
	size_t i;
	int r, n;

	err[0] = '\0';
	r = chaos_evline_parse(line, len, &ev, err, sizeof(err));
	FUZZ_CHECK(r == 0 || r == -EINVAL);
	if (r) {
		FUZZ_CHECK(err[0] != '\0');
		return;
	}
	FUZZ_CHECK(len <= CHAOS_EVLINE_MAX);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];

		FUZZ_CHECK(c >= 0x20 || c == '\t');
		FUZZ_CHECK(c != 0x7f);
	}
	switch (ev.kind) {
	case CHAOS_EVL_START:
		n = snprintf(canon, sizeof(canon), "start %" PRIu32, ev.task);
		break;
	case CHAOS_EVL_END:
		n = snprintf(canon, sizeof(canon), "end %" PRIu32 " %" PRId64, ev.task, ev.result);
		break;
	case CHAOS_EVL_FAIL:
		FUZZ_CHECK(strlen(ev.text) <= len);
		for (i = 0; ev.text[i]; i++)
			FUZZ_CHECK((unsigned char)ev.text[i] >= 0x20 || ev.text[i] == '\t');
		return;
	default:
		FUZZ_CHECK(!"unknown event kind");
		return;
	}
	FUZZ_CHECK(n > 0 && (size_t)n < sizeof(canon));
	r = chaos_evline_parse(canon, (size_t)n, &again, err, sizeof(err));
	FUZZ_CHECK(r == 0);
	FUZZ_CHECK(again.kind == ev.kind && again.task == ev.task && again.result == ev.result);
}

FUZZ_TARGET(events)
{
	static struct chaos_linebuf lb;
	struct fuzz_ev_expect *want;
	const char *in, *line;
	size_t n, i, start, nwant = 0, k = 0, off = 0, round = 0, len, used;
	unsigned step;
	int got;

	if (size < 1)
		return 0;
	step = data[0];
	in = (const char *)data + 1;
	n = size - 1;

	/* The model: split on '\n'; a final piece without one is the tail. */
	want = calloc(n + 1, sizeof(*want));
	if (!want)
		return 0;
	for (start = 0, i = 0; i <= n; i++) {
		if (i < n && in[i] != '\n')
			continue;
		if (i == n && i == start)
			break;
		if (i - start > CHAOS_EVLINE_MAX)
			want[nwant].line = NULL;
		else
			want[nwant].line = in + start;
		want[nwant].len = i - start;
		nwant++;
		start = i + 1;
	}

	chaos_linebuf_init(&lb, CHAOS_EVLINE_MAX);
	while (off < n) {
		/* Read sizes cycle through 1 .. 300 bytes, chosen by the first
		 * byte, so reads both split lines and carry several of them. */
		size_t chunk = 1 + (size_t)((step * 37u + round * (step | 1u)) % 300u);

		round++;
		if (chunk > n - off)
			chunk = n - off;
		/* chaos/run.c feeds what one read returned until it is used up. */
		while (chunk > 0) {
			got = chaos_linebuf_feed(&lb, in + off, chunk, &used, &line, &len);
			FUZZ_CHECK(used >= 1 && used <= chunk);
			if (used < 1 || used > chunk)
				goto out;
			off += used;
			chunk -= used;
			if (got == 0)
				continue;
			FUZZ_CHECK(got == 1 || got == -EMSGSIZE);
			FUZZ_CHECK(k < nwant);
			if (k >= nwant)
				goto out;
			if (got == -EMSGSIZE) {
				FUZZ_CHECK(want[k].line == NULL);
			} else {
				FUZZ_CHECK(want[k].line != NULL && len == want[k].len &&
					   memcmp(line, want[k].line, len) == 0);
				FUZZ_CHECK(line[len] == '\0');
				fuzz_ev_check_line(line, len);
			}
			k++;
		}
	}
	if (chaos_linebuf_tail(&lb, &line, &len)) {
		FUZZ_CHECK(k < nwant && want[k].line != NULL && len == want[k].len &&
			   memcmp(line, want[k].line, len) == 0);
		fuzz_ev_check_line(line, len);
		k++;
	}
	FUZZ_CHECK(k == nwant);
out:
	free(want);
	return 0;
}
