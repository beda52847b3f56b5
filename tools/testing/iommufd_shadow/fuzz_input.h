/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Input format of the s390 walker fuzzer, shared with the seed generator.
 *
 * A header, then commands that build and corrupt tables. IOVAs are mostly
 * given by 16-bit selectors (fuzz_sel_iova()): in each region or segment
 * table an index next to a table end or a TF/TL quarter boundary, in the
 * page table one of 16 indices, so that inputs sharing paths are likely.
 */
#ifndef IOMMUFD_SHADOW_FUZZ_INPUT_H
#define IOMMUFD_SHADOW_FUZZ_INPUT_H

#include <linux/types.h>

struct fuzz_hdr {
	u8 dt;			/* & 7: 4..7 are malformed roots */
	u8 flags;		/* FUZZ_F_* */
	u8 emit_fail_at;	/* with FUZZ_F_EMIT_FAIL */
	u8 nr_mode;		/* % 3: entries table() gives, see struct sim */
	u16 sel_iova, sel_last, sel_ap_start, sel_ap_last;
	u64 raw_iova, raw_last, raw_ap_start, raw_ap_last;
} __attribute__((packed));

#define FUZZ_F_FULL_RANGE	0x01	/* walk [0, U64_MAX] */
#define FUZZ_F_FULL_APERTURE	0x02	/* aperture [0, U64_MAX] */
#define FUZZ_F_RAW_RANGE	0x04	/* raw_iova/raw_last as they are */
#define FUZZ_F_RAW_APERTURE	0x08
#define FUZZ_F_EMIT_FAIL	0x10

enum fuzz_op {
	FUZZ_MAP,	/* u16 sel, u64 oa, u8 pte flags, u8 count */
	FUZZ_FLIP,	/* u8 lvl, u16 sel, u8 bit: xor a format bit */
	FUZZ_ALIAS,	/* u8 lvl, u16 sel, u16 table: point at a table */
	FUZZ_OUT,	/* u16 table: take its page out of the IOAS */
	FUZZ_RAW,	/* u8 lvl, u16 sel, u64 value */
	FUZZ_TFTL,	/* u8 lvl, u16 sel, u8 TF/TL */
	FUZZ_NR_OPS,
};

static const unsigned int fuzz_op_len[FUZZ_NR_OPS] = {
	[FUZZ_MAP] = 12, [FUZZ_FLIP] = 4, [FUZZ_ALIAS] = 5,
	[FUZZ_OUT] = 2, [FUZZ_RAW] = 11, [FUZZ_TFTL] = 4,
};

static inline u64 fuzz_sel_iova(u16 sel)
{
	/* ends and TF/TL quarter boundaries of a 2048-entry table */
	static const u64 idx[8] = { 0, 1, 511, 512, 1023, 1536, 2046, 2047 };
	u64 iova = (u64)((sel & 0xf) == 0xf ? 0xff : sel & 0xf) << 12;

	for (unsigned int l = 0; l < 4; l++)
		iova |= idx[(sel >> (4 + 3 * l)) & 7] << (20 + 11 * l);
	return iova;
}

#endif
