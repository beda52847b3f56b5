/* SPDX-License-Identifier: GPL-2.0-only */
/* Shim of include/linux/bitops.h: what the shadow engine uses */
#ifndef _LINUX_BITOPS_H
#define _LINUX_BITOPS_H

#include <linux/bits.h>
#include <linux/types.h>

/* Position of the most significant set bit, 1-based; 0 for 0 */
static inline int fls64(u64 x)
{
	return x ? 64 - __builtin_clzll(x) : 0;
}

#endif
