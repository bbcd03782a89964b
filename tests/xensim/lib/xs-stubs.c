// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The libxenstore.so.4 calls xensim does not model: writes, watches,
 * transactions, permissions and domain introduction.
 */
#include "tests/xensim/lib/stubs.h"

SIM_STUB_PTR(xs_check_watch)
SIM_STUB_PTR(xs_control_command)
SIM_STUB_VOID(xs_daemon_destroy_postfork)
SIM_STUB_PTR(xs_daemon_rundir)
SIM_STUB_PTR(xs_daemon_socket)
SIM_STUB_PTR(xs_daemon_socket_ro)
SIM_STUB_PTR(xs_debug_command)
SIM_STUB_INT(xs_fileno)
SIM_STUB_PTR(xs_get_permissions)
SIM_STUB_FALSE(xs_introduce_domain)
SIM_STUB_FALSE(xs_is_domain_introduced)
SIM_STUB_FALSE(xs_mkdir)
SIM_STUB_FALSE(xs_path_is_subpath)
SIM_STUB_PTR(xs_read_watch)
SIM_STUB_FALSE(xs_release_domain)
SIM_STUB_FALSE(xs_restrict)
SIM_STUB_FALSE(xs_resume_domain)
SIM_STUB_FALSE(xs_rm)
SIM_STUB_FALSE(xs_set_permissions)
SIM_STUB_FALSE(xs_set_target)
SIM_STUB_FALSE(xs_strings_to_perms)
SIM_STUB_INT(xs_suspend_evtchn_port)
SIM_STUB_FALSE(xs_transaction_end)
/* xs_transaction_t 0 is XBT_NULL: the documented failure value */
SIM_STUB_FALSE(xs_transaction_start)
SIM_STUB_FALSE(xs_unwatch)
SIM_STUB_FALSE(xs_watch)
SIM_STUB_FALSE(xs_write)
SIM_STUB_FALSE(xs_write_all)
