// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The target registry and the thin wrappers through which every target
 * operation is called: the one place for argument checks, optional
 * operations and logging.
 */
#include "stub/guest/target.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stub/base/log.h"
#include "stub/base/strbuf.h"

const struct target_ops *target_find_type(const char *name)
{
	size_t i;

	for (i = 0; target_types[i]; i++)
		if (!strcmp(target_types[i]->name, name))
			return target_types[i];
	return NULL;
}

const char *target_type_help(size_t i)
{
	size_t n;

	for (n = 0; target_types[n]; n++)
		if (n == i)
			return target_types[n]->help;
	return NULL;
}

int target_open(const char *spec, const struct target_params *p,
		struct target **out, char **msg)
{
	const struct target_ops *ops = NULL;
	const char *colon = strchr(spec, ':');
	const char *rest = spec;
	char *m = NULL;
	int rc;

	*out = NULL;
	if (colon) {
		char name[32];
		size_t n = (size_t)(colon - spec);

		if (n < sizeof(name)) {
			memcpy(name, spec, n);
			name[n] = 0;
			ops = target_find_type(name);
		}
		if (ops)
			rest = colon + 1;
	}
	if (!ops) {
		/* a bare domain id or name means a Xen domain */
		ops = target_find_type("xen");
		if (!ops || colon) {
			if (msg)
				*msg = xstrfmt("unknown target '%s': expected core:PATH, raw:PATH%s",
					    spec, target_find_type("xen") ?
					    ", xen:ID, xen:NAME, or a domain id or name" : "");
			return -EINVAL;
		}
	}
	if (!*rest) {
		if (msg)
			*msg = xstrfmt("target '%s' names nothing after '%s:'", spec,
				    ops->name);
		return -EINVAL;
	}
	rc = ops->open(rest, p, out, &m);
	if (rc < 0) {
		if (msg)
			*msg = m ? m : xstrfmt("%s: %s", spec, strerror(-rc));
		else
			free(m);
		*out = NULL;
		return rc;
	}
	free(m);
	log_info(LC_TARGET, "opened %s", (*out)->description ?
		 (*out)->description : spec);
	return 0;
}

void target_close(struct target *t)
{
	if (!t)
		return;
	t->ops->close(t);
}

void target_init(struct target *t, const struct target_ops *ops)
{
	memset(t, 0, sizeof(*t));
	t->ops = ops;
	t->guest_bits = 64;
	t->maxphys = 52;
	t->map_batch = 16;
}

void target_set_error(struct target *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	free(t->last_error);
	t->last_error = xstrvfmt(fmt, ap);
	va_end(ap);
	log_dbg(LC_TARGET, "%s", t->last_error);
}

const char *target_strerror(const struct target *t)
{
	return t->last_error ? t->last_error : "no error recorded";
}

int target_map(struct target *t, uint64_t gfn, unsigned count, bool write,
	       void **ptrs, void **handle)
{
	if (!count)
		return 0;
	if (write && !(t->caps & TCAP_WRITE_MEM))
		return -EROFS;
	*handle = NULL;
	return t->ops->map(t, gfn, count, write, ptrs, handle);
}

void target_unmap(struct target *t, void *handle, unsigned count)
{
	if (t->ops->unmap && handle)
		t->ops->unmap(t, handle, count);
}

int target_get_regs(struct target *t, unsigned vcpu, struct x86_regs *r)
{
	memset(r, 0, sizeof(*r));
	if (vcpu >= t->nr_vcpus)
		return -ESRCH;
	return t->ops->get_regs(t, vcpu, r);
}

int target_set_regs(struct target *t, unsigned vcpu, const struct x86_regs *r)
{
	if (vcpu >= t->nr_vcpus)
		return -ESRCH;
	if (!t->ops->set_regs || !(t->caps & TCAP_WRITE_REGS))
		return -EROFS;
	return t->ops->set_regs(t, vcpu, r);
}

int target_pause(struct target *t)
{
	return t->ops->pause ? t->ops->pause(t) : -EOPNOTSUPP;
}

int target_unpause(struct target *t)
{
	return t->ops->unpause ? t->ops->unpause(t) : -EOPNOTSUPP;
}

int target_is_running(struct target *t)
{
	return t->ops->is_running ? t->ops->is_running(t) : 0;
}

/* ---- events ---- */

/* The event ops of t, or NULL with the reason when op is missing. */
#define EV_OP(t, op)                                                           \
	((t)->ops->ev && (t)->ops->ev->op ? (t)->ops->ev :                      \
	 missing_ev_op((t), #op))

static const struct target_event_ops *missing_ev_op(struct target *t,
						    const char *op)
{
	target_set_error(t, "%s has no '%s' event operation (no monitor events there)",
			 t->description ? t->description : t->ops->name, op);
	return NULL;
}

int target_ev_enable(struct target *t)
{
	const struct target_event_ops *ev = EV_OP(t, enable);

	return ev ? ev->enable(t) : -EOPNOTSUPP;
}

void target_ev_disable(struct target *t)
{
	if (t->ops->ev && t->ops->ev->disable)
		t->ops->ev->disable(t);
}

int target_ev_fd(struct target *t)
{
	return t->ops->ev && t->ops->ev->fd ? t->ops->ev->fd(t) : -1;
}

int target_ev_next(struct target *t, struct target_event *ev)
{
	const struct target_event_ops *e = EV_OP(t, next);

	return e ? e->next(t, ev) : -EOPNOTSUPP;
}

int target_ev_respond(struct target *t, const struct target_event *ev,
		      const struct target_response *r)
{
	const struct target_event_ops *e = EV_OP(t, respond);

	if (!e)
		return -EOPNOTSUPP;
	if (ev->vcpu >= t->nr_vcpus)
		return -EINVAL;
	return e->respond(t, ev, r);
}

int target_ev_monitor(struct target *t, enum target_monitor what, bool on)
{
	const struct target_event_ops *ev = EV_OP(t, monitor);

	return ev ? ev->monitor(t, what, on) : -EOPNOTSUPP;
}

int target_ev_singlestep(struct target *t, unsigned vcpu, bool on)
{
	const struct target_event_ops *ev = EV_OP(t, singlestep);

	if (!ev)
		return -EOPNOTSUPP;
	if (vcpu >= t->nr_vcpus)
		return -EINVAL;
	return ev->singlestep(t, vcpu, on);
}

int target_ev_inject(struct target *t, unsigned vcpu, unsigned vector,
		     unsigned type, uint32_t error_code, unsigned insn_len,
		     uint64_t cr2)
{
	const struct target_event_ops *ev = EV_OP(t, inject);

	if (!ev)
		return -EOPNOTSUPP;
	if (vcpu >= t->nr_vcpus)
		return -EINVAL;
	return ev->inject(t, vcpu, vector, type, error_code, insn_len, cr2);
}

int target_ev_status(struct target *t, struct target_status *st)
{
	const struct target_event_ops *ev = EV_OP(t, status);

	return ev ? ev->status(t, st) : -EOPNOTSUPP;
}

int target_ev_set_access(struct target *t, unsigned view, const uint64_t *gfns,
			 const uint8_t *access, unsigned n)
{
	const struct target_event_ops *ev = EV_OP(t, set_access);

	if (!ev)
		return -EOPNOTSUPP;
	if (!n)
		return 0;
	log_dbg(LC_TRAP, "access of %u frame%s from 0x%llx (view %u) set to %x%s",
		n, n == 1 ? "" : "s", (unsigned long long)gfns[0], view,
		access[0], n > 1 ? ", ..." : "");
	return ev->set_access(t, view, gfns, access, n);
}

int target_ev_get_access(struct target *t, unsigned view, uint64_t gfn,
			 uint8_t *access)
{
	const struct target_event_ops *ev = EV_OP(t, get_access);

	return ev ? ev->get_access(t, view, gfn, access) : -EOPNOTSUPP;
}

int target_ev_recover(struct target *t, struct journal_state *st)
{
	const struct target_event_ops *ev = EV_OP(t, recover);

	return ev ? ev->recover(t, st) : -EOPNOTSUPP;
}
