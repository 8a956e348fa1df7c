/* Preloaded into a cmocka test program in the check-v2 guest to skip tests
 * by name: CMOCKA_SKIP="test_bench_*" makes cmocka skip every test whose
 * name matches the glob. cmocka 1.1 has the skip filter only as a function,
 * not as an environment variable, and the test programs link it as a shared
 * library, so a constructor that runs before main can set it.
 *
 * Why: the guest runs under software emulation (no KVM), where the
 * benchmarks of tests/test_run (a fixed CPU-bound loop timed six times) take
 * minutes and measure the emulator, not the controller. */
#include <stdlib.h>

void cmocka_set_skip_filter(const char *pattern);

__attribute__((constructor)) static void cmocka_skip_from_env(void)
{
	const char *pattern = getenv("CMOCKA_SKIP");

	if (pattern && *pattern)
		cmocka_set_skip_filter(pattern);
}
