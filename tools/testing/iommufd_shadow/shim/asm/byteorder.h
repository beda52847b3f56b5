/* SPDX-License-Identifier: GPL-2.0-only */
/* Shim of asm/byteorder.h: cpu <-> little/big endian of the build host */
#ifndef _ASM_BYTEORDER_H
#define _ASM_BYTEORDER_H

#include <linux/types.h>

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define cpu_to_be64(x)	((__be64)__builtin_bswap64((u64)(x)))
#define be64_to_cpu(x)	((u64)__builtin_bswap64((u64)(x)))
#define cpu_to_le64(x)	((__le64)(u64)(x))
#define le64_to_cpu(x)	((u64)(x))
#else
#define cpu_to_be64(x)	((__be64)(u64)(x))
#define be64_to_cpu(x)	((u64)(x))
#define cpu_to_le64(x)	((__le64)__builtin_bswap64((u64)(x)))
#define le64_to_cpu(x)	((u64)__builtin_bswap64((u64)(x)))
#endif

#endif
