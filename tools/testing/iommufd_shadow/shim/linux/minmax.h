/* SPDX-License-Identifier: GPL-2.0-only */
/* Shim of include/linux/minmax.h (without the kernel's type checks) */
#ifndef _LINUX_MINMAX_H
#define _LINUX_MINMAX_H

#define min(x, y) ({ __typeof__(x) _x = (x); __typeof__(y) _y = (y); _x < _y ? _x : _y; })
#define max(x, y) ({ __typeof__(x) _x = (x); __typeof__(y) _y = (y); _x > _y ? _x : _y; })
#define min3(x, y, z)	min(min(x, y), z)
#define max3(x, y, z)	max(max(x, y), z)
#define min_t(t, x, y)	min((t)(x), (t)(y))
#define max_t(t, x, y)	max((t)(x), (t)(y))
#define clamp(val, lo, hi)	min(max(val, lo), hi)

#endif
