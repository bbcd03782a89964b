/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The x86 register file of one vCPU or task, and its mapping onto gdb's
 * remote register numbers (QEMU's i386-64bit / i386-32bit layouts, which gdb
 * and the Linux kernel's gdb scripts know). Pure data and conversions: no I/O.
 */
#ifndef XENSTUB_ARCH_X86_REGS_H
#define XENSTUB_ARCH_X86_REGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct strbuf;

/* General registers in hardware encoding order. */
enum x86_gpr {
	X86_RAX, X86_RCX, X86_RDX, X86_RBX, X86_RSP, X86_RBP, X86_RSI, X86_RDI,
	X86_R8, X86_R9, X86_R10, X86_R11, X86_R12, X86_R13, X86_R14, X86_R15,
	X86_GPR_NR
};

/* Segment registers in hardware encoding order, then LDTR and TR. */
enum x86_seg {
	X86_ES, X86_CS, X86_SS, X86_DS, X86_FS, X86_GS, X86_LDTR, X86_TR,
	X86_SEG_NR
};

/* Every piece of state that can be known or unknown on its own. */
enum x86_field {
	XF_GPR0 = 0,		/* XF_GPR0 + enum x86_gpr */
	XF_RIP = XF_GPR0 + X86_GPR_NR,
	XF_RFLAGS,
	XF_SEL0,		/* XF_SEL0 + enum x86_seg: selectors */
	XF_SEGCACHE0 = XF_SEL0 + X86_SEG_NR, /* base, limit, attributes */
	XF_GDTR = XF_SEGCACHE0 + X86_SEG_NR,
	XF_IDTR,
	XF_KGSBASE,
	XF_CR0, XF_CR2, XF_CR3, XF_CR4, XF_CR8,
	XF_EFER,
	XF_DR0, XF_DR1, XF_DR2, XF_DR3, XF_DR6, XF_DR7,
	XF_SYSENTER,		/* sysenter_cs/esp/eip */
	XF_SYSCALL,		/* star, lstar, cstar, sfmask */
	XF_FPU,			/* the whole FXSAVE image (x87, SSE, MXCSR) */
	XF_NR
};

struct x86_segment {
	uint16_t sel;
	uint16_t attr;		/* VMX-style access rights, 12 bits used */
	uint32_t limit;
	uint64_t base;
};

struct x86_dtable {
	uint64_t base;
	uint32_t limit;
};

struct x86_regs {
	uint64_t gpr[X86_GPR_NR];
	uint64_t rip;
	uint64_t rflags;
	struct x86_segment seg[X86_SEG_NR];
	struct x86_dtable gdtr, idtr;
	uint64_t k_gs_base;
	uint64_t cr0, cr2, cr3, cr4, cr8;
	uint64_t efer;
	uint64_t dr[8];		/* dr4 and dr5 unused */
	uint64_t sysenter_cs, sysenter_esp, sysenter_eip;
	uint64_t star, lstar, cstar, sfmask;
	/* FXSAVE image, 64-bit format (FIP/FDP as 64-bit values). */
	uint8_t fxsave[512] __attribute__((aligned(16)));
	uint64_t valid[(XF_NR + 63) / 64];
};

static inline bool x86_valid(const struct x86_regs *r, enum x86_field f)
{
	return (r->valid[f / 64] >> (f % 64)) & 1;
}

static inline void x86_set_valid(struct x86_regs *r, enum x86_field f)
{
	r->valid[f / 64] |= 1ull << (f % 64);
}

static inline void x86_clear_valid(struct x86_regs *r, enum x86_field f)
{
	r->valid[f / 64] &= ~(1ull << (f % 64));
}

/* Marks every field in [first, last] valid. */
void x86_set_valid_range(struct x86_regs *r, enum x86_field first,
			 enum x86_field last);

/* How gdb sees a register: one row of the remote layout. */
enum x86_gdb_kind {
	GK_GPR,		/* index: enum x86_gpr */
	GK_RIP,
	GK_EFLAGS,
	GK_SEL,		/* index: enum x86_seg */
	GK_SEGBASE,	/* index: X86_FS or X86_GS */
	GK_KGSBASE,
	GK_CR,		/* index: 0, 2, 3, 4, 8 */
	GK_EFER,
	GK_ST,		/* index: 0..7 (stack order) */
	GK_FPCTL,	/* index: enum x86_fpctl */
	GK_XMM,		/* index: 0..15 */
	GK_MXCSR,
};

enum x86_fpctl { FP_FCTRL, FP_FSTAT, FP_FTAG, FP_FISEG, FP_FIOFF, FP_FOSEG,
		 FP_FOOFF, FP_FOP };

struct x86_gdb_reg {
	const char *name;
	uint16_t bits;
	uint8_t kind;		/* enum x86_gdb_kind */
	uint8_t index;
	const char *type;	/* gdb type name for the target description */
	const char *group;	/* NULL or "float" / "vector" / "system" */
	const char *feature;	/* which XML feature the row belongs to */
};

struct x86_gdb_layout {
	const char *arch;	/* "i386:x86-64" or "i386" */
	unsigned addr_bits;	/* 64 or 32 */
	unsigned nregs;
	const struct x86_gdb_reg *regs;
	size_t g_size;		/* bytes of a full 'g' reply */
};

/* The layout for 64-bit (bits = 64) or 32-bit (bits = 32) guests. */
const struct x86_gdb_layout *x86_gdb_layout(unsigned bits);

/* Size in bytes of register regno, 0 if regno is not in the layout. */
size_t x86_gdb_reg_size(const struct x86_gdb_layout *l, unsigned regno);
/* Byte offset of regno in the 'g' packet image. */
size_t x86_gdb_reg_offset(const struct x86_gdb_layout *l, unsigned regno);

/*
 * Reads register regno into buf (target byte order, x86_gdb_reg_size bytes).
 * Returns the size, -ENODATA if the register is not known (send "xx"), or
 * -EINVAL if regno is not in the layout.
 */
int x86_gdb_reg_get(const struct x86_regs *r, const struct x86_gdb_layout *l,
		    unsigned regno, uint8_t *buf);
/* Writes regno from buf and marks it known. 0, or -EINVAL. */
int x86_gdb_reg_set(struct x86_regs *r, const struct x86_gdb_layout *l,
		    unsigned regno, const uint8_t *buf);
/* Looks a register up by name; -1 if absent. */
int x86_gdb_reg_find(const struct x86_gdb_layout *l, const char *name);

/* Appends the target description XML document for the layout. */
void x86_tdesc_xml(const struct x86_gdb_layout *l, struct strbuf *out);

/* Segment attribute helpers (VMX access-rights encoding, 12 bits). */
#define X86_SEG_ATTR_L (1u << 9)	/* 64-bit code segment */
#define X86_SEG_ATTR_DB (1u << 10)
#define X86_SEG_ATTR_G (1u << 11)
#define X86_SEG_ATTR_P (1u << 7)
#define X86_SEG_ATTR_DPL(a) (((a) >> 5) & 3)

/* Control-register bits used by paging and mode decisions. */
#define X86_CR0_PE (1ull << 0)
#define X86_CR0_WP (1ull << 16)
#define X86_CR0_PG (1ull << 31)
#define X86_CR4_PSE (1ull << 4)
#define X86_CR4_PAE (1ull << 5)
#define X86_CR4_LA57 (1ull << 12)
#define X86_CR4_PCIDE (1ull << 17)
#define X86_EFER_LME (1ull << 8)
#define X86_EFER_LMA (1ull << 10)
#define X86_EFER_NXE (1ull << 11)
#define X86_RFLAGS_TF (1ull << 8)
#define X86_RFLAGS_IF (1ull << 9)
#define X86_RFLAGS_DF (1ull << 10)
#define X86_RFLAGS_RF (1ull << 16)

/* Full 16-bit x87 tag word from the FXSAVE abridged tag and registers. */
uint16_t x86_fxsave_full_tag(const uint8_t fxsave[512]);
/* Abridged (FXSAVE) tag byte from a full tag word. */
uint8_t x86_fxsave_abridged_tag(uint16_t full);

/* Current privilege level: SS.DPL when the cache is known, else CS.sel&3. */
unsigned x86_cpl(const struct x86_regs *r);
/* True when the vCPU runs 64-bit code (EFER.LMA and CS.L). */
bool x86_in_long_mode(const struct x86_regs *r);

#endif
