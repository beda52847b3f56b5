/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Stage-1 format walkers of iommufd shadow nesting.
 *
 * A format walker is pure code: it reads guest stage-1 table entries through
 * a callback and reports what the stage-1 translates as a sequence of runs in
 * increasing IOVA order. It takes no lock, touches no page and knows nothing
 * of the shadow; the sync engine supplies the callbacks. The same source
 * builds in userspace (tools/testing/iommufd_shadow) against shim headers.
 *
 * Vocabulary:
 *  IOVA  - an address the device issues, translated by the stage-1.
 *  OA    - output address of the stage-1: a guest physical address, which is
 *          an IOVA of the parent IOAS (stage-2 input).
 *  run   - a maximal IOVA range that the stage-1 translates uniformly: either
 *          a hole (nothing translates) or a leaf run (OA contiguous, one
 *          permission).
 *  last  - inclusive end; 'end' would be exclusive and is not used here.
 *
 * Rules every walker keeps:
 *  - runs cover the walked range exactly, in order, without overlap, until
 *    the walk stops; adjacent runs of the same kind are merged when the
 *    walker sees both (two leaf runs merge only if OA and prot continue);
 *  - between two callbacks the walker does at most one table's worth of
 *    work (bounded), so the engine can yield and check signals there;
 *  - a malformed entry stops the walk with -EILSEQ, a table the callback
 *    cannot read with its error (-ENXIO), an error of @emit with that error;
 *    @done then holds the first IOVA not reported, and for -EILSEQ and a
 *    table's -ENXIO the fault_ fields of the walk say what failed where.
 */
#ifndef __IOMMUFD_SHADOW_FMT_H
#define __IOMMUFD_SHADOW_FMT_H

#include <linux/types.h>

/**
 * struct shadow_s1_run - What the stage-1 translates over one IOVA range
 * @iova: First IOVA
 * @last: Last IOVA (inclusive)
 * @oa: Output address of @iova; meaningless when @prot is 0
 * @prot: IOMMU_READ, optionally with IOMMU_WRITE; 0 for a hole
 */
struct shadow_s1_run {
	u64 iova;
	u64 last;
	u64 oa;
	u32 prot;
};

/**
 * struct shadow_s1_walk_ops - Callbacks of a stage-1 walk
 * @table: Make stage-1 entries readable. @gpa is the guest physical address
 *	of the entry wanted; @iova and @last give the IOVA range translated by
 *	the whole table that holds it (for the engine's reverse map). Returns a
 *	pointer to the entry as it lies in guest memory (format byte order) and
 *	sets *@nr to the number of consecutive entries readable from it (at
 *	least 1, at most to the end of the page), or returns ERR_PTR(-ENXIO)
 *	when @gpa is not readable guest memory.
 * @emit: Report one run. Returns 0 to go on, or an errno that stops the
 *	walk and is returned by it.
 */
struct shadow_s1_walk_ops {
	const u64 *(*table)(void *ctx, u64 gpa, u64 iova, u64 last,
			    unsigned int *nr);
	int (*emit)(void *ctx, const struct shadow_s1_run *run);
};

/**
 * struct shadow_s1_walk - One walk of a stage-1
 * @root: Format-specific root (s390: the IOTA as the guest registered it)
 * @aperture_start: First IOVA the stage-1 translates
 * @aperture_last: Last IOVA the stage-1 translates; outside the aperture
 *	everything is a hole
 * @ops: Callbacks
 * @ctx: Passed to the callbacks
 * @done: Out: IOVAs below @done (from the walk's start) were reported
 * @fault_addr: Out: guest address of the table or entry at fault
 * @fault_reason: Out: enum iommu_shadow_fault of a walk that failed with
 *	-EILSEQ, or with -ENXIO from @ops->table; 0 otherwise
 * @fault_level: Out: level of the table at fault (format-specific: s390
 *	counts 0 for a page table up to 4 for a region-first table)
 */
struct shadow_s1_walk {
	u64 root;
	u64 aperture_start;
	u64 aperture_last;
	const struct shadow_s1_walk_ops *ops;
	void *ctx;
	u64 done;
	u64 fault_addr;
	u32 fault_reason;
	u32 fault_level;
};

/**
 * struct shadow_s1_format - A stage-1 format the kernel can shadow
 * @id: enum iommu_shadow_format value
 * @check_root: Validate a root at allocation: 0, or -EILSEQ when it is
 *	malformed (unknown designation type, misaligned origin)
 * @walk: Report the runs of [@iova, @last]; 0 when the whole range was
 *	reported, else a negative errno with @w->done set
 * @table_span: Bytes of IOVA the smallest table of the format translates
 *	(the least @last - @iova + 1 its walk passes to @table)
 */
struct shadow_s1_format {
	u32 id;
	int (*check_root)(u64 root);
	int (*walk)(struct shadow_s1_walk *w, u64 iova, u64 last);
	u64 table_span;
};

extern const struct shadow_s1_format shadow_s390_format;

#endif
