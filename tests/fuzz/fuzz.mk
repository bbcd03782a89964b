# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds the libFuzzer harnesses and an instrumented copy of the library
# under $(O)/fuzz. Called by `make fuzz` (tests/fuzz/module.mk), which
# passes the library's and the front end's sources in FUZZ_LIB_SRCS, the
# target registry without Xen in FUZZ_NOXEN_SRCS (linked before the
# library, so that no harness pulls the Xen target in) and the harnesses'
# names (every tests/fuzz/fuzz-*.c) in FUZZ_HARNESSES.

FUZZ_CC ?= clang
O ?= build
FO := $(O)/fuzz
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS := -std=gnu11 -Wall -Wextra -Werror -O1 -g -fno-omit-frame-pointer \
	-I. -D_GNU_SOURCE -MMD -MP
FUZZ_OBJS := $(FUZZ_LIB_SRCS:%.c=$(FO)/%.o)
FUZZ_NOXEN_OBJS := $(FUZZ_NOXEN_SRCS:%.c=$(FO)/%.o)

.PHONY: all
all: $(FUZZ_HARNESSES:%=$(FO)/%)

$(FO)/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -c $< -o $@

$(FO)/libxenstub-fuzz.a: $(FUZZ_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(FO)/fuzz-%: $(FO)/tests/fuzz/fuzz-%.o $(FUZZ_NOXEN_OBJS) $(FO)/libxenstub-fuzz.a
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(FUZZ_LIBS)

-include $(shell find $(FO) -name '*.d' 2>/dev/null)

# the harness objects are kept between runs
.SECONDARY:
