/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The session: the debugger's model of one guest, independent of the GDB
 * protocol. It owns the target, guest memory, the OS-awareness module,
 * the thread list (vCPUs 1..N, then OS tasks), stopped/running state and
 * the breakpoints; every change it makes to a live guest is undone by
 * session_close(). This header and the ones it includes are the engine's
 * public interface.
 */
#ifndef XENSTUB_SESSION_H
#define XENSTUB_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch/x86/regs.h"
#include "stub/base/strbuf.h"

struct target;
struct os_task;

struct session_opts {
	bool read_only;
	const char *os;			/* "auto", "none", "linux", "windows" */
	const char *symbols_path;
	const char *profile_path;
	const char *profile_dir;
	unsigned cache_frames;		/* frame cache size; 0 = default */
	unsigned attach_vcpu;		/* vCPU reported at the first stop */
	const char *journal_dir;	/* --journal-dir, or NULL: default */
	bool attach_later;		/* a live guest is left running until
					 * session_attach() */
	bool tracepoints;		/* answer gdb's tracepoint packets */
};

struct thread_info {
	uint64_t tid;			/* gdb thread id */
	int vcpu;			/* vCPU index (vCPU threads), or the
					 * vCPU a task runs on, or -1 */
	const struct os_task *task;	/* NULL for vCPU threads */
	char name[96];
	char extra[192];		/* qThreadExtraInfo text */
};

enum stop_kind {
	STOP_NONE = 0,
	STOP_SIGNAL,			/* T packet */
	STOP_EXITED,			/* W packet: guest shut down */
	STOP_TERMINATED,		/* X packet: guest crashed/destroyed */
};

enum stop_reason {
	SR_NONE = 0,
	SR_SWBREAK,
	SR_HWBREAK,
	SR_WATCH,
	SR_RWATCH,
	SR_AWATCH,
};

struct stop_info {
	enum stop_kind kind;
	int signo;			/* gdb signal number (5 = TRAP) */
	uint64_t tid;			/* thread that stopped */
	enum stop_reason reason;
	uint64_t addr;			/* watchpoint address */
	int exit_code;
	char message[160];		/* for the user, or "" */
};

enum resume_kind { RESUME_STOPPED = 0, RESUME_CONTINUE, RESUME_STEP };

/* What each vCPU should do on resume (indexed by vCPU). */
struct resume_plan {
	unsigned nr;
	enum resume_kind *vcpu;
};

/* gdb's Z types */
enum point_type {
	PT_SW_BREAK = 0,
	PT_HW_BREAK = 1,
	PT_WRITE_WATCH = 2,
	PT_READ_WATCH = 3,
	PT_ACCESS_WATCH = 4,
};

struct session;

/* Opens the session on an opened target (it takes ownership). The live
 * guest is paused (attached), unless o->attach_later: then it runs on
 * until session_attach(). 0 or -errno with *msg (malloc'd). */
int session_open(struct target *t, const struct session_opts *o,
		 struct session **out, char **msg);
/* Undoes every change made to the guest, releases the target. Errors are
 * logged, all steps are tried. */
void session_close(struct session *s);
/* Leaves the guest as found (breakpoints and traps removed, running if it
 * is live) while keeping the session, for the next debugger to attach. */
void session_detach(struct session *s);
/* Takes the guest again after session_detach(): pauses a live guest and
 * rebuilds the thread list. 0 or -errno with *msg. */
int session_attach(struct session *s, char **msg);
bool session_attached(const struct session *s);

const struct x86_gdb_layout *session_layout(const struct session *s);
bool session_is_live(const struct session *s);
/* vCPUs of the guest (threads 1..N). */
unsigned session_vcpu_count(const struct session *s);
/* The reason of the target's last failure, for messages. */
const char *session_last_error(const struct session *s);
/* True when the target can write guest memory (whatever --read-only). */
bool session_mem_writable(const struct session *s);
/* Why a write of memory (regs false) or registers (regs true) was
 * refused with -EROFS, for the log. */
const char *session_why_read_only(const struct session *s, bool regs);

/* Threads: the list is stable from one stop to the next. */
size_t session_thread_count(const struct session *s);
const struct thread_info *session_thread_at(const struct session *s,
					    size_t i);
const struct thread_info *session_find_thread(const struct session *s,
					      uint64_t tid);
/* Rebuilds vCPU state and the OS task list (done at every stop). */
int session_refresh(struct session *s);

/* Registers of a thread (vCPU or task). 0, -ESRCH, or -errno. */
int session_get_regs(struct session *s, uint64_t tid, struct x86_regs *r);
int session_set_regs(struct session *s, uint64_t tid,
		     const struct x86_regs *r);

/* Memory of a thread's address space (or physical in phys mode). Same
 * return convention as vmem_read(). */
int session_read_mem(struct session *s, uint64_t tid, uint64_t addr,
		     void *buf, size_t len, size_t *done);
int session_write_mem(struct session *s, uint64_t tid, uint64_t addr,
		      const void *buf, size_t len);

/* One region of an address space (LLDB's qMemoryRegionInfo). */
struct mem_region {
	uint64_t start, size;
	bool mapped;
	bool readable, writable, executable;	/* effective permissions */
	bool user;			/* reachable from user mode */
};
/* The region holding addr in thread tid's address space (physical in
 * phys mode, or while paging is off): the page (or large page) that maps
 * it, or the whole range the missing page-table entry leaves unmapped.
 * Physical memory comes in 4 KiB frames. 0 or -errno. */
int session_mem_region(struct session *s, uint64_t tid, uint64_t addr,
		       struct mem_region *out);

void session_set_phys_mode(struct session *s, bool on);
bool session_phys_mode(const struct session *s);
/* Overrides every thread's CR3 (on) or goes back to each thread's own. */
void session_set_cr3_override(struct session *s, bool on, uint64_t cr3);
bool session_cr3_override(const struct session *s, uint64_t *cr3);

/* Run control. */
bool session_running(const struct session *s);
/* True when the session was opened with --read-only. */
bool session_read_only(const struct session *s);
const struct stop_info *session_last_stop(const struct session *s);
/* Resumes per plan. -EOPNOTSUPP (dumps) with a reason in *msg. */
int session_resume(struct session *s, const struct resume_plan *plan,
		   char **msg);
/* Stops a running guest; the stop is then reported by
 * session_poll_stop(). */
int session_interrupt(struct session *s);
/* A file descriptor that becomes readable when the target has events,
 * or -1. */
int session_event_fd(struct session *s);
/* Handles pending target events. Returns 1 with *stop when the guest
 * stopped, 0 when it keeps running, or -errno. */
int session_poll_stop(struct session *s, struct stop_info *stop);

/* Breakpoints and watchpoints. 0; -EOPNOTSUPP (not offered: gdb gets the
 * empty reply); other -errno with *msg for the user. */
int session_insert_point(struct session *s, uint64_t tid, enum point_type t,
			 uint64_t addr, uint64_t len, char **msg);
int session_remove_point(struct session *s, uint64_t tid, enum point_type t,
			 uint64_t addr, uint64_t len);
/* session_insert_point() with gdb's agent expressions for the point: opts
 * is what follows the kind in a Z packet, optlen bytes (";X len,hex..."
 * conditions, ";cmds:persist,X len,hex..." commands such as agent
 * dprintf), checked before anything is inserted; they replace what the
 * point had. A hit whose conditions are all false, or that runs commands,
 * does not stop the guest. */
int session_insert_point_opts(struct session *s, uint64_t tid,
			      enum point_type t, uint64_t addr, uint64_t len,
			      const char *opts, size_t optlen, char **msg);
/* gdb's tracepoint packets (QTinit, QTDP, QTDV, QTro, QTStart, QTStop,
 * qTStatus, QTFrame, qTfP/qTsP, qTfV/qTsV, qTV, qTP, QTBuffer, QTNotes,
 * qTBuffer...), pkt NUL-terminated; int3s are planted in thread tid's
 * address space. 0 with the reply in reply ("E01" for a refusal, the
 * reason in the log); -EOPNOTSUPP when pkt is none of them, the target
 * cannot run or opts.tracepoints is off (the empty reply: once gdb has a
 * qTStatus answer, it asks for it at quit and cannot quit while the guest
 * runs in the background). While gdb has a frame selected (QTFrame),
 * session_get_regs() and session_read_mem() answer from it. */
int session_trace_packet(struct session *s, uint64_t tid, const char *pkt,
			 struct strbuf *reply);
/* True when session_trace_packet() answers: a live guest, and
 * opts.tracepoints. Only then may gdb be told of tracepoints. */
bool session_offers_tracepoints(struct session *s);
/* Console text the points' commands printed (agent dprintf), appended to
 * out and forgotten; the bytes appended. Bounded: lines beyond the bounds
 * are dropped and said to be. */
size_t session_take_output(struct session *s, struct strbuf *out);

/* Text commands ("monitor ..."), run for thread tid (the one gdb has
 * selected): output appended to out. Returns 0, or -ENOENT for an unknown
 * command, -EINVAL for bad arguments (out says why). */
int session_command(struct session *s, uint64_t tid, const char *line,
		    struct strbuf *out);

/*
 * Undoes what a xenstub that died (kill -9) left in a live guest, from its
 * journal: int3 bytes, frame permissions, debug registers, trap flags,
 * single-steps, the monitor ring, pauses. Prints what it did to out.
 * 0 (also when there was nothing to do), or -errno with out saying why.
 */
int session_recover(struct target *t, const char *journal_dir,
		    struct strbuf *out);

/* The guest OS's module name ("linux", "windows"), or NULL. */
const char *session_os_name(const struct session *s);
/* Why the OS was not recognised (for messages), or "". */
const char *session_os_status(const struct session *s);

/* The guest's processes (gdb's "info os processes"): one call of row per
 * process; none without OS-awareness. */
typedef void (*session_process_fn)(void *ctx, int64_t pid, const char *user,
				   const char *command, const char *cores);
void session_processes(struct session *s, session_process_fn row, void *ctx);

/* gdb's qOffsets reply: where the kernel image the user gave (--vmlinux)
 * really is ("TextSeg=ADDR"); -ENOENT, reply untouched, when unknown. */
int session_image_offsets(struct session *s, struct strbuf *reply);

#endif
