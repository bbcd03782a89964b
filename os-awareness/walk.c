// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Helpers of the OS modules' list walks: address maps (open addressing
 * with linear probing, grown at half full, values non-zero), the thread
 * ids given in a walk, and spans.
 */
#include "os-awareness/walk.h"

#include <stdlib.h>
#include <string.h>

#include "os-awareness/os.h"
#include "stub/base/num.h"
#include "stub/base/strbuf.h"
#include "stub/guest/vmem.h"

static size_t slot(const struct addrmap *m, uint64_t k)
{
	return (size_t)((k * 0x9e3779b97f4a7c15ull) >> 20) & (m->cap - 1);
}

static void grow(struct addrmap *m)
{
	struct addrmap old = *m;
	size_t i;

	m->cap = old.cap ? old.cap * 2 : 256;
	m->key = xcalloc(m->cap, sizeof(*m->key));
	m->val = xcalloc(m->cap, sizeof(*m->val));
	m->n = 0;
	for (i = 0; i < old.cap; i++)
		if (old.val[i])
			addrmap_put(m, old.key[i], old.val[i]);
	free(old.key);
	free(old.val);
}

uint32_t addrmap_get(const struct addrmap *m, uint64_t k)
{
	size_t h;

	if (!m->cap)
		return 0;
	for (h = slot(m, k); m->val[h]; h = (h + 1) & (m->cap - 1))
		if (m->key[h] == k)
			return m->val[h];
	return 0;
}

void addrmap_put(struct addrmap *m, uint64_t k, uint32_t v)
{
	size_t h;

	if ((m->n + 1) * 2 > m->cap)
		grow(m);
	for (h = slot(m, k); m->val[h]; h = (h + 1) & (m->cap - 1)) {
		if (m->key[h] == k) {
			m->val[h] = v;
			return;
		}
	}
	m->key[h] = k;
	m->val[h] = v;
	m->n++;
}

void addrmap_free(struct addrmap *m)
{
	free(m->key);
	free(m->val);
	memset(m, 0, sizeof(*m));
}

enum os_tid_kind os_tids_give(struct os_tids *m, uint64_t want,
			      uint32_t owner, uint64_t *tid, uint32_t *holder)
{
	uint32_t had = want ? addrmap_get(&m->given, want) : 0;

	*holder = had;
	if (want && !had) {
		addrmap_put(&m->given, want, owner);
		*tid = want;
		return OS_TID_OK;
	}
	/* above every regular id: never taken by one */
	do
		*tid = OS_TID_FALLBACK + ++m->fallbacks;
	while (addrmap_get(&m->given, *tid));
	addrmap_put(&m->given, *tid, owner);
	return want ? OS_TID_TAKEN : OS_TID_IMPOSSIBLE;
}

void os_tids_free(struct os_tids *m)
{
	addrmap_free(&m->given);
	m->fallbacks = 0;
}

void os_span_init(struct os_span *s, const struct os_field *const *f, size_t n)
{
	uint32_t lo = UINT32_MAX, hi = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!f[i]->size)
			continue;
		if (f[i]->off < lo)
			lo = f[i]->off;
		if (f[i]->off + f[i]->size > hi)
			hi = f[i]->off + f[i]->size;
	}
	s->lo = lo == UINT32_MAX ? 0 : lo;
	s->len = hi > s->lo ? hi - s->lo : 1;
	s->buf = xmalloc(s->len);
}

void os_span_free(struct os_span *s)
{
	free(s->buf);
	memset(s, 0, sizeof(*s));
}

int os_span_read(struct os_span *s, struct vmem *mem, const struct aspace *as,
		 uint64_t addr, uint64_t *reads)
{
	if (reads)
		(*reads)++;
	return vmem_read(mem, as, addr + s->lo, s->buf, s->len, NULL);
}

uint64_t os_span_get(const struct os_span *s, struct os_field f)
{
	if (!f.size)
		return 0;
	return get_le(os_span_ptr(s, f), f.size > 8 ? 8 : f.size);
}
