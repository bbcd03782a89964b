// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Simulated domains: creation from a QEMU dump, a raw image or zero pages;
 * guest memory in a memfd shared with the clients that map it, described
 * by a p2m of page slots; the special HVM pages; lifecycle (pause counts,
 * shutdown, dying); the small part of xenstore clients read.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stub/base/log.h"
#include "tests/xensim/simd.h"

bool sim_is_hvm(const struct sim_domain *d)
{
	return d->type != SIM_PV;
}

struct sim_domain *sim_domain_get(struct sim *s, uint32_t domid)
{
	if (domid >= SIM_MAX_DOMAINS)
		return NULL;
	return s->dom[domid];
}

struct sim_domain *sim_domain_lookup(struct sim *s, const char *key)
{
	char *end;
	unsigned long id = strtoul(key, &end, 0);
	unsigned i;

	if (*key && !*end)
		return id < SIM_MAX_DOMAINS ? s->dom[id] : NULL;
	for (i = 1; i < SIM_MAX_DOMAINS; i++)
		if (s->dom[i] && !strcmp(s->dom[i]->name, key))
			return s->dom[i];
	return NULL;
}

bool sim_gfn_populated(const struct sim_domain *d, uint64_t gfn)
{
	return gfn < d->p2m_size && d->p2m[gfn] != SIM_NO_SLOT;
}

uint8_t *sim_gfn_ptr(struct sim_domain *d, uint64_t gfn)
{
	if (!sim_gfn_populated(d, gfn))
		return NULL;
	return d->mem + ((uint64_t)d->p2m[gfn] << SIM_PAGE_SHIFT);
}

int sim_slot_alloc(struct sim_domain *d, uint32_t *slot)
{
	if (d->pool_next >= d->file_pages)
		return -ENOMEM;
	*slot = (uint32_t)d->pool_next++;
	memset(d->mem + ((uint64_t)*slot << SIM_PAGE_SHIFT), 0, SIM_PAGE_SIZE);
	return 0;
}

int sim_gfn_populate(struct sim_domain *d, uint64_t gfn)
{
	uint32_t slot;
	int rc;

	if (gfn >= d->p2m_size)
		return -EINVAL;
	if (d->p2m[gfn] != SIM_NO_SLOT)
		return 0;
	rc = sim_slot_alloc(d, &slot);
	if (rc)
		return rc;
	d->p2m[gfn] = slot;
	d->host_acc[gfn] = d->default_access;
	d->tot_pages++;
	if (gfn > d->max_mapped)
		d->max_mapped = gfn;
	return 0;
}

int sim_gfn_remove(struct sim_domain *d, uint64_t gfn)
{
	if (!sim_gfn_populated(d, gfn))
		return -EINVAL;
	/* The slot is not reused: whoever still maps it (the ring's
	 * listener, like Xen's reference) keeps a valid page. */
	d->p2m[gfn] = SIM_NO_SLOT;
	d->tot_pages--;
	return 0;
}

bool sim_domain_paused(const struct sim_domain *d)
{
	return d->controller_pause > 0 || d->shut_down || d->dying;
}

void sim_domain_shutdown(struct sim_domain *d, unsigned code,
			 const char *why)
{
	if (d->shut_down)
		return;
	d->shut_down = true;
	d->shutdown_code = code;
	free(d->crash_reason);
	d->crash_reason = why ? xstrdup(why) : NULL;
	log_info(LC_MAIN, "domain %u (%s) shut down, code %u%s%s",
		 d->domid, d->name, code, why ? ": " : "", why ? why : "");
	sim_update_timer(d->sim);
}

/* ---- registers ---- */

/* A 64-bit vCPU with flat segments: what zero-page and raw domains get. */
static void regs_long_mode(struct hvm_hw_cpu *r, uint64_t cr3, bool paging,
			   uint64_t rsp)
{
	memset(r, 0, sizeof(*r));
	r->rflags = 0x202;
	r->rsp = rsp;
	r->dr6 = 0xffff0ff0;
	r->dr7 = 0x400;
	r->ldtr_arbytes = 0x82;
	r->tr_sel = 0x40;
	r->tr_limit = 0x67;
	r->tr_arbytes = 0x8b;
	r->ds_sel = r->es_sel = r->ss_sel = 0x18;
	r->ds_limit = r->es_limit = r->ss_limit = 0xffffffff;
	r->ds_arbytes = r->es_arbytes = r->ss_arbytes = 0xc93;
	r->fs_arbytes = r->gs_arbytes = 0x10000;	/* unusable */
	r->cs_sel = 0x10;
	r->cs_limit = 0xffffffff;
	if (paging) {
		r->cr0 = 0x80050033;	/* PG WP AM NE ET MP PE */
		r->cr3 = cr3;
		r->cr4 = 0x6a0;		/* OSXMMEXCPT OSFXSR PGE PAE */
		r->msr_efer = 0xd01;	/* NXE LMA LME SCE */
		r->cs_arbytes = 0xa9b;	/* L, present, code */
	} else {
		r->cr0 = 0x33;		/* NE ET MP PE: flat 32-bit */
		r->cs_arbytes = 0xc9b;
	}
	/* FXSAVE image after FNINIT: FCW 0x37f, MXCSR 0x1f80. */
	r->fpu_regs[0] = 0x7f;
	r->fpu_regs[1] = 0x03;
	r->fpu_regs[24] = 0x80;
	r->fpu_regs[25] = 0x1f;
	r->flags = XEN_X86_FPU_INITIALISED;
}

/*
 * An identity map of the first npages frames with 4 KiB pages, 4-level,
 * in the top frames of RAM. Returns the root's address and the first
 * frame the tables use.
 */
static uint64_t build_identity_map(struct sim_domain *d, uint64_t npages,
				   uint64_t *first_table)
{
	uint64_t npt = (npages + 511) / 512;
	uint64_t npd = (npt + 511) / 512;
	uint64_t npdpt = (npd + 511) / 512;
	uint64_t total = npt + npd + npdpt + 1;
	uint64_t base = npages - total;
	uint64_t pml4 = base, pdpt = base + 1, pd = pdpt + npdpt,
		 pt = pd + npd;
	uint64_t i;

	for (i = 0; i < npages; i++) {
		uint64_t *e = (uint64_t *)sim_gfn_ptr(d, pt + i / 512);

		e[i % 512] = (i << 12) | 0x63;	/* P RW A D */
	}
	for (i = 0; i < npt; i++) {
		uint64_t *e = (uint64_t *)sim_gfn_ptr(d, pd + i / 512);

		e[i % 512] = ((pt + i) << 12) | 0x23;	/* P RW A */
	}
	for (i = 0; i < npd; i++) {
		uint64_t *e = (uint64_t *)sim_gfn_ptr(d, pdpt + i / 512);

		e[i % 512] = ((pd + i) << 12) | 0x23;
	}
	for (i = 0; i < npdpt; i++) {
		uint64_t *e = (uint64_t *)sim_gfn_ptr(d, pml4);

		e[i] = ((pdpt + i) << 12) | 0x23;
	}
	*first_table = base;
	return pml4 << 12;
}

/* ---- creation ---- */

static int map_file(const char *path, uint8_t **data, size_t *size,
		    char **msg)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc;

	if (fd < 0) {
		rc = -errno;
		*msg = xstrfmt("cannot open %s: %s", path, strerror(errno));
		return rc;
	}
	if (fstat(fd, &st) < 0 || st.st_size <= 0) {
		rc = st.st_size <= 0 ? -EINVAL : -errno;
		*msg = xstrfmt("cannot use %s: %s", path,
			       rc == -EINVAL ? "empty file" : strerror(-rc));
		goto out_close;
	}
	*size = (size_t)st.st_size;
	*data = mmap(NULL, *size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (*data == MAP_FAILED) {
		rc = -errno;
		*msg = xstrfmt("cannot map %s: %s", path, strerror(errno));
		goto out_close;
	}
	rc = 0;
out_close:
	close(fd);
	return rc;
}

static int alloc_memory(struct sim_domain *d, uint64_t p2m_size, char **msg)
{
	uint64_t i;
	int rc;

	d->p2m_size = p2m_size;
	d->file_pages = p2m_size + SIM_POOL_PAGES;
	d->pool_next = p2m_size;
	d->memfd = memfd_create("xensim-guest", MFD_CLOEXEC);
	if (d->memfd < 0) {
		rc = -errno;
		*msg = xstrfmt("memfd_create failed: %s", strerror(errno));
		return rc;
	}
	if (ftruncate(d->memfd, (off_t)(d->file_pages << SIM_PAGE_SHIFT)) < 0) {
		rc = -errno;
		*msg = xstrfmt("cannot size guest memory: %s", strerror(errno));
		return rc;
	}
	d->mem = mmap(NULL, d->file_pages << SIM_PAGE_SHIFT,
		      PROT_READ | PROT_WRITE, MAP_SHARED, d->memfd, 0);
	if (d->mem == MAP_FAILED) {
		rc = -errno;
		d->mem = NULL;
		*msg = xstrfmt("cannot map guest memory: %s", strerror(errno));
		return rc;
	}
	d->p2m = xmalloc(st_mult(p2m_size, sizeof(*d->p2m)));
	for (i = 0; i < p2m_size; i++)
		d->p2m[i] = SIM_NO_SLOT;
	d->host_acc = xmalloc(p2m_size);
	memset(d->host_acc, XENMEM_access_rwx, p2m_size);
	d->default_access = XENMEM_access_rwx;
	return 0;
}

static void ram_page(struct sim_domain *d, uint64_t gfn)
{
	if (d->p2m[gfn] == SIM_NO_SLOT) {
		d->p2m[gfn] = (uint32_t)gfn;
		d->tot_pages++;
		if (gfn > d->max_mapped)
			d->max_mapped = gfn;
	}
}

static uint64_t special_floor(const struct sim_create_args *a)
{
	return a->type == SIM_PV ? 0 : SIM_SPECIAL_END;
}

/*
 * Copies a dump's segment into the domain's fresh memory (which reads as
 * zeros), leaving out its all-zero pages: their memory is never allocated,
 * which spares most of a dump's loading time (about half of a Linux
 * guest's pages are zeros).
 */
static void copy_nonzero(uint8_t *dst, const uint8_t *src, uint64_t size)
{
	uint64_t off, n;

	for (off = 0; off < size; off += n) {
		n = size - off < SIM_PAGE_SIZE ? size - off : SIM_PAGE_SIZE;
		if (src[off] || memcmp(src + off, src + off + 1, n - 1))
			memcpy(dst + off, src + off, n);
	}
}

static int load_dump(struct sim_domain *d, const struct sim_create_args *a,
		     char **msg)
{
	struct sim_dump img;
	uint8_t *data;
	size_t size, i;
	uint64_t top;
	int rc;

	rc = map_file(a->dump_path, &data, &size, msg);
	if (rc)
		return rc;
	rc = sim_dump_load(data, size, a->dump_path, &img, msg);
	if (rc)
		goto out_unmap;
	rc = -EINVAL;
	if (a->vcpus && a->vcpus != img.nr_vcpus) {
		*msg = xstrfmt("%s holds %u vCPUs, not the %u asked for",
			       a->dump_path, img.nr_vcpus, a->vcpus);
		goto out_free_img;
	}
	if (!img.long_mode && a->type == SIM_PV) {
		*msg = xstrfmt("%s: 32-bit PV guests are not modelled",
			       a->dump_path);
		rc = -EOPNOTSUPP;
		goto out_free_img;
	}
	top = img.gpa_end;
	if (top > (1ull << 40)) {
		*msg = xstrfmt("%s: guest memory ends at 0x%" PRIx64
			       ", outside what xensim supports",
			       a->dump_path, top);
		goto out_free_img;
	}
	top >>= SIM_PAGE_SHIFT;
	if (top < special_floor(a))
		top = special_floor(a);
	rc = alloc_memory(d, top, msg);
	if (rc)
		goto out_free_img;
	for (i = 0; i < img.nseg; i++) {
		const struct sim_dump_seg *sg = &img.seg[i];
		uint64_t g;

		copy_nonzero(d->mem + sg->gpa, data + sg->offset, sg->size);
		for (g = sg->gpa >> SIM_PAGE_SHIFT;
		     g < (sg->gpa + sg->size) >> SIM_PAGE_SHIFT; g++)
			ram_page(d, g);
	}
	d->nr_vcpus = img.nr_vcpus;
	d->vcpu = xcalloc(d->nr_vcpus, sizeof(*d->vcpu));
	for (i = 0; i < d->nr_vcpus; i++)
		d->vcpu[i].r = img.vcpu[i];
	rc = 0;
out_free_img:
	sim_dump_free(&img);
out_unmap:
	munmap(data, size);
	return rc;
}

static int load_raw(struct sim_domain *d, const struct sim_create_args *a,
		    char **msg)
{
	uint8_t *data;
	size_t size;
	uint64_t pages, g, top;
	unsigned i;
	int rc;

	rc = map_file(a->raw_path, &data, &size, msg);
	if (rc)
		return rc;
	pages = (size + SIM_PAGE_SIZE - 1) >> SIM_PAGE_SHIFT;
	top = pages < special_floor(a) ? special_floor(a) : pages;
	rc = alloc_memory(d, top, msg);
	if (rc)
		goto out_unmap;
	memcpy(d->mem, data, size);
	for (g = 0; g < pages; g++)
		ram_page(d, g);
	d->nr_vcpus = a->vcpus ? a->vcpus : 1;
	d->vcpu = xcalloc(d->nr_vcpus, sizeof(*d->vcpu));
	for (i = 0; i < d->nr_vcpus; i++)
		regs_long_mode(&d->vcpu[i].r, a->cr3, a->have_cr3, 0);
out_unmap:
	munmap(data, size);
	return rc;
}

static int load_zero(struct sim_domain *d, const struct sim_create_args *a,
		     char **msg)
{
	uint64_t pages = a->zero_mib << (20 - SIM_PAGE_SHIFT);
	uint64_t top = pages < special_floor(a) ? special_floor(a) : pages;
	uint64_t g, cr3 = 0, tables = pages;
	unsigned i;
	int rc;

	if (!pages || a->zero_mib > (1u << 20)) {
		*msg = xstrfmt("--zero %" PRIu64 ": give 1..1048576 MiB",
			       a->zero_mib);
		return -EINVAL;
	}
	rc = alloc_memory(d, top, msg);
	if (rc)
		return rc;
	for (g = 0; g < pages; g++)
		ram_page(d, g);
	if (a->pagetables)
		cr3 = build_identity_map(d, pages, &tables);
	d->nr_vcpus = a->vcpus ? a->vcpus : 1;
	d->vcpu = xcalloc(d->nr_vcpus, sizeof(*d->vcpu));
	for (i = 0; i < d->nr_vcpus; i++)
		regs_long_mode(&d->vcpu[i].r, cr3, a->pagetables,
			       (tables << SIM_PAGE_SHIFT) - 0x1000 * i - 16);
	return 0;
}

static int add_special_pages(struct sim_domain *d, char **msg)
{
	uint64_t g;
	int rc;

	for (g = SIM_SPECIAL_END - SIM_SPECIAL_PAGES; g < SIM_SPECIAL_END;
	     g++) {
		if (sim_gfn_populated(d, g)) {
			*msg = xstrfmt("guest memory covers the HVM special page 0x%" PRIx64
				       ", which xensim reserves for the monitor ring",
				       g);
			return -EINVAL;
		}
		rc = sim_gfn_populate(d, g);
		if (rc) {
			*msg = xstrfmt("cannot populate special page 0x%" PRIx64,
				       g);
			return rc;
		}
	}
	d->monitor_ring_pfn = SIM_RING_PFN;
	return 0;
}

int sim_domain_create(struct sim *s, const struct sim_create_args *a,
		      struct sim_domain **out, char **msg)
{
	struct sim_domain *d;
	unsigned i, nsrc = !!a->dump_path + !!a->raw_path + !!a->zero_mib;
	uint32_t id;
	int rc;

	*msg = NULL;
	if (nsrc != 1) {
		*msg = xstrfmt("give exactly one of --from-dump, --raw, --zero");
		return -EINVAL;
	}
	if (!a->name || !*a->name || strlen(a->name) > 64 ||
	    strspn(a->name, "0123456789") == strlen(a->name)) {
		*msg = xstrfmt("domain name \"%s\" is not usable (1..64 characters, not all digits)",
			       a->name ? a->name : "");
		return -EINVAL;
	}
	if (sim_domain_lookup(s, a->name)) {
		*msg = xstrfmt("a domain named \"%s\" already exists", a->name);
		return -EEXIST;
	}
	if (a->vcpus > SIM_MAX_VCPUS) {
		*msg = xstrfmt("%u vCPUs: xensim supports 1..%u", a->vcpus,
			       SIM_MAX_VCPUS);
		return -EINVAL;
	}
	for (id = s->next_domid; id < SIM_MAX_DOMAINS && s->dom[id]; id++)
		;
	if (id >= SIM_MAX_DOMAINS) {
		for (id = 1; id < SIM_MAX_DOMAINS && s->dom[id]; id++)
			;
		if (id >= SIM_MAX_DOMAINS) {
			*msg = xstrfmt("no free domain id");
			return -ENOSPC;
		}
	}
	d = xcalloc(1, sizeof(*d));
	d->sim = s;
	d->memfd = -1;
	d->domid = id;
	d->name = xstrdup(a->name);
	d->type = a->type;
	d->vendor = a->vendor;
	d->altp2m_mode = a->type == SIM_PV ? XEN_ALTP2M_disabled
					   : a->altp2m_mode;
	d->pv_bits = 64;
	if (a->dump_path)
		rc = load_dump(d, a, msg);
	else if (a->raw_path)
		rc = load_raw(d, a, msg);
	else
		rc = load_zero(d, a, msg);
	if (rc)
		goto out_destroy;
	if (sim_is_hvm(d)) {
		rc = add_special_pages(d, msg);
		if (rc)
			goto out_destroy;
	}
	for (i = 0; i < d->nr_vcpus; i++) {
		struct sim_vcpu *v = &d->vcpu[i];

		v->d = d;
		v->id = i;
		v->online = true;
		v->inject.vector = -1;
		v->budget = UINT64_MAX;
	}
	s->dom[id] = d;
	s->next_domid = id + 1;
	log_info(LC_MAIN, "created domain %u (%s): %u vCPUs, %" PRIu64
		 " pages, max gpfn 0x%" PRIx64, id, d->name, d->nr_vcpus,
		 d->tot_pages, d->max_mapped);
	*out = d;
	return 0;

out_destroy:
	if (!*msg)
		*msg = xstrfmt("cannot create domain %s: %s", a->name,
			       strerror(-rc));
	sim_domain_destroy(s, d);
	return rc;
}

void sim_domain_destroy(struct sim *s, struct sim_domain *d)
{
	unsigned i;

	if (d->domid < SIM_MAX_DOMAINS && s->dom[d->domid] == d) {
		s->dom[d->domid] = NULL;
		sim_evtchn_domain_gone(s, d);
	}
	sim_ring_free(d);
	for (i = 0; i < d->nr_vcpus; i++) {
		sim_workload_free(&d->vcpu[i].wl);
		free(d->vcpu[i].fault);
	}
	for (i = 0; i < SIM_MAX_ALTP2M; i++)
		free(d->view[i].acc);
	free(d->vcpu);
	if (d->mem)
		munmap(d->mem, d->file_pages << SIM_PAGE_SHIFT);
	if (d->memfd >= 0)
		close(d->memfd);
	free(d->p2m);
	free(d->host_acc);
	free(d->ports);
	free(d->name);
	free(d->crash_reason);
	free(d);
	sim_update_timer(s);
}

/* ---- xenstore ---- */

static int parse_domain_path(struct sim *s, const char *p, uint32_t *id,
			     const char **rest)
{
	char *end;
	unsigned long v;

	if (strncmp(p, "/local/domain/", 14))
		return -ENOENT;
	p += 14;
	if (*p < '0' || *p > '9')
		return -ENOENT;
	v = strtoul(p, &end, 10);
	if (v >= SIM_MAX_DOMAINS || (*end && *end != '/'))
		return -ENOENT;
	if (v != 0 && !s->dom[v])
		return -ENOENT;
	*id = (uint32_t)v;
	*rest = end;
	return 0;
}

int sim_xs_read(struct sim *s, const char *path, struct strbuf *out)
{
	const char *rest;
	uint32_t id;

	if (!strcmp(path, "/") || !strcmp(path, "/local") ||
	    !strcmp(path, "/local/domain"))
		return 0;
	if (parse_domain_path(s, path, &id, &rest))
		return -ENOENT;
	if (!*rest)
		return 0;
	if (!strcmp(rest, "/name")) {
		strbuf_addstr(out, id ? s->dom[id]->name : "Domain-0");
		return 0;
	}
	if (!strcmp(rest, "/domid")) {
		strbuf_addf(out, "%u", id);
		return 0;
	}
	return -ENOENT;
}

int sim_xs_directory(struct sim *s, const char *path, struct strbuf *out)
{
	const char *rest;
	uint32_t id;
	unsigned i;

	if (!strcmp(path, "/")) {
		strbuf_add(out, "local", 6);
		return 0;
	}
	if (!strcmp(path, "/local")) {
		strbuf_add(out, "domain", 7);
		return 0;
	}
	if (!strcmp(path, "/local/domain")) {
		strbuf_add(out, "0", 2);
		for (i = 1; i < SIM_MAX_DOMAINS; i++) {
			if (s->dom[i]) {
				strbuf_addf(out, "%u", i);
				strbuf_addch(out, 0);
			}
		}
		return 0;
	}
	if (parse_domain_path(s, path, &id, &rest))
		return -ENOENT;
	if (!*rest) {
		strbuf_add(out, "name", 5);
		strbuf_add(out, "domid", 6);
		return 0;
	}
	if (!strcmp(rest, "/name") || !strcmp(rest, "/domid"))
		return 0;
	return -ENOENT;
}
