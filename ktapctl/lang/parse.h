/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the parser and the code generator share (after Lua 5.1's
 * lparser.h): expression descriptors and the state of each function being
 * compiled.
 */
#ifndef KTAP_LANG_PARSE_H
#define KTAP_LANG_PARSE_H

#include <stdint.h>

#include "lex.h"
#include "prog.h"

enum kpc_expkind {
	VVOID, /* no value (empty expression list) */
	VNIL,
	VTRUE,
	VFALSE,
	VK, /* info = constant index */
	VKNUM, /* nval = integer, not yet a constant (foldable) */
	VLOCAL, /* info = register of the local */
	VUPVAL, /* info = upvalue index */
	VGLOBAL, /* info = global slot; aux = 1 if this is its first use */
	VINDEXED, /* info = table register, aux = key as RK */
	VJMP, /* info = pc of the JMP after a comparison */
	VRELOCABLE, /* info = pc of an instruction whose A is not set yet */
	VNONRELOC, /* info = register that holds the value */
	VCALL, /* info = pc of the CALL */
	VBUILTIN, /* info = KP_BI_*, loaded when needed */
	VEVENT /* info = KP_EV_*, loaded when needed */
};

struct kpc_expdesc {
	enum kpc_expkind k;
	int info, aux;
	int64_t nval;
	int t; /* jumps to take when the expression is true */
	int f; /* ... and when it is false */
};

struct kpc_blockcnt {
	struct kpc_blockcnt *previous;
	int breaklist; /* jumps out of this loop */
	int nactvar; /* active locals outside the block */
	int upval; /* some local of the block is captured */
	int isbreakable; /* a loop */
};

struct kpc_localvar {
	const char *name;
	size_t len;
};

struct kpc_funcstate {
	struct kpc_func *f;
	int index; /* in P->funcs */
	int depth; /* 0 for main */
	struct kpc_funcstate *prev; /* enclosing function */
	struct kpc_lex *ls;
	struct kpc_blockcnt *bl; /* innermost block; NULL at function level */
	int lasttarget; /* pc of the last jump target */
	int jpc; /* jumps waiting for the next instruction */
	int freereg; /* first free register */
	int nactvar; /* active locals, in registers 0 .. nactvar-1 */
	struct kpc_localvar *actvar; /* active, then declared, locals */
	int actvar_cap;
	struct kpc_map kstr; /* string constant -> index in f->k */
	struct kpc_map knum; /* integer constant (8 bytes) -> index */
	int kspecial[3]; /* nil, false, true constants, or -1 */
};

#endif /* KTAP_LANG_PARSE_H */
