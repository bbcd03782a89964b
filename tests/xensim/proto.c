// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Message framing of the xensim protocol: a fixed header, a body, and
 * descriptors as SCM_RIGHTS. Shared by the daemon, the stand-in Xen
 * libraries and the control command.
 */
#include "tests/xensim/proto.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

int xsim_read_full(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ECONNRESET;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int xsim_write_full(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int xsim_send(int fd, uint32_t op, uint32_t arg, int32_t rc,
	      const void *body, size_t len, const int *fds, unsigned nfds)
{
	struct xsim_hdr h = {
		.magic = XSIM_MAGIC, .op = op, .arg = arg, .rc = rc,
		.len = (uint32_t)len, .nfds = nfds,
	};
	union {
		struct cmsghdr c;
		char buf[CMSG_SPACE(sizeof(int) * XSIM_MAX_FDS)];
	} cm;
	struct iovec iov = { .iov_base = &h, .iov_len = sizeof(h) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (len > XSIM_MAX_BODY || nfds > XSIM_MAX_FDS)
		return -EMSGSIZE;
	if (nfds) {
		memset(&cm, 0, sizeof(cm));
		msg.msg_control = cm.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cm.c.cmsg_level = SOL_SOCKET;
		cm.c.cmsg_type = SCM_RIGHTS;
		cm.c.cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(&cm.c), fds, sizeof(int) * nfds);
	}
	do
		n = sendmsg(fd, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if ((size_t)n < sizeof(h)) {
		int rc = xsim_write_full(fd, (uint8_t *)&h + n,
					 sizeof(h) - (size_t)n);
		if (rc)
			return rc;
	}
	return len ? xsim_write_full(fd, body, len) : 0;
}

int xsim_recv(int fd, struct xsim_hdr *h, void **body, int *fds,
	      unsigned *nfds)
{
	union {
		struct cmsghdr c;
		char buf[CMSG_SPACE(sizeof(int) * XSIM_MAX_FDS)];
	} cm;
	struct iovec iov = { .iov_base = h, .iov_len = sizeof(*h) };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cm.buf, .msg_controllen = sizeof(cm.buf),
	};
	struct cmsghdr *c;
	uint8_t *b;
	ssize_t n;
	int rc;

	*body = NULL;
	*nfds = 0;
	do
		n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ECONNRESET;
	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			unsigned k = (unsigned)((c->cmsg_len - CMSG_LEN(0)) /
						sizeof(int));
			unsigned i;

			for (i = 0; i < k; i++) {
				int d;

				memcpy(&d, CMSG_DATA(c) + i * sizeof(int),
				       sizeof(int));
				if (*nfds < XSIM_MAX_FDS)
					fds[(*nfds)++] = d;
				else
					close(d);
			}
		}
	}
	if ((size_t)n < sizeof(*h)) {
		rc = xsim_read_full(fd, (uint8_t *)h + n,
				    sizeof(*h) - (size_t)n);
		if (rc)
			goto out_close_fds;
	}
	rc = -EPROTO;
	if (h->magic != XSIM_MAGIC || h->len > XSIM_MAX_BODY)
		goto out_close_fds;
	b = malloc((size_t)h->len + 1);
	if (!b) {
		rc = -ENOMEM;
		goto out_close_fds;
	}
	rc = xsim_read_full(fd, b, h->len);
	if (rc) {
		free(b);
		goto out_close_fds;
	}
	b[h->len] = 0;
	*body = b;
	return 0;

out_close_fds:
	while (*nfds)
		close(fds[--*nfds]);
	return rc;
}
