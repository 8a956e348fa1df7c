/* Expected verdicts per target: parse, compare, rewrite. */
#include "matrix/baseline.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Baseline files are small hand-edited lists; this bounds a runaway file. */
#define EXPECTED_MAX_LINES 100000

/* Split one line into key and cell; returns 1 for an entry, 0 for a
 * comment or blank line, -EINVAL for garbage. */
static int parse_line(char *line, char **key, char **cell, char **rest)
{
	char *p = line, *k, *c;

	while (isspace((unsigned char)*p))
		p++;
	if (*p == '\0' || *p == '#')
		return 0;
	k = p;
	while (*p && !isspace((unsigned char)*p))
		p++;
	if (*p == '\0')
		return -EINVAL;
	*p++ = '\0';
	while (isspace((unsigned char)*p))
		p++;
	c = p;
	while (*p && !isspace((unsigned char)*p) && *p != '#')
		p++;
	if (p == c)
		return -EINVAL;
	if (*p) {
		char *end = p;

		p++;
		while (isspace((unsigned char)*p))
			p++;
		if (*p && *p != '#')
			return -EINVAL;
		*end = '\0';
	}
	*key = k;
	*cell = c;
	if (rest)
		*rest = p;
	return 1;
}

/* A known cell text: PASS, HANG, SLOW, UNEXERCISED, ERROR, ..., FAIL or
 * FAIL(name). */
static int cell_valid(const char *s)
{
	enum chaos_cell c;
	size_t l = strlen(s);

	if (chaos__mx_cell_kind_parse(s, &c) == 0)
		return 1;
	return l > 6 && strncmp(s, "FAIL(", 5) == 0 && s[l - 1] == ')';
}

int chaos__expected_load(const char *path, struct chaos_expected *ex, char *err, size_t errlen)
{
	FILE *f = NULL;
	char *line = NULL;
	size_t cap = 0, alloc = 0;
	int lineno = 0, rc = 0;

	memset(ex, 0, sizeof(*ex));
	snprintf(ex->path, sizeof(ex->path), "%s", path);
	f = fopen(path, "re");
	if (!f) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	while (getline(&line, &cap, f) > 0) {
		char *key, *cell;
		int r;

		if (++lineno > EXPECTED_MAX_LINES) {
			snprintf(err, errlen, "%s:%d: too many lines (at most %d)", path, lineno,
				 EXPECTED_MAX_LINES);
			rc = -EINVAL;
			goto out;
		}
		line[strcspn(line, "\n")] = '\0';
		r = parse_line(line, &key, &cell, NULL);
		if (r == 0)
			continue;
		if (r < 0 || !strchr(key, '/') || !cell_valid(cell) || strlen(key) >= 160) {
			snprintf(err, errlen,
				 "%s:%d: bad entry (expected '<suite>/<scenario> <CELL>' with CELL "
				 "one of PASS, FAIL, FAIL(<check>), HANG, SLOW, UNSUPPORTED, "
				 "UNEXERCISED, ERROR, SKIP)",
				 path, lineno);
			rc = -EINVAL;
			goto out;
		}
		if (chaos__expected_find(ex, key)) {
			snprintf(err, errlen, "%s:%d: duplicate entry for %s", path, lineno, key);
			rc = -EINVAL;
			goto out;
		}
		if (ex->n == alloc) {
			size_t na = alloc ? alloc * 2 : 32;
			void *p = realloc(ex->e, na * sizeof(*ex->e));

			if (!p) {
				rc = -ENOMEM;
				goto out;
			}
			ex->e = p;
			alloc = na;
		}
		snprintf(ex->e[ex->n].key, sizeof(ex->e[ex->n].key), "%s", key);
		snprintf(ex->e[ex->n].cell, sizeof(ex->e[ex->n].cell), "%s", cell);
		ex->e[ex->n].line = lineno;
		ex->n++;
	}
	if (ferror(f)) {
		rc = -EIO;
		snprintf(err, errlen, "%s: read error", path);
	}
out:
	free(line);
	if (f)
		fclose(f);
	if (rc < 0 && rc != -ENOENT)
		chaos__expected_free(ex);
	return rc;
}

void chaos__expected_free(struct chaos_expected *ex)
{
	free(ex->e);
	ex->e = NULL;
	ex->n = 0;
}

const char *chaos__expected_find(const struct chaos_expected *ex, const char *key)
{
	for (size_t i = 0; i < ex->n; i++)
		if (strcmp(ex->e[i].key, key) == 0)
			return ex->e[i].cell;
	return NULL;
}

int chaos__cell_matches(const char *expected, const char *got)
{
	if (strcmp(expected, got) == 0)
		return 1;
	return strcmp(expected, "FAIL") == 0 && strncmp(got, "FAIL(", 5) == 0;
}

int chaos__expected_compare(const struct chaos_mx_cell *cells, size_t n, const char *dir, FILE *out,
			    unsigned *ndiff)
{
	struct chaos_expected ex = {0};
	char loaded[64] = "";
	int rc = 0, have = 0;

	*ndiff = 0;
	for (size_t i = 0; i < n; i++) {
		const struct chaos_mx_cell *c = &cells[i];
		const char *got = chaos__mx_cell_text(c);
		const char *want;
		char key[160], err[512] = "";

		/* Cells are grouped by target: load each baseline once. */
		if (!have || strcmp(loaded, c->target) != 0) {
			char path[4300];
			int r;

			chaos__expected_free(&ex);
			snprintf(path, sizeof(path), "%s/%s", dir, c->target);
			r = chaos__expected_load(path, &ex, err, sizeof(err));
			if (r < 0 && r != -ENOENT) {
				fprintf(out, "%s\n", err);
				rc = r;
				goto out;
			}
			snprintf(loaded, sizeof(loaded), "%s", c->target);
			have = 1;
		}
		chaos__mx_key(c, key, sizeof(key));
		want = chaos__expected_find(&ex, key);
		if (!c->internal && c->v.cell == CHAOS_CELL_SKIP) {
			fprintf(out, "%s %s: skipped, not compared (%s)\n", c->target, key,
				c->v.note[0] ? c->v.note : "no reason given");
			continue;
		}
		if (!want) {
			fprintf(out, "%s %s: expected nothing (no entry in %s), got %s\n",
				c->target, key, ex.path, got);
			(*ndiff)++;
		} else if (c->internal || !chaos__cell_matches(want, got)) {
			/* An internal error shows as ERROR like an adapter's
			 * ERROR cell, but it is the controller's failure: it
			 * never matches a baseline. */
			fprintf(out, "%s %s: expected %s, got %s%s\n", c->target, key, want, got,
				c->internal ? " (internal error)" : "");
			(*ndiff)++;
		}
	}
out:
	chaos__expected_free(&ex);
	return rc;
}

int chaos__expected_is_spec(const char *path)
{
	FILE *f = fopen(path, "re");
	char line[256];
	int spec = 0;

	if (!f)
		return 0;
	while (!spec && fgets(line, sizeof(line), f))
		spec = strncmp(line, "# chaos: specification", 22) == 0;
	fclose(f);
	return spec;
}

int chaos__expected_write(const char *path, const char *target, const struct chaos_mx_cell *cells,
			  size_t n)
{
	char tmp[4200];
	FILE *in = NULL, *out = NULL;
	char *line = NULL, *copy = NULL;
	size_t cap = 0;
	unsigned char *done = calloc(n + 1, 1);
	int rc = 0;

	if (!done)
		return -ENOMEM;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	out = fopen(tmp, "we");
	if (!out) {
		rc = -errno;
		goto out;
	}
	in = fopen(path, "re");
	if (!in && errno != ENOENT) {
		rc = -errno;
		goto out;
	}
	if (!in)
		fprintf(out,
			"# Expected verdicts of the target '%s' (chaos matrix --regress).\n"
			"# Format: <suite>/<scenario> <CELL>  [# comment]\n",
			target);
	while (in && getline(&line, &cap, in) > 0) {
		char *key, *cell, *rest = NULL;
		const struct chaos_mx_cell *c;

		free(copy);
		copy = strdup(line);
		if (!copy) {
			rc = -ENOMEM;
			goto out;
		}
		copy[strcspn(copy, "\n")] = '\0';
		if (parse_line(copy, &key, &cell, &rest) != 1 ||
		    !(c = chaos__mx_cell(cells, n, target, key)) ||
		    (!c->internal && c->v.cell == CHAOS_CELL_SKIP) || c->internal) {
			fputs(line, out);
			if (line[strlen(line) - 1] != '\n')
				fputc('\n', out);
			continue;
		}
		done[c - cells] = 1;
		fprintf(out, "%s %s", key, chaos__mx_cell_text(c));
		if (rest && *rest)
			fprintf(out, "  %s", rest);
		fputc('\n', out);
	}
	for (size_t i = 0; i < n; i++) {
		char key[160];

		if (done[i] || strcmp(cells[i].target, target) != 0 || cells[i].internal ||
		    cells[i].v.cell == CHAOS_CELL_SKIP)
			continue;
		fprintf(out, "%s %s\n", chaos__mx_key(&cells[i], key, sizeof(key)),
			chaos__mx_cell_text(&cells[i]));
	}
	if (fflush(out) != 0 || ferror(out)) {
		rc = -EIO;
		goto out;
	}
	if (rename(tmp, path) < 0)
		rc = -errno;
out:
	if (out) {
		fclose(out);
		if (rc < 0)
			unlink(tmp);
	}
	if (in)
		fclose(in);
	free(line);
	free(copy);
	free(done);
	return rc;
}
