#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Configure the test kernel: tinyconfig plus configs/$ARCH.config (and
# configs/$ARCH-$KVARIANT.config after it, when KVARIANT is set). Fails when
# a symbol of the fragments did not make it into the final .config (a
# dependency is missing), naming the symbol.
set -eu
. "$(dirname "$0")/lib.sh"

frags=("$TOP/configs/$ARCH.config")
[ -n "$KVARIANT" ] && frags+=("$TOP/configs/$ARCH-$KVARIANT.config")
for f in "${frags[@]}"; do [ -f "$f" ] || die "no config fragment $f"; done
mkdir -p "$OBJ"
# One fragment, the last setting of each symbol winning
frag=$OBJ/.shadow-fragment
cat "${frags[@]}" | awk '/^CONFIG_/ { n = $0; sub(/=.*/, "", n); last[n] = $0; order[++k] = n }
	END { for (i = 1; i <= k; i++) if (!(order[i] in seen)) { seen[order[i]]; print last[order[i]] } }' > "$frag"
cfg_id=$(cat "$frag" "$TOP/Kconfig" "$SRC/.git/shadow-patches" | sha256sum | cut -d' ' -f1)
[ "$(cat "$OBJ/.shadow-config" 2>/dev/null)" = "$cfg_id" ] && exit 0

kmake() { make -s -C "$SRC" O="$OBJ" ARCH="$KARCH" "$@"; }
KARCH=$ARCH
[ "$ARCH" = s390 ] && export CROSS_COMPILE=${CROSS_COMPILE:-s390x-linux-gnu-}

log "configuring $ARCH kernel"
kmake tinyconfig >/dev/null
"$SRC/scripts/kconfig/merge_config.sh" -m -O "$OBJ" "$OBJ/.config" "$frag" >/dev/null
kmake olddefconfig >/dev/null

bad=0
while read -r line; do
	case "$line" in
	CONFIG_*=n)
		sym=${line%=n}
		grep -q "^$sym=" "$OBJ/.config" && { log "config: $sym is set, wanted off"; bad=1; } ;;
	CONFIG_*=*)
		grep -qx "$line" "$OBJ/.config" || { log "config: $line did not stick"; bad=1; } ;;
	esac
done < "$frag"
[ $bad = 0 ] || die "${frags[*]} do not hold; check the dependencies named above"
echo "$cfg_id" > "$OBJ/.shadow-config"
