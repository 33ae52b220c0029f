// SPDX-License-Identifier: GPL-2.0
/*
 * Strings (kmod/vm/str.c): short strings interned, long ones compared by
 * content, NUL bytes, ordering, and the collector sweeping the intern
 * table weakly (and shrinking it) while rooted strings stay.
 */
#include <string.h>

#include "kp_gc.h"
#include "kp_str.h"
#include "unit.h"

static struct tvm t;

static void test_interning(struct kp_vm *vm)
{
	char long1[100], long2[100];
	struct kp_str *a = kp_str_newz(vm, "execname");
	struct kp_str *b = kp_str_new(vm, "execname!", 8);
	struct kp_str *x, *y, *z;

	CHECK(a && a == b && !a->islong && a->len == 8);
	CHECK(!strcmp(a->data, "execname"));
	/* Bytes after a NUL count. */
	x = kp_str_new(vm, "a\0b", 3);
	y = kp_str_new(vm, "a\0c", 3);
	z = kp_str_new(vm, "a", 1);
	CHECK(x != y && x != z && x->len == 3 && !kp_str_eq(x, z));
	CHECK(kp_str_new(vm, "", 0) == kp_str_new(vm, "", 0));
	/* Long strings: separate objects, equal by content, same hash. */
	memset(long1, 'x', sizeof(long1));
	memcpy(long2, long1, sizeof(long2));
	x = kp_str_new(vm, long1, sizeof(long1));
	y = kp_str_new(vm, long2, sizeof(long2));
	CHECK(x && y && x != y && x->islong && kp_str_eq(x, y));
	CHECK(kp_str_hash(vm, x) == kp_str_hash(vm, y));
	long2[99] = 'y';
	z = kp_str_new(vm, long2, sizeof(long2));
	CHECK(!kp_str_eq(x, z));
	/* The boundary between short and long. */
	CHECK(!kp_str_new(vm, long1, KP_MAX_SHORT_STR)->islong);
	CHECK(kp_str_new(vm, long1, KP_MAX_SHORT_STR + 1)->islong);
}

static void test_order(struct kp_vm *vm)
{
	CHECK(kp_str_cmp(kp_str_newz(vm, "abc"), kp_str_newz(vm, "abd")) < 0);
	CHECK(kp_str_cmp(kp_str_newz(vm, "ab"), kp_str_newz(vm, "abc")) < 0);
	CHECK(kp_str_cmp(kp_str_newz(vm, "b"), kp_str_newz(vm, "abc")) > 0);
	CHECK(kp_str_cmp(kp_str_newz(vm, "abc"), kp_str_newz(vm, "abc")) == 0);
	CHECK(kp_str_cmp(kp_str_new(vm, "a\0", 2), kp_str_new(vm, "a", 1)) > 0);
	CHECK(kp_str_cmp(kp_str_newz(vm, "\xff"), kp_str_newz(vm, "a")) > 0);
}

static void test_sweep(struct kp_vm *vm)
{
	struct kp_mem_stats st0, st1;
	struct kp_str *kept;
	char buf[32];
	int i;

	kp_gc_collect(vm);
	kp_vm_mem_stats(vm, &st0);
	CHECK(vm->strcount == 0);
	kept = kp_str_newz(vm, "kept");
	kp_setstr(&vm->stack[0], kept);
	vm->top = 1;
	for (i = 0; i < 20000; i++) {
		snprintf(buf, sizeof(buf), "garbage-%d", i);
		CHECK(kp_str_newz(vm, buf) != NULL);
	}
	CHECK(vm->collections > 0); /* paced collections ran meanwhile */
	kp_gc_collect(vm);
	CHECK(vm->strcount == 1);
	CHECK(vm->strsize <= 128); /* the intern table shrank back */
	CHECK(kp_str_newz(vm, "kept") == kept);
	kp_vm_mem_stats(vm, &st1);
	CHECK(st1.in_use <= st0.in_use + 64);
	kp_setnil(&vm->stack[0]);
	vm->top = 0;
	kp_gc_collect(vm);
	CHECK(vm->strcount == 0);
}

int main(void)
{
	CHECK(tvm_open(&t, 1u << 20, 0, 0) == 0);
	test_interning(t.vm);
	test_order(t.vm);
	test_sweep(t.vm);
	tvm_close(&t);
	return unit_done("str");
}
