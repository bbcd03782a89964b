# SPDX-License-Identifier: LGPL-2.1-or-later
# xenstub: make builds, make test runs every test, make bench measures.
# Variables: CC, CFLAGS, WARN, O (build folder), SAN=1 (ASan+UBSan).

.DEFAULT_GOAL := all

CC ?= cc
CFLAGS ?= -O2 -g
WARN ?= -Wall -Wextra -Werror
STD := -std=gnu11
O ?= build
PYTHON ?= python3
NPROC := $(shell nproc 2>/dev/null || echo 1)
# test modules run at once by e2e-test (tests/e2e/run.py --jobs)
E2E_JOBS ?= $(NPROC)

ifeq ($(SAN),1)
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
endif

# -fPIC: the library's objects also make libxenstub.so (install.mk)
ALL_CFLAGS = $(STD) $(WARN) $(CFLAGS) $(CPPFLAGS) $(SANFLAGS) -fPIC -I. \
	-D_GNU_SOURCE -MMD -MP
ALL_LDFLAGS = $(LDFLAGS) $(SANFLAGS)

# Every folder lists its own sources in its module.mk (one list per
# folder), adding to these:
# the library, libxenstub.a: every layer below the GDB front end (base,
# arch, guest with the Xen target, os-awareness, traps, agent, session)
LIB_SRCS :=
# the libraries it needs
LIB_LIBS :=
# the Xen target's libraries: only programs that open live domains link
# them (the Xen target's objects are pulled from the library only then)
XEN_LIBS :=
# the GDB protocol front end
GDB_SRCS :=
# the program: options, signals, the event loop
PROG_SRCS :=
# the target registry of programs linked without the Xen libraries (unit
# tests, fuzzers): linked before the library, it stands for its registry
NOXEN_SRCS :=
# extra programs and their build rules come from module.mk files
EXTRA_TARGETS :=
TEST_DEPS :=

include $(sort $(wildcard */module.mk */*/module.mk */*/*/module.mk))

UNIT_TESTS := $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test-*.c))

LIB_OBJS := $(LIB_SRCS:%.c=$(O)/%.o)
GDB_OBJS := $(GDB_SRCS:%.c=$(O)/%.o)
PROG_OBJS := $(PROG_SRCS:%.c=$(O)/%.o)
NOXEN_OBJS := $(NOXEN_SRCS:%.c=$(O)/%.o)

# libxenstub.so, make install, make uninstall
include install.mk

.PHONY: FORCE all test check check-tests check-layers unit-test e2e-test bench clean distclean \
	fixtures demo xen-tests xen-prepare

all: $(O)/xenstub $(O)/libxenstub.a $(UNIT_TESTS:%=$(O)/tests/unit/%) $(EXTRA_TARGETS)

# Objects are built again when the compiler or its flags change (O=build
# built once by gcc, then CC=clang or SAN=1 into the same folder): the
# stamp's text is rewritten only when it differs.
CFLAGS_STAMP_TEXT = $(CC) $(ALL_CFLAGS)
$(O)/.cflags: FORCE
	@mkdir -p $(O)
	@echo '$(CFLAGS_STAMP_TEXT)' | cmp -s - $@ || echo '$(CFLAGS_STAMP_TEXT)' > $@

FORCE:

$(O)/%.o: %.c $(O)/.cflags
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(O)/libxenstub.a: $(LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

# xenstub = main.c + the front end + the library
$(O)/xenstub: $(PROG_OBJS) $(GDB_OBJS) $(O)/libxenstub.a
	$(CC) $(ALL_LDFLAGS) -o $@ $(PROG_OBJS) $(GDB_OBJS) $(O)/libxenstub.a \
		$(LIB_LIBS) $(XEN_LIBS)

# unit tests link no Xen library: a test that pulled the Xen target in
# would not link
$(O)/tests/unit/%: $(O)/tests/unit/%.o $(NOXEN_OBJS) $(GDB_OBJS) $(O)/libxenstub.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ -lcmocka $(LIB_LIBS)

# their objects are kept: as intermediate files make would delete them
# and build them again at every run
.SECONDARY: $(UNIT_TESTS:%=$(O)/tests/unit/%.o) $(NOXEN_OBJS)

unit-test: $(UNIT_TESTS:%=$(O)/tests/unit/%)
	@fail=0; for t in $^; do \
		echo "== $$t"; $$t || fail=1; \
	done; exit $$fail

e2e-test: all $(TEST_DEPS)
	$(PYTHON) tests/e2e/run.py --build $(O) --jobs $(E2E_JOBS)

# the include rules of the layers (stub/README.md), and its own self-test
check-layers:
	$(PYTHON) tests/tools/check-layers.py --self-test

test: all
	$(MAKE) check-layers
	$(MAKE) unit-test
	$(MAKE) e2e-test

# What CI runs: every test, every test again under AddressSanitizer and
# UndefinedBehaviorSanitizer, then at once the real-Xen suites (Xen 4.17
# under QEMU, an AMD CPU, and under Bochs, an Intel CPU; root), one
# emulator thread each, and every libFuzzer harness for a minute, one at a
# time. Builds use every CPU; the end-to-end tests run E2E_JOBS modules at
# once. What the real-Xen suites boot (dom0's root, Bochs: minutes on a
# cold cache) is prepared while the tests run; its log is shown after
# theirs.
check:
	$(MAKE) -j$(NPROC) all
	$(PYTHON) tests/tools/concurrently.py --logs $(O)/check --live tests \
		'tests=$(MAKE) check-tests' 'xen-prepare=$(MAKE) xen-prepare'
	$(MAKE) xen-tests XEN_TESTS_ALSO='fuzz-check=$(MAKE) fuzz-check'

check-tests:
	$(MAKE) test
	$(MAKE) -j$(NPROC) all SAN=1 O=build-san
	$(MAKE) test SAN=1 O=build-san
	$(MAKE) -j$(NPROC) fuzz

# The real-Xen suites (each boots Xen in an emulator, one thread each). What
# they share (XEN_SHARED) is prepared first; then they run at once, each with
# its output in $(O)/xen-tests/SUITE.log, shown whole when it ends; fails if
# any fails. xen-prepare prepares everything they need (cached in .cache).
XEN_SUITES := xen-test xen-test-intel
XEN_SHARED := xen-test-prepare
XEN_PREPARE := xen-test-prepare xen-test-intel-prepare

# XEN_TESTS_ALSO='NAME=COMMAND': one more command run beside them
XEN_TESTS_ALSO ?=

xen-tests: $(XEN_SHARED)
	$(PYTHON) tests/tools/concurrently.py --logs $(O)/xen-tests \
		$(foreach s,$(XEN_SUITES),'$(s)=$(MAKE) $(XEN_SHARED:%=-o %) $(s)') \
		$(if $(XEN_TESTS_ALSO),'$(XEN_TESTS_ALSO)')

xen-prepare: $(XEN_PREPARE)

bench: all
	$(PYTHON) tests/bench/run.py --build $(O)

# xenstub on a simulated Xen guest, for a machine without Xen
DEMO_PORT ?= 1234
demo: all
	$(PYTHON) tests/demo/demo.py --build $(O) --port $(DEMO_PORT)

clean:
	rm -rf $(O) build-san

distclean: clean
	rm -rf .cache

-include $(shell find $(O) -name '*.d' 2>/dev/null)
