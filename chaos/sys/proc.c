/* /proc readers: the one parser of /proc/<pid>/stat, and the diagnostics
 * of a process. Everything here tolerates a process vanishing between two
 * reads: that is the normal case for the processes we look at. */
#include "sys/proc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "sys/file.h"

#define STACK_MAX (64 * 1024)

int chaos_proc_stat_parse(const char *text, struct chaos_proc_stat *st)
{
	/* comm is in parentheses and may itself contain ") " and blanks, so
	 * the fields are counted from the LAST closing parenthesis; field 3
	 * (state) follows it after one blank. */
	const char *l = strchr(text, '(');
	const char *r = strrchr(text, ')');
	const char *p;
	int field;

	memset(st, 0, sizeof(*st));
	st->exit_code = -1;
	if (!l || !r || r < l || r[1] != ' ' || !r[2])
		return -EINVAL;
	st->pid = (pid_t)strtol(text, NULL, 10);
	snprintf(st->comm, sizeof(st->comm), "%.*s", (int)(r - l - 1), l + 1);
	p = r + 2;
	st->state = *p;
	for (field = 3; *p; field++) {
		char *end;

		errno = 0;
		if (field == 4)
			st->ppid = (pid_t)strtol(p, &end, 10);
		else if (field == 22)
			st->starttime = strtoull(p, &end, 10);
		else if (field == 52)
			st->exit_code = (int)strtol(p, &end, 10);
		else
			end = NULL;
		if (end && (errno || end == p || (*end != ' ' && *end != '\n' && *end)))
			return -EINVAL;
		p = strchr(p, ' ');
		if (!p)
			break;
		p++;
	}
	st->nfields = field;
	return field >= 22 ? 0 : -EINVAL;
}

int chaos_proc_stat(pid_t pid, struct chaos_proc_stat *st)
{
	char path[64], buf[2048];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	n = chaos_read_small(path, buf, sizeof(buf));
	if (n < 0)
		return n == -ESRCH ? -ENOENT : (int)n;
	return chaos_proc_stat_parse(buf, st) ? -EIO : 0;
}

void chaos_proc_comm(pid_t pid, char *buf, size_t len)
{
	struct chaos_proc_stat st;

	if (chaos_proc_stat(pid, &st))
		snprintf(buf, len, "?");
	else
		snprintf(buf, len, "%s", st.comm);
}

int chaos_proc_exit_status(pid_t pid, char *state, int *status)
{
	struct chaos_proc_stat st;
	int ret = chaos_proc_stat(pid, &st);

	if (ret)
		return ret;
	if (st.nfields < 52)
		return -EIO;
	*state = st.state;
	*status = st.exit_code;
	return 0;
}

/* Append every thread's kernel stack; unreadable stacks (no CAP_SYS_ADMIN,
 * or a kernel without CONFIG_STACKTRACE) leave pi->stack NULL. */
static void read_stacks(struct chaos_procinfo *pi)
{
	char path[64], tpath[400], one[4096];
	struct dirent *de;
	size_t used = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pi->pid);
	d = opendir(path);
	if (!d)
		return;
	while ((de = readdir(d)) != NULL) {
		ssize_t n;
		int w;

		if (de->d_name[0] == '.')
			continue;
		snprintf(tpath, sizeof(tpath), "%s/%s/stack", path, de->d_name);
		n = chaos_read_small(tpath, one, sizeof(one));
		if (n < 0)
			continue;
		if (!pi->stack) {
			pi->stack = malloc(STACK_MAX);
			if (!pi->stack)
				break;
			pi->stack[0] = '\0';
		}
		w = snprintf(pi->stack + used, STACK_MAX - used, "[tid %s]\n%s", de->d_name, one);
		if (w < 0 || (size_t)w >= STACK_MAX - used)
			break;
		used += (size_t)w;
	}
	closedir(d);
}

int chaos_proc_info(pid_t pid, struct chaos_procinfo *pi)
{
	struct chaos_proc_stat st;
	char path[64];
	int ret;

	memset(pi, 0, sizeof(*pi));
	pi->pid = pid;
	ret = chaos_proc_stat(pid, &st);
	if (ret)
		return ret;
	snprintf(pi->comm, sizeof(pi->comm), "%s", st.comm);
	pi->state = st.state;
	pi->ppid = st.ppid;
	snprintf(path, sizeof(path), "/proc/%d/wchan", (int)pid);
	if (chaos_read_small(path, pi->wchan, sizeof(pi->wchan)) < 0)
		snprintf(pi->wchan, sizeof(pi->wchan), "?");
	read_stacks(pi);
	return 0;
}

void chaos_procinfo_free(struct chaos_procinfo *pi)
{
	free(pi->stack);
	pi->stack = NULL;
}
