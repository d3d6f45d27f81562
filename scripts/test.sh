#!/usr/bin/env bash
# Every test, in tiers: lint + typecheck, unit tests in Node, integration tests in a real VS Code
# (code-server) with the packaged VSIX installed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "== tier 1: lint and typecheck"
npm run -s lint
npm run -s typecheck
echo "== build"
npm run -s build
echo "== tier 2: unit tests"
npm run -s test:unit
if [ -f test/integration/runServer.js ]; then
  echo "== package"
  npm run -s package
  echo "== tier 3: integration tests in code-server"
  npm run -s test:integration
  echo "== tier 3 again, VS Code's display language set to Brazilian Portuguese"
  LLM_LENS_LOCALE=pt-br npm run -s test:integration
fi
