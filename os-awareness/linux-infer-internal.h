/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The state of one inference of the Linux offsets without a type file,
 * shared by its steps: linux-infer.c (VMCOREINFO, the order, the result),
 * linux-infer-code.c (rules on kernel functions) and linux-infer-data.c
 * (checks on the kernel's data). For these three files only.
 */
#ifndef XENSTUB_LINUX_INFER_INTERNAL_H
#define XENSTUB_LINUX_INFER_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "os-awareness/linux-infer.h"

#define MAX_SAMPLE 128u		/* tasks of the list used for checks */

struct sample {
	uint64_t addr;
	uint8_t *buf;		/* the first win bytes of its task_struct */
};

/* One inference: what the steps found so far (the offsets go to *L). */
struct inf {
	struct lx *lx;
	struct lx_layout *L;
	const char *vmci;
	unsigned ptr;
	uint64_t lock;		/* task_struct.alloc_lock, or ~0 */
	uint64_t init_task, init_mm, pcpu_off, cur_task, runqueues, swapper;
	int64_t tgid_code;	/* the is_global_init operand, or -1 */
	uint64_t comm_cand[4];
	unsigned ncomm;
	struct sample s[MAX_SAMPLE];
	unsigned ns;
	size_t win;
	struct strbuf missing;
};

/* Records offset off and size of f, called name in "monitor offsets",
 * with where it came from (a printf format). */
void inf_found(struct inf *in, struct os_field *f, const char *name,
	       uint32_t off, uint32_t size, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
/* The little-endian number of n bytes at kernel address va; on a failed
 * read 0 and *ok = false (else *ok is left as it was). */
uint64_t inf_rd(struct inf *in, uint64_t va, unsigned n, bool *ok);
/* v as an address of the kernel's width. */
uint64_t inf_trunc_addr(const struct inf *in, int64_t v);

/* Runs every rule on kernel functions: the offsets, candidates and data
 * symbols their code gives; *comm_from names the function comm's
 * candidates came from. */
void inf_from_code(struct inf *in, const char **comm_from);
/* Picks comm among the code's candidates (or checks the one known): the
 * one at which init_task is named swapper and its task list closes. 0, or
 * -ENOENT when init_task, the list or comm cannot be checked. */
int inf_check_init(struct inf *in, const char *comm_from);
/* Samples the task list, then finds the offsets the data gives. Needs
 * inf_check_init() to have succeeded. */
void inf_from_data(struct inf *in);

#endif
