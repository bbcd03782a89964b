// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit tests of the kernel symbol table (os-awareness/symtab.c): adds,
 * sorting with ties, lookups by name (a global symbol wins) and by
 * address, iteration, the KASLR shift, growth past the first index; and
 * the two file readers that fill it (System.map and ISF symbols).
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "os-awareness/isf.h"
#include "os-awareness/symtab.h"
#include "os-awareness/sysmap.h"

static void test_lookups(void **state)
{
	struct symtab st;
	const struct ksym *k;
	uint64_t a;

	(void)state;
	symtab_init(&st);
	symtab_add(&st, 0x3000, 't', "dup", 3);
	symtab_add(&st, 0x1000, 'T', "first", 5);
	symtab_add(&st, 0x2000, 'T', "dup", 3);
	symtab_add(&st, 0x2000, 'd', "same_addr", 9);
	symtab_add(&st, 0x10, 'A', "percpu", 6);
	symtab_add(&st, 0x3100, 'T', "global_above", 12);
	symtab_add(&st, 0x3080, 't', "global_above", 12);
	symtab_add(&st, 0x3300, 't', "two_locals", 10);
	symtab_add(&st, 0x3200, 't', "two_locals", 10);
	symtab_finish(&st);
	assert_int_equal(symtab_count(&st), 9);
	/* of several symbols of a name: a global one, even above a local */
	assert_true(symtab_lookup(&st, "global_above", &a) && a == 0x3100);
	/* of locals only: the first by address */
	assert_true(symtab_lookup(&st, "two_locals", &a) && a == 0x3200);
	/* the global one wins, whatever the order of the adds */
	assert_true(symtab_lookup(&st, "dup", &a));
	assert_true(a == 0x2000);
	k = symtab_find(&st, "dup");
	assert_non_null(k);
	assert_int_equal(k->type, 'T');
	assert_false(symtab_lookup(&st, "absent", &a));
	assert_null(symtab_find(&st, "absent"));
	assert_true(symtab_lookup(&st, "first", NULL));
	/* by address: the greatest <= addr; of equal ones the last added */
	assert_null(symtab_at(&st, 0x5));
	k = symtab_at(&st, 0x10);
	assert_string_equal(symtab_name(&st, k), "percpu");
	k = symtab_at(&st, 0x1fff);
	assert_string_equal(symtab_name(&st, k), "first");
	k = symtab_at(&st, 0x2004);
	assert_string_equal(symtab_name(&st, k), "same_addr");
	k = symtab_at(&st, 0x30ff);
	assert_true(k->addr == 0x3080);
	k = symtab_at(&st, 0xffffffff);
	assert_true(k->addr == 0x3300);
	/* a slide moves what is above min only */
	symtab_shift(&st, 0x1000, 0x200000);
	assert_true(symtab_lookup(&st, "first", &a) && a == 0x201000);
	assert_true(symtab_lookup(&st, "percpu", &a) && a == 0x10);
	k = symtab_at(&st, 0x1fff);
	assert_string_equal(symtab_name(&st, k), "percpu");
	symtab_release(&st);
	assert_int_equal(symtab_count(&st), 0);
	assert_null(symtab_find(&st, "first"));
	symtab_release(&st);	/* twice is harmless */
}

static void test_iterate(void **state)
{
	static const struct { uint64_t addr; const char *name; } in[] = {
		{ 0x500, "e" }, { 0x100, "a" }, { 0x300, "c1" },
		{ 0x300, "c2" }, { 0x200, "b" }, { 0x300, "c3" },
	};
	static const char *const order[] = { "a", "b", "c1", "c2", "c3", "e" };
	struct symtab st;
	const struct ksym *k;
	size_t i, n = 0;

	(void)state;
	symtab_init(&st);
	assert_null(symtab_next(&st, NULL));	/* empty */
	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++)
		symtab_add(&st, in[i].addr, 'T', in[i].name,
			   strlen(in[i].name));
	symtab_finish(&st);
	/* address order, ties in the order they were added */
	for (k = symtab_next(&st, NULL); k; k = symtab_next(&st, k)) {
		assert_true(n < 6);
		assert_string_equal(symtab_name(&st, k), order[n]);
		n++;
	}
	assert_int_equal(n, 6);
	symtab_release(&st);
}

static void test_names(void **state)
{
	const char text[] = "name_with_a_tail_not_part_of_it";
	struct symtab st;
	uint64_t a;

	(void)state;
	symtab_init(&st);
	/* a name need not be NUL-terminated: only len bytes count */
	symtab_add(&st, 0x42, 'T', text, 4);
	symtab_add(&st, 0x43, 'D', "", 0);
	symtab_finish(&st);
	assert_true(symtab_lookup(&st, "name", &a) && a == 0x42);
	assert_false(symtab_lookup(&st, text, NULL));
	assert_true(symtab_lookup(&st, "", &a) && a == 0x43);
	/* adds after a finish are seen after the next finish */
	symtab_add(&st, 0x40, 'D', "late", 4);
	symtab_finish(&st);
	assert_true(symtab_lookup(&st, "late", &a) && a == 0x40);
	assert_string_equal(symtab_name(&st, symtab_at(&st, 0x41)), "late");
	assert_true(symtab_lookup(&st, "name", &a) && a == 0x42);
	symtab_release(&st);
}

/* Enough symbols to grow the arrays and the index many times; each one
 * found by name and by address. */
static void test_many(void **state)
{
	enum { N = 50000 };
	struct symtab st;
	char name[32];
	uint64_t a;
	unsigned i;

	(void)state;
	symtab_init(&st);
	for (i = 0; i < N; i++) {
		/* added in a scrambled address order */
		unsigned j = (i * 7919u) % N;
		int n = snprintf(name, sizeof(name), "sym_%u", j);

		symtab_add(&st, 0xffffffff81000000ull + 16ull * j,
			   j % 3 ? 't' : 'T', name, (size_t)n);
	}
	symtab_finish(&st);
	assert_int_equal(symtab_count(&st), N);
	for (i = 0; i < N; i++) {
		const struct ksym *k;

		snprintf(name, sizeof(name), "sym_%u", i);
		if (!symtab_lookup(&st, name, &a) ||
		    a != 0xffffffff81000000ull + 16ull * i)
			fail_msg("%s not found at its address", name);
		k = symtab_at(&st, 0xffffffff81000000ull + 16ull * i + 15);
		if (!k || strcmp(symtab_name(&st, k), name))
			fail_msg("the symbol at %s's address is %s", name,
				 k ? symtab_name(&st, k) : "none");
	}
	symtab_release(&st);
}

static void test_sysmap(void **state)
{
	static const char map[] =
		"ffffffff81000000 T _text\n"
		"\n"
		"0000000000000000 A fixed_percpu_data\r\n"
		"ffffffff82000000 D linux_banner\n"
		"ffffffffa0000000 t mod_fn\t[some_mod]\n";
	static const char bad[] = "ffffffff81000000 T ok\nnot a line\n";
	struct strbuf why = STRBUF_INIT;
	struct symtab st;
	uint64_t a;

	(void)state;
	symtab_init(&st);
	assert_int_equal(sysmap_parse(map, strlen(map), "System.map", &st,
				      &why), 4);
	assert_true(symtab_lookup(&st, "linux_banner", &a) &&
		    a == 0xffffffff82000000ull);
	assert_true(symtab_lookup(&st, "mod_fn", &a) &&
		    a == 0xffffffffa0000000ull);
	assert_int_equal(symtab_find(&st, "_text")->type, 'T');
	symtab_release(&st);

	/* a bad line is an error naming it */
	symtab_init(&st);
	assert_int_equal(sysmap_parse(bad, strlen(bad), "x.map", &st, &why),
			 -EINVAL);
	assert_non_null(strstr(why.buf, "x.map line 2"));
	strbuf_reset(&why);
	assert_int_equal(sysmap_parse("\n\n", 2, "empty.map", &st, &why),
			 -EINVAL);
	assert_non_null(strstr(why.buf, "no symbols"));
	symtab_release(&st);
	strbuf_release(&why);
}

static void test_isf(void **state)
{
	static const char json[] =
		"{\"metadata\": {\"format\": \"6.2.0\", \"linux\": {}},"
		" \"base_types\": {}, \"user_types\": {}, \"enums\": {},"
		" \"symbols\": {"
		"  \"init_task\": {\"address\": 18446744071600000000},"
		"  \"no_address\": {\"type\": {\"kind\": \"base\"}},"
		"  \"jiffies\": {\"address\": 4096}}}";
	struct strbuf why = STRBUF_INIT;
	struct symtab st;
	struct isf *isf;
	uint64_t a;

	(void)state;
	assert_int_equal(isf_parse(json, strlen(json), "p.json", &isf, &why),
			 0);
	symtab_init(&st);
	symtab_add(&st, 0x10, 'A', "already_there", 13);
	/* symbols with an address only; what was in the table stays */
	assert_int_equal(isf_symbols(isf, &st), 2);
	assert_int_equal(symtab_count(&st), 3);
	assert_true(symtab_lookup(&st, "init_task", &a) &&
		    a == 18446744071600000000ull);
	assert_true(symtab_lookup(&st, "jiffies", &a) && a == 4096);
	assert_int_equal(symtab_find(&st, "jiffies")->type, '?');
	assert_false(symtab_lookup(&st, "no_address", NULL));
	assert_true(symtab_lookup(&st, "already_there", &a) && a == 0x10);
	symtab_release(&st);
	isf_free(isf);
	strbuf_release(&why);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookups),
		cmocka_unit_test(test_iterate),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_sysmap),
		cmocka_unit_test(test_isf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
