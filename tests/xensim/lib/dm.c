// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libxendevicemodel.so.1 for xensim: the device-model operations a
 * debugger uses (inject_event, nr_vcpus), as tools/libs/devicemodel/core.c
 * builds them; every other call fails loudly (dm-stubs.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#define __XEN_TOOLS__ 1
#include <xendevicemodel.h>
#include <xen/hvm/dm_op.h>

#include "stub/base/strbuf.h"
#include "tests/xensim/lib/client.h"

struct xendevicemodel_handle {
	struct simconn c;
};

SIM_EXPORT xendevicemodel_handle *
xendevicemodel_open(struct xentoollog_logger *logger, unsigned int open_flags)
{
	xendevicemodel_handle *h = xcalloc(1, sizeof(*h));
	int rc;

	(void)logger;
	(void)open_flags;
	rc = simconn_open(&h->c, XSIM_ROLE_DM, "xendevicemodel_open", NULL);
	if (rc) {
		free(h);
		errno = -rc;
		return NULL;
	}
	return h;
}

SIM_EXPORT int xendevicemodel_close(xendevicemodel_handle *dmod)
{
	if (!dmod)
		return 0;
	simconn_close(&dmod->c);
	free(dmod);
	return 0;
}

SIM_EXPORT int xendevicemodel_inject_event(
	xendevicemodel_handle *dmod, domid_t domid, int vcpu, uint8_t vector,
	uint8_t type, uint32_t error_code, uint8_t insn_len, uint64_t extra)
{
	struct xen_dm_op op;

	memset(&op, 0, sizeof(op));
	op.op = XEN_DMOP_inject_event;
	op.u.inject_event.vcpuid = (uint32_t)vcpu;
	op.u.inject_event.vector = vector;
	op.u.inject_event.type = type;
	op.u.inject_event.error_code = error_code;
	op.u.inject_event.insn_len = insn_len;
	op.u.inject_event.cr2 = extra;
	return sim_dm_op(&dmod->c, "xendevicemodel_inject_event", domid, &op,
			 sizeof(op));
}

SIM_EXPORT int xendevicemodel_nr_vcpus(xendevicemodel_handle *dmod,
				       domid_t domid, unsigned int *vcpus)
{
	struct xen_dm_op op = { .op = XEN_DMOP_nr_vcpus };

	if (sim_dm_op(&dmod->c, "xendevicemodel_nr_vcpus", domid, &op,
		      sizeof(op)))
		return -1;
	*vcpus = op.u.nr_vcpus.vcpus;
	return 0;
}
