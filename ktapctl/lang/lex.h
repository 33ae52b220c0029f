/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The lexer: script text to tokens, one token of lookahead, and the raw
 * scans the parser asks for where ktap's syntax is not made of tokens (event
 * lists, timer names, the '/' that closes a filter).
 */
#ifndef KTAP_LANG_LEX_H
#define KTAP_LANG_LEX_H

#include <stddef.h>
#include <stdint.h>

#include "prog.h"

#define KPC_KEYWORDS(X)                                                        \
	X(VAR, "var")                                                          \
	X(FUNCTION, "function")                                                \
	X(IF, "if")                                                            \
	X(ELSE, "else")                                                        \
	X(ELSEIF, "elseif")                                                    \
	X(WHILE, "while")                                                      \
	X(REPEAT, "repeat")                                                    \
	X(UNTIL, "until")                                                      \
	X(FOR, "for")                                                          \
	X(IN, "in")                                                            \
	X(BREAK, "break")                                                      \
	X(RETURN, "return")                                                    \
	X(NIL, "nil")                                                          \
	X(TRUE, "true")                                                        \
	X(FALSE, "false")                                                      \
	X(TRACE, "trace")                                                      \
	X(TRACE_END, "trace_end")

/* Tokens of more than one character (FILTEREND is a filter's closing /). */
#define KPC_SYMBOLS(X)                                                         \
	X(EQ, "==")                                                            \
	X(NE, "!=")                                                            \
	X(LE, "<=")                                                            \
	X(GE, ">=")                                                            \
	X(AND, "&&")                                                           \
	X(OR, "||")                                                            \
	X(CONCAT, "..")                                                        \
	X(ADDEQ, "+=")                                                         \
	X(SUBEQ, "-=")                                                         \
	X(MULEQ, "*=")                                                         \
	X(DIVEQ, "/=")                                                         \
	X(MODEQ, "%=")                                                         \
	X(FILTEREND, "/")

/* Single-character tokens are their own character code. */
enum kpc_tk {
	TK_FIRST = 257,
#define KPC_TK_ENUM(id, text) TK_##id,
	KPC_KEYWORDS(KPC_TK_ENUM) KPC_SYMBOLS(KPC_TK_ENUM)
#undef KPC_TK_ENUM
	TK_NUMBER,
	TK_STRING,
	TK_NAME,
	TK_EVENT, /* an event word: pid, execname, arg0... */
	TK_EOS
};

/* Numbers up to 2^63 are read: that one is valid only after unary minus. */
#define KPC_INT64_MIN_ABS ((uint64_t)1 << 63)

struct kpc_tok {
	int tk;
	int line;
	const char *start; /* the source text, for messages */
	size_t len;
	union {
		uint64_t num; /* TK_NUMBER */
		struct {
			const char *s; /* TK_STRING (decoded), TK_NAME */
			size_t len;
		} str;
		int id; /* TK_EVENT: KP_EV_* */
	} v;
};

struct kpc_funcstate;

struct kpc_lex {
	struct kpc_prog *P;
	const char *src, *p, *end;
	int line; /* line of *p */
	int lastline; /* line of the last token consumed */
	struct kpc_tok t; /* current token */
	struct kpc_tok ahead; /* lookahead, if has_ahead */
	int has_ahead;
	int filter; /* inside a /filter/: 1 + bracket depth; 0 outside */
	char *buf; /* string literal being decoded */
	size_t buflen, bufcap;
	struct kpc_funcstate *fs; /* the parser's current function */
	int nest; /* parser recursion depth */
};

void kpc_lex_init(struct kpc_lex *ls, struct kpc_prog *P, const char *src,
		  size_t len);
void kpc_lex_next(struct kpc_lex *ls);
int kpc_lex_lookahead(struct kpc_lex *ls);

/* "FILE:LINE: msg near 'NEAR'\n" to errf, then leave with -EINVAL. */
void kpc_lex_error_at(struct kpc_lex *ls, int line, const char *near,
		      size_t nearlen, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 5, 6)));
/* The same, at the current token. */
void kpc_lex_error(struct kpc_lex *ls, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 2, 3)));
/* "'x'" for a token code, in messages. */
const char *kpc_lex_token2str(int tk, char *buf, size_t size);

/*
 * Raw scans. Each is called with the current token just read (no
 * lookahead) and leaves the lexer ready for kpc_lex_next().
 *
 * kpc_lex_events: after `trace`, the event list ("spec, spec"), returned
 * joined by commas without blanks (owned by P).
 */
const char *kpc_lex_events(struct kpc_lex *ls, size_t *len);
/*
 * kpc_lex_timer: the current token is the name `tick` or `profile` and
 * kpc_lex_is_timer() said "-N<unit>" follows: it becomes part of the
 * current token (so messages say near 'tick-1s'); returns the period in ns.
 */
int kpc_lex_is_timer(const struct kpc_lex *ls);
uint64_t kpc_lex_timer(struct kpc_lex *ls);
/*
 * kpc_lex_filter: the current token is the '/' that opens a filter; from
 * now on, a '/' outside brackets is TK_FILTEREND and ends filter mode.
 */
void kpc_lex_filter(struct kpc_lex *ls);

#endif /* KTAP_LANG_LEX_H */
