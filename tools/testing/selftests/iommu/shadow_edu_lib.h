/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * shadow_edu_lib.h - QEMU's edu device as a DMA engine behind an IOMMU,
 * and the DMAR faults of the DMAs the IOMMU refuses
 *
 * Part of the shadow test library: see shadow_lib.h for its conventions.
 */
#ifndef __SHADOW_EDU_LIB_H
#define __SHADOW_EDU_LIB_H

#include "shadow_lib.h"

/* ------------------------------------------------------------------------ */
/* QEMU edu device as a DMA engine                                          */
/* ------------------------------------------------------------------------ */

/*
 * QEMU's edu (hw/misc/edu.c) has a 4 KiB internal buffer at device address
 * 0x40000 and a DMA engine programmed through BAR0: source, destination,
 * count, then command. The device handles one transfer at a time, about
 * 100 ms (virtual) after the command, and clears EDU_CMD_RUN when done.
 * It is a teaching device with two traps in QEMU 7.2 that abort the whole
 * VM (hw_error), so the library validates before it touches a register:
 *  - the device-side range [addr, addr + count) must lie in the buffer
 *    AND its end must be strictly below 0x41000: a 4096-byte transfer,
 *    or any transfer ending at the buffer's last byte, aborts QEMU;
 *  - IOVAs are silently truncated to the 28-bit DMA mask.
 * A DMA the IOMMU refuses is dropped by QEMU (and reported as a DMAR
 * fault); the edu itself does not notice and completes normally.
 */
#define EDU_VENDOR		0x1234
#define EDU_DEVICE		0x11e8
#define EDU_REG_ID		0x00	/* 0xRRrr00ed: major, minor, 0xed */
#define EDU_REG_LIVENESS	0x04	/* reads back ~(last value written) */
#define EDU_REG_DMA_SRC		0x80
#define EDU_REG_DMA_DST		0x88
#define EDU_REG_DMA_COUNT	0x90
#define EDU_REG_DMA_CMD		0x98
#define EDU_CMD_RUN		0x1	/* start; cleared when the DMA is done */
#define EDU_CMD_TO_RAM		0x2	/* direction: edu buffer -> RAM */
#define EDU_BUF_ADDR		0x40000	/* device address of the buffer */
#define EDU_BUF_SIZE		0x1000
#define EDU_DMA_MASK		((1ULL << 28) - 1)
#define EDU_DMA_TIMEOUT_MS	5000

static uint32_t edu_read32(volatile void *bar0, uint32_t reg)
{
	return *(volatile uint32_t *)((volatile char *)bar0 + reg);
}

static void edu_write32(volatile void *bar0, uint32_t reg, uint32_t val)
{
	*(volatile uint32_t *)((volatile char *)bar0 + reg) = val;
}

static void edu_write64(volatile void *bar0, uint32_t reg, uint64_t val)
{
	*(volatile uint64_t *)((volatile char *)bar0 + reg) = val;
}

/**
 * edu_check() - Prove that BAR0 reaches an edu device
 * @bar0: Mapped BAR0
 * @id: Optional; returns the identification register
 *
 * Checks the identification register (low byte 0xed) and the liveness
 * register, which returns the complement of what was written to it.
 */
static int edu_check(volatile void *bar0, uint32_t *id)
{
	static const uint32_t pattern[] = { 0x12345678, 0, 0xffffffff };
	uint32_t val = edu_read32(bar0, EDU_REG_ID);
	unsigned int i;

	if (id)
		*id = val;
	if ((val & 0xff) != 0xed)
		return -ENODEV;
	for (i = 0; i < sizeof(pattern) / sizeof(pattern[0]); i++) {
		edu_write32(bar0, EDU_REG_LIVENESS, pattern[i]);
		if (edu_read32(bar0, EDU_REG_LIVENESS) != ~pattern[i])
			return -EIO;
	}
	shadow_log("edu: id 0x%08x (version %u.%u), liveness ok", val,
		   val >> 24, (val >> 16) & 0xff);
	return 0;
}

/**
 * edu_dma_args_ok() - Would this transfer be safe for QEMU's edu?
 * @iova: IOVA of the RAM side
 * @off: Offset of the edu side in its buffer
 * @len: Bytes
 *
 * 1 <= @len, @off + @len < EDU_BUF_SIZE (strictly: QEMU's range check
 * rejects an end at 0x41000, so the last byte of the buffer is
 * unreachable), and the RAM range inside the 28-bit DMA mask.
 */
static bool edu_dma_args_ok(uint64_t iova, uint32_t off, uint32_t len)
{
	if (!len || len >= EDU_BUF_SIZE || off >= EDU_BUF_SIZE ||
	    off + len >= EDU_BUF_SIZE)
		return false;
	return iova <= EDU_DMA_MASK && len - 1 <= EDU_DMA_MASK - iova;
}

/**
 * edu_dma_wait() - Wait until the edu's DMA engine is idle
 * @bar0: Mapped BAR0
 * @timeout_ms: Give up after this long: -ETIMEDOUT
 */
static int edu_dma_wait(volatile void *bar0, unsigned int timeout_ms)
{
	uint64_t end = shadow_now_ms() + timeout_ms;

	while (edu_read32(bar0, EDU_REG_DMA_CMD) & EDU_CMD_RUN) {
		if (shadow_now_ms() > end)
			return -ETIMEDOUT;
		usleep(1000);
	}
	__sync_synchronize();
	return 0;
}

/* Program and run one transfer; arguments already validated */
static int edu_dma(volatile void *bar0, uint64_t src, uint64_t dst,
		   uint32_t len, uint32_t cmd)
{
	int ret;

	/* The registers ignore writes while a transfer runs */
	ret = edu_dma_wait(bar0, EDU_DMA_TIMEOUT_MS);
	if (ret)
		return ret;
	__sync_synchronize();
	edu_write64(bar0, EDU_REG_DMA_SRC, src);
	edu_write64(bar0, EDU_REG_DMA_DST, dst);
	edu_write64(bar0, EDU_REG_DMA_COUNT, len);
	edu_write32(bar0, EDU_REG_DMA_CMD, cmd | EDU_CMD_RUN);
	return edu_dma_wait(bar0, EDU_DMA_TIMEOUT_MS);
}

/**
 * edu_dma_from_ram() - DMA @len bytes from RAM at @iova into the edu buffer
 * @bar0: Mapped BAR0 (Bus Master must be enabled)
 * @iova: IOVA the device reads (translated by the IOMMU)
 * @off: Offset in the edu buffer
 * @len: Bytes
 *
 * Returns -EINVAL, without touching the device, for any transfer that
 * edu_dma_args_ok() refuses; -ETIMEDOUT if the engine does not finish.
 * Success means the device finished, not that the IOMMU let it through.
 */
static int edu_dma_from_ram(volatile void *bar0, uint64_t iova, uint32_t off,
			    uint32_t len)
{
	if (!edu_dma_args_ok(iova, off, len))
		return -EINVAL;
	shadow_log("edu: DMA %u bytes RAM IOVA 0x%llx -> edu +0x%x", len,
		   (unsigned long long)iova, off);
	return edu_dma(bar0, iova, EDU_BUF_ADDR + off, len, 0);
}

/**
 * edu_dma_to_ram() - DMA @len bytes from the edu buffer to RAM at @iova
 * @bar0: Mapped BAR0 (Bus Master must be enabled)
 * @off: Offset in the edu buffer
 * @iova: IOVA the device writes (translated by the IOMMU)
 * @len: Bytes
 *
 * See edu_dma_from_ram() for the return values.
 */
static int edu_dma_to_ram(volatile void *bar0, uint32_t off, uint64_t iova,
			  uint32_t len)
{
	if (!edu_dma_args_ok(iova, off, len))
		return -EINVAL;
	shadow_log("edu: DMA %u bytes edu +0x%x -> RAM IOVA 0x%llx", len, off,
		   (unsigned long long)iova);
	return edu_dma(bar0, EDU_BUF_ADDR + off, iova, len, EDU_CMD_TO_RAM);
}

/* ------------------------------------------------------------------------ */
/* DMAR faults of an edu DMA                                                */
/* ------------------------------------------------------------------------ */

#define DMAR_FAULT_WAIT_MS	2000	/* faults are logged from an IRQ */
#define DMAR_RATELIMIT_WAIT_S	6	/* DEFAULT_RATELIMIT_INTERVAL is 5 s */

/**
 * dmar_rid() - The requester of a PCI device as DMAR fault lines print it
 * @bdf: Device address, "0000:00:03.0"
 * @rid: Returns "[00:03.0]"
 * @len: Size of @rid
 */
static void dmar_rid(const char *bdf, char *rid, size_t len)
{
	const char *p = strchr(bdf, ':');

	if (len < 3)
		return;
	snprintf(rid, len, "[%.*s]", (int)(len - 3), p ? p + 1 : bdf);
}

/**
 * edu_dma_fault() - Run a DMA the IOMMU must refuse and catch its DMAR line
 * @bar0: Mapped BAR0 of the edu
 * @kmsg: From kmsg_open()
 * @rid: Requester as dmar_rid() writes it
 * @to_ram: Direction: a device write (edu -> RAM) or a device read
 * @off: Offset in the edu buffer
 * @iova: IOVA the device uses
 * @len: Bytes
 * @line: Returns the fault line, e.g. "DMAR: [DMA Write NO_PASID] Request
 *	device [00:03.0] fault addr 0x800000 [fault reason 0x05] PTE Write
 *	access is not set"
 * @line_len: Size of @line
 *
 * The edu completes whether or not the IOMMU let it through, so the line is
 * the device-side evidence (the caller checks memory). VT-d logs the page
 * address. intel-iommu prints about 3 faults per 5 s (10 lines per
 * DEFAULT_RATELIMIT_INTERVAL, 3 used per fault interrupt) and clears the
 * others silently: when no line comes, wait out the window and run the same
 * DMA again, once. Do not expect a line for a write to a read-only
 * translation QEMU's VT-d already cached from a read: QEMU drops such a
 * write without recording a fault.
 *
 * Returns 0, -ETIMEDOUT when no line came twice, or the DMA's error.
 */
static int edu_dma_fault(volatile void *bar0, int kmsg, const char *rid,
			 bool to_ram, uint32_t off, uint64_t iova, uint32_t len,
			 char *line, size_t line_len)
{
	char addr[40];
	const char *needles[] = { to_ram ? "[DMA Write" : "[DMA Read", rid,
				  addr, NULL };
	int ret, tries;

	snprintf(addr, sizeof(addr), "fault addr 0x%llx ",
		 (unsigned long long)iova & ~0xfffULL);
	for (tries = 0; tries < 2; tries++) {
		if (tries) {
			shadow_log("no DMAR line yet (rate limit): retry in %u s",
				   DMAR_RATELIMIT_WAIT_S);
			sleep(DMAR_RATELIMIT_WAIT_S);
		}
		ret = to_ram ? edu_dma_to_ram(bar0, off, iova, len) :
			       edu_dma_from_ram(bar0, iova, off, len);
		if (ret)
			return ret;
		ret = kmsg_wait_for(kmsg, needles, DMAR_FAULT_WAIT_MS, line,
				    line_len);
		if (ret != -ETIMEDOUT)
			return ret;
	}
	return ret;
}

#endif /* __SHADOW_EDU_LIB_H */
