// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libxenctrl.so.4.17 for xensim: the handle, domain information, pause,
 * HVM and PV contexts, vCPU information, debug control, foreign mappings
 * and address translation, version, HVM parameters, event injection and
 * reservations, each built the way tools/libs/ctrl (xc_domain.c,
 * xc_private.c, xc_foreign_memory.c, xc_pagetab.c, xc_misc.c) builds the
 * hypercall, including its return conventions.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "stub/base/strbuf.h"
#include "tests/xensim/lib/xc-internal.h"

#define PAGE 4096u

/* ---- hypercall helpers ---- */

int xc_sim_domctl(xc_interface *xch, const char *func, struct xen_domctl *dc,
		  const void *in, size_t inlen, void *out, size_t outlen,
		  size_t *got)
{
	struct simreply r;
	int rc;

	dc->interface_version = XEN_DOMCTL_INTERFACE_VERSION;
	rc = simconn_call(&xch->c, func, XSIM_OP_DOMCTL, 0, dc, sizeof(*dc),
			  in, inlen, &r);
	if (r.len >= sizeof(*dc)) {
		size_t extra = r.len - sizeof(*dc);

		memcpy(dc, r.body, sizeof(*dc));
		if (extra > outlen)
			extra = outlen;
		if (out && extra)
			memcpy(out, (uint8_t *)r.body + sizeof(*dc), extra);
		if (got)
			*got = extra;
	}
	simreply_free(&r);
	return rc < 0 ? sim_errno(rc) : 0;
}

static long sim_op(xc_interface *xch, const char *func, uint32_t op,
		   unsigned cmd, void *arg, size_t size, const void *lists,
		   size_t llen)
{
	struct simreply r;
	int rc = simconn_call(&xch->c, func, op, cmd, arg, size, lists, llen,
			      &r);

	if (r.len >= size)
		memcpy(arg, r.body, size);
	simreply_free(&r);
	return rc < 0 ? sim_errno(rc) : rc;
}

long xc_sim_memop(xc_interface *xch, const char *func, unsigned cmd,
		  void *arg, size_t size, const void *lists, size_t llen)
{
	return sim_op(xch, func, XSIM_OP_MEMORY, cmd, arg, size, lists, llen);
}

long xc_sim_hvmop(xc_interface *xch, const char *func, unsigned cmd,
		  void *arg, size_t size, const void *lists, size_t llen)
{
	return sim_op(xch, func, XSIM_OP_HVM, cmd, arg, size, lists, llen);
}

/* ---- the handle ---- */

SIM_EXPORT xc_interface *xc_interface_open(xentoollog_logger *logger,
					   xentoollog_logger *dombuild_logger,
					   unsigned open_flags)
{
	xc_interface *xch = xcalloc(1, sizeof(*xch));
	int rc;

	(void)logger;
	(void)dombuild_logger;
	(void)open_flags;
	rc = simconn_open(&xch->c, XSIM_ROLE_XC, "xc_interface_open", NULL);
	if (rc) {
		free(xch);
		errno = -rc;
		return NULL;
	}
	return xch;
}

SIM_EXPORT int xc_interface_close(xc_interface *xch)
{
	if (!xch)
		return 0;
	simconn_close(&xch->c);
	free(xch);
	return 0;
}

SIM_EXPORT const xc_error *xc_get_last_error(xc_interface *xch)
{
	return &xch->last_error;
}

SIM_EXPORT void xc_clear_last_error(xc_interface *xch)
{
	memset(&xch->last_error, 0, sizeof(xch->last_error));
}

SIM_EXPORT const char *xc_strerror(xc_interface *xch, int errcode)
{
	(void)xch;
	return strerror(errcode);
}

/* ---- domains ---- */

static void fill_dominfo(xc_dominfo_t *info,
			 const struct xen_domctl_getdomaininfo *g,
			 uint32_t domid)
{
	info->domid = domid;
	info->dying = !!(g->flags & XEN_DOMINF_dying);
	info->shutdown = !!(g->flags & XEN_DOMINF_shutdown);
	info->paused = !!(g->flags & XEN_DOMINF_paused);
	info->blocked = !!(g->flags & XEN_DOMINF_blocked);
	info->running = !!(g->flags & XEN_DOMINF_running);
	info->hvm = !!(g->flags & XEN_DOMINF_hvm_guest);
	info->debugged = !!(g->flags & XEN_DOMINF_debugged);
	info->xenstore = !!(g->flags & XEN_DOMINF_xs_domain);
	info->hap = !!(g->flags & XEN_DOMINF_hap);
	info->shutdown_reason = (g->flags >> XEN_DOMINF_shutdownshift) &
				XEN_DOMINF_shutdownmask;
	if (info->shutdown && info->shutdown_reason == SHUTDOWN_crash) {
		info->shutdown = 0;
		info->crashed = 1;
	}
	info->ssidref = g->ssidref;
	info->nr_pages = g->tot_pages;
	info->nr_outstanding_pages = g->outstanding_pages;
	info->nr_shared_pages = g->shr_pages;
	info->nr_paged_pages = g->paged_pages;
	info->max_memkb = g->max_pages << (12 - 10);
	info->shared_info_frame = g->shared_info_frame;
	info->cpu_time = g->cpu_time;
	info->nr_online_vcpus = g->nr_online_vcpus;
	info->max_vcpu_id = g->max_vcpu_id;
	info->cpupool = g->cpupool;
	info->gpaddr_bits = g->gpaddr_bits;
	info->arch_config = g->arch_config;
	memcpy(info->handle, g->handle, sizeof(xen_domain_handle_t));
}

SIM_EXPORT int xc_domain_getinfo(xc_interface *xch, uint32_t first_domid,
				 unsigned int max_doms, xc_dominfo_t *info)
{
	uint32_t next = first_domid;
	unsigned int n;
	int rc = 0;

	memset(info, 0, max_doms * sizeof(*info));
	for (n = 0; n < max_doms; n++) {
		struct xen_domctl dc;

		memset(&dc, 0, sizeof(dc));
		dc.cmd = XEN_DOMCTL_getdomaininfo;
		dc.domain = (domid_t)next;
		rc = xc_sim_domctl(xch, "xc_domain_getinfo", &dc, NULL, 0, NULL,
				   0, NULL);
		if (rc < 0)
			break;
		fill_dominfo(info, &dc.u.getdomaininfo, dc.domain);
		next = (uint16_t)dc.domain + 1;
		info++;
	}
	return n ? (int)n : rc;
}

SIM_EXPORT int xc_domain_getinfolist(xc_interface *xch, uint32_t first_domain,
				     unsigned int max_domains,
				     xc_domaininfo_t *info)
{
	struct xen_sysctl sc;
	struct simreply r;
	size_t have;
	int rc;

	memset(&sc, 0, sizeof(sc));
	sc.cmd = XEN_SYSCTL_getdomaininfolist;
	sc.interface_version = XEN_SYSCTL_INTERFACE_VERSION;
	sc.u.getdomaininfolist.first_domain = (domid_t)first_domain;
	sc.u.getdomaininfolist.max_domains = max_domains;
	sim_set_handle(sc.u.getdomaininfolist.buffer, info);
	rc = simconn_call(&xch->c, "xc_domain_getinfolist", XSIM_OP_SYSCTL, 0,
			  &sc, sizeof(sc), NULL, 0, &r);
	if (rc < 0 || r.len < sizeof(sc)) {
		simreply_free(&r);
		return sim_errno(rc < 0 ? rc : -EIO);
	}
	memcpy(&sc, r.body, sizeof(sc));
	have = (r.len - sizeof(sc)) / sizeof(*info);
	if (have > sc.u.getdomaininfolist.num_domains)
		have = sc.u.getdomaininfolist.num_domains;
	if (have > max_domains)
		have = max_domains;
	memcpy(info, (uint8_t *)r.body + sizeof(sc), have * sizeof(*info));
	simreply_free(&r);
	return (int)sc.u.getdomaininfolist.num_domains;
}

static int simple_domctl(xc_interface *xch, const char *func, uint32_t cmd,
			 uint32_t domid)
{
	struct xen_domctl dc;

	memset(&dc, 0, sizeof(dc));
	dc.cmd = cmd;
	dc.domain = (domid_t)domid;
	return xc_sim_domctl(xch, func, &dc, NULL, 0, NULL, 0, NULL);
}

SIM_EXPORT int xc_domain_pause(xc_interface *xch, uint32_t domid)
{
	return simple_domctl(xch, "xc_domain_pause", XEN_DOMCTL_pausedomain,
			     domid);
}

SIM_EXPORT int xc_domain_unpause(xc_interface *xch, uint32_t domid)
{
	return simple_domctl(xch, "xc_domain_unpause",
			     XEN_DOMCTL_unpausedomain, domid);
}

SIM_EXPORT int xc_domain_get_guest_width(xc_interface *xch, uint32_t domid,
					 unsigned int *guest_width)
{
	struct xen_domctl dc;

	memset(&dc, 0, sizeof(dc));
	dc.cmd = XEN_DOMCTL_get_address_size;
	dc.domain = (domid_t)domid;
	/* libxc returns 1, not -1, when the domctl fails. */
	if (xc_sim_domctl(xch, "xc_domain_get_guest_width", &dc, NULL, 0, NULL,
			  0, NULL))
		return 1;
	*guest_width = dc.u.address_size.size / 8;
	return 0;
}

SIM_EXPORT int xc_domain_maximum_gpfn(xc_interface *xch, uint32_t domid,
				      xen_pfn_t *gpfns)
{
	struct xen_memory_domain md = { .domid = (domid_t)domid };
	long rc = xc_sim_memop(xch, "xc_domain_maximum_gpfn",
			       XENMEM_maximum_gpfn, &md, sizeof(md), NULL, 0);

	if (rc >= 0) {
		*gpfns = (xen_pfn_t)rc;
		rc = 0;
	}
	return (int)rc;
}

SIM_EXPORT int xc_domain_nr_gpfns(xc_interface *xch, uint32_t domid,
				  xen_pfn_t *gpfns)
{
	int rc = xc_domain_maximum_gpfn(xch, domid, gpfns);

	if (rc >= 0)
		*gpfns += 1;
	return rc;
}

SIM_EXPORT int xc_domain_hvm_getcontext(xc_interface *xch, uint32_t domid,
					uint8_t *ctxt_buf, uint32_t size)
{
	struct xen_domctl dc;

	memset(&dc, 0, sizeof(dc));
	dc.cmd = XEN_DOMCTL_gethvmcontext;
	dc.domain = (domid_t)domid;
	dc.u.hvmcontext.size = size;
	sim_set_handle(dc.u.hvmcontext.buffer, ctxt_buf);
	if (xc_sim_domctl(xch, "xc_domain_hvm_getcontext", &dc, NULL, 0,
			  ctxt_buf, ctxt_buf ? size : 0, NULL) < 0)
		return -1;
	return (int)dc.u.hvmcontext.size;
}

SIM_EXPORT int xc_domain_hvm_getcontext_partial(xc_interface *xch,
						uint32_t domid,
						uint16_t typecode,
						uint16_t instance,
						void *ctxt_buf, uint32_t size)
{
	struct xen_domctl dc;

	if (!ctxt_buf)
		return -1;
	memset(&dc, 0, sizeof(dc));
	dc.cmd = XEN_DOMCTL_gethvmcontext_partial;
	dc.domain = (domid_t)domid;
	dc.u.hvmcontext_partial.type = typecode;
	dc.u.hvmcontext_partial.instance = instance;
	dc.u.hvmcontext_partial.bufsz = size;
	sim_set_handle(dc.u.hvmcontext_partial.buffer, ctxt_buf);
	return xc_sim_domctl(xch, "xc_domain_hvm_getcontext_partial", &dc,
			     NULL, 0, ctxt_buf, size, NULL) ? -1 : 0;
}

SIM_EXPORT int xc_domain_hvm_setcontext(xc_interface *xch, uint32_t domid,
					uint8_t *hvm_ctxt, uint32_t size)
{
	struct xen_domctl dc;

	memset(&dc, 0, sizeof(dc));
	dc.cmd = XEN_DOMCTL_sethvmcontext;
	dc.domain = (domid_t)domid;
	dc.u.hvmcontext.size = size;
	sim_set_handle(dc.u.hvmcontext.buffer, hvm_ctxt);
	return xc_sim_domctl(xch, "xc_domain_hvm_setcontext", &dc, hvm_ctxt,
			     hvm_ctxt ? size : 0, NULL, 0, NULL);
}

SIM_EXPORT int xc_vcpu_getcontext(xc_interface *xch, uint32_t domid,
				  uint32_t vcpu, vcpu_guest_context_any_t *ctxt)
{
	struct xen_domctl dc;

	memset(&dc, 0, sizeof(dc));
	dc.cmd = XEN_DOMCTL_getvcpucontext;
	dc.domain = (domid_t)domid;
	dc.u.vcpucontext.vcpu = (uint16_t)vcpu;
	sim_set_handle(dc.u.vcpucontext.ctxt, &ctxt->c);
	return xc_sim_domctl(xch, "xc_vcpu_getcontext", &dc, NULL, 0, ctxt,
			     sizeof(*ctxt), NULL);
}

SIM_EXPORT int xc_vcpu_setcontext(xc_interface *xch, uint32_t domid,
				  uint32_t vcpu, vcpu_guest_context_any_t *ctxt)
{
	struct xen_domctl dc;

	memset(&dc, 0, sizeof(dc));
	dc.cmd = XEN_DOMCTL_setvcpucontext;
	dc.domain = (domid_t)domid;
	dc.u.vcpucontext.vcpu = vcpu;
	sim_set_handle(dc.u.vcpucontext.ctxt, ctxt ? &ctxt->c : NULL);
	return xc_sim_domctl(xch, "xc_vcpu_setcontext", &dc, ctxt,
			     ctxt ? sizeof(ctxt->c) : 0, NULL, 0, NULL);
}

SIM_EXPORT int xc_vcpu_getinfo(xc_interface *xch, uint32_t domid,
			       uint32_t vcpu, xc_vcpuinfo_t *info)
{
	struct xen_domctl dc;
	int rc;

	memset(&dc, 0, sizeof(dc));
	dc.cmd = XEN_DOMCTL_getvcpuinfo;
	dc.domain = (domid_t)domid;
	dc.u.getvcpuinfo.vcpu = (uint16_t)vcpu;
	rc = xc_sim_domctl(xch, "xc_vcpu_getinfo", &dc, NULL, 0, NULL, 0, NULL);
	memcpy(info, &dc.u.getvcpuinfo, sizeof(*info));
	return rc;
}

SIM_EXPORT int xc_domain_debug_control(xc_interface *xch, uint32_t domid,
				       uint32_t sop, uint32_t vcpu)
{
	struct xen_domctl dc;

	memset(&dc, 0, sizeof(dc));
	dc.domain = (domid_t)domid;
	dc.cmd = XEN_DOMCTL_debug_op;
	dc.u.debug_op.op = sop;
	dc.u.debug_op.vcpu = vcpu;
	return xc_sim_domctl(xch, "xc_domain_debug_control", &dc, NULL, 0, NULL,
			     0, NULL);
}

SIM_EXPORT int xc_domain_set_access_required(xc_interface *xch,
					     uint32_t domid,
					     unsigned int required)
{
	struct xen_domctl dc;

	memset(&dc, 0, sizeof(dc));
	dc.cmd = XEN_DOMCTL_set_access_required;
	dc.domain = (domid_t)domid;
	dc.u.access_required.access_required = (uint8_t)required;
	return xc_sim_domctl(xch, "xc_domain_set_access_required", &dc, NULL, 0,
			     NULL, 0, NULL);
}

/* ---- memory ---- */

static int reservation(xc_interface *xch, const char *func, unsigned cmd,
		       uint32_t domid, unsigned long nr, unsigned int order,
		       unsigned int flags, xen_pfn_t *extents)
{
	struct xen_memory_reservation r;

	memset(&r, 0, sizeof(r));
	r.nr_extents = nr;
	r.extent_order = order;
	r.mem_flags = flags;
	r.domid = (domid_t)domid;
	sim_set_handle(r.extent_start, extents);
	return (int)xc_sim_memop(xch, func, cmd, &r, sizeof(r), extents,
				 nr * sizeof(*extents));
}

SIM_EXPORT int xc_domain_populate_physmap_exact(xc_interface *xch,
						uint32_t domid,
						unsigned long nr_extents,
						unsigned int extent_order,
						unsigned int mem_flags,
						xen_pfn_t *extent_start)
{
	int rc = reservation(xch, "xc_domain_populate_physmap_exact",
			     XENMEM_populate_physmap, domid, nr_extents,
			     extent_order, mem_flags, extent_start);

	if (rc >= 0 && (unsigned long)rc != nr_extents) {
		errno = EBUSY;
		return -1;
	}
	return rc < 0 ? rc : 0;
}

SIM_EXPORT int xc_domain_decrease_reservation_exact(xc_interface *xch,
						    uint32_t domid,
						    unsigned long nr_extents,
						    unsigned int extent_order,
						    xen_pfn_t *extent_start)
{
	int rc = reservation(xch, "xc_domain_decrease_reservation_exact",
			     XENMEM_decrease_reservation, domid, nr_extents,
			     extent_order, 0, extent_start);

	if (rc >= 0 && (unsigned long)rc != nr_extents) {
		errno = EINVAL;
		return -1;
	}
	return rc < 0 ? rc : 0;
}

/* ---- foreign mappings ---- */

SIM_EXPORT void *xc_map_foreign_bulk(xc_interface *xch, uint32_t dom,
				     int prot, const xen_pfn_t *arr, int *err,
				     unsigned int num)
{
	return sim_map_frames(&xch->c, "xc_map_foreign_bulk", dom, NULL, prot,
			      0, num, (const uint64_t *)arr, err);
}

SIM_EXPORT void *xc_map_foreign_pages(xc_interface *xch, uint32_t dom,
				      int prot, const xen_pfn_t *arr, int num)
{
	int *err;
	void *p;
	int i;

	if (num < 0) {
		errno = EINVAL;
		return NULL;
	}
	/* xenforeignmemory_map with err NULL: all frames or nothing. */
	err = xcalloc(num ? (size_t)num : 1, sizeof(int));
	p = sim_map_frames(&xch->c, "xc_map_foreign_pages", dom, NULL, prot, 0,
			   (size_t)num, (const uint64_t *)arr, err);
	for (i = 0; p && i < num; i++) {
		if (err[i]) {
			munmap(p, (size_t)num * PAGE);
			p = NULL;
			errno = -err[i];
		}
	}
	free(err);
	return p;
}

SIM_EXPORT void *xc_map_foreign_range(xc_interface *xch, uint32_t dom,
				      int size, int prot, unsigned long mfn)
{
	int num = (size + (int)PAGE - 1) / (int)PAGE, i;
	xen_pfn_t *arr;
	void *p;

	if (num <= 0) {
		errno = EINVAL;
		return NULL;
	}
	arr = xcalloc((size_t)num, sizeof(*arr));
	for (i = 0; i < num; i++)
		arr[i] = mfn + (unsigned long)i;
	p = xc_map_foreign_pages(xch, dom, prot, arr, num);
	free(arr);
	return p;
}

/*
 * The page walk of tools/libs/ctrl/xc_pagetab.c, with its limits: 2-level,
 * PAE or 4-level paging from the vCPU's HVM context (PV: its CR3 and
 * width), large pages at levels 2 and 3, the entry's frame bits
 * 12..51 only, 0 on any failure.
 */
SIM_EXPORT unsigned long xc_translate_foreign_address(xc_interface *xch,
						      uint32_t dom, int vcpu,
						      unsigned long long virt)
{
	xc_dominfo_t info;
	uint64_t paddr, mask, pte = 0;
	int size, level, levels = 2;

	if (xc_domain_getinfo(xch, dom, 1, &info) != 1 || info.domid != dom)
		return 0;
	if (info.hvm) {
		struct hvm_hw_cpu ctx;

		if (xc_domain_hvm_getcontext_partial(xch, dom, HVM_SAVE_CODE(CPU),
						     (uint16_t)vcpu, &ctx,
						     sizeof(ctx)))
			return 0;
		if (!(ctx.cr0 & 0x80000000ull))
			return (unsigned long)(virt >> 12);
		levels = (ctx.msr_efer & 0x400) ? 4 : (ctx.cr4 & 0x20) ? 3 : 2;
		paddr = ctx.cr3 & (levels == 3 ? ~0x1full : ~0xfffull);
	} else {
		vcpu_guest_context_any_t ctx;
		unsigned int width;

		if (xc_vcpu_getcontext(xch, dom, (uint32_t)vcpu, &ctx) ||
		    xc_domain_get_guest_width(xch, dom, &width))
			return 0;
		if (width == 8) {
			levels = 4;
			paddr = (uint64_t)xen_cr3_to_pfn_x86_64(ctx.x64.ctrlreg[3])
				<< 12;
		} else {
			levels = 3;
			paddr = (uint64_t)xen_cr3_to_pfn_x86_32(ctx.x32.ctrlreg[3])
				<< 12;
		}
	}
	if (levels == 4) {
		virt &= 0x0000ffffffffffffull;
		mask = 0x0000ff8000000000ull;
	} else if (levels == 3) {
		virt &= 0xffffffffull;
		mask = 0x0000007fc0000000ull;
	} else {
		virt &= 0xffffffffull;
		mask = 0xffc00000ull;
	}
	size = levels == 2 ? 4 : 8;
	for (level = levels; level > 0; level--) {
		void *map;

		paddr += ((virt & mask) >> __builtin_ctzll(mask)) * (uint64_t)size;
		map = xc_map_foreign_range(xch, dom, PAGE, PROT_READ,
					   (unsigned long)(paddr >> 12));
		if (!map)
			return 0;
		memcpy(&pte, (uint8_t *)map + (paddr & (PAGE - 1)), (size_t)size);
		munmap(map, PAGE);
		if (!(pte & 1)) {
			errno = EADDRNOTAVAIL;
			return 0;
		}
		paddr = pte & 0x000ffffffffff000ull;
		if ((level == 2 || (level == 3 && levels == 4)) &&
		    (pte & 0x80)) {
			uint64_t low = (mask & -mask) - 1;

			return (unsigned long)(((paddr & ~low) | (virt & low)) >> 12);
		}
		mask >>= levels == 2 ? 10 : 9;
	}
	return (unsigned long)(paddr >> 12);
}

/* ---- version, parameters, injection ---- */

SIM_EXPORT int xc_version(xc_interface *xch, int cmd, void *arg)
{
	struct simreply r;
	size_t sz;
	int rc;

	switch (cmd) {
	case XENVER_version:
	case XENVER_pagesize:
		sz = 0;
		break;
	case XENVER_extraversion:
		sz = sizeof(xen_extraversion_t);
		break;
	case XENVER_capabilities:
		sz = sizeof(xen_capabilities_info_t);
		break;
	case XENVER_changeset:
		sz = sizeof(xen_changeset_info_t);
		break;
	case XENVER_compile_info:
	case XENVER_platform_parameters:
	case XENVER_get_features:
	case XENVER_guest_handle:
	case XENVER_commandline:
	case XENVER_build_id:
		sim_not_modelled("xc_version (this command)");
		return -1;
	default:
		return -EINVAL;	/* libxc: "unknown command" */
	}
	rc = simconn_call(&xch->c, "xc_version", XSIM_OP_VERSION,
			  (uint32_t)cmd, NULL, 0, NULL, 0, &r);
	if (rc >= 0 && sz && arg) {
		memset(arg, 0, sz);
		memcpy(arg, r.body ? r.body : "", r.len < sz ? r.len : sz - 1);
	}
	simreply_free(&r);
	return rc < 0 ? sim_errno(rc) : rc;
}

SIM_EXPORT int xc_hvm_param_get(xc_interface *handle, uint32_t dom,
				uint32_t param, uint64_t *value)
{
	struct xen_hvm_param p = { .domid = (domid_t)dom, .index = param };
	long rc = xc_sim_hvmop(handle, "xc_hvm_param_get", HVMOP_get_param, &p,
			       sizeof(p), NULL, 0);

	if (rc < 0)
		return -1;
	*value = p.value;
	return 0;
}

SIM_EXPORT int xc_get_hvm_param(xc_interface *handle, uint32_t dom, int param,
				unsigned long *value)
{
	uint64_t v;
	int rc = xc_hvm_param_get(handle, dom, (uint32_t)param, &v);

	if (!rc)
		*value = (unsigned long)v;
	return rc;
}

SIM_EXPORT int xc_hvm_param_set(xc_interface *handle, uint32_t dom,
				uint32_t param, uint64_t value)
{
	(void)handle, (void)dom, (void)param, (void)value;
	sim_not_modelled("xc_hvm_param_set");
	return -1;
}

SIM_EXPORT int xc_set_hvm_param(xc_interface *handle, uint32_t dom, int param,
				unsigned long value)
{
	(void)handle, (void)dom, (void)param, (void)value;
	sim_not_modelled("xc_set_hvm_param");
	return -1;
}

SIM_EXPORT int xc_hvm_inject_trap(xc_interface *xch, uint32_t domid, int vcpu,
				  uint8_t vector, uint8_t type,
				  uint32_t error_code, uint8_t insn_len,
				  uint64_t cr2)
{
	struct xen_dm_op op;

	memset(&op, 0, sizeof(op));
	op.op = XEN_DMOP_inject_event;
	op.u.inject_event.vcpuid = (uint32_t)vcpu;
	op.u.inject_event.vector = vector;
	op.u.inject_event.type = type;
	op.u.inject_event.error_code = error_code;
	op.u.inject_event.insn_len = insn_len;
	op.u.inject_event.cr2 = cr2;
	return sim_dm_op(&xch->c, "xc_hvm_inject_trap", domid, &op, sizeof(op));
}
