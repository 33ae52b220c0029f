// SPDX-License-Identifier: GPL-2.0
/*
 * Text without libc (kmod/vm/fmt.c, lib.c): the core's message formatter,
 * decimal rendering at the int64 edges, and the text-to-number rule of
 * tonumber() and script arguments.
 */
#include <string.h>

#include "kp_fmt.h"
#include "kp_lib.h"
#include "unit.h"

static void msg(char *buf, size_t size, const char *fmt, ...)
{
	__builtin_va_list ap;

	__builtin_va_start(ap, fmt);
	kp_fmt_msg(buf, size, fmt, ap);
	__builtin_va_end(ap);
}

static void test_msg(void)
{
	char buf[96];

	msg(buf, sizeof(buf), "%s:%u: %d %lld %llu %c %.*s 100%% %q", "f.kp",
	    7u, -3, (long long)INT64_MIN, 18446744073709551615ull, 'x', 2,
	    "abc");
	CHECK_STR(buf, "f.kp:7: -3 -9223372036854775808 18446744073709551615 "
		       "x ab 100% %q");
	msg(buf, 8, "%s", "truncated text");
	CHECK_STR(buf, "truncat");
}

static void test_int(void)
{
	char buf[KP_NUM_BUF + 1];

	buf[kp_fmt_int(buf, 0)] = '\0';
	CHECK_STR(buf, "0");
	buf[kp_fmt_int(buf, INT64_MIN)] = '\0';
	CHECK_STR(buf, "-9223372036854775808");
	buf[kp_fmt_int(buf, INT64_MAX)] = '\0';
	CHECK_STR(buf, "9223372036854775807");
}

static int num(const char *s, kp_s64 *out)
{
	return kp_lib_str2num(s, strlen(s), out);
}

static void test_str2num(void)
{
	kp_s64 n;

	CHECK(num("42", &n) && n == 42);
	CHECK(num("  -17\n", &n) && n == -17);
	CHECK(num("+5", &n) && n == 5);
	CHECK(num("0x1F", &n) && n == 31);
	CHECK(num("-0x10", &n) && n == -16);
	CHECK(num("0xffffffffffffffff", &n) && n == -1);
	CHECK(num("9223372036854775807", &n) && n == INT64_MAX);
	CHECK(num("-9223372036854775808", &n) && n == INT64_MIN);
	CHECK(!num("9223372036854775808", &n));
	CHECK(!num("0x10000000000000000", &n));
	CHECK(!num("", &n) && !num(" ", &n) && !num("-", &n));
	CHECK(!num("0x", &n) && !num("12a", &n) && !num("1 2", &n));
	CHECK(!kp_lib_str2num("1\0", 2, &n));
}

int main(void)
{
	test_msg();
	test_int();
	test_str2num();
	return unit_done("fmt");
}
