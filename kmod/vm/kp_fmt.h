/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Text: growable buffers, number and value rendering, the script's printf
 * and the core's own message formatter. No libc: the kernel and user
 * space format identically.
 */
#ifndef KTAP_VM_KP_FMT_H
#define KTAP_VM_KP_FMT_H

#include "kp_state.h"

/*
 * Room for n more bytes; KP_ERROR when out of memory. With vm NULL, b is
 * a caller's fixed buffer (p, cap): it does not grow; adding what does
 * not fit fills it to its end and fails (KP_ERROR) without a message.
 */
int kp_buf_reserve(struct kp_vm *vm, struct kp_buf *b, kp_size_t n);
int kp_buf_add(struct kp_vm *vm, struct kp_buf *b, const char *s,
	       kp_size_t n);
void kp_buf_free(struct kp_vm *vm, struct kp_buf *b);

/* Empty b; give its memory back if a burst made it bigger than keep. */
static inline void kp_buf_trim(struct kp_vm *vm, struct kp_buf *b,
			       kp_size_t keep)
{
	b->len = 0;
	if (b->cap > keep)
		kp_buf_free(vm, b);
}

/* What the scratch buffer (vm->buf) may keep between uses. */
#define KP_BUF_KEEP (64u * 1024)

/* Decimal text of v into out (at least KP_NUM_BUF bytes); the length. */
#define KP_NUM_BUF 24
int kp_fmt_int(char *out, kp_s64 v);

/* v as print shows it: nil, true, 42, text, table: 0x..., builtin: len. */
/* One printf directive: %[flags][width][.precision][length]conv. */
struct kp_spec {
	int minus, zero, plus, space, alt;
	int width, prec; /* prec < 0: none */
	char conv;
};

/* prefix ("-", "0x", ...), zeros, then body, padded to sp's width. */
int kp_fmt_field(struct kp_vm *vm, struct kp_buf *b, const struct kp_spec *sp,
		 const char *prefix, int zeros, const char *body, int blen);
/* v by sp's d i u x X o p (as C's long long, p as 0x%llx). */
int kp_fmt_integer(struct kp_vm *vm, struct kp_buf *b,
		   const struct kp_spec *sp, kp_s64 v);

int kp_fmt_value(struct kp_vm *vm, struct kp_buf *b, const struct kp_value *v);

/*
 * The script's printf: format fmt with args[0..nargs) into b. Errors
 * (bad or missing argument, invalid conversion) return KP_ERROR with the
 * message recorded; argument numbers count fmt as #1.
 */
int kp_fmt_printf(struct kp_vm *vm, struct kp_buf *b, const struct kp_str *fmt,
		  const struct kp_value *args, int nargs);

/*
 * The core's messages: %s %.*s %c %d %u %lld %llu into buf (always
 * NUL-terminated, cut at size).
 */
void kp_fmt_msg(char *buf, kp_size_t size, const char *fmt,
		__builtin_va_list ap);

#endif /* KTAP_VM_KP_FMT_H */
