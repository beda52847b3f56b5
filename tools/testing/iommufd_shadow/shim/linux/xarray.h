/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Shim of include/linux/xarray.h: value entries in a sorted array of
 * (index, entry), grown through kshim_kzalloc() so that failure injection
 * reaches xa_store(). No locking: the callers' locks are checked instead.
 */
#ifndef _LINUX_XARRAY_H
#define _LINUX_XARRAY_H

#include <errno.h>
#include <string.h>
#include <linux/types.h>

#include "../kshim.h"

struct xa_shim_slot {
	unsigned long index;
	void *entry;
};

struct xarray {
	struct xa_shim_slot *slots;
	unsigned long nr;
	unsigned long cap;
};

#define xa_mk_value(v)	((void *)(((unsigned long)(v) << 1) | 1))

static inline unsigned long xa_to_value(const void *entry)
{
	return (unsigned long)entry >> 1;
}

/* Errors as the kernel encodes them: (errno << 2) | 2 */
static inline bool xa_is_err(const void *entry)
{
	return ((unsigned long)entry & 3) == 2 &&
	       (long)entry >= -((long)4095 << 2);
}

static inline void xa_init(struct xarray *xa)
{
	memset(xa, 0, sizeof(*xa));
}

static inline bool xa_empty(const struct xarray *xa)
{
	return !xa->nr;
}

/* First slot with an index >= @index */
static inline unsigned long xa_shim_pos(const struct xarray *xa,
					unsigned long index)
{
	unsigned long lo = 0, hi = xa->nr;

	while (lo < hi) {
		unsigned long mid = lo + (hi - lo) / 2;

		if (xa->slots[mid].index < index)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static inline void *xa_load(struct xarray *xa, unsigned long index)
{
	unsigned long pos = xa_shim_pos(xa, index);

	if (pos < xa->nr && xa->slots[pos].index == index)
		return xa->slots[pos].entry;
	return NULL;
}

static inline void *xa_store(struct xarray *xa, unsigned long index,
			     void *entry, unsigned int gfp)
{
	unsigned long pos = xa_shim_pos(xa, index);
	void *old;

	(void)gfp;
	if (pos < xa->nr && xa->slots[pos].index == index) {
		old = xa->slots[pos].entry;
		xa->slots[pos].entry = entry;
		return old;
	}
	if (xa->nr == xa->cap) {
		unsigned long cap = xa->cap ? 2 * xa->cap : 8;
		struct xa_shim_slot *slots;

		slots = kshim_kzalloc(cap * sizeof(*slots));
		if (!slots)
			return (void *)(((unsigned long)-ENOMEM << 2) | 2);
		if (xa->nr)
			memcpy(slots, xa->slots, xa->nr * sizeof(*slots));
		kshim_kfree(xa->slots);
		xa->slots = slots;
		xa->cap = cap;
	}
	memmove(&xa->slots[pos + 1], &xa->slots[pos],
		(xa->nr - pos) * sizeof(*xa->slots));
	xa->slots[pos] = (struct xa_shim_slot){ index, entry };
	xa->nr++;
	return NULL;
}

static inline void *xa_erase(struct xarray *xa, unsigned long index)
{
	unsigned long pos = xa_shim_pos(xa, index);
	void *old;

	if (pos >= xa->nr || xa->slots[pos].index != index)
		return NULL;
	old = xa->slots[pos].entry;
	memmove(&xa->slots[pos], &xa->slots[pos + 1],
		(xa->nr - pos - 1) * sizeof(*xa->slots));
	xa->nr--;
	return old;
}

static inline void xa_destroy(struct xarray *xa)
{
	kshim_kfree(xa->slots);
	xa_init(xa);
}

/* The entry at the first index in [*index, last], or NULL */
static inline void *xa_shim_find(struct xarray *xa, unsigned long *index,
				 unsigned long last)
{
	unsigned long pos = xa_shim_pos(xa, *index);

	if (pos >= xa->nr || xa->slots[pos].index > last)
		return NULL;
	*index = xa->slots[pos].index;
	return xa->slots[pos].entry;
}

#define xa_for_each_range(xa, index, entry, start, last)		\
	for (index = (start), entry = xa_shim_find(xa, &index, last);	\
	     entry;							\
	     entry = index == (last) ? NULL :				\
		     (index++, xa_shim_find(xa, &index, last)))

#endif
