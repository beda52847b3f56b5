#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Install the Debian packages the build and the VM tests need. Idempotent:
# does nothing when everything is already there.
set -eu
. "$(dirname "$0")/lib.sh"

pkgs="flex bison bc libelf-dev libssl-dev cpio ccache xz-utils rsync
      busybox-static qemu-system-x86 gcc make perl python3 git
      clang libclang-rt-14-dev"
# The s390x profile (ARCH=s390): cross compiler with a static libc for the
# test programs and the VM's init, and qemu-system-s390x.
if [ "$ARCH" = s390 ]; then
	pkgs="$pkgs gcc-s390x-linux-gnu libc6-dev-s390x-cross qemu-system-misc"
fi

missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
have_src=$(dpkg-query -W -f='${Version}' "$KPKG" 2>/dev/null || true)

[ -z "$missing" ] && [ -n "$have_src" ] && exit 0
[ "$(id -u)" = 0 ] || die "missing packages:$missing $KPKG; run as root or install them"

export DEBIAN_FRONTEND=noninteractive
log "apt-get update"
apt-get update -q >/dev/null
if [ -n "$missing" ]; then
	log "installing:$missing"
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing >/dev/null
fi
if [ -z "$have_src" ]; then
	if ! apt-get install -y -q --no-install-recommends \
			"$KPKG=$KPKG_VERSION" >/dev/null 2>&1; then
		log "WARNING: $KPKG=$KPKG_VERSION is not available; using the newest $KPKG"
		apt-get install -y -q --no-install-recommends "$KPKG" >/dev/null
	fi
fi
log "kernel source package: $KPKG $(dpkg-query -W -f='${Version}' "$KPKG")"
