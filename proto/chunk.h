/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The ktap bytecode container: what ktapctl writes, what ktapd and the kernel
 * read (kmod/vm/load.c) and verify (kmod/vm/verify.c). No includes: shared by
 * user space and the kernel module.
 *
 * All integers are little-endian. "str" is a u32 byte length followed by that
 * many bytes (no terminating NUL; may contain NULs). The layout, in order:
 *
 *   header
 *     u8[4]  magic        "\x1bKTP"
 *     u16    version      KP_CHUNK_VERSION; any other value is refused
 *     u16    flags        0 (reserved, must be zero)
 *     u32    size         total chunk size in bytes, header included
 *     str    source       script name for messages ("script.kp", "-e")
 *
 *   globals                (slot i of G() is the i-th name; names are unique)
 *     u32    nglobals     <= KP_MAX_GLOBALS
 *     str    name[nglobals]
 *
 *   functions              (function 0 is the main chunk)
 *     u32    nfuncs       1 ..= KP_MAX_FUNCS
 *     per function:
 *       u16  parent       index of the enclosing function (< own index),
 *                         0xffff for function 0
 *       u8   nparams      fixed parameters, in R(0) .. R(nparams-1)
 *       u8   framesize    registers used, nparams <= framesize <= KP_MAX_REGS
 *       u8   nupvals      <= KP_MAX_UPVALS
 *       u8   flags        0 (reserved)
 *       u16  line         line where the function is defined (0 for main)
 *       str  name         for messages and listings ("main", "f", "trace@3")
 *       u32  ncode        1 ..= KP_MAX_CODE instructions
 *       u32  code[ncode]
 *       u32  line[ncode]  source line of each instruction
 *       u32  nconsts      <= KP_MAX_CONSTS
 *       per constant: u8 type (KP_CONST_*), then
 *             NIL, FALSE, TRUE: nothing; INT: i64; STR: str
 *       per upvalue (nupvals times):
 *             u8 instack  1: captures register idx of the enclosing frame
 *                         0: captures upvalue idx of the enclosing function
 *             u8 idx
 *
 *   probes
 *     u32    nprobes      <= KP_MAX_PROBES
 *     per probe:
 *       u8   kind         KP_PROBE_*
 *       u8   flags        0 (reserved)
 *       u16  handler      function index (> 0) run per event; its parent is 0,
 *                         it has no parameters and no upvalues
 *       u16  filter       function index evaluated before the handler (its
 *                         first result decides), or KP_NO_FUNC
 *       u16  line         line of the probe block
 *       u64  period_ns    TICK and PROFILE: the period (> 0); otherwise 0
 *       str  spec         TRACE: the event list as written ("sched:*,
 *                         syscalls:sys_enter_open"); TICK/PROFILE: the
 *                         written name ("tick-1s"); END: ""
 *
 * Nothing may follow the last probe: trailing bytes are refused.
 */
#ifndef KTAP_PROTO_CHUNK_H
#define KTAP_PROTO_CHUNK_H

#define KP_CHUNK_MAGIC "\x1bKTP"
#define KP_CHUNK_VERSION 1

#define KP_CONST_NIL 0
#define KP_CONST_FALSE 1
#define KP_CONST_TRUE 2
#define KP_CONST_INT 3
#define KP_CONST_STR 4

#define KP_PROBE_TRACE 1 /* trace EVENTDEF [/filter/] { } */
#define KP_PROBE_END 2 /* trace_end { } */
#define KP_PROBE_TICK 3 /* tick-N { }: one CPU */
#define KP_PROBE_PROFILE 4 /* profile-N { }: every CPU */

#define KP_NO_FUNC 0xffffu

/* Limits, enforced by the compiler and again by the verifier. */
#define KP_MAX_REGS 250
#define KP_MAX_UPVALS 60
#define KP_MAX_FUNCS 4096
#define KP_MAX_NESTING 32 /* depth of nested function definitions */
#define KP_MAX_CODE (1u << 20)
#define KP_MAX_CONSTS (1u << 17)
#define KP_MAX_GLOBALS 4096
#define KP_MAX_PROBES 1024
#define KP_MAX_STR (1u << 20) /* longest string literal or name */
#define KP_MAX_CHUNK (16u << 20)

#endif /* KTAP_PROTO_CHUNK_H */
