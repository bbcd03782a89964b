// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit tests of what memory an instruction touches (arch/x86/insn.c):
 * operand sizes, RIP-relative operands, segment bases, rep strings (RCX
 * elements, downwards with EFLAGS.DF), and the stack accesses Capstone
 * does not list (push, pop, call, pushf). The access trap engine judges
 * every watchpoint hit by these ranges.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "arch/x86/insn.h"

#define RIP 0xffffffff81000000ull
#define RSP 0xffffc90000010000ull
#define RDI 0xffff888000100000ull
#define RSI 0xffff888000200000ull

static void regs64(struct x86_regs *r)
{
	memset(r, 0, sizeof(*r));
	r->rip = RIP;
	r->gpr[X86_RSP] = RSP;
	r->gpr[X86_RDI] = RDI;
	r->gpr[X86_RSI] = RSI;
	r->gpr[X86_RCX] = 5;
	r->gpr[X86_RBX] = 0x1000;
	r->rflags = 0x2;
	r->cr0 = X86_CR0_PE | X86_CR0_PG;
	r->cr4 = X86_CR4_PAE;
	r->efer = X86_EFER_LME | X86_EFER_LMA;
	r->seg[X86_CS].attr = X86_SEG_ATTR_L;
	x86_set_valid_range(r, XF_GPR0, XF_RFLAGS);
	x86_set_valid(r, XF_SEGCACHE0 + X86_CS);
}

static void regs32(struct x86_regs *r)
{
	memset(r, 0, sizeof(*r));
	r->rip = 0xc1000000;
	r->gpr[X86_RSP] = 0xc0001000;
	r->gpr[X86_RBX] = 0x2000;
	r->gpr[X86_RDI] = 0x3000;
	r->rflags = 0x2;
	r->cr0 = X86_CR0_PE;
	r->seg[X86_CS].attr = X86_SEG_ATTR_DB;
	x86_set_valid_range(r, XF_GPR0, XF_RFLAGS);
	x86_set_valid(r, XF_SEGCACHE0 + X86_CS);
}

/* Decodes code with r and checks it touches exactly one range. */
static void one(const struct x86_regs *r, const uint8_t *code, size_t n,
		uint64_t addr, uint32_t size, bool rd, bool wr,
		struct x86_insn_info *info)
{
	struct x86_decoder *d = x86_decoder_new(x86_code_bits(r));

	assert_non_null(d);
	assert_int_equal(x86_decode(d, code, n, r, info), 0);
	x86_decoder_free(d);
	assert_int_equal(info->naccess, 1);
	assert_int_equal(info->acc[0].addr, addr);
	assert_int_equal(info->acc[0].size, size);
	assert_int_equal(info->acc[0].read, rd);
	assert_int_equal(info->acc[0].write, wr);
}

static void test_code_bits(void **state)
{
	struct x86_regs r;

	(void)state;
	regs64(&r);
	assert_int_equal(x86_code_bits(&r), 64);
	regs32(&r);
	assert_int_equal(x86_code_bits(&r), 32);
	r.seg[X86_CS].attr = 0;
	assert_int_equal(x86_code_bits(&r), 16);
	r.cr0 = 0;
	assert_int_equal(x86_code_bits(&r), 16);
}

static void test_operand_sizes(void **state)
{
	static const uint8_t mov8[] = { 0x88, 0x07 };		/* mov [rdi], al */
	static const uint8_t mov16[] = { 0x66, 0x89, 0x07 };	/* mov [rdi], ax */
	static const uint8_t mov32[] = { 0x89, 0x07 };		/* mov [rdi], eax */
	static const uint8_t mov64[] = { 0x48, 0x89, 0x07 };	/* mov [rdi], rax */
	static const uint8_t load[] = { 0x48, 0x8b, 0x07 };	/* mov rax, [rdi] */
	static const uint8_t add[] = { 0x48, 0x01, 0x07 };	/* add [rdi], rax */
	/* movdqu [rdi], xmm0 */
	static const uint8_t vec[] = { 0xf3, 0x0f, 0x7f, 0x07 };
	/* mov rax, [rbx + rsi*8 + 0x10] */
	static const uint8_t sib[] = { 0x48, 0x8b, 0x44, 0xf3, 0x10 };
	/* lea rax, [rdi]: no access */
	static const uint8_t lea[] = { 0x48, 0x8d, 0x07 };
	struct x86_decoder *d;
	struct x86_insn_info info;
	struct x86_regs r;

	(void)state;
	regs64(&r);
	one(&r, mov8, sizeof(mov8), RDI, 1, false, true, &info);
	one(&r, mov16, sizeof(mov16), RDI, 2, false, true, &info);
	one(&r, mov32, sizeof(mov32), RDI, 4, false, true, &info);
	one(&r, mov64, sizeof(mov64), RDI, 8, false, true, &info);
	assert_int_equal(info.length, 3);
	one(&r, load, sizeof(load), RDI, 8, true, false, &info);
	one(&r, add, sizeof(add), RDI, 8, true, true, &info);
	one(&r, vec, sizeof(vec), RDI, 16, false, true, &info);
	one(&r, sib, sizeof(sib), 0x1000 + RSI * 8 + 0x10, 8, true, false, &info);
	d = x86_decoder_new(64);
	assert_int_equal(x86_decode(d, lea, sizeof(lea), &r, &info), 0);
	assert_int_equal(info.naccess, 0);
	/* not an instruction */
	assert_int_equal(x86_decode(d, (const uint8_t *)"\x0f", 1, &r, &info),
			 -EINVAL);
	x86_decoder_free(d);
}

static void test_rip_relative(void **state)
{
	/* mov rax, [rip + 0x10]: relative to the next instruction */
	static const uint8_t code[] = { 0x48, 0x8b, 0x05, 0x10, 0x00, 0x00, 0x00 };
	/* mov dword ptr [rip - 8], 1 */
	static const uint8_t st[] = { 0xc7, 0x05, 0xf8, 0xff, 0xff, 0xff,
				      0x01, 0x00, 0x00, 0x00 };
	struct x86_insn_info info;
	struct x86_regs r;

	(void)state;
	regs64(&r);
	one(&r, code, sizeof(code), RIP + 7 + 0x10, 8, true, false, &info);
	one(&r, st, sizeof(st), RIP + 10 - 8, 4, false, true, &info);
}

static void test_segment_bases(void **state)
{
	/* mov rax, gs:[0x28] */
	static const uint8_t gs[] = { 0x65, 0x48, 0x8b, 0x04, 0x25, 0x28,
				      0x00, 0x00, 0x00 };
	/* mov eax, fs:[rbx] */
	static const uint8_t fs[] = { 0x64, 0x8b, 0x03 };
	/* 32-bit: mov [ebx], eax; mov [esp+4], eax (SS); es: mov [edi], eax */
	static const uint8_t ds32[] = { 0x89, 0x03 };
	static const uint8_t ss32[] = { 0x89, 0x44, 0x24, 0x04 };
	static const uint8_t es32[] = { 0x26, 0x89, 0x07 };
	struct x86_insn_info info;
	struct x86_regs r;

	(void)state;
	regs64(&r);
	r.seg[X86_GS].base = 0xffff88807fc00000ull;
	r.seg[X86_FS].base = 0x7f0000001000ull;
	r.seg[X86_DS].base = 0x5000;	/* ignored in 64-bit mode */
	one(&r, gs, sizeof(gs), 0xffff88807fc00028ull, 8, true, false, &info);
	one(&r, fs, sizeof(fs), 0x7f0000002000ull, 4, true, false, &info);

	regs32(&r);
	r.seg[X86_DS].base = 0x10000;
	r.seg[X86_SS].base = 0x20000;
	r.seg[X86_ES].base = 0x30000;
	one(&r, ds32, sizeof(ds32), 0x12000, 4, false, true, &info);
	one(&r, ss32, sizeof(ss32), 0x20000 + 0xc0001004ull, 4, false, true, &info);
	one(&r, es32, sizeof(es32), 0x33000, 4, false, true, &info);
	/* a 32-bit linear address wraps at 4 GiB */
	r.seg[X86_DS].base = 0xfffff000;
	one(&r, ds32, sizeof(ds32), 0x1000, 4, false, true, &info);
}

static void test_rep_strings(void **state)
{
	static const uint8_t movsb[] = { 0xf3, 0xa4 };	/* rep movsb */
	static const uint8_t stosd[] = { 0xf3, 0xab };	/* rep stosd */
	static const uint8_t movsq[] = { 0x48, 0xa5 };	/* movsq: 1 element */
	static const uint8_t scasb[] = { 0xf2, 0xae };	/* repne scasb */
	struct x86_decoder *d = x86_decoder_new(64);
	struct x86_insn_info info;
	struct x86_regs r;

	(void)state;
	regs64(&r);
	assert_int_equal(x86_decode(d, movsb, sizeof(movsb), &r, &info), 0);
	assert_true(info.is_string);
	assert_true(info.rep);
	assert_false(info.down);
	assert_int_equal(info.naccess, 2);
	assert_int_equal(info.acc[0].addr, RSI);
	assert_int_equal(info.acc[0].size, 5);
	assert_true(info.acc[0].read);
	assert_false(info.acc[0].write);
	assert_int_equal(info.acc[1].addr, RDI);
	assert_int_equal(info.acc[1].size, 5);
	assert_true(info.acc[1].write);

	/* EFLAGS.DF: the elements go downwards from RSI/RDI */
	r.rflags |= X86_RFLAGS_DF;
	assert_int_equal(x86_decode(d, movsb, sizeof(movsb), &r, &info), 0);
	assert_true(info.down);
	assert_int_equal(info.acc[0].addr, RSI - 4);
	assert_int_equal(info.acc[0].size, 5);
	assert_int_equal(info.acc[1].addr, RDI - 4);

	r.gpr[X86_RCX] = 3;
	assert_int_equal(x86_decode(d, stosd, sizeof(stosd), &r, &info), 0);
	assert_int_equal(info.naccess, 1);
	assert_int_equal(info.acc[0].addr, RDI - 8);
	assert_int_equal(info.acc[0].size, 12);
	assert_true(info.acc[0].write);

	r.rflags &= ~X86_RFLAGS_DF;
	assert_int_equal(x86_decode(d, movsq, sizeof(movsq), &r, &info), 0);
	assert_false(info.rep);
	assert_int_equal(info.naccess, 2);
	assert_int_equal(info.acc[0].size, 8);
	assert_int_equal(info.acc[1].addr, RDI);

	/* repne scas reads at most RCX elements */
	assert_int_equal(x86_decode(d, scasb, sizeof(scasb), &r, &info), 0);
	assert_int_equal(info.naccess, 1);
	assert_int_equal(info.acc[0].addr, RDI);
	assert_int_equal(info.acc[0].size, 3);
	assert_true(info.acc[0].read);
	assert_false(info.acc[0].write);

	/* RCX 0: a rep string touches nothing */
	r.gpr[X86_RCX] = 0;
	assert_int_equal(x86_decode(d, movsb, sizeof(movsb), &r, &info), 0);
	assert_int_equal(info.naccess, 0);
	x86_decoder_free(d);
}

static void test_stack(void **state)
{
	static const uint8_t push[] = { 0x50 };			/* push rax */
	static const uint8_t pop[] = { 0x5b };			/* pop rbx */
	static const uint8_t call[] = { 0xe8, 0, 0, 0, 0 };	/* call rel32 */
	static const uint8_t ret[] = { 0xc3 };
	static const uint8_t pushf[] = { 0x9c };
	static const uint8_t push16[] = { 0x66, 0x50 };		/* push ax */
	struct x86_insn_info info;
	struct x86_regs r;

	(void)state;
	regs64(&r);
	one(&r, push, sizeof(push), RSP - 8, 8, false, true, &info);
	assert_false(info.is_pushf);
	one(&r, pop, sizeof(pop), RSP, 8, true, false, &info);
	one(&r, call, sizeof(call), RSP - 8, 8, false, true, &info);
	one(&r, ret, sizeof(ret), RSP, 8, true, false, &info);
	one(&r, pushf, sizeof(pushf), RSP - 8, 8, false, true, &info);
	assert_true(info.is_pushf);
	one(&r, push16, sizeof(push16), RSP - 2, 2, false, true, &info);

	regs32(&r);
	r.seg[X86_SS].base = 0x100;
	one(&r, push, sizeof(push), 0x100 + 0xc0001000ull - 4, 4, false, true,
	    &info);
	one(&r, call, sizeof(call), 0x100 + 0xc0001000ull - 4, 4, false, true,
	    &info);
}

/* Instructions a hypervisor completes in its exit handler, with their
 * lengths; and ones it does not. */
static void test_exit_insns(void **state)
{
	static const struct {
		uint8_t code[8];
		size_t n;
		unsigned bits;
		unsigned len;
		const char *name;
	} cases[] = {
		{ { 0x0f, 0xa2, 0x90 }, 3, 64, 2, "cpuid" },
		{ { 0xf4 }, 1, 64, 1, "hlt" },
		{ { 0x0f, 0x01, 0xc1 }, 3, 64, 3, "vmcall" },
		{ { 0x0f, 0x01, 0xd9 }, 3, 32, 3, "vmmcall" },
		{ { 0x0f, 0x32 }, 2, 64, 2, "rdmsr" },
		{ { 0xe6, 0x80 }, 2, 32, 2, "out" },
		{ { 0xf3, 0x6e }, 2, 64, 2, "outs" },
		{ { 0x44, 0x0f, 0x22, 0xc0 }, 4, 64, 4, "mov to a control register" },
		/* 0x48 is dec eax in 32-bit code, not a prefix */
		{ { 0x48, 0x0f, 0xa2 }, 3, 32, 0, NULL },
		{ { 0x0f, 0x01, 0xd0 }, 3, 64, 0, NULL },	/* xgetbv */
		{ { 0x0f, 0xa2 }, 1, 64, 0, NULL },		/* cut short */
		{ { 0x90 }, 1, 64, 0, NULL },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *name = NULL;

		assert_int_equal(x86_exit_insn(cases[i].code, cases[i].n, cases[i].bits, &name),
				 cases[i].len);
		if (cases[i].name)
			assert_string_equal(name, cases[i].name);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_code_bits),
		cmocka_unit_test(test_operand_sizes),
		cmocka_unit_test(test_rip_relative),
		cmocka_unit_test(test_segment_bases),
		cmocka_unit_test(test_rep_strings),
		cmocka_unit_test(test_stack),
		cmocka_unit_test(test_exit_insns),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
