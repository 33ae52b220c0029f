/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The output mux: a streaming call (Attach, Submit with "more") reading a
 * session's output from its own cursor. Records go out as fast as the
 * client takes them; a congested client pauses while the backlog keeps the
 * output, and is told exactly what left the backlog before it caught up.
 */
#ifndef KTAPD_ATTACH_H
#define KTAPD_ATTACH_H

#include <stdbool.h>
#include <stdint.h>

#include "session.h"
#include "varlink.h"

/*
 * Stream s's output from cursor (at most next_seq) on call, which must have
 * "more": {"session": ...} first, then the records. follow: until the
 * session ends; otherwise up to the output there is now. The last reply is
 * {"cursor": n}, with "end" once the session ended.
 */
int attach_start(struct session *s, struct vl_call *call, uint64_t cursor,
		 bool follow);

#endif /* KTAPD_ATTACH_H */
