/* Target registry: the adapters the project ships and user-given ones.
 * A shipped target NAME is an executable scenarios/targets/NAME (scripts) or
 * <build>/targets/NAME (compiled), found relative to the chaos binary; a
 * user target is "NAME=COMMAND" (COMMAND split on blanks, run as is). */
#ifndef CHAOS_TARGETS_H
#define CHAOS_TARGETS_H

#include <stddef.h>

#define CHAOS_TARGET_ARGV_MAX 16

struct chaos_target {
	char name[64];
	char *argv[CHAOS_TARGET_ARGV_MAX + 1]; /* NULL-terminated, owned */
	int available;   /* 0 when its runtime is missing */
	char why[256];   /* the reason when not available */
};

/* Resolve "NAME" or "NAME=COMMAND". Returns 0, -ENOENT for an unknown name
 * (message in why), -EINVAL for a bad spec. */
int chaos_target_resolve(const char *spec, struct chaos_target *t);

/* The shipped targets, in display order. */
int chaos_target_list(struct chaos_target **ts, size_t *n);

void chaos_target_free(struct chaos_target *t);

/* Directories the controller exports to every target: the Python task
 * kit's directory (PYTHONPATH; also RUBYLIB and PERL5LIB for the Ruby and
 * Perl kits beside it), the directory holding the Node.js kit's package
 * chaos-task/ (NODE_PATH) and the one holding chaos-task (PATH). */
const char *chaos_kit_python_dir(void);
const char *chaos_kit_node_dir(void);
const char *chaos_kit_bin_dir(void);

#endif
