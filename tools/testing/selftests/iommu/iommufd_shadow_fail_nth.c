// SPDX-License-Identifier: GPL-2.0-only
/*
 * Allocation-failure sweeps over shadow nesting: run one sequence of shadow
 * operations (allocate, attach, invalidate after a table change, stage-2
 * unmap, destroy) with the Nth fault-injection point of the task failing,
 * for N = 1, 2, ... until a run hits no injection point. Every run must end
 * without a kernel report (the VM runner fails on any), with each failing
 * call returning an errno, and with the invariants intact: a stage-2 unmap
 * always removes what pointed into it (I1) even when its own allocations
 * fail, and once injection stops one refresh makes the shadow exact again.
 *
 * Run in the "mock" VM profile; needs failslab and fail-nth (debugfs).
 */
#include <dirent.h>
#include <fcntl.h>

#include "iommufd_utils.h"
#include "shadow_s390_lib.h"
#include "shadow_test_utils.h"

#define PG		0x1000UL
#define GPA_BASE	0x1000000UL	/* MOCK_APERTURE_START */
#define RAM_SIZE	0x200000UL
#define TBL_SIZE	0x100000UL
#define DATA_GPA	(GPA_BASE + TBL_SIZE)
#define LEAF_GPA	(GPA_BASE + RAM_SIZE)	/* a page in its own area */
#define AP_START	0x1000000UL
#define AP_LAST		0x7fffffffUL
#define IOVA		0x10000000UL
#define MAX_NTH		2000

static void *ram;
static char leaf[PG] __attribute__((aligned(PG)));
static bool have_fault_injection;

static int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -1;
}

static __attribute__((constructor)) void setup(void)
{
	ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	/* Any allocation may fail, and failures should not flood the log */
	if (write_file("/sys/kernel/debug/failslab/ignore-gfp-wait", "N"))
		return;
	write_file("/sys/kernel/debug/fail_page_alloc/ignore-gfp-wait", "N");
	write_file("/sys/kernel/debug/failslab/verbose", "0");
	write_file("/sys/kernel/debug/fail_page_alloc/verbose", "0");
	write_file("/sys/kernel/debug/fail_iommufd/verbose", "0");
	have_fault_injection = true;
}

/* Arm the Nth injection point of this thread; 0 disarms */
static void nth_arm(int fd, unsigned int nth)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%u", nth);

	/* Disarming may itself be an injection point: retry */
	while (pwrite(fd, buf, len, 0) != len && errno == EFAULT)
		;
}

/* Whether the armed injection happened; disarms */
static bool nth_hit(int fd)
{
	char buf[16] = "";
	bool hit;

	hit = pread(fd, buf, sizeof(buf) - 1, 0) > 0 && buf[0] == '0';
	nth_arm(fd, 0);
	return hit;
}

/* The library's helpers return -errno; these tests compare errno values */
static int shadow_alloc(int fd, __u32 dev_id, __u32 pt_id, uint64_t iota,
			__u32 *id)
{
	return -iommufd_shadow_alloc(fd, dev_id, pt_id,
				     IOMMU_SHADOW_FORMAT_S390, iota, AP_START,
				     AP_LAST, id);
}

/* iova 0 with len 0: the whole aperture */
static int shadow_inv(int fd, __u32 id, uint64_t iova, uint64_t len)
{
	return -iommufd_shadow_invalidate(fd, id, iova, len);
}

static void *gva(uint64_t gpa)
{
	return (char *)ram + (gpa - GPA_BASE);
}

FIXTURE(shadow_fail_nth)
{
	int fd;
	int nth_fd;
	__u32 ioas_id, stdev_id, paging_id, idev_id;
	struct s390_tables t;
	uint64_t iota;
};

FIXTURE_VARIANT(shadow_fail_nth)
{
	bool nest_parent;	/* pt_id: a NEST_PARENT hwpt, else the IOAS */
};

FIXTURE_VARIANT_ADD(shadow_fail_nth, ioas)
{
	.nest_parent = false,
};

FIXTURE_VARIANT_ADD(shadow_fail_nth, nest_parent)
{
	.nest_parent = true,
};

FIXTURE_SETUP(shadow_fail_nth)
{
	char path[64];

	if (!have_fault_injection)
		SKIP(return, "fault injection is not available");
	snprintf(path, sizeof(path), "/proc/self/task/%d/fail-nth",
		 (int)gettid());
	self->nth_fd = open(path, O_RDWR);
	ASSERT_LE(0, self->nth_fd);
}

FIXTURE_TEARDOWN(shadow_fail_nth)
{
	close(self->nth_fd);
}

/* One run of the sequence with the Nth injection point failing */
static bool run_once(struct __test_metadata *_metadata,
		     FIXTURE_DATA(shadow_fail_nth) * self, bool nest_parent,
		     unsigned int nth)
{
	__u32 pt_id, id = 0;
	bool unmapped = false;
	bool hit;
	int rc;

	/* Set-up is not under test: no injection yet */
	self->fd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, self->fd);
	memset(ram, 0, RAM_SIZE);
	ASSERT_EQ(0, _test_ioctl_ioas_alloc(self->fd, &self->ioas_id));
	ASSERT_EQ(0, _test_ioctl_ioas_map(self->fd, self->ioas_id, ram,
					  RAM_SIZE, &(__u64){ GPA_BASE },
					  IOMMU_IOAS_MAP_FIXED_IOVA |
					  IOMMU_IOAS_MAP_READABLE |
					  IOMMU_IOAS_MAP_WRITEABLE));
	ASSERT_EQ(0, _test_ioctl_ioas_map(self->fd, self->ioas_id, leaf, PG,
					  &(__u64){ LEAF_GPA },
					  IOMMU_IOAS_MAP_FIXED_IOVA |
					  IOMMU_IOAS_MAP_READABLE |
					  IOMMU_IOAS_MAP_WRITEABLE));
	ASSERT_EQ(0, _test_cmd_mock_domain(self->fd, self->ioas_id,
					   &self->stdev_id, &self->paging_id,
					   &self->idev_id));
	s390_tbl_init(&self->t, ram, GPA_BASE, TBL_SIZE);
	ASSERT_EQ(0, s390_tbl_new_root(&self->t, &self->iota));
	ASSERT_EQ(0, s390_tbl_map_range(&self->t, IOVA, DATA_GPA, 8 * PG,
					false));
	ASSERT_EQ(0, s390_tbl_map(&self->t, IOVA + 16 * PG, LEAF_GPA, false));
	pt_id = self->ioas_id;
	if (nest_parent)
		ASSERT_EQ(0, _test_cmd_hwpt_alloc(self->fd, self->idev_id,
						  self->ioas_id, 0,
						  IOMMU_HWPT_ALLOC_NEST_PARENT,
						  &pt_id, IOMMU_HWPT_DATA_NONE,
						  NULL, 0));

	nth_arm(self->nth_fd, nth);
	rc = shadow_alloc(self->fd, self->idev_id, pt_id, self->iota, &id);
	if (!rc) {
		/* Back to the IOAS: its auto domain may be gone by then */
		if (_test_cmd_mock_domain_replace(self->fd, self->stdev_id, id,
						  NULL) == 0)
			_test_cmd_mock_domain_replace(self->fd,
						      self->stdev_id,
						      self->ioas_id, NULL);
		ASSERT_EQ(0, s390_tbl_unmap(&self->t, IOVA + 2 * PG));
		ASSERT_EQ(0, s390_tbl_map(&self->t, IOVA + 32 * PG,
					  DATA_GPA + 9 * PG, false));
		shadow_inv(self->fd, id, IOVA, 64 * PG);
		/* Stage-2 unmap of the leaf page: must zap whatever fails */
		unmapped = !_test_ioctl_ioas_unmap(self->fd, self->ioas_id,
						   LEAF_GPA, PG, NULL);
	}
	hit = nth_hit(self->nth_fd);

	if (!rc) {
		if (!unmapped)
			ASSERT_EQ(0, _test_ioctl_ioas_unmap(self->fd,
							    self->ioas_id,
							    LEAF_GPA, PG,
							    NULL));
		/* I1 held through every failure */
		test_cmd_shadow_check(id, IOVA + 16 * PG, PG, NULL, 0);
		/* Recovery: the guest refreshes everything, and it is exact */
		ASSERT_EQ(0, _test_ioctl_ioas_map(self->fd, self->ioas_id,
						  leaf, PG,
						  &(__u64){ LEAF_GPA },
						  IOMMU_IOAS_MAP_FIXED_IOVA |
						  IOMMU_IOAS_MAP_READABLE |
						  IOMMU_IOAS_MAP_WRITEABLE));
		ASSERT_EQ(0, shadow_inv(self->fd, id, 0, 0));
		test_cmd_shadow_check(id, IOVA, 2 * PG, gva(DATA_GPA), 0);
		test_cmd_shadow_check(id, IOVA + 2 * PG, PG, NULL, 0);
		test_cmd_shadow_check(id, IOVA + 3 * PG, 5 * PG,
				      gva(DATA_GPA + 3 * PG), 0);
		test_cmd_shadow_check(id, IOVA + 16 * PG, PG, leaf, 0);
		test_cmd_shadow_check(id, IOVA + 32 * PG, PG,
				      gva(DATA_GPA + 9 * PG), 0);
		/* A replace back may have failed above: do it now */
		ASSERT_EQ(0, _test_cmd_mock_domain_replace(self->fd,
							   self->stdev_id,
							   self->ioas_id,
							   NULL));
		ASSERT_EQ(0, _test_ioctl_destroy(self->fd, id));
	} else {
		/* A failed allocation says why with an errno, and only then */
		ASSERT_TRUE(hit);
		ASSERT_NE(0, rc);
	}
	/* Everything left goes with the fd; the VM catches leaks of state */
	close(self->fd);
	return hit;
}

TEST_F_TIMEOUT(shadow_fail_nth, alloc_invalidate_unmap, 900)
{
	unsigned int nth;

	for (nth = 1; nth < MAX_NTH; nth++)
		if (!run_once(_metadata, self, variant->nest_parent, nth))
			break;
	TH_LOG("swept %u injection points", nth - 1);
	/* The sequence has injection points; reaching the end proves all */
	ASSERT_LT(10, nth);
	ASSERT_GT(MAX_NTH, nth);
}

/*
 * One run of the parent-keeping sequence with the Nth injection point
 * failing: shadow on an IOAS no device uses (the kernel makes the parent),
 * destroy, shadow again (the kept parent), destroy, IOMMU_DESTROY of the
 * IOAS. Whatever failed, no shadow is left, so destroying the IOAS must
 * work; the fd's close then finds nothing left of it.
 */
static bool run_keep_once(struct __test_metadata *_metadata,
			  FIXTURE_DATA(shadow_fail_nth) * self,
			  unsigned int nth)
{
	__u32 ioas2, id;
	int rc, rc2, rc3;
	bool hit;

	self->fd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, self->fd);
	memset(ram, 0, RAM_SIZE);
	ASSERT_EQ(0, _test_ioctl_ioas_alloc(self->fd, &self->ioas_id));
	ASSERT_EQ(0, _test_cmd_mock_domain(self->fd, self->ioas_id,
					   &self->stdev_id, &self->paging_id,
					   &self->idev_id));
	ASSERT_EQ(0, _test_ioctl_ioas_alloc(self->fd, &ioas2));
	ASSERT_EQ(0, _test_ioctl_ioas_map(self->fd, ioas2, ram, RAM_SIZE,
					  &(__u64){ GPA_BASE },
					  IOMMU_IOAS_MAP_FIXED_IOVA |
					  IOMMU_IOAS_MAP_READABLE |
					  IOMMU_IOAS_MAP_WRITEABLE));
	s390_tbl_init(&self->t, ram, GPA_BASE, TBL_SIZE);
	ASSERT_EQ(0, s390_tbl_new_root(&self->t, &self->iota));
	ASSERT_EQ(0, s390_tbl_map_range(&self->t, IOVA, DATA_GPA, 8 * PG,
					false));

	nth_arm(self->nth_fd, nth);
	rc = shadow_alloc(self->fd, self->idev_id, ioas2, self->iota, &id);
	if (!rc)
		_test_ioctl_destroy(self->fd, id);
	rc2 = shadow_alloc(self->fd, self->idev_id, ioas2, self->iota, &id);
	if (!rc2) {
		if (_test_cmd_shadow_check(self->fd, id, IOVA, 8 * PG,
					   gva(DATA_GPA), 0))
			rc2 = -1;
		_test_ioctl_destroy(self->fd, id);
	}
	rc3 = _test_ioctl_destroy(self->fd, ioas2);
	hit = nth_hit(self->nth_fd);

	/* No shadow left: the IOAS goes, with the parent kept for it */
	if (rc3)
		TH_LOG("nth %u: IOAS destroy: %s", nth, strerror(errno));
	ASSERT_EQ(0, rc3);
	if (!hit) {
		ASSERT_EQ(0, rc);
		ASSERT_EQ(0, rc2);
	}
	close(self->fd);
	return hit;
}

TEST_F_TIMEOUT(shadow_fail_nth, parent_kept_ioas_destroy, 900)
{
	unsigned int nth;

	/* The sequence does not depend on the variant: run it once */
	if (variant->nest_parent)
		SKIP(return, "run by the ioas variant");
	for (nth = 1; nth < MAX_NTH; nth++)
		if (!run_keep_once(_metadata, self, nth))
			break;
	TH_LOG("swept %u injection points", nth - 1);
	ASSERT_LT(10, nth);
	ASSERT_GT(MAX_NTH, nth);
}

/*
 * A device write through the shadow, 4 KiB at @iova: 0 if it happened
 * (tracked or not: EINVAL is a shadow domain that does not track), or the
 * errno that kept the test op from simulating it.
 */
static int dev_write(int fd, __u32 id, uint64_t iova)
{
	unsigned long bits = 3;	/* both 2 KiB IO pages of the mock */
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_DIRTY,
		.id = id,
		.dirty = { .iova = iova, .length = PG, .page_size = PG / 2,
			   .uptr = (uintptr_t)&bits },
	};

	if (ioctl(fd, IOMMU_TEST_CMD, &cmd))
		return errno == EINVAL ? 0 : errno;
	return 0;
}

#define DIRTY_BMAP_LONGS	((RAM_SIZE + PG) / PG / BITS_PER_LONG + 1)

/* Read the parent's bitmap over guest RAM and the leaf page into @bmap */
static int read_dirty(int fd, __u32 parent, unsigned long *bmap)
{
	return _test_cmd_get_dirty_bitmap(fd, parent,
					  DIRTY_BMAP_LONGS * BITS_PER_LONG * PG,
					  GPA_BASE, PG, (__u64 *)bmap, 0) ?
	       errno : 0;
}

static bool dirty_at(const unsigned long *bmap, uint64_t gpa)
{
	return test_bit((gpa - GPA_BASE) / PG, (unsigned long *)bmap);
}

/*
 * Dirty tracking through a shadow with the Nth injection point failing:
 * enable on the parent, device writes, a guest unmap and a stage-2 unmap
 * that harvest them, a read. Whatever fails, a write made while tracking
 * was on is reported by that read or, if the read failed, by the next.
 */
static bool run_dirty_once(struct __test_metadata *_metadata,
			   FIXTURE_DATA(shadow_fail_nth) * self,
			   unsigned int nth)
{
	unsigned long b1[DIRTY_BMAP_LONGS] = {}, b2[DIRTY_BMAP_LONGS] = {};
	int rc, rc_en = -1, rc_w1 = -1, rc_w2 = -1, rc_rd = -1;
	__u32 parent, id = 0;
	bool hit;

	self->fd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, self->fd);
	memset(ram, 0, RAM_SIZE);
	ASSERT_EQ(0, _test_ioctl_ioas_alloc(self->fd, &self->ioas_id));
	ASSERT_EQ(0, _test_ioctl_ioas_map(self->fd, self->ioas_id, ram,
					  RAM_SIZE, &(__u64){ GPA_BASE },
					  IOMMU_IOAS_MAP_FIXED_IOVA |
					  IOMMU_IOAS_MAP_READABLE |
					  IOMMU_IOAS_MAP_WRITEABLE));
	ASSERT_EQ(0, _test_ioctl_ioas_map(self->fd, self->ioas_id, leaf, PG,
					  &(__u64){ LEAF_GPA },
					  IOMMU_IOAS_MAP_FIXED_IOVA |
					  IOMMU_IOAS_MAP_READABLE |
					  IOMMU_IOAS_MAP_WRITEABLE));
	ASSERT_EQ(0, _test_cmd_mock_domain(self->fd, self->ioas_id,
					   &self->stdev_id, &self->paging_id,
					   &self->idev_id));
	ASSERT_EQ(0, _test_cmd_hwpt_alloc(self->fd, self->idev_id,
					  self->ioas_id, 0,
					  IOMMU_HWPT_ALLOC_NEST_PARENT |
					  IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
					  &parent, IOMMU_HWPT_DATA_NONE,
					  NULL, 0));
	s390_tbl_init(&self->t, ram, GPA_BASE, TBL_SIZE);
	ASSERT_EQ(0, s390_tbl_new_root(&self->t, &self->iota));
	ASSERT_EQ(0, s390_tbl_map_range(&self->t, IOVA, DATA_GPA, 4 * PG,
					false));
	ASSERT_EQ(0, s390_tbl_map(&self->t, IOVA + 16 * PG, LEAF_GPA, false));

	nth_arm(self->nth_fd, nth);
	rc = shadow_alloc(self->fd, self->idev_id, parent, self->iota, &id);
	if (!rc) {
		rc_en = _test_cmd_set_dirty_tracking(self->fd, parent, true);
		rc_w1 = dev_write(self->fd, id, IOVA + PG);
		rc_w2 = dev_write(self->fd, id, IOVA + 16 * PG);
		ASSERT_EQ(0, s390_tbl_unmap(&self->t, IOVA + PG));
		shadow_inv(self->fd, id, IOVA, 4 * PG);
		_test_ioctl_ioas_unmap(self->fd, self->ioas_id, LEAF_GPA, PG,
				       NULL);
		rc_rd = read_dirty(self->fd, parent, b1);
	}
	hit = nth_hit(self->nth_fd);

	if (!rc) {
		ASSERT_EQ(0, read_dirty(self->fd, parent, b2));
		if (!rc_en && !rc_w1)
			ASSERT_TRUE((!rc_rd && dirty_at(b1, DATA_GPA + PG)) ||
				    dirty_at(b2, DATA_GPA + PG));
		if (!rc_en && !rc_w2)
			ASSERT_TRUE((!rc_rd && dirty_at(b1, LEAF_GPA)) ||
				    dirty_at(b2, LEAF_GPA));
		/* Never a page nobody wrote */
		ASSERT_FALSE(dirty_at(b2, DATA_GPA + 3 * PG));
		ASSERT_EQ(0, _test_ioctl_destroy(self->fd, id));
	} else {
		ASSERT_TRUE(hit);
	}
	close(self->fd);
	return hit;
}

TEST_F_TIMEOUT(shadow_fail_nth, dirty_harvest_read, 900)
{
	unsigned int nth;

	/* One variant is enough: the parent is a NEST_PARENT hwpt here */
	if (!variant->nest_parent)
		SKIP(return, "dirty tracking needs a NEST_PARENT hwpt");
	for (nth = 1; nth < MAX_NTH; nth++)
		if (!run_dirty_once(_metadata, self, nth))
			break;
	TH_LOG("swept %u injection points", nth - 1);
	ASSERT_LT(10, nth);
	ASSERT_GT(MAX_NTH, nth);
}

TEST_HARNESS_MAIN
