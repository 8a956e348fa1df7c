# Commands the check-v2 guest runs, one `run` line each, in order, from
# /opt/chaos (where ci/vm/payload.list puts the files). Each command gets a
# hard timeout; the guest passes only if every command exits 0.
# Add a line here (and its files to payload.list) to run more in the VM.
fails=0
# A coverage payload (ci/check-v2 with GCOV_OUT) writes its counters here
# instead of to the host's build paths, which do not exist in the guest.
if [ -e /opt/chaos/gcov-on ]; then
	export GCOV_PREFIX=/tmp/gcov GCOV_PREFIX_STRIP=0
fi
run() {
	limit=$1
	shift
	echo "=== $*"
	timeout "$limit" "$@"
	rc=$?
	echo "--- rc=$rc: $*"
	[ "$rc" -eq 0 ] || fails=$((fails + 1))
}

# Every cgroup that exists before the first test; whatever the tests create
# must be gone again at the end.
find /sys/fs/cgroup -type d | sort > /tmp/cgroups.boot

# A failed check inside a command group: name it, count it.
check() {
	if eval "$2"; then
		echo "ok: $1"
	else
		echo "FAILED: $1"
		fails=$((fails + 1))
	fi
}

# The v2 backend on its own: run cgroup, per-worker memory.max, a real OOM
# kill confirmed by memory.events, cgroup.kill on a process tree, no
# leftovers.
run 90 /opt/chaos/tests/test_cgroup

# What only the v2 backend does: the run's "main" leaf, cgroup.kill,
# memory.max and memory.swap.max.
run 60 /opt/chaos/tests/test_cgroup_v2

# The controller end to end against the ctl_pool helper. The benchmarks
# time a CPU-bound loop, which under software emulation takes minutes and
# measures the emulator, so they are skipped here (they run on the host).
run 120 env CMOCKA_SKIP='test_bench_*' LD_PRELOAD=/opt/chaos/cmocka-skip.so \
	/opt/chaos/tests/test_run

# The seed suite's OOM scenario through the CLI, on the reference pool. The
# checker's `oom` expectation already requires the counter; the history is
# also checked here for the v2 backend, the counter event and an OOM death,
# so that a silently chosen other backend cannot pass.
run 60 /opt/chaos/chaos run /opt/chaos/scenarios/seed/oom-skip.ini --target safepool \
	--out /tmp/oom-skip
h=/tmp/oom-skip/history.jsonl
check "history names the v2 backend" "grep -q '\"ev\":\"run\".*\"backend\":\"v2\"' $h"
check "history has an oom event" "grep -q '\"ev\":\"oom\"' $h"
check "history has a death confirmed as OOM" "grep -q '\"ev\":\"death\".*\"oom\":true' $h"

# The seed and oom suites on safepool, each verdict compared with
# scenarios/expected/safepool.
run 150 /opt/chaos/chaos matrix --suite seed,oom --target safepool --jobs 2 --regress \
	--out /tmp/matrix

# Nothing of any run survives: no cgroup beyond the boot ones, no process
# of the payload.
find /sys/fs/cgroup -type d | sort > /tmp/cgroups.end
check "no cgroup left behind" "cmp -s /tmp/cgroups.boot /tmp/cgroups.end"
cmp -s /tmp/cgroups.boot /tmp/cgroups.end || diff /tmp/cgroups.boot /tmp/cgroups.end
left=$(ps -o pid,comm | grep -E 'chaos|safepool|ctl_pool|test_' || true)
check "no process left behind" "[ -z \"\$left\" ]"
[ -z "$left" ] || echo "$left"

if [ -e /opt/chaos/gcov-on ]; then
	echo "GCOV-BEGIN"
	tar -C /tmp/gcov -czf - . | base64
	echo "GCOV-END"
fi

echo "guest-tests: $fails failed"
[ "$fails" -eq 0 ]
