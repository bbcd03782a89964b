// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Prints the target description XML xenstub serves for 64-bit (default) or
 * 32-bit guests: `print-tdesc [64|32]`. Used by gdb-agent-bytecode.py to let
 * gdb number registers exactly as it does against xenstub.
 */
#include <stdio.h>
#include <stdlib.h>

#include "arch/x86/regs.h"
#include "stub/base/strbuf.h"

int main(int argc, char **argv)
{
	unsigned bits = argc > 1 ? (unsigned)atoi(argv[1]) : 64;
	struct strbuf sb = STRBUF_INIT;

	if (bits != 64 && bits != 32) {
		fprintf(stderr, "usage: print-tdesc [64|32]\n");
		return 2;
	}
	x86_tdesc_xml(x86_gdb_layout(bits), &sb);
	fwrite(sb.buf, 1, sb.len, stdout);
	strbuf_release(&sb);
	return 0;
}
