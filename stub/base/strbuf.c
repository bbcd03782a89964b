// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Growable byte buffers (git's strbuf idea), XML and hex output, and the
 * escaping of guest text.
 */
#include "stub/base/strbuf.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stub/base/num.h"

char strbuf_empty[1];

void strbuf_init(struct strbuf *sb, size_t hint)
{
	sb->len = 0;
	sb->alloc = 0;
	sb->buf = strbuf_empty;
	if (hint)
		strbuf_grow(sb, hint);
}

void strbuf_release(struct strbuf *sb)
{
	if (sb->alloc)
		free(sb->buf);
	strbuf_init(sb, 0);
}

char *strbuf_detach(struct strbuf *sb, size_t *len)
{
	char *r;

	strbuf_grow(sb, 0);
	r = sb->buf;
	if (len)
		*len = sb->len;
	strbuf_init(sb, 0);
	return r;
}

void strbuf_grow(struct strbuf *sb, size_t extra)
{
	size_t need;

	if (sb->len > SIZE_MAX - extra - 1)
		die_oom(SIZE_MAX);
	need = sb->len + extra + 1;
	if (need <= sb->alloc)
		return;
	if (!sb->alloc) {
		size_t a = need < 64 ? 64 : need;

		sb->buf = xmalloc(a);
		sb->buf[0] = 0;
		sb->alloc = a;
		return;
	}
	sb->alloc = need > sb->alloc * 3 / 2 ? need : sb->alloc * 3 / 2;
	sb->buf = xrealloc(sb->buf, sb->alloc);
}

void strbuf_reset(struct strbuf *sb) { strbuf_setlen(sb, 0); }

void strbuf_setlen(struct strbuf *sb, size_t len)
{
	if (!sb->alloc)
		return; /* only len 0 is possible */
	sb->len = len < sb->alloc ? len : sb->alloc - 1;
	sb->buf[sb->len] = 0;
}

void strbuf_add(struct strbuf *sb, const void *data, size_t len)
{
	strbuf_grow(sb, len);
	memcpy(sb->buf + sb->len, data, len);
	sb->len += len;
	sb->buf[sb->len] = 0;
}

void strbuf_addch(struct strbuf *sb, int c)
{
	strbuf_grow(sb, 1);
	sb->buf[sb->len++] = (char)c;
	sb->buf[sb->len] = 0;
}

void strbuf_addstr(struct strbuf *sb, const char *s)
{
	strbuf_add(sb, s, strlen(s));
}

void strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	strbuf_grow(sb, 64);
	va_copy(cp, ap);
	n = vsnprintf(sb->buf + sb->len, sb->alloc - sb->len, fmt, cp);
	va_end(cp);
	if (n < 0)
		return;
	if ((size_t)n >= sb->alloc - sb->len) {
		strbuf_grow(sb, (size_t)n);
		vsnprintf(sb->buf + sb->len, sb->alloc - sb->len, fmt, ap);
	}
	sb->len += (size_t)n;
}

void strbuf_addf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(sb, fmt, ap);
	va_end(ap);
}

void strbuf_addhex(struct strbuf *sb, const void *data, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = data;
	char *o;
	size_t i;

	strbuf_grow(sb, st_mult(len, 2));
	o = sb->buf + sb->len;
	for (i = 0; i < len; i++) {
		*o++ = hex[p[i] >> 4];
		*o++ = hex[p[i] & 15];
	}
	sb->len += 2 * len;
	sb->buf[sb->len] = 0;
}

/* The length of the UTF-8 sequence at p if it is well-formed (shortest
 * form, no surrogate) and encodes a character XML 1.0 allows, else 0. */
static size_t xml_utf8_len(const unsigned char *p)
{
	uint32_t c;
	size_t n, i;

	if (p[0] < 0xc2 || p[0] > 0xf4)
		return 0;
	n = p[0] < 0xe0 ? 2 : p[0] < 0xf0 ? 3 : 4;
	c = p[0] & (0x7f >> n);
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c < 0xe000) || c == 0xfffe || c == 0xffff)
		return 0;
	return n;
}

void strbuf_addxml(struct strbuf *sb, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	while (*p) {
		switch (*p) {
		case '&': strbuf_addstr(sb, "&amp;"); break;
		case '<': strbuf_addstr(sb, "&lt;"); break;
		case '>': strbuf_addstr(sb, "&gt;"); break;
		case '"': strbuf_addstr(sb, "&quot;"); break;
		case '\'': strbuf_addstr(sb, "&apos;"); break;
		default:
			if (*p >= 0x80) {
				n = xml_utf8_len(p);
				if (n) {
					strbuf_add(sb, p, n);
					p += n;
					continue;
				}
				strbuf_addf(sb, "\\x%02x", *p);
			} else if (*p < 0x20 && *p != '\t' && *p != '\n' &&
				   *p != '\r') {
				strbuf_addf(sb, "\\x%02x", *p);
			} else {
				strbuf_addch(sb, *p);
			}
		}
		p++;
	}
}

/* One character of guest text, escaped into e (at most 6 characters);
 * returns its length. */
static size_t guest_char(uint32_t c, bool wide, char *e)
{
	static const char hex[] = "0123456789abcdef";

	if (c == '\\' || c == '"') {
		e[0] = '\\';
		e[1] = (char)c;
		return 2;
	}
	if (c >= 0x20 && c < 0x7f) {
		e[0] = (char)c;
		return 1;
	}
	e[0] = '\\';
	if (!wide) {
		e[1] = 'x';
		e[2] = hex[(c >> 4) & 15];
		e[3] = hex[c & 15];
		return 4;
	}
	e[1] = 'u';
	e[2] = hex[(c >> 12) & 15];
	e[3] = hex[(c >> 8) & 15];
	e[4] = hex[(c >> 4) & 15];
	e[5] = hex[c & 15];
	return 6;
}

static void add_guest(struct strbuf *sb, const uint8_t *p, size_t len,
		      bool wide)
{
	size_t i, step = wide ? 2 : 1;
	char e[8];

	for (i = 0; i + step <= len; i += step)
		strbuf_add(sb, e, guest_char(wide ? get_le(p + i, 2) : p[i],
					     wide, e));
}

void strbuf_add_guest(struct strbuf *sb, const void *bytes, size_t len)
{
	add_guest(sb, bytes, len, false);
}

void strbuf_add_guest16(struct strbuf *sb, const void *units, size_t len)
{
	add_guest(sb, units, len, true);
}

size_t guest_text(char *out, size_t size, const void *in, size_t len,
		  bool wide, bool cut)
{
	const uint8_t *p = in;
	size_t i, o = 0, n, total = 0, step = wide ? 2 : 1;
	char e[8];

	for (i = 0; i + step <= len; i += step)
		total += guest_char(wide ? get_le(p + i, 2) : p[i], wide, e);
	if (total >= size)
		cut = true;
	for (i = 0; i + step <= len; i += step) {
		n = guest_char(wide ? get_le(p + i, 2) : p[i], wide, e);
		if (o + n + (cut ? 4 : 0) >= size)
			break;
		memcpy(out + o, e, n);
		o += n;
	}
	if (cut && o + 4 < size) {
		memcpy(out + o, "\\...", 4);
		o += 4;
	}
	out[o] = 0;
	return o;
}
