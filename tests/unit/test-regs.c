// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit tests of the x86 register file (arch/x86/regs.c): every row of the
 * x86-64 and i386 gdb layouts against an expectation written here from
 * QEMU 7.2's numbering (name, size, 'g' offset, the struct x86_regs field
 * it must reach), through x86_gdb_reg_get/set and through g/G/p/P at the
 * protocol level; unknown registers; the x87 tag word; the target
 * description XML.
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

#include "arch/x86/regs.h"
#include "stub/base/log.h"
#include "tests/unit/unit-helpers.h"
#include "tests/unit/unit-helpers.c"

/* ---- the expectation ---- */

enum exp_kind {
	EK_PLAIN,	/* little-endian field, zero-extended or truncated */
	EK_FOP,		/* 11-bit opcode in a 16-bit field */
	EK_FTAG,	/* full tag word from the abridged tag byte */
};

struct exp {
	const char *name;
	unsigned bits;		/* in the 'g' packet */
	size_t foff, fsize;	/* the struct x86_regs bytes it reaches */
	enum x86_field valid;	/* the bit that says it is known */
	enum exp_kind kind;
};

#define FLD(m) offsetof(struct x86_regs, m), sizeof(((struct x86_regs *)0)->m)
/* FXSAVE image offsets, from the Intel SDM (FXSAVE layout) */
#define FX(off, n) offsetof(struct x86_regs, fxsave) + (off), (n)
#define GPR(name, bits, i) { name, bits, FLD(gpr[i]), XF_GPR0 + (i), EK_PLAIN }
/* segment indexes in struct x86_regs: es cs ss ds fs gs */
#define SEL(name, i) { name, 32, FLD(seg[i].sel), XF_SEL0 + (i), EK_PLAIN }
#define BASE(name, bits, i) { name, bits, FLD(seg[i].base), XF_SEGCACHE0 + (i), EK_PLAIN }
#define ST(i) { "st" #i, 80, FX(32 + 16 * (i), 10), XF_FPU, EK_PLAIN }
#define XMM(i) { "xmm" #i, 128, FX(160 + 16 * (i), 16), XF_FPU, EK_PLAIN }
#define FPU32(name, off, n) { name, 32, FX(off, n), XF_FPU, EK_PLAIN }
#define FPU_TAIL \
	ST(0), ST(1), ST(2), ST(3), ST(4), ST(5), ST(6), ST(7), \
	FPU32("fctrl", 0, 2), FPU32("fstat", 2, 2), \
	{ "ftag", 32, FX(4, 1), XF_FPU, EK_FTAG }, \
	FPU32("fiseg", 12, 2), FPU32("fioff", 8, 4), \
	FPU32("foseg", 20, 2), FPU32("fooff", 16, 4), \
	{ "fop", 32, FX(6, 2), XF_FPU, EK_FOP }

/* x86-64: rax rbx rcx rdx rsi rdi rbp rsp r8-r15 rip eflags cs ss ds es
 * fs gs fs_base gs_base k_gs_base cr0 cr2 cr3 cr4 cr8 efer st0-7 fctrl
 * fstat ftag fiseg fioff foseg fooff fop xmm0-15 mxcsr. Hardware GPR
 * numbers: rax 0, rcx 1, rdx 2, rbx 3, rsp 4, rbp 5, rsi 6, rdi 7. */
static const struct exp amd64_rows[] = {
	GPR("rax", 64, 0), GPR("rbx", 64, 3), GPR("rcx", 64, 1),
	GPR("rdx", 64, 2), GPR("rsi", 64, 6), GPR("rdi", 64, 7),
	GPR("rbp", 64, 5), GPR("rsp", 64, 4),
	GPR("r8", 64, 8), GPR("r9", 64, 9), GPR("r10", 64, 10),
	GPR("r11", 64, 11), GPR("r12", 64, 12), GPR("r13", 64, 13),
	GPR("r14", 64, 14), GPR("r15", 64, 15),
	{ "rip", 64, FLD(rip), XF_RIP, EK_PLAIN },
	{ "eflags", 32, FLD(rflags), XF_RFLAGS, EK_PLAIN },
	SEL("cs", 1), SEL("ss", 2), SEL("ds", 3), SEL("es", 0), SEL("fs", 4),
	SEL("gs", 5),
	BASE("fs_base", 64, 4), BASE("gs_base", 64, 5),
	{ "k_gs_base", 64, FLD(k_gs_base), XF_KGSBASE, EK_PLAIN },
	{ "cr0", 64, FLD(cr0), XF_CR0, EK_PLAIN },
	{ "cr2", 64, FLD(cr2), XF_CR2, EK_PLAIN },
	{ "cr3", 64, FLD(cr3), XF_CR3, EK_PLAIN },
	{ "cr4", 64, FLD(cr4), XF_CR4, EK_PLAIN },
	{ "cr8", 64, FLD(cr8), XF_CR8, EK_PLAIN },
	{ "efer", 64, FLD(efer), XF_EFER, EK_PLAIN },
	FPU_TAIL,
	XMM(0), XMM(1), XMM(2), XMM(3), XMM(4), XMM(5), XMM(6), XMM(7),
	XMM(8), XMM(9), XMM(10), XMM(11), XMM(12), XMM(13), XMM(14), XMM(15),
	{ "mxcsr", 32, FX(24, 4), XF_FPU, EK_PLAIN },
};

/* i386: eax ecx edx ebx esp ebp esi edi eip eflags cs ss ds es fs gs
 * fs_base gs_base k_gs_base cr0 cr2 cr3 cr4 cr8 efer st0-7 fctrl..fop
 * xmm0-7 mxcsr. */
static const struct exp i386_rows[] = {
	GPR("eax", 32, 0), GPR("ecx", 32, 1), GPR("edx", 32, 2),
	GPR("ebx", 32, 3), GPR("esp", 32, 4), GPR("ebp", 32, 5),
	GPR("esi", 32, 6), GPR("edi", 32, 7),
	{ "eip", 32, FLD(rip), XF_RIP, EK_PLAIN },
	{ "eflags", 32, FLD(rflags), XF_RFLAGS, EK_PLAIN },
	SEL("cs", 1), SEL("ss", 2), SEL("ds", 3), SEL("es", 0), SEL("fs", 4),
	SEL("gs", 5),
	BASE("fs_base", 32, 4), BASE("gs_base", 32, 5),
	{ "k_gs_base", 32, FLD(k_gs_base), XF_KGSBASE, EK_PLAIN },
	{ "cr0", 32, FLD(cr0), XF_CR0, EK_PLAIN },
	{ "cr2", 32, FLD(cr2), XF_CR2, EK_PLAIN },
	{ "cr3", 32, FLD(cr3), XF_CR3, EK_PLAIN },
	{ "cr4", 32, FLD(cr4), XF_CR4, EK_PLAIN },
	{ "cr8", 32, FLD(cr8), XF_CR8, EK_PLAIN },
	{ "efer", 32, FLD(efer), XF_EFER, EK_PLAIN },
	FPU_TAIL,
	XMM(0), XMM(1), XMM(2), XMM(3), XMM(4), XMM(5), XMM(6), XMM(7),
	{ "mxcsr", 32, FX(24, 4), XF_FPU, EK_PLAIN },
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

struct layout_case {
	unsigned bits;
	const struct exp *rows;
	unsigned nrows;
	size_t g_size;
};

static const struct layout_case cases[2] = {
	{ 64, amd64_rows, N(amd64_rows), 608 },
	{ 32, i386_rows, N(i386_rows), 344 },
};

static size_t goff_of(const struct layout_case *c, unsigned row)
{
	size_t off = 0;
	unsigned i;

	for (i = 0; i < row; i++)
		off += c->rows[i].bits / 8;
	return off;
}

/* Bytes of the struct a row may change on a set: its field. */
static size_t set_span(const struct exp *e)
{
	return e->fsize;
}

/* A pattern for row i, variant v: n bytes, none zero, unlike any other
 * row's. */
static void pattern(unsigned i, unsigned v, uint8_t *out, size_t n)
{
	size_t k;

	for (k = 0; k < n; k++)
		out[k] = (uint8_t)(0x11 + i * 5 + k * 0x3b + v * 0x61) | 1;
}

/* Puts row i's pattern into its field and returns, in want, the bytes
 * gdb must see for it. */
static void plant(struct x86_regs *r, const struct exp *e, unsigned i,
		  unsigned v, uint8_t *want)
{
	uint8_t *field = (uint8_t *)r + e->foff;
	size_t n = e->bits / 8, k = n < e->fsize ? n : e->fsize;

	memset(want, 0, n);
	switch (e->kind) {
	case EK_PLAIN:
		pattern(i, v, field, k);
		memcpy(want, field, k);
		break;
	case EK_FOP:
		pattern(i, v, field, 2);
		field[1] &= 0x07;
		memcpy(want, field, 2);
		break;
	case EK_FTAG:
		field[0] = 0; /* every register empty: full tag 0xffff */
		want[0] = 0xff;
		want[1] = 0xff;
		break;
	}
}

static void all_valid(struct x86_regs *r)
{
	x86_set_valid_range(r, XF_GPR0, (enum x86_field)(XF_NR - 1));
}

/* ---- the layouts ---- */

static void test_layout_shape(void **state)
{
	unsigned c, i;

	(void)state;
	for (c = 0; c < 2; c++) {
		const struct layout_case *lc = &cases[c];
		const struct x86_gdb_layout *l = x86_gdb_layout(lc->bits);
		size_t total = 0;

		assert_int_equal(l->nregs, lc->nrows);
		assert_int_equal(l->addr_bits, lc->bits);
		for (i = 0; i < lc->nrows; i++) {
			assert_string_equal(l->regs[i].name, lc->rows[i].name);
			assert_int_equal(l->regs[i].bits, lc->rows[i].bits);
			assert_int_equal(x86_gdb_reg_size(l, i), lc->rows[i].bits / 8);
			assert_int_equal(x86_gdb_reg_offset(l, i), goff_of(lc, i));
			assert_int_equal(x86_gdb_reg_find(l, lc->rows[i].name), (int)i);
			total += lc->rows[i].bits / 8;
		}
		assert_int_equal(total, lc->g_size);
		assert_int_equal(l->g_size, lc->g_size);
		assert_int_equal(x86_gdb_reg_size(l, lc->nrows), 0);
		assert_int_equal(x86_gdb_reg_find(l, "nosuchreg"), -1);
	}
	assert_int_equal(N(amd64_rows), 66);
	assert_int_equal(N(i386_rows), 50);
	assert_string_equal(x86_gdb_layout(64)->arch, "i386:x86-64");
	assert_string_equal(x86_gdb_layout(32)->arch, "i386");
}

static void test_get_every_row(void **state)
{
	unsigned c, i;

	(void)state;
	for (c = 0; c < 2; c++) {
		const struct layout_case *lc = &cases[c];
		const struct x86_gdb_layout *l = x86_gdb_layout(lc->bits);
		struct x86_regs r;
		uint8_t want[70][16];

		/* every field holds its own pattern at once, so a row that
		 * reads another row's field fails */
		memset(&r, 0, sizeof(r));
		all_valid(&r);
		for (i = 0; i < lc->nrows; i++)
			plant(&r, &lc->rows[i], i, 0, want[i]);
		for (i = 0; i < lc->nrows; i++) {
			uint8_t got[16];

			memset(got, 0xee, sizeof(got));
			assert_int_equal(x86_gdb_reg_get(&r, l, i, got),
					 (int)(lc->rows[i].bits / 8));
			if (memcmp(got, want[i], lc->rows[i].bits / 8))
				fail_msg("%s: register %s reads the wrong field",
					 l->arch, lc->rows[i].name);
		}
		assert_int_equal(x86_gdb_reg_get(&r, l, lc->nrows, want[0]), -EINVAL);
	}
}

static void test_set_every_row(void **state)
{
	unsigned c, i;

	(void)state;
	for (c = 0; c < 2; c++) {
		const struct layout_case *lc = &cases[c];
		const struct x86_gdb_layout *l = x86_gdb_layout(lc->bits);

		for (i = 0; i < lc->nrows; i++) {
			const struct exp *e = &lc->rows[i];
			struct x86_regs before, r;
			uint8_t val[16], got[16], tmp[16];
			size_t n = e->bits / 8, span = set_span(e);
			size_t k = n < e->fsize ? n : e->fsize;

			/* a background of other patterns, everything known
			 * except this row's own field (FPU rows need the FPU
			 * image known to be written) */
			memset(&before, 0, sizeof(before));
			for (unsigned j = 0; j < lc->nrows; j++)
				if (j != i)
					plant(&before, &lc->rows[j], j, 1, tmp);
			all_valid(&before);
			if (e->valid != XF_FPU)
				x86_clear_valid(&before, e->valid);
			r = before;
			memset(val, 0, sizeof(val));
			pattern(i, 2, val, k);
			if (e->kind == EK_FOP)
				val[1] &= 0x07;
			if (e->kind == EK_FTAG) {
				val[0] = 0xfc; /* physical register 0 valid */
				val[1] = 0xff;
			}
			assert_int_equal(x86_gdb_reg_set(&r, l, i, val), 0);
			assert_true(x86_valid(&r, e->valid));
			/* the field holds the value ... */
			if (e->kind == EK_FTAG)
				assert_int_equal(r.fxsave[4], 0x01);
			else if (memcmp((uint8_t *)&r + e->foff, val, k))
				fail_msg("%s: writing %s did not reach its field",
					 l->arch, e->name);
			/* ... and nothing else changed */
			if (memcmp(&r, &before, e->foff) ||
			    memcmp((uint8_t *)&r + e->foff + span,
				   (uint8_t *)&before + e->foff + span,
				   offsetof(struct x86_regs, valid) - e->foff - span))
				fail_msg("%s: writing %s changed another field",
					 l->arch, e->name);
			/* and it reads back */
			if (e->kind != EK_FTAG) {
				assert_int_equal(x86_gdb_reg_get(&r, l, i, got), (int)n);
				assert_memory_equal(got, val, n);
			}
		}
	}
}

static void test_narrow_writes_keep_high_halves(void **state)
{
	const struct x86_gdb_layout *l = x86_gdb_layout(32);
	static const uint8_t v[4] = { 0x78, 0x56, 0x34, 0x12 };
	struct x86_regs r;

	(void)state;
	memset(&r, 0, sizeof(r));
	all_valid(&r);
	r.gpr[6] = 0xaaaaaaaabbbbbbbbull;
	r.rip = 0xccccccccddddddddull;
	r.rflags = 0xeeeeeeee00000002ull;
	assert_int_equal(x86_gdb_reg_set(&r, l, x86_gdb_reg_find(l, "esi"), v), 0);
	assert_true(r.gpr[6] == 0xaaaaaaaa12345678ull);
	assert_int_equal(x86_gdb_reg_set(&r, l, x86_gdb_reg_find(l, "eip"), v), 0);
	assert_true(r.rip == 0xcccccccc12345678ull);
	assert_int_equal(x86_gdb_reg_set(&r, l, x86_gdb_reg_find(l, "eflags"), v), 0);
	assert_true(r.rflags == 0xeeeeeeee12345678ull);
}

static void test_unknown_registers(void **state)
{
	unsigned c, i;

	(void)state;
	for (c = 0; c < 2; c++) {
		const struct layout_case *lc = &cases[c];
		const struct x86_gdb_layout *l = x86_gdb_layout(lc->bits);
		struct x86_regs r;
		uint8_t buf[16] = { 0 };

		memset(&r, 0, sizeof(r));
		for (i = 0; i < lc->nrows; i++) {
			assert_int_equal(x86_gdb_reg_get(&r, l, i, buf), -ENODATA);
			/* the FPU image is all or nothing: no row of it can
			 * be written while it is unknown */
			if (lc->rows[i].valid == XF_FPU)
				assert_int_equal(x86_gdb_reg_set(&r, l, i, buf), -ENODATA);
		}
		/* each row knows exactly its own bit */
		for (i = 0; i < lc->nrows; i++) {
			memset(&r, 0, sizeof(r));
			x86_set_valid(&r, lc->rows[i].valid);
			assert_true(x86_gdb_reg_get(&r, l, i, buf) > 0);
		}
	}
}

/* ---- the x87 tag word ---- */

static void set_st_phys(uint8_t *fx, unsigned top, unsigned phys, uint64_t mant,
			uint16_t sexp)
{
	uint8_t *st = fx + 32 + 16 * ((phys - top) & 7);
	int i;

	for (i = 0; i < 8; i++)
		st[i] = (uint8_t)(mant >> (8 * i));
	st[8] = (uint8_t)sexp;
	st[9] = (uint8_t)(sexp >> 8);
}

static void test_full_tag_word(void **state)
{
	uint8_t fx[512];
	unsigned top;

	(void)state;
	for (top = 0; top < 8; top++) {
		uint16_t want = 0;

		memset(fx, 0, sizeof(fx));
		fx[2] = 0;
		fx[3] = (uint8_t)(top << 3); /* FSW.TOP is bits 13:11 */
		/* physical registers: 0 valid, 1 zero, 2 negative zero,
		 * 3 infinity, 4 NaN, 5 denormal, 6 unnormal, 7 empty */
		set_st_phys(fx, top, 0, 0x8000000000000000ull, 0x3fff);
		set_st_phys(fx, top, 1, 0, 0x0000);
		set_st_phys(fx, top, 2, 0, 0x8000);
		set_st_phys(fx, top, 3, 0x8000000000000000ull, 0x7fff);
		set_st_phys(fx, top, 4, 0xc000000000000000ull, 0xffff);
		set_st_phys(fx, top, 5, 0x0000000000000001ull, 0x0000);
		set_st_phys(fx, top, 6, 0x4000000000000000ull, 0x4000);
		set_st_phys(fx, top, 7, 0x8000000000000000ull, 0x3fff);
		fx[4] = 0x7f; /* abridged: 7 is empty whatever it holds */
		want = 0 << 0 | 1 << 2 | 1 << 4 | 2 << 6 | 2 << 8 | 2 << 10 |
		       2 << 12 | 3 << 14;
		assert_int_equal(x86_fxsave_full_tag(fx), want);
		/* all empty, all valid */
		fx[4] = 0;
		assert_int_equal(x86_fxsave_full_tag(fx), 0xffff);
	}
	/* a pseudo-denormal (exponent 0, integer bit set) is special */
	memset(fx, 0, sizeof(fx));
	set_st_phys(fx, 0, 0, 0x8000000000000000ull, 0);
	fx[4] = 0x01;
	assert_int_equal(x86_fxsave_full_tag(fx), 0xfffe);
	/* a valid number in ST(0) with TOP 5 is physical register 5 */
	memset(fx, 0, sizeof(fx));
	fx[3] = 5 << 3;
	memset(fx + 32, 0, 16 * 8);
	set_st_phys(fx, 5, 5, 0x8000000000000000ull, 0x3fff);
	fx[4] = 1 << 5;
	assert_int_equal(x86_fxsave_full_tag(fx), 0xf3ff);
}

static void test_abridged_tag(void **state)
{
	unsigned a, t;

	(void)state;
	for (a = 0; a < 256; a++) {
		for (t = 0; t < 3; t++) {
			uint16_t full = 0;
			unsigned p;

			for (p = 0; p < 8; p++)
				full |= (uint16_t)((a & (1u << p) ? t : 3) << (2 * p));
			assert_int_equal(x86_fxsave_abridged_tag(full), a);
		}
	}
}

/* ---- small predicates ---- */

static void test_cpl_and_long_mode(void **state)
{
	struct x86_regs r;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.seg[1].sel = 0x33;
	assert_int_equal(x86_cpl(&r), 3);
	x86_set_valid(&r, XF_SEGCACHE0 + X86_SS);
	r.seg[2].attr = 0x93; /* DPL 0 */
	assert_int_equal(x86_cpl(&r), 0);
	r.seg[2].attr = 0xf3;
	assert_int_equal(x86_cpl(&r), 3);

	assert_false(x86_in_long_mode(&r));
	r.efer = 1ull << 10;
	assert_true(x86_in_long_mode(&r)); /* CS unknown: LMA decides */
	x86_set_valid(&r, XF_SEGCACHE0 + X86_CS);
	r.seg[1].attr = 0xc9b; /* 32-bit code (compatibility mode) */
	assert_false(x86_in_long_mode(&r));
	r.seg[1].attr = 0xa9b; /* L set */
	assert_true(x86_in_long_mode(&r));
}

/* ---- g, G, p, P at the protocol level ---- */

struct regs_fx {
	struct fake_target *f;
	struct wire w;
};

static void open_regs_wire(struct regs_fx *x, const struct layout_case *lc,
			   const struct x86_regs *r)
{
	x->f = fake_target_new(4, 1, lc->bits, 4, TCAP_WRITE_REGS);
	x->f->regs[0] = *r;
	wire_open_target(&x->w, &x->f->base);
}

static void close_regs_wire(struct regs_fx *x)
{
	wire_close(&x->w);
	fake_target_free(x->f);
}

static void test_protocol_g_and_p(void **state)
{
	unsigned c, i;

	(void)state;
	for (c = 0; c < 2; c++) {
		const struct layout_case *lc = &cases[c];
		struct strbuf hex = STRBUF_INIT;
		struct regs_fx x;
		struct x86_regs r;
		uint8_t want[70][16];
		char *g;

		memset(&r, 0, sizeof(r));
		all_valid(&r);
		for (i = 0; i < lc->nrows; i++)
			plant(&r, &lc->rows[i], i, 0, want[i]);
		open_regs_wire(&x, lc, &r);
		g = xstrdup(wire_request(&x.w, "g"));
		assert_int_equal(strlen(g), 2 * lc->g_size);
		for (i = 0; i < lc->nrows; i++) {
			char p[16];

			hex_of(&hex, want[i], lc->rows[i].bits / 8);
			if (strncmp(g + 2 * goff_of(lc, i), hex.buf, hex.len))
				fail_msg("'g': %s is not at offset %zu", lc->rows[i].name,
					 goff_of(lc, i));
			snprintf(p, sizeof(p), "p%x", i);
			assert_string_equal(wire_request(&x.w, p), hex.buf);
		}
		{
			char p[16];

			snprintf(p, sizeof(p), "p%x", lc->nrows);
			assert_string_equal(wire_request(&x.w, p), "E16");
		}
		free(g);
		close_regs_wire(&x);
		strbuf_release(&hex);
	}
}

static void test_protocol_G(void **state)
{
	unsigned c, i;

	(void)state;
	for (c = 0; c < 2; c++) {
		const struct layout_case *lc = &cases[c];
		struct strbuf pkt = STRBUF_INIT, hex = STRBUF_INIT;
		struct regs_fx x;
		struct x86_regs r, want_regs;
		uint8_t tmp[16];

		memset(&r, 0, sizeof(r));
		all_valid(&r);
		for (i = 0; i < lc->nrows; i++)
			plant(&r, &lc->rows[i], i, 0, tmp);
		open_regs_wire(&x, lc, &r);

		/* a full G with other values everywhere */
		memset(&want_regs, 0, sizeof(want_regs));
		strbuf_addch(&pkt, 'G');
		for (i = 0; i < lc->nrows; i++) {
			plant(&want_regs, &lc->rows[i], i, 3, tmp);
			hex_of(&hex, tmp, lc->rows[i].bits / 8);
			strbuf_addstr(&pkt, hex.buf);
		}
		assert_string_equal(wire_request(&x.w, pkt.buf), "OK");
		assert_int_equal(x.f->set_regs_calls, 1);
		for (i = 0; i < lc->nrows; i++) {
			const struct exp *e = &lc->rows[i];
			size_t k = e->bits / 8 < e->fsize ? e->bits / 8 : e->fsize;

			if (memcmp((uint8_t *)&x.f->regs[0] + e->foff,
				   (uint8_t *)&want_regs + e->foff, k))
				fail_msg("'G': %s did not reach its field", e->name);
		}
		/* and 'g' gives it back */
		assert_string_equal(wire_request(&x.w, "g"), pkt.buf + 1);

		/* "xx" leaves a register alone */
		{
			size_t off = 2 * goff_of(lc, 0);
			uint64_t before = x.f->regs[0].gpr[0];

			memset(pkt.buf + 1 + off, 'x', 2 * lc->rows[0].bits / 8);
			pkt.buf[1 + 2 * goff_of(lc, 1)] = '0'; /* changes row 1 */
			assert_string_equal(wire_request(&x.w, pkt.buf), "OK");
			assert_true(x.f->regs[0].gpr[0] == before);
		}
		/* a G longer than the register file is refused */
		strbuf_reset(&pkt);
		strbuf_addch(&pkt, 'G');
		for (i = 0; i < lc->g_size + 1; i++)
			strbuf_addstr(&pkt, "00");
		assert_string_equal(wire_request(&x.w, pkt.buf), "E16");
		/* odd lengths and bad digits too */
		assert_string_equal(wire_request(&x.w, "G0"), "E16");
		assert_string_equal(wire_request(&x.w, "Gzz"), "E16");
		assert_int_equal(x.f->set_regs_calls, 2);
		close_regs_wire(&x);
		strbuf_release(&pkt);
		strbuf_release(&hex);
	}
}

static void test_protocol_P(void **state)
{
	unsigned c, i;

	(void)state;
	for (c = 0; c < 2; c++) {
		const struct layout_case *lc = &cases[c];
		struct strbuf pkt = STRBUF_INIT, hex = STRBUF_INIT;
		struct regs_fx x;
		struct x86_regs r;
		uint8_t tmp[16];

		memset(&r, 0, sizeof(r));
		all_valid(&r);
		for (i = 0; i < lc->nrows; i++)
			plant(&r, &lc->rows[i], i, 0, tmp);
		open_regs_wire(&x, lc, &r);
		for (i = 0; i < lc->nrows; i++) {
			const struct exp *e = &lc->rows[i];
			struct x86_regs before = x.f->regs[0], want = before;
			size_t k = e->bits / 8 < e->fsize ? e->bits / 8 : e->fsize;

			if (e->kind == EK_FTAG)
				continue; /* covered by test_set_every_row */
			plant(&want, e, i, 4, tmp);
			hex_of(&hex, tmp, e->bits / 8);
			strbuf_reset(&pkt);
			strbuf_addf(&pkt, "P%x=%s", i, hex.buf);
			assert_string_equal(wire_request(&x.w, pkt.buf), "OK");
			if (memcmp((uint8_t *)&x.f->regs[0] + e->foff,
				   (uint8_t *)&want + e->foff, k))
				fail_msg("'P': %s did not reach its field", e->name);
			/* nothing else changed */
			if (memcmp(&x.f->regs[0], &before, e->foff) ||
			    memcmp((uint8_t *)&x.f->regs[0] + e->foff + e->fsize,
				   (uint8_t *)&before + e->foff + e->fsize,
				   sizeof(before) - e->foff - e->fsize))
				fail_msg("'P': writing %s changed another field", e->name);
			strbuf_reset(&pkt);
			strbuf_addf(&pkt, "p%x", i);
			assert_string_equal(wire_request(&x.w, pkt.buf), hex.buf);
		}
		/* malformed P */
		assert_string_equal(wire_request(&x.w, "P0=00"), "E16");
		assert_string_equal(wire_request(&x.w, "P0"), "E16");
		assert_string_equal(wire_request(&x.w, "P=00000000"), "E16");
		assert_string_equal(wire_request(&x.w, "Pzz=00000000"), "E16");
		strbuf_reset(&pkt);
		strbuf_addf(&pkt, "P%x=00000000", lc->nrows);
		assert_string_equal(wire_request(&x.w, pkt.buf), "E16");
		strbuf_reset(&pkt);
		strbuf_addf(&pkt, "P0=%0*d", (int)(lc->rows[0].bits / 4), 0);
		pkt.buf[3] = 'g';
		assert_string_equal(wire_request(&x.w, pkt.buf), "E16");
		close_regs_wire(&x);
		strbuf_release(&pkt);
		strbuf_release(&hex);
	}
}

static void test_protocol_unknown_registers(void **state)
{
	unsigned c, i;

	(void)state;
	for (c = 0; c < 2; c++) {
		const struct layout_case *lc = &cases[c];
		struct strbuf xs = STRBUF_INIT;
		struct regs_fx x;
		struct x86_regs r;
		uint8_t tmp[16];
		char *g;

		/* everything known but the FPU image and rbx/ecx */
		memset(&r, 0, sizeof(r));
		for (i = 0; i < lc->nrows; i++)
			plant(&r, &lc->rows[i], i, 0, tmp);
		all_valid(&r);
		x86_clear_valid(&r, XF_FPU);
		x86_clear_valid(&r, lc->rows[1].valid);
		open_regs_wire(&x, lc, &r);
		g = xstrdup(wire_request(&x.w, "g"));
		assert_int_equal(strlen(g), 2 * lc->g_size);
		for (i = 0; i < lc->nrows; i++) {
			const struct exp *e = &lc->rows[i];
			bool unknown = e->valid == XF_FPU || i == 1;
			size_t off = 2 * goff_of(lc, i), k;
			char p[16];

			for (k = 0; k < 2 * e->bits / 8; k++)
				assert_int_equal(g[off + k] == 'x', unknown);
			snprintf(p, sizeof(p), "p%x", i);
			strbuf_reset(&xs);
			for (k = 0; unknown && k < 2 * e->bits / 8; k++)
				strbuf_addch(&xs, 'x');
			if (unknown)
				assert_string_equal(wire_request(&x.w, p), xs.buf);
		}
		/* an FPU row cannot be written while the image is unknown */
		{
			char p[64];
			int st0 = x86_gdb_reg_find(x86_gdb_layout(lc->bits), "st0");

			snprintf(p, sizeof(p), "P%x=%020d", st0, 0);
			assert_string_equal(wire_request(&x.w, p), "E05");
		}
		free(g);
		close_regs_wire(&x);
		strbuf_release(&xs);
	}
}

/* ---- the target description ---- */

/* A tiny well-formedness checker: elements nest and close, attributes
 * are quoted, text has only the predefined entities, one root element
 * named "target"; every <reg> has a name, a bitsize, a regnum and a type
 * that is gdb's own or defined in the same feature. */
struct xml_reg {
	char name[32], type[32], feature[64];
	unsigned bitsize, regnum;
};

struct xml_doc {
	struct xml_reg regs[80];
	unsigned nregs;
	char arch[32];
	char types[64][32];	/* ids defined in the current feature */
	unsigned ntypes;
	char feature[64];
};

#define XML_CHECK(cond, what) do { if (!(cond)) return (what); } while (0)

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
		p++;
	return p;
}

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' ||
	       c == ':';
}

static const char *check_text(const char *p, const char *end)
{
	static const char *const ents[] = { "&amp;", "&lt;", "&gt;", "&quot;",
					    "&apos;" };

	for (; p < end; p++) {
		size_t i;

		XML_CHECK(*p != '<' && *p != '>' && *p != '"', "stray markup in text");
		if (*p != '&')
			continue;
		for (i = 0; i < N(ents); i++)
			if (!strncmp(p, ents[i], strlen(ents[i])))
				break;
		XML_CHECK(i < N(ents), "unknown entity");
	}
	return NULL;
}

/* The value of attribute name in attrs (already checked), or NULL. */
static const char *attr(const char *attrs, const char *name, char *out,
			size_t size)
{
	size_t n = strlen(name);
	const char *p = attrs;

	while ((p = strstr(p, name))) {
		if ((p == attrs || p[-1] == ' ') && p[n] == '=' && p[n + 1] == '"') {
			const char *v = p + n + 2, *q = strchr(v, '"');

			if (!q || (size_t)(q - v) >= size)
				return NULL;
			memcpy(out, v, (size_t)(q - v));
			out[q - v] = 0;
			return out;
		}
		p += n;
	}
	return NULL;
}

static const char *check_reg(struct xml_doc *x, const char *attrs)
{
	static const char *const builtin[] = {
		"int8", "int16", "int32", "int64", "int128", "uint8", "uint16",
		"uint32", "uint64", "uint128", "code_ptr", "data_ptr",
		"ieee_single", "ieee_double", "i387_ext", "int", "float",
	};
	struct xml_reg *r;
	char num[16];
	bool known = false;
	size_t i;

	XML_CHECK(x->nregs < N(x->regs), "too many registers");
	r = &x->regs[x->nregs++];
	XML_CHECK(attr(attrs, "name", r->name, sizeof(r->name)), "reg without a name");
	XML_CHECK(attr(attrs, "type", r->type, sizeof(r->type)), "reg without a type");
	XML_CHECK(attr(attrs, "bitsize", num, sizeof(num)), "reg without a bitsize");
	r->bitsize = (unsigned)strtoul(num, NULL, 10);
	XML_CHECK(attr(attrs, "regnum", num, sizeof(num)), "reg without a regnum");
	r->regnum = (unsigned)strtoul(num, NULL, 10);
	memcpy(r->feature, x->feature, sizeof(r->feature));
	for (i = 0; i < N(builtin); i++)
		known |= !strcmp(r->type, builtin[i]);
	for (i = 0; i < x->ntypes; i++)
		known |= !strcmp(r->type, x->types[i]);
	XML_CHECK(known, "a register type defined nowhere in its feature");
	return NULL;
}

/* NULL if doc is well-formed, else what is wrong. */
static const char *parse_xml(const char *doc, struct xml_doc *x)
{
	char stack[16][32];
	int depth = 0;
	bool root_seen = false;
	const char *p = doc, *err;

	memset(x, 0, sizeof(*x));
	for (;;) {
		const char *lt = strchr(p, '<'), *gt, *q, *a;
		char name[32], attrs[512];
		bool closing, empty;
		size_t n;

		if (!lt) {
			XML_CHECK(*skip_ws(p) == '\0', "text after the root element");
			break;
		}
		if (depth == 0)
			XML_CHECK(skip_ws(p) == lt, "text outside the root element");
		else if ((err = check_text(p, lt)))
			return err;
		gt = strchr(lt, '>');
		XML_CHECK(gt, "a tag that does not end");
		if (lt[1] == '?' || lt[1] == '!') {
			XML_CHECK(depth == 0 && !root_seen, "a declaration inside the document");
			p = gt + 1;
			continue;
		}
		closing = lt[1] == '/';
		q = lt + 1 + closing;
		for (n = 0; name_char(q[n]); n++)
			;
		XML_CHECK(n > 0 && n < sizeof(name), "a tag without a name");
		memcpy(name, q, n);
		name[n] = 0;
		empty = gt[-1] == '/';
		q += n;
		n = (size_t)(gt - q) - empty;
		XML_CHECK(n < sizeof(attrs), "a tag too long");
		memcpy(attrs, q, n);
		attrs[n] = 0;
		p = gt + 1;
		if (closing) {
			XML_CHECK(depth > 0 && !strcmp(stack[depth - 1], name),
				  "a closing tag that closes nothing open");
			XML_CHECK(*skip_ws(attrs) == '\0', "attributes on a closing tag");
			depth--;
			if (!strcmp(name, "feature"))
				x->ntypes = 0;
			continue;
		}
		for (a = skip_ws(attrs); *a; a = skip_ws(a)) {
			const char *v;

			XML_CHECK(name_char(*a), "a bad attribute name");
			while (name_char(*a))
				a++;
			XML_CHECK(a[0] == '=' && a[1] == '"', "an unquoted attribute");
			v = strchr(a + 2, '"');
			XML_CHECK(v, "an attribute value that does not end");
			if ((err = check_text(a + 2, v)))
				return err;
			XML_CHECK(v[1] == '\0' || v[1] == ' ' || v[1] == '\n',
				  "attributes not separated by spaces");
			a = v + 1;
		}
		if (depth == 0) {
			XML_CHECK(!root_seen, "two root elements");
			XML_CHECK(!strcmp(name, "target"), "the root element is not <target>");
			root_seen = true;
		}
		if (!strcmp(name, "feature"))
			XML_CHECK(attr(attrs, "name", x->feature, sizeof(x->feature)),
				  "a feature without a name");
		if (!strcmp(name, "flags") || !strcmp(name, "vector") ||
		    !strcmp(name, "union") || !strcmp(name, "struct")) {
			XML_CHECK(x->ntypes < N(x->types), "too many types");
			XML_CHECK(attr(attrs, "id", x->types[x->ntypes],
				       sizeof(x->types[0])), "a type without an id");
			x->ntypes++;
		}
		if (!strcmp(name, "architecture")) {
			const char *end = strchr(p, '<');

			XML_CHECK(end && (size_t)(end - p) < sizeof(x->arch),
				  "a bad architecture");
			memcpy(x->arch, p, (size_t)(end - p));
		}
		if (!strcmp(name, "reg")) {
			XML_CHECK(empty, "a reg element with content");
			if ((err = check_reg(x, attrs)))
				return err;
		}
		if (!empty) {
			XML_CHECK(depth < 16, "nesting too deep");
			snprintf(stack[depth++], sizeof(stack[0]), "%s", name);
		}
	}
	XML_CHECK(root_seen, "no root element");
	XML_CHECK(depth == 0, "elements left open");
	return NULL;
}

static void test_target_description(void **state)
{
	unsigned c, i;

	(void)state;
	for (c = 0; c < 2; c++) {
		const struct layout_case *lc = &cases[c];
		const struct x86_gdb_layout *l = x86_gdb_layout(lc->bits);
		struct strbuf sb = STRBUF_INIT;
		struct xml_doc *x = xcalloc(1, sizeof(*x));
		const char *err;

		x86_tdesc_xml(l, &sb);
		err = parse_xml(sb.buf, x);
		if (err)
			fail_msg("%s target description: %s", l->arch, err);
		assert_string_equal(x->arch, l->arch);
		assert_int_equal(x->nregs, lc->nrows);
		for (i = 0; i < lc->nrows; i++) {
			const struct exp *e = &lc->rows[i];

			assert_string_equal(x->regs[i].name, e->name);
			assert_int_equal(x->regs[i].bitsize, e->bits);
			assert_int_equal(x->regs[i].regnum, i);
			assert_string_equal(x->regs[i].feature,
					    !strncmp(e->name, "xmm", 3) ||
					    !strcmp(e->name, "mxcsr") ?
					    "org.gnu.gdb.i386.sse" :
					    "org.gnu.gdb.i386.core");
		}
		free(x);
		strbuf_release(&sb);
	}
}

static void test_xml_checker_rejects(void **state)
{
	static const char *const bad[] = {
		"<target><feature name=\"a\"></target></feature>",
		"<target><reg name=\"r\" bitsize=\"8\" regnum=\"0\" type=\"int8\"></target>",
		"<target version=1.0></target>",
		"<target></target><target></target>",
		"text<target></target>",
		"<target>a & b</target>",
		"<other></other>",
		("<target><feature name=\"f\"><reg name=\"r\" bitsize=\"8\" "
		 "regnum=\"0\" type=\"nosuchtype\"/></feature></target>"),
		("<target><feature name=\"f\"><reg name=\"r\" bitsize=\"8\" "
		 "type=\"int8\"/></feature></target>"),
		"<target>",
		"",
	};
	static const char good[] =
		"<?xml version=\"1.0\"?>\n<!DOCTYPE target SYSTEM \"x.dtd\">\n"
		"<target version=\"1.0\"><architecture>i386</architecture>"
		"<feature name=\"f\"><flags id=\"t\" size=\"4\">"
		"<field name=\"&amp;\" start=\"0\" end=\"0\"/></flags>"
		"<reg name=\"r\" bitsize=\"32\" regnum=\"0\" type=\"t\"/>"
		"</feature></target>\n";
	struct xml_doc *x = xcalloc(1, sizeof(*x));
	size_t i;

	(void)state;
	assert_null(parse_xml(good, x));
	assert_int_equal(x->nregs, 1);
	assert_string_equal(x->arch, "i386");
	for (i = 0; i < N(bad); i++)
		if (!parse_xml(bad[i], x))
			fail_msg("the checker accepted: %s", bad[i]);
	free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout_shape),
		cmocka_unit_test(test_get_every_row),
		cmocka_unit_test(test_set_every_row),
		cmocka_unit_test(test_narrow_writes_keep_high_halves),
		cmocka_unit_test(test_unknown_registers),
		cmocka_unit_test(test_full_tag_word),
		cmocka_unit_test(test_abridged_tag),
		cmocka_unit_test(test_cpl_and_long_mode),
		cmocka_unit_test(test_protocol_g_and_p),
		cmocka_unit_test(test_protocol_G),
		cmocka_unit_test(test_protocol_P),
		cmocka_unit_test(test_protocol_unknown_registers),
		cmocka_unit_test(test_target_description),
		cmocka_unit_test(test_xml_checker_rejects),
	};

	log_set_level(LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
