/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What memory an x86 instruction touches: decoded with Capstone, resolved
 * against the register file (base, index, scale, displacement, segment
 * base, RIP-relative, implicit stack and string operands). Hypervisor
 * access traps report where an access faulted but not its size; this
 * gives the real ranges. Pure: no I/O.
 */
#ifndef XENSTUB_ARCH_X86_INSN_H
#define XENSTUB_ARCH_X86_INSN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch/x86/regs.h"

struct x86_mem_access {
	uint64_t addr;		/* linear address of the first byte */
	uint32_t size;		/* bytes */
	bool read;
	bool write;
};

#define X86_INSN_MAX_ACCESS 4

struct x86_insn_info {
	unsigned length;	/* bytes of the instruction */
	char text[192];		/* "mov qword ptr [rdi], rax" */
	bool is_string;		/* movs/stos/lods/cmps/scas/ins/outs */
	bool rep;		/* with a rep prefix: RCX elements */
	bool down;		/* EFLAGS.DF: string elements go downwards */
	bool is_pushf;
	unsigned naccess;
	struct x86_mem_access acc[X86_INSN_MAX_ACCESS];
};

struct x86_decoder;

/* A decoder for code of the given width (16, 32 or 64); NULL when the
 * disassembler cannot be set up. */
struct x86_decoder *x86_decoder_new(unsigned bits);
void x86_decoder_free(struct x86_decoder *d);

/*
 * Decodes the instruction at the start of code (n bytes available, read
 * from rip) and computes the memory it accesses with the registers r.
 * Returns 0, -EINVAL when the bytes are not a valid instruction, or
 * -ENOENT when an operand's address cannot be computed (an unknown
 * register).
 */
int x86_decode(struct x86_decoder *d, const uint8_t *code, size_t n,
	       const struct x86_regs *r, struct x86_insn_info *out);

/* The code width of a vCPU: 64 in long mode with CS.L, else 32 or 16
 * from CS.D/B and CR0.PE. */
unsigned x86_code_bits(const struct x86_regs *r);

/*
 * Whether the instruction at the start of code (n bytes, code of the given
 * width) is one a hypervisor may complete in its exit handler rather than
 * let the guest execute: cpuid, hlt, vmcall/vmmcall, rdmsr/wrmsr, rdpmc,
 * rdtsc/rdtscp, xsetbv, invd/wbinvd, monitor/mwait, in/out/ins/outs, clts
 * and moves to or from control and debug registers. None of them branches.
 * Returns its length (prefixes included) and *name, or 0.
 */
unsigned x86_exit_insn(const uint8_t *code, size_t n, unsigned bits, const char **name);

#endif
