// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target of the s390 zPCI stage-1 walker. Each input builds
 * tables in simulated guest memory (fuzz_input.h), corrupts them, walks a
 * range and checks every rule of shadow_fmt.h with check_walk(): runs in
 * order, contiguous, covering exactly the range up to @done, maximal,
 * within bounds, errors only from the allowed set with @done where the
 * reference model fails, every run equal to the reference model, and no
 * table page read twice in one walk. Any violation aborts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "fuzz_input.h"

#include "../../../drivers/iommu/iommufd/shadow_s390.c"

#define FUZZ_MAX_PAGES		512
#define FUZZ_TABLES_BASE	0x10000000ULL
#define FUZZ_TABLES_SIZE	(2ULL << 20)
#define FUZZ_TABLE_BUDGET	1024

struct reader {
	const u8 *p;
	size_t left;
};

static bool rd(struct reader *r, void *out, size_t n)
{
	if (r->left < n)
		return false;
	memcpy(out, r->p, n);
	r->p += n;
	r->left -= n;
	return true;
}

static u8 rd8(struct reader *r)
{
	u8 v = 0;

	rd(r, &v, 1);
	return v;
}

static u16 rd16(struct reader *r)
{
	u16 v = 0;

	rd(r, &v, 2);
	return v;
}

static u64 rd64(struct reader *r)
{
	u64 v = 0;

	rd(r, &v, 8);
	return v;
}

static u64 reach_mask(unsigned int dt)
{
	return dt >= 3 ? U64_MAX : (1ULL << (31 + 11 * dt)) - 1;
}

static void violation(const char *what, const struct fuzz_hdr *h, int ret)
{
	fprintf(stderr, "RULE VIOLATED: %s (dt %u flags %#x ret %d)\n", what,
		h->dt, h->flags, ret);
	abort();
}

static void apply(struct s390_tb *tb, struct reader *r, u8 op, u64 reach)
{
	static const u64 bits[] = {
		T_TE_INVALID, T_TE_PROT, T_TE_TT(1), T_TE_TT(2), T_RTE_TF(1),
		T_RTE_TF(2), T_RTE_TL(1), T_RTE_TL(2), T_STE_FC,
	};
	unsigned int top = tb_top(tb->dt & 3), lvl;
	u64 iova, egpa, oa, flags, t;
	unsigned int count;
	u16 idx;

	switch (op) {
	case FUZZ_MAP:
		iova = fuzz_sel_iova(rd16(r)) & reach;
		oa = rd64(r);
		flags = rd8(r);
		count = 1 + rd8(r);
		flags = (flags & 1 ? T_PTE_PROT : 0) |
			(flags & 2 ? T_PTE_INVALID : 0);
		for (unsigned int i = 0; i < count; i++)
			if (!tb_map(tb, (iova + i * 0x1000ULL) & reach,
				    oa + i * 0x1000ULL, flags))
				break;
		return;
	case FUZZ_FLIP:
	case FUZZ_ALIAS:
	case FUZZ_RAW:
	case FUZZ_TFTL:
		lvl = rd8(r) % (top + 1);
		iova = fuzz_sel_iova(rd16(r)) & reach;
		egpa = tb_entry_gpa(tb, iova, lvl, false);
		if (op == FUZZ_FLIP) {
			t = bits[rd8(r) % 9];
		} else if (op == FUZZ_ALIAS) {
			idx = rd16(r);
			t = tb->tables[idx % tb->nr_tables];
		} else if (op == FUZZ_RAW) {
			t = rd64(r);
		} else {
			t = rd8(r) & T_RTE_TFTL_MASK;
		}
		if (egpa == U64_MAX)
			return;
		if (op == FUZZ_FLIP)
			tb_set(tb, egpa, tb_get(tb, egpa) ^ t);
		else if (op == FUZZ_ALIAS)
			tb_set(tb, egpa, t | (tb_get(tb, egpa) & 0x7ffULL));
		else if (op == FUZZ_RAW)
			tb_set(tb, egpa, t);
		else
			tb_set(tb, egpa,
			       (tb_get(tb, egpa) & ~T_RTE_TFTL_MASK) | t);
		return;
	case FUZZ_OUT:
		idx = rd16(r);
		gmem_set_ioas(tb->m, tb->tables[idx % tb->nr_tables], false);
		return;
	}
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size);

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct reader r = { data, size };
	static struct s390_tb tb;
	struct shadow_s1_walk w;
	struct fuzz_hdr h;
	u64 iova, last, ap_start, ap_last, reach;
	struct gmem m;
	struct sim sim;
	const char *msg;
	int ret;

	if (!rd(&r, &h, sizeof(h)))
		return -1;
	h.dt &= 7;
	reach = reach_mask(h.dt);
	gmem_init(&m, FUZZ_MAX_PAGES);
	if (!tb_init(&tb, &m, h.dt & 3, FUZZ_TABLES_BASE, FUZZ_TABLES_SIZE))
		abort();
	tb.iota |= (u64)h.dt << 2;	/* 4..7: malformed DT */

	while (r.left) {
		u8 op = rd8(&r) % FUZZ_NR_OPS;

		if (r.left < fuzz_op_len[op])
			break;
		apply(&tb, &r, op, reach);
	}

	if (h.flags & FUZZ_F_FULL_RANGE) {
		iova = 0;
		last = U64_MAX;
	} else if (h.flags & FUZZ_F_RAW_RANGE) {
		iova = h.raw_iova;
		last = h.raw_last;
	} else {
		iova = fuzz_sel_iova(h.sel_iova) | (h.raw_iova & 0xfff);
		last = fuzz_sel_iova(h.sel_last) | (h.raw_last & 0xfff);
		if (iova > last) {
			u64 t = iova;

			iova = last;
			last = t;
		}
	}
	if (h.flags & FUZZ_F_FULL_APERTURE) {
		ap_start = 0;
		ap_last = U64_MAX;
	} else if (h.flags & FUZZ_F_RAW_APERTURE) {
		ap_start = h.raw_ap_start;
		ap_last = h.raw_ap_last;
	} else {
		ap_start = fuzz_sel_iova(h.sel_ap_start) |
			   (h.raw_ap_start & 0xfff);
		ap_last = fuzz_sel_iova(h.sel_ap_last) | 0xfff;
	}

	sim_init(&sim, &m);
	sim.nr_mode = h.nr_mode % 3;
	sim.rng = h.raw_iova;
	sim.table_budget = FUZZ_TABLE_BUDGET;
	if (h.flags & FUZZ_F_EMIT_FAIL) {
		sim.emit_fail_at = 1 + h.emit_fail_at % 16;
		sim.emit_err = -EINTR;
	}

	if (shadow_s390_format.check_root(tb.iota) != (h.dt < 4 ? 0 : -EILSEQ))
		violation("check_root", &h, 0);
	ret = sim_walk(&shadow_s390_format, &sim, &w, tb.iota, ap_start,
		       ap_last, iova, last);
	msg = check_walk(&sim, &w, iova, last, ret, !sim.nr_mode);
	if (msg)
		violation(msg, &h, ret);
	if (h.dt >= 4 && ret != (iova > last ? -EINVAL : -EILSEQ))
		violation("malformed root accepted", &h, ret);

	sim_free(&sim);
	gmem_free(&m);
	return 0;
}
