// SPDX-License-Identifier: GPL-2.0-only
/*
 * Guest memory, s390 table builder, reference model, walk callbacks and the
 * rule checker shared by the unit tests and the fuzzer. Nothing here looks
 * at the walker's code: the reference translates one IOVA at a time, as a
 * device would, straight from guest memory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

char check_msg[512];

u64 rnd64(u64 *state)
{
	/* splitmix64 */
	u64 z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* ---- simulated guest memory ---- */

static unsigned int gmem_hash(u64 gpa)
{
	return ((gpa >> 12) * 0x9e3779b97f4a7c15ULL) >> 54;
}

void gmem_init(struct gmem *m, unsigned int max_pages)
{
	memset(m, 0, sizeof(*m));
	m->max_pages = max_pages;
}

void gmem_free(struct gmem *m)
{
	for (unsigned int i = 0; i < GMEM_BUCKETS; i++) {
		struct gpage *p = m->buckets[i];

		while (p) {
			struct gpage *next = p->next;

			free(p);
			p = next;
		}
	}
	memset(m->buckets, 0, sizeof(m->buckets));
	m->nr_pages = 0;
}

struct gpage *gmem_find(struct gmem *m, u64 gpa)
{
	gpa &= ~(GPAGE_SIZE - 1);
	for (struct gpage *p = m->buckets[gmem_hash(gpa)]; p; p = p->next)
		if (p->gpa == gpa)
			return p;
	return NULL;
}

/* Find or create the page of @gpa (created zeroed and in the IOAS) */
struct gpage *gmem_get(struct gmem *m, u64 gpa)
{
	struct gpage *p = gmem_find(m, gpa);
	unsigned int h;

	if (p)
		return p;
	if (m->nr_pages >= m->max_pages)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		abort();
	p->gpa = gpa & ~(GPAGE_SIZE - 1);
	p->in_ioas = true;
	h = gmem_hash(p->gpa);
	p->next = m->buckets[h];
	m->buckets[h] = p;
	m->nr_pages++;
	return p;
}

/* Store @val big-endian at @gpa (8-byte aligned) */
bool gmem_write(struct gmem *m, u64 gpa, u64 val)
{
	struct gpage *p = gmem_get(m, gpa);
	u8 *b;

	if (!p)
		return false;
	b = (u8 *)p->data + (gpa & (GPAGE_SIZE - 8));
	for (int i = 7; i >= 0; i--, val >>= 8)
		b[i] = val & 0xff;
	return true;
}

/* Load the big-endian 64-bit value at @gpa; 0 if there is no page */
u64 gmem_read(struct gmem *m, u64 gpa)
{
	struct gpage *p = gmem_find(m, gpa);
	const u8 *b;
	u64 val = 0;

	if (!p)
		return 0;
	b = (const u8 *)p->data + (gpa & (GPAGE_SIZE - 8));
	for (int i = 0; i < 8; i++)
		val = val << 8 | b[i];
	return val;
}

void gmem_set_ioas(struct gmem *m, u64 gpa, bool in_ioas)
{
	struct gpage *p = gmem_get(m, gpa);

	if (p)
		p->in_ioas = in_ioas;
}

/* ---- s390 table builder ---- */

unsigned int tb_top(unsigned int dt)
{
	return dt + 1;
}

/* IOVA bytes one entry of a table of @lvl translates */
u64 t_entry_size(unsigned int lvl)
{
	return lvl == T_PT ? 1ULL << 12 : 1ULL << (20 + 11 * (lvl - 1));
}

static unsigned int t_index(u64 iova, unsigned int lvl)
{
	return lvl == T_PT ? (iova >> 12) & 0xff :
	       (iova >> (20 + 11 * (lvl - 1))) & 0x7ff;
}

bool tb_init(struct s390_tb *tb, struct gmem *m, unsigned int dt, u64 base,
	     u64 size)
{
	u64 root;

	tb->m = m;
	tb->dt = dt;
	tb->next = base;
	tb->limit = base + size;
	tb->nr_tables = 0;
	memset(tb->nr_by_lvl, 0, sizeof(tb->nr_by_lvl));
	root = tb_alloc(tb, tb_top(dt));
	if (root == U64_MAX)
		return false;
	tb->iota = root | T_IOTA_DT(dt) | T_IOTA_ENABLE;
	return true;
}

/* A new table of @lvl with every entry invalid; U64_MAX when out of room */
u64 tb_alloc(struct s390_tb *tb, unsigned int lvl)
{
	u64 size = lvl == T_PT ? 0x800 : 0x4000;
	u64 gpa = (tb->next + size - 1) & ~(size - 1);

	if (gpa < tb->next || gpa + size > tb->limit ||
	    tb->nr_tables == TB_MAX_TABLES)
		return U64_MAX;
	for (u64 off = 0; off < size; off += 8)
		if (!gmem_write(tb->m, gpa + off,
				lvl == T_PT ? T_PTE_INVALID : T_TE_INVALID))
			return U64_MAX;
	tb->next = gpa + size;
	tb->tables[tb->nr_tables] = gpa;
	tb->table_lvl[tb->nr_tables++] = lvl;
	tb->nr_by_lvl[lvl]++;
	return gpa;
}

u64 tb_get(struct s390_tb *tb, u64 gpa)
{
	return gmem_read(tb->m, gpa);
}

void tb_set(struct s390_tb *tb, u64 gpa, u64 val)
{
	gmem_write(tb->m, gpa, val);
}

/*
 * GPA of the entry of level @lvl on the path of @iova, following the
 * origins in the entries whatever their flags. With @create, invalid
 * entries on the way get a new table (valid, right TT, TF 0, TL 3).
 * U64_MAX when there is no such path.
 */
u64 tb_entry_gpa(struct s390_tb *tb, u64 iova, unsigned int lvl, bool create)
{
	u64 table = T_REGION_ORIGIN(tb->iota);

	for (unsigned int l = tb_top(tb->dt); ; l--) {
		u64 egpa = table + 8ULL * t_index(iova, l);
		u64 e;

		if (l == lvl)
			return egpa;
		if (l == T_PT)
			return U64_MAX;
		e = tb_get(tb, egpa);
		if (e & T_TE_INVALID) {
			u64 t;

			if (!create)
				return U64_MAX;
			t = tb_alloc(tb, l - 1);
			if (t == U64_MAX)
				return U64_MAX;
			e = t | T_TE_TT(l - 1) | (l > T_ST ? T_RTE_TL(3) : 0);
			tb_set(tb, egpa, e);
		}
		table = l == T_ST ? T_SEG_ORIGIN(e) : T_REGION_ORIGIN(e);
	}
}

bool tb_map(struct s390_tb *tb, u64 iova, u64 oa, u64 pte_flags)
{
	u64 egpa = tb_entry_gpa(tb, iova, T_PT, true);

	if (egpa == U64_MAX)
		return false;
	tb_set(tb, egpa, T_PTE_FRAME(oa) | pte_flags);
	return true;
}

/* ---- reference model ---- */

static int ref_load(struct gmem *m, u64 gpa, u64 *val, struct ref_path *path)
{
	struct gpage *p = gmem_find(m, gpa);

	if (path && path->nr < REF_PATH_MAX)
		path->gpa[path->nr++] = gpa;
	if (!p || !p->in_ioas)
		return -ENXIO;
	*val = gmem_read(m, gpa);
	return 0;
}

/* A fault: -ENXIO for a table outside the IOAS, else -EILSEQ */
static struct ref_xlate ref_fault(struct ref_xlate r, u32 reason, int level,
				  u64 addr)
{
	r.err = reason == IOMMU_SHADOW_FAULT_TABLE_ADDR ? -ENXIO : -EILSEQ;
	r.reason = reason;
	r.level = level;
	r.addr = addr;
	return r;
}

/*
 * What the stage-1 does with @iova, the way the hardware would find out:
 * from the IOTA down, one entry per level.
 */
struct ref_xlate ref_translate(struct gmem *m, u64 iota, u64 ap_start,
			       u64 ap_last, u64 iova)
{
	return ref_translate_path(m, iota, ap_start, ap_last, iova, NULL);
}

/* The same, also listing the GPA of every entry read on the way */
struct ref_xlate ref_translate_path(struct gmem *m, u64 iota, u64 ap_start,
				    u64 ap_last, u64 iova,
				    struct ref_path *path)
{
	/* first IOVA bit each level indexes: PX, SX, RTX, RSX, RFX */
	static const unsigned int lo_bit[] = { 12, 20, 31, 42, 53 };
	struct ref_xlate r = { 0 };
	unsigned int dt = (iota >> 2) & 7;
	u32 prot = T_RW;
	u64 table, e;
	int l;

	if (path)
		path->nr = 0;
	/* a root that designates no table is malformed, whatever the IOVA */
	if (dt > 3) {
		r.err = -EILSEQ;
		return r;
	}
	if (iova < ap_start) {
		r.block_last = ap_start - 1;
		return r;
	}
	if (iova > ap_last) {
		r.block_last = U64_MAX;
		return r;
	}
	/* a root of DT d indexes IOVA bits up to 31 + 11 * d */
	if (dt < 3 && (iova >> (31 + 11 * dt))) {
		r.block_last = U64_MAX;
		return r;
	}

	table = iota & ~0x3fffULL;
	for (l = dt + 1; l >= 1; l--) {
		u64 idx = (iova >> lo_bit[l]) & 0x7ff;
		u64 egpa = table + idx * 8;

		r.err = ref_load(m, egpa, &e, path);
		if (r.err)
			return ref_fault(r, IOMMU_SHADOW_FAULT_TABLE_ADDR, l,
					 table);
		/* QEMU: INVALTE for a zero entry, before anything else */
		if (!e)
			return ref_fault(r, IOMMU_SHADOW_FAULT_ENTRY, l, egpa);
		if (e & 0x20) {
			r.block_last = iova | ((1ULL << lo_bit[l]) - 1);
			return r;
		}
		if (l >= 2) {
			u64 tf = (e >> 6) & 3, tl = e & 3;

			/* QEMU: INVALTL unless a region-third says 0..3 */
			if (tf > tl || (l == 2 && (tf || tl != 3)))
				return ref_fault(r,
						 IOMMU_SHADOW_FAULT_TABLE_LENGTH,
						 l, egpa);
		}
		if (((e >> 2) & 3) != (u64)(l - 1))
			return ref_fault(r, IOMMU_SHADOW_FAULT_TABLE_TYPE, l,
					 egpa);
		if (e & 0x200)
			prot = T_RO;
		if (l == 1) {
			if (e & 0x400) {
				/* FC: a 1 MiB frame */
				r.block_last = iova | 0xfff;
				r.prot = prot;
				r.oa = (e & ~0xfffffULL) | (iova & 0xfffff);
				return r;
			}
			table = e & ~0x7ffULL;
		} else {
			u64 tf = (e >> 6) & 3, tl = e & 3;
			u64 quarter = ((iova >> lo_bit[l - 1]) & 0x7ff) >> 9;

			/* an index the lower table does not hold */
			if (quarter < tf || quarter > tl)
				return ref_fault(r,
						 IOMMU_SHADOW_FAULT_TABLE_LENGTH,
						 l, egpa);
			table = e & ~0x3fffULL;
		}
	}

	r.err = ref_load(m, table + ((iova >> 12) & 0xff) * 8, &e, path);
	if (r.err)
		return ref_fault(r, IOMMU_SHADOW_FAULT_TABLE_ADDR, 0, table);
	if (!e)
		return ref_fault(r, IOMMU_SHADOW_FAULT_ENTRY, 0,
				 table + ((iova >> 12) & 0xff) * 8);
	r.block_last = iova | 0xfff;
	if (e & 0x400)
		return r;
	if (e & 0x200)
		prot = T_RO;
	r.prot = prot;
	r.oa = (e & ~0xfffULL) | (iova & 0xfff);
	return r;
}

/* ---- walk callbacks ---- */

static const u64 *sim_table(void *ctx, u64 gpa, u64 iova, u64 last,
			    unsigned int *nr)
{
	struct sim *sim = ctx;
	u64 span = last - iova;
	unsigned int avail;
	struct gpage *p;

	sim->table_calls++;
	if (sim->table_calls > sim->calls_cap) {
		sim->calls_cap = sim->calls_cap ? sim->calls_cap * 2 : 1024;
		sim->calls = realloc(sim->calls,
				     sim->calls_cap * sizeof(*sim->calls));
		if (!sim->calls)
			abort();
	}
	sim->calls[sim->table_calls - 1] = (struct sim_call){ gpa, iova, last };

	if (gpa & 7)
		sim->table_violation = "table(): misaligned entry gpa";
	/* the range of a whole table: 2^20, 2^31, 2^42, 2^53 or 2^64 */
	if (last < iova || (span & (span + 1)) || (iova & span) ||
	    (span != (1ULL << 20) - 1 && span != (1ULL << 31) - 1 &&
	     span != (1ULL << 42) - 1 && span != (1ULL << 53) - 1 &&
	     span != U64_MAX))
		sim->table_violation = "table(): iova/last not a table's range";

	if (sim->table_budget && sim->table_calls > sim->table_budget)
		return ERR_PTR(-ECANCELED);
	p = gmem_find(sim->m, gpa);
	if (!p || !p->in_ioas)
		return ERR_PTR(-ENXIO);
	avail = (GPAGE_SIZE - (gpa & (GPAGE_SIZE - 1))) / 8;
	switch (sim->nr_mode) {
	case 0:
		*nr = avail;
		break;
	case 1:
		*nr = 1;
		break;
	default:
		*nr = 1 + rnd64(&sim->rng) % avail;
		break;
	}
	return &p->data[(gpa & (GPAGE_SIZE - 1)) / 8];
}

static int sim_emit(void *ctx, const struct shadow_s1_run *run)
{
	struct sim *sim = ctx;

	if (sim->emit_failed)
		sim->emit_after_fail = true;
	sim->emit_calls++;
	if (sim->emit_fail_at && sim->emit_calls == sim->emit_fail_at) {
		sim->failed_run = *run;
		sim->emit_failed = true;
		return sim->emit_err;
	}
	if (sim->nr_runs == sim->runs_cap) {
		sim->runs_cap = sim->runs_cap ? sim->runs_cap * 2 : 256;
		sim->runs = realloc(sim->runs,
				    sim->runs_cap * sizeof(*sim->runs));
		if (!sim->runs)
			abort();
	}
	sim->runs[sim->nr_runs++] = *run;
	return 0;
}

const struct shadow_s1_walk_ops sim_ops = {
	.table = sim_table,
	.emit = sim_emit,
};

void sim_init(struct sim *sim, struct gmem *m)
{
	memset(sim, 0, sizeof(*sim));
	sim->m = m;
	sim->emit_err = -ENOSPC;
	sim->rng = 1;
}

/* Forget the results of the last walk, keep the configuration */
void sim_reset(struct sim *sim)
{
	sim->table_calls = 0;
	sim->table_violation = NULL;
	sim->nr_runs = 0;
	sim->emit_calls = 0;
	sim->emit_failed = false;
	sim->emit_after_fail = false;
}

void sim_free(struct sim *sim)
{
	free(sim->calls);
	free(sim->runs);
	sim->calls = NULL;
	sim->runs = NULL;
}

int sim_walk(const struct shadow_s1_format *fmt, struct sim *sim,
	     struct shadow_s1_walk *w, u64 iota, u64 ap_start, u64 ap_last,
	     u64 iova, u64 last)
{
	sim_reset(sim);
	*w = (struct shadow_s1_walk){
		.root = iota,
		.aperture_start = ap_start,
		.aperture_last = ap_last,
		.ops = &sim_ops,
		.ctx = sim,
		.done = 0x5a5a5a5a5a5a5a5aULL,
	};
	return fmt->walk(w, iova, last);
}

/* ---- rule checker ---- */

#define FAIL(...) do {							\
		snprintf(check_msg, sizeof(check_msg), __VA_ARGS__);	\
		return check_msg;					\
	} while (0)

static bool runs_mergeable(const struct shadow_s1_run *a,
			   const struct shadow_s1_run *b)
{
	u64 oa_last = a->oa + (a->last - a->iova);

	if (a->prot != b->prot)
		return false;
	return !a->prot || (oa_last != U64_MAX && oa_last + 1 == b->oa);
}

static const char *check_run(struct sim *sim, const struct shadow_s1_walk *w,
			     const struct shadow_s1_run *run, u64 last)
{
	u64 x = run->iova;

	if (run->last < run->iova || run->last > last)
		FAIL("run [%#llx, %#llx] out of order or beyond %#llx",
		     (unsigned long long)run->iova,
		     (unsigned long long)run->last, (unsigned long long)last);
	if (run->prot != 0 && run->prot != T_RO && run->prot != T_RW)
		FAIL("run %#llx: prot %#x", (unsigned long long)run->iova,
		     run->prot);
	if (!run->prot && run->oa)
		FAIL("hole %#llx with oa %#llx", (unsigned long long)run->iova,
		     (unsigned long long)run->oa);
	if (run->prot && run->oa + (run->last - run->iova) < run->oa)
		FAIL("run %#llx: oa wraps", (unsigned long long)run->iova);

	/* the reference, one IOVA (or one block of holes) at a time */
	for (;;) {
		struct ref_xlate r = ref_translate(sim->m, w->root,
						   w->aperture_start,
						   w->aperture_last, x);
		u64 step_last;

		if (r.err)
			FAIL("iova %#llx: reference says error %d, walker reported a run",
			     (unsigned long long)x, r.err);
		if (r.prot != run->prot ||
		    (r.prot && r.oa != run->oa + (x - run->iova)))
			FAIL("iova %#llx: walker prot %u oa %#llx, reference prot %u oa %#llx",
			     (unsigned long long)x, run->prot,
			     (unsigned long long)(run->prot ?
						  run->oa + (x - run->iova) : 0),
			     r.prot, (unsigned long long)r.oa);
		step_last = r.block_last < run->last ? r.block_last : run->last;
		if (step_last == run->last)
			return NULL;
		x = step_last + 1;
	}
}

static int call_cmp(const void *a, const void *b)
{
	const struct sim_call *x = a, *y = b;

	if ((x->gpa >> 12) != (y->gpa >> 12))
		return (x->gpa >> 12) < (y->gpa >> 12) ? -1 : 1;
	if (x->iova != y->iova)
		return x->iova < y->iova ? -1 : 1;
	if (x->last != y->last)
		return x->last < y->last ? -1 : 1;
	return 0;
}

const char *check_walk(struct sim *sim, const struct shadow_s1_walk *w,
		       u64 iova, u64 last, int ret, bool unique_calls)
{
	bool budget_hit = sim->table_budget &&
			  sim->table_calls > sim->table_budget;
	u64 next = iova;
	const char *msg;

	if (sim->table_violation)
		FAIL("%s", sim->table_violation);
	if (sim->emit_after_fail)
		FAIL("emit called after emit failed");
	if (iova > last) {
		if (ret != -EINVAL || sim->nr_runs || w->done != iova)
			FAIL("iova > last: ret %d runs %lu", ret, sim->nr_runs);
		return NULL;
	}
	if (ret && ret != -EILSEQ && ret != -ENXIO &&
	    !(sim->emit_failed && ret == sim->emit_err) &&
	    !(budget_hit && ret == -ECANCELED))
		FAIL("unexpected return %d", ret);
	if (sim->emit_failed && ret != sim->emit_err)
		FAIL("emit failed with %d, walk returned %d", sim->emit_err,
		     ret);

	for (unsigned long i = 0; i < sim->nr_runs; i++) {
		const struct shadow_s1_run *run = &sim->runs[i];

		if (run->iova != next || (i && sim->runs[i - 1].last == U64_MAX))
			FAIL("run %lu starts at %#llx, expected %#llx", i,
			     (unsigned long long)run->iova,
			     (unsigned long long)next);
		if (i && runs_mergeable(&sim->runs[i - 1], run))
			FAIL("runs %lu and %lu should have been merged", i - 1,
			     i);
		msg = check_run(sim, w, run, last);
		if (msg)
			return msg;
		next = run->last + 1;
	}

	if (!ret) {
		if (!sim->nr_runs || sim->runs[sim->nr_runs - 1].last != last)
			FAIL("walk succeeded without covering up to %#llx",
			     (unsigned long long)last);
		if (w->done != last + 1)
			FAIL("done %#llx after success",
			     (unsigned long long)w->done);
	} else {
		if (sim->nr_runs && sim->runs[sim->nr_runs - 1].last == last)
			FAIL("error %d after covering everything", ret);
		if (w->done != next)
			FAIL("error %d: done %#llx, runs reported up to %#llx",
			     ret, (unsigned long long)w->done,
			     (unsigned long long)next);
		if (sim->emit_failed) {
			const struct shadow_s1_run *run = &sim->failed_run;

			if (run->iova != next)
				FAIL("failed run at %#llx, expected %#llx",
				     (unsigned long long)run->iova,
				     (unsigned long long)next);
			if (sim->nr_runs &&
			    runs_mergeable(&sim->runs[sim->nr_runs - 1], run))
				FAIL("failed run should have been merged");
			msg = check_run(sim, w, run, last);
			if (msg)
				return msg;
		} else if (!budget_hit) {
			struct ref_xlate r = ref_translate(sim->m, w->root,
							   w->aperture_start,
							   w->aperture_last,
							   w->done);

			if (r.err != ret)
				FAIL("error %d at %#llx, reference says %d",
				     ret, (unsigned long long)w->done, r.err);
			if (r.reason != w->fault_reason ||
			    r.level != w->fault_level || r.addr != w->fault_addr)
				FAIL("fault at %#llx: reason %u level %u addr %#llx, reference says %u %u %#llx",
				     (unsigned long long)w->done,
				     w->fault_reason, w->fault_level,
				     (unsigned long long)w->fault_addr,
				     r.reason, r.level,
				     (unsigned long long)r.addr);
		}
	}

	if (unique_calls && sim->table_calls > 1) {
		unsigned long n = sim->table_calls;

		if (sim->table_budget && n > sim->table_budget)
			n = sim->table_budget;
		qsort(sim->calls, n, sizeof(*sim->calls), call_cmp);
		for (unsigned long i = 1; i < n; i++)
			if (!call_cmp(&sim->calls[i - 1], &sim->calls[i]))
				FAIL("table() called twice for gpa %#llx, table [%#llx, %#llx]",
				     (unsigned long long)sim->calls[i].gpa,
				     (unsigned long long)sim->calls[i].iova,
				     (unsigned long long)sim->calls[i].last);
	}
	return NULL;
}
