# SPDX-License-Identifier: LGPL-2.1-or-later
# `make xen-test-intel`: boots Debian's Xen 4.17 under Bochs (an emulated
# Intel CPU with VMX, EPT and MTF) and drives xenstub in dom0 from gdb on
# this host, over emulated serial ports (see tests/xen-intel/README.md).
# Bochs is built once into .cache/xen-intel (make distclean removes it);
# Xen, the kernel and dom0's tools come from make xen-test-prepare's cache.
XEN_INTEL_CACHE ?= .cache/xen-intel
# Bochs master (commit 783b58fd6 of bochs-emu/Bochs, without its OVMF blobs),
# beside the checkout as the e2e fixtures are
XEN_INTEL_BOCHS_TARBALL ?= ../shared/xen-on-intel/bochs-783b58fd6.tar.xz
# XEN_INTEL_ONLY=watch,hold runs only those checks (see README.md)
XEN_INTEL_ONLY ?=

XEN_INTEL_OUT := $(O)/tests/xen-intel
EXTRA_TARGETS += $(XEN_INTEL_OUT)/xen-probe

$(XEN_INTEL_OUT)/xen-probe: $(O)/tests/xen-intel/xen-probe.o
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $< -lxenctrl -lxenforeignmemory

.PHONY: xen-test-intel xen-test-intel-prepare

xen-test-intel-prepare: xen-test-prepare all
	bash tests/xen-intel/prepare.sh --build $(O) --qemu-cache $(XEN_QEMU_CACHE) \
		--cache $(XEN_INTEL_CACHE) --out $(O)/xen-intel \
		--bochs-tarball $(XEN_INTEL_BOCHS_TARBALL)

xen-test-intel: xen-test-intel-prepare
	$(PYTHON) tests/xen-intel/run.py --out $(O)/xen-intel --build $(O) \
		--cache $(XEN_INTEL_CACHE) \
		$(if $(XEN_INTEL_ONLY),--only $(XEN_INTEL_ONLY))
