// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * xensim: the control command of the simulated Xen. It turns a command
 * line into a JSON request for xensimd and prints the JSON answer, so
 * that tests can create domains, drive workloads and inspect everything
 * the simulation knows.
 */
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "stub/base/strbuf.h"
#include "tests/xensim/proto.h"

static const char usage_text[] =
	"usage: xensim [--socket PATH] COMMAND [ARGS]\n"
	"The socket defaults to $XENSIM_SOCKET. Answers are JSON on stdout.\n"
	"\n"
	"  create --name NAME (--from-dump ELF | --raw IMAGE [--cr3 ADDR] | --zero MIB)\n"
	"         [--vcpus N] [--type hvm|pvh|pv] [--amd] [--no-pagetables]\n"
	"         [--altp2m disabled|mixed|external|limited]\n"
	"  destroy DOM [--dying]\n"
	"  list\n"
	"  state DOM [--digest]\n"
	"  digest DOM [--gpa ADDR --len N]\n"
	"  workload DOM VCPU FILE|-        (JSON: {\"steps\": [...]})\n"
	"  start DOM [--vcpu N] [--steps N]\n"
	"  stop DOM [--vcpu N]\n"
	"  read DOM (--gpa ADDR | --va ADDR --vcpu N) LEN\n"
	"  write DOM (--gpa ADDR | --va ADDR --vcpu N) HEX\n"
	"  set-reg DOM VCPU REG=VALUE...\n"
	"  shutdown DOM poweroff|reboot|suspend|crash|watchdog\n"
	"  quirk DOM no-progress on|off    (EMULATE answers to mem_access events\n"
	"                                   are ignored: the same event again)\n"
	"  quit\n";

static void die_usage(const char *why)
{
	if (why)
		fprintf(stderr, "xensim: %s\n", why);
	fputs(usage_text, stderr);
	exit(2);
}

static json_object *num_or_str(const char *s)
{
	return json_object_new_string(s);
}

/* Reads the options of a command: --name VALUE or --flag. */
static int parse_opts(int argc, char **argv, int i, json_object *req,
		      const char *const *with_value, const char *const *flags,
		      char **positional, int maxpos, int *npos)
{
	*npos = 0;
	for (; i < argc; i++) {
		const char *a = argv[i];
		int k, found = 0;

		if (strncmp(a, "--", 2)) {
			if (*npos >= maxpos)
				die_usage("too many arguments");
			positional[(*npos)++] = argv[i];
			continue;
		}
		for (k = 0; with_value && with_value[k]; k += 2) {
			if (!strcmp(a + 2, with_value[k])) {
				if (i + 1 >= argc)
					die_usage("an option needs a value");
				json_object_object_add(req, with_value[k + 1],
						       num_or_str(argv[++i]));
				found = 1;
				break;
			}
		}
		for (k = 0; !found && flags && flags[k]; k += 2) {
			if (!strcmp(a + 2, flags[k])) {
				json_object_object_add(req, flags[k + 1],
						       json_object_new_boolean(1));
				found = 1;
			}
		}
		if (!found) {
			fprintf(stderr, "xensim: unknown option %s\n", a);
			exit(2);
		}
	}
	return 0;
}

static char *read_file(const char *path)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	struct strbuf sb = STRBUF_INIT;
	char buf[4096];
	size_t n;

	if (!f) {
		fprintf(stderr, "xensim: cannot open %s: %s\n", path,
			strerror(errno));
		exit(1);
	}
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		strbuf_add(&sb, buf, n);
	if (f != stdin)
		fclose(f);
	return strbuf_detach(&sb, NULL);
}

static void abs_path(json_object *req, const char *key)
{
	json_object *v;
	char real[PATH_MAX];

	if (json_object_object_get_ex(req, key, &v) &&
	    realpath(json_object_get_string(v), real))
		json_object_object_add(req, key, json_object_new_string(real));
}

static json_object *build(int argc, char **argv, int i)
{
	json_object *req = json_object_new_object();
	const char *cmd = argv[i++];
	char *pos[64];
	int npos = 0;

	json_object_object_add(req, "cmd", json_object_new_string(cmd));
	if (!strcmp(cmd, "create")) {
		static const char *const wv[] = {
			"name", "name", "from-dump", "dump", "raw", "raw",
			"cr3", "cr3", "zero", "zero_mib", "vcpus", "vcpus",
			"type", "type", "altp2m", "altp2m", NULL };
		static const char *const fl[] = { "amd", "amd",
						  "no-pagetables", "nopt",
						  NULL };
		json_object *v;

		parse_opts(argc, argv, i, req, wv, fl, pos, 0, &npos);
		if (json_object_object_get_ex(req, "amd", NULL)) {
			json_object_object_del(req, "amd");
			json_object_object_add(req, "vendor",
					       json_object_new_string("amd"));
		}
		if (json_object_object_get_ex(req, "nopt", &v)) {
			json_object_object_del(req, "nopt");
			json_object_object_add(req, "pagetables",
					       json_object_new_boolean(0));
		}
		abs_path(req, "dump");
		abs_path(req, "raw");
		return req;
	}
	if (!strcmp(cmd, "list") || !strcmp(cmd, "quit")) {
		if (i != argc)
			die_usage("no arguments expected");
		return req;
	}
	if (i >= argc)
		die_usage("give the domain (id or name)");
	json_object_object_add(req, "dom", json_object_new_string(argv[i++]));
	if (!strcmp(cmd, "destroy")) {
		static const char *const fl[] = { "dying", "dying", NULL };

		parse_opts(argc, argv, i, req, NULL, fl, pos, 0, &npos);
	} else if (!strcmp(cmd, "state")) {
		static const char *const fl[] = { "digest", "digest", NULL };

		parse_opts(argc, argv, i, req, NULL, fl, pos, 0, &npos);
	} else if (!strcmp(cmd, "digest")) {
		static const char *const wv[] = { "gpa", "gpa", "len", "len",
						  NULL };

		parse_opts(argc, argv, i, req, wv, NULL, pos, 0, &npos);
	} else if (!strcmp(cmd, "workload")) {
		json_object *w;
		char *text;

		parse_opts(argc, argv, i, req, NULL, NULL, pos, 2, &npos);
		if (npos != 2)
			die_usage("workload DOM VCPU FILE|-");
		json_object_object_add(req, "vcpu", json_object_new_string(pos[0]));
		text = read_file(pos[1]);
		w = json_tokener_parse(text);
		free(text);
		if (!w) {
			fprintf(stderr, "xensim: %s is not valid JSON\n", pos[1]);
			exit(1);
		}
		json_object_object_add(req, "workload", w);
	} else if (!strcmp(cmd, "start") || !strcmp(cmd, "stop")) {
		static const char *const wv[] = { "vcpu", "vcpu", "steps",
						  "steps", NULL };

		parse_opts(argc, argv, i, req, wv, NULL, pos, 0, &npos);
	} else if (!strcmp(cmd, "read") || !strcmp(cmd, "write")) {
		static const char *const wv[] = { "gpa", "gpa", "va", "va",
						  "vcpu", "vcpu", NULL };

		parse_opts(argc, argv, i, req, wv, NULL, pos, 1, &npos);
		if (npos != 1)
			die_usage("read/write need LEN or HEX");
		json_object_object_add(req, !strcmp(cmd, "read") ? "len" : "hex",
				       json_object_new_string(pos[0]));
	} else if (!strcmp(cmd, "set-reg")) {
		json_object *regs = json_object_new_object();
		int k;

		parse_opts(argc, argv, i, req, NULL, NULL, pos, 64, &npos);
		if (npos < 2)
			die_usage("set-reg DOM VCPU REG=VALUE...");
		json_object_object_add(req, "vcpu", json_object_new_string(pos[0]));
		for (k = 1; k < npos; k++) {
			char *eq = strchr(pos[k], '=');

			if (!eq)
				die_usage("registers are REG=VALUE");
			*eq = 0;
			json_object_object_add(regs, pos[k],
					       json_object_new_string(eq + 1));
		}
		json_object_object_add(req, "regs", regs);
	} else if (!strcmp(cmd, "quirk")) {
		parse_opts(argc, argv, i, req, NULL, NULL, pos, 2, &npos);
		if (npos != 2)
			die_usage("quirk DOM NAME on|off");
		json_object_object_add(req, "quirk", json_object_new_string(pos[0]));
		json_object_object_add(req, "value", json_object_new_string(pos[1]));
	} else if (!strcmp(cmd, "shutdown")) {
		parse_opts(argc, argv, i, req, NULL, NULL, pos, 1, &npos);
		if (npos != 1)
			die_usage("shutdown DOM REASON");
		json_object_object_add(req, "reason", json_object_new_string(pos[0]));
	} else {
		fprintf(stderr, "xensim: unknown command \"%s\"\n", cmd);
		die_usage(NULL);
	}
	return req;
}

static int connect_daemon(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(a.sun_path)) {
		fprintf(stderr, "xensim: socket path %s is too long\n", path);
		exit(1);
	}
	strcpy(a.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		fprintf(stderr, "xensim: cannot reach xensimd at %s: %s\n", path,
			strerror(errno));
		exit(1);
	}
	return fd;
}

static int call(int fd, uint32_t op, uint32_t arg, const char *body,
		char **reply)
{
	struct xsim_hdr h;
	void *b;
	int fds[XSIM_MAX_FDS];
	unsigned nfds, k;
	int rc;

	rc = xsim_send(fd, op, arg, 0, body, body ? strlen(body) : 0, NULL, 0);
	if (!rc)
		rc = xsim_recv(fd, &h, &b, fds, &nfds);
	if (rc) {
		fprintf(stderr, "xensim: lost xensimd: %s\n", strerror(-rc));
		exit(1);
	}
	for (k = 0; k < nfds; k++)
		close(fds[k]);
	*reply = b;
	return h.rc;
}

int main(int argc, char **argv)
{
	const char *path = getenv(XSIM_SOCKET_ENV);
	json_object *req, *ans, *ok;
	char *reply;
	int i = 1, fd, rc;

	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (argc > 2 && !strcmp(argv[1], "--socket")) {
		path = argv[2];
		i = 3;
	}
	if (i >= argc)
		die_usage("give a command");
	if (!path || !*path)
		die_usage("give --socket PATH or set XENSIM_SOCKET");
	req = build(argc, argv, i);
	fd = connect_daemon(path);
	if (call(fd, XSIM_OP_HELLO, XSIM_ROLE_CTL, NULL, &reply)) {
		fprintf(stderr, "xensim: xensimd refused the connection\n");
		return 1;
	}
	free(reply);
	call(fd, XSIM_OP_CTL, 0,
	     json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN),
	     &reply);
	close(fd);
	json_object_put(req);
	ans = json_tokener_parse(reply);
	if (!ans) {
		fprintf(stderr, "xensim: xensimd answered something that is not JSON: %s\n",
			reply);
		free(reply);
		return 1;
	}
	free(reply);
	rc = json_object_object_get_ex(ans, "ok", &ok) &&
	     json_object_get_boolean(ok) ? 0 : 1;
	if (rc) {
		json_object *e;

		fprintf(stderr, "xensim: %s\n",
			json_object_object_get_ex(ans, "error", &e) ?
			json_object_get_string(e) : "request failed");
	}
	puts(json_object_to_json_string_ext(ans, JSON_C_TO_STRING_PRETTY |
					    JSON_C_TO_STRING_SPACED));
	json_object_put(ans);
	return rc;
}
