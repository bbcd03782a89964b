// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The few x86-64 instructions xensim executes from the guest's own bytes
 * (workload steps "exec"): their decoding, from the Intel SDM vol. 2
 * (legacy and REX prefixes, ModRM, SIB, displacements, RIP-relative
 * addressing). Anything else is refused with the bytes named, so a
 * simulated vCPU never does something other than what its code says.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "stub/base/alloc.h"
#include "stub/base/strbuf.h"
#include "tests/xensim/simd.h"

struct cursor {
	const uint8_t *b;
	size_t n;
	size_t at;
	bool short_;	/* ran past the bytes given */
};

static uint64_t take(struct cursor *c, unsigned bytes)
{
	uint64_t v = 0;
	unsigned i;

	if (c->at + bytes > c->n) {
		c->short_ = true;
		c->at = c->n;
		return 0;
	}
	for (i = 0; i < bytes; i++)
		v |= (uint64_t)c->b[c->at + i] << (8 * i);
	c->at += bytes;
	return v;
}

static uint64_t sext(uint64_t v, unsigned bytes)
{
	unsigned shift = 64 - 8 * bytes;

	return (uint64_t)((int64_t)(v << shift) >> shift);
}

/* ModRM (and SIB, displacement): the register operand, and the r/m
 * operand as a register or an effective address (SDM 2.1.5, 2.2.1). */
static void modrm(struct cursor *c, unsigned rex, const uint64_t gpr[16],
		  struct sim_insn *in)
{
	unsigned m = (unsigned)take(c, 1);
	unsigned mod = m >> 6, rm = m & 7;
	uint64_t ea = 0;

	in->reg = (int)(((m >> 3) & 7) | ((rex & 4) << 1));
	if (mod == 3) {
		in->mem = false;
		in->rm = (int)(rm | ((rex & 1) << 3));
		return;
	}
	in->mem = true;
	if (rm == 4) {
		unsigned sib = (unsigned)take(c, 1);
		unsigned scale = sib >> 6;
		unsigned index = ((sib >> 3) & 7) | ((rex & 2) << 2);
		unsigned base = (sib & 7) | ((rex & 1) << 3);

		if (index != 4)
			ea += gpr[index] << scale;
		if ((sib & 7) == 5 && mod == 0)
			ea += sext(take(c, 4), 4);
		else
			ea += gpr[base];
	} else if (rm == 5 && mod == 0) {
		/* RIP-relative: from the end of the instruction */
		int32_t d = (int32_t)take(c, 4);

		in->rip_relative = true;
		ea = (uint64_t)(int64_t)d;
	} else {
		ea += gpr[rm | ((rex & 1) << 3)];
	}
	if (mod == 1)
		ea += sext(take(c, 1), 1);
	else if (mod == 2)
		ea += sext(take(c, 4), 4);
	in->ea = ea;
}

int sim_insn_decode(const uint8_t *b, size_t n, uint64_t rip,
		    const uint64_t gpr[16], struct sim_insn *in, char **why)
{
	struct cursor c = { .b = b, .n = n > 15 ? 15 : n };
	unsigned rex = 0, op;
	bool rep = false;

	memset(in, 0, sizeof(*in));
	in->width = 4;
	for (;;) {
		op = (unsigned)take(&c, 1);
		if (op == 0xf3 && !rep && !rex) {
			rep = true;
			continue;
		}
		if ((op & 0xf0) == 0x40 && !rex) {
			rex = op;
			continue;
		}
		break;
	}
	if (rex & 8)
		in->width = 8;
	switch (op) {
	case 0x90:	/* nop; with f3: pause */
		in->op = SIM_OP_NOP;
		break;
	case 0x89:	/* mov r/m, r */
		modrm(&c, rex, gpr, in);
		in->op = in->mem ? SIM_OP_STORE : SIM_OP_MOV_RR;
		if (!in->mem) {
			int t = in->rm;

			in->rm = in->reg;	/* source */
			in->reg = t;		/* destination */
		}
		break;
	case 0x8b:	/* mov r, r/m */
		modrm(&c, rex, gpr, in);
		in->op = in->mem ? SIM_OP_LOAD : SIM_OP_MOV_RR;
		break;
	case 0x8d:	/* lea r, m */
		modrm(&c, rex, gpr, in);
		if (!in->mem)
			goto refuse;	/* #UD */
		in->op = SIM_OP_LEA;
		break;
	case 0xc7:	/* mov r/m, imm32 (sign-extended to 64 with REX.W) */
		modrm(&c, rex, gpr, in);
		if ((in->reg & 7) != 0)
			goto refuse;
		in->imm = (uint32_t)take(&c, 4);
		if (in->width == 8)
			in->imm = sext(in->imm, 4);
		in->op = in->mem ? SIM_OP_STORE_IMM : SIM_OP_MOV_IMM;
		if (!in->mem)
			in->reg = in->rm;
		break;
	case 0xb8: case 0xb9: case 0xba: case 0xbb:
	case 0xbc: case 0xbd: case 0xbe: case 0xbf:	/* mov r, imm */
		in->op = SIM_OP_MOV_IMM;
		in->reg = (int)((op & 7) | ((rex & 1) << 3));
		in->imm = take(&c, in->width);
		break;
	case 0xeb:	/* jmp rel8 */
		in->op = SIM_OP_JMP;
		in->imm = sext(take(&c, 1), 1);
		break;
	case 0xe9:	/* jmp rel32 */
		in->op = SIM_OP_JMP;
		in->imm = sext(take(&c, 4), 4);
		break;
	case 0x0f:
		op = (unsigned)take(&c, 1);
		if (op != 0x1f)
			goto refuse;
		/* nop r/m (the multi-byte nop): no access */
		modrm(&c, rex, gpr, in);
		in->op = SIM_OP_NOP;
		in->mem = false;
		break;
	default:
		goto refuse;
	}
	if (c.short_)
		goto refuse;
	if (rep && !(op == 0x90))
		goto refuse;
	in->len = (unsigned)c.at;
	if (in->rip_relative)
		in->ea += rip + in->len;
	if (in->op == SIM_OP_JMP)
		in->target = rip + in->len + in->imm;
	return 0;
refuse:
	{
		struct strbuf sb = STRBUF_INIT;
		size_t i, show = n < 8 ? n : 8;

		for (i = 0; i < show; i++)
			strbuf_addf(&sb, "%s%02x", i ? " " : "", b[i]);
		*why = xstrfmt("xensim does not execute the instruction at 0x%" PRIx64
			       " (bytes %s): only mov, lea, nop, pause and jmp are modelled",
			       rip, sb.len ? sb.buf : "");
		strbuf_release(&sb);
	}
	return -EINVAL;
}
