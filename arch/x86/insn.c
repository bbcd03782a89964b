// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Memory operands of x86 instructions from Capstone's decoding: explicit
 * memory operands with their sizes and read/write flags, plus the implicit
 * accesses Capstone does not list as operands (stack pushes and pops,
 * string instructions' current element).
 */
#include "arch/x86/insn.h"

#include <capstone/capstone.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct x86_decoder {
	csh h;
	unsigned bits;
};

struct x86_decoder *x86_decoder_new(unsigned bits)
{
	struct x86_decoder *d = calloc(1, sizeof(*d));
	cs_mode mode = bits == 64 ? CS_MODE_64 : bits == 16 ? CS_MODE_16 : CS_MODE_32;

	if (!d)
		return NULL;
	if (cs_open(CS_ARCH_X86, mode, &d->h) != CS_ERR_OK) {
		free(d);
		return NULL;
	}
	cs_option(d->h, CS_OPT_DETAIL, CS_OPT_ON);
	d->bits = bits;
	return d;
}

void x86_decoder_free(struct x86_decoder *d)
{
	if (!d)
		return;
	cs_close(&d->h);
	free(d);
}

unsigned x86_code_bits(const struct x86_regs *r)
{
	if (!(r->cr0 & X86_CR0_PE))
		return 16;
	if ((r->efer & X86_EFER_LMA) && (r->seg[X86_CS].attr & X86_SEG_ATTR_L))
		return 64;
	if (x86_valid(r, XF_SEGCACHE0 + X86_CS) &&
	    !(r->seg[X86_CS].attr & X86_SEG_ATTR_DB))
		return 16;
	return 32;
}

unsigned x86_exit_insn(const uint8_t *code, size_t n, unsigned bits, const char **name)
{
	static const struct {
		uint8_t op[3];
		unsigned len;		/* opcode bytes */
		bool modrm;		/* a register-form ModRM follows */
		bool imm8;
		const char *name;
	} table[] = {
		{ { 0xf4 }, 1, false, false, "hlt" },
		{ { 0xe4 }, 1, false, true, "in" }, { { 0xe5 }, 1, false, true, "in" },
		{ { 0xe6 }, 1, false, true, "out" }, { { 0xe7 }, 1, false, true, "out" },
		{ { 0xec }, 1, false, false, "in" }, { { 0xed }, 1, false, false, "in" },
		{ { 0xee }, 1, false, false, "out" }, { { 0xef }, 1, false, false, "out" },
		{ { 0x6c }, 1, false, false, "ins" }, { { 0x6d }, 1, false, false, "ins" },
		{ { 0x6e }, 1, false, false, "outs" }, { { 0x6f }, 1, false, false, "outs" },
		{ { 0x0f, 0xa2 }, 2, false, false, "cpuid" },
		{ { 0x0f, 0x30 }, 2, false, false, "wrmsr" },
		{ { 0x0f, 0x31 }, 2, false, false, "rdtsc" },
		{ { 0x0f, 0x32 }, 2, false, false, "rdmsr" },
		{ { 0x0f, 0x33 }, 2, false, false, "rdpmc" },
		{ { 0x0f, 0x06 }, 2, false, false, "clts" },
		{ { 0x0f, 0x08 }, 2, false, false, "invd" },
		{ { 0x0f, 0x09 }, 2, false, false, "wbinvd" },
		{ { 0x0f, 0x20 }, 2, true, false, "mov from a control register" },
		{ { 0x0f, 0x21 }, 2, true, false, "mov from a debug register" },
		{ { 0x0f, 0x22 }, 2, true, false, "mov to a control register" },
		{ { 0x0f, 0x23 }, 2, true, false, "mov to a debug register" },
		{ { 0x0f, 0x01, 0xc1 }, 3, false, false, "vmcall" },
		{ { 0x0f, 0x01, 0xd9 }, 3, false, false, "vmmcall" },
		{ { 0x0f, 0x01, 0xd1 }, 3, false, false, "xsetbv" },
		{ { 0x0f, 0x01, 0xc8 }, 3, false, false, "monitor" },
		{ { 0x0f, 0x01, 0xc9 }, 3, false, false, "mwait" },
		{ { 0x0f, 0x01, 0xf9 }, 3, false, false, "rdtscp" },
	};
	size_t i = 0, k;

	/* legacy prefixes, then a REX prefix in 64-bit code */
	while (i < n && i < 14 &&
	       (code[i] == 0x66 || code[i] == 0x67 || code[i] == 0xf0 ||
		code[i] == 0xf2 || code[i] == 0xf3 || code[i] == 0x2e ||
		code[i] == 0x36 || code[i] == 0x3e || code[i] == 0x26 ||
		code[i] == 0x64 || code[i] == 0x65))
		i++;
	if (bits == 64 && i < n && (code[i] & 0xf0) == 0x40)
		i++;
	for (k = 0; k < sizeof(table) / sizeof(table[0]); k++) {
		unsigned len = table[k].len + table[k].modrm + table[k].imm8;

		if (i + len > n || memcmp(code + i, table[k].op, table[k].len))
			continue;
		if (name)
			*name = table[k].name;
		return (unsigned)i + len;
	}
	return 0;
}

/* Value of a Capstone register (any width) from the register file. */
static int reg_value(const struct x86_regs *r, x86_reg reg, uint64_t *v)
{
	static const struct {
		x86_reg r64, r32, r16, r8;
		enum x86_gpr gpr;
	} map[] = {
		{ X86_REG_RAX, X86_REG_EAX, X86_REG_AX, X86_REG_AL, X86_RAX },
		{ X86_REG_RCX, X86_REG_ECX, X86_REG_CX, X86_REG_CL, X86_RCX },
		{ X86_REG_RDX, X86_REG_EDX, X86_REG_DX, X86_REG_DL, X86_RDX },
		{ X86_REG_RBX, X86_REG_EBX, X86_REG_BX, X86_REG_BL, X86_RBX },
		{ X86_REG_RSP, X86_REG_ESP, X86_REG_SP, X86_REG_SPL, X86_RSP },
		{ X86_REG_RBP, X86_REG_EBP, X86_REG_BP, X86_REG_BPL, X86_RBP },
		{ X86_REG_RSI, X86_REG_ESI, X86_REG_SI, X86_REG_SIL, X86_RSI },
		{ X86_REG_RDI, X86_REG_EDI, X86_REG_DI, X86_REG_DIL, X86_RDI },
		{ X86_REG_R8, X86_REG_R8D, X86_REG_R8W, X86_REG_R8B, X86_R8 },
		{ X86_REG_R9, X86_REG_R9D, X86_REG_R9W, X86_REG_R9B, X86_R9 },
		{ X86_REG_R10, X86_REG_R10D, X86_REG_R10W, X86_REG_R10B, X86_R10 },
		{ X86_REG_R11, X86_REG_R11D, X86_REG_R11W, X86_REG_R11B, X86_R11 },
		{ X86_REG_R12, X86_REG_R12D, X86_REG_R12W, X86_REG_R12B, X86_R12 },
		{ X86_REG_R13, X86_REG_R13D, X86_REG_R13W, X86_REG_R13B, X86_R13 },
		{ X86_REG_R14, X86_REG_R14D, X86_REG_R14W, X86_REG_R14B, X86_R14 },
		{ X86_REG_R15, X86_REG_R15D, X86_REG_R15W, X86_REG_R15B, X86_R15 },
	};
	size_t i;

	if (reg == X86_REG_INVALID) {
		*v = 0;
		return 0;
	}
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		uint64_t g = r->gpr[map[i].gpr];

		if (reg == map[i].r64) { *v = g; return 0; }
		if (reg == map[i].r32) { *v = g & 0xffffffffull; return 0; }
		if (reg == map[i].r16) { *v = g & 0xffff; return 0; }
		if (reg == map[i].r8) { *v = g & 0xff; return 0; }
	}
	return -ENOENT;
}

static uint64_t seg_base(const struct x86_regs *r, x86_reg seg, unsigned bits)
{
	enum x86_seg s;

	switch (seg) {
	case X86_REG_FS: s = X86_FS; break;
	case X86_REG_GS: s = X86_GS; break;
	case X86_REG_ES: s = X86_ES; break;
	case X86_REG_CS: s = X86_CS; break;
	case X86_REG_SS: s = X86_SS; break;
	case X86_REG_DS: s = X86_DS; break;
	default: return 0;
	}
	/* in 64-bit mode only FS and GS have bases */
	if (bits == 64 && s != X86_FS && s != X86_GS)
		return 0;
	return r->seg[s].base;
}

static void add(struct x86_insn_info *o, uint64_t addr, uint32_t size, bool rd,
		bool wr, unsigned bits)
{
	if (o->naccess >= X86_INSN_MAX_ACCESS || !size)
		return;
	if (bits != 64)
		addr &= 0xffffffffull;
	o->acc[o->naccess++] = (struct x86_mem_access){ addr, size, rd, wr };
}

/* Operand size of stack operations in this mode. */
static uint32_t stack_size(const cs_insn *insn, unsigned bits)
{
	const cs_x86 *x = &insn->detail->x86;
	uint32_t sz = bits == 64 ? 8 : bits == 32 ? 4 : 2;

	if (x->prefix[2] == X86_PREFIX_OPSIZE)
		sz = bits == 16 ? 4 : 2;
	return sz;
}

static uint32_t string_elem(unsigned id)
{
	switch (id) {
	case X86_INS_MOVSB: case X86_INS_STOSB: case X86_INS_LODSB:
	case X86_INS_CMPSB: case X86_INS_SCASB: case X86_INS_INSB:
	case X86_INS_OUTSB:
		return 1;
	case X86_INS_MOVSW: case X86_INS_STOSW: case X86_INS_LODSW:
	case X86_INS_CMPSW: case X86_INS_SCASW: case X86_INS_INSW:
	case X86_INS_OUTSW:
		return 2;
	case X86_INS_MOVSD: case X86_INS_STOSD: case X86_INS_LODSD:
	case X86_INS_CMPSD: case X86_INS_SCASD: case X86_INS_INSD:
	case X86_INS_OUTSD:
		return 4;
	case X86_INS_MOVSQ: case X86_INS_STOSQ: case X86_INS_LODSQ:
	case X86_INS_CMPSQ: case X86_INS_SCASQ:
		return 8;
	default:
		return 0;
	}
}

/* The bytes a string instruction's operand covers from ptr: one element,
 * or with a rep prefix RCX elements, downwards when EFLAGS.DF is set. The
 * count is capped (1 GiB of elements, the longest watchpoint); repe/repne
 * cmps and scas may stop early, so for them this is an upper bound. */
static void add_string(struct x86_insn_info *o, uint64_t base, uint64_t ptr,
		       uint32_t e, uint64_t count, bool rd, bool wr, unsigned bits)
{
	uint64_t span;

	if (!count)
		return;
	if (count > (1ull << 30) / e)
		count = (1ull << 30) / e;
	span = count * e;
	if (o->down)
		ptr -= span - e;
	add(o, base + ptr, (uint32_t)span, rd, wr, bits);
}

static bool string_implicit(struct x86_insn_info *o, const cs_insn *insn,
			    const struct x86_regs *r, unsigned bits)
{
	uint32_t e = string_elem(insn->id);
	uint64_t si = r->gpr[X86_RSI], di = r->gpr[X86_RDI];
	uint64_t ds = seg_base(r, X86_REG_DS, bits), es = seg_base(r, X86_REG_ES, bits);
	const cs_x86 *x = &insn->detail->x86;
	uint64_t n = 1;
	unsigned i;

	if (!e)
		return false;
	/* a segment override applies to the source operand */
	for (i = 0; i < x->op_count; i++)
		if (x->operands[i].type == X86_OP_MEM &&
		    x->operands[i].mem.segment != X86_REG_INVALID &&
		    x->operands[i].mem.segment != X86_REG_ES)
			ds = seg_base(r, x->operands[i].mem.segment, bits);
	if (x->addr_size == 4) {
		si &= 0xffffffffull;
		di &= 0xffffffffull;
	} else if (x->addr_size == 2) {
		si &= 0xffff;
		di &= 0xffff;
	}
	o->is_string = true;
	o->rep = x->prefix[0] == X86_PREFIX_REP || x->prefix[0] == X86_PREFIX_REPE ||
		 x->prefix[0] == X86_PREFIX_REPNE;
	o->down = r->rflags & X86_RFLAGS_DF;
	if (o->rep) {
		n = r->gpr[X86_RCX];
		if (x->addr_size == 4)
			n &= 0xffffffffull;
		else if (x->addr_size == 2)
			n &= 0xffff;
	}
	switch (insn->id) {
	case X86_INS_MOVSB: case X86_INS_MOVSW: case X86_INS_MOVSD:
	case X86_INS_MOVSQ:
		add_string(o, ds, si, e, n, true, false, bits);
		add_string(o, es, di, e, n, false, true, bits);
		break;
	case X86_INS_CMPSB: case X86_INS_CMPSW: case X86_INS_CMPSD:
	case X86_INS_CMPSQ:
		add_string(o, ds, si, e, n, true, false, bits);
		add_string(o, es, di, e, n, true, false, bits);
		break;
	case X86_INS_STOSB: case X86_INS_STOSW: case X86_INS_STOSD:
	case X86_INS_STOSQ: case X86_INS_INSB: case X86_INS_INSW:
	case X86_INS_INSD:
		add_string(o, es, di, e, n, false, true, bits);
		break;
	case X86_INS_SCASB: case X86_INS_SCASW: case X86_INS_SCASD:
	case X86_INS_SCASQ:
		add_string(o, es, di, e, n, true, false, bits);
		break;
	default: /* lods, outs */
		add_string(o, ds, si, e, n, true, false, bits);
		break;
	}
	return true;
}

/* Stack accesses that Capstone does not list as memory operands. */
static void stack_implicit(struct x86_insn_info *o, const cs_insn *insn,
			   const struct x86_regs *r, unsigned bits)
{
	uint64_t sp = r->gpr[X86_RSP] + seg_base(r, X86_REG_SS, bits);
	uint32_t sz = stack_size(insn, bits);

	switch (insn->id) {
	case X86_INS_PUSH:
	case X86_INS_CALL:
		add(o, sp - sz, sz, false, true, bits);
		break;
	case X86_INS_PUSHF: case X86_INS_PUSHFD: case X86_INS_PUSHFQ:
		o->is_pushf = true;
		add(o, sp - sz, sz, false, true, bits);
		break;
	case X86_INS_POP:
	case X86_INS_POPF: case X86_INS_POPFD: case X86_INS_POPFQ:
		add(o, sp, sz, true, false, bits);
		break;
	case X86_INS_RET:
		add(o, sp, sz, true, false, bits);
		break;
	case X86_INS_LEAVE:
		add(o, r->gpr[X86_RBP] + seg_base(r, X86_REG_SS, bits), sz, true,
		    false, bits);
		break;
	case X86_INS_PUSHAL: case X86_INS_PUSHAW:
		add(o, sp - 8 * sz, 8 * sz, false, true, bits);
		break;
	case X86_INS_POPAL: case X86_INS_POPAW:
		add(o, sp, 8 * sz, true, false, bits);
		break;
	default:
		break;
	}
}

int x86_decode(struct x86_decoder *d, const uint8_t *code, size_t n,
	       const struct x86_regs *r, struct x86_insn_info *out)
{
	cs_insn *insn = NULL;
	const cs_x86 *x;
	size_t cnt;
	unsigned i;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	cnt = cs_disasm(d->h, code, n, r->rip, 1, &insn);
	if (cnt != 1)
		return -EINVAL;
	out->length = insn->size;
	snprintf(out->text, sizeof(out->text), "%s %s", insn->mnemonic,
		 insn->op_str);
	x = &insn->detail->x86;
	if (string_implicit(out, insn, r, d->bits))
		goto done;
	stack_implicit(out, insn, r, d->bits);
	for (i = 0; i < x->op_count; i++) {
		const cs_x86_op *op = &x->operands[i];
		uint64_t base = 0, index = 0, addr;
		bool rd, wr;

		if (op->type != X86_OP_MEM)
			continue;
		/* lea computes an address and touches nothing */
		if (insn->id == X86_INS_LEA || insn->id == X86_INS_NOP)
			continue;
		if (op->mem.base == X86_REG_RIP || op->mem.base == X86_REG_EIP) {
			base = r->rip + insn->size;
		} else if (reg_value(r, op->mem.base, &base) < 0) {
			rc = -ENOENT;
			break;
		}
		if (reg_value(r, op->mem.index, &index) < 0) {
			rc = -ENOENT;
			break;
		}
		addr = base + index * (uint64_t)op->mem.scale + (uint64_t)op->mem.disp;
		if (x->addr_size == 4)
			addr &= 0xffffffffull;
		else if (x->addr_size == 2)
			addr &= 0xffff;
		addr += seg_base(r, op->mem.segment == X86_REG_INVALID ?
				 ((op->mem.base == X86_REG_RSP || op->mem.base == X86_REG_RBP ||
				   op->mem.base == X86_REG_ESP || op->mem.base == X86_REG_EBP) ?
				  X86_REG_SS : X86_REG_DS) : op->mem.segment, d->bits);
		rd = op->access & CS_AC_READ;
		wr = op->access & CS_AC_WRITE;
		if (!rd && !wr)
			rd = true; /* unknown: assume a read */
		add(out, addr, op->size, rd, wr, d->bits);
	}
done:
	cs_free(insn, cnt);
	return rc;
}
