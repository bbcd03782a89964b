// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What every dump format shares: format detection, the sorted table of
 * physical ranges, lookups in it, and the registers that can be derived
 * from the guest's own state when a format does not record them.
 */
#include "stub/guest/dump.h"

#include <elf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/paging.h"
#include "stub/base/strbuf.h"

int dump_parse(const uint8_t *data, size_t size, const char *name,
	       struct dump_image *out, char **msg)
{
	memset(out, 0, sizeof(*out));
	if (size < EI_NIDENT || memcmp(data, ELFMAG, SELFMAG)) {
		*msg = xstrfmt("%s: not an ELF file (expected a QEMU dump-guest-memory or Xen dump-core file%s)",
			    name, size < EI_NIDENT ? "; the file is shorter than an ELF header" : "");
		return -EINVAL;
	}
	if (dump_is_xen_core(data, size))
		return dump_parse_xen_core(data, size, name, out, msg);
	return dump_parse_qemu_elf(data, size, name, out, msg);
}

void dump_image_free(struct dump_image *img)
{
	free(img->vcpus);
	free(img->ranges);
	free(img->remarks);
	memset(img, 0, sizeof(*img));
}

static int range_cmp(const void *a, const void *b)
{
	const struct dump_range *x = a, *y = b;

	return x->paddr < y->paddr ? -1 : x->paddr > y->paddr;
}

int dump_check_ranges(struct dump_image *img, size_t file_size,
		      const char *name, char **msg)
{
	size_t i;

	for (i = 0; i < img->nranges; i++) {
		const struct dump_range *r = &img->ranges[i];

		if (r->offset > file_size || r->size > file_size - r->offset) {
			*msg = xstrfmt("%s: truncated: the memory at guest-physical 0x%llx..0x%llx lies at file offset 0x%llx..0x%llx, beyond the file's end (%zu bytes)",
				    name, (unsigned long long)r->paddr,
				    (unsigned long long)(r->paddr + r->size),
				    (unsigned long long)r->offset,
				    (unsigned long long)(r->offset + r->size),
				    file_size);
			return -EINVAL;
		}
		if (r->paddr + r->size < r->paddr) {
			*msg = xstrfmt("%s: corrupt: a memory range at 0x%llx wraps past the top of the address space",
				    name, (unsigned long long)r->paddr);
			return -EINVAL;
		}
	}
	qsort(img->ranges, img->nranges, sizeof(*img->ranges), range_cmp);
	for (i = 1; i < img->nranges; i++) {
		const struct dump_range *a = &img->ranges[i - 1];
		const struct dump_range *b = &img->ranges[i];

		if (a->paddr + a->size > b->paddr) {
			*msg = xstrfmt("%s: corrupt: memory ranges 0x%llx..0x%llx and 0x%llx..0x%llx overlap",
				    name, (unsigned long long)a->paddr,
				    (unsigned long long)(a->paddr + a->size),
				    (unsigned long long)b->paddr,
				    (unsigned long long)(b->paddr + b->size));
			return -EINVAL;
		}
	}
	return 0;
}

const struct dump_range *dump_find(const struct dump_image *img,
				   uint64_t paddr)
{
	size_t lo = 0, hi = img->nranges;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct dump_range *r = &img->ranges[mid];

		if (paddr < r->paddr)
			hi = mid;
		else if (paddr - r->paddr >= r->size)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

struct scan_ctx {
	const struct dump_image *img;
	const uint8_t *data;
	unsigned budget;	/* tables left to read */
};

static const uint8_t *phys_ptr(const struct scan_ctx *c, uint64_t pa,
			       size_t len)
{
	const struct dump_range *r = dump_find(c->img, pa);

	if (!r || pa - r->paddr + len > r->size)
		return NULL;
	return c->data + r->offset + (pa - r->paddr);
}

/* True when a present entry in the tree at table (depth levels left
 * below it) has NX set: proof that EFER.NXE is on. */
static int tables_use_nx(struct scan_ctx *c, uint64_t table, unsigned depth)
{
	const uint8_t *t;
	unsigned i;

	if (!c->budget)
		return 0;
	c->budget--;
	t = phys_ptr(c, table, 4096);
	if (!t)
		return 0;
	for (i = 0; i < 512; i++) {
		uint64_t e;

		memcpy(&e, t + 8 * i, 8);
		if (!(e & X86_PTE_P))
			continue;
		if (e & X86_PTE_NX)
			return 1;
		if (depth > 1 && !(e & X86_PTE_PS) &&
		    tables_use_nx(c, e & 0x000ffffffffff000ull, depth - 1))
			return 1;
	}
	return 0;
}

static void add_remark(struct dump_image *img, const char *text)
{
	struct strbuf sb = STRBUF_INIT;

	if (img->remarks && strstr(img->remarks, text))
		return;
	if (img->remarks) {
		strbuf_addstr(&sb, img->remarks);
		strbuf_addch(&sb, '\n');
		free(img->remarks);
	}
	strbuf_addstr(&sb, text);
	img->remarks = strbuf_detach(&sb, NULL);
}

void dump_derive_registers(struct dump_image *img, const uint8_t *data)
{
	unsigned v;

	for (v = 0; v < img->nr_vcpus; v++) {
		struct x86_regs *r = &img->vcpus[v];
		struct scan_ctx c = { img, data, 4096 };
		uint64_t efer = 0;
		enum x86_paging_mode mode;

		if (x86_valid(r, XF_EFER) || !x86_valid(r, XF_CR0) ||
		    !x86_valid(r, XF_CR4) || !x86_valid(r, XF_CR3))
			continue;
		if (img->bits == 64 && (r->cr0 & X86_CR0_PG) &&
		    (r->cr4 & X86_CR4_PAE))
			efer |= X86_EFER_LME | X86_EFER_LMA | 1 /* SCE */;
		mode = x86_paging_mode(r->cr0, r->cr4, efer);
		if (mode == X86_PAGING_PAE) {
			uint64_t root = x86_cr3_root(mode, r->cr3);
			const uint8_t *pdpt = phys_ptr(&c, root, 32);
			unsigned i;

			for (i = 0; pdpt && i < 4; i++) {
				uint64_t e;

				memcpy(&e, pdpt + 8 * i, 8);
				if ((e & X86_PTE_P) &&
				    tables_use_nx(&c, e & 0x000ffffffffff000ull, 2)) {
					efer |= X86_EFER_NXE;
					break;
				}
			}
		} else if (mode == X86_PAGING_4LEVEL || mode == X86_PAGING_5LEVEL) {
			if (tables_use_nx(&c, x86_cr3_root(mode, r->cr3),
					  mode == X86_PAGING_5LEVEL ? 4 : 3))
				efer |= X86_EFER_NXE;
		}
		r->efer = efer;
		x86_set_valid(r, XF_EFER);
		add_remark(img, "EFER is not recorded in this dump format: derived from the guest's state "
			   "(LME and LMA from long mode, NXE from NX bits in the page tables in use, "
			   "SCE assumed in long mode, where every 64-bit OS enables SYSCALL).");
	}
}
