/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A reader of BTF, the compact type information the Linux kernel keeps in
 * its image (between __start_BTF and __stop_BTF): struct and union layouts
 * with member bit offsets and bitfields, typedef and qualifier chains,
 * pointers, arrays, integers, enums and function prototypes. Enough to
 * find the offsets OS-awareness needs; it trusts nothing in the blob.
 */
#ifndef XENSTUB_BTF_H
#define XENSTUB_BTF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stub/base/strbuf.h"

#define BTF_MAGIC 0xeb9f

enum btf_kind {
	BTF_KIND_UNKN = 0,
	BTF_KIND_INT = 1,
	BTF_KIND_PTR = 2,
	BTF_KIND_ARRAY = 3,
	BTF_KIND_STRUCT = 4,
	BTF_KIND_UNION = 5,
	BTF_KIND_ENUM = 6,
	BTF_KIND_FWD = 7,
	BTF_KIND_TYPEDEF = 8,
	BTF_KIND_VOLATILE = 9,
	BTF_KIND_CONST = 10,
	BTF_KIND_RESTRICT = 11,
	BTF_KIND_FUNC = 12,
	BTF_KIND_FUNC_PROTO = 13,
	BTF_KIND_VAR = 14,
	BTF_KIND_DATASEC = 15,
	BTF_KIND_FLOAT = 16,
	BTF_KIND_DECL_TAG = 17,
	BTF_KIND_TYPE_TAG = 18,
	BTF_KIND_ENUM64 = 19,
	BTF_KIND_MAX = 19,
};

struct btf;

/* Size of the blob the header at data describes (header + types +
 * strings), or 0 when data does not start with a valid header. */
size_t btf_blob_size(const void *data, size_t len);

/*
 * Parses a BTF blob (copied; data may be freed afterwards). Every type
 * record, string offset and referenced type id is checked. Returns 0 with
 * *out, or -EINVAL with why saying what is wrong and where.
 */
int btf_parse(const void *data, size_t len, struct btf **out,
	      struct strbuf *why);
void btf_free(struct btf *b);

/* Number of type ids, void (id 0) included. */
uint32_t btf_nr_types(const struct btf *b);
/* Size of a pointer: from the "long" integer type, else 8. */
unsigned btf_ptr_size(const struct btf *b);

unsigned btf_kind(const struct btf *b, uint32_t id);
/* The type's name, "" when anonymous or id is not valid. */
const char *btf_name(const struct btf *b, uint32_t id);
/* For pointer, typedef, qualifiers, var, func: the type referred to. */
uint32_t btf_ref(const struct btf *b, uint32_t id);
/* Members (struct, union), values (enum), parameters (func_proto). */
unsigned btf_vlen(const struct btf *b, uint32_t id);

/* The first type of that kind (0: any kind) and name: 0 with *id, or
 * -ENOENT. */
int btf_find(const struct btf *b, unsigned kind, const char *name,
	     uint32_t *id);
/* Follows typedef, const, volatile, restrict and type tags (bounded). */
uint32_t btf_resolve(const struct btf *b, uint32_t id);
/* Size in bytes of a type (arrays: count * element): 0 or -EINVAL. */
int btf_type_size(const struct btf *b, uint32_t id, uint64_t *size);

struct btf_member_info {
	uint64_t bit_offset;	/* from the start of the outer struct */
	uint32_t bit_size;	/* bitfield width, 0 when not a bitfield */
	uint32_t type;		/* the member's type id */
	uint64_t size;		/* its size in bytes (bitfields: of the
				 * underlying type) */
};

/*
 * A member of a struct or union, by path: "pid", "thread.sp", "uid.val".
 * Members of anonymous structs and unions are found as if they were direct
 * members (C11 semantics), to a bounded depth. 0 with *out, -ENOENT, or
 * -EINVAL when id is not a struct/union.
 */
int btf_member(const struct btf *b, uint32_t id, const char *path,
	       struct btf_member_info *out);
/* The i-th member: name (may be "") and info. 0, or -ENOENT. */
int btf_member_at(const struct btf *b, uint32_t id, unsigned i,
		  const char **name, struct btf_member_info *out);
/* An enumerator's value, searched in every enum: 0 or -ENOENT. */
int btf_enum_value(const struct btf *b, const char *name, int64_t *value);
/* Array element type and count: 0, or -EINVAL when id is no array. */
int btf_array(const struct btf *b, uint32_t id, uint32_t *elem,
	      uint32_t *count);
/* For INT types: size in bytes, signedness: 0 or -EINVAL. */
int btf_int(const struct btf *b, uint32_t id, unsigned *bytes,
	    bool *is_signed);

#endif
