# libsafepool: static and shared library, pkg-config file, example program.
POOL_SRCS := $(wildcard pool/src/*.c)
POOL_OBJS := $(POOL_SRCS:%.c=$(B)/%.o)
POOL_PIC  := $(POOL_SRCS:%.c=$(B)/pic/%.o)
DEPS      += $(POOL_OBJS:.o=.d) $(POOL_PIC:.o=.d)

$(B)/libsafepool.a: $(POOL_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(B)/libsafepool.so: $(POOL_PIC)
	$(CC) $(LDFLAGS) -shared -Wl,-soname,libsafepool.so.0 -o $@ $^

ALL_BINS += $(B)/libsafepool.a $(B)/libsafepool.so
