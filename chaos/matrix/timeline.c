/* SVG timeline of one run from its history. */
#include "matrix/timeline.h"
#include "matrix/report.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check/history_read.h"

/* Bounds on what is drawn, so a runaway history cannot make a huge SVG. */
#define TL_MAX_LANES 256
#define TL_MAX_BARS 20000
#define TL_MAX_MARKS 20000

enum bar_end { BAR_OK, BAR_KILLED, BAR_FAILED, BAR_OPEN };

struct lane {
	long pid;
	int index; /* worker index from the `worker` event, -1 if none */
};

struct bar {
	long pid, task, attempt;
	double t0, t1;
	enum bar_end end;
	int oom;
};

enum mark_kind { MARK_FAULT, MARK_DEATH, MARK_DEATH_OOM, MARK_EXIT };

struct mark {
	enum mark_kind kind;
	double t;
	long pid; /* 0: not tied to a lane */
	long task;
	int ok; /* faults: delivered */
	char sig[24];
	char how[64];
};

struct tl {
	char name[128], target[64], verdict[16];
	double deadline_s;				   /* from the run event, 0 = unknown */
	double deadline_t, exit_t, abort_t, end_t, last_t; /* -1 = none */
	struct lane lanes[TL_MAX_LANES];
	size_t nl;
	struct bar *bars;
	size_t nb;
	struct mark *marks;
	size_t nm;
	unsigned dropped; /* elements beyond the bounds */
};

static const char *const bar_fill[] = {
    [BAR_OK] = "#43a047",
    [BAR_KILLED] = "#e53935",
    [BAR_FAILED] = "#fb8c00",
    [BAR_OPEN] = "#9e9e9e",
};
static const char *const bar_class[] = {
    [BAR_OK] = "ok",
    [BAR_KILLED] = "killed",
    [BAR_FAILED] = "failed",
    [BAR_OPEN] = "open",
};
static const char *const bar_word[] = {
    [BAR_OK] = "returned",
    [BAR_KILLED] = "killed",
    [BAR_FAILED] = "failed",
    [BAR_OPEN] = "never ended",
};

/* The lane of pid, created on first sight (pid 0 has none). */
static struct lane *lane_of(struct tl *tl, long pid, int index)
{
	if (pid <= 0)
		return NULL;
	for (size_t i = 0; i < tl->nl; i++) {
		if (tl->lanes[i].pid == pid) {
			if (index >= 0)
				tl->lanes[i].index = index;
			return &tl->lanes[i];
		}
	}
	if (tl->nl == TL_MAX_LANES) {
		tl->dropped++;
		return NULL;
	}
	tl->lanes[tl->nl].pid = pid;
	tl->lanes[tl->nl].index = index;
	return &tl->lanes[tl->nl++];
}

/* The latest attempt of task still open (on pid when pid > 0). */
static struct bar *open_bar(struct tl *tl, long task, long pid)
{
	for (size_t i = tl->nb; i-- > 0;) {
		struct bar *b = &tl->bars[i];

		if (b->end == BAR_OPEN && b->t1 < 0 && (task < 0 || b->task == task) &&
		    (pid <= 0 || b->pid == pid))
			return b;
	}
	return NULL;
}

static struct mark *add_mark(struct tl *tl, enum mark_kind kind, double t, long pid)
{
	struct mark *m;

	if (tl->nm == TL_MAX_MARKS) {
		tl->dropped++;
		return NULL;
	}
	m = &tl->marks[tl->nm++];
	memset(m, 0, sizeof(*m));
	m->kind = kind;
	m->t = t;
	m->pid = pid;
	m->task = -1;
	return m;
}

/* A string field, "" when it is not a string. */
static const char *get_str(const struct chaos_hevent *e, enum chaos_hf f)
{
	const char *s = chaos_hev_str(e, f, NULL);

	return s ? s : "";
}

static void take_start(struct tl *tl, const struct chaos_hevent *e, long pid)
{
	struct bar *b;

	lane_of(tl, pid, -1);
	if (tl->nb == TL_MAX_BARS) {
		tl->dropped++;
		return;
	}
	b = &tl->bars[tl->nb++];
	b->pid = pid;
	b->task = chaos_hev_int(e, CHAOS_HF_TASK, -1);
	b->attempt = chaos_hev_int(e, CHAOS_HF_ATTEMPT, 0);
	b->t0 = e->t;
	b->t1 = -1;
	b->end = BAR_OPEN;
	b->oom = 0;
}

static void take_death(struct tl *tl, const struct chaos_hevent *e, long pid)
{
	int oom = chaos_hev_bool(e, CHAOS_HF_OOM) == 1;
	long task = chaos_hev_int(e, CHAOS_HF_TASK, -1);
	/* A worker that exits with 0 while idle is a pool shutting down, not
	 * a fault: drawn apart so real deaths stand out. */
	int quiet = task < 0 && strcmp(get_str(e, CHAOS_HF_HOW), "exit") == 0 &&
		    chaos_hev_int(e, CHAOS_HF_CODE, -1) == 0;
	struct mark *m = add_mark(tl, oom ? MARK_DEATH_OOM : quiet ? MARK_EXIT : MARK_DEATH, e->t,
				  pid);
	struct bar *b;

	if (m) {
		m->task = task;
		snprintf(m->sig, sizeof(m->sig), "%s", get_str(e, CHAOS_HF_SIGNAL));
		snprintf(m->how, sizeof(m->how), "%s", get_str(e, CHAOS_HF_HOW));
		if (json_is_integer(chaos_hev_get(e, CHAOS_HF_CODE)))
			snprintf(m->how, sizeof(m->how), "exit %lld",
				 chaos_hev_int(e, CHAOS_HF_CODE, 0));
	}
	lane_of(tl, pid, -1);
	/* Whatever was running in the dead worker ended with it. */
	while ((b = open_bar(tl, task, pid))) {
		b->t1 = e->t;
		b->end = BAR_KILLED;
		b->oom = oom;
	}
}

static void take_fault(struct tl *tl, const struct chaos_hevent *e, long pid)
{
	struct mark *m = add_mark(tl, MARK_FAULT, e->t, pid);

	if (m) {
		m->task = chaos_hev_int(e, CHAOS_HF_TASK, -1);
		m->ok = chaos_hev_bool(e, CHAOS_HF_OK) == 1;
		snprintf(m->sig, sizeof(m->sig), "%s", get_str(e, CHAOS_HF_SIGNAL));
		snprintf(m->how, sizeof(m->how), "%s", get_str(e, CHAOS_HF_KIND));
	}
}

/* Fold one history event into the drawing's model. */
static void take_event(struct tl *tl, const struct chaos_hevent *e)
{
	long pid = chaos_hev_int(e, CHAOS_HF_PID, 0);
	struct bar *b;

	if (e->t > tl->last_t)
		tl->last_t = e->t;
	switch (e->ev) {
	case CHAOS_HEV_RUN:
		snprintf(tl->name, sizeof(tl->name), "%s", get_str(e, CHAOS_HF_NAME));
		snprintf(tl->target, sizeof(tl->target), "%s", get_str(e, CHAOS_HF_TARGET));
		tl->deadline_s = (double)chaos_hev_int(e, CHAOS_HF_DEADLINE_MS, 0) / 1000.0;
		break;
	case CHAOS_HEV_WORKER:
		lane_of(tl, pid, (int)chaos_hev_int(e, CHAOS_HF_INDEX, -1));
		break;
	case CHAOS_HEV_START:
		take_start(tl, e, pid);
		break;
	case CHAOS_HEV_END:
	case CHAOS_HEV_FAIL:
		b = open_bar(tl, chaos_hev_int(e, CHAOS_HF_TASK, -1), pid);
		if (b) {
			b->t1 = e->t;
			b->end = e->ev == CHAOS_HEV_END ? BAR_OK : BAR_FAILED;
		}
		break;
	case CHAOS_HEV_DEATH:
		take_death(tl, e, pid);
		break;
	case CHAOS_HEV_FAULT:
		take_fault(tl, e, pid);
		break;
	case CHAOS_HEV_DEADLINE:
		tl->deadline_t = e->t;
		break;
	case CHAOS_HEV_TARGET_EXIT:
		tl->exit_t = e->t;
		break;
	case CHAOS_HEV_OUTCOME:
		if (strncmp(get_str(e, CHAOS_HF_LINE), "aborted", 7) == 0 && tl->abort_t < 0)
			tl->abort_t = e->t;
		break;
	case CHAOS_HEV_END_RUN:
		tl->end_t = e->t;
		snprintf(tl->verdict, sizeof(tl->verdict), "%s", get_str(e, CHAOS_HF_VERDICT));
		break;
	default:
		break;
	}
}

static int lane_cmp(const void *a, const void *b)
{
	const struct lane *x = a, *y = b;

	/* Known worker indexes first in their order, then by PID. */
	if ((x->index < 0) != (y->index < 0))
		return x->index < 0 ? 1 : -1;
	if (x->index != y->index)
		return x->index < y->index ? -1 : 1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

/* A tick step of 1, 2 or 5 times a power of ten giving about 8 ticks. */
static double tick_step(double span)
{
	double raw = span / 8, mag, f;

	if (raw <= 0)
		return 1;
	mag = pow(10, floor(log10(raw)));
	f = raw / mag;
	return mag * (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10);
}

/* Geometry shared by the drawing helpers. */
#define TL_W 1000
#define TL_LEFT 150
#define TL_RIGHT 30
#define TL_TOP 72
#define TL_LANE_H 28
#define TL_BAR_H 14

static double xpos(double t, double span)
{
	return TL_LEFT + (t / span) * (TL_W - TL_LEFT - TL_RIGHT);
}

static int lane_y(const struct tl *tl, long pid)
{
	for (size_t i = 0; i < tl->nl; i++)
		if (tl->lanes[i].pid == pid)
			return TL_TOP + (int)(i + 1) * TL_LANE_H;
	return TL_TOP; /* the run lane */
}

static void vline(FILE *f, const char *cls, double x, int y0, int y1, const char *colour,
		  const char *dash, const char *label, int label_dy)
{
	fprintf(f,
		"<g class=\"%s\"><line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"%s\" "
		"stroke-width=\"2\"%s%s%s/>",
		cls, x, y0, x, y1, colour, dash ? " stroke-dasharray=\"" : "", dash ? dash : "",
		dash ? "\"" : "");
	fprintf(f, "<text x=\"%.1f\" y=\"%d\" font-size=\"11\" fill=\"%s\" text-anchor=\"end\">",
		x - 3, y0 + 10 + label_dy, colour);
	chaos__xml_escape(f, label);
	fprintf(f, "</text><title>");
	chaos__xml_escape(f, label);
	fprintf(f, "</title></g>\n");
}

/* The title and the summary line. */
static void draw_header(const struct tl *tl, FILE *f, const char *title, double span, int height)
{
	char buf[256];

	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	fprintf(f,
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 "
		"0 %d %d\" font-family=\"sans-serif\">\n",
		TL_W, height, TL_W, height);
	fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n");
	fprintf(f, "<text x=\"10\" y=\"22\" font-size=\"16\" font-weight=\"bold\">");
	if (title)
		chaos__xml_escape(f, title);
	else {
		snprintf(buf, sizeof(buf), "%s on %s", tl->name[0] ? tl->name : "run",
			 tl->target[0] ? tl->target : "?");
		chaos__xml_escape(f, buf);
	}
	fprintf(f, "</text>\n<text x=\"10\" y=\"42\" font-size=\"12\" fill=\"#555555\">");
	snprintf(buf, sizeof(buf), "verdict: %s; %zu workers, %zu task attempts, %.3f s",
		 tl->verdict[0] ? tl->verdict : "unknown (history cut short)", tl->nl, tl->nb,
		 tl->last_t);
	chaos__xml_escape(f, buf);
	if (tl->deadline_s > span) {
		snprintf(buf, sizeof(buf), "; deadline %.1f s is beyond the right edge",
			 tl->deadline_s);
		chaos__xml_escape(f, buf);
	}
	if (tl->dropped) {
		snprintf(buf, sizeof(buf), "; %u elements not drawn", tl->dropped);
		chaos__xml_escape(f, buf);
	}
	fprintf(f, "</text>\n");
}

static void draw_lanes(const struct tl *tl, FILE *f)
{
	char buf[256];

	/* Lanes: the run lane (faults and marks not tied to a worker), then
	 * one per worker PID. */
	for (size_t i = 0; i <= tl->nl; i++) {
		int y = TL_TOP + (int)i * TL_LANE_H;

		fprintf(f,
			"<rect class=\"lane\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
			"fill=\"%s\"/>",
			TL_LEFT, y - TL_LANE_H / 2, TL_W - TL_LEFT - TL_RIGHT, TL_LANE_H,
			i % 2 ? "#f5f5f5" : "#ebebeb");
		if (i == 0)
			snprintf(buf, sizeof(buf), "run");
		else if (tl->lanes[i - 1].index >= 0)
			snprintf(buf, sizeof(buf), "worker %d (pid %ld)", tl->lanes[i - 1].index,
				 tl->lanes[i - 1].pid);
		else
			snprintf(buf, sizeof(buf), "pid %ld", tl->lanes[i - 1].pid);
		fprintf(
		    f,
		    "<text class=\"label\" x=\"%d\" y=\"%d\" font-size=\"12\" text-anchor=\"end\">",
		    TL_LEFT - 6, y + 4);
		chaos__xml_escape(f, buf);
		fprintf(f, "</text>\n");
	}
}

static void draw_axis(FILE *f, double span, double step, int axis_y, int plot_bottom)
{
	/* Time axis with ticks and a faint grid. */
	fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#000000\"/>\n", TL_LEFT,
		axis_y, TL_W - TL_RIGHT, axis_y);
	for (int k = 0; k <= 1000 && k * step <= span; k++) {
		double x = xpos(k * step, span);

		fprintf(f,
			"<g class=\"tick\"><line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
			"stroke=\"#000000\"/>"
			"<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#cccccc\" "
			"stroke-width=\"0.5\"/>"
			"<text x=\"%.1f\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\">%g "
			"s</text></g>\n",
			x, axis_y, x, axis_y + 5, x, TL_TOP - TL_LANE_H / 2, x, plot_bottom, x,
			axis_y + 17, k * step);
	}
}

static void draw_bars(const struct tl *tl, FILE *f, double span)
{
	/* Bars: one per task attempt. */
	for (size_t i = 0; i < tl->nb; i++) {
		const struct bar *b = &tl->bars[i];
		double t1 = b->t1 >= 0 ? b->t1 : tl->last_t;
		double x0 = xpos(b->t0, span), x1 = xpos(t1, span);
		int y = lane_y(tl, b->pid);

		fprintf(f,
			"<rect class=\"bar %s\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" "
			"fill=\"%s\" stroke=\"#333333\" stroke-width=\"0.5\"%s>",
			bar_class[b->end], x0, y - TL_BAR_H / 2, x1 - x0 < 1 ? 1 : x1 - x0,
			TL_BAR_H, bar_fill[b->end],
			b->end == BAR_OPEN ? " stroke-dasharray=\"3,2\"" : "");
		fprintf(
		    f,
		    "<title>task %ld attempt %ld, pid %ld: %.3f to %.3f s, %s%s</title></rect>\n",
		    b->task, b->attempt, b->pid, b->t0, t1, bar_word[b->end],
		    b->oom ? " (OOM)" : "");
		if (x1 - x0 > 18)
			fprintf(f,
				"<text x=\"%.1f\" y=\"%d\" font-size=\"10\" "
				"fill=\"#ffffff\">%ld</text>\n",
				x0 + 3, y + 4, b->task);
	}
}

static void draw_marks(const struct tl *tl, FILE *f, double span)
{
	char buf[256];

	/* Marks: faults above the bar, deaths on it. */
	for (size_t i = 0; i < tl->nm; i++) {
		const struct mark *m = &tl->marks[i];
		double x = xpos(m->t, span);
		int y = lane_y(tl, m->pid);

		if (m->kind == MARK_FAULT) {
			fprintf(f,
				"<g class=\"fault\"><path d=\"M%.1f,%d l-5,-8 h10 z\" fill=\"%s\" "
				"stroke=\"#6a1b9a\"/>",
				x, y - TL_BAR_H / 2, m->ok ? "#8e24aa" : "none");
			fprintf(f, "<text x=\"%.1f\" y=\"%d\" font-size=\"9\" fill=\"#6a1b9a\">",
				x + 6, y - TL_BAR_H / 2 - 1);
			chaos__xml_escape(f, m->sig);
			fprintf(f, "</text><title>");
			snprintf(buf, sizeof(buf), "%s %s at %.3f s to pid %ld%s", m->how, m->sig,
				 m->t, m->pid, m->ok ? "" : " (not delivered)");
			chaos__xml_escape(f, buf);
			fprintf(f, "</title></g>\n");
		} else if (m->kind == MARK_DEATH_OOM) {
			fprintf(f,
				"<g class=\"death oom\"><path d=\"M%.1f,%d l-7,12 h14 z\" "
				"fill=\"#b71c1c\" stroke=\"#000000\"/>"
				"<text x=\"%.1f\" y=\"%d\" font-size=\"9\" font-weight=\"bold\" "
				"fill=\"#ffffff\" text-anchor=\"middle\">!</text>",
				x, y - 6, x, y + 5);
			snprintf(buf, sizeof(buf), "OOM kill of pid %ld at %.3f s (task %ld)",
				 m->pid, m->t, m->task);
			fprintf(f, "<title>");
			chaos__xml_escape(f, buf);
			fprintf(f, "</title></g>\n");
		} else if (m->kind == MARK_EXIT) {
			fprintf(f,
				"<g class=\"exit\"><circle cx=\"%.1f\" cy=\"%d\" r=\"3.5\" "
				"fill=\"#ffffff\" stroke=\"#616161\" stroke-width=\"1.5\"/>",
				x, y);
			snprintf(buf, sizeof(buf), "pid %ld exited (code 0) at %.3f s", m->pid,
				 m->t);
			fprintf(f, "<title>");
			chaos__xml_escape(f, buf);
			fprintf(f, "</title></g>\n");
		} else {
			fprintf(f,
				"<g class=\"death\"><path d=\"M%.1f,%d l10,10 m0,-10 l-10,10\" "
				"stroke=\"#000000\" stroke-width=\"2.5\"/>",
				x - 5, y - 5);
			snprintf(buf, sizeof(buf), "death of pid %ld at %.3f s (task %ld): %s %s",
				 m->pid, m->t, m->task, m->how, m->sig);
			fprintf(f, "<title>");
			chaos__xml_escape(f, buf);
			fprintf(f, "</title></g>\n");
		}
	}
}

static void draw_run_lines(const struct tl *tl, FILE *f, double span, int plot_bottom)
{
	/* Run-level lines: deadline, abort, target exit or hang. */
	if (tl->deadline_s > 0 && tl->deadline_s <= span)
		vline(f, "deadline", xpos(tl->deadline_s, span), TL_TOP - TL_LANE_H / 2,
		      plot_bottom, "#d32f2f", "6,4", "deadline", 0);
	if (tl->abort_t >= 0)
		vline(f, "aborted", xpos(tl->abort_t, span), TL_TOP - TL_LANE_H / 2, plot_bottom,
		      "#fb8c00", "2,2", "aborted", 12);
	if (tl->deadline_t >= 0)
		vline(f, "hung", xpos(tl->deadline_t, span), TL_TOP - TL_LANE_H / 2, plot_bottom,
		      "#b71c1c", NULL, "declared hung", 24);
	else if (tl->exit_t >= 0)
		vline(f, "finish", xpos(tl->exit_t, span), TL_TOP - TL_LANE_H / 2, plot_bottom,
		      "#1565c0", NULL, "target exited", 24);
}

static void draw_legend(FILE *f, int axis_y)
{
	int ly = axis_y + 40, x = TL_LEFT;
	static const char *const words[] = {"ok", "killed", "failed", "never ended"};

	for (int k = 0; k < 4; k++) {
		fprintf(f,
			"<rect x=\"%d\" y=\"%d\" width=\"14\" height=\"10\" "
			"fill=\"%s\"/><text x=\"%d\" y=\"%d\" font-size=\"11\">%s</text>\n",
			x, ly - 9, bar_fill[k], x + 18, ly, words[k]);
		x += 95;
	}
	fprintf(f,
		"<path d=\"M%d,%d l-5,-8 h10 z\" fill=\"#8e24aa\"/><text x=\"%d\" y=\"%d\" "
		"font-size=\"11\">fault (hollow: not sent)</text>\n",
		x + 5, ly, x + 14, ly);
	x += 170;
	fprintf(f,
		"<path d=\"M%d,%d l-7,12 h14 z\" fill=\"#b71c1c\"/><text x=\"%d\" y=\"%d\" "
		"font-size=\"11\">OOM kill</text>\n",
		x + 7, ly - 11, x + 18, ly);
	x += 90;
	fprintf(f,
		"<path d=\"M%d,%d l10,10 m0,-10 l-10,10\" stroke=\"#000000\" "
		"stroke-width=\"2.5\"/><text x=\"%d\" y=\"%d\" font-size=\"11\">other "
		"death</text>\n",
		x, ly - 10, x + 16, ly);
	x += 105;
	fprintf(f,
		"<circle cx=\"%d\" cy=\"%d\" r=\"3.5\" fill=\"#ffffff\" stroke=\"#616161\" "
		"stroke-width=\"1.5\"/><text x=\"%d\" y=\"%d\" font-size=\"11\">idle "
		"exit</text>\n",
		x + 4, ly - 4, x + 12, ly);
}

static void draw(const struct tl *tl, FILE *f, const char *title)
{
	double span = tl->last_t > 0 ? tl->last_t : 1;
	int plot_bottom = TL_TOP + (int)(tl->nl + 1) * TL_LANE_H + 4;
	int axis_y = plot_bottom + 6;
	int height = axis_y + 90;
	double step = tick_step(span);

	/* A little room on the right so marks at the very end stay visible. */
	span *= 1.02;
	draw_header(tl, f, title, span, height);
	draw_lanes(tl, f);
	draw_axis(f, span, step, axis_y, plot_bottom);
	draw_bars(tl, f, span);
	draw_marks(tl, f, span);
	draw_run_lines(tl, f, span, plot_bottom);
	draw_legend(f, axis_y);
	fprintf(f, "</svg>\n");
}

int chaos_timeline_write(FILE *in, FILE *out, const char *title)
{
	struct tl *tl = calloc(1, sizeof(*tl));
	struct chaos_hread *rd = NULL;
	struct chaos_hevent e;
	int rc = 0;

	if (!tl)
		return -ENOMEM;
	tl->bars = calloc(TL_MAX_BARS, sizeof(*tl->bars));
	tl->marks = calloc(TL_MAX_MARKS, sizeof(*tl->marks));
	if (!tl->bars || !tl->marks) {
		rc = -ENOMEM;
		goto out;
	}
	tl->deadline_t = tl->exit_t = tl->abort_t = tl->end_t = -1;
	tl->last_t = 0;
	rc = chaos_hread_from(in, &rd);
	if (rc)
		goto out;
	while ((rc = chaos_hread_next(rd, &e)) == 1)
		take_event(tl, &e);
	if (rc < 0)
		goto out;
	rc = 0;
	qsort(tl->lanes, tl->nl, sizeof(tl->lanes[0]), lane_cmp);
	draw(tl, out, title);
	if (fflush(out) != 0 || ferror(out))
		rc = -EIO;
out:
	chaos_hread_close(rd);
	if (tl) {
		free(tl->bars);
		free(tl->marks);
	}
	free(tl);
	return rc;
}

int chaos_timeline_svg(const char *history, const char *svg, const char *title)
{
	FILE *in = fopen(history, "re"), *out = NULL;
	int rc;

	if (!in)
		return -errno;
	out = fopen(svg, "we");
	if (!out) {
		rc = -errno;
		fclose(in);
		return rc;
	}
	rc = chaos_timeline_write(in, out, title);
	fclose(in);
	if (fclose(out) != 0 && rc == 0)
		rc = -EIO;
	return rc;
}
