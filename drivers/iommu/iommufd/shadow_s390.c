// SPDX-License-Identifier: GPL-2.0-only
/*
 * s390 zPCI DMA translation tables as a stage-1 format of shadow nesting.
 *
 * Theory of operation
 * ===================
 *
 * The guest registers an I/O translation anchor (IOTA): the origin of a
 * root table (16 KiB aligned, the low 14 bits are format bits) and in bits
 * 0x1c a designation type (DT) saying which table that is: segment table
 * (DT 0), region-third (1), region-second (2) or region-first (3). Any other
 * DT (PFAA, IOPFAA, IOPTO...) is not a table walk we shadow: -EILSEQ. The
 * other IOTA bits (enable, key, frame size) are ignored. The root is a full
 * table; the IOVA range it can translate (its reach) ends below 2^31 for a
 * segment table, 2^42 for a region-third, 2^53 for a region-second and
 * covers all of 2^64 for a region-first table. IOVAs beyond the reach are
 * holes.
 *
 * Levels, counted from the leaf up (see s390_levels[]):
 *
 *   level  table          entries  entry translates  IOVA bits indexed
 *   PT     page           256      4 KiB             19..12
 *   ST     segment        2048     1 MiB             30..20
 *   RT     region-third   2048     2 GiB             41..31
 *   RS     region-second  2048     4 TiB             52..42
 *   RF     region-first   2048     8 PiB             63..53
 *
 * Entries are 64-bit big-endian, whatever the host. An entry of a region
 * or segment table ("table entry") holds the origin of the next-lower table
 * and the bits: invalid (0x20), protection (0x200) and the table type TT
 * (0x0c), which must name the table the entry sits in (RF 3, RS 2, RT 1,
 * ST 0). A region entry also holds the table offset TF (0xc0) and length
 * TL (0x3) of the lower table: the lower table only holds the entries
 * whose index has its top two bits in [TF, TL]; entry i of a table always
 * lies at origin + 8 * i, whether the table starts there or not. A segment
 * entry addresses a 2 KiB page table, or with the format-control bit FC
 * (0x400) set a 1 MiB frame; page-table entries (PTEs) hold a 4 KiB frame,
 * an invalid bit (0x400) and a protection bit (0x200).
 *
 * What this walker reports, for every IOVA of the walked range:
 *  - a hole when the IOVA is outside the aperture or the root's reach, or
 *    when an entry on its path is invalid (whatever its other bits hold);
 *  - otherwise a leaf at frame + offset (a 4 KiB frame of a PTE or a
 *    1 MiB frame of a segment entry with FC), read-only (IOMMU_READ) if
 *    any entry on the path has its protection bit set, else
 *    IOMMU_READ | IOMMU_WRITE;
 *  - -EILSEQ, as QEMU's zPCI model (s390_guest_io_table_walk()) faults,
 *    for an all-zero entry at any level (IOMMU_SHADOW_FAULT_ENTRY; QEMU:
 *    INVALTE), a valid region entry with TF > TL or a region-third entry
 *    other than TF 0, TL 3, and an index outside [TF, TL] of the entry
 *    above (TABLE_LENGTH; QEMU: INVALTL), and a valid region or segment
 *    entry whose TT does not name its table (TABLE_TYPE; QEMU: TT);
 *  - the error of @ops->table (-ENXIO, TABLE_ADDR) when a table is not
 *    readable.
 * On -EILSEQ and a table's -ENXIO the walk's fault_ fields name the
 * reason, the level of the table and the guest address of the entry (or,
 * for TABLE_ADDR, of the table) at fault.
 *
 * The walk keeps its position. For every level it holds a struct
 * s390_table_pos: where the table lies, which IOVAs it translates, its
 * [TF, TL] window and a pointer to the entries @ops->table made readable.
 * It moves through the entries of each table in place, descends into a
 * lower table through a valid entry and climbs back when the IOVA leaves
 * a table. @ops->table is called only when the walk enters a new table or
 * steps past the entries the previous call made readable, so between two
 * callbacks the walker reads at most one page of entries. Entries are read
 * exactly once per visit (READ_ONCE), since the guest may change them
 * under us. Tables may alias each other or themselves; the walk depth is
 * bounded by the levels and every step advances the IOVA, so it ends.
 *
 * Runs: adjacent holes merge, adjacent leaves merge while the OA continues
 * (without wrapping past 2^64) and the permission is the same. The run
 * being built is pending; it is emitted when the next piece does not
 * merge with it, and at the end of the walk.
 *
 * Errors: before returning a format or table error, the walker emits the
 * pending run, so that @w->done is the first IOVA translated by the entry
 * that failed (or the first IOVA of the walk). When @ops->emit fails, the
 * run it was given is not reported: @w->done is that run's first IOVA.
 * After a successful walk @w->done is @last + 1 (0 when @last is U64_MAX).
 *
 * The pointers @ops->table returns are used until the walk moves past
 * their entries or returns; the caller keeps them valid that long.
 *
 * QEMU's zPCI model still differs in what it cannot see or cheaply be
 * equal to (Documentation/userspace-api/iommufd_shadow.rst lists it): it
 * walks every root as a region-third table whatever the designation type,
 * takes IOTA bit 0x200 (inside the key field of Linux's IOTA) for
 * protection of everything, and faults (TT) on a valid PTE or FC segment
 * entry whose frame address is 0, which this walker maps like any frame.
 * Linux only ever builds full region-third tables with zero keys and
 * invalid (never zero) free entries, which both read alike.
 */
#include <linux/bits.h>
#include <linux/compiler.h>
#include <linux/err.h>
#include <linux/iommu.h>
#include <linux/limits.h>
#include <linux/minmax.h>
#include <asm/byteorder.h>
#include <uapi/linux/iommufd.h>

#include "shadow_fmt.h"

/* I/O translation anchor (IOTA), as ZPCI_IOTA_* in asm/pci_dma.h */
#define S390_IOTA_ORIGIN_MASK	(~0x3fffULL)	/* root table origin */
#define S390_IOTA_DT_MASK	0x1cULL		/* enum zpci_ioat_dtype << 2 */
#define S390_IOTA_DT_SHIFT	2
#define S390_IOTA_DT_RF		3		/* ZPCI_IOTA_RFTO: largest table */

/* Region- and segment-table entries, as ZPCI_TABLE_* */
#define S390_TE_INVALID		0x20ULL		/* ZPCI_TABLE_INVALID */
#define S390_TE_PROTECTED	0x200ULL	/* ZPCI_TABLE_PROTECTED */
#define S390_TE_TYPE_MASK	0xcULL		/* ZPCI_TABLE_TYPE_MASK: TT */
#define S390_TE_TYPE_SHIFT	2
#define S390_RTE_OFFSET_MASK	0xc0ULL		/* ZPCI_TABLE_OFFSET_MASK: TF */
#define S390_RTE_OFFSET_SHIFT	6
#define S390_RTE_LEN_MASK	0x3ULL		/* ZPCI_TABLE_LEN_R*X: TL */
#define S390_RTE_ADDR_MASK	(~0x3fffULL)	/* ZPCI_RTE_ADDR_MASK */
#define S390_STE_FC		0x400ULL	/* format control: 1 MiB frame */
#define S390_STE_ADDR_MASK	(~0x7ffULL)	/* ZPCI_STE_ADDR_MASK */
#define S390_STE_FRAME_MASK	(~0xfffffULL)	/* ZPCI_SFAA_MASK of QEMU */

/* Page-table entries, as ZPCI_PTE_* */
#define S390_PTE_INVALID	0x400ULL	/* ZPCI_PTE_INVALID */
#define S390_PTE_PROTECTED	0x200ULL	/* ZPCI_TABLE_PROTECTED */
#define S390_PTE_ADDR_MASK	(~0xfffULL)	/* ZPCI_PTE_ADDR_MASK */

/* TF and TL count quarters of a lower table: the index's top 2 of 11 bits */
#define S390_TFTL_SHIFT		9

/* Levels of the walk, counted from the leaf up */
enum {
	S390_LVL_PT,	/* page table */
	S390_LVL_ST,	/* segment table */
	S390_LVL_RT,	/* region-third table */
	S390_LVL_RS,	/* region-second table */
	S390_LVL_RF,	/* region-first table */
	S390_NR_LEVELS,
};

/* Level geometry: 4 KiB pages, 256-entry page tables, 2048-entry others */
#define S390_PAGE_SHIFT		12		/* PAGE_SHIFT of s390 */
#define S390_PT_BITS		8		/* ZPCI_PT_BITS */
#define S390_TABLE_BITS		11		/* ZPCI_TABLE_BITS */
#define S390_ST_SHIFT		(S390_PAGE_SHIFT + S390_PT_BITS) /* ZPCI_ST_SHIFT */
#define S390_RT_SHIFT		(S390_ST_SHIFT + S390_TABLE_BITS) /* ZPCI_RT_SHIFT */
#define S390_RS_SHIFT		(S390_RT_SHIFT + S390_TABLE_BITS)
#define S390_RF_SHIFT		(S390_RS_SHIFT + S390_TABLE_BITS)

/**
 * struct s390_level - Geometry of the tables of one level
 * @shift: lg2 of the IOVA range one entry translates
 * @bits: lg2 of the number of entries of a table
 */
struct s390_level {
	u8 shift;
	u8 bits;
};

static const struct s390_level s390_levels[S390_NR_LEVELS] = {
	[S390_LVL_PT] = { S390_PAGE_SHIFT, S390_PT_BITS },
	[S390_LVL_ST] = { S390_ST_SHIFT, S390_TABLE_BITS },
	[S390_LVL_RT] = { S390_RT_SHIFT, S390_TABLE_BITS },
	[S390_LVL_RS] = { S390_RS_SHIFT, S390_TABLE_BITS },
	[S390_LVL_RF] = { S390_RF_SHIFT, S390_TABLE_BITS },
};

/* TT that the entries of a region or segment table of @lvl carry */
#define S390_LVL_TT(lvl)	((u64)((lvl) - S390_LVL_ST) << S390_TE_TYPE_SHIFT)

/**
 * struct s390_table_pos - Position of the walk in the table of one level
 * @origin: Guest physical address of entry 0 of the table
 * @iova: First IOVA the table translates (entry 0)
 * @ptr: Entries made readable by the last @ops->table call on this table
 * @ptr_idx: Index of the entry at @ptr
 * @nr: Number of entries readable at @ptr; 0 when nothing is readable yet
 * @first: First index the table holds (TF of the entry above)
 * @last: Last index the table holds (TL of the entry above)
 * @prot: Permission the entries above grant to everything below
 */
struct s390_table_pos {
	u64 origin;
	u64 iova;
	const u64 *ptr;
	unsigned int ptr_idx;
	unsigned int nr;
	unsigned int first;
	unsigned int last;
	u32 prot;
};

/**
 * struct s390_walker - State of one walk
 * @w: The walk being done
 * @iova: Next IOVA to classify: every IOVA below it (from the walk's start)
 *	is in the pending run or was emitted
 * @run: Pending run, valid if @pending
 * @pending: @run holds something not yet emitted
 * @emit_failed: @ops->emit failed; @w->done is already set
 * @pos: Position in the table of each level
 */
struct s390_walker {
	struct shadow_s1_walk *w;
	u64 iova;
	struct shadow_s1_run run;
	bool pending;
	bool emit_failed;
	struct s390_table_pos pos[S390_NR_LEVELS];
};

static unsigned int s390_nr_entries(unsigned int lvl)
{
	return 1U << s390_levels[lvl].bits;
}

static unsigned int s390_index(unsigned int lvl, u64 iova)
{
	return (iova >> s390_levels[lvl].shift) & (s390_nr_entries(lvl) - 1);
}

/* Offset of an IOVA inside the range one entry of @lvl translates */
static u64 s390_entry_mask(unsigned int lvl)
{
	return BIT_ULL(s390_levels[lvl].shift) - 1;
}

/* Offset of an IOVA inside the range one table of @lvl translates */
static u64 s390_table_mask(unsigned int lvl)
{
	unsigned int lg2 = s390_levels[lvl].shift + s390_levels[lvl].bits;

	return lg2 >= 64 ? U64_MAX : BIT_ULL(lg2) - 1;
}

static u32 s390_entry_prot(u64 entry, u64 protected)
{
	return entry & protected ? IOMMU_READ : IOMMU_READ | IOMMU_WRITE;
}

/* Guest address of the entry of the table of @lvl that translates s->iova */
static u64 s390_entry_gpa(struct s390_walker *s, unsigned int lvl)
{
	return s->pos[lvl].origin + (u64)s390_index(lvl, s->iova) * sizeof(u64);
}

/* Stop the walk at a fault in the table of @lvl, about guest address @addr */
static int s390_fault(struct s390_walker *s, u32 reason, unsigned int lvl,
		      u64 addr, int err)
{
	s->w->fault_reason = reason;
	s->w->fault_level = lvl;
	s->w->fault_addr = addr;
	return err;
}

static int s390_emit(struct s390_walker *s)
{
	struct shadow_s1_walk *w = s->w;
	int ret;

	if (!s->pending)
		return 0;
	s->pending = false;
	ret = w->ops->emit(w->ctx, &s->run);
	if (ret) {
		w->done = s->run.iova;
		s->emit_failed = true;
	}
	return ret;
}

/*
 * Add [@iova, @last] translated to @oa with @prot (0: a hole) to the pending
 * run, emitting the pending run first when the new piece does not continue
 * it. The caller adds pieces in IOVA order without gaps.
 */
static int s390_add(struct s390_walker *s, u64 iova, u64 last, u64 oa,
		    u32 prot)
{
	struct shadow_s1_run *run = &s->run;
	int ret;

	if (s->pending && run->prot == prot) {
		u64 oa_last = run->oa + (run->last - run->iova);

		if (!prot || (oa_last != U64_MAX && oa_last + 1 == oa)) {
			run->last = last;
			return 0;
		}
	}

	ret = s390_emit(s);
	if (ret)
		return ret;
	run->iova = iova;
	run->last = last;
	run->oa = prot ? oa : 0;
	run->prot = prot;
	s->pending = true;
	return 0;
}

/* Read entry @idx of the table of @lvl, asking @ops->table only if needed */
static int s390_read_entry(struct s390_walker *s, unsigned int lvl,
			   unsigned int idx, u64 *entry)
{
	struct s390_table_pos *pos = &s->pos[lvl];

	if (!pos->nr || idx < pos->ptr_idx || idx - pos->ptr_idx >= pos->nr) {
		struct shadow_s1_walk *w = s->w;
		unsigned int nr = 0;
		const u64 *ptr;

		ptr = w->ops->table(w->ctx, pos->origin + (u64)idx * sizeof(u64),
				    pos->iova, pos->iova + s390_table_mask(lvl),
				    &nr);
		if (IS_ERR(ptr)) {
			if (PTR_ERR(ptr) != -ENXIO)
				return PTR_ERR(ptr);
			return s390_fault(s, IOMMU_SHADOW_FAULT_TABLE_ADDR, lvl,
					  pos->origin, -ENXIO);
		}
		pos->ptr = ptr;
		pos->ptr_idx = idx;
		/* At least the entry asked for, never past the table */
		pos->nr = clamp(nr, 1U, s390_nr_entries(lvl) - idx);
	}
	*entry = be64_to_cpu((__force __be64)
			     READ_ONCE(pos->ptr[idx - pos->ptr_idx]));
	return 0;
}

/*
 * The page-table level, where a walk spends its time: add the entry at @idx
 * (within TF..TL) and those after it in one loop, up to the end of the
 * table, of what the last @ops->table call made readable, or of @last. Sets
 * *@added_last to the last IOVA added.
 */
static int s390_add_ptes(struct s390_walker *s, unsigned int idx, u64 last,
			 u64 *added_last)
{
	struct s390_table_pos *pos = &s->pos[S390_LVL_PT];
	u64 iova = s->iova, entry, left;
	unsigned int end;
	int ret;

	ret = s390_read_entry(s, S390_LVL_PT, idx, &entry);
	if (ret)
		return ret;
	end = min(pos->last, pos->ptr_idx + pos->nr - 1);
	left = (last >> S390_PAGE_SHIFT) - (iova >> S390_PAGE_SHIFT);
	if (left < end - idx)
		end = idx + left;

	for (;;) {
		u64 piece_last = min(iova | s390_entry_mask(S390_LVL_PT), last);
		u64 oa = 0;
		u32 prot = 0;

		if (unlikely(!entry)) {
			/* As QEMU: an all-zero entry is malformed, not a hole */
			s->iova = iova;
			return s390_fault(s, IOMMU_SHADOW_FAULT_ENTRY,
					  S390_LVL_PT,
					  pos->origin + (u64)idx * sizeof(u64),
					  -EILSEQ);
		}
		if (!(entry & S390_PTE_INVALID)) {
			prot = pos->prot &
			       s390_entry_prot(entry, S390_PTE_PROTECTED);
			oa = (entry & S390_PTE_ADDR_MASK) |
			     (iova & s390_entry_mask(S390_LVL_PT));
		}
		ret = s390_add(s, iova, piece_last, oa, prot);
		if (ret)
			return ret;
		if (idx == end) {
			*added_last = piece_last;
			return 0;
		}
		idx++;
		iova = piece_last + 1;
		entry = be64_to_cpu((__force __be64)
				    READ_ONCE(pos->ptr[idx - pos->ptr_idx]));
	}
}

/*
 * Enter the table of @lvl - 1 that the valid table entry @entry addresses:
 * 0, or 1 for a segment entry that maps a 1 MiB frame (FC) instead, or
 * -EILSEQ. The checks come in QEMU's order: TF/TL, then TT.
 */
static int s390_descend(struct s390_walker *s, unsigned int lvl, u64 entry)
{
	struct s390_table_pos *next = &s->pos[lvl - 1];
	unsigned int tf, tl;

	if (lvl == S390_LVL_ST) {
		if ((entry & S390_TE_TYPE_MASK) != S390_LVL_TT(lvl))
			return s390_fault(s, IOMMU_SHADOW_FAULT_TABLE_TYPE, lvl,
					  s390_entry_gpa(s, lvl), -EILSEQ);
		if (entry & S390_STE_FC)
			return 1;
		next->origin = entry & S390_STE_ADDR_MASK;
		next->first = 0;
		next->last = s390_nr_entries(S390_LVL_PT) - 1;
	} else {
		tf = (entry & S390_RTE_OFFSET_MASK) >> S390_RTE_OFFSET_SHIFT;
		tl = entry & S390_RTE_LEN_MASK;
		/* A region-third entry must address a whole segment table */
		if (tf > tl ||
		    (lvl == S390_LVL_RT && (tf || tl != S390_RTE_LEN_MASK)))
			return s390_fault(s, IOMMU_SHADOW_FAULT_TABLE_LENGTH, lvl,
					  s390_entry_gpa(s, lvl), -EILSEQ);
		if ((entry & S390_TE_TYPE_MASK) != S390_LVL_TT(lvl))
			return s390_fault(s, IOMMU_SHADOW_FAULT_TABLE_TYPE, lvl,
					  s390_entry_gpa(s, lvl), -EILSEQ);
		next->origin = entry & S390_RTE_ADDR_MASK;
		next->first = tf << S390_TFTL_SHIFT;
		next->last = ((tl + 1) << S390_TFTL_SHIFT) - 1;
	}
	next->iova = s->iova & ~s390_entry_mask(lvl);
	next->nr = 0;
	next->prot = s->pos[lvl].prot & s390_entry_prot(entry, S390_TE_PROTECTED);
	return 0;
}

/*
 * Report [s->iova, @last] through the root table of level @top at @origin.
 * @last lies within the root's reach.
 */
static int s390_walk_tables(struct s390_walker *s, unsigned int top,
			    u64 origin, u64 last)
{
	unsigned int lvl = top;
	int ret;

	s->pos[top].origin = origin;
	s->pos[top].iova = 0;
	s->pos[top].nr = 0;
	s->pos[top].first = 0;
	s->pos[top].last = s390_nr_entries(top) - 1;
	s->pos[top].prot = IOMMU_READ | IOMMU_WRITE;

	for (;;) {
		struct s390_table_pos *pos = &s->pos[lvl];
		unsigned int idx = s390_index(lvl, s->iova);
		u64 piece_last, entry;

		if (idx < pos->first || idx > pos->last) {
			/* Outside TF..TL of the entry above: not a hole */
			return s390_fault(s, IOMMU_SHADOW_FAULT_TABLE_LENGTH,
					  lvl + 1, s390_entry_gpa(s, lvl + 1),
					  -EILSEQ);
		} else if (lvl == S390_LVL_PT) {
			ret = s390_add_ptes(s, idx, last, &piece_last);
			if (ret)
				return ret;
			goto added;
		} else {
			ret = s390_read_entry(s, lvl, idx, &entry);
			if (ret)
				return ret;
			if (!entry)
				return s390_fault(s, IOMMU_SHADOW_FAULT_ENTRY, lvl,
						  s390_entry_gpa(s, lvl),
						  -EILSEQ);
			if (!(entry & S390_TE_INVALID)) {
				ret = s390_descend(s, lvl, entry);
				if (ret < 0)
					return ret;
				if (!ret) {
					lvl--;
					continue;
				}
				/* A 1 MiB frame: a leaf, as QEMU maps it */
				piece_last = min(s->iova |
						 s390_entry_mask(lvl), last);
				ret = s390_add(s, s->iova, piece_last,
					       (entry & S390_STE_FRAME_MASK) |
					       (s->iova & s390_entry_mask(lvl)),
					       pos->prot &
					       s390_entry_prot(entry,
							       S390_TE_PROTECTED));
				if (ret)
					return ret;
				goto added;
			}
			/* An invalid region or segment entry: a hole */
			piece_last = s->iova | s390_entry_mask(lvl);
		}

		piece_last = min(piece_last, last);
		ret = s390_add(s, s->iova, piece_last, 0, 0);
		if (ret)
			return ret;
added:
		if (piece_last == last)
			return 0;
		s->iova = piece_last + 1;

		/*
		 * Climb out of the tables the IOVA has left. The root is never
		 * left: @last lies within its reach.
		 */
		while (!(s->iova & s390_table_mask(lvl)))
			lvl++;
	}
}

/* Level of the root table the IOTA designates; the IOTA must be valid */
static unsigned int s390_root_level(u64 iota)
{
	return S390_LVL_ST + ((iota & S390_IOTA_DT_MASK) >> S390_IOTA_DT_SHIFT);
}

/**
 * s390_check_root() - Validate an s390 IOTA as a stage-1 root
 * @iota: I/O translation anchor as the guest registered it
 *
 * The table origin cannot be misaligned: the bits below 16 KiB are format
 * bits, and only the designation type among them is interpreted.
 *
 * Return: 0 if @iota designates a region or segment table, -EILSEQ for any
 * other designation type.
 */
static int s390_check_root(u64 iota)
{
	if (((iota & S390_IOTA_DT_MASK) >> S390_IOTA_DT_SHIFT) > S390_IOTA_DT_RF)
		return -EILSEQ;
	return 0;
}

/**
 * s390_walk() - Report what an s390 stage-1 translates over a range
 * @w: The walk: root, aperture, callbacks; @w->done is set on return
 * @iova: First IOVA to report
 * @last: Last IOVA to report (inclusive), may be U64_MAX
 *
 * Calls @w->ops->emit for each run of [@iova, @last] in order; IOVAs outside
 * the aperture are holes. See the theory of operation for the rules.
 *
 * Return: 0 when all of [@iova, @last] was reported; -EINVAL if @iova >
 * @last; -EILSEQ for a malformed root or entry; the error of
 * @w->ops->table or @w->ops->emit. On error @w->done is the first IOVA not
 * reported.
 */
static int s390_walk(struct shadow_s1_walk *w, u64 iova, u64 last)
{
	struct s390_walker s __uninitialized;
	unsigned int top;
	u64 reach_last, piece_last;
	int ret;

	/*
	 * Not the rest (nor does CONFIG_INIT_STACK_ALL_ZERO: __uninitialized):
	 * @run is read only when @pending, and the walk sets each level's
	 * position as it enters the table. A small refresh would spend more
	 * on clearing all of it than on the walk.
	 */
	s.w = w;
	s.iova = iova;
	s.pending = false;
	s.emit_failed = false;
	w->done = iova;
	w->fault_addr = 0;
	w->fault_reason = IOMMU_SHADOW_FAULT_NONE;
	w->fault_level = 0;
	if (iova > last)
		return -EINVAL;
	ret = s390_check_root(w->root);
	if (ret)
		return ret;
	top = s390_root_level(w->root);
	reach_last = s390_table_mask(top);

	for (;;) {
		if (s.iova < w->aperture_start) {
			piece_last = min(last, w->aperture_start - 1);
			ret = s390_add(&s, s.iova, piece_last, 0, 0);
		} else if (s.iova > w->aperture_last || s.iova > reach_last) {
			piece_last = last;
			ret = s390_add(&s, s.iova, piece_last, 0, 0);
		} else {
			piece_last = min3(last, w->aperture_last, reach_last);
			ret = s390_walk_tables(&s, top,
					       w->root & S390_IOTA_ORIGIN_MASK,
					       piece_last);
		}
		if (ret)
			goto err;
		if (piece_last == last)
			break;
		s.iova = piece_last + 1;
	}

	ret = s390_emit(&s);
	if (ret)
		return ret;
	w->done = last + 1;
	return 0;

err:
	/* An emit error set w->done; else report up to the failing entry */
	if (!s.emit_failed) {
		int emit_ret = s390_emit(&s);

		if (emit_ret)
			return emit_ret;
		w->done = s.iova;
	}
	return ret;
}

/* s390 zPCI DMA translation tables; the root is the guest's IOTA */
const struct shadow_s1_format shadow_s390_format = {
	.id = IOMMU_SHADOW_FORMAT_S390,
	.check_root = s390_check_root,
	.walk = s390_walk,
	/* A page table: 256 entries of 4 KiB */
	.table_span = BIT_ULL(S390_PAGE_SHIFT + S390_PT_BITS),
};
