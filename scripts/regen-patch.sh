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
git -C "$tmp" init -q
git -C "$tmp" add -f -A .
git -C "$tmp" -c user.name=x -c user.email=x@x commit -q -m before
for f in $files; do
	mkdir -p "$tmp/$(dirname "$f")"
	cp "$SRC/$f" "$tmp/$f"
done
{
	sed '/^---$/q' "$patch"
	git -C "$tmp" add -f -A .
	git -C "$tmp" diff --cached | grep -v "^index "
} > "$patch.new"
mv "$patch.new" "$patch"
log "rewrote ${patch#"$TOP"/}"
