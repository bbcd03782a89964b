// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit tests of the refusal of a second debugger (stub/gdb/refuse.c), over
 * socket pairs: the first packets get an acknowledgment and a one-line
 * "E." reply each (eight at most), then end of file; the client's later
 * bytes are drained; a full table answers its oldest entry at once.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <setjmp.h>
#include <cmocka.h>

#include "stub/gdb/refuse.h"

/* One poll round over the pending refusals, as the event loop does it. */
static void round_once(struct refusals *rf, int timeout_cap)
{
	struct pollfd pfd[REFUSALS_MAX];
	int timeout = timeout_cap;
	size_t n = refusals_pollfds(rf, pfd, REFUSALS_MAX, &timeout);

	if (timeout < 0 || timeout > timeout_cap)
		timeout = timeout_cap;
	assert_true(poll(pfd, n, timeout) >= 0);
	refusals_handle(rf, pfd, n);
}

/* Everything the refused side wrote, up to end of file (bounded). */
static size_t read_all(int fd, char *buf, size_t size)
{
	size_t got = 0;

	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;

		assert_true(poll(&p, 1, 10000) == 1);
		n = read(fd, buf + got, size - 1 - got);
		assert_true(n >= 0);
		if (n == 0)
			break;
		got += (size_t)n;
	}
	buf[got] = 0;
	return got;
}

/* Drives the refusals until the first one has closed its writing end. */
static void until_closing(struct refusals *rf)
{
	while (rf->n && rf->r[0].stage != 2)
		round_once(rf, 200);
}

/* got is n copies of the acknowledged reply to why. */
static void expect_replies(const char *got, const char *why, unsigned n)
{
	char one[512], want[4096] = "";
	unsigned sum = 0;
	const char *p;

	for (p = "E."; *p; p++)
		sum += (unsigned char)*p;
	for (p = why; *p; p++)
		sum += (unsigned char)*p;
	snprintf(one, sizeof(one), "+$E.%s#%02x", why, sum & 0xff);
	while (n--)
		strcat(want, one);
	assert_string_equal(got, want);
}

static void expect_reply(const char *got, const char *why)
{
	expect_replies(got, why, 1);
}

static void test_first_packet_answered_then_eof(void **state)
{
	struct refusals rf;
	char buf[512];
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	refusals_init(&rf);
	snprintf(rf.why, sizeof(rf.why), "busy: gdb (pid 1, uid 0) is attached");
	refusals_add(&rf, sv[1]);
	assert_int_equal(rf.n, 1);
	/* half a packet: not answered yet */
	assert_int_equal(write(sv[0], "+$qSupported:multi", 18), 18);
	round_once(&rf, 50);
	assert_int_equal(rf.n, 1);
	{
		struct pollfd p = { sv[0], POLLIN, 0 };

		assert_int_equal(poll(&p, 1, 0), 0);
	}
	assert_int_equal(write(sv[0], "process+#c9", 11), 11);
	round_once(&rf, 1000);
	/* its next packet gets the same reply, then the connection ends */
	assert_int_equal(write(sv[0], "+$vMustReplyEmpty#3a", 20), 20);
	until_closing(&rf);
	read_all(sv[0], buf, sizeof(buf));
	expect_replies(buf, rf.why, 2);
	/* what the client sends now is drained until it closes */
	assert_int_equal(write(sv[0], "+$qC#b4", 7), 7);
	shutdown(sv[0], SHUT_WR);
	while (rf.n)
		round_once(&rf, 1000);
	close(sv[0]);
}

static void test_reply_escapes_and_encodes(void **state)
{
	struct refusals rf;
	char buf[512];
	int sv[2];
	size_t n;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	refusals_init(&rf);
	/* a reason with framing characters and a run: sent escaped and
	 * encoded, never breaking the frame */
	snprintf(rf.why, sizeof(rf.why), "a$b#c}d*e00000000");
	refusals_add(&rf, sv[1]);
	assert_int_equal(write(sv[0], "$?#3f", 5), 5);
	until_closing(&rf);
	shutdown(sv[0], SHUT_WR);
	while (rf.n)
		round_once(&rf, 1000);
	n = read_all(sv[0], buf, sizeof(buf));
	assert_true(n > 4 && !strncmp(buf, "+$E.a}\x04" "b}\x03" "c}]d}\x0a" "e0*\"00#", n - 2));
	close(sv[0]);
}

static void test_full_table_answers_the_oldest(void **state)
{
	struct refusals rf;
	int sv[REFUSALS_MAX + 1][2], i;
	char buf[512];

	(void)state;
	refusals_init(&rf);
	snprintf(rf.why, sizeof(rf.why), "busy");
	for (i = 0; i <= REFUSALS_MAX; i++) {
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv[i]), 0);
		refusals_add(&rf, sv[i][1]);
		assert_true(rf.n <= REFUSALS_MAX);
	}
	/* the first one was answered and closed when the fifth came */
	read_all(sv[0][0], buf, sizeof(buf));
	expect_reply(buf, "busy");
	refusals_release(&rf);
	assert_int_equal(rf.n, 0);
	for (i = 0; i <= REFUSALS_MAX; i++) {
		if (i) {
			read_all(sv[i][0], buf, sizeof(buf));
			expect_reply(buf, "busy");
		}
		close(sv[i][0]);
	}
}

static void test_replies_are_bounded(void **state)
{
	struct refusals rf;
	char buf[4096];
	int sv[2], i;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	refusals_init(&rf);
	snprintf(rf.why, sizeof(rf.why), "busy");
	refusals_add(&rf, sv[1]);
	/* a client that keeps sending gets eight replies, then the end */
	for (i = 0; i < 20; i++)
		assert_int_equal(write(sv[0], "$g#67", 5), 5);
	round_once(&rf, 1000);
	assert_int_equal(rf.r[0].stage, 2);
	read_all(sv[0], buf, sizeof(buf));
	expect_replies(buf, "busy", 8);
	close(sv[0]);
	while (rf.n)
		round_once(&rf, 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_packet_answered_then_eof),
		cmocka_unit_test(test_reply_escapes_and_encodes),
		cmocka_unit_test(test_full_table_answers_the_oldest),
		cmocka_unit_test(test_replies_are_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
