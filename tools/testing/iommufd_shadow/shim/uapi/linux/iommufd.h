/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/* Shim of include/uapi/linux/iommufd.h: the shadow nesting part only */
#ifndef _UAPI_IOMMUFD_H
#define _UAPI_IOMMUFD_H

#include <linux/types.h>

enum iommu_shadow_format {
	IOMMU_SHADOW_FORMAT_S390 = 1,
	IOMMU_SHADOW_FORMAT_X86_64 = 2,
};

#endif
