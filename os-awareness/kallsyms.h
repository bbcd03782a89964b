/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The Linux kernel's compressed kallsyms tables: their decoder into a
 * symbol table (symtab.h), and the finder of the tables by their signature
 * when VMCOREINFO does not say where they are. Guest memory is read through
 * a callback only.
 */
#ifndef XENSTUB_KALLSYMS_H
#define XENSTUB_KALLSYMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "os-awareness/symtab.h"
#include "stub/base/strbuf.h"

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
