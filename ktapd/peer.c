// SPDX-License-Identifier: GPL-2.0
/* Access control from the peer's credentials. */
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"
#include "peer.h"

bool peer_is_root(const struct vl_peer *p)
{
	return p->uid == 0;
}

/*
 * The group is looked up on every call: sysusers may create it after ktapd
 * started, and an administrator may remove it. Only /etc/group is read:
 * getgrnam() may ask a directory service over the network, which the
 * event loop must not wait for; sysusers.d makes ktap a local group.
 */
static bool ktap_gid(gid_t *gid)
{
	_cleanup_fclose_ FILE *f = fopen(KTAP_GROUP_FILE, "re");
	struct group *g;

	if (!f)
		return false;
	while ((g = fgetgrent(f)))
		if (!strcmp(g->gr_name, KTAP_GROUP)) {
			*gid = g->gr_gid;
			return true;
		}
	return false;
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
