/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the kallsyms decoder (kallsyms.c) and the finder of its tables by
 * signature (kallsyms-scan.c) share: a windowed reader of guest memory and
 * the decoding of each table. Not for other modules: kallsyms.h is the API.
 */
#ifndef XENSTUB_OS_KALLSYMS_INTERNAL_H
#define XENSTUB_OS_KALLSYMS_INTERNAL_H

#include "os-awareness/kallsyms.h"

/* Guest memory read through a window of 64 KiB, centred on the last
 * address asked for: the walks over the tables go both ways. */
struct ks_src {
	ks_read_fn rd;
	void *ctx;
	uint64_t base;		/* guest address of buf[0] */
	size_t len;		/* valid bytes in buf */
	uint8_t *buf;
};

void ks_src_init(struct ks_src *s, ks_read_fn rd, void *ctx);
void ks_src_release(struct ks_src *s);
/* Copies n bytes at addr, through the window when they fit in it: 0 or
 * the reader's -errno (-EFAULT when the range wraps). */
int ks_src_read(struct ks_src *s, uint64_t addr, void *out, size_t n);
/* The little-endian number of n (at most 8) bytes at addr: 0 or -errno. */
int ks_src_u(struct ks_src *s, uint64_t addr, unsigned n, uint64_t *v);

/* The 256 tokens names are compressed with. */
struct ks_tokens {
	uint16_t off[256];	/* in text */
	uint16_t len[256];
	char *text;		/* 256 NUL-terminated tokens */
};

/* Reads and checks the token index and table: each token starts where the
 * index says, right after the previous one, and is 1..KS_MAX_NAME long.
 * 0 with tk->text malloc'd (the caller frees it), or -errno with why and
 * tk->text NULL. */
int ks_load_tokens(struct ks_src *s, uint64_t table, uint64_t index,
		   struct ks_tokens *tk, struct strbuf *why);

/* Decoded names: each symbol's type letter and name. */
struct ks_names {
	uint32_t n;
	uint32_t *name;		/* offset in pool, per symbol */
	char *type;
	struct strbuf pool;
	uint64_t end;		/* address after the last entry */
};

void ks_names_release(struct ks_names *nm);
/*
 * Decodes n entries from addr into *nm. big: a length byte with bit 7 set
 * starts a two-byte ULEB128 length (kernels >= 6.1). markers, when not
 * NULL, are checked as they go (every 256th entry's offset). keep: store
 * the names (else only nm->end is set). 0, or -errno with why and *nm
 * released.
 */
int ks_decode_names(struct ks_src *s, uint64_t addr, uint32_t n,
		    const struct ks_tokens *tk, bool big,
		    const uint64_t *markers, uint32_t nmarkers, bool keep,
		    struct ks_names *nm, struct strbuf *why);

/* Reads the n addresses of l's table into addr; with l->enc unknown,
 * picks an encoding from the data (*enc says which). 0 or -errno with
 * why. */
int ks_decode_addresses(struct ks_src *s, const struct ks_layout *l,
			uint32_t n, uint64_t *addr, enum ks_encoding *enc,
			struct strbuf *why);
/* How many of the n addresses are below the one before them. */
size_t ks_count_unsorted(const uint64_t *a, uint32_t n);
/* ks_decode() through an open reader. */
int ks_decode_with(struct ks_src *s, const struct ks_layout *l,
		   struct symtab *out, enum ks_encoding *enc_out,
		   struct strbuf *why);

#endif
