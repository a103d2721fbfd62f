#!/usr/bin/env bash
# The whole test suite, as `make test` and CI run it:
#   1. build the normal tree (build/) and the ASan+UBSan tree (build-asan/);
#   2. in each, the cmocka unit tests under ctest, then the end-to-end
#      tests (pytest, real binary, real clients);
#   3. one closing line "N passed, N failed" counting every test case.
# Exits non-zero when anything failed or could not run.
set -uo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-/usr/bin/python3}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
OUT=build/test-results
status=0

rm -rf "$OUT"
mkdir -p "$OUT"

build_tree() { # build_tree DIR SAN
	echo "== build $1 (SAN=$2)"
	if ! make -s -j"$JOBS" BUILD="$1" SAN="$2" all; then
		echo "build of $1 failed" >&2
		echo "build-$1" >> "$OUT/broken"
		return 1
	fi
}

run_tree() { # run_tree DIR TAG
	local dir=$1 tag=$2
	echo "== unit tests ($tag)"
	(cd "$dir" && ctest -V --timeout 300) > "$OUT/ctest-$tag.log" 2>&1
	grep -E '^[0-9]+: \[  (PASSED|FAILED|  OK  ) \]|tests passed|Failed|Not Run' \
		"$OUT/ctest-$tag.log" | grep -v '  OK  ' | tail -n 40
	echo "== end-to-end tests ($tag)"
	SKS5_BUILD="$dir" "$PY" -m pytest -q -p no:cacheprovider \
		--junitxml="$OUT/pytest-$tag.xml" tests/e2e < /dev/null 2>&1 | tail -n 25
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

if build_tree build 0; then
	run_tree build plain
fi
if build_tree build-asan 1; then
	run_tree build-asan asan
fi

"$PY" scripts/test-summary.py "$OUT" || status=1
exit $status
