// SPDX-License-Identifier: GPL-2.0-only
/*
 * Shadowed stage-1 hw_pagetables (IOMMU_HWPT_DATA_SHADOW): the object, its
 * allocation and invalidation, the attach and stage-2 unmap hooks and what
 * the test ops (selftest.c) read of a shadow. The sync engine is
 * shadow_sync.c, the KVM binding shadow_kvm.c; the stage-1 formats are
 * shadow_<format>.c behind shadow_fmt.h.
 *
 * The object owns three references: a users reference on its stage-2 parent
 * (so the parent answers EBUSY to destroy), a place on the parent IOAS's
 * shadow_list (so an IOAS unmap zaps it), and optionally a reference on a
 * KVM VM. Destroy undoes them in reverse; it never fails.
 *
 * A parent the kernel found or created for an IOAS (pt_id = IOAS, an
 * auto_domain hwpt) outlives its last shadow: a guest that deregisters and
 * registers its translation again (Linux does on every domain switch) gets
 * the next shadow on the same parent, without unpinning, re-pinning and
 * re-mapping all guest memory. It holds no reference but the object's own,
 * so closing the iommufd destroys it as any leaf, and IOMMU_DESTROY of its
 * IOAS first destroys the parents no shadow and no device use
 * (iommufd_shadow_ioas_destroy()).
 */
#include <linux/file.h>
#include <linux/iommu.h>
#include <linux/sched/signal.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <uapi/linux/iommufd.h>

#include "io_pagetable.h"
#include "iommufd_private.h"
#include "iommufd_test.h"
#include "shadow.h"
#include "shadow_fmt.h"

#define CREATE_TRACE_POINTS
#include "shadow_trace.h"

#define SHADOW_ALIGN	SZ_4K

static const struct shadow_s1_format *const shadow_formats[] = {
	&shadow_s390_format,
};

static struct iommufd_hwpt_shadow *to_shadow(struct iommufd_hw_pagetable *hwpt)
{
	return container_of(hwpt, struct iommufd_hwpt_shadow, common);
}

static const struct shadow_s1_format *shadow_find_format(u32 id)
{
	unsigned int i;

	for (i = 0; i != ARRAY_SIZE(shadow_formats); i++)
		if (shadow_formats[i]->id == id)
			return shadow_formats[i];
	return NULL;
}

/*
 * The stage-2 parent: a NEST_PARENT paging hwpt given by the VMM, or the
 * kernel-owned one of an IOAS, found or created. Returns it with a users
 * reference the caller drops with iommufd_hw_pagetable_put().
 */
static struct iommufd_hwpt_paging *
shadow_get_parent(struct iommufd_ucmd *ucmd, struct iommufd_device *idev,
		  u32 pt_id)
{
	const struct iommu_ops *ops = dev_iommu_ops(idev->dev);
	struct iommufd_hwpt_paging *parent = ERR_PTR(-EINVAL);
	struct iommufd_object *pt_obj;
	struct iommufd_ioas *ioas;

	pt_obj = iommufd_get_object(ucmd->ictx, pt_id, IOMMUFD_OBJ_ANY);
	if (IS_ERR(pt_obj))
		return ERR_PTR(-EINVAL);

	switch (pt_obj->type) {
	case IOMMUFD_OBJ_HWPT_PAGING:
		parent = container_of(pt_obj, struct iommufd_hwpt_paging,
				      common.obj);
		if (!parent->nest_parent) {
			parent = ERR_PTR(-EINVAL);
			break;
		}
		refcount_inc(&parent->common.obj.users);
		break;
	case IOMMUFD_OBJ_IOAS:
		ioas = container_of(pt_obj, struct iommufd_ioas, obj);
		mutex_lock(&ioas->mutex);
		/* Any kernel-owned paging domain of the IOAS will do */
		list_for_each_entry(parent, &ioas->hwpt_list, hwpt_item) {
			if (parent->auto_domain &&
			    parent->common.domain->owner == ops &&
			    iommufd_lock_obj(&parent->common.obj)) {
				/* Keep users, drop shortterm_users */
				refcount_inc(&parent->common.obj.users);
				iommufd_put_object(ucmd->ictx,
						   &parent->common.obj);
				mutex_unlock(&ioas->mutex);
				goto out_put;
			}
		}
		parent = iommufd_hwpt_paging_alloc(ucmd->ictx, ioas, idev,
						   IOMMU_NO_PASID, 0, false,
						   NULL);
		if (!IS_ERR(parent)) {
			parent->auto_domain = true;
			/* The shadow's reference, besides the object's own */
			refcount_inc(&parent->common.obj.users);
			iommufd_object_finalize(ucmd->ictx, &parent->common.obj);
		}
		mutex_unlock(&ioas->mutex);
		break;
	default:
		break;
	}
out_put:
	iommufd_put_object(ucmd->ictx, pt_obj);
	return parent;
}

/*
 * Drop a shadow's reference on its parent. A kernel-owned parent stays
 * with the object's own reference, for the next shadow of its IOAS.
 */
static void shadow_put_parent(struct iommufd_ctx *ictx,
			      struct iommufd_hwpt_paging *parent)
{
	if (parent->auto_domain)
		refcount_dec(&parent->common.obj.users);
	else
		iommufd_hw_pagetable_put(ictx, &parent->common);
}

/**
 * iommufd_shadow_ioas_destroy() - IOMMU_DESTROY of an object is coming
 * @ictx: iommufd context
 * @id: ID of the object to destroy
 *
 * If @id is an IOAS, destroy the kernel-owned paging hwpts of it that
 * nothing uses any more: parents kept for a next shadow (see the top of
 * this file), which would otherwise hold the IOAS busy. One in use by a
 * shadow or a device stays, and so the IOAS answers EBUSY as before.
 */
void iommufd_shadow_ioas_destroy(struct iommufd_ctx *ictx, u32 id)
{
	struct iommufd_object *obj;
	struct iommufd_ioas *ioas;
	unsigned int tries;

	/*
	 * As iommufd_get_object(), without its fault injection point: the
	 * destroy of an IOAS must not fail where it would not without us
	 */
	xa_lock(&ictx->objects);
	obj = xa_load(&ictx->objects, id);
	if (obj && (obj->type != IOMMUFD_OBJ_IOAS || !iommufd_lock_obj(obj)))
		obj = NULL;
	xa_unlock(&ictx->objects);
	if (!obj)
		return;
	ioas = container_of(obj, struct iommufd_ioas, obj);
	/* Bounded: an hwpt another thread takes meanwhile is left alone */
	for (tries = 0; tries != 16; tries++) {
		struct iommufd_hwpt_paging *cur, *found = NULL;

		mutex_lock(&ioas->mutex);
		list_for_each_entry(cur, &ioas->hwpt_list, hwpt_item) {
			/* Only the object's own reference: nobody uses it */
			if (cur->auto_domain &&
			    refcount_read(&cur->common.obj.users) == 1 &&
			    refcount_inc_not_zero(&cur->common.obj.users)) {
				found = cur;
				break;
			}
		}
		mutex_unlock(&ioas->mutex);
		if (!found)
			break;
		/* Destroys it unless someone took it since */
		iommufd_object_put_and_try_destroy(ictx, &found->common.obj);
	}
	iommufd_put_object(ictx, obj);
}

static void shadow_release(struct iommufd_hwpt_shadow *shadow)
{
	struct io_pagetable *iopt = shadow->iopt;

	trace_shadow_destroy(shadow->common.obj.id);
	if (iopt && !list_empty(&shadow->iopt_item)) {
		down_write(&iopt->domains_rwsem);
		list_del_init(&shadow->iopt_item);
		up_write(&iopt->domains_rwsem);
	}
	shadow_kvm_unbind(shadow);
	if (shadow->common.domain) {
		/* Domains are freed empty */
		mutex_lock(&shadow->lock);
		shadow_clear_iova(shadow, 0, U64_MAX);
		mutex_unlock(&shadow->lock);
		iommu_domain_free(shadow->common.domain);
	}
	shadow_free_records(shadow);
	shadow->common.domain = NULL;
	mutex_destroy(&shadow->lock);
	if (shadow->parent)
		shadow_put_parent(shadow->ictx, shadow->parent);
}

void iommufd_hwpt_shadow_destroy(struct iommufd_object *obj)
{
	shadow_release(container_of(obj, struct iommufd_hwpt_shadow,
				    common.obj));
}

void iommufd_hwpt_shadow_abort(struct iommufd_object *obj)
{
	iommufd_hwpt_shadow_destroy(obj);
}

static int shadow_check_data(const struct iommu_hwpt_shadow *data)
{
	if (data->__reserved || data->flags & ~IOMMU_HWPT_SHADOW_KVM_FD)
		return -EOPNOTSUPP;
	if (!shadow_find_format(data->format))
		return -EOPNOTSUPP;
	if (data->aperture_start > data->aperture_last ||
	    !IS_ALIGNED(data->aperture_start, SHADOW_ALIGN) ||
	    !IS_ALIGNED(data->aperture_last + 1, SHADOW_ALIGN))
		return -EINVAL;
	return shadow_find_format(data->format)->check_root(data->root);
}

/* Sync [first, last]; on error *@fault (if given) says where and why */
int shadow_refresh(struct iommufd_hwpt_shadow *shadow, u64 first, u64 last,
		   struct shadow_fault *fault)
{
	struct shadow_pages pages = {};
	int rc;

	mutex_lock(&shadow->lock);
	rc = shadow_sync_range(shadow, first, last, &pages);
	if (fault)
		*fault = shadow->fault;
	trace_shadow_sync(shadow->common.obj.id, first, last, pages.mapped,
			  pages.unmapped, shadow->nr_records, rc);
	mutex_unlock(&shadow->lock);
	return rc;
}

/**
 * iommufd_hwpt_shadow_alloc() - IOMMU_HWPT_ALLOC with IOMMU_HWPT_DATA_SHADOW
 * @ucmd: The ioctl; its struct iommu_hwpt_alloc gets the new ID
 * @idev: Device the shadow is allocated for
 * @user_data: The struct iommu_hwpt_shadow
 *
 * Return: 0 with the object published, or an errno of UAPI.md.
 */
int iommufd_hwpt_shadow_alloc(struct iommufd_ucmd *ucmd,
			      struct iommufd_device *idev,
			      const struct iommu_user_data *user_data)
{
	const struct iommu_ops *ops = dev_iommu_ops(idev->dev);
	struct iommu_hwpt_alloc *cmd = ucmd->cmd;
	struct iommufd_hwpt_paging *parent;
	struct iommufd_hwpt_shadow *shadow;
	struct iommu_hwpt_shadow data;
	struct iommu_domain *domain;
	int rc;

	/* No fault queue, not a parent; dirty tracking is the parent's */
	if (cmd->flags)
		return -EOPNOTSUPP;
	rc = iommu_copy_struct_from_user(&data, user_data,
					 IOMMU_HWPT_DATA_SHADOW, __reserved);
	if (rc)
		return rc;
	rc = shadow_check_data(&data);
	if (rc)
		return rc;

	parent = shadow_get_parent(ucmd, idev, cmd->pt_id);
	if (IS_ERR(parent))
		return PTR_ERR(parent);

	shadow = __iommufd_object_alloc(ucmd->ictx, shadow,
					IOMMUFD_OBJ_HWPT_SHADOW, common.obj);
	if (IS_ERR(shadow)) {
		shadow_put_parent(ucmd->ictx, parent);
		return PTR_ERR(shadow);
	}
	shadow->parent = parent;
	shadow->ictx = ucmd->ictx;
	shadow->fmt = shadow_find_format(data.format);
	shadow->root = data.root;
	shadow->aperture_start = data.aperture_start;
	shadow->aperture_last = data.aperture_last;
	mutex_init(&shadow->lock);
	INIT_LIST_HEAD(&shadow->iopt_item);
	rc = shadow_init_records(shadow);
	if (rc)
		goto out_abort;

	if (ops->domain_alloc_user) {
		/* Exact dirty tracking if the parent tracks (shadow_dirty.c) */
		domain = ERR_PTR(-EOPNOTSUPP);
		if (parent->common.domain->dirty_ops)
			domain = ops->domain_alloc_user(idev->dev,
							IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
							NULL, NULL);
		/* A driver that cannot: conservative (shadow_dirty.c) */
		if (PTR_ERR_OR_ZERO(domain) == -EOPNOTSUPP)
			domain = ops->domain_alloc_user(idev->dev, 0, NULL,
							NULL);
		if (!IS_ERR(domain))
			domain->owner = ops;
	} else {
		domain = iommu_paging_domain_alloc(idev->dev);
	}
	if (IS_ERR(domain)) {
		rc = PTR_ERR(domain);
		goto out_abort;
	}
	shadow->common.domain = domain;
	if (IS_ENABLED(CONFIG_IOMMUFD_TEST))
		iommufd_test_domain_is_shadow(domain);
	if (idev->enforce_cache_coherency &&
	    domain->ops->enforce_cache_coherency)
		domain->ops->enforce_cache_coherency(domain);

	/* The aperture must be IOVA the shadow domain can map */
	if ((domain->geometry.force_aperture ||
	     domain->geometry.aperture_end) &&
	    (data.aperture_start < domain->geometry.aperture_start ||
	     data.aperture_last > domain->geometry.aperture_end)) {
		rc = -EINVAL;
		goto out_abort;
	}

	if (data.flags & IOMMU_HWPT_SHADOW_KVM_FD) {
		rc = shadow_kvm_bind(shadow, data.kvm_fd);
		if (rc)
			goto out_abort;
	}

	shadow->iopt = &parent->ioas->iopt;
	down_write(&shadow->iopt->domains_rwsem);
	rc = iommufd_shadow_dirty_link(shadow);
	if (!rc)
		list_add_tail(&shadow->iopt_item, &shadow->iopt->shadow_list);
	up_write(&shadow->iopt->domains_rwsem);
	if (rc)
		goto out_abort;

	rc = shadow_refresh(shadow, data.aperture_start, data.aperture_last,
			    NULL);
	if (rc)
		goto out_abort;

	cmd->out_hwpt_id = shadow->common.obj.id;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc)
		goto out_abort;
	trace_shadow_alloc(shadow->common.obj.id, data.format, data.root,
			   data.aperture_start, data.aperture_last, 0);
	iommufd_object_finalize(ucmd->ictx, &shadow->common.obj);
	return 0;

out_abort:
	trace_shadow_alloc(shadow->common.obj.id, data.format, data.root,
			   data.aperture_start, data.aperture_last, rc);
	iommufd_object_abort_and_destroy(ucmd->ictx, &shadow->common.obj);
	return rc;
}

/* Validate one invalidation entry and turn it into [*first, *last] */
int shadow_inv_range(struct iommufd_hwpt_shadow *shadow,
		     const struct iommu_hwpt_shadow_invalidate *inv,
		     u64 *first, u64 *last)
{
	if (inv->__reserved || inv->flags & ~IOMMU_SHADOW_INVALIDATE_ALL)
		return -EOPNOTSUPP;
	if (inv->flags & IOMMU_SHADOW_INVALIDATE_ALL) {
		if (inv->iova || inv->length)
			return -EINVAL;
		*first = shadow->aperture_start;
		*last = shadow->aperture_last;
		return 0;
	}
	if (!inv->length || !IS_ALIGNED(inv->iova, SHADOW_ALIGN) ||
	    !IS_ALIGNED(inv->length, SHADOW_ALIGN) ||
	    check_add_overflow(inv->iova, inv->length - 1, last))
		return -EINVAL;
	*first = inv->iova;
	if (*first < shadow->aperture_start || *last > shadow->aperture_last)
		return -EINVAL;
	return 0;
}

/*
 * Write where and why entry @index failed into its out_ fields, if the
 * entries are long enough to have them.
 */
static int shadow_inv_report(struct iommu_user_data_array *array, u32 index,
			     const struct shadow_fault *fault)
{
	const size_t off = offsetof(struct iommu_hwpt_shadow_invalidate,
				    out_fault_iova);
	struct iommu_hwpt_shadow_invalidate inv = {
		.out_fault_iova = fault->iova,
		.out_fault_addr = fault->addr,
		.out_fault_reason = fault->reason,
		.out_fault_level = fault->level,
	};

	if (array->entry_len < sizeof(inv))
		return 0;
	if (copy_to_user(array->uptr + (size_t)index * array->entry_len + off,
			 (u8 *)&inv + off, sizeof(inv) - off))
		return -EFAULT;
	return 0;
}

/**
 * iommufd_hwpt_shadow_invalidate() - IOMMU_HWPT_INVALIDATE of a shadow
 * @ucmd: The ioctl
 * @array: Its entries; @array->entry_num returns how many were done
 *
 * Each entry re-syncs its range. Stops at the first entry that fails, and
 * writes where and why into that entry's out_ fields (entries of 48 bytes
 * or more): see struct iommu_hwpt_shadow_invalidate.
 *
 * Return: 0, or the errno of the failing entry (-EFAULT if its out_ fields
 * cannot be written).
 */
int iommufd_hwpt_shadow_invalidate(struct iommufd_ucmd *ucmd,
				   struct iommu_user_data_array *array)
{
	struct iommu_hwpt_invalidate *cmd = ucmd->cmd;
	struct iommufd_hwpt_shadow *shadow;
	struct iommufd_object *obj;
	u32 done;
	int rc = 0;

	obj = iommufd_get_object(ucmd->ictx, cmd->hwpt_id,
				 IOMMUFD_OBJ_HWPT_SHADOW);
	if (IS_ERR(obj)) {
		array->entry_num = 0;
		return PTR_ERR(obj);
	}
	shadow = container_of(obj, struct iommufd_hwpt_shadow, common.obj);

	for (done = 0; done != array->entry_num; done++) {
		struct iommu_hwpt_shadow_invalidate inv;
		struct shadow_fault fault = {};
		u64 first, last;

		/* An entry that cannot be read gets no report */
		rc = iommu_copy_struct_from_user_array(&inv, array,
						       IOMMU_HWPT_INVALIDATE_DATA_SHADOW,
						       done, __reserved);
		if (rc)
			break;
		rc = shadow_inv_range(shadow, &inv, &first, &last);
		if (!rc && fatal_signal_pending(current)) {
			fault.iova = first;
			rc = -EINTR;
		}
		if (!rc)
			rc = shadow_refresh(shadow, first, last, &fault);
		if (rc) {
			if (shadow_inv_report(array, done, &fault))
				rc = -EFAULT;
			break;
		}
	}
	array->entry_num = done;
	iommufd_put_object(ucmd->ictx, obj);
	return rc;
}

/*
 * Reserved regions of devices attached to a shadow (I5). With @igroup, for
 * every device of the group; else for @dev. Called under igroup->lock.
 */
int iommufd_shadow_resv_add(struct iommufd_hw_pagetable *hwpt,
			    struct iommufd_group *igroup, struct device *dev)
{
	struct iommufd_hwpt_shadow *shadow;
	struct iommufd_device *cur;
	int rc = 0;

	if (hwpt->obj.type != IOMMUFD_OBJ_HWPT_SHADOW)
		return 0;
	shadow = to_shadow(hwpt);
	mutex_lock(&shadow->lock);
	if (!igroup) {
		rc = shadow_resv_add_dev(shadow, dev);
	} else {
		list_for_each_entry(cur, &igroup->device_list, group_item) {
			rc = shadow_resv_add_dev(shadow, cur->dev);
			if (rc)
				break;
		}
		if (rc)
			list_for_each_entry(cur, &igroup->device_list,
					    group_item)
				shadow_resv_del_dev(shadow, cur->dev);
	}
	mutex_unlock(&shadow->lock);
	return rc;
}

void iommufd_shadow_resv_del(struct iommufd_hw_pagetable *hwpt,
			     struct iommufd_group *igroup, struct device *dev)
{
	struct iommufd_hwpt_shadow *shadow;
	struct iommufd_device *cur;

	if (!hwpt || hwpt->obj.type != IOMMUFD_OBJ_HWPT_SHADOW)
		return;
	shadow = to_shadow(hwpt);
	mutex_lock(&shadow->lock);
	if (!igroup)
		shadow_resv_del_dev(shadow, dev);
	else
		list_for_each_entry(cur, &igroup->device_list, group_item)
			shadow_resv_del_dev(shadow, cur->dev);
	mutex_unlock(&shadow->lock);
}

/**
 * iommufd_shadow_zap_parent() - Stage-2 unmap notification
 * @iopt: IOAS page table, with domains_rwsem held for read
 * @first: First IOVA (guest physical) of the area being unmapped
 * @last: Last IOVA of the area
 *
 * Called by iopt_unmap_iova_range() after the area lost its pages and
 * before its domains are unmapped and its pages unpinned: every shadow of
 * the IOAS drops what depends on [first, last]. See shadow_sync.c for why
 * this keeps I1.
 */
void iommufd_shadow_zap_parent(struct io_pagetable *iopt, unsigned long first,
			       unsigned long last)
{
	struct iommufd_hwpt_shadow *shadow;

	lockdep_assert_held(&iopt->domains_rwsem);
	list_for_each_entry(shadow, &iopt->shadow_list, iopt_item) {
		u64 unmapped;

		mutex_lock(&shadow->lock);
		unmapped = shadow_zap_oa(shadow, first, last);
		mutex_unlock(&shadow->lock);
		if (unmapped)
			trace_shadow_zap(shadow->common.obj.id, first, last,
					 unmapped);
	}
}

#ifdef CONFIG_IOMMUFD_TEST
/*
 * What the test ops of selftest.c read of a shadow. Each takes the shadow's
 * lock; the ops themselves live with the mock driver.
 */

/**
 * iommufd_shadow_test_pages() - Visit the pages of a shadow's range
 * @hwpt: A shadow hwpt (IOMMUFD_OBJ_HWPT_SHADOW)
 * @iova: First IOVA, 4 KiB aligned
 * @length: Bytes, a multiple of 4 KiB
 * @fn: Called for each 4 KiB page with @arg, its IOVA and the permission
 *	the shadow recorded for it (IOMMU_READ/IOMMU_WRITE bits, or -ENOENT);
 *	a nonzero return stops the walk
 * @arg: For @fn
 *
 * Under the shadow's lock, so @fn sees the shadow domain as the last sync
 * or zap left it.
 *
 * Return: 0, or what @fn returned.
 */
int iommufd_shadow_test_pages(struct iommufd_hw_pagetable *hwpt, u64 iova,
			      u64 length,
			      int (*fn)(void *arg, u64 iova, int prot),
			      void *arg)
{
	struct iommufd_hwpt_shadow *shadow = to_shadow(hwpt);
	int rc = 0;

	mutex_lock(&shadow->lock);
	for (; length && !rc; length -= SHADOW_ALIGN, iova += SHADOW_ALIGN)
		rc = fn(arg, iova, shadow_lookup_prot(shadow, iova));
	mutex_unlock(&shadow->lock);
	return rc;
}

/**
 * iommufd_shadow_test_stats() - A shadow's counters
 * @hwpt: A shadow hwpt (IOMMUFD_OBJ_HWPT_SHADOW)
 * @stats: Filled with its counters (IOMMU_TEST_OP_SHADOW_STATS)
 */
void iommufd_shadow_test_stats(struct iommufd_hw_pagetable *hwpt,
			       struct iommu_test_shadow_stats *stats)
{
	struct iommufd_hwpt_shadow *shadow = to_shadow(hwpt);

	BUILD_BUG_ON(sizeof(*stats) != sizeof(shadow->stats));
	mutex_lock(&shadow->lock);
	shadow->stats[SHADOW_RECORDS] = shadow->nr_records;
	memcpy(stats, shadow->stats, sizeof(*stats));
	mutex_unlock(&shadow->lock);
}
#endif
