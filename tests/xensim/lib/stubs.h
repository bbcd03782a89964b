/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Exported entry points of the Xen libraries that xensim does not model:
 * each says so on stderr and fails with ENOSYS, so that a program using
 * one starts, and fails visibly at the call instead of being lied to.
 * The translation units using these macros include no Xen header, so the
 * stubs need not repeat the real prototypes (the C ABI of "return -1" or
 * "return NULL" is the same whatever the parameters).
 */
#ifndef XENSIM_LIB_STUBS_H
#define XENSIM_LIB_STUBS_H

#include <stddef.h>

#include "tests/xensim/lib/client.h"

#define SIM_STUB_INT(name)                                                   \
	SIM_EXPORT int name(void);                                           \
	int name(void)                                                       \
	{                                                                    \
		sim_not_modelled(#name);                                     \
		return -1;                                                   \
	}

#define SIM_STUB_PTR(name)                                                   \
	SIM_EXPORT void *name(void);                                         \
	void *name(void)                                                     \
	{                                                                    \
		sim_not_modelled(#name);                                     \
		return NULL;                                                 \
	}

#define SIM_STUB_FALSE(name)                                                 \
	SIM_EXPORT _Bool name(void);                                         \
	_Bool name(void)                                                     \
	{                                                                    \
		sim_not_modelled(#name);                                     \
		return 0;                                                    \
	}

#define SIM_STUB_VOID(name)                                                  \
	SIM_EXPORT void name(void);                                          \
	void name(void)                                                      \
	{                                                                    \
		sim_not_modelled(#name);                                     \
	}

#endif
