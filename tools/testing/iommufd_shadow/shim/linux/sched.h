/* SPDX-License-Identifier: GPL-2.0-only */
/* Shim of include/linux/sched.h: cond_resched() counts (shim/kshim.h) */
#ifndef _LINUX_SCHED_H
#define _LINUX_SCHED_H

#include "../kshim.h"

struct task_struct;

#define current			((struct task_struct *)NULL)
#define cond_resched()		kshim_cond_resched()

#endif
