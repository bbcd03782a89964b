// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * gdb's breakpoints and watchpoints (Z and z packets) on the trap engine:
 * int3s for software breakpoints; mem_access traps for watchpoints and
 * hardware breakpoints, once probed to work; the four debug registers
 * where they do not. Points are translated in the selected thread's
 * address space when they are inserted.
 */
#include "stub/session/run.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stub/base/log.h"
#include "stub/session/points-agent.h"
#include "stub/session/session-internal.h"
#include "stub/traps/traps.h"
#include "stub/traps/traps-dr.h"

/* Watchpoints need Xen's mem_access: find out once whether it works. */
static int probe_mem_access(struct session *s, char **msg)
{
	struct run_state *r = s->run;
	uint8_t a;
	int rc;

	if (r->mem_access_probed) {
		if (r->mem_access_ok)
			return 0;
		*msg = xstrfmt("%s", r->mem_access_why);
		return -EOPNOTSUPP;
	}
	r->mem_access_probed = true;
	if (!target_has(s->t, TCAP_MEM_ACCESS)) {
		snprintf(r->mem_access_why, sizeof(r->mem_access_why),
			 "%s offers no memory access traps: watchpoints and hardware breakpoints are not available",
			 s->t->description);
		*msg = xstrfmt("%s", r->mem_access_why);
		return -EOPNOTSUPP;
	}
	rc = target_ev_get_access(s->t, 0, 0, &a);
	if (rc < 0) {
		snprintf(r->mem_access_why, sizeof(r->mem_access_why),
			 "watchpoints need Xen's mem_access, which needs an HVM/PVH guest on Intel VT-x with EPT; Xen refused it here: %s",
			 strerror(-rc));
		*msg = xstrfmt("%s", r->mem_access_why);
		return rc == -EINVAL || rc == -EOPNOTSUPP || rc == -ENOSYS ? -EOPNOTSUPP : rc;
	}
	r->mem_access_ok = true;
	/* an instruction Xen's emulator cannot do must come back to us
	 * instead of becoming a #UD in the guest */
	if (target_ev_monitor(s->t, TMON_EMUL_UNIMPL, true) < 0)
		log_warn(LC_TRAP, "%s: an access Xen cannot emulate near a watchpoint would fault in the guest",
			 target_strerror(s->t));
	return 0;
}

/* Without mem_access: the four debug registers, when Xen reports #DB. */
static int dr_fallback(struct session *s, enum point_type t, uint64_t addr,
		       uint64_t len, char **msg)
{
	struct strbuf why = STRBUF_INIT;
	char *no_ma = *msg;	/* why there is no mem_access */
	int rc;

	*msg = NULL;
	if (s->phys_mode) {
		*msg = xstrfmt("%s; debug registers watch virtual addresses, not physical ones", no_ma);
		free(no_ma);
		return -ENOSPC;
	}
	if (target_ev_monitor(s->t, TMON_DEBUG_EXC, true) < 0) {
		*msg = xstrfmt("%s; and Xen reports no debug exceptions for a debug-register fallback: %s",
			       no_ma, target_strerror(s->t));
		free(no_ma);
		return -ENOSPC;
	}
	if (!s->drs)
		s->drs = dr_new(&s->env);
	rc = dr_insert(s->drs, trap_kind_of(t), addr, len, &why);
	if (rc == 0 && !s->run->dr_told) {
		/* not an error: said once so the user knows the limits */
		*msg = xstrfmt("no mem_access here (%s): hardware breakpoints and watchpoints use the "
			       "vCPUs' four debug registers (aligned 1, 2, 4 or 8 bytes; no rwatch)",
			       "it needs Intel VT-x with EPT");
		s->run->dr_told = true;
	} else if (rc < 0 && why.len) {
		*msg = xstrfmt("%s (%s)", why.buf, no_ma);
	}
	strbuf_release(&why);
	free(no_ma);
	return rc;
}

/* A watchpoint or hardware breakpoint from mem_access. */
static int insert_trap(struct session *s, uint64_t tid, enum point_type t,
		       uint64_t addr, uint64_t len, char **msg)
{
	struct strbuf why = STRBUF_INIT;
	struct aspace as;
	int rc;

	if (!s->traps)
		s->traps = traps_new(&s->env, s->bps);
	/* gdb inserts every point again at each stop */
	if (traps_ref(s->traps, trap_kind_of(t), addr, len))
		return 0;
	rc = session_aspace(s, tid, &as);
	if (rc < 0) {
		*msg = xstrfmt("no address space for the selected thread: %s",
			       strerror(-rc));
		return rc;
	}
	rc = traps_insert(s->traps, &as, trap_kind_of(t), addr, len, &why);
	if (rc < 0)
		*msg = strbuf_detach(&why, NULL);
	strbuf_release(&why);
	return rc;
}

/* An int3 in guest memory. */
static int insert_int3(struct session *s, uint64_t tid, uint64_t addr,
		       char **msg)
{
	struct strbuf why = STRBUF_INIT;
	struct aspace as;
	int rc;

	/* without an address space it is refused as not mapped */
	rc = session_aspace(s, tid, &as);
	rc = bp_insert(s->bps, rc < 0 ? NULL : &as, addr, &why);
	if (rc < 0)
		*msg = strbuf_detach(&why, NULL);
	strbuf_release(&why);
	return rc;
}

int session_insert_point(struct session *s, uint64_t tid, enum point_type t,
			 uint64_t addr, uint64_t len, char **msg)
{
	int rc;

	if (!run_live(s)) {
		*msg = xstrfmt("%s cannot run, so it takes no breakpoints",
			       s->t->description ? s->t->description : "the target");
		return -EROFS;
	}
	rc = run_ensure_events(s, msg);
	if (rc < 0)
		/* an error, not "unsupported" (-EOPNOTSUPP makes the empty
		 * reply): gdb would then write the int3 itself, and a guest
		 * that reports no events (PV) would execute it */
		return rc == -EOPNOTSUPP ? -EPERM : rc;
	if (t != PT_SW_BREAK) {
		rc = probe_mem_access(s, msg);
		if (rc == -EOPNOTSUPP)
			return dr_fallback(s, t, addr, len, msg);
		if (rc < 0)
			return rc;
		return insert_trap(s, tid, t, addr, len, msg);
	}
	if (s->opts.read_only) {
		*msg = xstrfmt("--read-only: breakpoints write an int3 into guest memory (hbreak writes nothing)");
		return -EROFS;
	}
	rc = target_ev_monitor(s->t, TMON_SWBP, true);
	if (rc < 0) {
		*msg = xstrfmt("%s", target_strerror(s->t));
		return rc;
	}
	return insert_int3(s, tid, addr, msg);
}

int session_remove_point(struct session *s, uint64_t tid, enum point_type t,
			 uint64_t addr, uint64_t len)
{
	struct aspace as;

	if (!run_live(s))
		return -ENOENT;
	pa_forget(s, t, addr, len);
	if (t != PT_SW_BREAK) {
		if (dr_remove(s->drs, trap_kind_of(t), addr, len) == 0)
			return 0;
		return traps_remove(s->traps, trap_kind_of(t), addr, len);
	}
	/* the mapping may have gone: then the int3 planted at addr */
	return bp_remove(s->bps, session_aspace(s, tid, &as) < 0 ? NULL : &as,
			 addr);
}
