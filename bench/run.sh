#!/bin/sh
# Compare sks5, microsocks and dante on loopback: bench/run.sh [--quick] ...
# (options: bench/run.sh --help; details in bench/README.md).  The Python
# script builds the generator, starts every process in its own session and
# stops all of them on every exit path, including ^C.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
exec /usr/bin/python3 "$(dirname "$0")/compare.py" "$@"
