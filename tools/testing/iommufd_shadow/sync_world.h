/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The simulated world of the sync engine tests (test_sync.c).
 *
 * host    - host memory: HOST_PAGES page descriptors; host physical address
 *           = pfn << 12. A pinned page's bytes are the guest page's bytes
 *           (struct gpage of the harness), so guest writes need no copying.
 *           pfn 0 is never handed out (the engine reads phys 0 as "no
 *           translation"). Freed pfns are reused after the cursor wraps, so
 *           a stale shadow entry soon points at someone else's page.
 * IOAS    - fake areas in a real iopt area tree (the kernel's interval
 *           tree): GPA range, IOMMU_READ/WRITE, one host pfn per page.
 *           live: in the tree with pages; dying: pages NULL, still in the
 *           tree and in the parent domain (iopt_unmap_iova_range() between
 *           'area->pages = NULL' and the unmap of the domains).
 * parent  - the stage-2 domain: iommu_iova_to_phys() reads the areas.
 * shadow  - the fake driver domain the engine fills: 4 KiB IOVA pages ->
 *           (phys, prot) in a hash table. Like a real driver it refuses a
 *           map over a mapped IOVA and an unmap of a hole (both recorded
 *           failures), and it keeps a list of unmapped-but-not-flushed
 *           ranges (the IOTLB) that iommu_iotlb_sync() must cover, and
 *           one of mapped-but-not-synced ranges (iommu_map_nosync()) that
 *           iommu_sync_map() must cover before the engine returns. Its
 *           page sizes (pgsize_bitmap) are VT-d's by default: a map call
 *           covering a whole aligned 2 MiB block (IOVA and phys) builds a
 *           leaf there, which a later unmap must cover whole; a call
 *           covering a whole aligned block of the next size is a failure.
 */
#ifndef IOMMUFD_SHADOW_SYNC_WORLD_H
#define IOMMUFD_SHADOW_SYNC_WORLD_H

/* An includer may size the world first (bench_sync.c: 65536 entries) */
#ifndef HOST_PAGES
#define HOST_PAGES	(1U << 15)
#endif
#define MAX_AREAS	96
#define MAX_DEVS	4
#ifndef DOM_BITS
#define DOM_BITS	14
#endif

struct fake_area {
	struct iopt_area area;
	u64 first, last;
	int prot;
	unsigned long *pfns;
	bool live;
	bool dying;
};

struct hpage {
	u64 *mem;		/* NULL: free (not pinned) */
	struct fake_area *fa;
	u64 gpa;
};

struct device {
	unsigned int nr;
	struct iommu_resv_region regions[4];
	bool attached;
};

struct dom_slot {
	u64 key;		/* (iova >> 12) + 1; 0: empty */
	u64 phys;
	u32 prot;
	bool dirty;		/* a device wrote it while tracking was on */
};

struct map_call {
	u64 iova, size, phys;
};

/* Counters of the fake driver, compared before/after each engine call */
struct fake_stats {
	unsigned long map_calls;
	unsigned long unmap_calls;
	unsigned long flushes;
	unsigned long map_failed;
	unsigned long pages_mapped;
	unsigned long pages_unmapped;
	unsigned long iova_to_phys_calls;
	unsigned long map_syncs;
};

/* ---- fake shadow domain: hash of 4 KiB IOVA pages ---- */

static struct dom_slot *dom_tab;	/* 1 << DOM_BITS slots */
static unsigned long dom_count;

static unsigned long dom_hash(u64 key)
{
	return (key * 0x9e3779b97f4a7c15ULL) >> (64 - DOM_BITS);
}

static struct dom_slot *dom_find(u64 iova)
{
	u64 key = (iova >> 12) + 1;
	unsigned long mask = (1UL << DOM_BITS) - 1;

	for (unsigned long h = dom_hash(key);; h = (h + 1) & mask) {
		if (!dom_tab[h].key)
			return NULL;
		if (dom_tab[h].key == key)
			return &dom_tab[h];
	}
}

static void dom_insert(u64 iova, u64 phys, u32 prot)
{
	u64 key = (iova >> 12) + 1;
	unsigned long mask = (1UL << DOM_BITS) - 1;
	unsigned long h;

	if (dom_count >= (1UL << DOM_BITS) / 2)
		abort();
	for (h = dom_hash(key); dom_tab[h].key; h = (h + 1) & mask)
		;
	dom_tab[h] = (struct dom_slot){ key, phys, prot, false };
	dom_count++;
}

/* Backward-shift deletion keeps probe chains intact */
static void dom_erase(struct dom_slot *s)
{
	unsigned long mask = (1UL << DOM_BITS) - 1;
	unsigned long i = s - dom_tab, j = i;

	dom_tab[i].key = 0;
	for (;;) {
		unsigned long k;

		j = (j + 1) & mask;
		if (!dom_tab[j].key)
			break;
		k = dom_hash(dom_tab[j].key);
		if ((j > i && (k <= i || k > j)) ||
		    (j < i && k <= i && k > j)) {
			dom_tab[i] = dom_tab[j];
			dom_tab[j].key = 0;
			i = j;
		}
	}
	dom_count--;
}

#endif
