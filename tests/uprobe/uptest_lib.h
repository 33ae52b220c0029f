/* SPDX-License-Identifier: GPL-2.0 */
#ifndef UPTEST_LIB_H
#define UPTEST_LIB_H

long uptest_lib_mul(long a, long b);

#endif
