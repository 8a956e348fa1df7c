# One program per tests/test_<module>.c; each links everything (static
# archives only pull in what it uses) plus cmocka. tests/helpers/*.c are
# small victim/target programs the tests run.
TEST_SRCS   := $(wildcard tests/test_*.c)
TESTS       := $(TEST_SRCS:tests/%.c=$(B)/tests/%)
HELPER_SRCS := $(wildcard tests/helpers/*.c)
HELPERS     := $(HELPER_SRCS:tests/helpers/%.c=$(B)/tests/helpers/%)
DEPS        += $(TEST_SRCS:%.c=$(B)/%.d) $(HELPER_SRCS:%.c=$(B)/%.d)
TEST_LIBS    = $(B)/libchaoscore.a $(B)/libchaostask.a $(B)/libsafepool.a
TEST_LDLIBS := $(CORE_LIBS) $(shell pkg-config --libs cmocka 2>/dev/null || echo -lcmocka) -lm

$(B)/tests/%: $(B)/tests/%.o $(TEST_LIBS)
	$(CC) $(LDFLAGS) -o $@ $< $(TEST_LIBS) $(TEST_LDLIBS)

$(B)/tests/helpers/%: $(B)/tests/helpers/%.o $(TEST_LIBS)
	$(CC) $(LDFLAGS) -o $@ $< $(TEST_LIBS) $(TEST_LDLIBS)

ALL_BINS += $(HELPERS)
