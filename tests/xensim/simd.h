/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * xensimd internals: the state of the simulated Xen 4.17 hypervisor
 * (domains, guest memory and its p2m, vCPUs, monitor rings, event
 * channels, mem_access and altp2m) and the functions each part of the
 * daemon offers the others. Everything lives in one struct sim owned by
 * the event loop; nothing is global.
 */
#ifndef XENSIM_SIMD_H
#define XENSIM_SIMD_H

#ifndef __XEN_TOOLS__
#define __XEN_TOOLS__ 1
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xen/xen.h>
#include <xen/domctl.h>
#include <xen/sysctl.h>
#include <xen/memory.h>
#include <xen/version.h>
#include <xen/sched.h>
#include <xen/vm_event.h>
#include <xen/hvm/save.h>
#include <xen/hvm/hvm_op.h>
#include <xen/hvm/params.h>
#include <xen/hvm/dm_op.h>

#include "stub/base/strbuf.h"
#include "tests/xensim/proto.h"

/* The barriers xen/io/ring.h expects its user to provide. */
#ifndef xen_mb
#define xen_mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define xen_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define xen_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)
#endif

struct json_object;

#define SIM_PAGE_SHIFT 12
#define SIM_PAGE_SIZE 4096u
#define SIM_MAX_VCPUS 128
#define SIM_MAX_DOMAINS 256
/* xen/arch/x86/include/asm/p2m.h: MAX_ALTP2M */
#define SIM_MAX_ALTP2M 10
/* tools/libs/guest/xg_dom_x86.c: X86_HVM_END_SPECIAL_REGION and the
 * eight special pages below it; the monitor ring is SPECIALPAGE_ACCESS. */
#define SIM_SPECIAL_END 0xff000u
#define SIM_SPECIAL_PAGES 8u
#define SIM_RING_PFN (SIM_SPECIAL_END - SIM_SPECIAL_PAGES + 1)
/* Spare page slots for pages populated after creation. */
#define SIM_POOL_PAGES 256u
#define SIM_NO_SLOT UINT32_MAX
/* An altp2m view entry that is not present (follows the host p2m). */
#define SIM_ACC_ABSENT 0xffu
/* The guest-physical address width the simulated CPUs report. */
#define SIM_MAXPHYSADDR 46u

enum sim_dom_type { SIM_HVM, SIM_PVH, SIM_PV };
enum sim_vendor { SIM_INTEL, SIM_AMD };

/* ---- workloads ---- */

enum sim_step_kind {
	STEP_INSN,	/* one instruction, optionally with a data access */
	STEP_PUSHF,	/* pushfq: stores RFLAGS at [rsp-8], rsp -= 8 */
	STEP_SET_REG,	/* mov reg, imm */
	STEP_CPUID,	/* cpuid (2 bytes) */
	STEP_WRITE_CR,	/* mov crN, imm */
	STEP_VMCALL,	/* the guest-request hypercall */
	STEP_INTERRUPT,	/* an external interrupt before the insn at rip */
	STEP_IRET,	/* iretq: pops RIP, CS, RFLAGS, RSP, SS */
	STEP_CLI,	/* cli */
	STEP_STI,	/* sti */
	STEP_EXEC,	/* the guest's own instruction at RIP, executed as
			 * its bytes say (simd-insn.c); count of them, 0 =
			 * forever */
	STEP_SLEEP,	/* blocked like HLT for count ticks (not an insn) */
	STEP_LOOP,	/* back to step 0, count times (0 = forever) */
	STEP_HALT,	/* the workload ends; the vCPU idles */
};

enum sim_acc { ACC_NONE = 0, ACC_READ = 1, ACC_WRITE = 2, ACC_RW = 3 };

struct sim_step {
	enum sim_step_kind kind;
	uint64_t rip;
	unsigned len;
	unsigned access;	/* enum sim_acc */
	uint64_t va;
	unsigned size;
	uint64_t value;
	int reg;		/* SET_REG: register index; WRITE_CR: 0/3/4 */
	uint64_t count;
};

struct sim_workload {
	struct sim_step *steps;
	size_t n;
};

/* ---- vCPUs ---- */

struct sim_counters {
	uint64_t steps;		/* instructions retired, emulated ones too */
	uint64_t emulated;	/* of which completed by Xen's emulator */
	uint64_t exit_completed; /* ... by Xen's exit handler (cpuid...) */
	uint64_t reads, writes;	/* data accesses performed */
	uint64_t int3;		/* int3 instructions executed */
	uint64_t bp_delivered;	/* #BP taken by the guest */
	uint64_t db_delivered;	/* #DB taken by the guest */
	uint64_t pf_delivered;	/* #PF taken by the guest */
	uint64_t other_delivered;
	uint64_t interrupts;	/* external interrupts delivered */
	uint64_t events;	/* vm_event requests posted by this vCPU */
	uint64_t reason[16];	/* ... by VM_EVENT_REASON_* */
	uint64_t ring_waits;	/* times it waited for a ring slot */
	uint64_t ring_blocks;	/* times vm_event_mark_and_pause hit it */
	/* HVM context loads that put back a record older than the vCPU:
	 * it was running, and the record's registers are not its own
	 * (Xen loads it all the same; a debugger that does this to a
	 * running vCPU sends it back in time) */
	uint64_t stale_loads;
};

/* What a vCPU still has to do once its queued request gets a slot. */
enum sim_wait_cont {
	CONT_NONE,
	CONT_DELIVER_DB,	/* an async #DB event: then #DB to the guest */
};

struct sim_inject {
	int vector;		/* -1: nothing pending */
	uint8_t type;
	uint8_t insn_len;
	uint32_t error_code;
	uint64_t cr2;
};

struct sim_vcpu {
	struct sim_domain *d;
	unsigned id;
	bool online;		/* !VPF_down */
	struct hvm_hw_cpu r;	/* the register file, Xen's own record */

	/* Pauses beyond the domain's (xen/common/vm_event.c). */
	unsigned vm_event_pause;	/* v->vm_event_pause_count */
	unsigned held_gen;		/* d->ring_gen of its last sync event */
	bool ring_blocked;		/* paused by vm_event_mark_and_pause */
	bool waiting_slot;		/* on the ring's wait queue */
	uint64_t wait_seq;
	vm_event_request_t wait_req;
	bool wait_sync;
	enum sim_wait_cont wait_cont;

	/* Per-vCPU hypervisor state. */
	bool single_step;		/* v->arch.hvm.single_step (MTF) */
	bool mtf_pending;		/* MTF exit owed after a #DB event */
	unsigned db_pending;		/* DR6 bits of a #DB owed */
	unsigned altp2m_idx;
	bool set_gprs;			/* VM_EVENT_FLAG_SET_REGISTERS */
	struct vm_event_regs_x86 gprs;
	uint32_t emulate_flags;		/* v->arch.vm_event->emulate_flags */
	struct sim_inject inject;	/* v->arch.hvm.inject_event */
	/* An external interrupt being delivered; reinject: its delivery
	 * caused a VM exit, so VM entry injects it again (the
	 * IDT-vectoring information Xen copies back, vmx_idtv_reinject). */
	struct {
		bool pending;
		bool reinject;
		unsigned vector;
	} intr;
	uint64_t exec_done;		/* instructions an exec step ran */
	uint8_t emul_insn[16];		/* SET_EMUL_INSN_DATA's bytes */
	size_t done_once;		/* 1 + a step Xen's emulator already
					 * executed out of order, or 0 */

	/* The scripted workload. */
	struct sim_workload wl;
	bool wl_running;
	size_t pc;
	uint64_t loops_done;
	uint64_t sleep_left;
	bool sleeping;
	bool halted;
	uint64_t budget;		/* instructions left before stopping */
	char *fault;			/* why the workload stopped, or NULL */
	bool resync;			/* a sync event was raised at step pc */

	struct sim_counters c;
};

/* ---- the monitor ring and event channels ---- */

struct sim_ring {
	uint32_t slot;			/* its page in the guest-memory file */
	vm_event_sring_t *sring;	/* shared with the listener */
	vm_event_front_ring_t front;	/* Xen's private producer side */
	uint32_t xen_port;		/* the guest-side, Xen-bound port */
	unsigned blocked;		/* vCPUs paused by mark_and_pause */
	unsigned last_wake;
	uint64_t wait_seq;		/* FIFO order of the wait queue */
	uint64_t posted;		/* requests posted since enable */
	uint64_t consumed;		/* responses consumed since enable */
};

enum sim_ecs { ECS_FREE = 0, ECS_UNBOUND, ECS_INTERDOMAIN };

/* One event channel of a guest domain. */
struct sim_evtchn {
	enum sim_ecs state;
	uint32_t remote_domid;	/* UNBOUND: who may bind */
	uint32_t peer;		/* INTERDOMAIN: the dom0 port */
	bool xen_bound;		/* notifications go to Xen (vm_event) */
};

/* One dom0 port, owned by a libxenevtchn handle. */
struct sim_lport {
	struct sim_conn *owner;	/* NULL when free */
	uint32_t rdom;
	uint32_t rport;
	bool masked;
	bool pending;
};

/* ---- monitor settings (d->arch.monitor and d->monitor) ---- */

struct sim_monitor {
	bool software_breakpoint;
	bool singlestep;
	bool debug_exception;
	bool debug_exception_sync;
	bool cpuid;
	bool emul_unimplemented;
	bool inguest_pagefault_disabled;
	bool descriptor_access;
	bool guest_request;
	bool guest_request_sync;
	bool guest_request_userspace;
	bool vmexit;
	bool vmexit_sync;
	unsigned write_ctrlreg_enabled;		/* bit per VM_EVENT_X86_* */
	unsigned write_ctrlreg_sync;
	unsigned write_ctrlreg_onchangeonly;
	uint64_t write_ctrlreg_mask[4];
	bool emulate_each_rep;
	bool control_register_values;
};

/* ---- domains ---- */

struct sim_view {
	bool exists;		/* altp2m_eptp[i] != INVALID_MFN */
	uint8_t *acc;		/* per gfn: p2m_access_t or SIM_ACC_ABSENT */
	unsigned active_vcpus;
	uint8_t default_access;
};

struct sim_domain {
	struct sim *sim;
	uint32_t domid;
	char *name;
	enum sim_dom_type type;
	enum sim_vendor vendor;
	unsigned nr_vcpus;
	struct sim_vcpu *vcpu;
	unsigned pv_bits;		/* PV guests: 64 */

	/* Guest memory: a file shared with the clients that map it. */
	int memfd;
	uint8_t *mem;
	uint64_t file_pages;
	uint32_t *p2m;			/* gfn -> page slot, SIM_NO_SLOT */
	uint64_t p2m_size;		/* gfns the p2m can describe */
	uint64_t pool_next;		/* next unused slot */
	uint64_t max_mapped;		/* XENMEM_maximum_gpfn */
	uint64_t tot_pages;

	unsigned controller_pause;	/* d->controller_pause_count */
	bool shut_down;
	unsigned shutdown_code;
	bool dying;
	char *crash_reason;

	uint64_t monitor_ring_pfn;	/* HVM_PARAM_MONITOR_RING_PFN */
	unsigned altp2m_mode;		/* HVM_PARAM_ALTP2M */

	struct sim_monitor mon;
	struct sim_ring *ring;		/* d->vm_event_monitor */

	struct sim_evtchn *ports;
	unsigned nports;

	/* mem_access: the host p2m's access of each gfn. */
	uint8_t *host_acc;
	uint8_t default_access;
	bool access_required;

	bool altp2m_active;
	struct sim_view view[SIM_MAX_ALTP2M];

	uint64_t unmodelled_flags;	/* response flags xensim ignores */
	/* XEN_DOMCTL_sethvmcontext calls (whole-context loads), and those
	 * that loaded (the others were refused) */
	uint64_t hvm_loads, hvm_loads_ok;
	/* monitor rings enabled so far; registers a response carried for a
	 * hold of an earlier ring (see sim_vm_event_resume) */
	unsigned ring_gen;
	uint64_t stale_hold_regs;
	/* A fault injected by the control command ("quirk no-progress"):
	 * EMULATE answers to mem_access events are ignored, so the vCPU
	 * executes the instruction again and raises the same event again,
	 * without ever getting past it (a Xen that never makes progress). */
	bool quirk_no_progress;
};

/* ---- connections and the daemon ---- */

struct sim_conn {
	struct sim *sim;
	int fd;
	enum xsim_role role;
	int evfd;		/* EVTCHN: the daemon's end of the event socket */
	bool dead;
	struct sim_conn *next;
};

struct sim {
	struct sim_domain *dom[SIM_MAX_DOMAINS];
	uint32_t next_domid;
	struct sim_conn *conns;
	struct sim_lport *lports;	/* dom0 ports, index = port */
	unsigned nlports;
	int epfd;
	int listenfd;
	int timerfd;
	int sigfd;
	unsigned tick_us;
	unsigned steps_per_tick;
	bool timer_armed;
	bool quit;
	uint64_t ticks;
	char *socket_path;
	bool not_modelled;	/* the request being served is not modelled */
};

/* ---- simd-walk.c: the guest page walk (Intel SDM vol. 3, chapter 4) ---- */

#define SIM_CR0_WP (1ull << 16)
#define SIM_CR0_PG (1ull << 31)
#define SIM_CR4_PSE (1ull << 4)
#define SIM_CR4_PAE (1ull << 5)
#define SIM_CR4_LA57 (1ull << 12)
#define SIM_EFER_SCE (1ull << 0)
#define SIM_EFER_LME (1ull << 8)
#define SIM_EFER_LMA (1ull << 10)
#define SIM_EFER_NXE (1ull << 11)

/* Paging-structure entry bits (SDM tables 4-4 to 4-20). */
#define SIM_PTE_P (1ull << 0)
#define SIM_PTE_RW (1ull << 1)
#define SIM_PTE_US (1ull << 2)
#define SIM_PTE_PS (1ull << 7)
#define SIM_PTE_G (1ull << 8)
#define SIM_PTE_XD (1ull << 63)

/* The paging mode (SDM 4.1.1, table 4-1). */
enum sim_paging {
	SIM_PAGING_OFF,		/* CR0.PG = 0: linear = physical (32 bits) */
	SIM_PAGING_32,		/* 32-bit paging; CR4.PSE allows 4 MiB pages */
	SIM_PAGING_PAE,
	SIM_PAGING_4,		/* 4-level */
	SIM_PAGING_5,		/* 5-level (CR4.LA57) */
};

/* Everything a walk depends on besides memory. */
struct sim_mmu {
	uint64_t cr0, cr3, cr4, efer;
	unsigned maxphyaddr;	/* MAXPHYADDR, clamped to 32..52 */
	bool amd;		/* AMD: bit 8 (G) of PML4Es and PML5Es is
				 * reserved; Intel ignores it */
};

/* How a walk ended. */
enum sim_walk_fault {
	SIM_WALK_OK = 0,
	SIM_WALK_NONCANONICAL,	/* #GP: the address is not canonical */
	SIM_WALK_NOT_PRESENT,	/* #PF with P = 0 */
	SIM_WALK_RESERVED,	/* #PF with RSVD = 1 */
	SIM_WALK_READ_ERROR,	/* the read callback failed */
};

/* Levels, as the SDM names the entries. */
enum {
	SIM_LVL_PTE = 1, SIM_LVL_PDE, SIM_LVL_PDPTE, SIM_LVL_PML4E,
	SIM_LVL_PML5E,
};

/*
 * Reads one paging-structure entry of size bytes (4 in 32-bit paging,
 * else 8; naturally aligned, so never across a page) at guest-physical
 * gpa into *entry. Returns 0, or a negative errno: the walk stops there
 * with SIM_WALK_READ_ERROR and returns that errno. Never NULL.
 */
typedef int (*sim_walk_read_fn)(void *opaque, uint64_t gpa, unsigned size,
				uint64_t *entry);

struct sim_walk {
	enum sim_paging mode;
	enum sim_walk_fault fault;
	/* The level of the last entry read: where a fault was found or the
	 * leaf; 0 when no entry was read (paging off, non-canonical). */
	unsigned level;
	/* Per level (index SIM_LVL_*): the entries read and where. */
	uint64_t entry[6];
	uint64_t entry_gpa[6];
	/* Valid when fault is SIM_WALK_OK: */
	uint64_t gpa;
	uint64_t page_size;	/* 4 KiB, 2 MiB, 4 MiB or 1 GiB */
	bool writable;		/* R/W set at every level */
	bool user;		/* U/S set at every level */
	bool nx;		/* XD set at some level, with EFER.NXE */
};

enum sim_paging sim_paging_mode(const struct sim_mmu *m);
const char *sim_paging_name(enum sim_paging mode);
/* "PTE", "PDE", "PDPTE", "PML4E", "PML5E" ("CR3" for 0). */
const char *sim_walk_level_name(unsigned level);
const char *sim_walk_fault_name(enum sim_walk_fault f);

/*
 * Translates linear address la under m, reading each entry through read.
 * Returns 0 with w->gpa and the rights, -EFAULT for a page fault
 * (w->fault NOT_PRESENT or RESERVED, w->level the entry), -EINVAL for a
 * non-canonical address, or the read callback's error. w is always
 * filled as far as the walk went.
 */
int sim_walk(const struct sim_mmu *m, uint64_t la, sim_walk_read_fn read,
	     void *opaque, struct sim_walk *w);

/*
 * The access-rights check of SDM 4.6 that xensim models on a successful
 * walk: need is MEM_ACCESS_R, _W or _X; a write needs R/W at CPL 3 or
 * with CR0.WP, a fetch needs XD clear, CPL 3 needs U/S. (SMEP, SMAP and
 * protection keys are not modelled.)
 */
bool sim_walk_permits(const struct sim_mmu *m, const struct sim_walk *w,
		      unsigned need, unsigned cpl);

/* ---- simd-load.c: QEMU dump-guest-memory ELF files ---- */

/* A run of guest-physical memory stored contiguously in the file. */
struct sim_dump_seg {
	uint64_t gpa;
	uint64_t size;
	uint64_t offset;	/* in the file */
};

struct sim_dump {
	bool long_mode;		/* EM_X86_64: vCPU 0 had EFER.LMA */
	unsigned nr_vcpus;	/* 1..SIM_MAX_VCPUS */
	struct hvm_hw_cpu *vcpu;	/* nr_vcpus records */
	/* Sorted by gpa, disjoint, page-aligned, inside the file. */
	struct sim_dump_seg *seg;
	size_t nseg;
	uint64_t gpa_end;	/* the end of the highest segment */
};

/*
 * Parses a QEMU dump-guest-memory ELF file (ELF64 or ELF32, x86_64 or
 * i386) held in data (size bytes; name is for messages): its PT_LOAD
 * segments, and one vCPU per NT_PRSTATUS/QEMUCPUState pair converted to
 * Xen's CPU record. Trusts nothing in the file and reads nothing outside
 * it. Returns 0 with *out filled (free it with sim_dump_free), or a
 * negative errno with *msg (malloc'd) saying what is wrong with the file.
 */
int sim_dump_load(const uint8_t *data, size_t size, const char *name,
		  struct sim_dump *out, char **msg);
void sim_dump_free(struct sim_dump *d);
/* The file bytes holding guest-physical [gpa, gpa + len), or NULL when
 * they are not all in one segment. */
const uint8_t *sim_dump_phys(const struct sim_dump *d, const uint8_t *data,
			     uint64_t gpa, uint64_t len);

/* ---- simd-domain.c: domains, guest memory, xenstore ---- */

struct sim_create_args {
	const char *name;
	enum sim_dom_type type;
	enum sim_vendor vendor;
	unsigned vcpus;			/* 0: from the dump */
	unsigned altp2m_mode;		/* XEN_ALTP2M_* */
	const char *dump_path;
	const char *raw_path;
	uint64_t zero_mib;
	uint64_t cr3;			/* raw images */
	bool have_cr3;
	bool pagetables;		/* zero pages: build an identity map */
};

int sim_domain_create(struct sim *s, const struct sim_create_args *a,
		      struct sim_domain **out, char **msg);
void sim_domain_destroy(struct sim *s, struct sim_domain *d);
struct sim_domain *sim_domain_get(struct sim *s, uint32_t domid);
struct sim_domain *sim_domain_lookup(struct sim *s, const char *id_or_name);

/* The page of gfn, or NULL when the frame is not populated. */
uint8_t *sim_gfn_ptr(struct sim_domain *d, uint64_t gfn);
bool sim_gfn_populated(const struct sim_domain *d, uint64_t gfn);
/* Populates / removes one gfn (XENMEM_populate_physmap and
 * XENMEM_decrease_reservation). 0 or -errno. */
int sim_gfn_populate(struct sim_domain *d, uint64_t gfn);
int sim_gfn_remove(struct sim_domain *d, uint64_t gfn);
/* Allocates a page slot outside the p2m (a ring page). */
int sim_slot_alloc(struct sim_domain *d, uint32_t *slot);

bool sim_is_hvm(const struct sim_domain *d);	/* HVM or PVH */
/* The running state of a domain, for the scheduler. */
bool sim_domain_paused(const struct sim_domain *d);
void sim_domain_shutdown(struct sim_domain *d, unsigned code,
			 const char *why);

/* xenstore: 0 and the value (malloc'd), or -ENOENT. */
int sim_xs_read(struct sim *s, const char *path, struct strbuf *out);
int sim_xs_directory(struct sim *s, const char *path, struct strbuf *out);

/* ---- simd-hyp.c: hypercalls ---- */

int sim_do_domctl(struct sim *s, struct sim_conn *c, uint8_t *body,
		  size_t len, struct strbuf *out);
int sim_do_sysctl(struct sim *s, uint8_t *body, size_t len,
		  struct strbuf *out);
int sim_do_memory_op(struct sim *s, unsigned cmd, uint8_t *body,
		     size_t len, struct strbuf *out);
int sim_do_hvm_op(struct sim *s, unsigned cmd, uint8_t *body, size_t len,
		  struct strbuf *out);
int sim_do_dm_op(struct sim *s, uint32_t domid, uint8_t *body, size_t len,
		 struct strbuf *out);
int sim_do_version(struct sim *s, unsigned cmd, struct strbuf *out);
/* Foreign mapping: fills err[] and offsets, gives the memory fd. */
int sim_do_map(struct sim *s, uint8_t *body, size_t len, struct strbuf *out,
	       int *memfd);
/* Domain lookup as Xen's rcu_lock_*_domain_by_id helpers: 0 or -errno. */
int sim_lock_domain(struct sim *s, uint32_t domid, struct sim_domain **d);
int sim_lock_remote_domain(struct sim *s, uint32_t domid,
			   struct sim_domain **d);
int sim_lock_live_remote_domain(struct sim *s, uint32_t domid,
				struct sim_domain **d);

/* ---- simd-hvmctx.c: HVM save records and PV contexts ---- */

size_t sim_hvm_save_size(const struct sim_domain *d);
int sim_hvm_save(struct sim_domain *d, struct strbuf *out);
int sim_hvm_save_one(struct sim_domain *d, unsigned type, unsigned instance,
		     uint64_t *bufsz, bool query, struct strbuf *out);
int sim_hvm_load(struct sim_domain *d, const uint8_t *data, size_t size);
void sim_get_vcpu_context(struct sim_vcpu *v, vcpu_guest_context_t *c);
int sim_set_vcpu_context(struct sim_vcpu *v,
			 const vcpu_guest_context_t *c);
/* Sanity of a CPU record as hvm_load_cpu_ctxt checks it; NULL if fine. */
const char *sim_check_cpu_record(const struct sim_domain *d,
				 const struct hvm_hw_cpu *c);

/* ---- simd-event.c: the vm_event ring, event channels, monitor ---- */

int sim_vm_event_enable(struct sim *s, struct sim_domain *d, uint32_t *port);
int sim_vm_event_disable(struct sim_domain *d);
int sim_vm_event_resume(struct sim_domain *d);
void sim_ring_free(struct sim_domain *d);
/* monitor_traps(): the outcome for the vCPU. */
enum sim_trap {
	TRAP_NO_RING = 0,	/* no ring: go on as if nothing happened */
	TRAP_SYNC,		/* posted, the vCPU is held */
	TRAP_ASYNC,		/* posted, the vCPU goes on */
	TRAP_WAIT,		/* the ring is full: queued, vCPU waits */
};
enum sim_trap sim_monitor_traps(struct sim_vcpu *v, bool sync,
				vm_event_request_t *req,
				enum sim_wait_cont cont);
void sim_fill_regs(const struct sim_vcpu *v, vm_event_request_t *req);
int sim_monitor_domctl(struct sim_domain *d, struct xen_domctl_monitor_op *m);
uint32_t sim_monitor_capabilities(const struct sim_domain *d);

int sim_evtchn_alloc_unbound(struct sim_domain *d, uint32_t remote_dom,
			     bool xen_bound);
void sim_evtchn_free(struct sim *s, struct sim_domain *d, uint32_t port);
void sim_evtchn_notify_guest_port(struct sim *s, struct sim_domain *d,
				  uint32_t port);
int sim_evtchn_op(struct sim *s, struct sim_conn *c, unsigned op,
		  const struct xsim_evtchn_req *r);
void sim_evtchn_conn_closed(struct sim *s, struct sim_conn *c);
void sim_evtchn_domain_gone(struct sim *s, struct sim_domain *d);

/* ---- simd-access.c: mem_access and altp2m ---- */

/* The access a vCPU sees for gfn (its altp2m view or the host p2m). */
uint8_t sim_effective_access(const struct sim_vcpu *v, uint64_t gfn);
/* Sets an entry in the vCPU's current p2m (for mem_access resets). */
void sim_set_current_access(struct sim_vcpu *v, uint64_t gfn, uint8_t a);
int sim_mem_access_op(struct sim *s, xen_mem_access_op_t *mao,
		      const uint8_t *lists, size_t lists_len);
int sim_altp2m_op(struct sim *s, xen_hvm_altp2m_op_t *a,
		  const uint8_t *lists, size_t lists_len);
void sim_altp2m_switch_vcpu(struct sim_vcpu *v, unsigned idx);
bool sim_mem_access_emulate_check(struct sim_vcpu *v,
				  const vm_event_response_t *rsp);
void sim_altp2m_disable(struct sim_domain *d);
const char *sim_access_name(uint8_t a);
int sim_access_parse(const char *s);

/* ---- simd-cpu.c: executing workloads ---- */

bool sim_vcpu_runnable(const struct sim_vcpu *v);
/* Runs one scheduling quantum of a vCPU: at most one instruction. */
void sim_vcpu_step(struct sim_vcpu *v);
/* Called by vm_event_resume when a response releases a vCPU. */
void sim_vcpu_released(struct sim_vcpu *v);
/* Called when the toolstack's pause of a domain ends: its vCPUs that
 * nothing else pauses go back into the guest. */
void sim_domain_unpaused(struct sim_domain *d);
/* The guest takes a #DB (vmx_propagate_intr / hvm_inject_exception). */
void sim_deliver_guest_db(struct sim_vcpu *v);
/* Sets the host p2m's access of gfn, propagating to altp2m views that
 * hold an entry for it (p2m_altp2m_propagate_change). */
void sim_set_host_access(struct sim_domain *d, uint64_t gfn, uint8_t a);
/* Guest-virtual to guest-frame translation without permission checks
 * (paging_gva_to_gfn). 0 or -errno. */
int sim_gva_to_gfn(struct sim_vcpu *v, uint64_t va, uint64_t *gfn);
int sim_reg_index(const char *name);
uint64_t *sim_reg_ptr(struct hvm_hw_cpu *r, int index);
const char *sim_reg_name(int index);
int sim_reg_count(void);

/* ---- simd-insn.c: decoding the guest's own instructions ---- */

enum sim_op {
	SIM_OP_NOP,		/* nop, pause, nop r/m */
	SIM_OP_LOAD,		/* mov reg, [ea] */
	SIM_OP_STORE,		/* mov [ea], rm (rm: the source register) */
	SIM_OP_STORE_IMM,	/* mov [ea], imm */
	SIM_OP_MOV_RR,		/* mov reg, rm */
	SIM_OP_MOV_IMM,		/* mov reg, imm */
	SIM_OP_LEA,		/* lea reg, [ea] */
	SIM_OP_JMP,		/* jmp target */
};

/* One decoded instruction. Registers are numbered as the encoding does
 * (0 rax, 1 rcx, 2 rdx, 3 rbx, 4 rsp, 5 rbp, 6 rsi, 7 rdi, 8-15 r8-r15). */
struct sim_insn {
	enum sim_op op;
	unsigned len;
	unsigned width;		/* operand size: 4 or 8 bytes */
	int reg;		/* ModRM.reg: the destination or source */
	int rm;			/* the r/m register when !mem */
	bool mem;		/* the r/m operand is memory at ea */
	bool rip_relative;
	uint64_t ea;
	uint64_t imm;
	uint64_t target;	/* JMP */
};

/*
 * Decodes the instruction in b[0..n) at rip with the general registers
 * gpr (encoding order). Returns 0 with *in, or -EINVAL with *why
 * (malloc'd) naming the bytes when the instruction is not one xensim
 * executes (or is cut short by n).
 */
int sim_insn_decode(const uint8_t *b, size_t n, uint64_t rip,
		    const uint64_t gpr[16], struct sim_insn *in, char **why);

/* ---- simd-ctl.c: the control command's requests ---- */

/* Handles one JSON request; the reply is a JSON document in out. */
void sim_ctl(struct sim *s, const char *request, struct strbuf *out);
/* Parses a workload document; 0 or -EINVAL with *msg. */
int sim_workload_parse(struct json_object *j, struct sim_workload *wl,
		       char **msg);
void sim_workload_free(struct sim_workload *wl);

/* ---- simd-main.c ---- */

/* Re-evaluates whether the execution timer must run. */
void sim_update_timer(struct sim *s);
/* Records that the request being served asks for something xensim does
 * not model: logs why, and the reply tells the client library, which
 * says so on stderr. Returns -ENOSYS for the caller to pass on. */
int sim_unmodelled(struct sim *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
