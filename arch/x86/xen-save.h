/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Xen's records of a vCPU's registers and the register file: the HVM save
 * record (struct hvm_hw_cpu, xen/include/public/arch-x86/hvm/save.h) both
 * ways, and the vcpu_guest_context of the x86_64 and x86_32 ABIs
 * (xen/include/public/arch-x86/xen-x86_64.h, xen-x86_32.h) that
 * XEN_DOMCTL_getvcpucontext returns and `xl dump-core` files hold. Pure
 * conversions, no I/O: the live Xen target and the dump-core reader share
 * them.
 */
#ifndef XENSTUB_ARCH_X86_XEN_SAVE_H
#define XENSTUB_ARCH_X86_XEN_SAVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch/x86/regs.h"

struct hvm_hw_cpu;

/* vcpu_guest_context.flags (xen/include/public/arch-x86/xen.h) */
#define XEN_VGCF_I387_VALID (1u << 0)	/* fpu_ctxt holds the FXSAVE image */
#define XEN_VGCF_IN_KERNEL (1u << 2)	/* PV: the guest kernel was running */
#define XEN_VGCF_ONLINE (1u << 5)	/* the vCPU was up */

/* The size in bytes of a vcpu_guest_context of the x86_64 ABI (word 8)
 * or the x86_32 ABI (word 4); 0 for another word. */
size_t xen_vcpu_ctx_size(unsigned word);

/* The flags word (XEN_VGCF_*) of the vcpu_guest_context at ctx. */
uint32_t xen_vcpu_ctx_flags(const void *ctx, unsigned word);

/*
 * Decodes the vcpu_guest_context at ctx (xen_vcpu_ctx_size(word) bytes,
 * little-endian, as Xen lays it out in memory and in dump-core files)
 * into r, which it clears first, marking valid what it fills: the
 * general registers of the ABI, rip, rflags, the selectors, CR0, CR2,
 * CR3, CR4, DR0-3, DR6, DR7, the FXSAVE image when XEN_VGCF_I387_VALID
 * says it holds one, and (x86_64 only) the FS base and both GS bases.
 *
 * Xen keeps the two GS bases by role, not by use: gs_base_kernel is the
 * kernel's and gs_base_user the user's (PV: save_segments() and
 * toggle_guest_mode() store the live base into the one of the current
 * mode; HVM: arch_get_info_guest() puts the live base in gs_base_kernel
 * when CS is at ring 0). So the base in use (r->seg[X86_GS].base) is
 * gs_base_kernel in kernel mode and gs_base_user in user mode, and the
 * other one is the shadow (r->k_gs_base). Kernel mode is
 * XEN_VGCF_IN_KERNEL for a PV vCPU (a 64-bit PV kernel runs in ring 3)
 * and CS.RPL 0 for an HVM one.
 *
 * pv: the context is a PV guest's, whose ctrlreg[3] holds a machine frame
 * (xen_pfn_to_cr3(): frame << 12 for x86_64, the frame rotated into 32
 * bits for x86_32): r->cr3 gets the frame's address. Otherwise ctrlreg[]
 * are the guest's own CR0..CR4. EFER is not in the record: see
 * xen_pv_fixed_mode().
 */
void xen_vcpu_ctx_to_regs(const void *ctx, unsigned word, bool pv,
			  struct x86_regs *r);

/* Writes into the vcpu_guest_context at ctx what a debugger changes: the
 * general registers of the ABI, rip, rflags and the FXSAVE image. The
 * rest of ctx is left as it is (read it first). */
void xen_regs_to_vcpu_ctx(const struct x86_regs *r, unsigned word, void *ctx);

/* The mode a PV vCPU always runs in, which its context does not record:
 * paging and PAE on, long mode and syscall for x86_64 (word 8), NX (Xen
 * offers it to every PV guest); sets CR0, CR4 and EFER (valid). */
void xen_pv_fixed_mode(struct x86_regs *r, unsigned word);

/* struct hvm_hw_cpu (HVM_SAVE_CODE(CPU)) to r, which it clears first:
 * everything but CR8 (the TPR is in the LAPIC record); the FXSAVE image
 * when XEN_X86_FPU_INITIALISED. Segment attributes are Xen's 12-bit
 * compressed form, the layout struct x86_segment uses. */
void xen_hvm_cpu_to_regs(const struct hvm_hw_cpu *c, struct x86_regs *r);

/* r into the CPU record c (read it first: its TSC, pending events and the
 * rest stay): every field xen_hvm_cpu_to_regs() reads, the FXSAVE image
 * only when r holds one. */
void xen_regs_to_hvm_cpu(const struct x86_regs *r, struct hvm_hw_cpu *c);

/* RFLAGS bit 1, which is always set: Xen sets it in every RFLAGS it loads
 * (hvm_load_cpu_ctxt, and at each VM entry). */
#define XEN_RFLAGS_MBS 2ull

/* What loading registers into a CPU record would change. */
enum xen_cpu_change {
	XEN_CPU_SAME,		/* nothing */
	XEN_CPU_EVENT_REGS,	/* only what a vm_event response's
				 * VM_EVENT_FLAG_SET_REGISTERS sets (Xen 4.17
				 * hvm_vm_event_set_registers): rax..r15, rip
				 * and rflags */
	XEN_CPU_OTHER,		/* something else too (segments, control or
				 * debug registers, MSRs, the FPU...) */
};

/* What xen_regs_to_hvm_cpu(r, c), with RFLAGS bit 1 set as Xen sets it,
 * would change in the CPU record c, compared with writing back c's own
 * registers (xen_hvm_cpu_to_regs(c)): what the register file cannot hold
 * (segment attribute bits above 12, a CPU record's TSC...) is no change. */
enum xen_cpu_change xen_hvm_cpu_change(const struct hvm_hw_cpu *c,
				       const struct x86_regs *r);

/* Puts into the CPU record c only what SET_REGISTERS sets, from r:
 * rax..r15, rip, and rflags with bit 1 set. */
void xen_event_regs_to_hvm_cpu(const struct x86_regs *r, struct hvm_hw_cpu *c);

#endif
