# libsafepool: static and shared library, pkg-config file, example program.
POOL_SRCS := $(wildcard pool/src/*.c)
POOL_OBJS := $(POOL_SRCS:%.c=$(B)/%.o)
POOL_PIC  := $(POOL_SRCS:%.c=$(B)/pic/%.o)
POOL_VERSION := 0.1.0
DEPS      += $(POOL_OBJS:.o=.d) $(POOL_PIC:.o=.d) $(B)/pool/examples/squares.d

$(B)/libsafepool.a: $(POOL_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# Only the sp_ API is exported: the PIC objects are built with
# -fvisibility=hidden and the header marks the public functions.
$(B)/libsafepool.so: $(POOL_PIC)
	$(CC) $(LDFLAGS) -shared -Wl,-soname,libsafepool.so.0 -o $@ $^

$(B)/safepool.pc: pool/safepool.pc.in
	@mkdir -p $(dir $@)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	    -e 's|@INCDIR@|$(INCDIR)|' -e 's|@VERSION@|$(POOL_VERSION)|' $< > $@

# The squares example program.
$(B)/squares: $(B)/pool/examples/squares.o $(B)/libsafepool.a
	$(CC) $(LDFLAGS) -o $@ $^

ALL_BINS += $(B)/libsafepool.a $(B)/libsafepool.so $(B)/safepool.pc $(B)/squares

install:: $(B)/libsafepool.a $(B)/libsafepool.so $(B)/safepool.pc
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCDIR)
	install -m 644 $(B)/libsafepool.a $(DESTDIR)$(LIBDIR)/libsafepool.a
	install -m 755 $(B)/libsafepool.so $(DESTDIR)$(LIBDIR)/libsafepool.so.$(POOL_VERSION)
	ln -sf libsafepool.so.$(POOL_VERSION) $(DESTDIR)$(LIBDIR)/libsafepool.so.0
	ln -sf libsafepool.so.0 $(DESTDIR)$(LIBDIR)/libsafepool.so
	install -m 644 pool/include/safepool.h $(DESTDIR)$(INCDIR)/safepool.h
	install -m 644 $(B)/safepool.pc $(DESTDIR)$(LIBDIR)/pkgconfig/safepool.pc
	install -d $(DESTDIR)$(MANDIR)/man3
	install -m 644 man/safepool.3 $(DESTDIR)$(MANDIR)/man3/safepool.3

uninstall::
	rm -f $(DESTDIR)$(LIBDIR)/libsafepool.a $(DESTDIR)$(LIBDIR)/libsafepool.so \
	      $(DESTDIR)$(LIBDIR)/libsafepool.so.0 \
	      $(DESTDIR)$(LIBDIR)/libsafepool.so.$(POOL_VERSION) \
	      $(DESTDIR)$(INCDIR)/safepool.h $(DESTDIR)$(LIBDIR)/pkgconfig/safepool.pc \
	      $(DESTDIR)$(MANDIR)/man3/safepool.3
