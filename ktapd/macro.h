/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by ktapd's modules: cleanup attributes, ownership moves. */
#ifndef KTAPD_MACRO_H
#define KTAPD_MACRO_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))

static inline void freep(void *p)
{
	free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline void closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

static inline void fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}
#define _cleanup_fclose_ _cleanup_(fclosep)

/* Hand an owned pointer on: the variable forgets it, the cleanup skips it. */
#define TAKE_PTR(p)                                                            \
	({                                                                     \
		typeof(p) _p_ = (p);                                           \
		(p) = NULL;                                                    \
		_p_;                                                           \
	})

#define TAKE_FD(fd)                                                            \
	({                                                                     \
		int _fd_ = (fd);                                               \
		(fd) = -1;                                                     \
		_fd_;                                                          \
	})

#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))

#define container_of(ptr, type, member)                                        \
	((type *)((char *)(ptr) - offsetof(type, member)))

#endif /* KTAPD_MACRO_H */
