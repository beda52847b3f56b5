/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * virtio_rng_lib.h - a virtio-rng PCI function as a DMA engine, over VFIO
 *
 * Header-only companion of shadow_lib.h, shared by the s390x end-to-end
 * test (iommufd_zpci.c) and the narrated s390x demo
 * (tools/testing/shadow-demo/demo_s390.c). Two groups:
 *
 *   vio_*   a minimal modern virtio-pci driver in userspace: capabilities
 *           from the VFIO config region, the common/notify/ISR structures
 *           accessed with pread/pwrite on the BAR regions (s390 has no BAR
 *           mmap), everything little-endian whatever the host's byte order.
 *           It negotiates VIRTIO_F_VERSION_1 and VIRTIO_F_ACCESS_PLATFORM
 *           (without the latter QEMU bypasses the IOMMU and writes
 *           guest-physical memory of the VM), sets queue 0 up as a split
 *           virtqueue whose rings the caller placed in guest RAM, and posts
 *           device-writable buffers: the device fills them with random
 *           bytes, by DMA through whatever the function is attached to.
 *   zpci_*  what the s390 platform adds: putting a function that went into
 *           the error state back into service, and the s390-iommu's
 *           per-domain counters in debugfs (pages mapped and unmapped, the
 *           refreshes, RPCITs, it issued).
 *
 * Conventions as in shadow_lib.h: 0 or a negative errno, no printing,
 * narration through shadow_log().
 */
#ifndef __VIRTIO_RNG_LIB_H
#define __VIRTIO_RNG_LIB_H

#include <sys/eventfd.h>
#include <sys/mount.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>

#include "shadow_vfio_lib.h"

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#endif

#define VIRTIO_VENDOR		0x1af4
#define VIRTIO_RNG_MODERN	0x1044	/* 0x1040 + device type 4 */

/* Entries of queue 0; its rings fit in one page each */
#define VIO_QUEUE_SIZE		8

/* ------------------------------------------------------------------------ */
/* A minimal modern virtio-pci driver over VFIO (pread/pwrite, LE)          */
/* ------------------------------------------------------------------------ */

struct vio_loc {
	int bar;		/* -1: not found */
	uint32_t off;
	uint32_t len;
};

struct vio {
	struct vfio_pci_dev *d;
	uint64_t bar_off[VFIO_PCI_ROM_REGION_INDEX];
	uint64_t bar_size[VFIO_PCI_ROM_REGION_INDEX];
	struct vio_loc common, notify, isr, device;
	uint32_t notify_mult;
	uint16_t qsize_max;
	uint16_t notify_off;
	uint64_t features;	/* offered by the device */
	/* The split virtqueue, host view (guest RAM) and device view (IOVA) */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t avail_idx;
	uint16_t used_idx;
};

static int vio_io(struct vio *v, const struct vio_loc *l, uint32_t off,
		  void *buf, size_t len, bool write)
{
	uint64_t pos;
	ssize_t n;

	if (l->bar < 0 || off + len > l->len)
		return -EINVAL;
	pos = v->bar_off[l->bar] + l->off + off;
	n = write ? pwrite(v->d->fd, buf, len, pos) :
		    pread(v->d->fd, buf, len, pos);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

static int vio_r8(struct vio *v, const struct vio_loc *l, uint32_t off,
		  uint8_t *val)
{
	return vio_io(v, l, off, val, 1, false);
}

static int vio_w8(struct vio *v, const struct vio_loc *l, uint32_t off,
		  uint8_t val)
{
	return vio_io(v, l, off, &val, 1, true);
}

static int vio_r16(struct vio *v, const struct vio_loc *l, uint32_t off,
		   uint16_t *val)
{
	uint16_t le;
	int ret = vio_io(v, l, off, &le, 2, false);

	*val = le16toh(le);
	return ret;
}

static int vio_w16(struct vio *v, const struct vio_loc *l, uint32_t off,
		   uint16_t val)
{
	uint16_t le = htole16(val);

	return vio_io(v, l, off, &le, 2, true);
}

static int vio_r32(struct vio *v, const struct vio_loc *l, uint32_t off,
		   uint32_t *val)
{
	uint32_t le;
	int ret = vio_io(v, l, off, &le, 4, false);

	*val = le32toh(le);
	return ret;
}

static int vio_w32(struct vio *v, const struct vio_loc *l, uint32_t off,
		   uint32_t val)
{
	uint32_t le = htole32(val);

	return vio_io(v, l, off, &le, 4, true);
}

static int vio_w64(struct vio *v, const struct vio_loc *l, uint32_t off,
		   uint64_t val)
{
	int ret = vio_w32(v, l, off, (uint32_t)val);

	return ret ? ret : vio_w32(v, l, off + 4, val >> 32);
}

/*
 * Walk the PCI capability list in the VFIO config region and find the
 * virtio structures (vendor-specific capabilities, cfg_type 1..4).
 */
static int vio_find_caps(struct vio *v)
{
	uint16_t status;
	uint8_t pos, hdr[20];
	unsigned int i, guard = 0;
	int ret;

	v->common.bar = -1;
	v->notify.bar = -1;
	v->isr.bar = -1;
	v->device.bar = -1;
	for (i = 0; i < VFIO_PCI_ROM_REGION_INDEX; i++) {
		struct vfio_region_info info;

		if (vfio_region_info(v->d, i, &info))
			continue;
		v->bar_off[i] = info.offset;
		v->bar_size[i] = info.size;
	}

	ret = vfio_cfg_read(v->d, PCI_STATUS, &status, 2);
	if (ret)
		return ret;
	if (!(le16toh(status) & PCI_STATUS_CAP_LIST))
		return -ENOENT;
	ret = vfio_cfg_read(v->d, PCI_CAPABILITY_LIST, &pos, 1);
	if (ret)
		return ret;
	while (pos && guard++ < 48) {
		struct vio_loc *l = NULL;
		uint32_t off, len;

		pos &= ~3;
		ret = vfio_cfg_read(v->d, pos, hdr, 2);
		if (ret)
			return ret;
		if (hdr[0] == PCI_CAP_ID_VNDR) {
			ret = vfio_cfg_read(v->d, pos, hdr, sizeof(hdr));
			if (ret)
				return ret;
			memcpy(&off, hdr + VIRTIO_PCI_CAP_OFFSET, 4);
			memcpy(&len, hdr + VIRTIO_PCI_CAP_LENGTH, 4);
			switch (hdr[VIRTIO_PCI_CAP_CFG_TYPE]) {
			case VIRTIO_PCI_CAP_COMMON_CFG:
				l = &v->common;
				break;
			case VIRTIO_PCI_CAP_NOTIFY_CFG:
				l = &v->notify;
				memcpy(&v->notify_mult,
				       hdr + VIRTIO_PCI_NOTIFY_CAP_MULT, 4);
				v->notify_mult = le32toh(v->notify_mult);
				break;
			case VIRTIO_PCI_CAP_ISR_CFG:
				l = &v->isr;
				break;
			case VIRTIO_PCI_CAP_DEVICE_CFG:
				l = &v->device;
				break;
			}
			/* The first of each type is the preferred one */
			if (l && l->bar < 0 &&
			    hdr[VIRTIO_PCI_CAP_BAR] < VFIO_PCI_ROM_REGION_INDEX) {
				l->bar = hdr[VIRTIO_PCI_CAP_BAR];
				l->off = le32toh(off);
				l->len = le32toh(len);
				shadow_log("virtio cap type %u: BAR %d + 0x%x, %u bytes",
					   hdr[VIRTIO_PCI_CAP_CFG_TYPE], l->bar,
					   l->off, l->len);
			}
		}
		pos = hdr[1];
	}
	if (v->common.bar < 0 || v->notify.bar < 0 || v->isr.bar < 0)
		return -ENOENT;
	return 0;
}

#define COMMON(field) offsetof(struct virtio_pci_common_cfg, field)

static int vio_status(struct vio *v, uint8_t *status)
{
	return vio_r8(v, &v->common, COMMON(device_status), status);
}

/* Reset: write 0 and wait until the device reads back 0 */
static int vio_reset(struct vio *v)
{
	uint64_t end = shadow_now_ms() + 1000;
	uint8_t st;
	int ret;

	ret = vio_w8(v, &v->common, COMMON(device_status), 0);
	if (ret)
		return ret;
	do {
		ret = vio_status(v, &st);
		if (ret)
			return ret;
		if (!st)
			return 0;
		usleep(1000);
	} while (shadow_now_ms() < end);
	return -ETIMEDOUT;
}

static int vio_set_status(struct vio *v, uint8_t bits)
{
	uint8_t st;
	int ret = vio_status(v, &st);

	return ret ? ret : vio_w8(v, &v->common, COMMON(device_status),
				  st | bits);
}

/*
 * Common-configuration accessors for a sequence of register accesses:
 * each does nothing once *@ret holds an error, so a sequence is checked
 * once at its end.
 */
static void vio_cw16(struct vio *v, uint32_t off, uint16_t val, int *ret)
{
	if (!*ret)
		*ret = vio_w16(v, &v->common, off, val);
}

static void vio_cw32(struct vio *v, uint32_t off, uint32_t val, int *ret)
{
	if (!*ret)
		*ret = vio_w32(v, &v->common, off, val);
}

static void vio_cw64(struct vio *v, uint32_t off, uint64_t val, int *ret)
{
	if (!*ret)
		*ret = vio_w64(v, &v->common, off, val);
}

static void vio_cr16(struct vio *v, uint32_t off, uint16_t *val, int *ret)
{
	if (!*ret)
		*ret = vio_r16(v, &v->common, off, val);
}

static void vio_cr32(struct vio *v, uint32_t off, uint32_t *val, int *ret)
{
	if (!*ret)
		*ret = vio_r32(v, &v->common, off, val);
}

/*
 * Bring the device up to DRIVER_OK with queue 0 at the given IOVAs:
 * reset, ACKNOWLEDGE | DRIVER, features VERSION_1 | ACCESS_PLATFORM (both
 * mandatory here), FEATURES_OK, queue 0 (VIO_QUEUE_SIZE entries, no
 * MSI-X vector: we poll), DRIVER_OK.
 */
static int vio_init(struct vio *v, uint64_t desc_iova, uint64_t avail_iova,
		    uint64_t used_iova)
{
	const uint64_t want = (1ULL << VIRTIO_F_VERSION_1) |
			      (1ULL << VIRTIO_F_ACCESS_PLATFORM);
	uint32_t lo = 0, hi = 0;
	uint16_t qs = 0;
	uint8_t st;
	int ret;

	ret = vio_reset(v);
	if (ret)
		return ret;
	ret = vio_set_status(v, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	if (!ret)
		ret = vio_set_status(v, VIRTIO_CONFIG_S_DRIVER);
	if (ret)
		return ret;

	vio_cw32(v, COMMON(device_feature_select), 0, &ret);
	vio_cr32(v, COMMON(device_feature), &lo, &ret);
	vio_cw32(v, COMMON(device_feature_select), 1, &ret);
	vio_cr32(v, COMMON(device_feature), &hi, &ret);
	if (ret)
		return ret;
	v->features = (uint64_t)hi << 32 | lo;
	shadow_log("virtio: device features 0x%016llx",
		   (unsigned long long)v->features);
	if ((v->features & want) != want)
		return -EOPNOTSUPP;
	vio_cw32(v, COMMON(guest_feature_select), 0, &ret);
	vio_cw32(v, COMMON(guest_feature), 0, &ret);
	vio_cw32(v, COMMON(guest_feature_select), 1, &ret);
	vio_cw32(v, COMMON(guest_feature), want >> 32, &ret);
	if (!ret)
		ret = vio_set_status(v, VIRTIO_CONFIG_S_FEATURES_OK);
	if (!ret)
		ret = vio_status(v, &st);
	if (ret)
		return ret;
	if (!(st & VIRTIO_CONFIG_S_FEATURES_OK))
		return -EPROTO;

	vio_cw16(v, COMMON(queue_select), 0, &ret);
	vio_cr16(v, COMMON(queue_size), &qs, &ret);
	if (ret)
		return ret;
	v->qsize_max = qs;
	if (qs < VIO_QUEUE_SIZE)
		return -ENOSPC;
	vio_cw16(v, COMMON(queue_size), VIO_QUEUE_SIZE, &ret);
	vio_cw16(v, COMMON(queue_msix_vector), VIRTIO_MSI_NO_VECTOR, &ret);
	vio_cw64(v, COMMON(queue_desc_lo), desc_iova, &ret);
	vio_cw64(v, COMMON(queue_avail_lo), avail_iova, &ret);
	vio_cw64(v, COMMON(queue_used_lo), used_iova, &ret);
	vio_cr16(v, COMMON(queue_notify_off), &v->notify_off, &ret);
	vio_cw16(v, COMMON(queue_enable), 1, &ret);
	if (ret)
		return ret;
	v->avail_idx = 0;
	v->used_idx = 0;
	ret = vio_set_status(v, VIRTIO_CONFIG_S_DRIVER_OK);
	if (!ret)
		ret = vio_status(v, &st);
	if (ret)
		return ret;
	shadow_log("virtio: queue 0 (max %u) of %u at desc 0x%llx avail 0x%llx used 0x%llx, status 0x%x",
		   v->qsize_max, VIO_QUEUE_SIZE, (unsigned long long)desc_iova,
		   (unsigned long long)avail_iova,
		   (unsigned long long)used_iova, st);
	return st & VIRTIO_CONFIG_S_NEEDS_RESET ? -EIO : 0;
}

/* Post one device-writable buffer (descriptor @slot) and notify queue 0 */
static int vio_post(struct vio *v, unsigned int slot, uint64_t iova,
		    uint32_t len)
{
	struct vring_desc *d = &v->desc[slot];

	d->addr = htole64(iova);
	d->len = htole32(len);
	d->flags = htole16(VRING_DESC_F_WRITE);
	d->next = 0;
	v->avail->ring[v->avail_idx % VIO_QUEUE_SIZE] = htole16(slot);
	__sync_synchronize();
	v->avail->idx = htole16(++v->avail_idx);
	__sync_synchronize();
	shadow_log("virtio: post %u bytes at IOVA 0x%llx (desc %u), notify",
		   len, (unsigned long long)iova, slot);
	return vio_w16(v, &v->notify, v->notify_off * v->notify_mult, 0);
}

/*
 * Wait for the next used element. Returns 0 with its id and len, or
 * -ETIMEDOUT after @timeout_ms.
 */
static int vio_wait_used(struct vio *v, unsigned int timeout_ms,
			 uint32_t *id, uint32_t *len)
{
	uint64_t end = shadow_now_ms() + timeout_ms;

	/* The device writes used->idx by DMA: read it afresh every time */
	while (le16toh(__atomic_load_n(&v->used->idx, __ATOMIC_ACQUIRE)) ==
	       v->used_idx) {
		if (shadow_now_ms() > end)
			return -ETIMEDOUT;
		usleep(1000);
	}
	__sync_synchronize();
	*id = le32toh(v->used->ring[v->used_idx % VIO_QUEUE_SIZE].id);
	*len = le32toh(v->used->ring[v->used_idx % VIO_QUEUE_SIZE].len);
	v->used_idx++;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* zPCI function: recovery, error eventfd                                   */
/* ------------------------------------------------------------------------ */

/**
 * zpci_recover() - Put a function that went into the error state back into
 * service (disable, enable, rescan: a fresh pci_dev), the way an operator
 * does it
 * @bdf: PCI address
 *
 * Needs the VFIO fds of the function closed.
 */
static int zpci_recover(const char *bdf)
{
	char path[PATH_MAX];
	uint64_t end;
	int ret;

	snprintf(path, sizeof(path), SHADOW_PCI_DEVICES "/%s/recover", bdf);
	ret = shadow_sysfs_write(path, "1");
	if (ret)
		return ret;
	/* The rescan is synchronous; give the new device a moment anyway */
	end = shadow_now_ms() + 2000;
	snprintf(path, sizeof(path), SHADOW_PCI_DEVICES "/%s", bdf);
	while (access(path, F_OK)) {
		if (shadow_now_ms() > end)
			return -ENODEV;
		usleep(10000);
	}
	return 0;
}

/**
 * vfio_err_eventfd() - The error eventfd of a vfio-pci device
 * @d: Device bound to an iommufd
 *
 * Returns the eventfd (non-blocking) or -errno: only PCIe devices offer one.
 */
static int vfio_err_eventfd(struct vfio_pci_dev *d)
{
	struct {
		struct vfio_irq_set set;
		int32_t fd;
	} irq = {
		.set = {
			.argsz = sizeof(irq),
			.flags = VFIO_IRQ_SET_DATA_EVENTFD |
				 VFIO_IRQ_SET_ACTION_TRIGGER,
			.index = VFIO_PCI_ERR_IRQ_INDEX,
			.start = 0,
			.count = 1,
		},
	};
	int ret;

	irq.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (irq.fd < 0)
		return -errno;
	ret = shadow_ioctl(d->fd, VFIO_DEVICE_SET_IRQS, &irq);
	if (ret) {
		close(irq.fd);
		return ret;
	}
	return irq.fd;
}

/**
 * struct zpci_observation - What a driver and the kernel show after a DMA
 *	the IOMMU refused
 * @status_ret: 0 when the device status could be read into @status, else
 *	-errno: the function's loads fail once it is in the error state
 * @status: virtio device_status (0xff: the load returned all ones)
 * @event_ret: 0 when the kernel logged a zPCI error event for the
 *	function, -ETIMEDOUT when it did not within the wait
 * @event: That log line
 * @more: Further lines the kernel logged about the function (recovery)
 * @nr_more: How many of @more are filled
 * @err_signalled: 1 vfio's error eventfd fired, 0 it did not, -1 the
 *	function has none (only PCIe devices have one)
 */
struct zpci_observation {
	int status_ret;
	uint8_t status;
	int event_ret;
	char event[256];
	char more[4][256];
	unsigned int nr_more;
	int err_signalled;
};

#define ZPCI_EVENT_TEXT		"reports an error for PCI function"

/**
 * zpci_observe() - Collect what a refused DMA left behind
 * @v: The driver of the function
 * @kmsg: From kmsg_open(), opened before the DMA
 * @errfd: From vfio_err_eventfd(), or negative
 * @wait_ms: How long to wait for the kernel's error event
 * @o: Returns the observation
 *
 * A DMA the s390-iommu domain does not translate (or translates read-only,
 * for a write) makes QEMU's zPCI model raise an error event: the function
 * is put into the error state, its loads and stores fail, and the kernel
 * logs the event. Nothing here decides whether that is right: it reports.
 */
static void zpci_observe(struct vio *v, int kmsg, int errfd,
			 unsigned int wait_ms, struct zpci_observation *o)
{
	const char *const event[] = { ZPCI_EVENT_TEXT, NULL };
	const char *const about[] = { v->d->bdf, NULL };
	uint64_t cnt;

	memset(o, 0, sizeof(*o));
	o->status_ret = vio_status(v, &o->status);
	o->event_ret = kmsg_wait_for(kmsg, event, wait_ms, o->event,
				     sizeof(o->event));
	while (!o->event_ret && o->nr_more < 4 &&
	       !kmsg_wait_for(kmsg, about, 200, o->more[o->nr_more],
			      sizeof(o->more[0])))
		o->nr_more++;
	if (errfd < 0)
		o->err_signalled = -1;
	else
		o->err_signalled = read(errfd, &cnt, sizeof(cnt)) ==
				   sizeof(cnt);
}

/* ------------------------------------------------------------------------ */
/* s390-iommu counters (debugfs)                                            */
/* ------------------------------------------------------------------------ */

#define ZPCI_DEBUGFS		"/sys/kernel/debug"

/**
 * struct zpci_iommu_stats - Software counters of the s390-iommu domain
 * @mapped_pages: 4 KiB entries made valid by map calls
 * @unmapped_pages: 4 KiB entries made invalid by unmap calls
 * @global_rpcits: Refreshes of the whole aperture (flush_iotlb_all)
 * @sync_map_rpcits: Refreshes after map calls (iotlb_sync_map), issued
 *	only for functions that need them (QEMU's zPCI, z/VM)
 * @sync_rpcits: Refreshes after unmaps (iotlb_sync of a gather)
 *
 * The kernel counts per domain, so these are the counters of the domain
 * the function is attached to when they are read, whichever it is.
 */
struct zpci_iommu_stats {
	uint64_t mapped_pages;
	uint64_t unmapped_pages;
	uint64_t global_rpcits;
	uint64_t sync_map_rpcits;
	uint64_t sync_rpcits;
};

static int zpci_stats_path(const char *bdf, char *path, size_t len)
{
	int n = snprintf(path, len, ZPCI_DEBUGFS "/pci/%s/statistics", bdf);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* The whole statistics file, NUL terminated; returns its length or -errno */
static ssize_t zpci_stats_text(const char *bdf, char *buf, size_t len)
{
	char path[PATH_MAX];
	size_t got = 0;
	ssize_t n;
	int fd, ret;

	ret = zpci_stats_path(bdf, path, sizeof(path));
	if (ret)
		return ret;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (got < len - 1) {
		n = read(fd, buf + got, len - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			close(fd);
			return ret;
		}
		if (!n)
			break;
		got += n;
	}
	close(fd);
	buf[got] = 0;
	return got;
}

/*
 * Find "<name>:\t<value>" as a whole line (names are right-aligned with
 * blanks before them). Returns 0 and the value, or -ENODATA.
 */
static int zpci_stats_field(const char *text, const char *name,
			    uint64_t *val)
{
	size_t nlen = strlen(name);
	const char *line = text;

	while (*line) {
		const char *p = line + strspn(line, " ");
		const char *eol = strchrnul(line, '\n');

		if (!strncmp(p, name, nlen) && p[nlen] == ':' &&
		    p + nlen < eol) {
			char *end;

			p += nlen + 1;
			p += strspn(p, " \t");
			errno = 0;
			*val = strtoull(p, &end, 10);
			if (end != p && !errno && (end == eol || *end == '\n'))
				return 0;
			return -EPROTO;
		}
		line = *eol ? eol + 1 : eol;
	}
	return -ENODATA;
}

/**
 * zpci_stats_enable() - Make the s390-iommu counters of a function readable
 * @bdf: PCI address of the zPCI function
 *
 * Mounts debugfs if it is not, and switches the function measurement block
 * on (writing 1 to the statistics file): the kernel shows the software
 * counters only while it is on. Returns 0, -ENOENT when the function has no
 * statistics file (not a zPCI function, or no CONFIG_DEBUG_FS), or -errno.
 */
static int zpci_stats_enable(const char *bdf)
{
	char path[PATH_MAX], text[4096];
	ssize_t n;
	int ret;

	if (access(ZPCI_DEBUGFS "/pci", F_OK) &&
	    mount("debugfs", ZPCI_DEBUGFS, "debugfs", 0, NULL) &&
	    errno != EBUSY)
		return -errno;
	n = zpci_stats_text(bdf, text, sizeof(text));
	if (n < 0)
		return n;
	if (!strstr(text, "FMB statistics disabled"))
		return 0;
	ret = zpci_stats_path(bdf, path, sizeof(path));
	if (!ret)
		ret = shadow_sysfs_write(path, "1");
	shadow_log("%s: function measurement on: %s", bdf,
		   ret ? strerror(-ret) : "ok");
	return ret;
}

/**
 * zpci_stats_read() - Read the s390-iommu counters of a function
 * @bdf: PCI address, after zpci_stats_enable()
 * @s: Returns the counters
 *
 * Returns -ENODATA when the file holds no counters (measurement off, or
 * the function attached to no paging domain: DMA blocked).
 */
static int zpci_stats_read(const char *bdf, struct zpci_iommu_stats *s)
{
	const struct {
		const char *name;
		uint64_t *val;
	} fields[] = {
		{ "Mapped pages", &s->mapped_pages },
		{ "Unmapped pages", &s->unmapped_pages },
		{ "Global RPCITs", &s->global_rpcits },
		{ "Sync Map RPCITs", &s->sync_map_rpcits },
		{ "Sync RPCITs", &s->sync_rpcits },
	};
	char text[4096];
	unsigned int i;
	ssize_t n;
	int ret;

	n = zpci_stats_text(bdf, text, sizeof(text));
	if (n < 0)
		return n;
	for (i = 0; i < ARRAY_SIZE(fields); i++) {
		ret = zpci_stats_field(text, fields[i].name, fields[i].val);
		if (ret)
			return ret;
	}
	return 0;
}

/**
 * zpci_stats_delta() - What happened between two readings
 * @d: Returns @after - @before, counter by counter
 * @before: Earlier reading
 * @after: Later reading
 */
static void zpci_stats_delta(struct zpci_iommu_stats *d,
			     const struct zpci_iommu_stats *before,
			     const struct zpci_iommu_stats *after)
{
	d->mapped_pages = after->mapped_pages - before->mapped_pages;
	d->unmapped_pages = after->unmapped_pages - before->unmapped_pages;
	d->global_rpcits = after->global_rpcits - before->global_rpcits;
	d->sync_map_rpcits = after->sync_map_rpcits - before->sync_map_rpcits;
	d->sync_rpcits = after->sync_rpcits - before->sync_rpcits;
}

#endif /* __VIRTIO_RNG_LIB_H */
