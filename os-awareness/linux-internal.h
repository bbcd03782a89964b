/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The Linux module's private state, shared by linux.c (the ops),
 * linux-find.c (finding the kernel, its symbols and types), linux-types.c
 * (offsets from BTF or ISF) and linux-tasks.c (the task walk), and used by
 * unit tests. Not part of the engine's interface.
 */
#ifndef XENSTUB_LINUX_INTERNAL_H
#define XENSTUB_LINUX_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "os-awareness/symtab.h"
#include "os-awareness/os.h"
#include "os-awareness/walk.h"
#include "stub/base/strbuf.h"

struct btf;
struct isf;
struct lx_origins;

#define LX_MAX_TASKS (1u << 20)
#define LX_PID_MAX (4u << 20)		/* PID_MAX_LIMIT: no pid is larger */
#define LX_MAX_CPUS 8192u

/* Every offset the module uses, from BTF or an ISF profile. */
struct lx_layout {
	uint32_t task_size;
	struct os_field tasks, pid, tgid, comm, state, exit_state, flags;
	struct os_field mm, active_mm, stack, real_parent, group_leader;
	struct os_field signal, thread_node, thread_group, thread_sp, cpu;
	struct os_field on_cpu, real_cred;
	struct os_field sig_thread_head;	/* signal_struct.thread_head */
	struct os_field mm_pgd;			/* mm_struct.pgd */
	struct os_field cred_uid;		/* cred.uid */
	struct os_field rq_curr, rq_idle;	/* struct rq */
	struct os_field hot_current;		/* pcpu_hot.current_task */
	struct os_field uts_release;		/* uts_namespace.name.release */
	/* struct inactive_task_frame: byte offset of each saved register
	 * (-1 when not saved) and of the return address; size 0: none */
	uint32_t frame_size;
	int32_t frame_gpr[X86_GPR_NR];
	int32_t frame_ret;
	int32_t frame_flags;			/* saved flags (32-bit), or -1 */
	uint64_t thread_size;			/* sizeof(union thread_union) */
};

/* Runtime addresses of the kernel symbols used (0 = not known). */
struct lx_syms {
	uint64_t init_task, init_mm, per_cpu_offset, nr_cpu_ids;
	uint64_t current_task, pcpu_hot, runqueues;
	uint64_t page_offset_base, phys_base, init_top_pgt;
	uint64_t linux_banner, init_uts_ns, text, etext;
	uint64_t start_btf, stop_btf;
};

/* What the module keeps per task, beside struct os_task. */
struct lx_task {
	uint64_t stack, mm, active_mm, real_parent, real_cred;
	int64_t ppid;
	int cpu;		/* the task's CPU field, or -1 */
	bool on_other_cpu;	/* running, but on no vCPU we could match */
	bool have_cr3;
	uint64_t cr3;		/* cached physical page-table root */
	bool aspace_warned;	/* its bad address space was logged */
};

struct lx_refresh_stats {
	unsigned processes, threads, idle;
	double ms;
	uint64_t reads, frames_mapped, map_calls;
	unsigned warnings;
	unsigned fallback_ids;	/* tasks with impossible or taken pids */
};

struct lx {
	struct os base;
	unsigned bits, ptr;		/* 64 or 32; pointer size */
	uint64_t kmin;			/* lowest valid kernel pointer */
	struct aspace kas;		/* the kernel's page tables */
	struct lx_layout L;
	struct lx_syms S;
	struct symtab syms;
	struct btf *btf;
	struct isf *isf;
	uint64_t btf_addr, btf_len;
	struct strbuf sym_src, type_src, slide_src, kas_src, notes;
	int64_t slide;
	bool have_slide;
	uint64_t phys_base, page_offset;
	bool have_phys_base, have_page_offset;
	char release[72];
	char banner[256];
	uint64_t *cpu_off;		/* __per_cpu_offset[0..ncpus) */
	unsigned ncpus;
	int *vcpu_cpu;			/* per vCPU: matched CPU or -1 */
	uint64_t *vcpu_cur;		/* per vCPU: current task or 0 */
	const char *vcpu_match;		/* how vCPUs were matched to CPUs */
	bool have_kcs;
	uint16_t kernel_cs, kernel_ss;
	struct lx_task *tp;		/* parallel to base.tasks */
	struct lx_refresh_stats last;
	uint64_t reads;			/* guest reads so far */
	double detect_ms;
	bool have_image_seg;		/* a vmlinux matched the guest: */
	uint64_t image_seg;		/* its first loadable segment's
					 * runtime address (qOffsets) */
	struct lx_origins *origins;	/* per offset: where it came from
					 * (linux-infer.h), or NULL */
};

static inline struct lx *to_lx(struct os *os)
{
	return (struct lx *)os;
}

/* linux-tasks.c */
/* Reads kernel virtual memory through the kernel's page tables. */
int lx_read(struct lx *lx, uint64_t va, void *buf, size_t len);
int lx_read_ptr(struct lx *lx, uint64_t va, uint64_t *v);
/* True for a pointer the kernel could hold to its own data. */
bool lx_kptr_ok(const struct lx *lx, uint64_t p);
/* Physical address of a kernel virtual address (__pa), or -errno. */
int lx_pa(struct lx *lx, uint64_t va, uint64_t *pa);
/* Matches vCPUs to CPUs and reads each CPU's current task. */
void lx_match_vcpus(struct lx *lx);
/* Rebuilds base.tasks and tp from guest memory (one bounded pass). */
int lx_walk(struct lx *lx);
/* The state letter /proc would show for these __state / exit_state. */
char lx_state_letter(uint64_t state, uint64_t exit_state);
int lx_task_regs(struct lx *lx, const struct os_task *t, struct x86_regs *r);
/* A task's address space: 0, or -errno with why (may be NULL). */
int lx_task_aspace(struct lx *lx, const struct os_task *t, struct aspace *as,
		   struct strbuf *why);
/* Frees the task list. */
void lx_tasks_release(struct lx *lx);

/* linux-types.c */
int lx_layout_from_btf(struct lx_layout *L, const struct btf *b,
		       struct strbuf *why);
int lx_layout_from_isf(struct lx_layout *L, const struct isf *isf,
		       struct strbuf *why);

/* linux-find.c */
int lx_detect(const struct os_env *env, struct os **out, struct strbuf *why);
void lx_free_state(struct lx *lx);

#endif
