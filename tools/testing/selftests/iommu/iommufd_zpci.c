// SPDX-License-Identifier: GPL-2.0-only
/*
 * End-to-end test of shadow nesting on s390x: a zPCI virtio-rng function
 * (QEMU's virtio-rng-pci-non-transitional behind "-device zpci",
 * iommu_platform=on) is the DMA engine, the s390-iommu driver the IOMMU.
 *
 * The device is bound to vfio-pci, opened through its VFIO cdev and bound to
 * iommufd. "Guest RAM" (a memfd) is mapped into an IOAS at guest physical
 * addresses inside the zPCI DMA aperture; the guest's s390 stage-1 tables
 * live in it, and a shadow HWPT (IOMMU_HWPT_DATA_SHADOW, format S390) turns
 * them into an s390-iommu paging domain that QEMU's zPCI model really walks
 * (after the RPCITs the s390 driver issues). The device is attached to the
 * shadow.
 *
 * A minimal modern virtio-pci driver runs in this process: capabilities from
 * the VFIO config region, the common/notify/ISR structures accessed with
 * pread/pwrite on the BAR regions (no mmap on s390), everything
 * little-endian. It negotiates VIRTIO_F_VERSION_1 and
 * VIRTIO_F_ACCESS_PLATFORM (without the latter QEMU bypasses the IOMMU and
 * writes guest-physical memory of the VM), sets up queue 0 as a split
 * virtqueue in guest RAM pages the stage-1 maps, and posts one
 * device-writable buffer: the random bytes must land exactly where the
 * stage-1 says, and nowhere when the stage-1 or the IOAS no longer allows it.
 *
 * A refused DMA puts the zPCI function into the error state: QEMU raises a
 * zPCI error event, blocks the function's loads/stores (BAR and config
 * access fail), and the host kernel (vfio-pci has no s390 error recovery)
 * leaves it in pci_channel_io_perm_failure. The test that provoked it
 * recovers the function afterwards through the s390 "recover" sysfs
 * attribute (disable/enable, new pci_dev); FIXTURE_SETUP does the same
 * when it finds the function unusable (a test that stopped on an ASSERT
 * runs no teardown), so every test starts clean.
 *
 * Set ZPCI_VERBOSE in the environment to narrate every step.
 *
 * Without such a device (any x86 profile) every test skips.
 */
#include <poll.h>
#include <sys/eventfd.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>

#include "kselftest_harness.h"
#include "shadow_lib.h"

#define PAGE		0x1000UL
#define FILL		0x5a		/* what untouched memory holds */

#define VIRTIO_VENDOR		0x1af4
#define VIRTIO_RNG_MODERN	0x1044	/* 0x1040 + device type 4 */

#define VQ_SIZE		8
#define VQ_TIMEOUT_MS	2000
#define EVENT_WAIT_MS	3000

/*
 * Guest RAM: G_PAGES pages of a memfd at guest physical GPA_BASE (the
 * start of the zPCI DMA aperture), mapped into the IOAS as two areas:
 *
 *   pages  0..31  data, rings                 read-write area
 *   pages 32..61  the guest's s390 tables     (same area)
 *   pages 62..63  victim of IOMMU_IOAS_UNMAP  their own area
 *
 * The shadow aperture is [AP_START, AP_LAST], 256 MiB above GPA_BASE; the
 * stage-1 maps IOVAs there to pages in a scrambled order, never the
 * identity:
 *
 *   S1_DESC    AP + 0x000000 -> page 2    descriptor table
 *   S1_AVAIL   AP + 0x001000 -> page 4    driver (avail) ring
 *   S1_USED    AP + 0x002000 -> page 3    device (used) ring
 *   S1_BUF     AP + 0x100000 -> page 9
 *   S1_BUF + 1 page          -> page 7    (a buffer across S1_BUF's end splits)
 *   S1_DROP    AP + 0x200000 -> page 11   dropped by the guest in a test
 *   S1_VICTIM  AP + 0x300000 -> page 62   backing unmapped from the IOAS
 *   S1_RO      AP + 0x400000 -> page 12   protected PTE
 *   S1_RO_STE  AP + 0x500000 -> page 13   protected segment-table entry
 */
#define G_PAGES		64
#define G_SIZE		(G_PAGES * PAGE)
#define TBL_PAGE	32
#define TBL_PAGES	30
#define PG_VICTIM	62
#define AP_OFFSET	0x10000000ULL
#define AP_SIZE		0x10000000ULL
#define PG_DESC		2
#define PG_AVAIL	4
#define PG_USED		3
#define PG_BUF		9
#define PG_BUF2		7
#define PG_DROP		11
#define PG_RO		12
#define PG_RO_STE	13

/* Offsets of the stage-1 IOVAs from AP_START */
#define S1_DESC		0x000000ULL
#define S1_AVAIL	0x001000ULL
#define S1_USED		0x002000ULL
#define S1_BUF		0x100000ULL
#define S1_DROP		0x200000ULL
#define S1_VICTIM	0x300000ULL
#define S1_RO		0x400000ULL
#define S1_RO_STE	0x500000ULL

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

	v->common.bar = v->notify.bar = v->isr.bar = v->device.bar = -1;
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
 * Bring the device up to DRIVER_OK with queue 0 at the given IOVAs:
 * reset, ACKNOWLEDGE | DRIVER, features VERSION_1 | ACCESS_PLATFORM (both
 * mandatory here), FEATURES_OK, queue 0 (VQ_SIZE entries, no MSI-X
 * vector: we poll), DRIVER_OK.
 */
static int vio_init(struct vio *v, uint64_t desc_iova, uint64_t avail_iova,
		    uint64_t used_iova)
{
	const uint64_t want = (1ULL << VIRTIO_F_VERSION_1) |
			      (1ULL << VIRTIO_F_ACCESS_PLATFORM);
	uint32_t lo, hi;
	uint16_t qs;
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

	if ((ret = vio_w32(v, &v->common, COMMON(device_feature_select), 0)) ||
	    (ret = vio_r32(v, &v->common, COMMON(device_feature), &lo)) ||
	    (ret = vio_w32(v, &v->common, COMMON(device_feature_select), 1)) ||
	    (ret = vio_r32(v, &v->common, COMMON(device_feature), &hi)))
		return ret;
	v->features = (uint64_t)hi << 32 | lo;
	shadow_log("virtio: device features 0x%016llx",
		   (unsigned long long)v->features);
	if ((v->features & want) != want)
		return -EOPNOTSUPP;
	if ((ret = vio_w32(v, &v->common, COMMON(guest_feature_select), 0)) ||
	    (ret = vio_w32(v, &v->common, COMMON(guest_feature), 0)) ||
	    (ret = vio_w32(v, &v->common, COMMON(guest_feature_select), 1)) ||
	    (ret = vio_w32(v, &v->common, COMMON(guest_feature), want >> 32)))
		return ret;
	ret = vio_set_status(v, VIRTIO_CONFIG_S_FEATURES_OK);
	if (!ret)
		ret = vio_status(v, &st);
	if (ret)
		return ret;
	if (!(st & VIRTIO_CONFIG_S_FEATURES_OK))
		return -EPROTO;

	if ((ret = vio_w16(v, &v->common, COMMON(queue_select), 0)) ||
	    (ret = vio_r16(v, &v->common, COMMON(queue_size), &qs)))
		return ret;
	v->qsize_max = qs;
	if (qs < VQ_SIZE)
		return -ENOSPC;
	if ((ret = vio_w16(v, &v->common, COMMON(queue_size), VQ_SIZE)) ||
	    (ret = vio_w16(v, &v->common, COMMON(queue_msix_vector),
			   VIRTIO_MSI_NO_VECTOR)) ||
	    (ret = vio_w64(v, &v->common, COMMON(queue_desc_lo), desc_iova)) ||
	    (ret = vio_w64(v, &v->common, COMMON(queue_avail_lo),
			   avail_iova)) ||
	    (ret = vio_w64(v, &v->common, COMMON(queue_used_lo), used_iova)) ||
	    (ret = vio_r16(v, &v->common, COMMON(queue_notify_off),
			   &v->notify_off)) ||
	    (ret = vio_w16(v, &v->common, COMMON(queue_enable), 1)))
		return ret;
	v->avail_idx = 0;
	v->used_idx = 0;
	ret = vio_set_status(v, VIRTIO_CONFIG_S_DRIVER_OK);
	if (!ret)
		ret = vio_status(v, &st);
	if (ret)
		return ret;
	shadow_log("virtio: queue 0 (max %u) of %u at desc 0x%llx avail 0x%llx used 0x%llx, status 0x%x",
		   v->qsize_max, VQ_SIZE, (unsigned long long)desc_iova,
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
	v->avail->ring[v->avail_idx % VQ_SIZE] = htole16(slot);
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
	volatile uint16_t *idx = &v->used->idx;
	uint64_t end = shadow_now_ms() + timeout_ms;

	while (le16toh(*idx) == v->used_idx) {
		if (shadow_now_ms() > end)
			return -ETIMEDOUT;
		usleep(1000);
	}
	__sync_synchronize();
	*id = le32toh(v->used->ring[v->used_idx % VQ_SIZE].id);
	*len = le32toh(v->used->ring[v->used_idx % VQ_SIZE].len);
	v->used_idx++;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* The fixture                                                              */
/* ------------------------------------------------------------------------ */

FIXTURE(zpci)
{
	int iommufd;
	uint32_t ioas_id;
	uint32_t shadow_id;
	struct vfio_pci_dev dev;
	struct vio vio;
	char bdf[32];
	int kmsg;
	int errfd;		/* VFIO error IRQ eventfd, -1 if none */
	bool recover;		/* the function went into the error state */
	uint8_t *ram;		/* guest RAM, host view */
	uint8_t *expect;	/* what guest RAM must hold */
	uint64_t gpa_base;	/* guest physical address of page 0 */
	uint64_t ap_start, ap_last;	/* shadow aperture */
	struct iommu_iova_range zpci_ap;	/* the function's DMA aperture */
	struct s390_tables t;
	uint64_t iota;
};

static uint8_t *gpage(FIXTURE_DATA(zpci) *self, unsigned int pg)
{
	return self->ram + pg * PAGE;
}

static uint64_t gpa(FIXTURE_DATA(zpci) *self, unsigned int pg)
{
	return self->gpa_base + (uint64_t)pg * PAGE;
}

static uint64_t s1(FIXTURE_DATA(zpci) *self, uint64_t off)
{
	return self->ap_start + off;
}

/* The stage-1 mappings of the layout above (guest memory writes only) */
static int build_stage1(FIXTURE_DATA(zpci) *self)
{
	static const struct {
		uint64_t s1;
		unsigned int pg;
		bool ro;
	} map[] = {
		{ S1_DESC, PG_DESC }, { S1_AVAIL, PG_AVAIL },
		{ S1_USED, PG_USED }, { S1_BUF, PG_BUF },
		{ S1_BUF + PAGE, PG_BUF2 }, { S1_DROP, PG_DROP },
		{ S1_VICTIM, PG_VICTIM }, { S1_RO, PG_RO, true },
		{ S1_RO_STE, PG_RO_STE },
	};
	uint64_t *ste;
	unsigned int i;
	int ret;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		ret = s390_tbl_map(&self->t, s1(self, map[i].s1),
				   gpa(self, map[i].pg), map[i].ro);
		if (ret)
			return ret;
	}
	ste = s390_tbl_entry(&self->t, s1(self, S1_RO_STE), 1);
	if (!ste)
		return -ENOENT;
	*ste |= htobe64(S390_TE_PROTECTED);
	return 0;
}

static void zpci_log(void *priv, const char *msg)
{
	struct __test_metadata *_metadata = priv;

	TH_LOG("  %s", msg);
}

/*
 * s390 only: put a function that went into the error state back into
 * service (disable, enable, rescan: a fresh pci_dev), the way an operator
 * does it. Needs the VFIO fds closed.
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

/* Ask for the error eventfd of vfio-pci (only PCIe devices offer one) */
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

/*
 * Bind to vfio-pci, open, bind to iommufd and check that config space
 * answers (a function in the error state reads all-ones or fails).
 */
static int open_function(FIXTURE_DATA(zpci) *self)
{
	uint16_t vendor = 0;
	int ret;

	ret = pci_bind_vfio(self->bdf);
	if (!ret)
		ret = vfio_pci_open(&self->dev, self->bdf);
	if (!ret)
		ret = vfio_bind_iommufd(&self->dev, self->iommufd);
	if (!ret)
		ret = vfio_cfg_read(&self->dev, PCI_VENDOR_ID, &vendor, 2);
	if (!ret && le16toh(vendor) != VIRTIO_VENDOR)
		ret = -EIO;
	return ret;
}

FIXTURE_SETUP(zpci)
{
	struct iommu_iova_range ranges[8];
	uint32_t num = 8, pt_id, type = ~0U, i;
	uint64_t caps = 0;
	int ret;

	self->iommufd = -1;
	self->kmsg = -1;
	self->errfd = -1;
	self->dev.fd = -1;
	self->ram = NULL;
	self->expect = NULL;
	self->recover = false;
	ret = pci_find_device(VIRTIO_VENDOR, VIRTIO_RNG_MODERN, self->bdf,
			      sizeof(self->bdf));
	if (ret)
		SKIP(return, "no virtio-rng PCI function (run in the s390 VM profile)");
	if (getenv("ZPCI_VERBOSE"))
		shadow_lib_set_log(zpci_log, _metadata);

	self->iommufd = iommufd_open();
	ASSERT_LE(0, self->iommufd);
	ASSERT_EQ(0, iommufd_ioas_alloc(self->iommufd, &self->ioas_id));
	ret = open_function(self);
	if (ret) {
		/* Left in the error state by an earlier run: recover it */
		TH_LOG("%s unusable (%s): recovering it", self->bdf,
		       strerror(-ret));
		vfio_pci_close(&self->dev);
		ASSERT_EQ(0, zpci_recover(self->bdf));
		ASSERT_EQ(0, open_function(self));
	}
	ASSERT_EQ(0, iommufd_get_hw_info(self->iommufd, self->dev.dev_id,
					 NULL, 0, &type, &caps));
	if (!(caps & IOMMU_HW_CAP_SHADOW_NESTING))
		SKIP(return, "IOMMU of %s (hw info type %u) cannot shadow",
		     self->bdf, type);

	/*
	 * The DMA aperture: what the IOAS allows once the function is
	 * attached (its reserved regions are everything outside it). The
	 * IOAS is empty, so the attach cannot conflict with anything.
	 */
	pt_id = self->ioas_id;
	ASSERT_EQ(0, vfio_attach_pt(&self->dev, &pt_id));
	ASSERT_EQ(0, iommufd_ioas_iova_ranges(self->iommufd, self->ioas_id,
					      ranges, &num, NULL));
	ASSERT_LE(1, num);
	for (i = 0; i < num; i++)
		if (ranges[i].last - ranges[i].start >= AP_OFFSET + AP_SIZE - 1)
			break;
	ASSERT_GT(num, i) TH_LOG("no IOVA range of %llu MiB",
				 (AP_OFFSET + AP_SIZE) >> 20);
	self->zpci_ap = ranges[i];
	self->gpa_base = ranges[i].start;
	self->ap_start = self->gpa_base + AP_OFFSET;
	self->ap_last = self->ap_start + AP_SIZE - 1;

	/* Guest RAM into the IOAS, page PG_VICTIM as its own area */
	self->ram = guest_ram_alloc(G_SIZE);
	ASSERT_NE(NULL, self->ram);
	self->expect = malloc(G_SIZE);
	ASSERT_NE(NULL, self->expect);
	memset(self->ram, FILL, G_SIZE);
	ASSERT_EQ(0, iommufd_ioas_map_fixed(self->iommufd, self->ioas_id,
					    self->ram, PG_VICTIM * PAGE,
					    self->gpa_base, false));
	ASSERT_EQ(0, iommufd_ioas_map_fixed(self->iommufd, self->ioas_id,
					    gpage(self, PG_VICTIM),
					    (G_PAGES - PG_VICTIM) * PAGE,
					    gpa(self, PG_VICTIM), false));

	/*
	 * The guest's stage-1, as an s390 guest starts: an empty
	 * region-third table registered as the IOTA (the VMM allocates the
	 * shadow for it), the function attached, and only then mappings,
	 * each followed by a refresh (RPCIT, here one over the aperture).
	 * QEMU's zPCI model translates only what RPCIT told it about, and
	 * the s390-iommu driver issues RPCITs for mappings made while a
	 * function is attached: see attach_prepopulated_shadow.
	 */
	s390_tbl_init(&self->t, gpage(self, TBL_PAGE), gpa(self, TBL_PAGE),
		      TBL_PAGES * PAGE);
	ASSERT_EQ(0, s390_tbl_new_root(&self->t, &self->iota));
	ASSERT_EQ(0, iommufd_shadow_alloc(self->iommufd, self->dev.dev_id,
					  self->ioas_id,
					  IOMMU_SHADOW_FORMAT_S390, self->iota,
					  self->ap_start, self->ap_last,
					  &self->shadow_id));
	pt_id = self->shadow_id;
	ASSERT_EQ(0, vfio_attach_pt(&self->dev, &pt_id));
	ASSERT_EQ(self->shadow_id, pt_id);
	ASSERT_EQ(0, build_stage1(self));
	ASSERT_EQ(0, iommufd_shadow_invalidate(self->iommufd, self->shadow_id,
					       0, 0));
	ASSERT_EQ(0, vfio_enable_bus_master(&self->dev));

	/* The virtio driver, queue 0 in the stage-1 */
	self->vio.d = &self->dev;
	ASSERT_EQ(0, vio_find_caps(&self->vio));
	self->vio.desc = (void *)gpage(self, PG_DESC);
	self->vio.avail = (void *)gpage(self, PG_AVAIL);
	self->vio.used = (void *)gpage(self, PG_USED);
	memset(self->vio.desc, 0, PAGE);
	memset(self->vio.avail, 0, PAGE);
	memset(self->vio.used, 0, PAGE);
	ASSERT_EQ(0, vio_init(&self->vio, s1(self, S1_DESC),
			      s1(self, S1_AVAIL), s1(self, S1_USED)));

	self->errfd = vfio_err_eventfd(&self->dev);
	self->kmsg = kmsg_open();
	ASSERT_LE(0, self->kmsg);
	memcpy(self->expect, self->ram, G_SIZE);
}

FIXTURE_TEARDOWN(zpci)
{
	if (self->dev.fd >= 0 && !self->recover)
		vio_reset(&self->vio);
	vfio_pci_close(&self->dev);
	if (self->errfd >= 0)
		close(self->errfd);
	if (self->kmsg >= 0)
		close(self->kmsg);
	if (self->iommufd >= 0)
		close(self->iommufd);
	if (self->ram)
		munmap(self->ram, G_SIZE);
	free(self->expect);
	if (self->recover) {
		int ret = zpci_recover(self->bdf);

		TH_LOG("recover %s: %s", self->bdf,
		       ret ? strerror(-ret) : "ok");
	}
}

/*
 * Guest RAM must equal self->expect; on a difference log where it is.
 * Returns the offset of the first different byte, G_SIZE when equal.
 */
static size_t ram_diff(struct __test_metadata *_metadata,
		       FIXTURE_DATA(zpci) *self)
{
	size_t i, n = 0, first = G_SIZE;

	for (i = 0; i < G_SIZE; i++) {
		if (self->ram[i] == self->expect[i])
			continue;
		if (first == G_SIZE)
			first = i;
		n++;
	}
	if (first < G_SIZE)
		TH_LOG("guest RAM differs at page %zu + 0x%zx: 0x%02x, expected 0x%02x (%zu bytes differ)",
		       first / PAGE, first % PAGE, self->ram[first],
		       self->expect[first], n);
	return first;
}

#define CHECK_RAM() EXPECT_EQ(G_SIZE, ram_diff(_metadata, self))

/* The driver wrote the rings: what guest RAM must hold now */
static void expect_sync(FIXTURE_DATA(zpci) *self)
{
	memcpy(self->expect + PG_DESC * PAGE, gpage(self, PG_DESC), PAGE);
	memcpy(self->expect + PG_AVAIL * PAGE, gpage(self, PG_AVAIL), PAGE);
}

/*
 * The device completed a buffer: expect its used element, and its bytes at
 * guest page @pg + @off (up to the page end), the rest at page @pg2.
 * used->flags is the device's to write.
 */
static void expect_used(FIXTURE_DATA(zpci) *self, uint32_t id, uint32_t len)
{
	struct vring_used *u = (void *)(self->expect + PG_USED * PAGE);
	uint16_t i = self->vio.used_idx - 1;

	u->flags = self->vio.used->flags;
	u->ring[i % VQ_SIZE].id = htole32(id);
	u->ring[i % VQ_SIZE].len = htole32(len);
	u->idx = htole16(self->vio.used_idx);
}

static void expect_bytes(FIXTURE_DATA(zpci) *self, unsigned int pg,
			 size_t off, size_t len)
{
	memcpy(self->expect + pg * PAGE + off, gpage(self, pg) + off, len);
}

/* Index of the first byte of @buf that is not @val, or @len */
static size_t first_not(const void *buf, size_t len, uint8_t val)
{
	const uint8_t *p = buf;
	size_t i;

	for (i = 0; i < len && p[i] == val; i++)
		;
	return i;
}

/* Bytes that are not all FILL: something random arrived */
static bool looks_random(const uint8_t *p, size_t len)
{
	size_t i, fill = 0;

	for (i = 0; i < len; i++)
		fill += p[i] == FILL;
	return fill < len / 8 + 2;
}

/*
 * Post a buffer and expect it back complete: returns the used length, or
 * a negative errno.
 */
static int rng_request(struct __test_metadata *_metadata,
		       FIXTURE_DATA(zpci) *self, unsigned int slot,
		       uint64_t iova, uint32_t len)
{
	uint32_t id = ~0U, used_len = 0;
	int ret;

	ret = vio_post(&self->vio, slot, iova, len);
	if (ret)
		return ret;
	expect_sync(self);
	ret = vio_wait_used(&self->vio, VQ_TIMEOUT_MS, &id, &used_len);
	if (ret)
		return ret;
	if (id != slot) {
		TH_LOG("used id %u, expected %u", id, slot);
		return -EPROTO;
	}
	expect_used(self, id, used_len);
	return used_len;
}

/*
 * A request the IOMMU must refuse: post it, then report everything the
 * driver can see: the used ring (nothing should come), the device status
 * (NEEDS_RESET, or the BAR read failing because the zPCI function is
 * blocked), vfio's error eventfd and the kernel's zPCI error event.
 */
static int rng_report(struct __test_metadata *_metadata,
		      FIXTURE_DATA(zpci) *self);

static void rng_refused(struct __test_metadata *_metadata,
			FIXTURE_DATA(zpci) *self, unsigned int slot,
			uint64_t iova, uint32_t len)
{
	uint32_t id = ~0U, used_len = 0;
	int ret;

	ASSERT_EQ(0, vio_post(&self->vio, slot, iova, len));
	expect_sync(self);
	self->recover = true;	/* from now on, assume the worst */
	ret = vio_wait_used(&self->vio, VQ_TIMEOUT_MS, &id, &used_len);
	if (ret)
		TH_LOG("driver: no used element after %u ms (%s)",
		       VQ_TIMEOUT_MS, strerror(-ret));
	else
		TH_LOG("driver: used element id %u len %u", id, used_len);
	EXPECT_EQ(-ETIMEDOUT, ret);
	EXPECT_EQ(0, rng_report(_metadata, self));
}

/*
 * What the driver and the kernel see after a request went wrong; returns
 * 0 when the kernel reported a zPCI error event.
 */
static int rng_report(struct __test_metadata *_metadata,
		      FIXTURE_DATA(zpci) *self)
{
	const char *const needles[] = { "reports an error for PCI function",
					NULL };
	char line[256];
	uint64_t cnt;
	uint8_t st;
	int ret;

	ret = vio_status(&self->vio, &st);
	if (ret)
		TH_LOG("driver: device status read failed: %s (function blocked)",
		       strerror(-ret));
	else
		TH_LOG("driver: device status 0x%02x%s", st,
		       st == 0xff ? " (all ones: the function's loads are blocked)" :
		       st & VIRTIO_CONFIG_S_NEEDS_RESET ? " (NEEDS_RESET)" : "");

	ret = kmsg_wait_for(self->kmsg, needles, EVENT_WAIT_MS, line,
			    sizeof(line));
	if (ret)
		TH_LOG("kernel: no zPCI error event within %u ms (%s)",
		       EVENT_WAIT_MS, strerror(-ret));
	else
		TH_LOG("kernel: %s", line);
	/* Collect what recovery said about it */
	if (!ret)
		while (!kmsg_wait_for(self->kmsg,
				      (const char *const[]){ self->bdf, NULL },
				      200, line, sizeof(line)))
			TH_LOG("kernel: %s", line);

	if (self->errfd < 0)
		TH_LOG("vfio: no error IRQ for this function (not PCIe)");
	else {
		if (read(self->errfd, &cnt, sizeof(cnt)) == sizeof(cnt))
			TH_LOG("vfio: error eventfd signalled (%llu)",
			       (unsigned long long)cnt);
		else
			TH_LOG("vfio: error eventfd not signalled");
	}
	return ret;
}

/* ------------------------------------------------------------------------ */
/* Tests                                                                    */
/* ------------------------------------------------------------------------ */

/* The function, its aperture and the objects the shadow depends on */
TEST_F(zpci, setup_geometry)
{
	uint32_t type = ~0U, id;
	int ret;
	uint64_t caps = 0;

	ASSERT_EQ(0, iommufd_get_hw_info(self->iommufd, self->dev.dev_id,
					 NULL, 0, &type, &caps));
	TH_LOG("%s: hw info type %u caps 0x%llx, DMA aperture 0x%llx-0x%llx, guest RAM at 0x%llx, shadow aperture 0x%llx-0x%llx",
	       self->bdf, type, (unsigned long long)caps,
	       (unsigned long long)self->zpci_ap.start,
	       (unsigned long long)self->zpci_ap.last,
	       (unsigned long long)self->gpa_base,
	       (unsigned long long)self->ap_start,
	       (unsigned long long)self->ap_last);
	TH_LOG("virtio: features 0x%016llx, queue max %u, notify off %u x %u",
	       (unsigned long long)self->vio.features, self->vio.qsize_max,
	       self->vio.notify_off, self->vio.notify_mult);
	EXPECT_TRUE(self->vio.features & (1ULL << VIRTIO_F_ACCESS_PLATFORM));
	EXPECT_EQ(-EBUSY, iommufd_destroy(self->iommufd, self->shadow_id));
	/*
	 * The s390-iommu domain spans the region-third reach (2^42); what
	 * lies outside the DMA aperture is reserved, not out of geometry.
	 */
	ASSERT_EQ(0, iommufd_shadow_alloc(self->iommufd, self->dev.dev_id,
					  self->ioas_id,
					  IOMMU_SHADOW_FORMAT_S390, self->iota,
					  0, S390_RTX_REACH - 1, &id));
	EXPECT_EQ(0, iommufd_destroy(self->iommufd, id));
	ret = iommufd_shadow_alloc(self->iommufd, self->dev.dev_id,
				   self->ioas_id, IOMMU_SHADOW_FORMAT_S390,
				   self->iota, self->ap_start,
				   S390_RTX_REACH + PAGE - 1, &id);
	EXPECT_EQ(-EINVAL, ret);
	CHECK_RAM();
}

/*
 * (a) The random bytes land exactly where the stage-1 says: S1_BUF names
 * page 9, S1_BUF + 1 page names page 7; rings at scrambled pages too.
 */
TEST_F(zpci, rng_lands_in_stage1_page)
{
	uint32_t len;
	int ret;

	/* 256 bytes inside S1_BUF's page, at an offset */
	ret = rng_request(_metadata, self, 0, s1(self, S1_BUF) + 0x100, 256);
	ASSERT_EQ(256, ret);
	EXPECT_TRUE(looks_random(gpage(self, PG_BUF) + 0x100, 256));
	expect_bytes(self, PG_BUF, 0x100, 256);
	CHECK_RAM();

	/* 4 KiB across the end of S1_BUF's page: pages 9 and 7, not 9, 10 */
	len = PAGE;
	ret = rng_request(_metadata, self, 1, s1(self, S1_BUF) + 0x800, len);
	ASSERT_EQ(len, ret);
	EXPECT_TRUE(looks_random(gpage(self, PG_BUF) + 0x800, 0x800));
	EXPECT_TRUE(looks_random(gpage(self, PG_BUF2), 0x800));
	expect_bytes(self, PG_BUF, 0x800, 0x800);
	expect_bytes(self, PG_BUF2, 0, 0x800);
	CHECK_RAM();

	/* A few more rounds around the ring */
	for (unsigned int i = 0; i < VQ_SIZE + 2; i++) {
		ret = rng_request(_metadata, self, i % VQ_SIZE,
				  s1(self, S1_DROP) + 64 * i, 64);
		ASSERT_EQ(64, ret);
		expect_bytes(self, PG_DROP, 64 * i, 64);
	}
	CHECK_RAM();
}

/*
 * (b) The guest drops the buffer's mapping and invalidates: a new request
 * for it must not write memory.
 */
TEST_F(zpci, rng_dropped_mapping_blocked)
{
	int ret;

	/* Used first, so QEMU's zPCI IOTLB holds the translation */
	ret = rng_request(_metadata, self, 0, s1(self, S1_DROP), 512);
	ASSERT_EQ(512, ret);
	expect_bytes(self, PG_DROP, 0, 512);
	CHECK_RAM();

	ASSERT_EQ(0, s390_tbl_unmap(&self->t, s1(self, S1_DROP)));
	ASSERT_EQ(0, iommufd_shadow_invalidate(self->iommufd, self->shadow_id,
					       s1(self, S1_DROP), PAGE));
	memset(gpage(self, PG_DROP), FILL, PAGE);
	memcpy(self->expect, self->ram, G_SIZE);

	rng_refused(_metadata, self, 1, s1(self, S1_DROP), 512);
	CHECK_RAM();
}

/*
 * (c) IOMMU_IOAS_UNMAP of the guest page behind a stage-1 IOVA: the device
 * cannot reach the old host page (a sentinel there survives).
 */
TEST_F(zpci, rng_after_ioas_unmap_blocked)
{
	uint8_t *victim = gpage(self, PG_VICTIM);
	uint64_t unmapped = 0;
	int ret;

	ret = rng_request(_metadata, self, 0, s1(self, S1_VICTIM), 512);
	ASSERT_EQ(512, ret);
	expect_bytes(self, PG_VICTIM, 0, 512);
	CHECK_RAM();

	ASSERT_EQ(0, iommufd_ioas_unmap(self->iommufd, self->ioas_id,
					gpa(self, PG_VICTIM),
					(G_PAGES - PG_VICTIM) * PAGE,
					&unmapped));
	EXPECT_EQ((G_PAGES - PG_VICTIM) * PAGE, unmapped);
	/* The host page is still ours: a sentinel must stay */
	memset(victim, 0xc3, PAGE);
	memcpy(self->expect, self->ram, G_SIZE);

	rng_refused(_metadata, self, 1, s1(self, S1_VICTIM), 512);
	EXPECT_EQ(PAGE, first_not(victim, PAGE, 0xc3));
	CHECK_RAM();
}

/* (d) A protected PTE stops the device's write */
TEST_F(zpci, rng_protected_pte_blocked)
{
	rng_refused(_metadata, self, 0, s1(self, S1_RO), 512);
	CHECK_RAM();
}

/* (d') Protection in the segment-table entry above the PTE does too */
TEST_F(zpci, rng_protected_ste_blocked)
{
	rng_refused(_metadata, self, 0, s1(self, S1_RO_STE) + 0x100, 256);
	CHECK_RAM();
}

/*
 * A shadow whose stage-1 is complete before the function attaches to it
 * (e.g. a VMM that allocates the shadow after the guest built its tables,
 * or replaces one shadow by another): the device must reach the pages.
 * QEMU's zPCI model, like z/VM (zdev->tlb_refresh), translates only what
 * an RPCIT told it about and forgets everything when the IOAT is
 * re-registered, so someone has to issue a global refresh after the
 * attach.
 */
TEST_F(zpci, attach_prepopulated_shadow)
{
	uint32_t shadow2, pt_id;
	int ret;

	ASSERT_EQ(0, iommufd_shadow_alloc(self->iommufd, self->dev.dev_id,
					  self->ioas_id,
					  IOMMU_SHADOW_FORMAT_S390, self->iota,
					  self->ap_start, self->ap_last,
					  &shadow2));
	pt_id = shadow2;
	ASSERT_EQ(0, vfio_attach_pt(&self->dev, &pt_id));
	ASSERT_EQ(shadow2, pt_id);
	self->recover = true;	/* in case the DMA is refused */
	ret = rng_request(_metadata, self, 0, s1(self, S1_BUF), 256);
	if (ret < 0)
		rng_report(_metadata, self);
	ASSERT_EQ(256, ret);
	self->recover = false;
	expect_bytes(self, PG_BUF, 0, 256);
	CHECK_RAM();
}

/*
 * The same for the plain IOAS (GPA = IOVA): its paging domain is already
 * populated when the function comes back to it from the shadow.
 */
TEST_F(zpci, attach_populated_ioas)
{
	uint32_t pt_id = self->ioas_id;
	int ret;

	ASSERT_EQ(0, vfio_attach_pt(&self->dev, &pt_id));
	ASSERT_NE(self->shadow_id, pt_id);
	memset(gpage(self, PG_DESC), 0, PAGE);
	memset(gpage(self, PG_AVAIL), 0, PAGE);
	memset(gpage(self, PG_USED), 0, PAGE);
	memcpy(self->expect, self->ram, G_SIZE);
	self->recover = true;	/* DRIVER_OK makes the device read avail */
	ret = vio_init(&self->vio, gpa(self, PG_DESC), gpa(self, PG_AVAIL),
		       gpa(self, PG_USED));
	if (ret)
		rng_report(_metadata, self);
	ASSERT_EQ(0, ret);
	ret = rng_request(_metadata, self, 0, gpa(self, PG_BUF2), 256);
	if (ret < 0)
		rng_report(_metadata, self);
	ASSERT_EQ(256, ret);
	self->recover = false;
	expect_bytes(self, PG_BUF2, 0, 256);
	CHECK_RAM();
}

/* After all that, the function works again (recovered by teardown) */
TEST_F(zpci, rng_works_after_recovery)
{
	int ret;

	ret = rng_request(_metadata, self, 0, s1(self, S1_BUF), 128);
	ASSERT_EQ(128, ret);
	expect_bytes(self, PG_BUF, 0, 128);
	CHECK_RAM();
}

TEST_HARNESS_MAIN
