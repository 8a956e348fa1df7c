/* The one reader of run histories (docs/protocol.md section 3), used by the
 * checker, the timeline and the tests: line by line, each line a JSON
 * object validated against the schema (check/history_schema.h), with typed
 * field access by the schema's constants.
 *
 * What it tolerates: a last line without its newline (a controller killed
 * mid-write) is used if it still parses and otherwise counted as
 * truncated; a complete line that is not a JSON object is counted and
 * skipped; an event that does not match the schema is still returned, with
 * valid == 0, so that each reader decides how strict to be. What it
 * refuses: a `run` event of a version it does not know. */
#ifndef CHAOS_HISTORY_READ_H
#define CHAOS_HISTORY_READ_H

#include <stdint.h>
#include <stdio.h>

#include "check/history_schema.h"

struct chaos_hread;

/* One event as read. o is borrowed: it is freed by the next call of
 * chaos_hread_next() or by chaos_hread_close() (json_incref to keep it). */
struct chaos_hevent {
	enum chaos_hev ev; /* CHAOS_HEV__COUNT: `ev` missing or not in the schema */
	double t;	   /* `t`, 0 when it is not a number */
	unsigned lineno;   /* 1-based line of the file */
	int valid;	   /* matches the schema (chaos_hread_error() says how not) */
	json_t *o;
};

/* What the reader saw so far. */
struct chaos_hread_stats {
	unsigned events;    /* lines that were JSON objects */
	unsigned bad_lines; /* complete lines that were not */
	unsigned invalid;   /* events that did not match the schema */
	int truncated;	    /* the last line was cut off mid-object */
};

/* Open the history at path. Returns 0 or -errno. */
int chaos_hread_open(const char *path, struct chaos_hread **r);

/* Read from f, which stays the caller's (not closed). Returns 0 or
 * -ENOMEM. */
int chaos_hread_from(FILE *f, struct chaos_hread **r);

/* The next event into *e: 1, or 0 at the end of the file, or -EIO (read
 * error), -ENOMEM, -EPROTONOSUPPORT (a `run` event of another version; see
 * chaos_hread_error()). */
int chaos_hread_next(struct chaos_hread *r, struct chaos_hevent *e);

void chaos_hread_stats(const struct chaos_hread *r, struct chaos_hread_stats *s);

/* The first problem met, with its line ("line 3: death: field oom is
 * missing ..."), or "" when there was none. */
const char *chaos_hread_error(const struct chaos_hread *r);

/* Close (and fclose a file opened by chaos_hread_open). NULL is accepted. */
void chaos_hread_close(struct chaos_hread *r);

/* ---- typed access to one event's fields ------------------------------------ */

/* The field's value, NULL when absent. */
json_t *chaos_hev_get(const struct chaos_hevent *e, enum chaos_hf f);

/* An integer field, dflt when absent, null or not an integer. */
long long chaos_hev_int(const struct chaos_hevent *e, enum chaos_hf f, long long dflt);

/* A number field (integer or float), dflt otherwise. */
double chaos_hev_num(const struct chaos_hevent *e, enum chaos_hf f, double dflt);

/* A string field, NULL when absent, null or not a string. *len (when len
 * is not NULL) gets its length, which counts NUL bytes inside it. */
const char *chaos_hev_str(const struct chaos_hevent *e, enum chaos_hf f, size_t *len);

/* A bool field: 1 true, 0 false, -1 absent, null or not a bool. */
int chaos_hev_bool(const struct chaos_hevent *e, enum chaos_hf f);

#endif
