/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Shim of drivers/iommu/iommufd/io_pagetable.h: an area of the IOAS and
 * the lookup the sync engine does, as in 6.12. pages is NULL while the
 * area is being set up or torn down; iommu_prot is immutable.
 */
#ifndef __IO_PAGETABLE_H
#define __IO_PAGETABLE_H

#include <linux/container_of.h>
#include <linux/interval_tree.h>
#include <linux/lockdep.h>

#include "iommufd_private.h"

struct iopt_pages;

struct iopt_area {
	struct interval_tree_node node;
	struct io_pagetable *iopt;
	struct iopt_pages *pages;
	int iommu_prot;
	bool prevent_access : 1;
	unsigned int num_accesses;
};

static inline unsigned long iopt_area_iova(struct iopt_area *area)
{
	return area->node.start;
}

static inline unsigned long iopt_area_last_iova(struct iopt_area *area)
{
	return area->node.last;
}

static inline struct iopt_area *iopt_area_iter_first(struct io_pagetable *iopt,
						     unsigned long start,
						     unsigned long last)
{
	struct interval_tree_node *node;

	lockdep_assert_held(&iopt->iova_rwsem);
	node = interval_tree_iter_first(&iopt->area_itree, start, last);
	if (!node)
		return NULL;
	return container_of(node, struct iopt_area, node);
}

#endif
