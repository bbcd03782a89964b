// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Software breakpoints of live guests: xenstub writes the int3 itself
 * (gdb never does), keeps the guest's byte, shows the guest's byte on
 * every read, keeps int3s in place across writes, and takes every int3
 * out again on every way out.
 */
#include "stub/traps/breakpoints.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "stub/base/log.h"
#include "stub/guest/journal.h"

struct bp_table {
	struct trap_env env;
	struct swbp *bps;
	size_t n, cap;
};

struct bp_table *bp_new(const struct trap_env *env)
{
	struct bp_table *bt = xcalloc(1, sizeof(*bt));

	bt->env = *env;
	return bt;
}

void bp_free(struct bp_table *bt)
{
	if (!bt)
		return;
	free(bt->bps);
	free(bt);
}

size_t bp_count(const struct bp_table *bt)
{
	return bt ? bt->n : 0;
}

static struct swbp *find(const struct bp_table *bt, uint64_t gpa)
{
	size_t i;

	for (i = 0; bt && i < bt->n; i++)
		if (bt->bps[i].gpa == gpa)
			return &bt->bps[i];
	return NULL;
}

const struct swbp *bp_find(const struct bp_table *bt, uint64_t gpa)
{
	return find(bt, gpa);
}

static int translate(struct bp_table *bt, const struct aspace *as,
		     uint64_t addr, uint64_t *gpa)
{
	struct x86_walk w;

	if (!as)
		return -EFAULT;
	if (as->phys) {
		*gpa = addr;
		return 0;
	}
	if (vmem_translate(bt->env.mem, as, addr, &w) < 0)
		return -EFAULT;
	*gpa = w.paddr;
	return 0;
}

int bp_insert(struct bp_table *bt, const struct aspace *as, uint64_t addr,
	      struct strbuf *why)
{
	uint8_t orig, cc = 0xcc;
	struct swbp *bp;
	uint64_t gpa;
	int rc;

	if (translate(bt, as, addr, &gpa) < 0) {
		if (why)
			strbuf_addf(why, "cannot set a breakpoint at 0x%llx: the address is not mapped",
				    (unsigned long long)addr);
		return -EFAULT;
	}
	bp = find(bt, gpa);
	if (bp) {
		bp->refs++;
		return 0;
	}
	rc = vmem_read_phys(bt->env.mem, gpa, &orig, 1, NULL);
	if (rc < 0) {
		if (why)
			strbuf_addf(why, "cannot set a breakpoint at 0x%llx: guest-physical 0x%llx cannot be read",
				    (unsigned long long)addr, (unsigned long long)gpa);
		return rc;
	}
	journal_note(bt->env.j, "int3 %llx %02x", (unsigned long long)gpa, orig);
	rc = vmem_write_phys(bt->env.mem, gpa, &cc, 1, NULL);
	if (rc < 0) {
		journal_note(bt->env.j, "int3-off %llx", (unsigned long long)gpa);
		if (why)
			strbuf_addf(why, "cannot set a breakpoint at 0x%llx: guest-physical 0x%llx cannot be written",
				    (unsigned long long)addr, (unsigned long long)gpa);
		return rc;
	}
	if (bt->n == bt->cap) {
		bt->cap = bt->cap ? bt->cap * 2 : 16;
		bt->bps = xrealloc(bt->bps, st_mult(bt->cap, sizeof(*bt->bps)));
	}
	bt->bps[bt->n++] = (struct swbp){ gpa, addr, orig, 1 };
	log_dbg(LC_TRAP, "int3 planted at 0x%llx (guest-physical 0x%llx, byte 0x%02x)",
		(unsigned long long)addr, (unsigned long long)gpa, orig);
	return 0;
}

static void drop(struct bp_table *bt, size_t i)
{
	struct swbp *bp = &bt->bps[i];
	uint8_t cur;

	/* put the guest's byte back unless the guest replaced our int3
	 * (then its own byte stays) */
	if (vmem_read_phys(bt->env.mem, bp->gpa, &cur, 1, NULL) == 0 && cur == 0xcc) {
		if (vmem_write_phys(bt->env.mem, bp->gpa, &bp->orig, 1, NULL) < 0)
			log_err(LC_TRAP, "could not restore the byte at guest-physical 0x%llx",
				(unsigned long long)bp->gpa);
		else
			journal_note(bt->env.j, "int3-off %llx",
				     (unsigned long long)bp->gpa);
	} else {
		journal_note(bt->env.j, "int3-off %llx", (unsigned long long)bp->gpa);
		log_warn(LC_TRAP, "the guest overwrote the breakpoint at 0x%llx: its own byte is kept",
			 (unsigned long long)bp->vaddr);
	}
	bt->bps[i] = bt->bps[--bt->n];
}

int bp_remove(struct bp_table *bt, const struct aspace *as, uint64_t addr)
{
	uint64_t gpa;
	size_t i;

	if (translate(bt, as, addr, &gpa) < 0) {
		/* the mapping went away: find the breakpoint by address */
		for (i = 0; i < bt->n; i++)
			if (bt->bps[i].vaddr == addr)
				break;
	} else {
		for (i = 0; i < bt->n; i++)
			if (bt->bps[i].gpa == gpa)
				break;
	}
	if (i == bt->n)
		return -ENOENT;
	if (--bt->bps[i].refs == 0)
		drop(bt, i);
	return 0;
}

void bp_forget_all(struct bp_table *bt)
{
	while (bt && bt->n)
		drop(bt, bt->n - 1);
}

void bp_unplant_all(struct bp_table *bt)
{
	size_t i;

	for (i = 0; i < bt->n; i++)
		vmem_write_phys(bt->env.mem, bt->bps[i].gpa, &bt->bps[i].orig, 1,
				NULL);
}

void bp_replant_all(struct bp_table *bt)
{
	uint8_t cc = 0xcc;
	size_t i;

	for (i = 0; i < bt->n; i++)
		vmem_write_phys(bt->env.mem, bt->bps[i].gpa, &cc, 1, NULL);
}

int bp_unplant(struct bp_table *bt, uint64_t gpa)
{
	const struct swbp *bp = find(bt, gpa);

	if (!bp)
		return -ENOENT;
	return vmem_write_phys(bt->env.mem, gpa, &bp->orig, 1, NULL);
}

int bp_replant(struct bp_table *bt, uint64_t gpa)
{
	uint8_t cc = 0xcc;

	if (!find(bt, gpa))
		return -ENOENT;
	return vmem_write_phys(bt->env.mem, gpa, &cc, 1, NULL);
}

/* Visits the physical pages behind [addr, addr+len) of as, up to the
 * first that is not mapped. */
static void each_page(struct vmem *mem, const struct aspace *as,
		      uint64_t addr, size_t len,
		      void (*fn)(void *ctx, uint64_t gpa, size_t off, size_t n),
		      void *ctx)
{
	size_t off = 0;

	while (off < len) {
		uint64_t a = addr + off;
		size_t n = 4096 - (a & 4095);
		struct x86_walk w;

		if (n > len - off)
			n = len - off;
		if (as->phys || as->mode == X86_PAGING_NONE)
			w.paddr = a;
		else if (vmem_translate(mem, as, a, &w) < 0)
			return;
		fn(ctx, w.paddr, off, n);
		off += n;
	}
}

struct shadow_ctx {
	const struct bp_table *bt;
	uint8_t *buf;
};

static void shadow_page(void *ctx, uint64_t gpa, size_t off, size_t n)
{
	struct shadow_ctx *c = ctx;
	size_t i;

	for (i = 0; i < c->bt->n; i++)
		if (c->bt->bps[i].gpa >= gpa && c->bt->bps[i].gpa < gpa + n)
			c->buf[off + (c->bt->bps[i].gpa - gpa)] = c->bt->bps[i].orig;
}

void bp_shadow(const struct bp_table *bt, const struct aspace *as,
	       uint64_t addr, void *buf, size_t len)
{
	struct shadow_ctx c = { bt, buf };

	if (!bt || !bt->n)
		return;
	each_page(bt->env.mem, as, addr, len, shadow_page, &c);
}

int bp_read_code(const struct bp_table *bt, const struct x86_regs *r,
		 uint8_t *buf, size_t len, size_t *got)
{
	struct aspace as;
	int rc;

	vmem_aspace_of(r, &as);
	*got = 0;
	rc = vmem_read(bt->env.mem, &as, r->rip, buf, len, got);
	if (*got)
		bp_shadow(bt, &as, r->rip, buf, *got);
	return rc;
}

struct write_ctx {
	struct bp_table *bt;
	const uint8_t *data;
	int rc;
};

static void write_page(void *ctx, uint64_t gpa, size_t off, size_t n)
{
	struct write_ctx *w = ctx;
	struct bp_table *bt = w->bt;
	uint8_t cc = 0xcc;
	size_t i;

	if (w->rc)
		return;
	w->rc = vmem_write_phys(bt->env.mem, gpa, w->data + off, n, NULL);
	if (w->rc)
		return;
	/* a write over a planted int3 changes the guest's byte under it */
	for (i = 0; i < bt->n; i++) {
		if (bt->bps[i].gpa >= gpa && bt->bps[i].gpa < gpa + n) {
			bt->bps[i].orig = w->data[off + (bt->bps[i].gpa - gpa)];
			vmem_write_phys(bt->env.mem, bt->bps[i].gpa, &cc, 1, NULL);
		}
	}
}

int bp_write(struct bp_table *bt, const struct aspace *as, uint64_t addr,
	     const void *buf, size_t len)
{
	struct write_ctx w = { bt, buf, 0 };
	size_t done = 0;
	int rc;

	if (!bt->n)
		return vmem_write(bt->env.mem, as, addr, buf, len, &done);
	/* check the whole range is mapped first: all or nothing */
	if (!as->phys && as->mode != X86_PAGING_NONE) {
		size_t off = 0;

		while (off < len) {
			struct x86_walk wk;
			uint64_t a = addr + off;

			rc = vmem_translate(bt->env.mem, as, a, &wk);
			if (rc < 0)
				return -EFAULT;
			off += 4096 - (a & 4095);
		}
	}
	each_page(bt->env.mem, as, addr, len, write_page, &w);
	return w.rc;
}
