// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Dump targets: "core:PATH" (a QEMU dump-guest-memory ELF file or a Xen
 * dump-core file) and "raw:PATH" (a flat guest-physical image whose one
 * vCPU is described on the command line). Read-only, never running: the
 * file is mapped while its headers are parsed, and frames are then read
 * from it into buffers.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arch/x86/paging.h"
#include "stub/guest/dump.h"
#include "stub/base/log.h"
#include "stub/base/strbuf.h"
#include "stub/guest/target.h"

struct core_target {
	struct target base;
	int fd;
	/* the file, mapped while it is parsed only: frames are read with
	 * pread, so that a file cut short while served is an error, not a
	 * SIGBUS */
	const uint8_t *data;
	size_t size;
	bool said_short;
	struct dump_image img;
};

static struct core_target *to_core(struct target *t)
{
	return (struct core_target *)t;
}

static int map_file(const char *path, int *fdp, const uint8_t **data, size_t *size,
		    char **msg)
{
	struct stat st;
	void *p;
	/* O_NONBLOCK: opening a FIFO must not wait for a writer */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);

	if (fd < 0) {
		int e = errno;

		*msg = xstrfmt("%s: cannot open: %s", path, strerror(e));
		return -e;
	}
	if (fstat(fd, &st) < 0) {
		int e = errno;

		*msg = xstrfmt("%s: cannot stat: %s", path, strerror(e));
		close(fd);
		return -e;
	}
	if (!S_ISREG(st.st_mode)) {
		*msg = xstrfmt("%s: not a regular file", path);
		close(fd);
		return -EINVAL;
	}
	if (st.st_size == 0) {
		*msg = xstrfmt("%s: the file is empty", path);
		close(fd);
		return -EINVAL;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED) {
		int e = errno;

		*msg = xstrfmt("%s: cannot map: %s", path, strerror(e));
		close(fd);
		return -e;
	}
	madvise(p, (size_t)st.st_size, MADV_RANDOM);
	*fdp = fd;
	*data = p;
	*size = (size_t)st.st_size;
	return 0;
}

/* Parsing is over: frames come from pread from now on. */
static void unmap_file(struct core_target *c)
{
	if (c->data)
		munmap((void *)c->data, c->size);
	c->data = NULL;
}

static void core_close(struct target *t)
{
	struct core_target *c = to_core(t);

	unmap_file(c);
	if (c->fd >= 0)
		close(c->fd);
	dump_image_free(&c->img);
	free(t->description);
	free(t->last_error);
	free(c);
}

/*
 * Frames are copied out of the file, runs of frames that lie one after
 * the other in it with one pread. A frame the file no longer holds (it
 * was cut short since it was opened) is absent: reading it is an error,
 * said once.
 */
static int core_map(struct target *t, uint64_t gfn, unsigned count, bool write,
		    void **ptrs, void **handle)
{
	struct core_target *c = to_core(t);
	uint8_t *buf;
	unsigned i = 0;

	if (write)
		return -EROFS;
	buf = xmalloc(st_mult(count, GUEST_PAGE_SIZE));
	*handle = buf;
	while (i < count) {
		uint64_t pa = (gfn + i) << GUEST_PAGE_SHIFT, off;
		const struct dump_range *r = dump_find(&c->img, pa);
		unsigned n = 1, k;
		ssize_t got;
		size_t want;

		if (!r || pa - r->paddr + GUEST_PAGE_SIZE > r->size) {
			ptrs[i++] = NULL;
			continue;
		}
		off = r->offset + (pa - r->paddr);
		while (i + n < count &&
		       pa - r->paddr + (uint64_t)(n + 1) * GUEST_PAGE_SIZE <= r->size)
			n++;
		want = (size_t)n * GUEST_PAGE_SIZE;
		do
			got = pread(c->fd, buf + (size_t)i * GUEST_PAGE_SIZE, want, (off_t)off);
		while (got < 0 && errno == EINTR);
		for (k = 0; k < n; k++) {
			bool whole = got >= 0 && (size_t)got >= (size_t)(k + 1) * GUEST_PAGE_SIZE;

			ptrs[i + k] = whole ? buf + (size_t)(i + k) * GUEST_PAGE_SIZE : NULL;
		}
		if ((got < 0 || (size_t)got < want) && !c->said_short) {
			struct stat st;

			c->said_short = true;
			if (got < 0)
				log_warn(LC_TARGET, "%s: reading guest memory from the file failed: %s",
					 t->description, strerror(errno));
			else if (fstat(c->fd, &st) == 0)
				log_warn(LC_TARGET, "the dump file has shrunk to %lld bytes since it was opened "
					 "(%zu): guest memory stored past its new end cannot be read",
					 (long long)st.st_size, c->size);
		}
		i += n;
	}
	return 0;
}

static void core_unmap(struct target *t, void *handle, unsigned count)
{
	(void)t;
	(void)count;
	free(handle);
}

static int core_get_regs(struct target *t, unsigned vcpu, struct x86_regs *r)
{
	struct core_target *c = to_core(t);

	*r = c->img.vcpus[vcpu];
	return 0;
}

static void finish_open(struct core_target *c, const char *path)
{
	struct target *t = &c->base;
	uint64_t top = 0;
	size_t i;

	t->nr_vcpus = c->img.nr_vcpus;
	t->guest_bits = c->img.bits;
	for (i = 0; i < c->img.nranges; i++) {
		uint64_t end = c->img.ranges[i].paddr + c->img.ranges[i].size;

		if (end > top)
			top = end;
	}
	t->max_gfn = top ? (top - 1) >> GUEST_PAGE_SHIFT : 0;
	t->caps = 0;
	/* frames are copied: batches stay small */
	t->map_batch = 8;
	t->description = xstrfmt("%s %s: %u vCPU%s, %zu memory range%s, %llu MiB",
				 c->img.format, path, t->nr_vcpus,
				 t->nr_vcpus == 1 ? "" : "s", c->img.nranges,
				 c->img.nranges == 1 ? "" : "s",
				 (unsigned long long)(top >> 20));
	if (c->img.remarks)
		log_info(LC_TARGET, "%s", c->img.remarks);
}


static int core_open(const char *spec, const struct target_params *p,
		     struct target **out, char **msg)
{
	struct core_target *c = xcalloc(1, sizeof(*c));
	int rc;

	(void)p;
	c->fd = -1;
	target_init(&c->base, &target_core);
	rc = map_file(spec, &c->fd, &c->data, &c->size, msg);
	if (rc)
		goto fail;
	rc = dump_parse(c->data, c->size, spec, &c->img, msg);
	if (rc)
		goto fail;
	unmap_file(c);
	finish_open(c, spec);
	*out = &c->base;
	return 0;
fail:
	core_close(&c->base);
	return rc;
}

static int raw_open(const char *spec, const struct target_params *p,
		    struct target **out, char **msg)
{
	struct core_target *c = xcalloc(1, sizeof(*c));
	struct x86_regs *r;
	int mode = p->paging;
	int rc;

	c->fd = -1;
	target_init(&c->base, &target_raw);
	rc = map_file(spec, &c->fd, &c->data, &c->size, msg);
	if (rc)
		goto fail;
	if (c->size & (GUEST_PAGE_SIZE - 1))
		log_warn(LC_TARGET, "%s: size %zu is not a multiple of 4096: the last partial page is ignored",
			 spec, c->size);
	if (c->size < GUEST_PAGE_SIZE) {
		*msg = xstrfmt("%s: too small for a guest-physical image (%zu bytes)",
			       spec, c->size);
		rc = -EINVAL;
		goto fail;
	}
	if (mode < 0)
		mode = p->have_cr3 ? X86_PAGING_4LEVEL : X86_PAGING_NONE;
	if (mode != X86_PAGING_NONE && !p->have_cr3) {
		*msg = xstrfmt("%s: --paging needs --cr3: the raw image does not say where its page tables are",
			       spec);
		rc = -EINVAL;
		goto fail;
	}
	c->img.ranges = xcalloc(1, sizeof(*c->img.ranges));
	c->img.nranges = 1;
	c->img.ranges[0].size = c->size & ~(GUEST_PAGE_SIZE - 1);
	c->img.nr_vcpus = 1;
	c->img.vcpus = xcalloc(1, sizeof(*c->img.vcpus));
	c->img.bits = p->raw_bits ? p->raw_bits :
		(mode == X86_PAGING_4LEVEL || mode == X86_PAGING_5LEVEL ||
		 mode == X86_PAGING_NONE) ? 64 : 32;
	snprintf(c->img.format, sizeof(c->img.format), "raw image (%s paging)",
		 x86_paging_mode_name(mode));
	r = &c->img.vcpus[0];
	/* the vCPU's paging state, as given; nothing else is known */
	r->cr0 = mode == X86_PAGING_NONE ? X86_CR0_PE : X86_CR0_PE | X86_CR0_PG;
	r->cr3 = p->have_cr3 ? p->cr3 : 0;
	switch (mode) {
	case X86_PAGING_32: r->cr4 = X86_CR4_PSE; break;
	case X86_PAGING_PAE: r->cr4 = X86_CR4_PAE | X86_CR4_PSE; break;
	case X86_PAGING_4LEVEL: r->cr4 = X86_CR4_PAE | X86_CR4_PSE; break;
	case X86_PAGING_5LEVEL:
		r->cr4 = X86_CR4_PAE | X86_CR4_PSE | X86_CR4_LA57;
		break;
	default: break;
	}
	if (mode == X86_PAGING_4LEVEL || mode == X86_PAGING_5LEVEL)
		r->efer = X86_EFER_LME | X86_EFER_LMA | X86_EFER_NXE;
	else if (mode == X86_PAGING_PAE)
		r->efer = X86_EFER_NXE;
	x86_set_valid(r, XF_CR0);
	x86_set_valid(r, XF_CR3);
	x86_set_valid(r, XF_CR4);
	x86_set_valid(r, XF_EFER);
	unmap_file(c);
	finish_open(c, spec);
	*out = &c->base;
	return 0;
fail:
	core_close(&c->base);
	return rc;
}

const struct target_ops target_core = {
	.name = "core",
	.help = "core:PATH   a QEMU dump-guest-memory ELF file or a Xen 'xl dump-core' file",
	.open = core_open,
	.close = core_close,
	.map = core_map,
	.unmap = core_unmap,
	.get_regs = core_get_regs,
};

const struct target_ops target_raw = {
	.name = "raw",
	.help = "raw:PATH    a flat guest-physical memory image (see --cr3, --paging)",
	.open = raw_open,
	.close = core_close,
	.map = core_map,
	.unmap = core_unmap,
	.get_regs = core_get_regs,
};
