// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * mem_access and altp2m as Xen 4.17 implements them on Intel EPT:
 * xen/common/mem_access.c (mem_access_memop), xen/arch/x86/mm/mem_access.c
 * (p2m_set_mem_access, p2m_set_mem_access_multi, p2m_get_mem_access,
 * p2m_mem_access_emulate_check), xen/arch/x86/mm/p2m.c (the altp2m
 * views: p2m_init_next_altp2m, p2m_destroy_altp2m_by_id,
 * p2m_switch_domain_altp2m_by_id, p2m_switch_vcpu_altp2m_by_id,
 * p2m_altp2m_propagate_change) and xen/arch/x86/hvm/hvm.c do_altp2m_op.
 *
 * p2m_access_t and xenmem_access_t share their numbering (n, r, w, rw,
 * x, rx, wx, rwx, rx2rw, n2rwx), so one byte holds either.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "stub/base/log.h"
#include "tests/xensim/simd.h"

static const char *const access_names[] = {
	"n", "r", "w", "rw", "x", "rx", "wx", "rwx", "rx2rw", "n2rwx",
	"default",
};

const char *sim_access_name(uint8_t a)
{
	return a < sizeof(access_names) / sizeof(access_names[0]) ?
	       access_names[a] : "?";
}

int sim_access_parse(const char *s)
{
	unsigned i;

	for (i = 0; i < sizeof(access_names) / sizeof(access_names[0]); i++)
		if (!strcasecmp(s, access_names[i]))
			return (int)i;
	return -EINVAL;
}

uint8_t sim_effective_access(const struct sim_vcpu *v, uint64_t gfn)
{
	const struct sim_domain *d = v->d;

	if (gfn >= d->p2m_size)
		return XENMEM_access_rwx;
	if (d->altp2m_active) {
		const struct sim_view *w = &d->view[v->altp2m_idx];

		if (w->exists && w->acc[gfn] != SIM_ACC_ABSENT)
			return w->acc[gfn];
	}
	return d->host_acc[gfn];
}

void sim_set_host_access(struct sim_domain *d, uint64_t gfn, uint8_t a)
{
	unsigned i;

	if (gfn >= d->p2m_size)
		return;		/* outside the simulated p2m: nothing there */
	d->host_acc[gfn] = a;
	if (!d->altp2m_active)
		return;
	/* p2m_altp2m_propagate_change: a view holding an entry for the
	 * gfn gets the host's new one. */
	for (i = 0; i < SIM_MAX_ALTP2M; i++)
		if (d->view[i].exists && d->view[i].acc[gfn] != SIM_ACC_ABSENT)
			d->view[i].acc[gfn] = a;
}

void sim_set_current_access(struct sim_vcpu *v, uint64_t gfn, uint8_t a)
{
	struct sim_domain *d = v->d;

	if (gfn >= d->p2m_size)
		return;
	if (d->altp2m_active && d->view[v->altp2m_idx].exists)
		d->view[v->altp2m_idx].acc[gfn] = a;
	else
		sim_set_host_access(d, gfn, a);
}

/* xenmem_access_to_p2m_access(): false for values Xen refuses. */
static bool to_p2m_access(const struct sim_domain *d, unsigned x,
			  uint8_t *a)
{
	if (x <= XENMEM_access_n2rwx) {
		*a = (uint8_t)x;
		return true;
	}
	if (x == XENMEM_access_default) {
		*a = d->default_access;
		return true;
	}
	return false;
}

/* p2m_mem_access_sanity_check: HVM (or PVH) on VT-x with HAP. */
static bool sanity_check(const struct sim_domain *d)
{
	return sim_is_hvm(d) && d->vendor == SIM_INTEL;
}

/* set_mem_access() for one gfn, view 0 being the host p2m. */
static int set_one(struct sim_domain *d, unsigned view, uint64_t gfn,
		   uint8_t a)
{
	struct sim_view *w;

	if (!view) {
		sim_set_host_access(d, gfn, a);
		return 0;
	}
	w = &d->view[view];
	if (gfn >= d->p2m_size)
		return 0;
	/* altp2m_get_effective_entry(AP2MGET_prepopulate): without an
	 * entry of its own the view copies the host's, which must be a
	 * populated RAM page; otherwise -ESRCH, which the caller skips. */
	if (w->acc[gfn] == SIM_ACC_ABSENT && !sim_gfn_populated(d, gfn))
		return 0;
	w->acc[gfn] = a;
	return 0;
}

static bool view_valid(const struct sim_domain *d, unsigned view)
{
	return view < SIM_MAX_ALTP2M && d->view[view].exists;
}

/* p2m_set_mem_access() */
static int set_range(struct sim_domain *d, uint64_t pfn, uint32_t nr,
		     unsigned access, unsigned view)
{
	uint8_t a;
	uint64_t g;
	int rc;

	if (view && !view_valid(d, view))
		return -EINVAL;
	if (!to_p2m_access(d, access, &a))
		return -EINVAL;
	if (pfn == ~0ull) {
		d->default_access = a;
		return 0;
	}
	for (g = pfn; g < pfn + nr; g++) {
		rc = set_one(d, view, g, a);
		if (rc)
			return rc;
	}
	return 0;
}

/* p2m_set_mem_access_multi() */
static int set_multi(struct sim_domain *d, const uint8_t *lists,
		     size_t lists_len, uint32_t nr, uint64_t start,
		     unsigned view)
{
	uint64_t i;
	int rc;

	if (view && !view_valid(d, view))
		return -EINVAL;
	if (lists_len < (size_t)nr * 9)
		return -EFAULT;
	for (i = start; i < nr; i++) {
		uint64_t gfn;
		uint8_t a;

		memcpy(&gfn, lists + i * 8, 8);
		if (!to_p2m_access(d, lists[(size_t)nr * 8 + i], &a))
			return -EINVAL;
		rc = set_one(d, view, gfn, a);
		if (rc)
			return rc;
	}
	return 0;
}

/* p2m_get_mem_access() */
static int get_access(struct sim_domain *d, uint64_t gfn, unsigned view,
		      uint8_t *a)
{
	const struct sim_view *w;

	if (!d->altp2m_active) {
		if (view)
			return -EINVAL;
	} else if (view && !view_valid(d, view)) {
		return -EINVAL;
	}
	if (!view) {
		if (gfn == ~0ull) {
			*a = d->default_access;
			return 0;
		}
		if (!sim_gfn_populated(d, gfn))
			return -ESRCH;
		*a = d->host_acc[gfn];
		return 0;
	}
	w = &d->view[view];
	if (gfn == ~0ull) {
		*a = w->default_access;
		return 0;
	}
	/* A view's own get_entry: no entry yet means no valid mfn. */
	if (gfn >= d->p2m_size || w->acc[gfn] == SIM_ACC_ABSENT ||
	    !sim_gfn_populated(d, gfn))
		return -ESRCH;
	*a = w->acc[gfn];
	return 0;
}

int sim_mem_access_op(struct sim *s, xen_mem_access_op_t *mao,
		      const uint8_t *lists, size_t lists_len)
{
	struct sim_domain *d;
	uint8_t a;
	int rc;

	rc = sim_lock_live_remote_domain(s, mao->domid, &d);
	if (rc)
		return rc;
	if (!sanity_check(d))
		return -EINVAL;
	if (!d->ring)
		return -ENODEV;
	switch (mao->op) {
	case XENMEM_access_op_set_access:
		if (mao->pfn != ~0ull &&
		    (mao->pfn + mao->nr - 1 < mao->pfn ||
		     mao->pfn + mao->nr - 1 > d->max_mapped))
			return -EINVAL;
		return set_range(d, mao->pfn, mao->nr, mao->access, 0);
	case XENMEM_access_op_set_access_multi:
		return set_multi(d, lists, lists_len, mao->nr, 0, 0);
	case XENMEM_access_op_get_access:
		if (mao->pfn > d->max_mapped && mao->pfn != ~0ull)
			return -EINVAL;
		rc = get_access(d, mao->pfn, 0, &a);
		if (!rc)
			mao->access = a;
		return rc;
	default:
		return -ENOSYS;
	}
}

bool sim_mem_access_emulate_check(struct sim_vcpu *v,
				  const vm_event_response_t *rsp)
{
	struct sim_domain *d = v->d;
	const struct vm_event_mem_access *m = &rsp->u.mem_access;
	uint8_t a;
	int rc;

	/* The vCPU's own p2m: its altp2m view (view 0 too: that is
	 * altp2m_p2m[0], not the host p2m) when altp2m is active. */
	if (d->altp2m_active && view_valid(d, v->altp2m_idx)) {
		const struct sim_view *w = &d->view[v->altp2m_idx];

		rc = -ESRCH;
		if (m->gfn < d->p2m_size && w->acc[m->gfn] != SIM_ACC_ABSENT) {
			a = w->acc[m->gfn];
			rc = 0;
		}
	} else {
		rc = get_access(d, m->gfn, 0, &a);
	}
	if (rc)
		return true;
	switch (a) {
	case XENMEM_access_r:
		return m->flags & MEM_ACCESS_WX;
	case XENMEM_access_w:
		return m->flags & MEM_ACCESS_RX;
	case XENMEM_access_x:
		return m->flags & MEM_ACCESS_RW;
	case XENMEM_access_rx:
	case XENMEM_access_rx2rw:
		return m->flags & MEM_ACCESS_W;
	case XENMEM_access_wx:
		return m->flags & MEM_ACCESS_R;
	case XENMEM_access_rw:
		return m->flags & MEM_ACCESS_X;
	case XENMEM_access_rwx:
		return false;
	default:	/* n, n2rwx */
		return m->flags & MEM_ACCESS_RWX;
	}
}

/* ---- altp2m ---- */

static void view_activate(struct sim_domain *d, unsigned idx, uint8_t def)
{
	struct sim_view *w = &d->view[idx];

	w->exists = true;
	w->acc = xmalloc(d->p2m_size);
	memset(w->acc, SIM_ACC_ABSENT, d->p2m_size);
	w->default_access = def;
	w->active_vcpus = 0;
}

static void view_reset(struct sim_view *w)
{
	free(w->acc);
	memset(w, 0, sizeof(*w));
}

static void vcpu_set_view(struct sim_vcpu *v, unsigned idx)
{
	struct sim_domain *d = v->d;

	if (d->view[v->altp2m_idx].active_vcpus)
		d->view[v->altp2m_idx].active_vcpus--;
	v->altp2m_idx = idx;
	d->view[idx].active_vcpus++;
}

void sim_altp2m_switch_vcpu(struct sim_vcpu *v, unsigned idx)
{
	if (view_valid(v->d, idx))
		vcpu_set_view(v, idx);
}

void sim_altp2m_disable(struct sim_domain *d)
{
	unsigned i;

	for (i = 0; i < SIM_MAX_ALTP2M; i++)
		view_reset(&d->view[i]);
	for (i = 0; i < d->nr_vcpus; i++)
		d->vcpu[i].altp2m_idx = 0;
	d->altp2m_active = false;
}

static int set_domain_state(struct sim_domain *d, bool on)
{
	unsigned i;

	if (on == d->altp2m_active)
		return 0;
	if (on) {
		view_activate(d, 0, d->default_access);
		for (i = 0; i < d->nr_vcpus; i++) {
			d->vcpu[i].altp2m_idx = 0;
			d->view[0].active_vcpus++;
		}
		d->altp2m_active = true;
	} else {
		sim_altp2m_disable(d);
	}
	return 0;
}

static int create_view(struct sim_domain *d, xen_hvm_altp2m_op_t *a)
{
	unsigned i;
	uint8_t acc;

	if (a->u.view.hvmmem_default_access > XENMEM_access_default ||
	    !to_p2m_access(d, a->u.view.hvmmem_default_access, &acc))
		return -EINVAL;
	for (i = 0; i < SIM_MAX_ALTP2M; i++) {
		if (d->view[i].exists)
			continue;
		view_activate(d, i, acc);
		a->u.view.view = (uint16_t)i;
		return 0;
	}
	return -EINVAL;
}

static int destroy_view(struct sim_domain *d, unsigned idx)
{
	if (!idx || idx >= SIM_MAX_ALTP2M)
		return -EBUSY;
	if (!d->view[idx].exists || d->view[idx].active_vcpus)
		return -EBUSY;
	view_reset(&d->view[idx]);
	return 0;
}

static int switch_domain(struct sim_domain *d, unsigned idx)
{
	unsigned i;

	if (idx >= SIM_MAX_ALTP2M || !d->view[idx].exists)
		return -EINVAL;
	for (i = 0; i < d->nr_vcpus; i++)
		vcpu_set_view(&d->vcpu[i], idx);
	return 0;
}

int sim_altp2m_op(struct sim *s, xen_hvm_altp2m_op_t *a,
		  const uint8_t *lists, size_t lists_len)
{
	struct sim_domain *d;
	int rc;

	if (a->pad1 || a->pad2 || a->version != HVMOP_ALTP2M_INTERFACE_VERSION)
		return -EINVAL;
	switch (a->cmd) {
	case HVMOP_altp2m_get_domain_state:
	case HVMOP_altp2m_set_domain_state:
	case HVMOP_altp2m_vcpu_enable_notify:
	case HVMOP_altp2m_vcpu_disable_notify:
	case HVMOP_altp2m_create_p2m:
	case HVMOP_altp2m_destroy_p2m:
	case HVMOP_altp2m_switch_p2m:
	case HVMOP_altp2m_set_suppress_ve:
	case HVMOP_altp2m_set_suppress_ve_multi:
	case HVMOP_altp2m_get_suppress_ve:
	case HVMOP_altp2m_set_mem_access:
	case HVMOP_altp2m_set_mem_access_multi:
	case HVMOP_altp2m_get_mem_access:
	case HVMOP_altp2m_change_gfn:
	case HVMOP_altp2m_get_p2m_idx:
	case HVMOP_altp2m_set_visibility:
		break;
	default:
		return -EOPNOTSUPP;
	}
	rc = sim_lock_domain(s, a->domain, &d);
	if (rc)
		return rc;
	if (!d || !sim_is_hvm(d))
		return -EOPNOTSUPP;	/* dom0 is PV */
	/* hvm_altp2m_supported(): VT-x only. Xen checks this before it
	 * looks the domain up; xensim's vendor is per domain. */
	if (d->vendor == SIM_AMD)
		return -EOPNOTSUPP;
	if (a->cmd != HVMOP_altp2m_get_domain_state &&
	    a->cmd != HVMOP_altp2m_set_domain_state && !d->altp2m_active)
		return -EOPNOTSUPP;
	if (d->altp2m_mode == XEN_ALTP2M_disabled)
		return -EINVAL;

	switch (a->cmd) {
	case HVMOP_altp2m_get_domain_state:
		a->u.domain_state.state = d->altp2m_active;
		return 0;
	case HVMOP_altp2m_set_domain_state:
		rc = set_domain_state(d, !!a->u.domain_state.state);
		sim_update_timer(s);
		return rc;
	case HVMOP_altp2m_vcpu_enable_notify:
		if (a->u.enable_notify.pad ||
		    a->u.enable_notify.vcpu_id >= d->nr_vcpus)
			return -EINVAL;
		return sim_unmodelled(s, "#VE notification (altp2m vcpu_enable_notify)");
	case HVMOP_altp2m_vcpu_disable_notify:
		if (a->u.disable_notify.vcpu_id >= d->nr_vcpus)
			return -EINVAL;
		return sim_unmodelled(s, "#VE notification (altp2m vcpu_disable_notify)");
	case HVMOP_altp2m_create_p2m:
		return create_view(d, a);
	case HVMOP_altp2m_destroy_p2m:
		return destroy_view(d, a->u.view.view);
	case HVMOP_altp2m_switch_p2m:
		return switch_domain(d, a->u.view.view);
	case HVMOP_altp2m_set_mem_access:
		if (a->u.mem_access.pad)
			return -EINVAL;
		return set_range(d, a->u.mem_access.gfn, 1,
				 a->u.mem_access.access, a->u.mem_access.view);
	case HVMOP_altp2m_set_mem_access_multi:
		if (a->u.set_mem_access_multi.pad ||
		    a->u.set_mem_access_multi.opaque >
		    a->u.set_mem_access_multi.nr)
			return -EINVAL;
		return set_multi(d, lists, lists_len,
				 a->u.set_mem_access_multi.nr,
				 a->u.set_mem_access_multi.opaque,
				 a->u.set_mem_access_multi.view);
	case HVMOP_altp2m_get_mem_access: {
		uint8_t acc;

		if (a->u.mem_access.pad)
			return -EINVAL;
		rc = get_access(d, a->u.mem_access.gfn, a->u.mem_access.view,
				&acc);
		if (!rc)
			a->u.mem_access.access = acc;
		return rc;
	}
	case HVMOP_altp2m_get_p2m_idx:
		if (a->u.get_vcpu_p2m_idx.vcpu_id >= d->nr_vcpus)
			return -EINVAL;
		a->u.get_vcpu_p2m_idx.altp2m_idx =
			(uint16_t)d->vcpu[a->u.get_vcpu_p2m_idx.vcpu_id].altp2m_idx;
		return 0;
	case HVMOP_altp2m_set_visibility:
		if (a->u.set_visibility.pad)
			return -EINVAL;
		return sim_unmodelled(s, "altp2m view visibility");
	default:
		return sim_unmodelled(s, "altp2m command %u (suppress #VE, change_gfn)",
				      a->cmd);
	}
}
