#!/usr/bin/env node
// The same integration suite in desktop VS Code via @vscode/test-electron, for machines that can
// download VS Code (it cannot here: see shared/notes/real-vscode.md; `npm test` uses runServer.js).
// As under code-server, the packaged VSIX is installed into a fresh extensions dir and the suite
// tests that installed copy; the UI steps of test/integration/ui/ need the browser and are skipped.
// On a Linux machine without a display run it under xvfb: `xvfb-run -a npm run test:desktop`.
//
// Environment: VSCODE_VERSION (default 1.100.3, the engines minimum), LLM_LENS_GREP=pattern.
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS script run by plain Node */
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { downloadAndUnzipVSCode, resolveCliArgsFromVSCodeExecutablePath, runTests } = require('@vscode/test-electron');

const ROOT = path.resolve(__dirname, '../..');
const VSIX = path.join(ROOT, 'dist-vsix', 'llm-lens.vsix');
const SUITE = path.join(ROOT, 'out', 'test', 'integration', 'suite', 'index.js');
const RUNNER_EXT = path.join(__dirname, 'runner-extension');
const SAMPLES = path.join(ROOT, 'samples');

async function main() {
  for (const [file, how] of [
    [VSIX, 'npm run package'],
    [SUITE, 'npm run build'],
  ]) {
    if (!fs.existsSync(file)) throw new Error(`${path.relative(ROOT, file)} is missing: run \`${how}\` first`);
  }
  const version = process.env.VSCODE_VERSION || '1.100.3';
  const vscodeExecutablePath = await downloadAndUnzipVSCode(version);

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'llm-lens-desktop-'));
  const extensionsDir = path.join(tmp, 'extensions');
  const userDataDir = path.join(tmp, 'user-data');
  try {
    // Install the VSIX as a user would, with the `code` CLI of the downloaded VS Code.
    const [cli, ...cliArgs] = resolveCliArgsFromVSCodeExecutablePath(vscodeExecutablePath);
    const profileArgs = [`--extensions-dir=${extensionsDir}`, `--user-data-dir=${userDataDir}`];
    const install = spawnSync(cli, [...cliArgs.filter((a) => !/^--(extensions-dir|user-data-dir)=/.test(a)), ...profileArgs, '--force', '--install-extension', VSIX], {
      encoding: 'utf8',
      stdio: 'inherit',
      shell: process.platform === 'win32',
    });
    if (install.status !== 0) throw new Error(`installing ${VSIX} failed (exit ${install.status})`);

    // The development extension is the inert test runner (without the harness's variables it does
    // nothing), so the llm-lens under test is the installed VSIX, not this checkout.
    await runTests({
      vscodeExecutablePath,
      extensionDevelopmentPath: RUNNER_EXT,
      extensionTestsPath: SUITE,
      launchArgs: [SAMPLES, ...profileArgs, '--disable-extension=vscode.git', '--disable-telemetry'],
      extensionTestsEnv: {
        LLM_LENS_EXPECT_EXTENSIONS_DIR: extensionsDir,
        ...(process.env.LLM_LENS_GREP ? { LLM_LENS_TEST_GREP: process.env.LLM_LENS_GREP } : {}),
      },
    });
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().then(
  () => console.log('[desktop] integration suite passed'),
  (e) => {
    console.error(`[desktop] ${e?.stack ?? e}`);
    process.exit(1);
  },
);
