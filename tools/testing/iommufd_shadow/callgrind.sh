#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Instructions per entry of one shadow refresh (walk + plan + apply) of
# N = 1, 16, 256, 4096, 65536 retargeted s390 page entries, under callgrind.
# See bench_sync.c for the world and the two measured regions.
#
#   ./callgrind.sh [N...]        OUT=dir to keep the build and the profiles
#
# Columns (all Ir = instructions executed, counted by callgrind):
#   sync Ir     one shadow_sync_range() of the N retargeted entries
#   sync/ent    sync Ir / N
#   walk/ent    shadow_s390_format.walk() alone over the same range (no-op
#               emit, trivial table lookup) / N
#   drv/ent     of the sync: the fake IOMMU driver (iommu_map_nosync,
#               iommu_unmap_fast, iommu_iova_to_phys, iommu_iotlb_sync,
#               inclusive) / N - the world's cost, not the engine's
#   alloc/ent   of the sync: kzalloc/kfree (libc calloc/free here) / N
#   engine/ent  sync - walk - drv - alloc, per entry: the engine's own
#               planning (records, interval trees, callbacks)
#   maps        iommu_map_nosync calls of the sync
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=${OUT:-$(mktemp -d /tmp/iommufd_shadow_cg.XXXXXX)}
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1 16 256 4096 65536)

command -v valgrind >/dev/null || { echo "valgrind not installed" >&2; exit 1; }
[ -f /usr/include/valgrind/callgrind.h ] ||
	echo "# warning: no valgrind/callgrind.h: the regions are not isolated" >&2

make -s -C "$here" OUT="$out" bench_sync >&2
mkdir -p "$out/profiles"

# Inclusive Ir of the functions matching $2 (ERE on the bare name) in $1.
# Only the "file:function [object]" rows: the rows without an object are
# the same cost again under another file name (inlined header code, or the
# source path as seen from the current directory).
incl() {
	(cd / && callgrind_annotate --inclusive=yes --auto=no --threshold=100 \
		"$1" 2>/dev/null) |
	awk -v re="$2" '
		/^ *[0-9,]+ .*:[^ ]+ \[/ {
			n = $1; gsub(",", "", n)
			f = $0; sub(/^ *[0-9,]+ (\([ 0-9.%]+\) +)?/, "", f)
			sub(/ \[.*$/, "", f); sub(/^.*:/, "", f)
			sub(/\..*$/, "", f)	# .constprop.0, .isra.0, ...
			if (f ~ "^(" re ")$") s += n
		}
		END { print s + 0 }'
}

total() {
	awk '/^totals:/ { print $2; exit }' "$1"
}

printf '%6s %-9s %12s %9s %9s %9s %9s %10s %6s\n' \
	N layout "sync Ir" sync/ent walk/ent drv/ent alloc/ent engine/ent maps
for n in "${sizes[@]}"; do
	for layout in scattered contig; do
		flag=
		[ $layout = contig ] && flag=--contig
		pre="$out/profiles/cg.$n.$layout"
		rm -f "$pre".*
		info=$(valgrind --tool=callgrind --collect-atstart=no \
			--instr-atstart=no --callgrind-out-file="$pre.%p" \
			"$out/bench_sync" "$n" $flag 2>"$pre.log") || {
			echo "bench_sync $n $flag failed:" >&2
			cat "$pre.log" >&2
			exit 1
		}
		sync_f=$(grep -l '^desc: Trigger: Client Request: sync' "$pre".*.*)
		walk_f=$(grep -l '^desc: Trigger: Client Request: walk' "$pre".*.*)
		s=$(total "$sync_f")
		w=$(total "$walk_f")
		d=$(incl "$sync_f" 'iommu_map_nosync|iommu_sync_map|iommu_unmap_fast|iommu_iova_to_phys|iommu_iotlb_sync')
		a=$(incl "$sync_f" 'kshim_kzalloc|kshim_kfree')
		maps=$(sed -n 's/.* map_calls \([0-9]*\) .*/\1/p' <<<"$info")
		awk -v n="$n" -v l="$layout" -v s="$s" -v w="$w" -v d="$d" \
		    -v a="$a" -v m="$maps" 'BEGIN {
			printf "%6d %-9s %12d %9.1f %9.1f %9.1f %9.1f %10.1f %6d\n",
			       n, l, s, s / n, w / n, d / n, a / n,
			       (s - w - d - a) / n, m }'
	done
done
echo "# profiles: $out/profiles (callgrind_annotate --inclusive=yes FILE)"
