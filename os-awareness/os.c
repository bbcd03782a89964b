// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * OS-awareness registry and detection: tries each module in turn (or the
 * one the user named) and collects why each one did not match.
 */
#include "os-awareness/os.h"

#include <errno.h>
#include <string.h>

#include "stub/log.h"

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
