// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Finding a 64-bit Windows kernel from the vCPUs' registers (LSTAR and IDT
 * handlers, walked back to the image's MZ, its RSDS record), its Volatility
 * 3 symbol table (--profile or --profile-dir), page tables and version.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "os-awareness/isf.h"
#include "os-awareness/windows-internal.h"
#include "stub/base/log.h"
#include "stub/guest/vmem.h"

#define PAGE 4096ull
#define MAX_CANDIDATE_VCPUS 8u

struct finder {
	struct win *w;
	const struct os_env *env;
	struct x86_regs *vregs;
	bool *vok;
	struct strbuf *why;
};

static void why_add(struct strbuf *why, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void why_add(struct strbuf *why, const char *fmt, ...)
{
	va_list ap;

	if (why->len)
		strbuf_addstr(why, "; ");
	va_start(ap, fmt);
	strbuf_vaddf(why, fmt, ap);
	va_end(ap);
}

/* ---- the kernel image ---- */

struct image_ctx {
	struct vmem *mem;
	const struct aspace *as;
	uint64_t base;
};

static int image_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	struct image_ctx *c = ctx;

	if (off > UINT64_MAX - c->base)
		return -EFAULT;
	return vmem_read(c->mem, c->as, c->base + off, buf, len, NULL);
}

/*
 * Walks back from ptr, page by page (skipping unmapped regions whole),
 * to a page-aligned AMD64 image that contains ptr. 0 with *base and
 * *img, or -ENOENT.
 */
static int image_around(struct vmem *mem, const struct aspace *as,
			uint64_t ptr, uint64_t *base, struct pe_image *img)
{
	unsigned levels = x86_paging_levels(as->mode);
	uint64_t kmin = win_kernel_min(as->mode);
	uint64_t lo = ptr - WIN_KERNEL_SEARCH, a = ptr & ~(PAGE - 1);

	if (lo > ptr || lo < kmin)
		lo = kmin;
	while (a >= lo) {
		struct x86_walk wk;
		uint8_t mz[2];
		int rc = vmem_translate(mem, as, a, &wk);

		if (rc == -EFAULT && wk.nlevels >= 1 && wk.nlevels <= levels) {
			/* the whole region of the missing entry is unmapped */
			uint64_t span = 1ull << (12 + 9 * (levels - wk.nlevels));

			a &= ~(span - 1);
		} else if (!rc && !vmem_read(mem, as, a, mz, 2, NULL) &&
			   mz[0] == 'M' && mz[1] == 'Z') {
			struct image_ctx c = { mem, as, a };
			struct strbuf why = STRBUF_INIT;

			if (!pe_parse(image_read, &c, img, &why) &&
			    pe_is_amd64_image(img) && ptr - a < img->size_of_image) {
				strbuf_release(&why);
				*base = a;
				return 0;
			}
			log_dbg(LC_OS, "windows: MZ at 0x%" PRIx64 " is not the image around 0x%" PRIx64 " (%s)",
				a, ptr, why.len ? why.buf : "another image");
			strbuf_release(&why);
		}
		if (a < PAGE)
			break;
		a -= PAGE;
	}
	return -ENOENT;
}

static uint64_t gate_handler(const uint8_t g[16])
{
	return (uint64_t)g[0] | (uint64_t)g[1] << 8 | (uint64_t)g[6] << 16 |
	       (uint64_t)g[7] << 24 | (uint64_t)g[8] << 32 |
	       (uint64_t)g[9] << 40 | (uint64_t)g[10] << 48 |
	       (uint64_t)g[11] << 56;
}

/* Tries the kernel pointers one vCPU holds, through its page tables. */
static int kernel_from_vcpu(struct finder *f, unsigned v)
{
	static const unsigned gates[] = { 0, 14, 1, 3, 13 };
	const struct x86_regs *r = &f->vregs[v];
	struct win *w = f->w;
	struct aspace as = { .phys = false };
	uint64_t ptrs[1 + sizeof(gates) / sizeof(gates[0])];
	const char *what[1 + sizeof(gates) / sizeof(gates[0])];
	char gate_what[sizeof(gates) / sizeof(gates[0])][32];
	unsigned n = 0, i;
	uint64_t kmin;

	as.mode = x86_regs_paging_mode(r);
	as.cr3 = r->cr3;
	kmin = win_kernel_min(as.mode);
	if (x86_valid(r, XF_SYSCALL) && r->lstar >= kmin) {
		what[n] = "system-call entry (LSTAR)";
		ptrs[n++] = r->lstar;
	}
	for (i = 0; x86_valid(r, XF_IDTR) && r->idtr.base &&
		    i < sizeof(gates) / sizeof(gates[0]); i++) {
		uint8_t g[16];
		uint64_t h;

		if (r->idtr.limit < gates[i] * 16 + 15 ||
		    vmem_read(f->env->mem, &as, r->idtr.base + gates[i] * 16,
			      g, sizeof(g), NULL) ||
		    !(g[5] & 0x80))
			continue;
		h = gate_handler(g);
		if (h < kmin)
			continue;
		snprintf(gate_what[i], sizeof(gate_what[i]), "IDT gate %u handler",
			 gates[i]);
		what[n] = gate_what[i];
		ptrs[n++] = h;
	}
	for (i = 0; i < n; i++) {
		struct image_ctx c = { f->env->mem, &as, 0 };
		struct strbuf why = STRBUF_INIT;
		struct pe_image img;
		uint64_t base;
		unsigned j;
		int rc;

		for (j = 0; j < i; j++)
			if (ptrs[j] == ptrs[i])
				break;
		if (j < i || image_around(f->env->mem, &as, ptrs[i], &base, &img))
			continue;
		w->kas = as;
		w->kmin = kmin;
		w->kbase = base;
		w->ksize = img.size_of_image;
		strbuf_addf(&w->found_by, "vCPU %u's %s 0x%" PRIx64, v, what[i],
			    ptrs[i]);
		strbuf_addf(&w->kas_src, "%s paging, vCPU %u's CR3 0x%" PRIx64,
			    x86_paging_mode_name(as.mode), v, as.cr3);
		c.base = base;
		rc = pe_codeview(image_read, &c, &img, &w->cv, &why);
		w->have_cv = rc == 0;
		if (rc)
			strbuf_addf(&w->notes, "the kernel's RSDS record cannot be read: %s\n",
				    why.buf);
		strbuf_release(&why);
		return 0;
	}
	return -ENOENT;
}

static int find_kernel(struct finder *f)
{
	unsigned nv = f->env->nr_vcpus, v, pass, tried = 0, paging = 0;
	uint64_t *roots = xcalloc(MAX_CANDIDATE_VCPUS, sizeof(uint64_t));
	int rc = -ENOENT;

	/* vCPUs in kernel mode first: in user mode, KVA shadowing leaves
	 * most of the kernel out of the page tables */
	for (pass = 0; pass < 2 && rc && tried < MAX_CANDIDATE_VCPUS; pass++) {
		for (v = 0; v < nv && rc && tried < MAX_CANDIDATE_VCPUS; v++) {
			const struct x86_regs *r = &f->vregs[v];
			enum x86_paging_mode mode;
			unsigned j;

			if (!f->vok[v] || (x86_cpl(r) == 0) != (pass == 0) ||
			    !x86_valid(r, XF_CR0) || !x86_valid(r, XF_CR3) ||
			    !(r->cr0 & X86_CR0_PG))
				continue;
			mode = x86_regs_paging_mode(r);
			if (mode != X86_PAGING_4LEVEL && mode != X86_PAGING_5LEVEL)
				continue;
			paging++;
			for (j = 0; j < tried; j++)
				if (roots[j] == x86_cr3_root(mode, r->cr3))
					break;
			if (j < tried)
				continue;
			roots[tried++] = x86_cr3_root(mode, r->cr3);
			rc = kernel_from_vcpu(f, v);
		}
	}
	free(roots);
	if (rc) {
		if (!paging)
			why_add(f->why, "no vCPU runs with 4- or 5-level paging: not a running 64-bit Windows kernel");
		else
			why_add(f->why, "no Windows kernel image: no AMD64 MZ/PE image around the system-call entry or IDT handlers of the vCPUs (searched %llu MiB below each)",
				(unsigned long long)(WIN_KERNEL_SEARCH >> 20));
	}
	return rc;
}

/* ---- the symbol table ---- */

static void how_to_make(struct strbuf *why, const struct pe_codeview *cv)
{
	strbuf_addf(why, "; make it with Volatility 3 on a machine that can reach Microsoft's symbol server: "
		    "python3 -m volatility3.framework.symbols.windows.pdbconv -p %s -g %s%X -o %s-%u.json.xz",
		    cv->name_shown, cv->guid_str, cv->age, cv->guid_str, cv->age);
}

/* "the Windows kernel ntkrnlmp.pdb (GUID ..., age 1) at 0x..." */
static void kernel_name(const struct win *w, struct strbuf *out)
{
	if (w->have_cv)
		strbuf_addf(out, "the Windows kernel %s (GUID %s, age %u) at 0x%" PRIx64,
			    w->cv.name_shown, w->cv.guid_str, w->cv.age, w->kbase);
	else
		strbuf_addf(out, "the Windows kernel at 0x%" PRIx64, w->kbase);
}

static int load_table(struct win *w, const char *path, struct strbuf *why)
{
	struct strbuf msg = STRBUF_INIT;
	int rc = isf_load(path, &w->isf, &msg);

	if (rc) {
		why_add(why, "the symbol table cannot be read: %s", msg.buf);
		strbuf_release(&msg);
		return rc;
	}
	strbuf_release(&msg);
	if (strcmp(isf_os(w->isf), "windows") ||
	    isf_pdb(w->isf, &w->profile_guid, &w->profile_age)) {
		why_add(why, "%s is not a Windows symbol table (it has no metadata.windows.pdb)",
			path);
		goto fail;
	}
	if (w->have_cv && (strcasecmp(w->profile_guid, w->cv.guid_str) ||
			   w->profile_age != w->cv.age)) {
		why_add(why, "%s does not match the kernel in memory: the table is for GUID %s age %u, the kernel %s is GUID %s age %u and needs %s/%s-%u.json.xz",
			path, w->profile_guid, w->profile_age, w->cv.name_shown,
			w->cv.guid_str, w->cv.age, w->cv.name_shown,
			w->cv.guid_str, w->cv.age);
		how_to_make(why, &w->cv);
		goto fail;
	}
	if (!w->have_cv)
		strbuf_addf(&w->notes, "warning: %s could not be checked against the kernel (no RSDS record): offsets may be wrong\n",
			    path);
	free(w->profile);
	w->profile = xstrdup(path);
	return 0;
fail:
	isf_free(w->isf);
	w->isf = NULL;
	w->profile_guid = NULL;
	return -ENOENT;
}

/* The first existing file among Volatility 3's places for the table. */
static char *table_in_dir(const char *dir, const struct pe_codeview *cv)
{
	static const char *const subs[] = { "/windows/%s/", "/%s/", "/" };
	static const char *const exts[] = { ".json.xz", ".json" };
	size_t i, j;

	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		for (j = 0; j < sizeof(exts) / sizeof(exts[0]); j++) {
			struct strbuf p = STRBUF_INIT;

			strbuf_addstr(&p, dir);
			strbuf_addf(&p, subs[i], cv->pdb_name);
			strbuf_addf(&p, "%s-%u%s", cv->guid_str, cv->age, exts[j]);
			if (!access(p.buf, R_OK))
				return strbuf_detach(&p, NULL);
			strbuf_release(&p);
		}
	}
	return NULL;
}

static int find_table(struct finder *f)
{
	struct win *w = f->w;
	const struct os_env *env = f->env;
	struct strbuf why = STRBUF_INIT;
	char *path;
	int rc = -ENOENT;

	if (env->profile_path) {
		rc = load_table(w, env->profile_path, &why);
		if (!rc)
			goto out;
		strbuf_addstr(&why, " (");
		kernel_name(w, &why);
		strbuf_addch(&why, ')');
		goto fail;
	}
	if (!w->have_cv) {
		strbuf_addstr(&why, "no symbol table can be chosen for ");
		kernel_name(w, &why);
		strbuf_addstr(&why, ": its RSDS record cannot be read; give --profile FILE.json.xz made from the kernel's PDB");
		goto fail;
	}
	if (env->profile_dir) {
		path = table_in_dir(env->profile_dir, &w->cv);
		if (path) {
			rc = load_table(w, path, &why);
			free(path);
			if (rc)
				goto fail;
			goto out;
		}
	}
	strbuf_addstr(&why, "no symbol table for ");
	kernel_name(w, &why);
	strbuf_addf(&why, "%s%s: expected %s/windows/%s/%s-%u.json.xz (or .json)",
		    env->profile_dir ? " in " : " (neither --profile-dir nor --profile given)",
		    env->profile_dir ? env->profile_dir : "",
		    env->profile_dir ? env->profile_dir : "PROFILE_DIR", w->cv.name_shown,
		    w->cv.guid_str, w->cv.age);
	how_to_make(&why, &w->cv);
	strbuf_addstr(&why, ", then give --profile-dir DIR or --profile FILE");
fail:
	why_add(f->why, "%s; threads are the vCPUs only", why.buf);
out:
	strbuf_release(&why);
	return rc;
}

/* ---- kernel data ---- */

static bool maps(struct win *w, const struct aspace *as, uint64_t va)
{
	struct x86_walk wk;

	return vmem_translate(w->base.env.mem, as, va, &wk) == 0;
}

/* The System process's page tables map the whole kernel: prefer them to
 * whichever process a vCPU happened to run. */
static void system_tables(struct win *w)
{
	uint64_t sys, dtb;
	struct aspace as = w->kas;

	if (!w->S.system_process || win_read_ptr(w, w->S.system_process, &sys) ||
	    !win_kptr_ok(w, sys) || win_read_ptr(w, sys + w->L.dtb.off, &dtb))
		return;
	as.cr3 = dtb;
	if (!x86_cr3_root(as.mode, dtb) || !maps(w, &as, w->kbase) ||
	    !maps(w, &as, w->S.active_head))
		return;
	w->kas = as;
	strbuf_reset(&w->kas_src);
	strbuf_addf(&w->kas_src, "%s paging, the System process's DirectoryTableBase 0x%" PRIx64,
		    x86_paging_mode_name(as.mode), dtb);
}

static bool read_u32(struct win *w, uint64_t va, uint32_t *v)
{
	uint8_t b[4];

	if (!va || win_read(w, va, b, 4))
		return false;
	*v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	     (uint32_t)b[3] << 24;
	return true;
}

static void version(struct win *w)
{
	const struct win_layout *L = &w->L;
	char lab[sizeof(w->build_lab)];
	size_t i;

	strbuf_reset(&w->version_src);
	if (read_u32(w, w->S.build_number, &w->build_raw)) {
		w->have_build = true;
		strbuf_addstr(&w->version_src, "NtBuildNumber");
	} else if (L->kusd_build.size == 4 &&
		   read_u32(w, WIN_KUSER_SHARED_DATA + L->kusd_build.off,
			    &w->build_raw)) {
		w->have_build = true;
		strbuf_addstr(&w->version_src, "KUSER_SHARED_DATA.NtBuildNumber");
	}
	if (read_u32(w, w->S.major, &w->major) &&
	    read_u32(w, w->S.minor, &w->minor)) {
		w->have_version = true;
		strbuf_addf(&w->version_src, "%sNtMajorVersion, NtMinorVersion",
			    w->version_src.len ? ", " : "");
	} else if (L->kusd_major.size == 4 && L->kusd_minor.size == 4 &&
		   read_u32(w, WIN_KUSER_SHARED_DATA + L->kusd_major.off, &w->major) &&
		   read_u32(w, WIN_KUSER_SHARED_DATA + L->kusd_minor.off, &w->minor)) {
		w->have_version = true;
		strbuf_addf(&w->version_src, "%sKUSER_SHARED_DATA.NtMajorVersion/NtMinorVersion",
			    w->version_src.len ? ", " : "");
	}
	if (w->have_version && (w->major > 99 || w->minor > 99))
		w->have_version = false;
	w->build_lab[0] = 0;
	if (w->S.build_lab && !win_read(w, w->S.build_lab, lab, sizeof(lab))) {
		for (i = 0; i < sizeof(lab) && lab[i] >= 0x20 && lab[i] < 0x7f; i++)
			;
		if (i < sizeof(lab) && !lab[i] && i)
			memcpy(w->build_lab, lab, i + 1);
	}
}

void win_free_state(struct win *w)
{
	win_tasks_release(w);
	isf_free(w->isf);
	w->isf = NULL;
	free(w->profile);
	free(w->vcpu);
	free(w->prcbs);
	strbuf_release(&w->kas_src);
	strbuf_release(&w->found_by);
	strbuf_release(&w->version_src);
	strbuf_release(&w->notes);
}

/* Offsets and symbols from the table; then the kernel's data. 0, or
 * -ENOENT with why saying why the table does not serve. */
static int use_table(struct win *w, struct strbuf *why)
{
	struct strbuf msg = STRBUF_INIT;
	unsigned v;
	int rc;

	rc = win_layout_from_isf(&w->L, w->isf, &msg);
	if (!rc)
		rc = win_syms_from_isf(&w->S, w->isf, w->kbase, &msg);
	if (rc) {
		why_add(why, "the symbol table %s cannot be used for ", w->profile);
		kernel_name(w, why);
		strbuf_addf(why, ": %s; threads are the vCPUs only", msg.buf);
		strbuf_release(&msg);
		return rc;
	}
	strbuf_release(&msg);
	system_tables(w);
	version(w);
	win_walk(w);
	/* a table that finds neither a KPCR nor a process is not this
	 * kernel's, whatever its name says */
	for (v = 0; v < w->base.env.nr_vcpus && !w->vcpu[v].ok; v++)
		;
	if (!w->nprocs && v == w->base.env.nr_vcpus) {
		why_add(why, "no process in PsActiveProcessHead at 0x%" PRIx64 " of ",
			w->S.active_head);
		kernel_name(w, why);
		strbuf_addf(why, ": the symbol table %s does not fit this memory; threads are the vCPUs only",
			    w->profile);
		return -ENOENT;
	}
	return 0;
}

int win_detect(const struct os_env *env, struct os **out, struct strbuf *why)
{
	struct win *w;
	struct finder f;
	struct timespec t0, t1;
	unsigned nv = env->nr_vcpus ? env->nr_vcpus : 1, v;

	*out = NULL;
	if (env->guest_bits != 64) {
		why_add(why, "a 32-bit guest: only 64-bit Windows is supported");
		return 0;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	w = xcalloc(1, sizeof(*w));
	w->base.env = *env;
	strbuf_init(&w->kas_src, 0);
	strbuf_init(&w->found_by, 0);
	strbuf_init(&w->version_src, 0);
	strbuf_init(&w->notes, 0);
	w->vcpu = xcalloc(nv, sizeof(*w->vcpu));
	memset(&f, 0, sizeof(f));
	f.w = w;
	f.env = env;
	f.why = why;
	f.vregs = xcalloc(nv, sizeof(*f.vregs));
	f.vok = xcalloc(nv, sizeof(bool));
	for (v = 0; v < env->nr_vcpus; v++)
		f.vok[v] = env->vcpu_regs(env->ctx, v, &f.vregs[v]) == 0;

	if (find_kernel(&f))
		goto out_free_state;
	if (find_table(&f) || use_table(w, why))
		goto out_warn;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	w->detect_ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
		       (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	log_info(LC_OS, "windows: %s at 0x%" PRIx64 ", %zu processes, %zu threads (found in %.1f ms)",
		 w->cv.name_shown[0] ? w->cv.name_shown : "kernel", w->kbase,
		 w->nprocs, w->base.ntasks, w->detect_ms);
	free(f.vregs);
	free(f.vok);
	*out = &w->base;
	return 1;
out_warn:
	/* a Windows kernel is there: say what is missing, loudly */
	log_warn(LC_OS, "windows: %s", why->buf);
out_free_state:
	free(f.vregs);
	free(f.vok);
	win_free_state(w);
	free(w);
	return 0;
}
