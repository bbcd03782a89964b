/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the OS-walker fuzz harnesses (fuzz-os-*.c) share: a guest whose
 * memory is a buffer (a target of our own, no file), the input read as
 * patches over a well-formed synthetic guest, and the checks every walk
 * must pass whatever the guest holds. Included once by each harness.
 */
#ifndef XENSTUB_FUZZ_OS_GUEST_H
#define XENSTUB_FUZZ_OS_GUEST_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/paging.h"
#include "os-awareness/os.h"
#include "os-awareness/walk.h"
#include "stub/base/strbuf.h"
#include "stub/guest/target.h"
#include "stub/guest/vmem.h"

#define FG_FRAMES 256u			/* 1 MiB of guest memory */
#define FG_SIZE (FG_FRAMES * 4096u)
#define FG_VCPUS 2u

struct fg {
	struct target t;
	uint8_t *mem;			/* what the walk reads */
	uint8_t *base;			/* the well-formed guest */
	struct x86_regs regs[FG_VCPUS];
	struct vmem *vm;
};

static int fg_map(struct target *t, uint64_t gfn, unsigned count, bool write,
		  void **ptrs, void **handle)
{
	struct fg *g = (struct fg *)t;
	unsigned i;

	if (write)
		return -EROFS;
	for (i = 0; i < count; i++)
		ptrs[i] = gfn + i < FG_FRAMES ? g->mem + (gfn + i) * 4096 : NULL;
	*handle = NULL;
	return 0;
}

static int fg_get_regs(struct target *t, unsigned vcpu, struct x86_regs *r)
{
	*r = ((struct fg *)t)->regs[vcpu];
	return 0;
}

static int fg_open(const char *spec, const struct target_params *p,
		   struct target **out, char **msg)
{
	(void)spec;
	(void)p;
	(void)out;
	(void)msg;
	return -EINVAL;
}

static void fg_close(struct target *t)
{
	(void)t;
}

static const struct target_ops fg_ops = {
	.name = "fuzz",
	.help = "fuzz: guest memory in a buffer",
	.open = fg_open,
	.close = fg_close,
	.map = fg_map,
	.get_regs = fg_get_regs,
};

/* The OS modules' vCPU register callback (ctx: the target). */
static int fg_env_regs(void *ctx, unsigned vcpu, struct x86_regs *r)
{
	return target_get_regs(ctx, vcpu, r);
}

static void fg_init(struct fg *g)
{
	target_init(&g->t, &fg_ops);
	g->t.nr_vcpus = FG_VCPUS;
	g->t.max_gfn = FG_FRAMES - 1;
	g->t.description = xstrdup("fuzz guest");
	g->mem = xcalloc(FG_FRAMES, 4096);
	g->base = xcalloc(FG_FRAMES, 4096);
}

static inline void fg_put64(uint8_t *m, uint64_t pa, uint64_t v)
{
	if (pa + 8 <= FG_SIZE)
		memcpy(m + pa, &v, 8);
}

static inline void fg_put32(uint8_t *m, uint64_t pa, uint32_t v)
{
	if (pa + 4 <= FG_SIZE)
		memcpy(m + pa, &v, 4);
}

/*
 * The input: cfg bytes (the harness's choices), then patches, each a
 * 3-byte little-endian physical address (within the guest), a length
 * byte (at most 64) and that many bytes written over the well-formed
 * guest. Returns the first byte after cfg, or NULL when size < ncfg.
 */
static const uint8_t *fg_load(struct fg *g, const uint8_t *data, size_t size,
			      size_t ncfg)
{
	const uint8_t *p = data + ncfg, *end = data + size;

	if (size < ncfg)
		return NULL;
	memcpy(g->mem, g->base, FG_SIZE);
	while (end - p >= 4) {
		uint32_t pa = (uint32_t)(p[0] | p[1] << 8 | p[2] << 16) % FG_SIZE;
		size_t n = p[3] & 63;

		p += 4;
		if (n > (size_t)(end - p))
			n = (size_t)(end - p);
		if (n > FG_SIZE - pa)
			n = FG_SIZE - pa;
		memcpy(g->mem + pa, p, n);
		p += n;
	}
	return data + ncfg;
}

static void fg_fail(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz-os: broken invariant: %s%s%s\n", what,
		detail ? ": " : "", detail ? detail : "");
	abort();
}

/* Text for people: printable ASCII, lines ended by '\n'. */
static void fg_check_text(const char *what, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	for (; *p; p++)
		if ((*p < 0x20 && *p != '\n') || *p > 0x7e)
			fg_fail(what, s);
}

/* Every task: an id that is unique, above the vCPUs', never 0 or -1 and
 * below 2^31; names and notes that are display text. */
static void fg_check_tasks(const struct os *os)
{
	struct addrmap seen = ADDRMAP_INIT;
	size_t i;

	for (i = 0; i < os->ntasks; i++) {
		const struct os_task *t = &os->tasks[i];

		if (t->tid <= FG_VCPUS || t->tid >= (1ull << 31))
			fg_fail("a thread id that is 0, -1, a vCPU's or beyond 2^31",
				t->name);
		if (addrmap_get(&seen, t->tid))
			fg_fail("a thread id given twice", t->name);
		addrmap_put(&seen, t->tid, 1);
		fg_check_text("a task name", t->name);
		fg_check_text("a process name", t->proc_name);
		fg_check_text("a state", t->state);
		if (t->note)
			fg_check_text("a note", t->note);
		if ((t->tid > OS_TID_FALLBACK) != (t->note != NULL))
			fg_fail("a fallback id without a note, or a note without one",
				t->name);
	}
	addrmap_free(&seen);
}

static void fg_row(void *ctx, int64_t pid, const char *user,
		   const char *command, const char *cores)
{
	(void)ctx;
	(void)pid;
	fg_check_text("a process row's user", user);
	fg_check_text("a process row's command", command);
	fg_check_text("a process row's cores", cores);
}

/* Every op the session and the monitor use, on every task; then the
 * monitor commands given (NULL-terminated). */
static void fg_exercise(struct os *os, const char *const *cmds)
{
	struct strbuf out = STRBUF_INIT;
	size_t i;

	fg_check_tasks(os);
	for (i = 0; i < os->ntasks; i++) {
		struct strbuf why = STRBUF_INIT;
		struct x86_regs r;
		struct aspace as;
		int rc;

		memset(&r, 0, sizeof(r));
		os->ops->task_regs(os, &os->tasks[i], &r);
		rc = os->ops->task_aspace(os, &os->tasks[i], &as, &why);
		if (rc == 0 && !as.phys && x86_cr3_root(as.mode, as.cr3) >= FG_SIZE)
			fg_fail("an address space whose root frame does not exist", NULL);
		if (rc < 0 && !why.len)
			fg_fail("an address space refused without a reason", NULL);
		fg_check_text("why an address space is refused", why.buf);
		strbuf_release(&why);
	}
	if (os->ops->processes)
		os->ops->processes(os, fg_row, NULL);
	os->ops->ps(os, &out);
	fg_check_text("monitor ps", out.buf);
	strbuf_reset(&out);
	os->ops->describe(os, &out);
	fg_check_text("monitor os", out.buf);
	for (i = 0; cmds && cmds[i]; i++) {
		strbuf_reset(&out);
		os->ops->command(os, cmds[i], "", &out);
		fg_check_text(cmds[i], out.buf);
	}
	strbuf_release(&out);
}

#endif
