// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libxenstore.so.4 for xensim: read-only access to the part of xenstore a
 * debugger reads (/local/domain/ID/name and domid, the list of domains),
 * with the real library's allocation rules (one malloc'd block for a
 * directory listing, a NUL-terminated value for a read).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xenstore.h>

#include "stub/base/strbuf.h"
#include "tests/xensim/lib/client.h"

struct xs_handle {
	struct simconn c;
};

SIM_EXPORT struct xs_handle *xs_open(unsigned long flags)
{
	struct xs_handle *h = xcalloc(1, sizeof(*h));
	int rc;

	(void)flags;
	rc = simconn_open(&h->c, XSIM_ROLE_XS, "xs_open", NULL);
	if (rc) {
		free(h);
		errno = -rc;
		return NULL;
	}
	return h;
}

SIM_EXPORT void xs_close(struct xs_handle *xsh)
{
	if (!xsh)
		return;
	simconn_close(&xsh->c);
	free(xsh);
}

SIM_EXPORT struct xs_handle *xs_daemon_open(void)
{
	return xs_open(0);
}

SIM_EXPORT struct xs_handle *xs_domain_open(void)
{
	return xs_open(0);
}

SIM_EXPORT struct xs_handle *xs_daemon_open_readonly(void)
{
	return xs_open(0);
}

SIM_EXPORT void xs_daemon_close(struct xs_handle *h)
{
	xs_close(h);
}

static int xs_call(struct xs_handle *h, const char *func, unsigned op,
		   xs_transaction_t t, const char *path, struct simreply *r)
{
	int rc;

	if (t != XBT_NULL) {
		sim_not_modelled("xenstore transactions");
		return -1;
	}
	rc = simconn_call(&h->c, func, XSIM_OP_XS, op, path, strlen(path) + 1,
			  NULL, 0, r);
	return rc < 0 ? sim_errno(rc) : 0;
}

SIM_EXPORT void *xs_read(struct xs_handle *h, xs_transaction_t t,
			 const char *path, unsigned int *len)
{
	struct simreply r;
	char *v;

	if (xs_call(h, "xs_read", XSIM_XS_READ, t, path, &r))
		return NULL;
	v = xmalloc(r.len + 1);
	memcpy(v, r.body ? r.body : "", r.len);
	v[r.len] = 0;
	if (len)
		*len = (unsigned int)r.len;
	simreply_free(&r);
	return v;
}

SIM_EXPORT char **xs_directory(struct xs_handle *h, xs_transaction_t t,
			       const char *path, unsigned int *num)
{
	struct simreply r;
	unsigned n = 0, i;
	size_t off;
	char **list, *strings;

	if (xs_call(h, "xs_directory", XSIM_XS_DIRECTORY, t, path, &r))
		return NULL;
	for (off = 0; off < r.len; off += strlen((char *)r.body + off) + 1)
		n++;
	/* One block: the pointer array, then the strings. */
	list = xmalloc(n * sizeof(char *) + r.len + 1);
	strings = (char *)(list + n);
	memcpy(strings, r.body ? r.body : "", r.len);
	strings[r.len] = 0;
	for (i = 0, off = 0; i < n; i++) {
		list[i] = strings + off;
		off += strlen(strings + off) + 1;
	}
	*num = n;
	simreply_free(&r);
	return list;
}

SIM_EXPORT char *xs_get_domain_path(struct xs_handle *h, unsigned int domid)
{
	(void)h;
	return xstrfmt("/local/domain/%u", domid);
}
