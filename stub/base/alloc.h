/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Checked allocation: these never return NULL. On exhaustion the process
 * calls the fatal hook (which leaves the guest as found) and aborts, so
 * callers need no failure path for memory.
 */
#ifndef XENSTUB_BASE_ALLOC_H
#define XENSTUB_BASE_ALLOC_H

#include <stdarg.h>
#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
/* A malloc'd string built from a printf format (the caller frees it). */
char *xstrfmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xstrvfmt(const char *fmt, va_list ap);
/*
 * Replaces the malloc'd message in *msg (freed first, may be NULL) with a
 * new one built from a printf format. Nothing happens when msg is NULL:
 * the caller did not ask why.
 */
void msg_setf(char **msg, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Ends the process for want of n bytes (the fatal hook first). */
void die_oom(size_t n) __attribute__((noreturn));
/* nmemb * size with overflow check; aborts on overflow. */
size_t st_mult(size_t a, size_t b);

/* Called once before the process dies of a fatal error; the program sets
 * it to undo its changes to the guest. */
extern void (*fatal_hook)(void);

#endif
