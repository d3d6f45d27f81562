#!/usr/bin/env bash
# Installs code-server 4.100.3 (= VS Code 1.100.3) from the npm registry into .vscode-test/code-server/,
# offline-safe and as root (see shared/notes/real-vscode.md); a marker file makes a second run instant.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=4.100.3
ROOT="$PWD/.vscode-test/code-server"
PKG="$ROOT/node_modules/code-server"
VSC="$PKG/lib/vscode"
MARKER="$ROOT/.installed-$VERSION"

if [ -f "$MARKER" ] && [ -f "$PKG/out/node/entry.js" ]; then
  echo "[code-server] $VERSION already installed in ${ROOT#"$PWD"/}"
  exit 0
fi

fail() { echo "[code-server] FAILED: $*" >&2; exit 1; }
trap 'fail "command failed at line $LINENO (exit $?)"' ERR
step() { echo "[code-server] $*"; }

command -v rg >/dev/null 2>&1 || fail "ripgrep (rg) is missing: apt-get install ripgrep"

t0=$(date +%s)
# The postinstall of code-server would ask for --unsafe-perm (gone in npm 11) and fetch ripgrep from
# GitHub, so every install here runs with --ignore-scripts and the native parts are rebuilt by name.
export npm_config_yes=true npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
rm -f "$ROOT"/.installed-*
mkdir -p "$ROOT"
[ -f "$ROOT/package.json" ] || echo '{ "name": "code-server-cache", "private": true }' >"$ROOT/package.json"

step "1/5 npm install --ignore-scripts code-server@$VERSION"
(cd "$ROOT" && npm install --ignore-scripts --no-save --loglevel=error "code-server@$VERSION")

step "2/5 lib/vscode: npm install --omit=dev, rebuild node-pty @vscode/spdlog native-watchdog @parcel/watcher"
(cd "$VSC" && npm install --ignore-scripts --omit=dev --loglevel=error)
(cd "$VSC" && npm rebuild --loglevel=error node-pty @vscode/spdlog native-watchdog @parcel/watcher)

step "3/5 ripgrep from $(command -v rg), node_modules.asar link"
mkdir -p "$VSC/node_modules/@vscode/ripgrep/bin"
cp -f "$(command -v rg)" "$VSC/node_modules/@vscode/ripgrep/bin/rg"
ln -sfn node_modules "$VSC/node_modules.asar"

step "4/5 lib/vscode/extensions: npm install --omit=dev"
(cd "$VSC/extensions" && npm install --ignore-scripts --omit=dev --loglevel=error)

step "5/5 rebuild argon2"
(cd "$ROOT" && npm rebuild --loglevel=error argon2)

# A smoke check that the native modules load before we call it installed.
(cd "$VSC" && node -e "require('node-pty'); require('@vscode/spdlog'); require('@parcel/watcher')") \
  || fail "native modules in lib/vscode do not load"
node "$PKG/out/node/entry.js" --version >/dev/null || fail "code-server does not start"

touch "$MARKER"
step "installed $VERSION in ${ROOT#"$PWD"/} ($(du -sh "$ROOT" | cut -f1), $(( $(date +%s) - t0 )) s)"
