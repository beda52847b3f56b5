# SPDX-License-Identifier: GPL-2.0
# Devices of the s390x-softmmu QEMU that scripts/qemu.sh builds (configure
# --without-default-devices --with-devices-s390x=iommufd-shadow): the
# s390-ccw-virtio machine with zPCI, vfio-pci on the iommufd backend and the
# virtio devices the nested tests pass through or emulate.
CONFIG_S390_CCW_VIRTIO=y
CONFIG_VFIO_PCI=y
CONFIG_IOMMUFD=y
CONFIG_VIRTIO_PCI=y
CONFIG_VIRTIO_BLK=y
CONFIG_VIRTIO_RNG=y
