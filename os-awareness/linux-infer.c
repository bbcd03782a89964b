// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The offsets of task_struct and its neighbours for a kernel without BTF,
 * found in the kernel itself: VMCOREINFO's OFFSET() entries first, then the
 * machine code of small kernel functions that have kept their shape from
 * Linux 3.x to 6.x on x86_64 and i386 (found through kallsyms, read with
 * linux-code.c), each one pinning a few fields, then the kernel's data:
 * every offset is checked on init_task and on the tasks of its list, and
 * the few that no stable function pins are found there. This file holds
 * the origins of the offsets, VMCOREINFO and the order of the steps; the
 * rules on code are in linux-infer-code.c, those on data in
 * linux-infer-data.c.
 *
 * Where the ideas come from:
 * - Reading offsets out of the instructions of kernel functions whose
 *   source is known, the functions located through the kernel's own
 *   symbol table recovered from memory: AutoProfile (F. Pagani, D.
 *   Balzarotti, "AutoProfile: Towards Automated Profile Generation for
 *   Memory Analysis", ACM TOPS 25(1), 2022, doi 10.1145/3485471), which
 *   matches the field accesses of the source to the memory operands of
 *   the binary function by function; here the matching is a hand-written
 *   rule per function instead of their compiler-plugin extraction.
 * - Rebuilding kernel code and symbols from the memory image alone, then
 *   extracting live-system information version by version with checks on
 *   the data ("An adaptive approach for Linux memory analysis based on
 *   kernel code reconstruction", EURASIP J. on Information Security 2016:14,
 *   doi 10.1186/s13635-016-0038-z): the cross-check of each offset on
 *   init_task and its list (comm "swapper", a ring that closes, small
 *   distinct pids) follows that idea.
 * - The data symbols a kernel without CONFIG_KALLSYMS_ALL does not list
 *   (init_task, __per_cpu_offset, current_task, runqueues) are taken from
 *   the absolute addresses and per-CPU operands of the same instructions.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/paging.h"
#include "os-awareness/linux-infer-internal.h"
#include "stub/base/log.h"
#include "stub/base/num.h"

/* ---- origins ---- */

struct lx_origins {
	size_t n;
	struct { char name[48]; char src[160]; } e[64];
};

void lx_origin_set(struct lx *lx, const char *name, const char *fmt, ...)
{
	struct lx_origins *o;
	va_list ap;
	size_t i;

	if (!lx->origins)
		lx->origins = xcalloc(1, sizeof(*lx->origins));
	o = lx->origins;
	for (i = 0; i < o->n; i++)
		if (!strcmp(o->e[i].name, name))
			break;
	if (i == o->n) {
		if (o->n == sizeof(o->e) / sizeof(o->e[0]))
			return;
		o->n++;
		snprintf(o->e[i].name, sizeof(o->e[i].name), "%s", name);
	}
	va_start(ap, fmt);
	vsnprintf(o->e[i].src, sizeof(o->e[i].src), fmt, ap);
	va_end(ap);
}

const char *lx_origin(const struct lx *lx, const char *name)
{
	size_t i;

	if (!lx->origins)
		return NULL;
	for (i = 0; i < lx->origins->n; i++)
		if (!strcmp(lx->origins->e[i].name, name))
			return lx->origins->e[i].src;
	return NULL;
}

void lx_origins_free(struct lx *lx)
{
	free(lx->origins);
	lx->origins = NULL;
}

/* ---- what the steps share ---- */

void inf_found(struct inf *in, struct os_field *f, const char *name,
	       uint32_t off, uint32_t size, const char *fmt, ...)
{
	char src[160];
	va_list ap;

	f->off = off;
	f->size = size;
	va_start(ap, fmt);
	vsnprintf(src, sizeof(src), fmt, ap);
	va_end(ap);
	lx_origin_set(in->lx, name, "%s", src);
	log_dbg(LC_OS, "linux: %s at %u (%s)", name, off, src);
}

uint64_t inf_rd(struct inf *in, uint64_t va, unsigned n, bool *ok)
{
	uint8_t b[8];

	if (lx_read(in->lx, va, b, n)) {
		*ok = false;
		return 0;
	}
	return get_le(b, n);
}

uint64_t inf_trunc_addr(const struct inf *in, int64_t v)
{
	return in->ptr == 4 ? (uint64_t)(uint32_t)v : (uint64_t)v;
}

/* ---- VMCOREINFO ---- */

static bool vmci_value(const char *t, const char *key, int64_t *v, int base)
{
	size_t kl = strlen(key);
	const char *p = t;

	while (p && *p) {
		const char *eol = strchr(p, '\n');

		if (!strncmp(p, key, kl) && p[kl] == '=') {
			char *end;

			*v = strtoll(p + kl + 1, &end, base);
			return end != p + kl + 1;
		}
		p = eol ? eol + 1 : NULL;
	}
	return false;
}

struct named_field {
	const char *name;	/* as "monitor offsets" shows it */
	size_t dest;
	uint8_t size;		/* 0: a pointer */
};

#define NF(n, d, s) { n, offsetof(struct lx_layout, d), s }

static const struct named_field named[] = {
	NF("task_struct.tasks", tasks, 0), NF("task_struct.pid", pid, 4),
	NF("task_struct.tgid", tgid, 4), NF("task_struct.comm", comm, 16),
	NF("task_struct.__state", state, 4), NF("task_struct.exit_state", exit_state, 4),
	NF("task_struct.flags", flags, 4), NF("task_struct.mm", mm, 0),
	NF("task_struct.active_mm", active_mm, 0), NF("task_struct.stack", stack, 0),
	NF("task_struct.real_parent", real_parent, 0),
	NF("task_struct.group_leader", group_leader, 0),
	NF("task_struct.signal", signal, 0), NF("task_struct.thread_node", thread_node, 0),
	NF("task_struct.thread_group", thread_group, 0),
	NF("task_struct.thread.sp", thread_sp, 0), NF("task_struct.cpu", cpu, 4),
	NF("task_struct.on_cpu", on_cpu, 4), NF("task_struct.real_cred", real_cred, 0),
	NF("signal_struct.thread_head", sig_thread_head, 0),
	NF("mm_struct.pgd", mm_pgd, 0), NF("cred.uid", cred_uid, 4),
	NF("rq.curr", rq_curr, 0), NF("rq.idle", rq_idle, 0),
};

static struct os_field *field_at(struct inf *in, size_t dest)
{
	return (struct os_field *)((char *)in->L + dest);
}

/* OFFSET(type.member)=N lines: distribution kernels add some. */
static void from_vmcoreinfo(struct inf *in)
{
	size_t i;
	int64_t v;

	if (!in->vmci)
		return;
	for (i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
		char key[80];
		const char *n = named[i].name;

		snprintf(key, sizeof(key), "OFFSET(%s)", n);
		if (!vmci_value(in->vmci, key, &v, 10) &&
		    (strcmp(n, "task_struct.__state") ||
		     !vmci_value(in->vmci, "OFFSET(task_struct.state)", &v, 10)))
			continue;
		if (v < 0 || v > 65536)
			continue;
		inf_found(in, field_at(in, named[i].dest), n, (uint32_t)v,
		      named[i].size ? named[i].size : in->ptr, "VMCOREINFO %s", key);
	}
	/* struct new_utsname: sysname, nodename, release, each 65 bytes */
	if (vmci_value(in->vmci, "OFFSET(uts_namespace.name)", &v, 10) && v >= 0 &&
	    v < 65536)
		inf_found(in, &in->L->uts_release, "uts_namespace.name.release",
		      (uint32_t)v + 130, 65,
		      "VMCOREINFO OFFSET(uts_namespace.name) + 130 (new_utsname.release)");
	if (vmci_value(in->vmci, "SIZE(task_struct)", &v, 10) && v > 0 && v < 65536)
		in->L->task_size = (uint32_t)v;
}

static void add_sym(struct inf *in, const char *name, uint64_t addr,
		    bool *added)
{
	if (!addr || symtab_lookup(&in->lx->syms, name, NULL))
		return;
	symtab_add(&in->lx->syms, addr, 'D', name, strlen(name));
	*added = true;
}

static void need(struct inf *in, bool have, const char *what, const char *how)
{
	if (have)
		return;
	strbuf_addf(&in->missing, "%s%s (%s)", in->missing.len ? "; " : "",
		    what, how);
}

int lx_infer_layout(struct lx *lx, const char *vmcoreinfo, struct strbuf *why)
{
	struct inf in;
	struct lx_layout *L = &lx->L;
	const char *comm_from = "";
	int64_t v;
	bool added = false;
	unsigned i, k;
	int rc;

	memset(&in, 0, sizeof(in));
	memset(L, 0, sizeof(*L));
	for (k = 0; k < X86_GPR_NR; k++)
		L->frame_gpr[k] = -1;
	L->frame_ret = -1;
	L->frame_flags = -1;
	in.lx = lx;
	in.L = L;
	in.vmci = vmcoreinfo && *vmcoreinfo ? vmcoreinfo : NULL;
	in.ptr = lx->ptr;
	in.lock = ~0ull;
	in.tgid_code = -1;
	strbuf_init(&in.missing, 0);
	symtab_lookup(&lx->syms, "init_task", &in.init_task);
	symtab_lookup(&lx->syms, "__per_cpu_offset", &in.pcpu_off);
	symtab_lookup(&lx->syms, "init_mm", &in.init_mm);
	if (!symtab_lookup(&lx->syms, lx->bits == 64 ? "init_top_pgt" :
			   "swapper_pg_dir", &in.swapper) &&
	    !symtab_lookup(&lx->syms, "swapper_pg_dir", &in.swapper) && in.vmci) {
		if (vmci_value(in.vmci, "SYMBOL(init_top_pgt)", &v, 16) ||
		    vmci_value(in.vmci, "SYMBOL(swapper_pg_dir)", &v, 16))
			in.swapper = inf_trunc_addr(&in, v);
	}

	from_vmcoreinfo(&in);
	inf_from_code(&in, &comm_from);
	if (lx_origin(lx, "init_task") == NULL && in.init_task)
		lx_origin_set(lx, "init_task", "kernel symbols");

	rc = inf_check_init(&in, comm_from);
	if (rc == 0)
		inf_from_data(&in);

	need(&in, in.init_task, "init_task",
	     "sys_setpriority's for_each_process() was not recognised");
	need(&in, L->tasks.size, "task_struct.tasks",
	     "sys_setpriority's for_each_process() was not recognised");
	need(&in, L->comm.size, "task_struct.comm",
	     in.ncomm ? "no candidate of the code names init_task \"swapper\"" :
	     "__get_task_comm and __set_task_comm were not recognised");
	need(&in, L->pid.size && L->tgid.size, "task_struct.pid/tgid",
	     "no int pair of the task list holds distinct pids");
	if (in.missing.len) {
		strbuf_addf(why, "the offsets of this kernel's structures could not all be found in its code and data: %s; give --vmlinux FILE (the kernel's debug image, e.g. from Debian's linux-image-*-dbg), or --profile FILE.json",
			    in.missing.buf);
		rc = -ENOENT;
		goto out;
	}
	rc = 0;
	/* what the walk can do without */
	strbuf_reset(&in.missing);
	need(&in, L->thread_sp.size, "task_struct.thread.sp", "no __switch_to_asm: sleeping tasks have no registers");
	need(&in, L->mm.size && L->mm_pgd.size, "task_struct.mm / mm_struct.pgd", "tasks read memory through the kernel's page tables");
	need(&in, L->thread_group.size, "task_struct.thread_group", "no process with threads to tell it: threads other than leaders are not listed");
	need(&in, in.cur_task || in.runqueues, "current_task", "vCPUs are not matched to tasks");
	if (in.missing.len) {
		strbuf_addf(&lx->notes, "offsets not found in the kernel: %s; --vmlinux FILE would give them\n",
			    in.missing.buf);
		log_info(LC_OS, "linux: offsets not found: %s", in.missing.buf);
	}
	/* the data symbols the code gave, for kernel_data() */
	add_sym(&in, "init_task", in.init_task, &added);
	add_sym(&in, "init_mm", in.init_mm, &added);
	add_sym(&in, "__per_cpu_offset", in.pcpu_off, &added);
	add_sym(&in, "current_task", in.cur_task, &added);
	add_sym(&in, "runqueues", in.runqueues, &added);
	if (in.vmci && vmci_value(in.vmci, "SYMBOL(init_uts_ns)", &v, 16))
		add_sym(&in, "init_uts_ns", inf_trunc_addr(&in, v), &added);
	if (in.swapper && lx->bits == 32)
		add_sym(&in, "swapper_pg_dir", in.swapper, &added);
	if (added)
		symtab_finish(&lx->syms);
out:
	for (i = 0; i < in.ns; i++)
		free(in.s[i].buf);
	strbuf_release(&in.missing);
	return rc;
}
