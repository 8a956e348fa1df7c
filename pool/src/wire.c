/* Pack and unpack the frame header; see wire.h for the layout. */
#include <errno.h>

#include "wire.h"

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

void sp__pack(uint8_t out[SP__HDR], const struct sp__frame *f)
{
	uint32_t code = (uint32_t)f->code;

	out[0] = SP__WIRE_VERSION;
	out[1] = f->type;
	out[2] = 0;
	out[3] = 0;
	for (int i = 0; i < 4; i++)
		out[4 + i] = (uint8_t)(code >> (8 * i));
	put64(out + 8, f->seq);
	put64(out + 16, f->a);
	put64(out + 24, f->b);
	put64(out + 32, f->len);
}

int sp__unpack(const uint8_t *in, size_t avail, uint64_t max_len, struct sp__frame *f)
{
	uint32_t code = 0;

	if (avail < SP__HDR)
		return -EAGAIN;
	if (in[0] != SP__WIRE_VERSION || in[1] < SP__MSG_TASK || in[1] > SP__MSG_HELLO)
		return -EPROTO;
	/* The reserved bytes are zero in every frame sp__pack() writes; any
	 * other value is a peer speaking something else (or a corrupted
	 * stream), and accepting it would leave the bytes unusable for a
	 * later version of the protocol. */
	if (in[2] != 0 || in[3] != 0)
		return -EPROTO;
	f->type = in[1];
	for (int i = 0; i < 4; i++)
		code |= (uint32_t)in[4 + i] << (8 * i);
	f->code = (int32_t)code;
	f->seq = get64(in + 8);
	f->a = get64(in + 16);
	f->b = get64(in + 24);
	f->len = get64(in + 32);
	if (f->len > max_len)
		return -EPROTO;
	return 0;
}
