// SPDX-License-Identifier: GPL-2.0-only
/*
 * Writes the seed corpus of fuzz_s390 into the directory given: inputs
 * with a few mappings each, over every root type, some corrupted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "fuzz_input.h"

#define NR_SEEDS	64

static u8 buf[4096];
static size_t len;

static void put(const void *p, size_t n)
{
	if (len + n > sizeof(buf))
		abort();
	memcpy(buf + len, p, n);
	len += n;
}

static void put8(u8 v)
{
	put(&v, 1);
}

static void put16(u16 v)
{
	put(&v, 2);
}

static void put64(u64 v)
{
	put(&v, 8);
}

int main(int argc, char **argv)
{
	u64 rng = 42;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	for (int i = 0; i < NR_SEEDS; i++) {
		struct fuzz_hdr h = {
			.dt = i % 17 == 16 ? 5 : i % 4,
			.flags = rnd64(&rng) & 0x1f,
			.emit_fail_at = rnd64(&rng) % 6,
			.nr_mode = rnd64(&rng) % 3,
			.sel_iova = rnd64(&rng),
			.sel_last = rnd64(&rng),
			.sel_ap_start = rnd64(&rng),
			.sel_ap_last = rnd64(&rng),
			.raw_iova = rnd64(&rng),
			.raw_last = rnd64(&rng),
			.raw_ap_start = rnd64(&rng),
			.raw_ap_last = rnd64(&rng),
		};
		int nmap = 1 + rnd64(&rng) % 8, nmut = i < 16 ? 0 : rnd64(&rng) % 4;
		u16 base = rnd64(&rng);
		char path[4096];
		FILE *f;

		if (i < 8)
			h.flags = FUZZ_F_FULL_RANGE | FUZZ_F_FULL_APERTURE;
		len = 0;
		put(&h, sizeof(h));
		for (int j = 0; j < nmap; j++) {
			put8(FUZZ_MAP);
			put16(j & 1 ? (u16)(base + j) : (u16)rnd64(&rng));
			put64(rnd64(&rng) & 0xffffffff000ULL);
			put8(rnd64(&rng) % 4 ? 0 : 1);
			put8(rnd64(&rng));
		}
		for (int j = 0; j < nmut; j++) {
			u8 op = 1 + rnd64(&rng) % (FUZZ_NR_OPS - 1);

			put8(op);
			for (unsigned int k = 0; k < fuzz_op_len[op]; k++)
				put8(k == 0 ? rnd64(&rng) % 5 :
				     k < 3 ? (u8)(base >> (8 * (k - 1))) :
				     rnd64(&rng));
		}
		snprintf(path, sizeof(path), "%s/seed-%02d", argv[1], i);
		f = fopen(path, "wb");
		if (!f || fwrite(buf, 1, len, f) != len || fclose(f)) {
			perror(path);
			return 1;
		}
	}
	return 0;
}
