# SPDX-License-Identifier: LGPL-2.1-or-later
# `make xen-test`: boots Debian's Xen 4.17 under QEMU software emulation and
# runs gdb + xenstub inside dom0 against a PVH and a PV guest (see
# tests/xen-qemu/README.md). Downloads and dom0's root are cached in
# .cache/xen-qemu (make distclean removes it); boot files go to $(O)/xen-qemu.
XEN_QEMU_CACHE ?= .cache/xen-qemu

.PHONY: xen-test xen-test-prepare

xen-test-prepare: $(O)/xenstub
	bash tests/xen-qemu/prepare.sh --build $(O) --cache $(XEN_QEMU_CACHE) \
		--out $(O)/xen-qemu

# XEN_TEST_ONLY=pv,step runs only those guests or checks (see README.md);
# XEN_TEST_CONTROL=1 does the same without xenstub (the guests are watched);
# XEN_TEST_REPEAT=N runs the checks N times on the same guests
XEN_TEST_ONLY ?=
XEN_TEST_CONTROL ?=
XEN_TEST_REPEAT ?=

xen-test: xen-test-prepare
	$(PYTHON) tests/xen-qemu/run.py --out $(O)/xen-qemu \
		$(if $(XEN_TEST_ONLY),--only $(XEN_TEST_ONLY)) \
		$(if $(XEN_TEST_CONTROL),--control) \
		$(if $(XEN_TEST_REPEAT),--repeat $(XEN_TEST_REPEAT))
