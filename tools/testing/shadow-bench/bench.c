// SPDX-License-Identifier: GPL-2.0-only
/*
 * shadow-bench - iommufd shadow nesting against QEMU-style userspace
 * shadowing (issue 5, item 1). Measurement only.
 *
 *   bench          the selftest mock IOMMU ("mock" VM profile)
 *   bench --edu    QEMU's edu device behind the emulated VT-d ("vtd" profile)
 *
 * For refreshes of 1, 16, 256, 4096 and 65536 pages, scattered guest pages
 * (stage-1 OAs three pages apart: nothing to coalesce) and contiguous ones
 * (guest RAM from 2 MiB MAP_HUGETLB pages when there are some: host
 * contiguous, so coalescing applies), it times in one run:
 *
 *  a. the in-kernel shadow: the guest retargets all N PTEs (alternating
 *     between two targets, so every refresh changes N entries), then one
 *     IOMMU_HWPT_INVALIDATE over them; the ioctl is timed;
 *  b. QEMU today: a per-page walk of the same s390 tables in userspace and
 *     one IOMMU_IOAS_MAP per 4 KiB page (a fresh pin each) into a second
 *     IOAS with a paging domain, then one IOMMU_IOAS_UNMAP per page;
 *  c. a better userspace: the same walk, one map (and unmap) per run of
 *     guest-contiguous pages;
 *  d. the floor: IOMMU_TEST_OP_SHADOW_FLOOR (kernel-internal map + unmap of
 *     the same pages into a fresh paging domain, from known host addresses).
 *
 * Medians of several repetitions, per page; each method at each size
 * repeats until its budget (--cell-budget, 2.5 s) is spent, at least once.
 * All of a and d run before b and c: b frees many small objects, which a
 * KASAN kernel pays for (quarantine) in later allocations, i.e. in the
 * next refreshes timed. a= repeats a with nothing changed (the ioctl, the
 * walk and the lookups alone). On VT-d, a0 repeats a with the edu attached
 * elsewhere: with no device behind the shadow, intel-iommu sends the
 * emulated VT-d no IOTLB invalidation (QEMU's VT-d has no caching mode, so
 * iommu_sync_map() sends none either). Then the cost of an
 * IOMMU_IOAS_UNMAP of one 4 KiB guest page the shadow references when the
 * shadow holds 1, 10^3, 10^5 (and more) entries, and the shadow's memory per
 * entry. Counters (IOMMU_TEST_OP_SHADOW_STATS, /proc/vmstat
 * nr_foll_pin_acquired) show flushes per invalidation, map calls after
 * coalescing and that the sync path takes no pin.
 *
 * Under TCG with a KASAN kernel the absolute times mean little: read the
 * ratios.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* A header library: this program uses part of it */
#pragma GCC diagnostic ignored "-Wunused-function"
#include "shadow_edu_lib.h"
#include "shadow_s390_lib.h"
#include "shadow_vfio_lib.h"
#include "shadow_test_utils.h"
#include "../../../drivers/iommu/iommufd/iommufd_test.h"

#define PG		0x1000ULL
#define SZ_2M		(2ULL << 20)

/* Guest physical layout (parent IOAS), the same in both modes */
#define GPA_TBL		0x01000000ULL	/* s390 tables */
#define TBL_SIZE	(16ULL << 20)
#define GPA_POOL	0x02000000ULL	/* scattered data pages */
#define POOL_PAGES	8192ULL		/* 32 MiB */
#define GPA_HUGE	0x04000000ULL	/* contiguous data (hugetlb) */
#define HUGE_MAX	(128ULL << 20)	/* at most 64 huge pages */
#define GPA_TEST	0x0c000000ULL	/* one page, its own IOAS area */
#define GPA_TEST2	0x0c010000ULL	/* one page nobody references */

/* Stage-1 IOVAs */
#define BENCH_IOVA	0x10000000ULL	/* refreshes, up to 256 MiB */
#define STRIDE		3		/* scattered: OA 3 pages apart */

static const unsigned int sizes[] = { 1, 16, 256, 4096, 65536 };
#define NR_SIZES	(sizeof(sizes) / sizeof(sizes[0]))

static bool verbose;
static bool no_user;	/* skip b and c (probing) */
static bool profile_same;	/* --profile of a= (nothing changed) */
/* Wall-clock budget of one method at one size: stop repeating after it */
static uint64_t cell_budget_ns = 2500000000ULL;

enum layout { SCATTERED, CONTIG };

struct bench {
	bool edu;
	int fd;
	uint32_t ioas1;		/* guest RAM at GPA: the stage-2 */
	uint32_t ioas2;		/* userspace shadowing target (b, c) */
	uint32_t shadow_id;
	uint32_t dev_id;	/* device of the shadow (floor domains too) */
	uint32_t stdev1;	/* mock: selftest device on the shadow */
	uint32_t hwpt2;		/* paging HWPT of ioas2 */
	struct vfio_pci_dev dev;	/* edu */
	bool on_shadow;		/* edu attached to the shadow */
	struct s390_tables t;
	uint64_t iota;
	uint64_t ap_start, ap_last;
	uint64_t big_iova;	/* unmap-cost mapping */
	unsigned long big_max;	/* most entries the aperture allows there */
	void *tbl, *pool, *huge, *test, *test2;
	size_t huge_size;
	bool hugetlb;
};

/* ------------------------------------------------------------------ */

static void die(const char *what, int err)
{
	fprintf(stderr, "bench: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

#define CHECK(expr)							\
	do {								\
		int __r = (expr);					\
		if (__r)						\
			die(#expr, __r);				\
	} while (0)

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

static uint64_t median(uint64_t *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/*
 * A counter of /proc/vmstat, or -1. Per-cpu deltas are folded in lazily:
 * writing /proc/sys/vm/stat_refresh folds them now, so the value is exact.
 */
static long long vmstat(const char *key)
{
	char line[256];
	size_t len = strlen(key);
	long long val = -1;
	FILE *f;

	shadow_sysfs_write("/proc/sys/vm/stat_refresh", "1");
	f = fopen("/proc/vmstat", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, len) && line[len] == ' ') {
			val = atoll(line + len + 1);
			break;
		}
	fclose(f);
	return val;
}

/* A /proc/meminfo field in bytes, or -1 */
static long long meminfo(const char *key)
{
	char line[256];
	size_t len = strlen(key);
	long long val = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, len) && line[len] == ':') {
			val = atoll(line + len + 1) * 1024;
			break;
		}
	fclose(f);
	return val;
}

/* /proc/slabinfo: bytes (num_objs * objsize) per cache */
#define MAX_CACHES	512
struct slabsnap {
	int n;
	char name[MAX_CACHES][32];
	long long bytes[MAX_CACHES];
	long long objsize[MAX_CACHES];
};

static bool slab_snap(struct slabsnap *s)
{
	char line[512];
	FILE *f = fopen("/proc/slabinfo", "r");

	s->n = 0;
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f) && s->n < MAX_CACHES) {
		long long active, num, objsize;
		char name[64];

		if (line[0] == '#' || !strncmp(line, "slabinfo", 8))
			continue;
		if (sscanf(line, "%63s %lld %lld %lld", name, &active, &num,
			   &objsize) != 4)
			continue;
		shadow_strlcpy(s->name[s->n], name, sizeof(s->name[0]));
		s->bytes[s->n] = active * objsize;
		s->objsize[s->n] = objsize;
		s->n++;
	}
	fclose(f);
	return s->n > 0;
}

static long long slab_find(const struct slabsnap *s, const char *name,
			   long long *objsize)
{
	int i;

	for (i = 0; i < s->n; i++)
		if (!strcmp(s->name[i], name)) {
			if (objsize)
				*objsize = s->objsize[i];
			return s->bytes[i];
		}
	return 0;
}

/* ------------------------------------------------------------------ */
/* iommufd                                                            */
/* ------------------------------------------------------------------ */

/* The test ops (shadow_test_utils.h) on the shadow of @b; 0 or -errno */
static int shadow_stats(struct bench *b, struct iommu_test_shadow_stats *st)
{
	return _test_cmd_shadow_stats(b->fd, b->shadow_id, st) ? -errno : 0;
}

static int shadow_floor(struct bench *b, uint64_t iova, uint64_t len,
			uint64_t *map_ns, uint64_t *unmap_ns, uint64_t *calls)
{
	if (_test_cmd_shadow_floor(b->fd, b->shadow_id, b->dev_id, iova, len,
				   map_ns, unmap_ns, calls))
		return -errno;
	return 0;
}

/* What the shadow maps at one page: the host page at @uptr */
static int shadow_check(struct bench *b, uint64_t iova, void *uptr)
{
	return _test_cmd_shadow_check(b->fd, b->shadow_id, iova, PG, uptr,
				      0) ? -errno : 0;
}

static int mock_domain(int fd, uint32_t ioas, uint32_t *stdev,
		       uint32_t *hwpt, uint32_t *idev)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_MOCK_DOMAIN,
		.id = ioas,
	};
	int ret = shadow_ioctl(fd, IOMMU_TEST_CMD, &cmd);

	if (!ret) {
		*stdev = cmd.mock_domain.out_stdev_id;
		*hwpt = cmd.mock_domain.out_hwpt_id;
		*idev = cmd.mock_domain.out_idev_id;
	}
	return ret;
}

static int mock_replace(int fd, uint32_t stdev, uint32_t pt_id)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE,
		.id = stdev,
		.mock_domain_replace = { .pt_id = pt_id },
	};

	return shadow_ioctl(fd, IOMMU_TEST_CMD, &cmd);
}

/* VT-d: the edu on the shadow (a, d) or on ioas2's paging HWPT (b, c) */
static void edu_attach(struct bench *b, bool shadow)
{
	uint32_t pt;

	if (!b->edu || b->on_shadow == shadow)
		return;
	pt = shadow ? b->shadow_id : b->hwpt2;
	CHECK(vfio_attach_pt(&b->dev, &pt));
	b->on_shadow = shadow;
}

static int invalidate(struct bench *b, uint64_t iova, uint64_t len)
{
	return iommufd_shadow_invalidate(b->fd, b->shadow_id, iova, len);
}

/* ------------------------------------------------------------------ */
/* Guest memory and tables                                            */
/* ------------------------------------------------------------------ */

static void *gpa_host(struct bench *b, uint64_t gpa)
{
	if (gpa >= GPA_TBL && gpa < GPA_TBL + TBL_SIZE)
		return (char *)b->tbl + (gpa - GPA_TBL);
	if (gpa >= GPA_POOL && gpa < GPA_POOL + POOL_PAGES * PG)
		return (char *)b->pool + (gpa - GPA_POOL);
	if (gpa >= GPA_HUGE && gpa < GPA_HUGE + b->huge_size)
		return (char *)b->huge + (gpa - GPA_HUGE);
	if (gpa >= GPA_TEST && gpa < GPA_TEST + PG)
		return (char *)b->test + (gpa - GPA_TEST);
	if (gpa >= GPA_TEST2 && gpa < GPA_TEST2 + PG)
		return (char *)b->test2 + (gpa - GPA_TEST2);
	return NULL;
}

/* Pages of one contiguous target (each of the two targets) */
static uint64_t contig_span(struct bench *b)
{
	return b->huge_size / 2 / PG;
}

/* Guest page of entry @i of target @which (0/1) */
static uint64_t target_gpa(struct bench *b, enum layout l, int which,
			   uint64_t i)
{
	if (l == SCATTERED)
		return GPA_POOL + ((STRIDE * i + which) % POOL_PAGES) * PG;
	return GPA_HUGE + which * contig_span(b) * PG +
	       (i % contig_span(b)) * PG;
}

/* PTE of @iova, which must have a page table */
static uint64_t *pte_of(struct bench *b, uint64_t iova)
{
	uint64_t *pte = s390_tbl_entry(&b->t, iova, 0);

	if (!pte)
		die("no page table", EFAULT);
	return pte;
}

/* The guest points [iova, iova + n pages) at target @which */
static void set_target(struct bench *b, enum layout l, int which,
		       uint64_t iova, uint64_t n)
{
	uint64_t i;

	for (i = 0; i < n; i++)
		*pte_of(b, iova + i * PG) =
			htobe64(target_gpa(b, l, which, i));
}

static void clear_ptes(struct bench *b, uint64_t iova, uint64_t n)
{
	uint64_t i;

	for (i = 0; i < n; i++)
		*pte_of(b, iova + i * PG) = htobe64(S390_PTE_INVALID);
}

/* Build page tables (all PTEs invalid) for [iova, iova + n pages) */
static void build_tables(struct bench *b, uint64_t iova, uint64_t n)
{
	uint64_t i;

	for (i = 0; i < n; i += S390_PT_ENTRIES) {
		CHECK(s390_tbl_map(&b->t, iova + i * PG, GPA_POOL, false));
		*pte_of(b, iova + i * PG) = htobe64(S390_PTE_INVALID);
	}
}

/*
 * The userspace walker of b and c: what QEMU does per page of an RPCIT,
 * from the root, reading big-endian entries in guest memory. Returns 0
 * with the guest page, or -ENOENT when not mapped.
 */
static int walk_page(struct bench *b, uint64_t iova, uint64_t *gpa, bool *ro)
{
	const uint64_t *p;
	uint64_t rte, ste, pte;

	p = gpa_host(b, b->t.rto + 8 * s390_rtx(iova));
	if (!p)
		return -EFAULT;
	rte = be64toh(*p);
	if (rte & S390_TE_INVALID)
		return -ENOENT;
	p = gpa_host(b, (rte & S390_RTE_ADDR_MASK) + 8 * s390_sx(iova));
	if (!p)
		return -EFAULT;
	ste = be64toh(*p);
	if (ste & S390_TE_INVALID)
		return -ENOENT;
	p = gpa_host(b, (ste & S390_STE_ADDR_MASK) + 8 * s390_px(iova));
	if (!p)
		return -EFAULT;
	pte = be64toh(*p);
	if (pte & S390_PTE_INVALID)
		return -ENOENT;
	*gpa = pte & S390_PTE_ADDR_MASK;
	*ro = (rte | ste | pte) & S390_PTE_PROTECTED;
	return 0;
}

static void *alloc_mem(size_t len, bool huge)
{
	void *p;

	if (huge) {
		p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
		if (p == MAP_FAILED)
			return NULL;
	} else {
		p = guest_ram_alloc(len);
		if (!p)
			return NULL;
	}
	memset(p, 0, len);
	return p;
}

static void setup_memory(struct bench *b)
{
	long long free_huge = meminfo("HugePages_Free");

	b->tbl = alloc_mem(TBL_SIZE, false);
	b->pool = alloc_mem(POOL_PAGES * PG, false);
	b->test = alloc_mem(PG, false);
	b->test2 = alloc_mem(PG, false);
	if (!b->tbl || !b->pool || !b->test || !b->test2)
		die("guest memory", ENOMEM);

	/* HugePages_Free is a count here (kB suffix absent): undo *1024 */
	free_huge = free_huge < 0 ? 0 : free_huge / 1024;
	b->huge_size = free_huge * SZ_2M;
	if (b->huge_size > HUGE_MAX)
		b->huge_size = HUGE_MAX;
	b->huge_size &= ~(2 * SZ_2M - 1);	/* two equal targets */
	b->huge = NULL;
	while (b->huge_size >= 2 * SZ_2M) {
		b->huge = alloc_mem(b->huge_size, true);
		if (b->huge)
			break;
		b->huge_size -= 2 * SZ_2M;
	}
	b->hugetlb = b->huge != NULL;
	if (!b->huge) {
		/* No huge pages: guest-contiguous, host-contiguous by luck */
		b->huge_size = 32ULL << 20;
		b->huge = alloc_mem(b->huge_size, false);
		if (!b->huge)
			die("guest memory", ENOMEM);
	}

	CHECK(iommufd_ioas_map_fixed(b->fd, b->ioas1, b->tbl, TBL_SIZE,
				     GPA_TBL, false));
	CHECK(iommufd_ioas_map_fixed(b->fd, b->ioas1, b->pool,
				     POOL_PAGES * PG, GPA_POOL, false));
	CHECK(iommufd_ioas_map_fixed(b->fd, b->ioas1, b->huge, b->huge_size,
				     GPA_HUGE, false));
	CHECK(iommufd_ioas_map_fixed(b->fd, b->ioas1, b->test, PG, GPA_TEST,
				     false));
	CHECK(iommufd_ioas_map_fixed(b->fd, b->ioas1, b->test2, PG,
				     GPA_TEST2, false));
	s390_tbl_init(&b->t, b->tbl, GPA_TBL, TBL_SIZE);
	CHECK(s390_tbl_new_root(&b->t, &b->iota));
}

static void setup_mock(struct bench *b)
{
	uint32_t hwpt1, stdev2, idev2;

	b->ap_start = MOCK_APERTURE_START;
	b->ap_last = MOCK_APERTURE_LAST;
	CHECK(iommufd_ioas_alloc(b->fd, &b->ioas1));
	CHECK(mock_domain(b->fd, b->ioas1, &b->stdev1, &hwpt1, &b->dev_id));
	setup_memory(b);
	CHECK(iommufd_shadow_alloc(b->fd, b->dev_id, b->ioas1,
				   IOMMU_SHADOW_FORMAT_S390, b->iota,
				   b->ap_start, b->ap_last, &b->shadow_id));
	CHECK(mock_replace(b->fd, b->stdev1, b->shadow_id));

	/* b, c: a second mock device with its own paging domain */
	CHECK(iommufd_ioas_alloc(b->fd, &b->ioas2));
	CHECK(mock_domain(b->fd, b->ioas2, &stdev2, &b->hwpt2, &idev2));

	/* The unmap-cost mapping: all of the aperture (bench range reused) */
	b->big_iova = b->ap_start;
	b->big_max = (b->ap_last + 1 - b->ap_start) / PG;
}

static void setup_edu(struct bench *b)
{
	struct iommu_hw_info_vtd vtd = {};
	uint32_t type, pt;
	uint64_t caps = 0, top;
	unsigned int mgaw;
	char bdf[32];

	CHECK(pci_find_device(EDU_VENDOR, EDU_DEVICE, bdf, sizeof(bdf)));
	CHECK(pci_bind_vfio(bdf));
	CHECK(iommufd_ioas_alloc(b->fd, &b->ioas1));
	CHECK(vfio_pci_open(&b->dev, bdf));
	CHECK(vfio_bind_iommufd(&b->dev, b->fd));
	b->dev_id = b->dev.dev_id;
	CHECK(iommufd_get_hw_info(b->fd, b->dev_id, &vtd, sizeof(vtd), &type,
				  &caps));
	if (type != IOMMU_HW_INFO_TYPE_INTEL_VTD ||
	    !(caps & IOMMU_HW_CAP_SHADOW_NESTING))
		die("edu not behind a VT-d that can shadow", ENODEV);
	mgaw = ((vtd.cap_reg >> 16) & 0x3f) + 1;
	top = mgaw >= 42 ? S390_RTX_REACH : 1ULL << mgaw;

	setup_memory(b);
	b->ap_start = 0x1000000ULL;
	b->ap_last = top - 1;
	CHECK(iommufd_shadow_alloc(b->fd, b->dev_id, b->ioas1,
				   IOMMU_SHADOW_FORMAT_S390, b->iota,
				   b->ap_start, b->ap_last, &b->shadow_id));
	/* b, c: a paging HWPT of the edu's IOMMU on a second IOAS */
	CHECK(iommufd_ioas_alloc(b->fd, &b->ioas2));
	CHECK(iommufd_hwpt_alloc(b->fd, b->dev_id, b->ioas2, 0,
				 IOMMU_HWPT_DATA_NONE, NULL, 0, &b->hwpt2));
	pt = b->shadow_id;
	CHECK(vfio_attach_pt(&b->dev, &pt));
	b->on_shadow = true;

	/* The unmap-cost mapping: above 4 GiB, clear of the MSI window */
	b->big_iova = 1ULL << 32;
	b->big_max = (b->ap_last + 1 - b->big_iova) / PG;
	printf("VT-d: MGAW %u bits, shadow aperture 0x%llx-0x%llx\n", mgaw,
	       (unsigned long long)b->ap_start,
	       (unsigned long long)b->ap_last);
}

/* ------------------------------------------------------------------ */
/* The four ways                                                      */
/* ------------------------------------------------------------------ */

struct result {
	unsigned int n, reps_a, reps_b, reps_c, reps_d;
	double a, b, c, d;		/* ns per page */
	double a_nodev;			/* VT-d: a with no device attached */
	double a_same;			/* a with stage-1 unchanged */
	double flushes, map_syncs;				/* per inv. */
	double map_calls, unmap_calls, pages_mapped;		/* per inv. */
	uint64_t floor_calls;
	long long pins_a;		/* over all timed refreshes */
	double pins_b;			/* per b run */
	uint64_t c_maps;		/* map ioctls of one c run */
	uint64_t records;
	bool checked;
};

/* b: per-page walk, one map per page, then one unmap per page */
static uint64_t run_b(struct bench *b, uint64_t iova, uint64_t n,
		      long long *pins)
{
	long long p0 = vmstat("nr_foll_pin_acquired");
	uint64_t t0, t1, i, gpa;
	bool ro;

	t0 = now_ns();
	for (i = 0; i < n; i++) {
		if (walk_page(b, iova + i * PG, &gpa, &ro))
			continue;
		CHECK(iommufd_ioas_map_fixed(b->fd, b->ioas2, gpa_host(b, gpa),
					     PG, iova + i * PG, ro));
	}
	for (i = 0; i < n; i++)
		CHECK(iommufd_ioas_unmap(b->fd, b->ioas2, iova + i * PG, PG,
					 NULL));
	t1 = now_ns();
	*pins = vmstat("nr_foll_pin_acquired") - p0;
	return t1 - t0;
}

/* c: the same walk, one map per guest-contiguous run, one unmap per run */
struct run { uint64_t iova, gpa, len; bool ro; };

static uint64_t run_c(struct bench *b, uint64_t iova, uint64_t n,
		      struct run *runs, uint64_t *nruns)
{
	uint64_t t0, t1, i, gpa, nr = 0;
	bool ro;

	t0 = now_ns();
	for (i = 0; i < n; i++) {
		uint64_t va = iova + i * PG;
		struct run *r = nr ? &runs[nr - 1] : NULL;

		if (walk_page(b, va, &gpa, &ro))
			continue;
		if (r && r->iova + r->len == va && r->gpa + r->len == gpa &&
		    r->ro == ro) {
			r->len += PG;
			continue;
		}
		runs[nr++] = (struct run){ va, gpa, PG, ro };
	}
	for (i = 0; i < nr; i++)
		CHECK(iommufd_ioas_map_fixed(b->fd, b->ioas2,
					     gpa_host(b, runs[i].gpa),
					     runs[i].len, runs[i].iova,
					     runs[i].ro));
	for (i = 0; i < nr; i++)
		CHECK(iommufd_ioas_unmap(b->fd, b->ioas2, runs[i].iova,
					 runs[i].len, NULL));
	t1 = now_ns();
	*nruns = nr;
	return t1 - t0;
}

/* Most repetitions; fewer when a method's budget runs out (at least 1) */
static unsigned int reps_for(unsigned int n, bool userspace)
{
	if (n >= 65536)
		return 3;
	if (n >= 4096)
		return 5;
	if (n >= 256)
		return userspace ? 5 : 9;
	return userspace ? 11 : 21;
}

static bool budget_left(uint64_t start, unsigned int done)
{
	return done == 0 || now_ns() - start < cell_budget_ns;
}

/*
 * a and d at one size. The guest first points the N entries at target 1 and
 * the shadow follows (untimed), then every timed refresh changes all N.
 */
static void bench_kernel(struct bench *b, enum layout l, unsigned int n,
			 struct result *r)
{
	struct iommu_test_shadow_stats s0, s1;
	unsigned int reps = reps_for(n, false);
	uint64_t *t = calloc(reps, sizeof(*t));
	uint64_t iova = BENCH_IOVA, len = n * PG, i, start;
	long long p0;
	int which = 0;

	if (!t)
		die("calloc", ENOMEM);
	memset(r, 0, sizeof(*r));
	r->n = n;

	edu_attach(b, true);
	set_target(b, l, 1, iova, n);
	CHECK(invalidate(b, iova, len));
	CHECK(shadow_stats(b, &s0));
	p0 = vmstat("nr_foll_pin_acquired");
	start = now_ns();
	for (i = 0; i < reps && budget_left(start, i); i++) {
		uint64_t t0;

		set_target(b, l, which, iova, n);
		t0 = now_ns();
		CHECK(invalidate(b, iova, len));
		t[i] = now_ns() - t0;
		which ^= 1;
		if (verbose)
			printf("    a n=%u rep %llu: %llu ns\n", n,
			       (unsigned long long)i,
			       (unsigned long long)t[i]);
	}
	r->reps_a = reps = i;
	r->pins_a = vmstat("nr_foll_pin_acquired") - p0;
	CHECK(shadow_stats(b, &s1));
	r->a = (double)median(t, reps) / n;
	r->flushes = (double)(s1.flushes - s0.flushes) / reps;
	r->map_syncs = (double)(s1.map_syncs - s0.map_syncs) / reps;
	r->map_calls = (double)(s1.map_calls - s0.map_calls) / reps;
	r->unmap_calls = (double)(s1.unmap_calls - s0.unmap_calls) / reps;
	r->pages_mapped = (double)(s1.pages_mapped - s0.pages_mapped) / reps;
	r->records = s1.records;

	/*
	 * a_same: the same invalidation with nothing changed since the last
	 * one: the ioctl, the walk and the lookups, no domain operation.
	 */
	start = now_ns();
	for (i = 0; i < reps && budget_left(start, i); i++) {
		uint64_t t0 = now_ns();

		CHECK(invalidate(b, iova, len));
		t[i] = now_ns() - t0;
	}
	r->a_same = (double)median(t, i) / n;

	/* The shadow really maps the last target: first, middle, last page */
	which ^= 1;
	r->checked = true;
	for (i = 0; i < 3; i++) {
		uint64_t k = i == 0 ? 0 : i == 1 ? n / 2 : n - 1;

		if (shadow_check(b, iova + k * PG,
				 gpa_host(b, target_gpa(b, l, which, k))))
			r->checked = false;
	}

	/*
	 * VT-d only: the same refreshes with no device attached to the shadow:
	 * intel-iommu then sends no invalidation to the emulated VT-d (no
	 * cache tag), the floor's fresh domain sends none either. The
	 * difference is what the one IOTLB flush per refresh costs here.
	 */
	if (b->edu) {
		edu_attach(b, false);
		start = now_ns();
		for (i = 0; i < reps && budget_left(start, i); i++) {
			uint64_t t0;

			set_target(b, l, which ^ 1, iova, n);
			t0 = now_ns();
			CHECK(invalidate(b, iova, len));
			t[i] = now_ns() - t0;
			which ^= 1;
		}
		r->a_nodev = (double)median(t, i) / n;
		edu_attach(b, true);
	}

	/* d: the floor over the same pages */
	start = now_ns();
	for (i = 0; i < reps && budget_left(start, i); i++) {
		uint64_t mns, uns;

		CHECK(shadow_floor(b, iova, len, &mns, &uns, &r->floor_calls));
		t[i] = mns + uns;
	}
	r->reps_d = i;
	r->d = (double)median(t, i) / n;
	free(t);
}

/*
 * What any refresh pays before it looks at a table: a system call, and an
 * IOMMU_HWPT_INVALIDATE of the shadow with no entry (iommufd's dispatch and
 * object lookup). Read with the 1-page a and a= (ns, medians).
 */
static void fixed_costs(struct bench *b)
{
	enum { REPS = 2001 };
	uint64_t *t = calloc(REPS, sizeof(*t)), sys, inv;
	struct iommu_hwpt_shadow_invalidate none = {};
	unsigned int i;

	if (!t)
		die("calloc", ENOMEM);
	for (i = 0; i < REPS; i++) {
		uint64_t t0 = now_ns();

		syscall(SYS_getppid);
		t[i] = now_ns() - t0;
	}
	sys = median(t, REPS);
	for (i = 0; i < REPS; i++) {
		uint32_t num = 0;
		uint64_t t0 = now_ns();

		CHECK(iommufd_hwpt_invalidate(b->fd, b->shadow_id,
					      IOMMU_HWPT_INVALIDATE_DATA_SHADOW,
					      &none, sizeof(none), &num));
		t[i] = now_ns() - t0;
	}
	inv = median(t, REPS);
	printf("fixed: getppid() %llu ns, IOMMU_HWPT_INVALIDATE with no entry %llu ns\n",
	       (unsigned long long)sys, (unsigned long long)inv);
	free(t);
}

/*
 * --profile SECONDS: where the kernel spends a refresh. Needs a kernel with
 * CONFIG_PROFILING booted with "profile=2" (make bench-profile): the timer
 * tick counts the kernel PC in 4-byte buckets of /proc/profile. Loops a at
 * one size for SECONDS (set_target + invalidate as above; the userspace PTE
 * writes are not sampled) and prints every bucket that got ticks as
 * "@prof <offset from _stext> <ticks>"; scripts/bench-profile.sh names the
 * functions and lines with the vmlinux the VM booted.
 */
static void profile_a(struct bench *b, enum layout l, unsigned int n,
		      unsigned int seconds)
{
	uint64_t iova = BENCH_IOVA, len = n * PG, start, reps = 0, total = 0;
	size_t nb, i, max = 64 << 20;
	unsigned int *prof;
	int which = 0;
	FILE *f;

	edu_attach(b, true);
	f = fopen("/proc/profile", "w");
	if (!f || fputs("0", f) < 0 || fclose(f))
		die("/proc/profile: boot with profile=2 (make bench-profile)",
		    ENOENT);
	start = now_ns();
	while (now_ns() - start < seconds * 1000000000ULL) {
		if (!profile_same)
			set_target(b, l, which, iova, n);
		CHECK(invalidate(b, iova, len));
		which ^= 1;
		reps++;
	}
	prof = malloc(max);
	f = fopen("/proc/profile", "r");
	if (!f || !prof)
		die("/proc/profile", errno);
	nb = fread(prof, sizeof(*prof), max / sizeof(*prof), f);
	fclose(f);
	if (nb < 2)
		die("/proc/profile is empty", EIO);
	printf("@profile %s%s %u pages, %llu refreshes in %u s, step %u\n",
	       profile_same ? "unchanged " : "",
	       l == SCATTERED ? "scattered" : "contiguous", n,
	       (unsigned long long)reps, seconds, prof[0]);
	for (i = 1; i < nb; i++) {
		if (!prof[i])
			continue;
		printf("@prof %#zx %u\n", (i - 1) * prof[0], prof[i]);
		total += prof[i];
	}
	printf("@profile end, %llu ticks\n", (unsigned long long)total);
	free(prof);
}

/*
 * b and c at one size, on the tables of target 0. Run after all of a and
 * d: the many small objects b frees would otherwise be paid for (KASAN
 * quarantine) by the allocations of the next refresh measured.
 */
static void bench_user(struct bench *b, enum layout l, unsigned int n,
		       struct result *r)
{
	unsigned int reps = reps_for(n, true);
	uint64_t *t = calloc(reps, sizeof(*t));
	struct run *runs = calloc(n, sizeof(*runs));
	uint64_t iova = BENCH_IOVA, i, nruns = 0, start;
	long long pins;

	if (!t || !runs)
		die("calloc", ENOMEM);
	set_target(b, l, 0, iova, n);
	edu_attach(b, false);
	r->pins_b = 0;
	start = now_ns();
	for (i = 0; i < reps && budget_left(start, i); i++) {
		t[i] = run_b(b, iova, n, &pins);
		r->pins_b += pins;
	}
	r->reps_b = i;
	r->pins_b /= i;
	r->b = (double)median(t, i) / n;
	start = now_ns();
	for (i = 0; i < reps && budget_left(start, i); i++)
		t[i] = run_c(b, iova, n, runs, &nruns);
	r->reps_c = i;
	r->c = (double)median(t, i) / n;
	r->c_maps = nruns;
	free(t);
	free(runs);
}

static void print_results(struct bench *b, enum layout l, struct result *res,
			  unsigned int nr)
{
	unsigned int i;

	printf("\n%s guest pages%s\n",
	       l == SCATTERED ? "Scattered" : "Contiguous",
	       l == SCATTERED ? " (stage-1 OAs 3 pages apart: nothing to coalesce)" :
	       b->hugetlb ? " (2 MiB hugetlb guest RAM: host-contiguous)" :
			    " (NO hugetlb: 4 KiB memfd, host-contiguous only by chance)");
	printf("%7s %11s | %10s %10s %10s %10s | %7s %7s %6s | %8s%s\n",
	       "pages", "reps", "a:shadow", "b:qemu", "c:batched", "d:floor",
	       "b/a", "c/a", "a/d", "a=", b->edu ? "       a0  a0/d" : "");
	printf("%7s %11s | %10s %10s %10s %10s |\n", "", "a/b/c/d", "ns/page",
	       "ns/page", "ns/page", "ns/page");
	for (i = 0; i < nr; i++) {
		struct result *r = &res[i];
		char reps[32];

		snprintf(reps, sizeof(reps), "%u/%u/%u/%u", r->reps_a,
			 r->reps_b, r->reps_c, r->reps_d);
		printf("%7u %11s | %10.0f %10.0f %10.0f %10.0f | %6.1fx %6.1fx %5.1fx | %8.0f",
		       r->n, reps, r->a, r->b, r->c, r->d, r->b / r->a,
		       r->c / r->a, r->a / r->d, r->a_same);
		if (b->edu)
			printf(" %8.0f %5.1fx", r->a_nodev, r->a_nodev / r->d);
		printf("%s\n", r->checked ? "" : "  (SHADOW_CHECK FAILED)");
	}
	printf("  a= = a with nothing changed: ioctl, walk and lookups, no domain operation (ns/page)\n");
	if (b->edu)
		printf("  a0 = a with the edu attached elsewhere: no device behind the shadow, no IOTLB invalidation reaches the VT-d (ns/page, a0/d)\n");
	printf("  counters per refresh (a): flushes = IOTLB flushes of unmaps, m.syncs = iommu_sync_map() of new maps\n");
	printf("  counters per refresh (a)         | floor  | userspace\n");
	printf("%7s | %7s %7s %8s %8s %8s | %6s | %8s %9s %9s %9s\n", "pages",
	       "flushes", "m.syncs", "maps", "unmaps", "pg.mapd", "maps",
	       "c maps", "pins a", "pins/b", "records");
	for (i = 0; i < nr; i++) {
		struct result *r = &res[i];

		printf("%7u | %7.2f %7.2f %8.1f %8.1f %8.1f | %6llu | %8llu %9lld %9.0f %9llu\n",
		       r->n, r->flushes, r->map_syncs, r->map_calls, r->unmap_calls,
		       r->pages_mapped, (unsigned long long)r->floor_calls,
		       (unsigned long long)r->c_maps, r->pins_a, r->pins_b,
		       (unsigned long long)r->records);
	}
}

/* ------------------------------------------------------------------ */
/* Stage-2 unmap cost and memory per entry                            */
/* ------------------------------------------------------------------ */

/* Entry @i of the big mapping: 0 is the test page, the rest scattered */
static uint64_t big_gpa(uint64_t i)
{
	return i ? GPA_POOL + ((STRIDE * i) % POOL_PAGES) * PG : GPA_TEST;
}

/* Median cost of IOMMU_IOAS_UNMAP of one page (then mapped back) */
static uint64_t unmap_cost(struct bench *b, uint64_t gpa, void *host,
			   bool referenced, unsigned int reps,
			   uint64_t *zapped)
{
	struct iommu_test_shadow_stats s0, s1;
	uint64_t t[16], t0, i;

	CHECK(shadow_stats(b, &s0));
	for (i = 0; i < reps; i++) {
		t0 = now_ns();
		CHECK(iommufd_ioas_unmap(b->fd, b->ioas1, gpa, PG, NULL));
		t[i] = now_ns() - t0;
		CHECK(iommufd_ioas_map_fixed(b->fd, b->ioas1, host, PG, gpa,
					     false));
		if (referenced)
			CHECK(invalidate(b, b->big_iova, PG));
	}
	CHECK(shadow_stats(b, &s1));
	*zapped = s1.pages_unmapped - s0.pages_unmapped;
	return median(t, reps);
}

static void bench_unmap(struct bench *b, unsigned long max_entries,
			uint64_t t_budget_end)
{
	unsigned long steps[] = { 1, 1000, 100000, 1000000 };
	struct iommu_test_shadow_stats st;
	struct slabsnap *s0 = malloc(sizeof(*s0)), *s1 = malloc(sizeof(*s1));
	long long slab0, slab1;
	unsigned long cur = 0, records0;
	uint64_t ns_per_entry = 0;
	bool have_slabinfo;
	unsigned int i, j;

	if (!s0 || !s1)
		die("malloc", ENOMEM);
	if (max_entries > b->big_max) {
		printf("(the shadow aperture holds %lu pages from 0x%llx: %lu entries at most)\n",
		       b->big_max, (unsigned long long)b->big_iova, b->big_max);
		max_entries = b->big_max;
	}
	steps[3] = max_entries < 1000000 ? max_entries : 1000000;

	printf("\nStage-2 unmap (IOMMU_IOAS_UNMAP of one 4 KiB guest page) vs shadow size\n");
	printf("(big mapping: entry 0 -> the page, its own IOAS area; others scattered over %llu pool pages)\n",
	       POOL_PAGES);
	printf("%9s %9s | %12s %8s | %12s | %10s %11s\n", "entries", "records",
	       "unmap ns", "zapped", "unref'd ns", "build s", "ns/entry");
	printf("  (unmap ns: median of 15 of the referenced page, zapped: shadow pages unmapped per unmap;\n"
	       "   unref'd: the same for a page no entry references; build: syncing the added entries)\n");

	build_tables(b, b->big_iova, steps[3]);
	CHECK(shadow_stats(b, &st));
	records0 = st.records;
	have_slabinfo = slab_snap(s0);
	slab0 = meminfo("Slab");

	for (i = 0; i < 4; i++) {
		unsigned long n = steps[i], prev = cur;
		uint64_t t0, build, zapped, cost, cost2, z2, left;

		if (n <= cur)
			continue;
		/* Grow only as far as the time budget allows (predicted) */
		left = now_ns() < t_budget_end ? t_budget_end - now_ns() : 0;
		if (ns_per_entry && (n - cur) * ns_per_entry > left) {
			unsigned long fit = cur + left / ns_per_entry;

			fit -= fit % 10000;
			if (fit < 2 * cur || fit < 10000) {
				printf("%9lu  skipped: %.0f s predicted, over the time budget\n",
				       n, (n - cur) * ns_per_entry / 1e9);
				break;
			}
			printf("%9lu  predicted %.0f s, over the time budget: %lu instead\n",
			       n, (n - cur) * ns_per_entry / 1e9, fit);
			n = fit;
		}
		t0 = now_ns();
		while (cur < n) {
			unsigned long chunk = n - cur > 65536 ? 65536 : n - cur;

			for (j = 0; j < chunk; j++)
				*pte_of(b, b->big_iova + (cur + j) * PG) =
					htobe64(big_gpa(cur + j));
			CHECK(invalidate(b, b->big_iova + cur * PG,
					 chunk * PG));
			cur += chunk;
		}
		build = now_ns() - t0;
		if (n - prev >= 1000)
			ns_per_entry = build / (n - prev);
		CHECK(shadow_check(b, b->big_iova, b->test));
		cost = unmap_cost(b, GPA_TEST, b->test, true, 15, &zapped);
		cost2 = unmap_cost(b, GPA_TEST2, b->test2, false, 15, &z2);
		CHECK(shadow_check(b, b->big_iova, b->test));
		CHECK(shadow_stats(b, &st));
		printf("%9lu %9llu | %12llu %8.1f | %12llu | %10.2f %11.0f\n", n,
		       (unsigned long long)st.records,
		       (unsigned long long)cost, zapped / 15.0,
		       (unsigned long long)cost2, build / 1e9,
		       (double)build / (n - prev));
	}

	/* Memory */
	CHECK(shadow_stats(b, &st));
	slab1 = meminfo("Slab");
	printf("\nShadow memory: %llu records (maps + table pages) for %lu entries\n",
	       (unsigned long long)st.records, cur);
	printf("  /proc/meminfo Slab: %+lld KiB = %.0f bytes per record added\n",
	       (slab1 - slab0) / 1024,
	       (double)(slab1 - slab0) / (st.records - records0));
	if (have_slabinfo && slab_snap(s1)) {
		int k;

		printf("  /proc/slabinfo, caches that grew by > 1 MiB (active objs x objsize):\n");
		for (k = 0; k < s1->n; k++) {
			long long sz = s1->objsize[k];
			long long d = s1->bytes[k] -
				      slab_find(s0, s1->name[k], NULL);

			if (d > (1 << 20))
				printf("    %-22s %+9lld KiB  %6.1f B/record (objsize %lld)\n",
				       s1->name[k], d / 1024,
				       (double)d / (st.records - records0), sz);
		}
	} else {
		printf("  (no /proc/slabinfo)\n");
	}
	free(s0);
	free(s1);
	/* The big mapping goes with the iommufd */
}

int main(int argc, char **argv)
{
	struct result res[2][NR_SIZES];
	unsigned long max_entries = 1000000;
	struct bench bench = { .dev.fd = -1 }, *b = &bench;
	uint64_t start = now_ns(), budget_s = 150;
	unsigned int max_size = sizes[NR_SIZES - 1];
	const char *layouts = "sc";
	bool do_unmap = true;
	unsigned int profile_s = 0;
	int i, l, ln, nl, nsz = 0;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--edu"))
			b->edu = true;
		else if (!strcmp(argv[i], "--max-entries") && i + 1 < argc)
			max_entries = strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--budget") && i + 1 < argc)
			budget_s = strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--cell-budget") && i + 1 < argc)
			cell_budget_ns = strtod(argv[++i], NULL) * 1e9;
		else if (!strcmp(argv[i], "--max-size") && i + 1 < argc)
			max_size = strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--layouts") && i + 1 < argc)
			layouts = argv[++i];
		else if (!strcmp(argv[i], "--no-unmap"))
			do_unmap = false;
		else if (!strcmp(argv[i], "--profile") && i + 1 < argc)
			profile_s = strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--profile-same"))
			profile_same = true;
		else if (!strcmp(argv[i], "--no-user"))
			no_user = true;
		else if (!strcmp(argv[i], "-v"))
			verbose = true;
		else {
			fprintf(stderr, "usage: bench [--edu] [--max-entries N] [--budget SECONDS] [--cell-budget SECONDS]\n"
				"             [--max-size PAGES] [--layouts sc|s|c|cs] [--no-unmap] [-v]\n"
				"             [--profile SECONDS [--profile-same]]  (kernel profile of a, or of a=, at --max-size, per layout)\n");
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);

	b->fd = iommufd_open();
	if (b->fd < 0)
		die("/dev/iommu", b->fd);
	if (b->edu)
		setup_edu(b);
	else
		setup_mock(b);
	printf("shadow-bench: %s; s390 stage-1; times: CLOCK_MONOTONIC medians (a, b, c), kernel ktime (d)\n",
	       b->edu ? "edu behind emulated VT-d (intel-iommu domains)" :
			"selftest mock IOMMU (mock domains)");
	printf("a = IOMMU_HWPT_INVALIDATE after N PTEs changed; b = per-page walk + IOAS_MAP/UNMAP per page;\n"
	       "c = walk + one IOAS_MAP/UNMAP per contiguous run; d = SHADOW_FLOOR map+unmap (no syscall, no walk)\n");
	printf("kernel: %s\n", access("/proc/lockdep", F_OK) ?
	       "no lockdep (KVARIANT=perf: no KASAN, lockdep, might_sleep checks)" :
	       "debug (KASAN, lockdep, might_sleep checks: the test kernel)");
	printf("guest RAM: tables 16 MiB, pool %llu x 4 KiB, contiguous %zu MiB %s\n",
	       POOL_PAGES, b->huge_size >> 20,
	       b->hugetlb ? "hugetlb" : "4 KiB (no huge pages)");
	if (b->edu)
		printf("VT-d: the edu is attached to the shadow for a and d, to ioas2's paging HWPT for b and c\n");

	build_tables(b, BENCH_IOVA, sizes[NR_SIZES - 1]);
	CHECK(invalidate(b, BENCH_IOVA, sizes[NR_SIZES - 1] * PG));
	fixed_costs(b);

	nl = strlen(layouts);
	if (nl > 2)
		nl = 2;
	if (profile_s) {
		for (ln = 0; ln < nl; ln++) {
			l = layouts[ln] == 'c' ? CONTIG : SCATTERED;
			profile_a(b, l, max_size, profile_s);
			clear_ptes(b, BENCH_IOVA, max_size);
			CHECK(invalidate(b, BENCH_IOVA, max_size * PG));
		}
		return 0;
	}
	for (ln = 0; ln < nl; ln++) {
		l = layouts[ln] == 'c' ? CONTIG : SCATTERED;
		for (i = 0; i < (int)NR_SIZES && sizes[i] <= max_size; i++)
			bench_kernel(b, l, sizes[i], &res[ln][i]);
		nsz = i;
		clear_ptes(b, BENCH_IOVA, sizes[nsz - 1]);
		CHECK(invalidate(b, BENCH_IOVA, sizes[nsz - 1] * PG));
	}
	printf("(a, d: %.1f s)\n", (now_ns() - start) / 1e9);
	for (ln = 0; ln < nl; ln++) {
		l = layouts[ln] == 'c' ? CONTIG : SCATTERED;
		for (i = 0; i < nsz; i++)
			if (!no_user)
				bench_user(b, l, sizes[i], &res[ln][i]);
			else
				res[ln][i].b = res[ln][i].c = NAN;
		clear_ptes(b, BENCH_IOVA, sizes[nsz - 1]);
		print_results(b, l, res[ln], nsz);
	}
	printf("\n(refresh part: %.1f s)\n", (now_ns() - start) / 1e9);

	if (do_unmap)
		bench_unmap(b, max_entries, start + budget_s * 1000000000ULL);

	printf("\ntotal %.1f s\n", (now_ns() - start) / 1e9);
	if (b->edu)
		vfio_pci_close(&b->dev);
	close(b->fd);
	return 0;
}
