#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
# /init of the nested rig's L1: our x86-64 kernel with an emulated VT-d,
# two virtio-blk functions (1af4:1042) to pass through. Binds them to
# vfio-pci, enables the kernel's iommufd_shadow trace events, runs
# qemu-system-s390x (the VMM) with the s390x guest, one zPCI function in
# stock mode (uid 1) and one in kernel-shadow mode (uid 2), then prints a
# summary of QEMU's trace, the kernel's trace and dmesg as "R: " lines for
# scripts/nested.sh and powers off. Settings: /etc/nested.conf.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mount -t tmpfs tmp /tmp
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
. /etc/nested.conf
# Everything goes out through printk (/dev/kmsg), in order with the
# kernel's own messages (scripts/nested.sh strips the timestamp). One
# write, one record: lines are written one at a time (lines()).
exec > /dev/kmsg 2>&1
lines() { while IFS= read -r l; do echo "$l"; done; }
up() { cut -d' ' -f1 /proc/uptime; }
r() { echo "R: $*"; }
bye() { echo "L1: done at uptime $(up)"; sync; poweroff -f; }

echo "L1: up at uptime $(up)"
set --
for d in /sys/bus/pci/devices/*; do
	[ "$(cat "$d/vendor"):$(cat "$d/device")" = 0x1af4:0x1042 ] && set -- "$@" "${d##*/}"
done
r "l1 virtio_blk_functions=$# $*"
[ $# = 2 ] || bye
for dev in "$@"; do
	echo vfio-pci > /sys/bus/pci/devices/$dev/driver_override
	echo "$dev" > /sys/bus/pci/drivers_probe
	drv=$(basename "$(readlink /sys/bus/pci/devices/$dev/driver)")
	grp=$(basename "$(readlink /sys/bus/pci/devices/$dev/iommu_group)")
	r "l1 bind $dev driver=$drv group=$grp"
done

T=/sys/kernel/tracing
if [ -d $T/events/iommufd_shadow ]; then
	echo 16384 > $T/buffer_size_kb
	echo 1 > $T/events/iommufd_shadow/enable
	r "l1 tracefs iommufd_shadow events: $(cd $T/events/iommufd_shadow && ls -d shadow_* | tr '\n' ' ')"
else
	r "l1 tracefs no iommufd_shadow events"
fi

set -f	# QEMU_TRACE holds globs for QEMU, not the shell
Q=/opt/qemu/qemu-system-s390x
TR=/tmp/qemu-trace.log
: > $TR
: > /tmp/marks
# The passed-through functions: the arguments libvirt made of the domain
# XML (scripts/nested.sh: virsh domxml-to-native), JSON without blanks, or
# without them our own.
HOSTDEVS="-object iommufd,id=fd0
	-device zpci,uid=1,fid=1,target=h0$ZPCI1
	-device vfio-pci,host=$1,id=h0,iommufd=fd0
	-device zpci,uid=2,fid=2,target=h1$ZPCI2
	-device vfio-pci,host=$2,id=h1,iommufd=fd0"
[ -n "${LIBVIRT_ARGS:-}" ] && HOSTDEVS=$LIBVIRT_ARGS
set -- $Q -L /opt/qemu/share -accel tcg -M s390-ccw-virtio -cpu max -smp 1 \
	-m "$L2MEM" -display none -serial stdio -monitor none -nic none \
	-kernel /l2/vmlinuz -initrd /l2/initrd -append "$GUEST_APPEND" \
	$HOSTDEVS \
	$QEMU_TRACE -D $TR
echo "L1: cmd: $*"
echo "L1: QEMU start at uptime $(up)"
t0=$(up)
# The guest's console, prefixed; at each "NT: mark" line the trace's
# length and QEMU's CPU ticks so far cut the trace into phases. At
# "NT: l1 cap N|restore" the kernel's cap on shadow records is set to N or
# put back (the guest's error phase).
CAP=/sys/module/iommufd/parameters/shadow_max_records
( time -p -o /tmp/qemu-time timeout "$L2TMO" "$@" < /dev/null 2>&1
  echo "L1: QEMU exit rc=$?" ) | tr -d '\r' |
while IFS= read -r line; do
	echo "L2| $line"
	case $line in
	*"NT: mark "*)
		m=${line#*NT: mark }
		pid=$(pidof qemu-system-s390x)
		cpu=$(awk '{ print $14 + $15 }' /proc/$pid/stat 2>/dev/null)
		echo "$m $(wc -l < $TR) ${cpu:-0} $(up)" >> /tmp/marks ;;
	*"NT: l1 cap "*)
		c=${line#*NT: l1 cap }
		if [ "$c" = restore ]; then
			c=${cap0:-}
		else
			cap0=$(cat $CAP 2>/dev/null)
		fi
		[ -n "$c" ] && echo "$c" > $CAP
		r "l1 cap $(cat $CAP 2>/dev/null || echo none) (set to ${c:-nothing}, default ${cap0:-unknown})" ;;
	esac
done
echo "L1: QEMU end at uptime $(up) ($(awk -v a="$t0" -v b="$(up)" 'BEGIN { print b - a }') s)"
# The kernel destroys the shadow when QEMU's iommufd closes.
sleep 1
r "l1 qemu_time $(tr '\n' ' ' < /tmp/qemu-time)"
awk -v marks=/tmp/marks -f /etc/nested-summary.awk $TR | lines
# The first failed invalidations and RPCITs, if any, verbatim
grep -m 5 -E 's390_pci_shadow_invalidate .* ret -|s390_pci_rpcit_done .* cc [1-9]' $TR |
	sed 's/^/L1: trace: /' | lines
if [ -d $T/events/iommufd_shadow ]; then
	echo 0 > $T/events/iommufd_shadow/enable
	awk '
	/ shadow_alloc:/ { a++; if ($0 !~ / rc=0$/) ae++ }
	/ shadow_destroy:/ { d++ }
	/ shadow_zap:/ { z++ }
	/ shadow_sync:/ {
		s++
		for (i = 1; i <= NF; i++) {
			if ($i ~ /^mapped=/) { split($i, v, "="); mp += v[2] }
			if ($i ~ /^unmapped=/) { split($i, v, "="); ump += v[2] }
			if ($i ~ /^rc=/ && $i != "rc=0") se++
		}
	}
	END {
		printf "R: k alloc=%d alloc_err=%d destroy=%d sync=%d sync_err=%d mapped=%d unmapped=%d zap=%d\n",
			a, ae, d, s, se, mp, ump, z
	}' $T/trace | lines
	r "k overrun=$(cat $T/per_cpu/cpu*/stats | awk '/^overrun:/ { n += $2 } END { print n + 0 }')"
fi
dmesg | grep -v -E '\] (L2\||R:|L1:) ' > /tmp/dmesg
r "l1 dmar_faults=$(grep -c -E 'DMAR: \[DMA|fault addr' /tmp/dmesg)"
grep -E 'DMAR|vfio|iommufd' /tmp/dmesg | tail -5 | sed 's/^/L1: dmesg: /' | lines
bye
