/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Guest memory: reads and writes of guest-physical or guest-virtual
 * addresses over a target, through a bounded least-recently-used cache of
 * mapped frames. Its size never depends on the guest's RAM.
 */
#ifndef XENSTUB_VMEM_H
#define XENSTUB_VMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch/x86/paging.h"
#include "arch/x86/regs.h"

struct target;

/* An address space: physical, or the page tables rooted at cr3. */
struct aspace {
	bool phys;
	enum x86_paging_mode mode;
	uint64_t cr3;
};

struct vmem_stats {
	uint64_t hits, misses;
	uint64_t map_calls, frames_mapped, unmap_calls;
	uint64_t translations;
};

struct vmem;

/* cache_frames: how many frames stay mapped at most (rounded up to the
 * target's batch size). writable: map frames for writing too. */
struct vmem *vmem_new(struct target *t, unsigned cache_frames, bool writable);
/* Unmaps every frame and frees m. NULL is allowed. */
void vmem_free(struct vmem *m);
/* Unmaps every cached frame (e.g. when the guest's memory map changed). */
void vmem_flush(struct vmem *m);
const struct vmem_stats *vmem_stats(const struct vmem *m);
struct target *vmem_target(const struct vmem *m);
/* The guest's last frame number (the target's max_gfn): what an OS
 * module scanning physical memory needs without the target's header. */
uint64_t vmem_max_gfn(const struct vmem *m);

/*
 * Physical reads and writes. Return 0 when all len bytes were done, else a
 * negative errno (-EFAULT: a frame does not exist, -EROFS: read-only) with
 * *done (if not NULL) set to the bytes done before the failure.
 */
int vmem_read_phys(struct vmem *m, uint64_t paddr, void *buf, size_t len,
		   size_t *done);
int vmem_write_phys(struct vmem *m, uint64_t paddr, const void *buf,
		    size_t len, size_t *done);

/* The address space a vCPU with registers r is in: its CR3 and paging
 * mode, or physical while paging is off. */
void vmem_aspace_of(const struct x86_regs *r, struct aspace *as);

/* Translation of one address (x86_translate over the cache). */
int vmem_translate(struct vmem *m, const struct aspace *as, uint64_t vaddr,
		   struct x86_walk *w);

/* Reads and writes in an address space, crossing pages as needed. Same
 * return convention as the physical functions; an unmapped page is
 * -EFAULT. */
int vmem_read(struct vmem *m, const struct aspace *as, uint64_t addr,
	      void *buf, size_t len, size_t *done);
int vmem_write(struct vmem *m, const struct aspace *as, uint64_t addr,
	       const void *buf, size_t len, size_t *done);

/* Little-endian helpers over vmem_read; 0 or -errno. */
int vmem_read_u64(struct vmem *m, const struct aspace *as, uint64_t addr,
		  uint64_t *v);
int vmem_read_u32(struct vmem *m, const struct aspace *as, uint64_t addr,
		  uint32_t *v);

/*
 * Direct access to one frame's mapping, valid until the next vmem call.
 * NULL with errno set when the frame does not exist.
 */
void *vmem_frame(struct vmem *m, uint64_t gfn, bool write);

#endif
