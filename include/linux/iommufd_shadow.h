/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * In-kernel interface of iommufd shadow nesting for hypervisors.
 */
#ifndef __LINUX_IOMMUFD_SHADOW_H
#define __LINUX_IOMMUFD_SHADOW_H

#include <linux/errno.h>
#include <linux/types.h>

struct device;
struct kvm;

#if IS_ENABLED(CONFIG_IOMMUFD_SHADOW)
int iommufd_shadow_kvm_refresh(struct kvm *kvm, struct device *dev, u64 iova,
			       u64 length);
#else
static inline int iommufd_shadow_kvm_refresh(struct kvm *kvm,
					     struct device *dev, u64 iova,
					     u64 length)
{
	return -EOPNOTSUPP;
}
#endif

#endif
