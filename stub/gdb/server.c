// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Front-end core: the dispatch table from packet letters to handlers,
 * replies, thread-id parsing, qXfer windows, console output, and stop
 * replies. Handlers for each packet family are in gdb-*.c.
 */
#include "stub/gdb/server.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stub/base/log.h"

struct dispatch {
	char letter;
	int (*fn)(struct server *sv, const char *pkt, size_t len);
};

static const struct dispatch table[] = {
	{ '?', gdb_stop_reason },
	{ 'c', gdb_continue },
	{ 'C', gdb_continue },
	{ 's', gdb_step },
	{ 'S', gdb_step },
	{ 'D', gdb_detach },
	{ 'g', gdb_read_regs },
	{ 'G', gdb_write_regs },
	{ 'H', gdb_select_thread },
	{ 'j', gdb_lldb_json },
	{ 'k', gdb_kill },
	{ 'm', gdb_read_mem },
	{ 'M', gdb_write_mem },
	{ 'p', gdb_read_reg },
	{ 'P', gdb_write_reg },
	{ 'q', gdb_query },
	{ 'Q', gdb_set },
	{ 'T', gdb_thread_alive },
	{ 'v', gdb_v },
	{ 'X', gdb_write_mem_bin },
	{ 'z', gdb_point },
	{ 'Z', gdb_point },
};

static int write_all(void *ctx, const void *buf, size_t len)
{
	struct server *sv = ctx;
	const char *p = buf;

	while (len) {
		ssize_t n = write(sv->fd_out, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				struct pollfd pfd = { sv->fd_out, POLLOUT, 0 };

				poll(&pfd, 1, 1000);
				continue;
			}
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

void server_init(struct server *sv, struct session *s, int fd_out)
{
	memset(sv, 0, sizeof(*sv));
	sv->s = s;
	sv->fd_out = fd_out;
	rsp_init(&sv->rsp, write_all, sv, SERVER_PACKET_SIZE);
	strbuf_init(&sv->reply, 0);
	strbuf_init(&sv->xfer_doc, 0);
	strbuf_init(&sv->notices, 0);
	sv->g_tid = session_last_stop(s)->tid;
	sv->c_tid = sv->g_tid;
}

void server_release(struct server *sv)
{
	rsp_release(&sv->rsp);
	strbuf_release(&sv->reply);
	strbuf_release(&sv->xfer_doc);
	strbuf_release(&sv->notices);
}

void server_notice(struct server *sv, const char *text)
{
	strbuf_addstr(&sv->notices, text);
	if (sv->notices.len && sv->notices.buf[sv->notices.len - 1] != '\n')
		strbuf_addch(&sv->notices, '\n');
}

int server_flush_notices(struct server *sv)
{
	int rc;

	if (!sv->notices.len)
		return 0;
	rc = server_console(sv, sv->notices.buf);
	strbuf_reset(&sv->notices);
	return rc;
}

void reply_ok(struct server *sv)
{
	strbuf_reset(&sv->reply);
	strbuf_addstr(&sv->reply, "OK");
}

void reply_error(struct server *sv, int err)
{
	int e = err < 0 ? -err : err;

	/* gdb shows "Cannot access memory" for any E reply to m/M; keep the
	 * classic numbers for the common cases. */
	if (e == EFAULT)
		e = 14;
	strbuf_reset(&sv->reply);
	strbuf_addf(&sv->reply, "E%02x", e & 0xff);
}

int parse_thread_id(const char *s, int64_t *tid, const char **end)
{
	uint64_t v;
	int rc;

	if (s[0] == 'p') {
		/* multiprocess form pP.T or pP: the process is always 1 */
		const char *q = s + 1;

		if (q[0] == '-' && q[1] == '1') {
			q += 2;
		} else {
			rc = rsp_parse_hex(q, &v, &q);
			if (rc)
				return rc;
		}
		if (*q != '.') {
			*tid = -1;
			if (end)
				*end = q;
			return 0;
		}
		s = q + 1;
	}
	if (s[0] == '-' && s[1] == '1') {
		*tid = -1;
		if (end)
			*end = s + 2;
		return 0;
	}
	rc = rsp_parse_hex(s, &v, end);
	if (rc)
		return rc;
	if (v > INT64_MAX)
		return -ERANGE;
	*tid = (int64_t)v;
	return 0;
}

uint64_t server_resolve_tid(struct server *sv, int64_t tid)
{
	if (tid <= 0)
		return session_last_stop(sv->s)->tid;
	return (uint64_t)tid;
}

const struct thread_info *server_thread_arg(struct server *sv,
					    const char *arg, bool whole)
{
	const struct thread_info *ti;
	const char *end;
	int64_t tid;

	if (parse_thread_id(arg, &tid, &end) || (whole && *end)) {
		reply_error(sv, EINVAL);
		return NULL;
	}
	ti = session_find_thread(sv->s, server_resolve_tid(sv, tid));
	if (!ti)
		reply_error(sv, ESRCH);
	return ti;
}

void reply_xfer(struct server *sv, const char *doc, size_t doclen,
		uint64_t off, uint64_t len)
{
	size_t max = SERVER_PACKET_SIZE / 2; /* escaping may double it */

	strbuf_reset(&sv->reply);
	if (off >= doclen) {
		strbuf_addch(&sv->reply, 'l');
		return;
	}
	if (len > max)
		len = max;
	if (len > doclen - off)
		len = doclen - off;
	strbuf_addch(&sv->reply, off + len < doclen ? 'm' : 'l');
	strbuf_add(&sv->reply, doc + off, (size_t)len);
}

int server_console(struct server *sv, const char *text)
{
	size_t len = strlen(text), off = 0;
	int rc = 0;

	while (off < len && !rc) {
		struct strbuf o = STRBUF_INIT;
		size_t n = len - off > 4000 ? 4000 : len - off;

		strbuf_addch(&o, 'O');
		strbuf_addhex(&o, text + off, n);
		rc = rsp_send(&sv->rsp, o.buf, o.len);
		strbuf_release(&o);
		off += n;
	}
	return rc;
}

void server_stop_reply(struct server *sv, const struct stop_info *st,
		       struct strbuf *out)
{
	(void)sv;
	strbuf_reset(out);
	switch (st->kind) {
	case STOP_EXITED:
		strbuf_addf(out, "W%02x", st->exit_code & 0xff);
		return;
	case STOP_TERMINATED:
		strbuf_addf(out, "X%02x", st->signo & 0xff);
		return;
	default:
		break;
	}
	strbuf_addf(out, "T%02xthread:%llx;", st->signo & 0xff,
		    (unsigned long long)st->tid);
	switch (st->reason) {
	case SR_SWBREAK: strbuf_addstr(out, "swbreak:;"); break;
	case SR_HWBREAK: strbuf_addstr(out, "hwbreak:;"); break;
	case SR_WATCH:
		strbuf_addf(out, "watch:%llx;", (unsigned long long)st->addr);
		break;
	case SR_RWATCH:
		strbuf_addf(out, "rwatch:%llx;", (unsigned long long)st->addr);
		break;
	case SR_AWATCH:
		strbuf_addf(out, "awatch:%llx;", (unsigned long long)st->addr);
		break;
	default: break;
	}
	{
		const struct thread_info *ti = session_find_thread(sv->s, st->tid);

		if (ti && ti->vcpu >= 0)
			strbuf_addf(out, "core:%x;", ti->vcpu);
	}
}

static int send_reply(struct server *sv)
{
	return rsp_send(&sv->rsp, sv->reply.buf, sv->reply.len);
}

/*
 * LLDB's thread suffix on a register packet: "...;thread:T;" names the
 * thread instead of Hg. Sets sv->reg_tid and shortens *len to the packet
 * without it; 0, or -EINVAL (bad suffix) / -ESRCH (no such thread).
 */
static int thread_suffix(struct server *sv, const char *pkt, size_t *len)
{
	const char *p = memchr(pkt, ';', *len), *end;
	int64_t tid;

	sv->reg_tid = 0;
	if (!p || !sv->lldb)
		return 0;
	if (strncmp(p, ";thread:", 8) ||
	    parse_thread_id(p + 8, &tid, &end) || *end != ';' ||
	    end + 1 != pkt + *len)
		return -EINVAL;
	if (tid > 0 && !session_find_thread(sv->s, (uint64_t)tid))
		return -ESRCH;
	sv->reg_tid = server_resolve_tid(sv, tid);
	*len = (size_t)(p - pkt);
	return 0;
}

static int handle_packet(struct server *sv, const char *pkt, size_t len)
{
	size_t i;
	int rc;

	strbuf_reset(&sv->reply);
	if (!len)
		return send_reply(sv);
	if (pkt[0] && strchr("gGpP", pkt[0])) {
		rc = thread_suffix(sv, pkt, &len);
		if (rc < 0) {
			reply_error(sv, rc);
			return send_reply(sv);
		}
	}
	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		if (table[i].letter != pkt[0])
			continue;
		rc = table[i].fn(sv, pkt, len);
		sv->reg_tid = 0;
		if (rc == H_NO_REPLY)
			return 0;
		return send_reply(sv);
	}
	return send_reply(sv); /* unknown: the empty reply */
}

int server_input(struct server *sv, const void *bytes, size_t n)
{
	rsp_feed(&sv->rsp, bytes, n);
	for (;;) {
		int ev = rsp_next(&sv->rsp);
		const char *pkt;
		size_t len;
		int rc;

		if (ev < 0)
			return ev;
		switch (ev) {
		case RSP_NONE:
			return 0;
		case RSP_INTERRUPT:
			rc = gdb_interrupt(sv);
			break;
		case RSP_OVERSIZE:
		case RSP_MALFORMED:
			strbuf_reset(&sv->reply);
			reply_error(sv, ev == RSP_OVERSIZE ? E2BIG : EINVAL);
			rc = send_reply(sv);
			break;
		case RSP_RUNAWAY:
			log_warn(LC_RSP, "a packet went on for more than %zu bytes without its end: "
				 "the peer is not gdb, closing the connection",
				 2 * (size_t)SERVER_PACKET_SIZE + 64);
			return -EPROTO;
		default:
			pkt = rsp_packet(&sv->rsp, &len);
			rc = handle_packet(sv, pkt, len);
			break;
		}
		if (rc < 0)
			return rc;
		if (sv->end != SERVER_CONTINUE)
			return 0;
	}
}

int server_poll_guest(struct server *sv)
{
	struct stop_info st;
	int rc;

	if (!sv->waiting)
		return 0;
	rc = session_poll_stop(sv->s, &st);
	if (rc <= 0)
		return rc;
	sv->waiting = false;
	/* a step stop of the vCPU behind the thread gdb stepped (an OS
	 * task's thread) is that thread's: gdb waits for it there */
	if (st.kind == STOP_SIGNAL && sv->step_tid && sv->step_tid != st.tid) {
		const struct thread_info *ti = session_find_thread(sv->s, sv->step_tid);

		if (ti && ti->vcpu >= 0 && (uint64_t)ti->vcpu + 1 == st.tid)
			st.tid = sv->step_tid;
	}
	sv->step_tid = 0;
	if (st.message[0])
		server_console(sv, st.message);
	server_stop_reply(sv, &st, &sv->reply);
	if (st.kind == STOP_SIGNAL) {
		sv->g_tid = st.tid;
		sv->c_tid = st.tid;
	} else {
		sv->end = SERVER_GUEST_GONE;
	}
	return send_reply(sv);
}
