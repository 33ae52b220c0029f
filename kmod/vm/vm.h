/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The VM core's public entry points: what an engine (ktapd's user engine, the
 * kernel module, the test runner) calls. Everything else under kmod/vm/ is
 * private to the core. Kernel-portable: see platform.h.
 *
 * Life of a session:
 *   kp_vm_create()      carve the VM out of a caller-provided arena
 *   kp_vm_load()        parse + verify a chunk (nothing runs on failure)
 *   kp_vm_set_args()    fill the global table `arg`
 *   kp_vm_run_main()    top-level statements, once
 *   kp_vm_run_probe()   per event: filter, then handler
 *   kp_vm_run_end()     trace_end blocks, once, in order
 *   kp_vm_dump()        read the globals at any time between runs
 *   (the arena is simply released by the caller; there is no destroy)
 */
#ifndef KTAP_VM_H
#define KTAP_VM_H

#include "platform.h"

struct kp_vm;
struct kp_event;

/* Results of the run entry points. */
#define KP_OK 0
#define KP_EXITED 1 /* the script called exit(); the session should end */
#define KP_ERROR (-1) /* runtime error: message in kp_vm_error() */

/* Services a VM needs from the engine that hosts it. */
struct kp_host_ops {
	/* Session output (print, printf, print_hist, error lines). */
	void (*write)(void *host, const char *buf, kp_size_t len);
	/*
	 * Optional: user stack / kernel stack of the current event as text
	 * (frames separated by '\n'), for stack() and ustack(); returns the
	 * length written to buf, or -1 if not available. depth and skip are
	 * the script's arguments (defaults 16 and 0); size is 4096.
	 */
	long (*stack)(void *host, const struct kp_event *ev, int user,
		      int depth, int skip, char *buf, kp_size_t size);
	/*
	 * Optional: fault-safe bounded string read at addr for user_string()
	 * and kernel_string(); returns the length copied (no NUL), or -1.
	 * size is 256. ev is NULL outside a handler.
	 */
	long (*read_string)(void *host, const struct kp_event *ev, int user,
			    kp_u64 addr, char *buf, kp_size_t size);
};

/*
 * The event a handler runs for. Numbers are plain fields; the string fields
 * are produced on demand (argstr formatting is costly) through str_field,
 * which writes at most size bytes to buf and returns the length, or -1 when
 * the field does not exist for this event (the word then reads as nil).
 */
struct kp_event {
	kp_s64 pid, tid, uid, cpu;
	kp_s64 retval;
	kp_s64 args[10]; /* arg0 .. arg9 */
	int nargs; /* how many of args[] are valid; the rest read as nil */
	/*
	 * Bit i: argi is a string, produced by str_field(ev, KP_EV_ARG0 + i)
	 * (args[i] is then the engine's own, e.g. where the string lies).
	 */
	kp_u32 strargs;
	int has_retval;
	long (*str_field)(const struct kp_event *ev, int field, char *buf,
			  kp_size_t size);
	void *data; /* for str_field */
	/*
	 * Optional: the same non-NULL key on two events of a session says
	 * their probename is the same text, so the VM keeps the string it
	 * made for the first (an engine's own per-event-source pointer).
	 */
	const void *name_key;
};

struct kp_vm_config {
	void *arena; /* all VM memory, including struct kp_vm itself */
	kp_size_t arena_size; /* the session's memory quota */
	kp_u32 insn_budget; /* per invocation; 0 = KP_DEFAULT_INSN_BUDGET */
	kp_u32 max_call_depth; /* 0 = KP_DEFAULT_CALL_DEPTH */
	const struct kp_host_ops *ops;
	void *host;
	/*
	 * Per probe invocation (filter and handler), checked every
	 * KP_TIME_CHECK_UNITS budget units with kp_clock_ns(), counted from
	 * the first check; 0: none. main and trace_end have the instruction
	 * budget only.
	 */
	kp_u64 time_budget_ns;
};

#define KP_DEFAULT_INSN_BUDGET 10000000u
#define KP_DEFAULT_CALL_DEPTH 200u
#define KP_TIME_CHECK_UNITS 1024u

/* Where a chunk failed to load or verify. func/pc are -1 when not known. */
struct kp_verify_error {
	int func;
	int pc;
	char reason[160];
};

/* Returns 0, or -ENOMEM when the arena is too small to hold the VM. */
int kp_vm_create(struct kp_vm **vmp, const struct kp_vm_config *cfg);

/*
 * Parse and verify a chunk, then build its functions in the arena (code,
 * constants and names are copied: the chunk buffer may be freed after).
 * Returns 0, -EINVAL with *err filled when the chunk is malformed or fails
 * verification (or a chunk is already loaded), -ENOMEM when it does not
 * fit in the arena. After a failure nothing of the chunk can run.
 */
int kp_vm_load(struct kp_vm *vm, const void *chunk, kp_size_t len,
	       struct kp_verify_error *err);

/*
 * Parse and verify only (ktapd's check before a chunk is accepted, without
 * creating a VM). Descriptor arrays are carved from `scratch`: 64 bytes per
 * function and per probe, and the duplicate-name table of the globals (at
 * most 16 bytes per global, 32 at least), suffice.
 */
#define KP_VERIFY_SCRATCH(nfuncs, nprobes, nglobals)                           \
	(64u * ((nfuncs) + (nprobes) + 2) + 16u * (nglobals) + 32u)
int kp_verify_chunk(const void *chunk, kp_size_t len, void *scratch,
		    kp_size_t scratch_size, struct kp_verify_error *err);

/*
 * arg[0] = argv[0] (script path), arg[1..]: numeric text (decimal or 0x)
 * becomes a number. After kp_vm_load() (-EINVAL before); -ENOMEM when the
 * arena is full. Without it, arg is an empty table.
 */
int kp_vm_set_args(struct kp_vm *vm, int argc, const char *const *argv);

/*
 * Each returns KP_OK, KP_EXITED or KP_ERROR and has written the run's
 * output through ops->write before returning. exit() ends the running
 * invocation at once. After an error or an exit, run_main and run_probe
 * run nothing and return KP_ERROR / KP_EXITED again.
 *
 * run_probe: the filter (if any) first, then the handler if the filter's
 * result is true; both share one instruction budget. The event pointer
 * is used during the call only.
 * run_end: every END probe in table order, even after exit() (also one
 * called by an earlier END block); nothing after a runtime error.
 * Returns KP_EXITED if one of them called exit().
 */
int kp_vm_run_main(struct kp_vm *vm);
int kp_vm_run_probe(struct kp_vm *vm, unsigned int probe,
		    const struct kp_event *ev);
int kp_vm_run_end(struct kp_vm *vm);

/* The probe table of the loaded chunk. */
struct kp_probe_info {
	int kind; /* KP_PROBE_* */
	const char *spec; /* NUL-terminated, lives as long as the VM */
	kp_u64 period_ns;
	int line;
};
/*
 * The globals' data (numbers, strings, booleans, tables of them) as bytes,
 * emitted in order, for kp_vm_restore() in a later VM of the same script:
 * what lets a session outlive the process running it. Functions, tables
 * deeper than 32 levels or inside themselves, and table keys that are not
 * scalars are left out; a table reached twice is written twice. 0,
 * -KP_ENOMEM, or -KP_EINVAL before kp_vm_load().
 */
int kp_vm_snapshot(struct kp_vm *vm,
		   void (*emit)(void *ctx, const void *p, kp_size_t len),
		   void *ctx);
/*
 * Set the globals a snapshot holds, by name (names the chunk lacks are
 * skipped), after kp_vm_run_main(). The whole snapshot is checked first:
 * -KP_EINVAL when malformed, and nothing changed; -KP_ENOMEM when the
 * arena is full (some globals may be set).
 */
int kp_vm_restore(struct kp_vm *vm, const void *snap, kp_size_t len);

/*
 * Counter probes. A probe without a filter whose handler only adds number
 * constants to globals (`n += 1`: GETGLOBAL, NILZ, ADD, SETGLOBAL) or to
 * the entry of a global table keyed by probename (`s[probename] += 1`),
 * a few such statements and nothing else, and whose globals no other code
 * reads or sets but main, trace_end and tick-N handlers (which run at
 * times of their own, not in the order of events) and other such
 * handlers (adds commute), has an effect an engine can count instead of
 * running it: its events may be counted where they happen and applied
 * later, in one step, with kp_vm_run_counted(). kp_vm_probe_counter()
 * says whether probe is one (1) or not (0).
 */
int kp_vm_probe_counter(const struct kp_vm *vm, unsigned int probe);
/*
 * As `runs` runs of counter probe `probe`'s handler for events whose
 * probename is probename (len bytes; NULL: nil): the global, or its
 * table's entry, becomes (it, nil as 0) + runs * the constant, wrapping as
 * ADD does. Values the fast path does not take (not a number, not a
 * table) run the handler itself, which fails as it would have. KP_OK,
 * KP_ERROR, or the state's result when the VM has exited or failed.
 */
int kp_vm_run_counted(struct kp_vm *vm, unsigned int probe,
		      const char *probename, kp_size_t len, kp_u64 runs);

unsigned int kp_vm_nprobes(const struct kp_vm *vm);
int kp_vm_probe_info(const struct kp_vm *vm, unsigned int probe,
		     struct kp_probe_info *info);

/* Last runtime error ("FILE:LINE: message"), or "" if none. */
const char *kp_vm_error(const struct kp_vm *vm);
/* exit() was called (or a fatal error happened): no more probes should run. */
int kp_vm_exited(const struct kp_vm *vm);
/* The status exit(n) asked for (0 by default). */
int kp_vm_exit_status(const struct kp_vm *vm);

struct kp_mem_stats {
	kp_size_t arena_size; /* the quota */
	kp_size_t in_use; /* bytes held by live and not yet collected objects */
	kp_size_t peak; /* high-water mark of in_use */
	kp_u64 collections; /* garbage collections run */
};
void kp_vm_mem_stats(const struct kp_vm *vm, struct kp_mem_stats *st);

/*
 * Dump the globals: one call of emit per global, in declaration order, with
 * its name and its value rendered as JSON (tables as objects keyed by the
 * key's text, nested tables nested, strings escaped, functions as
 * "function"). Used by `ktapctl dump --json`. Tables nest 32 deep; deeper
 * ones, and a table inside itself, appear as their print text
 * ("table: 0x<offset in the arena>"). Bytes that are not UTF-8 are
 * escaped as \u00XX. Returns 0, or -ENOMEM (the arena holds the text).
 */
int kp_vm_dump_json(struct kp_vm *vm,
		    void (*emit)(void *ctx, const char *name,
				 const char *json, kp_size_t len),
		    void *ctx);

#endif /* KTAP_VM_H */
