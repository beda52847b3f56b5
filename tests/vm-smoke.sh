#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The VM is what the tests need: iommufd, VT-d translating the edu device,
# VFIO cdev, KVM and fault injection. TAP output.
n=0
bad=0
t() {
	n=$((n + 1))
	if eval "$2" >/dev/null 2>&1; then echo "ok $n - $1"
	else echo "not ok $n - $1"; bad=1; fi
}
echo "TAP version 13"
edu=$(grep -l 0x11e8 /sys/bus/pci/devices/*/device 2>/dev/null | head -n 1)
edu=${edu%/device}
t "/dev/iommu exists" '[ -c /dev/iommu ]'
t "VT-d is registered" '[ -e /sys/class/iommu/dmar0 ]'
t "edu device present" '[ -n "$edu" ]'
t "edu is in an IOMMU group" '[ -e "$edu/iommu_group" ]'
t "edu's group uses a DMA domain" 'grep -q DMA "$edu/iommu_group/type"'
t "/dev/kvm exists" '[ -c /dev/kvm ]'
t "vfio-pci driver registered" '[ -d /sys/bus/pci/drivers/vfio-pci ]'
t "failslab available" '[ -d /sys/kernel/debug/failslab ]'
t "fail-nth available" '[ -e /proc/self/task/$$/fail-nth ] || [ -e /proc/self/fail-nth ]'
echo "1..$n"
exit $bad
