// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Query packets: qSupported, qXfer (features, threads, osdata), the thread
 * list, qC, qThreadExtraInfo, qAttached, qRcmd (monitor), qSearch:memory,
 * qCRC, qSymbol, qOffsets, QStartNoAckMode and QEMU's PhyMemMode pair.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stub/base/log.h"
#include "stub/gdb/server.h"

static bool starts(const char *pkt, const char *prefix)
{
	return !strncmp(pkt, prefix, strlen(prefix));
}

/* True when the client's qSupported:F1;F2... lists feature f. */
static bool client_offers(const char *pkt, const char *f)
{
	const char *p = strchr(pkt, ':');
	size_t n = strlen(f);

	while (p) {
		p++;
		if (!strncmp(p, f, n) && (p[n] == ';' || !p[n]))
			return true;
		p = strchr(p, ';');
	}
	return false;
}

static int q_supported(struct server *sv, const char *pkt)
{
	strbuf_addf(&sv->reply,
		    "PacketSize=%x;QStartNoAckMode+;qXfer:features:read+;"
		    "qXfer:threads:read+;qXfer:osdata:read+;swbreak+;hwbreak+;"
		    "ConditionalBreakpoints+;BreakpointCommands+;vContSupported+",
		    SERVER_PACKET_SIZE);
	/* tracepoints only when offered (--tracepoints on a live guest) */
	if (session_offers_tracepoints(sv->s))
		strbuf_addstr(&sv->reply, ";ConditionalTracepoints+;TraceStateVariables+;"
			      "EnableDisableTracepoints+;QTBuffer:size+;tracenz+;FastTracepoints+;"
			      "TracepointSource+");
	/* gdb 16's x packet, with its "b" reply, only to a client that
	 * says it reads it (LLDB's x answers without the "b") */
	sv->binary_upload = client_offers(pkt, "binary-upload+");
	if (sv->binary_upload)
		strbuf_addstr(&sv->reply, ";binary-upload+");
	return H_REPLY;
}

static void build_threads_xml(struct server *sv, struct strbuf *doc)
{
	size_t i, n = session_thread_count(sv->s);

	strbuf_addstr(doc, "<?xml version=\"1.0\"?>\n<threads>\n");
	for (i = 0; i < n; i++) {
		const struct thread_info *ti = session_thread_at(sv->s, i);

		strbuf_addf(doc, "<thread id=\"%llx\"", (unsigned long long)ti->tid);
		if (ti->vcpu >= 0)
			strbuf_addf(doc, " core=\"%d\"", ti->vcpu);
		strbuf_addstr(doc, " name=\"");
		strbuf_addxml(doc, ti->name);
		strbuf_addstr(doc, "\">");
		strbuf_addxml(doc, ti->extra);
		strbuf_addstr(doc, "</thread>\n");
	}
	strbuf_addstr(doc, "</threads>\n");
}

struct osdata_ctx {
	struct strbuf *doc;
};

static void osdata_row(void *ctx, int64_t pid, const char *user,
		       const char *command, const char *cores)
{
	struct osdata_ctx *c = ctx;

	strbuf_addf(c->doc, "<item>\n<column name=\"pid\">%lld</column>\n",
		    (long long)pid);
	strbuf_addstr(c->doc, "<column name=\"user\">");
	strbuf_addxml(c->doc, user);
	strbuf_addstr(c->doc, "</column>\n<column name=\"command\">");
	strbuf_addxml(c->doc, command);
	strbuf_addstr(c->doc, "</column>\n<column name=\"cores\">");
	strbuf_addxml(c->doc, cores);
	strbuf_addstr(c->doc, "</column>\n</item>\n");
}

static int build_osdata(struct server *sv, const char *annex,
			struct strbuf *doc)
{
	strbuf_addstr(doc, "<?xml version=\"1.0\"?>\n"
			   "<!DOCTYPE target SYSTEM \"osdata.dtd\">\n");
	if (!*annex) {
		strbuf_addstr(doc,
			"<osdata type=\"types\">\n<item>\n"
			"<column name=\"Type\">processes</column>\n"
			"<column name=\"Description\">Listing of all processes of the guest</column>\n"
			"<column name=\"Title\">Processes</column>\n"
			"</item>\n</osdata>\n");
		return 0;
	}
	if (strcmp(annex, "processes"))
		return -ENOENT;
	strbuf_addstr(doc, "<osdata type=\"processes\">\n");
	{
		struct osdata_ctx c = { doc };

		session_processes(sv->s, osdata_row, &c);
	}
	strbuf_addstr(doc, "</osdata>\n");
	return 0;
}

static int q_xfer(struct server *sv, const char *pkt)
{
	/* qXfer:OBJECT:read:ANNEX:OFF,LEN */
	char object[32], annex[64], key[sizeof(sv->xfer_key)];
	const char *p = pkt + strlen("qXfer:"), *colon;
	uint64_t off, len;
	size_t n;

	colon = strchr(p, ':');
	if (!colon || (size_t)(colon - p) >= sizeof(object))
		return H_REPLY;
	n = (size_t)(colon - p);
	memcpy(object, p, n);
	object[n] = 0;
	p = colon + 1;
	if (!starts(p, "read:"))
		return H_REPLY; /* writes are not offered */
	p += 5;
	colon = strchr(p, ':');
	if (!colon || (size_t)(colon - p) >= sizeof(annex)) {
		reply_error(sv, EINVAL);
		return H_REPLY;
	}
	n = (size_t)(colon - p);
	memcpy(annex, p, n);
	annex[n] = 0;
	p = colon + 1;
	if (rsp_parse_hex(p, &off, &p) || *p != ',' ||
	    rsp_parse_hex(p + 1, &len, &p) || *p) {
		reply_error(sv, EINVAL);
		return H_REPLY;
	}
	snprintf(key, sizeof(key), "%s:%s", object, annex);
	if (off == 0 || strcmp(key, sv->xfer_key)) {
		strbuf_reset(&sv->xfer_doc);
		sv->xfer_key[0] = 0;
		if (!strcmp(object, "features")) {
			if (strcmp(annex, "target.xml")) {
				reply_error(sv, ENOENT);
				return H_REPLY;
			}
			x86_tdesc_xml(session_layout(sv->s), &sv->xfer_doc);
		} else if (!strcmp(object, "threads")) {
			build_threads_xml(sv, &sv->xfer_doc);
		} else if (!strcmp(object, "osdata")) {
			if (build_osdata(sv, annex, &sv->xfer_doc)) {
				reply_error(sv, ENOENT);
				return H_REPLY;
			}
		} else {
			return H_REPLY; /* unknown object: unsupported */
		}
		snprintf(sv->xfer_key, sizeof(sv->xfer_key), "%s", key);
	}
	reply_xfer(sv, sv->xfer_doc.buf, sv->xfer_doc.len, off, len);
	return H_REPLY;
}

static int q_thread_info(struct server *sv, bool first)
{
	/* everything in one reply: thread ids are short */
	size_t i, n = session_thread_count(sv->s);

	if (!first) {
		strbuf_addch(&sv->reply, 'l');
		return H_REPLY;
	}
	strbuf_addch(&sv->reply, 'm');
	for (i = 0; i < n; i++)
		strbuf_addf(&sv->reply, "%s%llx", i ? "," : "",
			    (unsigned long long)session_thread_at(sv->s, i)->tid);
	return H_REPLY;
}

static int q_extra_info(struct server *sv, const char *arg)
{
	const struct thread_info *ti = server_thread_arg(sv, arg, false);

	if (!ti)
		return H_REPLY;
	strbuf_addhex(&sv->reply, ti->extra, strlen(ti->extra));
	return H_REPLY;
}

static int q_rcmd(struct server *sv, const char *hex)
{
	size_t n = strlen(hex);
	struct strbuf out = STRBUF_INIT;
	char *line;
	int rc;

	if (n % 2) {
		reply_error(sv, EINVAL);
		return H_REPLY;
	}
	line = xcalloc(n / 2 + 1, 1);
	if (rsp_unhex(hex, n / 2, (uint8_t *)line)) {
		free(line);
		reply_error(sv, EINVAL);
		return H_REPLY;
	}
	server_flush_notices(sv);
	rc = session_command(sv->s, sv->g_tid, line, &out);
	if (rc == -ENOENT) {
		strbuf_reset(&out);
		strbuf_addf(&out, "unknown monitor command '%s': 'monitor help' lists them\n",
			    line);
	}
	free(line);
	if (out.len)
		server_console(sv, out.buf);
	strbuf_release(&out);
	if (rc == 0)
		reply_ok(sv);
	else
		reply_error(sv, rc == -ENOENT ? ENOENT : EINVAL);
	return H_REPLY;
}

/* How far a search steps over unreadable memory, page by page, before it
 * gives up (4 GiB of holes): a search of a sparse 64-bit range ends with
 * an error rather than running for hours. */
#define SEARCH_HOLE_PAGES_MAX (1u << 20)
#define SEARCH_PAGE 4096u

struct search_holes {
	uint64_t first_start, first_end;	/* the first hole */
	uint64_t count, bytes;
};

/*
 * Where readable memory starts again after an unreadable byte at addr,
 * below end: 0 and *next, or -ENOENT when nothing from addr to end can be
 * read, or -E2BIG after SEARCH_HOLE_PAGES_MAX pages (*next: where the
 * search stopped).
 */
static int search_skip_hole(struct server *sv, uint64_t addr, uint64_t end,
			    uint64_t *next)
{
	uint64_t p = (addr & ~(uint64_t)(SEARCH_PAGE - 1)) + SEARCH_PAGE;
	unsigned probes;
	uint8_t b;

	for (probes = 0; p > addr && p < end; probes++, p += SEARCH_PAGE) {
		if (probes == SEARCH_HOLE_PAGES_MAX) {
			*next = p;
			return -E2BIG;
		}
		if (!session_read_mem(sv->s, sv->g_tid, p, &b, 1, NULL)) {
			*next = p;
			return 0;
		}
	}
	return -ENOENT;
}

static void search_note(struct server *sv, const struct search_holes *h,
			const char *outcome)
{
	struct strbuf m = STRBUF_INIT;

	strbuf_addf(&m, "find: unreadable memory skipped: 0x%llx..0x%llx",
		    (unsigned long long)h->first_start,
		    (unsigned long long)h->first_end - 1);
	if (h->count > 1)
		strbuf_addf(&m, " and %llu more hole%s",
			    (unsigned long long)h->count - 1, h->count > 2 ? "s" : "");
	strbuf_addf(&m, " (%llu bytes in all); %s",
		    (unsigned long long)h->bytes, outcome);
	/* gdb takes no console output with a search's answer: the log says
	 * it now, the console at the next stop or monitor command */
	log_warn(LC_MEM, "%s", m.buf);
	server_notice(sv, m.buf);
	strbuf_release(&m);
}

static void search_hole(struct search_holes *h, uint64_t start, uint64_t end)
{
	if (!h->count++) {
		h->first_start = start;
		h->first_end = end;
	}
	h->bytes += end - start;
}

/*
 * qSearch:memory:ADDR;LEN;PATTERN (the pattern is binary). Unreadable
 * memory in the range (the legacy VGA hole at 0xa0000, unmapped pages) is
 * skipped: a match never spans a hole, the first match after one is
 * reported, and a note says what was skipped.
 */
static int q_search(struct server *sv, const char *pkt, size_t pktlen)
{
	const char *p = pkt + strlen("qSearch:memory:"), *end = pkt + pktlen;
	uint64_t addr, len, pos, stop, next;
	struct search_holes holes = { 0 };
	const uint8_t *pat;
	size_t patlen, chunk = 65536;
	uint8_t *buf;
	int rc;

	if (rsp_parse_hex(p, &addr, &p) || *p != ';' ||
	    rsp_parse_hex(p + 1, &len, &p) || *p != ';') {
		reply_error(sv, EINVAL);
		return H_REPLY;
	}
	pat = (const uint8_t *)p + 1;
	patlen = (size_t)(end - (const char *)pat);
	if (!patlen || patlen > chunk) {
		reply_error(sv, EINVAL);
		return H_REPLY;
	}
	/* the range ends at the top of the address space */
	stop = len > UINT64_MAX - addr ? UINT64_MAX : addr + len;
	buf = xmalloc(chunk + patlen);
	pos = addr;
	while (pos < stop && stop - pos >= patlen) {
		size_t want = stop - pos > chunk + patlen - 1 ?
			      chunk + patlen - 1 : (size_t)(stop - pos);
		size_t done = 0, i;

		session_read_mem(sv->s, sv->g_tid, pos, buf, want, &done);
		for (i = 0; i + patlen <= done; i++) {
			if (buf[i] == pat[0] && !memcmp(buf + i, pat, patlen)) {
				free(buf);
				if (holes.count)
					search_note(sv, &holes, "the pattern was found after it");
				strbuf_addf(&sv->reply, "1,%llx",
					    (unsigned long long)(pos + i));
				return H_REPLY;
			}
		}
		if (done == want) {
			/* the last patlen-1 bytes start the next window */
			pos += done - patlen + 1;
			continue;
		}
		rc = search_skip_hole(sv, pos + done, stop, &next);
		search_hole(&holes, pos + done, rc == -ENOENT ? stop : next);
		if (rc == -E2BIG) {
			struct strbuf m = STRBUF_INIT;

			free(buf);
			strbuf_addf(&m, "the search stopped at 0x%llx, where %u pages in a row "
				    "could not be read: search again from there",
				    (unsigned long long)next, SEARCH_HOLE_PAGES_MAX);
			search_note(sv, &holes, m.buf);
			strbuf_release(&m);
			reply_error(sv, EFAULT);
			return H_REPLY;
		}
		if (rc == -ENOENT)
			break;
		pos = next;
	}
	free(buf);
	if (holes.count)
		search_note(sv, &holes, "the pattern is not in the rest");
	strbuf_addch(&sv->reply, '0');
	return H_REPLY;
}

static uint32_t crc32_gdb(uint32_t crc, const uint8_t *buf, size_t len)
{
	/* gdb's CRC: polynomial 0x04c11db7, MSB first, no reflection */
	static uint32_t table[256];
	static int init;
	size_t i;

	if (!init) {
		uint32_t c, j, k;

		for (j = 0; j < 256; j++) {
			c = j << 24;
			for (k = 8; k > 0; k--)
				c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1;
			table[j] = c;
		}
		init = 1;
	}
	for (i = 0; i < len; i++)
		crc = (crc << 8) ^ table[((crc >> 24) ^ buf[i]) & 255];
	return crc;
}

static int q_crc(struct server *sv, const char *arg)
{
	uint64_t addr, len, pos = 0;
	uint32_t crc = 0xffffffff;
	uint8_t *buf;
	const char *p;

	if (rsp_parse_hex(arg, &addr, &p) || *p != ',' ||
	    rsp_parse_hex(p + 1, &len, &p) || *p) {
		reply_error(sv, EINVAL);
		return H_REPLY;
	}
	buf = xmalloc(65536);
	while (pos < len) {
		size_t n = len - pos > 65536 ? 65536 : (size_t)(len - pos);
		int rc = session_read_mem(sv->s, sv->g_tid, addr + pos, buf, n,
					  NULL);

		if (rc) {
			free(buf);
			reply_error(sv, EFAULT);
			return H_REPLY;
		}
		crc = crc32_gdb(crc, buf, n);
		pos += n;
	}
	free(buf);
	strbuf_addf(&sv->reply, "C%x", crc);
	return H_REPLY;
}

int gdb_query(struct server *sv, const char *pkt, size_t len)
{
	if (starts(pkt, "qSupported"))
		return q_supported(sv, pkt);
	if (starts(pkt, "qXfer:"))
		return q_xfer(sv, pkt);
	if (!strcmp(pkt, "qfThreadInfo"))
		return q_thread_info(sv, true);
	if (!strcmp(pkt, "qsThreadInfo"))
		return q_thread_info(sv, false);
	if (!strcmp(pkt, "qC")) {
		strbuf_addf(&sv->reply, "QC%llx",
			    (unsigned long long)session_last_stop(sv->s)->tid);
		return H_REPLY;
	}
	if (starts(pkt, "qThreadExtraInfo,"))
		return q_extra_info(sv, pkt + strlen("qThreadExtraInfo,"));
	if (!strcmp(pkt, "qAttached") || starts(pkt, "qAttached:")) {
		strbuf_addch(&sv->reply, '1');
		return H_REPLY;
	}
	if (starts(pkt, "qRcmd,"))
		return q_rcmd(sv, pkt + strlen("qRcmd,"));
	if (starts(pkt, "qSearch:memory:"))
		return q_search(sv, pkt, len);
	if (starts(pkt, "qCRC:"))
		return q_crc(sv, pkt + strlen("qCRC:"));
	if (!strcmp(pkt, "qOffsets")) {
		/* where the kernel image gdb may have loaded really is */
		if (session_image_offsets(sv->s, &sv->reply))
			strbuf_reset(&sv->reply);
		return H_REPLY;
	}
	if (starts(pkt, "qSymbol:")) {
		reply_ok(sv);
		return H_REPLY;
	}
	if (!strcmp(pkt, "qqemu.PhyMemMode")) {
		strbuf_addch(&sv->reply, session_phys_mode(sv->s) ? '1' : '0');
		return H_REPLY;
	}
	if (!strcmp(pkt, "qqemu.Supported")) {
		strbuf_addstr(&sv->reply, "PhyMemMode");
		return H_REPLY;
	}
	return gdb_lldb_query(sv, pkt, len); /* or empty: unsupported */
}

int gdb_set(struct server *sv, const char *pkt, size_t len)
{
	(void)len;
	if (!strcmp(pkt, "QStartNoAckMode")) {
		/* the OK is still acknowledged; no acks after it */
		reply_ok(sv);
		rsp_send(&sv->rsp, sv->reply.buf, sv->reply.len);
		sv->rsp.noack = true;
		log_dbg(LC_RSP, "no-ack mode");
		return H_NO_REPLY;
	}
	if (starts(pkt, "Qqemu.PhyMemMode:")) {
		const char *v = pkt + strlen("Qqemu.PhyMemMode:");

		if (strcmp(v, "0") && strcmp(v, "1")) {
			reply_error(sv, EINVAL);
			return H_REPLY;
		}
		session_set_phys_mode(sv->s, v[0] == '1');
		reply_ok(sv);
		return H_REPLY;
	}
	return gdb_lldb_set(sv, pkt, len); /* or empty: unsupported */
}

int gdb_v(struct server *sv, const char *pkt, size_t len)
{
	if (starts(pkt, "vCont"))
		return gdb_vcont(sv, pkt, len);
	if (!strcmp(pkt, "vKill") || starts(pkt, "vKill;"))
		return gdb_kill(sv, pkt, len);
	return H_REPLY; /* vMustReplyEmpty and everything else */
}
