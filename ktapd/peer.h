/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Access control: who may do what, decided per call from the caller's
 * credentials (SO_PEERCRED), never from the socket's file mode.
 */
#ifndef KTAPD_PEER_H
#define KTAPD_PEER_H

#include <stdbool.h>
#include <sys/types.h>

#include "varlink.h"

/* Members of this group may submit sessions, besides root. */
#define KTAP_GROUP "ktap"
#define KTAP_GROUP_FILE "/etc/group"

bool peer_is_root(const struct vl_peer *p);
/* Root, or a member of group ktap (primary or supplementary). */
bool peer_may_submit(const struct vl_peer *p);
/* Root, or the session's owner: attach, dump, stop, status. */
bool peer_may_access(const struct vl_peer *p, uid_t owner);

#endif /* KTAPD_PEER_H */
