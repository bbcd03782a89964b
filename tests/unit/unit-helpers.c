// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The fake target and the protocol wire shared by the unit tests (see
 * unit-helpers.h). Included once by each test program that uses them.
 */
#include "tests/unit/unit-helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

/* ---- the fake target ---- */

static struct fake_target *to_fake(struct target *t)
{
	return (struct fake_target *)t;
}

static int fake_open(const char *spec, const struct target_params *p,
		     struct target **out, char **msg)
{
	(void)spec;
	(void)p;
	*out = NULL;
	*msg = xstrfmt("the fake target is not opened by name");
	return -EINVAL;
}

static void fake_close(struct target *t)
{
	to_fake(t)->closed = true;
}

static int fake_map(struct target *t, uint64_t gfn, unsigned count, bool write,
		    void **ptrs, void **handle)
{
	struct fake_target *f = to_fake(t);
	struct fake_map *m;
	unsigned i;

	if (f->map_error)
		return f->map_error;
	f->map_calls++;
	m = xcalloc(1, sizeof(*m));
	m->gfn = gfn;
	m->count = count;
	m->write = write;
	m->next = f->maps;
	f->maps = m;
	for (i = 0; i < count; i++) {
		uint64_t g = gfn + i;

		ptrs[i] = g < f->nframes && !f->missing[g] ?
			  f->mem + g * GUEST_PAGE_SIZE : NULL;
	}
	*handle = m;
	return 0;
}

static void fake_unmap(struct target *t, void *handle, unsigned count)
{
	struct fake_target *f = to_fake(t);
	struct fake_map *m = handle;

	f->unmap_calls++;
	m->unmaps++;
	if (count != m->count)
		m->bad_unmap_count++;
}

static int fake_get_regs(struct target *t, unsigned vcpu, struct x86_regs *r)
{
	struct fake_target *f = to_fake(t);

	f->get_regs_calls++;
	*r = f->regs[vcpu];
	return 0;
}

static int fake_set_regs(struct target *t, unsigned vcpu,
			 const struct x86_regs *r)
{
	struct fake_target *f = to_fake(t);

	f->set_regs_calls++;
	f->regs[vcpu] = *r;
	return 0;
}

static const struct target_ops fake_ops = {
	.name = "fake",
	.help = "fake:   a test double",
	.open = fake_open,
	.close = fake_close,
	.map = fake_map,
	.unmap = fake_unmap,
	.get_regs = fake_get_regs,
	.set_regs = fake_set_regs,
};

static int fake_set_access(struct target *t, unsigned view,
			   const uint64_t *gfns, const uint8_t *access,
			   unsigned n)
{
	struct fake_target *f = to_fake(t);
	unsigned i;

	assert_int_equal(view, 0);
	f->set_access_calls++;
	if (f->set_access_error) {
		target_set_error(t, "the fake refuses mem_access");
		return f->set_access_error;
	}
	for (i = 0; i < n; i++) {
		assert_true(gfns[i] < f->nframes);
		f->access[gfns[i]] = access[i];
	}
	f->set_access_frames += n;
	return 0;
}

static int fake_get_access(struct target *t, unsigned view, uint64_t gfn,
			   uint8_t *access)
{
	struct fake_target *f = to_fake(t);

	assert_int_equal(view, 0);
	f->get_access_calls++;
	if (gfn >= f->nframes)
		return -EINVAL;
	*access = f->access[gfn];
	return 0;
}

static const struct target_event_ops fake_event_ops = {
	.set_access = fake_set_access,
	.get_access = fake_get_access,
};

static const struct target_ops fake_ops_events = {
	.name = "fake",
	.help = "fake:   a test double with mem_access",
	.open = fake_open,
	.close = fake_close,
	.map = fake_map,
	.unmap = fake_unmap,
	.get_regs = fake_get_regs,
	.set_regs = fake_set_regs,
	.ev = &fake_event_ops,
};

void fake_target_events(struct fake_target *f)
{
	f->base.ops = &fake_ops_events;
	f->access = xmalloc(f->nframes);
	memset(f->access, TACC_RWX, f->nframes);
}

struct fake_target *fake_target_new(size_t nframes, unsigned nr_vcpus,
				    unsigned bits, unsigned batch,
				    unsigned caps)
{
	struct fake_target *f = xcalloc(1, sizeof(*f));

	target_init(&f->base, &fake_ops);
	f->nframes = nframes;
	f->mem = xcalloc(nframes, GUEST_PAGE_SIZE);
	f->missing = xcalloc(nframes, sizeof(bool));
	f->regs = xcalloc(nr_vcpus, sizeof(*f->regs));
	f->base.nr_vcpus = nr_vcpus;
	f->base.guest_bits = bits;
	f->base.map_batch = batch;
	f->base.max_gfn = nframes - 1;
	f->base.caps = caps;
	f->base.description = xstrfmt("fake target: %zu frames, %u vCPUs",
				      nframes, nr_vcpus);
	return f;
}

void fake_target_free(struct fake_target *f)
{
	struct fake_map *m, *next;

	if (!f)
		return;
	for (m = f->maps; m; m = next) {
		next = m->next;
		free(m);
	}
	free(f->mem);
	free(f->missing);
	free(f->access);
	free(f->regs);
	free(f->base.description);
	free(f->base.last_error);
	free(f);
}

uint8_t *fake_phys(struct fake_target *f, uint64_t paddr)
{
	assert_true(paddr < f->nframes * GUEST_PAGE_SIZE);
	return f->mem + paddr;
}

unsigned fake_unbalanced_maps(const struct fake_target *f)
{
	const struct fake_map *m;
	unsigned bad = 0;

	for (m = f->maps; m; m = m->next)
		if (m->unmaps != 1 || m->bad_unmap_count)
			bad++;
	return bad;
}

unsigned fake_maps_of(const struct fake_target *f, uint64_t gfn)
{
	const struct fake_map *m;
	unsigned n = 0;

	for (m = f->maps; m; m = m->next)
		if (gfn >= m->gfn && gfn - m->gfn < m->count)
			n++;
	return n;
}

/* ---- the wire ---- */

static void wire_start(struct wire *w, struct target *t)
{
	struct session_opts o = { .os = "none" };
	char *msg = NULL;
	int fds[2], rc;

	rc = session_open(t, &o, &w->s, &msg);
	if (rc)
		fail_msg("session_open: %s", msg ? msg : strerror(-rc));
	assert_int_equal(pipe(fds), 0);
	w->rfd = fds[0];
	w->wfd = fds[1];
	/* the largest reply must fit: the test reads only after the
	 * server has written everything */
	assert_true(fcntl(w->wfd, F_SETPIPE_SZ, 1 << 20) >= (1 << 19));
	assert_int_equal(fcntl(w->rfd, F_SETFL, O_NONBLOCK), 0);
	strbuf_init(&w->in, 0);
	strbuf_init(&w->reply, 0);
	strbuf_init(&w->console, 0);
	server_init(&w->sv, w->s, w->wfd);
}

void wire_open_target(struct wire *w, struct target *t)
{
	memset(w, 0, sizeof(*w));
	wire_start(w, t);
}

void wire_open_raw(struct wire *w, const void *image, size_t size,
		   const struct target_params *p)
{
	const char *dir = getenv("TMPDIR");
	struct target_params none = { .paging = -1 };
	struct target *t = NULL;
	struct strbuf spec = STRBUF_INIT;
	char *msg = NULL;
	int fd, rc;

	memset(w, 0, sizeof(*w));
	w->image = xstrfmt("%s/xenstub-unit-XXXXXX", dir && *dir ? dir : "/tmp");
	fd = mkstemp(w->image);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, image, size), (ssize_t)size);
	close(fd);
	strbuf_addf(&spec, "raw:%s", w->image);
	rc = target_open(spec.buf, p ? p : &none, &t, &msg);
	strbuf_release(&spec);
	if (rc)
		fail_msg("target_open: %s", msg ? msg : strerror(-rc));
	wire_start(w, t);
}

void wire_close(struct wire *w)
{
	server_release(&w->sv);
	session_close(w->s);
	close(w->rfd);
	close(w->wfd);
	if (w->image) {
		unlink(w->image);
		free(w->image);
	}
	strbuf_release(&w->in);
	strbuf_release(&w->reply);
	strbuf_release(&w->console);
	memset(w, 0, sizeof(*w));
}

void hex_of(struct strbuf *out, const void *bytes, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	const uint8_t *b = bytes;
	size_t i;

	strbuf_reset(out);
	for (i = 0; i < n; i++) {
		strbuf_addch(out, digits[b[i] >> 4]);
		strbuf_addch(out, digits[b[i] & 15]);
	}
}

void wire_frame(struct strbuf *out, const void *payload, size_t len)
{
	const uint8_t *p = payload;
	unsigned sum = 0;
	size_t i;

	strbuf_addch(out, '$');
	for (i = 0; i < len; i++) {
		uint8_t c = p[i];

		if (c == '$' || c == '#' || c == '}' || c == '*') {
			strbuf_addch(out, '}');
			sum += '}';
			c ^= 0x20;
		}
		strbuf_addch(out, c);
		sum += c;
	}
	strbuf_addf(out, "#%02x", sum & 0xff);
}

int wire_send(struct wire *w, const void *bytes, size_t n)
{
	return server_input(&w->sv, bytes, n);
}

static int hexdigit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1; /* the server writes lowercase only */
}

static bool is_console(const struct strbuf *pkt)
{
	size_t i;

	if (pkt->len < 3 || pkt->buf[0] != 'O' || pkt->len % 2 == 0)
		return false;
	for (i = 1; i < pkt->len; i++)
		if (hexdigit((unsigned char)pkt->buf[i]) < 0)
			return false;
	return true;
}

unsigned wire_collect(struct wire *w)
{
	char buf[65536];
	unsigned replies = 0;
	size_t pos = 0;
	ssize_t n;

	while ((n = read(w->rfd, buf, sizeof(buf))) > 0)
		strbuf_add(&w->in, buf, (size_t)n);
	assert_true(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));

	while (pos < w->in.len) {
		const uint8_t *d = (const uint8_t *)w->in.buf;
		struct strbuf pkt = STRBUF_INIT;
		unsigned sum = 0;
		size_t i;

		if (d[pos] == '+') {
			w->acks++;
			pos++;
			continue;
		}
		if (d[pos] == '-') {
			w->naks++;
			pos++;
			continue;
		}
		if (d[pos] != '$')
			fail_msg("the server wrote 0x%02x outside a packet", d[pos]);
		for (i = pos + 1; i < w->in.len && d[i] != '#'; i++) {
			uint8_t c = d[i];

			sum += c;
			if (c == '$')
				fail_msg("unescaped '%c' in a reply", c);
			if (c == '*') {
				/* a run: the count, never '#', '$', '*' or '}' */
				size_t count;

				assert_true(i + 1 < w->in.len && pkt.len > 0);
				c = d[++i];
				sum += c;
				if (c < 29 + 3 || c == '#' || c == '$' || c == '*' || c == '}')
					fail_msg("run-length count 0x%02x in a reply", c);
				for (count = (size_t)c - 29; count; count--)
					strbuf_addch(&pkt, pkt.buf[pkt.len - 1]);
				continue;
			}
			if (c == '}') {
				assert_true(i + 1 < w->in.len);
				sum += d[++i];
				c = d[i] ^ 0x20;
			}
			strbuf_addch(&pkt, c);
		}
		if (i + 2 >= w->in.len)
			fail_msg("a reply packet was cut short");
		if (hexdigit(d[i + 1]) < 0 || hexdigit(d[i + 2]) < 0 ||
		    (unsigned)(hexdigit(d[i + 1]) << 4 | hexdigit(d[i + 2])) !=
		    (sum & 0xff))
			fail_msg("bad checksum on a reply");
		pos = i + 3;
		w->packets++;
		if (is_console(&pkt)) {
			for (i = 1; i + 1 < pkt.len; i += 2)
				strbuf_addch(&w->console,
					     hexdigit((unsigned char)pkt.buf[i]) << 4 |
					     hexdigit((unsigned char)pkt.buf[i + 1]));
		} else {
			strbuf_reset(&w->reply);
			strbuf_add(&w->reply, pkt.buf, pkt.len);
			replies++;
		}
		strbuf_release(&pkt);
	}
	strbuf_reset(&w->in);
	return replies;
}

const char *wire_request_bin(struct wire *w, const void *payload, size_t len)
{
	struct strbuf f = STRBUF_INIT;
	unsigned n;

	wire_frame(&f, payload, len);
	assert_int_equal(wire_send(w, f.buf, f.len), 0);
	strbuf_release(&f);
	strbuf_reset(&w->console);
	n = wire_collect(w);
	if (n != 1)
		fail_msg("expected one reply to '%.*s', got %u",
			 (int)(len < 40 ? len : 40), (const char *)payload, n);
	return w->reply.buf;
}

const char *wire_request(struct wire *w, const char *payload)
{
	return wire_request_bin(w, payload, strlen(payload));
}
