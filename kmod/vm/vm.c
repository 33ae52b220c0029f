// SPDX-License-Identifier: GPL-2.0
/*
 * The interpreter and the run entry points of vm.h. One dispatch loop
 * (computed goto, the table expanded from KP_OPCODES) runs a whole
 * invocation: calls between script functions push a frame and continue in
 * the same loop, so the C stack does not grow with script recursion. Slow
 * paths (errors, concatenation, mixed-type arithmetic, call setup, events)
 * are functions outside the loop.
 */
#include "kp_arena.h"
#include "kp_fmt.h"
#include "kp_func.h"
#include "kp_gc.h"
#include "kp_lib.h"
#include "kp_str.h"
#include "kp_tab.h"
#include "../../proto/chunk.h"
#include "../../proto/opcodes.h"

/*
 * In the kernel, objtool must be told that the dispatch table is one
 * (compiler.h's annotation, when the host platform pulled it in).
 */
#ifdef __annotate_jump_table
#define KP_JUMP_TABLE __annotate_jump_table
#else
#define KP_JUMP_TABLE
#endif

#define KP_MIN_FRAMES 8

static const char *const kp_typenames[] = {
	[KP_TNIL] = "nil",	  [KP_TBOOL] = "boolean",
	[KP_TNUM] = "number",	  [KP_TSTR] = "string",
	[KP_TTAB] = "table",	  [KP_TFUNC] = "function",
	[KP_TBUILTIN] = "function",
};

/* A host without services: output is dropped, stacks read as nil. */
static const struct kp_host_ops kp_no_ops;

const char *kp_typename(const struct kp_value *v)
{
	return v->tt < KP_ARRAY_SIZE(kp_typenames) && kp_typenames[v->tt] ?
		       kp_typenames[v->tt] : "?";
}

int kp_rt_error(struct kp_vm *vm, const char *fmt, ...)
{
	__builtin_va_list ap;

	__builtin_va_start(ap, fmt);
	kp_fmt_msg(vm->errmsg, sizeof(vm->errmsg), fmt, ap);
	__builtin_va_end(ap);
	return KP_ERROR;
}

static void msgf(char *buf, kp_size_t size, const char *fmt, ...)
{
	__builtin_va_list ap;

	__builtin_va_start(ap, fmt);
	kp_fmt_msg(buf, size, fmt, ap);
	__builtin_va_end(ap);
}

void kp_vm_flush(struct kp_vm *vm)
{
	if (vm->out.len && vm->ops->write)
		vm->ops->write(vm->host, vm->out.p, vm->out.len);
	/* A burst of output leaves no big buffer behind in the arena. */
	kp_buf_trim(vm, &vm->out, 4 * KP_OUT_FLUSH);
}

int kp_vm_growstack(struct kp_vm *vm, kp_u32 from, kp_u32 n)
{
	kp_u64 need = (kp_u64)from + n, size = 2 * (kp_u64)vm->stacksize;
	struct kp_value *old = vm->stack, *stack;
	struct kp_upval *uv;
	kp_u32 i;

	if (need <= vm->stacksize)
		return 0;
	if (size < need)
		size = need;
	if (size > (1u << 28))
		return kp_rt_error(vm, "stack overflow");
	stack = kp_mem_alloc(vm, size * sizeof(*stack));
	if (!stack)
		return KP_ERROR;
	kp_memcpy(stack, old, vm->stacksize * sizeof(*stack));
	for (i = vm->stacksize; i < size; i++)
		kp_setnil(&stack[i]);
	for (uv = vm->openupval; uv; uv = uv->open_next)
		uv->v = stack + (uv->v - old);
	vm->stack = stack;
	vm->stacksize = (kp_u32)size;
	kp_mem_free(vm, old);
	return 0;
}

static int grow_frames(struct kp_vm *vm)
{
	kp_u32 n = vm->nframes * 2;
	struct kp_frame *frames;

	if (n > vm->max_depth)
		n = vm->max_depth;
	frames = kp_mem_alloc(vm, n * sizeof(*frames));
	if (!frames)
		return KP_ERROR;
	kp_memcpy(frames, vm->frames, vm->depth * sizeof(*frames));
	kp_mem_free(vm, vm->frames);
	vm->frames = frames;
	vm->nframes = n;
	return 0;
}

/* Room for a frame of cl at stack index base, plus the spare slots. */
static int frame_room(struct kp_vm *vm, kp_u32 base, struct kp_closure *cl)
{
	kp_u32 n = cl->p->framesize + KP_EXTRA_STACK;

	if (kp_likely(base + n <= vm->stacksize))
		return 0;
	return kp_vm_growstack(vm, base, n);
}

/* Registers beyond the arguments start as nil. */
static inline void frame_enter(struct kp_vm *vm, struct kp_frame *f,
			struct kp_closure *cl, kp_u32 base, int nargs)
{
	struct kp_proto *p = cl->p;
	struct kp_value *r = vm->stack + base;
	int i = nargs < p->nparams ? nargs : p->nparams;

	for (; i < p->framesize; i++)
		kp_setnil(&r[i]);
	f->cl = cl;
	f->base = base;
	f->pc = p->code;
}

/* The rare part of a call: depth limit, more frames, a bigger stack. */
static int call_grow(struct kp_vm *vm, kp_u32 fi, struct kp_closure *cl)
{
	if (vm->depth >= vm->max_depth)
		return kp_rt_error(vm, "stack overflow");
	if (vm->depth == vm->nframes && grow_frames(vm))
		return KP_ERROR;
	return frame_room(vm, fi + 1, cl);
}

/* Call the closure at stack index fi with nargs arguments after it. */
static inline __attribute__((always_inline)) int
push_frame(struct kp_vm *vm, kp_u32 fi, int nargs, int nresults, int flags)
{
	struct kp_closure *cl = vm->stack[fi].u.cl;
	struct kp_frame *f;

	/* nframes never exceeds max_depth: one test covers both. */
	if (kp_unlikely(vm->depth >= vm->nframes ||
			fi + 1 + cl->p->framesize + KP_EXTRA_STACK >
				vm->stacksize) &&
	    call_grow(vm, fi, cl))
		return KP_ERROR;
	f = &vm->frames[vm->depth++];
	frame_enter(vm, f, cl, fi + 1, nargs);
	f->nresults = (kp_s16)nresults;
	f->flags = (kp_u8)flags;
	return 0;
}

/*
 * A tail call of the closure at ra: it replaces the running frame, whose
 * function slot receives the callee and its arguments.
 */
static int tail_call(struct kp_vm *vm, struct kp_value *ra, int nargs)
{
	struct kp_frame *f = &vm->frames[vm->depth - 1];
	struct kp_closure *cl = ra->u.cl;
	kp_u32 fi = f->base - 1, ai = (kp_u32)(ra - vm->stack);
	int j;

	if (frame_room(vm, fi + 1, cl))
		return KP_ERROR;
	if (vm->openupval && vm->openupval->v >= vm->stack + f->base)
		kp_func_close(vm, vm->stack + f->base);
	for (j = 0; j <= nargs; j++)
		vm->stack[fi + j] = vm->stack[ai + j];
	frame_enter(vm, f, cl, fi + 1, nargs);
	return 0;
}

/* Arithmetic that is not number op number: nil gives nil, others fail. */
static int arith_slow(struct kp_vm *vm, struct kp_value *ra,
		      const struct kp_value *rb, const struct kp_value *rc)
{
	const struct kp_value *bad = NULL;

	if (rb->tt != KP_TNUM && rb->tt != KP_TNIL)
		bad = rb;
	else if (rc->tt != KP_TNUM && rc->tt != KP_TNIL)
		bad = rc;
	if (bad)
		return kp_rt_error(vm, "attempt to perform arithmetic on a %s value",
				   kp_typename(bad));
	kp_setnil(ra);
	return 0;
}

static int compare_error(struct kp_vm *vm, const struct kp_value *a,
			 const struct kp_value *b)
{
	return kp_rt_error(vm, "attempt to compare %s with %s",
			   kp_typename(a), kp_typename(b));
}

/* a < b (le = 0) or a <= b (le = 1) on strings; 0/1 or KP_ERROR. */
static int less_slow(struct kp_vm *vm, const struct kp_value *a,
		     const struct kp_value *b, int le)
{
	int r;

	if (a->tt != KP_TSTR || b->tt != KP_TSTR)
		return compare_error(vm, a, b);
	r = kp_str_cmp(a->u.s, b->u.s);
	return le ? r <= 0 : r < 0;
}

/* R(A) := R(B) .. ... .. R(C): strings and numbers (decimal). */
static __attribute__((__noinline__)) int
concat(struct kp_vm *vm, struct kp_value *ra,
       const struct kp_value *first, const struct kp_value *last)
{
	const struct kp_value *v;
	char num[KP_NUM_BUF];
	struct kp_str *s;

	vm->buf.len = 0;
	for (v = first; v <= last; v++) {
		if (v->tt == KP_TSTR) {
			if (kp_buf_add(vm, &vm->buf, v->u.s->data, v->u.s->len))
				return KP_ERROR;
		} else if (v->tt == KP_TNUM) {
			if (kp_buf_add(vm, &vm->buf, num,
				       (kp_size_t)kp_fmt_int(num, v->u.n)))
				return KP_ERROR;
		} else {
			return kp_rt_error(vm, "attempt to concatenate a %s value",
					   kp_typename(v));
		}
	}
	s = kp_str_new(vm, vm->buf.p ? vm->buf.p : "", vm->buf.len);
	/* One long string must not keep its size reserved in the arena. */
	kp_buf_trim(vm, &vm->buf, KP_BUF_KEEP);
	if (!s)
		return KP_ERROR;
	kp_setstr(ra, s);
	return 0;
}

/* A string the host makes for an event (at most KP_STRBUF_SIZE bytes). */
static int event_str(struct kp_vm *vm, const struct kp_event *ev,
		     unsigned int field, struct kp_value *dst)
{
	struct kp_str *s;
	long n;

	n = ev->str_field ? ev->str_field(ev, (int)field, vm->strbuf,
					  KP_STRBUF_SIZE) : -1;
	if (n < 0)
		return 1;
	s = kp_str_new(vm, vm->strbuf,
		       (kp_size_t)n < KP_STRBUF_SIZE ? (kp_size_t)n :
						       KP_STRBUF_SIZE);
	if (!s)
		return KP_ERROR;
	kp_setstr(dst, s);
	return 0;
}

/* execname, probename, argstr: fetched once per event into vm->evstr. */
static int event_cache(struct kp_vm *vm, const struct kp_event *ev,
		       unsigned int field, struct kp_value *cache)
{
	int r = event_str(vm, ev, field, cache);

	if (r == KP_ERROR)
		return KP_ERROR;
	/* false marks "not available" */
	if (r)
		kp_setbool(cache, 0);
	if (field == KP_EV_PROBENAME)
		vm->evname_key = ev->name_key;
	return 0;
}

/*
 * R(A) := event word field (nil outside a handler or when absent). Inline
 * in the interpreter, numbers first; what makes strings is out of line.
 */
static inline __attribute__((always_inline)) int
event_word(struct kp_vm *vm, struct kp_value *ra, unsigned int field)
{
	const struct kp_event *ev = vm->ev;
	struct kp_value *cache;
	unsigned int i;

	kp_setnil(ra);
	if (!ev)
		return 0;
	if (field >= KP_EV_ARG0) {
		i = field - KP_EV_ARG0;
		if (i >= (unsigned int)ev->nargs || i >= KP_ARRAY_SIZE(ev->args))
			return 0;
		if (kp_likely(!(ev->strargs & (1u << i)))) {
			kp_setnum(ra, ev->args[i]);
			return 0;
		}
		/* Not cached: a handler seldom reads the same string twice. */
		return event_str(vm, ev, field, ra) == KP_ERROR ? KP_ERROR : 0;
	}
	if (field - KP_EV_EXECNAME <= KP_EV_ARGSTR - KP_EV_EXECNAME) {
		cache = &vm->evstr[field - KP_EV_EXECNAME];
		if (cache->tt == KP_TNIL && event_cache(vm, ev, field, cache))
			return KP_ERROR;
		if (cache->tt == KP_TSTR)
			*ra = *cache;
		return 0;
	}
	switch (field) {
	case KP_EV_PID:
		kp_setnum(ra, ev->pid);
		break;
	case KP_EV_TID:
		kp_setnum(ra, ev->tid);
		break;
	case KP_EV_UID:
		kp_setnum(ra, ev->uid);
		break;
	case KP_EV_CPU:
		kp_setnum(ra, ev->cpu);
		break;
	case KP_EV_RETVAL:
		if (ev->has_retval)
			kp_setnum(ra, ev->retval);
		break;
	}
	return 0;
}

/*
 * Call built-in id with args[0..nargs) (registers) and store its results
 * at dst: want of them (nil-padded), or all of them when want < 0, which
 * sets the top. Returns 0, KP_ERROR or KP_LIB_EXIT.
 */
static int call_builtin(struct kp_vm *vm, unsigned int id,
			struct kp_value *args, int nargs, struct kp_value *dst,
			int want)
{
	int n, j;

	/* The collector keeps the arguments even above the frame. */
	vm->top = (kp_u32)(args + nargs - vm->stack);
	n = kp_lib_call(vm, id, args, nargs);
	if (n < 0)
		return n;
	if (want < 0) {
		want = n;
		vm->top = (kp_u32)(dst + n - vm->stack);
	}
	for (j = 0; j < want; j++) {
		if (j < n)
			dst[j] = vm->bires[j];
		else
			kp_setnil(&dst[j]);
	}
	for (j = 0; j < n; j++)
		kp_setnil(&vm->bires[j]);
	return 0;
}

/*
 * FORPREP: check the operands and turn R(A+1) into the number of
 * iterations left after the first (false: none), so that FORLOOP never
 * overflows; R(A) starts one step early.
 */
static int for_prep(struct kp_vm *vm, struct kp_value *ra)
{
	kp_s64 init, limit, step;
	kp_u64 count;

	if (ra[0].tt != KP_TNUM)
		return kp_rt_error(vm, "'for' initial value must be a number");
	if (ra[1].tt != KP_TNUM)
		return kp_rt_error(vm, "'for' limit must be a number");
	if (ra[2].tt != KP_TNUM)
		return kp_rt_error(vm, "'for' step must be a number");
	init = ra[0].u.n;
	limit = ra[1].u.n;
	step = ra[2].u.n;
	if (step == 0)
		return kp_rt_error(vm, "'for' step is zero");
	ra[0].u.n = (kp_s64)((kp_u64)init - (kp_u64)step);
	if (step > 0 ? init > limit : init < limit) {
		kp_setbool(&ra[1], 0);
		return 0;
	}
	if (step > 0)
		count = ((kp_u64)limit - (kp_u64)init) / (kp_u64)step;
	else
		count = ((kp_u64)init - (kp_u64)limit) / (0 - (kp_u64)step);
	kp_setnum(&ra[1], (kp_s64)count);
	return 0;
}

/* "FILE:LINE: message" for the error pending in the running frame. */
static void error_position(struct kp_vm *vm)
{
	const char *src = vm->source ? vm->source : "?";
	struct kp_frame *f;
	struct kp_proto *p;
	kp_u32 pc;

	if (!vm->depth) {
		msgf(vm->error, sizeof(vm->error), "%s: %s", src, vm->errmsg);
		return;
	}
	f = &vm->frames[vm->depth - 1];
	p = f->cl->p;
	pc = (kp_u32)(f->pc - p->code);
	pc = pc ? pc - 1 : 0;
	msgf(vm->error, sizeof(vm->error), "%s:%u: %s", src,
	     pc < p->ncode ? p->lines[pc] : 0, vm->errmsg);
}

/* Leave the invocation: every frame goes, open upvalues close. */
static int unwind(struct kp_vm *vm, int ret)
{
	if (ret == KP_ERROR) {
		error_position(vm);
		vm->state = KP_STATE_ERROR;
	} else {
		vm->state = KP_STATE_EXITED;
	}
	kp_func_close(vm, vm->stack);
	vm->depth = 0;
	vm->top = 0;
	return ret == KP_ERROR ? KP_ERROR : KP_EXITED;
}

/*
 * Dispatch: by default a computed goto, one indirect jump per instruction.
 * A host where indirect jumps are costly (a kernel built with retpolines:
 * each one goes through a thunk that is mispredicted by design) defines
 * KP_DISPATCH_SWITCH, and a switch the compiler turns into compares and
 * direct branches (such kernels build without jump tables) does it. The
 * verifier has checked every opcode, in both.
 */
#ifdef KP_DISPATCH_SWITCH
#define DISPATCH()                                                             \
	do {                                                                   \
		i = *pc++;                                                     \
		goto dispatch;                                                 \
	} while (0)
#else
#define DISPATCH()                                                             \
	do {                                                                   \
		i = *pc++;                                                     \
		goto *disp[KP_GET_OP(i)];                                     \
	} while (0)
#endif

#define RA (base + KP_GET_A(i))
#define RB (base + KP_GET_B(i))
#define RC (base + KP_GET_C(i))
/* A register's index is below KP_RK_CONST: only the base differs. */
#define RK(x) (((x) & KP_RK_CONST ? k : base) + ((x) & KP_MAX_RK_CONST))
#define RKB RK(KP_GET_B(i))
#define RKC RK(KP_GET_C(i))

/* Record where we are before anything that may fail or call. */
#define SAVEPC() (f->pc = pc)
#define THROW()                                                                \
	do {                                                                   \
		SAVEPC();                                                      \
		goto error;                                                    \
	} while (0)
/*
 * Past the time budget? The clock is first read at the first check, not
 * when the invocation starts: a short handler (most are) never reads it,
 * and the time of its first KP_TIME_CHECK_UNITS units goes uncounted.
 */
static int time_out(struct kp_vm *vm)
{
	kp_u64 now = kp_clock_ns();

	if (!vm->deadline) {
		vm->deadline = now + vm->time_budget_ns;
		return 0;
	}
	return now > vm->deadline;
}

/* A unit of the budget; the clock is read once per KP_TIME_CHECK_UNITS. */
#define CHARGE()                                                               \
	do {                                                                   \
		if (kp_unlikely((budget & (KP_TIME_CHECK_UNITS - 1)) == 0)) {  \
			if (budget == 0)                                       \
				goto budget_out;                               \
			if (vm->timed && time_out(vm))                         \
				goto time_out;                                 \
		}                                                              \
		budget--;                                                      \
	} while (0)
/* The frame on top changed (call, return, stack moved). */
#define LOAD_FRAME()                                                           \
	do {                                                                   \
		f = &vm->frames[vm->depth - 1];                                \
		cl = f->cl;                                                    \
		k = cl->p->k;                                                  \
		base = vm->stack + f->base;                                    \
		pc = f->pc;                                                    \
	} while (0)

#define ARITH(op)                                                              \
	do {                                                                   \
		const struct kp_value *rb = RKB, *rc = RKC;                    \
		if (kp_likely(rb->tt == KP_TNUM && rc->tt == KP_TNUM))         \
			kp_setnum(RA, (kp_s64)((kp_u64)rb->u.n op             \
					       (kp_u64)rc->u.n));              \
		else if (arith_slow(vm, RA, rb, rc))                           \
			THROW();                                               \
		DISPATCH();                                                    \
	} while (0)

/*
 * Run frames[depth - 1] (an entry frame) until it returns. Returns KP_OK,
 * KP_ERROR or KP_EXITED.
 */
static int execute(struct kp_vm *vm)
{
#ifndef KP_DISPATCH_SWITCH
	static const void *const disp[KP_OP__COUNT] KP_JUMP_TABLE = {
#define KP_OP_LABEL(name, fmt, a, b, c, doc) &&op_##name,
		KP_OPCODES(KP_OP_LABEL)
#undef KP_OP_LABEL
	};
#endif
	kp_u32 budget = vm->budget;
	struct kp_frame *f;
	struct kp_closure *cl;
	struct kp_value *base, *k, *ra;
	const kp_u32 *pc;
	kp_u32 i;
	int n, ret;
#ifdef KP_DISPATCH_SWITCH
	unsigned int op;
#endif

	LOAD_FRAME();
	DISPATCH();

#ifdef KP_DISPATCH_SWITCH
	/*
	 * A binary search on the opcode: six tests for each of 64 codes.
	 * Every leaf is the whole switch, which the compiler cuts down to
	 * the one opcode in the leaf's range (a plain switch becomes a
	 * tree of three-way tests, about seven branches deep here).
	 */
dispatch:
	op = KP_GET_OP(i);
#define KP_OP_CASE(name, fmt, a, b, c, doc)                                    \
	case KP_OP_##name:                                                     \
		goto op_##name;
#define LEAF()                                                                 \
	switch (op) {                                                          \
		KP_OPCODES(KP_OP_CASE)                                         \
	default:                                                               \
		__builtin_unreachable();                                       \
	}
#define T2(b)                                                                  \
	if (op < (b) + 1)                                                      \
		LEAF();                                                        \
	LEAF();
#define T4(b)                                                                  \
	if (op < (b) + 2) {                                                    \
		T2(b)                                                          \
	}                                                                      \
	T2((b) + 2)
#define T8(b)                                                                  \
	if (op < (b) + 4) {                                                    \
		T4(b)                                                          \
	}                                                                      \
	T4((b) + 4)
#define T16(b)                                                                 \
	if (op < (b) + 8) {                                                    \
		T8(b)                                                          \
	}                                                                      \
	T8((b) + 8)
	if (op < 32) {
		if (op < 16) {
			T16(0)
		}
		T16(16)
	}
	if (op < 48) {
		T16(32)
	}
	T16(48)
#undef T16
#undef T8
#undef T4
#undef T2
#undef LEAF
#undef KP_OP_CASE
#endif
op_MOVE:
	*RA = *RB;
	DISPATCH();
op_LOADK:
	*RA = k[KP_GET_BX(i)];
	DISPATCH();
op_LOADBOOL:
	kp_setbool(RA, KP_GET_B(i));
	if (KP_GET_C(i))
		pc++;
	DISPATCH();
op_LOADNIL:
	ra = RA;
	for (n = (int)KP_GET_B(i); n >= 0; n--)
		kp_setnil(&ra[n]);
	DISPATCH();
op_GETUPVAL:
	*RA = *cl->upvals[KP_GET_B(i)]->v;
	DISPATCH();
op_SETUPVAL:
	*cl->upvals[KP_GET_B(i)]->v = *RA;
	DISPATCH();
op_GETGLOBAL:
	*RA = vm->globals[KP_GET_BX(i)];
	DISPATCH();
op_SETGLOBAL:
	vm->globals[KP_GET_BX(i)] = *RA;
	DISPATCH();
op_GETTABLE: {
	const struct kp_value *rb = RB, *rc = RKC;
	struct kp_tab *t;

	if (kp_unlikely(rb->tt != KP_TTAB)) {
		kp_rt_error(vm, "attempt to index a %s value", kp_typename(rb));
		THROW();
	}
	t = rb->u.t;
	if (rc->tt == KP_TSTR && !rc->u.s->islong) {
		struct kp_node *nd = kp_tab_find_shortstr(t, rc->u.s);

		*RA = nd ? nd->val : kp_nilvalue;
	} else if (rc->tt == KP_TNUM && (kp_u64)rc->u.n - 1 < t->alen) {
		*RA = t->arr[rc->u.n - 1];
	} else {
		*RA = *kp_tab_get(vm, t, rc);
	}
	DISPATCH();
}
op_SETTABLE: {
	const struct kp_value *rb = RKB, *rc = RKC;

	ra = RA;
	if (kp_unlikely(ra->tt != KP_TTAB)) {
		kp_rt_error(vm, "attempt to index a %s value", kp_typename(ra));
		THROW();
	}
	/* A new value for a live entry of a short string: in place. */
	if (rb->tt == KP_TSTR && !rb->u.s->islong && rc->tt != KP_TNIL) {
		struct kp_node *nd = kp_tab_find_shortstr(ra->u.t, rb->u.s);

		if (nd && nd->val.tt != KP_TNIL) {
			nd->val = *rc;
			DISPATCH();
		}
	}
	if (kp_tab_set(vm, ra->u.t, rb, rc))
		THROW();
	DISPATCH();
}
op_NEWTABLE: {
	struct kp_tab *t = kp_tab_new(vm, KP_GET_B(i), KP_GET_C(i));

	if (!t)
		THROW();
	kp_settab(RA, t);
	DISPATCH();
}
op_ADD:
	ARITH(+);
op_SUB:
	ARITH(-);
op_MUL:
	ARITH(*);
op_DIV:
op_MOD: {
	const struct kp_value *rb = RKB, *rc = RKC;
	kp_s64 x, y;

	if (kp_unlikely(rb->tt != KP_TNUM || rc->tt != KP_TNUM)) {
		if (arith_slow(vm, RA, rb, rc))
			THROW();
		DISPATCH();
	}
	x = rb->u.n;
	y = rc->u.n;
	if (kp_unlikely(y == 0)) {
		kp_rt_error(vm, "divide by zero");
		THROW();
	}
	/* INT64_MIN / -1 wraps (and % -1 is 0) instead of trapping. */
	if (KP_GET_OP(i) == KP_OP_DIV)
		kp_setnum(RA, y == -1 ? (kp_s64)(0 - (kp_u64)x) : x / y);
	else
		kp_setnum(RA, y == -1 ? 0 : x % y);
	DISPATCH();
}
op_UNM:
	ra = RA;
	if (kp_likely(RB->tt == KP_TNUM))
		kp_setnum(ra, (kp_s64)(0 - (kp_u64)RB->u.n));
	else if (arith_slow(vm, ra, RB, RB))
		THROW();
	DISPATCH();
op_NOT:
	kp_setbool(RA, kp_isfalse(RB));
	DISPATCH();
op_LEN: {
	const struct kp_value *rb = RB;

	if (rb->tt == KP_TSTR) {
		kp_setnum(RA, rb->u.s->len);
	} else if (rb->tt == KP_TTAB) {
		kp_setnum(RA, rb->u.t->count);
	} else {
		kp_rt_error(vm, "attempt to get length of a %s value",
			    kp_typename(rb));
		THROW();
	}
	DISPATCH();
}
op_CONCAT:
	if (concat(vm, RA, RB, RC))
		THROW();
	DISPATCH();
op_NILZ:
	ra = RA;
	if (ra->tt == KP_TNIL)
		kp_setnum(ra, 0);
	DISPATCH();
op_JMP:
	n = KP_GET_SBX(i);
	if (n < 0)
		CHARGE();
	pc += n;
	DISPATCH();
op_EQ:
	if (kp_value_eq(RKB, RKC) != (int)KP_GET_A(i))
		pc++;
	DISPATCH();
op_LT:
op_LE: {
	const struct kp_value *rb = RKB, *rc = RKC;
	int le = KP_GET_OP(i) == KP_OP_LE;

	if (kp_likely(rb->tt == KP_TNUM && rc->tt == KP_TNUM)) {
		n = le ? rb->u.n <= rc->u.n : rb->u.n < rc->u.n;
	} else {
		n = less_slow(vm, rb, rc, le);
		if (n < 0)
			THROW();
	}
	if (n != (int)KP_GET_A(i))
		pc++;
	DISPATCH();
}
op_TEST:
	if (kp_isfalse(RA) == (int)KP_GET_C(i))
		pc++;
	DISPATCH();
op_TESTSET: {
	const struct kp_value *rb = RB;

	if (kp_isfalse(rb) != (int)KP_GET_C(i))
		*RA = *rb;
	else
		pc++;
	DISPATCH();
}
op_CALL: {
	int b = (int)KP_GET_B(i), c = (int)KP_GET_C(i);

	ra = RA;
	n = b ? b - 1 : (int)(vm->stack + vm->top - (ra + 1));
	CHARGE();
	SAVEPC();
	if (ra->tt == KP_TFUNC) {
		if (push_frame(vm, (kp_u32)(ra - vm->stack), n, c - 1, 0))
			goto error;
		LOAD_FRAME();
		DISPATCH();
	}
	if (ra->tt != KP_TBUILTIN) {
		kp_rt_error(vm, "attempt to call a %s value", kp_typename(ra));
		goto error;
	}
	ret = call_builtin(vm, (unsigned int)ra->u.n, ra + 1, n, ra, c - 1);
	if (ret)
		goto builtin_failed;
	DISPATCH();
}
op_TAILCALL:
	ra = RA;
	n = KP_GET_B(i) ? (int)KP_GET_B(i) - 1 :
			  (int)(vm->stack + vm->top - (ra + 1));
	CHARGE();
	SAVEPC();
	if (ra->tt == KP_TFUNC) {
		if (tail_call(vm, ra, n))
			goto error;
		LOAD_FRAME();
		DISPATCH();
	}
	if (ra->tt != KP_TBUILTIN) {
		kp_rt_error(vm, "attempt to call a %s value", kp_typename(ra));
		goto error;
	}
	/* A built-in returns through the RETURN A 0 that follows. */
	ret = call_builtin(vm, (unsigned int)ra->u.n, ra + 1, n, ra, -1);
	if (ret)
		goto builtin_failed;
	DISPATCH();
op_RETURN: {
	int b = (int)KP_GET_B(i), want = f->nresults, flags = f->flags, j;
	struct kp_value *dst = base - 1;

	ra = RA;
	n = b ? b - 1 : (int)(vm->stack + vm->top - ra);
	if (vm->openupval && vm->openupval->v >= base)
		kp_func_close(vm, base);
	if (want < 0) {
		for (j = 0; j < n; j++)
			dst[j] = ra[j];
		vm->top = (kp_u32)(dst + n - vm->stack);
	} else {
		for (j = 0; j < want; j++) {
			if (j < n)
				dst[j] = ra[j];
			else
				kp_setnil(&dst[j]);
		}
	}
	vm->depth--;
	if (flags & KP_FRAME_ENTRY) {
		vm->budget = budget;
		return KP_OK;
	}
	LOAD_FRAME();
	if (flags & KP_FRAME_TFOR) {
		/* Finish the TFORLOOP that made the call. */
		i = pc[-1];
		ra = RA;
		if (ra[3].tt != KP_TNIL)
			ra[2] = ra[3];
		else
			pc++;
	}
	DISPATCH();
}
op_FORPREP:
	if (for_prep(vm, RA))
		THROW();
	pc += KP_GET_SBX(i);
	DISPATCH();
op_FORLOOP:
	ra = RA;
	if (ra[1].tt == KP_TNUM) {
		/*
		 * Set the tag too: hostile bytecode may have stored another
		 * type in R(A) inside the loop body, and adding to its
		 * pointer must not leave a "string" the collector follows.
		 */
		kp_setnum(&ra[0], (kp_s64)((kp_u64)ra[0].u.n +
					   (kp_u64)ra[2].u.n));
		kp_setnum(&ra[3], ra[0].u.n);
		if (ra[1].u.n == 0)
			kp_setbool(&ra[1], 0);
		else
			ra[1].u.n = (kp_s64)((kp_u64)ra[1].u.n - 1);
		CHARGE();
		pc += KP_GET_SBX(i);
	}
	DISPATCH();
op_TFORLOOP: {
	struct kp_value *cb;
	int c = (int)KP_GET_C(i);

	ra = RA;
	cb = ra + 3;
	cb[0] = ra[0];
	cb[1] = ra[1];
	cb[2] = ra[2];
	CHARGE();
	SAVEPC();
	if (cb->tt == KP_TFUNC) {
		if (push_frame(vm, (kp_u32)(cb - vm->stack), 2, c,
			       KP_FRAME_TFOR))
			goto error;
		LOAD_FRAME();
		DISPATCH();
	}
	if (cb->tt != KP_TBUILTIN) {
		kp_rt_error(vm, "attempt to call a %s value", kp_typename(cb));
		goto error;
	}
	ret = call_builtin(vm, (unsigned int)cb->u.n, cb + 1, 2, cb, c);
	if (ret)
		goto builtin_failed;
	if (cb->tt != KP_TNIL)
		ra[2] = cb[0];
	else
		pc++;
	DISPATCH();
}
op_SETLIST: {
	int b = (int)KP_GET_B(i), j;
	kp_s64 first = (kp_s64)(KP_GET_C(i) - 1) * KP_FIELDS_PER_FLUSH;

	ra = RA;
	n = b ? b : (int)(vm->stack + vm->top - (ra + 1));
	if (ra->tt != KP_TTAB) {
		kp_rt_error(vm, "attempt to index a %s value", kp_typename(ra));
		THROW();
	}
	for (j = 1; j <= n; j++)
		if (kp_tab_setint(vm, ra->u.t, first + j, &ra[j]))
			THROW();
	DISPATCH();
}
op_CLOSE:
	kp_func_close(vm, RA);
	DISPATCH();
op_CLOSURE: {
	struct kp_proto *p = &vm->protos[KP_GET_BX(i)];
	struct kp_closure *ncl = kp_func_closure(vm, p);
	int j;

	if (!ncl)
		THROW();
	/* Anchored in R(A) before the upvalues allocate. */
	kp_setfunc(RA, ncl);
	for (j = 0; j < p->nupvals; j++) {
		unsigned int idx = p->upvals[2 * j + 1];

		if (p->upvals[2 * j]) {
			ncl->upvals[j] = kp_func_upval(vm, base + idx);
			if (!ncl->upvals[j])
				THROW();
		} else {
			ncl->upvals[j] = cl->upvals[idx];
		}
	}
	DISPATCH();
}
op_BUILTIN:
	kp_setbuiltin(RA, KP_GET_BX(i));
	DISPATCH();
op_EVENT:
	if (event_word(vm, RA, KP_GET_B(i)))
		THROW();
	DISPATCH();

builtin_failed:
	if (ret == KP_LIB_EXIT) {
		vm->budget = budget;
		return unwind(vm, KP_EXITED);
	}
error:
	vm->budget = budget;
	return unwind(vm, KP_ERROR);
budget_out:
	SAVEPC();
	kp_rt_error(vm, "instruction budget exceeded (%u)", vm->insn_budget);
	goto error;
time_out:
	SAVEPC();
	kp_rt_error(vm, "time budget exceeded (%llu us)",
		    (unsigned long long)(vm->time_budget_ns / 1000));
	goto error;
}

/* Run cl as an invocation of its own: fresh budget, result in stack[0]. */
static inline __attribute__((always_inline)) int
run_closure(struct kp_vm *vm, struct kp_closure *cl)
{
	vm->depth = 0;
	vm->top = 0;
	kp_setfunc(&vm->stack[0], cl);
	if (push_frame(vm, 0, 0, 1, KP_FRAME_ENTRY))
		return unwind(vm, KP_ERROR);
	return execute(vm);
}

static int state_result(const struct kp_vm *vm)
{
	if (vm->state == KP_STATE_ERROR)
		return KP_ERROR;
	return vm->state == KP_STATE_EXITED ? KP_EXITED : KP_OK;
}

static int not_loaded(struct kp_vm *vm)
{
	kp_rt_error(vm, "no chunk loaded");
	return unwind(vm, KP_ERROR);
}

/*
 * The event words read the cache of this event only, but for a probename
 * whose name_key says it is the text the cache holds. Values cached stay
 * (marked by the collector) until the next event replaces them.
 */
static void set_event(struct kp_vm *vm, const struct kp_event *ev)
{
	vm->ev = ev;
	if (!ev)
		return;
	kp_setnil(&vm->evstr[KP_EV_EXECNAME - KP_EV_EXECNAME]);
	kp_setnil(&vm->evstr[KP_EV_ARGSTR - KP_EV_EXECNAME]);
	if (!ev->name_key || ev->name_key != vm->evname_key)
		kp_setnil(&vm->evstr[KP_EV_PROBENAME - KP_EV_EXECNAME]);
}

int kp_vm_run_main(struct kp_vm *vm)
{
	int ret;

	if (vm->state != KP_STATE_RUNNABLE)
		return state_result(vm);
	if (!vm->loaded)
		return not_loaded(vm);
	set_event(vm, NULL);
	vm->budget = vm->insn_budget;
	ret = run_closure(vm, vm->main);
	kp_vm_flush(vm);
	return ret;
}

int kp_vm_run_probe(struct kp_vm *vm, unsigned int probe,
		    const struct kp_event *ev)
{
	struct kp_probe *p;
	int ret;

	if (vm->state != KP_STATE_RUNNABLE)
		return state_result(vm);
	if (probe >= vm->nprobes) {
		kp_rt_error(vm, "no probe %u", probe);
		return unwind(vm, KP_ERROR);
	}
	p = &vm->probes[probe];
	set_event(vm, ev);
	/* Filter and handler share the budgets of the event. */
	vm->budget = vm->insn_budget;
	vm->timed = vm->time_budget_ns != 0;
	vm->deadline = 0;
	ret = p->filter ? run_closure(vm, p->filter) : KP_OK;
	if (ret == KP_OK && (!p->filter || !kp_isfalse(&vm->stack[0])))
		ret = run_closure(vm, p->handler);
	vm->timed = 0;
	set_event(vm, NULL);
	/* Most handlers print nothing: no call for them. */
	if (vm->out.len || vm->out.cap > 4 * KP_OUT_FLUSH)
		kp_vm_flush(vm);
	return ret;
}

int kp_vm_run_end(struct kp_vm *vm)
{
	int ret = KP_OK, r;
	kp_u32 j;

	if (vm->state == KP_STATE_ERROR)
		return KP_ERROR;
	set_event(vm, NULL);
	for (j = 0; j < vm->nprobes; j++) {
		if (vm->probes[j].kind != KP_PROBE_END)
			continue;
		vm->budget = vm->insn_budget;
		r = run_closure(vm, vm->probes[j].handler);
		if (r == KP_ERROR) {
			ret = KP_ERROR;
			break;
		}
		if (r == KP_EXITED)
			ret = KP_EXITED;
	}
	kp_vm_flush(vm);
	return ret;
}

int kp_vm_create(struct kp_vm **vmp, const struct kp_vm_config *cfg)
{
	struct kp_arena *a = kp_arena_init(cfg->arena, cfg->arena_size);
	struct kp_vm *vm;
	kp_u32 j;

	if (!a)
		return -KP_ENOMEM;
	vm = kp_arena_alloc(a, sizeof(*vm));
	if (!vm)
		return -KP_ENOMEM;
	kp_memset(vm, 0, sizeof(*vm));
	vm->arena = a;
	vm->ops = cfg->ops ? cfg->ops : &kp_no_ops;
	vm->host = cfg->host;
	vm->insn_budget = cfg->insn_budget ? cfg->insn_budget :
					     KP_DEFAULT_INSN_BUDGET;
	vm->max_depth = cfg->max_call_depth ? cfg->max_call_depth :
					      KP_DEFAULT_CALL_DEPTH;
	vm->time_budget_ns = cfg->time_budget_ns;
	/* Per-session hash seed; iteration order never depends on it. */
	vm->nseed = (kp_wall_time_ns() ^ (kp_uintptr_t)vm) *
		    0x9e3779b97f4a7c15ull;
	vm->seed = (kp_u32)(vm->nseed >> 32);
	vm->gc_threshold = kp_arena_in_use(a) + KP_GC_MIN_STEP;
	vm->gc_block = 1;
	vm->nframes = vm->max_depth < KP_MIN_FRAMES ? vm->max_depth :
						      KP_MIN_FRAMES;
	vm->frames = kp_mem_alloc(vm, vm->nframes * sizeof(*vm->frames));
	vm->stack = kp_mem_alloc(vm, KP_MIN_STACK * sizeof(*vm->stack));
	vm->strbuf = kp_mem_alloc(vm, KP_STRBUF_SIZE);
	if (!vm->frames || !vm->stack || !vm->strbuf || kp_str_init(vm))
		return -KP_ENOMEM;
	vm->stacksize = KP_MIN_STACK;
	for (j = 0; j < KP_MIN_STACK; j++)
		kp_setnil(&vm->stack[j]);
	vm->gc_block = 0;
	*vmp = vm;
	return 0;
}

int kp_vm_set_args(struct kp_vm *vm, int argc, const char *const *argv)
{
	struct kp_value val;
	struct kp_tab *t;
	struct kp_str *s;
	kp_s64 n;
	int j;

	if (!vm->loaded || argc < 0)
		return -KP_EINVAL;
	t = kp_tab_new(vm, argc > 1 ? (kp_u32)argc - 1 : 0, 1);
	if (!t)
		return -KP_ENOMEM;
	kp_settab(&vm->globals[0], t);
	for (j = 0; j < argc; j++) {
		if (j && kp_lib_str2num(argv[j], kp_strlen(argv[j]), &n)) {
			kp_setnum(&val, n);
		} else {
			s = kp_str_newz(vm, argv[j]);
			if (!s)
				return -KP_ENOMEM;
			kp_setstr(&val, s);
		}
		if (kp_tab_setint(vm, t, j, &val))
			return -KP_ENOMEM;
	}
	return 0;
}

unsigned int kp_vm_nprobes(const struct kp_vm *vm)
{
	return vm->nprobes;
}

/*
 * A counter statement at *pc, either form:
 *   GETGLOBAL r, g; [NILZ r]; ADD a, r, K(c) (or K(c), r); SETGLOBAL a, g
 *   GETGLOBAL t, g; EVENT k, PROBENAME; GETTABLE v, t, k; [NILZ v];
 *     ADD a, v, K(c) (or K(c), v); SETTABLE t, k, a
 * (what ktapctl compiles `n += c` and `s[probename] += c` to). Moves *pc
 * past it.
 */
static int counter_stmt(const struct kp_proto *p, kp_u32 *pc,
			struct kp_counter_stmt *st)
{
	const kp_u32 *c = p->code;
	kp_u32 n = p->ncode, i = *pc, r, t = 0, key = 0, b, rk;

	if (i + 3 > n || KP_GET_OP(c[i]) != KP_OP_GETGLOBAL)
		return 0;
	r = KP_GET_A(c[i]);
	st->g = KP_GET_BX(c[i]);
	i++;
	st->keyed = KP_GET_OP(c[i]) == KP_OP_EVENT &&
		    KP_GET_B(c[i]) == KP_EV_PROBENAME;
	if (st->keyed) {
		t = r;
		key = KP_GET_A(c[i]);
		if (i + 4 > n || key == t ||
		    KP_GET_OP(c[i + 1]) != KP_OP_GETTABLE ||
		    KP_GET_B(c[i + 1]) != t || KP_GET_C(c[i + 1]) != key)
			return 0;
		r = KP_GET_A(c[i + 1]);
		if (r == t || r == key)
			return 0;
		i += 2;
	}
	if (KP_GET_OP(c[i]) == KP_OP_NILZ && KP_GET_A(c[i]) == r)
		i++;
	if (i + 2 > n || KP_GET_OP(c[i]) != KP_OP_ADD)
		return 0;
	b = KP_GET_B(c[i]);
	rk = KP_GET_C(c[i]);
	if (b & KP_RK_CONST) { /* K(c) + r */
		rk = b;
		b = KP_GET_C(c[i]);
	}
	if (b != r || !(rk & KP_RK_CONST))
		return 0;
	st->k = rk & ~KP_RK_CONST;
	if (st->k >= p->nk || p->k[st->k].tt != KP_TNUM)
		return 0;
	r = KP_GET_A(c[i]);
	i++;
	if (st->keyed ? KP_GET_OP(c[i]) != KP_OP_SETTABLE ||
				KP_GET_A(c[i]) != t || KP_GET_B(c[i]) != key ||
				KP_GET_C(c[i]) != r :
			KP_GET_OP(c[i]) != KP_OP_SETGLOBAL ||
				KP_GET_A(c[i]) != r || KP_GET_BX(c[i]) != st->g)
		return 0;
	*pc = i + 1;
	return 1;
}

/*
 * A counter handler: counter statements (at most KP_COUNTER_STMTS), then
 * RETURN with no values. Returns how many (0: not one).
 */
static int counter_code(const struct kp_proto *p, struct kp_counter_stmt *st)
{
	kp_u32 pc = 0;
	int n = 0;

	while (n < KP_COUNTER_STMTS && counter_stmt(p, &pc, &st[n]))
		n++;
	if (!n || pc + 1 != p->ncode || KP_GET_OP(p->code[pc]) != KP_OP_RETURN ||
	    KP_GET_B(p->code[pc]) != 1)
		return 0;
	return n;
}

/*
 * Whether code other than main, trace_end and tick handlers reads or sets
 * global g, counter handlers aside (adds commute: their order is free).
 */
static int global_used_elsewhere(const struct kp_vm *vm, kp_u32 g)
{
	struct kp_counter_stmt st[KP_COUNTER_STMTS];
	const struct kp_proto *p;
	kp_u32 i, j, pc, op;
	int own;

	for (i = 0; i < vm->nprotos; i++) {
		p = &vm->protos[i];
		if ((vm->main && p == vm->main->p) || counter_code(p, st))
			continue;
		own = 0;
		for (j = 0; j < vm->nprobes && !own; j++)
			own = (vm->probes[j].kind == KP_PROBE_END ||
			       vm->probes[j].kind == KP_PROBE_TICK) &&
			      vm->probes[j].handler->p == p;
		if (own)
			continue;
		for (pc = 0; pc < p->ncode; pc++) {
			op = KP_GET_OP(p->code[pc]);
			if ((op == KP_OP_GETGLOBAL || op == KP_OP_SETGLOBAL) &&
			    KP_GET_BX(p->code[pc]) == g)
				return 1;
		}
	}
	return 0;
}

/* The statements of counter probe `probe` (into p->counter), or 0. */
static int probe_counter(const struct kp_vm *vm, struct kp_probe *p)
{
	int n, i;

	if (p->kind != KP_PROBE_TRACE || p->filter)
		return 0;
	n = counter_code(p->handler->p, p->counter);
	for (i = 0; i < n; i++)
		if (p->counter[i].g >= vm->nglobals ||
		    global_used_elsewhere(vm, p->counter[i].g))
			return 0;
	return n;
}

void kp_vm_find_counters(struct kp_vm *vm)
{
	kp_u32 j;

	for (j = 0; j < vm->nprobes; j++)
		vm->probes[j].ncounter = probe_counter(vm, &vm->probes[j]);
}

int kp_vm_probe_counter(const struct kp_vm *vm, unsigned int probe)
{
	return probe < vm->nprobes && vm->probes[probe].ncounter > 0;
}

/* The event of a counted run: probename only. */
struct counted_event {
	struct kp_event ev;
	const char *name;
	kp_size_t len;
};

static long counted_str(const struct kp_event *ev, int field, char *buf,
			kp_size_t size)
{
	const struct counted_event *c = (const struct counted_event *)ev;
	kp_size_t n = c->len < size ? c->len : size;

	if (field != KP_EV_PROBENAME || !c->name)
		return -1;
	kp_memcpy(buf, c->name, n);
	return (long)n;
}

int kp_vm_run_counted(struct kp_vm *vm, unsigned int probe,
		      const char *probename, kp_size_t len, kp_u64 runs)
{
	struct counted_event ce = { .ev = { .str_field = counted_str },
				    .name = probename, .len = len };
	const struct kp_counter_stmt *st;
	const struct kp_proto *p;
	const struct kp_value *cur;
	struct kp_value key, val, *v;
	struct kp_str *s = NULL;
	int n, i, r;

	if (vm->state != KP_STATE_RUNNABLE)
		return state_result(vm);
	if (!runs)
		return KP_OK;
	if (!kp_vm_probe_counter(vm, probe)) {
		kp_rt_error(vm, "probe %u is not a counter", probe);
		return unwind(vm, KP_ERROR);
	}
	n = vm->probes[probe].ncounter;
	st = vm->probes[probe].counter;
	p = vm->probes[probe].handler->p;
	/* All or nothing: every value must be one the adds take. */
	for (i = 0; i < n; i++) {
		v = &vm->globals[st[i].g];
		if (!st[i].keyed) {
			if (v->tt != KP_TNIL && v->tt != KP_TNUM)
				goto slow;
			continue;
		}
		if (v->tt != KP_TTAB || !probename)
			goto slow;
		if (!s) {
			s = kp_str_new(vm, probename, len);
			if (!s)
				return unwind(vm, KP_ERROR);
			/* kp_tab_set() keeps it; then a table holds it. */
			kp_setstr(&key, s);
		}
		cur = kp_tab_get(vm, v->u.t, &key);
		if (cur->tt != KP_TNIL && cur->tt != KP_TNUM)
			goto slow;
	}
	for (i = 0; i < n; i++) {
		kp_u64 add = runs * (kp_u64)p->k[st[i].k].u.n;

		v = &vm->globals[st[i].g];
		if (!st[i].keyed) {
			kp_setnum(v, (kp_s64)((kp_u64)(v->tt == KP_TNUM ?
							       v->u.n : 0) +
					      add));
			continue;
		}
		cur = kp_tab_get(vm, v->u.t, &key);
		kp_setnum(&val, (kp_s64)((kp_u64)(cur->tt == KP_TNUM ?
							  cur->u.n : 0) +
					 add));
		if (kp_tab_set(vm, v->u.t, &key, &val))
			return unwind(vm, KP_ERROR);
	}
	return KP_OK;
slow:
	/* What the handler does with such values (fails, as a rule). */
	do {
		r = kp_vm_run_probe(vm, probe, &ce.ev);
	} while (r == KP_OK && --runs);
	return r;
}

int kp_vm_probe_info(const struct kp_vm *vm, unsigned int probe,
		     struct kp_probe_info *info)
{
	const struct kp_probe *p;

	if (probe >= vm->nprobes)
		return -KP_EINVAL;
	p = &vm->probes[probe];
	info->kind = p->kind;
	info->spec = p->spec;
	info->period_ns = p->period_ns;
	info->line = p->line;
	return 0;
}

const char *kp_vm_error(const struct kp_vm *vm)
{
	return vm->state == KP_STATE_ERROR ? vm->error : "";
}

int kp_vm_exited(const struct kp_vm *vm)
{
	return vm->state != KP_STATE_RUNNABLE;
}

int kp_vm_exit_status(const struct kp_vm *vm)
{
	return vm->exit_status;
}

void kp_vm_mem_stats(const struct kp_vm *vm, struct kp_mem_stats *st)
{
	st->arena_size = kp_arena_quota(vm->arena);
	st->in_use = kp_arena_in_use(vm->arena);
	st->peak = kp_arena_peak(vm->arena);
	st->collections = vm->collections;
}
