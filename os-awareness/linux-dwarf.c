// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Types and data symbols from a Linux kernel's debug image (vmlinux, as
 * Debian's linux-image-*-dbg ships it), read with elfutils' libdw and
 * libelf: the structures the task walk needs, looked up once among the
 * compile units' top-level types, answer linux-types.c's questions (a
 * member's place by path, a type's size, the members of the switch frame),
 * and the ELF symbol table gives the data symbols kallsyms may lack.
 */
#include <elfutils/libdw.h>
#include <dwarf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "os-awareness/linux-infer.h"

/* The types linux-types.c asks about. */
static const char *const wanted[] = {
	"task_struct", "thread_union", "inactive_task_frame", "signal_struct",
	"mm_struct", "cred", "rq", "pcpu_hot", "uts_namespace",
};
#define NWANT (sizeof(wanted) / sizeof(wanted[0]))

struct dw {
	Dwarf *dbg;
	Dwarf_Off off[NWANT];	/* DIE of each wanted type, 0 if absent */
};

bool lx_is_elf(const char *path)
{
	unsigned char m[4];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool elf;

	if (fd < 0)
		return false;
	elf = read(fd, m, 4) == 4 && !memcmp(m, ELFMAG, 4);
	close(fd);
	return elf;
}

/* The type a DIE's DW_AT_type names, without typedefs and qualifiers. */
static bool type_of(Dwarf_Die *die, Dwarf_Die *out)
{
	Dwarf_Attribute at;
	Dwarf_Die cur;
	unsigned n;

	if (!dwarf_attr_integrate(die, DW_AT_type, &at) ||
	    !dwarf_formref_die(&at, &cur))
		return false;
	for (n = 0; n < 16; n++) {
		int tag = dwarf_tag(&cur);

		if (tag != DW_TAG_typedef && tag != DW_TAG_const_type &&
		    tag != DW_TAG_volatile_type && tag != DW_TAG_atomic_type)
			break;
		if (!dwarf_attr_integrate(&cur, DW_AT_type, &at) ||
		    !dwarf_formref_die(&at, &cur))
			return false;
	}
	*out = cur;
	return true;
}

static bool member_off(Dwarf_Die *m, uint64_t *off)
{
	Dwarf_Attribute at;
	Dwarf_Word w;

	if (!dwarf_attr_integrate(m, DW_AT_data_member_location, &at)) {
		*off = 0;	/* a union's members */
		return true;
	}
	if (dwarf_formudata(&at, &w))
		return false;
	*off = w;
	return true;
}

static void to_field(Dwarf_Die *m, uint64_t off, struct os_field *f)
{
	Dwarf_Die t;
	Dwarf_Word sz;

	f->off = (uint32_t)off;
	f->size = 0;
	if (dwarf_hasattr(m, DW_AT_bit_size))
		return;	/* a bitfield: no whole-byte place */
	if (type_of(m, &t) && dwarf_aggregate_size(&t, &sz) == 0)
		f->size = (uint32_t)sz;
}

/* Member name of the struct or union s, anonymous members searched
 * through: its offset from s and its DIE. */
static bool find_member(Dwarf_Die *s, const char *name, size_t len,
			uint64_t *off, Dwarf_Die *out, unsigned depth)
{
	Dwarf_Die c;

	if (depth > 8 || dwarf_child(s, &c) != 0)
		return false;
	do {
		const char *n;
		uint64_t o;
		Dwarf_Die t;

		if (dwarf_tag(&c) != DW_TAG_member || !member_off(&c, &o))
			continue;
		n = dwarf_diename(&c);
		if (n && strlen(n) == len && !memcmp(n, name, len)) {
			*off = o;
			*out = c;
			return true;
		}
		if (!n && type_of(&c, &t) &&
		    (dwarf_tag(&t) == DW_TAG_structure_type ||
		     dwarf_tag(&t) == DW_TAG_union_type) &&
		    find_member(&t, name, len, off, out, depth + 1)) {
			*off += o;
			return true;
		}
	} while (dwarf_siblingof(&c, &c) == 0);
	return false;
}

static bool type_die(const struct dw *d, const char *type, Dwarf_Die *out)
{
	size_t i;

	for (i = 0; i < NWANT; i++)
		if (!strcmp(wanted[i], type) && d->off[i])
			return dwarf_offdie(d->dbg, d->off[i], out) != NULL;
	return false;
}

static int dw_member(const void *ctx, const char *type, const char *path,
		     struct os_field *f)
{
	const struct dw *d = ctx;
	Dwarf_Die s, m;
	uint64_t total = 0, off;
	const char *p = path;

	if (!type_die(d, type, &s))
		return -ENOENT;
	for (;;) {
		size_t l = strcspn(p, ".");

		if (!find_member(&s, p, l, &off, &m, 0))
			return -ENOENT;
		total += off;
		p += l;
		if (!*p)
			break;
		p++;
		if (!type_of(&m, &s))
			return -ENOENT;
	}
	to_field(&m, total, f);
	return 0;
}

static int dw_size(const void *ctx, const char *type, uint64_t *size)
{
	const struct dw *d = ctx;
	Dwarf_Die s;
	Dwarf_Word w;

	if (!type_die(d, type, &s) || dwarf_aggregate_size(&s, &w))
		return -ENOENT;
	*size = w;
	return 0;
}

static int dw_member_at(const void *ctx, const char *type, unsigned i,
			const char **name, struct os_field *f)
{
	const struct dw *d = ctx;
	Dwarf_Die s, c;
	unsigned k = 0;
	uint64_t off;

	if (!type_die(d, type, &s) || dwarf_child(&s, &c) != 0)
		return -ENOENT;
	do {
		if (dwarf_tag(&c) != DW_TAG_member)
			continue;
		if (k++ == i) {
			*name = dwarf_diename(&c);
			if (!*name || !member_off(&c, &off))
				return -ENOENT;
			to_field(&c, off, f);
			return 0;
		}
	} while (dwarf_siblingof(&c, &c) == 0);
	return -ENOENT;
}

/* Finds each wanted type's complete definition among the CUs' top-level
 * DIEs; stops once all are found. */
static void index_types(struct dw *d)
{
	Dwarf_Off off = 0, next;
	size_t hsize, i, left = NWANT;

	while (left && dwarf_nextcu(d->dbg, off, &next, &hsize, NULL, NULL,
				    NULL) == 0) {
		Dwarf_Die cu, c;

		if (dwarf_offdie(d->dbg, off + hsize, &cu) &&
		    dwarf_child(&cu, &c) == 0) {
			do {
				int tag = dwarf_tag(&c);
				const char *n;

				if ((tag != DW_TAG_structure_type &&
				     tag != DW_TAG_union_type) ||
				    dwarf_hasattr(&c, DW_AT_declaration))
					continue;
				n = dwarf_diename(&c);
				if (!n)
					continue;
				for (i = 0; i < NWANT; i++)
					if (!d->off[i] && !strcmp(n, wanted[i])) {
						d->off[i] = dwarf_dieoffset(&c);
						left--;
					}
			} while (left && dwarf_siblingof(&c, &c) == 0);
		}
		off = next;
	}
}

int lx_layout_from_dwarf(struct lx_layout *L, const char *path,
			 struct strbuf *why)
{
	struct dw d;
	const struct type_src src = { &d, dw_member, dw_size, dw_member_at };
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0) {
		strbuf_addf(why, "cannot open it: %s", strerror(errno));
		return -EINVAL;
	}
	memset(&d, 0, sizeof(d));
	d.dbg = dwarf_begin(fd, DWARF_C_READ);
	if (!d.dbg) {
		strbuf_addf(why, "no DWARF debug information in it (%s): give the kernel's debug image, e.g. /usr/lib/debug/boot/vmlinux-RELEASE from linux-image-RELEASE-dbg",
			    dwarf_errmsg(-1));
		close(fd);
		return -EINVAL;
	}
	index_types(&d);
	if (!d.off[0]) {
		strbuf_addstr(why, "its DWARF has no struct task_struct: not a Linux kernel's debug image");
		rc = -ENOENT;
	} else {
		rc = lx_layout_from_types(L, &src, why);
	}
	dwarf_end(d.dbg);
	close(fd);
	return rc;
}

/* ---- symbols ---- */

static const char *const data_syms[] = {
	"init_task", "init_mm", "__per_cpu_offset", "nr_cpu_ids", "current_task",
	"pcpu_hot", "runqueues", "page_offset_base", "phys_base", "init_top_pgt",
	"init_level4_pgt", "swapper_pg_dir", "linux_banner", "init_uts_ns",
	"_etext",
};
#define NDATA (sizeof(data_syms) / sizeof(data_syms[0]))

/* Functions every kallsyms has: each must be where vmlinux puts it,
 * moved by the slide, for the file to be the guest's kernel. */
static const char *const text_syms[] = {
	"schedule", "do_exit", "panic", "_printk", "printk", "kthread",
};
#define NTEXT (sizeof(text_syms) / sizeof(text_syms[0]))

struct vmlinux_syms {
	uint64_t data[NDATA], text[NTEXT], link_text, seg0;
	bool have_seg0;
};

static void read_vmlinux_syms(Elf *e, struct vmlinux_syms *v)
{
	Elf_Scn *scn = NULL;
	size_t i, nph = 0;

	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;
		size_t n, k;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB ||
		    !sh.sh_entsize || !(data = elf_getdata(scn, NULL)))
			continue;
		n = sh.sh_size / sh.sh_entsize;
		for (k = 0; k < n; k++) {
			GElf_Sym s;
			const char *name;

			if (!gelf_getsym(data, (int)k, &s) ||
			    !(name = elf_strptr(e, sh.sh_link, s.st_name)))
				continue;
			if (!v->link_text && !strcmp(name, "_text"))
				v->link_text = s.st_value;
			for (i = 0; i < NDATA; i++)
				if (!v->data[i] && !strcmp(name, data_syms[i]))
					v->data[i] = s.st_value;
			for (i = 0; i < NTEXT; i++)
				if (!v->text[i] && !strcmp(name, text_syms[i]))
					v->text[i] = s.st_value;
		}
	}
	if (elf_getphdrnum(e, &nph))
		return;
	for (i = 0; i < nph; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_LOAD) {
			v->seg0 = ph.p_vaddr;
			v->have_seg0 = true;
			break;
		}
	}
}

int lx_vmlinux_symbols(struct lx *lx, const char *path, struct strbuf *why)
{
	struct vmlinux_syms v;
	uint64_t run_text = 0, run, kmap = lx->bits == 64 ? 0xffffffff80000000ull :
							    0xc0000000ull;
	int64_t slide;
	Elf *e;
	size_t i, added = 0, same = 0;
	int fd;

	memset(&v, 0, sizeof(v));
	elf_version(EV_CURRENT);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		strbuf_addf(why, "cannot open it: %s", strerror(errno));
		return -EINVAL;
	}
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (e) {
		read_vmlinux_syms(e, &v);
		elf_end(e);
	}
	close(fd);
	if (!v.link_text) {
		strbuf_addstr(why, "its ELF symbol table has no _text: not a Linux kernel image");
		return -EINVAL;
	}
	if (!symtab_lookup(&lx->syms, "_text", &run_text) &&
	    !symtab_lookup(&lx->syms, "_stext", &run_text))
		return 0;
	slide = (int64_t)(run_text - v.link_text);
	/* the guest's functions where this file's are, moved by the slide */
	for (i = 0; i < NTEXT; i++) {
		if (!v.text[i] || !symtab_lookup(&lx->syms, text_syms[i], &run))
			continue;
		if (run != v.text[i] + (uint64_t)slide) {
			strbuf_addf(why, "it is not the guest's kernel: %s is at 0x%llx in the guest, 0x%llx in the file (slide 0x%llx)",
				    text_syms[i], (unsigned long long)run,
				    (unsigned long long)v.text[i],
				    (unsigned long long)slide);
			return -ESRCH;
		}
		same++;
	}
	if (!same) {
		/* the data symbols still help; gdb is told nothing */
		strbuf_addstr(why, "none of its functions could be compared with the guest's kallsyms: where it lies is not told to gdb");
		v.have_seg0 = false;
	}
	if (v.have_seg0) {
		lx->image_seg = v.seg0 + (uint64_t)slide;
		lx->have_image_seg = true;
	}
	for (i = 0; i < NDATA; i++) {
		uint64_t a = v.data[i];

		if (!a || symtab_lookup(&lx->syms, data_syms[i], NULL))
			continue;
		if (a >= kmap)	/* per-CPU symbols (offsets) do not move */
			a += (uint64_t)slide;
		symtab_add(&lx->syms, a, 'D', data_syms[i], strlen(data_syms[i]));
		added++;
	}
	if (added) {
		symtab_finish(&lx->syms);
		strbuf_addf(&lx->sym_src, "; %zu data symbols from vmlinux %s", added,
			    path);
	}
	return 0;
}
