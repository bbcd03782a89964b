// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The smallest breakpoint listener worth measuring: the peer of xenstub in
 * the breakpoint-condition benchmark (bench_agent_conditions.py). With the
 * guest's software breakpoint events on, it answers each one at once by
 * having Xen emulate the instruction the int3 stands for (given in hex),
 * as xenstub does for a hit whose condition is false, through the same
 * libxenctrl and libxenevtchn calls. The int3 itself is the caller's.
 * Usage: min-int3-listener DOMID INSN_HEX; runs until SIGINT or SIGTERM,
 * then leaves the domain's monitor as found and prints
 * "events N seconds S".
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <xenctrl.h>
#include <xenevtchn.h>
#include <xen/io/ring.h>
#include <xen/vm_event.h>

struct listener {
	xc_interface *xch;
	xenevtchn_handle *xce;
	uint32_t domid;
	uint8_t insn[16];
	unsigned insn_len;
	void *ring_page;
	vm_event_back_ring_t back;
	uint32_t remote_port;
	int local_port;
	bool swbp_on;
	uint64_t events;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Answers every request on the ring; returns how many. */
static unsigned answer_all(struct listener *l)
{
	unsigned n = 0;

	while (RING_HAS_UNCONSUMED_REQUESTS(&l->back)) {
		vm_event_request_t req;
		vm_event_response_t rsp;
		RING_IDX rc = l->back.req_cons;

		memcpy(&req, RING_GET_REQUEST(&l->back, rc), sizeof(req));
		l->back.req_cons = ++rc;
		l->back.sring->req_event = rc + 1;
		memset(&rsp, 0, sizeof(rsp));
		rsp.version = VM_EVENT_INTERFACE_VERSION;
		rsp.vcpu_id = req.vcpu_id;
		rsp.reason = req.reason;
		rsp.u = req.u;
		rsp.flags = req.flags & VM_EVENT_FLAG_VCPU_PAUSED;
		if (req.reason == VM_EVENT_REASON_SOFTWARE_BREAKPOINT) {
			rsp.flags |= VM_EVENT_FLAG_EMULATE | VM_EVENT_FLAG_SET_EMUL_INSN_DATA;
			memcpy(rsp.data.emul.insn.data, l->insn, l->insn_len);
			l->events++;
		}
		memcpy(RING_GET_RESPONSE(&l->back, l->back.rsp_prod_pvt), &rsp, sizeof(rsp));
		l->back.rsp_prod_pvt++;
		n++;
	}
	if (n) {
		RING_PUSH_RESPONSES(&l->back);
		xenevtchn_notify(l->xce, (evtchn_port_t)l->local_port);
	}
	return n;
}

static int setup(struct listener *l)
{
	l->ring_page = xc_monitor_enable(l->xch, l->domid, &l->remote_port);
	if (!l->ring_page) {
		fprintf(stderr, "min-int3-listener: enabling the monitor ring of domain %u: %s\n",
			l->domid, strerror(errno));
		return -1;
	}
	l->xce = xenevtchn_open(NULL, 0);
	if (!l->xce) {
		fprintf(stderr, "min-int3-listener: opening the event channel device: %s\n",
			strerror(errno));
		return -1;
	}
	l->local_port = xenevtchn_bind_interdomain(l->xce, l->domid, l->remote_port);
	if (l->local_port < 0) {
		fprintf(stderr, "min-int3-listener: binding port %u: %s\n", l->remote_port,
			strerror(errno));
		return -1;
	}
	SHARED_RING_INIT((vm_event_sring_t *)l->ring_page);
	BACK_RING_INIT(&l->back, (vm_event_sring_t *)l->ring_page, XC_PAGE_SIZE);
	if (xc_monitor_software_breakpoint(l->xch, l->domid, true) < 0) {
		fprintf(stderr, "min-int3-listener: software breakpoint events: %s\n",
			strerror(errno));
		return -1;
	}
	l->swbp_on = true;
	return 0;
}

/* Pause, drain the ring, events off, disable the ring, unbind, unpause.
 * Every step is tried. */
static void teardown(struct listener *l)
{
	bool paused = l->ring_page && xc_domain_pause(l->xch, l->domid) == 0;

	if (l->ring_page && l->xce && l->local_port >= 0)
		answer_all(l);
	if (l->swbp_on && xc_monitor_software_breakpoint(l->xch, l->domid, false) < 0)
		fprintf(stderr, "min-int3-listener: software breakpoint events stay on: %s\n",
			strerror(errno));
	if (l->ring_page && xc_monitor_disable(l->xch, l->domid) < 0)
		fprintf(stderr, "min-int3-listener: disabling the ring: %s\n", strerror(errno));
	if (l->xce) {
		if (l->local_port >= 0)
			xenevtchn_unbind(l->xce, (evtchn_port_t)l->local_port);
		xenevtchn_close(l->xce);
	}
	if (l->ring_page)
		munmap(l->ring_page, XC_PAGE_SIZE);
	if (paused)
		xc_domain_unpause(l->xch, l->domid);
}

static int parse_insn(struct listener *l, const char *hex)
{
	size_t n = strlen(hex), i;

	if (!n || n % 2 || n / 2 > sizeof(l->insn))
		return -1;
	for (i = 0; i < n / 2; i++) {
		unsigned b;

		if (sscanf(hex + 2 * i, "%2x", &b) != 1)
			return -1;
		l->insn[i] = (uint8_t)b;
	}
	l->insn_len = (unsigned)(n / 2);
	return 0;
}

int main(int argc, char **argv)
{
	struct listener l;
	sigset_t mask;
	int sfd, status = 1;
	double t0;

	memset(&l, 0, sizeof(l));
	l.local_port = -1;
	if (argc != 3 || parse_insn(&l, argv[2]) < 0) {
		fprintf(stderr, "usage: min-int3-listener DOMID INSN_HEX (1 to 16 bytes)\n");
		return 2;
	}
	l.domid = (uint32_t)strtoul(argv[1], NULL, 0);
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	l.xch = xc_interface_open(NULL, NULL, 0);
	if (sfd < 0 || !l.xch) {
		fprintf(stderr, "min-int3-listener: %s\n", strerror(errno));
		return 1;
	}
	t0 = now();
	if (setup(&l) < 0)
		goto out_teardown;
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		struct pollfd pfd[2] = { { xenevtchn_fd(l.xce), POLLIN, 0 },
					 { sfd, POLLIN, 0 } };

		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents & POLLIN) {
			status = 0;
			break;
		}
		if (pfd[0].revents & POLLIN) {
			xenevtchn_port_or_error_t port = xenevtchn_pending(l.xce);

			if (port >= 0)
				xenevtchn_unmask(l.xce, (evtchn_port_t)port);
		}
		answer_all(&l);
	}
out_teardown:
	teardown(&l);
	printf("events %" PRIu64 " seconds %.3f\n", l.events, now() - t0);
	xc_interface_close(l.xch);
	close(sfd);
	return status;
}
