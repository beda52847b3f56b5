/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Shim of include/uapi/linux/iommufd.h: the shadow nesting part and the
 * dirty bitmap read that shadow_dirty.c reports into
 */
#ifndef _UAPI_IOMMUFD_H
#define _UAPI_IOMMUFD_H

#include <linux/types.h>

enum iommu_shadow_format {
	IOMMU_SHADOW_FORMAT_S390 = 1,
	IOMMU_SHADOW_FORMAT_X86_64 = 2,
};

enum iommu_shadow_fault {
	IOMMU_SHADOW_FAULT_NONE = 0,
	IOMMU_SHADOW_FAULT_TABLE_ADDR = 1,
	IOMMU_SHADOW_FAULT_OUTPUT_ADDR = 2,
	IOMMU_SHADOW_FAULT_ENTRY = 3,
	IOMMU_SHADOW_FAULT_TABLE_TYPE = 4,
	IOMMU_SHADOW_FAULT_TABLE_LENGTH = 5,
	IOMMU_SHADOW_FAULT_RESOURCE = 6,
	IOMMU_SHADOW_FAULT_DEVICE = 7,
};

enum iommufd_hwpt_get_dirty_bitmap_flags {
	IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR = 1,
};

struct iommu_hwpt_get_dirty_bitmap {
	__u32 size;
	__u32 hwpt_id;
	__u32 flags;
	__u32 __reserved;
	__u64 iova;
	__u64 length;
	__u64 page_size;
	__u64 data;
};

#endif
