// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit tests of the PE/CodeView parser (os-awareness/pe.c) on images built
 * here: valid AMD64 and PE32 images, and hostile headers of every kind that
 * must fail with a message and without reading out of bounds.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "os-awareness/pe.h"

#define IMG_SIZE 0x10000u
#define LFANEW 0x108u
#define COFF (LFANEW + 4)
#define OPT (COFF + 20)
#define DEBUG_RVA 0x2000u
#define RSDS_RVA 0x2100u

struct img {
	uint8_t buf[IMG_SIZE];
	size_t size;			/* readable bytes */
	unsigned reads;
	uint64_t max_end;		/* highest offset + len asked */
	uint64_t fail_at;		/* reads touching this offset fail */
};

static int rd(void *ctx, uint64_t off, void *buf, size_t len)
{
	struct img *m = ctx;

	m->reads++;
	if (off + len > m->max_end)
		m->max_end = off + len;
	if (off > m->size || len > m->size - off)
		return -EFAULT;
	if (m->fail_at && off <= m->fail_at && m->fail_at < off + len)
		return -EIO;
	memcpy(buf, m->buf + off, len);
	return 0;
}

static void p16(struct img *m, uint32_t off, uint16_t v) { memcpy(m->buf + off, &v, 2); }
static void p32(struct img *m, uint32_t off, uint32_t v) { memcpy(m->buf + off, &v, 4); }
static void p64(struct img *m, uint32_t off, uint64_t v) { memcpy(m->buf + off, &v, 8); }

static const uint8_t GUID[16] = {
	0x29, 0x7c, 0xed, 0xbb, 0xfb, 0x55, 0x52, 0xe4,
	0x2a, 0xaa, 0x23, 0xf4, 0xb8, 0x67, 0x7a, 0xd9,
};

/* Sets the debug directory's one entry: type, size, RVA. */
static void set_debug(struct img *m, uint32_t type, uint32_t size, uint32_t rva)
{
	p32(m, DEBUG_RVA + 12, type);
	p32(m, DEBUG_RVA + 16, size);
	p32(m, DEBUG_RVA + 20, rva);
	p32(m, DEBUG_RVA + 24, rva);
}

static void set_rsds(struct img *m, const char *name, uint32_t age)
{
	size_t n = strlen(name) + 1;

	memcpy(m->buf + RSDS_RVA, "RSDS", 4);
	memcpy(m->buf + RSDS_RVA + 4, GUID, 16);
	p32(m, RSDS_RVA + 20, age);
	memcpy(m->buf + RSDS_RVA + 24, name, n);
	set_debug(m, 2, (uint32_t)(24 + n), RSDS_RVA);
}

static struct img *mk(void)
{
	struct img *m = calloc(1, sizeof(*m));

	m->size = IMG_SIZE;
	m->buf[0] = 'M';
	m->buf[1] = 'Z';
	p32(m, 0x3c, LFANEW);
	memcpy(m->buf + LFANEW, "PE\0\0", 4);
	p16(m, COFF, PE_MACHINE_AMD64);
	p16(m, COFF + 2, 3);
	p32(m, COFF + 4, 0x5e0a3b1c);
	p16(m, COFF + 16, 0xf0);
	p16(m, COFF + 18, 0x22);
	p16(m, OPT, 0x20b);
	p64(m, OPT + 24, 0x140000000ull);
	p32(m, OPT + 56, IMG_SIZE);
	p32(m, OPT + 60, 0x1000);
	p32(m, OPT + 108, 16);
	p32(m, OPT + 112 + 6 * 8, DEBUG_RVA);
	p32(m, OPT + 112 + 6 * 8 + 4, 28);
	set_rsds(m, "ntkrnlmp.pdb", 1);
	return m;
}

static int parse(struct img *m, struct pe_image *pi, struct strbuf *why)
{
	strbuf_reset(why);
	return pe_parse(rd, m, pi, why);
}

static int codeview(struct img *m, struct pe_codeview *cv, struct strbuf *why)
{
	struct pe_image pi;
	int rc;

	strbuf_reset(why);
	rc = pe_parse(rd, m, &pi, why);
	assert_int_equal(rc, 0);
	return pe_codeview(rd, m, &pi, cv, why);
}

static void test_valid_image(void **state)
{
	struct img *m = mk();
	struct strbuf why = STRBUF_INIT;
	struct pe_image pi;
	struct pe_codeview cv;

	(void)state;
	assert_int_equal(parse(m, &pi, &why), 0);
	assert_int_equal(pi.machine, PE_MACHINE_AMD64);
	assert_true(pi.pe32plus);
	assert_true(pe_is_amd64_image(&pi));
	assert_int_equal(pi.size_of_image, IMG_SIZE);
	assert_int_equal(pi.image_base, 0x140000000ull);
	assert_int_equal(pi.debug_rva, DEBUG_RVA);
	assert_int_equal(pi.debug_size, 28);
	assert_int_equal(pe_codeview(rd, m, &pi, &cv, &why), 0);
	assert_string_equal(cv.guid_str, "BBED7C2955FBE4522AAA23F4B8677AD9");
	assert_int_equal(cv.age, 1);
	assert_string_equal(cv.pdb_name, "ntkrnlmp.pdb");
	assert_string_equal(cv.pdb_path, "ntkrnlmp.pdb");
	assert_memory_equal(cv.guid, GUID, 16);
	assert_true(m->max_end <= IMG_SIZE);
	strbuf_release(&why);
	free(m);
}

static void test_full_pdb_path(void **state)
{
	struct img *m = mk();
	struct strbuf why = STRBUF_INIT;
	struct pe_codeview cv;

	(void)state;
	set_rsds(m, "d:\\os\\obj\\amd64fre\\ntkrnlmp.pdb", 0x2a);
	assert_int_equal(codeview(m, &cv, &why), 0);
	assert_string_equal(cv.pdb_name, "ntkrnlmp.pdb");
	assert_string_equal(cv.pdb_path, "d:\\os\\obj\\amd64fre\\ntkrnlmp.pdb");
	assert_int_equal(cv.age, 0x2a);
	set_rsds(m, "/build/out/krnl.pdb", 2);
	assert_int_equal(codeview(m, &cv, &why), 0);
	assert_string_equal(cv.pdb_name, "krnl.pdb");
	strbuf_release(&why);
	free(m);
}

static void test_pe32_image(void **state)
{
	struct img *m = mk();
	struct strbuf why = STRBUF_INIT;
	struct pe_image pi;
	struct pe_codeview cv;

	(void)state;
	memset(m->buf + OPT, 0, 0xf0);
	p16(m, COFF, PE_MACHINE_I386);
	p16(m, COFF + 16, 0xe0);
	p16(m, OPT, 0x10b);
	p32(m, OPT + 28, 0x400000);
	p32(m, OPT + 56, IMG_SIZE);
	p32(m, OPT + 60, 0x400);
	p32(m, OPT + 92, 16);
	p32(m, OPT + 96 + 6 * 8, DEBUG_RVA);
	p32(m, OPT + 96 + 6 * 8 + 4, 28);
	assert_int_equal(parse(m, &pi, &why), 0);
	assert_false(pi.pe32plus);
	assert_int_equal(pi.image_base, 0x400000);
	assert_false(pe_is_amd64_image(&pi));
	assert_int_equal(pe_codeview(rd, m, &pi, &cv, &why), 0);
	assert_string_equal(cv.pdb_name, "ntkrnlmp.pdb");
	strbuf_release(&why);
	free(m);
}

static void test_bad_headers(void **state)
{
	struct strbuf why = STRBUF_INIT;
	struct pe_image pi;
	struct img *m;

	(void)state;
	/* not MZ */
	m = mk();
	m->buf[1] = 'X';
	assert_int_equal(parse(m, &pi, &why), -EINVAL);
	assert_non_null(strstr(why.buf, "MZ"));
	free(m);
	/* e_lfanew far away: refused before any read there */
	m = mk();
	p32(m, 0x3c, 0xfffffff0u);
	assert_int_equal(parse(m, &pi, &why), -EINVAL);
	assert_non_null(strstr(why.buf, "e_lfanew"));
	assert_true(m->max_end <= 64);
	free(m);
	/* e_lfanew past the readable bytes: the read error comes back */
	m = mk();
	p32(m, 0x3c, 0x8000);
	m->size = 0x8000;
	assert_int_equal(parse(m, &pi, &why), -EFAULT);
	assert_non_null(strstr(why.buf, "PE header"));
	free(m);
	/* no PE signature */
	m = mk();
	m->buf[LFANEW + 1] = 'X';
	assert_int_equal(parse(m, &pi, &why), -EINVAL);
	assert_non_null(strstr(why.buf, "PE signature"));
	free(m);
	/* optional header too short */
	m = mk();
	p16(m, COFF + 16, 0x10);
	assert_int_equal(parse(m, &pi, &why), -EINVAL);
	assert_non_null(strstr(why.buf, "too short"));
	free(m);
	/* PE32+ magic with a header too short for its directories */
	m = mk();
	p16(m, COFF + 16, 0x60);
	assert_int_equal(parse(m, &pi, &why), -EINVAL);
	free(m);
	/* unknown magic */
	m = mk();
	p16(m, OPT, 0x107);
	assert_int_equal(parse(m, &pi, &why), -EINVAL);
	assert_non_null(strstr(why.buf, "magic"));
	free(m);
	/* SizeOfImage 0, and beyond the bound */
	m = mk();
	p32(m, OPT + 56, 0);
	assert_int_equal(parse(m, &pi, &why), -EINVAL);
	p32(m, OPT + 56, PE_MAX_IMAGE + 1);
	assert_int_equal(parse(m, &pi, &why), -EINVAL);
	assert_non_null(strstr(why.buf, "SizeOfImage"));
	free(m);
	/* SizeOfHeaders larger than the image */
	m = mk();
	p32(m, OPT + 60, IMG_SIZE + 1);
	assert_int_equal(parse(m, &pi, &why), -EINVAL);
	free(m);
	/* a header that cannot be read at all */
	m = mk();
	m->size = 10;
	assert_int_equal(parse(m, &pi, &why), -EFAULT);
	assert_non_null(strstr(why.buf, "DOS header"));
	free(m);
	/* an optional header whose read fails */
	m = mk();
	m->fail_at = OPT + 8;
	assert_int_equal(parse(m, &pi, &why), -EIO);
	assert_non_null(strstr(why.buf, "optional header"));
	free(m);
	strbuf_release(&why);
}

static void test_bad_debug_directory(void **state)
{
	struct strbuf why = STRBUF_INIT;
	struct pe_image pi;
	struct pe_codeview cv;
	struct img *m;

	(void)state;
	/* outside the image, and wrapping around */
	m = mk();
	p32(m, OPT + 112 + 6 * 8, IMG_SIZE);
	assert_int_equal(parse(m, &pi, &why), -EINVAL);
	assert_non_null(strstr(why.buf, "debug directory"));
	p32(m, OPT + 112 + 6 * 8, 0xfffffff0u);
	p32(m, OPT + 112 + 6 * 8 + 4, 0x20);
	assert_int_equal(parse(m, &pi, &why), -EINVAL);
	free(m);
	/* fewer than 7 directories: no debug directory */
	m = mk();
	p32(m, OPT + 108, 6);
	assert_int_equal(parse(m, &pi, &why), 0);
	assert_int_equal(pi.debug_rva, 0);
	assert_int_equal(pe_codeview(rd, m, &pi, &cv, &why), -ENOENT);
	assert_non_null(strstr(why.buf, "no debug directory"));
	free(m);
	/* a huge directory count (absurd NumberOfRvaAndSizes too) */
	m = mk();
	p32(m, OPT + 108, 0xffffffffu);
	p32(m, OPT + 112 + 6 * 8 + 4, IMG_SIZE - DEBUG_RVA);
	set_debug(m, 4, 0, 0);
	assert_int_equal(parse(m, &pi, &why), 0);
	m->reads = 0;
	assert_int_equal(pe_codeview(rd, m, &pi, &cv, &why), -ENOENT);
	assert_true(m->reads <= PE_MAX_DEBUG_ENTRIES);
	free(m);
	/* a directory too small for one entry */
	m = mk();
	p32(m, OPT + 112 + 6 * 8 + 4, 20);
	assert_int_equal(parse(m, &pi, &why), 0);
	assert_int_equal(pe_codeview(rd, m, &pi, &cv, &why), -EINVAL);
	free(m);
	/* an unreadable directory */
	m = mk();
	assert_int_equal(parse(m, &pi, &why), 0);
	m->fail_at = DEBUG_RVA + 4;
	assert_int_equal(pe_codeview(rd, m, &pi, &cv, &why), -EIO);
	assert_non_null(strstr(why.buf, "debug directory entry"));
	free(m);
	strbuf_release(&why);
}

static void test_bad_codeview(void **state)
{
	struct strbuf why = STRBUF_INIT;
	struct pe_codeview cv;
	struct img *m = mk();
	char longname[PE_MAX_CODEVIEW + 64];

	(void)state;
	/* NB10 (PDB 2.0) */
	memcpy(m->buf + RSDS_RVA, "NB10", 4);
	assert_int_equal(codeview(m, &cv, &why), -ENOTSUP);
	assert_non_null(strstr(why.buf, "NB10"));
	/* record shorter than its header, empty name */
	set_rsds(m, "ntkrnlmp.pdb", 1);
	set_debug(m, 2, 20, RSDS_RVA);
	assert_int_equal(codeview(m, &cv, &why), -EINVAL);
	set_debug(m, 2, 2, RSDS_RVA);
	assert_int_equal(codeview(m, &cv, &why), -EINVAL);
	set_rsds(m, "", 1);
	assert_int_equal(codeview(m, &cv, &why), -EINVAL);
	/* record outside the image, at RVA 0, wrapping */
	set_rsds(m, "ntkrnlmp.pdb", 1);
	set_debug(m, 2, 40, IMG_SIZE - 8);
	assert_int_equal(codeview(m, &cv, &why), -EINVAL);
	assert_non_null(strstr(why.buf, "outside"));
	set_debug(m, 2, 40, 0);
	assert_int_equal(codeview(m, &cv, &why), -EINVAL);
	set_debug(m, 2, 0xfffffff0u, RSDS_RVA);
	assert_int_equal(codeview(m, &cv, &why), -EINVAL);
	/* name not terminated within the record */
	set_rsds(m, "ntkrnlmp.pdb", 1);
	set_debug(m, 2, 24 + 5, RSDS_RVA);
	assert_int_equal(codeview(m, &cv, &why), -EINVAL);
	assert_non_null(strstr(why.buf, "NUL"));
	/* a name longer than the bounded record: refused, no over-read */
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	set_rsds(m, longname, 1);
	m->max_end = 0;
	assert_int_equal(codeview(m, &cv, &why), -EINVAL);
	assert_true(m->max_end <= RSDS_RVA + PE_MAX_CODEVIEW);
	/* control characters, and names that are no file name */
	set_rsds(m, "ntkrnl\x01mp.pdb", 1);
	assert_int_equal(codeview(m, &cv, &why), -EINVAL);
	assert_non_null(strstr(why.buf, "control"));
	set_rsds(m, "c:\\symbols\\..", 1);
	assert_int_equal(codeview(m, &cv, &why), -EINVAL);
	set_rsds(m, "c:\\symbols\\", 1);
	assert_int_equal(codeview(m, &cv, &why), -EINVAL);
	set_rsds(m, "..", 1);
	assert_int_equal(codeview(m, &cv, &why), -EINVAL);
	/* no CodeView entry at all */
	set_debug(m, 13, 0x10, RSDS_RVA);
	assert_int_equal(codeview(m, &cv, &why), -ENOENT);
	/* a record whose read fails */
	set_rsds(m, "ntkrnlmp.pdb", 1);
	m->fail_at = RSDS_RVA + 8;
	assert_int_equal(codeview(m, &cv, &why), -EIO);
	strbuf_release(&why);
	free(m);
}

static void test_helpers(void **state)
{
	char s[33];

	(void)state;
	pe_guid_format(GUID, s);
	assert_string_equal(s, "BBED7C2955FBE4522AAA23F4B8677AD9");
	assert_true(pe_safe_file_name("ntkrnlmp.pdb"));
	assert_true(pe_safe_file_name("ntkrpamp.pdb"));
	assert_false(pe_safe_file_name(""));
	assert_false(pe_safe_file_name("."));
	assert_false(pe_safe_file_name(".."));
	assert_false(pe_safe_file_name("a/b"));
	assert_false(pe_safe_file_name("a\\b"));
	assert_false(pe_safe_file_name("a\tb"));
	assert_false(pe_safe_file_name("a\x7f"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_image),
		cmocka_unit_test(test_full_pdb_path),
		cmocka_unit_test(test_pe32_image),
		cmocka_unit_test(test_bad_headers),
		cmocka_unit_test(test_bad_debug_directory),
		cmocka_unit_test(test_bad_codeview),
		cmocka_unit_test(test_helpers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
