// SPDX-License-Identifier: GPL-2.0
/*
 * Text formatting without libc: growable arena buffers, integers in any
 * base, values as print renders them, the script's printf (C's integer
 * conversions with flags, width and precision) and the printf subset the
 * core's own messages use.
 */
#include "kp_fmt.h"
#include "kp_gc.h"
#include "kp_lib.h"

/* Widths and precisions above this are cut: output stays bounded. */
#define KP_FMT_MAX_WIDTH 4096

int kp_buf_reserve(struct kp_vm *vm, struct kp_buf *b, kp_size_t n)
{
	kp_size_t cap;
	char *p;

	if (b->cap - b->len >= n)
		return 0;
	if (!vm)
		return KP_ERROR; /* a caller's fixed buffer: full */
	cap = b->cap ? b->cap : 64;
	while (cap - b->len < n)
		cap *= 2;
	p = kp_mem_alloc(vm, cap);
	if (!p)
		return KP_ERROR;
	if (b->len)
		kp_memcpy(p, b->p, b->len);
	kp_mem_free(vm, b->p);
	b->p = p;
	b->cap = cap;
	return 0;
}

int kp_buf_add(struct kp_vm *vm, struct kp_buf *b, const char *s, kp_size_t n)
{
	if (!n)
		return 0;
	if (kp_buf_reserve(vm, b, n)) {
		if (!vm) { /* a fixed buffer: filled to its end */
			kp_memcpy(b->p + b->len, s, b->cap - b->len);
			b->len = b->cap;
		}
		return KP_ERROR;
	}
	kp_memcpy(b->p + b->len, s, n);
	b->len += n;
	return 0;
}

void kp_buf_free(struct kp_vm *vm, struct kp_buf *b)
{
	kp_mem_free(vm, b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

/* Digits of v in base (8, 10, 16), written backwards from end. */
static char *fmt_digits(char *end, kp_u64 v, unsigned int base, int upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";

	do {
		*--end = digits[v % base];
		v /= base;
	} while (v);
	return end;
}

int kp_fmt_int(char *out, kp_s64 v)
{
	char tmp[KP_NUM_BUF], *p;
	kp_u64 m = v < 0 ? 0 - (kp_u64)v : (kp_u64)v;
	int n;

	p = fmt_digits(tmp + sizeof(tmp), m, 10, 0);
	if (v < 0)
		*--p = '-';
	n = (int)(tmp + sizeof(tmp) - p);
	kp_memcpy(out, p, (kp_size_t)n);
	return n;
}

/* Objects print as their offset in the arena: stable, and no address leaks. */
static kp_u64 obj_id(const struct kp_vm *vm, const void *o)
{
	return (kp_u64)((kp_uintptr_t)o - (kp_uintptr_t)vm->arena);
}

static int fmt_object(struct kp_vm *vm, struct kp_buf *b, const char *what,
		      const void *o)
{
	char tmp[KP_NUM_BUF], *p = fmt_digits(tmp + sizeof(tmp),
					      obj_id(vm, o), 16, 0);

	if (kp_buf_add(vm, b, what, kp_strlen(what)) ||
	    kp_buf_add(vm, b, ": 0x", 4))
		return KP_ERROR;
	return kp_buf_add(vm, b, p, (kp_size_t)(tmp + sizeof(tmp) - p));
}

int kp_fmt_value(struct kp_vm *vm, struct kp_buf *b, const struct kp_value *v)
{
	char tmp[KP_NUM_BUF];
	const char *name;

	switch (v->tt) {
	case KP_TNIL:
		return kp_buf_add(vm, b, "nil", 3);
	case KP_TBOOL:
		return v->u.n ? kp_buf_add(vm, b, "true", 4) :
				kp_buf_add(vm, b, "false", 5);
	case KP_TNUM:
		return kp_buf_add(vm, b, tmp,
				  (kp_size_t)kp_fmt_int(tmp, v->u.n));
	case KP_TSTR:
		return kp_buf_add(vm, b, v->u.s->data, v->u.s->len);
	case KP_TTAB:
		return fmt_object(vm, b, "table", v->u.t);
	case KP_TFUNC:
		return fmt_object(vm, b, "function", v->u.cl);
	default:
		name = kp_builtin_name((int)v->u.n);
		if (kp_buf_add(vm, b, "builtin: ", 9))
			return KP_ERROR;
		return kp_buf_add(vm, b, name, kp_strlen(name));
	}
}

static int pad(struct kp_vm *vm, struct kp_buf *b, char c, int n)
{
	if (n <= 0)
		return 0;
	if (kp_buf_reserve(vm, b, (kp_size_t)n)) {
		if (!vm) { /* a fixed buffer: filled to its end */
			kp_memset(b->p + b->len, c, b->cap - b->len);
			b->len = b->cap;
		}
		return KP_ERROR;
	}
	kp_memset(b->p + b->len, c, (kp_size_t)n);
	b->len += (kp_size_t)n;
	return 0;
}

int kp_fmt_field(struct kp_vm *vm, struct kp_buf *b, const struct kp_spec *sp,
		 const char *prefix, int zeros, const char *body, int blen)
{
	int plen = (int)kp_strlen(prefix);
	int fill = sp->width - plen - zeros - blen;
	/* The 0 flag pads between the sign or 0x and the digits. */
	int zpad = !sp->minus && sp->zero && sp->prec < 0 && sp->conv != 's' &&
		   sp->conv != 'c';

	if (!sp->minus && !zpad && pad(vm, b, ' ', fill))
		return KP_ERROR;
	if (kp_buf_add(vm, b, prefix, (kp_size_t)plen))
		return KP_ERROR;
	if (zpad && pad(vm, b, '0', fill))
		return KP_ERROR;
	if (pad(vm, b, '0', zeros) || kp_buf_add(vm, b, body, (kp_size_t)blen))
		return KP_ERROR;
	return sp->minus ? pad(vm, b, ' ', fill) : 0;
}

int kp_fmt_integer(struct kp_vm *vm, struct kp_buf *b,
		   const struct kp_spec *sp, kp_s64 v)
{
	char tmp[KP_NUM_BUF], *end = tmp + sizeof(tmp), *p;
	const char *prefix = "";
	unsigned int base = 10;
	int neg = 0, n, zeros;
	kp_u64 m = (kp_u64)v;

	switch (sp->conv) {
	case 'd':
	case 'i':
		neg = v < 0;
		if (neg)
			m = 0 - m;
		prefix = neg ? "-" : sp->plus ? "+" : sp->space ? " " : "";
		break;
	case 'o':
		base = 8;
		break;
	case 'x':
	case 'X':
		base = 16;
		if (sp->alt && m)
			prefix = sp->conv == 'x' ? "0x" : "0X";
		break;
	case 'p':
		base = 16;
		prefix = "0x";
		break;
	}
	/* Precision 0 prints no digits for 0 (C). */
	if (sp->prec == 0 && m == 0)
		p = end;
	else
		p = fmt_digits(end, m, base, sp->conv == 'X');
	n = (int)(end - p);
	zeros = sp->prec > n ? sp->prec - n : 0;
	if (sp->conv == 'o' && sp->alt && !zeros && (n == 0 || *p != '0'))
		zeros = 1;
	return kp_fmt_field(vm, b, sp, prefix, zeros, p, n);
}

/*
 * %s: the value as print renders it, cut to the precision. Rendered at
 * the end of b, then moved into place behind its padding.
 */
static int fmt_string(struct kp_vm *vm, struct kp_buf *b,
		      const struct kp_spec *sp, const struct kp_value *v)
{
	kp_size_t start = b->len, len;
	int fill;

	if (kp_fmt_value(vm, b, v))
		return KP_ERROR;
	len = b->len - start;
	if (sp->prec >= 0 && len > (kp_size_t)sp->prec)
		len = (kp_size_t)sp->prec;
	b->len = start + len;
	fill = sp->width - (int)len;
	if (fill <= 0)
		return 0;
	if (sp->minus)
		return pad(vm, b, ' ', fill);
	if (pad(vm, b, ' ', fill))
		return KP_ERROR;
	kp_memmove(b->p + start + fill, b->p + start, len);
	kp_memset(b->p + start, ' ', (kp_size_t)fill);
	return 0;
}

static int bad_arg(struct kp_vm *vm, int argn, const struct kp_value *args,
		   int nargs)
{
	if (argn - 2 >= nargs)
		return kp_rt_error(vm, "bad argument #%d to 'printf' (no value)",
				   argn);
	return kp_rt_error(vm,
			   "bad argument #%d to 'printf' (number expected, got %s)",
			   argn, kp_typename(&args[argn - 2]));
}

/* A number argument for a conversion or a '*'; argn counts fmt as #1. */
static int num_arg(struct kp_vm *vm, const struct kp_value *args, int nargs,
		   int *argn, kp_s64 *out)
{
	int i = (*argn)++ - 2;

	if (i >= nargs || args[i].tt != KP_TNUM)
		return bad_arg(vm, *argn - 1, args, nargs);
	*out = args[i].u.n;
	return 0;
}

static int clamp_width(kp_s64 w)
{
	return w > KP_FMT_MAX_WIDTH ? KP_FMT_MAX_WIDTH : (int)w;
}

/* Parses flags, width, precision and length after '%'; *p moves on. */
static int parse_spec(struct kp_vm *vm, const char **p, const char *end,
		      struct kp_spec *sp, const struct kp_value *args,
		      int nargs, int *argn)
{
	const char *s = *p;
	kp_s64 v;

	kp_memset(sp, 0, sizeof(*sp));
	sp->prec = -1;
	for (; s < end; s++) {
		if (*s == '-')
			sp->minus = 1;
		else if (*s == '0')
			sp->zero = 1;
		else if (*s == '+')
			sp->plus = 1;
		else if (*s == ' ')
			sp->space = 1;
		else if (*s == '#')
			sp->alt = 1;
		else
			break;
	}
	if (s < end && *s == '*') {
		if (num_arg(vm, args, nargs, argn, &v))
			return KP_ERROR;
		if (v < 0) {
			sp->minus = 1;
			v = v == KP_S64_MIN ? KP_S64_MAX : -v;
		}
		sp->width = clamp_width(v);
		s++;
	} else {
		for (; s < end && *s >= '0' && *s <= '9'; s++)
			sp->width = clamp_width(sp->width * 10 + (*s - '0'));
	}
	if (s < end && *s == '.') {
		s++;
		sp->prec = 0;
		if (s < end && *s == '*') {
			if (num_arg(vm, args, nargs, argn, &v))
				return KP_ERROR;
			sp->prec = v < 0 ? -1 : clamp_width(v);
			s++;
		} else {
			for (; s < end && *s >= '0' && *s <= '9'; s++)
				sp->prec = clamp_width(sp->prec * 10 +
						       (*s - '0'));
		}
	}
	/* C length modifiers carry no meaning for 64-bit-only numbers. */
	while (s < end && (*s == 'l' || *s == 'h' || *s == 'z' || *s == 'j' ||
			   *s == 't'))
		s++;
	sp->conv = s < end ? *s : '\0';
	*p = s;
	return 0;
}

int kp_fmt_printf(struct kp_vm *vm, struct kp_buf *b, const struct kp_str *fmt,
		  const struct kp_value *args, int nargs)
{
	const char *p = fmt->data, *end = p + fmt->len, *start;
	struct kp_spec sp;
	int argn = 2;
	kp_s64 v;
	char c;

	for (; p < end; p++) {
		if (*p != '%') {
			start = p;
			while (p + 1 < end && p[1] != '%')
				p++;
			if (kp_buf_add(vm, b, start,
				       (kp_size_t)(p - start + 1)))
				return KP_ERROR;
			continue;
		}
		start = p++;
		if (p < end && *p == '%') {
			if (kp_buf_add(vm, b, "%", 1))
				return KP_ERROR;
			continue;
		}
		if (parse_spec(vm, &p, end, &sp, args, nargs, &argn))
			return KP_ERROR;
		switch (sp.conv) {
		case 'd': case 'i': case 'u': case 'x': case 'X': case 'o':
		case 'p':
			if (num_arg(vm, args, nargs, &argn, &v) ||
			    kp_fmt_integer(vm, b, &sp, v))
				return KP_ERROR;
			break;
		case 'c':
			if (num_arg(vm, args, nargs, &argn, &v))
				return KP_ERROR;
			c = (char)v;
			if (kp_fmt_field(vm, b, &sp, "", 0, &c, 1))
				return KP_ERROR;
			break;
		case 's':
			if (argn - 2 >= nargs)
				return bad_arg(vm, argn, args, nargs);
			if (fmt_string(vm, b, &sp, &args[argn - 2]))
				return KP_ERROR;
			argn++;
			break;
		default:
			return kp_rt_error(vm, "invalid conversion '%.*s' to 'printf'",
					   (int)(p - start + (p < end)), start);
		}
	}
	return 0;
}

/* kp_fmt_msg's output, cut at the end of the buffer. */
struct kp_msgbuf {
	char *p;
	kp_size_t len, cap;
};

static void msg_add(struct kp_msgbuf *m, const char *s, kp_size_t n)
{
	while (n-- && m->len + 1 < m->cap)
		m->p[m->len++] = *s++;
}

void kp_fmt_msg(char *buf, kp_size_t size, const char *fmt,
		__builtin_va_list ap)
{
	struct kp_msgbuf m = { buf, 0, size };
	char tmp[KP_NUM_BUF], *p, c;
	const char *s;
	unsigned long long u;
	int n;

	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			msg_add(&m, fmt, 1);
			continue;
		}
		fmt++;
		if (fmt[0] == 's') {
			s = __builtin_va_arg(ap, const char *);
			msg_add(&m, s, kp_strlen(s));
		} else if (fmt[0] == '.' && fmt[1] == '*' && fmt[2] == 's') {
			n = __builtin_va_arg(ap, int);
			s = __builtin_va_arg(ap, const char *);
			msg_add(&m, s, n < 0 ? 0 : (kp_size_t)n);
			fmt += 2;
		} else if (fmt[0] == 'c') {
			c = (char)__builtin_va_arg(ap, int);
			msg_add(&m, &c, 1);
		} else if (fmt[0] == 'd') {
			n = __builtin_va_arg(ap, int);
			msg_add(&m, tmp, (kp_size_t)kp_fmt_int(tmp, n));
		} else if (fmt[0] == 'u') {
			u = __builtin_va_arg(ap, unsigned int);
			p = fmt_digits(tmp + sizeof(tmp), u, 10, 0);
			msg_add(&m, p, (kp_size_t)(tmp + sizeof(tmp) - p));
		} else if (fmt[0] == 'l' && fmt[1] == 'l' && fmt[2] == 'd') {
			n = kp_fmt_int(tmp, __builtin_va_arg(ap, long long));
			msg_add(&m, tmp, (kp_size_t)n);
			fmt += 2;
		} else if (fmt[0] == 'l' && fmt[1] == 'l' && fmt[2] == 'u') {
			u = __builtin_va_arg(ap, unsigned long long);
			p = fmt_digits(tmp + sizeof(tmp), u, 10, 0);
			msg_add(&m, p, (kp_size_t)(tmp + sizeof(tmp) - p));
			fmt += 2;
		} else {
			/* "%%" and unknown directives show as written. */
			msg_add(&m, "%", 1);
			if (!*fmt)
				break;
			if (*fmt != '%')
				msg_add(&m, fmt, 1);
		}
	}
	m.p[m.len] = '\0';
}
