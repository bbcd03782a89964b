// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Software breakpoints of live guests: xenstub writes the int3 itself
 * (gdb never does), keeps the guest's byte, shows gdb the guest's byte on
 * every read, keeps int3s in place across gdb's writes, and takes every
 * int3 out again on every way out.
 */
#include <errno.h>
#include <string.h>

#include "stub/traps/journal.h"
#include "stub/base/log.h"
#include "stub/session/run.h"

struct swbp *bp_find_gpa(struct run_state *r, uint64_t gpa)
{
	size_t i;

	for (i = 0; i < r->nbps; i++)
		if (r->bps[i].gpa == gpa)
			return &r->bps[i];
	return NULL;
}

static int translate(struct session *s, uint64_t tid, uint64_t addr,
		     uint64_t *gpa)
{
	struct aspace as;
	struct x86_walk w;
	int rc = session_aspace(s, tid, &as);

	if (rc < 0)
		return rc;
	if (as.phys) {
		*gpa = addr;
		return 0;
	}
	rc = vmem_translate(s->mem, &as, addr, &w);
	if (rc < 0)
		return -EFAULT;
	*gpa = w.paddr;
	return 0;
}

int bp_insert(struct session *s, uint64_t tid, uint64_t addr, char **msg)
{
	struct run_state *r = s->run;
	uint8_t orig, cc = 0xcc;
	struct swbp *bp;
	uint64_t gpa;
	int rc;

	rc = translate(s, tid, addr, &gpa);
	if (rc < 0) {
		*msg = xstrfmt("cannot set a breakpoint at 0x%llx: the address is not mapped",
			       (unsigned long long)addr);
		return -EFAULT;
	}
	bp = bp_find_gpa(r, gpa);
	if (bp) {
		bp->refs++;
		return 0;
	}
	rc = vmem_read_phys(s->mem, gpa, &orig, 1, NULL);
	if (rc < 0) {
		*msg = xstrfmt("cannot set a breakpoint at 0x%llx: guest-physical 0x%llx cannot be read",
			       (unsigned long long)addr, (unsigned long long)gpa);
		return rc;
	}
	journal_note(s->t->journal, "int3 %llx %02x", (unsigned long long)gpa, orig);
	rc = vmem_write_phys(s->mem, gpa, &cc, 1, NULL);
	if (rc < 0) {
		journal_note(s->t->journal, "int3-off %llx", (unsigned long long)gpa);
		*msg = xstrfmt("cannot set a breakpoint at 0x%llx: guest-physical 0x%llx cannot be written",
			       (unsigned long long)addr, (unsigned long long)gpa);
		return rc;
	}
	if (r->nbps == r->capbps) {
		r->capbps = r->capbps ? r->capbps * 2 : 16;
		r->bps = xrealloc(r->bps, r->capbps * sizeof(*r->bps));
	}
	r->bps[r->nbps++] = (struct swbp){ gpa, addr, orig, 1 };
	log_dbg(LC_TRAP, "int3 planted at 0x%llx (guest-physical 0x%llx, byte 0x%02x)",
		(unsigned long long)addr, (unsigned long long)gpa, orig);
	return 0;
}

static void drop(struct session *s, size_t i)
{
	struct run_state *r = s->run;
	struct swbp *bp = &r->bps[i];
	uint8_t cur;

	/* put the guest's byte back unless the guest replaced our int3
	 * (then its own byte stays) */
	if (vmem_read_phys(s->mem, bp->gpa, &cur, 1, NULL) == 0 && cur == 0xcc) {
		if (vmem_write_phys(s->mem, bp->gpa, &bp->orig, 1, NULL) < 0)
			log_err(LC_TRAP, "could not restore the byte at guest-physical 0x%llx",
				(unsigned long long)bp->gpa);
		else
			journal_note(s->t->journal, "int3-off %llx",
				     (unsigned long long)bp->gpa);
	} else {
		journal_note(s->t->journal, "int3-off %llx", (unsigned long long)bp->gpa);
		log_warn(LC_TRAP, "the guest overwrote the breakpoint at 0x%llx: its own byte is kept",
			 (unsigned long long)bp->vaddr);
	}
	r->bps[i] = r->bps[--r->nbps];
}

int bp_remove(struct session *s, uint64_t tid, uint64_t addr)
{
	struct run_state *r = s->run;
	uint64_t gpa;
	size_t i;

	if (translate(s, tid, addr, &gpa) < 0) {
		/* the mapping went away: find the breakpoint by address */
		for (i = 0; i < r->nbps; i++)
			if (r->bps[i].vaddr == addr)
				break;
		if (i == r->nbps)
			return -ENOENT;
	} else {
		for (i = 0; i < r->nbps; i++)
			if (r->bps[i].gpa == gpa)
				break;
		if (i == r->nbps)
			return -ENOENT;
	}
	if (--r->bps[i].refs == 0)
		drop(s, i);
	return 0;
}

void bp_forget_all(struct session *s)
{
	while (s->run && s->run->nbps)
		drop(s, s->run->nbps - 1);
}

void bp_unplant_all(struct session *s)
{
	struct run_state *r = s->run;
	size_t i;

	for (i = 0; i < r->nbps; i++)
		vmem_write_phys(s->mem, r->bps[i].gpa, &r->bps[i].orig, 1, NULL);
}

void bp_replant_all(struct session *s)
{
	struct run_state *r = s->run;
	uint8_t cc = 0xcc;
	size_t i;

	for (i = 0; i < r->nbps; i++)
		vmem_write_phys(s->mem, r->bps[i].gpa, &cc, 1, NULL);
}

/* Visits the physical pages behind [addr, addr+len) of as. */
static void each_page(struct session *s, const struct aspace *as,
		      uint64_t addr, size_t len,
		      void (*fn)(struct session *s, uint64_t gpa, size_t off,
				 size_t n, void *ctx),
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
		else if (vmem_translate(s->mem, as, a, &w) < 0)
			return;
		fn(s, w.paddr, off, n, ctx);
		off += n;
	}
}

static void shadow_page(struct session *s, uint64_t gpa, size_t off, size_t n,
			void *ctx)
{
	struct run_state *r = s->run;
	uint8_t *buf = ctx;
	size_t i;

	for (i = 0; i < r->nbps; i++)
		if (r->bps[i].gpa >= gpa && r->bps[i].gpa < gpa + n)
			buf[off + (r->bps[i].gpa - gpa)] = r->bps[i].orig;
}

void run_shadow_breakpoints(struct session *s, const struct aspace *as,
			    uint64_t addr, void *buf, size_t len)
{
	if (!s->run || !s->run->nbps)
		return;
	each_page(s, as, addr, len, shadow_page, buf);
}

int session_read_code(struct session *s, const struct x86_regs *r,
		      uint8_t *buf, size_t len, size_t *got)
{
	struct aspace as;
	int rc;

	vmem_aspace_of(r, &as);
	*got = 0;
	rc = vmem_read(s->mem, &as, r->rip, buf, len, got);
	if (*got)
		run_shadow_breakpoints(s, &as, r->rip, buf, *got);
	return rc;
}

struct write_ctx {
	const uint8_t *data;
	int rc;
};

static void write_page(struct session *s, uint64_t gpa, size_t off, size_t n,
		       void *ctx)
{
	struct write_ctx *w = ctx;
	struct run_state *r = s->run;
	uint8_t cc = 0xcc;
	size_t i;

	if (w->rc)
		return;
	w->rc = vmem_write_phys(s->mem, gpa, w->data + off, n, NULL);
	if (w->rc || !r)
		return;
	/* a write over a planted int3 changes the guest's byte under it */
	for (i = 0; i < r->nbps; i++) {
		if (r->bps[i].gpa >= gpa && r->bps[i].gpa < gpa + n) {
			r->bps[i].orig = w->data[off + (r->bps[i].gpa - gpa)];
			vmem_write_phys(s->mem, r->bps[i].gpa, &cc, 1, NULL);
		}
	}
}

int run_write_mem(struct session *s, const struct aspace *as, uint64_t addr,
		  const void *buf, size_t len)
{
	struct write_ctx w = { buf, 0 };
	size_t done = 0;
	int rc;

	if (!s->run || !s->run->nbps)
		return vmem_write(s->mem, as, addr, buf, len, &done);
	/* check the whole range is mapped first: all or nothing */
	if (!as->phys && as->mode != X86_PAGING_NONE) {
		size_t off = 0;

		while (off < len) {
			struct x86_walk wk;
			uint64_t a = addr + off;

			rc = vmem_translate(s->mem, as, a, &wk);
			if (rc < 0)
				return -EFAULT;
			off += 4096 - (a & 4095);
		}
	}
	each_page(s, as, addr, len, write_page, &w);
	return w.rc;
}
