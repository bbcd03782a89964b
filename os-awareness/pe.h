/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * PE/COFF headers of an image mapped in guest memory and its CodeView RSDS
 * record (the PDB's name, GUID and age). Every value comes from untrusted
 * memory and is range-checked before use.
 */
#ifndef XENSTUB_PE_H
#define XENSTUB_PE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stub/base/strbuf.h"

/*
 * Reads len bytes at offset off of the image as it is mapped (so off is
 * a relative virtual address). 0, or a negative errno when the bytes
 * cannot be read.
 */
typedef int (*pe_read_fn)(void *ctx, uint64_t off, void *buf, size_t len);

#define PE_MACHINE_I386 0x014c
#define PE_MACHINE_AMD64 0x8664

/* Bounds on what a header may claim. */
#define PE_MAX_LFANEW 0x10000u		/* e_lfanew */
#define PE_MAX_IMAGE (1u << 30)		/* SizeOfImage */
#define PE_MAX_DEBUG_ENTRIES 64u
#define PE_MAX_CODEVIEW 4096u		/* bytes of one CodeView record */

struct pe_image {
	uint16_t machine;		/* PE_MACHINE_* */
	bool pe32plus;			/* optional header magic 0x20b */
	uint16_t characteristics;
	uint16_t nsections;
	uint32_t timestamp;
	uint64_t image_base;		/* the linker's preferred base */
	uint32_t size_of_image;
	uint32_t size_of_headers;
	uint32_t debug_rva, debug_size;	/* both 0 without a debug directory */
};

struct pe_codeview {
	uint8_t guid[16];		/* as stored: Data1..3 little-endian */
	uint32_t age;
	/* the GUID as 32 uppercase hex digits (Data1, Data2, Data3 as
	 * numbers, then Data4's bytes), as symbol servers and Volatility 3
	 * name their files */
	char guid_str[33];
	char pdb_path[260];		/* as recorded, e.g. "ntkrnlmp.pdb" */
	char pdb_name[128];		/* its last path component */
	/* both as guest text (guest_text()), for messages */
	char path_shown[300], name_shown[160];
};

/*
 * Parses the DOS, COFF and optional headers at offset 0. 0 with *out, or
 * -EINVAL (not a PE image, or an inconsistent header: why says which
 * value), or the read callback's error.
 */
int pe_parse(pe_read_fn read, void *ctx, struct pe_image *out,
	     struct strbuf *why);

/* True for a 64-bit x86 executable image (what a Windows x64 kernel is). */
bool pe_is_amd64_image(const struct pe_image *img);

/*
 * Finds the CodeView RSDS record through the debug directory. 0 with
 * *out; -ENOENT when the image has no debug directory or no CodeView
 * entry; -ENOTSUP for a CodeView record of another kind (NB10); -EINVAL
 * for an inconsistent one; or the read callback's error. why says which.
 */
int pe_codeview(pe_read_fn read, void *ctx, const struct pe_image *img,
		struct pe_codeview *out, struct strbuf *why);

/* Formats a stored GUID as 32 uppercase hex digits (out: 33 bytes). */
void pe_guid_format(const uint8_t guid[16], char out[33]);

/*
 * True when name can be used as one file name component: not empty, not
 * "." or "..", no '/', '\\' or control character.
 */
bool pe_safe_file_name(const char *name);

#endif
