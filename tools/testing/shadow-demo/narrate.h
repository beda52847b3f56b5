/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The narration the demos share: numbered steps, each with what must
 * happen and a verdict ("=> as expected: ..." or "=> UNEXPECTED: ..."),
 * the library's own line per ioctl indented under it with "|" (silenced
 * while quiet is set), and the summary that decides the exit status.
 *
 * Each step starts with a copy of guest RAM (@ram, G_PAGES pages of PAGE
 * bytes, copied to @before), so that it can tell which page a DMA changed.
 * The includer defines PAGE and G_PAGES and allocates @ram and @before.
 */
#ifndef __SHADOW_DEMO_NARRATE_H
#define __SHADOW_DEMO_NARRATE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static uint8_t *ram;		/* guest RAM as the host sees it */
static uint8_t *before;		/* guest RAM before a step */
static bool quiet;
static unsigned int steps, good;

/* shadow_lib's narration: what each ioctl did, indented under the step */
static void lib_log(void *priv, const char *msg)
{
	if (!quiet)
		printf("     | %s\n", msg);
}

static uint8_t *page(unsigned int pg)
{
	return ram + pg * PAGE;
}

/*
 * The one page of guest RAM that changed in this step, not counting page
 * @ignore (-1: none); -1 none, -2 several.
 */
static int changed_page(int ignore)
{
	unsigned int pg;
	int found = -1;

	for (pg = 0; pg < G_PAGES; pg++) {
		if ((int)pg == ignore ||
		    !memcmp(page(pg), before + pg * PAGE, PAGE))
			continue;
		if (found >= 0)
			return -2;
		found = pg;
	}
	return found;
}

static void step(const char *fmt, ...)
{
	va_list ap;

	printf("\nStep %u: ", ++steps);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	memcpy(before, ram, G_PAGES * PAGE);
}

/* "   who: what", e.g. what the guest or the device does */
static void say(const char *who, const char *fmt, ...)
{
	va_list ap;

	printf("   %s: ", who);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static void verdict(bool ok, const char *why)
{
	good += ok;
	printf("   => %s: %s\n", ok ? "as expected" : "UNEXPECTED", why);
}

/* Say which call failed and why; returns -1 */
static int fail(const char *what, int ret)
{
	printf("   %s failed: %s\n", what, strerror(ret < 0 ? -ret : ret));
	return -1;
}

/* The last line; the exit status: 0 only if every step behaved */
static int summary(void)
{
	printf("\nSummary: %u of %u steps behaved as expected\n", good, steps);
	return good == steps ? 0 : 1;
}

#endif
