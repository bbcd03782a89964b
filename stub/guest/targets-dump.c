// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The target registry of programs built without the Xen libraries (unit
 * tests, tools that only read dumps).
 */
#include <stddef.h>

#include "stub/guest/target.h"

const struct target_ops *const target_types[] = {
	&target_core,
	&target_raw,
	NULL,
};
