/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The Windows module's private state, shared by windows.c (ops, monitor),
 * windows-find.c (kernel, symbol table), windows-layout.c (offsets) and
 * windows-tasks.c (walks), and used by unit tests. Not an engine interface.
 */
#ifndef XENSTUB_WINDOWS_INTERNAL_H
#define XENSTUB_WINDOWS_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "os-awareness/os.h"
#include "os-awareness/walk.h"
#include "os-awareness/pe.h"
#include "stub/base/strbuf.h"

struct isf;

/* Bounds of every walk of guest data. */
#define WIN_MAX_TASKS (1u << 20)	/* threads, all processes together */
/* the largest thread id: the CID table holds 2^24 entries, ids are
 * multiples of 4 */
#define WIN_TID_MAX (1u << 26)
#define WIN_MAX_PROCS (1u << 18)
#define WIN_MAX_CPUS 2048u
#define WIN_MAX_MODULES 8192u
#define WIN_KERNEL_SEARCH (32ull << 20)	/* walk back to the image's MZ */
#define WIN_MAX_NAME_BYTES 512u		/* UNICODE_STRING bytes read */

/*
 * KI_USER_SHARED_DATA: where every x64 Windows maps KUSER_SHARED_DATA in
 * kernel space (wdm.h); its fields' offsets come from the table.
 */
#define WIN_KUSER_SHARED_DATA 0xfffff78000000000ull

#define WIN_MAX_STATES 32

/* Every offset the module uses, from the ISF table. */
struct win_layout {
	/* _KPCR and _KPRCB */
	struct os_field pcr_self, pcr_current_prcb, pcr_prcb;
	struct os_field prcb_current, prcb_idle, prcb_number;
	/* _EPROCESS (Pcb members through the Pcb offset) */
	uint32_t eprocess_size;
	struct os_field pid, ppid, links, image_name, thread_head, dtb;
	struct os_field user_dtb, peb;
	/* _ETHREAD (Tcb members through the Tcb offset) */
	uint32_t ethread_size;
	struct os_field cid_pid, cid_tid, thread_entry, thread_name, state;
	struct os_field kernel_stack, initial_stack, stack_base, stack_limit;
	struct os_field teb, process;
	const char *thread_list;	/* "_EPROCESS.ThreadListHead" or the KPROCESS one */
	/* the context-switch frame at _KTHREAD.KernelStack */
	uint32_t frame_size;
	int32_t frame_ret, frame_rbp;	/* -1: not in the frame */
	bool frame_from_table;
	/* _UNICODE_STRING */
	struct os_field us_length, us_buffer;
	/* loaded modules: _KLDR_DATA_TABLE_ENTRY (or _LDR_DATA_TABLE_ENTRY) */
	const char *ldr_type;
	struct os_field ldr_links, ldr_base, ldr_size, ldr_name, ldr_path;
	/* _KUSER_SHARED_DATA */
	struct os_field kusd_major, kusd_minor, kusd_build;
	/* _KTHREAD.State values by name */
	char state_name[WIN_MAX_STATES][24];
	bool states_from_table;
};

/* Runtime addresses (kernel base + RVA) of the symbols used; 0: absent. */
struct win_syms {
	uint64_t active_head, module_list, build_number, build_lab;
	uint64_t major, minor, prcb_block, nprocs, system_process;
	uint64_t idle_process;
};

/* One vCPU's processor, found through its KPCR. */
struct win_cpu {
	bool ok;
	uint64_t kpcr, kprcb;
	uint64_t current, idle;		/* _KTHREAD addresses, 0 if unknown */
	int number;			/* _KPRCB.Number, or -1 */
	const char *kpcr_src;		/* "GS base", "IA32_KERNEL_GS_BASE" */
};

/* What the module keeps per task, beside struct os_task. */
struct win_thread {
	uint64_t kernel_stack, stack_base, stack_limit, teb;
	int proc;			/* index in procs, or -1 (idle) */
	int state;			/* _KTHREAD.State, or -1 */
	bool aspace_warned;		/* its bad address space was logged */
};

struct win_proc {
	uint64_t addr;			/* _EPROCESS */
	int64_t pid, ppid;
	char name[OS_NAME_LEN];		/* ImageFileName, display text */
	uint64_t dtb, user_dtb, peb;
	unsigned nthreads;
};

struct win_stats {
	unsigned processes, threads, idle;
	double ms;
	uint64_t reads;
	unsigned warnings;
	unsigned fallback_ids;		/* threads with impossible or taken ids */
};

struct win {
	struct os base;
	/* the kernel image and how it was found */
	struct aspace kas;		/* the kernel's page tables */
	uint64_t kmin;			/* lowest kernel address */
	struct strbuf kas_src;
	uint64_t kbase;
	uint32_t ksize;
	struct strbuf found_by;
	struct pe_codeview cv;
	bool have_cv;
	/* the symbol table */
	struct isf *isf;
	char *profile;			/* its path */
	const char *profile_guid;
	uint32_t profile_age;
	struct win_layout L;
	struct win_syms S;
	/* version */
	uint32_t build_raw;		/* NtBuildNumber as stored */
	uint32_t major, minor;
	bool have_build, have_version;
	char build_lab[128];
	struct strbuf version_src;
	/* processors */
	struct win_cpu *vcpu;		/* per vCPU */
	uint64_t *prcbs;		/* KiProcessorBlock[0..nprcbs) */
	unsigned nprcbs;
	bool have_kcs;
	uint16_t kernel_cs, kernel_ss;
	/* the last walk */
	struct win_thread *tp;		/* parallel to base.tasks */
	struct win_proc *procs;
	size_t nprocs;
	struct win_stats last;
	uint64_t reads;
	double detect_ms;
	struct strbuf notes;
};

static inline struct win *to_win(struct os *os)
{
	return (struct win *)os;
}

/* windows-tasks.c */
/* Kernel virtual memory through the kernel's page tables: 0 or -errno. */
int win_read(struct win *w, uint64_t va, void *buf, size_t len);
int win_read_ptr(struct win *w, uint64_t va, uint64_t *v);
/* The lowest kernel-half address in a paging mode. */
uint64_t win_kernel_min(enum x86_paging_mode mode);
/* True for an 8-byte aligned kernel-half pointer (at least w->kmin). */
bool win_kptr_ok(const struct win *w, uint64_t p);
/* A UNICODE_STRING at va, as guest text (guest_text(): printable ASCII,
 * other units \uXXXX) into out[outlen] (outlen >= 5), always
 * terminated; a string longer than WIN_MAX_NAME_BYTES ends with the
 * truncation mark. 0 or -errno (out is then ""). */
int win_read_unicode(struct win *w, uint64_t va, char *out, size_t outlen);
/* The name of a _KTHREAD.State value (never NULL). */
const char *win_state_name(const struct win *w, int state, char *buf,
			   size_t len);
/* Finds each vCPU's KPCR and KPRCB and the processor list. */
void win_match_vcpus(struct win *w);
/* Rebuilds base.tasks, tp and procs (one bounded pass). 0 or -errno. */
int win_walk(struct win *w);
int win_task_regs(struct win *w, const struct os_task *t, struct x86_regs *r);
/* A thread's process's address space: 0, or -errno with why (may be
 * NULL). */
int win_task_aspace(struct win *w, const struct os_task *t,
		    struct aspace *as, struct strbuf *why);
/* "lm": the loaded drivers from PsLoadedModuleList. */
void win_list_modules(struct win *w, struct strbuf *out);
void win_tasks_release(struct win *w);
const struct win_thread *win_task_priv(const struct win *w,
				       const struct os_task *t);

/* windows-layout.c */
/* Fills L from the table: 0, or -ENOENT with why naming what is missing. */
int win_layout_from_isf(struct win_layout *L, const struct isf *isf,
			struct strbuf *why);
/* Fills S (kernel base + RVA): 0, or -ENOENT with why. */
int win_syms_from_isf(struct win_syms *S, const struct isf *isf,
		      uint64_t kbase, struct strbuf *why);

/* windows-find.c */
int win_detect(const struct os_env *env, struct os **out, struct strbuf *why);
void win_free_state(struct win *w);

#endif
