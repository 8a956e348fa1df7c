/* The options of `chaos run -- CMD`, which build the scenario model a file
 * would, through the same values and the same validation. */
#ifndef CHAOS_CLIOPTS_H
#define CHAOS_CLIOPTS_H

#include <stddef.h>
#include <stdint.h>

#include "check/scenario.h"

/* Build a scenario from `chaos run` options (argv[0] is the first option;
 * parsing stops at "--"). On success *cmd_index is the index of the first
 * word of the target command and sc is initialised (free it with
 * chaos_scenario_free). out/verbose receive --out and -v. Returns 0, or
 * -EINVAL (or -ENOMEM) with "--option: what and why" in err; sc is then
 * freed. */
int chaos_cli_scenario(int argc, char **argv, struct chaos_scenario *sc, int *cmd_index,
		       const char **out, int *verbose, char *err, size_t errlen);

#endif
