/* The run history: one JSON object per line (docs/protocol.md section 3). */
#ifndef CHAOS_HISTORY_H
#define CHAOS_HISTORY_H

#include <jansson.h>
#include <time.h>

struct chaos_hist;

/* Create (truncate) the history file at path. Timestamps are seconds since
 * t0 on CLOCK_MONOTONIC. Returns 0 or -errno. */
int chaos_hist_open(const char *path, const struct timespec *t0, struct chaos_hist **h);

/* Append one event: {"t":..., "ev":ev, ...fields}. Takes the reference to
 * fields (which may be NULL). The line is written with a single write() on
 * an O_APPEND descriptor, so a writer killed at any moment leaves only
 * complete lines behind. Returns 0 or -errno (the event is dropped). */
int chaos_hist_emit(struct chaos_hist *h, const char *ev, json_t *fields);

/* Seconds since t0, as written in "t". */
double chaos_hist_now(const struct chaos_hist *h);

/* Close the file and free the handle. NULL is accepted. */
void chaos_hist_close(struct chaos_hist *h);

/* A JSON string for n bytes of text a target or kit sent: NUL bytes become
 * '?' (readers without JSON_ALLOW_NUL would drop the event), and so do the
 * bytes of invalid UTF-8. Never NULL unless out of memory. */
json_t *chaos_hist_text(const char *s, size_t n);

#endif
