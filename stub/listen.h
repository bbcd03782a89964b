/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Where gdb connects: a TCP port (loopback unless a host is named) or a
 * unix socket made safely (mode 0600, a folder nobody else can write).
 */
#ifndef XENSTUB_LISTEN_H
#define XENSTUB_LISTEN_H

#include <stdbool.h>
#include <sys/types.h>

/* The socket xenstub bound, so that it removes that one only. */
struct unix_listener {
	bool bound;
	dev_t dev;
	ino_t ino;
};

/* Listens on HOST:PORT or :PORT (127.0.0.1); the socket, or -1 after a
 * line on stderr. Prints gdbserver's "Listening on port" line. */
int listen_tcp(const char *comm);
/* Listens on a unix socket at PATH (see unix_path_check()); the socket,
 * or -1 after a line on stderr (said only when say). */
int listen_unix(const char *path, struct unix_listener *ul, bool say);
/* Removes PATH if it is still the socket ul bound. */
void unlink_unix(const char *path, const struct unix_listener *ul);

#endif
