// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * walkcheck: compares xensim's page walk (simd-walk.c) with xenstub's
 * (arch/x86/paging.c), the one program that links both. On a QEMU dump it
 * walks a large sample of addresses under each vCPU's CR3, and arbitrary
 * frames of the dump taken as page tables; on synthetic tables it sets
 * every bit of every entry in every mode and checks both walkers against
 * the outcome the Intel SDM gives. Prints a JSON report on stdout; exits
 * 0 when everything agrees, 1 when something differs, 2 when it cannot run.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arch/x86/paging.h"
#include "stub/base/num.h"
#include "stub/base/strbuf.h"
#include "tests/xensim/simd.h"

#define MAX_LISTED 40		/* differences listed in the report */
#define KiB ((uint64_t)1024)
#define MiB (1024 * KiB)
#define GiB (1024 * MiB)

/* ---- what a walk gave, in terms both walkers can express ---- */

struct outcome {
	enum sim_walk_fault kind;
	unsigned level;		/* the entry at fault (0 when none) */
	uint64_t gpa, page_size;
	bool w, u, nx;
};

/* Guest-physical memory both walkers read: a dump, or synthetic frames. */
struct phys {
	const struct sim_dump *dump;
	const uint8_t *data;
	uint8_t *frames;
	uint64_t base, len;
};

static const uint8_t *phys_ptr(const struct phys *p, uint64_t gpa,
			       uint64_t len)
{
	if (p->dump)
		return sim_dump_phys(p->dump, p->data, gpa, len);
	if (gpa < p->base || gpa - p->base > p->len ||
	    len > p->len - (gpa - p->base))
		return NULL;
	return p->frames + (gpa - p->base);
}

static int xensim_read(void *opaque, uint64_t gpa, unsigned size,
		       uint64_t *entry)
{
	const uint8_t *b = phys_ptr(opaque, gpa, size);

	if (!b)
		return -ENXIO;
	*entry = get_le(b, size);
	return 0;
}

static int xenstub_read(void *opaque, uint64_t paddr, void *buf, size_t len)
{
	const uint8_t *b = phys_ptr(opaque, paddr, len);

	if (!b)
		return -ENXIO;
	memcpy(buf, b, len);
	return 0;
}

static void walk_xensim(const struct sim_mmu *m, uint64_t va, struct phys *p,
			struct outcome *o)
{
	struct sim_walk w;

	sim_walk(m, va, xensim_read, p, &w);
	memset(o, 0, sizeof(*o));
	o->kind = w.fault;
	if (w.fault == SIM_WALK_OK) {
		o->gpa = w.gpa;
		o->page_size = w.page_size;
		o->w = w.writable;
		o->u = w.user;
		o->nx = w.nx;
	} else {
		o->level = w.level;
	}
}

static unsigned level_of(const char *name)
{
	static const char *const names[] = { "", "PTE", "PDE", "PDPTE",
					     "PML4E", "PML5E" };
	unsigned i;

	for (i = 1; name && i < 6; i++)
		if (!strcmp(name, names[i]))
			return i;
	return 0;
}

/* xenstub's answer: 0, -EFAULT (not present), -EINVAL (non-canonical
 * before any read, else a reserved bit), or the read's error. */
static void walk_xenstub(const struct sim_mmu *m, uint64_t va,
			 struct phys *p, struct outcome *o)
{
	enum x86_paging_mode mode = x86_paging_mode(m->cr0, m->cr4, m->efer);
	struct x86_walk w;
	int rc = x86_translate(mode, m->cr3, va, m->maxphyaddr, xenstub_read,
			       p, &w);

	memset(o, 0, sizeof(*o));
	if (!rc) {
		o->kind = SIM_WALK_OK;
		o->gpa = w.paddr;
		o->page_size = w.page_size;
		o->w = w.writable;
		o->u = w.user;
		o->nx = w.nx;
	} else if (rc == -EFAULT) {
		o->kind = SIM_WALK_NOT_PRESENT;
		o->level = level_of(w.level[w.nlevels - 1].name);
	} else if (rc == -EINVAL && !w.nlevels) {
		o->kind = SIM_WALK_NONCANONICAL;
	} else if (rc == -EINVAL) {
		o->kind = SIM_WALK_RESERVED;
		o->level = level_of(w.level[w.nlevels - 1].name);
	} else {
		/* the entry whose read failed is the next one */
		o->kind = SIM_WALK_READ_ERROR;
		o->level = w.nlevels < 5 ? level_of(w.level[w.nlevels].name) : 0;
	}
}

static bool same(const struct outcome *a, const struct outcome *b)
{
	if (a->kind != b->kind || a->level != b->level)
		return false;
	return a->kind != SIM_WALK_OK ||
	       (a->gpa == b->gpa && a->page_size == b->page_size &&
		a->w == b->w && a->u == b->u && a->nx == b->nx);
}

static void describe(struct strbuf *sb, const struct outcome *o)
{
	if (o->kind != SIM_WALK_OK) {
		strbuf_addf(sb, "%s", sim_walk_fault_name(o->kind));
		if (o->level)
			strbuf_addf(sb, " at the %s", sim_walk_level_name(o->level));
		return;
	}
	strbuf_addf(sb, "gpa 0x%" PRIx64 " in a %" PRIu64 " KiB page, %s, %s%s",
		    o->gpa, o->page_size / KiB, o->w ? "writable" : "read-only",
		    o->u ? "user" : "supervisor", o->nx ? ", no-execute" : "");
}

/* ---- the report ---- */

struct tally {
	uint64_t compared;
	uint64_t differences;
	uint64_t kind[SIM_WALK_READ_ERROR + 1];
	uint64_t large;		/* translations in 2 MiB, 4 MiB, 1 GiB pages */
};

struct report {
	struct strbuf listed;	/* JSON objects, comma-separated */
	unsigned nlisted;
	uint64_t differences;
	uint64_t wrong;		/* synthetic outcomes against the SDM's */
};

static void json_str(struct strbuf *sb, const char *s)
{
	strbuf_addch(sb, '"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			strbuf_addch(sb, '\\');
		strbuf_addch(sb, *s);
	}
	strbuf_addch(sb, '"');
}

static void list_item(struct report *r, const char *section,
		      const char *where, const struct sim_mmu *m, uint64_t va,
		      const char *k1, const struct outcome *o1,
		      const char *k2, const struct outcome *o2)
{
	struct strbuf sb = STRBUF_INIT;

	if (r->nlisted++ >= MAX_LISTED)
		return;
	if (r->listed.len)
		strbuf_addstr(&r->listed, ",\n    ");
	strbuf_addf(&r->listed, "{\"section\": \"%s\", \"where\": ", section);
	json_str(&r->listed, where);
	strbuf_addf(&r->listed, ", \"mode\": \"%s\", \"cr3\": \"0x%" PRIx64
		    "\", \"maxphyaddr\": %u, \"va\": \"0x%" PRIx64 "\", \"%s\": ",
		    sim_paging_name(sim_paging_mode(m)), m->cr3, m->maxphyaddr,
		    va, k1);
	describe(&sb, o1);
	json_str(&r->listed, sb.buf);
	strbuf_reset(&sb);
	strbuf_addf(&r->listed, ", \"%s\": ", k2);
	describe(&sb, o2);
	json_str(&r->listed, sb.buf);
	strbuf_addch(&r->listed, '}');
	strbuf_release(&sb);
}

/* Walks va with both walkers and records whether they agree. */
static void compare(struct report *r, struct tally *t, const char *section,
		    const char *where, const struct sim_mmu *m, uint64_t va,
		    struct phys *p, struct outcome *xs)
{
	struct outcome st;

	walk_xensim(m, va, p, xs);
	walk_xenstub(m, va, p, &st);
	t->compared++;
	t->kind[xs->kind]++;
	if (xs->kind == SIM_WALK_OK && xs->page_size > 4 * KiB)
		t->large++;
	if (same(xs, &st))
		return;
	t->differences++;
	r->differences++;
	list_item(r, section, where, m, va, "xensim", xs, "xenstub", &st);
}

/* ---- small helpers ---- */

static uint64_t bits(unsigned hi, unsigned lo)
{
	if (hi < lo)
		return 0;
	return (hi >= 63 ? ~0ull : (1ull << (hi + 1)) - 1) & ~((1ull << lo) - 1);
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static uint64_t sign_extend(uint64_t va, unsigned vbits)
{
	return (uint64_t)((int64_t)(va << (64 - vbits)) >> (64 - vbits));
}

/* The span of linear addresses one entry at level maps in the mode. */
static uint64_t level_span(enum sim_paging mode, unsigned level)
{
	if (mode == SIM_PAGING_32)
		return level == SIM_LVL_PDE ? 4 * MiB : 4 * KiB;
	return 1ull << (12 + 9 * (level - 1));
}

/* ---- the dump: each vCPU's own tables ---- */

struct sweep_stats {
	uint64_t skipped;	/* regions both walkers found not present */
	/* 2 MiB slots whose PDE is present (a large page, or a page table
	 * the sweep reached), each to be walked page by page */
	uint64_t *slots;
	size_t nslots, cap;
	uint64_t pages;		/* 4 KiB pages walked in them */
};

/* The most slots walked page by page, per root. */
#define MAX_SLOTS 8192

/*
 * Every step bytes of [lo, hi]. Where both walkers agree that an entry
 * above the step's level is not present, the rest of the span that entry
 * maps is skipped: the same entry decides every address in it.
 */
static void sweep(struct report *r, struct tally *t, const char *where,
		  const struct sim_mmu *m, struct phys *p, uint64_t lo,
		  uint64_t hi, uint64_t step, bool skip, struct sweep_stats *ss)
{
	enum sim_paging mode = sim_paging_mode(m);
	uint64_t va = lo;

	for (;;) {
		struct outcome o;
		uint64_t next = va + step;
		uint64_t before = t->differences;

		compare(r, t, "dump", where, m, va, p, &o);
		if (skip && step == 2 * MiB && ss->nslots < MAX_SLOTS &&
		    (o.kind == SIM_WALK_OK ||
		     (o.kind != SIM_WALK_NONCANONICAL && o.level == SIM_LVL_PTE))) {
			if (ss->nslots == ss->cap) {
				ss->cap = ss->cap ? 2 * ss->cap : 256;
				ss->slots = xrealloc(ss->slots, st_mult(ss->cap, sizeof(*ss->slots)));
			}
			ss->slots[ss->nslots++] = va;
		}
		if (skip && before == t->differences &&
		    o.kind == SIM_WALK_NOT_PRESENT &&
		    level_span(mode, o.level) > step) {
			uint64_t span = level_span(mode, o.level);

			next = (va & ~(span - 1)) + span;
			ss->skipped++;
		}
		if (next <= va || next > hi)
			break;
		va = next;
	}
}

/* 4 KiB steps over [center - below, center + above), clamped to the
 * address space. */
static void around(struct report *r, struct tally *t, const char *where,
		   const struct sim_mmu *m, struct phys *p, uint64_t center,
		   uint64_t below, uint64_t above, struct sweep_stats *ss)
{
	uint64_t lo = (center & ~0xfffull) > below ? (center & ~0xfffull) - below : 0;
	uint64_t hi = (center & ~0xfffull) + above < center ? ~0ull
		      : (center & ~0xfffull) + above - 1;

	sweep(r, t, where, m, p, lo, hi, 4 * KiB, false, ss);
}

static void vcpu_mmu_of(const struct hvm_hw_cpu *c, struct sim_mmu *m)
{
	memset(m, 0, sizeof(*m));
	m->cr0 = c->cr0;
	m->cr3 = c->cr3;
	m->cr4 = c->cr4;
	m->efer = c->msr_efer;
	m->maxphyaddr = SIM_MAXPHYSADDR;
}

static void tally_json(struct strbuf *out, const struct tally *t)
{
	strbuf_addf(out, "\"compared\": %" PRIu64 ", \"differences\": %" PRIu64
		    ", \"translated\": %" PRIu64 ", \"not_present\": %" PRIu64
		    ", \"reserved\": %" PRIu64 ", \"non_canonical\": %" PRIu64
		    ", \"read_error\": %" PRIu64 ", \"in_large_pages\": %" PRIu64,
		    t->compared, t->differences,
		    t->kind[SIM_WALK_OK], t->kind[SIM_WALK_NOT_PRESENT],
		    t->kind[SIM_WALK_RESERVED], t->kind[SIM_WALK_NONCANONICAL],
		    t->kind[SIM_WALK_READ_ERROR], t->large);
}

/* The addresses walked under one root. */
static void sample_root(struct report *r, struct tally *t, const char *where,
			const struct sim_mmu *m, const struct hvm_hw_cpu *c,
			struct phys *p, struct sweep_stats *ss)
{
	enum sim_paging mode = sim_paging_mode(m);
	static const uint64_t odd[] = {
		0x0000800000000000ull, 0x0000800000001000ull,
		0xffff7fffffffffffull, 0xffff7ffffffff000ull,
		0x8000000000000000ull, 0x7fffffffffffffffull,
		0x00ff000000000000ull, 0xff00000000000000ull,
		0x0100000000000000ull, 0xfeffffffffffffffull,
		0x00007ffffffff000ull, 0xffff800000000000ull,
		0xfffffffffffff000ull, 0, 0xfff, 0xfffff000ull,
		0x100000000ull,
	};
	const uint64_t regs[] = { c->rip, c->rsp, c->gs_base, c->fs_base,
				  c->shadow_gs, c->idtr_base, c->gdtr_base,
				  c->tr_base, c->cr2 };
	uint64_t seed = 0x9e3779b97f4a7c15ull ^ m->cr3;
	unsigned i;

	/* Both halves every 2 MiB (32-bit modes: the 4 GiB). */
	if (mode == SIM_PAGING_4 || mode == SIM_PAGING_5) {
		unsigned vbits = mode == SIM_PAGING_5 ? 57 : 48;

		sweep(r, t, where, m, p, 0, bits(vbits - 2, 0), 2 * MiB, true,
		      ss);
		sweep(r, t, where, m, p, sign_extend(1ull << (vbits - 1), vbits),
		      ~0ull, 2 * MiB, true, ss);
	} else {
		sweep(r, t, where, m, p, 0, 0xffffffffull, 2 * MiB, true, ss);
	}
	/* Every 4 KiB page of each mapped 2 MiB slot the sweeps found. */
	for (i = 0; i < ss->nslots; i++) {
		struct outcome o;
		unsigned k;

		for (k = 0; k < 512; k++)
			compare(r, t, "dump", where, m, ss->slots[i] + k * 4 * KiB,
				p, &o);
		ss->pages += 512;
	}
	/* Every 4 KiB page around what the registers point at. */
	around(r, t, where, m, p, c->rip, 16 * MiB, 16 * MiB, ss);
	for (i = 1; i < sizeof(regs) / sizeof(regs[0]); i++)
		if (regs[i])
			around(r, t, where, m, p, regs[i], 4 * MiB, 4 * MiB, ss);
	/* The first 64 MiB of user space from 4 MiB. */
	sweep(r, t, where, m, p, 4 * MiB, 68 * MiB - 1, 4 * KiB, false, ss);
	/* Non-canonical and edge addresses, then random ones. */
	for (i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		struct outcome o;

		compare(r, t, "dump", where, m, odd[i], p, &o);
	}
	for (i = 0; i < 20000; i++) {
		uint64_t va = xorshift(&seed);
		struct outcome o;

		if (i & 1)
			va = sign_extend(va, mode == SIM_PAGING_5 ? 57 : 48);
		compare(r, t, "dump", where, m, va, p, &o);
	}
}

static void check_dump_vcpus(struct report *r, struct phys *p,
			     struct strbuf *out)
{
	const struct sim_dump *d = p->dump;
	unsigned v;

	strbuf_addstr(out, "  \"vcpus\": [");
	for (v = 0; v < d->nr_vcpus; v++) {
		const struct hvm_hw_cpu *c = &d->vcpu[v];
		struct sweep_stats ss = { 0 };
		struct tally t = { 0 };
		struct sim_mmu m;
		char where[64];

		vcpu_mmu_of(c, &m);
		snprintf(where, sizeof(where), "vCPU %u", v);
		sample_root(r, &t, where, &m, c, p, &ss);
		/* CR3's low 12 bits (PCID, PWT, PCD) are not address bits. */
		m.cr3 = c->cr3 | 0xfff;
		snprintf(where, sizeof(where), "vCPU %u, CR3 low bits set", v);
		around(r, &t, where, &m, p, c->rip, 4 * MiB, 4 * MiB, &ss);
		around(r, &t, where, &m, p, 4 * MiB, 0, 16 * MiB, &ss);
		strbuf_addf(out, "%s\n    {\"vcpu\": %u, \"mode\": \"%s\", \"cr3\": \"0x%"
			    PRIx64 "\", \"efer\": \"0x%" PRIx64 "\", ",
			    v ? "," : "", v, sim_paging_name(sim_paging_mode(&m)),
			    c->cr3, c->msr_efer);
		tally_json(out, &t);
		strbuf_addf(out, ", \"regions_skipped\": %" PRIu64
			    ", \"mapped_2m_slots\": %zu, \"pages_in_them\": %" PRIu64 "}",
			    ss.skipped, ss.nslots, ss.pages);
		free(ss.slots);
	}
	strbuf_addstr(out, "\n  ],\n");
}

/*
 * Arbitrary frames of the dump taken as the root of page tables, in every
 * mode and several physical-address widths: both walkers must read the
 * same garbage the same way (reserved bits everywhere).
 */
static void check_dump_garbage(struct report *r, struct phys *p,
			       struct strbuf *out)
{
	static const unsigned widths[] = { 36, 40, 46, 52 };
	const struct sim_dump *d = p->dump;
	uint64_t seed = 0x2545f4914f6cdd1dull;
	struct tally t = { 0 };
	unsigned roots = 0, tries, cfg, w, i;

	for (tries = 0; roots < 48 && tries < 100000; tries++) {
		const struct sim_dump_seg *s = &d->seg[xorshift(&seed) % d->nseg];
		uint64_t gpa = s->gpa + (xorshift(&seed) % (s->size / 4096)) * 4096;
		const uint8_t *f = phys_ptr(p, gpa, 4096);
		uint64_t nonzero = 0;

		if (!f || gpa > 0xffffffffull)
			continue;
		for (i = 0; i < 4096; i += 8)
			nonzero += get_le(f + i, 8) != 0;
		if (nonzero < 16)
			continue;	/* mostly empty: nothing to exercise */
		roots++;
		for (cfg = 0; cfg < 5; cfg++) {
			for (w = 0; w < sizeof(widths) / sizeof(widths[0]); w++) {
				struct sim_mmu m = {
					.cr0 = SIM_CR0_PG | SIM_CR0_WP | 1,
					.cr3 = gpa | (cfg == 2 ? (xorshift(&seed) & 0xfe0) : 0),
					.maxphyaddr = widths[w],
				};
				char where[96];

				switch (cfg) {
				case 0: m.cr4 = 0; break;
				case 1: m.cr4 = SIM_CR4_PSE; break;
				case 2: m.cr4 = SIM_CR4_PAE;
					m.efer = SIM_EFER_NXE; break;
				case 3: m.cr4 = SIM_CR4_PAE;
					m.efer = SIM_EFER_LME | SIM_EFER_LMA | SIM_EFER_NXE;
					break;
				default: m.cr4 = SIM_CR4_PAE | SIM_CR4_LA57;
					m.efer = SIM_EFER_LME | SIM_EFER_LMA | SIM_EFER_NXE;
					break;
				}
				snprintf(where, sizeof(where),
					 "frame 0x%" PRIx64 " as the page-table root", gpa);
				for (i = 0; i < 500; i++) {
					uint64_t va = xorshift(&seed);
					struct outcome o;

					if (cfg >= 3 && i % 10)
						va = sign_extend(va, cfg == 4 ? 57 : 48);
					compare(r, &t, "garbage", where, &m, va, p, &o);
				}
			}
		}
	}
	strbuf_addf(out, "  \"garbage_roots\": {\"roots\": %u, ", roots);
	tally_json(out, &t);
	strbuf_addstr(out, "},\n");
}

/* ---- synthetic tables against the SDM ---- */

/*
 * One configuration: a paging mode and what else decides reserved bits.
 * xenstub's walker has no EFER.NXE or CPU-vendor input: configurations
 * with NXE clear (bit 63 reserved) or an AMD CPU check xensim alone.
 */
struct config {
	const char *name;
	enum sim_paging mode;
	bool pse, nxe, amd;
	unsigned maxphy;
};

static const struct config configs[] = {
	{ "32-bit", SIM_PAGING_32, false, false, false, 46 },
	{ "32-bit PSE", SIM_PAGING_32, true, false, false, 46 },
	{ "32-bit PSE, MAXPHYADDR 36", SIM_PAGING_32, true, false, false, 36 },
	{ "PAE", SIM_PAGING_PAE, false, true, false, 46 },
	{ "PAE, MAXPHYADDR 52", SIM_PAGING_PAE, false, true, false, 52 },
	{ "4-level", SIM_PAGING_4, false, true, false, 46 },
	{ "4-level, MAXPHYADDR 40", SIM_PAGING_4, false, true, false, 40 },
	{ "5-level", SIM_PAGING_5, false, true, false, 46 },
	{ "PAE without NXE", SIM_PAGING_PAE, false, false, false, 46 },
	{ "4-level without NXE", SIM_PAGING_4, false, false, false, 46 },
	{ "4-level on AMD", SIM_PAGING_4, false, true, true, 46 },
	{ "5-level on AMD", SIM_PAGING_5, false, true, true, 46 },
};

static bool xensim_only(const struct config *c)
{
	return c->amd || (c->mode != SIM_PAGING_32 && !c->nxe);
}

static void config_mmu(const struct config *c, struct sim_mmu *m)
{
	memset(m, 0, sizeof(*m));
	m->cr0 = SIM_CR0_PG | SIM_CR0_WP | 1;
	m->maxphyaddr = c->maxphy;
	m->amd = c->amd;
	switch (c->mode) {
	case SIM_PAGING_32:
		m->cr3 = 0x10000;
		m->cr4 = c->pse ? SIM_CR4_PSE : 0;
		break;
	case SIM_PAGING_PAE:
		m->cr3 = 0x10fe0;	/* 32-byte aligned, not page-aligned */
		m->cr4 = SIM_CR4_PAE;
		break;
	default:
		m->cr3 = 0x10000;
		m->cr4 = SIM_CR4_PAE | (c->mode == SIM_PAGING_5 ? SIM_CR4_LA57 : 0);
		m->efer = SIM_EFER_LME | SIM_EFER_LMA;
		break;
	}
	if (c->nxe)
		m->efer |= SIM_EFER_NXE;
}

/*
 * The SDM's reserved bits of an entry (tables 4-4 to 4-20) for the
 * configuration, with the one deliberate departure of both walkers: PAE
 * PDPTE bits 2:1 and 8:5 are accepted, as processors that ran PAE guests
 * did.
 */
static uint64_t sdm_reserved(const struct config *c, unsigned level, bool ps)
{
	unsigned M = c->maxphy;
	uint64_t r;

	switch (c->mode) {
	case SIM_PAGING_32:
		if (level == SIM_LVL_PDE && ps && c->pse)
			return bits(21, (M < 40 ? M : 40) - 19);
		return 0;
	case SIM_PAGING_PAE:
		if (level == SIM_LVL_PDPTE)
			return bits(63, M);
		r = bits(62, M) | (c->nxe ? 0 : SIM_PTE_XD);
		if (level == SIM_LVL_PDE && ps)
			r |= bits(20, 13);
		return r;
	default:
		r = bits(51, M) | (c->nxe ? 0 : SIM_PTE_XD);
		if (level >= SIM_LVL_PML4E)
			r |= SIM_PTE_PS | (c->amd ? SIM_PTE_G : 0);
		else if (level == SIM_LVL_PDPTE && ps)
			r |= bits(29, 13);
		else if (level == SIM_LVL_PDE && ps)
			r |= bits(20, 13);
		return r;
	}
}

/* A chain of tables from CR3 to a leaf at leaf_level, one table per
 * frame from 0x10000, and the linear address it maps. */
struct chain {
	const struct config *c;
	unsigned top, leaf;
	uint64_t va;
	uint64_t entry[6];	/* the entry written at each level */
	uint64_t table[6];	/* the table holding it */
	uint64_t frame;		/* the leaf's page frame */
	uint64_t page_size;
};

static void chain_init(struct chain *ch, const struct config *c,
		       unsigned leaf, uint64_t cr3)
{
	static const unsigned idx[6] = { 0, 0x1e1, 0x077, 0x0c3, 0x1a5, 0x1f0 };
	unsigned width = c->mode == SIM_PAGING_32 ? 4 : 8, l;
	uint64_t table;

	memset(ch, 0, sizeof(*ch));
	ch->c = c;
	ch->leaf = leaf;
	switch (c->mode) {
	case SIM_PAGING_32:
		ch->top = SIM_LVL_PDE;
		ch->va = (0x2a7ull << 22) | (idx[1] << 12) | 0x234;
		break;
	case SIM_PAGING_PAE:
		ch->top = SIM_LVL_PDPTE;
		ch->va = (2ull << 30) | (idx[2] << 21) | (idx[1] << 12) | 0x234;
		break;
	default:
		ch->top = c->mode == SIM_PAGING_5 ? SIM_LVL_PML5E : SIM_LVL_PML4E;
		ch->va = 0x234;
		for (l = 1; l <= ch->top; l++)
			ch->va |= (uint64_t)idx[l] << (12 + 9 * (l - 1));
		ch->va = sign_extend(ch->va, ch->top == 5 ? 57 : 48);
		break;
	}
	ch->page_size = level_span(c->mode, leaf);
	ch->frame = leaf == SIM_LVL_PTE ? 0x12345000ull :
		    ch->page_size == 4 * MiB ? 0xc00000ull :
		    ch->page_size == 2 * MiB ? 0x40200000ull : 0x80000000ull;
	table = cr3;
	for (l = ch->top; l >= leaf; l--) {
		uint64_t next = 0x10000 + 0x1000ull * (ch->top - l + 1);
		unsigned shift = c->mode == SIM_PAGING_32 ?
				 (l == SIM_LVL_PDE ? 22 : 12) : 12 + 9 * (l - 1);
		unsigned index = c->mode == SIM_PAGING_32 ?
				 (unsigned)((ch->va >> shift) & 0x3ff) :
				 (unsigned)((ch->va >> shift) & 0x1ff);

		if (c->mode == SIM_PAGING_PAE && l == SIM_LVL_PDPTE)
			index = (unsigned)((ch->va >> 30) & 3);
		ch->table[l] = table + (uint64_t)index * width;
		if (l == leaf)
			ch->entry[l] = ch->frame | 7 |
				       (leaf > SIM_LVL_PTE ? SIM_PTE_PS : 0);
		else
			ch->entry[l] = next | 7;
		/* A PAE PDPTE in the SDM's own form: P alone. */
		if (c->mode == SIM_PAGING_PAE && l == SIM_LVL_PDPTE)
			ch->entry[l] = next | 1;
		table = next;
	}
}

static void chain_write(const struct chain *ch, struct phys *p)
{
	unsigned width = ch->c->mode == SIM_PAGING_32 ? 4 : 8, l;

	memset(p->frames, 0, p->len);
	for (l = ch->top; l >= ch->leaf; l--) {
		uint8_t *e = p->frames + (ch->table[l] - p->base);
		unsigned i;

		for (i = 0; i < width; i++)
			e[i] = (uint8_t)(ch->entry[l] >> (8 * i));
	}
}

static void expect_ok(const struct chain *ch, struct outcome *o)
{
	memset(o, 0, sizeof(*o));
	o->kind = SIM_WALK_OK;
	o->gpa = ch->frame | (ch->va & (ch->page_size - 1) & 0xffffffffffffull);
	o->page_size = ch->page_size;
	o->w = o->u = true;
}

struct synth {
	struct report *r;
	struct phys *p;
	uint64_t cases, xensim_wrong, xenstub_wrong, xenstub_checked;
};

/* Runs a case: xensim, and xenstub where it can express the
 * configuration, each against the expected outcome. */
static void run_case(struct synth *s, const struct chain *ch,
		     const struct sim_mmu *m, const char *what,
		     const struct outcome *want)
{
	struct outcome got;

	s->cases++;
	chain_write(ch, s->p);
	walk_xensim(m, ch->va, s->p, &got);
	if (!same(&got, want)) {
		s->xensim_wrong++;
		s->r->wrong++;
		list_item(s->r, "synthetic: xensim against the SDM", what, m,
			  ch->va, "xensim", &got, "expected", want);
	}
	if (xensim_only(ch->c))
		return;
	s->xenstub_checked++;
	walk_xenstub(m, ch->va, s->p, &got);
	if (!same(&got, want)) {
		s->xenstub_wrong++;
		s->r->wrong++;
		list_item(s->r, "synthetic: xenstub against the SDM", what, m,
			  ch->va, "xenstub", &got, "expected", want);
	}
}

/* Every bit of every entry of one chain, set alone; then rights cleared,
 * P cleared, and every ignored bit at once. */
static void probe_chain(struct synth *s, const struct config *c,
			unsigned leaf)
{
	unsigned width = c->mode == SIM_PAGING_32 ? 32 : 64;
	unsigned M = c->maxphy, l, b;
	struct sim_mmu m;
	struct chain base, ch;
	struct outcome want;
	char what[160];

	config_mmu(c, &m);
	/* config_mmu's CR3 has no low bits but PAE's 11:5 */
	chain_init(&base, c, leaf, m.cr3);
	expect_ok(&base, &want);
	snprintf(what, sizeof(what), "%s: plain %" PRIu64 " KiB page", c->name,
		 base.page_size / KiB);
	run_case(s, &base, &m, what, &want);

	for (l = base.top; l >= leaf; l--) {
		bool ps = l == leaf && leaf > SIM_LVL_PTE;
		uint64_t rsvd = sdm_reserved(c, l, ps);
		/* Address bits: the frame (above the page offset for a large
		 * page, whose bits 12 up to its size are PAT and reserved). */
		uint64_t addr = c->mode == SIM_PAGING_32 ? bits(31, 12) :
				bits(M - 1, 12);

		if (ps && c->mode == SIM_PAGING_32)
			addr = bits(31, 22);
		else if (ps)
			addr = bits(M - 1, l == SIM_LVL_PDPTE ? 30 : 21);
		for (b = 1; b < width; b++) {
			uint64_t bit = 1ull << b;

			if ((addr & bit) || (base.entry[l] & bit))
				continue;
			/* PS where it makes a large page: another chain */
			if (b == 7 && l == SIM_LVL_PDE &&
			    (c->mode != SIM_PAGING_32 || c->pse))
				continue;
			if (b == 7 && l == SIM_LVL_PDPTE &&
			    (c->mode == SIM_PAGING_4 || c->mode == SIM_PAGING_5))
				continue;
			ch = base;
			ch.entry[l] |= bit;
			expect_ok(&ch, &want);
			if (rsvd & bit) {
				memset(&want, 0, sizeof(want));
				want.kind = SIM_WALK_RESERVED;
				want.level = l;
			} else if (b == 63) {
				want.nx = c->nxe && !(c->mode == SIM_PAGING_PAE &&
						      l == SIM_LVL_PDPTE);
			} else if (ps && c->mode == SIM_PAGING_32 && b >= 13 &&
				   b <= 20) {
				want.gpa |= 1ull << (b + 19);	/* PSE-36 */
			}
			snprintf(what, sizeof(what), "%s: %s bit %u set in the %s",
				 c->name, rsvd & bit ? "reserved" : "allowed", b,
				 sim_walk_level_name(l));
			run_case(s, &ch, &m, what, &want);
		}
		/* R/W and U/S clear: rights, except in a PAE PDPTE */
		for (b = 1; b <= 2; b++) {
			bool counts = !(c->mode == SIM_PAGING_PAE &&
					l == SIM_LVL_PDPTE);

			ch = base;
			ch.entry[l] &= ~(1ull << b);
			expect_ok(&ch, &want);
			if (b == 1)
				want.w = !counts;
			else
				want.u = !counts;
			snprintf(what, sizeof(what), "%s: %s clear in the %s",
				 c->name, b == 1 ? "R/W" : "U/S",
				 sim_walk_level_name(l));
			run_case(s, &ch, &m, what, &want);
		}
		ch = base;
		ch.entry[l] &= ~SIM_PTE_P;
		memset(&want, 0, sizeof(want));
		want.kind = SIM_WALK_NOT_PRESENT;
		want.level = l;
		snprintf(what, sizeof(what), "%s: P clear in the %s", c->name,
			 sim_walk_level_name(l));
		run_case(s, &ch, &m, what, &want);
	}

	/* A, D, G, AVL, PWT, PCD and every ignored bit at every level. */
	ch = base;
	for (l = base.top; l >= leaf; l--) {
		bool ps = l == leaf && leaf > SIM_LVL_PTE;
		uint64_t ign = bits(11, 3) & ~SIM_PTE_PS;

		if (c->mode == SIM_PAGING_32 && !c->pse)
			ign |= SIM_PTE_PS;
		if (c->mode == SIM_PAGING_PAE && l == SIM_LVL_PDPTE)
			ign |= bits(2, 1) | SIM_PTE_PS;
		if (c->mode == SIM_PAGING_4 || c->mode == SIM_PAGING_5)
			ign |= bits(62, 52);
		if (l == SIM_LVL_PTE || ps)
			ign |= l == SIM_LVL_PTE ? SIM_PTE_PS : 1ull << 12; /* PAT */
		ign &= ~sdm_reserved(c, l, ps);
		ch.entry[l] |= ign;
	}
	expect_ok(&ch, &want);
	snprintf(what, sizeof(what), "%s: A, D, G, AVL, PAT and ignored bits set at every level",
		 c->name);
	run_case(s, &ch, &m, what, &want);

	/* CR3's low bits are not address bits. */
	if (leaf == SIM_LVL_PTE) {
		struct sim_mmu m2 = m;

		m2.cr3 |= c->mode == SIM_PAGING_PAE ? 0x1f : 0xfff;
		expect_ok(&base, &want);
		snprintf(what, sizeof(what), "%s: CR3 low bits set", c->name);
		run_case(s, &base, &m2, what, &want);
	}

	/* Non-canonical addresses fault before any read. */
	if ((c->mode == SIM_PAGING_4 || c->mode == SIM_PAGING_5) &&
	    leaf == SIM_LVL_PTE) {
		unsigned vbits = c->mode == SIM_PAGING_5 ? 57 : 48;

		ch = base;
		ch.va ^= 1ull << (vbits);	/* breaks the sign extension */
		memset(&want, 0, sizeof(want));
		want.kind = SIM_WALK_NONCANONICAL;
		snprintf(what, sizeof(what), "%s: non-canonical address", c->name);
		run_case(s, &ch, &m, what, &want);
	}
}

static void check_synthetic(struct report *r, struct strbuf *out)
{
	uint8_t *mem = xcalloc(8, 4096);
	struct phys p = { .frames = mem, .base = 0x10000, .len = 8 * 4096 };
	struct synth s = { .r = r, .p = &p };
	unsigned i;

	for (i = 0; i < sizeof(configs) / sizeof(configs[0]); i++) {
		const struct config *c = &configs[i];

		probe_chain(&s, c, SIM_LVL_PTE);
		if (c->mode == SIM_PAGING_32 && c->pse)
			probe_chain(&s, c, SIM_LVL_PDE);	/* 4 MiB */
		if (c->mode != SIM_PAGING_32)
			probe_chain(&s, c, SIM_LVL_PDE);	/* 2 MiB */
		if (c->mode == SIM_PAGING_4 || c->mode == SIM_PAGING_5)
			probe_chain(&s, c, SIM_LVL_PDPTE);	/* 1 GiB */
	}
	strbuf_addf(out, "  \"synthetic\": {\"cases\": %" PRIu64
		    ", \"xensim_wrong\": %" PRIu64 ", \"xenstub_checked\": %" PRIu64
		    ", \"xenstub_wrong\": %" PRIu64 "},\n", s.cases,
		    s.xensim_wrong, s.xenstub_checked, s.xenstub_wrong);
	free(mem);
}

/* ---- main ---- */

static int map_dump(const char *path, uint8_t **data, size_t *size)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "walkcheck: cannot open %s: %s\n", path,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (st.st_size <= 0) {
		fprintf(stderr, "walkcheck: %s is empty\n", path);
		close(fd);
		return -1;
	}
	*size = (size_t)st.st_size;
	*data = mmap(NULL, *size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (*data == MAP_FAILED) {
		fprintf(stderr, "walkcheck: cannot map %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct report r = { .listed = STRBUF_INIT };
	struct strbuf out = STRBUF_INIT;
	const char *dump_path = NULL;
	uint8_t *data = NULL;
	size_t size = 0;
	struct sim_dump d;
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--dump") && i + 1 < argc) {
			dump_path = argv[++i];
		} else {
			fprintf(stderr, "usage: walkcheck [--dump QEMU-ELF-DUMP]\n"
				"Compares xensim's page walk with xenstub's; prints a JSON report.\n");
			return 2;
		}
	}
	strbuf_addstr(&out, "{\n");
	if (dump_path) {
		struct phys p = { .dump = &d };
		char *msg = NULL;

		if (map_dump(dump_path, &data, &size))
			return 2;
		if (sim_dump_load(data, size, dump_path, &d, &msg)) {
			fprintf(stderr, "walkcheck: %s\n", msg);
			free(msg);
			return 2;
		}
		p.data = data;
		check_dump_vcpus(&r, &p, &out);
		check_dump_garbage(&r, &p, &out);
		sim_dump_free(&d);
		munmap(data, size);
	}
	check_synthetic(&r, &out);
	strbuf_addf(&out, "  \"differences\": %" PRIu64 ",\n  \"wrong\": %" PRIu64
		    ",\n  \"listed\": [\n    %s\n  ]\n}\n", r.differences, r.wrong,
		    r.listed.buf);
	fputs(out.buf, stdout);
	strbuf_release(&out);
	strbuf_release(&r.listed);
	return r.differences || r.wrong ? 1 : 0;
}
