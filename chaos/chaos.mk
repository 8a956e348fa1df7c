# chaos controller: every chaos/<layer>/*.c except the CLI's main.c goes
# into one static archive that the CLI and the tests link. The layers are
# described in docs/architecture.md; sources include each other as
# "<layer>/<file>.h" (-Ichaos), and tests/layers checks that every include
# points down the layer order.
#
# The CLI binary is $(B)/chaos (beside chaos-task and targets/, where the
# target registry looks for them), so the objects of this archive live under
# $(B)/obj/ instead of $(B)/chaos/, which would collide with the binary.
CORE_SRCS := $(filter-out chaos/cli/main.c,$(wildcard chaos/*/*.c))
CORE_OBJS := $(CORE_SRCS:%.c=$(B)/obj/%.o)
CORE_LIBS := $(shell pkg-config --libs libcgroup jansson inih 2>/dev/null || echo -lcgroup -ljansson -linih)
DEPS      += $(CORE_OBJS:.o=.d) $(B)/obj/chaos/cli/main.d

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(B)/libchaoscore.a: $(CORE_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(B)/chaos: $(B)/obj/chaos/cli/main.o $(B)/libchaoscore.a $(B)/libsafepool.a
	$(CC) $(LDFLAGS) -o $@ $^ $(CORE_LIBS) -lm

ALL_BINS += $(B)/chaos

# The CLI and its manual page. The pool's rules install the library and
# safepool(3).
install:: $(B)/chaos
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 755 $(B)/chaos $(DESTDIR)$(BINDIR)/chaos
	install -m 644 man/chaos.1 $(DESTDIR)$(MANDIR)/man1/chaos.1

uninstall::
	rm -f $(DESTDIR)$(BINDIR)/chaos $(DESTDIR)$(MANDIR)/man1/chaos.1
