// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The Windows OS-awareness module: its ops table and monitor commands (os,
 * ps, sym, and the Windows ones: lm, threads, ln). Detection is in
 * windows-find.c, the walks in windows-tasks.c.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "os-awareness/isf.h"
#include "os-awareness/windows-internal.h"
#include "stub/base/num.h"

static int windows_detect(const struct os_env *env, struct os **out,
			  struct strbuf *why)
{
	return win_detect(env, out, why);
}

static void windows_free(struct os *os)
{
	struct win *w = to_win(os);

	win_free_state(w);
	free(w);
}

static int windows_refresh(struct os *os)
{
	return win_walk(to_win(os));
}

static int windows_task_regs(struct os *os, const struct os_task *t,
			     struct x86_regs *r)
{
	return win_task_regs(to_win(os), t, r);
}

static int windows_task_aspace(struct os *os, const struct os_task *t,
			       struct aspace *as, struct strbuf *why)
{
	return win_task_aspace(to_win(os), t, as, why);
}

static const struct os_task *task_at(const struct win *w, uint64_t addr)
{
	size_t i;

	for (i = 0; i < w->base.ntasks; i++)
		if (w->base.tasks[i].addr == addr)
			return &w->base.tasks[i];
	return NULL;
}

static void add_lines(struct strbuf *out, const char *text)
{
	while (*text) {
		size_t n = strcspn(text, "\n");

		strbuf_addf(out, "  %.*s\n", (int)n, text);
		text += n + (text[n] ? 1 : 0);
	}
}

static void windows_describe(struct os *os, struct strbuf *out)
{
	struct win *w = to_win(os);
	const struct win_layout *L = &w->L;
	unsigned v;

	strbuf_addstr(out, "Windows");
	if (w->have_version)
		strbuf_addf(out, " %u.%u", w->major, w->minor);
	if (w->have_build)
		strbuf_addf(out, " build %u%s", w->build_raw & 0xffff,
			    (w->build_raw >> 28) == 0xc ? " (checked build)" : "");
	if (!w->have_version && !w->have_build)
		strbuf_addstr(out, " (version unknown)");
	strbuf_addch(out, '\n');
	if (w->version_src.len)
		strbuf_addf(out, "  version from: %s (NtBuildNumber 0x%08x)\n",
			    w->version_src.buf, w->build_raw);
	if (w->build_lab[0])
		strbuf_addf(out, "  build lab: %s\n", w->build_lab);
	strbuf_addf(out, "  kernel: %s at 0x%" PRIx64 ", 0x%x bytes, found from %s\n",
		    w->cv.name_shown[0] ? w->cv.name_shown : "image", w->kbase,
		    w->ksize, w->found_by.buf);
	if (w->have_cv)
		strbuf_addf(out, "  PDB: %s, GUID %s, age %u\n", w->cv.path_shown,
			    w->cv.guid_str, w->cv.age);
	strbuf_addf(out, "  profile: %s (GUID %s-%u%s%s)\n", w->profile,
		    w->profile_guid, w->profile_age,
		    isf_producer(w->isf)[0] ? ", " : "", isf_producer(w->isf));
	strbuf_addf(out, "  kernel page tables: %s\n", w->kas_src.buf);
	strbuf_addf(out, "  thread lists: %s; thread states: %s\n",
		    L->thread_list, L->states_from_table ?
		    "names from the table's _KTHREAD_STATE" :
		    "the numbering Windows has kept since NT 5.2 (the table has no _KTHREAD_STATE)");
	strbuf_addf(out, "  waiting threads: rip, rsp%s from the switch frame at _KTHREAD.KernelStack (%s)\n",
		    L->frame_rbp >= 0 ? ", rbp" : "",
		    L->frame_from_table ? "_KSWITCH_FRAME from the table" :
		    "the x64 KSWITCH_FRAME: return address at +0x38, rbp at +0x30, 0x40 bytes");
	if (w->notes.len)
		add_lines(out, w->notes.buf);
	strbuf_addf(out, "  processors: %u in KiProcessorBlock\n", w->nprcbs);
	for (v = 0; v < w->base.env.nr_vcpus; v++) {
		const struct win_cpu *c = &w->vcpu[v];
		const struct os_task *t = c->ok && c->current ?
					  task_at(w, c->current) : NULL;

		if (!c->ok) {
			strbuf_addf(out, "  vCPU %u: no KPCR found in its GS bases\n", v);
			continue;
		}
		strbuf_addf(out, "  vCPU %u: KPCR 0x%" PRIx64 " (from %s), KPRCB 0x%" PRIx64,
			    v, c->kpcr, c->kpcr_src, c->kprcb);
		if (c->number >= 0)
			strbuf_addf(out, ", processor %d", c->number);
		if (t)
			strbuf_addf(out, ", running \"%s\" (pid %" PRId64 ", tid %" PRId64
				    ", thread 0x%" PRIx64 ")\n", t->name, t->pid,
				    t->thread_id, t->addr);
		else if (c->current)
			strbuf_addf(out, ", running thread 0x%" PRIx64 "\n", c->current);
		else
			strbuf_addstr(out, ", current thread unknown\n");
	}
	strbuf_addf(out, "  tasks: %u processes, %u threads, %u idle threads%s\n",
		    w->last.processes, w->last.threads, w->last.idle,
		    w->last.warnings ? " (a walk stopped early: see the log)" : "");
	if (w->last.fallback_ids)
		strbuf_addf(out, "  %u threads with impossible or duplicate ids: shown as threads %llu and up (see the log)\n",
			    w->last.fallback_ids,
			    (unsigned long long)OS_TID_FALLBACK + 1);
	strbuf_addf(out, "  last refresh: %.3f ms, %" PRIu64 " guest reads; detection took %.1f ms\n",
		    w->last.ms, w->last.reads, w->detect_ms);
}

/* The vCPUs running threads of process index p, as "0,2". */
static void proc_cores(const struct win *w, int p, struct strbuf *cores)
{
	size_t i;

	for (i = 0; i < w->base.ntasks; i++)
		if (w->tp[i].proc == p && w->base.tasks[i].vcpu >= 0)
			strbuf_addf(cores, "%s%d", cores->len ? "," : "",
				    w->base.tasks[i].vcpu);
}

static void windows_ps(struct os *os, struct strbuf *out)
{
	struct win *w = to_win(os);
	struct strbuf cores = STRBUF_INIT;
	size_t i;

	strbuf_addf(out, "%7s %7s %5s %-5s %-18s %-18s %s\n", "PID", "PPID",
		    "THR", "CPU", "EPROCESS", "DirectoryTableBase", "NAME");
	if (w->last.idle) {
		for (i = 0; i < w->base.ntasks; i++)
			if (w->base.tasks[i].is_idle && w->base.tasks[i].vcpu >= 0)
				strbuf_addf(&cores, "%s%d", cores.len ? "," : "",
					    w->base.tasks[i].vcpu);
		strbuf_addf(out, "%7d %7s %5u %-5s %-18s %-18s %s\n", 0, "-",
			    w->last.idle, cores.len ? cores.buf : "-", "-", "-",
			    "Idle (one thread per processor)");
	}
	for (i = 0; i < w->nprocs; i++) {
		const struct win_proc *p = &w->procs[i];
		char ppid[24];

		strbuf_reset(&cores);
		proc_cores(w, (int)i, &cores);
		if (p->ppid >= 0)
			snprintf(ppid, sizeof(ppid), "%" PRId64, p->ppid);
		else
			snprintf(ppid, sizeof(ppid), "-");
		strbuf_addf(out, "%7" PRId64 " %7s %5u %-5s 0x%016" PRIx64 " 0x%016" PRIx64 " %s\n",
			    p->pid, ppid, p->nthreads, cores.len ? cores.buf : "-",
			    p->addr, p->dtb, p->name);
		if (p->user_dtb && p->user_dtb != 1 && p->user_dtb != p->dtb)
			strbuf_addf(out, "%7s %7s %5s %-5s %-18s 0x%016" PRIx64 " (UserDirectoryTableBase)\n",
				    "", "", "", "", "", p->user_dtb);
	}
	strbuf_addf(out, "%zu processes, %u threads, %u idle threads; CPU: the vCPUs running its threads\n",
		    w->nprocs, w->last.threads, w->last.idle);
	strbuf_release(&cores);
}

static void threads_cmd(struct win *w, int64_t pid, bool all,
			struct strbuf *out)
{
	size_t i, n = 0;

	strbuf_addf(out, "%7s %7s %-14s %-4s %-18s %s\n", "PID", "TID", "STATE",
		    "CPU", "ETHREAD", "NAME");
	for (i = 0; i < w->base.ntasks; i++) {
		const struct os_task *t = &w->base.tasks[i];
		char cpu[12];

		if (!all && t->pid != pid)
			continue;
		if (t->vcpu >= 0)
			snprintf(cpu, sizeof(cpu), "%d", t->vcpu);
		else
			snprintf(cpu, sizeof(cpu), "-");
		strbuf_addf(out, "%7" PRId64 " %7" PRId64 " %-14s %-4s 0x%016" PRIx64 " %s%s\n",
			    t->pid, t->thread_id, t->state, cpu, t->addr, t->name,
			    t->is_idle ? " (idle)" : "");
		n++;
	}
	strbuf_addf(out, "%zu threads\n", n);
}

static int windows_lookup_symbol(struct os *os, const char *name,
				 uint64_t *addr)
{
	struct win *w = to_win(os);
	uint64_t rva;

	if (!strncmp(name, "nt!", 3))
		name += 3;
	if (isf_symbol(w->isf, name, &rva) || rva > UINT32_MAX)
		return -ENOENT;
	*addr = w->kbase + rva;
	return 0;
}

static void windows_processes(struct os *os,
			      void (*row)(void *ctx, int64_t pid,
					  const char *user, const char *command,
					  const char *cores),
			      void *ctx)
{
	struct win *w = to_win(os);
	struct strbuf cores = STRBUF_INIT;
	size_t i;

	for (i = 0; i < w->nprocs; i++) {
		strbuf_reset(&cores);
		proc_cores(w, (int)i, &cores);
		row(ctx, w->procs[i].pid, "", w->procs[i].name, cores.buf);
	}
	strbuf_release(&cores);
}

struct nearest {
	uint64_t rva;
	const char *name;
	uint64_t best;
};

static int nearest_cb(void *ctx, const char *name, uint64_t rva)
{
	struct nearest *n = ctx;

	if (rva <= n->rva && (!n->name || rva > n->best ||
			      (rva == n->best && strcmp(name, n->name) < 0))) {
		n->best = rva;
		n->name = name;
	}
	return 0;
}

static int ln_cmd(struct win *w, const char *args, struct strbuf *out)
{
	struct nearest n = { 0, NULL, 0 };
	uint64_t a;

	if (parse_u64(args, &a)) {
		strbuf_addstr(out, "usage: ln ADDRESS\n");
		return -EINVAL;
	}
	if (a < w->kbase || a - w->kbase >= w->ksize) {
		strbuf_addf(out, "0x%" PRIx64 " is outside the kernel image (0x%" PRIx64 "..0x%" PRIx64 ")\n",
			    a, w->kbase, w->kbase + w->ksize);
		return -EINVAL;
	}
	n.rva = a - w->kbase;
	isf_foreach_symbol(w->isf, nearest_cb, &n);
	if (!n.name) {
		strbuf_addf(out, "0x%" PRIx64 ": below every kernel symbol\n", a);
		return -EINVAL;
	}
	strbuf_addf(out, "0x%" PRIx64 " is nt!%s+0x%" PRIx64 "\n", a, n.name,
		    n.rva - n.best);
	return 0;
}

static int windows_command(struct os *os, const char *cmd, const char *args,
			   struct strbuf *out)
{
	struct win *w = to_win(os);
	uint64_t pid;

	if (!strcmp(cmd, "lm")) {
		win_list_modules(w, out);
		return 0;
	}
	if (!strcmp(cmd, "threads")) {
		if (!*args) {
			threads_cmd(w, 0, true, out);
			return 0;
		}
		if (parse_u64(args, &pid) || pid > INT64_MAX) {
			strbuf_addstr(out, "usage: threads [PID]\n");
			return -EINVAL;
		}
		threads_cmd(w, (int64_t)pid, false, out);
		return 0;
	}
	if (!strcmp(cmd, "ln"))
		return ln_cmd(w, args, out);
	return -ENOENT;
}

const struct os_ops os_windows = {
	.name = "windows",
	.detect = windows_detect,
	.free = windows_free,
	.refresh = windows_refresh,
	.task_regs = windows_task_regs,
	.task_aspace = windows_task_aspace,
	.describe = windows_describe,
	.ps = windows_ps,
	.lookup_symbol = windows_lookup_symbol,
	.processes = windows_processes,
	.command = windows_command,
	.command_help =
		"  lm                           the loaded Windows drivers (PsLoadedModuleList)\n"
		"  threads [PID]                the Windows threads (of one process)\n"
		"  ln ADDRESS                   the Windows kernel symbol at or below an address\n",
};
