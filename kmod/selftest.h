/* SPDX-License-Identifier: GPL-2.0 */
/* The in-kernel self-test: golden programs run by the VM at module load. */
#ifndef KTAPVM_SELFTEST_H
#define KTAPVM_SELFTEST_H

/*
 * Run every embedded case, log one line per case and a final
 * "selftest: N passed, M failed". Process context only (it sleeps).
 */
void ktapvm_selftest(void);

#endif /* KTAPVM_SELFTEST_H */
