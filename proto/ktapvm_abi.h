/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The ioctl ABI of /dev/ktapvm (kmod/): how ktapd's kmod engine drives a
 * session of the in-kernel VM. Shared by the module and user space; only
 * linux/types.h types, so it builds on either side. doc/ktapvm.md explains
 * the life of a session, the output stream and the concurrency scheme.
 *
 * Conventions, for every command:
 * - The argument is a struct that starts with `__u32 size`, set by the
 *   caller to sizeof() the struct as it knows it. The module reads it with
 *   copy_struct_from_user(): a smaller (older) struct is zero-extended, a
 *   larger (newer) one is accepted only if the bytes the module does not
 *   know are zero (else E2BIG). A size below the first version of the
 *   struct (KTAPVM_*_SIZE_VER0) is EINVAL, above a page E2BIG.
 * - The size bits of the command number are ignored: the struct's size
 *   field is what counts, so headers and modules of different versions
 *   agree on the command numbers.
 * - Pointers travel as __u64. Fields marked "reserved", and fields the
 *   event kind does not use, must be zero (else EINVAL).
 * - "out" fields are written back (only within the caller's size).
 *
 * /dev/ktapvm (root: CAP_SYS_ADMIN at open) answers VERSION and CREATE;
 * CREATE returns a session fd, which answers the other commands, read()
 * (the session output) and poll(). Closing the session fd stops and frees
 * the session, whatever state it is in.
 */
#ifndef KTAP_PROTO_KTAPVM_ABI_H
#define KTAP_PROTO_KTAPVM_ABI_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define KTAPVM_DEVICE "/dev/ktapvm"
#define KTAPVM_ABI_VERSION 1

#define KTAPVM_IOC_TYPE 0xb7

/* On /dev/ktapvm. */
#define KTAPVM_IOC_VERSION _IOWR(KTAPVM_IOC_TYPE, 0x00, struct ktapvm_version)
#define KTAPVM_IOC_CREATE _IOW(KTAPVM_IOC_TYPE, 0x01, struct ktapvm_create)
/* On a session fd. */
#define KTAPVM_IOC_LOAD _IOWR(KTAPVM_IOC_TYPE, 0x10, struct ktapvm_load)
#define KTAPVM_IOC_PROBE _IOWR(KTAPVM_IOC_TYPE, 0x11, struct ktapvm_probe)
#define KTAPVM_IOC_ATTACH _IOW(KTAPVM_IOC_TYPE, 0x12, struct ktapvm_attach)
#define KTAPVM_IOC_START _IOW(KTAPVM_IOC_TYPE, 0x13, struct ktapvm_start)
#define KTAPVM_IOC_STOP _IOW(KTAPVM_IOC_TYPE, 0x14, struct ktapvm_stop)
#define KTAPVM_IOC_STATS _IOWR(KTAPVM_IOC_TYPE, 0x15, struct ktapvm_stats)
#define KTAPVM_IOC_DUMP _IOWR(KTAPVM_IOC_TYPE, 0x16, struct ktapvm_dump)
#define KTAPVM_IOC_SNAPSHOT _IOWR(KTAPVM_IOC_TYPE, 0x17, struct ktapvm_dump)

/* Event kinds of ATTACH; bit (1 << kind) of ktapvm_version.features. */
#define KTAPVM_EV_TRACEPOINT 1
#define KTAPVM_EV_KPROBE 2
#define KTAPVM_EV_KRETPROBE 3
#define KTAPVM_EV_UPROBE 4
#define KTAPVM_EV_URETPROBE 5
#define KTAPVM_EV_TICK 6
#define KTAPVM_EV_PROFILE 7
/*
 * syscalls:sys_enter_NAME / sys_exit_NAME without perf: the module's own
 * probe on the kernel's sys_enter / sys_exit tracepoints, one per session
 * and direction, dispatching on the syscall number.
 */
#define KTAPVM_EV_SYS_ENTER 8
#define KTAPVM_EV_SYS_EXIT 9

/* Other features. */
#define KTAPVM_FEAT_KERNEL_READ (1ull << 32) /* kernel_string() (no lockdown) */
#define KTAPVM_FEAT_STACK (1ull << 33) /* stack(): kernel stacks, symbolized */
#define KTAPVM_FEAT_USTACK (1ull << 34) /* ustack(): frame-pointer walk */
#define KTAPVM_FEAT_SNAPSHOT (1ull << 35) /* SNAPSHOT, START with restore */
#define KTAPVM_FEAT_CHILDREN (1ull << 36) /* KTAPVM_ATTACH_CHILDREN */
/* STRING and CHARS tracepoint fields are strings (KTAPVM_FIELD_*) */
#define KTAPVM_FEAT_STRINGS (1ull << 37)
/*
 * Bit 38 was KTAPVM_FEAT_ARGFMT: TRACEPOINT argfmt as a printf format of
 * plain fields. Retired for KTAPVM_FEAT_ARGPROG; never offered again.
 */
/* TRACEPOINT takes argfmt as a print program (struct below) */
#define KTAPVM_FEAT_ARGPROG (1ull << 39)

/* VERSION: what this module offers. All fields but size are out. */
struct ktapvm_version {
	__u32 size;
	__u32 abi_version; /* KTAPVM_ABI_VERSION */
	__u64 features; /* 1 << KTAPVM_EV_*, KTAPVM_FEAT_* */
	__u32 nr_cpus; /* CPU numbers are below this (rings, cpu fields) */
	__u32 max_attach; /* ATTACH calls per session */
	__u64 min_arena, max_arena; /* CREATE arena_size */
	__u64 min_ring, max_ring; /* CREATE ring_size (a power of two) */
	__u64 default_ring;
	__u64 max_time_budget_ns, default_time_budget_ns;
	__u32 max_insn_budget; /* CREATE insn_budget */
	__u32 max_call_depth; /* CREATE max_call_depth */
	__u64 min_period_ns; /* TICK and PROFILE */
	__u32 max_chunk; /* LOAD chunk_len */
	__u32 max_args; /* LOAD args_len */
	__u32 max_record; /* largest record of the output stream, header too */
	__u32 max_fields; /* ATTACH nfields */
};
#define KTAPVM_VERSION_SIZE_VER0 112

/*
 * CREATE: a session. Returns its fd (close-on-exec) as the ioctl's result.
 * The arena is allocated here, once: the VM never allocates anything else.
 */
struct ktapvm_create {
	__u32 size;
	__u32 flags; /* reserved */
	__u64 arena_size; /* the session's memory quota, bytes */
	__u64 ring_size; /* output ring per CPU, bytes, power of two; 0: default */
	__u64 time_budget_ns; /* per probe invocation; 0: default */
	__u32 insn_budget; /* per invocation (main, handler, trace_end); 0: VM default */
	__u32 max_call_depth; /* 0: VM default */
};
#define KTAPVM_CREATE_SIZE_VER0 40

/*
 * LOAD: the bytecode chunk (proto/chunk.h), verified by the module's own
 * verifier (kmod/vm) whatever user space checked, and the script arguments.
 * A rejected chunk gives EINVAL with err_func/err_pc/err_reason filled;
 * an arena too small for the VM or the chunk gives ENOMEM. After a failed
 * LOAD the session may LOAD again; after a good one, never.
 */
struct ktapvm_load {
	__u32 size;
	__u32 flags; /* reserved */
	__u64 chunk; /* pointer */
	__u32 chunk_len;
	__u32 argc; /* strings in args: arg[0] (script name), arg[1], ... */
	__u64 args; /* pointer: argc NUL-terminated strings, back to back */
	__u32 args_len; /* bytes in args, the last NUL included */
	__u32 nprobes; /* out: entries of the chunk's probe table */
	__s32 err_func; /* out: where the verifier refused it; -1 unknown */
	__s32 err_pc;
	char err_reason[160]; /* out: NUL-terminated */
};
#define KTAPVM_LOAD_SIZE_VER0 208

/* PROBE: entry index of the loaded chunk's probe table. */
struct ktapvm_probe {
	__u32 size;
	__u32 index; /* in */
	__u64 spec; /* in: buffer for the spec text (NUL-terminated), or 0 */
	__u32 spec_size; /* in: its size */
	__u32 spec_len; /* out: the spec's length (cut to spec_size - 1) */
	__u32 kind; /* out: KP_PROBE_* of proto/chunk.h */
	__u32 line; /* out */
	__u64 period_ns; /* out: TICK, PROFILE */
};
#define KTAPVM_PROBE_SIZE_VER0 40

/* ATTACH flags. */
#define KTAPVM_ATTACH_PID (1u << 0) /* only events of process pid */
#define KTAPVM_ATTACH_CPU (1u << 1) /* only events on CPU cpu */
/* With PID: also its descendants (KTAPVM_FEAT_CHILDREN) */
#define KTAPVM_ATTACH_CHILDREN (1u << 2)

/* How a tracepoint field becomes argN (struct ktapvm_field.kind). */
#define KTAPVM_FIELD_UNSIGNED 1 /* size 1, 2, 4 or 8 */
#define KTAPVM_FIELD_SIGNED 2 /* size 1, 2, 4 or 8, sign-extended */
/*
 * __data_loc char[] (size 4: the u32 location word, the string's offset in
 * the record in its low half, its length with the NUL above). With
 * KTAPVM_FEAT_STRINGS argN is that string, up to its first NUL; without,
 * it reads 0. A location pointing out of the record counts as a short
 * record either way.
 */
#define KTAPVM_FIELD_STRING 3
#define KTAPVM_FIELD_OPAQUE 4 /* anything else (structs...): reads 0 */
/*
 * char name[size] (sched_switch's prev_comm): argN is the string up to
 * the first NUL, or the whole array. Only with KTAPVM_FEAT_STRINGS (an
 * older module refuses it: EINVAL).
 */
#define KTAPVM_FIELD_CHARS 5

/*
 * Where argN lives in a tracepoint's raw record: fields[0] is arg0. Each
 * record is checked: a field that does not lie within it (or a __data_loc
 * pointing out of it) makes that arg and the following ones nil.
 */
struct ktapvm_field {
	__u16 offset;
	__u16 size;
	__u8 kind; /* KTAPVM_FIELD_* */
	__u8 reserved[3];
};

/*
 * ATTACH: arm an event source for probe `probe` (an index of the probe
 * table; its handler and filter run per event). Only before START. Per
 * kind, the fields used (all others must be zero):
 *   TRACEPOINT  id (tracefs events/SYS/NAME/id), nfields + fields
 *               (at most max_fields), argfmt; one perf counter per CPU
 *   KPROBE      symbol, offset: arg0 = probe address, arg1..arg6 = the
 *               function's arguments (x86-64: di si dx cx r8 r9)
 *   KRETPROBE   symbol: arg0 = function address, retval
 *   UPROBE      fd (the ELF file), offset (file offset), ref_ctr_offset
 *               (SDT semaphore, or 0): arg0 = address, arg1..arg6
 *   URETPROBE   fd, offset, ref_ctr_offset: arg0 = function, retval
 *   TICK        period_ns (>= min_period_ns): a timer on one CPU (cpu
 *               with KTAPVM_ATTACH_CPU); no pid (it interrupts any task:
 *               pid, tid and uid read 0, execname nil, as in the user
 *               engine)
 *   PROFILE     period_ns: a cpu-clock sample on every CPU (or cpu)
 *   SYS_ENTER   syscall_nr, id, nfields + fields, argfmt: the events of
 *   SYS_EXIT    syscalls:sys_enter_NAME (sys_exit_NAME) of that number
 *               (64-bit calls; 32-bit ones are not these events, as for
 *               the kernel's own). The module builds the record the
 *               kernel's perf path would: struct trace_entry (common_type
 *               = id, common_pid), int __syscall_nr at 8, then at 16 the
 *               six arguments (unsigned long each) or long ret; fields
 *               index it as for TRACEPOINT. No perf counter: attaching
 *               all of syscalls:* costs one tracepoint probe.
 * name: the text of `probename` for these events (NUL-terminated, or 0
 * for nil). pid (KTAPVM_ATTACH_PID): a process id in the caller's pid
 * namespace; events of its threads only, or with KTAPVM_ATTACH_CHILDREN
 * also of its descendants (processes it forks, theirs...: what a traced
 * command runs). cpu (KTAPVM_ATTACH_CPU).
 */
struct ktapvm_attach {
	__u32 size;
	__u32 kind; /* KTAPVM_EV_* */
	__u32 probe;
	__u32 flags; /* KTAPVM_ATTACH_* */
	__s32 pid;
	__s32 cpu;
	__u64 name; /* pointer */
	__u64 id;
	__u64 period_ns;
	__u64 symbol; /* pointer */
	__u64 offset;
	__u64 ref_ctr_offset;
	__s32 fd;
	__u32 nfields;
	__u64 fields; /* pointer to struct ktapvm_field[nfields] */
	__u32 syscall_nr; /* SYS_ENTER, SYS_EXIT */
	__u32 argfmt_len; /* bytes at argfmt, the last NUL included, or 0 */
	/*
	 * How argstr reads (pointer, or 0: argstr is nil). At most
	 * KTAPVM_MAX_ARGFMT bytes.
	 * SYS_*: "NAME\0ARG1\0...ARGn\0", the syscall's name as in
	 * sys_enter_NAME, then its arguments' names (at most 6; [A-Za-z0-9_]
	 * each): argstr reads "sys_NAME(ARG1: V1, ...)" or "sys_NAME ->
	 * 0xRET" as the kernel's trace output.
	 * TRACEPOINT (KTAPVM_FEAT_ARGPROG): a print program (see "Print
	 * programs" below) that formats the event as its print fmt does;
	 * ktapd compiles it from the event's format file.
	 */
	__u64 argfmt;
};
#define KTAPVM_MAX_ARGFMT 4096u
#define KTAPVM_ATTACH_SIZE_VER0 88
#define KTAPVM_ATTACH_SIZE_VER1 104 /* syscall_nr, argfmt */

/*
 * START: run the script's main (top-level statements) in the caller's
 * context, then enable every attached source. If main calls exit() or
 * fails, nothing is enabled and the session ends (see STATS).
 * With restore (a SNAPSHOT of an earlier session of the same script),
 * main's output is dropped (it ran before) and the snapshot's globals are
 * set after it: EINVAL when malformed, ENOMEM when the arena is full; the
 * session then stays LOADED-but-started and is only good for closing.
 */
struct ktapvm_start {
	__u32 size;
	__u32 flags; /* reserved */
	__u64 restore; /* pointer, or 0 */
	__u64 restore_len;
};
#define KTAPVM_START_SIZE_VER0 8

/*
 * STOP: disable and unregister every source, wait for handlers still
 * running, run trace_end (unless a runtime error ended the session, or
 * START never ran), end the session. When it returns, no handler runs any
 * more and all output is in the stream; read() drains it, then returns 0.
 * Stopping an ended session does nothing.
 */
struct ktapvm_stop {
	__u32 size;
	__u32 flags; /* reserved */
};
#define KTAPVM_STOP_SIZE_VER0 8

/* Session states (ktapvm_stats.state). */
#define KTAPVM_STATE_CREATED 1
#define KTAPVM_STATE_LOADED 2
#define KTAPVM_STATE_RUNNING 3
#define KTAPVM_STATE_ENDING 4 /* exit() or an error in a probe: ending */
#define KTAPVM_STATE_ENDED 5 /* trace_end ran (if due); poll gives EPOLLHUP */

/* ktapvm_stats.flags */
#define KTAPVM_STATS_FAILED (1u << 0) /* a runtime error ended it: error[] */

/* STATS: all out. Counters only grow. */
struct ktapvm_stats {
	__u32 size;
	__u32 state; /* KTAPVM_STATE_* */
	__s32 exit_status; /* ENDED: 0, exit(n)'s n, 3 after a runtime error */
	__u32 flags; /* KTAPVM_STATS_* */
	__u64 events; /* handler invocations (filter and handler) */
	/* Events that did not run the handler, by reason: */
	__u64 drop_recursion; /* fired inside a handler on the same CPU */
	__u64 drop_contention; /* another CPU was running the VM */
	__u64 drop_missed; /* kprobe/kretprobe misses, tick overruns */
	__u64 drop_budget; /* cut by the instruction or time budget */
	__u64 short_records; /* tracepoint records too short for a field */
	/* Output: records in the stream, and what a full ring dropped. */
	__u64 out_records, out_bytes;
	__u64 lost_records, lost_bytes;
	/* Arena (kp_vm_mem_stats). */
	__u64 mem_in_use, mem_peak, mem_quota, collections;
	__u64 cpu_ns; /* time spent in the VM (handlers: sampled) */
	__u32 nprobes; /* kernel objects armed: perf counters, probes, timers */
	__u32 reserved;
	char error[288]; /* FAILED: "FILE:LINE: message" or the budget's */
};
#define KTAPVM_STATS_SIZE_VER0 432

/*
 * DUMP: the globals as one JSON object ({"name": value, ...}, the format
 * of kp_vm_dump_json), not NUL-terminated. len is the whole text's length:
 * larger than buf_size gives ENOSPC (ask again with a bigger buffer).
 */
struct ktapvm_dump {
	__u32 size;
	__u32 flags; /* reserved */
	__u64 buf; /* pointer */
	__u64 buf_size;
	__u64 len; /* out */
};
#define KTAPVM_DUMP_SIZE_VER0 32

/*
 * SNAPSHOT (struct ktapvm_dump): the globals' data (kp_vm_snapshot() of
 * kmod/vm, bytes), for a later START with restore: what lets ktapd keep a
 * session across its own restart. Same buffer rules as DUMP.
 */

/*
 * The output stream, read() from the session fd: whole records, each a
 * header then len bytes of output, padded with zeros to a multiple of
 * KTAPVM_RECORD_ALIGN. Records come in seq order (0, 1, 2...): the order
 * the VM wrote them, across every CPU's ring. A record holds the output of
 * one VM flush (a handler's output, or a piece of it when longer than
 * max_record). read() returns as many whole records as fit (EINVAL if not
 * even one fits: use max_record bytes or more), blocks when there are none
 * (EAGAIN with O_NONBLOCK), and returns 0 once the session ended and
 * everything was read.
 */
struct ktapvm_record {
	__u64 seq;
	__u64 time_ns; /* CLOCK_MONOTONIC (ktime_get_mono_fast_ns) */
	__u32 len;
	__u16 cpu;
	__u16 flags; /* reserved */
};

#define KTAPVM_RECORD_ALIGN 8

/*
 * Print programs: a tracepoint's argstr (ATTACH argfmt), the event's
 * print fmt ("NAME: " first) as a tree in prefix order, reading the record
 * by offsets (not fields[]). Numbers are in the host's byte order,
 * unaligned. The module checks a program whole at ATTACH (known ops,
 * bounds, depth) and refuses it with EINVAL otherwise; argstr runs it per
 * event, and is nil for a record too short for a field it reads.
 *
 *   program := item* END
 *   item    := TEXT u16:n n*byte            text as is
 *            | CONV conv flags width prec length value
 *                conv: d i u x X o c  (num), s (str), p (num: 0x..., or
 *                "(nil)" for 0), S (num: symbol+0xoff), f (num: symbol),
 *                4 (%pI4), 6 (%pI6c), n (%pISpc), U (%pU): the value is
 *                an SFIELD CHARS of at least 4, 16, 28, 16 bytes;
 *                flags: KTAPVM_AP_F_*; width, prec: 0..64, or 0xff for
 *                none, or for s a prec of 0xfe ('.*'): then a num (the
 *                precision, an int) and u16:n n*byte come before the
 *                value, the text a non-empty SFIELD prints instead when
 *                the num is < 0 (libtraceevent prints the conversion
 *                itself); length: 0
 *                int, 1 char, 2 short, 3 long (the C type d..c print the
 *                value as)
 *   num     := FIELD u16:offset u8:size   1, 2, 4 or 8 bytes, unsigned
 *            | CONST u64
 *            | NOT num | BNOT num         ! ~
 *            | BIN u8:op num num          op: KTAPVM_AP_OP_*, on 64 bits
 *                                         unsigned; / and % by 0 give 0
 *            | COND num num num           a ? b : c
 *            | ELEM u16:offset u8:size num  REC->x[i]: the element i
 *                                         (num) of size bytes of the
 *                                         array at offset, unsigned
 *   str     := SFIELD u8:kind u16:offset u16:size   up to its first NUL:
 *                KTAPVM_AP_CHARS char[size] at offset; KTAPVM_AP_DATA_LOC
 *                (size 4) the u32 at offset locates it (offset | len <<
 *                16), KTAPVM_AP_REL_LOC likewise from the field's end; an
 *                empty one prints nothing at all, not even padding
 *            | SLIT u16:n n*byte
 *            | SCOND num str str
 *            | FLAGS num u16:n n*byte(delimiter) u16:k k*flag
 *                each flag u64:value u16:n n*byte: in order, the text of
 *                each value > 0 (as s64) all of whose bits remain set,
 *                texts joined by the delimiter, bits cleared; once none
 *                remain, the text of a value < 0 (bit 63), undelimited,
 *                ends the list; bits left over print as 0x%llx. (What
 *                libtraceevent does, the user engine's argstr.)
 *            | SYMBOLIC num u16:k k*flag    the text of the first equal
 *                                           value, else 0x%llx
 *   s applies its flags (only '-'), width and precision to each text a
 *   FLAGS or SYMBOLIC prints, not to their 0x%llx. Depth: at most
 *   KTAPVM_AP_MAX_DEPTH nested values.
 */
#define KTAPVM_AP_END 0
#define KTAPVM_AP_TEXT 1
#define KTAPVM_AP_CONV 2
#define KTAPVM_AP_FIELD 3
#define KTAPVM_AP_CONST 4
#define KTAPVM_AP_NOT 5
#define KTAPVM_AP_BNOT 6
#define KTAPVM_AP_BIN 7
#define KTAPVM_AP_COND 8
#define KTAPVM_AP_SFIELD 9
#define KTAPVM_AP_SLIT 10
#define KTAPVM_AP_SCOND 11
#define KTAPVM_AP_FLAGS 12
#define KTAPVM_AP_SYMBOLIC 13
#define KTAPVM_AP_ELEM 14

#define KTAPVM_AP_OP_ADD 0
#define KTAPVM_AP_OP_SUB 1
#define KTAPVM_AP_OP_MUL 2
#define KTAPVM_AP_OP_DIV 3
#define KTAPVM_AP_OP_MOD 4
#define KTAPVM_AP_OP_SHL 5
#define KTAPVM_AP_OP_SHR 6
#define KTAPVM_AP_OP_AND 7
#define KTAPVM_AP_OP_OR 8
#define KTAPVM_AP_OP_XOR 9
#define KTAPVM_AP_OP_EQ 10
#define KTAPVM_AP_OP_NE 11
#define KTAPVM_AP_OP_LT 12
#define KTAPVM_AP_OP_LE 13
#define KTAPVM_AP_OP_GT 14
#define KTAPVM_AP_OP_GE 15
#define KTAPVM_AP_OP_LAND 16
#define KTAPVM_AP_OP_LOR 17

#define KTAPVM_AP_F_MINUS (1u << 0)
#define KTAPVM_AP_F_PLUS (1u << 1)
#define KTAPVM_AP_F_SPACE (1u << 2)
#define KTAPVM_AP_F_ZERO (1u << 3)
#define KTAPVM_AP_F_ALT (1u << 4)

#define KTAPVM_AP_CHARS 0
#define KTAPVM_AP_DATA_LOC 1
#define KTAPVM_AP_REL_LOC 2

#define KTAPVM_AP_NONE 0xff /* no width or precision */
#define KTAPVM_AP_STAR 0xfe /* %.*s: the precision is a num of its own */
#define KTAPVM_AP_MAX_WIDTH 64
#define KTAPVM_AP_MAX_DEPTH 16

#endif /* KTAP_PROTO_KTAPVM_ABI_H */
