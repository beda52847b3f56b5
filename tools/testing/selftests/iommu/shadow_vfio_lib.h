/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * shadow_vfio_lib.h - a PCI device through the VFIO cdev: sysfs lookup,
 * binding to vfio-pci, the cdev bound to an iommufd, config space and BAR0
 *
 * Part of the shadow test library: see shadow_lib.h for its conventions.
 */
#ifndef __SHADOW_VFIO_LIB_H
#define __SHADOW_VFIO_LIB_H

#include <dirent.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include "shadow_lib.h"

/* ------------------------------------------------------------------------ */
/* PCI device through the VFIO cdev                                         */
/* ------------------------------------------------------------------------ */

#define SHADOW_PCI_DEVICES	"/sys/bus/pci/devices"

/**
 * pci_find_device() - Find the first PCI device with an ID in sysfs
 * @vendor: PCI vendor ID
 * @device: PCI device ID
 * @bdf: Returns its address, e.g. "0000:00:03.0"
 * @len: Size of @bdf
 *
 * Returns -ENODEV when there is none.
 */
static int pci_find_device(uint16_t vendor, uint16_t device, char *bdf,
			   size_t len)
{
	struct dirent *de;
	int ret = -ENODEV;
	DIR *dir;

	dir = opendir(SHADOW_PCI_DEVICES);
	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		char path[PATH_MAX], val[32];

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), SHADOW_PCI_DEVICES "/%s/vendor",
			 de->d_name);
		if (shadow_sysfs_read(path, val, sizeof(val)) ||
		    strtoul(val, NULL, 16) != vendor)
			continue;
		snprintf(path, sizeof(path), SHADOW_PCI_DEVICES "/%s/device",
			 de->d_name);
		if (shadow_sysfs_read(path, val, sizeof(val)) ||
		    strtoul(val, NULL, 16) != device)
			continue;
		shadow_strlcpy(bdf, de->d_name, len);
		ret = 0;
		break;
	}
	closedir(dir);
	if (!ret)
		shadow_log("found PCI device %04x:%04x at %s", vendor, device,
			   bdf);
	return ret;
}

/**
 * pci_driver_name() - Name of the driver a PCI device is bound to
 * @bdf: Device address
 * @name: Returns the driver name, "" when unbound
 * @len: Size of @name
 */
static int pci_driver_name(const char *bdf, char *name, size_t len)
{
	char path[PATH_MAX], link[PATH_MAX];
	const char *base;
	ssize_t n;

	snprintf(path, sizeof(path), SHADOW_PCI_DEVICES "/%s/driver", bdf);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0) {
		if (errno != ENOENT)
			return -errno;
		name[0] = 0;
		return 0;
	}
	link[n] = 0;
	base = strrchr(link, '/');
	shadow_strlcpy(name, base ? base + 1 : link, len);
	return 0;
}

/**
 * pci_bind_vfio() - Make vfio-pci the driver of a PCI device
 * @bdf: Device address
 *
 * Does nothing when vfio-pci already drives it. Otherwise unbinds the
 * current driver, sets driver_override to "vfio-pci" and asks the PCI core
 * to probe again (drivers_probe), which is what driverctl and libvirt do.
 */
static int pci_bind_vfio(const char *bdf)
{
	char path[PATH_MAX], drv[64];
	int ret;

	ret = pci_driver_name(bdf, drv, sizeof(drv));
	if (ret)
		return ret;
	if (!strcmp(drv, "vfio-pci"))
		return 0;
	if (drv[0]) {
		shadow_log("%s: unbinding from %s", bdf, drv);
		snprintf(path, sizeof(path), SHADOW_PCI_DEVICES "/%s/driver/unbind",
			 bdf);
		ret = shadow_sysfs_write(path, bdf);
		if (ret)
			return ret;
	}
	snprintf(path, sizeof(path), SHADOW_PCI_DEVICES "/%s/driver_override",
		 bdf);
	ret = shadow_sysfs_write(path, "vfio-pci");
	if (ret)
		return ret;
	ret = shadow_sysfs_write("/sys/bus/pci/drivers_probe", bdf);
	if (ret)
		return ret;
	ret = pci_driver_name(bdf, drv, sizeof(drv));
	if (ret)
		return ret;
	if (strcmp(drv, "vfio-pci"))
		return -ENODEV;
	shadow_log("%s: bound to vfio-pci", bdf);
	return 0;
}

/**
 * vfio_cdev_path() - Path of the VFIO cdev of a device bound to vfio-pci
 * @bdf: Device address
 * @path: Returns "/dev/vfio/devices/vfioN", N from sysfs .../vfio-dev/vfioN
 * @len: Size of @path
 */
static int vfio_cdev_path(const char *bdf, char *path, size_t len)
{
	char dirname[PATH_MAX];
	struct dirent *de;
	int ret = -ENODEV;
	DIR *dir;

	snprintf(dirname, sizeof(dirname), SHADOW_PCI_DEVICES "/%s/vfio-dev",
		 bdf);
	dir = opendir(dirname);
	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		if (strncmp(de->d_name, "vfio", 4))
			continue;
		snprintf(path, len, "/dev/vfio/devices/%s", de->d_name);
		ret = 0;
		break;
	}
	closedir(dir);
	return ret;
}

/**
 * struct vfio_pci_dev - A PCI device opened through its VFIO cdev
 * @bdf: PCI address, e.g. "0000:00:03.0"
 * @fd: The cdev fd, -1 when closed
 * @dev_id: iommufd device id, valid after vfio_bind_iommufd()
 * @cfg_offset: File offset of the config-space region
 * @bar0: BAR0 mapped by vfio_mmap_bar0(), or NULL
 * @bar0_size: Size of the @bar0 mapping
 */
struct vfio_pci_dev {
	char bdf[32];
	int fd;
	uint32_t dev_id;
	uint64_t cfg_offset;
	volatile void *bar0;
	size_t bar0_size;
};

/**
 * vfio_region_info() - Describe one region of a VFIO device
 * @d: Device
 * @index: VFIO_PCI_BAR0_REGION_INDEX ... VFIO_PCI_CONFIG_REGION_INDEX ...
 * @info: Returns offset, size and flags (VFIO_REGION_INFO_FLAG_*)
 */
static int vfio_region_info(struct vfio_pci_dev *d, uint32_t index,
			    struct vfio_region_info *info)
{
	memset(info, 0, sizeof(*info));
	info->argsz = sizeof(*info);
	info->index = index;
	return shadow_ioctl(d->fd, VFIO_DEVICE_GET_REGION_INFO, info);
}

/**
 * vfio_pci_open() - Open the VFIO cdev of a PCI device bound to vfio-pci
 * @d: Device to fill
 * @bdf: PCI address
 *
 * The fd can do nothing but VFIO_DEVICE_BIND_IOMMUFD until it is bound.
 */
static int vfio_pci_open(struct vfio_pci_dev *d, const char *bdf)
{
	char path[PATH_MAX];
	int ret;

	memset(d, 0, sizeof(*d));
	d->fd = -1;
	shadow_strlcpy(d->bdf, bdf, sizeof(d->bdf));
	ret = vfio_cdev_path(bdf, path, sizeof(path));
	if (ret)
		return ret;
	d->fd = open(path, O_RDWR | O_CLOEXEC);
	if (d->fd < 0)
		return -errno;
	shadow_log("%s: opened %s", bdf, path);
	return 0;
}

/**
 * vfio_bind_iommufd() - Bind an opened device to an iommufd
 * @d: Device
 * @iommufd: iommufd fd
 *
 * Sets @d->dev_id, the handle of the device in iommufd ioctls, and finds the
 * config-space region (which needs a bound device).
 */
static int vfio_bind_iommufd(struct vfio_pci_dev *d, int iommufd)
{
	struct vfio_device_bind_iommufd bind = {
		.argsz = sizeof(bind),
		.iommufd = iommufd,
	};
	struct vfio_region_info cfg;
	int ret;

	ret = shadow_ioctl(d->fd, VFIO_DEVICE_BIND_IOMMUFD, &bind);
	if (ret)
		return ret;
	d->dev_id = bind.out_devid;
	shadow_log("%s: bound to iommufd, device id %u", d->bdf, d->dev_id);
	ret = vfio_region_info(d, VFIO_PCI_CONFIG_REGION_INDEX, &cfg);
	if (ret)
		return ret;
	d->cfg_offset = cfg.offset;
	return 0;
}

/**
 * vfio_attach_pt() - Attach the device's DMA to an IOAS or a HWPT
 * @d: Device bound to an iommufd
 * @pt_id: In: IOAS or HWPT id; out: the HWPT actually attached (for an
 *	IOAS, the paging HWPT the kernel picked or created)
 *
 * Attaching while attached replaces the translation atomically.
 */
static int vfio_attach_pt(struct vfio_pci_dev *d, uint32_t *pt_id)
{
	struct vfio_device_attach_iommufd_pt attach = {
		.argsz = sizeof(attach),
		.pt_id = *pt_id,
	};
	int ret = shadow_ioctl(d->fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach);

	shadow_log("%s: attach to pt %u: %s (hwpt %u)", d->bdf, *pt_id,
		   ret ? strerror(-ret) : "ok", attach.pt_id);
	if (!ret)
		*pt_id = attach.pt_id;
	return ret;
}

/** vfio_detach_pt() - Detach the device: its DMA is blocked afterwards */
static int vfio_detach_pt(struct vfio_pci_dev *d)
{
	struct vfio_device_detach_iommufd_pt detach = {
		.argsz = sizeof(detach),
	};

	shadow_log("%s: detach", d->bdf);
	return shadow_ioctl(d->fd, VFIO_DEVICE_DETACH_IOMMUFD_PT, &detach);
}

/**
 * vfio_cfg_read() - Read PCI config space (little-endian) through VFIO
 * @d: Device bound to an iommufd
 * @off: Config-space offset
 * @buf: Destination
 * @len: Bytes (1, 2 or 4 for registers)
 */
static int vfio_cfg_read(struct vfio_pci_dev *d, uint32_t off, void *buf,
			 size_t len)
{
	ssize_t n = pread(d->fd, buf, len, d->cfg_offset + off);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

/** vfio_cfg_write() - Write PCI config space through VFIO; see read */
static int vfio_cfg_write(struct vfio_pci_dev *d, uint32_t off,
			  const void *buf, size_t len)
{
	ssize_t n = pwrite(d->fd, buf, len, d->cfg_offset + off);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

/**
 * vfio_enable_bus_master() - Set Memory Space and Bus Master in PCI_COMMAND
 * @d: Device bound to an iommufd
 *
 * Without Bus Master, a PCI device's DMA never reaches the IOMMU at all.
 */
static int vfio_enable_bus_master(struct vfio_pci_dev *d)
{
	uint16_t cmd;
	int ret;

	ret = vfio_cfg_read(d, PCI_COMMAND, &cmd, sizeof(cmd));
	if (ret)
		return ret;
	cmd = htole16(le16toh(cmd) | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	ret = vfio_cfg_write(d, PCI_COMMAND, &cmd, sizeof(cmd));
	if (ret)
		return ret;
	ret = vfio_cfg_read(d, PCI_COMMAND, &cmd, sizeof(cmd));
	if (ret)
		return ret;
	if (!(le16toh(cmd) & PCI_COMMAND_MASTER))
		return -EIO;
	shadow_log("%s: bus master enabled (PCI_COMMAND 0x%04x)", d->bdf,
		   le16toh(cmd));
	return 0;
}

/**
 * vfio_mmap_bar0() - Map BAR0 of the device into this process
 * @d: Device bound to an iommufd; sets @d->bar0 and @d->bar0_size
 */
static int vfio_mmap_bar0(struct vfio_pci_dev *d)
{
	struct vfio_region_info bar;
	void *p;
	int ret;

	ret = vfio_region_info(d, VFIO_PCI_BAR0_REGION_INDEX, &bar);
	if (ret)
		return ret;
	if (!(bar.flags & VFIO_REGION_INFO_FLAG_MMAP) || !bar.size)
		return -EOPNOTSUPP;
	p = mmap(NULL, bar.size, PROT_READ | PROT_WRITE, MAP_SHARED, d->fd,
		 bar.offset);
	if (p == MAP_FAILED)
		return -errno;
	d->bar0 = p;
	d->bar0_size = bar.size;
	shadow_log("%s: BAR0 mapped, %llu bytes", d->bdf,
		   (unsigned long long)bar.size);
	return 0;
}

/**
 * vfio_pci_close() - Unmap BAR0 and close the device
 *
 * Closing the cdev detaches it and unbinds it from the iommufd.
 */
static void vfio_pci_close(struct vfio_pci_dev *d)
{
	if (d->bar0)
		munmap((void *)d->bar0, d->bar0_size);
	d->bar0 = NULL;
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
}

#endif /* __SHADOW_VFIO_LIB_H */
