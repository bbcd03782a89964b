// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * xenstub's command line, transports (TCP, unix socket, stdio), signal
 * handling and the single-threaded event loop that joins gdb's connection
 * to the session. Every way out goes through session_close(), which
 * leaves the guest as found.
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

#include "stub/cli.h"
#include "stub/listen.h"

/* ---- the event loop ---- */

enum loop_end { LOOP_NEXT, LOOP_QUIT };

static int signal_fd;
static int last_signal;

/*
 * Every signal whose default action ends the process, but those of
 * faults (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT: install_fatal_handlers)
 * and SIGPIPE (ignored: a closed connection is an error of write()).
 * Until the session may change the guest they end xenstub at once with
 * 128+N; from then on they wait, blocked, in the signalfd the event loop
 * reads, so that the way out leaves the guest as found.
 */
static const int term_signals[] = {
	SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGALRM, SIGTRAP,
	SIGSYS, SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF, SIGIO, SIGSTKFLT, SIGPWR,
};

static void term_signal_set(sigset_t *set)
{
	size_t i;
	int sig;

	sigemptyset(set);
	for (i = 0; i < sizeof(term_signals) / sizeof(term_signals[0]); i++)
		sigaddset(set, term_signals[i]);
	for (sig = SIGRTMIN; sig <= SIGRTMAX; sig++)
		sigaddset(set, sig);
}

static void early_signal(int sig)
{
	_exit(128 + sig);
}

/* From the first instruction: nothing to undo yet, so exit 128+N. */
static void install_early_handlers(void)
{
	struct sigaction sa;
	sigset_t set;
	int sig;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = early_signal;
	sigfillset(&sa.sa_mask);
	term_signal_set(&set);
	for (sig = 1; sig < NSIG; sig++)
		if (sigismember(&set, sig) == 1)
			sigaction(sig, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
}

/*
 * Fatal errors (a crash, an abort, memory exhaustion) still leave the guest
 * as found: the one session of the process is closed from the handler
 * before the process dies. This is the only global state of the program.
 */
static struct session *fatal_session;

static void fatal_cleanup(void)
{
	struct session *s = fatal_session;

	fatal_session = NULL;
	if (s) {
		static const char m[] = "xenstub: fatal error: leaving the guest as found\n";

		if (write(STDERR_FILENO, m, sizeof(m) - 1) < 0) {
			/* nothing more to say */
		}
		session_close(s);
	}
}

/*
 * The crash may have hit inside a Xen library call, and cleaning up calls
 * into the same libraries: if that does not finish in a few seconds, the
 * process becomes `xenstub --recover TARGET` (execve is safe in a signal
 * handler), which undoes from the journal what the guest still holds.
 */
static char recover_exe[512];
static char *recover_argv[8];
static char recover_sig[16];

static void fatal_timeout(int sig)
{
	static const char m[] = "xenstub: cleaning up did not finish: recovering from the journal\n";
	extern char **environ;

	(void)sig;
	if (recover_argv[0]) {
		/* the recovery then dies of the signal that killed us */
		recover_argv[5] = (char *)"--exit-signal";
		recover_argv[6] = recover_sig;
		if (write(STDERR_FILENO, m, sizeof(m) - 1) < 0) {
			/* nothing more to say */
		}
		execve(recover_exe, recover_argv, environ);
	}
	_exit(70);
}

static void fatal_signal(int sig)
{
	struct sigaction sa;
	sigset_t unblock;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fatal_timeout;
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGALRM, &sa, NULL);
	sigemptyset(&unblock);
	sigaddset(&unblock, SIGALRM);
	sigprocmask(SIG_UNBLOCK, &unblock, NULL);
	{
		/* async-signal-safe decimal of sig for the recovery's argv */
		char d[8];
		int n = 0, v = sig, i;

		do {
			d[n++] = (char)('0' + v % 10);
			v /= 10;
		} while (v && n < 7);
		for (i = 0; i < n; i++)
			recover_sig[i] = d[n - 1 - i];
		recover_sig[n] = 0;
	}
	alarm(10);
	fatal_cleanup();
	alarm(0);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void prepare_recovery(const struct options *o)
{
	static char dir[512], target[512];
	ssize_t n = readlink("/proc/self/exe", recover_exe, sizeof(recover_exe) - 1);

	if (n <= 0 || (size_t)n >= sizeof(recover_exe) - 1)
		return;
	recover_exe[n] = 0;
	snprintf(dir, sizeof(dir), "%s", journal_dir(o->so.journal_dir));
	snprintf(target, sizeof(target), "%s", o->target);
	recover_argv[0] = recover_exe;
	recover_argv[1] = (char *)"--journal-dir";
	recover_argv[2] = dir;
	recover_argv[3] = (char *)"--recover";
	recover_argv[4] = target;
	recover_argv[5] = NULL;
	recover_argv[6] = NULL;
	recover_argv[7] = NULL;
}

static void install_fatal_handlers(struct session *s)
{
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };
	size_t i;

	fatal_session = s;
	fatal_hook = fatal_cleanup;
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = fatal_signal;
		sa.sa_flags = SA_RESETHAND | SA_NODEFER;
		sigaction(sigs[i], &sa, NULL);
	}
}

/*
 * The listening socket while a debugger is attached: who is attached
 * (for the log and for the debuggers refused meanwhile), and those
 * being refused.
 */
struct listener {
	int fd;
	char attached[160];	/* "gdb (pid 123, uid 0)", "127.0.0.1:4567" */
	struct refusals refusals;
};

/* Names the peer of a connection from its address (TCP) or its
 * credentials (unix socket). */
static void describe_peer(int fd, char *out, size_t size)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char h[128], p[16];

	snprintf(out, size, "a debugger");
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) < 0)
		return;
	if (ss.ss_family == AF_UNIX) {
		struct ucred cr;
		socklen_t cl = sizeof(cr);
		char path[64], comm[64] = "";
		FILE *f;

		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) < 0)
			return;
		snprintf(path, sizeof(path), "/proc/%d/comm", (int)cr.pid);
		f = fopen(path, "re");
		if (f) {
			if (!fgets(comm, sizeof(comm), f))
				comm[0] = 0;
			comm[strcspn(comm, "\n")] = 0;
			/* a name is the peer's to choose: printable only */
			for (char *c = comm; *c; c++)
				if (*c < 0x20 || *c > 0x7e)
					*c = '?';
			fclose(f);
		}
		snprintf(out, size, "%s%spid %d, uid %u%s", comm, comm[0] ? " (" : "",
			 (int)cr.pid, (unsigned)cr.uid, comm[0] ? ")" : "");
		return;
	}
	if (getnameinfo((struct sockaddr *)&ss, sl, h, sizeof(h), p, sizeof(p),
			NI_NUMERICHOST | NI_NUMERICSERV) == 0)
		snprintf(out, size, ss.ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", h, p);
}

/* A debugger that connects while one is attached is told so at once. */
static void refuse_second(struct listener *l)
{
	char who[160];
	int fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	describe_peer(fd, who, sizeof(who));
	log_warn(LC_MAIN, "debugger from %s refused: %s is attached (one debugger at a time)",
		 who, l->attached);
	refusals_add(&l->refusals, fd);
}

static enum loop_end serve(struct session *s, int in, int out,
			   struct listener *l)
{
	struct server sv;
	enum loop_end end = LOOP_NEXT;
	char buf[65536];

	server_init(&sv, s, out);
	if (l) {
		time_t now = time(NULL);
		struct tm tm;
		char since[16] = "?";

		if (gmtime_r(&now, &tm))
			strftime(since, sizeof(since), "%H:%M:%S", &tm);
		refusals_init(&l->refusals);
		snprintf(l->refusals.why, sizeof(l->refusals.why),
			 "xenstub: another debugger is attached: %s, since %s UTC; "
			 "one debugger at a time",
			 l->attached, since);
	}
	for (;;) {
		struct pollfd pfd[4 + REFUSALS_MAX];
		int nfds = 0, evfd = -1, timeout = -1, lidx = -1, ridx, rc;

		pfd[nfds++] = (struct pollfd){ in, POLLIN, 0 };
		pfd[nfds++] = (struct pollfd){ signal_fd, POLLIN, 0 };
		if (sv.waiting) {
			evfd = session_event_fd(s);
			if (evfd >= 0)
				pfd[nfds++] = (struct pollfd){ evfd, POLLIN, 0 };
			/* some guests change state without an event
			 * (shutdown): look now and then */
			timeout = 200;
		}
		if (l) {
			lidx = nfds;
			pfd[nfds++] = (struct pollfd){ l->fd, POLLIN, 0 };
		}
		ridx = nfds;
		if (l)
			nfds += (int)refusals_pollfds(&l->refusals, pfd + nfds,
						      REFUSALS_MAX, &timeout);
		rc = poll(pfd, (nfds_t)nfds, timeout);
		if (rc < 0) {
			if (errno == EINTR)
				continue;
			log_err(LC_MAIN, "poll: %s", strerror(errno));
			end = LOOP_QUIT;
			break;
		}
		if (pfd[1].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(signal_fd, &si, sizeof(si)) == sizeof(si)) {
				last_signal = (int)si.ssi_signo;
				log_warn(LC_MAIN, "%s received: leaving the guest as found and exiting",
					 strsignal(last_signal));
				end = LOOP_QUIT;
				break;
			}
		}
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = read(in, buf, sizeof(buf));

			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0) {
				log_info(LC_MAIN, "gdb disconnected%s",
					 n < 0 ? "" : "");
				break;
			}
			rc = server_input(&sv, buf, (size_t)n);
			if (rc < 0) {
				log_info(LC_MAIN, "connection lost: %s", strerror(-rc));
				break;
			}
			if (sv.end != SERVER_CONTINUE)
				break;
		}
		if (sv.waiting) {
			rc = server_poll_guest(&sv);
			if (rc < 0)
				log_warn(LC_SESSION, "guest events: %s", strerror(-rc));
			if (sv.end != SERVER_CONTINUE)
				break;
		}
		/* last: a debugger that closed its connection just before
		 * another connected has been seen to leave above, and the
		 * next one is served, not refused */
		if (l) {
			char c;

			refusals_handle(&l->refusals, pfd + ridx, (size_t)(nfds - ridx));
			/* nor when its end of file waits behind what was read */
			if ((pfd[lidx].revents & POLLIN) &&
			    recv(in, &c, 1, MSG_PEEK | MSG_DONTWAIT) != 0)
				refuse_second(l);
		}
	}
	if (sv.end == SERVER_GUEST_GONE)
		end = LOOP_QUIT;
	log_info(LC_MAIN, "connection ended: %llu packets in (%llu bytes), %llu packets out (%llu bytes)",
		 (unsigned long long)sv.rsp.st.packets_in, (unsigned long long)sv.rsp.st.bytes_in,
		 (unsigned long long)sv.rsp.st.packets_out, (unsigned long long)sv.rsp.st.bytes_out);
	if (l)
		refusals_release(&l->refusals);
	server_release(&sv);
	return end;
}

/*
 * gdb shows what a 'target remote | xenstub ...' child wrote on stderr
 * only while it reads from the child; if the child is gone before gdb's
 * first packet, gdb reports a broken pipe and the reason is lost. So a
 * stdio xenstub that fails to start waits (boundedly) for gdb's first
 * bytes before exiting.
 */
static void stdio_linger(const struct options *o)
{
	struct pollfd pfd = { STDIN_FILENO, POLLIN, 0 };

	if (!o->comm || strcmp(o->comm, "-") || isatty(STDIN_FILENO))
		return;
	fflush(stderr);
	poll(&pfd, 1, 5000);
}

/*
 * --vmlinux FILE --gdb: the command that loads FILE into gdb, each section
 * at its address in the guest, in load; left empty, after a warning, when
 * the file was not placed in the guest (another kernel, no Linux found):
 * gdb then gets no file rather than one at wrong addresses.
 */
static void vmlinux_command(const struct options *o, struct session *s,
			    struct strbuf *load)
{
	struct strbuf off = STRBUF_INIT, why = STRBUF_INIT;
	unsigned long long seg;
	char *end;

	/* the qOffsets reply, "TextSeg=HEX": the image's first segment */
	if (session_image_offsets(s, &off) < 0 || strncmp(off.buf, "TextSeg=", 8) ||
	    (errno = 0, seg = strtoull(off.buf + 8, &end, 16), errno) ||
	    end == off.buf + 8 || *end) {
		log_warn(LC_MAIN, "--vmlinux %s: not loaded into gdb: it was not found to be the "
			 "guest's kernel ('monitor os' says why)", o->vmlinux);
		goto out;
	}
	if (gdb_image_command(o->vmlinux, seg, load, &why) < 0)
		log_warn(LC_MAIN, "--vmlinux: not loaded into gdb: %s", why.buf);
	else
		log_info(LC_MAIN, "gdb loads the kernel image: %s", load->buf);
out:
	strbuf_release(&off);
	strbuf_release(&why);
}

/*
 * --gdb: the private folder, the socket in it, then gdb. Ctrl-C from then
 * on is gdb's alone (gdb sends it to xenstub as an interrupt). The
 * listening socket, or -1 after saying why.
 */
static int start_gdb(const struct options *o, struct session *s,
		     struct gdb_launch *gl, struct unix_listener *ul)
{
	struct strbuf why = STRBUF_INIT, load = STRBUF_INIT;
	char script_path[PATH_MAX];
	const char *script = NULL;
	sigset_t intr;
	int lfd, rc;

	if (gdb_launch_prepare(gl, &why) < 0) {
		fprintf(stderr, "xenstub: --gdb: %s\n", why.buf);
		strbuf_release(&why);
		return -1;
	}
	lfd = listen_unix(gl->sock, ul, false);
	if (lfd < 0)
		return -1;
	sigemptyset(&intr);
	sigaddset(&intr, SIGINT);
	{
		sigset_t mask;

		term_signal_set(&mask);
		sigdelset(&mask, SIGINT);
		signalfd(signal_fd, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	}
	signal(SIGINT, SIG_IGN);
	sigprocmask(SIG_UNBLOCK, &intr, NULL);
	if (o->vmlinux) {
		vmlinux_command(o, s, &load);
		/* for the kernel's gdb scripts (lx-*, $lx_current()) */
		script = gdb_helper_script(script_path, sizeof(script_path));
		if (!script)
			log_warn(LC_MAIN, "--vmlinux: xenstub-gdb.py not found next to xenstub "
				 "or in ../share/xenstub: the kernel's gdb scripts will take "
				 "task threads' CPUs wrongly");
		else
			log_info(LC_MAIN, "gdb sources %s", script);
	}
	rc = gdb_launch_start(gl, o->gdb_program, script, load.len ? load.buf : NULL,
			      o->gdb_args, o->ngdb_args, &why);
	strbuf_release(&load);
	if (rc < 0) {
		fprintf(stderr, "xenstub: --gdb: %s\n", why.buf);
		strbuf_release(&why);
		close(lfd);
		unlink_unix(gl->sock, ul);
		return -1;
	}
	strbuf_release(&why);
	log_info(LC_MAIN, "gdb started (pid %d), connecting through %s", (int)gl->pid, gl->sock);
	return lfd;
}

int main(int argc, char **argv)
{
	struct options o;
	struct target *t = NULL;
	struct session *s = NULL;
	sigset_t mask;
	char *msg = NULL;
	struct unix_listener ul = { 0 };
	struct listener lst;
	struct gdb_launch gl;
	int lfd = -1, rc, status = 0;

	install_early_handlers();
	gdb_launch_init(&gl);
	memset(&o, 0, sizeof(o));
	if (parse_options(argc, argv, &o))
		return 2;

	if (check_input_file("--symbols", o.so.symbols_path, false) ||
	    check_input_file("--profile", o.so.profile_path, false) ||
	    check_input_file("--profile-dir", o.so.profile_dir, true)) {
		stdio_linger(&o);
		return 1;
	}
	rc = target_open(o.target, &o.tp, &t, &msg);
	if (rc < 0) {
		fprintf(stderr, "xenstub: %s\n", msg ? msg : strerror(-rc));
		free(msg);
		stdio_linger(&o);
		return 1;
	}

	/* from here on the guest may be changed: signals wait for the loop */
	term_signal_set(&mask);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (signal_fd < 0) {
		fprintf(stderr, "xenstub: signalfd: %s\n", strerror(errno));
		target_close(t);
		return 1;
	}
	if (o.recover) {
		struct strbuf out = STRBUF_INIT;

		/* a recovery is finished before a signal ends it */
		rc = session_recover(t, o.so.journal_dir, &out);
		fputs(out.buf, rc < 0 ? stderr : stdout);
		fflush(NULL);
		strbuf_release(&out);
		target_close(t);
		if (o.exit_signal > 0 && o.exit_signal < 64) {
			signal(o.exit_signal, SIG_DFL);
			sigemptyset(&mask);
			sigaddset(&mask, o.exit_signal);
			sigprocmask(SIG_UNBLOCK, &mask, NULL);
			raise(o.exit_signal);
		}
		/* a signal that came meanwhile ends xenstub now (128+N) */
		term_signal_set(&mask);
		sigprocmask(SIG_UNBLOCK, &mask, NULL);
		return rc < 0 ? 1 : 0;
	}
	/* a listening xenstub takes the guest when a debugger connects */
	o.so.attach_later = (!o.comm || strcmp(o.comm, "-")) && !o.attach_now;
	rc = session_open(t, &o.so, &s, &msg);
	if (rc < 0) {
		fprintf(stderr, "xenstub: %s\n", msg ? msg : strerror(-rc));
		free(msg);
		target_close(t);
		/* nothing to undo any more: a signal ends xenstub at once */
		term_signal_set(&mask);
		sigprocmask(SIG_UNBLOCK, &mask, NULL);
		stdio_linger(&o);
		return 1;
	}

	if (session_is_live(s)) {
		install_fatal_handlers(s);
		prepare_recovery(&o);
	}
	if (o.comm && !strcmp(o.comm, "-")) {
		serve(s, STDIN_FILENO, STDOUT_FILENO, NULL);
		goto out;
	}
	if (o.gdb_program)
		lfd = start_gdb(&o, s, &gl, &ul);
	else if (!strncmp(o.comm, "unix:", 5))
		lfd = listen_unix(o.comm + 5, &ul, true);
	else
		lfd = listen_tcp(o.comm);
	if (lfd < 0) {
		status = 1;
		goto out;
	}
	for (;;) {
		struct pollfd pfd[3] = { { lfd, POLLIN, 0 },
					 { signal_fd, POLLIN, 0 },
					 { gl.pidfd, POLLIN, 0 } };
		enum loop_end end;
		int cfd, one = 1;

		if (poll(pfd, gl.pidfd >= 0 ? 3 : 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			status = 1;
			break;
		}
		if (gl.pidfd >= 0 && (pfd[2].revents & POLLIN)) {
			/* the gdb we started has ended: so do we */
			status = gdb_launch_wait(&gl);
			break;
		}
		if (pfd[1].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(signal_fd, &si, sizeof(si)) == sizeof(si))
				last_signal = (int)si.ssi_signo;
			log_warn(LC_MAIN, "%s received: leaving the guest as found and exiting",
				 strsignal(last_signal));
			break;
		}
		cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (cfd < 0)
			continue;
		setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		describe_peer(cfd, lst.attached, sizeof(lst.attached));
		if (o.gdb_program && !gdb_launch_is_peer(&gl, cfd)) {
			log_warn(LC_MAIN, "connection from %s refused: only the gdb xenstub started connects here",
				 lst.attached);
			close(cfd);
			continue;
		}
		log_info(LC_MAIN, "debugger connected: %s", lst.attached);
		rc = session_attach(s, &msg);
		if (rc < 0) {
			log_err(LC_MAIN, "%s", msg ? msg : strerror(-rc));
			free(msg);
			msg = NULL;
			close(cfd);
			status = 1;
			break;
		}
		lst.fd = lfd;
		end = serve(s, cfd, cfd, &lst);
		close(cfd);
		session_detach(s);
		if (end == LOOP_QUIT || o.once || last_signal)
			break;
	}
out:
	fatal_session = NULL;
	session_close(s);
	if (lfd >= 0) {
		close(lfd);
		if (o.gdb_program)
			unlink_unix(gl.sock, &ul);
		else if (!strncmp(o.comm, "unix:", 5))
			unlink_unix(o.comm + 5, &ul);
	}
	gdb_launch_cleanup(&gl);
	if (gl.pid > 0) {
		/* the guest is as found and the socket gone: the terminal is
		 * gdb's until it ends (it says the connection closed); a
		 * signal now ends xenstub at once */
		term_signal_set(&mask);
		sigprocmask(SIG_UNBLOCK, &mask, NULL);
		rc = gdb_launch_wait(&gl);
		if (!last_signal)
			status = rc;
	}
	if (last_signal)
		status = 128 + last_signal;
	return status;
}
