// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer harness for the Windows walks over hostile guest memory: a
 * well-formed synthetic guest (KPCRs and KPRCBs, processes with thread
 * lists, named threads, switch frames, a driver list; the layout of
 * tests/unit/test-windows-walk.c) that the input patches anywhere. Every
 * walk must end (bounded), and give unique valid thread ids, display-text
 * names and address spaces whose root exists, or a reason; so must the
 * monitor commands (ps, os, threads, lm).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "os-awareness/isf.h"
#include "os-awareness/windows-internal.h"
#include "stub/base/log.h"
#include "tests/fuzz/fuzz-os-guest.h"

#define DM 0xffff888000000000ull
#define KAS_PML4 0x1000u
#define USER_PML4 0x3000u

enum {
	PCR_SELF = 0x18, PCR_CUR_PRCB = 0x20, PCR_PRCB = 0x180,
	PRCB_CUR = 0x8, PRCB_IDLE = 0x18, PRCB_NUMBER = 0x24,
	EP_DTB = 0x28, EP_UDTB = 0x30, EP_THEAD = 0x40, EP_PID = 0x80,
	EP_LINKS = 0x88, EP_PPID = 0xa0, EP_NAME = 0xb0, EP_PEB = 0xc0,
	ET_STATE = 0x10, ET_KSTACK = 0x18, ET_TEB = 0x20, ET_PROC = 0x28,
	ET_ENTRY = 0x40, ET_CPID = 0x60, ET_CTID = 0x68, ET_NAME = 0x70,
	ET_SBASE = 0x78,
	LDR_LINKS = 0, LDR_BASE = 0x30, LDR_SIZE = 0x40, LDR_PATH = 0x48,
	LDR_NAME = 0x58,
};
enum { ST_READY = 1, ST_RUNNING = 2, ST_WAITING = 5 };

#define PCR_PA(c) (0x10000u + (c) * 0x1000u)
#define PROC_PA(i) (0x20000u + (i) * 0x200u)
#define THR_PA(i) (0x30000u + (i) * 0x200u)
#define STACK_PA(i) (0x40000u + (i) * 0x1000u)
#define STR_PA 0x60000u
#define LDR_PA 0x70000u
#define GLOBALS_PA 0x80000u
#define G_ACTIVE (GLOBALS_PA + 0x0)
#define G_MODULES (GLOBALS_PA + 0x10)
#define G_PRCBS (GLOBALS_PA + 0x20)
#define G_NPROCS (GLOBALS_PA + 0x100)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fg g;
static struct isf *table;	/* a symbol table with no symbols */
extern const struct os_ops os_windows;

static uint64_t va(uint64_t pa) { return DM + pa; }
static uint64_t pcr(unsigned c) { return va(PCR_PA(c)); }
static uint64_t proc(unsigned i) { return va(PROC_PA(i)); }
static uint64_t thr(unsigned i) { return va(THR_PA(i)); }

static void w64(uint64_t a, uint64_t v) { fg_put64(g.base, a - DM, v); }

static void ring(uint64_t head, const uint64_t *nodes, unsigned n)
{
	unsigned k;

	for (k = 0; k <= n; k++) {
		uint64_t cur = k ? nodes[k - 1] : head;
		uint64_t next = k < n ? nodes[k] : head;

		w64(cur, next);
		w64(next + 8, cur);
	}
}

static uint64_t ustr(unsigned slot, const char *text)
{
	uint64_t us = va(STR_PA + slot * 0x100u), buf = us + 0x20;
	size_t i, n = strlen(text);

	for (i = 0; i < n; i++)
		g.base[buf - DM + 2 * i] = (uint8_t)text[i];
	w64(us, (uint64_t)(2 * n) | (uint64_t)(2 * n + 2) << 16);
	w64(us + 8, buf);
	return us;
}

static void mk_proc(unsigned i, int64_t pid, int64_t ppid, const char *name,
		    uint64_t dtb)
{
	uint64_t p = proc(i);

	w64(p + EP_DTB, dtb);
	w64(p + EP_PID, (uint64_t)pid);
	w64(p + EP_PPID, (uint64_t)ppid);
	memcpy(g.base + (p + EP_NAME - DM), name, strlen(name));
	w64(p + EP_THEAD, p + EP_THEAD);
	w64(p + EP_THEAD + 8, p + EP_THEAD);
}

static void mk_thread(unsigned i, unsigned owner, int64_t pid, int64_t tid,
		      uint8_t state, uint64_t teb)
{
	uint64_t t = thr(i), kstack = va(STACK_PA(i)) + 0x800;

	g.base[t + ET_STATE - DM] = state;
	w64(t + ET_KSTACK, kstack);
	w64(t + ET_TEB, teb);
	w64(t + ET_PROC, proc(owner));
	w64(t + ET_CPID, (uint64_t)pid);
	w64(t + ET_CTID, (uint64_t)tid);
	w64(t + ET_SBASE, va(STACK_PA(i)) + 0x1000);
	w64(kstack + 0x30, 0xb0b0000 + i);
	w64(kstack + 0x38, 0xfffff80000100000ull + i);
}

static void threads_of(unsigned p, const unsigned *t, unsigned n)
{
	uint64_t nodes[8];
	unsigned k;

	for (k = 0; k < n; k++)
		nodes[k] = thr(t[k]) + ET_ENTRY;
	ring(proc(p) + EP_THEAD, nodes, n);
}

static void mk_pcr(unsigned c, uint64_t current, uint64_t idle)
{
	uint64_t k = pcr(c), prcb = k + PCR_PRCB;

	w64(k + PCR_SELF, k);
	w64(k + PCR_CUR_PRCB, prcb);
	w64(prcb + PRCB_CUR, current);
	w64(prcb + PRCB_IDLE, idle);
	w64(prcb + PRCB_NUMBER, c);
	w64(va(G_PRCBS) + 8 * c, prcb);
}

/* The guest of test-windows-walk.c: System (4: threads 8, 12), app.exe
 * (100: 104 named "worker", 108), user.exe (200: 204), the Idle process
 * with idle threads; two drivers. */
static void build(void)
{
	static const unsigned sys_t[] = { 0, 1 }, app_t[] = { 2, 3 },
			      user_t[] = { 4 };
	uint64_t nodes[3], e0 = va(LDR_PA), e1 = va(LDR_PA + 0x100);

	fg_put64(g.base, KAS_PML4 + 8 * ((DM >> 39) & 511), 0x2000 | 3);
	fg_put64(g.base, 0x2000, 0x83);
	mk_proc(0, 4, 0, "System", KAS_PML4);
	mk_proc(1, 100, 4, "app.exe", 0x5000);
	mk_proc(2, 200, 100, "user.exe", 0x6000);
	w64(proc(2) + EP_UDTB, USER_PML4);
	mk_proc(3, 0, 0, "Idle", KAS_PML4);
	mk_thread(0, 0, 4, 8, ST_WAITING, 0);
	mk_thread(1, 0, 4, 12, ST_READY, 0);
	mk_thread(2, 1, 100, 104, ST_RUNNING, 0x7ff00000);
	mk_thread(3, 1, 100, 108, ST_WAITING, 0x7ff02000);
	mk_thread(4, 2, 200, 204, ST_RUNNING, 0x7ff00000);
	mk_thread(6, 3, 0, 0, ST_READY, 0);
	mk_thread(7, 3, 0, 0, ST_READY, 0);
	w64(thr(2) + ET_NAME, ustr(0, "worker"));
	threads_of(0, sys_t, 2);
	threads_of(1, app_t, 2);
	threads_of(2, user_t, 1);
	nodes[0] = proc(0) + EP_LINKS;
	nodes[1] = proc(1) + EP_LINKS;
	nodes[2] = proc(2) + EP_LINKS;
	ring(va(G_ACTIVE), nodes, 3);
	mk_pcr(0, thr(2), thr(6));
	mk_pcr(1, thr(4), thr(7));
	w64(va(G_NPROCS), 2);
	/* drivers */
	w64(e0 + LDR_BASE, 0xfffff80000000000ull);
	w64(e0 + LDR_SIZE, 0x123000);
	memcpy(g.base + (e0 + LDR_NAME - DM), g.base + (ustr(1, "ntoskrnl.exe") - DM), 16);
	memcpy(g.base + (e0 + LDR_PATH - DM),
	       g.base + (ustr(2, "\\SystemRoot\\ntoskrnl.exe") - DM), 16);
	w64(e1 + LDR_BASE, 0xfffff80000400000ull);
	w64(e1 + LDR_SIZE, 0x9000);
	memcpy(g.base + (e1 + LDR_NAME - DM), g.base + (ustr(3, "hal.dll") - DM), 16);
	nodes[0] = e0;
	nodes[1] = e1;
	ring(va(G_MODULES), nodes, 2);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* warnings about the hostile guest are expected: not shown */
	static const char doc[] =
		"{\"metadata\": {\"format\": \"6.2.0\", \"producer\": {\"name\": \"fuzz\"},"
		" \"windows\": {\"pdb\": {\"GUID\": \"0\", \"age\": 1}}},"
		" \"base_types\": {}, \"user_types\": {}, \"enums\": {}, \"symbols\": {}}";
	struct strbuf why = STRBUF_INIT;

	(void)argc;
	(void)argv;
	/* warnings about the hostile guest are expected: not shown */
	log_set_level(LOG_ERROR);
	fg_init(&g);
	build();
	if (isf_parse(doc, sizeof(doc) - 1, "fuzz.json", &table, &why))
		fg_fail("the empty symbol table does not parse", why.buf);
	strbuf_release(&why);
	return 0;
}

static void vcpu_regs(unsigned v, uint8_t how)
{
	struct x86_regs *r = &g.regs[v];
	bool user = how & 0x80;

	memset(r, 0, sizeof(*r));
	r->seg[X86_CS].sel = user ? 0x33 : 0x10;
	r->seg[X86_SS].sel = user ? 0x2b : 0x18;
	r->seg[X86_SS].attr = X86_SEG_ATTR_P | (user ? 3u << 5 : 0);
	r->seg[X86_GS].base = how & 4 ? 0x7ff00000 : pcr(how & 3) + (how >> 3 & 3) * 8;
	r->k_gs_base = how & 0x40 ? pcr((how >> 5) & 1) : 0x7ff00000;
	x86_set_valid(r, XF_SEL0 + X86_CS);
	x86_set_valid(r, XF_SEL0 + X86_SS);
	x86_set_valid(r, XF_SEGCACHE0 + X86_SS);
	x86_set_valid(r, XF_SEGCACHE0 + X86_GS);
	x86_set_valid(r, XF_KGSBASE);
}

static void layout(struct win *w, uint8_t opt)
{
	w->L = (struct win_layout){
		.pcr_self = { PCR_SELF, 8 }, .pcr_current_prcb = { PCR_CUR_PRCB, 8 },
		.pcr_prcb = { PCR_PRCB, 0x100 },
		.prcb_current = { PRCB_CUR, 8 }, .prcb_idle = { PRCB_IDLE, 8 },
		.prcb_number = { PRCB_NUMBER, 4 },
		.eprocess_size = 0x100,
		.pid = { EP_PID, 8 }, .ppid = { EP_PPID, 8 },
		.links = { EP_LINKS, 16 }, .image_name = { EP_NAME, 15 },
		.thread_head = { EP_THEAD, 16 }, .dtb = { EP_DTB, 8 },
		.user_dtb = { EP_UDTB, 8 }, .peb = { EP_PEB, 8 },
		.ethread_size = 0x100,
		.cid_pid = { ET_CPID, 8 }, .cid_tid = { ET_CTID, 8 },
		.thread_entry = { ET_ENTRY, 16 }, .thread_name = { ET_NAME, 8 },
		.state = { ET_STATE, 1 }, .kernel_stack = { ET_KSTACK, 8 },
		.stack_base = { ET_SBASE, 8 }, .teb = { ET_TEB, 8 },
		.process = { ET_PROC, 8 },
		.thread_list = "_EPROCESS.ThreadListHead",
		.frame_size = 0x40, .frame_ret = 0x38, .frame_rbp = 0x30,
		.us_length = { 0, 2 }, .us_buffer = { 8, 8 },
		.ldr_type = "_KLDR_DATA_TABLE_ENTRY",
		.ldr_links = { LDR_LINKS, 16 }, .ldr_base = { LDR_BASE, 8 },
		.ldr_size = { LDR_SIZE, 4 }, .ldr_name = { LDR_NAME, 16 },
		.ldr_path = { LDR_PATH, 16 },
	};
	snprintf(w->L.state_name[1], 24, "Ready");
	snprintf(w->L.state_name[2], 24, "Running");
	snprintf(w->L.state_name[5], 24, "Waiting");
	/* the variants builds come in */
	if (opt & 1)
		w->L.thread_name.size = 0;	/* before Windows 10 1607 */
	if (opt & 2)
		w->L.prcb_number.size = 2;
	if (opt & 4)
		w->L.pcr_self.size = 0;
	if (opt & 8)
		w->L.teb.size = 0;
	if (opt & 16)
		w->L.user_dtb.size = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const cmds[] = { "lm", "threads", "ln", NULL };
	const uint8_t *cfg = data;
	struct win *w;

	if (!fg_load(&g, data, size, 4))
		return 0;
	vcpu_regs(0, cfg[1]);
	vcpu_regs(1, cfg[2]);
	g.vm = vmem_new(&g.t, 64, false);
	w = xcalloc(1, sizeof(*w));
	w->base.ops = &os_windows;
	w->base.env.mem = g.vm;
	w->base.env.nr_vcpus = FG_VCPUS;
	w->base.env.guest_bits = 64;
	w->base.env.vcpu_regs = fg_env_regs;
	w->base.env.ctx = &g.t;
	w->kas.mode = X86_PAGING_4LEVEL;
	w->kas.cr3 = KAS_PML4;
	w->kmin = win_kernel_min(X86_PAGING_4LEVEL);
	w->vcpu = xcalloc(FG_VCPUS, sizeof(*w->vcpu));
	strbuf_init(&w->kas_src, 0);
	strbuf_init(&w->found_by, 0);
	strbuf_init(&w->version_src, 0);
	strbuf_init(&w->notes, 0);
	w->profile = xstrdup("fuzz.json");
	w->profile_guid = "0";
	w->isf = table;
	layout(w, cfg[0]);
	w->S.active_head = va(G_ACTIVE);
	w->S.module_list = va(G_MODULES);
	w->S.prcb_block = cfg[0] & 0x20 ? 0 : va(G_PRCBS);
	w->S.nprocs = cfg[0] & 0x40 ? 0 : va(G_NPROCS);
	win_walk(w);
	fg_exercise(&w->base, cmds);
	if (cfg[3] & 1) {
		win_walk(w);
		fg_exercise(&w->base, cmds);
	}
	/* the symbol table is kept for the next input */
	win_tasks_release(w);
	free(w->vcpu);
	free(w->prcbs);
	free(w->profile);
	strbuf_release(&w->kas_src);
	strbuf_release(&w->found_by);
	strbuf_release(&w->version_src);
	strbuf_release(&w->notes);
	free(w);
	vmem_free(g.vm);
	return 0;
}
