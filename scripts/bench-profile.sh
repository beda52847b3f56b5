#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Where the kernel spends a shadow refresh (issue 5): boot the VT-d VM with
# profile=2 (CONFIG_PROFILING: the timer tick counts the kernel PC in 4-byte
# buckets), loop one refresh size in shadow-bench (--profile), and name the
# buckets with the vmlinux that booted: ticks per function, and the hottest
# offsets inside the top functions (for objdump -d --start-address).
#
#   bench-profile.sh [BENCH ARGS]   default: --max-size 4096 --layouts sc
#   (--profile-same profiles a refresh of an unchanged range instead)
#
# Caveat, measured: a tick that comes while interrupts are off is counted
# where they come back on, and under TCG such code gets far more ticks than
# its time: the VT-d IOTLB flush (cache_tag_flush_range, irqs off) got 63%
# of a 1-page refresh's ticks, while the refresh without it (a0 in
# make bench) is only 17% faster. Weigh irq-off code by the benchmark.
set -eu
. "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null || die "python3 missing (apt-get install python3)"
args=("$@")
[ ${#args[@]} -gt 0 ] || args=(--max-size 4096 --layouts sc)
out=$BUILD/bench-profile.out
VM_APPEND=profile=2 VMRUN_LOG=$BUILD/vm-run.bench-profile.log \
	"$TOP/scripts/vm-run.sh" -p vtd -t 600 "$TESTS/bench" --edu \
	--profile 20 "${args[@]}" | tee "$out" | grep -v '^@prof ' || true
grep -q '^@profile end' "$out" ||
	die "no profile from the VM; see $BUILD/vm-run.bench-profile.log"
nm -n "$OBJ/vmlinux" > "$BUILD/vmlinux.nm"
python3 - "$BUILD/vmlinux.nm" "$out" <<'PY'
import bisect, sys
syms = []
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) == 3 and f[1] in "tTwW":
        syms.append((int(f[0], 16), f[2]))
stext = next(a for a, n in syms if n == "_stext")
addrs = [a for a, n in syms]
def report(title, buckets):
    total = sum(buckets.values())
    funcs, offs = {}, {}
    for off, hits in buckets.items():
        # A tick lands where TCG starts a translation block, often a
        # function's first instruction: a bucket where a function starts
        # (the kernel's functions are not aligned) counts for it.
        i = bisect.bisect_right(addrs, stext + off + step - 1) - 1
        name = syms[i][1]
        funcs[name] = funcs.get(name, 0) + hits
        offs.setdefault(name, []).append((hits, max(0, stext + off - syms[i][0])))
    idle = sum(h for n, h in funcs.items() if "idle" in n)
    busy = total - idle
    print("\n%s\n  %d ticks, %d idle; %% of the busy ones:" % (title, total, idle))
    top = sorted(((h, n) for n, h in funcs.items() if "idle" not in n), reverse=True)
    for h, n in top[:45]:
        hot = sorted(offs[n], reverse=True)[:4]
        print("  %6d %5.1f%%  %-44s hot +%s" % (h, 100.0 * h / busy, n,
              ",".join("%#x" % o for _, o in hot)))
title, buckets, step = None, {}, 4
for line in open(sys.argv[2]):
    if line.startswith("@profile end"):
        report(title, buckets)
        title, buckets = None, {}
    elif line.startswith("@profile "):
        title = "profile of a, " + line[len("@profile "):].strip()
        step = int(line.split("step")[1])
    elif line.startswith("@prof "):
        f = line.split()
        buckets[int(f[1], 16)] = buckets.get(int(f[1], 16), 0) + int(f[2])
PY
