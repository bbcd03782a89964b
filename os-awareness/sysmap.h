/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * System.map files ("ADDRESS TYPE NAME" lines, as nm prints them): the
 * kernel's link-time symbols, read into a symbol table. The caller applies
 * the KASLR slide it finds in guest memory.
 */
#ifndef XENSTUB_SYSMAP_H
#define XENSTUB_SYSMAP_H

#include <stddef.h>

#include "os-awareness/symtab.h"
#include "stub/base/strbuf.h"

/*
 * Parses a System.map held in memory into st (initialised by the caller;
 * symtab_finish() is called). name is used in messages. Returns the number
 * of symbols, or -EINVAL with why ("System.map line 12: ...") when a line
 * is malformed or nothing was read.
 */
int sysmap_parse(const char *data, size_t len, const char *name,
		 struct symtab *st, struct strbuf *why);
/* Reads and parses a file: symbols, or -errno with why. */
int sysmap_load(const char *path, struct symtab *st, struct strbuf *why);

#endif
