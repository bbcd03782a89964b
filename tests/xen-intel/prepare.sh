#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Prepares what `make xen-test-intel` boots under Bochs (an emulated Intel CPU
# with VMX, EPT and MTF): Bochs itself (built once from its source tarball),
# a GRUB ISO that multiboots Xen 4.17 with dom0's uncompressed vmlinux and a
# small busybox initrd (the Xen tools, xenstub, the guests' kernel and initrd).
# Xen, the kernel and dom0's tools come from what `make xen-test-prepare`
# already cached (tests/xen-qemu/prepare.sh): nothing is downloaded here.
#
# Usage: prepare.sh --build DIR --qemu-cache DIR --cache DIR --out DIR --bochs-tarball FILE
#   --build          make's O (xenstub, tests/bench/min-listener, tests/xen-intel/xen-probe)
#   --qemu-cache     tests/xen-qemu's cache (debootstrap'd dom0 root, Xen, kernel)
#   --cache          this suite's cache (.cache/xen-intel: Bochs, the vmlinux)
#   --out            where the boot files go (DIR/xen-intel.iso, DIR/bochs ...)
#   --bochs-tarball  Bochs' source (bochs-783b58fd6.tar.xz)
# Environment: XEN_QEMU_KERNEL_PKG as for tests/xen-qemu/prepare.sh.
# Host packages: g++, make, patch (Bochs), grub-pc-bin, grub-common, xorriso, mtools
# (the ISO), cpio, python3, binutils.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build= qcache= cache= out= tarball=
while [ $# -gt 0 ]; do
	case "$1" in
	--build) build=$2; shift 2 ;;
	--qemu-cache) qcache=$2; shift 2 ;;
	--cache) cache=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--bochs-tarball) tarball=$2; shift 2 ;;
	*) echo "prepare.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
if [ -z "$build" ] || [ -z "$qcache" ] || [ -z "$cache" ] || [ -z "$out" ] || [ -z "$tarball" ]; then
	echo "usage: prepare.sh --build DIR --qemu-cache DIR --cache DIR --out DIR --bochs-tarball FILE" >&2
	exit 2
fi

start=$(date +%s)
say() { echo "xen-test-intel prepare: $*"; }
die() { echo "xen-test-intel prepare: error: $*" >&2; exit 1; }

# Bochs: the sha256 of the tarball and the configure line make the cache key.
BOCHS_SHA256=a472f147af36c37f541ea785bdf6dffbeef3376d2ea2f8cbf2b31d3abd11f810
BOCHS_CONFIGURE="--enable-x86-64 --enable-vmx=2 --enable-avx --enable-evex
 --enable-cpu-level=6 --enable-all-optimizations --enable-pci --disable-plugins
 --with-nogui --with-rfb --without-x --without-x11 --disable-debugger
 --disable-docbook --enable-monitor-mwait --disable-sb16 --disable-usb
 --disable-e1000 --disable-voodoo --disable-cdrom --disable-gameport"
# What dom0 runs, from the debootstrap'd root (libraries found by their
# NEEDED entries) and from the build.
XEN_BIN=/usr/lib/xen-4.17/bin
DOM0_TOOLS="xl xenstored xenconsoled xen-init-dom0 xenctx xen-access xen-hvmctx"
XEN_MODULES="xen-evtchn xen-privcmd xen-gntdev xen-gntalloc xenfs/xenfs"

export PATH=$PATH:/usr/sbin:/sbin
missing=
for tool in g++:g++ make:make patch:patch grub-mkrescue:grub-common xorriso:xorriso mformat:mtools \
	    cpio:cpio objdump:binutils python3:python3 dpkg-query:dpkg; do
	command -v "${tool%%:*}" >/dev/null 2>&1 || missing="$missing ${tool#*:}"
done
[ -d /usr/lib/grub/i386-pc ] || missing="$missing grub-pc-bin"
[ -z "$missing" ] || die "missing host tools; install the Debian packages:$missing"
[ "$(id -u)" = 0 ] || die "needs root (the initrds' device nodes)"
for f in "$build/xenstub" "$build/tests/bench/min-listener" "$build/tests/xen-intel/xen-probe"; do
	[ -x "$f" ] || die "$f is not built (run make first)"
done
[ -f "$tarball" ] || die "Bochs' source $tarball is missing (XEN_INTEL_BOCHS_TARBALL: bochs-emu/Bochs at commit 783b58fd6 as a tar.xz, sha256 $BOCHS_SHA256)"
rootfs=$qcache/rootfs
[ -f "$rootfs/.xen-test-stamp" ] || die "$rootfs is not prepared (make xen-test-prepare does it)"

mkdir -p "$cache" "$out"
cache=$(cd "$cache" && pwd)
out=$(cd "$out" && pwd)
build=$(cd "$build" && pwd)
qcache=$(cd "$qcache" && pwd)
rootfs=$qcache/rootfs

# ---- Bochs, built once ----
bochs=$cache/bochs
# patches to Bochs (bochs-*.patch here: each says what it fixes)
bpatches=$(ls "$here"/bochs-*.patch)
bkey="$BOCHS_SHA256 $(echo $BOCHS_CONFIGURE) $(cat $bpatches | sha256sum | cut -d' ' -f1)"
if [ ! -x "$bochs/bochs" ] || [ "$(cat "$bochs/.key" 2>/dev/null)" != "$bkey" ]; then
	echo "$BOCHS_SHA256  $tarball" | sha256sum -c --quiet - ||
		die "$tarball is not the expected Bochs source (sha256 differs)"
	say "building Bochs from $(basename "$tarball") (about 4 minutes on 2 cores)"
	t0=$(date +%s)
	rm -rf "$bochs" "$cache/bochs-src"
	mkdir -p "$cache/bochs-src"
	tar -xJf "$tarball" -C "$cache/bochs-src" --strip-components=1
	for p in $bpatches; do
		patch -s -p1 -d "$cache/bochs-src" <"$p" || die "cannot apply $p"
	done
	src=$cache/bochs-src/bochs
	# shellcheck disable=SC2086
	if ! (cd "$src" && ./configure $BOCHS_CONFIGURE && make -j"$(nproc)") \
		>"$cache/bochs-build.log" 2>&1; then
		tail -n 30 "$cache/bochs-build.log" >&2
		die "building Bochs failed (log: $cache/bochs-build.log)"
	fi
	mkdir -p "$bochs.tmp"
	cp "$src/bochs" "$src/bios/BIOS-bochs-latest" \
	   "$src/bios/VGABIOS-lgpl/VGABIOS-lgpl-latest.bin" "$bochs.tmp/"
	echo "$bkey" >"$bochs.tmp/.key"
	rm -rf "$cache/bochs-src"
	mv "$bochs.tmp" "$bochs"
	say "Bochs built in $(( $(date +%s) - t0 )) s"
fi

# ---- what tests/xen-qemu/prepare.sh cached: Xen, the kernel ----
xenver=$(dpkg-query --admindir="$rootfs/var/lib/dpkg" -W -f='${Version}' xen-utils-4.17)
[ -f "$qcache/xen-$xenver/xen" ] || die "$qcache/xen-$xenver/xen is missing (make xen-test-prepare)"
kpkg=${XEN_QEMU_KERNEL_PKG:-}
if [ -z "$kpkg" ]; then
	kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
	       sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n 1)
	[ -n "$kpkg" ] || die "cannot tell which kernel linux-image-amd64 depends on (apt-get update?)"
fi
kver=${kpkg#linux-image-}
kdir=$qcache/kernel-$kver
[ -f "$kdir/.done" ] || die "$kdir is missing (make xen-test-prepare)"

# ---- the uncompressed vmlinux (Xen's dom0 builder and libxc unpack xz slowly) ----
vmlinux=$cache/vmlinux-$kver
if [ ! -f "$vmlinux" ]; then
	say "extracting vmlinux from vmlinuz-$kver"
	python3 "$here/vmlinux.py" "$kdir/boot/vmlinuz-$kver" "$vmlinux.tmp"
	mv "$vmlinux.tmp" "$vmlinux"
fi

# ---- shared libraries: the closure of NEEDED entries, from dom0's root ----
# (xenstub's own extra libraries, missing there, come from this host: the
# same Debian 12 userland; dom0 checks every program with ld.so --list)
stage=$out/dom0-root
rm -rf "$stage"
mkdir -p "$stage"/{bin,sbin,dev,proc,sys,tmp,run,root,etc,var/log/xen/console,var/lib/xen}
ln -s ../run "$stage/var/run"
mkdir -p "$stage"/{lib64,lib/x86_64-linux-gnu,usr/local/bin,"$XEN_BIN",xen-test}
declare -A have=()
find_lib() {
	local lib=$1 d
	for d in "$rootfs/lib/x86_64-linux-gnu" "$rootfs/usr/lib/x86_64-linux-gnu"; do
		[ -e "$d/$lib" ] && { echo "$d/$lib"; return; }
	done
	d=$(ldconfig -p | awk -v l="$lib" '$1 == l && /x86-64/ { print $NF; exit }')
	[ -n "$d" ] && [ -e "$d" ] && { echo "$d"; return; }
	return 1
}
add_libs() { # add_libs BINARY: copies what it needs, recursively
	local lib path
	for lib in $(objdump -p "$1" | awk '/NEEDED/ { print $2 }'); do
		[ -n "${have[$lib]:-}" ] && continue
		have[$lib]=1
		path=$(find_lib "$lib") || die "$1 needs $lib, found neither in dom0's root nor on this host"
		case "$path" in "$rootfs"/*) ;; *) say "adding $lib from this host (dom0's root lacks it)" ;; esac
		cp -L "$path" "$stage/lib/x86_64-linux-gnu/$lib"
		add_libs "$path"
	done
}
cp "$rootfs/bin/busybox" "$stage/bin/busybox"
for t in $DOM0_TOOLS; do
	cp "$rootfs$XEN_BIN/$t" "$stage$XEN_BIN/$t"
	add_libs "$rootfs$XEN_BIN/$t"
done
for f in "$build/xenstub" "$build/tests/bench/min-listener" "$build/tests/xen-intel/xen-probe"; do
	install -m 755 "$f" "$stage/usr/local/bin/"
	add_libs "$f"
done
cp -L "$rootfs/lib64/ld-linux-x86-64.so.2" "$stage/lib64/"
# glibc loads it at run time (pthread_cancel, which xl uses)
cp -L "$(find_lib libgcc_s.so.1)" "$stage/lib/x86_64-linux-gnu/"
mkdir -p "$stage/etc/xen"
touch "$stage/etc/xen/xl.conf"
mkdir -p "$stage/usr/lib"
ln -s ../../lib/x86_64-linux-gnu "$stage/usr/lib/x86_64-linux-gnu"
# the kernel's Xen drivers, loaded with insmod in this order
mkdir -p "$stage/lib/modules"
for m in $XEN_MODULES; do
	cp "$kdir/lib/modules/$kver/kernel/drivers/xen/$m.ko" "$stage/lib/modules/"
done
echo "$XEN_MODULES" | tr ' ' '\n' | sed 's,.*/,,' >"$stage/lib/modules/order"
install -m 755 "$here/dom0-init.sh" "$stage/init"
mknod -m 600 "$stage/dev/console" c 5 1
mknod -m 666 "$stage/dev/null" c 1 3

# ---- the guests: the same kernel (uncompressed: libxc unpacks xz slowly)
# and a busybox initramfs ----
gstage=$out/guest-root
rm -rf "$gstage"
mkdir -p "$gstage"/{bin,dev,proc,sys,tmp}
cp "$rootfs/bin/busybox" "$gstage/bin/busybox"
ln -s busybox "$gstage/bin/sh"
install -m 755 "$here/guest-init.sh" "$gstage/init"
mknod -m 600 "$gstage/dev/console" c 5 1
mknod -m 666 "$gstage/dev/null" c 1 3
(cd "$gstage" && find . -print0 | cpio --null -o -H newc --quiet | gzip -6) \
	>"$stage/xen-test/guest-initrd.gz"
cp "$vmlinux" "$stage/xen-test/guest-vmlinux"
rm -rf "$gstage"

# ---- the ISO: GRUB (BIOS, multiboot v1: its multiboot2 path crashes under
# Bochs), Xen, dom0's vmlinux and initrd ----
iso=$out/iso
rm -rf "$iso"
mkdir -p "$iso/boot/grub"
cp "$qcache/xen-$xenver/xen" "$iso/boot/xen"
cp "$vmlinux" "$iso/boot/vmlinux"
# uncompressed: dom0's kernel unpacks a plain cpio at memcpy speed
(cd "$stage" && find . -print0 | cpio --null -o -H newc --quiet) >"$iso/boot/initrd"
rm -rf "$stage"
install -m 644 "$here/grub.cfg" "$iso/boot/grub/grub.cfg"
if ! grub-mkrescue -o "$out/xen-intel.iso.tmp" "$iso" >"$out/grub-mkrescue.log" 2>&1; then
	cat "$out/grub-mkrescue.log" >&2
	die "grub-mkrescue failed"
fi
mv "$out/xen-intel.iso.tmp" "$out/xen-intel.iso"
rm -rf "$iso"
cat >"$out/versions" <<EOF
xen-hypervisor-4.17-amd64 $xenver
$kpkg
bochs $BOCHS_SHA256
EOF
say "ready in $(( $(date +%s) - start )) s: Xen $xenver, kernel $kver, ISO $(du -m "$out/xen-intel.iso" | cut -f1) MiB in $out"
