/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Userspace harness of the iommufd shadow stage-1 format walkers.
 *
 * gmem    - simulated guest memory: sparse 4 KiB pages, each either in the
 *           IOAS (readable by the walker) or not (ops->table: -ENXIO).
 * s390_tb - builds s390 zPCI tables for an IOVA -> OA map, and finds the
 *           entries of a path so that tests can corrupt them.
 * ref     - brute-force reference model: translates one IOVA from the root,
 *           written without looking at the walker.
 * sim     - the walk callbacks: record calls and runs, inject errors.
 * check   - every rule of shadow_fmt.h, and equality with the reference.
 */
#ifndef IOMMUFD_SHADOW_HARNESS_H
#define IOMMUFD_SHADOW_HARNESS_H

#include <linux/types.h>
#include <linux/err.h>
#include <linux/limits.h>
#include <linux/iommu.h>

#include <uapi/linux/iommufd.h>

#include "../../../drivers/iommu/iommufd/shadow_fmt.h"

/* s390 format constants of the harness, kept apart from the walker's */
#define T_IOTA_DT(dt)		((u64)(dt) << 2)
#define T_IOTA_ENABLE		0x800ULL
#define T_TE_INVALID		0x20ULL
#define T_TE_PROT		0x200ULL
#define T_TE_TT(tt)		((u64)(tt) << 2)
#define T_TE_TT_MASK		0xcULL
#define T_RTE_TF(tf)		((u64)(tf) << 6)
#define T_RTE_TL(tl)		((u64)(tl))
#define T_RTE_TFTL_MASK		0xc3ULL
#define T_STE_FC		0x400ULL
#define T_PTE_INVALID		0x400ULL
#define T_PTE_PROT		0x200ULL
#define T_REGION_ORIGIN(e)	((e) & ~0x3fffULL)
#define T_SEG_ORIGIN(e)		((e) & ~0x7ffULL)
#define T_PTE_FRAME(e)		((e) & ~0xfffULL)

/* Levels as the tests name them */
enum { T_PT, T_ST, T_RT, T_RS, T_RF };

#define T_RW	(IOMMU_READ | IOMMU_WRITE)
#define T_RO	IOMMU_READ

/* ---- simulated guest memory ---- */
#define GPAGE_SIZE	4096ULL
#define GMEM_BUCKETS	1024

struct gpage {
	u64 gpa;
	bool in_ioas;
	struct gpage *next;
	u64 data[GPAGE_SIZE / 8];	/* big-endian guest bytes */
};

struct gmem {
	struct gpage *buckets[GMEM_BUCKETS];
	unsigned int nr_pages;
	unsigned int max_pages;
};

void gmem_init(struct gmem *m, unsigned int max_pages);
void gmem_free(struct gmem *m);
struct gpage *gmem_find(struct gmem *m, u64 gpa);
struct gpage *gmem_get(struct gmem *m, u64 gpa);
bool gmem_write(struct gmem *m, u64 gpa, u64 val);
u64 gmem_read(struct gmem *m, u64 gpa);
void gmem_set_ioas(struct gmem *m, u64 gpa, bool in_ioas);

/* ---- s390 table builder ---- */
struct s390_tb {
	struct gmem *m;
	u64 iota;
	unsigned int dt;
	u64 next;	/* bump allocator of table memory */
	u64 limit;
	/* every table allocated, for tests that alias or remove them */
#define TB_MAX_TABLES	4096
	u64 tables[TB_MAX_TABLES];
	u8 table_lvl[TB_MAX_TABLES];
	unsigned int nr_tables;
	unsigned int nr_by_lvl[5];
};

bool tb_init(struct s390_tb *tb, struct gmem *m, unsigned int dt, u64 base,
	     u64 size);
u64 tb_alloc(struct s390_tb *tb, unsigned int lvl);
bool tb_map(struct s390_tb *tb, u64 iova, u64 oa, u64 pte_flags);
u64 tb_entry_gpa(struct s390_tb *tb, u64 iova, unsigned int lvl,
		 bool create);
u64 tb_get(struct s390_tb *tb, u64 gpa);
void tb_set(struct s390_tb *tb, u64 gpa, u64 val);
unsigned int tb_top(unsigned int dt);
u64 t_entry_size(unsigned int lvl);

/* ---- reference model ---- */
struct ref_xlate {
	int err;	/* 0, -EILSEQ or -ENXIO */
	u32 prot;	/* 0: hole */
	u64 oa;
	u64 block_last;	/* the same verdict holds up to here (holes) */
	/* with err: enum iommu_shadow_fault, level and address at fault */
	u32 reason;
	u32 level;
	u64 addr;
};

struct ref_xlate ref_translate(struct gmem *m, u64 iota, u64 ap_start,
			       u64 ap_last, u64 iova);

/* GPAs of the entries a translation read, root first (the sync tests) */
#define REF_PATH_MAX	5
struct ref_path {
	unsigned int nr;
	u64 gpa[REF_PATH_MAX];
};

struct ref_xlate ref_translate_path(struct gmem *m, u64 iota, u64 ap_start,
				    u64 ap_last, u64 iova,
				    struct ref_path *path);

/* ---- walk callbacks ---- */
struct sim_call {
	u64 gpa;
	u64 iova;
	u64 last;
};

struct sim {
	struct gmem *m;
	/* table() */
	unsigned int nr_mode;	/* 0: to end of page, 1: one entry, 2: random */
	u64 rng;
	unsigned long table_calls;
	unsigned long table_budget;	/* 0: none; then ERR_PTR(-ECANCELED) */
	struct sim_call *calls;
	unsigned long calls_cap;
	const char *table_violation;
	/* emit() */
	struct shadow_s1_run *runs;
	unsigned long nr_runs, runs_cap;
	unsigned long emit_calls;
	unsigned long emit_fail_at;	/* 1-based emit call to fail; 0 never */
	unsigned long emit_budget;	/* 0: none; then -ECANCELED */
	int emit_err;
	struct shadow_s1_run failed_run;
	bool emit_failed;
	bool emit_after_fail;
};

extern const struct shadow_s1_walk_ops sim_ops;

void sim_init(struct sim *sim, struct gmem *m);
void sim_reset(struct sim *sim);
void sim_free(struct sim *sim);
int sim_walk(const struct shadow_s1_format *fmt, struct sim *sim,
	     struct shadow_s1_walk *w, u64 iota, u64 ap_start, u64 ap_last,
	     u64 iova, u64 last);

/* Returns NULL when every rule holds, else what broke (static string) */
const char *check_walk(struct sim *sim, const struct shadow_s1_walk *w,
		       u64 iova, u64 last, int ret, bool unique_calls);
extern char check_msg[512];

/* ---- misc ---- */
u64 rnd64(u64 *state);

#endif
