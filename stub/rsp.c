// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * GDB remote serial protocol framing (gdb manual, "Overview" and
 * "Packet Acknowledgment"): a state machine over buffered input that
 * yields whole, checked, unescaped and run-length-expanded packets.
 */
#include "stub/rsp.h"

#include <errno.h>
#include <string.h>

#include "stub/log.h"

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
}

void rsp_release(struct rsp *r)
{
	strbuf_release(&r->in);
	strbuf_release(&r->pkt);
	strbuf_release(&r->out);
	strbuf_release(&r->scratch);
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

/* A '$' at pos began a new packet: the one before was cut short. */
static int cut_short(struct rsp *r, size_t pos)
{
	r->in_pos = pos;
	r->st.garbage++;
	return -3;
}

/*
 * Tries to decode one packet starting at in_pos ('$'). Returns 1 with
 * the packet in r->pkt, 0 if the packet is incomplete, -1 on a bad
 * checksum, -2 if it is too large, -3 if a new packet began before it
 * ended, -4 if it is malformed (a run with nothing to repeat or a count
 * below 3). On -1, -2 and -4 in_pos moves past it, on -3 to the new '$'.
 */
static int decode_packet(struct rsp *r)
{
	const unsigned char *p = (const unsigned char *)r->in.buf;
	size_t i = r->in_pos + 1, end = r->in.len;
	unsigned sum = 0;
	bool oversize = false, malformed = false;
	int hi, lo;

	strbuf_reset(&r->pkt);
	while (i < end && p[i] != '#') {
		unsigned char c = p[i];

		if ((c == '}' || c == '*') && i + 1 < end && p[i + 1] == '$')
			return cut_short(r, i + 1);
		if (c == '}') {
			if (i + 1 >= end)
				return 0;
			sum += c + p[i + 1];
			c = p[i + 1] ^ 0x20;
			i += 2;
			if (!oversize)
				strbuf_addch(&r->pkt, c);
		} else if (c == '*') {
			size_t n;

			if (i + 1 >= end)
				return 0;
			sum += c + p[i + 1];
			if (p[i + 1] < 29 + 3 || (!r->pkt.len && !oversize)) {
				/* run lengths start at 3 repeats, and a run
				 * needs a character before it */
				malformed = true;
			} else if (!oversize) {
				char rep = r->pkt.buf[r->pkt.len - 1];

				for (n = 0; n < (size_t)p[i + 1] - 29; n++)
					strbuf_addch(&r->pkt, rep);
			}
			i += 2;
		} else if (c == '$') {
			return cut_short(r, i);
		} else {
			sum += c;
			if (!oversize)
				strbuf_addch(&r->pkt, c);
			i++;
		}
		if (!oversize && r->pkt.len > r->max_packet) {
			oversize = true;
			strbuf_reset(&r->pkt);
		}
	}
	/* a '$' where the checksum should be is a new packet */
	if (i + 1 < end && p[i + 1] == '$')
		return cut_short(r, i + 1);
	if (i + 2 < end && p[i + 2] == '$')
		return cut_short(r, i + 2);
	if (i + 2 >= end)
		return 0;
	hi = rsp_hexval(p[i + 1]);
	lo = rsp_hexval(p[i + 2]);
	r->in_pos = i + 3;
	if (oversize)
		return -2;
	if (malformed)
		return -4;
	if (hi < 0 || lo < 0 || (unsigned)(hi << 4 | lo) != (sum & 0xff))
		return -1;
	return 1;
}

int rsp_next(struct rsp *r)
{
	while (r->in_pos < r->in.len) {
		unsigned char c = (unsigned char)r->in.buf[r->in_pos];
		int rc;

		switch (c) {
		case '+':
			r->in_pos++;
			continue;
		case '-':
			r->in_pos++;
			if (!r->noack && r->out.len) {
				r->st.retransmits++;
				log_dbg(LC_RSP, "gdb asked for a retransmission");
				rc = send_raw(r, r->out.buf, r->out.len);
				if (rc)
					return rc;
			}
			continue;
		case 0x03:
			r->in_pos++;
			log_dbg(LC_RSP, "<- interrupt (0x03)");
			return RSP_INTERRUPT;
		case '$':
			rc = decode_packet(r);
			if (rc == 0)
				return RSP_NONE;
			if (rc == -3)
				continue;
			if (rc == -1 || rc == -4) {
				if (rc == -1)
					r->st.bad_checksums++;
				else
					r->st.garbage++;
				log_warn(LC_RSP, "packet with %s dropped%s",
					 rc == -1 ? "a bad checksum" :
					 "a malformed run-length encoding",
					 r->noack ? "" : "; asking gdb to resend");
				if (!r->noack) {
					rc = send_raw(r, "-", 1);
					if (rc)
						return rc;
				}
				continue;
			}
			if (!r->noack) {
				int wrc = send_raw(r, "+", 1);

				if (wrc)
					return wrc;
			}
			if (rc == -2) {
				r->st.oversize++;
				log_warn(LC_RSP, "packet larger than %zu bytes dropped",
					 r->max_packet);
				return RSP_OVERSIZE;
			}
			r->st.packets_in++;
			log_packet("<-", r->pkt.buf, r->pkt.len);
			return RSP_PACKET;
		default:
			/* noise between packets */
			r->st.garbage++;
			r->in_pos++;
			continue;
		}
	}
	return RSP_NONE;
}

int rsp_send(struct rsp *r, const void *data, size_t len)
{
	const unsigned char *d = data;
	unsigned sum = 0;
	size_t i;
	char *o;

	log_packet("->", data, len);
	/* one allocation for the worst case: every byte escaped */
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
		}
		*o++ = (char)c;
		sum += c;
	}
	strbuf_setlen(&r->out, (size_t)(o - r->out.buf));
	strbuf_addf(&r->out, "#%02x", sum & 0xff);
	r->st.packets_out++;
	return send_raw(r, r->out.buf, r->out.len);
}
