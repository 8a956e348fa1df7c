/* Command-line values of `chaos run`: sizes, durations and fault specs,
 * and the option set that builds a scenario without a scenario file. */
#ifndef CHAOS_CLIOPTS_H
#define CHAOS_CLIOPTS_H

#include <stddef.h>
#include <stdint.h>

#include "check/scenario.h"

/* "64M", "100m", "1G", "4096", "512K" (binary multiples). 0 or -EINVAL. */
int chaos_parse_size(const char *s, uint64_t *bytes);

/* "200ms", "30s", "2m". A unit is required. 0 or -EINVAL. */
int chaos_parse_time_ms(const char *s, uint32_t *ms);

/* Build a scenario from `chaos run` options (argv[0] is the first option;
 * parsing stops at "--"). On success *cmd_index is the index of the first
 * word of the target command and sc is initialised (free it with
 * chaos_scenario_free). out/verbose receive --out and -v. Returns 0, or
 * -EINVAL with "what and why" in err. */
int chaos_cli_scenario(int argc, char **argv, struct chaos_scenario *sc, int *cmd_index,
		       const char **out, int *verbose, char *err, size_t errlen);

#endif
