/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Parsers of memory dump files into one neutral description: which file
 * bytes hold which guest-physical range, and each vCPU's registers. The
 * parsers work on a byte buffer (the mapped file), trust nothing in it and
 * never read past its end.
 */
#ifndef XENSTUB_DUMP_H
#define XENSTUB_DUMP_H

#include <stddef.h>
#include <stdint.h>

#include "arch/x86/regs.h"

/* A run of guest-physical memory stored contiguously in the file. */
struct dump_range {
	uint64_t paddr;
	uint64_t size;
	uint64_t offset;	/* in the file */
};

struct dump_image {
	char format[64];	/* e.g. "QEMU ELF dump (x86_64)" */
	unsigned bits;		/* guest width: 64 or 32 */
	unsigned nr_vcpus;
	struct x86_regs *vcpus;	/* nr_vcpus entries */
	/* sorted by paddr, non-overlapping */
	struct dump_range *ranges;
	size_t nranges;
	/* notes for the user about derived or missing state, or NULL */
	char *remarks;
};

/*
 * Detects the format and parses. name is the file name for messages.
 * Returns 0, or a negative errno with *msg (malloc'd) saying what is wrong
 * with the file, e.g. "dump.elf: truncated: segment 3 ends at ... beyond
 * the file's 1234 bytes".
 */
int dump_parse(const uint8_t *data, size_t size, const char *name,
	       struct dump_image *out, char **msg);

/* The individual formats, for dump_parse and for tests. */
int dump_parse_qemu_elf(const uint8_t *data, size_t size, const char *name,
			struct dump_image *out, char **msg);
int dump_parse_xen_core(const uint8_t *data, size_t size, const char *name,
			struct dump_image *out, char **msg);
/* True when the ELF image carries Xen dump-core sections. */
int dump_is_xen_core(const uint8_t *data, size_t size);

void dump_image_free(struct dump_image *img);

/* The range holding paddr, or NULL. */
const struct dump_range *dump_find(const struct dump_image *img,
				   uint64_t paddr);
/* Sorts the ranges and checks they do not overlap and lie inside the
 * file: 0 or -EINVAL with *msg. For parsers. */
int dump_check_ranges(struct dump_image *img, size_t file_size,
		      const char *name, char **msg);

/*
 * Completes registers a format does not record but the guest's state
 * proves (EFER from the long-mode code segment and the NX bits of the page
 * tables in use), and records what was derived in img->remarks.
 */
void dump_derive_registers(struct dump_image *img, const uint8_t *data);

#endif
