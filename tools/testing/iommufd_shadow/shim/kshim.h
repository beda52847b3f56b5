/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Hooks behind the kernel shims (kshim.c): what a WARN, a lock assertion,
 * an allocation, a reschedule or a signal check does in userspace, and the
 * knobs tests turn to inject failures.
 *
 *  - Every WARN_ON*() that fires and every failed lock assertion is a
 *    recorded failure (kshim_failures), not a one-time message: a test
 *    checks the count after each operation.
 *  - kzalloc()/kfree() count live allocations (kshim_live_allocs: the leak
 *    check) and fail the kshim_fail_nth-th allocation from when it was set
 *    (1-based; 0: never), or every one while kshim_fail_all is set.
 *  - cond_resched() counts; fatal_signal_pending() turns true once
 *    kshim_signal_after reschedules have happened (0: never), or while
 *    kshim_signal is set.
 */
#ifndef SHIM_KSHIM_H
#define SHIM_KSHIM_H

#include <stdbool.h>
#include <stddef.h>

void kshim_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
extern unsigned long kshim_failures;
extern char kshim_last_failure[512];

void *kshim_kzalloc(size_t size);
void kshim_kfree(const void *ptr);
extern long kshim_live_allocs;
extern unsigned long kshim_alloc_calls;
extern unsigned long kshim_fail_nth;
extern bool kshim_fail_all;
extern unsigned long kshim_allocs_failed;

void kshim_cond_resched(void);
bool kshim_fatal_signal_pending(void);
extern unsigned long kshim_resched_calls;
extern unsigned long kshim_signal_after;
extern bool kshim_signal;
extern unsigned long kshim_signals_seen;

/* Called by every cond_resched(): tests act "concurrently" from there */
extern void (*kshim_resched_hook)(void);

void kshim_reset_injection(void);

#endif
