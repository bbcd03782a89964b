/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The target seam: one ops table per kind of guest (a live Xen domain, a
 * memory dump) behind thin wrappers. Callers use only the target_*()
 * functions below, never the ops directly.
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
struct target_event;
struct target_response;

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
	/* NULL: registers cannot be written. */
	int (*set_regs)(struct target *t, unsigned vcpu,
			const struct x86_regs *r);

	/* Run control, NULL for dumps. pause/unpause nest like Xen's. */
	int (*pause)(struct target *t);
	int (*unpause)(struct target *t);
	/* True (1) while the guest runs, 0 when it is paused, or -errno. */
	int (*is_running)(struct target *t);

	/* Events; NULL where the target has none. */
	struct target_event_ops const *ev;
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
	char *last_error;	/* reason for the last failure, or NULL */
};

/* The kinds of target (each in its own file). */
extern const struct target_ops target_core;
extern const struct target_ops target_raw;
extern const struct target_ops target_xen;

/* The registry, NULL-terminated: the kinds linked into this program. */
extern const struct target_ops *const target_types[];
const struct target_ops *target_find_type(const char *name);

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

#endif
