# SPDX-License-Identifier: LGPL-2.1-or-later
# The base utilities: logging, growable strings and checked allocation.
# xensim links these and nothing else of xenstub (tests/xensim/module.mk).
BASE_SRCS := stub/base/log.c stub/base/alloc.c stub/base/strbuf.c \
	stub/base/num.c
LIB_SRCS += $(BASE_SRCS)
