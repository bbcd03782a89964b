// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Register and memory packets: g, G, p, P, m, M, X. Registers gdb cannot
 * know are sent as "xx" (to LLDB, a 'p' of one is an error: LLDB shows
 * it unavailable, while it would take "xx" as bytes); memory that does
 * not exist is an error, never zeros. Registers are the thread's of the
 * packet's ";thread:" suffix (LLDB), else Hg's.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "stub/base/log.h"
#include "stub/gdb/server.h"

/* The thread a register packet is for: its suffix's, else Hg's. */
static uint64_t reg_thread(const struct server *sv)
{
	return sv->reg_tid ? sv->reg_tid : sv->g_tid;
}

/*
 * gdb shows a refused write as "Cannot access memory" or a bare Exx: the
 * reason goes to the log (in 'target remote | xenstub' mode, gdb's
 * terminal).
 */
static int selected_regs(struct server *sv, struct x86_regs *r)
{
	int rc = session_get_regs(sv->s, reg_thread(sv), r);

	if (rc < 0)
		reply_error(sv, rc);
	return rc;
}

static void add_reg(struct server *sv, const struct x86_regs *r,
		    const struct x86_gdb_layout *l, unsigned regno)
{
	uint8_t buf[16];
	int n = x86_gdb_reg_get(r, l, regno, buf);
	size_t i;

	if (n > 0) {
		strbuf_addhex(&sv->reply, buf, (size_t)n);
		return;
	}
	for (i = 0; i < x86_gdb_reg_size(l, regno); i++)
		strbuf_addstr(&sv->reply, "xx");
}

int gdb_read_regs(struct server *sv, const char *pkt, size_t len)
{
	const struct x86_gdb_layout *l = session_layout(sv->s);
	struct x86_regs r;
	unsigned i;

	(void)pkt;
	(void)len;
	if (selected_regs(sv, &r) < 0)
		return H_REPLY;
	for (i = 0; i < l->nregs; i++)
		add_reg(sv, &r, l, i);
	return H_REPLY;
}

int gdb_read_reg(struct server *sv, const char *pkt, size_t len)
{
	const struct x86_gdb_layout *l = session_layout(sv->s);
	struct x86_regs r;
	uint64_t regno;
	const char *end;

	if (rsp_parse_hex(pkt + 1, &regno, &end) || end != pkt + len) {
		reply_error(sv, EINVAL);
		return H_REPLY;
	}
	if (regno >= l->nregs) {
		reply_error(sv, EINVAL);
		return H_REPLY;
	}
	if (selected_regs(sv, &r) < 0)
		return H_REPLY;
	if (sv->lldb) {
		uint8_t buf[16];

		if (x86_gdb_reg_get(&r, l, (unsigned)regno, buf) == -ENODATA) {
			reply_error(sv, ENODATA);
			return H_REPLY;
		}
	}
	add_reg(sv, &r, l, (unsigned)regno);
	return H_REPLY;
}

static int write_back(struct server *sv, const struct x86_regs *r)
{
	int rc = session_set_regs(sv->s, reg_thread(sv), r);

	if (rc == -EROFS)
		log_warn(LC_SESSION, "register write of thread %llu refused: %s",
			 (unsigned long long)reg_thread(sv),
			 session_why_read_only(sv->s, true));
	else if (rc < 0)
		log_warn(LC_SESSION, "register write of thread %llu failed: %s",
			 (unsigned long long)reg_thread(sv),
			 session_last_error(sv->s));
	if (rc < 0)
		reply_error(sv, rc);
	else
		reply_ok(sv);
	return H_REPLY;
}

int gdb_write_regs(struct server *sv, const char *pkt, size_t len)
{
	const struct x86_gdb_layout *l = session_layout(sv->s);
	const char *hex = pkt + 1;
	size_t hexlen = len - 1, off = 0;
	struct x86_regs r;
	unsigned i;

	if (hexlen % 2 || hexlen / 2 > l->g_size) {
		reply_error(sv, EINVAL);
		return H_REPLY;
	}
	for (off = 0; off < hexlen; off++) {
		if (hex[off] != 'x' && rsp_hexval((unsigned char)hex[off]) < 0) {
			reply_error(sv, EINVAL);
			return H_REPLY;
		}
	}
	off = 0;
	if (selected_regs(sv, &r) < 0)
		return H_REPLY;
	for (i = 0; i < l->nregs; i++) {
		size_t n = x86_gdb_reg_size(l, i);
		uint8_t buf[16];

		if ((off + n) * 2 > hexlen)
			break; /* a short G writes the first registers */
		if (hex[off * 2] == 'x') {
			off += n;
			continue;
		}
		if (rsp_unhex(hex + off * 2, n, buf)) {
			reply_error(sv, EINVAL);
			return H_REPLY;
		}
		x86_gdb_reg_set(&r, l, i, buf); /* unknown FPU: skipped */
		off += n;
	}
	if (off * 2 != hexlen) {
		/* the data ends inside a register */
		reply_error(sv, EINVAL);
		return H_REPLY;
	}
	return write_back(sv, &r);
}

int gdb_write_reg(struct server *sv, const char *pkt, size_t len)
{
	const struct x86_gdb_layout *l = session_layout(sv->s);
	struct x86_regs r;
	uint64_t regno;
	const char *p;
	uint8_t buf[16];
	size_t n;
	int rc;

	if (rsp_parse_hex(pkt + 1, &regno, &p) || *p != '=' ||
	    regno >= l->nregs) {
		reply_error(sv, EINVAL);
		return H_REPLY;
	}
	p++;
	n = x86_gdb_reg_size(l, (unsigned)regno);
	if ((size_t)(pkt + len - p) != 2 * n || rsp_unhex(p, n, buf)) {
		reply_error(sv, EINVAL);
		return H_REPLY;
	}
	if (selected_regs(sv, &r) < 0)
		return H_REPLY;
	rc = x86_gdb_reg_set(&r, l, (unsigned)regno, buf);
	if (rc < 0) {
		reply_error(sv, rc == -ENODATA ? EIO : -rc);
		return H_REPLY;
	}
	return write_back(sv, &r);
}

/* "ADDR,LEN" then the character in *sep; 0 or -EINVAL. */
static int parse_addr_len(const char *p, uint64_t *addr, uint64_t *len,
			  const char **rest)
{
	if (rsp_parse_hex(p, addr, &p) || *p != ',' ||
	    rsp_parse_hex(p + 1, len, &p))
		return -EINVAL;
	*rest = p;
	return 0;
}

int gdb_read_mem(struct server *sv, const char *pkt, size_t len)
{
	uint64_t addr, n;
	const char *rest;
	size_t done = 0;
	uint8_t *buf;
	int rc;

	(void)len;
	if (parse_addr_len(pkt + 1, &addr, &n, &rest) || *rest) {
		reply_error(sv, EINVAL);
		return H_REPLY;
	}
	if (n > SERVER_PACKET_SIZE / 2)
		n = SERVER_PACKET_SIZE / 2; /* gdb takes short reads */
	if (!n)
		return H_REPLY;
	buf = xmalloc((size_t)n);
	rc = session_read_mem(sv->s, sv->g_tid, addr, buf, (size_t)n, &done);
	if (rc && !done)
		reply_error(sv, EFAULT);
	else
		strbuf_addhex(&sv->reply, buf, done);
	free(buf);
	return H_REPLY;
}

static int do_write(struct server *sv, uint64_t addr, const uint8_t *data,
		    size_t n)
{
	int rc = n ? session_write_mem(sv->s, sv->g_tid, addr, data, n) : 0;

	if (!n && !session_mem_writable(sv->s))
		rc = -EROFS;
	if (rc == -EROFS && n)
		log_warn(LC_MEM, "memory write of %zu byte%s at 0x%llx refused: %s",
			 n, n == 1 ? "" : "s", (unsigned long long)addr,
			 session_why_read_only(sv->s, false));
	if (rc < 0)
		reply_error(sv, rc == -EFAULT ? EFAULT : -rc);
	else
		reply_ok(sv);
	return H_REPLY;
}

int gdb_write_mem(struct server *sv, const char *pkt, size_t len)
{
	uint64_t addr, n;
	const char *rest;
	uint8_t *buf;
	int rc;

	/* the data must be 2*n digits; 2*n itself may wrap */
	if (parse_addr_len(pkt + 1, &addr, &n, &rest) || *rest != ':' ||
	    (size_t)(pkt + len - rest - 1) % 2 ||
	    (size_t)(pkt + len - rest - 1) / 2 != n) {
		reply_error(sv, EINVAL);
		return H_REPLY;
	}
	buf = xmalloc((size_t)n + 1);
	if (rsp_unhex(rest + 1, (size_t)n, buf)) {
		free(buf);
		reply_error(sv, EINVAL);
		return H_REPLY;
	}
	rc = do_write(sv, addr, buf, (size_t)n);
	free(buf);
	return rc;
}

int gdb_write_mem_bin(struct server *sv, const char *pkt, size_t len)
{
	uint64_t addr, n;
	const char *rest;

	if (parse_addr_len(pkt + 1, &addr, &n, &rest) || *rest != ':' ||
	    (size_t)(pkt + len - rest - 1) != n) {
		reply_error(sv, EINVAL);
		return H_REPLY;
	}
	return do_write(sv, addr, (const uint8_t *)rest + 1, (size_t)n);
}
