// SPDX-License-Identifier: GPL-2.0
/*
 * The parser (after Lua 5.1's lparser.c): one pass over the tokens, code
 * generated as it goes through code.c. Functions are numbered in the order
 * they are opened, so a parent always comes before its children.
 *
 * Scope: `var` and `function NAME` declare globals at the top level of the
 * script (outside any block) and locals everywhere else. A name that is
 * neither a local nor an upvalue is, in order: a global declared so far, a
 * built-in (print, table.new...), or a global declared further down; the
 * last kind is checked when the whole script has been read.
 *
 * Probe blocks: `trace EVENTS [/FILTER/] { }` at the top level only. The
 * event list is raw text (kpc_lex_events): specs separated by commas, each
 * segment(:segment)*, where a segment that starts with '/' is a path and
 * may contain '/'. A '/' after the list (or ending a non-path segment)
 * opens the filter, which ends at the first '/' outside brackets: division
 * inside a filter needs parentheses, `/(arg1 / 2) > 3/`. Handlers and
 * filters compile to children of main; a filter returns its value.
 *
 * Every compile error, as "FILE:LINE: MESSAGE near 'TOKEN'":
 *   lexer:
 *     unfinished string                  unfinished long string
 *     invalid escape sequence            hexadecimal digit expected
 *     malformed number                   number too large
 *     string too long                    too many lines
 *     event name expected                malformed event spec
 *     unknown time unit 'U'              period must be above 0
 *   syntax:
 *     unexpected symbol                  syntax error
 *     'X' expected                       'X' expected (to close 'Y' at line N)
 *     '=' or 'in' expected               break outside a loop
 *     'trace' only allowed at top level  (also 'trace_end', 'tick', 'profile')
 *     cannot assign to 'NAME'            (event words and built-ins)
 *     chunk has too many syntax levels
 *   names (reported after the whole script, at the first use):
 *     undeclared variable 'NAME'
 *     assignment to undeclared variable 'NAME'
 *   limits (proto/chunk.h):
 *     too many registers                 too many upvalues
 *     too many constants                 too many instructions
 *     too many functions                 too many nested functions
 *     too many globals                   too many probes
 *     too many items in a table constructor
 *     control structure too long
 *     too many lines                     (a function or probe past 65535)
 * and, without a line, from chunk_write.c: "FILE: chunk too large (...)".
 */
#include <assert.h>
#include <string.h>

#include "chunk.h"
#include "code.h"

#define MAXNEST 200 /* recursion of the parser */
#define UNARY_PRIORITY 8

struct kpc_lhs {
	struct kpc_lhs *prev;
	struct kpc_expdesc v;
};

struct cons_control {
	struct kpc_expdesc v; /* last list item read */
	struct kpc_expdesc *t; /* the table */
	int nh; /* record items */
	int na; /* array items */
	int tostore; /* array items waiting for SETLIST */
};

static const struct {
	const char *name;
	int id;
} builtins[] = {
#define KPC_BI_ENTRY(id, name, min, max) { name, KP_BI_##id },
	KP_BUILTINS(KPC_BI_ENTRY)
#undef KPC_BI_ENTRY
};

static const char *const event_names[] = {
#define KPC_EV_NAME(id, name) name,
	KP_EVENT_FIELDS(KPC_EV_NAME)
#undef KPC_EV_NAME
};

#define NBUILTINS ((int)(sizeof(builtins) / sizeof(builtins[0])))

static void statement(struct kpc_lex *ls);
static void expr(struct kpc_lex *ls, struct kpc_expdesc *v);

/* Helpers */

static void next(struct kpc_lex *ls)
{
	kpc_lex_next(ls);
}

static void __attribute__((noreturn)) error_expected(struct kpc_lex *ls,
						     int tk)
{
	char buf[32];

	kpc_lex_error(ls, "%s expected", kpc_lex_token2str(tk, buf, sizeof(buf)));
}

static int testnext(struct kpc_lex *ls, int tk)
{
	if (ls->t.tk != tk)
		return 0;
	next(ls);
	return 1;
}

static void check(struct kpc_lex *ls, int tk)
{
	if (ls->t.tk != tk)
		error_expected(ls, tk);
}

static void checknext(struct kpc_lex *ls, int tk)
{
	check(ls, tk);
	next(ls);
}

static void check_match(struct kpc_lex *ls, int what, int who, int where)
{
	char w1[32], w2[32];

	if (testnext(ls, what))
		return;
	if (where == ls->t.line)
		error_expected(ls, what);
	kpc_lex_error(ls, "%s expected (to close %s at line %d)",
		      kpc_lex_token2str(what, w1, sizeof(w1)),
		      kpc_lex_token2str(who, w2, sizeof(w2)), where);
}

static void str_checkname(struct kpc_lex *ls, const char **s, size_t *len)
{
	check(ls, TK_NAME);
	*s = ls->t.v.str.s;
	*len = ls->t.v.str.len;
	next(ls);
}

static void init_exp(struct kpc_expdesc *e, enum kpc_expkind k, int info)
{
	e->k = k;
	e->info = info;
	e->aux = 0;
	e->nval = 0;
	e->f = e->t = KPC_NO_JUMP;
}

static void codestring(struct kpc_lex *ls, struct kpc_expdesc *e,
		       const char *s, size_t len)
{
	init_exp(e, VK, kpc_stringK(ls->fs, s, len));
}

/* A field name: a name, or an event word used as one (t.pid). */
static void checkname(struct kpc_lex *ls, struct kpc_expdesc *e)
{
	if (ls->t.tk == TK_EVENT)
		codestring(ls, e, ls->t.start, ls->t.len);
	else if (ls->t.tk == TK_NAME)
		codestring(ls, e, ls->t.v.str.s, ls->t.v.str.len);
	else
		error_expected(ls, TK_NAME);
	next(ls);
}

static void enterlevel(struct kpc_lex *ls)
{
	if (++ls->nest > MAXNEST)
		kpc_lex_error(ls, "chunk has too many syntax levels");
}

static void leavelevel(struct kpc_lex *ls)
{
	ls->nest--;
}

static int is_top_level(const struct kpc_funcstate *fs)
{
	return !fs->prev && !fs->bl;
}

static char *func_name(struct kpc_prog *P, const char *what, int line)
{
	char *s = kpc_alloc(P, strlen(what) + 16);

	sprintf(s, "%s@%d", what, line);
	return s;
}

/* Locals */

static void new_localvar(struct kpc_lex *ls, const char *name, size_t len,
			 int n)
{
	struct kpc_funcstate *fs = ls->fs;
	int i = fs->nactvar + n;

	if (i >= KP_MAX_REGS)
		kpc_lex_error(ls, "too many registers");
	KPC_GROW(ls->P, fs->actvar, i, fs->actvar_cap);
	fs->actvar[i].name = name;
	fs->actvar[i].len = len;
}

#define new_hidden_var(ls, text, n) new_localvar(ls, text, sizeof(text) - 1, n)

static void adjustlocalvars(struct kpc_lex *ls, int nvars)
{
	ls->fs->nactvar += nvars;
}

static int searchvar(const struct kpc_funcstate *fs, const char *name,
		     size_t len)
{
	int i;

	for (i = fs->nactvar - 1; i >= 0; i--)
		if (fs->actvar[i].len == len &&
		    !memcmp(fs->actvar[i].name, name, len))
			return i;
	return -1;
}

/* The block that declares local `level` closes upvalues when it ends. */
static void markupval(struct kpc_funcstate *fs, int level)
{
	struct kpc_blockcnt *bl = fs->bl;

	while (bl && bl->nactvar > level)
		bl = bl->previous;
	if (bl)
		bl->upval = 1;
}

static int indexupvalue(struct kpc_funcstate *fs, const char *name,
			size_t len, const struct kpc_expdesc *v)
{
	struct kpc_func *f = fs->f;
	int instack = v->k == VLOCAL, i;

	for (i = 0; i < f->nup; i++)
		if (f->up[i].instack == instack && f->up[i].idx == v->info)
			return i;
	if (f->nup >= KP_MAX_UPVALS)
		kpc_lex_error(fs->ls, "too many upvalues");
	KPC_GROW(fs->ls->P, f->up, f->nup, f->up_cap);
	f->up[f->nup].instack = (uint8_t)instack;
	f->up[f->nup].idx = (uint8_t)v->info;
	f->up[f->nup].name = name;
	f->up[f->nup].len = len;
	return f->nup++;
}

/* Local, upvalue, or VGLOBAL (no slot yet) when no function has it. */
static enum kpc_expkind singlevaraux(struct kpc_funcstate *fs,
				     const char *name, size_t len,
				     struct kpc_expdesc *var, int base)
{
	int v;

	if (!fs) {
		init_exp(var, VGLOBAL, 0);
		return VGLOBAL;
	}
	v = searchvar(fs, name, len);
	if (v >= 0) {
		init_exp(var, VLOCAL, v);
		if (!base)
			markupval(fs, v); /* captured by a nested function */
		return VLOCAL;
	}
	if (singlevaraux(fs->prev, name, len, var, 0) == VGLOBAL)
		return VGLOBAL;
	var->info = indexupvalue(fs, name, len, var);
	var->k = VUPVAL;
	return VUPVAL;
}

/* Globals */

static int global_slot(struct kpc_lex *ls, const char *name, size_t len,
		       int line, int *created)
{
	struct kpc_prog *P = ls->P;
	struct kpc_global *g;
	int slot = kpc_map_get(&P->gmap, name, len);

	*created = slot < 0;
	if (slot >= 0)
		return slot;
	if (P->nglobals >= KP_MAX_GLOBALS)
		kpc_lex_error(ls, "too many globals");
	KPC_GROW(P, P->globals, P->nglobals, P->globals_cap);
	g = &P->globals[P->nglobals];
	memset(g, 0, sizeof(*g));
	g->name = name;
	g->len = len;
	g->line = line;
	kpc_map_put(P, &P->gmap, name, len, P->nglobals);
	return P->nglobals++;
}

static int declare_global(struct kpc_lex *ls, const char *name, size_t len)
{
	int created, slot = global_slot(ls, name, len, ls->t.line, &created);

	ls->P->globals[slot].declared = 1;
	return slot;
}

/* A store to a global whose first use this is: "assignment to ...". */
static void mark_assigned(struct kpc_lex *ls, const struct kpc_expdesc *v)
{
	if (v->k == VGLOBAL && v->aux)
		ls->P->globals[v->info].assigned = 1;
}

static int find_builtin(const char *name, size_t len)
{
	int i;

	for (i = 0; i < NBUILTINS; i++)
		if (strlen(builtins[i].name) == len &&
		    !memcmp(builtins[i].name, name, len))
			return builtins[i].id;
	return -1;
}

/* "table" . "new": a built-in whose name has a dot. */
static int find_dotted_builtin(const char *ns, size_t nslen, const char *name,
			       size_t len)
{
	int i;

	for (i = 0; i < NBUILTINS; i++) {
		const char *b = builtins[i].name;

		if (strlen(b) == nslen + 1 + len && !memcmp(b, ns, nslen) &&
		    b[nslen] == '.' && !memcmp(b + nslen + 1, name, len))
			return builtins[i].id;
	}
	return -1;
}

static void singlevar(struct kpc_lex *ls, struct kpc_expdesc *var)
{
	struct kpc_prog *P = ls->P;
	int line = ls->t.line, slot, created, bi;
	const char *name;
	size_t len;

	str_checkname(ls, &name, &len);
	if (singlevaraux(ls->fs, name, len, var, 1) != VGLOBAL)
		return;
	slot = kpc_map_get(&P->gmap, name, len);
	if (slot < 0 || !P->globals[slot].declared) {
		bi = find_builtin(name, len);
		if (bi < 0 && ls->t.tk == '.' &&
		    kpc_lex_lookahead(ls) == TK_NAME)
			bi = find_dotted_builtin(name, len, ls->ahead.v.str.s,
						 ls->ahead.v.str.len);
		if (bi >= 0) {
			if (ls->t.tk == '.') {
				next(ls);
				next(ls);
			}
			init_exp(var, VBUILTIN, bi);
			return;
		}
	}
	slot = global_slot(ls, name, len, line, &created);
	init_exp(var, VGLOBAL, slot);
	var->aux = created;
}

/* Functions and blocks */

static void open_func(struct kpc_lex *ls, struct kpc_funcstate *fs,
		      const char *name, int line)
{
	struct kpc_prog *P = ls->P;
	struct kpc_func *f;

	memset(fs, 0, sizeof(*fs));
	/* Functions and probes keep their line in 16 bits. */
	if (line > 0xffff)
		kpc_lex_error(ls, "too many lines");
	fs->depth = ls->fs ? ls->fs->depth + 1 : 0;
	if (fs->depth > KP_MAX_NESTING)
		kpc_lex_error(ls, "too many nested functions");
	if (P->nfuncs >= KP_MAX_FUNCS)
		kpc_lex_error(ls, "too many functions");
	f = kpc_alloc(P, sizeof(*f));
	f->parent = ls->fs ? ls->fs->index : -1;
	f->line = line;
	f->name = name;
	f->framesize = 2;
	KPC_GROW(P, P->funcs, P->nfuncs, P->funcs_cap);
	fs->index = P->nfuncs;
	P->funcs[P->nfuncs++] = f;
	fs->f = f;
	fs->prev = ls->fs;
	fs->ls = ls;
	fs->lasttarget = -1;
	fs->jpc = KPC_NO_JUMP;
	fs->kspecial[0] = fs->kspecial[1] = fs->kspecial[2] = -1;
	ls->fs = fs;
}

static void close_func(struct kpc_lex *ls)
{
	struct kpc_funcstate *fs = ls->fs;

	kpc_ret(fs, 0, 0); /* the final return */
	ls->fs = fs->prev;
}

static void enterblock(struct kpc_funcstate *fs, struct kpc_blockcnt *bl,
		       int isbreakable)
{
	bl->breaklist = KPC_NO_JUMP;
	bl->isbreakable = isbreakable;
	bl->nactvar = fs->nactvar;
	bl->upval = 0;
	bl->previous = fs->bl;
	fs->bl = bl;
	assert(fs->freereg == fs->nactvar);
}

static void leaveblock(struct kpc_funcstate *fs)
{
	struct kpc_blockcnt *bl = fs->bl;

	fs->bl = bl->previous;
	fs->nactvar = bl->nactvar;
	if (bl->upval)
		kpc_code_abc(fs, KP_OP_CLOSE, bl->nactvar, 0, 0);
	/* A loop block has no locals of its own: breaks skip no CLOSE. */
	assert(!bl->isbreakable || !bl->upval);
	fs->freereg = fs->nactvar;
	kpc_patchtohere(fs, bl->breaklist);
}

static int block_follow(int tk)
{
	return tk == '}' || tk == TK_EOS;
}

static void statlist(struct kpc_lex *ls)
{
	while (!block_follow(ls->t.tk)) {
		if (ls->t.tk == TK_RETURN) {
			statement(ls);
			return; /* 'return' must be the last statement */
		}
		statement(ls);
	}
}

/* { statlist } in a block of its own. */
static void block(struct kpc_lex *ls)
{
	struct kpc_funcstate *fs = ls->fs;
	struct kpc_blockcnt bl;
	int line = ls->t.line;

	checknext(ls, '{');
	enterblock(fs, &bl, 0);
	statlist(ls);
	leaveblock(fs);
	check_match(ls, '}', '{', line);
}

/* A function's { body }, closed and ready. */
static void func_body(struct kpc_lex *ls)
{
	int line = ls->t.line;

	checknext(ls, '{');
	statlist(ls);
	check_match(ls, '}', '{', line);
	close_func(ls);
}

static void parlist(struct kpc_lex *ls)
{
	struct kpc_funcstate *fs = ls->fs;
	int nparams = 0;
	const char *name;
	size_t len;

	if (ls->t.tk != ')') {
		do {
			str_checkname(ls, &name, &len);
			new_localvar(ls, name, len, nparams++);
		} while (testnext(ls, ','));
	}
	adjustlocalvars(ls, nparams);
	fs->f->nparams = fs->nactvar;
	kpc_reserveregs(fs, fs->nactvar);
}

/* ( params ) { body }: a closure in e. */
static void body(struct kpc_lex *ls, struct kpc_expdesc *e, int line,
		 const char *name)
{
	struct kpc_funcstate new_fs;

	open_func(ls, &new_fs, name, line);
	checknext(ls, '(');
	parlist(ls);
	checknext(ls, ')');
	func_body(ls);
	init_exp(e, VRELOCABLE,
		 kpc_code_abx(ls->fs, KP_OP_CLOSURE, 0,
			      (unsigned)new_fs.index));
	kpc_fixline(ls->fs, line); /* the definition happens on its line */
}

/* Expressions */

static int explist(struct kpc_lex *ls, struct kpc_expdesc *v)
{
	int n = 1;

	expr(ls, v);
	while (testnext(ls, ',')) {
		kpc_exp2nextreg(ls->fs, v);
		expr(ls, v);
		n++;
	}
	return n;
}

static void funcargs(struct kpc_lex *ls, struct kpc_expdesc *f)
{
	struct kpc_funcstate *fs = ls->fs;
	struct kpc_expdesc args;
	int base, nparams, line = ls->t.line;

	next(ls); /* skip '(' */
	if (ls->t.tk == ')') {
		init_exp(&args, VVOID, 0);
	} else {
		explist(ls, &args);
		kpc_setmultret(fs, &args);
	}
	check_match(ls, ')', '(', line);
	assert(f->k == VNONRELOC);
	base = f->info;
	if (kpc_hasmultret(args.k)) {
		nparams = KPC_MULTRET; /* up to the top */
	} else {
		if (args.k != VVOID)
			kpc_exp2nextreg(fs, &args);
		nparams = fs->freereg - (base + 1);
	}
	init_exp(f, VCALL, kpc_code_abc(fs, KP_OP_CALL, base, nparams + 1, 2));
	kpc_fixline(fs, line);
	fs->freereg = base + 1; /* the call leaves one result */
}

static void primaryexp(struct kpc_lex *ls, struct kpc_expdesc *v)
{
	int line;

	switch (ls->t.tk) {
	case '(':
		line = ls->t.line;
		next(ls);
		expr(ls, v);
		check_match(ls, ')', '(', line);
		kpc_dischargevars(ls->fs, v); /* (f()) is one value */
		return;
	case TK_NAME:
		singlevar(ls, v);
		return;
	case TK_EVENT:
		init_exp(v, VEVENT, ls->t.v.id);
		next(ls);
		return;
	default:
		kpc_lex_error(ls, "unexpected symbol");
	}
}

static void yindex(struct kpc_lex *ls, struct kpc_expdesc *v)
{
	next(ls); /* skip '[' */
	expr(ls, v);
	kpc_exp2val(ls->fs, v);
	checknext(ls, ']');
}

static void suffixedexp(struct kpc_lex *ls, struct kpc_expdesc *v)
{
	struct kpc_funcstate *fs = ls->fs;
	struct kpc_expdesc key;

	primaryexp(ls, v);
	for (;;) {
		switch (ls->t.tk) {
		case '.':
			kpc_exp2anyreg(fs, v);
			next(ls);
			checkname(ls, &key);
			kpc_indexed(fs, v, &key);
			break;
		case '[':
			kpc_exp2anyreg(fs, v);
			yindex(ls, &key);
			kpc_indexed(fs, v, &key);
			break;
		case '(':
			/* A '(' on a new line starts a new statement. */
			if (ls->t.line != ls->lastline)
				return;
			kpc_exp2nextreg(fs, v);
			funcargs(ls, v);
			break;
		default:
			return;
		}
	}
}

static void recfield(struct kpc_lex *ls, struct cons_control *cc)
{
	struct kpc_funcstate *fs = ls->fs;
	int reg = fs->freereg, rkkey;
	struct kpc_expdesc key, val;

	if (ls->t.tk == '[')
		yindex(ls, &key);
	else
		checkname(ls, &key);
	cc->nh++;
	checknext(ls, '=');
	rkkey = kpc_exp2RK(fs, &key);
	expr(ls, &val);
	kpc_code_abc(fs, KP_OP_SETTABLE, cc->t->info, rkkey,
		     kpc_exp2RK(fs, &val));
	fs->freereg = reg;
}

static void closelistfield(struct kpc_funcstate *fs, struct cons_control *cc)
{
	if (cc->v.k == VVOID)
		return;
	kpc_exp2nextreg(fs, &cc->v);
	cc->v.k = VVOID;
	if (cc->tostore == KP_FIELDS_PER_FLUSH) {
		kpc_setlist(fs, cc->t->info, cc->na, cc->tostore);
		cc->tostore = 0;
	}
}

static void lastlistfield(struct kpc_funcstate *fs, struct cons_control *cc)
{
	if (cc->tostore == 0)
		return;
	if (kpc_hasmultret(cc->v.k)) {
		kpc_setmultret(fs, &cc->v);
		kpc_setlist(fs, cc->t->info, cc->na, KPC_MULTRET);
		cc->na--; /* do not count the call in the size hint */
	} else {
		if (cc->v.k != VVOID)
			kpc_exp2nextreg(fs, &cc->v);
		kpc_setlist(fs, cc->t->info, cc->na, cc->tostore);
	}
}

static void listfield(struct kpc_lex *ls, struct cons_control *cc)
{
	expr(ls, &cc->v);
	cc->na++;
	cc->tostore++;
}

static int size_hint(int n)
{
	return n > (int)KP_MAXARG_B ? (int)KP_MAXARG_B : n;
}

static void constructor(struct kpc_lex *ls, struct kpc_expdesc *t)
{
	struct kpc_funcstate *fs = ls->fs;
	int line = ls->t.line;
	int pc = kpc_code_abc(fs, KP_OP_NEWTABLE, 0, 0, 0);
	struct cons_control cc = { .t = t };

	init_exp(t, VRELOCABLE, pc);
	init_exp(&cc.v, VVOID, 0);
	kpc_exp2nextreg(fs, t);
	checknext(ls, '{');
	do {
		assert(cc.v.k == VVOID || cc.tostore > 0);
		if (ls->t.tk == '}')
			break;
		closelistfield(fs, &cc);
		switch (ls->t.tk) {
		case TK_NAME:
		case TK_EVENT:
			if (kpc_lex_lookahead(ls) == '=')
				recfield(ls, &cc);
			else
				listfield(ls, &cc);
			break;
		case '[':
			recfield(ls, &cc);
			break;
		default:
			listfield(ls, &cc);
			break;
		}
	} while (testnext(ls, ',') || testnext(ls, ';'));
	check_match(ls, '}', '{', line);
	lastlistfield(fs, &cc);
	kpc_set_b(fs, pc, size_hint(cc.na));
	kpc_set_c(fs, pc, size_hint(cc.nh));
}

static void simpleexp(struct kpc_lex *ls, struct kpc_expdesc *v)
{
	int line = ls->t.line;

	switch (ls->t.tk) {
	case TK_NUMBER:
		if (ls->t.v.num == KPC_INT64_MIN_ABS)
			kpc_lex_error(ls, "number too large");
		init_exp(v, VKNUM, 0);
		v->nval = (int64_t)ls->t.v.num;
		break;
	case TK_STRING:
		codestring(ls, v, ls->t.v.str.s, ls->t.v.str.len);
		break;
	case TK_NIL:
		init_exp(v, VNIL, 0);
		break;
	case TK_TRUE:
		init_exp(v, VTRUE, 0);
		break;
	case TK_FALSE:
		init_exp(v, VFALSE, 0);
		break;
	case '{':
		constructor(ls, v);
		return;
	case TK_FUNCTION:
		next(ls);
		body(ls, v, line, func_name(ls->P, "function", line));
		return;
	default:
		suffixedexp(ls, v);
		return;
	}
	next(ls);
}

static enum kpc_unopr getunopr(int tk)
{
	switch (tk) {
	case '-':
		return OPR_MINUS;
	case '!':
		return OPR_NOT;
	default:
		return OPR_NOUNOPR;
	}
}

static enum kpc_binopr getbinopr(int tk)
{
	switch (tk) {
	case '+':
		return OPR_ADD;
	case '-':
		return OPR_SUB;
	case '*':
		return OPR_MUL;
	case '/':
		return OPR_DIV;
	case '%':
		return OPR_MOD;
	case TK_CONCAT:
		return OPR_CONCAT;
	case TK_NE:
		return OPR_NE;
	case TK_EQ:
		return OPR_EQ;
	case '<':
		return OPR_LT;
	case TK_LE:
		return OPR_LE;
	case '>':
		return OPR_GT;
	case TK_GE:
		return OPR_GE;
	case TK_AND:
		return OPR_AND;
	case TK_OR:
		return OPR_OR;
	default:
		return OPR_NOBINOPR;
	}
}

static const struct {
	unsigned char left, right;
} priority[] = {
	[OPR_ADD] = { 6, 6 },	 [OPR_SUB] = { 6, 6 },	  [OPR_MUL] = { 7, 7 },
	[OPR_DIV] = { 7, 7 },	 [OPR_MOD] = { 7, 7 },	  [OPR_CONCAT] = { 5, 4 },
	[OPR_NE] = { 3, 3 },	 [OPR_EQ] = { 3, 3 },	  [OPR_LT] = { 3, 3 },
	[OPR_LE] = { 3, 3 },	 [OPR_GT] = { 3, 3 },	  [OPR_GE] = { 3, 3 },
	[OPR_AND] = { 2, 2 },	 [OPR_OR] = { 1, 1 },
};

/* subexpr -> (simpleexp | unop subexpr) { binop subexpr }, binops above
 * limit; returns the first operator it did not take. */
static enum kpc_binopr subexpr(struct kpc_lex *ls, struct kpc_expdesc *v,
			       int limit)
{
	enum kpc_binopr op;
	enum kpc_unopr uop;

	enterlevel(ls);
	uop = getunopr(ls->t.tk);
	if (uop != OPR_NOUNOPR) {
		next(ls);
		if (uop == OPR_MINUS && ls->t.tk == TK_NUMBER &&
		    ls->t.v.num == KPC_INT64_MIN_ABS) {
			/* -9223372036854775808 is the one literal 2^63 */
			init_exp(v, VKNUM, 0);
			v->nval = INT64_MIN;
			next(ls);
		} else {
			subexpr(ls, v, UNARY_PRIORITY);
			kpc_prefix(ls->fs, uop, v);
		}
	} else {
		simpleexp(ls, v);
	}
	op = getbinopr(ls->t.tk);
	while (op != OPR_NOBINOPR && priority[op].left > limit) {
		struct kpc_expdesc v2;
		enum kpc_binopr nextop;

		next(ls);
		kpc_infix(ls->fs, op, v);
		nextop = subexpr(ls, &v2, priority[op].right);
		kpc_posfix(ls->fs, op, v, &v2);
		op = nextop;
	}
	leavelevel(ls);
	return op;
}

static void expr(struct kpc_lex *ls, struct kpc_expdesc *v)
{
	subexpr(ls, v, 0);
}

/* An expression into the next register. */
static void exp1(struct kpc_lex *ls)
{
	struct kpc_expdesc e;

	expr(ls, &e);
	kpc_exp2nextreg(ls->fs, &e);
}

/* Statements */

static void adjust_assign(struct kpc_lex *ls, int nvars, int nexps,
			  struct kpc_expdesc *e)
{
	struct kpc_funcstate *fs = ls->fs;
	int extra = nvars - nexps;

	if (kpc_hasmultret(e->k)) {
		extra++; /* the call itself */
		if (extra < 0)
			extra = 0;
		kpc_setreturns(fs, e, extra);
		if (extra > 1)
			kpc_reserveregs(fs, extra - 1);
	} else {
		if (e->k != VVOID)
			kpc_exp2nextreg(fs, e);
		if (extra > 0) {
			int reg = fs->freereg;

			kpc_reserveregs(fs, extra);
			kpc_nil(fs, reg, extra);
		}
	}
	if (nexps > nvars)
		fs->freereg -= nexps - nvars; /* drop the extra values */
}

static int is_assignable(const struct kpc_expdesc *v)
{
	return v->k == VLOCAL || v->k == VUPVAL || v->k == VGLOBAL ||
	       v->k == VINDEXED;
}

static int is_compound(int tk)
{
	return tk == TK_ADDEQ || tk == TK_SUBEQ || tk == TK_MULEQ ||
	       tk == TK_DIVEQ || tk == TK_MODEQ;
}

static void check_assignable(struct kpc_lex *ls, const struct kpc_expdesc *v,
			     int line)
{
	const char *name;
	int i;

	if (is_assignable(v))
		return;
	if (v->k == VEVENT) {
		name = event_names[v->info];
	} else if (v->k == VBUILTIN) {
		for (i = 0; builtins[i].id != v->info; i++)
			;
		name = builtins[i].name;
	} else {
		kpc_lex_error(ls, "syntax error");
	}
	kpc_lex_error_at(ls, line, name, strlen(name), "cannot assign to '%s'",
			 name);
}

/*
 * A local being assigned in a multiple assignment may be the table or key
 * of an indexed target to its left: those use a copy of the old value.
 */
static void check_conflict(struct kpc_lex *ls, struct kpc_lhs *lh,
			   const struct kpc_expdesc *v)
{
	struct kpc_funcstate *fs = ls->fs;
	int extra = fs->freereg, conflict = 0;

	for (; lh; lh = lh->prev) {
		if (lh->v.k != VINDEXED)
			continue;
		if (lh->v.info == v->info) {
			conflict = 1;
			lh->v.info = extra;
		}
		if (lh->v.aux == v->info) {
			conflict = 1;
			lh->v.aux = extra;
		}
	}
	if (conflict) {
		kpc_code_abc(fs, KP_OP_MOVE, fs->freereg, v->info, 0);
		kpc_reserveregs(fs, 1);
	}
}

static void restassign(struct kpc_lex *ls, struct kpc_lhs *lh, int nvars)
{
	struct kpc_expdesc e;
	int nexps;

	if (testnext(ls, ',')) {
		struct kpc_lhs nv;
		int line = ls->t.line;

		nv.prev = lh;
		suffixedexp(ls, &nv.v);
		if (nv.v.k == VCALL || !is_assignable(&nv.v))
			check_assignable(ls, &nv.v, line);
		if (nv.v.k == VLOCAL)
			check_conflict(ls, lh, &nv.v);
		enterlevel(ls);
		restassign(ls, &nv, nvars + 1);
		leavelevel(ls);
	} else {
		checknext(ls, '=');
		nexps = explist(ls, &e);
		if (nexps == nvars) {
			kpc_setoneret(ls->fs, &e);
			mark_assigned(ls, &lh->v);
			kpc_storevar(ls->fs, &lh->v, &e);
			return;
		}
		adjust_assign(ls, nvars, nexps, &e);
	}
	/* The values are in the registers below freereg: store from the top. */
	init_exp(&e, VNONRELOC, ls->fs->freereg - 1);
	mark_assigned(ls, &lh->v);
	kpc_storevar(ls->fs, &lh->v, &e);
}

static enum kpc_binopr compound_opr(int tk)
{
	switch (tk) {
	case TK_ADDEQ:
		return OPR_ADD;
	case TK_SUBEQ:
		return OPR_SUB;
	case TK_MULEQ:
		return OPR_MUL;
	case TK_DIVEQ:
		return OPR_DIV;
	default:
		return OPR_MOD;
	}
}

/*
 * v op= e: the current value (nil counts as 0, NILZ) op e, stored back.
 * The table and key of t[k] are evaluated once.
 */
static void compound(struct kpc_lex *ls, struct kpc_expdesc *v)
{
	struct kpc_funcstate *fs = ls->fs;
	enum kpc_binopr op = compound_opr(ls->t.tk);
	struct kpc_expdesc cur, e;
	int reg;

	mark_assigned(ls, v);
	if (v->k == VLOCAL) {
		reg = v->info;
	} else {
		reg = fs->freereg;
		kpc_reserveregs(fs, 1);
		if (v->k == VUPVAL)
			kpc_code_abc(fs, KP_OP_GETUPVAL, reg, v->info, 0);
		else if (v->k == VGLOBAL)
			kpc_code_abx(fs, KP_OP_GETGLOBAL, reg,
				     (unsigned)v->info);
		else
			kpc_code_abc(fs, KP_OP_GETTABLE, reg, v->info, v->aux);
	}
	kpc_code_abc(fs, KP_OP_NILZ, reg, 0, 0);
	next(ls);
	init_exp(&cur, VNONRELOC, reg);
	kpc_infix(fs, op, &cur);
	expr(ls, &e);
	kpc_posfix(fs, op, &cur, &e);
	kpc_storevar(fs, v, &cur);
}

static void exprstat(struct kpc_lex *ls)
{
	struct kpc_lhs v;
	int line = ls->t.line;

	suffixedexp(ls, &v.v);
	if (v.v.k == VCALL) { /* a call statement uses no results */
		kpc_set_c(ls->fs, v.v.info, 1);
		return;
	}
	if (!is_assignable(&v.v)) {
		int tk = ls->t.tk;

		if (tk == '=' || tk == ',' || is_compound(tk))
			check_assignable(ls, &v.v, line);
		kpc_lex_error(ls, "syntax error");
	}
	if (is_compound(ls->t.tk)) {
		compound(ls, &v.v);
		return;
	}
	v.prev = NULL;
	restassign(ls, &v, 1);
}

/* ( expr ): the jumps taken when it is false. */
static int cond(struct kpc_lex *ls)
{
	struct kpc_expdesc v;
	int line = ls->t.line;

	checknext(ls, '(');
	expr(ls, &v);
	check_match(ls, ')', '(', line);
	if (v.k == VNIL)
		v.k = VFALSE;
	kpc_goiftrue(ls->fs, &v);
	return v.f;
}

static struct kpc_blockcnt *loop_block(struct kpc_funcstate *fs, int *upval)
{
	struct kpc_blockcnt *bl = fs->bl;

	*upval = 0;
	while (bl && !bl->isbreakable) {
		*upval |= bl->upval;
		bl = bl->previous;
	}
	return bl;
}

/* Jump out of the innermost loop, closing what the blocks left captured. */
static void break_jump(struct kpc_funcstate *fs)
{
	int upval;
	struct kpc_blockcnt *bl = loop_block(fs, &upval);

	if (upval)
		kpc_code_abc(fs, KP_OP_CLOSE, bl->nactvar, 0, 0);
	kpc_concat(fs, &bl->breaklist, kpc_jump(fs));
}

static void breakstat(struct kpc_lex *ls)
{
	int upval;

	if (!loop_block(ls->fs, &upval))
		kpc_lex_error(ls, "break outside a loop");
	next(ls);
	break_jump(ls->fs);
}

static void whilestat(struct kpc_lex *ls)
{
	struct kpc_funcstate *fs = ls->fs;
	struct kpc_blockcnt bl;
	int whileinit, condexit;

	next(ls);
	whileinit = kpc_getlabel(fs);
	condexit = cond(ls);
	enterblock(fs, &bl, 1);
	block(ls);
	kpc_patchlist(fs, kpc_jump(fs), whileinit);
	leaveblock(fs);
	kpc_patchtohere(fs, condexit);
}

/* repeat { body } until (cond): cond sees the body's locals (Lua). */
static void repeatstat(struct kpc_lex *ls, int line)
{
	struct kpc_funcstate *fs = ls->fs;
	int repeat_init = kpc_getlabel(fs), condexit, bline;
	struct kpc_blockcnt bl1, bl2;

	enterblock(fs, &bl1, 1);
	enterblock(fs, &bl2, 0);
	next(ls);
	bline = ls->t.line;
	checknext(ls, '{');
	statlist(ls);
	check_match(ls, '}', '{', bline);
	check_match(ls, TK_UNTIL, TK_REPEAT, line);
	condexit = cond(ls);
	if (!bl2.upval) {
		leaveblock(fs);
		kpc_patchlist(fs, condexit, repeat_init);
	} else {
		/* Captured locals: close them on the way out and around. */
		break_jump(fs);
		kpc_patchtohere(fs, condexit);
		leaveblock(fs);
		kpc_patchlist(fs, kpc_jump(fs), repeat_init);
	}
	leaveblock(fs);
}

static void forbody(struct kpc_lex *ls, int base, int line, int nvars,
		    int isnum)
{
	struct kpc_funcstate *fs = ls->fs;
	struct kpc_blockcnt bl;
	int prep, endfor;

	adjustlocalvars(ls, 3); /* the control variables */
	prep = isnum ? kpc_code_asbx(fs, KP_OP_FORPREP, base, KPC_NO_JUMP) :
		       kpc_jump(fs);
	enterblock(fs, &bl, 0);
	adjustlocalvars(ls, nvars);
	kpc_reserveregs(fs, nvars);
	block(ls);
	leaveblock(fs);
	kpc_patchtohere(fs, prep);
	if (isnum)
		endfor = kpc_code_asbx(fs, KP_OP_FORLOOP, base, KPC_NO_JUMP);
	else
		endfor = kpc_code_abc(fs, KP_OP_TFORLOOP, base, 0, nvars);
	kpc_fixline(fs, line);
	kpc_patchlist(fs, isnum ? endfor : kpc_jump(fs), prep + 1);
}

/* for (i = a, b [, step]) { }: a is already in R(base). */
static void fornum(struct kpc_lex *ls, const char *name, size_t len,
		   int base, int line, int pline)
{
	struct kpc_funcstate *fs = ls->fs;

	new_hidden_var(ls, "(for index)", 0);
	new_hidden_var(ls, "(for limit)", 1);
	new_hidden_var(ls, "(for step)", 2);
	new_localvar(ls, name, len, 3);
	checknext(ls, ',');
	exp1(ls);
	if (testnext(ls, ',')) {
		exp1(ls);
	} else {
		kpc_code_abx(fs, KP_OP_LOADK, fs->freereg,
			     (unsigned)kpc_numberK(fs, 1));
		kpc_reserveregs(fs, 1);
	}
	check_match(ls, ')', '(', pline);
	forbody(ls, base, line, 1, 1);
}

/* for (k, v in explist) { } */
static void forlist(struct kpc_lex *ls, const char *name, size_t len,
		    int pline)
{
	struct kpc_funcstate *fs = ls->fs;
	struct kpc_expdesc e;
	int nvars = 0, line, base = fs->freereg;

	new_hidden_var(ls, "(for generator)", nvars++);
	new_hidden_var(ls, "(for state)", nvars++);
	new_hidden_var(ls, "(for control)", nvars++);
	new_localvar(ls, name, len, nvars++);
	while (testnext(ls, ',')) {
		str_checkname(ls, &name, &len);
		new_localvar(ls, name, len, nvars++);
	}
	checknext(ls, TK_IN);
	line = ls->t.line;
	adjust_assign(ls, 3, explist(ls, &e), &e);
	kpc_checkstack(fs, 3); /* room to call the generator */
	check_match(ls, ')', '(', pline);
	forbody(ls, base, line, nvars - 3, 0);
}

/* var a, b = e1, e2 inside a function or a block: locals. */
static void localstat(struct kpc_lex *ls)
{
	struct kpc_expdesc e;
	int nvars = 0, nexps = 0;
	const char *name;
	size_t len;

	do {
		str_checkname(ls, &name, &len);
		new_localvar(ls, name, len, nvars++);
	} while (testnext(ls, ','));
	init_exp(&e, VVOID, 0);
	if (testnext(ls, '='))
		nexps = explist(ls, &e);
	adjust_assign(ls, nvars, nexps, &e);
	adjustlocalvars(ls, nvars);
}

/*
 * for (init; cond; step) { body }, laid out as
 *	init
 *   top:	cond, false -> out
 *	body
 *	step
 *	JMP top
 *   out:
 * The step is read before the body: its code is set aside and put back
 * after the body. Its jumps are relative and stay inside it.
 */
static void cfor(struct kpc_lex *ls, int pline)
{
	struct kpc_funcstate *fs = ls->fs;
	struct kpc_func *f = fs->f;
	struct kpc_blockcnt bl;
	struct kpc_expdesc c;
	int top, condexit = KPC_NO_JUMP, start, nstep, i, jpc;
	uint32_t *step = NULL, *lines = NULL;

	if (testnext(ls, TK_VAR))
		localstat(ls);
	checknext(ls, ';');
	top = kpc_getlabel(fs);
	if (ls->t.tk != ';') {
		expr(ls, &c);
		if (c.k == VNIL)
			c.k = VFALSE;
		kpc_goiftrue(fs, &c);
		condexit = c.f;
	}
	checknext(ls, ';');
	/* The true jumps of cond wait for the body, not for the step. */
	jpc = fs->jpc;
	fs->jpc = KPC_NO_JUMP;
	start = f->ncode;
	if (ls->t.tk != ')') {
		exprstat(ls);
		fs->freereg = fs->nactvar;
		kpc_dischargejpc(fs); /* jumps to the step's end */
	}
	nstep = f->ncode - start;
	if (nstep) {
		step = kpc_alloc(ls->P, (size_t)nstep * sizeof(*step));
		lines = kpc_alloc(ls->P, (size_t)nstep * sizeof(*lines));
		memcpy(step, f->code + start, (size_t)nstep * sizeof(*step));
		memcpy(lines, f->lines + start, (size_t)nstep * sizeof(*lines));
		f->ncode = start;
		fs->lasttarget = start;
	}
	fs->jpc = jpc;
	check_match(ls, ')', '(', pline);
	enterblock(fs, &bl, 1);
	block(ls);
	for (i = 0; i < nstep; i++) {
		kpc_code(fs, step[i]);
		kpc_fixline(fs, (int)lines[i]);
	}
	kpc_patchlist(fs, kpc_jump(fs), top);
	leaveblock(fs);
	kpc_patchtohere(fs, condexit);
}

/*
 * for (i = a, b [, c]), for (k, v in e), for (init; cond; step). In the
 * first and the last, `NAME = e` starts alike: e goes to the register of
 * the loop's first variable either way.
 */
static void forstat(struct kpc_lex *ls, int line)
{
	struct kpc_funcstate *fs = ls->fs;
	struct kpc_blockcnt bl;
	const char *name;
	size_t len;
	int pline, base = fs->freereg;

	next(ls);
	pline = ls->t.line;
	checknext(ls, '(');
	enterblock(fs, &bl, 0);
	if (ls->t.tk == ';' || ls->t.tk == TK_VAR) {
		cfor(ls, pline);
	} else {
		str_checkname(ls, &name, &len);
		if (ls->t.tk == ',' || ls->t.tk == TK_IN) {
			bl.isbreakable = 1;
			forlist(ls, name, len, pline);
		} else {
			if (ls->t.tk != '=')
				kpc_lex_error(ls, "'=' or 'in' expected");
			next(ls);
			exp1(ls);
			if (ls->t.tk == ',') {
				bl.isbreakable = 1;
				fornum(ls, name, len, base, line, pline);
			} else {
				new_localvar(ls, name, len, 0);
				adjustlocalvars(ls, 1);
				cfor(ls, pline);
			}
		}
	}
	leaveblock(fs);
}

/* [if | elseif] (cond) { block } */
static int test_then_block(struct kpc_lex *ls)
{
	int condexit;

	next(ls);
	condexit = cond(ls);
	block(ls);
	return condexit;
}

static void ifstat(struct kpc_lex *ls)
{
	struct kpc_funcstate *fs = ls->fs;
	int flist, escapelist = KPC_NO_JUMP;

	flist = test_then_block(ls);
	for (;;) {
		if (ls->t.tk == TK_ELSEIF ||
		    (ls->t.tk == TK_ELSE && kpc_lex_lookahead(ls) == TK_IF)) {
			if (ls->t.tk == TK_ELSE)
				next(ls); /* else if: on to the if */
			kpc_concat(fs, &escapelist, kpc_jump(fs));
			kpc_patchtohere(fs, flist);
			flist = test_then_block(ls);
		} else if (ls->t.tk == TK_ELSE) {
			kpc_concat(fs, &escapelist, kpc_jump(fs));
			kpc_patchtohere(fs, flist);
			next(ls);
			block(ls);
			break;
		} else {
			kpc_concat(fs, &escapelist, flist);
			break;
		}
	}
	kpc_patchtohere(fs, escapelist);
}

/* function NAME (params) { }: a global at the top level, else a local. */
static void funcstat(struct kpc_lex *ls, int line)
{
	struct kpc_funcstate *fs = ls->fs;
	struct kpc_expdesc v, b;
	const char *name;
	size_t len;
	char *fname;

	next(ls);
	check(ls, TK_NAME);
	fname = kpc_strdup(ls->P, ls->t.v.str.s, ls->t.v.str.len);
	if (is_top_level(fs)) {
		init_exp(&v, VGLOBAL,
			 declare_global(ls, ls->t.v.str.s, ls->t.v.str.len));
		next(ls);
		body(ls, &b, line, fname);
	} else {
		str_checkname(ls, &name, &len);
		new_localvar(ls, name, len, 0);
		init_exp(&v, VLOCAL, fs->freereg);
		kpc_reserveregs(fs, 1);
		adjustlocalvars(ls, 1); /* visible in its body: recursion */
		body(ls, &b, line, fname);
	}
	kpc_storevar(fs, &v, &b);
	kpc_fixline(fs, line);
}

/*
 * var a, b = e1, e2 at the top level: globals. The values are computed
 * before the names are declared, so `var print = print` keeps the built-in.
 */
static void globalstat(struct kpc_lex *ls)
{
	struct kpc_funcstate *fs = ls->fs;
	struct kpc_localvar *names = NULL;
	int nvars = 0, cap = 0, nexps = 0, i;
	struct kpc_expdesc e;

	do {
		KPC_GROW(ls->P, names, nvars, cap);
		str_checkname(ls, &names[nvars].name, &names[nvars].len);
		nvars++;
	} while (testnext(ls, ','));
	init_exp(&e, VVOID, 0);
	if (testnext(ls, '='))
		nexps = explist(ls, &e);
	adjust_assign(ls, nvars, nexps, &e);
	for (i = nvars - 1; i >= 0; i--) {
		int slot = declare_global(ls, names[i].name, names[i].len);

		kpc_code_abx(fs, KP_OP_SETGLOBAL, fs->freereg - nvars + i,
			     (unsigned)slot);
	}
}

static void retstat(struct kpc_lex *ls)
{
	struct kpc_funcstate *fs = ls->fs;
	struct kpc_expdesc e;
	int first, nret;

	next(ls);
	if (block_follow(ls->t.tk) || ls->t.tk == ';') {
		first = nret = 0;
	} else {
		nret = explist(ls, &e);
		if (kpc_hasmultret(e.k)) {
			kpc_setmultret(fs, &e);
			if (e.k == VCALL && nret == 1) { /* return f(x) */
				uint32_t *pc = &kpc_getcode(fs, &e);

				*pc = KP_MK_ABC(KP_OP_TAILCALL, KP_GET_A(*pc),
						KP_GET_B(*pc), 0);
			}
			first = fs->nactvar;
			nret = KPC_MULTRET;
		} else if (nret == 1) {
			first = kpc_exp2anyreg(fs, &e);
		} else {
			kpc_exp2nextreg(fs, &e);
			first = fs->nactvar;
			assert(nret == fs->freereg - first);
		}
	}
	kpc_ret(fs, first, nret);
	testnext(ls, ';');
}

/* Probes */

/* Checks before a probe block: where it is, and how many there are. */
static void probe_allowed(struct kpc_lex *ls, const char *what)
{
	if (!is_top_level(ls->fs))
		kpc_lex_error(ls, "'%s' only allowed at top level", what);
	if (ls->P->nprobes >= KP_MAX_PROBES)
		kpc_lex_error(ls, "too many probes");
}

static void add_probe(struct kpc_lex *ls, int kind, int handler, int filter,
		      int line, uint64_t period, const char *spec,
		      size_t speclen)
{
	struct kpc_prog *P = ls->P;
	struct kpc_probe *p;

	KPC_GROW(P, P->probes, P->nprobes, P->probes_cap);
	p = &P->probes[P->nprobes++];
	p->kind = kind;
	p->handler = handler;
	p->filter = filter;
	p->line = line;
	p->period_ns = period;
	p->spec = spec;
	p->speclen = speclen;
}

/* A handler: a child of main without parameters; { body }. */
static int handler(struct kpc_lex *ls, const char *what, int line)
{
	struct kpc_funcstate fs;

	open_func(ls, &fs, func_name(ls->P, what, line), line);
	func_body(ls);
	return fs.index;
}

/* trace EVENTS [/filter/] { body } */
static void tracestat(struct kpc_lex *ls, int line)
{
	struct kpc_funcstate fs;
	struct kpc_expdesc e;
	int filter = KP_NO_FUNC;
	const char *spec;
	size_t len;

	probe_allowed(ls, "trace");
	spec = kpc_lex_events(ls, &len);
	next(ls);
	if (ls->t.tk == '/') {
		int fline = ls->t.line;

		kpc_lex_filter(ls);
		open_func(ls, &fs, func_name(ls->P, "filter", line), line);
		next(ls);
		expr(ls, &e);
		check_match(ls, TK_FILTEREND, '/', fline);
		kpc_ret(&fs, kpc_exp2anyreg(&fs, &e), 1);
		close_func(ls);
		filter = fs.index;
	}
	add_probe(ls, KP_PROBE_TRACE, handler(ls, "trace", line), filter, line,
		  0, spec, len);
}

/* tick-N<unit> { } and profile-N<unit> { } */
static void timerstat(struct kpc_lex *ls, int line)
{
	int profile = ls->t.v.str.len == 7; /* "profile", else "tick" */
	const char *what = profile ? "profile" : "tick";
	const char *spec;
	size_t len;
	uint64_t period;

	probe_allowed(ls, what);
	period = kpc_lex_timer(ls);
	spec = kpc_strdup(ls->P, ls->t.start, ls->t.len);
	len = ls->t.len;
	next(ls);
	add_probe(ls, profile ? KP_PROBE_PROFILE : KP_PROBE_TICK,
		  handler(ls, what, line), KP_NO_FUNC, line, period, spec, len);
}

static int is_timer(const struct kpc_lex *ls)
{
	const struct kpc_tok *t = &ls->t;

	return t->tk == TK_NAME &&
	       ((t->len == 4 && !memcmp(t->start, "tick", 4)) ||
		(t->len == 7 && !memcmp(t->start, "profile", 7))) &&
	       kpc_lex_is_timer(ls);
}

static void statement(struct kpc_lex *ls)
{
	struct kpc_funcstate *fs = ls->fs;
	int line = ls->t.line;

	enterlevel(ls);
	switch (ls->t.tk) {
	case ';': /* an empty statement */
		next(ls);
		break;
	case TK_IF:
		ifstat(ls);
		break;
	case TK_WHILE:
		whilestat(ls);
		break;
	case TK_FOR:
		forstat(ls, line);
		break;
	case TK_REPEAT:
		repeatstat(ls, line);
		break;
	case TK_FUNCTION:
		funcstat(ls, line);
		break;
	case TK_VAR:
		next(ls);
		if (is_top_level(fs))
			globalstat(ls);
		else
			localstat(ls);
		break;
	case TK_RETURN:
		retstat(ls);
		break;
	case TK_BREAK:
		breakstat(ls);
		break;
	case TK_TRACE:
		tracestat(ls, line);
		break;
	case TK_TRACE_END:
		probe_allowed(ls, "trace_end");
		next(ls);
		add_probe(ls, KP_PROBE_END, handler(ls, "trace_end", line),
			  KP_NO_FUNC, line, 0, "", 0);
		break;
	default:
		if (is_timer(ls))
			timerstat(ls, line);
		else
			exprstat(ls);
		break;
	}
	assert(fs->f->framesize >= fs->freereg && fs->freereg >= fs->nactvar);
	fs->freereg = fs->nactvar;
	leavelevel(ls);
}

/* Names used as globals but declared nowhere: the first, at its line. */
static void check_globals(struct kpc_lex *ls)
{
	const struct kpc_prog *P = ls->P;
	int i;

	for (i = 0; i < P->nglobals; i++) {
		const struct kpc_global *g = &P->globals[i];

		if (g->declared)
			continue;
		kpc_lex_error_at(ls, g->line, g->name, g->len, "%s'%.*s'",
				 g->assigned ? "assignment to undeclared variable " :
					       "undeclared variable ",
				 (int)g->len, g->name);
	}
}

void kpc_parse(struct kpc_prog *P, const char *src, size_t len)
{
	struct kpc_lex ls;
	struct kpc_funcstate fs;

	kpc_lex_init(&ls, P, src, len);
	declare_global(&ls, "arg", 3); /* slot 0: the script's arguments */
	open_func(&ls, &fs, "main", 0);
	next(&ls);
	statlist(&ls);
	check(&ls, TK_EOS);
	close_func(&ls);
	check_globals(&ls);
}
