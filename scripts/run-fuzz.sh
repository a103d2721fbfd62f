#!/usr/bin/env bash
# `make fuzz`: build every libFuzzer target in tests/fuzz/ with clang
# (ASan+UBSan) and run each for a bounded time (seconds, default 30) on a
# scratch copy of its seed corpus. Exits non-zero on the first crash.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-30}
OUT=build-fuzz
CC=${FUZZ_CC:-clang}
mkdir -p "$OUT"
LIBSRC=$(ls src/*/*.c | grep -v -e '^src/cli/')
CFLAGS="-std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -Isrc $(pkg-config --cflags libsodium openssl jansson libmaxminddb libssh libmicrohttpd libcurl)"
LIBS="$(pkg-config --libs libsodium openssl jansson libmaxminddb libssh libmicrohttpd libcurl) -lm -pthread"
for t in tests/fuzz/fuzz_*.c; do
	name=$(basename "$t" .c)
	corpus=tests/fuzz/corpus/${name#fuzz_}
	echo "== $name: build"
	# shellcheck disable=SC2086
	$CC $CFLAGS "$t" $LIBSRC -o "$OUT/$name" $LIBS
	work="$OUT/corpus-${name#fuzz_}"
	rm -rf "$work"
	mkdir -p "$work"
	[ -d "$corpus" ] && cp -r "$corpus"/. "$work"/
	echo "== $name: run ${SECS}s"
	"$OUT/$name" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$OUT/$name-" "$work" 2>&1 | tail -n 3
done
echo "make fuzz: every target ran ${SECS}s without a crash"
