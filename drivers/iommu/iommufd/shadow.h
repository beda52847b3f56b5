/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * iommufd shadow nesting: a user-managed stage-1 in guest memory, shadowed
 * into an ordinary paging domain through the pfns of its stage-2 parent.
 *
 * Objects: a struct iommufd_hwpt_shadow is an IOMMUFD_OBJ_HWPT_SHADOW hwpt.
 * Its domain (the shadow) is a paging domain of the device's driver that
 * iommufd core fills; its parent is a paging hwpt of the IOAS holding guest
 * memory (guest physical address = IOAS IOVA), which keeps every guest page
 * pinned and mapped. The shadow never pins: it reads stage-1 tables and
 * translates stage-1 output addresses through the parent.
 *
 * Locks, in the order they nest:
 *   igroup->lock (attach/detach/replace: reserved regions) or
 *   shadow_kvm_lock (shadow_kvm.c: in-kernel refreshes) or
 *   iopt->domains_rwsem (read, held by an IOAS unmap around the zap)
 *     shadow->lock (mutex: records, the shadow domain's content, resv)
 *       iopt->iova_rwsem (read, to look up an area of the parent IOAS)
 * None of the three outer locks is taken under another one of them by this
 * code. iopt->shadow_list is written under iopt->domains_rwsem held for
 * write (never with shadow->lock held) and read under it held for read.
 * The sync engine never takes domains_rwsem, so a zap waiting for
 * shadow->lock under domains_rwsem cannot deadlock with a sync.
 *
 * This header is private to the shadow files (shadow*.c); the hooks the
 * rest of iommufd calls are declared in iommufd_private.h.
 */
#ifndef __IOMMUFD_SHADOW_H
#define __IOMMUFD_SHADOW_H

#include <linux/interval_tree.h>
#include <linux/mutex.h>
#include <linux/types.h>

struct device;
struct io_pagetable;
struct iommufd_ctx;
struct iommufd_hw_pagetable;
struct iommufd_hwpt_paging;
struct kvm;
struct shadow_s1_format;

/**
 * enum shadow_counter - Counters of one shadow, for the test ops only
 * (IOMMU_TEST_OP_SHADOW_STATS reports them in this order): without
 * CONFIG_IOMMUFD_TEST there are none and shadow_count() does nothing
 * @SHADOW_SYNCS: Ranges synced (allocation, invalidation entries, refreshes)
 * @SHADOW_FLUSHES: IOTLB flushes issued (one per sync or zap that unmapped)
 * @SHADOW_MAP_CALLS: iommu_map_nosync() calls
 * @SHADOW_UNMAP_CALLS: iommu_unmap_fast() calls
 * @SHADOW_PAGES_MAPPED: 4 KiB pages mapped into the shadow
 * @SHADOW_PAGES_UNMAPPED: 4 KiB pages unmapped from the shadow
 * @SHADOW_ZAPS: Stage-2 unmap notifications that touched this shadow
 * @SHADOW_ERRORS: Syncs that ended with an error
 * @SHADOW_RECORDS: Records held (mapped runs and stage-1 table pages), read
 *	from the shadow's @nr_records when the counters are read
 * @SHADOW_MAP_SYNCS: iommu_sync_map() calls (one per sync that mapped)
 * @SHADOW_LEAF_BREAKS: Leaf-size blocks unmapped whole and partly mapped
 *	again
 * @SHADOW_NR_COUNTERS: Number of counters
 */
enum shadow_counter {
	SHADOW_SYNCS,
	SHADOW_FLUSHES,
	SHADOW_MAP_CALLS,
	SHADOW_UNMAP_CALLS,
	SHADOW_PAGES_MAPPED,
	SHADOW_PAGES_UNMAPPED,
	SHADOW_ZAPS,
	SHADOW_ERRORS,
	SHADOW_RECORDS,
	SHADOW_MAP_SYNCS,
	SHADOW_LEAF_BREAKS,
	SHADOW_NR_COUNTERS
};

/**
 * struct shadow_pages - What one sync or zap did to the shadow domain
 * @mapped: 4 KiB pages mapped
 * @unmapped: 4 KiB pages unmapped
 */
struct shadow_pages {
	u64 mapped;
	u64 unmapped;
};

/**
 * struct shadow_fault - Where and why the last sync of a shadow failed
 * @iova: First IOVA (4 KiB aligned) not synced; that page is not mapped
 * @addr: Guest address the fault is about (enum iommu_shadow_fault)
 * @reason: enum iommu_shadow_fault
 * @level: Level of the stage-1 table at fault, 0 if not a table fault
 */
struct shadow_fault {
	u64 iova;
	u64 addr;
	u32 reason;
	u32 level;
};

struct shadow_pblock;
struct shadow_table;

/* Stage-1 table pages a shadow remembers, about one per table level */
#define SHADOW_TCACHE_SLOTS	8

/**
 * struct shadow_tcache_slot - A stage-1 table page a walk read
 * @table: Its record; NULL: an empty slot
 * @va: Kernel address of the kernel page that holds it
 */
struct shadow_tcache_slot {
	struct shadow_table *table;
	const void *va;
};

/* Parent IOAS areas a shadow remembers having accepted */
#define SHADOW_AREA_SLOTS	4

/**
 * struct shadow_area_slot - A parent area range the engine accepted
 * @first: First guest address of the area
 * @last: Last guest address; 0 with @first 0: an empty slot
 * @prot: The area's IOMMU_READ / IOMMU_WRITE
 */
struct shadow_area_slot {
	u64 first;
	u64 last;
	u32 prot;
};

/**
 * struct shadow_s2_view - What the sync engine remembers of the stage-2
 * parent, so that a refresh takes no IOAS lock and no page walk of the
 * parent in the common case. All of it describes guest memory the parent
 * maps and pins; a zap forgets what it touches (shadow_s2_forget() in
 * shadow_sync.c) before the parent unpins, which keeps I1.
 * @areas: Parent areas accepted, until the parent unmaps them (see the
 *	I1 argument in shadow_sync.c)
 * @area_next: Slot of @areas to fill next
 * @area_hit: Slot of @areas that answered last
 * @pblocks: Parent block cache: 2 MiB blocks of guest memory the parent
 *	was seen to map host-contiguously (struct shadow_pblock, hashed)
 * @nr_pblocks: Slots of @pblocks in use (none: a lookup costs nothing)
 */
struct shadow_s2_view {
	struct shadow_area_slot areas[SHADOW_AREA_SLOTS];
	unsigned int area_next;
	unsigned int area_hit;
	struct shadow_pblock *pblocks;
	unsigned int nr_pblocks;
};

/**
 * struct shadow_kvm - A shadow's binding to a KVM VM (shadow_kvm.c)
 * @kvm: The VM, or NULL: not bound
 * @put_kvm: Drops the reference on @kvm
 * @item: On the list of bound shadows, while @kvm is set
 */
struct shadow_kvm {
	struct kvm *kvm;
	void (*put_kvm)(struct kvm *kvm);
	struct list_head item;
};

/**
 * struct iommufd_hwpt_shadow - A shadowed stage-1 hw_pagetable
 * @common: The hwpt; @common.domain is the shadow
 * @parent: Stage-2 parent (holds a users reference)
 * @ictx: iommufd context, to drop the reference on @parent
 * @iopt: The parent's IOAS page table
 * @fmt: Stage-1 format
 * @root: Stage-1 root as given by the VMM
 * @aperture_start: First IOVA translated
 * @aperture_last: Last IOVA translated
 * @kvm: The KVM binding (shadow_kvm.c)
 * @lock: Serializes sync, zap and reserved-region changes; protects all
 *	below
 * @maps_iova: Mapped runs by IOVA (struct shadow_map)
 * @maps_oa: The runs longer than one page by output address, the reverse
 *	map for zaps
 * @oa_hash: One-page runs, hashed by the 2 MiB block of their output
 *	address: the reverse map for them, cheaper to keep up than @maps_oa
 *	for a guest that retargets scattered pages
 * @s2: What the engine remembers of the parent's mappings
 * @tables_gpa: Stage-1 table pages read, by guest address (struct
 *	shadow_table)
 * @tables_iova: The same by the IOVA range each table translates
 * @tcache: Table pages read lately, by the size of the range they
 *	translate, until their record goes (see shadow_table())
 * @resv: Reserved IOVA ranges of attached devices (struct shadow_resv)
 * @nr_records: Entries in @maps_iova and @tables_gpa, bounded by
 *	iommufd_shadow_max_records
 * @dirty_on: The parent tracks dirty pages: what leaves the shadow is
 *	harvested first (shadow_dirty.c)
 * @stats: Counters (enum shadow_counter), with CONFIG_IOMMUFD_TEST
 * @fault: Where and why the last sync failed (zero after a success)
 * @iopt_item: On @iopt->shadow_list
 */
struct iommufd_hwpt_shadow {
	struct iommufd_hw_pagetable common;
	struct iommufd_hwpt_paging *parent;
	struct iommufd_ctx *ictx;
	struct io_pagetable *iopt;
	const struct shadow_s1_format *fmt;
	u64 root;
	u64 aperture_start;
	u64 aperture_last;
	struct shadow_kvm kvm;

	struct mutex lock; /* see the lock order at the top of this file */
	struct rb_root_cached maps_iova;
	struct rb_root_cached maps_oa;
	struct hlist_head *oa_hash;
	struct shadow_s2_view s2;
	struct rb_root_cached tables_gpa;
	struct rb_root_cached tables_iova;
	struct shadow_tcache_slot tcache[SHADOW_TCACHE_SLOTS];
	struct rb_root_cached resv;
	unsigned long nr_records;
	bool dirty_on;
#if IS_ENABLED(CONFIG_IOMMUFD_TEST)
	u64 stats[SHADOW_NR_COUNTERS];
#endif
	struct shadow_fault fault;
	struct list_head iopt_item;
};

/* Add @n to a counter of @shadow, if counters are built */
static inline void shadow_count(struct iommufd_hwpt_shadow *shadow,
				enum shadow_counter counter, u64 n)
{
#if IS_ENABLED(CONFIG_IOMMUFD_TEST)
	shadow->stats[counter] += n;
#endif
}

/* The object (shadow.c) */
struct iommu_hwpt_shadow_invalidate;
int shadow_inv_range(struct iommufd_hwpt_shadow *shadow,
		     const struct iommu_hwpt_shadow_invalidate *inv,
		     u64 *first, u64 *last);
int shadow_refresh(struct iommufd_hwpt_shadow *shadow, u64 first, u64 last,
		   struct shadow_fault *fault);

/* KVM binding (shadow_kvm.c) */
int shadow_kvm_bind(struct iommufd_hwpt_shadow *shadow, int fd);
void shadow_kvm_unbind(struct iommufd_hwpt_shadow *shadow);

/* Sync engine (shadow_sync.c) */
extern unsigned long iommufd_shadow_max_records;
int shadow_init_records(struct iommufd_hwpt_shadow *shadow);
int shadow_sync_range(struct iommufd_hwpt_shadow *shadow, u64 iova, u64 last,
		      struct shadow_pages *pages);
u64 shadow_zap_oa(struct iommufd_hwpt_shadow *shadow, u64 first, u64 last);
void shadow_clear_iova(struct iommufd_hwpt_shadow *shadow, u64 first,
		       u64 last);
void shadow_free_records(struct iommufd_hwpt_shadow *shadow);
bool shadow_iova_reserved(struct iommufd_hwpt_shadow *shadow, u64 iova,
			  u64 *last);
int shadow_lookup_prot(struct iommufd_hwpt_shadow *shadow, u64 iova);
int shadow_resv_add_dev(struct iommufd_hwpt_shadow *shadow, struct device *dev);
void shadow_resv_del_dev(struct iommufd_hwpt_shadow *shadow,
			 struct device *dev);
u64 shadow_map_oa(struct interval_tree_node *iova_node);
u32 shadow_map_prot(struct interval_tree_node *iova_node);

/* Dirty tracking through the shadows (shadow_dirty.c) */
void shadow_dirty_harvest(struct iommufd_hwpt_shadow *shadow, u64 iova, u64 oa,
			  u64 len, u32 prot);
void shadow_dirty_harvest_iova(struct iommufd_hwpt_shadow *shadow, u64 first,
			       u64 last);
int iommufd_shadow_dirty_link(struct iommufd_hwpt_shadow *shadow);

#endif
