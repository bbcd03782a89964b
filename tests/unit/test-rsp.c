// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit tests of the packet codec (stub/gdb/rsp.c): checksums and acks, no-ack
 * mode, retransmission, "}" escaping both ways, "*" run-length decoding
 * and encoding (decoded back both by the codec and in gdb's order),
 * the 0x03 interrupt, noise, cut-short and split packets, oversize
 * packets, and the hex helpers. Expected bytes are written out by hand or
 * computed by this file's own framing code, never by the codec under test.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "stub/base/log.h"
#include "stub/gdb/rsp.h"

/* What the codec wrote, and an error to inject. */
struct cap {
	struct strbuf out;
	int fail;
};

static int cap_write(void *ctx, const void *buf, size_t len)
{
	struct cap *c = ctx;

	if (c->fail)
		return c->fail;
	strbuf_add(&c->out, buf, len);
	return 0;
}

struct fx {
	struct rsp r;
	struct cap c;
};

static int setup_max(void **state, size_t max)
{
	struct fx *f = xcalloc(1, sizeof(*f));

	strbuf_init(&f->c.out, 0);
	rsp_init(&f->r, cap_write, &f->c, max);
	*state = f;
	return 0;
}

static int setup(void **state) { return setup_max(state, 4096); }
static int setup_small(void **state) { return setup_max(state, 16); }

static int teardown(void **state)
{
	struct fx *f = *state;

	rsp_release(&f->r);
	strbuf_release(&f->c.out);
	free(f);
	return 0;
}

/* "$" body "#" checksum, where body is sent as given (already escaped). */
static void frame_raw(struct strbuf *sb, const void *body, size_t len)
{
	const uint8_t *b = body;
	unsigned sum = 0;
	size_t i;

	for (i = 0; i < len; i++)
		sum += b[i];
	strbuf_addch(sb, '$');
	strbuf_add(sb, body, len);
	strbuf_addf(sb, "#%02x", sum & 0xff);
}

static void frame_str(struct strbuf *sb, const char *body)
{
	frame_raw(sb, body, strlen(body));
}

static void feed_str(struct fx *f, const char *s)
{
	rsp_feed(&f->r, s, strlen(s));
}

static void feed_frame(struct fx *f, const char *body)
{
	struct strbuf sb = STRBUF_INIT;

	frame_str(&sb, body);
	rsp_feed(&f->r, sb.buf, sb.len);
	strbuf_release(&sb);
}

static void expect_packet(struct fx *f, const void *data, size_t len)
{
	size_t n;
	const char *p;

	assert_int_equal(rsp_next(&f->r), RSP_PACKET);
	p = rsp_packet(&f->r, &n);
	assert_int_equal(n, len);
	assert_memory_equal(p, data, len);
	assert_int_equal(p[n], '\0');
}

static void expect_packet_str(struct fx *f, const char *s)
{
	expect_packet(f, s, strlen(s));
}

static void expect_out(struct fx *f, const void *bytes, size_t n)
{
	assert_int_equal(f->c.out.len, n);
	assert_memory_equal(f->c.out.buf, bytes, n);
}

static void expect_out_str(struct fx *f, const char *s)
{
	expect_out(f, s, strlen(s));
}

/* ---- checksums and acks ---- */

static void test_good_checksum_acked(void **state)
{
	struct fx *f = *state;

	feed_str(f, "$qSupported#37");
	expect_packet_str(f, "qSupported");
	expect_out_str(f, "+");
	assert_int_equal(rsp_next(&f->r), RSP_NONE);
	assert_int_equal(f->r.st.packets_in, 1);
	assert_int_equal(f->r.st.bad_checksums, 0);
}

static void test_uppercase_checksum(void **state)
{
	struct fx *f = *state;

	/* 'm'+'0'+','+'4' = 0x6d+0x30+0x2c+0x34 = 0xfd */
	feed_str(f, "$m0,4#FD$m0,4#fd");
	expect_packet_str(f, "m0,4");
	expect_packet_str(f, "m0,4");
	expect_out_str(f, "++");
}

static void test_bad_checksum_ack_mode(void **state)
{
	struct fx *f = *state;

	feed_str(f, "$qSupported#38");
	assert_int_equal(rsp_next(&f->r), RSP_NONE);
	expect_out_str(f, "-");
	assert_int_equal(f->r.st.bad_checksums, 1);
	assert_int_equal(f->r.st.packets_in, 0);
	/* gdb resends; the resent packet decodes */
	feed_str(f, "$qSupported#37");
	expect_packet_str(f, "qSupported");
	expect_out_str(f, "-+");
}

static void test_checksum_not_hex(void **state)
{
	struct fx *f = *state;

	feed_str(f, "$g#6z$g#zz$g#67");
	expect_packet_str(f, "g");
	expect_out_str(f, "--+");
	assert_int_equal(f->r.st.bad_checksums, 2);
}

static void test_bad_checksum_noack_mode(void **state)
{
	struct fx *f = *state;

	f->r.noack = true;
	feed_str(f, "$qSupported#00");
	assert_int_equal(rsp_next(&f->r), RSP_NONE);
	expect_out_str(f, "");
	assert_int_equal(f->r.st.bad_checksums, 1);
	feed_str(f, "$qSupported#37");
	expect_packet_str(f, "qSupported");
	expect_out_str(f, ""); /* no acks either */
}

static void test_retransmit_on_nak(void **state)
{
	struct fx *f = *state;

	/* nothing sent yet: a '-' has nothing to resend */
	feed_str(f, "-");
	assert_int_equal(rsp_next(&f->r), RSP_NONE);
	expect_out_str(f, "");

	assert_int_equal(rsp_send_str(&f->r, "OK"), 0);
	expect_out_str(f, "$OK#9a");
	feed_str(f, "-");
	assert_int_equal(rsp_next(&f->r), RSP_NONE);
	expect_out_str(f, "$OK#9a$OK#9a");
	feed_str(f, "--");
	assert_int_equal(rsp_next(&f->r), RSP_NONE);
	expect_out_str(f, "$OK#9a$OK#9a$OK#9a$OK#9a");
	assert_int_equal(f->r.st.retransmits, 3);
	/* '+' acknowledges: nothing more */
	feed_str(f, "+");
	assert_int_equal(rsp_next(&f->r), RSP_NONE);
	assert_int_equal(f->c.out.len, 4 * 6);

	/* a newer reply is the one resent */
	strbuf_reset(&f->c.out);
	assert_int_equal(rsp_send_str(&f->r, "E0e"), 0);
	feed_str(f, "-");
	assert_int_equal(rsp_next(&f->r), RSP_NONE);
	expect_out_str(f, "$E0e#da$E0e#da");
}

static void test_no_retransmit_in_noack_mode(void **state)
{
	struct fx *f = *state;

	assert_int_equal(rsp_send_str(&f->r, "OK"), 0);
	f->r.noack = true;
	strbuf_reset(&f->c.out);
	feed_str(f, "-");
	assert_int_equal(rsp_next(&f->r), RSP_NONE);
	expect_out_str(f, "");
}

static void test_write_failure(void **state)
{
	struct fx *f = *state;

	f->c.fail = -EPIPE;
	feed_str(f, "$g#67");
	assert_int_equal(rsp_next(&f->r), -EPIPE);
	assert_int_equal(rsp_send_str(&f->r, "OK"), -EPIPE);
	f->c.fail = 0;
	feed_str(f, "$g#67");
	expect_packet_str(f, "g");
}

/* ---- escaping ---- */

static void test_send_escapes_specials(void **state)
{
	struct fx *f = *state;
	static const uint8_t data[] = { 'a', '$', '#', '}', '*', 'b', 0x00, 0x03 };
	static const uint8_t body[] = { 'a', '}', 0x04, '}', 0x03, '}', 0x5d,
					'}', 0x0a, 'b', 0x00, 0x03 };
	struct strbuf want = STRBUF_INIT;

	frame_raw(&want, body, sizeof(body));
	assert_int_equal(rsp_send(&f->r, data, sizeof(data)), 0);
	expect_out(f, want.buf, want.len);
	strbuf_release(&want);
}

static void test_send_every_byte_roundtrips(void **state)
{
	struct fx *f = *state;
	uint8_t all[256];
	struct fx g;
	size_t i, n;
	const char *p;

	for (i = 0; i < 256; i++)
		all[i] = (uint8_t)i;
	assert_int_equal(rsp_send(&f->r, all, sizeof(all)), 0);
	/* the body holds no raw '$', '#' or '*', and each '}' escapes */
	for (i = 1; i + 3 < f->c.out.len; i++) {
		char c = f->c.out.buf[i];

		assert_true(c != '$' && c != '#' && c != '*');
		if (c == '}')
			i++;
	}
	/* what one codec sends, another decodes unchanged */
	strbuf_init(&g.c.out, 0);
	g.c.fail = 0;
	rsp_init(&g.r, cap_write, &g.c, 4096);
	rsp_feed(&g.r, f->c.out.buf, f->c.out.len);
	assert_int_equal(rsp_next(&g.r), RSP_PACKET);
	p = rsp_packet(&g.r, &n);
	assert_int_equal(n, 256);
	assert_memory_equal(p, all, 256);
	rsp_release(&g.r);
	strbuf_release(&g.c.out);
}

static void test_receive_escapes_specials(void **state)
{
	struct fx *f = *state;
	static const uint8_t body[] = { 'X', '}', 0x04, '}', 0x03, '}', 0x5d,
					'}', 0x0a, 'Y' };
	static const uint8_t want[] = { 'X', '$', '#', '}', '*', 'Y' };
	struct strbuf sb = STRBUF_INIT;

	frame_raw(&sb, body, sizeof(body));
	rsp_feed(&f->r, sb.buf, sb.len);
	expect_packet(f, want, sizeof(want));
	strbuf_release(&sb);
}

static void test_binary_bytes_are_data(void **state)
{
	struct fx *f = *state;
	static const uint8_t body[] = { 'X', '0', ',', '4', ':', 0x03, 0x00,
					'+', '-' };
	struct strbuf sb = STRBUF_INIT;

	/* 0x03, NUL, '+' and '-' inside a packet are data, not events */
	frame_raw(&sb, body, sizeof(body));
	rsp_feed(&f->r, sb.buf, sb.len);
	expect_packet(f, body, sizeof(body));
	assert_int_equal(rsp_next(&f->r), RSP_NONE);
	expect_out_str(f, "+");
	strbuf_release(&sb);
}

/* ---- run-length decoding ---- */

static void test_rle_every_count(void **state)
{
	struct fx *f = *state;
	unsigned count;

	for (count = 3; count <= 97; count++) {
		char body[8], want[128];
		struct strbuf sb = STRBUF_INIT;

		if (count + 29 == '#' || count + 29 == '$')
			continue; /* these two are never used as counts */
		body[0] = 'a';
		body[1] = '*';
		body[2] = (char)(count + 29);
		body[3] = 'b';
		/* the character before '*' and count more copies of it */
		memset(want, 'a', count + 1);
		want[count + 1] = 'b';
		frame_raw(&sb, body, 4);
		rsp_feed(&f->r, sb.buf, sb.len);
		expect_packet(f, want, count + 2);
		strbuf_release(&sb);
	}
	assert_int_equal(f->r.st.bad_checksums, 0);
}

static void test_rle_repeats_decoded_byte(void **state)
{
	struct fx *f = *state;
	/* an escaped '}' then a run of 5 more: six '}' */
	static const uint8_t body[] = { '}', 0x5d, '*', '"', 'z' };
	static const char want[] = "}}}}}}z";
	struct strbuf sb = STRBUF_INIT;

	frame_raw(&sb, body, sizeof(body));
	rsp_feed(&f->r, sb.buf, sb.len);
	expect_packet_str(f, want);
	/* two runs back to back repeat the same byte */
	strbuf_reset(&sb);
	frame_str(&sb, "0* * ");
	rsp_feed(&f->r, sb.buf, sb.len);
	expect_packet_str(f, "0000000");
	strbuf_release(&sb);
}

static void test_rle_at_start_is_malformed(void **state)
{
	struct fx *f = *state;
	struct strbuf sb = STRBUF_INIT;

	/* a correct checksum does not make a run with nothing to repeat
	 * valid: the packet arrived as sent (acked), and is refused (the
	 * caller answers an error: resending it would not mend it) */
	frame_str(&sb, "* abc");
	rsp_feed(&f->r, sb.buf, sb.len);
	assert_int_equal(rsp_next(&f->r), RSP_MALFORMED);
	assert_int_equal(rsp_next(&f->r), RSP_NONE);
	expect_out_str(f, "+");
	/* the session goes on */
	feed_frame(f, "g");
	expect_packet_str(f, "g");
	expect_out_str(f, "++");
	strbuf_release(&sb);
}

static void test_rle_count_below_three_is_malformed(void **state)
{
	struct fx *f = *state;
	static const uint8_t body[] = { 'a', '*', 0x1f, 'b' };
	struct strbuf sb = STRBUF_INIT;

	frame_raw(&sb, body, sizeof(body));
	rsp_feed(&f->r, sb.buf, sb.len);
	assert_int_equal(rsp_next(&f->r), RSP_MALFORMED);
	assert_int_equal(rsp_next(&f->r), RSP_NONE);
	expect_out_str(f, "+");
	feed_frame(f, "g");
	expect_packet_str(f, "g");
	strbuf_release(&sb);
}

/* ---- framing between packets ---- */

static void test_interrupt_between_packets(void **state)
{
	struct fx *f = *state;
	struct strbuf sb = STRBUF_INIT;

	frame_str(&sb, "g");
	strbuf_addch(&sb, 0x03);
	frame_str(&sb, "?");
	strbuf_addch(&sb, 0x03);
	rsp_feed(&f->r, sb.buf, sb.len);
	expect_packet_str(f, "g");
	assert_int_equal(rsp_next(&f->r), RSP_INTERRUPT);
	expect_packet_str(f, "?");
	assert_int_equal(rsp_next(&f->r), RSP_INTERRUPT);
	assert_int_equal(rsp_next(&f->r), RSP_NONE);
	expect_out_str(f, "++"); /* an interrupt is not acknowledged */
	strbuf_release(&sb);
}

static void test_noise_between_packets(void **state)
{
	struct fx *f = *state;
	struct strbuf sb = STRBUF_INIT;

	strbuf_addstr(&sb, "hello\r\n#99");
	frame_str(&sb, "g");
	strbuf_add(&sb, "\xff\x00zz", 4);
	frame_str(&sb, "?");
	strbuf_addstr(&sb, "trailing");
	rsp_feed(&f->r, sb.buf, sb.len);
	expect_packet_str(f, "g");
	expect_packet_str(f, "?");
	assert_int_equal(rsp_next(&f->r), RSP_NONE);
	expect_out_str(f, "++"); /* noise is never answered */
	assert_true(f->r.st.garbage >= 10 + 4 + 8);
	strbuf_release(&sb);
}

static void test_packet_cut_short_by_dollar(void **state)
{
	struct fx *f = *state;

	/* the first packet never ends: the second one counts */
	feed_str(f, "$m0,4");
	feed_frame(f, "qC");
	expect_packet_str(f, "qC");
	assert_int_equal(rsp_next(&f->r), RSP_NONE);
	expect_out_str(f, "+");
}

static void test_packet_cut_short_in_checksum(void **state)
{
	struct fx *f = *state;

	/* a new '$' where the checksum should be: not a checksum */
	feed_str(f, "$m0,4#");
	feed_frame(f, "qC");
	feed_str(f, "$m0,4#f");
	feed_frame(f, "g");
	expect_packet_str(f, "qC");
	expect_packet_str(f, "g");
	assert_int_equal(rsp_next(&f->r), RSP_NONE);
	expect_out_str(f, "++");
}

static void test_packet_cut_short_after_specials(void **state)
{
	struct fx *f = *state;

	/* a '$' right after '}' or '*' still starts a new packet */
	feed_str(f, "$a}");
	feed_frame(f, "qC");
	feed_str(f, "$a*");
	feed_frame(f, "g");
	expect_packet_str(f, "qC");
	expect_packet_str(f, "g");
	assert_int_equal(rsp_next(&f->r), RSP_NONE);
	expect_out_str(f, "++");
}

/* Every event of a stream, as text: "P<packet>|", "I|", "O|". */
static void events_of(const void *stream, size_t len, size_t chunk,
		      size_t max, struct strbuf *ev, struct strbuf *acks)
{
	struct cap c = { STRBUF_INIT, 0 };
	struct rsp r;
	size_t off = 0;

	rsp_init(&r, cap_write, &c, max);
	while (off < len) {
		size_t n = len - off < chunk ? len - off : chunk;
		int e;

		rsp_feed(&r, (const char *)stream + off, n);
		off += n;
		while ((e = rsp_next(&r)) != RSP_NONE) {
			size_t plen;
			const char *p;

			assert_true(e > 0);
			if (e == RSP_PACKET) {
				p = rsp_packet(&r, &plen);
				strbuf_addch(ev, 'P');
				strbuf_add(ev, p, plen);
			} else {
				strbuf_addch(ev, e == RSP_INTERRUPT ? 'I' : 'O');
			}
			strbuf_addch(ev, '|');
		}
	}
	strbuf_add(acks, c.out.buf, c.out.len);
	rsp_release(&r);
	strbuf_release(&c.out);
}

static void test_split_across_feeds(void **state)
{
	struct strbuf s = STRBUF_INIT, ev1 = STRBUF_INIT, ack1 = STRBUF_INIT;
	static const uint8_t esc[] = { 'X', '}', 0x04, '}', 0x5d, 'a', '*', '!',
				       'b' };
	size_t chunk;

	(void)state;
	strbuf_addstr(&s, "+noise");
	frame_str(&s, "qSupported:multiprocess+;swbreak+");
	frame_raw(&s, esc, sizeof(esc));
	strbuf_addch(&s, 0x03);
	strbuf_addstr(&s, "$cut");
	frame_str(&s, "m0,4");
	/* oversize with max 40 */
	frame_str(&s, "0123456789abcdef0123456789abcdef0123456789");
	strbuf_addstr(&s, "$g#00"); /* bad checksum */
	frame_str(&s, "?");
	events_of(s.buf, s.len, s.len, 40, &ev1, &ack1);
	assert_string_equal(ev1.buf, "PqSupported:multiprocess+;swbreak+|"
				     "PX$}aaaaab|I|Pm0,4|O|P?|");
	assert_string_equal(ack1.buf, "++++-+");
	/* any split, down to byte by byte, gives the same events and acks */
	for (chunk = 1; chunk < 24; chunk++) {
		struct strbuf ev = STRBUF_INIT, ack = STRBUF_INIT;

		events_of(s.buf, s.len, chunk, 40, &ev, &ack);
		assert_string_equal(ev.buf, ev1.buf);
		assert_string_equal(ack.buf, ack1.buf);
		strbuf_release(&ev);
		strbuf_release(&ack);
	}
	strbuf_release(&s);
	strbuf_release(&ev1);
	strbuf_release(&ack1);
}

static void test_byte_by_byte_waits_for_checksum(void **state)
{
	struct fx *f = *state;
	struct strbuf sb = STRBUF_INIT;
	size_t i;

	frame_str(&sb, "m1000,40");
	for (i = 0; i + 1 < sb.len; i++) {
		rsp_feed(&f->r, sb.buf + i, 1);
		assert_int_equal(rsp_next(&f->r), RSP_NONE);
	}
	expect_out_str(f, "");
	rsp_feed(&f->r, sb.buf + i, 1);
	expect_packet_str(f, "m1000,40");
	expect_out_str(f, "+");
	strbuf_release(&sb);
}

static void test_many_packets_bounded_buffer(void **state)
{
	struct fx *f = *state;
	struct strbuf sb = STRBUF_INIT;
	size_t i, off = 0, chunk = 4097, got = 0, peak = 0;

	for (i = 0; i < 20000; i++)
		strbuf_addstr(&sb, "$qC#b4");
	while (off < sb.len) {
		size_t n = sb.len - off < chunk ? sb.len - off : chunk;
		int e;

		rsp_feed(&f->r, sb.buf + off, n);
		off += n;
		if (f->r.in.len > peak)
			peak = f->r.in.len;
		while ((e = rsp_next(&f->r)) == RSP_PACKET)
			got++;
		assert_int_equal(e, RSP_NONE);
	}
	assert_int_equal(got, 20000);
	/* consumed input is dropped: the buffer does not hold the stream */
	assert_true(peak < 65536 + 2 * chunk);
	strbuf_release(&sb);
}

/* ---- oversize packets (max_packet 16) ---- */

static void test_oversize_dropped_whole(void **state)
{
	struct fx *f = *state;

	feed_frame(f, "0123456789abcdef"); /* exactly 16: accepted */
	expect_packet_str(f, "0123456789abcdef");
	feed_frame(f, "0123456789abcdefg");
	assert_int_equal(rsp_next(&f->r), RSP_OVERSIZE);
	/* acknowledged (it arrived intact), so gdb does not resend it */
	expect_out_str(f, "++");
	assert_int_equal(f->r.st.oversize, 1);
	/* the next packet decodes: the stream is not desynchronized */
	feed_frame(f, "g");
	expect_packet_str(f, "g");
	assert_int_equal(rsp_next(&f->r), RSP_NONE);
}

static void test_oversize_with_specials_inside(void **state)
{
	struct fx *f = *state;
	struct strbuf sb = STRBUF_INIT;
	static const uint8_t big[] = { 'X', '0', ',', '2', '0', ':', '}', 0x04,
				       '}', 0x03, '}', 0x5d, '}', 0x0a,
				       'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h' };
	size_t i;

	/* escaped '$' and '#' inside the dropped packet end nothing */
	frame_raw(&sb, big, sizeof(big));
	frame_str(&sb, "?");
	for (i = 0; i < sb.len; i++)
		rsp_feed(&f->r, sb.buf + i, 1);
	assert_int_equal(rsp_next(&f->r), RSP_OVERSIZE);
	expect_packet_str(f, "?");
	assert_int_equal(rsp_next(&f->r), RSP_NONE);
	strbuf_release(&sb);
}

static void test_oversize_by_run_length(void **state)
{
	struct fx *f = *state;

	/* 4 bytes on the wire, 99 once expanded */
	feed_frame(f, "a*~b");
	assert_int_equal(rsp_next(&f->r), RSP_OVERSIZE);
	feed_frame(f, "a*,b"); /* 1 + 15 + 1 = 17 */
	assert_int_equal(rsp_next(&f->r), RSP_OVERSIZE);
	feed_frame(f, "a*+b"); /* 1 + 14 + 1 = 16 */
	expect_packet_str(f, "aaaaaaaaaaaaaaab");
}

static void test_escapes_count_once_against_limit(void **state)
{
	struct fx *f = *state;
	struct strbuf body = STRBUF_INIT, sb = STRBUF_INIT;
	size_t i;

	/* 16 escaped bytes are 32 on the wire but 16 decoded: accepted */
	for (i = 0; i < 16; i++) {
		strbuf_addch(&body, '}');
		strbuf_addch(&body, '#' ^ 0x20);
	}
	frame_raw(&sb, body.buf, body.len);
	rsp_feed(&f->r, sb.buf, sb.len);
	expect_packet_str(f, "################");
	strbuf_release(&body);
	strbuf_release(&sb);
}

/* ---- hex helpers ---- */

static void test_hexval_every_byte(void **state)
{
	static const char digits[] = "0123456789abcdef";
	int c;

	(void)state;
	for (c = 0; c < 256; c++) {
		const char *d = c ? strchr(digits, tolower(c)) : NULL;
		int want = d && isxdigit(c) ? (int)(d - digits) : -1;

		assert_int_equal(rsp_hexval(c), want);
	}
}

static void test_unhex(void **state)
{
	uint8_t out[4];
	static const uint8_t want[4] = { 0x00, 0xff, 0x7f, 0x80 };

	(void)state;
	assert_int_equal(rsp_unhex("00ff7F80", 4, out), 0);
	assert_memory_equal(out, want, 4);
	assert_int_equal(rsp_unhex("0g", 1, out), -EINVAL);
	assert_int_equal(rsp_unhex("g0", 1, out), -EINVAL);
	assert_int_equal(rsp_unhex("0 ", 1, out), -EINVAL);
	assert_int_equal(rsp_unhex("-1", 1, out), -EINVAL);
	assert_int_equal(rsp_unhex("0", 1, out), -EINVAL); /* odd: NUL */
	assert_int_equal(rsp_unhex("", 1, out), -EINVAL);
	assert_int_equal(rsp_unhex("zz", 0, out), 0);
	assert_int_equal(rsp_unhex("0011x2", 3, out), -EINVAL);
}

static void test_parse_hex(void **state)
{
	static const struct {
		const char *s;
		int rc;
		uint64_t val;
		size_t end;
	} cases[] = {
		{ "0", 0, 0, 1 },
		{ "1f,", 0, 0x1f, 2 },
		{ "DeadBeef:", 0, 0xdeadbeef, 8 },
		{ "ffffffffffffffff", 0, UINT64_MAX, 16 },
		{ "0000000000000000000000001", 0, 1, 25 },
		{ "8000000000000000#", 0, 0x8000000000000000ull, 16 },
		{ "10000000000000000", -ERANGE, 0, 0 },
		{ "fffffffffffffffff", -ERANGE, 0, 0 },
		{ "", -EINVAL, 0, 0 },
		{ ",10", -EINVAL, 0, 0 },
		{ "x1", -EINVAL, 0, 0 },
		{ "-1", -EINVAL, 0, 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t v = 12345;
		const char *end = NULL;
		int rc = rsp_parse_hex(cases[i].s, &v, &end);

		assert_int_equal(rc, cases[i].rc);
		if (rc == 0) {
			assert_true(v == cases[i].val);
			assert_ptr_equal(end, cases[i].s + cases[i].end);
		} else {
			assert_true(v == 12345); /* untouched on failure */
		}
	}
	/* end may be NULL */
	{
		uint64_t v;

		assert_int_equal(rsp_parse_hex("12", &v, NULL), 0);
		assert_true(v == 0x12);
	}
}


static void test_escape_before_hash_is_malformed(void **state)
{
	struct fx *f = *state;
	struct strbuf sb = STRBUF_INIT;

	/* '}' with the checksum right after it escapes nothing: the packet
	 * ends at its '#' and is refused, in either ack mode */
	frame_str(&sb, "X0,4:}");
	rsp_feed(&f->r, sb.buf, sb.len);
	assert_int_equal(rsp_next(&f->r), RSP_MALFORMED);
	assert_int_equal(rsp_next(&f->r), RSP_NONE);
	expect_out_str(f, "+");
	f->r.noack = true;
	rsp_feed(&f->r, sb.buf, sb.len);
	assert_int_equal(rsp_next(&f->r), RSP_MALFORMED);
	strbuf_reset(&sb);
	frame_str(&sb, "a*");
	rsp_feed(&f->r, sb.buf, sb.len);
	assert_int_equal(rsp_next(&f->r), RSP_MALFORMED);
	feed_frame(f, "g");
	expect_packet_str(f, "g");
	strbuf_release(&sb);
}

static void test_unterminated_packet_is_bounded(void **state)
{
	struct fx *f = *state;
	char chunk[65536];
	size_t fed = 0, peak_in = 0, peak_pkt = 0;
	int e = RSP_NONE;

	/* '$' then bytes with no '#': memory stays bounded while they come,
	 * and past twice the packet size the peer is given up on */
	memset(chunk, 'a', sizeof(chunk));
	rsp_feed(&f->r, "$", 1);
	while (fed < (size_t)64 << 20) {
		rsp_feed(&f->r, chunk, sizeof(chunk));
		fed += sizeof(chunk);
		if (f->r.in.alloc > peak_in)
			peak_in = f->r.in.alloc;
		if (f->r.pkt.alloc > peak_pkt)
			peak_pkt = f->r.pkt.alloc;
		e = rsp_next(&f->r);
		if (e != RSP_NONE)
			break;
	}
	assert_int_equal(e, RSP_RUNAWAY);
	assert_true(fed <= 2 * 4096 + 64 + sizeof(chunk));
	assert_true(peak_in <= 4 * sizeof(chunk));
	assert_true(peak_pkt <= 2 * 4096 + 64);
	/* a packet after it is served */
	feed_frame(f, "g");
	expect_packet_str(f, "g");
}

static void test_oversize_stream_is_bounded(void **state)
{
	struct fx *f = *state;
	char chunk[4096];
	size_t i, peak = 0;

	/* a huge run-length expansion is counted, never stored */
	for (i = 0; i + 3 <= sizeof(chunk); i += 3)
		memcpy(chunk + i, "a*~", 3);
	rsp_feed(&f->r, "$", 1);
	rsp_feed(&f->r, chunk, 2 * 4096 / 3 * 3 / 2);
	assert_int_equal(rsp_next(&f->r), RSP_NONE);
	peak = f->r.pkt.alloc;
	assert_true(peak <= 2 * 4096 + 64);
}

static void test_copy_sent_before_our_ack_is_answered_once(void **state)
{
	struct fx *f = *state;
	struct strbuf sb = STRBUF_INIT;

	/* gdb's ack timed out while xenstub was starting: it sent qSupported
	 * again, and both copies wait in the input */
	frame_str(&sb, "qSupported:swbreak+");
	frame_str(&sb, "qSupported:swbreak+");
	rsp_feed(&f->r, sb.buf, sb.len);
	expect_packet_str(f, "qSupported:swbreak+");
	assert_int_equal(rsp_send_str(&f->r, "PacketSize=1000"), 0);
	assert_int_equal(rsp_next(&f->r), RSP_NONE);
	assert_int_equal(f->r.st.resent_by_gdb, 1);
	/* the same packet after our answer is a new request */
	feed_frame(f, "qSupported:swbreak+");
	expect_packet_str(f, "qSupported:swbreak+");
	assert_int_equal(rsp_send_str(&f->r, "PacketSize=1000"), 0);
	/* and a packet that came before the answer but differs is served */
	feed_frame(f, "g");
	feed_frame(f, "?");
	expect_packet_str(f, "g");
	expect_packet_str(f, "?");
	/* no-ack mode has no retransmissions: copies are requests */
	f->r.noack = true;
	strbuf_reset(&sb);
	frame_str(&sb, "qC");
	frame_str(&sb, "qC");
	rsp_feed(&f->r, sb.buf, sb.len);
	expect_packet_str(f, "qC");
	assert_int_equal(rsp_send_str(&f->r, "QC1"), 0);
	expect_packet_str(f, "qC");
	strbuf_release(&sb);
}

/* ---- run-length encoding of what we send ---- */

/* Decodes a frame's body the way gdb does (remote.c: runs are expanded as
 * the frame is read, escapes undone afterwards), independently of the
 * codec under test. */
static void gdb_style_decode(const char *frame, size_t len, struct strbuf *out)
{
	struct strbuf raw = STRBUF_INIT;
	size_t i;

	assert_true(len >= 4 && frame[0] == '$' && frame[len - 3] == '#');
	for (i = 1; i < len - 3; i++) {
		unsigned char c = (unsigned char)frame[i];

		if (c == '*') {
			int count = (unsigned char)frame[++i] - 29;

			assert_true(raw.len > 0 && count >= 3);
			while (count--)
				strbuf_addch(&raw, raw.buf[raw.len - 1]);
		} else {
			strbuf_addch(&raw, (char)c);
		}
	}
	for (i = 0; i < raw.len; i++) {
		if (raw.buf[i] == '}')
			strbuf_addch(out, (char)(raw.buf[++i] ^ 0x20));
		else
			strbuf_addch(out, raw.buf[i]);
	}
	strbuf_release(&raw);
}

/* Checks one frame: checksum, no forbidden count, no raw '$' or '#',
 * and both decoders (ours, gdb's order) give back data. */
static void check_frame_decodes(const char *frame, size_t flen,
				const void *data, size_t len)
{
	struct strbuf g = STRBUF_INIT;
	struct fx d;
	unsigned sum = 0;
	size_t i, n;
	const char *p;

	for (i = 1; i < flen - 3; i++) {
		unsigned char c = (unsigned char)frame[i];

		sum += c;
		assert_true(c != '$' && c != '#');
		if (c == '}') {
			sum += (unsigned char)frame[++i];
		} else if (c == '*') {
			c = (unsigned char)frame[++i];
			sum += c;
			assert_false(rsp_rle_count_forbidden(c));
			assert_true(c >= 29 + 3 && c <= 29 + RSP_RLE_MAX_RUN - 2);
		}
	}
	assert_int_equal(rsp_hexval(frame[flen - 2]) << 4 | rsp_hexval(frame[flen - 1]),
			 sum & 0xff);
	gdb_style_decode(frame, flen, &g);
	assert_int_equal(g.len, len);
	assert_memory_equal(g.buf, data, len);
	strbuf_release(&g);

	strbuf_init(&d.c.out, 0);
	d.c.fail = 0;
	rsp_init(&d.r, cap_write, &d.c, 1 << 20);
	rsp_feed(&d.r, frame, flen);
	assert_int_equal(rsp_next(&d.r), RSP_PACKET);
	p = rsp_packet(&d.r, &n);
	assert_int_equal(n, len);
	assert_memory_equal(p, data, len);
	rsp_release(&d.r);
	strbuf_release(&d.c.out);
}

static void test_send_rle_exact(void **state)
{
	static const struct { const char *in, *body; } cases[] = {
		{ "000", "000" },			/* too short for a run */
		{ "0000", "0* " },			/* 3 repeats: ' ' */
		{ "E0000000", "E0*\"0" },		/* 6 repeats would be '#' */
		{ "00000000x", "0*\"00x" },		/* 7 would be '$', 6 '#' */
		{ "00000000000000", "0*)0" },		/* 13 would be '*' */
		{ "OK", "OK" },
	};
	struct fx *f = *state;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct strbuf want = STRBUF_INIT;

		strbuf_reset(&f->c.out);
		frame_str(&want, cases[i].body);
		assert_int_equal(rsp_send_str(&f->r, cases[i].in), 0);
		expect_out(f, want.buf, want.len);
		strbuf_release(&want);
	}
}

static void test_send_rle_long_runs_split(void **state)
{
	struct fx *f = *state;
	char in[200], body[16];
	struct strbuf want = STRBUF_INIT;

	/* 97 characters: 96 repeats would be '}', so 95 ('|') and one more */
	memset(in, 'a', 97);
	in[97] = 0;
	snprintf(body, sizeof(body), "a*|a");
	frame_str(&want, body);
	assert_int_equal(rsp_send_str(&f->r, in), 0);
	expect_out(f, want.buf, want.len);
	check_frame_decodes(f->c.out.buf, f->c.out.len, in, 97);
	strbuf_release(&want);

	/* 200: 96 + 96 + 8 (7 repeats: '$' then '#' are not used, 5) */
	strbuf_reset(&f->c.out);
	memset(in, 'a', 200);
	assert_int_equal(rsp_send(&f->r, in, 200), 0);
	strbuf_init(&want, 0);
	frame_str(&want, "a*|a*|a*\"aa");
	expect_out(f, want.buf, want.len);
	strbuf_release(&want);
}

static void test_send_rle_escaped_runs_not_encoded(void **state)
{
	struct fx *f = *state;
	static const char in[] = "}}}}}}****$$$$####";
	struct strbuf want = STRBUF_INIT;

	/* an escaped character is never what a run repeats: gdb would
	 * repeat the second byte of the escape, LLDB the decoded one */
	frame_str(&want, "}]}]}]}]}]}]}\n}\n}\n}\n}\x04}\x04}\x04}\x04}\x03}\x03}\x03}\x03");
	assert_int_equal(rsp_send(&f->r, in, strlen(in)), 0);
	expect_out(f, want.buf, want.len);
	check_frame_decodes(f->c.out.buf, f->c.out.len, in, strlen(in));
	strbuf_release(&want);
}

static void test_send_rle_every_run_roundtrips(void **state)
{
	/* every run length from 1 to 300 of plain, hex and special bytes,
	 * after and before other bytes */
	static const uint8_t chars[] = { '0', 'f', 0x00, 0xff, ' ', '}', '*',
					 '#', '$', '+', '-', 0x03 };
	struct fx *f = *state;
	uint8_t data[310];
	size_t ci, run, n, i, escaped;

	for (ci = 0; ci < sizeof(chars); ci++) {
		for (run = 1; run <= 300; run++) {
			n = 0;
			data[n++] = 'x';
			memset(data + n, chars[ci], run);
			n += run;
			data[n++] = chars[(ci + 1) % sizeof(chars)];
			strbuf_reset(&f->c.out);
			assert_int_equal(rsp_send(&f->r, data, n), 0);
			check_frame_decodes(f->c.out.buf, f->c.out.len, data, n);
			/* a run of a plain character is shorter on the wire
			 * than the escaped data */
			for (i = 0, escaped = n; i < n; i++)
				escaped += data[i] == '}' || data[i] == '*' ||
					   data[i] == '#' || data[i] == '$';
			if (run >= 4 && escaped == n + (data[n - 1] == '}' ||
			    data[n - 1] == '*' || data[n - 1] == '#' || data[n - 1] == '$'))
				assert_true(f->c.out.len < escaped + 4);
		}
	}
}

static void test_rle_count_never_forbidden(void **state)
{
	size_t run, n;

	(void)state;
	for (run = 0; run <= 1000; run++) {
		n = rsp_rle_count(run);
		if (run < 4) {
			assert_int_equal(n, 0);
			continue;
		}
		assert_true(n >= 3 && n + 1 <= run && n + 1 <= RSP_RLE_MAX_RUN);
		assert_false(rsp_rle_count_forbidden((int)(n + 29)));
		/* no longer count is allowed */
		if (n + 1 < run && n + 1 < RSP_RLE_MAX_RUN - 1)
			assert_true(rsp_rle_count_forbidden((int)(n + 1 + 29)));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_good_checksum_acked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_uppercase_checksum, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_checksum_ack_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checksum_not_hex, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_checksum_noack_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retransmit_on_nak, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_retransmit_in_noack_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_send_escapes_specials, setup, teardown),
		cmocka_unit_test_setup_teardown(test_send_every_byte_roundtrips, setup, teardown),
		cmocka_unit_test_setup_teardown(test_receive_escapes_specials, setup, teardown),
		cmocka_unit_test_setup_teardown(test_binary_bytes_are_data, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rle_every_count, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rle_repeats_decoded_byte, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rle_at_start_is_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rle_count_below_three_is_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interrupt_between_packets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_noise_between_packets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_packet_cut_short_by_dollar, setup, teardown),
		cmocka_unit_test_setup_teardown(test_packet_cut_short_in_checksum, setup, teardown),
		cmocka_unit_test_setup_teardown(test_packet_cut_short_after_specials, setup, teardown),
		cmocka_unit_test(test_split_across_feeds),
		cmocka_unit_test_setup_teardown(test_byte_by_byte_waits_for_checksum, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_packets_bounded_buffer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversize_dropped_whole, setup_small, teardown),
		cmocka_unit_test_setup_teardown(test_oversize_with_specials_inside, setup_small, teardown),
		cmocka_unit_test_setup_teardown(test_oversize_by_run_length, setup_small, teardown),
		cmocka_unit_test_setup_teardown(test_escapes_count_once_against_limit, setup_small, teardown),
		cmocka_unit_test(test_hexval_every_byte),
		cmocka_unit_test(test_unhex),
		cmocka_unit_test(test_parse_hex),
		cmocka_unit_test_setup_teardown(test_escape_before_hash_is_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_sent_before_our_ack_is_answered_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unterminated_packet_is_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversize_stream_is_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_send_rle_exact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_send_rle_long_runs_split, setup, teardown),
		cmocka_unit_test_setup_teardown(test_send_rle_escaped_runs_not_encoded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_send_rle_every_run_roundtrips, setup, teardown),
		cmocka_unit_test(test_rle_count_never_forbidden),
	};

	log_set_level(LOG_ERROR); /* bad packets are expected here */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
