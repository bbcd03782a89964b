// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit tests of the BTF reader (os-awareness/btf.c) on blobs built here:
 * structs, unions, bitfields (kind_flag), anonymous members, typedef and
 * qualifier chains, pointers, arrays, enums, function prototypes; and
 * hostile blobs: truncated or corrupt headers, string offsets and type ids
 * out of range, records running past the type section, reference loops.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "os-awareness/btf.h"

/* ---- a small BTF writer ---- */

struct bw {
	uint8_t types[4096];
	size_t tlen;
	char strs[1024];
	size_t slen;
	uint32_t next_id;
};

static void bw_init(struct bw *w)
{
	memset(w, 0, sizeof(*w));
	w->slen = 1;		/* offset 0 is the empty string */
	w->next_id = 1;
}

static uint32_t bw_str(struct bw *w, const char *s)
{
	uint32_t off;

	if (!*s)
		return 0;
	off = (uint32_t)w->slen;
	memcpy(w->strs + w->slen, s, strlen(s) + 1);
	w->slen += strlen(s) + 1;
	return off;
}

static void bw_u32(struct bw *w, uint32_t v)
{
	memcpy(w->types + w->tlen, &v, 4);
	w->tlen += 4;
}

/* A type record header; returns its id. */
static uint32_t bw_type(struct bw *w, const char *name, unsigned kind,
			unsigned vlen, bool kflag, uint32_t size_or_type)
{
	bw_u32(w, bw_str(w, name));
	bw_u32(w, (uint32_t)vlen | (uint32_t)kind << 24 | (uint32_t)kflag << 31);
	bw_u32(w, size_or_type);
	return w->next_id++;
}

static uint32_t bw_int(struct bw *w, const char *name, unsigned bytes,
		       bool is_signed)
{
	uint32_t id = bw_type(w, name, BTF_KIND_INT, 0, false, bytes);

	bw_u32(w, (is_signed ? 1u : 0u) << 24 | bytes * 8);
	return id;
}

static void bw_member(struct bw *w, const char *name, uint32_t type,
		      uint32_t offset)
{
	bw_u32(w, bw_str(w, name));
	bw_u32(w, type);
	bw_u32(w, offset);
}

/* The blob: header, types, strings. */
static size_t bw_blob(const struct bw *w, uint8_t *out)
{
	uint32_t hdr[6];

	hdr[0] = 0xeb9f | 1u << 16;	/* magic, version 1, flags 0 */
	hdr[1] = 24;
	hdr[2] = 0;
	hdr[3] = (uint32_t)w->tlen;
	hdr[4] = (uint32_t)w->tlen;
	hdr[5] = (uint32_t)w->slen;
	memcpy(out, hdr, 24);
	memcpy(out + 24, w->types, w->tlen);
	memcpy(out + 24 + w->tlen, w->strs, w->slen);
	return 24 + w->tlen + w->slen;
}

/* ids of the sample blob */
enum {
	T_INT = 1, T_LONG, T_VOIDP, T_UINT, T_U32, T_CONST, T_VOLATILE,
	T_FWD, T_INNER, T_ANON_U, T_ANON_S, T_OUTER, T_CHAR, T_ARR, T_ENUM,
	T_PROTO, T_FUNC, T_OUTER_T, T_ENUM64, T_DEEP,
};

static size_t sample(uint8_t *out)
{
	struct bw w;

	bw_init(&w);
	assert_int_equal(bw_int(&w, "int", 4, true), T_INT);
	assert_int_equal(bw_int(&w, "long unsigned int", 8, false), T_LONG);
	assert_int_equal(bw_type(&w, "", BTF_KIND_PTR, 0, false, 0), T_VOIDP);
	assert_int_equal(bw_int(&w, "unsigned int", 4, false), T_UINT);
	assert_int_equal(bw_type(&w, "u32", BTF_KIND_TYPEDEF, 0, false, T_UINT),
			 T_U32);
	assert_int_equal(bw_type(&w, "", BTF_KIND_CONST, 0, false, T_U32),
			 T_CONST);
	assert_int_equal(bw_type(&w, "", BTF_KIND_VOLATILE, 0, false, T_CONST),
			 T_VOLATILE);
	/* a forward declaration of "outer" comes before the real one */
	assert_int_equal(bw_type(&w, "outer", BTF_KIND_FWD, 0, false, 0), T_FWD);
	assert_int_equal(bw_type(&w, "inner", BTF_KIND_STRUCT, 2, false, 16),
			 T_INNER);
	bw_member(&w, "a", T_VOLATILE, 0);
	bw_member(&w, "b", T_LONG, 64);
	assert_int_equal(bw_type(&w, "", BTF_KIND_UNION, 2, false, 8), T_ANON_U);
	bw_member(&w, "x", T_INT, 0);
	bw_member(&w, "y", T_LONG, 0);
	assert_int_equal(bw_type(&w, "", BTF_KIND_STRUCT, 3, false, 12),
			 T_ANON_S);
	bw_member(&w, "p", T_INT, 0);
	bw_member(&w, "q", T_INT, 32);
	bw_member(&w, "", T_DEEP, 64);
	/* kind_flag: member offsets carry bitfield sizes */
	assert_int_equal(bw_type(&w, "outer", BTF_KIND_STRUCT, 8, true, 64),
			 T_OUTER);
	bw_member(&w, "head", T_U32, 0);
	bw_member(&w, "flags", T_UINT, 3u << 24 | 32);
	bw_member(&w, "more", T_UINT, 5u << 24 | 35);
	bw_member(&w, "", T_ANON_U, 64);
	bw_member(&w, "", T_ANON_S, 128);
	bw_member(&w, "in", T_INNER, 256);
	bw_member(&w, "ptr", T_VOIDP, 384);
	bw_member(&w, "arr", T_ARR, 448);
	assert_int_equal(bw_int(&w, "char", 1, true), T_CHAR);
	assert_int_equal(bw_type(&w, "", BTF_KIND_ARRAY, 0, false, 0), T_ARR);
	bw_u32(&w, T_CHAR);
	bw_u32(&w, T_INT);
	bw_u32(&w, 6);
	assert_int_equal(bw_type(&w, "e", BTF_KIND_ENUM, 2, false, 4), T_ENUM);
	bw_u32(&w, bw_str(&w, "E_ONE"));
	bw_u32(&w, 1);
	bw_u32(&w, bw_str(&w, "E_MINUS"));
	bw_u32(&w, (uint32_t)-2);
	assert_int_equal(bw_type(&w, "", BTF_KIND_FUNC_PROTO, 2, false, T_INT),
			 T_PROTO);
	bw_u32(&w, bw_str(&w, "a"));
	bw_u32(&w, T_INT);
	bw_u32(&w, bw_str(&w, "b"));
	bw_u32(&w, T_LONG);
	assert_int_equal(bw_type(&w, "f", BTF_KIND_FUNC, 0, false, T_PROTO),
			 T_FUNC);
	assert_int_equal(bw_type(&w, "outer_t", BTF_KIND_TYPEDEF, 0, false,
				 T_OUTER), T_OUTER_T);
	assert_int_equal(bw_type(&w, "e64", BTF_KIND_ENUM64, 1, false, 8),
			 T_ENUM64);
	bw_u32(&w, bw_str(&w, "E_BIG"));
	bw_u32(&w, 0x89abcdef);
	bw_u32(&w, 0x01234567);
	/* an anonymous struct inside the anonymous struct */
	assert_int_equal(bw_type(&w, "", BTF_KIND_STRUCT, 1, false, 4), T_DEEP);
	bw_member(&w, "deepest", T_INT, 0);
	return bw_blob(&w, out);
}

static struct btf *parse_ok(const uint8_t *blob, size_t len)
{
	struct strbuf why = STRBUF_INIT;
	struct btf *b = NULL;

	assert_int_equal(btf_parse(blob, len, &b, &why), 0);
	assert_non_null(b);
	assert_int_equal(why.len, 0);
	strbuf_release(&why);
	return b;
}

static void test_parse_and_find(void **state)
{
	uint8_t blob[8192];
	size_t len = sample(blob);
	struct btf *b = parse_ok(blob, len);
	uint32_t id;

	(void)state;
	assert_int_equal(btf_blob_size(blob, len), len);
	assert_int_equal(btf_nr_types(b), T_DEEP + 1);
	assert_int_equal(btf_ptr_size(b), 8);
	assert_int_equal(btf_find(b, BTF_KIND_STRUCT, "outer", &id), 0);
	assert_int_equal(id, T_OUTER);
	/* any kind: the definition, not the forward declaration */
	assert_int_equal(btf_find(b, 0, "outer", &id), 0);
	assert_int_equal(id, T_OUTER);
	assert_int_equal(btf_find(b, BTF_KIND_FWD, "outer", &id), 0);
	assert_int_equal(id, T_FWD);
	assert_int_equal(btf_find(b, BTF_KIND_UNION, "outer", &id), -ENOENT);
	assert_int_equal(btf_find(b, 0, "nothing", &id), -ENOENT);
	assert_string_equal(btf_name(b, T_INNER), "inner");
	assert_string_equal(btf_name(b, T_ANON_U), "");
	assert_string_equal(btf_name(b, 9999), "");
	assert_int_equal(btf_kind(b, T_FUNC), BTF_KIND_FUNC);
	assert_int_equal(btf_kind(b, 0), BTF_KIND_UNKN);
	assert_int_equal(btf_ref(b, T_FUNC), T_PROTO);
	assert_int_equal(btf_vlen(b, T_PROTO), 2);
	btf_free(b);
}

static void test_qualifier_chains(void **state)
{
	uint8_t blob[8192];
	size_t len = sample(blob);
	struct btf *b = parse_ok(blob, len);
	uint64_t size;
	unsigned bytes;
	bool sgn;

	(void)state;
	/* volatile const u32 -> unsigned int */
	assert_int_equal(btf_resolve(b, T_VOLATILE), T_UINT);
	assert_int_equal(btf_resolve(b, T_OUTER_T), T_OUTER);
	assert_int_equal(btf_resolve(b, T_INT), T_INT);
	assert_int_equal(btf_type_size(b, T_VOLATILE, &size), 0);
	assert_int_equal(size, 4);
	assert_int_equal(btf_type_size(b, T_OUTER_T, &size), 0);
	assert_int_equal(size, 64);
	assert_int_equal(btf_type_size(b, T_VOIDP, &size), 0);
	assert_int_equal(size, 8);
	assert_int_equal(btf_type_size(b, T_ARR, &size), 0);
	assert_int_equal(size, 6);
	assert_int_equal(btf_type_size(b, T_FUNC, &size), -EINVAL);
	assert_int_equal(btf_int(b, T_CONST, &bytes, &sgn), 0);
	assert_int_equal(bytes, 4);
	assert_false(sgn);
	assert_int_equal(btf_int(b, T_INT, &bytes, &sgn), 0);
	assert_true(sgn);
	assert_int_equal(btf_int(b, T_OUTER, &bytes, &sgn), -EINVAL);
	btf_free(b);
}

static void member(const struct btf *b, uint32_t id, const char *path,
		   uint64_t bit, uint32_t bits, uint64_t size, uint32_t type)
{
	struct btf_member_info m;

	assert_int_equal(btf_member(b, id, path, &m), 0);
	assert_int_equal(m.bit_offset, bit);
	assert_int_equal(m.bit_size, bits);
	assert_int_equal(m.size, size);
	assert_int_equal(m.type, type);
}

static void test_members(void **state)
{
	uint8_t blob[8192];
	size_t len = sample(blob);
	struct btf *b = parse_ok(blob, len);
	struct btf_member_info m;
	const char *name;

	(void)state;
	member(b, T_OUTER, "head", 0, 0, 4, T_U32);
	/* bitfields under kind_flag */
	member(b, T_OUTER, "flags", 32, 3, 4, T_UINT);
	member(b, T_OUTER, "more", 35, 5, 4, T_UINT);
	/* members of anonymous unions and structs, as if direct */
	member(b, T_OUTER, "x", 64, 0, 4, T_INT);
	member(b, T_OUTER, "y", 64, 0, 8, T_LONG);
	member(b, T_OUTER, "q", 128 + 32, 0, 4, T_INT);
	member(b, T_OUTER, "deepest", 128 + 64, 0, 4, T_INT);
	/* paths through nested structs, and through a typedef */
	member(b, T_OUTER, "in.b", 256 + 64, 0, 8, T_LONG);
	member(b, T_OUTER_T, "in.a", 256, 0, 4, T_VOLATILE);
	member(b, T_OUTER, "ptr", 384, 0, 8, T_VOIDP);
	member(b, T_OUTER, "arr", 448, 0, 6, T_ARR);
	assert_int_equal(btf_member(b, T_OUTER, "nope", &m), -ENOENT);
	assert_int_equal(btf_member(b, T_OUTER, "in.nope", &m), -ENOENT);
	assert_int_equal(btf_member(b, T_OUTER, "", &m), -ENOENT);
	assert_int_equal(btf_member(b, T_OUTER, "in.", &m), -ENOENT);
	/* a path into a member that is no struct */
	assert_int_equal(btf_member(b, T_OUTER, "head.x", &m), -EINVAL);
	assert_int_equal(btf_member(b, T_INT, "x", &m), -EINVAL);
	assert_int_equal(btf_member_at(b, T_OUTER, 1, &name, &m), 0);
	assert_string_equal(name, "flags");
	assert_int_equal(m.bit_size, 3);
	assert_int_equal(btf_member_at(b, T_OUTER, 3, &name, &m), 0);
	assert_string_equal(name, "");
	assert_int_equal(btf_member_at(b, T_OUTER, 8, &name, &m), -ENOENT);
	btf_free(b);
}

static void test_enums_arrays(void **state)
{
	uint8_t blob[8192];
	size_t len = sample(blob);
	struct btf *b = parse_ok(blob, len);
	uint32_t elem, count;
	int64_t v;

	(void)state;
	assert_int_equal(btf_enum_value(b, "E_ONE", &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(btf_enum_value(b, "E_MINUS", &v), 0);
	assert_int_equal(v, -2);
	assert_int_equal(btf_enum_value(b, "E_BIG", &v), 0);
	assert_true(v == 0x0123456789abcdefll);
	assert_int_equal(btf_enum_value(b, "E_NONE", &v), -ENOENT);
	assert_int_equal(btf_array(b, T_ARR, &elem, &count), 0);
	assert_int_equal(elem, T_CHAR);
	assert_int_equal(count, 6);
	assert_int_equal(btf_array(b, T_INT, &elem, &count), -EINVAL);
	btf_free(b);
}

/* ---- hostile blobs ---- */

static void parse_fails(const uint8_t *blob, size_t len, const char *what)
{
	struct strbuf why = STRBUF_INIT;
	struct btf *b = (struct btf *)blob;	/* must be reset to NULL */

	assert_int_equal(btf_parse(blob, len, &b, &why), -EINVAL);
	assert_null(b);
	if (!strstr(why.buf, what))
		fail_msg("expected '%s' in '%s'", what, why.buf);
	strbuf_release(&why);
}

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

static void test_bad_headers(void **state)
{
	uint8_t blob[8192], copy[8192];
	size_t len = sample(blob), i;

	(void)state;
	parse_fails(blob, 10, "shorter than its header");
	memcpy(copy, blob, len);
	copy[0] = 0x9e;
	parse_fails(copy, len, "no BTF magic");
	assert_int_equal(btf_blob_size(copy, len), 0);
	memcpy(copy, blob, len);
	copy[2] = 2;
	parse_fails(copy, len, "version 2");
	memcpy(copy, blob, len);
	put32(copy + 4, 100000);	/* hdr_len past the end */
	parse_fails(copy, len, "does not fit");
	memcpy(copy, blob, len);
	put32(copy + 12, (uint32_t)len);	/* type section too long */
	parse_fails(copy, len, "does not fit");
	memcpy(copy, blob, len);
	put32(copy + 20, 0xfffffff0u);	/* string section too long */
	parse_fails(copy, len, "does not fit");
	/* every truncation of a valid blob fails cleanly */
	for (i = 0; i < len; i++) {
		struct strbuf why = STRBUF_INIT;
		struct btf *b = NULL;

		assert_int_equal(btf_parse(blob, i, &b, &why), -EINVAL);
		assert_null(b);
		assert_true(why.len > 0);
		strbuf_release(&why);
	}
}

static void test_bad_strings(void **state)
{
	uint8_t blob[8192], copy[8192];
	size_t len = sample(blob);
	uint32_t tlen;

	(void)state;
	memcpy(&tlen, blob + 12, 4);
	/* the string section must end with a NUL */
	memcpy(copy, blob, len);
	copy[len - 1] = 'x';
	parse_fails(copy, len, "string section");
	/* a type name beyond the strings */
	memcpy(copy, blob, len);
	put32(copy + 24 + 12 * 0, 5000);	/* INT "int": name_off */
	parse_fails(copy, len, "name offset 5000");
	/* a member name beyond the strings: first member of "inner" */
	memcpy(copy, blob, len);
	{
		/* records before T_INNER: 3 INT (16 bytes each), PTR, TYPEDEF,
		 * CONST, VOLATILE, FWD (12 each) */
		size_t inner = 24 + 3 * 16 + 5 * 12;

		put32(copy + inner + 12, 7777);
		parse_fails(copy, len, "string that does not exist");
	}
}

static void test_bad_types(void **state)
{
	uint8_t blob[8192], copy[8192];
	size_t len = sample(blob);
	size_t inner = 24 + 3 * 16 + 5 * 12;

	(void)state;
	/* a member type id that does not exist */
	memcpy(copy, blob, len);
	put32(copy + inner + 12 + 4, 4242);
	parse_fails(copy, len, "type id or string that does not exist");
	/* a pointer to a type that does not exist */
	memcpy(copy, blob, len);
	put32(copy + 24 + 2 * 16 + 8, 4242);
	parse_fails(copy, len, "type id");
	/* an unknown kind */
	memcpy(copy, blob, len);
	put32(copy + 24 + 4, 31u << 24);
	parse_fails(copy, len, "unknown kind 31");
	/* a struct whose members run past the type section */
	memcpy(copy, blob, len);
	put32(copy + inner + 4, BTF_KIND_STRUCT << 24 | 0xffff);
	parse_fails(copy, len, "runs past the type section");
}

static void test_reference_loops(void **state)
{
	struct bw w;
	uint8_t blob[4096];
	size_t len;
	struct btf *b;
	uint64_t size;
	struct btf_member_info m;

	(void)state;
	bw_init(&w);
	/* 1: typedef -> 2, 2: const -> 1 */
	bw_type(&w, "loop", BTF_KIND_TYPEDEF, 0, false, 2);
	bw_type(&w, "", BTF_KIND_CONST, 0, false, 1);
	/* 3: a struct whose member is itself through the loop */
	bw_type(&w, "s", BTF_KIND_STRUCT, 1, false, 8);
	bw_member(&w, "m", 1, 0);
	/* 4: an array of itself */
	bw_type(&w, "", BTF_KIND_ARRAY, 0, false, 0);
	bw_u32(&w, 4);
	bw_u32(&w, 4);
	bw_u32(&w, 2);
	len = bw_blob(&w, blob);
	b = parse_ok(blob, len);
	assert_int_equal(btf_resolve(b, 1), 0);
	assert_int_equal(btf_type_size(b, 1, &size), -EINVAL);
	assert_int_equal(btf_type_size(b, 4, &size), -EINVAL);
	assert_int_equal(btf_member(b, 3, "m", &m), 0);
	assert_int_equal(m.size, 0);	/* unknown, not invented */
	assert_int_equal(btf_member(b, 3, "m.x", &m), -EINVAL);
	btf_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_and_find),
		cmocka_unit_test(test_qualifier_chains),
		cmocka_unit_test(test_members),
		cmocka_unit_test(test_enums_arrays),
		cmocka_unit_test(test_bad_headers),
		cmocka_unit_test(test_bad_strings),
		cmocka_unit_test(test_bad_types),
		cmocka_unit_test(test_reference_loops),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
