/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libxenctrl for xensim, internal: the handle and the hypercall helpers
 * the domain, monitor, mem_access and altp2m calls share. The helpers
 * behave like libxc's do_domctl/xc_memory_op: -1 with errno on failure.
 */
#ifndef XENSIM_LIB_XC_INTERNAL_H
#define XENSIM_LIB_XC_INTERNAL_H

#define XC_WANT_COMPAT_MAP_FOREIGN_API 1
#define XC_WANT_COMPAT_DEVICEMODEL_API 1
#include <xenctrl.h>

#include "tests/xensim/lib/client.h"

/* xenctrl.h's set_xen_guest_handle expects hypercall buffers; the
 * daemon only tests a handle for NULL, so the pointer itself is kept. */
#define sim_set_handle(hnd, val)                                             \
	do {                                                                 \
		(hnd).p = (val);                                             \
	} while (0)

struct xc_interface_core {
	struct simconn c;
	xc_error last_error;
};

/*
 * A domctl: in (inlen bytes) follows the structure; the reply's buffer is
 * copied to out (at most outlen bytes, the number in *got when got is
 * not NULL). dc is updated from the reply. 0, or -1 with errno.
 */
int xc_sim_domctl(xc_interface *xch, const char *func, struct xen_domctl *dc,
		  const void *in, size_t inlen, void *out, size_t outlen,
		  size_t *got);
/* memory_op / hvm_op: arg (size bytes) is updated from the reply; lists
 * follow it in the request. Returns the hypercall's value or -1. */
long xc_sim_memop(xc_interface *xch, const char *func, unsigned cmd,
		  void *arg, size_t size, const void *lists, size_t llen);
long xc_sim_hvmop(xc_interface *xch, const char *func, unsigned cmd,
		  void *arg, size_t size, const void *lists, size_t llen);

/* Not declared by xenctrl.h, exported by Debian's libxenctrl. */
int xc_vm_event_control(xc_interface *xch, uint32_t domain_id,
			unsigned int op, unsigned int mode, uint32_t *port);
void *xc_vm_event_enable(xc_interface *xch, uint32_t domain_id, int param,
			 uint32_t *port);

#endif
