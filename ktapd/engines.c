// SPDX-License-Identifier: GPL-2.0
/*
 * Engine choice. The kernel engine is preferred where /dev/ktapvm exists;
 * this ktapd carries only the user engine, so the reason says which of the
 * two facts ruled the kernel engine out.
 */
#include <unistd.h>

#include "engines.h"

const struct engine_ops *engine_choose(const char **reason)
{
	if (access("/dev/ktapvm", F_OK) < 0)
		*reason = "/dev/ktapvm not present (ktapvm.ko not loaded)";
	else
		*reason = "ktapd built without the kmod engine";
	return &engine_user;
}
