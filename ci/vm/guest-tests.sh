# Commands the check-v2 guest runs, one `run` line each, in order, from
# /opt/chaos (where ci/vm/payload.list puts the files). Each command gets a
# hard timeout; the guest passes only if every command exits 0.
# Add a line here (and its files to payload.list) to run more in the VM.
fails=0
run() {
	echo "=== $*"
	timeout 240 "$@"
	rc=$?
	echo "--- rc=$rc: $*"
	[ "$rc" -eq 0 ] || fails=$((fails + 1))
}

run /opt/chaos/tests/test_cgroup

echo "guest-tests: $fails failed"
[ "$fails" -eq 0 ]
