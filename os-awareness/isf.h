/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A reader of Volatility 3 Intermediate Symbol Files (ISF JSON, plain or
 * xz-compressed), as dwarf2json writes them for Linux and pdbconv for
 * Windows: struct and union sizes and fields, enums, base types and
 * symbols. Names and paths are the profile's; addresses are as stored
 * (link-time for Linux, image-relative for Windows): the caller relocates.
 */
#ifndef XENSTUB_ISF_H
#define XENSTUB_ISF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "os-awareness/symtab.h"
#include "stub/base/strbuf.h"

struct isf;

/* Parses ISF text of len bytes (.json); name is used in messages. 0 with
 * *out, or -EINVAL with why. */
int isf_parse(const char *text, size_t len, const char *name,
	      struct isf **out, struct strbuf *why);
/* Reads a .json or .json.xz file (told apart by content). 0 or -errno
 * with why. */
int isf_load(const char *path, struct isf **out, struct strbuf *why);
void isf_free(struct isf *isf);

/* "linux", "windows", "mac" from the metadata, or "". */
const char *isf_os(const struct isf *isf);
/* The metadata's format version, e.g. "6.2.0", or "". */
const char *isf_format(const struct isf *isf);
/* "dwarf2json 0.8.0" and the like, or "". */
const char *isf_producer(const struct isf *isf);
/* Windows: the PDB's GUID and age, when recorded: 0 or -ENOENT. */
int isf_pdb(const struct isf *isf, const char **guid, uint32_t *age);

/* A symbol's stored address: 0 or -ENOENT. */
int isf_symbol(const struct isf *isf, const char *name, uint64_t *addr);
/* Calls fn for every symbol with an address; stops early when fn returns
 * non-zero and returns that. */
int isf_foreach_symbol(const struct isf *isf,
		       int (*fn)(void *ctx, const char *name, uint64_t addr),
		       void *ctx);
/* Adds every symbol with an address to st (type '?', addresses as
 * stored) and sorts it (symtab_finish()): the number added. */
size_t isf_symbols(const struct isf *isf, struct symtab *st);
/* A symbol's constant_data (base64 in the file), decoded into a malloc'd
 * buffer: 0 or -ENOENT / -EINVAL. */
int isf_symbol_data(const struct isf *isf, const char *name, uint8_t **data,
		    size_t *len);

/* Size of a user type, enum or base type ("pointer" included): 0 or
 * -ENOENT. */
int isf_type_size(const struct isf *isf, const char *name, uint64_t *size);
/* "struct", "union", or NULL when name is not a user type. */
const char *isf_type_kind(const struct isf *isf, const char *name);

/* What a field is. */
struct isf_field {
	uint64_t offset;	/* bytes from the start of the outer type */
	const char *kind;	/* "base", "pointer", "struct", "union",
				 * "array", "enum", "bitfield", "function" */
	const char *type_name;	/* for base, struct, union, enum; else "" */
	uint64_t size;		/* 0 when unknown */
	uint32_t count;		/* arrays: elements */
	uint32_t bit_position, bit_length;	/* bitfields */
};

/*
 * A field by path ("thread.sp"); fields of anonymous members are found as
 * direct fields, to a bounded depth. 0 with *out, or -ENOENT.
 */
int isf_field(const struct isf *isf, const char *type, const char *path,
	      struct isf_field *out);
/* Field names of a user type, in offset order, into names (malloc'd array
 * of pointers into the profile, freed by the caller); count returned, or
 * -ENOENT. */
int isf_fields(const struct isf *isf, const char *type, const char ***names);
/* A constant of a named enum: 0 or -ENOENT. */
int isf_enum_value(const struct isf *isf, const char *enum_name,
		   const char *constant, int64_t *value);
/* A base type: size and signedness: 0 or -ENOENT. */
int isf_base_type(const struct isf *isf, const char *name, uint64_t *size,
		  bool *is_signed);

#endif
