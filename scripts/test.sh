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
  # The platform VSIX with native onnxruntime-node, where this machine is one of its targets: the whole suite
  # (analysis, hovers, completions...), the runtime panel, which must say native, and the ghost text (the first
  # suggestion's time on the native runtime).
  target="$(node -p 'process.platform + "-" + process.arch')"
  case "$target" in
    linux-x64|linux-arm64|darwin-arm64|win32-x64|win32-arm64)
      echo "== package for $target (native onnxruntime-node)"
      npm run -s package -- --target "$target"
      echo "== tier 3 again, the $target VSIX: native runtime"
      LLM_LENS_VSIX="dist-vsix/llm-lens-$target.vsix" LLM_LENS_RUN=native LLM_LENS_UI=runtime,completions LLM_LENS_EXPECT_BACKEND=native npm run -s test:integration
      ;;
  esac
fi
