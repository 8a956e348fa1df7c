# Micro-benchmark of libsafepool (not part of ALL_BINS; `make bench` runs it).
DEPS += $(B)/bench/pool_bench.d

$(B)/pool_bench: $(B)/bench/pool_bench.o $(B)/libsafepool.a
	$(CC) $(LDFLAGS) -o $@ $^
