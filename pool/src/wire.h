/* Wire format between the pool and one worker: fixed 40-byte little-endian
 * header plus payload, packed field by field (no raw structs on the wire). */
#ifndef SP_WIRE_H
#define SP_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define SP__WIRE_VERSION 1
#define SP__HDR 40

enum sp__msg {
	SP__MSG_TASK = 1, /* pool -> worker: code=attempt a=fn b=index payload=arg */
	SP__MSG_DONE,     /* worker -> pool: a=start_ns b=end_ns payload=result */
	SP__MSG_ERR,      /* worker -> pool: code=task error, a=start_ns b=end_ns */
	SP__MSG_HELLO,    /* worker -> pool: a=oom_kill baseline (UINT64_MAX: none),
			   * payload=path of the counter file */
};

struct sp__frame {
	uint8_t type;
	int32_t code;
	uint64_t seq;
	uint64_t a;
	uint64_t b;
	uint64_t len;
};

void sp__pack(uint8_t out[SP__HDR], const struct sp__frame *f);
/* Returns 0 (header decoded), -EAGAIN (fewer than SP__HDR bytes), -EPROTO
 * (unknown version or type, nonzero reserved bytes, or a payload longer than
 * max_len). */
int sp__unpack(const uint8_t *in, size_t avail, uint64_t max_len, struct sp__frame *f);

#endif
