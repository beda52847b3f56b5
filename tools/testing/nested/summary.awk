# SPDX-License-Identifier: GPL-2.0
# Summary of QEMU's trace in the nested rig's L1 (busybox awk):
#   awk -v marks=MARKS -f summary.awk TRACE
# MARKS: "begin|end PHASE TRACE_LINES CPU_TICKS UPTIME" lines L1 wrote when
# the guest printed "NT: mark ..."; a trace line belongs to the innermost
# phase open when it was written. TRACE: -trace 's390_pci_*' -trace
# 'iommufd_backend_*' -D output (with or without -msg timestamp=on).
# Prints "R: q ..." lines, per phase and mode (stock|shadow): RPCITs, their
# QEMU duration (sum, max, and by refresh size: 1 page, 2-15, 16 or more),
# condition codes (cc1_st16: cc 1 status 16), invalidations, IOAS map/unmap
# calls, QEMU CPU ticks.
function push(n) { stk[++sp] = n }
function pop(n) { if (sp > 0) sp-- }
function phase() { return sp > 0 ? stk[sp] : "boot" }
function add(ph, mode, key, v) {
	val[ph SUBSEP mode SUBSEP key] += v
	val["all" SUBSEP mode SUBSEP key] += v
	if (!((ph, mode) in seen)) { seen[ph, mode] = 1; order[++nph] = ph SUBSEP mode }
}
function bucket(pages) { return pages <= 1 ? "p1" : pages < 16 ? "p2_15" : "p16" }
function modeof(fh) { return (fh in fhmode) ? fhmode[fh] : "unknown" }
BEGIN {
	while ((getline l < marks) > 0) {
		split(l, f, " ")
		mk[++nm] = f[1]; mn[nm] = f[2]; ml[nm] = f[3]
		# A phase may run more than once (the benchmark's A B B A B A A B): add up
		if (f[1] == "begin") { cpu0[f[2]] = f[4]; up0[f[2]] = f[5] }
		else if (f[2] in cpu0) {
			if (!(f[2] in ticks)) pnames[++npn] = f[2]
			ticks[f[2]] += f[4] - cpu0[f[2]]
			secs[f[2]] += f[5] - up0[f[2]]
		}
	}
	p = 1
}
{
	while (p <= nm && ml[p] < FNR) {
		if (mk[p] == "begin") push(mn[p]); else pop(mn[p])
		p++
	}
	sub(/^[0-9]+@[0-9.]+:/, "")
	ph = phase()
	ev = $1
}
ev == "s390_pci_shadow_mode" { sub(/^s390_pci_shadow_mode /, ""); print "R: q plug " $0; next }
ev == "s390_pci_shadow_ram_ref" { ramioas = $3; next }
ev == "s390_pci_shadow_ram" { ramcalls++; if ($9 != 0) ramerr++; next }
ev == "s390_pci_reg_ioat" {
	fhmode[$3] = $11
	add(ph, $11, "reg", 1)
	if ($13 != 0) add(ph, $11, "reg_err", 1)
	if ($11 == "shadow") booted = 1
	next
}
ev == "s390_pci_dereg_ioat" { add(ph, $5, "dereg", 1); next }
ev == "s390_pci_shadow_alloc" { add(ph, "shadow", "alloc", 1); if ($9 != 0) add(ph, "shadow", "alloc_err", 1); next }
ev == "s390_pci_shadow_free" { add(ph, "shadow", "free", 1); next }
ev == "s390_pci_rpcit" {
	fhmode[$3] = $9
	cur[$3] = 0
	pages[$3] = int((strtonum_hex($7) + 4095) / 4096)
	add(ph, $9, "rpcit", 1)
	next
}
ev == "s390_pci_shadow_invalidate" {
	cur[$3]++
	add(ph, "shadow", "inv", 1)
	if ($11 != 0) add(ph, "shadow", "inv_err", 1)
	next
}
ev == "iommufd_backend_invalidate_hwpt" { add(ph, "shadow", "hwpt_inv", 1); next }
ev == "s390_pci_rpcit_done" {
	m = $5; ns = $11; b = bucket(pages[$3])
	add(ph, m, "ns", ns)
	add(ph, m, b "_n", 1)
	add(ph, m, b "_ns", ns)
	if (ns > val[ph SUBSEP m SUBSEP "ns_max"]) val[ph SUBSEP m SUBSEP "ns_max"] = ns
	if (ns > val["all" SUBSEP m SUBSEP "ns_max"]) val["all" SUBSEP m SUBSEP "ns_max"] = ns
	if ($7 != 0 || $9 != 0) add(ph, m, "cc_bad", 1)
	# cc 1 status 16: insufficient resources, the guest may retry
	if ($7 == 1 && $9 == 16) add(ph, m, "cc1_st16", 1)
	# The shadow path must make exactly one IOMMU_HWPT_INVALIDATE per RPCIT
	if (m == "shadow" && cur[$3] != 1) add(ph, m, "inv_not_1", 1)
	next
}
ev == "iommufd_backend_map_dma" || ev == "iommufd_backend_unmap_dma" {
	split($3, a, "=")
	ioas = a[2]
	k = ev == "iommufd_backend_map_dma" ? "map" : "unmap"
	n_io[k, ioas]++
	if (!(ioas in ioases)) { ioases[ioas] = 1; ioasl[++nio] = ioas }
	if (booted) after[k, ioas]++
	add(ph, "any", k, 1)
	next
}
# awk has no portable hex parser: busybox and gawk both take 0x in strtonum
# only sometimes, so do it by hand
function strtonum_hex(s,    i, c, v) {
	sub(/^0x/, "", s)
	v = 0
	for (i = 1; i <= length(s); i++) {
		c = index("0123456789abcdef", tolower(substr(s, i, 1))) - 1
		v = v * 16 + c
	}
	return v
}
END {
	keys = "rpcit ns ns_max cc_bad cc1_st16 inv inv_err hwpt_inv inv_not_1 map unmap reg reg_err dereg alloc alloc_err free p1_n p1_ns p2_15_n p2_15_ns p16_n p16_ns"
	nk = split(keys, kl, " ")
	order[++nph] = "all" SUBSEP "stock"
	order[++nph] = "all" SUBSEP "shadow"
	order[++nph] = "all" SUBSEP "any"
	for (i = 1; i <= nph; i++) {
		split(order[i], pm, SUBSEP)
		line = ""
		for (j = 1; j <= nk; j++) {
			v = val[pm[1] SUBSEP pm[2] SUBSEP kl[j]]
			if (v != "" && v != 0) line = line " " kl[j] "=" v
		}
		print "R: q phase=" pm[1] " mode=" pm[2] line
	}
	for (i = 1; i <= npn; i++) {
		n = pnames[i]
		printf "R: q cpu phase=%s ticks=%d secs=%.2f\n", n, ticks[n], secs[n]
	}
	line = ""
	for (i = 1; i <= nio; i++) {
		io = ioasl[i]
		line = line sprintf(" ioas%d=%d/%d/%d/%d", io, n_io["map", io], n_io["unmap", io],
				    after["map", io], after["unmap", io])
	}
	printf "R: q ioas ram_ioas=%s ram_maps=%d ram_err=%d (map/unmap/map_after_boot/unmap_after_boot)%s\n",
		ramioas == "" ? "none" : ramioas, ramcalls, ramerr, line
	printf "R: q ram_ioas_maps_after_boot=%d\n", ramioas == "" ? 0 : after["map", ramioas]
}
