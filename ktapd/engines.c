// SPDX-License-Identifier: GPL-2.0
/*
 * Engine choice. The kernel engine is preferred where ktapvm.ko can be
 * used: /dev/ktapvm exists, or appears once the module is loaded (from
 * --kmod-path with finit_module(), else with modprobe). A kernel that
 * refuses the module (no module support, lockdown, a bad signature) means
 * the user engine, and the reason says which.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine_kmod.h"
#include "engines.h"
#include "macro.h"

struct engine_options engine_options;

static char reason_buf[256];

/* What a refused finit_module() means, for the reason. */
static const char *refusal(int e)
{
	switch (e) {
	case EPERM:
		return "the kernel refuses modules (lockdown, or no "
		       "CAP_SYS_MODULE); see doc/signing.md";
	case EKEYREJECTED:
	case ENOKEY:
	case EBADMSG:
		return "its signature was refused (Secure Boot: sign it, "
		       "doc/signing.md)";
	case ENOSYS:
		return "this kernel has no module support";
	case ENOEXEC:
		return "it was built for another kernel";
	default:
		return strerror(e);
	}
}

static int load_path(const char *path, char *why, size_t size)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		snprintf(why, size, "%s: %s", path, strerror(errno));
		return -errno;
	}
	if (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST) {
		snprintf(why, size, "loading %s failed: %s", path,
			 refusal(errno));
		return -errno;
	}
	return 0;
}

/* modprobe prints why it failed on ktapd's stderr (the journal). */
static int load_modprobe(char *why, size_t size)
{
	char *const argv[] = { "modprobe", "-q", "ktapvm", NULL };
	extern char **environ;
	int status, r;
	pid_t pid;

	r = posix_spawnp(&pid, "modprobe", NULL, NULL, argv, environ);
	if (r) {
		snprintf(why, size, "cannot run modprobe: %s", strerror(r));
		return -r;
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		snprintf(why, size,
			 "modprobe ktapvm failed (module not installed or "
			 "refused: see ktapd's log)");
		return -ENOENT;
	}
	return 0;
}

/*
 * 0 with what made it usable in how ("ktapvm.ko loaded by modprobe"...),
 * or a negative errno with why not.
 */
static int kmod_usable(char *how, size_t size)
{
	int r;

	snprintf(how, size, "%s is there", KTAPVM_DEVICE);
	if (access(KTAPVM_DEVICE, F_OK) < 0) {
		if (access("/proc/modules", F_OK) < 0) {
			snprintf(how, size, "%s missing, and this kernel has "
				 "no module support", KTAPVM_DEVICE);
			return -ENOSYS;
		}
		r = engine_options.module_path ?
			    load_path(engine_options.module_path, how, size) :
			    load_modprobe(how, size);
		if (r < 0)
			return r;
		snprintf(how, size, "ktapd loaded %s",
			 engine_options.module_path ?: "ktapvm (modprobe)");
	}
	return kmod_device_check(how, size);
}

const struct engine_ops *engine_choose(const char **reason)
{
	const char *forced = engine_options.choice == ENGINE_AUTO ? "" :
			     engine_options.choice == ENGINE_KMOD ?
							   "--engine kmod: " :
							   "--engine user";
	char how[200];

	*reason = reason_buf;
	if (engine_options.choice == ENGINE_USER) {
		snprintf(reason_buf, sizeof(reason_buf), "%s", forced);
		return &engine_user;
	}
	if (kmod_usable(how, sizeof(how)) == 0) {
		snprintf(reason_buf, sizeof(reason_buf), "%s%s", forced, how);
		return &engine_kmod;
	}
	if (engine_options.choice == ENGINE_KMOD) {
		snprintf(reason_buf, sizeof(reason_buf), "%s%s", forced, how);
		return NULL;
	}
	snprintf(reason_buf, sizeof(reason_buf), "kmod engine unavailable: %s",
		 how);
	return &engine_user;
}
