// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Xen "xl dump-core" files: placeholder until the parser lands.
 */
#include <errno.h>
#include <string.h>

#include "stub/dump.h"
#include "stub/strbuf.h"

int dump_is_xen_core(const uint8_t *data, size_t size)
{
	(void)data;
	(void)size;
	return 0;
}

int dump_parse_xen_core(const uint8_t *data, size_t size, const char *name,
			struct dump_image *out, char **msg)
{
	(void)data;
	(void)size;
	memset(out, 0, sizeof(*out));
	*msg = xstrfmt("%s: Xen dump-core files are not supported yet", name);
	return -EOPNOTSUPP;
}
