// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Live Xen domains, opened by id or name from dom0: the domain's facts
 * (HVM or PV, width, vCPUs, frames, what its monitor offers), its state,
 * our pauses, and closing, which undoes everything in Xen's order. Memory
 * is in xen-mem.c, registers in xen-regs.c, the vm_event ring in
 * xen-events.c, recovery in xen-recover.c.
 */
#include "stub/guest/xen/xen-internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenstore.h>
#include <xen/hvm/save.h>

#include "stub/base/log.h"
#include "stub/base/strbuf.h"
#include "stub/guest/journal.h"

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

/*
 * Whether domain x runs on an SVM (AMD) host under a Xen that keeps a vCPU's
 * CR2 only in the VMCB, where the guest's page faults leave it, and saves
 * and loads its own copy instead (fixed by "x86/svm: Always sync guest CR2
 * on VMExit", in Xen 4.20.4, 4.21.2 and 4.22). Xen offers the monitor
 * single-step (the monitor trap flag) on VMX hosts only.
 */
static bool svm_stale_cr2(struct xen_target *x)
{
	xen_extraversion_t extra;
	unsigned major, minor, patch = 0;
	int v;

	if (!(x->mon_caps & (1u << XEN_DOMCTL_MONITOR_EVENT_DEBUG_EXCEPTION)) ||
	    (x->mon_caps & (1u << XEN_DOMCTL_MONITOR_EVENT_SINGLESTEP)))
		return false;
	v = xc_version(x->xch, XENVER_version, NULL);
	if (v < 0)
		return true;
	major = (unsigned)v >> 16;
	minor = (unsigned)v & 0xffff;
	memset(extra, 0, sizeof(extra));
	if (xc_version(x->xch, XENVER_extraversion, &extra) == 0 && extra[0] == '.')
		patch = (unsigned)strtoul(extra + 1, NULL, 10);
	if (major != 4)
		return major < 4;
	return minor < 20 || (minor == 20 && patch < 4) || (minor == 21 && patch < 2);
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
	x->regs_pending = xcalloc(x->base.nr_vcpus, sizeof(bool));
	x->pending_regs = xcalloc(x->base.nr_vcpus, sizeof(*x->pending_regs));
	x->regs_sent = xcalloc(x->base.nr_vcpus, sizeof(bool));
	x->sent_regs = xcalloc(x->base.nr_vcpus, sizeof(*x->sent_regs));
	x->sent_over = xcalloc(x->base.nr_vcpus, sizeof(*x->sent_over));

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
		x->stale_cr2 = svm_stale_cr2(x);
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

/* ---- run control ---- */

int xen_pause(struct target *t)
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

int xen_unpause(struct target *t)
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

/* ---- closing ---- */

static void xen_close(struct target *t)
{
	struct xen_target *x = to_xen(t);

	if (x->xch) {
		if (x->ss_armed)
			xen_ev_disable(t);
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
	free(x->regs_pending);
	free(x->pending_regs);
	free(x->regs_sent);
	free(x->sent_regs);
	free(x->sent_over);
	free(x->queue);
	free(x->ctx);
	free(t->description);
	free(t->key);
	free(t->last_error);
	free(x);
}

static const struct target_event_ops xen_event_ops = {
	.enable = xen_ev_enable,
	.disable = xen_ev_disable,
	.fd = xen_ev_fd,
	.next = xen_ev_next,
	.respond = xen_ev_respond,
	.monitor = xen_ev_monitor,
	.singlestep = xen_ev_singlestep,
	.inject = xen_ev_inject,
	.status = xen_status,
	.set_access = xen_ev_set_access,
	.get_access = xen_ev_get_access,
	.recover = xen_ev_recover,
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

