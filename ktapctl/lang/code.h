/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The code generator (after Lua 5.1's lcode.h): instruction emission,
 * register allocation, jump lists and constants, driven by the parser
 * through expression descriptors.
 */
#ifndef KTAP_LANG_CODE_H
#define KTAP_LANG_CODE_H

#include "opcodes.h"
#include "parse.h"

#define KPC_NO_JUMP (-1) /* end of a jump list */
#define KPC_MULTRET (-1) /* all the results of a call */

enum kpc_binopr {
	OPR_ADD,
	OPR_SUB,
	OPR_MUL,
	OPR_DIV,
	OPR_MOD,
	OPR_CONCAT,
	OPR_NE,
	OPR_EQ,
	OPR_LT,
	OPR_LE,
	OPR_GT,
	OPR_GE,
	OPR_AND,
	OPR_OR,
	OPR_NOBINOPR
};

enum kpc_unopr { OPR_MINUS, OPR_NOT, OPR_NOUNOPR };

#define kpc_hasjumps(e) ((e)->t != (e)->f)
#define kpc_hasmultret(k) ((k) == VCALL)
#define kpc_getcode(fs, e) ((fs)->f->code[(e)->info])
#define kpc_setmultret(fs, e) kpc_setreturns(fs, e, KPC_MULTRET)

int kpc_code(struct kpc_funcstate *fs, uint32_t insn);
int kpc_code_abc(struct kpc_funcstate *fs, enum kp_opcode op, int a, int b,
		 int c);
int kpc_code_abx(struct kpc_funcstate *fs, enum kp_opcode op, int a,
		 unsigned int bx);
int kpc_code_asbx(struct kpc_funcstate *fs, enum kp_opcode op, int a,
		  int sbx);
void kpc_fixline(struct kpc_funcstate *fs, int line);
void kpc_set_a(struct kpc_funcstate *fs, int pc, int a);
void kpc_set_b(struct kpc_funcstate *fs, int pc, int b);
void kpc_set_c(struct kpc_funcstate *fs, int pc, int c);

void kpc_nil(struct kpc_funcstate *fs, int from, int n);
void kpc_reserveregs(struct kpc_funcstate *fs, int n);
void kpc_checkstack(struct kpc_funcstate *fs, int n);

int kpc_stringK(struct kpc_funcstate *fs, const char *s, size_t len);
int kpc_numberK(struct kpc_funcstate *fs, int64_t n);

void kpc_dischargevars(struct kpc_funcstate *fs, struct kpc_expdesc *e);
int kpc_exp2anyreg(struct kpc_funcstate *fs, struct kpc_expdesc *e);
void kpc_exp2nextreg(struct kpc_funcstate *fs, struct kpc_expdesc *e);
void kpc_exp2val(struct kpc_funcstate *fs, struct kpc_expdesc *e);
int kpc_exp2RK(struct kpc_funcstate *fs, struct kpc_expdesc *e);
void kpc_indexed(struct kpc_funcstate *fs, struct kpc_expdesc *t,
		 struct kpc_expdesc *k);
void kpc_storevar(struct kpc_funcstate *fs, struct kpc_expdesc *var,
		  struct kpc_expdesc *e);
void kpc_goiftrue(struct kpc_funcstate *fs, struct kpc_expdesc *e);
void kpc_setreturns(struct kpc_funcstate *fs, struct kpc_expdesc *e,
		    int nresults);
void kpc_setoneret(struct kpc_funcstate *fs, struct kpc_expdesc *e);

int kpc_jump(struct kpc_funcstate *fs);
void kpc_ret(struct kpc_funcstate *fs, int first, int nret);
void kpc_patchlist(struct kpc_funcstate *fs, int list, int target);
void kpc_patchtohere(struct kpc_funcstate *fs, int list);
void kpc_dischargejpc(struct kpc_funcstate *fs);
void kpc_concat(struct kpc_funcstate *fs, int *l1, int l2);
int kpc_getlabel(struct kpc_funcstate *fs);

void kpc_prefix(struct kpc_funcstate *fs, enum kpc_unopr op,
		struct kpc_expdesc *e);
void kpc_infix(struct kpc_funcstate *fs, enum kpc_binopr op,
	       struct kpc_expdesc *v);
void kpc_posfix(struct kpc_funcstate *fs, enum kpc_binopr op,
		struct kpc_expdesc *e1, struct kpc_expdesc *e2);
void kpc_setlist(struct kpc_funcstate *fs, int base, int nelems,
		 int tostore);

#endif /* KTAP_LANG_CODE_H */
