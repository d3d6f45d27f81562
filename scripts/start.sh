#!/usr/bin/env bash
# The main job: builds and packages LLM Lens, installs the VSIX into a persistent code-server
# profile (.vscode-test/start-profile/) and serves VS Code with the samples/ workspace on
# http://127.0.0.1:${PORT:-8080}/ until Ctrl+C.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"

PORT="${PORT:-8080}"
HOST="${HOST:-127.0.0.1}"
PROFILE="$ROOT/.vscode-test/start-profile"
ENTRY="$ROOT/.vscode-test/code-server/node_modules/code-server/out/node/entry.js"
VSIX="$ROOT/dist-vsix/llm-lens.vsix"
SAMPLES="$ROOT/samples"

bash scripts/setup.sh
echo "[start] packaging the extension"
npm run -s package >/dev/null
echo "[start] $(du -h "$VSIX" | cut -f1) $VSIX"

# Fail early and clearly when the port is taken (code-server's own error is a stack trace).
if ! node -e "const s=require('net').createServer().once('error',()=>process.exit(1)).listen($PORT,'$HOST',()=>s.close())"; then
  echo "[start] port $PORT on $HOST is in use: stop what holds it, or run PORT=8081 npm start" >&2
  exit 1
fi

mkdir -p "$PROFILE/user-data/User" "$PROFILE/extensions"
# A config file of our own, so code-server leaves ~/.config/code-server alone.
[ -f "$PROFILE/code-server.yaml" ] || echo "auth: none" >"$PROFILE/code-server.yaml"
# First start only: a quiet workbench. Later the user's own changes are kept.
if [ ! -f "$PROFILE/user-data/User/settings.json" ]; then
  cat >"$PROFILE/user-data/User/settings.json" <<'JSON'
{
  "workbench.startupEditor": "none",
  "telemetry.telemetryLevel": "off",
  "extensions.ignoreRecommendations": true,
  "security.workspace.trust.enabled": false,
  "git.openRepositoryInParentFolders": "never"
}
JSON
fi

# Variables of a VS Code terminal we may run in would make code-server hand over to that window.
for v in $(env | grep -o '^VSCODE_[A-Za-z0-9_]*' || true); do unset "$v"; done
unset PASSWORD HASHED_PASSWORD

CS=(node "$ENTRY" --config "$PROFILE/code-server.yaml" --user-data-dir "$PROFILE/user-data" --extensions-dir "$PROFILE/extensions")
echo "[start] installing the VSIX into ${PROFILE#"$ROOT"/}"
"${CS[@]}" --force --install-extension "$VSIX" 2>&1 | sed -e '/^\s*$/d' -e 's/^/[start]   /'

URL="http://$HOST:$PORT/?folder=$SAMPLES"
cat <<EOF

  LLM Lens is running in VS Code (code-server 4.100.3) with the samples/ workspace:

      $URL

  Try the command palette (F1): "LLM Lens: Show Runtime Info". Ctrl+C stops the server.

EOF
exec "${CS[@]}" --auth none --bind-addr "$HOST:$PORT" --disable-telemetry --disable-update-check \
  --disable-workspace-trust --disable-getting-started-override "$SAMPLES"
