// SPDX-License-Identifier: GPL-2.0-only
/*
 * Shadow nesting on the selftest mock IOMMU: a stage-1 in s390 format built
 * in "guest memory" (a buffer mapped into an IOAS at GPA_BASE), shadowed
 * into a mock paging domain. The mock walks one level only, which is
 * exactly the situation shadow nesting exists for. Each test checks what
 * the shadow domain really translates with IOMMU_TEST_OP_SHADOW_CHECK
 * (iova_to_phys of the domain against the user pages the stage-1 names).
 *
 * Run in the "mock" VM profile (no VT-d).
 */
#include <pthread.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <linux/kvm.h>

#include "iommufd_utils.h"
#include "shadow_s390_lib.h"
#include "shadow_test_utils.h"

#define PG		0x1000UL
#ifndef __aligned
#define __aligned(x)	__attribute__((aligned(x)))
#endif
#define GPA_BASE	0x1000000UL	/* MOCK_APERTURE_START */
#define RAM_SIZE	0x400000UL	/* guest RAM */
#define TBL_SIZE	0x100000UL	/* first MiB of it: tables */
#define DATA_GPA	(GPA_BASE + TBL_SIZE)	/* data pages from here */
#define AP_START	0x1000000UL	/* stage-1 aperture */
#define AP_LAST		((1UL << 31) - 1)
#define IOVA		0x10000000UL	/* stage-1 IOVAs of the tests */

static void *ram;

/* Host address of guest page @gpa */
static void *gva(uint64_t gpa)
{
	return (char *)ram + (gpa - GPA_BASE);
}

static int _shadow_alloc(int fd, __u32 dev_id, __u32 pt_id, __u32 flags,
			 struct iommu_hwpt_shadow *data, __u32 len,
			 __u32 *out_id)
{
	struct iommu_hwpt_alloc cmd = {
		.size = sizeof(cmd),
		.flags = flags,
		.dev_id = dev_id,
		.pt_id = pt_id,
		.data_type = IOMMU_HWPT_DATA_SHADOW,
		.data_len = len,
		.data_uptr = (uintptr_t)data,
	};
	int ret;

	ret = ioctl(fd, IOMMU_HWPT_ALLOC, &cmd);
	if (!ret && out_id)
		*out_id = cmd.out_hwpt_id;
	return ret;
}

static int _shadow_inv(int fd, __u32 hwpt_id,
		       struct iommu_hwpt_shadow_invalidate *inv, __u32 *num)
{
	struct iommu_hwpt_invalidate cmd = {
		.size = sizeof(cmd),
		.hwpt_id = hwpt_id,
		.data_uptr = (uintptr_t)inv,
		.data_type = IOMMU_HWPT_INVALIDATE_DATA_SHADOW,
		.entry_len = sizeof(*inv),
		.entry_num = *num,
	};
	int ret;

	ret = ioctl(fd, IOMMU_HWPT_INVALIDATE, &cmd);
	*num = cmd.entry_num;
	return ret;
}

/* Invalidate one range; returns 0 or errno */
static int shadow_inv(int fd, __u32 hwpt_id, uint64_t iova, uint64_t len)
{
	struct iommu_hwpt_shadow_invalidate inv = {
		.iova = iova,
		.length = len,
	};
	__u32 num = 1;

	return _shadow_inv(fd, hwpt_id, &inv, &num) ? errno : 0;
}

#define RO(ro)	((ro) ? MOCK_SHADOW_CHECK_READONLY : 0)
#define check_mapped(hwpt, iova, len, gpa, ro) \
	test_cmd_shadow_check(hwpt, iova, len, gva(gpa), RO(ro))
#define check_unmapped(hwpt, iova, len) \
	test_cmd_shadow_check(hwpt, iova, len, NULL, 0)

FIXTURE(shadow)
{
	int fd;
	__u32 ioas_id;
	__u32 stdev_id;
	__u32 paging_id;	/* the mock device's auto domain on the IOAS */
	__u32 idev_id;
	struct s390_tables t;
	uint64_t iota;
	struct iommu_hwpt_shadow data;
};

FIXTURE_SETUP(shadow)
{
	self->fd = open("/dev/iommu", O_RDWR);
	ASSERT_NE(-1, self->fd);
	ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ram);
	memset(ram, 0, RAM_SIZE);
	test_ioctl_ioas_alloc(&self->ioas_id);
	test_ioctl_ioas_map_fixed_id(self->ioas_id, ram, RAM_SIZE, GPA_BASE);
	test_cmd_mock_domain(self->ioas_id, &self->stdev_id, &self->paging_id,
			     &self->idev_id);

	s390_tbl_init(&self->t, ram, GPA_BASE, TBL_SIZE);
	ASSERT_EQ(0, s390_tbl_new_root(&self->t, &self->iota));
	self->data = (struct iommu_hwpt_shadow){
		.format = IOMMU_SHADOW_FORMAT_S390,
		.root = self->iota,
		.aperture_start = AP_START,
		.aperture_last = AP_LAST,
	};
}

FIXTURE_TEARDOWN(shadow)
{
	teardown_iommufd(self->fd, _metadata);
	munmap(ram, RAM_SIZE);
}

#define shadow_alloc(pt_id, out_id)                                        \
	ASSERT_EQ(0, _shadow_alloc(self->fd, self->idev_id, pt_id, 0,      \
				   &self->data, sizeof(self->data), out_id))
#define shadow_alloc_err(_errno, pt_id)                                     \
	EXPECT_ERRNO(_errno, _shadow_alloc(self->fd, self->idev_id, pt_id, \
					   0, &self->data,                 \
					   sizeof(self->data), NULL))

TEST_F(shadow, hw_info_reports_shadow_nesting)
{
	struct iommu_hw_info info = {
		.size = sizeof(info),
		.dev_id = self->idev_id,
	};

	ASSERT_EQ(0, ioctl(self->fd, IOMMU_GET_HW_INFO, &info));
	ASSERT_TRUE(info.out_capabilities & IOMMU_HW_CAP_SHADOW_NESTING);
}

TEST_F(shadow, alloc_errors)
{
	struct iommu_hwpt_shadow good = self->data;
	int fds[2];
	__u32 id;

	/* Unknown format, flag, reserved field: EOPNOTSUPP */
	self->data.format = 0x77;
	shadow_alloc_err(EOPNOTSUPP, self->ioas_id);
	self->data = good;
	self->data.flags = 1 << 7;
	shadow_alloc_err(EOPNOTSUPP, self->ioas_id);
	self->data = good;
	self->data.__reserved = 1;
	shadow_alloc_err(EOPNOTSUPP, self->ioas_id);
	self->data = good;
	EXPECT_ERRNO(EOPNOTSUPP,
		     _shadow_alloc(self->fd, self->idev_id, self->ioas_id,
				   IOMMU_HWPT_FAULT_ID_VALID, &self->data,
				   sizeof(self->data), NULL));

	/* Apertures: empty, misaligned, outside the IOMMU, all of 2^64 */
	self->data.aperture_start = AP_START + PG;
	self->data.aperture_last = AP_START;
	shadow_alloc_err(EINVAL, self->ioas_id);
	self->data = good;
	self->data.aperture_start = AP_START + 1;
	shadow_alloc_err(EINVAL, self->ioas_id);
	self->data = good;
	self->data.aperture_last = AP_LAST - 1;
	shadow_alloc_err(EINVAL, self->ioas_id);
	self->data = good;
	self->data.aperture_start = 0;
	self->data.aperture_last = UINT64_MAX;
	shadow_alloc_err(EINVAL, self->ioas_id);
	self->data = good;
	self->data.aperture_last = (1UL << 32) - 1;
	shadow_alloc_err(EINVAL, self->ioas_id);
	self->data = good;

	/* A root of an unsupported designation type is malformed */
	self->data.root = self->iota | (5 << 2);
	shadow_alloc_err(EILSEQ, self->ioas_id);
	/* A root outside guest memory */
	self->data.root = (GPA_BASE + RAM_SIZE) | S390_DT_RTX;
	shadow_alloc_err(ENXIO, self->ioas_id);
	self->data = good;

	/* pt_id must be an IOAS or a NEST_PARENT paging hwpt */
	shadow_alloc_err(EINVAL, self->paging_id);
	shadow_alloc_err(EINVAL, 0xdead);

	/* Short data */
	EXPECT_ERRNO(EINVAL, _shadow_alloc(self->fd, self->idev_id,
					   self->ioas_id, 0, &self->data, 8,
					   NULL));

	/* KVM fd: closed, not KVM */
	self->data.flags = IOMMU_HWPT_SHADOW_KVM_FD;
	ASSERT_EQ(0, pipe(fds));
	close(fds[1]);
	self->data.kvm_fd = fds[1];
	shadow_alloc_err(EBADF, self->ioas_id);
	self->data.kvm_fd = fds[0];
	shadow_alloc_err(EINVAL, self->ioas_id);
	close(fds[0]);
	self->data = good;

	/* Nothing leaked: a good one still works and can be destroyed */
	shadow_alloc(self->ioas_id, &id);
	test_ioctl_destroy(id);
}

TEST_F(shadow, map_check_and_invalidate)
{
	struct iommu_test_cmd md_check = {
		.size = sizeof(md_check),
		.op = IOMMU_TEST_OP_MD_CHECK_MAP,
		.check_map = { .iova = IOVA, .length = 2 * PG,
			       .uptr = (uintptr_t)gva(DATA_GPA) },
	};
	struct iommu_test_shadow_stats st, st2;
	__u32 id;

	/* Guest maps 3 pages, one read-only; a hole in between */
	ASSERT_EQ(0, s390_tbl_map_range(&self->t, IOVA, DATA_GPA, 2 * PG,
					false));
	ASSERT_EQ(0, s390_tbl_map(&self->t, IOVA + 3 * PG, DATA_GPA + 7 * PG,
				  true));
	shadow_alloc(self->ioas_id, &id);
	test_cmd_mock_domain_replace(self->stdev_id, id);

	check_mapped(id, IOVA, 2 * PG, DATA_GPA, false);
	check_unmapped(id, IOVA + 2 * PG, PG);
	check_mapped(id, IOVA + 3 * PG, PG, DATA_GPA + 7 * PG, true);
	check_unmapped(id, IOVA + 4 * PG, 16 * PG);
	check_unmapped(id, AP_START, PG);
	/* The upstream check op sees the same */
	md_check.id = id;
	ASSERT_EQ(0, ioctl(self->fd, IOMMU_TEST_CMD, &md_check));

	/* Guest changes: new page, drop one, retarget one */
	ASSERT_EQ(0, s390_tbl_map(&self->t, IOVA + 2 * PG, DATA_GPA + 9 * PG,
				  false));
	ASSERT_EQ(0, s390_tbl_unmap(&self->t, IOVA));
	ASSERT_EQ(0, s390_tbl_map(&self->t, IOVA + 3 * PG, DATA_GPA + 8 * PG,
				  false));
	/* Before the invalidation nothing changed */
	check_mapped(id, IOVA, PG, DATA_GPA, false);
	ASSERT_EQ(0, shadow_inv(self->fd, id, IOVA, 4 * PG));
	check_unmapped(id, IOVA, PG);
	check_mapped(id, IOVA + PG, PG, DATA_GPA + PG, false);
	check_mapped(id, IOVA + 2 * PG, PG, DATA_GPA + 9 * PG, false);
	check_mapped(id, IOVA + 3 * PG, PG, DATA_GPA + 8 * PG, false);

	/*
	 * One flush for that invalidation, which unmapped, and one sync of
	 * the new mappings (alloc mapped too: two), however many map calls
	 */
	test_cmd_shadow_stats(id, &st);
	ASSERT_EQ(2, st.syncs);
	ASSERT_EQ(1, st.flushes);
	ASSERT_EQ(2, st.map_syncs);
	ASSERT_LE(4, st.map_calls);

	/* An invalidation that changes nothing unmaps and maps nothing */
	ASSERT_EQ(0, shadow_inv(self->fd, id, IOVA, 64 * PG));
	test_cmd_shadow_stats(id, &st2);
	ASSERT_EQ(st.map_calls, st2.map_calls);
	ASSERT_EQ(st.unmap_calls, st2.unmap_calls);
	ASSERT_EQ(st.flushes, st2.flushes);
	ASSERT_EQ(st.map_syncs, st2.map_syncs);

	test_cmd_mock_domain_replace(self->stdev_id, self->paging_id);
	test_ioctl_destroy(id);
}

TEST_F(shadow, contiguous_runs_coalesce)
{
	uint64_t huge_gpa = GPA_BASE + RAM_SIZE;
	struct iommu_test_shadow_stats st;
	void *huge;
	__u32 id;

	/* Host-contiguous guest memory: a 2 MiB huge page */
	huge = mmap(NULL, 2UL << 20, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (huge == MAP_FAILED)
		SKIP(return, "no huge pages");
	memset(huge, 0, 2UL << 20);
	test_ioctl_ioas_map_fixed_id(self->ioas_id, huge, 2UL << 20, huge_gpa);

	/* 64 contiguous pages -> one map call */
	ASSERT_EQ(0, s390_tbl_map_range(&self->t, IOVA, huge_gpa, 64 * PG,
					false));
	/* 4 scattered 4 KiB pages of ordinary memory -> 4 */
	ASSERT_EQ(0, s390_tbl_map(&self->t, IOVA + 128 * PG, DATA_GPA, false));
	ASSERT_EQ(0, s390_tbl_map(&self->t, IOVA + 129 * PG, DATA_GPA + 2 * PG,
				  false));
	shadow_alloc(self->ioas_id, &id);
	test_cmd_shadow_stats(id, &st);
	ASSERT_EQ(3, st.map_calls);
	ASSERT_EQ(66, st.pages_mapped);
	ASSERT_EQ(0, st.flushes);
	ASSERT_EQ(1, st.map_syncs);
	test_cmd_shadow_check(id, IOVA, 64 * PG, huge, 0);
	check_mapped(id, IOVA + 128 * PG, PG, DATA_GPA, false);
	check_mapped(id, IOVA + 129 * PG, PG, DATA_GPA + 2 * PG, false);
	test_ioctl_destroy(id);
	test_ioctl_ioas_unmap_id(self->ioas_id, huge_gpa, 2UL << 20);
	munmap(huge, 2UL << 20);
}

TEST_F(shadow, invalidate_errors)
{
	struct iommu_hwpt_shadow_invalidate inv[3] = {};
	__u32 id, num;

	ASSERT_EQ(0, s390_tbl_map(&self->t, IOVA, DATA_GPA, false));
	shadow_alloc(self->ioas_id, &id);

	EXPECT_EQ(EINVAL, shadow_inv(self->fd, id, IOVA + 1, PG));
	EXPECT_EQ(EINVAL, shadow_inv(self->fd, id, IOVA, PG + 1));
	EXPECT_EQ(EINVAL, shadow_inv(self->fd, id, IOVA, 0));
	EXPECT_EQ(EINVAL, shadow_inv(self->fd, id, AP_START - PG, PG));
	EXPECT_EQ(EINVAL, shadow_inv(self->fd, id, AP_LAST + 1, PG));
	EXPECT_EQ(EINVAL, shadow_inv(self->fd, id, UINT64_MAX & ~0xfffUL,
				     2 * PG));
	/* Not a shadow */
	EXPECT_EQ(ENOENT, shadow_inv(self->fd, self->paging_id, IOVA, PG));

	/* flags and reserved */
	inv[0].flags = 1 << 5;
	num = 1;
	EXPECT_ERRNO(EOPNOTSUPP, _shadow_inv(self->fd, id, inv, &num));
	EXPECT_EQ(0, num);
	inv[0].flags = 0;
	inv[0].iova = IOVA;
	inv[0].length = PG;
	inv[0].__reserved = 1;
	num = 1;
	EXPECT_ERRNO(EOPNOTSUPP, _shadow_inv(self->fd, id, inv, &num));
	inv[0].__reserved = 0;
	/* ALL takes no range */
	inv[0].flags = IOMMU_SHADOW_INVALIDATE_ALL;
	num = 1;
	EXPECT_ERRNO(EINVAL, _shadow_inv(self->fd, id, inv, &num));

	/* Partial progress: the second of three entries is bad */
	inv[0] = (struct iommu_hwpt_shadow_invalidate){
		.flags = IOMMU_SHADOW_INVALIDATE_ALL };
	inv[1] = (struct iommu_hwpt_shadow_invalidate){ .iova = 1,
							.length = PG };
	inv[2] = inv[0];
	num = 3;
	EXPECT_ERRNO(EINVAL, _shadow_inv(self->fd, id, inv, &num));
	EXPECT_EQ(1, num);
	check_mapped(id, IOVA, PG, DATA_GPA, false);

	test_ioctl_destroy(id);
}

/* ---- The fault report of a failed invalidation entry (48 bytes) ---- */

/* A 24-byte entry: the layout before the fault report */
struct shadow_inv24 {
	__aligned_u64 iova;
	__aligned_u64 length;
	__u32 flags;
	__u32 __reserved;
};

/* One 48-byte entry over [iova, iova + len); returns errno, *inv the entry */
static int shadow_inv48(int fd, __u32 hwpt_id, uint64_t iova, uint64_t len,
			struct iommu_hwpt_shadow_invalidate *inv)
{
	__u32 num = 1;

	*inv = (struct iommu_hwpt_shadow_invalidate){
		.iova = iova,
		.length = len,
		/* Input values of the out_ fields are ignored */
		.out_fault_iova = 0x5a5a5a5a5a5a5a5aULL,
		.out_fault_addr = 0x5a5a5a5a5a5a5a5aULL,
		.out_fault_reason = 0x5a5a5a5a,
		.out_fault_level = 0x5a5a5a5a,
	};
	return _shadow_inv(fd, hwpt_id, inv, &num) ? errno : 0;
}

#define check_fault(inv, _iova, _addr, _reason, _level)                \
	do {                                                           \
		EXPECT_EQ((uint64_t)(_iova), (inv)->out_fault_iova);   \
		EXPECT_EQ((uint64_t)(_addr), (inv)->out_fault_addr);   \
		EXPECT_EQ((__u32)(_reason), (inv)->out_fault_reason);  \
		EXPECT_EQ((__u32)(_level), (inv)->out_fault_level);    \
	} while (0)

/* GPA of a table entry the library built */
static uint64_t entry_gpa(uint64_t *entry)
{
	return GPA_BASE + ((char *)entry - (char *)ram);
}

TEST_F(shadow, fault_entry_sizes)
{
	struct shadow_inv24 inv24[3];
	struct iommu_hwpt_invalidate cmd = {
		.size = sizeof(cmd),
		.data_type = IOMMU_HWPT_INVALIDATE_DATA_SHADOW,
		.entry_len = sizeof(inv24[0]),
	};
	struct {
		struct iommu_hwpt_shadow_invalidate inv;
		__u64 tail;
	} big[2];
	__u32 id;

	ASSERT_EQ(48, sizeof(struct iommu_hwpt_shadow_invalidate));
	ASSERT_EQ(0, s390_tbl_map_range(&self->t, IOVA, DATA_GPA, 4 * PG,
					false));
	shadow_alloc(self->ioas_id, &id);
	ASSERT_EQ(0, s390_tbl_map(&self->t, IOVA + 2 * PG, 1UL << 30, false));

	/* 24-byte entries: the same errno, entry_num; nothing written */
	memset(inv24, 0xa5, sizeof(inv24));
	inv24[0] = (struct shadow_inv24){ .iova = IOVA, .length = PG };
	inv24[1] = (struct shadow_inv24){ .iova = IOVA, .length = 4 * PG };
	cmd.hwpt_id = id;
	cmd.data_uptr = (uintptr_t)inv24;
	cmd.entry_num = 2;
	EXPECT_ERRNO(ENXIO, ioctl(self->fd, IOMMU_HWPT_INVALIDATE, &cmd));
	EXPECT_EQ(1, cmd.entry_num);
	EXPECT_EQ(IOVA, inv24[1].iova);
	EXPECT_EQ(4 * PG, inv24[1].length);
	EXPECT_EQ(0, inv24[1].flags);
	EXPECT_EQ(0xa5a5a5a5a5a5a5a5ULL, inv24[2].iova);
	EXPECT_EQ(0xa5a5a5a5a5a5a5a5ULL, inv24[2].length);
	check_mapped(id, IOVA, 2 * PG, DATA_GPA, false);
	check_unmapped(id, IOVA + 2 * PG, PG);
	/* (the rest of the range is not synced by a 24-byte caller either) */

	/*
	 * Entries longer than the kernel's struct: EINVAL whatever their tail,
	 * as 6.12's iommu_copy_struct_from_user_array() does for every type
	 */
	memset(big, 0, sizeof(big));
	big[0].inv.iova = IOVA;
	big[0].inv.length = PG;
	cmd.data_uptr = (uintptr_t)big;
	cmd.entry_len = sizeof(big[0]);
	cmd.entry_num = 1;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, IOMMU_HWPT_INVALIDATE, &cmd));
	EXPECT_EQ(0, cmd.entry_num);
	big[0].tail = 1;
	cmd.entry_num = 1;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, IOMMU_HWPT_INVALIDATE, &cmd));
	EXPECT_EQ(0, cmd.entry_num);
	/* No report for an entry the kernel could not read */
	EXPECT_EQ(0, big[0].inv.out_fault_iova);
	EXPECT_EQ(0, big[0].inv.out_fault_reason);

	/* 40 bytes: read up to there, no room for the report: none */
	memset(big, 0xa5, sizeof(big));
	big[0].inv = (struct iommu_hwpt_shadow_invalidate){
		.iova = IOVA,
		.length = 4 * PG,
		.out_fault_iova = 0x1234,
		.out_fault_addr = 0xa5a5a5a5a5a5a5a5ULL,
		.out_fault_reason = 0x55,
	};
	cmd.entry_len = 40;
	cmd.entry_num = 1;
	EXPECT_ERRNO(ENXIO, ioctl(self->fd, IOMMU_HWPT_INVALIDATE, &cmd));
	EXPECT_EQ(0, cmd.entry_num);
	EXPECT_EQ(0x1234, big[0].inv.out_fault_iova);
	EXPECT_EQ(0xa5a5a5a5a5a5a5a5ULL, big[0].inv.out_fault_addr);
	EXPECT_EQ(0x55, big[0].inv.out_fault_reason);

	/* 48 bytes: the report */
	cmd.entry_len = sizeof(big[0].inv);
	cmd.data_uptr = (uintptr_t)&big[0].inv;
	cmd.entry_num = 1;
	EXPECT_ERRNO(ENXIO, ioctl(self->fd, IOMMU_HWPT_INVALIDATE, &cmd));
	EXPECT_EQ(0, cmd.entry_num);
	check_fault(&big[0].inv, IOVA + 2 * PG, 1UL << 30,
		    IOMMU_SHADOW_FAULT_OUTPUT_ADDR, 0);
	/* and not a byte beyond it */
	EXPECT_EQ(0xa5a5a5a5a5a5a5a5ULL, big[0].tail);
	test_ioctl_destroy(id);
}

/*
 * What the kernel promises about a failed entry: [iova, out_fault_iova)
 * synced as on success, that page not mapped; a VMM re-issuing the rest
 * from the next page (QEMU's semantics for a leaf outside guest RAM) gets
 * the rest synced.
 */
TEST_F(shadow, fault_prefix_synced)
{
	struct iommu_hwpt_shadow_invalidate inv;
	__u32 id;

	ASSERT_EQ(0, s390_tbl_map_range(&self->t, IOVA, DATA_GPA, 8 * PG,
					false));
	shadow_alloc(self->ioas_id, &id);
	test_cmd_mock_domain_replace(self->stdev_id, id);
	ASSERT_EQ(0, s390_tbl_map(&self->t, IOVA + PG, DATA_GPA + 20 * PG,
				  false));
	ASSERT_EQ(0, s390_tbl_unmap(&self->t, IOVA + 2 * PG));
	ASSERT_EQ(0, s390_tbl_map(&self->t, IOVA + 4 * PG, 1UL << 30, false));
	ASSERT_EQ(0, s390_tbl_map(&self->t, IOVA + 6 * PG, DATA_GPA + 21 * PG,
				  true));
	ASSERT_EQ(ENXIO, shadow_inv48(self->fd, id, IOVA, 8 * PG, &inv));
	check_fault(&inv, IOVA + 4 * PG, 1UL << 30,
		    IOMMU_SHADOW_FAULT_OUTPUT_ADDR, 0);
	/* before: synced */
	check_mapped(id, IOVA, PG, DATA_GPA, false);
	check_mapped(id, IOVA + PG, PG, DATA_GPA + 20 * PG, false);
	check_unmapped(id, IOVA + 2 * PG, PG);
	check_mapped(id, IOVA + 3 * PG, PG, DATA_GPA + 3 * PG, false);
	/* the page itself: not mapped */
	check_unmapped(id, IOVA + 4 * PG, PG);
	/* after: as it was (or synced) */
	check_mapped(id, IOVA + 5 * PG, PG, DATA_GPA + 5 * PG, false);
	/* the VMM goes on after the page, as QEMU's walker would */
	ASSERT_EQ(0, shadow_inv48(self->fd, id, IOVA + 5 * PG, 3 * PG, &inv));
	/* a successful entry's out_ fields are not written */
	EXPECT_EQ(0x5a5a5a5a5a5a5a5aULL, inv.out_fault_iova);
	check_mapped(id, IOVA + 6 * PG, PG, DATA_GPA + 21 * PG, true);
	check_mapped(id, IOVA + 7 * PG, PG, DATA_GPA + 7 * PG, false);
	check_unmapped(id, IOVA + 4 * PG, PG);

	/* A range starting at the bad page reports its first page */
	ASSERT_EQ(ENXIO, shadow_inv48(self->fd, id, IOVA + 4 * PG, PG, &inv));
	check_fault(&inv, IOVA + 4 * PG, 1UL << 30,
		    IOMMU_SHADOW_FAULT_OUTPUT_ADDR, 0);
	test_cmd_mock_domain_replace(self->stdev_id, self->paging_id);
	test_ioctl_destroy(id);
}

/* Each reason the mock can produce, with its level and address */
TEST_F(shadow, fault_reasons)
{
	struct iommu_hwpt_shadow_invalidate inv;
	uint64_t *rte, *ste, *pte, save, pt_gpa;
	__u32 id;

	ASSERT_EQ(0, s390_tbl_map_range(&self->t, IOVA, DATA_GPA, 4 * PG,
					false));
	shadow_alloc(self->ioas_id, &id);
	rte = s390_tbl_entry(&self->t, IOVA, 2);
	ste = s390_tbl_entry(&self->t, IOVA, 1);
	pte = s390_tbl_entry(&self->t, IOVA + 2 * PG, 0);
	ASSERT_NE(NULL, rte);
	ASSERT_NE(NULL, ste);
	ASSERT_NE(NULL, pte);

	/* A leaf outside the IOAS */
	save = *pte;
	*pte = htobe64(1UL << 30);
	ASSERT_EQ(ENXIO, shadow_inv48(self->fd, id, IOVA, 4 * PG, &inv));
	check_fault(&inv, IOVA + 2 * PG, 1UL << 30,
		    IOMMU_SHADOW_FAULT_OUTPUT_ADDR, 0);
	check_mapped(id, IOVA, 2 * PG, DATA_GPA, false);
	check_unmapped(id, IOVA + 2 * PG, PG);

	/* An all-zero PTE is malformed (QEMU: INVALTE), not a hole */
	*pte = 0;
	ASSERT_EQ(EILSEQ, shadow_inv48(self->fd, id, IOVA, 4 * PG, &inv));
	check_fault(&inv, IOVA + 2 * PG, entry_gpa(pte),
		    IOMMU_SHADOW_FAULT_ENTRY, 0);
	*pte = save;
	ASSERT_EQ(0, shadow_inv48(self->fd, id, IOVA, 4 * PG, &inv));
	check_mapped(id, IOVA, 4 * PG, DATA_GPA, false);

	/* A page table outside the IOAS */
	save = *ste;
	pt_gpa = (GPA_BASE + RAM_SIZE) | (be64toh(save) & 0x7ff);
	*ste = htobe64(pt_gpa);
	ASSERT_EQ(ENXIO, shadow_inv48(self->fd, id, IOVA, 4 * PG, &inv));
	check_fault(&inv, IOVA, GPA_BASE + RAM_SIZE,
		    IOMMU_SHADOW_FAULT_TABLE_ADDR, 0);
	check_unmapped(id, IOVA, PG);
	check_mapped(id, IOVA + PG, 3 * PG, DATA_GPA + PG, false);

	/* A zero segment entry */
	*ste = 0;
	ASSERT_EQ(EILSEQ, shadow_inv48(self->fd, id, IOVA + PG, PG, &inv));
	check_fault(&inv, IOVA + PG, entry_gpa(ste),
		    IOMMU_SHADOW_FAULT_ENTRY, 1);
	check_unmapped(id, IOVA + PG, PG);

	/* A segment entry of the wrong table type */
	*ste = htobe64(be64toh(save) | (2 << 2));
	ASSERT_EQ(EILSEQ, shadow_inv48(self->fd, id, IOVA, 4 * PG, &inv));
	check_fault(&inv, IOVA, entry_gpa(ste),
		    IOMMU_SHADOW_FAULT_TABLE_TYPE, 1);
	*ste = save;

	/* A region-third entry other than TF 0, TL 3 (QEMU: INVALTL) */
	save = *rte;
	*rte = htobe64(be64toh(save) & ~3ULL);
	ASSERT_EQ(EILSEQ, shadow_inv48(self->fd, id, IOVA + PG, 2 * PG,
				       &inv));
	check_fault(&inv, IOVA + PG, entry_gpa(rte),
		    IOMMU_SHADOW_FAULT_TABLE_LENGTH, 2);
	*rte = htobe64(be64toh(save) | 0x40);
	ASSERT_EQ(EILSEQ, shadow_inv48(self->fd, id, IOVA + 3 * PG, PG, &inv));
	check_fault(&inv, IOVA + 3 * PG, entry_gpa(rte),
		    IOMMU_SHADOW_FAULT_TABLE_LENGTH, 2);
	/* and the wrong type there */
	*rte = htobe64(be64toh(save) ^ (3 << 2));
	ASSERT_EQ(EILSEQ, shadow_inv48(self->fd, id, IOVA, PG, &inv));
	check_fault(&inv, IOVA, entry_gpa(rte),
		    IOMMU_SHADOW_FAULT_TABLE_TYPE, 2);
	*rte = save;

	/* All fixed: exact again */
	ASSERT_EQ(0, shadow_inv48(self->fd, id, IOVA, 4 * PG, &inv));
	check_mapped(id, IOVA, 4 * PG, DATA_GPA, false);
	/* Not a table fault of the walk: no report of one */
	EXPECT_EQ(EINVAL, shadow_inv48(self->fd, id, IOVA + 1, PG, &inv));
	check_fault(&inv, 0, 0, IOMMU_SHADOW_FAULT_NONE, 0);
	test_ioctl_destroy(id);
}

/* The record cap: RESOURCE at the first page that needed a record */
TEST_F(shadow, fault_resource)
{
	FILE *f = fopen("/sys/module/iommufd/parameters/shadow_max_records",
			"r+");
	struct iommu_hwpt_shadow_invalidate inv;
	struct iommu_test_shadow_stats st;
	unsigned long old;
	uint64_t i, at;
	int rc;
	__u32 id;

	if (!f)
		SKIP(return, "no shadow_max_records parameter");
	ASSERT_EQ(1, fscanf(f, "%lu", &old));
	ASSERT_EQ(0, s390_tbl_map(&self->t, IOVA, DATA_GPA, false));
	shadow_alloc(self->ioas_id, &id);
	test_cmd_shadow_stats(id, &st);
	/* Room for 8 more records; 32 scattered pages need 32 */
	for (i = 0; i < 32; i++)
		ASSERT_EQ(0, s390_tbl_map(&self->t, IOVA + (2 * i + 2) * PG,
					  DATA_GPA + (i + 1) * PG, false));
	rewind(f);
	fprintf(f, "%llu\n", (unsigned long long)st.records + 8);
	fflush(f);
	rc = shadow_inv48(self->fd, id, IOVA, 80 * PG, &inv);
	rewind(f);
	fprintf(f, "%lu\n", old);
	fflush(f);
	fclose(f);
	ASSERT_EQ(ENOSPC, rc);
	EXPECT_EQ(IOMMU_SHADOW_FAULT_RESOURCE, inv.out_fault_reason);
	EXPECT_EQ(0, inv.out_fault_level);
	EXPECT_EQ(0, inv.out_fault_addr);
	at = inv.out_fault_iova;
	/* The 8 records went to the first 8 new pages */
	EXPECT_EQ(IOVA + 18 * PG, at);
	for (i = 0; i < 32 && IOVA + (2 * i + 2) * PG < at; i++)
		check_mapped(id, IOVA + (2 * i + 2) * PG, PG,
			     DATA_GPA + (i + 1) * PG, false);
	check_unmapped(id, at, PG);
	ASSERT_EQ(0, shadow_inv48(self->fd, id, IOVA, 80 * PG, &inv));
	for (i = 0; i < 32; i++)
		check_mapped(id, IOVA + (2 * i + 2) * PG, PG,
			     DATA_GPA + (i + 1) * PG, false);
	test_ioctl_destroy(id);
}

/* In a batch: entry_num and the report name the failing second entry */
TEST_F(shadow, fault_second_entry)
{
	struct iommu_hwpt_shadow_invalidate inv[3] = {};
	uint64_t *ste;
	__u32 id, num;

	ASSERT_EQ(0, s390_tbl_map_range(&self->t, IOVA, DATA_GPA, 2 * PG,
					false));
	ASSERT_EQ(0, s390_tbl_map(&self->t, IOVA + (1UL << 20), DATA_GPA,
				  false));
	shadow_alloc(self->ioas_id, &id);
	ste = s390_tbl_entry(&self->t, IOVA + (1UL << 20), 1);
	ASSERT_NE(NULL, ste);
	*ste = htobe64(be64toh(*ste) | (1 << 2));
	ASSERT_EQ(0, s390_tbl_map(&self->t, IOVA + PG, DATA_GPA + 5 * PG,
				  false));
	for (int i = 0; i < 3; i++) {
		inv[i].out_fault_iova = 0x77;
		inv[i].out_fault_reason = 0x77;
	}
	inv[0].iova = IOVA;
	inv[0].length = 2 * PG;
	inv[1].iova = IOVA + (1UL << 20) - PG;
	inv[1].length = 2 * PG;
	inv[2] = inv[0];
	num = 3;
	EXPECT_ERRNO(EILSEQ, _shadow_inv(self->fd, id, inv, &num));
	EXPECT_EQ(1, num);
	EXPECT_EQ(0x77, inv[0].out_fault_iova);
	EXPECT_EQ(0x77, inv[0].out_fault_reason);
	check_fault(&inv[1], IOVA + (1UL << 20), entry_gpa(ste),
		    IOMMU_SHADOW_FAULT_TABLE_TYPE, 1);
	EXPECT_EQ(0x77, inv[2].out_fault_iova);
	check_mapped(id, IOVA + PG, PG, DATA_GPA + 5 * PG, false);
	check_unmapped(id, IOVA + (1UL << 20), PG);
	test_ioctl_destroy(id);
}

/* A segment entry with FC: a 1 MiB frame, shadowed as QEMU maps it */
TEST_F(shadow, fc_frame)
{
	struct iommu_test_shadow_stats st;
	uint64_t *ste;
	__u32 id;

	ASSERT_EQ(0, s390_tbl_map(&self->t, IOVA, DATA_GPA, false));
	ste = s390_tbl_entry(&self->t, IOVA, 1);
	ASSERT_NE(NULL, ste);
	/* DATA_GPA is 1 MiB aligned: the frame is the second MiB of RAM */
	*ste = htobe64(DATA_GPA | 0x400);
	shadow_alloc(self->ioas_id, &id);
	check_mapped(id, IOVA, 1UL << 20, DATA_GPA, false);
	check_unmapped(id, IOVA + (1UL << 20), PG);
	test_cmd_shadow_stats(id, &st);
	EXPECT_EQ(256, st.pages_mapped);
	/* Read-only */
	*ste = htobe64(DATA_GPA | 0x400 | S390_TE_PROTECTED);
	ASSERT_EQ(0, shadow_inv(self->fd, id, IOVA, 1UL << 20));
	check_mapped(id, IOVA, 1UL << 20, DATA_GPA, true);
	test_ioctl_destroy(id);
}

TEST_F(shadow, permissions)
{
	uint64_t *ste;
	__u32 id;

	/* Protected PTE: read-only */
	ASSERT_EQ(0, s390_tbl_map(&self->t, IOVA, DATA_GPA, true));
	/* Protection in the segment-table entry covers the page table */
	ASSERT_EQ(0, s390_tbl_map(&self->t, IOVA + (1UL << 20),
				  DATA_GPA + PG, false));
	ste = s390_tbl_entry(&self->t, IOVA + (1UL << 20), 1);
	ASSERT_NE(NULL, ste);
	*ste = htobe64(be64toh(*ste) | S390_TE_PROTECTED);
	/* Writable stage-1 over a read-only IOAS area (I2) */
	{
		struct iommu_ioas_map map = {
			.size = sizeof(map),
			.flags = IOMMU_IOAS_MAP_FIXED_IOVA |
				 IOMMU_IOAS_MAP_READABLE,
			.ioas_id = self->ioas_id,
			.user_va = (uintptr_t)gva(DATA_GPA + 2 * PG),
			.length = PG,
			.iova = GPA_BASE + RAM_SIZE,
		};

		ASSERT_EQ(0, ioctl(self->fd, IOMMU_IOAS_MAP, &map));
	}
	ASSERT_EQ(0, s390_tbl_map(&self->t, IOVA + 2 * (1UL << 20),
				  GPA_BASE + RAM_SIZE, false));
	/* And a plain writable one */
	ASSERT_EQ(0, s390_tbl_map(&self->t, IOVA + 3 * (1UL << 20),
				  DATA_GPA + 3 * PG, false));

	shadow_alloc(self->ioas_id, &id);
	check_mapped(id, IOVA, PG, DATA_GPA, true);
	test_err_shadow_check(EINVAL, id, IOVA, PG, gva(DATA_GPA), 0);
	check_mapped(id, IOVA + (1UL << 20), PG, DATA_GPA + PG, true);
	test_cmd_shadow_check(id, IOVA + 2 * (1UL << 20), PG,
			      gva(DATA_GPA + 2 * PG),
			      MOCK_SHADOW_CHECK_READONLY);
	check_mapped(id, IOVA + 3 * (1UL << 20), PG, DATA_GPA + 3 * PG, false);

	/* Guest lifts the PTE protection: becomes writable */
	ASSERT_EQ(0, s390_tbl_map(&self->t, IOVA, DATA_GPA, false));
	ASSERT_EQ(0, shadow_inv(self->fd, id, IOVA, PG));
	check_mapped(id, IOVA, PG, DATA_GPA, false);
	test_ioctl_destroy(id);
}

/* I1: unmapping guest RAM drops shadow entries that point into it */
TEST_F(shadow, stage2_unmap_leaf)
{
	struct iommu_test_shadow_stats st;
	__u32 id;

	/* Data page in its own IOAS area so it can be unmapped alone */
	static char page[PG] __aligned(PG);
	uint64_t gpa = GPA_BASE + RAM_SIZE + 16 * PG;

	test_ioctl_ioas_map_fixed_id(self->ioas_id, page, PG, gpa);
	ASSERT_EQ(0, s390_tbl_map(&self->t, IOVA, gpa, false));
	ASSERT_EQ(0, s390_tbl_map(&self->t, IOVA + PG, DATA_GPA, false));
	shadow_alloc(self->ioas_id, &id);
	test_cmd_mock_domain_replace(self->stdev_id, id);
	test_cmd_shadow_check(id, IOVA, PG, page, 0);

	test_ioctl_ioas_unmap_id(self->ioas_id, gpa, PG);
	check_unmapped(id, IOVA, PG);
	check_mapped(id, IOVA + PG, PG, DATA_GPA, false);
	test_cmd_shadow_stats(id, &st);
	ASSERT_EQ(1, st.zaps);

	/* The guest still points there: a refresh reports ENXIO */
	ASSERT_EQ(ENXIO, shadow_inv(self->fd, id, IOVA, PG));
	check_unmapped(id, IOVA, PG);

	/* Map it back: a refresh picks it up */
	test_ioctl_ioas_map_fixed_id(self->ioas_id, page, PG, gpa);
	ASSERT_EQ(0, shadow_inv(self->fd, id, IOVA, PG));
	test_cmd_shadow_check(id, IOVA, PG, page, 0);

	test_cmd_mock_domain_replace(self->stdev_id, self->paging_id);
	test_ioctl_destroy(id);
}

/* I1: unmapping guest RAM that holds a stage-1 table drops what it said */
TEST_F(shadow, stage2_unmap_page_table)
{
	struct iommu_test_shadow_stats st;
	uint64_t *ste, pt_gpa;
	static char pt[PG] __aligned(PG);
	uint64_t gpa = GPA_BASE + RAM_SIZE + 32 * PG;
	unsigned int i;
	__u32 id;

	/*
	 * Build the path with the helper, then move the page table to a
	 * page of its own area and point the segment entry at it.
	 */
	ASSERT_EQ(0, s390_tbl_map_range(&self->t, IOVA, DATA_GPA, 4 * PG,
					false));
	ste = s390_tbl_entry(&self->t, IOVA, 1);
	ASSERT_NE(NULL, ste);
	pt_gpa = be64toh(*ste) & S390_STE_ADDR_MASK;
	memcpy(pt, gva(pt_gpa), S390_PT_SIZE);
	for (i = S390_PT_ENTRIES; i < PG / 8; i++)
		((uint64_t *)pt)[i] = htobe64(S390_PTE_INVALID);
	test_ioctl_ioas_map_fixed_id(self->ioas_id, pt, PG, gpa);
	*ste = htobe64(gpa | S390_TE_TT_SX);

	shadow_alloc(self->ioas_id, &id);
	check_mapped(id, IOVA, 4 * PG, DATA_GPA, false);

	/* Unmap the page holding the page table: its IOVAs go */
	test_ioctl_ioas_unmap_id(self->ioas_id, gpa, PG);
	check_unmapped(id, IOVA, 4 * PG);
	test_cmd_shadow_stats(id, &st);
	ASSERT_EQ(1, st.zaps);
	/* A refresh now finds the table outside guest memory */
	ASSERT_EQ(ENXIO, shadow_inv(self->fd, id, IOVA, PG));
	test_ioctl_destroy(id);
}

TEST_F_TIMEOUT(shadow, hostile_tables, 300)
{
	uint64_t *rte, *ste, st_gpa;
	__u32 id, num;
	struct iommu_hwpt_shadow_invalidate *storm;
	unsigned int i;

	ASSERT_EQ(0, s390_tbl_map(&self->t, IOVA, DATA_GPA, false));
	shadow_alloc(self->ioas_id, &id);

	/* Wrong table type in the segment entry: EILSEQ */
	ste = s390_tbl_entry(&self->t, IOVA, 1);
	ASSERT_NE(NULL, ste);
	*ste = htobe64(be64toh(*ste) | (2 << 2));
	ASSERT_EQ(EILSEQ, shadow_inv(self->fd, id, IOVA, PG));
	/* A failed entry leaves the failing page unmapped */
	check_unmapped(id, IOVA, PG);
	*ste = htobe64(be64toh(*ste) & ~(3ULL << 2));

	/* Leaf outside guest memory: ENXIO, and that page is unmapped */
	ASSERT_EQ(0, s390_tbl_map(&self->t, IOVA, 1UL << 30, false));
	ASSERT_EQ(ENXIO, shadow_inv(self->fd, id, IOVA, PG));
	check_unmapped(id, IOVA, PG);

	/*
	 * Every segment entry aliases one page table: each MiB of the
	 * aperture maps the same page; bounded and exact.
	 */
	ASSERT_EQ(0, s390_tbl_map(&self->t, IOVA, DATA_GPA, false));
	ste = s390_tbl_entry(&self->t, IOVA, 1);
	ASSERT_NE(NULL, ste);
	rte = s390_tbl_entry(&self->t, IOVA, 2);
	ASSERT_NE(NULL, rte);
	st_gpa = be64toh(*rte) & S390_RTE_ADDR_MASK;
	for (i = 0; i < 2048; i++)
		((uint64_t *)gva(st_gpa))[i] = *ste;
	ASSERT_EQ(0, shadow_inv(self->fd, id, AP_START,
				AP_LAST - AP_START + 1));
	check_mapped(id, IOVA, PG, DATA_GPA, false);
	check_mapped(id, AP_START, PG, DATA_GPA, false);
	check_mapped(id, AP_LAST + 1 - (1UL << 20), PG, DATA_GPA, false);
	check_unmapped(id, AP_START + PG, PG);

	/* A segment entry pointing at its own segment table as page table */
	*ste = htobe64((be64toh(*rte) & S390_RTE_ADDR_MASK) | S390_TE_TT_SX);
	ASSERT_EQ(0, shadow_inv(self->fd, id, IOVA, 1UL << 20));

	/* An invalidation storm in one call: 100000 entries, bounded */
	storm = calloc(100000, sizeof(*storm));
	ASSERT_NE(NULL, storm);
	for (i = 0; i < 100000; i++) {
		storm[i].iova = IOVA;
		storm[i].length = PG;
	}
	num = 100000;
	_shadow_inv(self->fd, id, storm, &num);
	ASSERT_EQ(100000, num);
	free(storm);
	test_ioctl_destroy(id);
}

TEST_F(shadow, record_cap_enospc)
{
	FILE *f = fopen("/sys/module/iommufd/parameters/shadow_max_records",
			"r+");
	unsigned long old;
	__u32 id;

	if (!f)
		SKIP(return, "no shadow_max_records parameter");
	ASSERT_EQ(1, fscanf(f, "%lu", &old));
	/* Scattered pages: each its own record, tables count too */
	for (unsigned int i = 0; i < 32; i++)
		ASSERT_EQ(0, s390_tbl_map(&self->t, IOVA + 2 * i * PG,
					  DATA_GPA + i * PG, false));
	rewind(f);
	fprintf(f, "8\n");
	fflush(f);
	shadow_alloc_err(ENOSPC, self->ioas_id);
	rewind(f);
	fprintf(f, "%lu\n", old);
	fflush(f);
	fclose(f);
	shadow_alloc(self->ioas_id, &id);
	check_mapped(id, IOVA + 62 * PG, PG, DATA_GPA + 31 * PG, false);
	test_ioctl_destroy(id);
}

TEST_F(shadow, destroy_orders)
{
	__u32 parent_id, id, id2;

	/* A NEST_PARENT paging hwpt on a mock (which can nest) */
	test_cmd_hwpt_alloc(self->idev_id, self->ioas_id,
			    IOMMU_HWPT_ALLOC_NEST_PARENT, &parent_id);
	ASSERT_EQ(0, s390_tbl_map(&self->t, IOVA, DATA_GPA, false));
	shadow_alloc(parent_id, &id);
	shadow_alloc(self->ioas_id, &id2);
	check_mapped(id, IOVA, PG, DATA_GPA, false);

	/* Parent and IOAS are busy while a shadow uses them */
	EXPECT_ERRNO(EBUSY, _test_ioctl_destroy(self->fd, parent_id));
	EXPECT_ERRNO(EBUSY, _test_ioctl_destroy(self->fd, self->ioas_id));
	/* A shadow in use by a device is busy */
	test_cmd_mock_domain_replace(self->stdev_id, id);
	EXPECT_ERRNO(EBUSY, _test_ioctl_destroy(self->fd, id));
	/* Replace shadow -> shadow, then back to paging */
	test_cmd_mock_domain_replace(self->stdev_id, id2);
	test_ioctl_destroy(id);
	test_cmd_mock_domain_replace(self->stdev_id, self->paging_id);
	test_ioctl_destroy(parent_id);
	/* id2 is left for close() to clean up with everything else */
}

TEST_F(shadow, two_devices)
{
	__u32 stdev2, hwpt2, idev2, id;

	test_cmd_mock_domain(self->ioas_id, &stdev2, &hwpt2, &idev2);
	ASSERT_EQ(0, s390_tbl_map(&self->t, IOVA, DATA_GPA, false));
	shadow_alloc(self->ioas_id, &id);
	test_cmd_mock_domain_replace(self->stdev_id, id);
	test_cmd_mock_domain_replace(stdev2, id);
	ASSERT_EQ(0, s390_tbl_map(&self->t, IOVA + PG, DATA_GPA + PG, false));
	ASSERT_EQ(0, shadow_inv(self->fd, id, IOVA + PG, PG));
	check_mapped(id, IOVA, 2 * PG, DATA_GPA, false);
	test_cmd_mock_domain_replace(self->stdev_id, self->paging_id);
	EXPECT_ERRNO(EBUSY, _test_ioctl_destroy(self->fd, id));
	test_cmd_mock_domain_replace(stdev2, hwpt2);
	test_ioctl_destroy(id);
}

TEST_F(shadow, kvm_binding)
{
	int kvm, vm, vm2;
	__u32 id;

	kvm = open("/dev/kvm", O_RDWR);
	if (kvm < 0)
		SKIP(return, "no /dev/kvm");
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	ASSERT_LE(0, vm);
	vm2 = ioctl(kvm, KVM_CREATE_VM, 0);
	ASSERT_LE(0, vm2);

	/* The /dev/kvm fd itself is not a VM */
	self->data.flags = IOMMU_HWPT_SHADOW_KVM_FD;
	self->data.kvm_fd = kvm;
	shadow_alloc_err(EINVAL, self->ioas_id);

	self->data.kvm_fd = vm;
	shadow_alloc(self->ioas_id, &id);
	test_cmd_mock_domain_replace(self->stdev_id, id);
	/* The VM outlives its fd for as long as the shadow holds it */
	close(vm);

	/* A hypervisor refresh through the in-kernel entry point */
	ASSERT_EQ(0, s390_tbl_map(&self->t, IOVA, DATA_GPA, false));
	check_unmapped(id, IOVA, PG);
	/* Another VM is not bound to it */
	test_err_shadow_kvm_refresh(ENOENT, vm2, self->idev_id, IOVA, PG);
	check_unmapped(id, IOVA, PG);
	test_cmd_mock_domain_replace(self->stdev_id, self->paging_id);
	test_ioctl_destroy(id);
	close(vm2);
	close(kvm);
}

TEST_F(shadow, kvm_refresh)
{
	int kvm, vm;
	__u32 id;

	kvm = open("/dev/kvm", O_RDWR);
	if (kvm < 0)
		SKIP(return, "no /dev/kvm");
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	ASSERT_LE(0, vm);
	self->data.flags = IOMMU_HWPT_SHADOW_KVM_FD;
	self->data.kvm_fd = vm;
	shadow_alloc(self->ioas_id, &id);
	test_cmd_mock_domain_replace(self->stdev_id, id);

	ASSERT_EQ(0, s390_tbl_map(&self->t, IOVA, DATA_GPA, false));
	test_cmd_shadow_kvm_refresh(vm, self->idev_id, IOVA, PG);
	check_mapped(id, IOVA, PG, DATA_GPA, false);
	/* Bad ranges as for IOMMU_HWPT_INVALIDATE */
	test_err_shadow_kvm_refresh(EINVAL, vm, self->idev_id, IOVA + 1, PG);

	test_cmd_mock_domain_replace(self->stdev_id, self->paging_id);
	test_ioctl_destroy(id);
	close(vm);
	close(kvm);
}

/* Threads invalidate while others map/unmap guest RAM and re-attach */
struct race {
	int fd;
	__u32 ioas_id, hwpt_id, stdev_id, paging_id;
	bool stop;
};

static void *race_inv(void *arg)
{
	struct race *r = arg;

	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED))
		shadow_inv(r->fd, r->hwpt_id, IOVA, 16 * PG);
	return NULL;
}

static void *race_unmap(void *arg)
{
	struct race *r = arg;
	uint64_t gpa = DATA_GPA;

	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
		struct iommu_ioas_unmap un = {
			.size = sizeof(un),
			.ioas_id = r->ioas_id,
			.iova = gpa,
			.length = 16 * PG,
		};
		struct iommu_ioas_map map = {
			.size = sizeof(map),
			.flags = IOMMU_IOAS_MAP_FIXED_IOVA |
				 IOMMU_IOAS_MAP_READABLE |
				 IOMMU_IOAS_MAP_WRITEABLE,
			.ioas_id = r->ioas_id,
			.user_va = (uintptr_t)gva(gpa),
			.length = 16 * PG,
			.iova = gpa,
		};

		ioctl(r->fd, IOMMU_IOAS_UNMAP, &un);
		ioctl(r->fd, IOMMU_IOAS_MAP, &map);
	}
	return NULL;
}

static void *race_attach(void *arg)
{
	struct race *r = arg;

	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
		_test_cmd_mock_domain_replace(r->fd, r->stdev_id, r->hwpt_id,
					      NULL);
		_test_cmd_mock_domain_replace(r->fd, r->stdev_id,
					      r->paging_id, NULL);
	}
	return NULL;
}

TEST_F(shadow, race_invalidate_unmap_attach)
{
	struct race r = { .fd = self->fd, .ioas_id = self->ioas_id,
			  .stdev_id = self->stdev_id,
			  .paging_id = self->paging_id };
	pthread_t th[3];
	__u32 id;

	/* The data pages get their own area so they can be unmapped */
	test_ioctl_ioas_unmap_id(self->ioas_id, GPA_BASE, RAM_SIZE);
	test_ioctl_ioas_map_fixed_id(self->ioas_id, ram, TBL_SIZE, GPA_BASE);
	test_ioctl_ioas_map_fixed_id(self->ioas_id, gva(DATA_GPA), 16 * PG,
				     DATA_GPA);
	ASSERT_EQ(0, s390_tbl_map_range(&self->t, IOVA, DATA_GPA, 16 * PG,
					false));
	shadow_alloc(self->ioas_id, &id);
	r.hwpt_id = id;

	ASSERT_EQ(0, pthread_create(&th[0], NULL, race_inv, &r));
	ASSERT_EQ(0, pthread_create(&th[1], NULL, race_unmap, &r));
	ASSERT_EQ(0, pthread_create(&th[2], NULL, race_attach, &r));
	sleep(3);
	__atomic_store_n(&r.stop, true, __ATOMIC_RELAXED);
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);

	/* Quiesced: one refresh makes the shadow exact again */
	_test_cmd_mock_domain_replace(self->fd, self->stdev_id,
				      self->paging_id, NULL);
	test_ioctl_ioas_unmap_id(self->ioas_id, DATA_GPA, 16 * PG);
	test_ioctl_ioas_map_fixed_id(self->ioas_id, gva(DATA_GPA), 16 * PG,
				     DATA_GPA);
	ASSERT_EQ(0, shadow_inv(self->fd, id, IOVA, 16 * PG));
	check_mapped(id, IOVA, 16 * PG, DATA_GPA, false);
	test_ioctl_destroy(id);
}

/* Observability: the iommufd_shadow trace events report what happened */
static int tracefs_write(const char *file, const char *val)
{
	char path[128];
	int fd, n;

	snprintf(path, sizeof(path), "/sys/kernel/tracing/%s", file);
	fd = open(path, O_WRONLY | O_TRUNC);
	if (fd < 0)
		return -1;
	n = write(fd, val, strlen(val));
	close(fd);
	return n < 0 ? -1 : 0;
}

TEST_F(shadow, trace_events)
{
	static char page[PG] __aligned(PG);
	uint64_t gpa = GPA_BASE + RAM_SIZE + 16 * PG;
	unsigned int allocs = 0, destroys = 0;
	char buf[8192], want[128];
	ssize_t n, len = 0;
	const char *p;
	bool found;
	__u32 id;
	int fd;

	/* Mount tracefs if nobody did */
	mkdir("/sys/kernel/tracing", 0755);
	mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL);
	if (access("/sys/kernel/tracing/events/iommufd_shadow", F_OK))
		SKIP(return, "kernel without tracing");
	ASSERT_EQ(0, tracefs_write("trace", ""));
	ASSERT_EQ(0, tracefs_write("events/iommufd_shadow/enable", "1"));

	test_ioctl_ioas_map_fixed_id(self->ioas_id, page, PG, gpa);
	ASSERT_EQ(0, s390_tbl_map(&self->t, IOVA, gpa, false));
	shadow_alloc(self->ioas_id, &id);
	ASSERT_EQ(0, s390_tbl_map(&self->t, IOVA + PG, DATA_GPA, false));
	ASSERT_EQ(0, shadow_inv(self->fd, id, IOVA + PG, PG));
	test_ioctl_ioas_unmap_id(self->ioas_id, gpa, PG);
	/* A failed allocation is an alloc and a destroy event too */
	self->data.root |= 5 << 2;
	shadow_alloc_err(EILSEQ, self->ioas_id);
	self->data.root = self->iota;
	ASSERT_EQ(0, s390_tbl_map(&self->t, IOVA + 2 * PG, 1UL << 30, false));
	shadow_alloc_err(ENXIO, self->ioas_id);
	test_ioctl_destroy(id);
	ASSERT_EQ(0, tracefs_write("events/iommufd_shadow/enable", "0"));

	fd = open("/sys/kernel/tracing/trace", O_RDONLY);
	ASSERT_LE(0, fd);
	while (len < (ssize_t)sizeof(buf) - 1 &&
	       (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += n;
	buf[len] = 0;
	close(fd);

	snprintf(want, sizeof(want), "shadow_alloc: hwpt=%u format=1", id);
	found = strstr(buf, want);
	snprintf(want, sizeof(want),
		 "shadow_sync: hwpt=%u iova=0x%lx-0x%lx mapped=1 unmapped=0",
		 id, IOVA + PG, IOVA + 2 * PG - 1);
	found = found && strstr(buf, want);
	snprintf(want, sizeof(want),
		 "shadow_zap: hwpt=%u gpa=0x%lx-0x%lx unmapped=1", id, gpa,
		 gpa + PG - 1);
	found = found && strstr(buf, want);
	snprintf(want, sizeof(want), "shadow_destroy: hwpt=%u", id);
	found = found && strstr(buf, want);
	if (!found)
		TH_LOG("missing '%s' or an earlier event in:\n%s", want, buf);
	ASSERT_TRUE(found);
	/* As many destroys as allocs: the one that failed early has none */
	for (p = buf; (p = strstr(p, "shadow_alloc: ")); p++)
		allocs++;
	for (p = buf; (p = strstr(p, "shadow_destroy: ")); p++)
		destroys++;
	EXPECT_EQ(2, allocs);
	EXPECT_EQ(2, destroys);
}

/*
 * I4: a long sync (every segment entry of the aperture aliases one full
 * page table: half a million pages) stops on a fatal signal; the killed
 * process goes away in bounded time and the kernel stays quiet.
 */
TEST_F_TIMEOUT(shadow, long_sync_killed, 300)
{
	struct timespec t0, t1;
	int ready[2], status;
	long ms;
	pid_t pid;
	char c;

	ASSERT_EQ(0, pipe(ready));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		uint64_t *ste, *rte, st_gpa;
		unsigned int i;
		__u32 id;

		close(ready[0]);
		/* A full page table, then every segment entry points at it */
		if (s390_tbl_map_range(&self->t, IOVA, DATA_GPA, 256 * PG,
				       false))
			_exit(2);
		ste = s390_tbl_entry(&self->t, IOVA, 1);
		rte = s390_tbl_entry(&self->t, IOVA, 2);
		st_gpa = be64toh(*rte) & S390_RTE_ADDR_MASK;
		for (i = 0; i < 2048; i++)
			((uint64_t *)gva(st_gpa))[i] = *ste;
		if (write(ready[1], "x", 1) != 1)
			_exit(3);
		/* Killed in here, long before it could finish */
		_shadow_alloc(self->fd, self->idev_id, self->ioas_id, 0,
			      &self->data, sizeof(self->data), &id);
		_exit(0);
	}
	close(ready[1]);
	ASSERT_EQ(1, read(ready[0], &c, 1));
	usleep(300 * 1000);
	ASSERT_EQ(0, clock_gettime(CLOCK_MONOTONIC, &t0));
	ASSERT_EQ(0, kill(pid, SIGKILL));
	alarm(120);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	alarm(0);
	ASSERT_EQ(0, clock_gettime(CLOCK_MONOTONIC, &t1));
	ASSERT_TRUE(WIFSIGNALED(status));
	ASSERT_EQ(SIGKILL, WTERMSIG(status));
	/*
	 * The whole sync takes ~9 s in the test VM; stopping it at the signal
	 * and tearing down what it built must take a fraction of that.
	 */
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	TH_LOG("killed sync gone after %ld ms", ms);
	ASSERT_GT(5000, ms);
	close(ready[0]);
}

/*
 * Pages this kernel has pinned with FOLL_PIN since boot, exactly: per-CPU
 * deltas reach /proc/vmstat only when vmstat_update() folds them, unless
 * stat_refresh folds them now (without it a slow s390x VM saw pins of the
 * IOAS map arrive after the next read). -1 if it cannot be had exactly.
 */
static long vmstat_exact(const char *name)
{
	char line[128], key[64];
	long val = -1, v;
	FILE *f;

	if (shadow_sysfs_write("/proc/sys/vm/stat_refresh", "1"))
		return -1;
	f = fopen("/proc/vmstat", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %ld", key, &v) == 2 &&
		    !strcmp(key, name)) {
			val = v;
			break;
		}
	fclose(f);
	return val;
}

static long foll_pins(void)
{
	return vmstat_exact("nr_foll_pin_acquired");
}

static long foll_unpins(void)
{
	return vmstat_exact("nr_foll_pin_released");
}

/*
 * I3: the sync path never pins. Mapping guest RAM into the IOAS pins (the
 * counter works); shadowing 64 pages of it, invalidating and zapping does
 * not pin once more.
 */
TEST_F(shadow, sync_takes_no_pins)
{
	static char pages[64 * PG] __aligned(PG);
	uint64_t gpa = GPA_BASE + RAM_SIZE;
	long before, after;
	__u32 id;

	before = foll_pins();
	if (before < 0)
		SKIP(return,
		     "no exact nr_foll_pin_acquired (vmstat, stat_refresh)");
	test_ioctl_ioas_map_fixed_id(self->ioas_id, pages, sizeof(pages), gpa);
	after = foll_pins();
	ASSERT_LT(before, after);

	before = after;
	ASSERT_EQ(0, s390_tbl_map_range(&self->t, IOVA, gpa, 64 * PG, false));
	shadow_alloc(self->ioas_id, &id);
	test_cmd_mock_domain_replace(self->stdev_id, id);
	ASSERT_EQ(0, s390_tbl_map_range(&self->t, IOVA, gpa + 32 * PG,
					32 * PG, false));
	ASSERT_EQ(0, shadow_inv(self->fd, id, IOVA, 64 * PG));
	test_cmd_shadow_check(id, IOVA, 32 * PG, pages + 32 * PG, 0);
	after = foll_pins();
	ASSERT_EQ(before, after);
	test_cmd_mock_domain_replace(self->stdev_id, self->paging_id);
	test_ioctl_destroy(id);
}

/*
 * A parent the kernel made for pt_id = IOAS outlives its last shadow: a
 * guest that deregisters and registers its tables again (Linux does on
 * every domain switch) gets the next shadow without all of its memory
 * unpinned, pinned and mapped again. IOAS_DESTROY works as soon as no
 * shadow uses the parent, and releases the pins.
 */
TEST_F(shadow, parent_kept_across_realloc)
{
	long before, after, unpins;
	__u32 ioas2, id, id2;

	if (foll_pins() < 0)
		SKIP(return,
		     "no exact nr_foll_pin_acquired (vmstat, stat_refresh)");
	/* An IOAS no device is attached to, as QEMU's guest-RAM IOAS */
	test_ioctl_ioas_alloc(&ioas2);
	test_ioctl_ioas_map_fixed_id(ioas2, ram, RAM_SIZE, GPA_BASE);
	ASSERT_EQ(0, s390_tbl_map(&self->t, IOVA, DATA_GPA, false));

	before = foll_pins();
	shadow_alloc(ioas2, &id);
	after = foll_pins();
	/* The parent made for it pinned all guest RAM */
	ASSERT_LE(before + (long)(RAM_SIZE / PG), after);
	check_mapped(id, IOVA, PG, DATA_GPA, false);
	test_ioctl_destroy(id);

	/* Registered again: the same parent, not one pin more or less */
	before = after;
	unpins = foll_unpins();
	shadow_alloc(ioas2, &id2);
	check_mapped(id2, IOVA, PG, DATA_GPA, false);
	ASSERT_EQ(before, foll_pins());
	ASSERT_EQ(unpins, foll_unpins());
	test_ioctl_destroy(id2);
	shadow_alloc(ioas2, &id);
	ASSERT_EQ(before, foll_pins());

	/* Busy while a shadow uses it; then destroyed, and unpinned */
	EXPECT_ERRNO(EBUSY, _test_ioctl_destroy(self->fd, ioas2));
	test_ioctl_destroy(id);
	ASSERT_EQ(unpins, foll_unpins());
	test_ioctl_destroy(ioas2);
	ASSERT_LE(unpins + (long)(RAM_SIZE / PG), foll_unpins());
	EXPECT_ERRNO(ENOENT, _test_ioctl_destroy(self->fd, ioas2));
}

/*
 * The parent kept for the next shadow is destroyed with the iommufd too
 * (no reference cycle keeps the IOAS), and a device's own auto domain the
 * shadow used as parent is left to the device.
 */
TEST_F(shadow, parent_kept_until_close)
{
	__u32 ioas_dev, ioas2, stdev2, hwpt2, idev2, id, id2;
	int fd2;

	ASSERT_EQ(0, s390_tbl_map(&self->t, IOVA, DATA_GPA, false));
	/* A second iommufd whose kept parent is still there at close */
	fd2 = open("/dev/iommu", O_RDWR);
	ASSERT_NE(-1, fd2);
	ASSERT_EQ(0, _test_ioctl_ioas_alloc(fd2, &ioas_dev));
	ASSERT_EQ(0, _test_cmd_mock_domain(fd2, ioas_dev, &stdev2, &hwpt2,
					   &idev2));
	ASSERT_EQ(0, _test_ioctl_ioas_alloc(fd2, &ioas2));
	ASSERT_EQ(0, _test_ioctl_ioas_map(fd2, ioas2, ram, RAM_SIZE,
					  &(__u64){ GPA_BASE },
					  IOMMU_IOAS_MAP_FIXED_IOVA |
					  IOMMU_IOAS_MAP_READABLE |
					  IOMMU_IOAS_MAP_WRITEABLE));
	ASSERT_EQ(0, _shadow_alloc(fd2, idev2, ioas2, 0, &self->data,
				   sizeof(self->data), &id));
	ASSERT_EQ(0, _test_ioctl_destroy(fd2, id));
	/* Everything goes as leaves; a refcount cycle would WARN here */
	ASSERT_EQ(0, close(fd2));

	/* Here: the device's auto domain is the parent, and stays its own */
	ASSERT_EQ(0, s390_tbl_map(&self->t, IOVA, DATA_GPA, false));
	shadow_alloc(self->ioas_id, &id);
	test_ioctl_destroy(id);
	test_cmd_mock_domain_replace(self->stdev_id, self->paging_id);
	shadow_alloc(self->ioas_id, &id2);
	check_mapped(id2, IOVA, PG, DATA_GPA, false);
	test_ioctl_destroy(id2);
	/* The IOAS is the device's: busy, as before */
	EXPECT_ERRNO(EBUSY, _test_ioctl_destroy(self->fd, self->ioas_id));
}

TEST_HARNESS_MAIN
