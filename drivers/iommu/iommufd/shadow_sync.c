// SPDX-License-Identifier: GPL-2.0-only
/*
 * Sync engine of iommufd shadow nesting.
 *
 * Theory of operation
 * ===================
 *
 * The shadow domain must hold stage-2 o stage-1 over the aperture, less
 * what I1 (no stale DMA), I2 (least privilege) and I5 (reserved regions)
 * take away. The engine keeps records of what it put there:
 *
 *  - a map record (struct shadow_map) is one IOVA range mapped in the
 *    shadow, OA (guest physical) contiguous, with one permission. It sits
 *    in an interval tree by IOVA (to diff a sync against) and in a reverse
 *    map by OA, which a stage-2 unmap uses to find what points into it: an
 *    interval tree for runs, a hash of 2 MiB OA blocks for one-page records
 *    (a guest retargeting scattered pages re-keys one per page, and a hash
 *    list costs a fraction of an augmented tree's rebalancing);
 *  - a table record (struct shadow_table) is a page of guest memory that
 *    held a stage-1 table, with the IOVA range that table translates, so a
 *    stage-2 unmap of the page drops everything the table described.
 *
 * A sync of [iova, last] walks the stage-1 with the format walker. For
 * every run it reports, the engine translates the OA through the parent's
 * IOAS area by area and reconciles the records with it: parts that already
 * translate alike are left alone (no unmap/map of unchanged entries, so DMA
 * in flight through them never faults), parts that differ are unmapped and
 * mapped anew, holes are unmapped. Unmaps are gathered and the IOTLB is
 * flushed once at the end of the sync; maps are made with
 * iommu_map_nosync() and made usable by one iommu_sync_map() over their
 * span, also at the end (one refresh, an RPCIT on s390, per guest
 * invalidation instead of one per map call). A one-page record that only
 * changes target is updated in place. Map calls cover OA runs whose host
 * pages are contiguous.
 *
 * Large leaves. A driver may build a leaf of any size of the domain's
 * pgsize_bitmap that a map call covers whole and aligned (in IOVA and host
 * address), and unmapping part of a leaf is driver-specific (VT-d unmaps
 * more than asked). The engine lets map calls cover whole aligned blocks of
 * the smallest size above 4 KiB (the leaf size: 2 MiB on VT-d) but never a
 * whole aligned block of the next size (1 GiB), and it never unmaps part of
 * a possible leaf: when the edge of an unmap falls inside a whole leaf-size
 * block of a record, it unmaps the whole block and maps the rest of it
 * again with smaller pages ("breaks" the block). The rest's translations do
 * not change, but DMA through them in that window faults; a guest that
 * keeps changing single pages of a large run pays this once per block.
 *
 * I1, the locking argument. The parent IOAS unmaps an area in
 * iopt_unmap_iova_range(): under iova_rwsem (write) it sets area->pages to
 * NULL, drops iova_rwsem and only then unmaps the area from its domains and
 * unpins it. Between those two steps it calls iommufd_shadow_zap_parent(),
 * which takes shadow->lock and drops every record pointing into the area.
 * The engine, under shadow->lock, accepts an OA only if iova_rwsem (read)
 * shows its area with pages and without prevent_access; from then until
 * shadow->lock is dropped the area cannot be unpinned, because the unmapper
 * has to take shadow->lock first, and when it does it finds and zaps what
 * the engine installed. So an area accepted once stays usable until the
 * zap of its unmap: the shadow remembers the last few it accepted
 * (shadow->s2.areas) and the zap forgets those it touches, so a refresh
 * takes no IOAS lock in the common case. Guest table pages are read the
 * same way: directly through the kernel mapping of the pinned page; the
 * shadow remembers that mapping for the last table of each size it read
 * (shadow->tcache) for as long as the table's record lives, and the zap
 * frees the records of the table pages it touches. So no shadow entry
 * outlives the pin of the page it points to, no new pin is ever taken (I3)
 * and KVM is never asked.
 *
 * Bounds (I4): every record is charged to the caller (GFP_KERNEL_ACCOUNT)
 * and their number per shadow is capped by iommufd_shadow_max_records
 * (-ENOSPC beyond); walks yield with cond_resched() and stop with -EINTR on
 * a fatal signal.
 */
#include <linux/bitops.h>
#include <linux/err.h>
#include <linux/hash.h>
#include <linux/iommu.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/sched/signal.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <uapi/linux/iommufd.h>

#include "io_pagetable.h"
#include "iommufd_private.h"
#include "shadow.h"
#include "shadow_fmt.h"

#define SHADOW_PAGE_SIZE	SZ_4K
/* Reverse map of one-page records: buckets of 2 MiB OA blocks */
#define SHADOW_OA_HASH_BITS	12
#define SHADOW_OA_BLOCK_SHIFT	21
#define SHADOW_OA_BLOCK		BIT_ULL(SHADOW_OA_BLOCK_SHIFT)
/* Parent block cache: 4096 slots of 24 bytes, 8 GiB of guest RAM */
#define SHADOW_PBLOCK_BITS	12
/* Shortest stretch of a block worth a slot, in pages */
#define SHADOW_PBLOCK_MIN	16
/* Retargeted pages whose unmaps go to the driver together */
#define SHADOW_RETARGET_BATCH	32
/* cond_resched() and signal check every this many units of work */
#define SHADOW_YIELD_EVERY	64

unsigned long iommufd_shadow_max_records = 1UL << 20;
module_param_named(shadow_max_records, iommufd_shadow_max_records, ulong,
		   0644);
MODULE_PARM_DESC(shadow_max_records,
		 "Most records (mapped runs and stage-1 table pages) one shadow may hold");

/**
 * struct shadow_map - A run mapped in the shadow
 * @iova: [iova.start, iova.last] mapped; node in maps_iova
 * @oa: [oa.start, oa.last] it translates to; node in maps_oa if longer
 *	than a page
 * @oa_link: A one-page record's link in its oa_hash bucket
 * @prot: IOMMU_READ / IOMMU_WRITE it was mapped with
 */
struct shadow_map {
	struct interval_tree_node iova;
	struct interval_tree_node oa;
	struct hlist_node oa_link;
	u32 prot;
};

/**
 * struct shadow_pblock - Part of a guest memory block the parent maps
 *	contiguously
 * @tag: (Guest address of the block >> SHADOW_OA_BLOCK_SHIFT) + 1; 0: empty
 * @phys: Host address of the block's first page if the block were
 *	contiguous from @first (only pages @first to @last are known)
 * @first: First page of the block known to be at @phys + offset
 * @last: Last such page
 *
 * Filled when a run of shadow_map_run() probed at least
 * SHADOW_PBLOCK_MIN pages of a 2 MiB guest block with iommu_iova_to_phys()
 * and found them host contiguous; later runs through those pages take
 * them from here, one lookup for the lot instead of one page-table walk
 * of the parent per page. Valid until the parent unmaps any page of the
 * block: an IOAS area's translations do not change while it is mapped,
 * and the unmapper calls shadow_zap_oa(), which empties the slots of the
 * blocks it touches, under shadow->lock before it unmaps the parent
 * domain (the I1 argument above).
 */
struct shadow_pblock {
	u64 tag;
	phys_addr_t phys;
	u16 first;
	u16 last;
};

/**
 * struct shadow_table - A guest page that held stage-1 table entries
 * @gpa: The page; node in tables_gpa
 * @iova: What the table translates; node in tables_iova
 * @gen: Sync generation that last read it
 */
struct shadow_table {
	struct interval_tree_node gpa;
	struct interval_tree_node iova;
	u64 gen;
};

/**
 * struct shadow_resv - A reserved IOVA range of an attached device
 * @node: The range; node in resv
 * @dev: Device whose reserved region it is
 */
struct shadow_resv {
	struct interval_tree_node node;
	struct device *dev;
};

/**
 * struct shadow_retarget - A pending retarget of a one-page record
 * @map: The record, which already holds the new target
 * @phys: Host address of the new target
 */
struct shadow_retarget {
	struct shadow_map *map;
	phys_addr_t phys;
};

/**
 * struct shadow_batch - What one sync or zap changes in the shadow domain
 * @domain: The shadow domain
 * @gather: Unmaps not yet flushed
 * @unmapped: Something was unmapped: one IOTLB flush at the end
 * @mapped: Something was mapped: one iommu_sync_map() at the end
 * @map_first: First IOVA mapped
 * @map_last: Last IOVA mapped
 * @pages: Pages mapped and unmapped
 * @nr_retarget: Entries in @retarget
 * @retarget_err: A queued retarget failed to map: the sync fails with it
 * @retarget: Retargeted one-page records whose domain update is pending:
 *	the records already say the new target, the domain still maps the old
 *	one; the first @nr_retarget are valid, the rest is never read
 *
 * The shadow_batch_*() functions are the engine's only callers of the
 * IOMMU map, unmap, sync, flush and lookup functions. Each applies the
 * queued retargets first (shadow_batch_apply()), so nothing reads or
 * changes the domain while it lags the records.
 */
struct shadow_batch {
	struct iommu_domain *domain;
	struct iommu_iotlb_gather gather;
	bool unmapped;
	bool mapped;
	u64 map_first;
	u64 map_last;
	struct shadow_pages pages;
	unsigned int nr_retarget;
	int retarget_err;
	struct shadow_retarget retarget[SHADOW_RETARGET_BATCH];
};

/**
 * struct shadow_sync - State of one sync or zap
 * @shadow: The shadow
 * @batch: Its changes to the shadow domain
 * @may_fail: A sync, which reports errors; a zap or clear must not fail
 * @no_remap: Breaking a leaf-size block unmaps all of it (after a failed
 *	iommu_sync_map(): nothing new may be mapped any more)
 * @work: Units of work since the last yield
 * @gen: Generation of this sync, for table records
 * @cursor: The last record a sync kept or retargeted, below the IOVA it
 *	reconciles next (records there are never freed during the sync)
 * @resv_known: [@resv_free_first, @resv_free_last] holds no reserved IOVA
 * @resv_free_first: See @resv_known
 * @resv_free_last: See @resv_known
 * @cur: First IOVA the sync has not reconciled yet, in the run it is at
 * @fault_set: @shadow->fault holds where and why the sync failed
 * @fault_unmap: Unmapping the page the sync failed at
 * @leaf: Smallest page size above 4 KiB of the shadow domain, or 0
 * @nocover: Next page size above @leaf, or 0: no map call covers a whole
 *	aligned block of it
 */
struct shadow_sync {
	struct iommufd_hwpt_shadow *shadow;
	struct shadow_batch *batch;
	bool may_fail;
	bool no_remap;
	unsigned int work;
	u64 gen;
	struct shadow_map *cursor;
	bool resv_known;
	u64 resv_free_first;
	u64 resv_free_last;
	u64 cur;
	bool fault_set;
	bool fault_unmap;
	u64 leaf;
	u64 nocover;
};

static atomic64_t shadow_gen = ATOMIC64_INIT(0);

int shadow_init_records(struct iommufd_hwpt_shadow *shadow)
{
	shadow->maps_iova = RB_ROOT_CACHED;
	shadow->maps_oa = RB_ROOT_CACHED;
	shadow->tables_gpa = RB_ROOT_CACHED;
	shadow->tables_iova = RB_ROOT_CACHED;
	shadow->resv = RB_ROOT_CACHED;
	shadow->oa_hash = kvcalloc(1U << SHADOW_OA_HASH_BITS,
				   sizeof(*shadow->oa_hash),
				   GFP_KERNEL_ACCOUNT);
	shadow->s2.pblocks = kvcalloc(1U << SHADOW_PBLOCK_BITS,
				      sizeof(*shadow->s2.pblocks),
				      GFP_KERNEL_ACCOUNT);
	if (!shadow->oa_hash || !shadow->s2.pblocks) {
		kvfree(shadow->oa_hash);
		kvfree(shadow->s2.pblocks);
		shadow->oa_hash = NULL;
		shadow->s2.pblocks = NULL;
		return -ENOMEM;
	}
	return 0;
}

static struct shadow_pblock *shadow_pblock(struct shadow_s2_view *s2, u64 oa)
{
	return &s2->pblocks[hash_64(oa >> SHADOW_OA_BLOCK_SHIFT,
				    SHADOW_PBLOCK_BITS)];
}

/*
 * Host address of guest page @oa from the parent block cache, or 0; with
 * @avail, how many bytes from @oa on are known contiguous with it.
 */
static __always_inline phys_addr_t
shadow_pblock_phys(struct shadow_s2_view *s2, u64 oa, u64 *avail)
{
	struct shadow_pblock *pb;
	unsigned int idx = (oa & (SHADOW_OA_BLOCK - 1)) / SHADOW_PAGE_SIZE;

	/* Scattered guest memory fills none */
	if (!s2->nr_pblocks)
		return 0;
	pb = shadow_pblock(s2, oa);
	if (pb->tag != (oa >> SHADOW_OA_BLOCK_SHIFT) + 1 ||
	    idx < pb->first || idx > pb->last)
		return 0;
	*avail = (u64)(pb->last - idx + 1) * SHADOW_PAGE_SIZE;
	return pb->phys + (u64)idx * SHADOW_PAGE_SIZE;
}

/* Guest [oa, oa + len) is host contiguous from @phys: note the blocks */
static void shadow_pblock_fill(struct shadow_s2_view *s2, u64 oa,
			       phys_addr_t phys, u64 len)
{
	u64 end = oa + len - 1;

	while (true) {
		u64 blk = oa & ~(SHADOW_OA_BLOCK - 1);
		u64 last = min(end, blk + SHADOW_OA_BLOCK - 1);
		unsigned int first = (oa - blk) / SHADOW_PAGE_SIZE;
		unsigned int lastp = (last - blk) / SHADOW_PAGE_SIZE;
		struct shadow_pblock *pb = shadow_pblock(s2, blk);
		phys_addr_t base = phys - (oa - blk);

		if (lastp - first + 1 >= SHADOW_PBLOCK_MIN) {
			/* Extend what is known when it joins up, else replace */
			if (pb->tag == (blk >> SHADOW_OA_BLOCK_SHIFT) + 1 &&
			    pb->phys == base && first <= pb->last + 1 &&
			    lastp + 1 >= pb->first) {
				pb->first = min_t(unsigned int, pb->first, first);
				pb->last = max_t(unsigned int, pb->last, lastp);
			} else {
				if (!pb->tag)
					s2->nr_pblocks++;
				pb->tag = (blk >> SHADOW_OA_BLOCK_SHIFT) + 1;
				pb->phys = base;
				pb->first = first;
				pb->last = lastp;
			}
		}
		if (last == end)
			return;
		phys += last + 1 - oa;
		oa = last + 1;
	}
}

/*
 * The parent unmaps guest [first, last]: forget every accepted area and
 * every cached block it touches, so that nothing the view says about that
 * memory outlives the zap (the I1 argument at the top of the file).
 */
static void shadow_s2_forget(struct shadow_s2_view *s2, u64 first, u64 last)
{
	u64 blk = first >> SHADOW_OA_BLOCK_SHIFT;
	unsigned int i;

	for (i = 0; i < SHADOW_AREA_SLOTS; i++) {
		struct shadow_area_slot *slot = &s2->areas[i];

		if (slot->first <= last && slot->last >= first)
			*slot = (struct shadow_area_slot){};
	}

	if (!s2->nr_pblocks)
		return;
	if ((last >> SHADOW_OA_BLOCK_SHIFT) - blk >= 1U << SHADOW_PBLOCK_BITS) {
		memset(s2->pblocks, 0, sizeof(*s2->pblocks) <<
		       SHADOW_PBLOCK_BITS);
		s2->nr_pblocks = 0;
		return;
	}
	for (; blk <= last >> SHADOW_OA_BLOCK_SHIFT; blk++) {
		struct shadow_pblock *pb =
			shadow_pblock(s2, blk << SHADOW_OA_BLOCK_SHIFT);

		if (pb->tag == blk + 1) {
			pb->tag = 0;
			s2->nr_pblocks--;
		}
	}
}

/* Leaf sizes of a domain; see "Large leaves" at the top of the file */
static void shadow_leaf_sizes(struct iommu_domain *domain, u64 *leaf,
			      u64 *nocover)
{
	u64 large = domain->pgsize_bitmap & ~(u64)(2 * SHADOW_PAGE_SIZE - 1);

	*leaf = large & -large;
	large &= ~*leaf;
	*nocover = large & -large;
}

/**
 * shadow_map_max_len() - Longest map call from an IOVA
 * @domain: The shadow domain, or one with the same page sizes
 * @iova: First IOVA of the call, 4 KiB aligned
 *
 * Return: the most bytes a map call at @iova may cover: short of a whole
 * aligned block of the second page size above 4 KiB, or no limit.
 */
u64 shadow_map_max_len(struct iommu_domain *domain, u64 iova)
{
	u64 leaf, nocover;

	shadow_leaf_sizes(domain, &leaf, &nocover);
	if (!nocover)
		return U64_MAX;
	return ALIGN(iova, nocover) - iova + nocover - SHADOW_PAGE_SIZE;
}

/*
 * Callers declare the batch __uninitialized: its retarget queue is only
 * read up to nr_retarget, and CONFIG_INIT_STACK_ALL_ZERO would clear its
 * 512 bytes on every refresh, however small.
 */
static void shadow_sync_init(struct shadow_sync *sync,
			     struct shadow_batch *batch,
			     struct iommufd_hwpt_shadow *shadow, bool may_fail)
{
	struct iommu_domain *domain = shadow->common.domain;

	lockdep_assert_held(&shadow->lock);
	*sync = (struct shadow_sync){
		.shadow = shadow,
		.batch = batch,
		.may_fail = may_fail,
		.gen = atomic64_inc_return(&shadow_gen),
	};
	shadow_leaf_sizes(domain, &sync->leaf, &sync->nocover);

	batch->domain = domain;
	iommu_iotlb_gather_init(&batch->gather);
	batch->unmapped = false;
	batch->mapped = false;
	batch->map_first = 0;
	batch->map_last = 0;
	batch->pages = (struct shadow_pages){};
	batch->nr_retarget = 0;
	batch->retarget_err = 0;
}

/* The fault an errno of the engine or the driver stands for */
static u32 shadow_errno_fault(int rc)
{
	switch (rc) {
	case -ENOSPC:
	case -ENOMEM:
		return IOMMU_SHADOW_FAULT_RESOURCE;
	case -EINTR:
	case -EINVAL:	/* an IOAS map the shadow cannot use: the VMM's */
		return IOMMU_SHADOW_FAULT_NONE;
	default:
		return IOMMU_SHADOW_FAULT_DEVICE;
	}
}

/* The sync fails at @iova: note where and why, unless it already failed */
static void shadow_note_fault(struct shadow_sync *sync, u64 iova, u64 addr,
			      u32 reason)
{
	if (sync->fault_set || !sync->may_fail)
		return;
	sync->fault_set = true;
	sync->shadow->fault = (struct shadow_fault){
		.iova = iova,
		.addr = addr,
		.reason = reason,
	};
}

static int shadow_unmap_range(struct shadow_sync *sync, u64 first, u64 last);
static int shadow_remap(struct shadow_sync *sync, struct shadow_map *map,
			u64 first, u64 last);
static void shadow_map_discard(struct iommufd_hwpt_shadow *shadow,
			       struct shadow_map *map);
static void shadow_oa_remove(struct iommufd_hwpt_shadow *shadow,
			     struct shadow_map *map);

/* [first, last] was mapped: iommu_sync_map() covers it at the end */
static void shadow_batch_note_mapped(struct shadow_batch *batch, u64 first,
				     u64 last)
{
	if (!batch->mapped) {
		batch->mapped = true;
		batch->map_first = first;
		batch->map_last = last;
	} else {
		batch->map_first = min(batch->map_first, first);
		batch->map_last = max(batch->map_last, last);
	}
}

/* Unmap [iova, iova + len), which the domain maps; flushed at the end */
static void __shadow_batch_unmap(struct shadow_sync *sync, u64 iova, u64 len)
{
	struct shadow_batch *batch = sync->batch;
	size_t unmapped;

	unmapped = iommu_unmap_fast(batch->domain, iova, len, &batch->gather);
	WARN_ON_ONCE(unmapped != len);
	batch->unmapped = true;
	shadow_count(sync->shadow, SHADOW_UNMAP_CALLS, 1);
	batch->pages.unmapped += len / SHADOW_PAGE_SIZE;
}

/*
 * Bring the domain up to the queued retargets: unmap their old targets,
 * one call per IOVA-contiguous stretch, then map the new ones. Every other
 * batch operation runs it first, so the domain lags the records only
 * between two domain operations of a sync. A page whose map fails is left
 * unmapped and its record freed, as an unbatched retarget would leave it,
 * and the sync fails with the error at its next run (shadow_emit()).
 */
static void shadow_batch_apply(struct shadow_sync *sync)
{
	struct iommufd_hwpt_shadow *shadow = sync->shadow;
	struct shadow_batch *batch = sync->batch;
	unsigned int i, j, n = batch->nr_retarget, mapped = 0;
	u64 first = U64_MAX, last = 0;

	if (!n)
		return;
	batch->nr_retarget = 0;
	for (i = 0; i < n; i = j) {
		u64 iova = batch->retarget[i].map->iova.start;

		for (j = i + 1; j < n; j++)
			if (batch->retarget[j].map->iova.start !=
			    iova + (u64)(j - i) * SHADOW_PAGE_SIZE)
				break;
		__shadow_batch_unmap(sync, iova,
				     (u64)(j - i) * SHADOW_PAGE_SIZE);
		/* What the maps below will map, give or take failed pages */
		first = min(first, iova);
		last = max(last, iova + (u64)(j - i) * SHADOW_PAGE_SIZE - 1);
	}
	for (i = 0; i < n; i++) {
		struct shadow_map *map = batch->retarget[i].map;
		int rc;

		rc = iommu_map_nosync(batch->domain, map->iova.start,
				      batch->retarget[i].phys, SHADOW_PAGE_SIZE,
				      map->prot, GFP_KERNEL_ACCOUNT);
		if (!rc) {
			mapped++;
			continue;
		}
		if (sync->cursor == map)
			sync->cursor = NULL;
		shadow_note_fault(sync, map->iova.start, 0,
				  shadow_errno_fault(rc));
		shadow_oa_remove(shadow, map);
		interval_tree_remove(&map->iova, &shadow->maps_iova);
		shadow_map_discard(shadow, map);
		if (!batch->retarget_err)
			batch->retarget_err = rc;
	}
	shadow_count(shadow, SHADOW_MAP_CALLS, n);
	batch->pages.mapped += mapped;
	if (mapped)
		shadow_batch_note_mapped(batch, first, last);
}

/*
 * Queue a retarget of @map, whose record already says its new target, to
 * be applied before the next domain operation. The caller makes room
 * first: shadow_batch_apply() when the queue is full.
 */
static void shadow_batch_retarget(struct shadow_batch *batch,
				  struct shadow_map *map, phys_addr_t phys)
{
	batch->retarget[batch->nr_retarget++] = (struct shadow_retarget){
		.map = map,
		.phys = phys,
	};
}

/* Map [iova, iova + len) -> phys; iommu_sync_map() comes at the end */
static int shadow_batch_map(struct shadow_sync *sync, u64 iova,
			    phys_addr_t phys, u64 len, u32 prot)
{
	struct shadow_batch *batch = sync->batch;
	int rc;

	shadow_batch_apply(sync);
	rc = iommu_map_nosync(batch->domain, iova, phys, len, prot,
			      GFP_KERNEL_ACCOUNT);
	shadow_count(sync->shadow, SHADOW_MAP_CALLS, 1);
	if (rc)
		return rc;
	batch->pages.mapped += len / SHADOW_PAGE_SIZE;
	shadow_batch_note_mapped(batch, iova, iova + len - 1);
	return 0;
}

/* Unmap [iova, iova + len), which the shadow maps; flushed at the end */
static void shadow_batch_unmap(struct shadow_sync *sync, u64 iova, u64 len)
{
	shadow_batch_apply(sync);
	__shadow_batch_unmap(sync, iova, len);
}

/* Where the domain maps @iova now, or 0 */
static phys_addr_t shadow_batch_iova_to_phys(struct shadow_sync *sync,
					     u64 iova)
{
	shadow_batch_apply(sync);
	return iommu_iova_to_phys(sync->batch->domain, iova);
}

/*
 * The end of a sync or zap: apply what is queued, then one iommu_sync_map()
 * over what was mapped. If the driver cannot sync the new mappings, the
 * device may not see them while the records say they are there, and no
 * later sync would map them again: unmap the span instead (always safe)
 * and fail. Then one IOTLB flush for everything unmapped.
 */
static int shadow_batch_finish(struct shadow_sync *sync)
{
	struct iommufd_hwpt_shadow *shadow = sync->shadow;
	struct shadow_batch *batch = sync->batch;
	int rc;

	shadow_batch_apply(sync);
	rc = batch->retarget_err;
	if (batch->mapped) {
		int err = iommu_sync_map(batch->domain, batch->map_first,
					 batch->map_last - batch->map_first + 1);

		shadow_count(shadow, SHADOW_MAP_SYNCS, 1);
		if (err) {
			rc = err;
			sync->may_fail = false;
			sync->no_remap = true;
			shadow_unmap_range(sync, batch->map_first,
					   batch->map_last);
		}
	}
	if (batch->unmapped) {
		iommu_iotlb_sync(batch->domain, &batch->gather);
		shadow_count(shadow, SHADOW_FLUSHES, 1);
	}
	shadow_count(shadow, SHADOW_PAGES_MAPPED, batch->pages.mapped);
	shadow_count(shadow, SHADOW_PAGES_UNMAPPED, batch->pages.unmapped);
	return rc;
}

static void shadow_unmap_pages(struct shadow_sync *sync, u64 iova, u64 len)
{
	/* The records still say what goes: take its dirty bits first */
	shadow_batch_apply(sync);
	if (unlikely(sync->shadow->dirty_on))
		shadow_dirty_harvest_iova(sync->shadow, iova, iova + len - 1);
	shadow_batch_unmap(sync, iova, len);
}

static int shadow_yield_now(struct shadow_sync *sync)
{
	sync->work = 0;
	cond_resched();
	/* Only a sync may stop; a zap or clear must finish */
	if (sync->may_fail && fatal_signal_pending(current))
		return -EINTR;
	return 0;
}

/*
 * One unit of work done (a page, a run, a record): every
 * SHADOW_YIELD_EVERY units, cond_resched() and, for a sync, -EINTR on a
 * fatal signal. What was done stays consistent, so stopping there is safe;
 * a zap or clear (may_fail false) never gets an error. Called per page
 * and run: the common case must not cost a call.
 */
static __always_inline int shadow_yield(struct shadow_sync *sync)
{
	if (likely(++sync->work < SHADOW_YIELD_EVERY))
		return 0;
	return shadow_yield_now(sync);
}

static struct shadow_map *to_map(struct interval_tree_node *node)
{
	return container_of(node, struct shadow_map, iova);
}

static struct hlist_head *
shadow_oa_bucket(struct iommufd_hwpt_shadow *shadow, u64 block)
{
	return &shadow->oa_hash[hash_64(block, SHADOW_OA_HASH_BITS)];
}

/* The reverse map by OA: a one-page record hashed, a run in the tree */
static void shadow_oa_insert(struct iommufd_hwpt_shadow *shadow,
			     struct shadow_map *map)
{
	if (map->oa.last - map->oa.start == SHADOW_PAGE_SIZE - 1)
		hlist_add_head(&map->oa_link,
			       shadow_oa_bucket(shadow, map->oa.start >>
							SHADOW_OA_BLOCK_SHIFT));
	else
		interval_tree_insert(&map->oa, &shadow->maps_oa);
}

/* Before @map's range changes: it is filed by its current length */
static void shadow_oa_remove(struct iommufd_hwpt_shadow *shadow,
			     struct shadow_map *map)
{
	if (map->oa.last - map->oa.start == SHADOW_PAGE_SIZE - 1)
		hlist_del(&map->oa_link);
	else
		interval_tree_remove(&map->oa, &shadow->maps_oa);
}

static void shadow_map_insert(struct iommufd_hwpt_shadow *shadow,
			      struct shadow_map *map)
{
	interval_tree_insert(&map->iova, &shadow->maps_iova);
	shadow_oa_insert(shadow, map);
}

static void shadow_map_remove(struct iommufd_hwpt_shadow *shadow,
			      struct shadow_map *map)
{
	interval_tree_remove(&map->iova, &shadow->maps_iova);
	shadow_oa_remove(shadow, map);
}

static void shadow_map_free(struct iommufd_hwpt_shadow *shadow,
			    struct shadow_map *map)
{
	shadow_map_remove(shadow, map);
	kfree(map);
	shadow->nr_records--;
}

/* Free a record that is in no tree */
static void shadow_map_discard(struct iommufd_hwpt_shadow *shadow,
			       struct shadow_map *map)
{
	kfree(map);
	shadow->nr_records--;
}

/*
 * A new record; @bounded: charged against the cap, which @slack records
 * may exceed
 */
static struct shadow_map *shadow_map_alloc(struct iommufd_hwpt_shadow *shadow,
					   bool bounded, unsigned int slack)
{
	unsigned long cap = READ_ONCE(iommufd_shadow_max_records);
	struct shadow_map *map;

	if (bounded && shadow->nr_records >= cap &&
	    shadow->nr_records - cap >= slack)
		return ERR_PTR(-ENOSPC);
	map = kzalloc(sizeof(*map), GFP_KERNEL_ACCOUNT);
	if (!map)
		return ERR_PTR(-ENOMEM);
	shadow->nr_records++;
	return map;
}

/*
 * Whether the driver may hold a leaf at the leaf-size block @blk of the
 * shadow. A leaf maps one aligned, contiguous host range, so a block whose
 * first page is not leaf-aligned in host memory, or whose last page does
 * not continue it, is certainly not one and needs no breaking: guest RAM of
 * ordinary 4 KiB host pages never pays for it.
 */
static bool shadow_maybe_leaf(struct shadow_sync *sync, u64 blk)
{
	u64 tail = sync->leaf - SHADOW_PAGE_SIZE;
	phys_addr_t phys = shadow_batch_iova_to_phys(sync, blk);

	return phys && !(phys & (sync->leaf - 1)) &&
	       shadow_batch_iova_to_phys(sync, blk + tail) == phys + tail;
}

/*
 * Unmap [first, last] from the shadow, which must lie inside @map, and
 * split the record. The right part needs a new record, charged against the
 * cap. A sync (@sync->may_fail) then fails with nothing changed; a zap
 * cannot fail, so it unmaps the right part too: dropping a translation is
 * always safe (I1), it only costs exactness until the next refresh.
 */
static int shadow_unmap_part(struct shadow_sync *sync, struct shadow_map *map,
			     u64 first, u64 last)
{
	struct iommufd_hwpt_shadow *shadow = sync->shadow;
	u64 m_first = map->iova.start, m_last = map->iova.last;
	u64 m_oa = map->oa.start;
	u64 ufirst = first, ulast = last;
	struct shadow_map *right = NULL;
	int rc, rcl = 0, rcr = 0;

	if (last < m_last) {
		/* The unmap of a failing page may take one beyond the cap */
		right = shadow_map_alloc(shadow,
					 sync->may_fail || sync->fault_unmap,
					 sync->fault_unmap);
		if (IS_ERR(right)) {
			if (sync->may_fail)
				return PTR_ERR(right);
			right = NULL;
			last = m_last;
			ulast = m_last;
		}
	}

	/* Edges inside whole leaf-size blocks of the record break them */
	if (sync->leaf) {
		u64 lb = ALIGN_DOWN(first, sync->leaf);
		u64 rb = ALIGN_DOWN(ulast, sync->leaf) + sync->leaf - 1;

		if (lb != first && lb >= m_first &&
		    lb + sync->leaf - 1 <= m_last && shadow_maybe_leaf(sync, lb))
			ufirst = lb;
		if (rb != ulast && rb <= m_last &&
		    rb - sync->leaf + 1 >= m_first &&
		    shadow_maybe_leaf(sync, rb - sync->leaf + 1))
			ulast = rb;
	}

	shadow_unmap_pages(sync, ufirst, ulast - ufirst + 1);
	if (ufirst != first) {
		shadow_count(shadow, SHADOW_LEAF_BREAKS, 1);
		rcl = shadow_remap(sync, map, ufirst, first - 1);
	}
	if (ulast != last) {
		shadow_count(shadow, SHADOW_LEAF_BREAKS, 1);
		rcr = shadow_remap(sync, map, last + 1, ulast);
	}
	rc = rcl ?: rcr;
	if (rc && sync->may_fail) {
		/*
		 * A sync must not drop translations outside its range: put
		 * the blocks back as they were and fail with nothing changed.
		 */
		if (ufirst != first && !rcl)
			shadow_unmap_pages(sync, ufirst, first - ufirst);
		if (ulast != last && !rcr)
			shadow_unmap_pages(sync, last + 1, ulast - last);
		if (!shadow_remap(sync, map, ufirst, ulast)) {
			if (right)
				shadow_map_discard(shadow, right);
			return rc;
		}
		/* Not even that: [ufirst, ulast] stays unmapped, safely */
		rcl = rc;
		rcr = rc;
	}
	/* A failed remap widens the hole; a right part may be gone */
	if (rcl)
		first = ufirst;
	if (rcr)
		last = ulast;
	if (right && last == m_last) {
		shadow_map_discard(shadow, right);
		right = NULL;
	}
	shadow_map_remove(shadow, map);
	if (right) {
		right->iova.start = last + 1;
		right->iova.last = m_last;
		right->oa.start = m_oa + (last + 1 - m_first);
		right->oa.last = m_oa + (m_last - m_first);
		right->prot = map->prot;
		shadow_map_insert(shadow, right);
	}
	if (first > m_first) {
		map->iova.last = first - 1;
		map->oa.last = m_oa + (first - 1 - m_first);
		shadow_map_insert(shadow, map);
	} else {
		kfree(map);
		shadow->nr_records--;
	}
	return sync->may_fail ? rc : 0;
}

/* Unmap whatever the shadow maps in [first, last] */
static int shadow_unmap_range(struct shadow_sync *sync, u64 first, u64 last)
{
	struct iommufd_hwpt_shadow *shadow = sync->shadow;
	struct interval_tree_node *node;
	int rc;

	while ((node = interval_tree_iter_first(&shadow->maps_iova, first,
						last))) {
		struct shadow_map *map = to_map(node);

		rc = shadow_unmap_part(sync, map, max(first, node->start),
				       min(last, node->last));
		if (rc)
			return rc;
		/* One hole can cover up to the cap of records */
		rc = shadow_yield(sync);
		if (rc)
			return rc;
	}
	return 0;
}

/*
 * Record [iova, last] -> oa as mapped, merging with a neighbour that
 * continues it. A new record is charged against the cap.
 */
static int shadow_record(struct iommufd_hwpt_shadow *shadow, u64 iova,
			 u64 last, u64 oa, u32 prot)
{
	struct interval_tree_node *node;
	struct shadow_map *map;

	if (iova) {
		node = interval_tree_iter_first(&shadow->maps_iova, iova - 1,
						iova - 1);
		if (node) {
			map = to_map(node);
			if (map->prot == prot &&
			    map->oa.start + (iova - node->start) == oa) {
				shadow_map_remove(shadow, map);
				map->iova.last = last;
				map->oa.last = oa + (last - iova);
				shadow_map_insert(shadow, map);
				return 0;
			}
		}
	}
	map = shadow_map_alloc(shadow, true, 0);
	if (IS_ERR(map))
		return PTR_ERR(map);
	map->iova.start = iova;
	map->iova.last = last;
	map->oa.start = oa;
	map->oa.last = oa + (last - iova);
	map->prot = prot;
	shadow_map_insert(shadow, map);
	return 0;
}

/*
 * Look up the parent IOAS area holding @oa. Returns its last IOVA and
 * permission, or -ENXIO when nothing is mapped there or the area is being
 * unmapped. See the locking argument at the top of the file: an area
 * accepted once stays usable until the zap of its unmap, which forgets it.
 */
static int shadow_parent_area_slow(struct shadow_sync *sync, u64 oa,
				   u64 *area_last, u32 *prot)
{
	struct iommufd_hwpt_shadow *shadow = sync->shadow;
	struct shadow_s2_view *s2 = &shadow->s2;
	struct io_pagetable *iopt = shadow->iopt;
	struct shadow_area_slot *slot;
	struct iopt_area *area;
	unsigned int i;
	int rc = -ENXIO;

	for (i = 1; i < SHADOW_AREA_SLOTS; i++) {
		/* From the slot that answered last: runs come in order */
		slot = &s2->areas[(s2->area_hit + i) % SHADOW_AREA_SLOTS];
		if (oa >= slot->first && oa <= slot->last && slot->last) {
			s2->area_hit = slot - s2->areas;
			*area_last = slot->last;
			*prot = slot->prot;
			return 0;
		}
	}
	if (oa > ULONG_MAX)
		return -ENXIO;
	lockdep_assert_held(&shadow->lock);
	down_read(&iopt->iova_rwsem);
	area = iopt_area_iter_first(iopt, oa, oa);
	if (area && area->pages && !area->prevent_access) {
		slot = &s2->areas[s2->area_next++ % SHADOW_AREA_SLOTS];
		slot->first = iopt_area_iova(area);
		slot->last = iopt_area_last_iova(area);
		slot->prot = area->iommu_prot & (IOMMU_READ | IOMMU_WRITE);
		*area_last = slot->last;
		*prot = slot->prot;
		rc = 0;
	}
	up_read(&iopt->iova_rwsem);
	return rc;
}

/* The slot that answered last answers most runs: no call for it */
static __always_inline int shadow_parent_area(struct shadow_sync *sync,
					      u64 oa, u64 *area_last,
					      u32 *prot)
{
	struct shadow_s2_view *s2 = &sync->shadow->s2;
	struct shadow_area_slot *slot = &s2->areas[s2->area_hit];

	if (likely(oa >= slot->first && oa <= slot->last && slot->last)) {
		*area_last = slot->last;
		*prot = slot->prot;
		return 0;
	}
	return shadow_parent_area_slow(sync, oa, area_last, prot);
}

/* Host physical address of the guest page at @oa, which must be accepted */
static __always_inline int shadow_parent_phys(struct iommufd_hwpt_shadow *shadow,
					      u64 oa, phys_addr_t *phys)
{
	u64 avail;

	*phys = shadow_pblock_phys(&shadow->s2, oa, &avail);
	if (*phys)
		return 0;
	*phys = iommu_iova_to_phys(shadow->parent->common.domain, oa);
	/* A guest page must be one host page: IOAS maps of aligned memory */
	if (!*phys || offset_in_page(*phys) != offset_in_page(oa))
		return -EINVAL;
	return 0;
}

/*
 * Map [iova, last] -> oa, all of it accepted in the parent, into the shadow,
 * and with @record record it. Host-contiguous pages go in one map call.
 * Sets *@done to the first IOVA not mapped (last + 1 on success).
 */
static int shadow_map_run(struct shadow_sync *sync, u64 iova, u64 last,
			  u64 oa, u32 prot, bool record, u64 *done)
{
	struct iommufd_hwpt_shadow *shadow = sync->shadow;

	while (true) {
		u64 max_len = sync->nocover ?
			ALIGN(iova, sync->nocover) - iova + sync->nocover -
			SHADOW_PAGE_SIZE : U64_MAX;
		phys_addr_t phys, next_phys;
		u64 len = SHADOW_PAGE_SIZE, avail;
		int rc;

		*done = iova;
		/* Where a sync that fails from here has got to */
		if (record)
			sync->cur = iova;
		rc = shadow_parent_phys(shadow, oa, &phys);
		if (rc)
			return rc;
		while (iova + len - 1 < last && len < max_len) {
			u64 step = SHADOW_PAGE_SIZE;

			next_phys = shadow_pblock_phys(&shadow->s2, oa + len,
						       &avail);
			if (next_phys) {
				/* What the cache knows, in one step */
				step = min3(avail, last - (iova + len) + 1,
					    max_len - len);
			} else if (shadow_parent_phys(shadow, oa + len,
						      &next_phys)) {
				break;
			}
			if (next_phys != phys + len)
				break;
			len += step;
		}
		shadow_pblock_fill(&shadow->s2, oa, phys, len);

		rc = shadow_batch_map(sync, iova, phys, len, prot);
		if (rc)
			return rc;
		if (record) {
			rc = shadow_record(shadow, iova, iova + len - 1, oa,
					   prot);
			if (rc) {
				/* No record says it is there: take it back */
				if (unlikely(shadow->dirty_on))
					shadow_dirty_harvest(shadow, iova, oa,
							     len, prot);
				shadow_batch_unmap(sync, iova, len);
				return rc;
			}
		}
		*done = iova + len;
		if (iova + len - 1 == last)
			return 0;
		iova += len;
		oa += len;
		/* A remap is at most a leaf-size block: it must not stop */
		if (record) {
			rc = shadow_yield(sync);
			if (rc)
				return rc;
		}
	}
}

static int shadow_install(struct shadow_sync *sync, u64 iova, u64 last, u64 oa,
			  u32 prot)
{
	u64 done;

	return shadow_map_run(sync, iova, last, oa, prot, true, &done);
}

/*
 * Map [first, last] of @map, which the shadow does not map now, again as
 * the record says. On failure nothing of it stays mapped.
 */
static int shadow_remap(struct shadow_sync *sync, struct shadow_map *map,
			u64 first, u64 last)
{
	u64 oa = map->oa.start + (first - map->iova.start), done;
	int rc;

	if (sync->no_remap)
		return -ECANCELED;
	rc = shadow_map_run(sync, first, last, oa, map->prot, false, &done);
	if (rc && done > first)
		shadow_unmap_pages(sync, first, done - first);
	return rc;
}

/* A one-page record's new target has no host page: unmap and forget it */
static noinline int shadow_drop_page(struct shadow_sync *sync,
				     struct shadow_map *map, int rc)
{
	struct iommufd_hwpt_shadow *shadow = sync->shadow;

	shadow_unmap_pages(sync, map->iova.start, SHADOW_PAGE_SIZE);
	shadow_oa_remove(shadow, map);
	interval_tree_remove(&map->iova, &shadow->maps_iova);
	shadow_map_discard(shadow, map);
	return rc;
}

/*
 * Point the one-page record @map at @oa with @prot instead, reusing the
 * record: the common case of a guest retargeting scattered pages costs no
 * allocation and no change to the IOVA tree, and its unmap goes to the
 * driver with those of the next retargeted pages (shadow_batch_apply()).
 * If @oa has no host page, the page is left unmapped and the record freed,
 * as the general path would leave it.
 */
static __always_inline int shadow_retarget_page(struct shadow_sync *sync,
						struct shadow_map *map,
						u64 oa, u32 prot)
{
	struct iommufd_hwpt_shadow *shadow = sync->shadow;
	phys_addr_t phys;
	int rc;

	rc = shadow_parent_phys(shadow, oa, &phys);
	if (unlikely(rc))
		return shadow_drop_page(sync, map, rc);
	if (sync->batch->nr_retarget == SHADOW_RETARGET_BATCH) {
		shadow_batch_apply(sync);
		if (sync->batch->retarget_err)
			return sync->batch->retarget_err;
	}
	/* The flush unmaps the old target: the record says it only now */
	if (unlikely(shadow->dirty_on))
		shadow_dirty_harvest(shadow, map->iova.start, map->oa.start,
				     SHADOW_PAGE_SIZE, map->prot);
	/* The reverse map files it by block: move it if that changes */
	if ((map->oa.start ^ oa) >> SHADOW_OA_BLOCK_SHIFT) {
		hlist_del(&map->oa_link);
		hlist_add_head(&map->oa_link,
			       shadow_oa_bucket(shadow,
						oa >> SHADOW_OA_BLOCK_SHIFT));
	}
	map->oa.start = oa;
	map->oa.last = oa + SHADOW_PAGE_SIZE - 1;
	map->prot = prot;
	shadow_batch_retarget(sync->batch, map, phys);
	return 0;
}

/* Whether the record left of @map continues @oa, @prot: then merge instead */
/* (@left: the record before @map when known, else NULL) */
static bool shadow_continues_left(struct shadow_map *map,
				  struct shadow_map *left, u64 oa, u32 prot)
{
	if (!left) {
		struct rb_node *prev = rb_prev(&map->iova.rb);

		if (!prev)
			return false;
		left = to_map(rb_entry(prev, struct interval_tree_node, rb));
	}
	return left->iova.last + 1 == map->iova.start && left->prot == prot &&
	       left->oa.last + 1 == oa;
}

/*
 * First record intersecting [cur, last]. A sync reconciles in IOVA order,
 * so it is usually the one after the cursor: one rb_next() instead of a
 * descent of the tree, and then *@left is the cursor, the record before
 * it (NULL when not known).
 */
static struct interval_tree_node *shadow_first_map(struct shadow_sync *sync,
						   u64 cur, u64 last,
						   struct shadow_map **left)
{
	struct shadow_map *c = sync->cursor;

	*left = NULL;
	if (c && c->iova.last < cur) {
		struct rb_node *rb = rb_next(&c->iova.rb);
		struct interval_tree_node *node;

		/* Records do not overlap: none after @c, none from @cur on */
		if (!rb)
			return NULL;
		node = rb_entry(rb, struct interval_tree_node, rb);
		if (node->last >= cur) {
			*left = c;
			return node->start <= last ? node : NULL;
		}
	}
	return interval_tree_iter_first(&sync->shadow->maps_iova, cur, last);
}

/*
 * Make the shadow translate [iova, last] to oa with @prot, touching only
 * what differs from the records.
 */
static int shadow_reconcile(struct shadow_sync *sync, u64 iova, u64 last,
			    u64 oa, u32 prot)
{
	u64 cur = iova;

	while (true) {
		struct interval_tree_node *node;
		struct shadow_map *map, *left;
		u64 seg_last;
		int rc;

		sync->cur = cur;
		node = shadow_first_map(sync, cur, last, &left);
		sync->cursor = NULL;
		if (!node)
			return shadow_install(sync, cur, last, oa + (cur - iova),
					      prot);
		if (node->start > cur) {
			rc = shadow_install(sync, cur, node->start - 1,
					    oa + (cur - iova), prot);
			if (rc)
				return rc;
			cur = node->start;
			sync->cur = cur;
			goto again;
		}
		map = to_map(node);
		seg_last = min(node->last, last);
		if (map->prot != prot ||
		    map->oa.start + (cur - node->start) != oa + (cur - iova)) {
			u64 new_oa = oa + (cur - iova);

			if (node->start == cur && node->last == seg_last &&
			    seg_last - cur + 1 == SHADOW_PAGE_SIZE &&
			    !shadow_continues_left(map, left, new_oa, prot)) {
				rc = shadow_retarget_page(sync, map, new_oa,
							  prot);
				if (rc)
					return rc;
				sync->cursor = map;
				goto next;
			}
			rc = shadow_unmap_part(sync, map, cur, seg_last);
			if (rc)
				return rc;
			rc = shadow_install(sync, cur, seg_last,
					    oa + (cur - iova), prot);
			if (rc)
				return rc;
		} else {
			sync->cursor = map;
		}
next:
		if (seg_last == last)
			return 0;
		cur = seg_last + 1;
again:
		/* A batched retarget failed in a flush: stop here */
		if (sync->batch->retarget_err)
			return sync->batch->retarget_err;
		/* A run can span up to the cap of unchanged records */
		rc = shadow_yield(sync);
		if (rc)
			return rc;
	}
}

/*
 * Reserved IOVA (I5): whether @iova is reserved, and the last IOVA from
 * @iova on that is reserved (if it is) or free (if not), within [iova, last].
 */
static bool shadow_resv_clip(struct iommufd_hwpt_shadow *shadow, u64 iova,
			     u64 last, u64 *seg_last)
{
	struct interval_tree_node *node;

	node = interval_tree_iter_first(&shadow->resv, iova, last);
	if (!node) {
		*seg_last = last;
		return false;
	}
	if (node->start <= iova) {
		u64 resv_last = node->last;

		/* Adjacent or overlapping reserved ranges extend it */
		while (resv_last < last &&
		       (node = interval_tree_iter_first(&shadow->resv,
							resv_last + 1,
							resv_last + 1)))
			resv_last = max(resv_last, node->last);
		*seg_last = min(resv_last, last);
		return true;
	}
	*seg_last = node->start - 1;
	return false;
}

bool shadow_iova_reserved(struct iommufd_hwpt_shadow *shadow, u64 iova,
			  u64 *last)
{
	return shadow_resv_clip(shadow, iova, U64_MAX, last);
}

/*
 * shadow_resv_clip() for a sync, which remembers the free stretch it is in:
 * one tree lookup per reserved range crossed instead of one per run (the
 * reserved ranges cannot change while shadow->lock is held).
 */
static bool shadow_sync_resv_clip(struct shadow_sync *sync, u64 iova,
				  u64 last, u64 *seg_last)
{
	struct interval_tree_node *node;

	if (sync->resv_known && iova >= sync->resv_free_first &&
	    last <= sync->resv_free_last) {
		*seg_last = last;
		return false;
	}
	if (shadow_resv_clip(sync->shadow, iova, last, seg_last))
		return true;
	/* @iova is free: up to the next reserved range */
	node = interval_tree_iter_first(&sync->shadow->resv, iova, U64_MAX);
	sync->resv_known = true;
	sync->resv_free_first = iova;
	sync->resv_free_last = node ? node->start - 1 : U64_MAX;
	return false;
}

/*
 * The steady state of a guest that moves scattered pages: a one-page run
 * over the one-page record after the cursor, in the parent area the shadow
 * accepted last. Returns false, having changed nothing, for anything else;
 * shadow_emit() then takes it the general way, which comes to the same
 * (the page is not reserved: a record never is, I5, as
 * shadow_resv_add_dev() clears the range before a sync can see it).
 */
static __always_inline bool shadow_emit_page(struct shadow_sync *sync,
					     const struct shadow_s1_run *run,
					     int *rc)
{
	struct iommufd_hwpt_shadow *shadow = sync->shadow;
	struct shadow_area_slot *slot = &shadow->s2.areas[shadow->s2.area_hit];
	struct shadow_map *left = sync->cursor, *map;
	u64 iova = run->iova, oa = run->oa;
	struct rb_node *rb;
	u32 prot;

	if (run->last - iova != SHADOW_PAGE_SIZE - 1 || !left ||
	    left->iova.last >= iova || oa < slot->first || oa > slot->last ||
	    !slot->last)
		return false;
	prot = run->prot & slot->prot;
	rb = rb_next(&left->iova.rb);
	if (!prot || !rb)
		return false;
	map = to_map(rb_entry(rb, struct interval_tree_node, rb));
	if (map->iova.start != iova || map->iova.last != run->last)
		return false;
	if (map->prot == prot && map->oa.start == oa) {
		sync->cursor = map;
		*rc = 0;
		return true;
	}
	if (shadow_continues_left(map, left, oa, prot))
		return false;
	*rc = shadow_retarget_page(sync, map, oa, prot);
	sync->cursor = *rc ? NULL : map;
	return true;
}

static noinline int shadow_emit_run(struct shadow_sync *sync,
				    const struct shadow_s1_run *run)
{
	u64 iova = run->iova, oa = run->oa;
	int rc;

	if (!run->prot)
		return shadow_unmap_range(sync, run->iova, run->last);

	while (true) {
		u64 seg_last, area_last;
		u32 area_prot, prot;

		sync->cur = iova;
		if (shadow_sync_resv_clip(sync, iova, run->last, &seg_last)) {
			rc = shadow_unmap_range(sync, iova, seg_last);
		} else {
			rc = shadow_parent_area(sync, oa, &area_last,
						&area_prot);
			if (rc) {
				/* Unmapped with the sync's end */
				shadow_note_fault(sync, iova, oa,
						  IOMMU_SHADOW_FAULT_OUTPUT_ADDR);
				return rc;
			}
			if (area_last - oa < seg_last - iova)
				seg_last = iova + (area_last - oa);
			/* I2: the shadow grants what both stages grant */
			prot = run->prot & area_prot;
			if (prot)
				rc = shadow_reconcile(sync, iova, seg_last, oa,
						      prot);
			else
				rc = shadow_unmap_range(sync, iova, seg_last);
		}
		if (rc)
			return rc;
		if (seg_last == run->last)
			return 0;
		oa += seg_last - iova + 1;
		iova = seg_last + 1;
	}
}

static int shadow_emit(void *ctx, const struct shadow_s1_run *run)
{
	struct shadow_sync *sync = ctx;
	int rc;

	/* A batched retarget failed: the sync stops here */
	if (sync->batch->retarget_err)
		return sync->batch->retarget_err;
	sync->cur = run->iova;
	rc = shadow_yield(sync);
	if (rc)
		goto out_fault;
	if (!shadow_emit_page(sync, run, &rc))
		rc = shadow_emit_run(sync, run);
	if (!rc)
		return 0;
out_fault:
	/* Runs before were synced: @cur is where this one stopped */
	shadow_note_fault(sync, sync->cur, 0, shadow_errno_fault(rc));
	return rc;
}

static struct shadow_table *to_table_gpa(struct interval_tree_node *node)
{
	return container_of(node, struct shadow_table, gpa);
}

static struct shadow_table *to_table_iova(struct interval_tree_node *node)
{
	return container_of(node, struct shadow_table, iova);
}

/* The slot of shadow->tcache for a table translating [iova, last] */
static struct shadow_tcache_slot *
shadow_tcache_slot(struct iommufd_hwpt_shadow *shadow, u64 iova, u64 last)
{
	/* s390: 2^20, 2^31, 2^42, 2^53, 2^64 bytes, five slots apart */
	return &shadow->tcache[fls64(last - iova) % SHADOW_TCACHE_SLOTS];
}

static void shadow_table_free(struct iommufd_hwpt_shadow *shadow,
			      struct shadow_table *table)
{
	struct shadow_tcache_slot *slot =
		shadow_tcache_slot(shadow, table->iova.start, table->iova.last);

	if (slot->table == table)
		slot->table = NULL;
	interval_tree_remove(&table->gpa, &shadow->tables_gpa);
	interval_tree_remove(&table->iova, &shadow->tables_iova);
	kfree(table);
	shadow->nr_records--;
}

/* Remember that the page at @gpa described [iova, last] */
static struct shadow_table *shadow_note_table(struct shadow_sync *sync,
					      u64 gpa, u64 iova, u64 last)
{
	struct iommufd_hwpt_shadow *shadow = sync->shadow;
	u64 page = gpa & ~(u64)(SHADOW_PAGE_SIZE - 1);
	struct interval_tree_node *node;
	struct shadow_table *table;

	for (node = interval_tree_iter_first(&shadow->tables_gpa, page, page);
	     node; node = interval_tree_iter_next(node, page, page)) {
		table = to_table_gpa(node);
		if (table->iova.start == iova && table->iova.last == last) {
			table->gen = sync->gen;
			return table;
		}
	}
	if (shadow->nr_records >= READ_ONCE(iommufd_shadow_max_records))
		return ERR_PTR(-ENOSPC);
	table = kzalloc(sizeof(*table), GFP_KERNEL_ACCOUNT);
	if (!table)
		return ERR_PTR(-ENOMEM);
	shadow->nr_records++;
	table->gpa.start = page;
	table->gpa.last = page + SHADOW_PAGE_SIZE - 1;
	table->iova.start = iova;
	table->iova.last = last;
	table->gen = sync->gen;
	interval_tree_insert(&table->gpa, &shadow->tables_gpa);
	interval_tree_insert(&table->iova, &shadow->tables_iova);
	return table;
}

/* Drop table records of [first, last] that the last walk did not read */
static void shadow_drop_stale_tables(struct shadow_sync *sync, u64 first,
				     u64 last)
{
	struct iommufd_hwpt_shadow *shadow = sync->shadow;
	struct interval_tree_node *node, *next;

	/* A refresh of a few pages: no table lies inside it */
	if (last - first < shadow->fmt->table_span - 1)
		return;
	for (node = interval_tree_iter_first(&shadow->tables_iova, first, last);
	     node; node = next) {
		struct shadow_table *table = to_table_iova(node);

		next = interval_tree_iter_next(node, first, last);
		if (table->gen != sync->gen && node->start >= first &&
		    node->last <= last)
			shadow_table_free(shadow, table);
	}
}

static const u64 *shadow_table(void *ctx, u64 gpa, u64 iova, u64 last,
			       unsigned int *nr)
{
	struct shadow_sync *sync = ctx;
	struct iommufd_hwpt_shadow *shadow = sync->shadow;
	struct shadow_tcache_slot *slot = shadow_tcache_slot(shadow, iova, last);
	struct shadow_table *table = slot->table;
	u64 area_last;
	phys_addr_t phys;
	u32 prot;
	int rc;

	rc = shadow_yield(sync);
	if (rc)
		return ERR_PTR(rc);
	*nr = (PAGE_SIZE - offset_in_page(gpa)) / sizeof(u64);
	/*
	 * The table read last at this size: its page was accepted and its
	 * record lives, so the parent still maps it to the same host page
	 * (the zap of its unmap frees the record, and with it the slot).
	 */
	if (table && table->gpa.start == (gpa & ~(u64)(SHADOW_PAGE_SIZE - 1)) &&
	    table->iova.start == iova && table->iova.last == last) {
		table->gen = sync->gen;
		return slot->va + offset_in_page(gpa);
	}

	rc = shadow_parent_area(sync, gpa, &area_last, &prot);
	if (rc || !(prot & IOMMU_READ))
		return ERR_PTR(-ENXIO);
	if (shadow_parent_phys(shadow, gpa & PAGE_MASK, &phys) ||
	    !pfn_valid(PHYS_PFN(phys)))
		return ERR_PTR(-ENXIO);
	table = shadow_note_table(sync, gpa, iova, last);
	if (IS_ERR(table))
		return ERR_CAST(table);
	slot->table = table;
	slot->va = page_address(pfn_to_page(PHYS_PFN(phys)));
	return slot->va + offset_in_page(gpa);
}

static const struct shadow_s1_walk_ops shadow_walk_ops = {
	.table = shadow_table,
	.emit = shadow_emit,
};

/*
 * The sync failed at @iova: that page must not stay mapped, whatever it
 * mapped before. Splitting its run may take one record beyond the cap
 * (so a shadow holds at most iommufd_shadow_max_records + 1). If even that
 * fails, unmap it as a zap does, which cannot fail: without a record for
 * the rest of the run, the rest goes too (safe, I1).
 */
static void shadow_fault_unmap(struct shadow_sync *sync, u64 iova)
{
	sync->fault_unmap = true;
	if (shadow_unmap_range(sync, iova, iova + SHADOW_PAGE_SIZE - 1)) {
		sync->may_fail = false;
		shadow_unmap_range(sync, iova, iova + SHADOW_PAGE_SIZE - 1);
		sync->may_fail = true;
	}
	sync->fault_unmap = false;
}

/**
 * shadow_sync_range() - Make the shadow follow the stage-1 over a range
 * @shadow: The shadow, with shadow->lock held
 * @iova: First IOVA, 4 KiB aligned
 * @last: Last IOVA, the last byte of a 4 KiB page
 * @pages: If not NULL, gets the pages the sync mapped and unmapped
 *
 * Return: 0, or an errno of UAPI.md, with @shadow->fault saying where and
 * why. On error the range is synced before @shadow->fault.iova exactly as
 * on success, the page there is not mapped, and the rest of the range is
 * as it was, synced, or not mapped (a failed iommu_sync_map() unmaps all
 * the sync mapped).
 */
int shadow_sync_range(struct iommufd_hwpt_shadow *shadow, u64 iova, u64 last,
		      struct shadow_pages *pages)
{
	struct shadow_s1_walk walk = {
		.root = shadow->root,
		.aperture_start = shadow->aperture_start,
		.aperture_last = shadow->aperture_last,
		.ops = &shadow_walk_ops,
	};
	struct shadow_batch batch __uninitialized;
	struct shadow_sync sync;
	int rc, rc2;

	shadow_sync_init(&sync, &batch, shadow, true);
	shadow->fault = (struct shadow_fault){};
	walk.ctx = &sync;
	rc = shadow->fmt->walk(&walk, iova, last);
	if (!rc)
		shadow_drop_stale_tables(&sync, iova, last);
	else if (walk.done > iova)
		shadow_drop_stale_tables(&sync, iova, walk.done - 1);
	if (rc) {
		/* A fault of the walk itself, or of a table it could not note */
		if (!sync.fault_set) {
			shadow->fault = (struct shadow_fault){
				.iova = walk.done,
				.addr = walk.fault_addr,
				.reason = walk.fault_reason ?:
					  shadow_errno_fault(rc),
				.level = walk.fault_level,
			};
			sync.fault_set = true;
		}
		shadow_fault_unmap(&sync, shadow->fault.iova);
	}
	rc2 = shadow_batch_finish(&sync);
	if (!rc && rc2) {
		/* A batched retarget failed last, or the driver's sync */
		if (!sync.fault_set)
			shadow->fault = (struct shadow_fault){
				.iova = max(batch.map_first, iova),
				.reason = shadow_errno_fault(rc2),
			};
		rc = rc2;
	}
	shadow_count(shadow, SHADOW_SYNCS, 1);
	if (rc)
		shadow_count(shadow, SHADOW_ERRORS, 1);
	if (pages)
		*pages = batch.pages;
	return rc;
}

/**
 * shadow_clear_iova() - Unmap an IOVA range from the shadow
 * @shadow: The shadow, with shadow->lock held
 * @first: First IOVA
 * @last: Last IOVA
 */
void shadow_clear_iova(struct iommufd_hwpt_shadow *shadow, u64 first, u64 last)
{
	struct shadow_batch batch __uninitialized;
	struct shadow_sync sync;

	shadow_sync_init(&sync, &batch, shadow, false);
	shadow_unmap_range(&sync, first, last);
	shadow_batch_finish(&sync);
}

/*
 * Unmap the one-page records pointing into [first, last]: the buckets of
 * its 2 MiB blocks, or every bucket once if it has more blocks than that.
 */
static bool shadow_zap_pages(struct shadow_sync *sync, u64 first, u64 last)
{
	struct iommufd_hwpt_shadow *shadow = sync->shadow;
	u64 b = first >> SHADOW_OA_BLOCK_SHIFT;
	u64 b_last = last >> SHADOW_OA_BLOCK_SHIFT;
	const u64 nr = 1U << SHADOW_OA_HASH_BITS;
	bool all = b_last - b >= nr, touched = false;

	if (all) {
		b = 0;
		b_last = nr - 1;
	}
	for (;; b++) {
		struct hlist_head *head = all ? &shadow->oa_hash[b] :
					  shadow_oa_bucket(shadow, b);
		struct shadow_map *map;
		struct hlist_node *tmp;

		hlist_for_each_entry_safe(map, tmp, head, oa_link) {
			if (map->oa.last < first || map->oa.start > last)
				continue;
			/* One page: no split, no other record touched */
			shadow_unmap_part(sync, map, map->iova.start,
					  map->iova.last);
			touched = true;
		}
		shadow_yield(sync);	/* a zap: never fails */
		if (b == b_last)
			return touched;
	}
}

/**
 * shadow_zap_oa() - Drop everything that depends on guest memory
 * @shadow: The shadow, with shadow->lock held
 * @first: First guest physical address going away
 * @last: Last guest physical address going away
 *
 * Unmaps every shadow entry whose output lies in [first, last] and every
 * IOVA a stage-1 table page there described. Never fails.
 *
 * Return: The number of 4 KiB pages unmapped from the shadow.
 */
u64 shadow_zap_oa(struct iommufd_hwpt_shadow *shadow, u64 first, u64 last)
{
	struct interval_tree_node *node;
	struct shadow_batch batch __uninitialized;
	struct shadow_sync sync;
	bool touched = false;

	shadow_sync_init(&sync, &batch, shadow, false);
	shadow_s2_forget(&shadow->s2, first, last);
	while ((node = interval_tree_iter_first(&shadow->maps_oa, first,
						last))) {
		struct shadow_map *map = container_of(node, struct shadow_map,
						      oa);
		u64 o_first = max(first, node->start);
		u64 o_last = min(last, node->last);

		/* Cannot fail: a zap drops the rest of a run it cannot split */
		shadow_unmap_part(&sync, map,
				  map->iova.start + (o_first - node->start),
				  map->iova.start + (o_last - node->start));
		touched = true;
	}
	if (shadow_zap_pages(&sync, first, last))
		touched = true;
	while ((node = interval_tree_iter_first(&shadow->tables_gpa, first,
						last))) {
		struct shadow_table *table = to_table_gpa(node);

		shadow_unmap_range(&sync, table->iova.start, table->iova.last);
		shadow_table_free(shadow, table);
		touched = true;
	}
	shadow_batch_finish(&sync);
	if (touched)
		shadow_count(shadow, SHADOW_ZAPS, 1);
	return batch.pages.unmapped;
}

/**
 * shadow_free_records() - Forget all records, on destroy
 * @shadow: The shadow, whose domain is attached nowhere any more
 */
void shadow_free_records(struct iommufd_hwpt_shadow *shadow)
{
	struct interval_tree_node *node;

	while ((node = interval_tree_iter_first(&shadow->maps_iova, 0,
						U64_MAX))) {
		shadow_map_free(shadow, to_map(node));
		cond_resched();
	}
	while ((node = interval_tree_iter_first(&shadow->tables_gpa, 0,
						U64_MAX))) {
		shadow_table_free(shadow, to_table_gpa(node));
		cond_resched();
	}
	while ((node = interval_tree_iter_first(&shadow->resv, 0, U64_MAX))) {
		interval_tree_remove(node, &shadow->resv);
		kfree(container_of(node, struct shadow_resv, node));
	}
	kvfree(shadow->oa_hash);
	shadow->oa_hash = NULL;
	kvfree(shadow->s2.pblocks);
	shadow->s2.pblocks = NULL;
}

/**
 * shadow_lookup_prot() - Permission the shadow maps an IOVA with
 * @shadow: The shadow, with shadow->lock held
 * @iova: IOVA
 *
 * Return: IOMMU_READ/IOMMU_WRITE bits, or -ENOENT when not mapped.
 */
int shadow_lookup_prot(struct iommufd_hwpt_shadow *shadow, u64 iova)
{
	struct interval_tree_node *node;

	node = interval_tree_iter_first(&shadow->maps_iova, iova, iova);
	return node ? (int)to_map(node)->prot : -ENOENT;
}

/* What the record of an IOVA tree node translates to, for shadow_dirty.c */
u64 shadow_map_oa(struct interval_tree_node *iova_node)
{
	return to_map(iova_node)->oa.start;
}

u32 shadow_map_prot(struct interval_tree_node *iova_node)
{
	return to_map(iova_node)->prot;
}

/**
 * shadow_resv_add_dev() - Reserve a device's reserved IOVA regions
 * @shadow: The shadow, with shadow->lock held
 * @dev: Device being attached
 *
 * The regions are unmapped from the shadow and never mapped through it
 * while the device is attached.
 */
int shadow_resv_add_dev(struct iommufd_hwpt_shadow *shadow, struct device *dev)
{
	struct iommu_resv_region *region;
	LIST_HEAD(regions);
	int rc = 0;

	iommu_get_resv_regions(dev, &regions);
	list_for_each_entry(region, &regions, list) {
		struct shadow_resv *resv;

		if (region->type == IOMMU_RESV_DIRECT_RELAXABLE ||
		    !region->length)
			continue;
		resv = kzalloc(sizeof(*resv), GFP_KERNEL_ACCOUNT);
		if (!resv) {
			rc = -ENOMEM;
			break;
		}
		resv->dev = dev;
		/* The shadow maps whole pages: reserve every page touched */
		resv->node.start = ALIGN_DOWN(region->start, SHADOW_PAGE_SIZE);
		resv->node.last = ALIGN_DOWN(region->start + region->length - 1,
					     SHADOW_PAGE_SIZE) +
				  SHADOW_PAGE_SIZE - 1;
		interval_tree_insert(&resv->node, &shadow->resv);
		shadow_clear_iova(shadow, resv->node.start, resv->node.last);
	}
	iommu_put_resv_regions(dev, &regions);
	if (rc)
		shadow_resv_del_dev(shadow, dev);
	return rc;
}

/**
 * shadow_resv_del_dev() - Release a detached device's reserved regions
 * @shadow: The shadow, with shadow->lock held
 * @dev: Device being detached
 *
 * What the stage-1 maps there is synced in again (best effort: a range that
 * fails to sync stays unmapped, which is safe).
 */
void shadow_resv_del_dev(struct iommufd_hwpt_shadow *shadow, struct device *dev)
{
	struct interval_tree_node *node, *next;

	for (node = interval_tree_iter_first(&shadow->resv, 0, U64_MAX); node;
	     node = next) {
		struct shadow_resv *resv =
			container_of(node, struct shadow_resv, node);
		u64 first = max(node->start, shadow->aperture_start);
		u64 last = min(node->last, shadow->aperture_last);

		next = interval_tree_iter_next(node, 0, U64_MAX);
		if (resv->dev != dev)
			continue;
		interval_tree_remove(node, &shadow->resv);
		kfree(resv);
		if (first <= last)
			shadow_sync_range(shadow,
					  ALIGN_DOWN(first, SHADOW_PAGE_SIZE),
					  ALIGN(last + 1, SHADOW_PAGE_SIZE) - 1,
					  NULL);
	}
}
