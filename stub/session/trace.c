// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Tracepoints: gdb's tracepoint packets (QTinit, QTDP, QTDV, QTro,
 * QTStart, QTStop, qTStatus, QTFrame, qTfP/qTsP, qTfV/qTsV, qTV, qTP,
 * QTBuffer, QTNotes, qTBuffer), an int3 per tracepoint while the
 * experiment runs, and frames collected where a vCPU hits one: registers,
 * memory ranges and expressions, into a bounded buffer (optionally
 * circular) laid out as gdb's trace files are, so that tsave copies it.
 */
#include "stub/session/trace.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stub/agent/ax.h"
#include "stub/base/log.h"
#include "stub/session/points-agent.h"
#include "stub/session/run.h"
#include "stub/session/session-internal.h"

/* The building of one frame: the environment expressions run in. */
struct tenv {
	struct pa_env pa;	/* first: the ops get &pa.env */
	struct strbuf blocks;
};

uint64_t trace_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

struct trace_state *trace_state(struct session *s)
{
	if (!s->trace) {
		s->trace = xcalloc(1, sizeof(*s->trace));
		s->trace->size = TRACE_BUFFER_DEFAULT;
		s->trace->cur = -1;
		snprintf(s->trace->stop, sizeof(s->trace->stop), "tnotrun:0");
		strbuf_init(&s->trace->raw, 0);
	}
	return s->trace;
}

static void put_le(struct strbuf *sb, uint64_t v, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		strbuf_addch(sb, (int)((v >> (8 * i)) & 0xff));
}

static uint64_t get_le_n(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	unsigned i;

	for (i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* ---- collection ---- */

struct tsv *trace_find_tsv(struct trace_state *t, unsigned num)
{
	size_t i;

	for (i = 0; i < t->ntsvs; i++)
		if (t->tsvs[i].num == num)
			return &t->tsvs[i];
	return NULL;
}

static int t_get_tsv(struct ax_env *env, unsigned num, int64_t *val,
		     char **msg)
{
	struct tenv *e = (struct tenv *)env;
	struct tsv *v = trace_find_tsv(e->pa.s->trace, num);

	if (!v) {
		*msg = xstrfmt("no trace state variable %u", num);
		return -ENOENT;
	}
	*val = v->value;
	return 0;
}

static int t_set_tsv(struct ax_env *env, unsigned num, int64_t val,
		     char **msg)
{
	struct tenv *e = (struct tenv *)env;
	struct tsv *v = trace_find_tsv(e->pa.s->trace, num);

	if (!v) {
		*msg = xstrfmt("no trace state variable %u", num);
		return -ENOENT;
	}
	v->value = val;
	return 0;
}

/* An M block per TRACE_BLOCK_MAX bytes; what cannot be read is left out. */
static int t_collect_mem(struct ax_env *env, uint64_t addr, uint64_t len,
			 char **msg)
{
	struct tenv *e = (struct tenv *)env;
	uint8_t buf[4096];

	if (len > e->pa.s->trace->size)
		len = e->pa.s->trace->size;
	while (len) {
		size_t n = len > sizeof(buf) ? sizeof(buf) : (size_t)len;

		if (pa_env_read_mem(env, addr, buf, n, msg) < 0) {
			free(*msg);
			*msg = NULL;
			return 0; /* not collected: unavailable in the frame */
		}
		strbuf_addch(&e->blocks, 'M');
		put_le(&e->blocks, addr, 8);
		put_le(&e->blocks, n, 2);
		strbuf_add(&e->blocks, buf, n);
		addr += n;
		len -= n;
	}
	return 0;
}

static int t_collect_tsv(struct ax_env *env, unsigned num, char **msg)
{
	struct tenv *e = (struct tenv *)env;
	int64_t v;
	int rc = t_get_tsv(env, num, &v, msg);

	if (rc < 0)
		return rc;
	strbuf_addch(&e->blocks, 'V');
	put_le(&e->blocks, num, 4);
	put_le(&e->blocks, (uint64_t)v, 8);
	return 0;
}

static const struct ax_env_ops trace_ops = {
	.read_reg = pa_env_read_reg,
	.read_mem = pa_env_read_mem,
	.get_tsv = t_get_tsv,
	.set_tsv = t_set_tsv,
	.collect_mem = t_collect_mem,
	.collect_tsv = t_collect_tsv,
};

static void collect_regs(struct tenv *e)
{
	const struct x86_gdb_layout *l = e->pa.s->layout;
	uint8_t buf[16];
	unsigned i;
	char *msg = NULL;

	if (pa_env_full_regs(&e->pa, &msg) < 0) {
		free(msg);
		return;
	}
	strbuf_addch(&e->blocks, 'R');
	for (i = 0; i < l->nregs; i++) {
		size_t n = x86_gdb_reg_size(l, i);

		if (x86_gdb_reg_get(&e->pa.regs, l, i, buf) < 0)
			memset(buf, 0, sizeof(buf));
		strbuf_add(&e->blocks, buf, n);
	}
}

/* Keeps a frame of len bytes: the oldest go first in a circular buffer;
 * false when it does not fit. */
static bool make_room(struct trace_state *t, size_t need)
{
	if (need > t->size)
		return false;
	while (t->used + need > t->size) {
		if (!t->circular || !t->nframes)
			return false;
		t->used -= 6 + t->frames[0].len;
		free(t->frames[0].data);
		memmove(t->frames, t->frames + 1,
			(t->nframes - 1) * sizeof(*t->frames));
		t->nframes--;
		t->first_num++;
		t->st.dropped++;
		if (t->cur >= 0)
			t->cur = -1;
	}
	return true;
}

static void collect(struct session *s, struct tracepoint *tp, unsigned v,
		    const struct x86_regs *regs)
{
	struct trace_state *t = s->trace;
	struct tenv e;
	size_t i;
	char *msg = NULL;

	pa_env_init(&e.pa, &trace_ops, s, v, regs);
	strbuf_init(&e.blocks, 0);
	tp->hits++;
	t->st.hits++;
	if (tp->cond) {
		struct ax_result res;
		int rc = ax_eval(tp->cond, &e.pa.env, &res, &msg);

		if (rc < 0 || !res.has_value || !res.value) {
			if (rc < 0) {
				t->st.errors++;
				log_info(LC_TRAP, "tracepoint %u: condition failed: %s",
					 tp->num, msg ? msg : strerror(-rc));
			} else {
				t->st.cond_false++;
			}
			free(msg);
			strbuf_release(&e.blocks);
			tp->hits--;
			return;
		}
	}
	for (i = 0; i < tp->nacts; i++) {
		struct tp_action *a = &tp->acts[i];

		if (a->kind == 'R') {
			collect_regs(&e);
		} else if (a->kind == 'M') {
			uint64_t base = 0;

			if (a->basereg >= 0 &&
			    pa_env_read_reg(&e.pa.env, (unsigned)a->basereg, &base, &msg) < 0) {
				free(msg);
				msg = NULL;
				continue;
			}
			t_collect_mem(&e.pa.env, base + a->offset, a->len, &msg);
		} else if (ax_eval(a->x, &e.pa.env, NULL, &msg) < 0) {
			t->st.errors++;
			log_info(LC_TRAP, "tracepoint %u: an expression failed: %s",
				 tp->num, msg ? msg : "");
		}
		free(msg);
		msg = NULL;
	}
	if (!make_room(t, 6 + e.blocks.len)) {
		strbuf_release(&e.blocks);
		trace_stop(s, "tfull:0");
		return;
	}
	if (t->nframes == t->aframes) {
		t->aframes = t->aframes ? 2 * t->aframes : 64;
		t->frames = xrealloc(t->frames, t->aframes * sizeof(*t->frames));
	}
	t->frames[t->nframes].tp = tp->num;
	t->frames[t->nframes].data = (uint8_t *)strbuf_detach(&e.blocks,
							      &t->frames[t->nframes].len);
	t->used += 6 + t->frames[t->nframes].len;
	tp->bytes += 6 + t->frames[t->nframes].len;
	t->nframes++;
	t->created++;
	t->st.frames++;
	if (tp->pass && tp->hits >= tp->pass) {
		char why[64];

		snprintf(why, sizeof(why), "tpasscount:%x", tp->num);
		trace_stop(s, why);
	}
}

bool trace_hit(struct session *s, unsigned v, uint64_t addr, bool stealth,
	       const struct x86_regs *regs)
{
	struct trace_state *t = s->trace;
	bool ours = false;
	size_t i;

	if (!t)
		return false;
	for (i = 0; i < t->ntps; i++) {
		struct tracepoint *tp = &t->tps[i];

		if (!tp->planted || tp->addr != addr || tp->stealth != stealth)
			continue;
		/* after the experiment ended, its int3s (still in until
		 * QTStop) let every vCPU go without a frame */
		ours = true;
		if (tp->enabled && t->running)
			collect(s, tp, v, regs);
	}
	return ours;
}

/* ---- the experiment ---- */

void trace_unplant(struct session *s)
{
	struct trace_state *t = s->trace;
	size_t i;

	for (i = 0; i < t->ntps; i++) {
		if (!t->tps[i].planted)
			continue;
		t->tps[i].planted = false;
		if (session_remove_point(s, t->tid, t->tps[i].stealth ? PT_HW_BREAK : PT_SW_BREAK,
					 t->tps[i].addr, 1) < 0)
			log_warn(LC_TRAP, "the %s of tracepoint %u at 0x%llx could not be removed",
				 t->tps[i].stealth ? "execute trap" : "int3",
				 t->tps[i].num, (unsigned long long)t->tps[i].addr);
	}
}

void trace_stop(struct session *s, const char *why)
{
	struct trace_state *t = s->trace;

	if (!t->running)
		return;
	t->running = false;
	t->stop_time = trace_now_us();
	snprintf(t->stop, sizeof(t->stop), "%s", why);
	/* the int3s go at the next stop of the guest (or now if stopped):
	 * a hit on one meanwhile is let go without a frame */
	if (!s->running)
		trace_unplant(s);
}

void trace_free_tp(struct tracepoint *tp)
{
	size_t i;

	for (i = 0; i < tp->nacts; i++) {
		ax_free(tp->acts[i].x);
		free(tp->acts[i].text);
	}
	free(tp->acts);
	ax_free(tp->cond);
	free(tp->cond_text);
	for (i = 0; i < tp->nsrcs; i++)
		free(tp->srcs[i]);
	free(tp->srcs);
}

void trace_clear_frames(struct trace_state *t)
{
	size_t i;

	for (i = 0; i < t->nframes; i++)
		free(t->frames[i].data);
	t->nframes = 0;
	t->used = 0;
	t->first_num = 0;
	t->created = 0;
	t->cur = -1;
}

/* Every definition and frame goes. */
static void forget(struct trace_state *t)
{
	size_t i;

	for (i = 0; i < t->ntps; i++)
		trace_free_tp(&t->tps[i]);
	t->ntps = 0;
	for (i = 0; i < t->ntsvs; i++)
		free(t->tsvs[i].name);
	t->ntsvs = 0;
	t->nro = 0;
	trace_clear_frames(t);
}

void trace_reset(struct session *s)
{
	struct trace_state *t = s->trace;

	if (!t)
		return;
	if (t->running) {
		t->running = false;
		snprintf(t->stop, sizeof(t->stop), "tdisconnected:0");
	}
	trace_unplant(s);
	forget(t);
}

void trace_free(struct session *s)
{
	struct trace_state *t = s->trace;

	if (!t)
		return;
	forget(t);
	free(t->tps);
	free(t->tsvs);
	free(t->frames);
	free(t->user);
	free(t->notes);
	free(t->stop_notes);
	strbuf_release(&t->raw);
	free(t);
	s->trace = NULL;
}

void trace_describe(struct session *s, struct strbuf *out)
{
	struct trace_state *t = s->trace;

	if (!t || (!t->ntps && !t->st.hits))
		return;
	strbuf_addf(out, "tracepoints: %zu defined, %s; %llu hits, %llu frames made, %llu conditions false, "
		    "%llu errors, %llu frames dropped (circular); buffer %zu of %zu bytes in %zu frames\n",
		    t->ntps, t->running ? "running" : "not running",
		    (unsigned long long)t->st.hits, (unsigned long long)t->st.frames,
		    (unsigned long long)t->st.cond_false, (unsigned long long)t->st.errors,
		    (unsigned long long)t->st.dropped, t->used, t->size, t->nframes);
}

/* ---- a selected frame ---- */

static struct tframe *cur_frame(struct session *s)
{
	struct trace_state *t = s->trace;

	if (!t || t->cur < 0 || (uint64_t)t->cur < t->first_num ||
	    (uint64_t)t->cur - t->first_num >= t->nframes)
		return NULL;
	return &t->frames[t->cur - (int64_t)t->first_num];
}

struct tracepoint *trace_find_tp(struct trace_state *t, unsigned num,
				 uint64_t addr, bool by_addr)
{
	size_t i;

	for (i = 0; i < t->ntps; i++)
		if (t->tps[i].num == num && (!by_addr || t->tps[i].addr == addr))
			return &t->tps[i];
	return NULL;
}

/* Walks the blocks of f: calls fn for each; stops when fn returns true. */
static bool walk_blocks(const struct tframe *f,
			bool (*fn)(void *ctx, char kind, const uint8_t *p, size_t n),
			void *ctx, size_t regsize)
{
	size_t off = 0;

	while (off < f->len) {
		char kind = (char)f->data[off++];
		size_t n;

		if (kind == 'R') {
			n = regsize;
		} else if (kind == 'M' && off + 10 <= f->len) {
			n = 10 + (size_t)get_le_n(f->data + off + 8, 2);
		} else if (kind == 'V') {
			n = 12;
		} else {
			return false;
		}
		if (off + n > f->len)
			return false;
		if (fn(ctx, kind, f->data + off, n))
			return true;
		off += n;
	}
	return false;
}

struct regs_ctx {
	const struct x86_gdb_layout *l;
	struct x86_regs *r;
	bool found;
};

static bool regs_block(void *ctx, char kind, const uint8_t *p, size_t n)
{
	struct regs_ctx *c = ctx;
	unsigned i;

	(void)n;
	if (kind != 'R')
		return false;
	for (i = 0; i < c->l->nregs; i++)
		x86_gdb_reg_set(c->r, c->l, i, p + x86_gdb_reg_offset(c->l, i));
	c->found = true;
	return true;
}

int trace_frame_regs(struct session *s, struct x86_regs *r)
{
	struct tframe *f = cur_frame(s);
	struct regs_ctx c = { s->layout, r, false };

	if (!f)
		return -ENOENT;
	memset(r, 0, sizeof(*r));
	walk_blocks(f, regs_block, &c, s->layout->g_size);
	if (!c.found) {
		/* only the pc is known: the tracepoint's address */
		struct tracepoint *tp = trace_find_tp(s->trace, f->tp, 0, false);
		int pc = x86_gdb_reg_find(s->layout, s->layout->addr_bits == 64 ? "rip" : "eip");
		uint8_t buf[8];

		if (tp && pc >= 0) {
			memcpy(buf, &tp->addr, 8);
			x86_gdb_reg_set(r, s->layout, (unsigned)pc, buf);
		}
	}
	return 0;
}

struct mem_ctx {
	uint64_t addr;
	uint8_t *buf;
	size_t len, got;
};

static bool mem_block(void *ctx, char kind, const uint8_t *p, size_t n)
{
	struct mem_ctx *c = ctx;
	uint64_t base, blen;

	(void)n;
	if (kind != 'M')
		return false;
	base = get_le_n(p, 8);
	blen = get_le_n(p + 8, 2);
	if (c->addr < base || c->addr - base >= blen)
		return false;
	c->got = (size_t)(blen - (c->addr - base));
	if (c->got > c->len)
		c->got = c->len;
	memcpy(c->buf, p + 10 + (c->addr - base), c->got);
	return true;
}

int trace_frame_mem(struct session *s, uint64_t addr, void *buf, size_t len,
		    size_t *done)
{
	struct tframe *f = cur_frame(s);
	struct mem_ctx c = { addr, buf, len, 0 };
	size_t i;

	if (!f)
		return -ENOENT;
	if (done)
		*done = 0;
	walk_blocks(f, mem_block, &c, s->layout->g_size);
	if (c.got) {
		if (done)
			*done = c.got;
		return c.got == len ? 0 : -EFAULT;
	}
	for (i = 0; i < s->trace->nro; i++)
		if (addr >= s->trace->ro[i].lo && addr + len <= s->trace->ro[i].hi)
			return -ENOENT;
	return -EFAULT;
}
