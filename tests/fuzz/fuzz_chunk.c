// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: each input is a bytecode chunk. Whatever the loader
 * and verifier accept must run without a crash, a sanitizer report or a
 * hang (the instruction budget bounds every invocation).
 */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_run.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kp_verify_error err;

	fuzz_run_chunk(data, size, &err);
	return 0;
}
