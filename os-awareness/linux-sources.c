// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Where a Linux kernel's symbols and types come from, once linux-find.c
 * has found its page tables and image: the symbol table (System.map or an
 * ISF profile the user gave, kallsyms through VMCOREINFO, or kallsyms by
 * signature) with the KASLR slide of a link-time table, ISF profiles by
 * release in --profile-dir, and the types (a vmlinux, an ISF profile, BTF
 * in memory, or the kernel's own code and data). Each records where its
 * answer came from, for "monitor os".
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "os-awareness/btf.h"
#include "os-awareness/isf.h"
#include "os-awareness/kallsyms.h"
#include "os-awareness/linux-find-internal.h"
#include "os-awareness/linux-infer.h"
#include "os-awareness/sysmap.h"
#include "stub/base/log.h"
#include "stub/guest/vmem.h"

#define BTF_MAX (64u << 20)

static int read_cb(void *ctx, uint64_t addr, void *buf, size_t len)
{
	return lx_read(ctx, addr, buf, len);
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
	if (f->vmci.len && lxf_vmci_hex(&f->vmci, "KERNELOFFSET", &off) &&
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
	lxf_why_add(f, "the symbols given do not match the kernel in memory: linux_banner is not at any KASLR slide");
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
		lxf_why_add(f, "%s has no symbols", path);
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
	if (f->vmci.len && lxf_vmci_get(&f->vmci, "OSRELEASE", rel, len))
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
char *lxf_profile_in_dir(struct finder *f, const char *dir)
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
	lxf_why_add(f, "no profile for Linux %s in %s", shown, dir);
	return NULL;
}

int lxf_load_profile(struct finder *f, const char *path)
{
	struct lx *lx = f->lx;
	struct strbuf msg = STRBUF_INIT;
	int rc = isf_load(path, &lx->isf, &msg);

	if (rc) {
		lxf_why_add(f, "%s", msg.buf);
		strbuf_release(&msg);
		return rc;
	}
	strbuf_release(&msg);
	if (isf_os(lx->isf)[0] && strcmp(isf_os(lx->isf), "linux")) {
		lxf_why_add(f, "%s is a %s profile, not a Linux one", path,
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
	lxf_vmci_sym(&f->vmci, "kallsyms_names", &l->names);
	lxf_vmci_sym(&f->vmci, "kallsyms_num_syms", &l->num_syms);
	lxf_vmci_sym(&f->vmci, "kallsyms_token_table", &l->token_table);
	lxf_vmci_sym(&f->vmci, "kallsyms_token_index", &l->token_index);
	if (lxf_vmci_sym(&f->vmci, "kallsyms_addresses", &l->addresses)) {
		l->enc = KS_ABSOLUTE;
	} else if (lxf_vmci_sym(&f->vmci, "kallsyms_offsets", &l->addresses)) {
		if (!lxf_vmci_sym(&f->vmci, "kallsyms_relative_base",
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

	if (f->vmci.len && lxf_vmci_sym(&f->vmci, "kallsyms_names", &l.names)) {
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
		lxf_why_add(f, "no kallsyms in the kernel image at 0x%llx..0x%llx (%s): give --symbols System.map",
			(unsigned long long)f->img_lo,
			(unsigned long long)f->img_hi, msg.buf);
	} else {
		lxf_why_add(f, "the kernel image was not found in the vCPUs' page tables");
	}
out:
	strbuf_release(&msg);
	return rc;
}

int lxf_find_symbols(struct finder *f)
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
			lxf_why_add(f, "%s", msg.buf);
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
	if (f->vmci.len && lxf_vmci_hex(&f->vmci, "KERNELOFFSET", &text)) {
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

int lxf_find_types(struct finder *f)
{
	struct lx *lx = f->lx;
	struct strbuf msg = STRBUF_INIT;
	int rc;

	if (f->vmlinux) {
		rc = lx_layout_from_dwarf(&lx->L, f->vmlinux, &msg);
		if (rc) {
			lxf_why_add(f, "%s: %s", f->vmlinux, msg.buf);
			strbuf_release(&msg);
			return -EINVAL;
		}
		strbuf_addf(&lx->type_src, "DWARF of vmlinux %s", f->vmlinux);
		rc = lx_vmlinux_symbols(lx, f->vmlinux, &msg);
		if (rc == -ESRCH) {
			/* another kernel's types would misread this one */
			lxf_why_add(f, "%s: %s", f->vmlinux, msg.buf);
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
			lxf_why_add(f, "%s: %s", f->profile, msg.buf);
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
			lxf_why_add(f, "no BTF in guest memory (a kernel without CONFIG_DEBUG_INFO_BTF?), and %s",
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
		lxf_why_add(f, "BTF in memory: %s", msg.buf);
		strbuf_release(&msg);
		return -ENOENT;
	}
	strbuf_release(&msg);
	return 0;
}

