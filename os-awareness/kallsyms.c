// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Kernel symbol tables and the kallsyms decoder: reads the compressed name
 * stream, the token table and the address table of every encoding kernels
 * have used, and finds the tables by signature when nothing says where
 * they are. Every count, length and position read from the guest is
 * checked against a bound before it is used.
 */
#include "os-awareness/kallsyms.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "stub/base/log.h"
#include "stub/base/num.h"

/* ---- the symbol table ---- */

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

/* ---- reading guest memory through a window ---- */

#define WINDOW (64u * 1024)

struct ks_src {
	ks_read_fn rd;
	void *ctx;
	uint64_t base;		/* guest address of buf[0] */
	size_t len;		/* valid bytes in buf */
	uint8_t *buf;
};

static void src_init(struct ks_src *s, ks_read_fn rd, void *ctx)
{
	memset(s, 0, sizeof(*s));
	s->rd = rd;
	s->ctx = ctx;
	s->buf = xmalloc(WINDOW);
}

static void src_release(struct ks_src *s)
{
	free(s->buf);
	s->buf = NULL;
}

/* Copies n bytes at addr, through the window when they fit in it. */
static int src_read(struct ks_src *s, uint64_t addr, void *out, size_t n)
{
	int rc;

	if (addr + n < addr)
		return -EFAULT;
	if (addr >= s->base && addr + n <= s->base + s->len) {
		memcpy(out, s->buf + (addr - s->base), n);
		return 0;
	}
	if (n > WINDOW / 4)
		return s->rd(s->ctx, addr, out, n);
	/* centred on addr: walks go forwards and backwards */
	if (addr >= WINDOW / 2 &&
	    s->rd(s->ctx, addr - WINDOW / 2, s->buf, WINDOW) == 0) {
		s->base = addr - WINDOW / 2;
		s->len = WINDOW;
	} else if ((rc = s->rd(s->ctx, addr, s->buf, WINDOW)) == 0) {
		s->base = addr;
		s->len = WINDOW;
	} else {
		/* the window runs into unmapped memory: read just what was
		 * asked for */
		s->len = 0;
		rc = s->rd(s->ctx, addr, s->buf, n);
		if (rc)
			return rc;
		s->base = addr;
		s->len = n;
	}
	memcpy(out, s->buf + (addr - s->base), n);
	return 0;
}

static int src_u(struct ks_src *s, uint64_t addr, unsigned n, uint64_t *v)
{
	uint8_t b[8];
	int rc = src_read(s, addr, b, n);

	if (rc)
		return rc;
	*v = get_le(b, n);
	return 0;
}

/* ---- tokens ---- */

struct ks_tokens {
	uint16_t off[256];	/* in text */
	uint16_t len[256];
	char *text;		/* 256 NUL-terminated tokens */
};

/* Reads and checks the token index and table: each token starts where the
 * index says, right after the previous one, and is 1..KS_MAX_NAME long. */
static int load_tokens(struct ks_src *s, uint64_t table, uint64_t index,
		       struct ks_tokens *tk, struct strbuf *why)
{
	uint8_t raw[512];
	size_t size, i;
	int rc;

	tk->text = NULL;
	rc = src_read(s, index, raw, sizeof(raw));
	if (rc) {
		strbuf_addf(why, "kallsyms_token_index at 0x%llx cannot be read",
			    (unsigned long long)index);
		return rc;
	}
	for (i = 0; i < 256; i++)
		tk->off[i] = (uint16_t)get_le(raw + 2 * i, 2);
	if (tk->off[0] != 0) {
		strbuf_addstr(why, "kallsyms_token_index does not start at 0");
		return -EINVAL;
	}
	size = (size_t)tk->off[255] + KS_MAX_NAME + 1;
	tk->text = xmalloc(size + 1);
	/* the last token may end near unmapped memory: shrink until read */
	while ((rc = src_read(s, table, tk->text, size)) != 0 &&
	       size > (size_t)tk->off[255] + 2)
		size = (size + tk->off[255] + 2) / 2;
	if (rc) {
		strbuf_addf(why, "kallsyms_token_table at 0x%llx cannot be read",
			    (unsigned long long)table);
		goto fail;
	}
	tk->text[size] = 0;
	for (i = 0; i < 256; i++) {
		size_t end = i < 255 ? tk->off[i + 1] : size;
		size_t l = strnlen(tk->text + tk->off[i], end - tk->off[i]);

		if (tk->off[i] >= end || l == 0 || l > KS_MAX_NAME ||
		    (i < 255 && tk->off[i] + l + 1 != tk->off[i + 1]) ||
		    (i == 255 && tk->off[i] + l >= size)) {
			strbuf_addf(why, "kallsyms token %zu is malformed", i);
			rc = -EINVAL;
			goto fail;
		}
		tk->len[i] = (uint16_t)l;
	}
	return 0;
fail:
	free(tk->text);
	tk->text = NULL;
	return rc;
}

/* ---- names ---- */

struct ks_names {
	uint32_t n;
	uint32_t *name;		/* offset in pool, per symbol */
	char *type;
	struct strbuf pool;
	uint64_t end;		/* address after the last entry */
};

static void names_release(struct ks_names *nm)
{
	free(nm->name);
	free(nm->type);
	strbuf_release(&nm->pool);
	memset(nm, 0, sizeof(*nm));
}

/*
 * Decodes n entries from addr. big: a length byte with bit 7 set starts a
 * two-byte ULEB128 length (kernels >= 6.1). markers, when not NULL, are
 * checked as they go (every 256th entry's offset). keep: store the names.
 */
static int decode_names(struct ks_src *s, uint64_t addr, uint32_t n,
			const struct ks_tokens *tk, bool big,
			const uint64_t *markers, uint32_t nmarkers, bool keep,
			struct ks_names *nm, struct strbuf *why)
{
	uint64_t pos = addr;
	char name[KS_MAX_NAME + 1];
	uint8_t code[0x4000];
	uint32_t i;
	int rc;

	memset(nm, 0, sizeof(*nm));
	strbuf_init(&nm->pool, 0);
	nm->n = n;
	if (keep) {
		nm->name = xcalloc(n ? n : 1, sizeof(*nm->name));
		nm->type = xcalloc(n ? n : 1, 1);
	}
	for (i = 0; i < n; i++) {
		uint64_t len;
		size_t nl = 0, k;

		if (markers && (i & 0xff) == 0) {
			if (i / 256 >= nmarkers ||
			    markers[i / 256] != pos - addr) {
				strbuf_addf(why, "kallsyms_markers[%u] does not match the name stream",
					    i / 256);
				rc = -EINVAL;
				goto fail;
			}
		}
		rc = src_u(s, pos, 1, &len);
		if (rc)
			goto unreadable;
		pos++;
		if (big && (len & 0x80)) {
			uint64_t hi;

			rc = src_u(s, pos, 1, &hi);
			if (rc)
				goto unreadable;
			pos++;
			len = (len & 0x7f) | hi << 7;
		}
		if (len == 0 || len > sizeof(code)) {
			strbuf_addf(why, "kallsyms name %u has length %llu", i,
				    (unsigned long long)len);
			rc = -EINVAL;
			goto fail;
		}
		rc = src_read(s, pos, code, len);
		if (rc)
			goto unreadable;
		pos += len;
		if (!keep)
			continue;
		for (k = 0; k < len; k++) {
			size_t tl = tk->len[code[k]];

			if (nl + tl > KS_MAX_NAME)
				tl = KS_MAX_NAME - nl;
			memcpy(name + nl, tk->text + tk->off[code[k]], tl);
			nl += tl;
		}
		name[nl] = 0;
		nm->type[i] = nl ? name[0] : '?';
		nm->name[i] = (uint32_t)nm->pool.len;
		strbuf_add(&nm->pool, nl ? name + 1 : "", nl ? nl - 1 : 0);
		strbuf_addch(&nm->pool, 0);
	}
	nm->end = pos;
	return 0;
unreadable:
	strbuf_addf(why, "kallsyms_names cannot be read at 0x%llx (entry %u)",
		    (unsigned long long)pos, i);
fail:
	names_release(nm);
	return rc;
}

/* ---- addresses ---- */

const char *ks_encoding_name(enum ks_encoding e)
{
	switch (e) {
	case KS_ABSOLUTE: return "absolute addresses";
	case KS_BASE_RELATIVE: return "base-relative offsets";
	case KS_ABSOLUTE_PERCPU: return "base-relative offsets with absolute per-CPU";
	case KS_PLACE_RELATIVE: return "place-relative offsets";
	default: return "unknown encoding";
	}
}

/* Reads the address table; with enc unknown, picks one from the data. */
static int decode_addresses(struct ks_src *s, const struct ks_layout *l,
			    uint32_t n, uint64_t *addr, enum ks_encoding *enc,
			    struct strbuf *why)
{
	unsigned esize = l->enc == KS_ABSOLUTE ? l->ptr_size : 4;
	uint64_t mask = l->ptr_size == 4 ? 0xffffffffull : ~0ull;
	uint64_t base = 0, v;
	uint32_t i;
	bool negative = false;
	int rc;

	*enc = l->enc;
	if (*enc == KS_ENC_UNKNOWN)
		*enc = l->relative_base ? KS_BASE_RELATIVE : KS_PLACE_RELATIVE;
	if (l->relative_base && *enc != KS_ABSOLUTE &&
	    *enc != KS_PLACE_RELATIVE) {
		rc = src_u(s, l->relative_base, l->ptr_size, &base);
		if (rc) {
			strbuf_addf(why, "kallsyms_relative_base at 0x%llx cannot be read",
				    (unsigned long long)l->relative_base);
			return rc;
		}
	}
	for (i = 0; i < n; i++) {
		rc = src_u(s, l->addresses + (uint64_t)i * esize, esize, &v);
		if (rc) {
			strbuf_addf(why, "the kallsyms address table cannot be read at entry %u",
				    i);
			return rc;
		}
		addr[i] = v;
		if (esize == 4 && (int32_t)(uint32_t)v < 0)
			negative = true;
	}
	if (l->enc == KS_ENC_UNKNOWN && *enc == KS_BASE_RELATIVE && negative)
		*enc = KS_ABSOLUTE_PERCPU;
	for (i = 0; i < n; i++) {
		int32_t o = (int32_t)(uint32_t)addr[i];

		switch (*enc) {
		case KS_ABSOLUTE:
			break;
		case KS_BASE_RELATIVE:
			addr[i] = base + (uint32_t)addr[i];
			break;
		case KS_ABSOLUTE_PERCPU:
			addr[i] = o >= 0 ? (uint64_t)o : base - 1 - (uint64_t)(int64_t)o;
			break;
		case KS_PLACE_RELATIVE:
			addr[i] = l->addresses + (uint64_t)i * 4 + (uint64_t)(int64_t)o;
			break;
		default:
			return -EINVAL;
		}
		addr[i] &= mask;
	}
	return 0;
}

static size_t count_unsorted(const uint64_t *a, uint32_t n)
{
	size_t bad = 0;
	uint32_t i;

	for (i = 1; i < n; i++)
		if (a[i] < a[i - 1])
			bad++;
	return bad;
}

/* Reads kallsyms_num_syms: a u32, or a pointer-sized count in old kernels. */
static int read_count(struct ks_src *s, const struct ks_layout *l,
		      uint32_t *n, struct strbuf *why)
{
	uint64_t v;
	int rc = src_u(s, l->num_syms, 4, &v);

	if (rc) {
		strbuf_addf(why, "kallsyms_num_syms at 0x%llx cannot be read",
			    (unsigned long long)l->num_syms);
		return rc;
	}
	if (v == 0 || v > KS_MAX_SYMS) {
		strbuf_addf(why, "kallsyms_num_syms is %llu", (unsigned long long)v);
		return -EINVAL;
	}
	*n = (uint32_t)v;
	return 0;
}

static int read_markers(struct ks_src *s, const struct ks_layout *l,
			uint32_t n, uint64_t **out, uint32_t *count)
{
	uint32_t m = (n + 255) / 256, i;
	uint64_t *mk;
	int rc;

	*out = NULL;
	*count = 0;
	if (!l->markers)
		return 0;
	mk = xcalloc(m, sizeof(*mk));
	for (i = 0; i < m; i++) {
		rc = src_u(s, l->markers + (uint64_t)i * l->marker_size,
			   l->marker_size, &mk[i]);
		if (rc) {
			free(mk);
			return rc;
		}
	}
	*out = mk;
	*count = m;
	return 0;
}

static int decode_with(struct ks_src *s, const struct ks_layout *l,
		       struct symtab *out, enum ks_encoding *enc_out,
		       struct strbuf *why)
{
	struct ks_tokens tk = { .text = NULL };
	struct ks_names nm;
	uint64_t *addr = NULL, *markers = NULL;
	uint32_t n, nmarkers = 0, i;
	enum ks_encoding enc;
	size_t bad;
	int rc;

	rc = read_count(s, l, &n, why);
	if (rc)
		return rc;
	rc = load_tokens(s, l->token_table, l->token_index, &tk, why);
	if (rc)
		return rc;
	if (l->markers && read_markers(s, l, n, &markers, &nmarkers))
		log_dbg(LC_OS, "kallsyms_markers unreadable; names unchecked");
	/* two-byte lengths first (6.1+, and harmless before); with markers
	 * to check against, fall back to one-byte lengths */
	rc = decode_names(s, l->names, n, &tk, true, markers, nmarkers, true,
			  &nm, why);
	if (rc && markers) {
		strbuf_reset(why);
		rc = decode_names(s, l->names, n, &tk, false, markers,
				  nmarkers, true, &nm, why);
	}
	if (rc)
		goto out_tokens;
	addr = xcalloc(n, sizeof(*addr));
	rc = decode_addresses(s, l, n, addr, &enc, why);
	if (rc)
		goto out_names;
	bad = count_unsorted(addr, n);
	if (bad)
		log_dbg(LC_OS, "kallsyms: %zu of %u addresses out of order (%s)",
			bad, n, ks_encoding_name(enc));
	for (i = 0; i < n; i++) {
		const char *name = nm.pool.buf + nm.name[i];

		symtab_add(out, addr[i], nm.type[i], name, strlen(name));
	}
	symtab_finish(out);
	if (enc_out)
		*enc_out = enc;
out_names:
	free(addr);
	names_release(&nm);
out_tokens:
	free(markers);
	free(tk.text);
	return rc;
}

int ks_decode(const struct ks_layout *l, ks_read_fn rd, void *ctx,
	      struct symtab *out, enum ks_encoding *enc_out,
	      struct strbuf *why)
{
	struct ks_src s;
	int rc;

	if (!l->num_syms || !l->names || !l->token_table || !l->token_index ||
	    !l->addresses || (l->ptr_size != 4 && l->ptr_size != 8)) {
		strbuf_addstr(why, "the kallsyms table addresses are incomplete");
		return -EINVAL;
	}
	src_init(&s, rd, ctx);
	rc = decode_with(&s, l, out, enc_out, why);
	src_release(&s);
	return rc;
}

/* ---- finding the tables by signature ---- */

static const char digits_sig[] = "0\0" "1\0" "2\0" "3\0" "4\0" "5\0" "6\0"
				 "7\0" "8\0" "9";	/* + its NUL: 20 bytes */

static uint64_t align_up(uint64_t v, unsigned a)
{
	return (v + a - 1) & ~(uint64_t)(a - 1);
}

/* From a "0".."9" hit, the token table and index around it. */
static int tokens_at_hit(struct ks_src *s, uint64_t hit, unsigned ptr_size,
			 struct ks_layout *l, struct ks_tokens *tk)
{
	static const unsigned aligns[] = { 8, 4, 2 };
	uint64_t p = hit + sizeof(digits_sig), tt, ti = 0;
	unsigned k, a;
	char c;
	struct strbuf ignore = STRBUF_INIT;
	int rc = -ENOENT;

	/* walk over tokens 0x3a..0xff to the end of the table */
	for (k = 0x3a; k <= 0xff; k++) {
		size_t len = 0;

		do {
			if (src_read(s, p + len, &c, 1))
				return -ENOENT;
			len++;
		} while (c && len <= KS_MAX_NAME);
		if (c || len == 1)
			return -ENOENT;
		p += len;
	}
	for (a = 0; a < sizeof(aligns) / sizeof(aligns[0]); a++) {
		uint64_t idx30, cand = align_up(p, aligns[a]);

		if (aligns[a] > ptr_size || (a && cand == ti))
			continue;
		ti = cand;
		if (src_u(s, ti + 2 * 0x30, 2, &idx30) || idx30 > hit)
			continue;
		tt = hit - idx30;
		rc = load_tokens(s, tt, ti, tk, &ignore);
		strbuf_reset(&ignore);
		if (rc == 0 && tt + tk->off[255] + tk->len[255] + 1 == p) {
			l->token_table = tt;
			l->token_index = ti;
			break;
		}
		if (rc == 0) {
			free(tk->text);
			tk->text = NULL;
		}
		rc = -ENOENT;
	}
	strbuf_release(&ignore);
	return rc;
}

/* The length of a run of markers ending at end (exclusive) with entries of
 * ms bytes: decreasing backwards by at least 256 two-byte names and at
 * most 256 of the longest, down to markers[0] == 0. 0 when there is none. */
static uint32_t marker_run(struct ks_src *s, uint64_t end, unsigned ms)
{
	uint64_t v, prev = ~0ull;
	uint32_t m = 0;

	for (;;) {
		uint64_t at = end - (uint64_t)(m + 1) * ms;

		if (m >= KS_MAX_SYMS / 256 || at > end || src_u(s, at, ms, &v))
			return 0;
		if (v >= prev || (prev != ~0ull &&
				  (prev - v < 2 * 256 ||
				   prev - v > 256ull * (KS_MAX_NAME + 2))))
			return 0;
		m++;
		prev = v;
		if (v == 0)
			return m;
	}
}

/* Can gap bytes hold kallsyms_seqs_of_names (3 or 4 bytes per symbol,
 * then alignment) for a table with m markers? */
static bool seqs_fit(uint64_t gap, uint32_t m)
{
	uint64_t nmin = (uint64_t)(m - 1) * 256 + 1, nmax = (uint64_t)m * 256;
	unsigned esz;

	for (esz = 3; esz <= 4; esz++) {
		uint64_t hi = gap / esz, lo = gap > 7 ? (gap - 7 + esz - 1) / esz : 0;

		if (lo < nmin)
			lo = nmin;
		if (hi > nmax)
			hi = nmax;
		if (lo <= hi)
			return true;
	}
	return false;
}

/* Successive candidates for kallsyms_markers, nearest the token table
 * first: right before it, or before kallsyms_seqs_of_names (6.2 .. 6.3
 * and some stable kernels keep it between the two). */
struct marker_iter {
	uint64_t pos;
	unsigned tried;
};

static int next_markers(struct ks_src *s, struct ks_layout *l,
			struct marker_iter *it, uint64_t **out, uint32_t *count)
{
	uint64_t tt = l->token_table;
	uint64_t lowest = tt > 4ull * KS_MAX_SYMS + 64 ?
			  tt - 4ull * KS_MAX_SYMS - 64 : 0;

	while (it->pos > lowest + 8 && it->tried < 64) {
		uint64_t end = it->pos, gap = tt - end;
		unsigned ms;

		it->pos -= 4;
		for (ms = 4; ms <= 8; ms += 4) {
			uint32_t m, i;
			uint64_t *mk;

			if (end % ms)
				continue;
			m = marker_run(s, end, ms);
			if (!m || !(gap < 8 || (ms == 4 && seqs_fit(gap, m))))
				continue;
			it->tried++;
			mk = xcalloc(m, sizeof(*mk));
			for (i = 0; i < m; i++)
				src_u(s, end - (uint64_t)(m - i) * ms, ms, &mk[i]);
			*out = mk;
			*count = m;
			l->markers = end - (uint64_t)m * ms;
			l->marker_size = ms;
			return 0;
		}
	}
	return -ENOENT;
}

/* With markers found, the symbol count and the start of the names: the
 * count is a u32 (or a pointer-sized word in old kernels) just before the
 * names, and the names end right before the markers. */
static int find_names(struct ks_src *s, struct ks_layout *l,
		      const struct ks_tokens *tk, const uint64_t *mk,
		      uint32_t m, uint32_t *n_out)
{
	uint64_t last = mk[m - 1];
	uint64_t hi, lo, c;
	struct strbuf ignore = STRBUF_INIT;
	unsigned ps = l->ptr_size;

	if (l->markers < last + 8)
		return -ENOENT;
	hi = l->markers - last - 8;
	lo = hi > 256ull * (KS_MAX_NAME + 2) + 16 ?
	     hi - 256ull * (KS_MAX_NAME + 2) - 16 : 0;
	for (c = hi & ~3ull; c >= lo && c >= 4; c -= 4) {
		uint64_t v, starts[2];
		unsigned k;

		if (src_u(s, c, 4, &v) ||
		    v <= (uint64_t)(m - 1) * 256 || v > (uint64_t)m * 256)
			continue;
		starts[0] = align_up(c + 4, ps);
		starts[1] = c + 4;
		for (k = 0; k < 2; k++) {
			struct ks_names nm;
			int rc;

			if ((k == 1 && starts[1] == starts[0]) ||
			    starts[k] + last >= l->markers)
				continue;
			rc = decode_names(s, starts[k], (uint32_t)v, tk, true,
					  mk, m, false, &nm, &ignore);
			if (rc) {
				strbuf_reset(&ignore);
				rc = decode_names(s, starts[k], (uint32_t)v, tk,
						  false, mk, m, false, &nm,
						  &ignore);
			}
			strbuf_reset(&ignore);
			if (rc)
				continue;
			if (nm.end <= l->markers && l->markers - nm.end < 8) {
				l->names = starts[k];
				l->num_syms = c;
				*n_out = (uint32_t)v;
				names_release(&nm);
				strbuf_release(&ignore);
				return 0;
			}
			names_release(&nm);
		}
	}
	strbuf_release(&ignore);
	return -ENOENT;
}

/* Is the decoded table plausible: sorted, mostly inside [start, end), and
 * placing text_hint in a code symbol? */
static bool plausible(const struct symtab *st, uint64_t start, uint64_t end,
		      uint64_t text_hint)
{
	size_t inside = 0, i;
	const struct ksym *at;

	for (i = 0; i < st->nsyms; i++)
		if (st->syms[i].addr >= start && st->syms[i].addr < end)
			inside++;
	if (inside * 2 < st->nsyms)
		return false;
	if (!text_hint)
		return true;
	at = symtab_at(st, text_hint);
	return at && strchr("TtWw", at->type) &&
	       text_hint - at->addr < (1u << 20);
}

/* Tries the places and encodings the address table has had. */
static int find_addresses(struct ks_src *s, struct ks_layout *l, uint32_t n,
			  uint64_t start, uint64_t end, uint64_t text_hint,
			  struct strbuf *why)
{
	struct ks_layout c[8];
	unsigned nc = 0, i, ps = l->ptr_size;
	uint64_t x = l->num_syms & ~(uint64_t)(ps - 1);
	uint64_t after = l->token_index + 512;
	uint64_t *addr = xcalloc(n, sizeof(*addr));
	int rc = -ENOENT;

	/* old order: [offsets relative_base | addresses] num_syms ... */
	if (x >= ps + 4ull * n) {
		c[nc] = *l;
		c[nc].relative_base = x - ps;
		c[nc].addresses = (x - ps - 4ull * n) & ~(uint64_t)(ps - 1);
		c[nc++].enc = KS_ENC_UNKNOWN;
	}
	if (x >= (uint64_t)ps * n) {
		c[nc] = *l;
		c[nc].relative_base = 0;
		c[nc].addresses = x - (uint64_t)ps * n;
		c[nc++].enc = KS_ABSOLUTE;
	}
	/* new order (6.4+): ... token_index [offsets [relative_base] |
	 * addresses] */
	c[nc] = *l;
	c[nc].addresses = align_up(after, ps);
	c[nc].relative_base = align_up(c[nc].addresses + 4ull * n, ps);
	c[nc++].enc = KS_ENC_UNKNOWN;
	c[nc] = *l;
	c[nc].addresses = align_up(after, 4);
	c[nc].relative_base = 0;
	c[nc++].enc = KS_PLACE_RELATIVE;
	c[nc] = *l;
	c[nc].addresses = align_up(after, ps);
	c[nc].relative_base = 0;
	c[nc++].enc = KS_ABSOLUTE;

	for (i = 0; i < nc; i++) {
		struct strbuf ignore = STRBUF_INIT;
		enum ks_encoding enc;
		uint64_t base;
		bool ok;

		/* a relative base is the lowest kernel address: it must look
		 * like one */
		if (c[i].relative_base &&
		    (src_u(s, c[i].relative_base, ps, &base) ||
		     base < (start > (1ull << 30) ? start - (1ull << 30) : 0) ||
		     base >= end))
			continue;
		if (decode_addresses(s, &c[i], n, addr, &enc, &ignore)) {
			strbuf_release(&ignore);
			continue;
		}
		strbuf_release(&ignore);
		ok = count_unsorted(addr, n) <= n / 1000;
		if (ok) {
			struct symtab st;

			symtab_init(&st);
			c[i].enc = enc;
			if (decode_with(s, &c[i], &st, NULL, why) == 0 &&
			    plausible(&st, start, end, text_hint)) {
				*l = c[i];
				symtab_release(&st);
				rc = 0;
				break;
			}
			strbuf_reset(why);
			symtab_release(&st);
		}
	}
	free(addr);
	return rc;
}

struct scan_state {
	struct ks_src *s;
	uint64_t start, end, text_hint;
	unsigned ptr_size;
	struct ks_layout *l;
	unsigned hits;
	struct strbuf *why;
};

static int try_hit(struct scan_state *st, uint64_t hit)
{
	struct ks_layout l;
	struct ks_tokens tk = { .text = NULL };
	struct marker_iter it;
	uint64_t *mk = NULL;
	uint32_t m = 0, n;
	unsigned markers = 0, names = 0;
	int rc;

	st->hits++;
	memset(&l, 0, sizeof(l));
	l.ptr_size = st->ptr_size;
	rc = tokens_at_hit(st->s, hit, st->ptr_size, &l, &tk);
	if (rc)
		return rc;
	it.pos = l.token_table & ~3ull;
	it.tried = 0;
	while ((rc = next_markers(st->s, &l, &it, &mk, &m)) == 0) {
		markers++;
		rc = find_names(st->s, &l, &tk, mk, m, &n);
		free(mk);
		mk = NULL;
		if (rc)
			continue;
		names++;
		rc = find_addresses(st->s, &l, n, st->start, st->end,
				    st->text_hint, st->why);
		if (rc == 0) {
			*st->l = l;
			break;
		}
		strbuf_addf(st->why, "%skallsyms names at 0x%llx (%u symbols) but no address table that decodes",
			    st->why->len ? "; " : "",
			    (unsigned long long)l.names, n);
	}
	if (rc && !markers)
		strbuf_addf(st->why, "%stoken table at 0x%llx but no kallsyms_markers before it",
			    st->why->len ? "; " : "",
			    (unsigned long long)l.token_table);
	else if (rc && !names)
		strbuf_addf(st->why, "%stoken table at 0x%llx but no name stream matching the markers before it",
			    st->why->len ? "; " : "",
			    (unsigned long long)l.token_table);
	free(tk.text);
	return rc ? -ENOENT : 0;
}

int ks_scan(ks_read_fn rd, void *ctx, uint64_t start, uint64_t end,
	    unsigned ptr_size, uint64_t text_hint, struct ks_layout *l,
	    struct strbuf *why)
{
	const size_t chunk = 1u << 20, overlap = sizeof(digits_sig) - 1;
	struct ks_src s;
	struct scan_state st;
	uint8_t *buf;
	uint64_t pos;
	int rc = -ENOENT;

	if (end <= start || (ptr_size != 4 && ptr_size != 8))
		return -EINVAL;
	src_init(&s, rd, ctx);
	buf = xmalloc(chunk + overlap);
	memset(&st, 0, sizeof(st));
	st.s = &s;
	st.start = start;
	st.end = end;
	st.text_hint = text_hint;
	st.ptr_size = ptr_size;
	st.l = l;
	st.why = why;
	for (pos = start; pos < end && rc; pos += chunk) {
		size_t len = end - pos < chunk + overlap ?
			     (size_t)(end - pos) : chunk + overlap, off;
		const uint8_t *p;

		if (rd(ctx, pos, buf, len)) {
			/* holes: read the chunk page by page */
			for (off = 0; off < len; off += 4096) {
				size_t n = len - off < 4096 ? len - off : 4096;

				if (rd(ctx, pos + off, buf + off, n))
					memset(buf + off, 0xff, n);
			}
		}
		for (off = 0; off + sizeof(digits_sig) <= len && rc;) {
			p = memmem(buf + off, len - off, digits_sig,
				   sizeof(digits_sig));
			if (!p)
				break;
			rc = try_hit(&st, pos + (uint64_t)(p - buf));
			off = (size_t)(p - buf) + 1;
		}
	}
	free(buf);
	src_release(&s);
	if (rc)
		strbuf_addf(why, "%sno kallsyms tables in 0x%llx..0x%llx (%u token-table candidates)",
			    why->len ? "; " : "", (unsigned long long)start,
			    (unsigned long long)end, st.hits);
	if (rc)
		return -ENOENT;
	return 0;
}
