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
