// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * gdb's tracepoint packets on the session's trace state: definitions
 * (QTinit, QTDP, QTDPsrc, QTDV, QTro, QTEnable/QTDisable), the experiment
 * (QTStart, QTStop, qTStatus, QTBuffer, QTNotes, QTDisconnected), frames
 * (QTFrame, qTBuffer) and what gdb reads back when it reconnects (qTfP,
 * qTsP, qTfV, qTsV, qTV, qTP). Bad input is refused and changes nothing.
 */
#include "stub/session/trace.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "stub/agent/ax.h"
#include "stub/agent/ax-packet.h"
#include "stub/base/log.h"
#include "stub/session/run.h"
#include "stub/session/session-internal.h"

static bool starts(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/* A hex number at *p (a leading '-' negates it), moving *p past it. */
static int hexnum(const char **p, uint64_t *v)
{
	const char *s = *p;
	bool neg = *s == '-';
	uint64_t x = 0;
	unsigned n = 0;

	if (neg)
		s++;
	for (; n < 17; s++, n++) {
		int d = *s >= '0' && *s <= '9' ? *s - '0' :
			*s >= 'a' && *s <= 'f' ? *s - 'a' + 10 :
			*s >= 'A' && *s <= 'F' ? *s - 'A' + 10 : -1;

		if (d < 0)
			break;
		x = x << 4 | (unsigned)d;
	}
	if (!n || n > 16)
		return -EINVAL;
	*v = neg ? (uint64_t)-(int64_t)x : x;
	*p = s;
	return 0;
}

static int expect(const char **p, char c)
{
	if (**p != c)
		return -EINVAL;
	(*p)++;
	return 0;
}

static void error(struct strbuf *reply, const char *fmt, const char *what)
{
	log_warn(LC_TRAP, fmt, what ? what : "");
	strbuf_reset(reply);
	strbuf_addstr(reply, "E01");
}

/* QTDP:n:addr:E|D:step:pass[:Xlen,cond][-] */
static void define(struct session *s, const char *p, struct strbuf *reply)
{
	struct trace_state *t = trace_state(s);
	struct tracepoint tp;
	uint64_t num, addr, step, pass;
	char *msg = NULL;

	memset(&tp, 0, sizeof(tp));
	if (hexnum(&p, &num) || expect(&p, ':') || hexnum(&p, &addr) ||
	    expect(&p, ':') || (*p != 'E' && *p != 'D')) {
		error(reply, "malformed tracepoint definition%s", NULL);
		return;
	}
	tp.enabled = *p++ == 'E';
	if (expect(&p, ':') || hexnum(&p, &step) || expect(&p, ':') ||
	    hexnum(&p, &pass)) {
		error(reply, "malformed tracepoint definition%s", NULL);
		return;
	}
	while (*p == ':') {
		p++;
		if (*p == 'X') {
			const char *x = p + 1;

			if (ax_parse_x(&p, p + strlen(p), &tp.cond, &msg) < 0) {
				error(reply, "tracepoint condition refused: %s", msg);
				free(msg);
				return;
			}
			tp.cond_text = xstrfmt("%.*s", (int)(p - x), x);
		} else if (*p == 'F' && !tp.stealth) {
			/* a fast tracepoint: an execute trap here */
			p++;
			if (hexnum(&p, &tp.insn_len)) {
				error(reply, "malformed fast tracepoint%s", NULL);
				ax_free(tp.cond);
				free(tp.cond_text);
				return;
			}
			tp.stealth = true;
		} else {
			error(reply, "tracepoint option refused (static tracepoints are not offered)%s",
			      NULL);
			ax_free(tp.cond);
			free(tp.cond_text);
			return;
		}
	}
	if ((*p && strcmp(p, "-")) || num > UINT32_MAX ||
	    trace_find_tp(t, (unsigned)num, addr, true) || t->ntps >= TRACE_POINTS_MAX ||
	    t->running) {
		error(reply, "tracepoint definition refused (malformed, a duplicate, too many, or tracing)%s",
		      NULL);
		ax_free(tp.cond);
		free(tp.cond_text);
		return;
	}
	if (step)
		log_info(LC_TRAP, "tracepoint %u: while-stepping is not offered: only the hit is collected",
			 (unsigned)num);
	tp.num = (unsigned)num;
	tp.addr = addr;
	tp.step = step;
	tp.pass = pass;
	t->tps = xrealloc(t->tps, (t->ntps + 1) * sizeof(*t->tps));
	t->tps[t->ntps++] = tp;
	strbuf_addstr(reply, "OK");
}

/* One action at *p: R mask, M basereg,offset,len, X len,expr. */
static int action(const char **p, struct tp_action *a, char **msg)
{
	const char *s = *p;
	uint64_t v;

	memset(a, 0, sizeof(*a));
	a->kind = *s++;
	switch (a->kind) {
	case 'R':
		/* a mask of registers, as long as the layout: every
		 * register is collected */
		if (!strspn(s, "0123456789abcdefABCDEF"))
			return -EINVAL;
		s += strspn(s, "0123456789abcdefABCDEF");
		break;
	case 'M':
		if (hexnum(&s, &v) || expect(&s, ',') || hexnum(&s, &a->offset) ||
		    expect(&s, ',') || hexnum(&s, &a->len))
			return -EINVAL;
		a->basereg = (int64_t)v;
		break;
	case 'X':
		s = *p; /* "X len,hex" */
		if (ax_parse_x(&s, s + strlen(s), &a->x, msg) < 0)
			return -EINVAL;
		if (a->x->uses & (AX_USES_PRINTF)) {
			*msg = xstrfmt("printf in a tracepoint action is not offered");
			ax_free(a->x);
			return -EINVAL;
		}
		break;
	default:
		return -EINVAL;
	}
	a->text = xstrfmt("%.*s", (int)(s - *p), *p);
	*p = s;
	return 0;
}

/* QTDP:-n:addr:[S]action...[-] */
static void add_actions(struct session *s, const char *p, struct strbuf *reply)
{
	struct trace_state *t = trace_state(s);
	struct tracepoint *tp;
	uint64_t num, addr;
	char *msg = NULL;

	if (hexnum(&p, &num) || expect(&p, ':') || hexnum(&p, &addr) ||
	    expect(&p, ':') || num > UINT32_MAX ||
	    !(tp = trace_find_tp(t, (unsigned)num, addr, true)) || t->running) {
		error(reply, "actions for an unknown tracepoint%s", NULL);
		return;
	}
	if (*p == 'S') {
		/* while-stepping actions: not offered (said at QTDP) */
		strbuf_addstr(reply, "OK");
		return;
	}
	while (*p && *p != '-') {
		struct tp_action a;

		if (tp->nacts >= TRACE_ACTIONS_MAX || action(&p, &a, &msg) < 0) {
			error(reply, "tracepoint action refused: %s", msg ? msg : "malformed or too many");
			free(msg);
			return;
		}
		tp->acts = xrealloc(tp->acts, (tp->nacts + 1) * sizeof(*tp->acts));
		tp->acts[tp->nacts++] = a;
	}
	strbuf_addstr(reply, "OK");
}

/* QTDV:n:value:builtin:name */
/* QTDPsrc:num:addr:type:start:len:hex, kept as sent (after "QTDPsrc:")
 * for the upload; text for a tracepoint xenstub does not have, or beyond
 * the bound, is dropped (the answer is OK all the same: it is only text) */
static void source(struct session *s, const char *p, struct strbuf *reply)
{
	struct trace_state *t = trace_state(s);
	struct tracepoint *tp;
	const char *q = p;
	uint64_t num, addr;

	if (!hexnum(&q, &num) && !expect(&q, ':') && !hexnum(&q, &addr) &&
	    !expect(&q, ':') && num <= UINT32_MAX && strlen(p) <= 4096 &&
	    (tp = trace_find_tp(t, (unsigned)num, addr, true)) &&
	    tp->nsrcs < TRACE_SRCS_MAX) {
		tp->srcs = xrealloc(tp->srcs, (tp->nsrcs + 1) * sizeof(*tp->srcs));
		tp->srcs[tp->nsrcs++] = xstrdup(p);
	}
	strbuf_addstr(reply, "OK");
}

static void define_tsv(struct session *s, const char *p, struct strbuf *reply)
{
	struct trace_state *t = trace_state(s);
	uint64_t num, value, builtin;
	struct tsv *v;

	if (hexnum(&p, &num) || expect(&p, ':') || hexnum(&p, &value) ||
	    expect(&p, ':') || hexnum(&p, &builtin) || expect(&p, ':') ||
	    num > UINT32_MAX || strspn(p, "0123456789abcdefABCDEF") != strlen(p)) {
		error(reply, "malformed trace state variable%s", NULL);
		return;
	}
	v = trace_find_tsv(t, (unsigned)num);
	if (!v) {
		if (t->ntsvs >= TRACE_TSVS_MAX) {
			error(reply, "too many trace state variables%s", NULL);
			return;
		}
		t->tsvs = xrealloc(t->tsvs, (t->ntsvs + 1) * sizeof(*t->tsvs));
		v = &t->tsvs[t->ntsvs++];
		memset(v, 0, sizeof(*v));
	}
	free(v->name);
	v->num = (unsigned)num;
	v->initial = v->value = (int64_t)value;
	v->builtin = builtin != 0;
	v->name = xstrfmt("%s", p);
	strbuf_addstr(reply, "OK");
}

/* QTro:start,end:start,end... */
static void readonly(struct session *s, const char *p, struct strbuf *reply)
{
	struct trace_state *t = trace_state(s);
	size_t n = 0;
	uint64_t lo[TRACE_RO_MAX], hi[TRACE_RO_MAX];

	while (*p == ':') {
		p++;
		if (n >= TRACE_RO_MAX || hexnum(&p, &lo[n]) || expect(&p, ',') ||
		    hexnum(&p, &hi[n]) || hi[n] < lo[n]) {
			error(reply, "malformed read-only regions%s", NULL);
			return;
		}
		n++;
	}
	if (*p) {
		error(reply, "malformed read-only regions%s", NULL);
		return;
	}
	for (t->nro = 0; t->nro < n; t->nro++) {
		t->ro[t->nro].lo = lo[t->nro];
		t->ro[t->nro].hi = hi[t->nro];
	}
	strbuf_addstr(reply, "OK");
}

static void start(struct session *s, uint64_t tid, struct strbuf *reply)
{
	struct trace_state *t = trace_state(s);
	size_t i;

	if (s->running) {
		error(reply, "tstart while the guest runs%s", NULL);
		return;
	}
	t->tid = tid;
	for (i = 0; i < t->ntps; i++) {
		char *msg = NULL;

		if (session_insert_point(s, tid, t->tps[i].stealth ? PT_HW_BREAK : PT_SW_BREAK,
					 t->tps[i].addr, 1, &msg) < 0) {
			log_warn(LC_TRAP, "tracepoint %u at 0x%llx: %s", t->tps[i].num,
				 (unsigned long long)t->tps[i].addr, msg ? msg : "");
			free(msg);
			trace_unplant(s);
			strbuf_addstr(reply, "E01");
			return;
		}
		free(msg);
		t->tps[i].planted = true;
		t->tps[i].hits = t->tps[i].bytes = 0;
	}
	for (i = 0; i < t->ntsvs; i++)
		t->tsvs[i].value = t->tsvs[i].initial;
	trace_clear_frames(t);
	strbuf_release(&t->raw);
	t->running = true;
	t->start_time = trace_now_us();
	t->stop_time = 0;
	snprintf(t->stop, sizeof(t->stop), "tnotrun:0");
	strbuf_addstr(reply, "OK");
}

static void status(struct session *s, struct strbuf *reply)
{
	struct trace_state *t = trace_state(s);

	strbuf_addf(reply, "T%d;%s;tframes:%zx;tcreated:%llx;tfree:%zx;tsize:%zx;circular:%d;"
		    "disconn:0;starttime:%llx;stoptime:%llx;username:%s;notes:%s:",
		    t->running ? 1 : 0, t->running ? "tnotrun:0" : t->stop, t->nframes,
		    (unsigned long long)t->created, t->size - t->used, t->size,
		    t->circular ? 1 : 0, (unsigned long long)t->start_time,
		    (unsigned long long)t->stop_time, t->user ? t->user : "",
		    t->notes ? t->notes : "");
}

static bool frame_matches(struct session *s, const struct tframe *f,
			  const char *how, uint64_t a, uint64_t b)
{
	struct tracepoint *tp = trace_find_tp(s->trace, f->tp, 0, false);
	uint64_t pc = tp ? tp->addr : 0;

	if (!strcmp(how, "pc"))
		return pc == a;
	if (!strcmp(how, "tdp"))
		return f->tp == a;
	if (!strcmp(how, "range"))
		return pc >= a && pc <= b;
	return pc < a || pc > b; /* outside */
}

/* QTFrame:n, QTFrame:pc:addr, :tdp:t, :range:a:b, :outside:a:b */
static void frame(struct session *s, const char *p, struct strbuf *reply)
{
	struct trace_state *t = trace_state(s);
	char how[8] = "";
	uint64_t a = 0, b = 0;
	size_t i;

	if (t->running) {
		error(reply, "tfind while tracing%s", NULL);
		return;
	}
	if (!starts(p, "pc:") && !starts(p, "tdp:") && !starts(p, "range:") &&
	    !starts(p, "outside:")) {
		uint64_t n;

		if (hexnum(&p, &n) || *p) {
			error(reply, "malformed QTFrame%s", NULL);
			return;
		}
		if ((uint32_t)n == UINT32_MAX || n == UINT64_MAX) {
			t->cur = -1;
			strbuf_addstr(reply, "OK");
			return;
		}
		if (n < t->first_num || n - t->first_num >= t->nframes) {
			strbuf_addstr(reply, "F-1");
			return;
		}
		t->cur = (int64_t)n;
		strbuf_addf(reply, "F%llxT%x", (unsigned long long)n,
			    t->frames[n - t->first_num].tp);
		return;
	}
	for (i = 0; i < sizeof(how) - 1 && p[i] && p[i] != ':'; i++)
		how[i] = p[i];
	p += i;
	if ((strcmp(how, "pc") && strcmp(how, "tdp") && strcmp(how, "range") &&
	     strcmp(how, "outside")) || expect(&p, ':') || hexnum(&p, &a) ||
	    ((!strcmp(how, "range") || !strcmp(how, "outside")) &&
	     (expect(&p, ':') || hexnum(&p, &b))) || *p) {
		error(reply, "malformed QTFrame%s", NULL);
		return;
	}
	/* the next matching frame after the selected one */
	for (i = t->cur < 0 || (uint64_t)t->cur < t->first_num ? 0 :
		 (size_t)((uint64_t)t->cur - t->first_num + 1);
	     i < t->nframes; i++) {
		if (frame_matches(s, &t->frames[i], how, a, b)) {
			t->cur = (int64_t)(t->first_num + i);
			strbuf_addf(reply, "F%llxT%x",
				    (unsigned long long)(t->first_num + i), t->frames[i].tp);
			return;
		}
	}
	strbuf_addstr(reply, "F-1");
}

/* qTfP/qTsP: each tracepoint, then each of its actions and source texts,
 * then "l". */
static void upload_tp(struct session *s, bool first, struct strbuf *reply)
{
	struct trace_state *t = trace_state(s);
	struct tracepoint *tp;

	if (first) {
		t->up_tp = 0;
		t->up_act = 0;
	}
	if (t->up_tp >= t->ntps) {
		strbuf_addstr(reply, "l");
		return;
	}
	tp = &t->tps[t->up_tp];
	if (t->up_act == 0) {
		strbuf_addf(reply, "T%x:%llx:%c:%llx:%llx", tp->num,
			    (unsigned long long)tp->addr, tp->enabled ? 'E' : 'D',
			    (unsigned long long)tp->step, (unsigned long long)tp->pass);
		if (tp->stealth)
			strbuf_addf(reply, ":F%llx", (unsigned long long)tp->insn_len);
		if (tp->cond_text)
			strbuf_addf(reply, ":X%s", tp->cond_text);
	} else if (t->up_act <= tp->nacts) {
		strbuf_addf(reply, "A%x:%llx:%s", tp->num, (unsigned long long)tp->addr,
			    tp->acts[t->up_act - 1].text);
	} else {
		strbuf_addf(reply, "Z%s", tp->srcs[t->up_act - 1 - tp->nacts]);
	}
	if (++t->up_act > tp->nacts + tp->nsrcs) {
		t->up_act = 0;
		t->up_tp++;
	}
}

static void upload_tsv(struct session *s, bool first, struct strbuf *reply)
{
	struct trace_state *t = trace_state(s);
	struct tsv *v;

	if (first)
		t->up_tsv = 0;
	if (t->up_tsv >= t->ntsvs) {
		strbuf_addstr(reply, "l");
		return;
	}
	v = &t->tsvs[t->up_tsv++];
	strbuf_addf(reply, "%x:%llx:%x:%s", v->num, (unsigned long long)v->initial,
		    v->builtin ? 1 : 0, v->name);
}

/* qTBuffer:offset,len: the frames as a trace file holds them. */
static void raw_buffer(struct session *s, const char *p, struct strbuf *reply)
{
	struct trace_state *t = trace_state(s);
	uint64_t off, len;
	size_t i;

	if (hexnum(&p, &off) || expect(&p, ',') || hexnum(&p, &len) || *p) {
		error(reply, "malformed qTBuffer%s", NULL);
		return;
	}
	if (off == 0) {
		strbuf_reset(&t->raw);
		for (i = 0; i < t->nframes; i++) {
			unsigned k;

			for (k = 0; k < 2; k++)
				strbuf_addch(&t->raw, (int)((t->frames[i].tp >> (8 * k)) & 0xff));
			for (k = 0; k < 4; k++)
				strbuf_addch(&t->raw, (int)((t->frames[i].len >> (8 * k)) & 0xff));
			strbuf_add(&t->raw, t->frames[i].data, t->frames[i].len);
		}
	}
	if (off >= t->raw.len) {
		strbuf_addstr(reply, "l");
		return;
	}
	if (len > TRACE_UPLOAD_MAX)
		len = TRACE_UPLOAD_MAX;
	if (len > t->raw.len - off)
		len = t->raw.len - off;
	strbuf_addhex(reply, t->raw.buf + off, (size_t)len);
}

/* QTNotes:user:hex;notes:hex;tstop:hex */
static void notes(struct session *s, const char *p, struct strbuf *reply)
{
	struct trace_state *t = trace_state(s);

	while (*p) {
		const char *end = strchr(p, ';');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		char **slot = starts(p, "user:") ? &t->user : starts(p, "notes:") ?
			      &t->notes : starts(p, "tstop:") ? &t->stop_notes : NULL;

		if (slot) {
			const char *v = strchr(p, ':') + 1;

			free(*slot);
			*slot = xstrfmt("%.*s", (int)(n - (size_t)(v - p)), v);
		}
		p += n;
		if (*p == ';')
			p++;
	}
	strbuf_addstr(reply, "OK");
}

static void enable(struct session *s, const char *p, bool on,
		   struct strbuf *reply)
{
	struct trace_state *t = trace_state(s);
	struct tracepoint *tp;
	uint64_t num, addr;

	if (hexnum(&p, &num) || expect(&p, ':') || hexnum(&p, &addr) || *p ||
	    num > UINT32_MAX || !(tp = trace_find_tp(t, (unsigned)num, addr, true))) {
		error(reply, "no such tracepoint%s", NULL);
		return;
	}
	tp->enabled = on;
	strbuf_addstr(reply, "OK");
}

bool session_offers_tracepoints(struct session *s)
{
	return run_live(s) && s->opts.tracepoints;
}

int session_trace_packet(struct session *s, uint64_t tid, const char *pkt,
			 struct strbuf *reply)
{
	struct trace_state *t;
	uint64_t v;
	const char *p;

	if (!session_offers_tracepoints(s))
		return -EOPNOTSUPP;
	t = trace_state(s);
	if (!strcmp(pkt, "QTinit")) {
		trace_reset(s);
		strbuf_addstr(reply, "OK");
	} else if (starts(pkt, "QTDP:-")) {
		add_actions(s, pkt + 6, reply);
	} else if (starts(pkt, "QTDP:")) {
		define(s, pkt + 5, reply);
	} else if (starts(pkt, "QTDPsrc:")) {
		source(s, pkt + 8, reply);
	} else if (starts(pkt, "QTDV:")) {
		define_tsv(s, pkt + 5, reply);
	} else if (starts(pkt, "QTro")) {
		readonly(s, pkt + 4, reply);
	} else if (!strcmp(pkt, "QTStart")) {
		start(s, tid, reply);
	} else if (!strcmp(pkt, "QTStop")) {
		/* "tstop:NOTE:TP", the note as gdb sent it (hex), even empty:
		 * gdb keeps no stop text without that colon, and tsave then
		 * crashes writing it out */
		char why[sizeof(t->stop)];
		const char *note = t->stop_notes ? t->stop_notes : "";
		size_t n = strlen(note);

		if (n > sizeof(why) - 16)
			n = (sizeof(why) - 16) & ~(size_t)1;
		snprintf(why, sizeof(why), "tstop:%.*s:0", (int)n, note);
		trace_stop(s, why);
		strbuf_addstr(reply, "OK");
	} else if (!strcmp(pkt, "qTStatus")) {
		status(s, reply);
	} else if (starts(pkt, "QTFrame:")) {
		frame(s, pkt + 8, reply);
	} else if (!strcmp(pkt, "qTfP") || !strcmp(pkt, "qTsP")) {
		upload_tp(s, pkt[2] == 'f', reply);
	} else if (!strcmp(pkt, "qTfV") || !strcmp(pkt, "qTsV")) {
		upload_tsv(s, pkt[2] == 'f', reply);
	} else if (starts(pkt, "qTV:")) {
		struct tsv *tsv;

		p = pkt + 4;
		if (hexnum(&p, &v) || *p || v > UINT32_MAX ||
		    !(tsv = trace_find_tsv(t, (unsigned)v)))
			strbuf_addstr(reply, "U");
		else
			strbuf_addf(reply, "V%llx", (unsigned long long)tsv->value);
	} else if (starts(pkt, "qTP:")) {
		struct tracepoint *tp;
		uint64_t addr;

		p = pkt + 4;
		if (hexnum(&p, &v) || expect(&p, ':') || hexnum(&p, &addr) || *p ||
		    v > UINT32_MAX || !(tp = trace_find_tp(t, (unsigned)v, addr, true)))
			error(reply, "no such tracepoint%s", NULL);
		else
			strbuf_addf(reply, "V%llx:%llx", (unsigned long long)tp->hits,
				    (unsigned long long)tp->bytes);
	} else if (starts(pkt, "QTBuffer:size:")) {
		p = pkt + 14;
		if (hexnum(&p, &v) || *p || (v != UINT64_MAX && v > TRACE_BUFFER_MAX) || t->running) {
			error(reply, "trace buffer size refused (at most 256 MiB, not while tracing)%s", NULL);
		} else {
			t->size = v == UINT64_MAX ? TRACE_BUFFER_DEFAULT : (size_t)v;
			strbuf_addstr(reply, "OK");
		}
	} else if (!strcmp(pkt, "QTBuffer:circular:0") || !strcmp(pkt, "QTBuffer:circular:1")) {
		t->circular = pkt[18] == '1';
		strbuf_addstr(reply, "OK");
	} else if (starts(pkt, "qTBuffer:")) {
		raw_buffer(s, pkt + 9, reply);
	} else if (starts(pkt, "QTNotes:")) {
		notes(s, pkt + 8, reply);
	} else if (!strcmp(pkt, "qTMinFTPILen")) {
		/* fast tracepoints are execute traps: any instruction will do */
		strbuf_addstr(reply, "1");
	} else if (!strcmp(pkt, "QTDisconnected:0")) {
		strbuf_addstr(reply, "OK");
	} else if (starts(pkt, "QTEnable:") || starts(pkt, "QTDisable:")) {
		enable(s, strchr(pkt, ':') + 1, pkt[3] == 'E', reply);
	} else {
		return -EOPNOTSUPP;
	}
	return 0;
}
