// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit tests of the Xen dump-core parser (stub/guest/dump-xen.c) on synthetic
 * files built in memory the way Xen's xc_domain_dumpcore writes them; the
 * vCPU contexts are filled through Xen's own struct definitions
 * (<xen/foreign/x86_64.h>, <xen/foreign/x86_32.h>) so that the parser's
 * offsets are checked against an independent source. Hostile variants
 * must fail with -EINVAL and a message, never read out of bounds.
 */
#include <elf.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <xen/foreign/x86_32.h>
#include <xen/foreign/x86_64.h>

#include "stub/guest/dump.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the synthetic dumps are written in host byte order: little-endian only"
#endif

#define PAGE 4096u
#define MAGIC_PV 0xf00febedull
#define MAGIC_HVM 0xf00febeeull
#define NOTE_NONE 0x2000000u
#define NOTE_HEADER 0x2000001u
#define NOTE_XEN_VERSION 0x2000002u
#define NOTE_FORMAT 0x2000003u
#define XEN_VERSION_DESC 1280	/* sizeof(xen_dumpcore_elfnote_xen_version_desc) */
#define INVALID ~0ull
#define FILE_NAME "guest.core"

/* vcpu_guest_context_any_t as the tools declare it: one stride for both. */
union ctx_any {
	struct vcpu_guest_context_x86_64 x64;
	struct vcpu_guest_context_x86_32 x32;
};

enum sec { S_NULL, S_SHSTRTAB, S_NOTE, S_PRSTATUS, S_SHINFO, S_PAGES, S_INDEX, NSEC };

struct spec {
	bool pv;
	bool x32;		/* EM_386 and x86_32 contexts */
	unsigned nr_vcpus;
	const union ctx_any *ctx;
	unsigned nr_pages;
	const uint64_t *pfn;
	const uint64_t *gmfn;	/* PV only */
};

/* A built file and where its pieces are, for hostile edits. */
struct built {
	uint8_t *buf;
	size_t size;
	size_t shdr[NSEC];	/* offset of each section header */
	size_t header_desc;	/* the header note's descriptor */
	size_t format_desc;
	size_t note_hdr;	/* the first note's header */
	size_t prstatus, pages, index;
};

static const char shstrtab[] =
	"\0.shstrtab\0.note.Xen\0.xen_prstatus\0.xen_shared_info\0.xen_pages\0.xen_p2m\0.xen_pfn";

static uint32_t name_of(const char *name)
{
	size_t i;

	for (i = 1; i < sizeof(shstrtab); i += strlen(shstrtab + i) + 1)
		if (!strcmp(shstrtab + i, name))
			return (uint32_t)i;
	abort();
}

static void put_shdr(struct built *b, enum sec s, const char *name,
		     uint32_t type, size_t off, size_t size, size_t align,
		     size_t entsize)
{
	Elf64_Shdr h = { 0 };

	h.sh_name = name ? name_of(name) : 0;
	h.sh_type = type;
	h.sh_offset = off;
	h.sh_size = size;
	h.sh_addralign = align;
	h.sh_entsize = entsize;
	memcpy(b->buf + b->shdr[s], &h, sizeof(h));
}

static size_t put_note(uint8_t *p, uint32_t type, const void *desc,
		       uint32_t descsz)
{
	uint32_t h[3] = { 4, descsz, type };

	memcpy(p, h, 12);
	memcpy(p + 12, "Xen", 4);
	if (descsz)
		memcpy(p + 16, desc, descsz);
	return 16 + ((descsz + 3u) & ~3u);
}

/* Page i of .xen_pages: its index in the first word, then a pattern. */
static void fill_page(uint8_t *p, uint64_t i)
{
	memset(p, (int)(0x40 + i), PAGE);
	memcpy(p, &i, 8);
	memcpy(p + PAGE - 8, "XENPAGE", 8);
}

static void build(const struct spec *sp, struct built *b)
{
	size_t notes_size = 16 + (16 + 32) + (16 + XEN_VERSION_DESC) + (16 + 8);
	size_t esz = sp->pv ? 16 : 8, off, i;
	uint64_t header[4] = { sp->pv ? MAGIC_PV : MAGIC_HVM, sp->nr_vcpus,
			       sp->nr_pages, PAGE };
	uint64_t format = 1;	/* 0.1 */
	uint8_t version[XEN_VERSION_DESC] = { 0 };
	Elf64_Ehdr eh = { 0 };
	uint8_t *n;

	memset(b, 0, sizeof(*b));
	for (i = 0; i < NSEC; i++)
		b->shdr[i] = sizeof(Elf64_Ehdr) + i * sizeof(Elf64_Shdr);
	off = sizeof(Elf64_Ehdr) + NSEC * sizeof(Elf64_Shdr);
	b->note_hdr = off;
	b->prstatus = off + notes_size;
	off = b->prstatus + sp->nr_vcpus * sizeof(union ctx_any);
	off += PAGE;		/* .xen_shared_info */
	b->pages = (off + PAGE - 1) & ~(size_t)(PAGE - 1);
	b->index = b->pages + (size_t)sp->nr_pages * PAGE;
	b->size = b->index + sp->nr_pages * esz + sizeof(shstrtab);
	b->buf = calloc(1, b->size);
	assert_non_null(b->buf);

	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_CORE;
	eh.e_machine = sp->x32 ? EM_386 : EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_shoff = sizeof(Elf64_Ehdr);
	eh.e_ehsize = sizeof(Elf64_Ehdr);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_shentsize = sizeof(Elf64_Shdr);
	eh.e_shnum = NSEC;
	eh.e_shstrndx = S_SHSTRTAB;
	memcpy(b->buf, &eh, sizeof(eh));

	put_shdr(b, S_NULL, NULL, SHT_NULL, 0, 0, 0, 0);
	put_shdr(b, S_SHSTRTAB, ".shstrtab", SHT_STRTAB,
		 b->index + sp->nr_pages * esz, sizeof(shstrtab), 0, 0);
	put_shdr(b, S_NOTE, ".note.Xen", SHT_NOTE, b->note_hdr, notes_size, 0, 0);
	put_shdr(b, S_PRSTATUS, ".xen_prstatus", SHT_PROGBITS, b->prstatus,
		 sp->nr_vcpus * sizeof(union ctx_any), 8, sizeof(union ctx_any));
	put_shdr(b, S_SHINFO, ".xen_shared_info", SHT_PROGBITS,
		 b->prstatus + sp->nr_vcpus * sizeof(union ctx_any), PAGE, 8, PAGE);
	put_shdr(b, S_PAGES, ".xen_pages", SHT_PROGBITS, b->pages,
		 (size_t)sp->nr_pages * PAGE, PAGE, PAGE);
	put_shdr(b, S_INDEX, sp->pv ? ".xen_p2m" : ".xen_pfn", SHT_PROGBITS,
		 b->index, sp->nr_pages * esz, 8, esz);

	n = b->buf + b->note_hdr;
	n += put_note(n, NOTE_NONE, NULL, 0);
	b->header_desc = (size_t)(n - b->buf) + 16;
	n += put_note(n, NOTE_HEADER, header, sizeof(header));
	memcpy(version, &(uint64_t){ 4 }, 8);
	memcpy(version + 8, &(uint64_t){ 17 }, 8);
	memcpy(version + 16, ".3\n-pre", 7);	/* the newline must not survive */
	n += put_note(n, NOTE_XEN_VERSION, version, sizeof(version));
	b->format_desc = (size_t)(n - b->buf) + 16;
	put_note(n, NOTE_FORMAT, &format, sizeof(format));

	memcpy(b->buf + b->prstatus, sp->ctx, sp->nr_vcpus * sizeof(union ctx_any));
	for (i = 0; i < sp->nr_pages; i++) {
		uint8_t *e = b->buf + b->index + i * esz;

		if (sp->pfn[i] != INVALID)
			fill_page(b->buf + b->pages + i * PAGE, i);
		memcpy(e, &sp->pfn[i], 8);
		if (sp->pv)
			memcpy(e + 8, &sp->gmfn[i], 8);
	}
	memcpy(b->buf + b->index + sp->nr_pages * esz, shstrtab, sizeof(shstrtab));
}

static void put64(struct built *b, size_t off, uint64_t v)
{
	memcpy(b->buf + off, &v, 8);
}

/* Parses a copy of exactly size bytes, so that ASan sees any overread. */
static int parse_exact(const uint8_t *buf, size_t size, struct dump_image *img,
		       char **msg, bool xen_only)
{
	uint8_t *copy = malloc(size ? size : 1);
	int rc;

	assert_non_null(copy);
	memcpy(copy, buf, size);
	*msg = NULL;
	rc = xen_only ? dump_parse_xen_core(copy, size, FILE_NAME, img, msg) :
			dump_parse(copy, size, FILE_NAME, img, msg);
	if (!rc)
		dump_image_free(img);
	free(copy);
	return rc;
}

static void expect_reject(struct built *b, size_t size, const char *needle)
{
	struct dump_image img;
	char *msg;
	int rc = parse_exact(b->buf, size, &img, &msg, true);

	if (rc != -EINVAL)
		fail_msg("expected -EINVAL for '%s', got %d", needle, rc);
	assert_non_null(msg);
	if (strncmp(msg, FILE_NAME ": ", strlen(FILE_NAME) + 2))
		fail_msg("message does not name the file: %s", msg);
	if (needle && !strstr(msg, needle))
		fail_msg("message '%s' does not mention '%s'", msg, needle);
	free(msg);
}

static const struct dump_range *page_at(const struct dump_image *img,
					const struct built *b, uint64_t pa,
					uint64_t want_index)
{
	const struct dump_range *r = dump_find(img, pa);
	uint64_t got;

	assert_non_null(r);
	memcpy(&got, b->buf + r->offset + (pa - r->paddr), 8);
	assert_int_equal(got, want_index);
	assert_memory_equal(b->buf + r->offset + (pa - r->paddr) + PAGE - 8,
			    "XENPAGE", 8);
	return r;
}

/* ---- vCPU contexts, through Xen's own field names ---- */

static void fill_fpu(char *fx, unsigned seed)
{
	unsigned i;

	for (i = 0; i < 512; i++)
		fx[i] = (char)(seed + i * 3);
}

static void ctx64(struct vcpu_guest_context_x86_64 *c, unsigned v, bool kernel,
		  bool pv)
{
	uint64_t k = 0xffff888000000000ull + v * 0x100000ull;

	memset(c, 0, sizeof(*c));
	fill_fpu(c->fpu_ctxt.x, v);
	c->flags = (1u << 0) | (1u << 5) | (pv && kernel ? 1u << 2 : 0);
	c->user_regs.rax = k + 0x01; c->user_regs.rbx = k + 0x02;
	c->user_regs.rcx = k + 0x03; c->user_regs.rdx = k + 0x04;
	c->user_regs.rsi = k + 0x05; c->user_regs.rdi = k + 0x06;
	c->user_regs.rbp = k + 0x07; c->user_regs.rsp = k + 0x08;
	c->user_regs.r8 = k + 0x09; c->user_regs.r9 = k + 0x0a;
	c->user_regs.r10 = k + 0x0b; c->user_regs.r11 = k + 0x0c;
	c->user_regs.r12 = k + 0x0d; c->user_regs.r13 = k + 0x0e;
	c->user_regs.r14 = k + 0x0f; c->user_regs.r15 = k + 0x10;
	c->user_regs.rip = 0xffffffff81000000ull + v * 0x10;
	c->user_regs.rflags = 0x246 + v * 0x100;
	c->user_regs.error_code = 0xdeadbeef;
	c->user_regs.entry_vector = 0xfeedface;
	c->user_regs.saved_upcall_mask = 0x5a;
	if (pv) {
		c->user_regs.cs = 0xe033; c->user_regs.ss = 0xe02b;
	} else {
		c->user_regs.cs = kernel ? 0x10 : 0x33;
		c->user_regs.ss = kernel ? 0x18 : 0x2b;
	}
	c->user_regs.ds = 0x2b; c->user_regs.es = 0x2b + v;
	c->user_regs.fs = 0x53; c->user_regs.gs = 0x63;
	c->ctrlreg[0] = 0x80050033; c->ctrlreg[1] = 0x1111;
	c->ctrlreg[2] = 0x7f0000001000ull + v;
	c->ctrlreg[3] = 0x1234000ull + v * 0x1000;
	c->ctrlreg[4] = 0x3506f0;
	c->debugreg[0] = 0x1000 + v; c->debugreg[1] = 0x2000;
	c->debugreg[2] = 0x3000; c->debugreg[3] = 0x4000;
	c->debugreg[4] = 0xbad4; c->debugreg[5] = 0xbad5;
	c->debugreg[6] = 0xffff0ff0; c->debugreg[7] = 0x400 + v;
	c->fs_base = 0x7f1234567000ull + v;
	c->gs_base_kernel = 0xffff88807fc00000ull + v;
	c->gs_base_user = 0x7f7654321000ull + v;
	c->vm_assist = 0x55;
	c->kernel_sp = 0xfeedf00d;
}

static void check_ctx64(const struct x86_regs *r,
			const struct vcpu_guest_context_x86_64 *c, bool kernel)
{
	assert_int_equal(r->gpr[X86_RAX], c->user_regs.rax);
	assert_int_equal(r->gpr[X86_RBX], c->user_regs.rbx);
	assert_int_equal(r->gpr[X86_RCX], c->user_regs.rcx);
	assert_int_equal(r->gpr[X86_RDX], c->user_regs.rdx);
	assert_int_equal(r->gpr[X86_RSI], c->user_regs.rsi);
	assert_int_equal(r->gpr[X86_RDI], c->user_regs.rdi);
	assert_int_equal(r->gpr[X86_RBP], c->user_regs.rbp);
	assert_int_equal(r->gpr[X86_RSP], c->user_regs.rsp);
	assert_int_equal(r->gpr[X86_R8], c->user_regs.r8);
	assert_int_equal(r->gpr[X86_R9], c->user_regs.r9);
	assert_int_equal(r->gpr[X86_R10], c->user_regs.r10);
	assert_int_equal(r->gpr[X86_R11], c->user_regs.r11);
	assert_int_equal(r->gpr[X86_R12], c->user_regs.r12);
	assert_int_equal(r->gpr[X86_R13], c->user_regs.r13);
	assert_int_equal(r->gpr[X86_R14], c->user_regs.r14);
	assert_int_equal(r->gpr[X86_R15], c->user_regs.r15);
	assert_int_equal(r->rip, c->user_regs.rip);
	assert_int_equal(r->rflags, c->user_regs.rflags);
	assert_int_equal(r->seg[X86_CS].sel, c->user_regs.cs);
	assert_int_equal(r->seg[X86_SS].sel, c->user_regs.ss);
	assert_int_equal(r->seg[X86_DS].sel, c->user_regs.ds);
	assert_int_equal(r->seg[X86_ES].sel, c->user_regs.es);
	assert_int_equal(r->seg[X86_FS].sel, c->user_regs.fs);
	assert_int_equal(r->seg[X86_GS].sel, c->user_regs.gs);
	assert_int_equal(r->seg[X86_FS].base, c->fs_base);
	/* the base in use, and the shadow (MSR_KERNEL_GS_BASE) */
	assert_int_equal(r->seg[X86_GS].base,
			 kernel ? c->gs_base_kernel : c->gs_base_user);
	assert_int_equal(r->k_gs_base,
			 kernel ? c->gs_base_user : c->gs_base_kernel);
	assert_int_equal(r->cr0, c->ctrlreg[0]);
	assert_int_equal(r->cr2, c->ctrlreg[2]);
	assert_int_equal(r->cr4, c->ctrlreg[4]);
	assert_int_equal(r->dr[0], c->debugreg[0]);
	assert_int_equal(r->dr[1], c->debugreg[1]);
	assert_int_equal(r->dr[2], c->debugreg[2]);
	assert_int_equal(r->dr[3], c->debugreg[3]);
	assert_int_equal(r->dr[6], c->debugreg[6]);
	assert_int_equal(r->dr[7], c->debugreg[7]);
	assert_memory_equal(r->fxsave, c->fpu_ctxt.x, 512);
	/* what a context holds, and what it does not */
	assert_true(x86_valid(r, XF_GPR0 + X86_R15));
	assert_true(x86_valid(r, XF_RIP));
	assert_true(x86_valid(r, XF_RFLAGS));
	assert_true(x86_valid(r, XF_SEL0 + X86_GS));
	assert_true(x86_valid(r, XF_SEGCACHE0 + X86_FS));
	assert_true(x86_valid(r, XF_SEGCACHE0 + X86_GS));
	assert_true(x86_valid(r, XF_KGSBASE));
	assert_true(x86_valid(r, XF_CR0));
	assert_true(x86_valid(r, XF_CR2));
	assert_true(x86_valid(r, XF_CR3));
	assert_true(x86_valid(r, XF_CR4));
	assert_true(x86_valid(r, XF_DR0));
	assert_true(x86_valid(r, XF_DR6));
	assert_true(x86_valid(r, XF_DR7));
	assert_true(x86_valid(r, XF_FPU));
	assert_false(x86_valid(r, XF_SEGCACHE0 + X86_CS));
	assert_false(x86_valid(r, XF_SEGCACHE0 + X86_SS));
	assert_false(x86_valid(r, XF_SEL0 + X86_LDTR));
	assert_false(x86_valid(r, XF_SEL0 + X86_TR));
	assert_false(x86_valid(r, XF_GDTR));
	assert_false(x86_valid(r, XF_IDTR));
	assert_false(x86_valid(r, XF_CR8));
	assert_false(x86_valid(r, XF_SYSENTER));
	assert_false(x86_valid(r, XF_SYSCALL));
}

/* HVM: pfns 0x10..0x12 and 0x20..0x21 (a hole between), one padding. */
static const uint64_t hvm_pfn[] = { 0x10, 0x11, 0x12, 0x20, 0x21, INVALID };

static void test_hvm64(void **state)
{
	union ctx_any ctx[2];
	struct spec sp = { .nr_vcpus = 2, .ctx = ctx, .nr_pages = 6,
			   .pfn = hvm_pfn };
	struct built b;
	struct dump_image img;
	char *msg = NULL;
	int rc;

	(void)state;
	ctx64(&ctx[0].x64, 0, true, false);
	ctx64(&ctx[1].x64, 1, false, false);
	build(&sp, &b);
	assert_true(dump_is_xen_core(b.buf, b.size));
	rc = dump_parse(b.buf, b.size, FILE_NAME, &img, &msg);
	if (rc)
		fail_msg("parse failed: %s", msg);
	assert_string_equal(img.format, "Xen dump-core (HVM, x86_64)");
	assert_int_equal(img.bits, 64);
	assert_int_equal(img.nr_vcpus, 2);
	/* two runs, merged; the padding page is nowhere */
	assert_int_equal(img.nranges, 2);
	assert_int_equal(img.ranges[0].paddr, 0x10000);
	assert_int_equal(img.ranges[0].size, 3 * PAGE);
	assert_int_equal(img.ranges[0].offset, b.pages);
	assert_int_equal(img.ranges[1].paddr, 0x20000);
	assert_int_equal(img.ranges[1].size, 2 * PAGE);
	assert_int_equal(img.ranges[1].offset, b.pages + 3 * PAGE);
	page_at(&img, &b, 0x10000, 0);
	page_at(&img, &b, 0x12000, 2);
	page_at(&img, &b, 0x20000, 3);
	page_at(&img, &b, 0x21fff & ~0xfffull, 4);
	assert_null(dump_find(&img, 0x13000));	/* the hole */
	assert_null(dump_find(&img, 0x0));
	assert_null(dump_find(&img, 0x22000));
	assert_null(dump_find(&img, INVALID * PAGE));

	check_ctx64(&img.vcpus[0], &ctx[0].x64, true);
	check_ctx64(&img.vcpus[1], &ctx[1].x64, false);
	/* HVM CR3 is the guest's own */
	assert_int_equal(img.vcpus[0].cr3, ctx[0].x64.ctrlreg[3]);
	assert_int_equal(img.vcpus[1].cr3, ctx[1].x64.ctrlreg[3]);
	/* EFER derived: long mode from CR0.PG, CR4.PAE and a 64-bit guest */
	assert_true(x86_valid(&img.vcpus[0], XF_EFER));
	assert_true(img.vcpus[0].efer & (1u << 10));
	assert_non_null(img.remarks);
	assert_non_null(strstr(img.remarks, "Dumped by Xen 4.17.3-pre."));
	assert_null(strstr(img.remarks, "offline"));
	assert_null(strstr(img.remarks, "PV guest"));
	dump_image_free(&img);
	free(b.buf);
}

/* An HVM guest whose vCPUs hold nothing above 4 GiB: taken as 32-bit. */
static void test_hvm_low_addresses_is_32bit(void **state)
{
	union ctx_any ctx[1];
	struct spec sp = { .nr_vcpus = 1, .ctx = ctx, .nr_pages = 6,
			   .pfn = hvm_pfn };
	struct built b;
	struct dump_image img;
	char *msg = NULL;
	struct vcpu_guest_context_x86_64 *c = &ctx[0].x64;

	(void)state;
	ctx64(c, 0, true, false);
	c->user_regs.rip = 0xc1000000;
	c->user_regs.rsp = 0xc7000000;
	c->fs_base = 0;
	c->gs_base_kernel = 0xc8000000;
	c->gs_base_user = 0;
	c->ctrlreg[0] = 0x80000011;
	c->ctrlreg[4] = 0x20;	/* PAE */
	build(&sp, &b);
	if (dump_parse(b.buf, b.size, FILE_NAME, &img, &msg))
		fail_msg("parse failed: %s", msg);
	assert_int_equal(img.bits, 32);
	assert_string_equal(img.format, "Xen dump-core (HVM, i386)");
	assert_non_null(strstr(img.remarks, "taken as 32-bit"));
	/* PAE without long mode */
	assert_true(x86_valid(&img.vcpus[0], XF_EFER));
	assert_false(img.vcpus[0].efer & (1u << 10));
	dump_image_free(&img);
	free(b.buf);

	/* the same guest with one 64-bit address is 64-bit */
	c->gs_base_user = 0xffff888000000000ull;
	build(&sp, &b);
	if (dump_parse(b.buf, b.size, FILE_NAME, &img, &msg))
		fail_msg("parse failed: %s", msg);
	assert_int_equal(img.bits, 64);
	assert_null(strstr(img.remarks, "taken as 32-bit"));
	dump_image_free(&img);
	free(b.buf);

	/* and so is one running 64-bit code at a low address with a high stack */
	c->gs_base_user = 0;
	c->user_regs.rip = 0x401000;
	c->user_regs.rsp = 0x7ffd12345678ull;
	build(&sp, &b);
	if (dump_parse(b.buf, b.size, FILE_NAME, &img, &msg))
		fail_msg("parse failed: %s", msg);
	assert_int_equal(img.bits, 64);
	dump_image_free(&img);
	free(b.buf);
}

/* PV x86_64: pages live at their machine frames (gmfn). */
static void test_pv64(void **state)
{
	static const uint64_t pfn[] = { 0, 1, 2, 3, 4, 5, INVALID, INVALID };
	static const uint64_t gmfn[] = { 0x500, 0x501, 0x502, 0x900, 0x901,
					 0x503, INVALID, INVALID };
	union ctx_any ctx[2];
	struct spec sp = { .pv = true, .nr_vcpus = 2, .ctx = ctx,
			   .nr_pages = 8, .pfn = pfn, .gmfn = gmfn };
	struct built b;
	struct dump_image img;
	char *msg = NULL;

	(void)state;
	ctx64(&ctx[0].x64, 0, true, true);
	ctx64(&ctx[1].x64, 1, false, true);
	ctx[1].x64.flags &= ~(1u << 5);	/* vCPU 1 offline */
	build(&sp, &b);
	if (dump_parse(b.buf, b.size, FILE_NAME, &img, &msg))
		fail_msg("parse failed: %s", msg);
	assert_string_equal(img.format, "Xen dump-core (PV, x86_64)");
	assert_int_equal(img.bits, 64);
	assert_int_equal(img.nranges, 3);
	/* gmfn 0x503 follows 0x502 but is not next in .xen_pages: apart */
	assert_int_equal(img.ranges[0].paddr, 0x500000);
	assert_int_equal(img.ranges[0].size, 3 * PAGE);
	assert_int_equal(img.ranges[1].paddr, 0x503000);
	assert_int_equal(img.ranges[1].size, PAGE);
	assert_int_equal(img.ranges[2].paddr, 0x900000);
	assert_int_equal(img.ranges[2].size, 2 * PAGE);
	page_at(&img, &b, 0x500000, 0);
	page_at(&img, &b, 0x502000, 2);
	page_at(&img, &b, 0x503000, 5);
	page_at(&img, &b, 0x901000, 4);
	assert_null(dump_find(&img, 0x0));	/* pfn 0 is not an address */
	assert_null(dump_find(&img, 0x504000));
	check_ctx64(&img.vcpus[0], &ctx[0].x64, true);
	check_ctx64(&img.vcpus[1], &ctx[1].x64, false);
	/* xen_pfn_to_cr3 on x86_64 is mfn << 12 */
	assert_int_equal(img.vcpus[0].cr3, ctx[0].x64.ctrlreg[3]);
	assert_non_null(strstr(img.remarks, "machine frames"));
	assert_non_null(strstr(img.remarks, "vCPU 1 was offline"));
	dump_image_free(&img);
	free(b.buf);
}

static void ctx32(struct vcpu_guest_context_x86_32 *c, unsigned v,
		  uint32_t l3_mfn)
{
	memset(c, 0, sizeof(*c));
	fill_fpu(c->fpu_ctxt.x, 100 + v);
	c->flags = (1u << 0) | (1u << 2) | (1u << 5);
	c->user_regs.eax = 0xa0 + v; c->user_regs.ebx = 0xb0 + v;
	c->user_regs.ecx = 0xc0 + v; c->user_regs.edx = 0xd0 + v;
	c->user_regs.esi = 0x51 + v; c->user_regs.edi = 0xd1 + v;
	c->user_regs.ebp = 0xc7ff0000 + v; c->user_regs.esp = 0xc7fe0000 + v;
	c->user_regs.eip = 0xc1000100 + v;
	c->user_regs.eflags = 0x1246;
	c->user_regs.cs = 0xe019; c->user_regs.ss = 0xe021;
	c->user_regs.ds = 0x7b; c->user_regs.es = 0x7b;
	c->user_regs.fs = 0xd8; c->user_regs.gs = 0xe0;
	c->user_regs.error_code = 0xeeee;
	c->user_regs.entry_vector = 0xffff;
	c->ctrlreg[0] = 0x8005003b;
	c->ctrlreg[2] = 0xb7001000;
	/* xen_pfn_to_cr3_x86_32: the frame rotated into 32 bits */
	c->ctrlreg[3] = (l3_mfn << 12) | (l3_mfn >> 20);
	c->ctrlreg[4] = 0x6f0;
	c->debugreg[0] = 0xc0001000; c->debugreg[7] = 0x401;
	c->debugreg[6] = 0xffff0ff0;
	c->kernel_ss = 0xe021;
}

static void test_pv32(void **state)
{
	static const uint64_t pfn[] = { 0, 1, 2 };
	static const uint64_t gmfn[] = { 0x123456, 0x123457, 0x40 };
	union ctx_any ctx[2];
	struct spec sp = { .pv = true, .x32 = true, .nr_vcpus = 2, .ctx = ctx,
			   .nr_pages = 3, .pfn = pfn, .gmfn = gmfn };
	struct built b;
	struct dump_image img;
	char *msg = NULL;
	unsigned v;

	(void)state;
	ctx32(&ctx[0].x32, 0, 0x123456);
	ctx32(&ctx[1].x32, 1, 0x40);
	build(&sp, &b);
	if (dump_parse(b.buf, b.size, FILE_NAME, &img, &msg))
		fail_msg("parse failed: %s", msg);
	assert_string_equal(img.format, "Xen dump-core (PV, i386)");
	assert_int_equal(img.bits, 32);
	assert_int_equal(img.nranges, 2);
	assert_int_equal(img.ranges[0].paddr, 0x40000);
	assert_int_equal(img.ranges[1].paddr, 0x123456000ull);
	assert_int_equal(img.ranges[1].size, 2 * PAGE);
	page_at(&img, &b, 0x123457000ull, 1);
	page_at(&img, &b, 0x40000, 2);
	assert_int_equal(img.vcpus[0].cr3, 0x123456000ull);
	assert_int_equal(img.vcpus[1].cr3, 0x40000);
	for (v = 0; v < 2; v++) {
		const struct x86_regs *r = &img.vcpus[v];
		const struct vcpu_guest_context_x86_32 *c = &ctx[v].x32;

		assert_int_equal(r->gpr[X86_RAX], c->user_regs.eax);
		assert_int_equal(r->gpr[X86_RBX], c->user_regs.ebx);
		assert_int_equal(r->gpr[X86_RCX], c->user_regs.ecx);
		assert_int_equal(r->gpr[X86_RDX], c->user_regs.edx);
		assert_int_equal(r->gpr[X86_RSI], c->user_regs.esi);
		assert_int_equal(r->gpr[X86_RDI], c->user_regs.edi);
		assert_int_equal(r->gpr[X86_RBP], c->user_regs.ebp);
		assert_int_equal(r->gpr[X86_RSP], c->user_regs.esp);
		assert_int_equal(r->rip, c->user_regs.eip);
		assert_int_equal(r->rflags, c->user_regs.eflags);
		assert_int_equal(r->seg[X86_CS].sel, c->user_regs.cs);
		assert_int_equal(r->seg[X86_SS].sel, c->user_regs.ss);
		assert_int_equal(r->seg[X86_DS].sel, c->user_regs.ds);
		assert_int_equal(r->seg[X86_ES].sel, c->user_regs.es);
		assert_int_equal(r->seg[X86_FS].sel, c->user_regs.fs);
		assert_int_equal(r->seg[X86_GS].sel, c->user_regs.gs);
		assert_int_equal(r->cr0, c->ctrlreg[0]);
		assert_int_equal(r->cr2, c->ctrlreg[2]);
		assert_int_equal(r->cr4, c->ctrlreg[4]);
		assert_int_equal(r->dr[0], c->debugreg[0]);
		assert_int_equal(r->dr[6], c->debugreg[6]);
		assert_int_equal(r->dr[7], c->debugreg[7]);
		assert_memory_equal(r->fxsave, c->fpu_ctxt.x, 512);
		assert_false(x86_valid(r, XF_GPR0 + X86_R8));
		assert_false(x86_valid(r, XF_GPR0 + X86_R15));
		assert_true(x86_valid(r, XF_GPR0 + X86_RSP));
		/* no segment bases in a 32-bit context */
		assert_false(x86_valid(r, XF_SEGCACHE0 + X86_FS));
		assert_false(x86_valid(r, XF_SEGCACHE0 + X86_GS));
		assert_false(x86_valid(r, XF_KGSBASE));
		assert_true(x86_valid(r, XF_FPU));
		/* PAE, not long mode */
		assert_true(x86_valid(r, XF_EFER));
		assert_false(r->efer & (1u << 10));
	}
	dump_image_free(&img);
	free(b.buf);
}

/* A valid small HVM file for the hostile variants. */
static void good_hvm(struct built *b, union ctx_any ctx[2])
{
	struct spec sp = { .nr_vcpus = 2, .ctx = ctx, .nr_pages = 6,
			   .pfn = hvm_pfn };

	ctx64(&ctx[0].x64, 0, true, false);
	ctx64(&ctx[1].x64, 1, true, false);
	build(&sp, b);
}

static void test_fpu_not_valid_without_flag(void **state)
{
	union ctx_any ctx[2];
	struct built b;
	struct dump_image img;
	char *msg = NULL;

	(void)state;
	good_hvm(&b, ctx);
	/* clear VGCF_i387_valid in vCPU 1's flags */
	b.buf[b.prstatus + sizeof(union ctx_any) + 512] &= (uint8_t)~1u;
	if (dump_parse(b.buf, b.size, FILE_NAME, &img, &msg))
		fail_msg("parse failed: %s", msg);
	assert_true(x86_valid(&img.vcpus[0], XF_FPU));
	assert_false(x86_valid(&img.vcpus[1], XF_FPU));
	dump_image_free(&img);
	free(b.buf);
}

static void test_detection(void **state)
{
	union ctx_any ctx[2];
	struct built b;
	Elf64_Ehdr eh = { 0 };

	(void)state;
	good_hvm(&b, ctx);
	assert_true(dump_is_xen_core(b.buf, b.size));
	assert_false(dump_is_xen_core(b.buf, 40));
	/* cut before the section names: known by its notes */
	assert_true(dump_is_xen_core(b.buf, b.size - 1));
	assert_true(dump_is_xen_core(b.buf, b.pages + 10));
	/* no section named .xen_pages and no dump-core note: not one */
	b.buf[b.size - sizeof(shstrtab) + name_of(".xen_pages") + 1] = 'X';
	assert_true(dump_is_xen_core(b.buf, b.size));
	memcpy(b.buf + b.note_hdr + 8, &(uint32_t){ 1 }, 4);	/* NT_PRSTATUS */
	assert_false(dump_is_xen_core(b.buf, b.size));
	assert_false(dump_is_xen_core(b.buf, b.size - 1));
	free(b.buf);
	/* an ELF core without section headers (QEMU's kind) */
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_type = ET_CORE;
	eh.e_machine = EM_X86_64;
	assert_false(dump_is_xen_core((const uint8_t *)&eh, sizeof(eh)));
}

/* Every cut of the file is refused, by both entry points, in bounds. */
static void test_truncated_everywhere(void **state)
{
	union ctx_any ctx[2];
	struct built b;
	size_t cut;

	(void)state;
	good_hvm(&b, ctx);
	for (cut = 0; cut < b.size; cut += cut < 1024 ? 1 : 509) {
		struct dump_image img;
		char *msg;
		int rc;

		rc = parse_exact(b.buf, cut, &img, &msg, true);
		if (rc != -EINVAL)
			fail_msg("cut at %zu: rc %d", cut, rc);
		free(msg);
		rc = parse_exact(b.buf, cut, &img, &msg, false);
		if (rc != -EINVAL)
			fail_msg("cut at %zu via dump_parse: rc %d", cut, rc);
		free(msg);
	}
	expect_reject(&b, b.size - 1, "section name table");
	expect_reject(&b, b.pages + PAGE, "truncated");
	/* through dump_parse too: the Xen parser names the problem */
	{
		struct dump_image img;
		char *msg;

		assert_int_equal(parse_exact(b.buf, b.pages + PAGE, &img, &msg, false),
				 -EINVAL);
		assert_non_null(strstr(msg, "section name table"));
		free(msg);
	}
	free(b.buf);
}

static void shdr_set(struct built *b, enum sec s, size_t field, uint64_t v)
{
	put64(b, b->shdr[s] + field, v);
}

static void test_hostile(void **state)
{
	union ctx_any ctx[2];
	struct built b;

	(void)state;
#define VARIANT(edit, needle)                                                  \
	do {                                                                   \
		good_hvm(&b, ctx);                                             \
		edit;                                                          \
		expect_reject(&b, b.size, needle);                             \
		free(b.buf);                                                   \
	} while (0)

	/* section offsets and sizes past the end of the file */
	VARIANT(shdr_set(&b, S_PAGES, offsetof(Elf64_Shdr, sh_offset), ~0ull >> 1),
		".xen_pages");
	VARIANT(shdr_set(&b, S_PAGES, offsetof(Elf64_Shdr, sh_size), ~0ull),
		".xen_pages");
	VARIANT(shdr_set(&b, S_INDEX, offsetof(Elf64_Shdr, sh_offset), b.size),
		".xen_pfn");
	VARIANT(shdr_set(&b, S_PRSTATUS, offsetof(Elf64_Shdr, sh_offset), b.size - 8),
		".xen_prstatus");
	VARIANT(shdr_set(&b, S_NOTE, offsetof(Elf64_Shdr, sh_size), 1ull << 62),
		".note.Xen");
	VARIANT(shdr_set(&b, S_SHSTRTAB, offsetof(Elf64_Shdr, sh_offset), ~0ull),
		"section name table");
	/* section header table */
	VARIANT(put64(&b, offsetof(Elf64_Ehdr, e_shoff), b.size - 100),
		"section headers");
	VARIANT(b.buf[offsetof(Elf64_Ehdr, e_shnum)] = 0xff;
		b.buf[offsetof(Elf64_Ehdr, e_shnum) + 1] = 0xff,
		"section headers");
	VARIANT(b.buf[offsetof(Elf64_Ehdr, e_shstrndx)] = 200,
		"section name table");
	VARIANT(b.buf[offsetof(Elf64_Ehdr, e_shentsize)] = 32,
		"section header size");
	/* names outside the table, or running off its end, name nothing */
	VARIANT(memcpy(b.buf + b.shdr[S_PAGES], &(uint32_t){ 0xfffffff0 }, 4),
		"no .xen_pages");
	VARIANT(shdr_set(&b, S_SHSTRTAB, offsetof(Elf64_Shdr, sh_size),
			 sizeof(shstrtab) - 1),
		"no .xen_pfn");
	/* counts that disagree with the sections */
	VARIANT(put64(&b, b.header_desc + 16, 7), ".xen_pages holds");
	VARIANT(put64(&b, b.header_desc + 16, 5), ".xen_pages holds");
	VARIANT(put64(&b, b.header_desc + 16, ~0ull), ".xen_pages holds");
	VARIANT(put64(&b, b.header_desc + 16, 1ull << 52), ".xen_pages holds");
	VARIANT(shdr_set(&b, S_INDEX, offsetof(Elf64_Shdr, sh_size), 5 * 8),
		".xen_pfn holds");
	VARIANT(put64(&b, b.header_desc + 8, 3), ".xen_prstatus holds");
	VARIANT(put64(&b, b.header_desc + 8, 1), ".xen_prstatus holds");
	VARIANT(put64(&b, b.header_desc + 8, 0), "no vCPU");
	VARIANT(put64(&b, b.header_desc + 8, 1ull << 40), "vCPUs");
	VARIANT(put64(&b, b.header_desc + 8, ~0ull), "vCPUs");
	VARIANT(shdr_set(&b, S_PRSTATUS, offsetof(Elf64_Shdr, sh_entsize), 2800),
		"smaller than");
	/* overlapping frames */
	VARIANT(put64(&b, b.index + 3 * 8, 0x11), "overlap");
	VARIANT(put64(&b, b.index + 4 * 8, 0x10), "overlap");
	/* absurd frame numbers */
	VARIANT(put64(&b, b.index + 8, 1ull << 40), "52-bit");
	VARIANT(put64(&b, b.index + 8, ~0ull - 1), "52-bit");
	/* every entry padding */
	VARIANT(for (int i = 0; i < 6; i++) put64(&b, b.index + 8 * i, ~0ull),
		"padding");
	/* the header note */
	VARIANT(put64(&b, b.header_desc, 0xf00febef), "magic");
	VARIANT(put64(&b, b.header_desc + 24, 65536), "page size");
	VARIANT(put64(&b, b.header_desc + 24, 0), "page size");
	VARIANT(put64(&b, b.format_desc, 1ull << 32), "format version 1.0");
	VARIANT(memcpy(b.buf + b.header_desc - 8, &(uint32_t){ 0x2000005 }, 4),
		"no dump-core header");
	VARIANT(put64(&b, b.header_desc - 12, 16 | (uint64_t)NOTE_HEADER << 32),
		"header note of 16 bytes");
	/* a note whose descriptor runs past .note.Xen */
	VARIANT(memcpy(b.buf + b.header_desc - 12, &(uint32_t){ 0x7fffffff }, 4),
		"runs past");
	VARIANT(memcpy(b.buf + b.header_desc - 16, &(uint32_t){ 0xfffffff0 }, 4),
		"runs past");
	/* ELF header */
	VARIANT(b.buf[offsetof(Elf64_Ehdr, e_machine)] = EM_AARCH64, "ELF machine 183");
	VARIANT(b.buf[EI_DATA] = ELFDATA2MSB, "big-endian");
	VARIANT(b.buf[EI_CLASS] = 7, "ELF class");
	/* the index of the other kind of guest */
	VARIANT(put64(&b, b.header_desc, MAGIC_PV), "PV guest has a .xen_pfn");
	VARIANT(memcpy(b.buf + b.size - sizeof(shstrtab) + name_of(".xen_shared_info"),
		       ".xen_p2m", 9),
		"HVM guest has a .xen_p2m");
	VARIANT(memcpy(b.buf + b.size - sizeof(shstrtab) + name_of(".xen_shared_info"),
		       ".xen_pages", 11),
		"two .xen_pages");
#undef VARIANT
}

/* Padding amid the entries: the pages after it keep their own place. */
static void test_padding_between_entries(void **state)
{
	static const uint64_t pfn[] = { 0x10, INVALID, 0x11, 0x12 };
	union ctx_any ctx[1];
	struct spec sp = { .nr_vcpus = 1, .ctx = ctx, .nr_pages = 4,
			   .pfn = pfn };
	struct built b;
	struct dump_image img;
	char *msg = NULL;

	(void)state;
	ctx64(&ctx[0].x64, 0, true, false);
	build(&sp, &b);
	if (dump_parse(b.buf, b.size, FILE_NAME, &img, &msg))
		fail_msg("parse failed: %s", msg);
	assert_int_equal(img.nranges, 2);
	page_at(&img, &b, 0x10000, 0);
	page_at(&img, &b, 0x11000, 2);
	page_at(&img, &b, 0x12000, 3);
	assert_int_equal(img.ranges[1].paddr, 0x11000);
	assert_int_equal(img.ranges[1].size, 2 * PAGE);
	dump_image_free(&img);
	free(b.buf);
}

static void test_pv_half_invalid_entry(void **state)
{
	static const uint64_t pfn[] = { 0, 1 };
	static const uint64_t gmfn[] = { 0x500, INVALID };
	union ctx_any ctx[1];
	struct spec sp = { .pv = true, .nr_vcpus = 1, .ctx = ctx,
			   .nr_pages = 2, .pfn = pfn, .gmfn = gmfn };
	struct built b;

	(void)state;
	ctx64(&ctx[0].x64, 0, true, true);
	build(&sp, &b);
	expect_reject(&b, b.size, "pairs pfn 0x1 with gmfn");
	free(b.buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hvm64),
		cmocka_unit_test(test_hvm_low_addresses_is_32bit),
		cmocka_unit_test(test_pv64),
		cmocka_unit_test(test_pv32),
		cmocka_unit_test(test_fpu_not_valid_without_flag),
		cmocka_unit_test(test_detection),
		cmocka_unit_test(test_truncated_everywhere),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_padding_between_entries),
		cmocka_unit_test(test_pv_half_invalid_entry),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
