// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Finding a Linux kernel with no configuration: the kernel's page tables
 * and image from the vCPUs' registers, VMCOREINFO by a bounded scan of
 * guest-physical memory, the symbol table (System.map or an ISF profile
 * the user gave, kallsyms through VMCOREINFO, or kallsyms by signature),
 * the KASLR slide, and the types (an ISF profile, or BTF in memory).
 * Each step records where its answer came from, for "monitor os".
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arch/x86/paging.h"
#include "os-awareness/btf.h"
#include "os-awareness/isf.h"
#include "os-awareness/kallsyms.h"
#include "os-awareness/linux-infer.h"
#include "os-awareness/linux-internal.h"
#include "os-awareness/sysmap.h"
#include "stub/base/log.h"
#include "stub/guest/vmem.h"

#define KMAP_64 0xffffffff80000000ull	/* __START_KERNEL_map */
#define KLINK_64 0xffffffff81000000ull	/* default link address of _text */
#define KMAP_32 0xc0000000ull
#define KLINK_32 0xc1000000ull
#define ALIGN_2M (2ull << 20)
#define IMAGE_SPAN (1ull << 30)		/* KERNEL_IMAGE_SIZE with KASLR */
#define MAX_PTRS 16
#define BTF_MAX (64u << 20)

struct finder {
	struct lx *lx;
	const struct os_env *env;
	struct x86_regs *vregs;
	bool *vok;
	struct strbuf vmci;		/* VMCOREINFO text, or empty */
	uint64_t vmci_pa;
	uint64_t ptrs[MAX_PTRS];	/* addresses in kernel code */
	unsigned nptrs;
	uint64_t img_lo, img_hi;	/* mapped kernel image */
	uint64_t kimg;			/* lowest address of the image map */
	struct strbuf *why;
	const char *profile;		/* the ISF profile's path, or NULL */
	const char *vmlinux;		/* a vmlinux given as the profile */
	bool user_symbols;		/* symbols from a file the user gave */
};

static int read_cb(void *ctx, uint64_t addr, void *buf, size_t len)
{
	return lx_read(ctx, addr, buf, len);
}

static void why_add(struct finder *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void why_add(struct finder *f, const char *fmt, ...)
{
	va_list ap;

	if (f->why->len)
		strbuf_addstr(f->why, "; ");
	va_start(ap, fmt);
	strbuf_vaddf(f->why, fmt, ap);
	va_end(ap);
}

/* ---- VMCOREINFO ---- */

/* The value of "KEY=value" in the text, into val: true when found. */
static bool vmci_get(const struct strbuf *t, const char *key, char *val,
		     size_t vlen)
{
	size_t kl = strlen(key);
	const char *p = t->buf;

	while (p && *p) {
		const char *eol = strchr(p, '\n');
		size_t ll = eol ? (size_t)(eol - p) : strlen(p);

		if (ll > kl && !strncmp(p, key, kl) && p[kl] == '=') {
			size_t n = ll - kl - 1;

			if (n >= vlen)
				n = vlen - 1;
			memcpy(val, p + kl + 1, n);
			val[n] = 0;
			return true;
		}
		p = eol ? eol + 1 : NULL;
	}
	return false;
}

static bool vmci_hex(const struct strbuf *t, const char *key, uint64_t *v)
{
	char val[40], *end;

	if (!vmci_get(t, key, val, sizeof(val)))
		return false;
	*v = strtoull(val, &end, 16);
	return end != val && !*end;
}

static bool vmci_sym(const struct strbuf *t, const char *name, uint64_t *v)
{
	char key[96];

	snprintf(key, sizeof(key), "SYMBOL(%s)", name);
	return vmci_hex(t, key, v);
}

static bool vmci_num(const struct strbuf *t, const char *name, int64_t *v)
{
	char key[96], val[40], *end;

	snprintf(key, sizeof(key), "NUMBER(%s)", name);
	if (!vmci_get(t, key, val, sizeof(val)))
		return false;
	*v = strtoll(val, &end, 10);
	return end != val && !*end;
}

/*
 * vmcoreinfo_data is a page of its own whose text starts with OSRELEASE=:
 * look at the start of each guest frame, within a budget.
 */
static void scan_vmcoreinfo(struct finder *f)
{
	struct vmem *mem = f->env->mem;
	uint64_t budget = f->env->live ? (1u << 18) : (1u << 20), gfn;
	uint64_t max = vmem_max_gfn(mem);
	uint64_t last = max < budget ? max : budget - 1;

	for (gfn = 0; gfn <= last; gfn++) {
		const char *p = vmem_frame(mem, gfn, false);
		size_t n;

		if (!p || memcmp(p, "OSRELEASE=", 10))
			continue;
		n = strnlen(p, X86_PAGE_SIZE);
		strbuf_reset(&f->vmci);
		strbuf_add(&f->vmci, p, n);
		if (!strstr(f->vmci.buf, "\nPAGESIZE=")) {
			strbuf_reset(&f->vmci);
			continue;
		}
		f->vmci_pa = gfn << X86_PAGE_SHIFT;
		log_dbg(LC_OS, "linux: VMCOREINFO at physical 0x%llx",
			(unsigned long long)f->vmci_pa);
		return;
	}
}

/* ---- the kernel's page tables and image ---- */

static bool mapped(struct finder *f, const struct aspace *as, uint64_t va)
{
	struct x86_walk w;

	return vmem_translate(f->env->mem, as, va, &w) == 0;
}

/* Kernel code addresses the vCPUs hold: rip, lstar, sysenter, IDT. */
static void collect_pointers(struct finder *f, const struct aspace *as)
{
	struct lx *lx = f->lx;
	unsigned v, i;

	f->nptrs = 0;
#define PUSH(p) do { if ((p) >= f->kimg && (p) - f->kimg < IMAGE_SPAN && \
			  f->nptrs < MAX_PTRS) f->ptrs[f->nptrs++] = (p); } while (0)
	for (v = 0; v < f->env->nr_vcpus; v++) {
		const struct x86_regs *r = &f->vregs[v];

		if (!f->vok[v])
			continue;
		if (x86_valid(r, XF_RIP) && x86_cpl(r) == 0)
			PUSH(r->rip);
		if (x86_valid(r, XF_SYSCALL))
			PUSH(r->lstar);
		if (x86_valid(r, XF_SYSENTER))
			PUSH(r->sysenter_eip);
	}
	for (v = 0; v < f->env->nr_vcpus; v++) {
		const struct x86_regs *r = &f->vregs[v];
		uint8_t gate[16];
		unsigned gsz = lx->bits == 64 ? 16 : 8;

		if (!f->vok[v] || !x86_valid(r, XF_IDTR) || !r->idtr.base)
			continue;
		for (i = 0; i < 20; i++) {
			uint64_t h;

			if (vmem_read(f->env->mem, as, r->idtr.base + i * gsz,
				      gate, gsz, NULL))
				break;
			if (!(gate[5] & 0x80))
				continue;
			h = (uint64_t)gate[0] | (uint64_t)gate[1] << 8 |
			    (uint64_t)gate[6] << 16 | (uint64_t)gate[7] << 24;
			if (gsz == 16)
				h |= (uint64_t)gate[8] << 32 | (uint64_t)gate[9] << 40 |
				     (uint64_t)gate[10] << 48 |
				     (uint64_t)gate[11] << 56;
			PUSH(h);
		}
		break;
	}
#undef PUSH
}

/* The run of mapped 2 MiB chunks around p, bounded by the image span. */
static void image_around(struct finder *f, uint64_t p)
{
	uint64_t lo = p & ~(ALIGN_2M - 1), hi = lo + ALIGN_2M;
	uint64_t top = f->kimg + IMAGE_SPAN;

	while (lo - ALIGN_2M >= f->kimg && lo > ALIGN_2M &&
	       mapped(f, &f->lx->kas, lo - ALIGN_2M))
		lo -= ALIGN_2M;
	while (hi < top && hi != 0 && mapped(f, &f->lx->kas, hi))
		hi += ALIGN_2M;
	f->img_lo = lo;
	f->img_hi = hi;
}

/* The image is the largest mapped run around a code pointer (a vCPU may
 * be stopped in other code the kernel map holds); the pointer in it goes
 * first, as a hint of where kernel code is. */
static void pick_image(struct finder *f)
{
	uint64_t best_lo = 0, best_hi = 0;
	unsigned i, best = 0;

	for (i = 0; i < f->nptrs; i++) {
		if (f->ptrs[i] >= best_lo && f->ptrs[i] < best_hi)
			continue;
		if (!mapped(f, &f->lx->kas, f->ptrs[i]))
			continue;
		image_around(f, f->ptrs[i]);
		if (f->img_hi - f->img_lo > best_hi - best_lo) {
			best_lo = f->img_lo;
			best_hi = f->img_hi;
			best = i;
		}
	}
	f->img_lo = best_lo;
	f->img_hi = best_hi;
	if (best_hi > best_lo) {
		uint64_t p = f->ptrs[best];

		f->ptrs[best] = f->ptrs[0];
		f->ptrs[0] = p;
	}
}

/* Without code pointers: the largest mapped run of 2 MiB chunks. */
static void image_by_probe(struct finder *f)
{
	uint64_t a, run = 0, best = 0, best_lo = 0, lo = 0;

	for (a = f->kimg; a < f->kimg + IMAGE_SPAN && a >= f->kimg;
	     a += ALIGN_2M) {
		if (mapped(f, &f->lx->kas, a)) {
			if (!run)
				lo = a;
			run += ALIGN_2M;
			if (run > best) {
				best = run;
				best_lo = lo;
			}
		} else {
			run = 0;
		}
	}
	f->img_lo = best_lo;
	f->img_hi = best_lo + best;
}

/* Picks the page tables that map kernel code. */
static int find_kernel_aspace(struct finder *f)
{
	struct lx *lx = f->lx;
	struct aspace c[2 * 64 + 1];
	const char *src[2 * 64 + 1];
	unsigned nc = 0, v, i;
	enum x86_paging_mode mode = X86_PAGING_NONE;
	uint64_t probe = 0, sym;
	int64_t pb;

	for (v = 0; v < f->env->nr_vcpus; v++)
		if (f->vok[v] && x86_valid(&f->vregs[v], XF_CR0) &&
		    x86_valid(&f->vregs[v], XF_CR4) &&
		    (f->vregs[v].cr0 & X86_CR0_PG)) {
			mode = x86_regs_paging_mode(&f->vregs[v]);
			break;
		}
	if (mode == X86_PAGING_NONE) {
		why_add(f, "no vCPU has paging on: the kernel has not set up its page tables");
		return -ENOENT;
	}
	if (lx->bits == 64 && mode != X86_PAGING_4LEVEL &&
	    mode != X86_PAGING_5LEVEL) {
		why_add(f, "a 64-bit guest in %s paging is not a running 64-bit kernel",
			x86_paging_mode_name(mode));
		return -ENOENT;
	}
	/* VMCOREINFO names the kernel's own page tables */
	if (f->vmci.len && lx->bits == 64 &&
	    (vmci_sym(&f->vmci, "init_top_pgt", &sym) ||
	     vmci_sym(&f->vmci, "swapper_pg_dir", &sym)) &&
	    vmci_num(&f->vmci, "phys_base", &pb) && sym >= KMAP_64) {
		c[nc].phys = false;
		c[nc].mode = mode;
		src[nc] = "VMCOREINFO init_top_pgt";
		c[nc++].cr3 = sym - KMAP_64 + (uint64_t)pb;
	}
	for (v = 0; v < f->env->nr_vcpus && v < 64; v++) {
		uint64_t root;

		if (!f->vok[v] || !x86_valid(&f->vregs[v], XF_CR3))
			continue;
		root = x86_cr3_root(mode, f->vregs[v].cr3);
		c[nc].phys = false;
		c[nc].mode = mode;
		src[nc] = "a vCPU's CR3";
		c[nc++].cr3 = root;
		/* with PTI a vCPU in user mode holds the user copy, one page
		 * above the kernel's */
		if (root & 0x1000) {
			c[nc] = c[nc - 1];
			src[nc] = "a vCPU's CR3 without the PTI user bit";
			c[nc++].cr3 = root & ~0x1000ull;
		}
	}
	if (f->vmci.len)
		vmci_sym(&f->vmci, "_stext", &probe);
	for (i = 0; i < nc; i++) {
		lx->kas = c[i];
		collect_pointers(f, &c[i]);
		if (probe ? mapped(f, &c[i], probe) :
		    f->nptrs && mapped(f, &c[i], f->ptrs[0]))
			break;
		if (!probe && !f->nptrs) {
			image_by_probe(f);
			if (f->img_hi > f->img_lo)
				break;
		}
	}
	if (i == nc) {
		why_add(f, "no vCPU's page tables map kernel code");
		return -ENOENT;
	}
	strbuf_addf(&lx->kas_src, "%s paging, root 0x%llx (%s)",
		    x86_paging_mode_name(mode), (unsigned long long)lx->kas.cr3,
		    src[i]);
	lx->kmin = lx->bits == 32 ? 0x40000000ull :
		   mode == X86_PAGING_5LEVEL ? 0xff00000000000000ull :
					       0xffff800000000000ull;
	if (probe && !f->nptrs)
		f->ptrs[f->nptrs++] = probe;
	pick_image(f);
	if (f->img_hi <= f->img_lo)
		image_by_probe(f);
	log_dbg(LC_OS, "linux: kernel image mapped at 0x%llx..0x%llx",
		(unsigned long long)f->img_lo, (unsigned long long)f->img_hi);
	return 0;
}

/* ---- symbols ---- */

static bool banner_at(struct lx *lx, uint64_t va)
{
	char b[14];

	return lx_read(lx, va, b, sizeof(b)) == 0 &&
	       !memcmp(b, "Linux version ", sizeof(b));
}

/* The KASLR slide of a link-time table: the one that puts linux_banner on
 * "Linux version " (or, without that symbol, _text on the image). */
static int find_slide(struct finder *f, struct symtab *st)
{
	struct lx *lx = f->lx;
	uint64_t banner = 0, text = 0, off;
	int64_t k;
	bool have_banner = symtab_lookup(st, "linux_banner", &banner);

	symtab_lookup(st, "_text", &text);
	if (f->vmci.len && vmci_hex(&f->vmci, "KERNELOFFSET", &off) &&
	    (!have_banner || banner_at(lx, banner + off))) {
		lx->slide = (int64_t)off;
		strbuf_addstr(&lx->slide_src, "VMCOREINFO KERNELOFFSET");
		goto found;
	}
	if (text && f->img_hi > f->img_lo &&
	    (!have_banner || banner_at(lx, banner + (f->img_lo - text)))) {
		lx->slide = (int64_t)(f->img_lo - text);
		strbuf_addstr(&lx->slide_src, have_banner ?
			      "the mapped image, checked on linux_banner" :
			      "the mapped image (not checked: no linux_banner)");
		goto found;
	}
	if (have_banner) {
		for (k = 0; k < (int64_t)(IMAGE_SPAN / ALIGN_2M); k++) {
			if (banner_at(lx, banner + (uint64_t)k * ALIGN_2M)) {
				lx->slide = k * (int64_t)ALIGN_2M;
				strbuf_addstr(&lx->slide_src,
					      "a search for linux_banner");
				goto found;
			}
		}
	}
	why_add(f, "the symbols given do not match the kernel in memory: linux_banner is not at any KASLR slide");
	return -ENOENT;
found:
	lx->have_slide = true;
	symtab_shift(st, f->kimg, lx->slide);
	return 0;
}

static int symbols_from_isf(struct finder *f, struct isf *isf, const char *path)
{
	struct lx *lx = f->lx;

	isf_symbols(isf, &lx->syms);
	if (!symtab_count(&lx->syms)) {
		why_add(f, "%s has no symbols", path);
		return -EINVAL;
	}
	if (find_slide(f, &lx->syms))
		return -EINVAL;
	strbuf_addf(&lx->sym_src, "ISF profile %s (%zu symbols)", path,
		    symtab_count(&lx->syms));
	f->user_symbols = true;
	return 0;
}

/* The release string of the kernel in memory, for --profile-dir. */
static void guess_release(struct finder *f, char *rel, size_t len)
{
	char buf[4096], *p;
	uint64_t a;

	rel[0] = 0;
	if (f->vmci.len && vmci_get(&f->vmci, "OSRELEASE", rel, len))
		return;
	for (a = f->img_lo; a < f->img_hi; a += sizeof(buf) - 64) {
		if (lx_read(f->lx, a, buf, sizeof(buf)))
			continue;
		p = memmem(buf, sizeof(buf) - 64, "Linux version ", 14);
		if (p) {
			size_t n = strcspn(p + 14, " ");

			if (n >= len)
				n = len - 1;
			memcpy(rel, p + 14, n);
			rel[n] = 0;
			return;
		}
	}
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

/* In DIR or DIR/linux: a .json[.xz] whose name holds the release. */
static char *profile_in_dir(struct finder *f, const char *dir)
{
	static const char *const subs[] = { "", "/linux" };
	char rel[72], shown[96];
	size_t i;

	guess_release(f, rel, sizeof(rel));
	if (!rel[0])
		return NULL;
	for (i = 0; i < 2; i++) {
		char *d = xstrfmt("%s%s", dir, subs[i]);
		DIR *dp = opendir(d);
		struct dirent *de;
		char *found = NULL;

		while (dp && (de = readdir(dp)) && !found)
			if (strstr(de->d_name, rel) &&
			    (ends_with(de->d_name, ".json") ||
			     ends_with(de->d_name, ".json.xz")))
				found = xstrfmt("%s/%s", d, de->d_name);
		if (dp)
			closedir(dp);
		free(d);
		if (found)
			return found;
	}
	guest_text(shown, sizeof(shown), rel, strlen(rel), false, false);
	why_add(f, "no profile for Linux %s in %s", shown, dir);
	return NULL;
}

static int load_profile(struct finder *f, const char *path)
{
	struct lx *lx = f->lx;
	struct strbuf msg = STRBUF_INIT;
	int rc = isf_load(path, &lx->isf, &msg);

	if (rc) {
		why_add(f, "%s", msg.buf);
		strbuf_release(&msg);
		return rc;
	}
	strbuf_release(&msg);
	if (isf_os(lx->isf)[0] && strcmp(isf_os(lx->isf), "linux")) {
		why_add(f, "%s is a %s profile, not a Linux one", path,
			isf_os(lx->isf));
		isf_free(lx->isf);
		lx->isf = NULL;
		return -EINVAL;
	}
	f->profile = path;
	return 0;
}

static void ks_layout_from_vmci(struct finder *f, struct ks_layout *l)
{
	memset(l, 0, sizeof(*l));
	l->ptr_size = f->lx->ptr;
	vmci_sym(&f->vmci, "kallsyms_names", &l->names);
	vmci_sym(&f->vmci, "kallsyms_num_syms", &l->num_syms);
	vmci_sym(&f->vmci, "kallsyms_token_table", &l->token_table);
	vmci_sym(&f->vmci, "kallsyms_token_index", &l->token_index);
	if (vmci_sym(&f->vmci, "kallsyms_addresses", &l->addresses)) {
		l->enc = KS_ABSOLUTE;
	} else if (vmci_sym(&f->vmci, "kallsyms_offsets", &l->addresses)) {
		if (!vmci_sym(&f->vmci, "kallsyms_relative_base",
			      &l->relative_base))
			l->enc = KS_PLACE_RELATIVE;
	}
}

/* The kernel's own table, when it is in memory; else -ENOENT. */
static int symbols_from_memory(struct finder *f)
{
	struct lx *lx = f->lx;
	struct ks_layout l;
	enum ks_encoding enc;
	struct strbuf msg = STRBUF_INIT;
	int rc = -ENOENT;

	if (f->vmci.len && vmci_sym(&f->vmci, "kallsyms_names", &l.names)) {
		ks_layout_from_vmci(f, &l);
		rc = ks_decode(&l, read_cb, lx, &lx->syms, &enc, &msg);
		if (rc == 0) {
			strbuf_addf(&lx->sym_src, "kallsyms via VMCOREINFO (physical 0x%llx): %zu symbols, %s",
				    (unsigned long long)f->vmci_pa,
				    symtab_count(&lx->syms), ks_encoding_name(enc));
			goto out;
		}
		log_info(LC_OS, "linux: the kallsyms tables VMCOREINFO names do not decode: %s",
			 msg.buf);
		symtab_release(&lx->syms);
		strbuf_reset(&msg);
	}
	if (f->img_hi > f->img_lo) {
		rc = ks_scan(read_cb, lx, f->img_lo, f->img_hi, lx->ptr,
			     f->nptrs ? f->ptrs[0] : 0, &l, &msg);
		if (rc == 0)
			rc = ks_decode(&l, read_cb, lx, &lx->syms, &enc, &msg);
		if (rc == 0) {
			strbuf_addf(&lx->sym_src, "kallsyms found by signature (token table at 0x%llx): %zu symbols, %s",
				    (unsigned long long)l.token_table,
				    symtab_count(&lx->syms), ks_encoding_name(enc));
			goto out;
		}
		symtab_release(&lx->syms);
		why_add(f, "no kallsyms in the kernel image at 0x%llx..0x%llx (%s): give --symbols System.map",
			(unsigned long long)f->img_lo,
			(unsigned long long)f->img_hi, msg.buf);
	} else {
		why_add(f, "the kernel image was not found in the vCPUs' page tables");
	}
out:
	strbuf_release(&msg);
	return rc;
}

static int find_symbols(struct finder *f)
{
	struct lx *lx = f->lx;
	const struct os_env *env = f->env;
	struct strbuf msg = STRBUF_INIT;
	uint64_t text;
	int rc;

	symtab_init(&lx->syms);
	if (env->symbols_path) {
		rc = sysmap_load(env->symbols_path, &lx->syms, &msg);
		if (rc < 0) {
			why_add(f, "%s", msg.buf);
			strbuf_release(&msg);
			return rc;
		}
		strbuf_release(&msg);
		if (find_slide(f, &lx->syms))
			return -EINVAL;
		strbuf_addf(&lx->sym_src, "System.map %s (%zu symbols)",
			    env->symbols_path, symtab_count(&lx->syms));
		f->user_symbols = true;
		return 0;
	}
	strbuf_release(&msg);
	if (lx->isf)
		return symbols_from_isf(f, lx->isf, f->profile);
	rc = symbols_from_memory(f);
	if (rc)
		return rc;
	/* the slide, for the record: exact from VMCOREINFO, else against the
	 * default link address */
	if (f->vmci.len && vmci_hex(&f->vmci, "KERNELOFFSET", &text)) {
		lx->slide = (int64_t)text;
		lx->have_slide = true;
		strbuf_addstr(&lx->slide_src, "VMCOREINFO KERNELOFFSET");
	} else if (symtab_lookup(&lx->syms, "_text", &text)) {
		lx->slide = (int64_t)(text - (lx->bits == 64 ? KLINK_64 : KLINK_32));
		lx->have_slide = true;
		strbuf_addf(&lx->slide_src, "_text against the default link address 0x%llx",
			    (unsigned long long)(lx->bits == 64 ? KLINK_64 : KLINK_32));
	}
	return 0;
}

/* ---- types ---- */

static const uint8_t btf_sig[12] = { 0x9f, 0xeb, 1, 0, 24, 0, 0, 0, 0, 0, 0, 0 };

static int btf_at(struct finder *f, uint64_t va, uint64_t limit)
{
	struct lx *lx = f->lx;
	uint8_t hdr[24], *blob;
	struct strbuf msg = STRBUF_INIT;
	size_t size;
	int rc;

	if (lx_read(lx, va, hdr, sizeof(hdr)))
		return -EFAULT;
	size = btf_blob_size(hdr, sizeof(hdr));
	if (!size || size > BTF_MAX || (limit && size > limit))
		return -EINVAL;
	blob = xmalloc(size);
	rc = lx_read(lx, va, blob, size);
	if (rc == 0)
		rc = btf_parse(blob, size, &lx->btf, &msg);
	free(blob);
	if (rc == 0) {
		lx->btf_addr = va;
		lx->btf_len = size;
	} else if (msg.len) {
		log_info(LC_OS, "linux: BTF at 0x%llx: %s", (unsigned long long)va,
			 msg.buf);
	}
	strbuf_release(&msg);
	return rc;
}

static int find_btf(struct finder *f)
{
	struct lx *lx = f->lx;
	uint64_t start = 0, stop = 0, a, lo, hi, etext, sinit;
	uint8_t *buf;
	const size_t chunk = 1u << 20;
	int rc = -ENOENT;

	if (symtab_lookup(&lx->syms, "__start_BTF", &start) &&
	    symtab_lookup(&lx->syms, "__stop_BTF", &stop) && stop > start &&
	    btf_at(f, start, stop - start) == 0) {
		strbuf_addstr(&lx->type_src, "BTF in memory at __start_BTF");
		return 0;
	}
	/* by its header: .BTF is read-only data, which every x86 kernel
	 * places between the end of its text and the start of its init
	 * text (both in every kallsyms); else anywhere in the image */
	lo = f->img_lo;
	hi = f->img_hi;
	if (symtab_lookup(&lx->syms, "_etext", &etext) &&
	    symtab_lookup(&lx->syms, "_sinittext", &sinit) &&
	    etext >= lo && etext < sinit && sinit <= hi) {
		lo = etext;
		hi = sinit;
	}
	buf = xmalloc(chunk + sizeof(btf_sig));
	for (a = lo; a < hi && rc; a += chunk) {
		size_t len = hi - a < chunk + sizeof(btf_sig) ?
			     (size_t)(hi - a) : chunk + sizeof(btf_sig);
		const uint8_t *p = buf;

		if (lx_read(lx, a, buf, len))
			continue;
		while (rc && (p = memmem(p, len - (size_t)(p - buf), btf_sig,
					 sizeof(btf_sig)))) {
			rc = btf_at(f, a + (uint64_t)(p - buf), 0);
			p++;
		}
	}
	free(buf);
	if (rc == 0)
		strbuf_addstr(&lx->type_src, "BTF in memory found by its header");
	return rc;
}

static int find_types(struct finder *f)
{
	struct lx *lx = f->lx;
	struct strbuf msg = STRBUF_INIT;
	int rc;

	if (f->vmlinux) {
		rc = lx_layout_from_dwarf(&lx->L, f->vmlinux, &msg);
		if (rc) {
			why_add(f, "%s: %s", f->vmlinux, msg.buf);
			strbuf_release(&msg);
			return -EINVAL;
		}
		strbuf_addf(&lx->type_src, "DWARF of vmlinux %s", f->vmlinux);
		rc = lx_vmlinux_symbols(lx, f->vmlinux, &msg);
		if (rc == -ESRCH) {
			/* another kernel's types would misread this one */
			why_add(f, "%s: %s", f->vmlinux, msg.buf);
			strbuf_release(&msg);
			return -ENOENT;
		}
		if (rc || msg.len)
			log_warn(LC_OS, "linux: %s: %s", f->vmlinux, msg.buf);
		strbuf_release(&msg);
		return 0;
	}
	if (lx->isf) {
		rc = lx_layout_from_isf(&lx->L, lx->isf, &msg);
		if (rc) {
			why_add(f, "%s: %s", f->profile, msg.buf);
			strbuf_release(&msg);
			return -EINVAL;
		}
		strbuf_addf(&lx->type_src, "ISF profile %s (%s)", f->profile,
			    isf_producer(lx->isf)[0] ? isf_producer(lx->isf) :
			    "unknown producer");
		strbuf_release(&msg);
		return 0;
	}
	rc = find_btf(f);
	if (rc) {
		/* no BTF: the offsets from the kernel's own code and data */
		rc = lx_infer_layout(lx, f->vmci.len ? f->vmci.buf : NULL, &msg);
		if (rc) {
			why_add(f, "no BTF in guest memory (a kernel without CONFIG_DEBUG_INFO_BTF?), and %s",
				msg.buf);
			strbuf_release(&msg);
			return -ENOENT;
		}
		strbuf_addstr(&lx->type_src, "the kernel's code and data (no BTF in memory): see monitor offsets");
		strbuf_release(&msg);
		return 0;
	}
	strbuf_addf(&lx->type_src, " 0x%llx, %llu bytes, %u types",
		    (unsigned long long)lx->btf_addr,
		    (unsigned long long)lx->btf_len, btf_nr_types(lx->btf));
	rc = lx_layout_from_btf(&lx->L, lx->btf, &msg);
	if (rc) {
		why_add(f, "BTF in memory: %s", msg.buf);
		strbuf_release(&msg);
		return -ENOENT;
	}
	strbuf_release(&msg);
	return 0;
}

/* ---- kernel data ---- */

static uint64_t sym(struct lx *lx, const char *names)
{
	const char *p = names;
	uint64_t a;

	while (*p) {
		char n[64];
		size_t l = strcspn(p, "|");

		if (l < sizeof(n)) {
			memcpy(n, p, l);
			n[l] = 0;
			if (symtab_lookup(&lx->syms, n, &a))
				return a;
		}
		p += l;
		if (*p)
			p++;
	}
	return 0;
}

/* init_task's task list is a ring whose first and last tasks link back
 * to it: what offsets that do not fit this kernel would not give. */
static bool init_links_ok(struct lx *lx, uint64_t init_task)
{
	uint64_t head = init_task + lx->L.tasks.off, next, prev, v;

	if (!lx->L.tasks.size || lx_read_ptr(lx, head, &next) ||
	    lx_read_ptr(lx, head + lx->ptr, &prev) || next == head ||
	    !lx_kptr_ok(lx, next) || !lx_kptr_ok(lx, prev))
		return false;
	return !lx_read_ptr(lx, next + lx->ptr, &v) && v == head &&
	       !lx_read_ptr(lx, prev, &v) && v == head;
}

static int kernel_data(struct finder *f)
{
	struct lx *lx = f->lx;
	struct lx_syms *S = &lx->S;
	uint64_t v, pa;
	uint32_t n = 0;
	int64_t num;
	unsigned c;
	char comm[17] = "", shown[72];
	uint8_t pid[4];

	S->init_task = sym(lx, "init_task");
	S->init_mm = sym(lx, "init_mm");
	S->per_cpu_offset = sym(lx, "__per_cpu_offset");
	S->nr_cpu_ids = sym(lx, "nr_cpu_ids");
	S->current_task = sym(lx, "current_task");
	S->pcpu_hot = sym(lx, "pcpu_hot");
	S->runqueues = sym(lx, "runqueues");
	S->page_offset_base = sym(lx, "page_offset_base");
	S->phys_base = sym(lx, "phys_base");
	S->init_top_pgt = sym(lx, lx->bits == 64 ?
			      "init_top_pgt|init_level4_pgt" : "swapper_pg_dir");
	S->linux_banner = sym(lx, "linux_banner");
	S->init_uts_ns = sym(lx, "init_uts_ns");
	S->text = sym(lx, "_text|_stext");
	S->etext = sym(lx, "_etext");
	S->start_btf = sym(lx, "__start_BTF");
	S->stop_btf = sym(lx, "__stop_BTF");
	if (!S->init_task) {
		why_add(f, "init_task is not among the %zu kernel symbols (kallsyms without CONFIG_KALLSYMS_ALL?): give --symbols System.map",
			symtab_count(&lx->syms));
		return -ENOENT;
	}
	if (lx->bits == 32)
		lx->kmin = S->init_task & ~0x3fffffffull;
	/* physical placement of the image and of the direct map */
	if (lx->bits == 64 && S->phys_base && !lx_read_ptr(lx, S->phys_base, &v)) {
		lx->phys_base = v;
		lx->have_phys_base = true;
	} else if (lx->bits == 64 && f->vmci.len &&
		   vmci_num(&f->vmci, "phys_base", &num)) {
		lx->phys_base = (uint64_t)num;
		lx->have_phys_base = true;
	}
	if (S->page_offset_base && !lx_read_ptr(lx, S->page_offset_base, &v) &&
	    lx_kptr_ok(lx, v)) {
		lx->page_offset = v;
		lx->have_page_offset = true;
	}
	/* the kernel's own page tables, stable from stop to stop */
	if (S->init_top_pgt && !lx_pa(lx, S->init_top_pgt, &pa)) {
		struct aspace as = lx->kas;

		as.cr3 = pa;
		if (mapped(f, &as, S->init_task)) {
			if (as.cr3 != lx->kas.cr3) {
				strbuf_reset(&lx->kas_src);
				strbuf_addf(&lx->kas_src, "%s paging, root 0x%llx (init_top_pgt)",
					    x86_paging_mode_name(as.mode),
					    (unsigned long long)as.cr3);
			}
			lx->kas = as;
		}
	}
	/* init_task must look like it: pid 0, comm "swapper" */
	if (lx_read(lx, S->init_task + lx->L.comm.off, comm, 16) ||
	    lx_read(lx, S->init_task + lx->L.pid.off, pid, 4)) {
		why_add(f, "init_task at 0x%llx cannot be read",
			(unsigned long long)S->init_task);
		return -EFAULT;
	}
	comm[16] = 0;
	guest_text(shown, sizeof(shown), comm, strlen(comm), false, false);
	/* its name is the guest's to change: a renamed one must still be a
	 * ring of tasks linked back to it */
	if ((pid[0] | pid[1] | pid[2] | pid[3]) ||
	    (strncmp(comm, "swapper", 7) && !init_links_ok(lx, S->init_task))) {
		why_add(f, "init_task at 0x%llx does not look like it (comm '%s', pid %u): the %s do not match this kernel",
			(unsigned long long)S->init_task, shown,
			pid[0] | pid[1] << 8 | pid[2] << 16 | (uint32_t)pid[3] << 24,
			lx->type_src.len && lx->isf ? "profile and symbols" :
			"types and symbols");
		return -EINVAL;
	}
	if (strncmp(comm, "swapper", 7))
		strbuf_addf(&lx->notes, "init_task is named '%s', not swapper/0 (its task list links were checked instead)\n",
			    shown);
	/* per-CPU areas */
	if (S->nr_cpu_ids && !lx_read(lx, S->nr_cpu_ids, &n, 4)) {
		uint8_t *b = (uint8_t *)&n;

		n = b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24;
	}
	if (S->per_cpu_offset) {
		uint8_t *raw;

		if (n == 0 || n > LX_MAX_CPUS)
			n = f->env->nr_vcpus ? f->env->nr_vcpus : 1;
		lx->cpu_off = xcalloc(n, sizeof(*lx->cpu_off));
		raw = xcalloc(n, lx->ptr);
		if (lx_read(lx, S->per_cpu_offset, raw, (size_t)n * lx->ptr) == 0) {
			for (c = 0; c < n; c++) {
				unsigned k;

				for (k = lx->ptr; k--;)
					lx->cpu_off[c] = lx->cpu_off[c] << 8 |
							 raw[c * lx->ptr + k];
			}
			lx->ncpus = n;
		} else {
			strbuf_addf(&lx->notes, "__per_cpu_offset at 0x%llx cannot be read: no vCPU to task matching\n",
				    (unsigned long long)S->per_cpu_offset);
		}
		free(raw);
	} else if (S->current_task || S->pcpu_hot || S->runqueues) {
		lx->cpu_off = xcalloc(1, sizeof(*lx->cpu_off));
		lx->ncpus = 1;	/* a uniprocessor kernel: no offsets */
	}
	if (!lx->L.thread_size)
		lx->L.thread_size = lx->bits == 64 ? 16384 : 8192;
	/* what the kernel's code segment selectors are */
	for (c = 0; c < f->env->nr_vcpus; c++) {
		const struct x86_regs *r = &f->vregs[c];

		if (f->vok[c] && x86_cpl(r) == 0 &&
		    x86_valid(r, XF_SEL0 + X86_CS) &&
		    (lx->bits == 32 || x86_in_long_mode(r))) {
			lx->have_kcs = true;
			lx->kernel_cs = r->seg[X86_CS].sel;
			lx->kernel_ss = x86_valid(r, XF_SEL0 + X86_SS) ?
					r->seg[X86_SS].sel : 0;
			break;
		}
	}
	/* identity */
	if (S->linux_banner && !lx_read(lx, S->linux_banner, lx->banner,
					sizeof(lx->banner) - 1)) {
		lx->banner[sizeof(lx->banner) - 1] = 0;
		lx->banner[strcspn(lx->banner, "\n")] = 0;
	}
	if (S->init_uts_ns && lx->L.uts_release.size &&
	    !lx_read(lx, S->init_uts_ns + lx->L.uts_release.off, lx->release,
		     lx->L.uts_release.size < sizeof(lx->release) ?
		     lx->L.uts_release.size : sizeof(lx->release) - 1)) {
		lx->release[sizeof(lx->release) - 1] = 0;
	} else if (!strncmp(lx->banner, "Linux version ", 14)) {
		size_t l = strcspn(lx->banner + 14, " ");

		if (l >= sizeof(lx->release))
			l = sizeof(lx->release) - 1;
		memcpy(lx->release, lx->banner + 14, l);
		lx->release[l] = 0;
	}
	return 0;
}

/* A profile's banner must be the one in memory. */
static void check_profile_banner(struct finder *f)
{
	struct lx *lx = f->lx;
	uint8_t *data;
	size_t len;

	if (!lx->isf || !lx->banner[0] ||
	    isf_symbol_data(lx->isf, "linux_banner", &data, &len))
		return;
	if (len < strlen(lx->banner) ||
	    memcmp(data, lx->banner, strlen(lx->banner))) {
		size_t n = 0;

		while (n < len && n < 200 && data[n] && data[n] != '\n')
			n++;
		strbuf_addstr(&lx->notes, "warning: the profile was made for another build: its banner is '");
		strbuf_add_guest(&lx->notes, data, n);
		strbuf_addstr(&lx->notes, "'\n");
		log_warn(LC_OS, "linux: the profile's linux_banner differs from the kernel's in memory: offsets may be wrong");
	}
	free(data);
}

void lx_free_state(struct lx *lx)
{
	lx_tasks_release(lx);
	symtab_release(&lx->syms);
	btf_free(lx->btf);
	isf_free(lx->isf);
	strbuf_release(&lx->sym_src);
	strbuf_release(&lx->type_src);
	strbuf_release(&lx->slide_src);
	strbuf_release(&lx->kas_src);
	strbuf_release(&lx->notes);
	lx_origins_free(lx);
	free(lx->cpu_off);
	free(lx->vcpu_cpu);
	free(lx->vcpu_cur);
}

int lx_detect(const struct os_env *env, struct os **out, struct strbuf *why)
{
	struct lx *lx = xcalloc(1, sizeof(*lx));
	struct finder f;
	struct timespec t0, t1;
	char *dir_profile = NULL, rel_shown[96];
	unsigned v;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	*out = NULL;
	lx->base.env = *env;
	lx->bits = env->guest_bits == 32 ? 32 : 64;
	lx->ptr = lx->bits / 8;
	strbuf_init(&lx->sym_src, 0);
	strbuf_init(&lx->type_src, 0);
	strbuf_init(&lx->slide_src, 0);
	strbuf_init(&lx->kas_src, 0);
	strbuf_init(&lx->notes, 0);
	symtab_init(&lx->syms);
	lx->vcpu_cpu = xcalloc(env->nr_vcpus ? env->nr_vcpus : 1, sizeof(int));
	lx->vcpu_cur = xcalloc(env->nr_vcpus ? env->nr_vcpus : 1,
			       sizeof(uint64_t));
	memset(&f, 0, sizeof(f));
	f.lx = lx;
	f.env = env;
	f.why = why;
	f.kimg = lx->bits == 64 ? KMAP_64 : KMAP_32;
	strbuf_init(&f.vmci, 0);
	f.vregs = xcalloc(env->nr_vcpus ? env->nr_vcpus : 1, sizeof(*f.vregs));
	f.vok = xcalloc(env->nr_vcpus ? env->nr_vcpus : 1, sizeof(bool));
	for (v = 0; v < env->nr_vcpus; v++)
		f.vok[v] = env->vcpu_regs(env->ctx, v, &f.vregs[v]) == 0;

	scan_vmcoreinfo(&f);
	if (f.vmci.len) {
		char rel[72] = "";

		vmci_get(&f.vmci, "OSRELEASE", rel, sizeof(rel));
		strbuf_addf(&lx->notes, "VMCOREINFO at physical 0x%llx (OSRELEASE=",
			    (unsigned long long)f.vmci_pa);
		strbuf_add_guest(&lx->notes, rel, strlen(rel));
		strbuf_addstr(&lx->notes, ")\n");
	}
	rc = find_kernel_aspace(&f);
	if (rc)
		goto not_found;
	if (env->profile_path && lx_is_elf(env->profile_path)) {
		f.vmlinux = env->profile_path;	/* --vmlinux, or --profile vmlinux */
	} else if (env->profile_path) {
		rc = load_profile(&f, env->profile_path);
		if (rc)
			goto free_state;
	} else if (env->profile_dir && !env->symbols_path) {
		dir_profile = profile_in_dir(&f, env->profile_dir);
		if (dir_profile && load_profile(&f, dir_profile)) {
			free(dir_profile);
			dir_profile = NULL;
		}
	}
	rc = find_symbols(&f);
	if (rc == -ENOENT && !f.user_symbols && !env->symbols_path && !lx->isf)
		goto not_found;
	if (rc)
		goto free_state;
	rc = find_types(&f);
	if (rc == -ENOENT)
		goto not_found;
	if (rc)
		goto free_state;
	rc = kernel_data(&f);
	if (rc == -ENOENT || (rc && !f.user_symbols && !lx->isf))
		goto not_found;
	if (rc)
		goto free_state;
	check_profile_banner(&f);
	rc = lx_walk(lx);
	if (rc)
		log_warn(LC_OS, "linux: the first task walk failed: %s",
			 strerror(-rc));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	lx->detect_ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
			(double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	guest_text(rel_shown, sizeof(rel_shown), lx->release,
		   strlen(lx->release), false, false);
	log_info(LC_OS, "linux: %s, %zu tasks (found in %.1f ms)",
		 lx->release[0] ? rel_shown : "kernel", lx->base.ntasks,
		 lx->detect_ms);
	free(dir_profile);
	strbuf_release(&f.vmci);
	free(f.vregs);
	free(f.vok);
	*out = &lx->base;
	return 1;
not_found:
	rc = 0;
free_state:
	if (rc < 0)
		log_warn(LC_OS, "linux: %s", why->buf);
	free(dir_profile);
	strbuf_release(&f.vmci);
	free(f.vregs);
	free(f.vok);
	lx_free_state(lx);
	free(lx);
	return rc;
}
