/* The history reader: one line, one JSON object, one event checked against
 * the schema. Shared by every consumer so that they all read a history the
 * same way, and a field renamed in the schema is renamed for all of them. */
#include "check/history_read.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

struct chaos_hread {
	FILE *f;
	int own; /* f was opened here */
	char *line;
	size_t cap;
	unsigned lineno;
	json_t *cur; /* the event last returned */
	struct chaos_hread_stats st;
	char error[320];
};

static int hread_new(FILE *f, int own, struct chaos_hread **r)
{
	*r = calloc(1, sizeof(**r));
	if (!*r)
		return -ENOMEM;
	(*r)->f = f;
	(*r)->own = own;
	return 0;
}

int chaos_hread_open(const char *path, struct chaos_hread **r)
{
	FILE *f = fopen(path, "re");
	int ret;

	*r = NULL;
	if (!f)
		return -errno;
	ret = hread_new(f, 1, r);
	if (ret)
		fclose(f);
	return ret;
}

int chaos_hread_from(FILE *f, struct chaos_hread **r)
{
	return hread_new(f, 0, r);
}

/* Keep the first problem only: it is the one worth showing. */
static void note_error(struct chaos_hread *r, const char *what)
{
	if (!r->error[0])
		snprintf(r->error, sizeof(r->error), "line %u: %s", r->lineno, what);
}

/* Validate the event just parsed into e and check a `run` event's
 * version; -EPROTONOSUPPORT for a version this reader does not know. */
static int take(struct chaos_hread *r, json_t *o, struct chaos_hevent *e)
{
	char err[256];
	long long version;

	r->st.events++;
	r->cur = o;
	e->o = o;
	e->lineno = r->lineno;
	e->valid = chaos_hist_validate(o, &e->ev, err, sizeof(err)) == 0;
	e->t = chaos_hev_num(e, CHAOS_HF_T, 0.0);
	if (!e->valid) {
		r->st.invalid++;
		note_error(r, err);
	}
	if (e->ev != CHAOS_HEV_RUN)
		return 1;
	version = chaos_hev_int(e, CHAOS_HF_VERSION, CHAOS_HIST_VERSION);
	if (version == CHAOS_HIST_VERSION)
		return 1;
	r->error[0] = '\0';
	snprintf(err, sizeof(err), "history version %lld is not supported (this reader knows %d)",
		 version, CHAOS_HIST_VERSION);
	note_error(r, err);
	return -EPROTONOSUPPORT;
}

int chaos_hread_next(struct chaos_hread *r, struct chaos_hevent *e)
{
	ssize_t n;

	json_decref(r->cur);
	r->cur = NULL;
	memset(e, 0, sizeof(*e));
	while ((n = getline(&r->line, &r->cap, r->f)) > 0) {
		int complete = r->line[n - 1] == '\n';
		json_t *o;

		r->lineno++;
		/* JSON_ALLOW_NUL: an outcome line with a NUL byte is recorded
		 * as "\u0000" by older controllers; refusing the whole event
		 * would hide the protocol error it is evidence of. */
		o = json_loadb(r->line, (size_t)n, JSON_ALLOW_NUL, NULL);
		if (json_is_object(o))
			return take(r, o, e);
		json_decref(o);
		if (complete) {
			r->st.bad_lines++;
			note_error(r, "not a JSON object");
		} else {
			r->st.truncated = 1;
		}
	}
	if (ferror(r->f))
		return -EIO;
	return feof(r->f) ? 0 : -ENOMEM;
}

void chaos_hread_stats(const struct chaos_hread *r, struct chaos_hread_stats *s)
{
	*s = r->st;
}

const char *chaos_hread_error(const struct chaos_hread *r)
{
	return r->error;
}

void chaos_hread_close(struct chaos_hread *r)
{
	if (!r)
		return;
	json_decref(r->cur);
	free(r->line);
	if (r->own)
		fclose(r->f);
	free(r);
}

json_t *chaos_hev_get(const struct chaos_hevent *e, enum chaos_hf f)
{
	return e->o ? json_object_get(e->o, chaos_hf_name(f)) : NULL;
}

long long chaos_hev_int(const struct chaos_hevent *e, enum chaos_hf f, long long dflt)
{
	json_t *v = chaos_hev_get(e, f);

	return json_is_integer(v) ? (long long)json_integer_value(v) : dflt;
}

double chaos_hev_num(const struct chaos_hevent *e, enum chaos_hf f, double dflt)
{
	json_t *v = chaos_hev_get(e, f);

	return json_is_number(v) ? json_number_value(v) : dflt;
}

const char *chaos_hev_str(const struct chaos_hevent *e, enum chaos_hf f, size_t *len)
{
	json_t *v = chaos_hev_get(e, f);

	if (!json_is_string(v))
		return NULL;
	if (len)
		*len = json_string_length(v);
	return json_string_value(v);
}

int chaos_hev_bool(const struct chaos_hevent *e, enum chaos_hf f)
{
	json_t *v = chaos_hev_get(e, f);

	return json_is_boolean(v) ? json_is_true(v) : -1;
}
