#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build the patched QEMU of issue 13: QEMU 10.0.2 from Debian's orig tarball
# (bookworm-backports, pinned sha256) with qemu/patches/*.patch applied,
# s390x-softmmu only, the devices of qemu/s390x-devices.mak, ccache. Leaves
#   $BUILD/qemu/qemu-system-s390x     the patched binary (a copy)
#   $BUILD/qemu/share/s390-ccw.img    firmware from qemu-system-data 10.0.2
# Idempotent: a second run rebuilds only what changed; a changed patch set
# (or devices file, or this script) unpacks the tree afresh.
#
#   scripts/qemu.sh          install deps (as root), fetch, patch, build
#   scripts/qemu.sh --test   the same, then the QEMU-side tests as TAP:
#                            checkpatch.pl of every patch, the unit test
#                            tests/unit/test-s390-pci-shadow (errno -> RPCIT
#                            condition code, status, error event) and an L0
#                            boot of Debian's unmodified s390x kernel with
#                            emulated zPCI virtio-blk disks (stock mode, the
#                            trace events, a function reset, the plug error
#                            of iommufd-shadow=on without vfio-pci/iommufd)
set -eu
. "$(dirname "$0")/lib.sh"

QEMU_DEBVER='1:10.0.2+ds-2+deb13u1~bpo12+1'
QEMU_ORIG=qemu_10.0.2+ds.orig.tar.xz
QEMU_ORIG_SHA256=0901da33844a331bf8b3602b9c1fbd178e60b737c8e3ade678255bd090c9b9f1
QEMU_DATA_DEB='qemu-system-data_1%3a10.0.2+ds-2+deb13u1~bpo12+1_all.deb'
QEMU_DATA_SHA256=2d831088187087013b3fcbd19bdfb955b182a2d5a08f6dafa0ad1c6d2007fb4e
DEVICES_NAME=iommufd-shadow
# The L0 smoke test's guest: Debian's s390x kernel and a static busybox.
GUEST_KVER=6.12.95+deb12-s390x
GUEST_KDEB='linux-image-6.12.95+deb12-s390x_6.12.95-1~bpo12+1_s390x.deb'
GUEST_KDEB_SHA256=6c70edf276c20ed4cc82d4119ec126888593da0c2136bcea857fabf0959dd3de
GUEST_BBVER='1:1.35.0-4+deb12u1+b1'
GUEST_BBDEB='busybox-static_1%3a1.35.0-4+deb12u1+b1_s390x.deb'
GUEST_BBDEB_SHA256=65e29a4dea3ca365e9ee73a6b4fa2a42c8cbbd3b13753250e68b4835876fe316

DL=$BUILD/dl
QB=$BUILD/qemu
QSRC=$QB/src
QOBJ=$QSRC/build
PATCHES=$TOP/qemu/patches
DEVICES=$TOP/qemu/s390x-devices.mak

mode=build
case ${1:-} in
--test) mode="test" ;;
"") ;;
*) die "usage: $0 [--test]" ;;
esac

deps() {
	local pkgs="ninja-build libglib2.0-dev zlib1g-dev pkgconf python3-venv
		    ccache gcc make perl xz-utils"
	local bpo="meson python3-pycotap" missing="" p mv
	for p in $pkgs $bpo; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q "ok installed" || missing="$missing $p"
	done
	mv=$(dpkg-query -W -f='${Version}' meson 2>/dev/null || true)
	if [ -n "$mv" ] && dpkg --compare-versions "$mv" lt 1.5; then
		missing="$missing meson"
	fi
	[ -z "$missing" ] && return 0
	[ "$(id -u)" = 0 ] || die "missing packages:$missing; run as root or install them (meson >= 1.5 and python3-pycotap from bookworm-backports)"
	export DEBIAN_FRONTEND=noninteractive
	backports_source
	log "apt-get update"
	apt-get update -q >/dev/null
	log "installing:$missing"
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $pkgs >/dev/null
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends -t bookworm-backports \
		$bpo >/dev/null
	mv=$(dpkg-query -W -f='${Version}' meson)
	dpkg --compare-versions "$mv" ge 1.5 || die "meson $mv is older than 1.5"
}

fetch() {
	fetch_orig "$DL" "qemu=$QEMU_DEBVER" "$QEMU_ORIG" $QEMU_ORIG_SHA256
	if ! sha_ok "$DL/$QEMU_DATA_DEB" $QEMU_DATA_SHA256; then
		log "fetching qemu-system-data $QEMU_DEBVER (apt-get download)"
		(cd "$DL" && apt-get download -q \
			"qemu-system-data=$QEMU_DEBVER" > "$DL/apt-download.log" 2>&1) || true
		sha_ok "$DL/$QEMU_DATA_DEB" $QEMU_DATA_SHA256 ||
			die "$DL/$QEMU_DATA_DEB missing or wrong sha256 (see $DL/apt-download.log)"
	fi
}

patch_list() {
	find "$PATCHES" -maxdepth 1 -name '[0-9]*.patch' ! -name '0000-*' | sort
}

# Everything that decides the content of the unpacked tree.
inputs_hash() {
	{
		echo "$QEMU_ORIG_SHA256"
		patch_list | while read -r p; do
			basename "$p"
			cat "$p"
		done
		cat "$DEVICES"
		sed -n '/^configure_qemu()/,/^}/p' "$0"
	} | sha256sum | cut -d' ' -f1
}

configure_qemu() {
	(cd "$QOBJ" && ../configure --python=/usr/bin/python3 \
		--target-list=s390x-softmmu \
		--without-default-features --without-default-devices \
		--with-devices-s390x=$DEVICES_NAME \
		--enable-tcg --disable-docs --disable-tools --disable-download \
		--disable-install-blobs --enable-werror --cc="ccache gcc")
}

prepare() {
	local want have=""
	want=$(inputs_hash)
	[ -f "$QB/src.stamp" ] && have=$(cat "$QB/src.stamp")
	if [ "$want" = "$have" ] && [ -f "$QOBJ/build.ninja" ]; then
		return 0
	fi
	log "unpacking QEMU 10.0.2 into $QSRC"
	rm -f "$QB/src.stamp"
	rm -rf "$QSRC" "$QB/src.tmp"
	mkdir -p "$QB/src.tmp"
	tar -C "$QB/src.tmp" --no-same-owner -xf "$DL/$QEMU_ORIG"
	mv "$QB/src.tmp/qemu-10.0.2" "$QSRC"
	rmdir "$QB/src.tmp"
	local p n=0
	for p in $(patch_list); do
		patch -d "$QSRC" -p1 -s -N < "$p" > "$QB/patch.log" 2>&1 ||
			{ cat "$QB/patch.log" >&2; die "patch $(basename "$p") failed"; }
		n=$((n + 1))
	done
	log "applied $n patches from qemu/patches"
	cp "$DEVICES" "$QSRC/configs/devices/s390x-softmmu/$DEVICES_NAME.mak"
	mkdir -p "$QOBJ"
	log "configure (log: $QB/configure.log)"
	configure_qemu > "$QB/configure.log" 2>&1 ||
		{ tail -20 "$QB/configure.log" >&2; die "QEMU configure failed"; }
	echo "$want" > "$QB/src.stamp"
}

# ccache hits across tree locations (the development tree, a fresh unpack).
export CCACHE_BASEDIR=$QB CCACHE_NOHASHDIR=1

build() {
	local t0 t1
	t0=$(date +%s)
	log "ninja qemu-system-s390x (log: $QB/build.log)"
	nice -n 10 ninja -C "$QOBJ" qemu-system-s390x > "$QB/build.log" 2>&1 ||
		{ grep -E 'error|warning' "$QB/build.log" | head -40 >&2;
		  tail -20 "$QB/build.log" >&2; die "QEMU build failed"; }
	cp -f "$QOBJ/qemu-system-s390x" "$QB/qemu-system-s390x.new"
	mv -f "$QB/qemu-system-s390x.new" "$QB/qemu-system-s390x"
	t1=$(date +%s)
	log "QEMU build took $((t1 - t0)) s"
}

firmware() {
	local img=$QB/share/s390-ccw.img x=$QB/data.tmp
	if [ -f "$img" ] && [ "$(cat "$QB/share/.stamp" 2>/dev/null)" = $QEMU_DATA_SHA256 ]; then
		return 0
	fi
	rm -rf "$x"
	dpkg -x "$DL/$QEMU_DATA_DEB" "$x"
	mkdir -p "$QB/share"
	cp "$x/usr/share/qemu/s390-ccw.img" "$img"
	rm -rf "$x"
	echo $QEMU_DATA_SHA256 > "$QB/share/.stamp"
}

run_tests() {
	local n=0 p rc=0 out
	for p in $(patch_list); do
		n=$((n + 1))
		# Patch 1 updates linux-headers/, on which checkpatch.pl always
		# warns (also for scripts/update-linux-headers.sh output): only
		# errors count there, warnings too everywhere else.
		if out=$(cd "$QSRC" && perl scripts/checkpatch.pl "$p" 2>&1) &&
		   { case $(basename "$p") in *linux-headers*) true ;; *) false ;; esac ||
		     printf '%s\n' "$out" | grep -q '^total: 0 errors, 0 warnings'; }; then
			echo "ok $n - checkpatch.pl $(basename "$p"): $(printf '%s\n' "$out" | grep '^total:')"
		else
			echo "not ok $n - checkpatch.pl $(basename "$p")"
			printf '%s\n' "$out" | grep -E '^(ERROR|WARNING|#|total)' | sed 's/^/# /'
		fi
	done
	nice -n 10 ninja -C "$QOBJ" tests/unit/test-s390-pci-shadow \
		> "$QB/build-test.log" 2>&1 ||
		{ tail -20 "$QB/build-test.log" >&2; die "unit test build failed"; }
	"$QOBJ/tests/unit/test-s390-pci-shadow" --tap > "$QB/unit-test.log" 2>&1 ||
		rc=$?
	# glib's TAP renumbered after ours: one plan for the whole output.
	awk -v n=$n -v rc=$rc '
		/^ok [0-9]+/ { n++; sub(/^ok [0-9]+ /, ""); print "ok " n " - " $0; next }
		/^not ok [0-9]+/ { n++; sub(/^not ok [0-9]+ /, "")
				   print "not ok " n " - " $0; next }
		END {
			if (rc != 0) { n++; print "not ok " n " - test-s390-pci-shadow exited with " rc }
		}' "$QB/unit-test.log" | tee "$QB/unit-test.tap"
	smoke $((n + $(grep -c '^\(not \)\?ok ' "$QB/unit-test.tap")))
}

# apt-get download PKG=VERSION into $DL as FILE with SHA256 (s390x packages
# need the foreign architecture, added here when missing).
fetch_deb() { # PKG VERSION FILE SHA256
	local pkg=$1 ver=$2 file=$3 sha=$4
	sha_ok "$DL/$file" "$sha" && return 0
	case $pkg in
	*:s390x)
		if ! dpkg --print-foreign-architectures | grep -qx s390x; then
			[ "$(id -u)" = 0 ] || die "s390x is not a dpkg architecture; run as root"
			dpkg --add-architecture s390x
			apt-get update -q >/dev/null
		fi
		;;
	esac
	log "fetching $pkg=$ver (apt-get download)"
	(cd "$DL" && apt-get download -q "$pkg=$ver" > "$DL/apt-download.log" 2>&1) || true
	sha_ok "$DL/$file" "$sha" ||
		die "$DL/$file missing or wrong sha256 (see $DL/apt-download.log)"
}

# The guest's /init: load virtio_blk, read both disks with O_DIRECT, reset
# the first function (slot power off/on: CLP disable, deregistration) and
# read it again. Prints SMOKE lines for the host to check.
smoke_init() {
	cat <<-'EOF'
	#!/bin/busybox sh
	/bin/busybox --install -s /bin
	mount -t proc proc /proc
	mount -t sysfs sys /sys
	mount -t devtmpfs dev /dev
	insmod /virtio_blk.ko.xz 2>/dev/null
	sleep 1
	for d in vda vdb; do
		dd if=/dev/$d of=/tmp/$d bs=4096 iflag=direct 2>/dev/null
		echo "SMOKE read $d $(md5sum < /tmp/$d | cut -d' ' -f1)"
		rm -f /tmp/$d
	done
	# zPCI slots are named by function ID
	echo 0 > /sys/bus/pci/slots/00000001/power
	sleep 1
	echo 1 > /sys/bus/pci/slots/00000001/power
	sleep 3
	dd if=/dev/vda of=/tmp/vda bs=65536 iflag=direct 2>/dev/null
	echo "SMOKE reset vda $(md5sum < /tmp/vda | cut -d' ' -f1)"
	echo "SMOKE done"
	poweroff -f
	EOF
}

smoke() { # first TAP number - 1
	local n=$1 w=$QB/smoke q=$QB/qemu-system-s390x out rc=0
	fetch_deb linux-image-$GUEST_KVER:s390x 6.12.95-1~bpo12+1 \
		"$GUEST_KDEB" $GUEST_KDEB_SHA256
	fetch_deb busybox-static:s390x "$GUEST_BBVER" "$GUEST_BBDEB" \
		$GUEST_BBDEB_SHA256
	rm -rf "$w"
	mkdir -p "$w/k" "$w/bb" "$w/root/bin" "$w/root/dev" "$w/root/proc" \
		"$w/root/sys" "$w/root/tmp"
	dpkg -x "$DL/$GUEST_KDEB" "$w/k"
	dpkg -x "$DL/$GUEST_BBDEB" "$w/bb"
	cp "$w/bb/bin/busybox" "$w/root/bin/"
	cp "$w/k/lib/modules/$GUEST_KVER/kernel/drivers/block/virtio_blk.ko.xz" \
		"$w/root/"
	smoke_init > "$w/root/init"
	chmod +x "$w/root/init"
	(cd "$w/root" && find . | cpio -o -H newc --quiet) > "$w/initrd"
	head -c 2097152 /dev/urandom > "$w/d1.img"
	head -c 1048576 /dev/urandom > "$w/d2.img"

	# Function 1 in auto mode, function 2 off: both are emulated, so
	# both are stock; iommu_platform makes the guest map every DMA.
	timeout 600 "$q" -L "$QB/share" -M s390-ccw-virtio -accel tcg \
		-cpu max -smp 1 -m 1024 -nographic -nic none -no-reboot \
		-kernel "$w/k/boot/vmlinuz-$GUEST_KVER" -initrd "$w/initrd" \
		-append "console=ttysclp0 quiet panic=-1" \
		-drive file="$w/d1.img",if=none,id=d1,format=raw \
		-drive file="$w/d2.img",if=none,id=d2,format=raw \
		-device zpci,uid=1,fid=1,target=vd1 \
		-device virtio-blk-pci,drive=d1,id=vd1,disable-legacy=on,iommu_platform=on \
		-device zpci,uid=2,fid=2,target=vd2,iommufd-shadow=off \
		-device virtio-blk-pci,drive=d2,id=vd2,disable-legacy=on,iommu_platform=on \
		-trace 's390_pci_*' -D "$w/trace.log" > "$w/console.raw" 2>&1 || rc=$?
	tr -d '\r' < "$w/console.raw" > "$w/console.log"
	check() { # DESCRIPTION COMMAND...: one TAP line
		local d=$1
		shift
		n=$((n + 1))
		if "$@"; then echo "ok $n - $d"; else echo "not ok $n - $d"; fi
	}
	has() { grep -q "$@"; }
	md5() { md5sum < "$1" | cut -d' ' -f1; }
	modes() {
		has 'uid 1 fid 0x1 mode stock: the function is not a vfio-pci device' "$w/trace.log" &&
			has 'uid 2 fid 0x2 mode stock: off' "$w/trace.log"
	}
	rpcits() {
		awk '
		/^s390_pci_rpcit / { r++; if ($0 !~ /mode stock$/) bad++ }
		/^s390_pci_rpcit_done / { d++; if ($0 !~ / mode stock cc 0 status 0 ns [0-9]+$/) bad++ }
		END { print r + 0 > "/dev/stderr"; exit !(r > 100 && r == d && !bad) }' \
			"$w/trace.log" 2> "$w/rpcits"
	}
	ioats() {
		[ "$(grep -c '^s390_pci_reg_ioat fh 0x[0-9a-f]* iota .* mode stock rc 0$' "$w/trace.log")" -ge 3 ] &&
			has '^s390_pci_dereg_ioat fh 0x[0-9a-f]* mode stock$' "$w/trace.log"
	}
	check "L0 boot of Debian $GUEST_KVER with two zPCI virtio-blk disks (qemu rc=$rc, $w/console.log)" \
		has '^SMOKE done' "$w/console.log"
	check "guest reads disk 1 (zpci iommufd-shadow=auto) through its DMA tables, data matches" \
		has -x "SMOKE read vda $(md5 "$w/d1.img")" "$w/console.log"
	check "guest reads disk 2 (zpci iommufd-shadow=off), data matches" \
		has -x "SMOKE read vdb $(md5 "$w/d2.img")" "$w/console.log"
	check "after a function reset disk 1 reads the same data" \
		has -x "SMOKE reset vda $(md5 "$w/d1.img")" "$w/console.log"
	check "s390_pci_shadow_mode: auto without vfio-pci and off are stock" modes
	rpcits || true
	check "every s390_pci_rpcit has its s390_pci_rpcit_done (mode stock, cc 0, ns): $(cat "$w/rpcits") RPCITs" \
		rpcits
	check "IOAT registration, deregistration at the function reset, registration again" ioats

	# iommufd-shadow=on without vfio-pci on iommufd: the plug fails.
	rc=0
	out=$(timeout 120 "$q" -L "$QB/share" -M s390-ccw-virtio -accel tcg \
		-nographic -nic none -S \
		-device zpci,uid=1,fid=1,target=r1,iommufd-shadow=on \
		-device virtio-rng-pci,id=r1 2>&1) || rc=$?
	printf '%s\n' "$out" > "$w/on.log"
	check "iommufd-shadow=on without vfio-pci fails at plug with the reason (rc=$rc)" \
		has "zpci uid 1 fid 0x1: iommufd-shadow=on, but the function is not a vfio-pci device" "$w/on.log"
	echo "1..$n"
}

t_start=$(date +%s)
deps
fetch
prepare
build
firmware
log "QEMU ready: $QB/qemu-system-s390x, firmware $QB/share/s390-ccw.img ($(($(date +%s) - t_start)) s in all)"
if [ $mode = test ]; then
	run_tests
fi
