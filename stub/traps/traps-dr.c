// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Watchpoints and hardware breakpoints from the vCPUs' four debug
 * registers, for hosts where Xen has no mem_access (AMD): aligned 1, 2, 4
 * or 8 bytes, at most four at once, write or access (DR7 cannot trap reads
 * alone) and execute. The guest's own debug-register values are saved when
 * xenstub first takes the registers and given back when it leaves.
 */
#include "stub/traps/traps-dr.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "stub/base/log.h"
#include "stub/guest/target.h"
#include "stub/guest/journal.h"

#define DR6_B_MASK 0xfull
#define DR7_L(n) (1ull << (2 * (n)))
#define DR7_G(n) (1ull << (2 * (n) + 1))
#define DR7_RW_SHIFT(n) (16 + 4 * (n))
#define DR7_LEN_SHIFT(n) (18 + 4 * (n))
#define DR7_ENABLES 0xffull
#define DR7_GE_LE 0x300ull

struct dr_slot {
	bool used;
	enum trap_kind type;
	uint64_t addr;
	unsigned len;
	unsigned refs;
};

struct dr_state {
	struct trap_env env;
	struct dr_slot slot[4];
	bool applied;		/* our values are in the vCPUs */
	bool *saved;		/* per vCPU: guest values saved */
	uint64_t (*guest)[8];	/* per vCPU: the guest's dr0..dr7 */
	unsigned nvcpus;
	bool warned;
};

struct dr_state *dr_new(const struct trap_env *env)
{
	struct dr_state *d = xcalloc(1, sizeof(*d));
	unsigned nr_vcpus = env->t->nr_vcpus;

	d->env = *env;
	d->nvcpus = nr_vcpus;
	d->saved = xcalloc(nr_vcpus, sizeof(bool));
	d->guest = xcalloc(nr_vcpus, sizeof(*d->guest));
	return d;
}

void dr_free(struct dr_state *d)
{
	if (!d)
		return;
	free(d->saved);
	free(d->guest);
	free(d);
}

bool dr_any(const struct dr_state *d)
{
	unsigned i;

	for (i = 0; d && i < 4; i++)
		if (d->slot[i].used)
			return true;
	return false;
}

int dr_insert(struct dr_state *d, enum trap_kind type, uint64_t addr,
	      uint64_t len, struct strbuf *why)
{
	unsigned i, free_slot = 4;

	if (type == TK_READ) {
		if (why)
			strbuf_addstr(why, "a read watchpoint (rwatch) needs Xen's mem_access, which this host lacks; "
				      "debug registers cannot trap reads alone: use awatch (reads and writes)");
		return -ENOSPC;
	}
	if (type == TK_EXEC)
		len = 1;
	if (len != 1 && len != 2 && len != 4 && len != 8) {
		if (why)
			strbuf_addf(why, "without Xen's mem_access (Intel VT-x with EPT), watchpoints use the debug registers: "
				    "1, 2, 4 or 8 bytes only, not %llu", (unsigned long long)len);
		return -ENOSPC;
	}
	if (addr & (len - 1)) {
		if (why)
			strbuf_addf(why, "without Xen's mem_access, watchpoints use the debug registers: "
				    "0x%llx is not aligned to its %llu-byte length",
				    (unsigned long long)addr, (unsigned long long)len);
		return -ENOSPC;
	}
	for (i = 0; i < 4; i++) {
		struct dr_slot *sl = &d->slot[i];

		if (sl->used && sl->type == type && sl->addr == addr &&
		    sl->len == len) {
			sl->refs++;
			return 0;
		}
		if (!sl->used && free_slot == 4)
			free_slot = i;
	}
	if (free_slot == 4) {
		if (why)
			strbuf_addstr(why, "all four debug registers are in use: without Xen's mem_access "
				      "(Intel VT-x with EPT) there can be only four hardware breakpoints and watchpoints");
		return -ENOSPC;
	}
	d->slot[free_slot] = (struct dr_slot){ true, type, addr, (unsigned)len, 1 };
	return 0;
}

int dr_remove(struct dr_state *d, enum trap_kind type, uint64_t addr,
	      uint64_t len)
{
	unsigned i;

	if (!d)
		return -ENOENT;
	if (type == TK_EXEC)
		len = 1;
	for (i = 0; i < 4; i++) {
		struct dr_slot *sl = &d->slot[i];

		if (sl->used && sl->type == type && sl->addr == addr &&
		    sl->len == len) {
			if (--sl->refs == 0)
				sl->used = false;
			return 0;
		}
	}
	return -ENOENT;
}

static uint64_t our_dr7(const struct dr_state *d)
{
	uint64_t dr7 = 0;
	unsigned i;

	for (i = 0; i < 4; i++) {
		const struct dr_slot *sl = &d->slot[i];
		uint64_t rw, len;

		if (!sl->used)
			continue;
		rw = sl->type == TK_EXEC ? 0 :
		     sl->type == TK_WRITE ? 1 : 3;
		len = sl->len == 1 ? 0 : sl->len == 2 ? 1 : sl->len == 8 ? 2 : 3;
		if (sl->type == TK_EXEC)
			len = 0;
		dr7 |= DR7_L(i) | rw << DR7_RW_SHIFT(i) | len << DR7_LEN_SHIFT(i);
	}
	return dr7 ? dr7 | DR7_GE_LE : 0;
}

int dr_commit(struct dr_state *d)
{
	struct target *t;
	unsigned v, i;
	bool any = dr_any(d);

	if (!d)
		return 0;
	t = d->env.t;
	if (!any && !d->applied)
		return 0;
	for (v = 0; v < t->nr_vcpus; v++) {
		struct x86_regs r;
		int rc = target_get_regs(t, v, &r);

		if (rc < 0)
			return rc;
		if (!d->saved[v]) {
			memcpy(d->guest[v], r.dr, sizeof(r.dr));
			d->saved[v] = true;
			journal_note(d->env.j, "dr %u %llx %llx %llx %llx %llx %llx", v,
				     (unsigned long long)r.dr[0], (unsigned long long)r.dr[1],
				     (unsigned long long)r.dr[2], (unsigned long long)r.dr[3],
				     (unsigned long long)r.dr[6], (unsigned long long)r.dr[7]);
			if ((r.dr[7] & DR7_ENABLES) && !d->warned) {
				log_warn(LC_TRAP, "the guest uses its debug registers (vCPU %u DR7 0x%llx): "
					 "its own hardware breakpoints do not fire while xenstub's watchpoints are set",
					 v, (unsigned long long)r.dr[7]);
				d->warned = true;
			}
		}
		if (any) {
			for (i = 0; i < 4; i++)
				r.dr[i] = d->slot[i].used ? d->slot[i].addr : 0;
			r.dr[7] = our_dr7(d);
		} else {
			memcpy(r.dr, d->guest[v], sizeof(r.dr));
		}
		rc = target_set_regs(t, v, &r);
		if (rc < 0)
			return rc;
		if (!any) {
			/* the guest has its registers back and may change
			 * them: save them again when a point next needs them */
			d->saved[v] = false;
			journal_note(d->env.j, "dr-off %u", v);
		}
	}
	d->applied = any;
	return 0;
}

void dr_restore(struct dr_state *d)
{
	struct target *t;
	unsigned v;

	if (!d)
		return;
	t = d->env.t;
	for (v = 0; v < t->nr_vcpus; v++) {
		struct x86_regs r;

		if (!d->saved[v] || target_get_regs(t, v, &r) < 0)
			continue;
		memcpy(r.dr, d->guest[v], sizeof(r.dr));
		if (target_set_regs(t, v, &r) < 0) {
			log_err(LC_TRAP, "vCPU %u's debug registers could not be given back: %s",
				v, target_strerror(t));
			continue;
		}
		journal_note(d->env.j, "dr-off %u", v);
		d->saved[v] = false;
	}
	d->applied = false;
}

bool dr_match(const struct dr_state *d, uint64_t dr6, enum trap_kind *kind,
	      uint64_t *addr)
{
	unsigned i;

	if (!d || !d->applied)
		return false;
	for (i = 0; i < 4; i++) {
		const struct dr_slot *sl = &d->slot[i];

		if (!sl->used || !(dr6 & (1ull << i)))
			continue;
		*kind = sl->type;
		*addr = sl->addr;
		return true;
	}
	return false;
}
