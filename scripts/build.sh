#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build the test kernel and install its uAPI headers for the test programs.
# W=1 when W1=1 (the files of the feature are checked by 'make w1').
set -eu
. "$(dirname "$0")/lib.sh"

"$TOP/scripts/prepare.sh"
"$TOP/scripts/config.sh"

case $ARCH in
x86_64) image=arch/x86/boot/bzImage; KARCH=x86_64 ;;
s390)   image=arch/s390/boot/bzImage; KARCH=s390
	export CROSS_COMPILE=${CROSS_COMPILE:-s390x-linux-gnu-} ;;
*) die "unknown ARCH=$ARCH" ;;
esac

cc=${CROSS_COMPILE:-}gcc
command -v ccache >/dev/null && cc="ccache $cc"
log "building $ARCH kernel in $OBJ"
t0=$(date +%s)
mlog=$BUILD/make-$ARCH.log
# shellcheck disable=SC2086
if ! make -s -C "$SRC" O="$OBJ" ARCH="$KARCH" CC="$cc" -j"$JOBS" ${W:+W=$W} \
		$(basename "$image") headers > "$mlog" 2>&1; then
	grep -E -B3 -A3 'error|Error' "$mlog" | tail -40 >&2
	die "kernel build failed; full log in $mlog"
fi
grep -E 'warning:' "$mlog" >&2 || true
# Install the uAPI headers by content, so unchanged ones keep their mtimes.
mkdir -p "$HDR/include"
rsync -rc "$OBJ/usr/include/" "$HDR/include/"
log "kernel built in $(($(date +%s) - t0)) s: $OBJ/$image"
