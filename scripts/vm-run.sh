#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Run one static program in the test VM and return its exit status:
#   vm-run.sh [-p PROFILE] [-t SECONDS] PROG [ARGS...]
# A kernel report (WARN, BUG, KASAN, lockdep...) or a VM that does not finish
# makes it fail with 125 whatever the program returned. The console log is
# kept in $VMRUN_LOG (default $BUILD/vm-run.PROG.log).
set -eu
. "$(dirname "$0")/lib.sh"

profile=vtd
tmo=600
while getopts "p:t:" o; do
	case $o in
	p) profile=$OPTARG ;;
	t) tmo=$OPTARG ;;
	*) die "usage: vm-run.sh [-p PROFILE] [-t SECONDS] PROG [ARGS...]" ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || die "usage: vm-run.sh [-p PROFILE] [-t SECONDS] PROG [ARGS...]"
prog=$1
shift
[ -f "$prog" ] || die "no program $prog"
file "$prog" 2>/dev/null | grep -q 'dynamically linked' &&
	log "WARNING: $prog is dynamically linked; the VM has no shared libraries"

mkdir -p "$BUILD"
name=$(basename "$prog")
list=$(mktemp "$BUILD/vm-run.XXXXXX")
trap 'rm -f "$list"' EXIT
log=${VMRUN_LOG:-$BUILD/vm-run.$name.log}
echo "$name $tmo /tests/$name $*" > "$list"
rc=0
"$TOP/scripts/vm.sh" -p "$profile" -t $((tmo + 120)) -a "$prog" -l "$log" "$list" || rc=$?
[ $rc -ge 2 ] && { log "VM failed (vm.sh rc=$rc); see $log"; exit 125; }
prc=$(sed -n "s/^@@@ END $name rc=\([0-9]*\)$/\1/p" "$log")
[ -n "$prc" ] || { log "no exit status of $name in $log"; exit 125; }
log "$name exited with status $prc in the VM"
exit "$prc"
