# SPDX-License-Identifier: LGPL-2.1-or-later
# xensim: the simulated Xen 4.17 (daemon, stand-in Xen client libraries with
# Debian's sonames and symbol versions, control command, test client).
# Everything lands in $(O)/xensim/; `make` builds it, e2e tests use it.

XSIM_DIR := tests/xensim
XSIM_OUT := $(O)/xensim

# xensim shares no logic with the xenstub it tests: its programs link only
# these base utilities (logging, buffers and checked allocation), never
# libxenstub.a.
# (BASE_SRCS comes from stub/base/module.mk, read before this file)
XSIM_BASE_SRCS := $(BASE_SRCS)
XSIM_BASE_OBJS := $(XSIM_BASE_SRCS:%.c=$(O)/%.o)

XSIM_DAEMON_SRCS := $(XSIM_DIR)/simd-main.c $(XSIM_DIR)/simd-domain.c \
	$(XSIM_DIR)/simd-hyp.c $(XSIM_DIR)/simd-hvmctx.c \
	$(XSIM_DIR)/simd-event.c $(XSIM_DIR)/simd-access.c \
	$(XSIM_DIR)/simd-cpu.c $(XSIM_DIR)/simd-insn.c $(XSIM_DIR)/simd-walk.c \
	$(XSIM_DIR)/simd-load.c $(XSIM_DIR)/simd-ctl.c $(XSIM_DIR)/proto.c
XSIM_DAEMON_OBJS := $(XSIM_DAEMON_SRCS:%.c=$(O)/%.o)


# The agreement check of xensim's page walk with xenstub's: the one program
# that links both walkers, to compare them.
XSIM_WALKCHECK_OBJS := $(O)/$(XSIM_DIR)/walkcheck.o \
	$(O)/$(XSIM_DIR)/simd-walk.o $(O)/$(XSIM_DIR)/simd-load.o \
	$(O)/arch/x86/paging.o

# The libraries are built position-independent and without sanitizers:
# they are loaded into programs (xenctx, xen-access) built without them.
XSIM_PIC_CFLAGS = $(STD) $(WARN) $(CFLAGS) -I. -D_GNU_SOURCE -MMD -MP \
	-fPIC -fvisibility=hidden
XSIM_PIC := $(XSIM_OUT)/pic
XSIM_LIB := $(XSIM_OUT)/lib
XSIM_COMMON_PIC := $(XSIM_PIC)/lib/client.o $(XSIM_PIC)/proto.o \
	$(XSIM_BASE_SRCS:%.c=$(XSIM_PIC)/%.o)
# The control command, run at every poll of a domain's state (thousands of
# times a test run), is built like the libraries, without sanitizers: under
# SAN=1 their start-up would cost each run about ten times its work.
XSIM_CTL_OBJS := $(XSIM_PIC)/xensim-ctl.o $(XSIM_PIC)/proto.o \
	$(XSIM_BASE_SRCS:%.c=$(XSIM_PIC)/%.o)

XSIM_LIBS := $(XSIM_LIB)/libxenctrl.so.4.17 $(XSIM_LIB)/libxenevtchn.so.1 \
	$(XSIM_LIB)/libxenforeignmemory.so.1 \
	$(XSIM_LIB)/libxendevicemodel.so.1 $(XSIM_LIB)/libxenstore.so.4 \
	$(XSIM_LIB)/libxentoollog.so.1

XSIM_TARGETS := $(XSIM_OUT)/xensimd $(XSIM_OUT)/xensim $(XSIM_LIBS) \
	$(XSIM_OUT)/simcheck $(XSIM_OUT)/walkcheck

EXTRA_TARGETS += $(XSIM_TARGETS)
TEST_DEPS += $(XSIM_TARGETS)

$(XSIM_OUT)/xensimd: $(XSIM_DAEMON_OBJS) $(XSIM_BASE_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $(XSIM_DAEMON_OBJS) $(XSIM_BASE_OBJS) -ljson-c

$(XSIM_OUT)/xensim: $(XSIM_CTL_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(XSIM_CTL_OBJS) -ljson-c

$(XSIM_OUT)/walkcheck: $(XSIM_WALKCHECK_OBJS) $(XSIM_BASE_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $(XSIM_WALKCHECK_OBJS) $(XSIM_BASE_OBJS)

$(XSIM_PIC)/%.o: $(XSIM_DIR)/%.c $(O)/.cflags
	@mkdir -p $(dir $@)
	$(CC) $(XSIM_PIC_CFLAGS) -c $< -o $@

$(XSIM_PIC)/stub/%.o: stub/%.c $(O)/.cflags
	@mkdir -p $(dir $@)
	$(CC) $(XSIM_PIC_CFLAGS) -c $< -o $@

# One shared library per Xen library: soname, version script, objects.
define xsim_lib
$(XSIM_LIB)/$(1): $(2) $(XSIM_COMMON_PIC) $(XSIM_DIR)/lib/$(3).map
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -shared -Wl,-soname,$(1) \
		-Wl,--version-script,$(XSIM_DIR)/lib/$(3).map -Wl,-z,defs \
		-o $$@ $(2) $(XSIM_COMMON_PIC) -lpthread
endef

$(eval $(call xsim_lib,libxenctrl.so.4.17,$(XSIM_PIC)/lib/xc.o $(XSIM_PIC)/lib/xc-monitor.o $(XSIM_PIC)/lib/xc-stubs.o,xenctrl))
$(eval $(call xsim_lib,libxenevtchn.so.1,$(XSIM_PIC)/lib/evtchn.o,xenevtchn))
$(eval $(call xsim_lib,libxenforeignmemory.so.1,$(XSIM_PIC)/lib/fmem.o,xenforeignmemory))
$(eval $(call xsim_lib,libxendevicemodel.so.1,$(XSIM_PIC)/lib/dm.o $(XSIM_PIC)/lib/dm-stubs.o,xendevicemodel))
$(eval $(call xsim_lib,libxenstore.so.4,$(XSIM_PIC)/lib/xs.o $(XSIM_PIC)/lib/xs-stubs.o,xenstore))
$(eval $(call xsim_lib,libxentoollog.so.1,$(XSIM_PIC)/lib/toollog.o,xentoollog))

# The semantic checks: a client of the stand-in libraries, linked against
# them by file name so that it records their sonames and versions.
$(XSIM_OUT)/simcheck: $(O)/$(XSIM_DIR)/simcheck.o $(XSIM_PIC)/proto.o $(XSIM_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(O)/$(XSIM_DIR)/simcheck.o $(XSIM_PIC)/proto.o \
		$(XSIM_LIB)/libxenctrl.so.4.17 $(XSIM_LIB)/libxenevtchn.so.1 \
		$(XSIM_LIB)/libxenforeignmemory.so.1 \
		$(XSIM_LIB)/libxendevicemodel.so.1 $(XSIM_LIB)/libxenstore.so.4 \
		-ljson-c

$(O)/$(XSIM_DIR)/simcheck.o: $(XSIM_DIR)/simcheck.c $(O)/.cflags
	@mkdir -p $(dir $@)
	$(CC) $(STD) $(WARN) $(CFLAGS) -I. -D_GNU_SOURCE -MMD -MP -c $< -o $@

.PHONY: xensim
xensim: $(XSIM_TARGETS)

# Debian's xenctx and xen-access (xen-utils-4.17, downloaded, never
# installed) in .cache/xen-utils/; the e2e tests fetch it themselves too.
.PHONY: xensim-utils
xensim-utils:
	$(PYTHON) $(XSIM_DIR)/xensim.py fetch-utils
