/* Fuzz the pool's frame decoder, sp__unpack() in pool/src/wire.c, as the
 * pool and the worker use it: a byte stream of headers and payloads, read
 * frame after frame, with the payload bound (sp_options.max_msg) taken from
 * the first input bytes. Properties:
 * - fewer than SP__HDR bytes is -EAGAIN, otherwise 0 or -EPROTO;
 * - a header with nonzero reserved bytes (2 and 3) is -EPROTO;
 * - a decoded header is a known version and type with len within the bound,
 *   and packs back to exactly the same 40 bytes;
 * - the stream is consumed frame by frame without reading past its end.
 */
#include "fuzz.h"

#include "../pool/src/wire.h"

FUZZ_TARGET(wire)
{
	uint64_t max_len = 0;
	struct sp__frame f;
	uint8_t back[SP__HDR];
	size_t off, i;
	int r, frames = 0;

	if (size < 2)
		return 0;
	/* Bounds from 0 to 64 KiB in powers of two, or a hostile UINT64_MAX. */
	max_len = data[0] == 0xff	  ? UINT64_MAX
		  : (data[0] & 0x1f) > 16 ? 0
					  : 1ull << (data[0] & 0x1f);
	off = 1;
	while (off <= size && frames < 4096) {
		memset(&f, 0xa5, sizeof(f));
		r = sp__unpack(data + off, size - off, max_len, &f);
		if (size - off < SP__HDR) {
			FUZZ_CHECK(r == -EAGAIN);
			break;
		}
		FUZZ_CHECK(r == 0 || r == -EPROTO);
		if (data[off + 2] || data[off + 3])
			FUZZ_CHECK(r == -EPROTO);
		if (r)
			break;
		FUZZ_CHECK(f.type >= SP__MSG_TASK && f.type <= SP__MSG_HELLO);
		FUZZ_CHECK(f.len <= max_len);
		sp__pack(back, &f);
		for (i = 0; i < SP__HDR; i++)
			FUZZ_CHECK(back[i] == data[off + i]);
		/* The pool waits for the whole payload before it acts. */
		if (f.len > size - off - SP__HDR)
			break;
		off += SP__HDR + (size_t)f.len;
		frames++;
	}
	return 0;
}
