/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The symbol table every kernel symbol source fills (kallsyms read from
 * guest memory, System.map files, ISF profiles) and the OS modules read:
 * add, sort, look up by name or by address, iterate in address order.
 */
#ifndef XENSTUB_OS_SYMTAB_H
#define XENSTUB_OS_SYMTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stub/base/strbuf.h"

/* One symbol: its address, its nm-style type letter and its name. */
struct ksym {
	uint64_t addr;
	uint32_t name;		/* offset of the name in the table's pool */
	char type;		/* 'T', 't', 'D', 'A', ... or '?' */
};

/*
 * A symbol table. Invariant after symtab_finish(): syms is sorted by
 * address (ties keep insertion order) and every name is indexed; the
 * table owns all its memory. Lookups see only what the last
 * symtab_finish() sorted and indexed.
 */
struct symtab {
	struct ksym *syms;
	size_t nsyms, alloc;
	struct strbuf pool;	/* NUL-separated names */
	uint32_t *index;	/* open addressing: 1 + position in syms */
	size_t nindex;		/* a power of two, 0 before finish */
};

void symtab_init(struct symtab *st);
/* Frees everything; the table is empty and usable again after it. */
void symtab_release(struct symtab *st);
/* Adds a symbol (name of len bytes, need not be NUL-terminated). A
 * symbol added invalidates the struct ksym pointers and names handed out
 * before it, until the next symtab_finish(). */
void symtab_add(struct symtab *st, uint64_t addr, char type, const char *name,
		size_t len);
/* Sorts by address and indexes the names; call after the adds. */
void symtab_finish(struct symtab *st);
/* Adds delta to every address not below min (a KASLR slide applied to
 * link-time addresses; per-CPU offsets below min stay as they are), then
 * sorts again. */
void symtab_shift(struct symtab *st, uint64_t min, int64_t delta);

/* The name of s, a symbol of st. */
static inline const char *symtab_name(const struct symtab *st,
				      const struct ksym *s)
{
	return st->pool.buf + s->name;
}

/*
 * The symbol called name: a global one (upper-case type) when there are
 * several, else the first by address. NULL when absent.
 */
const struct ksym *symtab_find(const struct symtab *st, const char *name);
/* True with *addr (may be NULL) when name is in the table. */
bool symtab_lookup(const struct symtab *st, const char *name, uint64_t *addr);
/* The symbol with the greatest address <= addr (the last added of equal
 * addresses), or NULL. */
const struct ksym *symtab_at(const struct symtab *st, uint64_t addr);

/* Iteration in address order: symtab_next(st, NULL) is the first symbol,
 * symtab_next(st, s) the one after s; NULL after the last. */
static inline const struct ksym *symtab_next(const struct symtab *st,
					     const struct ksym *s)
{
	s = s ? s + 1 : st->syms;
	return s && s < st->syms + st->nsyms ? s : NULL;
}

/* The number of symbols. */
static inline size_t symtab_count(const struct symtab *st)
{
	return st->nsyms;
}

#endif
