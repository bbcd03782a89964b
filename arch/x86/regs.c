// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The x86 register file and its gdb remote layouts as data tables. Each row
 * says where gdb's register lives in struct x86_regs; the unit tests
 * round-trip every row through 'g' and 'p' for both layouts.
 */
#include "arch/x86/regs.h"

#include <errno.h>
#include <string.h>

#include "stub/base/num.h"
#include "stub/base/strbuf.h"

#define CORE "org.gnu.gdb.i386.core"
#define SSE "org.gnu.gdb.i386.sse"

#define R(n, b, k, i, t, g, f) { n, b, k, i, t, g, f }

static const struct x86_gdb_reg amd64_regs[] = {
	R("rax", 64, GK_GPR, X86_RAX, "int64", NULL, CORE),
	R("rbx", 64, GK_GPR, X86_RBX, "int64", NULL, CORE),
	R("rcx", 64, GK_GPR, X86_RCX, "int64", NULL, CORE),
	R("rdx", 64, GK_GPR, X86_RDX, "int64", NULL, CORE),
	R("rsi", 64, GK_GPR, X86_RSI, "int64", NULL, CORE),
	R("rdi", 64, GK_GPR, X86_RDI, "int64", NULL, CORE),
	R("rbp", 64, GK_GPR, X86_RBP, "data_ptr", NULL, CORE),
	R("rsp", 64, GK_GPR, X86_RSP, "data_ptr", NULL, CORE),
	R("r8", 64, GK_GPR, X86_R8, "int64", NULL, CORE),
	R("r9", 64, GK_GPR, X86_R9, "int64", NULL, CORE),
	R("r10", 64, GK_GPR, X86_R10, "int64", NULL, CORE),
	R("r11", 64, GK_GPR, X86_R11, "int64", NULL, CORE),
	R("r12", 64, GK_GPR, X86_R12, "int64", NULL, CORE),
	R("r13", 64, GK_GPR, X86_R13, "int64", NULL, CORE),
	R("r14", 64, GK_GPR, X86_R14, "int64", NULL, CORE),
	R("r15", 64, GK_GPR, X86_R15, "int64", NULL, CORE),
	R("rip", 64, GK_RIP, 0, "code_ptr", NULL, CORE),
	R("eflags", 32, GK_EFLAGS, 0, "i386_eflags", NULL, CORE),
	R("cs", 32, GK_SEL, X86_CS, "int32", NULL, CORE),
	R("ss", 32, GK_SEL, X86_SS, "int32", NULL, CORE),
	R("ds", 32, GK_SEL, X86_DS, "int32", NULL, CORE),
	R("es", 32, GK_SEL, X86_ES, "int32", NULL, CORE),
	R("fs", 32, GK_SEL, X86_FS, "int32", NULL, CORE),
	R("gs", 32, GK_SEL, X86_GS, "int32", NULL, CORE),
	R("fs_base", 64, GK_SEGBASE, X86_FS, "int64", NULL, CORE),
	R("gs_base", 64, GK_SEGBASE, X86_GS, "int64", NULL, CORE),
	R("k_gs_base", 64, GK_KGSBASE, 0, "int64", NULL, CORE),
	R("cr0", 64, GK_CR, 0, "i386_cr0", NULL, CORE),
	R("cr2", 64, GK_CR, 2, "int64", NULL, CORE),
	R("cr3", 64, GK_CR, 3, "int64", NULL, CORE),
	R("cr4", 64, GK_CR, 4, "i386_cr4", NULL, CORE),
	R("cr8", 64, GK_CR, 8, "int64", NULL, CORE),
	R("efer", 64, GK_EFER, 0, "i386_efer", NULL, CORE),
	R("st0", 80, GK_ST, 0, "i387_ext", NULL, CORE),
	R("st1", 80, GK_ST, 1, "i387_ext", NULL, CORE),
	R("st2", 80, GK_ST, 2, "i387_ext", NULL, CORE),
	R("st3", 80, GK_ST, 3, "i387_ext", NULL, CORE),
	R("st4", 80, GK_ST, 4, "i387_ext", NULL, CORE),
	R("st5", 80, GK_ST, 5, "i387_ext", NULL, CORE),
	R("st6", 80, GK_ST, 6, "i387_ext", NULL, CORE),
	R("st7", 80, GK_ST, 7, "i387_ext", NULL, CORE),
	R("fctrl", 32, GK_FPCTL, FP_FCTRL, "int", "float", CORE),
	R("fstat", 32, GK_FPCTL, FP_FSTAT, "int", "float", CORE),
	R("ftag", 32, GK_FPCTL, FP_FTAG, "int", "float", CORE),
	R("fiseg", 32, GK_FPCTL, FP_FISEG, "int", "float", CORE),
	R("fioff", 32, GK_FPCTL, FP_FIOFF, "int", "float", CORE),
	R("foseg", 32, GK_FPCTL, FP_FOSEG, "int", "float", CORE),
	R("fooff", 32, GK_FPCTL, FP_FOOFF, "int", "float", CORE),
	R("fop", 32, GK_FPCTL, FP_FOP, "int", "float", CORE),
	R("xmm0", 128, GK_XMM, 0, "vec128", NULL, SSE),
	R("xmm1", 128, GK_XMM, 1, "vec128", NULL, SSE),
	R("xmm2", 128, GK_XMM, 2, "vec128", NULL, SSE),
	R("xmm3", 128, GK_XMM, 3, "vec128", NULL, SSE),
	R("xmm4", 128, GK_XMM, 4, "vec128", NULL, SSE),
	R("xmm5", 128, GK_XMM, 5, "vec128", NULL, SSE),
	R("xmm6", 128, GK_XMM, 6, "vec128", NULL, SSE),
	R("xmm7", 128, GK_XMM, 7, "vec128", NULL, SSE),
	R("xmm8", 128, GK_XMM, 8, "vec128", NULL, SSE),
	R("xmm9", 128, GK_XMM, 9, "vec128", NULL, SSE),
	R("xmm10", 128, GK_XMM, 10, "vec128", NULL, SSE),
	R("xmm11", 128, GK_XMM, 11, "vec128", NULL, SSE),
	R("xmm12", 128, GK_XMM, 12, "vec128", NULL, SSE),
	R("xmm13", 128, GK_XMM, 13, "vec128", NULL, SSE),
	R("xmm14", 128, GK_XMM, 14, "vec128", NULL, SSE),
	R("xmm15", 128, GK_XMM, 15, "vec128", NULL, SSE),
	R("mxcsr", 32, GK_MXCSR, 0, "i386_mxcsr", "vector", SSE),
};

static const struct x86_gdb_reg i386_regs[] = {
	R("eax", 32, GK_GPR, X86_RAX, "int32", NULL, CORE),
	R("ecx", 32, GK_GPR, X86_RCX, "int32", NULL, CORE),
	R("edx", 32, GK_GPR, X86_RDX, "int32", NULL, CORE),
	R("ebx", 32, GK_GPR, X86_RBX, "int32", NULL, CORE),
	R("esp", 32, GK_GPR, X86_RSP, "data_ptr", NULL, CORE),
	R("ebp", 32, GK_GPR, X86_RBP, "data_ptr", NULL, CORE),
	R("esi", 32, GK_GPR, X86_RSI, "int32", NULL, CORE),
	R("edi", 32, GK_GPR, X86_RDI, "int32", NULL, CORE),
	R("eip", 32, GK_RIP, 0, "code_ptr", NULL, CORE),
	R("eflags", 32, GK_EFLAGS, 0, "i386_eflags", NULL, CORE),
	R("cs", 32, GK_SEL, X86_CS, "int32", NULL, CORE),
	R("ss", 32, GK_SEL, X86_SS, "int32", NULL, CORE),
	R("ds", 32, GK_SEL, X86_DS, "int32", NULL, CORE),
	R("es", 32, GK_SEL, X86_ES, "int32", NULL, CORE),
	R("fs", 32, GK_SEL, X86_FS, "int32", NULL, CORE),
	R("gs", 32, GK_SEL, X86_GS, "int32", NULL, CORE),
	R("fs_base", 32, GK_SEGBASE, X86_FS, "int32", NULL, CORE),
	R("gs_base", 32, GK_SEGBASE, X86_GS, "int32", NULL, CORE),
	R("k_gs_base", 32, GK_KGSBASE, 0, "int32", NULL, CORE),
	R("cr0", 32, GK_CR, 0, "i386_cr0", NULL, CORE),
	R("cr2", 32, GK_CR, 2, "int32", NULL, CORE),
	R("cr3", 32, GK_CR, 3, "int32", NULL, CORE),
	R("cr4", 32, GK_CR, 4, "i386_cr4", NULL, CORE),
	R("cr8", 32, GK_CR, 8, "int32", NULL, CORE),
	R("efer", 32, GK_EFER, 0, "i386_efer", NULL, CORE),
	R("st0", 80, GK_ST, 0, "i387_ext", NULL, CORE),
	R("st1", 80, GK_ST, 1, "i387_ext", NULL, CORE),
	R("st2", 80, GK_ST, 2, "i387_ext", NULL, CORE),
	R("st3", 80, GK_ST, 3, "i387_ext", NULL, CORE),
	R("st4", 80, GK_ST, 4, "i387_ext", NULL, CORE),
	R("st5", 80, GK_ST, 5, "i387_ext", NULL, CORE),
	R("st6", 80, GK_ST, 6, "i387_ext", NULL, CORE),
	R("st7", 80, GK_ST, 7, "i387_ext", NULL, CORE),
	R("fctrl", 32, GK_FPCTL, FP_FCTRL, "int", "float", CORE),
	R("fstat", 32, GK_FPCTL, FP_FSTAT, "int", "float", CORE),
	R("ftag", 32, GK_FPCTL, FP_FTAG, "int", "float", CORE),
	R("fiseg", 32, GK_FPCTL, FP_FISEG, "int", "float", CORE),
	R("fioff", 32, GK_FPCTL, FP_FIOFF, "int", "float", CORE),
	R("foseg", 32, GK_FPCTL, FP_FOSEG, "int", "float", CORE),
	R("fooff", 32, GK_FPCTL, FP_FOOFF, "int", "float", CORE),
	R("fop", 32, GK_FPCTL, FP_FOP, "int", "float", CORE),
	R("xmm0", 128, GK_XMM, 0, "vec128", NULL, SSE),
	R("xmm1", 128, GK_XMM, 1, "vec128", NULL, SSE),
	R("xmm2", 128, GK_XMM, 2, "vec128", NULL, SSE),
	R("xmm3", 128, GK_XMM, 3, "vec128", NULL, SSE),
	R("xmm4", 128, GK_XMM, 4, "vec128", NULL, SSE),
	R("xmm5", 128, GK_XMM, 5, "vec128", NULL, SSE),
	R("xmm6", 128, GK_XMM, 6, "vec128", NULL, SSE),
	R("xmm7", 128, GK_XMM, 7, "vec128", NULL, SSE),
	R("mxcsr", 32, GK_MXCSR, 0, "i386_mxcsr", "vector", SSE),
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const struct x86_gdb_layout amd64_layout = {
	"i386:x86-64", 64, N(amd64_regs), amd64_regs, 608,
};
static const struct x86_gdb_layout i386_layout = {
	"i386", 32, N(i386_regs), i386_regs, 344,
};

const struct x86_gdb_layout *x86_gdb_layout(unsigned bits)
{
	return bits == 32 ? &i386_layout : &amd64_layout;
}

void x86_set_valid_range(struct x86_regs *r, enum x86_field first,
			 enum x86_field last)
{
	unsigned f;

	for (f = first; f <= (unsigned)last; f++)
		x86_set_valid(r, (enum x86_field)f);
}

size_t x86_gdb_reg_size(const struct x86_gdb_layout *l, unsigned regno)
{
	return regno < l->nregs ? l->regs[regno].bits / 8u : 0;
}

size_t x86_gdb_reg_offset(const struct x86_gdb_layout *l, unsigned regno)
{
	size_t off = 0;
	unsigned i;

	for (i = 0; i < regno && i < l->nregs; i++)
		off += l->regs[i].bits / 8u;
	return off;
}

int x86_gdb_reg_find(const struct x86_gdb_layout *l, const char *name)
{
	unsigned i;

	for (i = 0; i < l->nregs; i++)
		if (!strcmp(l->regs[i].name, name))
			return (int)i;
	return -1;
}

/* FXSAVE field offsets. */
#define FX_FCW 0
#define FX_FSW 2
#define FX_FTW 4
#define FX_FOP 6
#define FX_FIP 8
#define FX_FCS 12
#define FX_FDP 16
#define FX_FDS 20
#define FX_MXCSR 24
#define FX_ST 32
#define FX_XMM 160

static uint32_t ld16(const uint8_t *p) { return p[0] | (uint32_t)p[1] << 8; }
static uint32_t ld32(const uint8_t *p)
{
	return ld16(p) | (uint32_t)ld16(p + 2) << 16;
}
static void st16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void st32(uint8_t *p, uint32_t v) { st16(p, v); st16(p + 2, v >> 16); }

uint16_t x86_fxsave_full_tag(const uint8_t fx[512])
{
	unsigned top = (ld16(fx + FX_FSW) >> 11) & 7;
	uint8_t abridged = fx[FX_FTW];
	uint16_t full = 0;
	unsigned p;

	for (p = 0; p < 8; p++) {
		unsigned tag;

		if (!(abridged & (1u << p))) {
			tag = 3; /* empty */
		} else {
			const uint8_t *st = fx + FX_ST + 16 * ((p - top) & 7);
			uint32_t exp = ld16(st + 8) & 0x7fff;
			uint64_t mant = get_le(st, 8);

			if (exp == 0x7fff)
				tag = 2;
			else if (exp == 0)
				tag = mant ? 2 : 1;
			else
				tag = (mant >> 63) ? 0 : 2;
		}
		full |= (uint16_t)(tag << (2 * p));
	}
	return full;
}

uint8_t x86_fxsave_abridged_tag(uint16_t full)
{
	uint8_t a = 0;
	unsigned p;

	for (p = 0; p < 8; p++)
		if (((full >> (2 * p)) & 3) != 3)
			a |= (uint8_t)(1u << p);
	return a;
}

static uint64_t *cr_slot(struct x86_regs *r, unsigned n)
{
	switch (n) {
	case 0: return &r->cr0;
	case 2: return &r->cr2;
	case 3: return &r->cr3;
	case 4: return &r->cr4;
	default: return &r->cr8;
	}
}

static enum x86_field cr_field(unsigned n)
{
	switch (n) {
	case 0: return XF_CR0;
	case 2: return XF_CR2;
	case 3: return XF_CR3;
	case 4: return XF_CR4;
	default: return XF_CR8;
	}
}

/* The field that decides whether a row is known. */
static enum x86_field row_field(const struct x86_gdb_reg *g)
{
	switch (g->kind) {
	case GK_GPR: return (enum x86_field)(XF_GPR0 + g->index);
	case GK_RIP: return XF_RIP;
	case GK_EFLAGS: return XF_RFLAGS;
	case GK_SEL: return (enum x86_field)(XF_SEL0 + g->index);
	case GK_SEGBASE: return (enum x86_field)(XF_SEGCACHE0 + g->index);
	case GK_KGSBASE: return XF_KGSBASE;
	case GK_CR: return cr_field(g->index);
	case GK_EFER: return XF_EFER;
	default: return XF_FPU;
	}
}

int x86_gdb_reg_get(const struct x86_regs *r, const struct x86_gdb_layout *l,
		    unsigned regno, uint8_t *buf)
{
	const struct x86_gdb_reg *g;
	size_t n;
	uint64_t v = 0;

	if (regno >= l->nregs)
		return -EINVAL;
	g = &l->regs[regno];
	n = g->bits / 8u;
	if (!x86_valid(r, row_field(g)))
		return -ENODATA;

	switch (g->kind) {
	case GK_GPR: v = r->gpr[g->index]; break;
	case GK_RIP: v = r->rip; break;
	case GK_EFLAGS: v = r->rflags; break;
	case GK_SEL: v = r->seg[g->index].sel; break;
	case GK_SEGBASE: v = r->seg[g->index].base; break;
	case GK_KGSBASE: v = r->k_gs_base; break;
	case GK_CR: v = *cr_slot((struct x86_regs *)r, g->index); break;
	case GK_EFER: v = r->efer; break;
	case GK_ST:
		memcpy(buf, r->fxsave + FX_ST + 16 * g->index, 10);
		return (int)n;
	case GK_XMM:
		memcpy(buf, r->fxsave + FX_XMM + 16 * g->index, 16);
		return (int)n;
	case GK_MXCSR: v = ld32(r->fxsave + FX_MXCSR); break;
	case GK_FPCTL:
		switch (g->index) {
		case FP_FCTRL: v = ld16(r->fxsave + FX_FCW); break;
		case FP_FSTAT: v = ld16(r->fxsave + FX_FSW); break;
		case FP_FTAG: v = x86_fxsave_full_tag(r->fxsave); break;
		case FP_FISEG: v = ld16(r->fxsave + FX_FCS); break;
		case FP_FIOFF: v = ld32(r->fxsave + FX_FIP); break;
		case FP_FOSEG: v = ld16(r->fxsave + FX_FDS); break;
		case FP_FOOFF: v = ld32(r->fxsave + FX_FDP); break;
		case FP_FOP: v = ld16(r->fxsave + FX_FOP) & 0x7ff; break;
		}
		break;
	}
	put_le(buf, v, n);
	return (int)n;
}

int x86_gdb_reg_set(struct x86_regs *r, const struct x86_gdb_layout *l,
		    unsigned regno, const uint8_t *buf)
{
	const struct x86_gdb_reg *g;
	size_t n;
	uint64_t v;

	if (regno >= l->nregs)
		return -EINVAL;
	g = &l->regs[regno];
	n = g->bits / 8u;
	v = n <= 8 ? get_le(buf, (unsigned)n) : 0;

	switch (g->kind) {
	case GK_GPR:
		/* a 32-bit layout writes the low half and keeps the rest */
		if (n < 8)
			v |= r->gpr[g->index] & ~0xffffffffull;
		r->gpr[g->index] = v;
		break;
	case GK_RIP: r->rip = n < 8 ? (r->rip & ~0xffffffffull) | v : v; break;
	case GK_EFLAGS: r->rflags = (r->rflags & ~0xffffffffull) | v; break;
	case GK_SEL: r->seg[g->index].sel = (uint16_t)v; break;
	case GK_SEGBASE: r->seg[g->index].base = v; break;
	case GK_KGSBASE: r->k_gs_base = v; break;
	case GK_CR: *cr_slot(r, g->index) = v; break;
	case GK_EFER: r->efer = v; break;
	case GK_ST:
		if (!x86_valid(r, XF_FPU))
			return -ENODATA;
		memcpy(r->fxsave + FX_ST + 16 * g->index, buf, 10);
		break;
	case GK_XMM:
		if (!x86_valid(r, XF_FPU))
			return -ENODATA;
		memcpy(r->fxsave + FX_XMM + 16 * g->index, buf, 16);
		break;
	case GK_MXCSR:
		if (!x86_valid(r, XF_FPU))
			return -ENODATA;
		st32(r->fxsave + FX_MXCSR, (uint32_t)v);
		break;
	case GK_FPCTL:
		if (!x86_valid(r, XF_FPU))
			return -ENODATA;
		switch (g->index) {
		case FP_FCTRL: st16(r->fxsave + FX_FCW, (uint32_t)v); break;
		case FP_FSTAT: st16(r->fxsave + FX_FSW, (uint32_t)v); break;
		case FP_FTAG:
			r->fxsave[FX_FTW] = x86_fxsave_abridged_tag((uint16_t)v);
			break;
		case FP_FISEG: st16(r->fxsave + FX_FCS, (uint32_t)v); break;
		case FP_FIOFF: st32(r->fxsave + FX_FIP, (uint32_t)v); break;
		case FP_FOSEG: st16(r->fxsave + FX_FDS, (uint32_t)v); break;
		case FP_FOOFF: st32(r->fxsave + FX_FDP, (uint32_t)v); break;
		case FP_FOP: st16(r->fxsave + FX_FOP, (uint32_t)v & 0x7ff); break;
		}
		break;
	}
	/* The FPU image is all-or-nothing (checked above); the other rows
	 * become known when written. */
	x86_set_valid(r, row_field(g));
	return 0;
}

unsigned x86_cpl(const struct x86_regs *r)
{
	if (x86_valid(r, XF_SEGCACHE0 + X86_SS))
		return X86_SEG_ATTR_DPL(r->seg[X86_SS].attr);
	return r->seg[X86_CS].sel & 3;
}

bool x86_in_long_mode(const struct x86_regs *r)
{
	if (!(r->efer & X86_EFER_LMA))
		return false;
	if (x86_valid(r, XF_SEGCACHE0 + X86_CS))
		return r->seg[X86_CS].attr & X86_SEG_ATTR_L;
	return true;
}

/* ---- target description ---- */

static void flags_type(struct strbuf *sb, const char *id, unsigned size,
		       const char *const *names)
{
	unsigned bit;

	strbuf_addf(sb, "  <flags id=\"%s\" size=\"%u\">\n", id, size);
	for (bit = 0; bit < size * 8; bit++)
		if (names[bit])
			strbuf_addf(sb,
				    "    <field name=\"%s\" start=\"%u\" end=\"%u\"/>\n",
				    names[bit], bit, bit);
	strbuf_addstr(sb, "  </flags>\n");
}

static void core_types(struct strbuf *sb, unsigned bits)
{
	static const char *const eflags[32] = {
		[0] = "CF", [1] = "", [2] = "PF", [4] = "AF", [6] = "ZF",
		[7] = "SF", [8] = "TF", [9] = "IF", [10] = "DF", [11] = "OF",
		[14] = "NT", [16] = "RF", [17] = "VM", [18] = "AC",
		[19] = "VIF", [20] = "VIP", [21] = "ID",
	};
	static const char *const cr0[64] = {
		[0] = "PE", [1] = "MP", [2] = "EM", [3] = "TS", [4] = "ET",
		[5] = "NE", [16] = "WP", [18] = "AM", [29] = "NW", [30] = "CD",
		[31] = "PG",
	};
	static const char *const cr4[64] = {
		[0] = "VME", [1] = "PVI", [2] = "TSD", [3] = "DE", [4] = "PSE",
		[5] = "PAE", [6] = "MCE", [7] = "PGE", [8] = "PCE",
		[9] = "OSFXSR", [10] = "OSXMMEXCPT", [11] = "UMIP",
		[12] = "LA57", [13] = "VMXE", [14] = "SMXE", [16] = "FSGSBASE",
		[17] = "PCIDE", [18] = "OSXSAVE", [20] = "SMEP", [21] = "SMAP",
		[22] = "PKE", [23] = "CET", [24] = "PKS",
	};
	static const char *const efer[64] = {
		[0] = "SCE", [8] = "LME", [10] = "LMA", [11] = "NXE",
		[12] = "SVME", [13] = "LMSLE", [14] = "FFXSR", [15] = "TCE",
	};
	unsigned sz = bits / 8;

	flags_type(sb, "i386_eflags", 4, eflags);
	flags_type(sb, "i386_cr0", sz, cr0);
	flags_type(sb, "i386_cr4", sz, cr4);
	flags_type(sb, "i386_efer", sz, efer);
}

static void sse_types(struct strbuf *sb)
{
	static const char *const mxcsr[32] = {
		[0] = "IE", [1] = "DE", [2] = "ZE", [3] = "OE", [4] = "UE",
		[5] = "PE", [6] = "DAZ", [7] = "IM", [8] = "DM", [9] = "ZM",
		[10] = "OM", [11] = "UM", [12] = "PM", [15] = "FZ",
	};

	strbuf_addstr(sb,
		"  <vector id=\"v4f\" type=\"ieee_single\" count=\"4\"/>\n"
		"  <vector id=\"v2d\" type=\"ieee_double\" count=\"2\"/>\n"
		"  <vector id=\"v16i8\" type=\"int8\" count=\"16\"/>\n"
		"  <vector id=\"v8i16\" type=\"int16\" count=\"8\"/>\n"
		"  <vector id=\"v4i32\" type=\"int32\" count=\"4\"/>\n"
		"  <vector id=\"v2i64\" type=\"int64\" count=\"2\"/>\n"
		"  <union id=\"vec128\">\n"
		"    <field name=\"v4_float\" type=\"v4f\"/>\n"
		"    <field name=\"v2_double\" type=\"v2d\"/>\n"
		"    <field name=\"v16_int8\" type=\"v16i8\"/>\n"
		"    <field name=\"v8_int16\" type=\"v8i16\"/>\n"
		"    <field name=\"v4_int32\" type=\"v4i32\"/>\n"
		"    <field name=\"v2_int64\" type=\"v2i64\"/>\n"
		"    <field name=\"uint128\" type=\"uint128\"/>\n"
		"  </union>\n");
	flags_type(sb, "i386_mxcsr", 4, mxcsr);
}

void x86_tdesc_xml(const struct x86_gdb_layout *l, struct strbuf *sb)
{
	const char *feature = NULL;
	unsigned i;

	strbuf_addstr(sb, "<?xml version=\"1.0\"?>\n"
			  "<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n"
			  "<target version=\"1.0\">\n");
	strbuf_addf(sb, "<architecture>%s</architecture>\n", l->arch);
	for (i = 0; i < l->nregs; i++) {
		const struct x86_gdb_reg *g = &l->regs[i];

		if (!feature || strcmp(feature, g->feature)) {
			if (feature)
				strbuf_addstr(sb, "</feature>\n");
			feature = g->feature;
			strbuf_addf(sb, "<feature name=\"%s\">\n", feature);
			if (!strcmp(feature, CORE))
				core_types(sb, l->addr_bits);
			else
				sse_types(sb);
		}
		strbuf_addf(sb, "  <reg name=\"%s\" bitsize=\"%u\" type=\"%s\" regnum=\"%u\"",
			    g->name, g->bits, g->type, i);
		if (g->group)
			strbuf_addf(sb, " group=\"%s\"", g->group);
		strbuf_addstr(sb, "/>\n");
	}
	if (feature)
		strbuf_addstr(sb, "</feature>\n");
	strbuf_addstr(sb, "</target>\n");
}
