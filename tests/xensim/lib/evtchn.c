// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libxenevtchn.so.1 for xensim: event channels between dom0 and a
 * simulated domain, with the semantics of Linux's evtchn driver that the
 * real library sits on (drivers/xen/evtchn.c): a pollable descriptor that
 * yields one port number per notification; a delivered port stays masked
 * until xenevtchn_unmask; ports of other handles give ENOTCONN.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <xenevtchn.h>

#include "stub/base/strbuf.h"
#include "tests/xensim/lib/client.h"

struct xenevtchn_handle {
	struct simconn c;
	int evfd;
};

SIM_EXPORT xenevtchn_handle *xenevtchn_open(struct xentoollog_logger *logger,
					    unsigned int flags)
{
	xenevtchn_handle *h = xcalloc(1, sizeof(*h));
	int rc;

	(void)logger;
	(void)flags;
	rc = simconn_open(&h->c, XSIM_ROLE_EVTCHN, "xenevtchn_open",
			  &h->evfd);
	if (!rc && h->evfd < 0) {
		simconn_close(&h->c);
		rc = -EIO;
	}
	if (rc) {
		free(h);
		errno = -rc;
		return NULL;
	}
	return h;
}

SIM_EXPORT xenevtchn_handle *xenevtchn_fdopen(struct xentoollog_logger *logger,
					      int fd, unsigned open_flags)
{
	(void)logger, (void)fd, (void)open_flags;
	sim_not_modelled("xenevtchn_fdopen");
	return NULL;
}

SIM_EXPORT int xenevtchn_close(xenevtchn_handle *xce)
{
	if (!xce)
		return 0;
	simconn_close(&xce->c);
	close(xce->evfd);
	free(xce);
	return 0;
}

SIM_EXPORT int xenevtchn_fd(xenevtchn_handle *xce)
{
	return xce->evfd;
}

static int evtchn_op(xenevtchn_handle *xce, const char *func, unsigned op,
		     uint32_t a, uint32_t b)
{
	struct xsim_evtchn_req r = { .a = a, .b = b };
	int rc = simconn_call(&xce->c, func, XSIM_OP_EVTCHN, op, &r, sizeof(r),
			      NULL, 0, NULL);

	return rc < 0 ? sim_errno(rc) : rc;
}

SIM_EXPORT int xenevtchn_notify(xenevtchn_handle *xce, evtchn_port_t port)
{
	return evtchn_op(xce, "xenevtchn_notify", XSIM_EVTCHN_NOTIFY, port, 0);
}

SIM_EXPORT xenevtchn_port_or_error_t
xenevtchn_bind_unbound_port(xenevtchn_handle *xce, uint32_t domid)
{
	(void)xce, (void)domid;
	sim_not_modelled("xenevtchn_bind_unbound_port");
	return -1;
}

SIM_EXPORT xenevtchn_port_or_error_t
xenevtchn_bind_interdomain(xenevtchn_handle *xce, uint32_t domid,
			   evtchn_port_t remote_port)
{
	return evtchn_op(xce, "xenevtchn_bind_interdomain",
			 XSIM_EVTCHN_BIND_INTERDOMAIN, domid, remote_port);
}

SIM_EXPORT xenevtchn_port_or_error_t
xenevtchn_bind_virq(xenevtchn_handle *xce, unsigned int virq)
{
	(void)xce, (void)virq;
	sim_not_modelled("xenevtchn_bind_virq");
	return -1;
}

SIM_EXPORT int xenevtchn_unbind(xenevtchn_handle *xce, evtchn_port_t port)
{
	return evtchn_op(xce, "xenevtchn_unbind", XSIM_EVTCHN_UNBIND, port, 0);
}

SIM_EXPORT xenevtchn_port_or_error_t xenevtchn_pending(xenevtchn_handle *xce)
{
	uint32_t port;
	int rc = xsim_read_full(xce->evfd, &port, sizeof(port));

	return rc ? sim_errno(rc) : (xenevtchn_port_or_error_t)port;
}

SIM_EXPORT int xenevtchn_unmask(xenevtchn_handle *xce, evtchn_port_t port)
{
	return evtchn_op(xce, "xenevtchn_unmask", XSIM_EVTCHN_UNMASK, port, 0);
}

SIM_EXPORT int xenevtchn_restrict(xenevtchn_handle *xce, domid_t domid)
{
	(void)xce, (void)domid;
	sim_not_modelled("xenevtchn_restrict");
	return -1;
}
