// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * GDB remote serial protocol framing (gdb manual, "Overview" and
 * "Packet Acknowledgment"): a state machine over buffered input that
 * yields whole, checked, unescaped and run-length-expanded packets.
 */
#include "stub/gdb/rsp.h"

#include <errno.h>
#include <string.h>

#include "stub/base/log.h"

void rsp_init(struct rsp *r, rsp_write_fn write, void *ctx, size_t max_packet)
{
	memset(r, 0, sizeof(*r));
	r->write = write;
	r->write_ctx = ctx;
	r->max_packet = max_packet;
	strbuf_init(&r->in, 0);
	strbuf_init(&r->pkt, 0);
	strbuf_init(&r->out, 0);
	strbuf_init(&r->scratch, 0);
	strbuf_init(&r->prev, 0);
}

void rsp_release(struct rsp *r)
{
	strbuf_release(&r->in);
	strbuf_release(&r->pkt);
	strbuf_release(&r->out);
	strbuf_release(&r->scratch);
	strbuf_release(&r->prev);
}

void rsp_feed(struct rsp *r, const void *bytes, size_t n)
{
	/* drop what was consumed before growing */
	if (r->in_pos && r->in_pos == r->in.len) {
		strbuf_reset(&r->in);
		r->in_pos = 0;
	} else if (r->in_pos > 65536) {
		memmove(r->in.buf, r->in.buf + r->in_pos, r->in.len - r->in_pos);
		strbuf_setlen(&r->in, r->in.len - r->in_pos);
		r->in_pos = 0;
	}
	strbuf_add(&r->in, bytes, n);
	r->st.bytes_in += n;
}

int rsp_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int rsp_unhex(const char *hex, size_t n, uint8_t *out)
{
	size_t i;

	for (i = 0; i < n; i++) {
		int hi = rsp_hexval((unsigned char)hex[2 * i]);
		int lo = hi < 0 ? -1 : rsp_hexval((unsigned char)hex[2 * i + 1]);

		if (lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int rsp_parse_hex(const char *s, uint64_t *val, const char **end)
{
	uint64_t v = 0;
	const char *p = s;
	int d;

	while ((d = rsp_hexval((unsigned char)*p)) >= 0) {
		if (v >> 60)
			return -ERANGE;
		v = v << 4 | (uint64_t)d;
		p++;
	}
	if (end)
		*end = p;
	if (p == s)
		return -EINVAL;
	*val = v;
	return 0;
}

static int send_raw(struct rsp *r, const void *buf, size_t len)
{
	r->st.bytes_out += len;
	return r->write(r->write_ctx, buf, len);
}

static void log_packet(const char *dir, const char *data, size_t len)
{
	struct strbuf sb = STRBUF_INIT;
	size_t i, shown = len > 512 ? 512 : len;

	if (!log_enabled(LC_RSP, LOG_DEBUG))
		return;
	for (i = 0; i < shown; i++) {
		unsigned char c = (unsigned char)data[i];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			strbuf_addch(&sb, c);
		else
			strbuf_addf(&sb, "\\x%02x", c);
	}
	if (shown < len)
		strbuf_addf(&sb, "... (%zu bytes)", len);
	log_msg(LC_RSP, LOG_DEBUG, "%s $%s", dir, sb.buf);
	strbuf_release(&sb);
}

enum rx_state { RX_IDLE = 0, RX_DATA, RX_ESC, RX_RUN, RX_CS1, RX_CS2 };

static void rx_start(struct rsp *r)
{
	/* the '$' just consumed */
	r->rx_start_pos = r->st.bytes_in - (r->in.len - r->in_pos) - 1;
	strbuf_reset(&r->pkt);
	r->rx = RX_DATA;
	r->rx_sum = 0;
	r->rx_raw = 0;
	r->rx_oversize = false;
	r->rx_malformed = false;
}

/* One decoded byte, repeated n times; past max_packet the packet is
 * only counted, not kept. */
static void rx_add(struct rsp *r, char c, size_t n)
{
	if (r->rx_oversize)
		return;
	if (r->pkt.len + n > r->max_packet) {
		r->rx_oversize = true;
		strbuf_reset(&r->pkt);
		return;
	}
	while (n--)
		strbuf_addch(&r->pkt, c);
}

/* The checksum's second digit came: what the packet was. */
static int rx_finish(struct rsp *r, int lo)
{
	int hi = r->rx_hi, rc;

	r->rx = RX_IDLE;
	if (!r->rx_oversize && !r->rx_malformed &&
	    (hi < 0 || lo < 0 || (unsigned)(hi << 4 | lo) != (r->rx_sum & 0xff))) {
		r->st.bad_checksums++;
		log_warn(LC_RSP, "packet with a bad checksum dropped%s",
			 r->noack ? "" : "; asking gdb to resend");
		if (!r->noack && (rc = send_raw(r, "-", 1)))
			return rc;
		return RSP_NONE;
	}
	if (!r->noack && (rc = send_raw(r, "+", 1)))
		return rc;
	if (r->rx_oversize) {
		r->st.oversize++;
		log_warn(LC_RSP, "packet larger than %zu bytes dropped", r->max_packet);
		return RSP_OVERSIZE;
	}
	if (r->rx_malformed) {
		r->st.garbage++;
		log_warn(LC_RSP, "malformed packet dropped (an escape or run-length with nothing to act on)");
		return RSP_MALFORMED;
	}
	if (!r->noack && r->rx_start_pos < r->replied_at && r->prev.len == r->pkt.len &&
	    !memcmp(r->prev.buf, r->pkt.buf, r->pkt.len) && r->prev_answered) {
		/* sent again before our ack of it could arrive: acked, and
		 * already answered */
		r->st.resent_by_gdb++;
		log_dbg(LC_RSP, "a copy of the last packet, sent before our ack reached gdb: not answered again");
		return RSP_NONE;
	}
	r->st.packets_in++;
	strbuf_reset(&r->prev);
	strbuf_add(&r->prev, r->pkt.buf, r->pkt.len);
	r->prev_answered = false;
	log_packet("<-", r->pkt.buf, r->pkt.len);
	return RSP_PACKET;
}

int rsp_next(struct rsp *r)
{
	/* raw bytes of one packet gdb may send: escaping at most doubles */
	size_t runaway = 2 * r->max_packet + 64;

	while (r->in_pos < r->in.len) {
		unsigned char c = (unsigned char)r->in.buf[r->in_pos++];
		int rc;

		if (r->rx != RX_IDLE && c == '$') {
			/* a '$' inside a packet: the one before was cut short */
			r->st.garbage++;
			rx_start(r);
			continue;
		}
		switch (r->rx) {
		case RX_IDLE:
			switch (c) {
			case '+':
				continue;
			case '-':
				if (!r->noack && r->out.len) {
					r->st.retransmits++;
					log_dbg(LC_RSP, "gdb asked for a retransmission");
					rc = send_raw(r, r->out.buf, r->out.len);
					if (rc)
						return rc;
				}
				continue;
			case 0x03:
				log_dbg(LC_RSP, "<- interrupt (0x03)");
				return RSP_INTERRUPT;
			case '$':
				rx_start(r);
				continue;
			default:
				/* noise between packets */
				r->st.garbage++;
				continue;
			}
		case RX_CS1:
			r->rx_hi = rsp_hexval(c);
			r->rx = RX_CS2;
			continue;
		case RX_CS2:
			rc = rx_finish(r, rsp_hexval(c));
			if (rc == RSP_NONE)
				continue;
			return rc;
		default:
			break;
		}
		if (++r->rx_raw > runaway) {
			r->rx = RX_IDLE;
			strbuf_reset(&r->pkt);
			r->st.garbage++;
			return RSP_RUNAWAY;
		}
		if (c == '#') {
			/* an escape or a run with nothing after it */
			if (r->rx != RX_DATA)
				r->rx_malformed = true;
			r->rx = RX_CS1;
			continue;
		}
		r->rx_sum += c;
		switch (r->rx) {
		case RX_ESC:
			rx_add(r, (char)(c ^ 0x20), 1);
			r->rx = RX_DATA;
			break;
		case RX_RUN:
			/* run lengths start at 3 repeats, and a run needs a
			 * character before it */
			if (c < 29 + 3 || (!r->pkt.len && !r->rx_oversize))
				r->rx_malformed = true;
			else if (!r->rx_oversize)
				rx_add(r, r->pkt.buf[r->pkt.len - 1], (size_t)c - 29);
			r->rx = RX_DATA;
			break;
		default:
			if (c == '}')
				r->rx = RX_ESC;
			else if (c == '*')
				r->rx = RX_RUN;
			else
				rx_add(r, (char)c, 1);
			break;
		}
	}
	return RSP_NONE;
}

/*
 * Run-length encoding as gdbserver does it: a character repeated n more
 * times (n >= 3) goes out as the character, '*' and the count n + 29. gdb
 * expands runs before it undoes escapes, LLDB and our own decoder in the
 * same pass, so only characters sent as themselves are run-length encoded
 * (never an escaped one): both readings agree. A count is never '#' or
 * '$' (framing), nor '*' or '}' (which a decoder could take for a run or
 * an escape), so such runs are shortened; a run of more than
 * RSP_RLE_MAX_RUN characters is split.
 */
size_t rsp_rle_count(size_t run)
{
	size_t n;

	if (run < 4)
		return 0;
	n = run > RSP_RLE_MAX_RUN ? RSP_RLE_MAX_RUN - 1 : run - 1;
	while (n >= 3 && rsp_rle_count_forbidden((int)(n + 29)))
		n--;
	return n < 3 ? 0 : n;
}

int rsp_send(struct rsp *r, const void *data, size_t len)
{
	const unsigned char *d = data;
	unsigned sum = 0;
	size_t i, run, n;
	char *o;

	log_packet("->", data, len);
	/* one allocation for the worst case: every byte escaped (runs only
	 * shorten what goes out) */
	strbuf_reset(&r->out);
	strbuf_grow(&r->out, st_mult(len, 2) + 4);
	o = r->out.buf;
	*o++ = '$';
	for (i = 0; i < len; i++) {
		unsigned char c = d[i];

		if (c == '$' || c == '#' || c == '}' || c == '*') {
			*o++ = '}';
			sum += '}';
			c ^= 0x20;
			*o++ = (char)c;
			sum += c;
			continue;
		}
		*o++ = (char)c;
		sum += c;
		for (run = 1; i + run < len && run < RSP_RLE_MAX_RUN && d[i + run] == c; run++)
			;
		n = rsp_rle_count(run);
		if (n) {
			*o++ = '*';
			*o++ = (char)(n + 29);
			sum += '*' + (unsigned)(n + 29);
			i += n;
		}
	}
	strbuf_setlen(&r->out, (size_t)(o - r->out.buf));
	strbuf_addf(&r->out, "#%02x", sum & 0xff);
	r->st.packets_out++;
	/* the first packet out after a packet in is its answer (console
	 * output before it is part of it) */
	if (!r->prev_answered) {
		r->prev_answered = true;
		r->replied_at = r->st.bytes_in;
	}
	return send_raw(r, r->out.buf, r->out.len);
}
