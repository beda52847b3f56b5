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
 * A minimal modern virtio-pci driver runs in this process (virtio_rng_lib.h,
 * shared with the s390x demo): queue 0 is a split virtqueue in guest RAM
 * pages the stage-1 maps, and each request posts one device-writable
 * buffer: the random bytes must land exactly where the stage-1 says, and
 * nowhere when the stage-1 or the IOAS no longer allows it.
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

#include "kselftest_harness.h"
#include "shadow_s390_lib.h"
#include "virtio_rng_lib.h"

#define PAGE		0x1000UL
#define FILL		0x5a		/* what untouched memory holds */

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
 *
 * The RPCIT tests map more, only in the test that needs it:
 *
 *   S1_ONE     AP + 0x600000 -> page 14   one page
 *   S1_SCATTER AP + 0x700000 + 5 pages * i, i = 0..15: 16 pages scattered
 *              over a 76-page window, to 16 scattered data pages
 *   S1_RUN     AP + 0x8e0000, 64 pages across a 1 MiB (page-table)
 *              boundary, to pages 0..63: all guest RAM, GPA-contiguous
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
#define S1_ONE		0x600000ULL
#define S1_SCATTER	0x700000ULL
#define S1_RUN		0x8e0000ULL
#define PG_ONE		14
#define SCATTER_N	16
#define SCATTER_STEP	5		/* pages between two scattered IOVAs */
#define SCATTER_WIN	((SCATTER_N - 1) * SCATTER_STEP + 1)	/* pages */
#define RUN_PAGES	64

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

	for (i = 0; i < ARRAY_SIZE(map); i++) {
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
	u->ring[i % VIO_QUEUE_SIZE].id = htole32(id);
	u->ring[i % VIO_QUEUE_SIZE].len = htole32(len);
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
	struct zpci_observation o;
	unsigned int i;

	zpci_observe(&self->vio, self->kmsg, self->errfd, EVENT_WAIT_MS, &o);
	if (o.status_ret)
		TH_LOG("driver: device status read failed: %s (function blocked)",
		       strerror(-o.status_ret));
	else
		TH_LOG("driver: device status 0x%02x%s", o.status,
		       o.status == 0xff ? " (all ones: the function's loads are blocked)" :
		       o.status & VIRTIO_CONFIG_S_NEEDS_RESET ? " (NEEDS_RESET)" : "");
	if (o.event_ret)
		TH_LOG("kernel: no zPCI error event within %u ms (%s)",
		       EVENT_WAIT_MS, strerror(-o.event_ret));
	else
		TH_LOG("kernel: %s", o.event);
	for (i = 0; i < o.nr_more; i++)
		TH_LOG("kernel: %s", o.more[i]);
	if (o.err_signalled < 0)
		TH_LOG("vfio: no error IRQ for this function (not PCIe)");
	else
		TH_LOG("vfio: error eventfd %s",
		       o.err_signalled ? "signalled" : "not signalled");
	return o.event_ret;
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
	for (unsigned int i = 0; i < VIO_QUEUE_SIZE + 2; i++) {
		ret = rng_request(_metadata, self, i % VIO_QUEUE_SIZE,
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

/* ------------------------------------------------------------------------ */
/* RPCITs: what the shadow makes the s390-iommu driver issue                */
/* ------------------------------------------------------------------------ */

/*
 * QEMU's zPCI model, like z/VM, translates only what a refresh (RPCIT)
 * told it about; every refresh is an intercept, so the shadow must issue
 * what the hardware needs and no more. The s390-iommu driver counts per
 * domain what it did (debugfs "statistics" of the function, the counters
 * of the domain it is attached to, here the shadow). The contract, per
 * IOMMU_HWPT_INVALIDATE of a range:
 *
 *  - "Mapped pages" / "Unmapped pages" grow by the 4 KiB entries the
 *    invalidation added / removed, exactly;
 *  - exactly one "Sync Map RPCIT" if it mapped anything (all new entries
 *    refreshed together, not one refresh per map call), none otherwise;
 *  - exactly one "Sync RPCIT" if it unmapped anything, none otherwise;
 *  - no global refresh;
 * and an IOMMU_IOAS_UNMAP that zaps shadow entries costs one Sync RPCIT.
 */

struct rpcit_want {
	uint64_t mapped, unmapped, sync_map, sync;
};

static void stats_snap(struct __test_metadata *_metadata,
		       FIXTURE_DATA(zpci) *self, struct zpci_iommu_stats *s)
{
	ASSERT_EQ(0, zpci_stats_read(self->bdf, s));
}

/*
 * Enable the counters and take the first reading; every RPCIT test starts
 * with it and returns at once when it returns false (skipped).
 */
static bool stats_start(struct __test_metadata *_metadata,
			FIXTURE_DATA(zpci) *self, struct zpci_iommu_stats *s)
{
	int ret = zpci_stats_enable(self->bdf);

	if (ret == -ENOENT)
		SKIP(return false, "no debugfs statistics for %s (CONFIG_DEBUG_FS?)",
		     self->bdf);
	ASSERT_EQ(0, ret);
	stats_snap(_metadata, self, s);
	return true;
}

/*
 * Compare what happened since @before with @want and log it; @before
 * becomes the new reading.
 */
static void rpcits_expect(struct __test_metadata *_metadata,
			  FIXTURE_DATA(zpci) *self, const char *what,
			  struct zpci_iommu_stats *before,
			  const struct rpcit_want *want)
{
	struct zpci_iommu_stats now, d;

	stats_snap(_metadata, self, &now);
	zpci_stats_delta(&d, before, &now);
	TH_LOG("%s: +%llu mapped, +%llu unmapped pages; +%llu Sync Map, +%llu Sync, +%llu Global RPCITs (want +%llu, +%llu; +%llu, +%llu, +0)",
	       what, (unsigned long long)d.mapped_pages,
	       (unsigned long long)d.unmapped_pages,
	       (unsigned long long)d.sync_map_rpcits,
	       (unsigned long long)d.sync_rpcits,
	       (unsigned long long)d.global_rpcits,
	       (unsigned long long)want->mapped,
	       (unsigned long long)want->unmapped,
	       (unsigned long long)want->sync_map,
	       (unsigned long long)want->sync);
	EXPECT_EQ(want->mapped, d.mapped_pages);
	EXPECT_EQ(want->unmapped, d.unmapped_pages);
	EXPECT_EQ(want->sync_map, d.sync_map_rpcits);
	EXPECT_EQ(want->sync, d.sync_rpcits);
	EXPECT_EQ(0, d.global_rpcits);
	*before = now;
}

static int invalidate(FIXTURE_DATA(zpci) *self, uint64_t off, uint64_t len)
{
	return iommufd_shadow_invalidate(self->iommufd, self->shadow_id,
					 s1(self, off), len);
}

/* Guest page the i-th scattered IOVA names; @shift retargets them all */
static unsigned int scatter_pg(unsigned int i, unsigned int shift)
{
	/* Data pages 14..31, never two IOVAs on one page */
	return 14 + (i * 7 + shift) % 18;
}

static uint64_t scatter_iova(unsigned int i)
{
	return S1_SCATTER + (uint64_t)i * SCATTER_STEP * PAGE;
}

static int map_scattered(FIXTURE_DATA(zpci) *self, unsigned int shift)
{
	unsigned int i;
	int ret;

	for (i = 0; i < SCATTER_N; i++) {
		ret = s390_tbl_map(&self->t, s1(self, scatter_iova(i)),
				   gpa(self, scatter_pg(i, shift)), false);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * A DMA through a new entry proves the refresh reached the device; the
 * bytes must land in @pg only.
 */
static void dma_lands(struct __test_metadata *_metadata,
		      FIXTURE_DATA(zpci) *self, uint64_t off, unsigned int pg)
{
	int ret;

	/* What the guest wrote to its tables since: expected, not DMA */
	memcpy(self->expect + TBL_PAGE * PAGE, gpage(self, TBL_PAGE),
	       TBL_PAGES * PAGE);
	ret = rng_request(_metadata, self, 0, s1(self, off) + 0x40, 64);

	if (ret < 0) {
		self->recover = true;
		rng_report(_metadata, self);
	}
	ASSERT_EQ(64, ret);
	EXPECT_TRUE(looks_random(gpage(self, pg) + 0x40, 64));
	expect_bytes(self, pg, 0x40, 64);
	CHECK_RAM();
}

/* One page: one map refresh, one unmap refresh, nothing when unchanged */
TEST_F(zpci, rpcit_one_page)
{
	const struct rpcit_want map1 = { .mapped = 1, .sync_map = 1 };
	const struct rpcit_want unmap1 = { .unmapped = 1, .sync = 1 };
	const struct rpcit_want none = { 0 };
	struct zpci_iommu_stats s;

	if (!stats_start(_metadata, self, &s))
		return;
	ASSERT_EQ(0, s390_tbl_map(&self->t, s1(self, S1_ONE),
				  gpa(self, PG_ONE), false));
	ASSERT_EQ(0, invalidate(self, S1_ONE, PAGE));
	rpcits_expect(_metadata, self, "map 1 page", &s, &map1);
	dma_lands(_metadata, self, S1_ONE, PG_ONE);
	stats_snap(_metadata, self, &s);

	ASSERT_EQ(0, invalidate(self, S1_ONE, PAGE));
	rpcits_expect(_metadata, self, "same page again, unchanged", &s, &none);

	ASSERT_EQ(0, s390_tbl_unmap(&self->t, s1(self, S1_ONE)));
	ASSERT_EQ(0, invalidate(self, S1_ONE, PAGE));
	rpcits_expect(_metadata, self, "unmap 1 page", &s, &unmap1);

	ASSERT_EQ(0, invalidate(self, S1_ONE, PAGE));
	rpcits_expect(_metadata, self, "unmapped page again", &s, &none);
}

/* 16 scattered pages in one invalidation: one refresh, not 16 */
TEST_F(zpci, rpcit_scattered_16)
{
	const struct rpcit_want map16 = { .mapped = SCATTER_N, .sync_map = 1 };
	const struct rpcit_want unmap16 = { .unmapped = SCATTER_N, .sync = 1 };
	struct zpci_iommu_stats s;
	unsigned int i;

	if (!stats_start(_metadata, self, &s))
		return;
	ASSERT_EQ(0, map_scattered(self, 0));
	ASSERT_EQ(0, invalidate(self, S1_SCATTER, SCATTER_WIN * PAGE));
	rpcits_expect(_metadata, self, "map 16 scattered pages", &s, &map16);
	dma_lands(_metadata, self, scatter_iova(SCATTER_N - 1),
		  scatter_pg(SCATTER_N - 1, 0));
	stats_snap(_metadata, self, &s);

	for (i = 0; i < SCATTER_N; i++)
		ASSERT_EQ(0, s390_tbl_unmap(&self->t,
					    s1(self, scatter_iova(i))));
	ASSERT_EQ(0, invalidate(self, S1_SCATTER, SCATTER_WIN * PAGE));
	rpcits_expect(_metadata, self, "unmap 16 scattered pages", &s,
		      &unmap16);
}

/* 64 pages in a row across a page-table boundary: one refresh each way */
TEST_F(zpci, rpcit_contiguous_64)
{
	const struct rpcit_want map64 = { .mapped = RUN_PAGES, .sync_map = 1 };
	const struct rpcit_want unmap64 = { .unmapped = RUN_PAGES, .sync = 1 };
	struct zpci_iommu_stats s;
	unsigned int i;

	if (!stats_start(_metadata, self, &s))
		return;
	ASSERT_EQ(0, s390_tbl_map_range(&self->t, s1(self, S1_RUN),
					gpa(self, 0), RUN_PAGES * PAGE, false));
	ASSERT_EQ(0, invalidate(self, S1_RUN, RUN_PAGES * PAGE));
	rpcits_expect(_metadata, self, "map 64 contiguous pages", &s, &map64);
	/* Both ends of the run: page 0 and page 1 of guest RAM */
	dma_lands(_metadata, self, S1_RUN, 0);
	dma_lands(_metadata, self, S1_RUN + PAGE, 1);
	stats_snap(_metadata, self, &s);

	for (i = 0; i < RUN_PAGES; i++)
		ASSERT_EQ(0, s390_tbl_unmap(&self->t,
					    s1(self, S1_RUN + i * PAGE)));
	ASSERT_EQ(0, invalidate(self, S1_RUN, RUN_PAGES * PAGE));
	rpcits_expect(_metadata, self, "unmap 64 contiguous pages", &s,
		      &unmap64);
}

/*
 * Retarget: the guest points existing entries at other pages. Each is an
 * unmap and a map in the shadow; one invalidation still needs just one
 * refresh of each kind, and the device must see the new pages.
 */
TEST_F(zpci, rpcit_retarget)
{
	const struct rpcit_want map16 = { .mapped = SCATTER_N, .sync_map = 1 };
	const struct rpcit_want move16 = { .mapped = SCATTER_N,
					   .unmapped = SCATTER_N,
					   .sync_map = 1, .sync = 1 };
	const struct rpcit_want move1 = { .mapped = 1, .unmapped = 1,
					  .sync_map = 1, .sync = 1 };
	struct zpci_iommu_stats s;
	uint64_t last = scatter_iova(SCATTER_N - 1);

	if (!stats_start(_metadata, self, &s))
		return;
	ASSERT_EQ(0, map_scattered(self, 0));
	ASSERT_EQ(0, invalidate(self, S1_SCATTER, SCATTER_WIN * PAGE));
	rpcits_expect(_metadata, self, "map 16 scattered pages", &s, &map16);
	/* Used first, so the device's IOTLB holds the old translation */
	dma_lands(_metadata, self, last, scatter_pg(SCATTER_N - 1, 0));
	stats_snap(_metadata, self, &s);

	ASSERT_EQ(0, map_scattered(self, 1));
	ASSERT_EQ(0, invalidate(self, S1_SCATTER, SCATTER_WIN * PAGE));
	rpcits_expect(_metadata, self, "retarget 16 scattered pages", &s,
		      &move16);
	dma_lands(_metadata, self, last, scatter_pg(SCATTER_N - 1, 1));
	stats_snap(_metadata, self, &s);

	/* One of the two pages of S1_BUF, within a two-page invalidation */
	ASSERT_EQ(0, s390_tbl_map(&self->t, s1(self, S1_BUF + PAGE),
				  gpa(self, PG_ONE), false));
	ASSERT_EQ(0, invalidate(self, S1_BUF, 2 * PAGE));
	rpcits_expect(_metadata, self, "retarget 1 of 2 pages", &s, &move1);
	dma_lands(_metadata, self, S1_BUF + PAGE, PG_ONE);
}

/* Invalidations that change nothing cost nothing */
TEST_F(zpci, rpcit_unchanged)
{
	const struct rpcit_want none = { 0 };
	struct zpci_iommu_stats s;
	int ret;

	if (!stats_start(_metadata, self, &s))
		return;
	ASSERT_EQ(0, invalidate(self, S1_BUF, 2 * PAGE));
	rpcits_expect(_metadata, self, "2 mapped pages, unchanged", &s, &none);
	ASSERT_EQ(0, invalidate(self, S1_SCATTER, SCATTER_WIN * PAGE));
	rpcits_expect(_metadata, self, "76 pages never mapped", &s, &none);
	ASSERT_EQ(0, iommufd_shadow_invalidate(self->iommufd, self->shadow_id,
					       0, 0));
	rpcits_expect(_metadata, self, "whole aperture, unchanged", &s,
		      &none);
	/* A refused invalidation must not refresh either */
	ret = iommufd_shadow_invalidate(self->iommufd, self->shadow_id,
					s1(self, S1_BUF) + 1, PAGE);
	EXPECT_EQ(-EINVAL, ret);
	rpcits_expect(_metadata, self, "misaligned, refused", &s, &none);
}

/* IOMMU_IOAS_UNMAP of backing RAM zaps the shadow: one Sync RPCIT */
TEST_F(zpci, rpcit_ioas_unmap)
{
	const struct rpcit_want zap1 = { .unmapped = 1, .sync = 1 };
	const struct rpcit_want none = { 0 };
	struct zpci_iommu_stats s;
	uint64_t unmapped = 0;

	if (!stats_start(_metadata, self, &s))
		return;
	ASSERT_EQ(0, iommufd_ioas_unmap(self->iommufd, self->ioas_id,
					gpa(self, PG_VICTIM),
					(G_PAGES - PG_VICTIM) * PAGE,
					&unmapped));
	EXPECT_EQ((G_PAGES - PG_VICTIM) * PAGE, unmapped);
	rpcits_expect(_metadata, self, "IOAS unmap behind 1 shadow entry", &s,
		      &zap1);
	/* The guest's refresh of the now unbacked IOVA changes nothing */
	EXPECT_EQ(-ENXIO, invalidate(self, S1_VICTIM, PAGE));
	rpcits_expect(_metadata, self, "refresh of the zapped IOVA", &s,
		      &none);
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
