#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build the VM test programs as static binaries into $TESTS: the upstream
# iommufd selftests of the base (our regression suite) and ours, all from
# tools/testing/selftests/iommu/ of the prepared tree, against the uAPI
# headers of the kernel we built.
set -eu
. "$(dirname "$0")/lib.sh"

[ -d "$HDR/include" ] || die "no uAPI headers in $HDR; run scripts/build.sh"
cc=${CROSS_COMPILE:-}gcc
dir=$SRC/tools/testing/selftests/iommu
cflags="-static -O2 -g -Wall -Wno-unused-function -pthread -D_GNU_SOURCE
	-isystem $HDR/include -I$SRC/tools/testing/selftests -I$dir"
mkdir -p "$TESTS"
for src in "$dir"/*.c; do
	bin=$TESTS/$(basename "$src" .c)
	# Rebuild when the source, a header next to it, or the uAPI changed.
	if [ -f "$bin" ] && [ -z "$(find "$src" "$dir"/*.h \
			"$SRC/drivers/iommu/iommufd/iommufd_test.h" \
			"$HDR/include/linux/iommufd.h" -newer "$bin" 2>/dev/null)" ]; then
		continue
	fi
	log "building test ${bin##*/}"
	# shellcheck disable=SC2086
	$cc $cflags -o "$bin" "$src" || die "test ${bin##*/} does not build"
done

# The narrated demos of make run (x86: VT-d and edu; s390: s390-iommu and
# a zPCI virtio-rng function) and the benchmark of make bench share the
# tests' libraries
progs="shadow-demo/demo shadow-bench/bench"
[ "$ARCH" = s390 ] && progs="$progs shadow-demo/demo_s390"
for prog in $progs; do
	src=$TOP/tools/testing/$prog.c
	bin=$TESTS/${prog#*/}
	# ${src%/*}: the program's own directory (shadow-demo/narrate.h)
	if [ ! -f "$bin" ] || [ -n "$(find "$src" "${src%/*}" "$dir"/*.h \
			"$HDR/include/linux/iommufd.h" -maxdepth 1 \
			-newer "$bin")" ]; then
		log "building ${bin##*/}"
		# shellcheck disable=SC2086
		$cc $cflags -o "$bin" "$src" || die "${bin##*/} does not build"
	fi
done
