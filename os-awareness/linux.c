// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The Linux OS-awareness module: its ops table. Detection and the kernel's
 * data are in linux-find.c, the task walk, task registers and address
 * spaces in linux-tasks.c, the offsets in linux-types.c; this file answers
 * the session and the monitor commands (os, ps, sym, ksym, offsets, cpu).
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "os-awareness/btf.h"
#include "os-awareness/linux-infer.h"
#include "os-awareness/linux-internal.h"
#include "stub/base/num.h"

static int linux_detect(const struct os_env *env, struct os **out,
			struct strbuf *why)
{
	return lx_detect(env, out, why);
}

static void linux_free(struct os *os)
{
	struct lx *lx = to_lx(os);

	lx_free_state(lx);
	free(lx);
}

static int linux_refresh(struct os *os)
{
	return lx_walk(to_lx(os));
}

static int linux_task_regs(struct os *os, const struct os_task *t,
			   struct x86_regs *r)
{
	return lx_task_regs(to_lx(os), t, r);
}

static int linux_task_aspace(struct os *os, const struct os_task *t,
			     struct aspace *as, struct strbuf *why)
{
	return lx_task_aspace(to_lx(os), t, as, why);
}

static const struct os_task *task_at(struct lx *lx, uint64_t addr)
{
	size_t i;

	for (i = 0; i < lx->base.ntasks; i++)
		if (lx->base.tasks[i].addr == addr)
			return &lx->base.tasks[i];
	return NULL;
}

static void linux_describe(struct os *os, struct strbuf *out)
{
	struct lx *lx = to_lx(os);
	const struct lx_refresh_stats *st = &lx->last;
	unsigned v;

	/* the release and banner are the guest's text */
	strbuf_addstr(out, "Linux ");
	if (lx->release[0])
		strbuf_add_guest(out, lx->release, strlen(lx->release));
	else
		strbuf_addstr(out, "(release unknown)");
	strbuf_addch(out, '\n');
	if (lx->banner[0]) {
		strbuf_addstr(out, "  banner: ");
		strbuf_add_guest(out, lx->banner, strlen(lx->banner));
		strbuf_addch(out, '\n');
	}
	strbuf_addf(out, "  kernel page tables: %s\n", lx->kas_src.buf);
	if (lx->S.text)
		strbuf_addf(out, "  kernel image: _text 0x%" PRIx64 "%s", lx->S.text,
			    lx->S.etext ? "" : "\n");
	if (lx->S.text && lx->S.etext)
		strbuf_addf(out, ", _etext 0x%" PRIx64 "\n", lx->S.etext);
	if (lx->have_slide)
		strbuf_addf(out, "  KASLR slide: %s0x%" PRIx64 " (from %s)\n",
			    lx->slide < 0 ? "-" : "",
			    (uint64_t)(lx->slide < 0 ? -lx->slide : lx->slide),
			    lx->slide_src.buf);
	else
		strbuf_addstr(out, "  KASLR slide: unknown\n");
	strbuf_addf(out, "  symbols: %s\n", lx->sym_src.buf);
	if (lx->have_image_seg)
		strbuf_addf(out, "  vmlinux: its first segment is at 0x%" PRIx64
			    " (told to gdb by qOffsets: a vmlinux gdb loaded is moved by the slide)\n",
			    lx->image_seg);
	strbuf_addf(out, "  types: %s\n", lx->type_src.buf);
	if (lx->have_page_offset)
		strbuf_addf(out, "  direct map: page_offset_base 0x%" PRIx64 "\n",
			    lx->page_offset);
	if (lx->have_phys_base)
		strbuf_addf(out, "  phys_base: %s0x%" PRIx64 "\n",
			    (int64_t)lx->phys_base < 0 ? "-" : "",
			    (int64_t)lx->phys_base < 0 ? -lx->phys_base :
							 lx->phys_base);
	if (lx->notes.len) {
		const char *p = lx->notes.buf;

		while (*p) {
			size_t n = strcspn(p, "\n");

			strbuf_addf(out, "  %.*s\n", (int)n, p);
			p += n + (p[n] ? 1 : 0);
		}
	}
	strbuf_addf(out, "  CPUs: %u, vCPUs matched by %s\n", lx->ncpus,
		    lx->vcpu_match ? lx->vcpu_match : "nothing yet");
	strbuf_addf(out, "  tasks: %u processes, %u threads, %u idle tasks%s\n",
		    st->processes, st->threads, st->idle,
		    st->warnings ? " (the walk stopped early: see the log)" : "");
	if (st->fallback_ids)
		strbuf_addf(out, "  %u tasks with impossible or duplicate ids: shown as threads %llu and up (see the log)\n",
			    st->fallback_ids,
			    (unsigned long long)OS_TID_FALLBACK + 1);
	strbuf_addf(out, "  last refresh: %.3f ms, %" PRIu64 " guest reads, %" PRIu64
		    " frames mapped in %" PRIu64 " calls; detection took %.1f ms\n",
		    st->ms, st->reads, st->frames_mapped, st->map_calls,
		    lx->detect_ms);
	for (v = 0; v < lx->base.env.nr_vcpus; v++) {
		const struct os_task *t = lx->vcpu_cur[v] ?
					  task_at(lx, lx->vcpu_cur[v]) : NULL;

		if (lx->vcpu_cpu[v] < 0) {
			strbuf_addf(out, "  vCPU %u: no CPU matched\n", v);
			continue;
		}
		strbuf_addf(out, "  vCPU %u: CPU %d", v, lx->vcpu_cpu[v]);
		if (t)
			strbuf_addf(out, ", running %s (pid %" PRId64 ", tid %" PRId64
				    ", task 0x%" PRIx64 ")\n", t->name, t->pid,
				    t->thread_id, t->addr);
		else if (lx->vcpu_cur[v])
			strbuf_addf(out, ", running task 0x%" PRIx64 "\n",
				    lx->vcpu_cur[v]);
		else
			strbuf_addstr(out, ", current task unknown\n");
	}
}

static void linux_ps(struct os *os, struct strbuf *out)
{
	struct lx *lx = to_lx(os);
	size_t i;

	strbuf_addf(out, "%7s %7s %7s %-5s %4s  %-18s %s\n", "PID", "TID",
		    "PPID", "STATE", "CPU", "TASK", "COMM");
	for (i = 0; i < lx->base.ntasks; i++) {
		const struct os_task *t = &lx->base.tasks[i];
		const struct lx_task *p = &lx->tp[i];
		char cpu[16];
		int c = t->vcpu >= 0 ? lx->vcpu_cpu[t->vcpu] : p->cpu;

		if (c >= 0)
			snprintf(cpu, sizeof(cpu), "%d%s", c,
				 t->vcpu >= 0 ? "*" : "");
		else
			snprintf(cpu, sizeof(cpu), "-");
		strbuf_addf(out, "%7" PRId64 " %7" PRId64 " %7" PRId64 " %-5s %4s  0x%016" PRIx64 " %s%s%s\n",
			    t->pid, t->thread_id, p->ppid, t->state[0] ? t->state : "?",
			    cpu, t->addr, t->kernel_thread ? "[" : "", t->name,
			    t->kernel_thread ? "]" : "");
	}
	strbuf_addf(out, "%zu tasks; * running on a vCPU, [name] a kernel thread\n",
		    lx->base.ntasks);
}

static int linux_lookup_symbol(struct os *os, const char *name, uint64_t *addr)
{
	return symtab_lookup(&to_lx(os)->syms, name, addr) ? 0 : -ENOENT;
}

static void linux_processes(struct os *os,
			    void (*row)(void *ctx, int64_t pid, const char *user,
					const char *command, const char *cores),
			    void *ctx)
{
	struct lx *lx = to_lx(os);
	size_t i, j;

	for (i = 0; i < lx->base.ntasks; i++) {
		const struct os_task *t = &lx->base.tasks[i];
		struct strbuf cores = STRBUF_INIT;
		char user[16] = "";
		uint8_t uid[4];

		if (t->is_idle || t->pid != t->thread_id)
			continue;
		if (lx->L.cred_uid.size == 4 && lx->tp[i].real_cred &&
		    lx_kptr_ok(lx, lx->tp[i].real_cred) &&
		    !lx_read(lx, lx->tp[i].real_cred + lx->L.cred_uid.off, uid, 4))
			snprintf(user, sizeof(user), "%u",
				 uid[0] | uid[1] << 8 | uid[2] << 16 |
				 (uint32_t)uid[3] << 24);
		for (j = 0; j < lx->base.ntasks; j++) {
			const struct os_task *u = &lx->base.tasks[j];

			if (u->pid == t->pid && !u->is_idle && u->vcpu >= 0)
				strbuf_addf(&cores, "%s%d", cores.len ? "," : "",
					    u->vcpu);
		}
		row(ctx, t->pid, user, t->name, cores.buf);
		strbuf_release(&cores);
	}
}

static void field_row(struct lx *lx, struct strbuf *out, const char *name,
		      struct os_field f)
{
	const char *from = lx_origin(lx, name);

	if (f.size)
		strbuf_addf(out, "%-32s %5u %3u", name, f.off, f.size);
	else
		strbuf_addf(out, "%-32s     -   -", name);
	/* without a source of its own, the one of the header line */
	if (from)
		strbuf_addf(out, "   %s", from);
	strbuf_addch(out, '\n');
}

/* The data symbols the task walk uses and where they came from, when
 * they did not all come from the symbol table. */
static void symbol_rows(struct lx *lx, struct strbuf *out)
{
	static const char *const names[] = {
		"init_task", "init_mm", "__per_cpu_offset", "current_task",
		"runqueues",
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *from = lx_origin(lx, names[i]);
		uint64_t a;

		if (!from)
			continue;
		if (symtab_lookup(&lx->syms, names[i], &a))
			strbuf_addf(out, "symbol %-25s 0x%" PRIx64 "   %s\n", names[i],
				    a, from);
	}
}

/* "offsets": every offset the module found, as "type.member offset size". */
static void offsets(struct lx *lx, struct strbuf *out)
{
	const struct lx_layout *L = &lx->L;
	static const char *const regs[X86_GPR_NR] = {
		"ax", "cx", "dx", "bx", "sp", "bp", "si", "di",
		"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
	};
	unsigned i;

	strbuf_addf(out, "%-32s %5s %3s   (from %s)\n", "member", "offset", "size",
		    lx->type_src.buf);
#define F(name, f) field_row(lx, out, name, L->f)
	F("task_struct.tasks", tasks);
	F("task_struct.pid", pid);
	F("task_struct.tgid", tgid);
	F("task_struct.comm", comm);
	F("task_struct.__state", state);
	F("task_struct.exit_state", exit_state);
	F("task_struct.flags", flags);
	F("task_struct.mm", mm);
	F("task_struct.active_mm", active_mm);
	F("task_struct.stack", stack);
	F("task_struct.real_parent", real_parent);
	F("task_struct.group_leader", group_leader);
	F("task_struct.signal", signal);
	F("task_struct.thread_node", thread_node);
	F("task_struct.thread_group", thread_group);
	F("task_struct.thread.sp", thread_sp);
	F("task_struct.cpu", cpu);
	F("task_struct.on_cpu", on_cpu);
	F("task_struct.real_cred", real_cred);
	F("signal_struct.thread_head", sig_thread_head);
	F("mm_struct.pgd", mm_pgd);
	F("cred.uid", cred_uid);
	F("rq.curr", rq_curr);
	F("rq.idle", rq_idle);
	F("pcpu_hot.current_task", hot_current);
	F("uts_namespace.name.release", uts_release);
#undef F
	strbuf_addf(out, "%-32s %5u\n", "sizeof(task_struct)", L->task_size);
	strbuf_addf(out, "%-32s %5" PRIu64 "\n", "THREAD_SIZE", L->thread_size);
	strbuf_addf(out, "%-32s %5u", "sizeof(inactive_task_frame)",
		    L->frame_size);
	if (lx_origin(lx, "inactive_task_frame"))
		strbuf_addf(out, "   %s", lx_origin(lx, "inactive_task_frame"));
	strbuf_addch(out, '\n');
	for (i = 0; i < X86_GPR_NR; i++)
		if (L->frame_gpr[i] >= 0 && L->frame_size)
			strbuf_addf(out, "inactive_task_frame.%-12s %5d\n",
				    regs[i], L->frame_gpr[i]);
	if (L->frame_flags >= 0 && L->frame_size)
		strbuf_addf(out, "%-32s %5d\n", "inactive_task_frame.flags",
			    L->frame_flags);
	if (L->frame_ret >= 0 && L->frame_size)
		strbuf_addf(out, "%-32s %5d\n", "inactive_task_frame.ret_addr",
			    L->frame_ret);
	symbol_rows(lx, out);
}

/* "cpu THREAD": the CPU a gdb thread runs on, in one line a script can
 * parse (the kernel's gdb scripts ask it through xenstub-gdb.py):
 * "thread N: CPU C (vCPU V)" for a vCPU thread, "thread N: CPU C (running
 * on vCPU V)" for a running task, "thread N: not running, its cpu field
 * says CPU C" for a task that waits (task_struct.cpu, or thread_info.cpu
 * where the kernel keeps it there: the CPU whose run queue it was last
 * on). */
static int thread_cpu(struct lx *lx, const char *args, struct strbuf *out)
{
	const struct os_task *t = NULL;
	uint64_t tid;
	size_t i;
	int c;

	if (parse_u64(args, &tid) || !tid) {
		strbuf_addstr(out, "usage: cpu THREAD (a gdb thread id, as in \"Thread 1000094\")\n");
		return -EINVAL;
	}
	if (tid <= lx->base.env.nr_vcpus) {
		c = lx->vcpu_cpu[tid - 1];
		if (c < 0)
			strbuf_addf(out, "thread %" PRIu64 ": vCPU %" PRIu64 " matches no CPU of the kernel\n",
				    tid, tid - 1);
		else
			strbuf_addf(out, "thread %" PRIu64 ": CPU %d (vCPU %" PRIu64 ")\n",
				    tid, c, tid - 1);
		return 0;
	}
	for (i = 0; i < lx->base.ntasks && !t; i++)
		if (lx->base.tasks[i].tid == tid)
			t = &lx->base.tasks[i];
	if (!t) {
		strbuf_addf(out, "thread %" PRIu64 ": no such thread\n", tid);
		return -EINVAL;
	}
	c = lx->tp[t - lx->base.tasks].cpu;
	if (t->vcpu >= 0 && lx->vcpu_cpu[t->vcpu] >= 0)
		strbuf_addf(out, "thread %" PRIu64 ": CPU %d (running on vCPU %d)\n",
			    tid, lx->vcpu_cpu[t->vcpu], t->vcpu);
	else if (t->vcpu >= 0)
		strbuf_addf(out, "thread %" PRIu64 ": running on vCPU %d, which matches no CPU of the kernel\n",
			    tid, t->vcpu);
	else if (lx->tp[t - lx->base.tasks].on_other_cpu)
		strbuf_addf(out, "thread %" PRIu64 ": running on a CPU no vCPU matched\n", tid);
	else if (c >= 0)
		strbuf_addf(out, "thread %" PRIu64 ": not running, its cpu field says CPU %d\n",
			    tid, c);
	else
		strbuf_addf(out, "thread %" PRIu64 ": not running, and its cpu field is not known\n",
			    tid);
	return 0;
}

static int linux_command(struct os *os, const char *cmd, const char *args,
			 struct strbuf *out)
{
	struct lx *lx = to_lx(os);
	const struct ksym *s;
	uint64_t a;

	if (!strcmp(cmd, "offsets")) {
		offsets(lx, out);
		return 0;
	}
	if (!strcmp(cmd, "cpu"))
		return thread_cpu(lx, args, out);
	if (strcmp(cmd, "ksym"))
		return -ENOENT;
	if (parse_u64(args, &a)) {
		strbuf_addstr(out, "usage: ksym ADDRESS\n");
		return -EINVAL;
	}
	s = symtab_at(&lx->syms, a);
	if (!s) {
		strbuf_addf(out, "0x%" PRIx64 ": below every kernel symbol\n", a);
		return -EINVAL;
	}
	/* kallsyms names are the guest's text */
	strbuf_addf(out, "0x%" PRIx64 " is ", a);
	strbuf_add_guest(out, symtab_name(&lx->syms, s),
			 strlen(symtab_name(&lx->syms, s)));
	strbuf_addf(out, "+0x%" PRIx64 " (%c)\n", a - s->addr,
		    s->type >= 0x20 && s->type < 0x7f ? s->type : '?');
	return 0;
}

static int linux_image_offsets(struct os *os, struct strbuf *reply)
{
	struct lx *lx = to_lx(os);

	if (!lx->have_image_seg)
		return -ENOENT;
	/* gdb moves every loadable section of the file by this base less
	 * its first segment's link address */
	strbuf_addf(reply, "TextSeg=%" PRIx64, lx->image_seg);
	return 0;
}

const struct os_ops os_linux = {
	.name = "linux",
	.detect = linux_detect,
	.free = linux_free,
	.refresh = linux_refresh,
	.task_regs = linux_task_regs,
	.task_aspace = linux_task_aspace,
	.describe = linux_describe,
	.ps = linux_ps,
	.lookup_symbol = linux_lookup_symbol,
	.processes = linux_processes,
	.command = linux_command,
	.command_help =
		"  ksym ADDRESS                 the Linux kernel symbol at or below an address\n"
		"  offsets                      the Linux type offsets in use, and their source\n"
		"  cpu THREAD                   the Linux CPU a gdb thread runs on, or last ran on\n",
	.image_offsets = linux_image_offsets,
};
