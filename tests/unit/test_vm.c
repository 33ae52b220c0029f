// SPDX-License-Identifier: GPL-2.0
/*
 * The interpreter and the entry points of vm.h on hand-assembled chunks:
 * recursion, closures whose open upvalues survive stack moves, both for
 * loops, traversal with deletion, events and filters, exit(), runtime
 * error positions, the instruction budget, stack overflow, printf,
 * print_hist and the JSON dump.
 */
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#define ARENA (1u << 20)

/* print(fib(25)) with fib(n) = n < 2 ? n : fib(n-1) + fib(n-2). */
static void test_fib(void)
{
	struct ta_chunk c = {
		.nglobals = 2, .globals = { "arg", "fib" },
		.nfuncs = 2,
		.f = {
			{ .name = "main", .framesize = 3, .ncode = 8,
			  .code = { ABX(CLOSURE, 0, 1), ABX(SETGLOBAL, 0, 1),
				    ABX(BUILTIN, 0, KP_BI_PRINT),
				    ABX(GETGLOBAL, 1, 1), ABX(LOADK, 2, 0),
				    ABC(CALL, 1, 2, 0), ABC(CALL, 0, 0, 1),
				    ABC(RETURN, 0, 1, 0) },
			  .nk = 1, .k = { TA_INT(25) } },
			{ .name = "fib", .nparams = 1, .framesize = 4,
			  .ncode = 12,
			  .code = { ABC(LT, 0, 0, K(0)), ASBX(JMP, 0, 1),
				    ABC(RETURN, 0, 2, 0), ABX(GETGLOBAL, 1, 1),
				    ABC(SUB, 2, 0, K(1)), ABC(CALL, 1, 2, 2),
				    ABX(GETGLOBAL, 2, 1), ABC(SUB, 3, 0, K(0)),
				    ABC(CALL, 2, 2, 2), ABC(ADD, 1, 1, 2),
				    ABC(RETURN, 1, 2, 0), ABC(RETURN, 0, 1, 0) },
			  .nk = 2, .k = { TA_INT(2), TA_INT(1) } },
		},
	};
	struct tvm t;

	CHECK(tvm_open(&t, ARENA, 0, 0) == 0);
	CHECK(tvm_load(&t, &c) == 0);
	CHECK(kp_vm_run_main(t.vm) == KP_OK);
	CHECK_OUT(&t, "75025\n");
	tvm_close(&t);
}

/*
 * g(n): x = n * 10; h = function() { return x }; acc = n > 0 ? g(n-1) : 0;
 * return h() + acc. Frames of 200 registers move the stack several times
 * while every h's upvalue is still open.
 */
static void test_upvalues_across_stack_moves(void)
{
	struct ta_chunk c = {
		.nglobals = 2, .globals = { "arg", "g" },
		.nfuncs = 3,
		.f = {
			{ .name = "main", .framesize = 3, .ncode = 8,
			  .code = { ABX(CLOSURE, 0, 1), ABX(SETGLOBAL, 0, 1),
				    ABX(BUILTIN, 0, KP_BI_PRINT),
				    ABX(GETGLOBAL, 1, 1), ABX(LOADK, 2, 0),
				    ABC(CALL, 1, 2, 0), ABC(CALL, 0, 0, 1),
				    ABC(RETURN, 0, 1, 0) },
			  .nk = 1, .k = { TA_INT(40) } },
			{ .name = "g", .nparams = 1, .framesize = 200,
			  .ncode = 12,
			  .code = { ABC(MUL, 1, 0, K(0)), ABX(CLOSURE, 2, 2),
				    ABX(LOADK, 4, 1), ABC(LT, 0, K(1), 0),
				    ASBX(JMP, 0, 3), ABX(GETGLOBAL, 4, 1),
				    ABC(SUB, 5, 0, K(2)), ABC(CALL, 4, 2, 2),
				    ABC(MOVE, 5, 2, 0), ABC(CALL, 5, 1, 2),
				    ABC(ADD, 3, 5, 4), ABC(RETURN, 3, 2, 0) },
			  .nk = 3, .k = { TA_INT(10), TA_INT(0), TA_INT(1) } },
			{ .parent = 1, .name = "h", .framesize = 1, .ncode = 2,
			  .code = { ABC(GETUPVAL, 0, 0, 0),
				    ABC(RETURN, 0, 2, 0) },
			  .nup = 1, .up = { 1, 1 } },
		},
	};
	struct tvm t;

	CHECK(tvm_open(&t, 4u << 20, 0, 0) == 0);
	CHECK(tvm_load(&t, &c) == 0);
	CHECK(kp_vm_run_main(t.vm) == KP_OK);
	CHECK_OUT(&t, "8200\n");
	tvm_close(&t);
}

/*
 * mk() returns a counter closure over its local c (100); a() twice and
 * b() once print 102 and 101: the cells are separate and stay after mk
 * returned.
 */
static void test_counter_closures(void)
{
	struct ta_chunk c = {
		.nglobals = 1, .globals = { "arg" },
		.nfuncs = 3,
		.f = {
			{ .name = "main", .framesize = 8, .ncode = 16,
			  .code = { ABX(CLOSURE, 0, 1), ABC(MOVE, 1, 0, 0),
				    ABC(CALL, 1, 1, 2), ABC(MOVE, 2, 0, 0),
				    ABC(CALL, 2, 1, 2), ABC(MOVE, 3, 1, 0),
				    ABC(CALL, 3, 1, 1), ABC(MOVE, 3, 1, 0),
				    ABC(CALL, 3, 1, 2), ABC(MOVE, 4, 2, 0),
				    ABC(CALL, 4, 1, 2),
				    ABX(BUILTIN, 5, KP_BI_PRINT),
				    ABC(MOVE, 6, 3, 0), ABC(MOVE, 7, 4, 0),
				    ABC(CALL, 5, 3, 1), ABC(RETURN, 0, 1, 0) } },
			{ .name = "mk", .framesize = 2, .ncode = 4,
			  .code = { ABX(LOADK, 0, 0), ABX(CLOSURE, 1, 2),
				    ABC(RETURN, 1, 2, 0), ABC(RETURN, 0, 1, 0) },
			  .nk = 1, .k = { TA_INT(100) } },
			{ .parent = 1, .name = "inc", .framesize = 1,
			  .ncode = 4,
			  .code = { ABC(GETUPVAL, 0, 0, 0),
				    ABC(ADD, 0, 0, K(0)),
				    ABC(SETUPVAL, 0, 0, 0),
				    ABC(RETURN, 0, 2, 0) },
			  .nk = 1, .k = { TA_INT(1) }, .nup = 1,
			  .up = { 1, 0 } },
		},
	};
	struct tvm t;

	CHECK(tvm_open(&t, ARENA, 0, 0) == 0);
	CHECK(tvm_load(&t, &c) == 0);
	CHECK(kp_vm_run_main(t.vm) == KP_OK);
	CHECK_OUT(&t, "102\t101\n");
	tvm_close(&t);
}

/*
 * t = {10, 20, 30}; t.x = 1; t.y = 2; t[100] = 3;
 * for (k, v in pairs(t)) { print(k, v); t[k] = nil }; print(len(t))
 */
static void test_pairs_with_deletion(void)
{
	struct ta_chunk c = {
		.nglobals = 1, .globals = { "arg" },
		.nfuncs = 1,
		.f = {
			{ .name = "main", .framesize = 9, .ncode = 25,
			  .code = { ABC(NEWTABLE, 0, 3, 3), ABX(LOADK, 1, 0),
				    ABX(LOADK, 2, 1), ABX(LOADK, 3, 2),
				    ABC(SETLIST, 0, 3, 1),
				    ABC(SETTABLE, 0, K(3), K(4)),
				    ABC(SETTABLE, 0, K(5), K(6)),
				    ABC(SETTABLE, 0, K(7), K(8)),
				    ABX(BUILTIN, 1, KP_BI_PAIRS),
				    ABC(MOVE, 2, 0, 0), ABC(CALL, 1, 2, 4),
				    ASBX(JMP, 0, 5),
				    ABX(BUILTIN, 6, KP_BI_PRINT),
				    ABC(MOVE, 7, 4, 0), ABC(MOVE, 8, 5, 0),
				    ABC(CALL, 6, 3, 1),
				    ABC(SETTABLE, 0, 4, K(9)),
				    ABC(TFORLOOP, 1, 0, 2), ASBX(JMP, 0, -7),
				    ABX(BUILTIN, 1, KP_BI_PRINT),
				    ABX(BUILTIN, 2, KP_BI_LEN),
				    ABC(MOVE, 3, 0, 0), ABC(CALL, 2, 2, 0),
				    ABC(CALL, 1, 0, 1), ABC(RETURN, 0, 1, 0) },
			  .nk = 10,
			  .k = { TA_INT(10), TA_INT(20), TA_INT(30),
				 TA_STR("x"), TA_INT(1), TA_STR("y"),
				 TA_INT(2), TA_INT(100), TA_INT(3),
				 { KP_CONST_NIL, 0, NULL } } },
		},
	};
	struct tvm t;

	CHECK(tvm_open(&t, ARENA, 0, 0) == 0);
	CHECK(tvm_load(&t, &c) == 0);
	CHECK(kp_vm_run_main(t.vm) == KP_OK);
	CHECK_OUT(&t, "1\t10\n2\t20\n3\t30\nx\t1\ny\t2\n100\t3\n0\n");
	tvm_close(&t);
}

/* for (i, v in iter, 3, 0) { print(i, v) } with a script iterator. */
static void test_tfor_closure_iterator(void)
{
	struct ta_chunk c = {
		.nglobals = 1, .globals = { "arg" },
		.nfuncs = 2,
		.f = {
			{ .name = "main", .framesize = 8, .ncode = 11,
			  .code = { ABX(CLOSURE, 0, 1), ABX(LOADK, 1, 0),
				    ABX(LOADK, 2, 1), ASBX(JMP, 0, 4),
				    ABX(BUILTIN, 5, KP_BI_PRINT),
				    ABC(MOVE, 6, 3, 0), ABC(MOVE, 7, 4, 0),
				    ABC(CALL, 5, 3, 1), ABC(TFORLOOP, 0, 0, 2),
				    ASBX(JMP, 0, -6), ABC(RETURN, 0, 1, 0) },
			  .nk = 2, .k = { TA_INT(3), TA_INT(0) } },
			{ .name = "iter", .nparams = 2, .framesize = 4,
			  .ncode = 6,
			  .code = { ABC(LT, 0, 1, 0), ASBX(JMP, 0, 3),
				    ABC(ADD, 2, 1, K(0)), ABC(MUL, 3, 2, K(1)),
				    ABC(RETURN, 2, 3, 0), ABC(RETURN, 0, 1, 0) },
			  .nk = 2, .k = { TA_INT(1), TA_INT(2) } },
		},
	};
	struct tvm t;

	CHECK(tvm_open(&t, ARENA, 0, 0) == 0);
	CHECK(tvm_load(&t, &c) == 0);
	CHECK(kp_vm_run_main(t.vm) == KP_OK);
	CHECK_OUT(&t, "1\t2\n2\t4\n3\t6\n");
	tvm_close(&t);
}

/* for (i = a, b, s) { n += 1; last = i }; print(n, last), up to the int64 edges. */
static void run_numeric_for(int64_t a, int64_t b, int64_t s, const char *want)
{
	struct ta_chunk c = {
		.nglobals = 1, .globals = { "arg" },
		.nfuncs = 1,
		.f = {
			{ .name = "main", .framesize = 8, .ncode = 13,
			  .code = { ABX(LOADK, 0, 3), ABX(LOADK, 7, 3),
				    ABX(LOADK, 1, 0), ABX(LOADK, 2, 1),
				    ABX(LOADK, 3, 2), ASBX(FORPREP, 1, 2),
				    ABC(ADD, 0, 0, K(4)), ABC(MOVE, 7, 4, 0),
				    ASBX(FORLOOP, 1, -3),
				    ABX(BUILTIN, 5, KP_BI_PRINT),
				    ABC(MOVE, 6, 0, 0), ABC(CALL, 5, 3, 1),
				    ABC(RETURN, 0, 1, 0) },
			  .nk = 5,
			  .k = { TA_INT(a), TA_INT(b), TA_INT(s), TA_INT(0),
				 TA_INT(1) } },
		},
	};
	struct tvm t;

	CHECK(tvm_open(&t, ARENA, 0, 0) == 0);
	CHECK(tvm_load(&t, &c) == 0);
	CHECK(kp_vm_run_main(t.vm) == KP_OK);
	CHECK_OUT(&t, want);
	tvm_close(&t);
}

static void test_numeric_for(void)
{
	run_numeric_for(1, 10, 1, "10\t10\n");
	run_numeric_for(10, 1, -3, "4\t1\n");
	run_numeric_for(5, 1, 1, "0\t0\n");
	run_numeric_for(INT64_MAX - 2, INT64_MAX, 1,
			"3\t9223372036854775807\n");
	run_numeric_for(INT64_MIN + 1, INT64_MIN, -1,
			"2\t-9223372036854775808\n");
	run_numeric_for(INT64_MIN, INT64_MAX, INT64_MAX,
			"3\t9223372036854775806\n");
}

/* A one-function main whose code is given; returns the run's result. */
static int run_code(struct tvm *t, const uint32_t *code, unsigned n,
		    const struct ta_const *k, unsigned nk, uint32_t budget,
		    uint32_t depth)
{
	struct ta_chunk c = {
		.nglobals = 2, .globals = { "arg", "f" },
		.nfuncs = 2,
	};
	int ret;

	c.f[0].name = "main";
	c.f[0].framesize = 10;
	c.f[0].ncode = n;
	memcpy(c.f[0].code, code, n * sizeof(*code));
	c.f[0].nk = nk;
	memcpy(c.f[0].k, k, nk * sizeof(*k));
	/* f(): calls itself forever. */
	c.f[1].name = "f";
	c.f[1].framesize = 2;
	c.f[1].ncode = 3;
	c.f[1].code[0] = ABX(GETGLOBAL, 0, 1);
	c.f[1].code[1] = ABC(CALL, 0, 1, 1);
	c.f[1].code[2] = ABC(RETURN, 0, 1, 0);
	if (tvm_open(t, ARENA, budget, depth) || tvm_load(t, &c))
		return -100;
	ret = kp_vm_run_main(t->vm);
	t->out[t->outlen] = '\0';
	return ret;
}

static void expect_error(const uint32_t *code, unsigned n,
			 const struct ta_const *k, unsigned nk,
			 const char *want)
{
	struct tvm t;

	CHECK(run_code(&t, code, n, k, nk, 1000, 50) == KP_ERROR);
	CHECK_STR(kp_vm_error(t.vm), want);
	CHECK(kp_vm_exited(t.vm));
	/* Nothing runs after an error, trace_end included. */
	CHECK(kp_vm_run_main(t.vm) == KP_ERROR);
	CHECK(kp_vm_run_end(t.vm) == KP_ERROR);
	tvm_close(&t);
}

static void test_errors(void)
{
	static const struct ta_const k[] = {
		TA_INT(7), TA_INT(0), TA_STR("s"), { KP_CONST_NIL, 0, NULL },
		{ KP_CONST_TRUE, 0, NULL },
	};
	const uint32_t div0[] = { ABX(LOADK, 0, 0), ABC(DIV, 1, 0, K(1)),
				  ABC(RETURN, 0, 1, 0) };
	const uint32_t mod0[] = { ABX(LOADK, 0, 0), ABC(MOD, 1, 0, K(1)),
				  ABC(RETURN, 0, 1, 0) };
	const uint32_t callnil[] = { ABX(LOADK, 0, 3), ABX(LOADK, 1, 0),
				     ABC(CALL, 0, 1, 1), ABC(RETURN, 0, 1, 0) };
	const uint32_t idxnil[] = { ABC(GETTABLE, 0, 1, K(0)),
				    ABC(RETURN, 0, 1, 0) };
	const uint32_t arith[] = { ABC(ADD, 0, K(0), K(2)),
				   ABC(RETURN, 0, 1, 0) };
	const uint32_t arith_bool[] = { ABC(SUB, 0, K(3), K(4)),
					ABC(RETURN, 0, 1, 0) };
	const uint32_t cmp[] = { ABC(LT, 0, K(0), K(2)), ASBX(JMP, 0, 0),
				 ABC(RETURN, 0, 1, 0) };
	const uint32_t cat[] = { ABC(NEWTABLE, 0, 0, 0), ABX(LOADK, 1, 2),
				 ABC(CONCAT, 2, 0, 1), ABC(RETURN, 0, 1, 0) };
	const uint32_t nilkey[] = { ABC(NEWTABLE, 0, 0, 0),
				    ABC(SETTABLE, 0, K(3), K(0)),
				    ABC(RETURN, 0, 1, 0) };
	const uint32_t forstep[] = { ABX(LOADK, 0, 0), ABX(LOADK, 1, 0),
				     ABX(LOADK, 2, 1), ASBX(FORPREP, 0, 0),
				     ASBX(FORLOOP, 0, -1),
				     ABC(RETURN, 0, 1, 0) };
	const uint32_t forinit[] = { ABX(LOADK, 0, 2), ABX(LOADK, 1, 0),
				     ABX(LOADK, 2, 1), ASBX(FORPREP, 0, 0),
				     ASBX(FORLOOP, 0, -1),
				     ABC(RETURN, 0, 1, 0) };
	const uint32_t loop[] = { ABC(MOVE, 0, 0, 0), ASBX(JMP, 0, -2),
				  ABC(RETURN, 0, 1, 0) };
	const uint32_t recurse[] = { ABX(CLOSURE, 0, 1), ABX(SETGLOBAL, 0, 1),
				     ABC(CALL, 0, 1, 1), ABC(RETURN, 0, 1, 0) };
	const uint32_t badarg[] = { ABX(BUILTIN, 0, KP_BI_LEN),
				    ABX(LOADK, 1, 0), ABC(CALL, 0, 2, 1),
				    ABC(RETURN, 0, 1, 0) };
	const uint32_t nargs[] = { ABX(BUILTIN, 0, KP_BI_LEN),
				   ABC(CALL, 0, 1, 1), ABC(RETURN, 0, 1, 0) };
	const uint32_t pf[] = { ABX(BUILTIN, 0, KP_BI_PRINTF),
				ABX(LOADK, 1, 0), ABC(CALL, 0, 2, 1),
				ABC(RETURN, 0, 1, 0) };

	expect_error(div0, 3, k, 5, "t.kp:2: divide by zero");
	expect_error(mod0, 3, k, 5, "t.kp:2: divide by zero");
	expect_error(callnil, 4, k, 5, "t.kp:3: attempt to call a nil value");
	expect_error(idxnil, 2, k, 5, "t.kp:1: attempt to index a nil value");
	expect_error(arith, 2, k, 5,
		     "t.kp:1: attempt to perform arithmetic on a string value");
	expect_error(arith_bool, 2, k, 5,
		     "t.kp:1: attempt to perform arithmetic on a boolean value");
	expect_error(cmp, 3, k, 5,
		     "t.kp:1: attempt to compare number with string");
	expect_error(cat, 4, k, 5,
		     "t.kp:3: attempt to concatenate a table value");
	expect_error(nilkey, 3, k, 5, "t.kp:2: table index is nil");
	expect_error(forstep, 6, k, 5, "t.kp:4: 'for' step is zero");
	expect_error(forinit, 6, k, 5,
		     "t.kp:4: 'for' initial value must be a number");
	expect_error(loop, 3, k, 5,
		     "t.kp:2: instruction budget exceeded (1000)");
	expect_error(recurse, 4, k, 5, "t.kp:2: stack overflow");
	expect_error(badarg, 4, k, 5,
		     "t.kp:3: bad argument #1 to 'len' (string or table expected, got number)");
	expect_error(nargs, 3, k, 5,
		     "t.kp:2: wrong number of arguments to 'len'");
	/* printf("s") is fine; printf with %d and no value is not. */
	{
		struct ta_const k2[] = { TA_STR("%d\n") };
		expect_error(pf, 4, k2, 1,
			     "t.kp:3: bad argument #2 to 'printf' (no value)");
	}
}

/* Arithmetic: nil operands give nil, wrap-around, C division. */
static void test_arith(void)
{
	static const struct ta_const k[] = {
		TA_INT(-7), TA_INT(2), { KP_CONST_NIL, 0, NULL },
		TA_INT(INT64_MIN), TA_INT(-1), TA_INT(INT64_MAX),
	};
	const uint32_t code[] = {
		ABX(BUILTIN, 0, KP_BI_PRINT), ABC(DIV, 1, K(0), K(1)),
		ABC(MOD, 2, K(0), K(1)), ABC(ADD, 3, K(2), K(1)),
		ABC(DIV, 4, K(3), K(4)), ABC(ADD, 5, K(5), K(1)),
		ABC(UNM, 6, 3, 0), ABC(MUL, 7, K(5), K(5)),
		ABC(MOD, 8, K(3), K(4)), ABC(CALL, 0, 9, 1),
		ABC(RETURN, 0, 1, 0),
	};
	struct tvm t;

	CHECK(run_code(&t, code, 11, k, 6, 0, 0) == KP_OK);
	CHECK_OUT(&t, "-3\t-1\tnil\t-9223372036854775808\t"
		      "-9223372036854775807\tnil\t1\t0\n");
	tvm_close(&t);
}

/* printf's conversions, flags, widths and precisions. */
static void test_printf(void)
{
	static const struct ta_const k[] = {
		TA_STR("[%5d|%-5d|%05d|%x|%X|%#x|%o|%#o|%c|%s|%.2s|%6s|%-6s|"
		       "%+d|% d|%u|%p|%%|%.3d|%*d|%-*d|%lld|%s|%s]\n"),
		TA_INT(42), TA_INT(-42), TA_INT(255), TA_INT(65),
		TA_STR("hello"), TA_INT(-1), TA_INT(4),
		{ KP_CONST_NIL, 0, NULL }, { KP_CONST_TRUE, 0, NULL },
	};
	uint32_t code[40];
	unsigned n = 0, r = 1;
	/* constants for each directive, in order */
	static const unsigned args[] = { 1, 1, 2, 3, 3, 3, 3, 3, 4, 5, 5, 5,
					 5, 1, 1, 6, 3, 1, 7, 1, 7, 1, 2, 8,
					 9 };
	unsigned j;
	struct tvm t;

	code[n++] = ABX(BUILTIN, 0, KP_BI_PRINTF);
	code[n++] = ABX(LOADK, r++, 0);
	for (j = 0; j < sizeof(args) / sizeof(args[0]); j++)
		code[n++] = ABX(LOADK, r++, args[j]);
	code[n++] = ABC(CALL, 0, r, 1);
	code[n++] = ABC(RETURN, 0, 1, 0);
	{
		struct ta_chunk c = { .nglobals = 1, .globals = { "arg" },
				      .nfuncs = 1 };

		c.f[0].framesize = 40;
		c.f[0].ncode = n;
		memcpy(c.f[0].code, code, n * sizeof(code[0]));
		c.f[0].nk = 10;
		memcpy(c.f[0].k, k, sizeof(k));
		CHECK(tvm_open(&t, ARENA, 0, 0) == 0);
		CHECK(tvm_load(&t, &c) == 0);
		CHECK(kp_vm_run_main(t.vm) == KP_OK);
	}
	CHECK_OUT(&t, "[   42|42   |-0042|ff|FF|0xff|377|0377|A|hello|he| hello|"
		      "hello |+42| 42|18446744073709551615|0xff|%|042|  42|42  |"
		      "-42|nil|true]\n");
	tvm_close(&t);
}

/* print_hist: sorted by count, ties by key text, bars, the cut line. */
static void test_print_hist(void)
{
	struct ta_chunk c = {
		.nglobals = 1, .globals = { "arg" },
		.nfuncs = 1,
		.f = {
			{ .name = "main", .framesize = 4, .ncode = 11,
			  .code = { ABC(NEWTABLE, 0, 0, 4),
				    ABC(SETTABLE, 0, K(0), K(1)),
				    ABC(SETTABLE, 0, K(2), K(3)),
				    ABC(SETTABLE, 0, K(4), K(3)),
				    ABC(SETTABLE, 0, K(5), K(6)),
				    ABC(SETTABLE, 0, K(7), K(0)),
				    ABX(BUILTIN, 1, KP_BI_PRINT_HIST),
				    ABC(MOVE, 2, 0, 0), ABX(LOADK, 3, 8),
				    ABC(CALL, 1, 3, 1), ABC(RETURN, 0, 1, 0) },
			  .nk = 9,
			  .k = { TA_STR("open"), TA_INT(6), TA_STR("read"),
				 TA_INT(2), TA_STR("close"), TA_INT(99),
				 TA_INT(2), TA_STR("skip"), TA_INT(2) } },
		},
	};
	struct tvm t;

	CHECK(tvm_open(&t, ARENA, 0, 0) == 0);
	CHECK(tvm_load(&t, &c) == 0);
	CHECK(kp_vm_run_main(t.vm) == KP_OK);
	CHECK_OUT(&t,
		  "                          value ------------- Distribution ------------- count\n"
		  "                            open |@@@@@@@@@@@@@@@@@@@@                     6\n"
		  "                              99 |@@@@@@                                   2\n"
		  "                             ... |\n");
	tvm_close(&t);
}

/* Probes: filter decides, event words, nil outside a handler, exit(). */
static long ev_str(const struct kp_event *ev, int field, char *buf,
		   kp_size_t size)
{
	const char *s = field == KP_EV_EXECNAME ? "bash" :
			field == KP_EV_PROBENAME ? "sys_enter_open" : NULL;

	if (!s)
		return -1;
	memcpy(buf, s, strlen(s));
	return (long)strlen(s);
}

static void test_probes(void)
{
	struct ta_chunk c = {
		.nglobals = 2, .globals = { "arg", "n" },
		.nfuncs = 4,
		.f = {
			{ .name = "main", .framesize = 3, .ncode = 5,
			  .code = { ABX(BUILTIN, 0, KP_BI_PRINT),
				    ABC(EVENT, 1, KP_EV_PID, 0),
				    ABC(EVENT, 2, KP_EV_EXECNAME, 0),
				    ABC(CALL, 0, 3, 1), ABC(RETURN, 0, 1, 0) } },
			/* filter: pid == 42 */
			{ .name = "filter", .framesize = 2, .ncode = 6,
			  .code = { ABC(EVENT, 0, KP_EV_PID, 0),
				    ABC(EQ, 1, 0, K(0)), ASBX(JMP, 0, 1),
				    ABC(LOADBOOL, 1, 0, 1),
				    ABC(LOADBOOL, 1, 1, 0),
				    ABC(RETURN, 1, 2, 0) },
			  .nk = 1, .k = { TA_INT(42) } },
			/* handler: print(execname, probename, argstr, arg0,
			 * arg2, retval, tid, uid, cpu); n += 1;
			 * if n == 2 exit(5) */
			{ .name = "handler", .framesize = 12, .ncode = 21,
			  .code = { ABX(BUILTIN, 0, KP_BI_PRINT),
				    ABC(EVENT, 1, KP_EV_EXECNAME, 0),
				    ABC(EVENT, 2, KP_EV_PROBENAME, 0),
				    ABC(EVENT, 3, KP_EV_ARGSTR, 0),
				    ABC(EVENT, 4, KP_EV_ARG0, 0),
				    ABC(EVENT, 5, KP_EV_ARG2, 0),
				    ABC(EVENT, 6, KP_EV_RETVAL, 0),
				    ABC(EVENT, 7, KP_EV_TID, 0),
				    ABC(EVENT, 8, KP_EV_UID, 0),
				    ABC(EVENT, 9, KP_EV_CPU, 0),
				    ABC(CALL, 0, 10, 1),
				    ABX(GETGLOBAL, 0, 1), ABC(NILZ, 0, 0, 0),
				    ABC(ADD, 0, 0, K(0)), ABX(SETGLOBAL, 0, 1),
				    ABC(EQ, 0, 0, K(1)), ASBX(JMP, 0, 3),
				    ABX(BUILTIN, 1, KP_BI_EXIT),
				    ABX(LOADK, 2, 2), ABC(CALL, 1, 2, 1),
				    ABC(RETURN, 0, 1, 0) },
			  .nk = 3, .k = { TA_INT(1), TA_INT(2), TA_INT(5) } },
			/* trace_end: print("end", n) */
			{ .name = "end", .framesize = 3, .ncode = 5,
			  .code = { ABX(BUILTIN, 0, KP_BI_PRINT),
				    ABX(LOADK, 1, 0), ABX(GETGLOBAL, 2, 1),
				    ABC(CALL, 0, 3, 1), ABC(RETURN, 0, 1, 0) },
			  .nk = 1, .k = { TA_STR("end") } },
		},
		.nprobes = 2,
		.p = { { KP_PROBE_TRACE, 2, 1, 3, 0, "syscalls:sys_enter_open" },
		       { KP_PROBE_END, 3, 0, 9, 0, "" } },
	};
	struct kp_event ev = { .pid = 42, .tid = 43, .uid = 1000, .cpu = 1,
			       .args = { 257, 1, 2 }, .nargs = 2,
			       .str_field = ev_str };
	struct kp_probe_info info;
	struct tvm t;

	CHECK(tvm_open(&t, ARENA, 0, 0) == 0);
	CHECK(tvm_load(&t, &c) == 0);
	CHECK(kp_vm_nprobes(t.vm) == 2);
	CHECK(kp_vm_probe_info(t.vm, 0, &info) == 0);
	CHECK(info.kind == KP_PROBE_TRACE && info.line == 3);
	CHECK_STR(info.spec, "syscalls:sys_enter_open");
	CHECK(kp_vm_probe_info(t.vm, 2, &info) < 0);
	CHECK(kp_vm_run_main(t.vm) == KP_OK);
	CHECK(kp_vm_run_probe(t.vm, 0, &ev) == KP_OK);
	ev.pid = 7; /* filtered out */
	CHECK(kp_vm_run_probe(t.vm, 0, &ev) == KP_OK);
	ev.pid = 42;
	ev.has_retval = 1;
	ev.retval = -2;
	CHECK(kp_vm_run_probe(t.vm, 0, &ev) == KP_EXITED);
	CHECK(kp_vm_exited(t.vm) && kp_vm_exit_status(t.vm) == 5);
	CHECK(kp_vm_run_probe(t.vm, 0, &ev) == KP_EXITED);
	CHECK(kp_vm_run_end(t.vm) == KP_OK);
	CHECK_STR(kp_vm_error(t.vm), "");
	CHECK_OUT(&t, "nil\tnil\n"
		      "bash\tsys_enter_open\tnil\t257\tnil\tnil\t43\t1000\t1\n"
		      "bash\tsys_enter_open\tnil\t257\tnil\t-2\t43\t1000\t1\n"
		      "end\t2\n");
	tvm_close(&t);
}

/* probename as ev->data says, counting the engine's calls. */
static int name_fetches;

static long ev_name(const struct kp_event *ev, int field, char *buf,
		    kp_size_t size)
{
	const char *s = ev->data;

	if (field != KP_EV_PROBENAME)
		return -1;
	name_fetches++;
	memcpy(buf, s, strlen(s));
	return (long)strlen(s);
}

/*
 * kp_event.name_key: events with the same key reuse the probename string
 * of the first; another key, or none, fetches it again.
 */
static void test_probename_key(void)
{
	struct ta_chunk c = {
		.nglobals = 1, .globals = { "arg" },
		.nfuncs = 2,
		.f = {
			{ .name = "main", .framesize = 1, .ncode = 1,
			  .code = { ABC(RETURN, 0, 1, 0) } },
			/* handler: print(probename, probename) */
			{ .name = "handler", .framesize = 3, .ncode = 5,
			  .code = { ABX(BUILTIN, 0, KP_BI_PRINT),
				    ABC(EVENT, 1, KP_EV_PROBENAME, 0),
				    ABC(EVENT, 2, KP_EV_PROBENAME, 0),
				    ABC(CALL, 0, 3, 1), ABC(RETURN, 0, 1, 0) } },
		},
		.nprobes = 1,
		.p = { { KP_PROBE_TRACE, 1, 0, 1, 0, "a,b" } },
	};
	static const int key_a, key_b;
	struct kp_event ev = { .str_field = ev_name };
	struct {
		const void *key;
		const char *name;
		int fetches; /* after the event */
	} steps[] = {
		{ &key_a, "a", 1 }, { &key_a, "a", 1 }, { &key_b, "b", 2 },
		{ NULL, "c", 3 },   { NULL, "c", 4 },	{ &key_a, "a", 5 },
		{ &key_a, "a", 5 },
	};
	struct tvm t;
	size_t i;

	CHECK(tvm_open(&t, ARENA, 0, 0) == 0);
	CHECK(tvm_load(&t, &c) == 0);
	CHECK(kp_vm_run_main(t.vm) == KP_OK);
	name_fetches = 0;
	for (i = 0; i < KP_ARRAY_SIZE(steps); i++) {
		ev.name_key = steps[i].key;
		ev.data = (void *)steps[i].name;
		CHECK(kp_vm_run_probe(t.vm, 0, &ev) == KP_OK);
		CHECK(name_fetches == steps[i].fetches);
	}
	CHECK_OUT(&t, "a\ta\na\ta\nb\tb\nc\tc\nc\tc\na\ta\na\ta\n");
	tvm_close(&t);
}

/*
 * Counter probes: `n += 5` is one (its runs applied at once, nil as 0,
 * wrapping as ADD), until another trace probe reads n; a global that is
 * not a number fails as the handler does.
 */
static void test_counter_probes(void)
{
	struct ta_chunk c = {
		.nglobals = 3, .globals = { "arg", "n", "other" },
		.nfuncs = 5,
		.f = {
			{ .name = "main", .framesize = 1, .ncode = 1,
			  .code = { ABC(RETURN, 0, 1, 0) } },
			/* n += 5 */
			{ .name = "count", .framesize = 1, .ncode = 5,
			  .code = { ABX(GETGLOBAL, 0, 1), ABC(NILZ, 0, 0, 0),
				    ABC(ADD, 0, 0, K(0)), ABX(SETGLOBAL, 0, 1),
				    ABC(RETURN, 0, 1, 0) },
			  .nk = 1, .k = { TA_INT(5) } },
			/* nothing yet (below: reads n) */
			{ .name = "reader", .framesize = 1, .ncode = 1,
			  .code = { ABC(RETURN, 0, 1, 0) } },
			/* trace_end: print(n) */
			{ .name = "end", .framesize = 2, .ncode = 4,
			  .code = { ABX(BUILTIN, 0, KP_BI_PRINT),
				    ABX(GETGLOBAL, 1, 1), ABC(CALL, 0, 2, 1),
				    ABC(RETURN, 0, 1, 0) } },
			/* n += 1 written as 1 + n, on "other" */
			{ .name = "count2", .framesize = 1, .ncode = 4,
			  .code = { ABX(GETGLOBAL, 0, 2), ABC(ADD, 0, K(0), 0),
				    ABX(SETGLOBAL, 0, 2), ABC(RETURN, 0, 1, 0) },
			  .nk = 1, .k = { TA_INT(1) } },
		},
		.nprobes = 3,
		.p = { { KP_PROBE_TRACE, 1, 0, 1, 0, "a" },
		       { KP_PROBE_END, 3, 0, 2, 0, "" },
		       { KP_PROBE_TRACE, 4, 0, 3, 0, "b" } },
	};
	static const char str[] = "x";
	struct kp_event ev = { .pid = 1 };
	struct tvm t;

	CHECK(tvm_open(&t, ARENA, 0, 0) == 0);
	CHECK(tvm_load(&t, &c) == 0);
	CHECK(kp_vm_probe_counter(t.vm, 0) == 1);
	CHECK(kp_vm_probe_counter(t.vm, 1) == 0); /* trace_end */
	CHECK(kp_vm_probe_counter(t.vm, 2) == 1);
	CHECK(kp_vm_probe_counter(t.vm, 3) == 0);
	CHECK(kp_vm_run_main(t.vm) == KP_OK);
	CHECK(kp_vm_run_counted(t.vm, 0, "a", 1, 3) == KP_OK); /* nil + 15 */
	CHECK(kp_vm_run_probe(t.vm, 0, &ev) == KP_OK); /* + 5 */
	CHECK(kp_vm_run_counted(t.vm, 0, "a", 1, 0) == KP_OK);
	CHECK(kp_vm_run_counted(t.vm, 2, "a", 1, 1) == KP_OK);
	CHECK(kp_vm_run_counted(t.vm, 1, "a", 1, 1) == KP_ERROR); /* not a counter */
	CHECK(kp_vm_run_end(t.vm) == KP_ERROR);
	tvm_close(&t);

	CHECK(tvm_open(&t, ARENA, 0, 0) == 0);
	CHECK(tvm_load(&t, &c) == 0);
	CHECK(kp_vm_run_main(t.vm) == KP_OK);
	CHECK(kp_vm_run_counted(t.vm, 0, "a", 1, 3) == KP_OK);
	CHECK(kp_vm_run_probe(t.vm, 0, &ev) == KP_OK);
	CHECK(kp_vm_run_end(t.vm) == KP_OK);
	CHECK_OUT(&t, "20\n");
	tvm_close(&t);

	/* Other code reading n (here a function no probe calls yet): the
	 * counter of n is no longer one; that of other still is. */
	c.f[2] = (struct ta_func){ .name = "reader", .framesize = 1,
				   .ncode = 2,
				   .code = { ABX(GETGLOBAL, 0, 1),
					     ABC(RETURN, 0, 1, 0) } };
	CHECK(tvm_open(&t, ARENA, 0, 0) == 0);
	CHECK(tvm_load(&t, &c) == 0);
	CHECK(kp_vm_probe_counter(t.vm, 0) == 0);
	CHECK(kp_vm_probe_counter(t.vm, 2) == 1);
	tvm_close(&t);

	/* n = "x" first: counting fails as n + 5 does. */
	c.f[2] = (struct ta_func){ .name = "reader", .framesize = 1,
				   .ncode = 1, .code = { ABC(RETURN, 0, 1, 0) } };
	c.f[0] = (struct ta_func){ .name = "main", .framesize = 1, .ncode = 3,
				   .code = { ABX(LOADK, 0, 0),
					     ABX(SETGLOBAL, 0, 1),
					     ABC(RETURN, 0, 1, 0) },
				   .nk = 1, .k = { TA_STR(str) } };
	CHECK(tvm_open(&t, ARENA, 0, 0) == 0);
	CHECK(tvm_load(&t, &c) == 0);
	CHECK(kp_vm_probe_counter(t.vm, 0) == 1);
	CHECK(kp_vm_run_main(t.vm) == KP_OK);
	CHECK(kp_vm_run_counted(t.vm, 0, "a", 1, 2) == KP_ERROR);
	CHECK(strstr(kp_vm_error(t.vm), "arithmetic") != NULL);
	tvm_close(&t);
}

/* The keyed form, s[probename] += 2, as ktapctl compiles it. */
static void test_counter_keyed(void)
{
	struct ta_chunk c = {
		.nglobals = 2, .globals = { "arg", "s" },
		.nfuncs = 3,
		.f = {
			{ .name = "main", .framesize = 1, .ncode = 3,
			  .code = { ABC(NEWTABLE, 0, 0, 0), ABX(SETGLOBAL, 0, 1),
				    ABC(RETURN, 0, 1, 0) } },
			{ .name = "count", .framesize = 3, .ncode = 7,
			  .code = { ABX(GETGLOBAL, 0, 1),
				    ABC(EVENT, 1, KP_EV_PROBENAME, 0),
				    ABC(GETTABLE, 2, 0, 1), ABC(NILZ, 2, 0, 0),
				    ABC(ADD, 2, 2, K(0)), ABC(SETTABLE, 0, 1, 2),
				    ABC(RETURN, 0, 1, 0) },
			  .nk = 1, .k = { TA_INT(2) } },
			/* trace_end: print(s["a"], s["b"]) */
			{ .name = "end", .framesize = 4, .ncode = 6,
			  .code = { ABX(BUILTIN, 0, KP_BI_PRINT),
				    ABX(GETGLOBAL, 3, 1),
				    ABC(GETTABLE, 1, 3, K(0)),
				    ABC(GETTABLE, 2, 3, K(1)), ABC(CALL, 0, 3, 1),
				    ABC(RETURN, 0, 1, 0) },
			  .nk = 2, .k = { TA_STR("a"), TA_STR("b") } },
		},
		.nprobes = 2,
		.p = { { KP_PROBE_TRACE, 1, 0, 1, 0, "a,b" },
		       { KP_PROBE_END, 2, 0, 2, 0, "" } },
	};
	struct kp_event ev = { .str_field = ev_name, .data = (void *)"b" };
	struct tvm t;

	CHECK(tvm_open(&t, ARENA, 0, 0) == 0);
	CHECK(tvm_load(&t, &c) == 0);
	CHECK(kp_vm_probe_counter(t.vm, 0) == 1);
	CHECK(kp_vm_run_main(t.vm) == KP_OK);
	CHECK(kp_vm_run_counted(t.vm, 0, "a", 1, 3) == KP_OK);
	CHECK(kp_vm_run_probe(t.vm, 0, &ev) == KP_OK);
	CHECK(kp_vm_run_counted(t.vm, 0, "b", 1, 2) == KP_OK);
	CHECK(kp_vm_run_end(t.vm) == KP_OK);
	CHECK_OUT(&t, "6\t6\n");
	tvm_close(&t);

	/* n += 1; s[probename] += 2: both statements, all or nothing. */
	c.nglobals = 3;
	c.globals[2] = "n";
	c.f[1] = (struct ta_func){
		.name = "count", .framesize = 3, .ncode = 11,
		.code = { ABX(GETGLOBAL, 0, 2), ABC(NILZ, 0, 0, 0),
			  ABC(ADD, 0, 0, K(1)), ABX(SETGLOBAL, 0, 2),
			  ABX(GETGLOBAL, 0, 1),
			  ABC(EVENT, 1, KP_EV_PROBENAME, 0),
			  ABC(GETTABLE, 2, 0, 1), ABC(NILZ, 2, 0, 0),
			  ABC(ADD, 2, 2, K(0)), ABC(SETTABLE, 0, 1, 2),
			  ABC(RETURN, 0, 1, 0) },
		.nk = 2, .k = { TA_INT(2), TA_INT(1) } };
	c.f[2].code[3] = ABX(GETGLOBAL, 2, 2); /* print(s["a"], n) */
	CHECK(tvm_open(&t, ARENA, 0, 0) == 0);
	CHECK(tvm_load(&t, &c) == 0);
	CHECK(kp_vm_probe_counter(t.vm, 0) == 1);
	CHECK(kp_vm_run_main(t.vm) == KP_OK);
	CHECK(kp_vm_run_counted(t.vm, 0, "a", 1, 3) == KP_OK);
	CHECK(kp_vm_run_probe(t.vm, 0, &ev) == KP_OK);
	CHECK(kp_vm_run_end(t.vm) == KP_OK);
	CHECK_OUT(&t, "6\t4\n");
	tvm_close(&t);

	/* A third statement that is not an add: not a counter. */
	c.f[1].code[10] = ABX(SETGLOBAL, 0, 2);
	c.f[1].code[11] = ABC(RETURN, 0, 1, 0);
	c.f[1].ncode = 12;
	CHECK(tvm_open(&t, ARENA, 0, 0) == 0);
	CHECK(tvm_load(&t, &c) == 0);
	CHECK(kp_vm_probe_counter(t.vm, 0) == 0);
	tvm_close(&t);
	c.f[1].code[10] = ABC(RETURN, 0, 1, 0);
	c.f[1].ncode = 11;

	/* s is not a table: the handler runs, and fails as it does. */
	c.f[0].code[0] = ABX(LOADK, 0, 0);
	c.f[0].nk = 1;
	c.f[0].k[0] = (struct ta_const)TA_INT(7);
	CHECK(tvm_open(&t, ARENA, 0, 0) == 0);
	CHECK(tvm_load(&t, &c) == 0);
	CHECK(kp_vm_run_main(t.vm) == KP_OK);
	CHECK(kp_vm_run_counted(t.vm, 0, "a", 1, 3) == KP_ERROR);
	CHECK(strstr(kp_vm_error(t.vm), "index a number") != NULL);
	CHECK(kp_vm_run_end(t.vm) == KP_ERROR);
	tvm_close(&t);
}

/* exit() in main: the rest of main does not run; trace_end does. */
static void test_exit_in_main(void)
{
	struct ta_chunk c = {
		.nglobals = 1, .globals = { "arg" },
		.nfuncs = 2,
		.f = {
			{ .name = "main", .framesize = 2, .ncode = 6,
			  .code = { ABX(BUILTIN, 0, KP_BI_EXIT),
				    ABC(CALL, 0, 1, 1),
				    ABX(BUILTIN, 0, KP_BI_PRINT),
				    ABX(LOADK, 1, 0), ABC(CALL, 0, 2, 1),
				    ABC(RETURN, 0, 1, 0) },
			  .nk = 1, .k = { TA_STR("not reached") } },
			{ .name = "end", .framesize = 2, .ncode = 4,
			  .code = { ABX(BUILTIN, 0, KP_BI_PRINT),
				    ABX(LOADK, 1, 0), ABC(CALL, 0, 2, 1),
				    ABC(RETURN, 0, 1, 0) },
			  .nk = 1, .k = { TA_STR("end") } },
		},
		.nprobes = 1,
		.p = { { KP_PROBE_END, 1, 0, 2, 0, "" } },
	};
	struct tvm t;

	CHECK(tvm_open(&t, ARENA, 0, 0) == 0);
	CHECK(tvm_load(&t, &c) == 0);
	CHECK(kp_vm_run_main(t.vm) == KP_EXITED);
	CHECK(kp_vm_exit_status(t.vm) == 0);
	CHECK(kp_vm_run_end(t.vm) == KP_OK);
	CHECK_OUT(&t, "end\n");
	tvm_close(&t);
}

static char dumped[4096];

static void dump_emit(void *ctx, const char *name, const char *json,
		      kp_size_t len)
{
	size_t n = strlen(dumped);

	snprintf(dumped + n, sizeof(dumped) - n, "%s=%.*s\n", name, (int)len,
		 json);
}

/* Globals as JSON, declaration order, nesting, escapes, self-reference. */
static void test_dump(void)
{
	struct ta_chunk c = {
		.nglobals = 5, .globals = { "arg", "t", "s", "f", "u" },
		.nfuncs = 1,
		.f = {
			{ .name = "main", .framesize = 3, .ncode = 13,
			  .code = { ABC(NEWTABLE, 0, 0, 0),
				    ABC(SETTABLE, 0, K(0), K(1)),
				    ABC(NEWTABLE, 1, 0, 0),
				    ABC(SETTABLE, 1, K(2), K(3)),
				    ABC(SETTABLE, 0, K(4), 1),
				    ABC(SETTABLE, 1, K(5), 0),
				    ABC(SETTABLE, 0, K(6), K(7)),
				    ABX(SETGLOBAL, 0, 1), ABX(LOADK, 2, 8),
				    ABX(SETGLOBAL, 2, 2),
				    ABX(BUILTIN, 2, KP_BI_PRINT),
				    ABX(SETGLOBAL, 2, 3),
				    ABC(RETURN, 0, 1, 0) },
			  .nk = 9,
			  .k = { TA_STR("a"), TA_INT(1), TA_INT(7),
				 { KP_CONST_TRUE, 0, NULL }, TA_STR("sub"),
				 TA_STR("up"), TA_INT(3),
				 TA_STR("q\"\\\n\x01\xc3\xa9\xff"),
				 TA_STR("x") } },
		},
	};
	struct kp_vm *vm;
	struct tvm t;

	CHECK(tvm_open(&t, ARENA, 0, 0) == 0);
	CHECK(tvm_load(&t, &c) == 0);
	vm = t.vm;
	CHECK(kp_vm_set_args(vm, 3, (const char *const[]){ "t.kp", "0x10",
							     "text" }) == 0);
	CHECK(kp_vm_run_main(vm) == KP_OK);
	dumped[0] = '\0';
	CHECK(kp_vm_dump_json(vm, dump_emit, NULL) == 0);
	/* The cycle back to t prints as t's text: its arena offset. */
	CHECK(!strncmp(dumped,
		       "arg={\"1\":16,\"2\":\"text\",\"0\":\"t.kp\"}\n"
		       "t={\"a\":1,\"sub\":{\"7\":true,\"up\":\"table: 0x",
		       strlen("arg={\"1\":16,\"2\":\"text\",\"0\":\"t.kp\"}\n"
			      "t={\"a\":1,\"sub\":{\"7\":true,\"up\":\"table: 0x")));
	CHECK(strstr(dumped, "\"},\"3\":\"q\\\"\\\\\\n\\u0001\xc3\xa9\\u00ff\"}\n"
			     "s=\"x\"\nf=\"function\"\nu=null\n") != NULL);
	tvm_close(&t);
}

int main(void)
{
	test_fib();
	test_upvalues_across_stack_moves();
	test_counter_closures();
	test_pairs_with_deletion();
	test_tfor_closure_iterator();
	test_numeric_for();
	test_errors();
	test_arith();
	test_printf();
	test_print_hist();
	test_probes();
	test_probename_key();
	test_counter_probes();
	test_counter_keyed();
	test_exit_in_main();
	test_dump();
	return unit_done("vm");
}
