// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit tests of the protocol dispatcher (stub/gdb/server.c and gdb-*.c) on a
 * raw image and on a writable fake target, through a pipe: unknown
 * packets, malformed packets of every family (each followed by a good
 * one that must still work), memory outside the image, the packet size
 * limit, qXfer documents served at every offset, no-ack mode, and the
 * queries gdb sends when it connects.
 */
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
#include "tests/unit/unit-helpers.h"
#include "tests/unit/unit-helpers.c"

#define IMAGE_SIZE 0x10000u
#define MARKER "XENSTUB-MARKER"
#define MARKER_AT 0x5ffau /* across a page boundary */

static uint8_t image[IMAGE_SIZE];

static int setup_raw(void **state)
{
	struct wire *w = xcalloc(1, sizeof(*w));
	size_t i;

	for (i = 0; i < IMAGE_SIZE; i++)
		image[i] = (uint8_t)(i * 7 + 3);
	memcpy(image + MARKER_AT, MARKER, strlen(MARKER));
	wire_open_raw(w, image, sizeof(image), NULL);
	*state = w;
	return 0;
}

static int teardown_raw(void **state)
{
	wire_close(*state);
	free(*state);
	return 0;
}

/* A writable fake target of 64 frames behind a wire. */
struct rw {
	struct fake_target *f;
	struct wire w;
};

static int setup_rw(void **state)
{
	struct rw *x = xcalloc(1, sizeof(*x));

	x->f = fake_target_new(64, 1, 64, 16, TCAP_WRITE_MEM | TCAP_WRITE_REGS);
	/* paging off: addresses are physical */
	x->f->regs[0].cr0 = 1;
	x86_set_valid(&x->f->regs[0], XF_CR0);
	x86_set_valid(&x->f->regs[0], XF_CR4);
	wire_open_target(&x->w, &x->f->base);
	*state = x;
	return 0;
}

static int teardown_rw(void **state)
{
	struct rw *x = *state;

	wire_close(&x->w);
	fake_target_free(x->f);
	free(x);
	return 0;
}

static void expect(struct wire *w, const char *pkt, const char *want)
{
	const char *got = wire_request(w, pkt);

	if (strcmp(got, want))
		fail_msg("'%s' answered '%.80s', expected '%s'", pkt, got, want);
}

/* The hex of image[addr, addr+n). */
static char *image_hex(size_t addr, size_t n)
{
	struct strbuf sb = STRBUF_INIT;

	hex_of(&sb, image + addr, n);
	return strbuf_detach(&sb, NULL);
}

/* A malformed packet gets an error, and the next good one works. */
static void expect_then_good(struct wire *w, const char *pkt, const char *want)
{
	char *good = image_hex(0x10, 4);

	expect(w, pkt, want);
	expect(w, "m10,4", good);
	free(good);
}

/* ---- unknown and basic packets ---- */

static void test_unknown_packets_get_empty_reply(void **state)
{
	struct wire *w = *state;
	static const char *const unknown[] = {
		"vMustReplyEmpty", "qFooBar", "QFooBar", "J", "!", "_x", "b9600",
		"vFile:open:6a7573742070726f62696e67,0,1c0", "qTStatus",
		"QNonStop:1", "qXfer:nosuchobject:read::0,10",
		"qXfer:features:write:target.xml:0:abc", "jFooBar",
		"QProgramSignals:0", "vContXYZ", "Z9,1000,1", "z7,1000,1",
	};
	size_t i;

	for (i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++)
		expect_then_good(w, unknown[i], "");
	/* an empty packet */
	assert_string_equal(wire_request_bin(w, "", 0), "");
}

static void test_connect_queries(void **state)
{
	struct wire *w = *state;
	const char *r;
	uint64_t size = 0;
	const char *ps;

	r = wire_request(w, "qSupported:multiprocess+;swbreak+;hwbreak+;"
			    "qRelocInsn+;fork-events+;vfork-events+;exec-events+;"
			    "vContSupported+;QThreadEvents+;no-resumed+;"
			    "memory-tagging+;xmlRegisters=i386");
	ps = strstr(r, "PacketSize=");
	assert_non_null(ps);
	assert_int_equal(rsp_parse_hex(ps + strlen("PacketSize="), &size, NULL), 0);
	assert_true(size >= 0x10000);
	assert_non_null(strstr(r, "qXfer:features:read+"));
	assert_non_null(strstr(r, "QStartNoAckMode+"));
	assert_int_equal(strncmp(wire_request(w, "?"), "T05thread:1;", 12), 0);
	expect(w, "qfThreadInfo", "m1");
	expect(w, "qsThreadInfo", "l");
	expect(w, "qC", "QC1");
	expect(w, "qAttached", "1");
	expect(w, "Hg0", "OK");
	expect(w, "Hc-1", "OK");
	expect(w, "Hgp1.1", "OK");
	expect(w, "Hgp1.-1", "OK");
	expect(w, "Hgp-1", "OK");
	expect(w, "Hgp1", "OK");
	expect(w, "T1", "OK");
	{
		struct strbuf hx = STRBUF_INIT;

		hex_of(&hx, "vCPU 0", 6);
		expect(w, "qThreadExtraInfo,1", hx.buf);
		strbuf_release(&hx);
	}
	expect(w, "vCont?", "vCont;c;C;s;S");
}

/* ---- memory ---- */

static void test_read_memory(void **state)
{
	struct wire *w = *state;
	char *want;

	want = image_hex(0, 16);
	expect(w, "m0,10", want);
	free(want);
	want = image_hex(0x1ff8, 16); /* across a page */
	expect(w, "m1ff8,10", want);
	free(want);
	want = image_hex(0xa, 2);
	expect(w, "mA,2", want); /* uppercase digits */
	free(want);
	/* a read that runs off the end is short, not an error */
	want = image_hex(IMAGE_SIZE - 16, 16);
	expect(w, "mfff0,20", want);
	free(want);
	/* a huge length is capped: gdb takes short reads */
	{
		const char *r = wire_request(w, "m0,ffffffffffffffff");

		assert_true(w->reply.len >= 2 && w->reply.len <= 2 * IMAGE_SIZE);
		want = image_hex(0, w->reply.len / 2);
		assert_string_equal(r, want);
		free(want);
	}
}

static void test_memory_outside_the_image(void **state)
{
	struct wire *w = *state;

	expect_then_good(w, "m10000,1", "E0e");
	expect_then_good(w, "m7fffffff0000,10", "E0e");
	expect_then_good(w, "mffffffffffffffff,2", "E0e");
	expect_then_good(w, "mfffffffffffff000,1000", "E0e");
}

static void test_malformed_m(void **state)
{
	struct wire *w = *state;
	static const char *const bad[] = {
		"m", "m0", "m0,", "m,4", "mzz,4", "m0,zz", "m0,4x", "m0;4",
		"m 0,4", "m0, 4", "m-1,4", "m10000000000000000,1",
		"m0,10000000000000000",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_then_good(w, bad[i], "E16");
}

static void test_writes_to_a_read_only_image(void **state)
{
	struct wire *w = *state;
	static const uint8_t x[] = { 'X', '0', ',', '2', ':', 0xab, 0xcd };

	expect_then_good(w, "M0,2:abcd", "E1e");
	assert_string_equal(wire_request_bin(w, x, sizeof(x)), "E1e");
	/* the image is unchanged */
	{
		char *want = image_hex(0, 2);

		expect_then_good(w, "m0,2", want);
		free(want);
	}
}

static void test_malformed_M_and_X(void **state)
{
	struct wire *w = *state;
	static const char *const bad[] = {
		"M0,2:abc", "M0,2:abcdef", "M0,2:zzzz", "M0,2:ab cd", "M0,2",
		"M0:abcd", "Mzz,2:abcd", "M,2:abcd", "M0,:", "M0,2;abcd",
		"M10000000000000000,1:00",
		/* lengths whose doubling wraps around */
		"M0,8000000000000000:", "M0,8000000000000001:00",
		"M0,ffffffffffffffff:00", "M0,ffffffffffffffff:",
		"X0,3:ab", "X0,1:ab", "X0,2", "X0:ab", "Xzz,2:ab",
		"X0,8000000000000000:", "X0,ffffffffffffffff:a",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_then_good(w, bad[i], "E16");
}

static void test_registers_of_a_raw_image(void **state)
{
	struct wire *w = *state;
	const char *g = wire_request(w, "g");
	size_t i;

	/* only the paging state is known: CR0.PE, CR3, CR4, EFER */
	assert_int_equal(strlen(g), 2 * 608);
	for (i = 0; i < 2 * 8; i++)
		assert_int_equal(g[i], 'x');
	expect(w, "p1b", "0100000000000000"); /* cr0 */
	expect(w, "p0", "xxxxxxxxxxxxxxxx"); /* rax */
	expect(w, "p21", "xxxxxxxxxxxxxxxxxxxx"); /* st0 */
	expect_then_good(w, "p42", "E16");
	expect_then_good(w, "p", "E16");
	expect_then_good(w, "pzz", "E16");
	expect_then_good(w, "p1b,", "E16");
	expect_then_good(w, "p10000000000000000", "E16");
	expect_then_good(w, "P1b=0100000000000000", "E1e");
	expect_then_good(w, "P1b=01", "E16");
	expect_then_good(w, "P1b", "E16");
	expect_then_good(w, "P1b=zz00000000000000", "E16");
	expect_then_good(w, "P42=00000000", "E16");
	expect_then_good(w, "G0", "E16");
	expect_then_good(w, "Gzz", "E16");
	expect_then_good(w, "G000", "E16");
}

/* ---- breakpoints and threads ---- */

static void test_malformed_Z_and_H(void **state)
{
	struct wire *w = *state;
	static const char *const bad[] = {
		"Z0,zz,1", "Z0,1000", "Z0,1000,", "Z", "Z0", "Z0,1000,1x",
		"Zzz,0,1", "Z0,10000000000000000,1", "z0,1000", "z",
		"Hg", "H", "Hx1", "Hgzz", "Hg10000000000000000", "Hg1x",
		"Hgpzz", "Hgp", "Hgp1x", "Hgp1.", "Hgp1.zz", "Tp1.zz",
		"T", "Tzz", "qThreadExtraInfo,zz",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_then_good(w, bad[i], "E16");
	/* well-formed but impossible: errors of their own */
	expect_then_good(w, "Hg2", "E03");
	expect_then_good(w, "T2", "E03");
	expect_then_good(w, "qThreadExtraInfo,5", "E03");
	assert_int_equal(wire_request(w, "Z0,1000,1")[0], 'E');
	assert_int_equal(wire_request(w, "Z2,1000,4")[0], 'E');
}

static void test_run_control_on_a_dump(void **state)
{
	struct wire *w = *state;

	/* refused with a reason, and still stopped */
	assert_int_equal(wire_request(w, "c")[0], 'E');
	assert_true(w->console.len > 0);
	assert_int_equal(wire_request(w, "s")[0], 'E');
	assert_int_equal(wire_request(w, "vCont;c")[0], 'E');
	expect_then_good(w, "vCont;x", "E16");
	/* a thread id "pP" does not swallow the actions after it */
	expect_then_good(w, "vCont;s:p1;x", "E16");
	expect_then_good(w, "vCont;c:p1.1;x", "E16");
	expect_then_good(w, "c1234", "E16");
	assert_int_equal(strncmp(wire_request(w, "?"), "T05", 3), 0);
	/* an interrupt while stopped sends nothing */
	{
		unsigned before = w->packets;

		assert_int_equal(wire_send(w, "\x03", 1), 0);
		assert_int_equal(wire_collect(w), 0);
		assert_int_equal(w->packets, before);
	}
}

/* ---- LLDB's packets ---- */

static void expect_prefix(struct wire *w, const char *pkt, const char *want)
{
	const char *got = wire_request(w, pkt);

	if (strncmp(got, want, strlen(want)))
		fail_msg("'%s' answered '%.80s', expected '%s...'", pkt, got, want);
}

static void test_lldb_packets(void **state)
{
	struct wire *w = *state;
	const char *r;

	/* a thread suffix only once LLDB asked for them */
	expect_then_good(w, "p1b;thread:1;", "E16");
	expect(w, "QThreadSuffixSupported", "OK");
	expect(w, "p1b;thread:1;", "0100000000000000");
	expect(w, "p1b;thread:p1.1;", "0100000000000000");
	expect_then_good(w, "p1b;thread:5;", "E03");
	expect_then_good(w, "p1b;thread:1", "E16");
	expect_then_good(w, "p1b;thread:;", "E16");
	expect_then_good(w, "p1b;foo:1;", "E16");
	/* g and the writes take the suffix too */
	assert_int_equal(strlen(wire_request(w, "g;thread:1;")), 2 * 608);
	expect_then_good(w, "P1b=0100000000000000;thread:1;", "E1e");
	expect_then_good(w, "g;thread:7;", "E03");
	/* an unavailable register is an error to LLDB (never "xx") */
	expect(w, "p0;thread:1;", "E3d");
	expect(w, "p0", "E3d");
	/* stop information, names */
	expect_prefix(w, "qThreadStopInfo1", "T05thread:1;");
	r = wire_request(w, "qThreadStopInfo1");
	assert_non_null(strstr(r, "hexname:764350552030;")); /* "vCPU 0" */
	expect_then_good(w, "qThreadStopInfo9", "E03");
	expect_then_good(w, "qThreadStopInfozz", "E16");
	expect_prefix(w, "jThreadsInfo", "[{\"tid\":1,\"name\":\"vCPU 0\",\"core\":0,\"signal\":5");
	r = wire_request(w, "jThreadsInfo");
	assert_int_equal(r[strlen(r) - 1], ']');
	r = wire_request(w, "qHostInfo");
	assert_non_null(strstr(r, "triple:"));
	assert_non_null(strstr(r, "ptrsize:8;endian:little;"));
	expect_prefix(w, "qProcessInfo", "pid:1;");
	/* regions: paging is off, physical frames */
	expect(w, "qMemoryRegionInfo:5ffa", "start:5000;size:1000;permissions:rwx;");
	expect(w, "qMemoryRegionInfo:100000", "start:100000;size:1000;");
	expect_then_good(w, "qMemoryRegionInfo:zz", "E16");
	/* a dump cannot run: LLDB gets the reason and a stop, not an error */
	w->console.len = 0;
	expect_prefix(w, "c", "T02thread:1;description:");
	assert_true(w->console.len > 0);
	expect_prefix(w, "vCont;s:1", "T02thread:1;description:");
	expect_prefix(w, "?", "T05thread:1;");
}

/* ---- qRcmd ---- */

static void test_qrcmd(void **state)
{
	struct wire *w = *state;
	struct strbuf pkt = STRBUF_INIT, hx = STRBUF_INIT;

	expect_then_good(w, "qRcmd,6", "E16");
	expect_then_good(w, "qRcmd,zz", "E16");
	expect_then_good(w, "qRcmd,68656c7", "E16");
	expect_then_good(w, "qRcmd,68656cxx", "E16");
	hex_of(&hx, "no-such-command", 15);
	strbuf_addf(&pkt, "qRcmd,%s", hx.buf);
	expect_then_good(w, pkt.buf, "E02");
	hex_of(&hx, "help", 4);
	strbuf_reset(&pkt);
	strbuf_addf(&pkt, "qRcmd,%s", hx.buf);
	expect(w, pkt.buf, "OK");
	assert_true(w->console.len > 0);
	strbuf_release(&pkt);
	strbuf_release(&hx);
}

/* ---- qCRC and qSearch ---- */

static uint32_t crc_bitwise(const uint8_t *p, size_t n)
{
	uint32_t crc = 0xffffffff;
	size_t i;
	int b;

	for (i = 0; i < n; i++) {
		crc ^= (uint32_t)p[i] << 24;
		for (b = 0; b < 8; b++)
			crc = crc & 0x80000000u ? (crc << 1) ^ 0x04c11db7u : crc << 1;
	}
	return crc;
}

static void test_qcrc_and_qsearch(void **state)
{
	struct wire *w = *state;
	struct strbuf pkt = STRBUF_INIT;
	char want[32];

	snprintf(want, sizeof(want), "C%x", crc_bitwise(image + 0x123, 0x3456));
	expect(w, "qCRC:123,3456", want);
	expect_then_good(w, "qCRC:fff0,20", "E0e");
	expect_then_good(w, "qCRC:zz,1", "E16");
	expect_then_good(w, "qCRC:0", "E16");

	strbuf_addstr(&pkt, "qSearch:memory:0;10000;" MARKER);
	snprintf(want, sizeof(want), "1,%x", MARKER_AT);
	expect(w, pkt.buf, want);
	strbuf_reset(&pkt);
	strbuf_addstr(&pkt, "qSearch:memory:0;1000;" MARKER);
	expect(w, pkt.buf, "0");
	strbuf_reset(&pkt);
	strbuf_addstr(&pkt, "qSearch:memory:f000;2000;" MARKER);
	expect(w, pkt.buf, "E0e");
	expect_then_good(w, "qSearch:memory:0;10;", "E16");
	expect_then_good(w, "qSearch:memory:0,10;ab", "E16");
	strbuf_release(&pkt);
}

/* ---- qXfer ---- */

static void test_malformed_qxfer(void **state)
{
	struct wire *w = *state;
	static const char *const bad[] = {
		"qXfer:features:read:target.xml:zz,10",
		"qXfer:features:read:target.xml:0",
		"qXfer:features:read:target.xml:0,",
		"qXfer:features:read:target.xml",
		"qXfer:features:read:target.xml:0,10,5",
		"qXfer:features:read:target.xml:10000000000000000,10",
		"qXfer:features:read:target.xml:0,10000000000000000",
		"qXfer:threads:read::0,zz",
		"qXfer:threads:read:",
		("qXfer:features:read:0123456789012345678901234567890123456789"
		 "012345678901234567890123456789:0,10"),
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_then_good(w, bad[i], "E16");
	expect_then_good(w, "qXfer:features:read:nosuch.xml:0,10", "E02");
	expect_then_good(w, "qXfer:osdata:read:nosuch:0,10", "E02");
}

/* Reads a whole document the way gdb does, chunk bytes at a time. */
static char *xfer_all(struct wire *w, const char *prefix, size_t chunk)
{
	struct strbuf doc = STRBUF_INIT, pkt = STRBUF_INIT;

	for (;;) {
		const char *r;

		strbuf_reset(&pkt);
		strbuf_addf(&pkt, "%s%zx,%zx", prefix, doc.len, chunk);
		r = wire_request(w, pkt.buf);
		assert_true(r[0] == 'm' || r[0] == 'l');
		assert_true(w->reply.len - 1 <= chunk);
		strbuf_add(&doc, r + 1, w->reply.len - 1);
		if (r[0] == 'l')
			break;
		assert_true(w->reply.len > 1); /* 'm' always makes progress */
	}
	strbuf_release(&pkt);
	return strbuf_detach(&doc, NULL);
}

/* Every offset of the document, in windows of len bytes. */
static void xfer_every_offset(struct wire *w, const char *prefix,
			      const char *doc, size_t len)
{
	size_t n = strlen(doc), off;
	struct strbuf pkt = STRBUF_INIT;

	for (off = 0; off <= n + 2; off++) {
		const char *r;
		size_t want = off >= n ? 0 : (n - off < len ? n - off : len);

		strbuf_reset(&pkt);
		strbuf_addf(&pkt, "%s%zx,%zx", prefix, off, len);
		r = wire_request(w, pkt.buf);
		assert_int_equal(w->reply.len, 1 + want);
		assert_int_equal(r[0], off + len < n ? 'm' : 'l');
		assert_memory_equal(r + 1, doc + (off < n ? off : n), want);
	}
	strbuf_release(&pkt);
}

static void test_qxfer_features_every_offset(void **state)
{
	struct wire *w = *state;
	struct strbuf want = STRBUF_INIT;
	static const size_t chunks[] = { 1, 7, 0x100, 0xfff, 0x10000 };
	size_t i;

	x86_tdesc_xml(session_layout(w->s), &want);
	for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		char *doc = xfer_all(w, "qXfer:features:read:target.xml:", chunks[i]);

		assert_string_equal(doc, want.buf);
		free(doc);
	}
	xfer_every_offset(w, "qXfer:features:read:target.xml:", want.buf, 13);
	strbuf_release(&want);
}

static void test_qxfer_threads_every_offset(void **state)
{
	struct wire *w = *state;
	char *doc = xfer_all(w, "qXfer:threads:read::", 0x1000), *doc2;

	assert_int_equal(strncmp(doc, "<?xml", 5), 0);
	assert_non_null(strstr(doc, "<threads>"));
	assert_non_null(strstr(doc, "<thread id=\"1\""));
	assert_null(strstr(doc, "<thread id=\"2\""));
	assert_non_null(strstr(doc, "</threads>"));
	/* interleaved with another document, each stays whole */
	doc2 = xfer_all(w, "qXfer:threads:read::", 5);
	assert_string_equal(doc2, doc);
	free(doc2);
	xfer_every_offset(w, "qXfer:threads:read::", doc, 3);
	free(xfer_all(w, "qXfer:features:read:target.xml:", 0x300));
	xfer_every_offset(w, "qXfer:threads:read::", doc, 11);
	free(doc);
}

/* ---- framing at the server ---- */

static void test_noack_mode(void **state)
{
	struct wire *w = *state;
	unsigned acks;

	expect(w, "qC", "QC1");
	assert_int_equal(w->acks, 1);
	/* QStartNoAckMode is itself acknowledged, then acks stop */
	expect(w, "QStartNoAckMode", "OK");
	assert_int_equal(w->acks, 2);
	acks = w->acks;
	expect(w, "qC", "QC1");
	expect(w, "m0,1", "03");
	assert_int_equal(w->acks, acks);
	/* a bad checksum is dropped silently */
	assert_int_equal(wire_send(w, "$qC#00", 6), 0);
	assert_int_equal(wire_collect(w), 0);
	assert_int_equal(w->naks, 0);
	expect(w, "qC", "QC1");
}

static void test_ack_mode_naks_and_resends(void **state)
{
	struct wire *w = *state;

	assert_int_equal(wire_send(w, "$qC#00", 6), 0);
	assert_int_equal(wire_collect(w), 0);
	assert_int_equal(w->naks, 1);
	expect(w, "qC", "QC1");
	/* gdb's '-' asks for the last reply again */
	assert_int_equal(wire_send(w, "-", 1), 0);
	assert_int_equal(wire_collect(w), 1);
	assert_string_equal(w->reply.buf, "QC1");
	/* '+' is taken silently */
	assert_int_equal(wire_send(w, "+", 1), 0);
	assert_int_equal(wire_collect(w), 0);
}

static void test_packet_size_limit(void **state)
{
	struct rw *x = *state;
	struct strbuf pkt = STRBUF_INIT;
	uint64_t size = 0;
	const char *r = wire_request(&x->w, "qSupported");
	size_t n, i;

	assert_int_equal(rsp_parse_hex(strstr(r, "PacketSize=") + 11, &size, NULL), 0);
	/* an X packet of exactly PacketSize bytes, specials included */
	strbuf_addstr(&pkt, "X100,");
	/* "X100," LEN ":" DATA, where LEN has 5 hex digits */
	n = size - pkt.len - 5 - 1;
	assert_true(n >= 0x10000 && n < 0x100000);
	strbuf_addf(&pkt, "%zx:", n);
	for (i = 0; i < n; i++)
		strbuf_addch(&pkt, "$#}*ab\0\x03"[i % 8]);
	assert_int_equal(pkt.len, size);
	assert_string_equal(wire_request_bin(&x->w, pkt.buf, pkt.len), "OK");
	for (i = 0; i < n; i++)
		assert_int_equal(x->f->mem[0x100 + i], (uint8_t)"$#}*ab\0\x03"[i % 8]);
	/* one byte more is refused whole, and the next packet works */
	strbuf_addch(&pkt, 'z');
	assert_string_equal(wire_request_bin(&x->w, pkt.buf, pkt.len), "E07");
	assert_string_equal(wire_request(&x->w, "m100,4"), "24237d2a");
	/* the largest 'm' reply fits in a packet */
	r = wire_request(&x->w, "m0,ffffffff");
	assert_true(x->w.reply.len <= size);
	assert_true(x->w.reply.len >= 0x10000);
	strbuf_release(&pkt);
}

static void test_writes_reach_memory(void **state)
{
	struct rw *x = *state;
	static const uint8_t xpkt[] = { 'X', '2', '0', ',', '6', ':', 'a', '$',
					'#', '}', '*', 0 };
	static const uint8_t want[] = { 'a', '$', '#', '}', '*', 0 };

	expect(&x->w, "M10,4:deadBEEF", "OK");
	assert_memory_equal(x->f->mem + 0x10, "\xde\xad\xbe\xef", 4);
	expect(&x->w, "m10,4", "deadbeef");
	assert_string_equal(wire_request_bin(&x->w, xpkt, sizeof(xpkt)), "OK");
	assert_memory_equal(x->f->mem + 0x20, want, sizeof(want));
	/* across a page */
	expect(&x->w, "Mffe,4:01020304", "OK");
	assert_memory_equal(x->f->mem + 0xffe, "\x01\x02\x03\x04", 4);
	/* zero-length writes probe support */
	expect(&x->w, "M0,0:", "OK");
	expect(&x->w, "X0,0:", "OK");
	/* past the end of memory */
	expect(&x->w, "M40000,1:00", "E0e");
	expect(&x->w, "M3ffff,2:0000", "E0e");
	expect(&x->w, "M0,1:zz", "E16");
	assert_int_equal(x->f->mem[0], 0);
}

static void test_detach(void **state)
{
	struct wire *w = *state;

	expect(w, "D", "OK");
	assert_int_equal(w->sv.end, SERVER_DETACHED);
}

#define RAW(fn) cmocka_unit_test_setup_teardown(fn, setup_raw, teardown_raw)
#define RW(fn) cmocka_unit_test_setup_teardown(fn, setup_rw, teardown_rw)

int main(void)
{
	const struct CMUnitTest tests[] = {
		RAW(test_unknown_packets_get_empty_reply),
		RAW(test_connect_queries),
		RAW(test_read_memory),
		RAW(test_memory_outside_the_image),
		RAW(test_malformed_m),
		RAW(test_writes_to_a_read_only_image),
		RAW(test_malformed_M_and_X),
		RAW(test_registers_of_a_raw_image),
		RAW(test_malformed_Z_and_H),
		RAW(test_run_control_on_a_dump),
		RAW(test_lldb_packets),
		RAW(test_qrcmd),
		RAW(test_qcrc_and_qsearch),
		RAW(test_malformed_qxfer),
		RAW(test_qxfer_features_every_offset),
		RAW(test_qxfer_threads_every_offset),
		RAW(test_noack_mode),
		RAW(test_ack_mode_naks_and_resends),
		RW(test_packet_size_limit),
		RW(test_writes_reach_memory),
		RAW(test_detach),
	};

	log_set_level(LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
