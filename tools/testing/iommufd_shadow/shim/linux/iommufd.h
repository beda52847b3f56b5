/* SPDX-License-Identifier: GPL-2.0-only */
/* Shim of include/linux/iommufd.h */
#ifndef __LINUX_IOMMUFD_H
#define __LINUX_IOMMUFD_H

#include <linux/err.h>
#include <linux/types.h>
#include <uapi/linux/iommufd.h>

#endif
