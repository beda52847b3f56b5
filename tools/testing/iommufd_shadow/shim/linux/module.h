/* SPDX-License-Identifier: GPL-2.0-only */
/* Shim of include/linux/module.h: parameters are plain variables here */
#ifndef _LINUX_MODULE_H
#define _LINUX_MODULE_H

#include <linux/export.h>

#define module_param_named(name, value, type, perm) \
	extern int __shim_module_param_##name
#define module_param(name, type, perm) \
	extern int __shim_module_param_##name
#define MODULE_PARM_DESC(name, desc) \
	extern int __shim_module_parm_desc_##name
#define MODULE_LICENSE(l)	extern int __shim_module_license
#define MODULE_DESCRIPTION(d)	extern int __shim_module_description

#endif
