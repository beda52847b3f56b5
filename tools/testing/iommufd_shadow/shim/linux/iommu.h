/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Shim of include/linux/iommu.h: what format walkers and the sync engine
 * use. The domain functions are provided by the test that links the sync
 * engine (a fake driver); format walkers only use the IOMMU_* bits.
 */
#ifndef __LINUX_IOMMU_H
#define __LINUX_IOMMU_H

#include <limits.h>
#include <linux/bug.h>
#include <linux/err.h>
#include <linux/list.h>
#include <linux/types.h>

#define IOMMU_READ	(1 << 0)
#define IOMMU_WRITE	(1 << 1)
#define IOMMU_CACHE	(1 << 2)
#define IOMMU_NOEXEC	(1 << 3)
#define IOMMU_MMIO	(1 << 4)
#define IOMMU_PRIV	(1 << 5)

struct device;

struct iommu_domain;
struct iommu_dirty_bitmap;
struct iova_bitmap;

/* Read but do not clear any dirty bits */
#define IOMMU_DIRTY_NO_CLEAR	(1 << 0)

struct iommu_dirty_ops {
	int (*set_dirty_tracking)(struct iommu_domain *domain, bool enabled);
	int (*read_and_clear_dirty)(struct iommu_domain *domain,
				    unsigned long iova, size_t size,
				    unsigned long flags,
				    struct iommu_dirty_bitmap *dirty);
};

/* The fields the engine reads, and a name for the tests' messages */
struct iommu_domain {
	const char *name;
	unsigned long pgsize_bitmap;
	const struct iommu_dirty_ops *dirty_ops;
};

/* As the kernel's: the IOVA range of unmaps not yet flushed */
struct iommu_iotlb_gather {
	unsigned long start;
	unsigned long end;
	size_t pgsize;
	bool queued;
};

static inline void iommu_iotlb_gather_init(struct iommu_iotlb_gather *gather)
{
	*gather = (struct iommu_iotlb_gather){ .start = ULONG_MAX };
}

static inline void
iommu_iotlb_gather_add_range(struct iommu_iotlb_gather *gather,
			     unsigned long iova, size_t size)
{
	unsigned long end = iova + size - 1;

	if (gather->start > iova)
		gather->start = iova;
	if (gather->end < end)
		gather->end = end;
}

/* As the kernel's: where a dirty read records what it found */
struct iommu_dirty_bitmap {
	struct iova_bitmap *bitmap;
	struct iommu_iotlb_gather *gather;
};

void iova_bitmap_set(struct iova_bitmap *bitmap, unsigned long iova,
		     size_t length);

static inline void iommu_dirty_bitmap_init(struct iommu_dirty_bitmap *dirty,
					   struct iova_bitmap *bitmap,
					   struct iommu_iotlb_gather *gather)
{
	if (gather)
		iommu_iotlb_gather_init(gather);
	dirty->bitmap = bitmap;
	dirty->gather = gather;
}

static inline void iommu_dirty_bitmap_record(struct iommu_dirty_bitmap *dirty,
					     unsigned long iova,
					     unsigned long length)
{
	if (dirty->bitmap)
		iova_bitmap_set(dirty->bitmap, iova, length);
	if (dirty->gather)
		iommu_iotlb_gather_add_range(dirty->gather, iova, length);
}

enum iommu_resv_type {
	IOMMU_RESV_DIRECT,
	IOMMU_RESV_DIRECT_RELAXABLE,
	IOMMU_RESV_RESERVED,
	IOMMU_RESV_MSI,
	IOMMU_RESV_SW_MSI,
};

struct iommu_resv_region {
	struct list_head list;
	phys_addr_t start;
	size_t length;
	int prot;
	enum iommu_resv_type type;
};

int iommu_map_nosync(struct iommu_domain *domain, unsigned long iova,
		     phys_addr_t paddr, size_t size, int prot, unsigned int gfp);
int iommu_sync_map(struct iommu_domain *domain, unsigned long iova,
		   size_t size);
size_t iommu_unmap_fast(struct iommu_domain *domain, unsigned long iova,
			size_t size, struct iommu_iotlb_gather *iotlb_gather);
void iommu_iotlb_sync(struct iommu_domain *domain,
		      struct iommu_iotlb_gather *iotlb_gather);
phys_addr_t iommu_iova_to_phys(struct iommu_domain *domain, dma_addr_t iova);
void iommu_get_resv_regions(struct device *dev, struct list_head *list);
void iommu_put_resv_regions(struct device *dev, struct list_head *list);

#endif
