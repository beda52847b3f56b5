#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The real client: a real QEMU as the VMM of an unmodified s390x Linux,
# nested in the x86-64 test VM (issue 13).
#   L0  qemu-system-x86_64 (TCG, q35, emulated VT-d) with two virtio-blk
#       disks (modern, iommu_platform) holding a known pattern;
#   L1  our kernel; busybox /init (tools/testing/nested/l1-init.sh) binds
#       both disks to vfio-pci and runs our patched qemu-system-s390x with
#       -object iommufd: disk 1 behind zPCI uid 1 with iommufd-shadow=off
#       (stock QEMU: per-page IOAS_MAP), disk 2 behind uid 2 with
#       iommufd-shadow=on (the kernel shadows the guest's DMA tables);
#   L2  Debian's s390x kernel, unmodified, and a static /init
#       (tools/testing/nested/guest-init.c) whose O_DIRECT reads the
#       virtio-blk driver DMAs through the guest's tables, QEMU's RPCIT
#       handling and L1's VT-d.
#
#   nested.sh demo     narrated steps and a verdict (make run)
#   nested.sh check    the same facts as TAP lines (make check, suite nested)
#   nested.sh bench    one guest, both modes side by side: O_DIRECT 4K/64K/1M,
#                      lazy and strict; MB/s, RPCITs, QEMU ns per RPCIT and
#                      CPU time, stock/shadow ratios (make bench-nested)
#
# Inputs: the x86-64 kernel ($OBJ, built by scripts/build.sh), QEMU from
# scripts/qemu.sh ($BUILD/qemu/qemu-system-s390x and share/s390-ccw.img;
# QEMU_S390X=... and QEMU_SHARE=... override), Debian's s390x kernel .deb
# (apt-get download, pinned sha256, cached in $BUILD/dl). A QEMU without the
# iommufd-shadow property runs both functions stock and the shadow checks
# fail. Console log: $BUILD/nested-MODE.log. Exit status: 0 when every
# check passed, 1 otherwise (a kernel splat in L1 or the guest, a timeout
# or a build failure included). NESTED_LOG=FILE renders FILE, the console log
# of an earlier run, in MODE without building or booting anything.
set -eu
. "$(dirname "$0")/lib.sh"

mode=${1:-check}
case $mode in
demo|check) tmo=${NESTED_TIMEOUT:-1500} data=512,2048,4096 ;;
bench)      tmo=${NESTED_TIMEOUT:-2400} data=${NESTED_BENCH_DATA:-4096,16384,32768} ;;
*) die "usage: nested.sh demo|check|bench" ;;
esac

GUEST_KVER=6.12.95+deb12-s390x
GUEST_KPKG_VER=6.12.95-1~bpo12+1
GUEST_KDEB=linux-image-${GUEST_KVER}_${GUEST_KPKG_VER}_s390x.deb
GUEST_KDEB_SHA256=6c70edf276c20ed4cc82d4119ec126888593da0c2136bcea857fabf0959dd3de
DL=$BUILD/dl
NB=$BUILD/nested
NT=$TOP/tools/testing/nested
log_file=$BUILD/nested-$mode.log
con=$NB/console-$mode.txt
t_start=$(date +%s)
# The guest's kernel is Debian's, unmodified; its command line trims what
# only costs time nested under two TCGs: the jitter entropy self-test
# (seconds of software SHA-3 that starve RCU) and the crypto self-tests,
# and gives RCU's stall detector the most time it accepts (300 s).
guest_extra="initcall_blacklist=jent_mod_init cryptomgr.notests rcupdate.rcu_cpu_stall_timeout=300"


deps() {
	local p missing=""
	for p in qemu-system-x86 busybox-static gcc gcc-s390x-linux-gnu \
		 libc6-dev-s390x-cross cpio xz-utils binutils; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
			missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	[ "$(id -u)" = 0 ] || die "missing packages:$missing; run as root or install them"
	log "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing >/dev/null
}

# Debian's s390x kernel from bookworm-backports: the .deb, pinned.
guest_kernel() {
	mkdir -p "$DL" "$NB/guest"
	if ! sha_ok "$DL/$GUEST_KDEB" $GUEST_KDEB_SHA256; then
		[ "$(id -u)" = 0 ] || die "no $DL/$GUEST_KDEB; run as root to fetch it"
		if ! dpkg --print-foreign-architectures | grep -qx s390x; then
			dpkg --add-architecture s390x
			apt-get update -q >/dev/null
		fi
		backports_source
		[ -z "${BPO_ADDED:-}" ] || apt-get update -q >/dev/null
		log "fetching linux-image-$GUEST_KVER:s390x=$GUEST_KPKG_VER (apt-get download)"
		(cd "$DL" && apt-get download -q "linux-image-$GUEST_KVER:s390x=$GUEST_KPKG_VER" \
			> "$DL/apt-download-nested.log" 2>&1) || true
		sha_ok "$DL/$GUEST_KDEB" $GUEST_KDEB_SHA256 ||
			die "$DL/$GUEST_KDEB missing or wrong sha256 (see $DL/apt-download-nested.log)"
	fi
	if [ "$(cat "$NB/guest/.stamp" 2>/dev/null)" != $GUEST_KDEB_SHA256 ]; then
		log "unpacking the guest kernel and virtio_blk.ko.xz"
		rm -rf "$NB/guest" "$NB/deb"
		mkdir -p "$NB/guest"
		dpkg -x "$DL/$GUEST_KDEB" "$NB/deb"
		cp "$NB/deb/boot/vmlinuz-$GUEST_KVER" "$NB/guest/vmlinuz"
		cp "$NB/deb/lib/modules/$GUEST_KVER/kernel/drivers/block/virtio_blk.ko.xz" \
			"$NB/guest/"
		rm -rf "$NB/deb"
		echo $GUEST_KDEB_SHA256 > "$NB/guest/.stamp"
	fi
}

programs() {
	local src=$NT/guest-init.c
	if [ ! -f "$NB/guest-init" ] || [ "$src" -nt "$NB/guest-init" ]; then
		log "building the guest's /init (s390x, static)"
		s390x-linux-gnu-gcc -static -O2 -Wall -o "$NB/guest-init" "$src" ||
			die "$src does not build for s390x"
	fi
	if [ ! -f "$NB/mkdisk" ] || [ "$src" -nt "$NB/mkdisk" ]; then
		gcc -DNT_HOST -O2 -Wall -o "$NB/mkdisk" "$src" || die "$src does not build for the host"
	fi
}

qemu_s390x() {
	if [ -z "${QEMU_S390X:-}" ] && [ -x "$TOP/scripts/qemu.sh" ]; then
		log "scripts/qemu.sh (log: $BUILD/nested-qemu-build.log)"
		"$TOP/scripts/qemu.sh" > "$BUILD/nested-qemu-build.log" 2>&1 ||
			{ tail -20 "$BUILD/nested-qemu-build.log" >&2; die "scripts/qemu.sh failed"; }
	fi
	QEMU_S390X=${QEMU_S390X:-$BUILD/qemu/qemu-system-s390x}
	QEMU_SHARE=${QEMU_SHARE:-$BUILD/qemu/share}
	[ -x "$QEMU_S390X" ] || die "no qemu-system-s390x at $QEMU_S390X (scripts/qemu.sh or QEMU_S390X=...)"
	[ -f "$QEMU_SHARE/s390-ccw.img" ] || die "no s390-ccw.img in $QEMU_SHARE (QEMU_SHARE=...)"
	if "$QEMU_S390X" -device zpci,help 2>/dev/null | grep -q iommufd-shadow; then
		shadow=1
	else
		shadow=0
		log "WARNING: $QEMU_S390X has no zpci property iommufd-shadow: both functions run stock"
	fi
}

# The domain XML a user would write for L1's guest: the two functions on
# QEMU's iommufd backend, zPCI uid 1 with iommufdShadow='off', uid 2 with
# 'on' (issue 16). Our patched libvirt (scripts/libvirt.sh --virsh) turns
# it into QEMU arguments with virsh domxml-to-native, its embedded QEMU
# driver probing $QEMU_S390X here on L0; the -object iommufd and the
# zpci and vfio-pci -device arguments it makes are the ones L1's QEMU
# runs. (The rest of libvirt's command line, -S with its monitor socket,
# the master key file, -no-shutdown, needs a libvirt daemon to drive it.)
domain_xml() {
	local on=" iommufdShadow='off'" on2=" iommufdShadow='on'"
	[ $shadow = 1 ] || on="" on2=""
	cat <<-EOF
	<domain type='qemu'>
	  <name>nested-l2</name>
	  <memory unit='MiB'>512</memory>
	  <os>
	    <type arch='s390x' machine='s390-ccw-virtio'>hvm</type>
	    <kernel>/l2/vmlinuz</kernel>
	    <initrd>/l2/initrd</initrd>
	  </os>
	  <devices>
	    <emulator>$QEMU_S390X</emulator>
	    <hostdev mode='subsystem' type='pci' managed='no'>
	      <driver name='vfio' iommufd='yes'$on/>
	      <source>
	        <address domain='0x0000' bus='0x00' slot='0x04' function='0x0'/>
	      </source>
	      <address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x0'>
	        <zpci uid='0x0001' fid='0x00000001'/>
	      </address>
	    </hostdev>
	    <hostdev mode='subsystem' type='pci' managed='no'>
	      <driver name='vfio' iommufd='yes'$on2/>
	      <source>
	        <address domain='0x0000' bus='0x00' slot='0x05' function='0x0'/>
	      </source>
	      <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'>
	        <zpci uid='0x0002' fid='0x00000002'/>
	      </address>
	    </hostdev>
	    <memballoon model='none'/>
	  </devices>
	</domain>
	EOF
}

libvirt_args() {
	local lv=$BUILD/libvirt/src/build e=$NB/libvirt rc=0
	log "scripts/libvirt.sh --virsh (log: $BUILD/nested-libvirt-build.log)"
	"$TOP/scripts/libvirt.sh" --virsh > "$BUILD/nested-libvirt-build.log" 2>&1 ||
		{ tail -20 "$BUILD/nested-libvirt-build.log" >&2; die "scripts/libvirt.sh failed"; }
	rm -rf "$e"
	mkdir -p "$e/home" "$e/root"
	domain_xml > "$e/domain.xml"
	# The embedded driver refuses to run as root without the libvirt-qemu
	# user: run it as nobody.
	if [ "$(id -u)" = 0 ]; then
		chown -R nobody: "$e"
		runuser -u nobody -- env HOME="$e/home" "$lv/run" "$lv/tools/virsh" \
			-c "qemu:///embed?root=$e/root" domxml-to-native qemu-argv \
			"$e/domain.xml" > "$e/domain.argv" 2> "$e/virsh.err" || rc=$?
	else
		env HOME="$e/home" "$lv/run" "$lv/tools/virsh" \
			-c "qemu:///embed?root=$e/root" domxml-to-native qemu-argv \
			"$e/domain.xml" > "$e/domain.argv" 2> "$e/virsh.err" || rc=$?
	fi
	[ $rc = 0 ] || { cat "$e/virsh.err" >&2; die "virsh domxml-to-native failed"; }
	# -object '{"qom-type":"iommufd",...}' -device '{"driver":"zpci",...}' ...
	grep -oE "(-object|-device) '\{\"(qom-type\":\"iommufd|driver\":\"(zpci|vfio-pci))[^']*'" \
		"$e/domain.argv" | tr -d "'" > "$e/hostdev.args"
	[ "$(wc -l < "$e/hostdev.args")" = 5 ] ||
		die "no iommufd object and two zpci/vfio-pci pairs in $e/domain.argv"
	LIBVIRT_ARGS=$(tr '\n' ' ' < "$e/hostdev.args")
	log "libvirt: $LIBVIRT_ARGS"
}

# The guest's initramfs and L1's, which holds QEMU, its libraries and the guest.
initramfs() {
	local r=$NB/l2-root l q
	rm -rf "$r"
	mkdir -p "$r"/{dev,proc,sys}
	cp "$NB/guest-init" "$r/init"
	cp "$NB/guest/virtio_blk.ko.xz" "$r/"
	mknod "$r/dev/console" c 5 1
	(cd "$r" && find . | cpio -o -H newc --quiet) > "$NB/l2-initrd"

	r=$NB/l1-root
	rm -rf "$r"
	mkdir -p "$r"/{bin,etc,proc,sys,dev,tmp,l2,opt/qemu/share,lib64,lib/x86_64-linux-gnu}
	cp "$(command -v busybox)" "$r/bin/busybox"
	cp "$NT/l1-init.sh" "$r/init"
	chmod +x "$r/init"
	cp "$NT/summary.awk" "$r/etc/nested-summary.awk"
	q=$r/opt/qemu/qemu-system-s390x
	strip -o "$q" "$QEMU_S390X"
	cp "$QEMU_SHARE/s390-ccw.img" "$r/opt/qemu/share/"
	ldd "$QEMU_S390X" | awk '/=> \// { print $3 } /^\t\/lib64\// { print $1 }' |
	while read -r l; do
		case $l in
		/lib64/*) cp -L "$l" "$r/lib64/" ;;
		*) cp -L "$l" "$r/lib/x86_64-linux-gnu/" ;;
		esac
	done
	cp "$NB/guest/vmlinuz" "$r/l2/vmlinuz"
	cp "$NB/l2-initrd" "$r/l2/initrd"
	mknod "$r/dev/console" c 5 1
	local z1="" z2="" tr="-trace s390_pci_* -trace iommufd_backend_*"
	[ $shadow = 1 ] && z1=,iommufd-shadow=off z2=,iommufd-shadow=on
	# Timing: only the RPCIT events, so that no per-page trace line of
	# the stock path is counted in its RPCIT's duration.
	[ "$mode" = bench ] && tr="-trace s390_pci_rpcit* -trace s390_pci_shadow_mode"
	cat > "$r/etc/nested.conf" <<-EOF
		L2MEM=512
		L2TMO=$((tmo - 60))
		ZPCI1=$z1
		ZPCI2=$z2
		QEMU_TRACE="$tr"
		LIBVIRT_ARGS='$LIBVIRT_ARGS'
		GUEST_APPEND="console=ttysclp0 loglevel=5 panic=-1 $guest_extra nt.mode=$mode nt.data=$data"
	EOF
	(cd "$r" && find . | cpio -o -H newc --quiet) > "$NB/l1-initrd"
}

disks() {
	local mib
	mib=$(echo "$data" | awk -F, '{ m = 0; for (i = 1; i <= NF; i++) if ($i > m) m = $i
					 print int((m + 1023) / 1024) + 2 }')
	"$NB/mkdisk" "$NB/disk1.img" 1 "$mib"
	"$NB/mkdisk" "$NB/disk2.img" 2 "$mib"
}

boot() {
	local kernel=$OBJ/arch/x86/boot/bzImage append
	[ -f "$kernel" ] || die "no kernel at $kernel; run 'make' first"
	append="console=ttyS0 intel_iommu=on panic_on_warn=1 panic=-1 oops=panic"
	append="$append softlockup_panic=1 hung_task_panic=1 hung_task_timeout_secs=120"
	append="$append kasan.fault=panic printk.devkmsg=on log_buf_len=8M"
	# NESTED_MONITOR=PATH: L0's monitor on a unix socket (debugging)
	local mon=none
	[ -n "${NESTED_MONITOR:-}" ] && mon=unix:$NESTED_MONITOR,server,nowait
	log "booting L1 (our kernel, VT-d) to run QEMU and the s390x guest (timeout ${tmo}s), console log in $log_file"
	t_boot=$(date +%s)
	set +e
	timeout --foreground -k 5 "$tmo" nice -n 5 qemu-system-x86_64 -accel tcg -cpu max \
		-smp 2 -m 3G -M q35,kernel-irqchip=split \
		-device intel-iommu,intremap=on,aw-bits=39 -nic none \
		-drive file="$NB/disk1.img",if=none,id=d1,format=raw \
		-device virtio-blk-pci,drive=d1,disable-legacy=on,iommu_platform=on,addr=0x4 \
		-drive file="$NB/disk2.img",if=none,id=d2,format=raw \
		-device virtio-blk-pci,drive=d2,disable-legacy=on,iommu_platform=on,addr=0x5 \
		-no-reboot -kernel "$kernel" -initrd "$NB/l1-initrd" -append "$append" \
		-display none -serial stdio \
		-monitor "$mon" </dev/null 2>&1 |
		sed -u 's/\r$//' > "$log_file"
	qemu_rc=${PIPESTATUS[0]}
	set -e
	t_run=$(($(date +%s) - t_boot))
	# L1 writes its lines through /dev/kmsg (see l1-init.sh): drop the
	# kernel's timestamp in front of them.
	sed -E 's/^\[ *[0-9]+\.[0-9]+\] (L2\| |R: |L1: )/\1/' "$log_file" > "$con"
	log "L0 QEMU exited with $qemu_rc after $t_run s"
}

# ---- reading the log ----------------------------------------------------
G() { sed -n 's/^L2| NT: //p' "$con"; }	# the guest's result lines
R() { sed -n 's/^R: //p' "$con"; }		# L1's result lines
# KEY=VALUE from the first line of stdin, 0 when absent
kv() { awk -v k="$1" '{ for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) { print substr($i, length(k) + 2); f = 1; exit } }
		      END { if (!f) print 0 }'; }
# A phase's line of QEMU's trace summary
qphase() { R | grep "^q phase=$1 mode=$2\( \|$\)" | head -1; }
qv() { local v; v=$(qphase "$1" "$2" | kv "$3"); echo "${v:-0}"; }
# A guest read line: PHASE = lazy-4096-u1
# A phase's read: the first that failed, else the first (bench: 16 a phase)
gread() { G | grep "^read $1 " | awk '!f && / ok=[^1]/ { print; f = 1 } NR == 1 { l = $0 }
				     END { if (!f && NR) print l }'; }

splat='WARNING:|BUG:|Kernel panic|Oops|possible circular locking|possible recursive locking|inconsistent lock state|suspicious RCU usage|blocked for more than|soft lockup|hard LOCKUP|UBSAN:|general protection fault|Call Trace:'

n=0 good=0
step() { # TITLE EXPECTED OBSERVED CONDITION...
	local title=$1 exp=$2 obs=$3 ok=0
	shift 3
	if "$@"; then ok=1; fi
	n=$((n + 1))
	good=$((good + ok))
	if [ "$mode" = demo ]; then
		printf '\nStep %d: %s\n   expected: %s\n' "$n" "$title" "$exp"
		if [ $ok = 1 ]; then
			printf '   => as expected: %s\n' "$obs"
		else
			printf '   => UNEXPECTED: %s\n' "$obs"
		fi
	else
		if [ $ok = 1 ]; then echo "ok $n - $title: $obs"; else echo "not ok $n - $title: $obs"; fi
	fi
}
skip() { # TITLE REASON
	n=$((n + 1))
	if [ "$mode" = demo ]; then
		printf '\nStep %d: %s\n   => skipped: %s\n' "$n" "$1" "$2"
		good=$((good + 1))
	else
		echo "ok $n - $1 # SKIP $2"
	fi
}
say() { [ "$mode" = demo ] && printf '%s\n' "$*"; true; }
is() { [ "$1" = "$2" ]; }
gt0() { [ "${1:-0}" -gt 0 ] 2>/dev/null; }
eq0() { [ "${1:-0}" -eq 0 ] 2>/dev/null; }

# Reads of one block size in one IOMMU mode, both disks
read_step() { # TAG BS LABEL
	local tag=$1 bs=$2 label=$3 u l ok=1 obs="" rp
	for u in 1 2; do
		l=$(gread "$tag-$bs-u$u")
		rp=$(( $(echo "$l" | kv global) + $(echo "$l" | kv syncmap) + $(echo "$l" | kv sync) ))
		[ "$(echo "$l" | kv ok)" = 1 ] && gt0 "$rp" || ok=0
		[ "$tag" = strict ] && ! gt0 "$(echo "$l" | kv sync)" && ok=0
		obs="$obs$([ $u = 1 ] && echo "stock" || echo "; shadow") $(echo "$l" | kv bytes) bytes $(echo "$l" | kv mbps) MB/s, $rp RPCITs ($(echo "$l" | kv syncmap) map, $(echo "$l" | kv sync) unmap, $(echo "$l" | kv global) global)"
	done
	step "$tag mode, O_DIRECT $label reads of both disks, $([ "$mode" = bench ] && echo "every sector's header" || echo "every byte") checked" \
		"both disks return their pattern; every read makes the guest issue RPCITs${tag:+ }$([ "$tag" = strict ] && echo "(strict: unmap RPCITs too)")" \
		"$obs" is $ok 1
}

# the zpci settings are there and L1's QEMU ran libvirt's arguments (report)
libvirt_ok() { [ "$v" = 2 ] && case $w in *"$x"*) true ;; *) false ;; esac; }

report() {
	local l1bind plug1 plug2 d1 d2 rc fails1 fails2 v w x y z
	say ""
	say "The real client: our kernel as L1 (emulated VT-d), our patched QEMU as the VMM,"
	say "an unmodified Debian $GUEST_KVER guest reading two passed-through virtio-blk disks:"
	say "zPCI uid 1 = QEMU stock mode (per-page IOAS_MAP), uid 2 = kernel-shadow mode."

	if [ -f "$NB/libvirt/hostdev.args" ]; then
		say ""
		say "The guest's domain XML ($NB/libvirt/domain.xml):"
		say ""
		[ "$mode" = demo ] && sed 's/^/   /' "$NB/libvirt/domain.xml"
		say ""
		say "virsh domxml-to-native qemu-argv (our libvirt, embedded QEMU driver) makes of its host devices:"
		say ""
		[ "$mode" = demo ] && sed 's/^/   /' "$NB/libvirt/hostdev.args"
		v=$(grep -c -e '"zpci","uid":1,.*"iommufd-shadow":"off"' \
			-e '"zpci","uid":2,.*"iommufd-shadow":"on"' "$NB/libvirt/hostdev.args" || true)
		w=$(sed -n 's/^L1: cmd: //p' "$con" | head -1)
		x=$(tr '\n' ' ' < "$NB/libvirt/hostdev.args" | sed 's/ $//')
		step "libvirt makes L1's QEMU arguments of the domain XML" \
			"virsh domxml-to-native: zpci uid 1 iommufd-shadow off, uid 2 on, vfio-pci on iommufd0; L1's QEMU runs exactly these" \
			"$v of 2 zpci settings; in L1's QEMU command line: $(case $w in *"$x"*) echo yes ;; *) echo no ;; esac)" \
			libvirt_ok
	fi

	l1bind=$(R | grep -c '^l1 bind .* driver=vfio-pci' || true)
	step "L1 binds both virtio-blk functions to vfio-pci" \
		"two 1af4:1042 functions, each in its own IOMMU group on VT-d, driver vfio-pci" \
		"$(R | grep '^l1 bind' | sed 's/^l1 bind //' | tr '\n' ';' | sed 's/;$//')" is "$l1bind" 2

	plug1=$(R | grep -c '^q plug uid 1 fid 0x1 mode stock' || true)
	plug2=$(R | grep -c '^q plug uid 2 fid 0x2 mode shadow' || true)
	step "QEMU plugs uid 1 in stock mode and uid 2 in kernel-shadow mode" \
		"s390_pci_shadow_mode: uid 1 stock (iommufd-shadow=off), uid 2 shadow (iommufd-shadow=on, IOMMU_HW_CAP_SHADOW_NESTING)" \
		"$(R | sed -n 's/^q plug //p' | tr '\n' ';' | sed 's/;$//')$([ $shadow = 0 ] && echo " (this QEMU has no iommufd-shadow property)")" \
		is "$plug1$plug2" 11

	d1=$(G | grep -m 1 -c '^disk uid=1 .* holds_disk=1 .* ok=1' || true)
	d2=$(G | grep -m 1 -c '^disk uid=2 .* holds_disk=2 .* ok=1' || true)
	step "the unmodified guest boots, loads virtio_blk and finds each disk on its function" \
		"disk 1 behind zPCI uid 1, disk 2 behind uid 2 (the pattern names its disk)" \
		"$(G | grep '^disk ' | head -2 | sed 's/^disk //' | tr '\n' ';' | sed 's/;$//')" \
		is "$d1$d2" 11

	read_step lazy 4096 4K
	read_step lazy 65536 64K
	read_step lazy 1048576 1M
	v=$(G | grep -c '^domain DMA ok=1' || true)
	step "the guest switches both functions to strict IOMMU mode (unbind, group type DMA, rebind)" \
		"both groups go from DMA-FQ to DMA; the IOATs are deregistered and registered again" \
		"$(G | grep '^domain addr' | sed 's/^domain //' | tr '\n' ';' | sed 's/;$//')" is "$v" 1
	read_step strict 4096 4K
	read_step strict 65536 64K
	read_step strict 1048576 1M

	v=$(qv all shadow rpcit); w=$(qv all shadow inv); x=$(qv all shadow inv_not_1); y=$(qv all shadow hwpt_inv)
	step "QEMU turns each RPCIT of the shadowed function into exactly one IOMMU_HWPT_INVALIDATE" \
		"as many s390_pci_shadow_invalidate (and iommufd_backend_invalidate_hwpt) as s390_pci_rpcit, one inside each" \
		"$v shadow-mode RPCITs, $w invalidations ($y iommufd_backend_invalidate_hwpt), $x RPCITs with other than one" \
		eval "gt0 $v && is $v $w && is $v $y && eq0 $x"

	# The error phase (enospc-u2, below) fails RPCITs on purpose
	v=$(qv all stock cc_bad); w=$(($(qv all shadow cc_bad) - $(qv enospc-u2 shadow cc_bad)))
	step "every RPCIT completes with condition code 0 in both modes (but in the error phase)" \
		"s390_pci_rpcit_done cc 0 status 0 for all RPCITs outside the phase enospc-u2" \
		"stock: $(qv all stock rpcit) RPCITs, $v not cc 0; shadow: $(qv all shadow rpcit) RPCITs, $w not cc 0 outside the error phase" \
		eval "gt0 $(qv all stock rpcit) && gt0 $(qv all shadow rpcit) && eq0 $v && eq0 $w"

	# Per IOAS: map/unmap/map after boot/unmap after boot. After boot
	# only the stock function's IOAS may see IOAS_MAP; while disk 2 is
	# read, a map may only come with a stock RPCIT (its lazy flush or
	# strict tail) in the same phase.
	local io ram aft nio=0 smaps=0 sbad=0 umaps=0 p m
	ram=$(R | sed -n 's/^q ioas ram_ioas=\([0-9a-z]*\) .*/\1/p')
	io=$(R | grep '^q ioas ' | tr ' ' '\n' | sed -n 's/^ioas\([0-9]*\)=[0-9]*\/[0-9]*\/\([0-9]*\)\/.*/\1 \2/p' |
		awk '$2 > 0 { printf "%s%s", n++ ? "," : "", $1 }')
	[ -n "$io" ] && nio=$(echo "$io" | tr ',' '\n' | wc -l)
	for p in $(R | sed -n 's/^q phase=\([a-z]*-[0-9]*-u2\) mode=any .*/\1/p'); do
		m=$(qv "$p" any map)
		smaps=$((smaps + m))
		[ "$m" -gt 0 ] && [ "$(qv "$p" stock rpcit)" = 0 ] && sbad=$((sbad + m))
	done
	for p in $(R | sed -n 's/^q phase=\([a-z]*-[0-9]*-u1\) mode=any .*/\1/p'); do
		umaps=$((umaps + $(qv "$p" any map)))
	done
	aft=$(R | sed -n 's/^q ram_ioas_maps_after_boot=//p')
	step "no IOAS_MAP after boot for the shadowed function: the kernel translates through guest RAM mapped once at plug" \
		"after the first IOAT registration IOAS_MAP only on the stock function's IOAS, none on the RAM IOAS; while disk 2 is read no map without a stock RPCIT beside it; stock (disk 1) maps per page" \
		"IOAS with maps after boot: ${io:-none}; RAM IOAS ${ram:-?}: $(R | sed -n 's/^q ioas ram_ioas=[0-9a-z]* ram_maps=\([0-9]*\).*/\1/p') map at plug, ${aft:-?} after boot; reading disk 2: $smaps maps, $sbad without a stock RPCIT in the phase; reading disk 1: $umaps maps" \
		eval "[ $shadow = 1 ] && is $nio 1 && [ '$io' != '$ram' ] && is '${aft:-x}' 0 && eq0 $sbad && gt0 $umaps"

	v=$(R | grep '^k alloc=' | head -1)
	w=$(qv all shadow inv_err); x=$(qv enospc-u2 shadow inv_err)
	step "L1's kernel shadow does the work: iommufd_shadow:shadow_sync maps the guest's pages" \
		"shadow_alloc without error, shadow_sync events with pages mapped and unmapped; a failed sync for each failed invalidation, and those only in the error phase" \
		"${v:-no iommufd_shadow trace}; QEMU: $w failed invalidations, $x of them in the error phase" \
		eval "gt0 $(echo "$v" | kv sync) && gt0 $(echo "$v" | kv mapped) && gt0 $(echo "$v" | kv unmapped) && is $(echo "$v" | kv sync_err) $w && is $w $x && eq0 $(echo "$v" | kv alloc_err)"

	if [ "$mode" != bench ]; then
		v=$(G | grep '^reset uid=2 slot' | head -1)
		w=$(gread reset-4096-u2 | kv ok)$(gread reset-1048576-u2 | kv ok)
		step "a function reset: the guest powers the slot of uid 2 off and on, then reads it again" \
			"QEMU deregisters the shadow's IOAT, resets the function, the guest re-probes and its reads match; shadow IOAT registrations: boot, strict, after the reset" \
			"${v#reset } reads after: 4K ok=$(gread reset-4096-u2 | kv ok), 1M ok=$(gread reset-1048576-u2 | kv ok); shadow IOAT reg $(qv all shadow reg) dereg $(qv all shadow dereg)" \
			eval "[ '$(G | grep -c '^reset uid=2 ok=1')' = 1 ] && is $w 11 && [ $(qv all shadow reg) -ge 3 ]"

		v=$(G | grep '^enospc uid=2 ' | head -1)
		w=$(R | sed -n 's/^l1 cap //p' | tr '\n' ';' | sed 's/;$//')
		x=$(grep -c '^L2| .*reports an error for PCI function' "$con" || true)
		step "a guest-visible error: with the kernel's shadow record cap lowered in L1, reading disk 2 fails its RPCITs as stock QEMU does when out of DMA mappings, and completes once the cap is back" \
			"IOMMU_HWPT_INVALIDATE fails with ENOSPC, QEMU answers cc 1 status 16 and sends no error event, the guest logs the failed RPCITs (s390dbf pci_error) and retries; its read matches after L1 restores the cap" \
			"guest: ${v#enospc }, $x zPCI error events; L1 cap: ${w:-never set}; QEMU in the phase: $(qv enospc-u2 shadow rpcit) RPCITs, $(qv enospc-u2 shadow cc1_st16) with cc 1 status 16, $(qv enospc-u2 shadow inv_err) invalidations failed" \
			eval "gt0 $(echo "$v" | kv rpcit_errors) && is '$(echo "$v" | kv read_ok)' 1 && gt0 $(qv enospc-u2 shadow cc1_st16) && is $(qv enospc-u2 shadow cc1_st16) $(qv enospc-u2 shadow cc_bad) && gt0 $(qv enospc-u2 shadow inv_err) && eq0 $x"

		v=$(G | grep -c '^marker written ok=1' || true)
		w=$(G | grep -c '^boot 2' || true)
		x=$(G | grep -c '^read reboot-[0-9]*-u[12] .* ok=1' || true)
		step "the guest writes a marker block to both disks (the devices read guest memory) and reboots" \
			"the second boot finds the marker on both disks and all 6 reads match" \
			"marker written: $v, second boot: $w, reads after the reboot with every byte matching: $x of 6" \
			eval "is $v 1 && is $w 1 && is $x 6"
	fi

	rc=$(R | sed -n 's/^l1 qemu_time //p')
	v=$(sed -n 's/^L2| L1: QEMU exit rc=//p' "$con" | head -1)
	fails1=$(G | grep '^result fails=' | sed -n 1p)
	fails2=$(G | grep '^result fails=' | sed -n 2p)
	[ -n "$fails1" ] && fails1=$(echo "$fails1" | kv fails)
	[ -n "$fails2" ] && fails2=$(echo "$fails2" | kv fails)
	step "the guest powers off by itself and QEMU exits cleanly" \
		"QEMU exit 0, the guest counted no failed check$([ "$mode" != bench ] && echo " in either boot")" \
		"QEMU rc=${v:-none} ($rc), guest failures: boot 1 ${fails1:-?}${fails2:+, boot 2 $fails2}" \
		eval "is '${v:-x}' 0 && is '${fails1:-x}' 0 $([ "$mode" != bench ] && echo "&& is '${fails2:-x}' 0")"

	v=$(R | grep '^k alloc=' | head -1)
	if ! R | grep -q '^l1 tracefs .*shadow_destroy'; then
		skip "the kernel destroys every shadow after QEMU exits" \
			"this kernel has no iommufd_shadow:shadow_destroy event (allocated: $(echo "$v" | kv alloc))"
	else
		step "the kernel destroys every shadow after QEMU exits" \
			"shadow_destroy == shadow_alloc" "${v:-none}; trace overruns: $(R | sed -n 's/^k overrun=//p')" \
			eval "gt0 $(echo "$v" | kv alloc) && is $(echo "$v" | kv alloc) $(echo "$v" | kv destroy)"
	fi

	v=$(R | sed -n 's/^l1 dmar_faults=//p')
	step "no DMA remapping fault on L1's VT-d" "0 DMAR faults in L1's dmesg" "${v:-?} DMAR faults" is "${v:-x}" 0

	v=$(grep -Ec "^\\[ *[0-9]+\\.[0-9]+\\] .*($splat)" "$con" || true)
	w=$(grep -Ec "^L2\\| \\[ *[0-9]+\\.[0-9]+\\] .*($splat)" "$con" || true)
	step "no kernel report (WARN, BUG, KASAN, lockdep, hung task) in L1 or in the guest" \
		"none in either console" "L1: $v lines, guest: $w lines$([ $((v + w)) -gt 0 ] &&
			grep -E -m 3 "^(L2\\| )?\\[ *[0-9]+\\.[0-9]+\\] .*($splat)" "$con" | tr '\n' ' ')" \
		is "$v$w" 00

	step "the whole nested run finishes within ${tmo} s" "L1 powers off after its summary" \
		"L0 QEMU rc=$qemu_rc after $t_run s" eval "grep -q '^L1: done' '$con' && is $qemu_rc 0"
}

# ---- the benchmark table -------------------------------------------------
bench_table() {
	local tag bs u l mb rp ns cpu p16 s_mb s_rp s_ns s_cpu s_p16
	printf '\nNested benchmark: one guest, disk 1 via stock QEMU (uid 1), disk 2 via the kernel shadow (uid 2)\n'
	printf 'O_DIRECT reads, at each size each disk eight times in the order A B B A B A A B twice (A: the disk first at that size), an eighth of the data each time, added up;\n'
	printf 'MB/s counts the time spent in pread() only (the guest checks each sector'"'"'s disk and LBA between reads, untimed)\n'
	printf 'RPCITs from the guest'"'"'s zPCI counters; QEMU ns/RPCIT from s390_pci_rpcit_done; CPU = QEMU utime+stime\n'
	printf 'during the phase (10 ms ticks); p16 = mean QEMU ns of refreshes of 16 pages or more. Ratios: stock/shadow (MB/s: shadow/stock)\n\n'
	printf '%-6s %-4s | %8s %8s %6s | %7s %7s | %9s %9s %6s | %9s %9s %6s | %6s %6s %6s\n' \
		mode bs "MB/s st" "MB/s sh" ratio "RPCIT st" "RPCIT sh" "ns/RP st" "ns/RP sh" ratio \
		"p16 st" "p16 sh" ratio "CPU st" "CPU sh" ratio
	for tag in lazy strict; do
		for bs in 4096 65536 1048576; do
			local row=()
			for u in 1 2; do
				local m=stock
				[ $u = 2 ] && m=shadow
				# All four reads of the A B B A B A A B order
				mb=$(gsum "$tag-$bs-u$u" | awk '{ printf "%.3f", $2 ? $1 / $2 / 1e6 : 0 }')
				rp=$(gsum "$tag-$bs-u$u" | awk '{ print $3 }')
				p=$tag-$bs-u$u
				ns=$(awk -v a="$(qv "$p" $m ns)" -v b="$(qv "$p" $m rpcit)" 'BEGIN { printf "%d", b ? a / b : 0 }')
				p16=$(awk -v a="$(qv "$p" $m p16_ns)" -v b="$(qv "$p" $m p16_n)" 'BEGIN { printf "%d", b ? a / b : 0 }')
				cpu=$(R | sed -n "s/^q cpu phase=$p ticks=\([0-9-]*\).*/\1/p" | head -1)
				row+=("$mb" "$rp" "$ns" "$p16" "${cpu:-0}")
			done
			printf '%-6s %-4s | %8s %8s %6s | %7s %7s | %9s %9s %6s | %9s %9s %6s | %6s %6s %6s\n' \
				$tag $(( bs >= 1048576 ? bs / 1048576 : bs / 1024 ))$([ $bs -ge 1048576 ] && echo M || echo K) \
				"${row[0]}" "${row[5]}" "$(ratio "${row[5]}" "${row[0]}")" \
				"${row[1]}" "${row[6]}" \
				"${row[2]}" "${row[7]}" "$(ratio "${row[2]}" "${row[7]}")" \
				"${row[3]}" "${row[8]}" "$(ratio "${row[3]}" "${row[8]}")" \
				"${row[4]}" "${row[9]}" "$(ratio "${row[4]}" "${row[9]}")"
		done
	done
	printf '\nWhole run (all RPCITs incl. boot): stock %s RPCITs, mean %s ns, max %s ns; shadow %s RPCITs, mean %s ns, max %s ns\n' \
		"$(qv all stock rpcit)" "$(awk -v a="$(qv all stock ns)" -v b="$(qv all stock rpcit)" 'BEGIN { printf "%d", b ? a / b : 0 }')" \
		"$(qv all stock ns_max)" "$(qv all shadow rpcit)" \
		"$(awk -v a="$(qv all shadow ns)" -v b="$(qv all shadow rpcit)" 'BEGIN { printf "%d", b ? a / b : 0 }')" \
		"$(qv all shadow ns_max)"
	printf 'QEMU process CPU time (whole run): %s\n' "$(R | sed -n 's/^l1 qemu_time //p')"
	printf '\nEach read in the order it ran (st|sh MB/s), then the mean of each mode'"'"'s reads and their ratio sh/st with\n'
	printf 'two standard errors (SE of each mean from the spread of its reads): a ratio within 2 SE of 1 is noise\n'
	for tag in lazy strict; do
		for bs in 4096 65536 1048576; do
			printf '%-6s %-4s |' $tag $(( bs >= 1048576 ? bs / 1048576 : bs / 1024 ))$([ $bs -ge 1048576 ] && echo M || echo K)
			G | grep "^read $tag-$bs-u" | awk '{ for (i = 1; i <= NF; i++) {
				if ($i ~ /^uid=/) m = substr($i, 5) == 1 ? "st" : "sh"
				if ($i ~ /^mbps=/) v = substr($i, 6) }
				printf " %s %s", m, v; n[m]++; s[m] += v; q[m] += v * v }
				function se(k) { return n[k] > 1 ? sqrt((q[k] - s[k] * s[k] / n[k]) / (n[k] - 1) / n[k]) : 0 }
				END { a = s["st"] / n["st"]; b = s["sh"] / n["sh"]; r = b / a
					e = 2 * r * sqrt((se("st") / a) ^ 2 + (se("sh") / b) ^ 2)
					printf " | mean st %.3f sh %.3f sh/st %.2f +- %.2f\n", a, b, r, e }'
		done
	done
}
# A phase's guest reads added up: bytes, seconds, RPCITs
gsum() {
	G | grep "^read $1 " | tr ' ' '\n' | awk -F= '
		$1 == "bytes" { b += $2 } $1 == "secs" { s += $2 }
		$1 == "global" || $1 == "syncmap" || $1 == "sync" { r += $2 }
		END { printf "%d %.3f %d\n", b, s, r }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0) printf "%.2f", a / b; else printf "-" }'; }

if [ -n "${NESTED_LOG:-}" ]; then
	# Render an earlier run's console log again (no build, no VM)
	log_file=$NESTED_LOG qemu_rc=0 t_run=0 shadow=1
	mkdir -p "$NB"
	sed -E 's/^\[ *[0-9]+\.[0-9]+\] (L2\| |R: |L1: )/\1/' "$log_file" > "$con"
else
	deps
	guest_kernel
	programs
	qemu_s390x
	libvirt_args
	initramfs
	disks
	boot
fi
t_total=$(($(date +%s) - t_start))
if [ "$mode" = bench ]; then
	bench_table | tee "$BUILD/nested-bench.txt"
	report > "$BUILD/nested-bench-checks.txt"
	log "bench: $t_total s in all ($t_run s in the VM); table in $BUILD/nested-bench.txt, log $log_file"
	# Only RPCIT events are traced here, so the checks on invalidations and
	# IOAS maps do not apply: what counts is that the data matched, nothing
	# crashed and the run finished.
	grep -E '^not ok .*(reads of both disks|kernel report|DMA remapping|finishes within|powers off)' \
		"$BUILD/nested-bench-checks.txt" && exit 1
	exit 0
fi
report
if [ "$mode" = demo ]; then
	printf '\nSummary: %d of %d steps behaved as expected\n' "$good" "$n"
else
	echo "1..$n"
fi
log "nested $mode: $t_total s in all ($t_run s in the VM), console log $log_file"
[ "$good" = "$n" ]
