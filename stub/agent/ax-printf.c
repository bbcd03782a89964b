// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The printf bytecode's format strings: gdb sends the text between the
 * quotes of a dprintf as the user typed it (C escapes included), so the
 * agent parses escapes and conversions itself. Each conversion is printed
 * through a conversion spec rebuilt here from checked parts, with a value
 * cut to the guest type's width first: no format text from the wire ever
 * reaches the C library.
 */
#include "stub/agent/ax-internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stub/base/strbuf.h"

enum lenmod { LM_NONE, LM_H, LM_L, LM_LL, LM_BIG_L, LM_Z, LM_I64 };

struct conv {
	bool hash, zero, minus, space, plus;
	bool has_width, has_prec;
	unsigned width, prec;
	enum lenmod lm;
	char conv;		/* d i u o x X c s p */
};

/* A format being walked: the literal text before the next conversion
 * goes to lit (escapes resolved), the conversion to *c. */
struct fmt_walk {
	const char *p, *end, *start;
};

static int escape(char c)
{
	switch (c) {
	case '\\': return '\\';
	case '"': return '"';
	case 'a': return '\a';
	case 'b': return '\b';
	case 'e': return 0x1b;
	case 'f': return '\f';
	case 'n': return '\n';
	case 'r': return '\r';
	case 't': return '\t';
	case 'v': return '\v';
	default: return -1;
	}
}

/* A printable rendering of one format character for messages. */
static const char *show(char c, char buf[8])
{
	if (c >= 0x20 && c < 0x7f)
		snprintf(buf, 8, "%c", c);
	else
		snprintf(buf, 8, "\\x%02x", (unsigned char)c);
	return buf;
}

static int number(struct fmt_walk *w, unsigned *v, const char *what,
		  char **msg)
{
	unsigned n = 0;

	while (w->p < w->end && *w->p >= '0' && *w->p <= '9') {
		n = n * 10 + (unsigned)(*w->p++ - '0');
		if (n > AX_NUM_MAX) {
			msg_setf(msg, "printf format: %s beyond %u", what,
				AX_NUM_MAX);
			return -E2BIG;
		}
	}
	*v = n;
	return 0;
}

static int parse_conv(struct fmt_walk *w, struct conv *c, char **msg)
{
	char cb[8];
	bool bad = false;
	int rc;

	memset(c, 0, sizeof(*c));
	for (; w->p < w->end; w->p++) {
		if (*w->p == '#')
			c->hash = true;
		else if (*w->p == '0')
			c->zero = true;
		else if (*w->p == '-')
			c->minus = true;
		else if (*w->p == ' ')
			c->space = true;
		else if (*w->p == '+')
			c->plus = true;
		else
			break;
	}
	if (w->p < w->end && *w->p >= '1' && *w->p <= '9') {
		c->has_width = true;
		rc = number(w, &c->width, "field width", msg);
		if (rc)
			return rc;
	}
	if (w->p < w->end && *w->p == '.') {
		w->p++;
		c->has_prec = true;
		rc = number(w, &c->prec, "precision", msg);
		if (rc)
			return rc;
	}
	if (w->p < w->end && *w->p == '*') {
		msg_setf(msg, "printf format: '*' is not supported for width or precision");
		return -EINVAL;
	}
	if (w->p < w->end) {
		switch (*w->p) {
		case 'h':
			c->lm = LM_H;
			w->p++;
			break;
		case 'l':
			c->lm = LM_L;
			w->p++;
			if (w->p < w->end && *w->p == 'l') {
				c->lm = LM_LL;
				w->p++;
			}
			break;
		case 'L':
			c->lm = LM_BIG_L;
			w->p++;
			break;
		case 'z':
			c->lm = LM_Z;
			w->p++;
			break;
		case 'I':
			if (w->end - w->p >= 3 && w->p[1] == '6' && w->p[2] == '4') {
				c->lm = LM_I64;
				w->p += 3;
			}
			break;
		}
	}
	if (w->p >= w->end) {
		msg_setf(msg, "printf format: incomplete conversion at the end");
		return -EINVAL;
	}
	c->conv = *w->p++;
	switch (c->conv) {
	case 'u':
		bad |= c->hash;
		/* fall through */
	case 'o':
	case 'x':
	case 'X':
		bad |= c->space || c->plus;
		/* fall through */
	case 'd':
	case 'i':
		bad |= c->lm == LM_BIG_L;
		break;
	case 'c':
		if (c->lm == LM_L) {
			msg_setf(msg, "printf format: %%lc (wide characters) is not supported");
			return -EOPNOTSUPP;
		}
		bad |= c->lm != LM_NONE || c->has_prec || c->zero || c->space ||
		       c->plus;
		break;
	case 's':
		if (c->lm == LM_L) {
			msg_setf(msg, "printf format: %%ls (wide strings) is not supported");
			return -EOPNOTSUPP;
		}
		bad |= c->lm != LM_NONE || c->zero || c->space || c->plus;
		break;
	case 'p':
		bad |= c->lm != LM_NONE || c->has_prec || c->hash || c->zero ||
		       c->space || c->plus;
		break;
	case 'e': case 'E': case 'f': case 'F': case 'g': case 'G':
	case 'a': case 'A':
		msg_setf(msg, "printf format: %%%c (floating point) is not supported",
			c->conv);
		return -EOPNOTSUPP;
	case 'n':
		msg_setf(msg, "printf format: %%n is not supported");
		return -EINVAL;
	case '*':
		msg_setf(msg, "printf format: '*' is not supported for width or precision");
		return -EINVAL;
	default:
		msg_setf(msg, "printf format: unknown conversion '%s'",
			show(c->conv, cb));
		return -EINVAL;
	}
	if (bad) {
		msg_setf(msg, "printf format: modifiers that %%%c does not take",
			c->conv);
		return -EINVAL;
	}
	return 0;
}

/*
 * Moves past the literal text at w->p (appending it to lit, escapes
 * resolved, when lit is not NULL) and the conversion after it. 1 with *c
 * filled, 0 at the end of the format, or -errno.
 */
static int next_piece(struct fmt_walk *w, struct strbuf *lit, struct conv *c,
		      char **msg)
{
	char cb[8];
	int e;

	while (w->p < w->end) {
		char ch = *w->p++;

		if (ch == '\\') {
			if (w->p >= w->end) {
				msg_setf(msg, "printf format: '\\' at the end");
				return -EINVAL;
			}
			e = escape(*w->p);
			if (e < 0) {
				msg_setf(msg, "printf format: unknown escape '\\%s'",
					show(*w->p, cb));
				return -EINVAL;
			}
			w->p++;
			if (lit)
				strbuf_addch(lit, e);
		} else if (ch == '%') {
			if (w->p < w->end && *w->p == '%') {
				w->p++;
				if (lit)
					strbuf_addch(lit, '%');
				continue;
			}
			e = parse_conv(w, c, msg);
			return e < 0 ? e : 1;
		} else if (ch == '\0') {
			msg_setf(msg, "printf format: a NUL byte at %zu, before its end",
				(size_t)(w->p - 1 - w->start));
			return -EINVAL;
		} else if (lit) {
			strbuf_addch(lit, ch);
		}
	}
	return 0;
}

int ax_printf_check(const char *fmt, size_t len, unsigned *nconv,
		    bool *strings, char **msg)
{
	struct fmt_walk w = { fmt, fmt + len, fmt };
	struct conv c;
	unsigned n = 0;
	int rc;

	*strings = false;
	while ((rc = next_piece(&w, NULL, &c, msg)) > 0) {
		n++;
		*strings |= c.conv == 's';
	}
	if (rc < 0)
		return rc;
	*nconv = n;
	return 0;
}

/* The spec "%<flags><width>.<prec><len><conv>" of a checked conversion. */
static void build_spec(const struct conv *c, const char *len, char conv,
		       bool prec, char *spec, size_t size)
{
	char *p = spec;

	*p++ = '%';
	if (c->hash)
		*p++ = '#';
	if (c->zero)
		*p++ = '0';
	if (c->minus)
		*p++ = '-';
	if (c->space)
		*p++ = ' ';
	if (c->plus)
		*p++ = '+';
	*p = '\0';
	if (c->has_width)
		p += snprintf(p, size - (size_t)(p - spec), "%u", c->width);
	if (prec && c->has_prec)
		p += snprintf(p, size - (size_t)(p - spec), ".%u", c->prec);
	snprintf(p, size - (size_t)(p - spec), "%s%c", len, conv);
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static void add_spec(struct strbuf *out, const char *spec, ...)
{
	va_list ap;

	va_start(ap, spec);
	strbuf_vaddf(out, spec, ap);
	va_end(ap);
}
#pragma GCC diagnostic pop

static unsigned bits_of(const struct conv *c, const struct ax_env *env)
{
	unsigned lb = env->long_bits ? env->long_bits : 64;
	unsigned pb = env->ptr_bits ? env->ptr_bits : 64;

	switch (c->lm) {
	case LM_H: return 16;
	case LM_L: return lb;
	case LM_LL: case LM_I64: return 64;
	case LM_Z: return pb;
	default: return 32;
	}
}

static uint64_t cut(uint64_t v, unsigned bits)
{
	return bits >= 64 ? v : v & ((1ull << bits) - 1);
}

static int64_t sign(uint64_t v, unsigned bits)
{
	uint64_t m;

	if (bits >= 64)
		return (int64_t)v;
	m = 1ull << (bits - 1);
	v = cut(v, bits);
	return (int64_t)((v ^ m) - m);
}

/*
 * Reads the guest string at addr: at most limit bytes, stopping at its NUL.
 * *more is true when limit bytes came without a NUL.
 */
static int read_string(struct ax_run *run, uint64_t addr, size_t limit,
		       struct strbuf *s, bool *more, char **msg)
{
	uint8_t chunk[64];
	size_t got = 0;

	*more = false;
	while (got < limit) {
		uint64_t a = addr + got;
		size_t n = sizeof(chunk), i;
		int rc;

		/* never across a page: the string may end before an
		 * unmapped one */
		if (n > 4096 - (a & 4095))
			n = 4096 - (a & 4095);
		if (n > limit - got)
			n = limit - got;
		rc = ax_read_mem(run, a, chunk, n, msg);
		if (rc)
			return rc;
		for (i = 0; i < n; i++) {
			if (!chunk[i]) {
				strbuf_add(s, chunk, i);
				return 0;
			}
		}
		strbuf_add(s, chunk, n);
		got += n;
	}
	*more = true;
	return 0;
}

static int format_conv(const struct conv *c, uint64_t v, struct ax_run *run,
		       struct strbuf *out, char **msg)
{
	struct ax_env *env = run->env;
	char spec[48];
	unsigned bits = bits_of(c, env);
	int rc;

	switch (c->conv) {
	case 'd':
	case 'i':
		build_spec(c, "ll", 'd', true, spec, sizeof(spec));
		add_spec(out, spec, (long long)sign(v, bits));
		return 0;
	case 'u':
	case 'o':
	case 'x':
	case 'X':
		build_spec(c, "ll", c->conv, true, spec, sizeof(spec));
		add_spec(out, spec, (unsigned long long)cut(v, bits));
		return 0;
	case 'c':
		build_spec(c, "", 'c', false, spec, sizeof(spec));
		add_spec(out, spec, (int)(unsigned char)v);
		return 0;
	case 'p': {
		/* as gdb prints %p: "(nil)" or %#x, width and '-' kept */
		struct conv h = *c;
		unsigned pb = env->ptr_bits ? env->ptr_bits : 64;

		v = cut(v, pb);
		if (!v) {
			build_spec(c, "", 's', false, spec, sizeof(spec));
			add_spec(out, spec, "(nil)");
		} else {
			h.hash = true;
			build_spec(&h, "ll", 'x', false, spec, sizeof(spec));
			add_spec(out, spec, (unsigned long long)v);
		}
		return 0;
	}
	case 's': {
		struct strbuf s = STRBUF_INIT;
		bool more;

		build_spec(c, "", 's', true, spec, sizeof(spec));
		if (!v) {
			add_spec(out, spec, "(null)");
			return 0;
		}
		rc = read_string(run, v, c->has_prec ? c->prec : AX_STRING_MAX,
				 &s, &more, msg);
		if (!rc) {
			if (more && !c->has_prec)
				strbuf_addstr(&s, "...");
			add_spec(out, spec, s.buf);
		}
		strbuf_release(&s);
		return rc;
	}
	}
	msg_setf(msg, "printf format: unexpected conversion '%c'", c->conv);
	return -EINVAL;
}

int ax_printf_format(const char *fmt, size_t len, const uint64_t *args,
		     unsigned nargs, struct ax_run *run, struct strbuf *out,
		     char **msg)
{
	struct fmt_walk w = { fmt, fmt + len, fmt };
	unsigned i = 0;
	struct conv c;
	int rc;

	while ((rc = next_piece(&w, out, &c, msg)) > 0) {
		if (i >= nargs) {
			msg_setf(msg, "printf format: more conversions than the %u arguments",
				nargs);
			return -EINVAL;
		}
		rc = format_conv(&c, args[i++], run, out, msg);
		if (rc)
			return rc;
		if (run->printed + out->len > AX_PRINTF_MAX)
			break;
	}
	if (rc < 0)
		return rc;
	if (run->printed + out->len > AX_PRINTF_MAX) {
		msg_setf(msg, "more than %u bytes printed in one evaluation",
			AX_PRINTF_MAX);
		return -E2BIG;
	}
	return 0;
}
