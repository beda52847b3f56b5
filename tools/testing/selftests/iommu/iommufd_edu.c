// SPDX-License-Identifier: GPL-2.0-only
/*
 * End-to-end tests of iommufd with a real device: QEMU's edu DMA engine
 * behind the emulated VT-d, bound to vfio-pci and driven through the VFIO
 * cdev and iommufd (see shadow_lib.h). Every DMA really goes through the
 * IOMMU: what lands in memory and what the kernel logs as DMAR faults is
 * what the hardware (model) did.
 *
 * FIXTURE(edu) attaches the device to a plain IOAS: the baseline.
 * FIXTURE(edu_shadow) attaches it to a shadowed stage-1 (shadow nesting):
 * s390-format tables in guest RAM, shadowed by the kernel into an ordinary
 * intel-iommu paging domain; QEMU's VT-d cannot nest, which is exactly the
 * case shadow nesting is for. Run in the "vtd" VM profile; without an edu
 * device they skip.
 */
#include "kselftest_harness.h"
#include "shadow_edu_lib.h"
#include "shadow_s390_lib.h"
#include "shadow_vfio_lib.h"
#include "shadow_test_utils.h"
#include "../../../../drivers/iommu/iommufd/iommufd_test.h"

#define PAGE		0x1000UL
#define FILL		0x5a		/* what untouched memory holds */

/* IOVAs of the tests, all below the edu's 28-bit DMA mask */
#define IOVA_RAM	0x100000ULL	/* RAM_PAGES read-write pages */
#define RAM_PAGES	4
#define IOVA_HOLE	0x200000ULL	/* never mapped; guard pages around */
#define IOVA_RO		0x300000ULL	/* one read-only page */
#define IOVA_UNMAP	0x400000ULL	/* mapped, then unmapped */

/* Fill @len bytes with a pattern that differs at every offset and seed */
static void pattern(void *buf, size_t len, unsigned int seed)
{
	uint8_t *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 7 + seed * 13 + (i >> 8));
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

/* Page-aligned anonymous memory filled with FILL */
static void *alloc_pages(size_t npages)
{
	void *p = mmap(NULL, npages * PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	memset(p, FILL, npages * PAGE);
	return p;
}

FIXTURE(edu)
{
	int iommufd;
	uint32_t ioas_id;
	uint32_t hwpt_id;	/* the paging HWPT the IOAS attach picked */
	struct vfio_pci_dev dev;
	char rid[16];		/* requester as DMAR logs it: "[00:03.0]" */
	int kmsg;
	void *ram;		/* RAM_PAGES at IOVA_RAM */
};

FIXTURE_SETUP(edu)
{
	char bdf[32];
	int ret;

	self->iommufd = -1;
	self->kmsg = -1;
	self->dev.fd = -1;
	ret = pci_find_device(EDU_VENDOR, EDU_DEVICE, bdf, sizeof(bdf));
	if (ret)
		SKIP(return, "no edu device (run in the vtd VM profile)");
	dmar_rid(bdf, self->rid, sizeof(self->rid));	/* "[00:03.0]" */

	ASSERT_EQ(0, pci_bind_vfio(bdf));
	self->iommufd = iommufd_open();
	ASSERT_LE(0, self->iommufd);
	ASSERT_EQ(0, iommufd_ioas_alloc(self->iommufd, &self->ioas_id));

	self->ram = alloc_pages(RAM_PAGES);
	ASSERT_NE(NULL, self->ram);
	ASSERT_EQ(0, iommufd_ioas_map_fixed(self->iommufd, self->ioas_id,
					    self->ram, RAM_PAGES * PAGE,
					    IOVA_RAM, false));

	ASSERT_EQ(0, vfio_pci_open(&self->dev, bdf));
	ASSERT_EQ(0, vfio_bind_iommufd(&self->dev, self->iommufd));
	self->hwpt_id = self->ioas_id;
	ASSERT_EQ(0, vfio_attach_pt(&self->dev, &self->hwpt_id));
	ASSERT_EQ(0, vfio_enable_bus_master(&self->dev));
	ASSERT_EQ(0, vfio_mmap_bar0(&self->dev));
	ASSERT_EQ(0, edu_check(self->dev.bar0, NULL));

	self->kmsg = kmsg_open();
	ASSERT_LE(0, self->kmsg);
}

FIXTURE_TEARDOWN(edu)
{
	vfio_pci_close(&self->dev);
	if (self->kmsg >= 0)
		close(self->kmsg);
	if (self->iommufd >= 0)
		close(self->iommufd);
}

/*
 * Run a DMA that the IOMMU must refuse and wait for its DMAR fault, e.g.
 * "DMAR: [DMA Write NO_PASID] Request device [00:03.0] fault addr 0x200000
 * [fault reason 0x05] PTE Write access is not set" (see edu_dma_fault():
 * VT-d records the page address, intel-iommu rate-limits the lines, so the
 * DMA is run once more after the rate-limit window when no line comes).
 */
static int dma_fault(FIXTURE_DATA(edu) *self, bool to_ram, uint32_t off,
		     uint64_t iova, uint32_t len, char *line, size_t line_len)
{
	return edu_dma_fault(self->dev.bar0, self->kmsg, self->rid, to_ram,
			     off, iova, len, line, line_len);
}

/* Fill the edu buffer [0, len) with a pattern through a DMA from RAM */
static int load_edu(FIXTURE_DATA(edu) *self, uint32_t len, unsigned int seed)
{
	pattern(self->ram, len, seed);
	return edu_dma_from_ram(self->dev.bar0, IOVA_RAM, 0, len);
}

/* The BAR works and the device is an edu behind an IOMMU iommufd knows */
TEST_F(edu, bar_and_hw_info)
{
	uint32_t id, type = ~0U;
	uint64_t caps = 0;

	ASSERT_EQ(0, edu_check(self->dev.bar0, &id));
	EXPECT_EQ(0xed, id & 0xff);
	EXPECT_EQ(1, id >> 24);			/* version 1.0 */
	ASSERT_EQ(0, iommufd_get_hw_info(self->iommufd, self->dev.dev_id,
					 NULL, 0, &type, &caps));
	EXPECT_EQ(IOMMU_HW_INFO_TYPE_INTEL_VTD, type);
	TH_LOG("edu id 0x%08x, hw info type %u, capabilities 0x%llx", id,
	       type, (unsigned long long)caps);
}

/* RAM -> edu -> RAM lands exactly, nothing around it changes */
TEST_F(edu, dma_round_trip)
{
	uint8_t *ram = self->ram, *src = ram, *dst = ram + 2 * PAGE;
	uint8_t expect[RAM_PAGES * PAGE];

	/* 1000 bytes inside a page, through edu offset 8 */
	pattern(src, PAGE, 1);
	ASSERT_EQ(0, edu_dma_from_ram(self->dev.bar0, IOVA_RAM + 100, 8,
				      1000));
	ASSERT_EQ(0, edu_dma_to_ram(self->dev.bar0, 8,
				    IOVA_RAM + 2 * PAGE + 300, 1000));
	memcpy(expect, ram, sizeof(expect));
	memcpy(expect + 2 * PAGE + 300, src + 100, 1000);
	EXPECT_EQ(0, memcmp(dst + 300, src + 100, 1000));
	EXPECT_EQ(0, memcmp(expect, ram, sizeof(expect)));
	EXPECT_EQ(300, first_not(dst, PAGE, FILL));
	EXPECT_EQ(PAGE - 1300, first_not(dst + 1300, PAGE - 1300, FILL));

	/* 3000 bytes crossing a page boundary on both sides */
	memset(dst, FILL, 2 * PAGE);
	pattern(src, 2 * PAGE, 2);
	ASSERT_EQ(0, edu_dma_from_ram(self->dev.bar0, IOVA_RAM + 0x800, 0,
				      3000));
	ASSERT_EQ(0, edu_dma_to_ram(self->dev.bar0, 0,
				    IOVA_RAM + 2 * PAGE + 0xc00, 3000));
	memcpy(expect, ram, sizeof(expect));
	memset(expect + 2 * PAGE, FILL, 2 * PAGE);
	memcpy(expect + 2 * PAGE + 0xc00, src + 0x800, 3000);
	EXPECT_EQ(0, memcmp(expect, ram, sizeof(expect)));

	/* The largest transfer QEMU's edu allows: 4095 bytes from offset 0 */
	pattern(src, PAGE, 3);
	ASSERT_EQ(0, edu_dma_from_ram(self->dev.bar0, IOVA_RAM, 0, PAGE - 1));
	ASSERT_EQ(0, edu_dma_to_ram(self->dev.bar0, 0, IOVA_RAM + 3 * PAGE,
				    PAGE - 1));
	EXPECT_EQ(0, memcmp(ram + 3 * PAGE, src, PAGE - 1));
	EXPECT_EQ(FILL, ram[4 * PAGE - 1]);
}

/* The library refuses what would abort QEMU, before touching the device */
TEST_F(edu, dma_args_refused)
{
	volatile void *bar0 = self->dev.bar0;
	uint8_t *ram = self->ram;

	EXPECT_EQ(-EINVAL, edu_dma_to_ram(bar0, 0, IOVA_RAM, PAGE));
	EXPECT_EQ(-EINVAL, edu_dma_from_ram(bar0, IOVA_RAM, 0, PAGE));
	EXPECT_EQ(-EINVAL, edu_dma_to_ram(bar0, 0, IOVA_RAM, 0));
	EXPECT_EQ(-EINVAL, edu_dma_to_ram(bar0, PAGE - 1, IOVA_RAM, 1));
	EXPECT_EQ(-EINVAL, edu_dma_to_ram(bar0, PAGE, IOVA_RAM, 1));
	EXPECT_EQ(-EINVAL, edu_dma_to_ram(bar0, 0x800, IOVA_RAM, 0x800));
	EXPECT_EQ(-EINVAL, edu_dma_to_ram(bar0, ~0U, IOVA_RAM, 2));
	EXPECT_EQ(-EINVAL, edu_dma_to_ram(bar0, 0, 1ULL << 28, 1));
	EXPECT_EQ(-EINVAL, edu_dma_to_ram(bar0, 0, (1ULL << 28) - 10, 11));
	EXPECT_EQ(-EINVAL, edu_dma_from_ram(bar0, ~0ULL, 0, 16));

	/* The edges that are allowed really work */
	ram[PAGE - 2] = 0xa5;
	ASSERT_EQ(0, edu_dma_from_ram(bar0, IOVA_RAM + PAGE - 2, PAGE - 2, 1));
	ASSERT_EQ(0, edu_dma_to_ram(bar0, PAGE - 2, IOVA_RAM + PAGE, 1));
	EXPECT_EQ(0xa5, ram[PAGE]);
	EXPECT_EQ(PAGE - 1, first_not(ram + PAGE + 1, PAGE - 1, FILL));
	ASSERT_EQ(0, edu_check(bar0, NULL));
}

/* A DMA to an IOVA that is not mapped faults and writes nothing */
TEST_F(edu, dma_unmapped_iova_faults)
{
	uint8_t *guard = alloc_pages(2);
	char line[256];

	ASSERT_NE(NULL, guard);
	ASSERT_EQ(0, iommufd_ioas_map_fixed(self->iommufd, self->ioas_id,
					    guard, PAGE, IOVA_HOLE - PAGE,
					    false));
	ASSERT_EQ(0, iommufd_ioas_map_fixed(self->iommufd, self->ioas_id,
					    guard + PAGE, PAGE,
					    IOVA_HOLE + PAGE, false));
	ASSERT_EQ(0, load_edu(self, 512, 4));
	memset(self->ram, FILL, PAGE);

	/* The device completes; the IOMMU drops the write */
	ASSERT_EQ(0, dma_fault(self, true, 0, IOVA_HOLE, 512, line,
			       sizeof(line)));
	TH_LOG("%s", line);
	EXPECT_EQ(2 * PAGE, first_not(guard, 2 * PAGE, FILL));
	EXPECT_EQ(RAM_PAGES * PAGE,
		  first_not(self->ram, RAM_PAGES * PAGE, FILL));

	/* Reading it faults too */
	ASSERT_EQ(0, dma_fault(self, false, 0, IOVA_HOLE + 0x100, 64, line,
			       sizeof(line)));
	TH_LOG("%s", line);

	/* Still alive: a DMA to a mapped IOVA works afterwards */
	ASSERT_EQ(0, load_edu(self, 512, 4));
	ASSERT_EQ(0, edu_dma_to_ram(self->dev.bar0, 0, IOVA_HOLE - PAGE, 16));
	pattern(self->ram, 16, 4);
	EXPECT_EQ(0, memcmp(guard, self->ram, 16));
}

/*
 * A read-only IOAS area: a DMA write faults and leaves it untouched, a DMA
 * read works. The write comes first on purpose: once QEMU's VT-d has cached
 * the read-only translation in its IOTLB, a later write is still dropped
 * but no DMAR fault is recorded (the permission check then happens in
 * QEMU's memory core, not in the VT-d page walk that reports faults).
 */
TEST_F(edu, dma_readonly_faults)
{
	uint8_t *ro = alloc_pages(1), copy[PAGE];
	char line[256];

	ASSERT_NE(NULL, ro);
	pattern(ro, PAGE, 5);
	memcpy(copy, ro, PAGE);
	ASSERT_EQ(0, iommufd_ioas_map_fixed(self->iommufd, self->ioas_id, ro,
					    PAGE, IOVA_RO, true));

	/* Writing it faults and leaves it as it was */
	ASSERT_EQ(0, load_edu(self, 1024, 6));
	ASSERT_EQ(0, dma_fault(self, true, 0, IOVA_RO, 1024, line,
			       sizeof(line)));
	TH_LOG("%s", line);
	EXPECT_EQ(0, memcmp(ro, copy, PAGE));

	/* Reading it works */
	memset(self->ram, FILL, PAGE);
	ASSERT_EQ(0, edu_dma_from_ram(self->dev.bar0, IOVA_RO + 16, 0, 256));
	ASSERT_EQ(0, edu_dma_to_ram(self->dev.bar0, 0, IOVA_RAM, 256));
	EXPECT_EQ(0, memcmp(self->ram, ro + 16, 256));

	/* Writing it again, with the translation cached, still changes nothing */
	ASSERT_EQ(0, load_edu(self, 1024, 7));
	ASSERT_EQ(0, edu_dma_to_ram(self->dev.bar0, 0, IOVA_RO, 1024));
	EXPECT_EQ(0, memcmp(ro, copy, PAGE));
}

/* After IOMMU_IOAS_UNMAP the device can no longer reach the memory */
TEST_F(edu, dma_after_unmap_faults)
{
	uint8_t *buf = alloc_pages(1);
	uint64_t unmapped = 0;
	char line[256];

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, iommufd_ioas_map_fixed(self->iommufd, self->ioas_id, buf,
					    PAGE, IOVA_UNMAP, false));
	ASSERT_EQ(0, load_edu(self, 600, 7));
	ASSERT_EQ(0, edu_dma_to_ram(self->dev.bar0, 0, IOVA_UNMAP, 600));
	EXPECT_EQ(0, memcmp(buf, self->ram, 600));

	memset(buf, FILL, PAGE);
	ASSERT_EQ(0, iommufd_ioas_unmap(self->iommufd, self->ioas_id,
					IOVA_UNMAP, PAGE, &unmapped));
	EXPECT_EQ(PAGE, unmapped);
	ASSERT_EQ(0, dma_fault(self, true, 0, IOVA_UNMAP, 600, line,
			       sizeof(line)));
	TH_LOG("%s", line);
	EXPECT_EQ(PAGE, first_not(buf, PAGE, FILL));
}

/* A detached device's DMA is blocked; attaching again restores it */
TEST_F(edu, dma_detached_blocked)
{
	uint32_t pt_id = self->ioas_id;
	uint8_t *dst = (uint8_t *)self->ram + PAGE;
	char line[256];

	ASSERT_EQ(0, load_edu(self, 100, 8));
	ASSERT_EQ(0, vfio_detach_pt(&self->dev));
	/* VT-d reports "Present bit in context entry is clear" here */
	ASSERT_EQ(0, dma_fault(self, true, 0, IOVA_RAM + PAGE, 100, line,
			       sizeof(line)));
	TH_LOG("%s", line);
	EXPECT_EQ(PAGE, first_not(dst, PAGE, FILL));

	ASSERT_EQ(0, vfio_attach_pt(&self->dev, &pt_id));
	EXPECT_EQ(self->hwpt_id, pt_id);
	ASSERT_EQ(0, edu_dma_to_ram(self->dev.bar0, 0, IOVA_RAM + PAGE, 100));
	EXPECT_EQ(0, memcmp(dst, self->ram, 100));
}

/* A HWPT allocated on the IOAS works like the IOAS, and replaces it */
TEST_F(edu, hwpt_paging_replace)
{
	uint32_t hwpt_id, pt_id, num = 1;
	uint8_t *dst = (uint8_t *)self->ram + PAGE;
	uint64_t req[4] = {};

	ASSERT_EQ(0, iommufd_hwpt_alloc(self->iommufd, self->dev.dev_id,
					self->ioas_id, 0, IOMMU_HWPT_DATA_NONE,
					NULL, 0, &hwpt_id));
	pt_id = hwpt_id;
	ASSERT_EQ(0, vfio_attach_pt(&self->dev, &pt_id));
	EXPECT_EQ(hwpt_id, pt_id);
	EXPECT_EQ(-EBUSY, iommufd_destroy(self->iommufd, hwpt_id));

	ASSERT_EQ(0, load_edu(self, 333, 9));
	ASSERT_EQ(0, edu_dma_to_ram(self->dev.bar0, 0, IOVA_RAM + PAGE, 333));
	EXPECT_EQ(0, memcmp(dst, self->ram, 333));

	/* A paging HWPT has nothing to invalidate: an error, nothing done */
	EXPECT_NE(0, iommufd_hwpt_invalidate(self->iommufd, hwpt_id,
					     IOMMU_HWPT_INVALIDATE_DATA_VTD_S1,
					     req, sizeof(req), &num));
	EXPECT_EQ(0, num);

	pt_id = self->ioas_id;
	ASSERT_EQ(0, vfio_attach_pt(&self->dev, &pt_id));
	EXPECT_EQ(0, iommufd_destroy(self->iommufd, hwpt_id));
}

/* The IOAS reports the IOVAs it can map; all the tests' IOVAs are in it */
TEST_F(edu, iova_ranges)
{
	struct iommu_iova_range ranges[16];
	uint64_t align = 0, iova;
	uint32_t num = 0, i;

	EXPECT_EQ(-EMSGSIZE, iommufd_ioas_iova_ranges(self->iommufd,
						      self->ioas_id, ranges,
						      &num, &align));
	ASSERT_LT(0, num);
	ASSERT_GE(16, num);
	ASSERT_EQ(0, iommufd_ioas_iova_ranges(self->iommufd, self->ioas_id,
					      ranges, &num, &align));
	EXPECT_EQ(PAGE, align);
	for (i = 0; i < num; i++)
		TH_LOG("allowed IOVA 0x%llx-0x%llx",
		       (unsigned long long)ranges[i].start,
		       (unsigned long long)ranges[i].last);
	for (iova = 0x100000; iova <= EDU_DMA_MASK; iova += 0x100000) {
		for (i = 0; i < num; i++)
			if (ranges[i].start <= iova && iova <= ranges[i].last)
				break;
		EXPECT_GT(num, i);
	}
}

/* ------------------------------------------------------------------------ */
/* Shadow nesting on the real driver                                        */
/* ------------------------------------------------------------------------ */

/*
 * Guest RAM: G_PAGES pages of a memfd at guest physical GPA_BASE, mapped
 * into the IOAS as three areas so that tests can make one page read-only
 * and unmap another:
 *
 *   pages  0..31  data pages (FILL)              read-write area
 *   pages 32..61  the guest's s390 tables         (same area)
 *   page  62      data, read-only in the IOAS     its own area
 *   page  63      data, unmapped by a test        its own area
 *
 * The stage-1 (built by FIXTURE_SETUP before the shadow is allocated)
 * maps stage-1 IOVAs to pages that are never the identity, all below the
 * edu's 28-bit DMA mask and inside the aperture [AP_START, AP_LAST]:
 *
 *   S1_IN        0x600000  -> page 1   the edu loads its input from here
 *   S1_A         0x800000  -> page 5
 *   S1_A + PAGE  0x801000  -> page 3   (a DMA across S1_A's end splits)
 *   S1_ID        GPA(9)    -> page 12  (identity would hit page 9)
 *   S1_RO_PTE    0x900000  -> page 7   PTE protection bit
 *   S1_RO_STE    0xa00000  -> page 8   segment-table entry protection bit
 *   S1_RO_IOAS   0xb00000  -> page 62  read-write PTE, read-only IOAS area
 *   S1_VICTIM    0xc00000  -> page 63
 *   S1_OUTSIDE   0x200000  -> page 10  valid entry, outside the aperture
 *   S1_HOLE_PTE  0x802000              invalid PTE
 *   S1_HOLE_STE  0xd00000              invalid segment-table entry
 */
#define GPA_BASE	0x1000000ULL	/* 16 MiB */
#define G_PAGES		64
#define G_SIZE		(G_PAGES * PAGE)
#define TBL_PAGE	32
#define TBL_PAGES	30
#define PG_RO		62
#define PG_VICTIM	63
#define GPA(pg)		(GPA_BASE + (uint64_t)(pg) * PAGE)
#define AP_START	0x400000ULL
#define AP_LAST		EDU_DMA_MASK
#define S1_IN		0x600000ULL
#define S1_A		0x800000ULL
#define S1_ID		GPA(9)
#define S1_RO_PTE	0x900000ULL
#define S1_RO_STE	0xa00000ULL
#define S1_RO_IOAS	0xb00000ULL
#define S1_VICTIM	0xc00000ULL
#define S1_OUTSIDE	0x200000ULL
#define S1_HOLE_PTE	(S1_A + 2 * PAGE)
#define S1_HOLE_STE	0xd00000ULL
#define S1_NEW		0xe00000ULL	/* mapped by tests */

FIXTURE(edu_shadow)
{
	int iommufd;
	uint32_t ioas_id;
	uint32_t parent_id;	/* NEST_PARENT HWPT, or 0 (auto parent) */
	uint32_t shadow_id;
	struct vfio_pci_dev dev;
	char rid[16];
	int kmsg;
	uint8_t *ram;		/* guest RAM, host view */
	uint8_t *expect;	/* what guest RAM must hold */
	struct s390_tables t;
	uint64_t iota;
	unsigned int mgaw;	/* VT-d address width (cap MGAW + 1) */
};

FIXTURE_VARIANT(edu_shadow)
{
	bool nest_parent;	/* pt_id: a NEST_PARENT HWPT, else the IOAS */
};

FIXTURE_VARIANT_ADD(edu_shadow, auto_parent)
{
	.nest_parent = false,
};

FIXTURE_VARIANT_ADD(edu_shadow, nest_parent)
{
	.nest_parent = true,
};

static uint8_t *gpage(FIXTURE_DATA(edu_shadow) *self, unsigned int pg)
{
	return self->ram + pg * PAGE;
}

FIXTURE_SETUP(edu_shadow)
{
	struct iommu_hw_info_vtd vtd = {};
	uint64_t caps = 0;
	uint32_t type, pt_id;
	char bdf[32];
	int ret;

	self->iommufd = -1;
	self->kmsg = -1;
	self->dev.fd = -1;
	self->ram = NULL;
	self->expect = NULL;
	ret = pci_find_device(EDU_VENDOR, EDU_DEVICE, bdf, sizeof(bdf));
	if (ret)
		SKIP(return, "no edu device (run in the vtd VM profile)");
	dmar_rid(bdf, self->rid, sizeof(self->rid));

	ASSERT_EQ(0, pci_bind_vfio(bdf));
	self->iommufd = iommufd_open();
	ASSERT_LE(0, self->iommufd);
	ASSERT_EQ(0, iommufd_ioas_alloc(self->iommufd, &self->ioas_id));

	/* Guest RAM into the IOAS at GPA_BASE, as three areas */
	self->ram = guest_ram_alloc(G_SIZE);
	ASSERT_NE(NULL, self->ram);
	self->expect = malloc(G_SIZE);
	ASSERT_NE(NULL, self->expect);
	memset(self->ram, FILL, G_SIZE);
	ASSERT_EQ(0, iommufd_ioas_map_fixed(self->iommufd, self->ioas_id,
					    self->ram, PG_RO * PAGE, GPA_BASE,
					    false));
	ASSERT_EQ(0, iommufd_ioas_map_fixed(self->iommufd, self->ioas_id,
					    gpage(self, PG_RO), PAGE,
					    GPA(PG_RO), true));
	ASSERT_EQ(0, iommufd_ioas_map_fixed(self->iommufd, self->ioas_id,
					    gpage(self, PG_VICTIM), PAGE,
					    GPA(PG_VICTIM), false));

	ASSERT_EQ(0, vfio_pci_open(&self->dev, bdf));
	ASSERT_EQ(0, vfio_bind_iommufd(&self->dev, self->iommufd));
	ASSERT_EQ(0, iommufd_get_hw_info(self->iommufd, self->dev.dev_id,
					 &vtd, sizeof(vtd), &type, &caps));
	ASSERT_EQ(IOMMU_HW_INFO_TYPE_INTEL_VTD, type);
	ASSERT_TRUE(caps & IOMMU_HW_CAP_SHADOW_NESTING);
	self->mgaw = ((vtd.cap_reg >> 16) & 0x3f) + 1;

	/* The guest's stage-1 */
	s390_tbl_init(&self->t, gpage(self, TBL_PAGE), GPA(TBL_PAGE),
		      TBL_PAGES * PAGE);
	ASSERT_EQ(0, s390_tbl_new_root(&self->t, &self->iota));
	ASSERT_EQ(0, s390_tbl_map(&self->t, S1_IN, GPA(1), false));
	ASSERT_EQ(0, s390_tbl_map(&self->t, S1_A, GPA(5), false));
	ASSERT_EQ(0, s390_tbl_map(&self->t, S1_A + PAGE, GPA(3), false));
	ASSERT_EQ(0, s390_tbl_map(&self->t, S1_ID, GPA(12), false));
	ASSERT_EQ(0, s390_tbl_map(&self->t, S1_RO_PTE, GPA(7), true));
	ASSERT_EQ(0, s390_tbl_map(&self->t, S1_RO_STE, GPA(8), false));
	*s390_tbl_entry(&self->t, S1_RO_STE, 1) |= htobe64(S390_TE_PROTECTED);
	ASSERT_EQ(0, s390_tbl_map(&self->t, S1_RO_IOAS, GPA(PG_RO), false));
	ASSERT_EQ(0, s390_tbl_map(&self->t, S1_VICTIM, GPA(PG_VICTIM), false));
	ASSERT_EQ(0, s390_tbl_map(&self->t, S1_OUTSIDE, GPA(10), false));

	/* Stage-2 parent, shadow, attach */
	pt_id = self->ioas_id;
	self->parent_id = 0;
	if (variant->nest_parent) {
		ASSERT_EQ(0, iommufd_nest_parent_alloc(self->iommufd,
						       self->dev.dev_id,
						       self->ioas_id,
						       &self->parent_id));
		pt_id = self->parent_id;
	}
	ASSERT_EQ(0, iommufd_shadow_alloc(self->iommufd, self->dev.dev_id,
					  pt_id, IOMMU_SHADOW_FORMAT_S390,
					  self->iota, AP_START, AP_LAST,
					  &self->shadow_id));
	pt_id = self->shadow_id;
	ASSERT_EQ(0, vfio_attach_pt(&self->dev, &pt_id));
	ASSERT_EQ(self->shadow_id, pt_id);
	ASSERT_EQ(0, vfio_enable_bus_master(&self->dev));
	ASSERT_EQ(0, vfio_mmap_bar0(&self->dev));
	ASSERT_EQ(0, edu_check(self->dev.bar0, NULL));

	self->kmsg = kmsg_open();
	ASSERT_LE(0, self->kmsg);
	memcpy(self->expect, self->ram, G_SIZE);
}

FIXTURE_TEARDOWN(edu_shadow)
{
	vfio_pci_close(&self->dev);
	if (self->kmsg >= 0)
		close(self->kmsg);
	if (self->iommufd >= 0)
		close(self->iommufd);
	if (self->ram)
		munmap(self->ram, G_SIZE);
	free(self->expect);
}

/*
 * Guest RAM must equal self->expect; on a difference log where it is.
 * Returns the offset of the first different byte, G_SIZE when equal.
 */
static size_t ram_diff(struct __test_metadata *_metadata,
		       FIXTURE_DATA(edu_shadow) *self)
{
	size_t i;

	for (i = 0; i < G_SIZE; i++)
		if (self->ram[i] != self->expect[i])
			break;
	if (i < G_SIZE)
		TH_LOG("guest RAM differs at page %zu + 0x%zx: 0x%02x, expected 0x%02x",
		       i / PAGE, i % PAGE, self->ram[i], self->expect[i]);
	return i;
}

#define CHECK_RAM() EXPECT_EQ(G_SIZE, ram_diff(_metadata, self))

/* Put a pattern in page 1 and DMA it into the edu buffer [0, len) via S1_IN */
static int shadow_load(FIXTURE_DATA(edu_shadow) *self, uint32_t len,
		       unsigned int seed)
{
	pattern(gpage(self, 1), len, seed);
	pattern(self->expect + PAGE, len, seed);
	return edu_dma_from_ram(self->dev.bar0, S1_IN, 0, len);
}

static int shadow_fault(FIXTURE_DATA(edu_shadow) *self, bool to_ram,
			uint32_t off, uint64_t iova, uint32_t len, char *line,
			size_t line_len)
{
	return edu_dma_fault(self->dev.bar0, self->kmsg, self->rid, to_ram,
			     off, iova, len, line, line_len);
}

/*
 * A DMA wrote @len bytes of the edu buffer from @edu_off (the buffer holds
 * page 1 since shadow_load()) to guest page @pg + @pg_off: expect them there
 */
static void expect_put(FIXTURE_DATA(edu_shadow) *self, unsigned int pg,
		       size_t pg_off, size_t edu_off, size_t len)
{
	memcpy(self->expect + pg * PAGE + pg_off,
	       gpage(self, 1) + edu_off, len);
}

/*
 * Allocation on VT-d: capability, the attach took the shadow, the objects
 * it depends on are busy, and the aperture must fit the domain geometry
 * (2^MGAW IOVAs on VT-d).
 */
TEST_F(edu_shadow, alloc_attach_geometry)
{
	struct iommu_iova_range ranges[16];
	uint32_t num = 16, id, pt_id, i;
	uint64_t top = (1ULL << self->mgaw) - 1;

	TH_LOG("VT-d MGAW %u bits; shadow %u on %s %u", self->mgaw,
	       self->shadow_id, variant->nest_parent ? "parent" : "IOAS",
	       variant->nest_parent ? self->parent_id : self->ioas_id);
	EXPECT_EQ(-EBUSY, iommufd_destroy(self->iommufd, self->shadow_id));
	if (variant->nest_parent)
		EXPECT_EQ(-EBUSY,
			  iommufd_destroy(self->iommufd, self->parent_id));

	/* The guest RAM's GPAs are IOVAs the IOAS allows */
	ASSERT_EQ(0, iommufd_ioas_iova_ranges(self->iommufd, self->ioas_id,
					      ranges, &num, NULL));
	for (i = 0; i < num; i++)
		if (ranges[i].start <= GPA_BASE &&
		    GPA_BASE + G_SIZE - 1 <= ranges[i].last)
			break;
	EXPECT_GT(num, i);

	pt_id = variant->nest_parent ? self->parent_id : self->ioas_id;
	/* The whole VT-d IOVA space is a valid aperture, one page more not */
	ASSERT_EQ(0, iommufd_shadow_alloc(self->iommufd, self->dev.dev_id,
					  pt_id, IOMMU_SHADOW_FORMAT_S390,
					  self->iota, 0, top, &id));
	EXPECT_EQ(0, iommufd_destroy(self->iommufd, id));
	EXPECT_EQ(-EINVAL, iommufd_shadow_alloc(self->iommufd,
						self->dev.dev_id, pt_id,
						IOMMU_SHADOW_FORMAT_S390,
						self->iota, 0, top + PAGE,
						&id));
	EXPECT_EQ(-EINVAL, iommufd_shadow_alloc(self->iommufd,
						self->dev.dev_id, pt_id,
						IOMMU_SHADOW_FORMAT_S390,
						self->iota, AP_LAST + 1,
						AP_LAST, &id));
	/* A paging HWPT that is not a NEST_PARENT is no parent */
	ASSERT_EQ(0, iommufd_hwpt_alloc(self->iommufd, self->dev.dev_id,
					self->ioas_id, 0, IOMMU_HWPT_DATA_NONE,
					NULL, 0, &pt_id));
	EXPECT_EQ(-EINVAL, iommufd_shadow_alloc(self->iommufd,
						self->dev.dev_id, pt_id,
						IOMMU_SHADOW_FORMAT_S390,
						self->iota, AP_START, AP_LAST,
						&id));
	EXPECT_EQ(0, iommufd_destroy(self->iommufd, pt_id));

	/* Still attached and working */
	ASSERT_EQ(0, shadow_load(self, 64, 1));
	ASSERT_EQ(0, edu_dma_to_ram(self->dev.bar0, 0, S1_A, 64));
	expect_put(self, 5, 0, 0, 64);
	CHECK_RAM();
}

/* A DMA at a stage-1 IOVA reads/writes exactly the page the tables name */
TEST_F(edu_shadow, dma_lands_in_stage1_page)
{
	/* Write 1000 bytes at S1_A + 100: page 5 + 100, nothing else */
	ASSERT_EQ(0, shadow_load(self, 1000, 2));
	ASSERT_EQ(0, edu_dma_to_ram(self->dev.bar0, 0, S1_A + 100, 1000));
	expect_put(self, 5, 100, 0, 1000);
	CHECK_RAM();

	/* Across the end of S1_A's page: pages 5 and 3, not 5 and 6 */
	ASSERT_EQ(0, shadow_load(self, 3000, 3));
	ASSERT_EQ(0, edu_dma_to_ram(self->dev.bar0, 0, S1_A + 0x800, 3000));
	expect_put(self, 5, 0x800, 0, 0x800);
	expect_put(self, 3, 0, 0x800, 3000 - 0x800);
	CHECK_RAM();

	/* An IOVA equal to a GPA of guest RAM: page 12, not page 9 */
	ASSERT_EQ(0, shadow_load(self, 4095, 4));
	ASSERT_EQ(0, edu_dma_to_ram(self->dev.bar0, 0, S1_ID, 4095));
	expect_put(self, 12, 0, 0, 4095);
	CHECK_RAM();

	/* Reads come from the right page too: page 3 -> edu -> page 12 */
	pattern(gpage(self, 3), PAGE, 5);
	pattern(self->expect + 3 * PAGE, PAGE, 5);
	ASSERT_EQ(0, edu_dma_from_ram(self->dev.bar0, S1_A + PAGE + 16, 0x10,
				      256));
	ASSERT_EQ(0, edu_dma_to_ram(self->dev.bar0, 0x10, S1_ID + 0x200, 256));
	memcpy(self->expect + 12 * PAGE + 0x200, gpage(self, 3) + 16, 256);
	CHECK_RAM();
}

/* The guest edits its tables; after the invalidation the DMA follows */
TEST_F(edu_shadow, dma_follows_table_edit)
{
	ASSERT_EQ(0, shadow_load(self, 512, 6));
	ASSERT_EQ(0, edu_dma_to_ram(self->dev.bar0, 0, S1_A, 512));
	expect_put(self, 5, 0, 0, 512);
	CHECK_RAM();

	/*
	 * Repoint S1_A to page 6. Until the guest refreshes, the device
	 * still uses the old translation, as on s390 hardware.
	 */
	ASSERT_EQ(0, s390_tbl_map(&self->t, S1_A, GPA(6), false));
	memcpy(self->expect, self->ram, G_SIZE);	/* the table page */
	ASSERT_EQ(0, shadow_load(self, 512, 7));
	ASSERT_EQ(0, edu_dma_to_ram(self->dev.bar0, 0, S1_A, 512));
	expect_put(self, 5, 0, 0, 512);
	CHECK_RAM();
	ASSERT_EQ(0, iommufd_shadow_invalidate(self->iommufd, self->shadow_id,
					       S1_A, PAGE));
	ASSERT_EQ(0, shadow_load(self, 512, 8));
	ASSERT_EQ(0, edu_dma_to_ram(self->dev.bar0, 0, S1_A + 8, 512));
	expect_put(self, 6, 8, 0, 512);
	CHECK_RAM();

	/* A new mapping in a new page table, one ranged refresh */
	ASSERT_EQ(0, s390_tbl_map(&self->t, S1_NEW + 5 * PAGE, GPA(14),
				  false));
	memcpy(self->expect, self->ram, G_SIZE);
	ASSERT_EQ(0, iommufd_shadow_invalidate(self->iommufd, self->shadow_id,
					       S1_NEW, 0x100000));
	ASSERT_EQ(0, edu_dma_to_ram(self->dev.bar0, 0, S1_NEW + 5 * PAGE,
				    300));
	expect_put(self, 14, 0, 0, 300);
	CHECK_RAM();

	/* And a whole-aperture refresh (IOMMU_SHADOW_INVALIDATE_ALL) */
	ASSERT_EQ(0, s390_tbl_map(&self->t, S1_A, GPA(4), false));
	memcpy(self->expect, self->ram, G_SIZE);
	ASSERT_EQ(0, iommufd_shadow_invalidate(self->iommufd, self->shadow_id,
					       0, 0));
	ASSERT_EQ(0, edu_dma_to_ram(self->dev.bar0, 0, S1_A, 200));
	expect_put(self, 4, 0, 0, 200);
	CHECK_RAM();
}

/* IOVAs the stage-1 leaves invalid, or maps outside the aperture, fault */
TEST_F(edu_shadow, dma_invalid_iova_faults)
{
	char line[256];

	ASSERT_EQ(0, shadow_load(self, 512, 9));
	/* Invalid PTE next to two valid ones */
	ASSERT_EQ(0, shadow_fault(self, true, 0, S1_HOLE_PTE + 0x40, 512,
				  line, sizeof(line)));
	TH_LOG("%s", line);
	CHECK_RAM();
	/* Invalid segment-table entry, read */
	ASSERT_EQ(0, shadow_fault(self, false, 0, S1_HOLE_STE, 64, line,
				  sizeof(line)));
	TH_LOG("%s", line);
	/* A valid entry outside the aperture translates nothing */
	ASSERT_EQ(0, shadow_load(self, 512, 10));
	ASSERT_EQ(0, shadow_fault(self, true, 0, S1_OUTSIDE, 512, line,
				  sizeof(line)));
	TH_LOG("%s", line);
	CHECK_RAM();
}

/* An IOVA dropped and invalidated faults; its neighbour still works */
TEST_F(edu_shadow, dma_dropped_iova_faults)
{
	char line[256];

	/* Used first, so QEMU's VT-d IOTLB holds the translation */
	ASSERT_EQ(0, shadow_load(self, 700, 11));
	ASSERT_EQ(0, edu_dma_to_ram(self->dev.bar0, 0, S1_A, 700));
	expect_put(self, 5, 0, 0, 700);
	CHECK_RAM();

	ASSERT_EQ(0, s390_tbl_unmap(&self->t, S1_A));
	ASSERT_EQ(0, iommufd_shadow_invalidate(self->iommufd, self->shadow_id,
					       S1_A, PAGE));
	memcpy(self->expect, self->ram, G_SIZE);
	ASSERT_EQ(0, shadow_load(self, 700, 12));
	ASSERT_EQ(0, shadow_fault(self, true, 0, S1_A, 700, line,
				  sizeof(line)));
	TH_LOG("%s", line);
	CHECK_RAM();

	ASSERT_EQ(0, edu_dma_to_ram(self->dev.bar0, 0, S1_A + PAGE, 700));
	expect_put(self, 3, 0, 0, 700);
	CHECK_RAM();
}

/*
 * Protection in the stage-1 (PTE, or a segment-table entry above it) makes
 * a device write fault; reads work. Writes first: see dma_readonly_faults.
 */
TEST_F(edu_shadow, dma_protected_faults)
{
	char line[256];

	pattern(gpage(self, 7), PAGE, 13);
	pattern(gpage(self, 8), PAGE, 14);
	memcpy(self->expect, self->ram, G_SIZE);
	ASSERT_EQ(0, shadow_load(self, 1024, 15));

	ASSERT_EQ(0, shadow_fault(self, true, 0, S1_RO_PTE, 1024, line,
				  sizeof(line)));
	TH_LOG("%s", line);
	CHECK_RAM();
	ASSERT_EQ(0, shadow_fault(self, true, 0, S1_RO_STE + 0x100, 1024, line,
				  sizeof(line)));
	TH_LOG("%s", line);
	CHECK_RAM();

	ASSERT_EQ(0, edu_dma_from_ram(self->dev.bar0, S1_RO_PTE + 8, 0, 100));
	ASSERT_EQ(0, edu_dma_from_ram(self->dev.bar0, S1_RO_STE + 8, 100,
				      100));
	ASSERT_EQ(0, edu_dma_to_ram(self->dev.bar0, 0, S1_ID, 200));
	memcpy(self->expect + 12 * PAGE, gpage(self, 7) + 8, 100);
	memcpy(self->expect + 12 * PAGE + 100, gpage(self, 8) + 8, 100);
	CHECK_RAM();
}

/* A read-write stage-1 entry over a read-only IOAS area: writes fault */
TEST_F(edu_shadow, dma_readonly_ioas_faults)
{
	char line[256];

	pattern(gpage(self, PG_RO), PAGE, 16);
	memcpy(self->expect, self->ram, G_SIZE);
	ASSERT_EQ(0, shadow_load(self, 2048, 17));
	ASSERT_EQ(0, shadow_fault(self, true, 0, S1_RO_IOAS, 2048, line,
				  sizeof(line)));
	TH_LOG("%s", line);
	CHECK_RAM();

	ASSERT_EQ(0, edu_dma_from_ram(self->dev.bar0, S1_RO_IOAS + 32, 0,
				      128));
	ASSERT_EQ(0, edu_dma_to_ram(self->dev.bar0, 0, S1_ID, 128));
	memcpy(self->expect + 12 * PAGE, gpage(self, PG_RO) + 32, 128);
	CHECK_RAM();
}

/*
 * IOMMU_IOAS_UNMAP of the guest page behind a stage-1 IOVA: the DMA faults
 * instead of reaching the old host page. Mapping guest RAM there again and
 * refreshing the stage-1 makes it work, into the new page.
 */
TEST_F(edu_shadow, dma_after_ioas_unmap_faults)
{
	uint8_t *victim = gpage(self, PG_VICTIM), *fresh;
	uint64_t unmapped = 0;
	char line[256];

	ASSERT_EQ(0, shadow_load(self, 600, 18));
	ASSERT_EQ(0, edu_dma_to_ram(self->dev.bar0, 0, S1_VICTIM, 600));
	expect_put(self, PG_VICTIM, 0, 0, 600);
	CHECK_RAM();

	ASSERT_EQ(0, iommufd_ioas_unmap(self->iommufd, self->ioas_id,
					GPA(PG_VICTIM), PAGE, &unmapped));
	EXPECT_EQ(PAGE, unmapped);
	/* The host page is still ours: a sentinel must stay */
	memset(victim, 0xc3, PAGE);
	memcpy(self->expect, self->ram, G_SIZE);
	ASSERT_EQ(0, shadow_load(self, 600, 19));
	ASSERT_EQ(0, shadow_fault(self, true, 0, S1_VICTIM, 600, line,
				  sizeof(line)));
	TH_LOG("%s", line);
	EXPECT_EQ(PAGE, first_not(victim, PAGE, 0xc3));
	CHECK_RAM();

	/* Still failing after a refresh: the GPA is not in the IOAS */
	EXPECT_EQ(-ENXIO, iommufd_shadow_invalidate(self->iommufd,
						    self->shadow_id,
						    S1_VICTIM, PAGE));

	/* New memory at that GPA, refresh: the DMA reaches the new page */
	fresh = alloc_pages(1);
	ASSERT_NE(NULL, fresh);
	ASSERT_EQ(0, iommufd_ioas_map_fixed(self->iommufd, self->ioas_id,
					    fresh, PAGE, GPA(PG_VICTIM),
					    false));
	ASSERT_EQ(0, iommufd_shadow_invalidate(self->iommufd, self->shadow_id,
					       S1_VICTIM, PAGE));
	ASSERT_EQ(0, edu_dma_to_ram(self->dev.bar0, 0, S1_VICTIM + 64, 600));
	EXPECT_EQ(0, memcmp(fresh + 64, gpage(self, 1), 600));
	EXPECT_EQ(64, first_not(fresh, PAGE, FILL));
	EXPECT_EQ(PAGE, first_not(victim, PAGE, 0xc3));
	CHECK_RAM();
	munmap(fresh, PAGE);
}

/*
 * A stage-1 entry pointing outside guest RAM is refused (ENXIO, a
 * translation error for the guest) and translates nothing.
 */
TEST_F(edu_shadow, entry_outside_ioas_faults)
{
	uint32_t num = 1;
	struct iommu_hwpt_shadow_invalidate inv = {
		.iova = AP_START - PAGE,
		.length = 2 * PAGE,
	};
	char line[256];

	ASSERT_EQ(0, s390_tbl_map(&self->t, S1_NEW, 0x8000000, false));
	memcpy(self->expect, self->ram, G_SIZE);
	EXPECT_EQ(-ENXIO, iommufd_shadow_invalidate(self->iommufd,
						    self->shadow_id, S1_NEW,
						    PAGE));
	ASSERT_EQ(0, shadow_load(self, 256, 20));
	ASSERT_EQ(0, shadow_fault(self, true, 0, S1_NEW, 256, line,
				  sizeof(line)));
	TH_LOG("%s", line);
	CHECK_RAM();

	/* A range beyond the aperture: EINVAL, nothing done */
	EXPECT_EQ(-EINVAL, iommufd_hwpt_invalidate(self->iommufd,
						   self->shadow_id,
						   IOMMU_HWPT_INVALIDATE_DATA_SHADOW,
						   &inv, sizeof(inv), &num));
	EXPECT_EQ(0, num);
	/* The rest of the shadow is intact */
	ASSERT_EQ(0, edu_dma_to_ram(self->dev.bar0, 0, S1_A, 256));
	expect_put(self, 5, 0, 0, 256);
	CHECK_RAM();
}

/* Replace: shadow -> plain IOAS (GPA = IOVA) -> shadow again */
TEST_F(edu_shadow, replace_with_ioas_and_back)
{
	uint32_t pt_id = self->ioas_id;

	ASSERT_EQ(0, shadow_load(self, 400, 21));
	ASSERT_EQ(0, vfio_attach_pt(&self->dev, &pt_id));
	EXPECT_NE(self->shadow_id, pt_id);
	/* Now the device uses guest physical addresses directly */
	ASSERT_EQ(0, edu_dma_to_ram(self->dev.bar0, 0, GPA(2) + 4, 400));
	expect_put(self, 2, 4, 0, 400);
	CHECK_RAM();

	pt_id = self->shadow_id;
	ASSERT_EQ(0, vfio_attach_pt(&self->dev, &pt_id));
	EXPECT_EQ(self->shadow_id, pt_id);
	ASSERT_EQ(0, edu_dma_to_ram(self->dev.bar0, 0, S1_A + 4, 400));
	expect_put(self, 5, 4, 0, 400);
	CHECK_RAM();
}

/*
 * The s390 table builder (no device needed): the exact entries the
 * kernel's s390 walker will read, in big-endian.
 */
TEST(s390_tables)
{
	const uint64_t base = 0x10000000;	/* guest physical address */
	size_t size = 16 * PAGE;
	struct s390_tables t;
	uint64_t iota, e, sto, pto, *p;
	void *mem;
	int i;

	mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	/* Start off 16 KiB alignment to exercise the allocator */
	s390_tbl_init(&t, (char *)mem + PAGE, base + PAGE, size - PAGE);
	EXPECT_EQ(-EINVAL, s390_tbl_map(&t, 0, base, false));
	ASSERT_EQ(0, s390_tbl_new_root(&t, &iota));
	EXPECT_EQ(base + 0x4000 + 0x4, iota);
	p = s390_tbl_ptr(&t, t.rto);
	for (i = 0; i < S390_CRST_ENTRIES; i++)
		ASSERT_EQ(0x24, be64toh(p[i]));

	/* IOVA 0x80101000: region-third 1, segment 1, page 1 */
	ASSERT_EQ(0, s390_tbl_map(&t, 0x80101000, base + 0x3000, false));
	e = be64toh(*s390_tbl_entry(&t, 0x80101000, 2));
	sto = e & S390_RTE_ADDR_MASK;
	EXPECT_EQ(sto | 0x4 | 0x3, e);
	EXPECT_EQ(base + 0x8000, sto);
	EXPECT_EQ(0x24, be64toh(p[0]));
	EXPECT_EQ(0x24, be64toh(p[2]));
	e = be64toh(*s390_tbl_entry(&t, 0x80101000, 1));
	pto = e & S390_STE_ADDR_MASK;
	EXPECT_EQ(pto, e);			/* TT 0, valid */
	EXPECT_EQ(base + 0xc000, pto);
	p = s390_tbl_ptr(&t, sto);
	EXPECT_EQ(0x20, be64toh(p[0]));
	EXPECT_EQ(0x20, be64toh(p[2047]));
	p = s390_tbl_ptr(&t, pto);
	EXPECT_EQ(0x400, be64toh(p[0]));
	EXPECT_EQ(base + 0x3000, be64toh(p[1]));
	EXPECT_EQ(0x400, be64toh(p[255]));

	/* Same page table, read-only; then a second page table (2 KiB) */
	ASSERT_EQ(0, s390_tbl_map(&t, 0x80102000, base + 0x5000, true));
	EXPECT_EQ(base + 0x5000 + 0x200, be64toh(p[2]));
	ASSERT_EQ(0, s390_tbl_map(&t, 0x80200000, base + 0x6000, false));
	e = be64toh(*s390_tbl_entry(&t, 0x80200000, 1));
	EXPECT_EQ(base + 0xc800, e);
	EXPECT_EQ(base + 0x6000,
		  be64toh(*s390_tbl_entry(&t, 0x80200000, 0)));

	/* Raw bytes are big-endian whatever the host */
	EXPECT_EQ(0x30, ((uint8_t *)&p[1])[6]);
	EXPECT_EQ(0x10, ((uint8_t *)&p[1])[4]);

	ASSERT_EQ(0, s390_tbl_unmap(&t, 0x80101000));
	EXPECT_EQ(0x400, be64toh(p[1]));
	EXPECT_EQ(-ENOENT, s390_tbl_unmap(&t, 0x1000));
	EXPECT_EQ(-EINVAL, s390_tbl_map(&t, 1ULL << 42, base, false));
	EXPECT_EQ(-EINVAL, s390_tbl_map(&t, 0x800, base, false));
	/* The buffer runs out: 16 KiB segment tables do not fit any more */
	EXPECT_EQ(-ENOSPC, s390_tbl_map(&t, 0x100000000ULL, base, false));
	munmap(mem, size);
}

/*
 * I5: the device's reserved IOVA (VT-d's MSI window 0xfee00000-0xfeefffff)
 * is never mapped through the shadow while the device is attached, even
 * when the guest's stage-1 maps it; it comes back after the device leaves.
 */
TEST_F(edu_shadow, reserved_msi_window_not_mapped)
{
	const uint64_t msi = 0xfee00000ULL, below = 0xfed00000ULL;
	uint32_t shadow2, pt_id;

	ASSERT_EQ(0, s390_tbl_map(&self->t, msi, GPA(2), false));
	ASSERT_EQ(0, s390_tbl_map(&self->t, msi + 0xff000, GPA(2), false));
	ASSERT_EQ(0, s390_tbl_map(&self->t, below, GPA(2), false));
	ASSERT_EQ(0, iommufd_shadow_alloc(self->iommufd, self->dev.dev_id,
					  self->ioas_id,
					  IOMMU_SHADOW_FORMAT_S390, self->iota,
					  AP_START, 0xffffffffULL, &shadow2));
	/* No device attached yet: the stage-1 says it, the shadow maps it */
	ASSERT_EQ(0, _test_cmd_shadow_check(self->iommufd, shadow2, msi, PAGE,
					    gpage(self, 2), 0));

	pt_id = shadow2;
	ASSERT_EQ(0, vfio_attach_pt(&self->dev, &pt_id));
	ASSERT_EQ(0, _test_cmd_shadow_check(self->iommufd, shadow2, msi, PAGE,
					    NULL, 0));
	ASSERT_EQ(0, _test_cmd_shadow_check(self->iommufd, shadow2,
					    msi + 0xff000, PAGE, NULL, 0));
	ASSERT_EQ(0, _test_cmd_shadow_check(self->iommufd, shadow2, below, PAGE,
					    gpage(self, 2), 0));
	/* A refresh does not bring it back */
	ASSERT_EQ(0, iommufd_shadow_invalidate(self->iommufd, shadow2, 0, 0));
	ASSERT_EQ(0, _test_cmd_shadow_check(self->iommufd, shadow2, msi, PAGE,
					    NULL, 0));

	/* The device leaves: the stage-1's mapping is synced in again */
	pt_id = self->shadow_id;
	ASSERT_EQ(0, vfio_attach_pt(&self->dev, &pt_id));
	ASSERT_EQ(0, _test_cmd_shadow_check(self->iommufd, shadow2, msi, PAGE,
					    gpage(self, 2), 0));
	ASSERT_EQ(0, iommufd_destroy(self->iommufd, shadow2));
}

#define S1_BIG		0x2000000ULL	/* 2 MiB aligned, below the DMA mask */
#define GPA_HUGE	0x4000000ULL	/* 2 MiB aligned, after guest RAM */
#define SZ_2M_		(2UL << 20)

/*
 * Large leaves on intel-iommu: a stage-1 run over a whole 2 MiB block of
 * hugetlb guest RAM goes into the shadow in one map call (a 2 MiB leaf).
 * When the guest retargets one page inside it, the block is broken: the
 * shadow then translates that page to its new target and the other 511
 * exactly as before (the device's DMA agrees), and a later unmap of the
 * whole block works. Shows intel-iommu never sees part of a leaf unmapped.
 */
TEST_F(edu_shadow, large_leaf_broken_exactly)
{
	struct iommu_test_shadow_stats st0, st1;
	uint8_t *huge, *blk;

	huge = mmap(NULL, 2 * SZ_2M_, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (huge == MAP_FAILED)
		SKIP(return, "no 2 MiB huge pages");
	memset(huge, 0x5a, 2 * SZ_2M_);
	blk = huge + SZ_2M_;
	ASSERT_EQ(0, iommufd_ioas_map_fixed(self->iommufd, self->ioas_id, huge,
					    2 * SZ_2M_, GPA_HUGE, false));
	ASSERT_EQ(0, s390_tbl_map_range(&self->t, S1_BIG, GPA_HUGE + SZ_2M_,
					SZ_2M_, false));
	memcpy(self->expect, self->ram, G_SIZE);	/* the table pages */
	ASSERT_EQ(0, _test_cmd_shadow_stats(self->iommufd, self->shadow_id,
					    &st0));
	ASSERT_EQ(0, iommufd_shadow_invalidate(self->iommufd, self->shadow_id,
					       S1_BIG, SZ_2M_));
	ASSERT_EQ(0, _test_cmd_shadow_stats(self->iommufd, self->shadow_id,
					    &st1));
	EXPECT_EQ(1, st1.map_calls - st0.map_calls);
	EXPECT_EQ(512, st1.pages_mapped - st0.pages_mapped);
	ASSERT_EQ(0, _test_cmd_shadow_check(self->iommufd, self->shadow_id,
					    S1_BIG, SZ_2M_, blk, 0));

	/* Page 5 of the block now points at guest page 2 */
	ASSERT_EQ(0, s390_tbl_map(&self->t, S1_BIG + 5 * PAGE, GPA(2), false));
	memcpy(self->expect, self->ram, G_SIZE);
	ASSERT_EQ(0, iommufd_shadow_invalidate(self->iommufd, self->shadow_id,
					       S1_BIG + 5 * PAGE, PAGE));
	ASSERT_EQ(0, _test_cmd_shadow_stats(self->iommufd, self->shadow_id,
					    &st0));
	EXPECT_EQ(2, st0.leaf_breaks - st1.leaf_breaks);
	ASSERT_EQ(0, _test_cmd_shadow_check(self->iommufd, self->shadow_id,
					    S1_BIG, 5 * PAGE, blk, 0));
	ASSERT_EQ(0, _test_cmd_shadow_check(self->iommufd, self->shadow_id,
					    S1_BIG + 5 * PAGE, PAGE,
					    gpage(self, 2), 0));
	ASSERT_EQ(0, _test_cmd_shadow_check(self->iommufd, self->shadow_id,
					    S1_BIG + 6 * PAGE,
					    SZ_2M_ - 6 * PAGE, blk + 6 * PAGE,
					    0));

	/* The device sees the same: an unchanged page, and the new one */
	ASSERT_EQ(0, shadow_load(self, 256, 21));
	ASSERT_EQ(0, edu_dma_to_ram(self->dev.bar0, 0, S1_BIG + 6 * PAGE + 64,
				    256));
	EXPECT_EQ(0, memcmp(blk + 6 * PAGE + 64, gpage(self, 1), 256));
	EXPECT_EQ(0x5a, blk[6 * PAGE + 63]);
	ASSERT_EQ(0, edu_dma_to_ram(self->dev.bar0, 0, S1_BIG + 5 * PAGE, 256));
	expect_put(self, 2, 0, 0, 256);
	CHECK_RAM();
	EXPECT_EQ(0x5a, blk[5 * PAGE]);

	/* The guest drops the whole block; then the IOAS unmaps its RAM */
	for (unsigned int i = 0; i < 512; i++)
		ASSERT_EQ(0, s390_tbl_unmap(&self->t, S1_BIG + i * PAGE));
	ASSERT_EQ(0, iommufd_shadow_invalidate(self->iommufd, self->shadow_id,
					       S1_BIG, SZ_2M_));
	ASSERT_EQ(0, _test_cmd_shadow_check(self->iommufd, self->shadow_id,
					    S1_BIG, SZ_2M_, NULL, 0));
	ASSERT_EQ(0, iommufd_ioas_unmap(self->iommufd, self->ioas_id, GPA_HUGE,
					2 * SZ_2M_, NULL));
	munmap(huge, 2 * SZ_2M_);
}

TEST_HARNESS_MAIN
