/* SPDX-License-Identifier: GPL-2.0-only */
/* Shim of include/linux/iommu.h: only what format walkers use */
#ifndef __LINUX_IOMMU_H
#define __LINUX_IOMMU_H

#include <linux/err.h>
#include <linux/types.h>

#define IOMMU_READ	(1 << 0)
#define IOMMU_WRITE	(1 << 1)

#endif
