/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * shadow_lib.h - userspace helpers for iommufd shadow nesting end-to-end tests
 *
 * A small header-only library (every function is static) shared by the
 * kselftests, the narrated demos and the benchmark. It is meant to be read
 * as example code by a VMM author: each helper does one ioctl or one sysfs
 * step and says what it is for. One header per concern:
 *
 *   shadow_lib.h       (this one) iommufd_*: /dev/iommu: IOAS, mappings,
 *                      HWPTs, invalidation, hw info, shadow nesting (stage-2
 *                      parent, shadowed stage-1); guest_ram_*: memory standing
 *                      in for a VM's RAM; kmsg_*: waiting for a kernel log
 *                      line; the narration callback
 *   shadow_vfio_lib.h  pci_* vfio_*: a PCI device through the VFIO cdev
 *                      (/dev/vfio/devices/vfioN)
 *   shadow_edu_lib.h   edu_*: QEMU's "edu" device (1234:11e8) used as a DMA
 *                      engine; dmar_*, edu_dma_fault: DMAR faults of a
 *                      refused edu DMA
 *   shadow_s390_lib.h  s390_tbl_*: s390 zPCI DMA translation tables in
 *                      guest memory
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

/* CLOCK_MONOTONIC in milliseconds */
static uint64_t shadow_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
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
/* sysfs                                                                    */
/* ------------------------------------------------------------------------ */

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

#endif /* __SHADOW_LIB_H */
