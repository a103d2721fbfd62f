#!/usr/bin/env bash
# `make run`: start sks5 in the foreground with `quick-start` on loopback:
# SSH on 127.0.0.1:2222 and SOCKS5 on 127.0.0.1:1080. A fresh random
# password is generated and printed each run (only its Argon2id hash is
# kept, in memory). The SSH host key is kept in run/ so that it stays the
# same between runs. Extra arguments go to quick-start, e.g.
# `make run ARGS="--username alice"`.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${SKS5_BIN:-build/sks5}
mkdir -p run
chmod 700 run
exec "$BIN" quick-start \
	--ssh-listen "${SSH_LISTEN:-127.0.0.1:2222}" \
	--socks5-listen "${SOCKS5_LISTEN:-127.0.0.1:1080}" \
	--set server.host_key_path="$PWD/run/ssh_host_ed25519_key" "$@"
