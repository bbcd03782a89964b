/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Kernel symbol tables: the table every symbol source fills (kallsyms read
 * from guest memory, System.map files, ISF profiles), and the decoder of the
 * Linux kernel's compressed kallsyms tables, found through VMCOREINFO or by
 * their signature. Guest memory is read through a callback only.
 */
#ifndef XENSTUB_KALLSYMS_H
#define XENSTUB_KALLSYMS_H

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
 * table owns all its memory.
 */
struct symtab {
	struct ksym *syms;
	size_t nsyms, alloc;
	struct strbuf pool;	/* NUL-separated names */
	uint32_t *index;	/* open addressing: 1 + position in syms */
	size_t nindex;		/* a power of two, 0 before finish */
};

void symtab_init(struct symtab *st);
void symtab_release(struct symtab *st);
/* Adds a symbol (name of len bytes, need not be NUL-terminated). */
void symtab_add(struct symtab *st, uint64_t addr, char type, const char *name,
		size_t len);
/* Sorts by address and indexes the names; call once after the adds. */
void symtab_finish(struct symtab *st);
/* Adds delta to every address not below min (a KASLR slide applied to
 * link-time addresses; per-CPU offsets below min stay as they are). */
void symtab_shift(struct symtab *st, uint64_t min, int64_t delta);

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
/* True with *addr when name is in the table. */
bool symtab_lookup(const struct symtab *st, const char *name, uint64_t *addr);
/* The symbol with the greatest address <= addr, or NULL. */
const struct ksym *symtab_at(const struct symtab *st, uint64_t addr);

/* Reads len bytes of guest memory at a kernel virtual address: 0 or
 * -errno. */
typedef int (*ks_read_fn)(void *ctx, uint64_t addr, void *buf, size_t len);

/* How kallsyms encodes addresses, by kernel generation. */
enum ks_encoding {
	KS_ENC_UNKNOWN = 0,	/* ks_decode() decides from the data */
	KS_ABSOLUTE,		/* kallsyms_addresses[]: full pointers */
	KS_BASE_RELATIVE,	/* kallsyms_relative_base + (u32)offset */
	KS_ABSOLUTE_PERCPU,	/* offset >= 0: absolute; < 0: base - 1 - offset */
	KS_PLACE_RELATIVE,	/* &kallsyms_offsets[i] + (s32)offset (7.0+) */
};

const char *ks_encoding_name(enum ks_encoding e);

/* Where the tables are, at kernel virtual addresses (0 = unknown). */
struct ks_layout {
	unsigned ptr_size;		/* 8 or 4 */
	uint64_t num_syms;		/* &kallsyms_num_syms */
	uint64_t names;			/* kallsyms_names */
	uint64_t markers;		/* kallsyms_markers, or 0 */
	unsigned marker_size;		/* 4 or 8 bytes, with markers */
	uint64_t token_table;
	uint64_t token_index;
	uint64_t addresses;		/* kallsyms_addresses / _offsets */
	uint64_t relative_base;		/* &kallsyms_relative_base, or 0 */
	enum ks_encoding enc;
};

/* Upper bounds every decode respects. */
#define KS_MAX_SYMS (4u << 20)
#define KS_MAX_NAME 1024

/*
 * Decodes the tables described by l into out (which the caller has
 * initialised; symbols are added and symtab_finish() is called). With
 * l->enc unknown the encoding is chosen from the data; *enc_out (may be
 * NULL) says which. 0, or -EINVAL/-EFAULT with why.
 */
int ks_decode(const struct ks_layout *l, ks_read_fn rd, void *ctx,
	      struct symtab *out, enum ks_encoding *enc_out,
	      struct strbuf *why);

/*
 * Looks for the kallsyms tables in [start, end) by their signature (the
 * token table's "0".."9" run, the token index after it, the markers and
 * the symbol count before it) and fills *l; parts that cannot be read are
 * skipped. text_hint, when not 0, is an address known to be kernel code:
 * the decoded table must place it in a text symbol. Returns 0, -ENOENT
 * when nothing matched (why says what was tried), or -errno.
 */
int ks_scan(ks_read_fn rd, void *ctx, uint64_t start, uint64_t end,
	    unsigned ptr_size, uint64_t text_hint, struct ks_layout *l,
	    struct strbuf *why);

#endif
