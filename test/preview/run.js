// Dev-only preview of the panels without VS Code: builds the view states (sample data, or the real
// model with --real), serves dist/webview.js + media/panel.css under each theme's variables, and
// takes screenshots of every view in headless Chromium. Usage: node test/preview/run.js [--real] [--only name[,name...]]
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS script run by plain Node */
const esbuild = require('esbuild');
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const root = path.resolve(__dirname, '../..');
const outDir = path.join(root, 'out/preview');
const shots = path.join(root, 'test-results/preview');
const args = process.argv.slice(2);
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;

async function main() {
  fs.mkdirSync(outDir, { recursive: true });
  fs.mkdirSync(shots, { recursive: true });
  const common = {
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    logLevel: 'error',
    alias: { vscode: path.join(root, 'src/tools/preview/vscodeStub.ts') },
    // The Llama-family states read a fixture with the core (inspectModel), whose module bundles onnxruntime-web's
    // ort.node.min.mjs; it reads import.meta.url, which a cjs bundle lacks (esbuild.js does the same).
    define: { 'import.meta.url': 'importMetaUrl' },
    banner: { js: "const importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  };
  await esbuild.build({ ...common, entryPoints: [path.join(__dirname, 'buildStates.ts')], outfile: path.join(outDir, 'buildStates.js') });
  await esbuild.build({ ...common, entryPoints: [path.join(root, 'src/tools/preview/panelHarness.ts')], outfile: path.join(outDir, 'panelHarness.js') });
  execFileSync(process.execPath, [path.join(outDir, 'buildStates.js'), path.join(outDir, 'states.json'), ...(args.includes('--real') ? ['--real'] : [])], { stdio: 'inherit' });
  const states = JSON.parse(fs.readFileSync(path.join(outDir, 'states.json'), 'utf8'));
  /** @type {typeof import('../../src/tools/preview/panelHarness')} */
  const harness = require(path.join(outDir, 'panelHarness.js'));

  const server = await harness.servePanels(root, (pathname) => {
    const m = pathname.match(/^\/page\/(\w+)\/(\w+)$/);
    return m && states[m[1]] && harness.themes[m[2]] ? { type: 'text/html', body: harness.panelPage(m[2], states[m[1]].view, states[m[1]]) } : undefined;
  });
  const base = server.base;
  if (args.includes('--serve')) {
    console.log(`serving ${base}/page/<state>/<light|dark|hc>; states: ${Object.keys(states).join(', ')}`);
    return;
  }

  const browser = await harness.launchChromium();
  const errors = [];
  try {
    const ctx = await browser.newContext({ viewport: { width: 1000, height: 900 }, deviceScaleFactor: 2 });
    const plan = [];
    for (const theme of ['light', 'dark', 'hc']) {
      for (const tab of ['tokens', 'embeddings', 'layers', 'attention']) plan.push({ name: 'code', theme, tab });
      plan.push({ name: 'card', theme });
    }
    plan.push({ name: 'hostile', theme: 'dark', tab: 'tokens' }, { name: 'hostile', theme: 'light', tab: 'embeddings' }, { name: 'codeLayer2', theme: 'dark', tab: 'attention' }, { name: 'notice', theme: 'light' });
    for (const tab of ['tokens', 'embeddings', 'layers', 'attention']) plan.push({ name: 'long', theme: 'dark', tab });
    // Llama family (grouped key/value heads, RMS norms, rotary positions), in both themes and in pt-br.
    for (const theme of ['dark', 'light']) plan.push({ name: 'qwenCard', theme }, { name: 'smolCard', theme }, { name: 'smolAttention', theme, tab: 'attention' });
    plan.push({ name: 'qwenCardPt', theme: 'dark' }, { name: 'smolCardPt', theme: 'light' }, { name: 'smolAttentionPt', theme: 'dark', tab: 'attention' });
    // The Why tab (issue #15): clean in every theme, intervened while occlusion runs, and in pt-br.
    for (const theme of ['dark', 'light', 'hc']) plan.push({ name: 'whyTab', theme, tab: 'why' });
    plan.push({ name: 'whyIntervened', theme: 'dark', tab: 'why' }, { name: 'whyTabPt', theme: 'light', tab: 'why' }, { name: 'whySmol', theme: 'dark', tab: 'why' });
    for (const p of plan) {
      if (only && !only.split(',').includes(p.name)) continue;
      const pg = await ctx.newPage();
      pg.on('pageerror', (e) => errors.push(`${p.name}/${p.theme}: ${e.message}`));
      pg.on('console', (m) => m.type() === 'error' && errors.push(`${p.name}/${p.theme}: ${m.text()}`));
      await pg.goto(`${base}/page/${p.name}/${p.theme}`);
      await pg.waitForSelector('#app > :not(.progress)', { state: 'attached' });
      if (p.tab) {
        const t0 = Date.now();
        await pg.click(`#tab-${p.tab}`).catch(() => {});
        await pg.waitForTimeout(100);
        const ms = await pg.evaluate(() => {
          const t = performance.now();
          window.dispatchEvent(new Event('resize'));
          return performance.now() - t;
        });
        void ms;
        void t0;
      }
      const file = path.join(shots, `${p.name}-${p.tab ?? 'view'}-${p.theme}.png`);
      await pg.screenshot({ path: file, fullPage: true });
      const alerts = await pg.evaluate(() => window.__alerts);
      if (alerts) errors.push(`${p.name}: alert ran ${alerts} times`);
      console.log(`  ${path.relative(root, file)}`);
      await pg.close();
    }
    if (!only || only === 'long') await timings(browser, base);
  } finally {
    await browser.close();
    await server.close();
  }
  if (errors.length) {
    console.error(errors.join('\n'));
    process.exitCode = 1;
  }
}

/** Render times in the page: the synchronous render, and until the next frame is drawn (the bench's panels section measures the same way). */
async function timings(browser, base) {
  const pg = await browser.newPage({ viewport: { width: 1000, height: 900 }, deviceScaleFactor: 2 });
  await pg.goto(`${base}/page/long/dark`);
  await pg.waitForSelector('#tab-tokens');
  const r = await pg.evaluate(async () => {
    const out = {};
    const time = async (name, f) => {
      const d = await window.__timeDrawn(f);
      out[name] = `${d.sync.toFixed(0)}/${d.drawn.toFixed(0)}`;
    };
    out.tokens = document.querySelectorAll('.tokens .tok').length;
    for (const tab of ['embeddings', 'layers', 'attention', 'tokens', 'embeddings']) await time(`tab ${tab}`, () => document.getElementById(`tab-${tab}`).click());
    document.getElementById('tab-attention').click();
    const head = () => document.getElementById('att-head');
    for (const h of ['0', '1', '2', '-1']) await time(`head ${h}`, () => { head().value = h; head().dispatchEvent(new Event('change')); });
    await time('next token (attention)', () => document.querySelector('[data-key=next]').click());
    document.getElementById('tab-embeddings').click();
    await time('next token (embeddings)', () => document.querySelector('[data-key=next]').click());
    return out;
  });
  console.log('render times (ms, render/drawn):', JSON.stringify(r));
  await pg.close();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
