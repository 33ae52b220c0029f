/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Syscall events: the syscall number behind each syscalls:sys_enter_NAME /
 * sys_exit_NAME event (a table generated from <asm/unistd.h> at build time),
 * and the line the kernel's trace output prints for them, which does not
 * come from their format files' "print fmt".
 */
#ifndef KTAPD_SYSCALLS_H
#define KTAPD_SYSCALLS_H

#include <stddef.h>
#include <stdint.h>

/* Numbers run from 0 to syscalls_count() - 1. */
unsigned int syscalls_count(void);

/*
 * The number of the syscall whose events are sys_enter_NAME/sys_exit_NAME,
 * or -1 when the build-time table does not know it.
 */
int syscalls_nr(const char *name);

/*
 * argstr of a syscall event, as kernel/trace/trace_syscalls.c prints it:
 * "sys_NAME(arg: value, ...)" on entry, "sys_NAME -> 0xRET" on exit.
 * Returns the length the full text has (snprintf rules).
 */
int syscalls_print_enter(char *buf, size_t size, const char *name,
			 const char *const *argnames, const uint64_t *args,
			 int nargs);
int syscalls_print_exit(char *buf, size_t size, const char *name,
			uint64_t ret);

#endif /* KTAPD_SYSCALLS_H */
