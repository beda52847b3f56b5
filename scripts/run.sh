#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The main job: boot the VT-d VM and run the narrated demo: an s390-format
# guest stage-1 shadowed onto Intel VT-d (which cannot nest), QEMU's edu
# device doing DMA through it. The demo prints each step and a summary and
# exits 0 only if every step behaved as expected.
set -eu
. "$(dirname "$0")/lib.sh"

list=$BUILD/run.list
echo "demo 300 /tests/demo" > "$list"
log "booting the VT-d VM to run the shadow nesting demo"
rc=0
# The demo quotes the kernel's DMAR lines itself: show only its own output
# (the full console, which the runner checks for kernel reports, is in the
# log).
set -o pipefail
"$TOP/scripts/vm.sh" -p vtd -t 600 -l "$BUILD/run.log" "$list" |
	grep -Ev '^\[ *[0-9]+\.[0-9]+\] |^qemu-system|^@@@' || rc=$?
case $rc in
0) log "demo finished: every step as expected (console log: $BUILD/run.log)" ;;
1) die "the demo reports a step that did not behave as expected" ;;
2) die "the kernel reported a WARN/BUG/KASAN/lockdep splat; see $BUILD/run.log" ;;
*) die "the VM did not finish; see $BUILD/run.log" ;;
esac
