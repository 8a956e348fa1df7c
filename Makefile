# libsafepool + chaos: plain GNU Makefile (see README.md).
# Each component adds its own rules in <dir>/<dir>.mk; this file holds the
# shared flags and the top-level targets.

PREFIX  ?= /usr/local
LIBDIR  ?= $(PREFIX)/lib
INCDIR  ?= $(PREFIX)/include
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
DESTDIR ?=

CC      ?= cc
CFLAGS  ?= -O2 -g
LDFLAGS ?=
B       ?= build

override CFLAGS  += -std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes \
                    -D_GNU_SOURCE -MMD -MP -Ipool/include -Ichaos
override LDFLAGS += -Wl,-z,defs
ifneq ($(CI),)
override CFLAGS  += -Werror
endif
ifneq ($(COVERAGE),)
override CFLAGS  += --coverage -DSP_COVERAGE=1 -O0
override LDFLAGS += --coverage
endif
ifneq ($(SANITIZE),)
override CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
override LDFLAGS += -fsanitize=address,undefined
endif

PKG_CFLAGS := $(shell pkg-config --cflags libcgroup jansson inih cmocka 2>/dev/null)
override CFLAGS += $(PKG_CFLAGS)

# Components append to these.
ALL_BINS  :=
TESTS     :=
DEPS      :=

.PHONY: all build-all check check-v2 clean install uninstall coverage sanitize demo bench
all: build-all

include pool/pool.mk
include chaos/chaos.mk
include scenarios/scenarios.mk
include tests/tests.mk
include pool/python/python.mk
-include chaos/matrix/matrix.mk
-include bench/bench.mk
-include fuzz/fuzz.mk
-include soak/soak.mk

build-all: $(ALL_BINS)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(B)/pic/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fPIC -fvisibility=hidden -c -o $@ $<

# Every test binary runs under a hard timeout: a hang is a failure.
TEST_TIMEOUT ?= 300
CHECK_SCRIPTS := tests/layers tests/seed-regress tests/example-adapter tests/python-binding
check: build-all $(TESTS) python
	@CHAOS_BUILD=$(B) tests/run-tests $(TEST_TIMEOUT) $(TESTS) $(CHECK_SCRIPTS)

# lcov report under coverage/html; COVERAGE_GATE=85 fails below 85% lines
# for pool/ or chaos/ (see ci/coverage).
COVERAGE_GATE ?=
coverage:
	@ci/coverage $(if $(COVERAGE_GATE),--gate $(COVERAGE_GATE))

# cgroup v2 in a real kernel under qemu (see ci/check-v2).
check-v2:
	@ci/check-v2

# ASan + UBSan build in build/asan, `make check` with every report fatal
# (see ci/sanitize).
sanitize:
	@ci/sanitize

# The library tests under valgrind memcheck (see ci/valgrind).
.PHONY: valgrind
valgrind:
	@ci/valgrind

clean:
	rm -rf $(B) build coverage/html coverage/*.info

-include $(DEPS)
