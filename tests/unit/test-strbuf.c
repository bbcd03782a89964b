// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit tests of the string helpers that carry guest text (stub/base/strbuf.c):
 * the guest-text escaping (bytes and UTF-16, into a strbuf or a fixed
 * buffer with its truncation mark) and XML escaping that stays
 * well-formed whatever it is given.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "stub/base/strbuf.h"

static void guest(const char *in, size_t len, const char *want)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_add_guest(&sb, in, len);
	assert_string_equal(sb.buf, want);
	strbuf_release(&sb);
}

static void test_guest_bytes(void **state)
{
	unsigned c;

	(void)state;
	guest("kthreadd", 8, "kthreadd");
	guest("caf\xe9", 4, "caf\\xe9");
	guest("a\x01" "b", 3, "a\\x01b");
	guest("\x1b[2J", 4, "\\x1b[2J");
	guest("x\ny\rz\t", 6, "x\\x0ay\\x0dz\\x09");
	guest("back\\slash \"q\"", 14, "back\\\\slash \\\"q\\\"");
	guest("<a&b>']]>", 9, "<a&b>']]>");
	guest("\xc3\xa9\xe2\x80\xae\x9b\x7f", 7, "\\xc3\\xa9\\xe2\\x80\\xae\\x9b\\x7f");
	guest("a\0b", 3, "a\\x00b");
	guest("", 0, "");
	/* every byte outside 0x20..0x7e, and only those, is escaped */
	for (c = 0; c < 256; c++) {
		struct strbuf sb = STRBUF_INIT;
		char b = (char)c;

		strbuf_add_guest(&sb, &b, 1);
		if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"')
			assert_int_equal(sb.len, 1);
		else if (c == '\\' || c == '"')
			assert_int_equal(sb.len, 2);
		else
			assert_int_equal(sb.len, 4);
		strbuf_release(&sb);
	}
}

static void test_guest_utf16(void **state)
{
	/* "Ae" then e-acute, U+202E, a lone surrogate, ESC, a NUL, '\' */
	static const uint8_t in[] = { 'A', 0, 'e', 0, 0xe9, 0, 0x2e, 0x20,
				      0x00, 0xd8, 0x1b, 0, 0, 0, '\\', 0, 'z' };
	struct strbuf sb = STRBUF_INIT;

	(void)state;
	strbuf_add_guest16(&sb, in, sizeof(in));
	/* the odd last byte is ignored */
	assert_string_equal(sb.buf, "Ae\\u00e9\\u202e\\ud800\\u001b\\u0000\\\\");
	strbuf_release(&sb);
}

static void test_guest_text_fixed(void **state)
{
	char out[17];
	size_t n;

	(void)state;
	n = guest_text(out, sizeof(out), "kthreadd", 8, false, false);
	assert_int_equal(n, 8);
	assert_string_equal(out, "kthreadd");
	/* exactly fills the buffer: no mark */
	n = guest_text(out, sizeof(out), "0123456789abcdef", 16, false, false);
	assert_string_equal(out, "0123456789abcdef");
	/* one more: cut after a whole character, then the mark */
	n = guest_text(out, sizeof(out), "0123456789abcdefg", 17, false, false);
	assert_string_equal(out, "0123456789ab\\...");
	assert_int_equal(n, 16);
	/* an escape is never split */
	guest_text(out, sizeof(out), "abcdefghij\x01\x02", 12, false, false);
	assert_string_equal(out, "abcdefghij\\...");
	/* ends in an escape that fits exactly */
	guest_text(out, sizeof(out), "abcdefghijkl\x01", 13, false, false);
	assert_string_equal(out, "abcdefghijkl\\x01");
	/* input that was cut short is marked even when it fits */
	guest_text(out, sizeof(out), "abc", 3, false, true);
	assert_string_equal(out, "abc\\...");
	/* UTF-16 */
	guest_text(out, sizeof(out), "E\0d\0i\0t\0\x2e\x20", 10, true, false);
	assert_string_equal(out, "Edit\\u202e");
	/* a 16-byte Linux comm of escapes fits a 65-byte buffer */
	{
		char big[65];
		uint8_t comm[16];

		memset(comm, 0xff, sizeof(comm));
		n = guest_text(big, sizeof(big), comm, sizeof(comm), false, false);
		assert_int_equal(n, 64);
		assert_null(strstr(big, "\\..."));
	}
}

static void xml(const char *in, const char *want)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addxml(&sb, in);
	assert_string_equal(sb.buf, want);
	strbuf_release(&sb);
}

static void test_xml(void **state)
{
	(void)state;
	xml("a<b>&\"c'", "a&lt;b&gt;&amp;&quot;c&apos;");
	xml("]]>", "]]&gt;");
	xml("tab\there\nnl\rcr", "tab\there\nnl\rcr");
	/* what XML 1.0 cannot carry, even as a character reference */
	xml("a\x01" "b\x1b[2J", "a\\x01b\\x1b[2J");
	/* not UTF-8: a lone continuation, Latin-1, overlong, a surrogate,
	 * U+FFFE, beyond U+10FFFF, a sequence cut short */
	xml("caf\xe9", "caf\\xe9");
	xml("\x80", "\\x80");
	xml("\xc0\xaf", "\\xc0\\xaf");
	xml("\xed\xa0\x80", "\\xed\\xa0\\x80");
	xml("\xef\xbf\xbe", "\\xef\\xbf\\xbe");
	xml("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80");
	xml("\xe2\x82", "\\xe2\\x82");
	/* well-formed UTF-8 stays */
	xml("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guest_bytes),
		cmocka_unit_test(test_guest_utf16),
		cmocka_unit_test(test_guest_text_fixed),
		cmocka_unit_test(test_xml),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
