// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit and randomized tests of the s390 zPCI stage-1 walker. The walker's
 * source is compiled right here against the shim headers, so its static
 * functions are this program's. Output is TAP.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

#include "../../../drivers/iommu/iommufd/shadow_s390.c"

#define FMT	(&shadow_s390_format)
#define FULL	0, U64_MAX

static int tap_nr, tap_failed;

#define T_ASSERT(cond) do {						\
		if (!(cond)) {						\
			printf("# %s:%d: %s\n", __FILE__, __LINE__, #cond); \
			return false;					\
		}							\
	} while (0)

#define T_ASSERT_EQ(a, b) do {						\
		unsigned long long _a = (a), _b = (b);			\
		if (_a != _b) {						\
			printf("# %s:%d: %s == %#llx, expected %s == %#llx\n", \
			       __FILE__, __LINE__, #a, _a, #b, _b);	\
			return false;					\
		}							\
	} while (0)

/* One stage-1 in simulated guest memory, with its callbacks */
struct env {
	struct gmem m;
	struct s390_tb tb;
	struct sim sim;
	struct shadow_s1_walk w;
	u64 ap_start, ap_last;
	bool unique_calls;
};

#define TABLES_BASE	0x10000000ULL

/* Live environments, freed after each test even when it fails */
static struct env *live_envs[16];

static struct env *env_new(unsigned int dt)
{
	struct env *e = calloc(1, sizeof(*e));

	if (!e)
		abort();
	for (unsigned int i = 0; ; i++) {
		if (i == 16)
			abort();
		if (!live_envs[i]) {
			live_envs[i] = e;
			break;
		}
	}
	gmem_init(&e->m, 1 << 16);
	if (!tb_init(&e->tb, &e->m, dt, TABLES_BASE, 1ULL << 30))
		abort();
	sim_init(&e->sim, &e->m);
	e->ap_start = 0;
	e->ap_last = U64_MAX;
	e->unique_calls = true;
	return e;
}

static void env_free(struct env *e)
{
	for (unsigned int i = 0; i < 16; i++)
		if (live_envs[i] == e)
			live_envs[i] = NULL;
	sim_free(&e->sim);
	gmem_free(&e->m);
	free(e);
}

/* Walk, then check every rule of the format against the reference */
static bool env_walk(struct env *e, u64 iova, u64 last, int *ret)
{
	const char *msg;

	*ret = sim_walk(FMT, &e->sim, &e->w, e->tb.iota, e->ap_start,
			e->ap_last, iova, last);
	msg = check_walk(&e->sim, &e->w, iova, last, *ret,
			 e->unique_calls && !e->sim.nr_mode);
	if (msg) {
		printf("# walk [%#llx, %#llx] iota %#llx: %s\n",
		       (unsigned long long)iova, (unsigned long long)last,
		       (unsigned long long)e->tb.iota, msg);
		return false;
	}
	return true;
}

#define WALK(e, iova, last, expect_ret) do {				\
		int _ret;						\
		T_ASSERT(env_walk(e, iova, last, &_ret));		\
		T_ASSERT_EQ((long long)_ret, (long long)(expect_ret));	\
	} while (0)

static const struct shadow_s1_run *find_run(struct env *e, u64 iova)
{
	for (unsigned long i = 0; i < e->sim.nr_runs; i++)
		if (e->sim.runs[i].iova <= iova && iova <= e->sim.runs[i].last)
			return &e->sim.runs[i];
	return NULL;
}

/* The IOVA is reported as @prot (0: hole) at @oa */
static bool is_run(struct env *e, u64 iova, u32 prot, u64 oa)
{
	const struct shadow_s1_run *run = find_run(e, iova);

	if (!run) {
		printf("# no run holds %#llx\n", (unsigned long long)iova);
		return false;
	}
	if (run->prot != prot ||
	    (prot && run->oa + (iova - run->iova) != oa)) {
		printf("# %#llx: prot %u oa %#llx, expected prot %u oa %#llx\n",
		       (unsigned long long)iova, run->prot,
		       (unsigned long long)(run->oa + (iova - run->iova)), prot,
		       (unsigned long long)oa);
		return false;
	}
	return true;
}

struct exp_run {
	u64 iova, last, oa;
	u32 prot;
};

static bool runs_are(struct env *e, const struct exp_run *exp, unsigned long n)
{
	if (e->sim.nr_runs != n) {
		printf("# %lu runs, expected %lu\n", e->sim.nr_runs, n);
		for (unsigned long i = 0; i < e->sim.nr_runs; i++)
			printf("#  [%#llx, %#llx] oa %#llx prot %u\n",
			       (unsigned long long)e->sim.runs[i].iova,
			       (unsigned long long)e->sim.runs[i].last,
			       (unsigned long long)e->sim.runs[i].oa,
			       e->sim.runs[i].prot);
		return false;
	}
	for (unsigned long i = 0; i < n; i++) {
		const struct shadow_s1_run *r = &e->sim.runs[i];

		if (r->iova != exp[i].iova || r->last != exp[i].last ||
		    r->oa != exp[i].oa || r->prot != exp[i].prot) {
			printf("# run %lu [%#llx, %#llx] oa %#llx prot %u, expected [%#llx, %#llx] oa %#llx prot %u\n",
			       i, (unsigned long long)r->iova,
			       (unsigned long long)r->last,
			       (unsigned long long)r->oa, r->prot,
			       (unsigned long long)exp[i].iova,
			       (unsigned long long)exp[i].last,
			       (unsigned long long)exp[i].oa, exp[i].prot);
			return false;
		}
	}
	return true;
}

#define RUNS_ARE(e, ...) do {						\
		const struct exp_run _exp[] = { __VA_ARGS__ };		\
		T_ASSERT(runs_are(e, _exp, sizeof(_exp) / sizeof(_exp[0]))); \
	} while (0)

static u64 reach_last(unsigned int dt)
{
	return dt == 3 ? U64_MAX : (1ULL << (31 + 11 * dt)) - 1;
}

/*
 * An IOVA whose path uses index 1 of the root and small, distinct indices
 * below, so that the entry before and after it at every level exist.
 */
static u64 probe_iova(unsigned int dt)
{
	u64 iova = 0;

	for (unsigned int l = T_PT; l <= tb_top(dt); l++)
		iova += (l == tb_top(dt) ? 1 : 3 + l) * t_entry_size(l);
	return iova;
}

#define OA_BASE	0x4000000000ULL

/* ---------------------------------------------------------------- */

static bool test_format_id(void)
{
	T_ASSERT_EQ(FMT->id, IOMMU_SHADOW_FORMAT_S390);
	T_ASSERT_EQ(FMT->id, 1);
	return true;
}

/* Every designation type, its reach, holes beyond it */
static bool test_root_each_dt(void)
{
	for (unsigned int dt = 0; dt < 4; dt++) {
		struct env *e = env_new(dt);
		u64 a = probe_iova(dt), z = reach_last(dt) - 0xfff;

		for (int i = 0; i < 3; i++)
			T_ASSERT(tb_map(&e->tb, a + i * 0x1000ULL,
					OA_BASE + i * 0x1000ULL, 0));
		T_ASSERT(tb_map(&e->tb, z, 0x7000, 0));
		WALK(e, 0, U64_MAX, 0);
		if (dt == 3) {
			RUNS_ARE(e, { 0, a - 1, 0, 0 },
				 { a, a + 0x2fff, OA_BASE, T_RW },
				 { a + 0x3000, z - 1, 0, 0 },
				 { z, U64_MAX, 0x7000, T_RW });
		} else {
			RUNS_ARE(e, { 0, a - 1, 0, 0 },
				 { a, a + 0x2fff, OA_BASE, T_RW },
				 { a + 0x3000, z - 1, 0, 0 },
				 { z, z + 0xfff, 0x7000, T_RW },
				 { z + 0x1000, U64_MAX, 0, 0 });
		}
		/* beyond the reach only: one hole, no table read */
		if (dt != 3) {
			WALK(e, z + 0x1000, U64_MAX, 0);
			RUNS_ARE(e, { z + 0x1000, U64_MAX, 0, 0 });
			T_ASSERT_EQ(e->sim.table_calls, 0);
		}
		env_free(e);
	}
	return true;
}

static bool test_check_root(void)
{
	for (u64 dt = 0; dt < 8; dt++) {
		u64 iota = 0x123458000ULL | dt << 2 | 0x800 | 0x3 | 0x1e0;

		T_ASSERT_EQ((long long)FMT->check_root(iota),
			    dt < 4 ? 0 : -EILSEQ);
	}
	/* what Linux registers for the identity/PFAA designation */
	T_ASSERT_EQ((long long)FMT->check_root(0x800 | (4 << 2) | 2), -EILSEQ);
	T_ASSERT_EQ((long long)FMT->check_root(0), 0);
	T_ASSERT_EQ((long long)FMT->check_root(U64_MAX), -EILSEQ);
	return true;
}

/* An unsupported designation type fails the walk before any callback */
static bool test_bad_root_walk(void)
{
	struct env *e = env_new(1);

	T_ASSERT(tb_map(&e->tb, 0x5000, 0x5000, 0));
	for (u64 dt = 4; dt < 8; dt++) {
		e->tb.iota = (e->tb.iota & ~0x1cULL) | dt << 2;
		WALK(e, 0x1000, 0x9fff, -EILSEQ);
		T_ASSERT_EQ(e->sim.nr_runs, 0);
		T_ASSERT_EQ(e->w.done, 0x1000);
		T_ASSERT_EQ(e->sim.table_calls, 0);
	}
	env_free(e);
	return true;
}

/*
 * The origin of the root cannot be misaligned: every IOTA bit below 16 KiB
 * but the designation type (enable, key, frame size...) is ignored.
 */
static bool test_root_ignored_bits(void)
{
	struct env *e = env_new(1);
	u64 a = probe_iova(1);
	u64 clean = e->tb.iota & ~0x800ULL;

	T_ASSERT(tb_map(&e->tb, a, OA_BASE, 0));
	e->tb.iota = clean;
	WALK(e, 0, U64_MAX, 0);
	RUNS_ARE(e, { 0, a - 1, 0, 0 }, { a, a + 0xfff, OA_BASE, T_RW },
		 { a + 0x1000, U64_MAX, 0, 0 });
	e->tb.iota = clean | 0x3fe3;	/* all but DT, incl. 0x200 */
	WALK(e, 0, U64_MAX, 0);
	RUNS_ARE(e, { 0, a - 1, 0, 0 }, { a, a + 0xfff, OA_BASE, T_RW },
		 { a + 0x1000, U64_MAX, 0, 0 });
	env_free(e);
	return true;
}

/* Map a page before, at and after the probe's entry at @lvl */
static struct env *env_probe(unsigned int dt, unsigned int lvl, u64 *base,
			     u64 *end)
{
	struct env *e = env_new(dt);
	u64 a = probe_iova(dt), size = t_entry_size(lvl);

	*base = a & ~(size - 1);
	*end = *base + size - 1;
	if (!tb_map(&e->tb, *base - 0x1000, 0x1000, 0) ||
	    !tb_map(&e->tb, a, 0x2000, 0) ||
	    !tb_map(&e->tb, *end + 1, 0x3000, 0))
		abort();
	/* the last page of the entry, unless that is the probe itself */
	if (lvl != T_PT && !tb_map(&e->tb, *end - 0xfff, 0x5000, 0))
		abort();
	return e;
}

/* An invalid entry at any level is a hole over all it would translate */
static bool test_invalid_each_level(void)
{
	for (unsigned int dt = 0; dt < 4; dt++) {
		for (unsigned int lvl = T_PT; lvl <= tb_top(dt); lvl++) {
			u64 base, end, egpa;
			struct env *e = env_probe(dt, lvl, &base, &end);
			u64 bit = lvl == T_PT ? T_PTE_INVALID : T_TE_INVALID;

			WALK(e, 0, U64_MAX, 0);
			T_ASSERT(is_run(e, probe_iova(dt), T_RW, 0x2000));
			egpa = tb_entry_gpa(&e->tb, probe_iova(dt), lvl, false);
			T_ASSERT(egpa != U64_MAX);
			tb_set(&e->tb, egpa, tb_get(&e->tb, egpa) | bit);
			WALK(e, 0, U64_MAX, 0);
			T_ASSERT(is_run(e, base - 0x1000, T_RW, 0x1000));
			T_ASSERT(is_run(e, base, 0, 0));
			T_ASSERT(is_run(e, end, 0, 0));
			T_ASSERT(is_run(e, end + 1, T_RW, 0x3000));
			/* invalid wins over a bad TT/TF/TL/FC */
			if (lvl != T_PT) {
				tb_set(&e->tb, egpa, tb_get(&e->tb, egpa) ^
				       T_TE_TT(1) ^ T_RTE_TF(3) ^ T_STE_FC);
				WALK(e, 0, U64_MAX, 0);
				T_ASSERT(is_run(e, base, 0, 0));
			}
			env_free(e);
		}
	}
	return true;
}

/* Protection at any level makes everything below read-only */
static bool test_prot_each_level(void)
{
	for (unsigned int dt = 0; dt < 4; dt++) {
		for (unsigned int lvl = T_PT; lvl <= tb_top(dt); lvl++) {
			u64 base, end, egpa;
			struct env *e = env_probe(dt, lvl, &base, &end);

			egpa = tb_entry_gpa(&e->tb, probe_iova(dt), lvl, false);
			tb_set(&e->tb, egpa, tb_get(&e->tb, egpa) | T_TE_PROT);
			WALK(e, 0, U64_MAX, 0);
			T_ASSERT(is_run(e, base - 0x1000, T_RW, 0x1000));
			T_ASSERT(is_run(e, probe_iova(dt), T_RO, 0x2000));
			if (lvl != T_PT)
				T_ASSERT(is_run(e, end - 0xfff, T_RO, 0x5000));
			T_ASSERT(is_run(e, end + 1, T_RW, 0x3000));
			env_free(e);
		}
	}
	return true;
}

/* A valid entry whose TT does not name its table is malformed */
static bool test_tt_mismatch_each_level(void)
{
	for (unsigned int dt = 0; dt < 4; dt++) {
		for (unsigned int lvl = T_ST; lvl <= tb_top(dt); lvl++) {
			for (u64 tt = 0; tt < 4; tt++) {
				u64 base, end, egpa, ent;
				struct env *e;

				if (tt == lvl - 1)
					continue;
				e = env_probe(dt, lvl, &base, &end);
				egpa = tb_entry_gpa(&e->tb, probe_iova(dt), lvl,
						    false);
				ent = tb_get(&e->tb, egpa);
				tb_set(&e->tb, egpa,
				       (ent & ~T_TE_TT_MASK) | T_TE_TT(tt));
				WALK(e, 0, U64_MAX, -EILSEQ);
				T_ASSERT_EQ(e->w.done, base);
				T_ASSERT(is_run(e, base - 0x1000, T_RW, 0x1000));
				/* a walk that starts inside the entry */
				WALK(e, end - 0xfff, U64_MAX, -EILSEQ);
				T_ASSERT_EQ(e->w.done, end - 0xfff);
				T_ASSERT_EQ(e->sim.nr_runs, 0);
				/* and one that ends before it */
				WALK(e, 0, base - 1, 0);
				env_free(e);
			}
		}
	}
	return true;
}

/* The walk stopped at a fault of @reason in the table of @lvl at @addr */
static bool fault_is(struct env *e, u64 done, u32 reason, unsigned int lvl,
		     u64 addr)
{
	if (e->w.done != done || e->w.fault_reason != reason ||
	    e->w.fault_level != lvl || e->w.fault_addr != addr) {
		printf("# fault at %#llx: reason %u level %u addr %#llx, expected %#llx: %u %u %#llx\n",
		       (unsigned long long)e->w.done, e->w.fault_reason,
		       e->w.fault_level, (unsigned long long)e->w.fault_addr,
		       (unsigned long long)done, reason, lvl,
		       (unsigned long long)addr);
		return false;
	}
	return true;
}

/*
 * TF/TL of region entries, as QEMU's INVALTL: a region-third entry must say
 * TF 0, TL 3; a higher region entry may leave out quarters of the table
 * below, and a walk that reaches an index left out faults there; TF > TL
 * is malformed.
 */
static bool test_tftl(void)
{
	for (unsigned int dt = 1; dt < 4; dt++) {
		for (unsigned int lvl = T_RT; lvl <= tb_top(dt); lvl++) {
			u64 base, end, egpa, ent, sub = t_entry_size(lvl - 1);
			struct env *e = env_probe(dt, lvl, &base, &end);
			u64 q1 = base + 600 * sub, q3 = base + 1600 * sub;

			T_ASSERT(tb_map(&e->tb, q1, 0x11000, 0));
			T_ASSERT(tb_map(&e->tb, q3, 0x13000, 0));
			/* the first and last index of every quarter */
			for (u64 i = 511; i < 2047; i += 512) {
				T_ASSERT(tb_map(&e->tb, base + i * sub,
						0x100000 + i * 0x1000, 0));
				T_ASSERT(tb_map(&e->tb, base + (i + 1) * sub,
						0x100000 + (i + 1) * 0x1000,
						0));
			}
			egpa = tb_entry_gpa(&e->tb, probe_iova(dt), lvl, false);
			ent = tb_get(&e->tb, egpa) & ~T_RTE_TFTL_MASK;

			for (u64 tf = 0; tf < 4; tf++) {
				for (u64 tl = 0; tl < 4; tl++) {
					u64 qf = base + tf * 512 * sub;
					u64 ql = base + (tl + 1) * 512 * sub - 1;

					tb_set(&e->tb, egpa,
					       ent | T_RTE_TF(tf) | T_RTE_TL(tl));
					if (tf > tl ||
					    (lvl == T_RT && (tf || tl != 3))) {
						WALK(e, 0, U64_MAX, -EILSEQ);
						T_ASSERT(fault_is(e, base,
							IOMMU_SHADOW_FAULT_TABLE_LENGTH,
							lvl, egpa));
						WALK(e, 0, base - 1, 0);
						continue;
					}
					if (tf) {
						/* index 0 is left out */
						WALK(e, 0, U64_MAX, -EILSEQ);
						T_ASSERT(fault_is(e, base,
							IOMMU_SHADOW_FAULT_TABLE_LENGTH,
							lvl, egpa));
					} else if (tl != 3) {
						WALK(e, 0, U64_MAX, -EILSEQ);
						T_ASSERT(fault_is(e, ql + 1,
							IOMMU_SHADOW_FAULT_TABLE_LENGTH,
							lvl, egpa));
						T_ASSERT(is_run(e, probe_iova(dt),
								T_RW, 0x2000));
					} else {
						WALK(e, 0, U64_MAX, 0);
						T_ASSERT(is_run(e, end - 0xfff,
								T_RW, 0x5000));
						T_ASSERT(is_run(e, end + 1,
								T_RW, 0x3000));
					}
					/* what the window holds walks fine */
					WALK(e, qf, ql, 0);
					if (q1 >= qf && q1 <= ql)
						T_ASSERT(is_run(e, q1, T_RW,
								0x11000));
					if (q3 >= qf && q3 <= ql)
						T_ASSERT(is_run(e, q3, T_RW,
								0x13000));
					if (tf)
						T_ASSERT(is_run(e, qf, T_RW,
								0x100000 + tf *
								512 * 0x1000));
				}
			}
			env_free(e);
		}
	}
	return true;
}

/* A segment entry with FC maps a 1 MiB frame, as QEMU does */
static bool test_ste_fc(void)
{
	u64 base, end, egpa, frame = 0x40000000ULL;
	struct env *e = env_probe(1, T_ST, &base, &end);

	egpa = tb_entry_gpa(&e->tb, probe_iova(1), T_ST, false);
	/* the low bits of the frame field are not part of the frame */
	tb_set(&e->tb, egpa, frame | 0xff000 | T_STE_FC);
	WALK(e, 0, U64_MAX, 0);
	T_ASSERT(is_run(e, base - 0x1000, T_RW, 0x1000));
	T_ASSERT(is_run(e, end + 1, T_RW, 0x3000));
	WALK(e, base, end, 0);
	RUNS_ARE(e, { base, end, frame, T_RW });
	/* from inside the frame, and with protection */
	tb_set(&e->tb, egpa, frame | T_STE_FC | T_TE_PROT);
	WALK(e, base + 0x5000, end - 0x1000, 0);
	RUNS_ARE(e, { base + 0x5000, end - 0x1000, frame + 0x5000, T_RO });
	/* protection from the region-third entry above */
	tb_set(&e->tb, egpa, frame | T_STE_FC);
	egpa = tb_entry_gpa(&e->tb, probe_iova(1), T_RT, false);
	tb_set(&e->tb, egpa, tb_get(&e->tb, egpa) | T_TE_PROT);
	WALK(e, base, end, 0);
	RUNS_ARE(e, { base, end, frame, T_RO });
	env_free(e);

	/* two FC frames that continue each other merge into one run */
	e = env_probe(1, T_ST, &base, &end);
	egpa = tb_entry_gpa(&e->tb, probe_iova(1), T_ST, false);
	tb_set(&e->tb, egpa, frame | T_STE_FC);
	tb_set(&e->tb, egpa + 8, (frame + 0x100000) | T_STE_FC);
	WALK(e, base, end + 0x100000, 0);
	RUNS_ARE(e, { base, end + 0x100000, frame, T_RW });
	/* a wrong TT still faults, FC or not */
	tb_set(&e->tb, egpa, frame | T_STE_FC | T_TE_TT(1));
	WALK(e, 0, U64_MAX, -EILSEQ);
	T_ASSERT(fault_is(e, base, IOMMU_SHADOW_FAULT_TABLE_TYPE, T_ST, egpa));
	env_free(e);
	return true;
}

/* All-zero entries fault at every level, as QEMU's INVALTE */
static bool test_zero_entries(void)
{
	for (unsigned int dt = 0; dt < 4; dt++) {
		for (unsigned int lvl = T_PT; lvl <= tb_top(dt); lvl++) {
			u64 base, end, egpa;
			struct env *e = env_probe(dt, lvl, &base, &end);
			u64 at = lvl == T_PT ? probe_iova(dt) : base;

			egpa = tb_entry_gpa(&e->tb, probe_iova(dt), lvl, false);
			tb_set(&e->tb, egpa, 0);
			WALK(e, 0, U64_MAX, -EILSEQ);
			T_ASSERT(fault_is(e, at, IOMMU_SHADOW_FAULT_ENTRY, lvl,
					  egpa));
			T_ASSERT(is_run(e, base - 0x1000, T_RW, 0x1000));
			/* a walk that starts inside the entry */
			WALK(e, at + 0x1000 * (lvl != T_PT), U64_MAX, -EILSEQ);
			T_ASSERT_EQ(e->sim.nr_runs, 0);
			/* and one that ends before it */
			WALK(e, 0, at - 1, 0);
			env_free(e);
		}
	}
	return true;
}

/* What stays different from QEMU: a frame at 0 is a frame (QEMU: TT) */
static bool test_frame_zero(void)
{
	u64 base, end, egpa;
	struct env *e = env_probe(1, T_PT, &base, &end);

	egpa = tb_entry_gpa(&e->tb, probe_iova(1), T_PT, false);
	tb_set(&e->tb, egpa, T_PTE_PROT);
	WALK(e, 0, U64_MAX, 0);
	T_ASSERT(is_run(e, probe_iova(1), T_RO, 0));
	env_free(e);
	return true;
}

static bool test_aperture(void)
{
	struct env *e = env_new(1);
	u64 a = 0x100000000ULL;

	for (int i = 0; i < 10; i++)
		T_ASSERT(tb_map(&e->tb, a + i * 0x1000ULL,
				OA_BASE + i * 0x1000ULL, 0));
	e->ap_start = a + 0x3000;
	e->ap_last = a + 0x6fff;
	WALK(e, 0, U64_MAX, 0);
	RUNS_ARE(e, { 0, a + 0x2fff, 0, 0 },
		 { a + 0x3000, a + 0x6fff, OA_BASE + 0x3000, T_RW },
		 { a + 0x7000, U64_MAX, 0, 0 });
	/* unaligned aperture */
	e->ap_start = a + 0x3800;
	e->ap_last = a + 0x67ff;
	WALK(e, 0, U64_MAX, 0);
	RUNS_ARE(e, { 0, a + 0x37ff, 0, 0 },
		 { a + 0x3800, a + 0x67ff, OA_BASE + 0x3800, T_RW },
		 { a + 0x6800, U64_MAX, 0, 0 });
	/* walk that starts and ends outside the aperture */
	WALK(e, a, a + 0x9fff, 0);
	RUNS_ARE(e, { a, a + 0x37ff, 0, 0 },
		 { a + 0x3800, a + 0x67ff, OA_BASE + 0x3800, T_RW },
		 { a + 0x6800, a + 0x9fff, 0, 0 });
	/* walk inside the aperture */
	WALK(e, a + 0x4000, a + 0x4fff, 0);
	RUNS_ARE(e, { a + 0x4000, a + 0x4fff, OA_BASE + 0x4000, T_RW });
	/* empty aperture */
	e->ap_start = a + 0x5000;
	e->ap_last = a + 0x4fff;
	WALK(e, 0, U64_MAX, 0);
	RUNS_ARE(e, { 0, U64_MAX, 0, 0 });
	T_ASSERT_EQ(e->sim.table_calls, 0);
	/* one-byte aperture at the very end of the space */
	e->ap_start = U64_MAX;
	e->ap_last = U64_MAX;
	WALK(e, 0, U64_MAX, 0);
	RUNS_ARE(e, { 0, U64_MAX, 0, 0 });
	/* aperture holes merge with table holes */
	e->ap_start = 0x1000;
	e->ap_last = U64_MAX;
	WALK(e, 0, U64_MAX, 0);
	RUNS_ARE(e, { 0, a - 1, 0, 0 },
		 { a, a + 0x9fff, OA_BASE, T_RW },
		 { a + 0xa000, U64_MAX, 0, 0 });
	env_free(e);
	return true;
}

/* The top of the 64-bit space, IOVA and OA */
static bool test_max_iova(void)
{
	struct env *e = env_new(3);
	u64 top = 0xfffffffffffff000ULL;

	T_ASSERT(tb_map(&e->tb, top, 0xabc000, T_PTE_PROT));
	WALK(e, 0, U64_MAX, 0);
	RUNS_ARE(e, { 0, top - 1, 0, 0 }, { top, U64_MAX, 0xabc000, T_RO });
	T_ASSERT_EQ(e->w.done, 0);
	WALK(e, U64_MAX, U64_MAX, 0);
	RUNS_ARE(e, { U64_MAX, U64_MAX, 0xabcfff, T_RO });
	WALK(e, top - 0x1000, U64_MAX, 0);
	RUNS_ARE(e, { top - 0x1000, top - 1, 0, 0 },
		 { top, U64_MAX, 0xabc000, T_RO });
	e->ap_last = top - 1;
	WALK(e, 0, U64_MAX, 0);
	RUNS_ARE(e, { 0, U64_MAX, 0, 0 });
	env_free(e);

	/* OA of the last frame followed by frame 0: no merge across 2^64 */
	e = env_new(2);
	T_ASSERT(tb_map(&e->tb, 0x10000, top, 0));
	/* (a nonzero PTE: an all-zero one is malformed) */
	T_ASSERT(tb_map(&e->tb, 0x11000, 0, 0x100));
	T_ASSERT(tb_map(&e->tb, 0x12000, 0x1000, 0));
	WALK(e, 0x10000, 0x12fff, 0);
	RUNS_ARE(e, { 0x10000, 0x10fff, top, T_RW },
		 { 0x11000, 0x12fff, 0, T_RW });
	env_free(e);
	return true;
}

static bool test_unaligned_range(void)
{
	struct env *e = env_new(1);
	u64 a = probe_iova(1);

	for (int i = 0; i < 4; i++)
		T_ASSERT(tb_map(&e->tb, a + i * 0x1000ULL,
				OA_BASE + i * 0x1000ULL, 0));
	WALK(e, a + 0x123, a + 0x2456, 0);
	RUNS_ARE(e, { a + 0x123, a + 0x2456, OA_BASE + 0x123, T_RW });
	WALK(e, a - 0x10, a + 0x5, 0);
	RUNS_ARE(e, { a - 0x10, a - 1, 0, 0 }, { a, a + 5, OA_BASE, T_RW });
	WALK(e, a + 7, a + 7, 0);
	RUNS_ARE(e, { a + 7, a + 7, OA_BASE + 7, T_RW });
	env_free(e);
	return true;
}

static bool test_iova_gt_last(void)
{
	struct env *e = env_new(1);

	WALK(e, 0x2000, 0x1fff, -EINVAL);
	T_ASSERT_EQ(e->w.done, 0x2000);
	env_free(e);
	return true;
}

/* A table the callback cannot read stops the walk where it is needed */
static bool test_enxio(void)
{
	struct env *e = env_new(2);
	u64 a = 0x40000000ULL, b = 0x80100000ULL;
	u64 pt;

	T_ASSERT(tb_map(&e->tb, a, OA_BASE, 0));
	T_ASSERT(tb_map(&e->tb, b + 0x3000, OA_BASE + 0x1000, 0));
	pt = tb_entry_gpa(&e->tb, b, T_PT, false);
	gmem_set_ioas(&e->m, pt, false);
	WALK(e, 0, U64_MAX, -ENXIO);
	T_ASSERT_EQ(e->w.done, b);
	RUNS_ARE(e, { 0, a - 1, 0, 0 }, { a, a + 0xfff, OA_BASE, T_RW },
		 { a + 0x1000, b - 1, 0, 0 });
	/* a walk that does not need that table succeeds */
	WALK(e, 0, b - 1, 0);
	env_free(e);

	/* the third page of a 16 KiB root: entries 1024..1535 */
	e = env_new(1);
	a = 1030ULL << 31;
	T_ASSERT(tb_map(&e->tb, 5ULL << 31, OA_BASE, 0));
	T_ASSERT(tb_map(&e->tb, a, OA_BASE, 0));
	gmem_set_ioas(&e->m, (e->tb.iota & ~0x3fffULL) + 0x2000, false);
	WALK(e, 0, U64_MAX, -ENXIO);
	T_ASSERT_EQ(e->w.done, 1024ULL << 31);
	T_ASSERT(is_run(e, 5ULL << 31, T_RW, OA_BASE));
	WALK(e, 1536ULL << 31, U64_MAX, 0);
	env_free(e);

	/* the root itself, behind a hole of the aperture */
	e = env_new(1);
	gmem_set_ioas(&e->m, e->tb.iota, false);
	e->ap_start = 0x1000;
	WALK(e, 0, U64_MAX, -ENXIO);
	T_ASSERT_EQ(e->w.done, 0x1000);
	RUNS_ARE(e, { 0, 0xfff, 0, 0 });
	env_free(e);
	return true;
}

/* Errors of emit stop the walk, are returned, and done = that run */
static bool test_emit_error(void)
{
	struct env *e = env_new(1);
	u64 a = probe_iova(1);
	struct shadow_s1_run all[5];

	T_ASSERT(tb_map(&e->tb, a, OA_BASE, 0));
	T_ASSERT(tb_map(&e->tb, a + 0x1000, OA_BASE + 0x1000, T_PTE_PROT));
	T_ASSERT(tb_map(&e->tb, a + 0x3000, OA_BASE, 0));
	WALK(e, 0, U64_MAX, 0);
	T_ASSERT_EQ(e->sim.nr_runs, 6);
	memcpy(all, e->sim.runs, sizeof(all));
	for (unsigned long k = 1; k <= 6; k++) {
		e->sim.emit_fail_at = k;
		e->sim.emit_err = k & 1 ? -ENOSPC : -EINTR;
		WALK(e, 0, U64_MAX, e->sim.emit_err);
		T_ASSERT_EQ(e->sim.emit_calls, k);
		T_ASSERT_EQ(e->sim.nr_runs, k - 1);
		T_ASSERT_EQ(e->w.done, k < 6 ? all[k - 1].iova : a + 0x4000);
	}

	/* emit fails on the run flushed before a format error */
	{
		u64 egpa = tb_entry_gpa(&e->tb, a + 0x100000, T_ST, true);

		tb_set(&e->tb, egpa, T_TE_TT(2));
		e->sim.emit_fail_at = 0;
		WALK(e, 0, U64_MAX, -EILSEQ);
		T_ASSERT_EQ(e->w.done, (a & ~0xfffffULL) + 0x100000);
		e->sim.emit_fail_at = e->sim.emit_calls;
		WALK(e, 0, U64_MAX, e->sim.emit_err);
		T_ASSERT_EQ(e->w.done, a + 0x4000);
	}
	env_free(e);
	return true;
}

/* Contiguous leaves merge across page, segment and region tables */
static bool test_merge_across_tables(void)
{
	for (unsigned int lvl = T_ST; lvl <= T_RF; lvl++) {
		struct env *e = env_new(3);
		u64 b = 5 * t_entry_size(lvl);

		/* 2 pages before the boundary, 2 after */
		for (int i = -2; i < 2; i++)
			T_ASSERT(tb_map(&e->tb, b + i * 0x1000LL,
					OA_BASE + (i + 2) * 0x1000ULL, 0));
		WALK(e, 0, U64_MAX, 0);
		RUNS_ARE(e, { 0, b - 0x2001, 0, 0 },
			 { b - 0x2000, b + 0x1fff, OA_BASE, T_RW },
			 { b + 0x2000, U64_MAX, 0, 0 });
		/* a change of permission breaks the run */
		T_ASSERT(tb_map(&e->tb, b, OA_BASE + 0x2000, T_PTE_PROT));
		WALK(e, 0, U64_MAX, 0);
		RUNS_ARE(e, { 0, b - 0x2001, 0, 0 },
			 { b - 0x2000, b - 1, OA_BASE, T_RW },
			 { b, b + 0xfff, OA_BASE + 0x2000, T_RO },
			 { b + 0x1000, b + 0x1fff, OA_BASE + 0x3000, T_RW },
			 { b + 0x2000, U64_MAX, 0, 0 });
		/* so does a discontiguous OA */
		T_ASSERT(tb_map(&e->tb, b, OA_BASE + 0x2000 + 0x10000, 0));
		WALK(e, 0, U64_MAX, 0);
		T_ASSERT_EQ(e->sim.nr_runs, 5);
		env_free(e);
	}
	return true;
}

/* Several tables point at one; tables point at themselves */
static bool test_aliasing(void)
{
	struct env *e = env_new(1);
	u64 a = 0x80000000ULL, s1, s2, r1, r2;

	for (int i = 0; i < 3; i++)
		T_ASSERT(tb_map(&e->tb, a + i * 0x1000ULL,
				OA_BASE + i * 0x1000ULL, 0));
	/* segment entries 1 and 7 share the page table of entry 0 */
	s1 = tb_entry_gpa(&e->tb, a, T_ST, false);
	tb_set(&e->tb, s1 + 8, tb_get(&e->tb, s1));
	tb_set(&e->tb, s1 + 56, tb_get(&e->tb, s1) | T_TE_PROT);
	/* region-third entry 3 shares the segment table of entry 1 */
	r1 = tb_entry_gpa(&e->tb, a, T_RT, false);
	r2 = r1 + 2 * 8;
	tb_set(&e->tb, r2, tb_get(&e->tb, r1));
	WALK(e, 0, U64_MAX, 0);
	for (u64 base = a; base <= 3 * a; base += 2 * a) {
		T_ASSERT(is_run(e, base, T_RW, OA_BASE));
		T_ASSERT(is_run(e, base + 0x100000 + 0x2000, T_RW,
				OA_BASE + 0x2000));
		T_ASSERT(is_run(e, base + 0x700000 + 0x1000, T_RO,
				OA_BASE + 0x1000));
	}
	T_ASSERT_EQ(e->sim.nr_runs, 13);

	/* a segment entry whose page table is its own segment table */
	s2 = s1 + 9 * 8;
	tb_set(&e->tb, s2, T_SEG_ORIGIN(s1));
	WALK(e, 0, U64_MAX, 0);
	/* its PTE 0 is segment entry 0: the page table's address, RW */
	T_ASSERT(is_run(e, a + 0x900000,
			T_RW, T_PTE_FRAME(tb_get(&e->tb, s1))));
	/* PTE 2 is segment entry 2, invalid as a segment entry (0x20) only */
	T_ASSERT(is_run(e, a + 0x902000, T_RW, 0));
	env_free(e);

	/* a region-first root whose entry points at the root itself */
	e = env_new(3);
	r1 = e->tb.iota & ~0x3fffULL;
	tb_set(&e->tb, r1 + 8, r1 | T_TE_TT(3) | T_RTE_TL(3));
	/* RS entry 0 (root entry 0) is invalid, RS entry 1 has TT RF */
	WALK(e, 0, U64_MAX, -EILSEQ);
	T_ASSERT_EQ(e->w.done, (1ULL << 53) + (1ULL << 42));
	env_free(e);

	/* a segment table all of whose entries point at that table */
	e = env_new(0);
	s1 = e->tb.iota & ~0x3fffULL;
	for (int i = 0; i < 2048; i++)
		tb_set(&e->tb, s1 + i * 8ULL, s1 + (i & 7) * 0x800ULL);
	WALK(e, 0, U64_MAX, 0);
	T_ASSERT(e->sim.nr_runs > 2048);
	env_free(e);
	return true;
}

/*
 * The walk keeps its position: one table() call per page of every table
 * it walks, none twice, even for a walk over all of 2^64.
 */
static bool test_keeps_position(void)
{
	struct env *e = env_new(3);
	u64 a = 0x7ffff00000ULL, calls;

	/* 600 pages across 3 page tables and 2 segment tables ... */
	for (int i = 0; i < 600; i++)
		T_ASSERT(tb_map(&e->tb, a + i * 0x1000ULL,
				OA_BASE + i * 0x1000ULL, 0));
	/* ... and a few far away */
	T_ASSERT(tb_map(&e->tb, 1ULL << 60, 0x7000, 0));
	T_ASSERT(tb_map(&e->tb, (1ULL << 50) + 0x1000, 0x9000, 0));
	WALK(e, 0, U64_MAX, 0);
	RUNS_ARE(e, { 0, a - 1, 0, 0 },
		 { a, a + 600 * 0x1000ULL - 1, OA_BASE, T_RW },
		 { a + 600 * 0x1000ULL, (1ULL << 50) + 0xfff, 0, 0 },
		 { (1ULL << 50) + 0x1000, (1ULL << 50) + 0x1fff, 0x9000,
		   T_RW },
		 { (1ULL << 50) + 0x2000, (1ULL << 60) - 1, 0, 0 },
		 { 1ULL << 60, (1ULL << 60) + 0xfff, 0x7000, T_RW },
		 { (1ULL << 60) + 0x1000, U64_MAX, 0, 0 });
	/* 16 KiB tables: 4 pages each; 2 KiB page tables: 1 page */
	calls = 4ULL * (e->tb.nr_by_lvl[T_RF] + e->tb.nr_by_lvl[T_RS] +
			e->tb.nr_by_lvl[T_RT] + e->tb.nr_by_lvl[T_ST]) +
		e->tb.nr_by_lvl[T_PT];
	T_ASSERT_EQ(e->tb.nr_by_lvl[T_PT], 5);
	T_ASSERT_EQ(e->sim.table_calls, calls);

	/* a sub-range: only the tables it touches, one page each */
	WALK(e, a + 0x80000, a + 0x17ffff, 0);
	/* RF, RS, RT; a + 1 MiB is 2^39: 2 segment tables, 2 page tables */
	T_ASSERT_EQ(e->sim.table_calls, 3 + 2 + 2);

	/* callbacks that give fewer entries: never more than one per entry */
	e->sim.nr_mode = 1;
	WALK(e, a, a + 600 * 0x1000ULL - 1, 0);
	/* RF, RS, 2 RT entries, 3 segment entries, 600 PTEs */
	T_ASSERT_EQ(e->sim.table_calls, 1 + 1 + 2 + 3 + 600);
	e->sim.nr_mode = 2;
	WALK(e, 0, U64_MAX, 0);
	env_free(e);
	return true;
}

/* Randomized tables and walks against the reference model */
struct rnd_cfg {
	u64 seed;
	unsigned int iters;
};

static u64 rnd_iova(u64 *rng, struct env *e, u64 *clusters, int nclusters)
{
	u64 r = rnd64(rng);

	switch (r % 4) {
	case 0:
		return rnd64(rng) & reach_last(e->tb.dt);
	default:
		return (clusters[(r >> 8) % nclusters] +
			((rnd64(rng) % 4096) << 12)) & reach_last(e->tb.dt);
	}
}

static void rnd_build(u64 *rng, struct env *e, u64 *clusters, int nclusters)
{
	static const u64 te_bits[] = {
		T_TE_INVALID, T_TE_PROT, T_TE_TT(1), T_TE_TT(2), T_RTE_TF(1),
		T_RTE_TF(2), T_RTE_TL(1), T_RTE_TL(2), T_STE_FC,
	};
	int nmaps = 1 + rnd64(rng) % 40, nmut = rnd64(rng) % 8;

	for (int i = 0; i < nclusters; i++) {
		u64 r = rnd64(rng);

		/* cluster bases near table boundaries half of the time */
		clusters[i] = r & 1 ? (r & ~((1ULL << (20 + 11 * (r >> 1 & 3))) - 1)) -
				       0x8000 : r;
		clusters[i] &= reach_last(e->tb.dt) & ~0xfffULL;
	}
	for (int i = 0; i < nmaps; i++) {
		u64 iova = rnd_iova(rng, e, clusters, nclusters);
		u64 oa = rnd64(rng) & ~0xfffULL;
		int n = 1 + rnd64(rng) % 300;
		u64 flags = rnd64(rng) % 5 == 0 ? T_PTE_PROT : 0;

		if (rnd64(rng) % 8 == 0)
			oa = U64_MAX - 0x3fff;
		for (int j = 0; j < n; j++) {
			if (rnd64(rng) % 50 == 0)
				flags ^= T_PTE_PROT;
			if (!tb_map(&e->tb, iova + j * 0x1000ULL,
				    oa + j * 0x1000ULL,
				    rnd64(rng) % 40 ? flags : T_PTE_INVALID))
				break;
		}
	}
	for (int i = 0; i < nmut; i++) {
		u64 iova = rnd_iova(rng, e, clusters, nclusters);
		unsigned int lvl = rnd64(rng) % (tb_top(e->tb.dt) + 1);
		u64 egpa = tb_entry_gpa(&e->tb, iova, lvl, false), t;

		if (egpa == U64_MAX)
			continue;
		switch (rnd64(rng) % 5) {
		case 0:	/* flip a format bit */
		case 1:
			tb_set(&e->tb, egpa, tb_get(&e->tb, egpa) ^
			       te_bits[rnd64(rng) % 9]);
			break;
		case 2:	/* point at another table, any level */
			t = e->tb.tables[rnd64(rng) % e->tb.nr_tables];
			tb_set(&e->tb, egpa, t |
			       (tb_get(&e->tb, egpa) & 0x7ffULL));
			break;
		case 3:	/* a table out of the IOAS */
			gmem_set_ioas(&e->m, e->tb.tables[rnd64(rng) %
							  e->tb.nr_tables],
				      false);
			break;
		default:	/* garbage */
			tb_set(&e->tb, egpa, rnd64(rng));
			break;
		}
	}
}

static bool test_random_vs_reference(void)
{
	u64 rng = 0x5eed5eedULL;
	unsigned int walks = 0;
	time_t start = time(NULL);

	for (unsigned int iter = 0; iter < 400; iter++) {
		unsigned int dt = rnd64(&rng) % 4;
		struct env *e = env_new(dt);
		u64 clusters[4];

		rnd_build(&rng, e, clusters, 4);
		if (rnd64(&rng) % 50 == 0)
			e->tb.iota |= 4ULL << 2;	/* bad DT */
		e->sim.table_budget = 2048;
		for (int k = 0; k < 12; k++) {
			u64 iova, last;
			int ret;

			switch (rnd64(&rng) % 4) {
			case 0:
				iova = 0;
				last = U64_MAX;
				break;
			case 1:
				iova = rnd_iova(&rng, e, clusters, 4);
				last = iova + (rnd64(&rng) % (1ULL << 32));
				if (last < iova)
					last = U64_MAX;
				break;
			case 2:
				iova = rnd_iova(&rng, e, clusters, 4) +
				       rnd64(&rng) % 0x1000;
				last = U64_MAX;
				break;
			default:
				iova = rnd_iova(&rng, e, clusters, 4);
				last = iova + rnd64(&rng) % 0x200000;
				if (last < iova)
					last = U64_MAX;
				break;
			}
			if (rnd64(&rng) % 3 == 0) {
				e->ap_start = rnd_iova(&rng, e, clusters, 4);
				e->ap_last = e->ap_start +
					     rnd64(&rng) % (1ULL << 34);
				if (e->ap_last < e->ap_start)
					e->ap_last = U64_MAX;
			} else {
				e->ap_start = 0;
				e->ap_last = U64_MAX;
			}
			e->sim.nr_mode = rnd64(&rng) % 3;
			e->sim.emit_fail_at = rnd64(&rng) % 4 == 0 ?
					      1 + rnd64(&rng) % 8 : 0;
			if (!env_walk(e, iova, last, &ret)) {
				printf("# seed iteration %u walk %d dt %u\n",
				       iter, k, dt);
				env_free(e);
				return false;
			}
			walks++;
		}
		env_free(e);
		if (time(NULL) - start > 20)
			break;
	}
	printf("# %u random walks checked against the reference\n", walks);
	return walks > 1000;
}

/* Hostile tables: every entry of every table random, all levels aliased */
static bool test_random_garbage(void)
{
	u64 rng = 0xbadc0ffeeULL;
	unsigned int walks = 0;

	for (unsigned int iter = 0; iter < 200; iter++) {
		unsigned int dt = rnd64(&rng) % 4;
		struct env *e = env_new(dt);
		u64 pool = TABLES_BASE;
		int ret;

		/* 8 pages of random entries that point into those pages */
		for (u64 off = 0; off < 8 * 0x1000; off += 8) {
			u64 r = rnd64(&rng);
			u64 v = pool + (r % (8 * 0x1000) & ~0x7ffULL);

			v |= rnd64(&rng) & 0x7ff;
			if (r % 16 == 0)
				v = r;
			tb_set(&e->tb, pool + off, v);
		}
		e->tb.iota = pool | (u64)dt << 2;
		e->sim.table_budget = 512;
		e->sim.nr_mode = rnd64(&rng) % 3;
		if (!env_walk(e, FULL, &ret)) {
			env_free(e);
			return false;
		}
		walks++;
		env_free(e);
	}
	printf("# %u garbage walks\n", walks);
	return true;
}

/* ---------------------------------------------------------------- */

static void run(const char *name, bool (*fn)(void))
{
	bool ok = fn();

	for (unsigned int i = 0; i < 16; i++)
		if (live_envs[i])
			env_free(live_envs[i]);
	printf("%sok %d - %s\n", ok ? "" : "not ", ++tap_nr, name);
	fflush(stdout);
	if (!ok)
		tap_failed++;
}

#define RUN(fn)	run(#fn, fn)

int main(void)
{
	printf("TAP version 13\n");
	RUN(test_format_id);
	RUN(test_root_each_dt);
	RUN(test_check_root);
	RUN(test_bad_root_walk);
	RUN(test_root_ignored_bits);
	RUN(test_invalid_each_level);
	RUN(test_prot_each_level);
	RUN(test_tt_mismatch_each_level);
	RUN(test_tftl);
	RUN(test_ste_fc);
	RUN(test_zero_entries);
	RUN(test_frame_zero);
	RUN(test_aperture);
	RUN(test_max_iova);
	RUN(test_unaligned_range);
	RUN(test_iova_gt_last);
	RUN(test_enxio);
	RUN(test_emit_error);
	RUN(test_merge_across_tables);
	RUN(test_aliasing);
	RUN(test_keeps_position);
	RUN(test_random_vs_reference);
	RUN(test_random_garbage);
	printf("1..%d\n# %d tests, %d failed\n", tap_nr, tap_nr, tap_failed);
	return tap_failed ? 1 : 0;
}
