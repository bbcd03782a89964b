// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit tests of QEMU dump-guest-memory parsing (stub/guest/dump.c and
 * stub/guest/dump-qemu.c) on ELF files built here in memory: valid x86_64
 * (ELF64) and i386 (ELF32) dumps with two vCPUs, and hostile files that
 * must fail with -EINVAL and a message naming the file and the problem.
 * Every buffer handed to the parser is exactly as large as the file, so
 * that a read past its end is caught under AddressSanitizer.
 */
#include <elf.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/procfs.h>
#include <sys/user.h>
#include <unistd.h>
#include <setjmp.h>
#include <cmocka.h>

#include "stub/guest/dump.h"
#include "stub/base/log.h"
#include "stub/session/session.h"
#include "stub/guest/target.h"

#define NAME "guest.elf"

/* QEMU's QEMUCPUState (target/i386/arch_dump.c), version 1. */
struct qseg {
	uint32_t selector, limit, flags, pad;
	uint64_t base;
};

struct qcpu {
	uint32_t version, size;
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rip, rflags;
	struct qseg cs, ds, es, fs, gs, ss, ldt, tr, gdt, idt;
	uint64_t cr[5];
	uint64_t kernel_gs_base;
};

/* Linux's i386 elf_prstatus. */
struct prstatus32 {
	int32_t si_signo, si_code, si_errno;
	int16_t cursig;
	uint16_t pad;
	uint32_t sigpend, sighold;
	int32_t pid, ppid, pgrp, sid;
	int32_t times[8];
	/* ebx ecx edx esi edi ebp eax ds es fs gs orig_eax eip cs eflags
	 * esp ss */
	uint32_t regs[17];
	int32_t fpvalid;
};

_Static_assert(sizeof(struct qcpu) == 440, "QEMUCPUState layout");
_Static_assert(sizeof(struct prstatus32) == 144, "i386 prstatus layout");
_Static_assert(sizeof(struct elf_prstatus) == 336, "x86_64 prstatus layout");

/* Hardware numbers of the general registers in struct x86_regs. */
enum { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI };
/* Segment indexes in struct x86_regs. */
enum { ES, CS, SS, DS, FS, GS, LDTR, TR };

/* ---- building ELF files ---- */

struct note {
	const char *owner;
	uint32_t type;
	const void *desc;
	size_t size;
};

struct seg {
	uint64_t paddr;
	size_t size;
	const uint8_t *data;	/* NULL: a pattern */
};

struct spec {
	bool is64;
	unsigned machine;
	const struct note *notes;
	unsigned nnotes;
	const struct seg *segs;
	unsigned nsegs;
};

/* Where things landed in the built file. */
struct layout {
	size_t phoff, phentsize, notes_off, notes_size;
	size_t note_at[16];	/* each note's header */
	size_t seg_off[8];
	size_t size;
};

static void add_zero(struct strbuf *sb, size_t n)
{
	while (n--)
		strbuf_addch(sb, 0);
}

static void put_note(struct strbuf *sb, const struct note *n)
{
	uint32_t h[3] = { (uint32_t)strlen(n->owner) + 1, (uint32_t)n->size,
			  n->type };

	strbuf_add(sb, h, sizeof(h));
	strbuf_add(sb, n->owner, h[0]);
	add_zero(sb, (4 - h[0] % 4) % 4);
	strbuf_add(sb, n->desc, n->size);
	add_zero(sb, (4 - n->size % 4) % 4);
}

static uint8_t mem_pattern(uint64_t paddr)
{
	return (uint8_t)(paddr * 13 + (paddr >> 12));
}

static void build(struct strbuf *out, const struct spec *s, struct layout *lay)
{
	size_t ehsize = s->is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);
	size_t phsize = s->is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
	unsigned nph = 1 + s->nsegs, i;
	struct strbuf notes = STRBUF_INIT;
	size_t off;

	memset(lay, 0, sizeof(*lay));
	for (i = 0; i < s->nnotes; i++) {
		lay->note_at[i] = notes.len;
		put_note(&notes, &s->notes[i]);
	}
	lay->phoff = ehsize;
	lay->phentsize = phsize;
	lay->notes_off = ehsize + nph * phsize;
	lay->notes_size = notes.len;
	for (i = 0; i < s->nnotes; i++)
		lay->note_at[i] += lay->notes_off;
	off = lay->notes_off + notes.len;
	for (i = 0; i < s->nsegs; i++) {
		lay->seg_off[i] = off;
		off += s->segs[i].size;
	}
	lay->size = off;

	strbuf_reset(out);
	if (s->is64) {
		Elf64_Ehdr e;

		memset(&e, 0, sizeof(e));
		memcpy(e.e_ident, ELFMAG, SELFMAG);
		e.e_ident[EI_CLASS] = ELFCLASS64;
		e.e_ident[EI_DATA] = ELFDATA2LSB;
		e.e_ident[EI_VERSION] = EV_CURRENT;
		e.e_type = ET_CORE;
		e.e_machine = (uint16_t)s->machine;
		e.e_version = EV_CURRENT;
		e.e_phoff = lay->phoff;
		e.e_ehsize = (uint16_t)ehsize;
		e.e_phentsize = (uint16_t)phsize;
		e.e_phnum = (uint16_t)nph;
		strbuf_add(out, &e, sizeof(e));
	} else {
		Elf32_Ehdr e;

		memset(&e, 0, sizeof(e));
		memcpy(e.e_ident, ELFMAG, SELFMAG);
		e.e_ident[EI_CLASS] = ELFCLASS32;
		e.e_ident[EI_DATA] = ELFDATA2LSB;
		e.e_ident[EI_VERSION] = EV_CURRENT;
		e.e_type = ET_CORE;
		e.e_machine = (uint16_t)s->machine;
		e.e_version = EV_CURRENT;
		e.e_phoff = (uint32_t)lay->phoff;
		e.e_ehsize = (uint16_t)ehsize;
		e.e_phentsize = (uint16_t)phsize;
		e.e_phnum = (uint16_t)nph;
		strbuf_add(out, &e, sizeof(e));
	}
	for (i = 0; i < nph; i++) {
		uint32_t type = i ? PT_LOAD : PT_NOTE;
		uint64_t o = i ? lay->seg_off[i - 1] : lay->notes_off;
		uint64_t pa = i ? s->segs[i - 1].paddr : 0;
		uint64_t sz = i ? s->segs[i - 1].size : notes.len;

		if (s->is64) {
			Elf64_Phdr p = { .p_type = type, .p_offset = o, .p_vaddr = 0,
					 .p_paddr = pa, .p_filesz = sz, .p_memsz = sz };

			strbuf_add(out, &p, sizeof(p));
		} else {
			Elf32_Phdr p = { .p_type = type, .p_offset = (uint32_t)o,
					 .p_paddr = (uint32_t)pa,
					 .p_filesz = (uint32_t)sz,
					 .p_memsz = (uint32_t)sz };

			strbuf_add(out, &p, sizeof(p));
		}
	}
	strbuf_add(out, notes.buf, notes.len);
	for (i = 0; i < s->nsegs; i++) {
		size_t k;

		if (s->segs[i].data) {
			strbuf_add(out, s->segs[i].data, s->segs[i].size);
			continue;
		}
		for (k = 0; k < s->segs[i].size; k++)
			strbuf_addch(out, mem_pattern(s->segs[i].paddr + k));
	}
	assert_int_equal(out->len, lay->size);
	strbuf_release(&notes);
}

static void set_u64(struct strbuf *f, size_t off, uint64_t v)
{
	assert_true(off + 8 <= f->len);
	memcpy(f->buf + off, &v, 8);
}

static void set_u32(struct strbuf *f, size_t off, uint32_t v)
{
	assert_true(off + 4 <= f->len);
	memcpy(f->buf + off, &v, 4);
}

static void set_u16(struct strbuf *f, size_t off, uint16_t v)
{
	assert_true(off + 2 <= f->len);
	memcpy(f->buf + off, &v, 2);
}

/* Parses exactly size bytes of f (copied to a buffer of that size). */
static int parse_n(const struct strbuf *f, size_t size, struct dump_image *img,
		   char **msg)
{
	uint8_t *copy = xmalloc(size ? size : 1);
	int rc;

	memcpy(copy, f->buf, size);
	*msg = NULL;
	rc = dump_parse(copy, size, NAME, img, msg);
	free(copy);
	return rc;
}

/* Expects -EINVAL, a message "guest.elf: ..." containing what, and an
 * empty image. */
static void expect_reject_n(const struct strbuf *f, size_t size,
			    const char *what)
{
	struct dump_image img;
	char *msg = NULL;
	int rc = parse_n(f, size, &img, &msg);

	if (rc != -EINVAL)
		fail_msg("expected -EINVAL for '%s', got %d (%s)", what, rc,
			 msg ? msg : "no message");
	assert_non_null(msg);
	if (strncmp(msg, NAME ": ", strlen(NAME) + 2) || !strstr(msg, what))
		fail_msg("message '%s' does not name the file and '%s'", msg, what);
	assert_null(img.vcpus);
	assert_null(img.ranges);
	assert_int_equal(img.nranges, 0);
	free(msg);
}

static void expect_reject(const struct strbuf *f, const char *what)
{
	expect_reject_n(f, f->len, what);
}

/* ---- the guests ---- */

#define PTE_P 1ull
#define PTE_RW 2ull
#define PTE_PS 0x80ull
#define PTE_NX (1ull << 63)

static uint8_t low_mem[0x8000];

/* 4-level tables: vCPU 0 (CR3 0x1000) maps a 2 MiB page with NX, vCPU 1
 * (CR3 0x5000) one without. */
static void build_low_mem_64(void)
{
	uint64_t e[6][2] = {
		{ 0x1000, 0x2000 | PTE_P | PTE_RW },
		{ 0x2000, 0x3000 | PTE_P | PTE_RW },
		{ 0x3000, 0x200000 | PTE_PS | PTE_P | PTE_RW | PTE_NX },
		{ 0x5000, 0x6000 | PTE_P | PTE_RW },
		{ 0x6000, 0x7000 | PTE_P | PTE_RW },
		{ 0x7000, 0x200000 | PTE_PS | PTE_P | PTE_RW },
	};
	unsigned i;

	for (i = 0; i < sizeof(low_mem); i++)
		low_mem[i] = 0;
	for (i = 0; i < 6; i++)
		memcpy(low_mem + e[i][0], &e[i][1], 8);
}

static void qcpu_fill(struct qcpu *q, unsigned v)
{
	uint64_t b = 0x1000000000000000ull * (v + 1);

	memset(q, 0, sizeof(*q));
	q->version = 1;
	q->size = sizeof(*q);
	q->rax = b + 0x0a; q->rbx = b + 0x0b; q->rcx = b + 0x0c;
	q->rdx = b + 0x0d; q->rsi = b + 0x51; q->rdi = b + 0xd1;
	q->rsp = b + 0x5b; q->rbp = b + 0xbb;
	q->r8 = b + 0x108; q->r9 = b + 0x109; q->r10 = b + 0x110;
	q->r11 = b + 0x111; q->r12 = b + 0x112; q->r13 = b + 0x113;
	q->r14 = b + 0x114; q->r15 = b + 0x115;
	q->rip = 0xffffffff81000000ull + v;
	q->rflags = 0x246;
	q->cs = (struct qseg){ 0x10, 0xffffffff, 0x00af9b00, 0, 0 };
	q->ss = (struct qseg){ 0x18, 0xffffffff, 0x00cf9300, 0, 0 };
	q->ds = (struct qseg){ 0x2b, 0xffffffff, 0x00cff300, 0, 0 };
	q->es = (struct qseg){ 0x2b, 0xffffffff, 0x00cff300, 0, 0 };
	q->fs = (struct qseg){ 0, 0xffff, 0, 0, 0x7f0012345000ull + v };
	q->gs = (struct qseg){ 0, 0xffff, 0, 0, 0xffff88807fc00000ull + v };
	q->ldt = (struct qseg){ 0, 0xffff, 0x8200, 0, 0 };
	q->tr = (struct qseg){ 0x40, 0x4087, 0x8b00, 0, 0xfffffe0000003000ull };
	q->gdt = (struct qseg){ 0, 0x7f, 0, 0, 0xfffffe0000001000ull };
	q->idt = (struct qseg){ 0, 0xfff, 0, 0, 0xfffffe0000000000ull };
	q->cr[0] = 0x80050033;
	q->cr[2] = 0x7f00dead0000ull + v;
	q->cr[3] = v ? 0x5000 : 0x1000;
	q->cr[4] = 0x3506f0;
	q->kernel_gs_base = 0x7f00beef0000ull + v;
}

static void pr64_fill(struct elf_prstatus *p, const struct qcpu *q)
{
	struct user_regs_struct u;

	memset(&u, 0, sizeof(u));
	u.r15 = q->r15; u.r14 = q->r14; u.r13 = q->r13; u.r12 = q->r12;
	u.rbp = q->rbp; u.rbx = q->rbx; u.r11 = q->r11; u.r10 = q->r10;
	u.r9 = q->r9; u.r8 = q->r8; u.rax = q->rax; u.rcx = q->rcx;
	u.rdx = q->rdx; u.rsi = q->rsi; u.rdi = q->rdi;
	u.orig_rax = 0xffffffffffffffffull;
	u.rip = q->rip; u.cs = q->cs.selector; u.eflags = q->rflags;
	u.rsp = q->rsp; u.ss = q->ss.selector;
	u.fs_base = q->fs.base; u.gs_base = q->gs.base;
	u.ds = q->ds.selector; u.es = q->es.selector;
	u.fs = q->fs.selector; u.gs = q->gs.selector;
	memset(p, 0, sizeof(*p));
	memcpy(&p->pr_reg, &u, sizeof(u));
}

struct guest64 {
	struct qcpu q[2];
	struct elf_prstatus pr[2];
	struct note notes[4];
	struct seg segs[2];
	struct spec spec;
};

static void guest64_init(struct guest64 *g)
{
	unsigned v;

	build_low_mem_64();
	for (v = 0; v < 2; v++) {
		qcpu_fill(&g->q[v], v);
		pr64_fill(&g->pr[v], &g->q[v]);
		/* QEMU writes every NT_PRSTATUS, then every QEMU note */
		g->notes[v] = (struct note){ "CORE", NT_PRSTATUS, &g->pr[v],
					     sizeof(g->pr[v]) };
		g->notes[2 + v] = (struct note){ "QEMU", 0, &g->q[v],
						 sizeof(g->q[v]) };
	}
	/* the higher range first: the parser sorts */
	g->segs[0] = (struct seg){ 0x100000, 0x2000, NULL };
	g->segs[1] = (struct seg){ 0, sizeof(low_mem), low_mem };
	g->spec = (struct spec){ true, EM_X86_64, g->notes, 4, g->segs, 2 };
}

static void check_qemu_regs(const struct x86_regs *r, const struct qcpu *q)
{
	assert_true(r->gpr[RAX] == q->rax);
	assert_true(r->gpr[RBX] == q->rbx);
	assert_true(r->gpr[RCX] == q->rcx);
	assert_true(r->gpr[RDX] == q->rdx);
	assert_true(r->gpr[RSI] == q->rsi);
	assert_true(r->gpr[RDI] == q->rdi);
	assert_true(r->gpr[RSP] == q->rsp);
	assert_true(r->gpr[RBP] == q->rbp);
	assert_true(r->gpr[8] == q->r8);
	assert_true(r->gpr[11] == q->r11);
	assert_true(r->gpr[15] == q->r15);
	assert_true(r->rip == q->rip);
	assert_true(r->rflags == q->rflags);
	assert_int_equal(r->seg[CS].sel, q->cs.selector);
	assert_int_equal(r->seg[SS].sel, q->ss.selector);
	assert_int_equal(r->seg[DS].sel, q->ds.selector);
	assert_int_equal(r->seg[ES].sel, q->es.selector);
	assert_int_equal(r->seg[TR].sel, q->tr.selector);
	assert_true(r->seg[FS].base == q->fs.base);
	assert_true(r->seg[GS].base == q->gs.base);
	assert_true(r->seg[TR].base == q->tr.base);
	assert_int_equal(r->seg[TR].limit, q->tr.limit);
	assert_true(r->gdtr.base == q->gdt.base);
	assert_int_equal(r->gdtr.limit, q->gdt.limit);
	assert_true(r->idtr.base == q->idt.base);
	assert_int_equal(r->idtr.limit, q->idt.limit);
	assert_true(r->cr0 == q->cr[0]);
	assert_true(r->cr2 == q->cr[2]);
	assert_true(r->cr3 == q->cr[3]);
	assert_true(r->cr4 == q->cr[4]);
	assert_true(r->k_gs_base == q->kernel_gs_base);
	assert_true(x86_valid(r, XF_GPR0 + RSI) && x86_valid(r, XF_RIP) &&
		    x86_valid(r, XF_RFLAGS) && x86_valid(r, XF_CR3) &&
		    x86_valid(r, XF_SEL0 + CS) && x86_valid(r, XF_SEGCACHE0 + FS) &&
		    x86_valid(r, XF_KGSBASE) && x86_valid(r, XF_GDTR));
	/* nothing in a QEMU dump records these */
	assert_false(x86_valid(r, XF_FPU));
	assert_false(x86_valid(r, XF_DR7));
}

/* ---- valid dumps ---- */

static void test_valid_x86_64(void **state)
{
	struct guest64 g;
	struct strbuf f = STRBUF_INIT;
	struct layout lay;
	struct dump_image img;
	char *msg;
	unsigned v;

	(void)state;
	guest64_init(&g);
	build(&f, &g.spec, &lay);
	assert_int_equal(parse_n(&f, f.len, &img, &msg), 0);
	assert_null(msg);
	assert_int_equal(img.bits, 64);
	assert_int_equal(img.nr_vcpus, 2);
	assert_non_null(strstr(img.format, "x86_64"));
	/* ranges sorted by address, pointing at the right file bytes */
	assert_int_equal(img.nranges, 2);
	assert_true(img.ranges[0].paddr == 0 && img.ranges[0].size == 0x8000);
	assert_true(img.ranges[0].offset == lay.seg_off[1]);
	assert_true(img.ranges[1].paddr == 0x100000 && img.ranges[1].size == 0x2000);
	assert_true(img.ranges[1].offset == lay.seg_off[0]);
	assert_ptr_equal(dump_find(&img, 0x101fff), &img.ranges[1]);
	assert_ptr_equal(dump_find(&img, 0x7fff), &img.ranges[0]);
	assert_null(dump_find(&img, 0x8000));
	assert_null(dump_find(&img, 0x102000));
	for (v = 0; v < 2; v++) {
		const struct x86_regs *r = &img.vcpus[v];

		check_qemu_regs(r, &g.q[v]);
		/* QEMU's descriptor flags become access rights: type, S,
		 * DPL, P in bits 7:0, AVL, L, D/B, G in bits 11:8 */
		assert_int_equal(r->seg[CS].attr, 0xa9b);
		assert_int_equal(r->seg[SS].attr, 0xc93);
		assert_int_equal(r->seg[DS].attr, 0xcf3);
		assert_int_equal(r->seg[TR].attr, 0x08b);
		assert_int_equal(r->seg[LDTR].attr, 0x082);
		assert_true(x86_in_long_mode(r));
		assert_int_equal(x86_cpl(r), 0);
		/* EFER is derived: LME, LMA, SCE, and NXE only where the
		 * page tables use NX */
		assert_true(x86_valid(r, XF_EFER));
	}
	assert_true(img.vcpus[0].efer == 0xd01);
	assert_true(img.vcpus[1].efer == 0x501);
	assert_non_null(img.remarks);
	assert_non_null(strstr(img.remarks, "EFER"));
	dump_image_free(&img);
	strbuf_release(&f);
}

static void test_valid_x86_64_prstatus_only(void **state)
{
	struct guest64 g;
	struct strbuf f = STRBUF_INIT;
	struct layout lay;
	struct dump_image img;
	char *msg;
	unsigned v;

	(void)state;
	guest64_init(&g);
	g.spec.nnotes = 2; /* no QEMU notes */
	build(&f, &g.spec, &lay);
	assert_int_equal(parse_n(&f, f.len, &img, &msg), 0);
	assert_int_equal(img.nr_vcpus, 2);
	for (v = 0; v < 2; v++) {
		const struct x86_regs *r = &img.vcpus[v];
		const struct qcpu *q = &g.q[v];

		assert_true(r->gpr[RAX] == q->rax);
		assert_true(r->gpr[RBX] == q->rbx);
		assert_true(r->gpr[RCX] == q->rcx);
		assert_true(r->gpr[RDX] == q->rdx);
		assert_true(r->gpr[RSI] == q->rsi);
		assert_true(r->gpr[RDI] == q->rdi);
		assert_true(r->gpr[RSP] == q->rsp);
		assert_true(r->gpr[RBP] == q->rbp);
		assert_true(r->gpr[8] == q->r8);
		assert_true(r->gpr[9] == q->r9);
		assert_true(r->gpr[10] == q->r10);
		assert_true(r->gpr[11] == q->r11);
		assert_true(r->gpr[12] == q->r12);
		assert_true(r->gpr[13] == q->r13);
		assert_true(r->gpr[14] == q->r14);
		assert_true(r->gpr[15] == q->r15);
		assert_true(r->rip == q->rip);
		assert_true(r->rflags == q->rflags);
		assert_int_equal(r->seg[CS].sel, q->cs.selector);
		assert_int_equal(r->seg[SS].sel, q->ss.selector);
		assert_int_equal(r->seg[DS].sel, q->ds.selector);
		assert_true(x86_valid(r, XF_RIP) && x86_valid(r, XF_GPR0 + 15));
		/* no control registers in NT_PRSTATUS: nothing derived */
		assert_false(x86_valid(r, XF_CR3));
		assert_false(x86_valid(r, XF_EFER));
	}
	dump_image_free(&img);
	strbuf_release(&f);
}

struct guest32 {
	struct qcpu q[2];
	struct prstatus32 pr[2];
	struct note notes[4];
	struct seg segs[1];
	struct spec spec;
};

static void guest32_init(struct guest32 *g)
{
	uint64_t pdpte = 0x2000 | PTE_P;
	uint64_t pde = 0x200000 | PTE_PS | PTE_P | PTE_RW | PTE_NX;
	unsigned v;

	/* PAE tables: PDPT at 0x1000, a 2 MiB NX page in the PD at 0x2000 */
	memset(low_mem, 0, sizeof(low_mem));
	memcpy(low_mem + 0x1000, &pdpte, 8);
	memcpy(low_mem + 0x2000, &pde, 8);
	for (v = 0; v < 2; v++) {
		struct qcpu *q = &g->q[v];
		struct prstatus32 *p = &g->pr[v];

		memset(q, 0, sizeof(*q));
		q->version = 1;
		q->size = sizeof(*q);
		q->rax = 0x11110000 + v; q->rbx = 0x22220000 + v;
		q->rcx = 0x33330000 + v; q->rdx = 0x44440000 + v;
		q->rsi = 0x55550000 + v; q->rdi = 0x66660000 + v;
		q->rsp = 0x77770000 + v; q->rbp = 0x88880000 + v;
		q->rip = 0xc1000000 + v;
		q->rflags = 0x202;
		q->cs = (struct qseg){ 0x60, 0xffffffff, 0x00cf9b00, 0, 0 };
		q->ss = (struct qseg){ 0x68, 0xffffffff, 0x00cf9300, 0, 0 };
		q->fs = (struct qseg){ 0xd8, 0xffffffff, 0x00cf9300, 0, 0x1234000 };
		q->cr[0] = 0x80050033;
		q->cr[3] = 0x1000;
		q->cr[4] = 0x6f0; /* PAE */
		memset(p, 0, sizeof(*p));
		p->regs[0] = (uint32_t)q->rbx; p->regs[1] = (uint32_t)q->rcx;
		p->regs[2] = (uint32_t)q->rdx; p->regs[3] = (uint32_t)q->rsi;
		p->regs[4] = (uint32_t)q->rdi; p->regs[5] = (uint32_t)q->rbp;
		p->regs[6] = (uint32_t)q->rax; p->regs[7] = 0x7b;
		p->regs[8] = 0x7b; p->regs[9] = q->fs.selector; p->regs[10] = 0;
		p->regs[11] = 0xffffffff; p->regs[12] = (uint32_t)q->rip;
		p->regs[13] = q->cs.selector; p->regs[14] = (uint32_t)q->rflags;
		p->regs[15] = (uint32_t)q->rsp; p->regs[16] = q->ss.selector;
		g->notes[v] = (struct note){ "CORE", NT_PRSTATUS, p, sizeof(*p) };
		g->notes[2 + v] = (struct note){ "QEMU", 0, q, sizeof(*q) };
	}
	g->segs[0] = (struct seg){ 0, sizeof(low_mem), low_mem };
	g->spec = (struct spec){ false, EM_386, g->notes, 4, g->segs, 1 };
}

static void test_valid_i386(void **state)
{
	struct guest32 g;
	struct strbuf f = STRBUF_INIT;
	struct layout lay;
	struct dump_image img;
	char *msg;
	unsigned v;

	(void)state;
	guest32_init(&g);
	build(&f, &g.spec, &lay);
	assert_int_equal(parse_n(&f, f.len, &img, &msg), 0);
	assert_int_equal(img.bits, 32);
	assert_int_equal(img.nr_vcpus, 2);
	assert_non_null(strstr(img.format, "i386"));
	assert_int_equal(img.nranges, 1);
	assert_true(img.ranges[0].offset == lay.seg_off[0]);
	for (v = 0; v < 2; v++) {
		const struct x86_regs *r = &img.vcpus[v];

		check_qemu_regs(r, &g.q[v]);
		assert_int_equal(r->seg[CS].attr, 0xc9b);
		assert_false(x86_in_long_mode(r));
		/* PAE without long mode: only NXE, from the NX page */
		assert_true(r->efer == 0x800);
	}
	dump_image_free(&img);

	/* NT_PRSTATUS alone: the i386 user_regs_struct order */
	g.spec.nnotes = 2;
	build(&f, &g.spec, &lay);
	assert_int_equal(parse_n(&f, f.len, &img, &msg), 0);
	for (v = 0; v < 2; v++) {
		const struct x86_regs *r = &img.vcpus[v];
		const struct qcpu *q = &g.q[v];

		assert_true(r->gpr[RAX] == q->rax);
		assert_true(r->gpr[RBX] == q->rbx);
		assert_true(r->gpr[RCX] == q->rcx);
		assert_true(r->gpr[RDX] == q->rdx);
		assert_true(r->gpr[RSI] == q->rsi);
		assert_true(r->gpr[RDI] == q->rdi);
		assert_true(r->gpr[RSP] == q->rsp);
		assert_true(r->gpr[RBP] == q->rbp);
		assert_true(r->rip == q->rip);
		assert_true(r->rflags == q->rflags);
		assert_int_equal(r->seg[CS].sel, q->cs.selector);
		assert_int_equal(r->seg[SS].sel, q->ss.selector);
		assert_int_equal(r->seg[FS].sel, q->fs.selector);
		assert_int_equal(r->seg[DS].sel, 0x7b);
	}
	dump_image_free(&img);
	strbuf_release(&f);
}

static void test_core_target_reads_the_dump(void **state)
{
	const char *dir = getenv("TMPDIR");
	struct guest64 g;
	struct strbuf f = STRBUF_INIT, spec = STRBUF_INIT;
	struct layout lay;
	struct target *t = NULL;
	struct session *s = NULL;
	struct session_opts o = { .os = "none" };
	char *path, *msg = NULL;
	uint8_t buf[16];
	size_t done = 0;
	int fd;

	(void)state;
	guest64_init(&g);
	build(&f, &g.spec, &lay);
	path = xstrfmt("%s/xenstub-unit-XXXXXX", dir && *dir ? dir : "/tmp");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, f.buf, f.len), (ssize_t)f.len);
	close(fd);
	strbuf_addf(&spec, "core:%s", path);
	assert_int_equal(target_open(spec.buf, &(struct target_params){ .paging = -1 },
				     &t, &msg), 0);
	assert_int_equal(t->nr_vcpus, 2);
	assert_int_equal(session_open(t, &o, &s, &msg), 0);
	/* thread 1 translates through vCPU 0's tables: 0x1234 lies in the
	 * 2 MiB page at 0x200000, which the dump does not hold */
	assert_int_equal(session_read_mem(s, 1, 0x1234, buf, 16, &done), -EFAULT);
	/* physical memory of the second range */
	session_set_phys_mode(s, true);
	assert_int_equal(session_read_mem(s, 1, 0x100ff8, buf, 16, &done), 0);
	assert_int_equal(buf[0], mem_pattern(0x100ff8));
	assert_int_equal(buf[15], mem_pattern(0x101007));
	/* a hole between the ranges */
	assert_int_equal(session_read_mem(s, 1, 0x7ff8, buf, 16, &done), -EFAULT);
	assert_int_equal(done, 8);
	session_close(s);
	unlink(path);
	free(path);
	strbuf_release(&spec);
	strbuf_release(&f);
}

/* ---- hostile files ---- */

struct hostile {
	struct guest64 g;
	struct strbuf f;
	struct layout lay;
};

static int hostile_setup(void **state)
{
	struct hostile *h = xcalloc(1, sizeof(*h));

	guest64_init(&h->g);
	strbuf_init(&h->f, 0);
	build(&h->f, &h->g.spec, &h->lay);
	*state = h;
	return 0;
}

static int hostile_teardown(void **state)
{
	struct hostile *h = *state;

	strbuf_release(&h->f);
	free(h);
	return 0;
}

/* File offset of field off in program header i. */
static size_t ph(const struct hostile *h, unsigned i, size_t off)
{
	return h->lay.phoff + i * h->lay.phentsize + off;
}

static void test_not_elf(void **state)
{
	struct hostile *h = *state;

	(void)h;
	{
		struct strbuf f = STRBUF_INIT;

		strbuf_addstr(&f, "this is a text file, not a guest memory dump\n");
		expect_reject(&f, "not an ELF file");
		strbuf_reset(&f);
		strbuf_add(&f, ELFMAG, SELFMAG);
		expect_reject(&f, "not an ELF file");
		expect_reject_n(&f, 0, "not an ELF file");
		strbuf_release(&f);
	}
	{
		/* the format's own entry point checks the size too */
		struct dump_image img;
		uint8_t *tiny = xmalloc(4);
		char *msg = NULL;

		memcpy(tiny, ELFMAG, 4);
		assert_int_equal(dump_parse_qemu_elf(tiny, 4, NAME, &img, &msg), -EINVAL);
		assert_non_null(msg);
		assert_int_equal(strncmp(msg, NAME ": ", strlen(NAME) + 2), 0);
		free(msg);
		free(tiny);
	}
}

static void test_truncated_header(void **state)
{
	struct hostile *h = *state;
	struct strbuf f = STRBUF_INIT;

	expect_reject_n(&h->f, 40, "shorter than its ELF header");
	expect_reject_n(&h->f, sizeof(Elf64_Ehdr) - 1, "shorter than its ELF header");
	/* an ELF32 header is shorter, and checked as such */
	strbuf_add(&f, h->f.buf, 48);
	f.buf[EI_CLASS] = ELFCLASS32;
	expect_reject(&f, "shorter than its ELF header");
	f.buf[EI_CLASS] = 7;
	expect_reject(&f, "ELF class");
	strbuf_release(&f);
}

static void test_truncated_program_headers(void **state)
{
	struct hostile *h = *state;

	expect_reject_n(&h->f, ph(h, 1, 10), "program headers");
	expect_reject_n(&h->f, ph(h, 3, 0) - 1, "program headers");
	set_u64(&h->f, offsetof(Elf64_Ehdr, e_phoff), h->f.len + 100);
	expect_reject(&h->f, "program headers");
	set_u64(&h->f, offsetof(Elf64_Ehdr, e_phoff), ~0ull - 8);
	expect_reject(&h->f, "program headers");
}

static void test_bad_program_header_size(void **state)
{
	struct hostile *h = *state;

	set_u16(&h->f, offsetof(Elf64_Ehdr, e_phentsize), 0);
	expect_reject(&h->f, "program header size");
	set_u16(&h->f, offsetof(Elf64_Ehdr, e_phentsize), 57);
	expect_reject(&h->f, "program header size");
}

static void test_segment_past_end(void **state)
{
	struct hostile *h = *state;
	size_t off = ph(h, 1, offsetof(Elf64_Phdr, p_offset));
	size_t sz = ph(h, 1, offsetof(Elf64_Phdr, p_filesz));
	uint64_t good = h->lay.seg_off[0];

	set_u64(&h->f, off, h->f.len - 0x1000);
	expect_reject(&h->f, "beyond the file's end");
	set_u64(&h->f, off, ~0ull - 0xfff);
	expect_reject(&h->f, "beyond the file's end");
	set_u64(&h->f, off, good);
	set_u64(&h->f, sz, 0x7ffffffffffff000ull);
	expect_reject(&h->f, "beyond the file's end");
	/* the memory of the last range cut off */
	set_u64(&h->f, sz, 0x2000);
	expect_reject_n(&h->f, h->f.len - 1, "beyond the file's end");
}

static void test_overlapping_segments(void **state)
{
	struct hostile *h = *state;
	size_t pa = ph(h, 1, offsetof(Elf64_Phdr, p_paddr));

	set_u64(&h->f, pa, 0x7000); /* [0x7000, 0x9000) over [0, 0x8000) */
	expect_reject(&h->f, "overlap");
	set_u64(&h->f, pa, 0);
	expect_reject(&h->f, "overlap");
	set_u64(&h->f, pa, 0xfffffffffffff000ull); /* wraps */
	expect_reject(&h->f, "wraps");
	set_u64(&h->f, pa, 0x1800); /* not page-aligned */
	expect_reject(&h->f, "page-aligned");
}

static void test_absurd_counts(void **state)
{
	struct hostile *h = *state;
	Elf64_Shdr sh;
	size_t shoff = h->f.len;

	/* 65535 program headers: the real count lives in section header
	 * 0's sh_info, here a huge one */
	memset(&sh, 0, sizeof(sh));
	sh.sh_info = 0xffffffff;
	strbuf_add(&h->f, &sh, sizeof(sh));
	set_u16(&h->f, offsetof(Elf64_Ehdr, e_phnum), PN_XNUM);
	set_u64(&h->f, offsetof(Elf64_Ehdr, e_shoff), shoff);
	expect_reject(&h->f, "program headers");
	/* section header 0 beyond the end */
	set_u64(&h->f, offsetof(Elf64_Ehdr, e_shoff), h->f.len - 8);
	expect_reject(&h->f, "beyond the file's end");
	set_u64(&h->f, offsetof(Elf64_Ehdr, e_shoff), ~0ull - 8);
	expect_reject(&h->f, "beyond the file's end");
	/* a plain count far too large for the file */
	set_u16(&h->f, offsetof(Elf64_Ehdr, e_phnum), 60000);
	expect_reject(&h->f, "program headers");
	/* the extended count done right parses */
	sh.sh_info = 3;
	memcpy(h->f.buf + shoff, &sh, sizeof(sh));
	set_u16(&h->f, offsetof(Elf64_Ehdr, e_phnum), PN_XNUM);
	set_u64(&h->f, offsetof(Elf64_Ehdr, e_shoff), shoff);
	{
		struct dump_image img;
		char *msg;

		assert_int_equal(parse_n(&h->f, h->f.len, &img, &msg), 0);
		assert_int_equal(img.nr_vcpus, 2);
		dump_image_free(&img);
	}
}

static void test_notes_past_segment(void **state)
{
	struct hostile *h = *state;
	size_t n0 = h->lay.note_at[0];
	size_t nsz = ph(h, 0, offsetof(Elf64_Phdr, p_filesz));
	size_t noff = ph(h, 0, offsetof(Elf64_Phdr, p_offset));

	set_u32(&h->f, n0 + 4, 0x10000); /* descsz */
	expect_reject(&h->f, "runs past its segment");
	set_u32(&h->f, n0 + 4, 0xffffffff);
	expect_reject(&h->f, "runs past its segment");
	set_u32(&h->f, n0 + 4, sizeof(struct elf_prstatus));
	set_u32(&h->f, n0, 0xfffffffd); /* namesz */
	expect_reject(&h->f, "runs past its segment");
	set_u32(&h->f, n0, 5);
	/* the segment itself ends inside the last note */
	set_u64(&h->f, nsz, h->lay.notes_size - 4);
	expect_reject(&h->f, "runs past its segment");
	/* the notes segment beyond the file */
	set_u64(&h->f, nsz, h->lay.notes_size);
	set_u64(&h->f, noff, h->f.len - 16);
	expect_reject(&h->f, "beyond the file's end");
	set_u64(&h->f, noff, h->lay.notes_off);
	set_u64(&h->f, nsz, ~0ull);
	expect_reject(&h->f, "beyond the file's end");
}

static void test_prstatus_too_short(void **state)
{
	struct hostile *h = *state;

	(void)h;
	{
		struct guest64 g;
		struct strbuf f = STRBUF_INIT;
		struct layout lay;

		guest64_init(&g);
		g.notes[1].size = 100;
		build(&f, &g.spec, &lay);
		expect_reject(&f, "NT_PRSTATUS note of 100 bytes");
		strbuf_release(&f);
	}
	{
		struct guest32 g;
		struct strbuf f = STRBUF_INIT;
		struct layout lay;

		guest32_init(&g);
		g.notes[0].size = 143;
		build(&f, &g.spec, &lay);
		expect_reject(&f, "NT_PRSTATUS note of 143 bytes");
		strbuf_release(&f);
	}
}

static void test_qemu_note_bad(void **state)
{
	struct hostile *h = *state;
	size_t q0 = h->lay.note_at[2] + 12 + 8; /* desc of the first QEMU note */

	set_u32(&h->f, q0, 2); /* version */
	expect_reject(&h->f, "QEMU CPU state note");
	set_u32(&h->f, q0, 1);
	set_u32(&h->f, q0 + 4, 441); /* larger than the note */
	expect_reject(&h->f, "QEMU CPU state note");
	set_u32(&h->f, q0 + 4, 100); /* too small to hold the registers */
	expect_reject(&h->f, "QEMU CPU state note");
}

static void test_mismatched_note_counts(void **state)
{
	struct guest64 g;
	struct strbuf f = STRBUF_INIT;
	struct layout lay;

	(void)state;
	guest64_init(&g);
	g.notes[3] = g.notes[1]; /* PRSTATUS PRSTATUS QEMU PRSTATUS */
	build(&f, &g.spec, &lay);
	expect_reject(&f, "3 NT_PRSTATUS notes but 1 QEMU CPU notes");
	strbuf_release(&f);
}

static void test_no_memory_no_vcpus(void **state)
{
	struct guest64 g;
	struct strbuf f = STRBUF_INIT;
	struct layout lay;

	(void)state;
	guest64_init(&g);
	g.spec.nsegs = 0;
	build(&f, &g.spec, &lay);
	expect_reject(&f, "no PT_LOAD");
	guest64_init(&g);
	g.spec.nnotes = 0;
	build(&f, &g.spec, &lay);
	expect_reject(&f, "no vCPU state");
	strbuf_release(&f);
}

static void test_big_endian(void **state)
{
	struct hostile *h = *state;

	h->f.buf[EI_DATA] = ELFDATA2MSB;
	expect_reject(&h->f, "big-endian");
}

static void test_foreign_machine(void **state)
{
	struct hostile *h = *state;

	set_u16(&h->f, offsetof(Elf64_Ehdr, e_machine), EM_AARCH64);
	expect_reject(&h->f, "foreign architecture");
	set_u16(&h->f, offsetof(Elf64_Ehdr, e_machine), EM_PPC64);
	expect_reject(&h->f, "foreign architecture");
}

static void test_not_a_core_file(void **state)
{
	struct hostile *h = *state;

	set_u16(&h->f, offsetof(Elf64_Ehdr, e_type), ET_EXEC);
	expect_reject(&h->f, "not a core dump");
	set_u16(&h->f, offsetof(Elf64_Ehdr, e_type), ET_DYN);
	expect_reject(&h->f, "not a core dump");
}

/* ---- sweeps ---- */

/* A result is either a clean rejection or a consistent image. */
static void parse_any(const struct strbuf *f, size_t size)
{
	struct dump_image img;
	char *msg = NULL;
	int rc = parse_n(f, size, &img, &msg);
	size_t i;

	if (rc) {
		assert_int_equal(rc, -EINVAL);
		assert_non_null(msg);
		assert_int_equal(strncmp(msg, NAME ": ", strlen(NAME) + 2), 0);
		free(msg);
		return;
	}
	assert_true(img.nr_vcpus >= 1);
	for (i = 0; i < img.nranges; i++) {
		const struct dump_range *r = &img.ranges[i];

		assert_true(r->offset <= size && r->size <= size - r->offset);
		if (i)
			assert_true(img.ranges[i - 1].paddr + img.ranges[i - 1].size <=
				    r->paddr);
	}
	dump_image_free(&img);
}

static void test_every_truncation(void **state)
{
	struct hostile *h = *state;
	size_t n, meta = h->lay.notes_off + h->lay.notes_size;

	for (n = 0; n < meta + 64; n++)
		expect_reject_n(&h->f, n, "");
	for (; n < h->f.len; n += 997)
		expect_reject_n(&h->f, n, "beyond the file's end");
}

static void test_corrupted_headers_and_notes(void **state)
{
	struct hostile *h = *state;
	static const uint8_t vals[] = { 0x00, 0xff, 0x80, 0x7f };
	size_t off, k, i;

	/* the ELF header, the program headers, and each note's header
	 * and first bytes, set to values that break sizes and offsets */
	for (off = 0; off < h->lay.notes_off + h->lay.notes_size; off++) {
		bool meta = off < h->lay.notes_off;

		for (i = 0; i < 4 && !meta; i++)
			if (off >= h->lay.note_at[i] && off < h->lay.note_at[i] + 24)
				meta = true;
		if (!meta)
			continue;
		for (k = 0; k < sizeof(vals); k++) {
			uint8_t old = (uint8_t)h->f.buf[off];

			h->f.buf[off] = (char)vals[k];
			parse_any(&h->f, h->f.len);
			h->f.buf[off] = (char)old;
		}
	}
}

#define H(fn) cmocka_unit_test_setup_teardown(fn, hostile_setup, hostile_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_x86_64),
		cmocka_unit_test(test_valid_x86_64_prstatus_only),
		cmocka_unit_test(test_valid_i386),
		cmocka_unit_test(test_core_target_reads_the_dump),
		H(test_not_elf),
		H(test_truncated_header),
		H(test_truncated_program_headers),
		H(test_bad_program_header_size),
		H(test_segment_past_end),
		H(test_overlapping_segments),
		H(test_absurd_counts),
		H(test_notes_past_segment),
		H(test_prstatus_too_short),
		H(test_qemu_note_bad),
		cmocka_unit_test(test_mismatched_note_counts),
		cmocka_unit_test(test_no_memory_no_vcpus),
		H(test_big_endian),
		H(test_foreign_machine),
		H(test_not_a_core_file),
		H(test_every_truncation),
		H(test_corrupted_headers_and_notes),
	};

	log_set_level(LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
