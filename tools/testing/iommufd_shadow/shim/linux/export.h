/* SPDX-License-Identifier: GPL-2.0-only */
/* Shim of include/linux/export.h: nothing to export in userspace */
#ifndef _LINUX_EXPORT_H
#define _LINUX_EXPORT_H

#define EXPORT_SYMBOL(sym)		extern int __shim_export_##sym
#define EXPORT_SYMBOL_GPL(sym)		extern int __shim_export_##sym
#define EXPORT_SYMBOL_NS_GPL(sym, ns)	extern int __shim_export_##sym

#endif
