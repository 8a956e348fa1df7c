/* JSON-lines history writer. Every event becomes one complete line written
 * by one write() call, so a controller that is SIGKILLed mid-run still
 * leaves a history that is valid up to its last line. */
#include "engine/history.h"

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

int chaos_hist_emit(struct chaos_hist *h, const char *ev, json_t *fields)
{
	json_t *o = NULL;
	char *line = NULL;
	size_t len, off = 0;
	int ret = 0;

	if (!h) {
		ret = -EBADF;
		goto out;
	}
	/* "t" and "ev" come first so that a human reading the file sees them
	 * at the start of every line; jansson keeps insertion order. */
	o = json_object();
	if (!o || json_object_set_new(o, "t", json_real(chaos_hist_now(h))) ||
	    json_object_set_new(o, "ev", json_string(ev))) {
		ret = -ENOMEM;
		goto out;
	}
	if (fields && json_object_update(o, fields)) {
		ret = -ENOMEM;
		goto out;
	}
	line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9));
	if (!line) {
		ret = -ENOMEM;
		goto out;
	}
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
			goto out;
		}
		off += (size_t)w;
	}
out:
	free(line);
	json_decref(o);
	json_decref(fields);
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
