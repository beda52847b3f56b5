#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Boot the test kernel in QEMU (TCG) with an initramfs holding busybox, the
# test programs of $TESTS and any extra files, and run a list of programs.
# (ARCH=s390: qemu-system-s390x, and a static C init, scripts/vm-init.c,
# instead of busybox: no shell, list entries are programs.)
#
#   vm.sh [-p PROFILE] [-t SECONDS] [-a FILE]... [-l LOG] -s       shell
#   vm.sh [-p PROFILE] [-t SECONDS] [-a FILE]... [-l LOG] LIST     run LIST
#
# LIST has lines 'NAME TIMEOUT COMMAND [ARGS]'; files added with -a land in
# /tests. PROFILE is 'vtd' (emulated VT-d + edu, the default) or 'mock' (no
# IOMMU hardware: the selftest mock driver is the only IOMMU). With ARCH=s390
# it is 's390' (the default there: a zPCI virtio-rng function, the DMA engine,
# behind the s390-iommu driver) or 's390-mock' (no zPCI function: as on x86,
# the mock devices work only when no other IOMMU registered first).
#
# Exit status: 0 when every program exited 0 and the kernel reported
# nothing; 1 when a program failed; 2 on a kernel report (WARN, BUG, KASAN,
# lockdep, hung task, panic); 3 on a timeout or a VM that did not finish.
# The console log is kept in LOG (default $BUILD/vm.log).
set -eu
. "$(dirname "$0")/lib.sh"

profile=vtd
[ "$ARCH" = s390 ] && profile=s390
tmo=600
shell=0
log=$BUILD/vm.log
extra=()
while getopts "p:t:a:l:s" o; do
	case $o in
	p) profile=$OPTARG ;;
	t) tmo=$OPTARG ;;
	a) extra+=("$OPTARG") ;;
	l) log=$OPTARG ;;
	s) shell=1 ;;
	*) die "usage: see the head of $0" ;;
	esac
done
shift $((OPTIND - 1))
list=${1:-}
[ $shell = 1 ] || [ -f "$list" ] || die "no list of programs to run"

case $ARCH in
x86_64) kernel=$OBJ/arch/x86/boot/bzImage ;;
s390)   kernel=$OBJ/arch/s390/boot/bzImage ;;
*) die "unknown ARCH=$ARCH" ;;
esac
[ -f "$kernel" ] || die "no kernel at $kernel; run 'make' first"
if [ "$ARCH" = x86_64 ]; then
	busybox=$(command -v busybox) || die "busybox missing; run scripts/deps.sh"
else
	# No static busybox for the target: the C init, rebuilt when it changed.
	init=$BUILD/vm-init-$ARCH
	if [ ! -f "$init" ] || [ "$TOP/scripts/vm-init.c" -nt "$init" ]; then
		log "building the VM's init for $ARCH"
		"${CROSS_COMPILE:-}gcc" -static -O2 -Wall -o "$init" "$TOP/scripts/vm-init.c" ||
			die "scripts/vm-init.c does not build; run scripts/deps.sh"
	fi
fi

# The initramfs: busybox, /init, the list and the programs.
root=$(mktemp -d "$BUILD/initramfs.XXXXXX")
trap 'rm -rf "$root" "$root.cpio"' EXIT
mkdir -p "$root"/{bin,etc,proc,sys,dev,tmp,tests}
if [ "$ARCH" = x86_64 ]; then
	cp "$busybox" "$root/bin/busybox"
	cp "$TOP/scripts/vm-init.sh" "$root/init"
else
	cp "$init" "$root/init"
fi
chmod +x "$root/init"
[ -d "$TESTS" ] && cp -r "$TESTS"/. "$root/tests/"
for f in "${extra[@]}"; do cp "$f" "$root/tests/"; done
if [ $shell = 0 ]; then cp "$list" "$root/etc/vm-tests"; else : > "$root/etc/vm-tests"; fi
(cd "$root" && find . | cpio -o -H newc --quiet) > "$root.cpio"

append="console=ttyS0 panic_on_warn=1 panic=-1 oops=panic softlockup_panic=1"
append="$append hung_task_panic=1 hung_task_timeout_secs=60 kasan.fault=panic"
qemu_bin=qemu-system-x86_64
[ "$ARCH" = s390 ] && qemu_bin=qemu-system-s390x
qemu=("$qemu_bin" -accel tcg -cpu max -smp 2 -m 2G -no-reboot -kernel "$kernel" -initrd "$root.cpio")
case $ARCH/$profile in
x86_64/vtd)  qemu+=(-M q35,kernel-irqchip=split -device intel-iommu,intremap=on -device edu)
	     append="$append intel_iommu=on" ;;
x86_64/mock) qemu+=(-M q35) ;;
# zPCI: the virtio-rng function must go through the IOMMU (iommu_platform),
# or QEMU lets it write guest-physical memory directly.
s390/s390)   qemu+=(-nic none -device zpci,uid=1,fid=1,target=rng0
		    -device virtio-rng-pci-non-transitional,id=rng0,iommu_platform=on)
	     append=${append/console=ttyS0/console=ttysclp0} ;;
# No zPCI function, so no s390-iommu instance: the mock driver is alone.
s390/s390-mock) qemu+=(-nic none)
	     append=${append/console=ttyS0/console=ttysclp0} ;;
*) die "unknown profile $profile for ARCH=$ARCH" ;;
esac
[ $shell = 1 ] && append="$append shadow.shell"
# Extra kernel parameters (make bench-profile: profile=2)
[ -n "${VM_APPEND:-}" ] && append="$append $VM_APPEND"

if [ $shell = 1 ]; then
	exec "${qemu[@]}" -nographic -append "$append"
fi

log "booting $profile VM (timeout ${tmo}s), console log in $log"
set +e
timeout --foreground -k 5 "$tmo" "${qemu[@]}" -append "$append" \
	-display none -serial stdio -monitor none </dev/null 2>&1 |
	tr -d '\r' | tee "$log" | sed -n '/^@@@ START/,$p' | grep -v '^@@@ START'
qemu_rc=${PIPESTATUS[0]}
set -e

# The kernel must have reported nothing (kernel lines carry a timestamp,
# program output does not).
splat='WARNING:|BUG:|Kernel panic|Oops|possible circular locking|possible recursive locking|inconsistent lock state|suspicious RCU usage|blocked for more than|soft lockup|hard LOCKUP|UBSAN:|general protection fault|Call Trace:'
splat="^\\[ *[0-9]+\\.[0-9]+\\] .*($splat)"
if grep -Eq "$splat" "$log"; then
	log "kernel report in $log:"
	grep -E -m 5 "$splat" "$log" >&2
	exit 2
fi
if ! grep -q '^@@@ DONE' "$log"; then
	log "VM did not finish (qemu rc=$qemu_rc): timeout or hang"
	exit 3
fi
if grep -E '^@@@ END .* rc=[0-9]+$' "$log" | grep -vq ' rc=0$'; then
	exit 1
fi
exit 0
