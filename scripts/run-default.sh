#!/usr/bin/env bash
# `make run`: start sks5 in the foreground with `quick-start` on loopback.
# A fresh random password is generated and printed each run (only its
# Argon2id hash is kept, in memory). Extra arguments go to quick-start,
# e.g. `make run ARGS="--username alice"`.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${SKS5_BIN:-build/sks5}
exec "$BIN" quick-start --socks5-listen "${SOCKS5_LISTEN:-127.0.0.1:1080}" "$@"
