// SPDX-License-Identifier: GPL-2.0
/*
 * The code generator (after Lua 5.1's lcode.c): emits instructions for
 * the parser, allocates registers as a stack above the active locals,
 * keeps jump lists threaded through the JMP instructions themselves, and
 * puts constants where an RK operand can take them.
 */
#include <assert.h>
#include <string.h>

#include "chunk.h"
#include "code.h"

#define NO_REG ((int)KP_MAXARG_A)
#define MAXSTACK KP_MAX_REGS

#define SET_FIELD(i, v, pos, max)                                              \
	((i) = ((i) & ~((uint32_t)(max) << (pos))) |                           \
	       (((uint32_t)(v) & (max)) << (pos)))

static uint32_t *code_at(struct kpc_funcstate *fs, int pc)
{
	return &fs->f->code[pc];
}

void kpc_set_a(struct kpc_funcstate *fs, int pc, int a)
{
	SET_FIELD(*code_at(fs, pc), a, KP_POS_A, KP_MAXARG_A);
}

void kpc_set_b(struct kpc_funcstate *fs, int pc, int b)
{
	SET_FIELD(*code_at(fs, pc), b, KP_POS_B, KP_MAXARG_B);
}

void kpc_set_c(struct kpc_funcstate *fs, int pc, int c)
{
	SET_FIELD(*code_at(fs, pc), c, KP_POS_C, KP_MAXARG_C);
}

static int is_test(uint32_t i)
{
	switch (KP_GET_OP(i)) {
	case KP_OP_EQ:
	case KP_OP_LT:
	case KP_OP_LE:
	case KP_OP_TEST:
	case KP_OP_TESTSET:
		return 1;
	default:
		return 0;
	}
}

static int isnumeral(const struct kpc_expdesc *e)
{
	return e->k == VKNUM && e->t == KPC_NO_JUMP && e->f == KPC_NO_JUMP;
}

/* Jump lists: the sBx of each JMP links to the next one. */

static int getjump(struct kpc_funcstate *fs, int pc)
{
	int offset = KP_GET_SBX(*code_at(fs, pc));

	return offset == KPC_NO_JUMP ? KPC_NO_JUMP : pc + 1 + offset;
}

static void fixjump(struct kpc_funcstate *fs, int pc, int dest)
{
	uint32_t *jmp = code_at(fs, pc);
	int offset = dest - (pc + 1);

	assert(dest != KPC_NO_JUMP);
	if (offset < -KP_SBX_BIAS ||
	    offset > (int)KP_MAXARG_BX - KP_SBX_BIAS)
		kpc_lex_error(fs->ls, "control structure too long");
	SET_FIELD(*jmp, (unsigned)(offset + KP_SBX_BIAS), KP_POS_BX,
		  KP_MAXARG_BX);
}

int kpc_getlabel(struct kpc_funcstate *fs)
{
	fs->lasttarget = fs->f->ncode;
	return fs->f->ncode;
}

/* The test that decides a jump, or the JMP itself if unconditional. */
static uint32_t *getjumpcontrol(struct kpc_funcstate *fs, int pc)
{
	uint32_t *pi = code_at(fs, pc);

	if (pc >= 1 && is_test(pi[-1]))
		return pi - 1;
	return pi;
}

/* Does some jump of the list need a value (is not a TESTSET)? */
static int need_value(struct kpc_funcstate *fs, int list)
{
	for (; list != KPC_NO_JUMP; list = getjump(fs, list))
		if (KP_GET_OP(*getjumpcontrol(fs, list)) != KP_OP_TESTSET)
			return 1;
	return 0;
}

/* A TESTSET copies into reg, or becomes a TEST if no value is wanted. */
static int patchtestreg(struct kpc_funcstate *fs, int node, int reg)
{
	uint32_t *i = getjumpcontrol(fs, node);

	if (KP_GET_OP(*i) != KP_OP_TESTSET)
		return 0;
	if (reg != NO_REG && reg != (int)KP_GET_B(*i))
		SET_FIELD(*i, reg, KP_POS_A, KP_MAXARG_A);
	else
		*i = KP_MK_ABC(KP_OP_TEST, KP_GET_B(*i), 0, KP_GET_C(*i));
	return 1;
}

static void removevalues(struct kpc_funcstate *fs, int list)
{
	for (; list != KPC_NO_JUMP; list = getjump(fs, list))
		patchtestreg(fs, list, NO_REG);
}

static void patchlistaux(struct kpc_funcstate *fs, int list, int vtarget,
			 int reg, int dtarget)
{
	while (list != KPC_NO_JUMP) {
		int next = getjump(fs, list);

		if (patchtestreg(fs, list, reg))
			fixjump(fs, list, vtarget);
		else
			fixjump(fs, list, dtarget);
		list = next;
	}
}

void kpc_dischargejpc(struct kpc_funcstate *fs)
{
	patchlistaux(fs, fs->jpc, fs->f->ncode, NO_REG, fs->f->ncode);
	fs->jpc = KPC_NO_JUMP;
}

void kpc_patchtohere(struct kpc_funcstate *fs, int list)
{
	kpc_getlabel(fs);
	kpc_concat(fs, &fs->jpc, list);
}

void kpc_patchlist(struct kpc_funcstate *fs, int list, int target)
{
	if (target == fs->f->ncode) {
		kpc_patchtohere(fs, list);
	} else {
		assert(target < fs->f->ncode);
		patchlistaux(fs, list, target, NO_REG, target);
	}
}

void kpc_concat(struct kpc_funcstate *fs, int *l1, int l2)
{
	int list, next;

	if (l2 == KPC_NO_JUMP)
		return;
	if (*l1 == KPC_NO_JUMP) {
		*l1 = l2;
		return;
	}
	list = *l1;
	while ((next = getjump(fs, list)) != KPC_NO_JUMP)
		list = next;
	fixjump(fs, list, l2);
}

/* Emission */

int kpc_code(struct kpc_funcstate *fs, uint32_t i)
{
	struct kpc_func *f = fs->f;

	kpc_dischargejpc(fs);
	if (f->ncode >= f->code_cap) {
		int cap = f->code_cap;

		if ((unsigned)f->ncode >= KP_MAX_CODE)
			kpc_lex_error(fs->ls, "too many instructions");
		f->code = kpc_grow_array(fs->ls->P, f->code, &cap,
					 sizeof(*f->code));
		f->lines = kpc_realloc(fs->ls->P, f->lines,
				       (size_t)cap * sizeof(*f->lines));
		f->code_cap = cap;
	}
	f->code[f->ncode] = i;
	f->lines[f->ncode] = (uint32_t)fs->ls->lastline;
	return f->ncode++;
}

int kpc_code_abc(struct kpc_funcstate *fs, enum kp_opcode op, int a, int b,
		 int c)
{
	return kpc_code(fs, KP_MK_ABC(op, a, b, c));
}

int kpc_code_abx(struct kpc_funcstate *fs, enum kp_opcode op, int a,
		 unsigned int bx)
{
	return kpc_code(fs, KP_MK_ABX(op, a, bx));
}

int kpc_code_asbx(struct kpc_funcstate *fs, enum kp_opcode op, int a,
		  int sbx)
{
	return kpc_code(fs, KP_MK_ASBX(op, a, sbx));
}

void kpc_fixline(struct kpc_funcstate *fs, int line)
{
	fs->f->lines[fs->f->ncode - 1] = (uint32_t)line;
}

void kpc_nil(struct kpc_funcstate *fs, int from, int n)
{
	int pc = fs->f->ncode;

	/* Extend a LOADNIL just before, unless a jump lands here. */
	if (pc > fs->lasttarget && pc > 0) {
		uint32_t prev = *code_at(fs, pc - 1);

		if (KP_GET_OP(prev) == KP_OP_LOADNIL) {
			int pfrom = (int)KP_GET_A(prev);
			int pto = pfrom + (int)KP_GET_B(prev);

			if (pfrom <= from && from <= pto + 1) {
				if (from + n - 1 > pto)
					kpc_set_b(fs, pc - 1,
						  from + n - 1 - pfrom);
				return;
			}
		}
	}
	kpc_code_abc(fs, KP_OP_LOADNIL, from, n - 1, 0);
}

int kpc_jump(struct kpc_funcstate *fs)
{
	int jpc = fs->jpc; /* jumps to here now jump with this one */
	int j;

	fs->jpc = KPC_NO_JUMP;
	j = kpc_code_asbx(fs, KP_OP_JMP, 0, KPC_NO_JUMP);
	kpc_concat(fs, &j, jpc);
	return j;
}

void kpc_ret(struct kpc_funcstate *fs, int first, int nret)
{
	kpc_code_abc(fs, KP_OP_RETURN, first, nret + 1, 0);
}

static int condjump(struct kpc_funcstate *fs, enum kp_opcode op, int a,
		    int b, int c)
{
	kpc_code_abc(fs, op, a, b, c);
	return kpc_jump(fs);
}

/* Registers */

void kpc_checkstack(struct kpc_funcstate *fs, int n)
{
	int newstack = fs->freereg + n;

	if (newstack > fs->f->framesize) {
		if (newstack > MAXSTACK)
			kpc_lex_error(fs->ls, "too many registers");
		fs->f->framesize = newstack;
	}
}

void kpc_reserveregs(struct kpc_funcstate *fs, int n)
{
	kpc_checkstack(fs, n);
	fs->freereg += n;
}

static void freereg(struct kpc_funcstate *fs, int reg)
{
	if (!(reg & KP_RK_CONST) && reg >= fs->nactvar) {
		fs->freereg--;
		assert(reg == fs->freereg);
	}
}

static void freeexp(struct kpc_funcstate *fs, struct kpc_expdesc *e)
{
	if (e->k == VNONRELOC)
		freereg(fs, e->info);
}

/* Constants */

static int newk(struct kpc_funcstate *fs, uint8_t type, int64_t num,
		const char *s, size_t len)
{
	struct kpc_func *f = fs->f;
	struct kpc_const *k;

	if ((unsigned)f->nk >= KP_MAX_CONSTS)
		kpc_lex_error(fs->ls, "too many constants");
	KPC_GROW(fs->ls->P, f->k, f->nk, f->k_cap);
	k = &f->k[f->nk];
	k->type = type;
	k->num = num;
	k->str = s;
	k->len = len;
	return f->nk++;
}

/* s must live as long as the program (the lexer's copies do). */
int kpc_stringK(struct kpc_funcstate *fs, const char *s, size_t len)
{
	int i = kpc_map_get(&fs->kstr, s, len);

	if (i < 0) {
		i = newk(fs, KP_CONST_STR, 0, s, len);
		kpc_map_put(fs->ls->P, &fs->kstr, s, len, i);
	}
	return i;
}

int kpc_numberK(struct kpc_funcstate *fs, int64_t n)
{
	int i = kpc_map_get(&fs->knum, &n, sizeof(n));

	if (i < 0) {
		int64_t *key = kpc_alloc(fs->ls->P, sizeof(n));

		*key = n;
		i = newk(fs, KP_CONST_INT, n, NULL, 0);
		kpc_map_put(fs->ls->P, &fs->knum, key, sizeof(*key), i);
	}
	return i;
}

/* nil, false, true */
static int specialK(struct kpc_funcstate *fs, uint8_t type)
{
	int *slot = &fs->kspecial[type - KP_CONST_NIL];

	if (*slot < 0)
		*slot = newk(fs, type, 0, NULL, 0);
	return *slot;
}

/* Expressions */

void kpc_setreturns(struct kpc_funcstate *fs, struct kpc_expdesc *e,
		    int nresults)
{
	if (e->k == VCALL)
		kpc_set_c(fs, e->info, nresults + 1);
}

void kpc_setoneret(struct kpc_funcstate *fs, struct kpc_expdesc *e)
{
	if (e->k == VCALL) {
		e->k = VNONRELOC;
		e->info = (int)KP_GET_A(kpc_getcode(fs, e));
	}
}

void kpc_dischargevars(struct kpc_funcstate *fs, struct kpc_expdesc *e)
{
	switch (e->k) {
	case VLOCAL:
		e->k = VNONRELOC;
		return;
	case VUPVAL:
		e->info = kpc_code_abc(fs, KP_OP_GETUPVAL, 0, e->info, 0);
		break;
	case VGLOBAL:
		e->info = kpc_code_abx(fs, KP_OP_GETGLOBAL, 0,
				       (unsigned)e->info);
		break;
	case VINDEXED:
		freereg(fs, e->aux);
		freereg(fs, e->info);
		e->info = kpc_code_abc(fs, KP_OP_GETTABLE, 0, e->info, e->aux);
		break;
	case VBUILTIN:
		e->info = kpc_code_abx(fs, KP_OP_BUILTIN, 0, (unsigned)e->info);
		break;
	case VEVENT:
		e->info = kpc_code_abc(fs, KP_OP_EVENT, 0, e->info, 0);
		break;
	case VCALL:
		kpc_setoneret(fs, e);
		return;
	default:
		return;
	}
	e->k = VRELOCABLE;
}

static int code_label(struct kpc_funcstate *fs, int a, int b, int jump)
{
	kpc_getlabel(fs); /* those instructions may be jump targets */
	return kpc_code_abc(fs, KP_OP_LOADBOOL, a, b, jump);
}

static void discharge2reg(struct kpc_funcstate *fs, struct kpc_expdesc *e,
			  int reg)
{
	kpc_dischargevars(fs, e);
	switch (e->k) {
	case VNIL:
		kpc_nil(fs, reg, 1);
		break;
	case VFALSE:
	case VTRUE:
		kpc_code_abc(fs, KP_OP_LOADBOOL, reg, e->k == VTRUE, 0);
		break;
	case VK:
		kpc_code_abx(fs, KP_OP_LOADK, reg, (unsigned)e->info);
		break;
	case VKNUM:
		kpc_code_abx(fs, KP_OP_LOADK, reg,
			     (unsigned)kpc_numberK(fs, e->nval));
		break;
	case VRELOCABLE:
		kpc_set_a(fs, e->info, reg);
		break;
	case VNONRELOC:
		if (reg != e->info)
			kpc_code_abc(fs, KP_OP_MOVE, reg, e->info, 0);
		break;
	default:
		assert(e->k == VVOID || e->k == VJMP);
		return; /* nothing to do */
	}
	e->info = reg;
	e->k = VNONRELOC;
}

static void discharge2anyreg(struct kpc_funcstate *fs, struct kpc_expdesc *e)
{
	if (e->k != VNONRELOC) {
		kpc_reserveregs(fs, 1);
		discharge2reg(fs, e, fs->freereg - 1);
	}
}

static void exp2reg(struct kpc_funcstate *fs, struct kpc_expdesc *e, int reg)
{
	discharge2reg(fs, e, reg);
	if (e->k == VJMP)
		kpc_concat(fs, &e->t, e->info); /* this jump too */
	if (kpc_hasjumps(e)) {
		int final; /* where the value is in reg */
		int p_f = KPC_NO_JUMP; /* where false is loaded */
		int p_t = KPC_NO_JUMP; /* where true is loaded */

		if (need_value(fs, e->t) || need_value(fs, e->f)) {
			int fj = e->k == VJMP ? KPC_NO_JUMP : kpc_jump(fs);

			p_f = code_label(fs, reg, 0, 1);
			p_t = code_label(fs, reg, 1, 0);
			kpc_patchtohere(fs, fj);
		}
		final = kpc_getlabel(fs);
		patchlistaux(fs, e->f, final, reg, p_f);
		patchlistaux(fs, e->t, final, reg, p_t);
	}
	e->f = e->t = KPC_NO_JUMP;
	e->info = reg;
	e->k = VNONRELOC;
}

void kpc_exp2nextreg(struct kpc_funcstate *fs, struct kpc_expdesc *e)
{
	kpc_dischargevars(fs, e);
	freeexp(fs, e);
	kpc_reserveregs(fs, 1);
	exp2reg(fs, e, fs->freereg - 1);
}

int kpc_exp2anyreg(struct kpc_funcstate *fs, struct kpc_expdesc *e)
{
	kpc_dischargevars(fs, e);
	if (e->k == VNONRELOC) {
		if (!kpc_hasjumps(e))
			return e->info;
		if (e->info >= fs->nactvar) { /* not a local: reuse it */
			exp2reg(fs, e, e->info);
			return e->info;
		}
	}
	kpc_exp2nextreg(fs, e);
	return e->info;
}

void kpc_exp2val(struct kpc_funcstate *fs, struct kpc_expdesc *e)
{
	if (kpc_hasjumps(e))
		kpc_exp2anyreg(fs, e);
	else
		kpc_dischargevars(fs, e);
}

int kpc_exp2RK(struct kpc_funcstate *fs, struct kpc_expdesc *e)
{
	kpc_exp2val(fs, e);
	switch (e->k) {
	case VNIL:
		e->info = specialK(fs, KP_CONST_NIL);
		break;
	case VFALSE:
		e->info = specialK(fs, KP_CONST_FALSE);
		break;
	case VTRUE:
		e->info = specialK(fs, KP_CONST_TRUE);
		break;
	case VKNUM:
		e->info = kpc_numberK(fs, e->nval);
		break;
	case VK:
		break;
	default:
		return kpc_exp2anyreg(fs, e);
	}
	e->k = VK;
	if ((unsigned)e->info <= KP_MAX_RK_CONST)
		return e->info | (int)KP_RK_CONST;
	return kpc_exp2anyreg(fs, e); /* too far for RK: LOADK */
}

void kpc_storevar(struct kpc_funcstate *fs, struct kpc_expdesc *var,
		  struct kpc_expdesc *ex)
{
	int e;

	switch (var->k) {
	case VLOCAL:
		freeexp(fs, ex);
		exp2reg(fs, ex, var->info);
		return;
	case VUPVAL:
		e = kpc_exp2anyreg(fs, ex);
		kpc_code_abc(fs, KP_OP_SETUPVAL, e, var->info, 0);
		break;
	case VGLOBAL:
		e = kpc_exp2anyreg(fs, ex);
		kpc_code_abx(fs, KP_OP_SETGLOBAL, e, (unsigned)var->info);
		break;
	default:
		assert(var->k == VINDEXED);
		e = kpc_exp2RK(fs, ex);
		kpc_code_abc(fs, KP_OP_SETTABLE, var->info, var->aux, e);
		break;
	}
	freeexp(fs, ex);
}

void kpc_indexed(struct kpc_funcstate *fs, struct kpc_expdesc *t,
		 struct kpc_expdesc *k)
{
	t->aux = kpc_exp2RK(fs, k);
	t->k = VINDEXED;
}

/* Conditions */

static void invertjump(struct kpc_funcstate *fs, struct kpc_expdesc *e)
{
	uint32_t *pc = getjumpcontrol(fs, e->info);

	SET_FIELD(*pc, !KP_GET_A(*pc), KP_POS_A, KP_MAXARG_A);
}

static int jumponcond(struct kpc_funcstate *fs, struct kpc_expdesc *e,
		      int cond)
{
	if (e->k == VRELOCABLE) {
		uint32_t ie = kpc_getcode(fs, e);

		if (KP_GET_OP(ie) == KP_OP_NOT) {
			fs->f->ncode--; /* test the operand of NOT instead */
			return condjump(fs, KP_OP_TEST, (int)KP_GET_B(ie), 0,
					!cond);
		}
	}
	discharge2anyreg(fs, e);
	freeexp(fs, e);
	return condjump(fs, KP_OP_TESTSET, NO_REG, e->info, cond);
}

void kpc_goiftrue(struct kpc_funcstate *fs, struct kpc_expdesc *e)
{
	int pc; /* the jump taken when e is false */

	kpc_dischargevars(fs, e);
	switch (e->k) {
	case VK:
	case VKNUM:
	case VTRUE:
		pc = KPC_NO_JUMP; /* always true */
		break;
	case VFALSE:
		pc = kpc_jump(fs); /* always false (and the value is false) */
		break;
	case VJMP:
		invertjump(fs, e);
		pc = e->info;
		break;
	default:
		pc = jumponcond(fs, e, 0);
		break;
	}
	kpc_concat(fs, &e->f, pc);
	kpc_patchtohere(fs, e->t);
	e->t = KPC_NO_JUMP;
}

static void goiffalse(struct kpc_funcstate *fs, struct kpc_expdesc *e)
{
	int pc; /* the jump taken when e is true */

	kpc_dischargevars(fs, e);
	switch (e->k) {
	case VNIL:
	case VFALSE:
		pc = KPC_NO_JUMP; /* always false */
		break;
	case VTRUE:
		pc = kpc_jump(fs); /* always true (and the value is true) */
		break;
	case VJMP:
		pc = e->info;
		break;
	default:
		pc = jumponcond(fs, e, 1);
		break;
	}
	kpc_concat(fs, &e->t, pc);
	kpc_patchtohere(fs, e->f);
	e->f = KPC_NO_JUMP;
}

static void codenot(struct kpc_funcstate *fs, struct kpc_expdesc *e)
{
	int tmp;

	kpc_dischargevars(fs, e);
	switch (e->k) {
	case VNIL:
	case VFALSE:
		e->k = VTRUE;
		break;
	case VK:
	case VKNUM:
	case VTRUE:
		e->k = VFALSE;
		break;
	case VJMP:
		invertjump(fs, e);
		break;
	case VRELOCABLE:
	case VNONRELOC:
		discharge2anyreg(fs, e);
		freeexp(fs, e);
		e->info = kpc_code_abc(fs, KP_OP_NOT, 0, e->info, 0);
		e->k = VRELOCABLE;
		break;
	default:
		assert(0);
	}
	/* Swap the lists; values there are no longer what is wanted. */
	tmp = e->f;
	e->f = e->t;
	e->t = tmp;
	removevalues(fs, e->f);
	removevalues(fs, e->t);
}

/* Integer arithmetic folds at compile time, except a division by zero. */
static int constfolding(enum kp_opcode op, struct kpc_expdesc *e1,
			const struct kpc_expdesc *e2)
{
	uint64_t a = (uint64_t)e1->nval, b = (uint64_t)e2->nval;
	int64_t r;

	if (!isnumeral(e1) || !isnumeral(e2))
		return 0;
	switch (op) {
	case KP_OP_ADD:
		r = (int64_t)(a + b);
		break;
	case KP_OP_SUB:
		r = (int64_t)(a - b);
		break;
	case KP_OP_MUL:
		r = (int64_t)(a * b);
		break;
	case KP_OP_DIV:
		if (!b)
			return 0;
		/* INT64_MIN / -1 wraps, as at run time. */
		r = e2->nval == -1 ? (int64_t)(0 - a) : e1->nval / e2->nval;
		break;
	case KP_OP_MOD:
		if (!b)
			return 0;
		r = e2->nval == -1 ? 0 : e1->nval % e2->nval;
		break;
	case KP_OP_UNM:
		r = (int64_t)(0 - a);
		break;
	default:
		return 0;
	}
	e1->nval = r;
	return 1;
}

static void codearith(struct kpc_funcstate *fs, enum kp_opcode op,
		      struct kpc_expdesc *e1, struct kpc_expdesc *e2)
{
	int o1, o2;

	if (constfolding(op, e1, e2))
		return;
	if (op == KP_OP_UNM) {
		o2 = 0;
		o1 = kpc_exp2anyreg(fs, e1);
	} else if (op == KP_OP_CONCAT) {
		o2 = kpc_exp2anyreg(fs, e2);
		o1 = kpc_exp2anyreg(fs, e1);
	} else {
		o2 = kpc_exp2RK(fs, e2);
		o1 = kpc_exp2RK(fs, e1);
	}
	/* Free in the order they were allocated: the stack discipline. */
	if (o1 > o2) {
		freeexp(fs, e1);
		freeexp(fs, e2);
	} else {
		freeexp(fs, e2);
		freeexp(fs, e1);
	}
	e1->info = kpc_code_abc(fs, op, 0, o1, o2);
	e1->k = VRELOCABLE;
}

static void codecomp(struct kpc_funcstate *fs, enum kp_opcode op, int cond,
		     struct kpc_expdesc *e1, struct kpc_expdesc *e2)
{
	int o1 = kpc_exp2RK(fs, e1);
	int o2 = kpc_exp2RK(fs, e2);

	freeexp(fs, e2);
	freeexp(fs, e1);
	if (cond == 0 && op != KP_OP_EQ) {
		int tmp = o1; /* a > b is b < a, a >= b is b <= a */

		o1 = o2;
		o2 = tmp;
		cond = 1;
	}
	e1->info = condjump(fs, op, cond, o1, o2);
	e1->k = VJMP;
}

void kpc_prefix(struct kpc_funcstate *fs, enum kpc_unopr op,
		struct kpc_expdesc *e)
{
	struct kpc_expdesc e2 = { .k = VKNUM, .t = KPC_NO_JUMP,
				  .f = KPC_NO_JUMP };

	if (op == OPR_MINUS) {
		if (!isnumeral(e))
			kpc_exp2anyreg(fs, e);
		codearith(fs, KP_OP_UNM, e, &e2);
	} else {
		codenot(fs, e);
	}
}

void kpc_infix(struct kpc_funcstate *fs, enum kpc_binopr op,
	       struct kpc_expdesc *v)
{
	switch (op) {
	case OPR_AND:
		kpc_goiftrue(fs, v);
		break;
	case OPR_OR:
		goiffalse(fs, v);
		break;
	case OPR_CONCAT:
		kpc_exp2nextreg(fs, v); /* operands must be consecutive */
		break;
	case OPR_ADD:
	case OPR_SUB:
	case OPR_MUL:
	case OPR_DIV:
	case OPR_MOD:
		if (!isnumeral(v))
			kpc_exp2RK(fs, v);
		break;
	default:
		kpc_exp2RK(fs, v);
		break;
	}
}

static const enum kp_opcode arith_op[] = {
	[OPR_ADD] = KP_OP_ADD, [OPR_SUB] = KP_OP_SUB, [OPR_MUL] = KP_OP_MUL,
	[OPR_DIV] = KP_OP_DIV, [OPR_MOD] = KP_OP_MOD,
};

void kpc_posfix(struct kpc_funcstate *fs, enum kpc_binopr op,
		struct kpc_expdesc *e1, struct kpc_expdesc *e2)
{
	switch (op) {
	case OPR_AND:
		assert(e1->t == KPC_NO_JUMP); /* closed by kpc_infix */
		kpc_dischargevars(fs, e2);
		kpc_concat(fs, &e2->f, e1->f);
		*e1 = *e2;
		break;
	case OPR_OR:
		assert(e1->f == KPC_NO_JUMP);
		kpc_dischargevars(fs, e2);
		kpc_concat(fs, &e2->t, e1->t);
		*e1 = *e2;
		break;
	case OPR_CONCAT:
		kpc_exp2val(fs, e2);
		if (e2->k == VRELOCABLE &&
		    KP_GET_OP(kpc_getcode(fs, e2)) == KP_OP_CONCAT) {
			/* a .. (b .. c): one CONCAT over a, b, c */
			assert(e1->info == (int)KP_GET_B(kpc_getcode(fs, e2)) - 1);
			freeexp(fs, e1);
			kpc_set_b(fs, e2->info, e1->info);
			e1->k = VRELOCABLE;
			e1->info = e2->info;
		} else {
			kpc_exp2nextreg(fs, e2);
			codearith(fs, KP_OP_CONCAT, e1, e2);
		}
		break;
	case OPR_ADD:
	case OPR_SUB:
	case OPR_MUL:
	case OPR_DIV:
	case OPR_MOD:
		codearith(fs, arith_op[op], e1, e2);
		break;
	case OPR_EQ:
		codecomp(fs, KP_OP_EQ, 1, e1, e2);
		break;
	case OPR_NE:
		codecomp(fs, KP_OP_EQ, 0, e1, e2);
		break;
	case OPR_LT:
		codecomp(fs, KP_OP_LT, 1, e1, e2);
		break;
	case OPR_LE:
		codecomp(fs, KP_OP_LE, 1, e1, e2);
		break;
	case OPR_GT:
		codecomp(fs, KP_OP_LT, 0, e1, e2);
		break;
	case OPR_GE:
		codecomp(fs, KP_OP_LE, 0, e1, e2);
		break;
	default:
		assert(0);
	}
}

void kpc_setlist(struct kpc_funcstate *fs, int base, int nelems,
		 int tostore)
{
	int c = (nelems - 1) / KP_FIELDS_PER_FLUSH + 1;
	int b = tostore == KPC_MULTRET ? 0 : tostore;

	if (c > (int)KP_MAXARG_C)
		kpc_lex_error(fs->ls, "too many items in a table constructor");
	kpc_code_abc(fs, KP_OP_SETLIST, base, b, c);
	fs->freereg = base + 1; /* free the registers with the items */
}
