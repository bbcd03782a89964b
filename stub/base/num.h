/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Numbers: parsing them from text, and little-endian reading and writing
 * of the byte layouts of guest data, dump files and Xen's records.
 */
#ifndef XENSTUB_BASE_NUM_H
#define XENSTUB_BASE_NUM_H

#include <stddef.h>
#include <stdint.h>

/* Parses a number (decimal, 0x hex or 0 octal) surrounded by optional
 * blanks: 0, or -EINVAL when s holds anything else. */
int parse_u64(const char *s, uint64_t *v);

/* The little-endian number in the n (at most 8) bytes at p. */
static inline uint64_t get_le(const void *p, unsigned n)
{
	const uint8_t *b = p;
	uint64_t v = 0;

	while (n--)
		v = v << 8 | b[n];
	return v;
}

/* Stores the low n (at most 8) bytes of v at p, little-endian. */
static inline void put_le(void *p, uint64_t v, unsigned n)
{
	uint8_t *b = p;
	unsigned i;

	for (i = 0; i < n; i++, v >>= 8)
		b[i] = (uint8_t)v;
}

#endif
