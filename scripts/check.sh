#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Every test suite of the repository, ending with 'N passed, N failed'.
#  1. userspace harness (tools/testing/iommufd_shadow): the pure code under
#     ASan/UBSan, unit tests, reference model, bounded fuzzing;
#  2. lint: checkpatch --strict on kernel files and patches, W=1 build;
#  3. the VM suites of tests/vm-*.list, each list booted in its profile:
#     mock and vtd on the x86-64 kernel; s390 on a cross-built s390x kernel
#     in qemu-system-s390x, two boots: tests/vm-s390.list in profile
#     s390-mock (no zPCI function, so the mock driver is the only IOMMU),
#     tests/vm-s390-zpci.list in profile s390 (a zPCI virtio-rng function
#     behind the s390-iommu driver);
#  4. qemu (scripts/qemu.sh --test): build our patched QEMU, checkpatch
#     of its series, the unit test of its errno -> RPCIT mapping, an s390x
#     guest on emulated zPCI disks in both modes;
#  5. libvirt (scripts/libvirt.sh --test): build our patched libvirt (QEMU
#     driver, test programs only), its qemuxmlconftest, virschematest and
#     capabilities tests, its zpci device plugged into our QEMU;
#  6. nested (scripts/nested.sh check): our patched QEMU in the VT-d VM as
#     the VMM of an unmodified s390x Debian guest, one passed-through
#     virtio-blk function in stock mode, one in kernel-shadow mode.
# Set SUITES to a subset ('unit lint mock vtd s390 qemu libvirt nested') to run fewer;
# SUITES=s390 alone builds only the s390x kernel.
set -eu
. "$(dirname "$0")/lib.sh"

SUITES=${SUITES:-unit lint mock vtd s390 qemu libvirt nested}
t0=$(date +%s)
native=0 cross=0
for suite in $SUITES; do
	case $suite in
	s390) cross=1 ;;
	*) native=1 ;;
	esac
done
if [ $native = 1 ]; then
	"$TOP/scripts/deps.sh"
	"$TOP/scripts/build.sh"
	"$TOP/scripts/build-tests.sh"
fi
if [ $cross = 1 ]; then
	ARCH=s390 "$TOP/scripts/deps.sh"
	ARCH=s390 "$TOP/scripts/build.sh"
	ARCH=s390 "$TOP/scripts/build-tests.sh"
fi

# Builds that need no VM (our QEMU, our libvirt) run at the lowest priority
# beside the VM suites: a TCG guest running one test at a time keeps one of
# the two cores busy, so this hides most of the cold builds. The suites that
# use them wait; if a build failed, they run it again and show why.
bg_pid=
bg_start() {
	local lv= lvarg=
	case " $SUITES " in *" qemu "*|*" libvirt "*|*" nested "*) ;; *) return 0 ;; esac
	case " $SUITES " in *" nested "*) lv=1 lvarg=--virsh ;; *" libvirt "*) lv=1 ;; esac
	[ -z "$bg_pid" ] || return 0
	log "background: building QEMU${lv:+ and libvirt} beside the VM suites (log: $BUILD/check-prebuild.log)"
	{
		nice -n 19 "$TOP/scripts/qemu.sh"
		[ -z "$lv" ] || nice -n 19 "$TOP/scripts/libvirt.sh" $lvarg
	} > "$BUILD/check-prebuild.log" 2>&1 &
	bg_pid=$!
}
bg_wait() {
	[ -n "$bg_pid" ] || return 0
	local t1 rc=0
	t1=$(date +%s)
	wait "$bg_pid" || rc=$?
	log "background build done (exit $rc), waited $(($(date +%s) - t1)) s"
	bg_pid=
}

total_p=0 total_f=0 total_s=0
report=$BUILD/check-summary.txt
: > "$report"
count() { # NAME LOG [awk vars...]
	local name=$1 logf=$2 p f s
	shift 2
	read -r p f s < <(awk "$@" -f "$TOP/scripts/tap-count.awk" "$logf" 2>>"$report")
	total_p=$((total_p + p)) total_f=$((total_f + f)) total_s=$((total_s + s))
	printf '%-10s %4d passed, %d failed, %d skipped\n' "$name:" "$p" "$f" "$s" | tee -a "$report"
}

for suite in $SUITES; do
	case $suite in
	unit)
		h=$TOP/tools/testing/iommufd_shadow
		[ -f "$h/Makefile" ] || continue
		logf=$BUILD/check-unit.log
		log "suite unit: userspace harness"
		rc=0
		make -s -C "$h" OUT="$BUILD/harness" check > "$logf" 2>&1 || rc=$?
		[ $rc = 0 ] || tail -20 "$logf"
		# The fuzzer runs for a bounded time and counts as one test.
		frc=0
		make -s -C "$h" OUT="$BUILD/harness" FUZZ_SECONDS="${FUZZ_SECONDS:-60}" \
			fuzz > "$logf.fuzz" 2>&1 || frc=$?
		runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$logf.fuzz")
		if [ $frc = 0 ]; then
			echo "ok 1 - fuzz_s390: ${runs:-?} inputs, rules held" >> "$logf"
		else
			tail -20 "$logf.fuzz"
			echo "not ok 1 - fuzz_s390 (see $logf.fuzz)" >> "$logf"
		fi
		count unit "$logf" -v suite=unit -v rc=$rc
		;;
	lint)
		logf=$BUILD/check-lint.log
		log "suite lint: checkpatch --strict, W=1"
		rc=0
		"$TOP/scripts/lint.sh" > "$logf" 2>&1 || rc=$?
		[ $rc = 0 ] || grep -v '^ok' "$logf" | tail -20
		count lint "$logf" -v suite=lint -v rc=$rc
		;;
	mock|vtd|s390)
		logf=$BUILD/check-$suite.log
		log "suite $suite: VM tests of tests/vm-$suite.list"
		bg_start
		rc=0
		t1=$(date +%s)
		if [ "$suite" = s390 ]; then
			ARCH=s390 "$TOP/scripts/vm.sh" -p s390-mock -t 2400 \
				-l "$logf" "$TOP/tests/vm-$suite.list" > "$logf.out" || rc=$?
			# The zPCI function's own VM; a failure there counts too
			ARCH=s390 "$TOP/scripts/vm.sh" -p s390 -t 900 \
				-l "$logf.zpci" "$TOP/tests/vm-s390-zpci.list" \
				>> "$logf.out" || { r=$?; [ $r -gt $rc ] && rc=$r; }
		else
			"$TOP/scripts/vm.sh" -p "$suite" -t 2400 -a "$TOP/tests/vm-smoke.sh" \
				-l "$logf" "$TOP/tests/vm-$suite.list" > "$logf.out" || rc=$?
		fi
		log "suite $suite: VMs took $(($(date +%s) - t1)) s"
		case $rc in
		0|1) count "$suite" "$logf.out" ;;
		2)   count "$suite" "$logf.out"
		     echo "FAIL $suite: kernel report (WARN/BUG/KASAN/lockdep) in $logf" | tee -a "$report"
		     total_f=$((total_f + 1)) ;;
		*)   count "$suite" "$logf.out"
		     echo "FAIL $suite: VM timed out or did not finish; see $logf" | tee -a "$report"
		     total_f=$((total_f + 1)) ;;
		esac
		;;
	qemu|libvirt)
		logf=$BUILD/check-$suite.log
		log "suite $suite: scripts/$suite.sh --test (build, the series' tests)"
		bg_wait
		rc=0
		t1=$(date +%s)
		"$TOP/scripts/$suite.sh" --test > "$logf" 2>&1 || rc=$?
		log "suite $suite: took $(($(date +%s) - t1)) s"
		[ $rc = 0 ] || grep -E '^not ok|^ERROR' "$logf" | tail -20
		count "$suite" "$logf" -v suite="$suite" -v rc=$rc
		;;
	nested)
		logf=$BUILD/check-nested.log
		log "suite nested: real QEMU, unmodified s390x guest, in the VT-d VM"
		bg_wait
		rc=0
		t1=$(date +%s)
		"$TOP/scripts/nested.sh" check > "$logf" 2>&1 || rc=$?
		log "suite nested: took $(($(date +%s) - t1)) s (console: $BUILD/nested-check.log)"
		[ $rc = 0 ] || grep -E '^not ok|^ERROR' "$logf" | tail -20
		count nested "$logf" -v suite=nested -v rc=$rc
		;;
	*) die "unknown suite $suite" ;;
	esac
done

bg_wait
grep '^FAIL' "$report" || true
log "check took $(($(date +%s) - t0)) s"
echo "$total_p passed, $total_f failed, $total_s skipped"
[ "$total_f" = 0 ]
