/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * xenstub's command line: the options main() runs with, their parsing and
 * checks, and --help. Errors are one line on stderr (main() exits 2).
 */
#ifndef XENSTUB_CLI_H
#define XENSTUB_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "stub/guest/target.h"
#include "stub/session/session.h"

struct options {
	const char *comm;	/* NULL with --gdb */
	const char *target;
	const char *gdb_program; /* --gdb: the gdb to start */
	char **gdb_args;	/* --gdb: what follows "--" */
	int ngdb_args;
	const char *vmlinux;	/* --vmlinux: loaded into the gdb --gdb starts */
	bool once;
	bool once_set;
	bool recover;
	bool attach_now;
	int exit_signal;
	struct target_params tp;
	struct session_opts so;
};

/* --help's text */
void usage(FILE *f);
/* Fills o from argv; 0, or -1 after one line on stderr. */
int parse_options(int argc, char **argv, struct options *o);
/* 0 when PATH (an option's file, or folder when dir) may be read: not
 * a FIFO or device that would block; -1 after one line on stderr. */
int check_input_file(const char *opt, const char *path, bool dir);
/* True when PATH names the same file as one of gdb's arguments (--gdb). */
bool gdb_args_name(const struct options *o, const char *path);

#endif
