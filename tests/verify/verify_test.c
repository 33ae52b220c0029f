// SPDX-License-Identifier: GPL-2.0
/*
 * Loader and verifier tests: chunks written byte by byte by a tiny
 * assembler that mirrors proto/chunk.h, one case per rule of load.c and
 * verify.c, each expecting its function, pc and reason; then every
 * truncation and every single-bit flip of a valid chunk.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chunk_view.h"

#define MAXF 40
#define MAXCODE 48
#define MAXK 4
#define MAXG 4
#define MAXP 4

struct tconst {
	int type;
	int64_t num;
	const char *str;
	uint32_t len_decl; /* written instead of strlen(str) when set */
};

struct tfunc {
	unsigned parent, nparams, framesize, nupvals, flags, line;
	const char *name;
	uint32_t name_len_decl;
	unsigned ncode;
	uint32_t code[MAXCODE];
	unsigned nconsts;
	struct tconst k[MAXK];
	uint8_t up[2 * 8];
	uint32_t ncode_decl, nconsts_decl; /* overrides when set */
};

struct tprobe {
	unsigned kind, flags, handler, filter, line;
	uint64_t period;
	const char *spec;
};

struct tchunk {
	unsigned version, flags;
	const char *source;
	unsigned nglobals;
	const char *globals[MAXG];
	unsigned nfuncs;
	struct tfunc f[MAXF];
	unsigned nprobes;
	struct tprobe p[MAXP];
	uint32_t nglobals_decl, nfuncs_decl, nprobes_decl;
};

/* The assembler's output buffer. */
struct wbuf {
	uint8_t *p;
	size_t len, cap;
};

static void w_raw(struct wbuf *w, const void *d, size_t n)
{
	if (w->len + n > w->cap) {
		w->cap = (w->len + n) * 2;
		w->p = realloc(w->p, w->cap);
		if (!w->p)
			abort();
	}
	memcpy(w->p + w->len, d, n);
	w->len += n;
}

static void w_int(struct wbuf *w, uint64_t v, int bytes)
{
	uint8_t b[8];
	int i;

	for (i = 0; i < bytes; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	w_raw(w, b, (size_t)bytes);
}

static void w_str(struct wbuf *w, const char *s, uint32_t len_decl)
{
	size_t n = strlen(s);

	w_int(w, len_decl ? len_decl : n, 4);
	w_raw(w, s, n);
}

static uint32_t decl(uint32_t over, unsigned n)
{
	return over ? over : n;
}

static void w_func(struct wbuf *w, const struct tfunc *f)
{
	unsigned i;

	w_int(w, f->parent, 2);
	w_int(w, f->nparams, 1);
	w_int(w, f->framesize, 1);
	w_int(w, f->nupvals, 1);
	w_int(w, f->flags, 1);
	w_int(w, f->line, 2);
	w_str(w, f->name, f->name_len_decl);
	w_int(w, decl(f->ncode_decl, f->ncode), 4);
	for (i = 0; i < f->ncode; i++)
		w_int(w, f->code[i], 4);
	for (i = 0; i < f->ncode; i++)
		w_int(w, 100 + i, 4);
	w_int(w, decl(f->nconsts_decl, f->nconsts), 4);
	for (i = 0; i < f->nconsts; i++) {
		w_int(w, (uint64_t)f->k[i].type, 1);
		if (f->k[i].type == KP_CONST_INT)
			w_int(w, (uint64_t)f->k[i].num, 8);
		else if (f->k[i].type == KP_CONST_STR)
			w_str(w, f->k[i].str, f->k[i].len_decl);
	}
	/* More upvalues than f->up holds: a truncated descriptor list. */
	w_raw(w, f->up, 2 * f->nupvals < sizeof(f->up) ? 2 * f->nupvals :
		  sizeof(f->up));
}

/* Serialize c; the size field is patched to the real length. */
static uint8_t *assemble(const struct tchunk *c, size_t *len)
{
	struct wbuf w = { 0 };
	unsigned i;

	w_raw(&w, KP_CHUNK_MAGIC, 4);
	w_int(&w, c->version, 2);
	w_int(&w, c->flags, 2);
	w_int(&w, 0, 4);
	w_str(&w, c->source, 0);
	w_int(&w, decl(c->nglobals_decl, c->nglobals), 4);
	for (i = 0; i < c->nglobals; i++)
		w_str(&w, c->globals[i], 0);
	w_int(&w, decl(c->nfuncs_decl, c->nfuncs), 4);
	for (i = 0; i < c->nfuncs; i++)
		w_func(&w, &c->f[i]);
	w_int(&w, decl(c->nprobes_decl, c->nprobes), 4);
	for (i = 0; i < c->nprobes; i++) {
		const struct tprobe *p = &c->p[i];

		w_int(&w, p->kind, 1);
		w_int(&w, p->flags, 1);
		w_int(&w, p->handler, 2);
		w_int(&w, p->filter, 2);
		w_int(&w, p->line, 2);
		w_int(&w, p->period, 8);
		w_str(&w, p->spec, 0);
	}
	for (i = 0; i < 4; i++)
		w.p[8 + i] = (uint8_t)(w.len >> (8 * i));
	*len = w.len;
	return w.p;
}

#define ABC(op, a, b, c) KP_MK_ABC(KP_OP_##op, a, b, c)
#define ABX(op, a, bx) KP_MK_ABX(KP_OP_##op, a, bx)
#define ASBX(op, a, sbx) KP_MK_ASBX(KP_OP_##op, a, sbx)
#define RKK(k) (KP_RK_CONST | (k))

static void set_code(struct tfunc *f, const uint32_t *code, unsigned n)
{
	memcpy(f->code, code, n * sizeof(*code));
	f->ncode = n;
}

#define CODE(f, ...)                                                          \
	do {                                                                   \
		const uint32_t code_[] = { __VA_ARGS__ };                      \
		set_code(f, code_, sizeof(code_) / sizeof(code_[0]));          \
	} while (0)

static struct tfunc *func(struct tchunk *c, unsigned i, unsigned parent,
			  unsigned nparams, unsigned framesize,
			  const char *name)
{
	struct tfunc *f = &c->f[i];

	f->parent = parent;
	f->nparams = nparams;
	f->framesize = framesize;
	f->name = name;
	f->line = i;
	return f;
}

/*
 * A valid chunk that uses every opcode the way the compiler does:
 * f0 main, f1 trace handler, f2 its filter, f3 a closure of main with an
 * upvalue, f4 a closure of f3, f5 the tick/profile handler, f6 trace_end.
 */
static void base(struct tchunk *c)
{
	struct tfunc *f;

	memset(c, 0, sizeof(*c));
	c->version = KP_CHUNK_VERSION;
	c->source = "test.kp";
	c->nglobals = 2;
	c->globals[0] = "arg";
	c->globals[1] = "count";
	c->nfuncs = 7;

	f = func(c, 0, KP_NO_FUNC, 0, 10, "main");
	f->nconsts = 3;
	f->k[0] = (struct tconst){ KP_CONST_INT, 1, NULL, 0 };
	f->k[1] = (struct tconst){ KP_CONST_STR, 0, "x", 0 };
	f->k[2] = (struct tconst){ KP_CONST_INT, 10, NULL, 0 };
	CODE(f,
	     ABX(LOADK, 0, 0),			/* 0 */
	     ABC(LOADBOOL, 1, 0, 1),		/* 1 */
	     ABC(LOADBOOL, 1, 1, 0),		/* 2 */
	     ABC(LOADNIL, 2, 1, 0),		/* 3 */
	     ABC(NEWTABLE, 2, 0, 0),		/* 4 */
	     ABX(SETGLOBAL, 2, 1),		/* 5 */
	     ABX(GETGLOBAL, 3, 1),		/* 6 */
	     ABC(SETTABLE, 3, RKK(1), RKK(0)),	/* 7 */
	     ABC(GETTABLE, 4, 3, RKK(1)),	/* 8 */
	     ABC(ADD, 4, 4, RKK(0)),		/* 9 */
	     ABC(EQ, 0, 4, RKK(0)),		/* 10 */
	     ASBX(JMP, 0, 1),			/* 11 -> 13 */
	     ABC(NILZ, 4, 0, 0),		/* 12 */
	     ABC(TEST, 4, 0, 1),		/* 13 */
	     ASBX(JMP, 0, 0),			/* 14 -> 15 */
	     ABC(CONCAT, 5, 0, 1),		/* 15 */
	     ABX(BUILTIN, 5, KP_BI_PRINT),	/* 16 */
	     ABX(CLOSURE, 6, 3),		/* 17 */
	     ABC(CALL, 6, 1, 0),		/* 18 */
	     ABC(CALL, 5, 0, 1),		/* 19 */
	     ABX(LOADK, 4, 0),			/* 20 */
	     ABX(LOADK, 5, 2),			/* 21 */
	     ABX(LOADK, 6, 0),			/* 22 */
	     ASBX(FORPREP, 4, 1),		/* 23 -> 25 */
	     ABC(NILZ, 7, 0, 0),		/* 24 */
	     ASBX(FORLOOP, 4, -2),		/* 25 -> 24 */
	     ABX(BUILTIN, 3, KP_BI_PAIRS),	/* 26 */
	     ASBX(JMP, 0, 1),			/* 27 -> 29 */
	     ABC(NILZ, 6, 0, 0),		/* 28 */
	     ABC(TFORLOOP, 3, 0, 2),		/* 29 */
	     ASBX(JMP, 0, -3),			/* 30 -> 28 */
	     ABC(NEWTABLE, 4, 2, 0),		/* 31 */
	     ABX(LOADK, 5, 0),			/* 32 */
	     ABX(LOADK, 6, 2),			/* 33 */
	     ABC(SETLIST, 4, 2, 1),		/* 34 */
	     ABC(LT, 1, 0, RKK(2)),		/* 35 */
	     ASBX(JMP, 0, 0),			/* 36 */
	     ABC(LE, 0, RKK(0), 0),		/* 37 */
	     ASBX(JMP, 0, 0),			/* 38 */
	     ABC(RETURN, 0, 1, 0));		/* 39 */

	f = func(c, 1, 0, 0, 2, "trace@3");
	CODE(f, ABC(EVENT, 0, KP_EV_EXECNAME, 0), ABC(EVENT, 1, KP_EV_ARG9, 0),
	     ABC(RETURN, 0, 1, 0));

	f = func(c, 2, 0, 0, 1, "filter@3");
	CODE(f, ABC(EVENT, 0, KP_EV_PID, 0), ABC(RETURN, 0, 2, 0));

	f = func(c, 3, 0, 1, 4, "f");
	f->nconsts = 4;
	f->k[0] = (struct tconst){ KP_CONST_INT, 3, NULL, 0 };
	f->k[1] = (struct tconst){ KP_CONST_TRUE, 0, NULL, 0 };
	f->k[2] = (struct tconst){ KP_CONST_FALSE, 0, NULL, 0 };
	f->k[3] = (struct tconst){ KP_CONST_NIL, 0, NULL, 0 };
	f->nupvals = 1;
	f->up[0] = 1;
	f->up[1] = 6;
	CODE(f,
	     ABC(GETUPVAL, 1, 0, 0),		/* 0 */
	     ABC(SETUPVAL, 1, 0, 0),		/* 1 */
	     ABC(TESTSET, 2, 0, 1),		/* 2 */
	     ASBX(JMP, 0, 0),			/* 3 */
	     ABC(UNM, 2, 0, 0),			/* 4 */
	     ABC(NOT, 2, 0, 0),			/* 5 */
	     ABC(LEN, 2, 0, 0),			/* 6 */
	     ABC(SUB, 2, 0, RKK(0)),		/* 7 */
	     ABC(MUL, 2, 0, 0),			/* 8 */
	     ABC(DIV, 2, 0, RKK(0)),		/* 9 */
	     ABC(MOD, 2, 0, RKK(0)),		/* 10 */
	     ABC(MOVE, 3, 2, 0),		/* 11 */
	     ABC(CLOSE, 0, 0, 0),		/* 12 */
	     ABX(CLOSURE, 3, 4),		/* 13 */
	     ABC(TAILCALL, 3, 1, 0),		/* 14 */
	     ABC(RETURN, 3, 0, 0));		/* 15 */

	f = func(c, 4, 3, 0, 2, "g");
	f->nupvals = 2;
	f->up[0] = 0; /* f3's upvalue 0 */
	f->up[1] = 0;
	f->up[2] = 1; /* f3's register 3 */
	f->up[3] = 3;
	CODE(f, ABC(GETUPVAL, 0, 1, 0), ABC(RETURN, 0, 2, 0));

	f = func(c, 5, 0, 0, 1, "tick");
	CODE(f, ABC(RETURN, 0, 1, 0));

	f = func(c, 6, 0, 0, 1, "trace_end");
	CODE(f, ABX(BUILTIN, 0, KP_BI_EXIT), ABC(CALL, 0, 1, 1),
	     ABC(RETURN, 0, 1, 0));

	c->nprobes = 4;
	c->p[0] = (struct tprobe){ KP_PROBE_TRACE, 0, 1, 2, 3, 0, "sched:*" };
	c->p[1] = (struct tprobe){ KP_PROBE_TICK, 0, 5, KP_NO_FUNC, 5,
				   1000000000, "tick-1s" };
	c->p[2] = (struct tprobe){ KP_PROBE_PROFILE, 0, 5, KP_NO_FUNC, 6,
				   1000000, "profile-1ms" };
	c->p[3] = (struct tprobe){ KP_PROBE_END, 0, 6, KP_NO_FUNC, 7, 0, "" };
}

static int failures, cases;

static int verify_buf(const uint8_t *buf, size_t len,
		      struct kp_verify_error *err)
{
	static uint8_t scratch[KP_VERIFY_SCRATCH(KP_MAX_FUNCS, KP_MAX_PROBES,
						 KP_MAX_GLOBALS)];

	memset(err, 0, sizeof(*err));
	return kp_verify_chunk(buf, len, scratch, sizeof(scratch), err);
}

static void expect_buf(const char *name, const uint8_t *buf, size_t len,
		       int func, int pc, const char *reason)
{
	struct kp_verify_error err;
	int ret = verify_buf(buf, len, &err);
	int ok;

	cases++;
	if (!reason)
		ok = ret == 0;
	else
		ok = ret == -KP_EINVAL && err.func == func && err.pc == pc &&
		     strstr(err.reason, reason);
	if (ok)
		return;
	failures++;
	printf("FAIL %s: got %d (func %d, pc %d, \"%s\"), want ", name, ret,
	       err.func, err.pc, ret ? err.reason : "");
	if (reason)
		printf("func %d, pc %d, \"%s\"\n", func, pc, reason);
	else
		printf("acceptance\n");
}

static void expect(const char *name, const struct tchunk *c, int func, int pc,
		   const char *reason)
{
	size_t len;
	uint8_t *buf = assemble(c, &len);

	expect_buf(name, buf, len, func, pc, reason);
	free(buf);
}

static struct tchunk *chunk(void)
{
	static struct tchunk c;

	base(&c);
	return &c;
}

/* One case: start from the valid chunk, apply the edit, expect the error. */
#define REJECT(name, func, pc, reason, ...)                                   \
	do {                                                                   \
		struct tchunk *c = chunk();                                    \
		__VA_ARGS__;                                                   \
		expect(name, c, func, pc, reason);                             \
	} while (0)
#define ACCEPT(name, ...) REJECT(name, 0, 0, NULL, __VA_ARGS__)

static void test_container(void)
{
	uint8_t *buf, *big;
	size_t len;

	buf = assemble(chunk(), &len);
	buf[1] = 'X';
	expect_buf("bad magic", buf, len, -1, -1, "bad magic");
	expect_buf("short foreign", buf, 2, -1, -1, "bad magic");
	buf[1] = 'K';
	expect_buf("empty chunk", buf, 0, -1, -1, "truncated chunk: header");
	expect_buf("short header", buf, 11, -1, -1, "truncated chunk: header");
	expect_buf("size field", buf, len - 1, -1, -1,
		   "does not match chunk length");
	buf = realloc(buf, len + 3);
	memset(buf + len, 0, 3);
	buf[8] = (uint8_t)(len + 3);
	buf[9] = (uint8_t)((len + 3) >> 8);
	expect_buf("trailing bytes", buf, len + 3, -1, -1,
		   "3 trailing bytes after probe table");
	free(buf);

	/* The size field must equal the length, and the length fit. */
	len = KP_MAX_CHUNK + 1;
	big = calloc(1, len);
	memcpy(big, KP_CHUNK_MAGIC, 4);
	big[4] = KP_CHUNK_VERSION;
	memcpy(big + 8, &(uint32_t){ (uint32_t)len }, 4);
	expect_buf("chunk too large", big, len, -1, -1,
		   "chunk too large (16777217 > 16777216 bytes)");
	free(big);

	REJECT("version", -1, -1, "unsupported version 7", c->version = 7);
	REJECT("header flags", -1, -1, "header flags 1 must be 0",
	       c->flags = 1);
	REJECT("too many globals", -1, -1, "too many globals (5000 > 4096)",
	       c->nglobals_decl = 5000);
	REJECT("globals room", -1, -1, "4000 globals need at least 16000",
	       c->nglobals_decl = 4000);
	REJECT("global name truncated", -1, -1,
	       "truncated chunk: global 2 name",
	       c->nglobals_decl = 3; c->nfuncs = 0; c->nfuncs_decl = 256;
	       c->nprobes = 0);
	REJECT("duplicate global", -1, -1,
	       "global slot 2 repeats the name 'count'",
	       c->nglobals = 3; c->globals[2] = "count");
	REJECT("no functions", -1, -1, "chunk has no functions",
	       c->nfuncs = 0; c->nprobes = 0);
	REJECT("too many functions", -1, -1,
	       "too many functions (4097 > 4096)",
	       c->nfuncs_decl = KP_MAX_FUNCS + 1);
	REJECT("functions room", -1, -1, "4096 functions need at least",
	       c->nfuncs_decl = KP_MAX_FUNCS);
	REJECT("function name too long", 2, -1,
	       "function 2 name too long (1048577 > 1048576 bytes)",
	       c->f[2].name_len_decl = KP_MAX_STR + 1);
	REJECT("function name truncated", 2, -1,
	       "truncated chunk: function 2 name",
	       c->f[2].name_len_decl = 100000);
	REJECT("too many upvalues", 4, -1, "too many upvalues (61 > 60)",
	       c->f[4].nupvals = 61);
	REJECT("no code", 5, -1, "function has no code", c->f[5].ncode = 0);
	REJECT("too many instructions", 3, -1,
	       "too many instructions (1048577 > 1048576)",
	       c->f[3].ncode_decl = KP_MAX_CODE + 1);
	REJECT("code truncated", 3, -1, "truncated chunk: function 3 code",
	       c->f[3].ncode_decl = 100000);
	REJECT("too many constants", 3, -1,
	       "too many constants (200000 > 131072)",
	       c->f[3].nconsts_decl = 200000);
	REJECT("constants truncated", 6, -1,
	       "truncated chunk: function 6 constants",
	       c->f[6].nconsts_decl = 5; c->nprobes = 0);
	REJECT("constant type", 3, -1, "constant 2 has unknown type 9",
	       c->f[3].k[2].type = 9);
	REJECT("string constant too long", 0, -1,
	       "string constant 1 too long (1048577 > 1048576 bytes)",
	       c->f[0].k[1].len_decl = KP_MAX_STR + 1);
	REJECT("upvalues truncated", 6, -1,
	       "truncated chunk: function 6 upvalues",
	       c->f[6].nupvals = 60; c->nprobes = 0);
	REJECT("too many probes", -1, -1, "too many probes (1025 > 1024)",
	       c->nprobes_decl = KP_MAX_PROBES + 1);
	REJECT("probes room", -1, -1, "1000 probes need at least 20000",
	       c->nprobes_decl = 1000);
	REJECT("probe spec truncated", -1, -1,
	       "truncated chunk: probe 4 header", c->nprobes_decl = 5);
}

static void test_operands(void)
{
	REJECT("unknown opcode", 1, 1, "unknown opcode 63",
	       c->f[1].code[1] = ABC(RETURN, 0, 1, 0) | 63);
	REJECT("R out of frame", 0, 8,
	       "register 12 out of frame (size 10) in operand B of GETTABLE",
	       c->f[0].code[8] = ABC(GETTABLE, 4, 12, RKK(1)));
	REJECT("R in A out of frame", 3, 11,
	       "register 4 out of frame (size 4) in operand A of MOVE",
	       c->f[3].code[11] = ABC(MOVE, 4, 2, 0));
	REJECT("RK register out of frame", 0, 9,
	       "register 11 out of frame (size 10) in operand B of ADD",
	       c->f[0].code[9] = ABC(ADD, 4, 11, RKK(0)));
	REJECT("RK constant out of range", 0, 9,
	       "constant 5 out of range (3 constants) in operand C of ADD",
	       c->f[0].code[9] = ABC(ADD, 4, 4, RKK(5)));
	REJECT("RK constant past 255 unreachable", 0, 7,
	       "constant 255 out of range (3 constants) in operand B of SETTABLE",
	       c->f[0].code[7] = ABC(SETTABLE, 3, RKK(KP_MAX_RK_CONST),
				     RKK(0)));
	REJECT("K out of range", 0, 0,
	       "constant 3 out of range (3 constants) in operand Bx of LOADK",
	       c->f[0].code[0] = ABX(LOADK, 0, 3));
	REJECT("U out of range", 3, 0,
	       "upvalue 1 out of range (1 upvalues) in operand B of GETUPVAL",
	       c->f[3].code[0] = ABC(GETUPVAL, 1, 1, 0));
	REJECT("U in main", 0, 0,
	       "upvalue 0 out of range (0 upvalues) in operand B of SETUPVAL",
	       c->f[0].code[0] = ABC(SETUPVAL, 0, 0, 0));
	REJECT("G out of range", 0, 5,
	       "global slot 2 out of range (2 globals) in operand Bx of SETGLOBAL",
	       c->f[0].code[5] = ABX(SETGLOBAL, 2, 2));
	REJECT("BI out of range", 0, 16,
	       "built-in 22 out of range (22 built-ins) in operand Bx of BUILTIN",
	       c->f[0].code[16] = ABX(BUILTIN, 5, KP_BI__COUNT));
	REJECT("EV out of range", 1, 0,
	       "event field 18 out of range (18 fields) in operand B of EVENT",
	       c->f[1].code[0] = ABC(EVENT, 0, KP_EV__COUNT, 0));
	REJECT("J past the end", 0, 11,
	       "jump target 112 outside code (40 instructions) in operand sBx of JMP",
	       c->f[0].code[11] = ASBX(JMP, 0, 100));
	REJECT("J before the start", 0, 11,
	       "jump target -1 outside code (40 instructions) in operand sBx of JMP",
	       c->f[0].code[11] = ASBX(JMP, 0, -13));
	REJECT("J onto the end", 0, 25,
	       "jump target 40 outside code (40 instructions) in operand sBx of FORLOOP",
	       c->f[0].code[25] = ASBX(FORLOOP, 4, 14));
	REJECT("J onto an open call", 0, 11,
	       "jump target 19 in operand sBx of JMP lands on an instruction that needs the top",
	       c->f[0].code[11] = ASBX(JMP, 0, 7));
	REJECT("P not a child", 0, 17,
	       "function 4 is not a child of function 0 in operand Bx of CLOSURE",
	       c->f[0].code[17] = ABX(CLOSURE, 6, 4));
	REJECT("P out of range", 0, 17,
	       "function 99 out of range (7 functions) in operand Bx of CLOSURE",
	       c->f[0].code[17] = ABX(CLOSURE, 6, 99));
	REJECT("P self", 3, 13,
	       "function 3 is not a child of function 3",
	       c->f[3].code[13] = ABX(CLOSURE, 3, 3));
	REJECT("NONE in C", 3, 11, "operand C of MOVE must be 0 (is 5)",
	       c->f[3].code[11] = ABC(MOVE, 3, 2, 5));
	REJECT("NONE in A of JMP", 0, 14, "operand A of JMP must be 0 (is 1)",
	       c->f[0].code[14] = ASBX(JMP, 1, 0));
	REJECT("NONE in B of TEST", 0, 13, "operand B of TEST must be 0 (is 3)",
	       c->f[0].code[13] = ABC(TEST, 4, 3, 1));
}

static void test_rules(void)
{
	REJECT("LOADBOOL B", 0, 1, "operand B of LOADBOOL must be 0 or 1 (is 2)",
	       c->f[0].code[1] = ABC(LOADBOOL, 1, 2, 1));
	REJECT("LOADBOOL C", 0, 2, "operand C of LOADBOOL must be 0 or 1 (is 3)",
	       c->f[0].code[2] = ABC(LOADBOOL, 1, 1, 3));
	REJECT("LOADBOOL skip past the end", 5, 0,
	       "jump target 2 outside code (2 instructions) in the skip of LOADBOOL",
	       CODE(&c->f[5], ABC(LOADBOOL, 0, 0, 1), ABC(RETURN, 0, 1, 0)));
	REJECT("LOADBOOL skip onto an open call", 0, 17,
	       "jump target 19 in the skip of LOADBOOL",
	       c->f[0].code[17] = ABC(LOADBOOL, 6, 0, 1));
	REJECT("LOADNIL window", 0, 3,
	       "registers 2..10 out of frame (size 10) in LOADNIL",
	       c->f[0].code[3] = ABC(LOADNIL, 2, 8, 0));
	REJECT("CONCAT order", 0, 15, "operand B 1 above operand C 0 of CONCAT",
	       c->f[0].code[15] = ABC(CONCAT, 5, 1, 0));
	REJECT("EQ A", 0, 10, "operand A of EQ must be 0 or 1 (is 2)",
	       c->f[0].code[10] = ABC(EQ, 2, 4, RKK(0)));
	REJECT("LT A", 0, 35, "operand A of LT must be 0 or 1 (is 7)",
	       c->f[0].code[35] = ABC(LT, 7, 0, RKK(2)));
	REJECT("EQ then JMP", 0, 10, "EQ must be followed by JMP",
	       c->f[0].code[11] = ABC(NILZ, 0, 0, 0));
	REJECT("LE then JMP", 0, 37, "LE must be followed by JMP",
	       c->f[0].code[38] = ABC(NILZ, 0, 0, 0));
	REJECT("TEST C", 0, 13, "operand C of TEST must be 0 or 1 (is 2)",
	       c->f[0].code[13] = ABC(TEST, 4, 0, 2));
	REJECT("TEST then JMP", 0, 13, "TEST must be followed by JMP",
	       c->f[0].code[14] = ABC(NILZ, 0, 0, 0));
	REJECT("TESTSET C", 3, 2, "operand C of TESTSET must be 0 or 1 (is 4)",
	       c->f[3].code[2] = ABC(TESTSET, 2, 0, 4));
	REJECT("TESTSET then JMP", 3, 2, "TESTSET must be followed by JMP",
	       c->f[3].code[3] = ABC(CLOSE, 0, 0, 0));
	REJECT("test at the end", 2, 1, "EQ must be followed by JMP",
	       CODE(&c->f[2], ABC(RETURN, 0, 1, 0), ABC(EQ, 0, 0, 0)));
	REJECT("CALL arguments", 0, 18,
	       "registers 6..10 out of frame (size 10) in CALL",
	       c->f[0].code[18] = ABC(CALL, 6, 5, 0));
	REJECT("CALL results", 0, 19,
	       "registers 5..10 out of frame (size 10) in CALL",
	       c->f[0].code[19] = ABC(CALL, 5, 0, 7));
	REJECT("CALL B=0 after a closed call", 0, 19,
	       "CALL with B = 0 must follow CALL with C = 0",
	       c->f[0].code[18] = ABC(CALL, 6, 1, 1));
	REJECT("CALL B=0 after no call", 0, 19,
	       "CALL with B = 0 must follow CALL with C = 0",
	       c->f[0].code[18] = ABC(MOVE, 6, 1, 0));
	REJECT("CALL B=0 below the open results", 0, 19,
	       "open results at register 5 start below register 6 needed by CALL",
	       c->f[0].code[18] = ABC(CALL, 5, 1, 0));
	REJECT("B=0 at pc 0", 2, 0,
	       "RETURN with B = 0 must follow CALL with C = 0",
	       CODE(&c->f[2], ABC(RETURN, 0, 0, 0)));
	REJECT("TAILCALL arguments", 3, 14,
	       "registers 3..4 out of frame (size 4) in TAILCALL",
	       c->f[3].code[14] = ABC(TAILCALL, 3, 2, 0));
	REJECT("TAILCALL B=0", 3, 14,
	       "TAILCALL with B = 0 must follow CALL with C = 0",
	       c->f[3].code[14] = ABC(TAILCALL, 3, 0, 0));
	REJECT("NONE in C of TAILCALL", 3, 14,
	       "operand C of TAILCALL must be 0 (is 1)",
	       c->f[3].code[14] = ABC(TAILCALL, 3, 1, 1));
	REJECT("RETURN window", 2, 1,
	       "registers 0..1 out of frame (size 1) in RETURN",
	       c->f[2].code[1] = ABC(RETURN, 0, 3, 0));
	REJECT("RETURN B=0 below the open results", 3, 15,
	       "open results at register 3 start below register 4 needed by RETURN",
	       c->f[3].code[15] = ABC(RETURN, 4, 0, 0); c->f[3].framesize = 5);
	REJECT("FORPREP window", 0, 23,
	       "registers 7..10 out of frame (size 10) in FORPREP",
	       c->f[0].code[23] = ASBX(FORPREP, 7, 1);
	       c->f[0].code[25] = ASBX(FORLOOP, 7, -2));
	REJECT("FORPREP backward", 0, 23,
	       "FORPREP must jump forward to a FORLOOP on register 4",
	       c->f[0].code[23] = ASBX(FORPREP, 4, -1));
	REJECT("FORPREP to another instruction", 0, 23,
	       "FORPREP must jump forward to a FORLOOP on register 4",
	       c->f[0].code[23] = ASBX(FORPREP, 4, 0));
	REJECT("FORPREP to another loop", 0, 23,
	       "FORPREP must jump forward to a FORLOOP on register 4",
	       c->f[0].code[25] = ASBX(FORLOOP, 5, -2));
	REJECT("FORLOOP without its FORPREP", 0, 25,
	       "FORLOOP must jump back to just after the FORPREP of register 4",
	       c->f[0].code[23] = ASBX(JMP, 0, 1));
	REJECT("FORLOOP back elsewhere", 0, 25,
	       "FORLOOP must jump back to just after the FORPREP of register 4",
	       c->f[0].code[25] = ASBX(FORLOOP, 4, -3));
	REJECT("FORLOOP back to the start", 0, 25,
	       "FORLOOP must jump back to just after the FORPREP of register 4",
	       c->f[0].code[25] = ASBX(FORLOOP, 4, -26));
	REJECT("TFORLOOP C", 0, 29, "operand C of TFORLOOP must be at least 1",
	       c->f[0].code[29] = ABC(TFORLOOP, 3, 0, 0));
	REJECT("TFORLOOP window", 0, 29,
	       "registers 3..12 out of frame (size 10) in TFORLOOP",
	       c->f[0].code[29] = ABC(TFORLOOP, 3, 0, 7));
	REJECT("TFORLOOP then JMP", 0, 29, "TFORLOOP must be followed by JMP",
	       c->f[0].code[30] = ABC(NILZ, 0, 0, 0));
	REJECT("SETLIST C", 0, 34, "operand C of SETLIST must be at least 1",
	       c->f[0].code[34] = ABC(SETLIST, 4, 2, 0));
	REJECT("SETLIST window", 0, 34,
	       "registers 4..10 out of frame (size 10) in SETLIST",
	       c->f[0].code[34] = ABC(SETLIST, 4, 6, 1));
	REJECT("SETLIST B=0", 0, 34,
	       "SETLIST with B = 0 must follow CALL with C = 0",
	       c->f[0].code[34] = ABC(SETLIST, 4, 0, 1));
	REJECT("last not RETURN", 1, 2, "function must end with RETURN",
	       c->f[1].code[2] = ASBX(JMP, 0, -3));
	REJECT("TAILCALL without its RETURN", 3, 14,
	       "function must end with RETURN", c->f[3].ncode = 15);
	ACCEPT("SETLIST B=0 after an open call",
	       c->f[0].code[32] = ABX(CLOSURE, 5, 3);
	       c->f[0].code[33] = ABC(CALL, 5, 1, 0);
	       c->f[0].code[34] = ABC(SETLIST, 4, 0, 1));
	ACCEPT("NEWTABLE size hints are free",
	       c->f[0].code[4] = ABC(NEWTABLE, 2, KP_MAXARG_B, KP_MAXARG_C));
}

static void test_tree(void)
{
	unsigned i;

	REJECT("main parent", 0, -1, "main function has parent 0",
	       c->f[0].parent = 0);
	REJECT("main parameters", 0, -1,
	       "main function has 1 parameters and 0 upvalues",
	       c->f[0].nparams = 1);
	REJECT("main upvalues", 0, -1,
	       "main function has 0 parameters and 1 upvalues",
	       c->f[0].nupvals = 1);
	REJECT("parent not earlier", 3, -1, "parent 3 is not an earlier function",
	       c->f[3].parent = 3);
	REJECT("parent none", 3, -1, "parent 65535 is not an earlier function",
	       c->f[3].parent = KP_NO_FUNC);
	REJECT("parameters above frame", 3, -1,
	       "5 parameters exceed frame size 4", c->f[3].nparams = 5);
	REJECT("frame too big", 3, -1, "frame size 251 above 250 registers",
	       c->f[3].framesize = 251);
	REJECT("function flags", 3, -1, "function flags 1 must be 0",
	       c->f[3].flags = 1);
	REJECT("upvalue instack", 4, -1, "upvalue 0: instack 2 must be 0 or 1",
	       c->f[4].up[0] = 2);
	REJECT("upvalue register", 4, -1,
	       "upvalue 1 captures register 4 of function 3, outside its frame (size 4)",
	       c->f[4].up[3] = 4);
	REJECT("upvalue of upvalue", 4, -1,
	       "upvalue 0 captures upvalue 1 of function 3, which has 1",
	       c->f[4].up[1] = 1);

	/* A chain of closures KP_MAX_NESTING deep is fine, one more is not. */
	for (i = 0; i < 2; i++) {
		struct tchunk *c = chunk();
		unsigned n;

		c->nfuncs = 7 + KP_MAX_NESTING + i;
		for (n = 7; n < c->nfuncs; n++) {
			struct tfunc *f = func(c, n, n == 7 ? 0 : n - 1, 0, 1,
					       "nest");

			if (n + 1 < c->nfuncs)
				CODE(f, ABX(CLOSURE, 0, n + 1),
				     ABC(RETURN, 0, 1, 0));
			else
				CODE(f, ABC(RETURN, 0, 1, 0));
		}
		if (i)
			expect("nesting too deep", c, (int)c->nfuncs - 1, -1,
			       "functions nested deeper than 32");
		else
			expect("nesting at the limit", c, 0, 0, NULL);
	}
}

static void test_globals_probes(void)
{
	REJECT("no globals", -1, -1, "no globals (slot 0 must be 'arg')",
	       c->nglobals = 0);
	REJECT("slot 0 name", -1, -1, "global slot 0 is 'argv', must be 'arg'",
	       c->globals[0] = "argv");
	REJECT("probe kind 0", -1, -1, "probe 2: unknown kind 0",
	       c->p[2].kind = 0);
	REJECT("probe kind 9", -1, -1, "probe 0: unknown kind 9",
	       c->p[0].kind = 9);
	REJECT("probe flags", -1, -1, "probe 1: flags 1 must be 0",
	       c->p[1].flags = 1);
	REJECT("trace spec", -1, -1, "probe 0: trace has an empty event spec",
	       c->p[0].spec = "");
	REJECT("handler 0", -1, -1, "probe 3: handler 0 is not a function (1..6)",
	       c->p[3].handler = 0);
	REJECT("handler past the end", -1, -1,
	       "probe 3: handler 7 is not a function (1..6)",
	       c->p[3].handler = 7);
	REJECT("handler with parameters", -1, -1,
	       "probe 0: handler 3 must be a top-level function without parameters or upvalues",
	       c->p[0].handler = 3);
	REJECT("handler nested", -1, -1,
	       "probe 1: handler 4 must be a top-level function",
	       c->p[1].handler = 4; c->f[4].nupvals = 0;
	       CODE(&c->f[4], ABC(RETURN, 0, 1, 0)));
	REJECT("handler with upvalues", -1, -1,
	       "probe 1: handler 5 must be a top-level function",
	       c->f[5].nupvals = 1; c->f[5].up[0] = 1);
	REJECT("filter nested", -1, -1,
	       "probe 0: filter 4 must be a top-level function",
	       c->p[0].filter = 4);
	REJECT("filter past the end", -1, -1,
	       "probe 0: filter 100 is not a function", c->p[0].filter = 100);
	REJECT("filter on tick", -1, -1, "probe 1: tick cannot have a filter",
	       c->p[1].filter = 2);
	REJECT("filter on trace_end", -1, -1,
	       "probe 3: trace_end cannot have a filter", c->p[3].filter = 2);
	REJECT("tick period", -1, -1, "probe 1: tick needs a period above 0",
	       c->p[1].period = 0);
	REJECT("profile period", -1, -1,
	       "probe 2: profile needs a period above 0", c->p[2].period = 0);
	REJECT("trace period", -1, -1, "probe 0: period 5 must be 0 for trace",
	       c->p[0].period = 5);
	REJECT("trace_end period", -1, -1,
	       "probe 3: period 1 must be 0 for trace_end", c->p[3].period = 1);
}

static void *fail_alloc(void *ctx, kp_size_t size)
{
	return NULL;
}

static void *arena_alloc(void *ctx, kp_size_t size)
{
	static _Alignas(16) uint8_t arena[1 << 16];
	size_t *used = ctx;
	void *p;

	if (size > sizeof(arena) - *used)
		return NULL;
	p = arena + *used;
	*used += (size + 15) & ~(size_t)15;
	return p;
}

static void check(const char *name, int ok)
{
	cases++;
	if (!ok) {
		failures++;
		printf("FAIL %s\n", name);
	}
}

static void test_valid(void)
{
	struct kp_chunk_view view;
	struct kp_verify_error err;
	struct kp_const k;
	const kp_u8 *p;
	const char *s;
	uint8_t *buf, *scratch;
	size_t len, need, used = 0;
	kp_u32 n;

	ACCEPT("base chunk", (void)c);
	ACCEPT("minimal chunk", c->nglobals = 1; c->nfuncs = 1;
	       c->nprobes = 0; c->f[0].nconsts = 0;
	       CODE(&c->f[0], ABC(RETURN, 0, 1, 0)));

	/* The scratch size vm.h promises is enough; less is -ENOMEM. */
	buf = assemble(chunk(), &len);
	need = KP_VERIFY_SCRATCH(7, 4, 2);
	scratch = malloc(need);
	check("scratch of KP_VERIFY_SCRATCH",
	      !kp_verify_chunk(buf, len, scratch, need, &err));
	check("small scratch",
	      kp_verify_chunk(buf, len, scratch, 100, &err) == -KP_ENOMEM &&
	      strstr(err.reason, "out of memory for function table"));
	check("parse without memory",
	      kp_chunk_parse(buf, len, &view, fail_alloc, NULL, &err) ==
	      -KP_ENOMEM);
	free(scratch);

	/* What the object builder reads from a parsed view. */
	check("parse", !kp_chunk_parse(buf, len, &view, arena_alloc, &used,
				       &err) &&
	      !kp_chunk_verify(&view, &err));
	check("source", view.source_len == 7 &&
	      !memcmp(view.source, "test.kp", 7));
	p = kp_chunk_str(view.globals, &s, &n);
	check("global 0", n == 3 && !memcmp(s, "arg", 3));
	kp_chunk_str(p, &s, &n);
	check("global 1", n == 5 && !memcmp(s, "count", 5));
	p = kp_chunk_const(view.funcs[0].consts, &k);
	check("constant int", k.type == KP_CONST_INT && k.num == 1);
	p = kp_chunk_const(p, &k);
	check("constant str", k.type == KP_CONST_STR && k.len == 1 &&
	      k.str[0] == 'x');
	kp_chunk_const(p, &k);
	check("constant int 2", k.type == KP_CONST_INT && k.num == 10);
	p = kp_chunk_const(view.funcs[3].consts, &k);
	p = kp_chunk_const(p, &k);
	check("constant true", k.type == KP_CONST_TRUE);
	check("function view", view.nfuncs == 7 &&
	      view.funcs[3].ncode == 16 && view.funcs[3].parent == 0 &&
	      view.funcs[4].parent == 3 && view.funcs[4].upvals[3] == 3 &&
	      kp_fview_insn(&view.funcs[0], 39) == ABC(RETURN, 0, 1, 0) &&
	      kp_chunk_u32(view.funcs[0].lines + 4) == 101);
	check("probe view", view.nprobes == 4 &&
	      view.probes[1].period_ns == 1000000000 &&
	      view.probes[0].filter == 2 && view.probes[2].spec_len == 11);
	free(buf);
}

/*
 * The largest tables the limits allow: KP_MAX_GLOBALS names,
 * KP_MAX_FUNCS functions and KP_MAX_PROBES probes must verify within
 * the scratch ktapd hands out, KP_VERIFY_SCRATCH(KP_MAX_FUNCS,
 * KP_MAX_PROBES, KP_MAX_GLOBALS).
 */
/* A chunk with nglobals globals, nfuncs functions and nprobes probes. */
static void limits_chunk(struct wbuf *w, unsigned nglobals, unsigned nfuncs,
			 unsigned nprobes)
{
	struct tfunc f = { .framesize = 1, .name = "f", .ncode = 1,
			   .code = { ABC(RETURN, 0, 1, 0) } };
	char name[16];
	unsigned i;

	w_raw(w, KP_CHUNK_MAGIC, 4);
	w_int(w, KP_CHUNK_VERSION, 2);
	w_int(w, 0, 2);
	w_int(w, 0, 4);
	w_str(w, "limits.kp", 0);
	w_int(w, nglobals, 4);
	w_str(w, "arg", 0);
	for (i = 1; i < nglobals; i++) {
		snprintf(name, sizeof(name), "g%u", i);
		w_str(w, name, 0);
	}
	w_int(w, nfuncs, 4);
	for (i = 0; i < nfuncs; i++) {
		f.parent = i ? 0 : KP_NO_FUNC;
		w_func(w, &f);
	}
	w_int(w, nprobes, 4);
	for (i = 0; i < nprobes; i++) {
		w_int(w, KP_PROBE_TRACE, 1);
		w_int(w, 0, 1);
		w_int(w, 1 + i, 2);
		w_int(w, KP_NO_FUNC, 2);
		w_int(w, i, 2);
		w_int(w, 0, 8);
		w_str(w, "sched:*", 0);
	}
	for (i = 0; i < 4; i++)
		w->p[8 + i] = (uint8_t)(w->len >> (8 * i));
}

static void test_limits(void)
{
	struct wbuf w = { 0 };
	struct kp_verify_error err;
	size_t need;
	void *scratch;
	int ret;

	limits_chunk(&w, KP_MAX_GLOBALS, KP_MAX_FUNCS, KP_MAX_PROBES);
	ret = verify_buf(w.p, w.len, &err);
	if (ret)
		printf("limits: %s\n", err.reason);
	check("every table at its limit", !ret);
	free(w.p);

	/* The globals' name table is the larger part here. */
	w = (struct wbuf){ 0 };
	limits_chunk(&w, KP_MAX_GLOBALS, 1, 0);
	need = KP_VERIFY_SCRATCH(1, 0, KP_MAX_GLOBALS);
	scratch = malloc(need);
	ret = kp_verify_chunk(w.p, w.len, scratch, need, &err);
	if (ret)
		printf("globals: %s\n", err.reason);
	check("all globals in KP_VERIFY_SCRATCH(1, 0, KP_MAX_GLOBALS)", !ret);
	free(scratch);
	free(w.p);
}

/*
 * Every prefix of a valid chunk is refused: as it is (the size field
 * disagrees), and with the size field patched so the walk runs into the
 * missing bytes. Then every single-bit flip must verify or be refused
 * with a reason, and never crash (run under ASan too).
 */
static void test_damage(void)
{
	struct kp_verify_error err;
	uint8_t *buf, *copy;
	size_t len, i;
	int bad = 0, ret, accepted = 0;

	buf = assemble(chunk(), &len);
	copy = malloc(len);
	for (i = 0; i < len; i++) {
		memcpy(copy, buf, i);
		if (!verify_buf(copy, i, &err))
			bad++;
		if (i >= 12) {
			copy[8] = (uint8_t)i;
			copy[9] = (uint8_t)(i >> 8);
			copy[10] = copy[11] = 0;
			if (!verify_buf(copy, i, &err) ||
			    !strstr(err.reason, "truncated chunk"))
				bad++;
		}
	}
	check("every truncation refused", !bad);

	for (i = 0; i < 8 * len; i++) {
		memcpy(copy, buf, len);
		copy[i / 8] ^= (uint8_t)(1u << (i % 8));
		ret = verify_buf(copy, len, &err);
		if (!ret)
			accepted++;
		else if (ret != -KP_EINVAL || !err.reason[0] ||
			 err.func < -1 || err.func >= KP_MAX_FUNCS ||
			 err.pc < -1 || err.pc >= (int)KP_MAX_CODE) {
			printf("bit %zu: %d %d %d %s\n", i, ret, err.func,
			       err.pc, err.reason);
			bad++;
		}
	}
	check("every bit flip verified or refused cleanly", !bad);
	printf("bit flips: %zu, accepted %d\n", 8 * len, accepted);
	free(copy);
	free(buf);
}

/* The valid chunk, for the fuzzers' seed corpus. */
static int write_chunk(const char *path)
{
	size_t len;
	uint8_t *buf = assemble(chunk(), &len);
	FILE *f = fopen(path, "wb");
	int ok = f && fwrite(buf, 1, len, f) == len;

	if (f && fclose(f))
		ok = 0;
	free(buf);
	if (!ok)
		perror(path);
	return !ok;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--write-chunk"))
		return write_chunk(argv[2]);
	test_container();
	test_operands();
	test_rules();
	test_tree();
	test_globals_probes();
	test_valid();
	test_limits();
	test_damage();
	printf("%d cases, %d failures\n", cases, failures);
	return failures != 0;
}
