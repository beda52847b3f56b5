/* SPDX-License-Identifier: GPL-2.0-only */
/* Shim of include/linux/sched/signal.h: a controllable fatal signal */
#ifndef _LINUX_SCHED_SIGNAL_H
#define _LINUX_SCHED_SIGNAL_H

#include <linux/sched.h>

#define fatal_signal_pending(p)	((void)(p), kshim_fatal_signal_pending())

#endif
