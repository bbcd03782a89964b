# SPDX-License-Identifier: LGPL-2.1-or-later
# libFuzzer harnesses: every tests/fuzz/fuzz-NAME.c is one, built with
# clang by `make fuzz` (not part of `make` or `make test`). `make
# fuzz-check` (part of `make check`) runs each for FUZZ_SECONDS on a copy
# of its seed corpus tests/fuzz/corpus/fuzz-NAME/, with the dictionary
# tests/fuzz/fuzz-NAME.dict and the options in tests/fuzz/fuzz-NAME.options
# when they exist, and fails on any crash, leak or broken invariant.

FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_HARNESSES := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz-*.c))

.PHONY: fuzz fuzz-run fuzz-check fuzz-seeds

# A sub-make, so that the library's source list is read after every
# module.mk has added to it.
fuzz:
	$(MAKE) -f tests/fuzz/fuzz.mk O=$(O) FUZZ_CC=$(FUZZ_CC) \
		FUZZ_HARNESSES="$(FUZZ_HARNESSES)" \
		FUZZ_LIB_SRCS="$(LIB_SRCS) $(GDB_SRCS)" \
		FUZZ_NOXEN_SRCS="$(NOXEN_SRCS)" FUZZ_LIBS="$(LIB_LIBS)"

# FUZZ_JOBS harnesses run at once (each is one process; what each prints
# is shown whole when it ends)
FUZZ_JOBS ?= 1

fuzz-check fuzz-run: fuzz
	@$(MAKE) -k -j$(FUZZ_JOBS) --output-sync=target --no-print-directory \
		$(FUZZ_HARNESSES:%=fuzz-run-one-%)

fuzz-run-one-%:
	@$(PYTHON) tests/fuzz/run-fuzzer.py --build $(O) --seconds $(FUZZ_SECONDS) $*

# Rewrites the in-tree seed corpora of the server and dump harnesses.
fuzz-seeds:
	$(PYTHON) tests/fuzz/make-seeds.py tests/fuzz/corpus/fuzz-server tests/fuzz/corpus/fuzz-dump
