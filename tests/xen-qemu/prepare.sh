#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Prepares what `make xen-test` boots, from Debian 12 packages only: Xen 4.17
# (multiboot image), a dom0 initrd (debootstrap'd userland with the Xen tools,
# gdb, busybox and the freshly built xenstub) and the guests' kernel and initrd.
#
# Usage: prepare.sh --build DIR --cache DIR --out DIR
#   --build  the build folder holding xenstub (make's O)
#   --cache  where downloads and the debootstrap'd root are kept between runs
#            (.cache/xen-qemu: `make distclean` removes it)
#   --out    where the boot files go (DIR/xen, DIR/vmlinuz, DIR/dom0-initrd.gz)
# Environment: XEN_QEMU_MIRROR (Debian mirror for debootstrap, default
# http://deb.debian.org/debian), XEN_QEMU_KERNEL_PKG (default: what
# linux-image-amd64 depends on). Needs root (debootstrap, device nodes) and
# the host packages debootstrap, cpio, gzip, apt and dpkg.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build= cache= out=
while [ $# -gt 0 ]; do
	case "$1" in
	--build) build=$2; shift 2 ;;
	--cache) cache=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	*) echo "prepare.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
if [ -z "$build" ] || [ -z "$cache" ] || [ -z "$out" ]; then
	echo "usage: prepare.sh --build DIR --cache DIR --out DIR" >&2
	exit 2
fi

start=$(date +%s)
say() { echo "xen-test prepare: $*"; }
die() { echo "xen-test prepare: error: $*" >&2; exit 1; }

# What dom0 needs from Debian (kept in the cache key of the root).
# debootstrap does not resolve virtual packages: gdb's libsource-highlight
# needs libboost-regex1.74.0-icu72, which libboost-regex1.74.0 provides.
INCLUDE=xen-utils-4.17,xenstore-utils,kmod,busybox-static,gdb,libboost-regex1.74.0,python3-minimal
MIRROR=${XEN_QEMU_MIRROR:-http://deb.debian.org/debian}
# Bump when what goes into the packed dom0 base changes.
BASE_FORMAT=1

export PATH=$PATH:/usr/sbin:/sbin
missing=
for tool in debootstrap:debootstrap cpio:cpio gzip:gzip apt-get:apt \
	    dpkg-deb:dpkg objdump:binutils chroot:coreutils; do
	command -v "${tool%%:*}" >/dev/null 2>&1 || missing="$missing ${tool#*:}"
done
[ -z "$missing" ] || die "missing host tools; install the Debian packages:$missing"
[ "$(id -u)" = 0 ] || die "needs root (debootstrap and the initrds' device nodes)"
[ -x "$build/xenstub" ] || die "$build/xenstub is not built (run make first)"

# An interrupted debootstrap may leave /proc or /sys mounted in its root.
unmount_under() {
	local m
	for m in $(awk -v d="$1/" 'index($2 "/", d) == 1 { print $2 }' /proc/mounts | sort -r); do
		umount "$m" || umount -l "$m" || die "cannot unmount $m"
	done
}

mkdir -p "$cache/debs" "$out"
cache=$(cd "$cache" && pwd)
out=$(cd "$out" && pwd)
build=$(cd "$build" && pwd)

# ---- dom0's root: debootstrap, cached ----
rootfs=$cache/rootfs
if [ ! -f "$rootfs/.xen-test-stamp" ] ||
   [ "$(cat "$rootfs/.xen-test-stamp")" != "$INCLUDE" ]; then
	say "debootstrap of Debian 12 for dom0 ($INCLUDE), a few minutes"
	unmount_under "$rootfs.tmp"
	rm -rf "$rootfs" "$rootfs.tmp"
	t0=$(date +%s)
	mkdir -p "$cache/debootstrap-debs"
	if ! debootstrap --variant=minbase --include="$INCLUDE" \
		--cache-dir="$cache/debootstrap-debs" bookworm \
		"$rootfs.tmp" "$MIRROR" >"$cache/debootstrap.log" 2>&1; then
		tail -n 20 "$cache/debootstrap.log" >&2
		die "debootstrap failed (log: $cache/debootstrap.log)"
	fi
	echo "$INCLUDE" >"$rootfs.tmp/.xen-test-stamp"
	mv "$rootfs.tmp" "$rootfs"
	say "debootstrap done in $(( $(date +%s) - t0 )) s"
fi
xenver=$(dpkg-query --admindir="$rootfs/var/lib/dpkg" -W -f='${Version}' xen-utils-4.17)
[ -n "$xenver" ] || die "xen-utils-4.17 is not installed in $rootfs"

# ---- downloads: the hypervisor matching dom0's tools, and the kernel ----
kpkg=${XEN_QEMU_KERNEL_PKG:-}
if [ -z "$kpkg" ]; then
	kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
	       sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n 1)
	[ -n "$kpkg" ] || die "cannot tell which kernel linux-image-amd64 depends on (apt-get update?)"
fi
kver=${kpkg#linux-image-}

fetch() { # fetch PACKAGE[=VERSION] GLOB: downloads once into the cache
	local pkg=$1 glob=$2
	if ! ls "$cache/debs/"$glob >/dev/null 2>&1; then
		say "downloading $pkg" >&2
		(cd "$cache/debs" && apt-get download -q "$pkg" 2>&1 |
		 grep -v '^W: Download is performed unsandboxed' >&2 || true)
		ls "$cache/debs/"$glob >/dev/null 2>&1 || die "apt-get download $pkg failed"
	fi
	ls "$cache/debs/"$glob | head -n 1
}
# apt writes '%3a' for an epoch's ':' in file names; these have no epoch
xendeb=$(fetch "xen-hypervisor-4.17-amd64=$xenver" "xen-hypervisor-4.17-amd64_${xenver}_amd64.deb")
kdeb=$(fetch "$kpkg" "${kpkg}_*_amd64.deb")

xendir=$cache/xen-$xenver
if [ ! -f "$xendir/xen" ]; then
	rm -rf "$xendir"
	mkdir -p "$xendir/x"
	dpkg-deb -x "$xendeb" "$xendir/x"
	gzip -dc "$xendir/x/boot/xen-4.17-amd64.gz" >"$xendir/xen.tmp"
	rm -rf "$xendir/x"
	mv "$xendir/xen.tmp" "$xendir/xen"
fi
kdir=$cache/kernel-$kver
if [ ! -f "$kdir/.done" ]; then
	rm -rf "$kdir"
	mkdir -p "$kdir/x"
	dpkg-deb -x "$kdeb" "$kdir/x"
	# keep the kernel and what dom0 loads: the Xen drivers
	mkdir -p "$kdir/boot" "$kdir/lib/modules/$kver/kernel/drivers"
	mv "$kdir/x/boot/vmlinuz-$kver" "$kdir/boot/"
	mv "$kdir/x/lib/modules/$kver/kernel/drivers/xen" "$kdir/lib/modules/$kver/kernel/drivers/"
	mv "$kdir/x/lib/modules/$kver/"modules.{order,builtin,builtin.modinfo} \
		"$kdir/lib/modules/$kver/" 2>/dev/null || true
	rm -rf "$kdir/x"
	touch "$kdir/.done"
fi
[ -f "$kdir/boot/vmlinuz-$kver" ] || die "$kdeb has no boot/vmlinuz-$kver"

# ---- the packed dom0 base: root + Xen modules + the guest kernel, cached ----
base=$cache/dom0-base.cpio.gz
key="$BASE_FORMAT $INCLUDE $xenver $kver"
if [ ! -f "$base" ] || [ "$(cat "$base.key" 2>/dev/null)" != "$key" ]; then
	say "packing dom0's root (Xen $xenver tools, kernel $kver)"
	t0=$(date +%s)
	stage=$cache/dom0-base.stage
	rm -rf "$stage"
	cp -a "$rootfs" "$stage"
	rm -f "$stage/.xen-test-stamp"
	# what a test VM never reads
	rm -rf "$stage"/usr/share/{doc,man,info,locale,i18n,lintian,bash-completion,zsh,common-licenses}
	rm -rf "$stage"/var/cache/apt/* "$stage"/var/lib/apt/lists/* "$stage"/var/log/*
	rm -rf "$stage"/usr/lib/python3.11/{test,idlelib,tkinter,ensurepip,lib2to3,turtledemo,pydoc_data}
	rm -rf "$stage"/usr/lib/xen-4.17/boot "$stage"/boot/*
	# the kernel's Xen drivers, with their dependencies resolved by depmod
	mkdir -p "$stage/lib/modules/$kver/kernel/drivers"
	cp -a "$kdir/lib/modules/$kver/kernel/drivers/xen" "$stage/lib/modules/$kver/kernel/drivers/"
	cp -a "$kdir/lib/modules/$kver/"modules.{order,builtin,builtin.modinfo} "$stage/lib/modules/$kver/" 2>/dev/null || true
	chroot "$stage" /sbin/depmod "$kver"
	mkdir -p "$stage/xen-test/guest"
	cp "$kdir/boot/vmlinuz-$kver" "$stage/xen-test/guest/vmlinuz"
	[ -c "$stage/dev/console" ] || { mkdir -p "$stage/dev"; mknod -m 600 "$stage/dev/console" c 5 1; }
	[ -c "$stage/dev/null" ] || mknod -m 666 "$stage/dev/null" c 1 3
	(cd "$stage" && find . -print0 | cpio --null -o -H newc --quiet | gzip -6) >"$base.tmp"
	rm -rf "$stage"
	mv "$base.tmp" "$base"
	echo "$key" >"$base.key"
	say "dom0 base packed in $(( $(date +%s) - t0 )) s ($(du -m "$base" | cut -f1) MiB)"
fi

# ---- the guest's initramfs: busybox and the test init ----
gstage=$out/guest-root
rm -rf "$gstage"
mkdir -p "$gstage"/{bin,dev,proc,sys,tmp}
cp "$rootfs/bin/busybox" "$gstage/bin/busybox"
ln -s busybox "$gstage/bin/sh"
install -m 755 "$here/guest-init.sh" "$gstage/init"
mknod -m 600 "$gstage/dev/console" c 5 1
mknod -m 666 "$gstage/dev/null" c 1 3

# ---- the overlay: dom0's /init, the tests, xenstub and what it links ----
ostage=$out/overlay
rm -rf "$ostage"
mkdir -p "$ostage/xen-test/guest" "$ostage/usr/local/bin" "$ostage/usr/lib/x86_64-linux-gnu"
install -m 755 "$here/dom0-init.sh" "$ostage/init"
install -m 644 "$here/dom0_tests.py" "$here/gdbside.py" "$here/hvmload.py" "$ostage/xen-test/"
install -m 755 "$build/xenstub" "$ostage/usr/local/bin/xenstub"
(cd "$gstage" && find . -print0 | cpio --null -o -H newc --quiet | gzip -9) \
	>"$ostage/xen-test/guest/initrd.gz"
# Libraries xenstub links that dom0's root lacks come from this host, the
# same Debian 12 userland (dom0 checks the result with ldd).
for lib in $(objdump -p "$build/xenstub" | awk '/NEEDED/ { print $2 }'); do
	if ! ls "$rootfs"/{lib,usr/lib}/x86_64-linux-gnu/"$lib" >/dev/null 2>&1; then
		src=$(ldd "$build/xenstub" | awk -v l="$lib" '$1 == l { print $3 }')
		[ -n "$src" ] && [ -f "$src" ] || die "xenstub needs $lib, found neither in dom0's root nor on this host"
		say "adding $lib from this host (dom0's root lacks it)"
		cp -L "$src" "$ostage/usr/lib/x86_64-linux-gnu/$lib"
	fi
done
(cd "$ostage" && find . -print0 | cpio --null -o -H newc --quiet | gzip -6) >"$out/overlay.cpio.gz"

cat "$base" "$out/overlay.cpio.gz" >"$out/dom0-initrd.gz.tmp"
mv "$out/dom0-initrd.gz.tmp" "$out/dom0-initrd.gz"
cp "$xendir/xen" "$out/xen"
cp "$kdir/boot/vmlinuz-$kver" "$out/vmlinuz"
rm -rf "$gstage" "$ostage" "$out/overlay.cpio.gz"
cat >"$out/versions" <<EOF
xen-hypervisor-4.17-amd64 $xenver
$kpkg
dom0 initrd $(du -m "$out/dom0-initrd.gz" | cut -f1) MiB
EOF
say "ready in $(( $(date +%s) - start )) s: Xen $xenver, kernel $kver, dom0 initrd $(du -m "$out/dom0-initrd.gz" | cut -f1) MiB in $out"
