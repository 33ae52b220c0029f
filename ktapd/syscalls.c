// SPDX-License-Identifier: GPL-2.0
/* Syscall numbers and the kernel's text for syscall events (syscalls.h). */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "syscalls.h"
#include "syscalls_table.h"

unsigned int syscalls_count(void)
{
	return ELEMENTSOF(syscalls_table);
}

int syscalls_nr(const char *name)
{
	unsigned int nr;

	for (nr = 0; nr < ELEMENTSOF(syscalls_table); nr++)
		if (syscalls_table[nr] && strcmp(syscalls_table[nr], name) == 0)
			return (int)nr;
	return -1;
}

/* snprintf that keeps counting the full length once buf is full. */
static int append(char *buf, size_t size, int len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int append(char *buf, size_t size, int len, const char *fmt, ...)
{
	size_t off = (size_t)len < size ? (size_t)len : size;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf + off, size - off, fmt, ap);
	va_end(ap);
	return n < 0 ? len : len + n;
}

int syscalls_print_enter(char *buf, size_t size, const char *name,
			 const char *const *argnames, const uint64_t *args,
			 int nargs)
{
	int i, len;

	len = append(buf, size, 0, "sys_%s(", name);
	for (i = 0; i < nargs; i++) {
		const char *sep = i == nargs - 1 ? "" : ", ";

		/* print_syscall_enter(): small values in decimal. */
		if (args[i] < 10)
			len = append(buf, size, len, "%s: %" PRIu64 "%s",
				     argnames[i], args[i], sep);
		else
			len = append(buf, size, len, "%s: 0x%" PRIx64 "%s",
				     argnames[i], args[i], sep);
	}
	return append(buf, size, len, ")");
}

int syscalls_print_exit(char *buf, size_t size, const char *name,
			uint64_t ret)
{
	return snprintf(buf, size, "sys_%s -> 0x%" PRIx64, name, ret);
}
