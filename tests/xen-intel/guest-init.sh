#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# /init of the xen-test-intel Linux guest (busybox only): prints what the
# host's checks compare xenstub against, a ready line, then a counter every
# second; a user-space loop on each CPU keeps the vCPUs busy in user mode
# part of the time, so that stops land there too (CR3 then holds the user
# page table of a KPTI pair).
#
# Console protocol (hvc0, logged by xenconsoled in dom0):
#   XI-VERSION <the guest's /proc/version>
#   XI-KPTI <the meltdown line of /sys/devices/system/cpu/vulnerabilities>
#   XI-CPUS <number of online CPUs>
#   XI-SYM <name> <address>        kernel symbols from /proc/kallsyms: those
#                                  the checks need and every per-CPU one, with
#                                  xi.kallsyms=full on the kernel's command
#                                  line (reading kallsyms is slow under
#                                  emulation), else only _text
#   XI-KALLSYMS <uptime before the symbols> <uptime after>
#   XI-READY
#   XI-TICK <n> <hostname> <loops on CPU 0> <loops on CPU 1>   every second
# The tick line runs hostname (uname: __x64_sys_newuname) every second; each
# user loop sleeps (nanosleep) 3 times a second on its own CPU.
export PATH=/bin
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /tmp
hostname xi-guest

echo "XI-VERSION $(cat /proc/version)"
echo "XI-KPTI $(cat /sys/devices/system/cpu/vulnerabilities/meltdown 2>&1)"
ncpu=$(grep -c ^processor /proc/cpuinfo)
echo "XI-CPUS $ncpu"
t0=$(cut -d' ' -f1 /proc/uptime)
if grep -q xi.kallsyms=full /proc/cmdline; then
	grep -E '^0000000000[0-9a-f]{6} | (_text|linux_banner|jiffies_64|idt_table|init_stack|__x64_sys_newuname|__x64_sys_clock_nanosleep|__x64_sys_getppid|__x64_sys_reboot|asm_sysvec_xen_hvm_callback|__per_cpu_offset)$' /proc/kallsyms |
		while read -r addr type name; do echo "XI-SYM $name $addr"; done
else
	grep -m 1 ' _text$' /proc/kallsyms | while read -r addr type name; do echo "XI-SYM $name $addr"; done
fi
echo "XI-KALLSYMS $t0 $(cut -d' ' -f1 /proc/uptime)"
# a user-space loop per CPU, spinning a little then sleeping: counts in a
# file on tmpfs
echo 0 >/tmp/loop0
echo 0 >/tmp/loop1
i=0
while [ $i -lt "$ncpu" ]; do
	taskset -c $i sh -c 'n=0; while :; do
		j=0; while [ $j -lt 30 ]; do j=$((j + 1)); done
		n=$((n + 1)); echo $n >/tmp/loop'$i'; sleep 0.3; done' &
	i=$((i + 1))
done
echo "XI-READY"
n=0
while :; do
	n=$((n + 1))
	l0=0 l1=0
	read -r l0 </tmp/loop0
	read -r l1 </tmp/loop1
	echo "XI-TICK $n $(hostname) $l0 $l1"
	sleep 1
done
