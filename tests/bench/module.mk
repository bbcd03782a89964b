# SPDX-License-Identifier: LGPL-2.1-or-later
# Programs the benchmarks measure xenstub against: min-listener, the
# smallest mem_access listener, the peer of bench_watch_events.py;
# min-int3-listener, the smallest breakpoint listener, the peer of
# bench_agent_conditions.py.

BENCH_OUT := $(O)/tests/bench

EXTRA_TARGETS += $(BENCH_OUT)/min-listener

$(BENCH_OUT)/min-listener: $(O)/tests/bench/min-listener.o
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $< -lxenctrl -lxenevtchn

EXTRA_TARGETS += $(BENCH_OUT)/min-int3-listener

$(BENCH_OUT)/min-int3-listener: $(O)/tests/bench/min-int3-listener.o
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $< -lxenctrl -lxenevtchn
