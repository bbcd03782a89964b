// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Conditions and commands of gdb's points (the agent expressions of Z
 * packets): kept per point, decided where a vCPU hits the point, against
 * that vCPU's registers and address space, so that a hit whose conditions
 * are false costs the guest no stop; agent dprintf text queued, bounded
 * and rate-limited, for gdb's console while the guest runs.
 */
#include "stub/session/points-agent.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stub/agent/ax.h"
#include "stub/agent/ax-packet.h"
#include "stub/agent/ax-x86.h"
#include "os-awareness/os.h"
#include "stub/base/log.h"
#include "stub/base/num.h"
#include "stub/session/run.h"
#include "stub/session/session-internal.h"
#include "stub/session/trace.h"

/* Console text kept for gdb at most, and lines printed per second at
 * most: what goes beyond is dropped and counted, so that a dprintf on a
 * hot path never makes the guest wait for gdb. */
#define PA_OUT_MAX (64u * 1024)
#define PA_LINES_PER_SEC 1000u

struct pa_point {
	enum point_type t;
	uint64_t addr, len;
	struct ax_point_options o;
	bool told;			/* a failed condition was said */
};

struct pa_deferred {
	bool on;
	enum point_type t;
	uint64_t addr;
};

struct pa_state {
	struct pa_point *pts;
	size_t n, alloc;
	struct pa_deferred *def;	/* per vCPU */
	unsigned nvcpu;
	char msg[160];			/* for pa_take_message() */
	struct strbuf out;		/* console text not sent yet */
	uint64_t dropped;		/* lines dropped since the last take */
	uint64_t sec;			/* the second lines are counted in */
	unsigned sec_lines;
	struct {
		uint64_t evals, go, failed, cmds, lines, dropped;
		/* int3 hits let go, and the time from the event's handling
		 * to the vCPU's release */
		uint64_t swbp_go, swbp_ns;
	} st;
};

static struct pa_state *state(struct session *s)
{
	if (!s->agent) {
		s->agent = xcalloc(1, sizeof(*s->agent));
		s->agent->nvcpu = s->t->nr_vcpus ? s->t->nr_vcpus : 1;
		s->agent->def = xcalloc(s->agent->nvcpu, sizeof(*s->agent->def));
		strbuf_init(&s->agent->out, 0);
	}
	return s->agent;
}

static uint64_t now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void pa_env_init(struct pa_env *e, const struct ax_env_ops *ops,
		 struct session *s, unsigned vcpu, const struct x86_regs *regs)
{
	memset(e, 0, sizeof(*e));
	e->env.ops = ops;
	e->env.long_bits = e->env.ptr_bits = s->layout ? s->layout->addr_bits : 64;
	e->s = s;
	e->vcpu = vcpu;
	e->regs = *regs;
}

int pa_env_full_regs(struct pa_env *e, char **msg)
{
	int rc;

	if (e->full)
		return 0;
	rc = target_get_regs(e->s->t, e->vcpu, &e->regs);
	if (rc < 0) {
		*msg = xstrfmt("registers of vCPU %u: %s", e->vcpu,
			       target_strerror(e->s->t));
		return rc;
	}
	e->full = true;
	return 0;
}

int pa_env_read_reg(struct ax_env *env, unsigned regno, uint64_t *val,
		    char **msg)
{
	struct pa_env *e = (struct pa_env *)env;
	int rc = ax_x86_read_reg(&e->regs, e->s->layout, regno, val, msg);

	if (rc != -ENODATA || e->full)
		return rc;
	free(*msg);
	*msg = NULL;
	rc = pa_env_full_regs(e, msg);
	return rc < 0 ? rc : ax_x86_read_reg(&e->regs, e->s->layout, regno,
					     val, msg);
}

int pa_env_read_mem(struct ax_env *env, uint64_t addr, void *buf,
		    size_t len, char **msg)
{
	struct pa_env *e = (struct pa_env *)env;
	int rc;

	if (!e->have_as) {
		if (!x86_valid(&e->regs, XF_CR0) || !x86_valid(&e->regs, XF_CR3) ||
		    !x86_valid(&e->regs, XF_CR4) || !x86_valid(&e->regs, XF_EFER)) {
			rc = pa_env_full_regs(e, msg);
			if (rc < 0)
				return rc;
		}
		vmem_aspace_of(&e->regs, &e->as);
		e->have_as = true;
	}
	rc = vmem_read(e->s->mem, &e->as, addr, buf, len, NULL);
	if (rc < 0) {
		*msg = xstrfmt("not readable in vCPU %u's address space (cr3 0x%llx): %s",
			       e->vcpu, (unsigned long long)e->as.cr3,
			       strerror(-rc));
		return -EFAULT;
	}
	return 0;
}

/* A line of dprintf for gdb's console, unless the budget is spent. */
static int env_print(struct ax_env *env, const char *text, size_t len,
		     char **msg)
{
	struct pa_env *e = (struct pa_env *)env;
	struct pa_state *a = e->s->agent;
	uint64_t sec = now_sec();

	(void)msg;
	if (sec != a->sec) {
		a->sec = sec;
		a->sec_lines = 0;
	}
	if (a->sec_lines >= PA_LINES_PER_SEC || a->out.len + len > PA_OUT_MAX) {
		a->dropped++;
		a->st.dropped++;
		return 0;
	}
	a->sec_lines++;
	a->st.lines++;
	strbuf_add(&a->out, text, len);
	return 0;
}

static const struct ax_env_ops pa_ops = {
	.read_reg = pa_env_read_reg,
	.read_mem = pa_env_read_mem,
	.print = env_print,
};

static struct pa_point *find(struct pa_state *a, enum point_type t,
			     uint64_t addr, bool in_range)
{
	size_t i;

	if (!a)
		return NULL;
	for (i = 0; i < a->n; i++) {
		struct pa_point *p = &a->pts[i];

		if (p->t != t)
			continue;
		if (p->addr == addr ||
		    (in_range && addr > p->addr && addr - p->addr < p->len))
			return p;
	}
	return NULL;
}

static struct pa_point *find_exact(struct pa_state *a, enum point_type t,
				   uint64_t addr, uint64_t len)
{
	size_t i;

	for (i = 0; a && i < a->n; i++)
		if (a->pts[i].t == t && a->pts[i].addr == addr &&
		    a->pts[i].len == len)
			return &a->pts[i];
	return NULL;
}

static bool is_watch(enum point_type t)
{
	return t >= PT_WRITE_WATCH;
}

bool pa_has(struct session *s, enum point_type t, uint64_t addr)
{
	return find(s->agent, t, addr, is_watch(t)) != NULL;
}

static const char *point_name(enum point_type t)
{
	switch (t) {
	case PT_SW_BREAK: return "breakpoint";
	case PT_HW_BREAK: return "hardware breakpoint";
	default: return "watchpoint";
	}
}

enum pa_verdict pa_hit(struct session *s, enum point_type t, uint64_t addr,
		       unsigned vcpu, const struct x86_regs *regs,
		       struct stop_info *st)
{
	struct pa_state *a = s->agent;
	struct pa_point *p = find(a, t, addr, is_watch(t));
	struct pa_env e;
	char *msg = NULL;
	bool stop = true;
	size_t i;
	int rc = 0;

	if (!p)
		return PA_STOP;
	pa_env_init(&e, &pa_ops, s, vcpu, regs);
	if (p->o.nconds) {
		a->st.evals++;
		rc = ax_eval_conditions(p->o.conds, p->o.nconds, &e.env, &stop,
					&msg);
	}
	if (rc < 0) {
		a->st.failed++;
		if (!p->told && st && !st->message[0])
			snprintf(st->message, sizeof(st->message),
				 "xenstub: the condition of the %s at 0x%llx could not be evaluated, so it stops there: %s\n",
				 point_name(t), (unsigned long long)p->addr,
				 msg ? msg : strerror(-rc));
		p->told = true;
		log_info(LC_TRAP, "condition at 0x%llx: %s", (unsigned long long)p->addr,
			 msg ? msg : strerror(-rc));
		free(msg);
		return PA_STOP;
	}
	free(msg);
	if (!stop) {
		a->st.go++;
		return PA_GO;
	}
	if (!p->o.ncmds)
		return PA_STOP;
	/* commands (agent dprintf) run where the point is hit; as in
	 * gdbserver, a point with commands does not stop */
	for (i = 0; i < p->o.ncmds; i++) {
		msg = NULL;
		a->st.cmds++;
		rc = ax_eval(p->o.cmds[i], &e.env, NULL, &msg);
		if (rc < 0) {
			char line[200];

			snprintf(line, sizeof(line),
				 "xenstub: the commands of the %s at 0x%llx failed: %s\n",
				 point_name(t), (unsigned long long)p->addr,
				 msg ? msg : strerror(-rc));
			env_print(&e.env, line, strlen(line), NULL);
		}
		free(msg);
	}
	a->st.go++;
	return PA_GO;
}

void pa_defer(struct session *s, unsigned v, enum point_type t,
	      uint64_t addr)
{
	struct pa_state *a = state(s);

	if (v >= a->nvcpu)
		return;
	a->def[v].on = true;
	a->def[v].t = t;
	a->def[v].addr = addr;
}

bool pa_watch_stops(struct session *s, unsigned v)
{
	struct pa_state *a = s->agent;
	struct stop_info st;
	struct x86_regs regs;

	if (!a || v >= a->nvcpu || !a->def[v].on)
		return true;
	a->def[v].on = false;
	/* after the access: what gdb sees at the stop */
	if (target_get_regs(s->t, v, &regs) < 0)
		return true;
	memset(&st, 0, sizeof(st));
	if (pa_hit(s, a->def[v].t, a->def[v].addr, v, &regs, &st) == PA_GO)
		return false;
	snprintf(a->msg, sizeof(a->msg), "%s", st.message);
	return true;
}

void pa_take_message(struct session *s, struct stop_info *st)
{
	struct pa_state *a = s->agent;

	if (!a || !a->msg[0])
		return;
	if (!st->message[0])
		snprintf(st->message, sizeof(st->message), "%s", a->msg);
	a->msg[0] = 0;
}

static void point_release(struct pa_point *p)
{
	ax_point_options_release(&p->o);
}

void pa_forget(struct session *s, enum point_type t, uint64_t addr,
	       uint64_t len)
{
	struct pa_state *a = s->agent;
	struct pa_point *p = find_exact(a, t, addr, len);

	if (!p)
		return;
	point_release(p);
	*p = a->pts[--a->n];
}

void pa_reset(struct session *s)
{
	struct pa_state *a = s->agent;
	size_t i;

	if (!a)
		return;
	for (i = 0; i < a->n; i++)
		point_release(&a->pts[i]);
	a->n = 0;
	memset(a->def, 0, sizeof(*a->def) * a->nvcpu);
}

void pa_free(struct session *s)
{
	struct pa_state *a = s->agent;

	if (!a)
		return;
	pa_reset(s);
	free(a->pts);
	free(a->def);
	strbuf_release(&a->out);
	free(a);
	s->agent = NULL;
}

void pa_describe(struct session *s, struct strbuf *out)
{
	struct pa_state *a = s->agent;

	if (!a)
		return;
	strbuf_addf(out, "agent expressions: %zu point%s with conditions or commands; "
		    "%llu condition evaluations, %llu hits resumed at once (condition false or dprintf), "
		    "%llu evaluations failed (stopped)\n",
		    a->n, a->n == 1 ? "" : "s",
		    (unsigned long long)a->st.evals, (unsigned long long)a->st.go,
		    (unsigned long long)a->st.failed);
	if (a->st.swbp_go)
		strbuf_addf(out, "int3 hits let go without a stop (condition, dprintf, tracepoint): %llu, "
			    "mean handling %.1f us\n", (unsigned long long)a->st.swbp_go,
			    (double)a->st.swbp_ns / (double)a->st.swbp_go / 1000.0);
	if (a->st.cmds)
		strbuf_addf(out, "agent dprintf: %llu commands run, %llu lines for gdb, %llu dropped\n",
			    (unsigned long long)a->st.cmds, (unsigned long long)a->st.lines,
			    (unsigned long long)a->st.dropped);
}

/* What a point may carry: conditions that read registers and memory, and
 * commands that also print; nothing that collects or sets variables (no
 * trace frame exists at a breakpoint). */
static int check_options(const struct ax_point_options *o, char **msg)
{
	size_t i;

	for (i = 0; i < o->nconds; i++) {
		if (o->conds[i]->uses & (AX_USES_COLLECT | AX_USES_SETV | AX_USES_GETV |
					 AX_USES_PRINTF)) {
			*msg = xstrfmt("condition %zu collects, prints or uses trace state variables: "
				       "xenstub evaluates conditions of registers and memory only", i + 1);
			return -EINVAL;
		}
	}
	for (i = 0; i < o->ncmds; i++) {
		if (o->cmds[i]->uses & (AX_USES_COLLECT | AX_USES_SETV | AX_USES_GETV)) {
			*msg = xstrfmt("command %zu collects or uses trace state variables: "
				       "only dprintf commands run at breakpoints", i + 1);
			return -EINVAL;
		}
	}
	return 0;
}

int session_insert_point_opts(struct session *s, uint64_t tid,
			      enum point_type t, uint64_t addr, uint64_t len,
			      const char *opts, size_t optlen, char **msg)
{
	struct ax_point_options o = AX_POINT_OPTIONS_INIT;
	struct pa_state *a;
	struct pa_point *p;
	int rc;

	if (optlen) {
		rc = ax_parse_point_options(opts, optlen, &o, msg);
		if (rc == 0)
			rc = check_options(&o, msg);
		if (rc < 0) {
			ax_point_options_release(&o);
			/* an error, not "unsupported": gdb would write the
			 * int3 itself after an empty reply */
			return rc == -EOPNOTSUPP ? -EINVAL : rc;
		}
	}
	rc = session_insert_point(s, tid, t, addr, len, msg);
	if (rc < 0) {
		ax_point_options_release(&o);
		return rc;
	}
	/* every Z carries the point's whole list: it replaces the last one */
	pa_forget(s, t, addr, len);
	if (!o.nconds && !o.ncmds)
		return rc;
	a = state(s);
	if (a->n == a->alloc) {
		a->alloc = a->alloc ? 2 * a->alloc : 8;
		a->pts = xrealloc(a->pts, a->alloc * sizeof(*a->pts));
	}
	p = &a->pts[a->n++];
	memset(p, 0, sizeof(*p));
	p->t = t;
	p->addr = addr;
	p->len = len;
	p->o = o;
	return rc;
}

size_t session_take_output(struct session *s, struct strbuf *out)
{
	struct pa_state *a = s->agent;
	size_t n0 = out->len;

	if (!a)
		return 0;
	strbuf_add(out, a->out.buf, a->out.len);
	strbuf_reset(&a->out);
	if (a->dropped)
		strbuf_addf(out, "xenstub: %llu dprintf line%s dropped (more than %u a second, or gdb reading too slowly)\n",
			    (unsigned long long)a->dropped, a->dropped == 1 ? "" : "s",
			    PA_LINES_PER_SEC);
	a->dropped = 0;
	return out->len - n0;
}

static enum point_type point_of(enum stop_reason r)
{
	switch (r) {
	case SR_HWBREAK: return PT_HW_BREAK;
	case SR_WATCH: return PT_WRITE_WATCH;
	case SR_RWATCH: return PT_READ_WATCH;
	case SR_AWATCH: return PT_ACCESS_WATCH;
	default: return PT_SW_BREAK;
	}
}

/* Is v the vCPU gdb steps? Its stop is the step's: nothing to decide. */
static bool stepped(struct session *s, unsigned v)
{
	return s->run->phase == PH_STEPPING && (int)v == s->run->step_vcpu;
}

bool pa_swbp_go(struct session *s, const struct target_event *ev,
		struct stop_info *st)
{
	uint64_t t0 = now_ns();
	bool traced;

	if (stepped(s, ev->vcpu))
		return false;
	/* a tracepoint's int3: its frame, and the vCPU goes on */
	traced = trace_hit(s, ev->vcpu, ev->regs.rip, false, &ev->regs);
	if (!traced && (!s->agent || !s->agent->n ||
			pa_hit(s, PT_SW_BREAK, ev->regs.rip, ev->vcpu, &ev->regs,
			       st) != PA_GO))
		return false;
	if (run_release_continue(s, ev->vcpu) < 0)
		log_warn(LC_TRAP, "vCPU %u could not be let go past the breakpoint at 0x%llx: %s",
			 ev->vcpu, (unsigned long long)ev->regs.rip, target_strerror(s->t));
	state(s)->st.swbp_go++;
	s->agent->st.swbp_ns += now_ns() - t0;
	return true;
}

bool pa_dr_go(struct session *s, const struct target_event *ev,
	      struct stop_info *st)
{
	struct x86_regs regs;
	bool traced;

	if (stepped(s, ev->vcpu))
		return false;
	/* a fast tracepoint's debug register: its frame, and on */
	traced = st->reason == SR_HWBREAK &&
		 trace_hit(s, ev->vcpu, st->addr, true, &ev->regs);
	if (!traced && (!s->agent || !s->agent->n ||
			pa_hit(s, point_of(st->reason), st->addr, ev->vcpu,
			       &ev->regs, st) != PA_GO))
		return false;
	/* an instruction breakpoint faults before its instruction: RF lets
	 * it run once */
	if (st->reason == SR_HWBREAK &&
	    (target_get_regs(s->t, ev->vcpu, &regs) < 0 ||
	     (regs.rflags |= X86_RFLAGS_RF, target_set_regs(s->t, ev->vcpu, &regs)) < 0)) {
		log_warn(LC_TRAP, "vCPU %u stops at 0x%llx: RF could not be set to go past it: %s",
			 ev->vcpu, (unsigned long long)st->addr, target_strerror(s->t));
		return false;
	}
	run_release(s, ev->vcpu, NULL);
	return true;
}

int pa_trap_hit(struct session *s, const struct target_event *ev,
		enum trap_verdict tv, const struct trap_hit *hit,
		struct stop_info *st)
{
	struct vcpu_run *vr = &s->run->v[ev->vcpu];
	enum point_type t = point_of(st->reason);
	struct target_response how;
	bool traced;

	if (stepped(s, ev->vcpu) || hit->delivery || hit->then_kind != TK_NONE)
		return 1;
	/* a fast tracepoint's execute trap: its frame, and on */
	traced = tv == TV_HIT_EXEC &&
		 trace_hit(s, ev->vcpu, hit->addr, true, &ev->regs);
	if (!traced && (!s->agent || !s->agent->n))
		return 1;
	if (tv == TV_HIT_DATA && pa_has(s, t, hit->addr)) {
		/* decided once the access is done, as gdb would see it */
		pa_defer(s, ev->vcpu, t, hit->addr);
		vr->then_reason = st->reason;
		vr->then_addr = hit->addr;
		vr->needs_completion = true;
		return 2;
	}
	if (!traced && (tv != TV_HIT_EXEC ||
			pa_hit(s, PT_HW_BREAK, hit->addr, ev->vcpu, &ev->regs, st) != PA_GO))
		return 1;
	/* Xen's emulator runs the instruction, the frame still restricted */
	memset(&how, 0, sizeof(how));
	how.emulate = true;
	run_release(s, ev->vcpu, &how);
	return 0;
}

/* The offset column of member name in the OS module's "offsets" table
 * ("name offset size ..."), or -1 when the row is missing or has none. */
static long offsets_row(const char *table, const char *name)
{
	size_t n = strlen(name);
	const char *p;

	for (p = table; (p = strstr(p, name)); p += n) {
		char *end;
		long v;

		if ((p != table && p[-1] != '\n') || p[n] != ' ')
			continue;
		v = strtol(p + n, &end, 10);
		return end == p + n || v < 0 ? -1 : v;
	}
	return -1;
}

/*
 * Where the current task is: the per-CPU slot current_task (or
 * pcpu_hot.current_task), as an offset from the per-CPU base that the
 * kernel keeps in its gs base. 0 with *off, or -ENOENT with why in out.
 */
static int current_task_slot(struct session *s, const char *table,
			     uint64_t *off, struct strbuf *out)
{
	uint64_t a;
	long f;

	if (!os_lookup_symbol(s->os, "current_task", &a)) {
		*off = a;
		return 0;
	}
	f = offsets_row(table, "pcpu_hot.current_task");
	if (!os_lookup_symbol(s->os, "pcpu_hot", &a) && f >= 0) {
		*off = a + (uint64_t)f;
		return 0;
	}
	strbuf_addstr(out, "the per-CPU current task is not known (neither current_task nor pcpu_hot): see monitor os\n");
	return -ENOENT;
}

int pa_process_condition(struct session *s, const char *args,
			 struct strbuf *out)
{
	struct strbuf table = STRBUF_INIT, cur = STRBUF_INIT;
	const struct os_task *first = NULL;
	uint64_t pid, slot;
	size_t i, nthreads = 0;
	long tgid;
	int rc = -EINVAL;

	if (parse_u64(args, &pid) || !pid || pid > OS_TID_MAX_ID) {
		strbuf_addstr(out, "usage: process-condition PID (a process id of the guest)\n");
		return -EINVAL;
	}
	if (!s->os) {
		strbuf_addstr(out, "no guest OS is recognised: see monitor os\n");
		return 0;
	}
	if (strcmp(os_name(s->os), "linux") || !s->layout || s->layout->addr_bits != 64) {
		strbuf_addf(out, "process-condition knows 64-bit Linux guests only (this one: %s, %u-bit)\n",
			    os_name(s->os), s->layout ? s->layout->addr_bits : 0);
		return 0;
	}
	os_command(s->os, "offsets", "", &table);
	if (current_task_slot(s, table.buf, &slot, out) < 0) {
		rc = 0;
		goto out;
	}
	for (i = 0; i < s->os->ntasks; i++) {
		const struct os_task *t = &s->os->tasks[i];

		if (t->is_idle || t->pid != (int64_t)pid)
			continue;
		if (!first || t->thread_id == t->pid)
			first = t;
		nthreads++;
	}
	/* the kernel's per-CPU base: gs base in the kernel, the saved one
	 * (KERNEL_GS_BASE) before swapgs at an entry from user space; a
	 * user gs base is in the lower half */
	strbuf_addf(&cur, "*(unsigned long *)(($gs_base < 0 ? $gs_base : $k_gs_base) + 0x%llx)",
		    (unsigned long long)slot);
	tgid = offsets_row(table.buf, "task_struct.tgid");
	if (!first)
		strbuf_addf(out, "# no process %llu in the task list now\n",
			    (unsigned long long)pid);
	else
		strbuf_addf(out, "# process %llu (%s), %zu thread%s: the current task's tgid is %llu\n",
			    (unsigned long long)pid, first->proc_name[0] ? first->proc_name : first->name,
			    nthreads, nthreads == 1 ? "" : "s", (unsigned long long)pid);
	if (tgid >= 0) {
		strbuf_addf(out, "*(int *)(%s + %ld) == %llu\n", cur.buf, tgid,
			    (unsigned long long)pid);
	} else if (first) {
		/* no tgid offset: the tasks the process has now */
		bool any = false;

		for (i = 0; i < s->os->ntasks; i++) {
			const struct os_task *t = &s->os->tasks[i];

			if (t->is_idle || t->pid != (int64_t)pid)
				continue;
			strbuf_addf(out, "%s%s == 0x%llx", any ? " || " : "",
				    cur.buf, (unsigned long long)t->addr);
			any = true;
		}
		strbuf_addstr(out, "\n# (task_struct.tgid is not known: these are its threads now)\n");
	} else {
		strbuf_addstr(out, "# task_struct.tgid is not known: no condition can be made\n");
	}
	rc = 0;
out:
	strbuf_release(&table);
	strbuf_release(&cur);
	return rc;
}
