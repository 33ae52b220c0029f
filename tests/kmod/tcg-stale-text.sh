# SPDX-License-Identifier: GPL-2.0
# Not a test of ktap: the reproducer for run-qemu.py's TCG_THREAD. Two
# tasks make syscalls while the shell arms and disarms the sys_enter
# tracepoint, so the kernel patches syscall_trace_enter's static branch
# under them. With --tcg-thread multi, qemu 7.2 hangs within seconds (the
# hang report shows a vCPU looping through asm_exc_int3 on that branch);
# with the default single thread, every toggle completes. No module:
#
#   tests/kmod/run-qemu.py --kernel /boot/vmlinuz-RELEASE \
#       --bin build/tests/kmod/ktapvm-target \
#       --init tests/kmod/tcg-stale-text.sh [--tcg-thread multi]
E=/sys/kernel/tracing/events/raw_syscalls/sys_enter/enable
/bin/ktapvm-target ppid 2000000000 &
/bin/ktapvm-target ppid 2000000000 &
i=0
while [ $i -lt 200 ]; do
	echo 1 >$E
	echo 0 >$E
	i=$((i + 1))
	[ $((i % 50)) != 0 ] || echo "toggled $i"
done
kill %1 %2
echo "tcg-stale-text: 200 toggles"
