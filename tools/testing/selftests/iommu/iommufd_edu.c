// SPDX-License-Identifier: GPL-2.0-only
/*
 * End-to-end tests of iommufd with a real device: QEMU's edu DMA engine
 * behind the emulated VT-d, bound to vfio-pci and driven through the VFIO
 * cdev and iommufd (see shadow_lib.h). Every DMA really goes through the
 * IOMMU: what lands in memory and what the kernel logs as DMAR faults is
 * what the hardware (model) did.
 *
 * These tests attach the device to a plain IOAS; they are the baseline the
 * shadow-nesting tests build on. Run in the "vtd" VM profile; without an
 * edu device they skip.
 */
#include "kselftest_harness.h"
#include "shadow_lib.h"

#define PAGE		0x1000UL
#define FILL		0x5a		/* what untouched memory holds */
#define FAULT_WAIT_MS	2000		/* DMAR faults arrive by interrupt */

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
	/* "0000:00:03.0" -> "[00:03.0]" */
	snprintf(self->rid, sizeof(self->rid), "[%s]", strchr(bdf, ':') + 1);

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
 * [fault reason 0x05] PTE Write access is not set". VT-d records the page
 * address, not the byte address.
 *
 * intel-iommu rate-limits its fault messages (10 per 5 s, and one fault
 * interrupt uses up 3: the "handling fault status" line, the record, the
 * empty record ending the loop), so a fault can be cleared without being
 * printed. When the line does not come, wait out the rate-limit window
 * and run the same DMA again: it must fault again and, this time, be
 * printed. Returns the DMA's error, or -ETIMEDOUT.
 */
static int dma_fault(FIXTURE_DATA(edu) *self, bool to_ram, uint32_t off,
		     uint64_t iova, uint32_t len, char *line, size_t line_len)
{
	char addr[40];
	const char *needles[] = { to_ram ? "[DMA Write" : "[DMA Read",
				  self->rid, addr, NULL };
	int ret, tries;

	snprintf(addr, sizeof(addr), "fault addr 0x%llx ",
		 (unsigned long long)iova & ~(PAGE - 1));
	for (tries = 0; tries < 2; tries++) {
		if (tries)
			sleep(6);	/* DEFAULT_RATELIMIT_INTERVAL is 5 s */
		ret = to_ram ? edu_dma_to_ram(self->dev.bar0, off, iova, len) :
			       edu_dma_from_ram(self->dev.bar0, iova, off, len);
		if (ret)
			return ret;
		ret = kmsg_wait_for(self->kmsg, needles, FAULT_WAIT_MS, line,
				    line_len);
		if (ret != -ETIMEDOUT)
			return ret;
	}
	return ret;
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

TEST_HARNESS_MAIN
