/* SPDX-License-Identifier: GPL-2.0 */
/* Runs one chunk through a fresh VM the way a session would (fuzz targets). */
#ifndef KTAP_FUZZ_RUN_H
#define KTAP_FUZZ_RUN_H

#include <stddef.h>

#include "vm.h"

/*
 * Create a VM in a static 1 MiB arena, load the chunk, run main, every
 * probe with a synthetic event, then trace_end; output is discarded.
 * Returns kp_vm_load()'s result (0 when the chunk ran).
 */
int fuzz_run_chunk(const void *chunk, size_t len, struct kp_verify_error *err);

#endif /* KTAP_FUZZ_RUN_H */
