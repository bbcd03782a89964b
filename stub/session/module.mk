# SPDX-License-Identifier: LGPL-2.1-or-later
# The session: the debugger's model of one guest (threads, run control,
# points, monitor commands); session.h is the engine's public header.
LIB_SRCS += stub/session/session.c stub/session/run-attach.c \
	stub/session/run-events.c stub/session/run-resume.c \
	stub/session/run-livelock.c \
	stub/session/points.c stub/session/points-agent.c \
	stub/session/trace.c stub/session/trace-packets.c stub/session/monitor.c \
	stub/session/region.c
