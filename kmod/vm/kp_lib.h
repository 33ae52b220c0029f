/* SPDX-License-Identifier: GPL-2.0 */
/* The built-in functions, indexed by their KP_BI_* ids (proto/opcodes.h). */
#ifndef KTAP_VM_KP_LIB_H
#define KTAP_VM_KP_LIB_H

#include "kp_state.h"

/* exit() was called: the interpreter unwinds and the run returns KP_EXITED. */
#define KP_LIB_EXIT (-2)

/* The name scripts call it by ("print", "table.new"). */
const char *kp_builtin_name(int id);

/*
 * Call built-in id (< KP_BI__COUNT) with args[0..nargs). Results go to
 * vm->bires; returns their count, KP_ERROR (message recorded) or
 * KP_LIB_EXIT. The arguments must stay reachable (they are registers).
 */
int kp_lib_call(struct kp_vm *vm, unsigned int id, const struct kp_value *args,
		int nargs);

/*
 * Text to number as tonumber() and script arguments read it: optional
 * blanks and sign, then decimal or 0x hex digits. Returns 1 and *out, or
 * 0 when the text is not a number that fits.
 */
int kp_lib_str2num(const char *s, kp_size_t len, kp_s64 *out);

#endif /* KTAP_VM_KP_LIB_H */
