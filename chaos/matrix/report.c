/* Matrix reports: cell records, their JSON form, and the JSON / JUnit XML /
 * Markdown / terminal-table writers. */
#include "matrix/report.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <jansson.h>

static const char *const kind_names[] = {
    [CHAOS_CELL_PASS] = "PASS", [CHAOS_CELL_FAIL] = "FAIL",
    [CHAOS_CELL_HANG] = "HANG", [CHAOS_CELL_UNSUPPORTED] = "UNSUPPORTED",
    [CHAOS_CELL_SKIP] = "SKIP", [CHAOS_CELL_UNEXERCISED] = "UNEXERCISED",
    [CHAOS_CELL_ERROR] = "ERROR", [CHAOS_CELL_SLOW] = "SLOW",
};

/* The checker owns the check names; a verdict read back from JSON needs
 * storage that outlives the JSON object, so known names map to these. */
static const char *const check_names[] = {
    "hang-free", "skip", "abort", "retry", "killed-tasks", "oom", "no-leftovers", "no-orphans",
};

/* How each report counts a cell: a failure of the pool (FAIL, HANG), a run
 * that says nothing about the pool (SKIP, UNSUPPORTED), or an error of the
 * run (an internal error, an adapter's ERROR, a PASS whose faults hit
 * nothing, a run cut by the deadline while the pool still worked). */
enum cell_class { CLASS_PASS, CLASS_FAILURE, CLASS_SKIPPED, CLASS_ERROR };

static enum cell_class cell_class(const struct chaos_mx_cell *c)
{
	if (c->internal)
		return CLASS_ERROR;
	switch (c->v.cell) {
	case CHAOS_CELL_PASS:
		return CLASS_PASS;
	case CHAOS_CELL_FAIL:
	case CHAOS_CELL_HANG:
		return CLASS_FAILURE;
	case CHAOS_CELL_SKIP:
	case CHAOS_CELL_UNSUPPORTED:
		return CLASS_SKIPPED;
	case CHAOS_CELL_UNEXERCISED:
	case CHAOS_CELL_ERROR:
	case CHAOS_CELL_SLOW:
		return CLASS_ERROR;
	}
	return CLASS_ERROR;
}

const char *chaos__mx_key(const struct chaos_mx_cell *c, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", c->suite, c->scenario);
	return buf;
}

const char *chaos__mx_cell_kind_name(enum chaos_cell c)
{
	if ((unsigned)c < sizeof(kind_names) / sizeof(kind_names[0]))
		return kind_names[c];
	return "?";
}

int chaos__mx_cell_kind_parse(const char *s, enum chaos_cell *c)
{
	for (unsigned i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++) {
		if (strcmp(s, kind_names[i]) == 0) {
			*c = (enum chaos_cell)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *chaos__mx_cell_text(const struct chaos_mx_cell *c)
{
	if (c->internal)
		return "ERROR";
	if (c->v.cell_text[0])
		return c->v.cell_text;
	return chaos__mx_cell_kind_name(c->v.cell);
}

void chaos__mx_cell_set(struct chaos_mx_cell *c, enum chaos_cell kind, const char *note)
{
	memset(&c->v, 0, sizeof(c->v));
	c->v.cell = kind;
	snprintf(c->v.cell_text, sizeof(c->v.cell_text), "%s", chaos__mx_cell_kind_name(kind));
	snprintf(c->v.note, sizeof(c->v.note), "%s", note ? note : "");
	c->internal = 0;
	c->error[0] = '\0';
}

json_t *chaos__mx_cell_to_json(const struct chaos_mx_cell *c)
{
	json_t *o = json_object();
	json_t *checks = json_array();
	char key[160];

	if (!o || !checks)
		goto fail;
	for (unsigned i = 0; i < c->v.nchecks && i < CHAOS_CHECK_MAX; i++) {
		const struct chaos_check *k = &c->v.checks[i];
		json_t *ko = json_pack("{s:s, s:b, s:s}", "name", k->name ? k->name : "?", "ok",
				       k->ok, "evidence", k->evidence);
		if (!ko || json_array_append_new(checks, ko) < 0)
			goto fail;
	}
	if (json_object_set_new(o, "target", json_string(c->target)) < 0 ||
	    json_object_set_new(o, "suite", json_string(c->suite)) < 0 ||
	    json_object_set_new(o, "scenario", json_string(c->scenario)) < 0 ||
	    json_object_set_new(o, "key", json_string(chaos__mx_key(c, key, sizeof(key)))) < 0 ||
	    json_object_set_new(o, "cell", json_string(chaos__mx_cell_kind_name(c->v.cell))) < 0 ||
	    json_object_set_new(o, "cell_text", json_string(chaos__mx_cell_text(c))) < 0 ||
	    json_object_set_new(o, "note", json_string(c->v.note)) < 0 ||
	    json_object_set_new(o, "internal", json_boolean(c->internal)) < 0 ||
	    json_object_set_new(o, "error", json_string(c->error)) < 0 ||
	    json_object_set_new(o, "run_verdict", json_string(c->run_verdict)) < 0 ||
	    json_object_set_new(o, "rundir", json_string(c->rundir)) < 0 ||
	    json_object_set_new(o, "elapsed_ms", json_real(c->elapsed_ms)) < 0)
		goto fail;
	json_object_set_new(o, "checks", checks);
	return o;
fail:
	json_decref(checks);
	json_decref(o);
	return NULL;
}

/* Copy a string member into buf; a missing member leaves "". */
static void get_str(json_t *o, const char *name, char *buf, size_t len)
{
	const char *s = json_string_value(json_object_get(o, name));

	snprintf(buf, len, "%s", s ? s : "");
}

int chaos__mx_cell_from_json(json_t *o, struct chaos_mx_cell *c)
{
	json_t *checks;
	const char *kind;
	size_t i;

	memset(c, 0, sizeof(*c));
	if (!json_is_object(o))
		return -EINVAL;
	kind = json_string_value(json_object_get(o, "cell"));
	if (!kind || chaos__mx_cell_kind_parse(kind, &c->v.cell) < 0)
		return -EINVAL;
	get_str(o, "target", c->target, sizeof(c->target));
	get_str(o, "suite", c->suite, sizeof(c->suite));
	get_str(o, "scenario", c->scenario, sizeof(c->scenario));
	get_str(o, "cell_text", c->v.cell_text, sizeof(c->v.cell_text));
	get_str(o, "note", c->v.note, sizeof(c->v.note));
	get_str(o, "error", c->error, sizeof(c->error));
	get_str(o, "run_verdict", c->run_verdict, sizeof(c->run_verdict));
	get_str(o, "rundir", c->rundir, sizeof(c->rundir));
	c->internal = json_is_true(json_object_get(o, "internal"));
	/* An internal error's cell_text is "ERROR", which is not a verdict. */
	if (c->internal)
		c->v.cell_text[0] = '\0';
	c->elapsed_ms = json_number_value(json_object_get(o, "elapsed_ms"));
	checks = json_object_get(o, "checks");
	if (checks && !json_is_array(checks))
		return -EINVAL;
	for (i = 0; checks && i < json_array_size(checks) && i < CHAOS_CHECK_MAX; i++) {
		json_t *ko = json_array_get(checks, i);
		struct chaos_check *k = &c->v.checks[i];
		const char *name = json_string_value(json_object_get(ko, "name"));

		k->name = "?";
		for (unsigned j = 0; name && j < sizeof(check_names) / sizeof(check_names[0]); j++)
			if (strcmp(name, check_names[j]) == 0)
				k->name = check_names[j];
		k->ok = json_is_true(json_object_get(ko, "ok"));
		get_str(ko, "evidence", k->evidence, sizeof(k->evidence));
		c->v.nchecks = (unsigned)i + 1;
	}
	return 0;
}

int chaos__mx_cell_save(const struct chaos_mx_cell *c, const char *path)
{
	json_t *o = chaos__mx_cell_to_json(c);
	int rc = 0;

	if (!o)
		return -ENOMEM;
	if (json_dump_file(o, path, JSON_INDENT(2) | JSON_SORT_KEYS) < 0)
		rc = errno ? -errno : -EIO;
	json_decref(o);
	return rc;
}

int chaos__mx_cell_load(const char *path, struct chaos_mx_cell *c)
{
	json_error_t jerr;
	json_t *o;
	int rc;

	errno = 0;
	o = json_load_file(path, 0, &jerr);
	if (!o)
		return errno == ENOENT ? -ENOENT : -EINVAL;
	rc = chaos__mx_cell_from_json(o, c);
	json_decref(o);
	return rc;
}

int chaos__mx_write_json(const struct chaos_mx_cell *cells, size_t n, const char *path)
{
	json_t *root = json_object();
	json_t *arr = json_array();
	unsigned count[CHAOS_CELL_SLOW + 1] = {0};
	unsigned internal = 0;
	int rc = -ENOMEM;

	if (!root || !arr)
		goto out;
	for (size_t i = 0; i < n; i++) {
		json_t *o = chaos__mx_cell_to_json(&cells[i]);

		if (!o || json_array_append_new(arr, o) < 0)
			goto out;
		if (cells[i].internal)
			internal++;
		else if ((unsigned)cells[i].v.cell <= CHAOS_CELL_SLOW)
			count[cells[i].v.cell]++;
	}
	json_object_set_new(root, "version", json_integer(1));
	json_object_set_new(root, "cells", arr);
	arr = NULL;
	json_object_set_new(root, "summary",
			    json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i}", "total",
				      (int)n, "pass", count[CHAOS_CELL_PASS], "fail",
				      count[CHAOS_CELL_FAIL], "hang", count[CHAOS_CELL_HANG],
				      "unsupported", count[CHAOS_CELL_UNSUPPORTED], "skip",
				      count[CHAOS_CELL_SKIP], "error", internal, "unexercised",
				      count[CHAOS_CELL_UNEXERCISED], "adapter_error",
				      count[CHAOS_CELL_ERROR], "slow", count[CHAOS_CELL_SLOW]));
	rc = json_dump_file(root, path, JSON_INDENT(2)) < 0 ? (errno ? -errno : -EIO) : 0;
out:
	json_decref(arr);
	json_decref(root);
	return rc;
}

void chaos__xml_escape(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		switch (ch) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&apos;", f);
			break;
		default:
			/* XML 1.0 forbids most control characters even as
			 * references; a history may carry them from a target's
			 * output, so they become '?'. */
			if (ch < 0x20 && ch != '\t' && ch != '\n')
				fputc('?', f);
			else
				fputc(ch, f);
		}
	}
}

/* The evidence of a cell on one line: its failed checks, else its note. */
static void cell_evidence(FILE *f, const struct chaos_mx_cell *c, const char *sep)
{
	int any = 0;

	if (c->internal) {
		fputs(c->error, f);
		return;
	}
	for (unsigned i = 0; i < c->v.nchecks && i < CHAOS_CHECK_MAX; i++) {
		if (c->v.checks[i].ok)
			continue;
		fprintf(f, "%s%s", any ? sep : "", c->v.checks[i].evidence);
		any = 1;
	}
	if (c->v.note[0])
		fprintf(f, "%s%s", any ? sep : "", c->v.note);
}

/* Escaped evidence for an XML attribute or text: rendered into memory first
 * so the escaping covers all of it. */
static void xml_evidence(FILE *f, const struct chaos_mx_cell *c, const char *sep)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	if (!m)
		return;
	cell_evidence(m, c, sep);
	fclose(m);
	chaos__xml_escape(f, buf);
	free(buf);
}

int chaos__mx_write_junit(const struct chaos_mx_cell *cells, size_t n, const char *path)
{
	unsigned fail = 0, skip = 0, err = 0;
	FILE *f = fopen(path, "we");
	int rc = 0;

	if (!f)
		return -errno;
	for (size_t i = 0; i < n; i++) {
		const struct chaos_mx_cell *c = &cells[i];

		err += cell_class(c) == CLASS_ERROR;
		fail += cell_class(c) == CLASS_FAILURE;
		skip += cell_class(c) == CLASS_SKIPPED;
	}
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	fprintf(f,
		"<testsuites name=\"chaos matrix\" tests=\"%zu\" failures=\"%u\" errors=\"%u\" "
		"skipped=\"%u\">\n",
		n, fail, err, skip);
	/* One testsuite per target: cells are sorted by target, so a suite is
	 * a run of equal target names. */
	for (size_t i = 0; i < n;) {
		size_t j = i;
		unsigned sf = 0, ss = 0, se = 0;
		double secs = 0;

		while (j < n && strcmp(cells[j].target, cells[i].target) == 0) {
			const struct chaos_mx_cell *c = &cells[j++];

			secs += c->elapsed_ms / 1000.0;
			se += cell_class(c) == CLASS_ERROR;
			sf += cell_class(c) == CLASS_FAILURE;
			ss += cell_class(c) == CLASS_SKIPPED;
		}
		fprintf(f, "  <testsuite name=\"");
		chaos__xml_escape(f, cells[i].target);
		fprintf(f,
			"\" tests=\"%zu\" failures=\"%u\" errors=\"%u\" skipped=\"%u\" "
			"time=\"%.3f\">\n",
			j - i, sf, se, ss, secs);
		for (; i < j; i++) {
			const struct chaos_mx_cell *c = &cells[i];
			const char *text = chaos__mx_cell_text(c);

			fprintf(f, "    <testcase classname=\"chaos.");
			chaos__xml_escape(f, c->target);
			fputc('.', f);
			chaos__xml_escape(f, c->suite);
			fprintf(f, "\" name=\"");
			chaos__xml_escape(f, c->scenario);
			fprintf(f, "\" time=\"%.3f\">", c->elapsed_ms / 1000.0);
			if (c->internal) {
				fprintf(f, "\n      <error message=\"");
				xml_evidence(f, c, "; ");
				fprintf(f, "\"/>\n    ");
			} else if (cell_class(c) == CLASS_ERROR) {
				/* The run, not the pool, failed: an error with its
				 * reason, typed by the cell. */
				fprintf(f, "\n      <error message=\"");
				chaos__xml_escape(f, text);
				fputs(": ", f);
				xml_evidence(f, c, "; ");
				fprintf(f, "\" type=\"%s\"/>\n    ", chaos__mx_cell_kind_name(c->v.cell));
			} else if (cell_class(c) == CLASS_FAILURE) {
				fprintf(f, "\n      <failure message=\"");
				chaos__xml_escape(f, text);
				fprintf(f, "\" type=\"%s\">", chaos__mx_cell_kind_name(c->v.cell));
				xml_evidence(f, c, "\n");
				if (c->rundir[0]) {
					fprintf(f, "\nhistory: ");
					chaos__xml_escape(f, c->rundir);
					fprintf(f, "/history.jsonl");
				}
				fprintf(f, "</failure>\n    ");
			} else if (cell_class(c) == CLASS_SKIPPED) {
				fprintf(f, "\n      <skipped message=\"");
				chaos__xml_escape(f, text);
				if (c->v.note[0]) {
					fputs(": ", f);
					chaos__xml_escape(f, c->v.note);
				}
				fprintf(f, "\"/>\n    ");
			}
			fprintf(f, "</testcase>\n");
		}
		fprintf(f, "  </testsuite>\n");
	}
	fprintf(f, "</testsuites>\n");
	if (fflush(f) != 0 || ferror(f))
		rc = -EIO;
	fclose(f);
	return rc;
}

/* The grid behind the table and the Markdown: distinct targets in order of
 * appearance and distinct suite/scenario keys, sorted. */
struct grid {
	const char **targets;
	size_t nt;
	char (*keys)[160];
	size_t nk;
};

static int key_cmp(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

static int grid_build(const struct chaos_mx_cell *cells, size_t n, struct grid *g)
{
	memset(g, 0, sizeof(*g));
	g->targets = calloc(n + 1, sizeof(*g->targets));
	g->keys = calloc(n + 1, sizeof(*g->keys));
	if (!g->targets || !g->keys)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		char key[160];
		size_t j;

		for (j = 0; j < g->nt; j++)
			if (strcmp(g->targets[j], cells[i].target) == 0)
				break;
		if (j == g->nt)
			g->targets[g->nt++] = cells[i].target;
		chaos__mx_key(&cells[i], key, sizeof(key));
		for (j = 0; j < g->nk; j++)
			if (strcmp(g->keys[j], key) == 0)
				break;
		if (j == g->nk)
			memcpy(g->keys[g->nk++], key, sizeof(key));
	}
	qsort(g->keys, g->nk, sizeof(*g->keys), key_cmp);
	return 0;
}

static void grid_free(struct grid *g)
{
	free(g->targets);
	free(g->keys);
}

const struct chaos_mx_cell *chaos__mx_cell(const struct chaos_mx_cell *cells, size_t n,
					   const char *target, const char *key)
{
	char k[160];

	for (size_t i = 0; i < n; i++)
		if (strcmp(cells[i].target, target) == 0 &&
		    strcmp(chaos__mx_key(&cells[i], k, sizeof(k)), key) == 0)
			return &cells[i];
	return NULL;
}

/* The width to fit the table into: $COLUMNS when set, else the terminal's
 * width when f is one, else 0 (no limit: a file or a pipe gets one table). */
static size_t table_width(FILE *f)
{
	const char *cols = getenv("COLUMNS");
	struct winsize ws;
	int fd = fileno(f);

	if (cols && *cols) {
		char *end;
		unsigned long v = strtoul(cols, &end, 10);

		if (*end == '\0' && v > 0 && v < 100000)
			return (size_t)v;
	}
	if (fd >= 0 && isatty(fd) && ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 0;
}

/* Columns t0 .. t1-1 of the table, with the scenario column first. */
static void print_band(const struct chaos_mx_cell *cells, size_t n, const struct grid *g,
		       const size_t *w, size_t kw, size_t t0, size_t t1, FILE *f)
{
	fprintf(f, "%-*s", (int)kw, "scenario");
	for (size_t t = t0; t < t1; t++)
		fprintf(f, "  %-*s", (int)w[t], g->targets[t]);
	fputc('\n', f);
	for (size_t k = 0; k < g->nk; k++) {
		fprintf(f, "%-*s", (int)kw, g->keys[k]);
		for (size_t t = t0; t < t1; t++) {
			const struct chaos_mx_cell *c =
			    chaos__mx_cell(cells, n, g->targets[t], g->keys[k]);

			fprintf(f, "  %-*s", (int)w[t], c ? chaos__mx_cell_text(c) : "-");
		}
		fputc('\n', f);
	}
}

int chaos__mx_print_table(const struct chaos_mx_cell *cells, size_t n, FILE *f)
{
	struct grid g;
	size_t kw = strlen("scenario"), width = table_width(f);
	size_t *w = NULL;
	int rc = grid_build(cells, n, &g);

	if (rc < 0)
		goto out;
	w = calloc(g.nt + 1, sizeof(*w));
	if (!w) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t k = 0; k < g.nk; k++)
		if (strlen(g.keys[k]) > kw)
			kw = strlen(g.keys[k]);
	for (size_t t = 0; t < g.nt; t++) {
		w[t] = strlen(g.targets[t]);
		for (size_t k = 0; k < g.nk; k++) {
			const struct chaos_mx_cell *c =
			    chaos__mx_cell(cells, n, g.targets[t], g.keys[k]);
			size_t l = c ? strlen(chaos__mx_cell_text(c)) : 1;

			if (l > w[t])
				w[t] = l;
		}
	}
	/* Many targets do not fit one terminal line: print the table in bands
	 * of the target columns that fit, each band with the scenario column,
	 * a blank line between bands. A band holds at least one target. */
	for (size_t t0 = 0; t0 < g.nt || t0 == 0;) {
		size_t t1 = t0 + 1, used = kw + 2 + w[t0];

		while (t1 < g.nt && (!width || used + 2 + w[t1] <= width))
			used += 2 + w[t1++];
		if (t0)
			fputc('\n', f);
		print_band(cells, n, &g, w, kw, t0, t1 > g.nt ? g.nt : t1, f);
		t0 = t1;
	}
out:
	free(w);
	grid_free(&g);
	return rc;
}

/* Markdown table cells must not contain '|' or newlines. */
static void md_escape(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '|')
			fputs("\\|", f);
		else if (*s == '\n' || *s == '\r')
			fputc(' ', f);
		else
			fputc(*s, f);
	}
}

/* rundir relative to the directory of the report at path, when it lies
 * below it, so the Markdown's links work wherever the directory is moved. */
static const char *rel_to(const char *rundir, const char *path)
{
	const char *slash = strrchr(path, '/');
	size_t dl = slash ? (size_t)(slash - path) : 0;

	if (dl == 0)
		return rundir;
	if (strncmp(rundir, path, dl) == 0 && rundir[dl] == '/')
		return rundir + dl + 1;
	return rundir;
}

int chaos__mx_write_markdown(const struct chaos_mx_cell *cells, size_t n, const char *path)
{
	struct grid g;
	FILE *f = NULL;
	int rc = grid_build(cells, n, &g);

	if (rc < 0)
		goto out;
	f = fopen(path, "we");
	if (!f) {
		rc = -errno;
		goto out;
	}
	fprintf(f, "# chaos matrix\n\n| scenario |");
	for (size_t t = 0; t < g.nt; t++) {
		fputc(' ', f);
		md_escape(f, g.targets[t]);
		fputs(" |", f);
	}
	fprintf(f, "\n|---|");
	for (size_t t = 0; t < g.nt; t++)
		fputs("---|", f);
	fputc('\n', f);
	for (size_t k = 0; k < g.nk; k++) {
		fputs("| ", f);
		md_escape(f, g.keys[k]);
		fputs(" |", f);
		for (size_t t = 0; t < g.nt; t++) {
			const struct chaos_mx_cell *c =
			    chaos__mx_cell(cells, n, g.targets[t], g.keys[k]);

			fputc(' ', f);
			md_escape(f, c ? chaos__mx_cell_text(c) : "-");
			fputs(" |", f);
		}
		fputc('\n', f);
	}
	/* The evidence of every cell that is not a plain PASS, so a reader of
	 * the table does not have to open matrix.json to learn why. */
	fprintf(f, "\n## Evidence\n\n");
	for (size_t i = 0; i < n; i++) {
		const struct chaos_mx_cell *c = &cells[i];
		char *buf = NULL;
		size_t len = 0;
		FILE *m;

		if (!c->internal && c->v.cell == CHAOS_CELL_PASS)
			continue;
		m = open_memstream(&buf, &len);
		if (!m)
			continue;
		cell_evidence(m, c, "; ");
		fclose(m);
		fprintf(f, "- **");
		md_escape(f, c->target);
		fprintf(f, "** `%s/%s`: %s", c->suite, c->scenario, chaos__mx_cell_text(c));
		if (buf && buf[0]) {
			fputs(": ", f);
			md_escape(f, buf);
		}
		if (c->rundir[0])
			fprintf(f, " ([timeline](%s/timeline.svg))", rel_to(c->rundir, path));
		fputc('\n', f);
		free(buf);
	}
	if (fflush(f) != 0 || ferror(f))
		rc = -EIO;
out:
	if (f)
		fclose(f);
	grid_free(&g);
	return rc;
}
