#!/bin/busybox sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# dom0's /init in the xen-test-intel machine (busybox only): starts the Xen
# tools by hand, then serves the host's test driver on an emulated serial
# port: each request is a shell command, each answer its output and exit
# status. A second serial port carries the GDB remote protocol between gdb
# on the host and xenstub here (bridged by nc; the driver starts both).
#
# Serial protocol (on $CMD_TTY, raw):
#   host:  XC <id> <timeout-seconds> <n>, then the command in n lines
#   dom0:  XC-OUT <id>, the output (stdout and stderr), a newline,
#          XC-END <id> <exit status>
# dom0 says XC-HELLO <uptime> on the port when it starts serving. A
# command runs in a subshell (no exec: under emulation each exec of a PV
# dom0 costs tens of milliseconds); with a timeout other than 0, under
# timeout -s KILL.
# Everything else goes to hvc0 (Xen's console on com1, a file on the host).
/bin/busybox mkdir -p /usr/bin /usr/sbin
/bin/busybox --install -s
export PATH=/usr/lib/xen-4.17/bin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root

say() { echo "XI-DOM0: $*"; }

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
mkdir -p /var/log/xen/console /var/lib/xen /var/lib/xenstored /run/xen /run/xenstored /run/xenstub
say "up after $(cut -d' ' -f1 /proc/uptime) s of uptime"

for m in $(cat /lib/modules/order); do
	insmod "/lib/modules/$m.ko" || say "insmod $m failed"
done
mount -t xenfs xenfs /proc/xen || say "cannot mount xenfs"
xenstored --pid-file=/run/xenstored.pid || say "xenstored did not start"
xen-init-dom0 || say "xen-init-dom0 failed"
xenconsoled --log=guest --log-dir=/var/log/xen/console || say "xenconsoled did not start"
ip link set lo up
# dom0 first: the host waits on it through the serial ports
xl sched-credit2 -d 0 -w 1024 >/dev/null 2>&1 || say "cannot raise dom0's scheduler weight"
say "Xen tools up after $(cut -d' ' -f1 /proc/uptime) s of uptime"

# The serial ports: com1 is Xen's; dom0 drives com2 (commands) and com4 (gdb).
CMD_TTY=/dev/ttyS1
GDB_TTY=/dev/ttyS3
dmesg | grep -i 'ttyS' | sed 's/^/XI-DOM0: dmesg: /'
cat /proc/tty/driver/serial 2>/dev/null | sed 's/^/XI-DOM0: serial: /'
for t in $CMD_TTY $GDB_TTY; do
	stty -F "$t" 115200 raw -echo -echoe -echok -echoctl -echoke -ixon -ixoff -crtscts clocal -hupcl ||
		say "stty $t failed"
done

serve() {
	echo "XC-HELLO $(cut -d' ' -f1 /proc/uptime)"
	while IFS= read -r line; do
		case "$line" in "XC "*) ;; *) continue ;; esac
		set -- $line
		id=$2 tmo=$3 n=$4 cmd=
		while [ "$n" -gt 0 ] && IFS= read -r l; do
			cmd="$cmd$l
"
			n=$((n - 1))
		done
		if [ "$tmo" = 0 ]; then
			(eval "$cmd") >/tmp/xc.out 2>&1 </dev/null
		else
			timeout -s KILL "$tmo" sh -c "$cmd" >/tmp/xc.out 2>&1 </dev/null
		fi
		rc=$?
		echo "XC-OUT $id"
		cat /tmp/xc.out
		echo
		echo "XC-END $id $rc"
	done
}
say "serving commands on $CMD_TTY"
while :; do
	serve <"$CMD_TTY" >"$CMD_TTY"
	say "command channel closed; serving again"
	sleep 1
done
