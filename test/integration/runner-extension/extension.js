// Test-only extension: code-server has no --extensionTestsPath, so this runs the integration suite
// (out/test/integration/suite/index.js, the same module @vscode/test-electron loads) once the
// workbench has started, and writes the outcome as JSON to $LLM_LENS_TEST_RESULTS.
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS script run by plain Node */
'use strict';
const fs = require('node:fs');
const path = require('node:path');

function write(file, result) {
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(result, null, 2));
  fs.renameSync(tmp, file); // atomic: the harness never reads half a file
}

exports.activate = function activate() {
  const suite = process.env.LLM_LENS_TEST_SUITE;
  const results = process.env.LLM_LENS_TEST_RESULTS;
  // Without the harness's variables (e.g. installed by hand, or under test-electron) do nothing.
  if (!suite || !results) return;
  // Every browser window gets its own extension host; the suite runs in the first one only.
  if (fs.existsSync(results) || fs.existsSync(`${results}.started`)) return;
  fs.mkdirSync(path.dirname(results), { recursive: true });
  fs.writeFileSync(`${results}.started`, String(process.pid));
  const started = Date.now();
  setTimeout(async () => {
    let outcome;
    try {
      const mod = require(suite);
      const report = await mod.run();
      outcome = { ok: true, ...(report && typeof report === 'object' ? report : {}) };
    } catch (e) {
      outcome = { ok: false, error: e && e.stack ? e.stack : String(e), ...(e && e.report ? e.report : {}) };
    }
    outcome.durationMs = Date.now() - started;
    outcome.vscodeVersion = require('vscode').version;
    outcome.nodeVersion = process.version;
    write(results, outcome);
  }, 0);
};

exports.deactivate = function deactivate() {};
