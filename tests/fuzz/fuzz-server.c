// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer harness for the protocol front end: the bytes after the first
 * go to server_input() on a fresh session over a raw image (fed in pieces
 * whose size the first byte chooses), with paging off, 2-level, PAE,
 * 4-level or 5-level page tables in the image.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arch/x86/paging.h"
#include "stub/base/log.h"
#include "stub/gdb/server.h"
#include "stub/session/session.h"
#include "stub/base/strbuf.h"
#include "stub/guest/target.h"

#define IMAGE_SIZE (64 * 4096)

/* libFuzzer calls in with no context: the harness's state is here. */
static struct {
	char *image;
	char *spec;
	int devnull;
} fz;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void cleanup(void)
{
	if (fz.image)
		unlink(fz.image);
}

static void put64(uint8_t *img, uint64_t pa, uint64_t v)
{
	memcpy(img + pa, &v, 8);
}

static void put32(uint8_t *img, uint64_t pa, uint32_t v)
{
	memcpy(img + pa, &v, 4);
}

/*
 * Page tables for every mode, each mapping virtual 0..4 MiB onto the
 * image's first frames plus a few pages elsewhere:
 * 4-level at CR3 0x1000 (frames 1-4), 5-level at 0x5000 (frame 5 on top
 * of the 4-level tables), PAE at 0x6000 (frames 6-8), 2-level at 0x9000
 * (frames 9-10). The other frames hold a byte pattern.
 */
static void build_image(uint8_t *img)
{
	const uint64_t prw = 7;
	unsigned i;

	for (i = 0; i < IMAGE_SIZE; i++)
		img[i] = (uint8_t)(i * 7 + 3);
	memset(img + 0x1000, 0, 10 * 4096);
	put64(img, 0x1000, 0x2000 | prw);		/* PML4E 0 */
	put64(img, 0x1000 + 511 * 8, 0x2000 | prw);	/* the top 512 GiB */
	put64(img, 0x2000, 0x3000 | prw);		/* PDPTE 0 */
	put64(img, 0x2000 + 8, 0x40000000ull | 0x80 | prw); /* 1 GiB page */
	put64(img, 0x3000, 0x4000 | prw);		/* PDE 0 */
	put64(img, 0x3000 + 8, 0x00000000ull | 0x80 | prw); /* 2 MiB page */
	for (i = 0; i < 64; i++)
		put64(img, 0x4000 + i * 8, (uint64_t)((i * 5) % 64) << 12 | prw |
		      (i % 3 ? 0 : 1ull << 63));
	put64(img, 0x5000, 0x1000 | prw);		/* PML5E 0 */
	put64(img, 0x6000, 0x7000 | 1);			/* PDPTE 0 */
	put64(img, 0x7000, 0x8000 | prw);		/* PDE 0 */
	put64(img, 0x7000 + 8, 0x200000 | 0x80 | prw);	/* 2 MiB page */
	for (i = 0; i < 64; i++)
		put64(img, 0x8000 + i * 8, (uint64_t)((i * 3) % 64) << 12 | prw);
	put32(img, 0x9000, 0xa000 | prw);		/* PDE 0 */
	put32(img, 0x9000 + 4, 0x00400000 | 0x80 | prw); /* 4 MiB page */
	for (i = 0; i < 64; i++)
		put32(img, 0xa000 + i * 4, (uint32_t)(((i * 11) % 64) << 12 | prw));
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("TMPDIR");
	uint8_t *img = calloc(1, IMAGE_SIZE);
	int fd;

	(void)argc;
	(void)argv;
	log_set_level(LOG_ERROR);
	fz.image = xstrfmt("%s/xenstub-fuzz-XXXXXX", dir && *dir ? dir : "/tmp");
	fd = mkstemp(fz.image);
	if (fd < 0 || !img) {
		perror("fuzz-server: temporary image");
		exit(1);
	}
	build_image(img);
	if (write(fd, img, IMAGE_SIZE) != IMAGE_SIZE) {
		perror("fuzz-server: writing the image");
		exit(1);
	}
	close(fd);
	free(img);
	atexit(cleanup);
	fz.spec = xstrfmt("raw:%s", fz.image);
	fz.devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (fz.devnull < 0) {
		perror("fuzz-server: /dev/null");
		exit(1);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct {
		int mode;
		uint64_t cr3;
		unsigned bits;
	} modes[8] = {
		{ X86_PAGING_NONE, 0, 64 }, { X86_PAGING_4LEVEL, 0x1000, 64 },
		{ X86_PAGING_5LEVEL, 0x5000, 64 }, { X86_PAGING_PAE, 0x6000, 32 },
		{ X86_PAGING_32, 0x9000, 32 }, { X86_PAGING_NONE, 0, 32 },
		{ X86_PAGING_4LEVEL, 0x1000, 64 }, { X86_PAGING_PAE, 0x6000, 32 },
	};
	struct target_params p = { .paging = -1 };
	struct session_opts o = { .os = "none" };
	struct target *t = NULL;
	struct session *s = NULL;
	struct server sv;
	char *msg = NULL;
	size_t chunk, off = 0;
	unsigned m;

	if (size < 1)
		return 0;
	m = data[0] & 7;
	chunk = (size_t)(data[0] >> 3) * 7 + 1;
	p.paging = modes[m].mode;
	p.have_cr3 = modes[m].mode != X86_PAGING_NONE;
	p.cr3 = modes[m].cr3;
	p.raw_bits = modes[m].bits;
	if (target_open(fz.spec, &p, &t, &msg)) {
		fprintf(stderr, "fuzz-server: %s\n", msg);
		abort();
	}
	if (session_open(t, &o, &s, &msg)) {
		fprintf(stderr, "fuzz-server: %s\n", msg);
		abort();
	}
	server_init(&sv, s, fz.devnull);
	data++;
	size--;
	while (off < size && sv.end == SERVER_CONTINUE) {
		size_t n = size - off < chunk ? size - off : chunk;

		if (server_input(&sv, data + off, n) < 0)
			break;
		off += n;
	}
	server_release(&sv);
	session_close(s);
	return 0;
}
