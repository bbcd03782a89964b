// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The session: thread list (vCPUs, then OS tasks), per-thread registers
 * and address spaces, physical mode and CR3 overrides, and the entry
 * points of run control, which live targets implement in run-*.c and
 * points.c.
 */
#include "stub/session/session.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/paging.h"
#include "os-awareness/os.h"
#include "stub/base/alloc.h"
#include "stub/base/log.h"
#include "stub/session/points-agent.h"
#include "stub/session/run.h"
#include "stub/session/session-internal.h"
#include "stub/session/trace.h"
#include "stub/guest/journal.h"

const struct x86_gdb_layout *session_layout(const struct session *s)
{
	return s->layout;
}
bool session_is_live(const struct session *s)
{
	return target_has(s->t, TCAP_RUN);
}
unsigned session_vcpu_count(const struct session *s)
{
	return s->t->nr_vcpus;
}
const char *session_last_error(const struct session *s)
{
	return target_strerror(s->t);
}
bool session_mem_writable(const struct session *s)
{
	return target_has(s->t, TCAP_WRITE_MEM);
}
const char *session_why_read_only(const struct session *s, bool regs)
{
	if (target_has(s->t, regs ? TCAP_WRITE_REGS : TCAP_WRITE_MEM) ||
	    s->opts.read_only)
		return "xenstub runs with --read-only";
	return session_is_live(s) ? "this guest's target does not allow it" :
				    "the target cannot be written (a memory dump)";
}
void session_processes(struct session *s, session_process_fn row, void *ctx)
{
	if (s->os)
		os_processes(s->os, row, ctx);
}
int session_image_offsets(struct session *s, struct strbuf *reply)
{
	return s->os ? os_image_offsets(s->os, reply) : -ENOENT;
}
const char *session_os_status(const struct session *s)
{
	return s->os_why.buf;
}

static int env_vcpu_regs(void *ctx, unsigned vcpu, struct x86_regs *r)
{
	return session_vcpu_regs(ctx, vcpu, r);
}

int session_vcpu_regs(struct session *s, unsigned vcpu, struct x86_regs *r)
{
	int rc;

	if (vcpu >= s->t->nr_vcpus)
		return -ESRCH;
	if (!s->vcpu_cached[vcpu]) {
		rc = target_get_regs(s->t, vcpu, &s->vcpu_regs[vcpu]);
		if (rc < 0)
			return rc;
		s->vcpu_cached[vcpu] = true;
	}
	*r = s->vcpu_regs[vcpu];
	return 0;
}

void session_invalidate_regs(struct session *s)
{
	memset(s->vcpu_cached, 0, sizeof(bool) * s->t->nr_vcpus);
}

static void build_threads(struct session *s)
{
	size_t n = s->t->nr_vcpus + (s->os ? s->os->ntasks : 0), i;
	const char **vcpu_comm = xcalloc(s->t->nr_vcpus, sizeof(char *));

	free(s->threads);
	s->threads = xcalloc(n, sizeof(*s->threads));
	s->nthreads = n;
	if (s->os) {
		for (i = 0; i < s->os->ntasks; i++) {
			const struct os_task *t = &s->os->tasks[i];
			struct thread_info *ti = &s->threads[s->t->nr_vcpus + i];

			ti->tid = t->tid;
			ti->vcpu = t->vcpu;
			ti->task = t;
			snprintf(ti->name, sizeof(ti->name), "%s", t->name);
			snprintf(ti->extra, sizeof(ti->extra),
				 "pid %lld tid %lld \"%s\" %s",
				 (long long)t->pid, (long long)t->thread_id,
				 t->name, t->state);
			if (t->vcpu >= 0) {
				size_t l = strlen(ti->extra);

				snprintf(ti->extra + l, sizeof(ti->extra) - l,
					 " (running on vCPU %d)", t->vcpu);
				if ((unsigned)t->vcpu < s->t->nr_vcpus)
					vcpu_comm[t->vcpu] = t->name;
			}
			if (t->note) {
				size_t l = strlen(ti->extra);

				snprintf(ti->extra + l, sizeof(ti->extra) - l,
					 " [%s]", t->note);
			}
		}
	}
	for (i = 0; i < s->t->nr_vcpus; i++) {
		struct thread_info *ti = &s->threads[i];

		ti->tid = i + 1;
		ti->vcpu = (int)i;
		if (vcpu_comm[i])
			snprintf(ti->name, sizeof(ti->name), "vCPU %zu: %s", i,
				 vcpu_comm[i]);
		else
			snprintf(ti->name, sizeof(ti->name), "vCPU %zu", i);
		snprintf(ti->extra, sizeof(ti->extra), "%s", ti->name);
	}
	free(vcpu_comm);
}

int session_refresh(struct session *s)
{
	session_invalidate_regs(s);
	if (s->os) {
		int rc = os_refresh(s->os);

		if (rc < 0)
			log_warn(LC_OS, "the %s task list could not be rebuilt: %s",
				 os_name(s->os), strerror(-rc));
	}
	build_threads(s);
	return 0;
}

int session_open(struct target *t, const struct session_opts *o,
		 struct session **out, char **msg)
{
	struct session *s = xcalloc(1, sizeof(*s));
	struct os_env env;
	int rc;

	s->t = t;
	s->opts = *o;
	if (!s->opts.os)
		s->opts.os = "auto";
	s->layout = x86_gdb_layout(t->guest_bits);
	s->vcpu_regs = xcalloc(t->nr_vcpus, sizeof(*s->vcpu_regs));
	s->vcpu_cached = xcalloc(t->nr_vcpus, sizeof(bool));
	strbuf_init(&s->os_why, 0);
	s->mem = vmem_new(t, o->cache_frames ? o->cache_frames : 4096,
			  target_has(t, TCAP_WRITE_MEM) && !o->read_only);
	if (session_is_live(s) && t->key) {
		char *why = NULL;

		t->journal = journal_open(journal_dir(o->journal_dir), t->key, &why);
		if (!t->journal && why && strstr(why, "died")) {
			/* a dead xenstub's changes are still in this guest */
			*msg = xstrfmt("%s: %s", t->description, why);
			free(why);
			rc = -EBUSY;
			goto fail;
		}
		if (!t->journal)
			log_warn(LC_MAIN, "%s; changes to the guest are not journaled "
				 "(a kill -9 of xenstub could not be recovered from)",
				 why ? why : "no journal");
		free(why);
	}
	s->env = (struct trap_env){ t, s->mem, t->journal };
	s->bps = bp_new(&s->env);
	if (o->attach_later && session_is_live(s))
		s->running = true;
	else if ((rc = session_attach(s, msg)) < 0)
		goto fail;

	memset(&env, 0, sizeof(env));
	env.mem = s->mem;
	env.nr_vcpus = t->nr_vcpus;
	env.guest_bits = t->guest_bits;
	env.vcpu_regs = env_vcpu_regs;
	env.ctx = s;
	env.symbols_path = o->symbols_path;
	env.profile_path = o->profile_path;
	env.profile_dir = o->profile_dir;
	env.live = session_is_live(s);
	rc = os_detect(s->opts.os, &env, &s->os, &s->os_why);
	if (rc < 0) {
		*msg = xstrfmt("%s", s->os_why.buf);
		goto fail;
	}
	if (rc == 0 && strcmp(s->opts.os, "none")) {
		if (strcmp(s->opts.os, "auto"))
			log_warn(LC_OS, "%s not recognised; threads are the vCPUs only:\n%s",
				 s->opts.os, s->os_why.buf);
		else
			log_info(LC_OS, "no guest OS recognised; threads are the vCPUs (%s)",
				 s->os_why.len ? s->os_why.buf : "no module matched");
	}
	build_threads(s);
	*out = s;
	return 0;
fail:
	session_detach(s);
	if (t->journal) {
		journal_close(t->journal, true);
		t->journal = NULL;
	}
	s->t = NULL; /* the caller still owns the target on failure */
	vmem_free(s->mem);
	s->mem = NULL;
	session_close(s);
	return rc;
}

void session_detach(struct session *s)
{
	if (!s->attached)
		return;
	run_detach(s);
	pa_reset(s);
	trace_reset(s);
	s->attached = false;
	s->running = session_is_live(s);
	s->cr3_override = false;
	s->phys_mode = false;
}

int session_attach(struct session *s, char **msg)
{
	int rc;

	if (s->attached)
		return 0;
	rc = run_attach(s, msg);
	if (rc < 0)
		return rc;
	s->attached = true;
	s->last_stop.kind = STOP_SIGNAL;
	s->last_stop.signo = 5;
	s->last_stop.reason = SR_NONE;
	s->last_stop.tid = (s->opts.attach_vcpu < s->t->nr_vcpus ?
			    s->opts.attach_vcpu : 0) + 1;
	session_refresh(s);
	return 0;
}

bool session_attached(const struct session *s) { return s->attached; }

void session_close(struct session *s)
{
	if (!s)
		return;
	if (s->t)
		session_detach(s);
	if (s->t && s->t->journal) {
		struct journal_state st;
		char *why = NULL;
		bool clean = true;

		if (journal_read(journal_dir(s->opts.journal_dir), s->t->key, &st, &why) == 0) {
			size_t v;

			clean = !st.pauses && !st.ring && !st.nint3 && !st.naccess &&
				!st.altp2m;
			for (v = 0; v < st.nvcpu; v++)
				clean = clean && !st.vcpu[v].dr_saved &&
					!st.vcpu[v].tf_set && !st.vcpu[v].single_step;
			journal_state_free(&st);
		}
		free(why);
		journal_close(s->t->journal, clean);
		s->t->journal = NULL;
	}
	os_free(s->os);
	vmem_free(s->mem);
	if (s->t)
		target_close(s->t);
	free(s->threads);
	free(s->vcpu_regs);
	free(s->vcpu_cached);
	strbuf_release(&s->os_why);
	pa_free(s);
	trace_free(s);
	run_free(s);
	bp_free(s->bps);
	free(s);
}

size_t session_thread_count(const struct session *s) { return s->nthreads; }

const struct thread_info *session_thread_at(const struct session *s, size_t i)
{
	return i < s->nthreads ? &s->threads[i] : NULL;
}

const struct thread_info *session_find_thread(const struct session *s,
					      uint64_t tid)
{
	size_t i;

	if (tid >= 1 && tid <= s->t->nr_vcpus)
		return &s->threads[tid - 1];
	for (i = s->t->nr_vcpus; i < s->nthreads; i++)
		if (s->threads[i].tid == tid)
			return &s->threads[i];
	return NULL;
}

int session_get_regs(struct session *s, uint64_t tid, struct x86_regs *r)
{
	const struct thread_info *ti = session_find_thread(s, tid);

	if (!ti)
		return -ESRCH;
	if (trace_frame_regs(s, r) == 0)
		return 0;	/* a trace frame is selected */
	if (!ti->task || ti->vcpu >= 0)
		return session_vcpu_regs(s, (unsigned)ti->vcpu, r);
	return os_task_regs(s->os, ti->task, r);
}

int session_set_regs(struct session *s, uint64_t tid, const struct x86_regs *r)
{
	const struct thread_info *ti = session_find_thread(s, tid);
	int rc;

	if (!ti)
		return -ESRCH;
	if (s->opts.read_only)
		return -EROFS;
	if (ti->task && ti->vcpu < 0)
		return -EOPNOTSUPP; /* a sleeping task's saved frame */
	rc = target_set_regs(s->t, (unsigned)ti->vcpu, r);
	if (rc < 0)
		return rc;
	s->vcpu_regs[ti->vcpu] = *r;
	s->vcpu_cached[ti->vcpu] = true;
	return 0;
}

int session_aspace(struct session *s, uint64_t tid, struct aspace *as)
{
	const struct thread_info *ti = session_find_thread(s, tid);
	struct x86_regs r;
	int rc;

	memset(as, 0, sizeof(*as));
	if (s->phys_mode) {
		as->phys = true;
		return 0;
	}
	if (!ti)
		ti = &s->threads[0];
	/* a task uses its own address space even when it runs: a vCPU in
	 * user mode under PTI / KVA shadowing has a CR3 without the kernel,
	 * the task's full tables have both halves */
	/* never another thread's tables: a task whose own cannot be used
	 * reads nothing (the OS module says why) */
	if (ti->task && !s->cr3_override)
		return os_task_aspace(s->os, ti->task, as, NULL);
	rc = session_vcpu_regs(s, ti->vcpu >= 0 ? (unsigned)ti->vcpu : 0, &r);
	if (rc < 0)
		return rc;
	if (!x86_valid(&r, XF_CR0) || !x86_valid(&r, XF_CR4)) {
		as->phys = true; /* nothing says paging is on */
		return 0;
	}
	as->mode = x86_regs_paging_mode(&r);
	as->cr3 = s->cr3_override ? s->cr3_value : r.cr3;
	if (s->cr3_override && as->mode == X86_PAGING_NONE)
		as->mode = s->t->guest_bits == 64 ? X86_PAGING_4LEVEL :
						    X86_PAGING_PAE;
	return 0;
}

int session_read_mem(struct session *s, uint64_t tid, uint64_t addr,
		     void *buf, size_t len, size_t *done)
{
	struct aspace as;
	int rc = trace_frame_mem(s, addr, buf, len, done);

	if (rc != -ENOENT)
		return rc;	/* a trace frame is selected */
	rc = session_aspace(s, tid, &as);
	if (done)
		*done = 0;
	if (rc < 0)
		return rc;
	rc = vmem_read(s->mem, &as, addr, buf, len, done);
	if (rc == 0 || (done && *done))
		bp_shadow(s->bps, &as, addr, buf, done ? *done : len);
	return rc;
}

int session_write_mem(struct session *s, uint64_t tid, uint64_t addr,
		      const void *buf, size_t len)
{
	struct aspace as;
	int rc;

	if (s->opts.read_only)
		return -EROFS;
	if (!target_has(s->t, TCAP_WRITE_MEM))
		return -EROFS;
	rc = session_aspace(s, tid, &as);
	if (rc < 0)
		return rc;
	return bp_write(s->bps, &as, addr, buf, len);
}

void session_set_phys_mode(struct session *s, bool on) { s->phys_mode = on; }
bool session_phys_mode(const struct session *s) { return s->phys_mode; }

void session_set_cr3_override(struct session *s, bool on, uint64_t cr3)
{
	s->cr3_override = on;
	s->cr3_value = cr3;
}

bool session_cr3_override(const struct session *s, uint64_t *cr3)
{
	if (s->cr3_override && cr3)
		*cr3 = s->cr3_value;
	return s->cr3_override;
}

bool session_running(const struct session *s) { return s->running; }
bool session_read_only(const struct session *s) { return s->opts.read_only; }

const struct stop_info *session_last_stop(const struct session *s)
{
	return &s->last_stop;
}

/* ---- recovery after a kill -9 ---- */

/* Gives vCPU v its debug registers and trap flag back as the journal has
 * them, through its registers; says what it did in out. 0 or -errno. */
static int give_back_regs(struct target *t, unsigned v, const struct journal_vcpu *jv,
			  struct strbuf *out)
{
	struct x86_regs r;

	if (target_get_regs(t, v, &r) < 0) {
		strbuf_addf(out, "vCPU %u: its %s could not be given back (reading its registers: %s)\n",
			    v, jv->tf_set ? "trap flag" : "debug registers", target_strerror(t));
		return -EIO;
	}
	if (jv->dr_saved)
		memcpy(r.dr, jv->dr, sizeof(r.dr));
	r.rflags = journal_rflags(jv, r.rflags);
	if (target_set_regs(t, v, &r) < 0) {
		strbuf_addf(out, "vCPU %u: its %s could not be given back: %s\n", v,
			    jv->tf_set ? "trap flag" : "debug registers", target_strerror(t));
		return -EIO;
	}
	strbuf_addf(out, "vCPU %u: %s%s given back\n", v, jv->dr_saved ? "debug registers " : "",
		    jv->tf_set ? "trap flag " : "");
	return 0;
}

int session_recover(struct target *t, const char *journal_dir_opt,
		    struct strbuf *out)
{
	const char *dir = journal_dir(journal_dir_opt);
	struct journal_state st;
	struct vmem *mem;
	char *why = NULL;
	unsigned v, n = 0, regs_failed = 0;
	bool *tf_left;
	size_t i;
	int rc;

	if (!t->key || !target_has(t, TCAP_RUN)) {
		strbuf_addstr(out, "only live guests have anything to recover\n");
		return -EINVAL;
	}
	rc = journal_read(dir, t->key, &st, &why);
	if (rc == -ENOENT) {
		strbuf_addf(out, "%s: nothing to recover (no journal %s/%s.journal)\n",
			    t->description, dir, t->key);
		return 0;
	}
	if (rc < 0) {
		strbuf_addf(out, "%s\n", why ? why : strerror(-rc));
		free(why);
		return rc;
	}
	if (st.pid_alive) {
		strbuf_addf(out, "xenstub pid %ld is still attached to %s: stop it (SIGTERM) and it leaves the guest as found\n",
			    st.pid, t->description);
		journal_state_free(&st);
		return -EBUSY;
	}
	rc = target_pause(t);
	if (rc < 0) {
		strbuf_addf(out, "cannot pause %s: %s\n", t->description, target_strerror(t));
		journal_state_free(&st);
		return rc;
	}
	mem = vmem_new(t, 64, true);
	for (i = 0; i < st.nint3; i++) {
		uint8_t cur;

		if (vmem_read_phys(mem, st.int3[i].gpa, &cur, 1, NULL) == 0 && cur == 0xcc &&
		    vmem_write_phys(mem, st.int3[i].gpa, &st.int3[i].orig, 1, NULL) == 0)
			n++;
	}
	strbuf_addf(out, "int3 bytes put back: %u of %zu\n", n, st.nint3);
	if (st.naccess) {
		for (i = 0, n = 0; i < st.naccess; i++) {
			uint64_t gfn = st.access[i].gfn;
			uint8_t a = st.access[i].orig;

			if (target_ev_set_access(t, st.access[i].view, &gfn, &a, 1) == 0)
				n++;
		}
		strbuf_addf(out, "frame permissions restored: %u of %zu\n", n, st.naccess);
	}
	/* debug registers (and a trap flag with them) through the registers;
	 * a trap flag alone the target gives back first with the vCPU's
	 * release where it can (target.h) */
	for (v = 0; v < st.nvcpu && v < t->nr_vcpus; v++)
		if (st.vcpu[v].dr_saved && give_back_regs(t, v, &st.vcpu[v], out))
			regs_failed++;
	vmem_free(mem);
	if (regs_failed) {
		/* released now, a vCPU would take a #DB of ours or run with
		 * our debug registers: it stays as the dead xenstub left it */
		target_unpause(t);
		journal_state_free(&st);
		strbuf_addf(out, "%s: not recovered: its vCPUs stay paused as the dead xenstub left them; "
			    "run xenstub --recover again\n", t->description);
		return -EIO;
	}
	tf_left = xcalloc(st.nvcpu ? st.nvcpu : 1, sizeof(*tf_left));
	for (v = 0; v < st.nvcpu && v < t->nr_vcpus; v++)
		tf_left[v] = st.vcpu[v].tf_set && !st.vcpu[v].dr_saved;
	rc = target_ev_recover(t, &st);
	if (rc != -EOPNOTSUPP) {
		strbuf_addf(out, "single-steps off, monitor ring %s, %u pause%s undone%s\n",
			    st.ring ? "removed (vCPUs its events held released)" : "not there",
			    st.pauses, st.pauses == 1 ? "" : "s",
			    rc < 0 ? " (with errors, see above)" : "");
	}
	for (v = 0; v < st.nvcpu && v < t->nr_vcpus; v++) {
		if (!tf_left[v])
			continue;
		if (!st.vcpu[v].tf_set)
			strbuf_addf(out, "vCPU %u: trap flag given back with its release\n", v);
		else if (give_back_regs(t, v, &st.vcpu[v], out))
			regs_failed++;
	}
	free(tf_left);
	journal_state_free(&st);
	/* all else the dead xenstub left is undone: the journal has served */
	target_unpause(t);
	journal_remove(dir, t->key);
	if (regs_failed) {
		strbuf_addf(out, "%s: recovered but for the trap flag named above: that vCPU will "
			    "take one debug trap the guest did not ask for\n", t->description);
		return -EIO;
	}
	strbuf_addf(out, "%s: recovered\n", t->description);
	return 0;
}
