// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The recovery journal: an append-only text file of changes made to a live
 * guest and their undoing, written with write(2) before each change so that
 * it survives a kill -9 (the kernel keeps what was written), and read back
 * by `xenstub --recover`.
 *
 * Records, one per line:
 *   xenstub-journal 1 pid=P target=KEY
 *   pause | unpause
 *   ring on | ring off
 *   ss V on | ss V off                      single-step of vCPU V
 *   int3 GPA ORIG | int3-off GPA            a planted int3 and its byte
 *   access VIEW GFN ORIG | access-off VIEW GFN
 *   dr V DR0 DR1 DR2 DR3 DR6 DR7 | dr-off V  the guest's debug registers
 *   tf V WAS | tf-off V                     EFLAGS.TF set for a step
 *   altp2m on | altp2m off
 */
#include "stub/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stub/log.h"
#include "stub/strbuf.h"

struct journal {
	int fd;
	char path[512];
};

const char *journal_dir(const char *option)
{
	static char buf[256];
	const char *env = getenv("XENSTUB_JOURNAL_DIR");
	const char *tmp = getenv("TMPDIR");

	if (option && *option)
		return option;
	if (env && *env)
		return env;
	if (mkdir("/run/xenstub", 0700) == 0 || errno == EEXIST) {
		if (access("/run/xenstub", W_OK) == 0)
			return "/run/xenstub";
	}
	snprintf(buf, sizeof(buf), "%s/xenstub-%u", tmp && *tmp ? tmp : "/tmp",
		 (unsigned)getuid());
	return buf;
}

static void journal_path(char *out, size_t n, const char *dir, const char *key)
{
	snprintf(out, n, "%s/%s.journal", dir, key);
}

struct journal *journal_open(const char *dir, const char *key, char **msg)
{
	struct journal_state old;
	struct journal *j;
	char *why = NULL;
	int rc;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		*msg = xstrfmt("cannot create the journal folder %s: %s", dir,
			       strerror(errno));
		return NULL;
	}
	rc = journal_read(dir, key, &old, &why);
	free(why);
	if (rc == 0) {
		bool alive = old.pid_alive;
		long pid = old.pid;

		journal_state_free(&old);
		if (alive) {
			*msg = xstrfmt("another xenstub (pid %ld) is attached to this guest", pid);
			return NULL;
		}
		*msg = xstrfmt("a previous xenstub (pid %ld) died without undoing its changes to this guest: "
			       "run 'xenstub --recover' on it first", pid);
		return NULL;
	}
	j = xcalloc(1, sizeof(*j));
	journal_path(j->path, sizeof(j->path), dir, key);
	j->fd = open(j->path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
	if (j->fd < 0) {
		*msg = xstrfmt("cannot write the journal %s: %s", j->path, strerror(errno));
		free(j);
		return NULL;
	}
	journal_note(j, "xenstub-journal 1 pid=%ld target=%s", (long)getpid(), key);
	return j;
}

void journal_note(struct journal *j, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	if (!j)
		return;
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	strbuf_addch(&sb, '\n');
	if (write(j->fd, sb.buf, sb.len) != (ssize_t)sb.len)
		log_warn(LC_MAIN, "the journal %s could not be written: %s", j->path,
			 strerror(errno));
	strbuf_release(&sb);
}

void journal_close(struct journal *j, bool everything_undone)
{
	if (!j)
		return;
	close(j->fd);
	if (everything_undone)
		unlink(j->path);
	else
		log_warn(LC_MAIN, "some changes to the guest could not be undone: "
			 "they are recorded in %s for 'xenstub --recover'", j->path);
	free(j);
}

static struct journal_vcpu *vcpu_of(struct journal_state *st, unsigned v)
{
	if (v >= 4096)
		return NULL;
	if (v >= st->nvcpu) {
		st->vcpu = xrealloc(st->vcpu, (v + 1) * sizeof(*st->vcpu));
		memset(st->vcpu + st->nvcpu, 0, (v + 1 - st->nvcpu) * sizeof(*st->vcpu));
		st->nvcpu = v + 1;
	}
	return &st->vcpu[v];
}

static void set_int3(struct journal_state *st, uint64_t gpa, int orig, bool on)
{
	size_t i;

	for (i = 0; i < st->nint3; i++)
		if (st->int3[i].gpa == gpa)
			break;
	if (!on) {
		if (i < st->nint3)
			st->int3[i] = st->int3[--st->nint3];
		return;
	}
	if (i == st->nint3) {
		st->int3 = xrealloc(st->int3, (st->nint3 + 1) * sizeof(*st->int3));
		st->int3[st->nint3++] = (struct journal_int3){ gpa, (uint8_t)orig };
	}
}

static void set_access(struct journal_state *st, unsigned view, uint64_t gfn,
		       int orig, bool on)
{
	size_t i;

	for (i = 0; i < st->naccess; i++)
		if (st->access[i].gfn == gfn && st->access[i].view == view)
			break;
	if (!on) {
		if (i < st->naccess)
			st->access[i] = st->access[--st->naccess];
		return;
	}
	if (i == st->naccess) {
		st->access = xrealloc(st->access, (st->naccess + 1) * sizeof(*st->access));
		st->access[st->naccess++] =
			(struct journal_access){ view, gfn, (uint8_t)orig };
	}
}

int journal_read(const char *dir, const char *key, struct journal_state *st,
		 char **msg)
{
	char line[512];
	unsigned long long a, b, c, d, e, f;
	unsigned v;
	FILE *fp;
	int lineno = 0;

	memset(st, 0, sizeof(*st));
	journal_path(st->path, sizeof(st->path), dir, key);
	fp = fopen(st->path, "r");
	if (!fp)
		return -ENOENT;
	while (fgets(line, sizeof(line), fp)) {
		struct journal_vcpu *jv;
		char word[16];

		lineno++;
		if (lineno == 1) {
			if (sscanf(line, "xenstub-journal 1 pid=%ld", &st->pid) != 1) {
				*msg = xstrfmt("%s is not a xenstub journal", st->path);
				fclose(fp);
				return -EINVAL;
			}
			continue;
		}
		if (!strcmp(line, "pause\n")) {
			st->pauses++;
		} else if (!strcmp(line, "unpause\n")) {
			if (st->pauses)
				st->pauses--;
		} else if (!strcmp(line, "ring on\n")) {
			st->ring = true;
		} else if (!strcmp(line, "ring off\n")) {
			st->ring = false;
		} else if (!strcmp(line, "altp2m on\n")) {
			st->altp2m = true;
		} else if (!strcmp(line, "altp2m off\n")) {
			st->altp2m = false;
		} else if (sscanf(line, "ss %u %15s", &v, word) == 2) {
			if ((jv = vcpu_of(st, v)))
				jv->single_step = !strcmp(word, "on");
		} else if (sscanf(line, "int3 %llx %llx", &a, &b) == 2) {
			set_int3(st, a, (int)b, true);
		} else if (sscanf(line, "int3-off %llx", &a) == 1) {
			set_int3(st, a, 0, false);
		} else if (sscanf(line, "access %u %llx %llx", &v, &a, &b) == 3) {
			set_access(st, v, a, (int)b, true);
		} else if (sscanf(line, "access-off %u %llx", &v, &a) == 2) {
			set_access(st, v, a, 0, false);
		} else if (sscanf(line, "dr %u %llx %llx %llx %llx %llx %llx", &v, &a,
				  &b, &c, &d, &e, &f) == 7) {
			if ((jv = vcpu_of(st, v))) {
				jv->dr_saved = true;
				jv->dr[0] = a; jv->dr[1] = b; jv->dr[2] = c;
				jv->dr[3] = d; jv->dr[6] = e; jv->dr[7] = f;
			}
		} else if (sscanf(line, "dr-off %u", &v) == 1) {
			if ((jv = vcpu_of(st, v)))
				jv->dr_saved = false;
		} else if (sscanf(line, "tf %u %llx", &v, &a) == 2) {
			if ((jv = vcpu_of(st, v))) {
				jv->tf_set = true;
				jv->tf_was = a != 0;
			}
		} else if (sscanf(line, "tf-off %u", &v) == 1) {
			if ((jv = vcpu_of(st, v)))
				jv->tf_set = false;
		}
		/* unknown lines are skipped: a newer xenstub may add some */
	}
	fclose(fp);
	st->pid_alive = st->pid > 0 && st->pid != (long)getpid() &&
			kill((pid_t)st->pid, 0) == 0;
	return 0;
}

void journal_state_free(struct journal_state *st)
{
	free(st->int3);
	free(st->access);
	free(st->vcpu);
	memset(st, 0, sizeof(*st));
}

int journal_remove(const char *dir, const char *key)
{
	char path[512];

	journal_path(path, sizeof(path), dir, key);
	return unlink(path) < 0 ? -errno : 0;
}
