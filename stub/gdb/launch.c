// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Starting gdb connected to xenstub through a private unix socket: the
 * folder, the child process (posix_spawn, so that nothing of xenstub's
 * signal state leaks into gdb) and the cleanup.
 */
#include "stub/gdb/launch.h"

#include <errno.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

void gdb_launch_init(struct gdb_launch *gl)
{
	memset(gl, 0, sizeof(*gl));
	gl->pidfd = -1;
}

/* A folder to make ours in: $XDG_RUNTIME_DIR (private to the user) when
 * it is set and belongs to us, else $TMPDIR, else /tmp; never one whose
 * path has a blank (gdb's `target remote` would cut the path there). */
static const char *base_dir(void)
{
	const char *d = getenv("XDG_RUNTIME_DIR");
	struct stat st;

	if (d && *d == '/' && !strpbrk(d, " \t\n") && stat(d, &st) == 0 &&
	    S_ISDIR(st.st_mode) && st.st_uid == geteuid())
		return d;
	d = getenv("TMPDIR");
	if (d && *d == '/' && !strpbrk(d, " \t\n") && stat(d, &st) == 0 && S_ISDIR(st.st_mode))
		return d;
	return "/tmp";
}

int gdb_launch_prepare(struct gdb_launch *gl, struct strbuf *why)
{
	const char *base = base_dir();
	int n;

	n = snprintf(gl->dir, sizeof(gl->dir), "%s/xenstub-gdb-XXXXXX", base);
	/* the socket's path must fit sun_path */
	if (n < 0 || (size_t)n + strlen("/gdb.sock") >= sizeof(gl->sock)) {
		gl->dir[0] = 0;
		strbuf_addf(why, "the temporary folder %s has too long a path for a unix socket: "
			    "set TMPDIR to a shorter one", base);
		return -ENAMETOOLONG;
	}
	/* mkdtemp makes it 0700 whatever the umask */
	if (!mkdtemp(gl->dir)) {
		int e = errno;

		strbuf_addf(why, "cannot make a private folder in %s: %s", base, strerror(e));
		gl->dir[0] = 0;
		return -e;
	}
	if (snprintf(gl->sock, sizeof(gl->sock), "%s/gdb.sock", gl->dir) >=
	    (int)sizeof(gl->sock))
		return -ENAMETOOLONG; /* not reached: checked above */
	return 0;
}

int gdb_launch_start(struct gdb_launch *gl, const char *program,
		     const char *script, const char *load, char *const *args,
		     int nargs, struct strbuf *why)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	char **argv, *target;
	int i, n = 0, rc;

	argv = xcalloc((size_t)nargs + 8, sizeof(*argv));
	if (asprintf(&target, "target remote %s", gl->sock) < 0) {
		free(argv);
		return -ENOMEM;
	}
	/* gdb runs -ex commands in order, after the files named on its
	 * command line are loaded: the kernel image, then the connection
	 * (whose first stop then shows with symbols), then the user's; the
	 * helper script first, so that it is there for the user's commands */
	argv[n++] = (char *)program;
	if (script) {
		argv[n++] = (char *)"-x";
		argv[n++] = (char *)script;
	}
	if (load) {
		argv[n++] = (char *)"-ex";
		argv[n++] = (char *)load;
	}
	argv[n++] = (char *)"-ex";
	argv[n++] = target;
	for (i = 0; i < nargs; i++)
		argv[n++] = args[i];
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	/* gdb gets the terminal, none of xenstub's files (the dump, Xen's
	 * devices) */
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	rc = posix_spawnp(&gl->pid, program, &fa, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	free(target);
	free(argv);
	if (rc) {
		gl->pid = 0;
		strbuf_addf(why, "cannot start %s: %s", program, strerror(rc));
		return -rc;
	}
	gl->pidfd = pidfd_open(gl->pid, 0);
	return 0;
}

bool gdb_launch_is_peer(const struct gdb_launch *gl, int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	return gl->pid > 0 && getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0 &&
	       cr.pid == gl->pid;
}

int gdb_launch_wait(struct gdb_launch *gl)
{
	int status;
	pid_t r;

	if (gl->pid <= 0)
		return -1;
	do
		r = waitpid(gl->pid, &status, 0);
	while (r < 0 && errno == EINTR);
	gl->pid = 0;
	if (gl->pidfd >= 0) {
		close(gl->pidfd);
		gl->pidfd = -1;
	}
	if (r < 0)
		return 1;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

void gdb_launch_cleanup(struct gdb_launch *gl)
{
	struct stat st;

	if (gl->sock[0] && lstat(gl->sock, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(gl->sock);
	gl->sock[0] = 0;
	if (gl->dir[0])
		rmdir(gl->dir);
	gl->dir[0] = 0;
	if (gl->pidfd >= 0) {
		close(gl->pidfd);
		gl->pidfd = -1;
	}
}
