/* Expected verdicts per target (scenarios/expected/<target>): parsing,
 * comparison with a matrix run, and rewriting from observed cells.
 *
 * File format, one entry per line:
 *     <suite>/<scenario> <CELL>    [# comment]
 * CELL is PASS, HANG, SLOW, UNSUPPORTED, UNEXERCISED, ERROR, SKIP, FAIL or
 * FAIL(<check>); a plain FAIL matches any FAIL(...). An internal error of
 * the controller (also shown as ERROR) matches nothing. Lines starting with '#' and blank lines are
 * comments. Internal to the chaos core. */
#ifndef CHAOS_BASELINE_H
#define CHAOS_BASELINE_H

#include <stddef.h>
#include <stdio.h>

#include "matrix/report.h"

struct chaos_expected_entry {
	char key[160]; /* suite/scenario */
	char cell[64]; /* as written */
	int line;
};

struct chaos_expected {
	char path[4096];
	struct chaos_expected_entry *e;
	size_t n;
};

/* Load a baseline file. Returns 0, -ENOENT when the file does not exist
 * (ex is then empty, not an error for the caller to report twice), -EINVAL
 * with "file:line: what" in err for a malformed line, -errno for I/O. */
int chaos__expected_load(const char *path, struct chaos_expected *ex, char *err, size_t errlen);
void chaos__expected_free(struct chaos_expected *ex);

/* The expected cell for key, or NULL when there is no entry. */
const char *chaos__expected_find(const struct chaos_expected *ex, const char *key);

/* Does an observed cell text match an expected one? 1 yes, 0 no. "FAIL"
 * matches every "FAIL(...)"; otherwise the texts must be equal. */
int chaos__cell_matches(const char *expected, const char *got);

/* Compare every cell with <dir>/<target>. Prints one line per difference on
 * out ("mp-pool-map seed/kill-one-skip: expected HANG, got PASS"), and a
 * note per cell that could not be compared (an observed SKIP: the
 * environment could not decide, so it is neither a pass nor a difference).
 * *ndiff gets the number of differences. Returns 0 or -errno / -EINVAL
 * (malformed baseline, message on out). */
int chaos__expected_compare(const struct chaos_mx_cell *cells, size_t n, const char *dir, FILE *out,
			    unsigned *ndiff);

/* Write the observed cells of target into path: existing entries keep their
 * line and trailing comment with the new cell, comments stay, new entries
 * are appended in order. SKIP cells are not written (they say nothing
 * about the pool). Returns 0 or -errno. */
/* A baseline containing the line "# chaos: specification" states what
 * must happen rather than what was seen; --write-expected leaves it alone.
 * Returns 1 for such a file, 0 otherwise (also when it does not exist). */
int chaos__expected_is_spec(const char *path);

int chaos__expected_write(const char *path, const char *target, const struct chaos_mx_cell *cells,
			  size_t n);

#endif
