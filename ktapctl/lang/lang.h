/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The ktap compiler's public interface: script text in, bytecode chunk
 * (proto/chunk.h) out. Used by ktapctl, the ktap front end, the test runner
 * and the fuzz/bench tools.
 */
#ifndef KTAP_LANG_H
#define KTAP_LANG_H

#include <stddef.h>
#include <stdio.h>

/*
 * Compile `len` bytes of `source`. `chunkname` is used in messages
 * ("FILE:LINE: message near 'TOKEN'") and stored in the chunk.
 * On success returns 0 and stores a malloc'ed chunk in *chunk / *chunk_len
 * (free() it). On a compile error writes the message (one line, ending in
 * '\n') to errf and returns -EINVAL; -ENOMEM when out of memory.
 */
int kpc_compile(const char *source, size_t len, const char *chunkname,
		void **chunk, size_t *chunk_len, FILE *errf);

/* Compile, then write a human-readable listing (functions, constants,
 * upvalues, code with line numbers and operand comments, probe table) to out.
 */
int kpc_listing(const char *source, size_t len, const char *chunkname,
		FILE *out, FILE *errf);

#endif /* KTAP_LANG_H */
