// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * xensimd: the simulated Xen 4.17 hypervisor used by the tests. One
 * single-threaded epoll loop owns all state: it serves the stand-in Xen
 * libraries and the control command over a unix socket, and runs the
 * vCPUs' workloads from a timer. One thread means every request sees the
 * simulated machine between two instructions, as a hypercall does.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include "stub/base/log.h"
#include "tests/xensim/simd.h"

/* Tags for epoll: the three fixed descriptors, else a connection. */
static char tag_listen, tag_timer, tag_signal;

int sim_unmodelled(struct sim *s, const char *fmt, ...)
{
	va_list ap;
	struct strbuf sb = STRBUF_INIT;

	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	log_warn(LC_TARGET, "not modelled by xensim: %s", sb.buf);
	strbuf_release(&sb);
	s->not_modelled = true;
	return -ENOSYS;
}

static bool any_runnable(struct sim *s)
{
	unsigned i, k;

	for (i = 1; i < SIM_MAX_DOMAINS; i++) {
		struct sim_domain *d = s->dom[i];

		if (!d)
			continue;
		for (k = 0; k < d->nr_vcpus; k++)
			if (sim_vcpu_runnable(&d->vcpu[k]))
				return true;
	}
	return false;
}

void sim_update_timer(struct sim *s)
{
	bool want = any_runnable(s);
	struct itimerspec its = { 0 };

	if (want == s->timer_armed || s->timerfd < 0)
		return;
	if (want) {
		its.it_value.tv_sec = s->tick_us / 1000000;
		its.it_value.tv_nsec = (long)(s->tick_us % 1000000) * 1000;
		its.it_interval = its.it_value;
	}
	if (timerfd_settime(s->timerfd, 0, &its, NULL) < 0)
		log_err(LC_MAIN, "cannot %s the execution timer: %s",
			want ? "arm" : "disarm", strerror(errno));
	else
		s->timer_armed = want;
}

static void run_tick(struct sim *s)
{
	unsigned i, k, n;

	s->ticks++;
	for (i = 1; i < SIM_MAX_DOMAINS; i++) {
		struct sim_domain *d = s->dom[i];

		if (!d)
			continue;
		for (k = 0; k < d->nr_vcpus && s->dom[i] == d; k++)
			for (n = 0; n < s->steps_per_tick; n++)
				sim_vcpu_step(&d->vcpu[k]);
	}
	sim_update_timer(s);
}

/* ---- connections ---- */

static void conn_close(struct sim *s, struct sim_conn *c)
{
	struct sim_conn **pp;

	sim_evtchn_conn_closed(s, c);
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	if (c->evfd >= 0)
		close(c->evfd);
	for (pp = &s->conns; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	free(c);
}

static void accept_conn(struct sim *s)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct sim_conn *c;
	int fd = accept4(s->listenfd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR)
			log_warn(LC_MAIN, "accept failed: %s", strerror(errno));
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->sim = s;
	c->fd = fd;
	c->evfd = -1;
	ev.data.ptr = c;
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		log_warn(LC_MAIN, "cannot watch a new connection: %s",
			 strerror(errno));
		close(fd);
		free(c);
		return;
	}
	c->next = s->conns;
	s->conns = c;
}

static int32_t hello(struct sim_conn *c, uint32_t role, int *fds,
		     unsigned *nfds)
{
	int sv[2];

	if (role < XSIM_ROLE_XC || role > XSIM_ROLE_CTL)
		return -EINVAL;
	c->role = role;
	if (role != XSIM_ROLE_EVTCHN)
		return 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	c->evfd = sv[0];
	fds[(*nfds)++] = sv[1];
	return 0;
}

static void serve(struct sim *s, struct sim_conn *c)
{
	struct xsim_hdr h;
	void *body;
	int fds[XSIM_MAX_FDS], out_fds[XSIM_MAX_FDS];
	unsigned nfds, nout = 0, i;
	bool close_out = false;
	struct strbuf out = STRBUF_INIT;
	int32_t rc;
	int err;

	err = xsim_recv(c->fd, &h, &body, fds, &nfds);
	if (err) {
		if (err != -ECONNRESET)
			log_warn(LC_MAIN, "dropping a client: %s", strerror(-err));
		conn_close(s, c);
		return;
	}
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	s->not_modelled = false;
	switch (h.op) {
	case XSIM_OP_HELLO:
		rc = hello(c, h.arg, out_fds, &nout);
		close_out = true;
		break;
	case XSIM_OP_DOMCTL:
		rc = sim_do_domctl(s, c, body, h.len, &out);
		break;
	case XSIM_OP_SYSCTL:
		rc = sim_do_sysctl(s, body, h.len, &out);
		break;
	case XSIM_OP_MEMORY:
		rc = sim_do_memory_op(s, h.arg, body, h.len, &out);
		break;
	case XSIM_OP_HVM:
		rc = sim_do_hvm_op(s, h.arg, body, h.len, &out);
		break;
	case XSIM_OP_DM:
		rc = sim_do_dm_op(s, h.arg, body, h.len, &out);
		break;
	case XSIM_OP_VERSION:
		rc = sim_do_version(s, h.arg, &out);
		break;
	case XSIM_OP_MAP: {
		int memfd;

		rc = sim_do_map(s, body, h.len, &out, &memfd);
		if (!rc && memfd >= 0)
			out_fds[nout++] = memfd;
		break;
	}
	case XSIM_OP_EVTCHN: {
		struct xsim_evtchn_req r = { 0 };

		if (h.len >= sizeof(r))
			memcpy(&r, body, sizeof(r));
		rc = sim_evtchn_op(s, c, h.arg, &r);
		break;
	}
	case XSIM_OP_XS:
		if (h.arg == XSIM_XS_READ)
			rc = sim_xs_read(s, body, &out);
		else if (h.arg == XSIM_XS_DIRECTORY)
			rc = sim_xs_directory(s, body, &out);
		else
			rc = sim_unmodelled(s, "xenstore operation %u", h.arg);
		break;
	case XSIM_OP_CTL:
		sim_ctl(s, body, &out);
		rc = 0;
		break;
	default:
		rc = sim_unmodelled(s, "protocol operation %u", h.op);
		break;
	}
	free(body);
	err = xsim_send(c->fd, h.op, s->not_modelled, rc, out.buf, out.len,
			out_fds, nout);
	if (close_out)
		for (i = 0; i < nout; i++)
			close(out_fds[i]);
	strbuf_release(&out);
	if (err) {
		log_warn(LC_MAIN, "cannot answer a client: %s", strerror(-err));
		conn_close(s, c);
	}
}

/* ---- setup ---- */

static int listen_on(struct sim *s, const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &tag_listen };
	char *tmp = xstrfmt("%s.%d.tmp", path, (int)getpid());
	int fd, rc;

	if (strlen(tmp) >= sizeof(a.sun_path)) {
		log_err(LC_MAIN, "socket path %s is too long", path);
		free(tmp);
		return -ENAMETOOLONG;
	}
	strcpy(a.sun_path, tmp);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		rc = -errno;
		goto out_free;
	}
	unlink(tmp);
	/* Bound and listening under a temporary name, then renamed: the
	 * socket appears only once it accepts connections. */
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(fd, 64) < 0 || rename(tmp, path) < 0) {
		rc = -errno;
		log_err(LC_MAIN, "cannot listen on %s: %s", path, strerror(errno));
		unlink(tmp);
		close(fd);
		goto out_free;
	}
	s->listenfd = fd;
	rc = epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
out_free:
	free(tmp);
	return rc;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: xensimd --socket PATH [--tick-us N] [--steps-per-tick N] [-v|--debug]\n"
		"A simulated Xen 4.17 hypervisor for tests. Clients find it through\n"
		"XENSIM_SOCKET=PATH; the xensim command creates and inspects domains.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "tick-us", required_argument, NULL, 't' },
		{ "steps-per-tick", required_argument, NULL, 'n' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sim s = { .listenfd = -1, .timerfd = -1, .sigfd = -1,
			 .next_domid = 1, .tick_us = 1000, .steps_per_tick = 1 };
	struct epoll_event ev;
	sigset_t mask;
	const char *path = NULL;
	unsigned i;
	int opt, rc = 1;

	log_set_prefix("xensimd");
	while ((opt = getopt_long(argc, argv, "s:vdh", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			path = optarg;
			break;
		case 't':
			s.tick_us = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'n':
			s.steps_per_tick = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'v':
			log_set_level(LOG_INFO);
			break;
		case 'd':
			log_set_level(LOG_DEBUG);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!path || optind != argc || !s.tick_us || !s.steps_per_tick ||
	    s.tick_us > 1000000 || s.steps_per_tick > 100000) {
		usage(stderr);
		return 2;
	}
	s.socket_path = xstrdup(path);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	s.epfd = epoll_create1(EPOLL_CLOEXEC);
	s.sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	/* Non-blocking: a request served earlier in the same batch of
	 * events may have disarmed the timer, which discards the expiry
	 * epoll reported; a blocking read would then wait forever. */
	s.timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (s.epfd < 0 || s.sigfd < 0 || s.timerfd < 0) {
		log_err(LC_MAIN, "cannot set up the event loop: %s",
			strerror(errno));
		goto out;
	}
	ev.events = EPOLLIN;
	ev.data.ptr = &tag_signal;
	epoll_ctl(s.epfd, EPOLL_CTL_ADD, s.sigfd, &ev);
	ev.data.ptr = &tag_timer;
	epoll_ctl(s.epfd, EPOLL_CTL_ADD, s.timerfd, &ev);
	if (listen_on(&s, path))
		goto out;
	log_info(LC_MAIN, "listening on %s", path);

	while (!s.quit) {
		struct epoll_event evs[32];
		int n = epoll_wait(s.epfd, evs, 32, -1), k;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_err(LC_MAIN, "epoll_wait failed: %s", strerror(errno));
			goto out;
		}
		for (k = 0; k < n && !s.quit; k++) {
			void *p = evs[k].data.ptr;

			if (p == &tag_listen) {
				accept_conn(&s);
			} else if (p == &tag_signal) {
				struct signalfd_siginfo si;

				if (read(s.sigfd, &si, sizeof(si)) > 0)
					s.quit = true;
			} else if (p == &tag_timer) {
				uint64_t expirations;

				if (read(s.timerfd, &expirations,
					 sizeof(expirations)) > 0)
					run_tick(&s);
			} else {
				struct sim_conn *c;

				/* The connection may have been closed by an
				 * earlier event of this batch. */
				for (c = s.conns; c && c != p; c = c->next)
					;
				if (c)
					serve(&s, c);
			}
		}
	}
	rc = 0;
out:
	while (s.conns)
		conn_close(&s, s.conns);
	for (i = 1; i < SIM_MAX_DOMAINS; i++)
		if (s.dom[i])
			sim_domain_destroy(&s, s.dom[i]);
	if (s.listenfd >= 0) {
		close(s.listenfd);
		unlink(path);
	}
	if (s.timerfd >= 0)
		close(s.timerfd);
	if (s.sigfd >= 0)
		close(s.sigfd);
	if (s.epfd >= 0)
		close(s.epfd);
	free(s.lports);
	free(s.socket_path);
	return rc;
}
