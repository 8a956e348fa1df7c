/* Fuzz the controller's validation of the target's stdout, the outcome-line
 * parser chaos_outcome_parse() in chaos/events.c (the adapter contract in
 * DESIGN.md: result, lost, error, killed-tasks, aborted, unsupported, done).
 *
 * The input is one line without its newline (it may hold any byte, NUL
 * included: chaos/run.c passes what the target wrote). Properties:
 * - the answer is 0 or -EINVAL, with a reason whenever it is -EINVAL;
 * - an accepted line holds no control byte other than tab, and its task id
 *   (result, lost, error) formats back to a line that parses to the same id.
 */
#include "fuzz.h"

#include <inttypes.h>

#include "check/outcome.h"

FUZZ_TARGET(outcome)
{
	const char *line = (const char *)data;
	struct chaos_outcome o, again;
	char err[256], canon[64];
	size_t i;
	int r, n;

	err[0] = '\0';
	r = chaos_outcome_parse(line, size, &o, err, sizeof(err));
	FUZZ_CHECK(r == 0 || r == -EINVAL);
	if (r) {
		FUZZ_CHECK(err[0] != '\0');
		return 0;
	}
	for (i = 0; i < size; i++) {
		unsigned char c = (unsigned char)line[i];

		FUZZ_CHECK((c >= 0x20 && c != 0x7f) || c == '\t');
	}
	switch (o.kind) {
	case CHAOS_OUT_RESULT:
		n = snprintf(canon, sizeof(canon), "result %" PRIu32 " 0", o.task);
		break;
	case CHAOS_OUT_LOST:
		n = snprintf(canon, sizeof(canon), "lost %" PRIu32, o.task);
		break;
	case CHAOS_OUT_ERROR:
		n = snprintf(canon, sizeof(canon), "error %" PRIu32 " x", o.task);
		break;
	case CHAOS_OUT_KILLED_TASKS:
	case CHAOS_OUT_ABORTED:
	case CHAOS_OUT_UNSUPPORTED:
	case CHAOS_OUT_DONE:
		return 0;
	default:
		FUZZ_CHECK(!"unknown outcome kind");
		return 0;
	}
	r = chaos_outcome_parse(canon, (size_t)n, &again, err, sizeof(err));
	FUZZ_CHECK(r == 0 && again.kind == o.kind && again.task == o.task);
	return 0;
}
