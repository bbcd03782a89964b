# SPDX-License-Identifier: LGPL-2.1-or-later
# gdb's agent expressions (breakpoint conditions, agent dprintf, tracepoint
# collection): part of the engine, below the session, above guest memory.
ENGINE_SRCS += stub/agent/ax.c stub/agent/ax-printf.c stub/agent/ax-packet.c \
	stub/agent/ax-x86.c

# `make fuzz-agent` builds the harness tests/fuzz/fuzz-agent.c with the
# rules of tests/fuzz/fuzz.mk; `make fuzz-agent-run FUZZ_SECONDS=300` runs
# it on seeds made from the packets gdb 13 sends.
.PHONY: fuzz-agent fuzz-agent-run
fuzz-agent:
	$(MAKE) -f tests/fuzz/fuzz.mk O=$(O) FUZZ_CC=$(FUZZ_CC) \
		FUZZ_LIB_SRCS="$(ENGINE_SRCS) $(FRONT_SRCS) stub/targets-dump.c" \
		FUZZ_LIBS="$(ENGINE_LIBS)" $(O)/fuzz/fuzz-agent

fuzz-agent-run: fuzz-agent
	$(PYTHON) tests/fuzz/make-agent-seeds.py $(O)/fuzz/corpus-agent
	$(O)/fuzz/fuzz-agent -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
		-rss_limit_mb=2048 $(O)/fuzz/corpus-agent
