// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * An example of libxenstub: opens a guest (a memory dump, or a live Xen
 * domain in dom0), lists its threads (vCPUs, then the OS's tasks) and
 * prints LEN bytes at virtual address ADDR as the first vCPU sees them.
 *
 *   cc -o xenstub-threads xenstub-threads.c \
 *	$(pkg-config --cflags --libs xenstub)
 *   xenstub-threads core:guest.elf [ADDR LEN]
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenstub.h>

/* Prints the thread list, one "TID VCPU NAME" line each. */
static void list_threads(struct session *s)
{
	size_t i, n = session_thread_count(s);

	printf("version %s, %u vCPUs, %zu threads\n", XENSTUB_VERSION,
	       session_vcpu_count(s), n);
	for (i = 0; i < n; i++) {
		const struct thread_info *ti = session_thread_at(s, i);

		printf("thread %" PRIu64 " vcpu %d %s\n", ti->tid, ti->vcpu,
		       ti->name);
	}
}

/* Prints len bytes at addr in the first vCPU's address space as hex.
 * 0, or -errno with what was read before the failure printed. */
static int dump_memory(struct session *s, uint64_t addr, size_t len)
{
	unsigned char *buf = malloc(len ? len : 1);
	size_t done = 0, i;
	int rc;

	if (!buf)
		return -ENOMEM;
	rc = session_read_mem(s, session_thread_at(s, 0)->tid, addr, buf, len,
			      &done);
	if (rc == 0)
		done = len;
	printf("memory 0x%" PRIx64 ":", addr);
	for (i = 0; i < done; i++)
		printf("%02x", buf[i]);
	printf("\n");
	free(buf);
	return rc;
}

int main(int argc, char **argv)
{
	struct target_params tp = { .paging = -1 };
	struct session_opts so = { .os = "auto" };
	struct target *t;
	struct session *s;
	char *msg = NULL, *end;
	uint64_t addr = 0;
	size_t len = 0;
	int rc;

	if (argc != 2 && argc != 4) {
		fprintf(stderr, "usage: %s TARGET [ADDR LEN]\n", argv[0]);
		return 2;
	}
	if (argc == 4) {
		errno = 0;
		addr = strtoull(argv[2], &end, 0);
		if (errno || *end) {
			fprintf(stderr, "%s: bad address '%s'\n", argv[0], argv[2]);
			return 2;
		}
		len = strtoul(argv[3], &end, 0);
		if (errno || *end || len > 1 << 20) {
			fprintf(stderr, "%s: bad length '%s'\n", argv[0], argv[3]);
			return 2;
		}
	}
	rc = target_open(argv[1], &tp, &t, &msg);
	if (rc < 0) {
		fprintf(stderr, "%s: %s\n", argv[0], msg ? msg : strerror(-rc));
		free(msg);
		return 1;
	}
	rc = session_open(t, &so, &s, &msg);
	if (rc < 0) {
		fprintf(stderr, "%s: %s\n", argv[0], msg ? msg : strerror(-rc));
		free(msg);
		target_close(t);
		return 1;
	}
	list_threads(s);
	if (argc == 4) {
		rc = dump_memory(s, addr, len);
		if (rc < 0)
			fprintf(stderr, "%s: reading 0x%" PRIx64 ": %s\n",
				argv[0], addr, strerror(-rc));
	}
	/* leaves a live guest as it was found */
	session_close(s);
	return rc < 0 ? 1 : 0;
}
