// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The control interface of xensimd: JSON requests from the `xensim`
 * command (create, destroy, list, state, workload, start, stop, read,
 * write, set-reg, shutdown, digest, quit) and the JSON documents that
 * answer them, including a domain's whole observable state for tests.
 */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "stub/base/log.h"
#include "tests/xensim/simd.h"

/* ---- helpers ---- */

static json_object *hex(uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "0x%" PRIx64, v);
	return json_object_new_string(buf);
}

static json_object *u64(uint64_t v)
{
	return json_object_new_int64((int64_t)v);
}

static void set(json_object *o, const char *k, json_object *v)
{
	json_object_object_add(o, k, v);
}

/* A number given as JSON integer or as a string ("0x...", decimal). */
static int get_u64(json_object *o, const char *k, uint64_t *v, bool *have)
{
	json_object *x;
	const char *s;
	char *end;

	*have = false;
	if (!json_object_object_get_ex(o, k, &x) || json_object_is_type(x, json_type_null))
		return 0;
	if (json_object_is_type(x, json_type_int)) {
		*v = (uint64_t)json_object_get_int64(x);
		*have = true;
		return 0;
	}
	if (!json_object_is_type(x, json_type_string))
		return -EINVAL;
	s = json_object_get_string(x);
	errno = 0;
	*v = strtoull(s, &end, 0);
	if (!*s || *end || errno)
		return -EINVAL;
	*have = true;
	return 0;
}

static const char *get_str(json_object *o, const char *k)
{
	json_object *x;

	if (!json_object_object_get_ex(o, k, &x) ||
	    !json_object_is_type(x, json_type_string))
		return NULL;
	return json_object_get_string(x);
}

static bool get_bool(json_object *o, const char *k)
{
	json_object *x;

	return json_object_object_get_ex(o, k, &x) && json_object_get_boolean(x);
}

struct reply {
	json_object *o;
	char *err;
	int errnum;
};

static void fail(struct reply *r, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail(struct reply *r, int errnum, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	free(r->err);
	r->err = xstrvfmt(fmt, ap);
	va_end(ap);
	r->errnum = errnum;
}

static struct sim_domain *get_dom(struct sim *s, json_object *req,
				  struct reply *r)
{
	json_object *x;
	struct sim_domain *d;
	const char *key;
	char buf[16];

	if (!json_object_object_get_ex(req, "dom", &x)) {
		fail(r, EINVAL, "no domain given");
		return NULL;
	}
	if (json_object_is_type(x, json_type_int)) {
		snprintf(buf, sizeof(buf), "%d", json_object_get_int(x));
		key = buf;
	} else {
		key = json_object_get_string(x);
	}
	d = sim_domain_lookup(s, key);
	if (!d)
		fail(r, ESRCH, "no domain %s", key);
	return d;
}

static struct sim_vcpu *get_vcpu(struct sim_domain *d, json_object *req,
				 struct reply *r)
{
	uint64_t v;
	bool have;

	if (get_u64(req, "vcpu", &v, &have) || !have) {
		fail(r, EINVAL, "give a vCPU number");
		return NULL;
	}
	if (v >= d->nr_vcpus) {
		fail(r, EINVAL, "domain %u has no vCPU %" PRIu64, d->domid, v);
		return NULL;
	}
	return &d->vcpu[v];
}

/* ---- workloads ---- */

void sim_workload_free(struct sim_workload *wl)
{
	free(wl->steps);
	wl->steps = NULL;
	wl->n = 0;
}

static int parse_step(json_object *j, struct sim_step *st, size_t i,
		      char **msg)
{
	const char *op = get_str(j, "op");
	const char *acc = get_str(j, "access");
	uint64_t v;
	bool have, need_rip = true;

	memset(st, 0, sizeof(*st));
	st->len = 1;
	if (!json_object_is_type(j, json_type_object)) {
		*msg = xstrfmt("step %zu: not an object", i);
		return -EINVAL;
	}
	if (!op || !strcmp(op, "insn"))
		st->kind = STEP_INSN;
	else if (!strcmp(op, "pushf"))
		st->kind = STEP_PUSHF;
	else if (!strcmp(op, "set_reg"))
		st->kind = STEP_SET_REG;
	else if (!strcmp(op, "cpuid"))
		st->kind = STEP_CPUID, st->len = 2;
	else if (!strcmp(op, "write_cr"))
		st->kind = STEP_WRITE_CR, st->len = 3;
	else if (!strcmp(op, "vmcall"))
		st->kind = STEP_VMCALL, st->len = 3;
	else if (!strcmp(op, "exec"))
		st->kind = STEP_EXEC, need_rip = false;
	else if (!strcmp(op, "sleep"))
		st->kind = STEP_SLEEP, need_rip = false;
	else if (!strcmp(op, "loop"))
		st->kind = STEP_LOOP, need_rip = false;
	else if (!strcmp(op, "halt"))
		st->kind = STEP_HALT, need_rip = false;
	else if (!strcmp(op, "interrupt"))
		st->kind = STEP_INTERRUPT;
	else if (!strcmp(op, "iret"))
		st->kind = STEP_IRET, st->len = 2;
	else if (!strcmp(op, "cli"))
		st->kind = STEP_CLI;
	else if (!strcmp(op, "sti"))
		st->kind = STEP_STI;
	else {
		*msg = xstrfmt("step %zu: unknown op \"%s\" (insn, exec, pushf, set_reg, cpuid, write_cr, vmcall, interrupt, iret, cli, sti, sleep, loop, halt)",
			       i, op);
		return -EINVAL;
	}
	if (get_u64(j, "rip", &st->rip, &have) || (need_rip && !have)) {
		*msg = xstrfmt("step %zu: give its \"rip\"", i);
		return -EINVAL;
	}
	if (get_u64(j, "len", &v, &have) || (have && (v < 1 || v > 15))) {
		*msg = xstrfmt("step %zu: \"len\" must be 1..15", i);
		return -EINVAL;
	}
	if (have)
		st->len = (unsigned)v;
	if (acc) {
		if (!strcmp(acc, "none"))
			st->access = ACC_NONE;
		else if (!strcmp(acc, "read"))
			st->access = ACC_READ;
		else if (!strcmp(acc, "write"))
			st->access = ACC_WRITE;
		else if (!strcmp(acc, "rw"))
			st->access = ACC_RW;
		else {
			*msg = xstrfmt("step %zu: access \"%s\" (none, read, write, rw)",
				       i, acc);
			return -EINVAL;
		}
		if (st->access && st->kind != STEP_INSN) {
			*msg = xstrfmt("step %zu: only plain instructions have an access",
				       i);
			return -EINVAL;
		}
	}
	if (get_u64(j, "va", &st->va, &have) || (st->access && !have)) {
		*msg = xstrfmt("step %zu: an access needs its \"va\"", i);
		return -EINVAL;
	}
	st->size = 8;
	if (get_u64(j, "size", &v, &have) ||
	    (have && (v < 1 || v > 64 * 4096 - 4096))) {
		*msg = xstrfmt("step %zu: \"size\" must be 1..258048", i);
		return -EINVAL;
	}
	if (have)
		st->size = (unsigned)v;
	if (get_u64(j, "value", &st->value, &have)) {
		*msg = xstrfmt("step %zu: bad \"value\"", i);
		return -EINVAL;
	}
	if (st->kind == STEP_SET_REG) {
		const char *reg = get_str(j, "reg");

		st->reg = reg ? sim_reg_index(reg) : -1;
		if (st->reg < 0) {
			*msg = xstrfmt("step %zu: unknown register \"%s\"", i,
				       reg ? reg : "");
			return -EINVAL;
		}
	}
	if (st->kind == STEP_WRITE_CR) {
		if (get_u64(j, "cr", &v, &have) || !have ||
		    (v != 0 && v != 3 && v != 4)) {
			*msg = xstrfmt("step %zu: \"cr\" must be 0, 3 or 4", i);
			return -EINVAL;
		}
		st->reg = (int)v;
	}
	if (st->kind == STEP_INTERRUPT &&
	    (get_u64(j, "vector", &st->count, &have) || !have ||
	     st->count < 32 || st->count > 255)) {
		*msg = xstrfmt("step %zu: an interrupt needs its \"vector\" (32..255)", i);
		return -EINVAL;
	}
	if (st->kind == STEP_SLEEP &&
	    (get_u64(j, "ticks", &st->count, &have) || !have)) {
		*msg = xstrfmt("step %zu: a sleep needs \"ticks\"", i);
		return -EINVAL;
	}
	if (st->kind == STEP_EXEC && (json_object_object_get_ex(j, "rip", NULL) ||
				      json_object_object_get_ex(j, "access", NULL))) {
		*msg = xstrfmt("step %zu: an exec step runs the code at the vCPU's RIP (set it with set-reg); it has no \"rip\" or \"access\" of its own",
			       i);
		return -EINVAL;
	}
	if (st->kind == STEP_EXEC && get_u64(j, "count", &st->count, &have)) {
		*msg = xstrfmt("step %zu: bad \"count\"", i);
		return -EINVAL;
	}
	if (st->kind == STEP_LOOP && get_u64(j, "times", &st->count, &have)) {
		*msg = xstrfmt("step %zu: bad \"times\"", i);
		return -EINVAL;
	}
	return 0;
}

int sim_workload_parse(json_object *j, struct sim_workload *wl, char **msg)
{
	json_object *steps;
	size_t i, n;
	int rc;

	memset(wl, 0, sizeof(*wl));
	if (json_object_is_type(j, json_type_array))
		steps = j;
	else if (!json_object_object_get_ex(j, "steps", &steps) ||
		 !json_object_is_type(steps, json_type_array)) {
		*msg = xstrfmt("a workload is {\"steps\": [...]}");
		return -EINVAL;
	}
	n = json_object_array_length(steps);
	if (!n || n > 100000) {
		*msg = xstrfmt("a workload has 1..100000 steps, not %zu", n);
		return -EINVAL;
	}
	wl->steps = xcalloc(n, sizeof(*wl->steps));
	wl->n = n;
	for (i = 0; i < n; i++) {
		rc = parse_step(json_object_array_get_idx(steps, i),
				&wl->steps[i], i, msg);
		if (rc) {
			sim_workload_free(wl);
			return rc;
		}
	}
	return 0;
}

/* ---- state ---- */

static const char *type_name(enum sim_dom_type t)
{
	return t == SIM_HVM ? "hvm" : t == SIM_PVH ? "pvh" : "pv";
}

static const char *altp2m_mode_name(unsigned m)
{
	switch (m) {
	case XEN_ALTP2M_disabled: return "disabled";
	case XEN_ALTP2M_mixed: return "mixed";
	case XEN_ALTP2M_external: return "external";
	case XEN_ALTP2M_limited: return "limited";
	default: return "?";
	}
}

static const char *shutdown_name(unsigned code)
{
	static const char *const n[] = { "poweroff", "reboot", "suspend",
					 "crash", "watchdog", "soft_reset" };

	return code < 6 ? n[code] : "?";
}

static const char *vcpu_state(const struct sim_vcpu *v)
{
	if (!v->online)
		return "offline";
	if (v->d->dying)
		return "dying";
	if (v->d->shut_down)
		return "shutdown";
	if (v->waiting_slot)
		return "waiting-slot";
	if (v->vm_event_pause)
		return "held";
	if (v->ring_blocked)
		return "ring-blocked";
	if (v->d->controller_pause)
		return "paused";
	if (v->fault)
		return "faulted";
	if (!v->wl.n)
		return "idle";
	if (v->halted)
		return "halted";
	if (!v->wl_running)
		return "stopped";
	if (!v->budget)
		return "budget-exhausted";
	if (v->sleeping)
		return "sleeping";
	return "running";
}

/* Runs of gfns (populated ones) where pick() says something. */
static json_object *access_runs(struct sim_domain *d,
				int (*pick)(struct sim_domain *, unsigned,
					    uint64_t),
				unsigned view)
{
	json_object *arr = json_object_new_array();
	uint64_t g, first = 0;
	int cur = -1;

	for (g = 0; g <= d->p2m_size; g++) {
		int a = g < d->p2m_size && sim_gfn_populated(d, g) ?
			pick(d, view, g) : -1;

		if (a == cur)
			continue;
		if (cur >= 0) {
			json_object *o = json_object_new_object();

			set(o, "first", hex(first));
			set(o, "last", hex(g - 1));
			set(o, "count", u64(g - first));
			set(o, "access", json_object_new_string(sim_access_name((uint8_t)cur)));
			json_object_array_add(arr, o);
		}
		cur = a;
		first = g;
	}
	return arr;
}

static int pick_host(struct sim_domain *d, unsigned view, uint64_t g)
{
	(void)view;
	return d->host_acc[g] == XENMEM_access_rwx ? -1 : d->host_acc[g];
}

static int pick_view(struct sim_domain *d, unsigned view, uint64_t g)
{
	uint8_t a = d->view[view].acc[g];

	return a == SIM_ACC_ABSENT || a == d->host_acc[g] ? -1 : a;
}

static json_object *regs_json(const struct hvm_hw_cpu *r)
{
	json_object *o = json_object_new_object();
	struct hvm_hw_cpu c = *r;
	int i;

	for (i = 0; i < sim_reg_count(); i++)
		set(o, sim_reg_name(i), hex(*sim_reg_ptr(&c, i)));
#define SEG(n)                                                               \
	do {                                                                 \
		json_object *s = json_object_new_object();                   \
		set(s, "sel", hex(r->n##_sel));                              \
		set(s, "base", hex(r->n##_base));                            \
		set(s, "limit", hex(r->n##_limit));                          \
		set(s, "attr", hex(r->n##_arbytes));                         \
		set(o, #n, s);                                               \
	} while (0)
	SEG(cs); SEG(ss); SEG(ds); SEG(es); SEG(fs); SEG(gs); SEG(tr); SEG(ldtr);
#undef SEG
	set(o, "gdtr_limit", hex(r->gdtr_limit));
	set(o, "idtr_limit", hex(r->idtr_limit));
	return o;
}

static json_object *counters_json(const struct sim_counters *c)
{
	static const char *const reasons[16] = {
		"unknown", "mem_access", "mem_sharing", "mem_paging",
		"write_ctrlreg", "mov_to_msr", "software_breakpoint",
		"singlestep", "guest_request", "debug_exception", "cpuid",
		"privileged_call", "interrupt", "descriptor_access",
		"emul_unimplemented", "vmexit",
	};
	json_object *o = json_object_new_object();
	json_object *ev = json_object_new_object();
	unsigned i;

	set(o, "steps", u64(c->steps));
	set(o, "emulated", u64(c->emulated));
	set(o, "reads", u64(c->reads));
	set(o, "writes", u64(c->writes));
	set(o, "int3", u64(c->int3));
	set(o, "bp_delivered", u64(c->bp_delivered));
	set(o, "db_delivered", u64(c->db_delivered));
	set(o, "exit_completed", u64(c->exit_completed));
	set(o, "pf_delivered", u64(c->pf_delivered));
	set(o, "other_delivered", u64(c->other_delivered));
	set(o, "interrupts", u64(c->interrupts));
	set(o, "events", u64(c->events));
	set(o, "ring_waits", u64(c->ring_waits));
	set(o, "ring_blocks", u64(c->ring_blocks));
	set(o, "stale_loads", u64(c->stale_loads));
	for (i = 0; i < 16; i++)
		set(ev, reasons[i], u64(c->reason[i]));
	set(o, "by_reason", ev);
	return o;
}

static json_object *vcpu_json(const struct sim_vcpu *v)
{
	json_object *o = json_object_new_object();
	json_object *w = json_object_new_object();

	set(o, "id", u64(v->id));
	set(o, "online", json_object_new_boolean(v->online));
	set(o, "state", json_object_new_string(vcpu_state(v)));
	set(o, "runnable", json_object_new_boolean(sim_vcpu_runnable(v)));
	set(o, "vm_event_pause", u64(v->vm_event_pause));
	set(o, "ring_blocked", json_object_new_boolean(v->ring_blocked));
	set(o, "waiting_slot", json_object_new_boolean(v->waiting_slot));
	set(o, "single_step", json_object_new_boolean(v->single_step));
	set(o, "mtf_pending", json_object_new_boolean(v->mtf_pending));
	set(o, "altp2m_view", u64(v->altp2m_idx));
	set(o, "emulate_pending", hex(v->emulate_flags));
	set(o, "set_registers_pending", json_object_new_boolean(v->set_gprs));
	if (v->inject.vector >= 0) {
		json_object *i = json_object_new_object();

		set(i, "vector", u64((uint64_t)v->inject.vector));
		set(i, "type", u64(v->inject.type));
		set(i, "insn_len", u64(v->inject.insn_len));
		set(o, "pending_injection", i);
	} else {
		set(o, "pending_injection", NULL);
	}
	if (v->intr.pending) {
		json_object *i = json_object_new_object();

		set(i, "vector", u64(v->intr.vector));
		set(i, "reinject", json_object_new_boolean(v->intr.reinject));
		set(o, "pending_interrupt", i);
	} else {
		set(o, "pending_interrupt", NULL);
	}
	set(o, "regs", regs_json(&v->r));
	set(o, "counters", counters_json(&v->c));
	set(w, "steps", u64(v->wl.n));
	set(w, "pc", u64(v->pc));
	set(w, "running", json_object_new_boolean(v->wl_running));
	set(w, "halted", json_object_new_boolean(v->halted));
	set(w, "sleeping", json_object_new_boolean(v->sleeping));
	set(w, "loops", u64(v->loops_done));
	set(w, "budget", v->budget == UINT64_MAX ? NULL : u64(v->budget));
	set(w, "fault", v->fault ? json_object_new_string(v->fault) : NULL);
	set(o, "workload", w);
	return o;
}

static json_object *monitor_json(const struct sim_domain *d)
{
	const struct sim_monitor *m = &d->mon;
	json_object *o = json_object_new_object();
	json_object *cr = json_object_new_object();
	static const char *const crn[4] = { "cr0", "cr3", "cr4", "xcr0" };
	unsigned i;

	set(o, "ring", json_object_new_boolean(d->ring != NULL));
	set(o, "port", d->ring ? u64(d->ring->xen_port) : NULL);
	set(o, "software_breakpoint", json_object_new_boolean(m->software_breakpoint));
	set(o, "singlestep", json_object_new_boolean(m->singlestep));
	set(o, "debug_exception", json_object_new_boolean(m->debug_exception));
	set(o, "debug_exception_sync", json_object_new_boolean(m->debug_exception_sync));
	set(o, "cpuid", json_object_new_boolean(m->cpuid));
	set(o, "emul_unimplemented", json_object_new_boolean(m->emul_unimplemented));
	set(o, "inguest_pagefault_disabled", json_object_new_boolean(m->inguest_pagefault_disabled));
	set(o, "descriptor_access", json_object_new_boolean(m->descriptor_access));
	set(o, "guest_request", json_object_new_boolean(m->guest_request));
	set(o, "guest_request_sync", json_object_new_boolean(m->guest_request_sync));
	set(o, "vmexit", json_object_new_boolean(m->vmexit));
	set(o, "emulate_each_rep", json_object_new_boolean(m->emulate_each_rep));
	for (i = 0; i < 4; i++) {
		json_object *c;

		if (!(m->write_ctrlreg_enabled & (1u << i)))
			continue;
		c = json_object_new_object();
		set(c, "sync", json_object_new_boolean(m->write_ctrlreg_sync & (1u << i)));
		set(c, "onchangeonly", json_object_new_boolean(m->write_ctrlreg_onchangeonly & (1u << i)));
		set(c, "mask", hex(m->write_ctrlreg_mask[i]));
		set(cr, crn[i], c);
	}
	set(o, "write_ctrlreg", cr);
	set(o, "capabilities", hex(sim_monitor_capabilities(d)));
	return o;
}

static json_object *ring_json(struct sim_domain *d)
{
	struct sim_ring *r = d->ring;
	json_object *o, *waiting;
	unsigned i;

	if (!r)
		return NULL;
	o = json_object_new_object();
	waiting = json_object_new_array();
	set(o, "size", u64(RING_SIZE(&r->front)));
	set(o, "req_prod", u64(r->front.req_prod_pvt));
	set(o, "rsp_cons", u64(r->front.rsp_cons));
	set(o, "listener_rsp_prod", u64(r->sring->rsp_prod));
	set(o, "outstanding", u64(r->front.req_prod_pvt - r->front.rsp_cons));
	set(o, "unanswered", u64(r->front.req_prod_pvt - r->sring->rsp_prod));
	set(o, "unconsumed_responses", u64(r->sring->rsp_prod - r->front.rsp_cons));
	set(o, "free", u64(RING_FREE_REQUESTS(&r->front)));
	set(o, "blocked", u64(r->blocked));
	for (i = 0; i < d->nr_vcpus; i++)
		if (d->vcpu[i].waiting_slot)
			json_object_array_add(waiting, u64(i));
	set(o, "waiting", waiting);
	set(o, "posted", u64(r->posted));
	set(o, "consumed", u64(r->consumed));
	return o;
}

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n--) {
		h ^= *b++;
		h *= 0x100000001b3ull;
	}
	return h;
}

#define FNV_BASIS 0xcbf29ce484222325ull

/*
 * fnv1a(h, page, SIM_PAGE_SIZE), quicker for a page of zeros: each zero
 * byte only multiplies by the prime, so the page multiplies by its
 * power zero_mul (fnv_zero_page_mul()).
 */
static uint64_t fnv1a_page(uint64_t h, const uint8_t *p, uint64_t zero_mul)
{
	if (!p[0] && !memcmp(p, p + 1, SIM_PAGE_SIZE - 1))
		return h * zero_mul;
	return fnv1a(h, p, SIM_PAGE_SIZE);
}

/*
 * Whether a slot of a domain's memory is a hole of its memfd: never
 * written, so zeros, which reading would allocate. The runs of data and
 * holes found with lseek are kept in *lo..*hi (*data tells which) so that
 * neighbouring slots cost no system call. false when it cannot tell.
 */
static bool slot_is_hole(const struct sim_domain *d, uint64_t slot,
			 uint64_t *lo, uint64_t *hi, bool *data)
{
	off_t off = (off_t)(slot << SIM_PAGE_SHIFT), end;

	if ((uint64_t)off < *lo || (uint64_t)off >= *hi) {
		end = lseek(d->memfd, off, SEEK_DATA);
		if (end < 0 && errno == ENXIO) {
			*data = false;
			end = (off_t)(d->file_pages << SIM_PAGE_SHIFT);
		} else if (end < 0) {
			return false;
		} else if (end == off) {
			*data = true;
			end = lseek(d->memfd, off, SEEK_HOLE);
			if (end <= off)
				return false;
		} else {
			*data = false;
		}
		*lo = (uint64_t)off;
		*hi = (uint64_t)end;
	}
	return !*data;
}

/* The FNV prime to the power SIM_PAGE_SIZE (modulo 2^64). */
static uint64_t fnv_zero_page_mul(void)
{
	uint64_t r = 1, b = 0x100000001b3ull;
	unsigned n;

	for (n = SIM_PAGE_SIZE; n; n >>= 1) {
		if (n & 1)
			r *= b;
		b *= b;
	}
	return r;
}

static json_object *digest_all(struct sim_domain *d)
{
	json_object *o = json_object_new_object();
	uint64_t g, h = FNV_BASIS, pages = 0, zero_mul = fnv_zero_page_mul();
	uint64_t lo = 0, hi = 0;
	bool data = true;
	char buf[40];

	/* The HVM special pages are left out: xc_monitor_enable takes the
	 * ring page out of the physmap for good, as in Xen, so a digest
	 * over them could never show "left as found" after monitoring. */
	for (g = 0; g < d->p2m_size; g++) {
		if (!sim_gfn_populated(d, g) ||
		    (sim_is_hvm(d) && g >= SIM_SPECIAL_END - SIM_SPECIAL_PAGES &&
		     g < SIM_SPECIAL_END))
			continue;
		h = fnv1a(h, &g, sizeof(g));
		if (slot_is_hole(d, d->p2m[g], &lo, &hi, &data))
			h *= zero_mul;
		else
			h = fnv1a_page(h, sim_gfn_ptr(d, g), zero_mul);
		pages++;
	}
	snprintf(buf, sizeof(buf), "fnv1a64:%016" PRIx64, h);
	set(o, "digest", json_object_new_string(buf));
	set(o, "pages", u64(pages));
	return o;
}

static json_object *state_json(struct sim_domain *d, bool digest)
{
	json_object *o = json_object_new_object();
	json_object *ma = json_object_new_object();
	json_object *views = json_object_new_array();
	json_object *alt = json_object_new_object();
	json_object *altv = json_object_new_array();
	json_object *vcpus = json_object_new_array();
	unsigned i;

	set(o, "ok", json_object_new_boolean(1));
	set(o, "domid", u64(d->domid));
	set(o, "name", json_object_new_string(d->name));
	set(o, "type", json_object_new_string(type_name(d->type)));
	set(o, "vendor", json_object_new_string(d->vendor == SIM_AMD ? "amd" : "intel"));
	set(o, "nr_vcpus", u64(d->nr_vcpus));
	set(o, "max_gpfn", hex(d->max_mapped));
	set(o, "tot_pages", u64(d->tot_pages));
	set(o, "paused", u64(d->controller_pause));
	set(o, "shutdown", json_object_new_boolean(d->shut_down));
	set(o, "shutdown_reason", d->shut_down ? json_object_new_string(shutdown_name(d->shutdown_code)) : NULL);
	set(o, "crash_reason", d->crash_reason ? json_object_new_string(d->crash_reason) : NULL);
	set(o, "dying", json_object_new_boolean(d->dying));
	set(o, "access_required", json_object_new_boolean(d->access_required));
	set(o, "unmodelled_flags", hex(d->unmodelled_flags));
	set(o, "hvm_loads", u64(d->hvm_loads));
	set(o, "hvm_loads_ok", u64(d->hvm_loads_ok));
	set(o, "stale_hold_regs", u64(d->stale_hold_regs));
	set(o, "monitor", monitor_json(d));
	set(o, "ring", ring_json(d));
	set(ma, "default", json_object_new_string(sim_access_name(d->default_access)));
	set(ma, "host", access_runs(d, pick_host, 0));
	for (i = 0; i < SIM_MAX_ALTP2M; i++) {
		json_object *v;

		if (!d->view[i].exists)
			continue;
		v = json_object_new_object();
		set(v, "id", u64(i));
		set(v, "default", json_object_new_string(sim_access_name(d->view[i].default_access)));
		set(v, "active_vcpus", u64(d->view[i].active_vcpus));
		set(v, "entries", access_runs(d, pick_view, i));
		json_object_array_add(views, v);
		json_object_array_add(altv, u64(i));
	}
	set(ma, "views", views);
	set(o, "mem_access", ma);
	set(alt, "mode", json_object_new_string(altp2m_mode_name(d->altp2m_mode)));
	set(alt, "active", json_object_new_boolean(d->altp2m_active));
	set(alt, "views", altv);
	set(o, "altp2m", alt);
	for (i = 0; i < d->nr_vcpus; i++)
		json_object_array_add(vcpus, vcpu_json(&d->vcpu[i]));
	set(o, "vcpus", vcpus);
	if (digest)
		set(o, "memory", digest_all(d));
	return o;
}

/* ---- memory access for tests ---- */

/* Resolves [addr, addr+len) to page pointers; va needs a vCPU. */
static int resolve(struct sim_domain *d, struct sim_vcpu *v, uint64_t addr,
		   uint64_t len, bool is_va, uint8_t **pages, uint64_t n,
		   struct reply *r)
{
	uint64_t i, first = addr >> SIM_PAGE_SHIFT;

	for (i = 0; i < n; i++) {
		uint64_t gfn = first + i;

		if (is_va) {
			if (sim_gva_to_gfn(v, (first + i) << SIM_PAGE_SHIFT, &gfn)) {
				fail(r, EFAULT, "0x%" PRIx64 " is not mapped by vCPU %u's page tables",
				     (first + i) << SIM_PAGE_SHIFT, v->id);
				return -EFAULT;
			}
		}
		pages[i] = sim_gfn_ptr(d, gfn);
		if (!pages[i]) {
			fail(r, EFAULT, "guest frame 0x%" PRIx64 " is not populated", gfn);
			return -EFAULT;
		}
	}
	(void)len;
	return 0;
}

static void do_rw(struct sim *s, json_object *req, struct reply *r,
		  bool write)
{
	struct sim_domain *d = get_dom(s, req, r);
	struct sim_vcpu *v = NULL;
	uint64_t addr, len = 0, n, i;
	bool have_gpa, have_va, have;
	struct strbuf data = STRBUF_INIT;
	uint8_t **pages;
	const char *hexs;

	if (!d)
		return;
	if (get_u64(req, "gpa", &addr, &have_gpa)) {
		fail(r, EINVAL, "bad gpa");
		return;
	}
	if (!have_gpa) {
		if (get_u64(req, "va", &addr, &have_va) || !have_va) {
			fail(r, EINVAL, "give \"gpa\" or \"va\" and \"vcpu\"");
			return;
		}
		v = get_vcpu(d, req, r);
		if (!v)
			return;
	}
	if (write) {
		hexs = get_str(req, "hex");
		if (!hexs || strlen(hexs) % 2) {
			fail(r, EINVAL, "give the bytes as \"hex\"");
			return;
		}
		for (i = 0; hexs[2 * i]; i++) {
			unsigned b;

			if (sscanf(hexs + 2 * i, "%2x", &b) != 1) {
				fail(r, EINVAL, "bad hex at %" PRIu64, 2 * i);
				strbuf_release(&data);
				return;
			}
			strbuf_addch(&data, (int)b);
		}
		len = data.len;
	} else if (get_u64(req, "len", &len, &have) || !have || !len ||
		   len > (64u << 20)) { {
		fail(r, EINVAL, "give \"len\" (1..64 MiB)");
		return;
	}
	}
	if (!len)
		goto out;
	n = ((addr + len - 1) >> SIM_PAGE_SHIFT) - (addr >> SIM_PAGE_SHIFT) + 1;
	pages = xcalloc(n, sizeof(*pages));
	if (!resolve(d, v, addr, len, v != NULL, pages, n, r)) {
		struct strbuf out = STRBUF_INIT;

		for (i = 0; i < len; i++) {
			uint64_t a = addr + i;
			uint8_t *p = pages[(a >> SIM_PAGE_SHIFT) -
					   (addr >> SIM_PAGE_SHIFT)] +
				     (a & (SIM_PAGE_SIZE - 1));

			if (write)
				*p = (uint8_t)data.buf[i];
			else
				strbuf_addch(&out, *p);
		}
		if (!write) {
			struct strbuf h = STRBUF_INIT;

			strbuf_addhex(&h, out.buf, out.len);
			set(r->o, "hex", json_object_new_string(h.buf));
			strbuf_release(&h);
		}
		strbuf_release(&out);
	}
	free(pages);
out:
	strbuf_release(&data);
}

static void do_digest(struct sim *s, json_object *req, struct reply *r)
{
	struct sim_domain *d = get_dom(s, req, r);
	uint64_t gpa, len, g, h = FNV_BASIS;
	bool hg, hl;
	char buf[40];

	if (!d)
		return;
	if (get_u64(req, "gpa", &gpa, &hg) || get_u64(req, "len", &len, &hl)) {
		fail(r, EINVAL, "bad range");
		return;
	}
	if (!hg) {
		json_object *m = digest_all(d);

		set(r->o, "memory", m);
		return;
	}
	if (!hl || !len) {
		fail(r, EINVAL, "a range needs \"len\"");
		return;
	}
	for (g = gpa >> SIM_PAGE_SHIFT; g <= (gpa + len - 1) >> SIM_PAGE_SHIFT; g++) {
		uint64_t lo = g << SIM_PAGE_SHIFT, hi = lo + SIM_PAGE_SIZE;
		uint8_t *p = sim_gfn_ptr(d, g);

		if (!p) {
			fail(r, EFAULT, "guest frame 0x%" PRIx64 " is not populated", g);
			return;
		}
		if (lo < gpa)
			lo = gpa;
		if (hi > gpa + len)
			hi = gpa + len;
		h = fnv1a(h, p + (lo & (SIM_PAGE_SIZE - 1)), hi - lo);
	}
	snprintf(buf, sizeof(buf), "fnv1a64:%016" PRIx64, h);
	set(r->o, "digest", json_object_new_string(buf));
}

/* ---- commands ---- */

static void do_create(struct sim *s, json_object *req, struct reply *r)
{
	struct sim_create_args a = { 0 };
	struct sim_domain *d;
	const char *t = get_str(req, "type");
	const char *vendor = get_str(req, "vendor");
	const char *alt = get_str(req, "altp2m");
	uint64_t v;
	bool have;
	char *msg = NULL;
	int rc;

	a.name = get_str(req, "name");
	a.type = SIM_HVM;
	if (t && !strcmp(t, "pvh"))
		a.type = SIM_PVH;
	else if (t && !strcmp(t, "pv"))
		a.type = SIM_PV;
	else if (t && strcmp(t, "hvm")) {
		fail(r, EINVAL, "type \"%s\": hvm, pvh or pv", t);
		return;
	}
	a.vendor = SIM_INTEL;
	if (vendor && !strcmp(vendor, "amd"))
		a.vendor = SIM_AMD;
	else if (vendor && strcmp(vendor, "intel")) {
		fail(r, EINVAL, "vendor \"%s\": intel or amd", vendor);
		return;
	}
	a.altp2m_mode = XEN_ALTP2M_disabled;
	if (alt && !strcmp(alt, "mixed"))
		a.altp2m_mode = XEN_ALTP2M_mixed;
	else if (alt && !strcmp(alt, "external"))
		a.altp2m_mode = XEN_ALTP2M_external;
	else if (alt && !strcmp(alt, "limited"))
		a.altp2m_mode = XEN_ALTP2M_limited;
	else if (alt && strcmp(alt, "disabled")) {
		fail(r, EINVAL, "altp2m \"%s\": disabled, mixed, external or limited",
		     alt);
		return;
	}
	if (get_u64(req, "vcpus", &v, &have) || (have && (!v || v > SIM_MAX_VCPUS))) {
		fail(r, EINVAL, "vcpus must be 1..%u", SIM_MAX_VCPUS);
		return;
	}
	a.vcpus = have ? (unsigned)v : 0;
	a.dump_path = get_str(req, "dump");
	a.raw_path = get_str(req, "raw");
	if (get_u64(req, "zero_mib", &a.zero_mib, &have)) {
		fail(r, EINVAL, "bad zero_mib");
		return;
	}
	if (get_u64(req, "cr3", &a.cr3, &a.have_cr3)) {
		fail(r, EINVAL, "bad cr3");
		return;
	}
	a.pagetables = !json_object_object_get_ex(req, "pagetables", NULL) ||
		       get_bool(req, "pagetables");
	rc = sim_domain_create(s, &a, &d, &msg);
	if (rc) {
		fail(r, -rc, "%s", msg ? msg : strerror(-rc));
		free(msg);
		return;
	}
	set(r->o, "domid", u64(d->domid));
}

static void do_workload(struct sim *s, json_object *req, struct reply *r)
{
	struct sim_domain *d = get_dom(s, req, r);
	struct sim_vcpu *v;
	struct sim_workload wl;
	json_object *w;
	char *msg = NULL;

	if (!d || !(v = get_vcpu(d, req, r)))
		return;
	if (!json_object_object_get_ex(req, "workload", &w)) {
		fail(r, EINVAL, "no \"workload\"");
		return;
	}
	if (sim_workload_parse(w, &wl, &msg)) {
		fail(r, EINVAL, "workload: %s", msg);
		free(msg);
		return;
	}
	sim_workload_free(&v->wl);
	v->wl = wl;
	v->pc = 0;
	v->loops_done = 0;
	v->halted = false;
	v->sleeping = false;
	v->resync = false;
	v->wl_running = false;
	v->intr.pending = false;
	v->done_once = 0;
	v->exec_done = 0;
	free(v->fault);
	v->fault = NULL;
	sim_update_timer(s);
}

static void do_start_stop(struct sim *s, json_object *req, struct reply *r,
			  bool start)
{
	struct sim_domain *d = get_dom(s, req, r);
	uint64_t vcpu, budget;
	bool one, have_budget;
	unsigned i;

	if (!d)
		return;
	if (get_u64(req, "vcpu", &vcpu, &one) || (one && vcpu >= d->nr_vcpus)) {
		fail(r, EINVAL, "bad vCPU");
		return;
	}
	if (get_u64(req, "steps", &budget, &have_budget)) {
		fail(r, EINVAL, "bad steps");
		return;
	}
	for (i = 0; i < d->nr_vcpus; i++) {
		struct sim_vcpu *v = &d->vcpu[i];

		if (one && i != vcpu)
			continue;
		if (!start) {
			v->wl_running = false;
			continue;
		}
		if (!v->wl.n) {
			if (one) {
				fail(r, EINVAL, "vCPU %u has no workload", i);
				return;
			}
			continue;
		}
		if (v->halted || v->fault) {
			v->pc = 0;
			v->loops_done = 0;
			v->exec_done = 0;
			v->halted = false;
			free(v->fault);
			v->fault = NULL;
		}
		v->budget = have_budget ? budget : UINT64_MAX;
		v->wl_running = true;
	}
	sim_update_timer(s);
}

static void do_set_reg(struct sim *s, json_object *req, struct reply *r)
{
	struct sim_domain *d = get_dom(s, req, r);
	struct sim_vcpu *v;
	json_object *regs;

	if (!d || !(v = get_vcpu(d, req, r)))
		return;
	if (!json_object_object_get_ex(req, "regs", &regs) ||
	    !json_object_is_type(regs, json_type_object)) {
		fail(r, EINVAL, "give \"regs\": {\"name\": value}");
		return;
	}
	json_object_object_foreach(regs, key, val) {
		int i = sim_reg_index(key);
		uint64_t x;
		bool have;
		json_object *one = json_object_new_object();

		json_object_object_add(one, "v", json_object_get(val));
		if (i < 0 || get_u64(one, "v", &x, &have) || !have) {
			json_object_put(one); {
			fail(r, EINVAL, "register \"%s\": unknown or bad value", key);
			return;
		}
		}
		json_object_put(one);
		*sim_reg_ptr(&v->r, i) = x;
	}
}

static void do_shutdown(struct sim *s, json_object *req, struct reply *r)
{
	static const char *const names[] = { "poweroff", "reboot", "suspend",
					     "crash", "watchdog" };
	struct sim_domain *d = get_dom(s, req, r);
	const char *why = get_str(req, "reason");
	unsigned i;

	if (!d)
		return;
	for (i = 0; i < 5; i++)
		if (why && !strcmp(why, names[i]))
			break;
	if (i == 5) {
		fail(r, EINVAL, "reason: poweroff, reboot, suspend, crash or watchdog");
		return;
	}
	if (d->shut_down) {
		fail(r, EBUSY, "domain %u is already shut down", d->domid);
		return;
	}
	sim_domain_shutdown(d, i, "injected by the control command");
}

/* Faults injected into the simulated Xen, for tests of how a debugger
 * copes with a hypervisor that misbehaves (see struct sim_domain). */
static void do_quirk(struct sim *s, json_object *req, struct reply *r)
{
	struct sim_domain *d = get_dom(s, req, r);
	const char *name = get_str(req, "quirk");
	const char *val = get_str(req, "value");
	bool on;

	if (!d)
		return;
	if (!val || (strcmp(val, "on") && strcmp(val, "off"))) {
		fail(r, EINVAL, "a quirk is on or off");
		return;
	}
	on = !strcmp(val, "on");
	if (name && !strcmp(name, "no-progress")) {
		d->quirk_no_progress = on;
		log_info(LC_MAIN, "d%u: quirk no-progress %s", d->domid, val);
	} else {
		fail(r, EINVAL, "quirk \"%s\": no-progress", name ? name : "");
	}
}

static void do_list(struct sim *s, struct reply *r)
{
	json_object *arr = json_object_new_array();
	unsigned i;

	for (i = 1; i < SIM_MAX_DOMAINS; i++) {
		struct sim_domain *d = s->dom[i];
		json_object *o;

		if (!d)
			continue;
		o = json_object_new_object();
		set(o, "domid", u64(d->domid));
		set(o, "name", json_object_new_string(d->name));
		set(o, "type", json_object_new_string(type_name(d->type)));
		set(o, "vendor", json_object_new_string(d->vendor == SIM_AMD ? "amd" : "intel"));
		set(o, "vcpus", u64(d->nr_vcpus));
		set(o, "pages", u64(d->tot_pages));
		set(o, "shutdown", json_object_new_boolean(d->shut_down));
		set(o, "dying", json_object_new_boolean(d->dying));
		json_object_array_add(arr, o);
	}
	set(r->o, "domains", arr);
}

void sim_ctl(struct sim *s, const char *request, struct strbuf *out)
{
	struct reply r = { .o = json_object_new_object() };
	json_object *req = json_tokener_parse(request);
	const char *cmd = req ? get_str(req, "cmd") : NULL;

	if (!cmd) {
		fail(&r, EINVAL, "the request is not a JSON object with a \"cmd\"");
	} else if (!strcmp(cmd, "create")) {
		do_create(s, req, &r);
	} else if (!strcmp(cmd, "destroy")) {
		struct sim_domain *d = get_dom(s, req, &r);

		if (d && get_bool(req, "dying")) {
			d->dying = true;
			sim_update_timer(s);
		} else if (d) {
			sim_domain_destroy(s, d);
		}
	} else if (!strcmp(cmd, "list")) {
		do_list(s, &r);
	} else if (!strcmp(cmd, "state")) {
		struct sim_domain *d = get_dom(s, req, &r);

		if (d) {
			json_object_put(r.o);
			r.o = state_json(d, get_bool(req, "digest"));
		}
	} else if (!strcmp(cmd, "digest")) {
		do_digest(s, req, &r);
	} else if (!strcmp(cmd, "workload")) {
		do_workload(s, req, &r);
	} else if (!strcmp(cmd, "start")) {
		do_start_stop(s, req, &r, true);
	} else if (!strcmp(cmd, "stop")) {
		do_start_stop(s, req, &r, false);
	} else if (!strcmp(cmd, "read")) {
		do_rw(s, req, &r, false);
	} else if (!strcmp(cmd, "write")) {
		do_rw(s, req, &r, true);
	} else if (!strcmp(cmd, "set-reg")) {
		do_set_reg(s, req, &r);
	} else if (!strcmp(cmd, "shutdown")) {
		do_shutdown(s, req, &r);
	} else if (!strcmp(cmd, "quirk")) {
		do_quirk(s, req, &r);
	} else if (!strcmp(cmd, "quit")) {
		s->quit = true;
	} else {
		fail(&r, EINVAL, "unknown command \"%s\"", cmd);
	}
	if (r.err) {
		json_object_put(r.o);
		r.o = json_object_new_object();
		set(r.o, "ok", json_object_new_boolean(0));
		set(r.o, "error", json_object_new_string(r.err));
		set(r.o, "errno", u64((uint64_t)r.errnum));
	} else if (!json_object_object_get_ex(r.o, "ok", NULL)) {
		set(r.o, "ok", json_object_new_boolean(1));
	}
	strbuf_addstr(out, json_object_to_json_string_ext(r.o, JSON_C_TO_STRING_PLAIN));
	json_object_put(r.o);
	if (req)
		json_object_put(req);
	free(r.err);
}
