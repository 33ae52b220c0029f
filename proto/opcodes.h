/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The ktap instruction set, written once. The disassembler's names, the
 * verifier's operand kinds and the interpreter's dispatch table are all
 * expanded from KP_OPCODES below. No includes: this header is shared by the
 * compiler, ktapd, the unit tests and the kernel module.
 *
 * Instruction word (32 bits, little-endian in the chunk, Lua 5.1 layout):
 *
 *   bits  0..5   op   (6 bits, up to 64 opcodes)
 *   bits  6..13  A    (8 bits)
 *   bits 14..22  C    (9 bits)
 *   bits 23..31  B    (9 bits)
 *   bits 14..31  Bx   (18 bits, unsigned)          = (C | B << 9)
 *                sBx  (18 bits, signed, biased)    = Bx - KP_SBX_BIAS
 *
 * RK(x): if x & KP_RK_CONST, constant number (x & 0xff), else register x.
 * R(x) is register x of the current frame, K(x) constant x of the current
 * function, U(x) its upvalue x, G(x) global slot x of the chunk.
 *
 * Operand kinds (used by the verifier):
 *   KP_OPK_NONE  unused, must be 0
 *   KP_OPK_R     register, < frame size
 *   KP_OPK_RK    register (< frame size) or constant (< number of constants)
 *   KP_OPK_K     constant index (Bx form), < number of constants
 *   KP_OPK_U     upvalue index, < number of upvalues of the function
 *   KP_OPK_G     global slot, < number of globals in the chunk
 *   KP_OPK_J     signed jump offset: pc + 1 + sBx must be inside the code
 *   KP_OPK_P     function index (Bx form): a child of the current function
 *   KP_OPK_BI    built-in id, < KP_BI__COUNT
 *   KP_OPK_EV    event field id, < KP_EV__COUNT
 *   KP_OPK_N     plain number (counts, flags); range checked per opcode
 *
 * Register windows that span several registers (CALL, RETURN, LOADNIL,
 * CONCAT, SETLIST, FORPREP/FORLOOP, TFORLOOP, NEWTABLE sizes) get extra
 * checks in the verifier, named per opcode there.
 */
#ifndef KTAP_PROTO_OPCODES_H
#define KTAP_PROTO_OPCODES_H

#define KP_SIZE_OP 6
#define KP_SIZE_A 8
#define KP_SIZE_B 9
#define KP_SIZE_C 9
#define KP_SIZE_BX (KP_SIZE_B + KP_SIZE_C)
#define KP_POS_OP 0
#define KP_POS_A (KP_POS_OP + KP_SIZE_OP)
#define KP_POS_C (KP_POS_A + KP_SIZE_A)
#define KP_POS_B (KP_POS_C + KP_SIZE_C)
#define KP_POS_BX KP_POS_C

#define KP_MAXARG_A ((1u << KP_SIZE_A) - 1)
#define KP_MAXARG_B ((1u << KP_SIZE_B) - 1)
#define KP_MAXARG_C ((1u << KP_SIZE_C) - 1)
#define KP_MAXARG_BX ((1u << KP_SIZE_BX) - 1)
#define KP_SBX_BIAS ((int)(KP_MAXARG_BX >> 1))
#define KP_RK_CONST 0x100u /* bit 8 of B or C: a constant, not a register */
#define KP_MAX_RK_CONST 0xffu /* highest constant index reachable through RK */

#define KP_GET_OP(i) ((unsigned)((i) >> KP_POS_OP) & ((1u << KP_SIZE_OP) - 1))
#define KP_GET_A(i) ((unsigned)((i) >> KP_POS_A) & KP_MAXARG_A)
#define KP_GET_B(i) ((unsigned)((i) >> KP_POS_B) & KP_MAXARG_B)
#define KP_GET_C(i) ((unsigned)((i) >> KP_POS_C) & KP_MAXARG_C)
#define KP_GET_BX(i) ((unsigned)((i) >> KP_POS_BX) & KP_MAXARG_BX)
#define KP_GET_SBX(i) ((int)KP_GET_BX(i) - KP_SBX_BIAS)

#define KP_MK_ABC(op, a, b, c)                                                 \
	(((unsigned)(op) << KP_POS_OP) | ((unsigned)(a) << KP_POS_A) |         \
	 ((unsigned)(b) << KP_POS_B) | ((unsigned)(c) << KP_POS_C))
#define KP_MK_ABX(op, a, bx)                                                   \
	(((unsigned)(op) << KP_POS_OP) | ((unsigned)(a) << KP_POS_A) |         \
	 ((unsigned)(bx) << KP_POS_BX))
#define KP_MK_ASBX(op, a, sbx) KP_MK_ABX(op, a, (unsigned)((sbx) + KP_SBX_BIAS))

/* Instruction formats. */
#define KP_FMT_ABC 0
#define KP_FMT_ABX 1
#define KP_FMT_ASBX 2

/* Operand kinds, see the comment at the top. */
#define KP_OPK_NONE 0
#define KP_OPK_R 1
#define KP_OPK_RK 2
#define KP_OPK_K 3
#define KP_OPK_U 4
#define KP_OPK_G 5
#define KP_OPK_J 6
#define KP_OPK_P 7
#define KP_OPK_BI 8
#define KP_OPK_EV 9
#define KP_OPK_N 10

/*
 * X(NAME, FORMAT, kind of A, kind of B (or Bx/sBx), kind of C, semantics)
 *
 * Arithmetic (ADD..MOD, UNM): int64 with wrap-around; a nil operand yields
 * nil; a string, table, boolean or function operand is a runtime error; DIV
 * and MOD by zero are runtime errors. DIV truncates toward zero and MOD takes
 * the sign of the dividend (C semantics), INT64_MIN / -1 wraps.
 * Comparisons: EQ compares any two values (different types are unequal,
 * strings by content, tables and functions by identity); LT/LE order two
 * numbers or two strings (bytewise), anything else is a runtime error.
 */
#define KP_OPCODES(X)                                                          \
	X(MOVE, KP_FMT_ABC, KP_OPK_R, KP_OPK_R, KP_OPK_NONE,                    \
	  "R(A) := R(B)")                                                      \
	X(LOADK, KP_FMT_ABX, KP_OPK_R, KP_OPK_K, KP_OPK_NONE,                   \
	  "R(A) := K(Bx)")                                                     \
	X(LOADBOOL, KP_FMT_ABC, KP_OPK_R, KP_OPK_N, KP_OPK_N,                   \
	  "R(A) := (B != 0); if (C) pc++   (B, C are 0 or 1)")                 \
	X(LOADNIL, KP_FMT_ABC, KP_OPK_R, KP_OPK_N, KP_OPK_NONE,                 \
	  "R(A), ..., R(A+B) := nil")                                          \
	X(GETUPVAL, KP_FMT_ABC, KP_OPK_R, KP_OPK_U, KP_OPK_NONE,                \
	  "R(A) := U(B)")                                                      \
	X(SETUPVAL, KP_FMT_ABC, KP_OPK_R, KP_OPK_U, KP_OPK_NONE,                \
	  "U(B) := R(A)")                                                      \
	X(GETGLOBAL, KP_FMT_ABX, KP_OPK_R, KP_OPK_G, KP_OPK_NONE,               \
	  "R(A) := G(Bx)")                                                     \
	X(SETGLOBAL, KP_FMT_ABX, KP_OPK_R, KP_OPK_G, KP_OPK_NONE,               \
	  "G(Bx) := R(A)")                                                     \
	X(GETTABLE, KP_FMT_ABC, KP_OPK_R, KP_OPK_R, KP_OPK_RK,                  \
	  "R(A) := R(B)[RK(C)]   (R(B) must be a table; missing key gives nil)") \
	X(SETTABLE, KP_FMT_ABC, KP_OPK_R, KP_OPK_RK, KP_OPK_RK,                 \
	  "R(A)[RK(B)] := RK(C)   (nil value deletes; nil key is an error)")   \
	X(NEWTABLE, KP_FMT_ABC, KP_OPK_R, KP_OPK_N, KP_OPK_N,                   \
	  "R(A) := {} with room for B array and C hash entries (hints)")      \
	X(ADD, KP_FMT_ABC, KP_OPK_R, KP_OPK_RK, KP_OPK_RK,                      \
	  "R(A) := RK(B) + RK(C)")                                             \
	X(SUB, KP_FMT_ABC, KP_OPK_R, KP_OPK_RK, KP_OPK_RK,                      \
	  "R(A) := RK(B) - RK(C)")                                             \
	X(MUL, KP_FMT_ABC, KP_OPK_R, KP_OPK_RK, KP_OPK_RK,                      \
	  "R(A) := RK(B) * RK(C)")                                             \
	X(DIV, KP_FMT_ABC, KP_OPK_R, KP_OPK_RK, KP_OPK_RK,                      \
	  "R(A) := RK(B) / RK(C)")                                             \
	X(MOD, KP_FMT_ABC, KP_OPK_R, KP_OPK_RK, KP_OPK_RK,                      \
	  "R(A) := RK(B) % RK(C)")                                             \
	X(UNM, KP_FMT_ABC, KP_OPK_R, KP_OPK_R, KP_OPK_NONE,                     \
	  "R(A) := -R(B)")                                                     \
	X(NOT, KP_FMT_ABC, KP_OPK_R, KP_OPK_R, KP_OPK_NONE,                     \
	  "R(A) := !R(B)   (true if R(B) is nil or false)")                    \
	X(LEN, KP_FMT_ABC, KP_OPK_R, KP_OPK_R, KP_OPK_NONE,                     \
	  "R(A) := length of string or table R(B) (table: entry count)")       \
	X(CONCAT, KP_FMT_ABC, KP_OPK_R, KP_OPK_R, KP_OPK_R,                     \
	  "R(A) := R(B) .. ... .. R(C)   (B <= C; numbers become decimal)")    \
	X(NILZ, KP_FMT_ABC, KP_OPK_R, KP_OPK_NONE, KP_OPK_NONE,                 \
	  "if R(A) is nil then R(A) := 0   (compound assignment)")             \
	X(JMP, KP_FMT_ASBX, KP_OPK_NONE, KP_OPK_J, KP_OPK_NONE,                 \
	  "pc += sBx")                                                         \
	X(EQ, KP_FMT_ABC, KP_OPK_N, KP_OPK_RK, KP_OPK_RK,                       \
	  "if ((RK(B) == RK(C)) != A) pc++   (A is 0 or 1)")                   \
	X(LT, KP_FMT_ABC, KP_OPK_N, KP_OPK_RK, KP_OPK_RK,                       \
	  "if ((RK(B) < RK(C)) != A) pc++")                                    \
	X(LE, KP_FMT_ABC, KP_OPK_N, KP_OPK_RK, KP_OPK_RK,                       \
	  "if ((RK(B) <= RK(C)) != A) pc++")                                   \
	X(TEST, KP_FMT_ABC, KP_OPK_R, KP_OPK_NONE, KP_OPK_N,                    \
	  "if (truth(R(A)) != C) pc++")                                        \
	X(TESTSET, KP_FMT_ABC, KP_OPK_R, KP_OPK_R, KP_OPK_N,                    \
	  "if (truth(R(B)) == C) R(A) := R(B) else pc++")                      \
	X(CALL, KP_FMT_ABC, KP_OPK_R, KP_OPK_N, KP_OPK_N,                       \
	  "R(A), ..., R(A+C-2) := R(A)(R(A+1), ..., R(A+B-1));"                \
	  " B = 0: arguments up to top; C = 0: all results, sets top")         \
	X(TAILCALL, KP_FMT_ABC, KP_OPK_R, KP_OPK_N, KP_OPK_NONE,                \
	  "return R(A)(R(A+1), ..., R(A+B-1))   (B = 0: up to top)")           \
	X(RETURN, KP_FMT_ABC, KP_OPK_R, KP_OPK_N, KP_OPK_NONE,                  \
	  "return R(A), ..., R(A+B-2)   (B = 0: up to top)")                   \
	X(FORPREP, KP_FMT_ASBX, KP_OPK_R, KP_OPK_J, KP_OPK_NONE,                \
	  "R(A) -= R(A+2); pc += sBx   (R(A..A+2) must be numbers, step != 0)") \
	X(FORLOOP, KP_FMT_ASBX, KP_OPK_R, KP_OPK_J, KP_OPK_NONE,                \
	  "R(A) += R(A+2); if (step > 0 ? R(A) <= R(A+1) : R(A) >= R(A+1))"    \
	  " { pc += sBx; R(A+3) := R(A) }")                                    \
	X(TFORLOOP, KP_FMT_ABC, KP_OPK_R, KP_OPK_NONE, KP_OPK_N,                \
	  "R(A+3), ..., R(A+2+C) := R(A)(R(A+1), R(A+2));"                     \
	  " if R(A+3) != nil then R(A+2) := R(A+3) else pc++   (C >= 1)")      \
	X(SETLIST, KP_FMT_ABC, KP_OPK_R, KP_OPK_N, KP_OPK_N,                    \
	  "R(A)[(C-1)*KP_FIELDS_PER_FLUSH + i] := R(A+i), 1 <= i <= B;"        \
	  " B = 0: up to top; C >= 1")                                         \
	X(CLOSE, KP_FMT_ABC, KP_OPK_R, KP_OPK_NONE, KP_OPK_NONE,                \
	  "close all open upvalues >= R(A)")                                   \
	X(CLOSURE, KP_FMT_ABX, KP_OPK_R, KP_OPK_P, KP_OPK_NONE,                 \
	  "R(A) := closure of function Bx, capturing its upvalue descriptors") \
	X(BUILTIN, KP_FMT_ABX, KP_OPK_R, KP_OPK_BI, KP_OPK_NONE,                \
	  "R(A) := built-in function Bx")                                      \
	X(EVENT, KP_FMT_ABC, KP_OPK_R, KP_OPK_EV, KP_OPK_NONE,                  \
	  "R(A) := event context field B (nil outside a probe handler)")

enum kp_opcode {
#define KP_OP_ENUM(name, fmt, a, b, c, doc) KP_OP_##name,
	KP_OPCODES(KP_OP_ENUM)
#undef KP_OP_ENUM
	KP_OP__COUNT
};

/* SETLIST flushes array items of a table constructor in blocks of this many. */
#define KP_FIELDS_PER_FLUSH 50

/*
 * Built-in functions: X(ID, "name as written in scripts", min args, max args
 * (-1: any number)). Ids are part of the bytecode ABI: append only.
 */
#define KP_BUILTINS(X)                                                         \
	X(PRINT, "print", 0, -1)                                               \
	X(PRINTF, "printf", 1, -1)                                             \
	X(LEN, "len", 1, 1)                                                    \
	X(PAIRS, "pairs", 1, 1)                                                \
	X(NEXT, "next", 1, 2)                                                  \
	X(DELETE, "delete", 1, 1)                                              \
	X(EXIT, "exit", 0, 1)                                                  \
	X(PRINT_HIST, "print_hist", 1, 2)                                      \
	X(TABLE_NEW, "table.new", 0, 2)                                        \
	X(GETTIMEOFDAY_S, "gettimeofday_s", 0, 0)                              \
	X(GETTIMEOFDAY_MS, "gettimeofday_ms", 0, 0)                            \
	X(GETTIMEOFDAY_US, "gettimeofday_us", 0, 0)                            \
	X(GETTIMEOFDAY_NS, "gettimeofday_ns", 0, 0)                            \
	X(NUM_CPUS, "num_cpus", 0, 0)                                          \
	X(ARCH, "arch", 0, 0)                                                  \
	X(KERNEL_V, "kernel_v", 0, 0)                                          \
	X(STACK, "stack", 0, 2)                                                \
	X(USTACK, "ustack", 0, 2)                                              \
	X(USER_STRING, "user_string", 1, 1)                                    \
	X(KERNEL_STRING, "kernel_string", 1, 1)                                \
	X(TOSTRING, "tostring", 1, 1)                                          \
	X(TONUMBER, "tonumber", 1, 1)

enum kp_builtin {
#define KP_BI_ENUM(id, name, min, max) KP_BI_##id,
	KP_BUILTINS(KP_BI_ENUM)
#undef KP_BI_ENUM
	KP_BI__COUNT
};

/*
 * Event context words: X(ID, "keyword"). ARG0..ARG9 are consecutive. Ids are
 * part of the bytecode ABI: append only.
 */
#define KP_EVENT_FIELDS(X)                                                     \
	X(PID, "pid")                                                          \
	X(TID, "tid")                                                          \
	X(UID, "uid")                                                          \
	X(CPU, "cpu")                                                          \
	X(EXECNAME, "execname")                                                \
	X(PROBENAME, "probename")                                              \
	X(ARGSTR, "argstr")                                                    \
	X(RETVAL, "retval")                                                    \
	X(ARG0, "arg0")                                                        \
	X(ARG1, "arg1")                                                        \
	X(ARG2, "arg2")                                                        \
	X(ARG3, "arg3")                                                        \
	X(ARG4, "arg4")                                                        \
	X(ARG5, "arg5")                                                        \
	X(ARG6, "arg6")                                                        \
	X(ARG7, "arg7")                                                        \
	X(ARG8, "arg8")                                                        \
	X(ARG9, "arg9")

enum kp_event_field {
#define KP_EV_ENUM(id, name) KP_EV_##id,
	KP_EVENT_FIELDS(KP_EV_ENUM)
#undef KP_EV_ENUM
	KP_EV__COUNT
};

#endif /* KTAP_PROTO_OPCODES_H */
