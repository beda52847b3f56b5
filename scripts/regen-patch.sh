#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Developer helper: after editing files of the build tree that a patch of
# patches/ touches, rewrite that patch from the tree, keeping its message.
#   scripts/regen-patch.sh patches/NNNN-name.patch [extra/file/in/tree ...]
set -eu
. "$(dirname "$0")/lib.sh"

patch=$(realpath "$1")
shift
[ -f "$patch" ] || die "no patch $patch"
files=$( (grep '^+++ b/' "$patch" | sed 's#^+++ b/##'; printf '%s\n' "$@") | sort -u)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The files as the earlier patches leave them
git -C "$SRC" archive base -- $files | tar -x -C "$tmp"
for p in "$TOP"/patches/*.patch; do
	[ "$p" = "$patch" ] && break
	(cd "$tmp" && git apply --unsafe-paths $(printf -- '--include=%s ' $files) "$p")
done
{
	sed '/^---$/q' "$patch"
	for f in $files; do
		[ -f "$tmp/$f" ] || : > "$tmp/$f"
		(cd "$tmp" && diff -u "$f" "$SRC/$f" |
			sed "1s#^--- .*#--- a/$f#; 2s#^+++ .*#+++ b/$f#" |
			sed "1i diff --git a/$f b/$f") || true
	done
} > "$patch.new"
mv "$patch.new" "$patch"
log "rewrote ${patch#"$TOP"/}"
