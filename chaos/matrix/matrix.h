/* `chaos matrix`: suites x targets, verdict table, reports, baselines. */
#ifndef CHAOS_MATRIX_H
#define CHAOS_MATRIX_H

/* Entry point of the subcommand; argv[0] is "matrix". Returns the CLI exit
 * code (0 all as expected, 1 a verdict differs / failed, 2 usage, 3 skipped,
 * 4 internal error). */
int chaos_matrix_main(int argc, char **argv);

#endif
