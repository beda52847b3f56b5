/* SPDX-License-Identifier: GPL-2.0-only */
/* Shim of include/linux/kconfig.h: IS_ENABLED() of CONFIG_ symbols */
#ifndef __LINUX_KCONFIG_H
#define __LINUX_KCONFIG_H

#define __SHIM_ARG_PLACEHOLDER_1 0,
#define __shim_take_second_arg(ignored, val, ...) val
#define __shim_is_defined(x) ___shim_is_defined(x)
#define ___shim_is_defined(val) ____shim_is_defined(__SHIM_ARG_PLACEHOLDER_##val)
#define ____shim_is_defined(arg1_or_junk) __shim_take_second_arg(arg1_or_junk 1, 0)

#define IS_BUILTIN(option)	__shim_is_defined(option)
#define IS_MODULE(option)	__shim_is_defined(option##_MODULE)
#define IS_ENABLED(option)	(IS_BUILTIN(option) || IS_MODULE(option))

#endif
