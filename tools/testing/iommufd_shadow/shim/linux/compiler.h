/* SPDX-License-Identifier: GPL-2.0-only */
/* Shim of include/linux/compiler.h (and asm/rwonce.h, compiler_types.h) */
#ifndef __LINUX_COMPILER_H
#define __LINUX_COMPILER_H

#include <sys/cdefs.h>
#include <linux/kconfig.h>

#define __force
#define __rcu
#define __must_check	__attribute__((__warn_unused_result__))
#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)
#ifndef __uninitialized
#define __uninitialized	__attribute__((__uninitialized__))
#endif
#ifndef __always_inline
#define __always_inline	inline __attribute__((__always_inline__))
#endif
#ifndef noinline
#define noinline	__attribute__((__noinline__))
#endif

#define READ_ONCE(x)	(*(const volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, val) \
	do { *(volatile __typeof__(x) *)&(x) = (val); } while (0)

#endif
