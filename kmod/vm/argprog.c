// SPDX-License-Identifier: GPL-2.0
/*
 * Print programs (kp_argprog.h): one walker reads a program in prefix
 * order, either checking it (no record: every branch is read, nothing
 * printed) or running it on a record. Running walks the branch a
 * condition does not take too, without printing it, so a program's layout
 * needs no jump offsets to trust; its values cost a few ops at most.
 */
#include "kp_argprog.h"
#include "kp_fmt.h"

struct ap {
	const kp_u8 *p, *end;
	const struct kp_argprog_env *env; /* NULL: checking */
	struct kp_buf *out;
	/* "%.*s" with a negative precision: what a string prints instead */
	const char *lit;
	kp_u16 litlen;
	int depth;
	int bad; /* malformed (checking), or a field the record lacks */
};

static int take(struct ap *a, void *v, kp_size_t n)
{
	if ((kp_size_t)(a->end - a->p) < n) {
		a->bad = 1;
		return -1;
	}
	kp_memcpy(v, a->p, n);
	a->p += n;
	return 0;
}

static kp_u8 take8(struct ap *a)
{
	kp_u8 v = 0;

	take(a, &v, 1);
	return v;
}

static kp_u16 take16(struct ap *a)
{
	kp_u16 v = 0;

	take(a, &v, 2);
	return v;
}

static kp_u64 take64(struct ap *a)
{
	kp_u64 v = 0;

	take(a, &v, 8);
	return v;
}

/* n bytes of text in place; NULL when the program ends first. */
static const char *take_text(struct ap *a, kp_u16 n)
{
	const char *s = (const char *)a->p;

	if ((kp_size_t)(a->end - a->p) < n) {
		a->bad = 1;
		return NULL;
	}
	a->p += n;
	return s;
}

/* size bytes at off of the record; NULL when it is shorter (or checking). */
static const kp_u8 *at(struct ap *a, kp_u32 off, kp_u32 size)
{
	if (!a->env)
		return NULL;
	if (off > a->env->rawlen || size > a->env->rawlen - off) {
		a->bad = 1;
		return NULL;
	}
	return a->env->raw + off;
}

/* A number of size bytes at off, unsigned (FIELD, ELEM). */
static kp_u64 read_at(struct ap *a, kp_u64 off, kp_u8 size)
{
	const kp_u8 *p;
	kp_u16 v16;
	kp_u32 v32;
	kp_u64 v64;

	if (size != 1 && size != 2 && size != 4 && size != 8)
		a->bad = 1;
	if (off > 0xffffffffu) {
		if (a->env)
			a->bad = 1;
		return 0;
	}
	p = at(a, (kp_u32)off, size);
	if (!p)
		return 0;
	switch (size) {
	case 1:
		return *p;
	case 2:
		kp_memcpy(&v16, p, 2);
		return v16;
	case 4:
		kp_memcpy(&v32, p, 4);
		return v32;
	}
	kp_memcpy(&v64, p, 8);
	return v64;
}

static kp_u64 binop(struct ap *a, kp_u8 op, kp_u64 l, kp_u64 r)
{
	switch (op) {
	case KTAPVM_AP_OP_ADD:
		return l + r;
	case KTAPVM_AP_OP_SUB:
		return l - r;
	case KTAPVM_AP_OP_MUL:
		return l * r;
	case KTAPVM_AP_OP_DIV:
		return r ? l / r : 0;
	case KTAPVM_AP_OP_MOD:
		return r ? l % r : 0;
	/* The count taken mod 64, as x86's shifts (libtraceevent's C) do */
	case KTAPVM_AP_OP_SHL:
		return l << (r & 63);
	case KTAPVM_AP_OP_SHR:
		return l >> (r & 63);
	case KTAPVM_AP_OP_AND:
		return l & r;
	case KTAPVM_AP_OP_OR:
		return l | r;
	case KTAPVM_AP_OP_XOR:
		return l ^ r;
	case KTAPVM_AP_OP_EQ:
		return l == r;
	case KTAPVM_AP_OP_NE:
		return l != r;
	case KTAPVM_AP_OP_LT:
		return l < r;
	case KTAPVM_AP_OP_LE:
		return l <= r;
	case KTAPVM_AP_OP_GT:
		return l > r;
	case KTAPVM_AP_OP_GE:
		return l >= r;
	case KTAPVM_AP_OP_LAND:
		return l && r;
	case KTAPVM_AP_OP_LOR:
		return l || r;
	}
	a->bad = 1;
	return 0;
}

static kp_u64 num(struct ap *a)
{
	kp_u64 v = 0, l, r, off;
	kp_u8 op;

	if (a->bad || ++a->depth > KTAPVM_AP_MAX_DEPTH) {
		a->bad = 1;
		return 0;
	}
	switch (take8(a)) {
	case KTAPVM_AP_FIELD:
		off = take16(a);
		v = read_at(a, off, take8(a));
		break;
	case KTAPVM_AP_ELEM:
		/* Past the array, as libtraceevent: the record bounds it. */
		off = take16(a);
		op = take8(a);
		v = read_at(a, off + num(a) * op, op);
		break;
	case KTAPVM_AP_CONST:
		v = take64(a);
		break;
	case KTAPVM_AP_NOT:
		v = !num(a);
		break;
	case KTAPVM_AP_BNOT:
		v = ~num(a);
		break;
	case KTAPVM_AP_BIN:
		op = take8(a);
		l = num(a);
		r = num(a);
		v = binop(a, op, l, r);
		break;
	case KTAPVM_AP_COND:
		v = num(a);
		l = num(a);
		r = num(a);
		v = v ? l : r;
		break;
	default:
		a->bad = 1;
	}
	a->depth--;
	return v;
}

/* Printing this? Not when checking, skipping a branch, or full. */
static int printing(const struct ap *a, int emit)
{
	return emit && a->env && !a->bad && a->out->len < a->out->cap;
}

static void put(struct ap *a, int emit, const char *s, kp_size_t n)
{
	if (printing(a, emit))
		kp_buf_add(NULL, a->out, s, n);
}

/* "0x%llx" */
static void put_hex(struct ap *a, int emit, kp_u64 v)
{
	struct kp_spec sp = {.prec = -1, .conv = 'p'};

	if (printing(a, emit))
		kp_fmt_integer(NULL, a->out, &sp, (kp_s64)v);
}

/* One text by %s's spec: only so much of it, padded. */
static void put_text(struct ap *a, int emit, const struct kp_spec *sp,
		     const char *s, kp_size_t n)
{
	if (sp->prec >= 0 && n > (kp_size_t)sp->prec)
		n = (kp_size_t)sp->prec;
	if (printing(a, emit))
		kp_fmt_field(NULL, a->out, sp, "", 0, s, (int)n);
}

static kp_size_t bounded_strlen(const char *s, kp_size_t max)
{
	kp_size_t n = 0;

	while (n < max && s[n])
		n++;
	return n;
}

/* SFIELD: a char array's text, or the one a __data_loc word locates. */
static void put_field_text(struct ap *a, int emit, const struct kp_spec *sp)
{
	kp_u8 kind = take8(a);
	kp_u16 off = take16(a), size = take16(a);
	const kp_u8 *p;
	kp_u32 loc, start;

	if (kind > KTAPVM_AP_REL_LOC || (kind != KTAPVM_AP_CHARS && size != 4))
		a->bad = 1;
	p = at(a, off, size);
	if (!p)
		return;
	start = off;
	if (kind != KTAPVM_AP_CHARS) {
		kp_memcpy(&loc, p, 4);
		start =
		    (loc & 0xffff) + (kind == KTAPVM_AP_REL_LOC ? off + 4u : 0);
		size = (kp_u16)(loc >> 16);
		/* libtraceevent prints nothing at all for "" */
		if (!size)
			return;
		p = at(a, start, size);
		if (!p)
			return;
	}
	if (a->lit)
		put(a, emit, a->lit, a->litlen);
	else
		put_text(a, emit, sp, (const char *)p,
			 bounded_strlen((const char *)p, size));
}

/*
 * FLAGS (any: every set value, joined by a delimiter) or SYMBOLIC (the
 * first equal value): a number, then its texts, as libtraceevent's
 * print_str_arg() has them, to the letter: a FLAGS value counts as signed,
 * so one with bit 63 never matches while bits remain and, once none
 * remain (or from the start), prints alone, undelimited, and ends the
 * list; a 0 value never prints.
 */
static void flags(struct ap *a, int emit, const struct kp_spec *sp, int any)
{
	const char *delim = "", *s;
	kp_u16 dlen = 0, k, n;
	int shown = 0, done = 0;
	kp_u64 v, fv;

	v = num(a);
	if (any) {
		dlen = take16(a);
		delim = take_text(a, dlen);
	}
	for (k = take16(a); k && !a->bad; k--) {
		fv = take64(a);
		n = take16(a);
		s = take_text(a, n);
		if (done || !s)
			continue;
		if (!any) {
			if (v == fv) {
				put_text(a, emit, sp, s, n);
				done = 1;
			}
		} else if (!v && (kp_s64)fv < 0) {
			put_text(a, emit, sp, s, n);
			done = 1;
		} else if ((kp_s64)fv > 0 && (v & fv) == fv) {
			if (shown)
				put(a, emit, delim, dlen);
			put_text(a, emit, sp, s, n);
			shown = 1;
			v &= ~fv;
		}
	}
	if (any ? !v : done)
		return;
	if (shown)
		put(a, emit, delim, dlen);
	put_hex(a, emit, v);
}

static void str(struct ap *a, int emit, const struct kp_spec *sp)
{
	const char *s;
	kp_u16 n;
	kp_u64 c;

	if (a->bad || ++a->depth > KTAPVM_AP_MAX_DEPTH) {
		a->bad = 1;
		return;
	}
	switch (take8(a)) {
	case KTAPVM_AP_SFIELD:
		put_field_text(a, emit, sp);
		break;
	case KTAPVM_AP_SLIT:
		n = take16(a);
		s = take_text(a, n);
		if (s)
			put_text(a, emit, sp, s, n);
		break;
	case KTAPVM_AP_SCOND:
		c = num(a);
		str(a, emit && c, sp);
		str(a, emit && !c, sp);
		break;
	case KTAPVM_AP_FLAGS:
		flags(a, emit, sp, 1);
		break;
	case KTAPVM_AP_SYMBOLIC:
		flags(a, emit, sp, 0);
		break;
	default:
		a->bad = 1;
	}
	a->depth--;
}

/*
 * The bytes an address conversion prints: SFIELD CHARS of at least need
 * bytes. NULL when checking, or for a short record.
 */
static const kp_u8 *bytes(struct ap *a, kp_u16 need)
{
	kp_u16 off, size;

	if (take8(a) != KTAPVM_AP_SFIELD || take8(a) != KTAPVM_AP_CHARS)
		a->bad = 1;
	off = take16(a);
	size = take16(a);
	if (size < need)
		a->bad = 1;
	return a->bad ? NULL : at(a, off, need);
}

static const char hex_digits[] = "0123456789abcdef";

static void put_dec(struct ap *a, kp_u64 v)
{
	struct kp_spec sp = {.prec = -1, .conv = 'u'};

	if (printing(a, 1))
		kp_fmt_integer(NULL, a->out, &sp, (kp_s64)v);
}

/* %pI4: a.b.c.d */
static void put_ip4(struct ap *a, const kp_u8 *p)
{
	int i;

	for (i = 0; i < 4; i++) {
		if (i)
			put(a, 1, ".", 1);
		put_dec(a, p[i]);
	}
}

/*
 * %pI6c: the kernel's ip6_compressed_string(), as libtraceevent has it:
 * the longest run of 0 words (two at least) as "::", words in hex without
 * leading zeros, v4-mapped and ISATAP addresses ending in a.b.c.d.
 */
static void put_ip6c(struct ap *a, const kp_u8 *p)
{
	int i, j, range, longest = 1, colonpos = -1, needcolon = 0;
	int v4 = 1, zeros, sh;
	char word[4];
	kp_u16 w;

	for (i = 0; i < 10; i++)
		v4 &= !p[i];
	v4 = (v4 && p[10] == 0xff && p[11] == 0xff) ||
	     ((p[8] | 0x02) == 0x02 && !p[9] && p[10] == 0x5e && p[11] == 0xfe);
	range = v4 ? 6 : 8;
	for (i = 0; i < range; i++) {
		for (j = i, zeros = 0; j < range && !p[2 * j] && !p[2 * j + 1];
		     j++)
			zeros++;
		if (zeros > longest) {
			longest = zeros;
			colonpos = i;
		}
	}
	for (i = 0; i < range; i++) {
		if (i == colonpos) {
			if (needcolon || !i)
				put(a, 1, ":", 1);
			put(a, 1, ":", 1);
			needcolon = 0;
			i += longest - 1;
			continue;
		}
		if (needcolon)
			put(a, 1, ":", 1);
		w = (kp_u16)(p[2 * i] << 8 | p[2 * i + 1]);
		for (sh = 12; sh > 0 && !(w >> sh); sh -= 4)
			;
		for (j = 0; sh >= 0; sh -= 4)
			word[j++] = hex_digits[(w >> sh) & 0xf];
		put(a, 1, word, (kp_size_t)j);
		needcolon = 1;
	}
	if (v4) {
		if (needcolon)
			put(a, 1, ":", 1);
		put_ip4(a, p + 12);
	}
}

/* %pUb: 16 bytes in hex, 8-4-4-4-12. */
static void put_uuid(struct ap *a, const kp_u8 *p)
{
	char out[36];
	int i, n = 0;

	for (i = 0; i < 16; i++) {
		out[n++] = hex_digits[p[i] >> 4];
		out[n++] = hex_digits[p[i] & 0xf];
		if (i == 3 || i == 5 || i == 7 || i == 9)
			out[n++] = '-';
	}
	put(a, 1, out, (kp_size_t)n);
}

/*
 * %pISpc: a struct sockaddr_in (a.b.c.d:port) or sockaddr_in6
 * ([v6c]:port), by its family; nothing for another family.
 */
static void put_sockaddr(struct ap *a, const kp_u8 *p)
{
	kp_u16 family;

	kp_memcpy(&family, p, 2);
	if (family == 2) {
		put_ip4(a, p + 4);
	} else if (family == 10) {
		put(a, 1, "[", 1);
		put_ip6c(a, p + 8);
		put(a, 1, "]", 1);
	} else {
		return; /* libtraceevent prints nothing */
	}
	put(a, 1, ":", 1);
	put_dec(a, (kp_u64)(p[2] << 8 | p[3]));
}

/* The C integer type a conversion's length names, as 64 bits. */
static kp_u64 c_integer(kp_u64 v, kp_u8 length, char conv)
{
	int sign = conv == 'd' || conv == 'i';

	switch (length) {
	case 0:
		return sign ? (kp_u64)(kp_s64)(kp_s32)v : (kp_u32)v;
	case 1:
		return sign ? (kp_u64)(kp_s64)(kp_s8)v : (kp_u8)v;
	case 2:
		return sign ? (kp_u64)(kp_s64)(kp_s16)v : (kp_u16)v;
	}
	return v;
}

static void conv(struct ap *a)
{
	struct kp_spec sp = {.prec = -1};
	kp_u8 c = take8(a), fl = take8(a), w = take8(a), p = take8(a);
	kp_u8 length = take8(a);
	char sym[128], ch;
	const kp_u8 *b;
	kp_s32 star;
	long n;
	kp_u64 v;

	sp.minus = !!(fl & KTAPVM_AP_F_MINUS);
	sp.plus = !!(fl & KTAPVM_AP_F_PLUS);
	sp.space = !!(fl & KTAPVM_AP_F_SPACE);
	sp.zero = !!(fl & KTAPVM_AP_F_ZERO);
	sp.alt = !!(fl & KTAPVM_AP_F_ALT);
	sp.conv = (char)c;
	if (w != KTAPVM_AP_NONE)
		sp.width = w;
	if (p != KTAPVM_AP_NONE && p != KTAPVM_AP_STAR)
		sp.prec = p;
	if ((fl & ~0x1fu) || length > 3 ||
	    (w != KTAPVM_AP_NONE && w > KTAPVM_AP_MAX_WIDTH) ||
	    (p != KTAPVM_AP_NONE && p != KTAPVM_AP_STAR &&
	     p > KTAPVM_AP_MAX_WIDTH) ||
	    (p == KTAPVM_AP_STAR && c != 's'))
		a->bad = 1;
	switch (c) {
	case 's':
		/* Only '-' means something to %s. */
		if (fl & ~KTAPVM_AP_F_MINUS)
			a->bad = 1;
		if (p == KTAPVM_AP_STAR) {
			/*
			 * '.*': a negative one prints the conversion itself
			 * where the string is not empty.
			 */
			star = (kp_s32)num(a);
			a->litlen = take16(a);
			a->lit = take_text(a, a->litlen);
			if (star >= 0) {
				sp.prec = star;
				a->lit = NULL;
			}
			str(a, 1, &sp);
			a->lit = NULL;
			return;
		}
		str(a, 1, &sp);
		return;
	case 'd':
	case 'i':
	case 'u':
	case 'x':
	case 'X':
	case 'o':
		v = c_integer(num(a), length, (char)c);
		if (printing(a, 1))
			kp_fmt_integer(NULL, a->out, &sp, (kp_s64)v);
		return;
	case 'c':
		ch = (char)num(a);
		if (printing(a, 1))
			kp_fmt_field(NULL, a->out, &sp, "", 0, &ch, 1);
		return;
	case 'p':
		v = num(a);
		if (!v)
			put_text(a, 1, &sp, "(nil)", 5);
		else if (printing(a, 1))
			kp_fmt_integer(NULL, a->out, &sp, (kp_s64)v);
		return;
	case '4':
	case '6':
	case 'U':
	case 'n':
		b = bytes(a, c == '4' ? 4 : c == 'n' ? 28 : 16);
		if (!b || !printing(a, 1))
			return;
		if (c == '4')
			put_ip4(a, b);
		else if (c == '6')
			put_ip6c(a, b);
		else if (c == 'U')
			put_uuid(a, b);
		else
			put_sockaddr(a, b);
		return;
	case 'S':
	case 'f':
		v = num(a);
		if (!printing(a, 1))
			return;
		n = a->env->symbol ? a->env->symbol(a->env->ctx, v, c == 'S',
						    sym, sizeof(sym))
				   : -1;
		if (n >= 0)
			put(a, 1, sym,
			    n < (long)sizeof(sym) ? (kp_size_t)n : sizeof(sym));
		else
			put_hex(a, 1, v);
		return;
	}
	a->bad = 1;
}

/* The walk: checking (env NULL) or running; -1 when bad. */
static int walk(struct ap *a)
{
	const char *s;
	kp_u16 n;

	for (;;) {
		if (a->bad)
			return -1;
		switch (take8(a)) {
		case KTAPVM_AP_END:
			/* Nothing may follow. */
			return a->bad || a->p != a->end ? -1 : 0;
		case KTAPVM_AP_TEXT:
			n = take16(a);
			s = take_text(a, n);
			if (s)
				put(a, 1, s, n);
			break;
		case KTAPVM_AP_CONV:
			conv(a);
			break;
		default:
			return -1;
		}
	}
}

int kp_argprog_check(const void *prog, kp_size_t len)
{
	struct ap a = {.p = prog, .end = (const kp_u8 *)prog + len};

	return walk(&a);
}

long kp_argprog_run(const void *prog, kp_size_t len,
		    const struct kp_argprog_env *env, char *buf, kp_size_t size)
{
	struct kp_buf out = {.p = buf, .cap = size};
	struct ap a = {.p = prog,
		       .end = (const kp_u8 *)prog + len,
		       .env = env,
		       .out = &out};

	if (walk(&a))
		return -1;
	return (long)out.len;
}
