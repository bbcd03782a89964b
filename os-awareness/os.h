/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The OS-awareness seam: one ops table per guest operating system (Linux,
 * Windows). A module finds the kernel in guest memory, lists its tasks,
 * and gives each task's registers and address space. Modules read guest
 * memory only through the guest-memory layer, so they work the same on
 * dumps and live guests; every walk of a guest list is bounded.
 */
#ifndef XENSTUB_OS_H
#define XENSTUB_OS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch/x86/regs.h"
#include "stub/strbuf.h"
#include "stub/vmem.h"

/*
 * gdb thread ids of OS tasks. vCPUs are threads 1..N. A task whose OS
 * thread id (Linux pid, Windows Cid.UniqueThread) is T > 0 is thread
 * OS_TID_BASE + T, so "Thread 1000412" is Linux pid 412. Idle tasks all
 * have id 0; the one of CPU c is thread OS_TID_BASE - c.
 */
#define OS_TID_BASE 1000000ull
static inline uint64_t os_tid(uint64_t os_thread_id, unsigned idle_cpu)
{
	return os_thread_id ? OS_TID_BASE + os_thread_id :
			      OS_TID_BASE - idle_cpu;
}

struct os_task {
	uint64_t tid;		/* gdb thread id, from os_tid() */
	uint64_t addr;		/* task_struct / _ETHREAD address */
	int64_t pid;		/* process id (Linux tgid) */
	int64_t thread_id;	/* thread id (Linux pid) */
	char name[64];		/* thread name */
	char proc_name[64];	/* its process's name */
	char state[32];		/* "R", "S", "D", "Waiting", ... */
	int vcpu;		/* vCPU it runs on, or -1 */
	bool kernel_thread;
	bool is_idle;
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
	/* The task's address space. 0 or -errno. Never NULL. */
	int (*task_aspace)(struct os *os, const struct os_task *t,
			   struct aspace *as);
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

#endif
