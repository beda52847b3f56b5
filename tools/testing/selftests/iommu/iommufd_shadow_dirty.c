// SPDX-License-Identifier: GPL-2.0-only
/*
 * Dirty tracking through shadow nesting on the selftest mock IOMMU.
 *
 * A device attached to a shadow writes through the shadow domain, never
 * through its stage-2 parent, so the parent's dirty bitmap
 * (IOMMU_HWPT_GET_DIRTY_BITMAP, indexed by guest physical address) must
 * report what the shadows' devices wrote, at the GPA each stage-1 entry
 * translated to, or a migrating VMM copies stale guest memory.
 *
 * A device write is simulated with IOMMU_TEST_OP_DIRTY on the shadow's
 * mock domain at the stage-1 IOVA: it sets the mock's dirty bit of that
 * IO page, as an IOMMU with dirty tracking does when a device writes. When
 * the shadow domain does not track dirty pages the op fails (EINVAL): the
 * write happened but the IOMMU kept no trace of it, which is what a real
 * IOMMU without dirty tracking does; dev_write() accepts that, and the
 * bitmap must report the page all the same (conservative mode).
 *
 * Run in the "mock" VM profile (no VT-d).
 */
#include <sys/mman.h>
#include <time.h>

#include "iommufd_utils.h"
#include "shadow_s390_lib.h"

#define PG		0x1000UL
#define GPA_BASE	0x1000000UL	/* MOCK_APERTURE_START */
#define RAM_SIZE	0x400000UL	/* guest RAM */
#define TBL_SIZE	0x100000UL	/* first MiB of it: tables */
#define DATA_GPA	(GPA_BASE + TBL_SIZE)	/* data pages from here */
#define LEAF_GPA	(GPA_BASE + RAM_SIZE)	/* a page in its own area */
#define AP_START	0x1000000UL	/* stage-1 aperture */
#define AP_LAST		((1UL << 31) - 1)
#define IOVA		0x10000000UL	/* stage-1 IOVAs of the tests */
/* The bitmaps cover guest RAM and the page after it, 4 KiB per bit */
#define BMAP_IOVA	GPA_BASE
#define BMAP_LEN	(RAM_SIZE + 0x100000UL)
#define BMAP_BITS	(BMAP_LEN / PG)
#define BMAP_LONGS	(BMAP_BITS / BITS_PER_LONG)
#define MOCK_IO_PAGE	(PG / 2)

static void *ram;
static char leaf[PG] __attribute__((aligned(PG)));

FIXTURE(shadow_dirty)
{
	int fd;
	__u32 ioas_id;
	__u32 stdev_id;
	__u32 paging_id;	/* the mock device's auto domain on the IOAS */
	__u32 idev_id;
	__u32 parent_id;	/* NEST_PARENT | DIRTY_TRACKING on the IOAS */
	struct s390_tables t;
	uint64_t iota;
	unsigned long bmap[BMAP_LONGS];
};

FIXTURE_SETUP(shadow_dirty)
{
	self->fd = open("/dev/iommu", O_RDWR);
	ASSERT_NE(-1, self->fd);
	ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ram);
	test_ioctl_ioas_alloc(&self->ioas_id);
	test_ioctl_ioas_map_fixed_id(self->ioas_id, ram, RAM_SIZE, GPA_BASE);
	test_ioctl_ioas_map_fixed_id(self->ioas_id, leaf, PG, LEAF_GPA);
	test_cmd_mock_domain(self->ioas_id, &self->stdev_id, &self->paging_id,
			     &self->idev_id);
	/* What newer QEMU asks for: a nesting parent that tracks dirty */
	test_cmd_hwpt_alloc(self->idev_id, self->ioas_id,
			    IOMMU_HWPT_ALLOC_NEST_PARENT |
			    IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &self->parent_id);
	s390_tbl_init(&self->t, ram, GPA_BASE, TBL_SIZE);
	ASSERT_EQ(0, s390_tbl_new_root(&self->t, &self->iota));
}

FIXTURE_TEARDOWN(shadow_dirty)
{
	teardown_iommufd(self->fd, _metadata);
	munmap(ram, RAM_SIZE);
}

static int shadow_alloc_dev(int fd, __u32 idev_id, __u32 pt_id, uint64_t iota,
			    __u32 *id)
{
	return -iommufd_shadow_alloc(fd, idev_id, pt_id,
				     IOMMU_SHADOW_FORMAT_S390, iota, AP_START,
				     AP_LAST, id);
}

#define shadow_alloc(pt_id, id)                                         \
	ASSERT_EQ(0, shadow_alloc_dev(self->fd, self->idev_id, pt_id,    \
				      self->iota, id))
#define guest_map(iova, gpa, ro) \
	ASSERT_EQ(0, s390_tbl_map(&self->t, iova, gpa, ro))
#define guest_unmap(iova) ASSERT_EQ(0, s390_tbl_unmap(&self->t, iova))
#define refresh(id, iova, len) \
	ASSERT_EQ(0, -iommufd_shadow_invalidate(self->fd, id, iova, len))
#define tracking(id, on) test_cmd_set_dirty_tracking(id, on)

/*
 * A device attached to shadow @id writes the 4 KiB page at stage-1 @iova.
 * Returns how many mock IO pages got a dirty bit (0: nothing mapped there
 * or the shadow domain does not track), or -errno.
 */
static int dev_write(int fd, __u32 id, uint64_t iova)
{
	unsigned long bits = 3;	/* both 2 KiB IO pages of the mock */
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_DIRTY,
		.id = id,
		.dirty = {
			.iova = iova,
			.length = PG,
			.page_size = MOCK_IO_PAGE,
			.uptr = (uintptr_t)&bits,
		},
	};

	if (ioctl(fd, IOMMU_TEST_CMD, &cmd))
		/* EINVAL: an IOMMU that does not track keeps no trace */
		return errno == EINVAL ? 0 : -errno;
	return cmd.dirty.out_nr_dirty;
}

#define write_through(id, iova) ASSERT_LE(0, dev_write(self->fd, id, iova))

/* Read the parent's bitmap over BMAP_IOVA..; returns 0 or errno */
static int read_bitmap(int fd, __u32 parent, unsigned long *bmap, bool clear)
{
	memset(bmap, 0, BMAP_LONGS * sizeof(*bmap));
	return _test_cmd_get_dirty_bitmap(fd, parent, BMAP_LEN, BMAP_IOVA, PG,
					  (__u64 *)bmap,
					  clear ? 0 :
					  IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR) ?
	       errno : 0;
}

static bool gpa_dirty(const unsigned long *bmap, uint64_t gpa)
{
	return test_bit((gpa - BMAP_IOVA) / PG, (unsigned long *)bmap);
}

static unsigned int nr_dirty(const unsigned long *bmap)
{
	unsigned int i, n = 0;

	for (i = 0; i < BMAP_BITS; i++)
		n += test_bit(i, (unsigned long *)bmap);
	return n;
}

#define read_dirty(clear) \
	ASSERT_EQ(0, read_bitmap(self->fd, self->parent_id, self->bmap, clear))
/* The bitmap says exactly @n pages, among them each of the GPAs given */
#define expect_dirty(n, ...)                                           \
	do {                                                           \
		const uint64_t __g[] = { 0, ##__VA_ARGS__ };           \
		unsigned int __i;                                      \
		EXPECT_EQ(n, nr_dirty(self->bmap));                    \
		for (__i = 1; __i < ARRAY_SIZE(__g); __i++)            \
			EXPECT_TRUE(gpa_dirty(self->bmap, __g[__i]));  \
	} while (0)

/* The bug of issue 14: a write through the shadow, an empty bitmap */
TEST_F(shadow_dirty, write_through_shadow_reported)
{
	__u32 id;

	guest_map(IOVA, DATA_GPA + 5 * PG, false);
	guest_map(IOVA + PG, DATA_GPA + 9 * PG, false);
	shadow_alloc(self->parent_id, &id);
	test_cmd_mock_domain_replace(self->stdev_id, id);
	tracking(self->parent_id, true);

	write_through(id, IOVA);
	read_dirty(true);
	expect_dirty(1, DATA_GPA + 5 * PG);
	/* Read and cleared: nothing until the device writes again */
	read_dirty(true);
	expect_dirty(0);
	write_through(id, IOVA + PG);
	read_dirty(true);
	expect_dirty(1, DATA_GPA + 9 * PG);

	test_cmd_mock_domain_replace(self->stdev_id, self->ioas_id);
	test_ioctl_destroy(id);
}

/* A shadow allocated while tracking is on tracks from its first entry */
TEST_F(shadow_dirty, alloc_after_enable)
{
	__u32 id;

	tracking(self->parent_id, true);
	guest_map(IOVA, DATA_GPA + 3 * PG, false);
	shadow_alloc(self->parent_id, &id);
	test_cmd_mock_domain_replace(self->stdev_id, id);
	write_through(id, IOVA);
	read_dirty(true);
	expect_dirty(1, DATA_GPA + 3 * PG);
	test_cmd_mock_domain_replace(self->stdev_id, self->ioas_id);
}

TEST_F(shadow_dirty, no_clear_keeps_clear_drops)
{
	__u32 id;

	guest_map(IOVA, DATA_GPA, false);
	shadow_alloc(self->parent_id, &id);
	tracking(self->parent_id, true);
	write_through(id, IOVA);
	read_dirty(false);
	expect_dirty(1, DATA_GPA);
	read_dirty(false);
	expect_dirty(1, DATA_GPA);
	read_dirty(true);
	expect_dirty(1, DATA_GPA);
	read_dirty(true);
	expect_dirty(0);
}

TEST_F(shadow_dirty, two_iovas_one_gpa)
{
	__u32 id;

	guest_map(IOVA, DATA_GPA + 2 * PG, false);
	guest_map(IOVA + 7 * PG, DATA_GPA + 2 * PG, false);
	shadow_alloc(self->parent_id, &id);
	tracking(self->parent_id, true);
	write_through(id, IOVA + 7 * PG);
	read_dirty(true);
	expect_dirty(1, DATA_GPA + 2 * PG);
	write_through(id, IOVA);
	write_through(id, IOVA + 7 * PG);
	read_dirty(true);
	expect_dirty(1, DATA_GPA + 2 * PG);
	read_dirty(true);
	expect_dirty(0);
}

TEST_F(shadow_dirty, two_shadows_one_parent)
{
	struct s390_tables t2;
	uint64_t iota2;
	__u32 a, b;

	/* A second guest table tree in the upper half of the table space */
	s390_tbl_init(&t2, (char *)ram + TBL_SIZE / 2, GPA_BASE + TBL_SIZE / 2,
		      TBL_SIZE / 2);
	ASSERT_EQ(0, s390_tbl_new_root(&t2, &iota2));
	guest_map(IOVA, DATA_GPA + PG, false);
	ASSERT_EQ(0, s390_tbl_map(&t2, IOVA, DATA_GPA + 4 * PG, false));
	shadow_alloc(self->parent_id, &a);
	ASSERT_EQ(0, shadow_alloc_dev(self->fd, self->idev_id, self->parent_id,
				      iota2, &b));
	tracking(self->parent_id, true);
	write_through(a, IOVA);
	write_through(b, IOVA);
	read_dirty(true);
	expect_dirty(2, DATA_GPA + PG, DATA_GPA + 4 * PG);
	read_dirty(true);
	expect_dirty(0);
}

/* The guest drops the entry before the VMM reads: the bit survives */
TEST_F(shadow_dirty, survives_guest_unmap)
{
	__u32 id;

	guest_map(IOVA, DATA_GPA + 6 * PG, false);
	guest_map(IOVA + PG, DATA_GPA + 7 * PG, false);
	shadow_alloc(self->parent_id, &id);
	tracking(self->parent_id, true);
	write_through(id, IOVA);
	guest_unmap(IOVA);
	refresh(id, IOVA, 2 * PG);
	read_dirty(false);
	expect_dirty(1, DATA_GPA + 6 * PG);
	read_dirty(true);
	expect_dirty(1, DATA_GPA + 6 * PG);
	read_dirty(true);
	expect_dirty(0);
}

/* The guest points the IOVA elsewhere: the old GPA is dirty, not the new */
TEST_F(shadow_dirty, survives_retarget)
{
	__u32 id;

	guest_map(IOVA, DATA_GPA + 10 * PG, false);
	shadow_alloc(self->parent_id, &id);
	tracking(self->parent_id, true);
	write_through(id, IOVA);
	guest_map(IOVA, DATA_GPA + 11 * PG, false);
	refresh(id, IOVA, PG);
	read_dirty(true);
	expect_dirty(1, DATA_GPA + 10 * PG);
	write_through(id, IOVA);
	read_dirty(true);
	expect_dirty(1, DATA_GPA + 11 * PG);
}

/* A run of pages split by a retarget in its middle keeps every bit */
TEST_F(shadow_dirty, survives_split_run)
{
	__u32 id;

	ASSERT_EQ(0, s390_tbl_map_range(&self->t, IOVA, DATA_GPA, 8 * PG,
					false));
	shadow_alloc(self->parent_id, &id);
	tracking(self->parent_id, true);
	write_through(id, IOVA + 3 * PG);
	write_through(id, IOVA + 4 * PG);
	guest_map(IOVA + 3 * PG, DATA_GPA + 20 * PG, false);
	refresh(id, IOVA + 3 * PG, PG);
	read_dirty(true);
	expect_dirty(2, DATA_GPA + 3 * PG, DATA_GPA + 4 * PG);
}

/* The VMM unmaps the guest page from the IOAS: the bit survives the zap */
TEST_F(shadow_dirty, survives_stage2_unmap)
{
	__u32 id;

	guest_map(IOVA, LEAF_GPA, false);
	guest_map(IOVA + PG, DATA_GPA, false);
	shadow_alloc(self->parent_id, &id);
	test_cmd_mock_domain_replace(self->stdev_id, id);
	tracking(self->parent_id, true);
	write_through(id, IOVA);
	test_ioctl_ioas_unmap_id(self->ioas_id, LEAF_GPA, PG);
	read_dirty(true);
	expect_dirty(1, LEAF_GPA);
	read_dirty(true);
	expect_dirty(0);
	test_cmd_mock_domain_replace(self->stdev_id, self->ioas_id);
}

TEST_F(shadow_dirty, survives_shadow_destroy)
{
	__u32 id;

	guest_map(IOVA, DATA_GPA + 12 * PG, false);
	shadow_alloc(self->parent_id, &id);
	test_cmd_mock_domain_replace(self->stdev_id, id);
	tracking(self->parent_id, true);
	write_through(id, IOVA);
	test_cmd_mock_domain_replace(self->stdev_id, self->ioas_id);
	test_ioctl_destroy(id);
	read_dirty(false);
	expect_dirty(1, DATA_GPA + 12 * PG);
	read_dirty(true);
	expect_dirty(1, DATA_GPA + 12 * PG);
	read_dirty(true);
	expect_dirty(0);
}

/*
 * A device cannot write through a protected stage-1 entry. 15 s under TCG
 * on a loaded s390x host: more than the default timeout's half.
 */
TEST_F_TIMEOUT(shadow_dirty, read_only_never_dirty, 300)
{
	__u32 id;

	guest_map(IOVA, DATA_GPA + 13 * PG, true);
	shadow_alloc(self->parent_id, &id);
	tracking(self->parent_id, true);
	/* The mock marks it anyway; the parent must not believe it */
	write_through(id, IOVA);
	read_dirty(true);
	expect_dirty(0);
	guest_unmap(IOVA);
	refresh(id, IOVA, PG);
	read_dirty(true);
	expect_dirty(0);
}

/* Only written pages are reported, never one outside the shadow's maps */
TEST_F(shadow_dirty, outside_mapping_never_appears)
{
	__u32 id;

	ASSERT_EQ(0, s390_tbl_map_range(&self->t, IOVA, DATA_GPA, 4 * PG,
					false));
	shadow_alloc(self->parent_id, &id);
	tracking(self->parent_id, true);
	/* Nothing mapped there: the mock marks nothing */
	EXPECT_EQ(0, dev_write(self->fd, id, IOVA + 64 * PG));
	read_dirty(true);
	expect_dirty(0);
	write_through(id, IOVA + 2 * PG);
	read_dirty(true);
	expect_dirty(1, DATA_GPA + 2 * PG);
}

/* Tracking off: nothing is reported; enabling starts from a clean slate */
TEST_F(shadow_dirty, disable_and_reenable)
{
	__u32 id;

	guest_map(IOVA, DATA_GPA, false);
	guest_map(IOVA + PG, DATA_GPA + PG, false);
	shadow_alloc(self->parent_id, &id);
	tracking(self->parent_id, true);
	write_through(id, IOVA);
	guest_unmap(IOVA + PG);
	refresh(id, IOVA + PG, PG);
	tracking(self->parent_id, false);
	tracking(self->parent_id, true);
	read_dirty(true);
	expect_dirty(0);
	write_through(id, IOVA);
	read_dirty(true);
	expect_dirty(1, DATA_GPA);
}

/*
 * A shadow domain that cannot track dirty pages (a mock device without
 * dirty tracking allocates it): every page mapped writable through it
 * while tracking is on is reported at every read, as VFIO type1 does
 * without dirty tracking; read-only entries never are.
 */
TEST_F(shadow_dirty, conservative_without_shadow_tracking)
{
	__u32 stdev2, hwpt2, idev2, id;

	test_cmd_mock_domain_flags(self->ioas_id, MOCK_FLAGS_DEVICE_NO_DIRTY,
				   &stdev2, &hwpt2, &idev2);
	guest_map(IOVA, DATA_GPA + PG, false);
	guest_map(IOVA + PG, DATA_GPA + 2 * PG, true);
	guest_map(IOVA + 2 * PG, DATA_GPA + 3 * PG, false);
	ASSERT_EQ(0, shadow_alloc_dev(self->fd, idev2, self->parent_id,
				      self->iota, &id));
	test_cmd_mock_domain_replace(stdev2, id);
	tracking(self->parent_id, true);
	write_through(id, IOVA);
	read_dirty(true);
	expect_dirty(2, DATA_GPA + PG, DATA_GPA + 3 * PG);
	/* Still mapped writable: the device may write again at any time */
	read_dirty(true);
	expect_dirty(2, DATA_GPA + PG, DATA_GPA + 3 * PG);
	/* Unmapped: reported once more, then no longer */
	guest_unmap(IOVA + 2 * PG);
	refresh(id, IOVA + 2 * PG, PG);
	read_dirty(true);
	expect_dirty(2, DATA_GPA + PG, DATA_GPA + 3 * PG);
	read_dirty(true);
	expect_dirty(1, DATA_GPA + PG);
	/* Tracking off: nothing */
	tracking(self->parent_id, false);
	read_dirty(true);
	expect_dirty(0);
	test_cmd_mock_domain_replace(stdev2, self->ioas_id);
}

/* Errors: bad flags; a shadow itself is not a dirty-tracking hwpt */
TEST_F(shadow_dirty, errors)
{
	struct iommu_hwpt_shadow data = {
		.format = IOMMU_SHADOW_FORMAT_S390,
		.root = self->iota,
		.aperture_start = AP_START,
		.aperture_last = AP_LAST,
	};
	__u32 id, id2;

	guest_map(IOVA, DATA_GPA, false);
	shadow_alloc(self->parent_id, &id);
	EXPECT_EQ(-ENOENT, _test_cmd_set_dirty_tracking(self->fd, id, true));
	EXPECT_EQ(ENOENT, read_bitmap(self->fd, id, self->bmap, true));
	/* A shadow asks its parent for dirty tracking, not the ioctl */
	EXPECT_EQ(-EOPNOTSUPP,
		  iommufd_hwpt_alloc(self->fd, self->idev_id, self->parent_id,
				     IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
				     IOMMU_HWPT_DATA_SHADOW, &data,
				     sizeof(data), &id2));
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

#define BENCH_RUNS	5

static double median_us(uint64_t *v)
{
	qsort(v, BENCH_RUNS, sizeof(*v), cmp_u64);
	return v[BENCH_RUNS / 2] / 1e3;
}

/*
 * Cost: enabling tracking and reading the parent's bitmap walk what the
 * shadows map, not their 2 GiB aperture (512 Ki pages). For N one-page
 * entries (each its own record: IOVAs two pages apart; N = 0: the
 * parent's own cost over 4 MiB of guest RAM), the median of
 * BENCH_RUNS of: a refresh of all N that changes nothing with tracking
 * off (the second of two in a row), the enable, a clearing read with
 * nothing dirty, one after a write through every entry, and the refresh
 * again with tracking on.
 */
TEST_F_TIMEOUT(shadow_dirty, bench_scale_with_entries, 900)
{
	/* 0: a shadow that maps nothing, the parent's own cost */
	static const unsigned int sizes[] = { 0, 16, 64, 256, 512 };
	uint64_t t[5][BENCH_RUNS];
	unsigned int s, i, r;
	__u32 id;

	TH_LOG("entries refresh_off_us enable_us read_clean_us read_dirty_us refresh_on_us");
	for (s = 0; s < ARRAY_SIZE(sizes); s++) {
		unsigned int n = sizes[s];

		for (i = 0; i < n; i++)
			guest_map(IOVA + 2 * i * PG, DATA_GPA + i * PG, false);
		shadow_alloc(self->parent_id, &id);
		for (r = 0; r < BENCH_RUNS; r++) {
			uint64_t t0;

			tracking(self->parent_id, false);
			/* The second of two: the first warms the path */
			refresh(id, IOVA, 2 * (n ?: 1) * PG);
			t0 = now_ns();
			refresh(id, IOVA, 2 * (n ?: 1) * PG);
			t[0][r] = now_ns() - t0;
			t0 = now_ns();
			tracking(self->parent_id, true);
			t[1][r] = now_ns() - t0;
			t0 = now_ns();
			read_dirty(true);
			t[2][r] = now_ns() - t0;
			EXPECT_EQ(0, nr_dirty(self->bmap));
			for (i = 0; i < n; i++)
				write_through(id, IOVA + 2 * i * PG);
			t0 = now_ns();
			read_dirty(true);
			t[3][r] = now_ns() - t0;
			EXPECT_EQ(n, nr_dirty(self->bmap));
			/* The second of two: the first warms the path */
			refresh(id, IOVA, 2 * (n ?: 1) * PG);
			t0 = now_ns();
			refresh(id, IOVA, 2 * (n ?: 1) * PG);
			t[4][r] = now_ns() - t0;
		}
		TH_LOG("%7u %14.1f %9.1f %13.1f %13.1f %13.1f", n,
		       median_us(t[0]), median_us(t[1]), median_us(t[2]),
		       median_us(t[3]), median_us(t[4]));
		tracking(self->parent_id, false);
		test_ioctl_destroy(id);
		for (i = 0; i < n; i++)
			guest_unmap(IOVA + 2 * i * PG);
	}
}

TEST_HARNESS_MAIN
