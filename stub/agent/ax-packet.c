// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Parsing of the agent expressions in breakpoint packets: the condition
 * list and the command list gdb appends to Z0 and Z1, and the "X len,hex"
 * form they are made of. Strict: anything gdb does not send is refused
 * with a reason, and nothing is kept from a packet that fails.
 */
#include "stub/agent/ax-packet.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "stub/agent/ax.h"
#include "stub/base/strbuf.h"

static void set_msg(char **msg, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void set_msg(char **msg, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	if (!msg)
		return;
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	*msg = strbuf_detach(&sb, NULL);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Up to 40 characters of s for a message, escaped. */
static char *excerpt(const char *s, const char *end)
{
	struct strbuf sb = STRBUF_INIT;
	size_t i, n = (size_t)(end - s);

	for (i = 0; i < n && i < 40; i++) {
		if (s[i] >= 0x20 && s[i] < 0x7f)
			strbuf_addch(&sb, s[i]);
		else
			strbuf_addf(&sb, "\\x%02x", (unsigned char)s[i]);
	}
	if (n > 40)
		strbuf_addstr(&sb, "...");
	return strbuf_detach(&sb, NULL);
}

int ax_parse_x(const char **pp, const char *end, struct ax_expr **out,
	       char **msg)
{
	const char *p = *pp;
	uint8_t *code;
	size_t len = 0, i, digits = 0;
	char *why = NULL;
	int rc;

	*out = NULL;
	if (p >= end || *p != 'X') {
		set_msg(msg, "an agent expression must start with 'X'");
		return -EINVAL;
	}
	for (p++; p < end && hexval(*p) >= 0; p++) {
		/* leading zeros are fine: tracepoint packets use 8 digits */
		len = len * 16 + (size_t)hexval(*p);
		if (++digits > 8 || len > AX_CODE_MAX) {
			set_msg(msg, "agent expression longer than %u bytes",
				AX_CODE_MAX);
			return -E2BIG;
		}
	}
	if (!digits || p >= end || *p != ',') {
		set_msg(msg, "an agent expression must start with 'X<length>,'");
		return -EINVAL;
	}
	p++;
	if (!len) {
		set_msg(msg, "empty agent expression");
		return -EINVAL;
	}
	if ((size_t)(end - p) < 2 * len) {
		set_msg(msg, "agent expression of %zu bytes has only %zu hex digits",
			len, (size_t)(end - p));
		return -EINVAL;
	}
	code = xmalloc(len);
	for (i = 0; i < len; i++) {
		int hi = hexval(p[2 * i]), lo = hexval(p[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			set_msg(msg, "agent expression: '%c%c' at byte %zu is not hex",
				p[2 * i], p[2 * i + 1], i);
			free(code);
			return -EINVAL;
		}
		code[i] = (uint8_t)(hi << 4 | lo);
	}
	rc = ax_compile(code, len, out, &why);
	free(code);
	if (rc) {
		set_msg(msg, "bytecode: %s", why);
		free(why);
		return rc;
	}
	*pp = p + 2 * len;
	return 0;
}

static int add_expr(const char **p, const char *end, struct ax_expr ***list,
		    size_t *n, const char *what, char **msg)
{
	struct ax_expr *x;
	char *why = NULL;
	int rc;

	if (*n >= AX_POINT_EXPRS_MAX) {
		set_msg(msg, "more than %u %ss", AX_POINT_EXPRS_MAX, what);
		return -E2BIG;
	}
	rc = ax_parse_x(p, end, &x, &why);
	if (rc) {
		set_msg(msg, "%s %zu: %s", what, *n + 1, why);
		free(why);
		return rc;
	}
	*list = xrealloc(*list, st_mult(*n + 1, sizeof(**list)));
	(*list)[(*n)++] = x;
	return 0;
}

static int unexpected(const char *p, const char *end, char **msg)
{
	char *e = excerpt(p, end);

	set_msg(msg, "unexpected breakpoint option '%s'", e);
	free(e);
	return -EINVAL;
}

int ax_parse_point_options(const char *s, size_t len,
			   struct ax_point_options *out, char **msg)
{
	const char *p = s, *end = s + len;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (p == end)
		return 0;
	if (*p != ';')
		return unexpected(p, end, msg);
	p++;
	/* conditions: "X..X.." as gdb writes them, or "X..;X.." */
	while (p < end && *p == 'X') {
		rc = add_expr(&p, end, &out->conds, &out->nconds, "condition",
			      msg);
		if (rc)
			goto fail;
		if (end - p >= 2 && p[0] == ';' && p[1] == 'X')
			p++;
	}
	if (out->nconds && p < end) {
		if (*p != ';' || p + 1 == end) {
			rc = unexpected(p, end, msg);
			goto fail;
		}
		p++;
	}
	if (p < end) {
		if (end - p < 7 || memcmp(p, "cmds:", 5) ||
		    (p[5] != '0' && p[5] != '1') || p[6] != ',') {
			rc = unexpected(p, end, msg);
			goto fail;
		}
		out->persist = p[5] == '1';
		p += 7;
		if (p == end || *p != 'X') {
			set_msg(msg, "breakpoint commands: no expression");
			rc = -EINVAL;
			goto fail;
		}
		while (p < end && *p == 'X') {
			rc = add_expr(&p, end, &out->cmds, &out->ncmds,
				      "command", msg);
			if (rc)
				goto fail;
		}
		if (p < end) {
			rc = unexpected(p, end, msg);
			goto fail;
		}
	} else if (!out->nconds) {
		set_msg(msg, "empty breakpoint option after ';'");
		rc = -EINVAL;
		goto fail;
	}
	return 0;
fail:
	ax_point_options_release(out);
	return rc;
}

void ax_point_options_release(struct ax_point_options *o)
{
	size_t i;

	for (i = 0; i < o->nconds; i++)
		ax_free(o->conds[i]);
	for (i = 0; i < o->ncmds; i++)
		ax_free(o->cmds[i]);
	free(o->conds);
	free(o->cmds);
	memset(o, 0, sizeof(*o));
}
