/* Differential fuzzing of the two readers of an outcome line: the
 * controller validates each stdout line with chaos_outcome_parse()
 * (chaos/events.c) and records it in the history as an `outcome` event; the
 * checker (chaos/check/checker.c) reads that event again with its own parser.
 * A line the controller accepted must not be a protocol error to the
 * checker, or a correct adapter fails its run.
 *
 * The input is one line, recorded exactly as chaos/run.c records it (text
 * that is not UTF-8 has its high bytes replaced by '?'), followed by the
 * controller's protocol_error event when it refused the line.
 */
#include "fuzz.h"

#include <jansson.h>

#include "check/outcome.h"
#include "engine/history.h"
#include "check/checker.h"

static struct fuzz_file fuzz_oc_hist = FUZZ_FILE_INIT;

FUZZ_TARGET(outcome_checker)
{
	static struct chaos_scenario sc;
	static int sc_ready;
	const char *line = (const char *)data;
	struct chaos_outcome o;
	struct chaos_verdict v;
	char err[256], *a = NULL, *b = NULL, *hist = NULL;
	json_t *ev;
	size_t len;
	int r;

	/* Sixteen tasks: ids above that are "invented" results, which the
	 * checker reports as such, not as protocol errors. */
	if (!sc_ready) {
		if (chaos_scenario_init(&sc, 16))
			return 0;
		sc_ready = 1;
	}
	r = chaos_outcome_parse(line, size, &o, err, sizeof(err));
	ev = json_pack("{s:f,s:s,s:o,s:i}", "t", 0.5, "ev", "outcome", "line",
		       chaos_hist_text(line, size), "lineno", 1);
	a = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
	json_decref(ev);
	if (r) {
		ev = json_pack("{s:f,s:s,s:i,s:o,s:s}", "t", 0.5, "ev", "protocol_error", "lineno",
			       1, "line", chaos_hist_text(line, size), "text", err);
		b = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
		json_decref(ev);
	}
	if (!a || (r && !b))
		goto out;
	len = strlen(a) + (b ? strlen(b) : 0) + 3;
	hist = malloc(len);
	if (!hist)
		goto out;
	snprintf(hist, len, "%s\n%s%s", a, b ? b : "", b ? "\n" : "");
	if (fuzz_file_put(&fuzz_oc_hist, "fuzz-history", hist, strlen(hist)))
		goto out;
	memset(&v, 0, sizeof(v));
	FUZZ_CHECK(chaos_check_history(&sc, fuzz_oc_hist.path, &v) == 0);
	FUZZ_CHECK(memchr(v.note, '\0', sizeof(v.note)) != NULL);
	/* The note quotes the text of `unsupported` and of protocol errors, so
	 * a line that itself says "protocol error" cannot be judged by it. */
	if (memmem(line, size, "protocol error", 14))
		goto out;
	if (r == 0) {
		if (strstr(v.note, "protocol error"))
			fprintf(stderr, "controller accepted '%.*s', checker: %s\n", (int)size,
				line, v.note);
		FUZZ_CHECK(strstr(v.note, "protocol error") == NULL);
	} else {
		FUZZ_CHECK(strstr(v.note, "protocol error") != NULL);
	}
out:
	free(hist);
	free(a);
	free(b);
	return 0;
}
