/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Debuggers that connect while another one is attached: each is answered
 * at once, without blocking the session being served, with a one-line
 * "E.<reason>" reply to its first packets, then the connection is closed.
 */
#ifndef XENSTUB_REFUSE_H
#define XENSTUB_REFUSE_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#define REFUSALS_MAX 4

struct refusal {
	int fd;
	int stage;		/* waiting for its first packet, answering
				 * its packets, or closing */
	int64_t deadline_ms;	/* CLOCK_MONOTONIC */
	unsigned answers;	/* replies sent */
};

struct refusals {
	struct refusal r[REFUSALS_MAX];
	size_t n;
	char why[256];		/* the reply's text, after "E." */
};

void refusals_init(struct refusals *rf);
/*
 * Takes ownership of fd (a connected socket): its first packet (or, after
 * a few seconds, nothing) gets "E." followed by rf->why (as it is then),
 * and so do the packets that follow within a second and a half (eight
 * at most); then fd is closed. The oldest pending refusal is finished at once when
 * all slots are taken.
 */
void refusals_add(struct refusals *rf, int fd);
/* Appends one pollfd per pending refusal to pfd[0..max) and returns how
 * many; lowers *timeout_ms (-1: none) to the nearest deadline. */
size_t refusals_pollfds(const struct refusals *rf, struct pollfd *pfd,
			size_t max, int *timeout_ms);
/* Acts on the revents of the n pollfds refusals_pollfds() gave, and on
 * deadlines that passed. */
void refusals_handle(struct refusals *rf, const struct pollfd *pfd, size_t n);
/* Answers and closes every pending one. */
void refusals_release(struct refusals *rf);

#endif
