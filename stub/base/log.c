// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Leveled, categorized logging to stderr. The settings are process-wide:
 * they are chosen once from the command line before any session exists.
 */
#include "stub/base/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static enum log_level cur_level = LOG_WARN;
static unsigned cur_mask = LC_ALL;
static const char *cur_prefix = "xenstub";

static const struct {
	const char *name;
	enum log_cat cat;
} cat_names[] = {
	{ "main", LC_MAIN },   { "rsp", LC_RSP },   { "target", LC_TARGET },
	{ "mem", LC_MEM },     { "trap", LC_TRAP }, { "os", LC_OS },
	{ "session", LC_SESSION }, { "all", LC_ALL },
};

void log_set_level(enum log_level level) { cur_level = level; }
enum log_level log_get_level(void) { return cur_level; }
void log_set_categories(unsigned mask) { cur_mask = mask; }
void log_set_prefix(const char *prefix) { cur_prefix = prefix; }

int log_parse_categories(const char *spec, unsigned *mask)
{
	unsigned m = 0;
	const char *p = spec;

	while (*p) {
		size_t n = strcspn(p, ",");
		size_t i;
		int found = 0;

		for (i = 0; i < sizeof(cat_names) / sizeof(cat_names[0]); i++) {
			if (strlen(cat_names[i].name) == n &&
			    !strncasecmp(cat_names[i].name, p, n)) {
				m |= cat_names[i].cat;
				found = 1;
			}
		}
		if (!found)
			return -EINVAL;
		p += n;
		if (*p == ',')
			p++;
	}
	*mask = m;
	return 0;
}

int log_enabled(enum log_cat cat, enum log_level level)
{
	if (level > cur_level)
		return 0;
	/* errors and warnings are never filtered by category */
	return level <= LOG_WARN || (cur_mask & cat);
}

static const char *cat_name(enum log_cat cat)
{
	size_t i;

	for (i = 0; i < sizeof(cat_names) / sizeof(cat_names[0]); i++)
		if (cat_names[i].cat == cat)
			return cat_names[i].name;
	return "?";
}

void log_vmsg(enum log_cat cat, enum log_level level, const char *fmt,
	      va_list ap)
{
	static const char *const lvl[] = { "error", "warning", "info", "debug",
					   "trace" };
	int saved = errno;

	if (!log_enabled(cat, level))
		return;
	if (level >= LOG_DEBUG) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		fprintf(stderr, "%s: [%ld.%06ld] %s %s: ", cur_prefix,
			(long)ts.tv_sec, ts.tv_nsec / 1000, cat_name(cat),
			lvl[level]);
	} else if (level == LOG_INFO) {
		fprintf(stderr, "%s: ", cur_prefix);
	} else {
		fprintf(stderr, "%s: %s: ", cur_prefix, lvl[level]);
	}
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	errno = saved;
}

void log_msg(enum log_cat cat, enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(cat, level, fmt, ap);
	va_end(ap);
}
