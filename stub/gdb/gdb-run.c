// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Run-control and breakpoint packets: ?, c, C, s, S, vCont, the 0x03
 * interrupt, Z/z (with agent-expression conditions and commands), H, T,
 * D, k and vKill. A debugger never destroys the guest: k and vKill detach
 * like D.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "stub/base/log.h"
#include "stub/gdb/server.h"

int gdb_stop_reason(struct server *sv, const char *pkt, size_t len)
{
	(void)pkt;
	(void)len;
	server_stop_reply(sv, session_last_stop(sv->s), &sv->reply);
	return H_REPLY;
}

int gdb_select_thread(struct server *sv, const char *pkt, size_t len)
{
	int64_t tid;
	const char *end;

	(void)len;
	if ((pkt[1] != 'g' && pkt[1] != 'c') ||
	    parse_thread_id(pkt + 2, &tid, &end) || *end) {
		reply_error(sv, EINVAL);
		return H_REPLY;
	}
	if (tid > 0 && !session_find_thread(sv->s, (uint64_t)tid)) {
		reply_error(sv, ESRCH);
		return H_REPLY;
	}
	if (pkt[1] == 'g')
		sv->g_tid = server_resolve_tid(sv, tid);
	else
		sv->c_tid = tid < 0 ? 0 : (uint64_t)tid; /* 0: any/all */
	reply_ok(sv);
	return H_REPLY;
}

int gdb_thread_alive(struct server *sv, const char *pkt, size_t len)
{
	int64_t tid;
	const char *end;

	(void)len;
	if (parse_thread_id(pkt + 1, &tid, &end) || *end) {
		reply_error(sv, EINVAL);
		return H_REPLY;
	}
	if (tid <= 0 || !session_find_thread(sv->s, (uint64_t)tid))
		reply_error(sv, ESRCH);
	else
		reply_ok(sv);
	return H_REPLY;
}

/* Starts the guest per plan; on failure tells gdb why and answers with
 * an error, which gdb takes as "did not run". */
static int start(struct server *sv, struct resume_plan *plan)
{
	char *msg = NULL;
	bool steps = false;
	unsigned v;
	int rc;

	for (v = 0; v < plan->nr; v++)
		steps |= plan->vcpu[v] == RESUME_STEP;
	rc = session_resume(sv->s, plan, &msg);
	free(plan->vcpu);
	if (rc < 0) {
		server_flush_notices(sv);
		if (msg) {
			struct strbuf m = STRBUF_INIT;

			strbuf_addf(&m, "xenstub: %s\n", msg);
			server_console(sv, m.buf);
			strbuf_release(&m);
		}
		/* LLDB takes an error here for the end of the process */
		if (sv->lldb)
			gdb_lldb_refused_resume(sv, msg);
		else
			reply_error(sv, rc);
		free(msg);
		return H_REPLY;
	}
	free(msg);
	sv->waiting = true;
	/* not a step (gdb steps over its breakpoint first): its stop
	 * would take the place of the interrupt's */
	if (sv->interrupt_pending && !steps) {
		sv->interrupt_pending = false;
		rc = session_interrupt(sv->s);
		if (rc < 0)
			log_warn(LC_SESSION, "the guest could not be stopped: %s",
				 strerror(-rc));
	}
	server_flush_notices(sv);
	return H_NO_REPLY;
}

static void plan_init(struct server *sv, struct resume_plan *plan,
		      enum resume_kind all)
{
	unsigned i;

	plan->nr = session_vcpu_count(sv->s);
	plan->vcpu = xcalloc(plan->nr, sizeof(*plan->vcpu));
	for (i = 0; i < plan->nr; i++)
		plan->vcpu[i] = all;
}

/* The vCPU behind a thread, or -1 (a task that is not running). */
static int vcpu_of(struct server *sv, uint64_t tid)
{
	const struct thread_info *ti = session_find_thread(sv->s, tid);

	return ti ? ti->vcpu : -1;
}

int gdb_continue(struct server *sv, const char *pkt, size_t len)
{
	struct resume_plan plan;

	(void)len;
	if (pkt[0] == 'c' && pkt[1]) {
		/* c ADDR: resuming elsewhere is not offered */
		reply_error(sv, EINVAL);
		return H_REPLY;
	}
	plan_init(sv, &plan, RESUME_CONTINUE);
	return start(sv, &plan);
}

int gdb_step(struct server *sv, const char *pkt, size_t len)
{
	struct resume_plan plan;
	uint64_t tid = sv->c_tid ? sv->c_tid : session_last_stop(sv->s)->tid;
	int v = vcpu_of(sv, tid);

	(void)len;
	if (pkt[0] == 's' && pkt[1]) {
		reply_error(sv, EINVAL);
		return H_REPLY;
	}
	if (v < 0) {
		server_console(sv, "xenstub: that thread is not running on a vCPU: it cannot be stepped\n");
		reply_error(sv, ESRCH);
		return H_REPLY;
	}
	plan_init(sv, &plan, RESUME_STOPPED);
	plan.vcpu[v] = RESUME_STEP;
	sv->step_tid = tid;
	return start(sv, &plan);
}

int gdb_vcont(struct server *sv, const char *pkt, size_t len)
{
	struct resume_plan plan;
	bool *decided;
	const char *p;
	unsigned i;

	(void)len;
	if (!strcmp(pkt, "vCont?")) {
		strbuf_addstr(&sv->reply, "vCont;c;C;s;S");
		return H_REPLY;
	}
	if (strncmp(pkt, "vCont;", 6)) {
		strbuf_reset(&sv->reply); /* vContXYZ: unknown */
		return H_REPLY;
	}
	plan_init(sv, &plan, RESUME_STOPPED);
	decided = xcalloc(plan.nr, sizeof(bool));
	sv->step_tid = 0;
	p = pkt + 5;
	while (*p == ';') {
		char action = p[1];
		enum resume_kind kind;
		int64_t tid = -1;

		p += 2;
		if (action == 'C' || action == 'S') {
			uint64_t sig;

			if (rsp_parse_hex(p, &sig, &p))
				goto bad;
			log_dbg(LC_SESSION, "signal %llu ignored: a guest takes no signals",
				(unsigned long long)sig);
		} else if (action != 'c' && action != 's') {
			goto bad;
		}
		kind = (action == 's' || action == 'S') ? RESUME_STEP :
							  RESUME_CONTINUE;
		if (*p == ':') {
			if (parse_thread_id(p + 1, &tid, &p))
				goto bad;
		}
		if (tid > 0) {
			int v = vcpu_of(sv, (uint64_t)tid);

			if (v < 0) {
				server_console(sv, "xenstub: that thread is not running on a vCPU: it cannot be resumed on its own\n");
				free(decided);
				free(plan.vcpu);
				reply_error(sv, ESRCH);
				return H_REPLY;
			}
			if (!decided[v]) {
				plan.vcpu[v] = kind;
				decided[v] = true;
				if (kind == RESUME_STEP)
					sv->step_tid = (uint64_t)tid;
			}
		} else {
			for (i = 0; i < plan.nr; i++) {
				if (!decided[i]) {
					plan.vcpu[i] = kind;
					decided[i] = true;
				}
			}
		}
	}
	if (*p)
		goto bad;
	free(decided);
	return start(sv, &plan);
bad:
	free(decided);
	free(plan.vcpu);
	reply_error(sv, EINVAL);
	return H_REPLY;
}

int gdb_interrupt(struct server *sv)
{
	int rc;

	if (!sv->waiting) {
		/* already stopped: for the next resume */
		sv->interrupt_pending = true;
		return 0;
	}
	rc = session_interrupt(sv->s);
	if (rc < 0)
		log_warn(LC_SESSION, "the guest could not be stopped: %s",
			 strerror(-rc));
	return server_poll_guest(sv);
}

int gdb_point(struct server *sv, const char *pkt, size_t len)
{
	uint64_t type, addr, kind;
	const char *p;
	char *msg = NULL;
	int rc;

	(void)len;
	if (rsp_parse_hex(pkt + 1, &type, &p) || *p != ',' ||
	    rsp_parse_hex(p + 1, &addr, &p) || *p != ',' ||
	    rsp_parse_hex(p + 1, &kind, &p) || (*p && *p != ';')) {
		reply_error(sv, EINVAL);
		return H_REPLY;
	}
	if (type > PT_ACCESS_WATCH)
		return H_REPLY; /* unknown type: unsupported */
	if (pkt[0] == 'Z')
		/* with its conditions and commands, if any */
		rc = session_insert_point_opts(sv->s, sv->g_tid, (enum point_type)type,
					       addr, kind, p, strlen(p), &msg);
	else
		rc = session_remove_point(sv->s, sv->g_tid, (enum point_type)type,
					  addr, kind);
	if (rc == -EOPNOTSUPP) {
		free(msg);
		return H_REPLY;
	}
	/*
	 * gdb takes whatever packet comes first as the answer to Z/z: an "O"
	 * console packet here would read as the reply and shift every later
	 * reply by one. So what the user should know goes to the log (gdb's
	 * terminal with 'target remote | xenstub').
	 */
	if (msg) {
		struct strbuf m = STRBUF_INIT;

		log_msg(LC_TRAP, rc < 0 ? LOG_WARN : LOG_INFO, "%s at 0x%llx%s: %s",
			type <= PT_HW_BREAK ? "breakpoint" : "watchpoint",
			(unsigned long long)addr, rc < 0 ? " refused" : "", msg);
		/* and in gdb's console at the next chance */
		strbuf_addf(&m, "xenstub: %s at 0x%llx%s: %s",
			    type <= PT_HW_BREAK ? "breakpoint" : "watchpoint",
			    (unsigned long long)addr, rc < 0 ? " refused" : "", msg);
		server_notice(sv, m.buf);
		strbuf_release(&m);
	}
	if (rc < 0) {
		reply_error(sv, rc);
	} else {
		reply_ok(sv);
	}
	free(msg);
	return H_REPLY;
}

int gdb_detach(struct server *sv, const char *pkt, size_t len)
{
	(void)pkt;
	(void)len;
	session_detach(sv->s);
	sv->end = SERVER_DETACHED;
	reply_ok(sv);
	return H_REPLY;
}

int gdb_kill(struct server *sv, const char *pkt, size_t len)
{
	(void)len;
	log_info(LC_SESSION, "gdb asked to kill the guest: detaching instead (a debugger never destroys its guest)");
	session_detach(sv->s);
	sv->end = SERVER_DETACHED;
	if (pkt[0] == 'v') {
		reply_ok(sv);
		return H_REPLY;
	}
	return H_NO_REPLY;
}
