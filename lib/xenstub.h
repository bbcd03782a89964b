/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libxenstub's public header: xenstub's engine (the debugger's model of a
 * Xen guest or a guest memory dump: threads, registers, memory, run
 * control, breakpoints, watchpoints, monitor commands) without the GDB
 * protocol. Build with `pkg-config --cflags --libs xenstub`.
 *
 * The interface is what this header declares and libxenstub.so exports:
 *
 *  - opening a target: struct target_params, target_open(),
 *    target_close(), target_strerror(), target_type_help()
 *    (stub/guest/target.h; its other declarations are the engine's own
 *    and are not exported);
 *  - the session: every session_*() function and type of
 *    stub/session/session.h (session_open() takes the target over when
 *    it succeeds);
 *  - struct strbuf, the strbuf_*() functions and guest_text()
 *    (stub/base/strbuf.h; not the allocation helpers of alloc.h),
 *    for session_command()'s output; the x86 register file
 *    (arch/x86/regs.h) for session_get_regs();
 *  - XENSTUB_VERSION (stub/base/version.h);
 *  - what the engine logs on stderr (stub/base/log.h): log_set_level()
 *    (LOG_WARN by default), log_get_level(), log_set_categories(),
 *    log_parse_categories(), log_set_prefix().
 *
 * Conventions: functions returning int give 0 (or a count) or a negative
 * errno; messages returned through a char ** are malloc'd and freed by
 * the caller. A session is used from one thread at a time.
 *
 * ABI: libxenstub.so.0. Until 1.0 the structures above may grow; a
 * change that breaks programs built against an earlier 0.x raises the
 * SONAME's number.
 */
#ifndef XENSTUB_XENSTUB_H
#define XENSTUB_XENSTUB_H

#include "stub/base/version.h"
#include "stub/base/strbuf.h"
#include "stub/base/log.h"
#include "arch/x86/regs.h"
#include "stub/guest/target.h"
#include "stub/session/session.h"

#endif
