/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Offsets of the Linux structures without a type file: found in the
 * kernel's own machine code (functions found through kallsyms) and in
 * VMCOREINFO, checked on the kernel's data (linux-infer.c); offsets from a
 * vmlinux's DWARF (linux-dwarf.c); and where each offset came from, for
 * "monitor offsets".
 */
#ifndef XENSTUB_LINUX_INFER_H
#define XENSTUB_LINUX_INFER_H

#include "os-awareness/linux-internal.h"

/* Records that the offset or symbol called name ("task_struct.comm",
 * "inactive_task_frame", "init_task"...) came from src (copied). */
void lx_origin_set(struct lx *lx, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Where name came from, or NULL when no source of its own was noted. */
const char *lx_origin(const struct lx *lx, const char *name);
void lx_origins_free(struct lx *lx);

/*
 * Fills lx->L from the kernel in memory: VMCOREINFO's OFFSET() entries
 * (vmcoreinfo: its text, may be NULL), then the code of kernel functions
 * found in lx->syms, each offset checked on init_task and its task list.
 * Data symbols the code names (init_task, init_mm, __per_cpu_offset,
 * current_task, runqueues) that lx->syms lacks are added to it. Needs
 * lx->kas and lx->syms. 0, or -ENOENT with why naming each offset not
 * found and what would help.
 */
int lx_infer_layout(struct lx *lx, const char *vmcoreinfo, struct strbuf *why);

/* A source of types: what linux-types.c asks of BTF, ISF or DWARF. */
struct type_src {
	const void *ctx;
	/* offset and size of a member by path ("thread.sp"): 0 or -ENOENT */
	int (*member)(const void *ctx, const char *type, const char *path,
		      struct os_field *f);
	/* a struct's or union's size: 0 or -ENOENT */
	int (*size)(const void *ctx, const char *type, uint64_t *size);
	/* member i of a struct: name and place; -ENOENT past the end */
	int (*member_at)(const void *ctx, const char *type, unsigned i,
			 const char **name, struct os_field *f);
};

/* Fills L from a type source (linux-types.c's table of fields). 0, or
 * -ENOENT with why naming the required members missing. */
int lx_layout_from_types(struct lx_layout *L, const struct type_src *src,
			 struct strbuf *why);

/*
 * Adds to lx->syms the data symbols the walk uses that it lacks, from
 * vmlinux's ELF symbol table moved by the KASLR slide (kallsyms' _text
 * against vmlinux's), after checking that the file's functions are where
 * kallsyms puts them, moved by that slide; then sets lx->image_seg (for
 * qOffsets). 0 (why may say what could not be checked), -ESRCH with why
 * when the file is another kernel, or -EINVAL with why.
 */
int lx_vmlinux_symbols(struct lx *lx, const char *path, struct strbuf *why);

/*
 * Fills L from the DWARF of a kernel's debug image (vmlinux) at path, with
 * elfutils' libdw. 0, -ENOENT (no such types) or -EINVAL with why.
 */
int lx_layout_from_dwarf(struct lx_layout *L, const char *path,
			 struct strbuf *why);

/* True when path is an ELF file (a vmlinux rather than an ISF profile). */
bool lx_is_elf(const char *path);

#endif
