// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The loader of QEMU dump-guest-memory ELF files: guest RAM from the
 * PT_LOAD segments (guest-physical address in p_paddr), vCPU registers
 * from the "CORE" NT_PRSTATUS and "QEMU" QEMUCPUState notes that QEMU's
 * target/i386/arch_dump.c writes, converted to Xen's struct hvm_hw_cpu.
 * Every count, offset and size comes from the file and is checked first.
 */
#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "stub/base/log.h"
#include "stub/base/num.h"
#include "tests/xensim/simd.h"

/* QEMUCPUState version 1 (arch_dump.c): QEMUCPUSegment holds a segment
 * register's selector, limit, base and QEMU's cached descriptor flags. */
struct qemu_seg {
	uint32_t selector;
	uint32_t limit;
	uint32_t flags;
	uint32_t pad;
	uint64_t base;
};

struct qemu_cpu_state {
	uint32_t version;
	uint32_t size;
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rip, rflags;
	struct qemu_seg cs, ds, es, fs, gs, ss;
	struct qemu_seg ldt, tr, gdt, idt;
	uint64_t cr[5];
	/* Added later at the end, same version: present when size says so. */
	uint64_t kernel_gs_base;
};

#define QEMU_CPU_STATE_V1_SIZE offsetof(struct qemu_cpu_state, kernel_gs_base)
_Static_assert(QEMU_CPU_STATE_V1_SIZE == 432, "QEMUCPUState v1 layout");

/* The elf_prstatus QEMU writes: x86_64_elf_prstatus for EM_X86_64,
 * x86_elf_prstatus for EM_386 (whatever the ELF class). */
#define PRSTATUS_X86_64_SIZE 336
#define PRSTATUS_I386_SIZE 144

/* The largest page-table scan for EFER.NXE, in tables. */
#define NX_SCAN_TABLES 4096

struct elf {
	const uint8_t *data;
	size_t size;
	const char *name;
	bool is64;
	unsigned machine;
	uint64_t phoff;
	uint64_t phnum;
};

/* One program header, whatever the class. */
struct phdr {
	uint32_t type;
	uint64_t offset, paddr, filesz, memsz;
};

static int bad(char **msg, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int bad(char **msg, const char *name, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	strbuf_addf(&sb, "%s: ", name);
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	*msg = strbuf_detach(&sb, NULL);
	return -EINVAL;
}

/* True when [off, off + len) lies inside the file. */
static bool in_file(const struct elf *e, uint64_t off, uint64_t len)
{
	return off <= e->size && len <= e->size - off;
}

static int read_ehdr(struct elf *e, char **msg)
{
	const uint8_t *d = e->data;
	unsigned phentsize, type;
	uint64_t shoff;
	uint16_t phnum;

	if (e->size < EI_NIDENT || memcmp(d, ELFMAG, SELFMAG))
		return bad(msg, e->name, "not an ELF file (expected a QEMU dump-guest-memory file)");
	if (d[EI_CLASS] != ELFCLASS64 && d[EI_CLASS] != ELFCLASS32)
		return bad(msg, e->name, "unknown ELF class %u", d[EI_CLASS]);
	if (d[EI_DATA] != ELFDATA2LSB)
		return bad(msg, e->name, "a big-endian ELF file cannot hold an x86 guest");
	e->is64 = d[EI_CLASS] == ELFCLASS64;
	if (e->is64) {
		Elf64_Ehdr h;

		if (e->size < sizeof(h))
			goto short_file;
		memcpy(&h, d, sizeof(h));
		type = h.e_type;
		e->machine = h.e_machine;
		e->phoff = h.e_phoff;
		phentsize = h.e_phentsize;
		phnum = h.e_phnum;
		shoff = h.e_shoff;
	} else {
		Elf32_Ehdr h;

		if (e->size < sizeof(h))
			goto short_file;
		memcpy(&h, d, sizeof(h));
		type = h.e_type;
		e->machine = h.e_machine;
		e->phoff = h.e_phoff;
		phentsize = h.e_phentsize;
		phnum = h.e_phnum;
		shoff = h.e_shoff;
	}
	if (type != ET_CORE)
		return bad(msg, e->name, "an ELF file of type %u, not a core dump (ET_CORE)", type);
	if (e->machine != EM_X86_64 && e->machine != EM_386)
		return bad(msg, e->name, "ELF machine %u: xensim loads x86_64 (%u) and i386 (%u) guests",
			   e->machine, EM_X86_64, EM_386);
	if (phentsize != (e->is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr)))
		return bad(msg, e->name, "corrupt ELF header: program headers of %u bytes",
			   phentsize);
	e->phnum = phnum;
	if (phnum == PN_XNUM) {
		/* More than 65534 headers: the count is section 0's sh_info. */
		uint32_t info;

		if (e->is64) {
			Elf64_Shdr sh;

			if (!in_file(e, shoff, sizeof(sh)))
				goto bad_xnum;
			memcpy(&sh, d + shoff, sizeof(sh));
			info = sh.sh_info;
		} else {
			Elf32_Shdr sh;

			if (!in_file(e, shoff, sizeof(sh)))
				goto bad_xnum;
			memcpy(&sh, d + shoff, sizeof(sh));
			info = sh.sh_info;
		}
		e->phnum = info;
	}
	if (!e->phnum)
		return bad(msg, e->name, "no program headers: no memory and no vCPU state");
	if (e->phoff > e->size || e->phnum > (e->size - e->phoff) / phentsize)
		return bad(msg, e->name, "truncated: %" PRIu64 " program headers at offset 0x%" PRIx64
			   " do not fit in the file's %zu bytes", e->phnum, e->phoff, e->size);
	return 0;
short_file:
	return bad(msg, e->name, "truncated: the file (%zu bytes) is shorter than its ELF header",
		   e->size);
bad_xnum:
	return bad(msg, e->name, "truncated: the section header holding the program header count lies beyond the file's end");
}

static void get_phdr(const struct elf *e, uint64_t i, struct phdr *p)
{
	if (e->is64) {
		Elf64_Phdr h;

		memcpy(&h, e->data + e->phoff + i * sizeof(h), sizeof(h));
		*p = (struct phdr){ h.p_type, h.p_offset, h.p_paddr, h.p_filesz,
				    h.p_memsz };
	} else {
		Elf32_Phdr h;

		memcpy(&h, e->data + e->phoff + i * sizeof(h), sizeof(h));
		*p = (struct phdr){ h.p_type, h.p_offset, h.p_paddr, h.p_filesz,
				    h.p_memsz };
	}
}

static int seg_cmp(const void *a, const void *b)
{
	const struct sim_dump_seg *x = a, *y = b;

	return x->gpa < y->gpa ? -1 : x->gpa > y->gpa;
}

/* The PT_LOAD segments with data: page-aligned, inside the file, not
 * wrapping, not overlapping. */
static int load_segments(const struct elf *e, struct sim_dump *d, char **msg)
{
	uint64_t i, n = 0;

	for (i = 0; i < e->phnum; i++) {
		struct phdr p;

		get_phdr(e, i, &p);
		if (p.type == PT_LOAD && p.filesz)
			n++;
	}
	if (!n)
		return bad(msg, e->name, "no guest memory: no PT_LOAD segment holds data");
	d->seg = xcalloc(n, sizeof(*d->seg));
	for (i = 0; i < e->phnum; i++) {
		struct phdr p;

		get_phdr(e, i, &p);
		if (p.type != PT_LOAD || !p.filesz)
			continue;
		if (p.filesz > p.memsz)
			return bad(msg, e->name, "corrupt: segment %" PRIu64 " has 0x%" PRIx64
				   " bytes in the file but 0x%" PRIx64 " in memory",
				   i, p.filesz, p.memsz);
		if ((p.paddr | p.filesz) & (SIM_PAGE_SIZE - 1))
			return bad(msg, e->name, "segment %" PRIu64 " (guest-physical 0x%" PRIx64
				   ", 0x%" PRIx64 " bytes) is not page-aligned",
				   i, p.paddr, p.filesz);
		if (!in_file(e, p.offset, p.filesz))
			return bad(msg, e->name, "truncated: the memory at guest-physical 0x%" PRIx64
				   " lies at file offset 0x%" PRIx64 "..0x%" PRIx64
				   ", beyond the file's %zu bytes",
				   p.paddr, p.offset, p.offset + p.filesz, e->size);
		if (p.paddr + p.filesz < p.paddr)
			return bad(msg, e->name, "corrupt: segment %" PRIu64 " at guest-physical 0x%" PRIx64
				   " wraps past the top of the address space", i, p.paddr);
		d->seg[d->nseg++] = (struct sim_dump_seg){ p.paddr, p.filesz,
							   p.offset };
	}
	qsort(d->seg, d->nseg, sizeof(*d->seg), seg_cmp);
	for (i = 1; i < d->nseg; i++) {
		const struct sim_dump_seg *a = &d->seg[i - 1], *b = &d->seg[i];

		if (a->gpa + a->size > b->gpa)
			return bad(msg, e->name, "corrupt: the segments at guest-physical 0x%" PRIx64
				   "..0x%" PRIx64 " and 0x%" PRIx64 "..0x%" PRIx64 " overlap",
				   a->gpa, a->gpa + a->size, b->gpa, b->gpa + b->size);
	}
	d->gpa_end = d->seg[d->nseg - 1].gpa + d->seg[d->nseg - 1].size;
	return 0;
}

/* QEMU's cached descriptor flags are the descriptor's second dword
 * (type 11:8, S 12, DPL 14:13, P 15, AVL 20, L 21, D/B 22, G 23); Xen's
 * record packs them as type, S, DPL, P in bits 7:0 and AVL, L, D/B, G in
 * bits 11:8 (struct segment_register's attr). */
static uint32_t qemu_flags_to_arbytes(uint32_t flags)
{
	return ((flags >> 8) & 0xff) | (((flags >> 20) & 0xf) << 8);
}

#define SEG(r, s, q)                                              \
	do {                                                      \
		(r)->s##_sel = (uint16_t)(q).selector;            \
		(r)->s##_limit = (q).limit;                       \
		(r)->s##_base = (q).base;                         \
		(r)->s##_arbytes = qemu_flags_to_arbytes((q).flags); \
	} while (0)

/* A QEMUCPUState (size bytes of it valid) as Xen's CPU record. What the
 * note does not hold is as Xen's vCPU reset leaves it (DR6, DR7), zero,
 * or derived later (EFER). */
static void cpu_record(const struct qemu_cpu_state *q, size_t size,
		       struct hvm_hw_cpu *r)
{
	memset(r, 0, sizeof(*r));
	r->rax = q->rax;
	r->rbx = q->rbx;
	r->rcx = q->rcx;
	r->rdx = q->rdx;
	r->rsi = q->rsi;
	r->rdi = q->rdi;
	r->rsp = q->rsp;
	r->rbp = q->rbp;
	r->r8 = q->r8;
	r->r9 = q->r9;
	r->r10 = q->r10;
	r->r11 = q->r11;
	r->r12 = q->r12;
	r->r13 = q->r13;
	r->r14 = q->r14;
	r->r15 = q->r15;
	r->rip = q->rip;
	r->rflags = q->rflags | 2;	/* bit 1 always reads as 1 */
	SEG(r, cs, q->cs);
	SEG(r, ds, q->ds);
	SEG(r, es, q->es);
	SEG(r, fs, q->fs);
	SEG(r, gs, q->gs);
	SEG(r, ss, q->ss);
	SEG(r, ldtr, q->ldt);
	SEG(r, tr, q->tr);
	r->gdtr_base = q->gdt.base;
	r->gdtr_limit = q->gdt.limit;
	r->idtr_base = q->idt.base;
	r->idtr_limit = q->idt.limit;
	r->cr0 = q->cr[0];
	r->cr2 = q->cr[2];
	r->cr3 = q->cr[3];
	r->cr4 = q->cr[4];
	if (size >= offsetof(struct qemu_cpu_state, kernel_gs_base) + 8)
		r->shadow_gs = q->kernel_gs_base;
	r->dr6 = 0xffff0ff0;
	r->dr7 = 0x400;
}

struct notes {
	unsigned nprstatus;
	unsigned nqemu;
};

/* One note: either counted (d->vcpu NULL) or converted. */
static int take_note(const struct elf *e, struct sim_dump *d,
		     struct notes *n, const uint8_t *name, uint32_t namesz,
		     uint32_t type, const uint8_t *desc, uint32_t descsz,
		     uint64_t at, char **msg)
{
	if (namesz == 5 && !memcmp(name, "CORE", 5) && type == NT_PRSTATUS) {
		uint32_t want = e->machine == EM_X86_64 ? PRSTATUS_X86_64_SIZE
							: PRSTATUS_I386_SIZE;

		if (descsz < want)
			return bad(msg, e->name, "corrupt: the NT_PRSTATUS note at offset 0x%" PRIx64
				   " has %u bytes, expected %u", at, descsz, want);
		n->nprstatus++;
	} else if (namesz == 5 && !memcmp(name, "QEMU", 5)) {
		struct qemu_cpu_state q;
		uint32_t version = 0, size = 0;

		if (descsz >= 8) {
			memcpy(&version, desc, 4);
			memcpy(&size, desc + 4, 4);
		}
		if (version != 1)
			return bad(msg, e->name, "QEMU CPU state note version %u at offset 0x%" PRIx64
				   ": xensim reads version 1", version, at);
		if (size < QEMU_CPU_STATE_V1_SIZE || size > descsz)
			return bad(msg, e->name, "corrupt: the QEMU CPU state note at offset 0x%" PRIx64
				   " says it has %u bytes (note: %u, version 1 needs %zu)",
				   at, size, descsz, QEMU_CPU_STATE_V1_SIZE);
		if (d->vcpu && n->nqemu < d->nr_vcpus) {
			memset(&q, 0, sizeof(q));
			memcpy(&q, desc, size < sizeof(q) ? size : sizeof(q));
			cpu_record(&q, size, &d->vcpu[n->nqemu]);
		}
		n->nqemu++;
	}
	if (n->nprstatus > SIM_MAX_VCPUS || n->nqemu > SIM_MAX_VCPUS)
		return bad(msg, e->name, "more than %u vCPUs: xensim simulates 1..%u",
			   SIM_MAX_VCPUS, SIM_MAX_VCPUS);
	return 0;
}

/* Walks every note of every PT_NOTE segment (4-byte aligned name and
 * descriptor after a 12-byte header, in both ELF classes). */
static int scan_notes(const struct elf *e, struct sim_dump *d,
		      struct notes *n, char **msg)
{
	uint64_t i;

	memset(n, 0, sizeof(*n));
	for (i = 0; i < e->phnum; i++) {
		struct phdr p;
		uint64_t off = 0;

		get_phdr(e, i, &p);
		if (p.type != PT_NOTE)
			continue;
		if (!in_file(e, p.offset, p.filesz))
			return bad(msg, e->name, "truncated: the notes at offset 0x%" PRIx64
				   " (0x%" PRIx64 " bytes) run past the file's %zu bytes",
				   p.offset, p.filesz, e->size);
		while (p.filesz - off >= sizeof(Elf32_Nhdr)) {
			const uint8_t *at = e->data + p.offset + off;
			uint64_t left = p.filesz - off - sizeof(Elf32_Nhdr);
			uint64_t nsz, dsz;
			Elf32_Nhdr h;
			int rc;

			memcpy(&h, at, sizeof(h));
			nsz = ((uint64_t)h.n_namesz + 3) & ~3ull;
			dsz = ((uint64_t)h.n_descsz + 3) & ~3ull;
			if (nsz > left || dsz > left - nsz)
				return bad(msg, e->name, "corrupt: the ELF note at offset 0x%" PRIx64
					   " runs past its segment", p.offset + off);
			rc = take_note(e, d, n, at + sizeof(h), h.n_namesz,
				       h.n_type, at + sizeof(h) + nsz,
				       h.n_descsz, p.offset + off, msg);
			if (rc)
				return rc;
			off += sizeof(h) + nsz + dsz;
		}
	}
	return 0;
}

const uint8_t *sim_dump_phys(const struct sim_dump *d, const uint8_t *data,
			     uint64_t gpa, uint64_t len)
{
	size_t lo = 0, hi = d->nseg;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct sim_dump_seg *s = &d->seg[mid];

		if (gpa < s->gpa) {
			hi = mid;
		} else if (gpa - s->gpa >= s->size) {
			lo = mid + 1;
		} else {
			if (len > s->size - (gpa - s->gpa))
				return NULL;
			return data + s->offset + (gpa - s->gpa);
		}
	}
	return NULL;
}

struct nx_scan {
	const struct sim_dump *d;
	const uint8_t *data;
	uint64_t addr_mask;
	unsigned tables_left;
};

/* True when a present entry of the table at gpa, or of the tables below
 * it (level is the table's entries' level), has XD set. */
static bool nx_in_table(struct nx_scan *s, uint64_t gpa, unsigned level)
{
	const uint8_t *t;
	unsigned i;

	if (!s->tables_left)
		return false;
	s->tables_left--;
	t = sim_dump_phys(s->d, s->data, gpa, SIM_PAGE_SIZE);
	if (!t)
		return false;
	for (i = 0; i < 512; i++) {
		uint64_t e = get_le(t + 8 * i, 8);

		if (!(e & SIM_PTE_P))
			continue;
		if (e & SIM_PTE_XD)
			return true;
	}
	if (level == SIM_LVL_PTE)
		return false;
	for (i = 0; i < 512; i++) {
		uint64_t e = get_le(t + 8 * i, 8);

		if ((e & SIM_PTE_P) && !(e & SIM_PTE_PS) &&
		    nx_in_table(s, e & s->addr_mask, level - 1))
			return true;
	}
	return false;
}

/*
 * EFER is not in QEMU's notes; it follows from the guest's state. LMA and
 * LME: QEMU writes an x86_64 dump when vCPU 0 had EFER.LMA, and a vCPU
 * with paging and PAE on in such a guest is in long mode. SCE: every
 * 64-bit OS enables SYSCALL. NXE: an entry with XD set in the page tables
 * the vCPU uses (with NXE clear, that bit would make them fault).
 */
static uint64_t derive_efer(const struct sim_dump *d, const uint8_t *data,
			    const struct hvm_hw_cpu *r)
{
	struct sim_mmu m = { .cr0 = r->cr0, .cr3 = r->cr3, .cr4 = r->cr4,
			     .maxphyaddr = SIM_MAXPHYSADDR };
	struct nx_scan s = { d, data, 0, NX_SCAN_TABLES };
	bool nx = false;
	unsigned i;

	if (d->long_mode && (r->cr0 & SIM_CR0_PG) && (r->cr4 & SIM_CR4_PAE))
		m.efer = SIM_EFER_LME | SIM_EFER_LMA | SIM_EFER_SCE;
	s.addr_mask = ((1ull << SIM_MAXPHYSADDR) - 1) & ~0xfffull;
	switch (sim_paging_mode(&m)) {
	case SIM_PAGING_PAE:
		for (i = 0; i < 4 && !nx; i++) {
			const uint8_t *p = sim_dump_phys(
				d, data, (r->cr3 & 0xffffffe0ull) + 8 * i, 8);
			uint64_t e = p ? get_le(p, 8) : 0;

			if (e & SIM_PTE_P)
				nx = nx_in_table(&s, e & s.addr_mask,
						 SIM_LVL_PDE);
		}
		break;
	case SIM_PAGING_4:
		nx = nx_in_table(&s, r->cr3 & s.addr_mask, SIM_LVL_PML4E);
		break;
	case SIM_PAGING_5:
		nx = nx_in_table(&s, r->cr3 & s.addr_mask, SIM_LVL_PML5E);
		break;
	default:
		break;
	}
	return m.efer | (nx ? SIM_EFER_NXE : 0);
}

int sim_dump_load(const uint8_t *data, size_t size, const char *name,
		  struct sim_dump *out, char **msg)
{
	struct elf e = { .data = data, .size = size, .name = name };
	struct notes n;
	unsigned i;
	int rc;

	memset(out, 0, sizeof(*out));
	*msg = NULL;
	rc = read_ehdr(&e, msg);
	if (rc)
		return rc;
	out->long_mode = e.machine == EM_X86_64;
	rc = load_segments(&e, out, msg);
	if (rc)
		goto fail;
	/* Count the notes, then convert them. */
	rc = scan_notes(&e, out, &n, msg);
	if (rc)
		goto fail;
	if (!n.nqemu) {
		rc = bad(msg, name, n.nprstatus ?
			 "no QEMU CPU state notes: NT_PRSTATUS alone lacks the control and segment registers" :
			 "no vCPU state: the dump has no NT_PRSTATUS and no QEMU CPU state note");
		goto fail;
	}
	if (n.nprstatus && n.nprstatus != n.nqemu) {
		rc = bad(msg, name, "corrupt: %u NT_PRSTATUS notes but %u QEMU CPU state notes",
			 n.nprstatus, n.nqemu);
		goto fail;
	}
	out->nr_vcpus = n.nqemu;
	out->vcpu = xcalloc(out->nr_vcpus, sizeof(*out->vcpu));
	rc = scan_notes(&e, out, &n, msg);
	if (rc)
		goto fail;
	for (i = 0; i < out->nr_vcpus; i++)
		out->vcpu[i].msr_efer = derive_efer(out, data, &out->vcpu[i]);
	log_info(LC_MAIN, "%s: %s dump, %u vCPUs, %zu segments up to 0x%" PRIx64
		 "; EFER derived (vCPU 0: 0x%" PRIx64 ")", name,
		 out->long_mode ? "x86_64" : "i386", out->nr_vcpus, out->nseg,
		 out->gpa_end, out->vcpu[0].msr_efer);
	return 0;
fail:
	sim_dump_free(out);
	return rc;
}

void sim_dump_free(struct sim_dump *d)
{
	free(d->vcpu);
	free(d->seg);
	memset(d, 0, sizeof(*d));
}
