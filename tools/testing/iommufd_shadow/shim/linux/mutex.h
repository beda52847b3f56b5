/* SPDX-License-Identifier: GPL-2.0-only */
/* Shim of include/linux/mutex.h: no-op locks that know if they are held */
#ifndef __LINUX_MUTEX_H
#define __LINUX_MUTEX_H

#include <linux/list.h>
#include <linux/lockdep.h>
#include <linux/types.h>

struct mutex {
	int __shim_held;
	int __shim_writer;
};

#define mutex_init(m)		do { (m)->__shim_held = 0; (m)->__shim_writer = 0; } while (0)
#define mutex_destroy(m) do {						\
	if ((m)->__shim_held)						\
		kshim_fail(__FILE__, __LINE__, "mutex_destroy(%s) held", #m); \
} while (0)
#define mutex_lock(m) do {						\
	if ((m)->__shim_held)						\
		kshim_fail(__FILE__, __LINE__, "mutex_lock(%s) deadlock", #m); \
	(m)->__shim_held = (m)->__shim_writer = 1;			\
} while (0)
#define mutex_unlock(m) do {						\
	if (!(m)->__shim_held)						\
		kshim_fail(__FILE__, __LINE__, "mutex_unlock(%s) not held", #m); \
	(m)->__shim_held = (m)->__shim_writer = 0;			\
} while (0)

#endif
