# `make demo`: build everything, then run every suite against safepool and
# every shipped adapter whose runtime is installed (the others show as SKIP
# with the reason), print the verdict table and where the reports are.
#
# Pools that hang on a killed worker (multiprocessing.Pool, bpo-22393 /
# gh-66587) run into every kill scenario's deadline, so the demo caps the
# deadlines (DEMO_MAX_DEADLINE) to stay within about three minutes on two
# cores; a HANG under the cap is the same HANG, it is only found sooner.
DEMO_JOBS         ?= 2
DEMO_MAX_DEADLINE ?= 3s
DEMO_SUITES       ?= seed,oom,schedules
DEMO_OUT          ?= $(B)/matrix
DEMO_ARGS         ?=

demo: build-all
	@start=$$(date +%s); \
	$(B)/chaos matrix --suite $(DEMO_SUITES) --jobs $(DEMO_JOBS) \
		--max-deadline $(DEMO_MAX_DEADLINE) --out $(DEMO_OUT) $(DEMO_ARGS); \
	rc=$$?; \
	echo "demo: $$(( $$(date +%s) - start )) s wall time, chaos matrix exit code $$rc"; \
	echo "demo: open $(DEMO_OUT)/matrix.md; timelines: $(DEMO_OUT)/<target>/<suite>/<scenario>/timeline.svg"; \
	exit $$rc

# The same matrix compared with the baselines in scenarios/expected/.
regress: build-all
	$(B)/chaos matrix --suite $(DEMO_SUITES) --jobs $(DEMO_JOBS) \
		--max-deadline $(DEMO_MAX_DEADLINE) --out $(DEMO_OUT) --regress $(DEMO_ARGS)

.PHONY: regress
