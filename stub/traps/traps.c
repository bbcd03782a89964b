// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Watchpoints and hardware breakpoints from mem_access permissions.
 *
 * Each gdb point covers byte ranges of guest-physical frames (translated
 * when it is inserted). Each frame counts the points of each kind on it
 * and gets the least restriction that catches them: a write watch takes
 * W away; a read or access watch takes R and W away (EPT cannot express
 * write-only, and asking Xen for it gives an EPT misconfiguration); a
 * hardware breakpoint takes X away. The permission a frame had before we
 * touched it is saved and comes back when the last point on it goes.
 * Changes are applied to Xen lazily, at resume: gdb removes and re-inserts
 * every point around each stop, and that costs no hypercall at all.
 *
 * An access event gives the faulting address but not the access size, so
 * the faulting instruction is decoded (arch/x86/insn.c) and every range it
 * touches is compared, byte-exact and by physical address (so aliases
 * count), with the points on its frames.
 */
#include "stub/traps/traps.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/insn.h"
#include "stub/base/log.h"
#include "stub/guest/journal.h"

/* A byte range of one frame covered by a point. */
struct piece {
	uint64_t gpa;
	uint32_t len;
	uint64_t vaddr;		/* what gdb calls the first byte */
};

struct point {
	enum trap_kind type;
	uint64_t addr, len;
	unsigned refs;
	struct piece *pieces;
	unsigned npieces;
	bool dead;		/* removed; slot reusable */
};

struct frame {
	uint64_t gfn;
	uint32_t nw, nrw, nx;	/* points of each kind */
	uint8_t orig;		/* TACC_* before we touched it */
	uint8_t applied;	/* what Xen has now */
	bool used;
	unsigned *pts;		/* indices of points with pieces here */
	unsigned npts, cappts;
};

struct kind_stats {
	uint64_t events, ns;
};

/* Bytes of one watched piece kept across a step (traps_snapshot). */
struct snap {
	unsigned point, piece;
	uint8_t *bytes;
};

struct traps {
	struct trap_env env;
	const struct bp_table *bps;	/* whose int3s code reads see through */
	struct point *points;
	unsigned npoints, cappoints;
	unsigned live;		/* points not dead */
	struct frame *frames;	/* open-addressing hash on gfn */
	unsigned nframes_cap, nframes;
	struct x86_decoder *dec64, *dec32, *dec16;
	struct kind_stats st[TV_NR];	/* by verdict */
	uint64_t stops;
	uint64_t delivery_hits;	/* hits made by event delivery */
	struct snap *snaps;
	unsigned nsnaps;
};

struct traps *traps_new(const struct trap_env *env,
			const struct bp_table *bps)
{
	struct traps *tr = xcalloc(1, sizeof(*tr));

	tr->env = *env;
	tr->bps = bps;
	tr->nframes_cap = 1024;
	tr->frames = xcalloc(tr->nframes_cap, sizeof(*tr->frames));
	return tr;
}

void traps_free(struct traps *tr)
{
	unsigned i;

	if (!tr)
		return;
	for (i = 0; i < tr->npoints; i++)
		free(tr->points[i].pieces);
	for (i = 0; i < tr->nframes_cap; i++)
		free(tr->frames[i].pts);
	for (i = 0; i < tr->nsnaps; i++)
		free(tr->snaps[i].bytes);
	free(tr->snaps);
	free(tr->points);
	free(tr->frames);
	x86_decoder_free(tr->dec64);
	x86_decoder_free(tr->dec32);
	x86_decoder_free(tr->dec16);
	free(tr);
}

bool traps_any(const struct traps *tr)
{
	return tr && tr->live;
}

/* ---- the frame table ---- */

static unsigned fhash(uint64_t gfn, unsigned cap)
{
	return (unsigned)((gfn * 0x9e3779b97f4a7c15ull) >> 40) & (cap - 1);
}

static struct frame *frame_find(struct traps *tr, uint64_t gfn)
{
	unsigned i = fhash(gfn, tr->nframes_cap), n;

	for (n = 0; n < tr->nframes_cap; n++, i = (i + 1) & (tr->nframes_cap - 1)) {
		struct frame *f = &tr->frames[i];

		if (!f->used && !f->pts)
			return NULL; /* never used: end of the probe chain */
		if (f->used && f->gfn == gfn)
			return f;
	}
	return NULL;
}

static void frames_grow(struct traps *tr);

static struct frame *frame_get(struct traps *tr, uint64_t gfn)
{
	struct frame *f = frame_find(tr, gfn);
	unsigned i, n;

	if (f)
		return f;
	if ((tr->nframes + 1) * 2 > tr->nframes_cap)
		frames_grow(tr);
	i = fhash(gfn, tr->nframes_cap);
	for (n = 0; n < tr->nframes_cap; n++, i = (i + 1) & (tr->nframes_cap - 1)) {
		f = &tr->frames[i];
		if (!f->used) {
			unsigned *keep = f->pts, cap = f->cappts;

			memset(f, 0, sizeof(*f));
			f->pts = keep; /* a tombstone keeps its array */
			f->cappts = cap;
			f->used = true;
			f->gfn = gfn;
			f->orig = 0xff; /* unknown until read */
			tr->nframes++;
			return f;
		}
	}
	return NULL; /* not reached: the table is at most half full */
}

static void frames_grow(struct traps *tr)
{
	struct frame *old = tr->frames;
	unsigned oldcap = tr->nframes_cap, i;

	tr->nframes_cap *= 2;
	tr->frames = xcalloc(tr->nframes_cap, sizeof(*tr->frames));
	tr->nframes = 0;
	for (i = 0; i < oldcap; i++) {
		struct frame *f;

		if (!old[i].used) {
			free(old[i].pts);
			continue;
		}
		f = frame_get(tr, old[i].gfn);
		free(f->pts);
		*f = old[i];
	}
	free(old);
}

static uint8_t desired(const struct frame *f)
{
	uint8_t a = f->orig == 0xff ? TACC_RWX : f->orig;

	if (f->nw)
		a &= (uint8_t)~TACC_W;
	if (f->nrw)
		a &= (uint8_t)~(TACC_R | TACC_W);
	if (f->nx)
		a &= (uint8_t)~TACC_X;
	return a;
}

static void frame_add_point(struct frame *f, unsigned pi)
{
	unsigned i;

	for (i = 0; i < f->npts; i++)
		if (f->pts[i] == pi)
			return;
	if (f->npts == f->cappts) {
		f->cappts = f->cappts ? f->cappts * 2 : 4;
		f->pts = xrealloc(f->pts, f->cappts * sizeof(*f->pts));
	}
	f->pts[f->npts++] = pi;
}

static void frame_del_point(struct frame *f, unsigned pi)
{
	unsigned i;

	for (i = 0; i < f->npts; i++) {
		if (f->pts[i] == pi) {
			f->pts[i] = f->pts[--f->npts];
			return;
		}
	}
}

static void count(struct frame *f, enum trap_kind t, int d)
{
	switch (t) {
	case TK_EXEC: f->nx += (uint32_t)d; break;
	case TK_WRITE: f->nw += (uint32_t)d; break;
	default: f->nrw += (uint32_t)d; break;
	}
}

/* ---- inserting and removing points ---- */

static int find_point(struct traps *tr, enum trap_kind t, uint64_t addr,
		      uint64_t len)
{
	unsigned i;

	for (i = 0; i < tr->npoints; i++) {
		const struct point *p = &tr->points[i];

		if (!p->dead && p->type == t && p->addr == addr && p->len == len)
			return (int)i;
	}
	return -1;
}

bool traps_ref(struct traps *tr, enum trap_kind kind, uint64_t addr,
	       uint64_t len)
{
	int pi;

	if (kind == TK_EXEC)
		len = 1;
	pi = find_point(tr, kind, addr, len);
	if (pi < 0)
		return false;
	tr->points[pi].refs++;
	return true;
}

int traps_insert(struct traps *tr, const struct aspace *as,
		 enum trap_kind type, uint64_t addr, uint64_t len,
		 struct strbuf *why)
{
	struct point *p;
	uint64_t off = 0;
	int pi;
	unsigned i;

	if (type == TK_EXEC)
		len = 1; /* gdb's kind is an instruction length hint */
	if (type < TK_EXEC || type > TK_ACCESS) {
		if (why)
			strbuf_addf(why, "unknown kind of trap %d", (int)type);
		return -EINVAL;
	}
	if (!len || len > (1ull << 30)) {
		if (why)
			strbuf_addf(why, "a watchpoint of %llu bytes is not supported (1 byte to 1 GiB)",
				    (unsigned long long)len);
		return -EINVAL;
	}
	pi = find_point(tr, type, addr, len);
	if (pi >= 0) {
		tr->points[pi].refs++;
		return 0;
	}
	/* reuse a dead slot so indices in frames stay small */
	for (i = 0; i < tr->npoints; i++)
		if (tr->points[i].dead && !tr->points[i].pieces)
			break;
	if (i == tr->npoints) {
		if (tr->npoints == tr->cappoints) {
			tr->cappoints = tr->cappoints ? tr->cappoints * 2 : 64;
			tr->points = xrealloc(tr->points,
					      tr->cappoints * sizeof(*tr->points));
		}
		tr->npoints++;
	}
	p = &tr->points[i];
	memset(p, 0, sizeof(*p));
	p->type = type;
	p->addr = addr;
	p->len = len;
	p->refs = 1;
	while (off < len) {
		uint64_t a = addr + off, n = 4096 - (a & 4095);
		struct x86_walk w;

		if (n > len - off)
			n = len - off;
		if (as->phys || as->mode == X86_PAGING_NONE) {
			w.paddr = a;
		} else if (vmem_translate(tr->env.mem, as, a, &w) < 0) {
			if (why)
				strbuf_addf(why, "cannot watch 0x%llx: the address is not mapped in the selected thread's address space",
					    (unsigned long long)a);
			free(p->pieces);
			p->pieces = NULL;
			p->dead = true;
			return -EFAULT;
		}
		if ((w.paddr >> 12) > tr->env.t->max_gfn) {
			if (why)
				strbuf_addf(why, "cannot watch 0x%llx: guest-physical 0x%llx is outside the guest's memory",
					    (unsigned long long)a, (unsigned long long)w.paddr);
			free(p->pieces);
			p->pieces = NULL;
			p->dead = true;
			return -EFAULT;
		}
		p->pieces = xrealloc(p->pieces, (p->npieces + 1) * sizeof(*p->pieces));
		p->pieces[p->npieces++] = (struct piece){ w.paddr, (uint32_t)n, a };
		off += n;
	}
	for (i = 0; i < p->npieces; i++) {
		struct frame *f = frame_get(tr, p->pieces[i].gpa >> 12);

		count(f, type, +1);
		frame_add_point(f, (unsigned)(p - tr->points));
	}
	tr->live++;
	log_dbg(LC_TRAP, "point type %d at 0x%llx+%llu over %u frame piece%s", type,
		(unsigned long long)addr, (unsigned long long)len, p->npieces,
		p->npieces == 1 ? "" : "s");
	return 0;
}

int traps_remove(struct traps *tr, enum trap_kind type, uint64_t addr,
		 uint64_t len)
{
	struct point *p;
	int pi;
	unsigned i;

	if (!tr)
		return -ENOENT;
	if (type == TK_EXEC)
		len = 1;
	pi = find_point(tr, type, addr, len);
	if (pi < 0)
		return -ENOENT;
	p = &tr->points[pi];
	if (--p->refs)
		return 0;
	for (i = 0; i < p->npieces; i++) {
		struct frame *f = frame_find(tr, p->pieces[i].gpa >> 12);

		if (!f)
			continue;
		count(f, type, -1);
		frame_del_point(f, (unsigned)pi);
	}
	free(p->pieces);
	p->pieces = NULL;
	p->npieces = 0;
	p->dead = true;
	tr->live--;
	return 0;
}

/* ---- applying permissions ---- */

static int apply(struct traps *tr, uint64_t *gfns, uint8_t *acc, unsigned n)
{
	unsigned i;
	int rc;

	if (!n)
		return 0;
	/* the journal learns each restriction before Xen does */
	for (i = 0; i < n; i++) {
		struct frame *f = frame_find(tr, gfns[i]);

		if (f && acc[i] != f->orig && f->applied == f->orig)
			journal_note(tr->env.j, "access 0 %llx %x",
				     (unsigned long long)gfns[i], f->orig);
	}
	rc = target_ev_set_access(tr->env.t, 0, gfns, acc, n);
	if (rc == 0) {
		for (i = 0; i < n; i++) {
			struct frame *f = frame_find(tr, gfns[i]);

			if (f && acc[i] == f->orig && f->applied != f->orig)
				journal_note(tr->env.j, "access-off 0 %llx",
					     (unsigned long long)gfns[i]);
		}
	}
	return rc;
}

int traps_commit(struct traps *tr)
{
	uint64_t gfns[256];
	uint8_t acc[256];
	struct frame *changed[256];
	unsigned i, n = 0, k;
	int rc = 0;

	if (!tr)
		return 0;
	for (i = 0; i < tr->nframes_cap; i++) {
		struct frame *f = &tr->frames[i];
		uint8_t want;

		if (!f->used)
			continue;
		if (f->orig == 0xff) {
			uint8_t a = TACC_RWX;

			if (target_ev_get_access(tr->env.t, 0, f->gfn, &a) < 0) {
				rc = -EOPNOTSUPP;
				break;
			}
			f->orig = a;
			f->applied = a;
		}
		want = desired(f);
		if (want != f->applied) {
			gfns[n] = f->gfn;
			acc[n] = want;
			changed[n] = f;
			n++;
		}
		if (n == 256 || (n && i + 1 == tr->nframes_cap)) {
			rc = apply(tr, gfns, acc, n);
			if (rc < 0)
				break;
			for (k = 0; k < n; k++)
				changed[k]->applied = acc[k];
			n = 0;
		}
		/* a frame nobody watches any more, back as it was, goes */
		if (!f->nw && !f->nrw && !f->nx && f->applied == f->orig &&
		    !(n && changed[n - 1] == f)) {
			f->used = false;
			f->npts = 0;
			tr->nframes--;
		}
	}
	if (!rc && n) {
		rc = apply(tr, gfns, acc, n);
		if (!rc)
			for (k = 0; k < n; k++)
				changed[k]->applied = acc[k];
	}
	return rc;
}

void traps_restore_all(struct traps *tr)
{
	unsigned i;

	if (!tr)
		return;
	for (i = 0; i < tr->nframes_cap; i++) {
		struct frame *f = &tr->frames[i];

		if (!f->used || f->orig == 0xff || f->applied == f->orig)
			continue;
		if (apply(tr, &f->gfn, &f->orig, 1) < 0)
			log_err(LC_TRAP, "the permission of frame 0x%llx could not be restored: %s",
				(unsigned long long)f->gfn, target_strerror(tr->env.t));
		else
			f->applied = f->orig;
	}
}

int traps_relax(struct traps *tr, const uint64_t *gfns, unsigned n)
{
	unsigned i;
	int rc = 0;

	for (i = 0; tr && i < n && !rc; i++) {
		struct frame *f = frame_find(tr, gfns[i]);

		if (f && f->applied != f->orig) {
			rc = apply(tr, &f->gfn, &f->orig, 1);
			if (!rc)
				f->applied = f->orig;
		}
	}
	return rc;
}

int traps_unrelax(struct traps *tr, const uint64_t *gfns, unsigned n)
{
	unsigned i;
	int rc = 0;

	for (i = 0; tr && i < n && !rc; i++) {
		struct frame *f = frame_find(tr, gfns[i]);
		uint8_t want;

		if (!f)
			continue;
		want = desired(f);
		if (f->applied != want) {
			rc = apply(tr, &f->gfn, &want, 1);
			if (!rc)
				f->applied = want;
		}
	}
	return rc;
}

/* ---- classifying access events ---- */

static struct x86_decoder *decoder(struct traps *tr, unsigned bits)
{
	struct x86_decoder **d = bits == 64 ? &tr->dec64 :
				 bits == 32 ? &tr->dec32 : &tr->dec16;

	if (!*d)
		*d = x86_decoder_new(bits);
	return *d;
}

static void add_gfn(struct trap_hit *h, uint64_t gfn)
{
	unsigned i;

	for (i = 0; i < h->ngfns; i++)
		if (h->gfns[i] == gfn)
			return;
	if (h->ngfns < sizeof(h->gfns) / sizeof(h->gfns[0]))
		h->gfns[h->ngfns++] = gfn;
}

/*
 * Compares a physical byte range accessed (read and/or write) with the
 * points on its frame. On a hit fills hit->kind/addr and returns true.
 * Write watches take writes; read watches reads; access watches both.
 */
static bool match_range(struct traps *tr, uint64_t gpa, uint64_t n, bool rd,
			bool wr, struct trap_hit *hit)
{
	struct frame *f = frame_find(tr, gpa >> 12);
	unsigned i, j;

	if (!f)
		return false;
	for (i = 0; i < f->npts; i++) {
		const struct point *p = &tr->points[f->pts[i]];
		bool kind_ok;

		if (p->dead)
			continue;
		switch (p->type) {
		case TK_WRITE: kind_ok = wr; break;
		case TK_READ: kind_ok = rd; break;
		case TK_ACCESS: kind_ok = rd || wr; break;
		default: kind_ok = false; break;
		}
		if (!kind_ok)
			continue;
		for (j = 0; j < p->npieces; j++) {
			const struct piece *pc = &p->pieces[j];
			uint64_t lo = gpa > pc->gpa ? gpa : pc->gpa;
			uint64_t hi = gpa + n < pc->gpa + pc->len ? gpa + n :
								   pc->gpa + pc->len;

			if (lo < hi) {
				hit->kind = p->type;
				hit->addr = pc->vaddr + (lo - pc->gpa);
				return true;
			}
		}
	}
	return false;
}

static bool exec_match(struct traps *tr, uint64_t gpa, struct trap_hit *hit)
{
	struct frame *f = frame_find(tr, gpa >> 12);
	unsigned i, j;

	if (!f || !f->nx)
		return false;
	for (i = 0; i < f->npts; i++) {
		const struct point *p = &tr->points[f->pts[i]];

		if (p->dead || p->type != TK_EXEC)
			continue;
		for (j = 0; j < p->npieces; j++) {
			if (p->pieces[j].gpa == gpa) {
				hit->kind = TK_EXEC;
				hit->addr = p->addr;
				return true;
			}
		}
	}
	return false;
}

/* Does [lo, lo+n) hold the linear address a (no wrap-around)? */
static bool covers(uint64_t lo, uint64_t n, uint64_t a)
{
	return a >= lo && a - lo < n;
}

/* The instruction bytes at a vCPU's rip as the guest wrote them. */
static int read_code(struct traps *tr, const struct x86_regs *r,
		     uint8_t *buf, size_t len, size_t *got)
{
	struct aspace as;

	if (tr->bps)
		return bp_read_code(tr->bps, r, buf, len, got);
	vmem_aspace_of(r, &as);
	*got = 0;
	return vmem_read(tr->env.mem, &as, r->rip, buf, len, got);
}

/*
 * Compares the data the instruction at the event's rip reads and writes
 * with the points, byte-exact and by physical address, and adds every
 * frame of ours it touches to hit->gfns (they are relaxed to complete
 * it). True on a hit (hit->kind, hit->addr). *decoded is false when the
 * instruction could not be decoded; *explained says whether the event's
 * linear address is one the instruction fetches or accesses (an event
 * without a valid linear address counts as explained).
 */
static bool match_data(struct traps *tr, const struct target_event *ev,
		       struct trap_hit *hit, bool *decoded, bool *explained)
{
	const struct x86_regs *r = &ev->regs;
	uint64_t gla = ev->u.mem.gla;
	bool have_gla = ev->u.mem.flags & TMEM_GLA_VALID;
	struct aspace as;
	struct x86_insn_info insn;
	struct x86_decoder *d;
	uint8_t code[16];
	size_t got = 0;
	unsigned i;
	bool hit_found = false;

	*decoded = false;
	*explained = !have_gla;
	vmem_aspace_of(r, &as);
	d = decoder(tr, x86_code_bits(r));
	if (d)
		read_code(tr, r, code, sizeof(code), &got);
	if (!d || !got || x86_decode(d, code, got, r, &insn) < 0)
		return false;
	*decoded = true;
	/* the fetch of the instruction itself (and its page walk) */
	if (have_gla && covers(r->rip, insn.length ? insn.length : 1, gla))
		*explained = true;
	for (i = 0; i < insn.naccess; i++) {
		const struct x86_mem_access *a = &insn.acc[i];
		uint64_t off = 0;

		if (have_gla && covers(a->addr, a->size, gla))
			*explained = true;
		while (off < a->size) {
			uint64_t la = a->addr + off;
			uint64_t n = 4096 - (la & 4095);
			struct x86_walk w;

			if (n > a->size - off)
				n = a->size - off;
			if (vmem_translate(tr->env.mem, &as, la, &w) == 0) {
				if (frame_find(tr, w.paddr >> 12))
					add_gfn(hit, w.paddr >> 12);
				if (!hit_found)
					hit_found = match_range(tr, w.paddr, n,
								a->read, a->write, hit);
			}
			off += n;
		}
	}
	return hit_found;
}

/*
 * An access the instruction at rip did not make: the CPU itself made it
 * while delivering an interrupt or exception (pushing its frame, reading
 * the IDT, GDT or TSS). Emulating the instruction at rip would execute an
 * unrelated instruction and have the delivery retried: it is stepped
 * through instead. Nothing says how many bytes the CPU touches; the byte
 * it faulted on is judged now, and the watched bytes it changed after
 * the step (traps_changed()).
 */
static enum trap_verdict by_delivery(struct traps *tr,
				     const struct target_event *ev,
				     uint64_t fault_gpa, struct trap_hit *hit)
{
	log_dbg(LC_TRAP, "access to 0x%llx (gfn 0x%llx) not made by the instruction at 0x%llx: event delivery",
		(unsigned long long)ev->u.mem.gla,
		(unsigned long long)ev->u.mem.gfn,
		(unsigned long long)ev->regs.rip);
	hit->delivery = true;
	if (match_range(tr, fault_gpa, 1, ev->u.mem.access & TACC_R,
			ev->u.mem.access & TACC_W, hit)) {
		tr->delivery_hits++;
		return TV_HIT_DATA;
	}
	return TV_STEP;
}

enum trap_verdict traps_classify(struct traps *tr,
				 const struct target_event *ev,
				 struct trap_hit *hit)
{
	uint64_t fault_gpa = (ev->u.mem.gfn << 12) | ev->u.mem.offset;
	bool decoded, explained;

	memset(hit, 0, sizeof(*hit));
	if (!tr)
		return TV_PASS;
	add_gfn(hit, ev->u.mem.gfn);
	if (ev->u.mem.access & TACC_X) {
		/* An instruction fetch. Whatever becomes of it, its data
		 * accesses are judged now: an instruction let through is
		 * completed by Xen's emulator, which checks no permission. */
		struct trap_hit data = *hit;
		bool exec = exec_match(tr, fault_gpa, hit);
		bool dhit = match_data(tr, ev, &data, &decoded, &explained);
		unsigned i;

		for (i = 0; i < data.ngfns; i++)
			add_gfn(hit, data.gfns[i]);
		if (exec) {
			if (dhit) {
				hit->then_kind = data.kind;
				hit->then_addr = data.addr;
			}
			return TV_HIT_EXEC;
		}
		if (dhit) {
			hit->kind = data.kind;
			hit->addr = data.addr;
			return TV_HIT_DATA;
		}
		return TV_PASS;
	}
	/* A data access, or a page walk that read one of our page-table
	 * frames (not the program's read: the instruction's own accesses
	 * are judged, for the same reason as above). */
	if (match_data(tr, ev, hit, &decoded, &explained))
		return TV_HIT_DATA;
	if (decoded && !explained)
		return by_delivery(tr, ev, fault_gpa, hit);
	if (decoded || (ev->u.mem.flags & TMEM_FAULT_IN_GPT))
		return TV_PASS;
	/* the instruction cannot be decoded: judge by the faulting byte */
	log_dbg(LC_TRAP, "instruction at 0x%llx not decoded: using the faulting address only",
		(unsigned long long)ev->regs.rip);
	if (match_range(tr, fault_gpa, 1, ev->u.mem.access & TACC_R,
			ev->u.mem.access & TACC_W, hit))
		return TV_HIT_DATA;
	return TV_PASS;
}

/* ---- accesses of unknown size ---- */

static void snaps_clear(struct traps *tr)
{
	unsigned i;

	for (i = 0; i < tr->nsnaps; i++)
		free(tr->snaps[i].bytes);
	free(tr->snaps);
	tr->snaps = NULL;
	tr->nsnaps = 0;
}

void traps_snapshot(struct traps *tr, const uint64_t *gfns, unsigned n)
{
	unsigned i, j, k;

	if (!tr)
		return;
	snaps_clear(tr);
	for (i = 0; i < n; i++) {
		struct frame *f = frame_find(tr, gfns[i]);

		if (!f)
			continue;
		for (j = 0; j < f->npts; j++) {
			const struct point *p = &tr->points[f->pts[j]];

			if (p->dead || (p->type != TK_WRITE &&
					p->type != TK_ACCESS))
				continue;
			for (k = 0; k < p->npieces; k++) {
				const struct piece *pc = &p->pieces[k];
				struct snap sn = { f->pts[j], k, xmalloc(pc->len) };

				if ((pc->gpa >> 12) != gfns[i] ||
				    vmem_read_phys(tr->env.mem, pc->gpa, sn.bytes,
						   pc->len, NULL) < 0) {
					free(sn.bytes);
					continue;
				}
				tr->snaps = xrealloc(tr->snaps, (tr->nsnaps + 1) *
						     sizeof(*tr->snaps));
				tr->snaps[tr->nsnaps++] = sn;
			}
		}
	}
}

bool traps_changed(struct traps *tr, struct trap_hit *hit)
{
	bool found = false;
	unsigned i;

	if (!tr)
		return false;
	for (i = 0; i < tr->nsnaps && !found; i++) {
		const struct snap *sn = &tr->snaps[i];
		const struct point *p = &tr->points[sn->point];
		const struct piece *pc;
		uint8_t now[4096];
		uint32_t b;

		if (p->dead || sn->piece >= p->npieces)
			continue; /* removed meanwhile */
		pc = &p->pieces[sn->piece];
		if (vmem_read_phys(tr->env.mem, pc->gpa, now, pc->len, NULL) < 0)
			continue;
		for (b = 0; b < pc->len; b++) {
			if (now[b] != sn->bytes[b]) {
				hit->kind = p->type;
				hit->addr = pc->vaddr + b;
				found = true;
				break;
			}
		}
	}
	snaps_clear(tr);
	if (found)
		tr->delivery_hits++;
	return found;
}

/* ---- statistics ---- */

void traps_note_event(struct traps *tr, enum trap_verdict v, uint64_t ns)
{
	if (!tr)
		return;
	tr->st[v].events++;
	tr->st[v].ns += ns;
	if (v != TV_PASS)
		tr->stops++;
}

void traps_describe(const struct traps *tr, struct strbuf *out)
{
	static const char *const names[TV_NR] = {
		"passed through", "watchpoint hits",
		"hardware breakpoint hits", "stepped through (delivery)",
	};
	unsigned i, with_points = 0, restricted = 0;

	if (!tr)
		return;
	for (i = 0; i < tr->nframes_cap; i++) {
		const struct frame *f = &tr->frames[i];

		if (!f->used)
			continue;
		with_points += f->npts != 0;
		restricted += f->applied != f->orig;
	}
	/* frames stay in the table once their points are gone: only those
	 * with points count, and those Xen still restricts are named */
	strbuf_addf(out, "access traps: %u points on %u frames", tr->live,
		    with_points);
	if (restricted)
		strbuf_addf(out, " (%u frame%s restricted in Xen now)", restricted,
			    restricted == 1 ? "" : "s");
	strbuf_addch(out, '\n');
	if (tr->delivery_hits)
		strbuf_addf(out, "  hits made by event delivery (not the instruction at rip): %llu\n",
			    (unsigned long long)tr->delivery_hits);
	for (i = 0; i < TV_NR; i++)
		strbuf_addf(out, "  %-28s %llu events, mean handling %.1f us\n",
			    names[i], (unsigned long long)tr->st[i].events,
			    tr->st[i].events ? tr->st[i].ns / 1000.0 / tr->st[i].events : 0.0);
}
