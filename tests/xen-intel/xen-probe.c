// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What Xen itself says of a domain after a debugger left it, for the
 * xen-test-intel checks: the mem_access permission of guest frames
 * (xc_get_mem_access, which Xen answers only while the domain has a monitor
 * ring: one is enabled for the question and disabled after), and whether
 * the monitor ring is free (a fresh xc_monitor_enable succeeds; it is
 * disabled again at once), and guest memory read through a foreign mapping
 * (whether an int3 byte was left behind).
 *
 * Usage: xen-probe access DOMID GFN...          one line per frame: "gfn 0x... rwx"
 *        xen-probe monitor DOMID               "monitor ring: free" or the error
 *        xen-probe read DOMID GFN:OFFSET:LEN... one line per range (within a frame):
 *                                              "read 0x<gfn>:0x<offset> <hex>"
 * Exit status: 0 when every call succeeded, 1 otherwise, 2 for bad usage.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <xenctrl.h>
#include <xenforeignmemory.h>

static const char *access_name(xenmem_access_t a)
{
	switch (a) {
	case XENMEM_access_n: return "n";
	case XENMEM_access_r: return "r";
	case XENMEM_access_w: return "w";
	case XENMEM_access_rw: return "rw";
	case XENMEM_access_x: return "x";
	case XENMEM_access_rx: return "rx";
	case XENMEM_access_wx: return "wx";
	case XENMEM_access_rwx: return "rwx";
	case XENMEM_access_rx2rw: return "rx2rw";
	case XENMEM_access_n2rwx: return "n2rwx";
	default: return "?";
	}
}

/* Parses a whole unsigned number (0x for hex); returns 0 or -EINVAL. */
static int parse_u64(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 0);
	if (errno || end == s || *end)
		return -EINVAL;
	return 0;
}

static int probe_access(xc_interface *xch, uint32_t domid, const uint64_t *gfns, int n)
{
	int status = 0;
	uint32_t port;
	void *ring = xc_monitor_enable(xch, domid, &port);

	if (!ring) {
		printf("monitor ring: busy or refused: %s\n", strerror(errno));
		return 1;
	}
	for (int i = 0; i < n; i++) {
		xenmem_access_t a;

		if (xc_get_mem_access(xch, domid, gfns[i], &a) < 0) {
			printf("gfn 0x%" PRIx64 " error %s\n", gfns[i], strerror(errno));
			status = 1;
			continue;
		}
		printf("gfn 0x%" PRIx64 " %s\n", gfns[i], access_name(a));
	}
	munmap(ring, XC_PAGE_SIZE);
	if (xc_monitor_disable(xch, domid) < 0) {
		printf("monitor ring: disabling it failed: %s\n", strerror(errno));
		status = 1;
	}
	return status;
}

static int probe_monitor(xc_interface *xch, uint32_t domid)
{
	uint32_t port;
	void *ring = xc_monitor_enable(xch, domid, &port);

	if (!ring) {
		printf("monitor ring: busy or refused: %s\n", strerror(errno));
		return 1;
	}
	munmap(ring, XC_PAGE_SIZE);
	if (xc_monitor_disable(xch, domid) < 0) {
		printf("monitor ring: enabled, but disabling it failed: %s\n", strerror(errno));
		return 1;
	}
	printf("monitor ring: free\n");
	return 0;
}

/* Reads one GFN:OFFSET:LEN range through a foreign mapping. */
static int probe_read(xenforeignmemory_handle *fmem, uint32_t domid, const char *spec)
{
	uint64_t gfn, offset, len;
	char *end;
	xen_pfn_t pfn;
	int err = 0;
	uint8_t *p;

	errno = 0;
	gfn = strtoull(spec, &end, 0);
	if (errno || *end != ':')
		goto bad;
	offset = strtoull(end + 1, &end, 0);
	if (errno || *end != ':')
		goto bad;
	len = strtoull(end + 1, &end, 0);
	if (errno || *end || offset >= XC_PAGE_SIZE || len == 0 || len > XC_PAGE_SIZE - offset)
		goto bad;
	pfn = (xen_pfn_t)gfn;
	p = xenforeignmemory_map(fmem, domid, PROT_READ, 1, &pfn, &err);
	if (!p || err) {
		printf("read 0x%" PRIx64 ":0x%" PRIx64 " error %s\n", gfn, offset,
		       strerror(p ? (err < 0 ? -err : err) : errno));
		if (p)
			xenforeignmemory_unmap(fmem, p, 1);
		return 1;
	}
	printf("read 0x%" PRIx64 ":0x%" PRIx64 " ", gfn, offset);
	for (uint64_t i = 0; i < len; i++)
		printf("%02x", p[offset + i]);
	printf("\n");
	xenforeignmemory_unmap(fmem, p, 1);
	return 0;
bad:
	printf("read %s: not GFN:OFFSET:LEN within one frame\n", spec);
	return 1;
}

static int usage(void)
{
	fprintf(stderr, "usage: xen-probe access DOMID GFN...\n"
			"       xen-probe monitor DOMID\n"
			"       xen-probe read DOMID GFN:OFFSET:LEN...\n");
	return 2;
}

int main(int argc, char **argv)
{
	uint64_t domid, gfns[256];
	xenforeignmemory_handle *fmem;
	xc_interface *xch;
	int status = 0, n;

	if (argc < 3 || parse_u64(argv[2], &domid) < 0 || domid > UINT32_MAX)
		return usage();
	if (strcmp(argv[1], "read") == 0) {
		if (argc < 4)
			return usage();
		fmem = xenforeignmemory_open(NULL, 0);
		if (!fmem) {
			fprintf(stderr, "xen-probe: opening libxenforeignmemory: %s\n", strerror(errno));
			return 1;
		}
		for (int i = 3; i < argc; i++)
			status |= probe_read(fmem, (uint32_t)domid, argv[i]);
		xenforeignmemory_close(fmem);
		return status;
	}
	if (strcmp(argv[1], "access") == 0) {
		n = argc - 3;
		if (n < 1 || n > (int)(sizeof(gfns) / sizeof(gfns[0])))
			return usage();
		for (int i = 0; i < n; i++)
			if (parse_u64(argv[3 + i], &gfns[i]) < 0)
				return usage();
	} else if (strcmp(argv[1], "monitor") != 0 || argc != 3) {
		return usage();
	}
	xch = xc_interface_open(NULL, NULL, 0);
	if (!xch) {
		fprintf(stderr, "xen-probe: opening libxenctrl: %s\n", strerror(errno));
		return 1;
	}
	if (strcmp(argv[1], "access") == 0)
		status = probe_access(xch, (uint32_t)domid, gfns, argc - 3);
	else
		status = probe_monitor(xch, (uint32_t)domid);
	xc_interface_close(xch);
	return status;
}
