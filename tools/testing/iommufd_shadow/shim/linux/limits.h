/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Shim of include/linux/limits.h. The uapi half comes from the system's
 * <linux/limits.h> (same guard), which glibc's <limits.h> includes too.
 */
#ifndef _LINUX_LIMITS_H
#include_next <linux/limits.h>
#endif

#ifndef SHIM_LINUX_LIMITS_H
#define SHIM_LINUX_LIMITS_H

#include <stdint.h>

#define U8_MAX		((uint8_t)~0U)
#define U16_MAX		((uint16_t)~0U)
#define U32_MAX		((uint32_t)~0U)
#define U64_MAX		((uint64_t)~0ULL)
#define S64_MAX		((int64_t)(U64_MAX >> 1))

#endif
