#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The main job: boot the test VM and show what runs there. Until the shadow
# nesting demo exists, this shows the VM (VT-d + edu) and the regression
# suite of the base, the upstream iommufd selftests.
set -eu
. "$(dirname "$0")/lib.sh"

list=$BUILD/run.list
cat > "$list" <<'LIST'
vm_smoke 60 sh /tests/vm-smoke.sh
LIST
log "VT-d VM: what the feature will run on"
rc=0
"$TOP/scripts/vm.sh" -p vtd -t 300 -a "$TOP/tests/vm-smoke.sh" "$list" || rc=$?
[ $rc = 0 ] || die "VT-d VM failed (rc=$rc)"
log "mock VM: the upstream iommufd selftests"
"$TOP/scripts/vm.sh" -p mock -t 2400 "$TOP/tests/vm-mock.list" | grep -E '^(ok|not ok|# (PASSED|FAILED|Totals))|@@@'
