// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * One kernel function's machine code as a list of accesses relative to its
 * arguments (see linux-code.h): Capstone decodes, a linear abstract pass
 * follows which register holds which argument, loaded value or constant,
 * through moves, lea, add/sub of constants and stack spills. Branches are
 * not merged: the pass is a straight read of compiler output, which is
 * what the rules of linux-infer.c need.
 */
#include <capstone/capstone.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "os-awareness/linux-code.h"
#include "stub/base/alloc.h"
#include "stub/base/num.h"
#include "stub/base/strbuf.h"

#define NSLOTS 32
#define RIPREG 16

/* Capstone register -> hardware number (any width), -1 for others. */
static int gpr_of(unsigned r)
{
	static const struct { unsigned short cs; signed char hw; } map[] = {
		{ X86_REG_RAX, 0 }, { X86_REG_EAX, 0 }, { X86_REG_AX, 0 }, { X86_REG_AL, 0 },
		{ X86_REG_RCX, 1 }, { X86_REG_ECX, 1 }, { X86_REG_CX, 1 }, { X86_REG_CL, 1 },
		{ X86_REG_RDX, 2 }, { X86_REG_EDX, 2 }, { X86_REG_DX, 2 }, { X86_REG_DL, 2 },
		{ X86_REG_RBX, 3 }, { X86_REG_EBX, 3 }, { X86_REG_BX, 3 }, { X86_REG_BL, 3 },
		{ X86_REG_RSP, 4 }, { X86_REG_ESP, 4 }, { X86_REG_SP, 4 }, { X86_REG_SPL, 4 },
		{ X86_REG_RBP, 5 }, { X86_REG_EBP, 5 }, { X86_REG_BP, 5 }, { X86_REG_BPL, 5 },
		{ X86_REG_RSI, 6 }, { X86_REG_ESI, 6 }, { X86_REG_SI, 6 }, { X86_REG_SIL, 6 },
		{ X86_REG_RDI, 7 }, { X86_REG_EDI, 7 }, { X86_REG_DI, 7 }, { X86_REG_DIL, 7 },
		{ X86_REG_R8, 8 }, { X86_REG_R8D, 8 }, { X86_REG_R8W, 8 }, { X86_REG_R8B, 8 },
		{ X86_REG_R9, 9 }, { X86_REG_R9D, 9 }, { X86_REG_R9W, 9 }, { X86_REG_R9B, 9 },
		{ X86_REG_R10, 10 }, { X86_REG_R10D, 10 }, { X86_REG_R10W, 10 }, { X86_REG_R10B, 10 },
		{ X86_REG_R11, 11 }, { X86_REG_R11D, 11 }, { X86_REG_R11W, 11 }, { X86_REG_R11B, 11 },
		{ X86_REG_R12, 12 }, { X86_REG_R12D, 12 }, { X86_REG_R12W, 12 }, { X86_REG_R12B, 12 },
		{ X86_REG_R13, 13 }, { X86_REG_R13D, 13 }, { X86_REG_R13W, 13 }, { X86_REG_R13B, 13 },
		{ X86_REG_R14, 14 }, { X86_REG_R14D, 14 }, { X86_REG_R14W, 14 }, { X86_REG_R14B, 14 },
		{ X86_REG_R15, 15 }, { X86_REG_R15D, 15 }, { X86_REG_R15W, 15 }, { X86_REG_R15B, 15 },
		{ X86_REG_RIP, RIPREG }, { X86_REG_EIP, RIPREG },
	};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (map[i].cs == r)
			return map[i].hw;
	return -1;
}

int kc_arg_reg(unsigned bits, unsigned pos)
{
	static const int a64[] = { 7, 6, 2, 1, 8, 9 };	/* rdi rsi rdx rcx r8 r9 */
	static const int a32[] = { 0, 2, 1 };		/* eax edx ecx */

	if (bits == 64)
		return pos < 6 ? a64[pos] : -1;
	return pos < 3 ? a32[pos] : -1;
}

static void to_ins(const cs_insn *ci, struct kc_ins *k)
{
	const cs_x86 *x = &ci->detail->x86;
	unsigned i;

	memset(k, 0, sizeof(*k));
	k->addr = ci->address;
	k->id = ci->id;
	k->len = (uint8_t)ci->size;
	k->nops = x->op_count > 3 ? 3 : x->op_count;
	for (i = 0; i < k->nops; i++) {
		const cs_x86_op *o = &x->operands[i];
		struct kc_op *d = &k->op[i];

		d->type = (uint8_t)o->type;
		d->size = o->size;
		d->reg = -1;
		d->base = d->index = -1;
		if (o->type == X86_OP_REG) {
			d->reg = (int8_t)gpr_of(o->reg);
		} else if (o->type == X86_OP_IMM) {
			d->imm = o->imm;
		} else if (o->type == X86_OP_MEM) {
			d->base = o->mem.base == X86_REG_INVALID ? -1 :
				  (int8_t)gpr_of(o->mem.base);
			if (o->mem.base != X86_REG_INVALID && d->base < 0)
				d->base = -2;	/* a register we do not follow */
			d->index = o->mem.index == X86_REG_INVALID ? -1 :
				   (int8_t)gpr_of(o->mem.index);
			if (o->mem.index != X86_REG_INVALID && d->index < 0)
				d->index = -2;
			d->scale = (uint8_t)o->mem.scale;
			d->seg = o->mem.segment == X86_REG_FS ? 4 :
				 o->mem.segment == X86_REG_GS ? 5 : 0;
			d->disp = o->mem.disp;
		}
	}
}

struct pass {
	struct kc_fn *fn;
	struct kc_val r[17];
	struct { int8_t reg; int64_t disp; struct kc_val v; } slot[NSLOTS];
	unsigned nslot;
	size_t cap;
};

static struct kc_acc *acc_new(struct pass *p, const struct kc_ins *k, int kind,
			      size_t insi)
{
	struct kc_fn *fn = p->fn;
	struct kc_acc *a;

	if (fn->nacc == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 64;
		fn->acc = xrealloc(fn->acc, st_mult(p->cap, sizeof(*fn->acc)));
	}
	a = &fn->acc[fn->nacc++];
	memset(a, 0, sizeof(*a));
	a->kind = (uint8_t)kind;
	a->addr = k->addr;
	a->ncall = fn->ncalls;
	a->dst = -1;
	a->pos = -1;
	a->next_ins = (int)insi + 1;
	return a;
}

static bool tracked(const struct kc_val *v)
{
	return v->kind == KV_ARG || v->kind == KV_LOADED || v->kind == KV_PERCPU;
}

static void set_reg(struct pass *p, int reg, struct kc_val v)
{
	if (reg >= 0 && reg < 16)
		p->r[reg] = v;
}

static struct kc_val unk(void)
{
	struct kc_val v = { KV_UNK, -1, -1, 0, 0 };

	return v;
}

/* The stack slot [reg + disp] (reg rsp or rbp), or -1. */
static int slot_of(struct pass *p, const struct kc_op *m, bool make)
{
	unsigned i;

	if (m->type != X86_OP_MEM || (m->base != 4 && m->base != 5) ||
	    m->index != -1 || m->seg)
		return -1;
	for (i = 0; i < p->nslot; i++)
		if (p->slot[i].reg == m->base && p->slot[i].disp == m->disp)
			return (int)i;
	if (!make || p->nslot == NSLOTS)
		return -1;
	p->slot[p->nslot].reg = m->base;
	p->slot[p->nslot].disp = m->disp;
	p->slot[p->nslot].v = unk();
	return (int)p->nslot++;
}

/* The memory operand's base value with its displacement, when the base
 * register holds something tracked and there is no index. */
static bool mem_base(struct pass *p, const struct kc_op *m, struct kc_val *v,
		     int64_t *disp)
{
	if (m->type != X86_OP_MEM || m->base < 0 || m->base >= 16 ||
	    m->index != -1 || m->seg)
		return false;
	*v = p->r[m->base];
	if (!tracked(v))
		return false;
	*disp = v->off + m->disp;
	v->off = 0;
	return true;
}

static void do_call(struct pass *p, const struct kc_ins *k, size_t insi)
{
	static const int clob64[] = { 0, 1, 2, 6, 7, 8, 9, 10, 11 };
	static const int clob32[] = { 0, 1, 2 };
	unsigned bits = p->fn->bits, pos, i;

	for (pos = 0; pos < (bits == 64 ? 6u : 3u); pos++) {
		const struct kc_val *v = &p->r[kc_arg_reg(bits, pos)];
		struct kc_acc *a;

		if (!tracked(v))
			continue;
		a = acc_new(p, k, KC_CALLARG, insi);
		a->pos = (int8_t)pos;
		a->base = *v;
		a->base.off = 0;
		a->disp = v->off;
	}
	if (k->nops == 1 && k->op[0].type == X86_OP_IMM) {
		p->fn->calls = xrealloc(p->fn->calls,
					st_mult(p->fn->ncallt + 1, sizeof(uint64_t)));
		p->fn->calls[p->fn->ncallt++] = (uint64_t)k->op[0].imm;
	}
	p->fn->ncalls++;
	if (bits == 64)
		for (i = 0; i < sizeof(clob64) / sizeof(clob64[0]); i++)
			p->r[clob64[i]] = unk();
	else
		for (i = 0; i < sizeof(clob32) / sizeof(clob32[0]); i++)
			p->r[clob32[i]] = unk();
}

static void step(struct pass *p, const struct kc_ins *k, size_t insi)
{
	const struct kc_op *o0 = &k->op[0], *o1 = &k->op[1];
	struct kc_val v;
	struct kc_acc *a;
	int64_t disp;
	int s;

	switch (k->id) {
	case X86_INS_CALL:
		do_call(p, k, insi);
		return;
	case X86_INS_JMP:
		if (k->nops == 1 && o0->type == X86_OP_IMM) {
			p->fn->calls = xrealloc(p->fn->calls,
						st_mult(p->fn->ncallt + 1, sizeof(uint64_t)));
			p->fn->calls[p->fn->ncallt++] = (uint64_t)o0->imm;
		}
		return;
	case X86_INS_MOV:
	case X86_INS_MOVZX:
	case X86_INS_MOVSX:
	case X86_INS_MOVSXD:
		if (k->nops != 2)
			break;
		if (o0->type == X86_OP_REG && o1->type == X86_OP_REG) {
			v = o1->reg >= 0 && o1->reg < 16 ? p->r[o1->reg] : unk();
			set_reg(p, o0->reg, v);
			return;
		}
		if (o0->type == X86_OP_REG && o1->type == X86_OP_IMM) {
			a = acc_new(p, k, KC_MOVIMM, insi);
			a->imm = o1->imm;
			a->dst = o0->reg;
			v = unk();
			v.kind = KV_IMM;
			v.imm = (uint64_t)o1->imm;
			set_reg(p, o0->reg, v);
			return;
		}
		if (o0->type == X86_OP_REG && o1->type == X86_OP_MEM) {
			/* %fs:/%gs: absolute or RIP-relative: a per-CPU load */
			if (o1->seg && o1->index == -1 &&
			    (o1->base == -1 || o1->base == RIPREG)) {
				a = acc_new(p, k, KC_PERCPU, insi);
				a->imm = o1->base == RIPREG ?
					 (int64_t)(k->addr + k->len + (uint64_t)o1->disp) :
					 o1->disp;
				if (p->fn->bits == 32)
					a->imm = (int64_t)(uint32_t)a->imm;
				a->size = o1->size;
				a->dst = o0->reg;
				v = unk();
				v.kind = KV_PERCPU;
				v.imm = (uint64_t)a->imm;
				set_reg(p, o0->reg, v);
				return;
			}
			if (!o1->seg && o1->base == -1 && o1->index >= 0) {
				a = acc_new(p, k, KC_INDEXED, insi);
				a->imm = p->fn->bits == 32 ? (int64_t)(uint32_t)o1->disp :
					 o1->disp;
				a->scale = o1->scale;
				a->size = o1->size;
				a->dst = o0->reg;
				set_reg(p, o0->reg, unk());
				return;
			}
			s = slot_of(p, o1, false);
			if (s >= 0) {
				set_reg(p, o0->reg, p->slot[s].v);
				return;
			}
			if (mem_base(p, o1, &v, &disp)) {
				a = acc_new(p, k, KC_LOAD, insi);
				a->base = v;
				a->disp = disp;
				a->size = o1->size;
				a->dst = o0->reg;
				v = unk();
				v.kind = KV_LOADED;
				v.acc = (int32_t)(p->fn->nacc - 1);
				set_reg(p, o0->reg, v);
				return;
			}
			set_reg(p, o0->reg, unk());
			return;
		}
		if (o0->type == X86_OP_MEM) {
			s = slot_of(p, o0, true);
			if (s >= 0) {
				p->slot[s].v = o1->type == X86_OP_REG && o1->reg >= 0 &&
					       o1->reg < 16 ? p->r[o1->reg] : unk();
				return;
			}
			if (mem_base(p, o0, &v, &disp)) {
				a = acc_new(p, k, KC_STORE, insi);
				a->base = v;
				a->disp = disp;
				a->size = o0->size;
				a->imm = o1->type == X86_OP_IMM ? o1->imm : 0;
			}
			return;
		}
		break;
	case X86_INS_LEA:
		if (k->nops != 2 || o0->type != X86_OP_REG)
			break;
		if (o1->base == RIPREG && o1->index == -1) {
			v = unk();
			v.kind = KV_IMM;
			v.imm = k->addr + k->len + (uint64_t)o1->disp;
			set_reg(p, o0->reg, v);
			return;
		}
		if (mem_base(p, o1, &v, &disp)) {
			a = acc_new(p, k, KC_LEA, insi);
			a->base = v;
			a->disp = disp;
			a->dst = o0->reg;
			v.off = disp;
			set_reg(p, o0->reg, v);
			return;
		}
		set_reg(p, o0->reg, unk());
		return;
	case X86_INS_ADD:
	case X86_INS_SUB:
		if (k->nops == 2 && o0->type == X86_OP_REG && o1->type == X86_OP_IMM &&
		    o0->reg >= 0 && o0->reg < 16 && tracked(&p->r[o0->reg])) {
			p->r[o0->reg].off += k->id == X86_INS_ADD ? o1->imm : -o1->imm;
			return;
		}
		break;
	case X86_INS_CMP:
	case X86_INS_TEST:
		if (k->nops == 2 && o1->type == X86_OP_IMM &&
		    mem_base(p, o0, &v, &disp)) {
			a = acc_new(p, k, k->id == X86_INS_CMP ? KC_CMPIMM :
				    KC_TESTIMM, insi);
			a->base = v;
			a->disp = disp;
			a->size = o0->size;
			a->imm = o1->imm;
			return;
		}
		if (k->nops == 2 && o0->type == X86_OP_REG && o1->type == X86_OP_IMM &&
		    o0->reg >= 0 && o0->reg < 16 && tracked(&p->r[o0->reg])) {
			a = acc_new(p, k, KC_CMPREG, insi);
			a->base = p->r[o0->reg];
			a->disp = a->base.off;
			a->base.off = 0;
			a->imm = o1->imm;
			return;
		}
		break;
	case X86_INS_PUSH:
	case X86_INS_POP:
		if (k->id == X86_INS_POP && k->nops == 1 && o0->type == X86_OP_REG)
			set_reg(p, o0->reg, unk());
		return;
	default:
		break;
	}
	/* any other access through a tracked base, then the registers it
	 * writes become unknown */
	if (k->nops >= 1) {
		unsigned i;

		for (i = 0; i < k->nops; i++)
			if (mem_base(p, &k->op[i], &v, &disp)) {
				a = acc_new(p, k, KC_USE, insi);
				a->base = v;
				a->disp = disp;
				a->size = k->op[i].size;
				break;
			}
	}
	if (k->nops >= 1 && o0->type == X86_OP_REG && k->id != X86_INS_CMP &&
	    k->id != X86_INS_TEST && k->id != X86_INS_BT)
		set_reg(p, o0->reg, unk());
}

int kc_read(struct kc_fn *fn, const uint8_t *code, size_t len, uint64_t start,
	    unsigned bits)
{
	csh h;
	cs_insn *ci;
	const uint8_t *c = code;
	uint64_t addr = start;
	size_t left = len, cap = 0;
	struct pass p;
	unsigned i;

	memset(fn, 0, sizeof(*fn));
	fn->start = start;
	fn->bits = bits;
	if (cs_open(CS_ARCH_X86, bits == 64 ? CS_MODE_64 : CS_MODE_32, &h) !=
	    CS_ERR_OK)
		return -ENOMEM;
	cs_option(h, CS_OPT_DETAIL, CS_OPT_ON);
	ci = cs_malloc(h);
	if (!ci) {
		cs_close(&h);
		return -ENOMEM;
	}
	while (left && cs_disasm_iter(h, &c, &left, &addr, ci)) {
		if (fn->nins == cap) {
			cap = cap ? cap * 2 : 128;
			fn->ins = xrealloc(fn->ins, st_mult(cap, sizeof(*fn->ins)));
		}
		to_ins(ci, &fn->ins[fn->nins++]);
	}
	cs_free(ci, 1);
	cs_close(&h);
	if (!fn->nins)
		return -EINVAL;
	memset(&p, 0, sizeof(p));
	p.fn = fn;
	for (i = 0; i < 17; i++)
		p.r[i] = unk();
	for (i = 0; i < (bits == 64 ? 6u : 3u); i++) {
		struct kc_val *v = &p.r[kc_arg_reg(bits, i)];

		v->kind = KV_ARG;
		v->arg = (int8_t)i;
	}
	for (i = 0; i < fn->nins; i++)
		step(&p, &fn->ins[i], i);
	return 0;
}

void kc_free(struct kc_fn *fn)
{
	free(fn->ins);
	free(fn->acc);
	free(fn->calls);
	memset(fn, 0, sizeof(*fn));
}
