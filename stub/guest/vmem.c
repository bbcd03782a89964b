// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Guest memory over a target: a fixed-size cache of mapped frame batches
 * (least recently used goes first; one map call per batch of consecutive
 * frames), physical and virtual reads and writes, and page-table walks
 * through the cache.
 */
#include "stub/guest/vmem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "stub/base/log.h"
#include "stub/base/num.h"
#include "stub/base/strbuf.h"
#include "stub/guest/target.h"

struct chunk {
	uint64_t idx;		/* first gfn / batch */
	void *handle;
	unsigned count;		/* frames the map call covered */
	void **ptrs;		/* batch entries */
	bool writable;
	bool used;
	struct chunk *prev, *next;	/* LRU list, most recent first */
	struct chunk *hnext;		/* hash chain */
};

struct vmem {
	struct target *t;
	bool writable;
	unsigned batch;
	unsigned nchunks;
	struct chunk *chunks;
	void **ptr_pool;
	struct chunk **hash;
	unsigned nhash;
	struct chunk *lru_head, *lru_tail;
	struct vmem_stats st;
};

struct vmem *vmem_new(struct target *t, unsigned cache_frames, bool writable)
{
	struct vmem *m = xcalloc(1, sizeof(*m));
	unsigned i;

	m->t = t;
	m->writable = writable;
	m->batch = t->map_batch ? t->map_batch : 1;
	if (m->batch > 1024)
		m->batch = 1024;
	if (cache_frames < m->batch * 4)
		cache_frames = m->batch * 4;
	m->nchunks = (cache_frames + m->batch - 1) / m->batch;
	m->chunks = xcalloc(m->nchunks, sizeof(*m->chunks));
	m->ptr_pool = xcalloc(st_mult(m->nchunks, m->batch), sizeof(void *));
	for (i = 0; i < m->nchunks; i++)
		m->chunks[i].ptrs = m->ptr_pool + (size_t)i * m->batch;
	m->nhash = 1;
	while (m->nhash < m->nchunks * 2)
		m->nhash <<= 1;
	m->hash = xcalloc(m->nhash, sizeof(*m->hash));
	return m;
}

static unsigned hash_of(const struct vmem *m, uint64_t idx)
{
	return (unsigned)((idx * 0x9e3779b97f4a7c15ull) >> 32) & (m->nhash - 1);
}

static void lru_unlink(struct vmem *m, struct chunk *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		m->lru_head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		m->lru_tail = c->prev;
	c->prev = c->next = NULL;
}

static void lru_push(struct vmem *m, struct chunk *c)
{
	c->prev = NULL;
	c->next = m->lru_head;
	if (m->lru_head)
		m->lru_head->prev = c;
	m->lru_head = c;
	if (!m->lru_tail)
		m->lru_tail = c;
}

static void chunk_drop(struct vmem *m, struct chunk *c)
{
	struct chunk **pp = &m->hash[hash_of(m, c->idx)];

	while (*pp && *pp != c)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = c->hnext;
	c->hnext = NULL;
	lru_unlink(m, c);
	target_unmap(m->t, c->handle, c->count);
	m->st.unmap_calls++;
	c->used = false;
	c->handle = NULL;
}

void vmem_flush(struct vmem *m)
{
	unsigned i;

	for (i = 0; i < m->nchunks; i++)
		if (m->chunks[i].used)
			chunk_drop(m, &m->chunks[i]);
}

void vmem_free(struct vmem *m)
{
	if (!m)
		return;
	vmem_flush(m);
	free(m->hash);
	free(m->ptr_pool);
	free(m->chunks);
	free(m);
}

const struct vmem_stats *vmem_stats(const struct vmem *m) { return &m->st; }
struct target *vmem_target(const struct vmem *m) { return m->t; }
uint64_t vmem_max_gfn(const struct vmem *m) { return m->t->max_gfn; }

static struct chunk *chunk_get(struct vmem *m, uint64_t idx, bool write)
{
	struct chunk *c;
	unsigned h = hash_of(m, idx), i;
	uint64_t first = idx * m->batch;
	unsigned count = m->batch;
	int rc;

	for (c = m->hash[h]; c; c = c->hnext) {
		if (c->idx == idx) {
			if (write && !c->writable) {
				chunk_drop(m, c);
				break;
			}
			m->st.hits++;
			if (m->lru_head != c) {
				lru_unlink(m, c);
				lru_push(m, c);
			}
			return c;
		}
	}
	m->st.misses++;
	/* take a free slot, else the least recently used one */
	c = NULL;
	for (i = 0; i < m->nchunks && !c; i++)
		if (!m->chunks[i].used)
			c = &m->chunks[i];
	if (!c) {
		c = m->lru_tail;
		chunk_drop(m, c);
	}
	if (first > m->t->max_gfn) {
		errno = EFAULT;
		return NULL;
	}
	if (m->t->max_gfn - first + 1 < count)
		count = (unsigned)(m->t->max_gfn - first + 1);
	memset(c->ptrs, 0, sizeof(void *) * m->batch);
	/* frames are mapped for reading; a write remaps its batch writable
	 * (and targets that ask for it get that mapping dropped right after
	 * the write, see TCAP_TRANSIENT_WRITES) */
	rc = target_map(m->t, first, count, write, c->ptrs, &c->handle);
	m->st.map_calls++;
	if (rc < 0) {
		log_dbg(LC_MEM, "map of %u frames at gfn 0x%llx failed: %s", count,
			(unsigned long long)first, strerror(-rc));
		errno = -rc;
		return NULL;
	}
	m->st.frames_mapped += count;
	c->idx = idx;
	c->count = count;
	c->used = true;
	c->writable = write;
	c->hnext = m->hash[h];
	m->hash[h] = c;
	lru_push(m, c);
	return c;
}

/* Unmaps the batch of gfn if it is mapped writable. */
static void vmem_drop_writable(struct vmem *m, uint64_t gfn)
{
	uint64_t idx = gfn / m->batch;
	struct chunk *c;

	for (c = m->hash[hash_of(m, idx)]; c; c = c->hnext) {
		if (c->idx == idx) {
			if (c->writable)
				chunk_drop(m, c);
			return;
		}
	}
}

void *vmem_frame(struct vmem *m, uint64_t gfn, bool write)
{
	struct chunk *c;
	void *p;

	if (write && !m->writable) {
		errno = EROFS;
		return NULL;
	}
	if (gfn > m->t->max_gfn) {
		errno = EFAULT;
		return NULL;
	}
	c = chunk_get(m, gfn / m->batch, write);
	if (!c)
		return NULL;
	p = c->ptrs[gfn % m->batch];
	if (!p)
		errno = EFAULT;
	return p;
}

static int phys_rw(struct vmem *m, uint64_t paddr, void *buf, size_t len,
		   size_t *done, bool write)
{
	size_t did = 0;
	int rc = 0;

	while (did < len) {
		uint64_t a = paddr + did;
		size_t off = a & (GUEST_PAGE_SIZE - 1);
		size_t n = GUEST_PAGE_SIZE - off;
		uint8_t *f;

		if (a < paddr) { /* wrapped past the top */
			rc = -EFAULT;
			break;
		}
		if (n > len - did)
			n = len - did;
		f = vmem_frame(m, a >> GUEST_PAGE_SHIFT, write);
		if (!f) {
			rc = -errno;
			break;
		}
		if (write) {
			memcpy(f + off, (const uint8_t *)buf + did, n);
			if (m->t->caps & TCAP_TRANSIENT_WRITES)
				vmem_drop_writable(m, a >> GUEST_PAGE_SHIFT);
		} else {
			memcpy((uint8_t *)buf + did, f + off, n);
		}
		did += n;
	}
	if (done)
		*done = did;
	return rc;
}

int vmem_read_phys(struct vmem *m, uint64_t paddr, void *buf, size_t len,
		   size_t *done)
{
	return phys_rw(m, paddr, buf, len, done, false);
}

int vmem_write_phys(struct vmem *m, uint64_t paddr, const void *buf,
		    size_t len, size_t *done)
{
	return phys_rw(m, paddr, (void *)buf, len, done, true);
}

void vmem_aspace_of(const struct x86_regs *r, struct aspace *as)
{
	memset(as, 0, sizeof(*as));
	as->mode = x86_regs_paging_mode(r);
	as->cr3 = r->cr3;
	as->phys = as->mode == X86_PAGING_NONE;
}

static int walk_read(void *ctx, uint64_t paddr, void *buf, size_t len)
{
	return vmem_read_phys(ctx, paddr, buf, len, NULL);
}

/*
 * Page-table isolation (Linux's KPTI, and its 32-bit form) gives each
 * address space two top-level tables in one 8 KiB-aligned pair: the
 * kernel's in the even page maps everything; the user's in the odd page
 * (CR3 bit 12) maps user space and, of the kernel, only its entry
 * trampolines. A vCPU stopped in user mode has the user table in CR3, so
 * kernel addresses must be translated through its twin. The two are a
 * pair when their lower (user) halves are identical but for NX in the
 * kernel's copy (the kernel writes every user entry to both, adding NX
 * to its own when the CPU has it), with something mapped, and their
 * upper halves differ. Returns the kernel table's root, or 0.
 */
static uint64_t kpti_twin(struct vmem *m, enum x86_paging_mode mode,
			  uint64_t cr3)
{
	uint64_t root = x86_cr3_root(mode, cr3);
	unsigned esize = mode == X86_PAGING_32 || mode == X86_PAGING_32_NOPSE ? 4 : 8;
	unsigned n = mode == X86_PAGING_PAE ? 4 : 4096 / esize;
	size_t half = (size_t)n / 2 * esize;
	uint8_t user[4096], kern[4096];
	size_t i;
	bool present = false;

	if (!(root & 0x1000) || mode == X86_PAGING_NONE)
		return 0;
	if (vmem_read_phys(m, root, user, (size_t)n * esize, NULL) < 0 ||
	    vmem_read_phys(m, root & ~0x1000ull, kern, (size_t)n * esize, NULL) < 0)
		return 0;
	if (!memcmp(user + half, kern + half, half))
		return 0;
	for (i = 0; i < half; i += esize) {
		uint64_t u = get_le(user + i, esize), k = get_le(kern + i, esize);

		/* Linux sets NX in the kernel's copy of a user entry (so that
		 * user code never runs with the kernel's table): the only
		 * difference a pair's user halves may have */
		if (esize == 8 && (u & X86_PTE_P)) {
			u &= ~X86_PTE_NX;
			k &= ~X86_PTE_NX;
		}
		if (u != k)
			return 0;
		present |= u & X86_PTE_P;
	}
	return present ? root & ~0x1000ull : 0;
}

int vmem_translate(struct vmem *m, const struct aspace *as, uint64_t vaddr,
		   struct x86_walk *w)
{
	uint64_t twin;
	int rc;

	m->st.translations++;
	if (as->phys)
		return x86_translate(X86_PAGING_NONE, 0, vaddr, 52, walk_read, m,
				     w);
	rc = x86_translate(as->mode, as->cr3, vaddr, m->t->maxphys, walk_read,
			   m, w);
	if (rc != -EFAULT)
		return rc;
	twin = kpti_twin(m, as->mode, as->cr3);
	if (!twin)
		return rc;
	return x86_translate(as->mode, twin, vaddr, m->t->maxphys, walk_read,
			     m, w);
}

static int virt_rw(struct vmem *m, const struct aspace *as, uint64_t addr,
		   void *buf, size_t len, size_t *done, bool write)
{
	size_t did = 0;
	int rc = 0;

	if (as->phys || as->mode == X86_PAGING_NONE)
		return phys_rw(m, addr, buf, len, done, write);
	while (did < len) {
		struct x86_walk w;
		uint64_t a = addr + did;
		uint64_t n;
		size_t d = 0;

		/* the end of the address space (4 GiB in 32-bit modes) ends
		 * the access: it does not go on at address 0 */
		if (a < addr || (x86_paging_levels(as->mode) <= 3 &&
				 (a >> 32) != (addr >> 32))) {
			rc = -EFAULT;
			break;
		}

		rc = vmem_translate(m, as, a, &w);
		if (rc) {
			if (rc != -EFAULT && rc != -EINVAL)
				log_dbg(LC_MEM, "walk of 0x%llx: %s",
					(unsigned long long)a, strerror(-rc));
			rc = -EFAULT;
			break;
		}
		n = x86_page_remaining(w.paddr, 4096);
		if (n > len - did)
			n = len - did;
		rc = phys_rw(m, w.paddr, (uint8_t *)buf + did, n, &d, write);
		did += d;
		if (rc)
			break;
	}
	if (done)
		*done = did;
	return rc;
}

int vmem_read(struct vmem *m, const struct aspace *as, uint64_t addr,
	      void *buf, size_t len, size_t *done)
{
	return virt_rw(m, as, addr, buf, len, done, false);
}

int vmem_write(struct vmem *m, const struct aspace *as, uint64_t addr,
	       const void *buf, size_t len, size_t *done)
{
	return virt_rw(m, as, addr, (void *)buf, len, done, true);
}

int vmem_read_u64(struct vmem *m, const struct aspace *as, uint64_t addr,
		  uint64_t *v)
{
	uint8_t b[8];
	int rc = vmem_read(m, as, addr, b, 8, NULL), i;

	if (rc)
		return rc;
	*v = 0;
	for (i = 7; i >= 0; i--)
		*v = *v << 8 | b[i];
	return 0;
}

int vmem_read_u32(struct vmem *m, const struct aspace *as, uint64_t addr,
		  uint32_t *v)
{
	uint8_t b[4];
	int rc = vmem_read(m, as, addr, b, 4, NULL);

	if (rc)
		return rc;
	*v = b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	     (uint32_t)b[3] << 24;
	return 0;
}
