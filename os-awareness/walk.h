/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the OS modules' bounded walks of guest lists share: a map from
 * guest addresses (or ids) to small non-zero numbers ("seen this node?",
 * "which entry is it?"), the gdb thread ids given (unique and valid
 * whatever the guest says), and spans: the part of a guest structure
 * holding every member a walk uses, read in one go.
 */
#ifndef XENSTUB_OS_WALK_H
#define XENSTUB_OS_WALK_H

#include <stddef.h>
#include <stdint.h>

struct aspace;
struct vmem;

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

/*
 * The gdb thread ids given in one walk (see os.h): each id once, a
 * fallback id for a task whose own id is impossible or taken.
 */
struct os_tids {
	struct addrmap given;	/* gdb thread id -> owner */
	uint64_t fallbacks;	/* fallback ids given */
};

#define OS_TIDS_INIT { ADDRMAP_INIT, 0 }

enum os_tid_kind {
	OS_TID_OK = 0,		/* the task has the id it asked for */
	OS_TID_IMPOSSIBLE,	/* want was 0: a fallback id */
	OS_TID_TAKEN,		/* another task has want: a fallback id */
};

/* Gives owner (non-zero, e.g. its index + 1) the id want (from
 * os_tid_of() or os_tid_idle(); 0 when impossible) or a fallback id, in
 * *tid; when want was taken, *holder is the owner that has it. */
enum os_tid_kind os_tids_give(struct os_tids *m, uint64_t want,
			      uint32_t owner, uint64_t *tid, uint32_t *holder);
void os_tids_free(struct os_tids *m);

/* A member of a guest structure; size 0 when the build has no such
 * member. */
struct os_field {
	uint32_t off;
	uint32_t size;
};

/* The bytes [lo, lo+len) of one structure. */
struct os_span {
	uint32_t lo, len;
	uint8_t *buf;
};

/* Sizes the span to cover every field given (absent ones ignored). */
void os_span_init(struct os_span *s, const struct os_field *const *f,
		  size_t n);
void os_span_free(struct os_span *s);
/* Reads the span of the structure at addr (its bytes [lo, lo + len)) in
 * one read of mem through as; *reads (may be NULL) counts the read. 0 or
 * -errno. */
int os_span_read(struct os_span *s, struct vmem *mem, const struct aspace *as,
		 uint64_t addr, uint64_t *reads);
/* A field's value (little-endian, its first 8 bytes at most), 0 when
 * the field is absent. */
uint64_t os_span_get(const struct os_span *s, struct os_field f);
/* The bytes of a field within the span. */
static inline const uint8_t *os_span_ptr(const struct os_span *s,
					 struct os_field f)
{
	return s->buf + (f.off - s->lo);
}

#endif
