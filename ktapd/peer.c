// SPDX-License-Identifier: GPL-2.0
/* Access control from the peer's credentials. */
#include <errno.h>
#include <grp.h>
#include <stdlib.h>
#include <unistd.h>

#include "macro.h"
#include "peer.h"

bool peer_is_root(const struct vl_peer *p)
{
	return p->uid == 0;
}

/*
 * The group is looked up on every call: sysusers may create it after ktapd
 * started, and an administrator may remove it.
 */
static bool ktap_gid(gid_t *gid)
{
	struct group grp, *res = NULL;
	size_t size = 4096;

	/* A group with many members needs a bigger buffer: ERANGE. */
	for (;;) {
		_cleanup_free_ char *buf = malloc(size);
		int r;

		if (!buf)
			return false;
		r = getgrnam_r(KTAP_GROUP, &grp, buf, size, &res);
		if (r == ERANGE && size < (1u << 24)) {
			size *= 2;
			continue;
		}
		if (r != 0 || !res)
			return false;
		*gid = res->gr_gid;
		return true;
	}
}

bool peer_may_submit(const struct vl_peer *p)
{
	gid_t gid;
	int i;

	if (peer_is_root(p))
		return true;
	if (!ktap_gid(&gid))
		return false;
	if (p->gid == gid)
		return true;
	for (i = 0; i < p->ngroups; i++)
		if (p->groups[i] == gid)
			return true;
	return false;
}

bool peer_may_access(const struct vl_peer *p, uid_t owner)
{
	return peer_is_root(p) || p->uid == owner;
}
