# SPDX-License-Identifier: GPL-2.0
# Count TAP results in a test log. Programs are framed by '@@@ BEGIN NAME' /
# '@@@ END NAME rc=N' (the VM's markers; a log without them is one program
# named by -v suite=NAME with -v rc=N). A program that exits non-zero without
# reporting a failing test counts as one failure of its own, so a crash or a
# timeout is never lost. Prints 'passed failed skipped' and lists failures.
function begin(n) { name = n; nfail_prog = 0 }
function end(r) {
	if (r != 0 && nfail_prog == 0) {
		failed++
		printf "FAIL %s: exited with status %d\n", name, r > "/dev/stderr"
	}
	name = ""
}
BEGIN { passed = failed = skipped = 0; if (suite != "") begin(suite) }
/^@@@ BEGIN / { begin($3); next }
/^@@@ END / { r = $0; sub(/.*rc=/, "", r); end(r + 0); next }
/^ok [0-9]+/ {
	if ($0 ~ /# *[Ss][Kk][Ii][Pp]/) skipped++; else passed++
	next
}
/^not ok [0-9]+/ {
	if ($0 ~ /# *[Ss][Kk][Ii][Pp]/) { skipped++; next }
	failed++; nfail_prog++
	printf "FAIL %s: %s\n", name, $0 > "/dev/stderr"
	next
}
END {
	if (suite != "" && name != "") end(rc + 0)
	printf "%d %d %d\n", passed, failed, skipped
}
