// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * LLDB's packets: thread suffixes (QThreadSuffixSupported), qHostInfo and
 * qProcessInfo for a bare machine, jThreadsInfo and qThreadStopInfo (names,
 * stop reasons, expedited registers), qMemoryRegionInfo from the page
 * tables, and a refused resume answered with a stop so LLDB keeps going.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stub/gdb/server.h"

static bool starts(const char *pkt, const char *prefix)
{
	return !strncmp(pkt, prefix, strlen(prefix));
}

/* LLDB's name of the guest's OS: "linux", "windows", or "unknown". */
static const char *os_type(struct server *sv)
{
	const char *os = session_os_name(sv->s);

	return os && (!strcmp(os, "linux") || !strcmp(os, "windows")) ? os :
								      "unknown";
}

/* "x86_64-unknown-linux-gnu" and the like: the guest's OS when known. */
static void add_triple(struct server *sv, struct strbuf *out)
{
	const struct x86_gdb_layout *l = session_layout(sv->s);
	const char *os = os_type(sv);
	char triple[64];

	snprintf(triple, sizeof(triple), "%s-unknown-%s%s",
		 l->addr_bits == 64 ? "x86_64" : "i386", os,
		 strcmp(os, "linux") ? "" : "-gnu");
	strbuf_addstr(out, "triple:");
	strbuf_addhex(out, triple, strlen(triple));
	strbuf_addf(out, ";ptrsize:%u;endian:little;",
		    l->addr_bits / 8);
}

static int q_host_info(struct server *sv)
{
	add_triple(sv, &sv->reply);
	strbuf_addf(&sv->reply, "ostype:%s;vendor:unknown;", os_type(sv));
	/* a guest behind a busy host answers slowly at times */
	strbuf_addstr(&sv->reply, "default_packet_timeout:60;");
	return H_REPLY;
}

static int q_process_info(struct server *sv)
{
	/* the guest is process 1 (as in gdb's multiprocess ids) */
	strbuf_addstr(&sv->reply, "pid:1;parent-pid:0;real-uid:0;real-gid:0;"
				  "effective-uid:0;effective-gid:0;");
	add_triple(sv, &sv->reply);
	return H_REPLY;
}

/* The register numbers LLDB shows a thread's frame with: pc, sp, fp
 * (-1 for one the layout lacks). */
static void expedited(struct server *sv, int nums[3])
{
	const struct x86_gdb_layout *l = session_layout(sv->s);
	bool wide = l->addr_bits == 64;

	nums[0] = x86_gdb_reg_find(l, wide ? "rip" : "eip");
	nums[1] = x86_gdb_reg_find(l, wide ? "rsp" : "esp");
	nums[2] = x86_gdb_reg_find(l, wide ? "rbp" : "ebp");
}

static void add_json_string(struct strbuf *out, const char *s)
{
	strbuf_addch(out, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			strbuf_addf(out, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			strbuf_addf(out, "\\u%04x", c);
		else
			strbuf_addch(out, c);
	}
	strbuf_addch(out, '"');
}

static const char *reason_name(enum stop_reason r)
{
	switch (r) {
	case SR_SWBREAK:
	case SR_HWBREAK: return "breakpoint";
	case SR_WATCH:
	case SR_RWATCH:
	case SR_AWATCH: return "watchpoint";
	default: return NULL;
	}
}

static void add_thread_json(struct server *sv, const struct thread_info *ti,
			    struct strbuf *out)
{
	const struct x86_gdb_layout *l = session_layout(sv->s);
	const struct stop_info *st = session_last_stop(sv->s);
	struct x86_regs r;
	int nums[3];
	size_t i;
	bool first = true;

	strbuf_addf(out, "{\"tid\":%llu,\"name\":", (unsigned long long)ti->tid);
	add_json_string(out, ti->name);
	if (ti->vcpu >= 0)
		strbuf_addf(out, ",\"core\":%d", ti->vcpu);
	if (st->kind == STOP_SIGNAL && st->tid == ti->tid) {
		const char *reason = reason_name(st->reason);

		strbuf_addf(out, ",\"signal\":%d", st->signo);
		if (reason)
			strbuf_addf(out, ",\"reason\":\"%s\"", reason);
		if (st->reason >= SR_WATCH && st->reason <= SR_AWATCH)
			strbuf_addf(out, ",\"description\":\"%llu\"",
				    (unsigned long long)st->addr);
	} else {
		strbuf_addstr(out, ",\"signal\":0");
	}
	if (session_get_regs(sv->s, ti->tid, &r) == 0) {
		expedited(sv, nums);
		strbuf_addstr(out, ",\"registers\":{");
		for (i = 0; i < 3; i++) {
			uint8_t buf[16];
			int len;

			if (nums[i] < 0)
				continue;
			len = x86_gdb_reg_get(&r, l, (unsigned)nums[i], buf);
			if (len <= 0)
				continue;
			strbuf_addf(out, "%s\"%d\":\"", first ? "" : ",", nums[i]);
			strbuf_addhex(out, buf, (size_t)len);
			strbuf_addch(out, '"');
			first = false;
		}
		strbuf_addch(out, '}');
	}
	strbuf_addch(out, '}');
}

static int j_threads_info(struct server *sv)
{
	size_t i, n = session_thread_count(sv->s);

	strbuf_addch(&sv->reply, '[');
	for (i = 0; i < n; i++) {
		if (i)
			strbuf_addch(&sv->reply, ',');
		add_thread_json(sv, session_thread_at(sv->s, i), &sv->reply);
	}
	strbuf_addch(&sv->reply, ']');
	return H_REPLY;
}

static int q_thread_stop_info(struct server *sv, const char *arg)
{
	const struct stop_info *st = session_last_stop(sv->s);
	const struct thread_info *ti = server_thread_arg(sv, arg, true);

	if (!ti)
		return H_REPLY;
	if (st->kind == STOP_SIGNAL && st->tid == ti->tid)
		server_stop_reply(sv, st, &sv->reply);
	else
		strbuf_addf(&sv->reply, "T00thread:%llx;",
			    (unsigned long long)ti->tid);
	strbuf_addstr(&sv->reply, "hexname:");
	strbuf_addhex(&sv->reply, ti->name, strlen(ti->name));
	strbuf_addch(&sv->reply, ';');
	return H_REPLY;
}

static int q_memory_region_info(struct server *sv, const char *arg)
{
	struct mem_region reg;
	uint64_t addr;
	const char *end;
	int rc;

	if (rsp_parse_hex(arg, &addr, &end) || *end) {
		reply_error(sv, EINVAL);
		return H_REPLY;
	}
	rc = session_mem_region(sv->s, sv->g_tid, addr, &reg);
	if (rc < 0) {
		reply_error(sv, rc);
		return H_REPLY;
	}
	strbuf_addf(&sv->reply, "start:%llx;size:%llx;",
		    (unsigned long long)reg.start, (unsigned long long)reg.size);
	if (reg.mapped)
		strbuf_addf(&sv->reply, "permissions:%s%s%s;",
			    reg.readable ? "r" : "", reg.writable ? "w" : "",
			    reg.executable ? "x" : "");
	return H_REPLY;
}

int gdb_lldb_query(struct server *sv, const char *pkt, size_t len)
{
	(void)len;
	if (!strcmp(pkt, "qHostInfo"))
		return q_host_info(sv);
	if (!strcmp(pkt, "qProcessInfo"))
		return q_process_info(sv);
	if (starts(pkt, "qThreadStopInfo"))
		return q_thread_stop_info(sv, pkt + strlen("qThreadStopInfo"));
	if (starts(pkt, "qMemoryRegionInfo:"))
		return q_memory_region_info(sv, pkt + strlen("qMemoryRegionInfo:"));
	if (!strcmp(pkt, "qMemoryRegionInfo")) {
		reply_ok(sv); /* "is it supported?" */
		return H_REPLY;
	}
	return H_REPLY; /* unsupported: empty */
}

int gdb_lldb_set(struct server *sv, const char *pkt, size_t len)
{
	(void)len;
	if (!strcmp(pkt, "QThreadSuffixSupported")) {
		sv->lldb = true;
		reply_ok(sv);
		return H_REPLY;
	}
	return H_REPLY; /* unsupported: empty */
}

int gdb_lldb_json(struct server *sv, const char *pkt, size_t len)
{
	(void)len;
	if (!strcmp(pkt, "jThreadsInfo"))
		return j_threads_info(sv);
	return H_REPLY; /* unsupported: empty */
}

int gdb_lldb_refused_resume(struct server *sv, const char *msg)
{
	const struct stop_info *st = session_last_stop(sv->s);
	const char *why = msg ? msg : "the guest cannot run";

	strbuf_reset(&sv->reply);
	/* SIGINT: to LLDB a stop the user asked for, not a crash (which
	 * would end a batch of commands) */
	strbuf_addf(&sv->reply, "T02thread:%llx;description:",
		    (unsigned long long)(st->kind == STOP_SIGNAL ? st->tid :
					 sv->g_tid));
	strbuf_addhex(&sv->reply, why, strlen(why));
	strbuf_addch(&sv->reply, ';');
	return H_REPLY;
}
