/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * shadow_lib.h - userspace helpers for iommufd shadow nesting end-to-end tests
 *
 * A small header-only library (every function is static) shared by the
 * end-to-end kselftest (iommufd_edu.c) and the narrated demo. It is meant to
 * be read as example code by a VMM author: each helper does one ioctl or one
 * sysfs step and says what it is for. The groups:
 *
 *   iommufd_*   /dev/iommu: IOAS, mappings, HWPTs, invalidation, hw info,
 *               shadow nesting (stage-2 parent, shadowed stage-1)
 *   guest_ram_* memory standing in for a VM's RAM
 *   pci_* vfio_* a PCI device through the VFIO cdev (/dev/vfio/devices/vfioN)
 *   edu_*       QEMU's "edu" device (1234:11e8) used as a DMA engine
 *   s390_tbl_*  building s390 zPCI DMA translation tables in guest memory
 *   kmsg_*      waiting for a kernel log line
 *   dmar_* edu_dma_fault  DMAR faults of a refused edu DMA
 *
 * Conventions: functions return 0 (or a non-negative value where said) on
 * success and a negative errno on failure; they never print. Narration
 * goes through an optional callback installed with shadow_lib_set_log().
 *
 * The file is a header rather than a .c because every *.c next to it is
 * built as a test program; include it from exactly the programs that use it.
 */
#ifndef __SHADOW_LIB_H
#define __SHADOW_LIB_H

#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <linux/iommufd.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>

/* ------------------------------------------------------------------------ */
/* Logging                                                                  */
/* ------------------------------------------------------------------------ */

/**
 * typedef shadow_log_fn - Receives one line of narration (no trailing newline)
 * @priv: The pointer given to shadow_lib_set_log()
 * @msg: The formatted message
 */
typedef void (*shadow_log_fn)(void *priv, const char *msg);

static shadow_log_fn shadow_log_cb;
static void *shadow_log_priv;

/**
 * shadow_lib_set_log() - Install (or remove, with NULL) the narration callback
 * @fn: Called for every step the library narrates
 * @priv: Passed to @fn
 */
static void shadow_lib_set_log(shadow_log_fn fn, void *priv)
{
	shadow_log_cb = fn;
	shadow_log_priv = priv;
}

__attribute__((format(printf, 1, 2)))
static void shadow_log(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!shadow_log_cb)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	shadow_log_cb(shadow_log_priv, msg);
}

/* Copy a string, truncated to fit @len bytes with its NUL */
static void shadow_strlcpy(char *dst, const char *src, size_t len)
{
	size_t n = strnlen(src, len - 1);

	memcpy(dst, src, n);
	dst[n] = 0;
}

/* ioctl() returning 0 or -errno */
static int shadow_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? -errno : 0;
}

/* ------------------------------------------------------------------------ */
/* iommufd                                                                  */
/* ------------------------------------------------------------------------ */

/** iommufd_open() - Open /dev/iommu; returns the fd or -errno */
static int iommufd_open(void)
{
	int fd = open("/dev/iommu", O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/**
 * iommufd_ioas_alloc() - Allocate an empty IO address space (IOAS)
 * @fd: iommufd
 * @ioas_id: Returns the IOAS object id
 *
 * For a VMM the IOAS holds guest RAM at IOVA = guest physical address.
 */
static int iommufd_ioas_alloc(int fd, uint32_t *ioas_id)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };
	int ret = shadow_ioctl(fd, IOMMU_IOAS_ALLOC, &cmd);

	if (!ret)
		*ioas_id = cmd.out_ioas_id;
	return ret;
}

/**
 * iommufd_ioas_map_fixed() - Map user memory into an IOAS at a chosen IOVA
 * @fd: iommufd
 * @ioas_id: IOAS
 * @buf: Start of the memory (page aligned)
 * @len: Length in bytes (multiple of the page size)
 * @iova: IOVA of @buf (page aligned); the range must be free
 * @readonly: Allow device reads only (no IOMMU_IOAS_MAP_WRITEABLE)
 *
 * The kernel pins the pages now and maps them into every domain of the IOAS.
 */
static int iommufd_ioas_map_fixed(int fd, uint32_t ioas_id, void *buf,
				  size_t len, uint64_t iova, bool readonly)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 (readonly ? 0 : IOMMU_IOAS_MAP_WRITEABLE),
		.ioas_id = ioas_id,
		.user_va = (uintptr_t)buf,
		.length = len,
		.iova = iova,
	};

	shadow_log("IOAS %u: map %zu bytes at IOVA 0x%llx%s", ioas_id, len,
		   (unsigned long long)iova, readonly ? " read-only" : "");
	return shadow_ioctl(fd, IOMMU_IOAS_MAP, &cmd);
}

/**
 * iommufd_ioas_unmap() - Unmap an IOVA range of an IOAS
 * @fd: iommufd
 * @ioas_id: IOAS
 * @iova: First IOVA; must start a mapping
 * @len: Length; must end a mapping (0 with @iova 0: everything)
 * @unmapped: Optional; returns the number of bytes unmapped
 */
static int iommufd_ioas_unmap(int fd, uint32_t ioas_id, uint64_t iova,
			      uint64_t len, uint64_t *unmapped)
{
	struct iommu_ioas_unmap cmd = {
		.size = sizeof(cmd),
		.ioas_id = ioas_id,
		.iova = iova,
		.length = len,
	};
	int ret;

	shadow_log("IOAS %u: unmap IOVA 0x%llx + 0x%llx", ioas_id,
		   (unsigned long long)iova, (unsigned long long)len);
	ret = shadow_ioctl(fd, IOMMU_IOAS_UNMAP, &cmd);
	if (!ret && unmapped)
		*unmapped = cmd.length;
	return ret;
}

/**
 * iommufd_ioas_iova_ranges() - Ask which IOVAs an IOAS can map
 * @fd: iommufd
 * @ioas_id: IOAS
 * @ranges: Array receiving the allowed ranges (inclusive [start, last])
 * @num: In: room in @ranges; out: number of ranges the kernel has
 * @alignment: Optional; returns the minimum IOVA alignment
 *
 * The answer depends on the attached devices (their IOMMU's aperture and
 * reserved regions such as the x86 MSI window). Returns -EMSGSIZE, with
 * *@num set, when @ranges is too small.
 */
static int iommufd_ioas_iova_ranges(int fd, uint32_t ioas_id,
				    struct iommu_iova_range *ranges,
				    uint32_t *num, uint64_t *alignment)
{
	struct iommu_ioas_iova_ranges cmd = {
		.size = sizeof(cmd),
		.ioas_id = ioas_id,
		.num_iovas = *num,
		.allowed_iovas = (uintptr_t)ranges,
	};
	int ret = shadow_ioctl(fd, IOMMU_IOAS_IOVA_RANGES, &cmd);

	if (!ret || ret == -EMSGSIZE) {
		*num = cmd.num_iovas;
		if (alignment)
			*alignment = cmd.out_iova_alignment;
	}
	return ret;
}

/**
 * iommufd_hwpt_alloc() - Allocate a hw_pagetable (generic form)
 * @fd: iommufd
 * @dev_id: Device the HWPT must be compatible with
 * @pt_id: IOAS, or a parent HWPT for a nested/shadow stage-1
 * @flags: IOMMU_HWPT_ALLOC_* (e.g. IOMMU_HWPT_ALLOC_NEST_PARENT)
 * @data_type: enum iommu_hwpt_data_type (IOMMU_HWPT_DATA_NONE for paging)
 * @data: Driver/format specific data, or NULL
 * @data_len: Size of @data
 * @hwpt_id: Returns the HWPT id
 *
 * Returns 0 or -errno: the errno is the point of many tests.
 */
static int iommufd_hwpt_alloc(int fd, uint32_t dev_id, uint32_t pt_id,
			      uint32_t flags, uint32_t data_type,
			      const void *data, uint32_t data_len,
			      uint32_t *hwpt_id)
{
	struct iommu_hwpt_alloc cmd = {
		.size = sizeof(cmd),
		.flags = flags,
		.dev_id = dev_id,
		.pt_id = pt_id,
		.data_type = data_type,
		.data_len = data_len,
		.data_uptr = (uintptr_t)data,
	};
	int ret = shadow_ioctl(fd, IOMMU_HWPT_ALLOC, &cmd);

	shadow_log("HWPT alloc on pt %u (flags 0x%x, data type 0x%x): %s",
		   pt_id, flags, data_type, ret ? strerror(-ret) : "ok");
	if (!ret)
		*hwpt_id = cmd.out_hwpt_id;
	return ret;
}

/**
 * iommufd_hwpt_invalidate() - Pass an array of invalidation requests on
 * @fd: iommufd
 * @hwpt_id: Stage-1 HWPT
 * @data_type: enum iommu_hwpt_invalidate_data_type
 * @entries: Array of requests
 * @entry_len: Size of one request
 * @entry_num: In: number of requests; out: number the kernel handled
 *
 * On an error *@entry_num tells how many requests completed before the one
 * that failed.
 */
static int iommufd_hwpt_invalidate(int fd, uint32_t hwpt_id,
				   uint32_t data_type, const void *entries,
				   uint32_t entry_len, uint32_t *entry_num)
{
	struct iommu_hwpt_invalidate cmd = {
		.size = sizeof(cmd),
		.hwpt_id = hwpt_id,
		.data_uptr = (uintptr_t)entries,
		.data_type = data_type,
		.entry_len = entry_len,
		.entry_num = *entry_num,
	};
	int ret = shadow_ioctl(fd, IOMMU_HWPT_INVALIDATE, &cmd);

	shadow_log("HWPT %u: invalidate %u entries: %s, %u done", hwpt_id,
		   *entry_num, ret ? strerror(-ret) : "ok", cmd.entry_num);
	*entry_num = cmd.entry_num;
	return ret;
}

/** iommufd_destroy() - Destroy any iommufd object (IOAS, HWPT...) by id */
static int iommufd_destroy(int fd, uint32_t id)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd), .id = id };

	return shadow_ioctl(fd, IOMMU_DESTROY, &cmd);
}

/**
 * iommufd_get_hw_info() - Ask what the IOMMU behind a device can do
 * @fd: iommufd
 * @dev_id: Device (from VFIO_DEVICE_BIND_IOMMUFD)
 * @data: Optional buffer for the driver's info (e.g. struct
 *	iommu_hw_info_vtd), or NULL
 * @data_len: Size of @data
 * @out_data_type: Optional; returns enum iommu_hw_info_type
 * @out_caps: Optional; returns out_capabilities (IOMMU_HW_CAP_*; shadow
 *	nesting reports IOMMU_HW_CAP_SHADOW_NESTING = 1ULL << 32)
 */
static int iommufd_get_hw_info(int fd, uint32_t dev_id, void *data,
			       uint32_t data_len, uint32_t *out_data_type,
			       uint64_t *out_caps)
{
	struct iommu_hw_info cmd = {
		.size = sizeof(cmd),
		.dev_id = dev_id,
		.data_len = data ? data_len : 0,
		.data_uptr = (uintptr_t)data,
	};
	int ret = shadow_ioctl(fd, IOMMU_GET_HW_INFO, &cmd);

	if (ret)
		return ret;
	if (out_data_type)
		*out_data_type = cmd.out_data_type;
	if (out_caps)
		*out_caps = cmd.out_capabilities;
	shadow_log("device %u: hw info type %u, capabilities 0x%llx", dev_id,
		   cmd.out_data_type,
		   (unsigned long long)cmd.out_capabilities);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Shadow nesting: stage-2 parent, shadowed stage-1, invalidation           */
/* ------------------------------------------------------------------------ */

/**
 * iommufd_nest_parent_alloc() - Allocate a stage-2 parent HWPT on an IOAS
 * @fd: iommufd
 * @dev_id: Device the parent must be compatible with
 * @ioas_id: IOAS holding guest RAM (IOVA = guest physical address)
 * @hwpt_id: Returns the parent's HWPT id
 *
 * What QEMU does before it allocates a stage-1: IOMMU_HWPT_ALLOC with
 * IOMMU_HWPT_ALLOC_NEST_PARENT. It succeeds on IOMMUs without hardware
 * nesting too (e.g. QEMU's VT-d): the parent is then an ordinary paging
 * domain that holds every guest page pinned, used only under a shadow.
 */
static int iommufd_nest_parent_alloc(int fd, uint32_t dev_id,
				     uint32_t ioas_id, uint32_t *hwpt_id)
{
	int ret = iommufd_hwpt_alloc(fd, dev_id, ioas_id,
				     IOMMU_HWPT_ALLOC_NEST_PARENT,
				     IOMMU_HWPT_DATA_NONE, NULL, 0, hwpt_id);

	if (!ret)
		shadow_log("stage-2 parent: HWPT %u (NEST_PARENT on IOAS %u)",
			   *hwpt_id, ioas_id);
	return ret;
}

/**
 * iommufd_shadow_alloc() - Allocate a shadowed stage-1 HWPT
 * @fd: iommufd
 * @dev_id: Device the shadow is for
 * @pt_id: A NEST_PARENT HWPT, or an IOAS (the kernel then finds or creates
 *	the stage-2 parent on it)
 * @format: enum iommu_shadow_format, e.g. IOMMU_SHADOW_FORMAT_S390
 * @root: Stage-1 root as the guest gave it (s390: the IOTA), a guest
 *	physical address in the IOAS
 * @ap_start: First stage-1 IOVA translated (4 KiB aligned)
 * @ap_last: Last stage-1 IOVA translated (inclusive; @ap_last + 1 aligned)
 * @hwpt_id: Returns the shadow's HWPT id, to attach devices to
 *
 * The kernel walks the guest tables over the whole aperture before it
 * returns: the shadow already translates what the tables say. Errors are
 * those of UAPI.md (EINVAL for an aperture outside the IOMMU's IOVA range,
 * ENXIO for tables outside the IOAS, EILSEQ for malformed entries...).
 */
static int iommufd_shadow_alloc(int fd, uint32_t dev_id, uint32_t pt_id,
				uint32_t format, uint64_t root,
				uint64_t ap_start, uint64_t ap_last,
				uint32_t *hwpt_id)
{
	struct iommu_hwpt_shadow data = {
		.format = format,
		.root = root,
		.aperture_start = ap_start,
		.aperture_last = ap_last,
	};
	int ret = iommufd_hwpt_alloc(fd, dev_id, pt_id, 0,
				     IOMMU_HWPT_DATA_SHADOW, &data,
				     sizeof(data), hwpt_id);

	if (!ret)
		shadow_log("shadow: HWPT %u, stage-1 root 0x%llx, aperture 0x%llx-0x%llx, parent pt %u",
			   *hwpt_id,
			   (unsigned long long)root,
			   (unsigned long long)ap_start,
			   (unsigned long long)ap_last, pt_id);
	return ret;
}

/**
 * iommufd_shadow_invalidate() - The guest refreshed a range of its tables
 * @fd: iommufd
 * @hwpt_id: Shadow HWPT
 * @iova: First stage-1 IOVA, 4 KiB aligned
 * @length: Bytes, a multiple of 4 KiB; @iova 0 with @length 0 re-syncs the
 *	whole aperture (IOMMU_SHADOW_INVALIDATE_ALL)
 *
 * One IOMMU_HWPT_INVALIDATE entry, what a VMM issues for one s390 RPCIT:
 * when it returns, the shadow over the range equals what the tables say
 * now and the IOTLB holds nothing older.
 */
static int iommufd_shadow_invalidate(int fd, uint32_t hwpt_id, uint64_t iova,
				     uint64_t length)
{
	struct iommu_hwpt_shadow_invalidate inv = {
		.iova = iova,
		.length = length,
		.flags = (iova || length) ? 0 : IOMMU_SHADOW_INVALIDATE_ALL,
	};
	uint32_t num = 1;

	return iommufd_hwpt_invalidate(fd, hwpt_id,
				       IOMMU_HWPT_INVALIDATE_DATA_SHADOW,
				       &inv, sizeof(inv), &num);
}

/* ------------------------------------------------------------------------ */
/* Guest memory                                                             */
/* ------------------------------------------------------------------------ */

/**
 * guest_ram_alloc() - Shared memory standing in for a VM's RAM
 * @len: Bytes, a multiple of the page size
 *
 * A memfd mapped shared, as a VMM backs guest RAM; filled with zeroes.
 * Returns the mapping or NULL (errno set). Free with munmap().
 */
static void *guest_ram_alloc(size_t len)
{
	void *p;
	int fd;

	fd = memfd_create("guest-ram", MFD_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (ftruncate(fd, len)) {
		close(fd);
		return NULL;
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	return p == MAP_FAILED ? NULL : p;
}

/* ------------------------------------------------------------------------ */
/* PCI device through the VFIO cdev                                         */
/* ------------------------------------------------------------------------ */

#define SHADOW_PCI_DEVICES	"/sys/bus/pci/devices"

/* Read a small sysfs file into @buf (NUL terminated, newline stripped) */
static int shadow_sysfs_read(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0) {
		n = -errno;
		close(fd);
		return n;
	}
	close(fd);
	buf[n] = 0;
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = 0;
	return 0;
}

/* Write @val to a sysfs file */
static int shadow_sysfs_write(const char *path, const char *val)
{
	ssize_t n;
	int fd;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	n = n < 0 ? -errno : 0;
	close(fd);
	return n;
}

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

/* ------------------------------------------------------------------------ */
/* QEMU edu device as a DMA engine                                          */
/* ------------------------------------------------------------------------ */

/*
 * QEMU's edu (hw/misc/edu.c) has a 4 KiB internal buffer at device address
 * 0x40000 and a DMA engine programmed through BAR0: source, destination,
 * count, then command. The device handles one transfer at a time, about
 * 100 ms (virtual) after the command, and clears EDU_CMD_RUN when done.
 * It is a teaching device with two traps in QEMU 7.2 that abort the whole
 * VM (hw_error), so the library validates before it touches a register:
 *  - the device-side range [addr, addr + count) must lie in the buffer
 *    AND its end must be strictly below 0x41000: a 4096-byte transfer,
 *    or any transfer ending at the buffer's last byte, aborts QEMU;
 *  - IOVAs are silently truncated to the 28-bit DMA mask.
 * A DMA the IOMMU refuses is dropped by QEMU (and reported as a DMAR
 * fault); the edu itself does not notice and completes normally.
 */
#define EDU_VENDOR		0x1234
#define EDU_DEVICE		0x11e8
#define EDU_REG_ID		0x00	/* 0xRRrr00ed: major, minor, 0xed */
#define EDU_REG_LIVENESS	0x04	/* reads back ~(last value written) */
#define EDU_REG_DMA_SRC		0x80
#define EDU_REG_DMA_DST		0x88
#define EDU_REG_DMA_COUNT	0x90
#define EDU_REG_DMA_CMD		0x98
#define EDU_CMD_RUN		0x1	/* start; cleared when the DMA is done */
#define EDU_CMD_TO_RAM		0x2	/* direction: edu buffer -> RAM */
#define EDU_BUF_ADDR		0x40000	/* device address of the buffer */
#define EDU_BUF_SIZE		0x1000
#define EDU_DMA_MASK		((1ULL << 28) - 1)
#define EDU_DMA_TIMEOUT_MS	5000

static uint32_t edu_read32(volatile void *bar0, uint32_t reg)
{
	return *(volatile uint32_t *)((volatile char *)bar0 + reg);
}

static void edu_write32(volatile void *bar0, uint32_t reg, uint32_t val)
{
	*(volatile uint32_t *)((volatile char *)bar0 + reg) = val;
}

static void edu_write64(volatile void *bar0, uint32_t reg, uint64_t val)
{
	*(volatile uint64_t *)((volatile char *)bar0 + reg) = val;
}

/**
 * edu_check() - Prove that BAR0 reaches an edu device
 * @bar0: Mapped BAR0
 * @id: Optional; returns the identification register
 *
 * Checks the identification register (low byte 0xed) and the liveness
 * register, which returns the complement of what was written to it.
 */
static int edu_check(volatile void *bar0, uint32_t *id)
{
	static const uint32_t pattern[] = { 0x12345678, 0, 0xffffffff };
	uint32_t val = edu_read32(bar0, EDU_REG_ID);
	unsigned int i;

	if (id)
		*id = val;
	if ((val & 0xff) != 0xed)
		return -ENODEV;
	for (i = 0; i < sizeof(pattern) / sizeof(pattern[0]); i++) {
		edu_write32(bar0, EDU_REG_LIVENESS, pattern[i]);
		if (edu_read32(bar0, EDU_REG_LIVENESS) != ~pattern[i])
			return -EIO;
	}
	shadow_log("edu: id 0x%08x (version %u.%u), liveness ok", val,
		   val >> 24, (val >> 16) & 0xff);
	return 0;
}

/**
 * edu_dma_args_ok() - Would this transfer be safe for QEMU's edu?
 * @iova: IOVA of the RAM side
 * @off: Offset of the edu side in its buffer
 * @len: Bytes
 *
 * 1 <= @len, @off + @len < EDU_BUF_SIZE (strictly: QEMU's range check
 * rejects an end at 0x41000, so the last byte of the buffer is
 * unreachable), and the RAM range inside the 28-bit DMA mask.
 */
static bool edu_dma_args_ok(uint64_t iova, uint32_t off, uint32_t len)
{
	if (!len || len >= EDU_BUF_SIZE || off >= EDU_BUF_SIZE ||
	    off + len >= EDU_BUF_SIZE)
		return false;
	return iova <= EDU_DMA_MASK && len - 1 <= EDU_DMA_MASK - iova;
}

static uint64_t shadow_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

/**
 * edu_dma_wait() - Wait until the edu's DMA engine is idle
 * @bar0: Mapped BAR0
 * @timeout_ms: Give up after this long: -ETIMEDOUT
 */
static int edu_dma_wait(volatile void *bar0, unsigned int timeout_ms)
{
	uint64_t end = shadow_now_ms() + timeout_ms;

	while (edu_read32(bar0, EDU_REG_DMA_CMD) & EDU_CMD_RUN) {
		if (shadow_now_ms() > end)
			return -ETIMEDOUT;
		usleep(1000);
	}
	__sync_synchronize();
	return 0;
}

/* Program and run one transfer; arguments already validated */
static int edu_dma(volatile void *bar0, uint64_t src, uint64_t dst,
		   uint32_t len, uint32_t cmd)
{
	int ret;

	/* The registers ignore writes while a transfer runs */
	ret = edu_dma_wait(bar0, EDU_DMA_TIMEOUT_MS);
	if (ret)
		return ret;
	__sync_synchronize();
	edu_write64(bar0, EDU_REG_DMA_SRC, src);
	edu_write64(bar0, EDU_REG_DMA_DST, dst);
	edu_write64(bar0, EDU_REG_DMA_COUNT, len);
	edu_write32(bar0, EDU_REG_DMA_CMD, cmd | EDU_CMD_RUN);
	return edu_dma_wait(bar0, EDU_DMA_TIMEOUT_MS);
}

/**
 * edu_dma_from_ram() - DMA @len bytes from RAM at @iova into the edu buffer
 * @bar0: Mapped BAR0 (Bus Master must be enabled)
 * @iova: IOVA the device reads (translated by the IOMMU)
 * @off: Offset in the edu buffer
 * @len: Bytes
 *
 * Returns -EINVAL, without touching the device, for any transfer that
 * edu_dma_args_ok() refuses; -ETIMEDOUT if the engine does not finish.
 * Success means the device finished, not that the IOMMU let it through.
 */
static int edu_dma_from_ram(volatile void *bar0, uint64_t iova, uint32_t off,
			    uint32_t len)
{
	if (!edu_dma_args_ok(iova, off, len))
		return -EINVAL;
	shadow_log("edu: DMA %u bytes RAM IOVA 0x%llx -> edu +0x%x", len,
		   (unsigned long long)iova, off);
	return edu_dma(bar0, iova, EDU_BUF_ADDR + off, len, 0);
}

/**
 * edu_dma_to_ram() - DMA @len bytes from the edu buffer to RAM at @iova
 * @bar0: Mapped BAR0 (Bus Master must be enabled)
 * @off: Offset in the edu buffer
 * @iova: IOVA the device writes (translated by the IOMMU)
 * @len: Bytes
 *
 * See edu_dma_from_ram() for the return values.
 */
static int edu_dma_to_ram(volatile void *bar0, uint32_t off, uint64_t iova,
			  uint32_t len)
{
	if (!edu_dma_args_ok(iova, off, len))
		return -EINVAL;
	shadow_log("edu: DMA %u bytes edu +0x%x -> RAM IOVA 0x%llx", len, off,
		   (unsigned long long)iova);
	return edu_dma(bar0, EDU_BUF_ADDR + off, iova, len, EDU_CMD_TO_RAM);
}

/* ------------------------------------------------------------------------ */
/* s390 zPCI DMA translation tables in guest memory                         */
/* ------------------------------------------------------------------------ */

/*
 * What an s390 guest builds for a zPCI function (drivers/iommu/s390-iommu.c
 * in the guest, and the spec in drivers/iommu/iommufd/shadow_s390.c): a
 * region-third table (2048 entries, 16 KiB aligned) indexed by IOVA bits
 * 41..31, segment tables (2048 entries, 16 KiB aligned) indexed by bits
 * 30..20, page tables (256 entries, 2 KiB aligned) indexed by bits 19..12.
 * Entries are 64-bit big-endian. The root is given to the IOMMU as the IOTA:
 * table origin | DT (region-third: 1 << 2).
 *
 * Here the "guest memory" is a buffer mapped into the IOAS at a known base
 * IOVA (= guest physical address); tables are carved out of it with a bump
 * allocator and never freed.
 */
#define S390_DT_RTX		(1ULL << 2)	/* IOTA: root is region-third */
#define S390_TE_INVALID		0x20ULL		/* region/segment entry invalid */
#define S390_TE_PROTECTED	0x200ULL	/* read-only below this entry */
#define S390_TE_TT_RTX		(1ULL << 2)	/* TT of region-third entries */
#define S390_TE_TT_SX		0ULL		/* TT of segment-table entries */
#define S390_RTE_TF_MASK	0xc0ULL		/* table offset of lower table */
#define S390_RTE_TL_FULL	0x3ULL		/* table length: all 4 quarters */
#define S390_RTE_ADDR_MASK	(~0x3fffULL)
#define S390_STE_ADDR_MASK	(~0x7ffULL)
#define S390_PTE_INVALID	0x400ULL
#define S390_PTE_PROTECTED	0x200ULL
#define S390_PTE_ADDR_MASK	(~0xfffULL)
#define S390_CRST_ENTRIES	2048		/* region and segment tables */
#define S390_CRST_SIZE		(S390_CRST_ENTRIES * 8)	/* 16 KiB */
#define S390_PT_ENTRIES		256
#define S390_PT_SIZE		(S390_PT_ENTRIES * 8)	/* 2 KiB */
#define S390_RTX_REACH		(1ULL << 42)	/* IOVAs a region-third covers */

/**
 * struct s390_tables - Tables of one s390 stage-1, inside guest memory
 * @mem: Host address of the guest memory buffer
 * @base: Guest physical address (IOAS IOVA) of @mem
 * @size: Size of @mem
 * @used: Bytes of @mem the bump allocator handed out (from the start)
 * @rto: Guest physical address of the region-third table
 * @have_root: @rto is valid (s390_tbl_new_root() was called)
 */
struct s390_tables {
	void *mem;
	uint64_t base;
	size_t size;
	size_t used;
	uint64_t rto;
	bool have_root;
};

/**
 * s390_tbl_init() - Use a buffer of guest memory for s390 tables
 * @t: Tables to set up
 * @mem: Host address of the buffer
 * @base: Its guest physical address (the IOVA it is mapped at in the IOAS)
 * @size: Its size
 *
 * Allocates nothing yet; see s390_tbl_new_root().
 */
static void s390_tbl_init(struct s390_tables *t, void *mem, uint64_t base,
			  size_t size)
{
	t->mem = mem;
	t->base = base;
	t->size = size;
	t->used = 0;
	t->rto = 0;
	t->have_root = false;
}

/** s390_tbl_ptr() - Host pointer of a guest physical address in the buffer */
static void *s390_tbl_ptr(struct s390_tables *t, uint64_t gpa)
{
	if (gpa < t->base || gpa - t->base >= t->size)
		return NULL;
	return (char *)t->mem + (gpa - t->base);
}

/**
 * s390_tbl_alloc() - Bump-allocate @size bytes aligned to @align (in guest
 *	physical terms) and fill them with the 64-bit big-endian @fill
 * @t: Tables
 * @size: Bytes, a multiple of 8
 * @align: Power of two
 * @fill: Value of every entry (e.g. an invalid entry)
 * @gpa: Returns the guest physical address of the allocation
 *
 * Returns -ENOSPC when the buffer is full.
 */
static int s390_tbl_alloc(struct s390_tables *t, size_t size, size_t align,
			  uint64_t fill, uint64_t *gpa)
{
	uint64_t addr = (t->base + t->used + align - 1) & ~(uint64_t)(align - 1);
	uint64_t *p;
	size_t i;

	if (addr - t->base > t->size || size > t->size - (addr - t->base))
		return -ENOSPC;
	t->used = addr - t->base + size;
	p = s390_tbl_ptr(t, addr);
	for (i = 0; i < size / 8; i++)
		p[i] = htobe64(fill);
	*gpa = addr;
	return 0;
}

/**
 * s390_tbl_new_root() - Allocate an empty region-third table as the root
 * @t: Tables
 * @iota: Returns the IOTA to give the IOMMU: table origin | DT region-third
 *
 * Every entry is invalid (0x20 | TT region-third).
 */
static int s390_tbl_new_root(struct s390_tables *t, uint64_t *iota)
{
	int ret;

	ret = s390_tbl_alloc(t, S390_CRST_SIZE, S390_CRST_SIZE,
			     S390_TE_INVALID | S390_TE_TT_RTX, &t->rto);
	if (ret)
		return ret;
	t->have_root = true;
	*iota = t->rto | S390_DT_RTX;
	shadow_log("s390: region-third table at 0x%llx, IOTA 0x%llx",
		   (unsigned long long)t->rto, (unsigned long long)*iota);
	return 0;
}

/* Index of @iova in the region-third, segment and page table */
static unsigned int s390_rtx(uint64_t iova) { return (iova >> 31) & 0x7ff; }
static unsigned int s390_sx(uint64_t iova) { return (iova >> 20) & 0x7ff; }
static unsigned int s390_px(uint64_t iova) { return (iova >> 12) & 0xff; }

/**
 * s390_tbl_entry() - Host pointer to the big-endian entry of a table level
 *	on the path of @iova
 * @t: Tables
 * @iova: IOVA (below 2^42)
 * @level: 0 page-table entry, 1 segment-table entry, 2 region-third entry
 *
 * Returns NULL when the path is not built that far (an invalid entry above)
 * or leaves the buffer. Tests use it to inspect or corrupt entries; write
 * with htobe64().
 */
static uint64_t *s390_tbl_entry(struct s390_tables *t, uint64_t iova,
				unsigned int level)
{
	uint64_t *rte, *ste, e;

	if (!t->have_root || iova >= S390_RTX_REACH || level > 2)
		return NULL;
	rte = s390_tbl_ptr(t, t->rto + 8 * s390_rtx(iova));
	if (level == 2 || !rte)
		return rte;
	e = be64toh(*rte);
	if (e & S390_TE_INVALID)
		return NULL;
	ste = s390_tbl_ptr(t, (e & S390_RTE_ADDR_MASK) + 8 * s390_sx(iova));
	if (level == 1 || !ste)
		return ste;
	e = be64toh(*ste);
	if (e & S390_TE_INVALID)
		return NULL;
	return s390_tbl_ptr(t, (e & S390_STE_ADDR_MASK) + 8 * s390_px(iova));
}

/**
 * s390_tbl_map() - Translate one 4 KiB IOVA page to a guest physical page
 * @t: Tables with a root
 * @iova: IOVA, 4 KiB aligned, below 2^42 (the region-third reach)
 * @gpa: Guest physical address of the page, 4 KiB aligned
 * @readonly: Set the protection bit in the PTE
 *
 * Builds the segment and page tables on the way as the guest's s390-iommu
 * driver does: region-third entry = segment-table origin | TT 1 | TF 0 |
 * TL 3, segment entry = page-table origin | TT 0, PTE = frame [| 0x200].
 * Only writes guest memory: the guest must then refresh (invalidate).
 */
static int s390_tbl_map(struct s390_tables *t, uint64_t iova, uint64_t gpa,
			bool readonly)
{
	uint64_t *rte, *ste, *pte, e, origin;
	int ret;

	if (!t->have_root || (iova | gpa) & 0xfff || iova >= S390_RTX_REACH)
		return -EINVAL;
	rte = s390_tbl_entry(t, iova, 2);
	if (!rte)
		return -EFAULT;
	e = be64toh(*rte);
	if (e & S390_TE_INVALID) {
		ret = s390_tbl_alloc(t, S390_CRST_SIZE, S390_CRST_SIZE,
				     S390_TE_INVALID | S390_TE_TT_SX, &origin);
		if (ret)
			return ret;
		*rte = htobe64(origin | S390_TE_TT_RTX | S390_RTE_TL_FULL);
	}
	ste = s390_tbl_entry(t, iova, 1);
	if (!ste)
		return -EFAULT;
	e = be64toh(*ste);
	if (e & S390_TE_INVALID) {
		ret = s390_tbl_alloc(t, S390_PT_SIZE, S390_PT_SIZE,
				     S390_PTE_INVALID, &origin);
		if (ret)
			return ret;
		*ste = htobe64(origin | S390_TE_TT_SX);
	}
	pte = s390_tbl_entry(t, iova, 0);
	if (!pte)
		return -EFAULT;
	*pte = htobe64(gpa | (readonly ? S390_PTE_PROTECTED : 0));
	shadow_log("s390: IOVA 0x%llx -> 0x%llx%s", (unsigned long long)iova,
		   (unsigned long long)gpa, readonly ? " read-only" : "");
	return 0;
}

/**
 * s390_tbl_map_range() - s390_tbl_map() every page of [@iova, @iova + @len)
 *	to consecutive pages from @gpa
 */
static int s390_tbl_map_range(struct s390_tables *t, uint64_t iova,
			      uint64_t gpa, uint64_t len, bool readonly)
{
	uint64_t i;
	int ret;

	if (len & 0xfff)
		return -EINVAL;
	for (i = 0; i < len; i += 0x1000) {
		ret = s390_tbl_map(t, iova + i, gpa + i, readonly);
		if (ret)
			return ret;
	}
	return 0;
}

/**
 * s390_tbl_unmap() - Make the PTE of one 4 KiB IOVA page invalid
 * @t: Tables
 * @iova: IOVA, 4 KiB aligned
 *
 * Returns -ENOENT if no page table covers @iova. Tables are kept.
 */
static int s390_tbl_unmap(struct s390_tables *t, uint64_t iova)
{
	uint64_t *pte;

	if (iova & 0xfff)
		return -EINVAL;
	pte = s390_tbl_entry(t, iova, 0);
	if (!pte)
		return -ENOENT;
	*pte = htobe64(S390_PTE_INVALID);
	shadow_log("s390: IOVA 0x%llx unmapped", (unsigned long long)iova);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Kernel log                                                               */
/* ------------------------------------------------------------------------ */

/**
 * kmsg_open() - Open the kernel log positioned at its end
 *
 * Returns a non-blocking fd that only sees messages logged from now on,
 * or -errno.
 */
static int kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (lseek(fd, 0, SEEK_END) < 0) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	return fd;
}

/**
 * kmsg_wait_for() - Wait for a kernel log line containing all needles
 * @fd: From kmsg_open()
 * @needles: NULL-terminated array of substrings that must all appear
 * @timeout_ms: Give up after this long: -ETIMEDOUT
 * @line: Optional; returns the message text of the matching line
 * @len: Size of @line
 *
 * Reads records (one per read() on /dev/kmsg) as they arrive; records
 * that do not match are consumed. DMAR faults are reported from an
 * interrupt, so they may appear a little after the DMA completed, and
 * intel-iommu rate-limits them (10 lines per 5 s; one fault interrupt
 * uses 3): a fault may be handled and never printed. A caller that must
 * see one waits 5 s and provokes it again.
 */
static int kmsg_wait_for(int fd, const char *const *needles,
			 unsigned int timeout_ms, char *line, size_t len)
{
	uint64_t end = shadow_now_ms() + timeout_ms;
	char rec[1024];

	for (;;) {
		const char *msg;
		ssize_t n = read(fd, rec, sizeof(rec) - 1);
		unsigned int i;

		if (n < 0) {
			if (errno == EPIPE)	/* overwritten records: go on */
				continue;
			if (errno != EAGAIN)
				return -errno;
			if (shadow_now_ms() > end)
				return -ETIMEDOUT;
			usleep(10000);
			continue;
		}
		rec[n] = 0;
		/* "prio,seq,usec,flags;text\n" then continuation lines */
		msg = strchr(rec, ';');
		msg = msg ? msg + 1 : rec;
		for (i = 0; needles[i]; i++)
			if (!strstr(msg, needles[i]))
				break;
		if (needles[i])
			continue;
		if (line) {
			shadow_strlcpy(line, msg, len);
			line[strcspn(line, "\n")] = 0;
		}
		return 0;
	}
}

/* ------------------------------------------------------------------------ */
/* DMAR faults of an edu DMA                                                */
/* ------------------------------------------------------------------------ */

#define DMAR_FAULT_WAIT_MS	2000	/* faults are logged from an IRQ */
#define DMAR_RATELIMIT_WAIT_S	6	/* DEFAULT_RATELIMIT_INTERVAL is 5 s */

/**
 * dmar_rid() - The requester of a PCI device as DMAR fault lines print it
 * @bdf: Device address, "0000:00:03.0"
 * @rid: Returns "[00:03.0]"
 * @len: Size of @rid
 */
static void dmar_rid(const char *bdf, char *rid, size_t len)
{
	const char *p = strchr(bdf, ':');

	if (len < 3)
		return;
	snprintf(rid, len, "[%.*s]", (int)(len - 3), p ? p + 1 : bdf);
}

/**
 * edu_dma_fault() - Run a DMA the IOMMU must refuse and catch its DMAR line
 * @bar0: Mapped BAR0 of the edu
 * @kmsg: From kmsg_open()
 * @rid: Requester as dmar_rid() writes it
 * @to_ram: Direction: a device write (edu -> RAM) or a device read
 * @off: Offset in the edu buffer
 * @iova: IOVA the device uses
 * @len: Bytes
 * @line: Returns the fault line, e.g. "DMAR: [DMA Write NO_PASID] Request
 *	device [00:03.0] fault addr 0x800000 [fault reason 0x05] PTE Write
 *	access is not set"
 * @line_len: Size of @line
 *
 * The edu completes whether or not the IOMMU let it through, so the line is
 * the device-side evidence (the caller checks memory). VT-d logs the page
 * address. intel-iommu prints about 3 faults per 5 s (10 lines per
 * DEFAULT_RATELIMIT_INTERVAL, 3 used per fault interrupt) and clears the
 * others silently: when no line comes, wait out the window and run the same
 * DMA again, once. Do not expect a line for a write to a read-only
 * translation QEMU's VT-d already cached from a read: QEMU drops such a
 * write without recording a fault.
 *
 * Returns 0, -ETIMEDOUT when no line came twice, or the DMA's error.
 */
static int edu_dma_fault(volatile void *bar0, int kmsg, const char *rid,
			 bool to_ram, uint32_t off, uint64_t iova, uint32_t len,
			 char *line, size_t line_len)
{
	char addr[40];
	const char *needles[] = { to_ram ? "[DMA Write" : "[DMA Read", rid,
				  addr, NULL };
	int ret, tries;

	snprintf(addr, sizeof(addr), "fault addr 0x%llx ",
		 (unsigned long long)iova & ~0xfffULL);
	for (tries = 0; tries < 2; tries++) {
		if (tries) {
			shadow_log("no DMAR line yet (rate limit): retry in %u s",
				   DMAR_RATELIMIT_WAIT_S);
			sleep(DMAR_RATELIMIT_WAIT_S);
		}
		ret = to_ram ? edu_dma_to_ram(bar0, off, iova, len) :
			       edu_dma_from_ram(bar0, iova, off, len);
		if (ret)
			return ret;
		ret = kmsg_wait_for(kmsg, needles, DMAR_FAULT_WAIT_MS, line,
				    line_len);
		if (ret != -ETIMEDOUT)
			return ret;
	}
	return ret;
}

#endif /* __SHADOW_LIB_H */
