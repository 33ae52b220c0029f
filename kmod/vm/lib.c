// SPDX-License-Identifier: GPL-2.0
/*
 * The built-in functions. The table of names and argument counts and the
 * dispatch table are both expanded from KP_BUILTINS; each function is
 * named bi_<ID> after its id there. Argument counts are checked before the
 * call, argument types by each function, with Lua's messages.
 */
#include "kp_fmt.h"
#include "kp_gc.h"
#include "kp_lib.h"
#include "kp_str.h"
#include "kp_tab.h"
#include "../../proto/opcodes.h"

#define KP_HIST_WIDTH 40 /* '@' characters of a full bar */
#define KP_HIST_KEY 32 /* bytes of key text shown */
#define KP_HIST_ROWS 20 /* rows shown by default */
#define KP_STACK_DEPTH 16 /* stack() frames by default */
#define KP_READ_STR_MAX 256 /* user_string()/kernel_string() bound */

struct kp_bi_info {
	const char *name;
	int min, max;
};

static const struct kp_bi_info kp_bi_info[KP_BI__COUNT] = {
#define KP_BI_INFO(id, name, min, max) { name, min, max },
	KP_BUILTINS(KP_BI_INFO)
#undef KP_BI_INFO
};

const char *kp_builtin_name(int id)
{
	return id >= 0 && id < KP_BI__COUNT ? kp_bi_info[id].name : "?";
}

static int bad_type(struct kp_vm *vm, unsigned int id, int argn,
		    const char *what, const struct kp_value *v)
{
	return kp_rt_error(vm, "bad argument #%d to '%s' (%s expected, got %s)",
			   argn, kp_bi_info[id].name, what, kp_typename(v));
}

/* Argument i (0-based) must have type tt; optional ones may be nil/absent. */
static int check_arg(struct kp_vm *vm, unsigned int id,
		     const struct kp_value *args, int nargs, int i,
		     unsigned int tt, const char *what)
{
	if (i >= nargs || args[i].tt == tt)
		return 0;
	if (i >= kp_bi_info[id].min && args[i].tt == KP_TNIL)
		return 0;
	return bad_type(vm, id, i + 1, what, &args[i]);
}

/* Optional number argument i, or def when absent or nil. */
static kp_s64 opt_num(const struct kp_value *args, int nargs, int i,
		      kp_s64 def)
{
	return i < nargs && args[i].tt == KP_TNUM ? args[i].u.n : def;
}

static int ret_num(struct kp_vm *vm, kp_s64 n)
{
	kp_setnum(&vm->bires[0], n);
	return 1;
}

static int ret_str(struct kp_vm *vm, const char *s, kp_size_t len)
{
	struct kp_str *ts = kp_str_new(vm, s, len);

	if (!ts)
		return KP_ERROR;
	kp_setstr(&vm->bires[0], ts);
	return 1;
}

static int ret_nil(struct kp_vm *vm)
{
	kp_setnil(&vm->bires[0]);
	return 1;
}

static int bi_PRINT(struct kp_vm *vm, const struct kp_value *args, int nargs)
{
	kp_size_t start = vm->out.len;
	int i;

	for (i = 0; i < nargs; i++) {
		if ((i && kp_buf_add(vm, &vm->out, "\t", 1)) ||
		    kp_fmt_value(vm, &vm->out, &args[i]))
			goto fail;
	}
	if (kp_buf_add(vm, &vm->out, "\n", 1))
		goto fail;
	return 0;
fail:
	vm->out.len = start;
	return KP_ERROR;
}

static int bi_PRINTF(struct kp_vm *vm, const struct kp_value *args, int nargs)
{
	kp_size_t start = vm->out.len;

	if (check_arg(vm, KP_BI_PRINTF, args, nargs, 0, KP_TSTR, "string"))
		return KP_ERROR;
	if (kp_fmt_printf(vm, &vm->out, args[0].u.s, args + 1, nargs - 1)) {
		vm->out.len = start; /* nothing of a failed printf shows */
		return KP_ERROR;
	}
	return 0;
}

static int bi_LEN(struct kp_vm *vm, const struct kp_value *args, int nargs)
{
	if (args[0].tt == KP_TSTR)
		return ret_num(vm, args[0].u.s->len);
	if (args[0].tt == KP_TTAB)
		return ret_num(vm, args[0].u.t->count);
	return bad_type(vm, KP_BI_LEN, 1, "string or table", &args[0]);
}

static int bi_PAIRS(struct kp_vm *vm, const struct kp_value *args, int nargs)
{
	if (check_arg(vm, KP_BI_PAIRS, args, nargs, 0, KP_TTAB, "table"))
		return KP_ERROR;
	kp_setbuiltin(&vm->bires[0], KP_BI_NEXT);
	vm->bires[1] = args[0];
	kp_setnil(&vm->bires[2]);
	return 3;
}

static int bi_NEXT(struct kp_vm *vm, const struct kp_value *args, int nargs)
{
	int r;

	if (check_arg(vm, KP_BI_NEXT, args, nargs, 0, KP_TTAB, "table"))
		return KP_ERROR;
	vm->bires[0] = nargs > 1 ? args[1] : kp_nilvalue;
	r = kp_tab_next(vm, args[0].u.t, &vm->bires[0], &vm->bires[1]);
	if (r < 0)
		return KP_ERROR;
	if (!r)
		return ret_nil(vm);
	return 2;
}

static int bi_DELETE(struct kp_vm *vm, const struct kp_value *args, int nargs)
{
	if (check_arg(vm, KP_BI_DELETE, args, nargs, 0, KP_TTAB, "table"))
		return KP_ERROR;
	kp_tab_clear(vm, args[0].u.t);
	return 0;
}

static int bi_EXIT(struct kp_vm *vm, const struct kp_value *args, int nargs)
{
	if (check_arg(vm, KP_BI_EXIT, args, nargs, 0, KP_TNUM, "number"))
		return KP_ERROR;
	vm->exit_status = (int)opt_num(args, nargs, 0, 0);
	return KP_LIB_EXIT;
}

/* One row of print_hist: the count and the key's text, cut. */
struct kp_hist_row {
	kp_s64 count;
	kp_u32 len;
	char text[KP_HIST_KEY];
};

/* Count descending, then key text ascending. */
static int hist_before(const struct kp_hist_row *a, const struct kp_hist_row *b)
{
	kp_u32 n = a->len < b->len ? a->len : b->len;
	int r;

	if (a->count != b->count)
		return a->count > b->count;
	r = kp_memcmp(a->text, b->text, n);
	return r ? r < 0 : a->len < b->len;
}

static void hist_swap(struct kp_hist_row *a, struct kp_hist_row *b)
{
	struct kp_hist_row t = *a;

	*a = *b;
	*b = t;
}

/* Heap sort into "before" order: O(n log n), no recursion. */
static void hist_sort(struct kp_hist_row *r, kp_u32 n)
{
	kp_u32 i, end, root, child;

	for (end = n, i = n / 2; end > 1;) {
		if (i > 0) {
			root = --i;
		} else {
			hist_swap(&r[0], &r[--end]);
			root = 0;
		}
		for (; (child = 2 * root + 1) < end; root = child) {
			if (child + 1 < end &&
			    hist_before(&r[child], &r[child + 1]))
				child++;
			if (!hist_before(&r[root], &r[child]))
				break;
			hist_swap(&r[root], &r[child]);
		}
	}
}

static int hist_line(struct kp_vm *vm, const struct kp_hist_row *row,
		     kp_s64 sum)
{
	static const char bar[KP_HIST_WIDTH + 1] =
		"@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@";
	char pad[KP_HIST_WIDTH], num[KP_NUM_BUF];
	kp_s64 c = row->count, w = 0;
	int n;

	if (sum > 0 && c > 0)
		w = c <= KP_S64_MAX / KP_HIST_WIDTH ? c * KP_HIST_WIDTH / sum :
						      c / (sum / KP_HIST_WIDTH);
	if (w > KP_HIST_WIDTH)
		w = KP_HIST_WIDTH;
	kp_memset(pad, ' ', sizeof(pad));
	n = kp_fmt_int(num, c);
	if (kp_buf_add(vm, &vm->out, pad, KP_HIST_KEY - row->len) ||
	    kp_buf_add(vm, &vm->out, row->text, row->len) ||
	    kp_buf_add(vm, &vm->out, " |", 2) ||
	    kp_buf_add(vm, &vm->out, bar, (kp_size_t)w) ||
	    kp_buf_add(vm, &vm->out, pad, (kp_size_t)(KP_HIST_WIDTH - w)) ||
	    kp_buf_add(vm, &vm->out, " ", 1) ||
	    kp_buf_add(vm, &vm->out, num, (kp_size_t)n) ||
	    kp_buf_add(vm, &vm->out, "\n", 1))
		return KP_ERROR;
	return 0;
}

static int bi_PRINT_HIST(struct kp_vm *vm, const struct kp_value *args,
			 int nargs)
{
	static const char head[] =
		"                          value ------------- Distribution ------------- count\n";
	static const char more[] = "                             ... |\n";
	struct kp_tab *t;
	struct kp_hist_row *rows;
	struct kp_value key, val;
	kp_u32 n = 0, i, shown;
	kp_s64 sum = 0, max;
	int r, ret = KP_ERROR;

	if (check_arg(vm, KP_BI_PRINT_HIST, args, nargs, 0, KP_TTAB, "table") ||
	    check_arg(vm, KP_BI_PRINT_HIST, args, nargs, 1, KP_TNUM, "number"))
		return KP_ERROR;
	t = args[0].u.t;
	max = opt_num(args, nargs, 1, KP_HIST_ROWS);
	rows = kp_mem_alloc(vm, (kp_size_t)(t->count ? t->count : 1) *
					sizeof(*rows));
	if (!rows)
		return KP_ERROR;
	kp_setnil(&key);
	while ((r = kp_tab_next(vm, t, &key, &val)) > 0) {
		if (val.tt != KP_TNUM)
			continue;
		vm->buf.len = 0;
		if (kp_fmt_value(vm, &vm->buf, &key))
			goto out;
		rows[n].count = val.u.n;
		rows[n].len = vm->buf.len < KP_HIST_KEY ? (kp_u32)vm->buf.len :
							  KP_HIST_KEY;
		if (rows[n].len)
			kp_memcpy(rows[n].text, vm->buf.p, rows[n].len);
		/* Bars are shares of the positive counts; saturate, never wrap. */
		if (val.u.n > 0)
			sum = val.u.n > KP_S64_MAX - sum ? KP_S64_MAX :
							   sum + val.u.n;
		n++;
	}
	hist_sort(rows, n);
	shown = max < 0 ? 0 : max < n ? (kp_u32)max : n;
	if (kp_buf_add(vm, &vm->out, head, sizeof(head) - 1))
		goto out;
	for (i = 0; i < shown; i++)
		if (hist_line(vm, &rows[i], sum))
			goto out;
	if (shown < n && kp_buf_add(vm, &vm->out, more, sizeof(more) - 1))
		goto out;
	ret = 0;
out:
	kp_buf_trim(vm, &vm->buf, KP_BUF_KEEP);
	kp_mem_free(vm, rows);
	return ret;
}

/* Table sizes from script numbers: negative is 0, huge fails in the arena. */
static kp_u32 size_arg(const struct kp_value *args, int nargs, int i)
{
	kp_s64 n = opt_num(args, nargs, i, 0);

	return n < 0 ? 0 : n > (1 << 28) ? 1u << 28 : (kp_u32)n;
}

static int bi_TABLE_NEW(struct kp_vm *vm, const struct kp_value *args,
			int nargs)
{
	struct kp_tab *t;

	if (check_arg(vm, KP_BI_TABLE_NEW, args, nargs, 0, KP_TNUM, "number") ||
	    check_arg(vm, KP_BI_TABLE_NEW, args, nargs, 1, KP_TNUM, "number"))
		return KP_ERROR;
	t = kp_tab_new(vm, size_arg(args, nargs, 0), size_arg(args, nargs, 1));
	if (!t)
		return KP_ERROR;
	kp_settab(&vm->bires[0], t);
	return 1;
}

static int bi_GETTIMEOFDAY_S(struct kp_vm *vm, const struct kp_value *args,
			     int nargs)
{
	return ret_num(vm, (kp_s64)(kp_wall_time_ns() / 1000000000u));
}

static int bi_GETTIMEOFDAY_MS(struct kp_vm *vm, const struct kp_value *args,
			      int nargs)
{
	return ret_num(vm, (kp_s64)(kp_wall_time_ns() / 1000000u));
}

static int bi_GETTIMEOFDAY_US(struct kp_vm *vm, const struct kp_value *args,
			      int nargs)
{
	return ret_num(vm, (kp_s64)(kp_wall_time_ns() / 1000u));
}

static int bi_GETTIMEOFDAY_NS(struct kp_vm *vm, const struct kp_value *args,
			      int nargs)
{
	return ret_num(vm, (kp_s64)kp_wall_time_ns());
}

static int bi_NUM_CPUS(struct kp_vm *vm, const struct kp_value *args,
		       int nargs)
{
	return ret_num(vm, kp_num_cpus());
}

static int bi_ARCH(struct kp_vm *vm, const struct kp_value *args, int nargs)
{
	const char *s = kp_arch();

	return ret_str(vm, s, kp_strlen(s));
}

static int bi_KERNEL_V(struct kp_vm *vm, const struct kp_value *args,
		       int nargs)
{
	const char *s = kp_kernel_release();

	return ret_str(vm, s, kp_strlen(s));
}

/* stack([depth [, skip]]) and ustack(...): text from the host, or nil. */
static int host_stack(struct kp_vm *vm, unsigned int id,
		      const struct kp_value *args, int nargs, int user)
{
	long n;

	if (check_arg(vm, id, args, nargs, 0, KP_TNUM, "number") ||
	    check_arg(vm, id, args, nargs, 1, KP_TNUM, "number"))
		return KP_ERROR;
	if (!vm->ops->stack || !vm->ev)
		return ret_nil(vm);
	n = vm->ops->stack(vm->host, vm->ev, user,
			   (int)opt_num(args, nargs, 0, KP_STACK_DEPTH),
			   (int)opt_num(args, nargs, 1, 0), vm->strbuf,
			   KP_STRBUF_SIZE);
	if (n < 0)
		return ret_nil(vm);
	return ret_str(vm, vm->strbuf,
		       (kp_size_t)n < KP_STRBUF_SIZE ? (kp_size_t)n :
						      KP_STRBUF_SIZE);
}

static int bi_STACK(struct kp_vm *vm, const struct kp_value *args, int nargs)
{
	return host_stack(vm, KP_BI_STACK, args, nargs, 0);
}

static int bi_USTACK(struct kp_vm *vm, const struct kp_value *args, int nargs)
{
	return host_stack(vm, KP_BI_USTACK, args, nargs, 1);
}

static int host_string(struct kp_vm *vm, unsigned int id,
		       const struct kp_value *args, int nargs, int user)
{
	long n;

	if (check_arg(vm, id, args, nargs, 0, KP_TNUM, "number"))
		return KP_ERROR;
	if (!vm->ops->read_string)
		return ret_nil(vm);
	n = vm->ops->read_string(vm->host, vm->ev, user, (kp_u64)args[0].u.n,
				 vm->strbuf, KP_READ_STR_MAX);
	if (n < 0)
		return ret_nil(vm);
	return ret_str(vm, vm->strbuf,
		       (kp_size_t)n < KP_READ_STR_MAX ? (kp_size_t)n :
							KP_READ_STR_MAX);
}

static int bi_USER_STRING(struct kp_vm *vm, const struct kp_value *args,
			  int nargs)
{
	return host_string(vm, KP_BI_USER_STRING, args, nargs, 1);
}

static int bi_KERNEL_STRING(struct kp_vm *vm, const struct kp_value *args,
			    int nargs)
{
	return host_string(vm, KP_BI_KERNEL_STRING, args, nargs, 0);
}

static int bi_TOSTRING(struct kp_vm *vm, const struct kp_value *args,
		       int nargs)
{
	if (args[0].tt == KP_TSTR) {
		vm->bires[0] = args[0];
		return 1;
	}
	vm->buf.len = 0;
	if (kp_fmt_value(vm, &vm->buf, &args[0]))
		return KP_ERROR;
	return ret_str(vm, vm->buf.p, vm->buf.len);
}

static int is_blank(char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
		return (c | 0x20) - 'a' + 10;
	return -1;
}

int kp_lib_str2num(const char *s, kp_size_t len, kp_s64 *out)
{
	const char *end = s + len;
	kp_u64 v = 0, lim;
	int neg = 0, digits = 0, d;

	while (s < end && is_blank(*s))
		s++;
	while (end > s && is_blank(end[-1]))
		end--;
	if (s < end && (*s == '-' || *s == '+'))
		neg = *s++ == '-';
	if (end - s > 2 && s[0] == '0' && (s[1] | 0x20) == 'x') {
		/* Hex wraps like a 64-bit literal: 0xffffffffffffffff is -1. */
		for (s += 2; s < end && (d = hex_digit(*s)) >= 0; s++) {
			if (++digits > 16)
				return 0;
			v = v << 4 | (kp_u64)d;
		}
	} else {
		lim = neg ? (kp_u64)KP_S64_MAX + 1 : (kp_u64)KP_S64_MAX;
		for (; s < end && *s >= '0' && *s <= '9'; s++, digits++) {
			d = *s - '0';
			if (v > (lim - (kp_u64)d) / 10)
				return 0;
			v = v * 10 + (kp_u64)d;
		}
	}
	if (!digits || s != end)
		return 0;
	*out = (kp_s64)(neg ? 0 - v : v);
	return 1;
}

static int bi_TONUMBER(struct kp_vm *vm, const struct kp_value *args,
		       int nargs)
{
	kp_s64 n;

	if (args[0].tt == KP_TNUM) {
		vm->bires[0] = args[0];
		return 1;
	}
	if (args[0].tt == KP_TSTR &&
	    kp_lib_str2num(args[0].u.s->data, args[0].u.s->len, &n))
		return ret_num(vm, n);
	return ret_nil(vm);
}

typedef int (*kp_builtin_fn)(struct kp_vm *vm, const struct kp_value *args,
			     int nargs);

static const kp_builtin_fn kp_bi_fn[KP_BI__COUNT] = {
#define KP_BI_FN(id, name, min, max) [KP_BI_##id] = bi_##id,
	KP_BUILTINS(KP_BI_FN)
#undef KP_BI_FN
};

int kp_lib_call(struct kp_vm *vm, unsigned int id, const struct kp_value *args,
		int nargs)
{
	const struct kp_bi_info *bi = &kp_bi_info[id];
	int n;

	if (nargs < bi->min || (bi->max >= 0 && nargs > bi->max))
		return kp_rt_error(vm, "wrong number of arguments to '%s'",
				   bi->name);
	n = kp_bi_fn[id](vm, args, nargs);
	if (vm->out.len >= KP_OUT_FLUSH)
		kp_vm_flush(vm);
	return n;
}
