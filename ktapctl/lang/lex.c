// SPDX-License-Identifier: GPL-2.0
/*
 * The lexer (after Lua's llex.c). Tokens point back into the source text
 * so that every message can quote what was written; string literals are
 * decoded into memory owned by the program.
 */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "chunk.h"
#include "lex.h"
#include "opcodes.h"

static const char *const keywords[] = {
#define KPC_TK_TEXT(id, text) text,
	KPC_KEYWORDS(KPC_TK_TEXT) KPC_SYMBOLS(KPC_TK_TEXT)
#undef KPC_TK_TEXT
};

static const char *const event_words[] = {
#define KPC_EV_TEXT(id, text) text,
	KP_EVENT_FIELDS(KPC_EV_TEXT)
#undef KPC_EV_TEXT
};

#define NKEYWORDS (TK_TRACE_END - TK_FIRST)
#define NEVENTS ((int)(sizeof(event_words) / sizeof(event_words[0])))
/* Longest text quoted after "near": messages stay one short line. */
#define NEAR_MAX 60

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_alnum(int c)
{
	return is_alpha(c) || is_digit(c);
}

static int hex_value(int c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

const char *kpc_lex_token2str(int tk, char *buf, size_t size)
{
	if (tk < TK_FIRST)
		snprintf(buf, size, "'%c'", tk);
	else if (tk < TK_NUMBER)
		snprintf(buf, size, "'%s'", keywords[tk - TK_FIRST - 1]);
	else if (tk == TK_NUMBER)
		snprintf(buf, size, "<number>");
	else if (tk == TK_STRING)
		snprintf(buf, size, "<string>");
	else if (tk == TK_NAME)
		snprintf(buf, size, "<name>");
	else if (tk == TK_EVENT)
		snprintf(buf, size, "<event word>");
	else
		snprintf(buf, size, "'<eof>'");
	return buf;
}

static void verror_at(struct kpc_lex *ls, int line, const char *near,
		      size_t nearlen, const char *fmt, va_list ap)
	__attribute__((noreturn, format(printf, 5, 0)));

static void verror_at(struct kpc_lex *ls, int line, const char *near,
		      size_t nearlen, const char *fmt, va_list ap)
{
	const char *nl;
	FILE *f = ls->P->errf;

	/* Quote the first line of the text, and not too much of it. */
	nl = memchr(near, '\n', nearlen);
	if (nl)
		nearlen = (size_t)(nl - near);
	if (nearlen > NEAR_MAX)
		nearlen = NEAR_MAX;
	if (f) {
		fprintf(f, "%s:%d: ", ls->P->chunkname, line);
		vfprintf(f, fmt, ap);
		fprintf(f, " near '%.*s'\n", (int)nearlen, near);
		fflush(f);
	}
	kpc_prog_fail(ls->P, -EINVAL);
}

void kpc_lex_error_at(struct kpc_lex *ls, int line, const char *near,
		      size_t nearlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror_at(ls, line, near, nearlen, fmt, ap);
}

static const char eof_text[] = "<eof>";

void kpc_lex_error(struct kpc_lex *ls, const char *fmt, ...)
{
	const struct kpc_tok *t = &ls->t;
	va_list ap;

	va_start(ap, fmt);
	if (t->tk == TK_EOS)
		verror_at(ls, t->line, eof_text, sizeof(eof_text) - 1, fmt, ap);
	verror_at(ls, t->line, t->start, t->len, fmt, ap);
}

/* An error inside the token that starts at start: quote it up to p. */
static void __attribute__((noreturn))
token_error(struct kpc_lex *ls, const char *start, const char *msg)
{
	if (ls->p >= ls->end)
		kpc_lex_error_at(ls, ls->line, eof_text, sizeof(eof_text) - 1,
				 "%s", msg);
	kpc_lex_error_at(ls, ls->line, start, (size_t)(ls->p - start), "%s",
			 msg);
}

void kpc_lex_init(struct kpc_lex *ls, struct kpc_prog *P, const char *src,
		  size_t len)
{
	memset(ls, 0, sizeof(*ls));
	ls->P = P;
	ls->src = src;
	ls->p = src;
	ls->end = src + len;
	ls->line = 1;
	ls->lastline = 1;
}

static int cur(const struct kpc_lex *ls)
{
	return ls->p < ls->end ? (unsigned char)*ls->p : -1;
}

static int peek(const struct kpc_lex *ls, size_t i)
{
	return ls->p + i < ls->end ? (unsigned char)ls->p[i] : -1;
}

/* Past "\n", "\r", "\n\r" or "\r\n": one line. */
static void newline(struct kpc_lex *ls)
{
	int c = cur(ls);

	ls->p++;
	if ((cur(ls) == '\n' || cur(ls) == '\r') && cur(ls) != c)
		ls->p++;
	if (ls->line == INT32_MAX)
		kpc_lex_error_at(ls, ls->line, eof_text, sizeof(eof_text) - 1,
				 "too many lines");
	ls->line++;
}

static void skip_blanks(struct kpc_lex *ls)
{
	for (;;) {
		int c = cur(ls);

		if (c == '\n' || c == '\r') {
			newline(ls);
		} else if (c == ' ' || c == '\t' || c == '\f' || c == '\v') {
			ls->p++;
		} else if (c == '#' || (c == '-' && peek(ls, 1) == '-')) {
			while (ls->p < ls->end && *ls->p != '\n' &&
			       *ls->p != '\r')
				ls->p++;
		} else {
			return;
		}
	}
}

static void buf_add(struct kpc_lex *ls, char c)
{
	if (ls->buflen >= ls->bufcap) {
		ls->bufcap = ls->bufcap ? 2 * ls->bufcap : 64;
		ls->buf = kpc_realloc(ls->P, ls->buf, ls->bufcap);
	}
	ls->buf[ls->buflen++] = c;
}

static void check_strlen(struct kpc_lex *ls, const char *start, size_t len)
{
	if (len > KP_MAX_STR)
		token_error(ls, start, "string too long");
}

static void read_name(struct kpc_lex *ls, struct kpc_tok *t)
{
	size_t len;
	int i;

	while (ls->p < ls->end && is_alnum((unsigned char)*ls->p))
		ls->p++;
	len = (size_t)(ls->p - t->start);
	check_strlen(ls, t->start, len);
	for (i = 0; i < NKEYWORDS; i++) {
		if (strlen(keywords[i]) == len &&
		    !memcmp(keywords[i], t->start, len)) {
			t->tk = TK_FIRST + 1 + i;
			return;
		}
	}
	for (i = 0; i < NEVENTS; i++) {
		if (strlen(event_words[i]) == len &&
		    !memcmp(event_words[i], t->start, len)) {
			t->tk = TK_EVENT;
			t->v.id = i;
			return;
		}
	}
	t->tk = TK_NAME;
	t->v.str.s = t->start;
	t->v.str.len = len;
}

/* Decimal or 0x hexadecimal; anything glued to it makes it malformed. */
static void read_number(struct kpc_lex *ls, struct kpc_tok *t)
{
	const char *s = t->start, *e;
	unsigned base = 10;
	uint64_t v = 0;
	int big = 0;

	while (ls->p < ls->end && is_alnum((unsigned char)*ls->p))
		ls->p++;
	e = ls->p;
	if (e - s > 1 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (s == e)
		token_error(ls, t->start, "malformed number");
	for (; s < e; s++) {
		int d = hex_value((unsigned char)*s);

		if (d < 0 || (unsigned)d >= base)
			token_error(ls, t->start, "malformed number");
		if (v > (UINT64_MAX - (unsigned)d) / base)
			big = 1;
		v = v * base + (unsigned)d;
	}
	if (big || v > KPC_INT64_MIN_ABS)
		token_error(ls, t->start, "number too large");
	t->tk = TK_NUMBER;
	t->v.num = v;
}

static void set_string(struct kpc_lex *ls, struct kpc_tok *t)
{
	t->tk = TK_STRING;
	t->v.str.s = kpc_strdup(ls->P, ls->buf ? ls->buf : "", ls->buflen);
	t->v.str.len = ls->buflen;
}

/* \n \t \r \\ \" \' \xHH \0; p is on the backslash. */
static void read_escape(struct kpc_lex *ls, const char *start)
{
	const char *esc = ls->p;
	int c = peek(ls, 1), h, l;

	if (c < 0 || c == '\n' || c == '\r') {
		ls->p++;
		token_error(ls, start, "unfinished string");
	}
	ls->p += 2;
	switch (c) {
	case 'n':
		buf_add(ls, '\n');
		return;
	case 't':
		buf_add(ls, '\t');
		return;
	case 'r':
		buf_add(ls, '\r');
		return;
	case '0':
		buf_add(ls, '\0');
		return;
	case '\\':
	case '"':
	case '\'':
		buf_add(ls, (char)c);
		return;
	case 'x':
		h = hex_value(cur(ls));
		if (h >= 0) {
			ls->p++;
			l = hex_value(cur(ls));
			if (l >= 0) {
				ls->p++;
				buf_add(ls, (char)(h << 4 | l));
				return;
			}
		}
		if (ls->p < ls->end)
			ls->p++;
		kpc_lex_error_at(ls, ls->line, esc, (size_t)(ls->p - esc),
				 "hexadecimal digit expected");
	default:
		kpc_lex_error_at(ls, ls->line, esc, (size_t)(ls->p - esc),
				 "invalid escape sequence");
	}
}

static void read_string(struct kpc_lex *ls, struct kpc_tok *t)
{
	char quote = *ls->p++;

	ls->buflen = 0;
	for (;;) {
		int c = cur(ls);

		if (c < 0 || c == '\n' || c == '\r')
			token_error(ls, t->start, "unfinished string");
		if (c == quote)
			break;
		if (c == '\\') {
			read_escape(ls, t->start);
		} else {
			buf_add(ls, (char)c);
			ls->p++;
		}
		check_strlen(ls, t->start, ls->buflen);
	}
	ls->p++;
	set_string(ls, t);
}

/* [[verbatim, may span lines]]; a newline right after [[ is skipped. */
static void read_long_string(struct kpc_lex *ls, struct kpc_tok *t)
{
	ls->p += 2;
	ls->buflen = 0;
	if (cur(ls) == '\n' || cur(ls) == '\r')
		newline(ls);
	for (;;) {
		int c = cur(ls);

		if (c < 0) {
			token_error(ls, t->start, "unfinished long string");
		} else if (c == ']' && peek(ls, 1) == ']') {
			ls->p += 2;
			break;
		} else if (c == '\n' || c == '\r') {
			newline(ls);
			buf_add(ls, '\n');
		} else {
			buf_add(ls, (char)c);
			ls->p++;
		}
		check_strlen(ls, t->start, ls->buflen);
	}
	set_string(ls, t);
}

/* c, or the two-character token tk if c is followed by next. */
static int pair(struct kpc_lex *ls, int c, int next, int tk)
{
	if (peek(ls, 1) == next) {
		ls->p += 2;
		return tk;
	}
	ls->p++;
	return c;
}

static int read_symbol(struct kpc_lex *ls)
{
	int c = cur(ls);

	switch (c) {
	case '=':
		return pair(ls, c, '=', TK_EQ);
	case '!':
		return pair(ls, c, '=', TK_NE);
	case '<':
		return pair(ls, c, '=', TK_LE);
	case '>':
		return pair(ls, c, '=', TK_GE);
	case '&':
		return pair(ls, c, '&', TK_AND);
	case '|':
		return pair(ls, c, '|', TK_OR);
	case '.':
		return pair(ls, c, '.', TK_CONCAT);
	case '+':
		return pair(ls, c, '=', TK_ADDEQ);
	case '-':
		return pair(ls, c, '=', TK_SUBEQ);
	case '*':
		return pair(ls, c, '=', TK_MULEQ);
	case '%':
		return pair(ls, c, '=', TK_MODEQ);
	case '/':
		if (ls->filter == 1) {
			/* The filter's closing '/': division needs brackets. */
			ls->filter = 0;
			ls->p++;
			return TK_FILTEREND;
		}
		return pair(ls, c, '=', TK_DIVEQ);
	case '(':
	case '[':
	case '{':
		if (ls->filter)
			ls->filter++;
		break;
	case ')':
	case ']':
	case '}':
		if (ls->filter > 1)
			ls->filter--;
		break;
	}
	ls->p++;
	return c;
}

static void read_token(struct kpc_lex *ls, struct kpc_tok *t)
{
	int c;

	skip_blanks(ls);
	t->start = ls->p;
	t->line = ls->line;
	c = cur(ls);
	if (c < 0)
		t->tk = TK_EOS;
	else if (is_alpha(c))
		read_name(ls, t);
	else if (is_digit(c))
		read_number(ls, t);
	else if (c == '"' || c == '\'')
		read_string(ls, t);
	else if (c == '[' && peek(ls, 1) == '[')
		read_long_string(ls, t);
	else
		t->tk = read_symbol(ls);
	t->len = (size_t)(ls->p - t->start);
}

void kpc_lex_next(struct kpc_lex *ls)
{
	ls->lastline = ls->t.line;
	if (ls->has_ahead) {
		ls->t = ls->ahead;
		ls->has_ahead = 0;
	} else {
		read_token(ls, &ls->t);
	}
}

int kpc_lex_lookahead(struct kpc_lex *ls)
{
	if (!ls->has_ahead) {
		read_token(ls, &ls->ahead);
		ls->has_ahead = 1;
	}
	return ls->ahead.tk;
}

/*
 * Characters of an event spec segment: anything but blanks, ',', '{' and
 * the ':' between segments. A segment that starts with '/' is a path and
 * may contain '/'; elsewhere a '/' starts the filter.
 */
static int spec_char(int c, int path)
{
	if (c <= ' ' || c == 0x7f || c == ',' || c == '{' || c == ':')
		return 0;
	return c != '/' || path;
}

static void skip_spaces(struct kpc_lex *ls)
{
	for (;;) {
		int c = cur(ls);

		if (c == '\n' || c == '\r')
			newline(ls);
		else if (c == ' ' || c == '\t' || c == '\f' || c == '\v')
			ls->p++;
		else
			return;
	}
}

/* One spec: segment(:segment)*, the first starting with a name or '*'. */
static void read_spec(struct kpc_lex *ls)
{
	const char *start = ls->p;

	if (!is_alpha(cur(ls)) && cur(ls) != '*') {
		kpc_lex_next(ls);
		kpc_lex_error(ls, "event name expected");
	}
	for (;;) {
		const char *seg = ls->p;
		int path = cur(ls) == '/';

		while (spec_char(cur(ls), path))
			ls->p++;
		if (ls->p == seg)
			kpc_lex_error_at(ls, ls->line, start,
					 (size_t)(ls->p - start),
					 "malformed event spec");
		if (cur(ls) != ':')
			return;
		ls->p++;
	}
}

const char *kpc_lex_events(struct kpc_lex *ls, size_t *len)
{
	assert(!ls->has_ahead); /* the text after `trace` is still unread */
	ls->buflen = 0;
	for (;;) {
		const char *start;

		skip_spaces(ls);
		start = ls->p;
		read_spec(ls);
		if (ls->buflen)
			buf_add(ls, ',');
		while (start < ls->p)
			buf_add(ls, *start++);
		check_strlen(ls, ls->p, ls->buflen);
		skip_spaces(ls);
		if (cur(ls) != ',')
			break;
		ls->p++;
	}
	*len = ls->buflen;
	return kpc_strdup(ls->P, ls->buf, ls->buflen);
}

int kpc_lex_is_timer(const struct kpc_lex *ls)
{
	return !ls->has_ahead && cur(ls) == '-' && is_digit(peek(ls, 1));
}

static const struct {
	const char *name;
	uint64_t ns;
} time_units[] = {
	{ "s", 1000000000 },  { "sec", 1000000000 }, { "ms", 1000000 },
	{ "msec", 1000000 },  { "us", 1000 },	      { "usec", 1000 },
};

uint64_t kpc_lex_timer(struct kpc_lex *ls)
{
	struct kpc_tok *t = &ls->t;
	const char *unit;
	uint64_t n = 0;
	size_t i, ulen;
	int big = 0;

	for (ls->p++; is_digit(cur(ls)); ls->p++) {
		if (n > (UINT64_MAX - 9) / 10)
			big = 1;
		n = n * 10 + (uint64_t)(cur(ls) - '0');
	}
	unit = ls->p;
	while (is_alnum(cur(ls)))
		ls->p++;
	ulen = (size_t)(ls->p - unit);
	t->len = (size_t)(ls->p - t->start);
	for (i = 0; i < sizeof(time_units) / sizeof(time_units[0]); i++)
		if (strlen(time_units[i].name) == ulen &&
		    !memcmp(time_units[i].name, unit, ulen))
			break;
	if (i == sizeof(time_units) / sizeof(time_units[0]))
		kpc_lex_error(ls, "unknown time unit '%.*s'", (int)ulen, unit);
	if (big || n > UINT64_MAX / time_units[i].ns)
		kpc_lex_error(ls, "number too large");
	if (!n)
		kpc_lex_error(ls, "period must be above 0");
	return n * time_units[i].ns;
}

void kpc_lex_filter(struct kpc_lex *ls)
{
	ls->filter = 1;
}
