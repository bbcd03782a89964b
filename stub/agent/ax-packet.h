/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The agent expressions gdb puts in a breakpoint packet after
 * "Z0,addr,kind" or "Z1,addr,kind": conditions (";X len,hex", gdb 13 writes
 * them one after another behind a single ';') and commands
 * (";cmds:persist,X len,hex..."), and the "X len,hex" form alone as
 * tracepoint packets use it. Pure string parsing: no I/O.
 */
#ifndef XENSTUB_AGENT_AX_PACKET_H
#define XENSTUB_AGENT_AX_PACKET_H

#include <stdbool.h>
#include <stddef.h>

struct ax_expr;

/* Expressions one packet may carry at most, conditions and commands each. */
#define AX_POINT_EXPRS_MAX 256u

/* What a breakpoint packet asks for besides the address. Owns its
 * expressions. An empty list means none was sent. */
struct ax_point_options {
	struct ax_expr **conds;	/* stop when any is true */
	size_t nconds;
	struct ax_expr **cmds;	/* run in order at each stop, e.g. dprintf */
	size_t ncmds;
	bool persist;		/* the commands stay after gdb disconnects */
};

#define AX_POINT_OPTIONS_INIT { NULL, 0, NULL, 0, false }

/*
 * Parses len bytes at s: what follows the kind of a Z0/Z1 packet, empty or
 * starting with ';'. Every expression is compiled (ax_compile). 0 with *out
 * filled, or a negative errno (-EINVAL, -E2BIG, -EOPNOTSUPP) with *msg
 * naming the expression and what is wrong; *out is then empty.
 */
int ax_parse_point_options(const char *s, size_t len,
			   struct ax_point_options *out, char **msg);
/* Frees the expressions and empties o. */
void ax_point_options_release(struct ax_point_options *o);

/*
 * Parses one "X len,hex" at *p (before end; len in hex digits, any case,
 * as gdb writes it in Z packets "X9," and tracepoint packets "X0000000E,"),
 * compiles it and moves *p past it. 0, or -errno with *msg.
 */
int ax_parse_x(const char **p, const char *end, struct ax_expr **out,
	       char **msg);

#endif
