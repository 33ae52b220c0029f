// SPDX-License-Identifier: GPL-2.0
/*
 * Print fmt → print program (argprog.h). The program does what
 * libtraceevent's tep_print_event() does with the same print fmt, which is
 * what the user engine's argstr prints: numbers are 64-bit unsigned, casts
 * mask, conversions print the C type their length names, %s of a FLAGS or
 * SYMBOL pads each text. tests/unit/test_argprog.c holds the two side by
 * side on every event of the machine it runs on.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../proto/ktapvm_abi.h"
#include "argprog.h"

struct apc {
	uint8_t *p;
	size_t len, size;
	const struct tep_event *tev;
	const char *why;
	bool kvars;
	int depth;
};

static bool fail(struct apc *c, const char *why)
{
	if (!c->why)
		c->why = why;
	return false;
}

static bool put(struct apc *c, const void *v, size_t n)
{
	if (c->size - c->len < n)
		return fail(c, "the program is too long");
	memcpy(c->p + c->len, v, n);
	c->len += n;
	return true;
}

static bool put8(struct apc *c, unsigned int v)
{
	uint8_t b = (uint8_t)v;

	return put(c, &b, 1);
}

static bool put16(struct apc *c, size_t v)
{
	uint16_t h = (uint16_t)v;

	if (v > UINT16_MAX)
		return fail(c, "a text or list is too long");
	return put(c, &h, 2);
}

static bool put64(struct apc *c, uint64_t v)
{
	return put(c, &v, 8);
}

static bool put_text(struct apc *c, const char *s, size_t n)
{
	return put16(c, n) && put(c, s, n);
}

/* A number in a print fmt as libtraceevent reads it: strtoull(), base 0. */
static uint64_t atom_value(const char *s)
{
	return s ? strtoull(s, NULL, 0) : 0;
}

/*
 * A FLAGS or SYMBOL value as libtraceevent's eval_flag() reads it: a
 * number, one of the names it knows, else -1.
 */
static uint64_t flag_value(const char *s)
{
	static const struct {
		const char *name;
		uint64_t value;
	} known[] = {
	    {"HI_SOFTIRQ", 0},	      {"TIMER_SOFTIRQ", 1},
	    {"NET_TX_SOFTIRQ", 2},    {"NET_RX_SOFTIRQ", 3},
	    {"BLOCK_SOFTIRQ", 4},     {"IRQ_POLL_SOFTIRQ", 5},
	    {"TASKLET_SOFTIRQ", 6},   {"SCHED_SOFTIRQ", 7},
	    {"HRTIMER_SOFTIRQ", 8},   {"RCU_SOFTIRQ", 9},
	    {"HRTIMER_NORESTART", 0}, {"HRTIMER_RESTART", 1},
	};
	size_t i;

	if (isdigit((unsigned char)s[0]))
		return strtoull(s, NULL, 0);
	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcmp(s, known[i].name))
			return known[i].value;
	return UINT64_MAX;
}

static const struct tep_format_field *find_field(const struct apc *c,
						 const char *name)
{
	return name ? tep_find_any_field((struct tep_event *)c->tev, name)
		    : NULL;
}

/* What a cast keeps (eval_type_str() of libtraceevent: no sign). */
static uint64_t cast_mask(const char *type)
{
	static const struct {
		const char *type;
		uint64_t mask;
	} masks[] = {
	    {"u8", 0xff},    {"s8", 0xff},	  {"u16", 0xffff},
	    {"s16", 0xffff}, {"u32", 0xffffffff}, {"s32", 0xffffffff},
	    {"char", 0xff},  {"short", 0xffff},	  {"int", 0xffffffff},
	};
	size_t i, len = strlen(type);

	if (!len || type[len - 1] == '*' || !strncmp(type, "struct", 6))
		return UINT64_MAX;
	if (!strncmp(type, "unsigned ", 9))
		type += 9;
	for (i = 0; i < sizeof(masks) / sizeof(masks[0]); i++)
		if (!strcmp(type, masks[i].type))
			return masks[i].mask;
	return UINT64_MAX;
}

static const struct {
	const char *op;
	uint8_t code;
} binops[] = {
    {"+", KTAPVM_AP_OP_ADD},   {"-", KTAPVM_AP_OP_SUB},
    {"*", KTAPVM_AP_OP_MUL},   {"/", KTAPVM_AP_OP_DIV},
    {"%", KTAPVM_AP_OP_MOD},   {"<<", KTAPVM_AP_OP_SHL},
    {">>", KTAPVM_AP_OP_SHR},  {"&", KTAPVM_AP_OP_AND},
    {"|", KTAPVM_AP_OP_OR},    {"^", KTAPVM_AP_OP_XOR},
    {"==", KTAPVM_AP_OP_EQ},   {"!=", KTAPVM_AP_OP_NE},
    {"<", KTAPVM_AP_OP_LT},    {"<=", KTAPVM_AP_OP_LE},
    {">", KTAPVM_AP_OP_GT},    {">=", KTAPVM_AP_OP_GE},
    {"&&", KTAPVM_AP_OP_LAND}, {"||", KTAPVM_AP_OP_LOR},
};

static bool num(struct apc *c, const struct tep_print_arg *arg);

static bool op_num(struct apc *c, const struct tep_print_arg *arg)
{
	const struct tep_print_arg *l = arg->op.left, *r = arg->op.right;
	const struct tep_format_field *f;
	const char *op = arg->op.op;
	size_t i;

	if (!strcmp(op, "?")) {
		if (!r || r->type != TEP_PRINT_OP || strcmp(r->op.op, ":"))
			return fail(c, "a malformed ?:");
		return put8(c, KTAPVM_AP_COND) && num(c, l) &&
		       num(c, r->op.left) && num(c, r->op.right);
	}
	if (!strcmp(op, "[")) {
		/* REC->x[i] of a numeric array field (no casts) */
		f = l && l->type == TEP_PRINT_FIELD
			? find_field(c, l->field.name)
			: NULL;
		if (!f ||
		    (f->flags & (TEP_FIELD_IS_ARRAY | TEP_FIELD_IS_DYNAMIC)) !=
			TEP_FIELD_IS_ARRAY ||
		    (f->elementsize != 1 && f->elementsize != 2 &&
		     f->elementsize != 4 && f->elementsize != 8) ||
		    f->offset > UINT16_MAX)
			return fail(c, "an index into no numeric array");
		return put8(c, KTAPVM_AP_ELEM) && put16(c, (size_t)f->offset) &&
		       put8(c, (unsigned int)f->elementsize) && num(c, r);
	}
	if (!strcmp(op, "!") || !strcmp(op, "~"))
		return put8(c, *op == '!' ? KTAPVM_AP_NOT : KTAPVM_AP_BNOT) &&
		       num(c, r);
	for (i = 0; i < sizeof(binops) / sizeof(binops[0]); i++)
		if (!strcmp(op, binops[i].op))
			return put8(c, KTAPVM_AP_BIN) &&
			       put8(c, binops[i].code) && num(c, l) &&
			       num(c, r);
	return fail(c, "an operator argstr does not evaluate");
}

static bool num(struct apc *c, const struct tep_print_arg *arg)
{
	const struct tep_format_field *f;
	uint64_t mask;
	bool ok;

	if (++c->depth > KTAPVM_AP_MAX_DEPTH)
		return fail(c, "an expression nested too deep");
	switch (arg ? arg->type : TEP_PRINT_NULL) {
	case TEP_PRINT_NULL:
		/* The missing left side of a unary op reads 0. */
		ok = put8(c, KTAPVM_AP_CONST) && put64(c, 0);
		break;
	case TEP_PRINT_ATOM:
		/* A kernel variable (vmemmap_base) reads 0. */
		if (arg->atom.atom &&
		    !isdigit((unsigned char)*arg->atom.atom) &&
		    *arg->atom.atom != '-')
			c->kvars = true;
		ok = put8(c, KTAPVM_AP_CONST) &&
		     put64(c, atom_value(arg->atom.atom));
		break;
	case TEP_PRINT_FIELD:
		f = find_field(c, arg->field.name);
		if (!f ||
		    f->flags & (TEP_FIELD_IS_ARRAY | TEP_FIELD_IS_DYNAMIC |
				TEP_FIELD_IS_STRING) ||
		    (f->size != 1 && f->size != 2 && f->size != 4 &&
		     f->size != 8) ||
		    f->offset > UINT16_MAX)
			return fail(c, "a field that is not a number");
		ok = put8(c, KTAPVM_AP_FIELD) && put16(c, (size_t)f->offset) &&
		     put8(c, (unsigned int)f->size);
		break;
	case TEP_PRINT_TYPE:
		mask = cast_mask(arg->typecast.type);
		ok = mask == UINT64_MAX
			 ? num(c, arg->typecast.item)
			 : put8(c, KTAPVM_AP_BIN) &&
			       put8(c, KTAPVM_AP_OP_AND) &&
			       num(c, arg->typecast.item) &&
			       put8(c, KTAPVM_AP_CONST) && put64(c, mask);
		break;
	case TEP_PRINT_OP:
		ok = op_num(c, arg);
		break;
	default:
		ok = fail(c, "a value argstr does not evaluate");
	}
	c->depth--;
	return ok;
}

/* FLAGS or SYMBOL's list: count, then value and text each. */
static bool flag_list(struct apc *c, const struct tep_print_flag_sym *f)
{
	const struct tep_print_flag_sym *i;
	size_t n = 0;

	for (i = f; i; i = i->next)
		n++;
	if (!put16(c, n))
		return false;
	for (i = f; i; i = i->next)
		if (!i->value || !i->str)
			return fail(c, "a flag without a value or text");
		else if (!put64(c, flag_value(i->value)) ||
			 !put_text(c, i->str, strlen(i->str)))
			return false;
	return true;
}

static bool str(struct apc *c, const struct tep_print_arg *arg)
{
	const struct tep_format_field *f;
	const char *s;
	bool ok;

	if (++c->depth > KTAPVM_AP_MAX_DEPTH)
		return fail(c, "an expression nested too deep");
	switch (arg ? arg->type : TEP_PRINT_NULL) {
	case TEP_PRINT_STRING:
		f = arg->string.field ? arg->string.field
				      : find_field(c, arg->string.string);
		if (!f || !(f->flags & TEP_FIELD_IS_DYNAMIC) ||
		    f->offset > UINT16_MAX)
			return fail(c, "a __get_str() of no string field");
		ok = put8(c, KTAPVM_AP_SFIELD) &&
		     put8(c, f->flags & TEP_FIELD_IS_RELATIVE
				 ? KTAPVM_AP_REL_LOC
				 : KTAPVM_AP_DATA_LOC) &&
		     put16(c, (size_t)f->offset) && put16(c, 4);
		break;
	case TEP_PRINT_FIELD:
		/* %s of a char array; of a pointer, no: it needs memory. */
		f = find_field(c, arg->field.name);
		if (!f ||
		    (f->flags & (TEP_FIELD_IS_ARRAY | TEP_FIELD_IS_DYNAMIC)) !=
			TEP_FIELD_IS_ARRAY ||
		    f->elementsize != 1 || f->offset > UINT16_MAX ||
		    f->size > UINT16_MAX)
			return fail(c, "a %s of a field that is no char array");
		ok = put8(c, KTAPVM_AP_SFIELD) && put8(c, KTAPVM_AP_CHARS) &&
		     put16(c, (size_t)f->offset) && put16(c, (size_t)f->size);
		break;
	case TEP_PRINT_TYPE:
		/* ((void *)0) in a ?: of strings: the atom, as libtraceevent */
		ok = str(c, arg->typecast.item);
		break;
	case TEP_PRINT_ATOM:
	case TEP_PRINT_BSTRING:
		s = arg->type == TEP_PRINT_ATOM ? arg->atom.atom
						: arg->string.string;
		ok = put8(c, KTAPVM_AP_SLIT) && put_text(c, s, strlen(s));
		break;
	case TEP_PRINT_OP:
		if (strcmp(arg->op.op, "?") || !arg->op.right ||
		    arg->op.right->type != TEP_PRINT_OP ||
		    strcmp(arg->op.right->op.op, ":"))
			return fail(c, "a %s of an operator other than ?:");
		ok = put8(c, KTAPVM_AP_SCOND) && num(c, arg->op.left) &&
		     str(c, arg->op.right->op.left) &&
		     str(c, arg->op.right->op.right);
		break;
	case TEP_PRINT_FLAGS:
		s = arg->flags.delim ? arg->flags.delim : "";
		ok = put8(c, KTAPVM_AP_FLAGS) && num(c, arg->flags.field) &&
		     put_text(c, s, strlen(s)) &&
		     flag_list(c, arg->flags.flags);
		break;
	case TEP_PRINT_SYMBOL:
		ok = put8(c, KTAPVM_AP_SYMBOLIC) && num(c, arg->symbol.field) &&
		     flag_list(c, arg->symbol.symbols);
		break;
	default:
		ok = fail(c, "a %s of a value argstr does not print");
	}
	c->depth--;
	return ok;
}

/* An address conversion's operand: a field of at least need bytes. */
static bool addr_bytes(struct apc *c, const struct tep_print_arg *arg,
		       unsigned int need)
{
	const struct tep_format_field *f;

	f = arg->type == TEP_PRINT_FIELD ? find_field(c, arg->field.name)
					 : NULL;
	if (!f || f->flags & TEP_FIELD_IS_DYNAMIC ||
	    (unsigned int)f->size < need || f->offset > UINT16_MAX ||
	    f->size > UINT16_MAX)
		return fail(c, "an address of no byte array");
	return put8(c, KTAPVM_AP_SFIELD) && put8(c, KTAPVM_AP_CHARS) &&
	       put16(c, (size_t)f->offset) && put16(c, (size_t)f->size);
}

/*
 * The literal text before the next conversion: '%%' is '%', and the C
 * escapes the format file keeps are undone as libtraceevent does.
 */
static bool text(struct apc *c, const char **pp)
{
	char buf[1024];
	const char *p = *pp;
	size_t n = 0;

	while (*p && n < sizeof(buf)) {
		if (p[0] == '%' && p[1] != '%')
			break;
		if (p[0] == '\\' && p[1]) {
			p++;
			buf[n++] = *p == 'n'   ? '\n'
				   : *p == 't' ? '\t'
				   : *p == 'r' ? '\r'
					       : *p;
			p++;
			continue;
		}
		buf[n++] = *p;
		p += *p == '%' ? 2 : 1;
	}
	*pp = p;
	return !n || (put8(c, KTAPVM_AP_TEXT) && put_text(c, buf, n));
}

/* %p extensions: the conversion each is */
static const struct {
	const char *ext;
	char conv;
} pexts[] = {
    {"S", 'S'},	 {"F", 'S'},   {"B", 'S'},    {"s", 'f'}, {"f", 'f'},
    {"I4", '4'}, {"I6c", '6'}, {"ISpc", 'n'}, {"U", 'U'}, {"Ub", 'U'},
};

/* KTAPVM_AP_F_* by bit number */
static const char flag_chars[] = "-+ 0#";

/* A width or precision at *pp: at most 999. */
static unsigned int digits(const char **pp)
{
	unsigned int v = 0;

	for (; isdigit((unsigned char)**pp); (*pp)++)
		if (v < 1000)
			v = v * 10 + (unsigned int)(**pp - '0');
	return v;
}

/*
 * One conversion at *pp (past its '%') with its argument at *arg (for
 * "%.*s", the precision's first). No '*' width.
 */
static bool conv(struct apc *c, const char **pp,
		 const struct tep_print_arg **arg)
{
	const char *p = *pp, *start = *pp, *fl;
	unsigned int flags = 0, width = KTAPVM_AP_NONE, prec = KTAPVM_AP_NONE;
	unsigned int length = 0;
	size_t i;
	char cv;

	for (; *p && (fl = strchr(flag_chars, *p)); p++)
		flags |= 1u << (fl - flag_chars);
	if (isdigit((unsigned char)*p))
		width = digits(&p);
	if (p[0] == '.' && p[1] == '*') {
		prec = KTAPVM_AP_STAR;
		p += 2;
	} else if (*p == '.') {
		p++;
		prec = digits(&p);
	}
	if (*p == '*' ||
	    (width != KTAPVM_AP_NONE && width > KTAPVM_AP_MAX_WIDTH) ||
	    (prec != KTAPVM_AP_NONE && prec != KTAPVM_AP_STAR &&
	     prec > KTAPVM_AP_MAX_WIDTH))
		return fail(c, "a width or precision argstr does not print");
	if (p[0] == 'h' && p[1] == 'h') {
		length = 1;
		p += 2;
	} else if (*p == 'h') {
		length = 2;
		p++;
	}
	for (; *p && strchr("lLzjt", *p); p++)
		length = 3;
	cv = *p ? *p++ : '\0';
	switch (cv) {
	case 'd':
	case 'i':
	case 'u':
	case 'x':
	case 'X':
	case 'o':
	case 'c':
		break;
	case 's':
		if (flags & ~KTAPVM_AP_F_MINUS)
			return fail(c, "a %s with flags other than '-'");
		break;
	case 'p':
		/*
		 * %pS %pF %pB: symbol+0xoff; %ps %pf: symbol; %pI4, %pI6c,
		 * %pISpc, %pU: addresses from a byte array; %p: 0x...
		 */
		for (i = 0; i < sizeof(pexts) / sizeof(pexts[0]); i++)
			if (!strncmp(p, pexts[i].ext, strlen(pexts[i].ext)) &&
			    !isalnum((unsigned char)p[strlen(pexts[i].ext)]))
				break;
		if (i < sizeof(pexts) / sizeof(pexts[0])) {
			cv = pexts[i].conv;
			p += strlen(pexts[i].ext);
		} else if (isalnum((unsigned char)*p)) {
			return fail(c, "a %p extension argstr does not print");
		}
		break;
	default:
		return fail(c, "a conversion argstr does not print");
	}
	if (prec == KTAPVM_AP_STAR && cv != 's')
		return fail(c, "a '.*' precision on a number");
	*pp = p;
	if (!put8(c, KTAPVM_AP_CONV) || !put8(c, (unsigned char)cv) ||
	    !put8(c, flags) || !put8(c, width) || !put8(c, prec) ||
	    !put8(c, length))
		return false;
	if (prec == KTAPVM_AP_STAR) {
		/* the precision, then the conversion's own text ("%.*s") */
		if (!*arg || !num(c, *arg) ||
		    !put_text(c, start - 1, (size_t)(p - start) + 1))
			return fail(c, "fewer arguments than conversions");
		*arg = (*arg)->next;
	}
	if (!*arg)
		return fail(c, "fewer arguments than conversions");
	if (strchr("46nU", cv))
		return addr_bytes(c, *arg, cv == '4' ? 4 : cv == 'n' ? 28 : 16);
	return cv == 's' ? str(c, *arg) : num(c, *arg);
}

long argprog_compile(const struct tep_event *tev, void *out, size_t size,
		     struct argprog_info *info)
{
	struct apc c = {.p = out, .size = size, .tev = tev};
	const struct tep_print_arg *arg = tev->print_fmt.args;
	const char *p = tev->print_fmt.format;
	size_t n = strlen(tev->name);
	bool ok;

	/* trace_raw_output_prep(): the event's name first. */
	ok = p && put8(&c, KTAPVM_AP_TEXT) && put16(&c, n + 2) &&
	     put(&c, tev->name, n) && put(&c, ": ", 2);
	while (ok && *p) {
		ok = text(&c, &p);
		if (ok && *p == '%') {
			p++;
			ok = conv(&c, &p, &arg);
			arg = ok ? arg->next : NULL;
		}
	}
	if (ok && arg)
		ok = fail(&c, "more arguments than conversions");
	ok = ok && put8(&c, KTAPVM_AP_END);
	info->why = ok ? NULL : c.why ? c.why : "no print fmt";
	info->kvars = c.kvars;
	return ok ? (long)c.len : -1;
}

long argprog_symbol(struct tep_handle *tep, uint64_t addr, int off, char *buf,
		    size_t size)
{
	const char *name;
	unsigned long long start;
	unsigned long fsize;

	/* libtraceevent's %pS and %ps */
	if (!tep_find_function_info(tep, addr, &name, &start, &fsize))
		return -1;
	return off ? snprintf(buf, size, "%s+0x%llx", name,
			      (unsigned long long)addr - start)
		   : snprintf(buf, size, "%s", name);
}
