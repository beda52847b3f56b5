/* SPDX-License-Identifier: GPL-2.0-only */
/* Shim of include/linux/rcupdate.h: single-threaded, plain stores */
#ifndef __LINUX_RCUPDATE_H
#define __LINUX_RCUPDATE_H

#include <linux/compiler.h>

#define rcu_assign_pointer(p, v)	WRITE_ONCE(p, v)
#define RCU_INIT_POINTER(p, v)		WRITE_ONCE(p, v)
#define rcu_dereference_raw(p)		READ_ONCE(p)
#define rcu_dereference(p)		READ_ONCE(p)

#endif
