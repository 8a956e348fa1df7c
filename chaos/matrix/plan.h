/* What a matrix run covers: the scenarios of each suite directory, the
 * (target, scenario) pairs in their fixed order, and the --shard slice.
 * Pure bookkeeping (directory listing only); internal to the chaos core. */
#ifndef CHAOS_PLAN_H
#define CHAOS_PLAN_H

#include <stddef.h>

struct chaos_mx_scen {
	char suite[64]; /* directory's base name */
	char name[64];	/* file's base name without .ini */
	char path[4096];
};

/* Append the *.ini files of dir (sorted by name) to *v. suite names them.
 * Returns 0, -ENOENT when dir does not exist, -ENAMETOOLONG for a name
 * that does not fit, -errno otherwise. */
int chaos__plan_suite(const char *dir, const char *suite, struct chaos_mx_scen **v, size_t *n);

/* Parse "K/N" (1 <= K <= N <= 100000). 0 or -EINVAL. */
int chaos__plan_parse_shard(const char *s, unsigned *k, unsigned *n);

struct chaos_mx_pair {
	size_t target; /* index into the target names */
	size_t scen;   /* index into the scenarios */
};

/* All pairs sorted by (target name, suite, scenario name); keep those whose
 * index i satisfies i % shard_n == shard_k - 1. Every shard of 1..N thus
 * gets a disjoint slice and their union is the whole matrix, whatever order
 * the targets and suites were given in. Returns 0 or -ENOMEM. */
int chaos__plan_pairs(const char *const *targets, size_t nt, const struct chaos_mx_scen *scens,
		      size_t ns, unsigned shard_k, unsigned shard_n, struct chaos_mx_pair **pairs,
		      size_t *np);

#endif
