// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The kallsyms decoder: reads the compressed name stream, the token table
 * and the address table of every encoding kernels have used, through a
 * window on guest memory. Every count, length and position read from the
 * guest is checked against a bound before it is used.
 */
#include "os-awareness/kallsyms-internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "stub/base/alloc.h"
#include "stub/base/log.h"
#include "stub/base/num.h"

/* ---- reading guest memory through a window ---- */

#define WINDOW (64u * 1024)

void ks_src_init(struct ks_src *s, ks_read_fn rd, void *ctx)
{
	memset(s, 0, sizeof(*s));
	s->rd = rd;
	s->ctx = ctx;
	s->buf = xmalloc(WINDOW);
}

void ks_src_release(struct ks_src *s)
{
	free(s->buf);
	s->buf = NULL;
}

int ks_src_read(struct ks_src *s, uint64_t addr, void *out, size_t n)
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

int ks_src_u(struct ks_src *s, uint64_t addr, unsigned n, uint64_t *v)
{
	uint8_t b[8];
	int rc = ks_src_read(s, addr, b, n);

	if (rc)
		return rc;
	*v = get_le(b, n);
	return 0;
}

/* ---- tokens ---- */

int ks_load_tokens(struct ks_src *s, uint64_t table, uint64_t index,
		   struct ks_tokens *tk, struct strbuf *why)
{
	uint8_t raw[512];
	size_t size, i;
	int rc;

	tk->text = NULL;
	rc = ks_src_read(s, index, raw, sizeof(raw));
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
	while ((rc = ks_src_read(s, table, tk->text, size)) != 0 &&
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

void ks_names_release(struct ks_names *nm)
{
	free(nm->name);
	free(nm->type);
	strbuf_release(&nm->pool);
	memset(nm, 0, sizeof(*nm));
}

int ks_decode_names(struct ks_src *s, uint64_t addr, uint32_t n,
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
		rc = ks_src_u(s, pos, 1, &len);
		if (rc)
			goto unreadable;
		pos++;
		if (big && (len & 0x80)) {
			uint64_t hi;

			rc = ks_src_u(s, pos, 1, &hi);
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
		rc = ks_src_read(s, pos, code, len);
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
	ks_names_release(nm);
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

int ks_decode_addresses(struct ks_src *s, const struct ks_layout *l,
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
		rc = ks_src_u(s, l->relative_base, l->ptr_size, &base);
		if (rc) {
			strbuf_addf(why, "kallsyms_relative_base at 0x%llx cannot be read",
				    (unsigned long long)l->relative_base);
			return rc;
		}
	}
	for (i = 0; i < n; i++) {
		rc = ks_src_u(s, l->addresses + (uint64_t)i * esize, esize, &v);
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

size_t ks_count_unsorted(const uint64_t *a, uint32_t n)
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
	int rc = ks_src_u(s, l->num_syms, 4, &v);

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
		rc = ks_src_u(s, l->markers + (uint64_t)i * l->marker_size,
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

int ks_decode_with(struct ks_src *s, const struct ks_layout *l,
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
	rc = ks_load_tokens(s, l->token_table, l->token_index, &tk, why);
	if (rc)
		return rc;
	if (l->markers && read_markers(s, l, n, &markers, &nmarkers))
		log_dbg(LC_OS, "kallsyms_markers unreadable; names unchecked");
	/* two-byte lengths first (6.1+, and harmless before); with markers
	 * to check against, fall back to one-byte lengths */
	rc = ks_decode_names(s, l->names, n, &tk, true, markers, nmarkers, true,
			  &nm, why);
	if (rc && markers) {
		strbuf_reset(why);
		rc = ks_decode_names(s, l->names, n, &tk, false, markers,
				  nmarkers, true, &nm, why);
	}
	if (rc)
		goto out_tokens;
	addr = xcalloc(n, sizeof(*addr));
	rc = ks_decode_addresses(s, l, n, addr, &enc, why);
	if (rc)
		goto out_names;
	bad = ks_count_unsorted(addr, n);
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
	ks_names_release(&nm);
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
	ks_src_init(&s, rd, ctx);
	rc = ks_decode_with(&s, l, out, enc_out, why);
	ks_src_release(&s);
	return rc;
}
