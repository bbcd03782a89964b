#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# dom0's /init in the xen-test VM: starts the Xen tools by hand (what
# xencommons does), runs dom0_tests.py, then reboots, which with QEMU's
# -no-reboot ends the VM. Everything it says goes to the serial console.
export PATH=/usr/lib/xen-4.17/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8 PYTHONDONTWRITEBYTECODE=1

say() { echo "xen-test: $*"; }
finish() {
	say "dom0 done after $(cut -d' ' -f1 /proc/uptime) s of uptime: rebooting to end the VM"
	sync
	echo b >/proc/sysrq-trigger
	sleep 30
	say "sysrq reboot did not end the VM"
	exit 1
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
mkdir -p /var/log/xen/console /var/lib/xen /var/lib/xenstored /run/xen /run/xenstored /root
say "dom0 up after $(cut -d' ' -f1 /proc/uptime) s of uptime"

for m in xen-evtchn xen-gntdev xen-gntalloc xen-privcmd xenfs; do
	modprobe "$m" || say "modprobe $m failed"
done
mount -t xenfs xenfs /proc/xen || { say "cannot mount xenfs"; finish; }
xenstored --pid-file=/run/xenstored.pid || { say "xenstored did not start"; finish; }
xen-init-dom0 || { say "xen-init-dom0 failed"; finish; }
xenconsoled --log=guest --log-dir=/var/log/xen/console ||
	{ say "xenconsoled did not start"; finish; }
say "Xen tools up after $(cut -d' ' -f1 /proc/uptime) s of uptime"

# xentest.only=NAMES on dom0's command line (run.py --only) picks checks;
# xentest.control=1 (run.py --control) runs them without xenstub;
# xentest.timeout=SECONDS bounds them (run.py: its own bound less 2 min);
# xentest.repeat=N runs them N times on the same guests
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	xentest.only=*) export XQ_ONLY="${arg#xentest.only=}" ;;
	xentest.control=1) export XQ_CONTROL=1 ;;
	xentest.timeout=*) XQ_TEST_TIMEOUT="${arg#xentest.timeout=}" ;;
	xentest.repeat=*) export XQ_REPEAT="${arg#xentest.repeat=}" ;;
	esac
done
# The driver bounds every wait itself; this bounds the driver.
timeout -k 10 "${XQ_TEST_TIMEOUT:-780}" python3 /xen-test/dom0_tests.py
rc=$?
[ $rc -eq 124 ] && say "the tests did not finish in time"
say "dom0_tests.py exit status $rc"
finish
