// Builds every bundle in one run: extension host (cjs, vscode external), inference worker (node),
// webviews (browser esm), the CLI, and the unit/integration test bundles; copies onnxruntime-web's
// wasm files beside the worker. Type-checking is separate (`npm run typecheck`).
const esbuild = require('esbuild');
const fs = require('node:fs');
const path = require('node:path');

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');
const root = __dirname;
const dist = path.join(root, 'dist');

const node = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: production ? false : 'linked',
  minify: production,
  logLevel: 'warning',
  // onnxruntime-web's Node build loads its .mjs/.wasm at run time from env.wasm.wasmPaths.
  external: ['vscode'],
  // ort.node.min.mjs reads import.meta.url, which a cjs bundle lacks: give it this file's URL.
  define: { 'import.meta.url': 'importMetaUrl' },
  banner: { js: "const importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
};

function listTests(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true })
    .filter((f) => /\.test\.ts$/.test(f))
    .map((f) => path.join(dir, f));
}

const builds = [
  { ...node, entryPoints: { extension: 'src/extension.ts' }, outdir: dist },
  { ...node, entryPoints: { worker: 'src/worker/worker.ts' }, outdir: dist },
  // Developer tools (src/tools/): never in the VSIX (.vscodeignore names the runtime bundles).
  { ...node, entryPoints: { cli: 'src/tools/cli/main.ts' }, outdir: dist },
  // The bench's panels section uses the host's string table outside VS Code: 'vscode' is a stub there.
  { ...node, entryPoints: { bench: 'src/tools/bench/main.ts' }, outdir: dist, external: [], alias: { vscode: './src/tools/preview/vscodeStub.ts' } },
  {
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    sourcemap: production ? false : 'linked',
    minify: production,
    logLevel: 'warning',
    entryPoints: { webview: 'src/webview/main.ts' },
    outdir: dist,
  },
];

// Tests are bundled too (no ts-node); their dependencies stay external and load from node_modules.
const unitTests = listTests('test/unit');
if (unitTests.length && !production) {
  builds.push({ ...node, sourcemap: 'inline', entryPoints: unitTests, outdir: 'out/test/unit', outbase: 'test/unit', packages: 'external' });
}
if (fs.existsSync('test/integration/suite/index.ts') && !production) {
  builds.push({ ...node, sourcemap: 'inline', entryPoints: { index: 'test/integration/suite/index.ts' }, outdir: 'out/test/integration/suite', packages: 'external', external: ['vscode'] });
}

function copyWasm() {
  const from = path.join(root, 'node_modules', 'onnxruntime-web', 'dist');
  fs.mkdirSync(dist, { recursive: true });
  for (const f of ['ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm']) {
    fs.copyFileSync(path.join(from, f), path.join(dist, f));
  }
}

function printSizes() {
  const rows = fs
    .readdirSync(dist)
    .filter((f) => /\.(js|mjs|wasm)$/.test(f))
    .map((f) => [f, fs.statSync(path.join(dist, f)).size]);
  for (const [f, size] of rows) console.log(`  dist/${f.padEnd(32)} ${(size / 1024).toFixed(1).padStart(9)} KiB`);
}

async function main() {
  const t0 = Date.now();
  copyWasm();
  if (watch) {
    for (const b of builds) await (await esbuild.context(b)).watch();
    console.log('[watch] building on change...');
    return;
  }
  await Promise.all(builds.map((b) => esbuild.build(b)));
  printSizes();
  console.log(`built ${builds.length} bundles in ${Date.now() - t0} ms${production ? ' (production)' : ''}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
