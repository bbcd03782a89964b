/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Shared between the files of stub/agent/ only: the printf of the agent
 * (format checking at compile time, formatting at run time) and the one
 * wrapper through which guest memory is read.
 */
#ifndef XENSTUB_AGENT_AX_INTERNAL_H
#define XENSTUB_AGENT_AX_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stub/agent/ax.h"

struct strbuf;

/* One evaluation: its environment and what it has used of the budgets
 * that bound an evaluation's work besides its steps. */
struct ax_run {
	struct ax_env *env;
	uint64_t read;		/* bytes of guest memory read */
	uint64_t printed;	/* bytes printed */
};

/* Reads len bytes at addr through the environment's read_mem: 0, or
 * -errno with a reason naming the address; -E2BIG past AX_READ_MAX bytes
 * in one evaluation. */
int ax_read_mem(struct ax_run *run, uint64_t addr, void *buf, size_t len,
		char **msg);

/*
 * Checks a printf format (len bytes, no NUL) as gdb sends it: C escapes
 * still in the text, conversions d i u o x X c s p with flags, width,
 * precision and the length modifiers h l ll L z I64. Sets *nconv to the
 * number of arguments it takes, *strings to whether one is a %s (read
 * from guest memory). 0, or -EINVAL / -E2BIG / -EOPNOTSUPP.
 */
int ax_printf_check(const char *fmt, size_t len, unsigned *nconv,
		    bool *strings, char **msg);

/*
 * Appends the text of a checked format with args[0..nargs-1] (the first
 * conversion takes args[0]) to out; %s reads the guest's memory through
 * run. 0, or -errno (-EFAULT for a string that cannot be read, -E2BIG past
 * AX_PRINTF_MAX bytes).
 */
int ax_printf_format(const char *fmt, size_t len, const uint64_t *args,
		     unsigned nargs, struct ax_run *run, struct strbuf *out,
		     char **msg);

#endif
