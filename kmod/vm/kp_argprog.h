/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Print programs: a tracepoint's argstr as its print fmt formats it, from
 * the program ktapd compiles (encoding in proto/ktapvm_abi.h, "Print
 * programs"). The module checks one at ATTACH and runs it per argstr; the
 * unit tests run it against libtraceevent on this machine's events.
 */
#ifndef KTAP_VM_KP_ARGPROG_H
#define KTAP_VM_KP_ARGPROG_H

#include "platform.h"
#include "../../proto/ktapvm_abi.h"

/* What a program reads: one record. */
struct kp_argprog_env {
	const kp_u8 *raw;
	kp_u32 rawlen;
	/*
	 * The kernel symbol at addr into buf: "name+0xoff" (off: addr's
	 * offset in it) or "name"; its length, or < 0 when there is none
	 * (the address prints as 0x%llx then). NULL: never one.
	 */
	long (*symbol)(void *ctx, kp_u64 addr, int off, char *buf,
		       kp_size_t size);
	void *ctx;
};

/* 0 when prog (len bytes) is a well-formed program; else -1. */
int kp_argprog_check(const void *prog, kp_size_t len);

/*
 * Runs a checked program on env's record into buf: the length written
 * (what fits of size), or -1 when the record is too short for it.
 */
long kp_argprog_run(const void *prog, kp_size_t len,
		    const struct kp_argprog_env *env, char *buf,
		    kp_size_t size);

#endif /* KTAP_VM_KP_ARGPROG_H */
