/* Matrix reports: one record per (target, scenario) cell, its JSON form
 * (a run's verdict.json and the entries of matrix.json), and the writers for
 * matrix.json, junit.xml, matrix.md and the terminal table.
 *
 * Internal to the chaos core (double prefix); used by chaos/matrix/matrix.c and
 * tests/test_matrix.c. Nothing here starts a process or reads a history. */
#ifndef CHAOS_REPORT_H
#define CHAOS_REPORT_H

#include <stddef.h>
#include <stdio.h>

#include "check/checker.h"

struct json_t;

/* One cell of the matrix: what one target did with one scenario. */
struct chaos_mx_cell {
	char target[64];
	char suite[64];
	char scenario[64];
	struct chaos_verdict v; /* v.cell and v.cell_text are the verdict */
	int internal;		/* 1 when the run itself failed: no verdict */
	char error[512];	/* the internal error, one line */
	char run_verdict[16];	/* done/aborted/hang/crashed/skipped or "" */
	char rundir[4096];	/* <out>/<target>/<suite>/<scenario> or "" */
	double elapsed_ms;
};

/* "suite/scenario" of a cell into buf; returns buf. */
const char *chaos__mx_key(const struct chaos_mx_cell *c, char *buf, size_t len);

/* The cell of target for key ("suite/scenario") among cells[0..n), or NULL. */
const struct chaos_mx_cell *chaos__mx_cell(const struct chaos_mx_cell *cells, size_t n,
					   const char *target, const char *key);

/* The text shown in a cell: "ERROR" for an internal error, else
 * v.cell_text (or the plain cell name when cell_text is empty). */
const char *chaos__mx_cell_text(const struct chaos_mx_cell *c);

/* Cell names, shared with the baselines: "PASS", "FAIL", "HANG",
 * "UNSUPPORTED", "SKIP", "UNEXERCISED", "ERROR", "SLOW". Parse returns 0 or
 * -EINVAL. */
const char *chaos__mx_cell_kind_name(enum chaos_cell c);
int chaos__mx_cell_kind_parse(const char *s, enum chaos_cell *c);

/* Fill a cell's verdict part (v, internal, error) as PASS/SKIP/... with a
 * note: used for cells that never ran (unavailable target). */
void chaos__mx_cell_set(struct chaos_mx_cell *c, enum chaos_cell kind, const char *note);

/* A cell as a JSON object (new reference, NULL on allocation failure) and
 * back. from_json returns 0 or -EINVAL for a malformed object. */
struct json_t *chaos__mx_cell_to_json(const struct chaos_mx_cell *c);
int chaos__mx_cell_from_json(struct json_t *o, struct chaos_mx_cell *c);

/* Save/load one cell as a JSON file (the run's verdict.json). 0 or -errno
 * (-EINVAL for malformed content). */
int chaos__mx_cell_save(const struct chaos_mx_cell *c, const char *path);
int chaos__mx_cell_load(const char *path, struct chaos_mx_cell *c);

/* The report writers. Cells are given in the matrix's order (sorted by
 * target, then suite/scenario). Each returns 0 or -errno. */
int chaos__mx_write_json(const struct chaos_mx_cell *cells, size_t n, const char *path);
int chaos__mx_write_junit(const struct chaos_mx_cell *cells, size_t n, const char *path);
int chaos__mx_write_markdown(const struct chaos_mx_cell *cells, size_t n, const char *path);

/* The verdict table (rows suite/scenario, columns targets) on f. */
int chaos__mx_print_table(const struct chaos_mx_cell *cells, size_t n, FILE *f);

/* Write s into f with XML escaping (&, <, >, ", ' and control bytes). */
void chaos__xml_escape(FILE *f, const char *s);

#endif
