// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * OS-awareness registry and detection: tries each module in turn (or the
 * one the user named) and collects why each one did not match.
 */
#include "os-awareness/os.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "stub/base/log.h"

int os_detect(const char *which, const struct os_env *env, struct os **out,
	      struct strbuf *why)
{
	size_t i;
	bool any = false;

	*out = NULL;
	if (!strcmp(which, "none"))
		return 0;
	for (i = 0; os_types[i]; i++) {
		const struct os_ops *ops = os_types[i];
		struct strbuf reason = STRBUF_INIT;
		int rc;

		if (strcmp(which, "auto") && strcmp(which, ops->name))
			continue;
		any = true;
		rc = ops->detect(env, out, &reason);
		if (rc > 0) {
			(*out)->ops = ops;
			strbuf_release(&reason);
			return 1;
		}
		if (reason.len)
			strbuf_addf(why, "%s%s: %s", why->len ? "\n" : "",
				    ops->name, reason.buf);
		strbuf_release(&reason);
		if (rc < 0 && rc != -ENOENT)
			log_dbg(LC_OS, "%s detection failed: %s", ops->name,
				strerror(-rc));
	}
	if (!any && strcmp(which, "auto")) {
		strbuf_addf(why, "no OS-awareness module named '%s'", which);
		return -EINVAL;
	}
	return 0;
}

void os_free(struct os *os)
{
	if (os)
		os->ops->free(os);
}

const char *os_name(const struct os *os)
{
	return os->ops->name;
}

int os_refresh(struct os *os)
{
	return os->ops->refresh(os);
}

int os_task_regs(struct os *os, const struct os_task *t, struct x86_regs *r)
{
	memset(r, 0, sizeof(*r));
	return os->ops->task_regs(os, t, r);
}

int os_task_aspace(struct os *os, const struct os_task *t, struct aspace *as,
		   struct strbuf *why)
{
	return os->ops->task_aspace(os, t, as, why);
}

void os_describe(struct os *os, struct strbuf *out)
{
	os->ops->describe(os, out);
}

void os_ps(struct os *os, struct strbuf *out)
{
	os->ops->ps(os, out);
}

int os_lookup_symbol(struct os *os, const char *name, uint64_t *addr)
{
	return os->ops->lookup_symbol(os, name, addr);
}

void os_processes(struct os *os, os_process_fn row, void *ctx)
{
	size_t i;

	if (os->ops->processes) {
		os->ops->processes(os, row, ctx);
		return;
	}
	for (i = 0; i < os->ntasks; i++) {
		const struct os_task *t = &os->tasks[i];
		char cores[16] = "";

		if (t->thread_id != t->pid || t->is_idle)
			continue;
		if (t->vcpu >= 0)
			snprintf(cores, sizeof(cores), "%d", t->vcpu);
		row(ctx, t->pid, "", t->proc_name[0] ? t->proc_name : t->name,
		    cores);
	}
}

int os_command(struct os *os, const char *cmd, const char *args,
	       struct strbuf *out)
{
	return os->ops->command ? os->ops->command(os, cmd, args, out) : -ENOENT;
}

const char *os_command_help(const struct os *os)
{
	return os->ops->command_help ? os->ops->command_help : "";
}

int os_image_offsets(struct os *os, struct strbuf *reply)
{
	return os->ops->image_offsets ? os->ops->image_offsets(os, reply) : -ENOENT;
}

extern const struct os_ops os_linux;
extern const struct os_ops os_windows;

const struct os_ops *const os_types[] = {
	&os_linux,
	&os_windows,
	NULL,
};

const char *os_command_of(const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; n && os_types[i]; i++) {
		const char *h = os_types[i]->command_help;

		/* lines of "  NAME ARGS   what it does" */
		while (h && *h) {
			const char *w = h + strspn(h, " ");

			if (!strncmp(w, name, n) && (w[n] == ' ' || w[n] == '\n'))
				return os_types[i]->name;
			h = strchr(h, '\n');
			h = h ? h + 1 : NULL;
		}
	}
	return NULL;
}
