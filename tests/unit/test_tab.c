// SPDX-License-Identifier: GPL-2.0
/*
 * Tables (kmod/vm/tab.c): array and hash parts, every key type, deletion,
 * traversal order (array part, then insertion order), next() across
 * deletions, re-insertion, preallocation, and memory that does not grow
 * with deletes and re-inserts of the same keys.
 */
#include <string.h>

#include "kp_gc.h"
#include "kp_str.h"
#include "kp_tab.h"
#include "unit.h"

static struct tvm t;

static struct kp_value num(int64_t n)
{
	struct kp_value v;

	kp_setnum(&v, n);
	return v;
}

static struct kp_value str(struct kp_vm *vm, const char *s)
{
	struct kp_value v;

	kp_setstr(&v, kp_str_newz(vm, s));
	return v;
}

/* A table rooted in stack slot i, so collections keep it. */
static struct kp_tab *rooted(struct kp_vm *vm, int i, uint32_t narr,
			     uint32_t nrec)
{
	struct kp_tab *tab = kp_tab_new(vm, narr, nrec);

	kp_settab(&vm->stack[i], tab);
	if (vm->top < (kp_u32)i + 1)
		vm->top = i + 1;
	return tab;
}

static void set(struct kp_vm *vm, struct kp_tab *tab, struct kp_value k,
		struct kp_value v)
{
	CHECK(kp_tab_set(vm, tab, &k, &v) == 0);
}

static const struct kp_value *get(struct kp_vm *vm, struct kp_tab *tab,
				  struct kp_value k)
{
	return kp_tab_get(vm, tab, &k);
}

/* The traversal rendered as "k=v k=v ..." (numbers and strings only). */
static const char *walk(struct kp_vm *vm, struct kp_tab *tab)
{
	static char out[1024];
	struct kp_value k, v;
	size_t n = 0;

	kp_setnil(&k);
	out[0] = '\0';
	while (kp_tab_next(vm, tab, &k, &v) > 0) {
		char ks[64], vs[64];

		if (k.tt == KP_TNUM)
			snprintf(ks, sizeof(ks), "%lld", (long long)k.u.n);
		else if (k.tt == KP_TSTR)
			snprintf(ks, sizeof(ks), "%s", k.u.s->data);
		else
			snprintf(ks, sizeof(ks), "<%s>", kp_typename(&k));
		if (v.tt == KP_TNUM)
			snprintf(vs, sizeof(vs), "%lld", (long long)v.u.n);
		else
			snprintf(vs, sizeof(vs), "<%s>", kp_typename(&v));
		n += snprintf(out + n, sizeof(out) - n, "%s%s=%s", n ? " " : "",
			      ks, vs);
	}
	return out;
}

static void test_parts_and_order(struct kp_vm *vm)
{
	struct kp_tab *tab = rooted(vm, 0, 0, 0);
	struct kp_value nil;
	int i;

	kp_setnil(&nil);
	set(vm, tab, num(3), num(30)); /* not alen + 1: hash part */
	set(vm, tab, str(vm, "b"), num(2));
	set(vm, tab, num(1), num(10)); /* array */
	set(vm, tab, str(vm, "a"), num(1));
	set(vm, tab, num(2), num(20)); /* array */
	set(vm, tab, num(3), num(33)); /* still in the hash part */
	set(vm, tab, num(4), num(40)); /* 4 != alen + 1: hash */
	set(vm, tab, num(-5), num(-50));
	set(vm, tab, num(0), num(0));
	CHECK(tab->alen == 2 && tab->count == 8);
	CHECK_STR(walk(vm, tab), "1=10 2=20 3=33 b=2 a=1 4=40 -5=-50 0=0");
	CHECK(get(vm, tab, num(3))->u.n == 33);
	CHECK(get(vm, tab, num(99))->tt == KP_TNIL);
	CHECK(kp_tab_set(vm, tab, &nil, &nil) == KP_ERROR);
	CHECK(get(vm, tab, nil)->tt == KP_TNIL);
	/* A hole in the array part, refilled in place. */
	set(vm, tab, num(1), nil);
	CHECK(tab->count == 7 && get(vm, tab, num(1))->tt == KP_TNIL);
	set(vm, tab, num(1), num(11));
	CHECK_STR(walk(vm, tab), "1=11 2=20 3=33 b=2 a=1 4=40 -5=-50 0=0");
	/* Deleted then re-inserted: a new insertion, at the end. */
	set(vm, tab, str(vm, "b"), nil);
	set(vm, tab, str(vm, "b"), num(22));
	CHECK_STR(walk(vm, tab), "1=11 2=20 3=33 a=1 4=40 -5=-50 0=0 b=22");
	/* A long array part grows by appending. */
	tab = rooted(vm, 1, 0, 0);
	for (i = 1; i <= 1000; i++)
		set(vm, tab, num(i), num(i * i));
	CHECK(tab->alen == 1000 && tab->hcount == 0 && tab->count == 1000);
	CHECK(get(vm, tab, num(999))->u.n == 998001);
}

static void test_key_types(struct kp_vm *vm)
{
	struct kp_tab *tab = rooted(vm, 0, 0, 0), *other = rooted(vm, 1, 0, 0);
	struct kp_value k, v, l1, l2;
	char buf[64];

	kp_setbool(&k, 1);
	set(vm, tab, k, num(1));
	kp_setbool(&k, 0);
	set(vm, tab, k, num(2));
	kp_settab(&k, other);
	set(vm, tab, k, num(3));
	kp_setbuiltin(&k, KP_BI_PRINT);
	set(vm, tab, k, num(4));
	set(vm, tab, num(INT64_MIN), num(5));
	set(vm, tab, num(INT64_MAX), num(6));
	/* Two long strings with the same bytes are one key. */
	memset(buf, 'k', sizeof(buf));
	kp_setstr(&l1, kp_str_new(vm, buf, sizeof(buf)));
	kp_setstr(&l2, kp_str_new(vm, buf, sizeof(buf)));
	CHECK(l1.u.s != l2.u.s);
	set(vm, tab, l1, num(7));
	set(vm, tab, l2, num(8));
	CHECK(tab->count == 7 && get(vm, tab, l1)->u.n == 8);
	kp_setbool(&k, 1);
	CHECK(get(vm, tab, k)->u.n == 1);
	kp_setbool(&k, 0);
	CHECK(get(vm, tab, k)->u.n == 2);
	kp_settab(&k, other);
	CHECK(get(vm, tab, k)->u.n == 3);
	kp_settab(&k, tab);
	CHECK(get(vm, tab, k)->tt == KP_TNIL);
	kp_setbuiltin(&k, KP_BI_PRINT);
	CHECK(get(vm, tab, k)->u.n == 4);
	kp_setbuiltin(&k, KP_BI_PAIRS);
	CHECK(get(vm, tab, k)->tt == KP_TNIL);
	CHECK(get(vm, tab, num(INT64_MIN))->u.n == 5);
	CHECK(get(vm, tab, num(INT64_MAX))->u.n == 6);
	/* Values of every type. */
	kp_setbool(&v, 0);
	set(vm, tab, str(vm, "f"), v);
	CHECK(get(vm, tab, str(vm, "f"))->tt == KP_TBOOL);
}

/* Deleting the current key (or every key) while traversing. */
static void test_next_with_deletion(struct kp_vm *vm)
{
	struct kp_tab *tab = rooted(vm, 0, 0, 0);
	struct kp_value k, v, nil;
	char name[16];
	int i, seen = 0;

	kp_setnil(&nil);
	for (i = 1; i <= 5; i++)
		set(vm, tab, num(i), num(i));
	for (i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "s%d", i);
		set(vm, tab, str(vm, name), num(i));
	}
	kp_setnil(&k);
	while (kp_tab_next(vm, tab, &k, &v) > 0) {
		seen++;
		CHECK(kp_tab_set(vm, tab, &k, &nil) == 0);
		kp_gc_collect(vm); /* deleted keys stay valid for next() */
	}
	CHECK(seen == 55 && tab->count == 0);
	CHECK_STR(walk(vm, tab), "");
	/* A key that was never there. */
	k = str(vm, "nope");
	CHECK(kp_tab_next(vm, tab, &k, &v) == KP_ERROR);
	/* Deleting keys ahead of the cursor: they are not visited. */
	for (i = 0; i < 6; i++) {
		snprintf(name, sizeof(name), "x%d", i);
		set(vm, tab, str(vm, name), num(i));
	}
	k = str(vm, "x0");
	set(vm, tab, str(vm, "x2"), nil);
	CHECK(kp_tab_next(vm, tab, &k, &v) == 1 && v.u.n == 1);
	CHECK(kp_tab_next(vm, tab, &k, &v) == 1 && v.u.n == 3);
}

static size_t live(struct kp_vm *vm)
{
	struct kp_mem_stats st;

	kp_gc_collect(vm);
	kp_vm_mem_stats(vm, &st);
	return st.in_use;
}

/* Deletes and re-inserts of the same keys do not grow a table. */
static void test_memory(struct kp_vm *vm)
{
	struct kp_tab *tab = rooted(vm, 0, 0, 0);
	struct kp_value nil;
	size_t first = 0;
	char name[16];
	int round, i;

	kp_setnil(&nil);
	for (round = 0; round < 200; round++) {
		for (i = 0; i < 300; i++) {
			snprintf(name, sizeof(name), "key%d", i);
			set(vm, tab, str(vm, name), num(round));
		}
		for (i = 0; i < 300; i += 2) {
			snprintf(name, sizeof(name), "key%d", i);
			set(vm, tab, str(vm, name), nil);
		}
		if (round == 5)
			first = live(vm);
	}
	CHECK(tab->count == 150);
	CHECK(tab->ncap <= 512);
	CHECK(live(vm) <= first);
	/* delete() gives everything back. */
	kp_tab_clear(vm, tab);
	CHECK(tab->count == 0 && !tab->ncap && !tab->asize);
	CHECK_STR(walk(vm, tab), "");
	CHECK(live(vm) < first);
	/* table.new(narr, nrec) preallocates both parts. */
	tab = rooted(vm, 1, 10, 10);
	CHECK(tab->asize == 10 && tab->ncap >= 10);
	for (i = 1; i <= 10; i++)
		set(vm, tab, num(i), num(i));
	CHECK(tab->asize == 10);
}

int main(void)
{
	CHECK(tvm_open(&t, 4u << 20, 0, 0) == 0);
	test_parts_and_order(t.vm);
	test_key_types(t.vm);
	test_next_with_deletion(t.vm);
	test_memory(t.vm);
	tvm_close(&t);
	return unit_done("tab");
}
