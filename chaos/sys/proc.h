/* What /proc says about a process: its stat fields (the one parser of
 * /proc/<pid>/stat in the controller), deadline diagnostics, leftover
 * reports and the exit status of a worker that is not our child. */
#ifndef CHAOS_DIAG_H
#define CHAOS_DIAG_H

#include <stddef.h>
#include <sys/types.h>

/* The fields of /proc/<pid>/stat the controller uses (proc(5) numbering). */
struct chaos_proc_stat {
	pid_t pid;                    /* field 1 */
	char comm[64];                /* field 2, without the parentheses */
	char state;                   /* field 3 */
	pid_t ppid;                   /* field 4 */
	unsigned long long starttime; /* field 22: clock ticks after boot */
	int exit_code;                /* field 52 (a wait status), -1 if absent */
	int nfields;                  /* how many fields the text had */
};

/* Parse the text of /proc/<pid>/stat. comm may contain blanks and ")":
 * fields are counted from the last ')'. Returns 0, or -EINVAL when the
 * text is not a stat line of at least 22 fields. Pure function. */
int chaos_proc_stat_parse(const char *text, struct chaos_proc_stat *st);

/* Read and parse /proc/<pid>/stat. 0, -ENOENT (gone), -EIO (unparsable)
 * or -errno. */
int chaos_proc_stat(pid_t pid, struct chaos_proc_stat *st);

struct chaos_procinfo {
	pid_t pid;
	pid_t ppid;
	char comm[64];
	char state;
	char wchan[64];
	char *stack; /* per-thread kernel stacks, malloc'ed, or NULL when unreadable */
};

/* Fill pi from /proc/<pid>/{stat,wchan,task/<tid>/stack}. The stack text is
 * bounded (64 KiB). Returns 0 or -errno (-ENOENT: gone). */
int chaos_proc_info(pid_t pid, struct chaos_procinfo *pi);
void chaos_procinfo_free(struct chaos_procinfo *pi);

/* comm of pid ("?" when gone). */
void chaos_proc_comm(pid_t pid, char *buf, size_t len);

/* Read state and exit_code (field 52, a wait status) of pid from
 * /proc/<pid>/stat. Only meaningful while pid is a zombie. 0 or -errno. */
int chaos_proc_exit_status(pid_t pid, char *state, int *status);

#endif
