// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Xen "xl dump-core" files (xc_domain_dumpcore): the guest's pages, the
 * frame number of each, and every vCPU's vcpu_guest_context, turned into
 * the neutral struct dump_image of stub/guest/dump.h.
 *
 * The layout below is the one written by Xen's tools/libs/guest/xg_core.c
 * (dump-core format version 0.1, unchanged since Xen 3.1) and described in
 * Xen's docs/misc/dump-core-format.txt. No file written by a real Xen host
 * was available when this parser was written: it is tested on synthetic
 * files built from that description (tests/unit/test-dump-xen.c,
 * tests/tools/make-xen-dumpcore.py).
 *
 * ELF header
 *   ELFCLASS64 whatever the guest (dumps by Xen before 3.1 from 32-bit
 *   hosts used ELFCLASS32: both are read), ELFDATA2LSB, ET_CORE, no
 *   program headers (e_phnum 0), section headers right after the ELF
 *   header (e_shoff 64). e_machine gives the layout of the vCPU contexts:
 *     EM_X86_64  vcpu_guest_context_x86_64: a 64-bit PV guest, or any HVM
 *                or PVH guest (the tools use their own word size for them)
 *     EM_386     vcpu_guest_context_x86_32: a 32-bit PV guest (or any
 *                guest of a 32-bit Xen host)
 *   PV or HVM comes from the header note's magic, not from the ELF header.
 *
 * Sections, found by name through .shstrtab (readers must not rely on
 * their order; Xen writes them in this order):
 *   [0]               the null section
 *   .shstrtab         section names (written last in the file)
 *   .note.Xen         SHT_NOTE, the notes below
 *   .xen_prstatus     vcpu_guest_context[nr_vcpus], sh_entsize bytes apart
 *                     (sizeof(vcpu_guest_context_any_t), 5168, for both
 *                     layouts)
 *   .xen_shared_info  the domain's shared_info page, optional, not used
 *   .xen_pages        nr_pages pages of page_size bytes, page-aligned
 *   .xen_p2m          PV (not auto-translated): {uint64 pfn, uint64 gmfn}
 *                     [nr_pages], by ascending pfn
 *   .xen_pfn          HVM/PVH (auto-translated): uint64 pfn[nr_pages],
 *                     ascending
 *   Entry i of .xen_p2m or .xen_pfn names page i of .xen_pages. An entry
 *   of all ones (~0) is padding after the real pages: its page is zeros
 *   and belongs nowhere. No other architecture section exists on x86.
 *
 * A file is taken as a dump-core file when a section is named .xen_pages,
 * or, for a file cut short before its section names, when a note section
 * starts with one of the notes below.
 *
 * Notes in .note.Xen: name "Xen" (namesz 4), 4-byte padding:
 *   XEN_ELFNOTE_DUMPCORE_NONE           0x2000000, empty: "a dump-core file"
 *   XEN_ELFNOTE_DUMPCORE_HEADER         0x2000001, xen_dumpcore_elfnote_
 *       header_desc: u64 magic (0xF00FEBED PV, 0xF00FEBEE HVM), u64
 *       nr_vcpus, u64 nr_pages, u64 page_size (4096 on x86). Required.
 *   XEN_ELFNOTE_DUMPCORE_XEN_VERSION    0x2000002: u64 major, u64 minor,
 *       char extra[16], compile info, capabilities, changeset, ... (only
 *       the version is used, for the remarks)
 *   XEN_ELFNOTE_DUMPCORE_FORMAT_VERSION 0x2000003: u64 (major << 32 |
 *       minor); 0.1 is current. Another major version is refused.
 *
 * vCPU contexts: vcpu_guest_context of the x86_64 or x86_32 ABI, decoded
 * by arch/x86/xen-save.c (which documents the layouts and which GS base
 * is in use). flags: VGCF_online (bit 5) tells whether the vCPU was up.
 * Xen leaves out vCPUs whose context it cannot read, so vCPU ids with
 * holes are renumbered densely.
 *
 * Which addresses the pages get:
 *   HVM/PVH: the pfn, a guest-physical frame, as the guest sees it.
 *   PV:      the gmfn, the machine frame: a PV guest's page tables and its
 *            CR3 hold machine frames, so that is where page walks land.
 *            The guest's pseudo-physical numbers (pfn) are not addresses.
 * Consecutive frames that are consecutive in .xen_pages become one range;
 * frames absent from the file stay absent (reads of them fail).
 *
 * Guest width: EM_386 files are 32-bit, 64-bit PV guests are 64-bit. An
 * HVM file does not say: the guest is taken as 64-bit when a vCPU holds an
 * address above 4 GiB (rip, rsp, fs or gs base), which every 64-bit kernel
 * does, and as 32-bit otherwise; the remarks say so.
 */
#include <elf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/xen-save.h"
#include "stub/base/log.h"
#include "stub/base/num.h"
#include "stub/base/strbuf.h"
#include "stub/guest/dump.h"

/* xen/include/public/elfnote.h */
#define XEN_ELFNOTE_DUMPCORE_NONE 0x2000000u
#define XEN_ELFNOTE_DUMPCORE_HEADER 0x2000001u
#define XEN_ELFNOTE_DUMPCORE_XEN_VERSION 0x2000002u
#define XEN_ELFNOTE_DUMPCORE_FORMAT_VERSION 0x2000003u
/* tools/include/xenctrl.h */
#define XC_CORE_MAGIC 0xf00febedull
#define XC_CORE_MAGIC_HVM 0xf00febeeull
#define XC_CORE_INVALID ~0ull

#define XEN_PAGE_SIZE 4096u
#define MAX_VCPUS 4096
/* frames above 2^40 are beyond x86's 52-bit physical address space */
#define MAX_FRAME ((1ull << 40) - 1)

/* One ABI of vcpu_guest_context. */
struct ctx_layout {
	const char *arch;
	unsigned word;		/* 8 or 4 */
};

static const struct ctx_layout ctx64 = { "x86_64", 8 };
static const struct ctx_layout ctx32 = { "i386", 4 };

struct xen_section {
	bool present;
	uint64_t offset, size, entsize;
};

/* What the ELF structure and the notes say, before any page is looked at. */
struct xen_core {
	const uint8_t *data;
	size_t size;
	const char *name;
	bool is64;		/* ELF class */
	unsigned machine;
	uint64_t shoff;
	unsigned shentsize, shnum, shstrndx;
	struct xen_section note, prstatus, pages, p2m, pfn;
	bool have_header, have_format, have_version;
	uint64_t magic, nr_vcpus, nr_pages, page_size;
	uint64_t format_version;
	uint64_t xen_major, xen_minor;
	char xen_extra[17];
};

/* Sets *msg (when msg is not NULL) to "FILE: what" and returns -EINVAL. */
static int bad(const struct xen_core *x, char **msg, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int bad(const struct xen_core *x, char **msg, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	if (!msg)
		return -EINVAL;
	strbuf_addf(&sb, "%s: ", x->name);
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	*msg = strbuf_detach(&sb, NULL);
	return -EINVAL;
}

/* True when [offset, offset + len) lies inside the file. */
static bool in_file(const struct xen_core *x, uint64_t offset, uint64_t len)
{
	return offset <= x->size && len <= x->size - offset;
}

static int read_ehdr(struct xen_core *x, char **msg)
{
	const uint8_t *d = x->data;

	if (x->size < EI_NIDENT || memcmp(d, ELFMAG, SELFMAG))
		return bad(x, msg, "not an ELF file");
	if (d[EI_CLASS] != ELFCLASS64 && d[EI_CLASS] != ELFCLASS32)
		return bad(x, msg, "unsupported ELF class %u", d[EI_CLASS]);
	x->is64 = d[EI_CLASS] == ELFCLASS64;
	if (x->size < (x->is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr)))
		return bad(x, msg, "truncated: the file (%zu bytes) is shorter than its ELF header",
			   x->size);
	if (d[EI_DATA] != ELFDATA2LSB)
		return bad(x, msg, "big-endian ELF file: not an x86 guest dump");
	if (x->is64) {
		x->machine = (unsigned)get_le(d + offsetof(Elf64_Ehdr, e_machine), 2);
		x->shoff = get_le(d + offsetof(Elf64_Ehdr, e_shoff), 8);
		x->shentsize = (unsigned)get_le(d + offsetof(Elf64_Ehdr, e_shentsize), 2);
		x->shnum = (unsigned)get_le(d + offsetof(Elf64_Ehdr, e_shnum), 2);
		x->shstrndx = (unsigned)get_le(d + offsetof(Elf64_Ehdr, e_shstrndx), 2);
	} else {
		x->machine = (unsigned)get_le(d + offsetof(Elf32_Ehdr, e_machine), 2);
		x->shoff = get_le(d + offsetof(Elf32_Ehdr, e_shoff), 4);
		x->shentsize = (unsigned)get_le(d + offsetof(Elf32_Ehdr, e_shentsize), 2);
		x->shnum = (unsigned)get_le(d + offsetof(Elf32_Ehdr, e_shnum), 2);
		x->shstrndx = (unsigned)get_le(d + offsetof(Elf32_Ehdr, e_shstrndx), 2);
	}
	if (!x->shnum)
		return bad(x, msg, "no section headers: a Xen dump-core file has .note.Xen, .xen_prstatus and .xen_pages sections");
	if (x->shentsize != (x->is64 ? sizeof(Elf64_Shdr) : sizeof(Elf32_Shdr)))
		return bad(x, msg, "corrupt ELF header: section header size %u", x->shentsize);
	if (x->shoff > x->size || x->shnum > (x->size - x->shoff) / x->shentsize)
		return bad(x, msg, "truncated: %u section headers at offset 0x%llx do not fit in the file's %zu bytes",
			   x->shnum, (unsigned long long)x->shoff, x->size);
	if (x->shstrndx >= x->shnum)
		return bad(x, msg, "corrupt ELF header: the section name table is section %u of %u",
			   x->shstrndx, x->shnum);
	return 0;
}

struct shdr {
	uint32_t name, type;
	uint64_t offset, size, entsize;
};

static void get_shdr(const struct xen_core *x, unsigned i, struct shdr *s)
{
	const uint8_t *h = x->data + x->shoff + (uint64_t)i * x->shentsize;

	if (x->is64) {
		s->name = (uint32_t)get_le(h + offsetof(Elf64_Shdr, sh_name), 4);
		s->type = (uint32_t)get_le(h + offsetof(Elf64_Shdr, sh_type), 4);
		s->offset = get_le(h + offsetof(Elf64_Shdr, sh_offset), 8);
		s->size = get_le(h + offsetof(Elf64_Shdr, sh_size), 8);
		s->entsize = get_le(h + offsetof(Elf64_Shdr, sh_entsize), 8);
	} else {
		s->name = (uint32_t)get_le(h + offsetof(Elf32_Shdr, sh_name), 4);
		s->type = (uint32_t)get_le(h + offsetof(Elf32_Shdr, sh_type), 4);
		s->offset = get_le(h + offsetof(Elf32_Shdr, sh_offset), 4);
		s->size = get_le(h + offsetof(Elf32_Shdr, sh_size), 4);
		s->entsize = get_le(h + offsetof(Elf32_Shdr, sh_entsize), 4);
	}
}

/* Finds the sections by name. Only the name table must lie in the file
 * here; the sections used are checked by check_section. */
static int find_sections(struct xen_core *x, char **msg)
{
	const struct {
		const char *name;
		struct xen_section *sec;
	} known[] = {
		{ ".note.Xen", &x->note },
		{ ".xen_prstatus", &x->prstatus },
		{ ".xen_pages", &x->pages },
		{ ".xen_p2m", &x->p2m },
		{ ".xen_pfn", &x->pfn },
	};
	struct shdr strtab;
	const char *names;
	unsigned i, k;

	get_shdr(x, x->shstrndx, &strtab);
	if (!in_file(x, strtab.offset, strtab.size))
		return bad(x, msg, "truncated: the section name table (offset 0x%llx, %llu bytes) lies beyond the file's end (%zu bytes)",
			   (unsigned long long)strtab.offset,
			   (unsigned long long)strtab.size, x->size);
	names = (const char *)x->data + strtab.offset;
	for (i = 1; i < x->shnum; i++) {
		struct shdr s;
		const char *nm;

		get_shdr(x, i, &s);
		if (s.name >= strtab.size)
			continue;
		nm = names + s.name;
		if (!memchr(nm, 0, strtab.size - s.name))
			continue;
		for (k = 0; k < sizeof(known) / sizeof(known[0]); k++) {
			struct xen_section *sec = known[k].sec;

			if (strcmp(nm, known[k].name))
				continue;
			if (sec->present)
				return bad(x, msg, "corrupt: two %s sections", nm);
			sec->present = true;
			sec->offset = s.offset;
			sec->size = s.size;
			sec->entsize = s.entsize;
		}
	}
	return 0;
}

static int check_section(const struct xen_core *x, const struct xen_section *s,
			 const char *what, char **msg)
{
	if (!s->present)
		return bad(x, msg, "corrupt: no %s section", what);
	if (!in_file(x, s->offset, s->size))
		return bad(x, msg, "truncated: section %s (offset 0x%llx, %llu bytes) ends beyond the file's end (%zu bytes)",
			   what, (unsigned long long)s->offset,
			   (unsigned long long)s->size, x->size);
	return 0;
}

/* Copies a NUL-padded string of at most n bytes from the file, keeping
 * printable ASCII only. dst has room for n + 1 bytes. */
static void copy_printable(char *dst, const uint8_t *src, size_t n)
{
	size_t i, j = 0;

	for (i = 0; i < n && src[i]; i++)
		if (src[i] >= 0x20 && src[i] < 0x7f)
			dst[j++] = (char)src[i];
	dst[j] = 0;
}

static int read_notes(struct xen_core *x, char **msg)
{
	const uint8_t *sec = x->data + x->note.offset;
	uint64_t len = x->note.size, off = 0;

	while (len - off >= 12) {
		const uint8_t *n = sec + off;
		uint64_t namesz = get_le(n, 4), descsz = get_le(n + 4, 4);
		uint32_t type = (uint32_t)get_le(n + 8, 4);
		uint64_t nsz = (namesz + 3) & ~3ull, dsz = (descsz + 3) & ~3ull;
		const uint8_t *desc = n + 12 + nsz;

		if (nsz > len - off - 12 || dsz > len - off - 12 - nsz)
			return bad(x, msg, "corrupt: the note at offset 0x%llx runs past the end of .note.Xen",
				   (unsigned long long)(x->note.offset + off));
		off += 12 + nsz + dsz;
		if (namesz != 4 || memcmp(n + 12, "Xen", 4))
			continue;
		switch (type) {
		case XEN_ELFNOTE_DUMPCORE_HEADER:
			if (x->have_header)
				return bad(x, msg, "corrupt: two dump-core header notes");
			if (descsz < 32)
				return bad(x, msg, "corrupt: dump-core header note of %llu bytes, expected 32",
					   (unsigned long long)descsz);
			x->have_header = true;
			x->magic = get_le(desc, 8);
			x->nr_vcpus = get_le(desc + 8, 8);
			x->nr_pages = get_le(desc + 16, 8);
			x->page_size = get_le(desc + 24, 8);
			break;
		case XEN_ELFNOTE_DUMPCORE_FORMAT_VERSION:
			if (descsz < 8)
				return bad(x, msg, "corrupt: format version note of %llu bytes, expected 8",
					   (unsigned long long)descsz);
			x->have_format = true;
			x->format_version = get_le(desc, 8);
			break;
		case XEN_ELFNOTE_DUMPCORE_XEN_VERSION:
			if (descsz < 32)
				break;
			x->have_version = true;
			x->xen_major = get_le(desc, 8);
			x->xen_minor = get_le(desc + 8, 8);
			copy_printable(x->xen_extra, desc + 16, 16);
			break;
		default:
			break;
		}
	}
	if (!x->have_header)
		return bad(x, msg, "corrupt: no dump-core header note (type 0x%x) in .note.Xen",
			   XEN_ELFNOTE_DUMPCORE_HEADER);
	return 0;
}

/* Parses everything but the pages and contexts. */
static int read_structure(struct xen_core *x, char **msg)
{
	int rc;

	rc = read_ehdr(x, msg);
	if (!rc)
		rc = find_sections(x, msg);
	if (rc)
		return rc;
	if (!x->pages.present)
		return bad(x, msg, "not a Xen dump-core file: no .xen_pages section");
	rc = check_section(x, &x->note, ".note.Xen", msg);
	if (!rc)
		rc = read_notes(x, msg);
	return rc;
}

/* True when a note section in the file starts with a dump-core note:
 * how a dump cut short (its section names are written last) is known. */
static bool has_dumpcore_note(const struct xen_core *x)
{
	unsigned i;

	for (i = 1; i < x->shnum; i++) {
		struct shdr s;
		const uint8_t *n;
		uint32_t type;

		get_shdr(x, i, &s);
		if (s.type != SHT_NOTE || s.size < 16 ||
		    !in_file(x, s.offset, s.size))
			continue;
		n = x->data + s.offset;
		type = (uint32_t)get_le(n + 8, 4);
		if (get_le(n, 4) == 4 && !memcmp(n + 12, "Xen", 4) &&
		    type >= XEN_ELFNOTE_DUMPCORE_NONE &&
		    type <= XEN_ELFNOTE_DUMPCORE_FORMAT_VERSION)
			return true;
	}
	return false;
}

int dump_is_xen_core(const uint8_t *data, size_t size)
{
	struct xen_core x = { .data = data, .size = size, .name = "" };

	if (read_ehdr(&x, NULL))
		return 0;
	if (!find_sections(&x, NULL) && x.pages.present)
		return 1;
	return has_dumpcore_note(&x);
}

/* True when bits beyond the low 32 are set: only a 64-bit vCPU has that
 * in its instruction pointer, stack pointer or segment bases. */
static bool shows_64bit(const struct x86_regs *r)
{
	return (r->rip | r->gpr[X86_RSP] | r->seg[X86_FS].base |
		r->seg[X86_GS].base | r->k_gs_base) >> 32;
}

static int load_vcpus(const struct xen_core *x, const struct ctx_layout *l,
		      bool pv, struct dump_image *out, struct strbuf *remarks,
		      char **msg)
{
	const struct xen_section *s = &x->prstatus;
	uint64_t stride, i;
	struct strbuf offline = STRBUF_INIT;
	int rc;

	rc = check_section(x, s, ".xen_prstatus", msg);
	if (rc)
		return rc;
	if (!x->nr_vcpus)
		return bad(x, msg, "corrupt: the dump-core header counts no vCPU");
	if (x->nr_vcpus > MAX_VCPUS)
		return bad(x, msg, "corrupt: the dump-core header counts %llu vCPUs (at most %u are supported)",
			   (unsigned long long)x->nr_vcpus, MAX_VCPUS);
	stride = s->entsize ? s->entsize : s->size / x->nr_vcpus;
	if (stride < xen_vcpu_ctx_size(l->word))
		return bad(x, msg, "corrupt: .xen_prstatus entries of %llu bytes are smaller than an %s vcpu_guest_context (%zu bytes)",
			   (unsigned long long)stride, l->arch, xen_vcpu_ctx_size(l->word));
	if (s->size / stride != x->nr_vcpus || s->size % stride)
		return bad(x, msg, "corrupt: .xen_prstatus holds %llu bytes, not the %llu vCPU contexts of %llu bytes the header announces",
			   (unsigned long long)s->size,
			   (unsigned long long)x->nr_vcpus,
			   (unsigned long long)stride);
	out->nr_vcpus = (unsigned)x->nr_vcpus;
	out->vcpus = xcalloc(out->nr_vcpus, sizeof(*out->vcpus));
	for (i = 0; i < x->nr_vcpus; i++) {
		const uint8_t *c = x->data + s->offset + i * stride;

		xen_vcpu_ctx_to_regs(c, l->word, pv, &out->vcpus[i]);
		if (!(xen_vcpu_ctx_flags(c, l->word) & XEN_VGCF_ONLINE))
			strbuf_addf(&offline, "%s%llu", offline.len ? ", " : "",
				    (unsigned long long)i);
	}
	if (offline.len)
		strbuf_addf(remarks, "vCPU %s %s offline when the dump was taken: registers as Xen last saved them.\n",
			    offline.buf, strchr(offline.buf, ',') ? "were" : "was");
	strbuf_release(&offline);
	return 0;
}

static int load_pages(const struct xen_core *x, bool pv,
		      struct dump_image *out, char **msg)
{
	const struct xen_section *idx = pv ? &x->p2m : &x->pfn;
	const char *idx_name = pv ? ".xen_p2m" : ".xen_pfn";
	unsigned esz = pv ? 16 : 8;
	struct dump_range *cur = NULL;
	uint64_t i, prev_frame = 0, prev_page = 0;
	int rc;

	if ((pv ? &x->pfn : &x->p2m)->present)
		return bad(x, msg, "corrupt: the dump of %s guest has a %s section",
			   pv ? "a PV" : "an HVM", pv ? ".xen_pfn" : ".xen_p2m");
	rc = check_section(x, &x->pages, ".xen_pages", msg);
	if (!rc)
		rc = check_section(x, idx, idx_name, msg);
	if (rc)
		return rc;
	if (x->nr_pages > x->pages.size / XEN_PAGE_SIZE ||
	    x->pages.size != x->nr_pages * XEN_PAGE_SIZE)
		return bad(x, msg, "corrupt: .xen_pages holds %llu bytes, not the %llu pages the header announces",
			   (unsigned long long)x->pages.size,
			   (unsigned long long)x->nr_pages);
	if (idx->size != x->nr_pages * esz)
		return bad(x, msg, "corrupt: %s holds %llu bytes, not %llu entries of %u bytes for the header's %llu pages",
			   idx_name, (unsigned long long)idx->size,
			   (unsigned long long)x->nr_pages, esz,
			   (unsigned long long)x->nr_pages);
	out->ranges = xcalloc(x->nr_pages ? x->nr_pages : 1,
			      sizeof(*out->ranges));
	for (i = 0; i < x->nr_pages; i++) {
		const uint8_t *e = x->data + idx->offset + i * esz;
		uint64_t pfn = get_le(e, 8);
		uint64_t frame = pv ? get_le(e + 8, 8) : pfn;

		if (pfn == XC_CORE_INVALID && frame == XC_CORE_INVALID)
			continue;	/* padding: a zero page of nothing */
		if (pfn == XC_CORE_INVALID || frame == XC_CORE_INVALID)
			return bad(x, msg, "corrupt: %s entry %llu pairs pfn 0x%llx with gmfn 0x%llx",
				   idx_name, (unsigned long long)i,
				   (unsigned long long)pfn,
				   (unsigned long long)frame);
		if (frame > MAX_FRAME)
			return bad(x, msg, "corrupt: %s entry %llu names frame 0x%llx, beyond the 52-bit physical address space",
				   idx_name, (unsigned long long)i,
				   (unsigned long long)frame);
		if (cur && frame == prev_frame + 1 && i == prev_page + 1) {
			cur->size += XEN_PAGE_SIZE;
		} else {
			cur = &out->ranges[out->nranges++];
			cur->paddr = frame * XEN_PAGE_SIZE;
			cur->size = XEN_PAGE_SIZE;
			cur->offset = x->pages.offset + i * XEN_PAGE_SIZE;
		}
		prev_frame = frame;
		prev_page = i;
	}
	if (!out->nranges)
		return bad(x, msg, "no memory: every entry of %s is padding", idx_name);
	return dump_check_ranges(out, x->size, x->name, msg);
}

int dump_parse_xen_core(const uint8_t *data, size_t size, const char *name,
			struct dump_image *out, char **msg)
{
	struct xen_core x = { .data = data, .size = size, .name = name };
	struct strbuf remarks = STRBUF_INIT;
	const struct ctx_layout *l;
	bool pv;
	unsigned v;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = read_structure(&x, msg);
	if (rc)
		goto fail;
	if (x.machine == EM_X86_64) {
		l = &ctx64;
	} else if (x.machine == EM_386) {
		l = &ctx32;
	} else {
		rc = bad(&x, msg, "unsupported: ELF machine %u; Xen dump-core files of x86_64 (%u) and i386 (%u) guests are supported",
			 x.machine, EM_X86_64, EM_386);
		goto fail;
	}
	if (x.magic != XC_CORE_MAGIC && x.magic != XC_CORE_MAGIC_HVM) {
		rc = bad(&x, msg, "corrupt: dump-core magic 0x%llx, expected 0x%llx (PV) or 0x%llx (HVM)",
			 (unsigned long long)x.magic, XC_CORE_MAGIC,
			 XC_CORE_MAGIC_HVM);
		goto fail;
	}
	pv = x.magic == XC_CORE_MAGIC;
	if (x.have_format && x.format_version >> 32) {
		rc = bad(&x, msg, "unsupported dump-core format version %llu.%llu (this reader knows 0.x)",
			 (unsigned long long)(x.format_version >> 32),
			 (unsigned long long)(x.format_version & 0xffffffffu));
		goto fail;
	}
	if (x.page_size != XEN_PAGE_SIZE) {
		rc = bad(&x, msg, "unsupported page size %llu in the dump-core header (x86 guests use %u)",
			 (unsigned long long)x.page_size, XEN_PAGE_SIZE);
		goto fail;
	}
	rc = load_pages(&x, pv, out, msg);
	if (rc)
		goto fail;
	rc = load_vcpus(&x, l, pv, out, &remarks, msg);
	if (rc)
		goto fail;

	out->bits = l->word == 8 ? 64 : 32;
	if (!pv && l->word == 8) {
		for (v = 0; v < out->nr_vcpus; v++)
			if (shows_64bit(&out->vcpus[v]))
				break;
		if (v == out->nr_vcpus) {
			out->bits = 32;
			strbuf_addstr(&remarks, "The guest's width is not recorded in an HVM dump-core file and no vCPU holds an address above 4 GiB: "
				      "the guest is taken as 32-bit.\n");
		}
	}
	if (pv)
		strbuf_addstr(&remarks, "PV guest: physical addresses are machine frames (gmfn), as in the guest's page tables and CR3; "
			      "the guest's pseudo-physical frame numbers are not addresses here.\n");
	if (x.have_version)
		strbuf_addf(&remarks, "Dumped by Xen %llu.%llu%s.\n",
			    (unsigned long long)x.xen_major,
			    (unsigned long long)x.xen_minor, x.xen_extra);
	if (!x.have_format)
		strbuf_addstr(&remarks, "The file has no dump-core format version note: read as format 0.1.\n");
	snprintf(out->format, sizeof(out->format), "Xen dump-core (%s, %s)",
		 pv ? "PV" : "HVM", out->bits == 64 ? "x86_64" : "i386");
	if (remarks.len) {
		strbuf_setlen(&remarks, remarks.len - 1);
		out->remarks = strbuf_detach(&remarks, NULL);
	}
	log_dbg(LC_TARGET, "%s: %s, %u vCPUs, %llu pages in %zu ranges",
		name, out->format, out->nr_vcpus,
		(unsigned long long)x.nr_pages, out->nranges);
	dump_derive_registers(out, data);
	return 0;
fail:
	strbuf_release(&remarks);
	dump_image_free(out);
	return rc;
}
