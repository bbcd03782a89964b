/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The wire protocol between xensimd and its clients (the stand-in Xen
 * libraries and the control command): one unix stream socket per handle,
 * synchronous request/reply messages, file descriptors passed as
 * SCM_RIGHTS ancillary data.
 */
#ifndef XENSIM_PROTO_H
#define XENSIM_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define XSIM_MAGIC 0x4d495358u	/* "XSIM" */
#define XSIM_MAX_BODY (64u << 20)
#define XSIM_MAX_FDS 4
/* The environment variable naming the daemon's socket. */
#define XSIM_SOCKET_ENV "XENSIM_SOCKET"

/* What a connection stands for, given in XSIM_OP_HELLO. */
enum xsim_role {
	XSIM_ROLE_XC = 1,	/* libxenctrl (with its foreign memory) */
	XSIM_ROLE_EVTCHN,	/* libxenevtchn */
	XSIM_ROLE_FMEM,		/* libxenforeignmemory */
	XSIM_ROLE_DM,		/* libxendevicemodel */
	XSIM_ROLE_XS,		/* libxenstore */
	XSIM_ROLE_CTL,		/* the control command */
};

/*
 * Requests. The body of hypercall-shaped requests is the hypercall's own
 * argument structure from Xen's public headers, followed by the contents
 * of the buffers its guest handles point to (the handles themselves are
 * only tested for NULL by the daemon). Replies carry the structure back,
 * followed by the output buffer.
 */
enum xsim_op {
	XSIM_OP_HELLO = 1,	/* arg: role. Reply for EVTCHN: the event fd */
	XSIM_OP_DOMCTL,		/* body: struct xen_domctl + input buffer */
	XSIM_OP_SYSCTL,		/* body: struct xen_sysctl */
	XSIM_OP_MEMORY,		/* arg: XENMEM_*; body: its argument + lists */
	XSIM_OP_HVM,		/* arg: HVMOP_*; body: its argument + lists */
	XSIM_OP_DM,		/* arg: domid; body: struct xen_dm_op */
	XSIM_OP_VERSION,	/* arg: XENVER_*; reply body: the answer */
	XSIM_OP_MAP,		/* body: struct xsim_map_req + gfns */
	XSIM_OP_EVTCHN,		/* arg: enum xsim_evtchn_op */
	XSIM_OP_XS,		/* arg: enum xsim_xs_op; body: NUL-ended path */
	XSIM_OP_CTL,		/* body: a JSON request; reply: JSON */
};

struct xsim_hdr {
	uint32_t magic;
	uint32_t op;
	uint32_t arg;
	int32_t rc;		/* replies: >= 0 success, else -errno */
	uint32_t len;		/* bytes of body that follow */
	uint32_t nfds;		/* descriptors attached to this message */
};

/* XSIM_OP_MAP request; the reply body is int32_t err[n] then
 * uint64_t offset[n] (file offset of each frame in the attached
 * guest-memory descriptor, valid where err[i] == 0). */
struct xsim_map_req {
	uint32_t domid;
	uint32_t prot;		/* PROT_READ, PROT_WRITE */
	uint32_t count;
	uint32_t pad;
	/* uint64_t gfn[count] follows */
};

enum xsim_evtchn_op {
	XSIM_EVTCHN_BIND_INTERDOMAIN = 1, /* a: remote domid, b: remote port */
	XSIM_EVTCHN_UNBIND,		  /* a: local port */
	XSIM_EVTCHN_NOTIFY,		  /* a: local port */
	XSIM_EVTCHN_UNMASK,		  /* a: local port */
};

struct xsim_evtchn_req {
	uint32_t a;
	uint32_t b;
};

enum xsim_xs_op {
	XSIM_XS_READ = 1,	/* reply: the value (not NUL-terminated) */
	XSIM_XS_DIRECTORY,	/* reply: names, each NUL-terminated */
};

/*
 * Sends one message: header, body, descriptors. Returns 0 or -errno.
 */
int xsim_send(int fd, uint32_t op, uint32_t arg, int32_t rc,
	      const void *body, size_t len, const int *fds, unsigned nfds);

/*
 * Receives one message. *body is malloc'd (NUL-terminated, so JSON and
 * strings can be used in place) and owned by the caller; fds receives up
 * to XSIM_MAX_FDS descriptors, *nfds their number. Returns 0, -ECONNRESET
 * at end of stream, -EPROTO for a malformed message, or -errno.
 */
int xsim_recv(int fd, struct xsim_hdr *h, void **body, int *fds,
	      unsigned *nfds);

/* Reads or writes exactly len bytes, retrying on EINTR. 0 or -errno. */
int xsim_read_full(int fd, void *buf, size_t len);
int xsim_write_full(int fd, const void *buf, size_t len);

#endif
