// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer harness for the dump parsers: any bytes go to dump_parse(),
 * which must either reject them with a message naming the file or give
 * an image whose every range lies inside the input, sorted and disjoint.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stub/guest/dump.h"
#include "stub/base/log.h"

#define NAME "fuzz.elf"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_level(LOG_ERROR);
	return 0;
}

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz-dump: broken invariant: %s\n", what);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dump_image img;
	char *msg = NULL;
	volatile uint8_t sink = 0;
	size_t i;
	int rc;

	rc = dump_parse(data, size, NAME, &img, &msg);
	if (rc < 0) {
		check(rc == -EINVAL || rc == -EOPNOTSUPP, "an unexpected error code");
		check(msg && !strncmp(msg, NAME ": ", strlen(NAME) + 2),
		      "a message that does not name the file");
		check(!img.vcpus && !img.ranges, "an image left behind on failure");
		free(msg);
		return 0;
	}
	check(rc == 0 && !msg, "success with a message");
	check(img.nr_vcpus >= 1 && img.vcpus, "no vCPU");
	check(img.bits == 32 || img.bits == 64, "a guest width");
	for (i = 0; i < img.nranges; i++) {
		const struct dump_range *r = &img.ranges[i];

		check(r->offset <= size && r->size <= size - r->offset,
		      "a range outside the file");
		check(r->paddr + r->size >= r->paddr, "a range that wraps");
		check(!i || img.ranges[i - 1].paddr + img.ranges[i - 1].size <=
		      r->paddr, "ranges unsorted or overlapping");
		if (r->size) {
			check(dump_find(&img, r->paddr) == r, "dump_find");
			check(dump_find(&img, r->paddr + r->size - 1) == r, "dump_find");
			/* the bytes must be readable (AddressSanitizer) */
			sink ^= data[r->offset];
			sink ^= data[r->offset + r->size - 1];
		}
	}
	(void)sink;
	dump_image_free(&img);
	return 0;
}
