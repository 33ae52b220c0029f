/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A parsed, bounds-checked view of a bytecode chunk (proto/chunk.h), produced
 * by kp_chunk_parse() (load.c) and checked by kp_chunk_verify() (verify.c)
 * before the interpreter's objects are built from it. The view points into
 * the caller's chunk buffer, which must outlive it.
 */
#ifndef KTAP_VM_CHUNK_VIEW_H
#define KTAP_VM_CHUNK_VIEW_H

#include "platform.h"
#include "vm.h"
#include "../../proto/chunk.h"
#include "../../proto/opcodes.h"

struct kp_fview {
	kp_u16 parent; /* KP_NO_FUNC for function 0 */
	kp_u8 nparams, framesize, nupvals, flags;
	kp_u16 line;
	const char *name;
	kp_u32 name_len;
	kp_u32 ncode;
	const kp_u8 *code; /* ncode little-endian u32 words (maybe unaligned) */
	const kp_u8 *lines; /* ncode little-endian u32 line numbers */
	kp_u32 nconsts;
	const kp_u8 *consts; /* first constant's type byte */
	const kp_u8 *upvals; /* nupvals (instack, idx) byte pairs */
};

struct kp_pview {
	kp_u8 kind, flags;
	kp_u16 handler, filter, line;
	kp_u64 period_ns;
	const char *spec;
	kp_u32 spec_len;
};

struct kp_chunk_view {
	const char *source;
	kp_u32 source_len;
	kp_u32 nglobals;
	const kp_u8 *globals; /* first global name (a str) */
	kp_u32 nfuncs;
	struct kp_fview *funcs;
	kp_u32 nprobes;
	struct kp_pview *probes;
};

/* One decoded constant. */
struct kp_const {
	kp_u8 type; /* KP_CONST_* */
	kp_s64 num; /* INT */
	const char *str; /* STR */
	kp_u32 len;
};

/* Little-endian reads from possibly unaligned chunk bytes. */
static inline kp_u32 kp_chunk_u32(const kp_u8 *p)
{
	return (kp_u32)p[0] | (kp_u32)p[1] << 8 | (kp_u32)p[2] << 16 |
	       (kp_u32)p[3] << 24;
}

/* Instruction pc of function f (pc < f->ncode). */
static inline kp_u32 kp_fview_insn(const struct kp_fview *f, kp_u32 pc)
{
	return kp_chunk_u32(f->code + 4 * pc);
}

/*
 * Parse the container: header, globals, functions, probes. Checks the
 * structure only (sizes, counts against limits, every byte accounted for);
 * instruction operands are the verifier's job. funcs and probes arrays come
 * from alloc(ctx, size) (which may return NULL: -ENOMEM). Returns 0 or a
 * negative errno with *err filled (func/pc -1 where they do not apply).
 */
int kp_chunk_parse(const void *chunk, kp_size_t len,
		   struct kp_chunk_view *view,
		   void *(*alloc)(void *ctx, kp_size_t size), void *ctx,
		   struct kp_verify_error *err);

/*
 * Verify every instruction operand of every function, the function tree
 * (parents, nesting depth, upvalue descriptors against the enclosing
 * function) and every probe entry. Returns 0 or -EINVAL with *err filled
 * (function index, pc, reason).
 */
int kp_chunk_verify(const struct kp_chunk_view *view,
		    struct kp_verify_error *err);

/* Decode constant i of f by walking from f->consts (i < f->nconsts).
 * Returns a pointer past it. Only valid on a parsed view. */
const kp_u8 *kp_chunk_const(const kp_u8 *p, struct kp_const *out);

/* Global name i: walks the globals list; only valid on a parsed view. */
const kp_u8 *kp_chunk_str(const kp_u8 *p, const char **s, kp_u32 *len);

/*
 * Fill *err with func, pc and a reason formatted by kp_fmt_msg() (%s %.*s
 * %c %d %u %lld %llu) and return -KP_EINVAL. The one error door of the
 * loader, the verifier and kp_vm_load().
 */
int kp_verify_fail(struct kp_verify_error *err, int func, int pc,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif /* KTAP_VM_CHUNK_VIEW_H */
