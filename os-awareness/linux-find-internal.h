/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The state of one detection of a Linux kernel, shared by linux-find.c
 * (the kernel's page tables and image, VMCOREINFO, the kernel's data, the
 * order of the steps) and linux-sources.c (its symbols and types). For
 * these two files only.
 */
#ifndef XENSTUB_LINUX_FIND_INTERNAL_H
#define XENSTUB_LINUX_FIND_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "arch/x86/regs.h"
#include "os-awareness/linux-internal.h"
#include "stub/base/strbuf.h"

#define KMAP_64 0xffffffff80000000ull	/* __START_KERNEL_map */
#define KLINK_64 0xffffffff81000000ull	/* default link address of _text */
#define KMAP_32 0xc0000000ull
#define KLINK_32 0xc1000000ull
#define ALIGN_2M (2ull << 20)
#define IMAGE_SPAN (1ull << 30)		/* KERNEL_IMAGE_SIZE with KASLR */
#define MAX_PTRS 16

struct finder {
	struct lx *lx;
	const struct os_env *env;
	struct x86_regs *vregs;
	bool *vok;
	struct strbuf vmci;		/* VMCOREINFO text, or empty */
	uint64_t vmci_pa;
	uint64_t ptrs[MAX_PTRS];	/* addresses in kernel code */
	unsigned nptrs;
	uint64_t img_lo, img_hi;	/* mapped kernel image */
	uint64_t kimg;			/* lowest address of the image map */
	struct strbuf *why;
	const char *profile;		/* the ISF profile's path, or NULL */
	const char *vmlinux;		/* a vmlinux given as the profile */
	bool user_symbols;		/* symbols from a file the user gave */
};


/* Appends a reason to f->why, after "; " when it holds one already. */
void lxf_why_add(struct finder *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* VMCOREINFO's "KEY=value" into val (vlen bytes): true when found. */
bool lxf_vmci_get(const struct strbuf *t, const char *key, char *val,
		  size_t vlen);
/* A hexadecimal value of VMCOREINFO: true with *v when found. */
bool lxf_vmci_hex(const struct strbuf *t, const char *key, uint64_t *v);
/* SYMBOL(name)'s address: true with *v when found. */
bool lxf_vmci_sym(const struct strbuf *t, const char *name, uint64_t *v);
/* Is va mapped in as? */
bool lxf_mapped(struct finder *f, const struct aspace *as, uint64_t va);

/* linux-sources.c: */
/* Loads the ISF profile at path into lx->isf (a Linux one, or an error):
 * 0 or -errno with the reason in f->why. */
int lxf_load_profile(struct finder *f, const char *path);
/* In dir or dir/linux, the .json[.xz] profile whose name holds the
 * kernel's release (malloc'd), or NULL with the reason in f->why. */
char *lxf_profile_in_dir(struct finder *f, const char *dir);
/* Fills lx->syms (System.map, the ISF profile, kallsyms) and applies the
 * KASLR slide: 0, -ENOENT when no source had symbols, or -errno; the
 * reason in f->why. */
int lxf_find_symbols(struct finder *f);
/* Fills lx->L (vmlinux, ISF profile, BTF in memory, or inference): 0,
 * -ENOENT, or -errno with the reason in f->why. */
int lxf_find_types(struct finder *f);

#endif
