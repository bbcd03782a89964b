// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The offsets the Linux module needs, as data: one table of (type, member
 * paths) rows filled from either type source, BTF found in guest memory or
 * an ISF profile, through the same three questions: a member's place, a
 * type's size, and the members of the switch frame.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "os-awareness/btf.h"
#include "os-awareness/isf.h"
#include "os-awareness/linux-infer.h"
#include "os-awareness/linux-internal.h"

struct field_row {
	const char *type;
	const char *paths;	/* alternatives, '|'-separated, newest first */
	size_t dest;		/* offsetof(struct lx_layout, ...) */
	bool required;
};

#define ROW(t, p, d, r) { t, p, offsetof(struct lx_layout, d), r }

static const struct field_row rows[] = {
	ROW("task_struct", "tasks", tasks, true),
	ROW("task_struct", "pid", pid, true),
	ROW("task_struct", "tgid", tgid, true),
	ROW("task_struct", "comm", comm, true),
	ROW("task_struct", "__state|state", state, false),
	ROW("task_struct", "exit_state", exit_state, false),
	ROW("task_struct", "flags", flags, false),
	ROW("task_struct", "mm", mm, false),
	ROW("task_struct", "active_mm", active_mm, false),
	ROW("task_struct", "stack", stack, false),
	ROW("task_struct", "real_parent", real_parent, false),
	ROW("task_struct", "group_leader", group_leader, false),
	ROW("task_struct", "signal", signal, false),
	ROW("task_struct", "thread_node", thread_node, false),
	ROW("task_struct", "thread_group", thread_group, false),
	ROW("task_struct", "thread.sp", thread_sp, false),
	ROW("task_struct", "thread_info.cpu|cpu", cpu, false),
	ROW("task_struct", "on_cpu", on_cpu, false),
	ROW("task_struct", "real_cred", real_cred, false),
	ROW("signal_struct", "thread_head", sig_thread_head, false),
	ROW("mm_struct", "pgd", mm_pgd, false),
	ROW("cred", "uid", cred_uid, false),
	ROW("rq", "curr", rq_curr, false),
	ROW("rq", "idle", rq_idle, false),
	ROW("pcpu_hot", "current_task", hot_current, false),
	ROW("uts_namespace", "name.release", uts_release, false),
};

/* Which x86 register a switch-frame member saves. */
static int frame_reg(const char *name)
{
	static const struct { const char *name; int reg; } map[] = {
		{ "r15", X86_R15 }, { "r14", X86_R14 }, { "r13", X86_R13 },
		{ "r12", X86_R12 }, { "bx", X86_RBX }, { "bp", X86_RBP },
		{ "si", X86_RSI }, { "di", X86_RDI },
	};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(map[i].name, name))
			return map[i].reg;
	return -1;
}

static int fill(struct lx_layout *L, const struct type_src *src,
		struct strbuf *why)
{
	struct os_field f;
	uint64_t size;
	size_t i;
	unsigned k;
	int rc = 0;

	memset(L, 0, sizeof(*L));
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const char *p = rows[i].paths;
		struct os_field *dest = (struct os_field *)((char *)L + rows[i].dest);

		while (*p) {
			char path[64];
			size_t n = strcspn(p, "|");

			if (n < sizeof(path)) {
				memcpy(path, p, n);
				path[n] = 0;
				if (src->member(src->ctx, rows[i].type, path, &f) == 0 &&
				    f.size) {
					*dest = f;
					break;
				}
			}
			p += n;
			if (*p)
				p++;
		}
		if (!dest->size && rows[i].required) {
			strbuf_addf(why, "%s%s.%s", rc ? ", " : "the types lack ",
				    rows[i].type, rows[i].paths);
			rc = -ENOENT;
		}
	}
	if (rc)
		return rc;
	if (src->size(src->ctx, "task_struct", &size) == 0)
		L->task_size = (uint32_t)size;
	if (src->size(src->ctx, "thread_union", &size) == 0 && size >= 4096 &&
	    size <= (1u << 20))
		L->thread_size = size;
	/* the registers a sleeping task saved when it switched out */
	for (k = 0; k < X86_GPR_NR; k++)
		L->frame_gpr[k] = -1;
	L->frame_ret = -1;
	L->frame_flags = -1;
	if (src->size(src->ctx, "inactive_task_frame", &size) == 0 &&
	    size <= 256) {
		const char *name;

		L->frame_size = (uint32_t)size;
		for (k = 0; k < 64 &&
		     src->member_at(src->ctx, "inactive_task_frame", k, &name,
				    &f) == 0; k++) {
			int reg = frame_reg(name);

			if (f.off + f.size > size)
				continue;
			if (!strcmp(name, "ret_addr"))
				L->frame_ret = (int32_t)f.off;
			else if (!strcmp(name, "flags") && f.size <= 8)
				L->frame_flags = (int32_t)f.off;
			else if (reg >= 0)
				L->frame_gpr[reg] = (int32_t)f.off;
		}
	}
	return 0;
}

int lx_layout_from_types(struct lx_layout *L, const struct type_src *src,
			 struct strbuf *why)
{
	return fill(L, src, why);
}

/* ---- BTF ---- */

static int btf_struct(const struct btf *b, const char *type, uint32_t *id)
{
	if (btf_find(b, BTF_KIND_STRUCT, type, id) == 0 ||
	    btf_find(b, BTF_KIND_UNION, type, id) == 0)
		return 0;
	return -ENOENT;
}

static void btf_to_field(const struct btf_member_info *m, struct os_field *f)
{
	f->off = (uint32_t)(m->bit_offset / 8);
	f->size = m->bit_size ? 0 : (uint32_t)m->size;
}

static int btf_src_member(const void *ctx, const char *type, const char *path,
			  struct os_field *f)
{
	struct btf_member_info m;
	uint32_t id;

	if (btf_struct(ctx, type, &id) || btf_member(ctx, id, path, &m))
		return -ENOENT;
	btf_to_field(&m, f);
	return 0;
}

static int btf_src_size(const void *ctx, const char *type, uint64_t *size)
{
	uint32_t id;

	if (btf_struct(ctx, type, &id))
		return -ENOENT;
	return btf_type_size(ctx, id, size);
}

static int btf_src_member_at(const void *ctx, const char *type, unsigned i,
			     const char **name, struct os_field *f)
{
	struct btf_member_info m;
	uint32_t id;

	if (btf_struct(ctx, type, &id) || btf_member_at(ctx, id, i, name, &m))
		return -ENOENT;
	btf_to_field(&m, f);
	return 0;
}

int lx_layout_from_btf(struct lx_layout *L, const struct btf *b,
		       struct strbuf *why)
{
	const struct type_src src = {
		b, btf_src_member, btf_src_size, btf_src_member_at,
	};

	return fill(L, &src, why);
}

/* ---- ISF ---- */

static int isf_src_member(const void *ctx, const char *type, const char *path,
			  struct os_field *f)
{
	struct isf_field x;

	if (isf_field(ctx, type, path, &x))
		return -ENOENT;
	f->off = (uint32_t)x.offset;
	f->size = !strcmp(x.kind, "bitfield") ? 0 : (uint32_t)x.size;
	return 0;
}

static int isf_src_size(const void *ctx, const char *type, uint64_t *size)
{
	return isf_type_size(ctx, type, size);
}

static int isf_src_member_at(const void *ctx, const char *type, unsigned i,
			     const char **name, struct os_field *f)
{
	const char **names;
	int n = isf_fields(ctx, type, &names), rc = -ENOENT;

	if (n > 0 && i < (unsigned)n) {
		*name = names[i];
		rc = isf_src_member(ctx, type, names[i], f);
	}
	free(names);
	return rc;
}

int lx_layout_from_isf(struct lx_layout *L, const struct isf *isf,
		       struct strbuf *why)
{
	const struct type_src src = {
		isf, isf_src_member, isf_src_size, isf_src_member_at,
	};

	return fill(L, &src, why);
}
