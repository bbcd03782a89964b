// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libxenctrl.so.4.17 for xensim, introspection: the monitor ring and
 * events (tools/libs/ctrl/xc_monitor.c, xc_vm_event.c), mem_access
 * (xc_mem_access.c) and altp2m (xc_altp2m.c), built as those files build
 * their hypercalls.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "tests/xensim/lib/xc-internal.h"

/* ---- vm_event ---- */

SIM_EXPORT int xc_vm_event_control(xc_interface *xch, uint32_t domain_id,
				   unsigned int op, unsigned int mode,
				   uint32_t *port)
{
	struct xen_domctl dc;
	int rc;

	memset(&dc, 0, sizeof(dc));
	dc.cmd = XEN_DOMCTL_vm_event_op;
	dc.domain = (domid_t)domain_id;
	dc.u.vm_event_op.op = op;
	dc.u.vm_event_op.mode = mode;
	rc = xc_sim_domctl(xch, "xc_vm_event_control", &dc, NULL, 0, NULL, 0,
			   NULL);
	if (!rc && port)
		*port = dc.u.vm_event_op.u.enable.port;
	return rc;
}

/*
 * xc_vm_event_enable: pause, find the ring gfn (an HVM parameter),
 * populate it if needed, map it, enable, take the gfn out of the guest's
 * physmap, unpause. The caller initialises the shared ring
 * (SHARED_RING_INIT, BACK_RING_INIT); Xen only does FRONT_RING_INIT.
 */
SIM_EXPORT void *xc_vm_event_enable(xc_interface *xch, uint32_t domain_id,
				    int param, uint32_t *port)
{
	void *ring = NULL;
	uint64_t pfn;
	xen_pfn_t ring_pfn;
	int rc1, rc2, saved, err = 0;
	unsigned int mode;

	if (!port) {
		errno = EINVAL;
		return NULL;
	}
	rc1 = xc_domain_pause(xch, domain_id);
	if (rc1)
		return NULL;
	rc1 = xc_hvm_param_get(xch, domain_id, (uint32_t)param, &pfn);
	if (rc1)
		goto out;
	ring_pfn = (xen_pfn_t)pfn;
	/* xc_get_pfn_type_batch: is the page there? */
	ring = xc_map_foreign_bulk(xch, domain_id, PROT_READ, &ring_pfn, &err,
				   1);
	if (ring)
		munmap(ring, 4096);
	ring = NULL;
	if (err) {
		rc1 = xc_domain_populate_physmap_exact(xch, domain_id, 1, 0, 0,
						       &ring_pfn);
		if (rc1)
			goto out;
	}
	ring = xc_map_foreign_pages(xch, domain_id, PROT_READ | PROT_WRITE,
				    &ring_pfn, 1);
	if (!ring) {
		rc1 = -1;
		goto out;
	}
	switch (param) {
	case HVM_PARAM_MONITOR_RING_PFN:
		mode = XEN_DOMCTL_VM_EVENT_OP_MONITOR;
		break;
	case HVM_PARAM_PAGING_RING_PFN:
		mode = XEN_DOMCTL_VM_EVENT_OP_PAGING;
		break;
	case HVM_PARAM_SHARING_RING_PFN:
		mode = XEN_DOMCTL_VM_EVENT_OP_SHARING;
		break;
	default:
		errno = EINVAL;
		rc1 = -1;
		goto out;
	}
	rc1 = xc_vm_event_control(xch, domain_id, XEN_VM_EVENT_ENABLE, mode,
				  port);
	if (rc1)
		goto out;
	/* Failure here is only reported, as libxc does. */
	xc_domain_decrease_reservation_exact(xch, domain_id, 1, 0, &ring_pfn);
out:
	saved = errno;
	rc2 = xc_domain_unpause(xch, domain_id);
	if (rc1 || rc2) {
		if (rc2 && !rc1)
			saved = errno;
		if (ring)
			munmap(ring, 4096);
		ring = NULL;
		errno = saved;
	}
	return ring;
}

SIM_EXPORT int xc_vm_event_get_version(xc_interface *xch)
{
	struct xen_domctl dc;
	int rc;

	memset(&dc, 0, sizeof(dc));
	dc.cmd = XEN_DOMCTL_vm_event_op;
	dc.domain = DOMID_INVALID;
	dc.u.vm_event_op.op = XEN_VM_EVENT_GET_VERSION;
	dc.u.vm_event_op.mode = XEN_DOMCTL_VM_EVENT_OP_MONITOR;
	rc = xc_sim_domctl(xch, "xc_vm_event_get_version", &dc, NULL, 0, NULL,
			   0, NULL);
	return rc ? rc : (int)dc.u.vm_event_op.u.version;
}

/* ---- monitor ---- */

SIM_EXPORT void *xc_monitor_enable(xc_interface *xch, uint32_t domain_id,
				   uint32_t *port)
{
	return xc_vm_event_enable(xch, domain_id, HVM_PARAM_MONITOR_RING_PFN,
				  port);
}

SIM_EXPORT int xc_monitor_disable(xc_interface *xch, uint32_t domain_id)
{
	return xc_vm_event_control(xch, domain_id, XEN_VM_EVENT_DISABLE,
				   XEN_DOMCTL_VM_EVENT_OP_MONITOR, NULL);
}

SIM_EXPORT int xc_monitor_resume(xc_interface *xch, uint32_t domain_id)
{
	return xc_vm_event_control(xch, domain_id, XEN_VM_EVENT_RESUME,
				   XEN_DOMCTL_VM_EVENT_OP_MONITOR, NULL);
}

static int monitor_op(xc_interface *xch, const char *func,
		      struct xen_domctl *dc, uint32_t domain_id, uint32_t op,
		      uint32_t event)
{
	dc->cmd = XEN_DOMCTL_monitor_op;
	dc->domain = (domid_t)domain_id;
	dc->u.monitor_op.op = op;
	dc->u.monitor_op.event = event;
	return xc_sim_domctl(xch, func, dc, NULL, 0, NULL, 0, NULL);
}

#define ONOFF(e) ((e) ? XEN_DOMCTL_MONITOR_OP_ENABLE : XEN_DOMCTL_MONITOR_OP_DISABLE)

SIM_EXPORT int xc_monitor_get_capabilities(xc_interface *xch,
					   uint32_t domain_id,
					   uint32_t *capabilities)
{
	struct xen_domctl dc;
	int rc;

	if (!capabilities) {
		errno = EINVAL;
		return -1;
	}
	memset(&dc, 0, sizeof(dc));
	rc = monitor_op(xch, "xc_monitor_get_capabilities", &dc, domain_id,
			XEN_DOMCTL_MONITOR_OP_GET_CAPABILITIES, 0);
	if (rc)
		return rc;
	*capabilities = dc.u.monitor_op.event;
	return 0;
}

SIM_EXPORT int xc_monitor_write_ctrlreg(xc_interface *xch, uint32_t domain_id,
					uint16_t index, bool enable, bool sync,
					uint64_t bitmask, bool onchangeonly)
{
	struct xen_domctl dc;

	memset(&dc, 0, sizeof(dc));
	dc.u.monitor_op.u.mov_to_cr.index = index;
	dc.u.monitor_op.u.mov_to_cr.sync = sync;
	dc.u.monitor_op.u.mov_to_cr.onchangeonly = onchangeonly;
	dc.u.monitor_op.u.mov_to_cr.bitmask = bitmask;
	return monitor_op(xch, "xc_monitor_write_ctrlreg", &dc, domain_id,
			  ONOFF(enable), XEN_DOMCTL_MONITOR_EVENT_WRITE_CTRLREG);
}

SIM_EXPORT int xc_monitor_mov_to_msr(xc_interface *xch, uint32_t domain_id,
				     uint32_t msr, bool enable,
				     bool onchangeonly)
{
	struct xen_domctl dc;

	memset(&dc, 0, sizeof(dc));
	dc.u.monitor_op.u.mov_to_msr.msr = msr;
	dc.u.monitor_op.u.mov_to_msr.onchangeonly = onchangeonly;
	return monitor_op(xch, "xc_monitor_mov_to_msr", &dc, domain_id,
			  ONOFF(enable), XEN_DOMCTL_MONITOR_EVENT_MOV_TO_MSR);
}

static int monitor_flag(xc_interface *xch, const char *func,
			uint32_t domain_id, bool enable, uint32_t event)
{
	struct xen_domctl dc;

	memset(&dc, 0, sizeof(dc));
	return monitor_op(xch, func, &dc, domain_id, ONOFF(enable), event);
}

SIM_EXPORT int xc_monitor_singlestep(xc_interface *xch, uint32_t domain_id,
				     bool enable)
{
	return monitor_flag(xch, "xc_monitor_singlestep", domain_id, enable,
			    XEN_DOMCTL_MONITOR_EVENT_SINGLESTEP);
}

SIM_EXPORT int xc_monitor_software_breakpoint(xc_interface *xch,
					      uint32_t domain_id, bool enable)
{
	return monitor_flag(xch, "xc_monitor_software_breakpoint", domain_id,
			    enable, XEN_DOMCTL_MONITOR_EVENT_SOFTWARE_BREAKPOINT);
}

SIM_EXPORT int xc_monitor_descriptor_access(xc_interface *xch,
					    uint32_t domain_id, bool enable)
{
	return monitor_flag(xch, "xc_monitor_descriptor_access", domain_id,
			    enable, XEN_DOMCTL_MONITOR_EVENT_DESC_ACCESS);
}

SIM_EXPORT int xc_monitor_guest_request(xc_interface *xch, uint32_t domain_id,
					bool enable, bool sync,
					bool allow_userspace)
{
	struct xen_domctl dc;

	memset(&dc, 0, sizeof(dc));
	dc.u.monitor_op.u.guest_request.sync = sync;
	dc.u.monitor_op.u.guest_request.allow_userspace =
		enable ? allow_userspace : false;
	return monitor_op(xch, "xc_monitor_guest_request", &dc, domain_id,
			  ONOFF(enable), XEN_DOMCTL_MONITOR_EVENT_GUEST_REQUEST);
}

SIM_EXPORT int xc_monitor_inguest_pagefault(xc_interface *xch,
					    uint32_t domain_id, bool disable)
{
	return monitor_flag(xch, "xc_monitor_inguest_pagefault", domain_id,
			    disable, XEN_DOMCTL_MONITOR_EVENT_INGUEST_PAGEFAULT);
}

SIM_EXPORT int xc_monitor_emulate_each_rep(xc_interface *xch,
					   uint32_t domain_id, bool enable)
{
	struct xen_domctl dc;

	memset(&dc, 0, sizeof(dc));
	return monitor_op(xch, "xc_monitor_emulate_each_rep", &dc, domain_id,
			  XEN_DOMCTL_MONITOR_OP_EMULATE_EACH_REP, enable);
}

SIM_EXPORT int xc_monitor_debug_exceptions(xc_interface *xch,
					   uint32_t domain_id, bool enable,
					   bool sync)
{
	struct xen_domctl dc;

	memset(&dc, 0, sizeof(dc));
	dc.u.monitor_op.u.debug_exception.sync = sync;
	return monitor_op(xch, "xc_monitor_debug_exceptions", &dc, domain_id,
			  ONOFF(enable),
			  XEN_DOMCTL_MONITOR_EVENT_DEBUG_EXCEPTION);
}

SIM_EXPORT int xc_monitor_cpuid(xc_interface *xch, uint32_t domain_id,
				bool enable)
{
	return monitor_flag(xch, "xc_monitor_cpuid", domain_id, enable,
			    XEN_DOMCTL_MONITOR_EVENT_CPUID);
}

SIM_EXPORT int xc_monitor_privileged_call(xc_interface *xch,
					  uint32_t domain_id, bool enable)
{
	return monitor_flag(xch, "xc_monitor_privileged_call", domain_id,
			    enable, XEN_DOMCTL_MONITOR_EVENT_PRIVILEGED_CALL);
}

SIM_EXPORT int xc_monitor_emul_unimplemented(xc_interface *xch,
					     uint32_t domain_id, bool enable)
{
	return monitor_flag(xch, "xc_monitor_emul_unimplemented", domain_id,
			    enable, XEN_DOMCTL_MONITOR_EVENT_EMUL_UNIMPLEMENTED);
}

SIM_EXPORT int xc_monitor_vmexit(xc_interface *xch, uint32_t domain_id,
				 bool enable, bool sync)
{
	struct xen_domctl dc;

	memset(&dc, 0, sizeof(dc));
	dc.u.monitor_op.u.vmexit.sync = sync;
	return monitor_op(xch, "xc_monitor_vmexit", &dc, domain_id,
			  ONOFF(enable), XEN_DOMCTL_MONITOR_EVENT_VMEXIT);
}

/* ---- mem_access ---- */

SIM_EXPORT int xc_set_mem_access(xc_interface *xch, uint32_t domain_id,
				 xenmem_access_t access, uint64_t first_pfn,
				 uint32_t nr)
{
	xen_mem_access_op_t mao = {
		.op = XENMEM_access_op_set_access,
		.domid = (domid_t)domain_id,
		.access = (uint8_t)access,
		.pfn = first_pfn,
		.nr = nr,
	};

	return (int)xc_sim_memop(xch, "xc_set_mem_access", XENMEM_access_op,
				 &mao, sizeof(mao), NULL, 0);
}

/* The lists travel after the structure: pfns (8 bytes each), then the
 * access bytes. */
static int access_lists(const uint64_t *pages, const uint8_t *access,
			uint32_t nr, uint8_t **out)
{
	*out = malloc((size_t)nr * 9 + 1);
	if (!*out)
		return -1;
	if (nr) {
		memcpy(*out, pages, (size_t)nr * 8);
		memcpy(*out + (size_t)nr * 8, access, nr);
	}
	return 0;
}

SIM_EXPORT int xc_set_mem_access_multi(xc_interface *xch, uint32_t domain_id,
				       uint8_t *access, uint64_t *pages,
				       uint32_t nr)
{
	xen_mem_access_op_t mao = {
		.op = XENMEM_access_op_set_access_multi,
		.domid = (domid_t)domain_id,
		.access = XENMEM_access_default + 1,
		.pfn = ~0ull,
		.nr = nr,
	};
	uint8_t *lists;
	int rc;

	if (access_lists(pages, access, nr, &lists))
		return -1;
	sim_set_handle(mao.pfn_list, pages);
	sim_set_handle(mao.access_list, access);
	rc = (int)xc_sim_memop(xch, "xc_set_mem_access_multi",
			       XENMEM_access_op, &mao, sizeof(mao), lists,
			       (size_t)nr * 9);
	free(lists);
	return rc;
}

SIM_EXPORT int xc_get_mem_access(xc_interface *xch, uint32_t domain_id,
				 uint64_t pfn, xenmem_access_t *access)
{
	xen_mem_access_op_t mao = {
		.op = XENMEM_access_op_get_access,
		.domid = (domid_t)domain_id,
		.pfn = pfn,
	};
	int rc = (int)xc_sim_memop(xch, "xc_get_mem_access", XENMEM_access_op,
				   &mao, sizeof(mao), NULL, 0);

	if (rc == 0)
		*access = mao.access;
	return rc;
}

/* ---- altp2m ---- */

static int altp2m(xc_interface *xch, const char *func, xen_hvm_altp2m_op_t *a,
		  uint32_t cmd, uint32_t domid, const void *lists, size_t llen)
{
	a->version = HVMOP_ALTP2M_INTERFACE_VERSION;
	a->cmd = cmd;
	a->domain = (domid_t)domid;
	return (int)xc_sim_hvmop(xch, func, HVMOP_altp2m, a, sizeof(*a), lists,
				 llen);
}

SIM_EXPORT int xc_altp2m_get_domain_state(xc_interface *handle, uint32_t dom,
					  bool *state)
{
	xen_hvm_altp2m_op_t a;
	int rc;

	memset(&a, 0, sizeof(a));
	rc = altp2m(handle, "xc_altp2m_get_domain_state", &a,
		    HVMOP_altp2m_get_domain_state, dom, NULL, 0);
	if (!rc)
		*state = a.u.domain_state.state;
	return rc;
}

SIM_EXPORT int xc_altp2m_set_domain_state(xc_interface *handle, uint32_t dom,
					  bool state)
{
	xen_hvm_altp2m_op_t a;

	memset(&a, 0, sizeof(a));
	a.u.domain_state.state = state;
	return altp2m(handle, "xc_altp2m_set_domain_state", &a,
		      HVMOP_altp2m_set_domain_state, dom, NULL, 0);
}

SIM_EXPORT int xc_altp2m_set_vcpu_enable_notify(xc_interface *handle,
						uint32_t domid, uint32_t vcpuid,
						xen_pfn_t gfn)
{
	xen_hvm_altp2m_op_t a;

	memset(&a, 0, sizeof(a));
	a.u.enable_notify.vcpu_id = vcpuid;
	a.u.enable_notify.gfn = gfn;
	return altp2m(handle, "xc_altp2m_set_vcpu_enable_notify", &a,
		      HVMOP_altp2m_vcpu_enable_notify, domid, NULL, 0);
}

SIM_EXPORT int xc_altp2m_set_vcpu_disable_notify(xc_interface *handle,
						 uint32_t domid,
						 uint32_t vcpuid)
{
	xen_hvm_altp2m_op_t a;

	memset(&a, 0, sizeof(a));
	a.u.disable_notify.vcpu_id = vcpuid;
	return altp2m(handle, "xc_altp2m_set_vcpu_disable_notify", &a,
		      HVMOP_altp2m_vcpu_disable_notify, domid, NULL, 0);
}

SIM_EXPORT int xc_altp2m_create_view(xc_interface *handle, uint32_t domid,
				     xenmem_access_t default_access,
				     uint16_t *view_id)
{
	xen_hvm_altp2m_op_t a;
	int rc;

	memset(&a, 0, sizeof(a));
	a.u.view.view = (uint16_t)-1;
	a.u.view.hvmmem_default_access = (uint16_t)default_access;
	rc = altp2m(handle, "xc_altp2m_create_view", &a,
		    HVMOP_altp2m_create_p2m, domid, NULL, 0);
	if (!rc)
		*view_id = a.u.view.view;
	return rc;
}

SIM_EXPORT int xc_altp2m_destroy_view(xc_interface *handle, uint32_t domid,
				      uint16_t view_id)
{
	xen_hvm_altp2m_op_t a;

	memset(&a, 0, sizeof(a));
	a.u.view.view = view_id;
	return altp2m(handle, "xc_altp2m_destroy_view", &a,
		      HVMOP_altp2m_destroy_p2m, domid, NULL, 0);
}

SIM_EXPORT int xc_altp2m_switch_to_view(xc_interface *handle, uint32_t domid,
					uint16_t view_id)
{
	xen_hvm_altp2m_op_t a;

	memset(&a, 0, sizeof(a));
	a.u.view.view = view_id;
	return altp2m(handle, "xc_altp2m_switch_to_view", &a,
		      HVMOP_altp2m_switch_p2m, domid, NULL, 0);
}

SIM_EXPORT int xc_altp2m_get_suppress_ve(xc_interface *handle, uint32_t domid,
					 uint16_t view_id, xen_pfn_t gfn,
					 bool *sve)
{
	xen_hvm_altp2m_op_t a;
	int rc;

	memset(&a, 0, sizeof(a));
	a.u.suppress_ve.view = view_id;
	a.u.suppress_ve.gfn = gfn;
	rc = altp2m(handle, "xc_altp2m_get_suppress_ve", &a,
		    HVMOP_altp2m_get_suppress_ve, domid, NULL, 0);
	if (!rc)
		*sve = a.u.suppress_ve.suppress_ve;
	return rc;
}

SIM_EXPORT int xc_altp2m_set_suppress_ve(xc_interface *handle, uint32_t domid,
					 uint16_t view_id, xen_pfn_t gfn,
					 bool sve)
{
	xen_hvm_altp2m_op_t a;

	memset(&a, 0, sizeof(a));
	a.u.suppress_ve.view = view_id;
	a.u.suppress_ve.gfn = gfn;
	a.u.suppress_ve.suppress_ve = sve;
	return altp2m(handle, "xc_altp2m_set_suppress_ve", &a,
		      HVMOP_altp2m_set_suppress_ve, domid, NULL, 0);
}

SIM_EXPORT int xc_altp2m_set_supress_ve_multi(xc_interface *handle,
					      uint32_t domid, uint16_t view_id,
					      xen_pfn_t first_gfn,
					      xen_pfn_t last_gfn, bool sve,
					      xen_pfn_t *error_gfn,
					      int32_t *error_code)
{
	xen_hvm_altp2m_op_t a;
	int rc;

	memset(&a, 0, sizeof(a));
	a.u.suppress_ve_multi.view = view_id;
	a.u.suppress_ve_multi.first_gfn = first_gfn;
	a.u.suppress_ve_multi.last_gfn = last_gfn;
	a.u.suppress_ve_multi.suppress_ve = sve;
	rc = altp2m(handle, "xc_altp2m_set_supress_ve_multi", &a,
		    HVMOP_altp2m_set_suppress_ve_multi, domid, NULL, 0);
	if (!rc) {
		*error_gfn = a.u.suppress_ve_multi.first_error_gfn;
		*error_code = a.u.suppress_ve_multi.first_error;
	}
	return rc;
}

SIM_EXPORT int xc_altp2m_set_mem_access(xc_interface *handle, uint32_t domid,
					uint16_t view_id, xen_pfn_t gfn,
					xenmem_access_t access)
{
	xen_hvm_altp2m_op_t a;

	memset(&a, 0, sizeof(a));
	a.u.mem_access.view = view_id;
	a.u.mem_access.access = (uint16_t)access;
	a.u.mem_access.gfn = gfn;
	return altp2m(handle, "xc_altp2m_set_mem_access", &a,
		      HVMOP_altp2m_set_mem_access, domid, NULL, 0);
}

SIM_EXPORT int xc_altp2m_change_gfn(xc_interface *handle, uint32_t domid,
				    uint16_t view_id, xen_pfn_t old_gfn,
				    xen_pfn_t new_gfn)
{
	xen_hvm_altp2m_op_t a;

	memset(&a, 0, sizeof(a));
	a.u.change_gfn.view = view_id;
	a.u.change_gfn.old_gfn = old_gfn;
	a.u.change_gfn.new_gfn = new_gfn;
	return altp2m(handle, "xc_altp2m_change_gfn", &a,
		      HVMOP_altp2m_change_gfn, domid, NULL, 0);
}

SIM_EXPORT int xc_altp2m_set_mem_access_multi(xc_interface *xch,
					      uint32_t domid, uint16_t view_id,
					      uint8_t *access, uint64_t *gfns,
					      uint32_t nr)
{
	xen_hvm_altp2m_op_t a;
	uint8_t *lists;
	int rc;

	if (access_lists(gfns, access, nr, &lists))
		return -1;
	memset(&a, 0, sizeof(a));
	a.u.set_mem_access_multi.view = view_id;
	a.u.set_mem_access_multi.nr = nr;
	sim_set_handle(a.u.set_mem_access_multi.pfn_list, gfns);
	sim_set_handle(a.u.set_mem_access_multi.access_list, access);
	rc = altp2m(xch, "xc_altp2m_set_mem_access_multi", &a,
		    HVMOP_altp2m_set_mem_access_multi, domid, lists,
		    (size_t)nr * 9);
	free(lists);
	return rc;
}

SIM_EXPORT int xc_altp2m_get_mem_access(xc_interface *handle, uint32_t domid,
					uint16_t view_id, xen_pfn_t gfn,
					xenmem_access_t *access)
{
	xen_hvm_altp2m_op_t a;
	int rc;

	memset(&a, 0, sizeof(a));
	a.u.mem_access.view = view_id;
	a.u.mem_access.gfn = gfn;
	rc = altp2m(handle, "xc_altp2m_get_mem_access", &a,
		    HVMOP_altp2m_get_mem_access, domid, NULL, 0);
	if (!rc)
		*access = a.u.mem_access.access;
	return rc;
}

SIM_EXPORT int xc_altp2m_get_vcpu_p2m_idx(xc_interface *handle, uint32_t domid,
					  uint32_t vcpuid,
					  uint16_t *altp2m_idx)
{
	xen_hvm_altp2m_op_t a;
	int rc;

	memset(&a, 0, sizeof(a));
	a.u.get_vcpu_p2m_idx.vcpu_id = vcpuid;
	rc = altp2m(handle, "xc_altp2m_get_vcpu_p2m_idx", &a,
		    HVMOP_altp2m_get_p2m_idx, domid, NULL, 0);
	if (!rc)
		*altp2m_idx = a.u.get_vcpu_p2m_idx.altp2m_idx;
	return rc;
}

SIM_EXPORT int xc_altp2m_set_visibility(xc_interface *handle, uint32_t domid,
					uint16_t view_id, bool visible)
{
	xen_hvm_altp2m_op_t a;

	memset(&a, 0, sizeof(a));
	a.u.set_visibility.altp2m_idx = view_id;
	a.u.set_visibility.visible = visible;
	return altp2m(handle, "xc_altp2m_set_visibility", &a,
		      HVMOP_altp2m_set_visibility, domid, NULL, 0);
}
