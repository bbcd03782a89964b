// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libxentoollog.so.1 for xensim: the logger interface Xen's libraries and
 * their callers share, with the stdio-stream logger (messages at or above
 * a minimum level, "context: level: message: errno text").
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xentoollog.h>

#include "tests/xensim/lib/client.h"

struct xentoollog_logger_stdiostream {
	xentoollog_logger vtable;
	FILE *f;
	xentoollog_level min_level;
	unsigned flags;
};

SIM_EXPORT const char *xtl_level_to_string(xentoollog_level level)
{
	static const char *const names[XTL_NUM_LEVELS] = {
		"none", "debug", "verbose", "detail", "progress", "info",
		"notice", "warning", "error", "critical",
	};

	return (unsigned)level < XTL_NUM_LEVELS ? names[level] : "unknown";
}

static void stdio_vmessage(struct xentoollog_logger *logger,
			   xentoollog_level level, int errnoval,
			   const char *context, const char *format, va_list al)
{
	xentoollog_logger_stdiostream *s = (void *)logger;

	if (level < s->min_level)
		return;
	if (s->flags & XTL_STDIOSTREAM_SHOW_PID)
		fprintf(s->f, "[%ld] ", (long)getpid());
	if (context)
		fprintf(s->f, "%s: ", context);
	fprintf(s->f, "%s: ", xtl_level_to_string(level));
	vfprintf(s->f, format, al);
	if (errnoval >= 0)
		fprintf(s->f, ": %s", strerror(errnoval));
	fputc('\n', s->f);
	fflush(s->f);
}

static void stdio_progress(struct xentoollog_logger *logger,
			   const char *context, const char *doing_what,
			   int percent, unsigned long done,
			   unsigned long total)
{
	xentoollog_logger_stdiostream *s = (void *)logger;

	(void)done;
	(void)total;
	if (s->flags & XTL_STDIOSTREAM_HIDE_PROGRESS ||
	    XTL_PROGRESS < s->min_level)
		return;
	fprintf(s->f, "%s%s%s: %d%%\n", context ? context : "",
		context ? ": " : "", doing_what, percent);
}

static void stdio_destroy(struct xentoollog_logger *logger)
{
	free(logger);
}

SIM_EXPORT xentoollog_logger_stdiostream *
xtl_createlogger_stdiostream(FILE *f, xentoollog_level min_level,
			     unsigned flags)
{
	xentoollog_logger_stdiostream *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->vtable.vmessage = stdio_vmessage;
	s->vtable.progress = stdio_progress;
	s->vtable.destroy = stdio_destroy;
	s->f = f;
	s->min_level = min_level;
	s->flags = flags;
	return s;
}

SIM_EXPORT void xtl_stdiostream_set_minlevel(xentoollog_logger_stdiostream *s,
					     xentoollog_level min_level)
{
	s->min_level = min_level;
}

SIM_EXPORT void xtl_stdiostream_adjust_flags(xentoollog_logger_stdiostream *s,
					     unsigned set_flags,
					     unsigned clear_flags)
{
	s->flags = (s->flags & ~clear_flags) | set_flags;
}

SIM_EXPORT void xtl_logger_destroy(struct xentoollog_logger *logger)
{
	if (logger && logger->destroy)
		logger->destroy(logger);
}

SIM_EXPORT void xtl_logv(struct xentoollog_logger *logger,
			 xentoollog_level level, int errnoval,
			 const char *context, const char *format, va_list al)
{
	int saved = errno;

	if (logger && logger->vmessage)
		logger->vmessage(logger, level, errnoval, context, format, al);
	errno = saved;
}

SIM_EXPORT void xtl_log(struct xentoollog_logger *logger,
			xentoollog_level level, int errnoval,
			const char *context, const char *format, ...)
{
	va_list al;

	va_start(al, format);
	xtl_logv(logger, level, errnoval, context, format, al);
	va_end(al);
}

SIM_EXPORT void xtl_progress(struct xentoollog_logger *logger,
			     const char *context, const char *doing_what,
			     unsigned long done, unsigned long total)
{
	int percent = total ? (int)(done * 100 / total) : 0;

	if (logger && logger->progress)
		logger->progress(logger, context, doing_what, percent, done,
				 total);
}
