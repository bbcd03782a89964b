/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Tracepoints inside the session: gdb's definitions (QTDP, QTDV...), the
 * experiment (int3s planted at QTStart), frames collected at each hit into
 * a bounded buffer in gdb's trace-file block format, and the frame gdb
 * selects (QTFrame) answering register and memory reads. Internal to the
 * session; the public entry is session_trace_packet() in session.h.
 */
#ifndef XENSTUB_TRACE_H
#define XENSTUB_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stub/base/strbuf.h"

struct session;
struct x86_regs;
struct ax_expr;

#define TRACE_BUFFER_DEFAULT (5u << 20)	/* gdbserver's default */
#define TRACE_BUFFER_MAX (256u << 20)
#define TRACE_POINTS_MAX 1024u
#define TRACE_ACTIONS_MAX 256u
#define TRACE_SRCS_MAX 256u		/* QTDPsrc texts kept per tracepoint */
#define TRACE_TSVS_MAX 1024u
#define TRACE_RO_MAX 64u
#define TRACE_BLOCK_MAX 65535u		/* bytes of one M block */
#define TRACE_UPLOAD_MAX 4096u		/* bytes of one qTBuffer reply */

struct tp_action {
	char kind;			/* 'R', 'M' or 'X' */
	int64_t basereg;		/* M: register, or -1 (absolute) */
	uint64_t offset, len;		/* M */
	struct ax_expr *x;		/* X */
	char *text;			/* as gdb sent it, for qTsP */
};

struct tracepoint {
	unsigned num;
	uint64_t addr;
	bool enabled;
	uint64_t step, pass;
	struct ax_expr *cond;
	char *cond_text;		/* "len,hex" as sent */
	struct tp_action *acts;
	size_t nacts;
	uint64_t hits, bytes;
	bool planted;
	/* a fast tracepoint (gdb's ftrace, QTDP's F option): an execute
	 * trap, as hbreak plants, with nothing written into the guest */
	bool stealth;
	uint64_t insn_len;		/* F's value, for the upload */
	/* the source text gdb gave (QTDPsrc: "num:addr:at|cond|cmd:start:
	 * len:hex", as sent), uploaded back for a trace file or another gdb */
	char **srcs;
	size_t nsrcs;
};

struct tsv {
	unsigned num;
	int64_t initial, value;
	bool builtin;
	char *name;			/* hex, as sent */
};

struct tframe {
	unsigned tp;
	size_t len;			/* bytes of data */
	uint8_t *data;			/* blocks */
};

struct trace_state {
	struct tracepoint *tps;
	size_t ntps;
	struct tsv *tsvs;
	size_t ntsvs;
	struct { uint64_t lo, hi; } ro[TRACE_RO_MAX];
	size_t nro;
	struct tframe *frames;		/* oldest first */
	size_t nframes, aframes;
	uint64_t first_num;		/* number of frames[0] */
	uint64_t created;		/* frames ever made in this run */
	size_t used, size;		/* buffer bytes (frame headers included) */
	bool circular;
	bool running;
	char stop[160];			/* qTStatus stop reason, e.g. "tstop:0" */
	uint64_t start_time, stop_time;	/* microseconds */
	char *user, *notes, *stop_notes; /* hex, as sent */
	int64_t cur;			/* selected frame, or -1 */
	size_t up_tp, up_act, up_tsv;	/* qTfP/qTsP, qTfV/qTsV cursors */
	struct strbuf raw;		/* qTBuffer's image, made at offset 0 */
	uint64_t tid;			/* thread whose address space plants */
	struct {
		uint64_t hits, frames, cond_false, errors, dropped;
	} st;
};

/* The session's trace state, made on first use. */
struct trace_state *trace_state(struct session *s);
uint64_t trace_now_us(void);
struct tsv *trace_find_tsv(struct trace_state *t, unsigned num);
/* Tracepoint num (at addr when by_addr), or NULL. */
struct tracepoint *trace_find_tp(struct trace_state *t, unsigned num,
				 uint64_t addr, bool by_addr);
/* Takes the experiment's int3s out. */
void trace_unplant(struct session *s);
/* Ends a running experiment with why as qTStatus says it ("tstop:0"). */
void trace_stop(struct session *s, const char *why);
void trace_free_tp(struct tracepoint *tp);
void trace_clear_frames(struct trace_state *t);

/* vCPU v, held at our int3 (stealth false) or execute trap (stealth
 * true) at addr with the (partial) registers regs: a tracepoint's? Then,
 * while the experiment runs, its frame is collected (when its condition
 * holds), and the answer is true: the vCPU goes on. */
bool trace_hit(struct session *s, unsigned v, uint64_t addr, bool stealth,
	       const struct x86_regs *regs);
/* With a frame selected: its registers (0), or -ENOENT (no frame: the
 * live guest's). */
int trace_frame_regs(struct session *s, struct x86_regs *r);
/* With a frame selected: memory from the frame, as vmem_read() (0, or
 * -EFAULT with *done); -ENOENT when no frame is selected or the range is
 * read-only (QTro): the live guest's. */
int trace_frame_mem(struct session *s, uint64_t addr, void *buf, size_t len,
		    size_t *done);
/* Ends the experiment and forgets everything (detach, close). */
void trace_reset(struct session *s);
void trace_free(struct session *s);
/* Counters for "monitor stats". */
void trace_describe(struct session *s, struct strbuf *out);

#endif
