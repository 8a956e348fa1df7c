# Fuzzing harnesses (libFuzzer, clang). Included by the top Makefile with
# `-include fuzz/fuzz.mk`; see fuzz/README.md.
#
# The harnesses are built with their own compiler and flags (clang with
# -fsanitize=fuzzer,address,undefined), so the code under test is compiled
# again from source into $(B)/fuzz/obj/ rather than taken from the gcc
# archives, whose objects carry no coverage instrumentation.
#
#   make fuzz                   build every harness, run each FUZZ_SECONDS
#   make fuzz FUZZ_SECONDS=600 FUZZ_TARGETS="scenario wire"
#   make fuzz-build             build only

FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= scenario outcome outcome_checker events wire taskspec
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
                -fno-omit-frame-pointer
FUZZ_CFLAGS  := -std=c11 -g -O1 -Wall -Wextra -Wno-unused-function \
                -D_GNU_SOURCE -Ipool/include -Ichaos $(PKG_CFLAGS) $(FUZZ_SAN) \
                -fsanitize=fuzzer-no-link
ifneq ($(CI),)
FUZZ_CFLAGS  += -Werror
endif
FUZZ_LDFLAGS := $(FUZZ_SAN) -fsanitize=fuzzer

# The sources each harness needs, and the libraries they link.
FUZZ_SRC_scenario        := chaos/check/scenario.c chaos/check/value.c scenarios/kit/chaos_task.c
FUZZ_LIB_scenario        := -linih -lpthread
FUZZ_SRC_outcome         := chaos/check/outcome.c chaos/check/lex.c chaos/check/value.c
FUZZ_SRC_outcome_checker := chaos/check/outcome.c chaos/check/lex.c chaos/check/value.c chaos/engine/history.c \
                            chaos/check/checker.c chaos/check/scenario.c \
                            chaos/check/history_schema.c chaos/check/history_read.c
FUZZ_LIB_outcome_checker := -ljansson -linih
FUZZ_SRC_events          := chaos/engine/events.c chaos/check/lex.c chaos/check/value.c
FUZZ_SRC_wire            := pool/src/wire.c
FUZZ_SRC_taskspec        := scenarios/kit/chaos_task.c
FUZZ_LIB_taskspec        := -lpthread

FUZZ_BINS := $(FUZZ_TARGETS:%=$(B)/fuzz/fuzz_%)

$(B)/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c -o $@ $<

DEPS += $(wildcard $(B)/fuzz/obj/*/*.d $(B)/fuzz/obj/*/*/*.d $(B)/fuzz/obj/*/*/*/*.d)

# One explicit link rule per harness (no second expansion, which would
# change how every later rule in the build is read).
define FUZZ_LINK_RULE
$(B)/fuzz/fuzz_$(1): $(B)/fuzz/obj/fuzz/fuzz_$(1).o $(patsubst %.c,$(B)/fuzz/obj/%.o,$(FUZZ_SRC_$(1)))
	$$(FUZZ_CC) $$(FUZZ_LDFLAGS) -o $$@ $$^ $(FUZZ_LIB_$(1))
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call FUZZ_LINK_RULE,$(t))))

.PHONY: fuzz fuzz-build
fuzz-build: $(FUZZ_BINS)

# Each harness runs for FUZZ_SECONDS under a hard timeout; the run script
# prints executions, executions per second and crashes per harness, and
# fails when any harness crashed.
fuzz: fuzz-build
	@fuzz/run $(B)/fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)
