/* SPDX-License-Identifier: GPL-2.0-only */
/* Shim of include/linux/rwsem.h: no-op locks that know if they are held */
#ifndef _LINUX_RWSEM_H
#define _LINUX_RWSEM_H

#include <linux/lockdep.h>

struct rw_semaphore {
	int __shim_held;	/* readers + writer */
	int __shim_writer;
};

#define init_rwsem(s)	do { (s)->__shim_held = 0; (s)->__shim_writer = 0; } while (0)
#define down_read(s) do {						\
	if ((s)->__shim_writer)						\
		kshim_fail(__FILE__, __LINE__, "down_read(%s) deadlock", #s); \
	(s)->__shim_held++;						\
} while (0)
#define up_read(s) do {							\
	if ((s)->__shim_held <= (s)->__shim_writer)			\
		kshim_fail(__FILE__, __LINE__, "up_read(%s) not held", #s); \
	(s)->__shim_held--;						\
} while (0)
#define down_write(s) do {						\
	if ((s)->__shim_held)						\
		kshim_fail(__FILE__, __LINE__, "down_write(%s) deadlock", #s); \
	(s)->__shim_held++;						\
	(s)->__shim_writer = 1;						\
} while (0)
#define up_write(s) do {						\
	if (!(s)->__shim_writer)					\
		kshim_fail(__FILE__, __LINE__, "up_write(%s) not held", #s); \
	(s)->__shim_held--;						\
	(s)->__shim_writer = 0;						\
} while (0)

#endif
