/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Shim of include/linux/stddef.h. The uapi half comes from the system's
 * <linux/stddef.h> (same guard), which other uapi headers include too.
 */
#ifndef _LINUX_STDDEF_H
#include_next <linux/stddef.h>
#endif

#ifndef SHIM_LINUX_STDDEF_H
#define SHIM_LINUX_STDDEF_H

#include <stdbool.h>
#include <stddef.h>

#define sizeof_field(TYPE, MEMBER) sizeof((((TYPE *)0)->MEMBER))

#endif
