// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * QEMU dump-guest-memory ELF files (x86_64 as ELF64, i386 as ELF32):
 * guest-physical memory in PT_LOAD segments (address in p_paddr), one
 * NT_PRSTATUS note (owner "CORE") and one QEMUCPUState note (owner "QEMU")
 * per vCPU, in vCPU order. Layouts follow QEMU's target/i386/arch_dump.c
 * and the Linux elf_prstatus of each architecture.
 */
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stub/base/num.h"
#include "stub/base/strbuf.h"
#include "stub/guest/dump.h"

/* Offsets in QEMU's QEMUCPUState (version 1). */
#define QS_VERSION 0
#define QS_SIZE 4
#define QS_GPR 8		/* rax rbx rcx rdx rsi rdi rsp rbp r8..r15 */
#define QS_RIP 136
#define QS_RFLAGS 144
#define QS_SEG 152		/* cs ds es fs gs ss ldt tr gdt idt, 24 each */
#define QS_CR 392		/* cr0..cr4 */
#define QS_KGSBASE 432
#define QS_MIN_SIZE 432
#define QS_SEG_SIZE 24

/* elf_prstatus layouts. */
#define PR64_SIZE 336
#define PR64_REG 112
#define PR32_SIZE 144
#define PR32_REG 72

struct phdr {
	uint32_t type;
	uint64_t offset, paddr, filesz;
};

struct elf_view {
	const uint8_t *data;
	size_t size;
	int is64;
	unsigned machine;
	uint64_t phoff, shoff;
	unsigned phentsize, shentsize;
	uint64_t phnum;
};

static int read_header(struct elf_view *e, const char *name, char **msg)
{
	const uint8_t *d = e->data;
	size_t ehsize;

	if (e->size < EI_NIDENT) {
		*msg = xstrfmt("%s: truncated: the file (%zu bytes) is shorter than its ELF header",
			    name, e->size);
		return -EINVAL;
	}
	if (d[EI_CLASS] != ELFCLASS64 && d[EI_CLASS] != ELFCLASS32) {
		*msg = xstrfmt("%s: unsupported ELF class %u", name, d[EI_CLASS]);
		return -EINVAL;
	}
	e->is64 = d[EI_CLASS] == ELFCLASS64;
	ehsize = e->is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);
	if (e->size < ehsize) {
		*msg = xstrfmt("%s: truncated: the file (%zu bytes) is shorter than its ELF header",
			    name, e->size);
		return -EINVAL;
	}
	if (d[EI_DATA] != ELFDATA2LSB) {
		*msg = xstrfmt("%s: big-endian ELF file: not an x86 guest dump", name);
		return -EINVAL;
	}
	if (e->is64) {
		const uint8_t *h = d;

		e->machine = (unsigned)get_le(h + offsetof(Elf64_Ehdr, e_machine), 2);
		if (get_le(h + offsetof(Elf64_Ehdr, e_type), 2) != ET_CORE)
			goto not_core;
		e->phoff = get_le(h + offsetof(Elf64_Ehdr, e_phoff), 8);
		e->shoff = get_le(h + offsetof(Elf64_Ehdr, e_shoff), 8);
		e->phentsize = (unsigned)get_le(h + offsetof(Elf64_Ehdr, e_phentsize), 2);
		e->shentsize = (unsigned)get_le(h + offsetof(Elf64_Ehdr, e_shentsize), 2);
		e->phnum = get_le(h + offsetof(Elf64_Ehdr, e_phnum), 2);
	} else {
		const uint8_t *h = d;

		e->machine = (unsigned)get_le(h + offsetof(Elf32_Ehdr, e_machine), 2);
		if (get_le(h + offsetof(Elf32_Ehdr, e_type), 2) != ET_CORE)
			goto not_core;
		e->phoff = get_le(h + offsetof(Elf32_Ehdr, e_phoff), 4);
		e->shoff = get_le(h + offsetof(Elf32_Ehdr, e_shoff), 4);
		e->phentsize = (unsigned)get_le(h + offsetof(Elf32_Ehdr, e_phentsize), 2);
		e->shentsize = (unsigned)get_le(h + offsetof(Elf32_Ehdr, e_shentsize), 2);
		e->phnum = get_le(h + offsetof(Elf32_Ehdr, e_phnum), 2);
	}
	if (e->machine != EM_X86_64 && e->machine != EM_386) {
		*msg = xstrfmt("%s: foreign architecture: ELF machine %u, expected x86_64 (%u) or i386 (%u)",
			    name, e->machine, EM_X86_64, EM_386);
		return -EINVAL;
	}
	if (e->phentsize != (e->is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr))) {
		*msg = xstrfmt("%s: corrupt ELF header: program header size %u", name,
			    e->phentsize);
		return -EINVAL;
	}
	if (e->phnum == PN_XNUM) {
		/* the real count is in section header 0's sh_info */
		size_t shsz = e->is64 ? sizeof(Elf64_Shdr) : sizeof(Elf32_Shdr);

		if (e->shoff > e->size || e->size - e->shoff < shsz) {
			*msg = xstrfmt("%s: truncated: the extended program header count lies beyond the file's end",
				    name);
			return -EINVAL;
		}
		e->phnum = e->is64 ?
			get_le(d + e->shoff + offsetof(Elf64_Shdr, sh_info), 4) :
			get_le(d + e->shoff + offsetof(Elf32_Shdr, sh_info), 4);
	}
	if (e->phoff > e->size || e->phnum > (e->size - e->phoff) / e->phentsize) {
		*msg = xstrfmt("%s: truncated: %llu program headers at offset 0x%llx do not fit in the file's %zu bytes",
			    name, (unsigned long long)e->phnum,
			    (unsigned long long)e->phoff, e->size);
		return -EINVAL;
	}
	return 0;
not_core:
	*msg = xstrfmt("%s: an ELF file but not a core dump (e_type is not ET_CORE)", name);
	return -EINVAL;
}

static void get_phdr(const struct elf_view *e, uint64_t i, struct phdr *p)
{
	const uint8_t *h = e->data + e->phoff + i * e->phentsize;

	if (e->is64) {
		p->type = (uint32_t)get_le(h + offsetof(Elf64_Phdr, p_type), 4);
		p->offset = get_le(h + offsetof(Elf64_Phdr, p_offset), 8);
		p->paddr = get_le(h + offsetof(Elf64_Phdr, p_paddr), 8);
		p->filesz = get_le(h + offsetof(Elf64_Phdr, p_filesz), 8);
	} else {
		p->type = (uint32_t)get_le(h + offsetof(Elf32_Phdr, p_type), 4);
		p->offset = get_le(h + offsetof(Elf32_Phdr, p_offset), 4);
		p->paddr = get_le(h + offsetof(Elf32_Phdr, p_paddr), 4);
		p->filesz = get_le(h + offsetof(Elf32_Phdr, p_filesz), 4);
	}
}

/* QEMU's cached descriptor flags (descriptor high dword layout) to the
 * VMX access-rights layout used by struct x86_segment. */
static uint16_t qemu_flags_to_attr(uint32_t flags)
{
	return (uint16_t)(((flags >> 8) & 0xff) | (((flags >> 20) & 0xf) << 8));
}

static void load_qemu_seg(struct x86_segment *s, const uint8_t *p)
{
	s->sel = (uint16_t)get_le(p, 4);
	s->limit = (uint32_t)get_le(p + 4, 4);
	s->attr = qemu_flags_to_attr((uint32_t)get_le(p + 8, 4));
	s->base = get_le(p + 16, 8);
}

static void apply_qemu_note(struct x86_regs *r, const uint8_t *d, size_t n)
{
	/* QEMUCPUState GPR order: rax rbx rcx rdx rsi rdi rsp rbp r8..r15 */
	static const enum x86_gpr order[16] = {
		X86_RAX, X86_RBX, X86_RCX, X86_RDX, X86_RSI, X86_RDI, X86_RSP,
		X86_RBP, X86_R8, X86_R9, X86_R10, X86_R11, X86_R12, X86_R13,
		X86_R14, X86_R15,
	};
	/* segment order in the note: cs ds es fs gs ss */
	static const enum x86_seg segs[6] = { X86_CS, X86_DS, X86_ES, X86_FS,
					      X86_GS, X86_SS };
	unsigned i;

	for (i = 0; i < 16; i++)
		r->gpr[order[i]] = get_le(d + QS_GPR + 8 * i, 8);
	r->rip = get_le(d + QS_RIP, 8);
	r->rflags = get_le(d + QS_RFLAGS, 8);
	x86_set_valid_range(r, XF_GPR0, XF_RFLAGS);
	for (i = 0; i < 6; i++) {
		load_qemu_seg(&r->seg[segs[i]], d + QS_SEG + QS_SEG_SIZE * i);
		x86_set_valid(r, XF_SEL0 + segs[i]);
		x86_set_valid(r, XF_SEGCACHE0 + segs[i]);
	}
	load_qemu_seg(&r->seg[X86_LDTR], d + QS_SEG + QS_SEG_SIZE * 6);
	load_qemu_seg(&r->seg[X86_TR], d + QS_SEG + QS_SEG_SIZE * 7);
	x86_set_valid_range(r, XF_SEL0 + X86_LDTR, XF_SEL0 + X86_TR);
	x86_set_valid_range(r, XF_SEGCACHE0 + X86_LDTR, XF_SEGCACHE0 + X86_TR);
	r->gdtr.base = get_le(d + QS_SEG + QS_SEG_SIZE * 8 + 16, 8);
	r->gdtr.limit = (uint32_t)get_le(d + QS_SEG + QS_SEG_SIZE * 8 + 4, 4);
	r->idtr.base = get_le(d + QS_SEG + QS_SEG_SIZE * 9 + 16, 8);
	r->idtr.limit = (uint32_t)get_le(d + QS_SEG + QS_SEG_SIZE * 9 + 4, 4);
	x86_set_valid(r, XF_GDTR);
	x86_set_valid(r, XF_IDTR);
	r->cr0 = get_le(d + QS_CR, 8);
	r->cr2 = get_le(d + QS_CR + 16, 8);
	r->cr3 = get_le(d + QS_CR + 24, 8);
	r->cr4 = get_le(d + QS_CR + 32, 8);
	x86_set_valid(r, XF_CR0);
	x86_set_valid(r, XF_CR2);
	x86_set_valid(r, XF_CR3);
	x86_set_valid(r, XF_CR4);
	if (n >= QS_KGSBASE + 8) {
		r->k_gs_base = get_le(d + QS_KGSBASE, 8);
		x86_set_valid(r, XF_KGSBASE);
	}
}

/*
 * The general registers of an NT_PRSTATUS note: n words of width bytes
 * at g, in the kernel's order[] (an x86 GPR index; -2 rip, -3 rflags,
 * -4 fs base, -5 gs base, -(10 + seg) a selector; -1 orig_ax, unused).
 */
static void apply_prstatus_words(struct x86_regs *r, const uint8_t *g,
				 const int *order, unsigned n, unsigned width)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		uint64_t v = get_le(g + width * i, width);
		int o = order[i];

		if (o >= 0) {
			r->gpr[o] = v;
			x86_set_valid(r, XF_GPR0 + o);
		} else if (o == -2) {
			r->rip = v;
			x86_set_valid(r, XF_RIP);
		} else if (o == -3) {
			r->rflags = v;
			x86_set_valid(r, XF_RFLAGS);
		} else if (o == -4) {
			r->seg[X86_FS].base = v;
		} else if (o == -5) {
			r->seg[X86_GS].base = v;
		} else if (o <= -10) {
			r->seg[-o - 10].sel = (uint16_t)v;
			x86_set_valid(r, XF_SEL0 + (-o - 10));
		}
	}
}

static void apply_prstatus64(struct x86_regs *r, const uint8_t *d)
{
	/* user_regs_struct: r15 r14 r13 r12 rbp rbx r11 r10 r9 r8 rax rcx
	 * rdx rsi rdi orig_rax rip cs eflags rsp ss fs_base gs_base ds es
	 * fs gs */
	static const int order[27] = {
		X86_R15, X86_R14, X86_R13, X86_R12, X86_RBP, X86_RBX, X86_R11,
		X86_R10, X86_R9, X86_R8, X86_RAX, X86_RCX, X86_RDX, X86_RSI,
		X86_RDI, -1, -2, -(10 + X86_CS), -3, X86_RSP, -(10 + X86_SS),
		-4, -5, -(10 + X86_DS), -(10 + X86_ES), -(10 + X86_FS),
		-(10 + X86_GS),
	};

	apply_prstatus_words(r, d + PR64_REG, order, 27, 8);
}

static void apply_prstatus32(struct x86_regs *r, const uint8_t *d)
{
	/* ebx ecx edx esi edi ebp eax ds es fs gs orig_eax eip cs eflags
	 * esp ss */
	static const int order[17] = {
		X86_RBX, X86_RCX, X86_RDX, X86_RSI, X86_RDI, X86_RBP, X86_RAX,
		-(10 + X86_DS), -(10 + X86_ES), -(10 + X86_FS), -(10 + X86_GS),
		-1, -2, -(10 + X86_CS), -3, X86_RSP, -(10 + X86_SS),
	};

	apply_prstatus_words(r, d + PR32_REG, order, 17, 4);
}

#define MAX_VCPUS 4096

/* Room for register set n in *v (capacity *cap), zeroed: the arrays grow
 * with the notes found rather than being sized for MAX_VCPUS up front. */
static struct x86_regs *regs_slot(struct x86_regs **v, unsigned n,
				  unsigned *cap)
{
	if (n >= *cap) {
		unsigned c = *cap ? *cap * 2 : 4;

		*v = xrealloc(*v, st_mult(c, sizeof(**v)));
		memset(*v + *cap, 0, (c - *cap) * sizeof(**v));
		*cap = c;
	}
	return &(*v)[n];
}

int dump_parse_qemu_elf(const uint8_t *data, size_t size, const char *name,
			struct dump_image *out, char **msg)
{
	struct elf_view e = { .data = data, .size = size };
	unsigned nprs = 0, nqemu = 0, nloads = 0, cap_prs = 0, cap_qs = 0;
	struct x86_regs *prs = NULL, *qs = NULL;
	uint64_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = read_header(&e, name, msg);
	if (rc)
		return rc;
	out->bits = e.machine == EM_X86_64 ? 64 : 32;
	snprintf(out->format, sizeof(out->format), "QEMU ELF dump (%s)",
		 out->bits == 64 ? "x86_64" : "i386");

	for (i = 0; i < e.phnum; i++) {
		struct phdr p;

		get_phdr(&e, i, &p);
		if (p.type == PT_LOAD && p.filesz)
			nloads++;
	}
	if (!nloads) {
		*msg = xstrfmt("%s: no memory: the ELF file has no PT_LOAD segment with data", name);
		return -EINVAL;
	}
	out->ranges = xcalloc(nloads, sizeof(*out->ranges));

	for (i = 0; i < e.phnum; i++) {
		struct phdr p;

		get_phdr(&e, i, &p);
		if (p.type == PT_LOAD && p.filesz) {
			struct dump_range *r = &out->ranges[out->nranges++];

			r->paddr = p.paddr;
			r->size = p.filesz;
			r->offset = p.offset;
			if (p.paddr & 0xfff || p.filesz & 0xfff) {
				*msg = xstrfmt("%s: unsupported: segment %llu (guest-physical 0x%llx, 0x%llx bytes) is not page-aligned",
					    name, (unsigned long long)i,
					    (unsigned long long)p.paddr,
					    (unsigned long long)p.filesz);
				rc = -EINVAL;
				goto fail;
			}
		} else if (p.type == PT_NOTE) {
			uint64_t off = 0;

			if (p.offset > size || p.filesz > size - p.offset) {
				*msg = xstrfmt("%s: truncated: the notes segment at offset 0x%llx (0x%llx bytes) lies beyond the file's end (%zu bytes)",
					    name, (unsigned long long)p.offset,
					    (unsigned long long)p.filesz, size);
				rc = -EINVAL;
				goto fail;
			}
			while (p.filesz - off >= 12) {
				const uint8_t *n = data + p.offset + off;
				uint64_t namesz = get_le(n, 4), descsz = get_le(n + 4, 4);
				uint32_t type = (uint32_t)get_le(n + 8, 4);
				uint64_t nsz = (namesz + 3) & ~3ull;
				uint64_t dsz = (descsz + 3) & ~3ull;
				const uint8_t *nm = n + 12, *desc = nm + nsz;

				if (nsz > p.filesz - off - 12 ||
				    dsz > p.filesz - off - 12 - nsz ||
				    descsz > dsz) {
					*msg = xstrfmt("%s: corrupt: an ELF note at offset 0x%llx runs past its segment",
						    name, (unsigned long long)(p.offset + off));
					rc = -EINVAL;
					goto fail;
				}
				if (namesz == 5 && !memcmp(nm, "CORE", 5) &&
				    type == NT_PRSTATUS) {
					size_t want = out->bits == 64 ? PR64_SIZE : PR32_SIZE;

					if (descsz < want) {
						*msg = xstrfmt("%s: corrupt: NT_PRSTATUS note of %llu bytes, expected %zu",
							    name, (unsigned long long)descsz, want);
						rc = -EINVAL;
						goto fail;
					}
					if (nprs >= MAX_VCPUS) {
						*msg = xstrfmt("%s: corrupt: more than %u vCPU notes", name, MAX_VCPUS);
						rc = -EINVAL;
						goto fail;
					}
					if (out->bits == 64)
						apply_prstatus64(regs_slot(&prs, nprs, &cap_prs), desc);
					else
						apply_prstatus32(regs_slot(&prs, nprs, &cap_prs), desc);
					nprs++;
				} else if (namesz == 5 && !memcmp(nm, "QEMU", 5)) {
					uint32_t ver = descsz >= 8 ? (uint32_t)get_le(desc, 4) : 0;
					uint32_t sz = descsz >= 8 ? (uint32_t)get_le(desc + 4, 4) : 0;

					if (ver != 1 || sz < QS_MIN_SIZE || sz > descsz) {
						*msg = xstrfmt("%s: unsupported QEMU CPU state note (version %u, %u bytes)",
							    name, ver, sz);
						rc = -EINVAL;
						goto fail;
					}
					if (nqemu >= MAX_VCPUS) {
						*msg = xstrfmt("%s: corrupt: more than %u vCPU notes", name, MAX_VCPUS);
						rc = -EINVAL;
						goto fail;
					}
					apply_qemu_note(regs_slot(&qs, nqemu, &cap_qs), desc, sz);
					nqemu++;
				}
				off += 12 + nsz + dsz;
			}
		}
	}
	rc = dump_check_ranges(out, size, name, msg);
	if (rc)
		goto fail;

	out->nr_vcpus = nprs > nqemu ? nprs : nqemu;
	if (!out->nr_vcpus) {
		*msg = xstrfmt("%s: no vCPU state: the dump has neither NT_PRSTATUS nor QEMU notes", name);
		rc = -EINVAL;
		goto fail;
	}
	if (nprs && nqemu && nprs != nqemu) {
		*msg = xstrfmt("%s: corrupt: %u NT_PRSTATUS notes but %u QEMU CPU notes",
			    name, nprs, nqemu);
		rc = -EINVAL;
		goto fail;
	}
	out->vcpus = xcalloc(out->nr_vcpus, sizeof(*out->vcpus));
	for (i = 0; i < out->nr_vcpus; i++) {
		struct x86_regs *r = &out->vcpus[i];

		/* the QEMU note holds everything NT_PRSTATUS has, and more */
		*r = i < nqemu ? qs[i] : prs[i];
	}
	dump_derive_registers(out, data);
	free(prs);
	free(qs);
	return 0;
fail:
	free(prs);
	free(qs);
	dump_image_free(out);
	return rc;
}
