/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The GDB remote serial protocol's framing: packets "$data#cs", acks,
 * no-ack mode, "}" escaping, "*" run-length decoding, the 0x03 interrupt
 * byte, and retransmission on a bad checksum. It knows nothing about what
 * packets mean. Bytes come in through rsp_feed() and packets go out
 * through a write callback, so the codec is testable without sockets.
 */
#ifndef XENSTUB_RSP_H
#define XENSTUB_RSP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stub/base/strbuf.h"

/* Writes all of buf or fails: 0 or a negative errno. */
typedef int (*rsp_write_fn)(void *ctx, const void *buf, size_t len);

enum rsp_event {
	RSP_NONE = 0,		/* need more input */
	RSP_PACKET,		/* a packet: rsp_packet() */
	RSP_INTERRUPT,		/* gdb sent 0x03 */
	RSP_OVERSIZE,		/* a packet larger than max_packet was dropped */
	RSP_MALFORMED,		/* a packet with a good checksum but a bad
				 * escape or run-length was dropped */
	RSP_RUNAWAY,		/* a packet went on past any size gdb sends,
				 * with no end: the peer is not gdb */
};

struct rsp_stats {
	uint64_t packets_in, packets_out;
	uint64_t bytes_in, bytes_out;
	uint64_t bad_checksums, retransmits, oversize, garbage;
	uint64_t resent_by_gdb;	/* copies of a packet gdb sent again */
};

struct rsp {
	rsp_write_fn write;
	void *write_ctx;
	size_t max_packet;	/* largest decoded packet accepted */
	bool noack;
	/* input */
	struct strbuf in;	/* bytes not consumed yet */
	size_t in_pos;
	struct strbuf pkt;	/* the packet being decoded, or the last one */
	/* the decoder's state between two feeds: every byte is looked at
	 * once, and a packet never holds more than max_packet bytes */
	int rx;			/* where in a packet the next byte falls */
	unsigned rx_sum;	/* checksum of the bytes since '$' */
	int rx_hi;		/* first checksum digit */
	size_t rx_raw;		/* bytes since '$' */
	bool rx_oversize, rx_malformed;
	/* gdb sends a packet again when our ack is late (a slow start): a
	 * copy of the last packet that came before our reply to it is not
	 * answered twice */
	uint64_t rx_start_pos;	/* where in the stream the packet began */
	uint64_t replied_at;	/* bytes received when we last replied */
	struct strbuf prev;	/* the last packet delivered */
	bool prev_answered;
	/* output */
	struct strbuf out;	/* the last framed packet, for '-' */
	struct strbuf scratch;
	struct rsp_stats st;
};

void rsp_init(struct rsp *r, rsp_write_fn write, void *ctx,
	      size_t max_packet);
void rsp_release(struct rsp *r);

/* Adds received bytes. */
void rsp_feed(struct rsp *r, const void *bytes, size_t n);

/*
 * Consumes input up to the next event. Acks are sent and answered here.
 * Returns the event, or a negative errno when writing an ack failed.
 * Linear in the bytes fed, whatever they are; a packet whose raw bytes
 * exceed twice max_packet without its '#' is RSP_RUNAWAY.
 */
int rsp_next(struct rsp *r);

/* The packet of the last RSP_PACKET event, NUL-terminated (binary
 * packets may hold NULs: use the length). Valid until rsp_next(). */
static inline const char *rsp_packet(const struct rsp *r, size_t *len)
{
	if (len)
		*len = r->pkt.len;
	return r->pkt.buf;
}

/* Frames and sends a packet; binary-safe (escapes $ # } *), and
 * run-length encoded (see rsp_rle_count()). */
int rsp_send(struct rsp *r, const void *data, size_t len);
static inline int rsp_send_str(struct rsp *r, const char *s)
{
	return rsp_send(r, s, __builtin_strlen(s));
}

/* The longest run one '*' stands for, the first character included. */
#define RSP_RLE_MAX_RUN 97

/* True for the count characters a run never uses: '#' and '$' frame
 * packets, '*' and '}' could be taken for a run or an escape. */
static inline bool rsp_rle_count_forbidden(int ch)
{
	return ch == '#' || ch == '$' || ch == '*' || ch == '}';
}

/* For a run of `run` identical characters (the first one included),
 * how many repeats after the first one '*' stands for: 0 when the run is
 * sent as it is, else 3..RSP_RLE_MAX_RUN-2, never a forbidden count. */
size_t rsp_rle_count(size_t run);

/* Hex helpers shared by the protocol code. */
int rsp_hexval(int c);
/* Decodes 2*n hex digits into n bytes; -EINVAL on a bad digit. */
int rsp_unhex(const char *hex, size_t n, uint8_t *out);
/* Parses a hex number up to a character not in [0-9a-fA-F]; *end gets
 * that position. -EINVAL if there are no digits, -ERANGE on overflow. */
int rsp_parse_hex(const char *s, uint64_t *val, const char **end);

#endif
