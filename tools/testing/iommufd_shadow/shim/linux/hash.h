/* SPDX-License-Identifier: GPL-2.0-only */
/* Shim of include/linux/hash.h: hash_64() by the 64-bit golden ratio */
#ifndef _LINUX_HASH_H
#define _LINUX_HASH_H

#include <linux/types.h>

static inline u32 hash_64(u64 val, unsigned int bits)
{
	return val * 0x61C8864680B583EBull >> (64 - bits);
}

#endif
