// The packaged extension is installed, activates, registers its commands and its worker answers.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { RuntimeInfo } from '../../../src/protocol/worker';
import { api, extension, EXTENSION_ID } from './helpers';

describe('installed extension', () => {
  it(`${EXTENSION_ID} is installed`, () => {
    const ext = extension();
    assert.equal(ext.packageJSON.name, 'llm-lens');
    // The harness installs the VSIX into a fresh extensions dir; make sure that is what we test,
    // not a development checkout.
    const expectedDir = process.env.LLM_LENS_EXPECT_EXTENSIONS_DIR;
    if (expectedDir) {
      const rel = path.relative(path.resolve(expectedDir), ext.extensionUri.fsPath);
      assert.ok(!rel.startsWith('..') && !path.isAbsolute(rel), `${ext.extensionUri.fsPath} is not inside ${expectedDir}`);
    }
  });

  it('activates and returns its API', async () => {
    const exports = await api();
    assert.equal(typeof exports.runtimeInfo, 'function');
    assert.ok(extension().isActive);
  });

  it('registers every command it contributes', async () => {
    await api();
    const contributed: { command: string }[] = extension().packageJSON.contributes?.commands ?? [];
    assert.ok(contributed.length > 0, 'package.json contributes no commands');
    const registered = new Set(await vscode.commands.getCommands(true));
    const missing = contributed.map((c) => c.command).filter((c) => !registered.has(c));
    assert.deepEqual(missing, [], `contributed but not registered: ${missing.join(', ')}`);
  });

  it('the worker answers runtimeInfo() with the runtime of the installed package (wasm files in its dist/, or the native addon)', async function () {
    this.timeout(60_000);
    const info: RuntimeInfo = await (await api()).runtimeInfo();
    assert.match(info.onnxruntimeVersion, /^\d+\.\d+\.\d+/);
    assert.ok(info.numThreads >= 1, `numThreads ${info.numThreads}`);
    // The platform VSIX carries onnxruntime-node and uses it (llmLens.runtime.backend is auto); the universal one cannot.
    const expected = process.env.LLM_LENS_EXPECT_BACKEND === 'native' ? 'native' : 'web';
    assert.equal(info.backend, expected, info.backendReason);
    if (info.backend === 'web') {
      const dist = vscode.Uri.joinPath(extension().extensionUri, 'dist').toString();
      assert.ok(info.wasmPaths.startsWith(dist), `wasmPaths ${info.wasmPaths} is not under ${dist}`);
    }
  });
});
