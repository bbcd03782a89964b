// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The hypercalls xensim answers, dispatched like Xen 4.17 does: domctl
 * (xen/common/domctl.c do_domctl, xen/arch/x86/domctl.c arch_do_domctl),
 * the getdomaininfolist sysctl, memory_op (xen/common/memory.c), hvm_op
 * (xen/arch/x86/hvm/hvm.c), dm_op (xen/arch/x86/hvm/dm.c), xen_version,
 * and the foreign mappings privcmd makes. The caller is always the
 * toolstack in dom0, so "current->domain" is dom0.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/mman.h>

#include "stub/base/log.h"
#include "tests/xensim/simd.h"

static bool is_self(uint32_t domid)
{
	return domid == 0 || domid == DOMID_SELF;
}

int sim_lock_domain(struct sim *s, uint32_t domid, struct sim_domain **d)
{
	*d = is_self(domid) ? NULL : sim_domain_get(s, domid);
	if (is_self(domid))
		return 0;
	return *d ? 0 : -ESRCH;
}

int sim_lock_remote_domain(struct sim *s, uint32_t domid,
			   struct sim_domain **d)
{
	if (is_self(domid))
		return -EPERM;
	*d = sim_domain_get(s, domid);
	return *d ? 0 : -ESRCH;
}

int sim_lock_live_remote_domain(struct sim *s, uint32_t domid,
				struct sim_domain **d)
{
	int rc = sim_lock_remote_domain(s, domid, d);

	if (!rc && (*d)->dying)
		return -EINVAL;
	return rc;
}

/* ---- domain information ---- */

static bool vcpu_blocked(const struct sim_vcpu *v)
{
	/* VPF_blocked: halted, sleeping or without work to run. */
	return !v->wl.n || !v->wl_running || v->halted || v->sleeping ||
	       v->fault;
}

static void fill_dominfo(struct sim_domain *d,
			 struct xen_domctl_getdomaininfo *i)
{
	uint32_t flags = XEN_DOMINF_blocked;
	uint64_t cpu_time = 0;
	unsigned k;

	memset(i, 0, sizeof(*i));
	i->domain = (domid_t)d->domid;
	i->max_vcpu_id = d->nr_vcpus - 1;
	for (k = 0; k < d->nr_vcpus; k++) {
		const struct sim_vcpu *v = &d->vcpu[k];

		cpu_time += v->c.steps * 1000;
		if (!v->online)
			continue;
		if (!vcpu_blocked(v))
			flags &= ~XEN_DOMINF_blocked;
		if (sim_vcpu_runnable(v) && !vcpu_blocked(v))
			flags |= XEN_DOMINF_running;
		i->nr_online_vcpus++;
	}
	i->cpu_time = cpu_time;
	i->flags = (i->nr_online_vcpus ? flags : 0) |
		   (d->dying ? XEN_DOMINF_dying : 0) |
		   (d->shut_down ? XEN_DOMINF_shutdown : 0) |
		   (d->controller_pause ? XEN_DOMINF_paused : 0) |
		   (sim_is_hvm(d) ? XEN_DOMINF_hvm_guest | XEN_DOMINF_hap : 0) |
		   (d->shutdown_code << XEN_DOMINF_shutdownshift);
	i->tot_pages = d->tot_pages;
	i->max_pages = d->tot_pages + SIM_POOL_PAGES;
	i->shared_info_frame = 0;
	i->cpupool = 0;
	i->gpaddr_bits = SIM_MAXPHYSADDR;
	i->arch_config.emulation_flags =
		d->type == SIM_HVM ? XEN_X86_EMU_ALL :
		d->type == SIM_PVH ? XEN_X86_EMU_LAPIC : 0;
}

/* dom0 as the simulation shows it: a PV domain with one running vCPU and
 * no memory of its own that can be mapped. */
static void fill_dom0_info(struct xen_domctl_getdomaininfo *i)
{
	memset(i, 0, sizeof(*i));
	i->domain = 0;
	i->flags = XEN_DOMINF_running;
	i->nr_online_vcpus = 1;
	i->max_vcpu_id = 0;
	i->tot_pages = 0x40000;
	i->max_pages = 0x40000;
	i->gpaddr_bits = SIM_MAXPHYSADDR;
}

/* The first domain with an id >= domid: dom0 or a guest. */
static int next_domain(struct sim *s, uint32_t domid,
		       struct sim_domain **d)
{
	uint32_t i;

	*d = NULL;
	if (domid == 0)
		return 0;
	for (i = domid; i < SIM_MAX_DOMAINS; i++) {
		if (s->dom[i]) {
			*d = s->dom[i];
			return 0;
		}
	}
	return -ESRCH;
}

static int do_getdomaininfo(struct sim *s, struct xen_domctl *dc)
{
	struct sim_domain *d;
	int rc;

	if (dc->domain >= DOMID_FIRST_RESERVED)
		return -EINVAL;
	rc = next_domain(s, dc->domain, &d);
	if (rc)
		return rc;
	if (d)
		fill_dominfo(d, &dc->u.getdomaininfo);
	else
		fill_dom0_info(&dc->u.getdomaininfo);
	dc->domain = dc->u.getdomaininfo.domain;
	return 0;
}

int sim_do_sysctl(struct sim *s, uint8_t *body, size_t len,
		  struct strbuf *out)
{
	struct xen_sysctl sc;
	struct strbuf list = STRBUF_INIT;
	uint32_t id, n = 0;
	int rc = 0;

	if (len < sizeof(sc))
		return -EFAULT;
	memcpy(&sc, body, sizeof(sc));
	if (sc.interface_version != XEN_SYSCTL_INTERFACE_VERSION) {
		rc = -EACCES;
		goto out;
	}
	if (sc.cmd != XEN_SYSCTL_getdomaininfolist) {
		rc = sim_unmodelled(s, "sysctl %u", sc.cmd);
		goto out;
	}
	for (id = sc.u.getdomaininfolist.first_domain;
	     id < SIM_MAX_DOMAINS && n < sc.u.getdomaininfolist.max_domains;
	     id++) {
		struct xen_domctl_getdomaininfo info;

		if (id == 0)
			fill_dom0_info(&info);
		else if (s->dom[id])
			fill_dominfo(s->dom[id], &info);
		else
			continue;
		strbuf_add(&list, &info, sizeof(info));
		n++;
	}
	sc.u.getdomaininfolist.num_domains = n;
out:
	strbuf_add(out, &sc, sizeof(sc));
	strbuf_add(out, list.buf, list.len);
	strbuf_release(&list);
	return rc;
}

/* ---- domctl ---- */

static int do_pause(struct sim_domain *d)
{
	if (d->controller_pause + 1 > 255)
		return -EOVERFLOW;
	d->controller_pause++;
	sim_update_timer(d->sim);
	return 0;
}

static int do_unpause(struct sim_domain *d)
{
	if (d->controller_pause == 0)
		return -EINVAL;
	d->controller_pause--;
	sim_domain_unpaused(d);
	sim_update_timer(d->sim);
	return 0;
}

static int do_getvcpuinfo(struct sim_domain *d, struct xen_domctl *dc)
{
	struct xen_domctl_getvcpuinfo *i = &dc->u.getvcpuinfo;
	uint32_t vcpu = i->vcpu;

	if (!d) {
		if (vcpu >= 1)
			return -EINVAL;
		memset(i, 0, sizeof(*i));
		i->vcpu = vcpu;
		i->online = 1;
		i->running = 1;
		return 0;
	}
	if (vcpu >= d->nr_vcpus)
		return -EINVAL;
	memset(i, 0, sizeof(*i));
	i->vcpu = vcpu;
	i->online = d->vcpu[vcpu].online;
	i->blocked = vcpu_blocked(&d->vcpu[vcpu]);
	i->running = sim_vcpu_runnable(&d->vcpu[vcpu]) &&
		     !vcpu_blocked(&d->vcpu[vcpu]);
	i->cpu_time = d->vcpu[vcpu].c.steps * 1000;
	i->cpu = vcpu % 2;
	return 0;
}

static int do_debug_op(struct sim_domain *d, struct xen_domctl *dc)
{
	struct sim_vcpu *v;

	if (!d)
		return -EINVAL;	/* v == current, and dom0 is PV */
	if (dc->u.debug_op.vcpu >= d->nr_vcpus)
		return -EINVAL;
	if (!sim_is_hvm(d))
		return -EINVAL;
	v = &d->vcpu[dc->u.debug_op.vcpu];
	switch (dc->u.debug_op.op) {
	case XEN_DOMCTL_DEBUG_OP_SINGLE_STEP_ON:
	case XEN_DOMCTL_DEBUG_OP_SINGLE_STEP_OFF:
		/* hvm_debug_op: needs the monitor trap flag (Intel). */
		if (d->vendor == SIM_AMD)
			return -EOPNOTSUPP;
		break;
	default:
		return -ENOSYS;
	}
	v->single_step = dc->u.debug_op.op == XEN_DOMCTL_DEBUG_OP_SINGLE_STEP_ON;
	if (!v->single_step)
		v->mtf_pending = false;
	return 0;
}

static int do_vm_event_op(struct sim *s, struct sim_domain *d,
			  struct xen_domctl *dc)
{
	struct xen_domctl_vm_event_op *vec = &dc->u.vm_event_op;
	int rc;

	if (!d)
		return -EINVAL;	/* "Tried to do a memory event op on itself" */
	if (d->dying)
		return 0;	/* ignored on a dying domain */
	if (vec->mode != XEN_DOMCTL_VM_EVENT_OP_MONITOR)
		return sim_unmodelled(s, "vm_event mode %u (paging, sharing)",
				      vec->mode);
	switch (vec->op) {
	case XEN_VM_EVENT_ENABLE:
		return sim_vm_event_enable(s, d, &vec->u.enable.port);
	case XEN_VM_EVENT_DISABLE:
		if (!d->ring)
			return -EINVAL;
		d->controller_pause++;	/* domain_pause() around it */
		rc = sim_vm_event_disable(d);
		d->controller_pause--;
		sim_update_timer(s);
		return rc;
	case XEN_VM_EVENT_RESUME:
		return sim_vm_event_resume(d);
	default:
		return -ENOSYS;
	}
}

static void set_access_required(struct sim_domain *d, bool required)
{
	d->access_required = required;
}

int sim_do_domctl(struct sim *s, struct sim_conn *c, uint8_t *body,
		  size_t len, struct strbuf *out)
{
	struct xen_domctl dc;
	struct strbuf extra = STRBUF_INIT;
	const uint8_t *in = body + sizeof(dc);
	size_t inlen;
	struct sim_domain *d = NULL;
	bool self;
	int rc;

	(void)c;
	if (len < sizeof(dc))
		return -EFAULT;
	memcpy(&dc, body, sizeof(dc));
	inlen = len - sizeof(dc);
	if (dc.interface_version != XEN_DOMCTL_INTERFACE_VERSION) {
		rc = -EACCES;
		goto out;
	}
	if (dc.cmd == XEN_DOMCTL_getdomaininfo) {
		rc = do_getdomaininfo(s, &dc);
		goto out;
	}
	if (dc.cmd == XEN_DOMCTL_vm_event_op && dc.domain == DOMID_INVALID) {
		if (dc.u.vm_event_op.op == XEN_VM_EVENT_GET_VERSION) {
			dc.u.vm_event_op.u.version = VM_EVENT_INTERFACE_VERSION;
			rc = 0;
		} else {
			rc = -ESRCH;
		}
		goto out;
	}
	self = is_self(dc.domain);
	rc = sim_lock_domain(s, dc.domain, &d);
	if (rc)
		goto out;

	switch (dc.cmd) {
	case XEN_DOMCTL_pausedomain:
		rc = self ? -EINVAL : do_pause(d);
		break;
	case XEN_DOMCTL_unpausedomain:
		rc = self ? -EINVAL : do_unpause(d);
		break;
	case XEN_DOMCTL_gethvmcontext:
		if (self || !sim_is_hvm(d)) {
			rc = -EINVAL;
			break;
		}
		if (!dc.u.hvmcontext.buffer.p) {
			dc.u.hvmcontext.size = (uint32_t)sim_hvm_save_size(d);
			rc = 0;
			break;
		}
		if (dc.u.hvmcontext.size < sim_hvm_save_size(d)) {
			rc = -ENOSPC;
			break;
		}
		rc = sim_hvm_save(d, &extra);
		if (!rc)
			dc.u.hvmcontext.size = (uint32_t)extra.len;
		break;
	case XEN_DOMCTL_sethvmcontext:
		if (self || !sim_is_hvm(d)) {
			rc = -EINVAL;
			break;
		}
		if (inlen < dc.u.hvmcontext.size) {
			rc = -EFAULT;
			break;
		}
		d->controller_pause++;
		d->hvm_loads++;
		rc = sim_hvm_load(d, in, dc.u.hvmcontext.size);
		if (rc == 0)
			d->hvm_loads_ok++;
		d->controller_pause--;
		sim_update_timer(s);
		break;
	case XEN_DOMCTL_gethvmcontext_partial: {
		struct xen_domctl_hvmcontext_partial *p =
			&dc.u.hvmcontext_partial;

		if (self || !sim_is_hvm(d)) {
			rc = -EINVAL;
			break;
		}
		rc = sim_hvm_save_one(d, p->type, p->instance, &p->bufsz,
				      !p->buffer.p, &extra);
		break;
	}
	case XEN_DOMCTL_getvcpucontext: {
		vcpu_guest_context_t ctx;

		if (self || dc.u.vcpucontext.vcpu >= d->nr_vcpus) {
			rc = -EINVAL;
			break;
		}
		sim_get_vcpu_context(&d->vcpu[dc.u.vcpucontext.vcpu], &ctx);
		strbuf_add(&extra, &ctx, sizeof(ctx));
		rc = 0;
		break;
	}
	case XEN_DOMCTL_setvcpucontext: {
		vcpu_guest_context_t ctx;

		if (self || dc.u.vcpucontext.vcpu >= d->nr_vcpus) {
			rc = -EINVAL;
			break;
		}
		if (!dc.u.vcpucontext.ctxt.p) {
			rc = sim_unmodelled(s, "XEN_DOMCTL_setvcpucontext with a NULL context (vcpu_reset)");
			break;
		}
		if (inlen < sizeof(ctx)) {
			rc = -EFAULT;
			break;
		}
		memcpy(&ctx, in, sizeof(ctx));
		d->controller_pause++;
		rc = sim_set_vcpu_context(&d->vcpu[dc.u.vcpucontext.vcpu], &ctx);
		d->controller_pause--;
		sim_update_timer(s);
		break;
	}
	case XEN_DOMCTL_getvcpuinfo:
		rc = do_getvcpuinfo(d, &dc);
		break;
	case XEN_DOMCTL_get_address_size:
		if (d && sim_is_hvm(d)) {
			rc = -EOPNOTSUPP;
			break;
		}
		dc.u.address_size.size = d ? d->pv_bits : 64;
		rc = 0;
		break;
	case XEN_DOMCTL_debug_op:
		rc = do_debug_op(d, &dc);
		break;
	case XEN_DOMCTL_monitor_op:
		rc = self ? -EPERM : sim_monitor_domctl(d, &dc.u.monitor_op);
		break;
	case XEN_DOMCTL_vm_event_op:
		rc = do_vm_event_op(s, d, &dc);
		break;
	case XEN_DOMCTL_set_access_required:
		if (self) {
			rc = -EPERM;
			break;
		}
		set_access_required(d, dc.u.access_required.access_required);
		rc = 0;
		break;
	default:
		rc = sim_unmodelled(s, "domctl %u", dc.cmd);
		break;
	}
out:
	strbuf_add(out, &dc, sizeof(dc));
	strbuf_add(out, extra.buf, extra.len);
	strbuf_release(&extra);
	return rc;
}

/* ---- memory_op ---- */

static int do_reservation(struct sim *s, unsigned cmd, uint8_t *body,
			  size_t len)
{
	struct xen_memory_reservation r;
	const uint8_t *list = body + sizeof(r);
	struct sim_domain *d;
	unsigned i;
	int rc;

	if (len < sizeof(r))
		return -EFAULT;
	memcpy(&r, body, sizeof(r));
	if (len - sizeof(r) < (size_t)r.nr_extents * sizeof(xen_pfn_t))
		return -EFAULT;
	if (r.extent_order)
		return sim_unmodelled(s, "memory reservations of order %u (only 4 KiB pages)",
				      r.extent_order);
	rc = sim_lock_domain(s, r.domid, &d);
	if (rc)
		return rc;
	if (!d)
		return sim_unmodelled(s, "changing dom0's own reservation");
	for (i = 0; i < r.nr_extents; i++) {
		xen_pfn_t gfn;

		memcpy(&gfn, list + i * sizeof(gfn), sizeof(gfn));
		if (cmd == XENMEM_populate_physmap)
			rc = sim_gfn_populate(d, gfn);
		else
			rc = sim_gfn_remove(d, gfn);
		if (rc)
			break;
	}
	/* Both return how many extents were done. */
	return (int)i;
}

int sim_do_memory_op(struct sim *s, unsigned cmd, uint8_t *body,
		     size_t len, struct strbuf *out)
{
	switch (cmd) {
	case XENMEM_maximum_gpfn: {
		struct xen_memory_domain md;
		struct sim_domain *d;
		int rc;

		if (len < sizeof(md))
			return -EFAULT;
		memcpy(&md, body, sizeof(md));
		rc = sim_lock_domain(s, md.domid, &d);
		if (rc)
			return rc;
		return d ? (int)d->max_mapped : 0x3ffff;
	}
	case XENMEM_access_op: {
		xen_mem_access_op_t mao;
		int rc;

		if (len < sizeof(mao))
			return -EFAULT;
		memcpy(&mao, body, sizeof(mao));
		rc = sim_mem_access_op(s, &mao, body + sizeof(mao),
				       len - sizeof(mao));
		strbuf_add(out, &mao, sizeof(mao));
		return rc;
	}
	case XENMEM_populate_physmap:
	case XENMEM_decrease_reservation:
		return do_reservation(s, cmd, body, len);
	default:
		return sim_unmodelled(s, "memory_op %u", cmd);
	}
}

/* ---- hvm_op ---- */

int sim_do_hvm_op(struct sim *s, unsigned cmd, uint8_t *body, size_t len,
		  struct strbuf *out)
{
	switch (cmd) {
	case HVMOP_get_param: {
		struct xen_hvm_param p;
		struct sim_domain *d;
		int rc;

		if (len < sizeof(p))
			return -EFAULT;
		memcpy(&p, body, sizeof(p));
		if (p.index >= HVM_NR_PARAMS)
			return -EINVAL;
		rc = sim_lock_domain(s, p.domid, &d);
		if (rc)
			return rc;
		if (!d || !sim_is_hvm(d))
			return -EINVAL;
		switch (p.index) {
		case HVM_PARAM_MONITOR_RING_PFN:
			p.value = d->monitor_ring_pfn;
			break;
		case HVM_PARAM_ALTP2M:
			p.value = d->altp2m_mode;
			break;
		default:
			return sim_unmodelled(s, "HVM parameter %u", p.index);
		}
		strbuf_add(out, &p, sizeof(p));
		return 0;
	}
	case HVMOP_altp2m: {
		xen_hvm_altp2m_op_t a;
		int rc;

		if (len < sizeof(a))
			return -EFAULT;
		memcpy(&a, body, sizeof(a));
		rc = sim_altp2m_op(s, &a, body + sizeof(a), len - sizeof(a));
		strbuf_add(out, &a, sizeof(a));
		return rc;
	}
	default:
		return sim_unmodelled(s, "hvm_op %u", cmd);
	}
}

/* ---- dm_op ---- */

int sim_do_dm_op(struct sim *s, uint32_t domid, uint8_t *body, size_t len,
		 struct strbuf *out)
{
	struct xen_dm_op op;
	struct sim_domain *d;
	struct sim_vcpu *v;
	int rc;

	rc = sim_lock_remote_domain(s, domid, &d);
	if (rc)
		return rc;
	if (!sim_is_hvm(d))
		return -EINVAL;
	if (len < sizeof(op))
		return -EFAULT;
	memcpy(&op, body, sizeof(op));
	if (op.pad)
		return -EINVAL;
	switch (op.op) {
	case XEN_DMOP_inject_event:
		if (op.u.inject_event.pad0 || op.u.inject_event.pad1 ||
		    op.u.inject_event.vcpuid >= d->nr_vcpus)
			return -EINVAL;
		v = &d->vcpu[op.u.inject_event.vcpuid];
		if (v->inject.vector >= 0)
			return -EBUSY;
		v->inject.vector = op.u.inject_event.vector;
		v->inject.type = op.u.inject_event.type;
		v->inject.insn_len = op.u.inject_event.insn_len;
		v->inject.error_code = op.u.inject_event.error_code;
		v->inject.cr2 = op.u.inject_event.cr2;
		log_dbg(LC_TRAP, "d%uv%u: event %u type %u pending injection",
			d->domid, v->id, op.u.inject_event.vector,
			op.u.inject_event.type);
		sim_update_timer(s);
		return 0;
	case XEN_DMOP_nr_vcpus:
		op.u.nr_vcpus.vcpus = d->nr_vcpus;
		strbuf_add(out, &op, sizeof(op));
		return 0;
	default:
		return sim_unmodelled(s, "dm_op %u", op.op);
	}
}

/* ---- xen_version ---- */

int sim_do_version(struct sim *s, unsigned cmd, struct strbuf *out)
{
	switch (cmd) {
	case XENVER_version:
		return (4 << 16) | 17;
	case XENVER_extraversion:
		strbuf_add(out, ".7", 3);
		return 0;
	case XENVER_capabilities:
		strbuf_addstr(out, "xen-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64");
		strbuf_addch(out, 0);
		return 0;
	case XENVER_changeset:
		strbuf_add(out, "xensim", 7);
		return 0;
	case XENVER_pagesize:
		return SIM_PAGE_SIZE;
	default:
		return sim_unmodelled(s, "xen_version %u", cmd);
	}
}

/* ---- foreign mappings ---- */

int sim_do_map(struct sim *s, uint8_t *body, size_t len, struct strbuf *out,
	       int *memfd)
{
	struct xsim_map_req r;
	struct sim_domain *d = NULL;
	int whole = 0;
	uint32_t i;

	*memfd = -1;
	if (len < sizeof(r))
		return -EFAULT;
	memcpy(&r, body, sizeof(r));
	if (r.count > (len - sizeof(r)) / sizeof(uint64_t))
		return -EFAULT;
	if (r.prot & ~(unsigned)(PROT_READ | PROT_WRITE))
		return -EINVAL;
	if (is_self(r.domid))
		whole = -EINVAL;	/* no dom0 memory is simulated */
	else if (!(d = sim_domain_get(s, r.domid)))
		whole = -ESRCH;		/* get_pg_owner: unknown domain */
	for (i = 0; i < r.count; i++) {
		uint64_t gfn;
		int32_t err = whole;

		memcpy(&gfn, body + sizeof(r) + i * sizeof(gfn), sizeof(gfn));
		/* mod_l1_entry: a frame with no page is -EINVAL */
		if (!err && !sim_gfn_populated(d, gfn))
			err = -EINVAL;
		strbuf_add(out, &err, sizeof(err));
	}
	for (i = 0; i < r.count; i++) {
		uint64_t gfn, off = 0;

		memcpy(&gfn, body + sizeof(r) + i * sizeof(gfn), sizeof(gfn));
		if (d && sim_gfn_populated(d, gfn))
			off = (uint64_t)d->p2m[gfn] << SIM_PAGE_SHIFT;
		strbuf_add(out, &off, sizeof(off));
	}
	if (d)
		*memfd = d->memfd;
	return 0;
}
