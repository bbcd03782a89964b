// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Live Xen domains: memory through libxenforeignmemory, registers from the
 * HVM context (or the PV vCPU context), pause and unpause, and the
 * vm_event monitor ring (libxenctrl monitor calls, libxenevtchn) for
 * breakpoints, single-step and mem_access traps.
 *
 * Everything changed in the domain is tracked here at the level of Xen
 * objects (our pauses, the ring, enabled monitors, armed single-steps,
 * held vCPUs) so that close() undoes it in Xen's order even when the
 * caller could not.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include <xenctrl.h>
#include <xendevicemodel.h>
#include <xenevtchn.h>
#include <xenforeignmemory.h>
#include <xenstore.h>
#include <xen/hvm/save.h>
#include <xen/io/ring.h>
#include <xen/vm_event.h>

#include "stub/guest/journal.h"
#include "stub/base/log.h"
#include "stub/base/strbuf.h"
#include "stub/guest/target.h"

struct xen_target {
	struct target base;
	xc_interface *xch;
	xenforeignmemory_handle *fmem;
	xendevicemodel_handle *dmod;
	xenevtchn_handle *xce;
	uint32_t domid;
	char name[128];
	bool hvm;
	bool pv;
	unsigned pv_width;	/* PV: 4 or 8 */
	bool read_only;

	unsigned our_pauses;	/* xc_domain_pause calls not yet undone */

	/* monitor ring */
	void *ring_page;
	vm_event_back_ring_t back_ring;
	uint32_t remote_port;
	int local_port;
	uint32_t mon_caps;	/* XEN_DOMCTL_MONITOR_EVENT_* bits */
	bool mon[TMON_INGUEST_PF + 1];
	bool *ss_armed;		/* per vCPU: debug_control single-step on */
	bool *held;		/* per vCPU: a request waits for our answer */
	vm_event_request_t *held_req;
	/* requests read from the ring but not handed out yet */
	vm_event_request_t *queue;
	unsigned nqueue, qcap;

	/* HVM context blob, for register writes */
	uint8_t *ctx;
	uint32_t ctx_size;
};

static struct xen_target *to_xen(struct target *t)
{
	return (struct xen_target *)t;
}

static int xen_errno(int rc)
{
	int e = errno;

	if (rc >= 0)
		return 0;
	return e ? -e : -EIO;
}

/* ---- opening ---- */

static int lookup_name(const char *name, uint32_t *domid, char **msg)
{
	struct xs_handle *xs = xs_open(XS_OPEN_READONLY);
	unsigned n = 0, i, found = 0;
	char **dirs;
	int rc = -ENOENT;

	if (!xs) {
		int e = errno ? errno : EIO;

		*msg = xstrfmt("xen:%s: cannot open xenstore to look the name up: %s "
			       "(is xenstored running? are you root in dom0?)",
			       name, strerror(e));
		return -e;
	}
	dirs = xs_directory(xs, XBT_NULL, "/local/domain", &n);
	for (i = 0; dirs && i < n; i++) {
		char path[64];
		unsigned len;
		char *v;

		snprintf(path, sizeof(path), "/local/domain/%s/name", dirs[i]);
		v = xs_read(xs, XBT_NULL, path, &len);
		if (v && !strcmp(v, name)) {
			char *end;
			unsigned long id = strtoul(dirs[i], &end, 10);

			if (!*end) {
				*domid = (uint32_t)id;
				found++;
			}
		}
		free(v);
	}
	free(dirs);
	xs_close(xs);
	if (found == 1)
		rc = 0;
	else if (found > 1)
		*msg = xstrfmt("xen:%s: the name is used by %u domains: give the domain id",
			       name, found);
	else
		*msg = xstrfmt("xen:%s: no domain has that name (xl list shows the domains)",
			       name);
	return found > 1 ? -EEXIST : rc;
}

static int read_name(struct xen_target *x)
{
	struct xs_handle *xs = xs_open(XS_OPEN_READONLY);
	char path[64];
	unsigned len;
	char *v;

	if (!xs)
		return -errno;
	snprintf(path, sizeof(path), "/local/domain/%u/name", x->domid);
	v = xs_read(xs, XBT_NULL, path, &len);
	if (v)
		snprintf(x->name, sizeof(x->name), "%s", v);
	free(v);
	xs_close(xs);
	return 0;
}

static int get_info(struct xen_target *x, xc_dominfo_t *info)
{
	int rc = xc_domain_getinfo(x->xch, x->domid, 1, info);

	if (rc < 0)
		return xen_errno(rc);
	if (rc != 1 || info->domid != x->domid)
		return -ESRCH;
	return 0;
}

static void xen_close(struct target *t);
static const struct target_event_ops xen_event_ops;

/* Decides the register layout: 32-bit only for a 32-bit protected-mode
 * guest (a 64-bit guest, or one still in real mode, gets x86-64). */
static unsigned guest_bits(struct xen_target *x)
{
	struct hvm_hw_cpu cpu;

	if (x->pv)
		return x->pv_width == 4 ? 32 : 64;
	if (xc_domain_hvm_getcontext_partial(x->xch, x->domid,
					     HVM_SAVE_CODE(CPU), 0, &cpu,
					     sizeof(cpu)) < 0)
		return 64;
	if (!(cpu.msr_efer & (1ull << 10)) && (cpu.cr0 & 1) && (cpu.cr0 & (1ull << 31)))
		return 32;
	return 64;
}

static int xen_open(const char *spec, const struct target_params *p,
		    struct target **out, char **msg)
{
	struct xen_target *x = xcalloc(1, sizeof(*x));
	xc_dominfo_t info;
	xen_pfn_t maxpfn = 0;
	uint32_t domid;
	char *end;
	int rc;

	target_init(&x->base, &target_xen);
	x->local_port = -1;
	x->read_only = p->read_only;

	domid = (uint32_t)strtoul(spec, &end, 0);
	if (*end || !*spec) {
		rc = lookup_name(spec, &domid, msg);
		if (rc)
			goto fail;
	}
	x->domid = domid;

	x->xch = xc_interface_open(NULL, NULL, 0);
	if (!x->xch) {
		rc = errno ? -errno : -EIO;
		*msg = xstrfmt("xen:%s: cannot open the Xen control interface: %s "
			       "(xenstub runs in dom0, as root, with the Xen tools' modules loaded)",
			       spec, strerror(-rc));
		goto fail;
	}
	if (domid == 0) {
		*msg = xstrfmt("xen:%s: domain 0 is the control domain running xenstub: it cannot be debugged from itself",
			       spec);
		rc = -EPERM;
		goto fail;
	}
	rc = get_info(x, &info);
	if (rc) {
		*msg = xstrfmt("xen:%s: no such domain%s", spec,
			       rc == -ESRCH ? " (xl list shows the domains)" : "");
		goto fail;
	}
	if (info.dying) {
		*msg = xstrfmt("xen:%s: the domain is dying (being destroyed)", spec);
		rc = -ESRCH;
		goto fail;
	}
	if (info.shutdown || info.crashed) {
		/* libxenctrl reports a crash as crashed, not shutdown */
		*msg = info.crashed ?
			xstrfmt("xen:%s: the domain has crashed (it is kept for inspection): "
				"nothing runs in it; 'xl dump-core' saves it for 'core:'", spec) :
			xstrfmt("xen:%s: the domain has shut down (reason %u): nothing runs in it",
				spec, info.shutdown_reason);
		rc = -ESRCH;
		goto fail;
	}
	read_name(x);
	x->hvm = info.hvm;
	x->pv = !info.hvm;
	if (x->pv) {
		unsigned w = 8;

		if (xc_domain_get_guest_width(x->xch, domid, &w) == 0)
			x->pv_width = w;
		else
			x->pv_width = 8;
	}
	x->base.nr_vcpus = info.max_vcpu_id + 1;
	if (xc_domain_maximum_gpfn(x->xch, domid, &maxpfn) < 0)
		maxpfn = info.nr_pages * 2;
	/* PV page tables hold machine frames: let any frame be asked for */
	x->base.max_gfn = x->pv ? ((1ull << 40) - 1) : maxpfn;
	x->base.maxphys = info.gpaddr_bits ? info.gpaddr_bits : 52;
	x->base.map_batch = 16;

	x->fmem = xenforeignmemory_open(NULL, 0);
	if (!x->fmem) {
		rc = errno ? -errno : -EIO;
		*msg = xstrfmt("xen:%s: cannot open foreign memory mapping: %s", spec,
			       strerror(-rc));
		goto fail;
	}
	x->dmod = xendevicemodel_open(NULL, 0);
	x->ss_armed = xcalloc(x->base.nr_vcpus, sizeof(bool));
	x->held = xcalloc(x->base.nr_vcpus, sizeof(bool));
	x->held_req = xcalloc(x->base.nr_vcpus, sizeof(*x->held_req));

	x->base.caps = TCAP_RUN | TCAP_EVENTS;
	if (!p->read_only)
		x->base.caps |= TCAP_WRITE_MEM | TCAP_WRITE_REGS;
	if (x->pv) {
		/*
		 * Xen types a PV frame that has a writable mapping "writable":
		 * such a frame cannot be mapped writable if it is a page table,
		 * and while the mapping exists the guest cannot make it one
		 * (its pin fails with EINVAL and the guest breaks). So frames
		 * are mapped read-only, and writable only for one write.
		 */
		x->base.caps |= TCAP_TRANSIENT_WRITES;
	}
	if (x->hvm && xc_monitor_get_capabilities(x->xch, domid, &x->mon_caps) == 0) {
		if (x->mon_caps & (1u << XEN_DOMCTL_MONITOR_EVENT_SINGLESTEP))
			x->base.caps |= TCAP_SINGLESTEP;
		if (x->mon_caps & (1u << XEN_DOMCTL_MONITOR_EVENT_SOFTWARE_BREAKPOINT))
			x->base.caps |= TCAP_SWBP;
		if (x->mon_caps & (1u << XEN_DOMCTL_MONITOR_EVENT_DEBUG_EXCEPTION))
			x->base.caps |= TCAP_DEBUG_EXC;
		x->base.caps |= TCAP_MEM_ACCESS; /* probed when first used */
	} else {
		x->base.caps &= ~TCAP_EVENTS;
	}
	x->base.guest_bits = p->raw_bits ? p->raw_bits : guest_bits(x);
	/* the handle (UUID) tells this domain from a later one that gets
	 * the same id */
	x->base.key = xstrfmt("xen-%u-%02x%02x%02x%02x%02x%02x%02x%02x%02x%02x%02x%02x%02x%02x%02x%02x",
			      domid, info.handle[0], info.handle[1], info.handle[2],
			      info.handle[3], info.handle[4], info.handle[5],
			      info.handle[6], info.handle[7], info.handle[8],
			      info.handle[9], info.handle[10], info.handle[11],
			      info.handle[12], info.handle[13], info.handle[14],
			      info.handle[15]);
	x->base.description = xstrfmt("Xen domain %u%s%s%s (%s, %u vCPU%s)", domid,
				      x->name[0] ? " '" : "", x->name,
				      x->name[0] ? "'" : "",
				      x->pv ? "PV" : "HVM/PVH", x->base.nr_vcpus,
				      x->base.nr_vcpus == 1 ? "" : "s");
	*out = &x->base;
	return 0;
fail:
	xen_close(&x->base);
	return rc;
}

/* ---- memory ---- */

static int xen_map(struct target *t, uint64_t gfn, unsigned count, bool write,
		   void **ptrs, void **handle)
{
	struct xen_target *x = to_xen(t);
	xen_pfn_t pfns[1024];
	int errs[1024];
	uint8_t *base;
	unsigned i, ok = 0;

	if (count > 1024)
		return -EINVAL;
	for (i = 0; i < count; i++)
		pfns[i] = (xen_pfn_t)(gfn + i);
	base = xenforeignmemory_map(x->fmem, x->domid,
				    write ? PROT_READ | PROT_WRITE : PROT_READ,
				    count, pfns, errs);
	if (!base) {
		int e = errno ? errno : EIO;

		target_set_error(t, "mapping frames 0x%llx..0x%llx failed: %s",
				 (unsigned long long)gfn,
				 (unsigned long long)(gfn + count - 1), strerror(e));
		/* report frames as missing rather than failing the read of
		 * a neighbour: map one at a time */
		if (count > 1)
			return -e;
		ptrs[0] = NULL;
		*handle = NULL;
		return 0;
	}
	for (i = 0; i < count; i++) {
		ptrs[i] = errs[i] ? NULL : base + (size_t)i * XC_PAGE_SIZE;
		ok += !errs[i];
	}
	log_dbg(LC_MEM, "mapped %u/%u frames at gfn 0x%llx", ok, count,
		(unsigned long long)gfn);
	*handle = base;
	return 0;
}

static void xen_unmap(struct target *t, void *handle, unsigned count)
{
	xenforeignmemory_unmap(to_xen(t)->fmem, handle, count);
}

/* ---- registers ---- */

static void seg_from(struct x86_segment *s, uint32_t sel, uint32_t limit,
		     uint64_t base, uint32_t ar)
{
	s->sel = (uint16_t)sel;
	s->limit = limit;
	s->base = base;
	s->attr = (uint16_t)(ar & 0xfff);
}

/* struct hvm_hw_cpu <-> struct x86_regs (segment attributes are Xen's
 * 12-bit compressed form, the same layout struct x86_segment uses). */
static void xen_cpu_to_regs(const struct hvm_hw_cpu *c, struct x86_regs *r)
{
	memset(r, 0, sizeof(*r));
	r->gpr[X86_RAX] = c->rax; r->gpr[X86_RBX] = c->rbx;
	r->gpr[X86_RCX] = c->rcx; r->gpr[X86_RDX] = c->rdx;
	r->gpr[X86_RBP] = c->rbp; r->gpr[X86_RSI] = c->rsi;
	r->gpr[X86_RDI] = c->rdi; r->gpr[X86_RSP] = c->rsp;
	r->gpr[X86_R8] = c->r8; r->gpr[X86_R9] = c->r9;
	r->gpr[X86_R10] = c->r10; r->gpr[X86_R11] = c->r11;
	r->gpr[X86_R12] = c->r12; r->gpr[X86_R13] = c->r13;
	r->gpr[X86_R14] = c->r14; r->gpr[X86_R15] = c->r15;
	r->rip = c->rip;
	r->rflags = c->rflags;
	r->cr0 = c->cr0; r->cr2 = c->cr2; r->cr3 = c->cr3; r->cr4 = c->cr4;
	r->dr[0] = c->dr0; r->dr[1] = c->dr1; r->dr[2] = c->dr2;
	r->dr[3] = c->dr3; r->dr[6] = c->dr6; r->dr[7] = c->dr7;
	seg_from(&r->seg[X86_CS], c->cs_sel, c->cs_limit, c->cs_base, c->cs_arbytes);
	seg_from(&r->seg[X86_DS], c->ds_sel, c->ds_limit, c->ds_base, c->ds_arbytes);
	seg_from(&r->seg[X86_ES], c->es_sel, c->es_limit, c->es_base, c->es_arbytes);
	seg_from(&r->seg[X86_FS], c->fs_sel, c->fs_limit, c->fs_base, c->fs_arbytes);
	seg_from(&r->seg[X86_GS], c->gs_sel, c->gs_limit, c->gs_base, c->gs_arbytes);
	seg_from(&r->seg[X86_SS], c->ss_sel, c->ss_limit, c->ss_base, c->ss_arbytes);
	seg_from(&r->seg[X86_TR], c->tr_sel, c->tr_limit, c->tr_base, c->tr_arbytes);
	seg_from(&r->seg[X86_LDTR], c->ldtr_sel, c->ldtr_limit, c->ldtr_base,
		 c->ldtr_arbytes);
	r->gdtr.base = c->gdtr_base; r->gdtr.limit = c->gdtr_limit;
	r->idtr.base = c->idtr_base; r->idtr.limit = c->idtr_limit;
	r->sysenter_cs = c->sysenter_cs; r->sysenter_esp = c->sysenter_esp;
	r->sysenter_eip = c->sysenter_eip;
	r->k_gs_base = c->shadow_gs;
	r->star = c->msr_star; r->lstar = c->msr_lstar;
	r->cstar = c->msr_cstar; r->sfmask = c->msr_syscall_mask;
	r->efer = c->msr_efer;
	memcpy(r->fxsave, c->fpu_regs, sizeof(r->fxsave));
	/* everything but CR8 (the TPR lives in the LAPIC record) */
	x86_set_valid_range(r, XF_GPR0, XF_EFER);
	x86_clear_valid(r, XF_CR8);
	x86_set_valid_range(r, XF_DR0, XF_SYSCALL);
	if (c->flags & XEN_X86_FPU_INITIALISED)
		x86_set_valid(r, XF_FPU);
}

static void seg_to(const struct x86_segment *s, uint32_t *sel, uint32_t *limit,
		   uint64_t *base, uint32_t *ar)
{
	*sel = s->sel;
	*limit = s->limit;
	*base = s->base;
	*ar = s->attr;
}

static void xen_regs_to_cpu(const struct x86_regs *r, struct hvm_hw_cpu *c)
{
	c->rax = r->gpr[X86_RAX]; c->rbx = r->gpr[X86_RBX];
	c->rcx = r->gpr[X86_RCX]; c->rdx = r->gpr[X86_RDX];
	c->rbp = r->gpr[X86_RBP]; c->rsi = r->gpr[X86_RSI];
	c->rdi = r->gpr[X86_RDI]; c->rsp = r->gpr[X86_RSP];
	c->r8 = r->gpr[X86_R8]; c->r9 = r->gpr[X86_R9];
	c->r10 = r->gpr[X86_R10]; c->r11 = r->gpr[X86_R11];
	c->r12 = r->gpr[X86_R12]; c->r13 = r->gpr[X86_R13];
	c->r14 = r->gpr[X86_R14]; c->r15 = r->gpr[X86_R15];
	c->rip = r->rip;
	c->rflags = r->rflags;
	c->cr0 = r->cr0; c->cr2 = r->cr2; c->cr3 = r->cr3; c->cr4 = r->cr4;
	c->dr0 = r->dr[0]; c->dr1 = r->dr[1]; c->dr2 = r->dr[2];
	c->dr3 = r->dr[3]; c->dr6 = r->dr[6]; c->dr7 = r->dr[7];
	seg_to(&r->seg[X86_CS], &c->cs_sel, &c->cs_limit, &c->cs_base, &c->cs_arbytes);
	seg_to(&r->seg[X86_DS], &c->ds_sel, &c->ds_limit, &c->ds_base, &c->ds_arbytes);
	seg_to(&r->seg[X86_ES], &c->es_sel, &c->es_limit, &c->es_base, &c->es_arbytes);
	seg_to(&r->seg[X86_FS], &c->fs_sel, &c->fs_limit, &c->fs_base, &c->fs_arbytes);
	seg_to(&r->seg[X86_GS], &c->gs_sel, &c->gs_limit, &c->gs_base, &c->gs_arbytes);
	seg_to(&r->seg[X86_SS], &c->ss_sel, &c->ss_limit, &c->ss_base, &c->ss_arbytes);
	seg_to(&r->seg[X86_TR], &c->tr_sel, &c->tr_limit, &c->tr_base, &c->tr_arbytes);
	seg_to(&r->seg[X86_LDTR], &c->ldtr_sel, &c->ldtr_limit, &c->ldtr_base,
	       &c->ldtr_arbytes);
	c->gdtr_base = r->gdtr.base; c->gdtr_limit = r->gdtr.limit;
	c->idtr_base = r->idtr.base; c->idtr_limit = r->idtr.limit;
	c->sysenter_cs = r->sysenter_cs; c->sysenter_esp = r->sysenter_esp;
	c->sysenter_eip = r->sysenter_eip;
	c->shadow_gs = r->k_gs_base;
	c->msr_star = r->star; c->msr_lstar = r->lstar;
	c->msr_cstar = r->cstar; c->msr_syscall_mask = r->sfmask;
	c->msr_efer = r->efer;
	if (x86_valid(r, XF_FPU))
		memcpy(c->fpu_regs, r->fxsave, sizeof(c->fpu_regs));
}

static void pv_to_regs(const vcpu_guest_context_any_t *any, unsigned width,
		       struct x86_regs *r)
{
	memset(r, 0, sizeof(*r));
	if (width == 8) {
		const struct vcpu_guest_context_x86_64 *c = &any->x64;
		const struct cpu_user_regs_x86_64 *u = &c->user_regs;

		r->gpr[X86_RAX] = u->rax; r->gpr[X86_RBX] = u->rbx;
		r->gpr[X86_RCX] = u->rcx; r->gpr[X86_RDX] = u->rdx;
		r->gpr[X86_RSI] = u->rsi; r->gpr[X86_RDI] = u->rdi;
		r->gpr[X86_RBP] = u->rbp; r->gpr[X86_RSP] = u->rsp;
		r->gpr[X86_R8] = u->r8; r->gpr[X86_R9] = u->r9;
		r->gpr[X86_R10] = u->r10; r->gpr[X86_R11] = u->r11;
		r->gpr[X86_R12] = u->r12; r->gpr[X86_R13] = u->r13;
		r->gpr[X86_R14] = u->r14; r->gpr[X86_R15] = u->r15;
		r->rip = u->rip;
		r->rflags = u->rflags;
		r->seg[X86_CS].sel = u->cs; r->seg[X86_SS].sel = u->ss;
		r->seg[X86_DS].sel = u->ds; r->seg[X86_ES].sel = u->es;
		r->seg[X86_FS].sel = u->fs; r->seg[X86_GS].sel = u->gs;
		r->seg[X86_FS].base = c->fs_base;
		r->seg[X86_GS].base = c->gs_base_kernel;
		r->k_gs_base = c->gs_base_user;
		r->cr0 = c->ctrlreg[0]; r->cr2 = c->ctrlreg[2];
		/* 64-bit PV: CR3 holds the machine frame of the top table */
		r->cr3 = xen_cr3_to_pfn_x86_64(c->ctrlreg[3]) << 12;
		r->cr4 = c->ctrlreg[4];
		memcpy(r->dr, c->debugreg, sizeof(r->dr));
		memcpy(r->fxsave, &c->fpu_ctxt, sizeof(r->fxsave));
		/* a 64-bit PV guest always runs in long mode */
		r->efer = X86_EFER_LME | X86_EFER_LMA | X86_EFER_NXE | 1;
		r->cr0 |= X86_CR0_PG | X86_CR0_PE;
		r->cr4 |= X86_CR4_PAE;
	} else {
		const struct vcpu_guest_context_x86_32 *c = &any->x32;
		const struct cpu_user_regs_x86_32 *u = &c->user_regs;

		r->gpr[X86_RAX] = u->eax; r->gpr[X86_RBX] = u->ebx;
		r->gpr[X86_RCX] = u->ecx; r->gpr[X86_RDX] = u->edx;
		r->gpr[X86_RSI] = u->esi; r->gpr[X86_RDI] = u->edi;
		r->gpr[X86_RBP] = u->ebp; r->gpr[X86_RSP] = u->esp;
		r->rip = u->eip;
		r->rflags = u->eflags;
		r->seg[X86_CS].sel = u->cs; r->seg[X86_SS].sel = u->ss;
		r->seg[X86_DS].sel = u->ds; r->seg[X86_ES].sel = u->es;
		r->seg[X86_FS].sel = u->fs; r->seg[X86_GS].sel = u->gs;
		r->cr0 = c->ctrlreg[0] | X86_CR0_PG | X86_CR0_PE;
		r->cr2 = c->ctrlreg[2];
		/* 32-bit PAE PV: CR3 has the frame number rotated */
		r->cr3 = (uint64_t)xen_cr3_to_pfn_x86_32(c->ctrlreg[3]) << 12;
		r->cr4 = c->ctrlreg[4] | X86_CR4_PAE;
		r->efer = X86_EFER_NXE;
		memcpy(r->dr, c->debugreg, sizeof(r->dr));
		memcpy(r->fxsave, &c->fpu_ctxt, sizeof(r->fxsave));
	}
	x86_set_valid_range(r, XF_GPR0, XF_RFLAGS);
	x86_set_valid_range(r, XF_SEL0, XF_SEL0 + X86_GS);
	x86_set_valid(r, XF_SEGCACHE0 + X86_FS);
	x86_set_valid(r, XF_SEGCACHE0 + X86_GS);
	x86_set_valid(r, XF_KGSBASE);
	x86_set_valid(r, XF_CR0);
	x86_set_valid(r, XF_CR2);
	x86_set_valid(r, XF_CR3);
	x86_set_valid(r, XF_CR4);
	x86_set_valid(r, XF_EFER);
	x86_set_valid_range(r, XF_DR0, XF_DR7);
	x86_set_valid(r, XF_FPU);
}

static void regs_to_pv(const struct x86_regs *r, unsigned width,
		       vcpu_guest_context_any_t *any)
{
	if (width == 8) {
		struct cpu_user_regs_x86_64 *u = &any->x64.user_regs;

		u->rax = r->gpr[X86_RAX]; u->rbx = r->gpr[X86_RBX];
		u->rcx = r->gpr[X86_RCX]; u->rdx = r->gpr[X86_RDX];
		u->rsi = r->gpr[X86_RSI]; u->rdi = r->gpr[X86_RDI];
		u->rbp = r->gpr[X86_RBP]; u->rsp = r->gpr[X86_RSP];
		u->r8 = r->gpr[X86_R8]; u->r9 = r->gpr[X86_R9];
		u->r10 = r->gpr[X86_R10]; u->r11 = r->gpr[X86_R11];
		u->r12 = r->gpr[X86_R12]; u->r13 = r->gpr[X86_R13];
		u->r14 = r->gpr[X86_R14]; u->r15 = r->gpr[X86_R15];
		u->rip = r->rip;
		u->rflags = r->rflags;
		memcpy(&any->x64.fpu_ctxt, r->fxsave, sizeof(r->fxsave));
	} else {
		struct cpu_user_regs_x86_32 *u = &any->x32.user_regs;

		u->eax = (uint32_t)r->gpr[X86_RAX]; u->ebx = (uint32_t)r->gpr[X86_RBX];
		u->ecx = (uint32_t)r->gpr[X86_RCX]; u->edx = (uint32_t)r->gpr[X86_RDX];
		u->esi = (uint32_t)r->gpr[X86_RSI]; u->edi = (uint32_t)r->gpr[X86_RDI];
		u->ebp = (uint32_t)r->gpr[X86_RBP]; u->esp = (uint32_t)r->gpr[X86_RSP];
		u->eip = (uint32_t)r->rip;
		u->eflags = (uint32_t)r->rflags;
		memcpy(&any->x32.fpu_ctxt, r->fxsave, sizeof(r->fxsave));
	}
}

static int xen_get_regs(struct target *t, unsigned vcpu, struct x86_regs *r)
{
	struct xen_target *x = to_xen(t);

	if (x->pv) {
		vcpu_guest_context_any_t any;

		if (xc_vcpu_getcontext(x->xch, x->domid, vcpu, &any) < 0) {
			int e = errno ? errno : EIO;

			target_set_error(t, "reading vCPU %u's context: %s", vcpu,
					 strerror(e));
			return -e;
		}
		pv_to_regs(&any, x->pv_width, r);
		return 0;
	} else {
		struct hvm_hw_cpu cpu;

		memset(&cpu, 0, sizeof(cpu));
		if (xc_domain_hvm_getcontext_partial(x->xch, x->domid,
						     HVM_SAVE_CODE(CPU), (uint16_t)vcpu,
						     &cpu, sizeof(cpu)) < 0) {
			int e = errno ? errno : EIO;

			target_set_error(t, "reading vCPU %u's HVM context: %s",
					 vcpu, strerror(e));
			return -e;
		}
		xen_cpu_to_regs(&cpu, r);
		return 0;
	}
}

/* Finds the CPU record of a vCPU in a whole-domain HVM context. */
static struct hvm_hw_cpu *find_cpu_record(uint8_t *ctx, uint32_t size,
					  unsigned vcpu)
{
	uint32_t off = 0;

	while (off + sizeof(struct hvm_save_descriptor) <= size) {
		struct hvm_save_descriptor *d = (void *)(ctx + off);

		off += sizeof(*d);
		if (d->length > size - off)
			return NULL;
		if (d->typecode == HVM_SAVE_CODE(CPU) && d->instance == vcpu &&
		    d->length >= sizeof(struct hvm_hw_cpu))
			return (struct hvm_hw_cpu *)(ctx + off);
		if (d->typecode == HVM_SAVE_CODE(END))
			return NULL;
		off += d->length;
	}
	return NULL;
}

/*
 * Shrinks a whole-domain HVM context, in place, to what a register write
 * needs: the header, every vCPU's CPU and MTRR records, the end marker.
 * Writing back the rest (LAPIC registers, timers, interrupt controllers)
 * would undo what Xen did between our get and our set even with the domain
 * paused: an event-channel upcall Xen posts to a vLAPIC then is lost and
 * the vCPU never gets another interrupt (seen with Xen 4.17 and a PVH
 * guest). The CPU records of all vCPUs stay, because Xen's hvm_load()
 * takes down every vCPU whose CPU record is missing. The MTRR records
 * stay because on AMD with nested paging loading a CPU record resets the
 * guest's PAT MSR to its power-on value (Xen 4.17 svm_vmcb_restore():
 * vmcb_set_g_pat(vmcb, MSR_IA32_CR_PAT_RESET)), and the MTRR record, loaded
 * after it, puts the guest's PAT back; its MTRRs are loaded unchanged,
 * which Xen does not act on. Returns the new size, 0 if malformed.
 */
static uint32_t keep_cpu_records(uint8_t *ctx, uint32_t size)
{
	uint32_t off = 0, out = 0;

	while (off + sizeof(struct hvm_save_descriptor) <= size) {
		struct hvm_save_descriptor d;
		uint32_t len;

		memcpy(&d, ctx + off, sizeof(d));
		if (d.length > size - off - sizeof(d))
			return 0;
		len = (uint32_t)sizeof(d) + d.length;
		if (d.typecode == HVM_SAVE_CODE(END)) {
			memmove(ctx + out, ctx + off, sizeof(d));
			return out + (uint32_t)sizeof(d);
		}
		if (d.typecode == HVM_SAVE_CODE(HEADER) ||
		    d.typecode == HVM_SAVE_CODE(CPU) ||
		    d.typecode == HVM_SAVE_CODE(MTRR)) {
			memmove(ctx + out, ctx + off, len);
			out += len;
		}
		off += len;
	}
	return 0;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * Loading a CPU record sets that vCPU's TSC to the record's value, which
 * is the TSC as of the getcontext (Xen 4.17 hvm_load_cpu_ctxt():
 * hvm_set_guest_tsc_fixed(v, ctxt.tsc, sync_tsc of the load)): left alone,
 * every register write would set the TSC of every vCPU back by the time
 * between our get and our set (a fifth of a second under emulation), and
 * a guest whose clock runs on the TSC would see time go backwards. Each
 * CPU record's TSC is moved on by ns nanoseconds at the guest's TSC rate
 * (the header's gtsc_khz, the rate Xen gives the guest in every TSC mode).
 * ctx was shrunk by keep_cpu_records().
 */
static void advance_tsc(uint8_t *ctx, uint32_t size, uint64_t ns)
{
	uint32_t off = 0, khz = 0;
	uint64_t ticks = 0;

	while (off + sizeof(struct hvm_save_descriptor) <= size) {
		struct hvm_save_descriptor d;

		memcpy(&d, ctx + off, sizeof(d));
		off += (uint32_t)sizeof(d);
		if (d.length > size - off || d.typecode == HVM_SAVE_CODE(END))
			return;
		if (d.typecode == HVM_SAVE_CODE(HEADER) &&
		    d.length >= sizeof(struct hvm_save_header)) {
			struct hvm_save_header h;

			memcpy(&h, ctx + off, sizeof(h));
			khz = h.gtsc_khz;
			/* µs resolution keeps ns * khz within 64 bits */
			ticks = ns / 1000 * khz / 1000;
		} else if (d.typecode == HVM_SAVE_CODE(CPU) && khz &&
			   d.length >= sizeof(struct hvm_hw_cpu)) {
			struct hvm_hw_cpu *c = (struct hvm_hw_cpu *)(ctx + off);

			c->tsc += ticks;
		}
		off += d.length;
	}
}

static int xen_set_regs(struct target *t, unsigned vcpu,
			const struct x86_regs *r)
{
	struct xen_target *x = to_xen(t);
	struct hvm_hw_cpu *cpu;
	uint64_t got_at;
	uint8_t *old;
	int size;

	if (x->pv) {
		vcpu_guest_context_any_t any;

		if (xc_vcpu_getcontext(x->xch, x->domid, vcpu, &any) < 0)
			return -(errno ? errno : EIO);
		regs_to_pv(r, x->pv_width, &any);
		if (xc_vcpu_setcontext(x->xch, x->domid, vcpu, &any) < 0) {
			int e = errno ? errno : EIO;

			target_set_error(t, "writing vCPU %u's context: %s", vcpu,
					 strerror(e));
			return -e;
		}
		return 0;
	}
	size = xc_domain_hvm_getcontext(x->xch, x->domid, NULL, 0);
	if (size <= 0)
		return -(errno ? errno : EIO);
	if ((uint32_t)size > x->ctx_size) {
		free(x->ctx);
		x->ctx = xmalloc((size_t)size);
		x->ctx_size = (uint32_t)size;
	}
	got_at = mono_ns();
	size = xc_domain_hvm_getcontext(x->xch, x->domid, x->ctx, x->ctx_size);
	if (size <= 0)
		return -(errno ? errno : EIO);
	size = (int)keep_cpu_records(x->ctx, (uint32_t)size);
	if (!size) {
		target_set_error(t, "the HVM context of domain %u is malformed (no end record)",
				 x->domid);
		return -EIO;
	}
	cpu = find_cpu_record(x->ctx, (uint32_t)size, vcpu);
	if (!cpu) {
		target_set_error(t, "vCPU %u has no CPU record in the HVM context", vcpu);
		return -ENOENT;
	}
	old = xmalloc((size_t)size);
	memcpy(old, x->ctx, (size_t)size);
	xen_regs_to_cpu(r, cpu);
	advance_tsc(x->ctx, (uint32_t)size, mono_ns() - got_at);
	if (xc_domain_hvm_setcontext(x->xch, x->domid, x->ctx, (uint32_t)size) < 0) {
		int e = errno ? errno : EIO;

		/* hvm_load() takes every vCPU down before it checks the
		 * records and brings up only those it loaded: load the
		 * context as it was, so that a refusal loses no vCPU */
		advance_tsc(old, (uint32_t)size, mono_ns() - got_at);
		if (xc_domain_hvm_setcontext(x->xch, x->domid, old, (uint32_t)size) < 0)
			target_set_error(t, "Xen refused vCPU %u's new registers (%s), and putting "
					 "the old ones back failed too (%s): vCPUs of domain %u may be down",
					 vcpu, strerror(e), strerror(errno), x->domid);
		else
			target_set_error(t, "Xen refused vCPU %u's new registers: %s "
					 "(a value it does not accept?); they are unchanged",
					 vcpu, strerror(e));
		free(old);
		return -e;
	}
	free(old);
	return 0;
}

/* ---- run control ---- */

static int xen_pause(struct target *t)
{
	struct xen_target *x = to_xen(t);

	journal_note(t->journal, "pause");
	if (xc_domain_pause(x->xch, x->domid) < 0) {
		int e = errno ? errno : EIO;

		journal_note(t->journal, "unpause");
		target_set_error(t, "pausing domain %u: %s", x->domid, strerror(e));
		return -e;
	}
	x->our_pauses++;
	return 0;
}

static int xen_unpause(struct target *t)
{
	struct xen_target *x = to_xen(t);

	if (!x->our_pauses)
		return 0; /* never undo a pause we did not make */
	if (xc_domain_unpause(x->xch, x->domid) < 0) {
		int e = errno ? errno : EIO;

		target_set_error(t, "unpausing domain %u: %s", x->domid, strerror(e));
		return -e;
	}
	x->our_pauses--;
	journal_note(t->journal, "unpause");
	return 0;
}

static int xen_is_running(struct target *t)
{
	return to_xen(t)->our_pauses == 0;
}

static int xen_status(struct target *t, struct target_status *st)
{
	struct xen_target *x = to_xen(t);
	xc_dominfo_t info;
	int rc = get_info(x, &info);

	memset(st, 0, sizeof(*st));
	if (rc == -ESRCH) {
		st->state = TSTATE_DYING;
		return 0;
	}
	if (rc)
		return rc;
	if (info.dying)
		st->state = TSTATE_DYING;
	else if (info.crashed) {
		/* libxenctrl turns shutdown-for-crash into crashed */
		st->state = TSTATE_SHUTDOWN;
		st->shutdown_code = SHUTDOWN_crash;
	} else if (info.shutdown) {
		st->state = TSTATE_SHUTDOWN;
		st->shutdown_code = (int)info.shutdown_reason;
	} else if (info.paused)
		st->state = TSTATE_PAUSED;
	else
		st->state = TSTATE_RUNNING;
	return 0;
}

/* ---- events ---- */

static int ev_enable(struct target *t)
{
	struct xen_target *x = to_xen(t);
	int rc;

	if (x->ring_page)
		return 0;
	if (x->pv) {
		target_set_error(t, "domain %u is a PV guest: Xen offers no monitor events (breakpoints, stepping, watchpoints) for PV guests",
				 x->domid);
		return -EOPNOTSUPP;
	}
	journal_note(t->journal, "ring on");
	x->ring_page = xc_monitor_enable(x->xch, x->domid, &x->remote_port);
	if (!x->ring_page) {
		int e = errno ? errno : EIO;

		journal_note(t->journal, "ring off");
		if (e == EBUSY)
			target_set_error(t, "domain %u already has a monitor ring: another introspection tool is attached, "
					 "or one died without cleaning up (try 'xenstub --recover xen:%u')",
					 x->domid, x->domid);
		else
			target_set_error(t, "enabling the monitor ring of domain %u: %s",
					 x->domid, strerror(e));
		return -e;
	}
	x->xce = xenevtchn_open(NULL, 0);
	if (!x->xce) {
		rc = -(errno ? errno : EIO);
		target_set_error(t, "opening the event channel device: %s", strerror(-rc));
		goto fail;
	}
	x->local_port = xenevtchn_bind_interdomain(x->xce, x->domid, x->remote_port);
	if (x->local_port < 0) {
		rc = -(errno ? errno : EIO);
		target_set_error(t, "binding event channel port %u: %s", x->remote_port,
				 strerror(-rc));
		goto fail;
	}
	SHARED_RING_INIT((vm_event_sring_t *)x->ring_page);
	BACK_RING_INIT(&x->back_ring, (vm_event_sring_t *)x->ring_page, XC_PAGE_SIZE);
	log_info(LC_TRAP, "monitor ring enabled on domain %u (port %u, %u slots)",
		 x->domid, x->remote_port, (unsigned)RING_SIZE(&x->back_ring));
	return 0;
fail:
	if (x->xce) {
		if (x->local_port >= 0)
			xenevtchn_unbind(x->xce, (evtchn_port_t)x->local_port);
		xenevtchn_close(x->xce);
		x->xce = NULL;
	}
	x->local_port = -1;
	xc_monitor_disable(x->xch, x->domid);
	journal_note(t->journal, "ring off");
	munmap(x->ring_page, XC_PAGE_SIZE);
	x->ring_page = NULL;
	return rc;
}

static int ev_fd(struct target *t)
{
	struct xen_target *x = to_xen(t);

	return x->xce ? xenevtchn_fd(x->xce) : -1;
}

/* Moves every unconsumed request from the ring into our queue. */
static void pull_requests(struct xen_target *x)
{
	RING_IDX rc = x->back_ring.req_cons, rp;

	rp = x->back_ring.sring->req_prod;
	xen_rmb();
	while (rc != rp) {
		vm_event_request_t req;

		memcpy(&req, RING_GET_REQUEST(&x->back_ring, rc), sizeof(req));
		rc++;
		x->back_ring.req_cons = rc;
		x->back_ring.sring->req_event = rc + 1;
		if (x->nqueue == x->qcap) {
			x->qcap = x->qcap ? x->qcap * 2 : 16;
			x->queue = xrealloc(x->queue, x->qcap * sizeof(*x->queue));
		}
		x->queue[x->nqueue++] = req;
		if (rc == rp) { /* look again: more may have arrived */
			xen_mb();
			rp = x->back_ring.sring->req_prod;
			xen_rmb();
		}
	}
}

static void ack_channel(struct xen_target *x)
{
	struct pollfd pfd = { xenevtchn_fd(x->xce), POLLIN, 0 };

	while (poll(&pfd, 1, 0) > 0 && (pfd.revents & POLLIN)) {
		xenevtchn_port_or_error_t port = xenevtchn_pending(x->xce);

		if (port < 0)
			break;
		xenevtchn_unmask(x->xce, (evtchn_port_t)port);
	}
}

static void regs_from_event(const struct vm_event_regs_x86 *v,
			    struct x86_regs *r)
{
	memset(r, 0, sizeof(*r));
	r->gpr[X86_RAX] = v->rax; r->gpr[X86_RCX] = v->rcx;
	r->gpr[X86_RDX] = v->rdx; r->gpr[X86_RBX] = v->rbx;
	r->gpr[X86_RSP] = v->rsp; r->gpr[X86_RBP] = v->rbp;
	r->gpr[X86_RSI] = v->rsi; r->gpr[X86_RDI] = v->rdi;
	r->gpr[X86_R8] = v->r8; r->gpr[X86_R9] = v->r9;
	r->gpr[X86_R10] = v->r10; r->gpr[X86_R11] = v->r11;
	r->gpr[X86_R12] = v->r12; r->gpr[X86_R13] = v->r13;
	r->gpr[X86_R14] = v->r14; r->gpr[X86_R15] = v->r15;
	r->rflags = v->rflags;
	r->dr[6] = v->dr6; r->dr[7] = v->dr7;
	r->rip = v->rip;
	r->cr0 = v->cr0; r->cr2 = v->cr2; r->cr3 = v->cr3; r->cr4 = v->cr4;
	r->sysenter_cs = v->sysenter_cs; r->sysenter_esp = v->sysenter_esp;
	r->sysenter_eip = v->sysenter_eip;
	r->efer = v->msr_efer; r->star = v->msr_star; r->lstar = v->msr_lstar;
	r->seg[X86_CS].sel = v->cs_sel; r->seg[X86_SS].sel = v->ss_sel;
	r->seg[X86_DS].sel = v->ds_sel; r->seg[X86_ES].sel = v->es_sel;
	r->seg[X86_FS].sel = v->fs_sel; r->seg[X86_GS].sel = v->gs_sel;
	r->seg[X86_CS].base = v->cs_base; r->seg[X86_SS].base = v->ss_base;
	r->seg[X86_DS].base = v->ds_base; r->seg[X86_ES].base = v->es_base;
	r->seg[X86_FS].base = v->fs_base; r->seg[X86_GS].base = v->gs_base;
	r->seg[X86_CS].limit = v->cs.limit; r->seg[X86_CS].attr = (uint16_t)v->cs.ar;
	r->seg[X86_SS].limit = v->ss.limit; r->seg[X86_SS].attr = (uint16_t)v->ss.ar;
	r->seg[X86_DS].limit = v->ds.limit; r->seg[X86_DS].attr = (uint16_t)v->ds.ar;
	r->seg[X86_ES].limit = v->es.limit; r->seg[X86_ES].attr = (uint16_t)v->es.ar;
	r->seg[X86_FS].limit = v->fs.limit; r->seg[X86_FS].attr = (uint16_t)v->fs.ar;
	r->seg[X86_GS].limit = v->gs.limit; r->seg[X86_GS].attr = (uint16_t)v->gs.ar;
	r->k_gs_base = v->shadow_gs;
	x86_set_valid_range(r, XF_GPR0, XF_RFLAGS);
	x86_set_valid_range(r, XF_SEL0, XF_SEL0 + X86_GS);
	x86_set_valid_range(r, XF_SEGCACHE0, XF_SEGCACHE0 + X86_GS);
	x86_set_valid(r, XF_CR0);
	x86_set_valid(r, XF_CR2);
	x86_set_valid(r, XF_CR3);
	x86_set_valid(r, XF_CR4);
	x86_set_valid(r, XF_EFER);
}

static void translate_event(const vm_event_request_t *q,
			    struct target_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->vcpu = q->vcpu_id;
	ev->held = q->flags & VM_EVENT_FLAG_VCPU_PAUSED;
	ev->in_view = q->flags & VM_EVENT_FLAG_ALTERNATE_P2M;
	ev->view = q->altp2m_idx;
	ev->raw_reason = q->reason;
	regs_from_event(&q->data.regs.x86, &ev->regs);
	switch (q->reason) {
	case VM_EVENT_REASON_SOFTWARE_BREAKPOINT:
		ev->kind = TEV_SWBP;
		ev->u.swbp.gfn = q->u.software_breakpoint.gfn;
		ev->u.swbp.insn_length = q->u.software_breakpoint.insn_length;
		break;
	case VM_EVENT_REASON_SINGLESTEP:
		ev->kind = TEV_SINGLESTEP;
		break;
	case VM_EVENT_REASON_DEBUG_EXCEPTION:
		ev->kind = TEV_DEBUG_EXC;
		/* Xen 4.17 passes pending_dbg 0 from both vmx.c and svm.c;
		 * the cause is in DR6 (vmx.c writes the exit qualification
		 * there), which the event's registers carry */
		ev->u.dbg.pending_dbg = (q->u.debug_exception.pending_dbg |
					 q->data.regs.x86.dr6) & 0x400full;
		ev->u.dbg.type = q->u.debug_exception.type;
		ev->u.dbg.insn_length = q->u.debug_exception.insn_length;
		ev->u.dbg.vector = 1;
		break;
	case VM_EVENT_REASON_MEM_ACCESS:
		ev->kind = TEV_MEM_ACCESS;
		ev->u.mem.gfn = q->u.mem_access.gfn;
		ev->u.mem.offset = (uint32_t)q->u.mem_access.offset;
		ev->u.mem.gla = q->u.mem_access.gla;
		ev->u.mem.access = q->u.mem_access.flags & MEM_ACCESS_RWX;
		if (q->u.mem_access.flags & MEM_ACCESS_GLA_VALID)
			ev->u.mem.flags |= TMEM_GLA_VALID;
		if (q->u.mem_access.flags & MEM_ACCESS_FAULT_WITH_GLA)
			ev->u.mem.flags |= TMEM_FAULT_WITH_GLA;
		if (q->u.mem_access.flags & MEM_ACCESS_FAULT_IN_GPT)
			ev->u.mem.flags |= TMEM_FAULT_IN_GPT;
		break;
	case VM_EVENT_REASON_EMUL_UNIMPLEMENTED:
		ev->kind = TEV_EMUL_UNIMPL;
		break;
	default:
		ev->kind = TEV_OTHER;
		break;
	}
}

static int ev_next(struct target *t, struct target_event *ev)
{
	struct xen_target *x = to_xen(t);
	vm_event_request_t q;

	if (!x->ring_page)
		return 0;
	ack_channel(x);
	pull_requests(x);
	if (!x->nqueue)
		return 0;
	q = x->queue[0];
	memmove(x->queue, x->queue + 1, (x->nqueue - 1) * sizeof(*x->queue));
	x->nqueue--;
	if (q.version != VM_EVENT_INTERFACE_VERSION)
		log_warn(LC_TRAP, "vm_event request version %u, expected %u",
			 q.version, VM_EVENT_INTERFACE_VERSION);
	if (q.vcpu_id >= t->nr_vcpus) {
		log_warn(LC_TRAP, "vm_event request for vCPU %u ignored", q.vcpu_id);
		return 0;
	}
	translate_event(&q, ev);
	if (ev->kind == TEV_DEBUG_EXC && !(ev->u.dbg.pending_dbg & 0x400full)) {
		struct hvm_hw_cpu cpu;

		if (xc_domain_hvm_getcontext_partial(x->xch, x->domid,
						     HVM_SAVE_CODE(CPU),
						     (uint16_t)q.vcpu_id, &cpu,
						     sizeof(cpu)) == 0)
			ev->u.dbg.pending_dbg |= cpu.dr6 & 0x400full;
	}
	if (ev->held) {
		x->held[q.vcpu_id] = true;
		x->held_req[q.vcpu_id] = q;
	}
	log_dbg(LC_TRAP, "event: reason %u vCPU %u rip 0x%llx%s", q.reason,
		q.vcpu_id, (unsigned long long)q.data.regs.x86.rip,
		ev->held ? " (held)" : "");
	if (q.reason == VM_EVENT_REASON_DEBUG_EXCEPTION)
		log_dbg(LC_TRAP, "debug exception: pending_dbg 0x%llx type %u insn_length %u dr6 0x%llx rflags 0x%llx",
			(unsigned long long)q.u.debug_exception.pending_dbg,
			q.u.debug_exception.type, q.u.debug_exception.insn_length,
			(unsigned long long)q.data.regs.x86.dr6,
			(unsigned long long)q.data.regs.x86.rflags);
	return 1;
}

static void regs_to_event(const struct x86_regs *r, struct vm_event_regs_x86 *v)
{
	v->rax = r->gpr[X86_RAX]; v->rcx = r->gpr[X86_RCX];
	v->rdx = r->gpr[X86_RDX]; v->rbx = r->gpr[X86_RBX];
	v->rsp = r->gpr[X86_RSP]; v->rbp = r->gpr[X86_RBP];
	v->rsi = r->gpr[X86_RSI]; v->rdi = r->gpr[X86_RDI];
	v->r8 = r->gpr[X86_R8]; v->r9 = r->gpr[X86_R9];
	v->r10 = r->gpr[X86_R10]; v->r11 = r->gpr[X86_R11];
	v->r12 = r->gpr[X86_R12]; v->r13 = r->gpr[X86_R13];
	v->r14 = r->gpr[X86_R14]; v->r15 = r->gpr[X86_R15];
	v->rflags = r->rflags;
	v->rip = r->rip;
}

static int put_response(struct xen_target *x, const vm_event_response_t *rsp)
{
	RING_IDX idx = x->back_ring.rsp_prod_pvt;

	memcpy(RING_GET_RESPONSE(&x->back_ring, idx), rsp, sizeof(*rsp));
	x->back_ring.rsp_prod_pvt = idx + 1;
	RING_PUSH_RESPONSES(&x->back_ring);
	if (xenevtchn_notify(x->xce, (evtchn_port_t)x->local_port) < 0)
		return -(errno ? errno : EIO);
	return 0;
}

static int ev_respond(struct target *t, const struct target_event *ev,
		      const struct target_response *r)
{
	struct xen_target *x = to_xen(t);
	const vm_event_request_t *q;
	vm_event_response_t rsp;
	int rc;

	if (ev->vcpu >= t->nr_vcpus || !x->held[ev->vcpu])
		return -EINVAL;
	q = &x->held_req[ev->vcpu];
	memset(&rsp, 0, sizeof(rsp));
	rsp.version = VM_EVENT_INTERFACE_VERSION;
	rsp.vcpu_id = q->vcpu_id;
	rsp.reason = q->reason;
	rsp.altp2m_idx = q->altp2m_idx;
	rsp.u = q->u;
	rsp.flags = r->keep_held ? 0 : (q->flags & VM_EVENT_FLAG_VCPU_PAUSED);
	if (r->toggle_singlestep)
		rsp.flags |= VM_EVENT_FLAG_TOGGLE_SINGLESTEP;
	if (r->set_view) {
		rsp.flags |= VM_EVENT_FLAG_ALTERNATE_P2M;
		rsp.altp2m_idx = (uint16_t)r->view;
	}
	if (r->emulate) {
		rsp.flags |= VM_EVENT_FLAG_EMULATE;
		if (r->emulate_nowrite)
			rsp.flags |= VM_EVENT_FLAG_EMULATE_NOWRITE;
		if (r->insn && r->insn_len) {
			unsigned n = r->insn_len;

			if (n > sizeof(rsp.data.emul.insn.data))
				n = sizeof(rsp.data.emul.insn.data);
			rsp.flags |= VM_EVENT_FLAG_SET_EMUL_INSN_DATA;
			memcpy(rsp.data.emul.insn.data, r->insn, n);
		}
	} else if (r->regs) {
		rsp.flags |= VM_EVENT_FLAG_SET_REGISTERS;
		rsp.data.regs.x86 = q->data.regs.x86;
		regs_to_event(r->regs, &rsp.data.regs.x86);
	}
	rc = put_response(x, &rsp);
	if (rc)
		return rc;
	if (!r->keep_held)
		x->held[ev->vcpu] = false;
	if (r->toggle_singlestep) {
		x->ss_armed[ev->vcpu] = !x->ss_armed[ev->vcpu];
		journal_note(t->journal, "ss %u %s", ev->vcpu,
			     x->ss_armed[ev->vcpu] ? "on" : "off");
	}
	return 0;
}

static int ev_monitor(struct target *t, enum target_monitor what, bool on)
{
	struct xen_target *x = to_xen(t);
	int rc;

	if (x->mon[what] == on)
		return 0;
	switch (what) {
	case TMON_SWBP:
		rc = xc_monitor_software_breakpoint(x->xch, x->domid, on);
		break;
	case TMON_SINGLESTEP:
		rc = xc_monitor_singlestep(x->xch, x->domid, on);
		break;
	case TMON_DEBUG_EXC:
		rc = xc_monitor_debug_exceptions(x->xch, x->domid, on, true);
		break;
	case TMON_EMUL_UNIMPL:
		rc = xc_monitor_emul_unimplemented(x->xch, x->domid, on);
		break;
	case TMON_INGUEST_PF:
		/* Xen's flag means "do not report page-table walks" */
		rc = xc_monitor_inguest_pagefault(x->xch, x->domid, on);
		break;
	default:
		return -EINVAL;
	}
	if (rc < 0) {
		int e = errno ? errno : EIO;
		static const char *const names[] = {
			"software breakpoint", "single-step", "debug exception",
			"unimplemented emulation", "in-guest page fault",
		};

		target_set_error(t, "turning %s %s events: %s%s", on ? "on" : "off",
				 names[what], strerror(e),
				 what == TMON_SINGLESTEP && e == EOPNOTSUPP ?
				 " (Xen's single-step needs Intel's monitor trap flag)" : "");
		return -e;
	}
	x->mon[what] = on;
	return 0;
}

static int ev_singlestep(struct target *t, unsigned vcpu, bool on)
{
	struct xen_target *x = to_xen(t);

	if (vcpu >= t->nr_vcpus)
		return -EINVAL;
	if (x->ss_armed[vcpu] == on)
		return 0;
	if (on)
		journal_note(t->journal, "ss %u on", vcpu);
	if (xc_domain_debug_control(x->xch, x->domid,
				    on ? XEN_DOMCTL_DEBUG_OP_SINGLE_STEP_ON :
					 XEN_DOMCTL_DEBUG_OP_SINGLE_STEP_OFF,
				    vcpu) < 0) {
		int e = errno ? errno : EIO;

		target_set_error(t, "single-step %s on vCPU %u: %s", on ? "on" : "off",
				 vcpu, strerror(e));
		return -e;
	}
	x->ss_armed[vcpu] = on;
	if (!on)
		journal_note(t->journal, "ss %u off", vcpu);
	return 0;
}

static int ev_inject(struct target *t, unsigned vcpu, unsigned vector,
		     unsigned type, uint32_t error_code, unsigned insn_len,
		     uint64_t cr2)
{
	struct xen_target *x = to_xen(t);

	if (!x->dmod)
		return -EOPNOTSUPP;
	if (xendevicemodel_inject_event(x->dmod, (domid_t)x->domid, (int)vcpu,
					(uint8_t)vector, (uint8_t)type, error_code,
					(uint8_t)insn_len, cr2) < 0) {
		int e = errno ? errno : EIO;

		target_set_error(t, "injecting vector %u into vCPU %u: %s", vector,
				 vcpu, strerror(e));
		return -e;
	}
	return 0;
}

static xenmem_access_t to_xenmem(uint8_t a)
{
	switch (a & TACC_RWX) {
	case 0: return XENMEM_access_n;
	case TACC_R: return XENMEM_access_r;
	case TACC_W: return XENMEM_access_w;
	case TACC_R | TACC_W: return XENMEM_access_rw;
	case TACC_X: return XENMEM_access_x;
	case TACC_R | TACC_X: return XENMEM_access_rx;
	case TACC_W | TACC_X: return XENMEM_access_wx;
	default: return XENMEM_access_rwx;
	}
}

static uint8_t from_xenmem(xenmem_access_t a)
{
	switch (a) {
	case XENMEM_access_n: return 0;
	case XENMEM_access_r: return TACC_R;
	case XENMEM_access_w: return TACC_W;
	case XENMEM_access_rw: return TACC_R | TACC_W;
	case XENMEM_access_x: return TACC_X;
	case XENMEM_access_rx: return TACC_R | TACC_X;
	case XENMEM_access_wx: return TACC_W | TACC_X;
	default: return TACC_RWX;
	}
}

static int ev_set_access(struct target *t, unsigned view, const uint64_t *gfns,
			 const uint8_t *access, unsigned n)
{
	struct xen_target *x = to_xen(t);
	unsigned i;

	for (i = 0; i < n; i++) {
		int rc = view ?
			xc_altp2m_set_mem_access(x->xch, x->domid, (uint16_t)view,
						 gfns[i], to_xenmem(access[i])) :
			xc_set_mem_access(x->xch, x->domid, to_xenmem(access[i]),
					  gfns[i], 1);

		if (rc < 0) {
			int e = errno ? errno : EIO;

			target_set_error(t, "setting access of frame 0x%llx: %s%s",
					 (unsigned long long)gfns[i], strerror(e),
					 e == EINVAL || e == EOPNOTSUPP ?
					 " (Xen's mem_access needs an HVM/PVH guest on Intel VT-x with EPT)" : "");
			return -e;
		}
	}
	return 0;
}

static int ev_get_access(struct target *t, unsigned view, uint64_t gfn,
			 uint8_t *access)
{
	struct xen_target *x = to_xen(t);
	xenmem_access_t a;
	int rc = view ? xc_altp2m_get_mem_access(x->xch, x->domid,
						 (uint16_t)view, gfn, &a) :
			xc_get_mem_access(x->xch, x->domid, gfn, &a);

	if (rc < 0)
		return -(errno ? errno : EIO);
	*access = from_xenmem(a);
	return 0;
}

/*
 * Teardown in Xen's order (tools/misc/xen-access.c): with the domain
 * paused, answer everything outstanding, turn each monitor off, then the
 * ring, then the event channel. Every step is tried; failures are logged.
 */
static void ev_disable(struct target *t)
{
	struct xen_target *x = to_xen(t);
	struct target_event ev;
	struct target_response r;
	unsigned v, i, round;
	bool paused = false;

	if (!x->ring_page) {
		for (v = 0; v < t->nr_vcpus; v++)
			if (x->ss_armed[v])
				ev_singlestep(t, v, false);
		return;
	}
	journal_note(t->journal, "pause");
	if (xc_domain_pause(x->xch, x->domid) == 0) {
		paused = true;
	} else {
		journal_note(t->journal, "unpause");
		log_warn(LC_TRAP, "teardown: pausing domain %u: %s", x->domid,
			 strerror(errno));
	}
	for (v = 0; v < t->nr_vcpus; v++)
		if (x->ss_armed[v] && !x->held[v])
			ev_singlestep(t, v, false);
	for (i = 0; i <= TMON_INGUEST_PF; i++)
		if (x->mon[i] && ev_monitor(t, (enum target_monitor)i, false))
			log_warn(LC_TRAP, "teardown: %s", target_strerror(t));
	/* answer what is held and whatever arrives until the ring is quiet */
	for (round = 0; round < 64; round++) {
		bool any = false;

		while (ev_next(t, &ev) > 0)
			any = true;
		for (v = 0; v < t->nr_vcpus; v++) {
			if (!x->held[v])
				continue;
			memset(&r, 0, sizeof(r));
			ev.vcpu = v;
			/* a vCPU we were stepping: stop stepping it */
			r.toggle_singlestep = x->ss_armed[v];
			if (ev_respond(t, &ev, &r))
				log_warn(LC_TRAP, "teardown: releasing vCPU %u failed", v);
			any = true;
		}
		if (!any)
			break;
	}
	if (xc_monitor_disable(x->xch, x->domid) < 0)
		log_warn(LC_TRAP, "teardown: disabling the monitor ring of domain %u: %s",
			 x->domid, strerror(errno));
	else
		journal_note(t->journal, "ring off");
	if (x->xce) {
		if (x->local_port >= 0 &&
		    xenevtchn_unbind(x->xce, (evtchn_port_t)x->local_port) < 0)
			log_warn(LC_TRAP, "teardown: unbinding the event channel: %s",
				 strerror(errno));
		xenevtchn_close(x->xce);
		x->xce = NULL;
	}
	x->local_port = -1;
	munmap(x->ring_page, XC_PAGE_SIZE);
	x->ring_page = NULL;
	x->nqueue = 0;
	if (paused && xc_domain_unpause(x->xch, x->domid) < 0)
		log_warn(LC_TRAP, "teardown: unpausing domain %u: %s", x->domid,
			 strerror(errno));
	else if (paused)
		journal_note(t->journal, "unpause");
	log_info(LC_TRAP, "monitor ring of domain %u removed", x->domid);
}

/* Undoes what a dead xenstub left that only Xen calls can undo. */
static int ev_recover(struct target *t, const struct journal_state *st)
{
	struct xen_target *x = to_xen(t);
	unsigned v, i;
	int rc = 0;

	for (v = 0; v < st->nvcpu && v < t->nr_vcpus; v++) {
		if (!st->vcpu[v].single_step)
			continue;
		if (xc_domain_debug_control(x->xch, x->domid,
					    XEN_DOMCTL_DEBUG_OP_SINGLE_STEP_OFF, v) < 0) {
			log_warn(LC_TRAP, "single-step of vCPU %u could not be turned off: %s",
				 v, strerror(errno));
			rc = -EIO;
		}
	}
	if (st->ring) {
		/* every kind of monitor off (Xen answers EEXIST for one that
		 * is off already), then the ring itself */
		xc_monitor_software_breakpoint(x->xch, x->domid, false);
		xc_monitor_singlestep(x->xch, x->domid, false);
		xc_monitor_debug_exceptions(x->xch, x->domid, false, false);
		xc_monitor_emul_unimplemented(x->xch, x->domid, false);
		xc_monitor_inguest_pagefault(x->xch, x->domid, false);
		memset(x->mon, 0, sizeof(x->mon));
		if (xc_monitor_disable(x->xch, x->domid) < 0) {
			log_warn(LC_TRAP, "the monitor ring could not be removed: %s",
				 strerror(errno));
			rc = -EIO;
		}
		/*
		 * vCPUs held by events of the dead listener stay paused when
		 * its ring goes. Xen matches responses by vCPU, acts on one
		 * only while an event holds it, and never lets the hold count
		 * go below zero (vm_event_resume, vm_event_vcpu_unpause): so a
		 * fresh ring with one release per vCPU lets exactly the held
		 * ones go, and touches no other.
		 */
		if (ev_enable(t) == 0) {
			for (v = 0; v < t->nr_vcpus; v++) {
				vm_event_response_t rsp;

				memset(&rsp, 0, sizeof(rsp));
				rsp.version = VM_EVENT_INTERFACE_VERSION;
				rsp.vcpu_id = v;
				rsp.flags = VM_EVENT_FLAG_VCPU_PAUSED;
				put_response(x, &rsp);
				/* Xen takes them off the ring at once */
				if ((v + 1) % RING_SIZE(&x->back_ring) == 0)
					xc_monitor_resume(x->xch, x->domid);
			}
			xc_monitor_resume(x->xch, x->domid);
			ev_disable(t);
		} else {
			log_warn(LC_TRAP, "vCPUs held by the dead xenstub's events could not be released: %s",
				 target_strerror(t));
			rc = -EIO;
		}
	}
	for (i = 0; i < st->pauses; i++) {
		if (xc_domain_unpause(x->xch, x->domid) < 0) {
			log_warn(LC_TRAP, "a pause of the dead xenstub could not be undone: %s",
				 strerror(errno));
			rc = -EIO;
			break;
		}
	}
	return rc;
}

static void xen_close(struct target *t)
{
	struct xen_target *x = to_xen(t);

	if (x->xch) {
		if (x->ss_armed)
			ev_disable(t);
		while (x->our_pauses) {
			if (xen_unpause(t)) {
				log_warn(LC_TARGET, "%s", target_strerror(t));
				break;
			}
		}
	}
	if (x->dmod)
		xendevicemodel_close(x->dmod);
	if (x->fmem)
		xenforeignmemory_close(x->fmem);
	if (x->xch)
		xc_interface_close(x->xch);
	free(x->ss_armed);
	free(x->held);
	free(x->held_req);
	free(x->queue);
	free(x->ctx);
	free(t->description);
	free(t->key);
	free(t->last_error);
	free(x);
}

static const struct target_event_ops xen_event_ops = {
	.enable = ev_enable,
	.disable = ev_disable,
	.fd = ev_fd,
	.next = ev_next,
	.respond = ev_respond,
	.monitor = ev_monitor,
	.singlestep = ev_singlestep,
	.inject = ev_inject,
	.status = xen_status,
	.set_access = ev_set_access,
	.get_access = ev_get_access,
	.recover = ev_recover,
};

const struct target_ops target_xen = {
	.name = "xen",
	.help = "xen:ID, xen:NAME, ID, NAME   a live Xen domain (from dom0)",
	.open = xen_open,
	.close = xen_close,
	.map = xen_map,
	.unmap = xen_unmap,
	.get_regs = xen_get_regs,
	.set_regs = xen_set_regs,
	.pause = xen_pause,
	.unpause = xen_unpause,
	.is_running = xen_is_running,
	.ev = &xen_event_ops,
};
