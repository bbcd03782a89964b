# SPDX-License-Identifier: LGPL-2.1-or-later
# The shared library (libxenstub.so.0, its exports in lib/libxenstub.map),
# make install and make uninstall: the program, its man page, and the
# library with its public header (lib/xenstub.h) and xenstub.pc.
# Variables: PREFIX (/usr/local), DESTDIR, BINDIR, MANDIR, LIBDIR,
# INCLUDEDIR, PKGCONFIGDIR.

# The release, from its one place
XENSTUB_VERSION := $(shell sed -n 's/^\#define XENSTUB_VERSION "\(.*\)"/\1/p' stub/base/version.h)
# The ABI's number: raised by a change that breaks programs built
# against the library before it
LIB_SOVERSION := 0
LIB_SONAME := libxenstub.so.$(LIB_SOVERSION)
LIB_SO := $(O)/libxenstub.so.$(XENSTUB_VERSION)

PREFIX ?= /usr/local
# sbin, as Debian's xen-utils put their dom0 tools (xl, gdbsx, xen-access,
# xen-hvmctx) in /usr/sbin: a live guest takes root in dom0
BINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
# xenstub-gdb.py: xenstub looks for it in ../share/xenstub from its program
GDBDATADIR ?= $(BINDIR)/../share/xenstub
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
INSTALL ?= install

# The public header and the headers it includes, kept at their paths
# under INCLUDEDIR/xenstub
PUBLIC_HEADERS := stub/base/version.h stub/base/strbuf.h stub/base/alloc.h \
	stub/base/log.h arch/x86/regs.h stub/guest/target.h \
	stub/session/session.h

EXTRA_TARGETS += $(LIB_SO) $(O)/$(LIB_SONAME) $(O)/libxenstub.so \
	$(O)/xenstub.8

.PHONY: installable install uninstall

# what make install installs, built (debian/rules builds only this)
installable: $(O)/xenstub $(O)/libxenstub.a $(O)/libxenstub.so \
	$(O)/xenstub.8 $(O)/xenstub-gdb.py

# --no-undefined: the library needs nothing from the program (left out
# under the sanitizers, whose runtime the program brings)
$(LIB_SO): $(LIB_OBJS) lib/libxenstub.map
	$(CC) $(ALL_LDFLAGS) -shared -Wl,-soname,$(LIB_SONAME) \
		-Wl,--version-script=lib/libxenstub.map \
		$(if $(SANFLAGS),,-Wl,--no-undefined) \
		-o $@ $(LIB_OBJS) $(LIB_LIBS) $(XEN_LIBS)

$(O)/$(LIB_SONAME): $(LIB_SO)
	ln -sf $(notdir $<) $@

$(O)/libxenstub.so: $(O)/$(LIB_SONAME)
	ln -sf $(notdir $<) $@

$(O)/xenstub.8: doc/xenstub.8.in stub/base/version.h
	@mkdir -p $(dir $@)
	sed -e 's|@VERSION@|$(XENSTUB_VERSION)|' $< > $@

$(O)/xenstub.pc: lib/xenstub.pc.in stub/base/version.h FORCE
	@mkdir -p $(dir $@)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
		-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
		-e 's|@VERSION@|$(XENSTUB_VERSION)|' \
		-e 's|@LIBS_PRIVATE@|$(strip $(LIB_LIBS) $(XEN_LIBS))|' $< > $@

.PHONY: FORCE
FORCE:

install: installable $(O)/xenstub.pc
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(LIBDIR) $(DESTDIR)$(PKGCONFIGDIR)
	$(INSTALL) -m 755 $(O)/xenstub $(DESTDIR)$(BINDIR)/xenstub
	$(INSTALL) -m 644 $(O)/xenstub.8 $(DESTDIR)$(MANDIR)/man8/xenstub.8
	$(INSTALL) -D -m 644 $(O)/xenstub-gdb.py $(DESTDIR)$(GDBDATADIR)/xenstub-gdb.py
	$(INSTALL) -m 644 $(LIB_SO) $(DESTDIR)$(LIBDIR)/
	ln -sf $(notdir $(LIB_SO)) $(DESTDIR)$(LIBDIR)/$(LIB_SONAME)
	ln -sf $(LIB_SONAME) $(DESTDIR)$(LIBDIR)/libxenstub.so
	$(INSTALL) -m 644 $(O)/libxenstub.a $(DESTDIR)$(LIBDIR)/libxenstub.a
	$(INSTALL) -m 644 $(O)/xenstub.pc $(DESTDIR)$(PKGCONFIGDIR)/xenstub.pc
	$(INSTALL) -D -m 644 lib/xenstub.h $(DESTDIR)$(INCLUDEDIR)/xenstub/xenstub.h
	for h in $(PUBLIC_HEADERS); do \
		$(INSTALL) -D -m 644 $$h $(DESTDIR)$(INCLUDEDIR)/xenstub/$$h || exit 1; \
	done

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/xenstub $(DESTDIR)$(MANDIR)/man8/xenstub.8 \
		$(DESTDIR)$(GDBDATADIR)/xenstub-gdb.py \
		$(DESTDIR)$(LIBDIR)/$(notdir $(LIB_SO)) \
		$(DESTDIR)$(LIBDIR)/$(LIB_SONAME) \
		$(DESTDIR)$(LIBDIR)/libxenstub.so \
		$(DESTDIR)$(LIBDIR)/libxenstub.a \
		$(DESTDIR)$(PKGCONFIGDIR)/xenstub.pc
	rm -rf $(DESTDIR)$(INCLUDEDIR)/xenstub
	rmdir $(DESTDIR)$(GDBDATADIR) 2>/dev/null || true
