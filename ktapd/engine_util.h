/* SPDX-License-Identifier: GPL-2.0 */
/* What both engines (engine_user.c, engine_kmod.c) do the same way. */
#ifndef KTAPD_ENGINE_UTIL_H
#define KTAPD_ENGINE_UTIL_H

#include <sys/types.h>

#include "engine.h"

/* A line of the engine's own into the session output ("ktap: ..."). */
void engine_printf(const struct engine_callbacks *cb, void *owner,
		   const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * A pidfd of the session's target process (-p, -- cmd), whose exit ends
 * the session; or a negative errno with "process N: ..." in err.
 */
int engine_target_open(pid_t pid, char *err, size_t errlen);

#endif /* KTAPD_ENGINE_UTIL_H */
