/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Shim of drivers/iommu/iommufd/iommufd_private.h: the fields of the IOAS
 * page table and the hw_pagetables that shadow nesting touches, with the
 * real names so that shadow.h and shadow_sync.c compile unmodified.
 */
#ifndef __IOMMUFD_PRIVATE_H
#define __IOMMUFD_PRIVATE_H

#include <linux/interval_tree.h>
#include <linux/list.h>
#include <linux/rwsem.h>
#include <linux/types.h>

struct iommu_domain;

struct iommufd_object {
	unsigned int type;
	u32 id;
};

/* Locks and the area tree of the IOAS (see io_pagetable.h) */
struct io_pagetable {
	struct rw_semaphore domains_rwsem;
	struct rw_semaphore iova_rwsem;
	struct rb_root_cached area_itree;
	/* struct iommufd_hwpt_shadow, under domains_rwsem */
	struct list_head shadow_list;
};

struct iommufd_hw_pagetable {
	struct iommufd_object obj;
	struct iommu_domain *domain;
};

struct iommufd_ioas {
	struct io_pagetable iopt;
};

struct iommufd_shadow_dirty;

struct iommufd_hwpt_paging {
	struct iommufd_hw_pagetable common;
	struct iommufd_ioas *ioas;
	/* Dirty tracking through shadows (shadow_dirty.c), or NULL */
	struct iommufd_shadow_dirty *shadow_dirty;
};

/* The hooks of shadow_dirty.c, declared as the real header does */
struct iommu_hwpt_get_dirty_bitmap;
struct iova_bitmap;
int iommufd_shadow_set_dirty_tracking(struct iommufd_hwpt_paging *parent,
				      bool enable);
struct iova_bitmap *
iommufd_shadow_dirty_prepare(struct iommufd_hwpt_paging *parent,
			     struct iommu_hwpt_get_dirty_bitmap *cmd);
void iommufd_shadow_dirty_read(struct iommufd_hwpt_paging *parent,
			       struct iommu_hwpt_get_dirty_bitmap *cmd,
			       struct iova_bitmap *bitmap, int rc);
void iommufd_shadow_parent_destroy(struct iommufd_hwpt_paging *parent);
u64 shadow_map_max_len(struct iommu_domain *domain, u64 iova);

/* Provided by the test that links shadow_dirty.c */
int iommufd_check_iova_range(struct io_pagetable *iopt,
			     struct iommu_hwpt_get_dirty_bitmap *bitmap);
int iopt_set_dirty_tracking(struct io_pagetable *iopt,
			    struct iommu_domain *domain, bool enable);

#endif
