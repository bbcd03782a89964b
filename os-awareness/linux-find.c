// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Finding a Linux kernel with no configuration: the kernel's page tables
 * and image from the vCPUs' registers, VMCOREINFO by a bounded scan of
 * guest-physical memory, then its symbols and types (linux-sources.c),
 * then the kernel's data (init_task, the per-CPU offsets, the release).
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
#include "os-awareness/linux-find-internal.h"
#include "os-awareness/linux-infer.h"
#include "stub/base/log.h"
#include "stub/guest/vmem.h"

void lxf_why_add(struct finder *f, const char *fmt, ...)
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
bool lxf_vmci_get(const struct strbuf *t, const char *key, char *val,
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

bool lxf_vmci_hex(const struct strbuf *t, const char *key, uint64_t *v)
{
	char val[40], *end;

	if (!lxf_vmci_get(t, key, val, sizeof(val)))
		return false;
	*v = strtoull(val, &end, 16);
	return end != val && !*end;
}

bool lxf_vmci_sym(const struct strbuf *t, const char *name, uint64_t *v)
{
	char key[96];

	snprintf(key, sizeof(key), "SYMBOL(%s)", name);
	return lxf_vmci_hex(t, key, v);
}

static bool vmci_num(const struct strbuf *t, const char *name, int64_t *v)
{
	char key[96], val[40], *end;

	snprintf(key, sizeof(key), "NUMBER(%s)", name);
	if (!lxf_vmci_get(t, key, val, sizeof(val)))
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

bool lxf_mapped(struct finder *f, const struct aspace *as, uint64_t va)
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
	       lxf_mapped(f, &f->lx->kas, lo - ALIGN_2M))
		lo -= ALIGN_2M;
	while (hi < top && hi != 0 && lxf_mapped(f, &f->lx->kas, hi))
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
		if (!lxf_mapped(f, &f->lx->kas, f->ptrs[i]))
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
		if (lxf_mapped(f, &f->lx->kas, a)) {
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
		lxf_why_add(f, "no vCPU has paging on: the kernel has not set up its page tables");
		return -ENOENT;
	}
	if (lx->bits == 64 && mode != X86_PAGING_4LEVEL &&
	    mode != X86_PAGING_5LEVEL) {
		lxf_why_add(f, "a 64-bit guest in %s paging is not a running 64-bit kernel",
			x86_paging_mode_name(mode));
		return -ENOENT;
	}
	/* VMCOREINFO names the kernel's own page tables */
	if (f->vmci.len && lx->bits == 64 &&
	    (lxf_vmci_sym(&f->vmci, "init_top_pgt", &sym) ||
	     lxf_vmci_sym(&f->vmci, "swapper_pg_dir", &sym)) &&
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
		lxf_vmci_sym(&f->vmci, "_stext", &probe);
	for (i = 0; i < nc; i++) {
		lx->kas = c[i];
		collect_pointers(f, &c[i]);
		if (probe ? lxf_mapped(f, &c[i], probe) :
		    f->nptrs && lxf_mapped(f, &c[i], f->ptrs[0]))
			break;
		if (!probe && !f->nptrs) {
			image_by_probe(f);
			if (f->img_hi > f->img_lo)
				break;
		}
	}
	if (i == nc) {
		lxf_why_add(f, "no vCPU's page tables map kernel code");
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
		lxf_why_add(f, "init_task is not among the %zu kernel symbols (kallsyms without CONFIG_KALLSYMS_ALL?): give --symbols System.map",
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
		if (lxf_mapped(f, &as, S->init_task)) {
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
		lxf_why_add(f, "init_task at 0x%llx cannot be read",
			(unsigned long long)S->init_task);
		return -EFAULT;
	}
	comm[16] = 0;
	guest_text(shown, sizeof(shown), comm, strlen(comm), false, false);
	/* its name is the guest's to change: a renamed one must still be a
	 * ring of tasks linked back to it */
	if ((pid[0] | pid[1] | pid[2] | pid[3]) ||
	    (strncmp(comm, "swapper", 7) && !init_links_ok(lx, S->init_task))) {
		lxf_why_add(f, "init_task at 0x%llx does not look like it (comm '%s', pid %u): the %s do not match this kernel",
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

		lxf_vmci_get(&f.vmci, "OSRELEASE", rel, sizeof(rel));
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
		rc = lxf_load_profile(&f, env->profile_path);
		if (rc)
			goto free_state;
	} else if (env->profile_dir && !env->symbols_path) {
		dir_profile = lxf_profile_in_dir(&f, env->profile_dir);
		if (dir_profile && lxf_load_profile(&f, dir_profile)) {
			free(dir_profile);
			dir_profile = NULL;
		}
	}
	rc = lxf_find_symbols(&f);
	if (rc == -ENOENT && !f.user_symbols && !env->symbols_path && !lx->isf)
		goto not_found;
	if (rc)
		goto free_state;
	rc = lxf_find_types(&f);
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
