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
