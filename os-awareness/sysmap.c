// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * System.map reader: one symbol per line, "ADDRESS TYPE NAME" with a hex
 * address and an nm type letter. Blank lines are skipped; anything else
 * that does not fit is an error naming the line.
 */
#include "os-awareness/sysmap.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SYSMAP_MAX_BYTES (512u << 20)

static int parse_line(const char *p, const char *end, uint64_t *addr,
		      char *type, const char **name, size_t *nlen)
{
	uint64_t v = 0;
	unsigned digits = 0;

	while (p < end && isxdigit((unsigned char)*p)) {
		int c = tolower((unsigned char)*p++);

		if (++digits > 16)
			return -EINVAL;
		v = v << 4 | (uint64_t)(isdigit(c) ? c - '0' : c - 'a' + 10);
	}
	if (!digits || p >= end || (*p != ' ' && *p != '\t'))
		return -EINVAL;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p >= end || !isgraph((unsigned char)*p))
		return -EINVAL;
	*type = *p++;
	if (p >= end || (*p != ' ' && *p != '\t'))
		return -EINVAL;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	*name = p;
	while (p < end && !isspace((unsigned char)*p))
		p++;
	*nlen = (size_t)(p - *name);
	while (p < end && isspace((unsigned char)*p))
		p++;
	/* a trailing module name "[mod]" is allowed (/proc/kallsyms form) */
	if (p < end && *p != '[')
		return -EINVAL;
	*addr = v;
	return *nlen ? 0 : -EINVAL;
}

int sysmap_parse(const char *data, size_t len, const char *name,
		 struct symtab *st, struct strbuf *why)
{
	const char *p = data, *end = data + len;
	unsigned long line = 0;
	int count = 0;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p)), *nm;
		uint64_t addr;
		size_t nlen;
		char type;

		if (!eol)
			eol = end;
		line++;
		while (eol > p && (eol[-1] == '\r' || eol[-1] == ' '))
			eol--;
		if (eol > p) {
			if (parse_line(p, eol, &addr, &type, &nm, &nlen)) {
				strbuf_addf(why, "%s line %lu is not 'ADDRESS TYPE NAME'",
					    name, line);
				return -EINVAL;
			}
			symtab_add(st, addr, type, nm, nlen);
			if (count < 0x7fffffff)
				count++;
		}
		p = memchr(p, '\n', (size_t)(end - p));
		if (!p)
			break;
		p++;
	}
	if (!count) {
		strbuf_addf(why, "%s holds no symbols", name);
		return -EINVAL;
	}
	symtab_finish(st);
	return count;
}

int sysmap_load(const char *path, struct symtab *st, struct strbuf *why)
{
	struct stat sb;
	char *data = NULL;
	size_t got = 0;
	ssize_t n;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		strbuf_addf(why, "%s: cannot open: %s", path, strerror(-rc));
		return rc;
	}
	if (fstat(fd, &sb) < 0) {
		rc = -errno;
		strbuf_addf(why, "%s: cannot stat: %s", path, strerror(-rc));
		goto out_close;
	}
	if (!S_ISREG(sb.st_mode) || (uint64_t)sb.st_size > SYSMAP_MAX_BYTES) {
		strbuf_addf(why, "%s: not a regular file of at most %u MiB",
			    path, SYSMAP_MAX_BYTES >> 20);
		rc = -EINVAL;
		goto out_close;
	}
	data = xmalloc((size_t)sb.st_size + 1);
	while (got < (size_t)sb.st_size) {
		n = read(fd, data + got, (size_t)sb.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;
			strbuf_addf(why, "%s: cannot read: %s", path,
				    strerror(-rc));
			goto out_free;
		}
		got += (size_t)n;
	}
	rc = sysmap_parse(data, got, path, st, why);
out_free:
	free(data);
out_close:
	close(fd);
	return rc;
}
