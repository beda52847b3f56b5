/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Shim of include/linux/bug.h: a WARN that fires is a recorded test
 * failure (shim/kshim.h), every time it fires, not only the first.
 */
#ifndef _LINUX_BUG_H
#define _LINUX_BUG_H

#include <stdlib.h>

#include "../kshim.h"

#define WARN_ON(cond) ({						\
	bool __ret_warn_on = !!(cond);					\
	if (__ret_warn_on)						\
		kshim_fail(__FILE__, __LINE__, "WARN_ON(%s)", #cond);	\
	__ret_warn_on;							\
})
#define WARN_ON_ONCE(cond)	WARN_ON(cond)
#define WARN(cond, ...)		WARN_ON(cond)
#define BUG_ON(cond) do {						\
	if (cond) {							\
		kshim_fail(__FILE__, __LINE__, "BUG_ON(%s)", #cond);	\
		abort();						\
	}								\
} while (0)

#endif
