/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `xenstub --gdb`: gdb started by xenstub and connected to it through a
 * unix socket in a private folder, so that a dump opens with one command
 * at socket speed (gdb's pipe transport reads its child's stderr after
 * every byte it receives).
 */
#ifndef XENSTUB_LAUNCH_H
#define XENSTUB_LAUNCH_H

#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

#include "stub/base/strbuf.h"

struct gdb_launch {
	char dir[PATH_MAX];	/* the private folder (mode 0700), or "" */
	char sock[108];		/* the socket in it (sun_path's size) */
	pid_t pid;		/* gdb, or 0 */
	int pidfd;		/* readable once gdb has ended, or -1 */
};

void gdb_launch_init(struct gdb_launch *gl);
/*
 * Makes the private folder, under $XDG_RUNTIME_DIR when it is set and
 * ours, else under $TMPDIR or /tmp, and names the socket in it (which the
 * caller binds). 0, or -errno with the reason in why.
 */
int gdb_launch_prepare(struct gdb_launch *gl, struct strbuf *why);
/*
 * Starts `program [-x SCRIPT] [-ex LOAD] -ex 'target remote SOCK' args...`
 * (program looked up in PATH; SCRIPT when script is not NULL, LOAD when
 * load is not NULL) with every signal at its default action and none
 * blocked. 0, or -errno with the reason in why (the program cannot be
 * run).
 */
int gdb_launch_start(struct gdb_launch *gl, const char *program,
		     const char *script, const char *load, char *const *args,
		     int nargs, struct strbuf *why);
/*
 * Appends to cmd the gdb command that loads the kernel image at path
 * whose first loadable segment runs at seg (what qOffsets' TextSeg
 * says): `add-symbol-file PATH -o SLIDE` (the slide: seg less that
 * segment's link address) with `-s NAME ADDR` for each allocated section
 * linked below that segment (x86_64's per-CPU data at 0, which no slide
 * moves), asking no confirmation. 0, or -errno with the reason in why
 * (cmd untouched): the file cannot be read, is not ELF or loads nothing.
 */
int gdb_image_command(const char *path, uint64_t seg, struct strbuf *cmd,
		      struct strbuf *why);
/*
 * The path of xenstub-gdb.py (gdb's side of xenstub for the kernel's gdb
 * scripts) in path, or NULL when it is not there: next to the running
 * program (the build folder), else in ../share/xenstub from it (where
 * make install puts it); path is made absolute with no "..".
 */
const char *gdb_helper_script(char *path, size_t size);
/* True when a connection's peer (SO_PEERCRED) is the gdb we started. */
bool gdb_launch_is_peer(const struct gdb_launch *gl, int fd);
/* Waits for gdb to end; its status as a shell gives it (128+N after
 * signal N). -1 when no gdb was started. */
int gdb_launch_wait(struct gdb_launch *gl);
/* Removes the socket (if it is still there) and the folder. Safe to call
 * more than once. */
void gdb_launch_cleanup(struct gdb_launch *gl);

#endif
