#!/bin/sh
# Compare sks5, microsocks and dante on loopback: bench/run.sh [--quick] ...
# (options: bench/run.sh --help; details in bench/README.md).  The Python
# script builds the generator, starts every process in its own session and
# stops all of them on every exit path, including ^C.
#
# The peers come from Debian packages; when one is missing and we are root
# with apt-get, it is installed first (set BENCH_NO_INSTALL=1 to skip).
missing=""
[ -x /usr/bin/microsocks ] || missing="$missing microsocks"
[ -x /usr/sbin/danted ] || missing="$missing dante-server"
if [ -n "$missing" ] && [ -z "${BENCH_NO_INSTALL:-}" ] &&
    [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "bench: installing$missing" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing >&2 ||
	    echo "bench: install failed; the missing peers are skipped" >&2
fi
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
exec /usr/bin/python3 "$(dirname "$0")/compare.py" "$@"
