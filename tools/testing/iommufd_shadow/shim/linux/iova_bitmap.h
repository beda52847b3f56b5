/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Shim of include/linux/iova_bitmap.h: the test that links shadow_dirty.c
 * provides the functions (a plain bitmap in the test's memory).
 */
#ifndef _IOVA_BITMAP_H_
#define _IOVA_BITMAP_H_

#include <stdint.h>
#include <linux/types.h>

#ifndef __user
#define __user
#endif
#define u64_to_user_ptr(x)	((void *)(uintptr_t)(x))

struct iova_bitmap;

struct iova_bitmap *iova_bitmap_alloc(unsigned long iova, size_t length,
				      unsigned long page_size,
				      u64 __user *data);
void iova_bitmap_free(struct iova_bitmap *bitmap);
void iova_bitmap_set(struct iova_bitmap *bitmap, unsigned long iova,
		     size_t length);

#endif
