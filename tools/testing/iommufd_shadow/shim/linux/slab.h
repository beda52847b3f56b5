/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Shim of include/linux/slab.h: counted allocations with failure injection
 * (shim/kshim.h).
 */
#ifndef _LINUX_SLAB_H
#define _LINUX_SLAB_H

#include <string.h>
#include <linux/types.h>

#include "../kshim.h"

typedef unsigned int gfp_t;

#define GFP_KERNEL		0x1u
#define GFP_KERNEL_ACCOUNT	0x3u

#define kzalloc(size, gfp)	((void)(gfp), kshim_kzalloc(size))
#define kmalloc(size, gfp)	((void)(gfp), kshim_kzalloc(size))
#define kfree(ptr)		kshim_kfree(ptr)
#define kvcalloc(n, size, gfp)	((void)(gfp), kshim_kzalloc((n) * (size)))
#define kvfree(ptr)		kshim_kfree(ptr)

#endif
