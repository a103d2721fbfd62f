#!/usr/bin/env bash
# Regenerates the "Key reference" part of docs/CONFIG.md from the schema
# (everything from the "### `server`" heading to the end of the file).
set -euo pipefail
cd "$(dirname "$0")/.."
make -s build/cfgdoc
head -n "$(($(grep -n '^### `server`' docs/CONFIG.md | cut -d: -f1) - 1))" docs/CONFIG.md > docs/CONFIG.md.new
build/cfgdoc | sed -n '/^### `server`/,$p' >> docs/CONFIG.md.new
mv docs/CONFIG.md.new docs/CONFIG.md
