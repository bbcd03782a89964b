// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit tests of the kallsyms decoder and finder (os-awareness/kallsyms.c,
 * kallsyms-scan.c) on tables built here the way scripts/kallsyms lays them
 * out: every address encoding (absolute, base-relative, absolute per-CPU,
 * place-relative), the old and new table orders, kallsyms_seqs_of_names
 * between the markers and the token table, token compression, "big"
 * two-byte name lengths; then truncated and corrupt tables. The symbol
 * table they fill has its own tests (test-symtab.c).
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "os-awareness/kallsyms.h"

#define BASE 0xffffffff81000000ull
#define MEMSZ (1u << 20)
#define TABLES 0x40000u		/* where the tables start in the buffer */
#define NSYMS 700
#define NPERCPU 20

enum layout {
	OLD_PERCPU,		/* <= 6.1: offsets, base, count, names, markers,
				 * tokens; absolute per-CPU */
	OLD_SEQS,		/* + seqs_of_names before the token table */
	NEW_ORDER,		/* 6.4+: count, names, markers, tokens,
				 * offsets, base, seqs */
	PLACE_REL,		/* 7.0: count ... tokens, offsets, seqs */
	ABSOLUTE,		/* kallsyms_addresses, old order */
};

struct gsym {
	uint64_t addr;
	char type;
	char name[200];
};

struct guest {
	uint8_t *mem;
	size_t limit;		/* reads at or past this offset fail */
	unsigned reads;
	struct gsym syms[NSYMS];
	char tokens[256][8];
	struct ks_layout l;	/* where the tables were put */
	size_t pos;
	unsigned algn;
};

static int rd(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct guest *g = ctx;

	g->reads++;
	if (addr < BASE || addr - BASE > g->limit || len > g->limit ||
	    addr - BASE + len > g->limit)
		return -EFAULT;
	memcpy(buf, g->mem + (addr - BASE), len);
	return 0;
}

static void make_symbols(struct guest *g, bool percpu)
{
	unsigned i;

	for (i = 0; i < NSYMS; i++) {
		struct gsym *s = &g->syms[i];

		if (percpu && i < NPERCPU) {
			s->addr = 0x1000ull * i;
			s->type = 'A';
			snprintf(s->name, sizeof(s->name), "pcpu_var_%u", i);
			continue;
		}
		/* code first, then data, in address order */
		s->addr = BASE + 0x100 + 0x40ull * i;
		s->type = i < NSYMS * 3 / 4 ? (i % 2 ? 't' : 'T') : 'D';
		snprintf(s->name, sizeof(s->name), "fn_%u_x%u", i, i % 7);
	}
	/* a name whose compressed form needs a two-byte length */
	memset(g->syms[NSYMS / 2].name, 'L', 150);
	g->syms[NSYMS / 2].name[150] = 0;
	g->syms[NSYMS / 2].name[0] = 'Q';
}

static void make_tokens(struct guest *g)
{
	bool used[256] = { false };
	unsigned i, c, next = 0;
	static const char *const multi[] = { "fn_", "_x", "LLLL" };

	for (i = 0; i < NSYMS; i++) {
		const char *p = g->syms[i].name;

		used[(uint8_t)g->syms[i].type] = true;
		for (; *p; p++)
			used[(uint8_t)*p] = true;
	}
	for (c = 0; c < 256; c++)
		if (used[c])
			snprintf(g->tokens[c], sizeof(g->tokens[c]), "%c", c);
	/* the unused codes get multi-character tokens; the first few are
	 * used for compression, the others are never referenced */
	for (c = 0; c < 256; c++) {
		if (used[c])
			continue;
		if (next < 3)
			snprintf(g->tokens[c], sizeof(g->tokens[c]), "%s",
				 multi[next]);
		else
			snprintf(g->tokens[c], sizeof(g->tokens[c]), "z%02x", c);
		next++;
	}
}

/* The code of token t (a multi-character one), or -1. */
static int code_of(const struct guest *g, const char *t)
{
	unsigned c;

	for (c = 0; c < 256; c++)
		if (!strcmp(g->tokens[c], t))
			return (int)c;
	return -1;
}

static size_t compress(const struct guest *g, const struct gsym *s,
		       uint8_t *out)
{
	char text[256];
	const char *p = text;
	size_t n = 0;
	int cf = code_of(g, "fn_"), cx = code_of(g, "_x"), cl = code_of(g, "LLLL");

	snprintf(text, sizeof(text), "%c%s", s->type, s->name);
	while (*p) {
		if (!strncmp(p, "fn_", 3)) {
			out[n++] = (uint8_t)cf;
			p += 3;
		} else if (!strncmp(p, "_x", 2)) {
			out[n++] = (uint8_t)cx;
			p += 2;
		} else if (!strncmp(p, "LLLL", 4) && n > 120) {
			/* compress only the tail: the name stays "big" */
			out[n++] = (uint8_t)cl;
			p += 4;
		} else {
			out[n++] = (uint8_t)*p++;
		}
	}
	return n;
}

static uint64_t here(const struct guest *g)
{
	return BASE + g->pos;
}

static void align(struct guest *g, unsigned a)
{
	while (g->pos % a)
		g->mem[g->pos++] = 0;
}

static void put(struct guest *g, uint64_t v, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		g->mem[g->pos++] = (uint8_t)(v >> (8 * i));
}

static void emit_count(struct guest *g)
{
	align(g, g->algn);
	g->l.num_syms = here(g);
	put(g, NSYMS, 4);
}

static void emit_names_markers(struct guest *g)
{
	uint32_t markers[(NSYMS + 255) / 256];
	size_t start;
	unsigned i;

	align(g, g->algn);
	g->l.names = here(g);
	start = g->pos;
	for (i = 0; i < NSYMS; i++) {
		uint8_t code[256];
		size_t n = compress(g, &g->syms[i], code);

		if (i % 256 == 0)
			markers[i / 256] = (uint32_t)(g->pos - start);
		if (n > 0x7f) {
			put(g, (n & 0x7f) | 0x80, 1);
			put(g, n >> 7, 1);
		} else {
			put(g, n, 1);
		}
		memcpy(g->mem + g->pos, code, n);
		g->pos += n;
	}
	align(g, g->algn);
	g->l.markers = here(g);
	g->l.marker_size = 4;
	for (i = 0; i < (NSYMS + 255) / 256; i++)
		put(g, markers[i], 4);
}

static void emit_seqs(struct guest *g)
{
	unsigned i;

	align(g, g->algn);
	for (i = 0; i < NSYMS; i++) {
		unsigned s = NSYMS - 1 - i;	/* any permutation */

		put(g, s >> 16 & 0xff, 1);
		put(g, s >> 8 & 0xff, 1);
		put(g, s & 0xff, 1);
	}
}

static void emit_tokens(struct guest *g)
{
	uint16_t idx[256];
	size_t start;
	unsigned c;

	align(g, g->algn);
	g->l.token_table = here(g);
	start = g->pos;
	for (c = 0; c < 256; c++) {
		size_t n = strlen(g->tokens[c]) + 1;

		idx[c] = (uint16_t)(g->pos - start);
		memcpy(g->mem + g->pos, g->tokens[c], n);
		g->pos += n;
	}
	align(g, g->algn);
	g->l.token_index = here(g);
	for (c = 0; c < 256; c++)
		put(g, idx[c], 2);
}

/* The lowest address not a per-CPU one. */
static uint64_t relative_base(const struct guest *g)
{
	unsigned i;

	for (i = 0; i < NSYMS; i++)
		if (g->syms[i].type != 'A')
			return g->syms[i].addr;
	return 0;
}

static void emit_addresses(struct guest *g, enum layout lay)
{
	uint64_t rb = relative_base(g);
	unsigned i;

	align(g, g->algn);
	g->l.addresses = here(g);
	for (i = 0; i < NSYMS; i++) {
		const struct gsym *s = &g->syms[i];

		if (lay == ABSOLUTE)
			put(g, s->addr, 8);
		else if (lay == PLACE_REL)
			put(g, (uint32_t)(int32_t)(s->addr - here(g)), 4);
		else if (s->type == 'A')
			put(g, s->addr, 4);
		else if (lay == OLD_PERCPU || lay == NEW_ORDER)
			put(g, (uint32_t)(int32_t)(rb - s->addr - 1), 4);
		else
			put(g, (uint32_t)(s->addr - rb), 4);
	}
	if (lay != ABSOLUTE && lay != PLACE_REL) {
		align(g, g->algn);
		g->l.relative_base = here(g);
		put(g, rb, 8);
	}
}

static struct guest *build(enum layout lay)
{
	struct guest *g = calloc(1, sizeof(*g));
	size_t i;

	g->mem = malloc(MEMSZ);
	/* code bytes: nothing that looks like a table */
	for (i = 0; i < MEMSZ; i++)
		g->mem[i] = (uint8_t)(0x90 + (i * 7 % 13));
	g->limit = MEMSZ;
	g->pos = TABLES;
	g->algn = lay == PLACE_REL ? 4 : 8;
	g->l.ptr_size = 8;
	make_symbols(g, lay == OLD_PERCPU || lay == NEW_ORDER);
	make_tokens(g);
	switch (lay) {
	case OLD_PERCPU:
	case OLD_SEQS:
	case ABSOLUTE:
		emit_addresses(g, lay);
		emit_count(g);
		emit_names_markers(g);
		if (lay == OLD_SEQS)
			emit_seqs(g);
		emit_tokens(g);
		break;
	case NEW_ORDER:
	case PLACE_REL:
		emit_count(g);
		emit_names_markers(g);
		emit_tokens(g);
		emit_addresses(g, lay);
		emit_seqs(g);
		break;
	}
	g->l.enc = KS_ENC_UNKNOWN;
	return g;
}

static void drop(struct guest *g)
{
	free(g->mem);
	free(g);
}

static void check_table(const struct guest *g, const struct symtab *st)
{
	unsigned i;

	assert_int_equal(st->nsyms, NSYMS);
	for (i = 0; i < NSYMS; i++) {
		const struct ksym *k = symtab_find(st, g->syms[i].name);

		if (!k)
			fail_msg("symbol %s missing", g->syms[i].name);
		if (k->addr != g->syms[i].addr)
			fail_msg("%s at 0x%llx, expected 0x%llx", g->syms[i].name,
				 (unsigned long long)k->addr,
				 (unsigned long long)g->syms[i].addr);
		assert_int_equal(k->type, g->syms[i].type);
	}
}

/* Decodes with the layout given (as VMCOREINFO would give it). */
static void decode_given(enum layout lay, enum ks_encoding given,
			 enum ks_encoding expect)
{
	struct guest *g = build(lay);
	struct symtab st;
	struct strbuf why = STRBUF_INIT;
	struct ks_layout l = g->l;
	enum ks_encoding enc;

	l.markers = 0;		/* VMCOREINFO does not list them */
	l.enc = given;
	symtab_init(&st);
	assert_int_equal(ks_decode(&l, rd, g, &st, &enc, &why), 0);
	assert_int_equal(enc, expect);
	check_table(g, &st);
	symtab_release(&st);
	strbuf_release(&why);
	drop(g);
}

static void test_decode_absolute_percpu(void **s)
{
	(void)s;
	decode_given(OLD_PERCPU, KS_ENC_UNKNOWN, KS_ABSOLUTE_PERCPU);
}

static void test_decode_base_relative(void **s)
{
	(void)s;
	decode_given(OLD_SEQS, KS_ENC_UNKNOWN, KS_BASE_RELATIVE);
}

static void test_decode_new_order(void **s)
{
	(void)s;
	decode_given(NEW_ORDER, KS_ENC_UNKNOWN, KS_ABSOLUTE_PERCPU);
}

static void test_decode_place_relative(void **s)
{
	(void)s;
	/* no kallsyms_relative_base: place-relative */
	decode_given(PLACE_REL, KS_ENC_UNKNOWN, KS_PLACE_RELATIVE);
}

static void test_decode_absolute(void **s)
{
	(void)s;
	decode_given(ABSOLUTE, KS_ABSOLUTE, KS_ABSOLUTE);
}

/* Finds the tables by signature and decodes them. */
static void scan(enum layout lay, enum ks_encoding expect)
{
	struct guest *g = build(lay);
	struct symtab st;
	struct strbuf why = STRBUF_INIT;
	struct ks_layout l;
	enum ks_encoding enc;
	uint64_t hint = g->syms[NPERCPU + 3].addr + 5;

	memset(&l, 0, sizeof(l));
	symtab_init(&st);
	if (ks_scan(rd, g, BASE, BASE + MEMSZ, 8, hint, &l, &why))
		fail_msg("scan failed: %s", why.buf);
	assert_true(l.token_table == g->l.token_table);
	assert_true(l.token_index == g->l.token_index);
	assert_true(l.names == g->l.names);
	assert_true(l.num_syms == g->l.num_syms);
	assert_true(l.markers == g->l.markers);
	assert_true(l.addresses == g->l.addresses);
	assert_true(l.relative_base == g->l.relative_base);
	assert_int_equal(ks_decode(&l, rd, g, &st, &enc, &why), 0);
	assert_int_equal(enc, expect);
	check_table(g, &st);
	symtab_release(&st);
	strbuf_release(&why);
	drop(g);
}

static void test_scan_old_percpu(void **s)
{
	(void)s;
	scan(OLD_PERCPU, KS_ABSOLUTE_PERCPU);
}

static void test_scan_seqs_between(void **s)
{
	(void)s;
	scan(OLD_SEQS, KS_BASE_RELATIVE);
}

static void test_scan_new_order(void **s)
{
	(void)s;
	scan(NEW_ORDER, KS_ABSOLUTE_PERCPU);
}

static void test_scan_place_relative(void **s)
{
	(void)s;
	scan(PLACE_REL, KS_PLACE_RELATIVE);
}

static void test_scan_absolute(void **s)
{
	(void)s;
	scan(ABSOLUTE, KS_ABSOLUTE);
}

static void test_big_symbol(void **s)
{
	struct guest *g = build(OLD_PERCPU);
	struct symtab st;
	struct strbuf why = STRBUF_INIT;
	const struct gsym *big = &g->syms[NSYMS / 2];
	uint8_t code[256];

	(void)s;
	assert_true(compress(g, big, code) > 0x7f);
	symtab_init(&st);
	assert_int_equal(ks_decode(&g->l, rd, g, &st, NULL, &why), 0);
	assert_non_null(symtab_find(&st, big->name));
	assert_int_equal(strlen(big->name), 150);
	symtab_release(&st);
	strbuf_release(&why);
	drop(g);
}

/* Every cut of the tables fails cleanly, with a reason, and reads no
 * more than what exists. */
static void test_truncated(void **s)
{
	struct guest *g = build(OLD_PERCPU);
	size_t end = g->l.token_index - BASE + 512, cut;
	struct ks_layout l;

	(void)s;
	for (cut = TABLES; cut < end; cut += 61) {
		struct symtab st;
		struct strbuf why = STRBUF_INIT;

		g->limit = cut;
		symtab_init(&st);
		assert_true(ks_decode(&g->l, rd, g, &st, NULL, &why) < 0);
		assert_true(why.len > 0);
		assert_int_equal(st.nsyms, 0);
		strbuf_reset(&why);
		if ((cut - TABLES) % 10 == 0)
			assert_int_equal(ks_scan(rd, g, BASE, BASE + MEMSZ, 8, 0,
						 &l, &why), -ENOENT);
		symtab_release(&st);
		strbuf_release(&why);
	}
	drop(g);
}

static void test_corrupt(void **s)
{
	struct guest *g = build(NEW_ORDER);
	struct symtab st;
	struct strbuf why = STRBUF_INIT;
	size_t cnt = g->l.num_syms - BASE, idx = g->l.token_index - BASE;
	uint8_t save[4];

	(void)s;
	symtab_init(&st);
	memcpy(save, g->mem + cnt, 4);
	memset(g->mem + cnt, 0, 4);
	assert_int_equal(ks_decode(&g->l, rd, g, &st, NULL, &why), -EINVAL);
	assert_non_null(strstr(why.buf, "kallsyms_num_syms is 0"));
	memset(g->mem + cnt, 0xff, 4);
	strbuf_reset(&why);
	assert_int_equal(ks_decode(&g->l, rd, g, &st, NULL, &why), -EINVAL);
	memcpy(g->mem + cnt, save, 4);
	/* a token index that does not start at 0 */
	g->mem[idx] = 1;
	strbuf_reset(&why);
	assert_int_equal(ks_decode(&g->l, rd, g, &st, NULL, &why), -EINVAL);
	assert_non_null(strstr(why.buf, "token_index"));
	g->mem[idx] = 0;
	/* tokens that overlap */
	g->mem[idx + 2 * 0x41] = 0;
	strbuf_reset(&why);
	assert_int_equal(ks_decode(&g->l, rd, g, &st, NULL, &why), -EINVAL);
	assert_int_equal(st.nsyms, 0);
	/* an incomplete layout */
	g->l.token_table = 0;
	strbuf_reset(&why);
	assert_int_equal(ks_decode(&g->l, rd, g, &st, NULL, &why), -EINVAL);
	symtab_release(&st);
	strbuf_release(&why);
	drop(g);
}

static void test_scan_nothing(void **s)
{
	struct guest *g = build(OLD_PERCPU);
	struct strbuf why = STRBUF_INIT;
	struct ks_layout l;
	size_t i;

	(void)s;
	/* digits runs but no tables around them */
	memset(g->mem + TABLES, 0, MEMSZ - TABLES);
	for (i = TABLES; i + 64 < MEMSZ; i += 4096)
		memcpy(g->mem + i, "0\0" "1\0" "2\0" "3\0" "4\0" "5\0" "6\0"
		       "7\0" "8\0" "9", 20);
	assert_int_equal(ks_scan(rd, g, BASE, BASE + MEMSZ, 8, 0, &l, &why),
			 -ENOENT);
	assert_true(why.len > 0);
	strbuf_release(&why);
	assert_int_equal(ks_scan(rd, g, BASE + 10, BASE, 8, 0, &l, &why),
			 -EINVAL);
	drop(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_absolute_percpu),
		cmocka_unit_test(test_decode_base_relative),
		cmocka_unit_test(test_decode_new_order),
		cmocka_unit_test(test_decode_place_relative),
		cmocka_unit_test(test_decode_absolute),
		cmocka_unit_test(test_scan_old_percpu),
		cmocka_unit_test(test_scan_seqs_between),
		cmocka_unit_test(test_scan_new_order),
		cmocka_unit_test(test_scan_place_relative),
		cmocka_unit_test(test_scan_absolute),
		cmocka_unit_test(test_big_symbol),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_corrupt),
		cmocka_unit_test(test_scan_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
