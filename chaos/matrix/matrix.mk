# `make demo`: build everything, then run every suite against safepool and
# every shipped adapter whose runtime is installed (the others show as SKIP
# with the reason), print the verdict table and where the reports are.
#
# Pools that hang on a killed worker (multiprocessing.Pool, bpo-22393 /
# gh-66587) run into every kill scenario's deadline, so the demo caps the
# deadlines (DEMO_MAX_DEADLINE) to stay within about three minutes on two
# cores; a HANG under the cap is the same HANG, it is only found sooner.
# The cap leaves room for loky's slow start (about 1.5 s) and shutdown.
# billiard is slow, not hung: it notices a lost worker after its 10 s
# lost_worker_timeout, so it keeps a longer cap of its own; so does
# dask-distributed, whose LocalCluster takes 2-4 s to start and stop on a
# busy machine. Most runs wait on a deadline rather than use a CPU, so three
# run at once.
DEMO_JOBS         ?= 3
DEMO_MAX_DEADLINE ?= 5s
DEMO_TARGET_CAPS  ?= --target-deadline billiard=15s --target-deadline dask-distributed=15s
DEMO_SUITES       ?= seed,oom,schedules
DEMO_OUT          ?= $(B)/matrix
DEMO_ARGS         ?=

demo: build-all
	@start=$$(date +%s); \
	$(B)/chaos matrix --suite $(DEMO_SUITES) --jobs $(DEMO_JOBS) \
		--max-deadline $(DEMO_MAX_DEADLINE) $(DEMO_TARGET_CAPS) --out $(DEMO_OUT) $(DEMO_ARGS); \
	rc=$$?; \
	echo "demo: $$(( $$(date +%s) - start )) s wall time, chaos matrix exit code $$rc"; \
	echo "demo: open $(DEMO_OUT)/matrix.md; timelines: $(DEMO_OUT)/<target>/<suite>/<scenario>/timeline.svg"; \
	exit $$rc

# The same matrix compared with the baselines in scenarios/expected/.
regress: build-all
	$(B)/chaos matrix --suite $(DEMO_SUITES) --jobs $(DEMO_JOBS) \
		--max-deadline $(DEMO_MAX_DEADLINE) $(DEMO_TARGET_CAPS) --out $(DEMO_OUT) --regress $(DEMO_ARGS)

.PHONY: regress
