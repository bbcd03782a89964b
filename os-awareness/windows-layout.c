// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The Windows module's offsets and symbols, every one from the kernel's ISF
 * table: nothing here is specific to one Windows build, except the x64
 * switch frame's architectural default for tables without _KSWITCH_FRAME.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "os-awareness/isf.h"
#include "os-awareness/windows-internal.h"

/*
 * The x64 switch frame Windows pushes at _KTHREAD.KernelStack when a
 * thread gives up its processor (KSWITCH_FRAME in the WDK's ntamd64
 * headers and ReactOS): P1Home..P5Home, ApcBypass and padding, Rbp at
 * 0x30, the return address at 0x38; 0x40 bytes.
 */
#define X64_SWITCH_FRAME_SIZE 0x40
#define X64_SWITCH_FRAME_RBP 0x30
#define X64_SWITCH_FRAME_RETURN 0x38

/*
 * The names _KTHREAD_STATE has had (NT 5.2 to Windows 11); the table's
 * enum gives their values. Tables without the enum get the numbering of
 * the first eight, which has not changed since NT 5.2.
 */
static const char *const state_names[] = {
	"Initialized", "Ready", "Running", "Standby", "Terminated",
	"Waiting", "Transition", "DeferredReady", "GateWaitObsolete",
	"GateWait", "WaitingForProcessInSwap",
};
#define STABLE_STATES 8

static bool field(const struct isf *isf, const char *type, const char *path,
		  struct os_field *f)
{
	struct isf_field x;

	memset(f, 0, sizeof(*f));
	if (isf_field(isf, type, path, &x) || x.offset > UINT32_MAX)
		return false;
	f->off = (uint32_t)x.offset;
	f->size = x.size && x.size <= UINT32_MAX ? (uint32_t)x.size : 0;
	if (!f->size && !strcmp(x.kind, "pointer"))
		f->size = 8;
	return f->size != 0;
}

struct need {
	const char *type, *path;
	struct os_field *f;
};

static int require(const struct isf *isf, const struct need *n, size_t count,
		   struct strbuf *why)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < count; i++) {
		if (field(isf, n[i].type, n[i].path, n[i].f))
			continue;
		strbuf_addf(why, "%s%s.%s", rc ? ", " : "the table has no ",
			    n[i].type, n[i].path);
		rc = -ENOENT;
	}
	return rc;
}

static void states(struct win_layout *L, const struct isf *isf)
{
	size_t i;

	memset(L->state_name, 0, sizeof(L->state_name));
	L->states_from_table = false;
	for (i = 0; i < sizeof(state_names) / sizeof(state_names[0]); i++) {
		int64_t v;

		if (isf_enum_value(isf, "_KTHREAD_STATE", state_names[i], &v) ||
		    v < 0 || v >= WIN_MAX_STATES)
			continue;
		snprintf(L->state_name[v], sizeof(L->state_name[v]), "%s",
			 state_names[i]);
		L->states_from_table = true;
	}
	if (L->states_from_table)
		return;
	for (i = 0; i < STABLE_STATES; i++)
		snprintf(L->state_name[i], sizeof(L->state_name[i]), "%s",
			 state_names[i]);
}

static void switch_frame(struct win_layout *L, const struct isf *isf)
{
	struct os_field ret, rbp;
	uint64_t size;

	L->frame_from_table = false;
	if (isf_type_kind(isf, "_KSWITCH_FRAME") &&
	    !isf_type_size(isf, "_KSWITCH_FRAME", &size) && size <= 512 &&
	    field(isf, "_KSWITCH_FRAME", "Return", &ret) &&
	    ret.off + 8 <= size) {
		L->frame_size = (uint32_t)size;
		L->frame_ret = (int32_t)ret.off;
		L->frame_rbp = field(isf, "_KSWITCH_FRAME", "Rbp", &rbp) &&
			       rbp.off + 8 <= size ? (int32_t)rbp.off : -1;
		L->frame_from_table = true;
		return;
	}
	L->frame_size = X64_SWITCH_FRAME_SIZE;
	L->frame_ret = X64_SWITCH_FRAME_RETURN;
	L->frame_rbp = X64_SWITCH_FRAME_RBP;
}

int win_layout_from_isf(struct win_layout *L, const struct isf *isf,
			struct strbuf *why)
{
	const struct need must[] = {
		{ "_KPRCB", "CurrentThread", &L->prcb_current },
		{ "_EPROCESS", "UniqueProcessId", &L->pid },
		{ "_EPROCESS", "ActiveProcessLinks", &L->links },
		{ "_EPROCESS", "ImageFileName", &L->image_name },
		{ "_EPROCESS", "Pcb.DirectoryTableBase", &L->dtb },
		{ "_ETHREAD", "Cid.UniqueProcess", &L->cid_pid },
		{ "_ETHREAD", "Cid.UniqueThread", &L->cid_tid },
		{ "_ETHREAD", "Tcb.State", &L->state },
		{ "_ETHREAD", "Tcb.KernelStack", &L->kernel_stack },
	};
	uint64_t size;
	int rc;

	memset(L, 0, sizeof(*L));
	rc = require(isf, must, sizeof(must) / sizeof(must[0]), why);
	field(isf, "_KPCR", "Prcb", &L->pcr_prcb);
	field(isf, "_KPCR", "CurrentPrcb", &L->pcr_current_prcb);
	if (!L->pcr_prcb.size && !L->pcr_current_prcb.size) {
		strbuf_addf(why, "%s_KPCR.Prcb or _KPCR.CurrentPrcb",
			    rc ? ", " : "the table has no ");
		rc = -ENOENT;
	}
	if (field(isf, "_EPROCESS", "ThreadListHead", &L->thread_head) &&
	    field(isf, "_ETHREAD", "ThreadListEntry", &L->thread_entry)) {
		L->thread_list = "_EPROCESS.ThreadListHead";
	} else if (field(isf, "_EPROCESS", "Pcb.ThreadListHead", &L->thread_head) &&
		   field(isf, "_ETHREAD", "Tcb.ThreadListEntry", &L->thread_entry)) {
		L->thread_list = "_KPROCESS.ThreadListHead";
	} else {
		strbuf_addf(why, "%sthread list (_EPROCESS.ThreadListHead with _ETHREAD.ThreadListEntry, or their _KPROCESS/_KTHREAD pair)",
			    rc ? ", " : "the table has no ");
		rc = -ENOENT;
	}
	if (isf_type_size(isf, "_EPROCESS", &size) || size > (1u << 20) ||
	    isf_type_size(isf, "_ETHREAD", &size) || size > (1u << 20)) {
		strbuf_addf(why, "%ssize of _EPROCESS or _ETHREAD",
			    rc ? ", " : "the table has no usable ");
		rc = -ENOENT;
	}
	if (rc)
		return rc;
	isf_type_size(isf, "_EPROCESS", &size);
	L->eprocess_size = (uint32_t)size;
	isf_type_size(isf, "_ETHREAD", &size);
	L->ethread_size = (uint32_t)size;
	if (L->links.size < 16 || L->thread_head.size < 16 ||
	    L->thread_entry.size < 16) {
		strbuf_addstr(why, "the table's LIST_ENTRY members are not 16 bytes: not a 64-bit kernel's table");
		return -ENOENT;
	}

	field(isf, "_KPCR", "Self", &L->pcr_self);
	field(isf, "_KPRCB", "IdleThread", &L->prcb_idle);
	field(isf, "_KPRCB", "Number", &L->prcb_number);
	field(isf, "_EPROCESS", "InheritedFromUniqueProcessId", &L->ppid);
	field(isf, "_EPROCESS", "Pcb.UserDirectoryTableBase", &L->user_dtb);
	field(isf, "_EPROCESS", "Peb", &L->peb);
	field(isf, "_ETHREAD", "ThreadName", &L->thread_name);
	field(isf, "_ETHREAD", "Tcb.InitialStack", &L->initial_stack);
	field(isf, "_ETHREAD", "Tcb.StackBase", &L->stack_base);
	field(isf, "_ETHREAD", "Tcb.StackLimit", &L->stack_limit);
	field(isf, "_ETHREAD", "Tcb.Teb", &L->teb);
	if (!field(isf, "_ETHREAD", "Tcb.Process", &L->process))
		field(isf, "_ETHREAD", "Tcb.ApcState.Process", &L->process);
	field(isf, "_UNICODE_STRING", "Length", &L->us_length);
	field(isf, "_UNICODE_STRING", "Buffer", &L->us_buffer);
	L->ldr_type = isf_type_kind(isf, "_KLDR_DATA_TABLE_ENTRY") ?
		      "_KLDR_DATA_TABLE_ENTRY" : "_LDR_DATA_TABLE_ENTRY";
	field(isf, L->ldr_type, "InLoadOrderLinks", &L->ldr_links);
	field(isf, L->ldr_type, "DllBase", &L->ldr_base);
	field(isf, L->ldr_type, "SizeOfImage", &L->ldr_size);
	field(isf, L->ldr_type, "BaseDllName", &L->ldr_name);
	field(isf, L->ldr_type, "FullDllName", &L->ldr_path);
	field(isf, "_KUSER_SHARED_DATA", "NtMajorVersion", &L->kusd_major);
	field(isf, "_KUSER_SHARED_DATA", "NtMinorVersion", &L->kusd_minor);
	field(isf, "_KUSER_SHARED_DATA", "NtBuildNumber", &L->kusd_build);
	switch_frame(L, isf);
	states(L, isf);
	return 0;
}

static uint64_t sym(const struct isf *isf, const char *name, uint64_t kbase)
{
	uint64_t rva;

	if (isf_symbol(isf, name, &rva) || rva >= PE_MAX_IMAGE)
		return 0;
	return kbase + rva;
}

int win_syms_from_isf(struct win_syms *S, const struct isf *isf,
		      uint64_t kbase, struct strbuf *why)
{
	memset(S, 0, sizeof(*S));
	S->active_head = sym(isf, "PsActiveProcessHead", kbase);
	if (!S->active_head) {
		strbuf_addstr(why, "the table has no symbol PsActiveProcessHead");
		return -ENOENT;
	}
	S->module_list = sym(isf, "PsLoadedModuleList", kbase);
	S->build_number = sym(isf, "NtBuildNumber", kbase);
	S->build_lab = sym(isf, "NtBuildLab", kbase);
	S->major = sym(isf, "NtMajorVersion", kbase);
	S->minor = sym(isf, "NtMinorVersion", kbase);
	S->prcb_block = sym(isf, "KiProcessorBlock", kbase);
	S->nprocs = sym(isf, "KeNumberProcessors", kbase);
	S->system_process = sym(isf, "PsInitialSystemProcess", kbase);
	S->idle_process = sym(isf, "PsIdleProcess", kbase);
	return 0;
}
