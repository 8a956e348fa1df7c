# One program per tests/test_<module>.c; each links everything (static
# archives only pull in what it uses) plus cmocka. tests/helpers/*.c are
# small victim/target programs the tests run. tests/util/*.c is what they
# share (history reading, bounded waits, the leftover checks), built into
# $(B)/libtestutil.a and linked into every test and helper program.
TEST_SRCS   := $(wildcard tests/test_*.c)
TESTS       := $(TEST_SRCS:tests/%.c=$(B)/tests/%)
HELPER_SRCS := $(wildcard tests/helpers/*.c)
HELPERS     := $(HELPER_SRCS:tests/helpers/%.c=$(B)/tests/helpers/%)
UTIL_SRCS   := $(wildcard tests/util/*.c)
UTIL_OBJS   := $(UTIL_SRCS:%.c=$(B)/%.o)
DEPS        += $(TEST_SRCS:%.c=$(B)/%.d) $(HELPER_SRCS:%.c=$(B)/%.d) $(UTIL_OBJS:.o=.d)
TEST_LIBS    = $(B)/libtestutil.a $(B)/libchaoscore.a $(B)/libchaostask.a $(B)/libsafepool.a
TEST_LDLIBS := $(CORE_LIBS) $(shell pkg-config --libs cmocka 2>/dev/null || echo -lcmocka) -lm

$(B)/libtestutil.a: $(UTIL_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(B)/tests/%: $(B)/tests/%.o $(TEST_LIBS)
	$(CC) $(LDFLAGS) -o $@ $< $(TEST_LIBS) $(TEST_LDLIBS)

$(B)/tests/helpers/%: $(B)/tests/helpers/%.o $(TEST_LIBS)
	$(CC) $(LDFLAGS) -o $@ $< $(TEST_LIBS) $(TEST_LDLIBS)

ALL_BINS += $(HELPERS)

# tests/broken/*.c: deliberately broken pools (and their correct control),
# each one adapter built on tests/broken/minipool.c (linked with
# libtestutil for tu_sleep_ms and tu_child_exit); test_power runs the
# shipped scenarios against them (the harness's power to find each bug).
BROKEN_SRCS := $(filter-out tests/broken/minipool.c,$(wildcard tests/broken/*.c))
BROKEN_BINS := $(BROKEN_SRCS:tests/broken/%.c=$(B)/tests/broken/%)
DEPS        += $(BROKEN_SRCS:%.c=$(B)/%.d) $(B)/tests/broken/minipool.d

# A static pattern: the generic $(B)/tests/% rule above would match too.
$(BROKEN_BINS): $(B)/tests/broken/%: $(B)/tests/broken/%.o $(B)/tests/broken/minipool.o $(TEST_LIBS)
	$(CC) $(LDFLAGS) -o $@ $< $(B)/tests/broken/minipool.o $(TEST_LIBS) $(TEST_LDLIBS)

ALL_BINS += $(BROKEN_BINS)
$(B)/tests/test_power: | $(BROKEN_BINS) $(B)/chaos
