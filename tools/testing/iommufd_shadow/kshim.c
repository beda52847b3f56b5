// SPDX-License-Identifier: GPL-2.0-only
/* Userspace behaviour of the kernel shims: see shim/kshim.h */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "shim/kshim.h"

unsigned long kshim_failures;
char kshim_last_failure[512];
long kshim_live_allocs;
unsigned long kshim_alloc_calls;
unsigned long kshim_fail_nth;
bool kshim_fail_all;
unsigned long kshim_allocs_failed;
unsigned long kshim_resched_calls;
unsigned long kshim_signal_after;
bool kshim_signal;
unsigned long kshim_signals_seen;
void (*kshim_resched_hook)(void);

void kshim_fail(const char *file, int line, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(kshim_last_failure, sizeof(kshim_last_failure), "%s:%d: %s",
		 file, line, msg);
	/* The first few are printed; tests report the count */
	if (kshim_failures++ < 8)
		printf("# FAILURE %s\n", kshim_last_failure);
}

void *kshim_kzalloc(size_t size)
{
	void *p;

	kshim_alloc_calls++;
	if (kshim_fail_all || (kshim_fail_nth && !--kshim_fail_nth)) {
		kshim_allocs_failed++;
		return NULL;
	}
	p = calloc(1, size);
	if (!p)
		abort();
	kshim_live_allocs++;
	return p;
}

void kshim_kfree(const void *ptr)
{
	if (!ptr)
		return;
	kshim_live_allocs--;
	free((void *)ptr);
}

void kshim_cond_resched(void)
{
	kshim_resched_calls++;
	if (kshim_resched_hook)
		kshim_resched_hook();
}

bool kshim_fatal_signal_pending(void)
{
	bool pending = kshim_signal ||
		       (kshim_signal_after &&
			kshim_resched_calls >= kshim_signal_after);

	if (pending)
		kshim_signals_seen++;
	return pending;
}

void kshim_reset_injection(void)
{
	kshim_fail_nth = 0;
	kshim_fail_all = false;
	kshim_signal_after = 0;
	kshim_signal = false;
	kshim_resched_hook = NULL;
}
