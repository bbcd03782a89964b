// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Allocation helpers that never return NULL, and the hook that leaves the
 * guest as found before the process dies of exhaustion.
 */
#include "stub/base/alloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stub/base/strbuf.h"

void (*fatal_hook)(void);

void die_oom(size_t n)
{
	void (*hook)(void) = fatal_hook;

	fprintf(stderr, "xenstub: error: out of memory allocating %zu bytes\n",
		n);
	fatal_hook = NULL;
	if (hook)
		hook();
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		die_oom(n);
	return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (!p)
		die_oom(nmemb * size);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q)
		die_oom(n);
	return q;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s);

	if (!p)
		die_oom(strlen(s) + 1);
	return p;
}

char *xstrvfmt(const char *fmt, va_list ap)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_vaddf(&sb, fmt, ap);
	return strbuf_detach(&sb, NULL);
}

char *xstrfmt(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = xstrvfmt(fmt, ap);
	va_end(ap);
	return s;
}

void msg_setf(char **msg, const char *fmt, ...)
{
	va_list ap;

	if (!msg)
		return;
	free(*msg);
	va_start(ap, fmt);
	*msg = xstrvfmt(fmt, ap);
	va_end(ap);
}

size_t st_mult(size_t a, size_t b)
{
	if (b && a > SIZE_MAX / b)
		die_oom(SIZE_MAX);
	return a * b;
}
