# SPDX-License-Identifier: LGPL-2.1-or-later
# libFuzzer harnesses for the packet dispatcher and the dump parser, built
# with clang by `make fuzz` (not part of `make` or `make test`); `make
# fuzz-run FUZZ_SECONDS=120` runs each one on a seeded corpus.

FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60

.PHONY: fuzz fuzz-run

# A sub-make, so that the engine's source list is read after every
# module.mk has added to it.
fuzz:
	$(MAKE) -f tests/fuzz/fuzz.mk O=$(O) FUZZ_CC=$(FUZZ_CC) \
		FUZZ_LIB_SRCS="$(ENGINE_SRCS) $(FRONT_SRCS) stub/targets-dump.c" \
		FUZZ_LIBS="$(ENGINE_LIBS)"

fuzz-run: fuzz
	$(PYTHON) tests/fuzz/make-seeds.py $(O)/fuzz/corpus-server $(O)/fuzz/corpus-dump
	$(O)/fuzz/fuzz-server -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
		-max_len=8192 -dict=tests/fuzz/server.dict $(O)/fuzz/corpus-server
	$(O)/fuzz/fuzz-dump -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
		$(O)/fuzz/corpus-dump
