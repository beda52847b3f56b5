// SPDX-License-Identifier: GPL-2.0-only
/*
 * Cost of one refresh of N stage-1 entries, for callgrind (callgrind.sh).
 *
 * drivers/iommu/iommufd/shadow_s390.c and shadow_sync.c are compiled right
 * here, unmodified, against the shim headers, with a lean copy of the world
 * of test_sync.c (sync_world.h): one IOAS area of data pages, one of table
 * pages, a fake driver domain (hash of 4 KiB IOVA pages). No checks beyond
 * the return codes and the counts of the fake driver: test_sync.c is the
 * test; this is the measurement.
 *
 *   bench_sync N [--contig]
 *
 * The s390 tables (dt 1: region-third root) map N pages at IOVA AP, entry i
 * to OA DATA + 3 * i pages (scattered: one map call per page), or with
 * --contig to DATA + i pages over host-contiguous memory (one map call per
 * 2 MiB block less a page). One full sync populates the shadow; then every
 * entry is retargeted one page up (OA + 4 KiB) and the measured region is
 *   "sync": ONE shadow_sync_range() of [AP, AP + N pages - 1] (locked), and
 *   "walk": ONE shadow_s390_format.walk() of the same range with an emit
 *           that does nothing and a table callback that looks the page up
 *           in the harness's guest memory.
 * Under callgrind (--collect-atstart=no --instr-atstart=no) each region is
 * instrumented, collected and dumped on its own (callgrind.out.<pid>.1 is
 * "sync", .2 is "walk"); natively the program prints the counts only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#include "../../../drivers/iommu/iommufd/shadow_s390.c"
#include "../../../drivers/iommu/iommufd/shadow_sync.c"

/* Bigger than the test world: up to 65536 entries 3 pages apart */
#define HOST_PAGES	(1U << 18)
#define DOM_BITS	18
#include "sync_world.h"

/*
 * shadow_dirty.c is not built into the benchmark: dirty tracking stays off
 * (shadow->dirty_on false) and the engine never harvests.
 */
void shadow_dirty_harvest(struct iommufd_hwpt_shadow *shadow, u64 iova, u64 oa,
			  u64 len, u32 prot)
{
	abort();
}

void shadow_dirty_harvest_iova(struct iommufd_hwpt_shadow *shadow, u64 first,
			       u64 last)
{
	abort();
}

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define HAVE_CALLGRIND 1
#else
#define HAVE_CALLGRIND 0
#define CALLGRIND_START_INSTRUMENTATION
#define CALLGRIND_STOP_INSTRUMENTATION
#define CALLGRIND_TOGGLE_COLLECT
#define CALLGRIND_ZERO_STATS
#define CALLGRIND_DUMP_STATS_AT(s)	((void)(s))
#endif

#define MAX_N		65536UL

#define AP		0x40000000ULL
#define AP_SIZE		(1ULL << 30)
#define TABLE_GPA	0x20000000ULL
#define TABLE_SIZE	(8ULL << 20)
#define DATA_GPA	0x80000000ULL

static unsigned long ull_fail;
#define B_FAIL(...)	do { ull_fail++; fprintf(stderr, __VA_ARGS__); } while (0)

/* ------------------------------------------------------------------ */
/* Host memory: pfn -> bytes; data pages share one dummy page */

static struct hpage host[HOST_PAGES];
static u64 dummy_page[512];
static unsigned long host_next = 1;

bool shim_host_pfn_valid(unsigned long pfn)
{
	return pfn < HOST_PAGES;
}

struct page *shim_host_pfn_to_page(unsigned long pfn)
{
	return (struct page *)&host[pfn < HOST_PAGES ? pfn : 0];
}

void *shim_host_page_address(const struct page *page)
{
	const struct hpage *h = (const struct hpage *)page;

	if (!h->mem)
		abort();
	return h->mem;
}

/* ------------------------------------------------------------------ */
/* The world */

static struct iommu_domain parent_domain = { "parent", SZ_4K, NULL };
static struct iommu_domain shadow_domain = { "shadow", SZ_4K, NULL };

static struct {
	struct gmem m;
	struct s390_tb tb;
	struct io_pagetable iopt;
	struct fake_area areas[2];
	unsigned int nr_areas;
	struct iommufd_hwpt_paging parent;
	struct iommufd_hwpt_shadow sh;
} W;

static struct fake_stats fs;

/* An IOAS area over host-contiguous pfns; @gm: back pages by guest memory */
static void area_add(u64 gpa, u64 size, int prot, bool gm)
{
	struct fake_area *fa = &W.areas[W.nr_areas++];
	unsigned long n = size >> 12;

	memset(fa, 0, sizeof(*fa));
	fa->first = gpa;
	fa->last = gpa + size - 1;
	fa->prot = prot;
	fa->pfns = calloc(n, sizeof(*fa->pfns));
	if (!fa->pfns || host_next + n > HOST_PAGES)
		abort();
	for (unsigned long i = 0; i < n; i++) {
		struct gpage *p = gm ? gmem_find(&W.m, gpa + (i << 12)) : NULL;
		unsigned long pfn = host_next++;

		host[pfn] = (struct hpage){ p ? p->data : dummy_page, fa,
					    gpa + (i << 12) };
		fa->pfns[i] = pfn;
	}
	fa->area.node.start = fa->first;
	fa->area.node.last = fa->last;
	fa->area.iopt = &W.iopt;
	fa->area.iommu_prot = fa->prot;
	fa->area.prevent_access = false;
	fa->area.pages = (struct iopt_pages *)fa;
	down_write(&W.iopt.iova_rwsem);
	interval_tree_insert(&fa->area.node, &W.iopt.area_itree);
	up_write(&W.iopt.iova_rwsem);
	fa->live = true;
}

static u64 host_phys(u64 gpa)
{
	for (unsigned int i = 0; i < W.nr_areas; i++) {
		struct fake_area *fa = &W.areas[i];

		if (fa->first <= gpa && gpa <= fa->last)
			return ((u64)fa->pfns[(gpa - fa->first) >> 12] << 12) |
			       (gpa & 0xfff);
	}
	return 0;
}

/*
 * ---- the fake driver (test_sync.c's, without the checks) ----
 * noinline: in the kernel these are calls into the IOMMU core, and the
 * script subtracts their inclusive cost by name.
 */

noinline int iommu_map_nosync(struct iommu_domain *domain, unsigned long iova,
			      phys_addr_t paddr, size_t size, int prot,
			      unsigned int gfp)
{
	(void)gfp;
	if (domain != &shadow_domain || !size || (iova | paddr | size) & 0xfff) {
		B_FAIL("bad iommu_map(%#lx, %#zx)\n", iova, size);
		return -EINVAL;
	}
	fs.map_calls++;
	for (size_t off = 0; off < size; off += 4096) {
		if (dom_find(iova + off)) {
			B_FAIL("iommu_map() over mapped IOVA %#lx\n",
			       (unsigned long)(iova + off));
			return -EEXIST;
		}
		dom_insert(iova + off, paddr + off, prot);
	}
	fs.pages_mapped += size >> 12;
	return 0;
}

noinline size_t iommu_unmap_fast(struct iommu_domain *domain, unsigned long iova,
			size_t size, struct iommu_iotlb_gather *gather)
{
	size_t done = 0;

	(void)domain;
	fs.unmap_calls++;
	for (; done < size; done += 4096) {
		struct dom_slot *s = dom_find(iova + done);

		if (!s) {
			B_FAIL("iommu_unmap_fast(): hole at %#lx\n",
			       (unsigned long)(iova + done));
			break;
		}
		dom_erase(s);
	}
	if (done) {
		gather->start = min(gather->start, (unsigned long)iova);
		gather->end = max(gather->end,
				  (unsigned long)(iova + done - 1));
	}
	fs.pages_unmapped += done >> 12;
	return done;
}

noinline int iommu_sync_map(struct iommu_domain *domain, unsigned long iova,
			    size_t size)
{
	(void)domain;
	(void)iova;
	(void)size;
	fs.map_syncs++;
	return 0;
}

noinline void iommu_iotlb_sync(struct iommu_domain *domain,
		      struct iommu_iotlb_gather *gather)
{
	(void)domain;
	fs.flushes++;
	iommu_iotlb_gather_init(gather);
}

noinline phys_addr_t iommu_iova_to_phys(struct iommu_domain *domain, dma_addr_t iova)
{
	(void)domain;
	fs.iova_to_phys_calls++;
	return host_phys(iova);
}

void iommu_get_resv_regions(struct device *dev, struct list_head *list)
{
	(void)dev;
	(void)list;
}

void iommu_put_resv_regions(struct device *dev, struct list_head *list)
{
	(void)dev;
	INIT_LIST_HEAD(list);
}

/* ---- setup ---- */

static void world_init(void)
{
	memset(&W, 0, sizeof(W));
	iommufd_shadow_max_records = 1UL << 20;
	dom_tab = calloc(1UL << DOM_BITS, sizeof(*dom_tab));
	if (!dom_tab)
		abort();
	gmem_init(&W.m, TABLE_SIZE >> 12);
	if (!tb_init(&W.tb, &W.m, 1, TABLE_GPA, TABLE_SIZE))
		abort();

	init_rwsem(&W.iopt.domains_rwsem);
	init_rwsem(&W.iopt.iova_rwsem);
	W.iopt.area_itree = RB_ROOT_CACHED;
	INIT_LIST_HEAD(&W.iopt.shadow_list);

	W.parent.common.domain = &parent_domain;
	W.sh.common.domain = &shadow_domain;
	W.sh.parent = &W.parent;
	W.sh.iopt = &W.iopt;
	W.sh.fmt = &shadow_s390_format;
	W.sh.root = W.tb.iota;
	W.sh.aperture_start = AP;
	W.sh.aperture_last = AP + AP_SIZE - 1;
	mutex_init(&W.sh.lock);
	shadow_init_records(&W.sh);
	INIT_LIST_HEAD(&W.sh.iopt_item);
	list_add_tail(&W.sh.iopt_item, &W.iopt.shadow_list);
}

static void map_all(unsigned long n, unsigned long stride, unsigned long shift)
{
	for (unsigned long i = 0; i < n; i++)
		if (!tb_map(&W.tb, AP + (i << 12),
			    DATA_GPA + ((i * stride + shift) << 12), 0))
			abort();
}

static int e_sync(u64 first, u64 last)
{
	int rc;

	mutex_lock(&W.sh.lock);
	rc = shadow_sync_range(&W.sh, first, last, NULL);
	mutex_unlock(&W.sh.lock);
	return rc;
}

/* ---- walk-only callbacks ---- */

static unsigned long walk_tables, walk_runs;

static const u64 *walk_table(void *ctx, u64 gpa, u64 iova, u64 last,
			     unsigned int *nr)
{
	struct gpage *p = gmem_find(ctx, gpa);

	(void)iova;
	(void)last;
	walk_tables++;
	if (!p)
		return ERR_PTR(-ENXIO);
	*nr = (GPAGE_SIZE - (gpa & (GPAGE_SIZE - 1))) / sizeof(u64);
	return p->data + (gpa & (GPAGE_SIZE - 1)) / sizeof(u64);
}

static int walk_emit(void *ctx, const struct shadow_s1_run *run)
{
	(void)ctx;
	(void)run;
	walk_runs++;
	return 0;
}

static const struct shadow_s1_walk_ops walk_ops = {
	.table = walk_table,
	.emit = walk_emit,
};

int main(int argc, char **argv)
{
	struct fake_stats before;
	bool contig = false;
	unsigned long n = 0, stride;
	struct shadow_s1_walk w;
	u64 last;
	int rc, wrc;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--contig"))
			contig = true;
		else
			n = strtoul(argv[i], NULL, 0);
	}
	if (!n || n > MAX_N) {
		fprintf(stderr, "usage: %s N [--contig]  (1 <= N <= %lu)\n",
			argv[0], MAX_N);
		return 2;
	}
	stride = contig ? 1 : 3;
	last = AP + (n << 12) - 1;

	world_init();
	map_all(n, stride, 0);
	area_add(TABLE_GPA, TABLE_SIZE, IOMMU_READ | IOMMU_WRITE, true);
	area_add(DATA_GPA, (n * stride + 1) << 12, IOMMU_READ | IOMMU_WRITE,
		 false);
	rc = e_sync(AP, last);
	if (rc || dom_count != n) {
		fprintf(stderr, "populate: rc %d, %lu entries\n", rc, dom_count);
		return 1;
	}

	/* Retarget every entry one page up (no invalidation) */
	map_all(n, stride, 1);
	before = fs;

	/* Measured region 1: one sync of the retargeted range */
	CALLGRIND_START_INSTRUMENTATION;
	CALLGRIND_ZERO_STATS;
	CALLGRIND_TOGGLE_COLLECT;
	rc = e_sync(AP, last);
	CALLGRIND_TOGGLE_COLLECT;
	CALLGRIND_DUMP_STATS_AT("sync");

	/* Measured region 2: the walk alone, same tables, same range */
	w = (struct shadow_s1_walk){
		.root = W.sh.root,
		.aperture_start = W.sh.aperture_start,
		.aperture_last = W.sh.aperture_last,
		.ops = &walk_ops,
		.ctx = &W.m,
	};
	CALLGRIND_ZERO_STATS;
	CALLGRIND_TOGGLE_COLLECT;
	wrc = shadow_s390_format.walk(&w, AP, last);
	CALLGRIND_TOGGLE_COLLECT;
	CALLGRIND_DUMP_STATS_AT("walk");
	CALLGRIND_STOP_INSTRUMENTATION;

	printf("n %lu layout %s callgrind %d sync_rc %d map_calls %lu unmap_calls %lu flushes %lu pages_mapped %lu pages_unmapped %lu iova_to_phys %lu records %lu walk_rc %d walk_tables %lu walk_runs %lu\n",
	       n, contig ? "contig" : "scattered", HAVE_CALLGRIND, rc,
	       fs.map_calls - before.map_calls,
	       fs.unmap_calls - before.unmap_calls,
	       fs.flushes - before.flushes,
	       fs.pages_mapped - before.pages_mapped,
	       fs.pages_unmapped - before.pages_unmapped,
	       fs.iova_to_phys_calls - before.iova_to_phys_calls,
	       W.sh.nr_records, wrc, walk_tables, walk_runs);
	if (rc || wrc || ull_fail || dom_count != n ||
	    fs.pages_mapped - before.pages_mapped != n) {
		fprintf(stderr, "FAILED: sync %d walk %d failures %lu entries %lu\n",
			rc, wrc, ull_fail, dom_count);
		return 1;
	}
	/* Check the retarget landed: the first and last entries */
	if (dom_find(AP)->phys != host_phys(DATA_GPA + 4096) ||
	    dom_find(last & ~0xfffULL)->phys !=
		    host_phys(DATA_GPA + (((n - 1) * stride + 1) << 12))) {
		fprintf(stderr, "FAILED: retarget not applied\n");
		return 1;
	}
	return 0;
}
