// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Finding the kallsyms tables when nothing says where they are: from the
 * token table's "0".."9" run, the token index after it, the markers and
 * the symbol count before it, then the address table among the places and
 * encodings kernels have used; a candidate counts only when its whole
 * table decodes and looks like a kernel's.
 */
#include "os-awareness/kallsyms-internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "stub/base/alloc.h"

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
			if (ks_src_read(s, p + len, &c, 1))
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
		if (ks_src_u(s, ti + 2 * 0x30, 2, &idx30) || idx30 > hit)
			continue;
		tt = hit - idx30;
		rc = ks_load_tokens(s, tt, ti, tk, &ignore);
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

		if (m >= KS_MAX_SYMS / 256 || at > end || ks_src_u(s, at, ms, &v))
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
				ks_src_u(s, end - (uint64_t)(m - i) * ms, ms, &mk[i]);
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

		if (ks_src_u(s, c, 4, &v) ||
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
			rc = ks_decode_names(s, starts[k], (uint32_t)v, tk, true,
					  mk, m, false, &nm, &ignore);
			if (rc) {
				strbuf_reset(&ignore);
				rc = ks_decode_names(s, starts[k], (uint32_t)v, tk,
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
				ks_names_release(&nm);
				strbuf_release(&ignore);
				return 0;
			}
			ks_names_release(&nm);
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
		    (ks_src_u(s, c[i].relative_base, ps, &base) ||
		     base < (start > (1ull << 30) ? start - (1ull << 30) : 0) ||
		     base >= end))
			continue;
		if (ks_decode_addresses(s, &c[i], n, addr, &enc, &ignore)) {
			strbuf_release(&ignore);
			continue;
		}
		strbuf_release(&ignore);
		ok = ks_count_unsorted(addr, n) <= n / 1000;
		if (ok) {
			struct symtab st;

			symtab_init(&st);
			c[i].enc = enc;
			if (ks_decode_with(s, &c[i], &st, NULL, why) == 0 &&
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
	ks_src_init(&s, rd, ctx);
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
	ks_src_release(&s);
	if (rc)
		strbuf_addf(why, "%sno kallsyms tables in 0x%llx..0x%llx (%u token-table candidates)",
			    why->len ? "; " : "", (unsigned long long)start,
			    (unsigned long long)end, st.hits);
	if (rc)
		return -ENOENT;
	return 0;
}
