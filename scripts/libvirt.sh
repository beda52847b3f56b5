#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build the patched libvirt of issue 16: libvirt 11.3.0 from Debian's orig
# tarball (bookworm-backports, pinned sha256) with libvirt/patches/*.patch
# applied, only the QEMU driver, and only the test programs its tests need,
# with ccache. The series adds <driver iommufd='yes'/> and
# <driver iommufdShadow='on|off'/> to PCI host devices (the zpci device's
# iommufd-shadow property of qemu/patches). Leaves the tree in
# $BUILD/libvirt/src (objects in src/build). Idempotent: a second run
# rebuilds only what changed; a changed patch set (or this script's
# configure step) unpacks the tree afresh.
#
#   scripts/libvirt.sh          install deps (as root), fetch, patch, build
#   scripts/libvirt.sh --test   the same, then as TAP: the series applies,
#                               qemuxmlconftest (each case of the series one
#                               line, then the whole program), virschematest,
#                               qemucapabilitiestest, domaincapstest, and the
#                               zpci device libvirt generates, plugged into
#                               our patched QEMU (build/qemu, from
#                               scripts/qemu.sh; skipped without it)
#   scripts/libvirt.sh --virsh  build also virsh and the QEMU driver module,
#                               for scripts/nested.sh: run them with
#                               $BUILD/libvirt/src/build/run (see VIRSH)
set -eu
. "$(dirname "$0")/lib.sh"

LIBVIRT_DEBVER='11.3.0-2~bpo12+1'
LIBVIRT_ORIG=libvirt_11.3.0.orig.tar.xz
LIBVIRT_ORIG_SHA256=6bcb0c42c4580436fea262ced56f68a6afe20f7390b1bea2116718cc034a0283

DL=$BUILD/dl
LB=$BUILD/libvirt
LSRC=$LB/src
LOBJ=$LSRC/build
PATCHES=$TOP/libvirt/patches
# What the tests run: the programs and the mocks they preload (the mocks are
# no link dependency of the programs).
TARGETS="tests/qemuxmlconftest tests/virschematest tests/qemucapabilitiestest
	 tests/domaincapstest tests/libqemuxml2argvmock.so
	 tests/libdomaincapsmock.so tests/libvirrandommock.so
	 tests/libqemucpumock.so tests/libvirpcimock.so tests/libvirnumamock.so"

mode=build
case ${1:-} in
--test) mode="test" ;;
--virsh) TARGETS="$TARGETS tools/virsh src/libvirt_driver_qemu.so" ;;
"") ;;
*) die "usage: $0 [--test|--virsh]" ;;
esac

deps() {
	# libnl is not optional in practice: without it 11.3.0 fails to build
	# src/util/virnetdevbridge.c.
	local pkgs="gcc ninja-build meson pkgconf ccache patch perl python3
		    xz-utils libglib2.0-dev libgnutls28-dev libxml2-dev
		    libxml2-utils xsltproc libjson-c-dev libnl-3-dev
		    libnl-route-3-dev libtirpc-dev rpcsvc-proto"
	local missing="" p
	for p in $pkgs; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q "ok installed" || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	[ "$(id -u)" = 0 ] || die "missing packages:$missing; run as root or install them"
	export DEBIAN_FRONTEND=noninteractive
	log "apt-get update"
	apt-get update -q >/dev/null
	log "installing:$missing"
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing >/dev/null
}

fetch() {
	fetch_orig "$DL" "libvirt=$LIBVIRT_DEBVER" "$LIBVIRT_ORIG" $LIBVIRT_ORIG_SHA256
}

patch_list() {
	find "$PATCHES" -maxdepth 1 -name '[0-9]*.patch' ! -name '0000-*' | sort
}

# Everything that decides the content of the unpacked tree.
inputs_hash() {
	{
		echo "$LIBVIRT_ORIG_SHA256"
		patch_list | while read -r p; do
			basename "$p"
			cat "$p"
		done
		sed -n '/^configure_libvirt()/,/^}/p' "$0"
	} | sha256sum | cut -d' ' -f1
}

# Only the QEMU driver (with libvirtd and the remote driver it needs to
# build) and the tests; no docs, no translations. -O0 without -g: only
# test programs are built, and it saves about a third of the compile time.
configure_libvirt() {
	(cd "$LSRC" && CC="ccache gcc" meson setup build \
		-Doptimization=0 -Ddebug=false \
		-Dauto_features=disabled -Ddriver_qemu=enabled \
		-Ddriver_libvirtd=enabled -Ddriver_remote=enabled \
		-Djson_c=enabled -Dlibnl=enabled -Dtests=enabled \
		-Ddocs=disabled -Dnls=disabled)
}

prepare() {
	local want have=""
	want=$(inputs_hash)
	[ -f "$LB/src.stamp" ] && have=$(cat "$LB/src.stamp")
	if [ "$want" = "$have" ] && [ -f "$LOBJ/build.ninja" ]; then
		return 0
	fi
	log "unpacking libvirt 11.3.0 into $LSRC"
	rm -f "$LB/src.stamp"
	rm -rf "$LSRC" "$LB/src.tmp"
	mkdir -p "$LB/src.tmp"
	tar -C "$LB/src.tmp" --no-same-owner -xf "$DL/$LIBVIRT_ORIG"
	mv "$LB/src.tmp/libvirt-11.3.0" "$LSRC"
	rmdir "$LB/src.tmp"
	local p n=0
	: > "$LB/patch.log"
	for p in $(patch_list); do
		patch -d "$LSRC" -p1 -s -N < "$p" >> "$LB/patch.log" 2>&1 ||
			{ cat "$LB/patch.log" >&2; die "patch $(basename "$p") failed"; }
		n=$((n + 1))
	done
	echo "$n" > "$LB/patches.applied"
	log "applied $n patches from libvirt/patches"
	log "meson setup (log: $LB/configure.log)"
	configure_libvirt > "$LB/configure.log" 2>&1 ||
		{ tail -20 "$LB/configure.log" >&2; die "libvirt configure failed"; }
	echo "$want" > "$LB/src.stamp"
}

# ccache hits across tree locations (a development tree, a fresh unpack).
export CCACHE_BASEDIR=$LB CCACHE_NOHASHDIR=1

build() {
	local t0
	t0=$(date +%s)
	log "ninja: the QEMU driver's test programs (log: $LB/build.log)"
	# shellcheck disable=SC2086
	nice -n 10 ninja -C "$LOBJ" $TARGETS > "$LB/build.log" 2>&1 ||
		{ grep -E 'error|warning' "$LB/build.log" | head -40 >&2;
		  tail -20 "$LB/build.log" >&2; die "libvirt build failed"; }
	log "libvirt build took $(($(date +%s) - t0)) s"
}

# The qemuxmlconftest cases of the series, one TAP line each: every step
# of a case (parse, XML -> XML, XML -> ARGV) passed or, after an expected
# refusal (its .err file names the message), was skipped.
series_cases() { # CASES-FILE FIRST-TAP-NUMBER-1
	awk -v n="$2" -v data="$LSRC/tests/qemuxmlconfdata" '
	/ (hostdev-vfio-iommufd|hostdev-vfio-zpci-iommufd-shadow)[^ ]*\.[a-z0-9_]+-[a-z0-9.]+ / {
		for (i = 1; i <= NF; i++)
			if ($i ~ /^hostdev-vfio-(iommufd|zpci-iommufd-shadow)/) { c = $i; break }
		if (!(c in st)) { order[++k] = c; st[c] = "ok" }
		if ($NF == "FAILED") st[c] = "not ok"
		else if ($NF == "OK" && $0 ~ /error :/) { err[c] = $0; sub(/.*error : /, "", err[c]); sub(/ OK$/, "", err[c]) }
		steps[c]++
	}
	END {
		for (i = 1; i <= k; i++) {
			c = order[i]
			d = (c in err) ? "refused: " err[c] : "parse, XML -> XML twice, XML -> ARGV match"
			printf "%s %d - qemuxmlconftest %s: %s\n", st[c], ++n, c, d
		}
	}' "$1"
}

run_tests() {
	local n=0 rc out prog w=$LB/test
	rm -rf "$w"
	mkdir -p "$w"
	tap() { # OK? DESCRIPTION
		n=$((n + 1))
		if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi
	}
	tap 0 "libvirt/patches: $(cat "$LB/patches.applied") patches apply to libvirt $LIBVIRT_DEBVER"

	# VIR_TEST_VERBOSE prints ' N) NAME ... OK|FAILED|SKIP' per case (an
	# expected error message may come before the OK, on the same line).
	for prog in qemuxmlconftest virschematest qemucapabilitiestest domaincapstest; do
		rc=0
		(cd "$LOBJ/tests" && VIR_TEST_VERBOSE=1 "./$prog") \
			> "$w/$prog.log" 2>&1 || rc=$?
		awk '/^ *[0-9]+\) / && !/ (OK|FAILED|SKIP)$/ { l = $0; getline; $0 = l " " $0 }
		     /^ *[0-9]+\) / { print }' "$w/$prog.log" > "$w/$prog.cases"
		if [ $prog = qemuxmlconftest ]; then
			series_cases "$w/$prog.cases" $n
			n=$((n + $(series_cases "$w/$prog.cases" 0 | grep -c '^\(not \)\?ok ')))
		fi
		out="$(grep -c ' OK$' "$w/$prog.cases" || true) cases passed"
		out="$out, $(grep -c ' FAILED$' "$w/$prog.cases" || true) failed"
		tap $rc "$prog: $out (rc=$rc, $w/$prog.log)"
		[ $rc = 0 ] || grep ' FAILED$' "$w/$prog.cases" | head -20 | sed 's/^/# /'
	done

	# The zpci device of the on/off/absent case, plugged into our QEMU: the
	# property name and values are QEMU's (the tests above cannot know).
	local args=$LSRC/tests/qemuxmlconfdata/hostdev-vfio-zpci-iommufd-shadow.s390x-latest.args
	local q=$BUILD/qemu/qemu-system-s390x d
	if [ ! -x "$q" ] || [ ! -f "$BUILD/qemu/share/s390-ccw.img" ]; then
		n=$((n + 1))
		echo "ok $n - # SKIP zpci devices into QEMU: no $q or its firmware (scripts/qemu.sh builds them)"
	else
		for d in off on; do
			rc=0
			# the zpci device with this setting, aimed at a virtio-rng
			out=$(sed -n "s/^-device '\(.*\"iommufd-shadow\":\"$d\"}\)' .*/\1/p" "$args" |
				sed 's/"target":"hostdev[0-9]*"/"target":"rng0"/')
			printf '%s\n' '{"execute":"qmp_capabilities"}' \
				'{"execute":"quit"}' |
			timeout 60 "$q" -L "$BUILD/qemu/share" -M s390-ccw-virtio -accel tcg -S \
				-nodefaults -display none -qmp stdio \
				-device "$out" -device '{"driver":"virtio-rng-pci","id":"rng0"}' \
				> "$w/qemu-$d.log" 2>&1 || rc=$?
			if [ $d = off ]; then
				[ -n "$out" ] && [ $rc = 0 ] && rc=0 || rc=1
				tap $rc "QEMU takes libvirt's $out (rc=$rc)"
			else
				# on needs vfio-pci on iommufd: the plug must say so
				grep -q "iommufd-shadow=on, but the function is not a vfio-pci device" \
					"$w/qemu-$d.log" && rc=0 || rc=1
				tap $rc "QEMU parses libvirt's $out and refuses it for a virtio-rng function"
			fi
		done
	fi
	echo "1..$n"
}

t_start=$(date +%s)
deps
fetch
prepare
build
log "libvirt ready: $LOBJ ($(($(date +%s) - t_start)) s in all)"
if [ $mode = test ]; then
	run_tests
fi
