# chaos controller. Every chaos/*.c except main.c, and every scenarios/*.c
# (parser, checker, matrix, timeline), goes into one static archive that the
# CLI and the tests link.
CORE_SRCS := $(filter-out chaos/main.c,$(wildcard chaos/*.c)) $(wildcard scenarios/*.c)
CORE_OBJS := $(CORE_SRCS:%.c=$(B)/%.o)
CORE_LIBS := $(shell pkg-config --libs libcgroup jansson inih 2>/dev/null || echo -lcgroup -ljansson -linih)
DEPS      += $(CORE_OBJS:.o=.d) $(B)/chaos/main.d

$(B)/libchaoscore.a: $(CORE_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(B)/chaos: $(B)/chaos/main.o $(B)/libchaoscore.a $(B)/libsafepool.a
	$(CC) $(LDFLAGS) -o $@ $^ $(CORE_LIBS) -lm

ALL_BINS += $(B)/chaos
