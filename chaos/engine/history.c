/* JSON-lines history writer. Every event becomes one complete line written
 * by one write() call, so a controller that is SIGKILLed mid-run still
 * leaves a history that is valid up to its last line. */
#include "engine/history.h"

#include <stdio.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct chaos_hist {
	int fd;
	struct timespec t0;
};

int chaos_hist_open(const char *path, const struct timespec *t0, struct chaos_hist **h)
{
	struct chaos_hist *n = NULL;
	int ret = 0;

	*h = NULL;
	n = calloc(1, sizeof(*n));
	if (!n) {
		ret = -ENOMEM;
		goto out;
	}
	n->t0 = *t0;
	n->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
	if (n->fd < 0) {
		ret = -errno;
		goto out;
	}
	*h = n;
	n = NULL;
out:
	free(n);
	return ret;
}

double chaos_hist_now(const struct chaos_hist *h)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - h->t0.tv_sec) + (double)(now.tv_nsec - h->t0.tv_nsec) / 1e9;
}

/* {"t":..., "ev":ev, ...fields}, or NULL without memory. Takes fields. */
static json_t *make_event(const struct chaos_hist *h, const char *ev, json_t *fields)
{
	json_t *o = json_object();

	/* "t" and "ev" come first so that a human reading the file sees them
	 * at the start of every line; jansson keeps insertion order. */
	if (!o || json_object_set_new(o, chaos_hf_name(CHAOS_HF_T), json_real(chaos_hist_now(h))) ||
	    json_object_set_new(o, chaos_hf_name(CHAOS_HF_EV), json_string(ev)) ||
	    (fields && json_object_update(o, fields))) {
		json_decref(o);
		o = NULL;
	}
	json_decref(fields);
	return o;
}

/* Write o as one line with one write(). */
static int write_event(struct chaos_hist *h, const json_t *o)
{
	char *line;
	size_t len, off = 0;
	int ret = 0;

	line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9));
	if (!line)
		return -ENOMEM;
	len = strlen(line);
	/* The terminating NUL becomes the newline; from here on the buffer is
	 * only used with its explicit length. */
	line[len++] = '\n';
	while (off < len) {
		ssize_t w = write(h->fd, line + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			ret = -errno;
			break;
		}
		off += (size_t)w;
	}
	free(line);
	return ret;
}

int chaos_hist_emit(struct chaos_hist *h, const char *ev, json_t *fields)
{
	json_t *o;
	int ret;

	if (!h) {
		json_decref(fields);
		return -EBADF;
	}
	o = make_event(h, ev, fields);
	ret = o ? write_event(h, o) : -ENOMEM;
	json_decref(o);
	return ret;
}

void chaos_hist_close(struct chaos_hist *h)
{
	if (!h)
		return;
	if (h->fd >= 0)
		close(h->fd);
	free(h);
}

/* A JSON string from arbitrary bytes: NUL bytes and, when the text is not
 * UTF-8, bytes above 0x7f become '?', so a hostile target cannot make the
 * history unwritable. NUL must go even though json_stringn() takes it: the
 * history would hold "\u0000", which readers without JSON_ALLOW_NUL refuse,
 * dropping the whole event. Other control bytes are kept; JSON escapes them
 * and every reader loads them. */
json_t *chaos_hist_text(const char *s, size_t n)
{
	json_t *j;
	char *tmp;
	size_t i;

	if (!memchr(s, '\0', n)) {
		j = json_stringn(s, n);
		if (j)
			return j;
	}
	tmp = malloc(n + 1);
	if (!tmp)
		return json_string("?");
	for (i = 0; i < n; i++)
		tmp[i] = s[i] ? s[i] : '?';
	j = json_stringn(tmp, n);
	if (!j) {
		for (i = 0; i < n; i++) {
			if ((unsigned char)tmp[i] >= 0x80)
				tmp[i] = '?';
		}
		j = json_stringn(tmp, n);
	}
	free(tmp);
	return j;
}

/* ---- the events of the schema ------------------------------------------- */

/* Event ev from the values of its fields in the schema's order (NULL: the
 * field is absent), checked against the schema, then written. Takes the
 * references to vals. */
static int emit_event(struct chaos_hist *h, enum chaos_hev ev, json_t **vals, unsigned n)
{
	const struct chaos_hev_spec *spec = &chaos_hist_events[ev];
	json_t *fields = json_object(), *o = NULL;
	enum chaos_hev got;
	char err[256];
	unsigned i;
	int ret = 0;

	if (!h) {
		ret = -EBADF;
		goto out;
	}
	if (n != spec->nfields) {
		ret = -EINVAL;
		goto out;
	}
	for (i = 0; i < n && fields; i++) {
		/* A required value that could not be made (a NULL string, no
		 * memory) would leave the event short of a field. */
		if (!vals[i] && !(spec->fields[i].types & CHAOS_HT_ABSENT))
			ret = -EINVAL;
		if (vals[i] &&
		    json_object_set_new(fields, chaos_hf_name(spec->fields[i].field), vals[i]))
			ret = -ENOMEM;
		vals[i] = NULL;
	}
	if (!fields || ret) {
		ret = ret ? ret : -ENOMEM;
		goto out;
	}
	o = make_event(h, spec->name, fields);
	fields = NULL;
	if (!o)
		ret = -ENOMEM;
	else if (chaos_hist_validate(o, &got, err, sizeof(err)))
		ret = -EINVAL;
	else
		ret = write_event(h, o);
out:
	for (i = 0; i < n; i++)
		json_decref(vals[i]);
	json_decref(fields);
	json_decref(o);
	return ret;
}

#define NVALS(v) ((unsigned)(sizeof(v) / sizeof((v)[0])))

/* Text from outside the controller, or null. */
static json_t *text_or_null(const char *s)
{
	return s ? chaos_hist_text(s, strlen(s)) : json_null();
}

static json_t *int_or_null(long long v, int present)
{
	return present ? json_integer(v) : json_null();
}

static json_t *argv_array(char *const *argv)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a && argv && argv[i]; i++)
		json_array_append_new(a, chaos_hist_text(argv[i], strlen(argv[i])));
	return a;
}

int chaos_hist_run(struct chaos_hist *h, const struct chaos_hist_run *r)
{
	json_t *v[] = {json_integer(CHAOS_HIST_VERSION),
		       text_or_null(r->name ? r->name : ""),
		       text_or_null(r->target ? r->target : ""),
		       argv_array(r->argv),
		       json_string(r->backend),
		       text_or_null(r->cgroup),
		       json_string(r->mem_mode),
		       json_integer((json_int_t)r->mem_limit),
		       json_integer(r->deadline_ms),
		       json_integer((json_int_t)r->seed),
		       json_integer(r->workers),
		       json_integer(r->ntasks),
		       text_or_null(r->policy ? r->policy : ""),
		       json_integer(r->retries)};

	return emit_event(h, CHAOS_HEV_RUN, v, NVALS(v));
}

int chaos_hist_spawn(struct chaos_hist *h, pid_t pid)
{
	json_t *v[] = {json_integer(pid)};

	return emit_event(h, CHAOS_HEV_SPAWN, v, NVALS(v));
}

int chaos_hist_worker(struct chaos_hist *h, pid_t pid, unsigned index, const char *cgroup,
		      const char *source)
{
	json_t *v[] = {json_integer(pid), json_integer(index), text_or_null(cgroup),
		       json_string(source)};

	return emit_event(h, CHAOS_HEV_WORKER, v, NVALS(v));
}

int chaos_hist_start(struct chaos_hist *h, uint32_t task, uint32_t attempt, pid_t pid)
{
	json_t *v[] = {json_integer(task), json_integer(attempt), json_integer(pid)};

	return emit_event(h, CHAOS_HEV_START, v, NVALS(v));
}

int chaos_hist_end(struct chaos_hist *h, uint32_t task, uint32_t attempt, pid_t pid, int64_t result)
{
	json_t *v[] = {json_integer(task), json_integer(attempt), json_integer(pid),
		       json_integer((json_int_t)result)};

	return emit_event(h, CHAOS_HEV_END, v, NVALS(v));
}

int chaos_hist_fail(struct chaos_hist *h, uint32_t task, uint32_t attempt, pid_t pid,
		    const char *text, size_t len)
{
	json_t *v[] = {json_integer(task), json_integer(attempt), json_integer(pid),
		       chaos_hist_text(text, len)};

	return emit_event(h, CHAOS_HEV_FAIL, v, NVALS(v));
}

int chaos_hist_fault(struct chaos_hist *h, const struct chaos_hist_fault *f)
{
	json_t *v[] = {json_string(f->kind),
		       text_or_null(f->signal),
		       int_or_null(f->pid, f->pid > 0),
		       int_or_null(f->task, f->task >= 0),
		       json_boolean(f->ok),
		       text_or_null(f->error),
		       text_or_null(f->rule),
		       f->victim ? int_or_null(f->fault, f->fault >= 0) : NULL,
		       f->victim ? json_string(f->victim) : NULL,
		       f->victim && f->anchor ? json_string(f->anchor) : NULL,
		       f->victim ? text_or_null(f->role) : NULL};

	return emit_event(h, CHAOS_HEV_FAULT, v, NVALS(v));
}

int chaos_hist_death(struct chaos_hist *h, const struct chaos_hist_death *d)
{
	json_t *v[] = {json_integer(d->pid),
		       int_or_null(d->task, d->task >= 0),
		       int_or_null(d->attempt, d->task >= 0),
		       json_string(d->how),
		       text_or_null(d->signal),
		       int_or_null(d->code, d->code >= 0),
		       d->oom >= 0 ? json_boolean(d->oom) : json_null(),
		       int_or_null(d->oom_kill, d->oom_kill >= 0),
		       d->role ? json_string(d->role) : NULL};

	return emit_event(h, CHAOS_HEV_DEATH, v, NVALS(v));
}

int chaos_hist_oom(struct chaos_hist *h, const char *cgroup, uint64_t oom_kill)
{
	json_t *v[] = {text_or_null(cgroup), json_integer((json_int_t)oom_kill)};

	return emit_event(h, CHAOS_HEV_OOM, v, NVALS(v));
}

int chaos_hist_event_error(struct chaos_hist *h, const char *text, pid_t pid)
{
	json_t *v[] = {text_or_null(text), int_or_null(pid, pid > 0)};

	return emit_event(h, CHAOS_HEV_EVENT_ERROR, v, NVALS(v));
}

int chaos_hist_outcome(struct chaos_hist *h, const char *line, size_t len, unsigned lineno)
{
	json_t *v[] = {chaos_hist_text(line, len), json_integer(lineno)};

	return emit_event(h, CHAOS_HEV_OUTCOME, v, NVALS(v));
}

int chaos_hist_protocol_error(struct chaos_hist *h, unsigned lineno, const char *line, size_t len,
			      const char *text)
{
	json_t *v[] = {json_integer(lineno), chaos_hist_text(line, len), text_or_null(text)};

	return emit_event(h, CHAOS_HEV_PROTOCOL_ERROR, v, NVALS(v));
}

int chaos_hist_target_exit(struct chaos_hist *h, const char *signal, int code)
{
	json_t *v[] = {json_string(signal ? "signal" : "exit"), signal ? json_string(signal) : NULL,
		       signal ? NULL : json_integer(code)};

	return emit_event(h, CHAOS_HEV_TARGET_EXIT, v, NVALS(v));
}

int chaos_hist_deadline(struct chaos_hist *h, unsigned deadline_ms)
{
	json_t *v[] = {json_integer(deadline_ms)};

	return emit_event(h, CHAOS_HEV_DEADLINE, v, NVALS(v));
}

int chaos_hist_diag(struct chaos_hist *h, const struct chaos_procinfo *pi, json_t *unfinished)
{
	json_t *none[] = {json_null(), NULL, NULL, NULL, NULL, NULL, json_incref(unfinished)};
	json_t *v[7];

	if (!pi)
		return emit_event(h, CHAOS_HEV_DIAG, none, NVALS(none));
	json_decref(none[0]);
	json_decref(none[6]);
	v[0] = json_integer(pi->pid);
	v[1] = json_integer(pi->ppid);
	v[2] = text_or_null(pi->comm);
	v[3] = chaos_hist_text(&pi->state, 1);
	v[4] = text_or_null(pi->wchan);
	v[5] = text_or_null(pi->stack);
	v[6] = json_incref(unfinished);
	return emit_event(h, CHAOS_HEV_DIAG, v, NVALS(v));
}

int chaos_hist_leftover(struct chaos_hist *h, pid_t pid, const char *comm)
{
	json_t *v[] = {json_integer(pid), text_or_null(comm)};

	return emit_event(h, CHAOS_HEV_LEFTOVER, v, NVALS(v));
}

int chaos_hist_teardown(struct chaos_hist *h, unsigned killed, unsigned removed, const char *error)
{
	json_t *v[] = {json_integer(killed), json_integer(removed), json_boolean(!error),
		       text_or_null(error)};

	return emit_event(h, CHAOS_HEV_TEARDOWN, v, NVALS(v));
}

int chaos_hist_end_run(struct chaos_hist *h, const char *verdict, const char *reason,
		       double elapsed_ms)
{
	json_t *v[] = {json_string(verdict), text_or_null(reason), json_real(elapsed_ms)};

	return emit_event(h, CHAOS_HEV_END_RUN, v, NVALS(v));
}
