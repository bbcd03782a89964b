// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit tests of the recovery journal: the parser takes only what xenstub
 * writes (every record checked, a line cap, linear work), the writer never
 * writes through a link or into a folder others may write, the owner is
 * told by its lock rather than its pid, and a long session's journal is
 * compacted to what is still changed.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "stub/guest/journal.h"
#include "stub/base/strbuf.h"

#define KEY "xen-7-00112233445566778899aabbccddeeff"
#define HDR "xenstub-journal 1 pid=4242 target=" KEY "\n"

static int parse(const char *text, struct journal_state *st, char **msg)
{
	memset(st, 0, sizeof(*st));
	snprintf(st->path, sizeof(st->path), "test.journal");
	*msg = NULL;
	return journal_parse(text, strlen(text), KEY, st, msg);
}

static void test_a_real_session(void **state)
{
	struct journal_state st;
	char *msg;

	(void)state;
	assert_int_equal(parse(HDR
			       "pause\nring on\nss 1 on\nunpause\npause\n"
			       "access 0 7000 7\nint3 1a591a0 0f\nint3 1a591b0 cc\n"
			       "access 0 1a59 7\naccess-off 0 7000\nint3-off 1a591b0\n"
			       "dr 1 0 0 0 0 ffff0ff0 400\ntf 0 1\nunpause\n"
			       "int3 partial-line-cut-by-a-kill", &st, &msg), 0);
	assert_int_equal(st.pid, 4242);
	assert_int_equal(st.pauses, 0);
	assert_true(st.ring);
	assert_int_equal(st.nint3, 1);
	assert_int_equal(st.int3[0].gpa, 0x1a591a0);
	assert_int_equal(st.int3[0].orig, 0x0f);
	assert_int_equal(st.naccess, 1);
	assert_int_equal(st.access[0].gfn, 0x1a59);
	assert_int_equal(st.access[0].orig, 7);
	assert_int_equal(st.nvcpu, 2);
	assert_true(st.vcpu[1].single_step);
	assert_true(st.vcpu[1].dr_saved);
	assert_int_equal(st.vcpu[1].dr[7], 0x400);
	assert_true(st.vcpu[0].tf_set && st.vcpu[0].tf_was);
	journal_state_free(&st);
}

static void test_what_xenstub_never_writes(void **state)
{
	static const char *const bad[] = {
		"pause\nint3 1000 1ff\n",		/* not a byte */
		"pause\nint3 1000 90\nint3 1000 90\n",	/* planted twice */
		"int3 1000 90\n",			/* in a running guest */
		"ring on\nint3 -1000 90\n",		/* a sign */
		"ring on\nint3 1000 90 7\n",		/* trailing field */
		"ring on\nint3  1000 90\n",		/* two blanks */
		"ring on\nint3 10000000000000 90\n",	/* past 52 bits */
		"ring on\naccess 0 1000 ff\n",		/* no such access */
		"ring on\naccess 3 1000 7\n",		/* not the host view */
		"access 0 1000 7\n",			/* in a running guest */
		"ring on\naccess 0 1000 7\naccess 0 1000 7\n",
		"dr 0 0 0 0 0 ffff0ff0 100000400\n",	/* DR7 past 32 bits */
		"dr 0 0 0 0 0 ffff0ff0 1400\n",		/* a reserved DR7 bit */
		"dr 0 800000000000000 0 0 0 ffff0ff0 400\n", /* not canonical */
		"dr 0 0 0 0 0 0 400\ndr 0 0 0 0 0 0 400\n", /* saved twice */
		"dr 4096 0 0 0 0 0 400\n",		/* no such vCPU */
		"ss 99999 on\n",
		"ss 1 maybe\n",
		"tf 0 2\n",
		"pause\npause\npause\npause\npause\npause\npause\npause\npause\n",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct strbuf sb = STRBUF_INIT;
		struct journal_state st;
		char *msg;

		strbuf_addstr(&sb, HDR);
		strbuf_addstr(&sb, bad[i]);
		if (parse(sb.buf, &st, &msg) != -EINVAL)
			fail_msg("accepted: %s", bad[i]);
		assert_non_null(msg);
		assert_non_null(strstr(msg, "line "));
		assert_non_null(strstr(msg, "nothing of it is used"));
		assert_int_equal(st.nint3 + st.naccess + st.nvcpu + st.pauses, 0);
		free(msg);
		journal_state_free(&st);
		strbuf_release(&sb);
	}
}

static void test_headers(void **state)
{
	struct journal_state st;
	char *msg;

	(void)state;
	assert_int_equal(parse("xenstub-journal 1 pid=1 target=xen-8-00\n", &st, &msg), -EINVAL);
	assert_non_null(strstr(msg, "another target"));
	free(msg);
	assert_int_equal(parse("hello\n", &st, &msg), -EINVAL);
	assert_non_null(strstr(msg, "not a xenstub journal"));
	free(msg);
	assert_int_equal(parse("", &st, &msg), -EINVAL);
	free(msg);
	assert_int_equal(parse("xenstub-journal 1 pid=99999999999 target=" KEY "\n", &st, &msg),
			 -EINVAL);
	free(msg);
}

static void test_line_cap_and_linear_work(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	struct journal_state st;
	char *msg = NULL;
	size_t i;

	(void)state;
	/* 200,000 distinct plants (the old reader needed minutes) */
	strbuf_addstr(&sb, HDR "pause\n");
	for (i = 0; i < 200000; i++)
		strbuf_addf(&sb, "int3 %zx 90\n", 0x100000 + i * 16);
	st.path[0] = 0;
	assert_int_equal(journal_parse(sb.buf, sb.len, KEY, &st, &msg), 0);
	assert_int_equal(st.nint3, 200000);
	journal_state_free(&st);
	strbuf_reset(&sb);
	strbuf_addstr(&sb, HDR);
	for (i = 0; i < JOURNAL_MAX_LINES; i++)
		strbuf_addstr(&sb, (i & 1) ? "unpause\n" : "pause\n");
	assert_int_equal(journal_parse(sb.buf, sb.len, KEY, &st, &msg), -EINVAL);
	assert_non_null(strstr(msg, "more than"));
	free(msg);
	strbuf_release(&sb);
}

/* ---- files ---- */

static char dir[256];

static int setup_dir(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test-journal-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void read_file(const char *path, struct strbuf *sb)
{
	char buf[4096];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		strbuf_add(sb, buf, (size_t)n);
	close(fd);
}

static void test_no_write_through_a_link(void **state)
{
	char victim[300], link[400];
	struct strbuf sb = STRBUF_INIT;
	struct journal *j;
	char *msg = NULL;
	FILE *f;

	(void)state;
	snprintf(victim, sizeof(victim), "%s-victim", dir);
	f = fopen(victim, "w");
	fputs("precious\n", f);
	fclose(f);
	snprintf(link, sizeof(link), "%s/%s.journal", dir, KEY);
	assert_int_equal(symlink(victim, link), 0);
	j = journal_open(dir, KEY, &msg);
	assert_null(j);
	assert_non_null(msg);
	assert_non_null(strstr(msg, "link"));
	free(msg);
	read_file(victim, &sb);
	assert_string_equal(sb.buf, "precious\n");
	/* a link to nowhere is not followed either */
	unlink(link);
	unlink(victim);
	assert_int_equal(symlink(victim, link), 0);
	msg = NULL;
	assert_null(journal_open(dir, KEY, &msg));
	free(msg);
	assert_int_equal(access(victim, F_OK), -1);
	unlink(link);
	strbuf_release(&sb);
}

static void test_folder_others_may_write(void **state)
{
	char *msg = NULL;

	(void)state;
	chmod(dir, 01777);
	assert_null(journal_open(dir, KEY, &msg));
	assert_non_null(strstr(msg, "writable by others"));
	assert_non_null(strstr(msg, "sticky"));
	free(msg);
	msg = NULL;
	chmod(dir, 0770);
	assert_null(journal_open(dir, KEY, &msg));
	assert_non_null(strstr(msg, "writable by others"));
	free(msg);
	chmod(dir, 0700);
	if (geteuid() == 0) {
		msg = NULL;
		assert_int_equal(chown(dir, 65534, 65534), 0);
		assert_null(journal_open(dir, KEY, &msg));
		assert_non_null(strstr(msg, "belongs to uid 65534"));
		free(msg);
		assert_int_equal(chown(dir, 0, 0), 0);
	}
}

static void test_owner_is_its_lock(void **state)
{
	struct journal_state st;
	struct journal *j;
	char *msg = NULL, path[400];
	int fd;

	(void)state;
	j = journal_open(dir, KEY, &msg);
	assert_non_null(j);
	journal_note(j, "pause");
	assert_int_equal(journal_read(dir, KEY, &st, &msg), 0);
	assert_true(st.pid_alive);
	journal_state_free(&st);
	/* a second writer sees it alive */
	assert_null(journal_open(dir, KEY, &msg));
	assert_non_null(strstr(msg, "another xenstub"));
	free(msg);
	msg = NULL;
	journal_close(j, false);
	/* dead (no lock): whatever pid it names, even a live one (ours) */
	assert_int_equal(journal_read(dir, KEY, &st, &msg), 0);
	assert_false(st.pid_alive);
	assert_true(st.locked);
	assert_int_equal(st.pauses, 1);
	journal_state_free(&st);
	assert_null(journal_open(dir, KEY, &msg));
	assert_non_null(strstr(msg, "died"));
	free(msg);
	msg = NULL;
	/* one with nothing left to undo is replaced */
	snprintf(path, sizeof(path), "%s/%s.journal", dir, KEY);
	fd = open(path, O_WRONLY | O_APPEND);
	assert_true(write(fd, "unpause\n", 8) == 8);
	close(fd);
	j = journal_open(dir, KEY, &msg);
	assert_non_null(j);
	journal_close(j, true);
	assert_int_equal(access(path, F_OK), -1);
}

static void test_long_session_is_compacted(void **state)
{
	struct journal_state st;
	struct journal *j;
	struct stat sb;
	char *msg = NULL, path[400];
	size_t i;

	(void)state;
	j = journal_open(dir, KEY, &msg);
	assert_non_null(j);
	journal_note(j, "ring on");
	journal_note(j, "pause");
	journal_note(j, "int3 1000 90");
	journal_note(j, "unpause");
	for (i = 0; i < 60000; i++) {
		journal_note(j, "pause");
		journal_note(j, "access 0 %zx 7", 0x7000 + i % 3);
		journal_note(j, "access-off 0 %zx", 0x7000 + i % 3);
		journal_note(j, "unpause");
	}
	snprintf(path, sizeof(path), "%s/%s.journal", dir, KEY);
	assert_int_equal(stat(path, &sb), 0);
	assert_true(sb.st_size < 100000 * 32);
	assert_int_equal(journal_read(dir, KEY, &st, &msg), 0);
	assert_true(st.pid_alive);
	assert_true(st.ring);
	assert_int_equal(st.nint3, 1);
	assert_int_equal(st.naccess, 0);
	assert_int_equal(st.pauses, 0);
	journal_state_free(&st);
	journal_close(j, true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_real_session),
		cmocka_unit_test(test_what_xenstub_never_writes),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_line_cap_and_linear_work),
		cmocka_unit_test_setup_teardown(test_no_write_through_a_link, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_folder_others_may_write, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_owner_is_its_lock, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_long_session_is_compacted, setup_dir, teardown_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
