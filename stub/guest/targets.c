// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The target registry of the xenstub program: live Xen domains and dumps.
 */
#include <stddef.h>

#include "stub/guest/target.h"

const struct target_ops *const target_types[] = {
	&target_core,
	&target_raw,
	&target_xen,
	NULL,
};
