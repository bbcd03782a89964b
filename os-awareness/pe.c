// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * PE/COFF header and debug-directory parsing over a read callback, after
 * Microsoft's PE format specification: DOS header, "PE\0\0", COFF and
 * optional headers, IMAGE_DEBUG_DIRECTORY, the CodeView RSDS record.
 */
#include "os-awareness/pe.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

/* DOS header */
#define DOS_LFANEW 0x3c
/* COFF header, after the 4-byte signature */
#define COFF_SIZE 20
#define COFF_MACHINE 0
#define COFF_NSECTIONS 2
#define COFF_TIMESTAMP 4
#define COFF_OPT_SIZE 16
#define COFF_CHARACTERISTICS 18
#define IMAGE_FILE_EXECUTABLE_IMAGE 0x0002
/* optional header */
#define OPT_MAGIC_PE32 0x10b
#define OPT_MAGIC_PE32PLUS 0x20b
#define OPT_SIZE_OF_IMAGE 56
#define OPT_SIZE_OF_HEADERS 60
#define OPT32_IMAGE_BASE 28
#define OPT32_NDIRS 92
#define OPT32_DIRS 96
#define OPT64_IMAGE_BASE 24
#define OPT64_NDIRS 108
#define OPT64_DIRS 112
#define DIR_DEBUG 6
/* IMAGE_DEBUG_DIRECTORY */
#define DBG_ENTRY_SIZE 28
#define DBG_TYPE 12
#define DBG_SIZE_OF_DATA 16
#define DBG_ADDRESS_OF_RAW_DATA 20
#define IMAGE_DEBUG_TYPE_CODEVIEW 2
/* CodeView RSDS: signature, GUID, age, then the NUL-terminated path */
#define RSDS_HEADER 24

static uint32_t le16(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t le32(const uint8_t *p)
{
	return le16(p) | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static int rd(pe_read_fn read, void *ctx, uint64_t off, void *buf, size_t len,
	      const char *what, struct strbuf *why)
{
	int rc = read(ctx, off, buf, len);

	if (rc < 0) {
		strbuf_addf(why, "the %s at offset 0x%llx cannot be read: %s",
			    what, (unsigned long long)off, strerror(-rc));
		return rc;
	}
	return 0;
}

int pe_parse(pe_read_fn read, void *ctx, struct pe_image *out,
	     struct strbuf *why)
{
	uint8_t dos[64], hdr[4 + COFF_SIZE], opt[OPT64_DIRS + 16 * 8];
	uint32_t lfanew, optsize, magic, ndirs, dirs_at, need;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = rd(read, ctx, 0, dos, sizeof(dos), "DOS header", why);
	if (rc)
		return rc;
	if (dos[0] != 'M' || dos[1] != 'Z') {
		strbuf_addstr(why, "no MZ signature");
		return -EINVAL;
	}
	lfanew = le32(dos + DOS_LFANEW);
	if (lfanew > PE_MAX_LFANEW) {
		strbuf_addf(why, "the PE header offset (e_lfanew 0x%x) is beyond 0x%x",
			    lfanew, PE_MAX_LFANEW);
		return -EINVAL;
	}
	rc = rd(read, ctx, lfanew, hdr, sizeof(hdr), "PE header", why);
	if (rc)
		return rc;
	if (memcmp(hdr, "PE\0\0", 4)) {
		strbuf_addf(why, "no PE signature at e_lfanew 0x%x", lfanew);
		return -EINVAL;
	}
	out->machine = (uint16_t)le16(hdr + 4 + COFF_MACHINE);
	out->nsections = (uint16_t)le16(hdr + 4 + COFF_NSECTIONS);
	out->timestamp = le32(hdr + 4 + COFF_TIMESTAMP);
	out->characteristics = (uint16_t)le16(hdr + 4 + COFF_CHARACTERISTICS);
	optsize = le16(hdr + 4 + COFF_OPT_SIZE);
	if (optsize < OPT_SIZE_OF_HEADERS + 4) {
		strbuf_addf(why, "an optional header of %u bytes is too short for an image",
			    optsize);
		return -EINVAL;
	}
	if (optsize > sizeof(opt))
		optsize = sizeof(opt); /* what follows the directories is unused */
	rc = rd(read, ctx, (uint64_t)lfanew + sizeof(hdr), opt, optsize,
		"optional header", why);
	if (rc)
		return rc;
	magic = le16(opt);
	if (magic == OPT_MAGIC_PE32PLUS) {
		out->pe32plus = true;
		if (optsize < OPT64_DIRS) {
			strbuf_addf(why, "a PE32+ optional header of %u bytes is too short",
				    optsize);
			return -EINVAL;
		}
		out->image_base = le64(opt + OPT64_IMAGE_BASE);
		ndirs = le32(opt + OPT64_NDIRS);
		dirs_at = OPT64_DIRS;
	} else if (magic == OPT_MAGIC_PE32) {
		if (optsize < OPT32_DIRS) {
			strbuf_addf(why, "a PE32 optional header of %u bytes is too short",
				    optsize);
			return -EINVAL;
		}
		out->image_base = le32(opt + OPT32_IMAGE_BASE);
		ndirs = le32(opt + OPT32_NDIRS);
		dirs_at = OPT32_DIRS;
	} else {
		strbuf_addf(why, "unknown optional header magic 0x%x", magic);
		return -EINVAL;
	}
	out->size_of_image = le32(opt + OPT_SIZE_OF_IMAGE);
	out->size_of_headers = le32(opt + OPT_SIZE_OF_HEADERS);
	if (!out->size_of_image || out->size_of_image > PE_MAX_IMAGE) {
		strbuf_addf(why, "SizeOfImage 0x%x is not between 1 and 0x%x",
			    out->size_of_image, PE_MAX_IMAGE);
		return -EINVAL;
	}
	if (out->size_of_headers > out->size_of_image) {
		strbuf_addf(why, "SizeOfHeaders 0x%x exceeds SizeOfImage 0x%x",
			    out->size_of_headers, out->size_of_image);
		return -EINVAL;
	}
	/* the debug directory, when the header has room for it */
	need = dirs_at + (DIR_DEBUG + 1) * 8;
	if (ndirs > DIR_DEBUG && optsize >= need) {
		uint32_t rva = le32(opt + dirs_at + DIR_DEBUG * 8);
		uint32_t size = le32(opt + dirs_at + DIR_DEBUG * 8 + 4);

		if (rva && size) {
			if (rva >= out->size_of_image ||
			    size > out->size_of_image - rva) {
				strbuf_addf(why, "the debug directory (RVA 0x%x, 0x%x bytes) lies outside the image's 0x%x bytes",
					    rva, size, out->size_of_image);
				return -EINVAL;
			}
			out->debug_rva = rva;
			out->debug_size = size;
		}
	}
	return 0;
}

bool pe_is_amd64_image(const struct pe_image *img)
{
	return img->machine == PE_MACHINE_AMD64 && img->pe32plus &&
	       (img->characteristics & IMAGE_FILE_EXECUTABLE_IMAGE);
}

void pe_guid_format(const uint8_t guid[16], char out[33])
{
	unsigned i;

	snprintf(out, 33, "%08X%04X%04X", le32(guid), le16(guid + 4),
		 le16(guid + 6));
	for (i = 0; i < 8; i++)
		snprintf(out + 16 + 2 * i, 3, "%02X", guid[8 + i]);
}

bool pe_safe_file_name(const char *name)
{
	const unsigned char *p = (const unsigned char *)name;

	if (!*p || !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	for (; *p; p++)
		if (*p < 0x20 || *p == 0x7f || *p == '/' || *p == '\\')
			return false;
	return true;
}

static int read_rsds(pe_read_fn read, void *ctx, const struct pe_image *img,
		     uint32_t rva, uint32_t size, struct pe_codeview *out,
		     struct strbuf *why)
{
	uint8_t rec[PE_MAX_CODEVIEW];
	const char *path, *base, *p;
	size_t n;
	int rc;

	if (!rva || rva >= img->size_of_image ||
	    size > img->size_of_image - rva) {
		strbuf_addf(why, "the CodeView record (RVA 0x%x, 0x%x bytes) lies outside the image's 0x%x bytes",
			    rva, size, img->size_of_image);
		return -EINVAL;
	}
	if (size < 4) {
		strbuf_addf(why, "a CodeView record of %u bytes is too short", size);
		return -EINVAL;
	}
	if (size > sizeof(rec))
		size = sizeof(rec); /* a longer path is refused below */
	rc = rd(read, ctx, rva, rec, size, "CodeView record", why);
	if (rc)
		return rc;
	if (memcmp(rec, "RSDS", 4)) {
		strbuf_addf(why, "the CodeView record is '%.4s', not RSDS (only PDB 7.0 records are supported)",
			    isprint(rec[0]) && isprint(rec[1]) && isprint(rec[2]) &&
			    isprint(rec[3]) ? (const char *)rec : "????");
		return -ENOTSUP;
	}
	if (size < RSDS_HEADER + 2) {
		strbuf_addf(why, "an RSDS record of %u bytes has no room for a PDB name",
			    size);
		return -EINVAL;
	}
	memcpy(out->guid, rec + 4, 16);
	out->age = le32(rec + 20);
	pe_guid_format(out->guid, out->guid_str);
	path = (const char *)rec + RSDS_HEADER;
	n = strnlen(path, size - RSDS_HEADER);
	if (n == size - RSDS_HEADER) {
		strbuf_addstr(why, "the RSDS record's PDB name is not NUL-terminated within the record");
		return -EINVAL;
	}
	if (!n || n >= sizeof(out->pdb_path)) {
		strbuf_addf(why, "the RSDS record's PDB name is %zu bytes long", n);
		return -EINVAL;
	}
	for (p = path; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			strbuf_addstr(why, "the RSDS record's PDB name holds control characters");
			return -EINVAL;
		}
	memcpy(out->pdb_path, path, n + 1);
	guest_text(out->path_shown, sizeof(out->path_shown), path, n, false,
		   false);
	base = path;
	for (p = path; *p; p++)
		if (*p == '\\' || *p == '/')
			base = p + 1;
	if (strlen(base) >= sizeof(out->pdb_name) || !pe_safe_file_name(base)) {
		strbuf_addf(why, "the RSDS record's PDB name '%s' is not a usable file name",
			    out->path_shown);
		return -EINVAL;
	}
	snprintf(out->pdb_name, sizeof(out->pdb_name), "%s", base);
	guest_text(out->name_shown, sizeof(out->name_shown), base, strlen(base),
		   false, false);
	return 0;
}

int pe_codeview(pe_read_fn read, void *ctx, const struct pe_image *img,
		struct pe_codeview *out, struct strbuf *why)
{
	uint32_t n, i;
	int rc = -ENOENT;

	memset(out, 0, sizeof(*out));
	if (!img->debug_rva || !img->debug_size) {
		strbuf_addstr(why, "the image has no debug directory");
		return -ENOENT;
	}
	n = img->debug_size / DBG_ENTRY_SIZE;
	if (!n) {
		strbuf_addf(why, "a debug directory of %u bytes holds no entry",
			    img->debug_size);
		return -EINVAL;
	}
	if (n > PE_MAX_DEBUG_ENTRIES)
		n = PE_MAX_DEBUG_ENTRIES;
	for (i = 0; i < n; i++) {
		uint8_t e[DBG_ENTRY_SIZE];

		rc = rd(read, ctx, (uint64_t)img->debug_rva + i * DBG_ENTRY_SIZE,
			e, sizeof(e), "debug directory entry", why);
		if (rc)
			return rc;
		if (le32(e + DBG_TYPE) != IMAGE_DEBUG_TYPE_CODEVIEW)
			continue;
		return read_rsds(read, ctx, img, le32(e + DBG_ADDRESS_OF_RAW_DATA),
				 le32(e + DBG_SIZE_OF_DATA), out, why);
	}
	strbuf_addf(why, "none of the %u debug directory entries is a CodeView record",
		    n);
	return -ENOENT;
}
