#!/usr/bin/env bash
# `make run`: start sks5 in the foreground on a loopback default config.
# The first run writes run/config.toml (mode 0600) with the dev preset and a
# random password, printed once here; later runs reuse the file.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-build/sks5}
CONF=run/config.toml

mkdir -p run
chmod 700 run
if [ ! -f "$CONF" ]; then
	pw=$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 20)
	printf '%s\n' "$pw" | "$BIN" init --preset dev --username user -o "$CONF" >/dev/null
	echo "make run: wrote $CONF for user 'user' with password: $pw" >&2
	echo "make run: (only its Argon2id hash is stored; keep the password now)" >&2
fi
"$BIN" -c "$CONF" check-config
exec "$BIN" -c "$CONF"
