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

ALL_CFLAGS = $(STD) $(WARN) $(CFLAGS) $(SANFLAGS) -I. -D_GNU_SOURCE -MMD -MP
ALL_LDFLAGS = $(LDFLAGS) $(SANFLAGS)

# The engine: everything below the protocol, one library.
ENGINE_SRCS := \
	arch/x86/regs.c arch/x86/paging.c \
	stub/log.c stub/strbuf.c stub/vmem.c stub/target.c \
	stub/dump.c stub/dump-qemu.c stub/dump-xen.c stub/target-core.c \
	stub/session.c stub/run.c stub/monitor.c \
	os-awareness/os.c

# The GDB protocol front end.
FRONT_SRCS := stub/rsp.c stub/server.c stub/gdb-query.c stub/gdb-data.c \
	stub/gdb-run.c

PROG_SRCS := stub/main.c stub/targets-dump.c
# libraries the engine needs (module.mk files add to these)
ENGINE_LIBS :=
PROG_LIBS :=
# extra programs and their build rules come from module.mk files
EXTRA_TARGETS :=
TEST_DEPS :=

# Each area may add sources, libraries and rules in its own module.mk.
include $(sort $(wildcard */module.mk */*/module.mk))

UNIT_TESTS := $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test-*.c))

ENGINE_OBJS := $(ENGINE_SRCS:%.c=$(O)/%.o)
FRONT_OBJS := $(FRONT_SRCS:%.c=$(O)/%.o)
PROG_OBJS := $(PROG_SRCS:%.c=$(O)/%.o)

.PHONY: all test check check-tests unit-test e2e-test bench clean distclean fixtures demo \
	xen-tests xen-prepare

all: $(O)/xenstub $(O)/libxenstub.a $(UNIT_TESTS:%=$(O)/tests/unit/%) $(EXTRA_TARGETS)

$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(O)/libxenstub.a: $(ENGINE_OBJS) $(FRONT_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(O)/xenstub: $(PROG_OBJS) $(O)/libxenstub.a
	$(CC) $(ALL_LDFLAGS) -o $@ $(PROG_OBJS) $(O)/libxenstub.a $(PROG_LIBS) $(ENGINE_LIBS)

$(O)/tests/unit/%: $(O)/tests/unit/%.o $(O)/stub/targets-dump.o $(O)/libxenstub.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ -lcmocka $(ENGINE_LIBS)

unit-test: $(UNIT_TESTS:%=$(O)/tests/unit/%)
	@fail=0; for t in $^; do \
		echo "== $$t"; $$t || fail=1; \
	done; exit $$fail

e2e-test: all $(TEST_DEPS)
	$(PYTHON) tests/e2e/run.py --build $(O) --jobs $(E2E_JOBS)

test: all
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
demo: all
	$(PYTHON) tests/demo/demo.py --build $(O)

clean:
	rm -rf $(O) build-san

distclean: clean
	rm -rf .cache

-include $(shell find $(O) -name '*.d' 2>/dev/null)
