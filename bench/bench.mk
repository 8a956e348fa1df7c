# Micro-benchmark of libsafepool (not part of ALL_BINS; `make bench` runs it).
DEPS += $(B)/bench/pool_bench.d

$(B)/pool_bench: $(B)/bench/pool_bench.o $(B)/libsafepool.a
	$(CC) $(LDFLAGS) -o $@ $^

# The reference pool against the Python pools, side by side, interleaved
# (bench/run; results in $(B)/bench/ and docs/bench.md). Not part of check:
# no timing ever decides a test.
BENCH_ARGS ?=
bench: build-all $(B)/pool_bench python
	bench/run --build $(B) --out $(B)/bench $(BENCH_ARGS)
