// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * xenstub's command line: --help, the options and their checks, and what
 * follows "--" for the gdb that --gdb starts.
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


void usage(FILE *f)
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
bool gdb_args_name(const struct options *o, const char *path)
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

int parse_options(int argc, char **argv, struct options *o)
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
int check_input_file(const char *opt, const char *path, bool dir)
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
