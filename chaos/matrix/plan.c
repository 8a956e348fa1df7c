/* Suites, pairs and shards of a matrix run. */
#include "matrix/plan.h"

#include "check/value.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

/* A suite holds a few dozen files; this only bounds a wrong directory. */
#define PLAN_MAX_SCENARIOS 10000

static int scen_cmp(const void *a, const void *b)
{
	const struct chaos_mx_scen *x = a, *y = b;
	int c = strcmp(x->suite, y->suite);

	return c ? c : strcmp(x->name, y->name);
}

int chaos__plan_suite(const char *dir, const char *suite, struct chaos_mx_scen **v, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t first = *n;
	int rc = 0;

	if (!d)
		return -errno;
	if (strlen(suite) >= sizeof((*v)->suite)) {
		rc = -ENAMETOOLONG;
		goto out;
	}
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		struct chaos_mx_scen *s, *nv;

		if (l < 5 || strcmp(de->d_name + l - 4, ".ini") != 0 || de->d_name[0] == '.')
			continue;
		if (l - 4 >= sizeof(s->name) || strlen(dir) + l + 2 > sizeof(s->path)) {
			rc = -ENAMETOOLONG;
			goto out;
		}
		if (*n >= PLAN_MAX_SCENARIOS) {
			rc = -E2BIG;
			goto out;
		}
		nv = realloc(*v, (*n + 1) * sizeof(**v));
		if (!nv) {
			rc = -ENOMEM;
			goto out;
		}
		*v = nv;
		s = &nv[(*n)++];
		memset(s, 0, sizeof(*s));
		snprintf(s->suite, sizeof(s->suite), "%s", suite);
		memcpy(s->name, de->d_name, l - 4);
		snprintf(s->path, sizeof(s->path), "%s/%s", dir, de->d_name);
	}
	/* readdir order depends on the file system; the matrix must not. */
	if (*n > first)
		qsort(*v + first, *n - first, sizeof(**v), scen_cmp);
out:
	closedir(d);
	return rc;
}

int chaos__plan_parse_shard(const char *s, unsigned *k, unsigned *n)
{
	const char *slash = strchr(s, '/');
	uint64_t a, b;

	/* Both numbers in the value grammar's digits (check/value.c). */
	if (!slash || chaos_value_u64n(s, (size_t)(slash - s), &a) ||
	    chaos_value_u64n(slash + 1, strlen(slash + 1), &b))
		return -EINVAL;
	if (a < 1 || b < 1 || a > b || b > 100000)
		return -EINVAL;
	*k = (unsigned)a;
	*n = (unsigned)b;
	return 0;
}

struct sort_ctx {
	const char *const *targets;
	const struct chaos_mx_scen *scens;
};

/* qsort has no context argument in C11; the comparison reads this. */
static struct sort_ctx sort_ctx;

static int pair_cmp(const void *a, const void *b)
{
	const struct chaos_mx_pair *x = a, *y = b;
	int c = strcmp(sort_ctx.targets[x->target], sort_ctx.targets[y->target]);

	if (c)
		return c;
	return scen_cmp(&sort_ctx.scens[x->scen], &sort_ctx.scens[y->scen]);
}

int chaos__plan_pairs(const char *const *targets, size_t nt, const struct chaos_mx_scen *scens,
		      size_t ns, unsigned shard_k, unsigned shard_n, struct chaos_mx_pair **pairs,
		      size_t *np)
{
	struct chaos_mx_pair *all = calloc(nt * ns + 1, sizeof(*all));
	size_t i, n = 0;

	if (!all)
		return -ENOMEM;
	for (i = 0; i < nt * ns; i++) {
		all[i].target = i / ns;
		all[i].scen = i % ns;
	}
	sort_ctx.targets = targets;
	sort_ctx.scens = scens;
	qsort(all, nt * ns, sizeof(*all), pair_cmp);
	for (i = 0; i < nt * ns; i++)
		if (shard_n <= 1 || i % shard_n == shard_k - 1)
			all[n++] = all[i];
	*pairs = all;
	*np = n;
	return 0;
}
