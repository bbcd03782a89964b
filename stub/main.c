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

static void usage(FILE *f)
{
	size_t i;

	fprintf(f,
"Usage: xenstub [OPTIONS] COMM TARGET\n"
"       xenstub [OPTIONS] --gdb[=PROGRAM] TARGET [-- GDB-ARGUMENTS...]\n"
"Serve a Xen guest or a guest memory dump to gdb over the GDB remote protocol.\n"
"\n"
"With --gdb, xenstub starts gdb (or PROGRAM) itself, connected to it through\n"
"a unix socket in a private folder, with GDB-ARGUMENTS after its own\n"
"-ex 'target remote SOCKET'; it ends when gdb ends, with gdb's exit status.\n"
"The fastest way to open a dump: the pipe form below costs gdb a system call\n"
"per byte received.\n"
"\n"
"COMM, where gdb connects:\n"
"  HOST:PORT          listen on HOST (a name or an address) and PORT\n"
"  :PORT, PORT        listen on 127.0.0.1:PORT (0 picks a free port)\n"
"  unix:PATH          listen on a unix socket\n"
"  -                  talk over stdin/stdout: gdb -ex 'target remote | xenstub - TARGET'\n"
"\n"
"TARGET, what is debugged:\n");
	for (i = 0; target_type_help(i); i++)
		fprintf(f, "  %s\n", target_type_help(i));
	fprintf(f,
"\n"
"Options:\n"
"  --gdb[=PROGRAM]    start gdb connected to xenstub (see above); Ctrl-C\n"
"                     is gdb's (it interrupts the guest), not xenstub's\n"
"  --once             exit when gdb disconnects (the default for stdio)\n"
"  --attach-now       live guests: pause the guest and hold its vCPUs at start,\n"
"                     not when gdb connects (by default a listening xenstub\n"
"                     leaves the guest running until a debugger connects, and\n"
"                     again once it leaves)\n"
"  --read-only        refuse writes to guest memory and registers\n"
"  --tracepoints      offer gdb's tracepoint packets (then gdb cannot quit while\n"
"                     the guest runs in the background: interrupt it first)\n"
"  --vcpu N           report the first stop on vCPU N (default 0)\n"
"  --os=auto|linux|windows|none\n"
"                     OS-awareness: guest tasks as threads (default auto)\n"
"  --symbols FILE     a System.map for the guest kernel\n"
"  --profile FILE     a Volatility 3 symbol table (ISF JSON, .json or .json.xz)\n"
"  --vmlinux FILE     the Linux kernel's debug image: types from its DWARF,\n"
"                     and its KASLR slide told to gdb (qOffsets); with --gdb,\n"
"                     xenstub loads FILE into gdb itself, each section where\n"
"                     the guest has it, per-CPU data included (then FILE must\n"
"                     not be among gdb's arguments)\n"
"  --profile-dir DIR  a folder of symbol tables laid out as Volatility 3 does\n"
"  --cr3 VALUE        raw images: the vCPU's page-table root\n"
"  --paging 32|pae|4|5|none\n"
"                     raw images: the paging mode (default 4 with --cr3)\n"
"  --bits 32|64       raw images: the register layout gdb gets\n"
"  --cache-frames N   guest frames kept mapped (default 4096)\n"
"  --journal-dir DIR  where live sessions journal their changes to the guest\n"
"                     (default /run/xenstub)\n"
"  --recover          xenstub --recover TARGET: undo what a xenstub that was\n"
"                     killed (kill -9) left in the guest, from its journal\n"
"  -v, --verbose      say more (repeat for debug output)\n"
"  --debug            debug output, every packet in and out, on stderr\n"
"  --log=CATS         restrict debug output to categories:\n"
"                     main,rsp,target,mem,trap,os,session (or all)\n"
"  --help             this text\n"
"  --version          the version\n"
"\n"
"Examples:\n"
"  xenstub --gdb core:guest.elf\n"
"  xenstub --vmlinux vmlinux --gdb core:guest.elf -- -ex 'p init_task.comm'\n"
"  gdb -ex 'target remote | xenstub - core:guest.elf'   (any gdb front end; slower)\n"
"  xenstub :1234 xen:web01      then in gdb: target remote :1234\n"
"\n"
"Exit status: 0 when gdb is done, 1 when the target cannot be opened or\n"
"served (one line on stderr says why), 2 for a command line error,\n"
"128+N after signal N; with --gdb, gdb's own once the target is open.\n");
}

/* One line on stderr for a command line error; main() exits 2. */
static int usage_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("xenstub: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("; try 'xenstub --help'\n", stderr);
	return -1;
}

/* True when COMM has one of the forms of usage(); listen_tcp() and
 * listen_unix() report what cannot be resolved or bound. */
static bool comm_valid(const char *comm)
{
	const char *port = strrchr(comm, ':');

	if (!strcmp(comm, "-"))
		return true;
	if (!strncmp(comm, "unix:", 5))
		return comm[5] != 0;
	port = port ? port + 1 : comm;
	return *port && strspn(port, "0123456789") == strlen(port);
}

enum {
	OPT_ONCE = 256, OPT_READ_ONLY, OPT_OS, OPT_SYMBOLS, OPT_PROFILE,
	OPT_PROFILE_DIR, OPT_CR3, OPT_PAGING, OPT_BITS, OPT_DEBUG, OPT_LOG,
	OPT_VERSION, OPT_VCPU, OPT_CACHE, OPT_RECOVER, OPT_JOURNAL_DIR,
	OPT_EXIT_SIGNAL, OPT_ATTACH_NOW, OPT_VMLINUX, OPT_GDB, OPT_TRACEPOINTS,
};

/*
 * With --gdb (before any "--"), what follows the first "--" is gdb's:
 * returns its index (the options end there), else argc.
 */
static int gdb_args_start(int argc, char **argv)
{
	bool gdb = false;
	int i;

	for (i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--gdb") || !strncmp(argv[i], "--gdb=", 6))
			gdb = true;
	return gdb ? i : argc;
}

/*
 * --vmlinux FILE --gdb: true when FILE is among gdb's arguments too (its
 * program, or the value of an option such as --se=FILE): gdb would load
 * it twice, the second time moved by qOffsets' single slide, per-CPU data
 * included. Compared as files, whatever the path's spelling.
 */
static bool gdb_args_name(const struct options *o, const char *path)
{
	struct stat want, st;
	int i;

	if (stat(path, &want) < 0)
		return false;
	for (i = 0; i < o->ngdb_args; i++) {
		const char *a = o->gdb_args[i], *eq = strchr(a, '=');

		if (*a == '-' && eq)
			a = eq + 1;
		if (stat(a, &st) == 0 && st.st_dev == want.st_dev && st.st_ino == want.st_ino)
			return true;
	}
	return false;
}

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "once", no_argument, NULL, OPT_ONCE },
		{ "gdb", optional_argument, NULL, OPT_GDB },
		{ "attach-now", no_argument, NULL, OPT_ATTACH_NOW },
		{ "read-only", no_argument, NULL, OPT_READ_ONLY },
		{ "tracepoints", no_argument, NULL, OPT_TRACEPOINTS },
		{ "os", required_argument, NULL, OPT_OS },
		{ "symbols", required_argument, NULL, OPT_SYMBOLS },
		{ "profile", required_argument, NULL, OPT_PROFILE },
		{ "profile-dir", required_argument, NULL, OPT_PROFILE_DIR },
		{ "vmlinux", required_argument, NULL, OPT_VMLINUX },
		{ "cr3", required_argument, NULL, OPT_CR3 },
		{ "paging", required_argument, NULL, OPT_PAGING },
		{ "bits", required_argument, NULL, OPT_BITS },
		{ "vcpu", required_argument, NULL, OPT_VCPU },
		{ "cache-frames", required_argument, NULL, OPT_CACHE },
		{ "recover", no_argument, NULL, OPT_RECOVER },
		{ "journal-dir", required_argument, NULL, OPT_JOURNAL_DIR },
		/* internal: a crashed xenstub that became its own recovery
		 * dies of the crash's signal afterwards */
		{ "exit-signal", required_argument, NULL, OPT_EXIT_SIGNAL },
		{ "verbose", no_argument, NULL, 'v' },
		{ "debug", no_argument, NULL, OPT_DEBUG },
		{ "log", required_argument, NULL, OPT_LOG },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	int c, verbose = 0, dd = gdb_args_start(argc, argv), full_argc = argc;
	uint64_t v;
	unsigned mask;

	o->tp.paging = -1;
	o->so.os = "auto";
	opterr = 0; /* getopt's messages take two lines: ours take one */
	argc = dd;	/* gdb's arguments are not ours */
	while ((c = getopt_long(argc, argv, ":vh", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_ONCE: o->once = true; o->once_set = true; break;
		case OPT_GDB:
			if (optarg && !*optarg)
				return usage_error("--gdb=: the gdb program is empty");
			o->gdb_program = optarg ? optarg : "gdb";
			break;
		case OPT_ATTACH_NOW: o->attach_now = true; break;
		case OPT_READ_ONLY:
			o->tp.read_only = true;
			o->so.read_only = true;
			break;
		case OPT_TRACEPOINTS: o->so.tracepoints = true; break;
		case OPT_OS:
			if (strcmp(optarg, "auto") && strcmp(optarg, "linux") &&
			    strcmp(optarg, "windows") && strcmp(optarg, "none")) {
				fprintf(stderr, "xenstub: --os: '%s' is not one of auto, linux, windows, none\n",
					optarg);
				return -1;
			}
			o->so.os = optarg;
			break;
		case OPT_SYMBOLS: o->so.symbols_path = optarg; break;
		case OPT_RECOVER: o->recover = true; break;
		case OPT_JOURNAL_DIR: o->so.journal_dir = optarg; break;
		case OPT_EXIT_SIGNAL: o->exit_signal = atoi(optarg); break;
		case OPT_VMLINUX:
			o->vmlinux = optarg;
			/* fall through */
		case OPT_PROFILE:
			/* a vmlinux is a profile the Linux module reads as ELF */
			if (o->so.profile_path) {
				fprintf(stderr, "xenstub: --profile and --vmlinux each give the types: give one\n");
				return -1;
			}
			o->so.profile_path = optarg;
			break;
		case OPT_PROFILE_DIR: o->so.profile_dir = optarg; break;
		case OPT_CR3:
			if (parse_u64(optarg, &v)) {
				fprintf(stderr, "xenstub: --cr3: '%s' is not a number\n", optarg);
				return -1;
			}
			o->tp.cr3 = v;
			o->tp.have_cr3 = true;
			break;
		case OPT_PAGING:
			o->tp.paging = x86_paging_mode_parse(optarg);
			if (o->tp.paging < 0) {
				fprintf(stderr, "xenstub: --paging: '%s' is not one of 32, pae, 4, 5, none\n",
					optarg);
				return -1;
			}
			break;
		case OPT_BITS:
			if (strcmp(optarg, "32") && strcmp(optarg, "64")) {
				fprintf(stderr, "xenstub: --bits: '%s' is not 32 or 64\n", optarg);
				return -1;
			}
			o->tp.raw_bits = (unsigned)atoi(optarg);
			break;
		case OPT_VCPU:
			if (parse_u64(optarg, &v) || v > 4095) {
				fprintf(stderr, "xenstub: --vcpu: '%s' is not a vCPU number\n", optarg);
				return -1;
			}
			o->tp.attach_vcpu = (unsigned)v;
			o->so.attach_vcpu = (unsigned)v;
			break;
		case OPT_CACHE:
			if (parse_u64(optarg, &v) || v < 16 || v > (1u << 24)) {
				fprintf(stderr, "xenstub: --cache-frames: '%s' is not a number from 16 to 16777216\n",
					optarg);
				return -1;
			}
			o->so.cache_frames = (unsigned)v;
			break;
		case 'v': verbose++; break;
		case OPT_DEBUG: verbose = 2; break;
		case OPT_LOG:
			if (log_parse_categories(optarg, &mask)) {
				fprintf(stderr, "xenstub: --log: unknown category in '%s'\n", optarg);
				return -1;
			}
			log_set_categories(mask);
			if (verbose < 2)
				verbose = 2;
			break;
		case 'h': usage(stdout); exit(0);
		case OPT_VERSION:
			printf("xenstub %s\n", XENSTUB_VERSION);
			exit(0);
		case ':':
			return usage_error("option '%s' needs a value",
					   argv[optind - 1]);
		default:
			if (optopt && optopt < 256)
				return usage_error("unknown option '-%c'", optopt);
			return usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	log_set_level(verbose >= 2 ? LOG_DEBUG : verbose == 1 ? LOG_INFO : LOG_WARN);
	if (o->recover) {
		if (argc - optind != 1)
			return usage_error("--recover takes one TARGET: usage is xenstub --recover TARGET");
		o->target = argv[optind];
		return 0;
	}
	if (o->gdb_program) {
		if (argc - optind != 1)
			return usage_error("%s: usage is xenstub [OPTIONS] --gdb[=PROGRAM] TARGET [-- GDB-ARGUMENTS...]",
					   argc == optind ? "TARGET is missing" : "one TARGET, and gdb's arguments after '--'");
		if (o->once)
			return usage_error("--once and --gdb: xenstub ends when the gdb it starts ends");
		o->target = argv[optind];
		o->gdb_args = argv + (dd < full_argc ? dd + 1 : full_argc);
		o->ngdb_args = dd < full_argc ? full_argc - dd - 1 : 0;
		if (o->vmlinux && gdb_args_name(o, o->vmlinux))
			return usage_error("--vmlinux with --gdb: xenstub loads %s into gdb itself, each "
					   "section where the guest has it: do not name it among gdb's arguments too",
					   o->vmlinux);
		return 0;
	}
	if (argc - optind < 2)
		return usage_error("%s is missing: usage is xenstub [OPTIONS] COMM TARGET",
				   argc == optind ? "COMM" : "TARGET");
	if (argc - optind > 2)
		return usage_error("too many arguments from '%s' on: usage is xenstub [OPTIONS] COMM TARGET",
				   argv[optind + 2]);
	o->comm = argv[optind];
	o->target = argv[optind + 1];
	if (!comm_valid(o->comm))
		return usage_error("'%s' is not HOST:PORT, :PORT, unix:PATH or -",
				   o->comm);
	if (!strcmp(o->comm, "-") && !o->once_set)
		o->once = true;
	return 0;
}

/*
 * The files the OS module will read, when they exist, must be regular
 * files (a folder for --profile-dir): a FIFO would hold open() until
 * someone writes to it,
 * while signals already wait for the event loop. Checked without
 * blocking, before anything is changed in the guest.
 */
static int check_input_file(const char *opt, const char *path, bool dir)
{
	struct stat st;
	int fd;

	if (!path)
		return 0;
	/* what cannot be opened the OS module reports (and goes on without) */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (fstat(fd, &st) < 0 || (dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))) {
		fprintf(stderr, "xenstub: %s %s: not a %s\n", opt, path,
			dir ? "folder" : "regular file");
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* ---- transports ---- */

/* The socket xenstub bound, so that it removes that one only. */
struct unix_listener {
	bool bound;
	dev_t dev;
	ino_t ino;
};

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
static void unlink_unix(const char *path, const struct unix_listener *ul)
{
	struct stat st;

	if (ul->bound && lstat(path, &st) == 0 && S_ISSOCK(st.st_mode) &&
	    st.st_dev == ul->dev && st.st_ino == ul->ino)
		unlink(path);
}

static int listen_unix(const char *path, struct unix_listener *ul, bool say)
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

static int listen_tcp(const char *comm)
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
	if (o->vmlinux)
		vmlinux_command(o, s, &load);
	rc = gdb_launch_start(gl, o->gdb_program, load.len ? load.buf : NULL,
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
