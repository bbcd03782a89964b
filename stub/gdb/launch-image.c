// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * `xenstub --vmlinux FILE --gdb`: the gdb command that loads the kernel's
 * debug image where the guest runs it, every section at its own address,
 * read from the file's ELF headers with libelf; and where xenstub-gdb.py,
 * gdb's side of xenstub for the kernel's gdb scripts, is installed.
 */
#include "stub/gdb/launch.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* One word of add-symbol-file's arguments, which gdb splits as a shell
 * does: blanks, quotes and backslashes escaped. */
static void add_word(struct strbuf *cmd, const char *w)
{
	strbuf_addch(cmd, ' ');
	for (; *w; w++) {
		if (strchr(" \t\n\\'\"", *w))
			strbuf_addch(cmd, '\\');
		strbuf_addch(cmd, *w);
	}
}

/* The first loadable segment's link address (what qOffsets' TextSeg
 * names), or -ENOENT. */
static int first_segment(Elf *e, uint64_t *vaddr)
{
	size_t n, i;
	GElf_Phdr ph;

	if (elf_getphdrnum(e, &n))
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_LOAD) {
			*vaddr = ph.p_vaddr;
			return 0;
		}
	return -ENOENT;
}

static int build(Elf *e, const char *path, uint64_t seg, struct strbuf *cmd,
		 struct strbuf *why)
{
	uint64_t link, mask;
	int64_t slide;
	size_t shstrndx;
	Elf_Scn *scn = NULL;
	int cls = gelf_getclass(e);

	if (elf_kind(e) != ELF_K_ELF || cls == ELFCLASSNONE) {
		strbuf_addf(why, "%s is not an ELF file", path);
		return -EINVAL;
	}
	if (first_segment(e, &link) < 0) {
		strbuf_addf(why, "%s has no loadable segment", path);
		return -EINVAL;
	}
	if (elf_getshdrstrndx(e, &shstrndx)) {
		strbuf_addf(why, "%s: %s", path, elf_errmsg(-1));
		return -EINVAL;
	}
	/* the slide in the file's own address width, signed for reading */
	mask = cls == ELFCLASS32 ? 0xffffffffu : UINT64_MAX;
	slide = (int64_t)((seg - link) & mask);
	if (cls == ELFCLASS32)
		slide = (int32_t)(uint32_t)slide;
	strbuf_addstr(cmd, "with confirm off -- add-symbol-file");
	add_word(cmd, path);
	strbuf_addf(cmd, " -o %s0x%" PRIx64, slide < 0 ? "-" : "",
		    slide < 0 ? -(uint64_t)slide : (uint64_t)slide);
	/* what is linked below the image (x86_64's per-CPU data at 0, an
	 * offset into each CPU's area) is where the slide does not move it */
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		const char *name;

		if (!gelf_getshdr(scn, &sh) || !(sh.sh_flags & SHF_ALLOC) ||
		    !sh.sh_size || sh.sh_addr >= link)
			continue;
		name = elf_strptr(e, shstrndx, sh.sh_name);
		if (!name || !*name)
			continue;
		strbuf_addstr(cmd, " -s");
		add_word(cmd, name);
		strbuf_addf(cmd, " 0x%" PRIx64, (uint64_t)sh.sh_addr);
	}
	return 0;
}

int gdb_image_command(const char *path, uint64_t seg, struct strbuf *cmd,
		      struct strbuf *why)
{
	Elf *e;
	int fd, rc;

	elf_version(EV_CURRENT);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		strbuf_addf(why, "%s: %s", path, strerror(-rc));
		return rc;
	}
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (!e) {
		strbuf_addf(why, "%s: %s", path, elf_errmsg(-1));
		close(fd);
		return -EINVAL;
	}
	rc = build(e, path, seg, cmd, why);
	elf_end(e);
	close(fd);
	return rc;
}

const char *gdb_helper_script(char *path, size_t size)
{
	static const char *const where[] = {
		"xenstub-gdb.py", "../share/xenstub/xenstub-gdb.py",
	};
	char exe[PATH_MAX], *slash;
	struct stat st;
	ssize_t n;
	size_t i;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return NULL;
	exe[n] = 0;
	slash = strrchr(exe, '/');
	if (!slash)
		return NULL;
	*slash = 0;
	for (i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		int w = snprintf(path, size, "%s/%s", exe, where[i]);

		if (w > 0 && (size_t)w < size && stat(path, &st) == 0 &&
		    S_ISREG(st.st_mode)) {
			/* without the "..", for the log */
			char *real = realpath(path, NULL);

			if (real && strlen(real) < size)
				strcpy(path, real);
			free(real);
			return path;
		}
	}
	return NULL;
}
