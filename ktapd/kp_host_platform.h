/* SPDX-License-Identifier: GPL-2.0 */
/* User-space implementation of the VM core's platform (kmod/vm/platform.h). */
#ifndef KTAP_USER_HOST_PLATFORM_H
#define KTAP_USER_HOST_PLATFORM_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef int8_t kp_s8;
typedef uint8_t kp_u8;
typedef int16_t kp_s16;
typedef uint16_t kp_u16;
typedef int32_t kp_s32;
typedef uint32_t kp_u32;
typedef int64_t kp_s64;
typedef uint64_t kp_u64;
typedef size_t kp_size_t;
typedef uintptr_t kp_uintptr_t;

#define KP_S64_MIN INT64_MIN
#define KP_S64_MAX INT64_MAX

#define kp_memcpy memcpy
#define kp_memmove memmove
#define kp_memset memset
#define kp_memcmp memcmp
#define kp_strlen strlen

#define KP_EINVAL EINVAL
#define KP_ENOMEM ENOMEM
#define KP_E2BIG E2BIG

#define kp_likely(x) __builtin_expect(!!(x), 1)
#define kp_unlikely(x) __builtin_expect(!!(x), 0)

kp_u64 kp_wall_time_ns(void);
kp_u64 kp_clock_ns(void);
int kp_cpu_id(void);
int kp_num_cpus(void);
const char *kp_arch(void);
const char *kp_kernel_release(void);

#endif /* KTAP_USER_HOST_PLATFORM_H */
