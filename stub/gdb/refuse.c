// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Refusing debuggers that connect while another one is attached: a
 * nonblocking state machine per connection, driven by the event loop.
 * gdb shows the reply as "Remote failure reply: E.<reason>".
 */
#include "stub/gdb/refuse.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "stub/gdb/rsp.h"

enum { STAGE_WAIT_PACKET, STAGE_ANSWERING, STAGE_CLOSING };

/*
 * How long a refused client has to send its first packet; how long, and
 * how many of, its next packets get the same reply (gdb shows the reply
 * to qSupported as a warning and stops at the one to its next packet;
 * LLDB goes on with its handshake); then how long it has to close its end.
 */
#define FIRST_PACKET_MS 3000
#define ANSWERING_MS 1500
#define ANSWERS_MAX 8
#define CLOSING_MS 2000

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int write_some(void *ctx, const void *buf, size_t len)
{
	int fd = *(int *)ctx;
	ssize_t n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);

	/* a reply of a few dozen bytes into an empty socket buffer */
	return n == (ssize_t)len ? 0 : -EAGAIN;
}

/* The client's packet acknowledged, and the reply. */
static void answer(struct refusal *x, const char *why)
{
	struct strbuf msg = STRBUF_INIT;
	struct rsp r;

	rsp_init(&r, write_some, &x->fd, 64);
	strbuf_addstr(&msg, "E.");
	strbuf_addstr(&msg, why);
	if (!write_some(&x->fd, "+", 1))
		rsp_send(&r, msg.buf, msg.len);
	rsp_release(&r);
	strbuf_release(&msg);
	if (x->stage == STAGE_WAIT_PACKET) {
		x->stage = STAGE_ANSWERING;
		x->deadline_ms = now_ms() + ANSWERING_MS;
	}
	x->answers++;
}

/* Our end closed for writing: the client reads the replies and EOF; its
 * further bytes are read and dropped until it closes, so that closing
 * ours never resets the connection under the replies. */
static void close_write(struct refusal *x)
{
	shutdown(x->fd, SHUT_WR);
	x->stage = STAGE_CLOSING;
	x->deadline_ms = now_ms() + CLOSING_MS;
}

static void drop(struct refusals *rf, size_t i)
{
	close(rf->r[i].fd);
	rf->r[i] = rf->r[--rf->n];
}

void refusals_init(struct refusals *rf)
{
	memset(rf, 0, sizeof(*rf));
}

void refusals_add(struct refusals *rf, int fd)
{
	struct refusal *x;

	if (rf->n == REFUSALS_MAX) {
		/* the oldest one gets its answer now */
		if (rf->r[0].stage == STAGE_WAIT_PACKET)
			answer(&rf->r[0], rf->why);
		shutdown(rf->r[0].fd, SHUT_WR);
		drop(rf, 0);
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	x = &rf->r[rf->n++];
	memset(x, 0, sizeof(*x));
	x->fd = fd;
	x->stage = STAGE_WAIT_PACKET;
	x->deadline_ms = now_ms() + FIRST_PACKET_MS;
}

size_t refusals_pollfds(const struct refusals *rf, struct pollfd *pfd,
			size_t max, int *timeout_ms)
{
	int64_t now = now_ms();
	size_t i;

	for (i = 0; i < rf->n && i < max; i++) {
		int64_t left = rf->r[i].deadline_ms - now;

		if (left < 0)
			left = 0;
		if (*timeout_ms < 0 || left < *timeout_ms)
			*timeout_ms = (int)left;
		pfd[i] = (struct pollfd){ rf->r[i].fd, POLLIN, 0 };
	}
	return i;
}

void refusals_handle(struct refusals *rf, const struct pollfd *pfd, size_t n)
{
	int64_t now = now_ms();
	size_t i;

	/* pfd[i] is r[i]: walk down so that dropping one moves none not
	 * yet seen */
	for (i = n < rf->n ? n : rf->n; i-- > 0;) {
		struct refusal *x = &rf->r[i];
		bool eof = false;

		if (pfd[i].fd == x->fd && pfd[i].revents) {
			char buf[512];
			ssize_t got = read(x->fd, buf, sizeof(buf));

			if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
				eof = true;
			} else if (x->stage != STAGE_CLOSING) {
				/* one reply per packet's end */
				const char *p = buf, *end = buf + (got > 0 ? got : 0);

				while ((p = memchr(p, '#', (size_t)(end - p))) &&
				       x->answers < ANSWERS_MAX) {
					answer(x, rf->why);
					p++;
				}
				if (x->answers >= ANSWERS_MAX)
					close_write(x);
			}
		}
		if (eof) {
			drop(rf, i);
			continue;
		}
		if (now >= x->deadline_ms) {
			if (x->stage == STAGE_CLOSING) {
				drop(rf, i);
				continue;
			}
			/* a client that never sent a packet gets the reply all
			 * the same */
			if (x->stage == STAGE_WAIT_PACKET)
				answer(x, rf->why);
			close_write(x);
		}
	}
}

void refusals_release(struct refusals *rf)
{
	while (rf->n) {
		if (rf->r[0].stage == STAGE_WAIT_PACKET)
			answer(&rf->r[0], rf->why);
		shutdown(rf->r[0].fd, SHUT_WR);
		drop(rf, 0);
	}
}
