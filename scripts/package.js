#!/usr/bin/env node
// Makes the VSIX: `npm run package` the universal one (onnxruntime-web only: every platform, VS Code for the Web);
// `npm run package -- --target linux-x64` (or linux-arm64, darwin-arm64, win32-x64, win32-arm64) one that also
// carries that platform's onnxruntime-node binding, copied under dist/node_modules/ because
// `vsce package --no-dependencies` ignores node_modules. CPU only: no CUDA, TensorRT or DirectML file ships.
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS script run by plain Node */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const root = path.resolve(__dirname, '..');
/** vsce targets onnxruntime-node 1.30 ships binaries for (none for darwin-x64 since 1.24, alpine or armhf). */
const TARGETS = { 'linux-x64': ['linux', 'x64'], 'linux-arm64': ['linux', 'arm64'], 'darwin-arm64': ['darwin', 'arm64'], 'win32-x64': ['win32', 'x64'], 'win32-arm64': ['win32', 'arm64'] };

function fail(message) {
  console.error(`package: ${message}`);
  process.exit(1);
}

function copy(from, to) {
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.copyFileSync(from, to);
}

/** The files of a package's directory that match `keep` (relative paths), copied to `to`. */
function copyPackage(name, to, keep) {
  const from = path.join(root, 'node_modules', name);
  if (!fs.existsSync(from)) fail(`node_modules/${name} is missing: run npm ci`);
  const files = fs.readdirSync(from, { recursive: true }).map(String).filter((f) => fs.statSync(path.join(from, f)).isFile() && keep(f.split(path.sep).join('/')));
  for (const f of files) copy(path.join(from, f), path.join(to, name, f));
  return files.length;
}

function main() {
  const args = process.argv.slice(2);
  const i = args.indexOf('--target');
  const target = i >= 0 ? args[i + 1] : undefined;
  if (target !== undefined && !TARGETS[target]) fail(`no native runtime for target "${target}": use one of ${Object.keys(TARGETS).join(', ')}, or no --target for the universal VSIX`);
  execFileSync(process.execPath, [path.join(root, 'esbuild.js'), '--production'], { stdio: 'inherit', cwd: root });
  const modules = path.join(root, 'dist', 'node_modules');
  // Never left over from an earlier target build: the universal VSIX carries no native code.
  fs.rmSync(modules, { recursive: true, force: true });
  if (target) {
    const [os, arch] = TARGETS[target];
    const bin = `bin/napi-v6/${os}/${arch}/`;
    const binding = path.join(root, 'node_modules', 'onnxruntime-node', bin, 'onnxruntime_binding.node');
    if (!fs.existsSync(binding)) fail(`the onnxruntime-node binding for ${target} is missing (${path.relative(root, binding)})`);
    // The JS, its package.json and this platform's binary directory only (it holds no GPU provider libraries on
    // these targets; anything named for CUDA, TensorRT or DirectML is left out all the same).
    const gpu = /cuda|tensorrt|directml|dml|providers_/i;
    copyPackage('onnxruntime-node', modules, (f) => f === 'package.json' || (f.startsWith('dist/') && f.endsWith('.js')) || (f.startsWith(bin) && !gpu.test(f)));
    // dist/cjs/package.json says "commonjs": without it Node reads these files as ES modules (the package's type).
    copyPackage('onnxruntime-common', modules, (f) => f === 'package.json' || (f.startsWith('dist/cjs/') && (f.endsWith('.js') || f.endsWith('package.json'))));
  }
  fs.mkdirSync(path.join(root, 'dist-vsix'), { recursive: true });
  const out = path.join(root, 'dist-vsix', target ? `llm-lens-${target}.vsix` : 'llm-lens.vsix');
  const vsce = path.join(root, 'node_modules', '@vscode', 'vsce', 'vsce');
  execFileSync(process.execPath, [vsce, 'package', '--no-dependencies', '--no-rewrite-relative-links', ...(target ? ['--target', target] : []), '--out', out], { stdio: 'inherit', cwd: root });
  fs.rmSync(modules, { recursive: true, force: true });
  console.log(`package: ${path.relative(root, out)} (${(fs.statSync(out).size / 1048576).toFixed(1)} MiB)`);
}

main();
