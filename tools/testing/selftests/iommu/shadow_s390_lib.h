/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * shadow_s390_lib.h - s390 zPCI DMA translation tables built in guest
 * memory, as an s390 guest's IOMMU driver builds them
 *
 * Part of the shadow test library: see shadow_lib.h for its conventions.
 */
#ifndef __SHADOW_S390_LIB_H
#define __SHADOW_S390_LIB_H

#include <endian.h>

#include "shadow_lib.h"

/* ------------------------------------------------------------------------ */
/* s390 zPCI DMA translation tables in guest memory                         */
/* ------------------------------------------------------------------------ */

/*
 * What an s390 guest builds for a zPCI function (drivers/iommu/s390-iommu.c
 * in the guest, and the spec in drivers/iommu/iommufd/shadow_s390.c): a
 * region-third table (2048 entries, 16 KiB aligned) indexed by IOVA bits
 * 41..31, segment tables (2048 entries, 16 KiB aligned) indexed by bits
 * 30..20, page tables (256 entries, 2 KiB aligned) indexed by bits 19..12.
 * Entries are 64-bit big-endian. The root is given to the IOMMU as the IOTA:
 * table origin | DT (region-third: 1 << 2).
 *
 * Here the "guest memory" is a buffer mapped into the IOAS at a known base
 * IOVA (= guest physical address); tables are carved out of it with a bump
 * allocator and never freed.
 */
#define S390_DT_RTX		(1ULL << 2)	/* IOTA: root is region-third */
#define S390_TE_INVALID		0x20ULL		/* region/segment entry invalid */
#define S390_TE_PROTECTED	0x200ULL	/* read-only below this entry */
#define S390_TE_TT_RTX		(1ULL << 2)	/* TT of region-third entries */
#define S390_TE_TT_SX		0ULL		/* TT of segment-table entries */
#define S390_RTE_TF_MASK	0xc0ULL		/* table offset of lower table */
#define S390_RTE_TL_FULL	0x3ULL		/* table length: all 4 quarters */
#define S390_RTE_ADDR_MASK	(~0x3fffULL)
#define S390_STE_ADDR_MASK	(~0x7ffULL)
#define S390_PTE_INVALID	0x400ULL
#define S390_PTE_PROTECTED	0x200ULL
#define S390_PTE_ADDR_MASK	(~0xfffULL)
#define S390_CRST_ENTRIES	2048		/* region and segment tables */
#define S390_CRST_SIZE		(S390_CRST_ENTRIES * 8)	/* 16 KiB */
#define S390_PT_ENTRIES		256
#define S390_PT_SIZE		(S390_PT_ENTRIES * 8)	/* 2 KiB */
#define S390_RTX_REACH		(1ULL << 42)	/* IOVAs a region-third covers */

/**
 * struct s390_tables - Tables of one s390 stage-1, inside guest memory
 * @mem: Host address of the guest memory buffer
 * @base: Guest physical address (IOAS IOVA) of @mem
 * @size: Size of @mem
 * @used: Bytes of @mem the bump allocator handed out (from the start)
 * @rto: Guest physical address of the region-third table
 * @have_root: @rto is valid (s390_tbl_new_root() was called)
 */
struct s390_tables {
	void *mem;
	uint64_t base;
	size_t size;
	size_t used;
	uint64_t rto;
	bool have_root;
};

/**
 * s390_tbl_init() - Use a buffer of guest memory for s390 tables
 * @t: Tables to set up
 * @mem: Host address of the buffer
 * @base: Its guest physical address (the IOVA it is mapped at in the IOAS)
 * @size: Its size
 *
 * Allocates nothing yet; see s390_tbl_new_root().
 */
static void s390_tbl_init(struct s390_tables *t, void *mem, uint64_t base,
			  size_t size)
{
	t->mem = mem;
	t->base = base;
	t->size = size;
	t->used = 0;
	t->rto = 0;
	t->have_root = false;
}

/** s390_tbl_ptr() - Host pointer of a guest physical address in the buffer */
static void *s390_tbl_ptr(struct s390_tables *t, uint64_t gpa)
{
	if (gpa < t->base || gpa - t->base >= t->size)
		return NULL;
	return (char *)t->mem + (gpa - t->base);
}

/**
 * s390_tbl_alloc() - Bump-allocate @size bytes aligned to @align (in guest
 *	physical terms) and fill them with the 64-bit big-endian @fill
 * @t: Tables
 * @size: Bytes, a multiple of 8
 * @align: Power of two
 * @fill: Value of every entry (e.g. an invalid entry)
 * @gpa: Returns the guest physical address of the allocation
 *
 * Returns -ENOSPC when the buffer is full.
 */
static int s390_tbl_alloc(struct s390_tables *t, size_t size, size_t align,
			  uint64_t fill, uint64_t *gpa)
{
	uint64_t addr = (t->base + t->used + align - 1) & ~(uint64_t)(align - 1);
	uint64_t *p;
	size_t i;

	if (addr - t->base > t->size || size > t->size - (addr - t->base))
		return -ENOSPC;
	t->used = addr - t->base + size;
	p = s390_tbl_ptr(t, addr);
	for (i = 0; i < size / 8; i++)
		p[i] = htobe64(fill);
	*gpa = addr;
	return 0;
}

/**
 * s390_tbl_new_root() - Allocate an empty region-third table as the root
 * @t: Tables
 * @iota: Returns the IOTA to give the IOMMU: table origin | DT region-third
 *
 * Every entry is invalid (0x20 | TT region-third).
 */
static int s390_tbl_new_root(struct s390_tables *t, uint64_t *iota)
{
	int ret;

	ret = s390_tbl_alloc(t, S390_CRST_SIZE, S390_CRST_SIZE,
			     S390_TE_INVALID | S390_TE_TT_RTX, &t->rto);
	if (ret)
		return ret;
	t->have_root = true;
	*iota = t->rto | S390_DT_RTX;
	shadow_log("s390: region-third table at 0x%llx, IOTA 0x%llx",
		   (unsigned long long)t->rto, (unsigned long long)*iota);
	return 0;
}

/* Index of @iova in the region-third, segment and page table */
static unsigned int s390_rtx(uint64_t iova) { return (iova >> 31) & 0x7ff; }
static unsigned int s390_sx(uint64_t iova) { return (iova >> 20) & 0x7ff; }
static unsigned int s390_px(uint64_t iova) { return (iova >> 12) & 0xff; }

/**
 * s390_tbl_entry() - Host pointer to the big-endian entry of a table level
 *	on the path of @iova
 * @t: Tables
 * @iova: IOVA (below 2^42)
 * @level: 0 page-table entry, 1 segment-table entry, 2 region-third entry
 *
 * Returns NULL when the path is not built that far (an invalid entry above)
 * or leaves the buffer. Tests use it to inspect or corrupt entries; write
 * with htobe64().
 */
static uint64_t *s390_tbl_entry(struct s390_tables *t, uint64_t iova,
				unsigned int level)
{
	uint64_t *rte, *ste, e;

	if (!t->have_root || iova >= S390_RTX_REACH || level > 2)
		return NULL;
	rte = s390_tbl_ptr(t, t->rto + 8 * s390_rtx(iova));
	if (level == 2 || !rte)
		return rte;
	e = be64toh(*rte);
	if (e & S390_TE_INVALID)
		return NULL;
	ste = s390_tbl_ptr(t, (e & S390_RTE_ADDR_MASK) + 8 * s390_sx(iova));
	if (level == 1 || !ste)
		return ste;
	e = be64toh(*ste);
	if (e & S390_TE_INVALID)
		return NULL;
	return s390_tbl_ptr(t, (e & S390_STE_ADDR_MASK) + 8 * s390_px(iova));
}

/**
 * s390_tbl_map() - Translate one 4 KiB IOVA page to a guest physical page
 * @t: Tables with a root
 * @iova: IOVA, 4 KiB aligned, below 2^42 (the region-third reach)
 * @gpa: Guest physical address of the page, 4 KiB aligned
 * @readonly: Set the protection bit in the PTE
 *
 * Builds the segment and page tables on the way as the guest's s390-iommu
 * driver does: region-third entry = segment-table origin | TT 1 | TF 0 |
 * TL 3, segment entry = page-table origin | TT 0, PTE = frame [| 0x200].
 * Only writes guest memory: the guest must then refresh (invalidate).
 */
static int s390_tbl_map(struct s390_tables *t, uint64_t iova, uint64_t gpa,
			bool readonly)
{
	uint64_t *rte, *ste, *pte, e, origin;
	int ret;

	if (!t->have_root || (iova | gpa) & 0xfff || iova >= S390_RTX_REACH)
		return -EINVAL;
	rte = s390_tbl_entry(t, iova, 2);
	if (!rte)
		return -EFAULT;
	e = be64toh(*rte);
	if (e & S390_TE_INVALID) {
		ret = s390_tbl_alloc(t, S390_CRST_SIZE, S390_CRST_SIZE,
				     S390_TE_INVALID | S390_TE_TT_SX, &origin);
		if (ret)
			return ret;
		*rte = htobe64(origin | S390_TE_TT_RTX | S390_RTE_TL_FULL);
	}
	ste = s390_tbl_entry(t, iova, 1);
	if (!ste)
		return -EFAULT;
	e = be64toh(*ste);
	if (e & S390_TE_INVALID) {
		ret = s390_tbl_alloc(t, S390_PT_SIZE, S390_PT_SIZE,
				     S390_PTE_INVALID, &origin);
		if (ret)
			return ret;
		*ste = htobe64(origin | S390_TE_TT_SX);
	}
	pte = s390_tbl_entry(t, iova, 0);
	if (!pte)
		return -EFAULT;
	*pte = htobe64(gpa | (readonly ? S390_PTE_PROTECTED : 0));
	shadow_log("s390: IOVA 0x%llx -> 0x%llx%s", (unsigned long long)iova,
		   (unsigned long long)gpa, readonly ? " read-only" : "");
	return 0;
}

/**
 * s390_tbl_map_range() - s390_tbl_map() every page of [@iova, @iova + @len)
 *	to consecutive pages from @gpa
 */
static int s390_tbl_map_range(struct s390_tables *t, uint64_t iova,
			      uint64_t gpa, uint64_t len, bool readonly)
{
	uint64_t i;
	int ret;

	if (len & 0xfff)
		return -EINVAL;
	for (i = 0; i < len; i += 0x1000) {
		ret = s390_tbl_map(t, iova + i, gpa + i, readonly);
		if (ret)
			return ret;
	}
	return 0;
}

/**
 * s390_tbl_unmap() - Make the PTE of one 4 KiB IOVA page invalid
 * @t: Tables
 * @iova: IOVA, 4 KiB aligned
 *
 * Returns -ENOENT if no page table covers @iova. Tables are kept.
 */
static int s390_tbl_unmap(struct s390_tables *t, uint64_t iova)
{
	uint64_t *pte;

	if (iova & 0xfff)
		return -EINVAL;
	pte = s390_tbl_entry(t, iova, 0);
	if (!pte)
		return -ENOENT;
	*pte = htobe64(S390_PTE_INVALID);
	shadow_log("s390: IOVA 0x%llx unmapped", (unsigned long long)iova);
	return 0;
}

#endif /* __SHADOW_S390_LIB_H */
