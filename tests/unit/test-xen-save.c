// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit tests of the conversions between Xen's register records and the
 * register file (arch/x86/xen-save.c): the HVM CPU save record both ways,
 * and the vcpu_guest_context of both ABIs, filled through Xen's own struct
 * definitions (<xen/foreign/...>) so that the offsets are checked against
 * an independent source, with the GS base in use decided as Xen records
 * it (by VGCF_in_kernel for PV, by CS.RPL for HVM).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <xen/foreign/x86_32.h>
#include <xen/foreign/x86_64.h>
#include <xen/hvm/save.h>

#include "arch/x86/paging.h"
#include "arch/x86/xen-save.h"

static void fill(void *p, size_t n, unsigned seed)
{
	uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		b[i] = (uint8_t)(seed + i * 7);
}

static void ctx64(struct vcpu_guest_context_x86_64 *c, uint32_t flags,
		  uint16_t cs)
{
	memset(c, 0, sizeof(*c));
	fill(c->fpu_ctxt.x, sizeof(c->fpu_ctxt.x), 3);
	c->flags = flags;
	c->user_regs.rax = 0x1111; c->user_regs.rbx = 0x2222;
	c->user_regs.rcx = 0x3333; c->user_regs.rdx = 0x4444;
	c->user_regs.rsi = 0x5555; c->user_regs.rdi = 0x6666;
	c->user_regs.rbp = 0x7777; c->user_regs.rsp = 0xffffc90000001000ull;
	c->user_regs.r8 = 8; c->user_regs.r9 = 9; c->user_regs.r10 = 10;
	c->user_regs.r11 = 11; c->user_regs.r12 = 12; c->user_regs.r13 = 13;
	c->user_regs.r14 = 14; c->user_regs.r15 = 15;
	c->user_regs.rip = 0xffffffff81000010ull;
	c->user_regs.rflags = 0x246;
	c->user_regs.error_code = 0xdeadbeef;
	c->user_regs.cs = cs; c->user_regs.ss = 0xe02b;
	c->user_regs.ds = 0x2b; c->user_regs.es = 0x2c;
	c->user_regs.fs = 0x53; c->user_regs.gs = 0x63;
	c->ctrlreg[0] = 0x80050033; c->ctrlreg[2] = 0x7f0000001000ull;
	c->ctrlreg[3] = 0x1234000; c->ctrlreg[4] = 0x3506f0;
	c->debugreg[0] = 0x1000; c->debugreg[1] = 0x2000;
	c->debugreg[2] = 0x3000; c->debugreg[3] = 0x4000;
	c->debugreg[6] = 0xffff0ff0; c->debugreg[7] = 0x401;
	c->fs_base = 0x7f1234567000ull;
	c->gs_base_kernel = 0xffff88807fc00000ull;
	c->gs_base_user = 0x7f7654321000ull;
}

static void test_sizes(void **state)
{
	(void)state;
	assert_int_equal(xen_vcpu_ctx_size(8),
			 sizeof(struct vcpu_guest_context_x86_64));
	assert_int_equal(xen_vcpu_ctx_size(4),
			 sizeof(struct vcpu_guest_context_x86_32));
	assert_int_equal(xen_vcpu_ctx_size(2), 0);
}

static void check64(const struct vcpu_guest_context_x86_64 *c,
		    const struct x86_regs *r)
{
	assert_int_equal(r->gpr[X86_RAX], c->user_regs.rax);
	assert_int_equal(r->gpr[X86_RBX], c->user_regs.rbx);
	assert_int_equal(r->gpr[X86_RCX], c->user_regs.rcx);
	assert_int_equal(r->gpr[X86_RDX], c->user_regs.rdx);
	assert_int_equal(r->gpr[X86_RSI], c->user_regs.rsi);
	assert_int_equal(r->gpr[X86_RDI], c->user_regs.rdi);
	assert_int_equal(r->gpr[X86_RBP], c->user_regs.rbp);
	assert_int_equal(r->gpr[X86_RSP], c->user_regs.rsp);
	assert_int_equal(r->gpr[X86_R8], 8);
	assert_int_equal(r->gpr[X86_R15], 15);
	assert_int_equal(r->rip, c->user_regs.rip);
	assert_int_equal(r->rflags, c->user_regs.rflags);
	assert_int_equal(r->seg[X86_CS].sel, c->user_regs.cs);
	assert_int_equal(r->seg[X86_SS].sel, c->user_regs.ss);
	assert_int_equal(r->seg[X86_ES].sel, c->user_regs.es);
	assert_int_equal(r->seg[X86_GS].sel, c->user_regs.gs);
	assert_int_equal(r->seg[X86_FS].base, c->fs_base);
	assert_int_equal(r->cr0, c->ctrlreg[0]);
	assert_int_equal(r->cr2, c->ctrlreg[2]);
	assert_int_equal(r->cr4, c->ctrlreg[4]);
	assert_int_equal(r->dr[0], c->debugreg[0]);
	assert_int_equal(r->dr[3], c->debugreg[3]);
	assert_int_equal(r->dr[6], c->debugreg[6]);
	assert_int_equal(r->dr[7], c->debugreg[7]);
	assert_true(x86_valid(r, XF_GPR0 + X86_R15));
	assert_true(x86_valid(r, XF_KGSBASE));
	assert_true(x86_valid(r, XF_SEGCACHE0 + X86_GS));
	assert_false(x86_valid(r, XF_EFER));
}

/* A PV vCPU in its kernel: the kernel's GS base is the one in use. */
static void test_pv64_kernel_gs(void **state)
{
	struct vcpu_guest_context_x86_64 c;
	struct x86_regs r;

	(void)state;
	ctx64(&c, XEN_VGCF_I387_VALID | XEN_VGCF_IN_KERNEL | XEN_VGCF_ONLINE,
	      0xe033);
	xen_vcpu_ctx_to_regs(&c, 8, true, &r);
	check64(&c, &r);
	assert_int_equal(r.seg[X86_GS].base, c.gs_base_kernel);
	assert_int_equal(r.k_gs_base, c.gs_base_user);
	assert_int_equal(r.cr3, c.ctrlreg[3]);
	assert_true(x86_valid(&r, XF_FPU));
	assert_memory_equal(r.fxsave, c.fpu_ctxt.x, 512);
	assert_int_equal(xen_vcpu_ctx_flags(&c, 8), c.flags);
}

/* A PV vCPU in user mode (its kernel runs in ring 3 as well: only the
 * flag tells): the user's GS base is in use, the kernel's is the shadow. */
static void test_pv64_user_gs(void **state)
{
	struct vcpu_guest_context_x86_64 c;
	struct x86_regs r;

	(void)state;
	ctx64(&c, XEN_VGCF_ONLINE, 0xe033);
	xen_vcpu_ctx_to_regs(&c, 8, true, &r);
	check64(&c, &r);
	assert_int_equal(r.seg[X86_GS].base, c.gs_base_user);
	assert_int_equal(r.k_gs_base, c.gs_base_kernel);
	/* no VGCF_i387_valid: the FXSAVE image is not one */
	assert_false(x86_valid(&r, XF_FPU));
}

/* An HVM context: ring 0 by CS.RPL means kernel mode, whatever the flag. */
static void test_hvm_ctx_gs_by_rpl(void **state)
{
	struct vcpu_guest_context_x86_64 c;
	struct x86_regs r;

	(void)state;
	ctx64(&c, XEN_VGCF_ONLINE, 0x10);
	xen_vcpu_ctx_to_regs(&c, 8, false, &r);
	assert_int_equal(r.seg[X86_GS].base, c.gs_base_kernel);
	assert_int_equal(r.k_gs_base, c.gs_base_user);
	ctx64(&c, XEN_VGCF_ONLINE | XEN_VGCF_IN_KERNEL, 0x33);
	xen_vcpu_ctx_to_regs(&c, 8, false, &r);
	assert_int_equal(r.seg[X86_GS].base, c.gs_base_user);
	assert_int_equal(r.k_gs_base, c.gs_base_kernel);
	/* an HVM CR3 is the guest's own, low bits and all */
	c.ctrlreg[3] = 0x1234018;
	xen_vcpu_ctx_to_regs(&c, 8, false, &r);
	assert_int_equal(r.cr3, 0x1234018);
}

static void test_pv32(void **state)
{
	struct vcpu_guest_context_x86_32 c;
	struct x86_regs r;
	uint32_t mfn = 0x123456;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.flags = XEN_VGCF_I387_VALID | XEN_VGCF_IN_KERNEL | XEN_VGCF_ONLINE;
	c.user_regs.eax = 0xa; c.user_regs.ebx = 0xb; c.user_regs.ecx = 0xc;
	c.user_regs.edx = 0xd; c.user_regs.esi = 0x51; c.user_regs.edi = 0xd1;
	c.user_regs.ebp = 0xb9; c.user_regs.esp = 0xc0001000;
	c.user_regs.eip = 0xc1000000; c.user_regs.eflags = 0x1246;
	c.user_regs.cs = 0xe019; c.user_regs.ss = 0xe021;
	c.user_regs.ds = 0x7b; c.user_regs.es = 0x7b;
	c.user_regs.fs = 0xd8; c.user_regs.gs = 0xe0;
	c.ctrlreg[0] = 0x8005003b; c.ctrlreg[2] = 0xb7001000;
	/* xen_pfn_to_cr3_x86_32: the frame rotated into 32 bits */
	c.ctrlreg[3] = (mfn << 12) | (mfn >> 20);
	c.ctrlreg[4] = 0x6f0;
	c.debugreg[7] = 0x401;
	fill(c.fpu_ctxt.x, 512, 9);
	xen_vcpu_ctx_to_regs(&c, 4, true, &r);
	assert_int_equal(r.gpr[X86_RAX], 0xa);
	assert_int_equal(r.gpr[X86_RBX], 0xb);
	assert_int_equal(r.gpr[X86_RCX], 0xc);
	assert_int_equal(r.gpr[X86_RDX], 0xd);
	assert_int_equal(r.gpr[X86_RSI], 0x51);
	assert_int_equal(r.gpr[X86_RDI], 0xd1);
	assert_int_equal(r.gpr[X86_RBP], 0xb9);
	assert_int_equal(r.gpr[X86_RSP], 0xc0001000);
	assert_false(x86_valid(&r, XF_GPR0 + X86_R8));
	assert_int_equal(r.rip, 0xc1000000);
	assert_int_equal(r.rflags, 0x1246);
	assert_int_equal(r.seg[X86_CS].sel, 0xe019);
	assert_int_equal(r.seg[X86_GS].sel, 0xe0);
	assert_int_equal(r.cr3, (uint64_t)mfn << 12);
	assert_int_equal(r.cr0, 0x8005003b);
	assert_int_equal(r.dr[7], 0x401);
	/* the 32-bit ABI records no segment base */
	assert_false(x86_valid(&r, XF_KGSBASE));
	assert_false(x86_valid(&r, XF_SEGCACHE0 + X86_GS));
	assert_memory_equal(r.fxsave, c.fpu_ctxt.x, 512);
}

static void test_pv_write_back(void **state)
{
	struct vcpu_guest_context_x86_64 c, before;
	struct vcpu_guest_context_x86_32 c32;
	struct x86_regs r;

	(void)state;
	ctx64(&c, XEN_VGCF_IN_KERNEL | XEN_VGCF_I387_VALID, 0xe033);
	xen_vcpu_ctx_to_regs(&c, 8, true, &r);
	r.gpr[X86_RBX] = 0x1122334455667788ull;
	r.gpr[X86_R13] = 0x1313;
	r.rip = 0xffffffff81234567ull;
	r.rflags = 0x202;
	r.fxsave[0] = 0x7f;
	before = c;
	xen_regs_to_vcpu_ctx(&r, 8, &c);
	assert_int_equal(c.user_regs.rbx, 0x1122334455667788ull);
	assert_int_equal(c.user_regs.r13, 0x1313);
	assert_int_equal(c.user_regs.rip, 0xffffffff81234567ull);
	assert_int_equal(c.user_regs.rflags, 0x202);
	assert_int_equal(c.fpu_ctxt.x[0], 0x7f);
	/* what a debugger does not write stays */
	assert_int_equal(c.user_regs.error_code, before.user_regs.error_code);
	assert_int_equal(c.gs_base_kernel, before.gs_base_kernel);
	assert_int_equal(c.ctrlreg[3], before.ctrlreg[3]);
	assert_int_equal(c.user_regs.cs, before.user_regs.cs);

	memset(&c32, 0, sizeof(c32));
	c32.user_regs.eax = 1;
	c32.user_regs.cs = 0xe019;
	xen_vcpu_ctx_to_regs(&c32, 4, true, &r);
	r.gpr[X86_RAX] = 0xffffffff12345678ull;	/* only the low half fits */
	r.gpr[X86_RSP] = 0xc0002000;
	r.rip = 0xc1000010;
	xen_regs_to_vcpu_ctx(&r, 4, &c32);
	assert_int_equal(c32.user_regs.eax, 0x12345678);
	assert_int_equal(c32.user_regs.esp, 0xc0002000);
	assert_int_equal(c32.user_regs.eip, 0xc1000010);
	assert_int_equal(c32.user_regs.cs, 0xe019);
}

static void test_pv_fixed_mode(void **state)
{
	struct x86_regs r;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.cr0 = 0x8005003b & ~X86_CR0_PG;
	xen_pv_fixed_mode(&r, 8);
	assert_true(r.cr0 & X86_CR0_PG);
	assert_true(r.cr4 & X86_CR4_PAE);
	assert_true(r.efer & X86_EFER_LMA);
	assert_true(x86_valid(&r, XF_EFER));
	assert_int_equal(x86_paging_mode(r.cr0, r.cr4, r.efer), X86_PAGING_4LEVEL);
	memset(&r, 0, sizeof(r));
	xen_pv_fixed_mode(&r, 4);
	assert_false(r.efer & X86_EFER_LMA);
	assert_int_equal(x86_paging_mode(r.cr0, r.cr4, r.efer), X86_PAGING_PAE);
}

static void test_hvm_cpu_both_ways(void **state)
{
	struct hvm_hw_cpu c, back;
	struct x86_regs r;

	(void)state;
	fill(&c, sizeof(c), 1);
	c.flags = XEN_X86_FPU_INITIALISED;
	c.cs_arbytes = 0xa09b; c.ss_arbytes = 0xc093;	/* 12 bits kept */
	xen_hvm_cpu_to_regs(&c, &r);
	assert_int_equal(r.gpr[X86_RAX], c.rax);
	assert_int_equal(r.gpr[X86_RSP], c.rsp);
	assert_int_equal(r.gpr[X86_R15], c.r15);
	assert_int_equal(r.rip, c.rip);
	assert_int_equal(r.rflags, c.rflags);
	assert_int_equal(r.cr3, c.cr3);
	assert_int_equal(r.dr[7], c.dr7);
	assert_int_equal(r.seg[X86_CS].sel, (uint16_t)c.cs_sel);
	assert_int_equal(r.seg[X86_CS].base, c.cs_base);
	assert_int_equal(r.seg[X86_CS].limit, c.cs_limit);
	assert_int_equal(r.seg[X86_CS].attr, 0x09b);
	assert_int_equal(r.seg[X86_TR].base, c.tr_base);
	assert_int_equal(r.seg[X86_LDTR].base, c.ldtr_base);
	assert_int_equal(r.seg[X86_GS].base, c.gs_base);
	assert_int_equal(r.k_gs_base, c.shadow_gs);
	assert_int_equal(r.gdtr.base, c.gdtr_base);
	assert_int_equal(r.idtr.limit, c.idtr_limit);
	assert_int_equal(r.lstar, c.msr_lstar);
	assert_int_equal(r.sfmask, c.msr_syscall_mask);
	assert_int_equal(r.efer, c.msr_efer);
	assert_int_equal(r.sysenter_eip, c.sysenter_eip);
	assert_memory_equal(r.fxsave, c.fpu_regs, 512);
	assert_true(x86_valid(&r, XF_FPU));
	assert_true(x86_valid(&r, XF_SYSCALL));
	assert_false(x86_valid(&r, XF_CR8));

	/* back: every field it read comes back; the rest of the record
	 * (TSC, pending events, flags) is left alone */
	memset(&back, 0, sizeof(back));
	back.tsc = 0x123456789ull;
	back.pending_event = 0x80000e0e;
	xen_regs_to_hvm_cpu(&r, &back);
	assert_int_equal(back.tsc, 0x123456789ull);
	assert_int_equal(back.pending_event, 0x80000e0e);
	assert_int_equal(back.rax, c.rax);
	assert_int_equal(back.r15, c.r15);
	assert_int_equal(back.rip, c.rip);
	assert_int_equal(back.cr4, c.cr4);
	assert_int_equal(back.dr6, c.dr6);
	assert_int_equal(back.gs_base, c.gs_base);
	assert_int_equal(back.shadow_gs, c.shadow_gs);
	assert_int_equal(back.ldtr_sel, (uint16_t)c.ldtr_sel);
	assert_int_equal(back.cs_arbytes, 0x09b);
	assert_int_equal(back.msr_cstar, c.msr_cstar);
	assert_memory_equal(back.fpu_regs, c.fpu_regs, 512);

	/* without an FPU image the record's own stays */
	c.flags = 0;
	xen_hvm_cpu_to_regs(&c, &r);
	assert_false(x86_valid(&r, XF_FPU));
	memset(&back, 0x5a, sizeof(back));
	xen_regs_to_hvm_cpu(&r, &back);
	assert_int_equal(back.fpu_regs[0], 0x5a);
}

/* What a register write changes in a CPU record: nothing, only what a
 * vm_event response's SET_REGISTERS carries, or more. */
static void test_hvm_cpu_change(void **state)
{
	struct hvm_hw_cpu c, c2;
	struct x86_regs r, w;
	unsigned i;

	(void)state;
	fill(&c, sizeof(c), 3);
	c.flags = XEN_X86_FPU_INITIALISED;
	c.rflags = 0x246;
	c.cs_arbytes = 0x09b; c.ds_arbytes = 0x093; c.es_arbytes = 0x093;
	c.fs_arbytes = 0x093; c.gs_arbytes = 0x093; c.ss_arbytes = 0x093;
	c.tr_arbytes = 0x08b; c.ldtr_arbytes = 0x082;
	/* as Xen saves them: 16-bit selectors, 16-bit table limits */
	c.cs_sel = 0x10; c.ds_sel = 0x18; c.es_sel = 0x18; c.fs_sel = 0;
	c.gs_sel = 0; c.ss_sel = 0x18; c.tr_sel = 0x40; c.ldtr_sel = 0;
	c.gdtr_limit = 0x7f; c.idtr_limit = 0xfff;
	xen_hvm_cpu_to_regs(&c, &r);
	assert_int_equal(xen_hvm_cpu_change(&c, &r), XEN_CPU_SAME);
	/* RFLAGS without bit 1 is what Xen loads with it: no change */
	w = r;
	w.rflags &= ~XEN_RFLAGS_MBS;
	assert_int_equal(xen_hvm_cpu_change(&c, &w), XEN_CPU_SAME);
	/* each general register, rip, rflags: SET_REGISTERS carries them */
	for (i = 0; i < X86_GPR_NR; i++) {
		w = r;
		w.gpr[i] ^= 0x100;
		assert_int_equal(xen_hvm_cpu_change(&c, &w), XEN_CPU_EVENT_REGS);
	}
	w = r;
	w.rip += 3;
	w.rflags |= X86_RFLAGS_TF | X86_RFLAGS_RF;
	assert_int_equal(xen_hvm_cpu_change(&c, &w), XEN_CPU_EVENT_REGS);
	/* anything else is more */
	w = r; w.seg[X86_FS].base ^= 1;
	assert_int_equal(xen_hvm_cpu_change(&c, &w), XEN_CPU_OTHER);
	w = r; w.seg[X86_CS].sel ^= 8;
	assert_int_equal(xen_hvm_cpu_change(&c, &w), XEN_CPU_OTHER);
	w = r; w.cr4 ^= X86_CR4_PCIDE;
	assert_int_equal(xen_hvm_cpu_change(&c, &w), XEN_CPU_OTHER);
	w = r; w.dr[7] ^= 1;
	assert_int_equal(xen_hvm_cpu_change(&c, &w), XEN_CPU_OTHER);
	w = r; w.efer ^= X86_EFER_NXE;
	assert_int_equal(xen_hvm_cpu_change(&c, &w), XEN_CPU_OTHER);
	w = r; w.k_gs_base ^= 1;
	assert_int_equal(xen_hvm_cpu_change(&c, &w), XEN_CPU_OTHER);
	w = r; w.fxsave[24] ^= 1;	/* MXCSR */
	assert_int_equal(xen_hvm_cpu_change(&c, &w), XEN_CPU_OTHER);
	/* ... even along with general registers */
	w.gpr[X86_RAX] ^= 1;
	assert_int_equal(xen_hvm_cpu_change(&c, &w), XEN_CPU_OTHER);
	/* bits the register file does not keep are no change: 32-bit
	 * selectors, attributes above 12 bits (VMX's "unusable") */
	c2 = c;
	c2.fs_arbytes = 0x10000;
	c2.gs_sel = 0x10000;
	xen_hvm_cpu_to_regs(&c2, &w);
	assert_int_equal(xen_hvm_cpu_change(&c2, &w), XEN_CPU_SAME);
	w.gpr[X86_RBX] ^= 1;
	assert_int_equal(xen_hvm_cpu_change(&c2, &w), XEN_CPU_EVENT_REGS);
	/* an FPU image the registers do not hold changes nothing */
	w = r;
	x86_clear_valid(&w, XF_FPU);
	w.fxsave[24] ^= 1;
	assert_int_equal(xen_hvm_cpu_change(&c, &w), XEN_CPU_SAME);

	/* only the carried registers go into a record, RFLAGS with bit 1 */
	w = r;
	w.gpr[X86_R12] = 0x1212;
	w.rip = 0xffffffff81000000ull;
	w.rflags = X86_RFLAGS_TF;
	w.seg[X86_FS].base = 0x5555;
	w.cr3 = 0x1000;
	c2 = c;
	xen_event_regs_to_hvm_cpu(&w, &c2);
	assert_int_equal(c2.r12, 0x1212);
	assert_int_equal(c2.rip, 0xffffffff81000000ull);
	assert_int_equal(c2.rflags, X86_RFLAGS_TF | XEN_RFLAGS_MBS);
	assert_int_equal(c2.fs_base, c.fs_base);
	assert_int_equal(c2.cr3, c.cr3);
	assert_int_equal(c2.rax, c.rax);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_pv64_kernel_gs),
		cmocka_unit_test(test_pv64_user_gs),
		cmocka_unit_test(test_hvm_ctx_gs_by_rpl),
		cmocka_unit_test(test_pv32),
		cmocka_unit_test(test_pv_write_back),
		cmocka_unit_test(test_pv_fixed_mode),
		cmocka_unit_test(test_hvm_cpu_both_ways),
		cmocka_unit_test(test_hvm_cpu_change),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
