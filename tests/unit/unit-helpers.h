/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Test doubles shared by the unit tests: a fake target (guest memory in a
 * buffer, registers per vCPU, a log of every map and unmap) and a "wire"
 * that drives the protocol dispatcher through a pipe and decodes what it
 * answers with its own, independent framing code.
 *
 * Every test program is linked on its own, so a test that needs these
 * includes unit-helpers.c once, after this header.
 */
#ifndef XENSTUB_UNIT_HELPERS_H
#define XENSTUB_UNIT_HELPERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stub/gdb/server.h"
#include "stub/session/session.h"
#include "stub/base/strbuf.h"
#include "stub/guest/target.h"

/* One map() call the fake target answered. */
struct fake_map {
	uint64_t gfn;
	unsigned count;
	bool write;
	unsigned unmaps;		/* unmap() calls seen for it */
	unsigned bad_unmap_count;	/* unmap() calls with another count */
	struct fake_map *next;		/* older calls */
};

struct fake_target {
	struct target base;
	uint8_t *mem;			/* frames 0..nframes-1, zeroed */
	size_t nframes;
	bool *missing;			/* per frame: map() gives NULL */
	struct x86_regs *regs;		/* per vCPU */
	int map_error;			/* non-zero: map() fails with it */
	unsigned map_calls, unmap_calls, set_regs_calls, get_regs_calls;
	struct fake_map *maps;		/* newest first */
	bool closed;
	/* with fake_target_events(): mem_access permissions per frame
	 * (TACC_*, all RWX at first) and what set_access() was asked */
	uint8_t *access;
	unsigned set_access_calls;	/* calls */
	unsigned set_access_frames;	/* frames they covered */
	unsigned get_access_calls;
	int set_access_error;		/* non-zero: set_access() fails */
};

/*
 * A fake target of nframes zeroed frames and nr_vcpus vCPUs whose
 * registers are all unknown. Capabilities: caps (TCAP_*). The session
 * closes it through target_close(), which only marks it closed: free it
 * with fake_target_free() afterwards.
 */
struct fake_target *fake_target_new(size_t nframes, unsigned nr_vcpus,
				    unsigned bits, unsigned batch,
				    unsigned caps);
void fake_target_free(struct fake_target *f);
/* Gives f event operations: mem_access permissions (set_access and
 * get_access on f->access, counted); every other event op is missing. */
void fake_target_events(struct fake_target *f);
/* Guest-physical address of the fake's memory. */
uint8_t *fake_phys(struct fake_target *f, uint64_t paddr);
/* How many map() calls were not undone by exactly one unmap() of the
 * same frame count. */
unsigned fake_unbalanced_maps(const struct fake_target *f);
/* The number of map() calls that covered gfn. */
unsigned fake_maps_of(const struct fake_target *f, uint64_t gfn);

/*
 * The protocol dispatcher on a session, talking through a pipe: the test
 * writes bytes with wire_send(), the server answers into the pipe, and
 * the wire decodes the answer with its own framing code (it checks every
 * checksum and undoes "}" escapes).
 */
struct wire {
	struct session *s;
	struct server sv;
	int rfd, wfd;
	char *image;			/* temporary image file, or NULL */
	struct strbuf in;		/* bytes read, not parsed yet */
	unsigned acks, naks;		/* '+' and '-' received */
	unsigned packets;		/* packets received */
	struct strbuf reply;		/* last non-console packet */
	struct strbuf console;		/* text of the console packets */
};

/* Opens a session on t (which the session then owns) and a server. */
void wire_open_target(struct wire *w, struct target *t);
/* Writes image to a temporary file and opens it as "raw:PATH". */
void wire_open_raw(struct wire *w, const void *image, size_t size,
		   const struct target_params *p);
void wire_close(struct wire *w);

/* Frames a packet the way gdb does: "$" escaped data "#" checksum. */
void wire_frame(struct strbuf *out, const void *payload, size_t len);
/* Feeds raw bytes to server_input(); returns its result. */
int wire_send(struct wire *w, const void *bytes, size_t n);
/* Reads what the server wrote and decodes every complete packet; the
 * console text is collected and the last other packet is w->reply.
 * Returns the number of non-console packets decoded. */
unsigned wire_collect(struct wire *w);
/* Sends one packet and returns the one reply (asserts there is exactly
 * one). The reply may hold NULs: w->reply.len is its length. */
const char *wire_request(struct wire *w, const char *payload);
const char *wire_request_bin(struct wire *w, const void *payload,
			     size_t len);

/* Lowercase hex of bytes, into out (reset first). */
void hex_of(struct strbuf *out, const void *bytes, size_t n);

#endif
