/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Leveled, categorized logging for every layer of xenstub.
 * Messages go to stderr; the level and the category mask are process-wide
 * settings chosen once by the command line (-v, --debug, --log=...).
 */
#ifndef XENSTUB_LOG_H
#define XENSTUB_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_ERROR = 0,
	LOG_WARN = 1,
	LOG_INFO = 2,
	LOG_DEBUG = 3,
	LOG_TRACE = 4,
};

/* Categories, a bitmask: each message belongs to one. */
enum log_cat {
	LC_MAIN = 1u << 0,
	LC_RSP = 1u << 1,     /* every packet in and out */
	LC_TARGET = 1u << 2,  /* target back ends */
	LC_MEM = 1u << 3,     /* guest memory and the frame cache */
	LC_TRAP = 1u << 4,    /* breakpoints, watchpoints, events */
	LC_OS = 1u << 5,      /* OS-awareness */
	LC_SESSION = 1u << 6, /* run control */
	LC_ALL = 0xffffffffu,
};

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
void log_set_categories(unsigned mask);
/* Parses "rsp,trap" or "all" into a mask; returns 0 on success, -EINVAL. */
int log_parse_categories(const char *spec, unsigned *mask);
/* A prefix printed before every line, e.g. the program name. */
void log_set_prefix(const char *prefix);
/* True when a message of this category and level would be printed. */
int log_enabled(enum log_cat cat, enum log_level level);

void log_msg(enum log_cat cat, enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void log_vmsg(enum log_cat cat, enum log_level level, const char *fmt,
	      va_list ap);

#define log_err(cat, ...) log_msg(cat, LOG_ERROR, __VA_ARGS__)
#define log_warn(cat, ...) log_msg(cat, LOG_WARN, __VA_ARGS__)
#define log_info(cat, ...) log_msg(cat, LOG_INFO, __VA_ARGS__)
#define log_dbg(cat, ...)                                                      \
	do {                                                                   \
		if (log_enabled(cat, LOG_DEBUG))                               \
			log_msg(cat, LOG_DEBUG, __VA_ARGS__);                  \
	} while (0)

#endif
