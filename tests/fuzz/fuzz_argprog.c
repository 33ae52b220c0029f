// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: each input is a print program (what ATTACH argfmt
 * hands the module for a tracepoint's argstr) after a record: u16 record
 * length, the record, then the program. Whatever kp_argprog_check()
 * accepts must run on the record without a crash or a sanitizer report,
 * and stay within the output buffer.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kp_argprog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kp_argprog_env env = { 0 };
	char out[512];
	uint16_t rlen;
	long n;

	if (size < 2)
		return 0;
	memcpy(&rlen, data, 2);
	if (rlen > size - 2)
		rlen = (uint16_t)(size - 2);
	env.raw = data + 2;
	env.rawlen = rlen;
	data += 2 + rlen;
	size -= 2 + (size_t)rlen;
	if (kp_argprog_check(data, size))
		return 0;
	n = kp_argprog_run(data, size, &env, out, sizeof(out));
	if (n > (long)sizeof(out))
		__builtin_trap();
	return 0;
}
