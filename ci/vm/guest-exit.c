/* Tell qemu the guest's verdict through the isa-debug-exit device: a byte
 * written to its port makes qemu exit with status (byte << 1) | 1. busybox
 * has no outb, hence this tiny static program.
 * Usage: guest-exit CODE   (ci/check-v2 treats 16, i.e. qemu status 33, as
 * a pass and anything else as a failure). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/io.h>

#define DEBUG_EXIT_PORT 0xf4

int main(int argc, char **argv)
{
	int code = argc > 1 ? atoi(argv[1]) : 1;

	if (ioperm(DEBUG_EXIT_PORT, 4, 1) < 0) {
		perror("guest-exit: ioperm");
		return 1;
	}
	outb((unsigned char)code, DEBUG_EXIT_PORT);
	/* Only reached if qemu has no isa-debug-exit device. */
	fprintf(stderr, "guest-exit: no isa-debug-exit device at 0x%x\n", DEBUG_EXIT_PORT);
	return 1;
}
