#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The main job: boot a VM and run the narrated demo. The demo prints each
# step and a summary and exits 0 only if every step behaved as expected.
#  - x86-64 (default): the VT-d VM; an s390-format guest stage-1 shadowed
#    onto Intel VT-d (which cannot nest), QEMU's edu device doing DMA
#    through it (tools/testing/shadow-demo/demo.c).
#  - ARCH=s390: the s390x VM; the same guest tables on the real s390-iommu
#    driver, a zPCI virtio-rng function doing DMA through the shadow, and
#    the refreshes (RPCITs) each invalidation costs
#    (tools/testing/shadow-demo/demo_s390.c).
set -eu
. "$(dirname "$0")/lib.sh"

case $ARCH in
x86_64) profile=vtd prog=demo what="VT-d" sfx= ;;
s390)   profile=s390 prog=demo_s390 what="s390x zPCI" sfx=-s390 ;;
*) die "no demo for ARCH=$ARCH" ;;
esac
list=$BUILD/run$sfx.list
echo "demo 300 /tests/$prog" > "$list"
log "booting the $what VM to run the shadow nesting demo"
rc=0
# The demo quotes the kernel's lines itself: show only its own output (the
# full console, which the runner checks for kernel reports, is in the log).
set -o pipefail
"$TOP/scripts/vm.sh" -p "$profile" -t 600 -l "$BUILD/run$sfx.log" "$list" |
	grep -Ev '^\[ *[0-9]+\.[0-9]+\] |^qemu-system|^@@@' || rc=$?
case $rc in
0) log "demo finished: every step as expected (console log: $BUILD/run$sfx.log)" ;;
1) die "the demo reports a step that did not behave as expected" ;;
2) die "the kernel reported a WARN/BUG/KASAN/lockdep splat; see $BUILD/run$sfx.log" ;;
*) die "the VM did not finish; see $BUILD/run$sfx.log" ;;
esac
