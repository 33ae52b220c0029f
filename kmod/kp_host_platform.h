/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel implementation of the VM core's platform (kmod/vm/platform.h).
 * Deliberately small: every VM source includes it, so each kernel header
 * pulled in here is namespace the portable core must not collide with.
 * linux/compiler.h also brings __annotate_jump_table, which vm.c uses (when
 * defined) to show objtool its dispatch table.
 */
#ifndef KTAP_KMOD_HOST_PLATFORM_H
#define KTAP_KMOD_HOST_PLATFORM_H

#include <linux/compiler.h>
#include <linux/errno.h>
#include <linux/limits.h>
#include <linux/string.h>
#include <linux/types.h>

typedef s8 kp_s8;
typedef u8 kp_u8;
typedef s16 kp_s16;
typedef u16 kp_u16;
typedef s32 kp_s32;
typedef u32 kp_u32;
typedef s64 kp_s64;
typedef u64 kp_u64;
typedef size_t kp_size_t;
typedef uintptr_t kp_uintptr_t;

#define KP_S64_MIN S64_MIN
#define KP_S64_MAX S64_MAX

#define kp_memcpy memcpy
#define kp_memmove memmove
#define kp_memset memset
#define kp_memcmp memcmp
#define kp_strlen strlen

#define KP_EINVAL EINVAL
#define KP_ENOMEM ENOMEM
#define KP_E2BIG E2BIG

/*
 * Retpolines make every indirect jump a mispredicted thunk call: the
 * interpreter then dispatches with direct branches (vm.c).
 */
#if defined(CONFIG_RETPOLINE) || defined(CONFIG_MITIGATION_RETPOLINE)
#define KP_DISPATCH_SWITCH 1
#endif

#define kp_likely(x) likely(x)
#define kp_unlikely(x) unlikely(x)

kp_u64 kp_wall_time_ns(void);
kp_u64 kp_clock_ns(void);
int kp_cpu_id(void);
int kp_num_cpus(void);
const char *kp_arch(void);
const char *kp_kernel_release(void);

#endif /* KTAP_KMOD_HOST_PLATFORM_H */
