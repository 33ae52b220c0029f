// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel implementation of the VM core's platform services. Kept out of line
 * so that kp_host_platform.h need not pull timekeeping, SMP and utsname
 * headers into every VM source. All of these are safe in any context,
 * including NMI: the VM calls them from probes.
 */
#include <linux/cpumask.h>
#include <linux/ktime.h>
#include <linux/smp.h>
#include <linux/utsname.h>

#include "kp_host_platform.h"

kp_u64 kp_wall_time_ns(void)
{
	/*
	 * Not ktime_get_real_ns(): its seqcount retry loop spins forever in
	 * an NMI that interrupted a timekeeping update.
	 */
	return ktime_get_real_fast_ns();
}

kp_u64 kp_clock_ns(void)
{
	/*
	 * Not local_clock(): where the TSC is unstable (qemu's TCG) it is
	 * clamped to one tick past the CPU's last tick, which does not come
	 * while a handler runs with interrupts off. This reads the
	 * clocksource, NMI-safe.
	 */
	return ktime_get_mono_fast_ns();
}

int kp_cpu_id(void)
{
	/* Probes run with preemption off; elsewhere any recent CPU will do. */
	return raw_smp_processor_id();
}

int kp_num_cpus(void)
{
	return num_online_cpus();
}

const char *kp_arch(void)
{
	return init_utsname()->machine;
}

const char *kp_kernel_release(void)
{
	return init_utsname()->release;
}
