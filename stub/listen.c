// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The transports gdb connects through: TCP, and unix sockets made so that
 * nobody else can take or replace them.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "arch/x86/paging.h"
#include "stub/base/log.h"
#include "stub/base/num.h"
#include "stub/base/version.h"
#include "stub/gdb/launch.h"
#include "stub/gdb/refuse.h"
#include "stub/gdb/server.h"
#include "stub/guest/target.h"
#include "stub/session/session.h"
#include "stub/guest/journal.h"
#include "stub/listen.h"

/*
 * Whoever can replace or connect to the socket drives a xenstub that may
 * run as root: its folder must be writable by us alone (or be sticky, like
 * /tmp, where nobody else can remove what is ours), and what is at PATH is
 * replaced only when it is a socket of ours that nobody listens on.
 */
static int unix_path_check(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	char *slash;
	int fd, rc;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = 0;
	else
		*slash = 0;
	if (stat(dir, &st) < 0) {
		fprintf(stderr, "xenstub: unix:%s: folder %s: %s\n", path, dir, strerror(errno));
		return -1;
	}
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		fprintf(stderr, "xenstub: unix:%s: folder %s belongs to uid %u, who could replace the socket: "
			"choose a folder of yours\n", path, dir, (unsigned)st.st_uid);
		return -1;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX)) {
		fprintf(stderr, "xenstub: unix:%s: folder %s is writable by others (mode %04o) and not sticky: "
			"anyone could replace the socket; choose a folder only you can write\n",
			path, dir, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		fprintf(stderr, "xenstub: unix:%s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		fprintf(stderr, "xenstub: unix:%s: something that is not a socket is there: not replaced\n",
			path);
		return -1;
	}
	if (st.st_uid != geteuid()) {
		fprintf(stderr, "xenstub: unix:%s: the socket there belongs to uid %u: not replaced\n",
			path, (unsigned)st.st_uid);
		return -1;
	}
	/* a socket someone listens on is in use; a stale one is replaced */
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "xenstub: unix:%s: %s\n", path, strerror(errno));
		return -1;
	}
	rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	if (rc == 0 || errno != ECONNREFUSED) {
		fprintf(stderr, "xenstub: unix:%s: %s\n", path, rc == 0 || errno == EAGAIN ?
			"another program listens on this socket: not replaced" : strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	if (unlink(path) < 0) {
		fprintf(stderr, "xenstub: unix:%s: cannot remove the stale socket: %s\n", path,
			strerror(errno));
		return -1;
	}
	return 0;
}

/* Removes the socket at exit if it is still the one we bound. */
void unlink_unix(const char *path, const struct unix_listener *ul)
{
	struct stat st;

	if (ul->bound && lstat(path, &st) == 0 && S_ISSOCK(st.st_mode) &&
	    st.st_dev == ul->dev && st.st_ino == ul->ino)
		unlink(path);
}

int listen_unix(const char *path, struct unix_listener *ul, bool say)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old;
	int fd, rc;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "xenstub: unix:%s: path too long\n", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	if (unix_path_check(path) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	/* the socket is born 0600 whatever the umask: connecting to it needs
	 * write permission, and only we may drive xenstub (one thread: the
	 * umask is ours alone for the bind) */
	old = umask(0177);
	rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc < 0)
		goto fail;
	if (lstat(path, &st) == 0) {
		ul->bound = true;
		ul->dev = st.st_dev;
		ul->ino = st.st_ino;
	}
	if (listen(fd, 1) < 0)
		goto fail;
	if (say)
		fprintf(stderr, "Listening on unix socket %s\n", path);
	return fd;
fail:
	fprintf(stderr, "xenstub: unix:%s: %s\n", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	unlink_unix(path, ul);
	return -1;
}

int listen_tcp(const char *comm)
{
	char host[256] = "127.0.0.1";
	const char *port = comm, *colon = strrchr(comm, ':');
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE };
	struct addrinfo *res = NULL, *ai;
	int fd = -1, one = 1, rc;

	if (colon) {
		size_t n = (size_t)(colon - comm);

		if (n >= sizeof(host)) {
			fprintf(stderr, "xenstub: %s: host name too long\n", comm);
			return -1;
		}
		if (n) {
			memcpy(host, comm, n);
			host[n] = 0;
			/* [v6addr]:port */
			if (host[0] == '[' && host[n - 1] == ']') {
				memmove(host, host + 1, n - 2);
				host[n - 2] = 0;
			}
		}
		port = colon + 1;
	}
	if (!*port || strspn(port, "0123456789") != strlen(port)) {
		fprintf(stderr, "xenstub: '%s' is not HOST:PORT, :PORT, unix:PATH or -\n", comm);
		return -1;
	}
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc) {
		fprintf(stderr, "xenstub: %s: %s\n", host, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (!bind(fd, ai->ai_addr, ai->ai_addrlen) && !listen(fd, 1))
			break;
		close(fd);
		fd = -1;
	}
	if (fd < 0) {
		fprintf(stderr, "xenstub: cannot listen on %s:%s: %s\n", host, port,
			strerror(errno));
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	{
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		char h[128] = "?", p[16] = "?";

		getsockname(fd, (struct sockaddr *)&ss, &sl);
		getnameinfo((struct sockaddr *)&ss, sl, h, sizeof(h), p,
			    sizeof(p), NI_NUMERICHOST | NI_NUMERICSERV);
		/* the same line gdbserver prints; scripts may read the port */
		fprintf(stderr, "Listening on port %s (%s)\n", p, h);
	}
	return fd;
}
