/* SVG timeline of one run, drawn from its history (docs/protocol.md
 * section 3): one lane per worker PID, a bar per task attempt coloured by
 * how it ended, marks for faults and deaths (OOM kills apart from other
 * deaths), the deadline, and the moment the target finished or was declared
 * hung. The SVG is self-contained: no scripts, no external references;
 * <title> elements give tooltips. */
#ifndef CHAOS_TIMELINE_H
#define CHAOS_TIMELINE_H

#include <stdio.h>

/* Read the history from in with the history reader (check/history_read.h:
 * lines that are not JSON objects, such as a truncated last line, are
 * skipped) and write the SVG to out. title may be NULL (the run's name and
 * target are used). Returns 0 or -errno (-EIO on a read or write error,
 * -ENOMEM, -EPROTONOSUPPORT for a history version the reader does not
 * know; nothing is written then). */
int chaos_timeline_write(FILE *in, FILE *out, const char *title);

/* The same from a history file into an SVG file. Returns 0 or -errno. */
int chaos_timeline_svg(const char *history, const char *svg, const char *title);

#endif
