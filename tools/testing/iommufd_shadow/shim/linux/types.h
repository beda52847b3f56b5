/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Shim of include/linux/types.h for building shadow walkers in userspace.
 * The uapi half (__u64, __be64...) comes from the system's <linux/types.h>,
 * which glibc headers may include as well and which has the same guard.
 */
#ifndef _LINUX_TYPES_H
#include_next <linux/types.h>
#endif

#ifndef SHIM_LINUX_TYPES_H
#define SHIM_LINUX_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int8_t s8;
typedef int16_t s16;
typedef int32_t s32;
typedef int64_t s64;
typedef u64 phys_addr_t;
typedef u64 dma_addr_t;

#endif
