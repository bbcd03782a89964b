/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Growable byte buffers and checked allocation.
 * Invariant: `buf` is never NULL and always NUL-terminated at `len`, so a
 * strbuf can be handed to C string functions at any time.
 */
#ifndef XENSTUB_STRBUF_H
#define XENSTUB_STRBUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* Allocation that never returns NULL: on exhaustion the process calls
 * the fatal hook (which leaves the guest as found) and aborts. */
void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
/* A malloc'd string built from a printf format. */
char *xstrfmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* nmemb * size with overflow check; aborts on overflow. */
size_t st_mult(size_t a, size_t b);

/* Parses a number (decimal, 0x hex or 0 octal) surrounded by optional
 * blanks: 0, or -EINVAL when s holds anything else. */
int parse_u64(const char *s, uint64_t *v);

/* The little-endian number in the n (at most 8) bytes at p. */
static inline uint64_t get_le(const void *p, unsigned n)
{
	const uint8_t *b = p;
	uint64_t v = 0;

	while (n--)
		v = v << 8 | b[n];
	return v;
}

/* Called once before the process dies of a fatal error; the program sets
 * it to undo its changes to the guest. */
extern void (*fatal_hook)(void);

#endif
