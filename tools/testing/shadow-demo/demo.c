// SPDX-License-Identifier: GPL-2.0-only
/*
 * iommufd shadow nesting, narrated, on a real IOMMU driver
 *
 * Plays a VMM whose guest is an s390 Linux with a PCI device: the guest's
 * DMA translation tables (s390 zPCI format) live in guest RAM, the host
 * IOMMU is QEMU's emulated Intel VT-d, which cannot nest, and the device
 * is QEMU's "edu" DMA engine. The kernel shadows the guest tables into an
 * ordinary VT-d domain; every step drives a real DMA through it and says
 * what happened and why. Runs in the "vtd" VM:
 *
 *   gcc -static -O2 -D_GNU_SOURCE -isystem <uapi headers> -o demo demo.c
 *   scripts/vm-run.sh -p vtd -t 120 demo [-a]
 *
 * -a allocates the shadow with pt_id = the IOAS (the kernel finds the
 * stage-2 parent) instead of the NEST_PARENT HWPT QEMU allocates.
 * Output is for a person: one line per event, the library's own narration
 * (one line per ioctl) indented with "|".
 * Exit status 0 only if every step behaved as expected.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "../selftests/iommu/shadow_edu_lib.h"
#include "../selftests/iommu/shadow_s390_lib.h"
#include "../selftests/iommu/shadow_vfio_lib.h"

#define PAGE		0x1000UL
#define FILL		0x5a
#define GPA_BASE	0x1000000ULL	/* guest RAM: 64 pages at 16 MiB */
#define G_PAGES		64
#define G_SIZE		(G_PAGES * PAGE)
#define TBL_PAGE	32		/* pages 32..61 hold the tables */
#define TBL_PAGES	30
#define PG_GONE		63		/* its own IOAS area: unmapped later */
#define GPA(pg)		(GPA_BASE + (uint64_t)(pg) * PAGE)
#define AP_START	0x400000ULL	/* stage-1 aperture */
#define AP_LAST		EDU_DMA_MASK
#define S1_IN		0x600000ULL	/* -> page 1: the edu's input */
#define S1_DATA		0x800000ULL	/* -> page 5, later page 6 */
#define S1_COPY		0x801000ULL	/* -> page 3 */
#define S1_RO		0x900000ULL	/* -> page 7, read-only */
#define S1_GONE		0xa00000ULL	/* -> page 63 */

#include "narrate.h"

static int iommufd = -1, kmsg = -1;
static struct vfio_pci_dev dev = { .fd = -1 };
static char rid[16];
static struct s390_tables tbl;
static uint32_t ioas_id, parent_id, shadow_id;

/* "GPA 0x1005000: 48 65 6c 6c ... |Hello...|" */
static void show(const char *what, unsigned int pg, size_t off)
{
	const uint8_t *p = page(pg) + off;
	char hex[64], asc[17];
	int i, n = 0;

	for (i = 0; i < 16; i++) {
		n += snprintf(hex + n, sizeof(hex) - n, "%02x ", p[i]);
		asc[i] = p[i] >= 0x20 && p[i] < 0x7f ? p[i] : '.';
	}
	asc[16] = 0;
	printf("   %-6s GPA 0x%llx: %s|%s|\n", what,
	       (unsigned long long)GPA(pg) + off, hex, asc);
}

/* Put @msg in page 1 and let the edu read it into its buffer (via S1_IN) */
static int load(const char *msg)
{
	size_t len = strlen(msg) + 1;
	int ret;

	memcpy(page(1), msg, len);
	memcpy(before + PAGE, msg, len);
	quiet = true;
	ret = edu_dma_from_ram(dev.bar0, S1_IN, 0, len);
	quiet = false;
	return ret;
}

/* A DMA that must fault: quote the kernel's DMAR line, check memory */
static bool expect_fault(bool to_ram, uint64_t iova, uint32_t len)
{
	char line[256];
	int ret, pg;

	ret = edu_dma_fault(dev.bar0, kmsg, rid, to_ram, 0, iova, len, line,
			    sizeof(line));
	if (ret) {
		printf("   no DMAR fault for IOVA 0x%llx: %s\n",
		       (unsigned long long)iova, strerror(-ret));
		return false;
	}
	printf("   kernel log: %s\n", line);
	pg = changed_page(-1);
	if (pg != -1)
		printf("   guest RAM CHANGED (page %d)\n", pg);
	return pg == -1;
}

static int setup(bool auto_parent)
{
	struct iommu_hw_info_vtd vtd = {};
	uint32_t type, pt_id;
	uint64_t caps, iota;
	char bdf[32];
	int ret;

	printf("== Setup: the VMM side ==\n");
	ret = pci_find_device(EDU_VENDOR, EDU_DEVICE, bdf, sizeof(bdf));
	if (ret)
		return fail("finding the edu device (run in the vtd VM)", ret);
	dmar_rid(bdf, rid, sizeof(rid));
	quiet = true;
	ret = pci_bind_vfio(bdf);
	if (ret)
		return fail("binding vfio-pci", ret);
	iommufd = iommufd_open();
	if (iommufd < 0)
		return fail("opening /dev/iommu", iommufd);
	ret = iommufd_ioas_alloc(iommufd, &ioas_id);
	if (!ret)
		ret = vfio_pci_open(&dev, bdf);
	if (!ret)
		ret = vfio_bind_iommufd(&dev, iommufd);
	if (!ret)
		ret = iommufd_get_hw_info(iommufd, dev.dev_id, &vtd,
					  sizeof(vtd), &type, &caps);
	if (ret)
		return fail("binding the device to iommufd", ret);
	quiet = false;
	printf("   edu DMA engine %s, vfio-pci cdev, iommufd device %u\n", bdf,
	       dev.dev_id);
	printf("   IOMMU: %s, %llu-bit IOVAs, hardware nesting: none; shadow nesting: %s\n",
	       type == IOMMU_HW_INFO_TYPE_INTEL_VTD ? "Intel VT-d" : "other",
	       ((vtd.cap_reg >> 16) & 0x3f) + 1ULL,
	       caps & IOMMU_HW_CAP_SHADOW_NESTING ? "yes" : "NO");

	ram = guest_ram_alloc(G_SIZE);
	before = malloc(G_SIZE);
	if (!ram || !before)
		return fail("allocating guest RAM", ENOMEM);
	memset(ram, FILL, G_SIZE);
	printf("   guest RAM: %lu KiB memfd at GPA 0x%llx, IOAS %u (last page as its own area):\n",
	       G_SIZE / 1024, (unsigned long long)GPA_BASE, ioas_id);
	ret = iommufd_ioas_map_fixed(iommufd, ioas_id, ram, PG_GONE * PAGE,
				     GPA_BASE, false);
	if (!ret)
		ret = iommufd_ioas_map_fixed(iommufd, ioas_id, page(PG_GONE),
					     PAGE, GPA(PG_GONE), false);
	if (ret)
		return fail("IOMMU_IOAS_MAP", ret);

	if (auto_parent) {
		pt_id = ioas_id;
		printf("   stage-2 parent: found or made by the kernel on IOAS %u\n",
		       ioas_id);
	} else {
		ret = iommufd_nest_parent_alloc(iommufd, dev.dev_id, ioas_id,
						&parent_id);
		if (ret)
			return fail("IOMMU_HWPT_ALLOC(NEST_PARENT)", ret);
		pt_id = parent_id;
	}

	printf("\n== The guest builds its s390 DMA tables in its RAM ==\n");
	s390_tbl_init(&tbl, page(TBL_PAGE), GPA(TBL_PAGE), TBL_PAGES * PAGE);
	ret = s390_tbl_new_root(&tbl, &iota);
	if (!ret)
		ret = s390_tbl_map(&tbl, S1_IN, GPA(1), false);
	if (!ret)
		ret = s390_tbl_map(&tbl, S1_DATA, GPA(5), false);
	if (!ret)
		ret = s390_tbl_map(&tbl, S1_COPY, GPA(3), false);
	if (!ret)
		ret = s390_tbl_map(&tbl, S1_RO, GPA(7), true);
	if (!ret)
		ret = s390_tbl_map(&tbl, S1_GONE, GPA(PG_GONE), false);
	if (ret)
		return fail("building the tables", ret);
	printf("   (every other IOVA is invalid; no IOVA equals its GPA)\n");

	printf("\n== The VMM shadows them and attaches the device ==\n");
	ret = iommufd_shadow_alloc(iommufd, dev.dev_id, pt_id,
				   IOMMU_SHADOW_FORMAT_S390, iota, AP_START,
				   AP_LAST, &shadow_id);
	if (ret)
		return fail("IOMMU_HWPT_ALLOC(IOMMU_HWPT_DATA_SHADOW)", ret);
	pt_id = shadow_id;
	ret = vfio_attach_pt(&dev, &pt_id);
	if (ret)
		return fail("VFIO_DEVICE_ATTACH_IOMMUFD_PT", ret);
	quiet = true;
	ret = vfio_enable_bus_master(&dev);
	if (!ret)
		ret = vfio_mmap_bar0(&dev);
	if (!ret)
		ret = edu_check(dev.bar0, NULL);
	if (ret)
		return fail("starting the edu", ret);
	kmsg = kmsg_open();
	if (kmsg < 0)
		return fail("opening /dev/kmsg", kmsg);
	quiet = false;
	return 0;
}

int main(int argc, char **argv)
{
	static const char msg1[] = "Hello from the edu, via IOVA 0x800000!";
	static const char msg2[] = "Second write, after the guest's RPCIT";
	static const char ro_msg[] = "read-only guest data (page 7)";
	bool auto_parent = argc > 1 && !strcmp(argv[1], "-a");
	uint64_t unmapped;
	int ok, ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("iommufd shadow nesting demo: s390 guest DMA tables on Intel VT-d\n");
	shadow_lib_set_log(lib_log, NULL);
	if (setup(auto_parent)) {
		printf("\nSetup failed: 0 of 6 steps run\n");
		return 1;
	}

	step("the device writes at IOVA 0x%llx", (unsigned long long)S1_DATA);
	ok = !load(msg1);
	show("before", 5, 0);
	ok &= !edu_dma_to_ram(dev.bar0, 0, S1_DATA, sizeof(msg1));
	show("after", 5, 0);
	ok &= !memcmp(page(5), msg1, sizeof(msg1)) && changed_page(-1) == 5;
	verdict(ok, "the bytes landed in GPA page 0x1005000, as the tables say, and nowhere else");

	step("the guest points IOVA 0x800000 at GPA 0x1006000 and refreshes");
	ok = !s390_tbl_map(&tbl, S1_DATA, GPA(6), false);
	memcpy(before, ram, G_SIZE);
	ok &= !iommufd_shadow_invalidate(iommufd, shadow_id, S1_DATA, PAGE);
	ok &= !load(msg2);
	ok &= !edu_dma_to_ram(dev.bar0, 0, S1_DATA, sizeof(msg2));
	show("after", 6, 0);
	show("old", 5, 0);
	ok &= !memcmp(page(6), msg2, sizeof(msg2)) && changed_page(-1) == 6;
	verdict(ok, "the DMA followed the new mapping; the old page kept its bytes");

	step("the guest marks IOVA 0x800000 invalid and refreshes; the device writes there anyway");
	ok = !s390_tbl_unmap(&tbl, S1_DATA);
	memcpy(before, ram, G_SIZE);
	ok &= !iommufd_shadow_invalidate(iommufd, shadow_id, S1_DATA, PAGE);
	ok &= !load("this must not land anywhere");
	ok &= expect_fault(true, S1_DATA, 28);
	verdict(ok, "no translation any more: VT-d blocked the write, guest RAM unchanged");

	step("the device writes at IOVA 0x900000, which the guest mapped read-only");
	memcpy(page(7), ro_msg, sizeof(ro_msg));
	memcpy(before, ram, G_SIZE);
	ok = !load("overwrite attempt");
	ok &= expect_fault(true, S1_RO, 18);
	show("still", 7, 0);
	verdict(ok, "the shadow maps it read-only, as the guest asked");

	step("the device reads IOVA 0x900000 and writes a copy at IOVA 0x801000");
	ok = !edu_dma_from_ram(dev.bar0, S1_RO, 0, sizeof(ro_msg));
	ok &= !edu_dma_to_ram(dev.bar0, 0, S1_COPY, sizeof(ro_msg));
	show("copy", 3, 0);
	ok &= !memcmp(page(3), ro_msg, sizeof(ro_msg)) && changed_page(-1) == 3;
	verdict(ok, "reads through a read-only mapping work (GPA page 7 -> page 3)");

	step("the VMM unmaps GPA 0x103f000 (behind IOVA 0xa00000) from the IOAS");
	ok = !iommufd_ioas_unmap(iommufd, ioas_id, GPA(PG_GONE), PAGE,
				 &unmapped);
	memset(page(PG_GONE), 0xc3, PAGE);	/* sentinel in the old page */
	memcpy(before, ram, G_SIZE);
	ok &= !load("late DMA after unmap");
	ok &= expect_fault(true, S1_GONE, 21);
	show("old", PG_GONE, 0);
	verdict(ok, "the shadow entry went with the IOAS mapping; the old page kept its sentinel");

	ret = summary();
	vfio_pci_close(&dev);
	close(kmsg);
	close(iommufd);
	return ret;
}
