# Task kit (C library + chaos-task executable) and compiled target adapters.
# The parser, checker and matrix are controller code: chaos/chaos.mk.
KIT_SRCS := $(filter-out scenarios/kit/chaos_task_main.c,$(wildcard scenarios/kit/*.c))
KIT_OBJS := $(KIT_SRCS:%.c=$(B)/%.o)
TGT_SRCS := $(wildcard scenarios/targets/*.c)
TGT_BINS := $(TGT_SRCS:scenarios/targets/%.c=$(B)/targets/%)
DEPS     += $(KIT_OBJS:.o=.d) $(TGT_SRCS:%.c=$(B)/%.d) $(B)/scenarios/kit/chaos_task_main.d

$(B)/libchaostask.a: $(KIT_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(B)/chaos-task: $(B)/scenarios/kit/chaos_task_main.o $(B)/libchaostask.a
	$(CC) $(LDFLAGS) -o $@ $^

$(B)/targets/%: $(B)/scenarios/targets/%.o $(B)/libchaostask.a $(B)/libsafepool.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^

ALL_BINS += $(B)/libchaostask.a $(B)/chaos-task $(TGT_BINS)

# The kit's tests run the shell and Python adapters, which need chaos-task
# and the compiled targets of the same build.
$(B)/tests/test_kit: | $(B)/chaos-task $(TGT_BINS)

# The Python kit and adapter tests alone (tests/kit/run, also run by
# test_kit). `--survey` prints what each pool does when a task self-kills.
.PHONY: kit-check
kit-check: $(B)/chaos-task $(TGT_BINS)
	CHAOS_BUILD=$(abspath $(B)) tests/kit/run

# Installed layout: chaos and chaos-task in $(BINDIR); adapters, the Python
# task kit, the suites and the baselines in $(PREFIX)/share/chaos/scenarios,
# where chaos/engine/targets.c looks for them next to an installed chaos.
CHAOS_SHARE = $(DESTDIR)$(PREFIX)/share/chaos/scenarios
# scenarios/targets/node/ holds the Node.js adapters' pools, not an adapter.
SCRIPT_TGTS = $(filter-out %.c scenarios/targets/node,$(wildcard scenarios/targets/*))

install:: $(B)/chaos-task $(TGT_BINS)
	install -d $(DESTDIR)$(BINDIR) $(CHAOS_SHARE)/targets $(CHAOS_SHARE)/kit \
		$(CHAOS_SHARE)/expected $(CHAOS_SHARE)/seed $(CHAOS_SHARE)/oom $(CHAOS_SHARE)/schedules
	install -m 755 $(B)/chaos-task $(DESTDIR)$(BINDIR)/chaos-task
	install -m 755 $(SCRIPT_TGTS) $(TGT_BINS) $(CHAOS_SHARE)/targets/
	install -m 644 scenarios/kit/*.py scenarios/kit/*.rb scenarios/kit/*.pm $(CHAOS_SHARE)/kit/
	install -d $(CHAOS_SHARE)/kit/node/chaos-task
	install -m 644 scenarios/kit/node/chaos-task/index.js \
		scenarios/kit/node/chaos-task/package.json $(CHAOS_SHARE)/kit/node/chaos-task/
	install -m 644 scenarios/expected/* $(CHAOS_SHARE)/expected/
	for s in seed oom schedules; do install -m 644 scenarios/$$s/*.ini $(CHAOS_SHARE)/$$s/; done

uninstall::
	rm -f $(DESTDIR)$(BINDIR)/chaos-task
	rm -rf $(DESTDIR)$(PREFIX)/share/chaos
