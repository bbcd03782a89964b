// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * gdb's agent features: the console text of agent dprintf, as "O" packets
 * before the stop reply, never waiting on a connection that cannot take
 * it; and the tracepoint packets, handed to the session (or, when
 * tracepoints are off, a word on why tstart fails).
 */
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "stub/gdb/server.h"

int gdb_agent_output(struct server *sv)
{
	struct strbuf text = STRBUF_INIT;
	struct pollfd pfd = { sv->fd_out, POLLOUT, 0 };
	int rc = 0;

	if (!sv->waiting)
		return 0;	/* gdb would take an "O" as a reply */
	if (poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLOUT) &&
	    session_take_output(sv->s, &text))
		rc = server_console(sv, text.buf);
	strbuf_release(&text);
	return rc;
}

int gdb_trace(struct server *sv, const char *pkt, size_t len)
{
	(void)len;
	if (pkt[1] != 'T' || (pkt[0] != 'Q' && pkt[0] != 'q') ||
	    !strncmp(pkt + 1, "Thread", 6))
		return -1;	/* qThreadExtraInfo, QThreadSuffixSupported... */
	if (session_trace_packet(sv->s, sv->g_tid, pkt, &sv->reply) < 0) {
		strbuf_reset(&sv->reply); /* not offered: the empty reply */
		/* tstart: gdb shows console text that comes before the reply,
		 * then "Target does not support this command." */
		if (!strcmp(pkt, "QTinit") && !session_offers_tracepoints(sv->s))
			server_console(sv, "xenstub: tracepoints are off: they need a live guest "
				       "and xenstub started with --tracepoints\n");
	}
	return H_REPLY;
}
