// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Xen's records of a vCPU's registers to and from struct x86_regs: the
 * HVM CPU save record and the PV/dump-core vcpu_guest_context (see
 * xen-save.h for what each conversion fills).
 *
 * vcpu_guest_context (XEN_DOMCTL_getvcpucontext, xen/arch/x86/domctl.c
 * arch_get_info_guest; structs in xen/include/public/arch-x86/xen-x86_64.h
 * and xen-x86_32.h), offsets in bytes:
 *                          x86_64 (u64)        x86_32 (u32)
 *   fpu_ctxt (FXSAVE)      0, 512 bytes        0, 512 bytes
 *   flags                  512                 512
 *   user_regs              520                 516
 *     general registers    520 + 8 * i for     516 + 4 * i for
 *                          r15 r14 r13 r12     ebx ecx edx esi edi
 *                          rbp rbx r11 r10 r9  ebp eax
 *                          r8 rax rcx rdx rsi
 *                          rdi
 *     error_code, vector   640, 644            544, 546 (u16)
 *     rip / eip            648                 548
 *     cs (u16)             656                 552
 *     rflags / eflags      664                 556
 *     rsp / esp            672                 560
 *     ss es ds fs gs (u16) 680 + 8 * i         564 + 4 * i
 *   trap_ctxt..kernel_sp   720..4983           584..2715 (not used)
 *   ctrlreg[8]             4984                2716
 *   debugreg[8]            5048                2748
 *   callbacks, vm_assist   5112..5143          2780..2799 (not used)
 *   fs_base                5144                -
 *   gs_base_kernel         5152                -
 *   gs_base_user           5160                -
 *   size                   5168                2800
 * ctrlreg[3] of a PV guest is a machine frame: xen_pfn_to_cr3(mfn), i.e.
 * mfn << 12 on x86_64 and the rotated (mfn << 12 | mfn >> 20) on x86_32;
 * ctrlreg[1] of a 64-bit PV guest is its user page table (not used). For
 * HVM guests ctrlreg[] are the guest's own CR0..CR4. Segment selectors are
 * there; segment bases, limits and attributes, GDTR, IDTR and EFER are
 * not (the FS and GS bases of x86_64 contexts excepted).
 */
#include "arch/x86/xen-save.h"

#include <string.h>

#include <xen/hvm/save.h>

#include "stub/base/num.h"

/* One layout of vcpu_guest_context: offsets in bytes. */
struct ctx_layout {
	unsigned word;		/* 8 or 4 */
	size_t size;
	size_t flags, rip, rflags, ctrlreg, debugreg;
	size_t gpr[X86_GPR_NR];	/* 0 when the layout has no such register */
	size_t sel[6];		/* es cs ss ds fs gs, enum x86_seg order */
	size_t fs_base, gs_base_kernel, gs_base_user;	/* 0: absent */
};

static const struct ctx_layout ctx64 = {
	.word = 8,
	.size = 5168,
	.flags = 512,
	.gpr = {
		[X86_R15] = 520, [X86_R14] = 528, [X86_R13] = 536,
		[X86_R12] = 544, [X86_RBP] = 552, [X86_RBX] = 560,
		[X86_R11] = 568, [X86_R10] = 576, [X86_R9] = 584,
		[X86_R8] = 592, [X86_RAX] = 600, [X86_RCX] = 608,
		[X86_RDX] = 616, [X86_RSI] = 624, [X86_RDI] = 632,
		[X86_RSP] = 672,
	},
	.rip = 648,
	.rflags = 664,
	.sel = { [X86_ES] = 688, [X86_CS] = 656, [X86_SS] = 680,
		 [X86_DS] = 696, [X86_FS] = 704, [X86_GS] = 712 },
	.ctrlreg = 4984,
	.debugreg = 5048,
	.fs_base = 5144,
	.gs_base_kernel = 5152,
	.gs_base_user = 5160,
};

static const struct ctx_layout ctx32 = {
	.word = 4,
	.size = 2800,
	.flags = 512,
	.gpr = {
		[X86_RBX] = 516, [X86_RCX] = 520, [X86_RDX] = 524,
		[X86_RSI] = 528, [X86_RDI] = 532, [X86_RBP] = 536,
		[X86_RAX] = 540, [X86_RSP] = 560,
	},
	.rip = 548,
	.rflags = 556,
	.sel = { [X86_ES] = 568, [X86_CS] = 552, [X86_SS] = 564,
		 [X86_DS] = 572, [X86_FS] = 576, [X86_GS] = 580 },
	.ctrlreg = 2716,
	.debugreg = 2748,
};

#define FXSAVE_SIZE 512

static const struct ctx_layout *layout(unsigned word)
{
	return word == 8 ? &ctx64 : word == 4 ? &ctx32 : NULL;
}

size_t xen_vcpu_ctx_size(unsigned word)
{
	const struct ctx_layout *l = layout(word);

	return l ? l->size : 0;
}

uint32_t xen_vcpu_ctx_flags(const void *ctx, unsigned word)
{
	const struct ctx_layout *l = layout(word);

	return l ? (uint32_t)get_le((const uint8_t *)ctx + l->flags, 4) : 0;
}

void xen_vcpu_ctx_to_regs(const void *ctx, unsigned word, bool pv,
			  struct x86_regs *r)
{
	const struct ctx_layout *l = layout(word);
	const uint8_t *c = ctx;
	unsigned w, i;
	uint32_t flags;
	uint64_t cr3;

	memset(r, 0, sizeof(*r));
	if (!l)
		return;
	w = l->word;
	flags = (uint32_t)get_le(c + l->flags, 4);
	for (i = 0; i < X86_GPR_NR; i++) {
		if (!l->gpr[i])
			continue;
		r->gpr[i] = get_le(c + l->gpr[i], w);
		x86_set_valid(r, XF_GPR0 + i);
	}
	r->rip = get_le(c + l->rip, w);
	r->rflags = get_le(c + l->rflags, w);
	x86_set_valid(r, XF_RIP);
	x86_set_valid(r, XF_RFLAGS);
	for (i = 0; i < 6; i++) {
		r->seg[i].sel = (uint16_t)get_le(c + l->sel[i], 2);
		x86_set_valid(r, XF_SEL0 + i);
	}
	r->cr0 = get_le(c + l->ctrlreg, w);
	r->cr2 = get_le(c + l->ctrlreg + 2 * w, w);
	cr3 = get_le(c + l->ctrlreg + 3 * w, w);
	if (pv && w == 4) {
		/* xen_cr3_to_pfn_x86_32: the frame is rotated into 32 bits */
		uint64_t mfn = ((cr3 >> 12) | (cr3 << 20)) & 0xffffffffull;

		cr3 = mfn << 12;
	} else if (pv) {
		/* xen_cr3_to_pfn_x86_64: the frame is cr3 >> 12 */
		cr3 &= ~0xfffull;
	}
	r->cr3 = cr3;
	r->cr4 = get_le(c + l->ctrlreg + 4 * w, w);
	x86_set_valid(r, XF_CR0);
	x86_set_valid(r, XF_CR2);
	x86_set_valid(r, XF_CR3);
	x86_set_valid(r, XF_CR4);
	for (i = 0; i < 4; i++)
		r->dr[i] = get_le(c + l->debugreg + i * w, w);
	r->dr[6] = get_le(c + l->debugreg + 6 * w, w);
	r->dr[7] = get_le(c + l->debugreg + 7 * w, w);
	x86_set_valid_range(r, XF_DR0, XF_DR7);
	if (l->fs_base) {
		uint64_t gk = get_le(c + l->gs_base_kernel, 8);
		uint64_t gu = get_le(c + l->gs_base_user, 8);
		bool kernel = pv ? (flags & XEN_VGCF_IN_KERNEL) :
				   !(r->seg[X86_CS].sel & 3);

		/* Only the bases are recorded: the FS and GS rows of the
		 * segment cache are known for their base alone. */
		r->seg[X86_FS].base = get_le(c + l->fs_base, 8);
		r->seg[X86_GS].base = kernel ? gk : gu;
		r->k_gs_base = kernel ? gu : gk;
		x86_set_valid(r, XF_SEGCACHE0 + X86_FS);
		x86_set_valid(r, XF_SEGCACHE0 + X86_GS);
		x86_set_valid(r, XF_KGSBASE);
	}
	if (flags & XEN_VGCF_I387_VALID) {
		memcpy(r->fxsave, c, FXSAVE_SIZE);
		x86_set_valid(r, XF_FPU);
	}
}

void xen_regs_to_vcpu_ctx(const struct x86_regs *r, unsigned word, void *ctx)
{
	const struct ctx_layout *l = layout(word);
	uint8_t *c = ctx;
	unsigned i;

	if (!l)
		return;
	for (i = 0; i < X86_GPR_NR; i++)
		if (l->gpr[i])
			put_le(c + l->gpr[i], r->gpr[i], l->word);
	put_le(c + l->rip, r->rip, l->word);
	put_le(c + l->rflags, r->rflags, l->word);
	memcpy(c, r->fxsave, FXSAVE_SIZE);
}

void xen_pv_fixed_mode(struct x86_regs *r, unsigned word)
{
	r->cr0 |= X86_CR0_PG | X86_CR0_PE;
	r->cr4 |= X86_CR4_PAE;
	/* a 64-bit PV guest always runs in long mode, with syscall (SCE) */
	r->efer = word == 8 ? X86_EFER_LME | X86_EFER_LMA | X86_EFER_NXE | 1 :
			      X86_EFER_NXE;
	x86_set_valid(r, XF_EFER);
}

static void seg_from(struct x86_segment *s, uint32_t sel, uint32_t limit,
		     uint64_t base, uint32_t ar)
{
	s->sel = (uint16_t)sel;
	s->limit = limit;
	s->base = base;
	s->attr = (uint16_t)(ar & 0xfff);
}

void xen_hvm_cpu_to_regs(const struct hvm_hw_cpu *c, struct x86_regs *r)
{
	memset(r, 0, sizeof(*r));
	r->gpr[X86_RAX] = c->rax; r->gpr[X86_RBX] = c->rbx;
	r->gpr[X86_RCX] = c->rcx; r->gpr[X86_RDX] = c->rdx;
	r->gpr[X86_RBP] = c->rbp; r->gpr[X86_RSI] = c->rsi;
	r->gpr[X86_RDI] = c->rdi; r->gpr[X86_RSP] = c->rsp;
	r->gpr[X86_R8] = c->r8; r->gpr[X86_R9] = c->r9;
	r->gpr[X86_R10] = c->r10; r->gpr[X86_R11] = c->r11;
	r->gpr[X86_R12] = c->r12; r->gpr[X86_R13] = c->r13;
	r->gpr[X86_R14] = c->r14; r->gpr[X86_R15] = c->r15;
	r->rip = c->rip;
	r->rflags = c->rflags;
	r->cr0 = c->cr0; r->cr2 = c->cr2; r->cr3 = c->cr3; r->cr4 = c->cr4;
	r->dr[0] = c->dr0; r->dr[1] = c->dr1; r->dr[2] = c->dr2;
	r->dr[3] = c->dr3; r->dr[6] = c->dr6; r->dr[7] = c->dr7;
	seg_from(&r->seg[X86_CS], c->cs_sel, c->cs_limit, c->cs_base, c->cs_arbytes);
	seg_from(&r->seg[X86_DS], c->ds_sel, c->ds_limit, c->ds_base, c->ds_arbytes);
	seg_from(&r->seg[X86_ES], c->es_sel, c->es_limit, c->es_base, c->es_arbytes);
	seg_from(&r->seg[X86_FS], c->fs_sel, c->fs_limit, c->fs_base, c->fs_arbytes);
	seg_from(&r->seg[X86_GS], c->gs_sel, c->gs_limit, c->gs_base, c->gs_arbytes);
	seg_from(&r->seg[X86_SS], c->ss_sel, c->ss_limit, c->ss_base, c->ss_arbytes);
	seg_from(&r->seg[X86_TR], c->tr_sel, c->tr_limit, c->tr_base, c->tr_arbytes);
	seg_from(&r->seg[X86_LDTR], c->ldtr_sel, c->ldtr_limit, c->ldtr_base,
		 c->ldtr_arbytes);
	r->gdtr.base = c->gdtr_base; r->gdtr.limit = c->gdtr_limit;
	r->idtr.base = c->idtr_base; r->idtr.limit = c->idtr_limit;
	r->sysenter_cs = c->sysenter_cs; r->sysenter_esp = c->sysenter_esp;
	r->sysenter_eip = c->sysenter_eip;
	r->k_gs_base = c->shadow_gs;
	r->star = c->msr_star; r->lstar = c->msr_lstar;
	r->cstar = c->msr_cstar; r->sfmask = c->msr_syscall_mask;
	r->efer = c->msr_efer;
	memcpy(r->fxsave, c->fpu_regs, sizeof(r->fxsave));
	/* everything but CR8 (the TPR lives in the LAPIC record) */
	x86_set_valid_range(r, XF_GPR0, XF_EFER);
	x86_clear_valid(r, XF_CR8);
	x86_set_valid_range(r, XF_DR0, XF_SYSCALL);
	if (c->flags & XEN_X86_FPU_INITIALISED)
		x86_set_valid(r, XF_FPU);
}

static void seg_to(const struct x86_segment *s, uint32_t *sel, uint32_t *limit,
		   uint64_t *base, uint32_t *ar)
{
	*sel = s->sel;
	*limit = s->limit;
	*base = s->base;
	*ar = s->attr;
}

void xen_regs_to_hvm_cpu(const struct x86_regs *r, struct hvm_hw_cpu *c)
{
	c->rax = r->gpr[X86_RAX]; c->rbx = r->gpr[X86_RBX];
	c->rcx = r->gpr[X86_RCX]; c->rdx = r->gpr[X86_RDX];
	c->rbp = r->gpr[X86_RBP]; c->rsi = r->gpr[X86_RSI];
	c->rdi = r->gpr[X86_RDI]; c->rsp = r->gpr[X86_RSP];
	c->r8 = r->gpr[X86_R8]; c->r9 = r->gpr[X86_R9];
	c->r10 = r->gpr[X86_R10]; c->r11 = r->gpr[X86_R11];
	c->r12 = r->gpr[X86_R12]; c->r13 = r->gpr[X86_R13];
	c->r14 = r->gpr[X86_R14]; c->r15 = r->gpr[X86_R15];
	c->rip = r->rip;
	c->rflags = r->rflags;
	c->cr0 = r->cr0; c->cr2 = r->cr2; c->cr3 = r->cr3; c->cr4 = r->cr4;
	c->dr0 = r->dr[0]; c->dr1 = r->dr[1]; c->dr2 = r->dr[2];
	c->dr3 = r->dr[3]; c->dr6 = r->dr[6]; c->dr7 = r->dr[7];
	seg_to(&r->seg[X86_CS], &c->cs_sel, &c->cs_limit, &c->cs_base, &c->cs_arbytes);
	seg_to(&r->seg[X86_DS], &c->ds_sel, &c->ds_limit, &c->ds_base, &c->ds_arbytes);
	seg_to(&r->seg[X86_ES], &c->es_sel, &c->es_limit, &c->es_base, &c->es_arbytes);
	seg_to(&r->seg[X86_FS], &c->fs_sel, &c->fs_limit, &c->fs_base, &c->fs_arbytes);
	seg_to(&r->seg[X86_GS], &c->gs_sel, &c->gs_limit, &c->gs_base, &c->gs_arbytes);
	seg_to(&r->seg[X86_SS], &c->ss_sel, &c->ss_limit, &c->ss_base, &c->ss_arbytes);
	seg_to(&r->seg[X86_TR], &c->tr_sel, &c->tr_limit, &c->tr_base, &c->tr_arbytes);
	seg_to(&r->seg[X86_LDTR], &c->ldtr_sel, &c->ldtr_limit, &c->ldtr_base,
	       &c->ldtr_arbytes);
	c->gdtr_base = r->gdtr.base; c->gdtr_limit = r->gdtr.limit;
	c->idtr_base = r->idtr.base; c->idtr_limit = r->idtr.limit;
	c->sysenter_cs = r->sysenter_cs; c->sysenter_esp = r->sysenter_esp;
	c->sysenter_eip = r->sysenter_eip;
	c->shadow_gs = r->k_gs_base;
	c->msr_star = r->star; c->msr_lstar = r->lstar;
	c->msr_cstar = r->cstar; c->msr_syscall_mask = r->sfmask;
	c->msr_efer = r->efer;
	if (x86_valid(r, XF_FPU))
		memcpy(c->fpu_regs, r->fxsave, sizeof(c->fpu_regs));
}

/* Copies what a vm_event response's SET_REGISTERS sets from one CPU record
 * to another. */
static void copy_event_regs(struct hvm_hw_cpu *to, const struct hvm_hw_cpu *from)
{
	to->rax = from->rax; to->rbx = from->rbx; to->rcx = from->rcx;
	to->rdx = from->rdx; to->rbp = from->rbp; to->rsi = from->rsi;
	to->rdi = from->rdi; to->rsp = from->rsp;
	to->r8 = from->r8; to->r9 = from->r9; to->r10 = from->r10;
	to->r11 = from->r11; to->r12 = from->r12; to->r13 = from->r13;
	to->r14 = from->r14; to->r15 = from->r15;
	to->rip = from->rip;
	to->rflags = from->rflags;
}

enum xen_cpu_change xen_hvm_cpu_change(const struct hvm_hw_cpu *c,
				       const struct x86_regs *r)
{
	struct hvm_hw_cpu n = *c, same = *c;
	struct x86_regs cur;

	/* against the record as its own registers would write it back, so
	 * that what the register file does not keep (segment attribute bits
	 * above the 12 Xen saves) counts as no change */
	xen_hvm_cpu_to_regs(c, &cur);
	xen_regs_to_hvm_cpu(&cur, &same);
	same.rflags |= XEN_RFLAGS_MBS;
	xen_regs_to_hvm_cpu(r, &n);
	n.rflags |= XEN_RFLAGS_MBS;
	if (!memcmp(&n, &same, sizeof(n)))
		return XEN_CPU_SAME;
	copy_event_regs(&n, &same);
	return memcmp(&n, &same, sizeof(n)) ? XEN_CPU_OTHER : XEN_CPU_EVENT_REGS;
}

void xen_event_regs_to_hvm_cpu(const struct x86_regs *r, struct hvm_hw_cpu *c)
{
	struct hvm_hw_cpu n = *c;

	xen_regs_to_hvm_cpu(r, &n);
	n.rflags |= XEN_RFLAGS_MBS;
	copy_event_regs(c, &n);
}
