#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Seed corpora for the fuzz targets: OUT/src/ holds the scripts (for
# fuzz_compile), OUT/chunk/ what `ktapctl compile -o` makes of them (for
# fuzz_chunk), with the verifier test's chunk that uses every opcode.
# Scripts that do not compile (error cases) seed only src/.
# usage: gen_corpus.sh KTAPCTL VERIFY_TEST OUT DIR...
set -eu
ktapctl=$1
verify_test=$2
out=$3
shift 3
rm -rf "$out"
mkdir -p "$out/src" "$out/chunk"
"$verify_test" --write-chunk "$out/chunk/verify_test.kpc"
for dir in "$@"; do
	for kp in "$dir"/*.kp; do
		[ -f "$kp" ] || continue
		name=$(basename "$(dirname "$kp")")_$(basename "$kp" .kp)
		cp "$kp" "$out/src/$name.kp"
		"$ktapctl" compile -o "$out/chunk/$name.kpc" "$kp" \
			>/dev/null 2>&1 || rm -f "$out/chunk/$name.kpc"
	done
done
