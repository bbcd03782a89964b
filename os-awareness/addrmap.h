/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A map from guest addresses (or ids) to small non-zero numbers, for the
 * bounded walks of guest lists: "seen this node?" and "which entry is it?"
 * in constant time. Open addressing; 0 means absent.
 */
#ifndef XENSTUB_ADDRMAP_H
#define XENSTUB_ADDRMAP_H

#include <stddef.h>
#include <stdint.h>

struct addrmap {
	uint64_t *key;
	uint32_t *val;
	size_t cap, n;
};

#define ADDRMAP_INIT { NULL, NULL, 0, 0 }

/* The value stored with k, or 0 when k is absent. */
uint32_t addrmap_get(const struct addrmap *m, uint64_t k);
/* Stores v (non-zero) with k, replacing what was there. */
void addrmap_put(struct addrmap *m, uint64_t k, uint32_t v);
void addrmap_free(struct addrmap *m);

#endif
