#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Smoke run of one fuzz target: SECONDS of fuzzing from the seed corpora,
# new inputs kept in a scratch directory. Any crash, sanitizer report,
# leak or timeout fails the test; the input is kept in FINDINGS.
# usage: fuzz_smoke.sh FUZZER SECONDS FINDINGS SEED_DIR...
set -eu
fuzzer=$1
seconds=$2
findings=$3
shift 3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus" "$findings"
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
	-print_final_stats=1 -artifact_prefix="$findings/" \
	"$work/corpus" "$@"
