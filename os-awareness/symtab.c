// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The kernel symbol table: symbols in one array sorted by address (binary
 * search for "which symbol holds this address"), their names in one pool
 * and an open-addressing index of the names (global symbols win over
 * local ones of the same name).
 */
#include "os-awareness/symtab.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "stub/base/alloc.h"

void symtab_init(struct symtab *st)
{
	memset(st, 0, sizeof(*st));
	strbuf_init(&st->pool, 0);
}

void symtab_release(struct symtab *st)
{
	free(st->syms);
	free(st->index);
	strbuf_release(&st->pool);
	memset(st, 0, sizeof(*st));
	strbuf_init(&st->pool, 0);
}

void symtab_add(struct symtab *st, uint64_t addr, char type, const char *name,
		size_t len)
{
	struct ksym *s;

	if (st->nsyms == st->alloc) {
		st->alloc = st->alloc ? st->alloc * 2 : 1024;
		st->syms = xrealloc(st->syms, st_mult(st->alloc, sizeof(*st->syms)));
	}
	s = &st->syms[st->nsyms++];
	s->addr = addr;
	s->type = type;
	s->name = (uint32_t)st->pool.len;
	strbuf_add(&st->pool, name, len);
	strbuf_addch(&st->pool, 0);
}

static uint32_t name_hash(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h;
}

static int cmp_addr(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	/* insertion order breaks ties: the pool grows with each add */
	return x->name < y->name ? -1 : x->name > y->name;
}

static void index_names(struct symtab *st)
{
	size_t i;

	free(st->index);
	st->nindex = 16;
	while (st->nindex < st->nsyms * 2)
		st->nindex <<= 1;
	st->index = xcalloc(st->nindex, sizeof(*st->index));
	for (i = 0; i < st->nsyms; i++) {
		const char *name = symtab_name(st, &st->syms[i]);
		size_t h = name_hash(name) & (st->nindex - 1);

		for (;; h = (h + 1) & (st->nindex - 1)) {
			uint32_t cur = st->index[h];
			const struct ksym *old;

			if (!cur) {
				st->index[h] = (uint32_t)(i + 1);
				break;
			}
			old = &st->syms[cur - 1];
			if (strcmp(symtab_name(st, old), name))
				continue;
			/* a global symbol wins over a local one of that name */
			if (islower((unsigned char)old->type) &&
			    isupper((unsigned char)st->syms[i].type))
				st->index[h] = (uint32_t)(i + 1);
			break;
		}
	}
}

void symtab_finish(struct symtab *st)
{
	if (st->nsyms)
		qsort(st->syms, st->nsyms, sizeof(*st->syms), cmp_addr);
	index_names(st);
}

void symtab_shift(struct symtab *st, uint64_t min, int64_t delta)
{
	size_t i;

	for (i = 0; i < st->nsyms; i++)
		if (st->syms[i].addr >= min)
			st->syms[i].addr += (uint64_t)delta;
	symtab_finish(st);
}

const struct ksym *symtab_find(const struct symtab *st, const char *name)
{
	size_t h;

	if (!st->nindex)
		return NULL;
	for (h = name_hash(name) & (st->nindex - 1);;
	     h = (h + 1) & (st->nindex - 1)) {
		uint32_t cur = st->index[h];

		if (!cur)
			return NULL;
		if (!strcmp(symtab_name(st, &st->syms[cur - 1]), name))
			return &st->syms[cur - 1];
	}
}

bool symtab_lookup(const struct symtab *st, const char *name, uint64_t *addr)
{
	const struct ksym *s = symtab_find(st, name);

	if (s && addr)
		*addr = s->addr;
	return s != NULL;
}

const struct ksym *symtab_at(const struct symtab *st, uint64_t addr)
{
	size_t lo = 0, hi = st->nsyms;

	if (!st->nsyms || st->syms[0].addr > addr)
		return NULL;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (st->syms[mid].addr <= addr)
			lo = mid;
		else
			hi = mid;
	}
	/* the last of equal addresses is the one "at" addr */
	return &st->syms[lo];
}
