// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The connection every stand-in Xen library handle holds to xensimd, the
 * request/reply exchange, the loud failure of calls xensim does not
 * model, and foreign mappings as real shared mappings of the daemon's
 * guest-memory file.
 */
#include "tests/xensim/lib/client.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "stub/base/log.h"
#include "stub/base/strbuf.h"

#define PAGE 4096u

int sim_errno(int rc)
{
	errno = rc < 0 ? -rc : EIO;
	return -1;
}

void sim_not_modelled(const char *func)
{
	log_set_prefix("xensim");
	log_err(LC_TARGET, "%s: not modelled by xensim (ENOSYS)", func);
	errno = ENOSYS;
}

int simconn_open(struct simconn *c, enum xsim_role role, const char *who,
		 int *evfd)
{
	const char *path = getenv(XSIM_SOCKET_ENV);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct xsim_hdr h;
	void *body = NULL;
	int fds[XSIM_MAX_FDS];
	unsigned nfds = 0, i;
	int rc;

	log_set_prefix("xensim");
	c->fd = -1;
	if (!path || !*path) {
		log_err(LC_TARGET, "%s: %s is not set: the simulated Xen libraries need the socket of a running xensimd",
			who, XSIM_SOCKET_ENV);
		return -ENOENT;
	}
	if (strlen(path) >= sizeof(a.sun_path)) {
		log_err(LC_TARGET, "%s: %s=%s: path too long", who,
			XSIM_SOCKET_ENV, path);
		return -ENAMETOOLONG;
	}
	strcpy(a.sun_path, path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	if (connect(c->fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		rc = -errno;
		log_err(LC_TARGET, "%s: cannot reach xensimd at %s: %s", who,
			path, strerror(errno));
		goto out_close;
	}
	rc = xsim_send(c->fd, XSIM_OP_HELLO, role, 0, NULL, 0, NULL, 0);
	if (!rc)
		rc = xsim_recv(c->fd, &h, &body, fds, &nfds);
	if (!rc)
		rc = h.rc;
	free(body);
	if (rc)
		goto out_close_fds;
	if (evfd) {
		*evfd = nfds ? fds[0] : -1;
		if (nfds)
			nfds--, memmove(fds, fds + 1, nfds * sizeof(int));
	}
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	pthread_mutex_init(&c->lock, NULL);
	return 0;

out_close_fds:
	for (i = 0; i < nfds; i++)
		close(fds[i]);
out_close:
	close(c->fd);
	c->fd = -1;
	return rc;
}

void simconn_close(struct simconn *c)
{
	if (c->fd >= 0) {
		close(c->fd);
		pthread_mutex_destroy(&c->lock);
	}
	c->fd = -1;
}

void simreply_free(struct simreply *r)
{
	free(r->body);
	r->body = NULL;
	r->len = 0;
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
}

int simconn_call(struct simconn *c, const char *func, uint32_t op,
		 uint32_t arg, const void *b1, size_t l1, const void *b2,
		 size_t l2, struct simreply *r)
{
	struct xsim_hdr h;
	void *body = NULL;
	int fds[XSIM_MAX_FDS];
	unsigned nfds = 0, i;
	uint8_t *msg = NULL;
	int rc;

	if (r) {
		r->body = NULL;
		r->len = 0;
		r->fd = -1;
	}
	if (c->fd < 0)
		return -EBADF;
	if (l2) {
		msg = xmalloc(l1 + l2);
		if (l1)
			memcpy(msg, b1, l1);
		memcpy(msg + l1, b2, l2);
		b1 = msg;
		l1 += l2;
	}
	pthread_mutex_lock(&c->lock);
	rc = xsim_send(c->fd, op, arg, 0, b1, l1, NULL, 0);
	if (!rc)
		rc = xsim_recv(c->fd, &h, &body, fds, &nfds);
	pthread_mutex_unlock(&c->lock);
	free(msg);
	if (rc) {
		log_err(LC_TARGET, "%s: lost xensimd: %s", func, strerror(-rc));
		return rc;
	}
	if (h.arg)
		log_err(LC_TARGET, "%s: not modelled by xensim (the daemon's log says what); failing with ENOSYS",
			func);
	if (r) {
		r->body = body;
		r->len = h.len;
		if (nfds)
			r->fd = fds[0];
		for (i = 1; i < nfds; i++)
			close(fds[i]);
	} else {
		free(body);
		for (i = 0; i < nfds; i++)
			close(fds[i]);
	}
	return h.rc;
}

void *sim_map_frames(struct simconn *c, const char *func, uint32_t dom,
		     void *addr, int prot, int flags, size_t num,
		     const uint64_t *gfns, int *err)
{
	struct xsim_map_req req = {
		.domid = dom, .prot = (uint32_t)prot, .count = (uint32_t)num,
	};
	struct simreply r;
	const int32_t *e;
	const uint64_t *off;
	uint8_t *base;
	size_t i, j;
	int rc;

	if (!num || num > (64u << 20) / sizeof(uint64_t)) {
		errno = EINVAL;
		return NULL;
	}
	rc = simconn_call(c, func, XSIM_OP_MAP, 0, &req, sizeof(req), gfns,
			  num * sizeof(uint64_t), &r);
	if (rc < 0) {
		sim_errno(rc);
		return NULL;
	}
	if (r.len < num * (sizeof(int32_t) + sizeof(uint64_t))) {
		simreply_free(&r);
		errno = EIO;
		return NULL;
	}
	e = r.body;
	off = (const uint64_t *)((const uint8_t *)r.body + num * sizeof(int32_t));
	base = mmap(addr, num * PAGE, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS |
		    (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)), -1, 0);
	if (base == MAP_FAILED) {
		simreply_free(&r);
		return NULL;
	}
	for (i = 0; i < num; i = j) {
		int32_t e0;
		uint64_t o0;

		memcpy(&e0, &e[i], sizeof(e0));
		err[i] = e0;
		j = i + 1;
		if (e0)
			continue;
		/* Runs of frames that sit one after another in the file
		 * become one mapping. */
		while (j < num) {
			int32_t ej;
			uint64_t oa, ob;

			memcpy(&ej, &e[j], sizeof(ej));
			memcpy(&oa, &off[j - 1], sizeof(oa));
			memcpy(&ob, &off[j], sizeof(ob));
			if (ej || ob != oa + PAGE)
				break;
			err[j] = 0;
			j++;
		}
		memcpy(&o0, &off[i], sizeof(o0));
		if (r.fd < 0 ||
		    mmap(base + i * PAGE, (j - i) * PAGE, prot,
			 MAP_SHARED | MAP_FIXED, r.fd,
			 (off_t)o0) == MAP_FAILED) {
			int saved = r.fd < 0 ? EIO : errno;

			munmap(base, num * PAGE);
			simreply_free(&r);
			errno = saved;
			return NULL;
		}
	}
	simreply_free(&r);
	return base;
}

int sim_dm_op(struct simconn *c, const char *func, uint32_t domid, void *op,
	      size_t size)
{
	struct simreply r;
	int rc = simconn_call(c, func, XSIM_OP_DM, domid, op, size, NULL, 0,
			      &r);

	if (rc >= 0 && r.len >= size)
		memcpy(op, r.body, size);
	simreply_free(&r);
	return rc < 0 ? sim_errno(rc) : 0;
}
