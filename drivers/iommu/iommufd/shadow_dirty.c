// SPDX-License-Identifier: GPL-2.0-only
/*
 * Dirty tracking of a stage-2 parent through its shadows.
 *
 * Theory of operation
 * ===================
 *
 * A device attached to a shadow writes through the shadow domain, never
 * through the stage-2 parent, so the parent domain's own dirty bits say
 * nothing about it. The parent's bitmap (IOMMU_HWPT_GET_DIRTY_BITMAP,
 * indexed by parent IOVA = guest physical address, GPA) must still report
 * every guest page a device may have written through any of the parent's
 * shadows since the last clearing read. Each shadow does so in one of two
 * modes, chosen by its domain:
 *
 *  - exact: the shadow domain tracks dirty pages (allocated with
 *    IOMMU_HWPT_ALLOC_DIRTY_TRACKING because its parent was). Enabling
 *    tracking on the parent clears and enables it on the shadows; a read
 *    reads (and without NO_CLEAR clears) the shadow domain's dirty bits
 *    over what its records map writable, and reports each dirty shadow
 *    IOVA at the GPA its record translates it to;
 *  - conservative: the shadow domain cannot track. Every page it maps
 *    writable is reported dirty at every read while tracking is on, as
 *    VFIO type1 reports pinned pages without dirty tracking.
 *
 * An entry that leaves the shadow while tracking is on (a guest refresh
 * unmaps or retargets it, a stage-2 unmap zaps it, a leaf break unmaps it
 * for a moment, the shadow is destroyed) takes its dirty bits with it, so
 * the engine harvests them first (shadow_dirty_harvest*(), called under
 * shadow->lock right before the domain unmaps it): an exact shadow moves
 * the entry's dirty pages, a conservative one all its writable pages, into
 * the parent's pending set, by GPA. The pending set lives in the parent,
 * so it outlives the shadow; a read reports it and a clearing read
 * empties what it covered. Its memory is charged to the caller and
 * bounded by the guest memory the shadows map (one bit per 4 KiB page);
 * when it cannot grow, the pages go into one overflow range instead,
 * reported whole: never lost.
 *
 * A harvest reads the dirty bits before the unmap, with the generic
 * read_and_clear_dirty() op: the IOMMU API of 6.12 has no unmap that
 * returns them. A write the device makes through the entry after the
 * harvest and before the IOTLB flush of the unmap is not seen. Only DMA
 * that the guest races against its own invalidation of the same entry,
 * or that races a VMM's IOAS unmap, can do that; the parent's own domain
 * loses the dirty bits of an IOAS unmap entirely in 6.12.
 *
 * Read-only entries are never reported: a device cannot write through
 * them (I2), whatever a dirty bit says.
 *
 * Locks: iopt->domains_rwsem (write: enabling and disabling, linking a new
 * shadow; read: a bitmap read, a zap) -> shadow->lock -> sd->lock, which
 * protects the pending set and nests inside everything. @sd->enabled
 * changes under domains_rwsem held for write; a shadow's @dirty_on under
 * its lock too, so the engine reads it under shadow->lock alone.
 *
 * Bounds (I4): enabling, reading and harvesting walk the shadows' records,
 * never their apertures, and yield every SHADOW_DIRTY_YIELD records or
 * pages.
 */
#include <linux/iommu.h>
#include <linux/iova_bitmap.h>
#include <linux/sched.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/xarray.h>
#include <uapi/linux/iommufd.h>

#include "io_pagetable.h"
#include "iommufd_private.h"
#include "shadow.h"

#define SHADOW_DIRTY_PAGE	SZ_4K
/* Pending pages per xarray entry: a 32-bit bitmap in a value entry */
#define SHADOW_DIRTY_CHUNK_PAGES	32
#define SHADOW_DIRTY_CHUNK_SHIFT	17	/* 32 pages of 4 KiB */
#define SHADOW_DIRTY_YIELD	64

/**
 * struct iommufd_shadow_dirty - Dirty tracking state of a stage-2 parent
 * @enabled: The parent tracks dirty pages (under iopt->domains_rwsem)
 * @lock: Protects @pending, @ovf_first and @ovf_last
 * @pending: Pages harvested from entries that left a shadow, by GPA:
 *	index GPA >> SHADOW_DIRTY_CHUNK_SHIFT, value a bitmap of its pages
 * @ovf_first: First GPA harvested when @pending could not grow
 * @ovf_last: Last such GPA; below @ovf_first: none
 */
struct iommufd_shadow_dirty {
	bool enabled;
	struct mutex lock; /* see the lock order at the top of this file */
	struct xarray pending;
	u64 ovf_first;
	u64 ovf_last;
};

/* A walk over a shadow's records that yields now and then */
static void shadow_dirty_yield(unsigned int *work)
{
	if (++*work >= SHADOW_DIRTY_YIELD) {
		*work = 0;
		cond_resched();
	}
}

static struct iommufd_shadow_dirty *shadow_dirty_alloc(void)
{
	struct iommufd_shadow_dirty *sd;

	sd = kzalloc(sizeof(*sd), GFP_KERNEL_ACCOUNT);
	if (!sd)
		return NULL;
	mutex_init(&sd->lock);
	xa_init(&sd->pending);
	sd->ovf_first = U64_MAX;
	return sd;
}

/**
 * iommufd_shadow_parent_destroy() - Free a parent's dirty tracking state
 * @parent: A paging hwpt being destroyed; no shadow uses it any more
 */
void iommufd_shadow_parent_destroy(struct iommufd_hwpt_paging *parent)
{
	struct iommufd_shadow_dirty *sd = parent->shadow_dirty;

	if (!sd)
		return;
	xa_destroy(&sd->pending);
	mutex_destroy(&sd->lock);
	kfree(sd);
	parent->shadow_dirty = NULL;
}

/* Forget every pending page (a new tracking cycle, or none) */
static void shadow_dirty_pending_clear(struct iommufd_shadow_dirty *sd)
{
	mutex_lock(&sd->lock);
	xa_destroy(&sd->pending);
	sd->ovf_first = U64_MAX;
	sd->ovf_last = 0;
	mutex_unlock(&sd->lock);
}

/* Add guest [gpa, gpa + len) to the parent's pending set; never fails */
static void shadow_dirty_pending_add(struct iommufd_shadow_dirty *sd, u64 gpa,
				     u64 len)
{
	u64 last = gpa + len - 1;
	unsigned int work = 0;

	mutex_lock(&sd->lock);
	while (true) {
		unsigned long idx = gpa >> SHADOW_DIRTY_CHUNK_SHIFT;
		u64 chunk_last = ((u64)idx << SHADOW_DIRTY_CHUNK_SHIFT) +
				 BIT_ULL(SHADOW_DIRTY_CHUNK_SHIFT) - 1;
		u64 end = min(last, chunk_last);
		unsigned int first_bit = (gpa >> 12) % SHADOW_DIRTY_CHUNK_PAGES;
		unsigned int last_bit = (end >> 12) % SHADOW_DIRTY_CHUNK_PAGES;
		unsigned long bits = GENMASK(last_bit, first_bit);
		void *old = xa_load(&sd->pending, idx);

		if (old)
			bits |= xa_to_value(old);
		if (xa_is_err(xa_store(&sd->pending, idx, xa_mk_value(bits),
				       GFP_KERNEL_ACCOUNT))) {
			/* No memory: one range instead, reported whole */
			sd->ovf_first = min(sd->ovf_first,
					    ALIGN_DOWN(gpa, SHADOW_DIRTY_PAGE));
			sd->ovf_last = max(sd->ovf_last,
					   ALIGN_DOWN(end, SHADOW_DIRTY_PAGE) +
					   SHADOW_DIRTY_PAGE - 1);
		}
		if (end == last)
			break;
		gpa = end + 1;
		shadow_dirty_yield(&work);
	}
	mutex_unlock(&sd->lock);
}

/* The dirty bits read from a shadow domain go to a callback, by IOVA */
typedef void (*shadow_dirty_fn)(void *ctx, u64 iova, u64 last);

/*
 * Find the dirty pages of the shadow domain in [iova, last], reading (and
 * without IOMMU_DIRTY_NO_CLEAR in @flags clearing) their dirty bits, and
 * pass each dirty range to @fn. One probe without clearing finds the span
 * of the dirty bits (the gather of a dirty bitmap without an iova_bitmap
 * records their bounds, and nothing clean costs more than that); inside
 * it, each page is read on its own. A dirty leaf larger than a page is
 * reported whole. Ranges whose bits were cleared go into @flush.
 */
static void shadow_dirty_scan(struct iommu_domain *domain, u64 iova, u64 last,
			      unsigned long flags, shadow_dirty_fn fn,
			      void *ctx, struct iommu_iotlb_gather *flush)
{
	const struct iommu_dirty_ops *ops = domain->dirty_ops;
	struct iommu_iotlb_gather gather;
	struct iommu_dirty_bitmap dirty;
	unsigned int work = 0;
	u64 cur, end;

	iommu_iotlb_gather_init(&gather);
	iommu_dirty_bitmap_init(&dirty, NULL, &gather);
	if (ops->read_and_clear_dirty(domain, iova, last - iova + 1,
				      IOMMU_DIRTY_NO_CLEAR, &dirty) ||
	    gather.start > gather.end)
		return;
	cur = max_t(u64, iova, ALIGN_DOWN(gather.start, SHADOW_DIRTY_PAGE));
	end = min_t(u64, last, gather.end);
	while (cur <= end) {
		u64 first_d, last_d;

		iommu_iotlb_gather_init(&gather);
		if (ops->read_and_clear_dirty(domain, cur, SHADOW_DIRTY_PAGE,
					      flags, &dirty) ||
		    gather.start > gather.end) {
			cur += SHADOW_DIRTY_PAGE;
			shadow_dirty_yield(&work);
			continue;
		}
		first_d = max_t(u64, iova, ALIGN_DOWN(gather.start,
						      SHADOW_DIRTY_PAGE));
		last_d = min_t(u64, last, gather.end | (SHADOW_DIRTY_PAGE - 1));
		fn(ctx, first_d, last_d);
		if (flush && !(flags & IOMMU_DIRTY_NO_CLEAR))
			iommu_iotlb_gather_add_range(flush, first_d,
						     last_d - first_d + 1);
		if (last_d == U64_MAX)
			break;
		cur = max(cur + SHADOW_DIRTY_PAGE, last_d + 1);
		shadow_dirty_yield(&work);
	}
}

struct shadow_dirty_harvest_ctx {
	struct iommufd_shadow_dirty *sd;
	u64 iova;
	u64 oa;
};

static void shadow_dirty_harvest_one(void *ctx, u64 first, u64 last)
{
	struct shadow_dirty_harvest_ctx *h = ctx;

	shadow_dirty_pending_add(h->sd, h->oa + (first - h->iova),
				 last - first + 1);
}

/**
 * shadow_dirty_harvest() - An entry is about to leave the shadow
 * @shadow: The shadow, with shadow->lock held and @shadow->dirty_on set
 * @iova: First IOVA of the entry
 * @oa: Guest address it translates to
 * @len: Bytes
 * @prot: Its IOMMU_READ / IOMMU_WRITE
 *
 * Moves what a device may have written through [iova, iova + len) into
 * the parent's pending set: its dirty pages (exact), or all of it
 * (conservative). Read-only entries are never written.
 */
void shadow_dirty_harvest(struct iommufd_hwpt_shadow *shadow, u64 iova, u64 oa,
			  u64 len, u32 prot)
{
	struct iommufd_shadow_dirty *sd = shadow->parent->shadow_dirty;
	struct iommu_domain *domain = shadow->common.domain;
	struct shadow_dirty_harvest_ctx h = {
		.sd = sd,
		.iova = iova,
		.oa = oa,
	};

	lockdep_assert_held(&shadow->lock);
	if (!(prot & IOMMU_WRITE))
		return;
	if (!domain->dirty_ops) {
		shadow_dirty_pending_add(sd, oa, len);
		return;
	}
	/* The entry goes: its bits need not be cleared, nor flushed */
	shadow_dirty_scan(domain, iova, iova + len - 1, IOMMU_DIRTY_NO_CLEAR,
			  shadow_dirty_harvest_one, &h, NULL);
}

/**
 * shadow_dirty_harvest_iova() - The shadow is about to unmap a range
 * @shadow: The shadow, with shadow->lock held and @shadow->dirty_on set
 * @first: First IOVA
 * @last: Last IOVA
 *
 * shadow_dirty_harvest() for every record in [first, last], which must
 * still say what the domain maps there.
 */
void shadow_dirty_harvest_iova(struct iommufd_hwpt_shadow *shadow, u64 first,
			       u64 last)
{
	struct interval_tree_node *node;
	unsigned int work = 0;

	for (node = interval_tree_iter_first(&shadow->maps_iova, first, last);
	     node; node = interval_tree_iter_next(node, first, last)) {
		u64 s = max(first, node->start), e = min(last, node->last);

		shadow_dirty_harvest(shadow, s, shadow_map_oa(node) +
				     (s - node->start), e - s + 1,
				     shadow_map_prot(node));
		shadow_dirty_yield(&work);
	}
}

/*
 * Clear the dirty bits of everything the shadow maps, for a clean start,
 * and turn tracking on or off in its domain (conservative: nothing to do).
 */
static int shadow_dirty_set(struct iommufd_hwpt_shadow *shadow, bool enable)
{
	struct iommu_domain *domain = shadow->common.domain;
	const struct iommu_dirty_ops *ops = domain->dirty_ops;
	struct interval_tree_node *node;
	struct iommu_iotlb_gather gather;
	struct iommu_dirty_bitmap dirty;
	unsigned int work = 0;
	int rc;

	lockdep_assert_held(&shadow->lock);
	if (ops) {
		if (enable) {
			iommu_iotlb_gather_init(&gather);
			iommu_dirty_bitmap_init(&dirty, NULL, &gather);
			for (node = interval_tree_iter_first(&shadow->maps_iova,
							     0, U64_MAX);
			     node;
			     node = interval_tree_iter_next(node, 0, U64_MAX)) {
				rc = ops->read_and_clear_dirty(domain,
							       node->start,
							       node->last -
							       node->start + 1,
							       0, &dirty);
				if (rc)
					return rc;
				shadow_dirty_yield(&work);
			}
			if (gather.start <= gather.end)
				iommu_iotlb_sync(domain, &gather);
		}
		rc = ops->set_dirty_tracking(domain, enable);
		if (rc)
			return rc;
	}
	shadow->dirty_on = enable;
	return 0;
}

/**
 * iommufd_shadow_dirty_link() - A new shadow joins its parent
 * @shadow: The shadow, not yet on iopt->shadow_list, with
 *	iopt->domains_rwsem held for write
 *
 * If the parent tracks dirty pages, so does the shadow from its first
 * entry on.
 *
 * Return: 0 or the errno of the shadow domain's set_dirty_tracking().
 */
int iommufd_shadow_dirty_link(struct iommufd_hwpt_shadow *shadow)
{
	struct iommufd_shadow_dirty *sd = shadow->parent->shadow_dirty;
	int rc;

	lockdep_assert_held_write(&shadow->iopt->domains_rwsem);
	if (!sd || !sd->enabled)
		return 0;
	mutex_lock(&shadow->lock);
	rc = shadow_dirty_set(shadow, true);
	mutex_unlock(&shadow->lock);
	return rc;
}

/* Set every shadow of @parent; on failure put them back as @sd says */
static int shadow_dirty_set_all(struct iommufd_hwpt_paging *parent,
				bool enable)
{
	struct io_pagetable *iopt = &parent->ioas->iopt;
	struct iommufd_hwpt_shadow *shadow;
	int rc = 0;

	list_for_each_entry(shadow, &iopt->shadow_list, iopt_item) {
		if (shadow->parent != parent)
			continue;
		mutex_lock(&shadow->lock);
		rc = shadow_dirty_set(shadow, enable);
		mutex_unlock(&shadow->lock);
		if (rc)
			break;
	}
	if (!rc)
		return 0;
	list_for_each_entry(shadow, &iopt->shadow_list, iopt_item) {
		if (shadow->parent != parent)
			continue;
		mutex_lock(&shadow->lock);
		/* Best effort; disabling a domain's tracking cannot fail */
		shadow_dirty_set(shadow, parent->shadow_dirty->enabled);
		mutex_unlock(&shadow->lock);
	}
	return rc;
}

/**
 * iommufd_shadow_set_dirty_tracking() - IOMMU_HWPT_SET_DIRTY_TRACKING
 * @parent: A paging hwpt, maybe the stage-2 parent of shadows
 * @enable: Turn tracking on (with a clean start) or off
 *
 * The parent and all its shadows, present and future, track together.
 *
 * Return: 0, -EOPNOTSUPP if the parent cannot track, or the errno of a
 * domain that failed (then nothing changed).
 */
int iommufd_shadow_set_dirty_tracking(struct iommufd_hwpt_paging *parent,
				      bool enable)
{
	struct io_pagetable *iopt = &parent->ioas->iopt;
	struct iommufd_shadow_dirty *sd;
	int rc;

	if (!parent->common.domain->dirty_ops)
		return -EOPNOTSUPP;
	down_write(&iopt->domains_rwsem);
	sd = parent->shadow_dirty;
	if (!sd) {
		sd = shadow_dirty_alloc();
		if (!sd) {
			rc = -ENOMEM;
			goto out_unlock;
		}
		parent->shadow_dirty = sd;
	}
	/* Shadows first: when the parent says it tracks, they do */
	rc = shadow_dirty_set_all(parent, enable);
	if (rc)
		goto out_unlock;
	rc = iopt_set_dirty_tracking(iopt, parent->common.domain, enable);
	if (rc) {
		shadow_dirty_set_all(parent, sd->enabled);
		goto out_unlock;
	}
	/* Enabling starts a clean snapshot; disabled, nothing is kept */
	shadow_dirty_pending_clear(sd);
	sd->enabled = enable;
out_unlock:
	up_write(&iopt->domains_rwsem);
	return rc;
}

struct shadow_dirty_read_ctx {
	struct iova_bitmap *bitmap;
	u64 iova;
	u64 oa;
};

static void shadow_dirty_report(void *ctx, u64 first, u64 last)
{
	struct shadow_dirty_read_ctx *r = ctx;

	iova_bitmap_set(r->bitmap, r->oa + (first - r->iova),
			last - first + 1);
}

/* Report one shadow's pages whose GPA lies in [first, last] */
static void shadow_dirty_read_shadow(struct iommufd_hwpt_shadow *shadow,
				     struct iova_bitmap *bitmap, u64 first,
				     u64 last, unsigned long flags)
{
	struct iommu_domain *domain = shadow->common.domain;
	struct interval_tree_node *node;
	struct iommu_iotlb_gather flush;
	unsigned int work = 0;

	lockdep_assert_held(&shadow->lock);
	iommu_iotlb_gather_init(&flush);
	for (node = interval_tree_iter_first(&shadow->maps_iova, 0, U64_MAX);
	     node; node = interval_tree_iter_next(node, 0, U64_MAX)) {
		u64 oa = shadow_map_oa(node);
		u64 oa_last = oa + (node->last - node->start);
		struct shadow_dirty_read_ctx r = {
			.bitmap = bitmap,
			.iova = node->start,
			.oa = oa,
		};
		u64 s, e;

		shadow_dirty_yield(&work);
		if (!(shadow_map_prot(node) & IOMMU_WRITE) || oa > last ||
		    oa_last < first)
			continue;
		/* The part of the record whose GPA is in the bitmap */
		s = node->start + (max(oa, first) - oa);
		e = node->start + (min(oa_last, last) - oa);
		if (!domain->dirty_ops) {
			shadow_dirty_report(&r, s, e);
			continue;
		}
		shadow_dirty_scan(domain, s, e, flags, shadow_dirty_report,
				  &r, &flush);
	}
	if (flush.start <= flush.end)
		iommu_iotlb_sync(domain, &flush);
}

/* Report the pending pages in [first, last]; a clearing read drops them */
static void shadow_dirty_read_pending(struct iommufd_shadow_dirty *sd,
				      struct iova_bitmap *bitmap, u64 first,
				      u64 last, unsigned long flags)
{
	bool clear = !(flags & IOMMU_DIRTY_NO_CLEAR);
	unsigned long idx;
	unsigned int work = 0;
	void *entry;

	mutex_lock(&sd->lock);
	xa_for_each_range(&sd->pending, idx, entry,
			  first >> SHADOW_DIRTY_CHUNK_SHIFT,
			  last >> SHADOW_DIRTY_CHUNK_SHIFT) {
		u64 base = (u64)idx << SHADOW_DIRTY_CHUNK_SHIFT;
		unsigned long bits = xa_to_value(entry), mask = 0;
		unsigned int bit;

		for (bit = 0; bit < SHADOW_DIRTY_CHUNK_PAGES; bit++) {
			u64 gpa = base + (u64)bit * SHADOW_DIRTY_PAGE;

			if (!(bits & BIT(bit)) || gpa < first || gpa > last)
				continue;
			iova_bitmap_set(bitmap, gpa, SHADOW_DIRTY_PAGE);
			mask |= BIT(bit);
		}
		if (clear && mask) {
			bits &= ~mask;
			/* Replacing an entry allocates nothing */
			if (bits)
				xa_store(&sd->pending, idx, xa_mk_value(bits),
					 GFP_KERNEL_ACCOUNT);
			else
				xa_erase(&sd->pending, idx);
		}
		shadow_dirty_yield(&work);
	}
	if (sd->ovf_first <= sd->ovf_last && sd->ovf_first <= last &&
	    sd->ovf_last >= first) {
		u64 s = max(sd->ovf_first, first), e = min(sd->ovf_last, last);

		iova_bitmap_set(bitmap, s, e - s + 1);
		/* Only a read covering all of it can forget it */
		if (clear && sd->ovf_first >= first && sd->ovf_last <= last) {
			sd->ovf_first = U64_MAX;
			sd->ovf_last = 0;
		}
	}
	mutex_unlock(&sd->lock);
}

/**
 * iommufd_shadow_dirty_prepare() - Before a parent's bitmap is read
 * @parent: The paging hwpt of IOMMU_HWPT_GET_DIRTY_BITMAP
 * @cmd: The ioctl's arguments
 *
 * Allocates what the read of the shadows needs before the parent's own
 * bits are read and cleared, so that no failure can come after them.
 *
 * Return: NULL if the parent never tracked with shadows, a bitmap to pass
 * to iommufd_shadow_dirty_read(), or an ERR_PTR.
 */
struct iova_bitmap *
iommufd_shadow_dirty_prepare(struct iommufd_hwpt_paging *parent,
			     struct iommu_hwpt_get_dirty_bitmap *cmd)
{
	struct io_pagetable *iopt = &parent->ioas->iopt;
	struct iommufd_shadow_dirty *sd = parent->shadow_dirty;
	struct iommufd_hwpt_shadow *shadow;
	struct iova_bitmap *bitmap;
	bool work = false;
	int rc;

	if (!sd)
		return NULL;
	/*
	 * A parent without shadows pays nothing more. A shadow linked after
	 * this look keeps its bits for the next read.
	 */
	down_read(&iopt->domains_rwsem);
	if (sd->enabled) {
		list_for_each_entry(shadow, &iopt->shadow_list, iopt_item)
			if (shadow->parent == parent)
				work = true;
		mutex_lock(&sd->lock);
		if (!xa_empty(&sd->pending) || sd->ovf_first <= sd->ovf_last)
			work = true;
		mutex_unlock(&sd->lock);
	}
	up_read(&iopt->domains_rwsem);
	if (!work)
		return NULL;
	rc = iommufd_check_iova_range(iopt, cmd);
	if (rc)
		return ERR_PTR(rc);
	bitmap = iova_bitmap_alloc(cmd->iova, cmd->length, cmd->page_size,
				   u64_to_user_ptr(cmd->data));
	return IS_ERR(bitmap) ? ERR_PTR(-ENOMEM) : bitmap;
}

/**
 * iommufd_shadow_dirty_read() - Report what the shadows of a parent wrote
 * @parent: The paging hwpt of IOMMU_HWPT_GET_DIRTY_BITMAP
 * @cmd: The ioctl's arguments
 * @bitmap: From iommufd_shadow_dirty_prepare(), freed here; NULL: nothing
 * @rc: 0 if the parent's own bits were read; else report nothing
 *
 * Sets, in the user's bitmap, each guest page a device may have written
 * through a shadow of @parent since the last clearing read.
 */
void iommufd_shadow_dirty_read(struct iommufd_hwpt_paging *parent,
			       struct iommu_hwpt_get_dirty_bitmap *cmd,
			       struct iova_bitmap *bitmap, int rc)
{
	struct io_pagetable *iopt = &parent->ioas->iopt;
	struct iommufd_hwpt_shadow *shadow;
	u64 first = cmd->iova, last = cmd->iova + cmd->length - 1;
	unsigned long flags = 0;

	if (!bitmap)
		return;
	if (cmd->flags & IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR)
		flags = IOMMU_DIRTY_NO_CLEAR;
	down_read(&iopt->domains_rwsem);
	if (rc || !parent->shadow_dirty->enabled)
		goto out;
	list_for_each_entry(shadow, &iopt->shadow_list, iopt_item) {
		if (shadow->parent != parent)
			continue;
		mutex_lock(&shadow->lock);
		shadow_dirty_read_shadow(shadow, bitmap, first, last, flags);
		mutex_unlock(&shadow->lock);
	}
	shadow_dirty_read_pending(parent->shadow_dirty, bitmap, first, last,
				  flags);
out:
	up_read(&iopt->domains_rwsem);
	iova_bitmap_free(bitmap);
}
