// SPDX-License-Identifier: GPL-2.0-only
/*
 * iommufd shadow nesting, narrated, on its first customer: s390x zPCI
 *
 * Plays a VMM on an s390x host whose guest is an s390 Linux with a zPCI
 * function passed through: the guest's DMA translation tables (s390 zPCI
 * format, big-endian, native here) live in guest RAM, the host IOMMU is
 * the real s390-iommu driver, which cannot nest, and the device is QEMU's
 * virtio-rng behind "-device zpci": a DMA engine that writes random bytes
 * wherever its driver posts a buffer. The kernel shadows the guest tables
 * into an ordinary s390-iommu domain, which QEMU's zPCI model walks after
 * the refreshes (RPCITs) the driver issues; every step drives a real DMA
 * through it, or counts the refreshes, and says what happened and why.
 * Runs in the "s390" VM (make run ARCH=s390):
 *
 *   scripts/vm-run.sh -p s390 -t 300 build/tests-s390/demo_s390
 *
 * Output is for a person: one line per event, the library's own narration
 * (one line per ioctl) indented with "|". Exit status 0 only if every
 * step behaved as expected.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "../selftests/iommu/shadow_s390_lib.h"
#include "../selftests/iommu/virtio_rng_lib.h"

#define PAGE		0x1000UL
#define FILL		0x5a
#define G_PAGES		64		/* guest RAM: 256 KiB */
#define G_SIZE		(G_PAGES * PAGE)
#define TBL_PAGE	32		/* pages 32..61 hold the tables */
#define TBL_PAGES	30
#define PG_GONE		63		/* its own IOAS area: unmapped later */
#define PG_DESC		2		/* the virtqueue's rings */
#define PG_USED		3
#define PG_AVAIL	4
#define PG_DATA		5
#define PG_RO		7
#define AP_OFFSET	0x10000000ULL	/* shadow aperture above guest RAM */
#define AP_SIZE		0x10000000ULL
/* Stage-1 IOVAs, as offsets from the shadow aperture's start */
#define S1_DESC		0x000000ULL	/* -> page 2 */
#define S1_AVAIL	0x001000ULL	/* -> page 4 */
#define S1_USED		0x002000ULL	/* -> page 3 */
#define S1_DATA		0x100000ULL	/* -> page 5 */
#define S1_RO		0x300000ULL	/* -> page 7, read-only */
#define S1_GONE		0x400000ULL	/* -> page 63 */
#define S1_SCAT		0x200000ULL	/* + 5 pages * i -> page 14 + i */
#define SCAT_N		16
#define SCAT_STEP	5
#define SCAT_WIN	((SCAT_N - 1) * SCAT_STEP + 1)
#define DMA_LEN		256
#define USED_WAIT_MS	2000
#define EVENT_WAIT_MS	3000

#include "narrate.h"

static int iommufd = -1, kmsg = -1, errfd = -1;
static struct vfio_pci_dev dev = { .fd = -1 };
static struct vio vio;
static char bdf[32];
static struct s390_tables tbl;
static uint64_t gpa_base, ap_start;
static uint32_t ioas_id, shadow_id;
static struct zpci_iommu_stats stats;	/* last reading */
static bool have_stats;

static uint64_t gpa(unsigned int pg)
{
	return gpa_base + (uint64_t)pg * PAGE;
}

static uint64_t s1(uint64_t off)
{
	return ap_start + off;
}

/* "GPA 0x100005000: 5a 5a ..." (16 bytes) */
static void show(const char *what, unsigned int pg, size_t off)
{
	const uint8_t *p = page(pg) + off;
	char hex[64];
	int i, n = 0;

	for (i = 0; i < 16; i++)
		n += snprintf(hex + n, sizeof(hex) - n, "%s%02x", i ? " " : "",
			      p[i]);
	printf("   %-6s GPA 0x%llx: %s\n", what,
	       (unsigned long long)gpa(pg) + off, hex);
}

/*
 * The s390-iommu counters since the last reading, printed; false when
 * they cannot be read (then the step cannot show its refreshes).
 */
static bool read_counters(struct zpci_iommu_stats *d)
{
	struct zpci_iommu_stats now;
	int ret;

	memset(d, 0, sizeof(*d));
	ret = zpci_stats_read(bdf, &now);
	if (ret || !have_stats) {
		printf("   s390-iommu counters: unreadable (%s)\n",
		       strerror(ret ? -ret : ENODATA));
		return false;
	}
	zpci_stats_delta(d, &stats, &now);
	stats = now;
	printf("   s390-iommu counters: mapped pages +%llu, unmapped pages +%llu; RPCITs: Sync Map +%llu, Sync +%llu, Global +%llu\n",
	       (unsigned long long)d->mapped_pages,
	       (unsigned long long)d->unmapped_pages,
	       (unsigned long long)d->sync_map_rpcits,
	       (unsigned long long)d->sync_rpcits,
	       (unsigned long long)d->global_rpcits);
	return true;
}

static bool counters_are(const struct zpci_iommu_stats *d, uint64_t mapped,
			 uint64_t unmapped, uint64_t sync_map, uint64_t sync)
{
	return d->mapped_pages == mapped && d->unmapped_pages == unmapped &&
	       d->sync_map_rpcits == sync_map && d->sync_rpcits == sync &&
	       !d->global_rpcits;
}

static void counters_reset(void)
{
	have_stats = !zpci_stats_read(bdf, &stats);
}

/* The guest's RPCIT for [off, off + len) of its IOVA space, via the VMM */
static bool rpcit(uint64_t off, uint64_t len)
{
	int ret = iommufd_shadow_invalidate(iommufd, shadow_id, s1(off), len);

	if (ret)
		printf("   IOMMU_HWPT_INVALIDATE failed: %s\n", strerror(-ret));
	return !ret;
}

/* Post a buffer of DMA_LEN bytes at IOVA @off + 0x100 and wait for it */
static int rng(uint64_t off, unsigned int wait_ms)
{
	uint32_t id, len;
	int ret;

	quiet = true;
	ret = vio_post(&vio, 0, s1(off) + 0x100, DMA_LEN);
	quiet = false;
	if (ret)
		return ret;
	memcpy(before + PG_DESC * PAGE, page(PG_DESC), PAGE);
	memcpy(before + PG_AVAIL * PAGE, page(PG_AVAIL), PAGE);
	ret = vio_wait_used(&vio, wait_ms, &id, &len);
	if (ret)
		return ret;
	return len;
}

/* A buffer the IOMMU must refuse: say what the driver and kernel see */
static bool refused(uint64_t off)
{
	struct zpci_observation o;
	unsigned int i;
	int ret, pg;

	say("device", "virtio-rng gets a %u-byte buffer at IOVA 0x%llx",
	    DMA_LEN, (unsigned long long)s1(off) + 0x100);
	ret = rng(off, USED_WAIT_MS);
	if (ret >= 0)
		say("driver", "the buffer came back, %d bytes written", ret);
	else if (ret == -ETIMEDOUT)
		say("driver", "no used element after %u ms: the device never completed the buffer",
		    USED_WAIT_MS);
	else
		say("driver", "posting the buffer failed: %s", strerror(-ret));
	zpci_observe(&vio, kmsg, errfd, EVENT_WAIT_MS, &o);
	if (o.status_ret)
		say("driver", "reading the device status fails: %s (the function is blocked)",
		    strerror(-o.status_ret));
	else
		say("driver", "device status 0x%02x%s", o.status,
		    o.status == 0xff ? " (all ones: loads are blocked)" : "");
	if (o.event_ret)
		say("kernel", "no zPCI error event");
	else
		say("kernel", "%s", o.event);
	for (i = 0; i < o.nr_more; i++)
		say("kernel", "%s", o.more[i]);
	/* The used ring is the device's to write */
	pg = changed_page(PG_USED);
	if (pg != -1)
		say("memory", "guest RAM CHANGED (page %d)", pg);
	else
		say("memory", "guest RAM unchanged");
	return ret == -ETIMEDOUT && !o.event_ret && pg == -1;
}

/*
 * Open the function, bind it to iommufd, attach it to @pt_id and start
 * the virtio driver with its rings at the stage-1 IOVAs (when @pt_id is
 * the shadow).
 */
static int function_up(uint32_t pt_id, bool start)
{
	int ret;

	quiet = true;
	ret = pci_bind_vfio(bdf);
	if (!ret)
		ret = vfio_pci_open(&dev, bdf);
	if (!ret)
		ret = vfio_bind_iommufd(&dev, iommufd);
	if (!ret)
		ret = vfio_attach_pt(&dev, &pt_id);
	if (ret || !start)
		goto out;
	ret = vfio_enable_bus_master(&dev);
	if (!ret) {
		vio.d = &dev;
		ret = vio_find_caps(&vio);
	}
	if (ret)
		goto out;
	vio.desc = (void *)page(PG_DESC);
	vio.avail = (void *)page(PG_AVAIL);
	vio.used = (void *)page(PG_USED);
	memset(page(PG_DESC), 0, PAGE);
	memset(page(PG_AVAIL), 0, PAGE);
	memset(page(PG_USED), 0, PAGE);
	ret = vio_init(&vio, s1(S1_DESC), s1(S1_AVAIL), s1(S1_USED));
	if (ret)
		goto out;
	errfd = vfio_err_eventfd(&dev);
	ret = zpci_stats_enable(bdf);
out:
	quiet = false;
	return ret;
}

static void function_down(void)
{
	if (errfd >= 0)
		close(errfd);
	errfd = -1;
	vfio_pci_close(&dev);
}

/* After an error event: what an operator (or QEMU) does to go on */
static bool function_recover(void)
{
	int ret;

	function_down();
	ret = zpci_recover(bdf);
	if (!ret)
		ret = function_up(shadow_id, true);
	printf("   (the VMM recovers the function: close, recover, reopen, reattach to the shadow: %s)\n",
	       ret ? strerror(-ret) : "ok");
	counters_reset();
	return !ret;
}

static int setup(void)
{
	struct iommu_iova_range ranges[8];
	uint32_t num = 8, type, i;
	uint64_t caps;
	int ret;

	printf("== Setup: the VMM side ==\n");
	ret = pci_find_device(VIRTIO_VENDOR, VIRTIO_RNG_MODERN, bdf,
			      sizeof(bdf));
	if (ret)
		return fail("finding the zPCI virtio-rng function (run in the s390 VM)",
			    ret);
	iommufd = iommufd_open();
	if (iommufd < 0)
		return fail("opening /dev/iommu", iommufd);
	ret = iommufd_ioas_alloc(iommufd, &ioas_id);
	if (ret)
		return fail("IOMMU_IOAS_ALLOC", ret);
	/* Attached to the empty IOAS, the function shows its DMA aperture */
	ret = function_up(ioas_id, false);
	if (!ret)
		ret = iommufd_get_hw_info(iommufd, dev.dev_id, NULL, 0, &type,
					  &caps);
	if (!ret)
		ret = iommufd_ioas_iova_ranges(iommufd, ioas_id, ranges, &num,
					       NULL);
	if (ret)
		return fail("binding the function to iommufd", ret);
	for (i = 0; i < num && i < 8; i++)
		if (ranges[i].last - ranges[i].start >= AP_OFFSET + AP_SIZE - 1)
			break;
	if (i == num || i == 8)
		return fail("finding a 512 MiB DMA aperture", ERANGE);
	gpa_base = ranges[i].start;
	ap_start = gpa_base + AP_OFFSET;
	printf("   zPCI function %s: virtio-rng, vfio-pci cdev, iommufd device %u\n",
	       bdf, dev.dev_id);
	printf("   IOMMU: s390-iommu, DMA aperture 0x%llx-0x%llx; hardware nesting: none; shadow nesting: %s\n",
	       (unsigned long long)ranges[i].start,
	       (unsigned long long)ranges[i].last,
	       caps & IOMMU_HW_CAP_SHADOW_NESTING ? "yes" : "NO");

	ram = guest_ram_alloc(G_SIZE);
	before = malloc(G_SIZE);
	if (!ram || !before)
		return fail("allocating guest RAM", ENOMEM);
	memset(ram, FILL, G_SIZE);
	kmsg = kmsg_open();
	if (kmsg < 0)
		return fail("opening /dev/kmsg", kmsg);
	return 0;
}

static bool step_ioas(void)
{
	int ret;

	step("the VMM puts guest RAM into the IOAS (guest physical = IOVA)");
	say("VMM", "%lu KiB memfd at GPA 0x%llx, page %u as its own area",
	    G_SIZE / 1024, (unsigned long long)gpa_base, PG_GONE);
	say("expected", "the kernel pins guest RAM once, here; the shadow will never pin again");
	ret = iommufd_ioas_map_fixed(iommufd, ioas_id, ram, PG_GONE * PAGE,
				     gpa_base, false);
	if (!ret)
		ret = iommufd_ioas_map_fixed(iommufd, ioas_id, page(PG_GONE),
					     PAGE, gpa(PG_GONE), false);
	if (ret)
		printf("   IOMMU_IOAS_MAP failed: %s\n", strerror(-ret));
	verdict(!ret, "guest RAM is in the IOAS and in its kernel-owned stage-2 domain");
	return !ret;
}

static bool step_shadow(void)
{
	uint64_t iota;
	int ret;

	step("the guest builds s390 DMA tables in its RAM; the VMM shadows them");
	say("expected", "the kernel walks the guest tables and fills an s390-iommu domain with stage-2 o stage-1");
	s390_tbl_init(&tbl, page(TBL_PAGE), gpa(TBL_PAGE), TBL_PAGES * PAGE);
	ret = s390_tbl_new_root(&tbl, &iota);
	if (!ret)
		ret = s390_tbl_map(&tbl, s1(S1_DESC), gpa(PG_DESC), false);
	if (!ret)
		ret = s390_tbl_map(&tbl, s1(S1_AVAIL), gpa(PG_AVAIL), false);
	if (!ret)
		ret = s390_tbl_map(&tbl, s1(S1_USED), gpa(PG_USED), false);
	if (!ret)
		ret = s390_tbl_map(&tbl, s1(S1_DATA), gpa(PG_DATA), false);
	if (!ret)
		ret = s390_tbl_map(&tbl, s1(S1_RO), gpa(PG_RO), true);
	if (!ret)
		ret = s390_tbl_map(&tbl, s1(S1_GONE), gpa(PG_GONE), false);
	if (ret) {
		fail("building the tables", ret);
		verdict(false, "no tables, no shadow");
		return false;
	}
	say("guest", "IOTA 0x%llx (region-third table at GPA 0x%llx), every other IOVA invalid",
	    (unsigned long long)iota, (unsigned long long)tbl.rto);
	say("VMM", "IOMMU_HWPT_ALLOC(IOMMU_HWPT_DATA_SHADOW, format S390, aperture 0x%llx-0x%llx) on the IOAS",
	    (unsigned long long)ap_start,
	    (unsigned long long)(ap_start + AP_SIZE - 1));
	ret = iommufd_shadow_alloc(iommufd, dev.dev_id, ioas_id,
				   IOMMU_SHADOW_FORMAT_S390, iota, ap_start,
				   ap_start + AP_SIZE - 1, &shadow_id);
	if (ret)
		printf("   IOMMU_HWPT_ALLOC failed: %s\n", strerror(-ret));
	verdict(!ret, "shadow hwpt allocated, synced over its aperture");
	return !ret;
}

static bool step_attach(void)
{
	uint32_t pt_id = shadow_id;
	int ret;

	step("the VMM attaches the zPCI function to the shadow; the guest's virtio driver starts");
	say("expected", "the device reads its rings through the shadow, set up before it was attached");
	ret = vfio_attach_pt(&dev, &pt_id);
	if (!ret) {
		function_down();
		ret = function_up(shadow_id, true);
	}
	if (ret)
		printf("   attaching or starting the device failed: %s\n",
		       strerror(-ret));
	else
		say("driver", "virtio-rng up (VERSION_1, ACCESS_PLATFORM), queue 0 rings at IOVAs 0x%llx/0x%llx/0x%llx",
		    (unsigned long long)s1(S1_DESC),
		    (unsigned long long)s1(S1_AVAIL),
		    (unsigned long long)s1(S1_USED));
	counters_reset();
	verdict(!ret, "the function is attached and its driver running");
	return !ret;
}

static void step_dma(void)
{
	bool ok;
	int ret;

	step("the device writes %u random bytes at IOVA 0x%llx", DMA_LEN,
	     (unsigned long long)s1(S1_DATA) + 0x100);
	say("guest", "its tables say IOVA 0x%llx -> GPA 0x%llx",
	    (unsigned long long)s1(S1_DATA), (unsigned long long)gpa(PG_DATA));
	say("expected", "the bytes land at GPA 0x%llx and nowhere else",
	    (unsigned long long)gpa(PG_DATA) + 0x100);
	show("before", PG_DATA, 0x100);
	ret = rng(S1_DATA, USED_WAIT_MS);
	show("after", PG_DATA, 0x100);
	if (ret < 0)
		say("driver", "no used element: %s", strerror(-ret));
	else
		say("driver", "used element: %d bytes written", ret);
	ok = ret == DMA_LEN && changed_page(PG_USED) == PG_DATA &&
	     page(PG_DATA)[0x100] != FILL;
	verdict(ok, "the random bytes landed in the GPA page the stage-1 names, and nowhere else");
}

static void step_drop(void)
{
	struct zpci_iommu_stats d;
	bool ok;

	step("the guest marks IOVA 0x%llx invalid and issues an RPCIT; the device writes there anyway",
	     (unsigned long long)s1(S1_DATA));
	say("expected", "one entry unmapped, one Sync RPCIT; the DMA blocked, an error event, memory untouched");
	ok = !s390_tbl_unmap(&tbl, s1(S1_DATA));
	memset(page(PG_DATA), FILL, PAGE);
	ok &= rpcit(S1_DATA, PAGE);
	ok &= read_counters(&d) && counters_are(&d, 0, 1, 0, 1);
	memcpy(before, ram, G_SIZE);
	ok &= refused(S1_DATA);
	verdict(ok, "no translation any more: the device could not write, the zPCI function went into the error state");
	function_recover();
}

static void step_ioas_unmap(void)
{
	struct zpci_iommu_stats d;
	uint64_t unmapped = 0;
	bool ok;

	step("the VMM unmaps GPA 0x%llx (behind IOVA 0x%llx) from the IOAS",
	     (unsigned long long)gpa(PG_GONE), (unsigned long long)s1(S1_GONE));
	say("expected", "the shadow entry goes before the page is unpinned (one Sync RPCIT); the DMA blocked");
	ok = !iommufd_ioas_unmap(iommufd, ioas_id, gpa(PG_GONE), PAGE,
				 &unmapped) && unmapped == PAGE;
	ok &= read_counters(&d) && counters_are(&d, 0, 1, 0, 1);
	memset(page(PG_GONE), 0xc3, PAGE);	/* sentinel in the old page */
	memcpy(before, ram, G_SIZE);
	ok &= refused(S1_GONE);
	show("old", PG_GONE, 0x100);
	verdict(ok, "the shadow entry went with the IOAS mapping; the old page kept its sentinel");
	function_recover();
}

static void step_protected(void)
{
	static const char ro_msg[] = "read-only guest data (page 7)";
	bool ok;

	step("the device writes at IOVA 0x%llx, which the guest mapped read-only",
	     (unsigned long long)s1(S1_RO));
	memcpy(page(PG_RO) + 0x100, ro_msg, sizeof(ro_msg));
	memcpy(before, ram, G_SIZE);
	say("expected", "the shadow entry is protected too: the write refused");
	ok = refused(S1_RO);
	show("still", PG_RO, 0x100);
	verdict(ok, "the shadow maps it read-only, as the guest asked");
	function_recover();
}

static void step_rpcits(void)
{
	uint64_t last = S1_SCAT + (SCAT_N - 1) * SCAT_STEP * PAGE;
	bool ok = true, mapped_ok, unmapped_ok;
	struct zpci_iommu_stats d;
	unsigned int i;
	int ret;

	step("the guest maps %u scattered pages and issues ONE RPCIT over their %u-page window, then unmaps them with another",
	     SCAT_N, SCAT_WIN);
	say("guest", "IOVA 0x%llx + %u pages * i -> GPA 0x%llx + i pages, i = 0..%u",
	    (unsigned long long)s1(S1_SCAT), SCAT_STEP,
	    (unsigned long long)gpa(14), SCAT_N - 1);
	say("expected", "mapped pages +%u and exactly one Sync Map RPCIT: one refresh over the range, not one per map call",
	    SCAT_N);
	quiet = true;
	for (i = 0; i < SCAT_N; i++)
		ok &= !s390_tbl_map(&tbl, s1(S1_SCAT + i * SCAT_STEP * PAGE),
				    gpa(14 + i), false);
	quiet = false;
	ok &= rpcit(S1_SCAT, SCAT_WIN * PAGE);
	mapped_ok = read_counters(&d) && counters_are(&d, SCAT_N, 0, 1, 0);
	memcpy(before, ram, G_SIZE);
	ret = rng(last, USED_WAIT_MS);
	say("device", "a DMA through the last new entry (IOVA 0x%llx): %s",
	    (unsigned long long)s1(last),
	    ret == DMA_LEN ? "landed in its page" : "FAILED");
	ok &= ret == DMA_LEN && changed_page(PG_USED) == 14 + SCAT_N - 1;
	if (ret != DMA_LEN)
		function_recover();

	say("expected", "then unmapped pages +%u and exactly one Sync RPCIT",
	    SCAT_N);
	quiet = true;
	for (i = 0; i < SCAT_N; i++)
		ok &= !s390_tbl_unmap(&tbl, s1(S1_SCAT + i * SCAT_STEP * PAGE));
	quiet = false;
	ok &= rpcit(S1_SCAT, SCAT_WIN * PAGE);
	unmapped_ok = read_counters(&d) && counters_are(&d, 0, SCAT_N, 0, 1);
	say("expected", "and the same RPCIT once more changes nothing and costs nothing");
	ok &= rpcit(S1_SCAT, SCAT_WIN * PAGE);
	ok &= read_counters(&d) && counters_are(&d, 0, 0, 0, 0);
	if (!mapped_ok)
		say("result", "the map side took more than one refresh for one invalidation");
	if (!unmapped_ok)
		say("result", "the unmap side took more than one refresh for one invalidation");
	verdict(ok && mapped_ok && unmapped_ok,
		"one refresh per invalidation and kind: what QEMU's zPCI model needs, nothing more");
}

int main(void)
{
	int ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("iommufd shadow nesting demo: s390 guest DMA tables on the s390-iommu driver (zPCI)\n");
	shadow_lib_set_log(lib_log, NULL);
	if (setup()) {
		printf("\nSetup failed: 0 steps run\n");
		return 1;
	}
	if (step_ioas() && step_shadow() && step_attach()) {
		step_dma();
		step_drop();
		step_ioas_unmap();
		step_protected();
		step_rpcits();
	}

	ret = summary();
	function_down();
	close(kmsg);
	close(iommufd);
	return ret;
}
