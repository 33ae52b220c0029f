/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The state of one VM (struct kp_vm): stack, call frames, collector,
 * string table, the loaded chunk and the current run. Shared by the core's
 * modules; engines only see vm.h.
 */
#ifndef KTAP_VM_KP_STATE_H
#define KTAP_VM_KP_STATE_H

#include "kp_obj.h"
#include "vm.h"

/* Slots kept free above every frame (TFORLOOP's call window, results). */
#define KP_EXTRA_STACK 8
#define KP_MIN_STACK 256 /* initial register stack, in values */

/* A growable byte buffer in the arena. */
struct kp_buf {
	char *p;
	kp_size_t len, cap;
};

/* A call in progress. */
struct kp_frame {
	struct kp_closure *cl;
	const kp_u32 *pc; /* next instruction, saved while suspended */
	kp_u32 base; /* stack index of R(0); the function is at base - 1 */
	kp_s16 nresults; /* results the caller wants, -1: all */
	kp_u8 flags;
};

#define KP_FRAME_ENTRY 1 /* returning ends the interpreter loop */
#define KP_FRAME_TFOR 2 /* called by TFORLOOP: test its result on return */

/* One statement of a counter probe: globals[g] (or its table's entry for
 * probename when keyed) += the handler's constant k (vm.c). */
struct kp_counter_stmt {
	kp_u32 g, k;
	int keyed;
};

#define KP_COUNTER_STMTS 8

struct kp_probe {
	int kind;
	int line;
	kp_u64 period_ns;
	const char *spec;
	struct kp_closure *handler, *filter; /* filter may be NULL */
	/* A counter probe's statements (kp_vm_probe_counter), found once
	 * when the chunk is loaded; ncounter 0: not one. */
	int ncounter;
	struct kp_counter_stmt counter[KP_COUNTER_STMTS];
};

/* The event words that are strings, cached per event. */
#define KP_EVSTR_COUNT 3 /* execname, probename, argstr */

/* Result values of a built-in call (pairs returns three). */
#define KP_MAX_BI_RESULTS 3

/* vm->state */
#define KP_STATE_RUNNABLE 0
#define KP_STATE_EXITED 1
#define KP_STATE_ERROR 2

struct kp_vm {
	struct kp_arena *arena;
	const struct kp_host_ops *ops;
	void *host;
	kp_u32 insn_budget, max_depth;

	/* Register stack and call frames. */
	struct kp_value *stack;
	kp_u32 stacksize;
	kp_u32 top; /* end of open results (CALL with C = 0) */
	struct kp_frame *frames;
	kp_u32 nframes; /* capacity */
	kp_u32 depth; /* frames[depth - 1] is running; 0: none */
	struct kp_upval *openupval;

	/* Collector. */
	struct kp_gcobj *allgc;
	struct kp_gcobj *gray;
	kp_size_t gc_threshold; /* collect when the arena use reaches this */
	kp_u64 collections;
	int gc_block; /* > 0: no collection now (loading) */
	int gc_running;
	struct kp_value roots[2]; /* kept alive across a table insertion */

	/* Interned strings: chains through kp_str.next. */
	struct kp_str **strtab;
	kp_u32 strsize, strcount;
	kp_u32 seed; /* string hashes */
	kp_u64 nseed; /* where number keys start in table indexes */

	/* The loaded chunk. */
	int loaded;
	const char *source;
	kp_u32 nglobals;
	struct kp_value *globals;
	const char **gnames;
	kp_u32 nprotos;
	struct kp_proto *protos;
	kp_u32 nprobes;
	struct kp_probe *probes;
	struct kp_closure *main;

	/* The current run. */
	const struct kp_event *ev; /* NULL outside a handler */
	struct kp_value evstr[KP_EVSTR_COUNT];
	const void *evname_key; /* kp_event.name_key of evstr's probename */
	struct kp_value bires[KP_MAX_BI_RESULTS];
	kp_u32 budget; /* left in this invocation */
	kp_u64 time_budget_ns; /* per probe invocation; 0: none */
	int timed; /* a probe invocation: the time budget applies */
	kp_u64 deadline; /* kp_clock_ns() it must end by; 0: not read yet */
	int state;
	int exit_status;
	char errmsg[200]; /* message of the pending error, no position */
	char error[280]; /* "FILE:LINE: message" */

	struct kp_buf buf; /* scratch: concat, printf, tostring, dump */
	char *strbuf; /* event strings, stacks, user_string */
	struct kp_buf out; /* output of the current run, flushed at its end */
};

#define KP_STRBUF_SIZE 4096

/*
 * Record a runtime error message (the position is added where the error
 * is reported). A printf subset: %s %d %u %lld %llu. Returns KP_ERROR.
 */
int kp_rt_error(struct kp_vm *vm, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* "nil", "boolean", ... as messages name them. */
const char *kp_typename(const struct kp_value *v);

/*
 * Output (print, printf, print_hist) collects in vm->out and goes to the
 * host at the end of each run, or as soon as this much is pending.
 */
#define KP_OUT_FLUSH 4096
void kp_vm_flush(struct kp_vm *vm);
/* After a load: which probes are counters (kp_probe.counter). */
void kp_vm_find_counters(struct kp_vm *vm);

/* Make room for n slots above index from; may move the stack. */
int kp_vm_growstack(struct kp_vm *vm, kp_u32 from, kp_u32 n);

#endif /* KTAP_VM_KP_STATE_H */
