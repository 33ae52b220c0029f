// SPDX-License-Identifier: GPL-2.0
/*
 * Bytecode verifier: after it accepts a parsed chunk (load.c), the
 * interpreter may decode operands without range checks. Every operand is
 * checked against its kind from KP_OPCODES, then the per-opcode rules that
 * the kinds cannot express; then the function tree and the probe table.
 * One pass, O(size of chunk), no recursion.
 */
#include "chunk_view.h"
#include "kp_fmt.h"

int kp_verify_fail(struct kp_verify_error *err, int func, int pc,
		   const char *fmt, ...)
{
	__builtin_va_list ap;

	if (!err)
		return -KP_EINVAL;
	err->func = func;
	err->pc = pc;
	__builtin_va_start(ap, fmt);
	kp_fmt_msg(err->reason, sizeof(err->reason), fmt, ap);
	__builtin_va_end(ap);
	return -KP_EINVAL;
}

/* The operand table, expanded from the one opcode list. */
struct kp_opinfo {
	const char *name;
	kp_u8 fmt, a, b, c;
};

static const struct kp_opinfo kp_opinfo[KP_OP__COUNT] = {
#define KP_OP_INFO(op, fmt, a, b, c, doc) { #op, fmt, a, b, c },
	KP_OPCODES(KP_OP_INFO)
#undef KP_OP_INFO
};

/* The instruction being checked. */
struct kp_vstate {
	const struct kp_chunk_view *view;
	const struct kp_fview *f;
	struct kp_verify_error *err;
	int fi;
	kp_u32 pc;
	const struct kp_opinfo *op;
};

#define V_FAIL(v, ...) \
	kp_verify_fail((v)->err, (v)->fi, (int)(v)->pc, __VA_ARGS__)

/*
 * CALL/TAILCALL/RETURN/SETLIST with B = 0 take their values up to the top
 * that the instruction just before them left (a CALL with C = 0, or a
 * TAILCALL whose built-in callee returns through the RETURN after it).
 */
static int takes_top(kp_u32 insn)
{
	unsigned int op = KP_GET_OP(insn);

	return KP_GET_B(insn) == 0 &&
	       (op == KP_OP_CALL || op == KP_OP_TAILCALL ||
		op == KP_OP_RETURN || op == KP_OP_SETLIST);
}

static int sets_top(kp_u32 insn)
{
	unsigned int op = KP_GET_OP(insn);

	return (op == KP_OP_CALL && KP_GET_C(insn) == 0) ||
	       op == KP_OP_TAILCALL;
}

/*
 * Control may only land inside the code, and never on an instruction that
 * takes the top from its predecessor: arriving from elsewhere, the top
 * would be stale.
 */
static int check_target(const struct kp_vstate *v, int target,
			const char *how)
{
	if (target < 0 || (kp_u32)target >= v->f->ncode)
		return V_FAIL(v, "jump target %d outside code (%u instructions) in %s of %s",
			      target, v->f->ncode, how, v->op->name);
	if (takes_top(kp_fview_insn(v->f, (kp_u32)target)))
		return V_FAIL(v, "jump target %d in %s of %s lands on an instruction that needs the top left by its predecessor",
			      target, how, v->op->name);
	return 0;
}

static int check_reg(const struct kp_vstate *v, unsigned int r,
		     const char *which)
{
	if (r >= v->f->framesize)
		return V_FAIL(v, "register %u out of frame (size %u) in operand %s of %s",
			      r, v->f->framesize, which, v->op->name);
	return 0;
}

static int check_const(const struct kp_vstate *v, unsigned int k,
		       const char *which)
{
	if (k >= v->f->nconsts)
		return V_FAIL(v, "constant %u out of range (%u constants) in operand %s of %s",
			      k, v->f->nconsts, which, v->op->name);
	return 0;
}

static int check_operand(const struct kp_vstate *v, int kind, unsigned int x,
			 const char *which)
{
	const char *name = v->op->name;
	const struct kp_fview *child;

	switch (kind) {
	case KP_OPK_NONE:
		if (x)
			return V_FAIL(v, "operand %s of %s must be 0 (is %u)",
				      which, name, x);
		return 0;
	case KP_OPK_R:
		return check_reg(v, x, which);
	case KP_OPK_RK:
		/* 8 bits of index: never above KP_MAX_RK_CONST. */
		if (x & KP_RK_CONST)
			return check_const(v, x & KP_MAX_RK_CONST, which);
		return check_reg(v, x, which);
	case KP_OPK_K:
		return check_const(v, x, which);
	case KP_OPK_U:
		if (x >= v->f->nupvals)
			return V_FAIL(v, "upvalue %u out of range (%u upvalues) in operand %s of %s",
				      x, v->f->nupvals, which, name);
		return 0;
	case KP_OPK_G:
		if (x >= v->view->nglobals)
			return V_FAIL(v, "global slot %u out of range (%u globals) in operand %s of %s",
				      x, v->view->nglobals, which, name);
		return 0;
	case KP_OPK_J:
		return check_target(v, (int)v->pc + 1 + ((int)x - KP_SBX_BIAS),
				    "operand sBx");
	case KP_OPK_P:
		if (x >= v->view->nfuncs)
			return V_FAIL(v, "function %u out of range (%u functions) in operand %s of %s",
				      x, v->view->nfuncs, which, name);
		child = &v->view->funcs[x];
		if (child->parent != (kp_u32)v->fi)
			return V_FAIL(v, "function %u is not a child of function %d in operand %s of %s",
				      x, v->fi, which, name);
		return 0;
	case KP_OPK_BI:
		if (x >= KP_BI__COUNT)
			return V_FAIL(v, "built-in %u out of range (%u built-ins) in operand %s of %s",
				      x, (unsigned int)KP_BI__COUNT, which,
				      name);
		return 0;
	case KP_OPK_EV:
		if (x >= KP_EV__COUNT)
			return V_FAIL(v, "event field %u out of range (%u fields) in operand %s of %s",
				      x, (unsigned int)KP_EV__COUNT, which,
				      name);
		return 0;
	default: /* KP_OPK_N: ranges are per opcode, see check_rules() */
		return 0;
	}
}

static int check_01(const struct kp_vstate *v, unsigned int x,
		    const char *which)
{
	if (x > 1)
		return V_FAIL(v, "operand %s of %s must be 0 or 1 (is %u)",
			      which, v->op->name, x);
	return 0;
}

/* Registers first..last are all touched: last must be in the frame. */
static int check_window(const struct kp_vstate *v, unsigned int first,
			unsigned int last)
{
	if (last >= v->f->framesize)
		return V_FAIL(v, "registers %u..%u out of frame (size %u) in %s",
			      first, last, v->f->framesize, v->op->name);
	return 0;
}

/* B = 0: the top was left by the instruction before, at or above from. */
static int check_top(const struct kp_vstate *v, unsigned int from)
{
	kp_u32 prev;

	if (!v->pc || !sets_top(prev = kp_fview_insn(v->f, v->pc - 1)))
		return V_FAIL(v, "%s with B = 0 must follow CALL with C = 0",
			      v->op->name);
	if (KP_GET_A(prev) < from)
		return V_FAIL(v, "open results at register %u start below register %u needed by %s",
			      KP_GET_A(prev), from, v->op->name);
	return 0;
}

/* The interpreter's pc++ after a test skips exactly one JMP. */
static int check_next_jmp(const struct kp_vstate *v)
{
	if (v->pc + 1 >= v->f->ncode ||
	    KP_GET_OP(kp_fview_insn(v->f, v->pc + 1)) != KP_OP_JMP)
		return V_FAIL(v, "%s must be followed by JMP", v->op->name);
	return 0;
}

/* What operand kinds cannot say: 0/1 flags, register windows, order. */
static int check_rules(const struct kp_vstate *v, kp_u32 insn)
{
	unsigned int op = KP_GET_OP(insn), a = KP_GET_A(insn),
		     b = KP_GET_B(insn), c = KP_GET_C(insn);
	kp_u32 loop;
	int ret;

	switch (op) {
	case KP_OP_LOADBOOL:
		/* LOADBOOL: B, C in {0, 1}; C = 1 skips one instruction. */
		ret = check_01(v, b, "B");
		if (!ret)
			ret = check_01(v, c, "C");
		if (!ret && c)
			ret = check_target(v, (int)v->pc + 2, "the skip");
		return ret;
	case KP_OP_LOADNIL:
		/* LOADNIL: R(A)..R(A+B) in the frame. */
		return check_window(v, a, a + b);
	case KP_OP_CONCAT:
		/* CONCAT: R(B)..R(C) is a range, B <= C. */
		if (b > c)
			return V_FAIL(v, "operand B %u above operand C %u of CONCAT",
				      b, c);
		return 0;
	case KP_OP_EQ:
	case KP_OP_LT:
	case KP_OP_LE:
		/* EQ/LT/LE: A in {0, 1}, then the JMP that pc++ skips. */
		ret = check_01(v, a, "A");
		return ret ? ret : check_next_jmp(v);
	case KP_OP_TEST:
	case KP_OP_TESTSET:
		/* TEST/TESTSET: C in {0, 1}, then the JMP that pc++ skips. */
		ret = check_01(v, c, "C");
		return ret ? ret : check_next_jmp(v);
	case KP_OP_CALL:
		/*
		 * CALL: arguments R(A+1)..R(A+B-1) (B = 0: up to the top),
		 * results R(A)..R(A+C-2) (C = 0: open, sets the top).
		 */
		ret = b ? check_window(v, a, a + b - 1) : check_top(v, a + 1);
		if (!ret && c >= 2)
			ret = check_window(v, a, a + c - 2);
		return ret;
	case KP_OP_TAILCALL:
		/* TAILCALL: arguments as for CALL. */
		return b ? check_window(v, a, a + b - 1) : check_top(v, a + 1);
	case KP_OP_RETURN:
		/* RETURN: R(A)..R(A+B-2) (B = 0: up to the top). */
		if (b >= 2)
			return check_window(v, a, a + b - 2);
		return b ? 0 : check_top(v, a);
	case KP_OP_FORPREP:
		/*
		 * FORPREP: index, limit, step, copy R(A)..R(A+3); jumps
		 * forward to the FORLOOP of the same loop, where the budget
		 * is charged: jumping anywhere else could loop without ever
		 * charging it.
		 */
		loop = v->pc + 1 + (kp_u32)KP_GET_SBX(insn);
		if (KP_GET_SBX(insn) < 0 ||
		    KP_GET_OP(kp_fview_insn(v->f, loop)) != KP_OP_FORLOOP ||
		    KP_GET_A(kp_fview_insn(v->f, loop)) != a)
			return V_FAIL(v, "FORPREP must jump forward to a FORLOOP on register %u",
				      a);
		return check_window(v, a, a + 3);
	case KP_OP_FORLOOP:
		/*
		 * FORLOOP: jumps back to just after the FORPREP that jumps
		 * to it, so the loop is only entered through FORPREP's checks
		 * (and its register window is FORPREP's, checked there).
		 */
		loop = v->pc + 1 + (kp_u32)KP_GET_SBX(insn);
		if (!loop ||
		    kp_fview_insn(v->f, loop - 1) !=
			    KP_MK_ASBX(KP_OP_FORPREP, a, (int)(v->pc - loop)))
			return V_FAIL(v, "FORLOOP must jump back to just after the FORPREP of register %u",
				      a);
		return 0;
	case KP_OP_TFORLOOP:
		/*
		 * TFORLOOP: C >= 1 results into R(A+3)..R(A+2+C), then the
		 * JMP back to the loop body that pc++ skips at the end.
		 */
		if (c < 1)
			return V_FAIL(v, "operand C of TFORLOOP must be at least 1");
		ret = check_window(v, a, a + 2 + c);
		return ret ? ret : check_next_jmp(v);
	case KP_OP_SETLIST:
		/* SETLIST: R(A+1)..R(A+B) (B = 0: up to the top), C >= 1. */
		if (c < 1)
			return V_FAIL(v, "operand C of SETLIST must be at least 1");
		return b ? check_window(v, a, a + b) : check_top(v, a + 1);
	default:
		/* NEWTABLE's B and C are size hints: any 9-bit value. */
		return 0;
	}
}

static int check_insn(struct kp_vstate *v)
{
	kp_u32 insn = kp_fview_insn(v->f, v->pc);
	unsigned int op = KP_GET_OP(insn), a = KP_GET_A(insn);
	int ret;

	if (op >= KP_OP__COUNT)
		return V_FAIL(v, "unknown opcode %u", op);
	v->op = &kp_opinfo[op];
	ret = check_operand(v, v->op->a, a, "A");
	if (ret)
		return ret;
	switch (v->op->fmt) {
	case KP_FMT_ABC:
		ret = check_operand(v, v->op->b, KP_GET_B(insn), "B");
		if (!ret)
			ret = check_operand(v, v->op->c, KP_GET_C(insn), "C");
		break;
	case KP_FMT_ABX:
		ret = check_operand(v, v->op->b, KP_GET_BX(insn), "Bx");
		break;
	default:
		ret = check_operand(v, v->op->b, KP_GET_BX(insn), "sBx");
		break;
	}
	if (ret)
		return ret;
	return check_rules(v, insn);
}

static int check_code(const struct kp_chunk_view *view, int fi,
		      struct kp_verify_error *err)
{
	struct kp_vstate v = { .view = view, .f = &view->funcs[fi],
			       .err = err, .fi = fi };
	int ret;

	for (v.pc = 0; v.pc < v.f->ncode; v.pc++) {
		ret = check_insn(&v);
		if (ret)
			return ret;
	}
	/* Execution must not run off the end (a TAILCALL has its RETURN). */
	v.pc = v.f->ncode - 1;
	if (KP_GET_OP(kp_fview_insn(v.f, v.pc)) != KP_OP_RETURN)
		return V_FAIL(&v, "function must end with RETURN");
	return 0;
}

/* Parent, nesting, frame and upvalue descriptors of function fi. */
static int check_function(const struct kp_chunk_view *view, int fi,
			  struct kp_verify_error *err)
{
	const struct kp_fview *f = &view->funcs[fi], *p;
	unsigned int i, depth = 1, up;

	if (f->flags)
		return kp_verify_fail(err, fi, -1, "function flags %u must be 0",
				      f->flags);
	if (f->framesize > KP_MAX_REGS)
		return kp_verify_fail(err, fi, -1,
				      "frame size %u above %u registers",
				      f->framesize, KP_MAX_REGS);
	if (f->nparams > f->framesize)
		return kp_verify_fail(err, fi, -1,
				      "%u parameters exceed frame size %u",
				      f->nparams, f->framesize);
	if (fi == 0) {
		if (f->parent != KP_NO_FUNC)
			return kp_verify_fail(err, 0, -1,
					      "main function has parent %u",
					      f->parent);
		if (f->nparams || f->nupvals)
			return kp_verify_fail(err, 0, -1,
					      "main function has %u parameters and %u upvalues (must be 0)",
					      f->nparams, f->nupvals);
		return 0;
	}
	if (f->parent >= fi)
		return kp_verify_fail(err, fi, -1,
				      "parent %u is not an earlier function",
				      f->parent);
	/* Parents of earlier functions are checked: the walk ends at 0. */
	for (up = f->parent; up; up = view->funcs[up].parent)
		if (++depth > KP_MAX_NESTING)
			return kp_verify_fail(err, fi, -1,
					      "functions nested deeper than %u",
					      KP_MAX_NESTING);
	p = &view->funcs[f->parent];
	for (i = 0; i < f->nupvals; i++) {
		unsigned int instack = f->upvals[2 * i],
			     idx = f->upvals[2 * i + 1];

		if (instack > 1)
			return kp_verify_fail(err, fi, -1,
					      "upvalue %u: instack %u must be 0 or 1",
					      i, instack);
		if (instack && idx >= p->framesize)
			return kp_verify_fail(err, fi, -1,
					      "upvalue %u captures register %u of function %u, outside its frame (size %u)",
					      i, idx, f->parent, p->framesize);
		if (!instack && idx >= p->nupvals)
			return kp_verify_fail(err, fi, -1,
					      "upvalue %u captures upvalue %u of function %u, which has %u",
					      i, idx, f->parent, p->nupvals);
	}
	return 0;
}

static const char *const kp_probe_kind[] = {
	[KP_PROBE_TRACE] = "trace",
	[KP_PROBE_END] = "trace_end",
	[KP_PROBE_TICK] = "tick",
	[KP_PROBE_PROFILE] = "profile",
};

/* Handlers and filters run with nothing but the globals: top level. */
static int check_probe_func(const struct kp_chunk_view *view, unsigned int i,
			    unsigned int fn, const char *role,
			    struct kp_verify_error *err)
{
	const struct kp_fview *f;

	if (fn == 0 || fn >= view->nfuncs)
		return kp_verify_fail(err, -1, -1,
				      "probe %u: %s %u is not a function (1..%u)",
				      i, role, fn, view->nfuncs - 1);
	f = &view->funcs[fn];
	if (f->parent != 0 || f->nparams || f->nupvals)
		return kp_verify_fail(err, -1, -1,
				      "probe %u: %s %u must be a top-level function without parameters or upvalues",
				      i, role, fn);
	return 0;
}

static int check_probe(const struct kp_chunk_view *view, unsigned int i,
		       struct kp_verify_error *err)
{
	const struct kp_pview *p = &view->probes[i];
	int timer = p->kind == KP_PROBE_TICK || p->kind == KP_PROBE_PROFILE;
	int ret;

	if (p->kind >= KP_ARRAY_SIZE(kp_probe_kind) || !kp_probe_kind[p->kind])
		return kp_verify_fail(err, -1, -1, "probe %u: unknown kind %u",
				      i, p->kind);
	if (p->flags)
		return kp_verify_fail(err, -1, -1,
				      "probe %u: flags %u must be 0", i,
				      p->flags);
	if (p->kind == KP_PROBE_TRACE && !p->spec_len)
		return kp_verify_fail(err, -1, -1,
				      "probe %u: trace has an empty event spec",
				      i);
	ret = check_probe_func(view, i, p->handler, "handler", err);
	if (ret)
		return ret;
	if (p->filter != KP_NO_FUNC) {
		if (p->kind != KP_PROBE_TRACE)
			return kp_verify_fail(err, -1, -1,
					      "probe %u: %s cannot have a filter",
					      i, kp_probe_kind[p->kind]);
		ret = check_probe_func(view, i, p->filter, "filter", err);
		if (ret)
			return ret;
	}
	if (timer && !p->period_ns)
		return kp_verify_fail(err, -1, -1,
				      "probe %u: %s needs a period above 0",
				      i, kp_probe_kind[p->kind]);
	if (!timer && p->period_ns)
		return kp_verify_fail(err, -1, -1,
				      "probe %u: period %llu must be 0 for %s",
				      i, (unsigned long long)p->period_ns,
				      kp_probe_kind[p->kind]);
	return 0;
}

/* Slot 0 is the script's `arg` table. Uniqueness is checked by load.c. */
static int check_globals(const struct kp_chunk_view *view,
			 struct kp_verify_error *err)
{
	const char *name;
	kp_u32 len;

	if (!view->nglobals)
		return kp_verify_fail(err, -1, -1,
				      "no globals (slot 0 must be 'arg')");
	kp_chunk_str(view->globals, &name, &len);
	if (len != 3 || kp_memcmp(name, "arg", 3))
		return kp_verify_fail(err, -1, -1,
				      "global slot 0 is '%.*s', must be 'arg'",
				      (int)(len > 32 ? 32 : len), name);
	return 0;
}

int kp_chunk_verify(const struct kp_chunk_view *view,
		    struct kp_verify_error *err)
{
	unsigned int i;
	int ret;

	ret = check_globals(view, err);
	for (i = 0; !ret && i < view->nfuncs; i++)
		ret = check_function(view, (int)i, err);
	for (i = 0; !ret && i < view->nfuncs; i++)
		ret = check_code(view, (int)i, err);
	for (i = 0; !ret && i < view->nprobes; i++)
		ret = check_probe(view, i, err);
	return ret;
}
