// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Parsing numbers from the command line and from monitor commands.
 */
#include "stub/base/num.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>

int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	if (!*s || *s == '-')
		return -EINVAL;
	errno = 0;
	*v = strtoull(s, &end, 0);
	if (errno || end == s)
		return -EINVAL;
	while (isspace((unsigned char)*end))
		end++;
	return *end ? -EINVAL : 0;
}
