// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Run control for targets that cannot run (dumps): every request to run,
 * step or plant a breakpoint is refused with a reason. Live targets use
 * the trap engine instead (run-live.c replaces this file when linked).
 */
#include <errno.h>
#include <string.h>

#include "stub/session-internal.h"
#include "stub/strbuf.h"

int run_attach(struct session *s, char **msg)
{
	(void)msg;
	s->running = false;
	return 0;
}

void run_detach(struct session *s) { (void)s; }
void run_free(struct session *s) { (void)s; }

void run_shadow_breakpoints(struct session *s, const struct aspace *as,
			    uint64_t addr, void *buf, size_t len)
{
	(void)s; (void)as; (void)addr; (void)buf; (void)len;
}

int run_write_mem(struct session *s, const struct aspace *as, uint64_t addr,
		  const void *buf, size_t len)
{
	size_t done;

	return vmem_write(s->mem, as, addr, buf, len, &done);
}

int session_resume(struct session *s, const struct resume_plan *plan,
		   char **msg)
{
	(void)plan;
	*msg = xstrfmt("%s cannot run: it is a memory dump",
		       s->t->description ? s->t->description : "the target");
	return -EOPNOTSUPP;
}

int session_interrupt(struct session *s) { (void)s; return 0; }
int session_event_fd(struct session *s) { (void)s; return -1; }

int session_poll_stop(struct session *s, struct stop_info *stop)
{
	(void)s; (void)stop;
	return 0;
}

int session_insert_point(struct session *s, uint64_t tid, enum point_type t,
			 uint64_t addr, uint64_t len, char **msg)
{
	(void)tid; (void)t; (void)addr; (void)len;
	*msg = xstrfmt("%s cannot run, so it takes no breakpoints",
		       s->t->description ? s->t->description : "the target");
	return -EROFS;
}

int session_remove_point(struct session *s, uint64_t tid, enum point_type t,
			 uint64_t addr, uint64_t len)
{
	(void)s; (void)tid; (void)t; (void)addr; (void)len;
	return -ENOENT;
}
