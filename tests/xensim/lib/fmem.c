// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libxenforeignmemory.so.1 for xensim: foreign mappings of a simulated
 * domain's frames (tools/libs/foreignmemory/core.c semantics: per-frame
 * errors in err[] as negative errno values, all-or-nothing when err is
 * NULL). Resource mappings are not modelled.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <xenforeignmemory.h>

#include "stub/base/strbuf.h"
#include "tests/xensim/lib/client.h"

struct xenforeignmemory_handle {
	struct simconn c;
};

SIM_EXPORT xenforeignmemory_handle *
xenforeignmemory_open(struct xentoollog_logger *logger, unsigned open_flags)
{
	xenforeignmemory_handle *h = xcalloc(1, sizeof(*h));
	int rc;

	(void)logger;
	(void)open_flags;
	rc = simconn_open(&h->c, XSIM_ROLE_FMEM, "xenforeignmemory_open",
			  NULL);
	if (rc) {
		free(h);
		errno = -rc;
		return NULL;
	}
	return h;
}

SIM_EXPORT int xenforeignmemory_close(xenforeignmemory_handle *fmem)
{
	if (!fmem)
		return 0;
	simconn_close(&fmem->c);
	free(fmem);
	return 0;
}

SIM_EXPORT void *xenforeignmemory_map2(xenforeignmemory_handle *fmem,
				       uint32_t dom, void *addr, int prot,
				       int flags, size_t pages,
				       const xen_pfn_t arr[], int err[])
{
	int *own = NULL;
	void *p;
	size_t i;

	if (!err)
		err = own = xcalloc(pages ? pages : 1, sizeof(int));
	p = sim_map_frames(&fmem->c, "xenforeignmemory_map2", dom, addr, prot,
			   flags, pages, (const uint64_t *)arr, err);
	if (p && own) {
		for (i = 0; i < pages; i++) {
			if (err[i]) {
				munmap(p, pages * 4096);
				p = NULL;
				errno = -err[i];
				break;
			}
		}
	}
	free(own);
	return p;
}

SIM_EXPORT void *xenforeignmemory_map(xenforeignmemory_handle *fmem,
				      uint32_t dom, int prot, size_t pages,
				      const xen_pfn_t arr[], int err[])
{
	return xenforeignmemory_map2(fmem, dom, NULL, prot, 0, pages, arr, err);
}

SIM_EXPORT int xenforeignmemory_unmap(xenforeignmemory_handle *fmem,
				      void *addr, size_t pages)
{
	(void)fmem;
	return munmap(addr, pages * 4096);
}

SIM_EXPORT int xenforeignmemory_restrict(xenforeignmemory_handle *fmem,
					 domid_t domid)
{
	(void)fmem;
	(void)domid;
	sim_not_modelled("xenforeignmemory_restrict");
	return -1;
}

SIM_EXPORT xenforeignmemory_resource_handle *xenforeignmemory_map_resource(
	xenforeignmemory_handle *fmem, domid_t domid, unsigned int type,
	unsigned int id, unsigned long frame, unsigned long nr_frames,
	void **paddr, int prot, int flags)
{
	(void)fmem, (void)domid, (void)type, (void)id, (void)frame;
	(void)nr_frames, (void)paddr, (void)prot, (void)flags;
	sim_not_modelled("xenforeignmemory_map_resource");
	return NULL;
}

SIM_EXPORT int xenforeignmemory_unmap_resource(
	xenforeignmemory_handle *fmem, xenforeignmemory_resource_handle *fres)
{
	(void)fmem, (void)fres;
	sim_not_modelled("xenforeignmemory_unmap_resource");
	return -1;
}

SIM_EXPORT int xenforeignmemory_resource_size(
	xenforeignmemory_handle *fmem, domid_t domid, unsigned int type,
	unsigned int id, size_t *size)
{
	(void)fmem, (void)domid, (void)type, (void)id, (void)size;
	sim_not_modelled("xenforeignmemory_resource_size");
	return -1;
}
