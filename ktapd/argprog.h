/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Print programs for the kmod engine's argstr: a tracepoint's print fmt,
 * as libtraceevent parsed it, compiled to the encoding of
 * proto/ktapvm_abi.h ("Print programs") that kmod/vm/argprog.c runs.
 */
#ifndef KTAPD_ARGPROG_H
#define KTAPD_ARGPROG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <traceevent/event-parse.h>

struct argprog_info {
	/* Not compiled: what the program cannot express (a __print_hex(),
	 * %pI4, an unknown op...), so argstr stays nil there. */
	const char *why;
	/* It names kernel variables (vmemmap_base, jiffies): they read 0,
	 * where libtraceevent reads their address when it knows it. */
	bool kvars;
};

/* tev's argstr ("NAME: " and its print fmt) as a program in out: its
 * length, or -1 (info->why says why). */
long argprog_compile(const struct tep_event *tev, void *out, size_t size,
		     struct argprog_info *info);

/* kp_argprog_env.symbol from tep's kallsyms (tep_parse_kallsyms()). */
long argprog_symbol(struct tep_handle *tep, uint64_t addr, int off, char *buf,
		    size_t size);

#endif /* KTAPD_ARGPROG_H */
