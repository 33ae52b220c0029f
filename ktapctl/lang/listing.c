// SPDX-License-Identifier: GPL-2.0
/*
 * The listing (`ktapctl compile -b`): every function's header, constants,
 * upvalues and code with operands resolved, then the globals and the probe
 * table. Opcode names and operand kinds come from KP_OPCODES.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "chunk.h"
#include "lang.h"
#include "opcodes.h"
#include "prog.h"

static const struct {
	const char *name;
	unsigned char fmt, a, b, c;
} opinfo[KP_OP__COUNT] = {
#define KPC_OP_INFO(op, fmt, a, b, c, doc) { #op, fmt, a, b, c },
	KP_OPCODES(KPC_OP_INFO)
#undef KPC_OP_INFO
};

static const char *const builtin_names[KP_BI__COUNT] = {
#define KPC_BI_NAME(id, name, min, max) name,
	KP_BUILTINS(KPC_BI_NAME)
#undef KPC_BI_NAME
};

static const char *const event_names[KP_EV__COUNT] = {
#define KPC_EV_NAME(id, name) name,
	KP_EVENT_FIELDS(KPC_EV_NAME)
#undef KPC_EV_NAME
};

static const char *const probe_kinds[] = {
	[KP_PROBE_TRACE] = "trace",
	[KP_PROBE_END] = "trace_end",
	[KP_PROBE_TICK] = "tick",
	[KP_PROBE_PROFILE] = "profile",
};

#define STR_SHOWN 40 /* longest part of a string constant shown */

static void print_string(FILE *out, const char *s, size_t len)
{
	size_t i, n = len > STR_SHOWN ? STR_SHOWN : len;

	fputc('"', out);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", out);
		else if (c == '\t')
			fputs("\\t", out);
		else if (c == '\r')
			fputs("\\r", out);
		else if (c < ' ' || c >= 0x7f)
			fprintf(out, "\\x%02x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
	if (n < len)
		fputs("...", out);
}

static void print_const(FILE *out, const struct kpc_const *k)
{
	switch (k->type) {
	case KP_CONST_NIL:
		fputs("nil", out);
		break;
	case KP_CONST_FALSE:
		fputs("false", out);
		break;
	case KP_CONST_TRUE:
		fputs("true", out);
		break;
	case KP_CONST_INT:
		fprintf(out, "%" PRId64, k->num);
		break;
	default:
		print_string(out, k->str, k->len);
		break;
	}
}

/* Operand x of kind: as a number, "K<n>" for an RK constant. */
static void print_operand(FILE *out, int kind, unsigned int x, int sbx)
{
	if (kind == KP_OPK_NONE)
		return;
	if (kind == KP_OPK_J)
		fprintf(out, " %d", sbx);
	else if (kind == KP_OPK_RK && (x & KP_RK_CONST))
		fprintf(out, " K%u", x & KP_MAX_RK_CONST);
	else
		fprintf(out, " %u", x);
}

/* What operand x of kind refers to, after "; " or ", ". */
static void print_meaning(FILE *out, const struct kpc_prog *P,
			  const struct kpc_func *f, int pc, int kind,
			  unsigned int x, int sbx, int *first)
{
	const char *sep = *first ? " ; " : ", ";

	switch (kind) {
	case KP_OPK_RK:
		if (!(x & KP_RK_CONST))
			return;
		x &= KP_MAX_RK_CONST;
		/* fall through */
	case KP_OPK_K:
		fputs(sep, out);
		print_const(out, &f->k[x]);
		break;
	case KP_OPK_U:
		fprintf(out, "%s%.*s", sep, (int)f->up[x].len, f->up[x].name);
		break;
	case KP_OPK_G:
		fprintf(out, "%s%.*s", sep, (int)P->globals[x].len,
			P->globals[x].name);
		break;
	case KP_OPK_J:
		fprintf(out, "%sto [%d]", sep, pc + 1 + sbx);
		break;
	case KP_OPK_P:
		fprintf(out, "%sfunction %u %s", sep, x, P->funcs[x]->name);
		break;
	case KP_OPK_BI:
		fprintf(out, "%s%s", sep, builtin_names[x]);
		break;
	case KP_OPK_EV:
		fprintf(out, "%s%s", sep, event_names[x]);
		break;
	default:
		return;
	}
	*first = 0;
}

static void print_insn(FILE *out, const struct kpc_prog *P,
		       const struct kpc_func *f, int pc)
{
	uint32_t i = f->code[pc];
	unsigned int op = KP_GET_OP(i), a = KP_GET_A(i), b, c = 0;
	int bkind = opinfo[op].b, ckind = KP_OPK_NONE, sbx = 0, first = 1;

	if (opinfo[op].fmt == KP_FMT_ABC) {
		b = KP_GET_B(i);
		c = KP_GET_C(i);
		ckind = opinfo[op].c;
	} else {
		b = KP_GET_BX(i);
		sbx = KP_GET_SBX(i);
	}
	fprintf(out, "  [%d] line %u  %-9s", pc, f->lines[pc], opinfo[op].name);
	print_operand(out, opinfo[op].a, a, 0);
	print_operand(out, bkind, b, sbx);
	print_operand(out, ckind, c, 0);
	print_meaning(out, P, f, pc, bkind, b, sbx, &first);
	print_meaning(out, P, f, pc, ckind, c, 0, &first);
	fputc('\n', out);
}

static void print_func(FILE *out, const struct kpc_prog *P, int fi)
{
	const struct kpc_func *f = P->funcs[fi];
	int i;

	fprintf(out, "function %d %s (line %d", fi, f->name, f->line);
	if (f->parent >= 0)
		fprintf(out, ", in function %d", f->parent);
	fprintf(out, "): %d params, %d registers, %d upvalues, ", f->nparams,
		f->framesize, f->nup);
	fprintf(out, "%d constants, %d instructions\n", f->nk, f->ncode);
	for (i = 0; i < f->nk; i++) {
		fprintf(out, "  constant %d: ", i);
		print_const(out, &f->k[i]);
		fputc('\n', out);
	}
	for (i = 0; i < f->nup; i++)
		fprintf(out, "  upvalue %d: %.*s, %s %d of function %d\n", i,
			(int)f->up[i].len, f->up[i].name,
			f->up[i].instack ? "register" : "upvalue",
			f->up[i].idx, f->parent);
	for (i = 0; i < f->ncode; i++)
		print_insn(out, P, f, i);
}

static void print_probe(FILE *out, const struct kpc_prog *P, int i)
{
	const struct kpc_probe *p = &P->probes[i];

	fprintf(out, "  probe %d: %s", i, probe_kinds[p->kind]);
	if (p->speclen)
		fprintf(out, " %.*s", (int)p->speclen, p->spec);
	fprintf(out, " (line %d)", p->line);
	if (p->period_ns)
		fprintf(out, ", period %" PRIu64 " ns", p->period_ns);
	if (p->filter != KP_NO_FUNC)
		fprintf(out, ", filter function %d %s", p->filter,
			P->funcs[p->filter]->name);
	fprintf(out, ", handler function %d %s\n", p->handler,
		P->funcs[p->handler]->name);
}

static void print_listing(FILE *out, const struct kpc_prog *P)
{
	int i;

	fprintf(out, "chunk %s: %d functions, %d globals, %d probes\n",
		P->chunkname, P->nfuncs, P->nglobals, P->nprobes);
	for (i = 0; i < P->nglobals; i++)
		fprintf(out, "  global %d: %.*s\n", i, (int)P->globals[i].len,
			P->globals[i].name);
	for (i = 0; i < P->nfuncs; i++) {
		fputc('\n', out);
		print_func(out, P, i);
	}
	if (P->nprobes)
		fputs("\nprobes:\n", out);
	for (i = 0; i < P->nprobes; i++)
		print_probe(out, P, i);
}

int kpc_listing(const char *source, size_t len, const char *chunkname,
		FILE *out, FILE *errf)
{
	struct kpc_prog *P = kpc_prog_new(chunkname, errf);
	int ret;

	if (!P)
		return -ENOMEM;
	if (setjmp(P->fail)) {
		ret = P->status;
	} else {
		kpc_parse(P, source, len);
		print_listing(out, P);
		ret = 0;
	}
	kpc_prog_free(P);
	return ret;
}
