#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Lay out the kernel tree we build: the Debian source of the base, then
# patches/ in order, then the repository's own files on top.
#
# The tree is a git repository whose first commit is the pristine base, so
# patches are re-applied on a clean base whenever patches/ changes, and files
# whose contents did not change keep their mtimes: an incremental build after
# touching one file of ours recompiles that file only.
set -eu
. "$(dirname "$0")/lib.sh"

tarball=/usr/src/$KPKG.tar.xz
[ -f "$tarball" ] || die "$tarball missing; run scripts/deps.sh"
base_id=$(stat -c '%s %Y' "$tarball")

git_tree() { git -C "$SRC" -c gc.auto=0 -c user.name=shadow -c user.email=shadow@localhost "$@"; }

if [ "$(cat "$SRC/.git/shadow-base" 2>/dev/null)" != "$base_id" ]; then
	log "unpacking $tarball into $SRC"
	rm -rf "$SRC" "$BUILD/unpack"
	mkdir -p "$BUILD/unpack"
	tar -C "$BUILD/unpack" -xf "$tarball"
	mv "$BUILD/unpack/$KPKG" "$SRC"
	rmdir "$BUILD/unpack"
	git_tree init -q
	git_tree add -f -A .
	git_tree commit -q -m base
	git_tree tag base
	echo "$base_id" > "$SRC/.git/shadow-base"
	# Objects built from another tree must not survive.
	rm -rf "$OBJ"
fi
log "kernel $(make -s -C "$SRC" kernelversion)"

patch_id=$(cd "$TOP" && cat patches/*.patch 2>/dev/null | sha256sum | cut -d' ' -f1)
# A tree file edited by hand (not through patches/) is put back too.
dirty=0
git_tree diff --quiet HEAD || { dirty=1; log "build tree edited by hand: laying it out anew"; }
if [ "$(cat "$SRC/.git/shadow-patches" 2>/dev/null)" != "$patch_id" ] || [ $dirty = 1 ]; then
	git_tree reset -q --hard base
	git_tree clean -q -fdx
	rm -f "$SRC/.git/shadow-overlay"
	for p in "$TOP"/patches/*.patch; do
		[ -e "$p" ] || continue
		log "applying patches/${p##*/}"
		git_tree apply --whitespace=nowarn "$p" ||
			die "patch patches/${p##*/} does not apply to $(make -s -C "$SRC" kernelversion)"
	done
	git_tree add -f -A .
	git_tree commit -q --allow-empty -m patched
	echo "$patch_id" > "$SRC/.git/shadow-patches"
fi

# Overlay: the repository's own files. Copy by content (-c) so untouched files
# keep their mtimes; remove files that left the repository since last time.
new_list=$(cd "$TOP" && find drivers include tools Documentation -type f 2>/dev/null | sort)
if [ -f "$SRC/.git/shadow-overlay" ]; then
	comm -23 "$SRC/.git/shadow-overlay" <(echo "$new_list") | while read -r f; do
		[ -n "$f" ] && rm -f "$SRC/$f"
	done
fi
if [ -n "$new_list" ]; then
	(cd "$TOP" && echo "$new_list" | rsync -c --files-from=- . "$SRC/")
fi
echo "$new_list" > "$SRC/.git/shadow-overlay"
# The feature's config symbols live in the repository's top-level Kconfig.
rsync -c "$TOP/Kconfig" "$SRC/drivers/iommu/iommufd/Kconfig.shadow"
