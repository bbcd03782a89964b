// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * simcheck: checks of xensim's Xen 4.17 semantics through the stand-in
 * Xen libraries, as a monitoring client sees them. Each scenario creates
 * its own domain through the control socket, drives a workload, makes Xen
 * calls and compares what happens with what Xen does. Prints one
 * "ok NAME: what" or "FAIL NAME: what: detail" line per check; the exit
 * status is the number of failures.
 *
 * usage: simcheck [SCENARIO...]   (XENSIM_SOCKET names the daemon)
 */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define XC_WANT_COMPAT_DEVICEMODEL_API 1
#define XC_WANT_COMPAT_MAP_FOREIGN_API 1
#include <xenctrl.h>
#include <xenevtchn.h>
#include <xenforeignmemory.h>
#include <xenstore.h>
#include <xendevicemodel.h>
#include <xen/vm_event.h>

#include "tests/xensim/proto.h"

/* Exported by Debian's libxenctrl, not declared by xenctrl.h. */
int xc_vm_event_control(xc_interface *xch, uint32_t domain_id,
			unsigned int op, unsigned int mode, uint32_t *port);

#define PAGE 4096u
#define WAIT_MS 20000

struct check {
	const char *scenario;
	int failures;
	int checks;
	xc_interface *xch;
};

static void report(struct check *c, bool ok, const char *what,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void report(struct check *c, bool ok, const char *what,
		   const char *fmt, ...)
{
	va_list ap;

	c->checks++;
	if (ok) {
		printf("ok %s: %s\n", c->scenario, what);
	} else {
		c->failures++;
		printf("FAIL %s: %s", c->scenario, what);
		if (fmt) {
			printf(": ");
			va_start(ap, fmt);
			vprintf(fmt, ap);
			va_end(ap);
		}
		printf("\n");
	}
	fflush(stdout);
}

/* The condition is evaluated before the details are. */
#define CHECK(c, cond, what, ...)                                            \
	do {                                                                 \
		bool ok_ = (cond);                                           \
		report(c, ok_, what, __VA_ARGS__);                           \
	} while (0)

/* ---- the control socket ---- */

static json_object *ctl(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static json_object *ctl(const char *fmt, ...)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	const char *path = getenv(XSIM_SOCKET_ENV);
	char req[65536];
	struct xsim_hdr h;
	void *body = NULL;
	int fds[XSIM_MAX_FDS];
	unsigned nfds;
	json_object *ans;
	va_list ap;
	int fd;

	va_start(ap, fmt);
	vsnprintf(req, sizeof(req), fmt, ap);
	va_end(ap);
	strncpy(a.sun_path, path, sizeof(a.sun_path) - 1);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    xsim_send(fd, XSIM_OP_HELLO, XSIM_ROLE_CTL, 0, NULL, 0, NULL, 0) ||
	    xsim_recv(fd, &h, &body, fds, &nfds)) {
		fprintf(stderr, "simcheck: cannot talk to xensimd\n");
		exit(100);
	}
	free(body);
	if (xsim_send(fd, XSIM_OP_CTL, 0, 0, req, strlen(req), NULL, 0) ||
	    xsim_recv(fd, &h, &body, fds, &nfds)) {
		fprintf(stderr, "simcheck: lost xensimd\n");
		exit(100);
	}
	close(fd);
	ans = json_tokener_parse(body);
	free(body);
	if (!ans) {
		fprintf(stderr, "simcheck: bad answer to %s\n", req);
		exit(100);
	}
	return ans;
}

static bool ctl_ok(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static bool ctl_ok(const char *fmt, ...)
{
	char req[65536];
	json_object *a, *ok;
	bool r;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(req, sizeof(req), fmt, ap);
	va_end(ap);
	a = ctl("%s", req);
	r = json_object_object_get_ex(a, "ok", &ok) && json_object_get_boolean(ok);
	if (!r)
		fprintf(stderr, "simcheck: %s -> %s\n", req,
			json_object_to_json_string(a));
	json_object_put(a);
	return r;
}

static uint32_t create(const char *name, const char *extra)
{
	json_object *a, *id;
	uint32_t domid;

	json_object_put(ctl("{\"cmd\":\"destroy\",\"dom\":\"%s\"}", name));
	a = ctl("{\"cmd\":\"create\",\"name\":\"%s\",%s}", name, extra);
	if (!json_object_object_get_ex(a, "domid", &id)) {
		fprintf(stderr, "simcheck: cannot create %s: %s\n", name,
			json_object_to_json_string(a));
		exit(100);
	}
	domid = (uint32_t)json_object_get_int(id);
	json_object_put(a);
	return domid;
}

static void destroy(uint32_t domid)
{
	ctl_ok("{\"cmd\":\"destroy\",\"dom\":%u}", domid);
}

static json_object *state(uint32_t domid)
{
	return ctl("{\"cmd\":\"state\",\"dom\":%u}", domid);
}

/* A field of the state: path like "vcpus.0.counters.steps". */
static json_object *field(json_object *o, const char *path)
{
	char buf[256], *p, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", path);
	for (p = strtok_r(buf, ".", &save); p && o; p = strtok_r(NULL, ".", &save)) {
		if (json_object_is_type(o, json_type_array))
			o = json_object_array_get_idx(o, (size_t)atoi(p));
		else if (!json_object_object_get_ex(o, p, &o))
			o = NULL;
	}
	return o;
}

static int64_t state_int(uint32_t domid, const char *path)
{
	json_object *s = state(domid);
	json_object *f = field(s, path);
	int64_t v = -1;

	if (f && json_object_is_type(f, json_type_string))
		v = (int64_t)strtoull(json_object_get_string(f), NULL, 0);
	else if (f)
		v = json_object_get_int64(f);
	json_object_put(s);
	return v;
}

static const char *state_str(uint32_t domid, const char *path, char *buf,
			     size_t n)
{
	json_object *s = state(domid);
	json_object *f = field(s, path);

	snprintf(buf, n, "%s", f ? json_object_get_string(f) : "(none)");
	json_object_put(s);
	return buf;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Polls a state field until it reaches want (bounded: a hang fails). */
static bool wait_int(uint32_t domid, const char *path, int64_t want)
{
	uint64_t end = now_ms() + WAIT_MS;

	while (now_ms() < end) {
		if (state_int(domid, path) == want)
			return true;
		usleep(2000);
	}
	return false;
}

static bool wait_str(uint32_t domid, const char *path, const char *want)
{
	uint64_t end = now_ms() + WAIT_MS;
	char buf[128];

	while (now_ms() < end) {
		if (!strcmp(state_str(domid, path, buf, sizeof(buf)), want))
			return true;
		usleep(2000);
	}
	return false;
}

static void workload(uint32_t domid, unsigned vcpu, const char *steps)
{
	if (!ctl_ok("{\"cmd\":\"workload\",\"dom\":%u,\"vcpu\":%u,\"workload\":{\"steps\":[%s]}}",
		    domid, vcpu, steps))
		exit(100);
}

static void start(uint32_t domid, int vcpu, int64_t steps)
{
	char v[32] = "", s[32] = "";

	if (vcpu >= 0)
		snprintf(v, sizeof(v), ",\"vcpu\":%d", vcpu);
	if (steps >= 0)
		snprintf(s, sizeof(s), ",\"steps\":%" PRId64, steps);
	ctl_ok("{\"cmd\":\"start\",\"dom\":%u%s%s}", domid, v, s);
}

static void poke(uint32_t domid, uint64_t gpa, const char *hex)
{
	ctl_ok("{\"cmd\":\"write\",\"dom\":%u,\"gpa\":\"0x%" PRIx64 "\",\"hex\":\"%s\"}",
	       domid, gpa, hex);
}

static uint64_t peek64(uint32_t domid, uint64_t gpa)
{
	json_object *a = ctl("{\"cmd\":\"read\",\"dom\":%u,\"gpa\":\"0x%" PRIx64 "\",\"len\":8}",
			     domid, gpa);
	json_object *h;
	uint64_t v = 0;
	int i;

	if (json_object_object_get_ex(a, "hex", &h)) {
		const char *s = json_object_get_string(h);

		for (i = 7; i >= 0; i--) {
			unsigned b;

			sscanf(s + 2 * i, "%2x", &b);
			v = v << 8 | b;
		}
	}
	json_object_put(a);
	return v;
}

/* ---- a monitor listener, as xen-access sets one up ---- */

struct mon {
	uint32_t domid;
	void *ring_page;
	uint32_t port;
	xenevtchn_handle *xce;
	int local_port;
	vm_event_back_ring_t back;
};

static int mon_open(struct check *c, struct mon *m, uint32_t domid)
{
	memset(m, 0, sizeof(*m));
	m->domid = domid;
	m->ring_page = xc_monitor_enable(c->xch, domid, &m->port);
	if (!m->ring_page)
		return -1;
	m->xce = xenevtchn_open(NULL, 0);
	if (!m->xce)
		return -1;
	m->local_port = xenevtchn_bind_interdomain(m->xce, domid, m->port);
	if (m->local_port < 0)
		return -1;
	SHARED_RING_INIT((vm_event_sring_t *)m->ring_page);
	BACK_RING_INIT(&m->back, (vm_event_sring_t *)m->ring_page, PAGE);
	return 0;
}

static void mon_close(struct check *c, struct mon *m)
{
	if (m->ring_page) {
		xc_monitor_disable(c->xch, m->domid);
		munmap(m->ring_page, PAGE);
	}
	if (m->xce) {
		if (m->local_port > 0)
			xenevtchn_unbind(m->xce, (evtchn_port_t)m->local_port);
		xenevtchn_close(m->xce);
	}
	memset(m, 0, sizeof(*m));
}

/* The next request (bounded wait); false when none came. */
static bool mon_get(struct mon *m, vm_event_request_t *req, int ms)
{
	uint64_t end = now_ms() + (uint64_t)ms;

	memset(req, 0, sizeof(*req));
	for (;;) {
		struct pollfd p = { .fd = xenevtchn_fd(m->xce), .events = POLLIN };

		if (RING_HAS_UNCONSUMED_REQUESTS(&m->back)) {
			RING_IDX i = m->back.req_cons;

			memcpy(req, RING_GET_REQUEST(&m->back, i), sizeof(*req));
			m->back.req_cons = i + 1;
			m->back.sring->req_event = i + 2;
			return true;
		}
		if (now_ms() >= end)
			return false;
		if (poll(&p, 1, 5) == 1) {
			int port = xenevtchn_pending(m->xce);

			if (port >= 0)
				xenevtchn_unmask(m->xce, (evtchn_port_t)port);
		}
	}
}

static void mon_put(struct mon *m, const vm_event_response_t *rsp)
{
	RING_IDX p = m->back.rsp_prod_pvt;

	memcpy(RING_GET_RESPONSE(&m->back, p), rsp, sizeof(*rsp));
	m->back.rsp_prod_pvt = p + 1;
	RING_PUSH_RESPONSES(&m->back);
	xenevtchn_notify(m->xce, (evtchn_port_t)m->local_port);
}

static void answer(struct mon *m, const vm_event_request_t *req,
		   uint32_t extra_flags)
{
	vm_event_response_t rsp;

	memset(&rsp, 0, sizeof(rsp));
	rsp.version = VM_EVENT_INTERFACE_VERSION;
	rsp.vcpu_id = req->vcpu_id;
	rsp.reason = req->reason;
	rsp.flags = (req->flags & VM_EVENT_FLAG_VCPU_PAUSED) | extra_flags;
	rsp.u = req->u;
	mon_put(m, &rsp);
}

/* ---- scenarios ---- */

/* An identity-mapped 16 MiB guest; code at 0x1000, data at 0x2000. */
#define ZERO "\"zero_mib\":16"

static void sc_basics(struct check *c)
{
	uint32_t d = create("sc-basics", ZERO ",\"vcpus\":2");
	xc_dominfo_t info;
	xc_vcpuinfo_t vi;
	xen_pfn_t gfns[2] = { 2, 0x5000 };
	int err[2] = { 1, 1 };
	uint8_t *p;
	xen_pfn_t maxg = 0;
	unsigned int width = 0;
	struct xs_handle *xs;
	char path[64];
	unsigned int n;

	CHECK(c, xc_domain_getinfo(c->xch, d, 1, &info) == 1 && info.domid == d &&
	      info.hvm && info.hap && !info.paused && info.nr_online_vcpus == 2 &&
	      info.max_vcpu_id == 1, "xc_domain_getinfo describes the domain",
	      "domid %u hvm %u paused %u vcpus %u", info.domid, info.hvm,
	      info.paused, info.nr_online_vcpus);
	CHECK(c, xc_domain_pause(c->xch, d) == 0 &&
	      xc_domain_pause(c->xch, d) == 0 &&
	      xc_domain_getinfo(c->xch, d, 1, &info) == 1 && info.paused,
	      "pauses nest and show in getinfo", NULL);
	CHECK(c, xc_domain_unpause(c->xch, d) == 0 &&
	      xc_domain_getinfo(c->xch, d, 1, &info) == 1 && info.paused,
	      "one unpause of two leaves it paused", NULL);
	CHECK(c, xc_domain_unpause(c->xch, d) == 0 &&
	      xc_domain_getinfo(c->xch, d, 1, &info) == 1 && !info.paused,
	      "the second unpause runs it", NULL);
	errno = 0;
	CHECK(c, xc_domain_unpause(c->xch, d) == -1 && errno == EINVAL,
	      "unpause at count 0 fails with EINVAL", "errno %d", errno);
	errno = 0;
	CHECK(c, xc_domain_pause(c->xch, 0) == -1 && errno == EINVAL,
	      "pausing dom0 (itself) fails with EINVAL", "errno %d", errno);
	errno = 0;
	CHECK(c, xc_domain_pause(c->xch, 200) == -1 && errno == ESRCH,
	      "an unknown domain gives ESRCH", "errno %d", errno);
	CHECK(c, xc_domain_maximum_gpfn(c->xch, d, &maxg) == 0 && maxg == 0xfefff,
	      "max gpfn covers the HVM special pages", "0x%lx", (unsigned long)maxg);
	errno = 0;
	CHECK(c, xc_domain_get_guest_width(c->xch, d, &width) == 1 &&
	      errno == EOPNOTSUPP,
	      "get_guest_width on HVM: libxc returns 1, errno EOPNOTSUPP",
	      "errno %d", errno);
	CHECK(c, xc_vcpu_getinfo(c->xch, d, 1, &vi) == 0 && vi.online,
	      "vcpu 1 is online", NULL);
	errno = 0;
	CHECK(c, xc_vcpu_getinfo(c->xch, d, 2, &vi) == -1 && errno == EINVAL,
	      "vcpu 2 does not exist: EINVAL", "errno %d", errno);
	poke(d, 0x2000, "4142434445464748");
	p = xc_map_foreign_bulk(c->xch, d, PROT_READ | PROT_WRITE, gfns, err, 2);
	CHECK(c, p && err[0] == 0 && err[1] == -EINVAL,
	      "a frame outside RAM fails alone with -EINVAL", "err %d %d",
	      err[0], err[1]);
	if (p) {
		CHECK(c, !memcmp(p, "ABCDEFGH", 8), "the mapping shows guest memory",
		      NULL);
		memcpy(p + 8, "xyz", 3);
		CHECK(c, peek64(d, 0x2008) == 0x7a7978,
		      "a write through the mapping reaches the guest", NULL);
		munmap(p, 2 * PAGE);
	}
	errno = 0;
	CHECK(c, !xc_map_foreign_pages(c->xch, d, PROT_READ, gfns + 1, 1) &&
	      errno == EINVAL, "without err[] the whole mapping fails", NULL);
	xs = xs_open(0);
	if (xs) {
		char **l = xs_directory(xs, XBT_NULL, "/local/domain", &n);
		char *name;
		unsigned k;
		bool found = false;

		for (k = 0; l && k < n; k++)
			found |= (unsigned)atoi(l[k]) == d;
		CHECK(c, l && found, "xs_directory(/local/domain) lists it", NULL);
		free(l);
		snprintf(path, sizeof(path), "/local/domain/%u/name", d);
		name = xs_read(xs, XBT_NULL, path, &n);
		CHECK(c, name && !strcmp(name, "sc-basics"),
		      "xenstore holds its name", "%s", name ? name : "(null)");
		free(name);
		xs_close(xs);
	} else {
		CHECK(c, false, "xs_open", "errno %d", errno);
	}
	{
		xc_domaininfo_t list[8];
		int n = xc_domain_getinfolist(c->xch, 0, 8, list);

		CHECK(c, n >= 2 && list[0].domain == 0 &&
		      list[n - 1].domain == d,
		      "xc_domain_getinfolist lists dom0 and the domain", "%d", n);
	}
	ctl_ok("{\"cmd\":\"destroy\",\"dom\":%u,\"dying\":true}", d);
	errno = 0;
	CHECK(c, xc_domain_getinfo(c->xch, d, 1, &info) == 1 && info.dying &&
	      xc_set_mem_access(c->xch, d, XENMEM_access_r, 2, 1) == -1 &&
	      errno == EINVAL,
	      "a dying domain: getinfo says so, mem_access gives EINVAL",
	      "dying %u errno %d", info.dying, errno);
	CHECK(c, xc_vm_event_control(c->xch, d, XEN_VM_EVENT_RESUME,
				     XEN_DOMCTL_VM_EVENT_OP_MONITOR, NULL) == 0,
	      "vm_event ops on a dying domain are ignored and succeed", NULL);
	destroy(d);
	errno = 0;
	CHECK(c, xc_domain_pause(c->xch, d) == -1 && errno == ESRCH,
	      "a destroyed domain gives ESRCH", "errno %d", errno);
}

static void sc_hvmctx(struct check *c)
{
	uint32_t d = create("sc-hvmctx", ZERO ",\"vcpus\":2");
	int size = xc_domain_hvm_getcontext(c->xch, d, NULL, 0);
	uint8_t *buf = malloc(size > 0 ? (size_t)size : 1);
	struct hvm_hw_cpu cpu;
	struct hvm_save_descriptor *desc;
	xc_vcpuinfo_t vi;
	int len;
	size_t off;

	CHECK(c, size > 0, "hvm_getcontext(NULL) gives the size", "%d", size);
	len = xc_domain_hvm_getcontext(c->xch, d, buf, (uint32_t)size);
	CHECK(c, len > 0 && len <= size, "hvm_getcontext fills the buffer",
	      "%d", len);
	CHECK(c, xc_domain_hvm_getcontext_partial(c->xch, d, HVM_SAVE_CODE(CPU),
						  1, &cpu, sizeof(cpu)) == 0 &&
	      cpu.cr0 == 0x80050033, "getcontext_partial(CPU, 1)", NULL);
	errno = 0;
	CHECK(c, xc_domain_hvm_getcontext_partial(c->xch, d, HVM_SAVE_CODE(CPU),
						  7, &cpu, sizeof(cpu)) == -1 &&
	      errno == ENOENT, "partial for a missing vCPU: ENOENT", "errno %d",
	      errno);
	errno = 0;
	CHECK(c, xc_domain_hvm_getcontext_partial(c->xch, d, HVM_SAVE_CODE(CPU),
						  0, &cpu, 100) == -1 &&
	      errno == ENOBUFS, "partial into a short buffer: ENOBUFS",
	      "errno %d", errno);
	/* Change vCPU 1's rax in the blob and load it back. */
	for (off = 0; off + sizeof(*desc) <= (size_t)len;
	     off += sizeof(*desc) + desc->length) {
		desc = (struct hvm_save_descriptor *)(buf + off);
		if (desc->typecode == HVM_SAVE_CODE(CPU) && desc->instance == 1)
			((struct hvm_hw_cpu *)(desc + 1))->rax = 0x1234abcd;
		if (desc->typecode == 0)
			break;
	}
	CHECK(c, xc_domain_hvm_setcontext(c->xch, d, buf, (uint32_t)len) == 0 &&
	      xc_domain_hvm_getcontext_partial(c->xch, d, HVM_SAVE_CODE(CPU), 1,
					       &cpu, sizeof(cpu)) == 0 &&
	      cpu.rax == 0x1234abcd, "setcontext writes a register", NULL);
	((struct hvm_save_header *)(buf + sizeof(*desc)))->magic ^= 1;
	errno = 0;
	CHECK(c, xc_domain_hvm_setcontext(c->xch, d, buf, (uint32_t)len) == -1 &&
	      errno == EINVAL, "a bad header magic: EINVAL", "errno %d", errno);
	((struct hvm_save_header *)(buf + sizeof(*desc)))->magic ^= 1;
	errno = 0;
	CHECK(c, xc_domain_hvm_setcontext(c->xch, d, buf,
					  (uint32_t)(len - (int)sizeof(*desc))) == -1 &&
	      errno == ENODATA, "a blob without its end record: ENODATA",
	      "errno %d", errno);
	/* hvm_load downs every vCPU before it reads the records: a blob
	 * holding only the header, vCPU 0 and the end leaves vCPU 1 down. */
	CHECK(c, xc_domain_hvm_setcontext(c->xch, d, buf, (uint32_t)len) == 0 &&
	      xc_vcpu_getinfo(c->xch, d, 1, &vi) == 0 && vi.online,
	      "a full blob brings every vCPU back", NULL);
	{
		size_t hdr = sizeof(*desc) + sizeof(struct hvm_save_header);
		size_t one = sizeof(*desc) + sizeof(struct hvm_hw_cpu);
		uint8_t *small = calloc(1, hdr + one + sizeof(*desc));

		memcpy(small, buf, hdr + one);	/* header + vCPU 0 */
		CHECK(c, xc_domain_hvm_setcontext(c->xch, d, small,
						  (uint32_t)(hdr + one + sizeof(*desc))) == 0 &&
		      xc_vcpu_getinfo(c->xch, d, 1, &vi) == 0 && !vi.online,
		      "a vCPU without a CPU record goes offline (hvm_load)",
		      "online %u", vi.online);
		free(small);
	}
	free(buf);
	destroy(d);
}

static void sc_pv(struct check *c)
{
	uint32_t d = create("sc-pv", ZERO ",\"type\":\"pv\"");
	uint32_t port, caps = 1;
	unsigned int width = 0;
	vcpu_guest_context_any_t ctx;
	uint8_t b[16];

	errno = 0;
	CHECK(c, !xc_monitor_enable(c->xch, d, &port) && errno == EINVAL,
	      "xc_monitor_enable on PV: EINVAL (no ring pfn parameter)",
	      "errno %d", errno);
	CHECK(c, xc_monitor_get_capabilities(c->xch, d, &caps) == 0 && caps == 0,
	      "PV has no monitor capabilities", "0x%x", caps);
	errno = 0;
	CHECK(c, xc_monitor_software_breakpoint(c->xch, d, 1) == -1 &&
	      errno == EOPNOTSUPP, "monitor events on PV: EOPNOTSUPP",
	      "errno %d", errno);
	errno = 0;
	CHECK(c, xc_set_mem_access(c->xch, d, XENMEM_access_r, 2, 1) == -1 &&
	      errno == EINVAL, "mem_access on PV: EINVAL", "errno %d", errno);
	errno = 0;
	CHECK(c, xc_domain_debug_control(c->xch, d,
					 XEN_DOMCTL_DEBUG_OP_SINGLE_STEP_ON, 0) == -1 &&
	      errno == EINVAL, "debug_control on PV: EINVAL", "errno %d", errno);
	errno = 0;
	CHECK(c, xc_domain_hvm_getcontext(c->xch, d, b, sizeof(b)) == -1 &&
	      errno == EINVAL, "HVM context of PV: EINVAL", "errno %d", errno);
	CHECK(c, xc_domain_get_guest_width(c->xch, d, &width) == 0 && width == 8,
	      "PV guest width 8", "%u", width);
	CHECK(c, xc_vcpu_getcontext(c->xch, d, 0, &ctx) == 0 &&
	      ctx.x64.ctrlreg[3] != 0 && (ctx.x64.flags & VGCF_online),
	      "PV vcpu context with its cr3", NULL);
	destroy(d);
}

static void sc_monitor(struct check *c)
{
	uint32_t d = create("sc-monitor", ZERO);
	struct mon m;
	uint32_t port2;
	vm_event_request_t req = { .version = 0 };
	char buf[64];

	CHECK(c, mon_open(c, &m, d) == 0, "monitor ring set up", "errno %d",
	      errno);
	errno = 0;
	CHECK(c, !xc_monitor_enable(c->xch, d, &port2) && errno == EBUSY,
	      "a second xc_monitor_enable: EBUSY", "errno %d", errno);
	CHECK(c, RING_SIZE(&m.back) == 8 &&
	      state_int(d, "ring.size") == RING_SIZE(&m.back),
	      "the ring has the size ring.h computes (8)", NULL);
	CHECK(c, xc_monitor_software_breakpoint(c->xch, d, 1) == 0,
	      "software breakpoints on", NULL);
	errno = 0;
	CHECK(c, xc_monitor_software_breakpoint(c->xch, d, 1) == -1 &&
	      errno == EEXIST, "enabling twice: EEXIST", "errno %d", errno);
	/* Response flags act only on a vCPU held by an event. */
	{
		vm_event_response_t rsp;

		memset(&rsp, 0, sizeof(rsp));
		rsp.version = VM_EVENT_INTERFACE_VERSION;
		rsp.vcpu_id = 0;
		rsp.flags = VM_EVENT_FLAG_VCPU_PAUSED |
			    VM_EVENT_FLAG_TOGGLE_SINGLESTEP |
			    VM_EVENT_FLAG_SET_REGISTERS;
		rsp.data.regs.x86.rip = 0xdead;
		mon_put(&m, &rsp);
		CHECK(c, wait_int(d, "ring.consumed", 1) &&
		      state_int(d, "vcpus.0.single_step") == 0 &&
		      state_int(d, "vcpus.0.regs.rip") != 0xdead &&
		      state_int(d, "vcpus.0.vm_event_pause") == 0,
		      "a response for a vCPU not held changes nothing", NULL);
	}
	/* int3 with the monitor: event, the vCPU waits at the int3. */
	poke(d, 0x1000, "cc");
	workload(d, 0, "{\"rip\":\"0x1000\",\"len\":1},"
		       "{\"rip\":\"0x1001\",\"len\":3,\"access\":\"write\",\"va\":\"0x2000\",\"value\":\"0x55\"},"
		       "{\"op\":\"halt\"}");
	start(d, 0, -1);
	CHECK(c, mon_get(&m, &req, WAIT_MS) &&
	      req.reason == VM_EVENT_REASON_SOFTWARE_BREAKPOINT &&
	      req.version == VM_EVENT_INTERFACE_VERSION &&
	      (req.flags & VM_EVENT_FLAG_VCPU_PAUSED) &&
	      req.data.regs.x86.rip == 0x1000 &&
	      req.u.software_breakpoint.gfn == 1 &&
	      req.u.software_breakpoint.insn_length == 1,
	      "int3 gives a synchronous SOFTWARE_BREAKPOINT at the int3",
	      "reason %u rip 0x%" PRIx64, req.reason, req.data.regs.x86.rip);
	CHECK(c, !strcmp(state_str(d, "vcpus.0.state", buf, sizeof(buf)), "held"),
	      "the vCPU is held until answered", "%s", buf);
	/* EMULATE + SET_EMUL_INSN_DATA: the original instruction runs. */
	{
		vm_event_response_t rsp;

		memset(&rsp, 0, sizeof(rsp));
		rsp.version = VM_EVENT_INTERFACE_VERSION;
		rsp.vcpu_id = req.vcpu_id;
		rsp.reason = req.reason;
		rsp.flags = VM_EVENT_FLAG_VCPU_PAUSED | VM_EVENT_FLAG_EMULATE |
			    VM_EVENT_FLAG_SET_EMUL_INSN_DATA;
		memset(rsp.data.emul.insn.data, 0x90, sizeof(rsp.data.emul.insn.data));
		mon_put(&m, &rsp);
	}
	CHECK(c, wait_str(d, "vcpus.0.state", "halted") &&
	      peek64(d, 0x2000) == 0x55 &&
	      state_int(d, "vcpus.0.counters.bp_delivered") == 0 &&
	      state_int(d, "vcpus.0.counters.emulated") == 1 &&
	      state_int(d, "vcpus.0.counters.events") == 1,
	      "EMULATE with instruction data runs the step, no #BP, no new event",
	      NULL);
	/* Reinjection: the guest takes its own #BP and goes on. */
	workload(d, 0, "{\"rip\":\"0x1000\",\"len\":1},{\"op\":\"loop\",\"times\":2}");
	start(d, 0, -1);
	{
		int events = 0, k;

		for (k = 0; k < 3 && mon_get(&m, &req, WAIT_MS); k++) {
			events++;
			xc_hvm_inject_trap(c->xch, d, (int)req.vcpu_id, 3,
					   req.u.software_breakpoint.type, ~0u,
					   (uint8_t)req.u.software_breakpoint.insn_length, 0);
			answer(&m, &req, 0);
		}
		CHECK(c, events == 3 && wait_str(d, "vcpus.0.state", "halted") &&
		      state_int(d, "vcpus.0.counters.int3") == 4 &&
		      state_int(d, "vcpus.0.counters.bp_delivered") == 3,
		      "three reinjected int3: three #BP taken by the guest",
		      "events %d", events);
	}
	errno = 0;
	xc_hvm_inject_trap(c->xch, d, 0, 3, 6, ~0u, 1, 0);
	CHECK(c, xc_hvm_inject_trap(c->xch, d, 0, 3, 6, ~0u, 1, 0) == -1 &&
	      errno == EBUSY, "a second pending injection: EBUSY", "errno %d",
	      errno);
	mon_close(c, &m);
	CHECK(c, state_int(d, "monitor.software_breakpoint") == 0,
	      "xc_monitor_disable resets the monitor settings", NULL);
	errno = 0;
	CHECK(c, xc_monitor_disable(c->xch, d) == -1 && errno == EINVAL,
	      "disabling without a ring: EINVAL", "errno %d", errno);
	destroy(d);
}

static void sc_ring_full(struct check *c)
{
	uint32_t d = create("sc-ringfull", ZERO ",\"vcpus\":10");
	struct mon m;
	vm_event_request_t req = { .version = 0 };
	unsigned v, got = 0;

	mon_open(c, &m, d);
	xc_monitor_software_breakpoint(c->xch, d, 1);
	poke(d, 0x1000, "cc");
	for (v = 0; v < 10; v++)
		workload(d, v, "{\"rip\":\"0x1000\",\"len\":1},{\"op\":\"halt\"}");
	start(d, -1, -1);
	CHECK(c, wait_int(d, "ring.outstanding", 8) && wait_int(d, "ring.free", 0),
	      "eight requests fill the ring", NULL);
	{
		json_object *s = state(d);
		json_object *w = field(s, "ring.waiting");

		CHECK(c, w && json_object_array_length(w) == 2,
		      "the two other vCPUs wait for a slot (vm_event_wait_slot)",
		      "%s", w ? json_object_to_json_string(w) : "null");
		json_object_put(s);
	}
	/* Consume and answer one: a waiting vCPU gets its slot. */
	if (mon_get(&m, &req, WAIT_MS)) {
		got++;
		answer(&m, &req, 0);
	}
	CHECK(c, wait_int(d, "ring.posted", 9),
	      "answering one request lets a waiting vCPU post", NULL);
	while (got < 10 && mon_get(&m, &req, WAIT_MS)) {
		got++;
		answer(&m, &req, 0);
	}
	CHECK(c, got == 10, "ten events in all", "%u", got);
	mon_close(c, &m);
	destroy(d);
}

static void sc_mem_access(struct check *c)
{
	uint32_t d = create("sc-memaccess", ZERO);
	struct mon m;
	vm_event_request_t req = { .version = 0 };
	xenmem_access_t a;
	char buf[64];

	errno = 0;
	CHECK(c, xc_set_mem_access(c->xch, d, XENMEM_access_rx, 2, 1) == -1 &&
	      errno == ENODEV, "mem_access without a ring: ENODEV", "errno %d",
	      errno);
	mon_open(c, &m, d);
	CHECK(c, xc_set_mem_access(c->xch, d, XENMEM_access_rx, 2, 1) == 0 &&
	      xc_get_mem_access(c->xch, d, 2, &a) == 0 && a == XENMEM_access_rx,
	      "gfn 2 restricted to rx", NULL);
	errno = 0;
	CHECK(c, xc_set_mem_access(c->xch, d, XENMEM_access_default + 1, 2, 1) == -1 &&
	      errno == EINVAL, "an invalid access value: EINVAL", NULL);
	errno = 0;
	CHECK(c, xc_set_mem_access(c->xch, d, XENMEM_access_rx, 0xff000, 1) == -1 &&
	      errno == EINVAL, "a range past max_gpfn: EINVAL", NULL);
	errno = 0;
	CHECK(c, xc_get_mem_access(c->xch, d, 0x5000, &a) == -1 && errno == ESRCH,
	      "get_mem_access of an unpopulated gfn: ESRCH", "errno %d", errno);
	poke(d, 0x2000, "1111111111111111");
	workload(d, 0, "{\"rip\":\"0x1000\",\"len\":3,\"access\":\"write\",\"va\":\"0x2004\",\"size\":8,\"value\":\"0x2222222222222222\"},"
		       "{\"op\":\"halt\"}");
	start(d, 0, -1);
	CHECK(c, mon_get(&m, &req, WAIT_MS) &&
	      req.reason == VM_EVENT_REASON_MEM_ACCESS &&
	      req.u.mem_access.gfn == 2 && req.u.mem_access.offset == 4 &&
	      req.u.mem_access.gla == 0x2004 &&
	      (req.u.mem_access.flags & MEM_ACCESS_W) &&
	      (req.u.mem_access.flags & MEM_ACCESS_GLA_VALID) &&
	      (req.u.mem_access.flags & MEM_ACCESS_FAULT_WITH_GLA) &&
	      (req.flags & VM_EVENT_FLAG_VCPU_PAUSED),
	      "a write to an rx frame: MEM_ACCESS W with gla",
	      "reason %u gfn 0x%" PRIx64 " off 0x%" PRIx64 " flags 0x%x",
	      req.reason, req.u.mem_access.gfn, req.u.mem_access.offset,
	      req.u.mem_access.flags);
	CHECK(c, peek64(d, 0x2000) == 0x1111111111111111ull &&
	      !strcmp(state_str(d, "vcpus.0.state", buf, sizeof(buf)), "held"),
	      "the event comes before the write: memory unchanged, vCPU held",
	      NULL);
	/* EMULATE while the restriction stays: the write completes once. */
	answer(&m, &req, VM_EVENT_FLAG_EMULATE);
	CHECK(c, wait_str(d, "vcpus.0.state", "halted") &&
	      peek64(d, 0x2004) == 0x2222222222222222ull &&
	      state_int(d, "vcpus.0.counters.emulated") == 1 &&
	      state_int(d, "vcpus.0.counters.events") == 1 &&
	      xc_get_mem_access(c->xch, d, 2, &a) == 0 && a == XENMEM_access_rx,
	      "EMULATE completes the access, the restriction stays", NULL);
	/* Without EMULATE and with the restriction lifted: re-executed. */
	workload(d, 0, "{\"rip\":\"0x1000\",\"len\":3,\"access\":\"rw\",\"va\":\"0x2010\",\"size\":1,\"value\":\"0x33\"},"
		       "{\"op\":\"halt\"}");
	start(d, 0, -1);
	CHECK(c, mon_get(&m, &req, WAIT_MS) &&
	      req.reason == VM_EVENT_REASON_MEM_ACCESS &&
	      (req.u.mem_access.flags & MEM_ACCESS_W) &&
	      !(req.u.mem_access.flags & MEM_ACCESS_R),
	      "a read-modify-write of an rx frame faults on the write", NULL);
	xc_set_mem_access(c->xch, d, XENMEM_access_rwx, 2, 1);
	answer(&m, &req, VM_EVENT_FLAG_EMULATE);
	CHECK(c, wait_str(d, "vcpus.0.state", "halted") &&
	      state_int(d, "vcpus.0.counters.emulated") == 1 &&
	      state_int(d, "vcpus.0.counters.steps") == 2,
	      "EMULATE after the restriction was lifted: plain re-execution",
	      NULL);
	/* Write-only access is accepted, and EPT cannot express it. */
	CHECK(c, xc_set_mem_access(c->xch, d, XENMEM_access_w, 3, 1) == 0,
	      "XENMEM_access_w is accepted by the hypercall", NULL);
	workload(d, 0, "{\"rip\":\"0x1000\",\"len\":3,\"access\":\"read\",\"va\":\"0x3000\"},{\"op\":\"halt\"}");
	start(d, 0, -1);
	{
		xc_dominfo_t info;

		CHECK(c, wait_int(d, "shutdown", 1) &&
		      xc_domain_getinfo(c->xch, d, 1, &info) == 1 && info.crashed,
		      "touching a w-only frame crashes the domain (EPT misconfiguration)",
		      NULL);
	}
	mon_close(c, &m);
	destroy(d);
}

/* exec steps: the guest's own bytes, executed as they say. */
static const char exec_code[] =
	"48bb0020000000000000"		/* 1000 movabs rbx, 0x2000 */
	"48c7c044332211"		/* 100a mov rax, 0x11223344 */
	"48894308"			/* 1011 mov [rbx + 8], rax */
	"b902000000"			/* 1015 mov ecx, 2 */
	"488b54cbf8"			/* 101a mov rdx, [rbx + rcx*8 - 8] */
	"8d740a01"			/* 101f lea esi, [rdx + rcx + 1] */
	"48c705d20f0000ffffffff"	/* 1023 mov qword [rip + 0xfd2], -1 */
	"0f1f440000"			/* 102e nop dword [rax + rax] */
	"e900000000"			/* 1033 jmp 1038 */
	"8b3b"				/* 1038 mov edi, [rbx] */
	"0f0b";				/* 103a ud2: not modelled */

static void exec_setup(uint32_t d)
{
	poke(d, 0x1000, exec_code);
	poke(d, 0x2000, "0000000000000000aaaaaaaaaaaaaaaa");
	ctl_ok("{\"cmd\":\"set-reg\",\"dom\":%u,\"vcpu\":0,\"regs\":{\"rip\":\"0x1000\","
	       "\"rsi\":\"0xffffffffffffffff\",\"rdi\":\"0xdeadbeefdeadbeef\"}}", d);
	workload(d, 0, "{\"op\":\"exec\"}");
}

static void sc_exec(struct check *c)
{
	uint32_t d = create("sc-exec", ZERO);
	vm_event_request_t req = { .version = 0 }, again = { .version = 0 };
	struct mon m;
	char buf[256];

	exec_setup(d);
	start(d, 0, -1);
	CHECK(c, wait_str(d, "vcpus.0.state", "faulted") &&
	      state_int(d, "vcpus.0.regs.rip") == 0x103a &&
	      state_int(d, "vcpus.0.counters.steps") == 10 &&
	      strstr(state_str(d, "vcpus.0.workload.fault", buf, sizeof(buf)),
		     "0x103a (bytes 0f 0b") != NULL,
	      "exec runs ten instructions, then stops at ud2 naming its bytes",
	      "%s", buf);
	CHECK(c, state_int(d, "vcpus.0.regs.rax") == 0x11223344 &&
	      state_int(d, "vcpus.0.regs.rdx") == 0x11223344 &&
	      state_int(d, "vcpus.0.regs.rsi") == 0x11223347 &&
	      state_int(d, "vcpus.0.regs.rdi") == 0xffffffff &&
	      peek64(d, 0x2008) == 0x11223344 &&
	      peek64(d, 0x2000) == UINT64_MAX &&
	      state_int(d, "vcpus.0.counters.writes") == 2 &&
	      state_int(d, "vcpus.0.counters.reads") == 2,
	      "immediates, SIB, RIP-relative, lea, 32-bit results zero-extended",
	      NULL);

	/* The store faults on an rx frame before anything changes; EMULATE
	 * completes it; with the no-progress quirk the same event comes
	 * back instead. */
	exec_setup(d);
	mon_open(c, &m, d);
	xc_set_mem_access(c->xch, d, XENMEM_access_rx, 2, 1);
	ctl_ok("{\"cmd\":\"quirk\",\"dom\":%u,\"quirk\":\"no-progress\",\"value\":\"on\"}", d);
	start(d, 0, -1);
	CHECK(c, mon_get(&m, &req, WAIT_MS) &&
	      req.reason == VM_EVENT_REASON_MEM_ACCESS &&
	      req.u.mem_access.gla == 0x2008 && req.data.regs.x86.rip == 0x1011 &&
	      peek64(d, 0x2008) == 0xaaaaaaaaaaaaaaaaull,
	      "the store faults at its rip with its address, memory unchanged",
	      "rip 0x%" PRIx64 " gla 0x%" PRIx64, req.data.regs.x86.rip,
	      req.u.mem_access.gla);
	answer(&m, &req, VM_EVENT_FLAG_EMULATE);
	CHECK(c, mon_get(&m, &again, WAIT_MS) &&
	      again.reason == VM_EVENT_REASON_MEM_ACCESS &&
	      again.u.mem_access.gla == 0x2008 &&
	      !memcmp(&again.data.regs.x86, &req.data.regs.x86,
		      sizeof(req.data.regs.x86)) &&
	      peek64(d, 0x2008) == 0xaaaaaaaaaaaaaaaaull,
	      "quirk no-progress: EMULATE ignored, the same event again", NULL);
	ctl_ok("{\"cmd\":\"quirk\",\"dom\":%u,\"quirk\":\"no-progress\",\"value\":\"off\"}", d);
	answer(&m, &again, VM_EVENT_FLAG_EMULATE);
	CHECK(c, mon_get(&m, &req, WAIT_MS) &&
	      req.u.mem_access.gla == 0x2000 && req.data.regs.x86.rip == 0x1023 &&
	      peek64(d, 0x2008) == 0x11223344 &&
	      state_int(d, "vcpus.0.counters.emulated") == 1,
	      "quirk off: EMULATE completes the store; the RIP-relative one faults next",
	      "rip 0x%" PRIx64 " gla 0x%" PRIx64, req.data.regs.x86.rip,
	      req.u.mem_access.gla);
	xc_set_mem_access(c->xch, d, XENMEM_access_rwx, 2, 1);
	answer(&m, &req, 0);
	CHECK(c, wait_str(d, "vcpus.0.state", "faulted") &&
	      peek64(d, 0x2000) == UINT64_MAX,
	      "restriction lifted: re-executed, on to the ud2", NULL);
	mon_close(c, &m);
	destroy(d);
}

static void sc_no_listener(struct check *c)
{
	uint32_t d = create("sc-nolistener", ZERO);
	struct mon m;
	xc_dominfo_t info;

	mon_open(c, &m, d);
	xc_set_mem_access(c->xch, d, XENMEM_access_rx, 2, 1);
	mon_close(c, &m);
	workload(d, 0, "{\"rip\":\"0x1000\",\"len\":3,\"access\":\"write\",\"va\":\"0x2000\",\"value\":\"0x77\"},{\"op\":\"halt\"}");
	start(d, 0, -1);
	CHECK(c, wait_str(d, "vcpus.0.state", "halted") &&
	      peek64(d, 0x2000) == 0x77 &&
	      state_int(d, "mem_access.host.0.first") == -1,
	      "no listener, not required: the frame is reset to rwx and the write done",
	      NULL);
	mon_open(c, &m, d);
	xc_domain_set_access_required(c->xch, d, 1);
	xc_set_mem_access(c->xch, d, XENMEM_access_rx, 2, 1);
	mon_close(c, &m);
	start(d, 0, -1);
	CHECK(c, wait_int(d, "shutdown", 1) &&
	      xc_domain_getinfo(c->xch, d, 1, &info) == 1 && info.crashed,
	      "no listener, access required: domain_crash", NULL);
	destroy(d);
}

static void sc_singlestep(struct check *c)
{
	uint32_t d = create("sc-singlestep", ZERO);
	struct mon m;
	vm_event_request_t req = { .version = 0 };

	mon_open(c, &m, d);
	CHECK(c, xc_monitor_singlestep(c->xch, d, 1) == 0,
	      "monitor single-step on", NULL);
	workload(d, 0, "{\"rip\":\"0x1000\",\"len\":2},{\"rip\":\"0x1002\",\"len\":5},"
		       "{\"rip\":\"0x1007\",\"len\":1},{\"op\":\"loop\"}");
	xc_domain_pause(c->xch, d);
	start(d, 0, -1);
	CHECK(c, xc_domain_debug_control(c->xch, d,
					 XEN_DOMCTL_DEBUG_OP_SINGLE_STEP_ON, 0) == 0,
	      "debug_control SINGLE_STEP_ON", NULL);
	xc_domain_unpause(c->xch, d);
	CHECK(c, mon_get(&m, &req, WAIT_MS) &&
	      req.reason == VM_EVENT_REASON_SINGLESTEP &&
	      req.data.regs.x86.rip == 0x1002 &&
	      state_int(d, "vcpus.0.counters.steps") == 1,
	      "the SINGLESTEP event comes after exactly one instruction",
	      "rip 0x%" PRIx64, req.data.regs.x86.rip);
	answer(&m, &req, 0);
	CHECK(c, mon_get(&m, &req, WAIT_MS) &&
	      req.reason == VM_EVENT_REASON_SINGLESTEP &&
	      req.data.regs.x86.rip == 0x1007 &&
	      state_int(d, "vcpus.0.counters.steps") == 2,
	      "and again after the next one", NULL);
	answer(&m, &req, VM_EVENT_FLAG_TOGGLE_SINGLESTEP);
	{
		uint64_t end = now_ms() + WAIT_MS;

		while (state_int(d, "vcpus.0.counters.steps") < 10 &&
		       now_ms() < end)
			usleep(2000);
	}
	CHECK(c, state_int(d, "vcpus.0.single_step") == 0 &&
	      state_int(d, "vcpus.0.counters.steps") >= 10 &&
	      state_int(d, "vcpus.0.counters.events") == 2,
	      "TOGGLE_SINGLESTEP in the response stops it", NULL);
	ctl_ok("{\"cmd\":\"stop\",\"dom\":%u}", d);
	mon_close(c, &m);
	destroy(d);
}

/* An instruction Xen's exit handler completes (cpuid): no MTF exit at
 * its end, and with TF its #DB goes to the guest, not to the monitor. */
static void sc_exit_step(struct check *c)
{
	uint32_t d = create("sc-exit-step", ZERO);
	struct mon m;
	vm_event_request_t req = { .version = 0 };
	vcpu_guest_context_any_t ctx;

	mon_open(c, &m, d);
	xc_monitor_singlestep(c->xch, d, 1);
	workload(d, 0, "{\"op\":\"cpuid\",\"rip\":\"0x1000\"},{\"rip\":\"0x1002\",\"len\":1},"
		       "{\"rip\":\"0x1003\",\"len\":1},{\"op\":\"loop\"}");
	xc_domain_pause(c->xch, d);
	start(d, 0, -1);
	xc_domain_debug_control(c->xch, d, XEN_DOMCTL_DEBUG_OP_SINGLE_STEP_ON, 0);
	xc_domain_unpause(c->xch, d);
	CHECK(c, mon_get(&m, &req, WAIT_MS) &&
	      req.reason == VM_EVENT_REASON_SINGLESTEP &&
	      req.data.regs.x86.rip == 0x1003 &&
	      state_int(d, "vcpus.0.counters.steps") == 2 &&
	      state_int(d, "vcpus.0.counters.exit_completed") == 1,
	      "MTF over cpuid: the SINGLESTEP event comes after the next instruction",
	      "reason %u rip 0x%" PRIx64, req.reason, req.data.regs.x86.rip);
	answer(&m, &req, VM_EVENT_FLAG_TOGGLE_SINGLESTEP);
	ctl_ok("{\"cmd\":\"stop\",\"dom\":%u}", d);
	mon_close(c, &m);
	destroy(d);

	d = create("sc-exit-step-amd", ZERO ",\"vendor\":\"amd\"");
	mon_open(c, &m, d);
	xc_monitor_debug_exceptions(c->xch, d, 1, 1);
	workload(d, 0, "{\"op\":\"cpuid\",\"rip\":\"0x1000\"},{\"rip\":\"0x1002\",\"len\":1},"
		       "{\"op\":\"halt\"}");
	xc_domain_pause(c->xch, d);
	xc_vcpu_getcontext(c->xch, d, 0, &ctx);
	ctx.x64.user_regs.rflags |= 0x100;
	xc_vcpu_setcontext(c->xch, d, 0, &ctx);
	start(d, 0, -1);
	xc_domain_unpause(c->xch, d);
	CHECK(c, wait_str(d, "vcpus.0.state", "halted") &&
	      !mon_get(&m, &req, 200) &&
	      state_int(d, "vcpus.0.counters.db_delivered") == 1,
	      "TF over cpuid: the guest takes the #DB, no DEBUG_EXCEPTION event",
	      "db_delivered %lld", (long long)state_int(d, "vcpus.0.counters.db_delivered"));
	mon_close(c, &m);
	destroy(d);
}

static void sc_amd(struct check *c)
{
	uint32_t d = create("sc-amd", ZERO ",\"vendor\":\"amd\"");
	struct mon m;
	uint32_t caps = 0;
	vm_event_request_t req = { .version = 0 };
	vcpu_guest_context_any_t ctx;
	int k;
	uint64_t rips[3];

	CHECK(c, xc_monitor_get_capabilities(c->xch, d, &caps) == 0 &&
	      caps == 0x1f7b, "AMD capabilities 0x1f7b (no SINGLESTEP)", "0x%x",
	      caps);
	errno = 0;
	CHECK(c, xc_monitor_singlestep(c->xch, d, 1) == -1 &&
	      errno == EOPNOTSUPP, "xc_monitor_singlestep: EOPNOTSUPP",
	      "errno %d", errno);
	errno = 0;
	CHECK(c, xc_domain_debug_control(c->xch, d,
					 XEN_DOMCTL_DEBUG_OP_SINGLE_STEP_ON, 0) == -1 &&
	      errno == EOPNOTSUPP, "debug_control SINGLE_STEP_ON: EOPNOTSUPP",
	      "errno %d", errno);
	errno = 0;
	CHECK(c, xc_set_mem_access(c->xch, d, XENMEM_access_rx, 2, 1) == -1 &&
	      errno == EINVAL, "mem_access: EINVAL", "errno %d", errno);
	errno = 0;
	CHECK(c, xc_altp2m_set_domain_state(c->xch, d, 1) == -1 &&
	      errno == EOPNOTSUPP, "altp2m: EOPNOTSUPP", "errno %d", errno);
	/* Stepping with EFLAGS.TF and debug-exception events. */
	mon_open(c, &m, d);
	CHECK(c, xc_monitor_debug_exceptions(c->xch, d, 1, 1) == 0,
	      "debug exceptions, synchronous", NULL);
	workload(d, 0, "{\"rip\":\"0x1000\",\"len\":2},{\"op\":\"pushf\",\"rip\":\"0x1002\",\"len\":1},"
		       "{\"rip\":\"0x1003\",\"len\":4},{\"op\":\"halt\"}");
	xc_domain_pause(c->xch, d);
	xc_vcpu_getcontext(c->xch, d, 0, &ctx);
	ctx.x64.user_regs.rflags |= 0x100;
	CHECK(c, xc_vcpu_setcontext(c->xch, d, 0, &ctx) == 0, "TF set", NULL);
	start(d, 0, -1);
	xc_domain_unpause(c->xch, d);
	for (k = 0; k < 3; k++) {
		rips[k] = 0;
		if (!mon_get(&m, &req, WAIT_MS))
			break;
		rips[k] = req.data.regs.x86.rip;
		CHECK(c, req.reason == VM_EVENT_REASON_DEBUG_EXCEPTION &&
		      req.u.debug_exception.type == 3 &&
		      req.u.debug_exception.insn_length == 0 &&
		      (req.data.regs.x86.dr6 & (1u << 14)),
		      "a DEBUG_EXCEPTION (hardware #DB, DR6.BS) per instruction",
		      "reason %u type %u dr6 0x%" PRIx64, req.reason,
		      req.u.debug_exception.type, req.data.regs.x86.dr6);
		if (k == 2) {
			vm_event_response_t rsp;

			memset(&rsp, 0, sizeof(rsp));
			rsp.version = VM_EVENT_INTERFACE_VERSION;
			rsp.vcpu_id = req.vcpu_id;
			rsp.reason = req.reason;
			rsp.flags = VM_EVENT_FLAG_VCPU_PAUSED |
				    VM_EVENT_FLAG_SET_REGISTERS;
			rsp.data.regs.x86 = req.data.regs.x86;
			rsp.data.regs.x86.rflags &= ~0x100ull;
			mon_put(&m, &rsp);
		} else {
			answer(&m, &req, 0);
		}
	}
	CHECK(c, rips[0] == 0x1002 && rips[1] == 0x1003 && rips[2] == 0x1007,
	      "events at consecutive RIPs", "0x%" PRIx64 " 0x%" PRIx64 " 0x%" PRIx64,
	      rips[0], rips[1], rips[2]);
	CHECK(c, wait_str(d, "vcpus.0.state", "halted") &&
	      state_int(d, "vcpus.0.counters.db_delivered") == 0,
	      "synchronous events: the guest never sees the #DB", NULL);
	{
		uint64_t rsp0 = (uint64_t)state_int(d, "vcpus.0.regs.rsp");

		CHECK(c, (peek64(d, rsp0) & 0x100) != 0,
		      "pushf stored RFLAGS with TF (hiding it is the debugger's job)",
		      NULL);
	}
	mon_close(c, &m);
	destroy(d);
}

static void sc_altp2m(struct check *c)
{
	uint32_t d = create("sc-altp2m", ZERO ",\"altp2m\":\"external\",\"vcpus\":2");
	uint32_t d2 = create("sc-altp2m-off", ZERO);
	struct mon m;
	uint16_t view = 0, idx = 9;
	vm_event_request_t req = { .version = 0 };
	bool st = true;

	errno = 0;
	CHECK(c, xc_altp2m_set_domain_state(c->xch, d2, 1) == -1 && errno == EINVAL,
	      "altp2m disabled at creation: EINVAL", "errno %d", errno);
	errno = 0;
	CHECK(c, xc_altp2m_create_view(c->xch, d2, XENMEM_access_rwx, &view) == -1 &&
	      errno == EOPNOTSUPP, "views while altp2m is off: EOPNOTSUPP",
	      "errno %d", errno);
	destroy(d2);
	mon_open(c, &m, d);
	CHECK(c, xc_altp2m_get_domain_state(c->xch, d, &st) == 0 && !st,
	      "altp2m starts off", NULL);
	CHECK(c, xc_altp2m_set_domain_state(c->xch, d, 1) == 0 &&
	      xc_altp2m_create_view(c->xch, d, XENMEM_access_rwx, &view) == 0 &&
	      view == 1, "view 1 created", "view %u", view);
	CHECK(c, xc_altp2m_set_mem_access(c->xch, d, view, 2, XENMEM_access_rx) == 0 &&
	      xc_altp2m_switch_to_view(c->xch, d, view) == 0 &&
	      xc_altp2m_get_vcpu_p2m_idx(c->xch, d, 1, &idx) == 0 && idx == 1,
	      "gfn 2 rx in view 1, every vCPU switched to it", "idx %u", idx);
	errno = 0;
	CHECK(c, xc_altp2m_destroy_view(c->xch, d, view) == -1 && errno == EBUSY,
	      "destroying the active view: EBUSY", "errno %d", errno);
	errno = 0;
	CHECK(c, xc_altp2m_destroy_view(c->xch, d, 0) == -1 && errno == EBUSY,
	      "destroying view 0: EBUSY", NULL);
	xc_monitor_singlestep(c->xch, d, 1);
	workload(d, 0, "{\"rip\":\"0x1000\",\"len\":3,\"access\":\"write\",\"va\":\"0x2000\",\"value\":\"0x99\"},"
		       "{\"rip\":\"0x1003\",\"len\":1},{\"op\":\"halt\"}");
	start(d, 0, -1);
	CHECK(c, mon_get(&m, &req, WAIT_MS) &&
	      req.reason == VM_EVENT_REASON_MEM_ACCESS &&
	      (req.flags & VM_EVENT_FLAG_ALTERNATE_P2M) && req.altp2m_idx == 1,
	      "the event names the view", "flags 0x%x idx %u", req.flags,
	      req.altp2m_idx);
	/* xen-access's pattern: step in view 0, then back to view 1. */
	answer(&m, &req, VM_EVENT_FLAG_ALTERNATE_P2M |
			 VM_EVENT_FLAG_TOGGLE_SINGLESTEP);
	CHECK(c, mon_get(&m, &req, WAIT_MS) &&
	      req.reason == VM_EVENT_REASON_SINGLESTEP && req.altp2m_idx == 0 &&
	      peek64(d, 0x2000) == 0x99,
	      "the write done in view 0, single-step event after it",
	      "reason %u idx %u", req.reason, req.altp2m_idx);
	{
		vm_event_response_t rsp;

		memset(&rsp, 0, sizeof(rsp));
		rsp.version = VM_EVENT_INTERFACE_VERSION;
		rsp.vcpu_id = req.vcpu_id;
		rsp.reason = req.reason;
		rsp.flags = VM_EVENT_FLAG_VCPU_PAUSED |
			    VM_EVENT_FLAG_ALTERNATE_P2M |
			    VM_EVENT_FLAG_TOGGLE_SINGLESTEP;
		rsp.altp2m_idx = view;
		mon_put(&m, &rsp);
	}
	CHECK(c, wait_str(d, "vcpus.0.state", "halted") &&
	      state_int(d, "vcpus.0.altp2m_view") == 1 &&
	      state_int(d, "vcpus.1.altp2m_view") == 1,
	      "the vCPU is back in view 1, the other never left it", NULL);
	CHECK(c, xc_altp2m_switch_to_view(c->xch, d, 0) == 0 &&
	      xc_altp2m_destroy_view(c->xch, d, view) == 0 &&
	      xc_altp2m_set_domain_state(c->xch, d, 0) == 0,
	      "switch to view 0, destroy view 1, altp2m off", NULL);
	mon_close(c, &m);
	destroy(d);
}

static void sc_gpt(struct check *c)
{
	uint32_t d = create("sc-gpt", ZERO);
	struct mon m;
	vm_event_request_t req = { .version = 0 };
	/* 16 MiB identity map: 8 PT frames, 1 PD, 1 PDPT, 1 PML4 at the top
	 * (frames 0xff5..0xfff); 0x2000 is mapped by the PTE in 0xff8. */
	uint64_t pt = 0xff8;

	mon_open(c, &m, d);
	xc_set_mem_access(c->xch, d, XENMEM_access_n, pt, 1);
	workload(d, 0, "{\"rip\":\"0x1000\",\"len\":3,\"access\":\"read\",\"va\":\"0x2000\"},{\"op\":\"halt\"}");
	start(d, 0, -1);
	CHECK(c, mon_get(&m, &req, WAIT_MS) &&
	      req.reason == VM_EVENT_REASON_MEM_ACCESS &&
	      req.u.mem_access.gfn == pt &&
	      (req.u.mem_access.flags & MEM_ACCESS_FAULT_IN_GPT) &&
	      (req.u.mem_access.flags & MEM_ACCESS_R) &&
	      req.u.mem_access.gla == 0x1000,
	      "reading a restricted page-table frame: FAULT_IN_GPT",
	      "gfn 0x%" PRIx64 " flags 0x%x gla 0x%" PRIx64,
	      req.u.mem_access.gfn, req.u.mem_access.flags,
	      req.u.mem_access.gla);
	CHECK(c, xc_monitor_inguest_pagefault(c->xch, d, 1) == 0,
	      "in-guest page-table faults not reported", NULL);
	answer(&m, &req, 0);
	CHECK(c, wait_str(d, "vcpus.0.state", "halted") &&
	      state_int(d, "vcpus.0.counters.events") == 1 &&
	      state_int(d, "vcpus.0.counters.reads") == 1,
	      "then the walk is emulated without an event", NULL);
	mon_close(c, &m);
	destroy(d);
}

static void sc_debugreg(struct check *c)
{
	uint32_t d = create("sc-debugreg", ZERO ",\"vendor\":\"amd\"");
	struct mon m;
	vm_event_request_t req = { .version = 0 };
	vcpu_guest_context_any_t ctx;

	mon_open(c, &m, d);
	xc_monitor_debug_exceptions(c->xch, d, 1, 1);
	xc_domain_pause(c->xch, d);
	xc_vcpu_getcontext(c->xch, d, 0, &ctx);
	ctx.x64.debugreg[0] = 0x2008;
	/* DR7: L0, R/W0 = 01 (write), LEN0 = 11 (4 bytes) */
	ctx.x64.debugreg[7] = 0x400 | 1 | (1u << 16) | (3u << 18);
	xc_vcpu_setcontext(c->xch, d, 0, &ctx);
	workload(d, 0, "{\"rip\":\"0x1000\",\"len\":3,\"access\":\"write\",\"va\":\"0x2000\",\"size\":4},"
		       "{\"rip\":\"0x1003\",\"len\":3,\"access\":\"write\",\"va\":\"0x2008\",\"size\":4},"
		       "{\"op\":\"halt\"}");
	start(d, 0, -1);
	xc_domain_unpause(c->xch, d);
	CHECK(c, mon_get(&m, &req, WAIT_MS) &&
	      req.reason == VM_EVENT_REASON_DEBUG_EXCEPTION &&
	      req.data.regs.x86.rip == 0x1006 && (req.data.regs.x86.dr6 & 1),
	      "a write matching DR0 gives #DB after it, DR6.B0",
	      "rip 0x%" PRIx64 " dr6 0x%" PRIx64, req.data.regs.x86.rip,
	      req.data.regs.x86.dr6);
	answer(&m, &req, 0);
	mon_close(c, &m);
	destroy(d);
}

static void sc_evtchn(struct check *c)
{
	xenevtchn_handle *x = xenevtchn_open(NULL, 0);

	(void)c;
	errno = 0;
	CHECK(c, x && xenevtchn_notify(x, 12345) == -1 && errno == ENOTCONN,
	      "notifying a port this handle does not own: ENOTCONN", "errno %d",
	      errno);
	errno = 0;
	CHECK(c, x && xenevtchn_bind_interdomain(x, 200, 1) == -1 &&
	      errno == ESRCH, "binding to an unknown domain: ESRCH", "errno %d",
	      errno);
	if (x)
		xenevtchn_close(x);
}

/* Asynchronous events: the vCPU goes on, until the ring is about to fill
 * and vm_event_mark_and_pause stops it; answers wake it again. */
static void sc_async(struct check *c)
{
	uint32_t d = create("sc-async", ZERO ",\"vendor\":\"amd\"");
	struct mon m;
	vm_event_request_t req = { .version = 0 };
	vcpu_guest_context_any_t ctx;
	char buf[64];
	int k;

	mon_open(c, &m, d);
	CHECK(c, xc_monitor_debug_exceptions(c->xch, d, 1, 0) == 0,
	      "asynchronous debug exceptions", NULL);
	xc_domain_pause(c->xch, d);
	xc_vcpu_getcontext(c->xch, d, 0, &ctx);
	ctx.x64.debugreg[0] = 0x2000;
	ctx.x64.debugreg[7] = 0x400 | 1 | (1u << 16) | (3u << 18);
	xc_vcpu_setcontext(c->xch, d, 0, &ctx);
	workload(d, 0, "{\"rip\":\"0x1000\",\"len\":3,\"access\":\"write\",\"va\":\"0x2000\",\"size\":4},"
		       "{\"op\":\"loop\"}");
	start(d, 0, -1);
	xc_domain_unpause(c->xch, d);
	CHECK(c, wait_str(d, "vcpus.0.state", "ring-blocked") &&
	      state_int(d, "ring.outstanding") == 8 &&
	      state_int(d, "vcpus.0.counters.db_delivered") == 8 &&
	      state_int(d, "vcpus.0.vm_event_pause") == 0,
	      "eight async events, each #DB also taken by the guest, then the vCPU is paused",
	      "state %s", state_str(d, "vcpus.0.state", buf, sizeof(buf)));
	for (k = 0; k < 8 && mon_get(&m, &req, WAIT_MS); k++)
		CHECK(c, !(req.flags & VM_EVENT_FLAG_VCPU_PAUSED) &&
		      req.reason == VM_EVENT_REASON_DEBUG_EXCEPTION,
		      "an asynchronous request does not hold the vCPU", NULL);
	answer(&m, &req, 0);
	CHECK(c, wait_int(d, "ring.posted", 9) &&
	      wait_str(d, "vcpus.0.state", "ring-blocked"),
	      "one answer frees a slot: woken, one more event, paused again",
	      NULL);
	ctl_ok("{\"cmd\":\"stop\",\"dom\":%u}", d);
	mon_close(c, &m);
	CHECK(c, !strcmp(state_str(d, "vcpus.0.state", buf, sizeof(buf)), "stopped"),
	      "disabling the ring unblocks it (vm_event_disable)", "%s", buf);
	destroy(d);
}

/* CPUID, control-register writes and guest requests. */
static void sc_events(struct check *c)
{
	uint32_t d = create("sc-events", ZERO);
	struct mon m;
	vm_event_request_t req = { .version = 0 };

	mon_open(c, &m, d);
	CHECK(c, xc_monitor_cpuid(c->xch, d, 1) == 0 &&
	      xc_monitor_write_ctrlreg(c->xch, d, VM_EVENT_X86_CR4, 1, 1, 0x80, 1) == 0 &&
	      xc_monitor_guest_request(c->xch, d, 1, 0, 0) == 0,
	      "cpuid, CR4 writes (PGE masked) and guest requests monitored", NULL);
	workload(d, 0, "{\"op\":\"set_reg\",\"rip\":\"0x1000\",\"len\":5,\"reg\":\"rax\",\"value\":7},"
		       "{\"op\":\"cpuid\",\"rip\":\"0x1005\"},"
		       "{\"op\":\"write_cr\",\"rip\":\"0x1007\",\"cr\":4,\"value\":\"0x620\"},"
		       "{\"op\":\"write_cr\",\"rip\":\"0x100a\",\"cr\":4,\"value\":\"0x630\"},"
		       "{\"op\":\"vmcall\",\"rip\":\"0x100d\"},{\"op\":\"halt\"}");
	start(d, 0, -1);
	CHECK(c, mon_get(&m, &req, WAIT_MS) && req.reason == VM_EVENT_REASON_CPUID &&
	      req.u.cpuid.leaf == 7 && req.u.cpuid.insn_length == 2 &&
	      req.data.regs.x86.rip == 0x1005,
	      "CPUID event with the leaf, synchronous", "reason %u", req.reason);
	{
		vm_event_response_t rsp;

		/* xen-access completes it: registers set, RIP past it. */
		memset(&rsp, 0, sizeof(rsp));
		rsp.version = VM_EVENT_INTERFACE_VERSION;
		rsp.vcpu_id = req.vcpu_id;
		rsp.reason = req.reason;
		rsp.flags = VM_EVENT_FLAG_VCPU_PAUSED | VM_EVENT_FLAG_SET_REGISTERS;
		rsp.data = req.data;
		rsp.data.regs.x86.rip += req.u.cpuid.insn_length;
		rsp.data.regs.x86.rbx = 0xb0b;
		mon_put(&m, &rsp);
	}
	CHECK(c, mon_get(&m, &req, WAIT_MS) &&
	      req.reason == VM_EVENT_REASON_WRITE_CTRLREG &&
	      req.u.write_ctrlreg.index == VM_EVENT_X86_CR4 &&
	      req.u.write_ctrlreg.old_value == 0x620 &&
	      req.u.write_ctrlreg.new_value == 0x630 &&
	      req.data.regs.x86.rip == 0x100a,
	      "a CR4 write flipping only PGE (masked) is silent; the next one is reported",
	      "reason %u", req.reason);
	answer(&m, &req, 0);
	CHECK(c, mon_get(&m, &req, WAIT_MS) &&
	      req.reason == VM_EVENT_REASON_GUEST_REQUEST &&
	      !(req.flags & VM_EVENT_FLAG_VCPU_PAUSED),
	      "the guest request, asynchronous",
	      "reason %u", req.reason);
	CHECK(c, wait_str(d, "vcpus.0.state", "halted") &&
	      state_int(d, "vcpus.0.regs.rbx") == 0xb0b &&
	      state_int(d, "vcpus.0.regs.cr4") == 0x630 &&
	      state_int(d, "vcpus.0.counters.steps") == 5,
	      "the monitor's registers were applied and the workload went on",
	      NULL);
	mon_close(c, &m);
	destroy(d);
}

/* Calls xensim does not model fail with ENOSYS and say so on stderr. */
static void sc_unmodelled(struct check *c)
{
	uint32_t d = create("sc-unmodelled", ZERO);
	uint64_t v;

	errno = 0;
	CHECK(c, xc_domain_setmaxmem(c->xch, d, 1024) == -1 && errno == ENOSYS,
	      "a libxenctrl call xensim does not model: -1, ENOSYS", "errno %d",
	      errno);
	errno = 0;
	CHECK(c, xc_hvm_param_get(c->xch, d, HVM_PARAM_CALLBACK_IRQ, &v) == -1 &&
	      errno == ENOSYS, "an HVM parameter xensim does not model: ENOSYS",
	      "errno %d", errno);
	destroy(d);
}

/* Sets vCPU 0's rbx in the domain's HVM context and loads it. */
static bool load_rbx(struct check *c, uint32_t d, uint64_t rbx)
{
	int size = xc_domain_hvm_getcontext(c->xch, d, NULL, 0);
	uint8_t *buf = malloc(size > 0 ? (size_t)size : 1);
	struct hvm_save_descriptor *desc;
	int len = buf ? xc_domain_hvm_getcontext(c->xch, d, buf, (uint32_t)size) : -1;
	size_t off;
	bool ok;

	for (off = 0; len > 0 && off + sizeof(*desc) <= (size_t)len;
	     off += sizeof(*desc) + desc->length) {
		desc = (struct hvm_save_descriptor *)(buf + off);
		if (desc->typecode == HVM_SAVE_CODE(CPU) && desc->instance == 0)
			((struct hvm_hw_cpu *)(desc + 1))->rbx = rbx;
		if (desc->typecode == 0)
			break;
	}
	ok = len > 0 && xc_domain_hvm_setcontext(c->xch, d, buf, (uint32_t)len) == 0;
	free(buf);
	return ok;
}

/* SET_REGISTERS: loaded when the vCPU next runs (hvm_do_resume), not when
 * the response is consumed; a context load meanwhile does not replace
 * them; disabling the ring drops them. */
static void sc_set_registers(struct check *c)
{
	uint32_t d = create("sc-setregs", ZERO);
	int64_t loads = 0;
	struct mon m;
	vm_event_request_t req = { .version = 0 };
	vm_event_response_t rsp;

	mon_open(c, &m, d);
	CHECK(c, xc_monitor_cpuid(c->xch, d, 1) == 0, "cpuid monitored", NULL);
	workload(d, 0, "{\"op\":\"cpuid\",\"rip\":\"0x1000\"},"
		       "{\"op\":\"cpuid\",\"rip\":\"0x1002\"},{\"op\":\"halt\"}");
	start(d, 0, -1);
	CHECK(c, mon_get(&m, &req, WAIT_MS) && req.reason == VM_EVENT_REASON_CPUID &&
	      req.data.regs.x86.rip == 0x1000, "CPUID event", "reason %u", req.reason);
	CHECK(c, xc_domain_pause(c->xch, d) == 0, "domain paused", NULL);
	memset(&rsp, 0, sizeof(rsp));
	rsp.version = VM_EVENT_INTERFACE_VERSION;
	rsp.vcpu_id = req.vcpu_id;
	rsp.reason = req.reason;
	rsp.flags = VM_EVENT_FLAG_VCPU_PAUSED | VM_EVENT_FLAG_SET_REGISTERS;
	rsp.data = req.data;
	rsp.data.regs.x86.rip += 2;
	rsp.data.regs.x86.rbx = 0xb0b;
	mon_put(&m, &rsp);
	CHECK(c, wait_int(d, "vcpus.0.vm_event_pause", 0) &&
	      state_int(d, "vcpus.0.set_registers_pending") == 1 &&
	      state_int(d, "vcpus.0.regs.rbx") != 0xb0b &&
	      state_int(d, "vcpus.0.regs.rip") == 0x1000,
	      "released in a paused domain: Xen still shows the old registers", NULL);
	loads = state_int(d, "hvm_loads");
	CHECK(c, load_rbx(c, d, 0x5555) && state_int(d, "vcpus.0.regs.rbx") == 0x5555 &&
	      state_int(d, "hvm_loads") == loads + 1 && state_int(d, "hvm_loads_ok") >= 1,
	      "a context load meanwhile is loaded (and counted)", NULL);
	CHECK(c, xc_domain_unpause(c->xch, d) == 0, "domain unpaused", NULL);
	CHECK(c, mon_get(&m, &req, WAIT_MS) && req.reason == VM_EVENT_REASON_CPUID &&
	      req.data.regs.x86.rip == 0x1002 && req.data.regs.x86.rbx == 0xb0b &&
	      state_int(d, "vcpus.0.set_registers_pending") == 0,
	      "once it runs the response's registers win over the loaded ones",
	      "rip 0x%" PRIx64 " rbx 0x%" PRIx64, req.data.regs.x86.rip,
	      req.data.regs.x86.rbx);
	CHECK(c, xc_domain_pause(c->xch, d) == 0, "domain paused again", NULL);
	rsp.data = req.data;
	rsp.data.regs.x86.rip += 2;
	rsp.data.regs.x86.rbx = 0xc0c;
	mon_put(&m, &rsp);
	CHECK(c, wait_int(d, "vcpus.0.vm_event_pause", 0) &&
	      state_int(d, "vcpus.0.set_registers_pending") == 1,
	      "released again, its registers pending", NULL);
	mon_close(c, &m);
	CHECK(c, state_int(d, "vcpus.0.set_registers_pending") == 0 &&
	      xc_domain_unpause(c->xch, d) == 0 &&
	      wait_str(d, "vcpus.0.state", "halted") &&
	      state_int(d, "vcpus.0.regs.rbx") == 0xb0b,
	      "disabling the ring drops them: the vCPU runs on with its own", NULL);
	destroy(d);
}

static const struct {
	const char *name;
	void (*fn)(struct check *c);
} scenarios[] = {
	{ "basics", sc_basics },
	{ "hvmctx", sc_hvmctx },
	{ "pv", sc_pv },
	{ "monitor", sc_monitor },
	{ "ring-full", sc_ring_full },
	{ "mem-access", sc_mem_access },
	{ "exec", sc_exec },
	{ "no-listener", sc_no_listener },
	{ "singlestep", sc_singlestep },
	{ "exit-step", sc_exit_step },
	{ "amd", sc_amd },
	{ "altp2m", sc_altp2m },
	{ "gpt", sc_gpt },
	{ "debugreg", sc_debugreg },
	{ "evtchn", sc_evtchn },
	{ "async", sc_async },
	{ "events", sc_events },
	{ "set-registers", sc_set_registers },
	{ "unmodelled", sc_unmodelled },
};

/* The scenario running, for the watchdog's message. */
static const char *volatile current_scenario = "startup";

static void watchdog(int sig)
{
	char msg[160];
	int n = snprintf(msg, sizeof(msg),
			 "simcheck: scenario %s made no progress for 240 s: giving up\n",
			 current_scenario);

	(void)sig;
	if (n > 0 && write(2, msg, (size_t)n) < 0)
		_exit(101);
	_exit(101);
}

int main(int argc, char **argv)
{
	struct check c = { 0 };
	size_t i;
	int k;

	signal(SIGALRM, watchdog);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!getenv(XSIM_SOCKET_ENV)) {
		fprintf(stderr, "simcheck: set %s\n", XSIM_SOCKET_ENV);
		return 100;
	}
	c.xch = xc_interface_open(NULL, NULL, 0);
	if (!c.xch) {
		fprintf(stderr, "simcheck: xc_interface_open failed\n");
		return 100;
	}
	for (i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		bool run = argc == 1;

		for (k = 1; k < argc; k++)
			run |= !strcmp(argv[k], scenarios[i].name);
		if (!run)
			continue;
		c.scenario = scenarios[i].name;
		current_scenario = scenarios[i].name;
		alarm(240);
		scenarios[i].fn(&c);
		alarm(0);
	}
	xc_interface_close(c.xch);
	printf("%d checks, %d failed\n", c.checks, c.failures);
	return c.failures > 99 ? 99 : c.failures;
}
