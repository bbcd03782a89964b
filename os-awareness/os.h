/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The OS-awareness seam: one ops table per guest operating system (Linux,
 * Windows). A module finds the kernel in guest memory, lists its tasks,
 * and gives each task's registers and address space. Modules read guest
 * memory only through the guest-memory layer, so they work the same on
 * dumps and live guests; every walk of a guest list is bounded. The
 * guest may be hostile: every piece of its text a module hands out (task
 * names, monitor output, log lines) is escaped as guest text (see
 * guest_text() in stub/base/strbuf.h), and every thread id is valid.
 */
#ifndef XENSTUB_OS_H
#define XENSTUB_OS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch/x86/regs.h"
#include "stub/base/strbuf.h"
#include "stub/guest/vmem.h"

/*
 * gdb thread ids of OS tasks. vCPUs are threads 1..N. A task whose OS
 * thread id (Linux pid, Windows Cid.UniqueThread) is T > 0 is thread
 * OS_TID_BASE + T, so "Thread 1000412" is Linux pid 412. Idle tasks all
 * have id 0; the one of CPU c (c < OS_TID_IDLE_CPUS) is thread
 * OS_TID_BASE - c. Whatever the guest's data says, ids are unique and
 * never 0, -1 or a vCPU's: a task whose id is impossible (beyond what its
 * kernel can give, see os_tid_of()) or already another task's gets the
 * next fallback id, OS_TID_FALLBACK + n (n = 1, 2, ... in the order of
 * the walk), and a note. Every id stays below 2^31: gdb sends thread ids
 * back as 32-bit signed numbers.
 */
#define OS_TID_BASE 1000000ull
#define OS_TID_IDLE_CPUS 8192u
#define OS_TID_MAX_ID (1ull << 26)	/* the largest T any kernel gives */
#define OS_TID_FALLBACK 100000000ull	/* above OS_TID_BASE + OS_TID_MAX_ID */
#define OS_TID_MAX_FALLBACKS (1u << 24)

/* The gdb thread id of OS thread id id, valid in 1..max (max <=
 * OS_TID_MAX_ID): 0 when id is out of that range. */
static inline uint64_t os_tid_of(int64_t id, uint64_t max)
{
	return id >= 1 && (uint64_t)id <= max && (uint64_t)id <= OS_TID_MAX_ID ?
	       OS_TID_BASE + (uint64_t)id : 0;
}

/* The gdb thread id of the idle task of CPU cpu, 0 when cpu is out of
 * range. */
static inline uint64_t os_tid_idle(int64_t cpu)
{
	return cpu >= 0 && cpu < OS_TID_IDLE_CPUS ? OS_TID_BASE - (uint64_t)cpu : 0;
}

/* Guest text in a task's name fields is display text (guest_text() in
 * stub/base/strbuf.h): printable ASCII, a 16-byte Linux comm always whole. */
#define OS_NAME_LEN 80

struct os_task {
	uint64_t tid;		/* gdb thread id (see above) */
	uint64_t addr;		/* task_struct / _ETHREAD address */
	int64_t pid;		/* process id (Linux tgid) */
	int64_t thread_id;	/* thread id (Linux pid) */
	char name[OS_NAME_LEN];		/* thread name (display text) */
	char proc_name[OS_NAME_LEN];	/* its process's name (display text) */
	char state[32];		/* "R", "S", "D", "Waiting", ... */
	int vcpu;		/* vCPU it runs on, or -1 */
	bool kernel_thread;
	bool is_idle;
	const char *note;	/* what is wrong with its data ("impossible
				 * pid"...), static text, or NULL */
};

/* What the engine gives an OS module. */
struct os_env {
	struct vmem *mem;
	unsigned nr_vcpus;
	unsigned guest_bits;
	/* registers of a vCPU: 0 or -errno */
	int (*vcpu_regs)(void *ctx, unsigned vcpu, struct x86_regs *r);
	void *ctx;
	const char *symbols_path;	/* --symbols System.map, or NULL */
	const char *profile_path;	/* --profile FILE, or NULL */
	const char *profile_dir;	/* --profile-dir DIR, or NULL */
	bool live;			/* the guest runs between stops */
};

struct os_ops;

/* The base every OS module embeds first. */
struct os {
	const struct os_ops *ops;
	struct os_env env;
	struct os_task *tasks;	/* owned by the module, rebuilt by refresh */
	size_t ntasks;
};

struct os_ops {
	const char *name;	/* "linux", "windows" */
	/*
	 * Looks for this OS in the guest. Returns 1 with *out allocated (the
	 * caller frees it with os_free(), which calls free() below), 0 when
	 * the guest does not run
	 * this OS or what it needs is missing (why says what and what would
	 * help), or a negative errno. Never NULL.
	 */
	int (*detect)(const struct os_env *env, struct os **out,
		      struct strbuf *why);
	/* Frees everything of os. Never NULL. */
	void (*free)(struct os *os);
	/* Rebuilds os->tasks from guest memory in one bounded pass; a
	 * corrupt list ends the walk with a warning and what was found.
	 * 0 or -errno. Never NULL. */
	int (*refresh)(struct os *os);
	/* Registers of a task that is not running on a vCPU; unknown ones
	 * stay invalid. 0 or -errno. Never NULL. */
	int (*task_regs)(struct os *os, const struct os_task *t,
			 struct x86_regs *r);
	/* The task's own address space, its page-table root checked as the
	 * guest's kernel would have it. 0, or -errno with why (may be NULL)
	 * saying what is wrong; the caller must then read nothing for the
	 * task (no other task's tables stand in). Never NULL. */
	int (*task_aspace)(struct os *os, const struct os_task *t,
			   struct aspace *as, struct strbuf *why);
	/* "monitor os": what was found and where from. Never NULL. */
	void (*describe)(struct os *os, struct strbuf *out);
	/* "monitor ps": a table of processes. Never NULL. */
	void (*ps)(struct os *os, struct strbuf *out);
	/* A kernel symbol's address: 0, or -ENOENT. Never NULL. */
	int (*lookup_symbol)(struct os *os, const char *name, uint64_t *addr);
	/* Process rows for "info os processes": one call per process with
	 * pid, user (may be ""), command. NULL: derived from tasks. */
	void (*processes)(struct os *os,
			  void (*row)(void *ctx, int64_t pid, const char *user,
				      const char *command, const char *cores),
			  void *ctx);
	/* OS-specific monitor commands (e.g. "lm"). Returns 0 when handled,
	 * -ENOENT when cmd is not one of its commands. May be NULL. */
	int (*command)(struct os *os, const char *cmd, const char *args,
		       struct strbuf *out);
	/* Help lines for command(), or NULL. */
	const char *command_help;
	/* The reply to gdb's qOffsets for the kernel image file the user
	 * gave (e.g. "TextSeg=ADDR": its first loadable segment's runtime
	 * address), or -ENOENT when no such file was given or its
	 * relocation is not known (gdb then keeps the file's addresses).
	 * May be NULL. */
	int (*image_offsets)(struct os *os, struct strbuf *reply);
};

/* Registry of modules, NULL-terminated. */
extern const struct os_ops *const os_types[];

/*
 * Detects the guest's OS. which: "auto", "none", or a module name. Returns
 * 1 with *out, 0 when nothing was found (why explains), or -errno.
 */
int os_detect(const char *which, const struct os_env *env, struct os **out,
	      struct strbuf *why);
void os_free(struct os *os);
/* The name of the module whose command_help lists command name, or
 * NULL. */
const char *os_command_of(const char *name);

/*
 * The wrappers through which the engine calls a module: the only callers
 * of struct os_ops outside a module. They share the contracts of the ops
 * above; an optional op that a module lacks is answered here.
 */
const char *os_name(const struct os *os);
int os_refresh(struct os *os);
/* Registers not known stay invalid (r is cleared first). */
int os_task_regs(struct os *os, const struct os_task *t, struct x86_regs *r);
int os_task_aspace(struct os *os, const struct os_task *t, struct aspace *as,
		   struct strbuf *why);
void os_describe(struct os *os, struct strbuf *out);
void os_ps(struct os *os, struct strbuf *out);
int os_lookup_symbol(struct os *os, const char *name, uint64_t *addr);
/* One row per process: the module's own list, or, without one, the
 * thread-group leaders of the task list (no user; cores: the vCPU it
 * runs on, or ""). */
typedef void (*os_process_fn)(void *ctx, int64_t pid, const char *user,
			      const char *command, const char *cores);
void os_processes(struct os *os, os_process_fn row, void *ctx);
/* 0 when handled, -ENOENT when cmd is none of the module's commands. */
int os_command(struct os *os, const char *cmd, const char *args,
	       struct strbuf *out);
/* Help lines of the module's commands, or "". */
const char *os_command_help(const struct os *os);
/* gdb's qOffsets reply for the user's kernel image file; -ENOENT when
 * there is none or the module cannot say. */
int os_image_offsets(struct os *os, struct strbuf *reply);

#endif
