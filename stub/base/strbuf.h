/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Growable byte buffers, XML and hex output, and guest text. Allocation
 * failures end the process (stub/base/alloc.h), never a strbuf call.
 * Invariant: `buf` is never NULL and always NUL-terminated at `len`, so a
 * strbuf can be handed to C string functions at any time.
 */
#ifndef XENSTUB_STRBUF_H
#define XENSTUB_STRBUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stub/base/alloc.h"

struct strbuf {
	size_t len;
	size_t alloc;
	char *buf;
};

#define STRBUF_INIT { 0, 0, strbuf_empty }
extern char strbuf_empty[];

void strbuf_init(struct strbuf *sb, size_t hint);
void strbuf_release(struct strbuf *sb);
/* Gives the caller the buffer (malloc'd, NUL-terminated) and resets sb. */
char *strbuf_detach(struct strbuf *sb, size_t *len);
void strbuf_grow(struct strbuf *sb, size_t extra);
void strbuf_reset(struct strbuf *sb);
void strbuf_setlen(struct strbuf *sb, size_t len);
void strbuf_add(struct strbuf *sb, const void *data, size_t len);
void strbuf_addch(struct strbuf *sb, int c);
void strbuf_addstr(struct strbuf *sb, const char *s);
void strbuf_addf(struct strbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap);
/* Appends len bytes as lowercase hex digits. */
void strbuf_addhex(struct strbuf *sb, const void *data, size_t len);
/* Appends text XML-escaped (&, <, >, ", '). Bytes that XML 1.0 cannot
 * carry (C0 controls but tab, newline and carriage return; bytes that
 * are not UTF-8 or encode U+FFFE, U+FFFF or a surrogate) become \xNN, so
 * the document is well-formed whatever s holds. */
void strbuf_addxml(struct strbuf *sb, const char *s);

/*
 * Guest text: what a guest wrote (a task or driver name, a banner, a
 * symbol name) as shown to people and to gdb. The result is printable
 * ASCII in which every character stands for itself: a byte outside
 * 0x20..0x7e becomes \xNN (two lowercase hex digits), a UTF-16 code unit
 * outside it \uXXXX, a backslash \\ and a double quote \". Nothing else
 * changes, so the text reads back exactly (it is the body of a C or
 * Python string literal), and no guest byte reaches a terminal, an XML
 * document or a log as a control character, an escape sequence, invalid
 * UTF-8 or a look-alike of another character. NULs are shown too: the
 * caller says where the text ends.
 */
void strbuf_add_guest(struct strbuf *sb, const void *bytes, size_t len);
/* The same for len bytes of UTF-16LE code units (an odd last byte is
 * ignored). */
void strbuf_add_guest16(struct strbuf *sb, const void *units, size_t len);
/*
 * Guest text into out[size] (size >= 5), always NUL-terminated; wide:
 * UTF-16LE input. Text that does not fit, or whose input was itself cut
 * short (cut), ends with "\..." after its last whole character (a lone
 * backslash never occurs otherwise, so the mark cannot be read as part
 * of the text). Returns the length written.
 */
size_t guest_text(char *out, size_t size, const void *in, size_t len,
		  bool wide, bool cut);

#endif
