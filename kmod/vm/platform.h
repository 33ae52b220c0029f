/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one door between the VM core and its host. Code under kmod/vm/ includes
 * only this header (plus its own and proto/ headers), never libc or kernel
 * headers directly. Each host supplies "kp_host_platform.h", found through
 * its include path: kmod/kp_host_platform.h for the kernel module and
 * ktapd/kp_host_platform.h for user space (ktapd, tests, fuzzers). It must
 * provide:
 *
 *   types     kp_s8 kp_u8 kp_s16 kp_u16 kp_s32 kp_u32 kp_s64 kp_u64
 *             kp_size_t kp_uintptr_t, KP_S64_MIN, KP_S64_MAX
 *   memory    kp_memcpy kp_memmove kp_memset kp_memcmp kp_strlen
 *   errors    KP_EINVAL KP_ENOMEM KP_E2BIG (positive errno values)
 *   hints     kp_likely(x) kp_unlikely(x)
 *   time      kp_u64 kp_wall_time_ns(void)       wall clock, ns since epoch
 *             kp_u64 kp_clock_ns(void)           monotonic ns, cheap, safe in
 *                                                any context (time budget)
 *   cpus      int kp_cpu_id(void), int kp_num_cpus(void)
 *   system    const char *kp_arch(void)          e.g. "x86_64"
 *             const char *kp_kernel_release(void) e.g. "6.1.0-26-amd64"
 *
 * The VM never allocates from its host: all memory comes from the arena
 * handed to kp_vm_create(). No floating point anywhere in the core.
 */
#ifndef KTAP_VM_PLATFORM_H
#define KTAP_VM_PLATFORM_H

#include "kp_host_platform.h"

#define KP_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif /* KTAP_VM_PLATFORM_H */
