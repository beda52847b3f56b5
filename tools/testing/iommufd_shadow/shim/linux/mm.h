/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Shim of include/linux/mm.h: 4 KiB pages of a simulated host memory. The
 * test that links the shims provides the shim_host_*() functions (what a
 * pfn is, whether it is valid, where its bytes are).
 */
#ifndef _LINUX_MM_H
#define _LINUX_MM_H

#include <linux/align.h>
#include <linux/atomic.h>
#include <linux/bug.h>
#include <linux/minmax.h>
#include <linux/types.h>

#define PAGE_SHIFT		12
#define PAGE_SIZE		(1UL << PAGE_SHIFT)
#define PAGE_MASK		(~(PAGE_SIZE - 1))
#define offset_in_page(p)	((unsigned long)(p) & ~PAGE_MASK)
#define PHYS_PFN(x)		((unsigned long)((x) >> PAGE_SHIFT))
#define PFN_PHYS(x)		((phys_addr_t)(x) << PAGE_SHIFT)

struct page;

bool shim_host_pfn_valid(unsigned long pfn);
struct page *shim_host_pfn_to_page(unsigned long pfn);
void *shim_host_page_address(const struct page *page);

#define pfn_valid(pfn)		shim_host_pfn_valid(pfn)
#define pfn_to_page(pfn)	shim_host_pfn_to_page(pfn)
#define page_address(page)	shim_host_page_address(page)

#endif
