/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The GDB protocol front end: per-connection state, and the table that
 * turns each packet into calls on the session. Packet families live in
 * gdb-*.c; this header is shared by them and by main.c only.
 */
#ifndef XENSTUB_SERVER_H
#define XENSTUB_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stub/gdb/rsp.h"
#include "stub/session/session.h"
#include "stub/base/strbuf.h"

/* Largest packet in either direction (payload bytes): 128 KiB, so one
 * 'm' reply carries 64 KiB of memory (gdb 13 reads memory as hex only). */
#define SERVER_PACKET_SIZE 0x20000

enum server_end {
	SERVER_CONTINUE = 0,
	SERVER_DETACHED,	/* D or k: the debugger left */
	SERVER_CLOSED,		/* the connection ended */
	SERVER_GUEST_GONE,	/* W/X sent: the guest ended */
};

struct server {
	struct rsp rsp;
	struct session *s;
	int fd_out;
	/* Hg, or the thread of the last stop: memory, points, monitor
	 * commands, and registers unless the packet names its own thread.
	 * gdb sends Hg before 'm' when it changes thread; LLDB never does,
	 * and with thread suffixes it never needs Hg to read registers, so
	 * its memory reads stay in the stopped thread's address space. */
	uint64_t g_tid;
	/* the thread of the register packet (g, G, p, P) being handled: its
	 * ";thread:T;" suffix, else g_tid */
	uint64_t reg_tid;
	/* QThreadSuffixSupported was asked (only LLDB does): register
	 * packets may end in ";thread:T;", and the client is LLDB, which
	 * wants an error for an unavailable register and keeps its session
	 * only when a refused resume is answered with a stop */
	bool lldb;
	uint64_t c_tid;		/* Hc */
	bool waiting;		/* resumed; a stop reply is owed */
	uint64_t step_tid;	/* the thread gdb asked to step (a task's
				 * thread may stand for a vCPU) */
	enum server_end end;
	/* the client's qSupported offered "binary-upload+" (gdb 16): the
	 * x packet is answered "b" + binary data */
	bool binary_upload;
	/* a 0x03 came while the guest was stopped: gdb sent it while a stop
	 * reply was on its way (it resumes after a hit whose condition it
	 * evaluates false); the next resume stops at once, as gdbserver's
	 * pending SIGINT does, or gdb would wait for that stop for ever */
	bool interrupt_pending;
	struct strbuf reply;
	/* what the user should read, held until gdb accepts console output
	 * (while it waits for a stop reply or a monitor command's answer) */
	struct strbuf notices;
	/* qXfer documents, built at offset 0 and served in pieces */
	char xfer_key[128];
	struct strbuf xfer_doc;
};

/* Handlers return one of these. */
enum handler_result {
	H_REPLY = 0,		/* send sv->reply (empty = unsupported) */
	H_NO_REPLY,		/* nothing to send now (resume, k) */
};

void server_init(struct server *sv, struct session *s, int fd_out);
void server_release(struct server *sv);
/* Feeds bytes from the connection and handles every complete packet.
 * 0, or -errno when the connection must end (-EPROTO: the peer sent a
 * packet with no end, said in a warning). */
int server_input(struct server *sv, const void *bytes, size_t n);
/* Called when the session's event fd is readable or periodically while
 * the guest runs: reports a stop if one happened. */
int server_poll_guest(struct server *sv);
/* The stop reply for a stop, into out. */
void server_stop_reply(struct server *sv, const struct stop_info *st,
		       struct strbuf *out);

/* Helpers for handlers. */
void reply_error(struct server *sv, int err);	/* "Exx" from -errno */
void reply_ok(struct server *sv);
/* Parses a thread id: hex, "-1" (all), "0" (any), or "pP.T". */
int parse_thread_id(const char *s, int64_t *tid, const char **end);
/* The thread a packet's argument names ("T", "pP.T", 0 or -1: the last
 * stopped one), or NULL with the error reply set (EINVAL, ESRCH). With
 * whole, nothing may follow the id. */
const struct thread_info *server_thread_arg(struct server *sv,
					    const char *arg, bool whole);
/* The thread that a 0/-1 selection means: the last stopped one. */
uint64_t server_resolve_tid(struct server *sv, int64_t tid);
/* Serves [off, off+len) of a document as a qXfer reply. */
void reply_xfer(struct server *sv, const char *doc, size_t doclen,
		uint64_t off, uint64_t len);
/* Sends text to gdb's console as "O" packets. Only while gdb waits for
 * a stop reply or for the answer to qRcmd: anywhere else gdb would take
 * the first "O" as the reply. */
int server_console(struct server *sv, const char *text);
/* Keeps a line for the user until console output is allowed. */
void server_notice(struct server *sv, const char *text);
/* Sends the kept lines (when console output is allowed). */
int server_flush_notices(struct server *sv);

/* Packet families. Each takes the whole packet. */
int gdb_query(struct server *sv, const char *pkt, size_t len);
int gdb_set(struct server *sv, const char *pkt, size_t len);
int gdb_v(struct server *sv, const char *pkt, size_t len);
int gdb_read_regs(struct server *sv, const char *pkt, size_t len);
int gdb_write_regs(struct server *sv, const char *pkt, size_t len);
int gdb_read_reg(struct server *sv, const char *pkt, size_t len);
int gdb_write_reg(struct server *sv, const char *pkt, size_t len);
int gdb_read_mem(struct server *sv, const char *pkt, size_t len);
/* x: gdb 16's binary memory read, only after binary-upload was agreed */
int gdb_read_mem_bin(struct server *sv, const char *pkt, size_t len);
int gdb_write_mem(struct server *sv, const char *pkt, size_t len);
int gdb_write_mem_bin(struct server *sv, const char *pkt, size_t len);
int gdb_continue(struct server *sv, const char *pkt, size_t len);
int gdb_step(struct server *sv, const char *pkt, size_t len);
int gdb_point(struct server *sv, const char *pkt, size_t len);
int gdb_detach(struct server *sv, const char *pkt, size_t len);
int gdb_kill(struct server *sv, const char *pkt, size_t len);
int gdb_stop_reason(struct server *sv, const char *pkt, size_t len);
int gdb_select_thread(struct server *sv, const char *pkt, size_t len);
int gdb_thread_alive(struct server *sv, const char *pkt, size_t len);
/* LLDB's packets (gdb-lldb.c): queries, Q settings and j packets the
 * gdb families do not know; the empty reply for anything else. */
int gdb_lldb_query(struct server *sv, const char *pkt, size_t len);
int gdb_lldb_set(struct server *sv, const char *pkt, size_t len);
int gdb_lldb_json(struct server *sv, const char *pkt, size_t len);
/* Answers a resume the session refused (msg: why, or NULL) the way
 * LLDB keeps its session: the reason on the console, then a stop reply
 * for the thread that stopped last. */
int gdb_lldb_refused_resume(struct server *sv, const char *msg);
/* vCont;... and vCont? */
int gdb_vcont(struct server *sv, const char *pkt, size_t len);
/* gdb's interrupt byte */
int gdb_interrupt(struct server *sv);
/* Sends what the points' commands printed (agent dprintf) to gdb's
 * console, while gdb waits for a stop reply; text the connection cannot
 * take at once stays queued (bounded) so the guest never waits for gdb. */
int gdb_agent_output(struct server *sv);
/* Tracepoint packets (QT..., qT... but qThread...): H_REPLY with the
 * reply, or -1 when pkt is not one. */
int gdb_trace(struct server *sv, const char *pkt, size_t len);

#endif
