/* Internals of the target registry, for chaos/matrix/matrix.c and the tests. */
#ifndef CHAOS_TARGETS_INTERNAL_H
#define CHAOS_TARGETS_INTERNAL_H

#include <stddef.h>

/* (Re)initialise the registry as if the chaos binary were exe (NULL: no
 * binary known). The public functions do this lazily from /proc/self/exe;
 * tests call it with a fake layout. Clears the runtime-probe cache. */
void chaos__targets_init(const char *exe);

/* The directory holding scenarios/targets/ (a source tree or an installed
 * share/chaos), or "" when none was found. */
const char *chaos__targets_src_dir(void);

/* Run argv[0] (an absolute path) with stdin and stderr on /dev/null,
 * capturing at most outlen-1 bytes of stdout into out (may be NULL), killed
 * after timeout_ms. Returns its exit status (128+signal when killed by a
 * signal), -ETIMEDOUT, or -errno when it could not be started. */
int chaos__probe(char *const argv[], char *out, size_t outlen, int timeout_ms);

#endif
