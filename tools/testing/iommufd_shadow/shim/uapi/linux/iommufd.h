/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/* Shim of include/uapi/linux/iommufd.h: the shadow nesting part only */
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

#endif
