# libsafepool soak: `make soak` runs tests/helpers/soak_pool (built with the
# other helpers) until SOAK_KILLS real SIGKILLs were checked, at low priority
# because the machine is shared, under a hard timeout. The short version is
# tests/test_soak_short.c, part of `make check`. See docs/soak.md.
#   make soak SOAK_KILLS=10000 SOAK_SEED=42 SOAK_ARGS='--max-batch 1'
SOAK_KILLS   ?= 10000
SOAK_SEED    ?=
SOAK_ARGS    ?=
SOAK_TIMEOUT ?= 3600

.PHONY: soak
soak: $(B)/tests/helpers/soak_pool
	nice -n 10 timeout --kill-after=10 $(SOAK_TIMEOUT) $< --kills $(SOAK_KILLS) \
		$(if $(SOAK_SEED),--seed $(SOAK_SEED)) --max-seconds $(SOAK_TIMEOUT) $(SOAK_ARGS)
