/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the stand-in Xen libraries share: a connection to xensimd per
 * library handle, one synchronous request at a time (a mutex makes a
 * handle usable from several threads, as Xen's are), and the rule that a
 * call xensim does not model fails loudly.
 *
 * Conventions follow Xen's libraries: functions that fail return -1 (or
 * NULL) with errno set, unless their header says otherwise.
 */
#ifndef XENSIM_LIB_CLIENT_H
#define XENSIM_LIB_CLIENT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "tests/xensim/proto.h"

#define SIM_EXPORT __attribute__((visibility("default")))

struct simconn {
	int fd;
	pthread_mutex_t lock;
};

struct simreply {
	void *body;		/* malloc'd, NUL-terminated; may be NULL */
	size_t len;
	int fd;			/* a descriptor that came with it, or -1 */
};

/*
 * Connects to the daemon named by XENSIM_SOCKET and introduces the
 * handle. who names the calling function for messages. For an event
 * channel handle, *evfd receives the event descriptor. 0 or -errno.
 */
int simconn_open(struct simconn *c, enum xsim_role role, const char *who,
		 int *evfd);
void simconn_close(struct simconn *c);

/*
 * One request with a body made of two parts (either may be empty).
 * Returns the daemon's result (>= 0, or -errno); a reply body and
 * descriptor go to *r when r is not NULL (release with simreply_free).
 * When the daemon does not model the request, says so on stderr naming
 * func. Transport failures give -errno too.
 */
int simconn_call(struct simconn *c, const char *func, uint32_t op,
		 uint32_t arg, const void *b1, size_t l1, const void *b2,
		 size_t l2, struct simreply *r);
void simreply_free(struct simreply *r);

/* Sets errno from a negative result; returns -1. */
int sim_errno(int rc);

/* For exported functions xensim does not model: says so on stderr,
 * sets errno to ENOSYS. */
void sim_not_modelled(const char *func);

/* A dm_op on domid (op is a struct xen_dm_op of size bytes, updated
 * from the reply). 0, or -1 with errno. */
int sim_dm_op(struct simconn *c, const char *func, uint32_t domid, void *op,
	      size_t size);

/* Maps foreign frames through a connection: the shared part of
 * xenforeignmemory_map2 and libxenctrl's own mapping calls. */
void *sim_map_frames(struct simconn *c, const char *func, uint32_t dom,
		     void *addr, int prot, int flags, size_t num,
		     const uint64_t *gfns, int *err);

#endif
