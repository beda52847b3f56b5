#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Style gates as TAP: checkpatch --strict on every new kernel file and patch
# of the repository, and a W=1 build of the iommufd objects (new files and
# the files our patches touch) without a warning.
set -u
. "$(dirname "$0")/lib.sh"

n=0
fail=0
tap() { # OK? NAME
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi
}

cp=$SRC/scripts/checkpatch.pl
# checkpatch misreads patches when run inside a git work tree that is not a
# kernel tree (context lines become trailing whitespace): run it elsewhere.
cpdir=$(mktemp -d)
trap 'rm -rf "$cpdir"' EXIT
cd "$TOP" || exit 1
# Kernel code only: userspace tests cannot follow kernel-only advice
# (BIT_ULL, __printf...), so they are not gated here.
for f in $(git ls-files 'drivers/*.[ch]' 'include/*.h'); do
	out=$(cd "$cpdir" && perl "$cp" --strict --quiet --no-tree -f "$TOP/$f" 2>&1 |
	      grep -E '^(ERROR|WARNING|CHECK)')
	[ -z "$out" ] || printf '# %s\n' "$out"
	tap "$([ -z "$out" ]; echo $?)" "checkpatch --strict $f"
done
for p in patches/*.patch; do
	out=$(cd "$cpdir" && perl "$cp" --strict --quiet --no-tree "$TOP/$p" 2>&1 |
	      grep -E '^(ERROR|WARNING|CHECK)' |
	      # no history here; and Kconfig.shadow's path contains "Kconfig"
	      grep -v 'Unknown commit id\|filename in the file')
	[ -z "$out" ] || printf '# %s\n' "$out"
	tap "$([ -z "$out" ]; echo $?)" "checkpatch --strict $p"
done

objs=""
for c in "$SRC"/drivers/iommu/iommufd/*.c; do
	objs="$objs drivers/iommu/iommufd/$(basename "$c" .c).o"
done
# Rebuild them with W=1 (touch: make would otherwise skip them)
touch "$SRC"/drivers/iommu/iommufd/*.c
cc=gcc
command -v ccache >/dev/null && cc="ccache gcc"
# shellcheck disable=SC2086
out=$(make -s -C "$SRC" O="$OBJ" ARCH=x86_64 CC="$cc" W=1 $objs 2>&1 |
      grep -E 'warning:|error:')
[ -z "$out" ] || printf '# %s\n' "$out"
tap "$([ -z "$out" ]; echo $?)" "W=1 build of drivers/iommu/iommufd"
echo "1..$n"
exit $fail
