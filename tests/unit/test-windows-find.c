// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit tests of finding a Windows kernel and its table (windows-find.c) on a
 * synthetic guest: the image found from LSTAR past unmapped and decoy pages,
 * a small ISF table chosen by GUID, and a message for every missing piece.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <setjmp.h>
#include <cmocka.h>

#include "os-awareness/windows-internal.h"
#include "stub/base/log.h"
#include "stub/guest/vmem.h"
#include "tests/unit/unit-helpers.h"
#include "tests/unit/unit-helpers.c"

extern const struct os_ops os_windows;

#define DM 0xffff888000000000ull
#define NFRAMES 1024u
#define KBASE 0xfffff80000000000ull
#define IMG_PA 0x100000u		/* RVA 0, 0x2000, 0x3000 */
#define KPCR_PA 0x10000u
#define EPROC_PA 0x20000u
#define ETHR_PA 0x21000u
#define STACK_PA 0x30000u
#define GUID_STR "00112233445566778899AABBCCDDEEFF"
#define AGE 2

struct synth {
	struct fake_target *f;
	struct vmem *mem;
	struct os_env env;
	char dir[64];
	char table[256];
};

static uint64_t va(uint64_t pa) { return DM + pa; }

static void p64(struct synth *s, uint64_t pa, uint64_t v)
{
	memcpy(fake_phys(s->f, pa), &v, 8);
}

static void p32(struct synth *s, uint64_t pa, uint32_t v)
{
	memcpy(fake_phys(s->f, pa), &v, 4);
}

static void p16(struct synth *s, uint64_t pa, uint16_t v)
{
	memcpy(fake_phys(s->f, pa), &v, 2);
}

static int regs_cb(void *ctx, unsigned vcpu, struct x86_regs *r)
{
	return target_get_regs(&((struct fake_target *)ctx)->base, vcpu, r);
}

/* The table: the layout of test-windows-walk.c, as Volatility 3 writes it. */
static const char TABLE[] =
"{\"metadata\": {\"format\": \"6.1.0\", \"producer\": {\"name\": \"test\", \"version\": \"1\"},"
" \"windows\": {\"pdb\": {\"GUID\": \"%s\", \"age\": %d, \"database\": \"test.pdb\", \"machine_type\": 34404}}},"
" \"base_types\": {"
"  \"pointer\": {\"size\": 8, \"signed\": false, \"kind\": \"int\", \"endian\": \"little\"},"
"  \"unsigned char\": {\"size\": 1, \"signed\": false, \"kind\": \"char\", \"endian\": \"little\"},"
"  \"unsigned short\": {\"size\": 2, \"signed\": false, \"kind\": \"int\", \"endian\": \"little\"},"
"  \"unsigned long\": {\"size\": 4, \"signed\": false, \"kind\": \"int\", \"endian\": \"little\"},"
"  \"unsigned long long\": {\"size\": 8, \"signed\": false, \"kind\": \"int\", \"endian\": \"little\"},"
"  \"void\": {\"size\": 0, \"signed\": false, \"kind\": \"void\", \"endian\": \"little\"}},"
" \"enums\": {\"_KTHREAD_STATE\": {\"base\": \"int\", \"size\": 4,"
"  \"constants\": {\"Ready\": 1, \"Running\": 2, \"Waiting\": 5}}},"
" \"user_types\": {"
"  \"_LIST_ENTRY\": {\"kind\": \"struct\", \"size\": 16, \"fields\": {"
"   \"Flink\": {\"offset\": 0, \"type\": {\"kind\": \"pointer\", \"subtype\": {\"kind\": \"struct\", \"name\": \"_LIST_ENTRY\"}}},"
"   \"Blink\": {\"offset\": 8, \"type\": {\"kind\": \"pointer\", \"subtype\": {\"kind\": \"struct\", \"name\": \"_LIST_ENTRY\"}}}}},"
"  \"_CLIENT_ID\": {\"kind\": \"struct\", \"size\": 16, \"fields\": {"
"   \"UniqueProcess\": {\"offset\": 0, \"type\": {\"kind\": \"pointer\", \"subtype\": {\"kind\": \"base\", \"name\": \"void\"}}},"
"   \"UniqueThread\": {\"offset\": 8, \"type\": {\"kind\": \"pointer\", \"subtype\": {\"kind\": \"base\", \"name\": \"void\"}}}}},"
"  \"_UNICODE_STRING\": {\"kind\": \"struct\", \"size\": 16, \"fields\": {"
"   \"Length\": {\"offset\": 0, \"type\": {\"kind\": \"base\", \"name\": \"unsigned short\"}},"
"   \"Buffer\": {\"offset\": 8, \"type\": {\"kind\": \"pointer\", \"subtype\": {\"kind\": \"base\", \"name\": \"unsigned short\"}}}}},"
"  \"_KPCR\": {\"kind\": \"struct\", \"size\": 640, \"fields\": {"
"   \"Self\": {\"offset\": 24, \"type\": {\"kind\": \"pointer\", \"subtype\": {\"kind\": \"struct\", \"name\": \"_KPCR\"}}},"
"   \"CurrentPrcb\": {\"offset\": 32, \"type\": {\"kind\": \"pointer\", \"subtype\": {\"kind\": \"struct\", \"name\": \"_KPRCB\"}}},"
"   \"Prcb\": {\"offset\": 384, \"type\": {\"kind\": \"struct\", \"name\": \"_KPRCB\"}}}},"
"  \"_KPRCB\": {\"kind\": \"struct\", \"size\": 256, \"fields\": {"
"   \"CurrentThread\": {\"offset\": 8, \"type\": {\"kind\": \"pointer\", \"subtype\": {\"kind\": \"struct\", \"name\": \"_KTHREAD\"}}},"
"   \"IdleThread\": {\"offset\": 24, \"type\": {\"kind\": \"pointer\", \"subtype\": {\"kind\": \"struct\", \"name\": \"_KTHREAD\"}}},"
"   \"Number\": {\"offset\": 36, \"type\": {\"kind\": \"base\", \"name\": \"unsigned long\"}}}},"
"  \"_KPROCESS\": {\"kind\": \"struct\", \"size\": 128, \"fields\": {"
"   \"DirectoryTableBase\": {\"offset\": 40, \"type\": {\"kind\": \"base\", \"name\": \"unsigned long long\"}}}},"
"  \"_EPROCESS\": {\"kind\": \"struct\", \"size\": 256, \"fields\": {"
"   \"Pcb\": {\"offset\": 0, \"type\": {\"kind\": \"struct\", \"name\": \"_KPROCESS\"}},"
"   \"ThreadListHead\": {\"offset\": 64, \"type\": {\"kind\": \"struct\", \"name\": \"_LIST_ENTRY\"}},"
"   \"UniqueProcessId\": {\"offset\": 128, \"type\": {\"kind\": \"pointer\", \"subtype\": {\"kind\": \"base\", \"name\": \"void\"}}},"
"   \"ActiveProcessLinks\": {\"offset\": 136, \"type\": {\"kind\": \"struct\", \"name\": \"_LIST_ENTRY\"}},"
"   \"ImageFileName\": {\"offset\": 176, \"type\": {\"kind\": \"array\", \"count\": 15, \"subtype\": {\"kind\": \"base\", \"name\": \"unsigned char\"}}}}},"
"  \"_KTHREAD\": {\"kind\": \"struct\", \"size\": 64, \"fields\": {"
"   \"State\": {\"offset\": 16, \"type\": {\"kind\": \"base\", \"name\": \"unsigned char\"}},"
"   \"KernelStack\": {\"offset\": 24, \"type\": {\"kind\": \"pointer\", \"subtype\": {\"kind\": \"base\", \"name\": \"void\"}}}}},"
"  \"_ETHREAD\": {\"kind\": \"struct\", \"size\": 256, \"fields\": {"
"   \"Tcb\": {\"offset\": 0, \"type\": {\"kind\": \"struct\", \"name\": \"_KTHREAD\"}},"
"   \"ThreadListEntry\": {\"offset\": 64, \"type\": {\"kind\": \"struct\", \"name\": \"_LIST_ENTRY\"}},"
"   \"Cid\": {\"offset\": 96, \"type\": {\"kind\": \"struct\", \"name\": \"_CLIENT_ID\"}}}}%s},"
" \"symbols\": {\"PsActiveProcessHead\": {\"address\": 8192},"
"  \"KiProcessorBlock\": {\"address\": 8224}, \"NtBuildNumber\": {\"address\": 8448}}}";

static void write_table(struct synth *s, const char *path, const char *guid,
			const char *extra_types, bool drop_state)
{
	FILE *f = fopen(path, "w");
	char *text = xstrfmt(TABLE, guid, AGE, extra_types);

	assert_non_null(f);
	if (drop_state) {
		/* a table without _KTHREAD.State */
		char *p = strstr(text, "\"State\"");

		assert_non_null(p);
		memcpy(p, "\"Stat_\"", 7);
	}
	fputs(text, f);
	fclose(f);
	free(text);
	(void)s;
}

/* The kernel image: headers with an RSDS record at RVA 0, the globals
 * at RVA 0x2000, a decoy "MZ" page at 0x3000; nothing else mapped. */
static void mk_image(struct synth *s)
{
	uint64_t h = IMG_PA, lfanew = 0x80, coff = lfanew + 4, opt = coff + 20;
	static const uint8_t guid[16] = { 0x33, 0x22, 0x11, 0x00, 0x55, 0x44,
					  0x77, 0x66, 0x88, 0x99, 0xaa, 0xbb,
					  0xcc, 0xdd, 0xee, 0xff };

	/* page tables: PML4[496] -> PDPT 0x4000 -> PD 0x5000 -> PT 0x6000 */
	p64(s, 0x1000 + 8 * ((KBASE >> 39) & 511), 0x4000 | 3);
	p64(s, 0x4000, 0x5000 | 3);
	p64(s, 0x5000, 0x6000 | 3);
	p64(s, 0x6000 + 8 * 0, (IMG_PA + 0x0000) | 3);
	p64(s, 0x6000 + 8 * 2, (IMG_PA + 0x1000) | 3);
	p64(s, 0x6000 + 8 * 3, (IMG_PA + 0x2000) | 3);
	*fake_phys(s->f, h) = 'M';
	*fake_phys(s->f, h + 1) = 'Z';
	p32(s, h + 0x3c, (uint32_t)lfanew);
	memcpy(fake_phys(s->f, h + lfanew), "PE\0\0", 4);
	p16(s, h + coff, 0x8664);
	p16(s, h + coff + 16, 0xf0);
	p16(s, h + coff + 18, 0x22);
	p16(s, h + opt, 0x20b);
	p32(s, h + opt + 56, 0x20000);
	p32(s, h + opt + 60, 0x1000);
	p32(s, h + opt + 108, 16);
	p32(s, h + opt + 112 + 48, 0x400);
	p32(s, h + opt + 112 + 52, 28);
	p32(s, h + 0x400 + 12, 2);
	p32(s, h + 0x400 + 16, 24 + 9);
	p32(s, h + 0x400 + 20, 0x420);
	memcpy(fake_phys(s->f, h + 0x420), "RSDS", 4);
	memcpy(fake_phys(s->f, h + 0x424), guid, 16);
	p32(s, h + 0x434, AGE);
	memcpy(fake_phys(s->f, h + 0x438), "test.pdb", 9);
	/* the decoy: MZ without a PE header */
	*fake_phys(s->f, IMG_PA + 0x2000) = 'M';
	*fake_phys(s->f, IMG_PA + 0x2001) = 'Z';
}

/* System (pid 4) with one waiting thread (tid 8), running on vCPU 0. */
static void mk_kernel_data(struct synth *s)
{
	uint64_t glob = IMG_PA + 0x1000;	/* RVA 0x2000 */
	uint64_t head = KBASE + 0x2000, ep = EPROC_PA, et = ETHR_PA;

	p64(s, glob + 0, va(ep + 136));
	p64(s, glob + 8, va(ep + 136));
	p64(s, ep + 136, head);
	p64(s, ep + 144, head);
	p64(s, ep + 40, 0x1000);
	p64(s, ep + 128, 4);
	memcpy(fake_phys(s->f, ep + 176), "System", 7);
	p64(s, ep + 64, va(et + 64));
	p64(s, ep + 72, va(et + 64));
	p64(s, et + 64, va(ep + 64));
	p64(s, et + 72, va(ep + 64));
	p64(s, et + 96, 4);
	p64(s, et + 104, 8);
	*fake_phys(s->f, et + 16) = 2;
	p64(s, et + 24, va(STACK_PA));
	/* the KPCR, and KiProcessorBlock at RVA 0x2020 */
	p64(s, KPCR_PA + 24, va(KPCR_PA));
	p64(s, KPCR_PA + 32, va(KPCR_PA + 384));
	p64(s, KPCR_PA + 384 + 8, va(et));
	p64(s, glob + 0x20, va(KPCR_PA + 384));
	p32(s, glob + 0x100, 0xf0001234);
}

static struct synth *setup(void)
{
	struct synth *s = xcalloc(1, sizeof(*s));
	struct x86_regs *r;

	s->f = fake_target_new(NFRAMES, 1, 64, 16, 0);
	p64(s, 0x1000 + 8 * ((DM >> 39) & 511), 0x2000 | 3);
	p64(s, 0x2000, 0x83);
	mk_image(s);
	mk_kernel_data(s);
	r = &s->f->regs[0];
	memset(r, 0, sizeof(*r));
	r->cr0 = X86_CR0_PG | X86_CR0_PE;
	r->cr4 = X86_CR4_PAE;
	r->efer = X86_EFER_LME | X86_EFER_LMA;
	r->cr3 = 0x1000;
	r->lstar = KBASE + 0x5123;	/* an unmapped page of the image */
	r->seg[X86_CS].sel = 0x10;
	r->seg[X86_GS].base = va(KPCR_PA);
	x86_set_valid(r, XF_CR0);
	x86_set_valid(r, XF_CR3);
	x86_set_valid(r, XF_CR4);
	x86_set_valid(r, XF_EFER);
	x86_set_valid(r, XF_SYSCALL);
	x86_set_valid(r, XF_SEL0 + X86_CS);
	x86_set_valid(r, XF_SEGCACHE0 + X86_GS);
	s->mem = vmem_new(&s->f->base, 256, false);
	s->env.mem = s->mem;
	s->env.nr_vcpus = 1;
	s->env.guest_bits = 64;
	s->env.vcpu_regs = regs_cb;
	s->env.ctx = s->f;
	snprintf(s->dir, sizeof(s->dir), "/tmp/xenstub-winfind-XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	return s;
}

static void rm(const char *fmt, const char *a)
{
	char *p = xstrfmt(fmt, a);

	unlink(p);
	rmdir(p);
	free(p);
}

static void teardown(struct synth *s)
{
	char *p = xstrfmt("%s/windows/test.pdb/%s-%d.json", s->dir, GUID_STR, AGE);

	unlink(p);
	free(p);
	rm("%s/other.json", s->dir);
	rm("%s/windows/test.pdb", s->dir);
	rm("%s/windows", s->dir);
	rmdir(s->dir);
	vmem_free(s->mem);
	fake_target_free(s->f);
	free(s);
}

/* DIR/windows/test.pdb/GUID-AGE.json */
static void install_table(struct synth *s, const char *guid, bool drop_state)
{
	char *d = xstrfmt("%s/windows", s->dir);

	mkdir(d, 0700);
	free(d);
	d = xstrfmt("%s/windows/test.pdb", s->dir);
	mkdir(d, 0700);
	free(d);
	snprintf(s->table, sizeof(s->table), "%s/windows/test.pdb/%s-%d.json",
		 s->dir, GUID_STR, AGE);
	write_table(s, s->table, guid, "", drop_state);
}

static void test_found_from_lstar(void **state)
{
	struct synth *s = setup();
	struct strbuf why = STRBUF_INIT, out = STRBUF_INIT;
	struct os *os = NULL;
	struct win *w;

	(void)state;
	install_table(s, GUID_STR, false);
	s->env.profile_dir = s->dir;
	assert_int_equal(os_windows.detect(&s->env, &os, &why), 1);
	assert_non_null(os);
	os->ops = &os_windows;
	w = to_win(os);
	assert_int_equal(w->kbase, KBASE);
	assert_int_equal(w->ksize, 0x20000);
	assert_non_null(strstr(w->found_by.buf, "LSTAR"));
	assert_string_equal(w->cv.pdb_name, "test.pdb");
	assert_string_equal(w->cv.guid_str, GUID_STR);
	assert_string_equal(w->profile, s->table);
	assert_int_equal(w->nprocs, 1);
	assert_int_equal(os->ntasks, 1);
	assert_int_equal(os->tasks[0].tid, OS_TID_BASE + 8);
	assert_string_equal(os->tasks[0].state, "Running");
	assert_int_equal(os->tasks[0].vcpu, 0);
	assert_true(w->have_build);
	os_windows.describe(os, &out);
	assert_non_null(strstr(out.buf, "build 4660"));
	assert_non_null(strstr(out.buf, s->table));
	assert_non_null(strstr(out.buf, "vCPU 0: KPCR"));
	os_windows.free(os);
	strbuf_release(&why);
	strbuf_release(&out);
	teardown(s);
}

static void test_no_table(void **state)
{
	struct synth *s = setup();
	struct strbuf why = STRBUF_INIT;
	struct os *os = NULL;

	(void)state;
	/* nothing given */
	assert_int_equal(os_windows.detect(&s->env, &os, &why), 0);
	assert_null(os);
	assert_non_null(strstr(why.buf, "no symbol table for the Windows kernel test.pdb (GUID " GUID_STR ", age 2)"));
	assert_non_null(strstr(why.buf, "PROFILE_DIR/windows/test.pdb/" GUID_STR "-2.json.xz"));
	assert_non_null(strstr(why.buf, "pdbconv -p test.pdb -g " GUID_STR "2"));
	/* a folder without it */
	strbuf_reset(&why);
	s->env.profile_dir = s->dir;
	assert_int_equal(os_windows.detect(&s->env, &os, &why), 0);
	assert_non_null(strstr(why.buf, s->dir));
	assert_non_null(strstr(why.buf, "threads are the vCPUs only"));
	strbuf_release(&why);
	teardown(s);
}

static void test_wrong_tables(void **state)
{
	struct synth *s = setup();
	struct strbuf why = STRBUF_INIT;
	struct os *os = NULL;
	char *other = xstrfmt("%s/other.json", s->dir);

	(void)state;
	/* --profile of another kernel */
	write_table(s, other, "FFEEDDCCBBAA99887766554433221100", "", false);
	s->env.profile_path = other;
	assert_int_equal(os_windows.detect(&s->env, &os, &why), 0);
	assert_null(os);
	assert_non_null(strstr(why.buf, "does not match the kernel in memory"));
	assert_non_null(strstr(why.buf, "FFEEDDCCBBAA99887766554433221100"));
	assert_non_null(strstr(why.buf, GUID_STR "-2.json.xz"));
	/* not JSON at all */
	strbuf_reset(&why);
	{
		FILE *f = fopen(other, "w");

		fputs("not json", f);
		fclose(f);
	}
	assert_int_equal(os_windows.detect(&s->env, &os, &why), 0);
	assert_non_null(strstr(why.buf, "cannot be read"));
	/* the right table, missing a member the walk needs */
	strbuf_reset(&why);
	s->env.profile_path = NULL;
	s->env.profile_dir = s->dir;
	install_table(s, GUID_STR, true);
	assert_int_equal(os_windows.detect(&s->env, &os, &why), 0);
	assert_non_null(strstr(why.buf, "_ETHREAD.Tcb.State"));
	free(other);
	strbuf_release(&why);
	teardown(s);
}

static void test_no_kernel(void **state)
{
	struct synth *s = setup();
	struct strbuf why = STRBUF_INIT;
	struct os *os = NULL;

	(void)state;
	/* LSTAR far below any image */
	s->f->regs[0].lstar = KBASE - 0x40000000ull;
	assert_int_equal(os_windows.detect(&s->env, &os, &why), 0);
	assert_non_null(strstr(why.buf, "no Windows kernel image"));
	/* a broken PE header at the image base */
	strbuf_reset(&why);
	s->f->regs[0].lstar = KBASE + 0x5123;
	memcpy(fake_phys(s->f, IMG_PA + 0x80), "PX", 2);
	assert_int_equal(os_windows.detect(&s->env, &os, &why), 0);
	assert_non_null(strstr(why.buf, "no Windows kernel image"));
	/* paging off */
	strbuf_reset(&why);
	s->f->regs[0].cr0 = X86_CR0_PE;
	assert_int_equal(os_windows.detect(&s->env, &os, &why), 0);
	assert_non_null(strstr(why.buf, "paging"));
	/* a 32-bit guest */
	strbuf_reset(&why);
	s->env.guest_bits = 32;
	assert_int_equal(os_windows.detect(&s->env, &os, &why), 0);
	assert_non_null(strstr(why.buf, "64-bit"));
	strbuf_release(&why);
	teardown(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_found_from_lstar),
		cmocka_unit_test(test_no_table),
		cmocka_unit_test(test_wrong_tables),
		cmocka_unit_test(test_no_kernel),
	};

	log_set_level(LOG_ERROR + 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
