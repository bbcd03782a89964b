// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer harness for the recovery journal's reader (what `xenstub
 * --recover` trusts): any bytes go to journal_parse(), which must either
 * refuse them with a message naming the file and the line, or give a state
 * within what xenstub writes (bounded pauses and vCPUs, distinct plants,
 * byte-sized originals, valid access values, valid debug registers).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stub/guest/journal.h"
#include "stub/base/log.h"

#define KEY "xen-1-00000000000000000000000000000001"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_level(LOG_ERROR);
	return 0;
}

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz-journal: broken invariant: %s\n", what);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct journal_state st;
	char *msg = NULL;
	size_t i, j;
	unsigned v;
	int rc;

	memset(&st, 0, sizeof(st));
	snprintf(st.path, sizeof(st.path), "fuzz.journal");
	/* the first byte picks whether the header's target is checked */
	rc = journal_parse((const char *)data + (size ? 1 : 0), size ? size - 1 : 0,
			   size && (data[0] & 1) ? KEY : NULL, &st, &msg);
	if (rc < 0) {
		check(rc == -EINVAL, "an error other than -EINVAL");
		check(msg && strstr(msg, "fuzz.journal"), "a message naming the file");
		check(!st.int3 && !st.access && !st.vcpu && !st.pauses, "state left after a refusal");
		free(msg);
		return 0;
	}
	check(!msg, "a message without an error");
	check(st.pauses <= JOURNAL_MAX_PAUSES, "pauses past the bound");
	check(st.nvcpu <= JOURNAL_MAX_VCPUS, "a vCPU past the bound");
	check(!st.pid_alive && !st.locked, "a parse that claims a lock");
	for (i = 0; i < st.nint3; i++) {
		check(st.int3[i].gpa < (1ull << 52), "an int3 past 52 bits");
		if (i)
			check(st.int3[i - 1].gpa < st.int3[i].gpa, "int3s not distinct and sorted");
	}
	for (i = 0; i < st.naccess; i++) {
		check(st.access[i].orig <= 10, "an access value Xen does not have");
		check(st.access[i].view == 0, "a view xenstub does not restrict");
		for (j = i + 1; j < st.naccess && j < i + 4; j++)
			check(st.access[i].gfn != st.access[j].gfn, "a frame listed twice");
	}
	for (v = 0; v < st.nvcpu; v++) {
		const struct journal_vcpu *jv = &st.vcpu[v];

		if (jv->dr_saved)
			check(!(jv->dr[7] >> 32) && !(jv->dr[7] & 0xd800) && !(jv->dr[6] >> 32),
			      "debug registers no vCPU can hold");
	}
	journal_state_free(&st);
	return 0;
}
