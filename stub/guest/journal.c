// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The recovery journal: an append-only text file of changes made to a live
 * guest and their undoing, written with write(2) before each change so that
 * it survives a kill -9 (the kernel keeps what was written), and read back
 * by `xenstub --recover`, which trusts nothing in it that xenstub could
 * not have written.
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
#include "stub/guest/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <search.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stub/base/log.h"
#include "stub/base/strbuf.h"

struct journal {
	int fd;
	int dirfd;
	char key[200];
	char name[256];
	char path[512];
	size_t lines;		/* since the file was last written whole */
};

/* A journal is rewritten with just what is still changed past this
 * many lines, so that no session outgrows what --recover reads. */
#define JOURNAL_COMPACT_LINES	100000

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

/*
 * Opens the journal folder (creating it 0700 if asked) once it is known
 * that nobody but us can put a file, or a link, in it: it belongs to us
 * and no one else may write it. A sticky bit is not enough: in /tmp a
 * name nobody holds yet can still be taken by anyone.
 */
static int open_dir(const char *dir, bool create, char **msg)
{
	struct stat st;
	int fd;

	if (create && mkdir(dir, 0700) < 0 && errno != EEXIST) {
		*msg = xstrfmt("cannot create the journal folder %s: %s", dir, strerror(errno));
		return -1;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		if (e != ENOENT)
			*msg = xstrfmt("the journal folder %s: %s", dir, strerror(e));
		errno = e;
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		*msg = xstrfmt("the journal folder %s: %s", dir, strerror(errno));
		goto fail;
	}
	if (st.st_uid != geteuid()) {
		*msg = xstrfmt("the journal folder %s belongs to uid %u, not to uid %u that xenstub runs as: "
			       "its owner could plant a journal there, or a link in place of one; "
			       "use --journal-dir with a folder of yours that only you can write",
			       dir, (unsigned)st.st_uid, (unsigned)geteuid());
		goto fail;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		*msg = xstrfmt("the journal folder %s is writable by others (mode %04o): anyone could plant "
			       "a journal there, or a link in place of one, for xenstub to trust or write "
			       "through%s; use --journal-dir with a folder only you can write (mode 0700)",
			       dir, (unsigned)(st.st_mode & 07777),
			       st.st_mode & S_ISVTX ? " (being sticky does not stop anyone taking a name first)" : "");
		goto fail;
	}
	return fd;
fail:
	close(fd);
	errno = EPERM;
	return -1;
}

static void journal_name(char *out, size_t n, const char *key)
{
	snprintf(out, n, "%s.journal", key);
}

static void journal_path(char *out, size_t n, const char *dir, const char *key)
{
	snprintf(out, n, "%s/%s.journal", dir, key);
}

/* ---- the parser ---- */

struct key_entry {
	uint64_t a, b;		/* int3: gpa, 0; access: gfn, view */
	uint8_t orig;
};

static int key_cmp(const void *x, const void *y)
{
	const struct key_entry *p = x, *q = y;

	if (p->a != q->a)
		return p->a < q->a ? -1 : 1;
	if (p->b != q->b)
		return p->b < q->b ? -1 : 1;
	return 0;
}

struct parser {
	struct journal_state *st;
	void *int3, *access;	/* tsearch trees of struct key_entry */
	size_t nint3, naccess;
};

/* Strict numbers: hex or decimal digits only, no sign, no blank. */
static const char *num(const char *p, unsigned base, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	const char *s = p;

	for (;; p++) {
		unsigned d;

		if (*p >= '0' && *p <= '9')
			d = (unsigned)(*p - '0');
		else if (base == 16 && *p >= 'a' && *p <= 'f')
			d = (unsigned)(*p - 'a' + 10);
		else
			break;
		if (p - s >= 20 || v > (UINT64_MAX - d) / base)
			return NULL;
		v = v * base + d;
	}
	if (p == s || v > max)
		return NULL;
	*out = v;
	return p;
}

/* Parses "WORD N N ..." after the word: each number a space before it,
 * nothing after the last. fmt: 'd' decimal, 'x' hex, per number. */
static bool nums(const char *p, const char *fmt, const uint64_t *max, uint64_t *out)
{
	size_t i;

	for (i = 0; fmt[i]; i++) {
		if (*p++ != ' ')
			return false;
		p = num(p, fmt[i] == 'd' ? 10 : 16, max[i], &out[i]);
		if (!p)
			return false;
	}
	return *p == 0;
}

static struct journal_vcpu *vcpu_of(struct journal_state *st, uint64_t v)
{
	if (v >= st->nvcpu) {
		unsigned n = (unsigned)v + 1;

		st->vcpu = xrealloc(st->vcpu, n * sizeof(*st->vcpu));
		memset(st->vcpu + st->nvcpu, 0, (n - st->nvcpu) * sizeof(*st->vcpu));
		st->nvcpu = n;
	}
	return &st->vcpu[v];
}

static bool canonical(uint64_t a)
{
	/* 57-bit canonical covers both paging depths */
	uint64_t top = a >> 56;

	return top == 0 || top == 0xff;
}

/* One record (no newline). NULL, or why xenstub could not have written it. */
static const char *parse_record(struct parser *ps, const char *line)
{
	static const uint64_t lim_ss[] = { JOURNAL_MAX_VCPUS - 1 };
	static const uint64_t lim_int3[] = { (1ull << 52) - 1, 0xff };
	static const uint64_t lim_off[] = { (1ull << 52) - 1 };
	/* views: xenstub restricts the host view (0); originals are Xen's
	 * access values n .. r_pw (0 .. 10) */
	static const uint64_t lim_access[] = { 0, (1ull << 40) - 1, 10 };
	static const uint64_t lim_access_off[] = { 0, (1ull << 40) - 1 };
	static const uint64_t lim_dr[] = { JOURNAL_MAX_VCPUS - 1, UINT64_MAX, UINT64_MAX,
					   UINT64_MAX, UINT64_MAX, 0xffffffffull, 0xffffffffull };
	static const uint64_t lim_tf[] = { JOURNAL_MAX_VCPUS - 1, 1 };
	struct journal_state *st = ps->st;
	uint64_t n[7];

	if (!strcmp(line, "pause")) {
		if (++st->pauses > JOURNAL_MAX_PAUSES)
			return "more pauses than xenstub ever holds";
	} else if (!strcmp(line, "unpause")) {
		if (st->pauses)
			st->pauses--;
	} else if (!strcmp(line, "ring on")) {
		st->ring = true;
	} else if (!strcmp(line, "ring off")) {
		st->ring = false;
	} else if (!strcmp(line, "altp2m on")) {
		st->altp2m = true;
	} else if (!strcmp(line, "altp2m off")) {
		st->altp2m = false;
	} else if (!strncmp(line, "ss ", 3)) {
		size_t l = strlen(line);
		bool on = l > 3 && !strcmp(line + l - 3, " on");
		bool off = l > 4 && !strcmp(line + l - 4, " off");
		char v[16];

		if ((!on && !off) || l - (on ? 3 : 4) - 2 >= sizeof(v))
			return "not a single-step record";
		memcpy(v, line + 2, l - (on ? 3 : 4) - 2);
		v[l - (on ? 3 : 4) - 2] = 0;
		if (!nums(v, "d", lim_ss, n))
			return "not a vCPU number";
		vcpu_of(st, n[0])->single_step = on;
	} else if (!strncmp(line, "int3 ", 5)) {
		struct key_entry *e = xcalloc(1, sizeof(*e)), **slot;

		if (!nums(line + 4, "xx", lim_int3, n)) {
			free(e);
			return "not an address and a byte";
		}
		/* xenstub plants only in a guest it stopped */
		if (!st->pauses && !st->ring) {
			free(e);
			return "an int3 planted in a guest xenstub had not stopped";
		}
		e->a = n[0];
		e->orig = (uint8_t)n[1];
		slot = tsearch(e, &ps->int3, key_cmp);
		if (!slot) {
			free(e);
			return "no memory left to read it";
		}
		if (*slot != e) {
			free(e);
			return "an int3 where one is planted already";
		}
		ps->nint3++;
	} else if (!strncmp(line, "int3-off ", 9)) {
		struct key_entry k = { 0 }, **slot;

		if (!nums(line + 8, "x", lim_off, n))
			return "not an address";
		k.a = n[0];
		slot = tfind(&k, &ps->int3, key_cmp);
		if (slot) {
			struct key_entry *e = *slot;

			tdelete(&k, &ps->int3, key_cmp);
			free(e);
			ps->nint3--;
		}
	} else if (!strncmp(line, "access ", 7)) {
		struct key_entry *e = xcalloc(1, sizeof(*e)), **slot;

		if (!nums(line + 6, "xxx", lim_access, n)) {
			free(e);
			return "not a view, a frame and an access value";
		}
		if (!st->pauses && !st->ring) {
			free(e);
			return "a frame restricted in a guest xenstub had not stopped";
		}
		e->a = n[1];
		e->b = n[0];
		e->orig = (uint8_t)n[2];
		slot = tsearch(e, &ps->access, key_cmp);
		if (!slot) {
			free(e);
			return "no memory left to read it";
		}
		if (*slot != e) {
			free(e);
			return "a frame restricted again before it was given back";
		}
		ps->naccess++;
	} else if (!strncmp(line, "access-off ", 11)) {
		struct key_entry k = { 0 }, **slot;

		if (!nums(line + 10, "xx", lim_access_off, n))
			return "not a view and a frame";
		k.a = n[1];
		k.b = n[0];
		slot = tfind(&k, &ps->access, key_cmp);
		if (slot) {
			struct key_entry *e = *slot;

			tdelete(&k, &ps->access, key_cmp);
			free(e);
			ps->naccess--;
		}
	} else if (!strncmp(line, "dr ", 3)) {
		struct journal_vcpu *jv;
		unsigned i;

		if (!nums(line + 2, "dxxxxxx", lim_dr, n))
			return "not a vCPU and six debug registers";
		for (i = 1; i <= 4; i++)
			if (!canonical(n[i]))
				return "a debug address that is not canonical";
		/* DR7: reserved bits 11, 12, 14 and 15 read as zero */
		if (n[6] & 0xd800)
			return "a DR7 no vCPU can hold";
		jv = vcpu_of(st, n[0]);
		if (jv->dr_saved)
			return "debug registers saved again before they were given back";
		jv->dr_saved = true;
		jv->dr[0] = n[1];
		jv->dr[1] = n[2];
		jv->dr[2] = n[3];
		jv->dr[3] = n[4];
		jv->dr[6] = n[5];
		jv->dr[7] = n[6];
	} else if (!strncmp(line, "dr-off ", 7)) {
		if (!nums(line + 6, "d", lim_ss, n))
			return "not a vCPU number";
		vcpu_of(st, n[0])->dr_saved = false;
	} else if (!strncmp(line, "tf ", 3)) {
		struct journal_vcpu *jv;

		if (!nums(line + 2, "dd", lim_tf, n))
			return "not a vCPU and 0 or 1";
		jv = vcpu_of(st, n[0]);
		jv->tf_set = true;
		jv->tf_was = n[1] != 0;
	} else if (!strncmp(line, "tf-off ", 7)) {
		if (!nums(line + 6, "d", lim_ss, n))
			return "not a vCPU number";
		vcpu_of(st, n[0])->tf_set = false;
	}
	/* other lines are skipped: a newer xenstub may add some, and they
	 * change nothing here */
	return NULL;
}

static void collect_int3(const void *node, VISIT which, void *ctx)
{
	const struct key_entry *e = *(const struct key_entry *const *)node;
	struct journal_state *st = ctx;

	if (which == postorder || which == leaf)
		st->int3[st->nint3++] = (struct journal_int3){ e->a, e->orig };
}

static void collect_access(const void *node, VISIT which, void *ctx)
{
	const struct key_entry *e = *(const struct key_entry *const *)node;
	struct journal_state *st = ctx;

	if (which == postorder || which == leaf)
		st->access[st->naccess++] =
			(struct journal_access){ (unsigned)e->b, e->a, e->orig };
}

int journal_parse(const char *buf, size_t len, const char *key,
		  struct journal_state *st, char **msg)
{
	struct parser ps = { .st = st };
	const char *p = buf, *end = buf + len;
	char line[256];
	size_t lineno = 0;
	const char *why = NULL;
	int rc = 0;

	{
		char path[sizeof(st->path)];

		memcpy(path, st->path, sizeof(path));
		memset(st, 0, sizeof(*st));
		memcpy(st->path, path, sizeof(path));
		st->path[sizeof(st->path) - 1] = 0;
		st->lock_fd = -1;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l;

		if (!nl)
			break; /* a last line cut by a kill: never acted on */
		l = (size_t)(nl - p);
		lineno++;
		if (lineno > JOURNAL_MAX_LINES) {
			*msg = xstrfmt("%s has more than %u lines: xenstub writes fewer; nothing of it is used",
				       st->path, JOURNAL_MAX_LINES);
			rc = -EINVAL;
			break;
		}
		if (l >= sizeof(line) || memchr(p, 0, l)) {
			why = "not a line xenstub writes";
		} else {
			memcpy(line, p, l);
			line[l] = 0;
			if (lineno == 1) {
				static const char hdr[] = "xenstub-journal 1 pid=";
				uint64_t pid;
				const char *q;

				q = !strncmp(line, hdr, sizeof(hdr) - 1) ?
					num(line + sizeof(hdr) - 1, 10, 0x7fffffff, &pid) : NULL;
				if (!q || strncmp(q, " target=", 8) || (key && strcmp(q + 8, key))) {
					*msg = xstrfmt(q && !strncmp(q, " target=", 8) ?
						       "%s is the journal of another target: nothing of it is used" :
						       "%s is not a xenstub journal", st->path);
					rc = -EINVAL;
					break;
				}
				st->pid = (long)pid;
			} else {
				why = parse_record(&ps, line);
			}
		}
		if (why) {
			*msg = xstrfmt("%s, line %zu: %s: xenstub did not write this journal as it is; "
				       "nothing of it is used", st->path, lineno, why);
			rc = -EINVAL;
			break;
		}
		p = nl + 1;
	}
	if (!rc && lineno == 0) {
		*msg = xstrfmt("%s is not a xenstub journal", st->path);
		rc = -EINVAL;
	}
	if (!rc) {
		st->int3 = xcalloc(ps.nint3 + 1, sizeof(*st->int3));
		twalk_r(ps.int3, collect_int3, st);
		st->access = xcalloc(ps.naccess + 1, sizeof(*st->access));
		twalk_r(ps.access, collect_access, st);
	}
	tdestroy(ps.int3, free);
	tdestroy(ps.access, free);
	if (rc) {
		char path[sizeof(st->path)];

		memcpy(path, st->path, sizeof(path));
		journal_state_free(st);
		memcpy(st->path, path, sizeof(path));
	}
	return rc;
}

/* ---- reading ---- */

/*
 * Opens the journal in dirfd without following a link or blocking on a
 * FIFO, checks it is a regular file of ours, and probes its lock: held by
 * another open file, its xenstub lives (st->pid_alive); else we hold it
 * now (st->locked). Then parses it.
 */
static int read_at(int dirfd, const char *dir_for_msg, const char *key,
		   struct journal_state *st, char **msg, int retries)
{
	char name[256];
	struct stat sb;
	char *buf = NULL;
	size_t got = 0;
	int fd, rc;

	journal_name(name, sizeof(name), key);
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return -ENOENT;
		*msg = xstrfmt("%s: %s%s", st->path, strerror(errno),
			       errno == ELOOP ? " (a link, not a journal: xenstub does not follow it)" : "");
		return -EINVAL;
	}
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_uid != geteuid() ||
	    (sb.st_mode & (S_IWGRP | S_IWOTH))) {
		*msg = xstrfmt("%s is not a journal of xenstub's (not a regular file of uid %u, writable by it alone)",
			       st->path, (unsigned)geteuid());
		close(fd);
		return -EINVAL;
	}
	if ((size_t)sb.st_size > JOURNAL_MAX_BYTES) {
		*msg = xstrfmt("%s has %lld bytes: xenstub writes fewer than %zu; nothing of it is used",
			       st->path, (long long)sb.st_size, JOURNAL_MAX_BYTES);
		close(fd);
		return -EINVAL;
	}
	buf = xmalloc((size_t)sb.st_size + 1);
	while (got < (size_t)sb.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)sb.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	rc = journal_parse(buf, got, key, st, msg);
	free(buf);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		st->pid_alive = true;
		close(fd);
		return 0;
	}
	/* a journal its xenstub replaced by a compacted one meanwhile is
	 * unlinked, no longer locked: read the new one */
	if (fstat(fd, &sb) == 0 && sb.st_nlink == 0 && retries < 8) {
		close(fd);
		journal_state_free(st);
		journal_path(st->path, sizeof(st->path), dir_for_msg, key);
		return read_at(dirfd, dir_for_msg, key, st, msg, retries + 1);
	}
	st->locked = true;
	st->lock_fd = fd;
	return 0;
}

int journal_read(const char *dir, const char *key, struct journal_state *st,
		 char **msg)
{
	int dirfd, rc;

	memset(st, 0, sizeof(*st));
	st->lock_fd = -1;
	journal_path(st->path, sizeof(st->path), dir, key);
	dirfd = open_dir(dir, false, msg);
	if (dirfd < 0)
		return errno == ENOENT ? -ENOENT : -EINVAL;
	rc = read_at(dirfd, dir, key, st, msg, 0);
	close(dirfd);
	return rc;
}

void journal_state_free(struct journal_state *st)
{
	free(st->int3);
	free(st->access);
	free(st->vcpu);
	if (st->locked)
		close(st->lock_fd);
	memset(st, 0, sizeof(*st));
	st->lock_fd = -1;
}

int journal_remove(const char *dir, const char *key)
{
	char name[256], *msg = NULL;
	int dirfd = open_dir(dir, false, &msg), rc = 0;

	free(msg);
	if (dirfd < 0)
		return -errno;
	journal_name(name, sizeof(name), key);
	if (unlinkat(dirfd, name, 0) < 0)
		rc = -errno;
	close(dirfd);
	return rc;
}

/* ---- writing ---- */

static bool state_clean(const struct journal_state *st)
{
	bool clean = !st->pauses && !st->ring && !st->nint3 && !st->naccess && !st->altp2m;
	unsigned v;

	for (v = 0; v < st->nvcpu; v++)
		clean = clean && !st->vcpu[v].dr_saved && !st->vcpu[v].tf_set &&
			!st->vcpu[v].single_step;
	return clean;
}

struct journal *journal_open(const char *dir, const char *key, char **msg)
{
	struct journal_state old;
	struct journal *j;
	char tmp[300];
	char *why = NULL;
	int rc, dirfd;

	dirfd = open_dir(dir, true, msg);
	if (dirfd < 0)
		return NULL;
	memset(&old, 0, sizeof(old));
	journal_path(old.path, sizeof(old.path), dir, key);
	rc = read_at(dirfd, dir, key, &old, &why, 0);
	if (rc == -EINVAL) {
		*msg = xstrfmt("%s; move it away, or remove it once the guest is known to be as it was", why);
		free(why);
		close(dirfd);
		return NULL;
	}
	if (rc == 0) {
		bool alive = old.pid_alive, clean = state_clean(&old);
		long pid = old.pid;

		if (!alive && clean) {
			/* a dead xenstub left nothing to undo: replace it */
			char name[256];

			journal_name(name, sizeof(name), key);
			unlinkat(dirfd, name, 0);
		}
		journal_state_free(&old);
		if (alive) {
			*msg = xstrfmt("another xenstub (pid %ld) is attached to this guest", pid);
			close(dirfd);
			return NULL;
		}
		if (!clean) {
			*msg = xstrfmt("a previous xenstub (pid %ld) died without undoing its changes to this guest: "
				       "run 'xenstub --recover' on it first", pid);
			close(dirfd);
			return NULL;
		}
	}
	j = xcalloc(1, sizeof(*j));
	j->dirfd = dirfd;
	snprintf(j->key, sizeof(j->key), "%s", key);
	journal_name(j->name, sizeof(j->name), key);
	journal_path(j->path, sizeof(j->path), dir, key);
	/* made whole and locked under a private name, then linked into place:
	 * nobody ever sees an unlocked journal of a live xenstub, and a link
	 * never replaces what is there */
	snprintf(tmp, sizeof(tmp), ".%s.%ld.new", j->name, (long)getpid());
	unlinkat(dirfd, tmp, 0);
	j->fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_APPEND | O_CLOEXEC,
		       0600);
	if (j->fd < 0) {
		*msg = xstrfmt("cannot write the journal %s: %s", j->path, strerror(errno));
		goto fail;
	}
	if (flock(j->fd, LOCK_EX | LOCK_NB) < 0) {
		*msg = xstrfmt("cannot lock the journal %s: %s", j->path, strerror(errno));
		goto fail;
	}
	journal_note(j, "xenstub-journal 1 pid=%ld target=%s", (long)getpid(), key);
	if (linkat(dirfd, tmp, dirfd, j->name, 0) < 0) {
		*msg = errno == EEXIST ?
			xstrfmt("another xenstub started on this guest at the same time (its journal %s appeared)",
				j->path) :
			xstrfmt("cannot write the journal %s: %s", j->path, strerror(errno));
		goto fail;
	}
	unlinkat(dirfd, tmp, 0);
	return j;
fail:
	if (j->fd >= 0) {
		unlinkat(dirfd, tmp, 0);
		close(j->fd);
	}
	close(dirfd);
	free(j);
	return NULL;
}

/* The records that leave st, after the header. */
static void state_records(const struct journal_state *st, struct strbuf *sb)
{
	bool bracket = st->pauses == 0 && !st->ring && (st->nint3 || st->naccess);
	unsigned v, i;
	size_t k;

	for (i = 0; i < st->pauses; i++)
		strbuf_addstr(sb, "pause\n");
	if (st->ring)
		strbuf_addstr(sb, "ring on\n");
	if (st->altp2m)
		strbuf_addstr(sb, "altp2m on\n");
	for (v = 0; v < st->nvcpu; v++) {
		const struct journal_vcpu *jv = &st->vcpu[v];

		if (jv->single_step)
			strbuf_addf(sb, "ss %u on\n", v);
		if (jv->dr_saved)
			strbuf_addf(sb, "dr %u %llx %llx %llx %llx %llx %llx\n", v,
				    (unsigned long long)jv->dr[0], (unsigned long long)jv->dr[1],
				    (unsigned long long)jv->dr[2], (unsigned long long)jv->dr[3],
				    (unsigned long long)jv->dr[6], (unsigned long long)jv->dr[7]);
		if (jv->tf_set)
			strbuf_addf(sb, "tf %u %d\n", v, jv->tf_was ? 1 : 0);
	}
	/* plants are made in a stopped guest: so they read */
	if (bracket)
		strbuf_addstr(sb, "pause\n");
	for (k = 0; k < st->nint3; k++)
		strbuf_addf(sb, "int3 %llx %02x\n", (unsigned long long)st->int3[k].gpa,
			    st->int3[k].orig);
	for (k = 0; k < st->naccess; k++)
		strbuf_addf(sb, "access %u %llx %x\n", st->access[k].view,
			    (unsigned long long)st->access[k].gfn, st->access[k].orig);
	if (bracket)
		strbuf_addstr(sb, "unpause\n");
}

/*
 * Rewrites the journal with what is still changed: a new file, locked,
 * then renamed over the old one (a reader that still holds the old one
 * sees it unlinked and reads again). On any failure the old file stays.
 */
static void journal_compact(struct journal *j)
{
	struct journal_state st;
	struct strbuf sb = STRBUF_INIT;
	char tmp[300], *why = NULL, *buf = NULL;
	struct stat sbuf;
	size_t got = 0;
	int rfd, fd = -1;

	j->lines = 0;
	rfd = openat(j->dirfd, j->name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (rfd < 0 || fstat(rfd, &sbuf) < 0 || (size_t)sbuf.st_size > JOURNAL_MAX_BYTES)
		goto out;
	buf = xmalloc((size_t)sbuf.st_size + 1);
	while (got < (size_t)sbuf.st_size) {
		ssize_t n = read(rfd, buf + got, (size_t)sbuf.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	memset(&st, 0, sizeof(st));
	snprintf(st.path, sizeof(st.path), "%s", j->path);
	if (journal_parse(buf, got, j->key, &st, &why) < 0) {
		log_warn(LC_MAIN, "the journal could not be compacted: %s", why);
		goto out;
	}
	strbuf_addf(&sb, "xenstub-journal 1 pid=%ld target=%s\n", (long)getpid(), j->key);
	state_records(&st, &sb);
	journal_state_free(&st);
	snprintf(tmp, sizeof(tmp), ".%s.%ld.new", j->name, (long)getpid());
	unlinkat(j->dirfd, tmp, 0);
	fd = openat(j->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_APPEND | O_CLOEXEC,
		    0600);
	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0 ||
	    write(fd, sb.buf, sb.len) != (ssize_t)sb.len ||
	    renameat(j->dirfd, tmp, j->dirfd, j->name) < 0) {
		log_warn(LC_MAIN, "the journal %s could not be compacted: %s", j->path, strerror(errno));
		if (fd >= 0) {
			unlinkat(j->dirfd, tmp, 0);
			close(fd);
		}
		goto out;
	}
	close(j->fd);
	j->fd = fd;
	log_dbg(LC_MAIN, "journal %s compacted to %zu bytes", j->path, sb.len);
out:
	free(why);
	free(buf);
	strbuf_release(&sb);
	if (rfd >= 0)
		close(rfd);
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
	if (++j->lines >= JOURNAL_COMPACT_LINES)
		journal_compact(j);
}

void journal_close(struct journal *j, bool everything_undone)
{
	if (!j)
		return;
	/* removed while still locked: nobody takes it for a dead one's */
	if (everything_undone)
		unlinkat(j->dirfd, j->name, 0);
	else
		log_warn(LC_MAIN, "some changes to the guest could not be undone: "
			 "they are recorded in %s for 'xenstub --recover'", j->path);
	close(j->fd);
	close(j->dirfd);
	free(j);
}
