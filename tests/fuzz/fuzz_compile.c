// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: each input is script source. The compiler must not
 * crash, and whatever it compiles must pass the verifier (a rejected
 * chunk means compiler and verifier disagree: abort with the reason),
 * then run like any chunk.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "chunk_view.h"
#include "fuzz_run.h"
#include "lang.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void disagree(const char *what, const struct kp_verify_error *err)
{
	fprintf(stderr, "compiled chunk %s: function %d, pc %d: %s\n", what,
		err->func, err->pc, err->reason);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned char
		scratch[KP_VERIFY_SCRATCH(KP_MAX_FUNCS, KP_MAX_PROBES,
					  KP_MAX_GLOBALS)];
	static FILE *devnull;
	struct kp_verify_error err;
	size_t len;
	void *chunk;

	if (!devnull)
		devnull = fopen("/dev/null", "w");
	if (kpc_compile((const char *)data, size, "fuzz.kp", &chunk, &len,
			devnull))
		return 0;
	if (kp_verify_chunk(chunk, len, scratch, sizeof(scratch), &err))
		disagree("fails verification", &err);
	if (fuzz_run_chunk(chunk, len, &err) == -KP_EINVAL)
		disagree("refused by kp_vm_load", &err);
	free(chunk);
	return 0;
}
