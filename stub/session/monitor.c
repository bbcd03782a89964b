// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Text commands of the engine, reached from gdb as "monitor ..." (qRcmd):
 * address translation, physical mode, CR3 overrides, OS-awareness queries
 * and statistics. Output is plain text; the front end carries it to gdb.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/paging.h"
#include "os-awareness/os.h"
#include "stub/base/num.h"
#include "stub/base/version.h"
#include "stub/session/points-agent.h"
#include "stub/session/run.h"
#include "stub/session/session-internal.h"

struct command {
	const char *name;
	const char *args;
	const char *help;
	int (*fn)(struct session *s, uint64_t tid, const char *args,
		  struct strbuf *out);
};

static const struct command commands[];

static int cmd_help(struct session *s, uint64_t tid, const char *args,
		    struct strbuf *out)
{
	const struct command *c;

	(void)tid;
	(void)args;
	strbuf_addstr(out, "xenstub monitor commands:\n");
	for (c = commands; c->name; c++) {
		char left[40];

		snprintf(left, sizeof(left), "%s%s%s", c->name,
			 *c->args ? " " : "", c->args);
		strbuf_addf(out, "  %-28s %s\n", left, c->help);
	}
	if (s->os)
		strbuf_addstr(out, os_command_help(s->os));
	return 0;
}

static int cmd_version(struct session *s, uint64_t tid, const char *args,
		       struct strbuf *out)
{
	(void)tid;
	(void)args;
	strbuf_addf(out, "xenstub %s\n", XENSTUB_VERSION);
	strbuf_addf(out, "target: %s\n", s->t->description);
	return 0;
}

static int cmd_info(struct session *s, uint64_t tid, const char *args,
		    struct strbuf *out)
{
	/* "info version" is what the Linux kernel's gdb scripts ask of
	 * QEMU; answering makes them number CPUs as threads 1..N. */
	if (!strcmp(args, "version"))
		return cmd_version(s, tid, "", out);
	strbuf_addstr(out, "usage: info version\n");
	return -EINVAL;
}

static int cmd_phys(struct session *s, uint64_t tid, const char *args,
		    struct strbuf *out)
{
	(void)tid;
	if (!*args) {
		strbuf_addf(out, "memory accesses use %s addresses\n",
			    session_phys_mode(s) ? "guest-physical" :
						   "guest-virtual");
		return 0;
	}
	if (!strcmp(args, "on") || !strcmp(args, "1")) {
		session_set_phys_mode(s, true);
		strbuf_addstr(out, "memory accesses now use guest-physical addresses\n");
		return 0;
	}
	if (!strcmp(args, "off") || !strcmp(args, "0")) {
		session_set_phys_mode(s, false);
		strbuf_addstr(out, "memory accesses now use guest-virtual addresses\n");
		return 0;
	}
	strbuf_addstr(out, "usage: phys on|off\n");
	return -EINVAL;
}

static int cmd_cr3(struct session *s, uint64_t tid, const char *args,
		   struct strbuf *out)
{
	uint64_t v;

	(void)tid;
	if (!*args) {
		if (session_cr3_override(s, &v))
			strbuf_addf(out, "CR3 override: 0x%llx\n",
				    (unsigned long long)v);
		else
			strbuf_addstr(out, "no CR3 override: each thread uses its own page tables\n");
		return 0;
	}
	if (!strcmp(args, "default") || !strcmp(args, "off")) {
		session_set_cr3_override(s, false, 0);
		strbuf_addstr(out, "CR3 override removed: each thread uses its own page tables\n");
		return 0;
	}
	if (parse_u64(args, &v)) {
		strbuf_addf(out, "cr3: '%s' is not a number\nusage: cr3 VALUE|default\n",
			    args);
		return -EINVAL;
	}
	session_set_cr3_override(s, true, v);
	strbuf_addf(out, "virtual addresses now translate through CR3 0x%llx\n",
		    (unsigned long long)v);
	return 0;
}

static const char *size_name(uint64_t sz)
{
	switch (sz) {
	case 4096: return "4 KiB";
	case 2ull << 20: return "2 MiB";
	case 4ull << 20: return "4 MiB";
	case 1ull << 30: return "1 GiB";
	default: return "?";
	}
}

static int cmd_v2p(struct session *s, uint64_t tid, const char *args,
		   struct strbuf *out)
{
	struct aspace as;
	struct x86_walk w;
	uint64_t va;
	unsigned i;
	int rc;

	if (parse_u64(args, &va)) {
		strbuf_addstr(out, "usage: v2p ADDRESS\n");
		return -EINVAL;
	}
	rc = session_aspace(s, tid, &as);
	if (rc < 0) {
		const struct thread_info *ti = session_find_thread(s, tid);
		struct strbuf why = STRBUF_INIT;

		/* a task's: its OS module says what is wrong with it */
		if (ti && ti->task && s->os &&
		    os_task_aspace(s->os, ti->task, &as, &why) < 0 &&
		    why.len)
			strbuf_addf(out, "v2p: no address space for thread %llu: %s\n",
				    (unsigned long long)tid, why.buf);
		else
			strbuf_addf(out, "v2p: no address space for thread %llu: %s\n",
				    (unsigned long long)tid, strerror(-rc));
		strbuf_release(&why);
		return rc;
	}
	if (as.phys) {
		strbuf_addf(out, "0x%llx is a physical address (physical mode or paging off)\n",
			    (unsigned long long)va);
		return 0;
	}
	rc = vmem_translate(s->mem, &as, va, &w);
	strbuf_addf(out, "virtual 0x%llx, %s paging, CR3 0x%llx\n",
		    (unsigned long long)va, x86_paging_mode_name(as.mode),
		    (unsigned long long)as.cr3);
	if (w.nlevels && w.level[0].table != x86_cr3_root(as.mode, as.cr3))
		strbuf_addf(out, "  (CR3 is the user table of a page-table isolation pair, which does not map it: "
			    "walked through the kernel's table at 0x%llx)\n",
			    (unsigned long long)w.level[0].table);
	for (i = 0; i < w.nlevels; i++)
		strbuf_addf(out, "  %-5s at 0x%llx = 0x%016llx\n",
			    w.level[i].name,
			    (unsigned long long)w.level[i].entry_addr,
			    (unsigned long long)w.level[i].entry);
	if (rc == -EFAULT) {
		strbuf_addf(out, "not mapped: the %s is not present\n",
			    w.nlevels ? w.level[w.nlevels - 1].name : "table");
		return 0;
	}
	if (rc == -EINVAL) {
		strbuf_addstr(out, w.nlevels ?
			      "invalid: a reserved bit is set in the last entry\n" :
			      "invalid: the address is not canonical\n");
		return 0;
	}
	if (rc) {
		strbuf_addf(out, "the page tables cannot be read: %s\n",
			    strerror(-rc));
		return 0;
	}
	strbuf_addf(out, "physical 0x%llx, page %s, %s %s %s\n",
		    (unsigned long long)w.paddr, size_name(w.page_size),
		    w.writable ? "RW" : "RO", w.user ? "U" : "S",
		    w.nx ? "NX" : "X");
	return 0;
}

static int need_os(struct session *s, struct strbuf *out)
{
	if (s->os)
		return 0;
	strbuf_addstr(out, "no guest OS is recognised");
	if (s->os_why.len)
		strbuf_addf(out, ":\n%s", s->os_why.buf);
	strbuf_addch(out, '\n');
	return -EINVAL;
}

static int cmd_os(struct session *s, uint64_t tid, const char *args,
		  struct strbuf *out)
{
	(void)tid;
	(void)args;
	if (!s->os) {
		need_os(s, out);
		return 0;
	}
	os_describe(s->os, out);
	return 0;
}

static int cmd_ps(struct session *s, uint64_t tid, const char *args,
		  struct strbuf *out)
{
	(void)tid;
	(void)args;
	/* no OS is an answer, not a failed command: gdb shows an error
	 * reply as "Protocol error with Rcmd" after the text */
	if (need_os(s, out))
		return 0;
	os_ps(s->os, out);
	return 0;
}

static int cmd_sym(struct session *s, uint64_t tid, const char *args,
		   struct strbuf *out)
{
	uint64_t a;

	(void)tid;
	if (!*args) {
		strbuf_addstr(out, "usage: sym NAME\n");
		return -EINVAL;
	}
	if (need_os(s, out))
		return 0;
	if (os_lookup_symbol(s->os, args, &a)) {
		strbuf_addf(out, "%s: no such symbol\n", args);
		return -EINVAL;
	}
	strbuf_addf(out, "0x%llx %s\n", (unsigned long long)a, args);
	return 0;
}

static int cmd_stats(struct session *s, uint64_t tid, const char *args,
		     struct strbuf *out)
{
	const struct vmem_stats *v = vmem_stats(s->mem);

	(void)tid;
	(void)args;
	strbuf_addf(out, "frame cache: %llu hits, %llu misses, %llu map calls (%llu frames), %llu unmaps, %llu page walks\n",
		    (unsigned long long)v->hits, (unsigned long long)v->misses,
		    (unsigned long long)v->map_calls,
		    (unsigned long long)v->frames_mapped,
		    (unsigned long long)v->unmap_calls,
		    (unsigned long long)v->translations);
	run_describe_stats(s, out);
	return 0;
}

static int cmd_process_condition(struct session *s, uint64_t tid,
				 const char *args, struct strbuf *out)
{
	(void)tid;
	return pa_process_condition(s, args, out);
}

static const struct command commands[] = {
	{ "help", "", "this list", cmd_help },
	{ "info", "version", "xenstub's version (QEMU-compatible form)", cmd_info },
	{ "version", "", "xenstub's version and the target", cmd_version },
	{ "phys", "on|off", "memory packets use guest-physical addresses", cmd_phys },
	{ "cr3", "VALUE|default", "translate virtual addresses through CR3 VALUE", cmd_cr3 },
	{ "v2p", "ADDRESS", "walk the page tables: each level, physical address, page size, R/W/U/NX", cmd_v2p },
	{ "os", "", "the guest OS found, and where its data came from", cmd_os },
	{ "ps", "", "the guest's processes, like ps", cmd_ps },
	{ "sym", "NAME", "a guest kernel symbol's address", cmd_sym },
	{ "stats", "", "counters: frame cache, events, stops", cmd_stats },
	{ "process-condition", "PID", "a breakpoint condition: the current task is of process PID", cmd_process_condition },
	{ NULL, NULL, NULL, NULL },
};

int session_command(struct session *s, uint64_t tid, const char *line,
		    struct strbuf *out)
{
	const struct command *c;
	char name[32];
	size_t n;
	const char *args;

	while (isspace((unsigned char)*line))
		line++;
	if (!*line) /* a bare "monitor" */
		return cmd_help(s, tid, "", out);
	n = strcspn(line, " \t");
	if (n >= sizeof(name))
		return -ENOENT;
	memcpy(name, line, n);
	name[n] = 0;
	args = line + n;
	while (isspace((unsigned char)*args))
		args++;
	for (c = commands; c->name; c++)
		if (!strcmp(c->name, name))
			return c->fn(s, tid, args, out);
	if (s->os) {
		int rc = os_command(s->os, name, args, out);

		if (rc != -ENOENT)
			return rc;
	}
	if (!s->os && os_command_of(name)) {
		strbuf_addf(out, "%s: a command of the %s module; ", name,
			    os_command_of(name));
		need_os(s, out);
		return 0;
	}
	return -ENOENT;
}
