/* Shared glue for the fuzz harnesses.
 *
 * Each harness is one fuzz/fuzz_<name>.c that defines its entry point with
 * FUZZ_TARGET(name). Built with clang and libFuzzer, the entry point is
 * LLVMFuzzerTestOneInput; built into tests/test_fuzz_regress.c (with gcc,
 * FUZZ_REGRESS defined), it is fuzz_one_<name>, so the regression test
 * replays crash inputs through exactly the code the fuzzer ran.
 *
 * Besides the sanitizers, every harness checks properties of the parser's
 * answer (round trips, agreement between two readers of one format). A broken
 * property aborts under libFuzzer, so the fuzzer saves the input as a crash;
 * in the regression build it is counted instead, so that cmocka can name the
 * file that broke it.
 */
#ifndef CHAOS_FUZZ_H
#define CHAOS_FUZZ_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifdef FUZZ_REGRESS
#define FUZZ_TARGET(name) int fuzz_one_##name(const uint8_t *data, size_t size)
/* Properties broken so far; the regression test resets and reads it. */
static unsigned fuzz_failures;
#else
#define FUZZ_TARGET(name)                                                                          \
	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);                              \
	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
#endif

/* Report a broken property. Under libFuzzer this must crash: that is how the
 * fuzzer learns the input is interesting and saves it. */
static inline void fuzz_fail(const char *what, const char *file, int line)
{
	fprintf(stderr, "%s:%d: property broken: %s\n", file, line, what);
#ifdef FUZZ_REGRESS
	fuzz_failures++;
#else
	abort();
#endif
}

#define FUZZ_CHECK(cond)                                                                           \
	do {                                                                                       \
		if (!(cond))                                                                       \
			fuzz_fail(#cond, __FILE__, __LINE__);                                      \
	} while (0)

/* Findings reported but not fixed yet would stop every fuzzing session at
 * once. With FUZZ_KNOWN_OPEN=1 in the environment (fuzz/run sets it) a
 * harness skips inputs of a known open class, so the session can look for
 * new ones; the regression test never sets it, so tests/data/fuzz/ * /open/
 * keeps reproducing them. */
static inline int fuzz_mask_open(void)
{
	static int mask = -1;

	if (mask < 0) {
		const char *e = getenv("FUZZ_KNOWN_OPEN");

		mask = e && *e == '1';
	}
	return mask;
}

/* The parsers under test that take a path read it through this memfd: one
 * descriptor per harness and process, rewritten for every input, so a long
 * fuzzing session neither leaks descriptors nor touches the disk. The path
 * is /proc/self/fd/N, which fopen() opens afresh at offset 0. */
/* Initialise with FUZZ_FILE_INIT: fd -1 means not created yet. */
struct fuzz_file {
	int fd;
	char path[64];
};

#define FUZZ_FILE_INIT                                                                             \
	{                                                                                          \
		.fd = -1, .path = ""                                                               \
	}

static inline int fuzz_file_put(struct fuzz_file *ff, const char *name, const void *data,
				size_t size)
{
	const char *p = data;
	size_t off = 0;

	if (ff->fd < 0) {
		ff->fd = memfd_create(name, MFD_CLOEXEC);
		if (ff->fd < 0)
			return -errno;
		snprintf(ff->path, sizeof(ff->path), "/proc/self/fd/%d", ff->fd);
	}
	if (ftruncate(ff->fd, 0) < 0)
		return -errno;
	/* A memfd write is not interrupted by signals, but a short write is
	 * still handled rather than assumed away; the loop ends because every
	 * round writes at least one byte or returns. */
	while (off < size) {
		ssize_t n = pwrite(ff->fd, p + off, size - off, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		off += (size_t)n;
	}
	return 0;
}

#endif
