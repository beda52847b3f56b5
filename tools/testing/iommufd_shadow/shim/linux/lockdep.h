/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Shim of include/linux/lockdep.h. Locks of the shims (mutex, rwsem) count
 * their holders in __shim_held; an assertion that fails is a recorded
 * test failure. Single-threaded: taking a lock that is held would deadlock
 * in the kernel and is a failure here.
 */
#ifndef __LINUX_LOCKDEP_H
#define __LINUX_LOCKDEP_H

#include "../kshim.h"

#define lockdep_assert_held(l) do {					\
	if (!(l)->__shim_held)						\
		kshim_fail(__FILE__, __LINE__,				\
			   "lockdep_assert_held(%s) not held", #l);	\
} while (0)
#define lockdep_assert_held_write(l) do {				\
	if (!(l)->__shim_writer)					\
		kshim_fail(__FILE__, __LINE__,				\
			   "lockdep_assert_held_write(%s) not held", #l); \
} while (0)
#define lockdep_assert_not_held(l) do {				\
	if ((l)->__shim_held)						\
		kshim_fail(__FILE__, __LINE__,				\
			   "lockdep_assert_not_held(%s) held", #l);	\
} while (0)

#endif
