#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# /init of the xen-test guests (PVH and PV, busybox only): prints what dom0's
# tests compare xenstub against, a ready line, then a counter every second.
#
# Console protocol (hvc0, logged by xenconsoled in dom0):
#   XQ-VERSION <the guest's /proc/version>
#   XQ-SYM <name> <address>        kernel symbols from /proc/kallsyms (a static
#                                  name may come more than once)
#   XQ-READY
#   XQ-TICK <n> <hostname>         every second, for as long as the guest runs
# The host name is the scratch string: it lives in the kernel's init_uts_ns
# (whose address is printed above), a test changes one byte of it through
# xenstub, and the next ticks show whether the guest sees the change.
export PATH=/bin
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
hostname xq-scratch-a

echo "XQ-VERSION $(cat /proc/version)"
# __x64_sys_newuname runs every second: hostname calls uname(). The guest's
# clock, read by dom0 when the counter stops: jiffies_64; each vCPU's
# vcpu_info (per-CPU pointer xen_vcpu, per-CPU areas at __per_cpu_offset[])
# whose time fields are Xen's pvclock; pvclock's last_value, the largest
# time any vCPU read (a static: every last_value is printed); each CPU's
# call_single_queue and runqueue (per-CPU), for the stall report
awk '$3 == "linux_banner" || $3 == "init_uts_ns" || $3 == "_text" ||
     $3 == "__x64_sys_newuname" || $3 == "jiffies_64" || $3 == "xen_vcpu" ||
     $3 == "__per_cpu_offset" || $3 == "last_value" || $3 == "call_single_queue" ||
     $3 == "runqueues" { print "XQ-SYM", $3, $1 }' /proc/kallsyms
echo "XQ-READY"
i=0
while :; do
	i=$((i + 1))
	echo "XQ-TICK $i $(hostname)"
	sleep 1
done
