/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The target seam: one ops table per kind of guest (a live Xen domain, a
 * memory dump) behind thin wrappers. Callers use only the target_*()
 * functions below, never the ops directly: there is a wrapper for every
 * op, and the wrapper of an op the target lacks answers -EOPNOTSUPP with
 * the reason in target_strerror().
 *
 * Conventions: functions returning int give 0 (or a count) on success and a
 * negative errno on failure; the target records a human-readable reason for
 * the last failure, available from target_strerror().
 */
#ifndef XENSTUB_TARGET_H
#define XENSTUB_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch/x86/regs.h"

#define GUEST_PAGE_SHIFT 12
#define GUEST_PAGE_SIZE (1ull << GUEST_PAGE_SHIFT)

struct target;
struct journal;
struct journal_state;

/* What a target can do; what it cannot is reported, never faked. */
enum target_cap {
	TCAP_WRITE_MEM = 1u << 0,
	TCAP_WRITE_REGS = 1u << 1,
	TCAP_RUN = 1u << 2,		/* pause, unpause: a live guest */
	TCAP_EVENTS = 1u << 3,		/* a monitor ring */
	TCAP_SINGLESTEP = 1u << 4,	/* monitor single-step (Intel MTF) */
	TCAP_SWBP = 1u << 5,		/* int3 events */
	TCAP_MEM_ACCESS = 1u << 6,	/* EPT permissions */
	TCAP_ALTP2M = 1u << 7,
	TCAP_DEBUG_EXC = 1u << 8,	/* #DB events */
	/* writable mappings must not outlive a write (PV: Xen will not let
	 * the guest make a frame a page table while one exists) */
	TCAP_TRANSIENT_WRITES = 1u << 9,
};

/* ---- events (live targets with a monitor ring) ---- */

enum target_event_kind {
	TEV_OTHER = 0,
	TEV_SWBP,		/* int3 executed */
	TEV_SINGLESTEP,		/* one instruction done (monitor single-step) */
	TEV_MEM_ACCESS,		/* access permission violated */
	TEV_DEBUG_EXC,		/* #DB (or other exception) intercepted */
	TEV_EMUL_UNIMPL,	/* Xen could not emulate an instruction */
};

/* Access bits of mem_access permissions and violations. */
#define TACC_R 1u
#define TACC_W 2u
#define TACC_X 4u
#define TACC_RWX 7u
/* mem.flags */
#define TMEM_GLA_VALID 1u
#define TMEM_FAULT_WITH_GLA 2u
#define TMEM_FAULT_IN_GPT 4u

struct target_event {
	enum target_event_kind kind;
	unsigned vcpu;
	bool held;		/* the vCPU waits for a response */
	bool in_view;		/* the vCPU runs in an alternate view */
	unsigned view;
	/* the vCPU's registers when the event was raised (partial) */
	struct x86_regs regs;
	union {
		struct {
			uint64_t gfn;
			uint32_t offset;
			uint64_t gla;
			unsigned access;	/* TACC_*: what was attempted */
			unsigned flags;		/* TMEM_* */
		} mem;
		struct {
			uint64_t gfn;
			unsigned insn_length;
		} swbp;
		struct {
			uint64_t pending_dbg;	/* DR6 B0-B3 and BS, as far
						 * as Xen tells them */
			unsigned vector;
			unsigned type;		/* X86_EVENTTYPE_* */
			unsigned insn_length;
		} dbg;
	} u;
	uint64_t raw_reason;	/* the target's own reason code */
};

/* How to let a held vCPU go. All false: just release it. */
struct target_response {
	bool toggle_singlestep;
	bool set_view;		/* move the vCPU to view */
	unsigned view;
	bool emulate;		/* complete the instruction under restriction */
	bool emulate_nowrite;
	const uint8_t *insn;	/* emulate these bytes instead (int3) */
	unsigned insn_len;
	const struct x86_regs *regs;	/* set these registers (a whole
					 * register file, as set_regs) */
	bool keep_held;		/* answer without releasing the vCPU */
};

enum target_monitor {
	TMON_SWBP,
	TMON_SINGLESTEP,
	TMON_DEBUG_EXC,
	TMON_EMUL_UNIMPL,
	TMON_INGUEST_PF,
};

/* What a live guest is doing, for shutdown detection. */
enum target_state {
	TSTATE_RUNNING = 0,
	TSTATE_PAUSED,
	TSTATE_SHUTDOWN,	/* shutdown_code says why */
	TSTATE_DYING,		/* destroyed, or being destroyed */
};

struct target_status {
	enum target_state state;
	int shutdown_code;	/* SHUTDOWN_poweroff, _reboot, _crash, ... */
};

/*
 * Event operations of live targets. Every pointer may be NULL, which
 * means the target cannot do it (reported to the user, never faked).
 */
struct target_event_ops {
	/* Creates the monitor ring (idempotent). 0 or -errno with the
	 * reason in target_strerror(). */
	int (*enable)(struct target *t);
	/* Tears everything down in Xen's order: drains and answers
	 * outstanding events, disables each monitor, the ring, the event
	 * channel. Tries every step. */
	void (*disable)(struct target *t);
	/* A pollable fd, or -1 while no ring exists. */
	int (*fd)(struct target *t);
	/* Takes the next event: 1 with *ev, 0 when there is none, -errno. */
	int (*next)(struct target *t, struct target_event *ev);
	/* Answers a held event. */
	int (*respond)(struct target *t, const struct target_event *ev,
		       const struct target_response *r);
	/* Turns one kind of event on or off. */
	int (*monitor)(struct target *t, enum target_monitor what, bool on);
	/* Arms or disarms single-step on a vCPU that is not held. */
	int (*singlestep)(struct target *t, unsigned vcpu, bool on);
	/* Injects an exception into a vCPU (e.g. the guest's own int3). */
	int (*inject)(struct target *t, unsigned vcpu, unsigned vector,
		      unsigned type, uint32_t error_code, unsigned insn_len,
		      uint64_t cr2);
	/* Domain state. */
	int (*status)(struct target *t, struct target_status *st);
	/* mem_access permissions (TACC_*) of frames in a view (0 = host). */
	int (*set_access)(struct target *t, unsigned view, const uint64_t *gfns,
			  const uint8_t *access, unsigned n);
	int (*get_access)(struct target *t, unsigned view, uint64_t gfn,
			  uint8_t *access);
	/* Undoes, with the hypervisor's calls only, what a dead xenstub left
	 * (single-steps, monitors and the ring, pauses): see journal.h.
	 * Memory, permissions and debug registers are restored by the
	 * caller, with the domain paused. A trap flag it can give back
	 * without a register load it does, and clears that vCPU's tf_set;
	 * the caller writes those still set. */
	int (*recover)(struct target *t, struct journal_state *st);
};

/* Parameters from the command line that shape how a target opens. */
struct target_params {
	bool read_only;
	/* raw images: the single vCPU's paging root and mode */
	bool have_cr3;
	uint64_t cr3;
	int paging;		/* enum x86_paging_mode, or -1 if not given */
	unsigned raw_bits;	/* 32 or 64, 0 = from the paging mode */
	unsigned attach_vcpu;	/* live targets: the vCPU of the first stop */
};

struct target_ops {
	/* "core", "raw", "xen": the TARGET prefix before ':'. */
	const char *name;
	/* One line for --help. */
	const char *help;
	/*
	 * Opens the target named by spec (the text after "name:"). On
	 * failure returns a negative errno and, when msg is not NULL, a
	 * malloc'd message naming the thing and the problem, freed by the
	 * caller. Never NULL.
	 */
	int (*open)(const char *spec, const struct target_params *p,
		    struct target **out, char **msg);
	/* Releases everything. Live targets leave the guest as found. */
	void (*close)(struct target *t);

	/*
	 * Maps count consecutive guest frames from gfn. ptrs[i] receives
	 * the address of frame gfn+i, or NULL when that frame does not
	 * exist (not in the dump, not populated). *handle receives what
	 * unmap() needs to undo the call. Returns 0 if the call as a whole
	 * worked (even with missing frames), or a negative errno. With
	 * write set, the mapping must allow writes (else -EROFS).
	 * Never NULL.
	 */
	int (*map)(struct target *t, uint64_t gfn, unsigned count, bool write,
		   void **ptrs, void **handle);
	/* Undoes one map() call of count frames. NULL when mappings need
	 * no release. */
	void (*unmap)(struct target *t, void *handle, unsigned count);

	/* Registers of a vCPU. Fields not recorded stay invalid. */
	int (*get_regs)(struct target *t, unsigned vcpu, struct x86_regs *r);
	/* NULL: registers cannot be written. A write to a vCPU held by an
	 * event may reach the hypervisor only with the vCPU's release
	 * (event respond, or disable); get_regs returns it meanwhile. */
	int (*set_regs)(struct target *t, unsigned vcpu,
			const struct x86_regs *r);

	/* Run control, NULL for dumps. pause/unpause nest like Xen's. */
	int (*pause)(struct target *t);
	int (*unpause)(struct target *t);
	/* True (1) while the guest runs, 0 when it is paused, or -errno. */
	int (*is_running)(struct target *t);

	/* Events; NULL where the target has none. */
	const struct target_event_ops *ev;
};

struct target {
	const struct target_ops *ops;
	unsigned nr_vcpus;
	unsigned guest_bits;	/* 64 or 32: picks the gdb register layout */
	uint64_t max_gfn;	/* highest frame that may exist */
	unsigned maxphys;	/* guest physical address width */
	unsigned caps;		/* enum target_cap */
	unsigned map_batch;	/* frames worth mapping in one call */
	char *description;	/* e.g. "QEMU dump dump.elf: 2 vCPUs, x86_64" */
	char *key;		/* live targets: names the recovery journal */
	struct journal *journal;	/* where changes are recorded, or NULL */
	char *last_error;	/* reason for the last failure, or NULL */
};

/* The kinds of target (each in its own file). */
extern const struct target_ops target_core;
extern const struct target_ops target_raw;
extern const struct target_ops target_xen;

/* The registry, NULL-terminated: the kinds linked into this program. */
extern const struct target_ops *const target_types[];
const struct target_ops *target_find_type(const char *name);
/* The --help line of the i-th kind in the registry, NULL past the end. */
const char *target_type_help(size_t i);

/*
 * Opens TARGET text: "core:PATH", "raw:PATH", "xen:ID", "xen:NAME", or a
 * bare domain id or name when a "xen" type is registered. On failure,
 * *msg gets a message (malloc'd) and the return is a negative errno.
 */
int target_open(const char *spec, const struct target_params *p,
		struct target **out, char **msg);
void target_close(struct target *t);

/* Helpers for implementations. */
void target_init(struct target *t, const struct target_ops *ops);
void target_set_error(struct target *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
const char *target_strerror(const struct target *t);

static inline bool target_has(const struct target *t, enum target_cap c)
{
	return (t->caps & c) != 0;
}

int target_map(struct target *t, uint64_t gfn, unsigned count, bool write,
	       void **ptrs, void **handle);
void target_unmap(struct target *t, void *handle, unsigned count);
int target_get_regs(struct target *t, unsigned vcpu, struct x86_regs *r);
int target_set_regs(struct target *t, unsigned vcpu, const struct x86_regs *r);
int target_pause(struct target *t);
int target_unpause(struct target *t);
int target_is_running(struct target *t);

/*
 * The event operations (struct target_event_ops, whose contracts they
 * share). Each one the target lacks answers -EOPNOTSUPP with the reason
 * in target_strerror(); but target_ev_disable() then does nothing and
 * target_ev_fd() gives -1. A vCPU out of range is -EINVAL.
 */
int target_ev_enable(struct target *t);
void target_ev_disable(struct target *t);
int target_ev_fd(struct target *t);
int target_ev_next(struct target *t, struct target_event *ev);
int target_ev_respond(struct target *t, const struct target_event *ev,
		      const struct target_response *r);
int target_ev_monitor(struct target *t, enum target_monitor what, bool on);
int target_ev_singlestep(struct target *t, unsigned vcpu, bool on);
int target_ev_inject(struct target *t, unsigned vcpu, unsigned vector,
		     unsigned type, uint32_t error_code, unsigned insn_len,
		     uint64_t cr2);
int target_ev_status(struct target *t, struct target_status *st);
int target_ev_set_access(struct target *t, unsigned view, const uint64_t *gfns,
			 const uint8_t *access, unsigned n);
int target_ev_get_access(struct target *t, unsigned view, uint64_t gfn,
			 uint8_t *access);
int target_ev_recover(struct target *t, struct journal_state *st);

#endif
